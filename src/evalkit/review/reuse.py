"""A review whose inputs have not changed is not run again.

A rendered review is a function of its inputs: the data (its fingerprint), the params file and
the files it names (registry, framework; for the final review, what it reads of the compared
phases: their windows and titles, ``plan.COMPARED_READS``), the notebook, evalkit's code and the
versions of the libraries that compute the numbers (:func:`~evalkit.review.cache.code_fingerprint`,
as the result cache keys them) and the output options. :func:`inputs_key` hashes them; the runner
records the key in ``status.json`` and, when a later run's key is the same and the previous run
succeeded with every file it listed still present, reports that review as reused instead of
starting a kernel. ``--no-cache`` (``EVALKIT_CACHE=off``) runs every review again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evalkit.review.cache import code_fingerprint, default_folder
from evalkit.review.execute import Outcome
from evalkit.review.outdir import STATUS_NAME
from evalkit.review.plan import Job

# output options that change what a review writes (paths and timeouts do not)
_OPTIONS = ("phase_id", "html", "pdf", "docx", "name_comparisons", "language", "title", "label", "consortium_name")


def _sha256(path: str | Path | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def inputs_key(job: Job, referenced: Iterable[str | Path] = ()) -> str:
    """SHA-256 of everything a review's output depends on.

    Parameters
    ----------
    job : Job
        The planned review (fingerprint, params hash, notebook and options set).
    referenced : iterable of path
        Files the review reads besides its params file (registry, framework); default
        ``job.referenced``. A final review's key also holds what it reads of the phases it
        compares (``job.compared``).

    Returns
    -------
    str
    """
    on: dict[str, Any] = {name: getattr(job, name) for name in _OPTIONS}
    on |= {
        "data": job.fingerprint,
        "params": job.params_sha256,
        "notebook": _sha256(job.notebook),
        "referenced": [_sha256(p) for p in referenced or job.referenced],
        "compared": list(job.compared),  # a final review: the compared phases' windows and titles
        "code": code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(on, sort_keys=True, default=str).encode()).hexdigest()


def previous_outcome(job: Job) -> Outcome | None:
    """The previous run's outcome when it succeeded with the same inputs and every file it wrote
    (the notebook, the pages, results.json, the annex, provenance …) is still there (None
    otherwise, or when the cache is off: run it)."""
    if not job.inputs_key or default_folder() is None:
        return None
    out = Path(job.out)
    try:
        rec = json.loads((out / STATUS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("status") != "ok" or rec.get("inputs_key") != job.inputs_key:
        return None
    names = {f.name for f in Outcome.__dataclass_fields__.values()}
    rec = {k: v for k, v in rec.items() if k in names}
    inside = os.path.normpath(out.resolve())
    for name in ("notebook", "html", "log", "pdf"):
        if rec.get(name):
            if not isinstance(rec[name], str):
                return None
            path = os.path.normpath(os.path.join(inside, rec[name]))
            # only the review's own files, still there (a status.json is data: never trusted further)
            if os.path.commonpath([inside, path]) != inside or not Path(path).is_file():
                return None
            rec[name] = path
    files = rec.get("files") or []
    if not isinstance(files, list):
        return None
    for name in files:  # results.json, annex.html, provenance.json … (names, nothing else)
        if (
            not isinstance(name, str)
            or name != Path(name).name
            or name in ("", ".", "..")
            or not (out / name).is_file()
        ):
            return None
    if job.html and not rec.get("html"):
        return None
    if job.docx and not (out / "review.docx").is_file():
        return None
    rec.update(seconds=0.0, reused=True)
    try:
        return Outcome(**rec)
    except TypeError:  # fields missing: not a status this runner wrote
        return None


__all__ = ["inputs_key", "previous_outcome"]

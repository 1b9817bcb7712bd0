"""``evalkit review``: one papermill execution per phase, self-contained HTML, ``reports/index.html``.

Order of work, so that bad input costs nothing and nothing good is lost:

1. :mod:`~evalkit.review.plan` — every params file is validated and the data checked against
   each phase *before any kernel starts* (bad input: ``EvalkitError``, exit 2);
2. :mod:`~evalkit.review.outdir` — the output folder is locked (one run at a time), stale
   staging folders of dead runs are swept, reviews of other data are refused without ``force``;
3. :mod:`~evalkit.review.pool` / :mod:`~evalkit.review.execute` — each phase runs in a worker
   process into a staging folder, is inspected cell by cell, rendered
   (:mod:`~evalkit.review.render`) and swapped into ``reports/<phase>/`` only when it succeeded;
4. the index lists every review under the output folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable

from evalkit.provenance import git_commit, project_root  # noqa: F401  (re-export: report.py imports it here)
from evalkit.review.cache import evicting_run
from evalkit.review.execute import Outcome
from evalkit.review.outdir import OutputLock, check_fingerprints, sweep_stale
from evalkit.review.plan import OptionError, check_options, default_notebook, discover_params, preflight
from evalkit.review.pool import run_jobs
from evalkit.review.render import CHROMIUM_FLAGS, find_chromium, write_index  # noqa: F401  (re-export)


def run_reviews(
    phases: Iterable[str] = (),
    *,
    params: Path = Path("params"),
    data: Path | None = None,
    out: Path = Path("reports"),
    jobs: int = 2,
    timeout: float = 900,
    html: bool = True,
    pdf: bool = False,
    all_: bool = False,
    notebook: Path | None = None,
    progress: bool = True,
    force: bool = False,
    docx: bool = False,
    name_comparisons: bool = False,
) -> list[Outcome]:
    """Validate, run and render the phase reviews.

    Parameters
    ----------
    phases : iterable of str
        Phase ids (params file names); empty for every params file.
    params : Path
        The params folder.
    data : Path, optional
        A data folder overriding every params file's.
    out : Path
        The output folder: ``<out>/<phase>/`` per review and ``<out>/index.html``.
    jobs : int
        Reviews run at once (worker processes).
    timeout : float
        Seconds per notebook cell.
    html, pdf : bool
        Render HTML (and print it to PDF with headless Chromium).
    all_ : bool
        Every params file, whatever ``phases`` says.
    notebook : Path, optional
        The review notebook (default ``notebooks/phase_review.ipynb``).
    progress : bool
        Print progress lines to stderr.
    force : bool
        Write into an output folder holding reviews of other data (they are marked stale).
    docx : bool
        Also write each review as Word (``review.docx``).
    name_comparisons : bool
        Show comparison units by name (anonymised by default).

    Returns
    -------
    list of Outcome
        One per phase, in params order.

    Raises
    ------
    EvalkitError
        Bad params or data, options out of range, an output folder in use, unusable or holding
        reviews of other data — all before any kernel starts.
    """
    check_options(jobs, timeout)
    # a bad EVALKIT_CACHE_MAX_MB stops the run here, not after it; old results go after a good run
    with evicting_run(sys.stderr if progress else None):
        planned = preflight(discover_params(Path(params), phases, all_), data)
        notebook = (Path(notebook) if notebook else default_notebook()).resolve()
        if not notebook.is_file():  # what the kernel will need is checked before any kernel starts
            raise OptionError(f"--notebook: {notebook} is not a notebook file (not found)")
        out = Path(out)
        with OutputLock(out, "review"):
            sweep_stale([out])
            fingerprints = {j.fingerprint for j in planned if j.fingerprint}
            check_fingerprints({out.resolve(): fingerprints}, force=force)
            root = str(Path.cwd())
            planned = [
                j.with_(
                    out=str((out / j.phase_id).resolve()),
                    notebook=str(notebook),
                    timeout=timeout,
                    html=html,
                    pdf=pdf,
                    docx=docx,
                    name_comparisons=name_comparisons,
                    root=root,
                )
                for j in planned
            ]
            if progress:
                print(
                    f"evalkit review: {len(planned)} phase(s) on {min(jobs, len(planned))} worker(s): "
                    + ", ".join(j.phase_id for j in planned),
                    file=sys.stderr,
                    flush=True,
                )
            results = run_jobs(planned, workers=min(jobs, len(planned)), progress=progress)
            order = {j.phase_id: i for i, j in enumerate(planned)}
            results.sort(key=lambda r: order.get(r.phase_id, 0))
            if html or (out / "index.html").exists():  # never leave an index linking what --no-html replaced
                write_index(out, results, fingerprints={"": fingerprints})
    return results


def run_from_cli(args) -> int:
    """``evalkit review``: run, print a summary; 0 when every review succeeded, else 1."""
    results = run_reviews(
        args.phases,
        params=args.params,
        data=args.data,
        out=args.out,
        jobs=args.jobs,
        timeout=args.timeout,
        html=not args.no_html,
        pdf=args.pdf,
        all_=args.all,
        notebook=getattr(args, "notebook", None),
        force=getattr(args, "force", False),
        docx=getattr(args, "docx", False),
        name_comparisons=getattr(args, "name_comparisons", False),
    )
    failed = [r for r in results if r.status != "ok"]
    reused = sum(r.reused for r in results)
    note = f" ({reused} reused: inputs unchanged; --no-cache runs them again)" if reused else ""
    print(f"\nreviews: {len(results) - len(failed)} ok, {len(failed)} failed{note}")
    for r in results:
        status = "reused" if r.reused else r.status  # inputs unchanged since its last good run
        print(f"  {r.phase_id:<8} {status:<8} {r.html or r.notebook}")
    if (Path(args.out) / "index.html").exists():
        print(f"index: {Path(args.out) / 'index.html'}")
    return 1 if failed else 0

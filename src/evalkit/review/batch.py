"""``evalkit batch``: every phase review of every consortium in a manifest, on a local process
pool or on a Dask distributed cluster.

The manifest (YAML; ``evalkit synth --consortia N`` writes one) lists consortia::

    params: ../params              # optional default params folder (relative to the manifest)
    phases: [phase1, final]        # optional default phases (default: every *.yaml in params)
    consortia:
      - id: syn001_changzhou       # folder-safe, unique; reports go to OUT/<id>/<phase>/
        name: 常州市产教联合体
        data: syn001_changzhou     # data folder, relative to the manifest
        params: ../params          # optional, overrides the top-level one
        phases: [phase1]           # optional, overrides the top-level one

Order of work, as in ``evalkit review``: the manifest, every params file and every data folder are
checked before any kernel starts (bad input: ``ParamsError``, exit 2, every problem listed); then
one job per (consortium, phase) runs ``execute.execute_phase`` — in a local process pool, or (``cluster``) with
``scheduler`` as Dask tasks. Data reaches Dask workers by shared path (docs/DASK.md): every path
in a job is absolute and must mean the same folder on the client and on every worker.

No review is ever silently missing: a worker that dies mid-review has its task rescheduled by
Dask on another worker (``distributed.scheduler.allowed-failures`` times); a task that still
fails, is cancelled or loses its scheduler becomes a "failed" outcome with the error, and the
labels returned are checked against the labels submitted.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError, ParamsError, Problem
from evalkit.provenance import project_root

# the Dask names stay importable from here (they lived in this module before review/cluster.py)
from evalkit.review.cluster import SchedulerError as SchedulerError
from evalkit.review.cluster import check_cluster as check_cluster
from evalkit.review.cluster import check_scheduler_address as check_scheduler_address
from evalkit.review.cluster import check_worker as check_worker
from evalkit.review.cluster import probe_scheduler as probe_scheduler
from evalkit.review.cluster import run_on_dask
from evalkit.review.cache import evicting_run
from evalkit.review.execute import Outcome
from evalkit.review.outdir import OutputLock, check_fingerprints, sweep_stale
from evalkit.review.plan import Job, check_options, default_notebook, discover_params, preflight
from evalkit.review.pool import record_lost, run_jobs
from evalkit.review.render import write_index

MANIFEST_KEYS = {"consortia", "params", "phases", "synthetic", "generator", "seed", "params_note", "title", "notes"}
CONSORTIUM_KEYS = {"id", "name", "name_en", "data", "params", "phases", "seed", "scale", "notes"}
CONSORTIUM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # fullmatch: a folder name and an index key
INDEX_TITLE = "evalkit 批量评估索引 / batch review index"


class ManifestError(ParamsError):
    """The batch manifest is invalid (every problem is listed)."""

    problems: list[Problem]  # set by read_manifest
    hint = "What to do: fix the manifest entries listed above (keys and paths: see docs/DASK.md) and run again."


class BatchInputError(ParamsError):
    """A consortium's params files or data folder failed the checks made before any kernel starts."""

    hint = (
        "What to do: fix the params files or data folders named above (`evalkit validate DATA` "
        "lists every data problem) and run again."
    )


@dataclass(frozen=True)
class Consortium:
    """One manifest entry, its paths resolved against the manifest's folder."""

    id: str
    name: str
    data: Path
    params: Path
    phases: tuple[str, ...] = ()


# --------------------------------------------------------------------------- the manifest
def default_params() -> Path:
    """The params folder used when a manifest names none: ``./params``, else the checkout's."""
    here = Path.cwd() / "params"
    return here if here.is_dir() else project_root() / "params"


def read_manifest(path: str | Path) -> list[Consortium]:
    """Read and validate a batch manifest; raises ``ManifestError`` listing every problem."""
    from evalkit.review.phases import read_yaml

    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    raw = read_yaml(path, ManifestError)
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: the manifest must be a YAML mapping with a `consortia` list")

    base = path.resolve().parent
    problems: list[Problem] = []
    for key in raw:
        if key not in MANIFEST_KEYS:
            problems.append(
                Problem(
                    src, None, str(key), raw[key], "unknown key (allowed: " + ", ".join(sorted(MANIFEST_KEYS)) + ")"
                )
            )
    top_params = _folder(raw.get("params"), base, src, "params", problems)
    top_phases = _phases(raw.get("phases"), src, "phases", problems)
    entries = raw.get("consortia")
    if not isinstance(entries, list) or not entries:
        problems.append(
            Problem(
                src,
                None,
                "consortia",
                None if entries is None else str(entries)[:80],
                "required: a non-empty list of consortia (id, data, optional params/phases)",
            )
        )
        entries = []

    consortia: list[Consortium] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"consortia[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(src, None, where, str(entry)[:80], "must be a mapping with id and data"))
            continue
        n_before = len(problems)
        for key in entry:
            if key not in CONSORTIUM_KEYS:
                problems.append(
                    Problem(
                        src,
                        None,
                        f"{where}.{key}",
                        entry[key],
                        "unknown key (allowed: " + ", ".join(sorted(CONSORTIUM_KEYS)) + ")",
                    )
                )
        cid = entry.get("id")
        if cid is None:
            problems.append(Problem(src, None, f"{where}.id", None, "required key missing"))
        elif not isinstance(cid, str) or not CONSORTIUM_ID.fullmatch(cid):
            problems.append(
                Problem(
                    src,
                    None,
                    f"{where}.id",
                    cid,
                    "must be letters, digits, _ . - (it names the report folder), starting with a letter or digit",
                )
            )
        elif cid in seen:
            problems.append(Problem(src, None, f"{where}.id", cid, f"duplicate id (also consortia[{seen[cid]}])"))
        else:
            seen[cid] = i
        if entry.get("data") in (None, ""):
            problems.append(Problem(src, None, f"{where}.data", None, "required key missing (the data folder)"))
            data = None
        else:
            data = _folder(entry["data"], base, src, f"{where}.data", problems)
        params = _folder(entry.get("params"), base, src, f"{where}.params", problems) if entry.get("params") else None
        if params is None and not entry.get("params"):
            params = top_params or default_params()
            if not params.is_dir():
                problems.append(
                    Problem(
                        src,
                        None,
                        f"{where}.params",
                        str(params),
                        "no params folder given and the default one does not exist",
                    )
                )
        phases = _phases(entry.get("phases"), src, f"{where}.phases", problems) if "phases" in entry else top_phases
        if params is not None and params.is_dir():
            for ph in phases:
                if not (params / f"{ph}.yaml").is_file():
                    known = ", ".join(sorted(p.stem for p in params.glob("*.yaml"))) or "none"
                    problems.append(
                        Problem(
                            src,
                            None,
                            f"{where}.phases",
                            ph,
                            f"no params file {params / (ph + '.yaml')} (known: {known})",
                        )
                    )
            if not phases and not any(params.glob("*.yaml")):
                problems.append(Problem(src, None, f"{where}.params", str(params), "holds no *.yaml params files"))
        # no new problem: the id is valid text and both folders exist (the checks also narrow the types)
        if len(problems) == n_before and isinstance(cid, str) and data is not None and params is not None:
            name = entry.get("name") or entry.get("name_en") or cid
            consortia.append(Consortium(id=cid, name=str(name), data=data, params=params, phases=tuple(phases)))
    if problems:
        err = ManifestError(
            "\n".join(
                [f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {src}:"]
                + [f"  - {p}" for p in problems]
            )
        )
        err.problems = problems
        raise err
    return consortia


def _folder(value: Any, base: Path, src: str, key: str, problems: list[Problem]) -> Path | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        problems.append(Problem(src, None, key, value, "must be a folder path (text)"))
        return None
    folder = Path(value).expanduser()
    folder = (folder if folder.is_absolute() else base / folder).resolve()
    if not folder.is_dir():
        problems.append(
            Problem(
                src,
                None,
                key,
                value,
                f"folder not found: {folder} (relative paths are relative to the manifest's folder)",
            )
        )
        return None
    return folder


def _phases(value: Any, src: str, key: str, problems: list[Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        problems.append(Problem(src, None, key, value, "must be a non-empty list of phase ids (params file names)"))
        return ()
    if len(set(value)) != len(value):
        problems.append(Problem(src, None, key, value, "lists a phase twice"))
    return tuple(v.removesuffix(".yaml") for v in value)


# --------------------------------------------------------------------------- planning
def plan_batch(
    manifest: str | Path,
    *,
    out: Path = Path("reports/batch"),
    notebook: Path | None = None,
    timeout: float = 900,
    html: bool = True,
) -> list[Job]:
    """Check the manifest, every consortium's params files and data (before any kernel starts).

    Returns
    -------
    list of Job
        One per (consortium, phase): ``out/<consortium>/<phase>``, label ``<consortium>/<phase>``.
        Every path is absolute, so a job means the same on any machine that mounts them; the
        reports name paths relative to the manifest's folder.

    Raises
    ------
    ManifestError, BatchInputError
    """
    consortia = read_manifest(manifest)
    root = str(Path(manifest).resolve().parent)
    notebook = Path(notebook).resolve() if notebook else default_notebook().resolve()
    out = Path(out).resolve()
    jobs: list[Job] = []
    problems: list[str] = []
    for c in consortia:
        try:
            planned = preflight(discover_params(c.params, c.phases, all_=not c.phases), c.data)
        except EvalkitError as exc:
            detail = exc.args[0] if exc.args else str(exc)
            problems.append(f"consortium {c.id} ({c.data}):\n    " + str(detail).replace("\n", "\n    "))
            continue
        for job in planned:
            jobs.append(
                job.with_(
                    out=str(out / c.id / job.phase_id),
                    label=f"{c.id}/{job.phase_id}",
                    consortium=c.id,
                    consortium_name=c.name,
                    notebook=str(notebook),
                    timeout=timeout,
                    html=html,
                    pdf=False,
                    root=root,
                    title=f"{c.name} · {job.title or job.phase_id}",
                )
            )
    if problems:
        raise BatchInputError(
            f"{len(problems)} of {len(consortia)} consortia failed the checks:\n" + "\n".join(problems)
        )
    return jobs


# --------------------------------------------------------------------------- running
def run_batch(
    manifest: str | Path,
    *,
    jobs: int = 2,
    scheduler: Any = None,
    out: Path = Path("reports/batch"),
    timeout: float = 900,
    html: bool = True,
    progress: bool = True,
    notebook: Path | None = None,
    force: bool = False,
    connect_timeout: float = 30,
) -> list[Outcome]:
    """Run every (consortium, phase) review of ``manifest``.

    Parameters
    ----------
    manifest : path
        The batch manifest (see the module's docstring).
    jobs : int
        Worker processes of the local pool (ignored with ``scheduler``: the cluster decides).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``"tcp://host:8786"``) or a client; every path must be shared
        (docs/DASK.md).
    out : Path
        Reports go to ``out/<consortium>/<phase>/``; ``out/index.html`` lists every review under
        ``out`` when ``html`` (or when an index is already there).
    timeout : float
        Seconds per notebook cell.
    html : bool
        Render HTML.
    progress : bool
        Print progress lines to stderr.
    notebook : Path, optional
        The review notebook (default ``notebooks/phase_review.ipynb``).
    force : bool
        Write into consortium folders holding reviews of other data (marked stale in the index).
    connect_timeout : float
        Seconds to wait for the scheduler (``scheduler`` given): a peer that has not answered as a
        Dask scheduler within ``min(10, connect_timeout)`` s is refused before anything runs.

    Returns
    -------
    list of Outcome
        One per review in manifest order, ``label`` ``"<consortium>/<phase>"``, ``status`` ok,
        failed or timeout.
    """
    check_options(jobs, timeout)
    check_options(jobs, connect_timeout, name="--connect-timeout")
    # a bad EVALKIT_CACHE_MAX_MB stops the batch here, not after it; old results go after a good
    # batch (this machine's cache; a Dask worker's kernels evict from theirs as they open)
    with evicting_run(sys.stderr if progress else None):
        if scheduler is not None and not hasattr(scheduler, "submit"):
            scheduler = check_scheduler_address(scheduler)
        out = Path(out).resolve()
        planned = plan_batch(manifest, out=out, notebook=notebook, timeout=timeout, html=html)
        with OutputLock(out, "batch"):
            parents = sorted({Path(j.out).parent for j in planned})
            sweep_stale(parents)
            prints = {p: {j.fingerprint for j in planned if Path(j.out).parent == p and j.fingerprint} for p in parents}
            check_fingerprints(prints, force=force)
            n_consortia = len({j.consortium for j in planned})
            if scheduler is None:
                workers = min(jobs, len(planned))
                if progress:
                    print(
                        f"evalkit batch: {len(planned)} review(s) of {n_consortia} consortia on {workers} local worker(s)",
                        file=sys.stderr,
                        flush=True,
                    )
                results = run_jobs(planned, workers=workers, progress=progress)
            else:
                results = run_on_dask(
                    planned, scheduler, progress=progress, n_consortia=n_consortia, connect_timeout=connect_timeout
                )
            results = account(planned, results)
            sweep_stale(parents, all_=True)  # staging of reviews whose worker died; their retry used a fresh one
            if html or (out / "index.html").exists():
                write_index(out, results, title=INDEX_TITLE, fingerprints={p.name: fp for p, fp in prints.items()})
    return results


def account(planned: list[Job], results: list[Outcome]) -> list[Outcome]:
    """Check every submitted label came back exactly once; a missing one becomes a failed outcome
    (never silently dropped). Returns the outcomes in the planned order."""
    by_label: dict[str, Outcome] = {}
    for rec in results:
        if rec.key in by_label:
            raise RuntimeError(f"evalkit batch: review {rec.key} returned twice (a bug; please report it)")
        by_label[rec.key] = rec
    unknown = set(by_label) - {j.key for j in planned}
    if unknown:
        raise RuntimeError(f"evalkit batch: results for reviews never submitted: {sorted(unknown)}")
    return [
        by_label.get(job.key) or record_lost(job, "no result came back for this review (lost by the pool or cluster)")
        for job in planned
    ]


# --------------------------------------------------------------------------- CLI
def run_from_cli(args) -> int:
    """``evalkit batch``: run, print a summary; 0 when every review succeeded, else 1."""
    results = run_batch(
        args.manifest,
        jobs=args.jobs,
        scheduler=args.scheduler,
        out=args.out,
        timeout=args.timeout,
        html=not args.no_html,
        notebook=getattr(args, "notebook", None),
        force=getattr(args, "force", False),
        connect_timeout=getattr(args, "connect_timeout", 30),
    )
    failed = [r for r in results if r.status != "ok"]
    print(f"\nbatch: {len(results)} review(s), {len(results) - len(failed)} ok, {len(failed)} failed")
    for r in results:
        print(f"  {r.label:<32} {r.status:<8} {r.html or r.notebook or r.log}")
        if r.status != "ok":
            print(f"  {'':<32} {r.error}")
    if (Path(args.out) / "index.html").exists():
        print(f"index: {Path(args.out).resolve() / 'index.html'}")
    return 1 if failed else 0

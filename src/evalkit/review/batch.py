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
one job per (consortium, phase) runs ``review.execute_phase`` — in a local process pool, or with
``scheduler`` as Dask tasks. Data reaches Dask workers by shared path (docs/DASK.md): every path
in a job is absolute and must mean the same folder on the client and on every worker.

No review is ever silently missing: a worker that dies mid-review has its task rescheduled by
Dask on another worker (``distributed.scheduler.allowed-failures`` times); a task that still
fails, is cancelled or loses its scheduler becomes a "failed" outcome with the error, and the
labels returned are checked against the labels submitted.
"""
from __future__ import annotations

import re
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError, ParamsError, Problem

MANIFEST_KEYS = {"consortia", "params", "phases", "synthetic", "generator", "seed", "params_note", "title",
                 "notes"}
CONSORTIUM_KEYS = {"id", "name", "name_en", "data", "params", "phases", "seed", "scale", "notes"}
CONSORTIUM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # becomes a folder name and an index key
INDEX_TITLE = "evalkit 批量评估索引 / batch review index"


class ManifestError(ParamsError):
    """The batch manifest is invalid (every problem is listed)."""

    hint = ("What to do: fix the manifest entries listed above (keys and paths: see docs/DASK.md) "
            "and run again.")


class BatchInputError(ParamsError):
    """A consortium's params files or data folder failed the checks made before any kernel starts."""

    hint = ("What to do: fix the params files or data folders named above (`evalkit validate DATA` "
            "lists every data problem) and run again.")


class SchedulerError(EvalkitError):
    """The Dask cluster cannot run the batch (unreachable, no workers, or workers without evalkit
    or without the shared paths)."""

    hint = "What to do: start the scheduler and workers as in docs/DASK.md and run again."


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
    from evalkit.review.runner import project_root

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
            problems.append(Problem(src, None, str(key), raw[key],
                                    "unknown key (allowed: " + ", ".join(sorted(MANIFEST_KEYS)) + ")"))
    top_params = _folder(raw.get("params"), base, src, "params", problems)
    top_phases = _phases(raw.get("phases"), src, "phases", problems)
    entries = raw.get("consortia")
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(src, None, "consortia", None if entries is None else str(entries)[:80],
                                "required: a non-empty list of consortia (id, data, optional params/phases)"))
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
                problems.append(Problem(src, None, f"{where}.{key}", entry[key],
                                        "unknown key (allowed: " + ", ".join(sorted(CONSORTIUM_KEYS)) + ")"))
        cid = entry.get("id")
        if cid is None:
            problems.append(Problem(src, None, f"{where}.id", None, "required key missing"))
        elif not isinstance(cid, str) or not CONSORTIUM_ID.match(cid):
            problems.append(Problem(src, None, f"{where}.id", cid, "must be letters, digits, _ . - "
                                    "(it names the report folder), starting with a letter or digit"))
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
                problems.append(Problem(src, None, f"{where}.params", str(params),
                                        "no params folder given and the default one does not exist"))
        phases = _phases(entry.get("phases"), src, f"{where}.phases", problems) if "phases" in entry else top_phases
        if params is not None and params.is_dir():
            for ph in phases:
                if not (params / f"{ph}.yaml").is_file():
                    known = ", ".join(sorted(p.stem for p in params.glob("*.yaml"))) or "none"
                    problems.append(Problem(src, None, f"{where}.phases", ph,
                                            f"no params file {params / (ph + '.yaml')} (known: {known})"))
            if not phases and not any(params.glob("*.yaml")):
                problems.append(Problem(src, None, f"{where}.params", str(params), "holds no *.yaml params files"))
        if len(problems) == n_before:
            name = entry.get("name") or entry.get("name_en") or cid
            consortia.append(Consortium(id=cid, name=str(name), data=data, params=params, phases=tuple(phases)))
    if problems:
        err = ManifestError("\n".join([f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {src}:"]
                                      + [f"  - {p}" for p in problems]))
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
        problems.append(Problem(src, None, key, value, f"folder not found: {folder} "
                                "(relative paths are relative to the manifest's folder)"))
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
def plan_batch(manifest: str | Path, *, out: Path = Path("reports/batch"), notebook: Path | None = None,
               timeout: int = 900, html: bool = True) -> list[dict[str, Any]]:
    """Check the manifest, every consortium's params files and data (before any kernel starts) and
    return one job per (consortium, phase): ``out/<consortium>/<phase>``, label ``<consortium>/<phase>``.
    Every path in a job is absolute, so the job means the same thing on any machine that mounts them."""
    from evalkit.review.runner import default_notebook, discover_params, preflight

    consortia = read_manifest(manifest)
    notebook = Path(notebook).resolve() if notebook else default_notebook().resolve()
    out = Path(out).resolve()
    jobs: list[dict[str, Any]] = []
    problems: list[str] = []
    for c in consortia:
        try:
            planned = preflight(discover_params(c.params, c.phases, all_=not c.phases), c.data)
        except EvalkitError as exc:
            detail = exc.args[0] if exc.args else str(exc)
            problems.append(f"consortium {c.id} ({c.data}):\n    " + str(detail).replace("\n", "\n    "))
            continue
        for job in planned:
            label = f"{c.id}/{job['phase_id']}"
            job.update({"out": str(out / c.id / job["phase_id"]), "label": label, "key": label,
                        "consortium": c.id, "consortium_name": c.name, "notebook": str(notebook),
                        "timeout": timeout, "html": html, "pdf": False,
                        "title": f"{c.name} · {job.get('title') or job['phase_id']}"})
            jobs.append(job)
    if problems:
        raise BatchInputError(f"{len(problems)} of {len(consortia)} consortia failed the checks:\n"
                              + "\n".join(problems))
    return jobs


# --------------------------------------------------------------------------- running
def run_batch(manifest: str | Path, *, jobs: int = 2, scheduler: Any = None, out: Path = Path("reports/batch"),
              timeout: int = 900, html: bool = True, progress: bool = True,
              notebook: Path | None = None) -> list[dict]:
    """Run every (consortium, phase) review of ``manifest``; one outcome dict per review, in
    manifest order, each with ``label`` ``"<consortium>/<phase>"`` and ``status`` ok / failed / timeout.

    ``jobs``: worker processes of the local pool (ignored with ``scheduler``: the cluster's
    workers decide). ``scheduler``: a Dask scheduler address (``"tcp://host:8786"``) or a
    ``distributed.Client``; every path must be shared (docs/DASK.md). ``notebook``: the review
    notebook (default ``notebooks/phase_review.ipynb``). Writes ``out/index.html`` over every
    review under ``out`` when ``html``.
    """
    from evalkit.review.runner import run_jobs, write_index

    if jobs < 1:
        raise EvalkitError(f"--jobs must be at least 1, got {jobs}")
    if timeout <= 0:
        raise EvalkitError(f"--timeout must be a positive number of seconds, got {timeout}")
    out = Path(out).resolve()
    planned = plan_batch(manifest, out=out, notebook=notebook, timeout=timeout, html=html)
    out.mkdir(parents=True, exist_ok=True)
    n_consortia = len({j["consortium"] for j in planned})
    if scheduler is None:
        workers = min(jobs, len(planned))
        if progress:
            print(f"evalkit batch: {len(planned)} review(s) of {n_consortia} consortia on {workers} local "
                  f"worker(s)", file=sys.stderr, flush=True)
        results = run_jobs(planned, workers=workers, progress=progress)
    else:
        results = run_on_dask(planned, scheduler, progress=progress, n_consortia=n_consortia)
    results = account(planned, results)
    _clear_leftovers(planned)
    if html:
        write_index(out, results, title=INDEX_TITLE)
    return results


def account(planned: list[dict], results: list[dict]) -> list[dict]:
    """Check every submitted label came back exactly once; a missing one becomes a failed outcome
    (never silently dropped). Returns the outcomes in the planned order."""
    by_label: dict[str, dict] = {}
    for rec in results:
        label = rec.get("label") or rec["phase_id"]
        if label in by_label:
            raise RuntimeError(f"evalkit batch: review {label} returned twice (a bug; please report it)")
        by_label[label] = rec
    unknown = set(by_label) - {j["label"] for j in planned}
    if unknown:
        raise RuntimeError(f"evalkit batch: results for reviews never submitted: {sorted(unknown)}")
    ordered = []
    for job in planned:
        rec = by_label.get(job["label"])
        if rec is None:
            rec = lost_outcome(job, "no result came back for this review (lost by the pool or cluster)")
        ordered.append(rec)
    return ordered


def lost_outcome(job: dict, error: str) -> dict:
    """A failed outcome for a review whose worker never returned; recorded in its ``status.json``
    so the index shows it, pointing at the previous good report when there is one."""
    from evalkit.review.runner import Outcome, _write_json

    out = Path(job["out"])
    previous = out / "review.html"
    rec = Outcome(job["phase_id"], "failed", 0.0, "", str(previous) if previous.exists() else None,
                  str(out.parent / f"{out.name}.log"), None, error, job.get("title", ""),
                  label=job["label"]).as_dict()
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "status.json", rec)
    except OSError:  # the outcome is still returned and printed
        pass
    return rec


def _clear_leftovers(planned: list[dict]) -> None:
    """Staging folders of reviews whose worker died mid-run; their retry used a fresh one."""
    for job in planned:
        out = Path(job["out"])
        for stale in (*out.parent.glob(f".{out.name}.staging-*"), *out.parent.glob(f".{out.name}.old-*")):
            shutil.rmtree(stale, ignore_errors=True)


# --------------------------------------------------------------------------- Dask
def check_worker(read: list[str], write: list[str]) -> dict:
    """Run on every Dask worker before the batch: which shared paths it cannot see or write."""
    import os

    from evalkit import __version__

    missing = [p for p in read if not os.path.exists(p)]
    unwritable = []
    for folder in write:
        try:
            os.makedirs(folder, exist_ok=True)
            probe = os.path.join(folder, f".evalkit-probe-{os.getpid()}-{uuid.uuid4().hex[:6]}")
            with open(probe, "w") as fh:
                fh.write("ok")
            os.remove(probe)
        except OSError as exc:
            unwritable.append(f"{folder} ({exc.strerror or exc})")
    return {"evalkit": __version__, "missing": missing, "unwritable": unwritable}


def _connect(scheduler: Any, connect_timeout: float):
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise SchedulerError("--scheduler needs dask distributed: pip install 'dask[distributed]'") from None
    if hasattr(scheduler, "submit"):
        return scheduler, False
    try:
        return Client(scheduler, timeout=connect_timeout, set_as_default=False), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler}: {type(exc).__name__}: {exc}. "
                             "Is `dask scheduler` running there?") from None


def check_cluster(client, planned: list[dict], wait_for_workers: float = 60) -> dict:
    """Every worker imports the same evalkit and sees every shared path; else ``SchedulerError``."""
    from evalkit import __version__

    try:
        client.wait_for_workers(1, timeout=wait_for_workers)
    except (TimeoutError, OSError) as exc:
        raise SchedulerError(f"no Dask worker joined the scheduler within {wait_for_workers:.0f} s ({exc}); "
                             "start workers with `dask worker tcp://HOST:8786 --nworkers 2 --nthreads 1`") from None
    read = sorted({j["notebook"] for j in planned} | {j["params_file"] for j in planned}
                  | {j["data_dir"] for j in planned})
    write = sorted({str(Path(j["out"]).parent) for j in planned})
    try:
        reports = client.run(check_worker, read, write)
    except Exception as exc:  # typically: the worker cannot import evalkit to unpickle check_worker
        raise SchedulerError(f"a Dask worker cannot run evalkit: {type(exc).__name__}: {exc}. Install evalkit "
                             "in every worker's environment (pip install -e . in the same checkout)") from None
    problems = []
    for worker, rep in sorted(reports.items()):
        if rep["evalkit"] != __version__:
            problems.append(f"{worker}: evalkit {rep['evalkit']} (this client: {__version__})")
        for p in rep["missing"][:5]:
            problems.append(f"{worker}: cannot see {p}")
        if len(rep["missing"]) > 5:
            problems.append(f"{worker}: … and {len(rep['missing']) - 5} more paths")
        for p in rep["unwritable"][:5]:
            problems.append(f"{worker}: cannot write {p}")
    if problems:
        raise SchedulerError("the Dask workers cannot run this batch (data, params, notebook and --out must be "
                             "on a shared mount at the same path on every worker):\n  - " + "\n  - ".join(problems))
    return reports


def run_on_dask(planned: list[dict], scheduler: Any, *, progress: bool = True, n_consortia: int = 0,
                connect_timeout: float = 30, reconnect_timeout: float = 120) -> list[dict]:
    """Run the jobs as Dask tasks (``review.execute_phase``, ``pure=False``, ``retries=1``) and
    collect them with ``as_completed``; a task that errs or is lost becomes a failed outcome, and so
    does every task still pending when the scheduler has been unreachable for ``reconnect_timeout`` s."""
    import asyncio

    from distributed import as_completed

    from evalkit.review.runner import Progress, execute_phase

    client, owned = _connect(scheduler, connect_timeout)
    try:
        reports = check_cluster(client, planned)
        if progress:
            print(f"evalkit batch: {len(planned)} review(s) of {n_consortia} consortia on Dask "
                  f"{client.scheduler.address} ({len(reports)} worker(s))", file=sys.stderr, flush=True)
        prog = Progress(planned, stream=sys.stderr) if progress else None
        token = uuid.uuid4().hex[:8]  # unique keys: a rerun must not reuse an earlier result
        futures = {}
        for job in planned:
            fut = client.submit(execute_phase, job, pure=False, retries=1,
                                key=f"evalkit-review-{job['label']}-{token}")
            futures[fut.key] = (fut, job)
        results: list[dict] = []
        done_labels: set[str] = set()
        ac = as_completed([f for f, _ in futures.values()], loop=client.loop)
        unhealthy_since = None
        while not ac.is_empty():
            if client.status != "running":
                # the scheduler went away: give the client time to reconnect, then report the rest
                unhealthy_since = unhealthy_since or time.monotonic()
                if client.status in ("closing", "closed", "failed") or \
                        time.monotonic() - unhealthy_since > reconnect_timeout:
                    break
            else:
                unhealthy_since = None
            batch = ac.next_batch(block=False) if ac.has_ready() else []
            for fut in batch:
                _, job = futures[fut.key]
                try:
                    rec = fut.result()
                except (Exception, asyncio.CancelledError) as exc:  # killed twice, cancelled, lost
                    rec = lost_outcome(job, f"worker failed: {type(exc).__name__}: {exc}")
                results.append(rec)
                done_labels.add(job["label"])
                if prog:
                    prog.finished(rec)
            if prog:
                prog.poll(done_labels)
            if not batch:
                time.sleep(0.25)
        for fut, job in futures.values():
            if job["label"] not in done_labels:
                try:
                    fut.cancel()
                except Exception:  # the client may already be closed; the outcome is what matters
                    pass
                results.append(lost_outcome(job, f"lost: the Dask client is {client.status}"))
        return results
    finally:
        if owned:
            client.close()


# --------------------------------------------------------------------------- CLI
def run_from_cli(args) -> int:
    results = run_batch(args.manifest, jobs=args.jobs, scheduler=args.scheduler, out=args.out,
                        timeout=args.timeout, html=not args.no_html,
                        notebook=getattr(args, "notebook", None))  # when cli.py offers --notebook
    failed = [r for r in results if r["status"] != "ok"]
    print(f"\nbatch: {len(results)} review(s), {len(results) - len(failed)} ok, {len(failed)} failed")
    for r in results:
        where = r.get("html") or r.get("notebook") or r.get("log")
        print(f"  {r['label']:<32} {r['status']:<8} {where}")
        if r["status"] != "ok":
            print(f"  {'':<32} {r.get('error')}")
    if not args.no_html:
        print(f"index: {Path(args.out).resolve() / 'index.html'}")
    return 1 if failed else 0

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
one job per (consortium, phase) runs ``execute.execute_phase`` — in a local process pool, or with
``scheduler`` as Dask tasks. Data reaches Dask workers by shared path (docs/DASK.md): every path
in a job is absolute and must mean the same folder on the client and on every worker.

No review is ever silently missing: a worker that dies mid-review has its task rescheduled by
Dask on another worker (``distributed.scheduler.allowed-failures`` times); a task that still
fails, is cancelled or loses its scheduler becomes a "failed" outcome with the error, and the
labels returned are checked against the labels submitted.
"""
from __future__ import annotations

import re
import socket
import struct
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evalkit.errors import EvalkitError, ParamsError, Problem
from evalkit.provenance import project_root
from evalkit.review.execute import Outcome, execute_phase
from evalkit.review.outdir import OutputLock, check_fingerprints, sweep_stale
from evalkit.review.plan import Job, check_options, default_notebook, discover_params, preflight
from evalkit.review.pool import Progress, record_lost, run_jobs
from evalkit.review.render import write_index

MANIFEST_KEYS = {"consortia", "params", "phases", "synthetic", "generator", "seed", "params_note", "title",
                 "notes"}
CONSORTIUM_KEYS = {"id", "name", "name_en", "data", "params", "phases", "seed", "scale", "notes"}
CONSORTIUM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # fullmatch: a folder name and an index key
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
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
        elif not isinstance(cid, str) or not CONSORTIUM_ID.fullmatch(cid):
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
               timeout: float = 900, html: bool = True) -> list[Job]:
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
            jobs.append(job.with_(out=str(out / c.id / job.phase_id), label=f"{c.id}/{job.phase_id}",
                                  consortium=c.id, consortium_name=c.name, notebook=str(notebook),
                                  timeout=timeout, html=html, pdf=False, root=root,
                                  title=f"{c.name} · {job.title or job.phase_id}"))
    if problems:
        raise BatchInputError(f"{len(problems)} of {len(consortia)} consortia failed the checks:\n"
                              + "\n".join(problems))
    return jobs


# --------------------------------------------------------------------------- running
def run_batch(manifest: str | Path, *, jobs: int = 2, scheduler: Any = None, out: Path = Path("reports/batch"),
              timeout: float = 900, html: bool = True, progress: bool = True,
              notebook: Path | None = None, force: bool = False) -> list[Outcome]:
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

    Returns
    -------
    list of Outcome
        One per review in manifest order, ``label`` ``"<consortium>/<phase>"``, ``status`` ok,
        failed or timeout.
    """
    check_options(jobs, timeout)
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
                print(f"evalkit batch: {len(planned)} review(s) of {n_consortia} consortia on {workers} local "
                      f"worker(s)", file=sys.stderr, flush=True)
            results = run_jobs(planned, workers=workers, progress=progress)
        else:
            results = run_on_dask(planned, scheduler, progress=progress, n_consortia=n_consortia)
        results = account(planned, results)
        sweep_stale(parents, all_=True)  # staging of reviews whose worker died; their retry used a fresh one
        if html or (out / "index.html").exists():
            write_index(out, results, title=INDEX_TITLE,
                        fingerprints={p.name: fp for p, fp in prints.items()})
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
    return [by_label.get(job.key) or record_lost(job, "no result came back for this review (lost by the pool "
                                                       "or cluster)") for job in planned]


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


def check_scheduler_address(address: Any) -> str:
    """A Dask scheduler address, checked: ``[tcp|tls|ws|wss|ucx://]host:port`` (default tcp).

    Returns
    -------
    str
        ``scheme://host:port``.

    Raises
    ------
    SchedulerError
        A malformed address.
    """
    text = str(address).strip() if isinstance(address, str) else ""
    bad = SchedulerError(f"--scheduler {address!r} is not a Dask scheduler address; expected e.g. "
                         "tcp://host:8786")
    if not text or any(c.isspace() for c in text):
        raise bad
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port
    except ValueError:
        raise bad from None
    if (parts.scheme not in SCHEDULER_SCHEMES or not parts.hostname or port is None or not 0 < port < 65536
            or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username):
        raise bad
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def probe_scheduler(address: str, timeout: float = 10.0) -> None:
    """Check that a ``tcp://`` peer speaks Dask before a client connects to it: a Dask scheduler
    sends its handshake first (a small length-prefixed frame naming its Python). Other schemes
    are left to the client.

    Raises
    ------
    SchedulerError
        Unreachable, silent for ``timeout`` s, or sending something else (an HTTP server, any
        other program) — instead of a client that hangs or allocates what the peer announces.
    """
    parts = urlsplit(address)
    if parts.scheme != "tcp":
        return
    what = f"the Dask scheduler at {address}"
    try:
        sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    except OSError as exc:
        raise SchedulerError(f"cannot reach {what}: {type(exc).__name__}: {exc}. "
                             "Is `dask scheduler` running there?") from None
    deadline = time.monotonic() + timeout

    def read(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the peer closed the connection")
            buf += chunk
        return buf

    try:
        (size,) = struct.unpack("<Q", read(8))
        payload = read(size) if 16 <= size <= 1 << 16 else b""
        if b"python" not in payload or b"pickle-protocol" not in payload:
            raise ValueError("not a Dask handshake")
    except (OSError, ValueError) as exc:
        reason = "sent nothing" if isinstance(exc, TimeoutError) else f"answered something else ({exc})"
        raise SchedulerError(f"{address} is not a Dask scheduler: it {reason} within {timeout:.0f} s. "
                             "Check the host and port (dask scheduler listens on 8786 by default; "
                             "8787 is its dashboard)") from None
    finally:
        sock.close()


def _connect(scheduler: Any, connect_timeout: float):
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise SchedulerError("--scheduler needs dask distributed: pip install 'dask[distributed]'") from None
    if hasattr(scheduler, "submit"):
        return scheduler, False
    address = check_scheduler_address(scheduler)
    probe_scheduler(address, timeout=min(10.0, connect_timeout))
    try:
        return Client(address, timeout=connect_timeout, set_as_default=False), True
    except Exception as exc:  # OSError, TimeoutError, a protocol error of a peer that changed its mind
        raise SchedulerError(f"cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: {exc}. "
                             "Is `dask scheduler` running there?") from None


def check_cluster(client, planned: list[Job], wait_for_workers: float = 60) -> dict:
    """Every worker imports the same evalkit and sees every shared path; else ``SchedulerError``."""
    from evalkit import __version__

    try:
        client.wait_for_workers(1, timeout=wait_for_workers)
    except (TimeoutError, OSError) as exc:
        raise SchedulerError(f"no Dask worker joined the scheduler within {wait_for_workers:.0f} s ({exc}); "
                             "start workers with `dask worker tcp://HOST:8786 --nworkers 2 --nthreads 1`") from None
    read = sorted({j.notebook for j in planned} | {j.params_file for j in planned} | {j.data_dir for j in planned})
    write = sorted({str(Path(j.out).parent) for j in planned})
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


def run_on_dask(planned: list[Job], scheduler: Any, *, progress: bool = True, n_consortia: int = 0,
                connect_timeout: float = 30, reconnect_timeout: float = 120) -> list[dict]:
    """Run the jobs as Dask tasks (``review.execute_phase``, ``pure=False``, ``retries=1``) and
    collect them with ``as_completed``; a task that errs or is lost becomes a failed outcome, and so
    does every task still pending when the scheduler has been unreachable for ``reconnect_timeout`` s."""
    import asyncio

    from distributed import as_completed

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
                                key=f"evalkit-review-{job.label}-{token}")
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
                    rec = record_lost(job, f"worker failed: {type(exc).__name__}: {exc}")
                results.append(rec)
                done_labels.add(job.label)
                if prog:
                    prog.finished(rec)
            if prog:
                prog.poll(done_labels)
            if not batch:
                time.sleep(0.25)
        for fut, job in futures.values():
            if job.label not in done_labels:
                try:
                    fut.cancel()
                except Exception:  # the client may already be closed; the outcome is what matters
                    pass
                results.append(record_lost(job, f"lost: the Dask client is {client.status}"))
        return results
    finally:
        if owned:
            client.close()


# --------------------------------------------------------------------------- CLI
def run_from_cli(args) -> int:
    """``evalkit batch``: run, print a summary; 0 when every review succeeded, else 1."""
    results = run_batch(args.manifest, jobs=args.jobs, scheduler=args.scheduler, out=args.out,
                        timeout=args.timeout, html=not args.no_html, notebook=getattr(args, "notebook", None),
                        force=getattr(args, "force", False))
    failed = [r for r in results if r.status != "ok"]
    print(f"\nbatch: {len(results)} review(s), {len(results) - len(failed)} ok, {len(failed)} failed")
    for r in results:
        print(f"  {r.label:<32} {r.status:<8} {r.html or r.notebook or r.log}")
        if r.status != "ok":
            print(f"  {'':<32} {r.error}")
    if (Path(args.out) / "index.html").exists():
        print(f"index: {Path(args.out).resolve() / 'index.html'}")
    return 1 if failed else 0

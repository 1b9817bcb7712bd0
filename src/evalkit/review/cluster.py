"""Running a batch's reviews on a Dask distributed cluster: the scheduler address and the peer
behind it checked (a non-Dask program is refused within seconds, never hangs the client), every
worker checked for evalkit and the shared paths, then one task per review with ``as_completed``.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evalkit.errors import EvalkitError
from evalkit.review.execute import Outcome, execute_phase
from evalkit.review.plan import Job, running_order
from evalkit.review.pool import Progress, record_lost

SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


class SchedulerError(EvalkitError):
    """The Dask cluster cannot run the batch (unreachable, no workers, or workers without evalkit
    or without the shared paths)."""

    hint = "What to do: start the scheduler and workers as in docs/DASK.md and run again."


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
    bad = SchedulerError(f"--scheduler {address!r} is not a Dask scheduler address; expected e.g. tcp://host:8786")
    if not text or any(c.isspace() for c in text):
        raise bad
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port
    except ValueError:
        raise bad from None
    if (
        parts.scheme not in SCHEDULER_SCHEMES
        or not parts.hostname
        or port is None
        or not 0 < port < 65536
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
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
        raise SchedulerError(
            f"cannot reach {what}: {type(exc).__name__}: {exc}. Is `dask scheduler` running there?"
        ) from None
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
        raise SchedulerError(
            f"{address} is not a Dask scheduler: it {reason} within {timeout:g} s. "
            "Check the host and port (dask scheduler listens on 8786 by default; "
            "8787 is its dashboard)"
        ) from None
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
        raise SchedulerError(
            f"cannot connect to the Dask scheduler at {address}: {type(exc).__name__}: {exc}. "
            "Is `dask scheduler` running there?"
        ) from None


def check_cluster(client, planned: list[Job], wait_for_workers: float = 60) -> dict:
    """Every worker imports the same evalkit and sees every shared path; else ``SchedulerError``."""
    from evalkit import __version__

    try:
        client.wait_for_workers(1, timeout=wait_for_workers)
    except (TimeoutError, OSError) as exc:
        raise SchedulerError(
            f"no Dask worker joined the scheduler within {wait_for_workers:.0f} s ({exc}); "
            "start workers with `dask worker tcp://HOST:8786 --nworkers 2 --nthreads 1`"
        ) from None
    read = sorted({j.notebook for j in planned} | {j.params_file for j in planned} | {j.data_dir for j in planned})
    write = sorted({str(Path(j.out).parent) for j in planned})
    try:
        reports = client.run(check_worker, read, write)
    except Exception as exc:  # typically: the worker cannot import evalkit to unpickle check_worker
        raise SchedulerError(
            f"a Dask worker cannot run evalkit: {type(exc).__name__}: {exc}. Install evalkit "
            "in every worker's environment (pip install -e . in the same checkout)"
        ) from None
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
        raise SchedulerError(
            "the Dask workers cannot run this batch (data, params, notebook and --out must be "
            "on a shared mount at the same path on every worker):\n  - " + "\n  - ".join(problems)
        )
    return reports


def run_on_dask(
    planned: list[Job],
    scheduler: Any,
    *,
    progress: bool = True,
    n_consortia: int = 0,
    connect_timeout: float = 30,
    reconnect_timeout: float = 120,
) -> list[Outcome]:
    """Run the jobs as Dask tasks (``review.execute_phase``, ``pure=False``, ``retries=1``) and
    collect them with ``as_completed``; a task that errs or is lost becomes a failed outcome, and so
    does every task still pending when the scheduler has been unreachable for ``reconnect_timeout`` s."""
    import asyncio

    from distributed import as_completed

    client, owned = _connect(scheduler, connect_timeout)
    try:
        reports = check_cluster(client, planned)
        if progress:
            print(
                f"evalkit batch: {len(planned)} review(s) of {n_consortia} consortia on Dask "
                f"{client.scheduler.address} ({len(reports)} worker(s))",
                file=sys.stderr,
                flush=True,
            )
        prog = Progress(planned, stream=sys.stderr) if progress else None
        token = uuid.uuid4().hex[:8]  # unique keys: a rerun must not reuse an earlier result
        futures = {}
        for job in running_order(planned):  # Dask starts tasks in the order submitted, as the local pool does
            fut = client.submit(execute_phase, job, pure=False, retries=1, key=f"evalkit-review-{job.label}-{token}")
            futures[fut.key] = (fut, job)
        results: list[Outcome] = []
        done_labels: set[str] = set()
        ac = as_completed([f for f, _ in futures.values()], loop=client.loop)
        unhealthy_since = None
        while not ac.is_empty():
            if client.status != "running":
                # the scheduler went away: give the client time to reconnect, then report the rest
                unhealthy_since = unhealthy_since or time.monotonic()
                if (
                    client.status in ("closing", "closed", "failed")
                    or time.monotonic() - unhealthy_since > reconnect_timeout
                ):
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

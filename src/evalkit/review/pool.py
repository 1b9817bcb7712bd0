"""Running many reviews on a local process pool, with a progress line per review — and nothing
left behind when the run is killed or interrupted.

* every worker asks Linux to kill it when the evalkit process dies (``PR_SET_PDEATHSIG``), and
  its kernels run under :mod:`evalkit.review.kernel_guard`, so SIGKILL of ``evalkit review``
  takes the workers and kernels with it;
* on Ctrl-C or SIGTERM the workers are stopped, each review's staging folder is removed (its log
  kept in ``<phase>/failed/``) and :class:`Interrupted` propagates (the CLI exits 130).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Iterable

from evalkit.review.execute import Outcome, execute_phase, keep_failed, path_labels, write_status
from evalkit.review.kernel_guard import die_with_parent
from evalkit.review.outdir import staging_folders
from evalkit.review.plan import Job, running_order
from evalkit.review.reuse import inputs_key, previous_outcome


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM); ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def worker_init(parent: int) -> None:
    """Initializer of each pool worker: die with ``parent``; leave Ctrl-C to it; exit on SIGTERM."""
    die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(128 + signum))  # kernel guards follow


class Progress:
    """A status line per running review, read from each review's papermill log."""

    def __init__(self, jobs: list[Job], stream=None, every: float = 5.0):
        # the stream at the time of the run (sys.stderr may have been replaced since import)
        self.jobs, self.stream, self.every = [Job.coerce(j) for j in jobs], stream or sys.stderr, every
        self.total = {j.key: _count_cells(j.notebook) for j in self.jobs}
        self.last_print: dict[str, tuple[int, float]] = {}
        self.t0 = time.perf_counter()

    def poll(self, done: set[str]) -> None:
        """Print a line for each unfinished review that moved on (at most every ``every`` s)."""
        now = time.perf_counter()
        for j in self.jobs:
            if j.key in done:
                continue
            cells = max((_cells_started(s / "review.log") for s in staging_folders(Path(j.out))), default=0)
            last = self.last_print.get(j.key)
            if cells and (last is None or (cells != last[0] and now - last[1] >= self.every)):
                self.last_print[j.key] = (cells, now)
                print(
                    f"  [{j.key}] cell {cells}/{self.total[j.key]} · {now - self.t0:.0f} s",
                    file=self.stream,
                    flush=True,
                )

    def finished(self, rec: Outcome) -> None:
        """Print the outcome of one review."""
        mark = {"ok": "✓", "failed": "✗", "timeout": "⏱"}.get(rec.status, "?")
        line = f"{mark} [{rec.key}] {rec.status} in {rec.seconds} s"
        if rec.reused:
            line = f"{mark} [{rec.key}] ok, reused: its inputs have not changed since the last good run (--no-cache runs it)"
        if rec.status != "ok":
            line += f" — cell {rec.failed_cell}: {rec.error}\n    notebook: {rec.notebook}\n    log: {rec.log}"
        print(line, file=self.stream, flush=True)


def _count_cells(path: str) -> int:
    try:
        return len(json.loads(Path(path).read_text(encoding="utf-8"))["cells"]) + 1  # + injected parameters
    except (OSError, ValueError, KeyError):
        return 0


def _cells_started(log: Path) -> int:
    try:
        return log.read_text(encoding="utf-8", errors="replace").count("Executing Cell")
    except OSError:
        return 0


def record_lost(job: Job, error: str) -> Outcome:
    """A failed outcome for a review whose worker never returned, recorded in its ``status.json``."""
    rec = Outcome.lost(job, error)
    try:
        Path(job.out).mkdir(parents=True, exist_ok=True)
        write_status(Path(job.out), rec)
    except OSError:  # the outcome is still returned and printed
        pass
    return rec


def abandon(jobs: Iterable[Job]) -> None:
    """After an interruption: remove every staging folder of ``jobs``; an interrupted run's
    notebook and log go to ``<out>/failed/`` — the good report and its log stay as they were."""
    for job in jobs:
        for folder in staging_folders(Path(job.out)):
            if folder.name.endswith(".old") or not (folder / "review.log").exists():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                keep_failed(folder, Path(job.out), path_labels(job))


def stop(processes: Iterable[BaseProcess], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds, to each process; waits for them."""
    processes = [p for p in processes if p.is_alive()]
    for p in processes:
        p.terminate()
    deadline = time.monotonic() + grace
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)


def _context():
    """``fork`` where there is one: the workers' parent is this process (the parent-death checks
    rely on it), and scripts without a ``__main__`` guard work (``spawn`` re-imports them)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def run_jobs(jobs: Iterable[Job | dict], *, workers: int = 2, progress: bool = True) -> list[Outcome]:
    """Run :func:`~evalkit.review.execute.execute_phase` over ``jobs`` on a local process pool.

    Parameters
    ----------
    jobs : iterable of Job (or dicts of its fields)
    workers : int
        Worker processes (each runs one kernel at a time).
    progress : bool
        Print progress lines to stderr.

    Returns
    -------
    list of Outcome
        In completion order; a worker that died gives a "failed" outcome, never a missing one.

    Raises
    ------
    Interrupted
        On Ctrl-C or SIGTERM, after stopping the workers and removing the staging folders.
    """
    todo = [Job.coerce(j) for j in jobs]
    todo = [j if j.inputs_key else j.with_(inputs_key=inputs_key(j)) for j in todo]
    prog = Progress(todo) if progress else None
    results: list[Outcome] = []
    for job in list(todo):  # inputs unchanged since a good run: nothing to compute
        reused = previous_outcome(job)
        if reused is not None:
            todo.remove(job)
            results.append(reused)
            if prog:
                prog.finished(reused)
    if not todo:
        return results
    todo = running_order(todo)
    before = set(multiprocessing.active_children())
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    pool = cf.ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(todo))),
        mp_context=_context(),
        initializer=worker_init,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(execute_phase, j): j for j in todo}
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=1.0)
            for fut in done:
                job = futures[fut]
                try:
                    rec = fut.result()
                except Exception as exc:  # the worker itself died: report, never lose the review
                    rec = record_lost(job, f"worker failed: {type(exc).__name__}: {exc}")
                results.append(rec)
                if prog:
                    prog.finished(rec)
            if prog:
                prog.poll({r.key for r in results})
    except BaseException:
        stop(set(multiprocessing.active_children()) - before)
        pool.shutdown(wait=False, cancel_futures=True)
        abandon(todo)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    return results

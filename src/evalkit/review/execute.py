"""Executing one review: papermill into a staging folder, inspection of the executed notebook,
rendering, and an atomic swap into the report folder — or, on failure, nothing replaced.

Safe to call in a pool worker or on a Dask worker (:func:`execute_phase`). Before the swap the
worker checks that the process that started it is still there: a review whose parent is gone
is abandoned, never written over the report.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit.provenance import project_root, provenance, relative, scrub
from evalkit.review.kernel_guard import SOCKETS_PREFIX
from evalkit.review.outdir import STATUS_NAME, staging_name
from evalkit.review.plan import Job

KERNEL_NAME = "evalkit"
ACTIVE_STAGING: set[Path] = set()  # this process's staging folders, removed if it is told to stop


@dataclass
class Outcome:
    """The result of one review. Paths are absolute in memory; ``status.json`` holds them
    relative to its own folder (:meth:`status_record`)."""

    phase_id: str
    status: str  # ok | failed | timeout
    seconds: float = 0.0
    notebook: str = ""
    html: str | None = None
    log: str = ""
    failed_cell: int | None = None
    error: str = ""
    title: str = ""
    provenance: dict = field(default_factory=dict)
    pdf: str | None = None
    label: str = ""
    inputs_key: str | None = None  # review.reuse: a rerun with the same key reuses this review
    reused: bool = False
    files: list[str] = field(default_factory=list)  # every file a good run wrote (names in its folder)

    @property
    def key(self) -> str:
        """``label``, else ``phase_id``."""
        return self.label or self.phase_id

    def as_dict(self) -> dict[str, Any]:
        """The outcome as a plain dict."""
        return asdict(self)

    def __getitem__(self, name: str) -> Any:  # read access as for the former outcome dicts
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        """Dict-style read access (``outcome.get("html")``)."""
        return getattr(self, name, default)

    def status_record(self, folder: Path) -> dict[str, Any]:
        """The ``status.json`` record: paths relative to ``folder`` (where the file sits)."""
        rec = self.as_dict()
        for name in ("notebook", "html", "log", "pdf"):
            if rec[name]:
                rec[name] = os.path.relpath(rec[name], folder) if os.path.isabs(rec[name]) else rec[name]
        return rec

    @classmethod
    def lost(cls, job: Job, error: str) -> "Outcome":
        """A failed outcome for a review whose worker never returned, pointing at the previous
        good report when there is one."""
        out = Path(job.out)
        previous = out / "review.html"
        return cls(
            job.phase_id,
            "failed",
            0.0,
            "",
            str(previous) if previous.exists() else None,
            str(out / "review.log") if (out / "review.log").exists() else "",
            None,
            error,
            job.title,
            label=job.label,
            provenance={"data_fingerprint": job.fingerprint, "synthetic": job.synthetic},
        )


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON atomically (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def write_status(out: Path, outcome: Outcome) -> None:
    """``out/status.json`` for ``outcome`` (paths relative to ``out``)."""
    write_json(Path(out) / STATUS_NAME, outcome.status_record(Path(out)))


def ensure_kernel() -> None:
    """Register the ``evalkit`` kernel for this Python when it is missing (``make setup`` does it too)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL_NAME in KernelSpecManager().find_kernel_specs():
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ipykernel",
            "install",
            "--sys-prefix",
            "--name",
            KERNEL_NAME,
            "--display-name",
            "Python (evalkit)",
        ],
        check=True,
        capture_output=True,
    )


_GUARDED: type | None = None


def guarded_kernel_manager() -> type:
    """A jupyter_client kernel manager whose kernels run under :mod:`evalkit.review.kernel_guard`
    (they and their children die with the process that started them)."""
    global _GUARDED
    if _GUARDED is None:
        from jupyter_client.manager import AsyncKernelManager

        class GuardedKernelManager(AsyncKernelManager):
            # The kernel's sockets are files in a folder only this user may open (mkdtemp: 0700),
            # not loopback TCP ports: any local user can subscribe to a TCP kernel's output while
            # a review runs (its messages are signed, not encrypted). A short path: a socket's
            # name may not exceed 107 bytes. Where there are no such sockets (Windows): TCP.
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.sockets = ""
                if os.name == "posix":
                    base = tempfile.gettempdir()
                    base = "/tmp" if len(base) > 64 and os.path.isdir("/tmp") else base
                    self.sockets = tempfile.mkdtemp(prefix=SOCKETS_PREFIX, dir=base)
                    self.transport, self.ip = "ipc", os.path.join(self.sockets, "k")

            def format_kernel_cmd(self, extra_arguments=None):
                cmd = super().format_kernel_cmd(extra_arguments)
                return [sys.executable, "-m", "evalkit.review.kernel_guard", *cmd]

            async def _async_cleanup_resources(self, restart: bool = False) -> None:
                await super()._async_cleanup_resources(restart=restart)
                if not restart and self.sockets:
                    shutil.rmtree(self.sockets, ignore_errors=True)

        _GUARDED = GuardedKernelManager
    return _GUARDED


def inspect_executed(nb) -> tuple[str, int | None, str]:
    """Status of an executed notebook: papermill marks a timed-out notebook "completed".

    Returns
    -------
    tuple
        (``ok`` | ``failed`` | ``timeout``, index of the failing cell or None, message).
    """
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                kind = "timeout" if out.get("ename") in ("CellTimeoutError", "TimeoutError") else "failed"
                return kind, i, f"{out.get('ename')}: {out.get('evalue')}"
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            return "failed", i, "cell raised an exception"
        if cell.get("execution_count") is None and cell.source.strip():
            return "timeout", i, "cell was never executed (the run stopped before it: timeout or kernel death)"
    return "ok", None, ""


def exchange(a: Path, b: Path) -> None:
    """Swap two folders atomically (Linux ``renameat2(RENAME_EXCHANGE)``); elsewhere by two
    renames. ``b`` may be missing: then ``a`` is renamed to ``b``."""
    if not b.exists():
        os.replace(a, b)
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        fn = getattr(libc, "renameat2", None)
        if fn is not None and fn(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0:  # AT_FDCWD, EXCHANGE
            return
    aside = a.with_name(a.name + ".old")
    os.replace(b, aside)
    os.replace(a, b)
    os.replace(aside, a)


def _relative_name(path: Path, bases: list[Path]) -> str:
    name = relative(path, bases)
    if name is None:  # relative() gives None only for an empty path, which a Path never is
        raise ValueError(f"no relative name for {path}")
    return name


def path_labels(job: Job) -> dict[str | Path, str]:
    """``{absolute folder: relative name}`` for scrubbing a review's log and pages."""
    root = Path(job.root) if job.root else Path.cwd()
    bases = [root, project_root()]
    out = Path(job.out)
    labels: dict[str | Path, str] = {str(project_root()): ".", str(root): "."}
    for folder in (
        out.parent,
        Path(job.data_dir),
        Path(job.params_file).parent,
        Path(job.notebook).parent,
        Path(sys.prefix),
    ):
        labels[str(folder)] = _relative_name(folder, bases)
    return labels


def _scrub_file(path: Path, labels: dict[str | Path, str]) -> None:
    """Replace the absolute folders in a text file (a log, the executed notebook) by relative names."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        clean = scrub(text, labels)
        if clean != text:
            path.write_text(clean, encoding="utf-8")
    except OSError:
        pass


def keep_failed(staging: Path, out: Path, labels: dict[str | Path, str]) -> Path:
    """Move a failed or interrupted run's notebook and log to ``out/failed/`` (never over the good
    report or its log) and remove the staging folder."""
    failed = out / "failed"
    shutil.rmtree(failed, ignore_errors=True)
    failed.mkdir(parents=True, exist_ok=True)
    for name in ("review.ipynb", "review.log"):
        if (staging / name).exists():
            os.replace(staging / name, failed / name)
            _scrub_file(failed / name, labels)
    shutil.rmtree(staging, ignore_errors=True)
    return failed


def _run_papermill(job: Job, nb_path: Path, log_path: Path) -> str:
    """Run the notebook; papermill's log and the kernel's stderr go to ``log_path``. Returns the
    exception's name (empty when papermill raised none)."""
    from evalkit.review.render import lean_nbformat

    lean_nbformat()
    import papermill as pm

    logger = logging.getLogger("papermill")
    handler = logging.FileHandler(log_path, mode="a", encoding="utf-8")
    if handler.stream is None:  # opened at once (delay=False); None only after close()
        raise RuntimeError(f"cannot open the review log {log_path}")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    saved_stderr = os.dup(2)
    os.dup2(handler.stream.fileno(), 2)  # the kernel inherits stderr: its chatter goes to the log
    os.environ["EVALKIT_GUARD_PARENT"] = str(os.getpid())
    os.environ["EVALKIT_LOG"] = str(log_path)  # the kernel's cache hits and misses go to the phase log
    try:
        ensure_kernel()
        pm.execute_notebook(
            job.notebook,
            str(nb_path),
            parameters={
                "params_file": job.params_file,
                "data_dir": job.data_dir,
                # beside the review; the executed notebook is scrubbed of these absolute paths
                "results_file": str(nb_path.parent / "results.json"),
                "annex_file": str(nb_path.parent / "annex.html"),  # the technical annex, linked from the review
                "docx_file": str(nb_path.parent / "review.docx") if job.docx else "",
                "name_comparisons": bool(job.name_comparisons),
            },
            kernel_name=KERNEL_NAME,
            execution_timeout=job.timeout,
            progress_bar=False,
            log_output=True,
            cwd=str(project_root()),
            report_mode=False,
            kernel_manager_class=guarded_kernel_manager(),
            # the last cell has returned and every file it wrote is closed: the kernel's group is
            # killed instead of asked to exit (a graceful exit finalises pandas, matplotlib and
            # scikit-learn, ~0.5 s of every review)
            shutdown_kernel="immediate",
        )
        return ""
    except Exception as exc:  # the notebook's own failure; inspected by the caller
        first = str(exc).splitlines()[0] if str(exc) else ""
        logger.error("%s: %s", type(exc).__name__, first)
        return f"{type(exc).__name__}: {first}"
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        logger.removeHandler(handler)
        handler.close()


def execute_phase(job: Job | dict[str, Any]) -> Outcome:
    """Run one review end to end and record it in ``job.out/status.json``.

    Parameters
    ----------
    job : Job or dict
        The review (``out`` and ``notebook`` set).

    Returns
    -------
    Outcome
        ``ok`` only when every cell ran without error and the HTML rendered; otherwise the
        previous good report (if any) is untouched and this run's notebook and log are kept in
        ``out/failed/``.
    """
    from evalkit.review.render import lean_nbformat

    lean_nbformat()
    import nbformat

    job = Job.coerce(job)
    parent = os.getppid()
    out = Path(job.out)
    out.mkdir(parents=True, exist_ok=True)
    staging = staging_name(out)
    staging.mkdir(parents=True)
    ACTIVE_STAGING.add(staging)
    labels = path_labels(job) | {str(staging): _relative_name(out, [Path(job.root or Path.cwd()), project_root()])}
    nb_path, log_path = staging / "review.ipynb", staging / "review.log"
    t0 = time.perf_counter()
    try:
        message = _run_papermill(job, nb_path, log_path)
        exc_name = message.split(":", 1)[0]
        status, failed_cell = "ok", None
        if nb_path.exists():
            status, failed_cell, found = inspect_executed(nbformat.read(str(nb_path), as_version=4))
            if exc_name == "CellTimeoutError":  # the cell shows only the interrupt's KeyboardInterrupt
                status, found = "timeout", f"cell timed out after {job.timeout:g} s (--timeout)"
            message = found or message
        elif not message:
            message = "papermill wrote no notebook"
        if status == "ok" and message:
            status = "failed"
        # the kernel needed absolute paths; the notebook kept for people names none
        _scrub_file(nb_path, labels)
        prov = provenance(
            job.params_file,
            job.data_dir,
            job.fingerprint,
            synthetic=job.synthetic,
            params_sha256=job.params_sha256,
            base=[Path(job.root or Path.cwd()), project_root()],
        )
        result = Outcome(
            job.phase_id,
            status,
            round(time.perf_counter() - t0, 1),
            "",
            None,
            "",
            failed_cell,
            scrub(message, labels),
            job.title,
            prov,
            label=job.label,
        )
        if status == "ok":
            try:
                _render_into(job, staging, nb_path, labels, result)
            except Exception as exc:  # rendering failed: keep the previous good report
                result.status, result.error = "failed", f"rendering failed: {type(exc).__name__}: {exc}"
        if status != "ok" or result.status != "ok":
            return _fail(result, staging, out, labels)
        if os.getppid() != parent:  # the run that started this review is gone: replace nothing
            shutil.rmtree(staging, ignore_errors=True)
            result.status, result.error = "failed", "abandoned: the evalkit process that started it is gone"
            return result
        result.notebook, result.log = str(out / "review.ipynb"), str(out / "review.log")
        result.html = str(out / "review.html") if job.html else None
        result.pdf = str(out / "review.pdf") if (staging / "review.pdf").exists() else None
        _scrub_file(log_path, labels)
        result.inputs_key = job.inputs_key
        result.files = sorted(p.name for p in staging.iterdir() if p.is_file())  # reuse wants them all back
        write_status(staging, result)
        exchange(staging, out)  # the whole folder at once: no mix of old and new files
        shutil.rmtree(staging, ignore_errors=True)  # now the previous report
        return result
    finally:
        ACTIVE_STAGING.discard(staging)


def _render_into(job: Job, staging: Path, nb_path: Path, labels: dict[str | Path, str], result: Outcome) -> None:
    from evalkit.review.render import print_pdf, render_html

    if job.html:
        render_html(nb_path, staging / "review.html", title=job.title or job.phase_id, lang=job.language, labels=labels)
        if job.pdf:
            print_pdf(staging / "review.html", staging / "review.pdf")
    if (staging / "annex.html").exists():  # written by the kernel: no absolute path either
        _scrub_file(staging / "annex.html", labels)
    write_json(staging / "provenance.json", result.provenance)


def _fail(result: Outcome, staging: Path, out: Path, labels: dict[str | Path, str]) -> Outcome:
    failed = keep_failed(staging, out, labels)
    result.notebook = str(failed / "review.ipynb") if (failed / "review.ipynb").exists() else ""
    result.log = str(failed / "review.log") if (failed / "review.log").exists() else ""
    previous = out / "review.html"
    result.html = str(previous) if previous.exists() else None
    write_status(out, result)
    return result

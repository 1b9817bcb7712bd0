"""The output folder of a review run: one writer at a time, no stale staging, no mixing of data.

* :class:`OutputLock` — ``fcntl.flock`` on ``<out>/.evalkit.lock``; a second run on the same
  folder fails at once (exit 2) naming the pid that holds it;
* :func:`sweep_stale` — staging folders of runs whose process is gone are removed at the start;
* :func:`check_fingerprints` — reports of *other* data under ``--out`` are refused without
  ``--force``;
* :func:`read_status` — a ``status.json`` that is not evalkit's is a clear error.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Iterable

from evalkit.errors import EvalkitError
from evalkit.provenance import relative

LOCK_NAME = ".evalkit.lock"
STATUS_NAME = "status.json"
STATUS_KEYS = {"phase_id", "status"}


class OutputFolderError(EvalkitError):
    """The output folder cannot be used: not a folder, not writable, or holding foreign files."""

    hint = "What to do: choose another --out folder, or fix the one named above, and run again."


class OutputBusyError(EvalkitError):
    """Another evalkit run is writing to the same output folder."""

    hint = "What to do: wait for that run to finish (or stop it), or choose another --out folder."


class DataMismatchError(EvalkitError):
    """The output folder holds reviews of other data."""

    hint = (
        "What to do: choose another --out folder for these data, or pass --force to write here "
        "anyway (the other reviews are then marked stale in the index)."
    )


class OutputLock:
    """An exclusive, non-blocking lock on an output folder (a context manager).

    Parameters
    ----------
    out : Path
        The output folder; created when missing.
    command : str
        Named in the error (``review`` or ``batch``).

    Raises
    ------
    OutputFolderError
        ``out`` is a file, or cannot be created or written (read-only file system, permissions).
    OutputBusyError
        Another process holds the lock.
    """

    def __init__(self, out: Path, command: str = "review"):
        self.out, self.command = Path(out), command
        self.fd: int | None = None

    def acquire(self) -> "OutputLock":
        import fcntl

        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputFolderError(f"--out {out} is a file, not a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
            fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputFolderError(f"cannot write to --out {out}: {_why(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputBusyError(f"another evalkit {self.command} is writing to {out}/ (pid {holder})") from None
            raise OutputFolderError(f"cannot lock --out {out}: {_why(exc)}") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            probe = out / f".evalkit-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            os.close(fd)
            raise OutputFolderError(f"cannot write to --out {out}: {_why(exc)}") from None
        self.fd = fd
        return self

    def release(self) -> None:
        """Release the lock (the lock file stays; it is empty of meaning without the lock)."""
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _why(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.EACCES or isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    return exc.strerror or str(exc)


# --------------------------------------------------------------------------- staging folders
def staging_name(out: Path) -> Path:
    """A fresh staging folder for the report folder ``out``: hidden, beside it, naming host and pid."""
    out = Path(out)
    host = socket.gethostname().replace("-", "_") or "host"
    return out.parent / f".{out.name}.staging-{host}-{os.getpid()}-{int(time.time() * 1000)}"


def staging_folders(out: Path) -> list[Path]:
    """Every staging folder (``.old`` ones of an interrupted swap included) of the report folder ``out``."""
    out = Path(out)
    return sorted(out.parent.glob(f".{out.name}.staging-*"))


def _owner_alive(folder: Path) -> bool:
    """Whether the process that made a staging folder may still run (another host: assume yes)."""
    parts = folder.name.removesuffix(".old").rsplit("-", 3)
    if len(parts) != 4:
        return False
    _, host, pid, _ = parts
    if host != (socket.gethostname().replace("-", "_") or "host"):
        return True
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    if _zombie(int(pid)):  # killed, not yet reaped (a container's PID 1 may never reap it)
        return False
    return int(pid) != os.getpid()  # our own: left over by an earlier run in this process


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and only waits to be reaped (Linux ``/proc``; elsewhere False)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def sweep_stale(parents: Iterable[Path], *, all_: bool = False) -> list[Path]:
    """Remove the staging folders in ``parents`` (folders holding report folders) whose process
    is gone (``all_``: every one; only while holding the output folder's lock).

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    for parent in parents:
        for folder in sorted(Path(parent).glob(".*.staging-*")):
            if folder.is_dir() and (all_ or not _owner_alive(folder)):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


# --------------------------------------------------------------------------- status.json
def read_status(path: Path) -> dict:
    """A review's ``status.json``.

    Raises
    ------
    OutputFolderError
        The file is not JSON, or not an evalkit status record.
    """
    path = Path(path)
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputFolderError(
            f"{path} is not an evalkit status file (unreadable: "
            f"{type(exc).__name__}); remove it or choose another --out"
        ) from None
    if not isinstance(rec, dict) or not STATUS_KEYS <= set(rec) or not isinstance(rec.get("provenance") or {}, dict):
        raise OutputFolderError(
            f"{path} is not an evalkit status file (no phase_id/status); remove it or choose another --out"
        )
    return rec


def check_fingerprints(outs: dict[Path, set[str]], *, force: bool = False) -> list[str]:
    """Refuse to mix reviews of different data in one folder.

    Parameters
    ----------
    outs : dict
        ``{folder holding report folders: fingerprints of the data this run writes there}``.
    force : bool
        Write anyway; the conflicts are returned (the index marks those reviews stale).

    Returns
    -------
    list of str
        The report folders (relative to their parent) of other data.

    Raises
    ------
    DataMismatchError
        Without ``force``, when any folder holds a review of data not in this run.
    OutputFolderError
        A ``status.json`` there is not evalkit's.
    """
    conflicts, lines = [], []
    for parent, prints in outs.items():
        for status in sorted(Path(parent).glob(f"*/{STATUS_NAME}")):
            rec = read_status(status)
            theirs = (rec.get("provenance") or {}).get("data_fingerprint")
            if theirs and theirs not in prints:
                conflicts.append(status.parent.name)
                lines.append(
                    f"  - {relative(status.parent, parent.parent)}: data {str(theirs)[:12]}… "
                    f"(this run: {', '.join(p[:12] + '…' for p in sorted(prints) if p)})"
                )
    if conflicts and not force:
        where = ", ".join(sorted({relative(Path(p), Path(p).parent) or Path(p).name for p in outs}))
        raise DataMismatchError(f"{where}/ holds reviews of other data:\n" + "\n".join(lines))
    return conflicts

"""Kernels die with the process that started them.

``python -m evalkit.review.kernel_guard CMD…`` runs the Jupyter kernel command ``CMD`` as its
child in its own process group (jupyter_client starts it in a new session) and asks Linux to
send it SIGTERM when its parent — the review's worker — dies, however it dies (SIGKILL
included); it then removes the kernel's connection file and socket folder (whose manager died
with the worker) and kills the whole group: the kernel and whatever the kernel started.

Kept free of heavy imports: it starts once per review.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies.

    Returns
    -------
    bool
        False where unsupported (not Linux); the caller then relies on the parent-pid checks.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


SOCKETS_PREFIX = "evalkit-kernel-"  # review/execute.py: the folder of a kernel's IPC sockets


def remove_connection(argv: list[str]) -> None:
    """Remove the kernel's connection file (``-f``) and its socket folder: the kernel manager
    that would have removed them died with the worker."""
    if "-f" not in argv[:-1]:
        return
    connection = argv[argv.index("-f") + 1]
    try:
        with open(connection, encoding="utf-8") as fh:
            info = json.load(fh)
        os.unlink(connection)
    except (OSError, ValueError):
        return
    sockets = os.path.dirname(str(info.get("ip", "")))
    if info.get("transport") == "ipc" and os.path.basename(sockets).startswith(SOCKETS_PREFIX):
        shutil.rmtree(sockets, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Run the kernel command ``argv``; kill its process group when the parent dies or on SIGTERM."""
    parent = int(os.environ.get("EVALKIT_GUARD_PARENT") or os.getppid())
    die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        return 1

    def kill_group(signum, frame):  # noqa: ARG001
        # once: a second signal (the worker's death and its cleanup both send one) must not
        # re-enter the handler halfway, and nothing may stand between it and the kill
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGHUP})
        try:
            remove_connection(argv)  # first: killing the group kills this guard too
        except Exception:  # noqa: BLE001, S110 - the kill matters more than the tidying
            pass
        os.killpg(os.getpgrp(), signal.SIGKILL)  # the kernel, its children and this guard
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, kill_group)
    signal.signal(signal.SIGHUP, kill_group)
    env = dict(os.environ, JPY_PARENT_PID=str(os.getpid()))  # the kernel's own poller watches the guard
    env.pop("EVALKIT_GUARD_PARENT", None)
    child = subprocess.Popen(argv, env=env)
    # an interrupt (a cell's timeout) is sent to the group and meant for the kernel; set after the
    # start, as an ignored signal would stay ignored in the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return child.wait()


if __name__ == "__main__":  # pragma: no cover - run as a process
    sys.exit(main(sys.argv[1:]))

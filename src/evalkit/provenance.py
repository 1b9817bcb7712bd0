"""Where a result came from — evalkit version, git commit, data fingerprint, params hash, package
versions — with every path RELATIVE to the project or data folder, never absolute.

A report or log that names ``/home/zhang/…`` or ``/tmp/pytest-…`` tells the reader nothing they
need and leaks the machine's layout; :func:`relative` and :func:`scrub` keep paths in the
folder they are about.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterable

from evalkit import __version__

PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pyfixest",
    "csdid",
    "scikit-learn",
    "matplotlib",
    "papermill",
    "nbconvert",
)
OUTSIDE = "…"  # stands for the part of a path outside every known folder


def project_root() -> Path:
    """The checkout evalkit runs from (the folder holding ``notebooks/``), else the working folder.

    Returns
    -------
    Path
        An absolute folder.
    """
    here = Path(__file__).resolve().parents[2]
    if (here / "notebooks").is_dir() and (here / "src" / "evalkit").is_dir():
        return here
    return Path.cwd()


def git_commit(root: str | Path | None = None) -> str | None:
    """The checkout's commit (``+dirty`` with uncommitted changes to tracked files).

    Parameters
    ----------
    root : path, optional
        The checkout; default :func:`project_root`.

    Returns
    -------
    str or None
        12 hex digits, or None outside git (or without a ``git`` program).
    """
    try:
        root = Path(root) if root else project_root()
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return sha.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (missing packages are left out), plus Python's."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def relative(path: str | Path | None, base: str | Path | Iterable[str | Path] | None = None) -> str | None:
    """``path`` relative to the first of ``base`` that holds it, never absolute.

    Parameters
    ----------
    path : path or None
        Absolute or relative; a relative path is returned as it is (POSIX separators).
    base : path or list of paths, optional
        Folders to express ``path`` in; default the working folder, then :func:`project_root`.

    Returns
    -------
    str or None
        E.g. ``data/zhuzhou_synthetic``; ``.`` for the base itself; ``…/<name>`` for a path
        outside every base (the folder's own name, without the machine's layout).
    """
    if path is None or str(path) == "":
        return None
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    if base is None:
        bases = [Path.cwd(), project_root()]
    elif isinstance(base, (str, Path)):
        bases = [Path(base)]
    else:
        bases = [Path(b) for b in base]
    for b in bases:
        for cand, root in ((p, b), (_resolved(p), _resolved(b))):
            try:
                return cand.relative_to(root).as_posix() or "."
            except ValueError:
                continue
    return f"{OUTSIDE}/{p.name}" if p.name else OUTSIDE


def scrub(text: str, folders: dict[str | Path, str] | None = None) -> str:
    """Replace absolute folder names in ``text`` (a log, a page) by their relative names.

    Parameters
    ----------
    text : str
    folders : dict, optional
        ``{absolute folder: what to write instead}``, longest first wins; the home folder
        becomes ``~`` and the temporary folder ``$TMPDIR`` after these.

    Returns
    -------
    str
    """
    pairs: dict[str, str] = {}
    for folder, label in (folders or {}).items():
        for variant in {str(folder), str(_resolved(Path(folder)))}:
            if len(variant) > 1:
                pairs[variant.rstrip("/")] = label
    for folder, label in ((tempfile.gettempdir(), "$TMPDIR"), (os.path.expanduser("~"), "~")):
        for variant in {folder, str(_resolved(Path(folder)))}:
            if len(variant) > 1:
                pairs.setdefault(variant.rstrip("/"), label)
    if not pairs:
        return text
    # a folder name only where it is a whole path component: /tmp/x matches /tmp/x/y, not /tmp/xy …
    alternation = "|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True))
    # … and not inside base64 data (an embedded figure or font), where "/root" may occur by chance;
    # right after a terminal colour code (a traceback kept in a notebook: "\x1b[32m/home/…") it is a path
    after = "|".join(f"(?<=\\[{c}m)" for c in (r"\d", r"\d\d", r"\d;\d\d", r"\d\d;\d", r"\d;\d"))
    pattern = re.compile(f"(?:(?<![A-Za-z0-9+/])|{after})(?:file://)?({alternation})(?=[/\\\\\"'<>\\s:;,)\\]}}]|$)")
    return pattern.sub(lambda m: pairs[m.group(1)], text)


def provenance(
    params_file: str | Path,
    data_dir: str | Path,
    fingerprint: str | None,
    *,
    base: str | Path | Iterable[str | Path] | None = None,
    synthetic: bool | None = None,
    params_sha256: str | None = None,
) -> dict:
    """The provenance record of one review: what ran, on which data, with which params.

    Parameters
    ----------
    params_file, data_dir : path
        Recorded relative to ``base`` (see :func:`relative`).
    fingerprint : str or None
        The dataset's fingerprint (``Dataset.fingerprint``).
    base : path or list of paths, optional
        The project (or manifest) folder paths are expressed in.
    synthetic : bool, optional
        Whether the data are synthetic.
    params_sha256 : str, optional
        The params file's hash, when already known (else computed when the file exists).

    Returns
    -------
    dict
        ``evalkit``, ``git``, ``data``, ``data_fingerprint``, ``params_file``, ``params_sha256``,
        ``synthetic``, ``packages``, ``finished`` (UTC, ISO 8601).
    """
    if params_sha256 is None and params_file and Path(params_file).is_file():
        params_sha256 = file_sha256(params_file)
    return {
        "evalkit": __version__,
        "git": git_commit(),
        "data": relative(data_dir, base),
        "data_fingerprint": fingerprint,
        "params_file": relative(params_file, base),
        "params_sha256": params_sha256,
        "synthetic": synthetic,
        "packages": package_versions(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except OSError:
        return p

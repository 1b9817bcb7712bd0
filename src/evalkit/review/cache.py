"""A content-addressed on-disk cache of analysis results, shared by phases and reruns.

Each cached part (the indicator table, the composite index, a DiD, a randomization test, …) is
stored under a key that hashes exactly what it depends on: the data as known at the as-of date
(the full data's fingerprint and the as-of date), the method settings that part reads, the
registry, evalkit itself (its version and a hash of every file of the package, so an edited
estimator never serves an old result) and the versions of the libraries that compute the numbers
(an upgraded scikit-learn or pandas never serves results of the old one). Phase 3 and the
final review share an as-of date, so they share their DiD and randomization results; a rerun
with nothing changed computes nothing.

Writes are atomic (a temporary file renamed into place), so parallel workers never read half a
file. ``EVALKIT_CACHE`` chooses the folder (``off`` switches the cache off); the default is
``$XDG_CACHE_HOME/evalkit`` (``~/.cache/evalkit``). Hits and misses go to the logger
``evalkit.cache``, written to the file ``EVALKIT_LOG`` names (the runner sets it to the
phase's log).

Every new data revision and every new evalkit makes new keys, so old entries are evicted least
recently used first: a hit marks its entry used, and after each ``evalkit review`` and
``evalkit batch`` (or ``evalkit cache prune``) the oldest entries are removed until the folder
is within ``EVALKIT_CACHE_MAX_MB`` (default 2048 MB) — never one the run itself used. Outside
such a run (JupyterLab, a script, a Dask worker's review) each analysis opened evicts first.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evalkit import __version__
from evalkit.errors import EvalkitError

T = TypeVar("T")
log = logging.getLogger("evalkit.cache")
if not log.handlers:
    # A review kernel's stdout/stderr end up in the rendered notebook, so the cache writes to the
    # phase's log file that the runner names in EVALKIT_LOG (elsewhere it stays silent).
    _target = os.environ.get("EVALKIT_LOG")
    _handler: logging.Handler = logging.FileHandler(_target, encoding="utf-8") if _target else logging.NullHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s evalkit %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False
OFF = ("off", "0", "false", "no", "none")
LIMIT_VARIABLE, DEFAULT_LIMIT_MB = "EVALKIT_CACHE_MAX_MB", 2048.0
RUN_VARIABLE = "EVALKIT_RUN_STARTED"  # set while `evalkit review`/`batch` runs: it evicts after itself
STALE_TEMPORARY_S = 3600.0  # a temporary file this old belongs to a writer that died
_MISSING = object()
_Stat = tuple[Path, os.stat_result]
_HELD: set[Path] = set()  # keys this process is computing (a nested same key never waits on itself)


@contextlib.contextmanager
def _key_lock(path: Path) -> Iterator[bool]:
    """An exclusive ``flock`` on ``<key>.lock`` beside the entry while it is computed; yields
    whether another process held it first (then its result may be there). Parts depend on parts
    in one direction only, so waits cannot form a cycle; a dead holder's lock is released by the
    kernel. Without a writable folder or ``fcntl`` it yields False and locks nothing."""
    try:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except (ImportError, OSError):
        yield False
        return
    waited, mine = False, path not in _HELD
    try:
        if mine:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            _HELD.add(path)
        yield waited
    finally:
        if mine:
            _HELD.discard(path)
        os.close(fd)  # releases the lock


def _unlink_free_lock(path: Path) -> None:
    """Unlink a lock file nobody holds (taken without waiting, unlinked while held)."""
    try:
        import fcntl
    except ImportError:
        return
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink()
    except BlockingIOError:  # held: a part is being computed right now
        pass
    finally:
        os.close(fd)


def check_limit() -> None:
    """Refuse a bad ``EVALKIT_CACHE_MAX_MB`` before a run starts (nothing to check when the cache is off)."""
    if default_folder() is not None:
        size_limit()


def run_started(folder: Path | None = None) -> float:
    """The time a run starts, on the clock that stamps the cache's files (a shared folder's server
    may not agree with this machine): the modification time of a file written there now; this
    machine's clock when the folder cannot be written. ``folder`` defaults to the default cache."""
    folder = default_folder() if folder is None else folder
    try:
        if folder is None:
            raise OSError
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".clock-")
        os.close(fd)
        try:
            return os.stat(probe).st_mtime
        finally:
            os.unlink(probe)
    except OSError:
        return time.time()


def prune_after_run(started: float, stream: Any = None) -> Pruned | None:
    """Evict old results after a run that began at ``started`` (:func:`run_started`), keeping every
    result it used, and say what was done on ``stream`` (when given); None when the cache is off."""
    cache = ResultCache.default()
    if cache.folder is None:
        return None
    pruned = cache.prune(keep_since=started - 1.0)  # 1 s: file systems with coarse modification times
    if stream is not None and pruned.describe():
        print(pruned.describe(), file=stream, flush=True)
    return pruned


@contextlib.contextmanager
def evicting_run(stream: Any = None) -> Iterator[float]:
    """A run of reviews (``evalkit review``, ``evalkit batch``): refuse a bad limit before it starts,
    tell its kernels that the run evicts (``EVALKIT_RUN_STARTED``, inherited by the workers and
    their kernels, so an analysis they open leaves eviction to the run), and evict after a run
    that finished, keeping what it used. Yields the run's start on the cache's clock."""
    check_limit()
    started = run_started()
    before = os.environ.get(RUN_VARIABLE)
    os.environ[RUN_VARIABLE] = repr(started)
    try:
        yield started
    finally:
        if before is None:
            os.environ.pop(RUN_VARIABLE, None)
        else:
            os.environ[RUN_VARIABLE] = before
    prune_after_run(started, stream)


def prune_before_open(cache: ResultCache) -> Pruned | None:
    """Keep the cache to its limit where no run evicts for it: an analysis opened in JupyterLab, a
    script, or a Dask worker's kernel (``EVALKIT_RUN_STARTED`` unset) first evicts the least
    recently used results (what was used in the last second stays). The outcome goes to the log;
    None when the cache is off or a run evicts after itself."""
    if cache.folder is None or os.environ.get(RUN_VARIABLE):
        return None
    pruned = cache.prune(keep_since=run_started(cache.folder) - 1.0)
    if pruned.describe():
        log.info("%s", pruned.describe())
    return pruned


# The libraries that compute a review's numbers (reading the data, indicators, indices, estimators):
# a result cached, or a review rendered, under another version of one of them is not reused.
# matplotlib is not among them: a figure keys on it itself (review/figures.drawing_fingerprint).
NUMERIC_LIBRARIES = (
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "pyfixest",
    "csdid",
    "wildboottest",
    "moderndid",
    "diff-diff",
    "cvxpy",
)


def library_versions() -> dict[str, str]:
    """The installed version of each of :data:`NUMERIC_LIBRARIES` ("absent" when not installed)."""
    from importlib import metadata

    out = {}
    for name in NUMERIC_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def tree_fingerprint(root: Path) -> str:
    """:func:`folder_fingerprint` of every file below ``root`` except bytecode."""
    return folder_fingerprint(root, keep=lambda path: path.suffix != ".pyc" and "__pycache__" not in path.parts)


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over evalkit's version, every file of the package (its source, YAML and CSV: the
    bundled truth-recovery table is shown in reviews) and the versions of the libraries that
    compute its numbers (computed once per process)."""
    on = {
        "version": __version__,
        "package": tree_fingerprint(Path(__file__).resolve().parents[1]),
        "libraries": library_versions(),
    }
    return hashlib.sha256(json.dumps(on, sort_keys=True).encode()).hexdigest()


def folder_fingerprint(folder: Path, keep: Callable[[Path], bool] = lambda path: True) -> str:
    """SHA-256 over the names and bytes of every file in a data folder (those ``keep`` accepts), or
    of the one workbook a dataset can also be (a cache key: any change to any file, including
    dataset.yaml, gives another key; a moved or renamed copy gives the same)."""
    h = hashlib.sha256()
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file() and keep(p))
    for path in files:
        name = "<workbook>" if path == folder else path.relative_to(folder).as_posix()
        h.update(name.encode() + b"\0")
        with path.open("rb") as fh:  # in blocks: a large file is never held whole
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def default_folder() -> Path | None:
    """The cache folder from ``EVALKIT_CACHE`` (None when it says off), else the user cache."""
    value = os.environ.get("EVALKIT_CACHE", "").strip()
    if value.lower() in OFF:
        return None
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalkit"


class CacheLimitError(EvalkitError):
    """``EVALKIT_CACHE_MAX_MB`` (or ``--max-mb``) is not a size."""

    hint = (
        f"What to do: give the limit as a number of megabytes, 0 or more (e.g. 2048): --max-mb for one "
        f"command, {LIMIT_VARIABLE} for every run (unset, the limit is {DEFAULT_LIMIT_MB:.0f} MB)."
    )


def size_limit(megabytes: float | str | None = None) -> int:
    """The result cache's size limit in bytes (1 MB = 10⁶ bytes).

    Parameters
    ----------
    megabytes : float or str, optional
        The limit; default ``EVALKIT_CACHE_MAX_MB``, else 2048 MB.

    Raises
    ------
    CacheLimitError
        When the limit is not a finite number of megabytes, 0 or more.
    """
    where = "--max-mb"
    if megabytes is None:
        where, megabytes = LIMIT_VARIABLE, os.environ.get(LIMIT_VARIABLE, "").strip() or DEFAULT_LIMIT_MB
    try:
        mb = float(megabytes)
    except (TypeError, ValueError):
        mb = float("nan")
    if not 0 <= mb < float("inf"):
        raise CacheLimitError(
            f"{where}={megabytes!r}: the result cache's size limit must be a number of megabytes, 0 or more"
        )
    return int(mb * 1e6)


@dataclass(frozen=True)
class Pruned:
    """What :meth:`ResultCache.prune` did: results removed, bytes freed, bytes left, the limit, the
    bytes kept above it because the run used them (``keep_since``), and the bytes that could not
    be removed (no permission)."""

    removed: int
    freed: int
    size: int
    limit: int
    recent: int = 0
    stuck: int = 0

    def describe(self, source: str = LIMIT_VARIABLE) -> str:
        """Lines for a person ("" when nothing was removed and the limit holds); ``source`` names
        where the limit was set."""
        mb = lambda n: f"{n / 1e6:.1f} MB"  # noqa: E731
        out = []
        if self.removed:
            out.append(
                f"result cache: removed {self.removed} least recently used result{'s' if self.removed != 1 else ''} "
                f"({mb(self.freed)}); {mb(self.size)} of its {mb(self.limit)} limit ({source})"
            )
        if self.size > self.limit and self.recent:
            out.append(
                f"result cache: this run's results alone take {mb(self.recent)}, more than the {mb(self.limit)} "
                f"limit ({source}); they are kept until a later run no longer uses them"
            )
        if self.size > self.limit and self.stuck:
            out.append(f"result cache: {mb(self.stuck)} could not be removed (no permission to delete in the folder)")
        return "\n".join(out)


class ResultCache:
    """Pickled results by content key.

    Parameters
    ----------
    folder : Path or None
        Where the results live; None switches the cache off (every call computes).
    """

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self.hits: list[str] = []
        self.misses: list[str] = []

    @classmethod
    def default(cls) -> ResultCache:
        """The cache ``EVALKIT_CACHE`` names (or the user cache)."""
        return cls(default_folder())

    @staticmethod
    def key(part: str, depends_on: dict[str, Any]) -> str:
        """The content key of ``part`` given everything it depends on (plus evalkit's code)."""
        text = json.dumps({"part": part, "on": depends_on, "code": code_fingerprint()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def get_or_compute(self, part: str, depends_on: dict[str, Any], compute: Callable[[], T]) -> T:
        """The stored result for this key, or ``compute()`` stored for next time.

        Parameters
        ----------
        part : str
            A name for the kind of result (a folder of the cache; shown in the log).
        depends_on : dict
            Everything the result depends on, as JSON-able values.
        compute : callable
            Computes the result when it is not stored; exceptions pass through, nothing stored.

        Returns
        -------
        object
            The result.
        """
        if self.folder is None:
            return compute()
        key = self.key(part, depends_on)
        path = self.folder / part.split(":")[0] / f"{key}.pkl"
        found = self._load(path, part, key)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        # Reviews running at once (phase 3 and the final share an as-of date) compute a part once:
        # the first holds the key's lock, the others wait for its result.
        with _key_lock(path) as waited:
            if waited:
                found = self._load(path, part, key)
                if found is not _MISSING:
                    return found  # type: ignore[return-value]
            value = compute()
            self.misses.append(part)
            log.info("cache miss %s %s", part, key[:12])
            self._store(path, value)
        return value

    def _load(self, path: Path, part: str, key: str) -> object:
        try:
            with path.open("rb") as fh:
                value = pickle.load(fh)
        except FileNotFoundError:  # never stored, or evicted by a prune meanwhile
            return _MISSING
        except Exception:  # a damaged entry is recomputed, never trusted
            log.warning("cache entry %s unreadable: recomputing", path.name)
            return _MISSING
        with contextlib.suppress(OSError):  # used now: the last to be evicted (a read-only cache keeps its times)
            os.utime(path)
        self.hits.append(part)
        log.info("cache hit  %s %s", part, key[:12])
        return value

    def _store(self, path: Path, value: object) -> None:
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an unpicklable result is simply not cached
            log.warning("cache: %s not stored (not picklable)", path.parent.name)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # atomic: a parallel reader sees the old state or the whole file
        except OSError as exc:  # a read-only or full disk costs speed, never a review
            log.warning("cache: cannot write %s (%s)", path.parent, exc)

    def usage(self) -> tuple[int, int]:
        """(results stored, their bytes)."""
        sizes = [st.st_size for _, st in self._scan()[0]]
        return len(sizes), sum(sizes)

    def usage_by_kind(self) -> dict[str, tuple[int, int]]:
        """Kind of result (its folder: ``fulldata``, ``dataset``, ``did``, ``figure`` …) → (results,
        bytes), largest first."""
        out: dict[str, list[int]] = {}
        for path, st in self._scan()[0]:
            n_bytes = out.setdefault(path.parent.name, [0, 0])
            n_bytes[0] += 1
            n_bytes[1] += st.st_size
        return {k: (v[0], v[1]) for k, v in sorted(out.items(), key=lambda kv: -kv[1][1])}

    def _scan(self) -> tuple[list[_Stat], list[_Stat]]:
        """(results, leftovers: temporary files and locks), each with its stat."""
        results: list[_Stat] = []
        leftovers: list[_Stat] = []
        if self.folder is not None and self.folder.exists():
            for path in self.folder.rglob("*"):
                kind = "tmp" if path.name.startswith(".tmp-") else path.suffix
                if kind in ("tmp", ".pkl", ".lock"):
                    with contextlib.suppress(OSError):  # gone meanwhile, or unreadable
                        (results if kind == ".pkl" else leftovers).append((path, path.stat()))
        return results, leftovers

    def prune(self, limit: int | None = None, *, keep_since: float | None = None) -> Pruned:
        """Remove the least recently used results until at most ``limit`` bytes are stored.

        A result is used when it is stored or read (a hit marks it), so what reviews still read
        survives and what only an old data revision or an old evalkit read goes first. Safe while
        other processes use the cache: a reader whose entry was just removed computes it again.
        Also removes what dead processes left: temporary files of writers that died and locks of
        keys with no result that nobody holds (both an hour old).

        Parameters
        ----------
        limit : int, optional
            Bytes; default :func:`size_limit`.
        keep_since : float, optional
            A time on the cache's clock (:func:`run_started`): results used since then are kept
            even above the limit (the run that prunes never removes what it used).

        Returns
        -------
        Pruned
        """
        limit = size_limit() if limit is None else int(limit)
        results, leftovers = self._scan()
        results.sort(key=lambda e: e[1].st_mtime)
        total = sum(st.st_size for _, st in results)
        removed = freed = stuck = recent = 0
        for path, st in results:
            if keep_since is not None and st.st_mtime >= keep_since:
                recent += st.st_size
            elif total > limit:
                try:
                    path.unlink()
                except FileNotFoundError:  # another prune was first
                    pass
                except OSError:  # a read-only cache: what cannot be removed stays
                    stuck += st.st_size
                    continue
                else:
                    removed, freed = removed + 1, freed + st.st_size
                total -= st.st_size
        now = time.time()
        for path, st in leftovers:
            if now - st.st_mtime >= STALE_TEMPORARY_S:
                with contextlib.suppress(OSError):
                    if path.suffix != ".lock":
                        path.unlink()
                    elif not path.with_suffix(".pkl").exists():
                        _unlink_free_lock(path)
        return Pruned(removed, freed, total, limit, recent, stuck)

    def clear(self) -> int:
        """Delete every stored result; returns how many files were removed."""
        if self.folder is None or not self.folder.exists():
            return 0
        n = sum(1 for p in self.folder.rglob("*.pkl"))
        shutil.rmtree(self.folder)
        return n

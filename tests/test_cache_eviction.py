"""The result cache stays within its size limit (issue 15): the least recently used results go
first, never one the current run used, and what dead processes left is swept."""
from __future__ import annotations

import fcntl
import io
import logging
import os
import time
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.review.cache import (
    RUN_VARIABLE,
    STALE_TEMPORARY_S,
    CacheLimitError,
    ResultCache,
    evicting_run,
    prune_after_run,
    prune_before_open,
    run_started,
    size_limit,
)
from evalkit.review.report import PhaseReview

DAY = 86400.0


def stored(cache: ResultCache, part: str, on: dict, nbytes: int, age_s: float) -> Path:
    """An entry of about ``nbytes`` stored through the cache, last used ``age_s`` seconds ago."""
    cache.get_or_compute(part, on, lambda: b"x" * nbytes)
    path = cache.folder / part.split(":")[0] / f"{ResultCache.key(part, on)}.pkl"  # did:<y> → did/
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


@pytest.fixture()
def filled(tmp_path):
    """Five results, oldest first (4 days … 0 days since last use)."""
    cache = ResultCache(tmp_path / "cache")
    paths = [stored(cache, "table", {"i": i}, 100_000 * (i + 1), (4 - i) * DAY) for i in range(5)]
    return cache, paths


def test_the_oldest_results_go_first_until_the_limit_holds(filled):
    cache, paths = filled
    sizes = [p.stat().st_size for p in paths]
    limit = sum(sizes) - sizes[0] - sizes[1] // 2  # the oldest and the second oldest must go, no more
    pruned = cache.prune(limit)
    assert [p.exists() for p in paths] == [False, False, True, True, True]
    assert (pruned.removed, pruned.freed, pruned.size, pruned.limit) == (2, sizes[0] + sizes[1], sum(sizes[2:]), limit)
    assert cache.usage() == (3, sum(sizes[2:]))
    assert "removed 2 least recently used results" in pruned.describe()
    assert cache.prune(limit).describe() == ""  # within the limit: nothing to say, nothing removed


def test_a_hit_marks_a_result_used(filled):
    cache, paths = filled
    sizes = [p.stat().st_size for p in paths]
    assert cache.get_or_compute("table", {"i": 0}, lambda: pytest.fail("a stored result is read, not computed"))
    pruned = cache.prune(sum(sizes) - sizes[1])  # room for all but one: the second oldest, not the one just read
    assert [p.exists() for p in paths] == [True, False, True, True, True] and pruned.removed == 1


def test_what_the_run_used_is_kept_even_above_the_limit(filled):
    cache, paths = filled
    sizes = [p.stat().st_size for p in paths]
    pruned = cache.prune(0, keep_since=time.time() - 1.5 * DAY)  # the last two were used since
    assert [p.exists() for p in paths] == [False, False, False, True, True]
    assert (pruned.size, pruned.recent) == (sizes[3] + sizes[4], sizes[3] + sizes[4])
    assert "this run's results alone take" in pruned.describe()


def test_after_a_run_the_limit_comes_from_the_environment(filled, monkeypatch):
    cache, paths = filled
    monkeypatch.setenv("EVALKIT_CACHE", str(cache.folder))
    monkeypatch.setenv("EVALKIT_CACHE_MAX_MB", str(paths[4].stat().st_size / 1e6))
    said = io.StringIO()
    pruned = prune_after_run(time.time() - 2.5 * DAY, said)  # the run used the last three
    assert [p.exists() for p in paths] == [False, False, True, True, True] and pruned.removed == 2
    assert "removed 2 least recently used results" in said.getvalue() and "EVALKIT_CACHE_MAX_MB" in said.getvalue()
    monkeypatch.setenv("EVALKIT_CACHE", "off")
    assert prune_after_run(time.time()) is None


def test_a_run_marks_itself_for_its_kernels_and_evicts_only_after_it_finished(filled, monkeypatch):
    cache, paths = filled
    monkeypatch.setenv("EVALKIT_CACHE", str(cache.folder))
    monkeypatch.setenv("EVALKIT_CACHE_MAX_MB", "0")
    monkeypatch.setenv(RUN_VARIABLE, "an outer run")
    with pytest.raises(RuntimeError), evicting_run() as started:
        assert os.environ[RUN_VARIABLE] == repr(started) and abs(started - time.time()) < 5
        assert prune_before_open(cache) is None  # inside a run its kernels leave eviction to it
        raise RuntimeError("a run that failed")
    assert os.environ[RUN_VARIABLE] == "an outer run" and all(p.exists() for p in paths)  # nothing evicted
    monkeypatch.delenv(RUN_VARIABLE)
    os.utime(paths[4], (time.time() - 3600, time.time() - 3600))  # the newest, too, used before this run
    with evicting_run():
        pass
    assert RUN_VARIABLE not in os.environ and not any(p.exists() for p in paths)


def test_an_analysis_opened_outside_a_run_evicts_first(monkeypatch, tmp_path):
    """JupyterLab, a script or a Dask worker's kernel: nothing runs `evalkit review` after them,
    so opening an analysis keeps the cache to its limit (its own results are written after)."""
    from conftest import PARAMS

    cache = ResultCache(tmp_path / "cache")
    old = stored(cache, "table", {"from": "an old data revision"}, 200_000, 2 * DAY)
    recent = stored(cache, "table", {"from": "a review a moment ago"}, 100_000, 0)
    monkeypatch.setenv("EVALKIT_CACHE", str(cache.folder))
    monkeypatch.setenv("EVALKIT_CACHE_MAX_MB", str(recent.stat().st_size / 1e6))
    monkeypatch.setenv(RUN_VARIABLE, repr(time.time()))  # inside a run: left to the run
    opened = PhaseReview.open(PARAMS / "phase1.yaml").analysis
    assert old.exists() and recent.exists() and opened.cache.folder == cache.folder
    monkeypatch.delenv(RUN_VARIABLE)
    # the first open's data last used an hour ago, `recent` just now (stamped ahead: only what was
    # used in the second before an open is sure to stay, and a busy machine may take longer)
    for path in [*cache.folder.glob("fulldata/*.pkl"), *cache.folder.glob("dataset/*.pkl")]:
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    os.utime(recent, (time.time() + 30, time.time() + 30))
    again = PhaseReview.open(PARAMS / "phase1.yaml").analysis
    assert not old.exists() and recent.exists()
    assert set(again.cache.misses) == {"fulldata", "dataset"}  # evicted, so read and cut again
    assert {p.parent.name for p in cache.folder.rglob("*.pkl")} == {"table", "fulldata", "dataset"}
    monkeypatch.setenv("EVALKIT_CACHE", "off")
    assert prune_before_open(ResultCache.default()) is None


def test_a_reader_whose_result_was_just_removed_computes_it_again(filled, caplog):
    cache, paths = filled
    paths[0].unlink()  # a prune in another process, between this reader's lookup and its read
    with caplog.at_level(logging.WARNING, logger="evalkit.cache"):
        assert cache.get_or_compute("table", {"i": 0}, lambda: "again") == "again"
    assert not caplog.records  # a miss, not a damaged entry


def test_what_dead_processes_left_is_swept_and_held_locks_are_not(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    kept = stored(cache, "table", {"i": 1}, 10, 0)
    folder = kept.parent
    old = time.time() - STALE_TEMPORARY_S - 60

    def made(name: str, age: float | None = old) -> Path:
        path = folder / name
        path.write_bytes(b"")
        if age is not None:
            os.utime(path, (age, age))
        return path

    dead_tmp, live_tmp = made(".tmp-dead.pkl"), made(".tmp-live.pkl", None)
    orphan, fresh_lock = made("gone.lock"), made("new.lock", None)
    with_entry = kept.with_suffix(".lock")
    os.utime(with_entry, (old, old))
    held = made("busy.lock")
    fd = os.open(held, os.O_RDWR)  # another process computing that key holds its lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        cache.prune(10**9)
    finally:
        os.close(fd)
    assert not dead_tmp.exists() and not orphan.exists()
    assert live_tmp.exists() and fresh_lock.exists() and with_entry.exists() and held.exists() and kept.exists()
    assert cache.usage() == (1, kept.stat().st_size)  # temporary files are not results


@pytest.mark.parametrize("value", ["-1", "lots", "nan", "inf", ""])
def test_a_limit_that_is_not_a_size_is_refused(value):
    if value == "":
        assert size_limit(None) > 0  # unset: the default
        return
    with pytest.raises(CacheLimitError, match="number of megabytes"):
        size_limit(value)


def test_cache_command_shows_prunes_and_refuses_a_bad_limit(filled, monkeypatch, capsys):
    cache, paths = filled
    monkeypatch.setenv("EVALKIT_CACHE", str(cache.folder))
    total = sum(p.stat().st_size for p in paths)
    stored(cache, "did:local_retention_rate", {"y": 1}, 10, DAY / 2)  # parts of one kind share a folder
    did = (cache.folder / "did").glob("*.pkl")
    total += sum(p.stat().st_size for p in did)
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert f"6 cached results, {total / 1e6:.1f} MB" in out
    lines = [line.split() for line in out.splitlines()[1:]]
    assert [(k, int(n)) for k, n, *_ in lines] == [("table", 5), ("did", 1)]  # largest first
    keep = paths[4].stat().st_size
    assert main(["cache", "prune", "--max-mb", str(keep / 1e6)]) == 0
    out = capsys.readouterr().out
    assert "removed 5 least recently used results" in out and "(--max-mb)" in out  # the did part too
    assert [p.exists() for p in paths] == [False, False, False, False, True]
    assert main(["cache", "prune", "--max-mb", "-5"]) == 2
    err = capsys.readouterr().err
    assert "--max-mb='-5'" in err and "What to do" in err and "Traceback" not in err
    assert paths[4].exists()


def test_a_bad_limit_stops_a_review_before_anything_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EVALKIT_CACHE_MAX_MB", "2GB")
    assert main(["review", "phase1", "--out", str(tmp_path / "out")]) == 2
    assert "EVALKIT_CACHE_MAX_MB='2GB'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()



def test_a_review_run_evicts_old_results_and_keeps_its_own(monkeypatch, tmp_path, capsys):
    import nbformat

    cache = ResultCache(tmp_path / "cache")
    old = stored(cache, "table", {"from": "an old data revision"}, 200_000, 2 * DAY)
    nb = nbformat.v4.new_notebook()
    told = tmp_path / "run_started.txt"  # what the review's kernel is told: a run evicts after it
    nb.cells = [
        nbformat.v4.new_code_cell('params_file = ""'),
        nbformat.v4.new_code_cell(f"import os, pathlib\npathlib.Path({str(told)!r}).write_text(os.environ['{RUN_VARIABLE}'])"),
    ]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "evalkit", "display_name": "Python (evalkit)", "language": "python"}
    nbformat.write(nb, str(tmp_path / "trivial.ipynb"))
    monkeypatch.setenv("EVALKIT_CACHE", str(cache.folder))
    monkeypatch.setenv("EVALKIT_CACHE_MAX_MB", "0")
    args = ["review", "phase1", "--notebook", str(tmp_path / "trivial.ipynb"), "--out", str(tmp_path / "out")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert not old.exists() and "removed 1 least recently used result " in err
    assert abs(float(told.read_text()) - time.time()) < 600 and RUN_VARIABLE not in os.environ
    # the full data the preflight stored for this run's kernels is this run's: kept, and said so
    assert list((cache.folder / "fulldata").glob("*.pkl")) and "this run's results alone take" in err



def test_results_that_cannot_be_removed_stay_and_the_next_oldest_go(filled, monkeypatch):
    cache, paths = filled
    sizes = [p.stat().st_size for p in paths]
    unlink = Path.unlink

    def refuse_the_oldest(self, missing_ok=False):
        if self == paths[0]:
            raise PermissionError(13, "Permission denied", str(self))  # a read-only share
        return unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse_the_oldest)
    pruned = cache.prune(sum(sizes) - sizes[1])
    assert [p.exists() for p in paths] == [True, False, True, True, True]
    assert (pruned.removed, pruned.size, pruned.stuck) == (1, sum(sizes) - sizes[1], sizes[0])
    assert "could not be removed" not in pruned.describe()  # the limit holds all the same
    emptied = cache.prune(0)
    assert [p.exists() for p in paths] == [True, False, False, False, False]
    assert (emptied.size, emptied.stuck) == (sizes[0], sizes[0])
    assert "0.1 MB could not be removed" in emptied.describe() and "this run" not in emptied.describe()


def test_a_run_starts_on_the_cache_folders_clock_and_leaves_nothing_there(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("EVALKIT_CACHE", str(folder))
    before = time.time()
    started = run_started()
    assert abs(started - before) < 5 and list(folder.iterdir()) == []
    monkeypatch.setenv("EVALKIT_CACHE", "off")
    assert abs(run_started() - time.time()) < 5

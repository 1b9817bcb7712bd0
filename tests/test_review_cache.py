"""The result cache (issue 15): a cached review equals an uncached one, and a change recomputes
exactly the parts that depend on it."""
from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import DATA, FAST_METHODS, PARAMS

from evalkit.review import cache as cache_module
from evalkit.review.cache import ResultCache
from evalkit.errors import EvalkitError
from evalkit.review.report import PhaseReview

PARTS = {"table", "window_values", "per_period", "targets", "composite", "ccd", "did", "ri", "loo", "twfe"}
# the figures' PNG, each kept under the keys of the parts it is drawn from (review/figures.py)
FIGURES = {"figure:trends", "figure:attainment", "figure:rank_uncertainty", "figure:coupling", "figure:event_study"}
ALL = PARTS | FIGURES
GENERATED = datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc)


def review(tmp_cache, *, data_dir=None, params=PARAMS / "phase3.yaml", **methods) -> PhaseReview:
    opened = PhaseReview.open(params, data_dir=data_dir, methods={**FAST_METHODS, **methods})
    analysis = dataclasses.replace(opened.analysis, cache=ResultCache(tmp_cache))
    r = PhaseReview(analysis, sink=[])
    # the provenance table's generation time is the one cell meant to differ between runs:
    # fixed here so that a minute turning over between two reviews is not a difference
    r.started = GENERATED
    r.render_all()
    return r


def kinds(names: list[str]) -> set[str]:
    """Parts by kind (did:<y> → did); figures by name."""
    return {n if n.startswith("figure:") else n.split(":")[0] for n in names}


def markup(r: PhaseReview) -> str:
    return "".join(r.page.sink) + "".join(r.annex_page.sink or [])


def comparable(r: PhaseReview) -> dict:
    out = json.loads(json.dumps(r.results(), default=str))
    out["tables"].pop("provenance")
    return out


@pytest.fixture(scope="module")
def cold_and_warm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    return folder, review(folder), review(folder)


def test_a_cached_review_is_identical_to_an_uncached_one(cold_and_warm, tmp_path):
    folder, cold, warm = cold_and_warm
    assert kinds(cold.analysis.cache.misses) == ALL and not cold.analysis.cache.hits
    assert kinds(warm.analysis.cache.hits) == ALL and not warm.analysis.cache.misses
    uncached = review(None)
    assert comparable(cold) == comparable(warm) == comparable(uncached)
    # every figure read back is the picture an uncached review draws, byte for byte
    assert markup(warm).count("data:image/png") >= 6
    assert markup(cold) == markup(warm) == markup(uncached)


def test_one_method_setting_recomputes_only_what_reads_it(cold_and_warm):
    folder, _, _ = cold_and_warm
    r = review(folder, ccd_form="wang2021")
    assert kinds(r.analysis.cache.misses) == {"ccd", "figure:coupling"}  # the part and the figure drawn from it
    assert kinds(r.analysis.cache.hits) == ALL - {"ccd", "figure:coupling"}
    r = review(folder, ri_reps=29)
    assert kinds(r.analysis.cache.misses) == {"ri"}


def test_one_data_cell_recomputes_everything_built_on_the_data(cold_and_warm, tmp_path):
    folder, _, _ = cold_and_warm
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    lines = (data / "panel.csv").read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    col = head.index("students")
    row[col] = str(int(float(row[col])) + 1)
    lines[1] = ",".join(row)
    (data / "panel.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = review(folder, data_dir=data)
    assert kinds(r.analysis.cache.misses) == ALL and not r.analysis.cache.hits


def test_a_new_evalkit_recomputes_everything(cold_and_warm, monkeypatch):
    folder, _, _ = cold_and_warm
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "another version")
    r = review(folder)
    assert kinds(r.analysis.cache.misses) == ALL and not r.analysis.cache.hits


class SettingsRead:
    """A Methods stand-in that records which of its fields are read while ``on`` (properties and
    methods run against it, so a field they read is recorded as read)."""

    def __init__(self, methods):
        object.__setattr__(self, "_methods", methods)
        object.__setattr__(self, "on", False)
        object.__setattr__(self, "fields", set())

    def __getattr__(self, name):
        import types

        kind = getattr(type(self._methods), name, None)
        if isinstance(kind, property):
            return kind.fget(self)
        if isinstance(kind, types.FunctionType):
            return types.MethodType(kind, self)
        if self.on:
            self.fields.add(name)
        return getattr(self._methods, name)


@pytest.mark.parametrize("optional", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_every_method_setting_a_part_reads_is_in_its_key(monkeypatch, optional):
    """A setting a part reads but does not name in its key would let a changed setting be served
    the old result: each part is computed (nothing cached) with a recorder as its methods; the
    optional estimates (synthetic DiD, sensitivity bounds: ~6 s) in `make test-slow`."""
    from evalkit.review.analysis import PhaseAnalysis

    reads: dict[str, tuple[set, set]] = {}
    original = PhaseAnalysis._part

    def recording_part(self, part, depends_on, compute, **extra):
        def recorded():
            self.methods.fields.clear()
            object.__setattr__(self.methods, "on", True)
            try:
                return compute()
            finally:
                object.__setattr__(self.methods, "on", False)
                got = reads.setdefault(part.split(":")[0], (set(), set(depends_on)))
                got[0].update(self.methods.fields)

        return original(self, part, depends_on, recorded, **extra)

    monkeypatch.setattr(PhaseAnalysis, "_part", recording_part)
    opened = PhaseReview.open(PARAMS / "final.yaml", methods={**FAST_METHODS, "drivers": True, "sensitivity": True})
    a = dataclasses.replace(opened.analysis, cache=ResultCache(None))
    a = dataclasses.replace(a, methods=SettingsRead(a.methods))
    calls = [lambda: a.table, lambda: a.window_values, lambda: a.targets, lambda: a.per_period]
    calls += [lambda: a.composite, lambda: a.ccd, lambda: a.drivers_result]
    calls += [lambda y=y: a.twfe(y) for y in a.methods.twfe_outcomes[:1]]  # one outcome: the same code reads the same settings
    for y in a.methods.did_outcomes[:1]:
        calls += [lambda y=y, f=f: getattr(a, f)(y) for f in ("did", "randomization", "leave_one_out")]
        calls += [lambda y=y: a.synthetic(y), lambda y=y: a.sensitivity(y)] if optional else []
    for call in calls:
        try:
            call()
        except EvalkitError:  # not estimable on these data: its reads are recorded all the same
            pass
    parts = {"table", "window_values", "targets", "per_period", "composite", "ccd", "twfe", "did", "ri", "loo"}
    assert parts | {"drivers"} | ({"sdid", "sensitivity"} if optional else set()) == set(reads)
    assert any(fields for fields, _ in reads.values())  # the recorder saw the settings being read
    unkeyed = {part: sorted(fields - key) for part, (fields, key) in reads.items() if fields - key}
    assert unkeyed == {}


def test_another_version_of_a_numeric_library_is_another_code_fingerprint(monkeypatch):
    """A scikit-learn (or pandas, statsmodels …) upgraded under a kept cache: the key every part
    and the review's reuse hold changes, so nothing computed by the old one is served (what a
    changed fingerprint recomputes: test_a_new_evalkit_recomputes_everything)."""
    versions = cache_module.library_versions()
    assert {"numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "pyfixest"} <= set(versions)
    assert "matplotlib" not in versions  # figures key on it themselves: an upgrade redraws, recomputes nothing
    before = cache_module.code_fingerprint()
    monkeypatch.setattr(cache_module, "library_versions", lambda: versions | {"scikit-learn": "0.0-another"})
    cache_module.code_fingerprint.cache_clear()
    try:
        assert cache_module.code_fingerprint() != before
    finally:
        monkeypatch.undo()
        cache_module.code_fingerprint.cache_clear()
    assert cache_module.code_fingerprint() == before


def test_every_file_of_the_package_but_bytecode_is_in_its_fingerprint(tmp_path):
    package = Path(cache_module.__file__).resolve().parents[1]
    copy = tmp_path / "evalkit"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert cache_module.tree_fingerprint(copy) == cache_module.tree_fingerprint(package)
    (copy / "review" / "__pycache__").mkdir(exist_ok=True)
    (copy / "review" / "__pycache__" / "cache.cpython-311.pyc").write_bytes(b"bytecode")
    assert cache_module.tree_fingerprint(copy) == cache_module.tree_fingerprint(package)
    table = copy / "review" / "truth_recovery.csv"  # shown in the reviews' methods appendix
    table.write_text(table.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert cache_module.tree_fingerprint(copy) != cache_module.tree_fingerprint(package)


def test_another_matplotlib_redraws_every_figure_and_recomputes_no_estimate(cold_and_warm, monkeypatch):
    from evalkit.review import figures

    folder, _, _ = cold_and_warm
    monkeypatch.setattr(figures, "drawing_fingerprint", lambda: {"matplotlib": "another version"})
    r = review(folder)
    assert kinds(r.analysis.cache.misses) == FIGURES and kinds(r.analysis.cache.hits) == PARTS


def test_a_damaged_entry_is_recomputed_not_trusted(tmp_path):
    c = ResultCache(tmp_path)
    assert c.get_or_compute("x", {"a": 1}, lambda: 41) == 41
    (entry,) = list(tmp_path.rglob("*.pkl"))
    entry.write_bytes(b"not a pickle")
    assert c.get_or_compute("x", {"a": 1}, lambda: 42) == 42
    assert ResultCache(tmp_path).get_or_compute("x", {"a": 1}, lambda: 43) == 42
    assert ResultCache(None).get_or_compute("x", {"a": 1}, lambda: 44) == 44
    assert ResultCache(tmp_path).clear() == 1


def test_another_framework_recomputes_no_estimate(cold_and_warm, tmp_path):
    """The framework judges the numbers; no cached estimate depends on it."""
    import yaml

    folder, _, _ = cold_and_warm
    default = Path(__file__).resolve().parents[1] / "src" / "evalkit" / "review" / "framework.yaml"
    framework = tmp_path / "framework.yaml"
    framework.write_text(default.read_text(encoding="utf-8").replace("组织与治理", "组织与治理（试）", 1), encoding="utf-8")
    raw = yaml.safe_load((PARAMS / "phase3.yaml").read_text(encoding="utf-8"))
    raw["data"] = str(DATA)
    raw["framework"] = str(framework)
    (tmp_path / "params").mkdir()  # key order kept: the targets' order is the trend figure's panel order
    (tmp_path / "params" / "phase3.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    r = review(folder, params=tmp_path / "params" / "phase3.yaml")
    assert kinds(r.analysis.cache.hits) == ALL and not r.analysis.cache.misses
    assert "组织与治理（试）" in json.dumps(r.results(), ensure_ascii=False)


def test_a_changed_target_recomputes_only_the_targets(cold_and_warm, tmp_path):
    """A target value or its basis is read by the target table alone; the new value is judged."""
    import yaml

    folder, _, _ = cold_and_warm
    raw = yaml.safe_load((PARAMS / "phase3.yaml").read_text(encoding="utf-8"))
    raw["data"] = str(DATA)
    ind = next(iter(raw["targets"]))
    spec = raw["targets"][ind]
    raw["targets"][ind] = {**spec, "value": spec["value"] * 2} if isinstance(spec, dict) else spec * 2
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "phase3.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    r = review(folder, params=tmp_path / "params" / "phase3.yaml")
    assert kinds(r.analysis.cache.misses) == {"targets", "figure:attainment"}
    assert kinds(r.analysis.cache.hits) == ALL - {"targets", "figure:attainment"}
    t = r.analysis.targets.set_index("indicator")
    assert t.at[ind, "target"] == r.analysis.phase.targets[ind].value



def _slow_part(folder: str, marker: str) -> int:
    """A part that takes a second and records each computation (run in a child process)."""
    import os
    import time

    def compute() -> int:
        with open(marker, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        return 7

    return ResultCache(Path(folder)).get_or_compute("slow", {"k": 1}, compute)


def test_reviews_running_at_once_compute_a_shared_part_once(tmp_path):
    """Two processes asking for the same missing part (phase 3 and the final review in parallel):
    one computes it, the other waits for its result instead of computing it too."""
    import concurrent.futures as cf
    import multiprocessing

    marker = tmp_path / "computed.txt"
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        values = list(pool.map(_slow_part, [str(tmp_path / "c")] * 2, [str(marker)] * 2))
    assert values == [7, 7]
    assert len(marker.read_text().split()) == 1
    # nested: a part whose computation asks for itself again does not wait on its own lock
    c = ResultCache(tmp_path / "n")
    assert c.get_or_compute("a", {}, lambda: c.get_or_compute("a", {}, lambda: 5) + 1) in (5, 6)


def test_a_dataset_given_as_one_workbook_is_read_again_when_the_workbook_changes(tmp_path):
    """A dataset can be one .xlsx workbook: its cache key is the workbook's bytes (it was the empty
    folder hash, so an edited workbook was served from the cache as it first was)."""
    from openpyxl import load_workbook
    from test_validation_corpus import _base_workbook

    from evalkit.data.dataset import load
    from evalkit.review.asof import load_full
    from evalkit.review.cache import folder_fingerprint

    book_path = _base_workbook(tmp_path / "data.xlsx")
    c = ResultCache(tmp_path / "cache")
    first = load_full(book_path, c, loaded=load(book_path))
    key = folder_fingerprint(book_path)
    book = load_workbook(book_path)
    assert book["面板"].cell(2, 3).value == 1000  # C01's students in 2022H1
    book["面板"].cell(2, 3).value = 1234
    book.save(book_path)
    assert folder_fingerprint(book_path) != key
    edited = load_full(book_path, c, loaded=load(book_path))
    assert c.hits == [] and edited.fingerprint == load(book_path).fingerprint != first.fingerprint
    students = edited.panel.set_index(["unit_id", "period"])["students"]
    assert students[("C01", "2022H1")] == 1234
    moved = tmp_path / "elsewhere" / "renamed.xlsx"
    moved.parent.mkdir()
    shutil.copy(book_path, moved)
    assert folder_fingerprint(moved) == folder_fingerprint(book_path)  # the same bytes elsewhere: the same key


def test_the_full_dataset_is_read_back_from_the_cache_even_after_its_folder_moved(tmp_path):
    """The preflight caches the validated full dataset; a kernel reads it back (same tables and
    fingerprint as a fresh load), also when identical files sit in another folder and the first
    folder is gone, and names the folder it was asked for."""
    import pandas.testing as pdt

    import evalkit
    from evalkit.review.asof import load_full

    c = ResultCache(tmp_path / "cache")
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(DATA, first)
    shutil.copytree(DATA, second)
    load_full(first, c)
    shutil.rmtree(first)
    again = load_full(second, c)
    assert c.hits == ["fulldata"] and again.source == second
    fresh = evalkit.load(DATA)
    assert again.fingerprint == fresh.fingerprint
    for name in ("units", "panel", "graduates"):
        pdt.assert_frame_equal(getattr(again, name), getattr(fresh, name))

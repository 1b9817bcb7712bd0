"""The dataset's load reads a clean CSV streamed and typed as it goes (issue 11: memory ≤ 5× the
files); it must give exactly what the whole-file text path gives — the same tables, dtypes,
values, warnings and problems — and fall back to that path for anything unusual."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit.data.readers as readers
from evalkit.data.dataset import load, validate
from evalkit.data.raw import Collector, among, codes, map_values
from evalkit.data.validation import _sorted_by_unit_and_t

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "zhuzhou_synthetic"
TABLES = ("units", "panel", "graduates", "partnerships", "evidence")


def _text_path(monkeypatch) -> None:
    monkeypatch.setattr(readers, "_read_csv_typed", lambda path, table, c: None)


def _copy(tmp_path: Path, edit=None) -> Path:
    """The default data with ``edit`` applied to panel.csv. The graduates come from a parquet file,
    which both read paths read the same way, so a 1-in-50 sample of them is enough (a fiftieth of
    the loading time; the sample's own coverage warnings are compared like any other)."""
    folder = tmp_path / "data"
    shutil.copytree(DEFAULT, folder, ignore=shutil.ignore_patterns("graduates.parquet"))
    pd.read_parquet(DEFAULT / "graduates.parquet").iloc[::50].to_parquet(folder / "graduates.parquet", index=False)
    if edit is not None:
        panel = folder / "panel.csv"
        panel.write_bytes(edit(panel.read_bytes()))
    return folder


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8").splitlines()


def _set_cells(data: bytes, cells: dict[tuple[int, str], str]) -> bytes:
    lines = _lines(data)
    header = lines[0].split(",")
    for (row, column), value in cells.items():
        fields = lines[row - 1].split(",")
        fields[header.index(column)] = value
        lines[row - 1] = ",".join(fields)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _assert_same(a, b) -> None:
    for name in TABLES:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        assert list(x.dtypes) == list(y.dtypes), name
        pd.testing.assert_frame_equal(x, y, check_exact=True)
        for col in x.columns:
            if x[col].dtype.kind == "f":
                assert np.array_equal(np.signbit(x[col].to_numpy()), np.signbit(y[col].to_numpy())), (name, col)
    assert [p.label for p in a.periods] == [p.label for p in b.periods]
    assert a.warnings == b.warnings


EDITS = {
    "default": None,
    # missing markers, spaces around numbers, quoted numbers and empties, numbers pandas and pyarrow
    # read alike (leading zeros, a bare decimal point), a blank record and CRLF line ends
    "cells": lambda b: _set_cells(b, {(12, "students"): "-", (13, "students"): " 12 ", (14, "teachers"): '"7"',
                                      (15, "teachers"): '""', (16, "majors"): "NA", (17, "majors"): "0012",
                                      (18, "majors"): "5.", (19, "majors"): ".5", (20, "majors"): "n/a"}),
    "blank_record_crlf_bom": lambda b: b"\xef\xbb\xbf" + "\r\n".join(
        _lines(b)[:30] + ["," * (len(_lines(b)[0].split(",")) - 1)] + _lines(b)[30:]).encode() + b"\r\n",
    "unsorted": lambda b: ("\n".join(_lines(b)[:1] + _lines(b)[1:][::-1]) + "\n").encode(),
    "note_column_with_line_break": lambda b: ("\n".join(
        [_lines(b)[0] + ",note"] + [line + ',"a\nb"' for line in _lines(b)[1:]]) + "\n").encode(),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_typed_read_gives_what_the_text_read_gives(case, tmp_path, monkeypatch):
    folder = _copy(tmp_path, EDITS[case])
    used = []
    typed = readers._read_csv_typed

    def spy(path, table, c):
        out = typed(path, table, c)
        used.append((table, out is not None))
        return out

    monkeypatch.setattr(readers, "_read_csv_typed", spy)
    fast = load(folder, strict=False)
    assert ("panel", True) in used, used  # the panel went the typed way
    monkeypatch.undo()
    _text_path(monkeypatch)
    _assert_same(fast, load(folder, strict=False))


HOSTILE = {
    "thousands": {(12, "students"): "1,8,3"},
    "grouped": {(12, "students"): '"1,234"'},
    "text": {(12, "students"): "12a"},
    "negative_zero": {(12, "students"): "-0"},
    "exponent": {(12, "students"): "1e3"},
    "negative": {(12, "students"): "-3", (20, "teachers"): "-1.5"},
    "nan_inf": {(12, "students"): "nan", (13, "students"): "inf", (14, "students"): "-nan"},
    "long_number": {(12, "students"): "10000000000000000"},
    "bad_period": {(12, "period"): "2023H3"},
    "fraction_in_count": {(12, "students"): "12.5"},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_unusual_cells_report_the_same_problems(case, tmp_path, monkeypatch):
    folder = _copy(tmp_path, lambda b: _set_cells(b, HOSTILE[case]))
    fast = validate(folder)
    _text_path(monkeypatch)
    slow = validate(folder)
    assert fast.problems == slow.problems and fast.warnings == slow.warnings
    assert not fast.ok or case in ("exponent", "nan_inf") or fast.dataset is not None


def test_typed_read_declines_without_a_problem(tmp_path):
    folder = _copy(tmp_path, lambda b: _set_cells(b, {(12, "students"): "1,8,3"}))
    c = Collector()
    assert readers._read_csv_typed(folder / "panel.csv", "panel", c) is None
    assert c.problems == []
    ragged = _copy(tmp_path / "r", lambda b: ("\n".join(_lines(b)[:40] + [_lines(b)[40][:20]] + _lines(b)[41:])
                                              + "\n").encode())
    assert readers._read_csv_typed(ragged / "panel.csv", "panel", c) is None
    assert c.problems == []


def test_panel_sort_matches_sort_values():
    panel = load(DEFAULT).panel
    shuffled = panel.take(np.random.default_rng(3).permutation(len(panel))).reset_index(drop=True)
    expected = shuffled.sort_values(["unit_id", "t"], kind="stable").reset_index(drop=True)
    got = _sorted_by_unit_and_t(shuffled.copy())
    assert list(got.dtypes) == list(expected.dtypes)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_codes_among_and_map_values_match_pandas():
    s = pd.Series(["b", None, "a", "b", "é", "B", " a"], dtype="str")
    found, uniques = codes(s, sort=True)
    ref_codes, ref_uniques = pd.factorize(s, sort=True)
    assert found.tolist() == ref_codes.tolist() and list(uniques) == list(ref_uniques)
    for allowed in ({"a", "B", 1}, pd.Index(["b", None], dtype="str"), set()):
        assert among(s, allowed).tolist() == s.isin(allowed).tolist()
    mapping = {"a": "x", "b": None, "é": "y"}
    ref = pd.Series(np.array([mapping.get(v) if isinstance(v, str) else None for v in s], dtype=object), dtype="str")
    pd.testing.assert_series_equal(map_values(s, mapping), ref)

"""Dataset loading: types, derived columns, formats, fingerprint, graduate flows, strictness."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import schema
from evalkit.data.dataset import Dataset, load, validate
from evalkit.errors import DataError
from evalkit.data.periods import Period

CORPUS = Path(__file__).parent / "corpus"
BASE = CORPUS / "valid_base"
DEFAULT_DATA = Path(__file__).resolve().parents[1] / "data" / "zhuzhou_synthetic"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return load(BASE)


def test_tables_types_and_derived_columns(ds):
    assert ds.frequency == "half"
    assert ds.periods == [Period("half", 2022 * 2 + k) for k in range(6)]
    assert [p.label for p in ds.periods] == ["2022H1", "2022H2", "2023H1", "2023H2", "2024H1", "2024H2"]
    u = ds.units.set_index("unit_id")
    # C01 joined 2023-12-05 -> 2023H2 = 4th period; E01 2024-03-01 -> 2024H1 = 5th; never-members 0
    assert u.loc["C01", "cohort"] == "2023H2" and u.loc["C01", "cohort_t"] == 4
    assert u.loc["E01", "cohort"] == "2024H1" and u.loc["E01", "cohort_t"] == 5
    assert pd.isna(u.loc["C02", "cohort"]) and u.loc["C02", "cohort_t"] == 0
    assert u["member"].tolist() == [True, False, True, False]
    assert u.loc["C01", "member_since"] == pd.Timestamp("2023-12-05")
    assert u.loc["C02", "alliance"] == "none" and u.loc["C01", "lead"] == 1
    assert ds.units["cohort_t"].dtype == np.int64
    p = ds.panel
    assert list(p.columns[:3]) == ["unit_id", "period", "t"]
    assert set(schema.PANEL_VARIABLE_NAMES) <= set(p.columns)
    assert all(p[c].dtype == np.float64 for c in schema.PANEL_VARIABLE_NAMES)
    assert p["t"].tolist() == list(range(1, 7)) * 4
    assert pd.api.types.is_string_dtype(p["unit_id"]) and pd.api.types.is_string_dtype(ds.units["unit_id"])
    c01 = p[p["unit_id"] == "C01"]
    assert c01["students"].tolist() == [1000, 1010, 1020, 1030, 1040, 1050]
    assert p.loc[p["unit_id"] == "E01", "students"].isna().all()  # not reported stays NaN
    assert ds.graduates["placed"].dtype == np.int64 and str(ds.graduates["local"].dtype) == "Int64"
    assert ds.partnerships["start_date"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2023-09-01")]
    assert pd.isna(ds.partnerships["end_date"].iloc[0]) and ds.partnerships["students"].tolist() == [30, 40]
    assert ds.source == BASE and not ds.synthetic and ds.name == "valid_base"


def test_graduate_flows_hand_computed(ds):
    flows = ds.graduate_flows().set_index(["unit_id", "period"])
    assert list(flows.columns) == list(schema.GRADUATE_FLOWS)
    # g0001 C01 placed, local, member ent., matched, 4800; g0002 C01 placed, matched, no income; g0003 C02 unplaced
    assert flows.loc[("C01", "2022H1")].tolist() == [2, 2, 1, 1, 2, 1, 4800]
    assert flows.loc[("C02", "2022H1")].tolist() == [1, 0, 0, 0, 0, 0, 0]
    # the records cover only a few graduates: the mismatch with the panel is a warning, not an error
    assert any(w.column == "graduates" and "C01 2022H1 (records 2, panel 300)" in w.rule for w in ds.warnings)


def test_graduate_flows_match_a_row_by_row_count():
    rng = np.random.default_rng(7)
    n = 4000
    placed = rng.integers(0, 2, n)
    grads = pd.DataFrame({
        "graduate_id": [f"g{i}" for i in range(n)], "college_id": rng.choice(["C01", "C02"], n),
        "cohort": rng.choice(["2022H1", "2023H1", "2024H1"], n), "placed": placed,
        "local": np.where(rng.random(n) < 0.1, np.nan, placed * rng.integers(0, 2, n)),
        "member_enterprise": placed * rng.integers(0, 2, n), "job_match": placed * rng.integers(0, 2, n),
        "income": np.where((placed == 1) & (rng.random(n) < 0.7), rng.normal(4000, 600, n).round(), np.nan),
    })
    base = load(BASE)
    ds = Dataset.from_frames(base.units, base.panel[["unit_id", "period", "students"]], graduates=grads)
    flows = ds.graduate_flows().set_index(["unit_id", "period"])
    for (uid, period), got in flows.iterrows():
        recs = [r for r in grads.itertuples() if r.college_id == uid and r.cohort == period]
        placed_recs = [r for r in recs if r.placed == 1]
        expect = [len(recs), len(placed_recs),
                  sum(1 for r in placed_recs if r.local == 1), sum(r.member_enterprise for r in placed_recs),
                  sum(r.job_match for r in placed_recs), sum(1 for r in placed_recs if r.income == r.income),
                  sum(r.income for r in placed_recs if r.income == r.income)]
        assert got.tolist() == pytest.approx(expect, rel=1e-12)


def test_from_frames_equals_load_and_reports_positions(ds):
    units = pd.read_csv(BASE / "units.csv", dtype=str, keep_default_na=False)
    panel = pd.read_csv(BASE / "panel.csv")
    again = Dataset.from_frames(units, panel, meta={"name_zh": "测试"})
    pd.testing.assert_frame_equal(again.panel, ds.panel)
    pd.testing.assert_frame_equal(again.units, ds.units)
    assert again.graduates is None and again.name == "测试"
    # round trip: a Dataset's own tables (with derived columns) build the same Dataset
    pd.testing.assert_frame_equal(Dataset.from_frames(ds.units, ds.panel).units, ds.units)
    bad = panel.copy()
    bad.loc[3, "teachers"] = -5
    with pytest.raises(DataError) as info:
        Dataset.from_frames(units, bad)
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column) == ("panel (DataFrame)", 3, "teachers")


def test_chinese_headers_in_frames_and_category_labels():
    units = pd.DataFrame({"单位代码": ["A", "B"], "单位类型": ["院校", "企业 enterprise"], "单位名称": ["甲", "乙"],
                          "所属联盟": ["北斗应用", "无"], "加入时间": ["2024/1/5", None]})
    panel = pd.DataFrame({"单位代码": ["A", "A", "B", "B"], "年度": [2023, 2024, 2023, 2024],
                          "在校生数 students (人)": ["1,200", "1,300", None, "—"]})
    ds = Dataset.from_frames(units, panel)
    assert ds.frequency == "year" and ds.units["unit_type"].tolist() == ["college", "enterprise"]
    assert ds.units["alliance"].tolist() == ["beidou", "none"]
    assert ds.units["cohort"].tolist()[0] == "2024" and ds.units["cohort_t"].tolist() == [2, 0]
    assert ds.panel["students"].tolist()[:2] == [1200.0, 1300.0] and ds.panel["students"].iloc[2:].isna().all()


def test_fingerprint_is_sha256_of_files_in_table_order(ds, tmp_path):
    h = hashlib.sha256()
    for name in ("units", "panel", "graduates", "partnerships"):
        data = (BASE / f"{name}.csv").read_bytes()
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    assert ds.fingerprint == h.hexdigest() == load(BASE).fingerprint
    # a renamed file (English -> Chinese name) keeps the fingerprint; a changed byte does not
    for f in BASE.iterdir():
        target = tmp_path / ("单位.csv" if f.name == "units.csv" else f.name)
        target.write_bytes(f.read_bytes())
    assert load(tmp_path).fingerprint == ds.fingerprint
    (tmp_path / "单位.csv").write_bytes((BASE / "units.csv").read_bytes().replace(b"A Changsha", b"B Changsha"))
    assert load(tmp_path).fingerprint != ds.fingerprint
    frames = Dataset.from_frames(ds.units, ds.panel)
    assert frames.fingerprint == Dataset.from_frames(ds.units, ds.panel).fingerprint
    assert len(frames.fingerprint) == 64


def test_repr_says_synthetic(tmp_path):
    for f in BASE.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "dataset.yaml").write_text("name_zh: 合成数据\nsynthetic: true\nseed: 3\n", encoding="utf-8")
    (tmp_path / "truth.json").write_text("{}", encoding="utf-8")
    (tmp_path / "README.md").write_text("# synthetic", encoding="utf-8")
    ds = load(tmp_path)
    assert ds.synthetic and "SYNTHETIC" in repr(ds) and ds.meta["seed"] == 3 and ds.name == "合成数据"
    assert "SYNTHETIC" not in repr(load(BASE))
    assert not any("truth.json" in w.file or "README" in w.file for w in ds.warnings)


def test_parquet_and_xlsx_tables_and_parquet_row_numbers(tmp_path):
    base = load(BASE)
    pd.read_csv(BASE / "units.csv", dtype=str).to_excel(tmp_path / "units.xlsx", index=False, sheet_name="Sheet1")
    panel = pd.read_csv(BASE / "panel.csv")
    panel.to_parquet(tmp_path / "面板.parquet", index=False)
    grads = pd.read_csv(BASE / "graduates.csv")
    grads["placed"] = grads["placed"].astype(bool)
    grads.to_parquet(tmp_path / "graduates.parquet", index=False)
    ds = load(tmp_path)
    pd.testing.assert_frame_equal(ds.panel, base.panel)
    assert ds.units["member_since"].tolist()[:2] == [pd.Timestamp("2023-12-05"), pd.NaT]
    assert ds.graduates["placed"].tolist() == [1, 1, 0]
    panel.loc[4, "students"] = -1
    panel.to_parquet(tmp_path / "面板.parquet", index=False)
    (problem,) = validate(tmp_path).problems
    assert (problem.file, problem.row, problem.column) == ("面板.parquet", 5, "students")


def test_strict_false_keeps_going_but_not_for_structural_errors():
    ds = load(CORPUS / "text_in_numeric", strict=False)
    c01 = ds.panel[(ds.panel["unit_id"] == "C01") & (ds.panel["period"] == "2023H2")]
    assert c01["students"].isna().all()
    assert any(w.severity == "error" and "not a number" in w.rule for w in ds.warnings)
    with pytest.raises(DataError):
        load(CORPUS / "duplicate_unit_period", strict=False)
    with pytest.raises(DataError):
        load(CORPUS / "text_in_numeric")


def test_coverage_and_optional_warnings(tmp_path):
    (tmp_path / "units.csv").write_bytes((BASE / "units.csv").read_bytes() + "X01,park,高新区,,none,,株洲,0\n".encode())
    lines = (BASE / "panel.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "panel.csv").write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")  # drop C01 2022H2
    report = validate(tmp_path)
    assert report.ok
    rules = [(w.file, w.row, w.rule) for w in report.warnings]
    assert ("units.csv", 6, "unit has no rows in the panel") in rules
    assert any(r == 2 and "no panel rows for 1 of 6 periods (2022H2)" in rule for _, r, rule in rules)
    assert any("optional table 'graduates'" in rule for _, _, rule in rules)
    assert "warning" in report.format()


def test_meta_is_checked(tmp_path):
    for f in BASE.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "dataset.yaml").write_text("frequency: weekly\ncolour: red\n", encoding="utf-8")
    report = validate(tmp_path)
    assert any(p.column == "frequency" and "one of year, half" in p.rule for p in report.problems)
    assert any(w.column == "colour" for w in report.warnings)


def test_import_does_not_load_excel_or_parquet_readers():
    code = ("import sys, pandas; before = 'pyarrow' in sys.modules; import evalkit.data.dataset, evalkit.data.validation; "
            "assert 'openpyxl' not in sys.modules; assert ('pyarrow' in sys.modules) == before; "
            "assert 'yaml' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_default_data_validates():
    ds = load(DEFAULT_DATA)
    assert ds.synthetic and "SYNTHETIC" in repr(ds)
    assert ds.frequency == "half" and ds.periods[0] <= Period("half", 2019 * 2)
    assert ds.periods[-1].end >= date(2026, 2, 28)

"""Issue 12, the data side: the new quantitative sides computed by hand from the shipped files,
the checklist evidence (validation, the as-of cut, the template), the college level, and the
truth file's additions."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evalkit
from evalkit import metrics
from evalkit.data import schema, synth
from evalkit.data.checklist import load_checklist
from evalkit.data.template import ITEMS_SHEET, SHEET_NAMES, write_template
from evalkit.review.asof import cut

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "zhuzhou_synthetic"

# indicator → (numerator columns, denominator column or None, scale, unit type)
NEW = {
    "major_industry_alignment": ("majors_aligned", "majors", 100, "college"),
    "talent_demand": ("talent_demand", None, 1, "college"),
    "talent_demand_coverage": ("graduates_listed_majors", "talent_demand", 100, "college"),
    "listed_major_graduate_share": ("graduates_listed_majors", "graduates", 100, "college"),
    "industrial_colleges": ("industrial_colleges", None, 1, "college"),
    "industrial_college_students": ("industrial_college_students", None, 1, "college"),
    "industrial_college_coverage": ("industrial_college_students", "students", 100, "college"),
    "certified_integration_enterprises": ("integration_certified", None, 1, "enterprise"),
    "apprentices_hosted": ("apprentices_hosted", None, 1, "enterprise"),
    "apprentices_per_100_employees": ("apprentices_hosted", "employees", 100, "enterprise"),
    "enterprise_education_investment": ("education_investment", None, 1, "enterprise"),
    "employees_upskilled": ("employees_upskilled", None, 1, "enterprise"),
    "employee_upskilling_rate": ("employees_upskilled", "employees", 100, "enterprise"),
    "enterprise_satisfaction": ("coop_satisfied", "coop_surveyed", 100, "enterprise"),
    "park_output": ("park_output", None, 1, "park"),
    "park_enterprises": ("park_enterprises", None, 1, "park"),
    "park_output_per_enterprise": ("park_output", "park_enterprises", 1, "park"),
    "park_hires_from_members": ("park_hires_from_members", None, 1, "park"),
}


@pytest.fixture(scope="module")
def ds():
    return evalkit.load(DATA)


@pytest.fixture(scope="module")
def table(ds):
    return metrics.compute(ds)


@pytest.fixture(scope="module")
def raw():
    return (pd.read_csv(DATA / "units.csv", dtype={"unit_id": str}, keep_default_na=False),
            pd.read_csv(DATA / "panel.csv"))


@pytest.mark.parametrize("ind", sorted(NEW))
def test_each_new_indicator_by_hand_from_the_csv(ind, table, raw):
    units, panel = raw
    num, den, scale, unit_type = NEW[ind]
    ids = set(units.loc[units["unit_type"] == unit_type, "unit_id"])
    rows = panel[panel["unit_id"].isin(ids)].set_index(["unit_id", "period"]).sort_index()
    n = rows[num].astype(float)
    if den is None:
        expected = scale * n
    else:
        d = rows[den].astype(float)
        expected = (scale * n / d).where(d != 0)
    got = table[table["indicator"] == ind].set_index(["unit_id", "period"])["value"].sort_index()
    assert len(got) == len(expected) > 0
    pd.testing.assert_series_equal(got, expected.reindex(got.index), check_names=False, rtol=1e-12)
    assert got.notna().any()


def test_new_indicators_aggregate_by_alliance_and_by_college_level(ds, raw):
    units, panel = raw
    window = {"p3": ("2025-07-01", "2026-06-30")}
    agg = metrics.aggregate(ds, by=["alliance", "college_level"], windows=window)
    for ind in NEW:
        groups = set(agg.loc[(agg["indicator"] == ind) & (agg["group_by"] == "alliance"), "group"])
        assert groups, ind
    # by hand: aligned ÷ majors at 2026H1 (stocks at the window's end), member colleges of new_materials
    members = units[(units["unit_type"] == "college") & (units["member_since"] != "")]
    ids = members.loc[members["alliance"] == "new_materials", "unit_id"]
    end = panel[panel["unit_id"].isin(ids) & (panel["period"] == "2026H1")]
    row = agg[(agg["group_by"] == "alliance") & (agg["group"] == "new_materials")
              & (agg["indicator"] == "major_industry_alignment")]
    assert row["value"].item() == pytest.approx(100 * end["majors_aligned"].sum() / end["majors"].sum())
    levels = agg.loc[(agg["group_by"] == "college_level") & (agg["indicator"] == "major_industry_alignment"), "group"]
    assert set(levels) == {"higher_vocational", "secondary", "technician"}


def test_new_variables_keep_the_schema_rules(raw):
    _, panel = raw
    for c in schema.PANEL_VARIABLES:
        if c.le and c.name in panel:
            assert (panel[c.name].fillna(0) <= panel[c.le].fillna(np.inf)).all(), c.name
    assert set(panel["integration_certified"].dropna()) <= {0, 1}


def test_college_level_default_and_the_seed_kinds(ds):
    u = ds.units.set_index("name_zh")
    assert u.loc["醴陵陶瓷烟花职业技术学校", "college_level"] == "secondary"
    assert u.loc["湖南工贸技师学院", "college_level"] == "technician"
    colleges = ds.units[ds.units["unit_type"] == "college"]
    assert colleges["college_level"].notna().all()
    assert ds.units.loc[ds.units["unit_type"] != "college", "college_level"].isna().all()
    frame = ds.units[["unit_id", "unit_type", "name_zh"]].head(3).assign(college_level=["", "", ""])
    one = evalkit.Dataset.from_frames(frame, ds.panel[ds.panel["unit_id"].isin(frame["unit_id"])][["unit_id", "period", "students"]])
    assert (one.units.loc[one.units["unit_type"] == "college", "college_level"] == "higher_vocational").all()


# ---------------------------------------------------------------------- the checklist and evidence
def test_checklist_items_are_data():
    items = load_checklist()
    assert len(items) >= 12
    for i in items:
        assert i.name_zh and i.name_en and i.scale in ("binary", "ordinal") and i.group in items.groups
    ids = set(items.ids)
    assert {"council_established", "council_met", "charter_adopted", "operating_entity", "mixed_ownership",
            "shared_platforms", "list_core_products", "list_tech_demand", "list_talent_demand", "lists_updated",
            "policy_finance", "policy_tax", "policy_land", "policy_credit"} <= ids
    assert items.get("operating_entity").scale == "ordinal" and items.get("council_established").veto_candidate


def _evidence_case(tmp_path: Path, rows: list[tuple]) -> Path:
    out = tmp_path / "case"
    out.mkdir()
    for name in ("units.csv", "panel.csv", "dataset.yaml"):
        (out / name).write_bytes((DATA / name).read_bytes())
    pd.DataFrame(rows, columns=[c.name for c in schema.EVIDENCE]).to_csv(out / "evidence.csv", index=False)
    return out


def test_evidence_validation(tmp_path):
    path = _evidence_case(tmp_path, [
        ("council_established", "", 1, "株产教联〔2023〕1号", "2023-12-05", ""),
        ("no_such_item", "", 1, "x", "2024-06-30", ""),
        ("charter_adopted", "", 1, "", "2024-06-30", ""),          # a claim without evidence
        ("council_met", "", 2, "x", "2024-06-30", ""),              # binary item: 2 is outside its scale
        ("operating_entity", "", 3, "x", "2027-01-01", ""),         # after the data's end
        ("shared_platforms", "NOPE", 1, "x", "2024-06-30", ""),     # unknown unit
    ])
    report = evalkit.validate(path)
    errors = {(p.row, p.rule.split(";")[0].split(":")[0]) for p in report.problems}
    assert (3, "unknown checklist item") in errors
    assert any(p.row == 5 and "status must be 0–1" in p.rule for p in report.problems)
    assert any(p.row == 6 and "after the end of the data" in p.rule for p in report.problems)
    assert any(p.row == 7 and "unknown unit" in p.rule for p in report.problems)
    assert any(p.row == 4 and "without evidence" in p.rule for p in report.warnings)
    assert not any(p.row == 4 for p in report.problems)


def test_shipped_evidence_is_loaded_fingerprinted_and_cut_as_of(ds, tmp_path):
    ev = ds.evidence
    assert ev is not None and len(ev) > 100
    assert set(ev["item_id"]) <= set(load_checklist().ids)
    assert schema.CONSORTIUM_UNIT in set(ev["unit_id"])
    claims_without = ev[(ev["status"] > 0) & ev["evidence_ref"].isna()]
    truth = json.loads((DATA / "truth.json").read_text(encoding="utf-8"))
    assert len(claims_without) == len(truth["evidence"]["claims_without_evidence"]) > 0
    assert sum("without evidence" in w.rule for w in ds.warnings) == len(claims_without)
    # the fingerprint covers the evidence file
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in DATA.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    frame = pd.read_csv(copy / "evidence.csv", dtype=str, keep_default_na=False)
    frame.loc[0, "note"] = "changed"
    frame.to_csv(copy / "evidence.csv", index=False)
    assert evalkit.load(copy).fingerprint != ds.fingerprint
    # the as-of cut: rows dated after the date are unknown
    as_of = date(2024, 12, 31)
    known = cut(ds, as_of).evidence
    assert (known["as_of"] <= pd.Timestamp(as_of)).all()
    assert len(known) == int((ev["as_of"] <= pd.Timestamp(as_of)).sum()) < len(ev)


def test_template_has_the_checklist_sheets_and_round_trips(tmp_path):
    from openpyxl import load_workbook

    path = write_template(tmp_path / "t.xlsx")
    book = load_workbook(path)
    assert SHEET_NAMES["evidence"] in book.sheetnames and ITEMS_SHEET in book.sheetnames
    items = book[ITEMS_SHEET]
    listed = {items.cell(r, 1).value for r in range(3, 3 + len(load_checklist()))}
    assert listed == set(load_checklist().ids)
    sheet = book[SHEET_NAMES["evidence"]]
    formulas = {dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert any(ITEMS_SHEET in f for f in formulas) and '"0,1,2,3"' in formulas
    book["单位 units"].append(["A", "college", "甲", None, None, None, None, None, None, "中职 secondary"])
    book["面板 panel"].append(["A", "2024", 10])
    sheet.append(["charter_adopted", None, 1, "章程.pdf", "2024-05-01", "示例"])
    book.save(path)
    loaded = evalkit.load(path)
    assert loaded.evidence[["item_id", "unit_id", "status"]].values.tolist() == [
        ["charter_adopted", "consortium", 1]]
    assert loaded.units["college_level"].tolist() == ["secondary"]


def test_metrics_list_names_the_new_indicators():
    out = subprocess.run([sys.executable, "-m", "evalkit.cli", "metrics", "--list"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    for ind in NEW:
        assert ind in out.stdout, ind


def test_truth_carries_the_new_sides_and_the_evidence():
    truth = json.loads((DATA / "truth.json").read_text(encoding="utf-8"))
    side = truth["yardstick"]
    for var in ("majors_aligned", "talent_demand", "graduates_listed_majors", "industrial_colleges",
                "integration_certified", "apprentices_hosted", "education_investment", "employees_upskilled",
                "coop_satisfied", "park_output", "park_enterprises", "park_hires_from_members"):
        assert "form" in side["variables"][var], var
    for ind, entry in side["indicators"].items():
        assert ind in NEW and entry["att_simple"] is not None and entry["att_gt"], ind
    assert side["indicators"]["major_industry_alignment"]["att_simple"] > 0
    ev = truth["evidence"]
    assert ev["paths"]["council_established@consortium"] == [{"from": "2023-12-05", "status": 1}]
    assert set(ev["veto_candidates"]) == {i.id for i in load_checklist() if i.veto_candidate}


def test_true_effects_are_the_potential_outcomes_difference():
    """truth's ATTs for the new indicators equal Y(1) − Y(0) computed from two generations."""
    on, off = synth.generate(20231205, graduates=False), synth.generate(20231205, graduates=False, effects=False)
    p1 = on.panel.set_index(["unit_id", "period"])
    p0 = off.panel.set_index(["unit_id", "period"])
    units = on.units
    members = units[(units["unit_type"] == "college") & (units["member_since"] != "")]["unit_id"]
    cells = p1.index.get_level_values("unit_id").isin(members)
    d = (100 * p1["majors_aligned"] / p1["majors"] - 100 * p0["majors_aligned"] / p0["majors"])[cells]
    post = d[d != 0]
    truth = on.truth["yardstick"]["indicators"]["major_industry_alignment"]
    n_post = sum(cell["n"] for cell in truth["att_gt"] if cell["t"] >= cell["cohort_t"])
    total = sum(cell["n"] * cell["att"] for cell in truth["att_gt"] if cell["t"] >= cell["cohort_t"])
    assert total / n_post == pytest.approx(truth["att_simple"])
    assert d.sum() == pytest.approx(total, rel=1e-9) and len(post) > 0
    # the other tables do not move with the new sides
    for col in ("students", "graduates_placed", "output_value"):
        assert p1[col].equals(synth.generate(20231205, graduates=False).panel.set_index(["unit_id", "period"])[col])

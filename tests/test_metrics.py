"""Indicator computation, aggregation and attainment.

Expected values are hand computations with plain pandas from the raw files (panel.csv,
units.csv, graduates.parquet) or from tiny fixtures written out here, never through
evalkit.metrics' own code path.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import metrics, schema
from evalkit.data.dataset import Dataset, load
from evalkit.errors import ChoiceError, DataError, RegistryError
from evalkit.indicators.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("EVALKIT_DEFAULT_DATA", ROOT / "data" / "zhuzhou_synthetic"))

# Windows used by the default-data tests and the periods (half-years) a reader assigns to them by
# the "overlaps most" rule: 2023H2 overlaps the phase (Aug–Dec) and not the baseline.
WINDOWS = {"baseline": ("2019-01-01", "2023-06-30"), "p1": ("2023-08-01", "2024-06-30"),
           "p2": ("2024-07-01", "2025-06-30")}
P1_PERIODS = ["2023H2", "2024H1"]
P2_PERIODS = ["2024H2", "2025H1"]


# --------------------------------------------------------------------------- fixtures


def _fixture(with_records: bool = True, records_for=("C1", "C2", "C3")) -> Dataset:
    units = pd.DataFrame({
        "unit_id": ["C1", "C2", "C3", "E1"], "unit_type": ["college"] * 3 + ["enterprise"],
        "name_zh": ["甲", "乙", "丙", "丁"], "alliance": ["rail_transit", "aerospace", "none", "rail_transit"],
        "member_since": ["2023-12-05", "2024-09-01", None, "2023-12-05"]})
    periods = ["2023H1", "2023H2", "2024H1", "2024H2"]
    rows = []
    for i, u in enumerate(units["unit_id"]):
        for k, p in enumerate(periods):
            r = {"unit_id": u, "period": p, **{c.name: np.nan for c in schema.PANEL_VARIABLES}}
            if u.startswith("C"):
                r.update(students=1000.0 + 10 * i + k, teachers=50.0 + i, dual_teachers=20.0 + i + k,
                         tech_service_income=5.0 + k, training_income=2.0,
                         graduates=4.0, graduates_placed=3.0, graduates_local=2.0, graduates_member_ent=1.0,
                         graduates_matched=2.0, income_respondents=2.0, income_sum=9000.0,
                         employer_surveyed=0.0, employer_satisfied=0.0)
            else:
                r.update(employees=100.0 + k, output_value=500.0)
            rows.append(r)
    panel = pd.DataFrame(rows)
    records = []
    for u in records_for:
        for p in periods:
            records += [
                dict(graduate_id=f"{u}{p}a", college_id=u, major="m", cohort=p, placed=1, local=1,
                     member_enterprise=1, job_match=1, income=4000.0),
                dict(graduate_id=f"{u}{p}b", college_id=u, major="m", cohort=p, placed=1, local=1,
                     member_enterprise=0, job_match=1, income=5000.0),
                dict(graduate_id=f"{u}{p}c", college_id=u, major="m", cohort=p, placed=1, local=0,
                     member_enterprise=0, job_match=0, income=None),
                dict(graduate_id=f"{u}{p}d", college_id=u, major="m", cohort=p, placed=0, local=None,
                     member_enterprise=None, job_match=None, income=None)]
    graduates = pd.DataFrame(records) if with_records else None
    return Dataset.from_frames(units, panel, graduates)


@pytest.fixture(scope="module")
def fixture() -> Dataset:
    return _fixture()


def _row(table, unit, period, indicator):
    hit = table[(table["unit_id"] == unit) & (table["period"] == period) & (table["indicator"] == indicator)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_compute_fixture_values(fixture):
    t = metrics.compute(fixture)
    assert list(t.columns) == metrics.TABLE_COLUMNS
    r = _row(t, "C2", "2024H1", "dual_teacher_ratio")  # dual 20+1+2, teachers 51
    assert (r["numerator"], r["denominator"], r["n"], r["t"]) == (23.0, 51.0, 51.0, 3)
    assert r["value"] == pytest.approx(100 * 23 / 51)
    r = _row(t, "C1", "2023H2", "social_service_income")  # expression tech + training = 6 + 2
    assert r["value"] == 8.0 and np.isnan(r["denominator"]) and np.isnan(r["n"])
    r = _row(t, "C3", "2024H2", "tech_service_income_per_100_teachers")  # per 100 teachers: 8 / 52 * 100
    assert r["value"] == pytest.approx(800 / 52)
    r = _row(t, "C1", "2023H1", "employer_satisfaction")  # 0 / 0 -> missing, not inf
    assert np.isnan(r["value"])
    r = _row(t, "E1", "2024H2", "output_per_employee")
    assert r["value"] == pytest.approx(500 / 103)
    # indicators only for their unit type
    assert set(t.loc[t["indicator"] == "member_enterprise_output", "unit_id"]) == {"E1"}
    assert "E1" not in set(t.loc[t["indicator"] == "students", "unit_id"])


def test_graduate_indicators_from_records_fixture(fixture):
    t = metrics.compute(fixture, source="graduates")
    # each cell: 4 graduates, 3 placed, 2 local, 1 member, 2 matched, 2 respondents with 4000 + 5000
    expect = {"graduate_destination_rate": 75.0, "local_retention_rate": 200 / 3,
              "member_enterprise_employment_rate": 100 / 3, "job_match_rate": 200 / 3, "income_6m": 4500.0}
    for ind, value in expect.items():
        r = _row(t, "C1", "2024H2", ind)
        assert r["value"] == pytest.approx(value) and r["source"] == "graduates"
    assert _row(t, "C1", "2024H2", "graduate_destination_rate")["n"] == 4
    assert _row(t, "C1", "2024H2", "job_match_rate")["n"] == 3
    assert _row(t, "C1", "2024H2", "income_6m")["n"] == 2
    # the fixture's panel carries the same counts: panel and records agree
    p = metrics.compute(fixture, source="panel")
    assert np.allclose(t["value"].to_numpy(), p["value"].to_numpy(), equal_nan=True)


def test_auto_uses_records_where_they_exist_and_panel_elsewhere():
    ds = _fixture(records_for=("C1",))
    panel = ds.panel.copy()
    panel.loc[panel["unit_id"] == "C1", "graduates_placed"] = 1.0  # the panel disagrees for C1
    ds = Dataset.from_frames(ds.units, panel, ds.graduates, strict=False)
    auto = metrics.compute(ds)
    assert _row(auto, "C1", "2024H1", "graduate_destination_rate")["value"] == 75.0  # records
    assert _row(auto, "C1", "2024H1", "graduate_destination_rate")["source"] == "graduates"
    assert _row(auto, "C2", "2024H1", "graduate_destination_rate")["value"] == 75.0  # panel 3/4
    assert _row(auto, "C2", "2024H1", "graduate_destination_rate")["source"] == "panel"
    assert _row(metrics.compute(ds, source="panel"), "C1", "2024H1", "graduate_destination_rate")["value"] == 25.0
    only = metrics.compute(ds, source="graduates")
    assert np.isnan(_row(only, "C2", "2024H1", "graduate_destination_rate")["value"])


def test_source_graduates_without_records_is_an_error():
    with pytest.raises(DataError, match="source='graduates'"):
        metrics.compute(_fixture(with_records=False), source="graduates")
    auto = metrics.compute(_fixture(with_records=False))
    assert set(auto["source"]) == {"panel"}


@pytest.mark.parametrize("call, message", [
    (lambda ds: metrics.compute(ds, source="records"),
     "source must be one of 'auto', 'graduates', 'panel'; got 'records'"),
    (lambda ds: metrics.compute(ds, engine="spark"), "engine must be one of 'auto', 'numpy', 'pandas'; got 'spark'"),
    (lambda ds: metrics.compute(ds, engine="duckdb"), "engine must be one of 'auto', 'numpy', 'pandas'; got 'duckdb'"),
    (lambda ds: metrics.graduate_flows(ds.graduates, engine="spark"),
     "engine must be one of 'auto', 'numpy', 'pandas'; got 'spark'"),
    (lambda ds: metrics.aggregate(ds, by="city"),
     "by must be one of 'unit', 'membership', 'alliance', 'college_level', 'consortium', 'all'; got 'city'"),
    (lambda ds: metrics.aggregate(ds, by=["unit", "city"]),
     "by must be one of 'unit', 'membership', 'alliance', 'college_level', 'consortium', 'all'; got 'city'"),
    (lambda ds: metrics.aggregate(ds, members="sometimes"),
     "members must be one of 'by_window_end', 'ever'; got 'sometimes'"),
    (lambda ds: metrics.aggregate(ds, flows="weekly"), "flows must be one of 'sum', 'per_year'; got 'weekly'"),
])
def test_bad_choices_are_clear_errors(fixture, call, message):
    with pytest.raises(ChoiceError, match="^" + re.escape(message) + "$"):
        call(fixture)


def test_aggregating_a_table_by_group_needs_the_units(fixture):
    with pytest.raises(ValueError, match="needs units="):
        metrics.aggregate(metrics.compute(fixture), by="membership")


def test_graduate_flows_fast_engine_equals_the_reference(fixture):
    reference = metrics.graduate_flows(fixture.graduates, engine="pandas")
    assert reference["graduates"].sum() == fixture.graduates.dropna(subset=["college_id", "cohort"]).shape[0]
    for engine in ("numpy", "auto"):
        got = metrics.graduate_flows(fixture.graduates, engine=engine)
        pd.testing.assert_frame_equal(got, reference, check_dtype=False)
    pd.testing.assert_frame_equal(fixture.graduate_flows(), reference, check_dtype=False)


def test_membership_is_by_window_end(fixture):
    windows = {"w23": ("2023-01-01", "2023-12-31"), "w24": ("2024-01-01", "2024-12-31")}
    a = metrics.aggregate(fixture, by="membership", windows=windows, flows="sum")
    sel = a[a["indicator"] == "students"].set_index(["window", "group"])
    # C1 joined 2023-12-05: a member in both windows; C2 joined 2024-09-01: in neither group in 2023
    # (not a never-member), a member in 2024; C3 never joined: comparison. Stocks at 2023H2 / 2024H2.
    assert sel.loc[("w23", "member"), "value"] == 1001.0
    assert sel.loc[("w23", "comparison"), "value"] == 1021.0
    assert sel.loc[("w24", "member"), "value"] == 1003.0 + 1013.0
    ever = metrics.aggregate(fixture, by="consortium", windows=windows, members="ever", flows="sum")
    sel = ever[ever["indicator"] == "students"].set_index("window")
    assert sel.loc["w23", "value"] == 1001.0 + 1011.0 and sel.loc["w23", "n_units"] == 2


def test_aggregate_accepts_the_table_with_units(fixture):
    table = metrics.compute(fixture)
    from_table = metrics.aggregate(table, by=["unit", "alliance"], units=fixture.units)
    from_dataset = metrics.aggregate(fixture, by=["unit", "alliance"])
    pd.testing.assert_frame_equal(from_table, from_dataset)


# --------------------------------------------------------------------------- attainment


def test_attainment_directions_shares_and_baseline():
    actual = {"dual_teacher_ratio": 62.0, "student_teacher_ratio": 16.0, "apprentices": np.nan}
    targets = {"dual_teacher_ratio": 60.0, "student_teacher_ratio": 18.0, "apprentices": 5000.0}
    baseline = {"dual_teacher_ratio": 50.0, "student_teacher_ratio": 20.0}
    out = metrics.attainment(actual, targets, baseline).set_index("indicator")
    assert out.loc["dual_teacher_ratio", "status"] == "attained"
    assert out.loc["dual_teacher_ratio", "share_of_target"] == pytest.approx(62 / 60)
    assert out.loc["dual_teacher_ratio", "change_abs"] == pytest.approx(12.0)
    assert out.loc["dual_teacher_ratio", "change_rel"] == pytest.approx(0.24)
    # lower is better: 16 <= 18 attained, share = target / actual
    assert out.loc["student_teacher_ratio", "status_zh"] == "达成"
    assert out.loc["student_teacher_ratio", "share_of_target"] == pytest.approx(18 / 16)
    assert out.loc["student_teacher_ratio", "change_rel"] == pytest.approx(-0.2)
    assert out.loc["apprentices", "status"] == "no_data" and out.loc["apprentices", "status_en"] == "no data"
    assert pd.isna(out.loc["apprentices", "attained"])
    missed = metrics.attainment({"student_teacher_ratio": 19.0}, {"student_teacher_ratio": 18.0})
    assert missed.loc[0, "status_zh"] == "未达成" and not missed.loc[0, "attained"]
    with pytest.raises(RegistryError, match="nope"):
        metrics.attainment({"nope": 1.0}, {"nope": 1.0})


def test_attainment_per_group_rows(fixture):
    windows = {"base": ("2023-01-01", "2023-06-30"), "p": ("2024-01-01", "2024-12-31")}
    agg = metrics.aggregate(fixture, by="all", windows=windows, flows="sum")
    out = metrics.attainment(agg[agg["window"] == "p"], {"students": 3000}, agg[agg["window"] == "base"])
    assert len(out) == 1 and out.loc[0, "group"] == "all"
    # students at 2024H2: 1003 + 1013 + 1023; baseline 2023H1: 1000 + 1010 + 1020
    assert out.loc[0, "actual"] == 3039 and out.loc[0, "baseline"] == 3030
    assert out.loc[0, "change_abs"] == 9 and out.loc[0, "status"] == "attained"


# --------------------------------------------------------------------------- the default data


@pytest.fixture(scope="module")
def raw():
    panel = pd.read_csv(DATA / "panel.csv", dtype={"unit_id": str, "period": str})
    units = pd.read_csv(DATA / "units.csv", dtype={"unit_id": str})
    graduates = pd.read_parquet(DATA / "graduates.parquet")
    return {"panel": panel, "units": units, "graduates": graduates}


@pytest.fixture(scope="module")
def default(raw):
    ds = load(DATA)
    table = metrics.compute(ds)
    return ds, metrics.aggregate(table, by=["unit", "membership", "alliance", "consortium"], windows=WINDOWS, flows="sum",
                                 units=ds.units), table


def _pick(agg, by, group, window, indicator):
    hit = agg[(agg["group_by"] == by) & (agg["group"] == group) & (agg["window"] == window)
              & (agg["indicator"] == indicator)]
    assert len(hit) == 1, (by, group, window, indicator)
    return hit.iloc[0]


def _colleges(raw):
    return raw["units"][raw["units"]["unit_type"] == "college"]


def _members_by(raw, end):
    u = _colleges(raw)
    return set(u.loc[pd.to_datetime(u["member_since"]) <= pd.Timestamp(end), "unit_id"])


def test_default_flow_is_summed_over_the_window(raw, default):
    _, agg, _ = default
    panel = raw["panel"]
    for unit in _colleges(raw)["unit_id"]:
        expect = panel.loc[(panel["unit_id"] == unit) & panel["period"].isin(P2_PERIODS), "tech_service_income"].sum()
        assert _pick(agg, "unit", unit, "p2", "tech_service_income")["value"] == pytest.approx(expect, rel=1e-12)
    members = _members_by(raw, "2025-06-30")
    expect = panel.loc[panel["unit_id"].isin(members) & panel["period"].isin(P2_PERIODS), "tech_service_income"].sum()
    got = _pick(agg, "membership", "member", "p2", "tech_service_income")
    assert got["value"] == pytest.approx(expect, rel=1e-12) and got["n_units"] == len(members)


def test_default_stock_is_taken_at_the_window_end(raw, default):
    _, agg, _ = default
    panel = raw["panel"]
    last = panel[panel["period"] == "2025H1"].set_index("unit_id")
    for unit in _colleges(raw)["unit_id"]:
        assert _pick(agg, "unit", unit, "p2", "dual_workshops")["value"] == last.loc[unit, "dual_workshops"]
    members = sorted(_members_by(raw, "2025-06-30"))
    assert "C09" not in members  # joined 2025-12: not yet a member in p2, and not a comparison unit
    assert _pick(agg, "consortium", "consortium", "p2", "dual_workshops")["value"] == \
        last.loc[members, "dual_workshops"].sum()
    comparison = _colleges(raw).loc[_colleges(raw)["member_since"].isna(), "unit_id"]
    assert _pick(agg, "membership", "comparison", "p2", "apprentices")["value"] == \
        last.loc[list(comparison), "apprentices"].sum()


def test_default_ratio_is_recomputed_from_sums(raw, default):
    _, agg, _ = default
    panel = raw["panel"]
    members = sorted(_members_by(raw, "2025-06-30"))
    last = panel[(panel["period"] == "2025H1") & panel["unit_id"].isin(members)]
    expect = 100 * last["dual_teachers"].sum() / last["teachers"].sum()
    assert _pick(agg, "membership", "member", "p2", "dual_teacher_ratio")["value"] == pytest.approx(expect, rel=1e-12)
    # flow over stock: technical-service income summed over the window and the members, per 100
    # teachers at the window's end
    flows = panel[panel["period"].isin(P2_PERIODS) & panel["unit_id"].isin(members)]["tech_service_income"].sum()
    expect = 100 * flows / last["teachers"].sum()
    got = _pick(agg, "membership", "member", "p2", "tech_service_income_per_100_teachers")["value"]
    assert got == pytest.approx(expect, rel=1e-12)
    mean_of_ratios = np.mean([_pick(agg, "unit", u, "p2", "tech_service_income_per_100_teachers")["value"]
                              for u in members])
    assert abs(got - mean_of_ratios) > 1e-6 * got  # the rule matters on this data


def test_default_per_capita_base(raw, default):
    _, agg, _ = default
    panel = raw["panel"]
    unit = "C01"
    inv = panel.loc[(panel["unit_id"] == unit) & panel["period"].isin(P1_PERIODS), "enterprise_investment"].sum()
    end = panel[(panel["unit_id"] == unit) & (panel["period"] == "2024H1")].iloc[0]
    got = _pick(agg, "unit", unit, "p1", "enterprise_investment_per_student")["value"]
    assert got == pytest.approx(10000 * inv / end["students"], rel=1e-12)  # 万元 -> 元 per student
    got = _pick(agg, "unit", unit, "p1", "parttime_teachers_per_100")["value"]
    assert got == pytest.approx(100 * end["enterprise_parttime_teachers"] / end["teachers"], rel=1e-12)


def test_default_group_aggregation_by_alliance_from_graduate_records(raw, default):
    _, agg, _ = default
    g = raw["graduates"]
    members = _members_by(raw, "2024-06-30")
    alliance = _colleges(raw).set_index("unit_id")["alliance"]
    g = g[g["cohort"].isin(P1_PERIODS) & g["college_id"].isin(members)]
    g = g.assign(alliance=g["college_id"].map(alliance))
    for name, part in g.groupby("alliance"):
        expect = 100 * part["placed"].sum() / len(part)
        got = _pick(agg, "alliance", name, "p1", "graduate_destination_rate")
        assert got["value"] == pytest.approx(expect, rel=1e-12) and got["n"] == len(part)
        placed = part[part["placed"] == 1]
        income = placed["income"].dropna()
        got = _pick(agg, "alliance", name, "p1", "income_6m")
        assert got["value"] == pytest.approx(income.mean(), rel=1e-12) and got["n"] == len(income)


def test_default_graduate_records_and_panel_give_the_same_indicators(raw, default):
    ds, _, auto = default
    by_records = metrics.compute(ds, source="graduates")
    by_panel = metrics.compute(ds, source="panel")
    keys = ["unit_id", "period", "indicator"]
    m = by_records.merge(by_panel, on=keys, suffixes=("_g", "_p"))
    m = m[m["source_g"] == "graduates"]
    assert len(m) > 0 and set(m["indicator"]) == {i.id for i in load_registry() if i.graduate_based}
    assert np.allclose(m["value_g"], m["value_p"], rtol=1e-12, equal_nan=True)
    assert np.allclose(m["n_g"], m["n_p"], rtol=0, equal_nan=True)
    assert np.allclose(auto["value"], by_panel["value"], rtol=1e-12, equal_nan=True)
    # and a hand count from the parquet file: job-major match among placed, C05 in 2024H1
    g = raw["graduates"]
    cell = g[(g["college_id"] == "C05") & (g["cohort"] == "2024H1") & (g["placed"] == 1)]
    row = _row(by_records, "C05", "2024H1", "job_match_rate")
    assert row["value"] == pytest.approx(100 * cell["job_match"].sum() / len(cell), rel=1e-12)
    # the fast graduate aggregation (the dataset's and compute's) equals the reference group-by
    reference = metrics.graduate_flows(ds.graduates, engine="pandas")
    pd.testing.assert_frame_equal(metrics.graduate_flows(ds.graduates, engine="numpy"), reference,
                                  check_dtype=False, rtol=1e-12)
    pd.testing.assert_frame_equal(ds.graduate_flows(), reference, check_dtype=False, rtol=1e-12)


# Seed figures (Zhuzhou Daily, 5 Dec 2023; /work/shared/seeds/BRIEF.md), all "over N":
SEED_BASELINE = {"students": 110_000, "teachers": 4_500, "graduates": 30_000, "dual_workshops": 91,
                 "national_productive_bases": 5, "vocational_groups": 11}


def test_default_consortium_baseline_matches_the_seed(raw, default):
    ds, _, table = default
    base = metrics.aggregate(table, by="consortium", windows={"b": ("2023-01-01", "2023-06-30")}, members="ever",
                             units=ds.units)
    value = base.set_index("indicator")["value"]
    assert value["dual_workshops"] == 91 and value["national_productive_bases"] == 5
    assert value["vocational_groups"] == 11
    for ind, floor in SEED_BASELINE.items():
        assert value[ind] >= floor, ind
    truth = DATA / "truth.json"
    calibration = json.loads(truth.read_text(encoding="utf-8"))["calibration"]
    reg = load_registry()
    single = {i.numerator[0][0]: i.id for i in reg if i.denominator is None and len(i.numerator) == 1
              and i.numerator[0][1] == 1 and i.unit_type == "college"}
    colleges = _colleges(raw)
    lead = colleges.loc[colleges["lead"] == 1, "unit_id"].item()
    checked = 0
    for key, spec in calibration.items():
        if key.startswith("_") or spec.get("units") not in ("member_colleges", "lead_college"):
            continue
        labels = spec["periods"]
        first, last = labels[0], labels[-1]
        window = {"c": (_start(first), _end(last))}
        by = "consortium" if spec["units"] == "member_colleges" else "unit"
        got = metrics.aggregate(table, by=by, windows=window, members="ever", units=ds.units, flows="sum")
        got = got[(got["indicator"] == single[spec["variable"]]) & (got["group"] == ("consortium" if by ==
                                                                                     "consortium" else lead))]
        assert got["value"].item() == pytest.approx(spec["target"], rel=max(spec["rel_tol"], 1e-12)), key
        checked += 1
    assert checked >= 10


def _start(label: str) -> str:
    from evalkit.data.periods import parse_period

    return parse_period(label).start.isoformat()


def _end(label: str) -> str:
    from evalkit.data.periods import parse_period

    return parse_period(label).end.isoformat()


def test_flows_per_year_annualise_flows_and_flow_over_stock_ratios():
    """A 3-half-year window's flow total divided by 1.5 years; rates (flow/flow) unchanged;
    flow-over-stock ratios (income per 100 teachers) annualised. Hand computation from panel.csv."""
    import pandas as pd
    from pathlib import Path

    from evalkit import metrics
    from evalkit.data import dataset

    root = Path(__file__).resolve().parents[1] / "data" / "zhuzhou_synthetic"
    ds = dataset.load(root)
    windows = {"p2": ("2024-01-01", "2025-06-30")}
    summed = metrics.aggregate(ds, by="unit", windows=windows, flows="sum")
    yearly = metrics.aggregate(ds, by="unit", windows=windows, flows="per_year")
    panel = pd.read_csv(root / "panel.csv")
    unit = ds.units.loc[ds.units["unit_type"] == "college", "unit_id"].iloc[0]
    rows = panel[(panel["unit_id"] == unit) & panel["period"].isin(["2024H1", "2024H2", "2025H1"])]

    def get(frame, ind):
        r = frame[(frame["group"] == unit) & (frame["indicator"] == ind)]
        return float(r["value"].iloc[0]), float(r["years"].iloc[0])

    total = rows["tech_service_income"].sum()
    assert get(summed, "tech_service_income")[0] == pytest.approx(total)
    value, years = get(yearly, "tech_service_income")
    assert years == 1.5 and value == pytest.approx(total / 1.5)
    teachers_end = rows.loc[rows["period"] == "2025H1", "teachers"].iloc[0]
    assert get(yearly, "tech_service_income_per_100_teachers")[0] == pytest.approx(100 * total / 1.5 / teachers_end)
    assert get(yearly, "graduate_destination_rate")[0] == pytest.approx(get(summed, "graduate_destination_rate")[0])

"""The seed-calibrated synthetic consortium: determinism, calibration to the seed article,
consistency of graduate records with the panel, the schema's rules, staggered joining, and the
true effects in truth.json checked against the generator's own potential outcomes."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import schema, synth
from evalkit.data.periods import assign_windows, parse_period, period_containing, to_date

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "zhuzhou_synthetic"
SEED = 20231205

# Figures of the seed article (株洲日报, 5 Dec 2023; English brief: ../shared/seeds/BRIEF.md):
# "over N" is a lower bound, exact figures are exact.
SEED_LOWER_BOUNDS = {"students": 110_000, "teachers": 4_500, "graduates": 30_000}
SEED_EXACT = {"dual_workshops": 91, "national_productive_bases": 5, "vocational_groups": 11,
              "integration_enterprises": 85}
LEAD_AT_FOUNDING = {"apprentices": 1148, "joint_research_teams": 12}


@pytest.fixture(scope="module")
def default() -> synth.SyntheticConsortium:
    return synth.generate(SEED)


def _members(units: pd.DataFrame, unit_type: str) -> pd.Series:
    return units.loc[(units["unit_type"] == unit_type) & (units["member_since"] != ""), "unit_id"]


def test_same_seed_writes_identical_bytes_and_another_seed_differs(tmp_path):
    a = synth.write_synthetic(tmp_path / "a", seed=SEED)
    b = synth.write_synthetic(tmp_path / "b", seed=SEED)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(["dataset.yaml", "units.csv", "panel.csv", "graduates.parquet", "partnerships.csv",
                            "evidence.csv", "truth.json", "README.md"])
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    other = synth.write_consortium(synth.generate(SEED + 1, graduates=False), tmp_path / "c")
    for name in ("panel.csv", "truth.json"):
        assert (other / name).read_bytes() != (a / name).read_bytes()


def test_every_file_says_synthetic(tmp_path):
    import yaml

    out = synth.write_consortium(synth.generate(7, scale=0.6, graduates=False), tmp_path / "s")
    meta = yaml.safe_load((out / "dataset.yaml").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and meta["frequency"] == "half" and meta["currency_unit"] == "万元"
    assert "合成数据" in meta["name_zh"] and "synthetic" in meta["name_en"]
    text = (out / "README.md").read_text(encoding="utf-8")
    assert "合成数据" in text and "SYNTHETIC DATA" in text
    assert "合成数据" in (out / "dataset.yaml").read_text(encoding="utf-8").splitlines()[0]


def test_default_is_zhuzhou_as_the_seed_describes(default):
    u = default.units
    colleges = u[u["unit_type"] == "college"]
    members = colleges[colleges["member_since"] != ""]
    assert len(members) == 9
    lead = colleges[colleges["lead"] == 1]
    assert lead["name_zh"].tolist() == ["湖南铁道职业技术学院"]
    for name in ("湖南汽车工程职业学院", "湖南铁路科技职业技术学院", "醴陵陶瓷烟花职业技术学校"):
        assert name in set(members["name_zh"])
    assert set(members["city"]) == {"株洲"}
    comparison = colleges[colleges["member_since"] == ""]
    assert len(comparison) == 6 and "株洲" not in set(comparison["city"])
    ents = u[u["unit_type"] == "enterprise"]
    assert (ents["member_since"] != "").sum() == 85 and (ents["member_since"] == "").sum() == 30
    assert ents.loc[ents["lead"] == 1, "name_zh"].tolist() == ["中车株洲电力机车有限公司"]
    assert "株洲硬质合金集团有限公司" in set(ents["name_zh"])
    assert set(ents.loc[ents["member_since"] != "", "alliance"]) == {"rail_transit", "aerospace", "beidou",
                                                                      "new_materials"}
    assert u.loc[u["unit_type"] == "park", "name_zh"].tolist() == ["株洲高新区"]
    ics = u[u["unit_type"] == "industrial_college"]
    assert len(ics) >= 2 and ics["parent_id"].isin(colleges["unit_id"]).all()
    assert set(u["unit_type"]) <= set(schema.UNIT_TYPES) and set(u["alliance"]) <= set(schema.ALLIANCES)
    assert list(u.columns) == [c.name for c in schema.UNITS]
    labels = default.truth["periods"]
    assert labels[0] == "2019H1" and labels[-1] == "2026H1" and len(labels) == 15


def test_calibration_to_the_seed(default):
    u, p = default.units, default.panel
    ids = _members(u, "college")
    base = p[p["unit_id"].isin(ids) & (p["period"] == "2023H1")]
    for var, low in SEED_LOWER_BOUNDS.items():
        total = base[var].sum()
        assert low < total <= low * 1.05, (var, total)
    for var, exact in SEED_EXACT.items():
        assert base[var].sum() == exact, var
    year = p[p["unit_id"].isin(ids) & p["period"].isin(["2022H2", "2023H1"])]["training_person_times"].sum()
    assert 200_000 < year <= 210_000
    lead = u.loc[(u["unit_type"] == "college") & (u["lead"] == 1), "unit_id"].item()
    lp = p[p["unit_id"] == lead].set_index("period")
    for var, value in LEAD_AT_FOUNDING.items():
        assert lp.loc["2023H2", var] == value, var
    assert lp.loc[["2023H1", "2023H2"], "productive_base_output"].sum() == pytest.approx(15_000, abs=0.01)
    founding_and_before = [lab for lab in default.truth["periods"] if lab <= "2023H2"]
    assert lp.loc[founding_and_before, "field_engineers_trained"].sum() == 346
    assert lp.loc[founding_and_before, "textbooks_codeveloped"].sum() > 200


def test_truth_calibration_items_hold(default):
    """Every calibration item of truth.json holds in the tables (computed here, not by the generator)."""
    u, p = default.units, default.panel
    items = {k: v for k, v in default.truth["calibration"].items() if not k.startswith("_")}
    assert len(items) >= 12
    for key, item in items.items():
        if item["units"] == "member_enterprises":
            got = len(_members(u, "enterprise"))
        else:
            ids = (_members(u, "college") if item["units"] == "member_colleges" else
                   u.loc[(u["unit_type"] == "college") & (u["lead"] == 1), "unit_id"])
            got = p.loc[p["unit_id"].isin(ids) & p["period"].isin(item["periods"]), item["variable"]].sum()
        assert abs(float(got) - item["target"]) <= item["rel_tol"] * item["target"] + 0.01, (key, got)


def test_graduate_records_aggregate_exactly_to_the_panel(default):
    g = default.graduates
    assert g["graduate_id"].is_unique and g["graduate_id"].str.fullmatch(r"G\d+").all()
    assert list(g.columns) == [c.name for c in schema.GRADUATES]
    placed = g["placed"] == 1
    assert not ((g["local"] == 1) & ~placed).any() and g.loc[~placed, "income"].isna().all()
    assert (g["income"].dropna() % 1 == 0).all()
    agg = g.assign(graduates=1, graduates_placed=g["placed"], graduates_local=g["local"],
                   graduates_member_ent=g["member_enterprise"], graduates_matched=g["job_match"],
                   income_respondents=g["income"].notna().astype(int), income_sum=g["income"].fillna(0)) \
        .groupby(["college_id", "cohort"])[list(schema.GRADUATE_FLOWS)].sum()
    panel = default.panel.set_index(["unit_id", "period"])
    colleges = default.units.loc[default.units["unit_type"] == "college", "unit_id"]
    flows = panel.loc[panel.index.get_level_values(0).isin(colleges), list(schema.GRADUATE_FLOWS)]
    with_grads = flows[flows["graduates"] > 0]
    agg.index.names = ["unit_id", "period"]
    assert len(with_grads) == len(agg)
    joined = with_grads.astype("float64").merge(agg.astype("float64"), left_index=True, right_index=True,
                                                suffixes=("", "_rec"))
    for col in schema.GRADUATE_FLOWS:
        assert (joined[col] == joined[f"{col}_rec"]).all(), col
    # June cohort: graduates only in H1, flows zero in H2
    assert set(g["cohort"].str[-2:]) == {"H1"}
    h2 = flows[flows.index.get_level_values(1).str.endswith("H2")]
    assert (h2.to_numpy(dtype=float) == 0).all()


def test_every_le_rule_holds(default):
    p = default.panel
    for spec in schema.PANEL_VARIABLES:
        if spec.le:
            both = p[[spec.name, spec.le]].dropna().astype("float64")
            assert (both[spec.name] <= both[spec.le]).all(), spec.name
    for spec in schema.GRADUATES:
        if spec.le:
            assert (default.graduates[spec.name] <= default.graduates[spec.le]).all(), spec.name
    num = p[list(schema.PANEL_VARIABLE_NAMES)].astype("float64")
    assert (num.fillna(0) >= 0).all().all()
    assert p[["unit_id", "period"]].drop_duplicates().shape[0] == len(p)
    assert list(p.columns) == [c.name for c in schema.PANEL_KEYS + schema.PANEL_VARIABLES]


def test_members_join_in_staggered_cohorts_across_three_phases(default):
    u = default.units
    periods = [parse_period(lab) for lab in default.truth["periods"]]
    windows = {k: (to_date(a), to_date(b)) for k, (a, b) in default.truth["phases"].items()}
    phase_of = assign_windows(periods, windows)
    since = u.loc[u["member_since"] != "", "member_since"].map(to_date)
    assert since.between(periods[0].start, periods[-1].end).all()
    cohorts = {period_containing(d, "half") for d in since}
    assert len(cohorts) >= 3
    assert {phase_of[c] for c in cohorts} == {"phase1", "phase2", "phase3"}
    for unit_type in ("college", "enterprise"):
        dates = u.loc[(u["unit_type"] == unit_type) & (u["member_since"] != ""), "member_since"].map(to_date)
        assert len({period_containing(d, "half") for d in dates}) >= 3, unit_type
    lead = u.loc[(u["unit_type"] == "college") & (u["lead"] == 1), "member_since"].item()
    assert to_date(lead) == date(2023, 12, 5)


@pytest.mark.parametrize("var,per", [("shared_bases", None), ("dual_workshops", None),
                                     ("joint_research_teams", None), ("apprentices", "students"),
                                     ("order_class_students", "students"),
                                     ("enterprise_parttime_teachers", "teachers"),
                                     ("courses_codeveloped", None), ("enterprise_investment", None)])
def test_inputs_rise_after_joining(default, var, per):
    u, p = default.units, default.panel
    colleges = u[u["unit_type"] == "college"].set_index("unit_id")
    t_of = {lab: i + 1 for i, lab in enumerate(default.truth["periods"])}
    founding = t_of["2023H2"]
    x = p[p["unit_id"].isin(colleges.index)].copy()
    x["x"] = x[var].astype("float64") / (x[per].astype("float64") if per else 1.0)
    x["t"] = x["period"].map(t_of)
    start = {uid: (t_of[period_containing(to_date(s), "half").label] if s else founding)
             for uid, s in colleges["member_since"].items()}
    x["post"] = x["t"] >= x["unit_id"].map(start)
    change = x.groupby(["unit_id", "post"])["x"].mean().unstack()
    change = (change[True] - change[False]) / change[False].abs().clip(lower=1e-9)
    member = colleges["member_since"] != ""
    assert change[member[member].index].mean() > change[member[~member].index].mean() + 0.05


def _y(panel: pd.DataFrame, expr: str) -> pd.Series:
    return panel.eval(expr).astype("float64")


def test_true_att_equals_the_generators_potential_outcomes():
    """Regenerate the same world with membership effects off (same noise draws): the mean of
    y(1) - y(0) over each cohort is the truth's ATT(g, t)."""
    treated = synth.generate(11, scale=0.6, n_comparison_colleges=3, n_nonmember_enterprises=8)
    untreated = synth.generate(11, scale=0.6, n_comparison_colleges=3, n_nonmember_enterprises=8, effects=False)
    pd.testing.assert_frame_equal(treated.units, untreated.units)
    for oid, o in treated.truth["outcomes"].items():
        u = treated.units[treated.units["unit_type"] == o["unit_type"]]
        p1 = treated.panel[treated.panel["unit_id"].isin(u["unit_id"])].reset_index(drop=True)
        p0 = untreated.panel[untreated.panel["unit_id"].isin(u["unit_id"])].reset_index(drop=True)
        y1, y0 = _y(p1, o["variables"]["y"]), _y(p0, o["variables"]["y"])
        cohort_t = {r["cohort"]: r["cohort_t"] for r in o["att_gt"]}
        g_of = u.set_index("unit_id")["member_since"].map(
            lambda s: period_containing(to_date(s), "half").label if s else "")
        diff = pd.DataFrame({"cohort": p1["unit_id"].map(g_of), "time": p1["period"], "d": y1 - y0,
                             "n": p1["graduates"] if o["observed_periods"] == "H1" else 1})
        means = diff.groupby(["cohort", "time"])["d"].mean()
        for row in o["att_gt"]:
            got = means[(row["cohort"], row["time"])]
            if row["t"] < row["cohort_t"]:
                assert got == pytest.approx(0, abs=1e-9), (oid, row)
            elif o["observed_periods"] == "all":
                assert got == pytest.approx(row["att"], abs=0.01), (oid, row)  # amounts rounded to 0.01
            else:  # graduates drawn one by one: binomial (or income) sampling around the expectation
                n = diff[(diff["cohort"] == row["cohort"]) & (diff["time"] == row["time"])]["n"].sum()
                sd = 900 * np.sqrt(2 / (0.6 * n)) if oid == "income" else 100 * np.sqrt(0.25 / n) * 2
                assert abs(got - row["att"]) < 4 * sd + 1e-9, (oid, row, got)
        assert set(cohort_t) >= {"2023H2", "2024H1", "2025H2"}
        # never-members are untouched
        never = (diff["cohort"] == "") & diff["d"].notna()  # H2 graduate ratios are 0/0
        assert never.sum() > 0 and (diff.loc[never, "d"].abs() < 1e-9).all(), oid


def test_att_aggregations_follow_r_did_conventions(default):
    o = default.truth["outcomes"]["tech_service"]
    cells = [r for r in o["att_gt"] if r["t"] >= r["cohort_t"]]
    simple = sum(r["n"] * r["att"] for r in cells) / sum(r["n"] for r in cells)
    assert o["att_simple"] == pytest.approx(simple, rel=1e-7)
    by_e: dict[int, list] = {}
    for r in o["att_gt"]:
        by_e.setdefault(r["t"] - r["cohort_t"], []).append(r)
    for e, rows in by_e.items():
        dyn = sum(r["n"] * r["att"] for r in rows) / sum(r["n"] for r in rows)
        assert o["att_dynamic"][str(e)] == pytest.approx(dyn, rel=1e-7)
    # first-period effect of the founders, from the documented parametrisation:
    # h * tau * 1/3 + beta_jrt * round(4 * 1/4) + beta_dw * round(4 * 1/4)
    founders = [r for r in o["att_gt"] if r["cohort"] == "2023H2" and r["time"] == "2023H2"][0]
    assert founders["att"] == pytest.approx(1.2 * 12 / 3 + 3.0 * 1 + 1.0 * 1)
    assert default.truth["outcomes"]["employer_satisfaction"]["att_simple"] == 0


def test_clean_twfe_specification_recovers_input_effects():
    """The truth's 'clean' specification (unit, period and cohort×event-time effects) recovers the
    input effects on average over seeds; plain unit+period TWFE does not (membership loads on inputs)."""
    beta = synth.sm.OUTCOMES_BY_ID["tech_service"].betas
    clean, naive = [], []
    for seed in range(16):
        c = synth.generate(500 + seed, graduates=False, n_comparison_colleges=10)
        colleges = c.units[c.units["unit_type"] == "college"]
        t_of = {lab: i + 1 for i, lab in enumerate(c.truth["periods"])}
        g = colleges.set_index("unit_id")["member_since"].map(
            lambda s: t_of[period_containing(to_date(s), "half").label] if s else 0)
        p = c.panel[c.panel["unit_id"].isin(colleges["unit_id"])].copy()
        p["t"], p["g"] = p["period"].map(t_of), p["unit_id"].map(g)
        p["y"] = _y(p, "tech_service_income / teachers * 100")
        post = (p["g"] > 0) & (p["t"] >= p["g"])
        p["cohort_event"] = np.where(post, p["g"].astype(str) + ":" + (p["t"] - p["g"]).astype(str), "none")
        x = p[list(beta)].astype("float64")
        fe = pd.get_dummies(p[["unit_id", "period"]], drop_first=True, dtype=float)
        ce = pd.get_dummies(p["cohort_event"], dtype=float).drop(columns="none")
        for terms, store in ((pd.concat([x, fe, ce], axis=1), clean), (pd.concat([x, fe], axis=1), naive)):
            design = np.column_stack([np.ones(len(p)), terms.to_numpy()])
            coef = np.linalg.lstsq(design, p["y"].to_numpy(), rcond=None)[0]
            store.append(coef[1:1 + len(beta)])
    clean, naive = np.array(clean), np.array(naive)
    se = clean.std(axis=0, ddof=1) / np.sqrt(len(clean))
    assert np.all(np.abs(clean.mean(axis=0) - np.array(list(beta.values()))) < 4 * se)
    assert naive.mean(axis=0)[0] > list(beta.values())[0] + 4 * se[0]


def test_fast_path_panel_equals_full_panel():
    fast = synth.generate(3, graduates=False)
    full = synth.generate(3)
    assert fast.graduates is None
    pd.testing.assert_frame_equal(fast.panel, full.panel)
    assert fast.truth == full.truth


def test_write_many_writes_varied_consortia_and_a_manifest(tmp_path):
    import yaml

    manifest = synth.write_many(tmp_path / "many", n=3, seed=5)
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    assert data["synthetic"] is True and "params" in data
    entries = data["consortia"]
    assert len(entries) == 3 and len({e["id"] for e in entries}) == 3
    sizes, cities = set(), set()
    for e in entries:
        folder = manifest.parent / e["data"]
        assert (folder / "panel.csv").exists() and (folder / "truth.json").exists()
        units = pd.read_csv(folder / "units.csv", keep_default_na=False)
        sizes.add(len(units))
        meta = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
        cities.add(meta["city"])
        assert meta["synthetic"] is True and "株洲" not in meta["name_zh"]
    assert len(sizes) == 3 and len(cities) == 3


def test_shipped_folder_is_the_generators_output(tmp_path):
    fresh = synth.write_synthetic(tmp_path / "fresh", seed=SEED)
    for path in fresh.iterdir():
        assert (SHIPPED / path.name).read_bytes() == path.read_bytes(), \
            f"{path.name} differs: run `evalkit synth --out data/zhuzhou_synthetic --seed {SEED}`"
    truth = json.loads((SHIPPED / "truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == SEED and truth["frequency"] == "half"


def test_shipped_folder_loads_without_errors():
    from evalkit.data import dataset

    ds = dataset.load(SHIPPED)
    assert len(ds.units) > 100 and len(ds.panel) == len(ds.units) * 15


def test_write_many_folders_load_without_errors(tmp_path):
    from evalkit.data import dataset

    import yaml

    manifest = synth.write_many(tmp_path / "many", n=2, seed=9, graduates=True)
    for entry in yaml.safe_load(manifest.read_text(encoding="utf-8"))["consortia"]:
        ds = dataset.load(manifest.parent / entry["data"])
        assert ds.graduates is not None and len(ds.panel) == len(ds.units) * 15


def test_member_enterprises_hires_match_member_colleges_graduates(default):
    """hires_from_members of roster enterprises add up to the member colleges' graduates_member_ent."""
    u, p = default.units, default.panel
    hires = p[p["unit_id"].isin(_members(u, "enterprise"))].groupby("period")["hires_from_members"].sum()
    grads = p[p["unit_id"].isin(_members(u, "college"))].groupby("period")["graduates_member_ent"].sum()
    pd.testing.assert_series_equal(hires.astype("int64"), grads.astype("int64"), check_names=False)


def test_scale_changes_the_size_and_the_calibration_follows():
    small = synth.generate(4, scale=0.5, graduates=False)
    colleges = _members(small.units, "college")
    assert len(colleges) == 5 and len(_members(small.units, "enterprise")) == 42
    target = small.truth["calibration"]["member_colleges_students"]["target"]
    assert target == round(112_000 * 5 / 9)
    got = small.panel.loc[small.panel["unit_id"].isin(colleges) & (small.panel["period"] == "2023H1"), "students"]
    assert got.sum() == target
    with pytest.raises(ValueError, match="scale"):
        synth.generate(1, scale=0)

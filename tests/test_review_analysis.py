"""The review is right in time, tells one story and says only what ran (issues 9 and 10).

Rendered with ``PhaseReview(..., sink=[])`` (no kernel): every section runs and every table it
shows is recorded for results.json, exactly as in the notebook.
"""
from __future__ import annotations

import html as htmllib
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evalkit.errors import ParamsError
from evalkit.review.analysis import PhaseAnalysis
from evalkit.review.methods import CHOICES, Methods
from evalkit.review.report import PhaseReview
from evalkit.review.sections import fmt_completion

from conftest import DATA, ROOT, all_markup
from conftest import FAST_METHODS as FAST
from conftest import render_review as render


def comparable(results: dict) -> dict:
    """results.json without what legitimately differs between two runs on the same facts."""
    out = json.loads(json.dumps(results, default=str))
    out["tables"].pop("provenance", None)
    out.pop("provenance", None)
    return out


# ---------------------------------------------------------------------- as-of discipline
def cut_by_hand(src: Path, dst: Path, as_of: date) -> Path:
    """The data folder as it stood on ``as_of``, cut with pandas on the files themselves (a second
    implementation of the rule in evalkit.review.asof)."""
    shutil.copytree(src, dst)
    halves = lambda label: date(int(label[:4]), 6, 30) if label.endswith("H1") else date(int(label[:4]), 12, 31)  # noqa: E731
    panel = pd.read_csv(dst / "panel.csv", dtype=str, keep_default_na=False)
    panel = panel[[halves(p) <= as_of for p in panel["period"]]]
    panel.to_csv(dst / "panel.csv", index=False)
    units = pd.read_csv(dst / "units.csv", dtype=str, keep_default_na=False)
    units.loc[[bool(s) and date.fromisoformat(s) > as_of for s in units["member_since"]], "member_since"] = ""
    units.to_csv(dst / "units.csv", index=False)
    part = pd.read_csv(dst / "partnerships.csv", dtype=str, keep_default_na=False)
    part = part[[date.fromisoformat(s) <= as_of for s in part["start_date"]]].copy()
    part.loc[[bool(s) and date.fromisoformat(s) > as_of for s in part["end_date"]], "end_date"] = ""
    part.to_csv(dst / "partnerships.csv", index=False)
    grads = pd.read_parquet(dst / "graduates.parquet")
    grads[[halves(c) <= as_of for c in grads["cohort"]]].to_parquet(dst / "graduates.parquet", index=False)
    if (dst / "evidence.csv").exists():  # checklist evidence dated after the as-of date is unknown
        ev = pd.read_csv(dst / "evidence.csv", dtype=str, keep_default_na=False)
        ev[[date.fromisoformat(s) <= as_of for s in ev["as_of"]]].to_csv(dst / "evidence.csv", index=False)
    meta = (dst / "dataset.yaml").read_text(encoding="utf-8")
    last = max(panel["period"], key=lambda p: (p[:4], p[-1]))
    (dst / "dataset.yaml").write_text(meta.replace("last_period: 2026H1", f"last_period: {last}"), encoding="utf-8")
    return dst


@pytest.mark.parametrize("phase", ["phase1", "phase2"])
def test_cutting_the_files_by_hand_gives_the_same_review(phase, tmp_path, rendered_reviews):
    params = ROOT / "params" / f"{phase}.yaml"
    full = rendered_reviews(phase)
    as_of = full.analysis.as_of
    assert full.analysis.dataset.periods[-1].end <= as_of  # nothing after the window's end was used
    by_hand = render(params, data_dir=cut_by_hand(DATA, tmp_path / "cut", as_of))
    assert comparable(full.results()) == comparable(by_hand.results())


def test_a_phase_review_uses_no_period_after_its_end():
    a = PhaseReview.open(ROOT / "params" / "phase1.yaml", methods=FAST).analysis
    assert a.as_of == date(2023, 12, 31)
    assert a.dataset.periods[-1].label == "2023H2"
    assert int(a.table["period"].astype(str).str[:4].astype(int).max()) == 2023
    ccd_years = [int(y) for y in a.ccd["period"]]
    assert max(ccd_years) == 2023
    # units joining after the as-of date are not members yet
    joined_later = a.units[a.units["unit_id"].isin(["C04", "C09"])]
    assert not joined_later["member"].any()


def test_reporting_lag_moves_the_as_of_date(tmp_path):
    raw = yaml.safe_load((ROOT / "params" / "phase1.yaml").read_text(encoding="utf-8"))
    raw["reporting_lag_days"] = 200
    raw["data"] = str(DATA)
    (tmp_path / "phase1.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    a = PhaseReview.open(tmp_path / "phase1.yaml", methods=FAST).analysis
    assert a.as_of == date(2024, 7, 18)
    assert a.dataset.periods[-1].label == "2024H1"


# ---------------------------------------------------------------------- one story
@pytest.fixture(scope="module")
def phase3_and_final(rendered_reviews):
    return rendered_reviews("phase3"), rendered_reviews("final")


def test_phase3_and_final_agree_on_every_shared_quantity(phase3_and_final):
    p3, fin = (r.results() for r in phase3_and_final)
    assert p3["as_of"] == fin["as_of"]
    key = lambda t: (t["indicator"], t["basis"], t["period_start"], t["period_end"])  # noqa: E731
    shared = {key(t): t for t in p3["targets"]}.keys() & {key(t): t for t in fin["targets"]}.keys()
    assert len(shared) >= 6
    a = {key(t): t for t in p3["targets"]}
    b = {key(t): t for t in fin["targets"]}
    for k in shared:
        for field in ("actual", "baseline", "attained"):
            assert a[k][field] == b[k][field], (k, field)
    # the same data as of the same date: the same coupling and the same membership effects
    for table in ("coupling", "did_tech_service_income_per_100_teachers", "did_local_retention_rate", "coverage", "units"):
        assert p3["tables"][table] == fin["tables"][table], table


ESTIMATORS = ("composite", "ccd", "per_year", "twfe", "did", "randomization", "leave_one_out", "synthetic", "sensitivity")


@pytest.fixture(scope="module")
def cold_final():
    """A final review rendered with nothing cached, recording every call to ``aggregate`` and to
    each estimator, and every attribute it reads of the phases it compares."""
    import dataclasses

    import evalkit.indicators.metrics as metrics
    import evalkit.review.estimates as est
    from evalkit.review.cache import ResultCache

    calls: list[tuple] = []
    read: set[str] = set()

    def recorded(name, func):
        def call(*args, **kw):
            if name == "aggregate":  # the indicators aggregated and every setting
                inds = tuple(sorted(pd.unique(args[0]["indicator"].astype(str))))
                calls.append((name, inds, repr(sorted(kw.items(), key=lambda kv: kv[0]))))
            else:  # an estimate of one analysis: its name and outcome
                calls.append((name, *[x for x in args[1:] if isinstance(x, str)]))
            return func(*args, **kw)

        return call

    class ReadRecorder:
        def __init__(self, phase):
            self._phase = phase

        def __getattr__(self, name):
            read.add(name)
            return getattr(self._phase, name)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(metrics, "aggregate", recorded("aggregate", metrics.aggregate))
        for name in ESTIMATORS:
            mp.setattr(est, name, recorded(name, getattr(est, name)))
        a = PhaseReview.open(ROOT / "params" / "final.yaml", methods=FAST).analysis
        compared = {pid: ReadRecorder(ph) for pid, ph in a.compared.items()}
        review = PhaseReview(dataclasses.replace(a, cache=ResultCache(None), compared=compared), sink=[])
        review.render_all()
    return calls, read


def test_a_review_computes_each_estimate_and_aggregation_once(cold_final):
    """Compute once per review (issue 15): no section estimates or aggregates what another
    already did (the final review's phase table and its verdict once aggregated the same
    windows twice)."""
    calls, _ = cold_final
    kinds = {c[0] for c in calls}
    assert {"aggregate", "composite", "ccd", "per_year", "twfe", "did", "randomization"} <= kinds
    assert len([c for c in calls if c[0] == "aggregate"]) >= 4  # window values, targets, series, phases
    assert len(set(calls)) == len(calls), sorted(c for c in set(calls) if calls.count(c) > 1)


def test_a_final_review_reads_of_the_compared_phases_only_what_its_reuse_key_holds(cold_final):
    """Its reuse key holds the compared phases' ``COMPARED_READS`` (review/plan.py), not their
    params files: reading anything else of them would let a review be reused after it changed."""
    from evalkit.review.plan import COMPARED_READS

    _, read = cold_final
    assert "window" in read and read <= set(COMPARED_READS), read - set(COMPARED_READS)


def test_status_and_completion_never_disagree(phase3_and_final):
    for review in phase3_and_final:
        for t in review.results()["targets"]:
            if t["attained"] is None:
                continue
            ratio = t["actual"] / t["target"] if t["direction"] == 1 else t["target"] / t["actual"]
            assert t["attained"] == (ratio >= 1)
            shown = fmt_completion(t["attained"], t["completion"])
            assert (float(shown.rstrip("%")) >= 100) == t["attained"]
    assert fmt_completion(False, 0.99956) == "99.9%" and fmt_completion(True, 1.0) == "100.0%"


def test_rates_change_in_points_and_persons_stay_whole(phase3_and_final):
    review = phase3_and_final[0]
    reg = review.registry
    for t in review.results()["targets"]:
        ind = reg.get(t["indicator"])
        if ind.unit == "%":
            assert t["change_unit"] == "pp"
            assert t["change"] == pytest.approx(t["actual"] - t["baseline"])
        if t["count"]:
            assert float(t["actual"]).is_integer() and float(t["baseline"]).is_integer()
    html = "".join(review.page.sink)
    assert "个百分点" in html


def test_data_quality_counts_what_is_missing(phase3_and_final):
    review = phase3_and_final[0]
    cov = review.analysis.coverage
    grad = cov[cov["indicator"] == "local_retention_rate"].iloc[0]
    # graduate indicators: only first half-years have graduates; the others are not applicable
    assert grad["not_applicable"] > 0 and grad["reported"] + grad["not_applicable"] + grad["missing"] == grad["cells"]
    assert "均有数据" not in "".join(review.page.sink)


def test_findings_lead_with_the_interval_and_name_the_design_caveats(phase3_and_final):
    html = "".join(phase3_and_final[0].page.sink)
    assert "95% 置信区间" in html
    # 15 clusters: a significance claim only where randomization inference decides it
    import re

    for sentence in re.split(r"[。<]", html):
        if "显著" in sentence and "不作显著性判断" not in sentence:
            assert "随机化推断" in sentence and "p = " in sentence, sentence
    assert "全市范围的冲击" in html  # members all in Zhuzhou, comparison all elsewhere


def test_the_input_regression_is_in_the_annex_only(phase3_and_final):
    html = "".join(phase3_and_final[0].page.sink)
    annex = html.index("技术附录")
    assert html.index("双向固定效应") > annex


def test_every_resampled_p_value_and_interval_states_its_monte_carlo_error(phase3_and_final):
    """Randomization p (in its table), wild-bootstrap p (999 draws, SE at most √(.25/999)) and the
    composite rank intervals (coverage SE √(.05·.95/R)) each carry their Monte Carlo error."""
    import re

    html = all_markup(phase3_and_final[0])
    assert "蒙特卡洛标准误" in html
    wild = re.search(r"野聚类自助 p 值（WCR11，evalkit 的实现[^）]*）来自 (\d+) 次抽样.*?最大为 ([0-9.]+)", html)
    assert wild and int(wild.group(1)) == 999 and 0 < float(wild.group(2)) <= np.sqrt(0.25 / 999) + 5e-4
    runs = phase3_and_final[0].methods.uncertainty_runs
    assert f"√(0.05×0.95/{runs}) = {np.sqrt(0.0475 / runs):.3f}" in html


# ---------------------------------------------------------------------- says what ran
def test_the_did_method_note_names_the_code_that_estimated_it(monkeypatch):
    """Without covariates or bootstrap the review's DiD comes from evalkit's numpy path; forced
    through csdid (the route for covariates, bootstrap, unusual panels) the note says csdid."""
    from evalkit.models import did_fast

    def note(a):
        review = PhaseReview(a, sink=[])
        review.appendix()  # the methods notes
        text = htmllib.unescape("".join(review.page.sink))
        return a.methods_ran()["did_engine"], text

    ran, text = note(PhaseReview.open(ROOT / "params" / "phase3.yaml", methods=FAST).analysis)
    assert ran == ["evalkit"]
    assert "Callaway–Sant'Anna（evalkit 的实现" in text and "（csdid；" not in text
    monkeypatch.setattr(did_fast, "fit", lambda *a, **k: None)
    ran, text = note(PhaseReview.open(ROOT / "params" / "phase3.yaml", methods={**FAST, "seed": 7}).analysis)
    assert ran == ["csdid"]
    assert "Callaway–Sant'Anna（csdid；" in text and "evalkit 的实现" not in text


def test_the_twfe_annex_names_the_code_that_estimated_it(monkeypatch):
    """The annex's TWFE comes from evalkit's fixed-effects least squares (no pyfixest in the
    kernel); when evalkit declines a design, pyfixest and wildboottest fit it and the note says so."""
    from evalkit.models import absorbed

    monkeypatch.setenv("EVALKIT_CACHE", "off")  # estimates from other tests' cache would hide the route

    def annex(a):
        review = PhaseReview(a, sink=[])
        review.annex()
        return a.methods_ran()["twfe_engine"], htmllib.unescape("".join(review.page.sink))

    a = PhaseReview.open(ROOT / "params" / "phase3.yaml", methods=FAST).analysis
    ran, text = annex(a)
    assert ran == ["evalkit"]
    assert "（WCR11，evalkit 的实现，抽样与 wildboottest 相同）" in text and "不计为超过" in text
    monkeypatch.setattr(absorbed, "design", lambda *a, **k: (None, "declined for the test"))
    ran, text = annex(a.with_methods(seed=a.methods.seed + 1))  # a fresh analysis: its TWFE fitted again
    assert ran == ["pyfixest"]
    assert "（WCR11，pyfixest 与 wildboottest）" in text and "evalkit 的实现" not in text
    assert "由 wildboottest 的浮点比较决定" in text and "不计为超过" not in text  # the tie rule that ran


@pytest.mark.parametrize("key", sorted(CHOICES))
def test_every_method_option_is_named_as_it_ran(key):
    base = PhaseReview.open(ROOT / "params" / "phase3.yaml", methods=FAST).analysis
    for value in CHOICES[key]:
        extra: dict = {}
        if key == "normalisation" and value == "vector":
            extra["aggregation"] = "arithmetic"
        if key == "weighting" and value == "ahp":
            extra["ahp_matrix"] = [[1, 2, 3, 1], [0.5, 1, 2, 1], [1 / 3, 0.5, 1, 1], [1, 1, 1, 1]]
        if key == "weighting" and value == "expert":
            extra["expert_weights"] = {c: 1.0 + i for i, c in enumerate(base.composite_inputs[0].columns)}
        a = base.with_methods(**{key: value}, **extra)
        ran = a.methods_ran()
        if key == "se":
            assert str(value) in str(ran["vcov"])
            review = PhaseReview(a, sink=[])
            review.annex()
            assert f"标准误（{value}）" in "".join(review.page.sink)
        elif key == "weighting":
            expected = a.methods.pipeline_weighting
            assert ran["weighting"] == expected and a.composite["result"].pipeline.weighting == expected
        elif key in ran:
            assert ran[key] == value
        if key in ("normalisation", "aggregation", "weighting", "topsis_normalisation"):
            review = PhaseReview(a, sink=[])
            review.composite_index()
            review.appendix()
            html = "".join(review.page.sink)
            assert a.composite["result"].pipeline.aggregation == ran["aggregation"]
            from evalkit.review.sections_estimates import AGGREGATION, NORMALISATION, WEIGHTING
            assert NORMALISATION[ran["normalisation"]][0] in html and AGGREGATION[ran["aggregation"]][0] in html
            assert WEIGHTING[ran["weighting"]][0] in html


def test_with_methods_returns_a_new_review_and_leaves_the_original():
    review = PhaseReview.open(ROOT / "params" / "phase3.yaml", methods=FAST)
    equal = review.with_methods(weighting="equal")
    w_equal = equal.analysis.composite["weights"]
    w_entropy = review.analysis.composite["weights"]
    groups = equal.analysis.composite["result"].weights_table().groupby("group")["weight"]
    assert all(abs(s.to_numpy() - 1 / len(s)).max() < 1e-12 for _, s in groups)  # equal within each group
    assert review.analysis.methods.weighting == "entropy"
    assert not w_equal.equals(w_entropy)
    assert review.analysis.composite["weights"].equals(w_entropy)  # the original is unchanged


def test_bad_method_combinations_are_one_params_error_listing_every_problem():
    with pytest.raises(ParamsError) as err:
        Methods.from_mapping({"weighting": "ahp", "se": "HC9", "seed": 10**23, "uncertainty_runs": 10**9,
                              "entropy_shift": float("nan"), "twfe_outcomes": [["nested"]]})
    text = str(err.value)
    assert text.startswith("6 problems")
    for key in ("methods.weighting", "methods.se", "methods.seed", "methods.uncertainty_runs",
                "methods.entropy_shift", "methods.twfe_outcomes"):
        assert key in text


def test_bad_params_exit_2_before_any_kernel(tmp_path):
    raw = yaml.safe_load((ROOT / "params" / "phase3.yaml").read_text(encoding="utf-8"))
    raw["data"] = str(DATA)
    raw["methods"]["weighting"] = "ahp"
    raw["methods"]["se"] = "HC7"
    raw["privacy"] = {"min_cell": 1}
    raw["compare_phases"] = []
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "phase3.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "evalkit.cli", "review", "phase3", "--params", str(tmp_path / "params"),
                          "--out", str(tmp_path / "reports")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    out = run.stdout + run.stderr
    assert "Traceback" not in out
    for key in ("methods.weighting", "methods.se", "privacy.min_cell"):
        assert key in out
    assert not (tmp_path / "reports" / "phase3" / "review.html").exists()


def test_a_broken_compared_phase_stops_the_final_review_before_any_kernel(tmp_path, capsys):
    """The final review reads the compared phases' params: one that cannot be read is a params
    error of the run (exit 2, nothing written), not a kernel that fails on it (exit 1)."""
    from evalkit.cli import main

    params = tmp_path / "params"
    shutil.copytree(ROOT / "params", params)
    text = (params / "phase1.yaml").read_text(encoding="utf-8")
    window = 'window: {start: "2023-08-01", end: "2023-12-31"}'
    assert window in text
    (params / "phase1.yaml").write_text(text.replace(window, window.replace("2023-12-31", "2023-07-01")), encoding="utf-8")
    code = main(["review", "final", "--params", str(params), "--data", str(DATA), "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2 and "phase1.yaml, column window" in err and "end is before start" in err, err
    assert "Traceback" not in err and not (tmp_path / "reports").exists()


def test_analysis_is_immutable():
    a = PhaseReview.open(ROOT / "params" / "phase1.yaml", methods=FAST).analysis
    with pytest.raises(Exception):
        a.methods = Methods()  # type: ignore[misc]
    assert isinstance(a, PhaseAnalysis)


def test_the_truth_table_covers_every_main_body_estimator_and_the_review_cites_it(phase3_and_final):
    from evalkit.review import truth

    rows = truth.table()
    assert rows, "src/evalkit/review/truth_recovery.csv is missing: run bench/truth_recovery.py"
    for estimator in truth.MAIN_BODY:
        mine = [r for r in rows if r["estimator"] == estimator]
        assert mine, f"the truth study has no row for {estimator}"
        for r in mine:
            assert r["n_seeds"] >= 10 and 0 <= r["coverage"] <= 1 and r["bias_over_se"] == r["bias_over_se"]
    # the main body shows only estimators that recover the truth on our generators
    assert all(truth.recovers(r) for r in truth.main_body_rows()), truth.main_body_rows()
    html = all_markup(phase3_and_final[0])
    assert "真值恢复研究" in html and "bench/truth_recovery.py" in html


def test_secondary_and_technician_colleges_are_not_ranked_with_higher_vocational_ones(phase3_and_final):
    review = phase3_and_final[0]
    a = review.analysis
    level = a.units.set_index("unit_id")["college_level"].astype("string").fillna("higher_vocational")
    others = set(level[(level != "higher_vocational") & (a.units.set_index("unit_id")["unit_type"] == "college")].index)
    assert others, "the shipped data has a secondary school and a technician college"
    assert not others & set(a.composite["scores"].index)
    assert "只与同类院校比较" in all_markup(review)


@pytest.mark.parametrize("as_of", [date(2024, 8, 31), date(2025, 2, 28), date(2026, 2, 28)])
def test_the_cut_is_checked_as_from_frames_checks_it(as_of, monkeypatch):
    """The as-of cut skips only the unique-key check (rows of unique keys cannot repeat one): its
    tables, derived columns and warnings equal those of the public, fully checked path."""
    import evalkit.data.validation as validation
    from evalkit.data.dataset import Dataset, load
    from evalkit.review import asof
    from evalkit.review.asof import cut

    full = load(DATA)
    looked = []
    check_unique = validation.check_unique
    monkeypatch.setattr(validation, "check_unique", lambda *a: looked.append(a[0].table) or check_unique(*a))
    fast = cut(full, as_of)
    assert looked == []
    monkeypatch.setattr(  # the public, fully checked path instead
        asof, "from_validated_rows", lambda *frames, evidence: Dataset.from_frames(*frames, evidence=evidence, strict=False)
    )
    slow = cut(full, as_of)
    assert {"units", "panel", "graduates"} <= set(looked)
    for name in ("units", "panel", "graduates", "partnerships", "evidence"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name), check_exact=True)
    assert fast.warnings == slow.warnings and fast.periods == slow.periods

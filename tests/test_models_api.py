"""evalkit.models: variance conventions against statsmodels and closed forms, GLMs, input
checks, the Results API (tidy / summary / plot) and the drivers view."""
from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit.models as M
from evalkit.errors import ModelInputError


@pytest.fixture(scope="module")
def cross():
    rng = np.random.default_rng(3)
    n = 400
    d = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.exponential(size=n),
                      "firm": rng.integers(0, 40, n), "year": rng.integers(0, 12, n)})
    d["y"] = 1 + 0.5 * d["x1"] - 0.3 * d["x2"] + rng.normal(size=n) * (1 + d["x2"]) + 0.3 * rng.normal(size=40)[d["firm"]]
    return d


@pytest.mark.parametrize("hc", ["HC0", "HC1", "HC2", "HC3"])
def test_hc_matches_statsmodels(cross, hc):
    import statsmodels.formula.api as smf

    ref = smf.ols("y ~ x1 + x2", cross).fit(cov_type=hc)
    res = M.ols("y ~ x1 + x2", cross, vcov=hc)
    np.testing.assert_allclose(res.se[["Intercept", "x1", "x2"]], ref.bse[["Intercept", "x1", "x2"]], rtol=1e-8)
    assert res.vcov == hc


def test_hc3_with_absorbed_fe_equals_dummies(cross):
    import statsmodels.formula.api as smf

    ref = smf.ols("y ~ x1 + x2 + C(firm)", cross).fit(cov_type="HC3")
    res = M.ols("y ~ x1 + x2 | firm", cross, vcov="HC3")
    np.testing.assert_allclose(res.se[["x1", "x2"]], ref.bse[["x1", "x2"]], rtol=1e-8)
    assert list(res.params.index) == ["x1", "x2"]


def test_one_way_cluster_matches_statsmodels(cross):
    """statsmodels' cluster correction G/(G−1)·(n−1)/(n−k) equals fixest's without FE."""
    import statsmodels.formula.api as smf

    ref = smf.ols("y ~ x1 + x2", cross).fit(cov_type="cluster", cov_kwds={"groups": cross["firm"]})
    res = M.ols("y ~ x1 + x2", cross, vcov={"CRV1": "firm"})
    np.testing.assert_allclose(res.se[["x1", "x2"]], ref.bse[["x1", "x2"]], rtol=1e-8)


def test_two_way_cluster_closed_form(cross):
    """Cameron–Gelbach–Miller: V = V_firm + V_year − V_firm∩year (raw sandwiches, built here
    from statsmodels' unscaled cluster sums), each scaled by fixest's factor
    G_min/(G_min−1)·(n−1)/(n−k), G_min = min(G_firm, G_year)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.sandwich_covariance import cov_cluster

    fit = smf.ols("y ~ x1 + x2", cross).fit()
    inter = cross["firm"].astype(str) + "_" + cross["year"].astype(str)
    raw = sum(s * cov_cluster(fit, pd.factorize(g)[0], use_correction=False)
              for s, g in [(1, cross["firm"]), (1, cross["year"]), (-1, inter)])
    n, k = len(cross), 3
    g_min = min(cross["firm"].nunique(), cross["year"].nunique())
    V = raw * g_min / (g_min - 1) * (n - 1) / (n - k)
    res = M.ols("y ~ x1 + x2", cross, vcov={"CRV1": "firm+year"})
    np.testing.assert_allclose(res.se[["Intercept", "x1", "x2"]], np.sqrt(np.diag(V)), rtol=1e-8)
    assert res.vcov == "CRV1(firm+year)"
    assert "models.few_clusters_twoway" in res.warning_codes  # 12 years < 30


def test_crv3_is_jackknife(cross):
    """CRV3 = (G−1)/G Σ_g (β_(−g) − β)(β_(−g) − β)ᵀ (leave-one-cluster-out)."""
    res = M.ols("y ~ x1 + x2", cross, vcov={"CRV3": "firm"})
    full = M.ols("y ~ x1 + x2", cross).params
    firms = sorted(cross["firm"].unique())
    devs = np.array([(M.ols("y ~ x1 + x2", cross[cross["firm"] != f]).params - full).to_numpy() for f in firms])
    G = len(firms)
    V = (G - 1) / G * devs.T @ devs
    np.testing.assert_allclose(res.se.to_numpy(), np.sqrt(np.diag(V)), rtol=1e-6)


def test_glm_logit_closed_form():
    """Logit on one binary regressor: MLE = log odds in each group; SE of the slope =
    sqrt(Σ 1/cell counts) (inverse information)."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"member": np.repeat([0, 1], 300), "college": np.tile(np.arange(30), 20)})
    d["placed"] = (rng.random(600) < np.where(d["member"] == 1, 0.8, 0.6)).astype(int)
    res = M.glm("placed ~ member", d, family="logit")
    c = pd.crosstab(d["member"], d["placed"])
    slope = np.log(c.loc[1, 1] / c.loc[1, 0]) - np.log(c.loc[0, 1] / c.loc[0, 0])
    assert res.params["member"] == pytest.approx(slope, rel=1e-7)
    assert res.se["member"] == pytest.approx(np.sqrt((1 / c.to_numpy()).sum()), rel=1e-6)
    import statsmodels.formula.api as smf

    cl = M.glm("placed ~ member", d, family="logit", vcov={"CRV1": "college"})
    ref = smf.logit("placed ~ member", d).fit(disp=0, cov_type="cluster", cov_kwds={"groups": d["college"]})
    assert cl.se["member"] == pytest.approx(ref.bse["member"], rel=1e-6)  # discrete-model code path
    pr = M.glm("placed ~ member", d, family="probit")
    from scipy.stats import norm
    p1, p0 = d.loc[d.member == 1, "placed"].mean(), d.loc[d.member == 0, "placed"].mean()
    assert pr.params["member"] == pytest.approx(norm.ppf(p1) - norm.ppf(p0), rel=1e-6)


def test_glm_poisson_closed_form():
    """Poisson on a categorical regressor: coefficients are log ratios of group means."""
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 200)})
    d["count"] = rng.poisson(np.repeat([2.0, 3.0, 5.0], 200))
    res = M.glm("count ~ C(g)", d, family="poisson")
    means = d.groupby("g")["count"].mean()
    assert res.params["C(g)[T.b]"] == pytest.approx(np.log(means["b"] / means["a"]), rel=1e-7)
    assert res.params["Intercept"] == pytest.approx(np.log(means["a"]), rel=1e-7)
    # inverse information: var(log mean) = 1 / (n · mean)
    assert res.se["Intercept"] == pytest.approx(1 / np.sqrt(200 * means["a"]), rel=1e-6)


# --- input checks -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(5)
    units, T = 60, 8
    d = pd.DataFrame({"unit": np.repeat(np.arange(units), T), "year": np.tile(np.arange(2016, 2016 + T), units)})
    d["cohort"] = np.repeat(rng.choice([0, 2019, 2021], units), T)
    d["x"] = rng.normal(size=len(d))
    d["size"] = rng.integers(100, 1000, len(d)).astype(float)
    d["y"] = 0.4 * d["x"] + 0.5 * ((d["year"] >= d["cohort"]) & (d["cohort"] > 0)) + rng.normal(size=len(d))
    return d


def test_missing_column_is_clear(panel):
    with pytest.raises(ModelInputError, match="'nope'"):
        M.twfe(panel, y="y", x=["nope"], unit="unit", time="year")
    with pytest.raises(ModelInputError, match="not found"):
        M.ols("y ~ x | missing_fe", panel)


def test_non_numeric_outcome(panel):
    bad = panel.assign(y=panel["y"].astype(str))
    with pytest.raises(ModelInputError, match="not numeric"):
        M.twfe(bad, y="y", x=["x"], unit="unit", time="year")
    with pytest.raises(ModelInputError, match="not numeric"):
        M.staggered_did(bad, y="y", unit="unit", time="year", cohort="cohort")


def test_duplicate_key(panel):
    dup = pd.concat([panel, panel.iloc[[3]]])
    with pytest.raises(ModelInputError, match="duplicates"):
        M.twfe(dup, y="y", x=["x"], unit="unit", time="year")
    with pytest.raises(ModelInputError, match="share a"):
        M.staggered_did(dup, y="y", unit="unit", time="year", cohort="cohort")


def test_constant_and_collinear_regressor(panel):
    with pytest.raises(ModelInputError, match="constant"):
        M.twfe(panel.assign(c=1.0), y="y", x=["x", "c"], unit="unit", time="year")
    # time-invariant regressor is collinear with the unit effects: dropped and said so
    res = M.twfe(panel.assign(ti=panel["unit"] * 1.0), y="y", x=["x", "ti"], unit="unit", time="year")
    assert list(res.params.index) == ["x"]
    assert any("Collinear" in w and "ti" in w for w in res.warning_texts("en"))
    assert res.info["collinear"] == ["ti"]


def test_too_few_clusters(panel):
    with pytest.raises(ModelInputError, match="Only 1 cluster"):
        M.ols("y ~ x", panel.assign(one=1), vcov={"CRV1": "one"})


def test_bad_choices_are_value_errors(panel):
    from evalkit.errors import ChoiceError

    with pytest.raises(ChoiceError, match=r"vcov must be one of 'iid', 'HC0'.*; got 'robust'"):
        M.ols("y ~ x", panel, vcov="robust")
    with pytest.raises(ValueError, match="control must be one of 'never', 'notyet'; got 'all'"):
        M.staggered_did(panel, y="y", unit="unit", time="year", cohort="cohort", control="all")
    with pytest.raises(ValueError, match="kind must be one of .*'dynamic'.*; got 'weekly'"):
        M.staggered_did(panel, y="y", unit="unit", time="year", cohort="cohort").aggregate("weekly")
    with pytest.raises(ChoiceError, match="family must be one of 'logit', .*; got 'gamma'"):
        M.glm("y ~ x", panel, family="gamma")


def test_short_cohort_dropped_with_warning(panel):
    early = panel.assign(cohort=panel["cohort"].where(panel["unit"] != 0, 2016))
    res = M.staggered_did(early, y="y", unit="unit", time="year", cohort="cohort")
    assert 2016 not in set(res.att_gt["cohort"])
    assert "models.short_cohorts" in res.warning_codes
    assert any("pre-treatment" in w for w in res.warning_texts("en"))
    one_pre = panel.assign(cohort=panel["cohort"].where(panel["unit"] != 0, 2017))
    ok = M.staggered_did(one_pre, y="y", unit="unit", time="year", cohort="cohort")
    assert 2017 in set(ok.att_gt["cohort"])  # one pre-period is enough (the did2s trap avoided)
    es = M.event_study(one_pre, y="y", unit="unit", time="year", cohort="cohort")
    assert np.isfinite(es.params).all()


def test_no_never_treated_needs_notyet(panel):
    treated = panel[panel["cohort"] > 0]
    with pytest.raises(ModelInputError, match="notyet"):
        M.staggered_did(treated, y="y", unit="unit", time="year", cohort="cohort")
    res = M.staggered_did(treated, y="y", unit="unit", time="year", cohort="cohort", control="notyet")
    assert len(res.att_gt)


def test_twfe_lags_and_per_capita(panel):
    res = M.twfe(panel, y="y", x=["x"], unit="unit", time="year", lags=1)
    assert list(res.params.index) == ["x", "x_lag1"]
    assert res.n == 60 * 7  # first period has no lag
    manual = panel.sort_values(["unit", "year"]).assign(
        x_lag1=lambda d: d.groupby("unit")["x"].shift(1))
    ref = M.ols("y ~ x + x_lag1 | unit + year", manual, vcov={"CRV1": "unit"})
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    pc = M.twfe(panel, y="y", x=["x"], unit="unit", time="year", per_capita="size", per_capita_scale=1000)
    ref2 = M.ols("ypc ~ x | unit + year", panel.assign(ypc=panel["y"] / panel["size"] * 1000), vcov={"CRV1": "unit"})
    assert pc.params["x"] == pytest.approx(ref2.params["x"], rel=1e-10)


# --- Results API ---------------------------------------------------------------------------------
def test_results_api_and_plots(panel):
    from matplotlib.figure import Figure

    res = M.twfe(panel, y="y", x=["x"], unit="unit", time="year")
    tidy = res.tidy()
    assert {"term", "estimate", "se", "ci_low", "ci_high", "p", "n", "vcov"} <= set(tidy.columns)
    assert "<table" in res.summary()._repr_html_()
    did = M.staggered_did(panel, y="y", unit="unit", time="year", cohort="cohort")
    es = M.event_study(panel, y="y", unit="unit", time="year", cohort="cohort")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # missing CJK glyphs would warn
        for fig in [res.plot(), did.plot(), es.plot(), did.aggregate("group").plot(), res.plot(lang="en")]:
            assert isinstance(fig, Figure)
    texts = [t.get_text() for ax in es.plot().axes for t in ax.texts + [ax.xaxis.label]]
    assert any("相对" in t for t in texts)
    assert "Wald" in str(did.summary()) or "预检验" in str(did.summary())
    assert did.pretest.df > 0 and 0 <= did.pretest.p_value <= 1


@pytest.mark.parametrize("model", ["linear", "boosting"])
@pytest.mark.parametrize("stacked_rows", [None, 400, 100])
def test_drivers_importance_and_dependence_equal_scikit_learns_own(panel, model, stacked_rows, monkeypatch):
    """The batched permutation importance and partial dependence give scikit-learn's numbers:
    the same shuffles, the same grid (percentile grid for x and size, unique values for a
    column with few levels), the same predictions — whether the copies go to predict all at
    once, two at a time (400 rows) or one by one (100 rows)."""
    from sklearn.inspection import partial_dependence, permutation_importance

    D = importlib.import_module("evalkit.models.drivers")  # the module (evalkit.models.drivers is the function)
    if stacked_rows:
        monkeypatch.setattr(D, "STACKED_ROWS", stacked_rows)

    d = panel.assign(level=panel["unit"] % 4 * 1.5)  # 4 unique values: the unique-value grid
    X, y = d[["x", "size", "level"]].astype(float), (d["y"] + 0.5 * d["level"]).to_numpy()
    est = D._pipeline(model, seed=3).fit(X.iloc[:300], y[:300])
    held_X, held_y = X.iloc[300:], y[300:]
    for seed, repeats in ((0, 3), (11, 5)):
        ours = D.permutation_importance(est, held_X, held_y, n_repeats=repeats, seed=seed)
        theirs = permutation_importance(est, held_X, held_y, n_repeats=repeats, random_state=seed, scoring="r2")
        np.testing.assert_allclose(ours, theirs.importances_mean, rtol=0, atol=1e-12)
    assert ours[0] > 0 and ours[2] > 0  # x and level drive y: their shuffles cost R²
    calls = []
    predict = est.predict
    monkeypatch.setattr(est, "predict", lambda frame: calls.append(len(frame)) or predict(frame))
    D.permutation_importance(est, held_X, held_y, n_repeats=3, seed=0)  # 10 blocks of 180 rows
    assert calls == {None: [1800], 400: [360] * 5, 100: [180] * 10}[stacked_rows]
    for j in range(3):
        grid, average = D.partial_dependence(est, X, j, grid_resolution=10)
        res = partial_dependence(est, X, [j], grid_resolution=10, kind="average")
        np.testing.assert_array_equal(grid, res["grid_values"][0])
        np.testing.assert_allclose(average, res["average"][0], rtol=0, atol=1e-12)
        assert len(grid) == (4 if j == 2 else 10)


def test_partial_dependence_without_a_grid_is_a_clear_error_as_in_scikit_learn(panel):
    """Ten distinct values but 5 % and 95 % percentiles equal: scikit-learn refuses the column
    (ValueError); evalkit says which column and why (ModelInputError, a user's error)."""
    from sklearn.inspection import partial_dependence

    D = importlib.import_module("evalkit.models.drivers")
    X = panel[["x", "size"]].astype(float).copy()
    X["size"] = 1.0
    X.iloc[:10, 1] = np.arange(10) + 2.0  # 10 of 480 rows differ: both percentiles are 1.0
    est = D._pipeline("linear", seed=0).fit(X, panel["y"])
    with pytest.raises(ValueError):
        partial_dependence(est, X, [1], grid_resolution=10, kind="average")
    with pytest.raises(ModelInputError, match="size: its 5 % and 95 % percentiles are equal"):
        D.partial_dependence(est, X, 1, grid_resolution=10)


def test_drivers_grouped_cv_and_label(panel):
    from matplotlib.figure import Figure

    res = M.drivers(panel, y="y", x=["x", "size"], unit="unit", n_splits=4, n_repeats=2, grid_resolution=8)
    tidy = res.tidy()
    assert {"term", "estimate", "se", "ci_low", "ci_high", "p"} <= set(tidy.columns)
    imp = tidy.set_index(["model", "term"])["estimate"]
    assert imp[("linear", "x")] > imp[("linear", "size")]  # x drives y, size does not
    assert "探索性分析，非因果推断" in str(res.summary())
    fig = res.plot()
    assert isinstance(fig, Figure) and "非因果" in fig.get_suptitle()
    # grouped folds: no unit in both train and test
    from sklearn.model_selection import GroupKFold
    for tr, te in GroupKFold(n_splits=4).split(panel, groups=panel["unit"]):
        assert not set(panel["unit"].iloc[tr]) & set(panel["unit"].iloc[te])
    assert set(res.scores["model"]) == {"linear", "boosting"}

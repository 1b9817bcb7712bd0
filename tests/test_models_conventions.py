"""evalkit.models conventions a reviewer can pick, checked against independent calculations:
two-way clustering (G_df "min" / "conventional") identical across ols, glm and twfe; probit iid
SEs from the observed information (statsmodels' discrete Probit); twfe with iid SEs reproducing
the textbook Grunfeld table; duplicated fixed-effect keys refused. Also the one results protocol
(tidy / summary / plot / ci / warnings as i18n messages), figures that display inline, and the
deprecated spellings (lang=, cluster=, bare "CRV1")."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit.models as M
from evalkit.errors import ModelInputError
from evalkit.i18n import Message, codes
from evalkit.models.results import TIDY_COLUMNS, BaseResults, ResultsProtocol


@pytest.fixture(scope="module")
def cross():
    rng = np.random.default_rng(11)
    n = 600
    d = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.exponential(size=n),
                      "firm": rng.integers(0, 35, n), "year": rng.integers(0, 9, n)})
    d["y"] = (1 + 0.5 * d["x1"] - 0.3 * d["x2"] + rng.normal(size=n) * (1 + d["x2"])
              + rng.normal(size=35)[d["firm"]] + 0.5 * rng.normal(size=9)[d["year"]])
    d["placed"] = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * d["x1"])))).astype(int)
    return d


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(5)
    units, T = 40, 8
    d = pd.DataFrame({"unit": np.repeat(np.arange(units), T), "year": np.tile(np.arange(2016, 2016 + T), units)})
    d["cohort"] = np.repeat(rng.choice([0, 2019, 2021], units), T)
    d["region"] = d["unit"] % 7
    d["x"] = rng.normal(size=len(d))
    d["y"] = 0.4 * d["x"] + 0.5 * ((d["year"] >= d["cohort"]) & (d["cohort"] > 0)) + rng.normal(size=len(d))
    return d


@pytest.fixture(scope="module")
def grunfeld10():
    import statsmodels.api as sm

    d = sm.datasets.grunfeld.load_pandas().data
    return d[d["firm"] != "American Steel"].reset_index(drop=True)


def _two_way_by_hand(X: np.ndarray, e: np.ndarray, g1, g2, G_df: str) -> np.ndarray:
    """Independent numpy sandwich: V = Σ_j sign_j c_j (X'X)⁻¹ (Σ_g s_g s_gᵀ) (X'X)⁻¹ · (n−1)/(n−k)."""
    n, k = X.shape
    B = np.linalg.inv(X.T @ X)
    inter = pd.Series(g1).astype(str).to_numpy() + "|" + pd.Series(g2).astype(str).to_numpy()
    G = {name: len(np.unique(g)) for name, g in [("a", g1), ("b", g2)]}
    g_min = min(G.values())
    V = np.zeros((k, k))
    for sign, g in [(1, np.asarray(g1)), (1, np.asarray(g2)), (-1, inter)]:
        S = np.zeros((k, k))
        for level in np.unique(g):
            s = X[g == level].T @ e[g == level]
            S += np.outer(s, s)
        Gj = len(np.unique(g))
        c = g_min / (g_min - 1) if G_df == "min" else Gj / (Gj - 1)
        V += sign * c * B @ S @ B
    return V * (n - 1) / (n - k)


# --- two-way clustering --------------------------------------------------------------------------
@pytest.mark.parametrize("G_df", ["min", "conventional"])
def test_two_way_cluster_same_in_ols_and_glm_and_by_hand(cross, G_df):
    X = np.column_stack([np.ones(len(cross)), cross["x1"], cross["x2"]])
    b = np.linalg.lstsq(X, cross["y"].to_numpy(), rcond=None)[0]
    e = cross["y"].to_numpy() - X @ b
    V = _two_way_by_hand(X, e, cross["firm"].to_numpy(), cross["year"].to_numpy(), G_df)
    expected = np.sqrt(np.diag(V))
    spec = {"CRV1": "firm+year"}
    o = M.ols("y ~ x1 + x2", cross, vcov=spec, G_df=G_df)
    g = M.glm("y ~ x1 + x2", cross, family="gaussian", vcov=spec, G_df=G_df)
    terms = ["Intercept", "x1", "x2"]
    np.testing.assert_allclose(o.se[terms], expected, rtol=1e-9)
    np.testing.assert_allclose(g.se[terms], expected, rtol=1e-9)
    np.testing.assert_allclose(g.params[terms], o.params[terms], rtol=1e-9)
    for res in (o, g):
        assert res.vcov == "CRV1(firm+year)"
        assert res.info["vcov_note"].code == f"models.vcov.crv1_twoway_{G_df}"
        assert res.info["G_df"] == G_df
    assert "G_min" in g.info["vcov_note"].render("en") or G_df == "conventional"


def test_two_way_conventional_equals_statsmodels_cgm(cross):
    """statsmodels' cov_type="cluster" with two group columns is Cameron–Gelbach–Miller: each of
    V_firm, V_year, V_firm∩year scaled by its own G/(G−1)·(n−1)/(n−k)."""
    import statsmodels.formula.api as smf

    ref = smf.ols("y ~ x1 + x2", cross).fit(
        cov_type="cluster", cov_kwds={"groups": np.column_stack([cross["firm"], cross["year"]])})
    res = M.ols("y ~ x1 + x2", cross, vcov={"CRV1": "firm+year"}, G_df="conventional")
    np.testing.assert_allclose(res.se[ref.bse.index], ref.bse, rtol=1e-8)
    glm = M.glm("y ~ x1 + x2", cross, family="gaussian", vcov={"CRV1": "firm+year"}, G_df="conventional")
    np.testing.assert_allclose(glm.se[ref.bse.index], ref.bse, rtol=1e-8)
    default = M.ols("y ~ x1 + x2", cross, vcov={"CRV1": "firm+year"})
    assert not np.allclose(default.se[ref.bse.index], ref.bse)  # "min" is the default


@pytest.mark.parametrize("G_df", ["min", "conventional"])
def test_twfe_two_way_cluster_equals_ols(panel, G_df):
    tw = M.twfe(panel, y="y", x=["x"], unit="unit", time="year", vcov={"CRV1": "unit+region"}, G_df=G_df)
    o = M.ols("y ~ x | unit + year", panel, vcov={"CRV1": "unit+region"}, G_df=G_df)
    assert tw.se["x"] == pytest.approx(o.se["x"], rel=1e-12)
    assert tw.vcov == "CRV1(unit+region)" and tw.info["cluster"] == "unit+region"
    assert tw.info["vcov_note"].code == f"models.vcov.crv1_twoway_{G_df}"


def test_gaussian_glm_one_way_and_hc_equal_ols(cross):
    for vcov in ["iid", "HC0", "HC1", {"CRV1": "firm"}]:
        o = M.ols("y ~ x1 + x2", cross, vcov=vcov)
        g = M.glm("y ~ x1 + x2", cross, family="gaussian", vcov=vcov)
        np.testing.assert_allclose(g.se[o.se.index], o.se, rtol=1e-8, err_msg=str(vcov))
    with pytest.raises(ValueError, match="glm supports"):
        M.glm("y ~ x1", cross, family="gaussian", vcov="HC3")


# --- probit / logit information ------------------------------------------------------------------
def test_probit_iid_is_observed_information(cross):
    from statsmodels.discrete.discrete_model import Probit

    X = pd.DataFrame({"Intercept": 1.0, "x1": cross["x1"], "x2": cross["x2"]})
    ref = Probit(cross["placed"], X).fit(disp=0)
    res = M.glm("placed ~ x1 + x2", cross, family="probit")
    np.testing.assert_allclose(res.params[X.columns], ref.params, rtol=1e-6)
    np.testing.assert_allclose(res.se[X.columns], ref.bse, rtol=1e-6, atol=1e-6)
    assert res.info["information"] == "observed"
    # expected (Fisher) information: statsmodels GLM's default; differs for the probit link
    import statsmodels.api as sm

    glm_ref = sm.GLM(cross["placed"], X, family=sm.families.Binomial(sm.families.links.Probit())).fit()
    exp = M.glm("placed ~ x1 + x2", cross, family="probit", information="expected")
    np.testing.assert_allclose(exp.se[X.columns], glm_ref.bse, rtol=1e-6)
    assert not np.allclose(exp.se[X.columns], res.se[X.columns], rtol=1e-6)
    # clustered: the bread is the observed information too (statsmodels Probit cluster)
    ref_cl = Probit(cross["placed"], X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": cross["firm"]})
    cl = M.glm("placed ~ x1 + x2", cross, family="probit", vcov={"CRV1": "firm"})
    np.testing.assert_allclose(cl.se[X.columns], ref_cl.bse, rtol=1e-6)


def test_logit_observed_equals_expected(cross):
    from statsmodels.discrete.discrete_model import Logit

    X = pd.DataFrame({"Intercept": 1.0, "x1": cross["x1"]})
    ref = Logit(cross["placed"], X).fit(disp=0)
    obs = M.glm("placed ~ x1", cross, family="logit")
    exp = M.glm("placed ~ x1", cross, family="logit", information="expected")
    np.testing.assert_allclose(obs.se[X.columns], ref.bse, rtol=1e-6)
    np.testing.assert_allclose(exp.se[X.columns], ref.bse, rtol=1e-6)


# --- twfe iid / HC: textbook FE tables ----------------------------------------------------------
def test_twfe_iid_reproduces_grunfeld(grunfeld10):
    """plm vignette / Baltagi Table 2.1 (plm's 10-firm Grunfeld): one-way within and two-way."""
    one = M.twfe(grunfeld10, y="invest", x=["value", "capital"], unit="firm", time="year", vcov="iid",
                 effect="individual")
    for term, (b, se) in {"value": (0.110124, 0.011857), "capital": (0.310065, 0.017355)}.items():
        assert one.params[term] == pytest.approx(b, abs=5e-7)
        assert one.se[term] == pytest.approx(se, abs=5e-7)
    assert one.vcov == "iid" and one.info["cluster"] is None and one.n == 200
    two = M.twfe(grunfeld10, y="invest", x=["value", "capital"], unit="firm", time="year", vcov="iid")
    for term, (b, se) in {"value": (0.117716, 0.013751), "capital": (0.357916, 0.022719)}.items():
        assert two.params[term] == pytest.approx(b, abs=5e-7)
        assert two.se[term] == pytest.approx(se, abs=5e-7)
    assert two.warnings == []  # no cluster warning without clustering


@pytest.mark.parametrize("hc", ["HC0", "HC1", "HC3"])
def test_twfe_hc_equals_ols(grunfeld10, hc):
    tw = M.twfe(grunfeld10, y="invest", x=["value", "capital"], unit="firm", time="year", vcov=hc)
    o = M.ols("invest ~ value + capital | firm + year", grunfeld10, vcov=hc)
    np.testing.assert_allclose(tw.se, o.se, rtol=1e-12)
    assert tw.vcov == hc


# --- duplicated keys ---------------------------------------------------------------------------
def test_ols_refuses_duplicated_fe_keys(panel):
    dup = pd.concat([panel, panel.iloc[[3]]])
    key = panel.iloc[3]
    with pytest.raises(ModelInputError, match="share a") as err:
        M.ols("y ~ x | unit + year", dup)
    assert f"'unit': {int(key['unit'])}, 'year': {int(key['year'])}" in str(err.value)
    assert "unique_fe=False" in str(err.value)
    assert M.ols("y ~ x | unit + year", dup, unique_fe=False).n == len(dup)
    assert M.ols("y ~ x | unit", dup).n == len(dup)  # one-way: units repeat by design


# --- the results protocol ----------------------------------------------------------------------
def _all_results(panel):
    did = M.staggered_did(panel, y="y", unit="unit", time="year", cohort="cohort")
    return {
        "ols": M.ols("y ~ x | unit + year", panel, vcov={"CRV1": "unit"}),
        "glm": M.glm("y ~ x", panel, family="gaussian"),
        "twfe": M.twfe(panel, y="y", x=["x"], unit="unit", time="year"),
        "event_study": M.event_study(panel, y="y", unit="unit", time="year", cohort="cohort"),
        "did": did,
        "did_dynamic": did.aggregate("dynamic"),
        "drivers": M.drivers(panel, y="y", x=["x", "region"], unit="unit", n_splits=4, n_repeats=2,
                             grid_resolution=5),
    }


@pytest.fixture(scope="module")
def more_results(panel):
    """The remaining model results and the composite room's result objects (fast settings)."""
    from evalkit import composite as C

    sd = panel.assign(treated=((panel["year"] >= panel["cohort"]) & (panel["cohort"] > 0)).astype(int))
    sd = sd[sd["cohort"].isin([0, 2019])]
    small = sd[sd["unit"].isin(sorted(sd.loc[sd["cohort"] == 2019, "unit"].unique())[:2]
                               + sorted(sd.loc[sd["cohort"] == 0, "unit"].unique())[:4])]

    def diff(d):
        t = d.groupby("unit")["cohort"].first() > 0
        m = d.groupby("unit")["y"].mean()
        return float(m[t].mean() - m[~t].mean())

    beta = np.array([0.02, -0.01, 0.0, 0.1, 0.15])
    sigma = np.diag([0.02, 0.02, 0.02, 0.03, 0.03]) ** 2
    X = pd.DataFrame(np.random.default_rng(3).uniform(1, 10, (8, 4)), columns=list("abcd"),
                     index=[f"u{i}" for i in range(8)])
    pipe = C.Pipeline(groups={"a": "g1", "b": "g1", "c": "g2", "d": "g2"})
    out = {
        "synthetic_did": M.synthetic_did(sd, y="y", unit="unit", time="year", treated="treated", reps=20),
        "randomization": M.randomization_inference(small, estimator=diff, unit="unit", cohort="cohort"),
        "leave_one_out": M.leave_one_out(small, estimator=diff, unit="unit", treated_units=[small["unit"].iloc[0]]),
        "pretrend_power": M.pretrend_power((beta, sigma, 3, 2)),
        "adjust_pvalues": M.adjust_pvalues([0.01, 0.04, 0.3]),
        "pipeline": pipe.run(X),
        "uncertainty": C.uncertainty(X, pipe, n=8, seed=1),
        "ahp": C.ahp([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]]),
        "cronbach": C.cronbach_alpha(X, details=True),
    }
    if __import__("importlib").util.find_spec("diff_diff") is not None:
        out["honest_did"] = M.honest_did((beta, sigma, 3, 2), method="smoothness", Mbar=[0.0, 0.01])
    return out


def _public_result_classes():
    import inspect

    from evalkit import composite as C

    found = {}
    for mod in (M, C):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and obj.__name__.endswith(("Results", "Result")) and obj is not BaseResults:
                found[name] = obj
    return found


def test_one_protocol_for_every_result(panel, more_results):
    from matplotlib.figure import Figure

    results = {**_all_results(panel), **more_results}
    covered = {type(r).__name__ for r in results.values()}
    expected = set(_public_result_classes())
    if "honest_did" not in results:  # diff_diff not installed
        expected.discard("SensitivityResults")
    assert expected <= covered, f"public result classes without a protocol check: {expected - covered}"
    for name, res in results.items():
        assert isinstance(res, BaseResults) and isinstance(res, ResultsProtocol), name
        tidy = res.tidy()
        assert list(tidy.columns[:6]) == TIDY_COLUMNS, name
        for lang in ("zh", "en"):
            s = res.summary(lang=lang)
            assert "<table" in s._repr_html_() and str(s), name
            assert "<table" in res._repr_html_(), name
        fig = res.plot(lang="en")
        assert isinstance(fig, Figure), name
        png = fig._repr_png_()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
        ci = res.ci(0.95)
        assert list(ci.columns) == ["ci_low", "ci_high"] and len(ci) == len(tidy), name
        narrow = res.ci(level=0.5)
        both = ci.notna().all(axis=1) & narrow.notna().all(axis=1)
        width, narrow_width = (ci["ci_high"] - ci["ci_low"])[both], (narrow["ci_high"] - narrow["ci_low"])[both]
        assert (narrow_width <= width + 1e-12).all(), name
        assert all(isinstance(w, Message) for w in res.warnings), name
        assert isinstance(res.warning_texts("en"), list)


def test_result_columns_mean_what_they_say(more_results):
    more = more_results
    ahp = more["ahp"].tidy()
    assert ahp["estimate"].sum() == pytest.approx(1.0) and ahp[["se", "ci_low", "ci_high", "p"]].isna().all().all()
    alpha = more["cronbach"].tidy()
    assert alpha["term"].iloc[0] == "alpha" and alpha["estimate"].iloc[0] == pytest.approx(float(more["cronbach"]))
    unc = more["uncertainty"]
    t = unc.tidy()
    assert (t["ci_low"] == t["rank_q05"]).all() and (t["estimate"] == t["nominal_rank"]).all()
    assert (unc.ci(0.9)["ci_low"].to_numpy() == t["rank_q05"].to_numpy()).all()
    power = more["pretrend_power"].tidy()
    assert power["term"].tolist() == ["slope@power=0.5", "slope@power=0.8"] and power["se"].isna().all()
    if "honest_did" in more:
        hd = more["honest_did"]
        assert hd.ci(0.95).iloc[1:].notna().all().all() and hd.ci(0.9).iloc[1:].isna().all().all()
        assert hd.ci(0.95).iloc[0].tolist() == pytest.approx(list(hd.original_ci))


def test_no_language_in_sensitivity_and_multiple_testing():
    beta = np.array([0.02, -0.01, 0.0, 0.1, 0.15])
    sigma = np.diag([0.02, 0.02, 0.02, 0.03, 0.03]) ** 2
    with pytest.warns(DeprecationWarning, match="lang"):
        a = M.pretrend_power((beta, sigma, 3, 2), lang="en")
    b = M.pretrend_power((beta, sigma, 3, 2))
    assert a.tidy().equals(b.tidy()) and "预趋势" in str(b.summary()) and "pre-trend" in str(b.summary("en"))
    with pytest.warns(DeprecationWarning, match="lang"):
        M.adjust_pvalues([0.01, 0.2], lang="zh")


def test_public_api_has_numpydoc_parameters_and_returns():
    """Every public function of evalkit.models / evalkit.composite documents Parameters and
    Returns; every public class its constructor Parameters (the abstract base and the protocol take
    none) and the protocol methods it offers their Returns."""
    import inspect

    from evalkit import composite as C

    assert {"cronbach_alpha", "item_rest_correlations", "AlphaResult"} <= set(C.__all__)
    missing = []
    for mod in (M, C):
        for name in mod.__all__:
            obj = getattr(mod, name)
            doc = inspect.getdoc(obj) or ""
            if inspect.isfunction(obj):
                missing += [f"{mod.__name__}.{name}: {s}" for s in ("Parameters", "Returns") if s not in doc]
            elif inspect.isclass(obj):
                if name not in ("BaseResults", "ResultsProtocol") and "Parameters" not in doc:
                    missing.append(f"{mod.__name__}.{name}: Parameters")
                if name == "ResultsProtocol":
                    continue
                for meth in ("tidy", "summary", "plot", "ci", "warning_texts"):
                    if callable(getattr(obj, meth, None)) and "Returns" not in (inspect.getdoc(getattr(obj, meth)) or ""):
                        missing.append(f"{mod.__name__}.{name}.{meth}: Returns")
    assert not missing, missing


def test_ci_uses_the_estimators_distribution(panel):
    res = M.twfe(panel, y="y", x=["x"], unit="unit", time="year")  # t(G−1)
    ci = res.ci(0.95)
    np.testing.assert_allclose(ci["ci_low"], res.table["ci_low"], rtol=1e-12)
    np.testing.assert_allclose(ci["ci_high"], res.table["ci_high"], rtol=1e-12)
    assert res.dof == 39
    o = M.ols("y ~ x | unit + year", panel, vcov="iid", alpha=0.1)
    np.testing.assert_allclose(o.ci(0.9)["ci_low"], o.table["ci_low"], rtol=1e-12)
    agg = M.staggered_did(panel, y="y", unit="unit", time="year", cohort="cohort").aggregate("simple")
    lo, hi = agg.overall_ci(0.95)
    assert lo == pytest.approx(agg.table["ci_low"].iloc[0]) and hi == pytest.approx(agg.table["ci_high"].iloc[0])


def test_figures_display_inline_without_pyplot(panel):
    """IPython picks the PNG from the figure itself (no inline backend needed)."""
    IPython = pytest.importorskip("IPython")
    from IPython.core.formatters import PNGFormatter

    fig = M.twfe(panel, y="y", x=["x"], unit="unit", time="year").plot()
    out = PNGFormatter()(fig)
    assert out is not None and out[:4] == b"\x89PNG"
    assert IPython.version_info[0] >= 7  # the formatter API used here


def test_warnings_are_codes_rendered_on_demand(panel):
    res = M.twfe(panel.assign(ti=panel["unit"] * 1.0), y="y", x=["x", "ti"], unit="unit", time="year",
                 few_clusters=50, wild_reps=99)
    assert {"models.collinear", "models.few_clusters"} <= set(res.warning_codes)
    few = next(w for w in res.warnings if w.code == "models.few_clusters")
    assert few.params == {"G": 40, "threshold": 50}
    zh, en = res.warning_texts("zh"), res.warning_texts("en")
    assert any("仅 40 个聚类" in t for t in zh) and any("Only 40 clusters" in t for t in en)
    assert any("ti" in t for t in en)  # column names, not internal ones
    assert "仅 40 个聚类" in str(res.summary("zh")) and "Only 40 clusters" in str(res.summary("en"))
    from evalkit.models.messages import MESSAGES

    assert set(MESSAGES) <= set(codes())


def test_no_language_in_estimators_and_deprecated_spellings(panel):
    with pytest.warns(DeprecationWarning, match="lang"):
        a = M.twfe(panel, y="y", x=["x"], unit="unit", time="year", lang="en")
    b = M.twfe(panel, y="y", x=["x"], unit="unit", time="year")
    assert a.se["x"] == b.se["x"] and str(a.summary()) == str(b.summary())
    for call in [lambda: M.ols("y ~ x", panel, lang="zh"), lambda: M.glm("y ~ x", panel, family="gaussian", lang="zh"),
                 lambda: M.event_study(panel, y="y", unit="unit", time="year", cohort="cohort", lang="en"),
                 lambda: M.staggered_did(panel, y="y", unit="unit", time="year", cohort="cohort", lang="en")]:
        with pytest.warns(DeprecationWarning, match="lang"):
            call()
    with pytest.warns(DeprecationWarning, match="cluster"):
        c = M.twfe(panel, y="y", x=["x"], unit="unit", time="year", cluster="region")
    d = M.twfe(panel, y="y", x=["x"], unit="unit", time="year", vcov={"CRV1": "region"})
    assert c.se["x"] == d.se["x"] and c.vcov == "CRV1(region)"
    with pytest.warns(DeprecationWarning, match="CRV3"):
        e = M.twfe(panel, y="y", x=["x"], unit="unit", time="year", vcov="CRV3")
    assert e.vcov == "CRV3(unit)"
    with pytest.raises(ValueError, match="not both"), pytest.warns(DeprecationWarning):
        M.twfe(panel, y="y", x=["x"], unit="unit", time="year", vcov={"CRV1": "unit"}, cluster="region")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spellings warn nothing
        M.twfe(panel, y="y", x=["x"], unit="unit", time="year", vcov={"CRV3": "unit"})
        M.event_study(panel, y="y", unit="unit", time="year", cohort="cohort", vcov={"CRV1": "region"})


def test_event_study_vcov_vocabulary(panel):
    cl = M.event_study(panel, y="y", unit="unit", time="year", cohort="cohort")
    iid = M.event_study(panel, y="y", unit="unit", time="year", cohort="cohort", vcov="iid")
    np.testing.assert_allclose(cl.params, iid.params)
    assert cl.vcov == "CRV1(unit)" and iid.vcov == "iid" and not np.allclose(cl.se, iid.se)
    with pytest.warns(DeprecationWarning):
        old = M.event_study(panel, y="y", unit="unit", time="year", cohort="cohort", cluster="region")
    assert old.vcov == "CRV1(region)"


def test_coefficient_tables_match_scipy_stats_distributions():
    """coef_table and critical_value use scipy.special directly (no scipy.stats import on the
    render path): the same numbers as scipy.stats's normal and Student t."""
    from scipy import stats

    from evalkit.models.results import coef_table, critical_value

    rng = np.random.default_rng(7)
    est, se = rng.normal(size=40), rng.uniform(0.05, 3, size=40)
    for df in (None, 2, 9.5, 400):
        dist = stats.norm if df is None else stats.t(df)
        table = coef_table(est, se, df=df, alpha=0.1)
        np.testing.assert_allclose(table["p"], 2 * dist.sf(np.abs(est / se)), rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(table["ci_high"], est + dist.ppf(0.95) * se, rtol=1e-13)
        assert critical_value(0.99, df) == pytest.approx(dist.ppf(0.995), rel=1e-13)


def _few_cluster_panel(seed: int, units: int = 11, periods: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"u": np.repeat([f"c{i}" for i in range(units)], periods), "t": np.tile(np.arange(periods), units)})
    fe_u = rng.normal(size=units)[np.repeat(np.arange(units), periods)]
    d["x1"] = rng.normal(size=len(d)) + 0.5 * fe_u
    d["x2"] = rng.gamma(2.0, size=len(d))
    d["y"] = 0.7 * d["x1"] - 0.2 * d["x2"] + fe_u + 0.1 * d["t"] + rng.normal(size=len(d)) * (1 + fe_u**2)
    return d


@pytest.mark.parametrize("spec", ["twoways", "unit FE", "no FE", "rows dropped", "transformed term"])
def test_few_cluster_crv3_by_least_squares_equals_pyfixest_refits(monkeypatch, spec):
    """The few-cluster CRV3 jackknife solved in numpy (fixed effects as dummies) gives pyfixest's
    refit-per-cluster numbers (on the pyfixest route; evalkit's own route is in test_models_absorbed)."""
    from evalkit.models import fixest_route

    d = _few_cluster_panel(3)
    pf = {"engine": "pyfixest"}
    fit = {
        "twoways": lambda: M.twfe(d, y="y", x=["x1", "x2"], unit="u", time="t", wild_reps=99, seed=1, **pf),
        "unit FE": lambda: M.ols("y ~ x1 + x2 | u", d, vcov={"CRV1": "u"}, wild_reps=99, seed=1, **pf),
        "no FE": lambda: M.ols("y ~ x1 + x2", d, vcov={"CRV1": "u"}, wild_reps=99, seed=1, **pf),
        "rows dropped": lambda: M.twfe(d.assign(x2=d["x2"].where(d.index % 7 != 3)), y="y", x=["x1", "x2"],
                                       unit="u", time="t", wild_reps=99, seed=1, **pf),  # fmt: skip
        "transformed term": lambda: M.ols("y ~ x1 + I(x2 * 2) | u + t", d, vcov={"CRV1": "u"}, wild_reps=99, seed=1,
                                          **pf),  # fmt: skip
    }[spec]
    calls = []
    real = fixest_route.jackknife_sum
    monkeypatch.setattr(fixest_route, "jackknife_sum", lambda *a: calls.append(real(*a)) or calls[-1])
    fast = fit().table
    assert calls and calls[-1] is not None, "the least-squares jackknife was not used"
    monkeypatch.setattr(fixest_route, "jackknife_sum", lambda *a: None)
    slow = fit().table
    assert {"se_crv3", "p_crv3"} <= set(fast.columns)
    np.testing.assert_allclose(fast["se_crv3"], slow["se_crv3"], rtol=1e-6)
    np.testing.assert_allclose(fast["p_crv3"], slow["p_crv3"], rtol=1e-6, atol=1e-12)


def test_few_cluster_crv3_leaves_unusual_fits_to_pyfixest():
    """Weights or a transformed regressor: no shortcut (None), so pyfixest refits; a regressor
    unidentified without one cluster is solved by minimum norm instead of pyfixest's refit."""
    import warnings as _w

    import pyfixest as pf

    from evalkit.models.fixest_route import jackknife_sum

    d = _few_cluster_panel(4)
    with _w.catch_warnings():
        _w.simplefilter("ignore")
        weighted = pf.feols("y ~ x1 | u + t", d.assign(w=1.0 + d["x2"]), weights="w", vcov={"CRV1": "u"})
        logged = pf.feols("y ~ np.log(x2) | u + t", d, vcov={"CRV1": "u"})
        only_in_c0 = d.assign(z=np.where(d["u"] == "c0", d["x1"], 0.0))
        lone = pf.feols("y ~ x1 + z | u + t", only_in_c0, vcov={"CRV1": "u"})
    assert jackknife_sum(weighted, d.assign(w=1.0 + d["x2"]), "u") is None
    assert jackknife_sum(logged, d, "u") is None
    assert jackknife_sum(lone, only_in_c0, "u") is not None  # minimum norm (test_models_absorbed)

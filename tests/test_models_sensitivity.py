"""Rambachan–Roth sensitivity (honest_did) and Roth pre-trend power (pretrend_power).

Checks: (1) the published numbers of R HonestDiD's README (Medicaid expansion, ehec data shipped
with moderndid; TWFE event study by pyfixest as in the README); (2) agreement to 1e-6 on mpdta
with a second implementation (smoothness FLCI: the wrapped diff_diff optimiser against
moderndid.didhonest; the M = 0 FLCI against its closed form); (3) pre-trend power against the
closed form for one pre-period and against simulation.
"""
from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from evalkit.errors import ModelInputError
from evalkit.models.sensitivity import (
    event_estimates,
    event_vcov,
    honest_did,
    pretrend_power,
)

# Looked up, not imported: importing moderndid takes ~2 s, which every test worker would pay when
# collecting this file although only one runs it (the tests import what they use).
for _needed in ("moderndid", "diff_diff"):
    if importlib.util.find_spec(_needed) is None:
        pytest.skip(f"{_needed} is not installed", allow_module_level=True)


def _frame(x):
    return x.to_pandas() if hasattr(x, "to_pandas") else pd.DataFrame(x)


@pytest.fixture(scope="module")
def medicaid():
    import moderndid as md
    import pyfixest as pf

    df = _frame(md.load_ehec())
    d = df[(df.year < 2016) & (df.yexp2.isna() | (df.yexp2 != 2015))].copy()
    d["D"] = (d.yexp2 == 2014).astype(float)
    years = [2008, 2009, 2010, 2011, 2012, 2014, 2015]
    for y in years:
        d[f"y{y}"] = ((d.year == y) * d.D).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols("dins ~ " + " + ".join(f"y{y}" for y in years) + " | stfips + year", d,
                     vcov={"CRV1": "stfips"})
    return m.coef().to_numpy(), np.asarray(m._vcov)


@pytest.fixture(scope="module")
def mpdta_did():
    import moderndid as md

    from evalkit.models import staggered_did

    d = _frame(md.load_mpdta())
    return staggered_did(d, y="lemp", unit="countyreal", time="year", cohort="first.treat",
                         base_period="universal")


def test_event_vcov_reproduces_analytic_se(mpdta_did):
    V = event_vcov(mpdta_did)
    dyn = mpdta_did.aggregate("dynamic").table
    se = np.sqrt(np.diag(V.to_numpy()))
    ok = dyn["se"].notna().to_numpy()
    np.testing.assert_allclose(se[ok], dyn["se"].to_numpy()[ok], rtol=1e-10)
    est = event_estimates(mpdta_did)
    assert (est.n_pre, est.n_post) == (3, 4) and est.event_times == (-4, -3, -2, 0, 1, 2, 3)


def test_smoothness_published_medicaid(medicaid):
    """R README: createSensitivityResults(..., Mvec = seq(0, 0.05, by = 0.01)). R's FLCI draws the
    folded-normal quantile from 10^6 simulated normals, so its numbers carry up to ~7e-5 noise; at M=0
    the exact value is the closed form (next test), 0.025971 where R prints 0.0259."""
    b, V = medicaid
    r = honest_did((b, V, 5, 2), method="smoothness", Mbar=[0.01, 0.02, 0.03, 0.04, 0.05])
    lb = [0.0132, 0.00286, -0.00714, -0.0171, -0.0271]
    ub = [0.0787, 0.0907, 0.101, 0.111, 0.121]
    np.testing.assert_allclose(r.table["ci_low"], lb, atol=1e-4)
    np.testing.assert_allclose(r.table["ci_high"], ub, atol=5e-4)
    assert r.ci_method == "FLCI"
    assert r.breakdown == pytest.approx(0.02)  # README: "breakdown value … M ≈ 0.03" (0.03 includes 0)


@pytest.mark.slow  # moderndid's C-LF takes tens of seconds per call: make test-slow
def test_relative_magnitudes_published_medicaid(medicaid):
    """R README: createSensitivityResults_relativeMagnitudes(..., Mbarvec = seq(0.5, 2, by = 0.5)),
    C-LF. Endpoints are points of a 1 000-point grid and the LF critical value is simulated, so we
    ask agreement within one grid step plus R's display rounding."""
    b, V = medicaid
    r = honest_did((b, V, 5, 2), Mbar=[1.0, 1.5])
    assert r.ci_method == "C-LF" and r.method == "relative_magnitudes"
    sd = np.sqrt(V[5, 5])
    step = 2 * (20 * sd + 0.0) / 999
    tol = step + 5e-5
    np.testing.assert_allclose(r.table["ci_low"], [0.0171, 0.00859], atol=tol)
    np.testing.assert_allclose(r.table["ci_high"], [0.0720, 0.0796], atol=tol)


def test_flci_m0_equals_closed_form(mpdta_did):
    est = event_estimates(mpdta_did)
    b, V, K = est.beta, est.sigma, est.n_pre
    T = est.n_post
    l = np.eye(T)[0]
    t = np.r_[np.arange(-K, 0), np.arange(1, T + 1)].astype(float)
    kkt = np.block([[2 * V[:K, :K], t[:K, None]], [t[None, :K], np.zeros((1, 1))]])
    w = np.linalg.solve(kkt, np.r_[-2 * V[:K, K:] @ l, -(l @ t[K:])])[:K]
    v = np.r_[w, l]
    z = norm.ppf(0.975)
    r = honest_did(mpdta_did, method="smoothness", Mbar=[0.0])
    np.testing.assert_allclose([r.table["ci_low"][0], r.table["ci_high"][0]],
                               [v @ b - z * np.sqrt(v @ V @ v), v @ b + z * np.sqrt(v @ V @ v)], atol=1e-10)


def test_smoothness_mpdta_agrees_with_moderndid(mpdta_did):
    from moderndid.didhonest import create_sensitivity_results_sm

    est = event_estimates(mpdta_did)
    Ms = [0.005, 0.01, 0.02, 0.03, 0.05]
    for target, l in [("first", np.eye(4)[0]), ("average", np.full(4, 0.25))]:
        r = honest_did(mpdta_did, method="smoothness", Mbar=Ms, target=target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = create_sensitivity_results_sm(betahat=est.beta, sigma=est.sigma, num_pre_periods=3,
                                                num_post_periods=4, m_vec=Ms, l_vec=l)
        np.testing.assert_allclose(r.table["ci_low"], ref["lb"].to_numpy(), atol=1e-6)
        np.testing.assert_allclose(r.table["ci_high"], ref["ub"].to_numpy(), atol=1e-6)


@pytest.mark.slow  # moderndid's C-LF takes tens of seconds per call: make test-slow
def test_relative_magnitudes_mpdta_results_object(mpdta_did):
    with pytest.warns(DeprecationWarning, match="lang"):
        r = honest_did(mpdta_did, Mbar=[0.5, 1.0], grid_points=200, lang="en")
    t = r.tidy()
    assert list(t.columns[:6]) == ["term", "estimate", "se", "ci_low", "ci_high", "p"]
    assert t["term"].tolist() == ["original", "Mbar=0.5", "Mbar=1"]
    assert t["estimate"].iloc[1:].isna().all() and t["p"].iloc[1:].isna().all()
    # robust sets widen with M̄ and contain the identified point under parallel trends
    assert (np.diff(r.table["ci_low"]) <= 0).all() and (np.diff(r.table["ci_high"]) >= 0).all()
    assert r.estimate == pytest.approx(mpdta_did.aggregate("dynamic").table.loc[0, "estimate"])
    assert r.breakdown is None  # the on-impact effect is not significant even under parallel trends
    s = str(r.summary("en"))
    assert "C-LF" in s and "breakdown" in s and "突破值" in str(r.summary())
    fig = r.plot()
    assert type(fig).__name__ == "Figure" and hasattr(fig, "_repr_html_") or hasattr(fig, "savefig")
    assert len(fig.axes[0].containers) >= 2


@pytest.mark.slow  # moderndid's C-LF takes tens of seconds per call: make test-slow
def test_breakdown_and_average_target(medicaid):
    b, V = medicaid
    r = honest_did((b, V, 5, 2), method="smoothness", Mbar=[0, 0.01, 0.02, 0.03], target="average")
    assert r.target == "average" and np.allclose(r.l_vec, [0.5, 0.5])
    excl = (r.table["ci_low"] > 0) | (r.table["ci_high"] < 0)
    assert r.breakdown == max(r.table["M"][excl])


def test_bad_inputs():
    with pytest.raises(ModelInputError):
        honest_did((np.zeros(3), np.eye(2), 1, 2))
    with pytest.raises(ModelInputError):
        honest_did((np.zeros(3), np.eye(3)))  # no n_pre / n_post
    with pytest.raises(ModelInputError):
        honest_did((np.zeros(3), -np.eye(3), 1, 2), method="smoothness")
    with pytest.raises(ModelInputError, match="at least 2 pre-period"):
        honest_did((np.zeros(3), np.eye(3), 1, 2))
    with pytest.raises(ModelInputError):
        honest_did("nope")
    with pytest.raises(ModelInputError):
        pretrend_power((np.zeros(3), np.eye(3), 1, 2), power=[1.2])


@pytest.mark.parametrize("sd", [0.5, 2.0])
def test_pretrend_power_single_period_closed_form(sd):
    """One pre-period, trend δ_{-1} = −s: power(s) = Φ(−c − s/σ) + Φ(−c + s/σ). At 80 % the lower
    tail is negligible, so s ≈ σ(c + Φ⁻¹(0.8)); the exact root is checked to 1e-10."""
    from scipy.optimize import brentq

    V = np.diag([sd ** 2, 1.0])
    r = pretrend_power((np.zeros(2), V, 1, 1))
    c = norm.ppf(0.975)
    for p, s in zip(r.table["power"], r.table["slope"]):
        exact = brentq(lambda x, p=p: norm.cdf(-c - x / sd) + norm.sf(c - x / sd) - p, 0, 20 * sd, xtol=1e-14)
        assert s == pytest.approx(exact, abs=1e-10)
    assert r.table["slope"][1] == pytest.approx(sd * (c + norm.ppf(0.8)), rel=1e-5)
    w = pretrend_power((np.zeros(2), V, 1, 1), test="wald")  # one coefficient: the same test
    np.testing.assert_allclose(w.table["slope"], r.table["slope"], rtol=1e-8)


def test_pretrend_power_with_many_pre_periods_is_integrated_to_its_tolerance():
    """Twelve correlated pre-periods (as a review's event study has): each rejection probability is
    a 12-dimensional normal rectangle. At the default tolerance (0.001, R pretrends's) the power
    at the slopes found is the target to within it, checked by one million direct draws; a ten
    times smaller tolerance moves the slopes by no more than the power curve allows."""
    K = 12
    t = np.arange(-K, 0, dtype=float)
    sd = np.linspace(1.3, 4.5, K)
    corr = 0.35 ** np.abs(np.subtract.outer(t, t))
    V = np.eye(K + 2)
    V[:K, :K] = corr * np.outer(sd, sd)
    coarse = pretrend_power((np.zeros(K + 2), V, K, 2))
    fine = pretrend_power((np.zeros(K + 2), V, K, 2), tolerance=1e-4)
    assert coarse.tolerance == 1e-3 and fine.tolerance == 1e-4
    c = norm.ppf(0.975)
    rng = np.random.default_rng(7)
    n = 1_000_000
    z = rng.standard_normal((n, K)) @ np.linalg.cholesky(corr).T
    for p, s in zip(coarse.table["power"], coarse.table["slope"]):
        rej = (np.abs(z + s * t / sd) > c).any(axis=1).mean()
        assert abs(rej - p) < 4 * np.sqrt(p * (1 - p) / n) + coarse.tolerance
    for (p, s), s_fine in zip(coarse.table[["power", "slope"]].itertuples(index=False), fine.table["slope"]):
        steep = (fine.power_at(s_fine * 1.01) - fine.power_at(s_fine * 0.99)) / (0.02 * s_fine)
        assert abs(s - s_fine) <= 2 * (coarse.tolerance + fine.tolerance) / steep
    with pytest.raises(ModelInputError, match="tolerance"):
        pretrend_power((np.zeros(K + 2), V, K, 2), tolerance=0.0)
    with pytest.raises(ModelInputError, match="tolerance"):
        pretrend_power((np.zeros(K + 2), V, K, 2), tolerance=0.5)


def test_pretrend_power_monte_carlo(mpdta_did):
    r = pretrend_power(mpdta_did)
    est = event_estimates(mpdta_did)
    S = est.sigma[:3, :3]
    c = norm.ppf(0.975)
    rng = np.random.default_rng(1)
    n = 200_000
    for p, s in zip(r.table["power"], r.table["slope"]):
        draws = rng.multivariate_normal(s * np.array([-3.0, -2.0, -1.0]), S, size=n)
        rej = (np.abs(draws / np.sqrt(np.diag(S))) > c).any(axis=1).mean()
        assert abs(rej - p) < 4 * np.sqrt(p * (1 - p) / n) + r.tolerance  # integrated to ±tolerance
    assert r.tidy()["estimate"].tolist() == r.table["slope"].tolist()
    fig = r.plot()
    assert len(fig.axes) >= 1 and fig.axes[0].has_data()

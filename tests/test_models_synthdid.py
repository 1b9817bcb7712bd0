"""evalkit.models.synthetic_did: Proposition 99 (Arkhangelsky et al. 2021, Table 1), closed forms
(2×2 DiD, convex-combination SC weights, constant effects), staggered cohorts, SE rules, input
checks and the results API."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ModelInputError
from evalkit.models.synthdid import SynthDidResults, synthetic_did

SHARED = Path(os.environ.get("EVALKIT_SHARED", Path(__file__).resolve().parents[2] / "shared"))
PROP99 = SHARED / "reference" / "data" / "california_prop99.csv"


@pytest.fixture(scope="module")
def prop99():
    if not PROP99.exists():
        pytest.skip(f"reference data not available at {PROP99} (set EVALKIT_SHARED)")
    return pd.read_csv(PROP99, sep=";")


def _fit(d, **kw):
    return synthetic_did(d, y="PacksPerCapita", unit="State", time="Year", treated="treated", **kw)


# Arkhangelsky et al. (2021) Table 1 / the synthdid R package.
PUBLISHED = {"sdid": (-15.604, 8.4), "sc": (-19.620, 9.9), "did": (-27.349, 17.7)}


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_prop99_point_estimates(prop99, method):
    res = _fit(prop99, method=method, se=None)
    assert res.estimate == pytest.approx(PUBLISHED[method][0], abs=1e-3)
    assert res.se is None
    assert res.unit_weights.sum() == pytest.approx(1.0)
    assert (res.unit_weights >= 0).all() and len(res.unit_weights) == 38
    assert list(res.time_weights.index) == list(range(1970, 1989))


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_prop99_placebo_se_near_table1_and_reproducible(prop99, method):
    res = _fit(prop99, method=method, se="placebo", reps=200, seed=0)
    published = PUBLISHED[method][1]
    assert abs(res.se / published - 1) <= 0.25, res.se
    again = _fit(prop99, method=method, se="placebo", reps=200, seed=0)
    assert again.se == res.se
    assert len(res.replicates[1989]) == 200


def test_prop99_weights_known_pattern(prop99):
    """SDID spreads weight over many states (Nevada, New Hampshire, Connecticut largest); SC
    concentrates it (Utah, Montana, Nevada, Connecticut), as in the paper's Figure 2."""
    sdid = _fit(prop99, method="sdid", se=None).unit_weights.sort_values(ascending=False)
    sc = _fit(prop99, method="sc", se=None)
    assert list(sdid.index[:3]) == ["Nevada", "New Hampshire", "Connecticut"]
    assert list(sc.unit_weights.sort_values(ascending=False).index[:4]) == ["Utah", "Montana", "Nevada", "Connecticut"]
    assert (sc.time_weights == 0).all()  # SC has no time weights


# -- closed forms on constructed panels --------------------------------------------------------
def _panel(Y: np.ndarray, names: list[str], start: dict[str, int]) -> pd.DataFrame:
    rows = [(u, t, Y[i, t], int(u in start and t >= start[u])) for i, u in enumerate(names)
            for t in range(Y.shape[1])]
    return pd.DataFrame(rows, columns=["u", "t", "y", "d"])


def _sdid(d, **kw):
    return synthetic_did(d, y="y", unit="u", time="t", treated="d", **kw)


def test_did_equals_two_by_two_difference_of_means():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(9, 10)) + np.arange(10) * 0.3
    names = [f"c{i}" for i in range(6)] + ["t0", "t1", "t2"]
    d = _panel(Y, names, {"t0": 6, "t1": 6, "t2": 6})
    tr, co = Y[6:], Y[:6]
    expected = (tr[:, 6:].mean() - tr[:, :6].mean()) - (co[:, 6:].mean() - co[:, :6].mean())
    res = _sdid(d, method="did", se=None)
    assert res.estimate == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(res.unit_weights, 1 / 6)
    np.testing.assert_allclose(res.time_weights, 1 / 6)


@pytest.fixture(scope="module")
def convex():
    """A treated unit equal to 0.5·c0 + 0.3·c3 + 0.2·c7 of noisy factor-model controls, +4 after t=30."""
    rng = np.random.default_rng(1)
    n0, t0, t1 = 20, 30, 6
    F = rng.normal(size=(t0 + t1, 3)).cumsum(axis=0)
    Yc = rng.normal(size=(n0, 3)) @ F.T + 0.5 * rng.normal(size=(n0, t0 + t1)) + 10
    w = np.zeros(n0)
    w[[0, 3, 7]] = [0.5, 0.3, 0.2]
    ytr = w @ Yc
    ytr[t0:] += 4.0
    names = [f"c{i:02d}" for i in range(n0)] + ["tr"]
    return _panel(np.vstack([Yc, ytr]), names, {"tr": t0}), w


def test_sc_recovers_convex_combination_weights(convex):
    d, w = convex
    res = _sdid(d, method="sc", se=None)
    # Frank–Wolfe stops on synthdid's min.decrease rule, so the weights are close, not exact.
    np.testing.assert_allclose(res.unit_weights.to_numpy(), w, atol=0.03)
    assert res.estimate == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize("method", ["sdid", "sc", "did"])
def test_constant_effect_on_additive_panel_is_recovered(method):
    """y = a_i + b_t (+3 for the treated unit after t=12): every method finds the 3."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=12) * 3, rng.normal(size=18).cumsum()
    Y = a[:, None] + b[None, :]
    Y = np.vstack([Y, np.median(a) + b])
    Y[-1, 12:] += 3.0
    d = _panel(Y, [f"c{i:02d}" for i in range(12)] + ["tr"], {"tr": 12})
    assert _sdid(d, method=method, se=None).estimate == pytest.approx(3.0, abs=1e-6)


def _staggered_panel(seed=3, effects=(2.0, 5.0)):
    rng = np.random.default_rng(seed)
    n, T = 14, 12
    a, b = rng.normal(size=n) * 2, rng.normal(size=T).cumsum()
    Y = a[:, None] + b[None, :] + 0.01 * rng.normal(size=(n, T))
    names = [f"u{i:02d}" for i in range(n)]
    start = {"u00": 5, "u01": 5, "u02": 5, "u03": 8, "u04": 8}
    for u, s in start.items():
        Y[names.index(u), s:] += effects[0] if s == 5 else effects[1]
    return _panel(Y, names, start)


def test_staggered_cohorts_are_blocks_weighted_by_treated_unit_periods():
    d = _staggered_panel()
    res = _sdid(d, method="sdid", se=None)
    c = res.cohorts.set_index("start")
    assert list(c.index) == [5, 8]
    assert list(c["n_treated"]) == [3, 2] and list(c["n_post"]) == [7, 4]
    np.testing.assert_allclose(c["weight"], [21 / 29, 8 / 29])
    assert res.estimate == pytest.approx(c["weight"] @ c["estimate"])
    assert c.loc[5, "estimate"] == pytest.approx(2.0, abs=0.05)
    assert c.loc[8, "estimate"] == pytest.approx(5.0, abs=0.05)
    # each block is the cohort plus the never-treated units, estimated alone
    alone = _sdid(d[~d["u"].isin(["u00", "u01", "u02"])], method="sdid", se=None)
    assert alone.estimate == pytest.approx(c.loc[8, "estimate"], abs=1e-12)
    assert "treated unit-periods" in res.method_note("en")
    assert "加权" in res.method_note()
    assert len(res.tidy()) == 3 and res.unit_weights.sum() == pytest.approx(1.0)
    assert res.time_weights.sum() == pytest.approx(1.0)


def test_staggered_se_combines_cohorts_as_independent():
    d = _staggered_panel()
    res = _sdid(d, method="did", se="placebo", reps=50, seed=1)
    c = res.cohorts
    assert res.se == pytest.approx(np.sqrt(np.sum(c["weight"] ** 2 * c["se"] ** 2)))
    assert res.se == _sdid(d, method="did", se="placebo", reps=50, seed=1).se
    assert res.se != _sdid(d, method="did", se="placebo", reps=50, seed=2).se


def test_jackknife_and_bootstrap_with_several_treated_units():
    d = _staggered_panel()
    d = d[~d["u"].isin(["u03", "u04"])]  # one cohort of three
    jk = _sdid(d, method="sdid", se="jackknife")
    bs = _sdid(d, method="sdid", se="bootstrap", reps=40, seed=0)
    assert np.isfinite(jk.se) and jk.se > 0 and np.isfinite(bs.se) and bs.se > 0
    assert len(bs.replicates[5]) == 40 and len(jk.replicates[5]) == d["u"].nunique()
    # DID jackknife with fixed uniform weights: the delete-one-unit jackknife of the 2x2 estimate
    jd = _sdid(d, method="did", se="jackknife")
    wide = d.pivot(index="u", columns="t", values="y")
    gap = wide.loc[:, 5:].mean(axis=1) - wide.loc[:, :4].mean(axis=1)
    treated = gap.index.isin(["u00", "u01", "u02"])
    u = np.array([gap[treated & (gap.index != k)].mean() - gap[~treated & (gap.index != k)].mean() for k in gap.index])
    n = len(u)
    assert jd.se == pytest.approx(np.sqrt((n - 1) / n * (n - 1) * u.var(ddof=1)), rel=1e-10)


@pytest.mark.parametrize("se", ["jackknife", "bootstrap"])
def test_one_treated_unit_refuses_jackknife_and_bootstrap(convex, se):
    d, _ = convex
    with pytest.raises(ModelInputError, match="one treated unit"):
        _sdid(d, se=se)


def test_placebo_needs_more_controls_than_treated():
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(5, 8))
    d = _panel(Y, ["c0", "c1", "t0", "t1", "t2"], {"t0": 4, "t1": 4, "t2": 4})
    with pytest.raises(ModelInputError, match="more never-treated units"):
        _sdid(d, se="placebo")


# -- input checks --------------------------------------------------------------------------------
@pytest.fixture()
def small():
    rng = np.random.default_rng(5)
    return _panel(rng.normal(size=(6, 8)), [f"u{i}" for i in range(6)], {"u5": 4})


def test_input_errors(small):
    with pytest.raises(ModelInputError, match="not found"):
        synthetic_did(small, y="nope", unit="u", time="t", treated="d")
    with pytest.raises(ModelInputError, match="No treated unit"):
        _sdid(small.assign(d=0))
    with pytest.raises(ModelInputError, match="never-treated"):
        _sdid(small.assign(d=(small["t"] >= 3).astype(int)))
    with pytest.raises(ModelInputError, match="Unbalanced"):
        _sdid(small.iloc[1:])
    with pytest.raises(ModelInputError, match="0 or 1"):
        _sdid(small.assign(d=small["d"] * 2))
    off = small.copy()
    off.loc[(off["u"] == "u5") & (off["t"] == 7), "d"] = 0
    with pytest.raises(ModelInputError, match="switches off"):
        _sdid(off)
    first = small.copy()
    first.loc[first["u"] == "u4", "d"] = 1
    with pytest.raises(ModelInputError, match="first period"):
        _sdid(first)
    with pytest.raises(ModelInputError, match="missing values"):
        _sdid(small.assign(y=small["y"].where(small.index != 3)))
    with pytest.raises(ModelInputError, match="share a"):
        _sdid(pd.concat([small, small.iloc[[0]]]))
    with pytest.raises(ValueError):
        _sdid(small, method="synth")


def test_boolean_treatment_and_string_periods(small):
    d = small.assign(d=small["d"].astype(bool), t=small["t"].map(lambda t: f"{2019 + t // 2}H{t % 2 + 1}"))
    res = _sdid(d, method="did", se=None)
    ref = _sdid(small, method="did", se=None)
    assert res.estimate == pytest.approx(ref.estimate)
    assert res.time_weights.index[0] == "2019H1"


# -- results API ---------------------------------------------------------------------------------
def test_results_api(convex):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    d, _ = convex
    res = _sdid(d, method="sdid", se="placebo", reps=30, seed=0)
    assert isinstance(res, SynthDidResults)
    t = res.tidy()
    assert list(t.columns[:6]) == ["term", "estimate", "se", "ci_low", "ci_high", "p"]
    lo, hi = res.overall_ci(0.9)
    assert lo < res.estimate < hi and res.overall_ci(0.99)[0] < lo
    assert t.loc[0, "ci_low"] == pytest.approx(res.overall_ci(0.95)[0])
    assert res.ci(0.9).loc["ATT", "ci_low"] == pytest.approx(lo)
    from evalkit.models.results import ResultsProtocol

    assert isinstance(res, ResultsProtocol) and res.warning_texts("en") == []
    assert "合成双重差分" in str(res.summary()) and "Synthetic DiD" in str(res.summary("en"))
    assert "<table" in res._repr_html_()
    for kind in ("trajectory", "weights"):
        fig = res.plot(kind=kind)
        assert isinstance(fig, Figure)
        FigureCanvasAgg(fig).draw()
    staggered = _sdid(_staggered_panel(), se=None).plot("en")
    FigureCanvasAgg(staggered).draw()
    assert len(staggered.axes) >= 2
    with pytest.raises(ValueError):
        res.plot(kind="pie")


def _r_sc_weight_fw(A, b, zeta, intercept, x, min_decrease, max_iter):
    """synthdid's ``sc.weight.fw`` and ``fw.step`` (R, synthdid 0.0.9) line by line, one problem."""
    A, b, x = A.astype(float), b.astype(float), x.astype(float)
    if intercept:
        A = A - A.mean(axis=0)
        b = b - b.mean()
    eta = A.shape[0] * zeta**2
    vals = []
    t = 0
    while t < max_iter and (t < 2 or vals[t - 2] - vals[t - 1] > min_decrease**2):
        t += 1
        Ax = A @ x
        half_grad = (Ax - b) @ A + eta * x
        i = int(np.argmin(half_grad))
        d_x = -x.copy()
        d_x[i] = 1 - x[i]
        if np.all(d_x == 0):
            x = x
        else:
            d_err = A[:, i] - Ax
            step = -(half_grad @ d_x) / (np.sum(d_err**2) + eta * np.sum(d_x**2))
            x = x + min(1.0, max(0.0, step)) * d_x
        err = A @ x - b
        vals.append(zeta**2 * np.sum(x**2) + np.sum(err**2) / len(b))
    return x


@pytest.mark.parametrize("intercept", [True, False])
def test_batched_frank_wolfe_equals_r_one_problem_at_a_time(intercept):
    """The batched solver (padded problems of different sizes, A·x carried between iterations)
    gives what R's loop gives for each problem alone."""
    from evalkit.models.synthdid_solver import _fw

    rng = np.random.default_rng(7)
    shapes = [(12, 20), (9, 14), (12, 7), (5, 20)]  # (rows, columns) of each problem
    m, n = max(s[0] for s in shapes), max(s[1] for s in shapes)
    A = np.zeros((len(shapes), m, n))
    b = np.zeros((len(shapes), m))
    rmask = np.zeros((len(shapes), m), dtype=bool)
    cmask = np.zeros((len(shapes), n), dtype=bool)
    x0 = np.zeros((len(shapes), n))
    for r, (mr, nr) in enumerate(shapes):
        A[r, :mr, :nr] = rng.normal(size=(mr, nr)).cumsum(axis=0)
        b[r, :mr] = A[r, :mr, :nr] @ rng.dirichlet(np.ones(nr)) + rng.normal(scale=0.3, size=mr)
        rmask[r, :mr], cmask[r, :nr] = True, True
        x0[r, :nr] = 1.0 / nr
    got = _fw(A, b, rmask, cmask, 0.3, intercept, x0, 1e-5 * 0.5, 10_000)
    for r, (mr, nr) in enumerate(shapes):
        want = _r_sc_weight_fw(A[r, :mr, :nr], b[r, :mr], 0.3, intercept, x0[r, :nr], 1e-5 * 0.5, 10_000)
        np.testing.assert_allclose(got[r, :nr], want, rtol=0, atol=1e-10)
        assert np.all(got[r, nr:] == 0)

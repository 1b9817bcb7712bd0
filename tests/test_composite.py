"""Composite methods against published values, closed forms and second implementations.

Published numbers are copied here with their sources (tests never read ../shared)."""

import numpy as np
import pandas as pd
import pytest

from evalkit import composite as c
from evalkit.errors import ChoiceError, ModelInputError

# ----------------------------------------------------------------------------- entropy
XU_2004 = [[30, 30, 38, 29], [19, 54, 86, 29], [19, 15, 85, 28.9], [68, 70, 60, 29]]
ZP_2016 = [[3.0, 100, 10, 7], [2.5, 80, 8, 5], [1.8, 50, 20, 11], [2.2, 70, 12, 9]]


def test_entropy_classic_xu_2004():
    # Xu (2004), EJOR 156(2):530-532: w = [0.4630, 0.3992, 0.1378, 0.0000] (4 dp)
    w = c.entropy_weights(XU_2004, form="classic")
    assert w.round(4).tolist() == [0.4630, 0.3992, 0.1378, 0.0000]


def test_entropy_classic_zavadskas_podvezko_2016():
    # Zavadskas & Podvezko (2016), IJITDM 15(2):267-283, entropy on raw data (types ignored)
    w = c.entropy_weights(ZP_2016, form="classic")
    assert w.round(4).tolist() == [0.1146, 0.1981, 0.4185, 0.2689]


def test_entropy_classic_matches_scipy_entropy():
    # second implementation: scipy.stats.entropy normalises each column to p itself
    from scipy.stats import entropy

    X = np.random.default_rng(0).uniform(0.5, 10, (12, 5))
    e = entropy(X, axis=0) / np.log(12)
    expected = (1 - e) / (1 - e).sum()
    np.testing.assert_allclose(c.entropy_weights(X).to_numpy(), expected, rtol=1e-12)


def test_entropy_minmax_shift_zero_uses_zero_log_zero():
    # column [1, 2, 3] → z = [0, .5, 1] → p = [0, 1/3, 2/3]; the 0 contributes 0·ln0 := 0
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]})
    w = c.entropy_weights(X, form="minmax", shift=0)
    e = -(1 / 3 * np.log(1 / 3) + 2 / 3 * np.log(2 / 3)) / np.log(3)
    # b has the same multiset of z values, so both columns have entropy e and equal weights
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w.to_numpy(), [0.5, 0.5])
    X2 = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 1.0, 3.0]})   # z_b = [0, 0, 1] → e_b = 0
    w2 = c.entropy_weights(X2, form="minmax", shift=0)
    np.testing.assert_allclose(w2.to_numpy(), np.array([1 - e, 1.0]) / (2 - e))


def test_entropy_minmax_direction_and_shift():
    X = np.random.default_rng(1).uniform(1, 5, (8, 3))
    flipped = X.copy()
    flipped[:, 1] = -X[:, 1]
    a = c.entropy_weights(X, directions=[1, -1, 1], form="minmax")
    b = c.entropy_weights(flipped, directions=[1, 1, 1], form="minmax")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12)
    assert not np.allclose(c.entropy_weights(X, form="minmax", shift=0.5),
                           c.entropy_weights(X, form="minmax", shift=1e-4))


# ----------------------------------------------------------------------------- AHP
SAATY_DRINKS = [[1, 9, 5, 2, 1, 1, 1 / 2], [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
                [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9], [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
                [1, 9, 4, 2, 1, 2, 1 / 2], [1, 9, 3, 1, 1 / 2, 1, 1 / 3], [2, 9, 9, 3, 2, 3, 1]]


def test_ahp_saaty_2008_drinks():
    # Saaty (2008), Int. J. Services Sciences 1(1):83-98, drinks consumption in the USA
    r = c.ahp(SAATY_DRINKS, ri="saaty")
    assert r.weights.round(3).tolist() == [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    assert round(r.cr, 3) == 0.022
    assert r.consistent
    # the Chinese RI table changes only the denominator: RI(7) = 1.36 instead of 1.32
    r_cn = c.ahp(SAATY_DRINKS, ri="cn")
    assert r_cn.ri == 1.36 and r.ri == 1.32
    assert r_cn.cr == pytest.approx(r.consistency_index / 1.36)


def test_ahp_consistent_matrix_closed_form():
    w = np.array([0.5, 0.3, 0.15, 0.05])
    r = c.ahp(pd.DataFrame(w[:, None] / w[None, :], index=list("abcd"), columns=list("abcd")))
    np.testing.assert_allclose(r.weights.to_numpy(), w, atol=1e-12)
    assert r.lambda_max == pytest.approx(4.0) and abs(r.cr) < 1e-12
    assert list(r.weights.index) == list("abcd")


def test_ahp_errors():
    bad = [[1, 3], [3, 1]]
    with pytest.raises(ModelInputError, match=r"not reciprocal at \(1, 2\)"):
        c.ahp(bad)
    with pytest.raises(ValueError, match="'saaty', 'cn'"):
        c.ahp(SAATY_DRINKS, ri="golden")


# ----------------------------------------------------------------------------- CCD
def test_ccd_standard_open_cases():
    # /work/shared/reference: two systems, alpha = beta = 0.5
    U = pd.DataFrame({"u1": [0.30, 0.55, 0.10], "u2": [0.60, 0.50, 0.90]})
    out = c.coupling_coordination(U)
    np.testing.assert_allclose(out["C"], [0.942809, 0.998866, 0.600000], atol=5e-7)
    np.testing.assert_allclose(out["D"], [0.651356, 0.724158, 0.547723], atol=5e-7)
    assert out["band_zh"].tolist() == ["初级协调", "中级协调", "勉强协调"]


# Normalised gzma scores (4 subsystems) and the printed output of coupling::ccd() (R package
# `coupling` by Wenbo Lyu, vignette "Coupling Coordination Degree Model and Metacoupling
# Analysis"), methods "standard" and "wang" (Wang et al. 2021), equal weights.
GZMA = [[0.8179733, 0.3246648, 0.6590316, 0.1308531], [0.3020233, 0.1318888, 0.4046987, 0.5173794],
        [0.9209903, 0.3353516, 0.6921477, 0.3141320], [0.9604095, 0.3914758, 0.7099999, 0.4316421],
        [0.9061589, 0.3473603, 0.7297774, 0.6909494], [0.9456379, 0.4391423, 0.7304117, 0.4792905]]
GZMA_STANDARD = [(0.8051958, 0.6237105), (0.8914577, 0.5497290), (0.8999423, 0.7134825),
                 (0.9346128, 0.7632959), (0.9440912, 0.7944703), (0.9519923, 0.7858001)]
GZMA_WANG = [(0.4722274, 0.4776480), (0.6211236, 0.4588675), (0.5375842, 0.5514412),
             (0.5861986, 0.6045044), (0.6640321, 0.6662930), (0.6319211, 0.6402164)]


@pytest.mark.parametrize("form, expected", [("standard", GZMA_STANDARD), ("wang2021", GZMA_WANG)])
def test_ccd_four_systems_match_r_coupling(form, expected):
    out = c.coupling_coordination(pd.DataFrame(GZMA), form=form)
    np.testing.assert_allclose(out[["C", "D"]].to_numpy(), np.array(expected), atol=1e-6)


def test_ccd_wang2021_closed_forms():
    # equal subsystems → C = 1 in both forms; n = 2: C = sqrt((1 - |U1 - U2|) · min/max)
    eq = c.coupling_coordination(pd.DataFrame({"a": [0.4, 0.9], "b": [0.4, 0.9], "c": [0.4, 0.9]}), form="wang2021")
    np.testing.assert_allclose(eq["C"], 1.0)
    U = pd.DataFrame({"a": [0.3, 0.8, 0.05], "b": [0.6, 0.2, 0.95]})
    out = c.coupling_coordination(U, form="wang2021", weights=[0.4, 0.6])
    lo, hi = U.min(axis=1), U.max(axis=1)
    np.testing.assert_allclose(out["C"], np.sqrt((1 - (hi - lo)) * lo / hi))
    np.testing.assert_allclose(out["T"], 0.4 * U["a"] + 0.6 * U["b"])
    # the corrected C spreads over [0, 1] and lies below the standard C for unequal systems
    rnd = pd.DataFrame(np.random.default_rng(2).uniform(0.01, 1, (200, 3)))
    w21, std = c.coupling_coordination(rnd, form="wang2021"), c.coupling_coordination(rnd)
    assert w21["C"].between(0, 1).all() and (w21["C"] <= std["C"] + 1e-12).all()
    assert np.ptp(w21["C"]) > np.ptp(std["C"])


def test_ccd_bands_and_errors():
    assert c.ccd_band([0.05, 0.1, 0.95, 1.0], lang="zh") == ["极度失调", "严重失调", "优质协调", "优质协调"]
    custom = [(0.5, "失调", "imbalanced"), (1.0, "协调", "coordinated")]
    out = c.coupling_coordination(pd.DataFrame({"a": [0.1, 0.9], "b": [0.1, 0.9]}), bands=custom)
    assert out["band"].tolist() == ["imbalanced", "coordinated"]
    with pytest.raises(ModelInputError, match=r"\[0, 1\]"):
        c.coupling_coordination(pd.DataFrame({"a": [1.5], "b": [0.5]}))
    with pytest.raises(ValueError, match="'standard', 'wang2021'"):
        c.coupling_coordination(pd.DataFrame({"a": [0.5], "b": [0.5]}), form="fan")


# ----------------------------------------------------------------------------- CRITIC, PCA
def test_critic_matches_mcdm_package():
    # Second implementation: expected weights from the tests of the Python package `mcdm`
    # (akestoridis/mcdm, mcdm/tests/weighting/test_critic_method.py), inputs already in [0, 1]
    m01 = [[0.0, 0.0, 1.0], [0.1, 0.2, 0.8], [0.2, 0.4, 0.6], [0.3, 0.7, 0.3], [0.6, 0.8, 0.2],
           [0.8, 0.9, 0.1], [1.0, 1.0, 0.0]]
    m02 = [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.5, 0.0], [0.2, 0.5, 1.0], [0.4, 1.0, 0.0],
           [0.4, 1.0, 1.0], [0.6, 1.0, 0.0], [0.6, 1.0, 1.0], [0.8, 0.5, 0.0], [0.8, 0.5, 1.0],
           [1.0, 0.0, 0.0], [1.0, 0.0, 1.0]]
    np.testing.assert_allclose(c.critic_weights(m01), [0.25000000, 0.25857023, 0.49142977], atol=1e-8)
    np.testing.assert_allclose(c.critic_weights(m02), [0.27329284, 0.32664742, 0.40005975], atol=1e-8)


def test_pca_weights_match_sklearn():
    # second implementation of the eigen-decomposition: sklearn PCA on standardised data
    from sklearn.decomposition import PCA

    X = np.random.default_rng(3).normal(size=(40, 5)) @ np.random.default_rng(4).normal(size=(5, 5))
    Z = (X - X.mean(0)) / X.std(0, ddof=1)
    pca = PCA().fit(Z)
    lam, U = pca.explained_variance_, pca.components_.T
    keep = lam > 1
    w = np.abs(U[:, keep]) @ (lam[keep] / lam[keep].sum())
    np.testing.assert_allclose(c.pca_weights(X).to_numpy(), w / w.sum(), rtol=1e-8)


@pytest.mark.parametrize("fn", [lambda X: c.entropy_weights(X), lambda X: c.entropy_weights(X, form="minmax"),
                                c.critic_weights, c.pca_weights])
def test_weights_sum_to_one(fn):
    X = np.random.default_rng(5).uniform(1, 9, (15, 6))
    w = fn(X)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()


# ----------------------------------------------------------------------------- normalise, aggregate
def test_normalise_closed_forms():
    X = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [10.0, 20.0, 40.0]})
    mm = c.normalise(X, "minmax", directions=[1, -1], bounds=(0, 100))
    np.testing.assert_allclose(mm["a"], [0, 100 / 3, 100])
    np.testing.assert_allclose(mm["b"], [100, 200 / 3, 0])
    z = c.normalise(X, "zscore", mean_sd=(100, 10))
    np.testing.assert_allclose(z["a"], 100 + 10 * (X["a"] - X["a"].mean()) / X["a"].std())
    np.testing.assert_allclose(c.normalise(X, "rank", directions=[1, -1])["b"], [3, 2, 1])
    t = c.normalise(X, "target", targets={"a": 2.0, "b": 20.0}, directions=[1, -1])
    np.testing.assert_allclose(t["a"], [50, 100, 100])
    np.testing.assert_allclose(t["b"], [100, 100, 50])
    np.testing.assert_allclose(c.normalise(X, "vector")["a"], 100 * X["a"] / np.sqrt(21))


def test_aggregate_closed_forms():
    X = pd.DataFrame({"a": [1.0, 4.0], "b": [4.0, 1.0]})
    np.testing.assert_allclose(c.aggregate(X, [0.5, 0.5]), [2.5, 2.5])
    np.testing.assert_allclose(c.aggregate(X, [0.5, 0.5], method="geometric"), [2.0, 2.0])
    np.testing.assert_allclose(c.aggregate(X, [0.5, 0.5], method="harmonic"), [1.6, 1.6])
    with pytest.raises(ModelInputError, match="strictly positive"):
        c.aggregate(pd.DataFrame({"a": [0.0], "b": [1.0]}), method="geometric")


# ----------------------------------------------------------------------------- TOPSIS, obstacle degree
def _topsis_loops(X, w, d):
    """A plain-loop TOPSIS (Hwang & Yoon 1981 steps) as a second implementation."""
    m, k = len(X), len(X[0])
    norms = [sum(X[i][j] ** 2 for i in range(m)) ** 0.5 for j in range(k)]
    V = [[w[j] / sum(w) * X[i][j] / norms[j] for j in range(k)] for i in range(m)]
    best = [max(V[i][j] for i in range(m)) if d[j] > 0 else min(V[i][j] for i in range(m)) for j in range(k)]
    worst = [min(V[i][j] for i in range(m)) if d[j] > 0 else max(V[i][j] for i in range(m)) for j in range(k)]
    out = []
    for i in range(m):
        sp = sum((V[i][j] - best[j]) ** 2 for j in range(k)) ** 0.5
        sm = sum((V[i][j] - worst[j]) ** 2 for j in range(k)) ** 0.5
        out.append(sm / (sp + sm))
    return out


def test_topsis_second_implementation_and_properties():
    rng = np.random.default_rng(6)
    X = rng.uniform(1, 100, (9, 4))
    w, d = [0.1, 0.4, 0.3, 0.2], [1, 1, 1, -1]
    cl = c.topsis(X, w, directions=d)
    np.testing.assert_allclose(cl, _topsis_loops(X.tolist(), w, d), rtol=1e-12)
    assert cl.between(0, 1).all()
    scaled = X * np.array([10.0, 0.01, 3.0, 1e4])
    np.testing.assert_allclose(c.topsis(scaled, w, directions=d), cl, rtol=1e-10)
    mm = c.topsis(X, w, directions=d, normalisation="minmax")
    np.testing.assert_allclose(c.topsis(scaled + 7.0, w, directions=d, normalisation="minmax"), mm, rtol=1e-10)
    with pytest.raises(ValueError, match="'vector', 'minmax'"):
        c.topsis(X, w, normalisation="sum")


def test_obstacle_degree_hand_computed():
    X = pd.DataFrame({"a": [0.0, 5.0, 10.0], "b": [2.0, 1.0, 0.0]})   # b: lower is better
    od = c.obstacle_degree(X, [0.25, 0.75], directions=[1, -1])
    # unit 0: deviations a 1, b 1 → 0.25, 0.75 ; unit 1: a .5, b .5 → same ; unit 2: 0, 0 → no obstacle
    np.testing.assert_allclose(od.to_numpy(), [[0.25, 0.75], [0.25, 0.75], [0.0, 0.0]])


# ----------------------------------------------------------------------------- grey relational
def test_grey_relational_factor_mode_hand_computed():
    y = [2.0, 4.0, 6.0]
    f = pd.DataFrame({"x1": [1.0, 2.0, 3.0], "x2": [3.0, 1.0, 2.0]})
    # mean normalisation: y/4 = [.5, 1, 1.5]; x1/2 = [.5, 1, 1.5]; x2/2 = [1.5, .5, 1]
    # Δ: x1 = [0, 0, 0], x2 = [1, .5, .5]; Δmin = 0, Δmax = 1; ξ = .5/(Δ + .5)
    g = c.grey_relational(y, f)
    assert g["x1"] == pytest.approx(1.0)
    assert g["x2"] == pytest.approx((0.5 / 1.5 + 0.5 + 0.5) / 3)
    # initial-value normalisation: y/2 = [1, 2, 3], x1/1 = [1, 2, 3], x2/3 = [1, 1/3, 2/3]
    gi = c.grey_relational(y, f, normalisation="initial", rho=0.4)
    d = np.array([0.0, 5 / 3, 7 / 3])
    assert gi["x2"] == pytest.approx(np.mean((0 + 0.4 * 7 / 3) / (d + 0.4 * 7 / 3)))
    with pytest.raises(ValueError, match="'mean', 'initial'"):
        c.grey_relational(y, f, normalisation="range")


def test_grey_relational_evaluation_mode():
    X = pd.DataFrame({"a": [10.0, 5.0, 0.0], "b": [0.0, 1.0, 2.0]})
    g = c.grey_relational_evaluation(X, directions=[1, -1])
    # r: unit0 (1, 1) ideal → ξ = 1; unit1 (.5, .5): Δ = .5, Δmax = 1 → ξ = .5/1 = .5; unit2 → 1/3
    np.testing.assert_allclose(g, [1.0, 0.5, 1 / 3])


# ----------------------------------------------------------------------------- DEA
def test_dea_one_input_one_output_closed_form():
    # Cooper, Seiford & Tone (2007), Data Envelopment Analysis, ch. 1: stores A-F, employees → sales
    x = pd.DataFrame({"employees": [2, 3, 3, 4, 5, 5]}, index=list("ABCDEF"))
    y = pd.DataFrame({"sales": [1, 3, 2, 3, 4, 2]}, index=list("ABCDEF"))
    ratio = y["sales"] / x["employees"]
    theta = c.dea(x, y)
    np.testing.assert_allclose(theta, ratio / ratio.max(), atol=1e-9)   # CCR θ = (y/x)/max(y/x)
    np.testing.assert_allclose(c.dea(x, y, orientation="output"), 1 / theta, atol=1e-9)


def _multiplier_scores(x, y, vrs):
    """Second implementation: input-oriented multiplier form (CCR; BCC with free u0)."""
    from scipy.optimize import linprog

    n, mi, so = x.shape[0], x.shape[1], y.shape[1]
    out = []
    for o in range(n):
        # variables: u (so), v (mi), u0 (free, VRS only); maximise u·y_o - u0
        c_ = np.r_[-y[o], np.zeros(mi), [1.0] if vrs else []]
        A_ub = np.column_stack([y, -x] + ([-np.ones(n)] if vrs else []))
        A_eq = np.r_[np.zeros(so), x[o], [0.0] if vrs else []][None, :]
        bounds = [(0, None)] * (so + mi) + ([(None, None)] if vrs else [])
        res = linprog(c_, A_ub=A_ub, b_ub=np.zeros(n), A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
        out.append(-res.fun)
    return np.array(out)


# Hospitals A-L (doctors, nurses → outpatients, inpatients) from Cooper, Seiford & Tone, as shipped
# in the R package qDEA (data set CST22). No printed scores are used: the check is envelopment vs
# multiplier form (LP duality).
HOSP_X = np.array([[20, 151], [19, 131], [25, 160], [27, 168], [22, 158], [55, 255], [33, 235],
                   [31, 206], [30, 244], [50, 268], [53, 306], [38, 284]], dtype=float)
HOSP_Y = np.array([[100, 90], [150, 50], [160, 55], [180, 72], [94, 66], [230, 90], [220, 88],
                   [152, 80], [190, 100], [250, 100], [260, 147], [250, 120]], dtype=float)


@pytest.mark.parametrize("returns", ["crs", "vrs"])
def test_dea_envelopment_equals_multiplier_form(returns):
    env = c.dea(HOSP_X, HOSP_Y, returns=returns)
    np.testing.assert_allclose(env, _multiplier_scores(HOSP_X, HOSP_Y, returns == "vrs"), atol=1e-7)
    assert (env > 0).all() and (env <= 1 + 1e-9).all()


def test_scale_efficiency():
    se = c.scale_efficiency(HOSP_X, HOSP_Y)
    assert (se["vrs"] >= se["crs"] - 1e-9).all()
    np.testing.assert_allclose(se["scale"], se["crs"] / se["vrs"])
    out = c.scale_efficiency(HOSP_X, HOSP_Y, orientation="output")
    assert (out["scale"] <= 1 + 1e-9).all() and (out["crs"] >= 1 - 1e-9).all()


# ----------------------------------------------------------------------------- wrong choices
@pytest.mark.parametrize("call", [
    lambda: c.entropy_weights(XU_2004, form="log"),
    lambda: c.normalise(XU_2004, "l1"),
    lambda: c.aggregate(XU_2004, method="median"),
    lambda: c.dea(HOSP_X, HOSP_Y, returns="irs"),
    lambda: c.dea(HOSP_X, HOSP_Y, orientation="graph"),
    lambda: c.pca_weights(XU_2004, retain="elbow"),
])
def test_wrong_choices_raise_value_error(call):
    with pytest.raises(ChoiceError, match="must be one of .*; got"):
        call()


def test_bad_data_is_a_clear_error():
    with pytest.raises(ModelInputError, match="missing values"):
        c.topsis([[1.0, np.nan], [2.0, 3.0]], [0.5, 0.5])
    with pytest.raises(ModelInputError, match="non-negative"):
        c.entropy_weights([[1.0, -2.0], [2.0, 3.0]])
    with pytest.raises(ModelInputError, match="directions must be"):
        c.topsis([[1.0, 2.0], [2.0, 3.0]], [0.5, 0.5], directions=[1, 0])


def test_plots_return_figures():
    import warnings
    from matplotlib.figure import Figure

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a missing CJK glyph would warn
        ccd = c.coupling_coordination(pd.DataFrame({"a": [0.2, 0.4, 0.7], "b": [0.3, 0.5, 0.6]},
                                                   index=pd.Index([2023, 2024, 2025], name="year")))
        assert isinstance(c.plot_coupling_coordination(ccd), Figure)
        assert isinstance(c.ahp(SAATY_DRINKS).plot(), Figure)
        assert isinstance(c.radar_plot(pd.DataFrame({"合作办学": [0.5], "合作育人": [0.7], "合作就业": [0.2]})), Figure)

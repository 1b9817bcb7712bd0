"""evalkit's own fixed-effects least squares (models.absorbed) against pyfixest + wildboottest, the
implementation it replaces in a review: the same coefficients, standard errors, degrees of freedom,
few-cluster jackknife and wild-bootstrap p on many designs, and pyfixest wherever evalkit declines."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit.models as M
from evalkit.errors import ModelInputError
from evalkit.models import absorbed


def _panel(seed: int, units: int = 11, periods: int = 9, drop: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {"u": np.repeat([f"c{i}" for i in range(units)], periods), "t": np.tile(np.arange(periods), units)}
    )
    fe_u = rng.normal(size=units)[np.repeat(np.arange(units), periods)]
    d["x1"] = rng.normal(size=len(d)) + 0.5 * fe_u
    d["x2"] = rng.gamma(2.0, size=len(d))
    d["y"] = 0.7 * d["x1"] - 0.2 * d["x2"] + fe_u + 0.1 * d["t"] + rng.normal(size=len(d)) * (1 + fe_u**2)
    d["region"] = np.array(["east", "west", "north"])[np.repeat(np.arange(units) % 3, periods)]
    d["shift"] = rng.integers(0, 4, size=len(d))  # a third effect, crossed with both
    if drop:
        d = d.sample(frac=1 - drop, random_state=seed).sort_index()
    return d.reset_index(drop=True)


DESIGNS = {
    "balanced two-way": (lambda: _panel(1), "y ~ x1 + x2 | u + t"),
    "unbalanced two-way": (lambda: _panel(2, drop=0.2), "y ~ x1 + x2 | u + t"),
    "time first": (lambda: _panel(3, drop=0.1), "y ~ x1 + x2 | t + u"),
    "one-way": (lambda: _panel(4), "y ~ x1 + x2 | u"),
    "three-way": (lambda: _panel(5, units=14, drop=0.15), "y ~ x1 + x2 | u + t + shift"),
    "one regressor": (lambda: _panel(6, units=20, periods=6, drop=0.1), "y ~ x1 | u + t"),
}
VCOVS = ["iid", "HC0", "HC1", {"CRV1": "u"}, {"CRV1": "region"}, {"CRV1": "t"}, {"CRV3": "u"}]


def _both(fml, d, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = M.ols(fml, d, engine="evalkit", unique_fe=False, **kw)
        theirs = M.ols(fml, d, engine="pyfixest", unique_fe=False, **kw)
    return ours, theirs


@pytest.mark.parametrize("vcov", VCOVS, ids=str)
@pytest.mark.parametrize("name", DESIGNS)
def test_same_numbers_as_pyfixest(name, vcov, monkeypatch):
    from evalkit.models import fixest_route

    make, fml = DESIGNS[name]
    d = make()
    # the pyfixest route's CRV3 is evalkit's jackknife too: compare with pyfixest's own refits
    monkeypatch.setattr(fixest_route, "jackknife_sum", lambda *a, **k: None)
    ours, theirs = _both(fml, d, vcov=vcov, few_clusters=0)
    assert ours.info["engine"] == "evalkit" and theirs.info["engine"] == "pyfixest"
    assert ours.n == theirs.n and ours.dof == theirs.dof and ours.vcov == theirs.vcov
    # pyfixest removes unbalanced fixed effects by alternating projections to 1e-8; evalkit exactly
    cols = ["estimate", "se", "ci_low", "ci_high", "p"]
    np.testing.assert_allclose(ours.table[cols], theirs.table[cols], rtol=1e-6, atol=1e-10)
    assert list(ours.table.index) == list(theirs.table.index)


def test_nested_fixed_effects_counted_as_fixest_does():
    """CRV1 by unit with unit and period effects: k = slopes + (T − 1) + 1 (the unit effects nested
    in the clusters count once) — the closed form, not pyfixest's result."""
    d = _panel(7)
    res = M.ols("y ~ x1 + x2 | u + t", d, vcov={"CRV1": "u"}, engine="evalkit", few_clusters=0)
    f, _ = absorbed.fit(absorbed.design(d, "y", ["x1", "x2"], ["u", "t"])[0], "CRV1", pd.factorize(d["u"])[0], "u")
    assert f is not None and f.df_k == 2 + (9 - 1) + 1
    region = M.ols("y ~ x1 + x2 | u + t", d, vcov={"CRV1": "region"}, engine="evalkit", few_clusters=0)
    f, _ = absorbed.fit(
        absorbed.design(d, "y", ["x1", "x2"], ["u", "t"])[0], "CRV1", pd.factorize(d["region"])[0], "region"
    )
    assert f is not None and f.df_k == 2 + (9 - 1) + 1  # units nest in regions as well
    assert res.se["x1"] != region.se["x1"]


@pytest.mark.parametrize("branch", ["gram", "svd"])
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_absorber_equals_least_squares_on_dummies(seed, branch, monkeypatch):
    if branch == "svd":  # the route an ill-conditioned design takes, forced
        monkeypatch.setattr(absorbed, "_GRAM_AMBIGUOUS", (0.0, np.inf))
    d = _panel(seed, units=13, drop=0.25)
    codes = np.column_stack([pd.factorize(d[c])[0] for c in ["u", "t", "shift"]])
    dummies = np.column_stack([np.eye(codes[:, j].max() + 1)[codes[:, j]] for j in range(3)])
    M_ = d[["y", "x1", "x2"]].to_numpy(float)
    exact = M_ - dummies @ np.linalg.lstsq(dummies, M_, rcond=None)[0]
    np.testing.assert_allclose(absorbed.Absorber(codes)(M_), exact, atol=1e-10)


@pytest.mark.parametrize("units, reps", [(11, 999), (12, 199), (15, 999)])
def test_few_cluster_columns_equal_pyfixest_and_wildboottest(units, reps, monkeypatch):
    from evalkit.models import fixest_route

    monkeypatch.setattr(fixest_route, "jackknife_sum", lambda *a, **k: None)  # pyfixest's own CRV3 refits
    d = _panel(units, units=units, drop=0.1)
    ours, theirs = _both("y ~ x1 + x2 | u + t", d, vcov={"CRV1": "u"}, wild_reps=reps, seed=5)
    assert ours.info["wild_reps"] == reps and not ours.info["wild_enumerated"]
    np.testing.assert_allclose(ours.table[["se_crv3", "p_crv3"]], theirs.table[["se_crv3", "p_crv3"]], rtol=1e-6)
    v = absorbed.rademacher_draws(units, reps, 5)
    ties = int((v == v[:1]).all(axis=0).sum())  # draws that reproduce the sample (12 clusters: one)
    gap = np.abs(ours.table["p_wild"].to_numpy() - theirs.table["p_wild"].to_numpy())
    assert (gap <= ties / v.shape[1] + 1e-12).all()  # identical without ties; at most the ties apart
    assert ours.warning_codes == theirs.warning_codes


def _pyfixest_boot(d, term, reps, seed):
    import pyfixest as pf

    from evalkit.models import _checks

    _checks.fast_wild_bootstrap()
    coded = d.assign(cl=pd.factorize(d["u"])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols("y ~ x1 + x2 | u + t", coded, vcov={"CRV1": "cl"})
        out, t_boot = m.wildboottest(reps=reps, param=term, seed=seed, return_bootstrapped_t_stats=True)
    return float(out["t value"]), np.asarray(t_boot, float), float(out["Pr(>|t|)"])


@pytest.mark.parametrize("seed", range(4))
def test_wild_bootstrap_t_by_t_with_ties(seed):
    """Seven clusters: every one of the 2^7 sign patterns is drawn (wildboottest's full
    enumeration), so two draws reproduce the sample (t* = ±t). Each t* equals wildboottest's; the
    p differs from its only by the tied draws its rounding counted as exceeding."""
    d = _panel(20 + seed, units=7, periods=8)
    design, _ = absorbed.design(d, "y", ["x1", "x2"], ["u", "t"])
    codes = pd.factorize(d["u"])[0]
    f, _ = absorbed.fit(design, "CRV1", codes, "u")
    v = absorbed.rademacher_draws(7, 999, seed)
    assert v.shape == (7, 128)
    tie = (v == v[:1]).all(axis=0)
    assert tie.sum() == 2
    for i, term in enumerate(["x1", "x2"]):
        t_lib, boot_lib, p_lib = _pyfixest_boot(d, term, 999, seed)
        t_ours, boot_ours = absorbed.wild_t(f, i, codes, v)
        ssc = np.sqrt((len(d) - 1) / (len(d) - (2 + 7 + 7)) * 7 / 6)  # wildboottest's one-hot k; cancels in p
        assert t_ours / ssc == pytest.approx(t_lib, rel=1e-9)
        np.testing.assert_allclose(boot_ours / ssc, boot_lib, rtol=1e-8)
        np.testing.assert_allclose(np.abs(boot_ours[tie]), abs(t_ours), rtol=1e-10)
        counted_ties = int((np.abs(boot_lib[tie]) > abs(t_lib)).sum())
        assert absorbed.wild_cluster_p(f, i, codes, v) == pytest.approx(p_lib - counted_ties / 128, abs=1e-15)


def test_enumeration_is_reported():
    d = _panel(30, units=7, periods=8)
    res = M.twfe(d, y="y", x=["x1"], unit="u", time="t")
    assert res.info["wild_reps"] == 128 and res.info["wild_enumerated"]
    again = M.twfe(d, y="y", x=["x1"], unit="u", time="t", engine="pyfixest")
    assert again.info["wild_reps"] == 128 and again.info["wild_enumerated"]


def test_draws_are_wildboottest_s():
    from wildboottest.weights import draw_weights

    for G, reps, seed in [(15, 999, 0), (10, 199, 7), (5, 999, 3)]:
        full = 2**G < reps
        lib, B = draw_weights("rademacher", full, G, reps, np.random.default_rng(seed))
        ours = absorbed.rademacher_draws(G, reps, seed)
        assert ours.shape == (G, B)
        np.testing.assert_array_equal(ours, lib)


@pytest.mark.parametrize(
    "case, why",
    [
        ("collinear", "collinear"),
        ("transformed", "plain column"),
        ("HC3", "computed by pyfixest"),
        ("two-way cluster", "two-way"),
        ("no fixed effects", "no absorbed fixed effects"),
    ],
)
def test_pyfixest_where_evalkit_declines(case, why):
    d = _panel(40)
    fml, kw = "y ~ x1 + x2 | u + t", {"vcov": {"CRV1": "u"}}
    if case == "collinear":
        d = d.assign(x3=d["x1"] * 2 + d["t"])
        fml = "y ~ x1 + x2 + x3 | u + t"
    elif case == "transformed":
        fml = "y ~ x1 + np.log(x2) | u + t"
    elif case == "HC3":
        kw["vcov"] = "HC3"
    elif case == "two-way cluster":
        kw["vcov"] = {"CRV1": "u+t"}
    elif case == "no fixed effects":
        fml = "y ~ x1 + x2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = M.ols(fml, d, wild_reps=99, **kw)
        assert auto.info["engine"] == "pyfixest"
        with pytest.raises(ModelInputError, match=why):
            M.ols(fml, d, engine="evalkit", wild_reps=99, **kw)


def test_engine_is_checked():
    with pytest.raises(ValueError, match="engine"):
        M.ols("y ~ x1 | u", _panel(1), engine="fast")  # type: ignore[arg-type]


def test_twfe_in_a_fresh_process_imports_no_pyfixest():
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "import evalkit.models as M\n"
        "rng = np.random.default_rng(0)\n"
        "d = pd.DataFrame({'u': np.repeat(np.arange(15), 15), 't': np.tile(np.arange(15), 15)})\n"
        "d['x'] = rng.normal(size=len(d)); d['y'] = d['x'] + rng.normal(size=len(d))\n"
        "r = M.twfe(d, y='y', x=['x'], unit='u', time='t')\n"
        "assert r.info['engine'] == 'evalkit' and 'p_wild' in r.tidy().columns\n"
        "heavy = [m for m in ('pyfixest', 'wildboottest', 'numba', 'formulaic', 'statsmodels') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_pyfixest_route_does_not_depend_on_string_hashing():
    """pyfixest 0.60 counted fixed effects nested in the cluster by position against columns whose
    order follows PYTHONHASHSEED: "| u+t" with CRV1 by u gave one of two SEs per process. The
    pyfixest route writes the formula so that it cannot; both routes agree under every seed."""
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import numpy as np, pandas as pd, evalkit.models as M\n"
        "rng = np.random.default_rng(4)\n"
        "d = pd.DataFrame({'u': np.repeat([f'c{i}' for i in range(11)], 9), 't': np.tile(np.arange(9), 11)})\n"
        "d['x1'] = rng.normal(size=len(d)); d['x2'] = rng.gamma(2.0, size=len(d))\n"
        "d['y'] = d['x1'] + d['t'] * 0.1 + rng.normal(size=len(d))\n"
        "kw = dict(vcov={'CRV1': 'u'}, few_clusters=0)\n"
        "a = M.ols('y ~ x1 + x2 | u+t', d, engine='pyfixest', **kw).se\n"
        "b = M.ols('y ~ x1 + x2 | u+t', d, engine='evalkit', **kw).se\n"
        "print(float((a / b - 1).abs().max()))\n"
    )
    import os

    for seed in ("2",):  # under pyfixest 0.60 alone this seed flipped the columns and shrank the SEs
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        assert float(out.stdout) < 1e-9, (seed, out.stdout, out.stderr)


def test_pyfixest_route_refuses_a_wild_bootstrap_that_would_not_fit(monkeypatch):
    """wildboottest holds every fixed-effect level as a dense column (10,000 units × 200,000 rows
    was 16 GB and killed the process); past the cap the bootstrap is reported as not computed."""
    from evalkit.models import fixest_route

    monkeypatch.setattr(fixest_route, "WILD_MAX_CELLS", 100)
    d = _panel(50)
    res = M.ols("y ~ x1 + x2 | u + t", d, vcov={"CRV1": "u"}, engine="pyfixest", wild_reps=99)
    assert "p_wild" not in res.table.columns and {"se_crv3", "p_crv3"} <= set(res.table.columns)
    assert "models.wild_failed" in res.warning_codes
    assert any("dense columns" in w for w in res.warning_texts("en"))


def test_a_nearly_disconnected_design_too_large_to_decompose_goes_to_pyfixest(monkeypatch):
    """When the Gram matrix cannot tell tiny directions from null ones and the dense SVD would pass
    the size cap, evalkit declines and pyfixest (alternating projections) fits the model."""
    monkeypatch.setattr(absorbed, "_GRAM_AMBIGUOUS", (0.0, np.inf))  # every design looks ambiguous
    monkeypatch.setattr(absorbed, "MAX_CELLS", 200)  # above the 11 × 9 crosstab, below 99 rows × 9 dummies
    d = _panel(60)
    auto = M.ols("y ~ x1 + x2 | u + t", d, vcov="iid")
    assert auto.info["engine"] == "pyfixest"
    with pytest.raises(ModelInputError, match="nearly disconnected"):
        M.ols("y ~ x1 + x2 | u + t", d, vcov="iid", engine="evalkit")


@pytest.mark.parametrize("engine", ["auto", "pyfixest"])
def test_no_residual_degree_of_freedom_is_refused_before_any_route(engine):
    """Regressors and fixed effects that use up every row leave no variance to estimate; on some
    such designs pyfixest 0.60 aborted the whole process (a Rust panic in its demeaning). Refused
    first, with the counts."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"u": np.repeat([0, 1], 3), "t": np.tile([0, 1, 2], 2)})
    d["x1"], d["x2"], d["y"] = rng.normal(size=6), rng.normal(size=6), rng.normal(size=6)
    with pytest.raises(
        ModelInputError, match=r"6 rows leave no residual degree of freedom after 2 regressor\(s\) and 4"
    ):
        M.ols("y ~ x1 + x2 | u + t", d, vcov="iid", engine=engine)
    assert M.ols("y ~ x1 | u + t", d, vcov="iid", engine=engine).dof == 1  # one row to spare


@pytest.mark.parametrize("engine", ["evalkit", "pyfixest"])
def test_crv3_when_a_left_out_cluster_leaves_a_regressor_unidentified(engine):
    """z varies only in cluster c0: without c0 it is unidentified. Its leave-one-out estimate is
    the minimum-norm one, 0 (the pseudo-inverse, as wildboottest's CRV3), by hand here from
    pyfixest refits with z dropped; pyfixest 0.60's own CRV3 put x1's estimate into z's slot."""
    import pyfixest as pf

    d = _panel(40).assign(z=lambda f: np.where(f["u"] == "c0", f["x1"], 0.0))
    res = M.ols("y ~ x1 + z | u + t", d, vcov={"CRV1": "u"}, wild_reps=99, engine=engine)
    beta = res.params[["x1", "z"]].to_numpy()
    total = np.zeros(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for g in d["u"].unique():
            rest = d[d["u"] != g]
            fml = "y ~ x1 + z | u + t" if (rest["z"] != 0).any() else "y ~ x1 | u + t"
            coef = pf.feols(fml, rest).coef()
            total += (np.array([coef["x1"], coef.get("z", 0.0)]) - beta) ** 2
    G = d["u"].nunique()
    np.testing.assert_allclose(res.table["se_crv3"].to_numpy(), np.sqrt(total * (G - 1) / G), rtol=1e-6)
    assert res.info["engine"] == engine


def test_singletons_are_dropped_once_for_both_routes():
    """Rows whose fixed-effect level occurs once (again after each removal, as fixest does) are
    dropped before either route, named in a note and counted in info: the same numbers from both."""
    d = _panel(70)
    lonely = d.iloc[[0, 1]].assign(u=["lonely", "alone"], t=[0, 0])  # two singleton units
    chain = d.iloc[[2]].assign(u="c1", t=99)  # a period seen once: a singleton in t
    data = pd.concat([d, lonely, chain], ignore_index=True)
    ours, theirs = _both("y ~ x1 + x2 | u + t", data, vcov={"CRV1": "u"}, few_clusters=0)
    assert ours.info["engine"] == "evalkit" and ours.n == theirs.n == len(d)
    assert ours.info["singletons_dropped"] == theirs.info["singletons_dropped"] == 3
    assert any("3 rows dropped whose fixed-effect level occurs once" in w for w in ours.warning_texts("en"))
    np.testing.assert_allclose(ours.table.to_numpy(), theirs.table.to_numpy(), rtol=1e-6)


def test_twfe_errors_name_the_user_s_columns():
    """twfe fits under internal names (v0, v1 …); its errors are said in the data's own names."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"学校": np.repeat(["a", "b"], 3), "t": np.tile([0, 1, 2], 2)})
    d["x1"], d["x2"], d["就业率"] = rng.normal(size=6), rng.normal(size=6), rng.normal(size=6)
    with pytest.raises(ModelInputError, match=r"'就业率 ~ x1 \+ x2 \| 学校 \+ t': 6 rows leave no residual") as err:
        M.twfe(d, y="就业率", x=["x1", "x2"], unit="学校", time="t")
    assert "v0" not in str(err.value)

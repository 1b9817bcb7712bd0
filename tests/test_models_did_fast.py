"""The numpy path of staggered_did (models/did_fast.py) gives csdid's numbers: ATT(g,t), analytic
SEs, the pre-test, every aggregation and the event-study covariance, on mpdta and on a shuffled
synthetic panel with string unit ids, for each control group, estimator and base period."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

import evalkit.models as M
from evalkit.errors import ModelInputError
from evalkit.models import did_fast
from evalkit.models.events import event_vcov


def _synthetic(seed=1):
    rng = np.random.default_rng(seed)
    U, T = 300, 8
    idx = np.repeat(np.arange(U), T)
    t = np.tile(np.arange(2001, 2001 + T), U)
    c = rng.choice([0, 2003, 2005, 2006], U)
    g = c[idx]
    y = 0.3 * ((t >= g) & (g > 0)) + rng.normal(size=U)[idx] + 0.1 * (t - 2000) + rng.normal(size=U * T)
    d = pd.DataFrame({"u": (idx * 7 + 3).astype(str), "t": t, "g": g.astype(float), "y": y})
    d.loc[d.g == 0, "g"] = np.nan  # missing cohort = never treated
    return d.sample(frac=1, random_state=seed)


@pytest.fixture(scope="module")
def panels():
    moderndid = pytest.importorskip("moderndid")
    d = moderndid.load_mpdta()
    d = d.to_pandas() if hasattr(d, "to_pandas") else d
    return {
        "mpdta": (d, dict(y="lemp", unit="countyreal", time="year", cohort="first.treat")),
        "synthetic": (_synthetic(), dict(y="y", unit="u", time="t", cohort="g")),
    }


def _both(monkeypatch, data, **kw):
    calls = []
    real = did_fast.fit

    def spy(*a, **k):
        calls.append(real(*a, **k))
        return calls[-1]

    monkeypatch.setattr(did_fast, "fit", spy)
    fast = M.staggered_did(data, **kw)
    assert calls and calls[-1] is not None, "the numpy path was not taken"
    monkeypatch.setattr(did_fast, "fit", lambda *a, **k: None)
    ref = M.staggered_did(data, **kw)
    monkeypatch.setattr(did_fast, "fit", real)
    return fast, ref


@pytest.mark.parametrize(
    "name,control,est_method,base_period",
    list(itertools.product(["mpdta", "synthetic"], ["never", "notyet"], ["dr", "ipw"], ["varying", "universal"])),
)
def test_numpy_path_equals_csdid(panels, monkeypatch, name, control, est_method, base_period):
    data, kw = panels[name]
    a, b = _both(monkeypatch, data, control=control, est_method=est_method, base_period=base_period, **kw)
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt, check_exact=False, rtol=0, atol=1e-12)
    assert a.n == b.n and [str(m) for m in a.warnings] == [str(m) for m in b.warnings]
    assert (a.settings["engine"], b.settings["engine"]) == ("evalkit", "csdid")  # what the report names
    assert a.pretest.df == b.pretest.df
    assert a.pretest.statistic == pytest.approx(b.pretest.statistic, rel=1e-10)
    assert a.pretest.p_value == pytest.approx(b.pretest.p_value, abs=1e-12)
    for kind, extra in [("simple", {}), ("group", {}), ("dynamic", {}), ("calendar", {}), ("dynamic", {"balance_e": 1})]:
        ra, rb = a.aggregate(kind, **extra), b.aggregate(kind, **extra)
        assert ra.overall == pytest.approx(rb.overall, abs=1e-12)
        assert ra.overall_se == pytest.approx(rb.overall_se, abs=1e-12)
        pd.testing.assert_frame_equal(ra.table, rb.table, check_exact=False, rtol=0, atol=1e-12)
    np.testing.assert_allclose(event_vcov(a).to_numpy(), event_vcov(b).to_numpy(), rtol=0, atol=1e-14)


def test_unusual_panels_take_the_csdid_route(panels):
    data, kw = panels["mpdta"]
    kw = dict(kw, cohort="first.treat")
    # anticipation makes the 2004 cohort treated in the first period: csdid drops it and says so
    assert did_fast.fit(data, control="never", est_method="dr", base_period="varying", anticipation=1,
                        min_pre_periods=1, alpha=0.05, biters=1000, **kw) is None
    assert did_fast.fit(data.iloc[1:], control="never", est_method="dr", base_period="varying", anticipation=0,
                        min_pre_periods=1, alpha=0.05, biters=1000, **kw) is None  # unbalanced
    dup = pd.concat([data.iloc[1:2], data.iloc[1:]])  # same size, one (unit, year) twice, one missing
    assert did_fast.fit(dup, control="never", est_method="dr", base_period="varying", anticipation=0,
                        min_pre_periods=1, alpha=0.05, biters=1000, **kw) is None  # a repeated (unit, year)


@pytest.mark.parametrize("route", ["numpy", "csdid"])
def test_a_pickled_result_reads_back_without_csdid(tmp_path, monkeypatch, route):
    """The result cache pickles DidResults: the standard aggregations come back without importing
    csdid (a review kernel's ~1 s), and anything else (balance_e, event_vcov) still works, the
    fitted model loaded on first use; every number equals the unpickled original's."""
    import pickle
    import subprocess
    import sys

    data = _synthetic(3)
    if route == "csdid":
        monkeypatch.setattr(did_fast, "fit", lambda *a, **k: None)
    res = M.staggered_did(data, y="y", unit="u", time="t", cohort="g", control="notyet")
    path = tmp_path / "did.pkl"
    path.write_bytes(pickle.dumps(res))
    expected = {k: (res.aggregate(k).overall, res.aggregate(k).overall_se) for k in ("simple", "group", "dynamic", "calendar")}
    expected["balanced"] = res.aggregate("dynamic", balance_e=1).overall
    code = (
        "import pickle, sys\n"
        f"res = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "out = {k: (res.aggregate(k).overall, res.aggregate(k).overall_se) for k in ('simple', 'group', 'dynamic', 'calendar')}\n"
        "out['csdid_before'] = 'csdid' in sys.modules\n"
        "out['balanced'] = res.aggregate('dynamic', balance_e=1).overall\n"
        "from evalkit.models.events import event_vcov\n"
        "out['vcov'] = event_vcov(res).to_numpy().tolist()\n"
        "print(repr(out))\n"
    )
    got = eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert got.pop("csdid_before") is False
    np.testing.assert_allclose(got.pop("vcov"), event_vcov(res).to_numpy(), rtol=0, atol=1e-15)
    assert got == expected


def _small_groups(seed: int, sizes: dict, dtype: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = 7
    g = np.repeat(list(sizes), list(sizes.values()))
    U = len(g)
    idx = np.repeat(np.arange(U), T)
    t = np.tile(np.arange(1, T + 1), U)
    y = 0.4 * ((t >= g[idx]) & (g[idx] > 0)) + rng.normal(size=U)[idx] + 0.2 * t + rng.normal(size=U * T)
    return pd.DataFrame({"u": idx, "t": t, "g": g[idx].astype(dtype), "y": y})


@pytest.mark.parametrize("dtype", ["int64", "float64"])
@pytest.mark.parametrize("control", ["never", "notyet"])
def test_small_groups_take_the_numpy_path_with_csdid_s_warning(monkeypatch, dtype, control):
    """Cohorts of fewer than five units (a consortium's usual case): the same numbers as csdid and
    the same warning, word for word, whatever the cohort column's dtype."""
    data = _small_groups(5, {0: 7, 3: 2, 4: 6, 6: 3}, dtype)
    a, b = _both(monkeypatch, data, y="y", unit="u", time="t", cohort="g", control=control)
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt, check_exact=False, rtol=0, atol=1e-12)
    assert [str(m) for m in a.warnings] == [str(m) for m in b.warnings]
    assert any(m.code == "models.did_small_groups" and m.params["groups"] == ("3,6" if dtype == "int64" else "3.0,6.0")
               for m in a.warnings)  # fmt: skip
    for kind in ("simple", "group", "dynamic", "calendar"):
        assert a.aggregate(kind).overall == pytest.approx(b.aggregate(kind).overall, abs=1e-12)
        assert a.aggregate(kind).overall_se == pytest.approx(b.aggregate(kind).overall_se, abs=1e-12)


def test_a_small_never_treated_group_with_never_treated_controls_is_left_to_csdid():
    data = _small_groups(6, {0: 3, 3: 6, 5: 6}, "int64")
    assert did_fast.fit(data, y="y", unit="u", time="t", cohort="g", control="never", est_method="dr",
                        base_period="varying", anticipation=0, min_pre_periods=1, alpha=0.05, biters=1000) is None
    with pytest.raises(ModelInputError, match="too small"):
        M.staggered_did(data, y="y", unit="u", time="t", cohort="g", control="never")
    with pytest.warns(UserWarning, match="small groups"):
        fast = did_fast.fit(data, y="y", unit="u", time="t", cohort="g", control="notyet", est_method="dr",
                            base_period="varying", anticipation=0, min_pre_periods=1, alpha=0.05, biters=1000)
    assert fast is not None  # with not-yet-treated controls the small never-treated group is only warned about
    # a path that ends in the csdid route says nothing itself (csdid says it, once)
    nearly_all = _small_groups(7, {0: 1, 3: 200}, "int64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert did_fast.fit(nearly_all, y="y", unit="u", time="t", cohort="g", control="notyet", est_method="dr",
                            base_period="varying", anticipation=0, min_pre_periods=1, alpha=0.05, biters=1000) is None


def test_cell_planning_is_csdid_s():
    """did_fast's plan_cell (R did's base-period rules) equals csdid's on every cell of a grid of
    cohorts, periods, anticipation and both base periods."""
    from csdid.attgt_fnc.compute_att_gt_shared import BASE_ZERO, BREAK, ESTIMATE, plan_cell

    names = {ESTIMATE: "estimate", BASE_ZERO: "base_zero", BREAK: "break"}
    tlist = np.array([2001, 2002, 2004, 2005, 2007, 2008])  # uneven steps
    seen = set()
    for g, a, base in itertools.product([2001, 2002, 2003, 2004, 2006, 2008, 2009], [0, 1, 2], ["varying", "universal"]):
        tfac = 0 if base == "universal" else 1
        for t_i in range(len(tlist) - tfac):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # csdid warns before a break; did_fast leaves those panels to csdid
                want = plan_cell(g, t_i, tlist, a, base, tfac)
            got = did_fast.plan_cell(g, t_i, tlist, a, base, tfac)
            assert (got[0], got[1]) == (want[0], names[want[1]]), (g, t_i, a, base)
            seen.add(got[1])
    assert seen == {"estimate", "base_zero", "break"}


@pytest.mark.parametrize("case", ["random", "universal", "zero_variance", "singular", "no_pre", "anticipation"])
def test_wald_pretest_is_csdid_s(case):
    """did_fast's wald_pretest equals csdid's _wald_pretest (R did's test): statistic, p-value and
    the warning when it gives none."""
    from csdid.att_gt import _wald_pretest

    rng = np.random.default_rng(len(case))
    tlist = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    group = np.repeat([3.0, 5.0], 5)
    year = np.tile([2.0, 3.0, 4.0, 5.0, 6.0], 2)
    n, base, a = 40, "varying", 0
    inf = rng.normal(size=(len(group), n))
    att = rng.normal(scale=0.1, size=len(group))
    if case == "universal":
        base = "universal"
        inf[group - 1 == year] = 0.0  # the base cells: zero influence
        att[group - 1 == year] = 0.0
    elif case == "zero_variance":
        inf[(group > year)] = 0.0
    elif case == "singular":
        inf[5] = inf[6] = inf[7]  # cohort 5's pre cells (years 2, 3, 4) identical
    elif case == "no_pre":
        group, year = np.repeat([2.0], 5), np.array([2.0, 3.0, 4.0, 5.0, 6.0])
        inf, att = inf[:5], att[:5]
    elif case == "anticipation":
        a = 1
    dp = {"anticipation": a, "base_period": base, "tlist": tlist, "clustervars": None, "idname": "id", "bstrap": False}
    with warnings.catch_warnings(record=True) as want_w:
        warnings.simplefilter("always")
        want = _wald_pretest(inf, att, group, year, dp)
    with warnings.catch_warnings(record=True) as got_w:
        warnings.simplefilter("always")
        got = did_fast.wald_pretest(inf, att, group, year, tlist, a, base)
    assert [str(w.message) for w in got_w] == [str(w.message) for w in want_w]
    if want[0] is None:
        assert got == (None, None) and case in ("zero_variance", "singular", "no_pre")
    else:
        assert got[0] == pytest.approx(want[0], rel=1e-12) and got[1] == want[1]


def test_the_numpy_path_imports_no_statsmodels():
    """Without covariates staggered_did and its four aggregations run without csdid (its
    estimation modules import statsmodels, patsy and drdid; its aggregation scipy.stats: ~1 s of
    a review kernel)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "import evalkit.models as M\n"
        "rng = np.random.default_rng(0)\n"
        "g = np.repeat([0, 3, 5], 20); u = np.repeat(np.arange(60), 6); t = np.tile(np.arange(1, 7), 60)\n"
        "d = pd.DataFrame({'u': u, 't': t, 'g': g[u], 'y': rng.normal(size=360) + 0.3 * ((t >= g[u]) & (g[u] > 0))})\n"
        "r = M.staggered_did(d, y='y', unit='u', time='t', cohort='g', control='notyet')\n"
        "r.aggregate('simple')\n"
        "for kind in ('simple', 'group', 'dynamic', 'calendar'): r.aggregate(kind)\n"
        "print(sorted(m for m in ('statsmodels', 'patsy', 'drdid', 'csdid', 'scipy.stats') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


AGG_CASES = [
    ("simple", {}), ("simple", {"min_e": 1}), ("simple", {"max_e": 0}), ("simple", {"balance_e": 1}),
    ("group", {}), ("group", {"max_e": 1}), ("group", {"min_e": 2}),
    ("dynamic", {}), ("dynamic", {"min_e": -2, "max_e": 2}), ("dynamic", {"balance_e": 0}),
    ("dynamic", {"balance_e": 2}), ("dynamic", {"balance_e": 2, "max_e": 1}), ("dynamic", {"balance_e": 9}),
    ("dynamic", {"min_e": 50}), ("calendar", {}), ("calendar", {"max_e": 1}),
    ("dynamic", {"balance_e": -1}), ("dynamic", {"min_e": float("nan")}), ("sideways", {}),
]  # fmt: skip


@pytest.mark.parametrize("kind, kw", AGG_CASES, ids=[f"{k}-{v}" for k, v in AGG_CASES])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_aggte_is_csdid_s(kind, kw, base_period):
    """did_fast.aggte (R did's aggte for the numpy path) equals csdid's compute_aggte on the same
    ATT(g,t): overall effect and SE, each component, the influence functions — and the same error,
    word for word, where the window keeps nothing or an argument is bad."""
    from csdid.aggte_fnc.aggte import aggte as csdid_aggte

    d = _synthetic(3)
    g = d["g"].fillna(0)
    model = did_fast.fit(d.assign(g=g), y="y", unit="u", time="t", cohort="g", control="notyet", est_method="dr",
                         base_period=base_period, anticipation=0, min_pre_periods=1, alpha=0.05, biters=1000)  # fmt: skip
    assert model is not None
    kw = {"typec": kind, **kw}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = csdid_aggte(model.MP, **kw)
    except ValueError as exc:
        with pytest.raises(ValueError) as got:
            did_fast.aggte(model.MP, **kw)
        assert str(got.value) == str(exc)
        return
    got = did_fast.aggte(model.MP, **kw)
    assert got["overall_att"] == pytest.approx(float(np.asarray(want["overall_att"]).reshape(-1)[0]), abs=1e-12)
    assert got["overall_se"] == pytest.approx(float(np.asarray(want["overall_se"]).reshape(-1)[0]), abs=1e-12)
    for key in ("egt", "att_egt", "se_egt"):
        if kind != "simple":
            np.testing.assert_allclose(np.asarray(got[key], float).reshape(-1), np.asarray(want[key], float).reshape(-1),
                                       rtol=0, atol=1e-12)  # fmt: skip
    for name, psi in got["inf_function"].items():
        np.testing.assert_allclose(psi, np.asarray(want["inf_function"][name], float), rtol=0, atol=1e-12)

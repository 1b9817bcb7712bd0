"""evalkit.models.randomization: enumeration counts, exact vs Monte Carlo p-values, sharp nulls,
the smallest attainable p, estimators that read the treated or the cohort column, leave-one-out,
input checks and the results API."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ModelInputError
from evalkit.models.randomization import (
    LeaveOneOutResults,
    RandomizationResults,
    leave_one_out,
    multinomial_count,
    randomization_inference,
)


def make_panel(cohorts: dict[str, int], n_never: int, T: int = 8, effect: float = 0.0, seed: int = 0,
               noise: float = 1.0) -> pd.DataFrame:
    """y = unit effect + period effect + noise (+ effect from the cohort's start); cohort 0 = never."""
    rng = np.random.default_rng(seed)
    units = {**cohorts, **{f"n{i}": 0 for i in range(n_never)}}
    b = rng.normal(size=T).cumsum()
    rows = []
    for u, g in units.items():
        a = rng.normal() * 2
        for t in range(1, T + 1):
            on = g > 0 and t >= g
            rows.append((u, t, g, int(on), a + b[t - 1] + noise * rng.normal() + (effect if on else 0.0)))
    return pd.DataFrame(rows, columns=["unit", "t", "cohort", "treated", "y"])


def did_stat(d: pd.DataFrame) -> float:
    """Cohort-by-cohort DiD of post-minus-pre means against the never-members, averaged over members
    (the panel is sorted by unit, then period, and balanced)."""
    n_t = d["t"].nunique()
    Y = d["y"].to_numpy().reshape(-1, n_t)
    g = d["cohort"].to_numpy().reshape(-1, n_t)[:, 0]
    t = d["t"].to_numpy()[:n_t]
    never = Y[g == 0]
    out = []
    for i in np.flatnonzero(g > 0):
        post = t >= g[i]
        gap = Y[i, post].mean() - Y[i, ~post].mean()
        out.append(gap - (never[:, post].mean(axis=1) - never[:, ~post].mean(axis=1)).mean())
    return float(np.mean(out))


def test_multinomial_count_closed_form():
    assert multinomial_count([3, 3, 5, 0, 0, 0, 0, 0]) == math.factorial(8) // (2 * 1 * math.factorial(5))
    assert multinomial_count([np.nan, np.nan, 4]) == 3
    # the consortium: 9 members in cohorts of 2, 2, 2, 2, 1 and 6 comparison colleges
    labels = [1] * 2 + [2] * 2 + [3] * 2 + [4] * 2 + [5] + [0] * 6
    assert multinomial_count(labels) == math.factorial(15) // (2 ** 4 * math.factorial(6))


def test_enumeration_visits_every_distinct_assignment_once():
    d = make_panel({"a": 3, "b": 3, "c": 5}, n_never=5, seed=1)
    res = randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort")
    assert res.exact
    expected = math.factorial(8) // (2 * math.factorial(5))
    assert res.n_assignments == expected == len(res.distribution) == 168
    assert not res.assignments.duplicated().any()
    # the multiset of cohorts is kept in every assignment
    assert (res.assignments.apply(lambda r: sorted(r.tolist()), axis=1).map(tuple).nunique()) == 1
    # the observed assignment is one of them, with the observed statistic
    obs = d.groupby("unit")["cohort"].first()[res.assignments.columns]
    hit = (res.assignments == obs.to_numpy()).all(axis=1).to_numpy()
    assert hit.sum() == 1 and res.distribution[hit][0] == pytest.approx(res.statistic)


def test_exact_p_equals_monte_carlo_within_simulation_error():
    d = make_panel({"a": 3, "b": 3, "c": 5}, n_never=5, effect=1.0, seed=2)
    ex = randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort")
    mc = randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort", exact=False,
                                 reps=1000, seed=3)
    assert ex.exact and not mc.exact and ex.p_se == 0
    assert mc.p_se == pytest.approx(np.sqrt(mc.p_value * (1 - mc.p_value) / 1000))
    assert abs(mc.p_value - ex.p_value) <= 4 * np.sqrt(ex.p_value * (1 - ex.p_value) / 1000) + 1 / 1000
    # Monte Carlo convention: (1 + #extreme) / (1 + R)
    extreme = (np.abs(mc.distribution) >= abs(mc.statistic) - 1e-10 * max(1, abs(mc.statistic))).sum()
    assert mc.p_value == pytest.approx((1 + extreme) / 1001)
    again = randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort", exact=False,
                                    reps=1000, seed=3)
    np.testing.assert_array_equal(again.distribution, mc.distribution)


def test_sharp_null_gives_roughly_uniform_p():
    ps = [randomization_inference(make_panel({"a": 4, "b": 4}, n_never=4, seed=s), estimator=did_stat,
                                  unit="unit", cohort="cohort").p_value for s in range(40)]
    ps = np.array(ps)
    assert 0.35 < ps.mean() < 0.65
    assert (ps <= 0.05).mean() <= 0.15


def test_large_effect_attains_the_smallest_exact_p():
    d = make_panel({"a": 4, "b": 4}, n_never=4, effect=50.0, noise=0.1, seed=5)
    res = randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort")
    assert res.n_assignments == math.comb(6, 2) == 15
    assert res.p_value == pytest.approx(1 / 15)


def test_eligible_units_limit_the_reassignment():
    d = make_panel({"a": 4, "b": 4}, n_never=4, seed=6)
    res = randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort",
                                  eligible=["a", "b", "n0", "n1"])
    assert res.n_assignments == 6 and list(res.assignments.columns) == ["a", "b", "n0", "n1"]
    col = d.assign(ok=d["unit"].isin(["a", "n0", "n1"]))
    assert randomization_inference(col, estimator=did_stat, unit="unit", cohort="cohort",
                                   eligible="ok").n_assignments == 3


def test_synthetic_did_as_statistic_rebuilds_treated():
    from evalkit.models.synthdid import synthetic_did

    d = make_panel({"a": 5}, n_never=5, T=10, effect=30.0, noise=0.2, seed=7)

    def sdid(x):
        return synthetic_did(x, y="y", unit="unit", time="t", treated="treated", method="sdid", se=None).estimate

    res = randomization_inference(d, estimator=sdid, unit="unit", cohort="cohort", time="t", treated="treated")
    assert res.n_assignments == 6 and res.p_value == pytest.approx(1 / 6)
    assert res.statistic == pytest.approx(30.0, abs=1.5)


def test_callaway_santanna_as_statistic():
    from evalkit.models import staggered_did

    d = make_panel({"a": 4, "b": 4, "c": 6, "d": 6}, n_never=6, T=8, effect=3.0, seed=8)

    def cs(x):
        return staggered_did(x, y="y", unit="unit", time="t", cohort="cohort").aggregate("simple").estimate

    calls = []
    res = randomization_inference(d, estimator=cs, unit="unit", cohort="cohort", exact=False, reps=9,
                                  seed=0, progress=lambda k, n: calls.append((k, n)))
    assert calls[-1] == (9, 9) and len(calls) == 9
    assert res.reps == 9 and 0 < res.p_value <= 1


def test_progress_prints_to_stderr(capsys):
    d = make_panel({"a": 3}, n_never=3, seed=9)
    randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort", progress=2)
    err = capsys.readouterr().err
    assert "2/4" in err and "4/4" in err
    randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort")
    assert capsys.readouterr().err == ""


def test_leave_one_out():
    d = make_panel({"a": 4, "b": 4, "c": 6}, n_never=4, effect=2.0, seed=10)
    res = leave_one_out(d, estimator=did_stat, unit="unit", treated_units=["a", "b", "c"])
    assert isinstance(res, LeaveOneOutResults)
    t = res.tidy()
    assert list(t["term"]) == ["full sample", "drop a", "drop b", "drop c"]
    assert res.full == pytest.approx(did_stat(d))
    assert t.loc[1, "estimate"] == pytest.approx(did_stat(d[d["unit"] != "a"]))
    assert t.loc[1, "change"] == pytest.approx(t.loc[1, "estimate"] - res.full)
    assert "Leave-one-out" in str(res.summary("en"))
    from matplotlib.figure import Figure

    assert isinstance(res.plot(), Figure)
    with pytest.raises(ModelInputError, match="not in"):
        leave_one_out(d, estimator=did_stat, unit="unit", treated_units=["zz"])


def test_input_errors():
    d = make_panel({"a": 4}, n_never=3, seed=11)
    with pytest.raises(ModelInputError, match="not found"):
        randomization_inference(d, estimator=did_stat, unit="unit", cohort="nope")
    varying = d.copy()
    varying.loc[0, "cohort"] = 7
    with pytest.raises(ModelInputError, match="constant within a unit"):
        randomization_inference(varying, estimator=did_stat, unit="unit", cohort="cohort")
    with pytest.raises(ModelInputError, match="one cohort label"):
        randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort", eligible=["n0", "n1"])
    with pytest.raises(ModelInputError, match="at least two"):
        randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort", eligible=["a"])
    with pytest.raises(ModelInputError, match="time="):
        randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort", treated="treated")
    with pytest.raises(ModelInputError, match="failed"):
        randomization_inference(d, estimator=lambda x: 1 / 0, unit="unit", cohort="cohort")
    with pytest.raises(ModelInputError, match="finite"):
        randomization_inference(d, estimator=lambda x: float("nan"), unit="unit", cohort="cohort")


def test_results_api():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    d = make_panel({"a": 3, "b": 5}, n_never=4, effect=1.0, seed=12)
    res = randomization_inference(d, estimator=did_stat, unit="unit", cohort="cohort")
    assert isinstance(res, RandomizationResults)
    t = res.tidy()
    assert t.loc[0, "p"] == res.p_value and t.loc[0, "estimate"] == res.statistic
    assert "随机化推断" in str(res.summary()) and "Exact randomization" in str(res.summary("en"))
    assert "#" in res.method_note("en")
    assert list(t.columns[:6]) == ["term", "estimate", "se", "ci_low", "ci_high", "p"]
    from evalkit.models.results import ResultsProtocol

    assert isinstance(res, ResultsProtocol)
    assert hasattr(res.plot("en"), "_repr_png_")
    FigureCanvasAgg(res.plot("en")).draw()


@pytest.mark.parametrize("control", ["never", "notyet"])
def test_vectorised_simple_att_equals_staggered_did_on_every_assignment(control):
    """SimpleAtt.many (closed form for all assignments) = staggered_did on each reassigned panel,
    including a cohort with no period before it (dropped) and one after the data (never)."""
    from evalkit.models.did_batch import SimpleAtt

    d = make_panel({"a": 3, "b": 3, "c": 5, "d": 7, "e": 1, "f": 12}, n_never=5, T=8, effect=1.5, seed=21)
    est = SimpleAtt(y="y", unit="unit", time="t", cohort="cohort", control=control)
    units = d["unit"].unique()
    per_unit = d.groupby("unit", sort=False)["cohort"].first().reindex(units).to_numpy()
    rng = np.random.default_rng(3)
    labels = np.array([rng.permutation(per_unit) for _ in range(12)])
    fast = est.many(d, units, labels)
    for row, fa in zip(labels, fast, strict=True):
        panel = d.assign(cohort=d["unit"].map(dict(zip(units, row, strict=True))))
        try:
            slow = est(panel)
        except ModelInputError:
            slow = np.nan  # e.g. no never-member left: the loop must decide (and raise)
        if np.isfinite(fa):
            assert fa == pytest.approx(slow, abs=1e-10)
    assert np.isfinite(fast).sum() >= 8
    # dropping units (leave-one-out) equals dropping their rows
    keep = np.ones((1, len(units)), dtype=bool)
    keep[0, 0] = False
    dropped = est.many(d, units, per_unit[None, :], keep)[0]
    assert dropped == pytest.approx(est(d[d["unit"] != units[0]]), abs=1e-10)


def test_randomization_and_leave_one_out_take_the_vectorised_path_with_identical_numbers():
    from evalkit.models.did_batch import SimpleAtt

    d = make_panel({"a": 4, "b": 4, "c": 6, "d": 6}, n_never=6, T=8, effect=3.0, seed=8)
    rows_evaluated: list[int] = []

    class Counted(SimpleAtt):
        def many(self, data, units, labels, keep=None):
            rows_evaluated.append(len(labels))
            return super().many(data, units, labels, keep)

    fast = Counted(y="y", unit="unit", time="t", cohort="cohort")

    def slow(x):  # the same statistic without ``many``: the loop
        return fast(x)

    a = randomization_inference(d, estimator=fast, unit="unit", cohort="cohort", exact=False, reps=15, seed=2)
    b = randomization_inference(d, estimator=slow, unit="unit", cohort="cohort", exact=False, reps=15, seed=2)
    np.testing.assert_allclose(a.distribution, b.distribution, atol=1e-10)
    assert a.p_value == b.p_value
    la = leave_one_out(d, estimator=fast, unit="unit", treated_units=["a", "b", "c", "d"]).tidy()
    lb = leave_one_out(d, estimator=slow, unit="unit", treated_units=["a", "b", "c", "d"]).tidy()
    np.testing.assert_allclose(la["estimate"], lb["estimate"], atol=1e-10)
    # the fast path ran: the observed check (1 row) and every assignment / every drop at once
    assert rows_evaluated == [1, 15, 1, 4]

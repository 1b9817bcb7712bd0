"""Cronbach's α: a hand calculation of a small 5 × 3 matrix (item variances 2.5, 2.5, 0.7, variance
of the totals 14.7, so α = 3/2 · (1 − 5.7/14.7) = 0.918367…, worked in the test) and an independent
formula on simulated data with missing rows: pingouin's covariance form α = k/(k−1)·(1 − tr C / ΣC),
written inline. No published example is reproduced here (see the engineer's report)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.composite import cronbach_alpha
from evalkit.composite.reliability import item_rest_correlations
from evalkit.errors import ModelInputError

# 5 respondents × 3 items (hand calculation in the module docstring)
HAND = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 1, 4, 3, 5], "q3": [2, 2, 3, 3, 4]})


def _pingouin_formula(df):
    x = df.dropna().to_numpy(float)
    k = x.shape[1]
    C = np.cov(x, rowvar=False, ddof=1)
    return k / (k - 1) * (1 - np.trace(C) / C.sum())


def test_hand_calculation():
    v = HAND.var(ddof=1)
    assert v.tolist() == pytest.approx([2.5, 2.5, 0.7])
    assert HAND.sum(axis=1).var(ddof=1) == pytest.approx(14.7)
    assert cronbach_alpha(HAND) == pytest.approx(1.5 * (1 - 5.7 / 14.7), abs=1e-12)


def test_against_covariance_formula_with_missing_rows():
    rng = np.random.default_rng(0)
    f = rng.normal(size=200)
    df = pd.DataFrame({f"i{j}": f + rng.normal(scale=1 + j / 2, size=200) for j in range(5)})
    df.iloc[[3, 17, 40], [1, 4, 2]] = np.nan
    r = cronbach_alpha(df, details=True)
    assert r.alpha == pytest.approx(_pingouin_formula(df), abs=1e-12)
    assert (r.n, r.k, r.n_dropped) == (197, 5, 3)
    full = df.dropna()
    for c in df.columns:
        rest = full.drop(columns=c).sum(axis=1)
        assert r.items.loc[c, "item_rest_r"] == pytest.approx(np.corrcoef(full[c], rest)[0, 1], abs=1e-12)
        assert r.items.loc[c, "alpha_if_dropped"] == pytest.approx(_pingouin_formula(full.drop(columns=c)), abs=1e-12)
    pd.testing.assert_series_equal(item_rest_correlations(df), r.items["item_rest_r"], check_names=False)


def test_no_direction_applied():
    flipped = HAND.assign(q3=-HAND["q3"])
    assert cronbach_alpha(flipped) < cronbach_alpha(HAND)


def test_bad_inputs():
    with pytest.raises(ModelInputError):
        cronbach_alpha(HAND[["q1"]])
    with pytest.raises(ModelInputError):
        cronbach_alpha(HAND.assign(q2=list("abcde")))
    with pytest.raises(ModelInputError):
        cronbach_alpha(pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]}))

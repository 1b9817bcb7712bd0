"""Multiple-testing adjustments: Holm / Bonferroni against statsmodels; Romano–Wolf against
pyfixest's implementation on fixed bootstrap draws, a direct transcription of the step-down
algorithm (Romano & Wolf 2016, Algorithm 2.8 with the (1+·)/(B+1) p-value), and its properties."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import ModelInputError
from evalkit.models.multiple import adjust_pvalues

P = np.array([0.001, 0.04, 0.03, 0.2, 0.012, 0.5])


@pytest.mark.parametrize("method", ["holm", "bonferroni"])
def test_closed_forms_match_statsmodels(method):
    from statsmodels.stats.multitest import multipletests

    r = adjust_pvalues(pd.Series(P, index=list("abcdef")), method=method, family="six outcomes")
    ref = multipletests(P, alpha=0.05, method=method)
    np.testing.assert_allclose(r.p_adjusted.to_numpy(), ref[1], atol=1e-15)
    assert r.table["reject"].tolist() == ref[0].tolist()
    t = r.tidy()
    assert t["term"].tolist() == list("abcdef") and (t["method"] == method).all()
    assert (t["family"] == "six outcomes").all()


def _draws(seed=0, B=999, m=5, rho=0.5):
    rng = np.random.default_rng(seed)
    R = np.full((m, m), rho) + (1 - rho) * np.eye(m)
    boot = rng.multivariate_normal(np.zeros(m), R, size=B)
    t = np.array([3.1, -2.2, 1.9, 0.4, -2.6])[:m]
    return t, boot


def _transcription(t, boot):
    t, boot = np.abs(t), np.abs(boot)
    B, m = boot.shape
    order = np.argsort(-t)
    p = np.zeros(m)
    prev = 0.0
    for j, h in enumerate(order):
        rest = order[j:]
        mx = boot[:, rest].max(axis=1)
        pj = (1 + np.sum(mx >= t[h])) / (B + 1)
        prev = max(prev, pj)
        p[h] = min(1.0, prev)
    return p


def test_romano_wolf_matches_pyfixest_and_transcription():
    from pyfixest.estimation.post_estimation.multcomp import _get_rwolf_pval

    t, boot = _draws()
    r = adjust_pvalues(method="romano_wolf", t_stats=t, boot_t=boot, names=list("abcde"))
    np.testing.assert_allclose(r.p_adjusted.to_numpy(), _get_rwolf_pval(t.copy(), boot.copy()), atol=1e-15)
    np.testing.assert_allclose(r.p_adjusted.to_numpy(), _transcription(t, boot), atol=1e-15)
    assert r.n_boot == 999 and "romano_wolf" in str(r.summary())


def test_romano_wolf_properties():
    from scipy.stats import norm

    t, boot = _draws(rho=0.0, B=20000, seed=3)
    r = adjust_pvalues(method="romano_wolf", t_stats=t, boot_t=boot)
    raw = r.table["p"].to_numpy()
    adj = r.p_adjusted.to_numpy()
    assert (adj >= raw - 3 / np.sqrt(20000)).all()  # never below the raw p (up to resampling error)
    order = np.argsort(-np.abs(t))
    assert (np.diff(adj[order]) >= 0).all()  # monotone in the step-down order
    # independent statistics: the first step is Šidák, 1 − (1 − p)^m, close to Bonferroni
    p1 = 2 * norm.sf(abs(t[order[0]]))
    assert adj[order[0]] == pytest.approx(1 - (1 - p1) ** len(t), abs=0.004)
    assert adj[order[0]] <= min(1, len(t) * p1) + 0.004
    # perfectly dependent statistics: no penalty at all for the largest one
    tt = np.array([2.5, 2.5, 2.5])
    same = np.repeat(np.random.default_rng(0).standard_normal((20000, 1)), 3, axis=1)
    r2 = adjust_pvalues(method="romano_wolf", t_stats=tt, boot_t=same)
    assert r2.p_adjusted.iloc[0] == pytest.approx(2 * norm.sf(2.5), abs=0.004)


def test_bad_inputs_and_plot():
    with pytest.raises(ModelInputError):
        adjust_pvalues([0.1, 1.2])
    with pytest.raises(ModelInputError):
        adjust_pvalues(method="romano_wolf", t_stats=[1.0, 2.0], boot_t=np.zeros((10, 3)))
    with pytest.raises(ModelInputError):
        adjust_pvalues(method="romano_wolf", t_stats=[1.0])
    with pytest.raises(ValueError, match="method must be one of 'holm', 'bonferroni', 'romano_wolf'; got 'fdr'"):
        adjust_pvalues(P, method="fdr")
    fig = adjust_pvalues(P).plot(lang="en")
    with pytest.warns(DeprecationWarning, match="lang"):
        adjust_pvalues(P, lang="en")
    assert hasattr(fig, "savefig")

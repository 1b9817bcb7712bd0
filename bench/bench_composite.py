"""Benchmark: Monte Carlo uncertainty analysis of a composite index.

1,000 variants over a 100-unit × 25-indicator table (5 groups), varying normalisation (3),
weighting (3), aggregation (2), entropy shift (2) and ±25 % weight noise.

- ``composite_mc_local``: ``evalkit.composite.uncertainty`` (sensitivity=False, 1,000 runs) against a
  direct numpy loop doing the same work (the same distinct normalised matrices and weight vectors
  computed once, then per variant: noise, renormalise, aggregate two levels, rank). Goal ≤ 1.5×.
- ``composite_mc_dask`` (not quick): the same analysis with the Saltelli design (1,000 × 7 runs) on
  a 2-worker ``distributed.LocalCluster`` (processes) against the local run; cluster start-up is
  excluded, scatter and scheduling included. Reported, with the goal of issue 6 (≤ 1.3×).

Run standalone: ``python bench/bench_composite.py [--quick]``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import print_rows, row, timeit  # noqa: E402


def _table(m: int, k: int, groups: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.lognormal(1.0, 0.6, (m, k)), columns=[f"i{j:02d}" for j in range(k)],
                     index=[f"u{i:03d}" for i in range(m)])
    hierarchy = {col: f"g{j % groups}" for j, col in enumerate(X.columns)}
    return X, hierarchy


def _numpy_baseline(X, pipe, n, seed):
    """The same Monte Carlo written directly in numpy (no result objects, no design bookkeeping)."""
    from scipy.stats import rankdata

    from evalkit.composite.uncertainty import MC_NORMALISATION_PARAMS

    treated, _, _ = pipe.prepare(X)
    norms = [pipe.normalised(treated, m, **MC_NORMALISATION_PARAMS[m]).to_numpy()
             for m in ("minmax", "zscore", "rank")]
    shifts = (1e-4, 1e-2)
    weights = [[pipe.indicator_weights(treated, w, s)[0].to_numpy() for s in shifts]
               for w in ("equal", "entropy_minmax", "critic")]
    member = pipe.membership()
    group_of = member.argmax(axis=1)
    gw0 = pipe.group_weight_series().to_numpy()
    rng = np.random.default_rng(seed)
    spec = np.column_stack([rng.integers(0, L, n) for L in (3, 3, 2, 2)])
    np.column_stack([rng.integers(0, L, n) for L in (3, 3, 2, 2)])   # the B block, drawn as in evalkit
    noise = rng.uniform(0.75, 1.25, (n, member.shape[0] + member.shape[1]))
    k = member.shape[0]
    ranks = np.empty((n, X.shape[0]))
    for r in range(n):
        ni, wi, ai, si = spec[r]
        w = weights[wi][si] * noise[r, :k]
        w = w / (member.T @ w)[group_of]
        gw = gw0 * noise[r, k:]
        gw = gw / gw.sum()
        W = member * w[:, None]
        V = norms[ni]
        if ai == 0:
            score = (V @ W) @ gw
        else:
            score = np.exp(np.log(np.exp(np.log(V) @ W)) @ gw)
        ranks[r] = rankdata(-score, method="min")
    return ranks


def run(quick: bool = False) -> list[dict]:
    from evalkit import composite as c

    m, k, n = (40, 10, 200) if quick else (100, 25, 1000)
    X, hierarchy = _table(m, k, 5)
    pipe = c.Pipeline(groups=hierarchy)
    kwargs = dict(normalisation=("minmax", "zscore", "rank"),
                  weighting=("equal", "entropy_minmax", "critic"),
                  aggregation=("arithmetic", "geometric"), entropy_shift=(1e-4, 1e-2),
                  weight_noise=0.25)
    ours = timeit(lambda: c.uncertainty(X, pipe, n=n, seed=1, sensitivity=False, **kwargs), repeat=3)
    base = timeit(lambda: _numpy_baseline(X, pipe, n, 1), repeat=3)
    rows = [row("composite_mc_local", ours, base, "≤ 1.5× a direct numpy loop",
                notes=f"{n} variants, {m} units × {k} indicators")]
    if not quick:
        from distributed import Client, LocalCluster

        local = timeit(lambda: c.uncertainty(X, pipe, n=n, seed=1, **kwargs), repeat=2)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            c.uncertainty(X, pipe, n=20, seed=0, client=client, **kwargs)   # warm the workers
            dask_t = timeit(lambda: c.uncertainty(X, pipe, n=n, seed=1, client=client,
                                                  chunk_size=500, **kwargs), repeat=2)
        rows.append(row("composite_mc_dask_2workers", dask_t, local,
                        "≤ 1.3× local (issue 6); reported",
                        notes=f"{n * 7} runs (Saltelli design), LocalCluster 2 processes, start-up excluded"))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))

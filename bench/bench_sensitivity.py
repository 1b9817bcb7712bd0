"""Wrapper overhead of evalkit.models.sensitivity.honest_did against the libraries it wraps,
called directly in the same run on the same mpdta event study (goal: ratio ≤ 1.2).

Run: .venv/bin/python bench/bench_sensitivity.py [--quick]
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import timeit


def main(quick: bool = False) -> None:
    import moderndid as md
    from diff_diff.honest_did import _compute_optimal_flci
    from moderndid.didhonest import create_sensitivity_results_rm

    from evalkit.models import staggered_did
    from evalkit.models.sensitivity import event_estimates, honest_did

    warnings.simplefilter("ignore")
    d = md.load_mpdta()
    d = d.to_pandas() if hasattr(d, "to_pandas") else d
    did = staggered_did(d, y="lemp", unit="countyreal", time="year", cohort="first.treat", base_period="universal")
    est = event_estimates(did)
    b, V, K, T = est.beta, est.sigma, est.n_pre, est.n_post
    first = np.eye(T)[0]  # the on-impact effect
    Ms = [0.01, 0.02, 0.05]
    grid = 200 if quick else 1000
    Mbar = [1.0] if quick else [0.5, 1.0, 1.5, 2.0]
    raw = (b, V, K, T)
    cases = {
        "smoothness FLCI": (lambda: honest_did(raw, method="smoothness", Mbar=Ms),
                            lambda: [_compute_optimal_flci(b[:K], b[K:], V, first, K, T, M) for M in Ms]),
        "relative magnitudes C-LF": (lambda: honest_did(raw, Mbar=Mbar, grid_points=grid),
                                     lambda: create_sensitivity_results_rm(betahat=b, sigma=V, num_pre_periods=K,
                                                                           num_post_periods=T, m_bar_vec=Mbar,
                                                                           l_vec=first, grid_points=grid)),
    }
    for name, (ours, direct) in cases.items():
        ours(), direct()  # warm-up (numba compilation, imports)
        t_ours, t_lib = timeit(ours, repeat=3), timeit(direct, repeat=3)
        print(f"{name}: evalkit {t_ours:.3f}s, library direct {t_lib:.3f}s, ratio {t_ours / t_lib:.3f}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

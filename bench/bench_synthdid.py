"""Benchmark of the synthetic-DiD weights solver (``evalkit.models.synthdid_solver._fw``).

The standard-error replications (placebo, bootstrap, jackknife) solve hundreds of Frank–Wolfe
problems of the same shape; the solver takes them as one batch. The baseline, measured in the same
run, is the same solver given one problem at a time (what R ``synthdid`` does, a loop over
replications). Problems: Proposition 99's shape — unit weights over 38 controls from 19
pre-periods, and time weights over 19 pre-periods from 38 controls — 100 of each, random walks
(each runs to synthdid's 10,000-step limit). The batch: median of 3; the loop (~0.45 s a
problem): one run. ``--quick``: 20 problems.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import print_rows, row  # noqa: E402


def _problems(R: int, m: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(R, m, n)).cumsum(axis=1)
    b = rng.normal(size=(R, m)).cumsum(axis=1)
    return A, b, np.ones((R, m), dtype=bool), np.ones((R, n), dtype=bool), np.full((R, n), 1.0 / n)


def _timed(fn, repeat: int) -> tuple[float, np.ndarray]:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), out


def run(quick: bool = False) -> list[dict]:
    from evalkit.models.synthdid_solver import _fw

    R = 20 if quick else 100
    rows = []
    for what, (m, n) in {"unit weights (19×38)": (19, 38), "time weights (38×19)": (38, 19)}.items():
        A, b, rm, cm, x0 = _problems(R, m, n, seed=m)
        args = (0.5, True)  # ζ and the intercept, as for Prop 99's ω

        def batched():
            return _fw(A, b, rm, cm, *args, x0, 1e-5, 10_000)

        def one_at_a_time():
            return np.vstack(
                [
                    _fw(A[r : r + 1], b[r : r + 1], rm[r : r + 1], cm[r : r + 1], *args, x0[r : r + 1], 1e-5, 10_000)
                    for r in range(R)
                ]
            )

        (t_batch, x_batch), (t_loop, x_loop) = _timed(batched, 3), _timed(one_at_a_time, 1)
        same = float(np.abs(x_batch - x_loop).max())
        rows.append(
            row(
                f"synthdid solver, {R} problems, {what}",
                t_batch,
                t_loop,
                "< 1 (batched beats the loop)",
                "s",
                f"baseline: the same solver one problem at a time; largest difference {same:.1e}",
            )
        )
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))

"""Benchmark: Roth's pre-trend power (``models.pretrend_power``) on a review's event study.

The final review's DiD of the default data has twelve pre-periods: the probability that the
individual pre-tests reject is a 12-dimensional normal rectangle probability, integrated by
Genz's quasi-Monte Carlo method. Figure: the default tolerance (0.001, R ``pretrends``'s);
baseline, measured in the same run: scipy's own default (1e-5, up to 10⁶ points per
dimension), which evalkit used before it stated a tolerance. The slopes of both are reported.

Run: ``python bench/bench_pretrends.py [--quick]`` (``--quick``: the 1e-4 tolerance as the
baseline instead of the minutes-long 1e-5).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import print_rows, row  # noqa: E402


def event_study():
    """The final review's DiD of the default data, first DiD outcome (computed, not cached)."""
    import dataclasses

    from evalkit.review.cache import ResultCache
    from evalkit.review.report import PhaseReview

    opened = PhaseReview.open(ROOT / "params" / "final.yaml", methods={"ri_reps": 19, "uncertainty_runs": 20})
    a = dataclasses.replace(opened.analysis, cache=ResultCache(None))
    return a.did(a.methods.did_outcomes[0])


def run(quick: bool = False) -> list[dict]:
    from evalkit.models import pretrend_power

    did = event_study()
    timed = {}
    for tol in (1e-3, 1e-4 if quick else 1e-5):
        t0 = time.perf_counter()
        res = pretrend_power(did, tolerance=tol)
        timed[tol] = (time.perf_counter() - t0, res)
    (fig, res), (base, ref) = timed.values()
    k = len(res.event_times)
    slopes = ", ".join(f"{p:.0%}: {a:.5g} vs {b:.5g}" for p, a, b in zip(res.table["power"], res.table["slope"], ref.table["slope"]))
    return [row(f"pretrend_power, {k} pre-periods", fig, base, "reported (a review with methods.sensitivity)",
                notes=f"tolerance 0.001 (R pretrends's) vs {ref.tolerance:g} (scipy's default, evalkit's before); "
                      f"slopes {slopes}")]


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))

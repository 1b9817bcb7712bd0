"""Benchmark: where a phase review spends its time, section by section (issue 15).

Each run is a fresh Python (``bench.common.run_child``) that opens ``params/phase3.yaml`` and
renders every section of ``PhaseReview`` in the notebook's order into a page (no kernel), timing
``PhaseReview.open`` and each section. Two passes share one empty result cache: **cold** (every
part computed) and **warm** (a rerun with nothing changed: cached parts are read back). As in
``evalkit review``, the full dataset is loaded and cached first (the runner's preflight, outside
the kernel, not timed), so ``PhaseReview.open`` is what a review's kernel pays: reading it back and
cutting it at the as-of date; a separate child times it with nothing cached at all. The
same-run baseline is the floor of a section: rendering one small table and one small figure on
the same page. Medians over the runs.

Run standalone: ``python bench/bench_sections.py [--quick]`` (quick: one run, cheaper methods).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import print_rows, row, run_child  # noqa: E402

_CHILD = """
import os, sys, time, warnings
warnings.simplefilter("ignore")
os.environ["EVALKIT_CACHE"] = {cache!r}
sys.path.insert(0, {src!r})
import pandas as pd
from evalkit.plotting import new_figure
from evalkit.review.html import Page
from evalkit.review.report import ALL_SECTIONS, PhaseReview

def floor():
    page = Page("zh", sink=[])
    t0 = time.perf_counter()
    page.table(pd.DataFrame({{"a": range(10), "b": [x / 3 for x in range(10)]}}), "表", "table", table_id="t")
    fig = new_figure(6, 3); fig.add_subplot().plot(range(10))
    page.figure(fig, "图", "figure")
    return time.perf_counter() - t0

floor()  # warm the font and PNG writer once, like a review's first figure
times = {{"floor": floor()}}
if {preflight!r}:  # what the runner's preflight does before any kernel starts
    from evalkit.review.asof import load_full
    from evalkit.review.cache import ResultCache
    load_full({data!r}, ResultCache.default())
t0 = time.perf_counter()
review = PhaseReview.open({params!r}, methods={methods!r})
review = PhaseReview(review.analysis, sink=[])
times["open"] = time.perf_counter() - t0
for name in ALL_SECTIONS if {sections!r} else ():
    t0 = time.perf_counter()
    getattr(review, name)()
    times[name] = time.perf_counter() - t0
times["total"] = sum(v for k, v in times.items() if k != "floor")
RESULT = times
"""


def _code(cache: str, methods: dict, preflight: bool = True, sections: bool = True) -> str:
    return _CHILD.format(cache=cache, src=str(ROOT / "src"), params=str(ROOT / "params" / "phase3.yaml"),
                         data=str(ROOT / "data" / "zhuzhou_synthetic"), methods=methods, preflight=preflight,
                         sections=sections)


def profile(runs: int, methods: dict) -> tuple[dict, dict, float]:
    """Median seconds per step, cold and warm (each run with its own fresh cache folder), and the
    median ``PhaseReview.open`` with nothing cached."""
    cold, warm, bare = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(run_child(_code(cache, methods)))
            warm.append(run_child(_code(cache, methods)))
        with tempfile.TemporaryDirectory() as cache:
            bare.append(run_child(_code(cache, methods, preflight=False, sections=False))["open"])

    def median(rows: list[dict]) -> dict:
        return {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "peak_rss_mb"}

    return median(cold), median(warm), statistics.median(bare)


def run(quick: bool = False) -> list[dict]:
    methods = {"uncertainty_runs": 50, "ri_reps": 19} if quick else {}
    runs = 1 if quick else 3
    cold, warm, bare = profile(runs, methods)
    floor = cold["floor"]
    note = f"phase3, median of {runs} run(s){', quick methods ' + str(methods) if methods else ''}"
    rows = [row("review total, cold (every part computed)", cold["total"], floor, "≈ kernel start + page render",
                notes=note),
            row("review total, warm (nothing changed, parts from the cache)", warm["total"], cold["total"],
                "reported", notes="baseline here: the cold total; an unchanged rerun of "
                "`evalkit review` reuses whole reviews instead (bench_review: review_all_warm)"),
            row("PhaseReview.open in a review (full data cached by the preflight)", cold["open"], floor, "≤ 0.5 s",
                notes=f"read back and cut at the as-of date; warm {warm['open']:.3f} s; with nothing cached at all "
                f"(load, validate, cut) {bare:.3f} s")]
    for name in sorted((k for k in cold if k not in ("floor", "open", "total")), key=lambda k: -cold[k]):
        rows.append(row(f"section {name}: cold / warm", cold[name], floor, "profile (floor = one table + one figure)",
                        notes=f"warm {warm[name]:.3f} s"))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))

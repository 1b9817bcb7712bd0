"""Benchmark: the full indicator table (``evalkit.metrics.compute``) from N synthetic graduate
records plus a panel, against a single DuckDB group-by of the same graduate counts measured in
the same run.

Records are generated vectorised with numpy: 200 colleges × 10 yearly cohorts, string college
ids and cohort labels (as a CSV or Parquet load gives them), 0/1 outcome columns and income
missing for non-respondents. Each measurement runs in a fresh child process so its peak
resident memory is its own (``bench.common.run_child``); ``data_rss_mb`` is the child's peak
right after generating the data, before the timed step.

Rows: seconds for N = 1e7 (ratio to the DuckDB group-by, medians of 3 alternating children;
goal ≤ 1.2×, issue 15), peak memory (goal ≤ 4 GB),
and the log-log growth exponent of compute() over N = 1e5, 1e6, 1e7 (goal near-linear, ≤ ~1.1).
``python bench/bench_metrics.py [--quick]`` prints the rows.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import print_rows, row, run_child  # noqa: E402

N_COLLEGES = 200
N_COHORTS = 10
FIRST_YEAR = 2015

_BASELINE_SQL = """
SELECT college_id, cohort, count(*) AS graduates, sum(placed) AS placed,
       sum(local * placed) AS local, sum(member_enterprise * placed) AS member_ent,
       sum(job_match * placed) AS matched, sum(CASE WHEN income IS NOT NULL THEN placed ELSE 0 END) AS respondents,
       sum(CASE WHEN income IS NOT NULL THEN income * placed ELSE 0 END) AS income_sum
FROM g GROUP BY 1, 2
"""


def make_dataset(n: int, seed: int = 0):
    """A Dataset with ``n`` graduate records (200 colleges × 10 cohorts) and a matching panel."""
    import pandas as pd

    from evalkit import schema
    from evalkit.data.dataset import Dataset
    from evalkit.data.periods import parse_period

    rng = np.random.default_rng(seed)
    college_ids = np.array([f"C{i:03d}" for i in range(N_COLLEGES)])
    labels = np.array([str(FIRST_YEAR + k) for k in range(N_COHORTS)])
    college = rng.integers(0, N_COLLEGES, n)
    cohort = rng.integers(0, N_COHORTS, n)
    placed = (rng.random(n) < 0.9).astype(np.int8)
    local = ((rng.random(n) < 0.6) & (placed == 1)).astype(np.int8)
    member = ((rng.random(n) < 0.3) & (placed == 1)).astype(np.int8)
    match = ((rng.random(n) < 0.7) & (placed == 1)).astype(np.int8)
    income = np.where((placed == 1) & (rng.random(n) < 0.8), rng.normal(4500, 800, n), np.nan)
    graduates = pd.DataFrame({
        "graduate_id": pd.RangeIndex(n),  # pseudonymous ids; integer keeps generation cheap
        "college_id": pd.array(college_ids[college], dtype="str"),
        "major": pd.array(np.array(["m1", "m2", "m3", "m4"])[college % 4], dtype="str"),
        "cohort": pd.array(labels[cohort], dtype="str"),
        "placed": placed, "local": local, "member_enterprise": member, "job_match": match, "income": income,
    })
    units = pd.DataFrame({
        "unit_id": college_ids, "unit_type": "college", "name_zh": college_ids, "name_en": college_ids,
        "alliance": "none", "member_since": pd.NaT, "city": "", "lead": False, "parent_id": None,
        "cohort": None, "cohort_t": 0, "member": False,
    })
    grid = pd.MultiIndex.from_product([college_ids, labels], names=["unit_id", "period"]).to_frame(index=False)
    panel = grid.assign(t=np.tile(np.arange(1, N_COHORTS + 1), N_COLLEGES))
    for c in schema.PANEL_VARIABLES:
        panel[c.name] = rng.uniform(1, 1000, len(panel)).round()
    periods = [parse_period(x) for x in labels]
    return Dataset(units, panel, graduates, frequency="year", periods=periods, meta={"synthetic": True})


def _child_code(n: int, mode: str, repeat: int) -> str:
    """Child program: generate the data, reset the peak-RSS mark (Linux clear_refs), time ``mode``
    ("baseline" = the DuckDB group-by; "auto" / "pandas" = metrics.compute with that engine: numpy
    by default, the pandas reference)."""
    return f"""
import sys, time, statistics
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'src')!r})
from bench.bench_metrics import make_dataset, _BASELINE_SQL, _status_mb, _reset_peak
import duckdb  # imported up front in every child so no import is timed
from evalkit import metrics, registry
reg = registry.load_registry()
ds = make_dataset({n})
import gc; gc.collect()
before_mb = _status_mb("VmRSS")
reset = _reset_peak()
times = []
if {mode!r} == "baseline":
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it prints to stdout on long queries
    con.register("g", ds.graduates)
    for _ in range({repeat}):
        t0 = time.perf_counter(); out = con.execute(_BASELINE_SQL).df(); times.append(time.perf_counter() - t0)
else:
    for _ in range({repeat}):
        t0 = time.perf_counter(); out = metrics.compute(ds, reg, engine={mode!r})
        times.append(time.perf_counter() - t0)
RESULT = {{"seconds": statistics.median(times), "rows": len(out), "rss_before_mb": before_mb,
          "step_peak_mb": _status_mb("VmHWM") if reset else float("nan")}}
"""


def _status_mb(field: str) -> float:
    """A /proc/self/status memory field (VmRSS, VmHWM) in MB; NaN where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _reset_peak() -> bool:
    """Reset the peak-RSS mark (VmHWM) so it measures the timed step only (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(n: int, mode: str, repeat: int = 3) -> dict:
    return run_child(_child_code(n, mode, repeat))


def run(quick: bool = False) -> list[dict]:
    sizes = [100_000, 1_000_000] if quick else [100_000, 1_000_000, 10_000_000]
    results = {n: {mode: measure(n, mode) for mode in ("baseline", "auto", "pandas")} for n in sizes}
    top = sizes[-1]
    # The headline ratio: DuckDB and compute() in alternating children (load drifts on a shared
    # machine), medians over 3 of each, the children above included.
    alternating = {mode: [results[top][mode]] for mode in ("baseline", "auto")}
    for _ in range(2):
        for mode in alternating:
            alternating[mode].append(measure(top, mode))
    r = dict(results[top])
    for mode, runs in alternating.items():
        r[mode] = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
    results[top] = r
    rows = [
        row(f"metrics.compute, {top:.0e} graduate records + panel (engine auto)", r["auto"]["seconds"],
            r["baseline"]["seconds"], "≤ 1.2× DuckDB group-by",
            notes=f"medians of 3 alternating children; pandas reference engine {r['pandas']['seconds']:.3f} s; "
                  f"{r['auto']['rows']} indicator rows"),
        row(f"metrics.compute peak memory, {top:.0e} records", r["auto"]["step_peak_mb"],
            r["baseline"]["step_peak_mb"], "≤ 4096 MB", unit="MB",
            notes=f"peak resident memory during the timed step (data alone {r['auto']['rss_before_mb']:.0f} MB; "
                  f"whole child incl. data generation {r['auto']['peak_rss_mb']:.0f} MB)"),
    ]
    ns = np.array(sizes, dtype=float)
    base_secs = np.array([results[n]["baseline"]["seconds"] for n in sizes])
    base_slope = float(np.polyfit(np.log(ns), np.log(base_secs), 1)[0])
    for engine in ("auto", "pandas"):
        secs = np.array([results[n][engine]["seconds"] for n in sizes])
        slope = float(np.polyfit(np.log(ns), np.log(secs), 1)[0])
        # the full-range slope is pulled down by the fixed panel cost; the last decade shows the growth
        last = float(np.log(secs[-1] / secs[-2]) / np.log(ns[-1] / ns[-2]))
        rows.append(row(f"metrics.compute log-log growth exponent (engine {engine})", slope, base_slope,
                        "near-linear (≤ ~1.1)", unit="",
                        notes=f"last decade {last:.2f}; " + "; ".join(
                            f"N={n:.0e}: {s:.3f} s (DuckDB {b:.3f} s)" for n, s, b in zip(sizes, secs, base_secs))))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))

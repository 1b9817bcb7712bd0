"""Shared helpers for benchmarks: time a callable, measure peak memory of a child process,
and the row format every benchmark returns to ``bench/run.py``.

Machines here are noisy: every figure is reported with a baseline measured in the same run,
and the ratio is what a goal is set on. Nothing here asserts a time.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Callable


def timeit(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_child(code: str, timeout: float = 3600) -> dict:
    """Run ``code`` in a fresh Python; it must print one JSON object as its last line.
    Adds ``peak_rss_mb``: the child's peak resident memory (ru_maxrss of the child)."""
    wrapper = (
        "import json, resource, sys\n" + code +
        "\n_out = dict(RESULT)\n_out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps(_out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row(name: str, value: float, baseline: float, goal: str, unit: str = "s", notes: str = "",
        ratio: float | None = None) -> dict:
    """One line of bench/results.md: the figure, the same-run baseline, their ratio and the goal."""
    if ratio is None:
        ratio = value / baseline if baseline else float("nan")
    return {"name": name, "value": value, "baseline": baseline, "ratio": ratio, "goal": goal,
            "unit": unit, "notes": notes}


def print_rows(rows: list[dict]) -> None:
    for r in rows:
        print(f"{r['name']}: {r['value']:.4g} {r['unit']} vs baseline {r['baseline']:.4g} {r['unit']} "
              f"→ ratio {r['ratio']:.3f} (goal {r['goal']}) {r['notes']}")

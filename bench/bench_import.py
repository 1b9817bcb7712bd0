"""`import evalkit` must cost at most 0.5 s more than `import pandas` (heavy libraries are
imported where they are used). Each import runs in a fresh interpreter; medians of several runs."""
from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import print_rows, row  # noqa: E402


def _import_seconds(module: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def run(quick: bool = False) -> list[dict]:
    repeat = 3 if quick else 9
    pandas = _import_seconds("pandas", repeat)
    evalkit = _import_seconds("evalkit, evalkit.dataset, evalkit.metrics, evalkit.composite, evalkit.models", repeat)
    extra = evalkit - pandas
    return [row("import evalkit (+dataset, metrics, composite, models)", evalkit, pandas,
                goal="≤ pandas + 0.5 s", notes=f"extra {extra:+.3f} s over `import pandas`")]


if __name__ == "__main__":
    print_rows(run())

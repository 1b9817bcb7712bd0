"""Peak memory of ``evalkit.load`` on large panels, as a multiple of the panel file's size.

Goal: loading a data folder needs at most 5× the size of its files (issue 11). The same run
measures ``pandas.read_csv`` of the same panel file (default dtypes), so the ratio can be read
against what pandas itself needs. Each measurement runs in a fresh interpreter; the ratio is
(peak RSS − RSS after imports) / file size (evalkit: every file of the folder; pandas: the panel).

What the ratio is made of: the loaded panel itself is ~4.5× its CSV here (48 float64 columns,
8 bytes a cell, against ~2 bytes a cell of text, most cells short or empty), plus ~15 MB of
first use (pyarrow's CSV reader and kernels). ``evalkit.load`` streams a clean CSV (1 MB at a
time) and types its numbers as it reads them, checks and sorts long columns through integer
codes, lets each table's text go once it is typed, and allocates pyarrow buffers from the C
library's allocator while it reads (pyarrow's default keeps freed memory). A file with cells
the streamed path does not type itself (thousands separators, exponents, signs, text, ...) or
another encoding is read whole as text as before: more memory, the same problems reported.

Run::

    .venv/bin/python bench/bench_load_memory.py            # 1 M and 5 M panel rows
    .venv/bin/python bench/bench_load_memory.py --rows 200000
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "data" / "zhuzhou_synthetic"

_CHILD = r"""
import json, resource, sys
import pandas as pd
import evalkit.data.dataset as dataset
import evalkit.data.validation  # noqa: F401
import openpyxl, pyarrow, yaml  # noqa: F401  (imports are not counted)

def rss_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

before = rss_kb()
mode, folder = sys.argv[1], sys.argv[2]
if mode == "evalkit":
    ds = dataset.load(folder)
    n = len(ds.panel)
else:
    n = len(pd.read_csv(folder + "/panel.csv"))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kb": before, "peak_kb": peak, "rows": n}))
"""


def make_folder(rows: int, out: Path) -> Path:
    """A valid data folder whose panel has about ``rows`` rows: the default panel's rows repeated
    for copies of its units (ids suffixed), the same periods."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    units = pd.read_csv(DEFAULT / "units.csv", dtype=str, keep_default_na=False)
    panel_lines = (DEFAULT / "panel.csv").read_text(encoding="utf-8").splitlines()
    header, body = panel_lines[0], panel_lines[1:]
    copies = max(1, -(-rows // len(body)))
    with open(out / "units.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(units.columns) + "\n")
        for k in range(copies):
            u = units.copy()
            u["unit_id"] = u["unit_id"] + f"_{k}"
            u["parent_id"] = u["parent_id"].where(u["parent_id"] == "", u["parent_id"] + f"_{k}")
            fh.write(u.to_csv(index=False, header=False, lineterminator="\n"))
    written = 0
    with open(out / "panel.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(header + "\n")
        for k in range(copies):
            chunk = [line.replace(",", f"_{k},", 1) for line in body]
            if written + len(chunk) > rows:
                chunk = chunk[: rows - written]
            fh.write("\n".join(chunk) + "\n")
            written += len(chunk)
            if written >= rows:
                break
    (out / "dataset.yaml").write_text("frequency: half\n", encoding="utf-8")
    return out


def measure(mode: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(folder)], capture_output=True, text=True, check=False,
                         cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(row_counts: list[int]) -> list[dict]:
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="evalkit-bench-mem-"))
    try:
        for rows in row_counts:
            folder = make_folder(rows, tmp / f"r{rows}")
            size = sum(p.stat().st_size for p in folder.iterdir())
            panel_size = (folder / "panel.csv").stat().st_size
            for mode in ("pandas.read_csv", "evalkit"):
                m = measure("evalkit" if mode == "evalkit" else "pandas", folder)
                grown = (m["peak_kb"] - m["before_kb"]) * 1024
                base = size if mode == "evalkit" else panel_size
                results.append({"rows": rows, "what": mode, "file_mb": round(base / 2**20, 1),
                                "peak_rss_mb": round(m["peak_kb"] / 1024, 1),
                                "grown_mb": round(grown / 2**20, 1), "ratio": round(grown / base, 2)})
                r = results[-1]
                print(f"{rows:>9,} rows  {mode:<16} files {r['file_mb']:>7.1f} MB  peak RSS {r['peak_rss_mb']:>8.1f} MB"
                      f"  grown {r['grown_mb']:>8.1f} MB  ratio {r['ratio']:>5.2f}×", flush=True)
            shutil.rmtree(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 5_000_000])
    args = p.parse_args(argv)
    results = run(args.rows)
    worst = max(r["ratio"] for r in results if r["what"] == "evalkit")
    print(f"worst evalkit ratio: {worst:.2f}× (goal ≤ 5×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

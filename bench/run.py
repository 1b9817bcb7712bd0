"""Run every benchmark of the project and write ``bench/results.md``.

    python bench/run.py            # full sizes (the figures in results.md)
    python bench/run.py --quick    # small sizes, a smoke run of every benchmark
    python bench/run.py import     # only bench/bench_import.py

Each ``bench/bench_<area>.py`` exposes ``run(quick=False) -> list[row]`` (see bench/common.py):
the figure, a baseline measured in the same run, their ratio and the goal.
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # so `bench.common` imports


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("only", nargs="*", help="areas to run (e.g. import metrics models review batch)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: bench/results.md for a full run; bench/out/results-<areas>.md for a partial or quick one")
    args = ap.parse_args(argv)
    if args.out is None:  # a partial or quick run must not overwrite the committed full table
        partial = args.only or args.quick
        args.out = (HERE / "out" / f"results-{'-'.join(args.only) or 'all'}{'-quick' if args.quick else ''}.md"
                    if partial else HERE / "results.md")
        args.out.parent.mkdir(exist_ok=True)
    files = sorted(HERE.glob("bench_*.py"))
    if args.only:
        files = [f for f in files if f.stem.removeprefix("bench_") in args.only]
    rows, failures = [], []
    for i, f in enumerate(files, 1):
        print(f"[{i}/{len(files)}] {f.stem} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            got = _load(f).run(quick=args.quick)
            for r in got:
                r.setdefault("area", f.stem.removeprefix("bench_"))
            rows.extend(got)
            print(f"      done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        except Exception:  # one broken benchmark must not hide the others
            failures.append((f.stem, traceback.format_exc()))
            print(f"      FAILED\n{failures[-1][1]}", file=sys.stderr, flush=True)
    lines = [
        "# evalkit benchmarks",
        "",
        f"Run {datetime.now(timezone.utc).isoformat(timespec='seconds')} on {platform.node() or 'this machine'} "
        f"({platform.processor() or platform.machine()}, Python {platform.python_version()})"
        + (" — QUICK sizes" if args.quick else "") + ".",
        "Every figure has a baseline measured in the same run; goals are set on the ratio.",
        "",
        "| area | benchmark | figure | baseline | ratio | goal | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['area']} | {r['name']} | {r['value']:.4g} {r['unit']} | {r['baseline']:.4g} {r['unit']} "
                     f"| {r['ratio']:.3f} | {r['goal']} | {r.get('notes', '')} |")
    for name, tb in failures:
        lines.append(f"| {name} | FAILED | | | | | {tb.strip().splitlines()[-1]} |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[6:]))
    print(f"\nwrote {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: ``evalkit review --all`` on the default data against the papermill floor (issues 5, 15).

The floor: the same number of bare ``papermill.execute_notebook`` runs of a trivial parameterized
notebook (the same two parameters, one cheap cell) on a process pool with the same parallelism,
measured in the same run. Each side runs in a fresh Python (``bench.common.run_child``).

- ``review_runner_vs_floor``: the machinery alone — ``review.run_jobs`` on the trivial notebook
  (kernel, papermill, cell inspection, HTML, atomic swap, status files).
- ``review_all_cold``: the four phase reviews (preflight, the real notebook, HTML, index) with an
  empty result cache and an empty output folder: everything computed.
- ``review_all_rerender``: the same into a new output folder with the result cache kept: every
  review runs again (kernel, notebook, HTML) but reads its analysis results from the cache.
- ``review_all_warm``: again into the same output folder, nothing changed: every review is
  reused (``review/reuse.py``), only the preflight runs.
- ``review_one_phase_changed``: ``phase2``'s params file edited (its ``ri_reps``), the rest
  unchanged: phase 2 alone runs, and recomputes only what reads that setting.

Each of the floor and the cold run also records the CPU time the whole machine spent during it
(``/proc/stat``, every process: workers, kernels, renders), which bounds the cold ratio from
below: ``workers`` cores cannot finish that work in less than CPU / ``workers`` seconds.

``quick=True``: only ``review_runner_vs_floor`` with two runs (phase1, phase2) on two workers.
Default data: ``data/zhuzhou_synthetic`` of the checkout, else the seed's synthetic consortium
written to a temporary folder. Run standalone: ``python bench/bench_review.py [--quick]``.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_batch import trivial_notebook  # noqa: E402
from bench.common import print_rows, row, run_child  # noqa: E402

_FLOOR = """
import concurrent.futures as cf, time

def one(i):
    import papermill as pm  # in the worker, inside the timing: evalkit's workers import it there too
    pm.execute_notebook({notebook!r}, f"{out}/floor-{{i}}.ipynb", kernel_name="evalkit", progress_bar=False,
                        parameters={{"params_file": {params_files!r}[i], "data_dir": {data!r}}})
    return i

t0 = time.perf_counter()
with cf.ProcessPoolExecutor(max_workers={workers}) as pool:
    list(pool.map(one, range({n})))
RESULT = {{"seconds": time.perf_counter() - t0}}
"""

_RUNNER = """
import time
from evalkit.review.runner import run_jobs
jobs = [{{"phase_id": f"p{{i}}", "params_file": {params_files!r}[i], "data_dir": {data!r},
          "out": f"{out}/runner/p{{i}}", "notebook": {notebook!r}, "timeout": 600, "html": True, "pdf": False,
          "title": f"p{{i}}", "language": "zh"}} for i in range({n})]
t0 = time.perf_counter()
res = run_jobs(jobs, workers={workers}, progress=False)
RESULT = {{"seconds": time.perf_counter() - t0, "statuses": [r["status"] for r in res]}}
"""

_REVIEW = """
import os, time
os.environ["EVALKIT_CACHE"] = {cache!r}
from evalkit.review.runner import run_reviews
t0 = time.perf_counter()
res = run_reviews({phases!r}, params={params!r}, data={data!r}, out={out!r}, jobs={workers},
                  all_={all_!r}, progress=False)
RESULT = {{"seconds": time.perf_counter() - t0, "statuses": [r.status for r in res],
          "errors": [r.error for r in res], "reused": [r.phase_id for r in res if r.reused]}}
"""


def busy_cpu_seconds() -> float | None:
    """CPU seconds the machine has spent busy since boot, every core and process (Linux), else None."""
    import os

    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def with_cpu(measure):
    """``measure()``'s result with ``cpu_seconds``: the machine's busy CPU while it ran (None off Linux)."""
    before = busy_cpu_seconds()
    out = measure()
    after = busy_cpu_seconds()
    out["cpu_seconds"] = None if before is None or after is None else after - before
    return out


def _cpu_note(cold: dict, floor: dict, workers: int) -> str:
    if cold.get("cpu_seconds") is None or not floor.get("cpu_seconds"):
        return ""
    bound = cold["cpu_seconds"] / workers
    return (f"; CPU (whole machine, /proc/stat): {cold['cpu_seconds']:.1f} s busy vs the floor's "
            f"{floor['cpu_seconds']:.1f} s ({cold['cpu_seconds'] / floor['cpu_seconds']:.1f}× its work), so "
            f"{workers} cores need at least {bound:.1f} s = {bound / floor['seconds']:.1f}× the floor")


def default_data(tmp: Path) -> Path:
    data = ROOT / "data" / "zhuzhou_synthetic"
    if (data / "dataset.yaml").exists():
        return data
    from evalkit import synth

    return synth.write_synthetic(tmp / "zhuzhou_synthetic")


def _reviews(kw: dict, params: Path, out: Path, cache: Path) -> dict:
    code = _REVIEW.format(phases=[], params=str(params), data=kw["data"], out=str(out), workers=kw["workers"],
                          all_=True, cache=str(cache))
    return run_child(code, timeout=3600)


def _note(res: dict, n: int) -> str:
    ok = sum(s == "ok" for s in res["statuses"])
    failed = "; ".join(e for e in res["errors"] if e)[:200]
    return f"{ok}/{n} ok, {len(res['reused'])} reused{': ' + failed if failed else ''}"


def run(quick: bool = False) -> list[dict]:
    params = ROOT / "params"
    phases = ["phase1", "phase2"] if quick else []
    files = [str(params / f"{p}.yaml") for p in phases] or [
        str(p) for p in sorted(params.glob("*.yaml"), key=lambda p: (p.stem == "final", p.stem))]
    workers = 2
    n = len(files)
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-review-") as tmp:
        tmp = Path(tmp)
        data = str(default_data(tmp))
        trivial = str(trivial_notebook(tmp / "trivial.ipynb"))
        kw = {"params_files": files, "data": data, "out": str(tmp), "workers": workers, "n": n}
        floor_run = with_cpu(lambda: run_child(_FLOOR.format(notebook=trivial, **kw)))
        floor = floor_run["seconds"]
        runner = run_child(_RUNNER.format(notebook=trivial, **kw))["seconds"]
        rows = [row("review_runner_vs_floor", runner, floor, "≤ 1.5×",
                    notes=f"review.run_jobs (inspection, HTML, atomic swap) on the same trivial notebook, {n} run(s), "
                          f"{workers} worker(s)")]
        if quick:
            return rows
        own = tmp / "params"
        shutil.copytree(params, own)
        cache = tmp / "cache"
        cold = with_cpu(lambda: _reviews(kw, own, tmp / "out", cache))
        rerender = _reviews(kw, own, tmp / "out2", cache)
        warm = _reviews(kw, own, tmp / "out", cache)
        phase2 = own / "phase2.yaml"
        text = phase2.read_text(encoding="utf-8")
        edited = text.replace("ri_reps:", "ri_reps: 199 #", 1) if "ri_reps:" in text else text.replace(
            "methods:", "methods:\n  ri_reps: 199", 1)
        phase2.write_text(edited, encoding="utf-8")
        changed = _reviews(kw, own, tmp / "out", cache)
    base = f"{n} reviews vs {n} bare papermill runs of a trivial parameterized notebook, {workers} workers each"
    rows += [
        row("review_all_cold", cold["seconds"], floor, "≤ 2× floor (issue 15)",
            notes=f"empty result cache and output folder; {_note(cold, n)}; {base}{_cpu_note(cold, floor_run, workers)}"),
        row("review_all_rerender", rerender["seconds"], floor, "reported",
            notes=f"results cached, every review run and rendered again (new --out); {_note(rerender, n)}"),
        row("review_all_warm", warm["seconds"], floor, "≤ 1.2× floor (issue 15)",
            notes=f"nothing changed: reviews reused, preflight only; {_note(warm, n)}"),
        row("review_one_phase_changed", changed["seconds"], floor, "only that phase recomputes",
            notes=f"phase2 ri_reps edited; {_note(changed, n)}"),
    ]
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))

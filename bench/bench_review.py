"""Benchmark: ``evalkit review --all`` on the default data against the papermill floor (issue 5).

- ``review_all_vs_floor``: the four phase reviews (``run_reviews(all_=True, jobs=2)``: preflight,
  papermill with the real ``notebooks/phase_review.ipynb``, inspection, HTML, rename-swap, index)
  against the floor — the same number of bare ``papermill.execute_notebook`` runs of a trivial
  parameterized notebook (the same two parameters, one cheap cell) on a process pool with the same
  parallelism — measured in the same run. Goal ≤ 1.5×. The difference is mostly the review's own
  computation (indicators, composite, models, figures), not the machinery.
- ``review_runner_vs_floor``: the machinery alone — ``review.run_jobs`` on the same trivial notebook
  (kernel, papermill, cell inspection, HTML rendering, atomic swap, status files) against the floor.

Each side runs in a fresh Python (``bench.common.run_child``), so each pays its own imports.
``quick=True``: only ``review_runner_vs_floor`` with two runs (phase1, phase2) on two workers — a
real review takes minutes on a loaded machine. Default data: ``data/zhuzhou_synthetic`` of the
checkout, else the seed's synthetic consortium written to a temporary folder.
Run standalone: ``python bench/bench_review.py [--quick]``.
"""
from __future__ import annotations

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
import time
from evalkit.review.runner import run_reviews
t0 = time.perf_counter()
res = run_reviews({phases!r}, params={params!r}, data={data!r}, out={out!r} + "/review", jobs={workers},
                  all_={all_!r}, progress=False)
RESULT = {{"seconds": time.perf_counter() - t0, "statuses": [r["status"] for r in res],
          "errors": [r["error"] for r in res]}}
"""


def default_data(tmp: Path) -> Path:
    data = ROOT / "data" / "zhuzhou_synthetic"
    if (data / "dataset.yaml").exists():
        return data
    from evalkit import synth

    return synth.write_synthetic(tmp / "zhuzhou_synthetic")


def run(quick: bool = False) -> list[dict]:
    params = ROOT / "params"
    phases = ["phase1", "phase2"] if quick else []
    files = [str(params / f"{p}.yaml") for p in phases] or [
        str(p) for p in sorted(params.glob("*.yaml"), key=lambda p: (p.stem == "final", p.stem))]
    workers = 2
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-review-") as tmp:
        tmp = Path(tmp)
        data = str(default_data(tmp))
        trivial = str(trivial_notebook(tmp / "trivial.ipynb"))
        kw = {"params_files": files, "data": data, "out": str(tmp), "workers": workers, "n": len(files)}
        floor = run_child(_FLOOR.format(notebook=trivial, **kw))
        runner = run_child(_RUNNER.format(notebook=trivial, **kw))
        review = None if quick else run_child(
            _REVIEW.format(phases=phases, params=str(params), data=data, out=str(tmp), workers=workers,
                           all_=True), timeout=3600)
    n = len(files)
    rows = [row("review_runner_vs_floor", runner["seconds"], floor["seconds"], "≤ 1.5×",
                notes=f"review.run_jobs (inspection, HTML, atomic swap) on the same trivial notebook, {n} run(s), "
                      f"{workers} worker(s)")]
    if review is not None:
        ok = sum(s == "ok" for s in review["statuses"])
        failed = "; ".join(e for e in review["errors"] if e)[:200]
        rows.insert(0, row("review_all_vs_floor", review["seconds"], floor["seconds"], "≤ 1.5×",
                           notes=f"{n} reviews ({ok}/{n} ok{': ' + failed if failed else ''}) vs {n} bare papermill "
                                 f"runs of a trivial parameterized notebook, {workers} workers each"))
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))

"""Benchmark: ``evalkit batch`` on a two-worker Dask LocalCluster against the local process pool.

- ``batch_dask_vs_pool``: 24 reviews (6 synthetic consortia × 4 phases, the real
  ``notebooks/phase_review.ipynb``) through ``run_batch(scheduler=...)`` on
  ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)`` against ``run_batch(jobs=2)``
  (the local ``ProcessPoolExecutor``), the same manifest in the same run. Goal ≤ 1.3× (issue 6).
  Each side runs in a fresh Python (``bench.common.run_child``) so neither inherits the other's
  imports; cluster start-up is excluded, the check of the workers' paths, submission and
  collection are included; both include the same preflight (reported in the notes).
- ``batch_peak_rss_per_worker``: the peak memory of each Dask worker process together with the
  kernel it runs (sampled with psutil), against the same for a local-pool process; the notes add
  each worker process's own peak (``resource.getrusage`` via ``Client.run``).
- ``batch_throughput_<n>`` (full mode only): reviews per minute for 1, 2, 4, 8 synthetic consortia
  on the local pool (2 workers), against the 1-consortium figure; and the exponent of the time in
  the number of reviews (goal ≈ 1: linear).

``quick=True``: 2 consortia × 2 phases with a trivial stand-in notebook (measures the engine, not
the review). Run standalone: ``python bench/bench_batch.py [--quick | --real]``; the default (and
``make bench``) keeps the full sizes with the stand-in notebook; ``--real`` runs the real review.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import print_rows, row, run_child  # noqa: E402

WORKERS = 2
TRIVIAL_BODY = ("import pathlib\nstem, data = pathlib.Path(params_file).stem, pathlib.Path(data_dir)\n"
                "print('review', stem, data.name, (data / 'units.csv').exists())")


def trivial_notebook(path: Path, body: str = TRIVIAL_BODY) -> Path:
    """A parameterized notebook with the review notebook's two parameters and one cheap cell."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_file: str = ""\ndata_dir: str = ""')
    params.metadata["tags"] = ["parameters"]
    cell = nbformat.v4.new_code_cell(body)
    cell.metadata["tags"] = ["hide-input"]
    nb.cells = [params, nbformat.v4.new_markdown_cell("# 基准 benchmark"), cell]
    nb.metadata["kernelspec"] = {"name": "evalkit", "display_name": "Python (evalkit)", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def write_manifest(folder: Path, n: int, seed: int, phases: list[str] | None) -> Path:
    """``n`` synthetic consortia (``synth.write_many``) and their manifest, restricted to ``phases``."""
    import yaml

    from evalkit import synth

    manifest = synth.write_many(folder, n, seed=seed)
    raw = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    raw["params"] = str(ROOT / "params")
    for entry in raw["consortia"]:
        entry["params"] = str(ROOT / "params")
    if phases:
        raw["phases"] = phases
    manifest.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return manifest


# Peak memory of a worker *with* the kernel it launched (worker RSS + children's unique memory):
# sampled with psutil (a dependency of distributed) every 0.2 s, since a forked child's ru_maxrss starts at its parent's (Linux keeps the
# pre-exec high-water mark), which makes getrusage(RUSAGE_CHILDREN) useless for the kernels.
_SAMPLER = """
import threading, psutil

class Sampler(threading.Thread):
    def __init__(self, roots):
        super().__init__(daemon=True)
        self.roots, self.peak, self.stop = roots, dict(), threading.Event()

    def run(self):
        while not self.stop.wait(0.2):
            try:
                roots = self.roots()
            except Exception:  # a worker restarting, a process gone: sample again next time
                continue
            for pid in roots:
                try:
                    proc = psutil.Process(pid)
                    # children by USS: a just-forked child (before exec) shares its parent's pages
                    total = proc.memory_info().rss + sum(c.memory_full_info().uss
                                                         for c in proc.children(recursive=True))
                except psutil.Error:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0), total / 2**20)
"""

_LOCAL = _SAMPLER + """
import os, resource, time
from evalkit.review.batch import run_batch, plan_batch
t0 = time.perf_counter()
plan_batch({manifest!r}, out={out!r}, notebook={notebook!r})
preflight = time.perf_counter() - t0
sampler = Sampler(lambda: [c.pid for c in psutil.Process().children()])  # the pool's processes
sampler.start()
t0 = time.perf_counter()
res = run_batch({manifest!r}, jobs={workers}, out={out!r}, notebook={notebook!r}, progress=False)
seconds = time.perf_counter() - t0
sampler.stop.set()
RESULT = {{"seconds": seconds, "preflight": preflight, "statuses": [r["status"] for r in res],
          "peak_with_kernel_mb": max(sampler.peak.values(), default=float("nan"))}}
"""

_DASK = _SAMPLER + """
import os, time
from distributed import Client, LocalCluster
from evalkit.review.batch import run_batch

def peak():
    import os, resource
    return {{"pid": os.getpid(), "worker_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}

with LocalCluster(n_workers={workers}, processes=True, threads_per_worker=1, dashboard_address=":0",
                  silence_logs=40) as cluster, Client(cluster, set_as_default=False) as client:
    client.wait_for_workers({workers})
    sampler = Sampler(lambda: list(client.run(os.getpid).values()))
    t0 = time.perf_counter()
    sampler.start()
    res = run_batch({manifest!r}, scheduler=client, out={out!r}, notebook={notebook!r}, progress=False)
    seconds = time.perf_counter() - t0
    sampler.stop.set()
    workers = client.run(peak)
for w in workers.values():
    w["with_kernel_mb"] = sampler.peak.get(w["pid"], float("nan"))
RESULT = {{"seconds": seconds, "statuses": [r["status"] for r in res], "workers": list(workers.values())}}
"""


def _child(template: str, **kw) -> dict:
    return run_child(template.format(**kw), timeout=7200)


def dask_vs_pool(tmp: Path, n_consortia: int, phases: list[str] | None, notebook: Path) -> list[dict]:
    manifest = write_manifest(tmp / "syn", n_consortia, seed=20240601, phases=phases)
    kw = {"manifest": str(manifest), "notebook": str(notebook), "workers": WORKERS}
    local = _child(_LOCAL, out=str(tmp / "local"), **kw)
    dask = _child(_DASK, out=str(tmp / "dask"), **kw)
    n = len(local["statuses"])
    if local["statuses"] != dask["statuses"]:
        raise RuntimeError(f"the Dask and local runs disagree: {dask['statuses']} vs {local['statuses']}")
    ok = sum(s == "ok" for s in local["statuses"])
    rows = [row("batch_dask_vs_pool", dask["seconds"], local["seconds"], "≤ 1.3×",
                notes=f"{n} reviews ({n_consortia} consortia), {WORKERS} workers each, {ok}/{n} ok; "
                      f"notebook {notebook.name}; both include preflight {local['preflight']:.1f} s; "
                      f"cluster start-up excluded")]
    detail = "; ".join(f"worker {i + 1}: process {w['worker_mb']:.0f} MB, with its kernel {w['with_kernel_mb']:.0f} MB"
                       for i, w in enumerate(dask["workers"]))
    rows.append(row("batch_peak_rss_per_worker", max(w["with_kernel_mb"] for w in dask["workers"]),
                    local["peak_with_kernel_mb"], "reported", unit="MB",
                    notes=f"Dask worker process RSS + its kernel's USS (sampled every 0.2 s): {detail}; baseline: "
                          "the same for a local-pool process"))
    return rows


def throughput(tmp: Path, notebook: Path, counts=(1, 2, 4, 8)) -> list[dict]:
    """Reviews per minute on the local pool for growing numbers of consortia (4 phases each)."""
    rates, sizes, seconds = {}, {}, {}
    for n in counts:
        manifest = write_manifest(tmp / f"tp{n}", n, seed=1000 + n, phases=None)
        res = _child(_LOCAL, manifest=str(manifest), out=str(tmp / f"tp{n}-out"), notebook=str(notebook),
                     workers=WORKERS)
        sizes[n], seconds[n] = len(res["statuses"]), res["seconds"]
        rates[n] = 60 * sizes[n] / res["seconds"]
    rows = [row(f"batch_throughput_{n}_consortia", rates[n], rates[counts[0]], "≈ 1 (flat reviews/min)",
                unit="reviews/min", notes=f"{sizes[n]} reviews in {seconds[n]:.0f} s on {WORKERS} local workers; "
                                          f"notebook {notebook.name}")
            for n in counts]
    slope = float(np.polyfit(np.log([sizes[n] for n in counts]), np.log([seconds[n] for n in counts]), 1)[0])
    rows.append(row("batch_time_exponent", slope, 1.0, "≈ 1 (linear in reviews)", unit="",
                    notes="slope of log(seconds) on log(reviews), 1–8 consortia; start-up makes small batches "
                          "cost more per review"))
    return rows


def run(quick: bool = False, real_notebook: bool = False) -> list[dict]:
    """Full sizes with the stand-in notebook by default: the engine's cost without the review's
    (what the 1.3× goal is about; the review's own cost is bench_review.py's). ``real_notebook=True``
    (``--real``) runs the 24 + 60 real reviews instead: over an hour on a 2-core machine."""
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-batch-") as tmp:
        tmp = Path(tmp)
        trivial = trivial_notebook(tmp / "trivial.ipynb")
        if quick:
            return dask_vs_pool(tmp, 2, ["phase1", "phase2"], trivial)
        notebook = ROOT / "notebooks" / "phase_review.ipynb" if real_notebook else trivial
        rows = dask_vs_pool(tmp, 6, None, notebook)
        return rows + throughput(tmp, notebook)


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv, real_notebook="--real" in sys.argv))

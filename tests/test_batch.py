"""`evalkit batch`: the manifest checks, and a real two-worker Dask LocalCluster (processes) running
a small batch through `--scheduler`, with a worker killed mid-batch.

The reviews run a tiny stand-in notebook through the same `review.execute_phase` (kernel, papermill,
inspection, HTML, rename-swap) so that each takes seconds; the preflight is the real one (synthetic
consortia from `synth.write_many`, the repository's params files). The full review notebook runs in
the slow test at the end."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from evalkit import synth
from evalkit.review import batch
from evalkit.review.batch import (BatchInputError, ManifestError, SchedulerError, check_cluster, check_worker,
                                  read_manifest, run_batch, run_on_dask)
from evalkit.cli import main
from evalkit.review.plan import Job

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params"

distributed = pytest.importorskip("distributed")


def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_file: str = ""\ndata_dir: str = ""')
    params.metadata["tags"] = ["parameters"]
    cell = nbformat.v4.new_code_cell(body)
    cell.metadata["tags"] = ["hide-input"]
    nb.cells = [params, nbformat.v4.new_markdown_cell("# 评估 review"), cell]
    nb.metadata["kernelspec"] = {"name": "evalkit", "display_name": "Python (evalkit)", "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two synthetic consortia, a reduced params folder (phase1, phase2) and the stand-in notebooks."""
    tmp = tmp_path_factory.mktemp("batch")
    generated = synth.write_many(tmp / "syn", 2, seed=7)
    params = tmp / "params"
    params.mkdir()
    for name in ("phase1.yaml", "phase2.yaml"):
        shutil.copy(PARAMS / name, params / name)
    raw = yaml.safe_load(generated.read_text(encoding="utf-8"))
    raw["params"] = "../params"
    for entry in raw["consortia"]:
        entry.pop("params", None)  # the top-level (reduced) folder applies
    manifest = tmp / "syn" / "batch.yaml"
    manifest.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    second = raw["consortia"][1]["id"]
    # prints what reached the kernel (so the report shows the worker saw the right files); one
    # designed failure, so the statuses compared between Dask and the local pool are not all "ok"
    echo = _notebook(tmp / "echo.ipynb", (
        "import pathlib\n"
        "stem, data = pathlib.Path(params_file).stem, pathlib.Path(data_dir)\n"
        f"if data.name == {second!r} and stem == 'phase2':\n"
        "    raise RuntimeError('designed failure ' + stem)\n"
        "print('REVIEW', stem, data.name, (data / 'units.csv').exists())"))
    markers = tmp / "markers"
    markers.mkdir()
    # records the process that launched its kernel (the Dask worker: the parent of the kernel's guard),
    # then runs long enough to be killed
    sleepy = _notebook(tmp / "sleepy.ipynb", (
        "import os, pathlib, time\n"
        "worker = pathlib.Path(f'/proc/{os.getppid()}/stat').read_text().rsplit(')', 1)[1].split()[1]\n"
        f"pathlib.Path({str(markers)!r}, pathlib.Path(data_dir).name + '-' + worker)"
        ".write_text(worker)\n"
        "time.sleep(4)\nprint('REVIEW done')"))  # the killer strikes within ~0.1 s of the marker
    return {"tmp": tmp, "generated": generated, "manifest": manifest, "ids": [e["id"] for e in raw["consortia"]],
            "echo": echo, "sleepy": sleepy, "markers": markers, "second": second}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as c:
        yield c


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the manifest
def test_reads_the_manifest_synth_writes(world):
    consortia = read_manifest(world["generated"])
    assert [c.id for c in consortia] == world["ids"]
    for c in consortia:
        assert c.data == (world["generated"].parent / c.id).resolve() and (c.data / "units.csv").exists()
        assert c.params.is_dir() and any(c.params.glob("*.yaml"))
        assert c.phases == ()  # every params file
        assert "合成数据" in c.name


def test_bad_manifest_exits_2_listing_every_problem(world, tmp_path, capsys):
    data = str(world["generated"].parent / world["ids"][0])
    bad = _write(tmp_path / "bad.yaml", {
        "params": str(world["tmp"] / "params"), "colour": "blue",
        "consortia": [
            {"id": "one", "data": data, "owner": "x"},
            {"id": "one", "data": data},
            {"id": "two", "data": "no/such/folder"},
            {"id": "three/evil", "data": data},
            {"id": "four", "data": data, "phases": ["phase9"]},
            {"data": data},
        ]})
    code = main(["batch", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    for needle in ("colour", "consortia[0].owner", "duplicate id", "folder not found", "no/such/folder",
                   "consortia[3].id", "phase9", "consortia[5].id", "required key missing", "docs/DASK.md"):
        assert needle in err, needle
    assert "7 problems" in err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_manifest_shape_errors(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(tmp_path / "missing.yaml")
    with pytest.raises(ManifestError, match="non-empty list of consortia"):
        read_manifest(_write(tmp_path / "empty.yaml", {"consortia": []}))
    with pytest.raises(ManifestError, match="YAML mapping"):
        read_manifest(_write(tmp_path / "list.yaml", ["a", "b"]))


def test_bad_params_for_one_consortium_stops_the_batch_before_any_kernel(world, tmp_path, capsys):
    params = tmp_path / "params"
    params.mkdir()
    raw = yaml.safe_load((PARAMS / "phase1.yaml").read_text(encoding="utf-8"))
    raw.setdefault("targets", {})["no_such_indicator"] = 95
    _write(params / "phase1.yaml", raw)
    manifest = _write(tmp_path / "m.yaml", {"consortia": [
        {"id": "good", "data": str(world["generated"].parent / world["ids"][0]),
         "params": str(world["tmp"] / "params")},
        {"id": "bad", "data": str(world["generated"].parent / world["ids"][1]), "params": str(params)}]})
    with pytest.raises(BatchInputError, match="no_such_indicator"):
        run_batch(manifest, out=tmp_path / "out", notebook=world["echo"], progress=False)
    assert main(["batch", str(manifest), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "consortium bad" in err and "consortium good" not in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_check_worker_names_missing_and_unwritable_paths(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        rep = check_worker([str(tmp_path), str(tmp_path / "absent")], [str(tmp_path / "new"), str(locked / "x")])
    finally:
        locked.chmod(0o700)
    assert rep["missing"] == [str(tmp_path / "absent")]
    assert (tmp_path / "new").is_dir() and list((tmp_path / "new").iterdir()) == []  # the probe is removed
    if os.geteuid() != 0:  # root writes anywhere
        assert rep["unwritable"] and str(locked / "x") in rep["unwritable"][0]


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(SchedulerError, match="cannot reach the Dask scheduler"):
        run_on_dask([], "tcp://127.0.0.1:9", connect_timeout=1)


# --------------------------------------------------------------------------- on the cluster
def test_cluster_check_refuses_paths_workers_cannot_see(world, cluster, tmp_path):
    job = Job("phase1", notebook=str(world["echo"]), params_file=str(world["tmp"] / "params" / "phase1.yaml"),
              data_dir=str(tmp_path / "not-mounted"), out=str(tmp_path / "out" / "x" / "phase1"))
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        with pytest.raises(SchedulerError, match="not-mounted") as info:
            check_cluster(client, [job])
    assert info.value.args[0].count("cannot see") == 2  # both workers named


def test_dask_batch_runs_every_review_and_matches_the_local_pool(world, cluster, tmp_path, monkeypatch, capfd):
    from evalkit.review import cluster as cluster_module

    monkeypatch.setattr(batch, "default_notebook", lambda: world["echo"])
    labels = {f"{cid}/{ph}" for cid in world["ids"] for ph in ("phase1", "phase2")}
    failing = f"{world['second']}/phase2"
    submitted = []  # the tasks go to Dask in the local pool's running order
    order = cluster_module.running_order
    monkeypatch.setattr(cluster_module, "running_order", lambda jobs: submitted.extend(order(jobs)) or order(jobs))

    dask_out = tmp_path / "dask"
    code = main(["batch", str(world["manifest"]), "--scheduler", cluster.scheduler_address,
                 "--out", str(dask_out), "--timeout", "120"])
    captured = capfd.readouterr()
    assert code == 1, captured.err  # the designed failure, and only it
    assert "Traceback" not in captured.err
    statuses = {}
    for label in labels:
        rec = json.loads((dask_out / label / "status.json").read_text(encoding="utf-8"))
        statuses[label] = rec["status"]
        assert rec["label"] == label
        assert f"[{label}]" in captured.err  # a progress line per review
    assert statuses == {lb: ("failed" if lb == failing else "ok") for lb in labels}
    bad = json.loads((dask_out / failing / "status.json").read_text(encoding="utf-8"))
    # paths in status.json are relative to its folder: never the machine's absolute paths
    assert "designed failure phase2" in bad["error"] and (dask_out / failing / bad["notebook"]).exists()
    assert bad["notebook"] == "failed/review.ipynb" and bad["log"] == "failed/review.log"
    for label in labels - {failing}:
        page = (dask_out / label / "review.html").read_text(encoding="utf-8")
        cid, phase = label.split("/")
        assert f"REVIEW {phase} {cid} True" in page  # the worker read this consortium's params and data
    index = (dask_out / "index.html").read_text(encoding="utf-8")
    for label in labels:
        assert label in index
    assert index.count("<tr class='ok'>") == 3 and index.count("<tr class='failed'>") == 1
    assert not list(dask_out.glob("*/.*staging*"))
    assert {job.label for job in submitted} == labels

    local_out = tmp_path / "local"
    assert main(["batch", str(world["manifest"]), "--jobs", "2", "--out", str(local_out), "--timeout", "120"]) == 1
    local = {lb: json.loads((local_out / lb / "status.json").read_text(encoding="utf-8"))["status"]
             for lb in labels}
    assert local == statuses


def test_worker_killed_mid_batch_loses_no_review(world, cluster, tmp_path):
    manifest = yaml.safe_load(world["manifest"].read_text(encoding="utf-8"))
    manifest["phases"] = ["phase1"]
    path = _write(world["manifest"].parent / "one-phase.yaml", manifest)
    killed: list[int] = []

    def kill_first_worker_that_starts_a_review():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = sorted(world["markers"].iterdir())
            if found:
                pid = int(found[0].read_text())
                assert pid != os.getpid()
                os.kill(pid, signal.SIGKILL)  # the Dask worker process, mid-review
                killed.append(pid)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_first_worker_that_starts_a_review, daemon=True)
    killer.start()
    results = run_batch(path, scheduler=cluster.scheduler_address, out=tmp_path / "out",
                        notebook=world["sleepy"], timeout=120, progress=False)
    killer.join(timeout=5)
    assert killed, "no review started, so no worker was killed"
    labels = [f"{cid}/phase1" for cid in world["ids"]]
    assert [r["label"] for r in results] == labels  # every submitted review came back
    for r in results:
        assert r["status"] == "ok" or (r["status"] == "failed" and r["error"]), r
    # the killed review ran again on a live worker: two markers, the second from another process
    victim = next(p.name for p in world["markers"].iterdir() if p.name.endswith(f"-{killed[0]}"))
    cid = victim.rsplit("-", 1)[0]
    runs = [p for p in world["markers"].iterdir() if p.name.startswith(cid + "-")]
    assert len(runs) == 2
    assert next(r for r in results if r["label"] == f"{cid}/phase1")["status"] == "ok"
    assert (tmp_path / "out" / "index.html").exists()
    assert not list((tmp_path / "out").glob("*/.*staging*"))


@pytest.mark.slow
def test_real_review_notebook_on_the_cluster(world, cluster, tmp_path):
    manifest = yaml.safe_load(world["manifest"].read_text(encoding="utf-8"))
    manifest["phases"] = ["phase1"]
    manifest["consortia"] = manifest["consortia"][:1]
    path = _write(world["manifest"].parent / "real.yaml", manifest)
    results = run_batch(path, scheduler=cluster.scheduler_address, out=tmp_path / "out", progress=False)
    assert [r["status"] for r in results] == ["ok"], results
    page = Path(results[0]["html"]).read_text(encoding="utf-8")
    assert "合成数据" in page


# --------------------------------------------------------------------------- CLI robustness
@pytest.fixture
def peer():
    """A TCP server on 127.0.0.1 that is not Dask: ``peer(reply)`` sends ``reply`` (or nothing) on connect."""
    import socketserver

    servers = []

    def start(reply: bytes | None):
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                if reply is not None:
                    self.request.sendall(reply)
                time.sleep(40)  # hold the connection open, as a hung peer would

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"tcp://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.mark.parametrize("reply", [b"\xff" * 64, None, b"HTTP/1.1 400 Bad Request\r\n\r\n"],
                         ids=["garbage", "silent-http", "http-reply"])
def test_a_scheduler_address_served_by_another_program_exits_2_quickly(world, peer, reply, capsys):
    address = peer(reply)
    t0 = time.monotonic()
    code = main(["batch", str(world["manifest"]), "--scheduler", address, "--out", str(world["tmp"] / "peer"),
                 "--connect-timeout", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert time.monotonic() - t0 < 30
    assert "is not a Dask scheduler" in err and "Traceback" not in err
    if reply is None:  # silent: refused after the --connect-timeout, and the message says so
        assert "within 2 s" in err


def test_the_connect_timeout_must_be_a_positive_number(world, capsys):
    for value in ("0", "-1", "nan", "inf"):
        code = main(["batch", str(world["manifest"]), "--scheduler", "tcp://127.0.0.1:8786", "--connect-timeout",
                     value, "--out", str(world["tmp"] / "ct")])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and "--connect-timeout must be a positive number of seconds" in err, (value, err)


@pytest.mark.parametrize("address", ["tcp://", "http://127.0.0.1:8786", "tcp://host:99999", "tcp://a b:1",
                                     "tcp://127.0.0.1", "127.0.0.1:port", "tcp://127.0.0.1:8786/x"])
def test_a_malformed_scheduler_address_exits_2(world, address, capsys):
    code = main(["batch", str(world["manifest"]), "--scheduler", address, "--out", str(world["tmp"] / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "not a Dask scheduler address" in err and "Traceback" not in err


@pytest.mark.parametrize("option", [["--jobs", "-3"], ["--timeout", "-1"], ["--timeout", "0"]])
def test_batch_options_out_of_range_exit_2(world, option, capsys):
    assert main(["batch", str(world["manifest"]), "--out", str(world["tmp"] / "opt"), *option]) == 2
    assert option[0] in capsys.readouterr().err
    assert not (world["tmp"] / "opt").exists()


def test_a_consortium_id_with_a_trailing_newline_is_refused(world, tmp_path):
    data = str(world["generated"].parent / world["ids"][0])
    bad = _write(tmp_path / "nl.yaml", {"params": str(world["tmp"] / "params"),
                                         "consortia": [{"id": "one\n", "data": data}]})
    with pytest.raises(ManifestError, match="consortia\\[0\\].id"):
        read_manifest(bad)

"""No lost or stale work: `evalkit review` killed, interrupted or run twice at once leaves the good
report, its log and no process or staging folder behind; the output folder is checked (a file,
read-only, reviews of other data, a foreign status.json); no absolute path reaches what a review
writes; options out of range exit 2.

The runs use a stand-in notebook through the real CLI (preflight on the bundled data, papermill,
kernel, rendering), as subprocesses where a signal is sent to them."""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from evalkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "zhuzhou_synthetic"


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
    """A params folder with phase1, a good report of it under `out`, and the stand-in notebooks."""
    if not DATA.is_dir():
        pytest.skip("no bundled data")
    tmp = tmp_path_factory.mktemp("safety")
    params = tmp / "params"
    params.mkdir()
    shutil.copy(ROOT / "params" / "phase1.yaml", params / "phase1.yaml")
    quick = _notebook(tmp / "quick.ipynb", (
        "import os, sys, warnings\n"
        "warnings.warn('a warning naming ' + os.path.abspath(params_file))\n"  # absolute paths on stderr
        "print('PARAMS', params_file, 'DATA', data_dir, 'CWD', os.getcwd(), 'HOME', os.path.expanduser('~'))"))
    marker = tmp / "kernel-running"
    # a kernel that starts a child of its own and then waits: what must not survive the run
    # (it also says how the runner talks to it: its transport, socket path and connection file)
    sleepy = _notebook(tmp / "sleepy.ipynb", (
        "import json, os, pathlib, subprocess, time\n"
        "from ipykernel.kernelapp import IPKernelApp\n"
        "app = IPKernelApp.instance()\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "said = {'pid': child.pid, 'transport': app.transport, 'ip': app.ip, 'connection': app.connection_file,\n"
        "        'mode': os.stat(os.path.dirname(app.ip)).st_mode & 0o777 if app.transport == 'ipc' else None}\n"
        f"pathlib.Path({str(marker)!r}).write_text(json.dumps(said))\n"
        "time.sleep(300)"))
    out = tmp / "reports"
    code = main(["review", "phase1", "--params", str(params), "--data", str(DATA), "--out", str(out),
                 "--notebook", str(quick), "--jobs", "1"])
    assert code == 0
    return {"tmp": tmp, "params": params, "quick": quick, "sleepy": sleepy, "marker": marker, "out": out}


def _cli(world, *extra, notebook="quick", out=None):
    return [sys.executable, "-m", "evalkit.cli", "review", "phase1", "--params", str(world["params"]),
            "--data", str(DATA), "--out", str(out or world["out"]), "--notebook", str(world[notebook]),
            "--jobs", "1", *extra]


def _descendants(pid: int) -> dict[int, str]:
    """{pid: start time} of every process below ``pid`` (from /proc)."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = (int(stat[1]), stat[19])
    found, frontier = {}, {pid}
    while frontier:
        frontier = {p for p, (pp, _) in parents.items() if pp in frontier and p not in found}
        found.update({p: parents[p][1] for p in frontier})
    return found


def _alive(procs: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in procs.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[19] == start and stat[0] != "Z":
            alive.append(pid)
    return alive


def _wait_until_gone(tree, seconds):
    """Poll (the guards take the kernel's tree down within a moment) instead of sleeping blind."""
    deadline = time.monotonic() + seconds
    while _alive(tree) and time.monotonic() < deadline:
        time.sleep(0.1)


def _start_sleepy(world, *extra):
    world["marker"].unlink(missing_ok=True)
    proc = subprocess.Popen(_cli(world, *extra, notebook="sleepy"), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not world["marker"].exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the kernel never started"
        time.sleep(0.2)
    time.sleep(0.3)
    return proc


def test_a_review_kernel_talks_over_private_sockets_removed_after_the_run(world, tmp_path):
    """Not loopback TCP (any local user may subscribe to a TCP kernel's output while a review
    runs): IPC sockets in a folder only this user may open, gone when the review is done."""
    said = tmp_path / "kernel.json"
    nb = _notebook(tmp_path / "ipc.ipynb", (
        "import json, os, pathlib\n"
        "from ipykernel.kernelapp import IPKernelApp\n"
        "app = IPKernelApp.instance()\n"
        "mode = os.stat(os.path.dirname(app.ip)).st_mode & 0o777 if app.transport == 'ipc' else None\n"
        f"pathlib.Path({str(said)!r}).write_text(json.dumps({{'transport': app.transport, 'ip': app.ip, 'mode': mode}}))"))
    code = main(["review", "phase1", "--params", str(world["params"]), "--data", str(DATA), "--out",
                 str(tmp_path / "out"), "--notebook", str(nb), "--jobs", "1"])
    kernel = json.loads(said.read_text())
    assert code == 0 and kernel["transport"] == "ipc" and kernel["mode"] == 0o700
    assert Path(kernel["ip"]).parent.name.startswith("evalkit-kernel-") and not Path(kernel["ip"]).parent.exists()


def test_sigkill_mid_run_leaves_no_process_and_the_good_report(world):
    out = world["out"] / "phase1"
    html, log = (out / "review.html").read_bytes(), (out / "review.log").read_bytes()
    proc = _start_sleepy(world)
    tree = _descendants(proc.pid)
    assert len(tree) >= 3  # pool worker, kernel guard, kernel, the kernel's child
    # a second run on the same --out fails at once
    t0 = time.monotonic()
    second = subprocess.run(_cli(world), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2, second.stderr
    assert f"another evalkit review is writing to {world['out']}/ (pid {proc.pid})" in second.stderr
    assert time.monotonic() - t0 < 30
    # the kernel talks over sockets in a folder only this user may open, not loopback TCP ports
    kernel = json.loads(world["marker"].read_text())
    sockets = Path(kernel["ip"]).parent
    assert kernel["transport"] == "ipc" and kernel["mode"] == 0o700 and sockets.name.startswith("evalkit-kernel-")
    assert Path(kernel["connection"]).is_file() and list(sockets.iterdir())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    _wait_until_gone(tree, 10)
    assert _alive(tree) == [], [Path(f"/proc/{p}/cmdline").read_bytes() for p in _alive(tree)]
    assert (out / "review.html").read_bytes() == html and (out / "review.log").read_bytes() == log
    # the guard removed what the dead worker's kernel manager would have: sockets, connection file
    assert not sockets.exists() and not Path(kernel["connection"]).exists()
    # the dead run's staging folder is swept by the next run (which the lock now admits)
    assert list(world["out"].glob(".phase1.staging-*"))
    assert subprocess.run(_cli(world), cwd=ROOT, capture_output=True, text=True, timeout=120).returncode == 0
    assert not list(world["out"].glob(".*staging*"))


def test_sigint_cleans_staging_and_keeps_the_good_log(world):
    out = world["out"] / "phase1"
    html, log = (out / "review.html").read_bytes(), (out / "review.log").read_bytes()
    proc = _start_sleepy(world)
    tree = _descendants(proc.pid)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    _wait_until_gone(tree, 5)
    assert _alive(tree) == []
    assert not list(world["out"].glob(".*staging*"))
    assert (out / "review.html").read_bytes() == html and (out / "review.log").read_bytes() == log
    assert (out / "failed" / "review.log").exists()  # the interrupted run's log, beside the good one


def test_no_absolute_path_in_what_a_review_writes(world):
    home = os.path.expanduser("~")
    files = [p for p in world["out"].rglob("*") if p.is_file() and p.suffix in (".html", ".json", ".log")]
    assert {"review.html", "status.json", "review.log", "provenance.json", "index.html"} <= {p.name for p in files}
    page = (world["out"] / "phase1" / "review.html").read_text(encoding="utf-8")
    assert "PARAMS" in page and "a warning naming" in (world["out"] / "phase1" / "review.log").read_text()
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for folder in {str(world["tmp"]), str(world["tmp"].resolve()), str(ROOT), home}:
            assert not re.search(rf"(?<![A-Za-z0-9+/]){re.escape(folder)}(?=[/\"'<\s]|$)", text), (path, folder)
    prov = json.loads((world["out"] / "phase1" / "provenance.json").read_text(encoding="utf-8"))
    assert prov["data"] == "data/zhuzhou_synthetic" and prov["data_fingerprint"]
    assert prov["params_file"].endswith("phase1.yaml") and not prov["params_file"].startswith("/")


def test_no_html_drops_the_old_page_and_other_data_is_refused_or_marked_stale(world, capsys):
    out = world["tmp"] / "nohtml"
    shutil.copytree(world["out"], out, ignore=shutil.ignore_patterns(".evalkit.lock"))
    other = out / "phase9"
    other.mkdir()
    rec = json.loads((out / "phase1" / "status.json").read_text(encoding="utf-8"))
    rec["phase_id"], rec["provenance"]["data_fingerprint"] = "phase9", "0" * 64
    (other / "status.json").write_text(json.dumps(rec), encoding="utf-8")
    (other / "review.html").write_text("<p>other data</p>", encoding="utf-8")
    args = ["review", "phase1", "--params", str(world["params"]), "--data", str(DATA), "--out", str(out),
            "--notebook", str(world["quick"]), "--jobs", "1", "--no-html"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "holds reviews of other data" in err and "phase9" in err and "--force" in err
    assert err.count("What to do") == 1 and "Traceback" not in err
    assert main([*args, "--force"]) == 0
    assert not (out / "phase1" / "review.html").exists()  # the old page (another run) is gone
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="phase1/review.html"' not in index and "no HTML" in index
    assert "STALE" in index and 'href="phase9/review.html"' in index


def test_output_folder_problems_exit_2(world, tmp_path, capsys, monkeypatch):
    base = ["review", "phase1", "--params", str(world["params"]), "--data", str(DATA), "--notebook",
            str(world["quick"])]
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main([*base, "--out", str(afile)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    garbled = tmp_path / "garbled"
    (garbled / "phase1").mkdir(parents=True)
    (garbled / "phase1" / "status.json").write_text("{not json", encoding="utf-8")
    assert main([*base, "--out", str(garbled)]) == 2
    err = capsys.readouterr().err
    assert "is not an evalkit status file" in err and "Traceback" not in err
    (garbled / "phase1" / "status.json").write_text('{"foreign": true}', encoding="utf-8")
    assert main([*base, "--out", str(garbled)]) == 2
    assert "is not an evalkit status file" in capsys.readouterr().err

    from evalkit.review import outdir

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(outdir.os, "open", read_only)
    assert main([*base, "--out", str(tmp_path / "ro")]) == 2
    err = capsys.readouterr().err
    assert "read-only file system" in err and "Traceback" not in err


@pytest.mark.parametrize("option", [["--jobs", "-3"], ["--jobs", "0"], ["--timeout", "-1"], ["--timeout", "0"]])
def test_options_out_of_range_exit_2(world, option, capsys):
    code = main(["review", "phase1", "--params", str(world["params"]), "--out", str(world["tmp"] / "x"), *option])
    err = capsys.readouterr().err
    assert code == 2 and option[0] in err and "Traceback" not in err
    assert not (world["tmp"] / "x").exists()


def test_params_error_prints_its_hint_once(world, tmp_path, capsys):
    bad = tmp_path / "params"
    bad.mkdir()
    (bad / "phase1.yaml").write_text("phase_id: phase1\nno_such_key: 1\n", encoding="utf-8")
    (bad / "phase2.yaml").write_text("phase_id: [\n", encoding="utf-8")
    assert main(["review", "--all", "--params", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("What to do") == 1, err


def test_unexpected_error_is_one_line_with_the_traceback_in_a_file(monkeypatch, capsys):
    from evalkit.review import runner

    def boom(args):
        raise ZeroDivisionError("something nobody expected")

    monkeypatch.setattr(runner, "run_from_cli", boom)
    assert main(["review"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("evalkit: unexpected error: ZeroDivisionError: something nobody expected")
    log = Path(err.rsplit("the full traceback is in ", 1)[1])
    assert "Traceback" in log.read_text(encoding="utf-8")
    log.unlink()


def test_a_staging_folder_of_an_exited_unreaped_process_is_swept(tmp_path):
    """A review killed with its parent can stay a zombie (in a container nobody may reap it): its
    staging folder is swept all the same; a live owner's folder is kept."""
    from evalkit.review.outdir import sweep_stale

    pid = os.fork()
    if pid == 0:
        os._exit(0)  # exits at once; not waited for below, so it stays a zombie
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        host = socket.gethostname().replace("-", "_") or "host"
        dead = tmp_path / f".phase1.staging-{host}-{pid}-1"
        live = tmp_path / f".phase2.staging-{host}-{os.getppid()}-1"
        dead.mkdir()
        live.mkdir()
        assert sweep_stale([tmp_path]) == [dead]
        assert live.exists() and not dead.exists()
    finally:
        os.waitpid(pid, 0)

"""Hostile inputs through the CLI: the exit code, a message naming file/row/column/rule (or key), no
traceback, nothing pre-existing overwritten, and for the injection cases no live formula in what was
written. The cases that need a memory cap (alias bombs, the 2 GB NUL tail) run as capped
subprocesses, in parallel, in one module fixture; every other case runs in-process
(``evalkit.cli.main``), which costs no interpreter start."""
from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from evalkit.cli import main
from tests.hostile.make_cases import MEMORY_CAP, cases, write_cases

CASES = cases()
CAPPED = [c for c in CASES if c.capped]


def _cap_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _digest(folder: Path, names: list[str]) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def _args(case, folder: Path) -> list[str]:
    return [a.replace("{case}", str(folder)) for a in case.args]


def _run_capped(root: Path, case) -> dict:
    folder = root / case.name
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **case.env}
    before = _digest(folder, case.keep)
    proc = subprocess.run([sys.executable, "-m", "evalkit.cli", *_args(case, folder)], capture_output=True,
                          text=True, cwd=folder, env=env, timeout=60, check=False, preexec_fn=_cap_memory)
    return {"code": proc.returncode, "out": proc.stdout + proc.stderr, "kept": _digest(folder, case.keep) == before}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    write_cases(root)
    return root


@pytest.fixture(scope="module")
def capped_results(root):
    with ThreadPoolExecutor(max_workers=len(CAPPED)) as pool:
        return dict(zip([c.name for c in CAPPED], pool.map(lambda c: _run_capped(root, c), CAPPED)))


def _run_here(root: Path, case, capsys, monkeypatch) -> dict:
    folder = root / case.name
    monkeypatch.chdir(folder)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    before = _digest(folder, case.keep)
    capsys.readouterr()
    try:
        code = main(_args(case, folder))
    except SystemExit as exc:  # argparse
        code = exc.code
    out = capsys.readouterr()
    return {"code": code, "out": out.out + out.err, "kept": _digest(folder, case.keep) == before}


def test_corpus_is_large_and_covers_every_class():
    from tests.hostile.test_review_cases import REVIEW_CASES

    assert len(CASES) + len(REVIEW_CASES) >= 100
    names = " ".join(c.name for c in CASES)
    for word in ("cut", "latin1", "formulas", "2099", "thousands", "1e308", "bomb", "nul_tail", "semicolon",
                 "template_exists", "synth_into", "metrics_out", "xlsx_truncated", "utf16", "inject_csv",
                 "params_duplicate", "params_seed_1e23", "params_compare_unknown_phase", "review_jobs_zero"):
        assert word in names
    assert {c.kind for c in CASES} >= {"input", "injection", "preflight", "runner"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, root, capped_results, capsys, monkeypatch):
    r = capped_results[case.name] if case.capped else _run_here(root, case, capsys, monkeypatch)
    assert "Traceback" not in r["out"], r["out"][-3000:]
    assert "unexpected error" not in r["out"], r["out"][-3000:]
    assert r["code"] == case.code, r["out"][-3000:]
    for text in case.expect:
        assert text in r["out"], f"{text!r} not in:\n{r['out'][-3000:]}"
    assert r["kept"], "a pre-existing file was changed"
    if case.check is not None:
        case.check(root / case.name)
    if case.kind in ("preflight", "runner"):  # refused before any kernel: no report folder
        assert not (root / case.name / "reports" / "phase2").exists()

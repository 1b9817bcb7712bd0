"""Hostile inputs through the CLI: exit 2, a message naming file/row/column/rule, no traceback,
nothing pre-existing overwritten; the alias bombs and the NUL tail end in seconds under a memory cap."""
from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.hostile.make_cases import MEMORY_CAP, cases, write_cases

CASES = cases()


def _cap_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _digest(folder: Path, names: list[str]) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def _run(root: Path, case) -> dict:
    folder = root / case.name
    args = [a.replace("{case}", str(folder)) for a in case.args]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **case.env}
    before = _digest(folder, case.keep)
    proc = subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True,
                          cwd=folder, env=env, timeout=60, check=False,
                          preexec_fn=_cap_memory if case.capped else None)
    return {"code": proc.returncode, "out": proc.stdout + proc.stderr, "kept": _digest(folder, case.keep) == before}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    write_cases(root)
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip([c.name for c in CASES], pool.map(lambda c: _run(root, c), CASES)))
    return done


def test_corpus_is_large_and_covers_every_class():
    assert len(CASES) >= 60
    names = " ".join(c.name for c in CASES)
    for word in ("cut", "latin1", "formulas", "2099", "thousands", "1e308", "bomb", "nul_tail", "semicolon",
                 "template_exists", "synth_into", "metrics_out", "xlsx_truncated", "utf16"):
        assert word in names


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, results):
    r = results[case.name]
    assert "Traceback" not in r["out"], r["out"][-3000:]
    assert r["code"] == case.code, r["out"][-3000:]
    for text in case.expect:
        assert text in r["out"], f"{text!r} not in:\n{r['out'][-3000:]}"
    assert r["kept"], "a pre-existing file was changed"

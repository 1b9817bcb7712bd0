"""environment.yml (conda) and pyproject.toml (pip) must list the same packages and versions."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda splits dask[distributed] into two packages
CONDA_NAMES = {"dask[distributed]": ["dask", "distributed"]}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    out = {}
    for req in reqs:
        name, spec = _split(req)
        for n in CONDA_NAMES.get(name, [name]):
            out[n] = spec
    return out


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            if item.startswith("-e") or item.split(">")[0].split("=")[0] in ("python", "pip"):
                continue
            name, spec = _split(item)
            out[name] = spec
    return out


def test_environment_matches_pyproject():
    assert _environment() == _pyproject()


def test_named_packages_present():
    deps = _pyproject()
    for name in ["jupyterlab", "pandas", "statsmodels", "scikit-learn", "matplotlib", "papermill"]:
        assert name in deps


def test_wrong_number_libraries_are_pinned_exactly():
    deps = _pyproject()
    assert deps["csdid"].startswith("==") and deps["pyfixest"].startswith("==")

"""Source notebooks are committed without outputs; the review notebook is thin and hides its code."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} has outputs: strip them"
            assert cell.get("execution_count") is None


def test_review_notebook_is_thin_and_tagged():
    nb = json.loads((ROOT / "notebooks" / "phase_review.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"]["tags"]
    for cell in code[1:]:
        assert "hide-input" in cell["metadata"].get("tags", []), "every code cell of the review hides its input"
        assert len("".join(cell["source"]).splitlines()) <= 5, "logic belongs in src/evalkit, not the notebook"
    assert nb["metadata"]["kernelspec"]["name"] == "evalkit"


def test_parameters_are_documented_for_papermill():
    from papermill.inspection import _infer_parameters
    import nbformat

    nb = nbformat.read(str(ROOT / "notebooks" / "phase_review.ipynb"), as_version=4)
    params = {p.name: p for p in _infer_parameters(nb)}
    assert set(params) == {"params_file", "data_dir", "results_file", "annex_file", "docx_file", "name_comparisons"}
    assert all(p.help for p in params.values()) and params["params_file"].inferred_type_name == "str"


PLOTTING = ("plot()", "review.coupling()")  # cells whose output must carry a figure


@pytest.mark.parametrize("cwd", ["root", "notebooks"])
def test_explore_notebook_runs_from_root_and_notebooks_and_shows_every_figure(tmp_path, cwd):
    """The researchers' guided start runs as shipped from either folder (papermill ``cwd``), and
    every plotting cell's saved output holds image data (not a ``<Figure …>`` text repr)."""
    import nbformat
    import papermill as pm

    out = tmp_path / "explore.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "explore.ipynb"), str(out), kernel_name="evalkit",
                        cwd=str(ROOT if cwd == "root" else ROOT / "notebooks"), progress_bar=False)
    nb = nbformat.read(str(out), as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    plotting = [c for c in nb.cells if c.cell_type == "code" and any(k in c.source for k in PLOTTING)]
    assert len(plotting) >= 3
    for cell in plotting:
        data = [o.get("data", {}) for o in cell.outputs]
        has_image = any("image/png" in d or "data:image/png;base64" in "".join(d.get("text/html", "")) for d in data)
        assert has_image, f"no image in the output of: {cell.source[:60]}"
        assert not any("<Figure size" in "".join(d.get("text/plain", "")) and "image/png" not in d for d in data)

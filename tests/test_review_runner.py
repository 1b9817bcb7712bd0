"""The review runner: failure isolation, timeout detection, atomic outputs, self-contained HTML.

These run tiny notebooks through the same `execute_phase` the phase reviews use, so they test the
machinery without the cost of a full review (tests/test_review_e2e.py runs the real one)."""
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from evalkit.review.execute import inspect_executed
from evalkit.review.plan import Job
from evalkit.review.pool import run_jobs
from evalkit.review.render import write_index


def _notebook(path: Path, body: str, tags=("hide-input",)) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_file: str = ""\ndata_dir: str = ""')
    params.metadata["tags"] = ["parameters"]
    cell = nbformat.v4.new_code_cell(body)
    cell.metadata["tags"] = list(tags)
    md = nbformat.v4.new_markdown_cell("# 标题 Title\n\n中文段落。")
    nb.cells = [params, md, cell]
    nb.metadata["kernelspec"] = {"name": "evalkit", "display_name": "Python (evalkit)", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _job(tmp_path, name, notebook, timeout=60):
    return Job(phase_id=name, params_file="p.yaml", data_dir="d", out=str(tmp_path / "reports" / name),
               notebook=str(notebook), timeout=timeout, title=f"评估 {name}", language="zh")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runner")
    ok = _notebook(tmp / "ok.ipynb", "import matplotlib\nprint('结果 result', 1 + 1)")
    bad = _notebook(tmp / "bad.ipynb", "raise ValueError('boom in the notebook')")
    slow = _notebook(tmp / "slow.ipynb", "import time\ntime.sleep(30)")
    jobs = [_job(tmp, "good", ok), _job(tmp, "raises", bad), _job(tmp, "slow", slow, timeout=3)]
    results = {r.phase_id: r.as_dict() for r in run_jobs(jobs, workers=2, progress=False)}
    return tmp, results, (ok, bad, slow)


def test_one_failure_does_not_stop_the_others(runs):
    _, results, _ = runs
    assert set(results) == {"good", "raises", "slow"}
    assert results["good"]["status"] == "ok"
    assert results["raises"]["status"] == "failed"
    assert "boom in the notebook" in results["raises"]["error"]
    assert results["raises"]["failed_cell"] is not None
    assert Path(results["raises"]["notebook"]).exists()  # the saved notebook is kept for inspection


def test_timeout_is_detected_although_papermill_says_completed(runs):
    _, results, _ = runs
    assert results["slow"]["status"] == "timeout"
    nb = nbformat.read(results["slow"]["notebook"], as_version=4)
    # papermill's own metadata claims every cell completed; our inspection must not believe it
    assert all(c.metadata.get("papermill", {}).get("status") == "completed" for c in nb.cells if c.cell_type == "code")


def test_failed_run_keeps_previous_good_report(runs, tmp_path):
    tmp, results, (ok, bad, _) = runs
    out = tmp / "reports" / "good"
    before = (out / "review.html").read_bytes()
    again = run_jobs([_job(tmp, "good", bad)], workers=1, progress=False)[0].as_dict()
    assert again["status"] == "failed"
    assert (out / "review.html").read_bytes() == before  # the good report is untouched
    assert again["html"] == str(out / "review.html")
    assert (out / "failed" / "review.ipynb").exists()
    # a later success replaces it and clears the failed notebook
    third = run_jobs([_job(tmp, "good", ok)], workers=1, progress=False)[0].as_dict()
    assert third["status"] == "ok" and not (out / "failed").exists()


def test_html_is_self_contained_and_hides_code(runs):
    tmp, results, _ = runs
    page = Path(results["good"]["html"]).read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    assert "<title>评估 good</title>" in page
    assert "结果 result 2" in page and "中文段落" in page
    assert "print(" not in page and "params_file" not in page  # code and parameter cells hidden
    assert not re.search(r"<script[^>]+src=\"https?://", page)
    assert not re.search(r"<link[^>]+href=\"https?://", page)
    assert "Noto Sans SC" in page


def test_index_lists_every_review_with_status(runs):
    tmp, results, _ = runs
    index = write_index(tmp / "reports", list(results.values()))
    page = index.read_text(encoding="utf-8")
    for name in ("good", "raises", "slow"):
        assert name in page
    assert "超时" in page and "失败" in page and "成功" in page


def test_inspect_executed_cases():
    nb = nbformat.v4.new_notebook()
    a = nbformat.v4.new_code_cell("x = 1")
    a.execution_count = 1
    b = nbformat.v4.new_code_cell("y = 2")
    b.execution_count = None
    nb.cells = [a, b]
    assert inspect_executed(nb)[0] == "timeout"
    b.execution_count = 2
    assert inspect_executed(nb) == ("ok", None, "")
    b.outputs = [nbformat.v4.new_output("error", ename="KeyError", evalue="'x'", traceback=[])]
    assert inspect_executed(nb)[:2] == ("failed", 1)


def test_pdf_printing_with_headless_chromium(runs, tmp_path):
    import os

    from evalkit.review.render import find_chromium, print_pdf

    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("no Chromium on this machine")
    _, results, _ = runs
    pdf = print_pdf(Path(results["good"]["html"]), tmp_path / "review.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000


def test_embedded_font_subset_covers_the_page(tmp_path, monkeypatch):
    """The subset maps every character of the page; it is kept in the result cache under the
    font and the character set: the same characters are not subset again, other ones are."""
    import base64
    import io
    import os

    from fontTools.ttLib import TTFont

    from evalkit.plotting import cjk_font_path
    from evalkit.review import render

    def font_handles() -> int:  # this process's open descriptors on the font file (Linux)
        fds = Path("/proc/self/fd")
        if not fds.is_dir():
            return 0
        return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == os.path.realpath(cjk_font_path()))

    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    page = "<p>株洲市产教联合体 — review</p>"
    before = font_handles()
    css = render.embedded_font_css(page)
    assert font_handles() == before  # the 8 MB font file is closed again
    assert css.startswith("@font-face") and "data:font/otf;base64," in css
    assert len(css) < 200_000  # a subset, not the 8 MB font
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", css).group(1)
    cmap = TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap()
    assert {ord(c) for c in "株洲市产教联合体—review"} <= set(cmap)
    assert ord("湘") not in cmap

    def no_subsetting(*args):
        raise AssertionError("subset again although the characters were cached")

    monkeypatch.setattr(render, "_font_subset", no_subsetting)
    assert render.embedded_font_css("<b>review — 联合体市教株洲产</b>") == css  # same characters, cached
    with pytest.raises(AssertionError, match="subset again"):
        render.embedded_font_css(page + "湘")


def test_a_review_whose_inputs_have_not_changed_is_reused(tmp_path, monkeypatch):
    """Same notebook, params, data and code: the previous good review is reported, no kernel runs;
    any change (the notebook here), a missing output or --no-cache runs it again."""
    nb = _notebook(tmp_path / "ok.ipynb", "print('结果', 2 + 2)")
    first = run_jobs([_job(tmp_path, "p", nb)], workers=1, progress=False)[0]
    assert first.status == "ok" and not first.reused and first.inputs_key
    html = Path(first.html)
    stamp = html.stat().st_mtime_ns
    again = run_jobs([_job(tmp_path, "p", nb)], workers=1, progress=False)[0]
    assert again.status == "ok" and again.reused and again.seconds == 0
    assert again.html == first.html and html.stat().st_mtime_ns == stamp  # nothing rewritten
    monkeypatch.setenv("EVALKIT_CACHE", "off")  # what `evalkit review --no-cache` sets
    forced = run_jobs([_job(tmp_path, "p", nb)], workers=1, progress=False)[0]
    assert forced.status == "ok" and not forced.reused and html.stat().st_mtime_ns != stamp
    monkeypatch.undo()
    _notebook(nb, "print('结果', 3 + 3)")  # an edited notebook is a new review
    edited = run_jobs([_job(tmp_path, "p", nb)], workers=1, progress=False)[0]
    assert not edited.reused and "结果 6" in html.read_text(encoding="utf-8")
    html.unlink()  # a report that is gone is made again
    remade = run_jobs([_job(tmp_path, "p", nb)], workers=1, progress=False)[0]
    assert not remade.reused and html.exists()
    assert {"review.html", "review.ipynb", "review.log", "provenance.json"} <= set(remade.files)
    from evalkit.review.reuse import inputs_key, previous_outcome

    job = _job(tmp_path, "p", nb)
    job = job.with_(inputs_key=inputs_key(job))
    assert previous_outcome(job) is not None
    (html.parent / "provenance.json").unlink()  # so is any other file the review wrote: it runs again
    assert previous_outcome(job) is None


def test_the_final_review_is_not_reused_when_a_compared_phase_changes(tmp_path):
    """The final review compares the phases by their windows and titles: editing phase 2's window
    changes the final review's inputs (it was reused with the old comparison) and phase 2's own,
    and no other review's; editing phase 2's methods or targets changes phase 2's alone."""
    from evalkit.review.plan import discover_params, preflight
    from evalkit.review.reuse import inputs_key

    root = Path(__file__).resolve().parents[1]
    params = tmp_path / "params"
    shutil.copytree(root / "params", params)

    def keys() -> dict[str, str]:
        jobs = preflight(discover_params(params, [], True), root / "data" / "zhuzhou_synthetic")
        return {j.phase_id: inputs_key(j) for j in jobs}

    before = keys()
    text = (params / "phase2.yaml").read_text(encoding="utf-8")
    old = 'window: {start: "2024-01-01", end: "2025-06-30"}'
    assert old in text
    (params / "phase2.yaml").write_text(text.replace(old, old.replace("2025-06-30", "2024-12-31")), encoding="utf-8")
    after = keys()
    assert {p for p in before if before[p] != after[p]} == {"phase2", "final"}
    (params / "phase2.yaml").write_text(text.replace("methods:", "methods:\n  ri_reps: 199", 1), encoding="utf-8")
    assert "ri_reps: 199" in (params / "phase2.yaml").read_text(encoding="utf-8")
    edited = keys()  # phase 2 back on its window, with another number of permutations
    assert {p for p in before if before[p] != edited[p]} == {"phase2"}
    assert "  apprentices: 6500\n" in text
    (params / "phase2.yaml").write_text(text.replace("  apprentices: 6500\n", "  apprentices: 7000\n"), encoding="utf-8")
    assert {p for p, k in keys().items() if k != before[p]} == {"phase2"}


def test_a_status_file_is_data_reuse_never_follows_it_outside_the_review(tmp_path, monkeypatch):
    """previous_outcome trusts a status.json only for the review's own files, present, with the key."""
    import json

    from evalkit.review.reuse import previous_outcome

    out = tmp_path / "reports" / "p"
    out.mkdir(parents=True)
    (out / "review.html").write_text("<html></html>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("x", encoding="utf-8")
    job = _job(tmp_path, "p", tmp_path / "nb.ipynb").with_(inputs_key="k" * 64)
    good = {"phase_id": "p", "status": "ok", "inputs_key": "k" * 64, "html": "review.html"}
    cases = {
        "outside": good | {"html": "../../secret.txt"},
        "absolute": good | {"html": str(tmp_path / "secret.txt")},
        "not a path": good | {"html": 5},
        "fields missing": {"status": "ok", "inputs_key": "k" * 64, "html": "review.html"},
        "other key": good | {"inputs_key": "z" * 64},
        "failed": good | {"status": "failed"},
        "listed file outside": good | {"files": ["../../secret.txt"]},
        "listed file gone": good | {"files": ["review.html", "results.json"]},
        "listed file not a name": good | {"files": [7]},
        "listed files not a list": good | {"files": 7},
    }
    for name, rec in cases.items():
        (out / "status.json").write_text(json.dumps(rec), encoding="utf-8")
        assert previous_outcome(job) is None, name
    (out / "status.json").write_text(json.dumps(good), encoding="utf-8")
    found = previous_outcome(job)
    assert found is not None and found.reused and found.html == str((out / "review.html").resolve())


def test_nbformat_imports_and_validates_without_the_iri_grammars():
    """Workers import nbformat without rfc3987_syntax (its grammars cost ~1 s per process);
    notebooks still read, validate and write."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from evalkit.review.render import lean_nbformat\n"
        "lean_nbformat()\n"
        "import nbformat, papermill\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1 + 1')])\n"
        "nbformat.validate(nbformat.reads(nbformat.writes(nb), as_version=4))\n"
        "assert sys.modules.get('rfc3987_syntax') is None\n"
        "bad = nbformat.v4.new_notebook(); bad.cells.append({'cell_type': 'nonsense'})\n"
        "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    print('invalid refused')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "invalid refused"


def test_reviews_sharing_an_as_of_date_are_not_started_together():
    """Phase 3 and the final see the data as of one date and share its estimates: the first of
    them starts before everything else, the other after everything else, so it reads them back
    instead of waiting on locks."""
    from evalkit.review.plan import discover_params, preflight, running_order

    jobs = preflight(discover_params(Path(__file__).resolve().parents[1] / "params", [], True))
    dates = {j.phase_id: j.as_of for j in jobs}
    assert dates["phase3"] == dates["final"] and len(set(dates.values())) == 3
    given = sorted(jobs, key=lambda j: ["phase1", "final", "phase2", "phase3"].index(j.phase_id))
    assert [j.phase_id for j in running_order(given)] == ["final", "phase1", "phase2", "phase3"]
    assert sorted(j.phase_id for j in running_order(jobs)) == sorted(dates)  # nothing lost or doubled
    other = [j.with_(fingerprint="another dataset") if j.phase_id == "final" else j for j in given]
    assert [j.phase_id for j in running_order(other)] == ["phase1", "final", "phase2", "phase3"]

"""The main job end to end: `evalkit review` on the bundled default data renders self-contained,
private, labelled reviews; a browser opens one. (One Chinese and one English review run in
parallel; `make review` runs all four phases the same way.)"""
import os
import json
import re
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evalkit.cli import main
from evalkit.data.dataset import load
from evalkit.privacy import scan_for_identifiers
from evalkit.review.runner import CHROMIUM_FLAGS, find_chromium

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "zhuzhou_synthetic"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    params = tmp / "params"
    params.mkdir()
    raw = yaml.safe_load((ROOT / "params" / "phase2.yaml").read_text(encoding="utf-8"))
    raw["data"] = str(DATA)
    (params / "phase2.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    raw_en = dict(raw, phase_id="phase2en", language="en")
    (params / "phase2en.yaml").write_text(yaml.safe_dump(raw_en, allow_unicode=True), encoding="utf-8")
    out = tmp / "reports"
    code = main(["review", "--all", "--params", str(params), "--out", str(out), "--jobs", "2"])
    return code, out


def test_review_succeeds_and_is_indexed(reports):
    code, out = reports
    assert code == 0
    for phase in ("phase2", "phase2en"):
        assert (out / phase / "review.html").exists() and (out / phase / "review.ipynb").exists()
        results = json.loads((out / phase / "results.json").read_text(encoding="utf-8"))
        assert results["phase"] == phase and results["as_of"] and results["tables"]["targets"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "phase2en" in index and "成功" in index and "SYNTHETIC" in index


def test_rendered_review_is_self_contained_labelled_and_hides_code(reports):
    _, out = reports
    page = (out / "phase2" / "review.html").read_text(encoding="utf-8")
    page += (out / "phase2" / "annex.html").read_text(encoding="utf-8")  # the technical annex, linked
    assert '<html lang="zh-CN">' in page
    assert "<title>第二阶段" in page
    assert "合成数据" in page  # the loud banner and every caption
    assert page.count("<img") >= 6 and "data:image/png;base64," in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", page)
    assert "PhaseReview" not in page and "params_file" not in page  # no code, no parameters cell
    assert load(DATA).fingerprint in page  # provenance on the cover
    for heading in ("主要发现", "数据质量", "综合融合指数", "耦合协调度", "双重差分", "附录"):
        assert heading in page


def test_english_review_is_in_english(reports):
    _, out = reports
    page = (out / "phase2en" / "review.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert "Key findings" in page and "SYNTHETIC DATA" in page and "主要发现" not in page


def test_no_graduate_identifier_in_any_rendered_file(reports):
    _, out = reports
    ids = pd.read_parquet(DATA / "graduates.parquet", columns=["graduate_id"])["graduate_id"]
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb", ".json", ".log")]
    assert len(files) >= 6
    assert scan_for_identifiers(files, ids) == []
    # the scanner itself finds an identifier when one is there
    leak = out / "leak.html"
    leak.write_text(f"<td>{ids.iloc[123]}</td>", encoding="utf-8")
    assert scan_for_identifiers([leak], ids) == [(str(leak), str(ids.iloc[123]))]
    leak.unlink()


@pytest.mark.browser
def test_browser_displays_the_review(reports):
    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("no Chromium on this machine")
    _, out = reports
    page = out / "phase2" / "review.html"
    shots = ROOT / "reports"
    shots.mkdir(exist_ok=True)
    shot = shots / "screenshot_phase2.png"
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                              "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180).stdout
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",
                        "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, timeout=180)
    assert "<title>第二阶段" in dom
    assert re.search(r"<img[^>]+src=\"data:image/png", dom)
    assert "主要发现" in dom and "合成数据" in dom
    assert not re.search(r'class="[^"]*\bjp-InputArea\b', dom) and "PhaseReview" not in dom  # no code cells
    assert shot.exists() and shot.stat().st_size > 20_000


def test_graduate_table_suppresses_small_cells():
    """Cells resting on fewer graduates than privacy.min_cell are blanked and their count hidden."""

    from evalkit.review.report import PhaseReview

    from evalkit.review.sections import graduate_table

    review = PhaseReview.open(ROOT / "params" / "phase2.yaml")
    full = graduate_table(review.analysis, review.page, min_cell=5)
    counts = full.iloc[:, 1].str.replace(",", "").astype(int)
    threshold = int(counts.median()) + 1
    safe = graduate_table(review.analysis, review.page, min_cell=threshold)
    small = counts < threshold
    assert small.any() and (~small).any()
    assert (safe.iloc[:, 1][small] == f"<{threshold}").all()
    assert safe.loc[small.to_numpy(), safe.columns[2]].isna().all()  # the rate itself is hidden
    assert safe.loc[(~small).to_numpy(), safe.columns[2]].notna().all()


def test_bilingual_review_sections_render_without_warnings(monkeypatch):
    """Every section in the bilingual language, as a researcher calls them in JupyterLab; figure
    layout and font warnings are errors."""
    import warnings

    import IPython.display

    from evalkit.review.report import ALL_SECTIONS, PhaseReview

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append(a))
    review = PhaseReview.open(ROOT / "params" / "final.yaml")
    review.page.lang = "bilingual"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for section in ALL_SECTIONS:
            getattr(review, section)()
    text = " ".join(getattr(a[0], "data", "") for a in shown)
    assert "主要发现 / Key findings" in text and "各阶段比较 / Phases compared" in text


def test_an_outcome_nobody_reports_is_explained_not_a_crash(monkeypatch):
    import IPython.display

    from evalkit.review.report import PhaseReview

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append(a))
    import dataclasses

    from evalkit.review.cache import ResultCache

    # the edited panel is not the data the result cache is keyed on: compute without the cache
    a = dataclasses.replace(PhaseReview.open(ROOT / "params" / "phase2.yaml").analysis, cache=ResultCache(None))
    review = PhaseReview(a)
    a.__dict__["college_wide"] = a.college_wide.assign(local_retention_rate=float("nan"))
    review.membership_did()
    review.key_findings()
    text = " ".join(getattr(a[0], "data", "") for a in shown)
    assert "本地就业率" in text and "无法估计" in text and "NotEstimable" in text
    assert "主要发现" in text and "耦合协调度" in text  # the rest of the review goes on

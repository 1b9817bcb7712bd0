"""Issue 12, review side: the evaluation framework as data, red lines first, the page-1 summary,
chapters per dimension, the outlook, the annex apart, Word for panels, and the length and
language of the review."""

from __future__ import annotations

import copy
import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evalkit.errors import ParamsError
from evalkit.review.framework import DEFAULT_LABEL, load_framework
from evalkit.review.report import ANNEX_SECTIONS, MAIN_SECTIONS, PhaseReview

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "zhuzhou_synthetic"
FAST = {"uncertainty_runs": 20, "drivers": False, "ri_reps": 19}
# English method names that must not reach the Chinese review's visible text untranslated
METHOD_TOKENS = [
    "Callaway",
    "Sant'Anna",
    "TOPSIS",
    "TWFE",
    "DiD",
    "CRV1",
    "CRV3",
    "HC1",
    "bootstrap",
    "entropy",
    "min–max",
    "AHP",
    "CRITIC",
    "PCA",
    "ElasticNet",
    "OLS",
    "Wald",
    "as-of",
    "ATT",
    "Monte Carlo",
    "leave-one-out",
]


def main_review(analysis, framework=None, **kw) -> PhaseReview:
    """The review's own sections rendered apart from the annex (no kernel)."""
    review = PhaseReview(analysis, sink=[], separate_annex=True, framework=framework, **kw)
    for name in MAIN_SECTIONS:
        getattr(review, name)()
    return review


def visible_text(markup: str) -> str:
    markup = re.sub(r"data:[a-z/+-]+;base64,[A-Za-z0-9+/=]+", "", markup)
    markup = re.sub(r"<style[\s\S]*?</style>", "", markup)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", markup))


@pytest.fixture(scope="module")
def phase2():
    return PhaseReview.open(ROOT / "params" / "phase2.yaml", methods=FAST).analysis


# ---------------------------------------------------------------------- the framework as data
def test_default_framework_is_the_projects_reading_in_three_levels():
    fw = load_framework()
    assert fw.is_default and not fw.official
    assert [c.kind for c in fw.classes] == ["basic", "substantive", "veto"]
    assert {"组织与治理", "平台与资源", "合作办学", "合作育人", "合作就业", "合作发展", "五金建设"} <= {
        d.name_zh for d in fw.dimensions
    }
    assert all(fw.nodes[p.parent].level == 3 for p in fw.points)
    assert any(p.veto and p.item for p in fw.points) and any(p.veto and p.indicator for p in fw.points)
    tags = {t for d in fw.dimensions for t in d.tags}
    assert {"一理事会", "三平台", "两中心", "四联盟", "四工程"} <= tags
    assert fw.label("zh") == DEFAULT_LABEL[0] and "project's reading" in fw.label("en")


def test_every_problem_of_a_framework_file_is_listed(tmp_path):
    raw = yaml.safe_load((ROOT / "src/evalkit/review/framework.yaml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(raw)
    bad["points"][0]["item"] = "no_such_item"
    bad["points"][-1]["indicator"] = "no_such_indicator"
    bad["nodes"].append({"id": "loop_a", "parent": "loop_b", "name_zh": "a", "name_en": "a"})
    bad["nodes"].append({"id": "loop_b", "parent": "loop_a", "name_zh": "b", "name_en": "b"})
    bad["nodes"][0]["weight"] = 0.9  # basic 0.9 + substantive 0.6
    bad["points"].append(dict(bad["points"][1]))  # a duplicate id
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError) as err:
        load_framework(path)
    text = str(err.value)
    for what in ("no_such_item", "no_such_indicator", "cycle", "sum to 1.5", "duplicate id"):
        assert what in text, what


def test_a_bad_framework_in_params_exits_2_before_any_kernel(tmp_path, capsys):
    from evalkit.cli import main

    params = tmp_path / "params"
    params.mkdir()
    (tmp_path / "fw.yaml").write_text("nodes: []\npoints: []\n", encoding="utf-8")
    raw = yaml.safe_load((ROOT / "params" / "phase1.yaml").read_text(encoding="utf-8"))
    raw.update(data=str(DATA), framework=str(tmp_path / "fw.yaml"))
    (params / "phase1.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert main(["review", "phase1", "--params", str(params), "--out", str(tmp_path / "out")]) == 2
    assert "nodes" in capsys.readouterr().err
    assert not (tmp_path / "out" / "phase1").exists()


# ---------------------------------------------------------------------- red lines and verdict
def _without_council(analysis):
    """The same data with the council's evidence removed."""
    from evalkit.review.analysis import PhaseAnalysis

    ds = copy.copy(analysis.dataset)
    ev = ds.evidence
    ds.evidence = ev[~ev["item_id"].isin(["council_established", "council_met"])].reset_index(drop=True)
    return PhaseAnalysis.build(analysis.phase, ds, analysis.registry, methods=analysis.methods)


def test_a_red_line_is_on_page_one_and_the_verdict_is_not_a_pass(phase2):
    if getattr(phase2.dataset, "evidence", None) is None:
        pytest.skip("the data has no evidence table")
    clean = main_review(phase2)
    res = clean.results()
    assert not any(r["triggered"] for r in res["red_lines"])
    assert "evalkit-redline" not in "".join(clean.page.sink)
    broken = main_review(_without_council(phase2))
    res = broken.results()
    triggered = [r for r in res["red_lines"] if r["triggered"]]
    assert triggered and res["verdict"]["code"] == "fail" and "一票否决" in res["verdict"]["because_zh"]
    page = "".join(broken.page.sink)
    flag, verdict, card = page.index("⚠ 否定性指标触发"), page.index("结论："), page.index("评分卡")
    assert flag < verdict < card  # red lines first, with their evidence
    assert "无佐证" in page[flag:verdict]
    assert any(r["rule"] == "R1" for r in res["recommendations"])


def test_a_metric_the_framework_marks_as_veto_fails_the_review(phase2, tmp_path):
    raw = yaml.safe_load((ROOT / "src/evalkit/review/framework.yaml").read_text(encoding="utf-8"))
    floor = next(p for p in raw["points"] if p["id"] == "veto_destination")
    floor["rule"] = {"threshold": 99, "direction": 1}
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    review = main_review(phase2, framework=load_framework(path, registry=phase2.registry))
    res = review.results()
    assert [r["point"] for r in res["red_lines"] if r["triggered"]] == ["veto_destination"]
    assert res["verdict"]["code"] == "fail" and not res["framework"]["default"]
    assert "用户提供" in "".join(review.page.sink)  # the report names the framework it used


def test_summary_scorecard_risks_and_recommendations_name_their_numbers(phase2):
    review = main_review(phase2)
    res = review.results()
    page = "".join(review.page.sink)
    assert page.index("摘要") < page.index("评分卡") < page.index("三大风险") < page.index("建议")
    assert DEFAULT_LABEL[0] in page
    v = res["verdict"]
    assert v["code"] in ("pass", "conditional", "fail") and v["rule_zh"] in page
    dims = [d for d in load_framework().dimensions]
    assert [r["dimension"] for r in res["scorecard"]] == [d.id for d in dims]
    for row in res["scorecard"]:
        assert row["light"] in ("green", "amber", "red", "grey")
        if row["light"] != "grey":
            assert row["comparison_zh"] != "—"
    assert len(res["risks"]) <= 3
    for rec in res["recommendations"]:
        assert re.search(r"\d", rec["text_zh"]) and rec["rule"] in {f"R{i}" for i in range(1, 8)}
    # one chapter per non-veto dimension, in framework order
    starts = [page.index(f"<h2>{d.name_zh}</h2>") for d in dims if d.kind != "veto"]
    assert starts == sorted(starts)
    # the outlook: a forecast per target with the method stated
    assert {f["indicator"] for f in res["forecast"]} == set(phase2.phase.targets)
    assert "普通最小二乘线性趋势" in page and "预测区间" in page


def test_an_alternative_framework_changes_chapters_and_scorecard(phase2, tmp_path):
    alt = {
        "title_zh": "替代框架",
        "title_en": "Alternative",
        "nodes": [
            {"id": "b", "name_zh": "基础", "name_en": "Base", "kind": "basic", "weight": 0.5},
            {"id": "s", "name_zh": "实质", "name_en": "Substance", "kind": "substantive", "weight": 0.5},
            {"id": "talent", "parent": "b", "name_zh": "人才培养质量", "name_en": "Talent"},
            {"id": "t1", "parent": "talent", "name_zh": "就业", "name_en": "Jobs"},
            {"id": "service", "parent": "s", "name_zh": "服务产业能力", "name_en": "Service"},
            {"id": "s1", "parent": "service", "name_zh": "技术服务", "name_en": "Technical service"},
        ],
        "points": [
            {"id": "p1", "parent": "t1", "indicator": "graduate_destination_rate", "rule": "trend"},
            {"id": "p2", "parent": "s1", "indicator": "tech_service_income", "rule": "target", "fallback": "trend"},
        ],
    }
    path = tmp_path / "alt.yaml"
    path.write_text(yaml.safe_dump(alt, allow_unicode=True), encoding="utf-8")
    review = main_review(phase2, framework=load_framework(path, registry=phase2.registry))
    page = "".join(review.page.sink)
    assert [r["name_zh"] for r in review.results()["scorecard"]] == ["人才培养质量", "服务产业能力"]
    assert "<h2>人才培养质量</h2>" in page and "<h2>合作办学</h2>" not in page


# ---------------------------------------------------------------------- names, language, annex
def test_no_comparison_unit_is_named_unless_asked(phase2):
    from evalkit.review.sections import naming, unit_label

    units = phase2.units
    names = [n for n in units.loc[~units["member"], "name_zh"] if isinstance(n, str) and n]
    review = main_review(phase2)
    page = "".join(review.page.sink) + "".join(review.annex_page.sink or [])
    for name in ANNEX_SECTIONS:
        getattr(review, name)()
    page += "".join(review.annex_page.sink)
    assert names and not [n for n in names if n in page]
    other = units.loc[~units["member"], "unit_id"].iloc[0]
    assert unit_label(phase2, other, "zh").startswith("对照")
    with naming(True):
        assert unit_label(phase2, other, "zh") in names


def test_the_chinese_review_has_no_untranslated_method_name(phase2):
    text = visible_text("".join(main_review(phase2).page.sink))
    found = [t for t in METHOD_TOKENS if re.search(rf"(?<![A-Za-z]){re.escape(t)}(?![A-Za-z])", text)]
    assert found == []


def test_the_annex_is_its_own_self_contained_page(phase2, tmp_path):
    review = main_review(phase2)
    for name in ANNEX_SECTIONS:
        getattr(review, name)()
    path = review.save_annex(tmp_path / "annex.html")
    page = path.read_text(encoding="utf-8")
    assert "href='review.html'" in page and "@font-face" in page and "技术附录" in page
    for heading in ("数据质量", "双重差分", "附录：方法与指标定义", "评价框架与判定规则", "R7"):
        assert heading in page
    assert "annex.html" in "".join(review.page.sink)  # the review links it
    assert "双重差分）" not in "".join(review.page.sink)  # estimation details are not in the review


# ---------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """`evalkit review phase2 final --docx --pdf` on the bundled data (fast method sizes)."""
    from evalkit.cli import main

    tmp = tmp_path_factory.mktemp("summary")
    params = tmp / "params"
    params.mkdir()
    for phase in ("phase1", "phase2", "phase3", "final"):
        raw = yaml.safe_load((ROOT / "params" / f"{phase}.yaml").read_text(encoding="utf-8"))
        raw["data"] = str(DATA)
        raw["methods"] = {**(raw.get("methods") or {}), **FAST}
        (params / f"{phase}.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp / "reports"
    args = ["review", "phase2", "final", "--params", str(params), "--out", str(out), "--jobs", "2", "--docx"]
    code = main(args + (["--pdf"] if shutil.which("chromium") else []))
    return code, out


@pytest.mark.parametrize("phase", ["phase2", "final"])
def test_every_review_writes_its_files_and_the_index_links_the_annex(run, phase):
    code, out = run
    assert code == 0
    for name in ("review.html", "annex.html", "results.json", "review.docx"):
        assert (out / phase / name).exists(), name
    res = json.loads((out / phase / "results.json").read_text(encoding="utf-8"))
    for key in ("verdict", "scorecard", "red_lines", "recommendations", "risks", "forecast", "framework"):
        assert key in res
    assert "scorecard" in res["tables"] and "composite_index" in res["tables"]  # review and annex tables
    page = (out / phase / "review.html").read_text(encoding="utf-8")
    assert "摘要" in page and 'href="annex.html"' in page.replace("'", '"')
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{phase}/annex.html"' in index
    names = pd.read_csv(DATA / "units.csv")
    others = [n for n in names.loc[names["member_since"].isna(), "name_zh"] if isinstance(n, str)]
    assert others and not [n for n in others if n in page]


def test_the_word_version_matches_results(run):
    import docx

    _, out = run
    res = json.loads((out / "phase2" / "results.json").read_text(encoding="utf-8"))
    doc = docx.Document(str(out / "phase2" / "review.docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert f"结论：{res['verdict']['zh']}" in headings
    assert res["calendars"]["text_zh"] in [p.text for p in doc.paragraphs]  # the data's calendars, as the annex
    card = doc.tables[0]
    assert [r.cells[0].text for r in card.rows[1:]] == [r["name_zh"] for r in res["scorecard"]]
    scored = next(r for r in res["scorecard"] if r["score"] is not None)
    row = next(r for r in card.rows[1:] if r.cells[0].text == scored["name_zh"])
    assert row.cells[2].text == f"{scored['score']:.2f}"
    east = doc.styles["Normal"].element.rPr.rFonts.get(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia"
    )
    assert east == "宋体"
    assert len(doc.inline_shapes) >= 2


def _pdf_pages(path: Path) -> int:
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
        return int(re.search(r"Pages:\s+(\d+)", info).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


@pytest.mark.parametrize("phase", ["phase2", "final"])
def test_the_review_prints_on_at_most_eight_a4_pages(run, phase):
    _, out = run
    pdf = out / phase / "review.pdf"
    if not pdf.exists():
        pytest.skip("no Chromium: no PDF")
    assert 1 <= _pdf_pages(pdf) <= 8

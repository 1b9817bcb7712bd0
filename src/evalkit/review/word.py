"""The review as Word for expert panels (``review.docx``), written from ``results.json`` and the
review's figures with python-docx: the verdict, red lines, the scorecard, risks,
recommendations, one table per dimension, the outlook and the figures, in a Chinese font
(East Asian font set through ``w:eastAsia``)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# the scorecard's words, as the HTML review writes them
from evalkit.review.sections_summary import LIGHT
from evalkit.review.sections_summary import RULE_NAMES as RULE

EAST_ASIAN_FONT = "宋体"
LATIN_FONT = "Times New Roman"


# the scorecard's words, as the HTML review writes them
def _set_fonts(style_or_run, east_asian: str = EAST_ASIAN_FONT) -> None:
    from docx.oxml.ns import qn

    style_or_run.font.name = LATIN_FONT
    rpr = style_or_run.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east_asian)


def _table(doc: Any, headers: Sequence[str]) -> Any:
    """A bordered table whose first row is ``headers``."""
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers):
        cell.text = text
    return table


def write_docx(
    results: dict[str, Any], path: Path, *, figures: Sequence[tuple[bytes, str]] = (), lang: str = "zh"
) -> Path:
    """Write ``path`` (atomically) from a review's results and ``(PNG bytes, caption)`` figures."""
    import docx
    from docx.shared import Cm, Pt

    en = lang == "en"

    def t(zh: str, e: str) -> str:
        return e if en else zh

    doc = docx.Document()
    for name in ("Normal", "Heading 1", "Heading 2", "Heading 3", "Title"):
        _set_fonts(doc.styles[name])
    doc.styles["Normal"].font.size = Pt(10.5)
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))

    title = results.get("title") or results.get("phase", "")
    doc.add_heading(str(title), level=0)
    if results.get("provenance", {}).get("synthetic"):
        doc.add_paragraph(
            t("⚠ 合成数据：本报告所有数字均非真实统计，不得引用。", "⚠ SYNTHETIC DATA: no figure is a real statistic.")
        )
    doc.add_paragraph(
        t(
            f"评估窗口 {results['window']['start']} 至 {results['window']['end']}；信息截止日 {results['as_of']}。",
            f"Window {results['window']['start']} to {results['window']['end']}; as of {results['as_of']}.",
        )
    )
    calendars = results.get("calendars") or {}
    if calendars.get("text_zh"):  # which calendar the data are on (the methods appendix says the same)
        doc.add_paragraph(t(calendars["text_zh"], calendars["text_en"]))
    doc.add_paragraph(results.get("framework", {}).get("label", ""))

    v = results["verdict"]
    doc.add_heading(t(f"结论：{v['zh']}", f"Verdict: {v['en']}"), level=1)
    doc.add_paragraph(t(f"{v['because_zh']}。{v['rule_zh']}", f"{v['because_en']}. {v['rule_en']}"))
    triggered = [r for r in results["red_lines"] if r["triggered"]]
    doc.add_heading(t("否定性指标", "Red lines"), level=2)
    if triggered:
        for r in triggered:
            doc.add_paragraph(
                t(f"触发：{r['name_zh']}（{r['evidence_zh']}）", f"Triggered: {r['name_en']} ({r['evidence_en']})"),
                style="List Bullet",
            )
    else:
        doc.add_paragraph(t("均未触发。", "None triggered."))
    for r in results["red_lines"]:
        if r["status"] == "not_assessed":
            doc.add_paragraph(
                t(f"未评估：{r['name_zh']}（{r['evidence_zh']}）", f"Not judged: {r['name_en']} ({r['evidence_en']})"),
                style="List Bullet",
            )

    doc.add_heading(t("评分卡", "Scorecard"), level=2)
    card = results["scorecard"]
    table = _table(
        doc, (t("维度", "dimension"), t("信号灯", "light"), t("得分", "score"), t("决定颜色的比较", "comparison"))
    )
    for row in card:
        cells = table.add_row().cells
        cells[0].text = t(row["name_zh"], row["name_en"])
        cells[1].text = t(*LIGHT.get(row["light"], (row["light"], row["light"])))
        cells[2].text = "—" if row["score"] is None else f"{row['score']:.2f}"
        cells[3].text = t(row["comparison_zh"], row["comparison_en"])

    doc.add_heading(t("三大风险", "The three largest risks"), level=2)
    for r in results["risks"]:
        doc.add_paragraph(t(r["text_zh"], r["text_en"]), style="List Bullet")
    doc.add_heading(t("建议", "Recommendations"), level=2)
    for r in results["recommendations"]:
        doc.add_paragraph(f"[{r['rule']}] " + t(r["text_zh"], r["text_en"]), style="List Bullet")

    points = results.get("points", [])
    for row in card:
        if row["class"] == "veto":
            continue
        doc.add_heading(t(row["name_zh"], row["name_en"]), level=1)
        sub = [p for p in points if p["dimension"] == row["dimension"]]
        tb = _table(doc, (t("观测点", "point"), t("判断依据", "rule"), t("比较", "comparison"), t("信号灯", "light")))
        for p in sub:
            cells = tb.add_row().cells
            cells[0].text = t(p["name_zh"], p["name_en"])
            cells[1].text = t(*RULE.get(p["rule"], (p["rule"], p["rule"])))
            cells[2].text = t(p["comparison_zh"], p["comparison_en"])
            cells[3].text = t(*LIGHT.get(p["light"], (p["light"], p["light"])))

    fc = results.get("forecast") or []
    if fc:
        doc.add_heading(t("展望：建设期末目标预测", "Outlook: end-of-build forecast"), level=1)
        tb = _table(
            doc,
            (
                t("指标", "indicator"),
                t("期末目标", "end target"),
                t("预测（95% 预测区间）", "forecast (95% PI)"),
                t("判断", "status"),
            ),
        )
        for r in fc:
            cells = tb.add_row().cells
            cells[0].text = t(r["name_zh"], r["name_en"])
            cells[1].text = str(r["target_text"])
            cells[2].text = str(r["forecast_text"])
            cells[3].text = str(r["status"])
    for png, caption in figures:
        doc.add_picture(io.BytesIO(png), width=Cm(16))
        doc.add_paragraph(caption)
    for paragraph in doc.paragraphs:
        for run in paragraph.runs:
            _set_fonts(run)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    doc.save(str(tmp))
    tmp.replace(path)
    return path

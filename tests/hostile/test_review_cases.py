"""Hostile review cases sharing one real review (``evalkit review`` through ``cli.main``) and one
``evalkit metrics --out``: injection payloads in every free-text field of data, dataset.yaml, params
and a user registry; a college with three graduates and graduate rows with warnings; two colleges
sharing a Chinese name. Every output file is checked: no live markup in HTML (page, notebook
outputs, index), no live formula in CSV, no graduate id, no suppressed count or income, no
absolute path."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path

import pytest

from evalkit.cli import main
from evalkit.privacy import scan_for_identifiers
from tests.hostile import review_project as rp

LIVE = {
    "script": re.compile(r"<script\b[^>]*>[^<]*(alert|xss)", re.I),
    "event handler": re.compile(r"<[a-zA-Z][^<>]*\son\w+\s*=", re.I),
    "javascript: href": re.compile(r"<[a-zA-Z][^<>]*(href|src)\s*=\s*[\"']?\s*javascript:", re.I),
}


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    root = tmp_path_factory.mktemp("review_cases")
    project = rp.build(root / "project")
    out = root / "reports"
    code = main(["review", "phase2", "--params", str(project.params), "--out", str(out), "--jobs", "1"])
    csv_out = root / "ind.csv"
    code_metrics = main(["metrics", str(project.data), "--registry", str(project.registry), "--out", str(csv_out)])
    files = [p for p in out.rglob("*") if p.is_file()] + [csv_out]
    return {"code": code, "metrics": code_metrics, "out": out, "files": files, "project": project}


def _html_parts(path: Path) -> list[str]:
    """The HTML a browser would render from ``path``: the page itself, or every HTML/Markdown
    output of a notebook (Markdown passes raw HTML through)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        return [text]
    if path.suffix != ".ipynb":
        return []
    parts = []
    for cell in json.loads(text)["cells"]:
        for output in cell.get("outputs", []):
            for mime, value in (output.get("data") or {}).items():
                if mime in ("text/html", "text/markdown"):
                    parts.append("".join(value) if isinstance(value, list) else str(value))
    return parts


def _text_files(review) -> list[Path]:
    return [p for p in review["files"] if p.suffix in (".html", ".ipynb", ".json", ".log", ".csv")]


def check_no_live_markup(review, kind: str) -> None:
    pattern = LIVE[kind]
    for path in review["files"]:
        for part in _html_parts(path):
            hit = pattern.search(part)
            assert hit is None, f"live {kind} in {path.name}: {part[max(0, hit.start() - 80) : hit.end() + 80]}"


def check_no_live_formula(review) -> None:
    path = [p for p in review["files"] if p.suffix == ".csv"][0]
    for record in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
        for cell in record:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                try:
                    float(cell)
                except ValueError:
                    raise AssertionError(f"live formula in {path.name}: {cell!r}") from None


def check_field_shown_escaped(review, payload: str) -> None:
    """The payload is shown to the reader (as text), not dropped and not live."""
    import html

    page = (review["out"] / "phase2" / "review.html").read_text(encoding="utf-8")
    visible = html.escape(payload.strip(), quote=False)
    assert visible.split("(")[0][:12] in page or payload.strip()[:6] in page


def check_no_graduate_id(review) -> None:
    assert scan_for_identifiers(_text_files(review), review["project"].graduate_ids) == []


def check_no_income(review) -> None:
    # the planted income as a number of its own (not a run of digits inside another number)
    shown = re.compile(r"(?<![\d.,])98,?765(?![\d])")
    for path in _text_files(review):
        text = path.read_text(encoding="utf-8", errors="replace")
        hit = shown.search(text)
        assert hit is None, f"a graduate's income in {path.name}: …{text[max(hit.start() - 40, 0) : hit.end() + 40]}…"


def check_small_count_suppressed(review) -> None:
    results = json.loads((review["out"] / "phase2" / "results.json").read_text(encoding="utf-8"))
    rows = results["tables"].get("graduate_outcomes") or []
    assert rows, "the graduate table was not shown"
    name = "醴陵陶瓷烟花职业技术学校"
    small = [r for r in rows if name in json.dumps(r, ensure_ascii=False)]
    assert small, rows[:3]
    counts = [v for r in small for k, v in r.items() if k in ("毕业生数", "graduates")]
    assert counts == [f"<{5}"], counts
    for r in small:  # the values resting on three graduates are blank too
        assert all(v is None for k, v in r.items() if "(" in k), r


def check_person_warnings_have_no_values(review) -> None:
    results = json.loads((review["out"] / "phase2" / "results.json").read_text(encoding="utf-8"))
    rows = [r for r in results["tables"]["validation_warnings"] if "graduates" in json.dumps(r, ensure_ascii=False)]
    assert rows
    for r in rows:
        text = json.dumps(r, ensure_ascii=False)
        assert "(records" not in text and "C01 2025H1" not in text, text
        assert r.get("行", r.get("row")) == "—"


def check_no_absolute_path(review) -> None:
    roots = {tempfile.gettempdir(), os.path.expanduser("~"), str(rp.ROOT), str(review["out"])}
    for path in _text_files(review):
        text = path.read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"data:[a-z/+-]+;base64,[A-Za-z0-9+/=]+", "", text)
        for folder in roots:
            assert folder + "/" not in text and f'"{folder}"' not in text, f"{folder} in {path.name}"


def check_shared_chinese_name(review) -> None:
    assert review["code"] == 0
    status = json.loads((review["out"] / "phase2" / "status.json").read_text(encoding="utf-8"))
    assert status["status"] == "ok", status


def check_every_output_written(review) -> None:
    names = {p.relative_to(review["out"]).as_posix() for p in review["files"] if review["out"] in p.parents}
    for name in (
        "index.html",
        "phase2/review.html",
        "phase2/review.ipynb",
        "phase2/results.json",
        "phase2/status.json",
        "phase2/review.log",
    ):
        assert name in names, names
    assert review["metrics"] == 0


REVIEW_CASES = {
    "review_ok_with_payloads_everywhere": check_every_output_written,
    "review_two_colleges_share_chinese_name": check_shared_chinese_name,
    **{
        f"html_no_live_{k.replace(' ', '_').replace(':', '')}": (lambda r, k=k: check_no_live_markup(r, k))
        for k in LIVE
    },
    "csv_no_live_formula": check_no_live_formula,
    "privacy_no_graduate_id_anywhere": check_no_graduate_id,
    "privacy_no_income_of_warned_rows": check_no_income,
    "privacy_small_college_count_suppressed": check_small_count_suppressed,
    "privacy_person_warnings_without_values": check_person_warnings_have_no_values,
    "no_absolute_path_in_any_output": check_no_absolute_path,
}
FIELDS = {
    "params_title_zh": rp.SCRIPT,
    "params_title_en": rp.IMG,
    "params_notes": rp.LINK,
    "dataset_name_zh": rp.SCRIPT,
    "units_name_zh_script": rp.SCRIPT,
    "units_name_en_img": rp.IMG,
    "units_name_en_link_math": rp.LINK,
    "units_name_zh_math": rp.MATH,
    "registry_name_script": rp.SCRIPT,
    "registry_name_img": rp.IMG,
    "registry_name_link": rp.LINK,
}
REVIEW_CASES.update(
    {f"field_{k}_shown_as_text": (lambda r, v=v: check_field_shown_escaped(r, v)) for k, v in FIELDS.items()}
)


@pytest.mark.parametrize("name", list(REVIEW_CASES))
def test_review_case(name, review):
    REVIEW_CASES[name](review)

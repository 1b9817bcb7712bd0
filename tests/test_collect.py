"""Issue 14: per-unit workbooks, `evalkit collect`, academic years, messages in the user's language."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from evalkit import i18n, schema
from evalkit.cli import main
from evalkit.data.dataset import load, validate
from evalkit.data.periods import parse_period
from evalkit.data.unit_template import tables_for, write_unit_templates

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def returns(tmp_path_factory):
    root = tmp_path_factory.mktemp("returns")
    assert main(["synth", "--workbooks", str(root / "inbox"), "--lang", "en"]) == 0
    assert main(["synth", "--out", str(root / "reference")]) == 0
    return root


def test_round_trip_synth_workbooks_collect_validate_metrics(returns, capsys):
    inbox, data = returns / "inbox", returns / "data"
    assert main(["collect", str(inbox), "--out", str(data), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "missing 0" in out and (data / "collection" / "summary.csv").exists()
    assert main(["validate", str(data), "--lang", "en"]) == 0
    assert main(["metrics", str(data), "--out", str(returns / "a.csv")]) == 0
    assert main(["metrics", str(returns / "reference"), "--out", str(returns / "b.csv")]) == 0
    a, b = pd.read_csv(returns / "a.csv"), pd.read_csv(returns / "b.csv")
    pd.testing.assert_frame_equal(a, b)
    assert {"name_zh", "name_en", "unit"} <= set(a.columns)
    # a second collect does not overwrite without --force
    capsys.readouterr()
    assert main(["collect", str(inbox), "--out", str(data)]) == 2
    assert "--force" in capsys.readouterr().err


def _small_inbox(returns: Path, tmp: Path, files: list[str]) -> Path:
    inbox = tmp / "inbox"
    inbox.mkdir()
    for name in ["units.csv", "dataset.yaml", *files]:
        shutil.copy(returns / "inbox" / name, inbox / name)
    return inbox


def test_conflicting_duplicate_names_both_files(returns, tmp_path, capsys):
    inbox = _small_inbox(returns, tmp_path, ["E001.xlsx"] if (returns / "inbox" / "E001.xlsx").exists() else [])
    first = sorted(p.name for p in (returns / "inbox").glob("E*.xlsx"))[0]
    shutil.copy(returns / "inbox" / first, inbox / first)
    book = load_workbook(inbox / first)
    ws = book["面板 panel"]
    ws.cell(3, 3).value = (ws.cell(3, 3).value or 0) + 7
    book.save(inbox / "copy_of_return.xlsx")
    code = main(["collect", str(inbox), "--out", str(tmp_path / "data"), "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 2 and first in err and "copy_of_return.xlsx" in err
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_missing_units_are_listed(returns, tmp_path, capsys):
    inbox = _small_inbox(returns, tmp_path, ["C01.xlsx", "consortium.xlsx"])
    main(["collect", str(inbox), "--out", str(tmp_path / "data"), "--lang", "en"])
    out = capsys.readouterr().out
    assert "not returned:" in out and "C02" in out and "P01" in out
    summary = pd.read_csv(tmp_path / "data" / "collection" / "summary.csv")
    assert set(summary.loc[summary["status"] == "missing", "unit_id"]) >= {"C02", "P01"}
    assert "consortium" not in set(summary.loc[summary["status"] == "missing", "unit_id"])


def test_workbooks_per_kind_of_unit(tmp_path):
    units = pd.DataFrame(
        {"unit_id": ["C01", "E01", "P01"], "unit_type": ["college", "enterprise", "park"], "name_zh": ["院", "企", "园"]}
    )
    units.to_csv(tmp_path / "units.csv", index=False)
    assert main(["template", "--units", str(tmp_path / "units.csv"), "--out", str(tmp_path / "out"),
                 "--periods", "2024H1,2024H2"]) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["C01.xlsx", "E01.xlsx", "P01.xlsx", "consortium.xlsx"]
    book = load_workbook(tmp_path / "out" / "E01.xlsx")
    panel = book["面板 panel"]
    headers = [c.value for c in panel[2] if c.value]
    wanted = [c for c in schema.PANEL_VARIABLES if "enterprise" in c.applies_to]
    assert len(headers) == 2 + len(wanted) and "毕业生 graduates" not in book.sheetnames
    assert panel.cell(3, 1).value == "E01" and panel.cell(4, 2).value == "2024H2"
    assert book["单位 units"].cell(3, 1).value == "E01"
    kinds = {dv.type for dv in panel.data_validations.dataValidation}
    assert {"list", "decimal"} <= kinds
    college = load_workbook(tmp_path / "out" / "C01.xlsx")
    assert "毕业生 graduates" in college.sheetnames
    office = load_workbook(tmp_path / "out" / "consortium.xlsx")
    assert "证据清单 evidence" in office.sheetnames and "面板 panel" not in office.sheetnames
    info = " ".join(str(c.value) for row in office["说明 Instructions"].iter_rows() for c in row if c.value)
    assert "Example" in info and "示例" in info
    assert set(tables_for("park")) == {"units", "panel"}
    with pytest.raises(Exception):
        write_unit_templates(tmp_path / "units.csv", tmp_path / "out")  # no overwrite without --force


def test_every_message_has_both_languages():
    import evalkit.data.messages  # noqa: F401
    import evalkit.data.rules_zh  # noqa: F401

    for code in i18n.codes():
        zh, en = i18n._CATALOGUE[code]
        assert zh.strip() and en.strip(), code
        if code.startswith(("rule.", "collect.", "cli.")):
            assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), code


@pytest.mark.parametrize("case", sorted(p.name for p in CORPUS.iterdir() if (p / "expected.yaml").exists()))
def test_validate_lang_zh_prints_chinese_for_every_rule(case, capsys):
    from evalkit.data.rules_zh import known, translate

    report = validate(CORPUS / case)
    main(["validate", str(CORPUS / case), "--lang", "zh"])
    out = capsys.readouterr().out
    for p in report.problems + report.warnings:
        assert known(p.rule), p.rule
        assert translate(p.rule, "zh") in out
    expected = yaml.safe_load((CORPUS / case / "expected.yaml").read_text(encoding="utf-8"))
    assert ("通过" in out) is expected["ok"]


def test_academic_years_are_periods():
    p = parse_period("2023-2024学年")
    assert p == parse_period("2023/24") and p.freq == "academic_year"
    assert (p.start.isoformat(), p.end.isoformat()) == ("2023-09-01", "2024-08-31")
    assert parse_period("2011-12").freq == "month"


def test_academic_year_dataset_validates_and_reviews(tmp_path):
    from conftest import render_review

    assert main(["synth", "--frequency", "academic_year", "--out", str(tmp_path / "ay")]) == 0
    assert main(["validate", str(tmp_path / "ay"), "--lang", "en"]) == 0
    data = load(tmp_path / "ay")
    assert data.frequency == "academic_year" and data.periods[0].label == "2019-2020学年"
    review = render_review(Path(__file__).parents[1] / "params" / "phase2.yaml", data_dir=tmp_path / "ay")
    a = review.analysis
    # as of the window's end (2025-06-30) the last complete academic year is 2023-2024 (ends 2024-08-31)
    assert a.dataset.periods[-1].label == "2023-2024学年"
    results = review.results()
    assert results["tables"]["targets"] and all(t["basis"] == "end" for t in results["targets"])


def test_codebook_html_and_xlsx(returns, tmp_path):
    ref = returns / "reference"
    assert main(["codebook", str(ref), "--out", str(tmp_path / "cb.html")]) == 0
    page = (tmp_path / "cb.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "65%" in page and "在校生数" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert main(["codebook", str(ref), "--out", str(tmp_path / "cb.xlsx")]) == 0
    assert "variables" in load_workbook(tmp_path / "cb.xlsx").sheetnames
    assert main(["codebook", str(ref), "--out", str(tmp_path / "cb.html")]) == 2  # no overwrite

"""The malformed-input corpus: every case fails with its expected problem (file, row as the user
sees it, column, rule) and the CLI exits 2 without a traceback; the valid cases pass."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evalkit.cli import main
from evalkit.data.dataset import load, validate
from evalkit.errors import DataError

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and (p / "expected.yaml").exists())
sys.path.insert(0, str(CORPUS))
import make_corpus  # noqa: E402


def _expected(case: str) -> dict:
    return yaml.safe_load((CORPUS / case / "expected.yaml").read_text(encoding="utf-8"))


def _matches(problem, exp: dict) -> bool:
    return (problem.file == exp["file"]
            and (exp["row"] is None or problem.row == exp["row"])
            and (exp["column"] is None or (problem.column is not None and exp["column"] in problem.column))
            and exp["rule"] in problem.rule)


def test_corpus_is_large_enough_and_committed_bytes_match_the_generator():
    failing = [c for c in CASES if not _expected(c)["ok"]]
    assert len(failing) >= 20
    for name, (files, expected) in make_corpus.cases().items():
        folder = CORPUS / name
        assert _expected(name) == expected, name
        for fname, data in files.items():
            assert (folder / fname).read_bytes() == data, f"{name}/{fname} differs from make_corpus.py"


@pytest.mark.parametrize("case", CASES)
def test_case_gives_expected_problems(case, capsys):
    exp = _expected(case)
    report = validate(CORPUS / case)
    assert report.ok is exp["ok"], report.format()
    for e in exp["errors"]:
        assert any(_matches(p, e) for p in report.problems), f"{case}: expected {e}\n{report.format()}"
    if not exp["ok"]:
        with pytest.raises(DataError) as info:
            load(CORPUS / case)
        assert info.value.problems == report.problems
    code = main(["validate", str(CORPUS / case)])
    out = capsys.readouterr()
    assert code == (0 if exp["ok"] else 2)
    assert "Traceback" not in out.out + out.err
    for e in exp["errors"]:
        assert e["rule"] in out.out


def test_problems_are_all_collected_not_just_the_first(tmp_path):
    rows = make_corpus.panel_rows()
    rows = make_corpus.replace_row(rows, 3, "C01,2022H2,abc,50,0,0,0,")
    rows = make_corpus.replace_row(rows, 10, "C02,2023H2,820,-1,0,0,0,")
    units = make_corpus.UNITS.replace("C02,college", "C02,school")
    for name, data in make_corpus.base(units=units, panel=make_corpus.panel_text(rows)).items():
        (tmp_path / name).write_bytes(data)
    report = validate(tmp_path)
    found = {(p.file, p.row, p.column) for p in report.problems}
    assert {("panel.csv", 3, "students"), ("panel.csv", 10, "teachers"), ("units.csv", 3, "unit_type")} <= found


def test_many_bad_rows_are_summarised(tmp_path):
    rows = [r.replace(",50,", ",x,") if r.startswith("C01") else r for r in make_corpus.panel_rows()]
    for name, data in make_corpus.base(panel=make_corpus.panel_text(rows)).items():
        (tmp_path / name).write_bytes(data)
    report = validate(tmp_path)
    assert [p.row for p in report.problems if p.column == "teachers"] == [2, 3, 4, 5, 6, 7]


# ---------------------------------------------------------------------------- Excel cases
def _base_workbook(path: Path, merged_panel_header: str | None = None):
    """units and panel of the base case as one workbook; optionally with merged header cells."""
    import csv
    import io

    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "单位"
    for rec in csv.reader(io.StringIO(make_corpus.UNITS)):
        ws.append(rec)
    ws = book.create_sheet("面板")
    records = list(csv.reader(io.StringIO(make_corpus.panel_text())))
    header = records[0]
    if merged_panel_header == "across":
        # "graduates" header merged over two data columns: the second column has no name.
        ws.append(header)
        ws.merge_cells("E1:F1")
    elif merged_panel_header == "group":
        # a title row of merged group cells, and unit_id / period merged down over two header rows
        ws.append(["单位代码", "统计期", "背景 context", None, "毕业生 graduates", None, None, "企业"])
        ws.append([None, None, *header[2:]])
        ws.merge_cells("A1:A2")
        ws.merge_cells("B1:B2")
        ws.merge_cells("C1:D1")
        ws.merge_cells("E1:G1")
    else:
        ws.append(header)
    for rec in records[1:]:
        ws.append([None if v == "" else (float(v) if k >= 2 else v) for k, v in enumerate(rec)])
    info = book.create_sheet("说明 Instructions", 0)
    info["A1"] = "instructions are ignored by the loader"
    book.save(path)
    return path


def test_workbook_valid_with_instructions_sheet(tmp_path):
    ds = load(_base_workbook(tmp_path / "data.xlsx"))
    assert len(ds.units) == 4 and len(ds.panel) == 24
    assert ds.panel.loc[ds.panel["unit_id"].eq("C01") & ds.panel["period"].eq("2022H1"), "students"].item() == 1000


def test_merged_group_header_rows_are_read(tmp_path):
    path = _base_workbook(tmp_path / "data.xlsx", merged_panel_header="group")
    ds = load(path)
    assert len(ds.panel) == 24
    assert ds.panel["students"].notna().sum() == 12
    # a data error is reported on the Excel row the user sees: header on row 2, first data on row 3
    from openpyxl import load_workbook

    book = load_workbook(path)
    book["面板"]["C5"] = "many"
    book.save(path)
    report = validate(path)
    assert [(p.file, p.row, p.column) for p in report.problems] == [("data.xlsx[面板]", 5, "students")]


def test_merged_header_across_data_columns_is_an_error(tmp_path, capsys):
    path = _base_workbook(tmp_path / "data.xlsx", merged_panel_header="across")
    report = validate(path)
    assert not report.ok
    assert any("merged header cell" in p.rule and p.row == 1 and p.column == "E1:F1" for p in report.problems)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


def test_corrupt_and_empty_workbooks(tmp_path, capsys):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a zip file")
    report = validate(bad)
    assert any("cannot open the Excel workbook" in p.rule for p in report.problems)
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "units"
    book.create_sheet("panel")
    empty = tmp_path / "empty.xlsx"
    book.save(empty)
    report = validate(empty)
    assert any(p.file == "empty.xlsx[units]" and "empty" in p.rule for p in report.problems)
    for path in (bad, empty):
        assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


def test_missing_path_exits_2_without_traceback(tmp_path, capsys):
    with pytest.raises(FileNotFoundError):
        validate(tmp_path / "nope")
    assert main(["validate", str(tmp_path / "nope")]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err and "nope" in out.err


def test_a_single_csv_instead_of_a_folder(capsys):
    assert main(["validate", str(CORPUS / "valid_base" / "units.csv")]) == 2
    assert "give the folder" in capsys.readouterr().out


def test_cli_subprocess_exit_code_and_no_traceback():
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "evalkit.cli", "validate", str(CORPUS / "encoding_utf16")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "UTF-16" in proc.stdout and "units.csv" in proc.stdout


def test_title_row_shifts_reported_rows(tmp_path):
    """A title line above the header: rows stay those of the file (header on row 2, data from 3)."""
    rows = make_corpus.replace_row(make_corpus.panel_rows(), 5, "C01,2023H2,约1000,50,0,0,0,")
    files = make_corpus.base(panel="株洲市 面板数据,,\n" + make_corpus.panel_text(rows))
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (problem,) = validate(tmp_path).problems
    assert (problem.row, problem.column) == (6, "students")
    ragged = make_corpus.replace_row(make_corpus.panel_rows(), 7, "C01,2024H2,1050,50,0,0,0,,extra,fields")
    (tmp_path / "panel.csv").write_bytes(("title\n" + make_corpus.panel_text(ragged)).encode())
    assert [p.row for p in validate(tmp_path).problems] == [8]

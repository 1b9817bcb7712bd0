"""The Excel template: structure, drop-downs, round trip through load(), Excel row numbers; and
the data dictionary in data/README.md generated from the schema."""
from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from evalkit import schema
from evalkit.cli import main
from evalkit.data.dataset import load, validate
from evalkit.errors import ChoiceError
from evalkit.data.template import ITEMS_SHEET, SHEET_NAMES, header_text, schema_markdown, write_template

README = Path(__file__).resolve().parents[1] / "data" / "README.md"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "template.xlsx")


@pytest.mark.parametrize("lang", ["bilingual", "zh", "en"])
def test_every_header_reads_back_as_its_column(lang):
    for table, columns in schema.TABLES.items():
        for column in columns:
            assert schema.canonical_header(table, header_text(column, lang)) == column.name


def test_header_examples():
    students = schema.column("panel", "students")
    assert header_text(students) == "在校生数 students (人)"
    assert header_text(students, "zh") == "在校生数 (人)"
    assert header_text(students, "en") == "students (persons)"
    with pytest.raises(ChoiceError, match="^lang must be one of 'bilingual', 'zh', 'en'; got 'fr'$"):
        header_text(students, "fr")
    with pytest.raises(ChoiceError, match="^lang must be one of 'bilingual', 'zh', 'en'; got 'de'$"):
        write_template("x.xlsx", lang="de")


def test_workbook_structure(template):
    book = load_workbook(template)
    assert book.sheetnames == ["说明 Instructions", "列说明 Columns", *SHEET_NAMES.values(), ITEMS_SHEET]
    info = "\n".join(str(c.value) for row in book["说明 Instructions"].iter_rows() for c in row if c.value)
    for phrase in ("2024H1", "流量", "flow", "不填比率", "never rates", "匿名编号", "pseudonymous", "evalkit validate"):
        assert phrase in info
    panel = book["面板 panel"]
    assert [c.value for c in panel[2]][:3] == ["单位代码 unit_id", "统计期 period", "在校生数 students (人)"]
    assert panel.freeze_panes == "C3" and book["单位 units"].freeze_panes == "B3"
    assert any(str(r) == "C1:F1" for r in panel.merged_cells.ranges)  # the "context" group title
    assert panel.column_dimensions["C"].width >= 12
    lists = {}
    for sheet in SHEET_NAMES.values():
        for dv in book[sheet].data_validations.dataValidation:
            if dv.type == "list":
                lists[(sheet, str(dv.sqref).split(":")[0])] = dv.formula1
    assert "院校 college" in lists[("单位 units", "B3")] and "北斗应用 beidou" in lists[("单位 units", "E3")]
    assert lists[("单位 units", "H3")] == '"1,0"'  # lead: yes/no
    assert "订单班 order_class" in lists[("校企合作 partnerships", "D3")]
    assert lists[("毕业生 graduates", "E3")] == '"1,0"'  # placed
    assert panel["C2"].comment is not None and "stock" in panel["C2"].comment.text


def _fill(path: Path, bad: bool = False) -> Path:
    book = load_workbook(path)
    units = book["单位 units"]
    units.append(["C01", "院校 college", "湖南铁道职院", "Hunan Railway", "轨道交通装备 rail_transit", "2023-12-05",
                  "株洲", 1, None])
    units.append(["C02", "院校 college", "某职院", None, "无 none", None, "长沙", 0, None])
    units.append(["E01", "企业 enterprise", "中车株机", "CRRC", "轨道交通装备 rail_transit", "2024-03-01", "株洲", 1,
                  None])
    panel = book["面板 panel"]
    names = [c.name for c in schema.TABLES["panel"]]
    for uid in ("C01", "C02", "E01"):
        for k, period in enumerate(("2023H1", "2023H2", "2024H1", "2024H2")):
            row = dict(unit_id=uid, period=period)
            if uid.startswith("C"):
                row.update(students=1000 + k, teachers=50, graduates=300 if k % 2 == 0 else 0)
                row["graduates_placed"] = 280 if k % 2 == 0 else 0
            else:
                row.update(output_value=5000.5 + k, employees=900)
            panel.append([row.get(n) for n in names])
    grads = book["毕业生 graduates"]
    grads.append(["g1", "C01", "轨道交通", "2023H1", 1, 1, 0, 1, 4800])
    grads.append(["g2", "C02", "机电", "2023H1", 0, None, None, None, None])
    if bad:
        panel["C5"] = "about 1000"  # third data row of the panel
        units["B4"] = "university"  # second unit
        grads["E4"] = "maybe"
    out = path.with_name("filled_bad.xlsx" if bad else "filled.xlsx")
    book.save(out)
    return out


def test_filled_template_loads(template):
    ds = load(_fill(template))
    assert ds.frequency == "half" and len(ds.units) == 3 and len(ds.panel) == 12
    assert ds.units["unit_type"].tolist() == ["college", "college", "enterprise"]
    assert ds.units["alliance"].tolist() == ["rail_transit", "none", "rail_transit"]
    assert ds.units["cohort"].tolist()[0] == "2023H2"
    c01 = ds.panel[ds.panel["unit_id"] == "C01"]
    assert c01["students"].tolist() == [1000, 1001, 1002, 1003] and c01["t"].tolist() == [1, 2, 3, 4]
    assert ds.panel.loc[ds.panel["unit_id"] == "E01", "output_value"].tolist() == [5000.5, 5001.5, 5002.5, 5003.5]
    assert ds.graduates["graduate_id"].tolist() == ["g1", "g2"]
    assert ds.partnerships is None  # the empty sheet means "not provided"
    assert any("partnerships" in w.file and "no data rows" in w.rule for w in ds.warnings)


def test_bad_fill_reports_excel_rows(template, capsys):
    path = _fill(template, bad=True)
    report = validate(path)
    found = {(p.file, p.row, p.column.split(" [")[-1].rstrip("]")) for p in report.problems}
    assert found == {
        ("filled_bad.xlsx[面板 panel]", 5, "students"),
        ("filled_bad.xlsx[单位 units]", 4, "unit_type"),
        ("filled_bad.xlsx[毕业生 graduates]", 4, "placed"),
    }
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err and "在校生数 students (人) [students]" in out.out


def test_cli_template(tmp_path, capsys):
    assert main(["template", str(tmp_path / "t.xlsx")]) == 0
    assert (tmp_path / "t.xlsx").exists()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_monolingual_templates_load(tmp_path, lang):
    path = write_template(tmp_path / f"{lang}.xlsx", lang=lang)
    book = load_workbook(path)
    book["单位 units"].append(["A", "college" if lang == "en" else "院校", "甲"])
    book["面板 panel"].append(["A", "2024", 10])
    book.save(path)
    ds = load(path)
    assert ds.units["unit_type"].tolist() == ["college"] and ds.panel["students"].tolist() == [10.0]


def test_schema_markdown_lists_every_column():
    text = schema_markdown()
    for table, columns in schema.TABLES.items():
        assert f"### {table} — {schema.TABLES_ZH[table]}" in text
        for c in columns:
            assert f"| `{c.name}` | {c.zh} |" in text
    assert "| `graduates_placed` | 毕业去向落实人数 | float | 人 (persons) | flow | ≤ `graduates`; ≥ 0 |" in text


def test_readme_contains_the_generated_tables():
    if not README.exists():
        pytest.fail("data/README.md is missing")
    text = README.read_text(encoding="utf-8")
    assert schema_markdown() in text, "data/README.md drifted from schema.py: paste template.schema_markdown()"
    assert "data/zhuzhou_synthetic/README.md" in text or "zhuzhou_synthetic/README.md" in text

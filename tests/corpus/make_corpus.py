"""Writes the malformed-input corpus (CSV cases) from one small valid dataset.

The committed bytes are what the tests read (encodings matter: the GBK case is GBK on disk);
this script documents how they were made. Re-run with ``python tests/corpus/make_corpus.py``.
Each case folder has ``expected.yaml``: ``ok`` and the problems it must produce (file, row as a
spreadsheet shows it, column, a substring of the rule). XLSX cases are built in the test.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

HERE = Path(__file__).parent

UNITS = """unit_id,unit_type,name_zh,name_en,alliance,member_since,city,lead
C01,college,湖南铁道职院,Hunan Railway Professional Technology College,rail_transit,2023-12-05,株洲,1
C02,college,长沙某职院,A Changsha college,none,,长沙,0
E01,enterprise,中车株机,CRRC Zhuzhou Electric Locomotive,rail_transit,2024-03-01,株洲,1
E02,enterprise,长沙某企业,A Changsha enterprise,none,,长沙,0
"""
PERIODS = ["2022H1", "2022H2", "2023H1", "2023H2", "2024H1", "2024H2"]
PANEL_HEADER = "unit_id,period,students,teachers,graduates,graduates_placed,graduates_local,output_value"


def panel_rows() -> list[str]:
    rows = []
    for uid, students, teachers in (("C01", 1000, 50), ("C02", 800, 40)):
        for k, p in enumerate(PERIODS):
            grads = 300 if p.endswith("H1") else 0
            rows.append(f"{uid},{p},{students + 10 * k},{teachers},{grads},{int(grads * 0.9)},{int(grads * 0.4)},")
    for uid, output in (("E01", 52000), ("E02", 8000)):
        for k, p in enumerate(PERIODS):
            rows.append(f"{uid},{p},,,,,,{output + 100 * k}")
    return rows  # C01 on rows 2-7, C02 8-13, E01 14-19, E02 20-25 of panel.csv


GRADUATES = """graduate_id,college_id,major,cohort,placed,local,member_enterprise,job_match,income
g0001,C01,轨道交通,2022H1,1,1,1,1,4800
g0002,C01,轨道交通,2022H1,1,0,0,1,
g0003,C02,机电,2022H1,0,,,,
"""
PARTNERSHIPS = """partnership_id,college_id,enterprise_id,kind,start_date,end_date,students
P01,C01,E01,order_class,2024-01-01,,30
P02,C01,E01,apprenticeship,2023-09-01,2025-06-30,40
"""


def panel_text(rows=None, header=PANEL_HEADER) -> str:
    return header + "\n" + "\n".join(rows if rows is not None else panel_rows()) + "\n"


def replace_row(rows: list[str], csv_row: int, text: str) -> list[str]:
    """Replace the record shown on spreadsheet row ``csv_row`` (header is row 1)."""
    out = list(rows)
    out[csv_row - 2] = text
    return out


def base(units: str = UNITS, panel: str | None = None, graduates: str | None = GRADUATES,
         partnerships: str | None = PARTNERSHIPS) -> dict[str, bytes]:
    files = {"units.csv": units.encode(), "panel.csv": (panel or panel_text()).encode()}
    if graduates is not None:
        files["graduates.csv"] = graduates.encode()
    if partnerships is not None:
        files["partnerships.csv"] = partnerships.encode()
    return files


def err(file, row, column, rule):
    return {"file": file, "row": row, "column": column, "rule": rule}


def cases() -> dict[str, tuple[dict[str, bytes], dict]]:
    rows = panel_rows()
    out: dict[str, tuple[dict[str, bytes], dict]] = {}

    def add(name, files, errors=(), ok=False, warnings=()):
        out[name] = (files, {"ok": ok, "errors": list(errors), "warnings": list(warnings)})

    add("valid_base", base(), ok=True)
    add("valid_bom", {**base(), "units.csv": UNITS.encode("utf-8-sig")}, ok=True)
    zh_units = UNITS.replace("unit_id,unit_type,name_zh,name_en,alliance,member_since,city,lead",
                             "单位代码,单位类型,单位名称,英文名称,所属联盟,加入时间,所在城市,牵头单位")
    zh_panel = panel_text(header="单位代码,统计期,在校生数,专任教师数,毕业生数,毕业去向落实人数,本地就业人数,企业产值")
    add("valid_gbk", {"单位.csv": zh_units.encode("gbk"), "面板.csv": zh_panel.encode("gb18030")}, ok=True)
    add("valid_title_row", {**base(), "units.csv": ("株洲市产教联合体 单位信息表,,,\n" + UNITS).encode()}, ok=True)
    add("encoding_utf16", {**base(), "units.csv": UNITS.encode("utf-16")},
        [err("units.csv", None, None, "UTF-16")])
    # Latin-1 bytes that are neither UTF-8 nor GB18030 ("é," is not a valid GB18030 pair).
    latin = ("unit_id,unit_type,name_zh,name_en,alliance,member_since,city,lead\n"
             "C01,college,École Hunan,Café,rail_transit,2023-12-05,Zhuzhou,1\n"
             "C02,college,Collège,Garçon,none,,Changsha,0\n")
    add("encoding_latin1", {**base(), "units.csv": latin.encode("latin-1")},
        [err("units.csv", None, None, "neither UTF-8 nor GBK")])
    add("empty_file", {**base(), "panel.csv": b""}, [err("panel.csv", None, None, "empty")])
    add("header_only", {**base(), "units.csv": UNITS.splitlines()[0].encode() + b"\n"},
        [err("units.csv", 1, None, "no data rows")])
    add("text_in_numeric", base(panel=panel_text(replace_row(rows, 5, "C01,2023H2,约1000,50,0,0,0,"))),
        [err("panel.csv", 5, "students", "not a number")])
    add("negative_count", base(panel=panel_text(replace_row(rows, 9, "C02,2022H2,810,-3,0,0,0,"))),
        [err("panel.csv", 9, "teachers", "must be ≥ 0")])
    add("numerator_gt_denominator", base(panel=panel_text(replace_row(rows, 2, "C01,2022H1,1000,50,300,320,100,"))),
        [err("panel.csv", 2, "graduates_placed", "must not exceed graduates")])
    add("duplicate_unit_id", base(units=UNITS + "C01,college,重复,Duplicate,none,,株洲,0\n"),
        [err("units.csv", 6, "unit_id", "duplicate unit_id: already in row 2")])
    add("duplicate_unit_period", base(panel=panel_text(rows + ["C01,2022H1,1000,50,300,270,120,"])),
        [err("panel.csv", 26, "period", "duplicate (unit_id, period): already in row 2")])
    add("unknown_unit_panel", base(panel=panel_text(rows + ["X99,2022H1,10,1,0,0,0,"])),
        [err("panel.csv", 26, "unit_id", "unknown unit")])
    add("unknown_unit_graduates", base(graduates=GRADUATES + "g0004,X99,机电,2022H1,1,1,0,1,3900\n"),
        [err("graduates.csv", 5, "college_id", "unknown unit")])
    add("bad_date", base(units=UNITS.replace("2023-12-05", "2023-13-45")),
        [err("units.csv", 2, "member_since", "not a date")])
    add("bad_period", base(panel=panel_text(replace_row(rows, 4, "C01,2023H3,1020,50,300,270,120,"))),
        [err("panel.csv", 4, "period", "not a period label")])
    add("mixed_frequencies", base(panel=panel_text(replace_row(rows, 20, "E02,2022,,,,,,8000"))),
        [err("panel.csv", 20, "period", "mixed frequencies")])
    add("member_since_outside_range", base(units=UNITS.replace("2024-03-01", "2030-01-01")),
        [err("units.csv", 4, "member_since", "outside the data range")])
    add("unknown_category", base(units=UNITS.replace("C02,college", "C02,university")),
        [err("units.csv", 3, "unit_type", "unknown category")])
    no_period = "\n".join(",".join(f for k, f in enumerate(line.split(",")) if k != 1)
                          for line in panel_text().splitlines()) + "\n"
    add("missing_required_column", base(panel=no_period), [err("panel.csv", 1, "period", "required column")])
    files = base()
    del files["units.csv"]
    add("missing_required_table", files, [err("units", None, None, "required table 'units'")])
    add("partnership_end_before_start", base(partnerships=PARTNERSHIPS.replace("2025-06-30", "2023-06-30")),
        [err("partnerships.csv", 3, "end_date", "end_date is before start_date")])
    add("rate_outside_unit_interval",
        base(panel=panel_text([r + (",95" if k == 0 else ",0.9") for k, r in enumerate(rows)],
                              header=PANEL_HEADER + ",就业率")),
        [err("panel.csv", 2, "就业率", "rate outside [0, 1]")])
    add("bad_boolean", base(graduates=GRADUATES.replace("g0002,C01,轨道交通,2022H1,1,0", "g0002,C01,轨道交通,2022H1,maybe,0")),
        [err("graduates.csv", 3, "placed", "not a yes/no value")])
    add("duplicate_graduate_id", base(graduates=GRADUATES + "g0001,C02,机电,2022H1,1,1,0,1,4000\n"),
        [err("graduates.csv", 5, "graduate_id", "duplicate graduate_id: already in row 2")])
    add("partner_wrong_unit_type", base(partnerships=PARTNERSHIPS.replace("P01,C01,E01", "P01,C01,C02")),
        [err("partnerships.csv", 2, "enterprise_id", "must be a unit of type enterprise")])
    add("ragged_row", base(panel=panel_text(replace_row(rows, 7, "C01,2024H2,1050,50,0,0,0,,extra,fields"))),
        [err("panel.csv", 7, None, "ragged row")])
    add("graduate_cohort_frequency", base(graduates=GRADUATES.replace("g0003,C02,机电,2022H1", "g0003,C02,机电,2022")),
        [err("graduates.csv", 4, "cohort", "graduate cohort frequency")])
    add("declared_frequency_mismatch", {**base(), "dataset.yaml": b"name_zh: test\nfrequency: year\n"},
        [err("panel.csv", 2, "period", "declared frequency")])
    add("local_without_placed", base(graduates=GRADUATES.replace("g0003,C02,机电,2022H1,0,,", "g0003,C02,机电,2022H1,0,1,")),
        [err("graduates.csv", 4, "local", "local = 1 needs placed = 1")])
    add("old_excel_format", {**base(), "面板.xls": b"\xd0\xcf\x11\xe0 not really excel"},
        [err("面板.xls", None, None, "old Excel format")])
    return out


def write(root: Path = HERE) -> list[str]:
    names = []
    for name, (files, expected) in cases().items():
        folder = root / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for fname, data in files.items():
            (folder / fname).write_bytes(data)
        (folder / "expected.yaml").write_text(yaml.safe_dump(expected, allow_unicode=True, sort_keys=False),
                                              encoding="utf-8")
        names.append(name)
    return names


if __name__ == "__main__":
    print("\n".join(write()))

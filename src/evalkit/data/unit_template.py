"""Workbooks per kind of unit (issue 14): what a college, an enterprise, the park, an industrial
college or the consortium office reports, and nothing else.

``evalkit template --units units.csv --out outbox/`` writes one workbook per unit of the list
(``<unit_id>.xlsx``, the unit's row of the units sheet pre-filled, the panel's keys pre-filled
for ``--periods``) and one for the consortium office (``consortium.xlsx``: the evidence
checklist and its items). A unit's workbook holds only the panel variables whose ``applies_to``
names its kind; colleges also get the graduates and partnerships sheets. Every sheet has Excel
data validation (lists for codes and yes/no, numbers ≥ 0, dates, the expected periods) and the
instructions sheet shows bilingual guidance and an example row. The workbooks are read back by
:func:`evalkit.data.dataset.load` (one workbook) and :mod:`evalkit.data.collect` (an inbox).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from evalkit.data import schema
from evalkit.data.raw import Collector, RawTable
from evalkit.data.template import (
    _TYPE_TEXT,
    ACADEMIC_YEAR_EN,
    ACADEMIC_YEAR_ZH,
    FIRST_DATA_ROW,
    HEADER_ROW,
    ITEMS_SHEET,
    SHEET_NAMES,
    _choices,
    _items_sheet,
    _note,
    header_text,
)
from evalkit.errors import DataError, Problem, check_choice

OFFICE = schema.CONSORTIUM_UNIT  # the consortium office's workbook: consortium.xlsx
KINDS = (*schema.UNIT_TYPES, OFFICE)
KINDS_ZH = {**schema.UNIT_TYPES_ZH, OFFICE: "联合体秘书处"}
ROWS = 2000  # rows carrying data validation below the header
DATE_MIN, DATE_MAX = "1990-01-01", "2100-12-31"

_GENERAL = (
    (
        "本工作簿只包含贵单位需要填报的表和列。第 2 行为列名（中英文及计量单位），从第 3 行起每行一条记录；"
        "请勿修改列名、合并单元格或插入合计行。灰色说明见列名批注。",
        "This workbook holds only the tables and columns your unit reports. Row 2 names the columns (Chinese, "
        "English, unit); fill one record per row from row 3. Do not rename headers, merge cells or add total "
        "rows; each header's note explains the column.",
    ),
    (
        "面板表：每个统计期一行；流量填本期发生数，存量填期末数；只填分子和分母，不填比率；未统计留空，0 表示确实为零。",
        "panel: one row per period; a flow is what happened within the period, a stock the count at its end; "
        "give numerators and denominators, never rates; leave a cell empty when not collected (0 means zero).",
    ),
    (
        f"统计期写法：年 2024；半年 2024H1、2024H2；季度 2024Q3；月 2024-07；{ACADEMIC_YEAR_ZH}。",
        f"Periods: year 2024; half-year 2024H1, 2024H2; quarter 2024Q3; month 2024-07; {ACADEMIC_YEAR_EN}.",
    ),
    (
        "填好后请原样交回本文件（可先运行 evalkit validate 文件名.xlsx 自查）。",
        "Return this file as it is when done (you may check it first with `evalkit validate FILE.xlsx`).",
    ),
)
_BY_KIND = {
    "college": (
        "院校：填写面板（在校生、教师、实训基地、毕业去向等）、毕业生（每名毕业生一行，匿名编号）和校企合作表。",
        "College: fill the panel (students, teachers, training bases, graduate destinations, …), graduates (one "
        "row per graduate, pseudonymous id) and partnerships.",
    ),
    "enterprise": (
        "企业：填写面板中的企业指标（职工、研发、接收学生等）。",
        "Enterprise: fill the panel's enterprise figures (employees, R&D, students hosted, …).",
    ),
    "park": (
        "园区：填写面板中的园区指标（产值、企业数等）。",
        "Park: fill the panel's park figures (output, firms, …).",
    ),
    "industrial_college": (
        "产业学院：核对单位表中的信息（依托单位等）并填写校企合作表；面板数据由依托院校填报。",
        "Industrial college: check your row of the units sheet (hosting unit, …) and fill the partnerships; panel "
        "figures are reported by the hosting college.",
    ),
    OFFICE: (
        "联合体秘书处：填写证据清单（每个条目每个截至日期一行，状态与佐证材料），条目见“清单条目 Items”工作表。",
        "Consortium office: fill the evidence checklist (one row per item and as-of date: status and evidence), "
        "items on the sheet 清单条目 Items.",
    ),
}


def tables_for(kind: str) -> dict[str, tuple[schema.Column, ...]]:
    """The tables and columns a kind of unit reports (``applies_to`` of the panel variables)."""
    check_choice("kind", kind, KINDS)
    if kind == OFFICE:
        return {"evidence": schema.EVIDENCE}
    variables = tuple(c for c in schema.PANEL_VARIABLES if kind in c.applies_to)
    out: dict[str, tuple[schema.Column, ...]] = {"units": schema.UNITS, "panel": schema.PANEL_KEYS + variables}
    if kind == "college":
        out["graduates"] = schema.GRADUATES
    if kind in ("college", "industrial_college"):
        out["partnerships"] = schema.PARTNERSHIPS
    return out


def file_name(unit_id: str) -> str:
    """``<unit_id>.xlsx`` with characters a file name cannot hold replaced by ``_``."""
    return (re.sub(r"[^\w.\-]", "_", str(unit_id)).strip(".") or "_") + ".xlsx"


def _validation(column: schema.Column, table: str, periods: list[str] | None):
    from openpyxl.worksheet.datavalidation import DataValidation

    if table == "evidence" and column.name == "status":
        return DataValidation(type="list", formula1='"0,1,2,3"', allow_blank=False)
    if column.dtype == "category":
        return DataValidation(
            type="list", formula1='"' + ",".join(_choices(column, "bilingual")) + '"', allow_blank=True
        )
    if column.dtype == "bool":
        return DataValidation(type="list", formula1='"1,0"', allow_blank=True)
    if column.dtype in ("float", "int"):
        return DataValidation(
            type="decimal" if column.dtype == "float" else "whole",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
        )
    if column.dtype == "date":
        return DataValidation(
            type="date", operator="between", formula1=f'DATEVALUE("{DATE_MIN}")', formula2=f'DATEVALUE("{DATE_MAX}")'
        )
    if column.dtype == "period" and periods and len(",".join(periods)) < 250:
        return DataValidation(type="list", formula1='"' + ",".join(periods) + '"', allow_blank=False)
    return None


def _example(columns: tuple[schema.Column, ...], unit_id: str) -> list[object]:
    values: list[object] = []
    for k, c in enumerate(columns):
        if c.name in ("unit_id", "college_id"):
            values.append(unit_id)
        elif c.dtype == "period":
            values.append("2024H1")
        elif c.dtype in ("float", "int"):
            values.append(10 * (k + 1) if not c.le else 5 * (k + 1) // 10)
        elif c.dtype == "bool":
            values.append(1)
        elif c.dtype == "date":
            values.append("2024-03-01")
        elif c.categories:
            values.append(c.categories[0])
        else:
            values.append("…")
    return values


def write_unit_workbook(
    path: str | Path,
    kind: str,
    *,
    unit: dict | None = None,
    periods: list[str] | None = None,
    data: dict[str, pd.DataFrame] | None = None,
    force: bool = False,
) -> Path:
    """Write the workbook of one unit of ``kind`` (or the office, ``kind="consortium"``).

    ``unit``: the unit's row of the units list (pre-filled on the units sheet); ``periods``:
    period labels pre-filled as panel keys (and offered as a list); ``data``: table → rows to
    fill in (the synthetic consortium's returns). Refuses to replace a file without ``force``.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from evalkit.safe_io import atomic_write_bytes, check_output, neutralise_worksheet

    tables = tables_for(kind)
    path = check_output(Path(path), force=force, kind="file")
    unit = {k: v for k, v in (unit or {}).items() if not (v is None or (isinstance(v, float) and v != v))}
    unit_id = str(unit.get("unit_id", OFFICE if kind == OFFICE else ""))
    book = Workbook()
    ws = book.active
    ws.title = "说明 Instructions"
    ws.column_dimensions["A"].width = 70
    ws.column_dimensions["B"].width = 90
    wrap = Alignment(wrap_text=True, vertical="top")
    title = (f"{KINDS_ZH[kind]}数据填报 {unit_id} {unit.get('name_zh', '')}".strip(), f"Data return: {kind} {unit_id}")
    for i, (zh, en) in enumerate((title, *_GENERAL, _BY_KIND[kind]), start=1):
        ws.cell(i, 1, zh).alignment = wrap
        ws.cell(i, 2, en).alignment = wrap
    ws.cell(1, 1).font = ws.cell(1, 2).font = Font(bold=True, size=14)
    row = len(_GENERAL) + 4
    main = "evidence" if kind == OFFICE else "panel"
    ws.cell(row, 1, f"示例：{schema.TABLES_ZH[main]}表中一行的填法 / Example: one row of the {main} sheet").font = Font(
        bold=True
    )
    for j, (column, value) in enumerate(zip(tables[main], _example(tables[main], unit_id)), start=1):
        ws.cell(row + 1, j + 2, header_text(column)).font = Font(bold=True)
        ws.cell(row + 2, j + 2, value)
    fills = {True: PatternFill("solid", fgColor="FFE699"), False: PatternFill("solid", fgColor="DDEBF7")}
    for table, columns in tables.items():
        sheet = book.create_sheet(SHEET_NAMES[table])
        sheet.cell(1, 1, f"{schema.TABLES_ZH[table]} {table} — {unit_id}").font = Font(bold=True)
        for j, column in enumerate(columns, start=1):
            letter = get_column_letter(j)
            cell = sheet.cell(HEADER_ROW, j, header_text(column))
            cell.font = Font(bold=True)
            cell.fill = fills[column.required]
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            cell.comment = Comment(_note(column, table), "evalkit", width=320, height=180)
            sheet.column_dimensions[letter].width = 18
            if column.dtype in ("period", "str"):
                sheet.column_dimensions[letter].number_format = "@"
            dv = _validation(column, table, periods)
            if dv is not None:
                dv.error = f"{column.zh} {column.name}: " + _TYPE_TEXT[column.dtype]
                dv.errorTitle = "evalkit"
                dv.showErrorMessage = True
                sheet.add_data_validation(dv)
                dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{FIRST_DATA_ROW + ROWS - 1}")
        frame = _prefill(table, columns, unit, unit_id, periods, (data or {}).get(table))
        names = [c.name for c in columns]
        for i, record in enumerate(frame.itertuples(index=False), start=FIRST_DATA_ROW):
            for j, value in enumerate(record, start=1):
                if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
                    continue
                sheet.cell(i, j, value.item() if hasattr(value, "item") else value)
        del names
        sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, len(schema.KEYS[table]) + 1).coordinate
    if kind == OFFICE:
        _items_sheet(book.create_sheet(ITEMS_SHEET), "bilingual")
    for sheet in book.worksheets:
        neutralise_worksheet(sheet)
    buf = io.BytesIO()
    book.save(buf)
    return atomic_write_bytes(path, buf.getvalue())


def _prefill(table, columns, unit, unit_id, periods, frame) -> pd.DataFrame:
    names = [c.name for c in columns]
    if frame is not None:
        return frame.reindex(columns=names).astype(object)
    if table == "units" and unit:
        return pd.DataFrame([{n: unit.get(n) for n in names}], columns=names).astype(object)
    if table == "panel" and periods:
        return pd.DataFrame({"unit_id": unit_id, "period": list(periods)}).reindex(columns=names).astype(object)
    return pd.DataFrame(columns=names)


def read_one(path: Path, table: str | None, c: Collector) -> list[RawTable]:
    """The tables of one file: a workbook's sheets, or the CSV/Parquet file as ``table``."""
    from evalkit.data.readers import _read_csv, _read_parquet
    from evalkit.data.workbook import read_workbook

    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_workbook(path, c, only=table)
    if table is None:
        return []
    one = _read_csv(path, table, c) if suffix == ".csv" else _read_parquet(path, table, c)
    return [one] if one is not None else []


def read_units_list(path: str | Path) -> pd.DataFrame:
    """The units list (a units table as CSV, XLSX or Parquet; at least unit_id and unit_type)."""
    from evalkit.data.raw import Collector

    c = Collector()
    found = read_one(Path(path), "units", c)
    raw = found[0] if found else None
    problems = [p for p in c.problems if p.severity == "error"]
    if raw is None or problems:
        raise DataError(problems or [Problem(Path(path).name, None, None, None, "no units table")], str(path))
    frame = raw.data.copy()
    missing = [n for n in ("unit_id", "unit_type") if n not in frame]
    if missing:
        raise DataError(
            [Problem(Path(path).name, None, n, None, "required column missing") for n in missing], str(path)
        )
    return frame


def write_unit_templates(
    units: str | Path | pd.DataFrame, out: str | Path, *, periods: list[str] | None = None, force: bool = False
) -> list[Path]:
    """One workbook per unit of ``units`` (a units list or its path) and the office's, in ``out``."""
    frame = units if isinstance(units, pd.DataFrame) else read_units_list(units)
    out = Path(out)
    bad = sorted({str(k) for k in frame["unit_type"] if str(k) not in schema.UNIT_TYPES})
    if bad:
        raise DataError(
            [Problem("units", None, "unit_type", k, f"not one of {', '.join(schema.UNIT_TYPES)}") for k in bad]
        )
    targets = [(out / file_name(r["unit_id"]), str(r["unit_type"]), r) for r in frame.to_dict("records")]
    targets.append((out / file_name(OFFICE), OFFICE, {"unit_id": OFFICE}))
    for target, _, _ in targets:  # refuse before writing anything
        from evalkit.safe_io import check_output

        check_output(target, force=force, kind="file")
    return [write_unit_workbook(t, k, unit=r, periods=periods, force=force) for t, k, r in targets]

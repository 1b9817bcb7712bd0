"""The Excel data-collection template (``evalkit template OUT.xlsx``) and the data dictionary as
Markdown (``schema_markdown()``, the tables of ``data/README.md``). Both are generated from
``schema.py``, so the template, the README and validation cannot disagree.

Workbook layout: an instructions sheet (说明 Instructions), a column dictionary (列说明 Columns),
then one sheet per table (单位 units, 面板 panel, 毕业生 graduates, 校企合作 partnerships, 证据清单 evidence)
and the checklist items with an example evidence row (清单条目 Items). On a
table sheet, row 1 holds merged group titles, row 2 the column headers (``在校生数 students (人)``),
and data starts at row 3; the loader finds the header row itself, so Excel row numbers in
validation problems are the ones the user sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from evalkit.data import schema
from evalkit.data.checklist import load_checklist
from evalkit.data.periods import FREQUENCY_ZH
from evalkit.errors import check_choice

Lang = Literal["bilingual", "zh", "en"]
LANGS = ("bilingual", "zh", "en")
SHEET_NAMES = {t: f"{schema.TABLES_ZH[t]} {t}" for t in schema.TABLES}
HEADER_ROW = 2
FIRST_DATA_ROW = 3
# Rows that carry drop-downs and number checks (Excel stores a range, not one rule per cell).
VALIDATED_ROWS = {"units": 2000, "panel": 20000, "graduates": 200000, "partnerships": 5000, "evidence": 2000}
ITEMS_SHEET = "清单条目 Items"  # the checklist items (read by nothing: a table name is not in it)
# Panel column groups for the merged row-1 titles: (first column of the group, zh, en).
PANEL_GROUPS = (
    ("unit_id", "键", "keys"),
    ("students", "背景", "context"),
    ("dual_teachers", "产教融合投入", "integration inputs"),
    ("graduates_placed", "成效", "outcomes"),
    ("employees", "企业", "enterprise side"),
    ("park_output", "园区", "park side"),
)
_CATEGORY_ZH = {
    "unit_type": schema.UNIT_TYPES_ZH,
    "alliance": schema.ALLIANCES_ZH,
    "kind": schema.PARTNERSHIP_KINDS_ZH,
    "college_level": schema.COLLEGE_LEVELS_ZH,
}
# The example row of the evidence sheet, shown on the items sheet (never in the data area).
EVIDENCE_EXAMPLE = (
    "council_established",
    "",
    1,
    "株产教联〔2023〕1号 理事会成立大会纪要.pdf",
    "2023-12-05",
    "理事会成立",
)
_TYPE_TEXT = {
    "str": "text 文本",
    "int": "whole number 整数",
    "float": "number 数值",
    "date": "date 日期 YYYY-MM-DD",
    "period": "period 统计期",
    "bool": "1/0 是/否",
    "category": "category 类别",
}

# Templates are written without a dataset: the academic year's months as a default and where to set them.
ACADEMIC_YEAR_ZH = "学年 2023-2024学年 或 2023/24（默认 9 月—次年 8 月，可在数据文件夹 dataset.yaml 的 academic_year_start_month 中设定）"
ACADEMIC_YEAR_EN = (
    "academic year 2023-2024学年 or 2023/24 (September–August by default; another first month is set by "
    "academic_year_start_month in the data folder's dataset.yaml)"
)

INSTRUCTIONS: tuple[tuple[str, str], ...] = (
    ("市域产教联合体数据采集模板", "Data-collection template for a city-level industry–education consortium"),
    (
        "本工作簿包含五张数据表：单位、面板、毕业生（可选）、校企合作（可选）、证据清单（可选）。每张表第 2 行为列名（中英文及计量单位），"
        "从第 3 行起每行填写一条记录。请勿修改列名、勿合并单元格、勿插入合计行。",
        "The workbook holds five tables: units, panel, graduates (optional), partnerships (optional) and evidence "
        "(optional). Row 2 of "
        "each sheet names the columns (Chinese, English, unit); fill one record per row from row 3. Do not rename "
        "headers, merge cells or add total rows.",
    ),
    (
        "单位表：每个院校、企业、园区、产业学院一行。单位代码须唯一。加入时间填加入联合体的日期（YYYY-MM-DD）；"
        "从未加入的单位留空，它们构成对照组。",
        "units: one row per college, enterprise, park or industrial college; unit ids must be unique. member_since is "
        "the date the unit joined the consortium (YYYY-MM-DD); leave it empty for units that never joined — they "
        "form the comparison group.",
    ),
    (
        "面板表：每个单位每个统计期一行（单位代码 + 统计期唯一）。统计期写法：年 2024；半年 2024H1（1–6 月）、2024H2；"
        f"季度 2024Q3；月 2024-07；{ACADEMIC_YEAR_ZH}。每类单位只用一种频率：院校按学年、企业与园区按自然年填报时，"
        "须在 dataset.yaml 的 frequency_by_unit_type 中声明（见 data/README.md）。",
        "panel: one row per unit and period (unit_id + period unique). Period labels: year 2024; half-year 2024H1 "
        f"(Jan–Jun), 2024H2; quarter 2024Q3; month 2024-07; {ACADEMIC_YEAR_EN}. One frequency per kind of unit: "
        "colleges on academic years beside enterprises and the park on calendar years must be declared in "
        "dataset.yaml (frequency_by_unit_type; see data/README.md).",
    ),
    (
        "流量与存量：流量（如毕业生数、产值、到款额）填本期内发生的数；存量（如在校生数、教师数、基地数）填期末时点数。"
        "阶段汇总时流量相加，存量取阶段最后一期。",
        "Flows and stocks: a flow (graduates, output, income) is what happened within the period; a stock "
        "(students, teachers, bases) is the count at the period's end. Phase totals sum flows and take stocks at "
        "the last period.",
    ),
    (
        "只填分子和分母，不填比率：例如填毕业去向落实人数和毕业生数，而不是落实率；比率由工具统一计算。分子不得大于分母。",
        "Give numerators and denominators, never rates: e.g. graduates placed and graduates, not the placement rate; "
        "evalkit computes every rate. A numerator may not exceed its denominator.",
    ),
    (
        "未统计的数据请留空，不要填 0（0 表示确实为零）。金额单位为万元，除非列名另有说明。",
        "Leave a cell empty when the figure was not collected; 0 means zero. Amounts are in 10k yuan unless the "
        "header says otherwise.",
    ),
    (
        "毕业生表（可选）：每名毕业生一行，使用匿名编号，严禁填写真实学号、姓名或身份证号。毕业生记录汇总后应与面板中的"
        "毕业生人数一致。",
        "graduates (optional): one row per graduate with a pseudonymous id — never a real student number, name or ID "
        "card number. Records should add up to the panel's graduate counts.",
    ),
    (
        "校企合作表（可选）：每项合作一行，院校代码与企业代码须在单位表中；结束日期留空表示仍在进行。",
        "partnerships (optional): one row per college–enterprise link; both ids must be in the units table; leave "
        "end_date empty for an ongoing link.",
    ),
    (
        "证据清单（可选）：建设清单的每个条目（理事会、章程、实体化运作、三张清单、政策包等，见“清单条目 Items”工作表）"
        "每个单位每个日期一行：状态（二值条目 0/1，等级条目 0–3）、佐证材料（文号、链接或文件名）、截至日期。"
        "单位代码留空表示联合体整体。状态大于 0 而无佐证材料会给出提示；日期不得晚于数据截止期。",
        "evidence (optional): one row per checklist item (council, charter, entity operation, the three lists, the "
        "policy package, …; see the sheet 清单条目 Items) × unit × date: status (binary items 0/1, ordinal items "
        "0–3), evidence_ref (document number, link or file name) and as_of date. Leave unit_id empty for the "
        "consortium as a whole. A status above 0 without evidence gives a warning; dates may not pass the data's end.",
    ),
    (
        "院校层次：单位表 college_level 填 高职 higher_vocational、中职 secondary 或 技工院校 technician（空则为高职），"
        "院校只与同类院校比较。",
        "units: college_level is higher_vocational (default when empty), secondary or technician; colleges are "
        "compared with their own kind.",
    ),
    (
        "填好后运行 evalkit validate 文件名.xlsx 检查，所有问题会按工作表、行号、列名一次列出。",
        "When done, run `evalkit validate FILE.xlsx`: every problem is listed at once with sheet, row and column.",
    ),
    ("各列含义见“列说明 Columns”工作表。", "Every column is explained on the sheet 列说明 Columns."),
)


def header_text(column: schema.Column, lang: Lang = "bilingual") -> str:
    """The header written for ``column``: ``在校生数 students (人)`` (bilingual), ``在校生数 (人)`` (zh)
    or ``students (persons)`` (en). ``schema.canonical_header`` reads each of them back."""
    check_choice("lang", lang, LANGS)
    if lang == "zh":
        text, unit = column.zh, column.unit_zh
    elif lang == "en":
        text, unit = column.name, column.unit
    else:
        text, unit = f"{column.zh} {column.name}", column.unit_zh or column.unit
    return f"{text} ({unit})" if unit else text


def _choices(column: schema.Column, lang: Lang) -> list[str]:
    zh = _CATEGORY_ZH.get(column.name, {})
    if lang == "en":
        return list(column.categories)
    if lang == "zh":
        return [zh.get(code, code) for code in column.categories]
    return [f"{zh.get(code, code)} {code}" for code in column.categories]


def _note(column: schema.Column, table: str) -> str:
    parts = [f"{column.meaning_zh}\n{column.meaning}", f"类型 type: {_TYPE_TEXT[column.dtype]}"]
    if column.unit:
        parts.append(f"单位 unit: {column.unit_zh} / {column.unit}")
    if column.kind:
        parts.append("流量 flow (本期发生数)" if column.kind == "flow" else "存量 stock (期末数)")
    if column.le:
        parts.append(f"不得大于 must not exceed: {column.le}")
    parts.append("必填 required" if column.required else "可空 optional")
    return "\n".join(parts)


def write_template(path: str | Path, lang: Lang = "bilingual", *, force: bool = False) -> Path:
    """Write the data-collection workbook to ``path`` (.xlsx) and return the path.

    Parameters
    ----------
    path : str or Path
        The workbook to write (``.xlsx`` is added when the suffix is another).
    lang : {"bilingual", "zh", "en"}
        Headers in Chinese and English (default), Chinese or English; the loader accepts all
        three. Categorical and yes/no columns get drop-downs; numeric columns a check for
        numbers ≥ 0; header rows are frozen.
    force : bool
        Replace an existing file. Without it an existing file (perhaps a filled-in workbook)
        raises :class:`evalkit.safe_io.OutputExistsError` and is left as it was.

    Returns
    -------
    Path
        The written workbook (written to a temporary file and renamed, so an interrupted run
        leaves no half-written workbook).
    """
    check_choice("lang", lang, LANGS)
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from evalkit.safe_io import atomic_write_bytes, check_output, neutralise_worksheet

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        path = path.with_suffix(".xlsx")
    check_output(path, force=force, kind="file")
    book = Workbook()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    required_fill = PatternFill("solid", fgColor="FFE699")
    optional_fill = PatternFill("solid", fgColor="DDEBF7")
    group_fill = PatternFill("solid", fgColor="BDD7EE")

    ws = book.active
    ws.title = "说明 Instructions"
    ws.column_dimensions["A"].width = 70
    ws.column_dimensions["B"].width = 90
    for i, (zh, en) in enumerate(INSTRUCTIONS, start=1):
        ws.cell(i, 1, zh).alignment = wrap
        ws.cell(i, 2, en).alignment = wrap
        if i == 1:
            ws.cell(i, 1).font = ws.cell(i, 2).font = Font(bold=True, size=14)
    freq_line = "；".join(f"{FREQUENCY_ZH[f]} {f}" for f in FREQUENCY_ZH)
    ws.cell(len(INSTRUCTIONS) + 2, 1, f"频率 frequencies: {freq_line}")

    cols = book.create_sheet("列说明 Columns")
    titles = [
        "表 table",
        "列 column",
        "中文名",
        "类型 type",
        "单位 unit",
        "流量/存量 flow/stock",
        "必填 required",
        "含义",
        "meaning",
    ]
    cols.append(titles)
    for table, columns in schema.TABLES.items():
        for column in columns:
            cols.append(
                [
                    f"{schema.TABLES_ZH[table]} {table}",
                    column.name,
                    column.zh,
                    column.dtype,
                    f"{column.unit_zh} {column.unit}".strip(),
                    column.kind or "",
                    "是 yes" if column.required else "",
                    column.meaning_zh,
                    column.meaning,
                ]
            )
    for j, width in enumerate((18, 28, 22, 10, 18, 12, 10, 40, 50), start=1):
        cols.column_dimensions[get_column_letter(j)].width = width
    for cell in cols[1]:
        cell.font = bold
    cols.freeze_panes = "A2"

    for table, columns in schema.TABLES.items():
        ws = book.create_sheet(SHEET_NAMES[table])
        last_row = FIRST_DATA_ROW + VALIDATED_ROWS[table] - 1
        groups = PANEL_GROUPS if table == "panel" else ((columns[0].name, schema.TABLES_ZH[table], table),)
        starts = {name: (zh, en) for name, zh, en in groups}
        names = [c.name for c in columns]
        bounds = [names.index(name) for name, _, _ in groups] + [len(names)]
        for (name, zh, en), lo, hi in zip(groups, bounds[:-1], bounds[1:]):
            ws.cell(1, lo + 1, f"{zh} {en}" if lang == "bilingual" else (zh if lang == "zh" else en))
            ws.cell(1, lo + 1).font = bold
            ws.cell(1, lo + 1).fill = group_fill
            if hi - lo > 1:
                ws.merge_cells(start_row=1, start_column=lo + 1, end_row=1, end_column=hi)
        del starts
        for j, column in enumerate(columns, start=1):
            letter = get_column_letter(j)
            cell = ws.cell(HEADER_ROW, j, header_text(column, lang))
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            cell.fill = required_fill if column.required else optional_fill
            cell.comment = Comment(_note(column, table), "evalkit", width=320, height=180)
            ws.column_dimensions[letter].width = min(40, max(12, _display_width(cell.value) * 0.9 + 2))
            rng = f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}"
            dv = None
            if table == "evidence" and column.name == "item_id":
                n_items = len(load_checklist())
                dv = DataValidation(type="list", formula1=f"'{ITEMS_SHEET}'!$A$3:$A${n_items + 2}", allow_blank=False)
            elif table == "evidence" and column.name == "status":
                dv = DataValidation(type="list", formula1='"0,1,2,3"', allow_blank=False)
            elif column.dtype == "category":
                dv = DataValidation(
                    type="list", formula1='"' + ",".join(_choices(column, lang)) + '"', allow_blank=not column.required
                )
            elif column.dtype == "bool":
                dv = DataValidation(type="list", formula1='"1,0"', allow_blank=not column.required)
            elif column.dtype in ("float", "int"):
                dv = DataValidation(
                    type="decimal" if column.dtype == "float" else "whole",
                    operator="greaterThanOrEqual",
                    formula1="0",
                    allow_blank=True,
                )
            elif column.dtype == "date":
                dv = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True)
                ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
            elif column.dtype in ("period", "str"):
                ws.column_dimensions[letter].number_format = "@"  # keep 2024H1 and ids as text
            if dv is not None:
                dv.error = f"{column.zh} {column.name}: " + _TYPE_TEXT[column.dtype]
                dv.errorTitle = "evalkit"
                dv.showErrorMessage = True
                ws.add_data_validation(dv)
                dv.add(rng)
        ws.row_dimensions[HEADER_ROW].height = 36
        keys = len(schema.KEYS[table])
        ws.freeze_panes = ws.cell(FIRST_DATA_ROW, keys + 1).coordinate
    _items_sheet(book.create_sheet(ITEMS_SHEET), lang)
    for sheet in book.worksheets:
        neutralise_worksheet(sheet)
    import io

    buf = io.BytesIO()
    book.save(buf)
    return atomic_write_bytes(path, buf.getvalue())


def _items_sheet(ws, lang: Lang) -> None:
    """The checklist items (id, names, scale and levels, group, red-line candidate, whose item,
    'in the period'), bilingual instructions and an example row of the evidence sheet."""
    from openpyxl.styles import Font

    checklist = load_checklist()
    ws.cell(
        1,
        1,
        "建设清单条目：证据清单 evidence 表的 item_id 从 A 列选取 / Checklist items: pick the evidence sheet's item_id from column A",
    )
    ws.cell(1, 1).font = Font(bold=True, size=12)
    heads = (
        "item_id",
        "名称",
        "name",
        "分级 scale",
        "维度 group",
        "否决候选 red line",
        "对象 applies to",
        "本期 in period",
    )
    for j, head in enumerate(heads, start=1):
        ws.cell(2, j, head).font = Font(bold=True)
    for i, item in enumerate(checklist, start=3):
        zh, en = checklist.groups[item.group]
        scale = "0/1" if item.scale == "binary" else "; ".join(f"{s} {z} / {e}" for s, z, e in item.levels)
        values = (
            item.id,
            item.name_zh,
            item.name_en,
            scale,
            f"{zh} {en}",
            "是 yes" if item.veto_candidate else "",
            ", ".join(item.applies_to),
            "是 yes" if item.in_period else "",
        )
        for j, value in enumerate(values, start=1):
            ws.cell(i, j, value)
    row = len(checklist) + 4
    ws.cell(row, 1, "示例：证据清单 evidence 工作表中一行的填法 / Example: one row of the evidence sheet").font = Font(
        bold=True
    )
    for j, column in enumerate(schema.EVIDENCE, start=1):
        ws.cell(row + 1, j, header_text(column, lang)).font = Font(bold=True)
        ws.cell(row + 2, j, EVIDENCE_EXAMPLE[j - 1])
    for j, width in enumerate((30, 24, 40, 60, 30, 14, 26, 12), start=1):
        ws.column_dimensions[chr(64 + j)].width = width


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text))


# ---------------------------------------------------------------------- data dictionary as Markdown
def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def schema_markdown(table: str | None = None) -> str:
    """The data dictionary as Markdown tables (one per table, or only ``table``): column, 中文名,
    type, unit, flow/stock, rules, meaning. ``data/README.md`` embeds this text verbatim; a test
    fails when they drift."""
    tables = [table] if table else list(schema.TABLES)
    out = []
    for name in tables:
        columns = schema.TABLES[name]
        aliases = " / ".join(f"`{a}`" for a in schema.TABLE_ALIASES[name])
        keys = ", ".join(schema.KEYS[name])
        need = "required 必需" if name in schema.REQUIRED_TABLES else "optional 可选"
        out.append(f"### {name} — {schema.TABLES_ZH[name]}\n")
        out.append(f"File or sheet name 文件/工作表名: {aliases}. Key 主键: `{keys}`. {need}.\n")
        out.append("| column | 中文名 | type | unit | flow/stock | rules | meaning |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for c in columns:
            unit = f"{c.unit_zh} ({c.unit})" if c.unit else ""
            rules = []
            if c.required:
                rules.append("required")
            if c.le:
                rules.append(f"≤ `{c.le}`")
            if c.categories:
                zh = _CATEGORY_ZH.get(c.name, {})
                rules.append("one of " + ", ".join(f"`{k}` {zh.get(k, '')}".strip() for k in c.categories))
            if c.dtype in ("float", "int"):
                rules.append("≥ 0")
            out.append(
                f"| `{c.name}` | {_md(c.zh)} | {c.dtype} | {_md(unit)} | {c.kind or ''} | {_md('; '.join(rules))} "
                f"| {_md(c.meaning)} · {_md(c.meaning_zh)} |"
            )
        out.append("")
    return "\n".join(out)

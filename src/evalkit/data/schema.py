"""The consortium data model as data: five tables, their columns, Chinese names, units and rules.

This module is the single source for column names. ``data/README.md``, the Excel template,
header aliases and validation all read from here.

Panel variables are raw counts and amounts (numerators and denominators), never rates. Each
has an aggregation ``kind``: a **flow** is summed over a phase window, a **stock** is taken
at the window's last period. ``le`` names a column the value may not exceed (numerator ≤
denominator).
"""

from __future__ import annotations

import functools
import re

# Defined in their own modules, importable from here (``schema.Column``, ``schema.PANEL_VARIABLES``).
from evalkit.data.columns import Column as Column
from evalkit.data.columns import Dtype as Dtype
from evalkit.data.columns import Kind as Kind
from evalkit.data.schema_panel import GRADUATE_FLOWS as GRADUATE_FLOWS
from evalkit.data.schema_panel import PANEL_VARIABLES as PANEL_VARIABLES

UNIT_TYPES = ("college", "enterprise", "park", "industrial_college")
UNIT_TYPES_ZH = {"college": "院校", "enterprise": "企业", "park": "园区", "industrial_college": "产业学院"}
ALLIANCES = ("rail_transit", "aerospace", "beidou", "new_materials", "none")
ALLIANCES_ZH = {
    "rail_transit": "轨道交通装备",
    "aerospace": "航空航天装备",
    "beidou": "北斗应用",
    "new_materials": "新材料",
    "none": "无",
}
COLLEGE_LEVELS = ("higher_vocational", "secondary", "technician")
COLLEGE_LEVELS_ZH = {"higher_vocational": "高职", "secondary": "中职", "technician": "技工院校"}
# A college without a college_level is a higher-vocational college (colleges are compared with their own kind).
DEFAULT_COLLEGE_LEVEL = "higher_vocational"
# The unit_id of an evidence row about the consortium as a whole (its council / office); an empty
# unit_id in the evidence table means this.
CONSORTIUM_UNIT = "consortium"
PARTNERSHIP_KINDS = ("shared_base", "workshop", "order_class", "apprenticeship", "industrial_college", "research_team")
PARTNERSHIP_KINDS_ZH = {
    "shared_base": "共享实训基地",
    "workshop": "双师工作室",
    "order_class": "订单班",
    "apprenticeship": "现代学徒制",
    "industrial_college": "产业学院",
    "research_team": "联合科研团队",
}

UNITS = (
    Column(
        "unit_id",
        "单位代码",
        "str",
        "unique identifier of the unit",
        "单位唯一代码",
        required=True,
        aliases=("单位编号", "代码", "id"),
    ),
    Column(
        "unit_type",
        "单位类型",
        "category",
        "college, enterprise, park or industrial_college",
        "院校、企业、园区或产业学院",
        required=True,
        categories=UNIT_TYPES,
        aliases=("类型",),
    ),
    Column("name_zh", "单位名称", "str", "name in Chinese", "中文名称", required=True, aliases=("名称", "中文名称")),
    Column("name_en", "英文名称", "str", "name in English", "英文名称"),
    Column(
        "alliance",
        "所属联盟",
        "category",
        "industry alliance of the consortium, or none",
        "所属产业联盟（无则填 none）",
        categories=ALLIANCES,
        aliases=("联盟",),
    ),
    Column(
        "member_since",
        "加入时间",
        "date",
        "date the unit joined the consortium; empty = never a member (comparison group)",
        "加入联合体日期；空 = 非成员（对照组）",
        aliases=("加入日期", "入盟时间"),
    ),
    Column("city", "所在城市", "str", "city", "所在城市", aliases=("城市",)),
    Column("lead", "牵头单位", "bool", "1 for a lead unit of the consortium", "牵头单位填 1", aliases=("是否牵头",)),
    Column(
        "parent_id", "上级单位代码", "str", "hosting unit (for an industrial college)", "依托单位代码（产业学院填写）"
    ),
    Column(
        "college_level",
        "院校层次",
        "category",
        "kind of college: higher_vocational (default when empty), secondary or technician; colleges only",
        "院校层次：高职（空则默认）、中职或技工院校；仅院校填写",
        categories=COLLEGE_LEVELS,
        aliases=("办学层次", "学校层次"),
    ),
)

PANEL_KEYS = (
    Column("unit_id", "单位代码", "str", "unit", "单位代码", required=True, aliases=("单位编号", "代码")),
    Column(
        "period",
        "统计期",
        "period",
        "calendar period (2024, 2024H1, 2024Q3 or 2024-07)",
        "统计期（如 2024、2024H1）",
        required=True,
        aliases=("时期", "期间", "年度", "统计期间"),
    ),
)


GRADUATES = (
    Column(
        "graduate_id",
        "毕业生编号",
        "str",
        "pseudonymous graduate identifier (never a real student number)",
        "毕业生匿名编号（不得使用真实学号）",
        required=True,
        aliases=("学生编号", "编号"),
    ),
    Column(
        "college_id",
        "院校代码",
        "str",
        "college (a unit_id)",
        "院校代码（单位代码）",
        required=True,
        aliases=("学校代码",),
    ),
    Column("major", "专业", "str", "major", "专业名称", aliases=("专业名称",)),
    Column(
        "cohort",
        "毕业期",
        "period",
        "period of graduation (same frequency as the panel)",
        "毕业所在统计期",
        required=True,
        aliases=("毕业年份", "届别"),
    ),
    Column(
        "placed",
        "去向落实",
        "bool",
        "1 if the destination is confirmed",
        "毕业去向已落实填 1",
        required=True,
        aliases=("是否落实",),
    ),
    Column(
        "local",
        "本地就业",
        "bool",
        "1 if employed in the city",
        "在本市就业填 1",
        le="placed",
        aliases=("是否本地就业",),
    ),
    Column(
        "member_enterprise",
        "成员企业就业",
        "bool",
        "1 if employed by a member enterprise",
        "在联合体成员企业就业填 1",
        le="placed",
    ),
    Column(
        "job_match",
        "专业对口",
        "bool",
        "1 if the job matches the major",
        "工作与专业相关填 1",
        le="placed",
        aliases=("是否对口",),
    ),
    Column(
        "income",
        "月收入",
        "float",
        "monthly income six months after graduation (empty if not reported)",
        "毕业半年后月收入（未填写则留空）",
        unit="yuan/month",
        unit_zh="元/月",
        aliases=("月薪",),
    ),
)

PARTNERSHIPS = (
    Column("partnership_id", "合作编号", "str", "identifier of the link", "合作项目编号", required=True),
    Column("college_id", "院校代码", "str", "college (a unit_id)", "院校代码", required=True),
    Column("enterprise_id", "企业代码", "str", "enterprise (a unit_id)", "企业代码", required=True),
    Column("kind", "合作类型", "category", "kind of link", "合作类型", required=True, categories=PARTNERSHIP_KINDS),
    Column("start_date", "开始日期", "date", "start date", "开始日期", required=True),
    Column("end_date", "结束日期", "date", "end date (empty = ongoing)", "结束日期（空 = 持续中）"),
    Column("students", "参与学生数", "int", "students involved", "参与学生数", unit="persons", unit_zh="人"),
)

EVIDENCE = (
    Column(
        "item_id",
        "清单条目",
        "str",
        "checklist item (an id of evalkit/indicators/checklist.yaml)",
        "建设清单条目代码（见 checklist.yaml）",
        required=True,
        aliases=("条目代码", "条目", "item"),
    ),
    Column(
        "unit_id",
        "单位代码",
        "str",
        f"unit the item is about (the park, a college, …); empty or '{CONSORTIUM_UNIT}' = the consortium as a whole",
        f"条目所指单位（园区、院校等）；空或 {CONSORTIUM_UNIT} 表示联合体整体（理事会、秘书处）",
        aliases=("单位编号", "代码"),
    ),
    Column(
        "status",
        "状态",
        "int",
        "0 = not in place; binary items 1 = in place; ordinal items 1–3 = partly … fully (see the item's levels)",
        "0 = 未建立；二值条目 1 = 已建立；等级条目 1–3 = 部分至全面（见条目分级）",
        required=True,
        aliases=("完成情况", "状态值"),
    ),
    Column(
        "evidence_ref",
        "佐证材料",
        "str",
        "evidence: document number, link or file name (needed for a status above 0)",
        "佐证：文件文号、链接或文件名（状态大于 0 时须填写）",
        aliases=("证据", "佐证", "文号"),
    ),
    Column(
        "as_of",
        "截至日期",
        "date",
        "date the status holds on (items 'in the period' refer to the half-year ending then)",
        "状态所对应的日期（“本期”类条目指截至该日的统计期）",
        required=True,
        aliases=("日期", "截至时间"),
    ),
    Column("note", "备注", "str", "note", "备注", aliases=("说明",)),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "units": UNITS,
    "panel": PANEL_KEYS + PANEL_VARIABLES,
    "graduates": GRADUATES,
    "partnerships": PARTNERSHIPS,
    "evidence": EVIDENCE,
}
TABLES_ZH = {
    "units": "单位",
    "panel": "面板",
    "graduates": "毕业生",
    "partnerships": "校企合作",
    "evidence": "证据清单",
}
REQUIRED_TABLES = ("units", "panel")
OPTIONAL_TABLES = ("graduates", "partnerships", "evidence")
# File / sheet names accepted for each table, besides the English name.
TABLE_ALIASES = {
    "units": ("单位", "单位信息", "units"),
    "panel": ("面板", "面板数据", "panel"),
    "graduates": ("毕业生", "毕业生数据", "graduates"),
    "partnerships": ("校企合作", "合作", "partnerships"),
    "evidence": ("证据清单", "证据", "evidence"),
}
KEYS = {
    "units": ("unit_id",),
    "panel": ("unit_id", "period"),
    "graduates": ("graduate_id",),
    "partnerships": ("partnership_id",),
    "evidence": ("item_id", "unit_id", "as_of"),
}

PANEL_VARIABLE_NAMES = tuple(c.name for c in PANEL_VARIABLES)


def column(table: str, name: str) -> Column:
    for c in TABLES[table]:
        if c.name == name:
            return c
    raise KeyError(f"no column {name!r} in table {table!r}")


_UNIT_SUFFIX = re.compile(r"[\(（\[【][^\)）\]】]*[\)）\]】]\s*$")


def _normalise(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(header)).lower().replace("“", "").replace("”", "").replace('"', "")


def header_lookup(table: str) -> dict[str, str]:
    """Normalised header → canonical column name, for every accepted spelling of ``table``'s columns."""
    return dict(_lookup(table))


@functools.cache
def _lookup(table: str) -> dict[str, str]:
    # built once per table: a workbook's header search asks for it once per cell it looks at
    out: dict[str, str] = {}
    for c in TABLES[table]:
        for spelling in (c.name, c.zh, *c.aliases):
            out[_normalise(spelling)] = c.name
    return out


def canonical_header(table: str, header: object) -> str | None:
    """Map a header as found in a file (``在校生数``, ``在校生数 (人)``, ``在校生数 students (人)``) to a
    canonical column name, or None when it is not a known column."""
    text = str(header).strip().lstrip("\ufeff")
    lookup = _lookup(table)
    while True:
        stripped = _UNIT_SUFFIX.sub("", text).strip()
        if stripped == text:
            break
        text = stripped
    if _normalise(text) in lookup:
        return lookup[_normalise(text)]
    # bilingual template header: "在校生数 students" -> try each word
    for part in re.split(r"\s+", text):
        if _normalise(part) in lookup:
            return lookup[_normalise(part)]
    return None


def table_for_name(name: str) -> str | None:
    """The table a file stem or sheet name stands for (``面板``, ``units``, ``单位 units``)."""
    candidates = [name, *[part for part in re.split(r"[\s()（）\[\]【】]+", name) if part]]
    for text in candidates:
        norm = _normalise(text)
        for table, aliases in TABLE_ALIASES.items():
            if norm in {_normalise(a) for a in (table, *aliases)}:
                return table
    return None

"""The consortium data model as data: four tables, their columns, Chinese names, units and rules.

This module is the single source for column names. ``data/README.md``, the Excel template,
header aliases and validation all read from here.

Panel variables are raw counts and amounts (numerators and denominators), never rates. Each
has an aggregation ``kind``: a **flow** is summed over a phase window, a **stock** is taken
at the window's last period. ``le`` names a column the value may not exceed (numerator ≤
denominator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["flow", "stock"]
Dtype = Literal["str", "int", "float", "date", "period", "bool", "category"]


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    dtype: Dtype
    meaning: str
    meaning_zh: str
    unit: str = ""  # e.g. "persons", "10k yuan"
    unit_zh: str = ""  # e.g. "人", "万元"
    required: bool = False
    kind: Kind | None = None  # panel variables only
    le: str | None = None  # value must be <= this column (same row)
    categories: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # further Chinese / English headers accepted
    applies_to: tuple[str, ...] = ()  # unit types the panel variable is reported for


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
PARTNERSHIP_KINDS = ("shared_base", "workshop", "order_class", "apprenticeship", "industrial_college", "research_team")
PARTNERSHIP_KINDS_ZH = {
    "shared_base": "共享实训基地",
    "workshop": "双师工作室",
    "order_class": "订单班",
    "apprenticeship": "现代学徒制",
    "industrial_college": "产业学院",
    "research_team": "联合科研团队",
}

C = ("college",)
E = ("enterprise",)

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


def _v(name, zh, unit, unit_zh, kind, meaning, meaning_zh, le=None, applies_to=C, aliases=()):
    return Column(
        name,
        zh,
        "float",
        meaning,
        meaning_zh,
        unit=unit,
        unit_zh=unit_zh,
        kind=kind,
        le=le,
        applies_to=applies_to,
        aliases=aliases,
    )


PANEL_VARIABLES = (
    # context
    _v("students", "在校生数", "persons", "人", "stock", "students enrolled at period end", "期末在校生数"),
    _v("teachers", "专任教师数", "persons", "人", "stock", "full-time teachers at period end", "期末专任教师数"),
    _v("majors", "专业数", "majors", "个", "stock", "majors offered", "开设专业数"),
    _v("graduates", "毕业生数", "persons", "人", "flow", "graduates in the period", "本期毕业生数"),
    # integration inputs (college side)
    _v(
        "dual_teachers",
        "双师型教师数",
        "persons",
        "人",
        "stock",
        "dual-qualified teachers",
        "“双师型”教师数",
        le="teachers",
    ),
    _v(
        "enterprise_parttime_teachers",
        "企业兼职教师数",
        "persons",
        "人",
        "stock",
        "part-time teachers from enterprises",
        "来自企业的兼职教师数",
    ),
    _v(
        "shared_bases",
        "共享实训基地数",
        "bases",
        "个",
        "stock",
        "shared (college–enterprise) training bases",
        "校企共建共享实训基地数",
    ),
    _v(
        "national_productive_bases",
        "国家级生产性实训基地数",
        "bases",
        "个",
        "stock",
        "national productive training bases",
        "国家级生产性实训基地数",
    ),
    _v(
        "productive_base_output",
        "生产性实训基地产值",
        "10k yuan",
        "万元",
        "flow",
        "output of productive training bases",
        "生产性实训基地产值",
    ),
    _v(
        "dual_workshops",
        "双师工作室数",
        "workshops",
        "个",
        "stock",
        "dual-qualified teacher workshops",
        "“双师”工作室数",
    ),
    _v(
        "apprentices",
        "现代学徒制学徒数",
        "persons",
        "人",
        "stock",
        "modern apprentices enrolled with enterprises",
        "现代学徒制在培学徒数",
        le="students",
    ),
    _v(
        "order_class_students",
        "订单班学生数",
        "persons",
        "人",
        "stock",
        "students in enterprise order classes",
        "订单班在读学生数",
        le="students",
    ),
    _v(
        "joint_research_teams",
        "校企联合科研团队数",
        "teams",
        "个",
        "stock",
        "joint college–enterprise research teams",
        "校企联合科研团队数",
    ),
    _v(
        "courses_codeveloped",
        "校企共建课程数",
        "courses",
        "门",
        "flow",
        "courses co-developed with enterprises",
        "本期校企共建课程数",
    ),
    _v(
        "textbooks_codeveloped",
        "校企合作开发教材数",
        "textbooks",
        "部",
        "flow",
        "textbooks co-developed with enterprises",
        "本期校企合作开发教材数",
    ),
    _v(
        "new_aligned_majors",
        "新增对接产业链专业数",
        "majors",
        "个",
        "flow",
        "new majors aligned with the regional industry chain",
        "本期新增对接区域产业链专业数",
        le="majors",
    ),
    _v(
        "integration_enterprises",
        "合作产教融合型企业数",
        "enterprises",
        "家",
        "stock",
        "integration enterprises the college works with",
        "合作的产教融合型企业数",
    ),
    _v(
        "enterprise_investment",
        "企业投入",
        "10k yuan",
        "万元",
        "flow",
        "enterprise investment in the college (equipment, funds)",
        "企业对学校的资金与设备投入",
    ),
    _v(
        "vocational_groups",
        "参与职教集团数",
        "groups",
        "个",
        "stock",
        "vocational education groups joined",
        "参与的职教集团数",
    ),
    # outcomes (college side; graduate flows can also be aggregated from graduate records)
    _v(
        "graduates_placed",
        "毕业去向落实人数",
        "persons",
        "人",
        "flow",
        "graduates with a confirmed destination",
        "毕业去向落实人数",
        le="graduates",
    ),
    _v(
        "graduates_local",
        "本地就业人数",
        "persons",
        "人",
        "flow",
        "placed graduates employed in the city",
        "在本市就业人数",
        le="graduates_placed",
    ),
    _v(
        "graduates_member_ent",
        "到成员企业就业人数",
        "persons",
        "人",
        "flow",
        "placed graduates employed by member enterprises",
        "到联合体成员企业就业人数",
        le="graduates_placed",
    ),
    _v(
        "graduates_matched",
        "专业对口就业人数",
        "persons",
        "人",
        "flow",
        "placed graduates whose job matches the major",
        "专业相关度达标人数",
        le="graduates_placed",
    ),
    _v(
        "income_respondents",
        "薪酬调查人数",
        "persons",
        "人",
        "flow",
        "placed graduates reporting income six months after graduation",
        "毕业半年后薪酬有效回答人数",
        le="graduates_placed",
    ),
    _v(
        "income_sum",
        "月收入合计",
        "yuan/month",
        "元/月",
        "flow",
        "sum of monthly income six months after graduation over respondents",
        "毕业半年后月收入合计",
    ),
    _v("employer_surveyed", "用人单位调查数", "employers", "家", "flow", "employers surveyed", "受访用人单位数"),
    _v(
        "employer_satisfied",
        "用人单位满意数",
        "employers",
        "家",
        "flow",
        "employers satisfied with graduates",
        "对毕业生满意的用人单位数",
        le="employer_surveyed",
    ),
    _v(
        "tech_service_income",
        "横向技术服务到款额",
        "10k yuan",
        "万元",
        "flow",
        "income from technical services to enterprises",
        "横向技术服务到款额",
    ),
    _v(
        "training_income",
        "非学历培训到款额",
        "10k yuan",
        "万元",
        "flow",
        "income from non-degree training",
        "非学历培训到款额",
    ),
    _v(
        "training_person_times",
        "社会培训人次",
        "person-times",
        "人次",
        "flow",
        "social training delivered",
        "社会培训人次",
    ),
    _v(
        "field_engineers_trained",
        "现场工程师培养数",
        "persons",
        "人",
        "flow",
        "field engineers trained",
        "现场工程师培养数",
    ),
    # enterprise side
    _v("employees", "职工数", "persons", "人", "stock", "employees at period end", "期末职工人数", applies_to=E),
    _v("output_value", "企业产值", "10k yuan", "万元", "flow", "enterprise output", "企业总产值", applies_to=E),
    _v(
        "hires_from_members",
        "招聘成员院校毕业生数",
        "persons",
        "人",
        "flow",
        "graduates hired from member colleges",
        "招聘联合体成员院校毕业生数",
        applies_to=E,
    ),
)

# Panel flows that graduate-level records aggregate to (see evalkit.data.flows).
GRADUATE_FLOWS = (
    "graduates",
    "graduates_placed",
    "graduates_local",
    "graduates_member_ent",
    "graduates_matched",
    "income_respondents",
    "income_sum",
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

TABLES: dict[str, tuple[Column, ...]] = {
    "units": UNITS,
    "panel": PANEL_KEYS + PANEL_VARIABLES,
    "graduates": GRADUATES,
    "partnerships": PARTNERSHIPS,
}
TABLES_ZH = {"units": "单位", "panel": "面板", "graduates": "毕业生", "partnerships": "校企合作"}
REQUIRED_TABLES = ("units", "panel")
OPTIONAL_TABLES = ("graduates", "partnerships")
# File / sheet names accepted for each table, besides the English name.
TABLE_ALIASES = {
    "units": ("单位", "单位信息", "units"),
    "panel": ("面板", "面板数据", "panel"),
    "graduates": ("毕业生", "毕业生数据", "graduates"),
    "partnerships": ("校企合作", "合作", "partnerships"),
}
KEYS = {
    "units": ("unit_id",),
    "panel": ("unit_id", "period"),
    "graduates": ("graduate_id",),
    "partnerships": ("partnership_id",),
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
    out: dict[str, str] = {}
    for c in TABLES[table]:
        for spelling in (c.name, c.zh, *c.aliases):
            out[_normalise(spelling)] = c.name
    return out


def canonical_header(table: str, header: object) -> str | None:
    """Map a header as found in a file (``在校生数``, ``在校生数 (人)``, ``在校生数 students (人)``) to a
    canonical column name, or None when it is not a known column."""
    text = str(header).strip().lstrip("\ufeff")
    lookup = header_lookup(table)
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

"""Validation rules in the user's language. The checks of :mod:`evalkit.data.validation`,
:mod:`~evalkit.data.cells` and the readers state their rules in English; each rule's text is a
catalogue entry ``rule.*`` (Chinese, English template) and :func:`translate` reads a rule found in
English back through its template (``{field}`` matches any text; a field that is itself a rule is
translated too) and renders it in ``lang``. A rule no template matches is shown as it is."""

from __future__ import annotations

import re
from functools import lru_cache

from evalkit.i18n import Lang, register, text

RULES: dict[str, tuple[str, str]] = {
    "rule.more_rows": (
        "{rule} — 另有 {n} 行同类问题（第 {a}–{b} 行）",
        "{rule} — and {n} more rows like this (rows {a}–{b})",
    ),
    "rule.ragged": (
        "该行有 {n} 个字段而表头有 {m} 个（行长度不一）；每行每列一个字段——请检查是否多了或少了逗号，或文件未复制完整",
        "{n} fields where the header has {m} (ragged row); every row needs one field per column — check for a "
        "missing or extra comma, or a file copied incompletely",
    ),
    "rule.coverage_gap": (
        "覆盖缺口：{n} 个统计期中有 {k} 个没有面板数据（{periods}）",
        "coverage gap: no panel rows for {k} of {n} periods ({periods})",
    ),
    "rule.duplicate": (
        "{key} 重复：已在第 {row} 行出现；每个主键只能出现一次（不会自动合并——请删除或更正其中一行）",
        "duplicate {key}: already in row {row}; each key must appear once (rows are never merged — remove or correct one)",
    ),
    "rule.end_before_start": ("结束日期早于开始日期", "end_date is before start_date"),
    "rule.cohort_frequency": (
        "毕业期的频率必须与面板频率 '{freq}' 一致",
        "graduate cohort frequency must equal the panel frequency '{freq}'",
    ),
    "rule.graduate_sum": (
        "毕业生记录汇总与面板的 {column} 不一致，涉及 {n} 个单位-统计期：{detail}",
        "graduate records do not add up to the panel's {column} in {n} unit-periods: {detail}",
    ),
    "rule.le": (
        "{a}（{x}）不得大于同一行的 {b}（{y}）（分子 ≤ 分母）",
        "{a} ({x}) must not exceed {b} ({y}) in the same row (numerator ≤ denominator)",
    ),
    "rule.le_bool": ("{a} = 1 要求同一行 {b} = 1", "{a} = 1 needs {b} = 1 in the same row"),
    "rule.member_since_range": (
        "加入时间超出数据范围 {lo} – {hi}（{periods}）；从未加入的单位请留空",
        "member_since outside the data range {lo} – {hi} ({periods}); leave it empty for a never-member",
    ),
    "rule.always_member": (
        "加入时间早于数据起点（{first}）：视为各期均为成员，不参与加入效应的双重差分（没有加入前的统计期）",
        "member since before the data starts ({first}): a member in every period, left out of the membership DiD "
        "(no period before joining)",
    ),
    "rule.negative": ("必须 ≥ 0（人数和金额不能为负）", "must be ≥ 0 (counts and amounts cannot be negative)"),
    "rule.no_periods": ("没有可读的统计期", "no readable period labels"),
    "rule.not_date": ("不是日期（请写 YYYY-MM-DD，如 2023-12-05）", "not a date (write YYYY-MM-DD, e.g. 2023-12-05)"),
    "rule.not_number": (
        "不是数字（只写数字，不带单位或文字；未统计请留空）",
        "not a number (write digits only, no units or text; leave empty if not reported)",
    ),
    "rule.not_period": ("不是统计期：{detail}", "not a period label: {detail}"),
    "rule.period_label": (
        "{value} 不是统计期写法（请用 2024、2024H1、2024Q3、2024-07 或 2023-2024学年）",
        "{value} is not a period label (use 2024, 2024H1, 2024Q3 or 2024-07)",
    ),
    "rule.period_label_ay": (
        "{value} 不是统计期写法（请用 2024、2024H1、2024Q3、2024-07 或 2023-2024学年）",
        "{value} is not a period label (use 2024, 2024H1, 2024Q3, 2024-07 or 2023-2024学年)",
    ),
    "rule.not_bool": ("不是“是/否”值（是填 1，否填 0）", "not a yes/no value (write 1 for yes, 0 for no)"),
    "rule.old_excel": (
        "不读取旧版 Excel 格式：请另存为 .xlsx（Excel 工作簿）或 CSV UTF-8",
        "old Excel format is not read: save the file as .xlsx (Excel Workbook) or CSV UTF-8",
    ),
    "rule.optional_table": ("未提供可选表 '{table}'（{zh}）", "optional table '{table}' ({zh}) not provided"),
    "rule.mixed_declared": (
        "统计期频率与声明的频率（dataset.yaml）'{freq}' 不同：全表使用一种频率，或在 dataset.yaml 的 "
        "frequency_by_unit_type 中声明企业或园区自己的频率（频率混用）",
        "period of another frequency than the declared frequency (dataset.yaml) '{freq}': use one frequency "
        "throughout, or declare enterprises' or the park's own in dataset.yaml frequency_by_unit_type (mixed "
        "frequencies)",
    ),
    "rule.mixed_main": (
        "统计期频率与面板主要频率 '{freq}' 不同：全表使用一种频率，或在 dataset.yaml 的 "
        "frequency_by_unit_type 中声明企业或园区自己的频率（频率混用）",
        "period of another frequency than the panel's main frequency '{freq}': use one frequency throughout, "
        "or declare enterprises' or the park's own in dataset.yaml frequency_by_unit_type (mixed frequencies)",
    ),
    "rule.mixed_undeclared": (
        "类型为 {kind} 的单位填报了 {got} 统计期，而其频率为 {want}（dataset.yaml 的 frequency / "
        "frequency_by_unit_type）：请使用该类单位的频率，或在 frequency_by_unit_type 中另行声明",
        "a {got} period for a unit of type {kind}, whose frequency is {want} (dataset.yaml frequency / "
        "frequency_by_unit_type): use that unit type's frequency or declare another in frequency_by_unit_type",
    ),
    "rule.start_month": (
        "academic_year_start_month 必须是 1–12 的整数月份（9 = 九月）",
        "academic_year_start_month must be a whole month number 1–12 (9 = September)",
    ),
    "rule.frequency_by_unit_type": (
        "frequency_by_unit_type 须把 enterprise 或 park 对应到一种频率（{freqs}），如 {example}",
        "frequency_by_unit_type must map enterprise or park to a frequency ({freqs}), e.g. {example}",
    ),
    "rule.frequency_by_unit_type_alone": (
        "声明 frequency_by_unit_type 时还须声明 frequency（院校的统计口径）",
        "frequency_by_unit_type needs frequency (the colleges' calendar) declared too",
    ),
    "rule.not_alignable": (
        "指标 {indicator} 无法逐期对齐：其单位分别按 {freqs} 统计期填报（{what}）；请在日期窗口（阶段窗口或自然年）上"
        "汇总，各口径的统计期按重叠规则归入窗口",
        "indicator {indicator} cannot be aligned period by period: its units report on {freqs} periods "
        "({what}); aggregate it over date windows (phase windows or calendar years), which take each "
        "calendar's periods by the overlap rule",
    ),
    "rule.rate_range": (
        "比率超出 [0, 1]（比率请写小数，如 0.95；更好的做法是填写分子和分母两列）",
        "rate outside [0, 1] (give rates as fractions, e.g. 0.95; better, give the numerator and denominator "
        "columns instead)",
    ),
    "rule.required_column": ("缺少必填列 '{column}'（{zh}）", "required column '{column}' ({zh}) is missing"),
    "rule.required_table": (
        "缺少必需的表 '{table}'（{zh}）：请添加名为 {names} 的文件或工作表（.csv、.xlsx 或 .parquet）",
        "required table '{table}' ({zh}) is missing: add a file or sheet named {names} (.csv, .xlsx or .parquet)",
    ),
    "rule.utf16": (
        "文件为 UTF-16 文本（Excel 的“Unicode 文本”）；请另存为“CSV UTF-8（逗号分隔）”",
        "the file is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' (逗号分隔) instead",
    ),
    "rule.empty_file": ("文件为空（无表头、无数据）", "the file is empty (no header, no data)"),
    "rule.header_only": ("表只有表头，没有数据行", "the table has a header but no data rows"),
    "rule.encoding": (
        "文本既不是 UTF-8 也不是 GBK/GB18030：看起来像 {enc}。evalkit 不猜测编码（猜错会产生乱码）：请另存为“CSV UTF-8（逗号分隔）”",
        "the text is neither UTF-8 nor GBK/GB18030: it looks like {enc}. evalkit does not guess (a wrong guess "
        "gives garbled text): save it as 'CSV UTF-8' (CSV UTF-8 逗号分隔)",
    ),
    "rule.partner_type": (
        "该单位是{kind}，但 {column} 必须是类型为{want}的单位",
        "unit is a {kind}, but {column} must be a unit of type {want}",
    ),
    "rule.unknown_category": ("未知类别；可选值：{allowed}", "unknown category; allowed: {allowed}"),
    "rule.unknown_column": (
        "未知列，不属于数据模型：不读入数据表（可接受的列名见 data/README.md）",
        "unknown column, not part of the data model: kept out of the tables (see data/README.md for the accepted headers)",
    ),
    "rule.unknown_unit": (
        "未知单位：不是单位表中的单位代码（请在单位表中添加或更正代码）",
        "unknown unit: not a unit_id in the units table (add the unit there or correct the id)",
    ),
    "rule.evidence_missing": (
        "声称已建立（状态大于 0）但没有佐证：请填写文件文号、链接或文件名",
        "a claim (status above 0) without evidence: give a document number, link or file name",
    ),
    "rule.file_not_used": ("未使用该文件", "file not used"),
    "rule.file_not_table": (
        "未使用该文件：文件名不是表名（units/单位、panel/面板、graduates/毕业生、partnerships/校企合作、evidence/证据清单）",
        "file not used: its name is not a table name (units/单位, panel/面板, graduates/毕业生, "
        "partnerships/校企合作, evidence/证据清单)",
    ),
}
register(RULES)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for code, (_, en) in RULES.items():
        parts = re.split(r"\{(\w+)\}", en)
        rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((code, re.compile(f"^{rx}$", re.S)))
    return out


def translate(rule: str, lang: Lang = "zh") -> str:
    """``rule`` (as a check wrote it, in English) in ``lang``; unchanged when no template matches."""
    if lang == "en":
        return rule
    for code, pattern in _patterns():
        m = pattern.match(rule)
        if m:
            params = {k: translate(v, lang) for k, v in m.groupdict().items()}
            return text(code, lang, **params)
    return rule


def known(rule: str) -> bool:
    """Whether a template reads ``rule``."""
    return any(p.match(rule) for _, p in _patterns())


def format_report(report, lang: Lang = "en") -> str:
    """A :class:`~evalkit.data.dataset.ValidationReport` for people in ``lang`` (``en``: its own
    ``format()``; ``zh``: every line and rule in Chinese)."""
    if lang == "en":
        return report.format()
    from evalkit.data import messages as _messages  # noqa: F401 - registers the texts

    lines = [f"evalkit validate: {report.source}"]
    if report.ok and report.dataset is not None:
        lines.append(f"{text('cli.validate.ok', lang)} {report.dataset!r}")
        lines.append(f"fingerprint: {report.dataset.fingerprint}")
    else:
        lines.append(text("cli.validate.errors", lang, n=len(report.problems)))
        lines += _grouped(report.problems, lang)
    if report.warnings:
        lines.append(text("cli.validate.warnings", lang, n=len(report.warnings)))
        lines += _grouped(report.warnings, lang)
    if not report.ok:
        lines.append(text("cli.validate.hint", lang))
    return "\n".join(lines)


def _grouped(problems, lang: Lang) -> list[str]:
    out, last = [], None
    for p in problems:
        if p.file != last:
            out.append(f"  {p.file}")
            last = p.file
        where = []
        if p.row is not None:
            where.append(text("cli.where.row", lang, row=p.row))
        if p.column:
            where.append(text("cli.where.column", lang, column=p.column))
        value = text("cli.where.value", lang, value=repr(p.value)) if p.value is not None and p.value != "" else ""
        out.append(f"    - {'，'.join(where) or text('cli.where.file', lang)}{value}：{translate(p.rule, lang)}")
    return out

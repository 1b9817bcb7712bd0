"""The data room's messages in the i18n catalogue (Chinese, English): collection, the data
commands of the CLI and the validation rules (see :mod:`evalkit.data.rules_zh` for how a rule
found in English is shown in Chinese)."""

from __future__ import annotations

from evalkit.i18n import register

MESSAGES: dict[str, tuple[str, str]] = {
    # collect
    "collect.two_sheets": (
        "工作簿中有两张“{table}”表，只读取第一张",
        "two sheets hold the table {table}; only the first is read",
    ),
    "collect.no_table": (
        "文件中没有可识别的数据表（工作表或文件名应为 单位/面板/毕业生/校企合作/证据清单）",
        "no table found in the file (sheets or file names: units, panel, graduates, partnerships, evidence)",
    ),
    "collect.other_unit": (
        "该行属于其他单位；本文件为单位 {unit} 的报送",
        "a row of another unit; this file is the return of {unit}",
    ),
    "collect.conflicts": (
        "{n} 处冲突：同一单位同一统计期（或同一记录）在两个文件中数值不同；未写入任何数据",
        "{n} conflicts: the same unit and period (or record) has different values in two files; nothing was written",
    ),
    "collect.conflict": ("  {table} {key}：{a} 与 {b} 不一致", "  {table} {key}: {a} and {b} differ"),
    "collect.totals": (
        "已收回 {returned} 份，其中有效 {valid} 份、有问题 {problems} 份；未报送 {missing} 个单位。数据已写入 {out}",
        "returned {returned}, valid {valid}, with problems {problems}; missing {missing}. Data written to {out}",
    ),
    "collect.missing": ("未报送：{units}", "not returned: {units}"),
    # CLI
    "cli.validate.ok": ("通过 — 数据有效。", "OK — the data is valid."),
    "cli.validate.errors": ("错误 — {n} 个问题（数据有误，请逐条修改）：", "ERROR — {n} problems (correct each one):"),
    "cli.validate.warnings": ("{n} 条提示（数据仍可使用）：", "{n} warnings (the data can still be used):"),
    "cli.validate.hint": (
        "处理办法：按上面列出的文件、行号（与表格软件显示一致）和列修改单元格，然后再次运行 `evalkit validate PATH`。",
        "What to do: correct the cells listed above in the named files (row numbers are as shown in a "
        "spreadsheet program), then run `evalkit validate PATH` again.",
    ),
    "cli.where.row": ("第 {row} 行", "row {row}"),
    "cli.where.column": ("列 {column}", "column {column}"),
    "cli.where.file": ("文件", "file"),
    "cli.where.value": ("，值 {value}", ", value {value}"),
    "cli.template.one": ("已写入数据采集模板：{path}", "wrote the data-collection template: {path}"),
    "cli.template.units": (
        "已为 {n} 个单位（含联合体秘书处）写入报送工作簿：{out}",
        "wrote {n} unit workbooks (with the consortium office's) to {out}",
    ),
    "cli.synth.workbooks": (
        "已将合成联合体写为各单位报送工作簿：{out}",
        "wrote the synthetic consortium as the units' returned workbooks: {out}",
    ),
    "cli.synth.one": (
        "已写入合成联合体（种子 {seed}）：{out}",
        "wrote the synthetic consortium (seed {seed}) to {out}",
    ),
    "cli.synth.mixed_workbooks": (
        "--workbooks 只能写半年或学年数据；混合频率请直接写数据文件夹（evalkit synth --frequency mixed --out 文件夹）",
        "--workbooks writes half-year or academic-year returns only; write a mixed-frequency dataset as a folder "
        "(evalkit synth --frequency mixed --out FOLDER)",
    ),
    "cli.codebook": ("已写入变量手册：{path}", "wrote the codebook: {path}"),
    "cli.metrics.wrote": ("已写入 {n} 个指标值：{path}", "wrote {n} indicator values to {path}"),
}
register(MESSAGES)

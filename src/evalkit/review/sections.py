"""Section renderers, part 1: cover, key findings, data quality, targets dashboard, trends.

Each renderer turns a :class:`~evalkit.review.analysis.PhaseAnalysis` into HTML on a
:class:`~evalkit.review.html.Page` in the report's language. Renderers compute nothing new:
every number comes from the analysis, and every table they show is recorded on the page for
``results.json``.
"""

from __future__ import annotations

import contextlib
import contextvars
import string
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.i18n import label
from evalkit.review.analysis import NotEstimable, PhaseAnalysis
from evalkit.review.figures import attainment_png, trend_png
from evalkit.review.html import Page

BASIS = {
    "end": ("期末值（存量取期末，流量取截至期末的 12 个月）", "end (stock at the end; flow over the 12 months to it)"),
    "annual": ("窗口内年均值", "yearly average in the window"),
    "cumulative": ("窗口内累计值", "cumulative over the window"),
}


# comparison units by name while a review that asked for it renders (anonymised by default)
NAME_COMPARISONS: contextvars.ContextVar[bool] = contextvars.ContextVar("name_comparisons", default=False)


@contextlib.contextmanager
def naming(name_comparisons: bool):
    """Within the block, :func:`unit_label` names comparison units when ``name_comparisons``."""
    token = NAME_COMPARISONS.set(bool(name_comparisons))
    try:
        yield
    finally:
        NAME_COMPARISONS.reset(token)


# ---------------------------------------------------------------------- shared helpers
def ind_name(a: PhaseAnalysis, ind_id: str, lang: str) -> str:
    ind = a.registry.get(ind_id)
    return label(ind.name_zh, ind.name_en, lang)  # type: ignore[arg-type]


def ind_unit(a: PhaseAnalysis, ind_id: str, lang: str) -> str:
    ind = a.registry.get(ind_id)
    return label(ind.unit_zh or ind.unit, ind.unit, lang)  # type: ignore[arg-type]


def fmt_value(a: PhaseAnalysis, ind_id: str, value: float) -> str:
    """A value with the precision its unit deserves: counts whole, rates one decimal, money whole."""
    if value is None or pd.isna(value):
        return "—"
    ind = a.registry.get(ind_id)
    if ind.aggregation != "ratio":
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


def fmt_completion(attained: bool | None, completion: float) -> str:
    """Share of target, shown so that it never reads 100% while the target is missed."""
    if attained is None or pd.isna(completion):
        return "—"
    shown = np.floor(completion * 1000) / 10
    if not attained:
        shown = min(shown, 99.9)
    return f"{shown:.1f}%"


def unit_label(a: PhaseAnalysis, unit_id: str, lang: str, *, name_comparisons: bool | None = None) -> str:
    """Members by name; comparison units anonymised (对照院校 A, B, …) unless asked otherwise
    (``name_comparisons``, else the review's choice: :func:`naming`)."""
    if name_comparisons is None:
        name_comparisons = NAME_COMPARISONS.get()
    row = a.units.loc[a.units["unit_id"] == unit_id]
    if len(row) and not bool(row["member"].iloc[0]) and not name_comparisons:
        others = sorted(
            a.units.loc[(~a.units["member"]) & (a.units["unit_type"] == row["unit_type"].iloc[0]), "unit_id"]
        )
        i = others.index(unit_id)
        letter = string.ascii_uppercase[i % 26] + (str(i // 26) if i >= 26 else "")
        kind = {"college": ("对照院校", "Comparison college"), "enterprise": ("对照企业", "Comparison enterprise")}.get(
            str(row["unit_type"].iloc[0]), ("对照单位", "Comparison unit")
        )
        return label(f"{kind[0]}{letter}", f"{kind[1]} {letter}", lang)  # type: ignore[arg-type]
    return a.unit_name(unit_id, "en" if lang == "en" else "zh")


def ri_p(a: PhaseAnalysis, y: str) -> tuple[float, int] | None:
    """The randomization-inference p-value of the membership effect and its number of draws."""
    try:
        ri = a.randomization(y)
    except EvalkitError:
        return None
    return float(ri.p_value), int(ri.n_assignments if ri.exact else ri.reps)


def did_sentence(a: PhaseAnalysis, y: str, lang: str) -> tuple[str, str] | None:
    """The finding for the membership effect on ``y``: estimate and interval first, then the
    inference the design supports. With fewer than 30 clusters "significant" is said only when the
    randomization-inference p-value agrees (< 0.05) and the interval excludes zero."""
    try:
        res = a.did(y)
    except EvalkitError:
        return None
    if len(a.treated_units(y)) == 1:
        sentence = synthetic_sentence(a, y)
        if sentence:
            return sentence
    simple = res.aggregate("simple")
    lo, hi = simple.estimate - 1.96 * simple.se, simple.estimate + 1.96 * simple.se
    ind = a.registry.get(y)
    d = a.design
    excludes = lo > 0 or hi < 0
    ri = ri_p(a, y)
    if d["clusters"] >= 30:
        sig_zh = "，在 5% 水平显著" if excludes else "，在 5% 水平不显著"
        sig_en = "; significant at 5%" if excludes else "; not significant at 5%"
    elif ri is not None:
        p, n = ri
        agree = excludes and p < 0.05
        sig_zh = f"；仅 {d['clusters']} 所院校（聚类少于 30），以随机化推断为准：p = {p:.3f}（置换 {n} 次），" + (
            "在 5% 水平显著" if agree else "不能认为显著"
        )
        sig_en = (
            f"; with only {d['clusters']} colleges (fewer than 30 clusters) randomization inference decides: "
            f"p = {p:.3f} ({n} permutations), " + ("significant at 5%" if agree else "not significant")
        )
    else:
        sig_zh = f"；仅 {d['clusters']} 所院校（聚类少于 30），解析区间可能偏窄，不作显著性判断"
        sig_en = (
            f"; with only {d['clusters']} colleges (fewer than 30 clusters) the analytic interval may be too "
            "narrow: no claim of significance is made"
        )
    return (
        f"加入联合体对「{ind.name_zh}」的平均效应估计为 {simple.estimate:.3g} {ind.unit_zh}"
        f"（95% 置信区间 {lo:.3g} 至 {hi:.3g}；交错双重差分，截至 {a.as_of}）{sig_zh}。",
        f"Estimated average effect of membership on {ind.name_en}: {simple.estimate:.3g} {ind.unit} "
        f"(95% CI {lo:.3g} to {hi:.3g}; Callaway–Sant'Anna, as of {a.as_of}){sig_en}.",
    )


def synthetic_sentence(a: PhaseAnalysis, y: str) -> tuple[str, str] | None:
    """The finding when one college is treated: synthetic DiD with placebo inference."""
    try:
        sd = a.synthetic(y)
    except EvalkitError:
        return None
    lo, hi = sd.overall_ci()
    ind = a.registry.get(y)
    sig = lo > 0 or hi < 0
    return (
        f"只有一所成员院校，以合成双重差分为主：加入联合体对「{ind.name_zh}」的效应估计为 {sd.estimate:.3g} {ind.unit_zh}"
        f"（95% 置信区间 {lo:.3g} 至 {hi:.3g}，安慰剂标准误；截至 {a.as_of}），"
        + ("区间不含 0。" if sig else "区间含 0，不能认为有效应。"),
        f"One member college: synthetic DiD leads. Estimated effect of membership on {ind.name_en}: {sd.estimate:.3g} "
        f"{ind.unit} (95% CI {lo:.3g} to {hi:.3g}, placebo SEs; as of {a.as_of}); "
        + ("the interval excludes zero." if sig else "the interval includes zero: no effect can be claimed."),
    )


def design_caveats(a: PhaseAnalysis) -> list[tuple[str, str]]:
    """Identification caveats generated from the design the analysis sees."""
    d = a.design
    out = []
    if d["comparison_all_outside_city"] and d["members_all_in_city"]:
        out.append(
            (
                f"所有成员院校都在{d['city']}，所有对照院校都在{d['city']}以外：全市范围的冲击（政策、经济）无法与加入联合体的效应区分。",
                f"Every member college is in {d['city']} and every comparison college outside it: a city-wide "
                "shock cannot be separated from membership.",
            )
        )
    if d["single_unit_cohorts"]:
        out.append(
            (
                f"加入批次 {'、'.join(d['single_unit_cohorts'])} 只有一所院校：这些批次的效应由单一院校决定。",
                f"Cohorts {', '.join(d['single_unit_cohorts'])} have a single college each: their effects rest on one unit.",
            )
        )
    if d["members"] == 0:
        out.append(
            (
                f"截至 {a.as_of} 尚无院校加入，无法估计成员身份的效应。",
                f"No college had joined by {a.as_of}: no membership effect can be estimated.",
            )
        )
    for y in a.methods.did_outcomes:
        try:
            _, pval, _, n_pre = a.pretest(y)
        except EvalkitError:
            continue
        if pval is None and n_pre:
            out.append(
                (
                    f"「{a.registry.get(y).name_zh}」的平行趋势联合预检验无法计算（协方差矩阵奇异）。",
                    f"The joint pre-trend test for {a.registry.get(y).name_en} cannot be computed (singular covariance).",
                )
            )
    return out


# ---------------------------------------------------------------------- sections
def cover(a: PhaseAnalysis, p: Page, provenance: list[tuple[str, str, str]], *, table: bool = True) -> None:
    """Title, the synthetic-data banner, window, as-of date, baseline, data; the provenance table
    (or, with ``table=False``, only the data fingerprint: the table is then in the annex)."""
    ph, ds = a.phase, a.dataset
    p.show(f"<h1>{p.esc(p.t(ph.title_zh, ph.title_en))}</h1>")
    name = ds.meta.get("name_en") if p.lang == "en" else ds.meta.get("name_zh")
    p.show(f"<p style='font-size:1.15em'>{p.esc(str(name or ds.name))}</p>")
    if ds.synthetic:
        p.banner(
            "⚠ 合成数据：本报告基于模拟生成的数据，所有数字均非真实统计，不得引用。",
            "⚠ SYNTHETIC DATA: this review runs on generated data; no figure in it is a real statistic.",
        )
    b0, b1 = a.baseline
    last = ds.periods[-1]
    p.bullets(
        [
            (f"评估窗口：{ph.start} 至 {ph.end}", f"Window: {ph.start} to {ph.end}"),
            (
                f"信息截止日：{a.as_of}；本报告只使用截至该日已知的数据（最后统计期 {last.label}，止于 {last.end}）。",
                f"As of {a.as_of}: the review uses only what was known by then (last period {last.label}, ending {last.end}).",
            ),
            (f"基线：{b0} 至 {b1}", f"Baseline: {b0} to {b1}"),
            (
                f"数据：{len(ds.units)} 个单位，{len(ds.periods)} 个统计期（{ds.periods[0].label}–{last.label}）",
                f"Data: {len(ds.units)} units, {len(ds.periods)} periods ({ds.periods[0].label}–{last.label})",
            ),
        ]
    )
    if ph.notes:
        p.note(ph.notes, ph.notes)
    if table:
        provenance_table(p, provenance)
    else:
        fp = dict((en, v) for _, en, v in provenance).get("data fingerprint (SHA-256)", "—")
        p.note(f"数据指纹（SHA-256）：{fp}", f"Data fingerprint (SHA-256): {fp}")


def provenance_table(p: Page, provenance: list[tuple[str, str, str]]) -> None:
    prov = pd.DataFrame(
        [(p.t(zh, en), value) for zh, en, value in provenance], columns=[p.t("项目", "item"), p.t("内容", "value")]
    )
    p.table(prov, "报告来源信息", "Provenance", table_id="provenance")


def key_findings(a: PhaseAnalysis, p: Page, *, targets: bool = True) -> None:
    """The findings; ``targets=False`` leaves out the per-target lines (the chapters show them)."""
    p.heading("主要发现", "Key findings")
    items: list[tuple[str, str]] = []
    tg = a.targets
    judged = tg[tg["attained"].notna()]
    if len(tg) and targets:
        met = int(judged["attained"].astype(bool).sum())
        items.append(
            (
                f"阶段目标：{len(judged)} 项可评估目标中达成 {met} 项（截至 {a.as_of}）。",
                f"Targets: {met} of {len(judged)} assessable targets attained (as of {a.as_of}).",
            )
        )
        for r in judged.itertuples():
            ind = a.registry.get(r.indicator)
            act, tgt = fmt_value(a, r.indicator, r.actual), fmt_value(a, r.indicator, r.target)
            comp = fmt_completion(bool(r.attained), r.completion)
            if r.attained:
                items.append(
                    (
                        f"{ind.name_zh}：实际 {act}，目标 {tgt}，已达成（完成度 {comp}）。",
                        f"{ind.name_en}: {act} against a target of {tgt}, attained ({comp}).",
                    )
                )
            else:
                items.append(
                    (
                        f"{ind.name_zh}：实际 {act}，目标 {tgt}，未达成（完成度 {comp}）。",
                        f"{ind.name_en}: {act} against {tgt}, not attained ({comp} of target).",
                    )
                )
        missing = tg[tg["attained"].isna()]
        if len(missing):
            items.append(
                (
                    "无数据的目标：" + "、".join(a.registry.get(i).name_zh for i in missing["indicator"]),
                    "Targets without data: " + ", ".join(a.registry.get(i).name_en for i in missing["indicator"]),
                )
            )
    for y in a.methods.did_outcomes:
        sentence = did_sentence(a, y, p.lang)
        if sentence:
            items.append(sentence)
    items += design_caveats(a)
    try:
        scores = a.composite["scores"]
        top = scores.sort_values(ascending=False).index[0]
        items.append(
            (
                f"综合融合指数最高的院校：{unit_label(a, top, 'zh')}。",
                f"Highest composite integration index: {unit_label(a, top, 'en')}.",
            )
        )
    except NotEstimable:
        pass
    try:
        ccd = a.ccd
        row, first = ccd.iloc[-1], ccd.iloc[0]
        items.append(
            (
                f"教育与产业两系统耦合协调度（{row['period']}年）D = {row['D']:.3f}，属「{row['band_zh']}」"
                f"（{first['period']}年为 {first['D']:.3f}，「{first['band_zh']}」）。",
                f"Education–industry coupling coordination ({row['period']}): D = {row['D']:.3f}, '{row['band']}' "
                f"({first['period']}: {first['D']:.3f}, '{first['band']}').",
            )
        )
    except NotEstimable:
        pass
    p.bullets(items)


def data_quality(a: PhaseAnalysis, p: Page, *, min_cell: int) -> None:
    from evalkit.data.schema import UNIT_TYPES_ZH
    from evalkit.privacy import gate_problems

    p.heading("数据质量", "Data quality")
    u = a.units
    counts = (
        u.assign(status=u["member"].map({True: p.t("成员", "member"), False: p.t("对照", "comparison")}))
        .groupby(["unit_type", "status"])
        .size()
        .rename("n")
        .reset_index()
    )
    if p.lang != "en":
        counts["unit_type"] = counts["unit_type"].map(lambda x: UNIT_TYPES_ZH.get(x, x))
    counts.columns = [p.t("单位类型", "unit type"), p.t("身份", "status"), p.t("单位数", "units")]
    p.table(counts, f"单位构成（截至 {a.as_of}）", f"Units by type and membership (as of {a.as_of})", table_id="units")
    cov = a.coverage
    missing, na = int(cov["missing"].sum()), int(cov["not_applicable"].sum())
    if missing == 0 and na == 0:
        p.paragraph("所有指标在所有单位×统计期均有数据。", "Every indicator is reported for every unit and period.")
    else:
        p.paragraph(
            f"指标 × 单位 × 统计期共 {int(cov['cells'].sum()):,} 个单元格：缺失 {missing:,} 个，"
            f"不适用 {na:,} 个（分母为 0，如下半年无毕业生时的毕业生指标）。",
            f"{int(cov['cells'].sum()):,} indicator × unit × period cells: {missing:,} missing, {na:,} not "
            "applicable (denominator 0, e.g. graduate indicators in half-years without graduation).",
        )
        show = cov[(cov["missing"] > 0) | (cov["not_applicable"] > 0)]
        t = pd.DataFrame(
            {
                p.t("指标", "indicator"): [ind_name(a, i, p.lang) for i in show["indicator"]],
                p.t("应有", "cells"): show["cells"].astype(int).to_numpy(),
                p.t("已报", "reported"): show["reported"].astype(int).to_numpy(),
                p.t("不适用", "not applicable"): show["not_applicable"].astype(int).to_numpy(),
                p.t("缺失", "missing"): show["missing"].astype(int).to_numpy(),
                p.t("缺失统计期", "periods with gaps"): [
                    ", ".join(x) if isinstance(x, list) else "—" for x in show["missing_periods"]
                ],
            }
        )
        p.table(
            t, "各指标的数据覆盖（单位 × 统计期）", "Coverage of each indicator (unit × period)", table_id="coverage"
        )
    if a.dataset.graduates is not None:
        p.paragraph(
            f"毕业生个体记录 {len(a.dataset.graduates):,} 条，仅以汇总形式使用；少于 {min_cell} 人的单元格不予显示。",
            f"{len(a.dataset.graduates):,} graduate records, used only in aggregate; cells of fewer than {min_cell} graduates are suppressed.",
        )
    # the review's data is re-validated after the as-of cut: its row numbers are not the files'
    warnings = gate_problems(a.dataset.warnings, min_cell=min_cell, rows=False)
    if len(warnings):
        w = warnings.rename(
            columns={
                "file": p.t("文件", "file"),
                "row": p.t("行", "row"),
                "column": p.t("列", "column"),
                "rule": p.t("说明", "rule"),
                "count": p.t("条数", "count"),
            }
        )
        p.table(
            w,
            "数据校验提示（不影响运行；按表、列、规则汇总条数，各行请运行 evalkit validate 查看）",
            "Validation warnings (not blocking; counted by table, column and rule — `evalkit validate` lists the rows)",
            table_id="validation_warnings",
        )
    else:
        p.paragraph("数据校验：无错误、无警告。", "Validation: no errors, no warnings.")


def dashboard(a: PhaseAnalysis, p: Page, *, min_cell: int) -> None:
    p.heading("指标仪表盘：目标与基线", "Indicator dashboard: targets and baseline")
    tg = a.targets
    if len(tg):

        def change(r) -> str:
            if pd.isna(r.change):
                return "—"
            unit = p.t("个百分点", " pp") if r.change_unit == "pp" else ""
            return f"{'+' if r.change > 0 else ''}{fmt_value(a, r.indicator, r.change)}{unit}"

        show = pd.DataFrame(
            {
                p.t("指标", "indicator"): [ind_name(a, i, p.lang) for i in tg["indicator"]],
                p.t("单位", "unit"): [ind_unit(a, i, p.lang) for i in tg["indicator"]],
                p.t("口径", "basis"): [p.t(*BASIS[b]) for b in tg["basis"]],
                p.t("数据期间", "data period"): [f"{s} – {e}" for s, e in zip(tg["period_start"], tg["period_end"])],
                p.t("基线", "baseline"): [fmt_value(a, i, v) for i, v in zip(tg["indicator"], tg["baseline"])],
                p.t("实际", "actual"): [fmt_value(a, i, v) for i, v in zip(tg["indicator"], tg["actual"])],
                p.t("目标", "target"): [fmt_value(a, i, v) for i, v in zip(tg["indicator"], tg["target"])],
                p.t("完成度", "share of target"): [
                    fmt_completion(x if pd.notna(x) else None, c) for x, c in zip(tg["attained"], tg["completion"])
                ],
                p.t("达成情况", "status"): [
                    p.t("无数据", "no data")
                    if pd.isna(x)
                    else (p.t("已达成", "attained") if x else p.t("未达成", "not attained"))
                    for x in tg["attained"]
                ],
                p.t("较基线变化", "change vs baseline"): [change(r) for r in tg.itertuples()],
            }
        )
        p.table(
            show,
            "阶段目标达成情况（成员院校合计）",
            "Targets of the phase (member colleges together)",
            table_id="targets",
        )
        p.figure(
            attainment_png(a, p.lang),
            "目标完成度（1 = 恰好达成）",
            "Share of target (1 = exactly met)",
        )
    else:
        p.paragraph("本阶段参数文件未设定目标。", "The params file sets no targets for this phase.")
    rows = []
    for ind in a.registry:
        if ind.role == "context" or ind.unit_type != "college":
            continue

        def val(group: str, window: str, ind_id: str = ind.id) -> str:
            return fmt_value(a, ind_id, a.window_value_of.get(("membership", group, window, ind_id), np.nan))

        rows.append(
            {
                p.t("指标", "indicator"): ind_name(a, ind.id, p.lang),
                p.t("单位", "unit"): ind_unit(a, ind.id, p.lang),
                p.t("成员·基线", "members · baseline"): val("member", "baseline"),
                p.t("成员·本阶段", "members · phase"): val("member", a.phase.phase_id),
                p.t("对照·基线", "comparison · baseline"): val("comparison", "baseline"),
                p.t("对照·本阶段", "comparison · phase"): val("comparison", a.phase.phase_id),
            }
        )
    p.table(
        pd.DataFrame(rows),
        "成员院校与对照院校：基线与本阶段（流量为年均值）",
        "Member vs comparison colleges: baseline and phase (flows per year)",
        table_id="members_vs_comparison",
    )
    grad = graduate_table(a, p, min_cell=min_cell)
    if not len(grad):
        p.note(
            "本阶段窗口内没有毕业季（毕业生指标只在上半年观测），不列各院校毕业生去向。",
            "No graduation falls in this phase's window (graduate indicators are observed in first half-years only).",
        )
    else:
        p.table(
            grad,
            f"各院校毕业生去向（本阶段；少于 {min_cell} 人的单元格不予显示）",
            f"Graduate outcomes by college (this phase; cells of fewer than {min_cell} graduates suppressed)",
            table_id="graduate_outcomes",
            floatfmt="{:,.1f}",
        )
    p.note(
        "比率类指标由汇总后的分子、分母重新计算，而非对各单位比率取平均；存量取窗口最后一期，流量为窗口内年均值；比率的变化以百分点计。",
        "Ratios are recomputed from summed numerators and denominators (never averaged); stocks are taken at the window's "
        "last period, flows are annual averages over the window; changes of rates are in percentage points.",
    )


def graduate_table(a: PhaseAnalysis, p: Page, *, min_cell: int) -> pd.DataFrame:
    """Graduate-based indicators per college for this phase, through the privacy gate."""
    from evalkit.privacy import suppress_small_cells

    ids = [i.id for i in a.registry if i.graduate_based and i.unit_type == "college" and i.denominator]
    v = a.group_values("unit", a.phase.phase_id)
    v = v[v["indicator"].isin(ids)]
    if not len(v) or not (v["n"].fillna(0) > 0).any():
        return pd.DataFrame()
    safe = suppress_small_cells(
        v[["group", "indicator", "value", "n"]], n_col="n", value_cols=["value"], min_cell=min_cell
    )
    wide = safe.pivot(index="group", columns="indicator", values="value")
    counts = v.groupby("group")["n"].max()
    out = pd.DataFrame(
        {
            p.t("院校", "college"): [unit_label(a, u, p.lang) for u in wide.index],
            p.t("毕业生数", "graduates"): [
                f"{c:,.0f}" if c >= min_cell else f"<{min_cell}" for c in counts.reindex(wide.index).fillna(0)
            ],
        }
    )
    for c in ids:
        if c in wide.columns:
            out[f"{ind_name(a, c, p.lang)} ({ind_unit(a, c, p.lang)})"] = wide[c].to_numpy(dtype="float64")
    return out


def trends(a: PhaseAnalysis, p: Page, indicators: list[str] | None = None) -> None:
    p.heading("趋势：成员与对照", "Trends: members and comparison")
    if indicators is None:
        wanted = list(dict.fromkeys([*a.methods.did_outcomes, *a.methods.twfe_inputs, *a.phase.targets]))
        indicators = [i for i in wanted if i in a.registry.ids][:6]
    p.figure(
        trend_png(a, indicators, p.lang),
        f"主要指标趋势（截至 {a.as_of}；阴影：各建设阶段）",
        f"Main indicators over time (as of {a.as_of}; shaded: build phases)",
    )


def relative_name(path: Path | str | None, base: Path | None = None) -> str:
    """A path as shown in a report: relative to ``base`` (or the working folder), else its name."""
    if not path:
        return "—"
    path = Path(path)
    for root in (base, Path.cwd()):
        if root is None:
            continue
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return path.name

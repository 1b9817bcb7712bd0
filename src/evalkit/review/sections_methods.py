"""Section renderers, part 3: the methods appendix (written from what ran: ``methods_ran()``
and the results' own settings, never from the params text), the truth-recovery citation, and the
technical annex (estimators the truth-recovery study does not support in the main body), with
the label tables that translate method names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.review.analysis import PhaseAnalysis
from evalkit.review.html import Page
from evalkit.review.sections import ind_name

NORMALISATION = {
    "minmax": ("极差（min–max）", "min–max"),
    "zscore": ("z 分数", "z-score"),
    "rank": ("秩", "rank"),
    "target": ("目标距离", "distance to target"),
    "vector": ("向量", "vector"),
}
WEIGHTING = {
    "equal": ("等权", "equal"),
    "entropy": ("熵权（经典形式）", "entropy (classic form)"),
    "entropy_minmax": ("熵权（正向化极差形式）", "entropy (min–max form)"),
    "ahp": (
        "层次分析法（AHP：四个合作之间；合作内各指标等权）",
        "AHP (between the four cooperations; equal within each)",
    ),
    "pca": ("主成分", "PCA"),
    "critic": ("CRITIC", "CRITIC"),
    "expert": ("专家赋权", "expert"),
}
AGGREGATION = {
    "arithmetic": ("算术加权", "arithmetic"),
    "geometric": ("几何加权", "geometric"),
    "harmonic": ("调和加权", "harmonic"),
}
CONTROL = {"never": ("从未加入者", "never members"), "notyet": ("尚未加入者", "not-yet members")}
VCOV = {
    "iid": ("经典（同方差）", "classical (iid)"),
    "HC1": ("异方差稳健 HC1", "heteroskedasticity-robust HC1"),
    "CRV1": ("按院校聚类 CRV1", "clustered by college, CRV1"),
    "CRV3": ("按院校聚类 CRV3（刀切法）", "clustered by college, CRV3 (jackknife)"),
}


def _pair(table: dict[str, tuple[str, str]], key: Any) -> tuple[str, str]:
    return table.get(str(key), (str(key), str(key)))


_DID_ENGINE = {
    "evalkit": (
        "evalkit 的实现：无协变量时双重稳健估计即处理组与对照组结果变化均值之差，聚合方式与 R did 的 aggte 相同",
        "evalkit's implementation: without covariates the doubly robust estimate is the difference of mean "
        "outcome changes; aggregated as R did's aggte",
    ),
    "csdid": ("csdid", "csdid"),
}


_TWFE_ENGINE = {
    "evalkit": ("evalkit 的实现，抽样与 wildboottest 相同", "evalkit's implementation, drawing as wildboottest does"),
    "pyfixest": ("pyfixest 与 wildboottest", "pyfixest and wildboottest"),
}


def _did_engine(r: dict[str, Any], lang: int) -> str:
    """The code that estimated the DiD (``methods_ran()['did_engine']``), in words."""
    engines = r.get("did_engine") or []
    if not engines:
        return ("本期没有可估计的结果指标", "no outcome could be estimated this period")[lang]
    names = ("；" if lang == 0 else "; ").join(_DID_ENGINE[e][lang] for e in engines)
    return names + (("（视指标而定）", " (by outcome)")[lang] if len(engines) > 1 else "")


def _vcov_kind(vcov: Any) -> str:
    text = str(vcov)
    for k in ("CRV3", "CRV1", "HC1", "iid"):
        if k in text:
            return k
    return text


def appendix(a: PhaseAnalysis, p: Page, *, min_cell: int) -> None:
    """Methods as they ran, then the registry's definitions."""
    p.heading("附录：方法与指标定义", "Appendix: methods and indicator definitions")
    r = a.methods_ran()
    norm, wt, agg = (
        _pair(NORMALISATION, r["normalisation"]),
        _pair(WEIGHTING, r["weighting"]),
        _pair(AGGREGATION, r["aggregation"]),
    )
    items = [
        (
            f"信息截止：本报告只使用截至 {a.as_of} 已知的数据（统计期结束日不晚于该日；此后加入的单位视为尚未加入）。",
            f"As-of rule: only data known by {a.as_of} is used (periods ending by then; units joining later count as not yet members).",
        ),
        (
            "统计期与阶段：一个统计期归入与其重叠的阶段窗口；与两个窗口重叠时归入重叠天数较多者（相同则归前者）。",
            "Periods and phases: a period belongs to the window it overlaps; when it overlaps two, to the one it overlaps most (ties: the earlier).",
        ),
        calendars_item(a),
        (
            "目标口径：期末值（存量取窗口最后一期，流量取截至该期的 12 个月）、年均值或累计值，见各目标的“口径”列；比率的变化以百分点计；人数、个数取整。",
            "Target bases: end (stock at the window's last period, flow over the 12 months to it), annual or cumulative, as the basis column says; "
            "changes of rates in percentage points; persons and units are whole numbers.",
        ),
        (
            f"综合指数：{norm[0]}标准化（按指标方向{'，极差标准化至 [{:g}, {:g}]'.format(*r['normalisation_bounds']) if r['normalisation'] == 'minmax' else ''}），{wt[0]}"
            + (f"（熵权平移量 {r['entropy_shift']}）" if "entropy" in str(r["weighting"]) else "")
            + f"，{agg[0]}汇总；TOPSIS 采用{_pair(NORMALISATION, r['topsis_normalisation'])[0]}标准化；"
            f"排名不确定性为 {r['uncertainty_runs']} 次蒙特卡洛（随机种子 {r['seed']}）；"
            f"5%–95% 区间端点为经验分位数，其覆盖概率的蒙特卡洛标准误为 √(0.05×0.95/{r['uncertainty_runs']}) = "
            f"{np.sqrt(0.0475 / max(1, r['uncertainty_runs'])):.3f}。",
            f"Composite index: {norm[1]} normalisation (with direction{', onto [{:g}, {:g}]'.format(*r['normalisation_bounds']) if r['normalisation'] == 'minmax' else ''}), {wt[1]} weights"
            + (f" (entropy shift {r['entropy_shift']})" if "entropy" in str(r["weighting"]) else "")
            + f", {agg[1]} aggregation; TOPSIS with {_pair(NORMALISATION, r['topsis_normalisation'])[1]} normalisation; "
            f"rank uncertainty from {r['uncertainty_runs']} Monte Carlo variants (seed {r['seed']}); the 5–95% bounds are "
            f"empirical quantiles whose coverage has a Monte Carlo SE of √(0.05×0.95/{r['uncertainty_runs']}) = "
            f"{np.sqrt(0.0475 / max(1, r['uncertainty_runs'])):.3f}.",
        ),
        (
            f"耦合协调度：{'标准形式' if r['ccd_form'] == 'standard' else '王淑佳等（2021）修正形式'}；子系统权重为熵权（{r['entropy_form']} 形式）"
            "；协调等级为十级（每 0.1 一级）。",
            f"Coupling coordination: {r['ccd_form']} form; subsystem weights by entropy ({r['entropy_form']} form); ten bands of 0.1.",
        ),
        (
            f"交错双重差分：Callaway–Sant'Anna（{_did_engine(r, 0)}；与 R did 包一致：双重稳健、变动基期、{'乘数自助法' if r['did_se'] != 'analytic' else '解析'}标准误），"
            f"对照组为{_pair(CONTROL, r['did_control'])[0]}；仅在部分统计期观测的指标（如毕业生指标只在上半年）使用其观测期构成平衡面板。",
            f"Staggered DiD: Callaway–Sant'Anna ({_did_engine(r, 1)}; at parity with R did: doubly robust, varying base period, {r['did_se'].replace('_', ' ')} SEs), "
            f"controls: {_pair(CONTROL, r['did_control'])[1]}; outcomes observed only in some periods use those periods as a balanced panel.",
        ),
        (
            f"隐私：毕业生个体记录只以汇总形式出现；少于 {min_cell} 人的单元格与基于个人记录的校验提示均不显示具体数值。",
            f"Privacy: graduate records appear only in aggregate; cells of fewer than {min_cell} graduates and validation messages about person records show no values.",
        ),
    ]
    if r["ri_reps"]:
        items.append(
            (
                "随机化推断：在面板中的全部院校之间置换各院校的加入批次（保持各批次院校数不变），每种分配重新估计 "
                f"Callaway–Sant'Anna 总体效应；p 值为 |估计| 不小于观测值的比例（蒙特卡洛时为 (1+#)/(1+R)，R = {r['ri_reps']}，"
                f"随机种子 {r['seed']}；p 值的蒙特卡洛标准误见正文表格）。",
                "Randomization inference: each college's joining cohort is permuted among all colleges of the panel "
                "(cohort sizes kept) and the Callaway–Sant'Anna overall effect re-estimated; p is the share with |estimate| "
                f"at least the observed ((1+#)/(1+R) by Monte Carlo, R = {r['ri_reps']}, seed {r['seed']}; its Monte Carlo "
                "standard error is in the table).",
            )
        )
    items.append(
        (
            "只有一所成员院校时，以合成双重差分（Arkhangelsky 等 2021，synthdid 算法）为主，安慰剂标准误"
            f"（把处理指派给随机选出的对照院校，{max(r['ri_reps'], 50)} 次，随机种子 {r['seed']}）；多所成员院校时以交错双重差分为主。",
            "With one member college, synthetic DiD (Arkhangelsky et al. 2021, the synthdid algorithm) leads with placebo "
            f"standard errors (treatment given to randomly chosen comparison colleges, {max(r['ri_reps'], 50)} draws, seed "
            f"{r['seed']}); with several, the staggered DiD leads.",
        )
    )
    if r["sensitivity"]:
        items.append(
            (
                "平行趋势敏感性：Rambachan–Roth（2023）平滑性限制下的稳健区间（FLCI，M̄ = 0.5、1、2），"
                "以及 Roth（2022）预检验功效（逐期检验可检出的线性预趋势斜率，功效 50%、80%）。",
                "Parallel-trends sensitivity: Rambachan–Roth (2023) intervals under the smoothness restriction (FLCI, "
                "M̄ = 0.5, 1, 2) and Roth (2022) pre-test power (the linear pre-trend slope the per-period tests detect "
                "with 50% and 80% power).",
            )
        )
    if r["weighting"] == "ahp":
        items.append((f"AHP 随机一致性指标表：{r['ri_table']}。", f"AHP random-index table: {r['ri_table']}."))
    items += truth_items()
    p.bullets(items)
    # the definitions as an escaped table, never as Markdown: names from a user's registry are text
    from evalkit.indicators.registry import AGGREGATION_TEXT

    lang = "en" if p.lang == "en" else "zh"
    k = 0 if lang == "zh" else 1
    defs = pd.DataFrame(
        [
            {
                p.t("代码", "id"): ind.id,
                p.t("指标", "indicator"): ind.name_zh if lang == "zh" else ind.name_en,
                p.t("计算公式", "formula"): ind.formula(lang),
                p.t("单位", "unit"): (ind.unit_zh or ind.unit) if lang == "zh" else ind.unit,
                p.t("方向", "direction"): p.t("正向", "higher is better")
                if ind.direction == 1
                else p.t("逆向", "lower is better"),
                p.t("汇总方式", "aggregation"): AGGREGATION_TEXT[ind.aggregation][k],
                p.t("依据", "source"): ind.source,
            }
            for ind in a.registry
        ]
    )
    p.table(defs, "指标定义", "Indicator definitions", table_id="indicator_definitions", max_rows=len(defs) + 1)
    p.note(
        "注：比率类指标先分别汇总分子与分母（流量求和、存量取期末），再相除，不对比率取平均。",
        "Note: ratios are recomputed from aggregated numerators and denominators (flows summed, stocks "
        "at the window's end), never averaged.",
    )


def calendars_item(a: PhaseAnalysis) -> tuple[str, str]:
    """Which calendar each kind of unit's data are on (``dataset.yaml`` ``frequency``,
    ``frequency_by_unit_type``, ``academic_year_start_month``) and, for two, the alignment rule."""
    from evalkit.data.calendars import describe

    zh, en = describe(a.dataset.calendars)
    return f"统计口径：{zh}", f"Calendars: {en}"


def truth_items() -> list[tuple[str, str]]:
    """The truth-recovery table the main body's estimators rest on (bench/truth_recovery.py)."""
    from evalkit.review.truth import main_body_rows

    rows = main_body_rows()
    if not rows:
        return []
    zh = "；".join(
        f"{r['estimator']}（{r['outcome']}，{r['n_seeds']} 次）：偏差/标准误 {r['bias_over_se']:+.2f}，"
        f"95% 覆盖率 {r['coverage']:.3f}"
        for r in rows
    )
    en = "; ".join(
        f"{r['estimator']} ({r['outcome']}, {r['n_seeds']} seeds): bias/SE {r['bias_over_se']:+.2f}, "
        f"95% coverage {r['coverage']:.3f}"
        for r in rows
    )
    return [
        (
            "真值恢复研究（bench/truth_recovery.py，已知真值的合成联合体与单一处理城市）：正文只展示偏差小于 0.2 个标准误且"
            f"覆盖率在 0.90–0.97 之间的估计量。{zh}。",
            "Truth-recovery study (bench/truth_recovery.py, synthetic consortia and one-treated-city panels with known "
            f"effects): the main body shows only estimators with |bias| < 0.2 SE and 95% coverage in 0.90–0.97. {en}.",
        )
    ]


def annex(a: PhaseAnalysis, p: Page) -> None:
    """Technical annex: the input→outcome TWFE and the exploratory drivers, with their caveats."""
    p.heading("技术附录：投入与成效的关联（不作因果解读）", "Technical annex: inputs and outcomes (not causal)")
    p.note(
        "真值恢复研究表明：在合成数据中，成员身份同时影响投入与成效，以投入对成效的双向固定效应回归有偏，区间覆盖不足；以下结果仅供技术审阅。",
        "The truth-recovery study shows that when membership drives both inputs and outcomes (as in the synthetic data), "
        "a two-way fixed-effects regression of outcomes on inputs is biased and its intervals under-cover: for technical review only.",
    )
    if not a.methods.twfe_outcomes:
        p.paragraph("参数文件未指定回归模型。", "The params file names no regression.")
    for y in a.methods.twfe_outcomes:
        try:
            res = a.twfe(y)
        except EvalkitError as exc:
            p.fail_soft(f"「{ind_name(a, y, 'zh')}」无法估计：", f"{ind_name(a, y, 'en')} cannot be estimated:", exc)
            continue
        kind = _vcov_kind(res.vcov)
        vz, ve = _pair(VCOV, kind)
        tidy = res.tidy()
        cols = {
            "term": ("变量", "term"),
            "estimate": ("估计值", "estimate"),
            "se": (f"标准误（{kind}）", f"SE ({kind})"),
            "ci_low": ("95% 下限", "CI low"),
            "ci_high": ("95% 上限", "CI high"),
            "p": (f"p 值（{kind}）", f"p ({kind})"),
            "se_crv3": ("标准误（CRV3）", "SE (CRV3)"),
            "p_crv3": ("p 值（CRV3）", "p (CRV3)"),
            "p_wild": ("p 值（野聚类自助）", "p (wild bootstrap)"),
        }
        keep = [c for c in cols if c in tidy.columns and not (c in ("se_crv3", "p_crv3") and kind == "CRV3")]
        show = tidy[keep].copy()
        show["term"] = [ind_name(a, t, p.lang) if t in a.registry.ids else t for t in show["term"]]
        show = show.rename(columns={c: p.t(*cols[c]) for c in keep})
        p.table(
            show,
            f"因变量：{ind_name(a, y, 'zh')}（院校 × 统计期，院校与统计期固定效应，{vz}，n = {res.n}）",
            f"Outcome: {ind_name(a, y, 'en')} (college × period, college and period fixed effects, {ve}, n = {res.n})",
            table_id=f"twfe_{y}",
            floatfmt="{:.4g}",
        )
        for w in _warning_texts(res, p.lang):
            p.note(w, w)
        reps = res.info.get("wild_reps")
        if reps and "p_wild" in tidy.columns and tidy["p_wild"].notna().any():
            pw = tidy["p_wild"].dropna().to_numpy(float)
            by = _TWFE_ENGINE[res.info.get("engine", "pyfixest")]
            # the tie rule is evalkit's; wildboottest leaves such a tie to its floating-point comparison
            rule = (
                (
                    "p 为 |t*| 大于 |t| 的抽样比例；权重全部同号的抽样复现原样本（t* = ±t），不计为超过",
                    "p is the share of draws with |t*| above |t|; a draw with all weights equal reproduces the "
                    "sample (t* = ±t) and does not count",
                )
                if res.info.get("engine") == "evalkit"
                else (
                    "p 为 |t*| 大于 |t| 的抽样比例；复现原样本的抽样（t* = ±t）是否计入由 wildboottest 的浮点比较决定",
                    "p is the share of draws with |t*| above |t|; whether a draw reproducing the sample (t* = ±t) "
                    "counts is left to wildboottest's floating-point comparison",
                )
            )
            if res.info.get("wild_enumerated"):
                p.note(
                    f"野聚类自助 p 值（WCR11，{by[0]}）枚举全部 {reps} 种 Rademacher 符号组合（2^G 小于所设抽样次数），"
                    f"施加零假设，没有蒙特卡洛误差；{rule[0]}。",
                    f"Wild cluster bootstrap p-values (WCR11, {by[1]}) enumerate all {reps} Rademacher sign patterns "
                    f"(2^G is below the draws asked for), null imposed, with no Monte Carlo error; {rule[1]}.",
                )
            else:
                mcse = float(np.sqrt(pw * (1 - pw) / reps).max())
                p.note(
                    f"野聚类自助 p 值（WCR11，{by[0]}）来自 {reps} 次抽样（Rademacher 权重，施加零假设，随机种子 "
                    f"{a.methods.seed}），其蒙特卡洛标准误 √(p(1−p)/{reps}) 最大为 {mcse:.3f}；{rule[0]}。",
                    f"Wild cluster bootstrap p-values (WCR11, {by[1]}) from {reps} draws (Rademacher weights, null "
                    f"imposed, seed {a.methods.seed}); their Monte Carlo SE √(p(1−p)/{reps}) is at most {mcse:.3f}; "
                    f"{rule[1]}.",
                )
    if a.methods.drivers:
        try:
            res = a.drivers_result
        except EvalkitError as exc:
            p.unavailable(exc)
            return
        tidy = res.tidy()
        show = pd.DataFrame(
            {
                p.t("模型", "model"): [
                    p.t("线性（弹性网）", "linear (elastic net)")
                    if m == "linear"
                    else p.t("梯度提升树", "gradient boosting")
                    for m in tidy["model"]
                ],
                p.t("变量", "term"): [ind_name(a, t, p.lang) if t in a.registry.ids else t for t in tidy["term"]],
                p.t("置换重要性", "importance"): tidy["estimate"].to_numpy(),
                p.t("标准差", "SD"): tidy["se"].to_numpy(),
            }
        )
        p.table(
            show,
            "探索性分析：置换重要性（按院校分组交叉验证；预测，非因果）",
            "Exploratory: permutation importance (cross-validated, folds grouped by college; predictive, not causal)",
            table_id="drivers",
            floatfmt="{:.4g}",
        )


def _warning_texts(res: Any, lang: str) -> list[str]:
    """An estimator's warnings in the report's language (codes rendered through the catalogue)."""
    if hasattr(res, "warning_texts"):
        return list(res.warning_texts(lang))
    return [str(w) for w in getattr(res, "warnings", [])]

"""Section renderers, part 2: composite index, coupling coordination, membership effect, phases
compared, the methods appendix and the technical annex (estimators the truth-recovery study
does not support in the main body).

Captions and method notes are generated from what ran (``PhaseAnalysis.methods_ran()`` and the
results' own settings), never from the params text.
"""

from __future__ import annotations


import pandas as pd

from evalkit.errors import EvalkitError
from evalkit.review.analysis import NotEstimable, PhaseAnalysis
from evalkit.review.estimates import other_level_colleges as est_other_levels
from evalkit.review.figures import drawn
from evalkit.review.html import Page
from evalkit.review.sections import did_sentence, ind_name, unit_label
from evalkit.review.sections_methods import AGGREGATION, CONTROL, NORMALISATION, WEIGHTING, _pair, _warning_texts
from evalkit.review.sections_methods import annex as annex  # the notebook's section calls stay here
from evalkit.review.sections_methods import appendix as appendix


def composite_index(a: PhaseAnalysis, p: Page) -> None:
    p.heading("综合融合指数", "Composite integration index")
    try:
        comp = a.composite
    except NotEstimable as exc:
        p.unavailable(exc)
        return
    ran = a.methods_ran()
    norm, wt, agg = (
        _pair(NORMALISATION, ran["normalisation"]),
        _pair(WEIGHTING, ran["weighting"]),
        _pair(AGGREGATION, ran["aggregation"]),
    )
    scores = comp["scores"]
    ranks = comp["uncertainty"].tidy().set_index("unit").reindex(scores.index)
    out = pd.DataFrame(
        {
            p.t("院校", "college"): [unit_label(a, u, p.lang) for u in scores.index],
            p.t("身份", "status"): [
                p.t("成员", "member")
                if bool(a.units.set_index("unit_id").at[u, "member"])
                else p.t("对照", "comparison")
                for u in scores.index
            ],
            p.t("综合指数", "index"): scores.to_numpy(),
            p.t("排名", "rank"): scores.rank(ascending=False, method="min").astype(int).to_numpy(),
            p.t("TOPSIS 贴近度", "TOPSIS closeness"): comp["topsis"].reindex(scores.index).to_numpy(),
            p.t("排名中位数", "median rank"): ranks["median_rank"].to_numpy(),
            p.t("排名 5%–95% 区间", "rank 5–95%"): [
                f"{x:.0f}–{y:.0f}" for x, y in zip(ranks["rank_q05"], ranks["rank_q95"])
            ],
        }
    )
    out = out.sort_values(p.t("排名", "rank"))
    p.table(
        out,
        f"院校综合融合指数（比率类指标；{norm[0]}标准化，{wt[0]}，{agg[0]}汇总；TOPSIS {_pair(NORMALISATION, ran['topsis_normalisation'])[0]}标准化）",
        f"Composite integration index (ratio indicators; {norm[1]} normalisation, {wt[1]} weights, {agg[1]} aggregation; "
        f"TOPSIS with {_pair(NORMALISATION, ran['topsis_normalisation'])[1]} normalisation)",
        table_id="composite_index",
        floatfmt="{:.3f}",
    )
    p.figure(
        drawn(a, "rank_uncertainty", lambda: comp["uncertainty"].plot(lang=p.lang), parts=("composite",), lang=p.lang),
        f"排名不确定性：名义排名与 5%–95% 区间（{ran['uncertainty_runs']} 次方法选择蒙特卡洛）",
        f"Rank uncertainty: nominal rank and 5–95% interval ({ran['uncertainty_runs']} Monte Carlo variants of the method choices)",
    )
    w = comp["result"].weights_table().sort_values("effective_weight", ascending=False)
    groups = {g.id: p.t(g.name_zh, g.name_en) for g in a.registry.groups.values()}
    wt_table = pd.DataFrame(
        {
            p.t("指标", "indicator"): [ind_name(a, i, p.lang) for i in w["indicator"]],
            p.t("维度", "dimension"): [groups.get(g, g) for g in w["group"]],
            p.t("组内权重", "weight in group"): w["weight"].to_numpy(),
            p.t("综合权重", "effective weight"): w["effective_weight"].to_numpy(),
        }
    )
    p.table(
        wt_table,
        f"指标权重（{wt[0]}；组内权重 × 维度权重 = 综合权重）",
        f"Indicator weights ({wt[1]}; weight in group × group weight = effective weight)",
        table_id="composite_weights",
        floatfmt="{:.3f}",
    )
    others = est_other_levels(a)
    if others:
        p.note(
            "中职学校与技工院校只与同类院校比较，不参与高职院校的综合指数排名："
            + "、".join(unit_label(a, u, "zh") for u in others)
            + "。",
            "Secondary schools and technician colleges are compared only with their own kind and are left out of the "
            "higher-vocational ranking: " + ", ".join(unit_label(a, u, "en") for u in others) + ".",
        )
    rel = comp.get("reliability")
    if isinstance(rel, pd.DataFrame) and len(rel):
        p.table(
            pd.DataFrame(
                {
                    p.t("维度", "dimension"): [groups.get(g, g) for g in rel["group"]],
                    p.t("指标数", "indicators"): rel["n_indicators"].astype(int).to_numpy(),
                    p.t("Cronbach α", "Cronbach's α"): rel["alpha"].to_numpy(),
                    p.t("最低项目–其余相关", "lowest item–rest correlation"): rel["min_item_rest"].to_numpy(),
                }
            ),
            "各维度的内部一致性（标准化后指标的 Cronbach α；单指标维度无 α）",
            "Coherence of each dimension (Cronbach's α of the normalised indicators; none for one-indicator dimensions)",
            table_id="composite_reliability",
            floatfmt="{:.2f}",
        )
    obs = comp["obstacles"]
    if isinstance(obs, pd.DataFrame) and len(obs):
        top = obs.mean(axis=0).sort_values(ascending=False).head(5)
        p.table(
            pd.DataFrame(
                {
                    p.t("指标", "indicator"): [ind_name(a, i, p.lang) for i in top.index],
                    p.t("平均障碍度", "mean obstacle degree"): top.to_numpy(),
                }
            ),
            "主要障碍因子（障碍度，各院校平均）",
            "Main obstacle factors (obstacle degree, mean over colleges)",
            table_id="obstacles",
            floatfmt="{:.1%}",
        )


def coupling(a: PhaseAnalysis, p: Page) -> None:
    from evalkit.composite import plot_coupling_coordination

    p.heading("教育与产业耦合协调度", "Coupling coordination of education and industry")
    try:
        ccd = a.ccd
    except NotEstimable as exc:
        p.unavailable(exc)
        return
    p.figure(
        drawn(
            a,
            "coupling",
            lambda: plot_coupling_coordination(ccd.set_index("period"), lang=p.lang),
            parts=("ccd",),
            lang=p.lang,
        ),
        f"耦合协调度 D 逐年变化（截至 {a.as_of}，含协调等级）",
        f"Coupling coordination D by year (as of {a.as_of}, with bands)",
    )
    show = ccd[["period", "U_education", "U_industry", "C", "T", "D", "band_zh" if p.lang != "en" else "band"]].copy()
    show.columns = [
        p.t("年份", "year"),
        p.t("教育子系统 U₁", "education U1"),
        p.t("产业子系统 U₂", "industry U2"),
        p.t("耦合度 C", "coupling C"),
        p.t("综合发展 T", "development T"),
        p.t("协调度 D", "coordination D"),
        p.t("协调等级", "band"),
    ]
    p.table(
        show,
        "联合体成员：两系统耦合协调度（按年）",
        "Consortium members: coupling coordination by year",
        table_id="coupling",
        floatfmt="{:.3f}",
    )
    form = a.methods_ran()["ccd_form"]
    p.note(
        f"计算方法：{'标准 n 系统形式 C = n·(ΠU)^(1/n)/ΣU' if form == 'standard' else '王淑佳等（2021）修正形式'}，T 为等权综合，D = √(C·T)；"
        "子系统指数为成员各年指标（流量为年值、存量取年末）按方向极差标准化（下限 0.01）后熵权加权。",
        f"Method: {'standard n-system form C = n·(ΠU)^(1/n)/ΣU' if form == 'standard' else 'corrected form of Wang et al. (2021)'}, "
        "T equally weighted, D = √(C·T); subsystem indices are entropy-weighted sums of the members' yearly indicators, "
        "min–max normalised across years with direction (floor 0.01).",
    )


def membership_did(a: PhaseAnalysis, p: Page) -> None:
    from evalkit.review.sections import design_caveats

    p.heading("加入联合体的效应（交错双重差分）", "Effect of joining the consortium (staggered DiD)")
    control = _pair(CONTROL, a.methods_ran()["did_control"])
    for y in a.methods.did_outcomes:
        p.heading(ind_name(a, y, p.lang), ind_name(a, y, p.lang), level=3)
        try:
            res = a.did(y)
        except EvalkitError as exc:
            p.fail_soft(f"「{ind_name(a, y, 'zh')}」无法估计：", f"{ind_name(a, y, 'en')} cannot be estimated:", exc)
            continue
        panel = a.did_panel(y)
        n_members = int(panel.loc[panel["cohort"] > 0, "unit_id"].nunique())
        n_cohorts = int(panel.loc[panel["cohort"] > 0, "cohort"].nunique())
        n_controls = int(panel.loc[panel["cohort"] == 0, "unit_id"].nunique())
        if n_members == 1:
            p.paragraph(
                f"设计：只有一所成员院校（{n_controls} 所对照院校）。单一处理单位时聚类和按批次的推断都无从谈起，"
                "故以合成双重差分（Arkhangelsky 等 2021）为主估计，以安慰剂法（把处理随机指派给对照院校）给出标准误；"
                "交错双重差分的结果列于其后，仅供对照。",
                f"Design: one member college ({n_controls} comparison colleges). With a single treated unit neither "
                "clustered nor cohort-based inference works, so synthetic DiD (Arkhangelsky et al. 2021) with placebo "
                "standard errors (treatment assigned at random to comparison colleges) leads; the staggered DiD follows "
                "for comparison.",
            )
            try:
                sd = a.synthetic(y)
                lo_sd, hi_sd = sd.overall_ci()
                p.table(
                    pd.DataFrame(
                        {
                            p.t("估计量", "estimator"): [p.t("合成双重差分（SDID）", "synthetic DiD (SDID)")],
                            p.t("估计值", "estimate"): [sd.estimate],
                            p.t("标准误（安慰剂）", "SE (placebo)"): [sd.se],
                            p.t("95% 下限", "CI low"): [lo_sd],
                            p.t("95% 上限", "CI high"): [hi_sd],
                        }
                    ),
                    "唯一成员院校的加入效应（合成双重差分）",
                    "Effect of membership for the one member college (synthetic DiD)",
                    table_id=f"sdid_{y}",
                    floatfmt="{:.4g}",
                )
                p.figure(
                    drawn(a, "synthetic", lambda: sd.plot(p.lang), parts=(f"sdid:{y}",), lang=p.lang),
                    "成员院校与其合成对照的轨迹",
                    "The member college and its synthetic control",
                )
            except EvalkitError as exc:
                p.fail_soft("合成双重差分无法估计：", "Synthetic DiD cannot be estimated:", exc)
        p.paragraph(
            f"设计：{n_members} 所成员院校分 {n_cohorts} 批加入，{n_controls} 所对照院校。成员多于一所且加入时间交错，"
            "故以 Callaway–Sant'Anna 交错双重差分为主估计（不受处理效应异质性影响）；院校总数少于 30，"
            "聚类标准误不可靠，因此另以随机化推断（在全部院校间置换“谁在何时加入”）检验，并逐一剔除成员检查稳健性。",
            f"Design: {n_members} member colleges joining in {n_cohorts} cohorts, {n_controls} comparison colleges. "
            "Several members with staggered joining: Callaway–Sant'Anna leads (robust to heterogeneous effects); "
            "with fewer than 30 colleges clustered SEs are unreliable, so randomization inference (permuting which "
            "colleges joined when) tests the effect and leaving out each member in turn checks robustness.",
        )
        if a.always_members:
            names_zh = "、".join(unit_label(a, u, "zh") for u in a.always_members)
            names_en = ", ".join(unit_label(a, u, "en") for u in a.always_members)
            p.note(
                f"{len(a.always_members)} 所院校在数据开始前已加入（{names_zh}），各期均为成员，没有加入前的统计期："
                "既不能估计其加入效应，也不能作对照，已从双重差分中剔除。",
                f"{len(a.always_members)} college(s) joined before the data starts ({names_en}): members in every period "
                "with no period before joining, so neither their effect nor a comparison can be estimated; they are left "
                "out of the DiD.",
            )
        sentence = did_sentence(a, y, p.lang)
        if sentence:
            p.paragraph(*sentence)
        rows = []
        for kind, zh, en in (
            ("simple", "总体平均处理效应", "overall ATT"),
            ("group", "按加入批次平均", "average over cohorts"),
            ("dynamic", "按加入后时长平均", "average over event time"),
        ):
            agg = res.aggregate(kind)
            rows.append((p.t(zh, en), agg.estimate, agg.se, agg.estimate - 1.96 * agg.se, agg.estimate + 1.96 * agg.se))
        t = pd.DataFrame(
            rows,
            columns=[
                p.t("汇总方式", "aggregation"),
                p.t("估计值", "estimate"),
                p.t("标准误", "SE"),
                p.t("95% 下限", "CI low"),
                p.t("95% 上限", "CI high"),
            ],
        )
        se_kind = a.methods_ran()["did_se"]
        p.table(
            t,
            f"成员身份的平均处理效应（Callaway–Sant'Anna，对照组：{control[0]}；{'乘数自助法' if se_kind != 'analytic' else '解析'}标准误）",
            f"Average effect of membership (Callaway–Sant'Anna, controls: {control[1]}; {se_kind.replace('_', ' ')} SEs)",
            table_id=f"did_{y}",
            floatfmt="{:.4g}",
        )
        robustness = []
        try:
            ri = a.randomization(y)
            n = ri.n_assignments if ri.exact else ri.reps
            robustness.append(
                (
                    p.t("随机化推断 p 值", "randomization-inference p"),
                    f"{ri.p_value:.3f}",
                    p.t(
                        f"{'全部' if ri.exact else '随机'} {n} 种分配；蒙特卡洛标准误 {ri.p_se:.3f}",
                        f"{'all' if ri.exact else 'random'} {n} assignments; Monte Carlo SE {ri.p_se:.3f}",
                    ),
                )
            )
        except NotEstimable as exc:
            robustness.append((p.t("随机化推断 p 值", "randomization-inference p"), "—", str(exc)))
        try:
            loo = a.leave_one_out(y).table
            lo_, hi_ = float(loo["estimate"].min()), float(loo["estimate"].max())
            robustness.append(
                (
                    p.t("逐一剔除成员后的估计范围", "range leaving out each member"),
                    f"{lo_:.4g} – {hi_:.4g}",
                    p.t(f"{len(loo)} 次估计", f"{len(loo)} estimates"),
                )
            )
        except NotEstimable as exc:
            robustness.append((p.t("逐一剔除成员后的估计范围", "range leaving out each member"), "—", str(exc)))
        p.table(
            pd.DataFrame(robustness, columns=[p.t("检验", "check"), p.t("结果", "result"), p.t("说明", "note")]),
            "少量处理单位下的推断：随机化推断与逐一剔除",
            "Inference with few treated units: randomization and leave-one-out",
            table_id=f"did_robustness_{y}",
        )
        if a.methods.sensitivity:
            _sensitivity_tables(a, p, y)
        cal = a.calendar_effects(y)
        if len(cal):
            show = pd.DataFrame(
                {
                    p.t("统计期", "period"): cal["period"],
                    p.t("所属阶段", "phase"): [a.window_title(w, p.lang) if w else "—" for w in cal["window"]],
                    p.t("效应", "effect"): cal["estimate"],
                    p.t("标准误", "SE"): cal["se"],
                    p.t("95% 下限", "CI low"): cal["ci_low"],
                    p.t("95% 上限", "CI high"): cal["ci_high"],
                }
            )
            p.table(
                show,
                "各统计期的成员身份效应（按日历期汇总）",
                "Effect of membership by calendar period",
                table_id=f"did_calendar_{y}",
                floatfmt="{:.4g}",
            )
        title = ind_name(a, y, p.lang)
        p.figure(
            drawn(
                a,
                "event_study",
                lambda: res.aggregate("dynamic").plot(lang=p.lang, title=title),
                parts=(f"did:{y}",),
                lang=p.lang,
                title=title,
            ),
            "事件研究：加入前后各期效应与 95% 置信带（竖线：加入）",
            "Event study: effects before and after joining with 95% bands (line: joining)",
        )
        stat, pval, excluding, n_pre = a.pretest(y)
        if pval is None:
            p.paragraph(
                "平行趋势联合预检验无法计算（部分加入批次只有一个单位，协方差矩阵奇异）。",
                "The joint pre-trend test cannot be computed (some cohorts have a single unit: singular covariance).",
            )
        else:
            p.paragraph(
                f"平行趋势预检验（加入前各期 ATT 联合为零的 Wald 检验，与 R did 相同）：统计量 {stat:.3f}，p = {pval:.3f}"
                f"{'，未拒绝平行趋势。' if pval >= 0.05 else '，拒绝平行趋势，结果需谨慎解读。'}",
                f"Pre-trend test (Wald test that all pre-joining ATTs are zero, as R did): statistic {stat:.3f}, p = {pval:.3f}"
                f"{' — parallel trends not rejected.' if pval >= 0.05 else ' — parallel trends rejected; read with care.'}",
            )
        if n_pre:
            p.paragraph(
                f"加入前 {n_pre} 个事件期中，{excluding} 个的 95% 置信区间不含 0（若平行趋势成立，约 5% 即 {0.05 * n_pre:.1f} 个）。",
                f"Of {n_pre} pre-joining event times, {excluding} have a 95% CI excluding zero (about 5%, i.e. {0.05 * n_pre:.1f}, expected).",
            )
        for w in _warning_texts(res, p.lang):
            p.note(w, w)
    caveats = design_caveats(a)
    if caveats:
        p.heading("识别上的局限", "Limits of identification", level=3)
        p.bullets(caveats)


def phase_comparison(a: PhaseAnalysis, p: Page) -> None:
    if a.phase.kind != "final":
        return

    p.heading("各阶段比较", "Phases compared")
    windows = {"baseline": a.baseline, **{k: v for k, v in a.windows.items() if k != a.phase.phase_id}}
    agg = a.consortium_values(windows)
    ids = list(dict.fromkeys([*a.phase.targets, *a.methods.did_outcomes]))
    sub = agg[agg["indicator"].isin(ids)].pivot_table(
        index="indicator", columns="window", values="value", aggfunc="first"
    )
    sub = sub[[w for w in windows if w in sub.columns]].reindex([i for i in ids if i in sub.index])
    sub.insert(0, p.t("指标", "indicator"), [ind_name(a, i, p.lang) for i in sub.index])
    sub = sub.rename(columns=lambda w: a.window_title(w, p.lang) if w in windows else w)
    sub.columns.name = None
    p.table(
        sub.reset_index(drop=True),
        "成员各阶段指标值（流量为年均值）",
        "Members by phase (flows per year)",
        table_id="phases_compared",
    )
    try:
        ccd = a.ccd
    except NotEstimable:
        return
    byw = ccd.dropna(subset=["window"]).groupby("window", sort=False)["D"].mean()
    p.table(
        pd.DataFrame(
            {
                p.t("阶段", "phase"): [a.window_title(w, p.lang) for w in byw.index],
                p.t("平均协调度 D", "mean D"): byw.to_numpy(),
            }
        ),
        "各阶段平均耦合协调度",
        "Mean coupling coordination by phase",
        table_id="phases_ccd",
        floatfmt="{:.3f}",
    )


def _sensitivity_tables(a: PhaseAnalysis, p: Page, y: str) -> None:
    """Rambachan–Roth smoothness bounds and pre-trend power (methods.sensitivity: true)."""
    try:
        sens = a.sensitivity(y)
    except EvalkitError as exc:
        p.fail_soft("平行趋势敏感性分析无法计算：", "The parallel-trends sensitivity cannot be computed:", exc)
        return
    bounds = sens["bounds"]
    if isinstance(bounds, Exception):
        p.fail_soft("敏感性区间无法计算：", "Sensitivity bounds cannot be computed:", bounds)
    else:
        tb = bounds.tidy()
        p.table(
            pd.DataFrame(
                {
                    p.t("平行趋势偏离上限", "bound on the violation"): [
                        p.t("原区间", "original") if str(r) == "original" else str(r) for r in tb["term"]
                    ],
                    p.t("95% 下限", "CI low"): tb["ci_low"].to_numpy(),
                    p.t("95% 上限", "CI high"): tb["ci_high"].to_numpy(),
                }
            ),
            "平行趋势偏离下的稳健区间（Rambachan–Roth 平滑性限制，FLCI；加入后第一期效应）"
            + (f"；区间仍不含 0 的最大 M = {bounds.breakdown:g}" if bounds.breakdown is not None else ""),
            "Intervals robust to violations of parallel trends (Rambachan–Roth smoothness restriction, FLCI; first "
            "post-joining effect)" + (f"; breakdown M = {bounds.breakdown:g}" if bounds.breakdown is not None else ""),
            table_id=f"sensitivity_{y}",
            floatfmt="{:.4g}",
        )
    power = sens["power"]
    if isinstance(power, Exception):
        p.fail_soft("预检验功效无法计算：", "Pre-test power cannot be computed:", power)
    else:
        pt = power.table
        integrated_zh = integrated_en = ""
        if len(power.event_times) > 1 and power.test == "individual":  # else the probabilities are exact
            integrated_zh = f"；各期联合拒绝概率以 Genz 准蒙特卡洛积分计算，绝对误差不超过 {power.tolerance:g}"
            integrated_en = (
                f"; the joint rejection probability is integrated by Genz's quasi-Monte Carlo method to an "
                f"absolute error of {power.tolerance:g}"
            )
        p.table(
            pd.DataFrame(
                {
                    p.t("功效", "power"): pt["power"].to_numpy(),
                    p.t("可检出的线性趋势斜率", "detectable linear slope"): pt["slope"].to_numpy(),
                }
            ),
            "预检验的功效（Roth 2022）：加入前各期检验以该功效能发现的线性预趋势斜率" + integrated_zh,
            "Power of the pre-test (Roth 2022): the linear pre-trend slope the pre-period tests detect with this power"
            + integrated_en,
            table_id=f"pretrend_power_{y}",
            floatfmt="{:.4g}",
        )

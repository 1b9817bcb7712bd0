"""Every message the estimators of :mod:`evalkit.models` can attach to a result, registered in
the :mod:`evalkit.i18n` catalogue. Estimators store :class:`evalkit.i18n.Message` objects
(a code and its parameters); only rendering (``Results.warning_texts(lang)``, ``summary(lang)``)
picks a language.

Parameters used by the codes: ``G`` (number of clusters), ``threshold``, ``n`` (rows),
``column``, ``terms`` / ``cohorts`` / ``groups`` (already joined into one string), ``error``
and ``text`` (a library's own English text, shown as is).
"""

from __future__ import annotations

from evalkit.i18n import Message, register

MESSAGES: dict[str, tuple[str, str]] = {
    # -- warnings --------------------------------------------------------------------------
    "models.rows_dropped": ("已删除含缺失值的观测 {n} 行。", "{n} rows with missing values dropped."),
    "models.singletons_dropped": (
        "已删除固定效应中只出现一次的观测 {n} 行（单例不提供任何信息，与 fixest/pyfixest 相同）。",
        "{n} rows dropped whose fixed-effect level occurs once (singletons carry no information; as fixest/pyfixest).",
    ),
    "models.per_capita_dropped": (
        "已删除「{column}」为零或缺失的观测 {n} 行。",
        "{n} rows with zero or missing {column!r} dropped.",
    ),
    "models.collinear": (
        "共线的回归变量已剔除（可由其他回归变量或固定效应完全解释）：{terms}。",
        ("Collinear regressor(s) dropped (perfectly explained by other regressors or by the fixed effects): {terms}."),
    ),
    "models.few_clusters": (
        (
            "仅 {G} 个聚类（少于 {threshold}）：CRV1 标准误可能偏小，请同时参考 CRV3 标准误与 p 值"
            "（刀切法，se_crv3 / p_crv3）及野聚类自助 p 值（p_wild）。"
        ),
        (
            "Only {G} clusters (< {threshold}): CRV1 standard errors may be too small; see "
            "se_crv3 / p_crv3 (jackknife) and p_wild (wild cluster bootstrap)."
        ),
    ),
    "models.few_clusters_twoway": (
        "最少的聚类维度仅 {G} 个聚类（少于 {threshold}）：双向聚类标准误可能偏小。",
        (
            "Only {G} clusters in the smaller clustering dimension (< {threshold}): "
            "two-way cluster-robust standard errors may be too small."
        ),
    ),
    "models.crv3_failed": ("无法计算 CRV3：{error}", "CRV3 could not be computed: {error}"),
    "models.wild_failed": ("无法计算野聚类自助法：{error}", "Wild cluster bootstrap could not be computed: {error}"),
    "models.not_converged": (
        "似然最大化未收敛，估计不可靠。",
        "The likelihood maximisation did not converge; estimates are unreliable.",
    ),
    "models.short_cohorts": (
        "加入批次 {cohorts} 在数据中的处理前期数少于 {min_pre}，已剔除（无法与基期比较）。",
        (
            "Cohort(s) {cohorts} have fewer than {min_pre} pre-treatment period(s) in the "
            "data and were dropped (their change cannot be compared with a baseline)."
        ),
    ),
    "models.late_cohorts": (
        "加入批次 {cohorts} 晚于最后一期，视为从未加入。",
        "Cohort(s) {cohorts} are treated after the last period and count as never treated.",
    ),
    "models.last_cohort_control": (
        "没有从未加入的单位：最后加入的批次 {cohort} 作为对照，{cohort} 及之后的期已剔除。",
        (
            "No never-treated units: cohort {cohort} (treated last) serves as the "
            "control and periods from {cohort} on are dropped."
        ),
    ),
    "models.event_terms_dropped": (
        "无法识别的事件期项已剔除：{terms}。",
        "Event-time terms not identified and dropped: {terms}.",
    ),
    "models.did_small_groups": (
        "部分加入批次单位很少，其 ATT(g,t) 估计不稳定（批次：{groups}）。",
        "Some cohorts are small; their ATT(g,t) are unstable (cohorts: {groups}).",
    ),
    "models.did_singular_pretest": (
        "CS 预检验的协方差矩阵奇异，未给出 Wald 统计量。",
        "The pre-test covariance is singular; no Wald statistic is reported.",
    ),
    "models.did_pretest_na": (
        "处理前 ATT 含缺失值，未给出 Wald 预检验统计量。",
        "Pre-treatment ATTs are missing; no Wald pre-test statistic is reported.",
    ),
    "models.synthdid_jackknife_sc": (
        "不建议对合成控制使用刀切法标准误（Arkhangelsky et al. 2021，§5）。",
        "The jackknife is not recommended for synthetic control (Arkhangelsky et al. 2021, §5).",
    ),
    "models.honest_varying_base": (
        "事件研究使用了变动基期（base_period='varying'）；Rambachan–Roth 建议统一基期。",
        "The event study uses a varying base period; Rambachan–Roth recommend base_period='universal'.",
    ),
    "models.honest_breakdown_at_grid_max": (
        "网格内所有 M 下区间均不含 0：突破值至少为网格最大值，可扩大网格。",
        (
            "Zero is excluded at every M of the grid: the breakdown value is at least the grid's "
            "largest M; extend the grid."
        ),
    ),
    "models.library_warning": ("估计程序提示（英文原文）：{text}", "Estimation library: {text}"),
    # -- variance conventions (results.info["vcov_note"]) -----------------------------------
    "models.vcov.iid": (
        "经典 OLS 方差：σ² = 残差平方和 / (n − k − 吸收的固定效应水平数)（同 fixest、Stata xtreg, fe、R plm）。",
        (
            "Classical OLS variance: σ² = RSS / (n − k − absorbed fixed-effect levels) (as fixest, "
            "Stata xtreg, fe and R plm)."
        ),
    ),
    "models.vcov.iid_glm_observed": (
        "观测信息矩阵之逆（负 Hessian，同 Stata 与 statsmodels Logit/Probit）。",
        ("Inverse of the observed information (minus the Hessian; as Stata and statsmodels Logit/Probit)."),
    ),
    "models.vcov.iid_glm_expected": (
        "期望（Fisher）信息矩阵之逆（同 R glm 与 statsmodels GLM）。",
        "Inverse of the expected (Fisher) information (as R glm and statsmodels GLM).",
    ),
    "models.vcov.hc0": (
        "HC0：White 异方差稳健三明治估计，无小样本修正。",
        "HC0: White's heteroskedasticity-robust sandwich, no small-sample factor.",
    ),
    "models.vcov.hc1": ("HC1：White 三明治估计 × n/(n − k)。", "HC1: White's sandwich × n/(n − k)."),
    "models.vcov.hc2": (
        "HC2：按杠杆值 1/(1 − h) 调整的三明治估计（MacKinnon–White）。",
        "HC2: sandwich with residuals scaled by 1/(1 − h) (MacKinnon–White).",
    ),
    "models.vcov.hc3": (
        "HC3：按杠杆值 1/(1 − h)² 调整的三明治估计（MacKinnon–White）。",
        "HC3: sandwich with residuals scaled by 1/(1 − h)² (MacKinnon–White).",
    ),
    "models.vcov.crv1": (
        (
            "按 {clusters} 聚类稳健（CRV1）：因子 G/(G − 1)·(n − 1)/(n − k)（同 fixest、Stata）；"
            "聚类数 {counts}；t(G − 1) 推断。"
        ),
        (
            "Cluster-robust by {clusters} (CRV1): factor G/(G − 1)·(n − 1)/(n − k) (as fixest, "
            "Stata); clusters {counts}; t(G − 1) inference."
        ),
    ),
    "models.vcov.crv1_twoway_min": (
        (
            '按 {clusters} 双向聚类（Cameron–Gelbach–Miller：V₁ + V₂ − V₁₂），G_df = "min"：'
            "每一项均乘以 G_min/(G_min − 1)·(n − 1)/(n − k)（fixest、reghdfe 规则）；聚类数 {counts}。"
        ),
        (
            "Two-way cluster-robust by {clusters} (Cameron–Gelbach–Miller: V₁ + V₂ − V₁₂), "
            'G_df = "min": every component × G_min/(G_min − 1)·(n − 1)/(n − k) (the '
            "fixest / reghdfe rule); clusters {counts}."
        ),
    ),
    "models.vcov.crv1_twoway_conventional": (
        (
            "按 {clusters} 双向聚类（Cameron–Gelbach–Miller：V₁ + V₂ − V₁₂），"
            'G_df = "conventional"：每一项乘以各自的 G/(G − 1)·(n − 1)/(n − k)'
            "（同 Stata cgmreg、R sandwich::vcovCL(multi0 = FALSE)、Petersen 基准）；聚类数 {counts}。"
        ),
        (
            "Two-way cluster-robust by {clusters} (Cameron–Gelbach–Miller: V₁ + V₂ − "
            'V₁₂), G_df = "conventional": each component × its own G/(G − 1)·(n − 1)/'
            "(n − k) (as Stata cgmreg, R sandwich::vcovCL(multi0 = FALSE), Petersen's "
            "benchmarks); clusters {counts}."
        ),
    ),
    "models.vcov.crv3": (
        (
            "按 {clusters} 的聚类刀切法（CRV3，MacKinnon–Nielsen–Webb 2023）：(G − 1)/G·Σ(β̂₋g − β̂)(β̂₋g − β̂)ᵀ；"
            "聚类数 {counts}；t(G − 1) 推断。"
        ),
        (
            "Cluster jackknife by {clusters} (CRV3, MacKinnon–Nielsen–Webb 2023): (G − 1)/G·Σ(β̂₋g − β̂)"
            "(β̂₋g − β̂)ᵀ; clusters {counts}; t(G − 1) inference."
        ),
    ),
    # -- labels ----------------------------------------------------------------------------
    "models.label.observations": ("观测数", "observations"),
    "models.label.units": ("单位数", "units"),
    "models.label.variance": ("方差估计", "variance"),
    "models.label.overall": ("总体效应", "overall"),
    "models.label.control": ("对照组", "control group"),
    "models.label.overall_simple": ("总体 ATT（简单加权）", "overall ATT (simple)"),
    "models.label.pretest": ("平行趋势预检验", "pre-trend Wald test"),
    "models.label.outcome": ("结果变量", "outcome"),
    "models.label.coef_axis": ("估计值（{level}% 置信区间）", "estimate ({level}% CI)"),
    "models.label.reference": ("参照期", "reference period"),
    "models.label.treatment_starts": ("处理开始", "treatment starts"),
    "models.label.event_x": ("相对处理时间（期）", "periods relative to treatment"),
    "models.label.event_y": ("效应估计（95% 置信区间）", "effect (95% CI)"),
    "models.label.exploratory": ("探索性分析，非因果推断", "exploratory, not causal"),
    "models.label.drivers": ("驱动因素", "drivers"),
    "models.label.drivers_title": ("驱动因素（预测视角）", "drivers (predictive view)"),
    "models.label.importance": ("置换重要性（R² 下降）", "permutation importance (drop in R²)"),
    "models.label.input_rescaled": ("投入（标准化到 0–1）", "input (rescaled to 0–1)"),
    "models.label.partial_dependence": ("{y} 的偏依赖", "partial dependence of {y}"),
    # -- titles ----------------------------------------------------------------------------
    "models.title.cs": ("联合体成员效应（Callaway–Sant'Anna）", "membership effect (Callaway–Sant'Anna)"),
    "models.title.cs_att_gt": ("Callaway–Sant'Anna 组别-时期 ATT(g,t)", "Callaway–Sant'Anna ATT(g,t)"),
    "models.title.cs_simple": ("Callaway–Sant'Anna ATT，简单加权", "Callaway–Sant'Anna ATT, simple"),
    "models.title.cs_group": ("Callaway–Sant'Anna ATT，按加入批次", "Callaway–Sant'Anna ATT, by cohort"),
    "models.title.cs_dynamic": ("Callaway–Sant'Anna ATT，按相对时间", "Callaway–Sant'Anna ATT, by event time"),
    "models.title.cs_calendar": ("Callaway–Sant'Anna ATT，按日历期", "Callaway–Sant'Anna ATT, by period"),
    "models.title.sunab": ("Sun–Abraham 交互加权事件研究", "Sun–Abraham interaction-weighted event study"),
    "models.title.es_twfe": ("TWFE 事件研究", "TWFE event study"),
}

register(MESSAGES)


def msg(code: str, **params: object) -> Message:
    """A stored message ``code`` with ``params`` (checked: the code must be registered here).

    Parameters
    ----------
    code : str
        A key of :data:`MESSAGES`.
    **params
        The message's ``str.format`` fields.

    Returns
    -------
    evalkit.i18n.Message
    """
    if code not in MESSAGES:
        raise KeyError(f"no models message {code!r}")
    return Message(code, dict(params))


def from_library(text: str) -> Message:
    """Classify a warning raised by an estimation library (csdid) into a known code, or keep its
    English text under ``models.library_warning``.

    Parameters
    ----------
    text : str
        The library's warning text.

    Returns
    -------
    evalkit.i18n.Message
    """
    if "small groups" in text:
        groups = text.split("Check groups:", 1)[-1].strip().rstrip(".") if "Check groups:" in text else "?"
        return msg("models.did_small_groups", groups=groups)
    if "singular covariance" in text:
        return msg("models.did_singular_pretest")
    if "NA pre-treatment" in text:
        return msg("models.did_pretest_na")
    return msg("models.library_warning", text=text)

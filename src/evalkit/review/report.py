"""The phase review: every section of ``notebooks/phase_review.ipynb`` as a method of
``PhaseReview``, so the notebook stays thin (one call per section) and researchers can call the
same sections in JupyterLab.

Computations are cached properties: a section that needs another's numbers (the key findings
need targets, effects and the index) computes them once. Sections that cannot be estimated on
the data at hand (too few units, no comparison group) say so in the report; any other error
fails the review loudly.
"""
from __future__ import annotations

import functools
import platform
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit import __version__
from evalkit.data.periods import assign_windows
from evalkit.review.report_estimates import EstimateSections
from evalkit.review.html import Page, fmt_num

ALL_SECTIONS = ("cover", "key_findings", "data_quality", "dashboard", "trends", "composite_index", "coupling",
                "effects", "membership_did", "drivers", "phase_comparison", "appendix")
BEIJING = timezone(timedelta(hours=8))


class PhaseReview(EstimateSections):
    """One phase's review: the phase (params), the data and the indicator registry."""

    def __init__(self, phase, dataset, registry):
        self.phase, self.dataset, self.registry = phase, dataset, registry
        self.lang = phase.language
        self.page = Page(self.lang, synthetic=dataset.synthetic)
        self.methods = phase.methods
        self.started = datetime.now(timezone.utc)

    @classmethod
    def open(cls, params_file: str | Path, *, data_dir: str | Path | None = None) -> "PhaseReview":
        from evalkit.data.dataset import load
        from evalkit.review.phases import check_against, load_phase
        from evalkit.indicators.registry import load_registry

        phase = load_phase(params_file, data=data_dir)
        dataset = load(phase.data)
        registry = load_registry(phase.registry)
        check_against(phase, dataset, registry)
        return cls(phase, dataset, registry)

    def t(self, zh: str, en: str) -> str:
        return self.page.t(zh, en)

    def name(self, ind_id: str) -> str:
        ind = self.registry.get(ind_id)
        return self.t(ind.name_zh, ind.name_en)

    def window_label(self, window: str) -> str:
        """基线 / phase titles for window ids (the title before its date range)."""
        if window == "baseline":
            return self.t("基线", "baseline")
        if window in self.phase_titles:
            zh, en = self.phase_titles[window]
            return self.t(zh.split("（")[0], en.split(" (")[0])
        return window

    @functools.cached_property
    def phase_titles(self) -> dict[str, tuple[str, str]]:
        return {self.phase.phase_id: (self.phase.title_zh, self.phase.title_en),
                **{k: (ph.title_zh, ph.title_en) for k, ph in self.compared_phases.items()}}

    def short_name(self, ind_id: str) -> str:
        """One language only (Chinese for bilingual reports): for axis labels, where space is short."""
        ind = self.registry.get(ind_id)
        return ind.name_en if self.lang == "en" else ind.name_zh

    def unit_label(self, ind_id: str) -> str:
        ind = self.registry.get(ind_id)
        return self.t(ind.unit_zh or ind.unit, ind.unit)

    # ------------------------------------------------------------------ cached computations
    @functools.cached_property
    def table(self) -> pd.DataFrame:
        from evalkit.indicators.metrics import compute

        return compute(self.dataset, self.registry)

    @functools.cached_property
    def units(self) -> pd.DataFrame:
        return self.dataset.units

    @functools.cached_property
    def compared_phases(self) -> dict:
        """The final review's compared phases (their params files beside this one), by id."""
        out = {}
        if self.phase.kind == "final" and self.phase.source:
            from evalkit.review.phases import load_phase

            for pid in self.phase.compare_phases:
                out[pid] = load_phase(Path(self.phase.source).parent / f"{pid}.yaml", data=self.phase.data)
        return out

    @functools.cached_property
    def phase_windows(self) -> dict[str, tuple[date, date]]:
        """This review's window plus, for the final review, the compared phases' windows."""
        return {self.phase.phase_id: self.phase.window, **{k: ph.window for k, ph in self.compared_phases.items()}}

    @functools.cached_property
    def members_by_end(self) -> pd.DataFrame:
        """Units as constituted at the end of this phase: members who joined by then, and the
        never-members (comparison). Units joining later are left out of before/after figures so
        baseline and phase describe the same units."""
        u = self.units
        since = pd.to_datetime(u["member_since"])
        keep = since.isna() | (since <= pd.Timestamp(self.phase.end))
        return u[keep.to_numpy()]

    @functools.cached_property
    def window_values(self) -> pd.DataFrame:
        """Indicators per group and unit for the baseline and this phase (same units in both)."""
        from evalkit.indicators.metrics import aggregate

        units = self.members_by_end
        table = self.table[self.table["unit_id"].isin(units["unit_id"])]
        windows = {"baseline": self.phase.baseline, self.phase.phase_id: self.phase.window}
        return aggregate(table, self.registry, by=["consortium", "membership", "alliance", "unit"],
                         windows=windows, units=units, members="ever", flows="per_year")

    def group_values(self, group_by: str, window: str) -> pd.DataFrame:
        v = self.window_values
        return v[(v["group_by"] == group_by) & (v["window"] == window)]

    @functools.cached_property
    def attainment(self) -> pd.DataFrame:
        from evalkit.indicators.metrics import attainment

        actual = self.group_values("consortium", self.phase.phase_id)[["indicator", "value"]]
        base = self.group_values("consortium", "baseline")[["indicator", "value"]]
        return attainment(actual, self.phase.targets, base, registry=self.registry)

    @functools.cached_property
    def per_period(self) -> pd.DataFrame:
        """Members (as finally constituted) vs comparison, every period."""
        from evalkit.indicators.metrics import aggregate

        return aggregate(self.table, self.registry, by=["membership", "consortium"], windows=None,
                         units=self.units, members="ever")

    @functools.cached_property
    def period_windows(self) -> dict[str, str | None]:
        """Period label → phase id (or "baseline"), by the overlap rule."""
        windows = dict(self.phase_windows)
        windows["baseline"] = self.phase.baseline
        mapping = assign_windows(self.dataset.periods, windows)
        return {p.label: w for p, w in mapping.items()}

    @functools.cached_property
    def college_wide(self) -> pd.DataFrame:
        """College × period, one column per indicator (the regression data)."""
        colleges = self.units.loc[self.units["unit_type"] == "college", ["unit_id", "cohort_t", "member"]]
        tbl = self.table[self.table["unit_id"].isin(colleges["unit_id"])]
        wide = tbl.pivot_table(index=["unit_id", "period", "t"], columns="indicator", values="value",
                               aggfunc="first").reset_index()
        wide.columns.name = None
        return wide.merge(colleges, on="unit_id", how="left")

    # ------------------------------------------------------------------ sections
    def cover(self) -> None:
        p, ds, ph = self.page, self.dataset, self.phase
        p.show(f"<h1>{self.t(ph.title_zh, ph.title_en)}</h1>")
        name = ds.meta.get("name_zh") if self.lang != "en" else (ds.meta.get("name_en") or ds.meta.get("name_zh"))
        p.show(f"<p style='font-size:1.15em'>{name or ds.name}</p>")
        if ds.synthetic:
            p.banner("⚠ 合成数据：本报告基于模拟生成的数据，所有数字均非真实统计，不得引用。",
                     "⚠ SYNTHETIC DATA: this review runs on generated data; no figure in it is a real statistic.")
        p.bullets([
            (f"评估窗口：{ph.start} 至 {ph.end}", f"Window: {ph.start} to {ph.end}"),
            (f"基线（联合体成立前）：{ph.baseline_start} 至 {ph.baseline_end}",
             f"Baseline (before the consortium): {ph.baseline_start} to {ph.baseline_end}"),
            (f"数据：{len(ds.units)} 个单位，{len(ds.periods)} 个统计期（{ds.periods[0].label}–{ds.periods[-1].label}）",
             f"Data: {len(ds.units)} units, {len(ds.periods)} periods ({ds.periods[0].label}–{ds.periods[-1].label})"),
        ])
        if ph.notes:
            p.note(ph.notes, ph.notes)
        from evalkit.review.runner import git_commit

        versions = _versions()
        prov = pd.DataFrame([
            (self.t("evalkit 版本", "evalkit version"), __version__),
            (self.t("代码提交", "git commit"), git_commit() or self.t("（非 git 检出）", "(not a git checkout)")),
            (self.t("数据文件夹", "data folder"), str(ph.data)),
            (self.t("数据指纹 (SHA-256)", "data fingerprint (SHA-256)"), ds.fingerprint),
            (self.t("参数文件", "params file"), str(ph.source)),
            (self.t("参数文件指纹", "params fingerprint"), _sha256(ph.source) if ph.source else "—"),
            (self.t("生成时间", "generated"), self.started.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M (UTC+8)")),
            (self.t("软件环境", "software"), f"Python {platform.python_version()}, " + ", ".join(
                f"{k} {v}" for k, v in versions.items())),
        ], columns=[self.t("项目", "item"), self.t("内容", "value")])
        p.table(prov, "报告来源信息", "Provenance")

    def key_findings(self) -> None:
        p = self.page
        p.heading("主要发现", "Key findings")
        items = []
        att = self.attainment
        judged = att[att["status"] != "no_data"]
        if len(att):
            met = judged[judged["status"] == "attained"]
            items.append((f"阶段目标：{len(judged)} 项可评估目标中达成 {len(met)} 项。",
                          f"Targets: {len(met)} of {len(judged)} assessable targets attained."))
            for _, r in judged.iterrows():
                gap = r["actual"] - r["target"]
                if r["status"] == "attained":
                    items.append((f"{r['name_zh']}：实际 {fmt_num(r['actual'])}，目标 {fmt_num(r['target'])}，已达成（完成度 {r['share_of_target']:.0%}）。",
                                  f"{r['name_en']}: {fmt_num(r['actual'])} against a target of {fmt_num(r['target'])}, attained ({r['share_of_target']:.0%})."))
                else:
                    items.append((f"{r['name_zh']}：实际 {fmt_num(r['actual'])}，目标 {fmt_num(r['target'])}，未达成（差 {fmt_num(abs(gap))}，完成度 {r['share_of_target']:.0%}）。",
                                  f"{r['name_en']}: {fmt_num(r['actual'])} against {fmt_num(r['target'])}, missed by {fmt_num(abs(gap))} ({r['share_of_target']:.0%} of target)."))
            missing = att[att["status"] == "no_data"]
            if len(missing):
                items.append(("无数据的目标：" + "、".join(missing["name_zh"]), "Targets without data: " + ", ".join(missing["name_en"])))
        for outcome, res in self.did_results.items():
            if isinstance(res, Exception):
                continue
            simple = res.aggregate("simple")
            lo, hi = simple.estimate - 1.96 * simple.se, simple.estimate + 1.96 * simple.se
            sig = (lo > 0 or hi < 0)
            _, pre_p, excluding, n_pre = self.pretest(outcome)
            pre_zh = (f"平行趋势预检验 p = {pre_p:.3f}" if pre_p is not None else
                      f"联合预检验无法计算，加入前 {n_pre} 期中 {excluding} 期的置信区间不含 0")
            pre_en = (f"pre-trend test p = {pre_p:.3f}" if pre_p is not None else
                      f"joint pre-test not computable; {excluding} of {n_pre} pre-joining CIs exclude zero")
            cal = self.calendar_effects(outcome)
            here = cal[cal["window"].isin([self.phase.phase_id, *self.compared_phases])]
            if len(here):
                items.append((f"本阶段各期（{'、'.join(here['period'])}）加入联合体对「{self.registry.get(outcome).name_zh}」的效应为 "
                              + "、".join(f"{e:.3g}" for e in here["estimate"]) + "。",
                              f"In this phase's periods ({', '.join(here['period'])}) membership changed {self.registry.get(outcome).name_en} by "
                              + ", ".join(f"{e:.3g}" for e in here["estimate"]) + "."))
            items.append((f"全部数据期内，加入联合体对「{self.registry.get(outcome).name_zh}」的总体平均处理效应（Callaway–Sant'Anna）为 {simple.estimate:.3g}"
                          f"（95% 置信区间 {lo:.3g} 至 {hi:.3g}），{'在 5% 水平显著' if sig else '不显著'}；{pre_zh}。",
                          f"Over all the data, joining the consortium changed {self.registry.get(outcome).name_en} by {simple.estimate:.3g} on average "
                          f"(95% CI {lo:.3g} to {hi:.3g}; {'significant at 5%' if sig else 'not significant'}); {pre_en}."))
        comp = self.composite
        if comp is not None and not isinstance(comp, Exception):
            top = comp["scores"].sort_values(ascending=False).index[0]
            items.append((f"综合融合指数最高的院校：{self._unit_name(top)}。", f"Highest composite integration index: {self._unit_name(top)}."))
        ccd = self.ccd
        if ccd is not None and not isinstance(ccd, Exception) and len(ccd):
            upto = ccd[ccd["start"] <= self.phase.end]  # the latest year the phase reaches
            if len(upto):
                row, first = upto.iloc[-1], ccd.iloc[0]
                items.append((f"教育与产业两系统耦合协调度（{row['period']}年）D = {row['D']:.3f}，属「{row['band_zh']}」"
                              f"（{first['period']}年为 {first['D']:.3f}，「{first['band_zh']}」）。",
                              f"Education–industry coupling coordination ({row['period']}): D = {row['D']:.3f}, '{row['band']}' "
                              f"({first['period']}: {first['D']:.3f}, '{first['band']}')."))
        p.bullets(items)

    def data_quality(self) -> None:
        p, ds = self.page, self.dataset
        p.heading("数据质量", "Data quality")
        u = ds.units
        counts = (u.assign(member=u["member"].map({True: self.t("成员", "member"), False: self.t("对照", "comparison")}))
                  .groupby(["unit_type", "member"]).size().rename(self.t("单位数", "units")).reset_index())
        from evalkit.data.schema import UNIT_TYPES_ZH

        if self.lang != "en":
            counts["unit_type"] = counts["unit_type"].map(lambda x: UNIT_TYPES_ZH.get(x, x))
        counts.columns = [self.t("单位类型", "unit type"), self.t("身份", "status"), self.t("单位数", "units")]
        p.table(counts, "单位构成", "Units by type and membership")
        # missingness of each indicator among the units it applies to
        tbl = self.table
        # a ratio whose denominator is 0 (no graduates in a second half-year) is undefined, not missing
        structural = tbl["value"].isna() & (tbl["denominator"] == 0)
        tbl = tbl[~structural]
        miss = (tbl.assign(missing=tbl["value"].isna()).groupby("indicator")["missing"].mean()
                .reindex(self.registry.ids).dropna())
        cov = pd.DataFrame({self.t("指标", "indicator"): [self.name(i) for i in miss.index],
                            self.t("缺失比例", "share missing"): miss.to_numpy()})
        cov = cov[cov[self.t("缺失比例", "share missing")] > 0]
        if len(cov):
            p.table(cov, "指标缺失情况（按单位×统计期）", "Missing indicator values (unit × period)", floatfmt="{:.1%}")
        else:
            p.paragraph("所有指标在所有单位×统计期均有数据。", "Every indicator is reported for every unit and period.")
        if ds.graduates is not None:
            p.paragraph(f"毕业生个体记录 {len(ds.graduates):,} 条，仅以汇总形式使用；少于 {self.phase.min_cell} 人的单元格不予显示。",
                        f"{len(ds.graduates):,} graduate records, used only in aggregate; cells of fewer than {self.phase.min_cell} graduates are suppressed.")
        if ds.warnings:
            w = pd.DataFrame([{self.t("文件", "file"): x.file, self.t("行", "row"): x.row, self.t("列", "column"): x.column,
                               self.t("说明", "rule"): x.rule} for x in ds.warnings])
            p.table(w, "数据校验提示（不影响运行）", "Validation warnings (not blocking)")
        else:
            p.paragraph("数据校验：无错误、无警告。", "Validation: no errors, no warnings.")

    def dashboard(self) -> None:
        p = self.page
        p.heading("指标仪表盘：目标与基线", "Indicator dashboard: targets and baseline")
        att = self.attainment
        if len(att):
            show = pd.DataFrame({
                self.t("指标", "indicator"): [self.t(a, b) for a, b in zip(att["name_zh"], att["name_en"])],
                self.t("单位", "unit"): [self.t(a or b, b) for a, b in zip(att["unit_zh"], att["unit"])],
                self.t("基线", "baseline"): att["baseline"], self.t("本阶段实际", "actual"): att["actual"],
                self.t("目标", "target"): att["target"],
                self.t("达成情况", "status"): [self.t(a, b) for a, b in zip(att["status_zh"], att["status_en"])],
                self.t("目标完成度", "share of target"): att["share_of_target"],
                self.t("较基线变化", "change vs baseline"): att["change_rel"],
            })
            p.table(show, "阶段目标达成情况（成员院校合计）", "Targets of the phase (member colleges together)")
            fig = _attainment_figure(att, self.lang)
            p.figure(fig, "目标完成度（1 = 恰好达成）", "Share of target (1 = exactly met)")
        else:
            p.paragraph("本阶段参数文件未设定目标。", "The params file sets no targets for this phase.")
        # members vs comparison, baseline vs phase, for the main indicators
        rows = []
        v = self.window_values
        for ind in self.registry:
            if ind.role == "context" or ind.unit_type != "college":
                continue
            def val(group, window):
                s = v[(v["group_by"] == "membership") & (v["group"] == group) & (v["window"] == window) & (v["indicator"] == ind.id)]["value"]
                return float(s.iloc[0]) if len(s) else np.nan
            rows.append({self.t("指标", "indicator"): self.t(ind.name_zh, ind.name_en), self.t("单位", "unit"): self.t(ind.unit_zh or ind.unit, ind.unit),
                         self.t("成员·基线", "members · baseline"): val("member", "baseline"),
                         self.t("成员·本阶段", "members · phase"): val("member", self.phase.phase_id),
                         self.t("对照·基线", "comparison · baseline"): val("comparison", "baseline"),
                         self.t("对照·本阶段", "comparison · phase"): val("comparison", self.phase.phase_id)})
        p.table(pd.DataFrame(rows), "成员院校与对照院校：基线与本阶段", "Member vs comparison colleges: baseline and phase")
        grad = self.graduate_table()
        if len(grad):
            p.table(grad, f"各院校毕业生去向（本阶段；少于 {self.phase.min_cell} 人的单元格不予显示）",
                    f"Graduate outcomes by college (this phase; cells of fewer than {self.phase.min_cell} graduates suppressed)")
        p.note("比率类指标由汇总后的分子、分母重新计算，而非对各单位比率取平均；存量取窗口最后一期，流量为窗口内年均值。",
               "Ratios are recomputed from summed numerators and denominators (never averaged); stocks are taken at the window's last period, flows are annual averages over the window.")

    def graduate_table(self) -> pd.DataFrame:
        """Graduate-based indicators per college for this phase. Each cell resting on fewer than
        ``privacy.min_cell`` graduates is suppressed (value blanked, count shown as "<k")."""
        from evalkit.privacy import suppress_small_cells

        ids = [i.id for i in self.registry if i.graduate_based and i.unit_type == "college" and i.denominator]
        v = self.group_values("unit", self.phase.phase_id)
        v = v[v["indicator"].isin(ids)]
        if not len(v):
            return pd.DataFrame()
        safe = suppress_small_cells(v[["group", "indicator", "value", "n"]], n_col="n", value_cols=["value"],
                                    min_cell=self.phase.min_cell)
        wide = safe.pivot(index="group", columns="indicator", values="value")
        counts = v.groupby("group")["n"].max()  # graduates behind the window's values (the largest cell)
        out = pd.DataFrame({self.t("院校", "college"): [self._unit_name(u) for u in wide.index],
                            self.t("本阶段毕业生数", "graduates in the phase"): [f"{int(c):,}" if c >= self.phase.min_cell else f"<{self.phase.min_cell}"
                                                            for c in counts.reindex(wide.index).fillna(0)]})
        for c in ids:
            if c in wide.columns:
                out[f"{self.name(c)} ({self.unit_label(c)})"] = wide[c].to_numpy(dtype="float64")
        return out

    def trends(self, indicators: list[str] | None = None) -> None:
        p = self.page
        p.heading("趋势：成员与对照", "Trends: members and comparison")
        if indicators is None:
            wanted = list(dict.fromkeys((self.methods.get("did_outcomes") or []) + (self.methods.get("twfe_inputs") or [])
                                        + list(self.phase.targets)))
            indicators = [i for i in wanted if i in self.registry.ids][:6]
        fig = _trend_figure(self, indicators)
        p.figure(fig, "主要指标趋势（阴影：各建设阶段；成员按最终构成）",
                 "Main indicators over time (shaded: build phases; members as finally constituted)")

    def _unit_name(self, unit_id: str) -> str:
        row = self.units.loc[self.units["unit_id"] == unit_id]
        if not len(row):
            return unit_id
        zh, en = row["name_zh"].iloc[0], row["name_en"].iloc[0]
        return self.t(zh, en if isinstance(en, str) and en else zh)

    def phase_comparison(self) -> None:
        if self.phase.kind != "final":
            return
        from evalkit.indicators.metrics import aggregate

        p = self.page
        p.heading("各阶段比较", "Phases compared")
        windows = {"baseline": self.phase.baseline, **{k: v for k, v in self.phase_windows.items() if k != self.phase.phase_id}}
        agg = aggregate(self.table, self.registry, by="consortium", windows=windows, units=self.units, members="ever",
                        flows="per_year")
        ids = list(dict.fromkeys(list(self.phase.targets) + (self.methods.get("did_outcomes") or [])))
        sub = agg[agg["indicator"].isin(ids)].pivot_table(index="indicator", columns="window", values="value", aggfunc="first")
        sub = sub[[w for w in windows if w in sub.columns]].reindex([i for i in ids if i in sub.index])
        sub.insert(0, self.t("指标", "indicator"), [self.name(i) for i in sub.index])
        sub.insert(1, self.t("单位", "unit"), [self.unit_label(i) for i in sub.index])
        sub = sub.rename(columns=self.window_label)
        sub.columns.name = None
        p.table(sub.reset_index(drop=True), "成员（最终构成）各阶段指标值（流量为年均值）",
                "Members (as finally constituted), by phase (flows per year)")
        ccd = self.ccd
        if not isinstance(ccd, Exception):
            byw = ccd.dropna(subset=["window"]).groupby("window", sort=False)["D"].mean()
            t = pd.DataFrame({self.t("阶段", "phase"): [self.window_label(w) for w in byw.index],
                              self.t("平均协调度 D", "mean D"): byw.to_numpy()})
            p.table(t, "各阶段平均耦合协调度", "Mean coupling coordination by phase", floatfmt="{:.3f}")

    def appendix(self) -> None:
        p, m = self.page, self.methods
        p.heading("附录：方法与指标定义", "Appendix: methods and indicator definitions")
        items = [
            ("统计期与阶段：一个统计期归入与其重叠的阶段窗口；与两个窗口重叠时归入重叠天数较多者（相同则归前者）。",
             "Periods and phases: a period belongs to the window it overlaps; when it overlaps two, to the one it overlaps most (ties: the earlier)."),
            ("汇总：流量指标在窗口内求和后按窗口年数折算为年均值（便于不同长度的阶段与基线比较），存量取窗口最后一期，比率由汇总后的分子、分母重新计算（不对比率取平均）。",
             "Aggregation: flows summed over the window and divided by its length in years (so phases and baseline of different lengths compare), stocks at its last period, ratios recomputed from summed numerators and denominators (never averaged)."),
            ("基线与本阶段比较使用同一组单位：本阶段结束前已加入的成员与从未加入的对照单位。",
             "Baseline and phase compare the same units: members who joined by the phase's end, and never-members."),
            (f"综合指数：{m['normalisation']} 标准化（按指标方向），{m['weighting']} 赋权"
             + (f"（熵权 {m['entropy_form']} 形式，平移量 {m['entropy_shift']}）" if m['weighting'] == 'entropy' else "")
             + f"，{m['aggregation']} 汇总；TOPSIS 采用 {m['topsis_normalisation']} 标准化；排名不确定性为 {m['uncertainty_runs']} 次蒙特卡洛（随机种子 {m['seed']}）。",
             f"Composite index: {m['normalisation']} normalisation (with direction), {m['weighting']} weights"
             + (f" (entropy form {m['entropy_form']}, shift {m['entropy_shift']})" if m['weighting'] == 'entropy' else "")
             + f", {m['aggregation']} aggregation; TOPSIS with {m['topsis_normalisation']} normalisation; rank uncertainty from {m['uncertainty_runs']} Monte Carlo variants (seed {m['seed']})."),
            (f"耦合协调度：{'标准形式' if m['ccd_form'] == 'standard' else '王淑佳等（2021）修正形式'}；协调等级为十级（每 0.1 一级：极度失调 … 优质协调）。AHP 随机一致性指标表：{m['ri_table']}。",
             f"Coupling coordination: {m['ccd_form']} form; ten bands of 0.1 (extreme imbalance … high-quality coordination). AHP random-index table: {m['ri_table']}."),
            (f"双向固定效应：pyfixest 估计，标准误为 {m['se']}（fixest 约定：小样本校正 (n−1)/(n−k)·G/(G−1)，嵌套于聚类的固定效应不计入 k）；聚类少于 30 个时另报 CRV3 与野聚类自助法 p 值。",
             f"Two-way fixed effects: pyfixest, {m['se']} standard errors (fixest convention: small-sample factor (n−1)/(n−k)·G/(G−1), fixed effects nested in clusters not counted in k); with fewer than 30 clusters CRV3 and a wild-cluster-bootstrap p-value are added."),
            (f"交错双重差分：Callaway–Sant'Anna（csdid，与 R did 包一致：双重稳健估计、变动基期、{'乘数自助法标准误' if m['bootstrap'] else '解析标准误'}），对照组为{'从未加入者' if m['did_control'] == 'never' else '尚未加入者'}；仅在部分统计期观测的指标（如毕业生指标只在上半年）使用其观测期构成平衡面板。",
             f"Staggered DiD: Callaway–Sant'Anna (csdid, at parity with R did: doubly robust, varying base period, {'multiplier-bootstrap' if m['bootstrap'] else 'analytic'} SEs), controls: {m['did_control']}; outcomes observed only in some periods (graduate outcomes in H1) use those periods as a balanced panel."),
            (f"隐私：毕业生个体记录只以汇总形式出现；少于 {self.phase.min_cell} 人的单元格不予显示。",
             f"Privacy: graduate records appear only in aggregate; cells of fewer than {self.phase.min_cell} graduates are suppressed."),
        ]
        p.bullets(items)
        lang = "en" if self.lang == "en" else "zh"
        md = self.registry.methods_markdown(lang)
        from IPython.display import Markdown, display

        display(Markdown(md))


# ---------------------------------------------------------------------- helpers
def _sha256(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("pandas", "numpy", "statsmodels", "pyfixest", "csdid", "scikit-learn"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out



def _attainment_figure(att: pd.DataFrame, lang: str):
    from evalkit.plotting import PALETTE, label, new_figure

    a = att[att["status"] != "no_data"]
    fig = new_figure(7, 0.45 * max(len(a), 2) + 1)
    ax = fig.add_subplot()
    names = [label(z, e, lang) for z, e in zip(a["name_zh"], a["name_en"])]
    colours = [PALETTE[2] if s == "attained" else PALETTE[3] for s in a["status"]]
    ax.barh(names, a["share_of_target"], color=colours)
    ax.axvline(1.0, color="black", lw=1)
    ax.invert_yaxis()
    ax.set_xlabel(label("目标完成度（实际 / 目标）", "share of target (actual / target)", lang))
    return fig


def _trend_figure(review: PhaseReview, indicators: list[str]):
    from evalkit.plotting import COMPARISON_COLOUR, MEMBER_COLOUR, label, new_figure

    per = review.per_period
    labels = [p.label for p in review.dataset.periods]
    pos = {lab: i for i, lab in enumerate(labels)}
    n = max(len(indicators), 1)
    cols = 2 if n > 1 else 1
    rows = int(np.ceil(n / cols))
    fig = new_figure(9, 2.6 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    shades = {}
    for lab, w in review.period_windows.items():
        if w and w != "baseline":
            shades.setdefault(w, []).append(pos[lab])
    for ax, ind in zip(axes, indicators):
        for group, colour, name in (("member", MEMBER_COLOUR, label("成员", "members", review.lang)),
                                    ("comparison", COMPARISON_COLOUR, label("对照", "comparison", review.lang))):
            s = per[(per["group_by"] == "membership") & (per["group"] == group) & (per["indicator"] == ind)]
            s = s.dropna(subset=["value"])
            ax.plot([pos[w] for w in s["window"]], s["value"], marker="o", ms=3, color=colour, label=name)
        for i, (w, idx) in enumerate(sorted(shades.items(), key=lambda kv: min(kv[1]))):
            ax.axvspan(min(idx) - 0.5, max(idx) + 0.5, color="grey", alpha=0.08 + 0.06 * (i % 2), lw=0)
        ind_obj = review.registry.get(ind)
        ax.set_title(label(ind_obj.name_zh, ind_obj.name_en, review.lang), fontsize=10)
        ax.set_ylabel(label(ind_obj.unit_zh or ind_obj.unit, ind_obj.unit, review.lang), fontsize=8)
        step = max(1, len(labels) // 8)
        ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)], fontsize=7,
                      rotation=45)
    for ax in axes[len(indicators):]:
        ax.set_visible(False)
    if indicators:
        axes[0].legend(fontsize=8)
    return fig

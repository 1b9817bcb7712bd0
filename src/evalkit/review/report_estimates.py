"""The estimating sections of the phase review (composite index, coupling coordination, TWFE,
staggered DiD, exploratory drivers), mixed into ``report.PhaseReview``. They use the review's
cached tables (``group_values``, ``per_period``, ``college_wide``) and its ``page``."""
from __future__ import annotations

import dataclasses
import functools
from datetime import date

import pandas as pd

from evalkit.errors import EvalkitError, ModelInputError
from evalkit.data.periods import assign_windows, parse_period


class EstimateSections:
    """Sections that estimate; needs the attributes PhaseReview provides."""

    @functools.cached_property
    def composite_inputs(self) -> tuple[pd.DataFrame, pd.Series]:
        """College × indicator matrix for this phase's window, with directions."""
        v = self.group_values("unit", self.phase.phase_id)
        colleges = set(self.members_by_end.loc[self.members_by_end["unit_type"] == "college", "unit_id"])
        # size-neutral indicators only (ratios, rates, per-capita): counts would rank colleges by size
        ids = [i.id for i in self.registry if i.unit_type == "college" and i.role in ("input", "outcome")
               and i.level != "context" and i.aggregation == "ratio"]
        X = v[v["group"].isin(colleges) & v["indicator"].isin(ids)].pivot_table(
            index="group", columns="indicator", values="value", aggfunc="first")
        X = X[[c for c in ids if c in X.columns]]
        X = X.dropna(axis=1, how="any")
        X = X.loc[:, X.std(ddof=0) > 0]
        directions = pd.Series({c: self.registry.get(c).direction for c in X.columns})
        return X, directions

    @functools.cached_property
    def pipeline(self):
        """The COINr-style pipeline over the registry's hierarchy (indicator → cooperation → index)."""
        from evalkit import composite as cp

        X, directions = self.composite_inputs
        m = self.methods
        coop = ("co_running", "co_educating", "co_employment", "co_development")
        groups = {}
        for c in X.columns:
            gs = [g for g in self.registry.get(c).groups if g in coop] or list(self.registry.get(c).groups) or ["other"]
            groups[c] = gs[0]
        weighting = m["weighting"]
        if weighting == "entropy":
            weighting = "entropy_minmax" if m["entropy_form"] == "minmax" else "entropy"
        extra = {}
        if weighting == "expert":
            extra["expert_weights"] = m.get("expert_weights") or {}
        if weighting == "ahp":
            if not m.get("ahp_matrix"):
                weighting = "equal"
            else:
                extra["ahp_matrices"] = {"index": m["ahp_matrix"]}
        return cp.Pipeline(groups=groups, directions=directions.to_dict(), normalisation=m["normalisation"],
                           weighting=weighting, aggregation=m["aggregation"], entropy_shift=m["entropy_shift"],
                           ahp_ri=m["ri_table"], **extra)

    @functools.cached_property
    def composite(self):
        from evalkit import composite as cp

        X, directions = self.composite_inputs
        if len(X) < 3 or X.shape[1] < 2:
            return EvalkitError(self.t("院校或指标太少，无法构建综合指数。", "Too few colleges or indicators for a composite index."))
        m = self.methods
        X = X.rename(index=self._unit_name)  # names on every table and figure of the index
        try:
            result = self.pipeline.run(X)
            scores = result.index
            wt = result.weights_table()
            weights = pd.Series(wt["effective_weight"].to_numpy(), index=wt["indicator"])  # sums to 1
            closeness = cp.topsis(X, weights, directions=directions, normalisation=m["topsis_normalisation"])
            obstacles = cp.obstacle_degree(X, weights, directions=directions)
            unc = cp.uncertainty(X, self.pipeline, n=int(m["uncertainty_runs"]), seed=int(m["seed"]))
        except EvalkitError as exc:
            return exc
        return {"X": X, "result": result, "weights": weights, "scores": scores, "topsis": closeness,
                "obstacles": obstacles, "uncertainty": unc}

    def composite_index(self) -> None:
        p = self.page
        p.heading("综合融合指数", "Composite integration index")
        comp = self.composite
        if isinstance(comp, Exception):
            p.unavailable(comp)
            return
        m = self.methods
        unc = comp["uncertainty"]
        ranks = unc.tidy()
        scores = comp["scores"]
        member_names = {self._unit_name(u) for u in self.units.loc[self.units["member"], "unit_id"]}
        out = pd.DataFrame({self.t("院校", "college"): list(scores.index),
                            self.t("身份", "status"): [self.t("成员", "member") if u in member_names else self.t("对照", "comparison")
                                                      for u in scores.index],
                            self.t("综合指数", "index"): scores.to_numpy(),
                            self.t("排名", "rank"): scores.rank(ascending=False, method="min").astype(int).to_numpy(),
                            self.t("TOPSIS 贴近度", "TOPSIS closeness"): comp["topsis"].reindex(scores.index).to_numpy()})
        r = ranks.set_index("unit").reindex(scores.index)
        out[self.t("排名中位数", "median rank")] = r["median_rank"].to_numpy()
        out[self.t("排名 5%–95% 区间", "rank 5–95%")] = [f"{a:.0f}–{b:.0f}" for a, b in zip(r["rank_q05"], r["rank_q95"])]
        out = out.sort_values(self.t("排名", "rank"))
        p.table(out, f"院校综合融合指数：成员与对照（比率类指标；{m['normalisation']} 标准化，{m['weighting']} 赋权，{m['aggregation']} 汇总）",
                f"Composite integration index, members and comparison (ratio indicators; {m['normalisation']} normalisation, {m['weighting']} weights, {m['aggregation']} aggregation)")
        p.figure(unc.plot(lang=self.lang), "排名不确定性：名义排名与 5%–95% 区间（方法选择的蒙特卡洛模拟）",
                     "Rank uncertainty: nominal rank and 5–95% interval (Monte Carlo over method choices)")
        w = comp["result"].weights_table().sort_values("effective_weight", ascending=False)
        groups = {g.id: self.t(g.name_zh, g.name_en) for g in self.registry.groups.values()} \
            if hasattr(self.registry, "groups") else {}
        wt = pd.DataFrame({self.t("指标", "indicator"): [self.name(i) for i in w["indicator"]],
                           self.t("维度", "dimension"): [groups.get(g, g) for g in w["group"]],
                           self.t("组内权重", "weight in group"): w["weight"].to_numpy(),
                           self.t("综合权重", "effective weight"): w["effective_weight"].to_numpy()})
        p.table(wt, "指标权重（组内权重 × 维度权重 = 综合权重）", "Indicator weights (weight in group × group weight = effective weight)",
                floatfmt="{:.3f}")
        obs = comp["obstacles"]
        if isinstance(obs, pd.DataFrame) and len(obs):
            mean_obs = obs.mean(axis=0).sort_values(ascending=False).head(5)
            ot = pd.DataFrame({self.t("指标", "indicator"): [self.name(i) for i in mean_obs.index],
                               self.t("平均障碍度", "mean obstacle degree"): mean_obs.to_numpy()})
            p.table(ot, "主要障碍因子（障碍度，各院校平均）", "Main obstacle factors (obstacle degree, mean over colleges)", floatfmt="{:.1%}")

    @functools.cached_property
    def per_year(self) -> pd.DataFrame:
        """Members (as finally constituted), each calendar year: flows per year, stocks at the
        year's last period. Years, not half-years, so that June graduation does not make the
        subsystem indices zigzag."""
        from evalkit.indicators.metrics import aggregate

        years = sorted({p.year for p in self.dataset.periods})
        windows = {str(y): (date(y, 1, 1), date(y, 12, 31)) for y in years}
        return aggregate(self.table, self.registry, by="consortium", windows=windows, units=self.units,
                         members="ever", flows="per_year")

    @functools.cached_property
    def ccd(self):
        """Education vs industry subsystem indices per calendar year and their coupling coordination."""
        from evalkit import composite as cp

        cons = self.per_year
        rows = {}
        for sub in ("education", "industry"):
            ids = [i.id for i in self.registry if i.subsystem == sub and i.role != "context" and i.level != "context"]
            M = cons[cons["indicator"].isin(ids)].pivot_table(index="window", columns="indicator", values="value",
                                                              aggfunc="first")
            M = M.dropna(axis=1, how="any")
            M = M.loc[:, M.std(ddof=0) > 0]
            if M.shape[1] == 0:
                return EvalkitError(self.t(f"没有可用的{sub}子系统指标。", f"No usable {sub} indicators."))
            directions = pd.Series({c: self.registry.get(c).direction for c in M.columns})
            norm = cp.normalise(M, "minmax", directions=directions)
            norm = 0.01 + 0.99 * norm  # floor 0.01 keeps U in (0, 1] so that C is defined
            w = cp.entropy_weights(M, directions=directions, form=self.methods["entropy_form"],
                                   shift=self.methods["entropy_shift"])
            # clip: a weighted mean of values in [0.01, 1] can exceed 1 by a rounding ulp
            rows[sub] = cp.aggregate(norm, w, method="arithmetic").clip(0.0, 1.0)
        U = pd.DataFrame(rows).dropna().sort_index()
        res = cp.coupling_coordination(U, form=self.methods["ccd_form"])
        res = res.assign(U_education=U["education"], U_industry=U["industry"])
        res.index.name = "period"
        res = res.reset_index()
        # the final review labels years by the phases it compares, not by its own whole window
        windows = {k: v for k, v in self.phase_windows.items()
                   if not (self.phase.kind == "final" and k == self.phase.phase_id)}
        windows["baseline"] = self.phase.baseline
        years = [parse_period(y) for y in res["period"]]
        res["window"] = [assign_windows(years, windows)[y] for y in years]
        res["start"] = [y.start for y in years]
        if "band_zh" not in res.columns:
            res["band_zh"] = res["band"]
        return res

    def coupling(self) -> None:
        p = self.page
        p.heading("教育与产业耦合协调度", "Coupling coordination of education and industry")
        ccd = self.ccd
        if isinstance(ccd, Exception):
            p.unavailable(ccd)
            return
        from evalkit.composite import plot_coupling_coordination

        try:
            fig = plot_coupling_coordination(ccd.set_index("period"), lang=self.lang)
        except TypeError:
            fig = plot_coupling_coordination(ccd.set_index("period"))
        p.figure(fig, "耦合协调度 D 逐年变化（含协调等级）", "Coupling coordination D by year (with bands)")
        show = ccd[["period", "U_education", "U_industry", "C", "T", "D", "band_zh" if self.lang != "en" else "band"]].copy()
        show.columns = [self.t("年份", "year"), self.t("教育子系统 U₁", "education U1"), self.t("产业子系统 U₂", "industry U2"),
                        self.t("耦合度 C", "coupling C"), self.t("综合发展 T", "development T"), self.t("协调度 D", "coordination D"),
                        self.t("协调等级", "band")]
        p.table(show, "联合体成员：两系统耦合协调度（按年）", "Consortium members: coupling coordination by year", floatfmt="{:.3f}")
        form = self.methods["ccd_form"]
        p.note(f"计算方法：{'标准 n 系统形式 C = n·(ΠU)^(1/n)/ΣU' if form == 'standard' else '王淑佳等（2021）修正形式'}，T 为等权综合，D = √(C·T)；"
               "子系统指数为成员（按最终构成）各年指标（流量为年值、存量取年末）按方向极差标准化（下限 0.01）后熵权加权。",
               f"Method: {'standard n-system form C = n·(ΠU)^(1/n)/ΣU' if form == 'standard' else 'corrected form of Wang et al. (2021)'}, T equally weighted, D = √(C·T); "
               "subsystem indices are entropy-weighted sums of the members' yearly indicators (flows per year, stocks at year end), min–max normalised across years with direction (floor 0.01).")

    @functools.cached_property
    def twfe_results(self) -> dict:
        from evalkit.models import twfe

        out = {}
        inputs = [i for i in (self.methods.get("twfe_inputs") or []) if i in self.college_wide.columns]
        for y in self.methods.get("twfe_outcomes") or []:
            if y not in self.college_wide.columns or not inputs:
                continue
            data = self.college_wide.dropna(subset=[y, *inputs])
            try:
                vcov = self.methods["se"] if self.methods["se"] in ("CRV1", "CRV3") else "CRV1"
                out[y] = twfe(data, y=y, x=inputs, unit="unit_id", time="t", vcov=vcov,
                              seed=int(self.methods["seed"]), lang=self.lang)
            except EvalkitError as exc:
                out[y] = exc
        return out

    def effects(self) -> None:
        p = self.page
        p.heading("融合投入与成效的关系（双向固定效应）", "Integration inputs and outcomes (two-way fixed effects)")
        if not self.twfe_results:
            p.paragraph("参数文件未指定回归模型。", "The params file names no regression.")
        for y, res in self.twfe_results.items():
            if isinstance(res, Exception):
                p.fail_soft(f"「{self.name(y)}」无法估计：", f"{self.name(y)} cannot be estimated:", res)
                continue
            p.table(self._coef_table(res), f"因变量：{self.name(y)}（院校 × 统计期，院校与统计期固定效应，按院校聚类，n = {res.n}）",
                    f"Outcome: {self.name(y)} (college × period, college and period fixed effects, clustered by college, n = {res.n})", floatfmt="{:.4g}")
            named = dataclasses.replace(res, table=res.table.rename(index=lambda t: self.short_name(t) if t in self.registry.ids else t))
            p.figure(named.plot(lang=self.lang, title=self.name(y)), f"系数与 95% 置信区间：{self.name(y)}",
                     f"Coefficients and 95% CIs: {self.name(y)}")
            for w in res.warnings:
                self._warning(w)
        p.note("相关关系不等于因果：投入可能随成效预期而变化。成员身份的因果效应见下一节的交错双重差分。",
               "Association, not causation: inputs may respond to expected outcomes. For the causal effect of membership see the staggered DiD below.")

    COEF_COLUMNS = {"term": ("变量", "term"), "estimate": ("估计值", "estimate"), "se": ("标准误 (CRV1)", "SE (CRV1)"),
                    "ci_low": ("95% 下限", "CI low"), "ci_high": ("95% 上限", "CI high"), "p": ("p 值", "p"),
                    "se_crv3": ("标准误 (CRV3)", "SE (CRV3)"), "p_crv3": ("p 值 (CRV3)", "p (CRV3)"),
                    "p_wild": ("p 值 (野聚类自助)", "p (wild bootstrap)")}

    def _coef_table(self, res) -> pd.DataFrame:
        tidy = res.tidy()
        keep = [c for c in self.COEF_COLUMNS if c in tidy.columns]
        show = tidy[keep].copy()
        show["term"] = [self.name(t) if t in self.registry.ids else t for t in show["term"]]
        return show.rename(columns={c: self.t(*self.COEF_COLUMNS[c]) for c in keep})

    def _warning(self, text: str) -> None:
        """An estimator's warning, in the report's language where the wording is known."""
        import re

        known = [
            (r"Only (\d+) clusters", lambda m: (f"仅 {m.group(1)} 个聚类（少于 30）：CRV1 标准误可能偏小，请同时参考 CRV3（刀切法）与野聚类自助法 p 值。",
                                                 None)),
            (r"small groups", lambda m: ("部分加入批次单位很少，其 ATT(g,t) 估计不稳定。", None)),
            (r"singular covariance", lambda m: ("CS 预检验的协方差矩阵奇异，未给出 Wald 统计量。", None)),
            (r"rows with missing values dropped", lambda m: (f"已删除含缺失值的观测：{text.split(' ')[0]} 行。", None)),
        ]
        for pattern, make in known:
            m = re.search(pattern, text)
            if m:
                zh, _ = make(m)
                self.page.note(zh, text)
                return
        self.page.note(text, text)

    @functools.cached_property
    def did_panels(self) -> dict[str, pd.DataFrame]:
        return {y: _balanced_did_panel(self.college_wide, y) for y in self.methods.get("did_outcomes") or []
                if y in self.college_wide.columns}

    @functools.cached_property
    def did_results(self) -> dict:
        from evalkit.models import staggered_did

        out = {}
        for y, data in self.did_panels.items():
            try:
                if len(data) == 0:
                    raise ModelInputError(self.t(f"{self.name(y)}：没有完整观测的院校，无法构成平衡面板。",
                                                 f"{self.name(y)}: no college is observed in every period; no balanced panel."))
                out[y] = staggered_did(data, y=y, unit="unit_id", time="time", cohort="cohort",
                                       control=self.methods["did_control"], bootstrap=bool(self.methods["bootstrap"]),
                                       seed=int(self.methods["seed"]), lang=self.lang)
            except EvalkitError as exc:
                out[y] = exc
        return out

    def pretest(self, y: str) -> tuple[float | None, float | None, int, int]:
        """R did's Wald pre-test (statistic, p; None when its covariance is singular, as with
        single-unit cohorts) and, always, how many of the pre-joining event-time estimates have a
        95% CI excluding zero, of how many (about 5% expected under parallel trends). A substitute
        Wald test from another estimator is not offered: with ~15 clusters it over-rejects."""
        res = self.did_results[y]
        dyn = res.aggregate("dynamic").tidy()
        e = pd.to_numeric(dyn["term"], errors="coerce")
        pre = dyn[e < 0]
        excluding = int(((pre["ci_low"] > 0) | (pre["ci_high"] < 0)).sum())
        return res.pretest.statistic, res.pretest.p_value, excluding, len(pre)

    def calendar_effects(self, y: str) -> pd.DataFrame:
        """ATT by calendar period (R did's "calendar" components) with each period's label and
        phase: what membership had changed by each period of the build."""
        res = self.did_results[y]
        cal = res.aggregate("calendar").tidy()
        panel = self.did_panels[y].drop_duplicates("time").set_index("time")["t"]
        labels = [self.dataset.periods[int(panel[int(tm)]) - 1].label for tm in cal["term"]]
        return pd.DataFrame({"period": labels, "window": [self.period_windows.get(lab) for lab in labels],
                             "estimate": cal["estimate"].to_numpy(), "se": cal["se"].to_numpy(),
                             "ci_low": cal["ci_low"].to_numpy(), "ci_high": cal["ci_high"].to_numpy()})

    def membership_did(self) -> None:
        p = self.page
        p.heading("加入联合体的效应（交错双重差分）", "Effect of joining the consortium (staggered DiD)")
        for y, res in self.did_results.items():
            if isinstance(res, Exception):
                p.fail_soft(f"「{self.name(y)}」无法估计：", f"{self.name(y)} cannot be estimated:", res)
                continue
            p.heading(self.name(y), self.name(y), level=3)
            simple = res.aggregate("simple")
            dyn = res.aggregate("dynamic")
            rows = [(self.t("总体平均处理效应 (simple)", "overall ATT (simple)"), simple.estimate, simple.se)]
            grp = res.aggregate("group")
            rows.append((self.t("按加入批次平均 (group)", "average over cohorts (group)"), grp.estimate, grp.se))
            rows.append((self.t("按加入后时长平均 (dynamic)", "average over event time (dynamic)"), dyn.estimate, dyn.se))
            t = pd.DataFrame(rows, columns=[self.t("汇总方式", "aggregation"), self.t("估计值", "estimate"), self.t("标准误", "SE")])
            t[self.t("95% 下限", "CI low")] = t.iloc[:, 1] - 1.96 * t.iloc[:, 2]
            t[self.t("95% 上限", "CI high")] = t.iloc[:, 1] + 1.96 * t.iloc[:, 2]
            p.table(t, f"成员身份的平均处理效应（Callaway–Sant'Anna，对照组：{'从未加入' if self.methods['did_control'] == 'never' else '尚未加入'}）",
                    f"Average effect of membership (Callaway–Sant'Anna, controls: {'never members' if self.methods['did_control'] == 'never' else 'not yet members'})", floatfmt="{:.4g}")
            cal = self.calendar_effects(y)
            if len(cal):
                show = pd.DataFrame({self.t("统计期", "period"): cal["period"],
                                     self.t("所属阶段", "phase"): [self.window_label(w) if w else "—" for w in cal["window"]],
                                     self.t("效应", "effect"): cal["estimate"], self.t("标准误", "SE"): cal["se"],
                                     self.t("95% 下限", "CI low"): cal["ci_low"], self.t("95% 上限", "CI high"): cal["ci_high"]})
                p.table(show, "各统计期的成员身份效应（按日历期汇总，已加入单位的平均）",
                        "Effect of membership by calendar period (units joined by then, averaged)", floatfmt="{:.4g}")
            p.figure(dyn.plot(lang=self.lang, title=self.name(y)), "事件研究：加入前后各期效应与 95% 置信带（竖线：加入）",
                     "Event study: effects before and after joining with 95% bands (line: joining)")
            stat, pval, excluding, n_pre = self.pretest(y)
            if pval is None:
                p.paragraph("平行趋势联合预检验无法计算（部分加入批次只有一个单位，协方差矩阵奇异）。",
                            "The joint pre-trend test cannot be computed (some cohorts have a single unit: singular covariance).")
            else:
                p.paragraph(f"平行趋势预检验（加入前各期 ATT 联合为零的 Wald 检验，与 R did 相同）：统计量 {stat:.3f}，p = {pval:.3f}"
                            f"{'，未拒绝平行趋势。' if pval >= 0.05 else '，拒绝平行趋势，结果需谨慎解读。'}",
                            f"Pre-trend test (Wald test that all pre-joining ATTs are zero, as R did): statistic {stat:.3f}, p = {pval:.3f}"
                            f"{' — parallel trends not rejected.' if pval >= 0.05 else ' — parallel trends rejected; read with care.'}")
            if n_pre:
                p.paragraph(f"加入前 {n_pre} 个事件期中，{excluding} 个的 95% 置信区间不含 0（若平行趋势成立，约 5% 即 {0.05 * n_pre:.1f} 个）。",
                            f"Of {n_pre} pre-joining event times, {excluding} have a 95% CI excluding zero (about 5%, i.e. {0.05 * n_pre:.1f}, expected under parallel trends).")
            for w in res.warnings:
                self._warning(w)

    @functools.cached_property
    def drivers_result(self):
        from evalkit.models import drivers

        outcomes = self.methods.get("twfe_outcomes") or []
        inputs = [i for i in (self.methods.get("twfe_inputs") or []) if i in self.college_wide.columns]
        if not outcomes or not inputs or outcomes[0] not in self.college_wide.columns:
            return None
        data = self.college_wide.dropna(subset=[outcomes[0], *inputs])
        try:
            # fewer permutation repeats and a coarser grid than the defaults keep a review quick;
            # one BLAS/OpenMP thread avoids oversubscription when reviews run in parallel
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):
                return drivers(data, y=outcomes[0], x=inputs, unit="unit_id", n_repeats=3, grid_resolution=10,
                               seed=int(self.methods["seed"]), lang=self.lang)
        except EvalkitError as exc:
            return exc

    def drivers(self) -> None:
        p = self.page
        if not self.methods.get("drivers"):
            return
        p.heading("探索性分析：成效的预测因素（非因果）", "Exploratory: what predicts outcomes (not causal)")
        res = self.drivers_result
        if res is None:
            p.paragraph("未指定成效与投入指标。", "No outcome and inputs named.")
            return
        if isinstance(res, Exception):
            p.unavailable(res)
            return
        tidy = res.tidy()
        show = tidy.copy()
        if "term" in show.columns:
            show["term"] = [self.name(t) if t in self.registry.ids else t for t in show["term"]]
        p.table(show, "置换重要性（按院校分组交叉验证）", "Permutation importance (cross-validated, folds grouped by college)", floatfmt="{:.4g}")
        rename = {t: self.short_name(t) for t in self.registry.ids}
        named = dataclasses.replace(res, importance=res.importance.assign(term=res.importance["term"].replace(rename)),
                                    partial_dependence=res.partial_dependence.assign(
                                        term=res.partial_dependence["term"].replace(rename)))
        p.figure(named.plot(lang=self.lang), "置换重要性与部分依赖", "Permutation importance and partial dependence")
        p.note("这是预测性的探索分析，不是因果推断。", "This is an exploratory, predictive analysis, not causal inference.")

def _balanced_did_panel(wide: pd.DataFrame, y: str) -> pd.DataFrame:
    """A balanced college panel for the DiD of ``y``: periods where nobody reports ``y`` are
    dropped (graduate outcomes exist only in the graduation half-year), time re-indexed 1..k, and
    each cohort moved to the first kept period at or after joining (0 = never, or joined after
    the last period, as R ``did`` treats it)."""
    d = wide[["unit_id", "t", "cohort_t", y]].copy()
    observed = d.groupby("t")[y].apply(lambda s: s.notna().any())
    kept = sorted(observed[observed].index)
    d = d[d["t"].isin(kept)]
    complete = d.groupby("unit_id")[y].apply(lambda s: s.notna().all() and len(s) == len(kept))
    d = d[d["unit_id"].isin(complete[complete].index)]
    new_t = {t: i + 1 for i, t in enumerate(kept)}
    d["time"] = d["t"].map(new_t).astype(int)

    def first_kept(c):
        if not c or c <= 0:
            return 0
        later = [new_t[t] for t in kept if t >= c]
        return later[0] if later else 0

    d["cohort"] = d["cohort_t"].fillna(0).astype(int).map(first_kept).astype(int)
    return d.reset_index(drop=True)

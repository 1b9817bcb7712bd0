"""Section renderers, part 3: page 1 (摘要: red lines, verdict, scorecard, risks,
recommendations), one chapter per second-level dimension of the framework, the outlook
(end-of-build forecasts; phases compared per dimension in the final review), the framework and
rules for the annex, and the standalone annex page.

Every number comes from :func:`evalkit.review.verdict.evaluate`; every table is recorded on the
page for ``results.json``.
"""

from __future__ import annotations

import html

import pandas as pd

from evalkit.review.analysis import PhaseAnalysis
from evalkit.review.html import Page
from evalkit.review.verdict import RULES, Evaluation

LIGHT = {
    "green": ("绿灯", "green"),
    "amber": ("黄灯", "amber"),
    "red": ("红灯", "red"),
    "grey": ("未评估", "not judged"),
}
LIGHT_COLOUR = {"green": "#1a7f37", "amber": "#b58900", "red": "#b00020", "grey": "#777"}
RULE_NAMES = {
    "target": ("实际与目标", "actual vs target"),
    "trend": ("较基线变化", "change on the baseline"),
    "members_vs_comparison": ("成员与对照比较", "members vs comparison"),
    "threshold": ("底线", "floor"),
    "checklist": ("建设清单佐证", "checklist evidence"),
    "none": ("无目标", "no target"),
}
CLASS_NAMES = {
    "basic": ("基础性", "foundational"),
    "substantive": ("实质性", "substantive"),
    "veto": ("否定性", "veto"),
}
FORECAST_STATUS = {
    "on_track": ("可望达成", "on track"),
    "uncertain": ("不确定", "uncertain"),
    "at_risk": ("有风险", "at risk"),
    "too_short": ("序列过短", "series too short"),
}


def _light(p: Page, light: str) -> str:
    return p.t(*LIGHT.get(light, (light, light)))


def framework_line(ev: Evaluation, p: Page) -> None:
    p.note(ev.framework.label("en" if p.lang == "en" else "zh"), ev.framework.label("en"))


def summary(a: PhaseAnalysis, p: Page, ev: Evaluation) -> None:
    """Page 1: red lines first, then the verdict with its rule, the scorecard, the three largest
    risks and the recommendations."""
    p.heading("摘要", "Summary")
    triggered = [r for r in ev.red_lines if r["triggered"]]
    for r in triggered:
        p.show(
            "<div class='evalkit-banner evalkit-redline' role='alert'>"
            + html.escape(
                p.t(
                    f"⚠ 否定性指标触发：{r['name_zh']}（{r['evidence_zh']}）",
                    f"⚠ Red line triggered: {r['name_en']} ({r['evidence_en']})",
                )
            )
            + "</div>"
        )
    v = ev.verdict
    colour = {"pass": "#1a7f37", "conditional": "#b58900", "fail": "#b00020"}[v["code"]]
    sentence = p.t(f"结论：{v['zh']}（{v['because_zh']}）。", f"Verdict: {v['en']} ({v['because_en']}).")
    p.show(
        f"<p class='evalkit-verdict' style='font-size:1.2em;font-weight:700;color:{colour}'>{html.escape(sentence)}</p>"
    )
    p.note(v["rule_zh"], v["rule_en"])
    if v["provisional"]:
        names = [r for r in ev.red_lines if r["status"] == "not_assessed"]
        p.note(
            "待核实：以下否定性指标未能评估（"
            + "、".join(f"{r['name_zh']}：{r['evidence_zh']}" for r in names)
            + "）。",
            "Provisional: these red lines could not be judged ("
            + "; ".join(f"{r['name_en']}: {r['evidence_en']}" for r in names)
            + ").",
        )
    elif not triggered:
        p.paragraph("否定性指标：均未触发。", "Red lines: none triggered.")
    card = ev.scorecard
    show = pd.DataFrame(
        {
            p.t("维度", "dimension"): [p.t(z, e) for z, e in zip(card["name_zh"], card["name_en"])],
            p.t("类别", "class"): [p.t(*CLASS_NAMES.get(k, (k, k))) for k in card["class"]],
            p.t("信号灯", "light"): [_light(p, x) for x in card["light"]],
            p.t("得分", "score"): [None if s is None or pd.isna(s) else round(float(s), 2) for s in card["score"]],
            p.t("决定颜色的比较", "comparison that set the colour"): [
                p.t(z, e) for z, e in zip(card["comparison_zh"], card["comparison_en"])
            ],
        }
    )
    p.table(
        show, "评分卡（按二级指标）", "Scorecard by second-level dimension", table_id="scorecard", floatfmt="{:.2f}"
    )
    if ev.risks:
        p.heading("三大风险", "The three largest risks", level=3)
        p.bullets([(r["text_zh"], r["text_en"]) for r in ev.risks])
    p.heading("建议", "Recommendations", level=3)
    if ev.recommendations:
        shown = ev.recommendations[:5]
        p.bullets([(f"[{r['rule']}] {r['text_zh']}", f"[{r['rule']}] {r['text_en']}") for r in shown])
        if len(ev.recommendations) > len(shown):
            more = len(ev.recommendations) - len(shown)
            p.note(f"另有 {more} 条建议见技术附录。", f"{more} more recommendations in the technical annex.")
    else:
        p.paragraph("各规则均未触发建议。", "No rule triggers a recommendation.")
    p.note(
        "建议由数字按规则生成（规则 R1–R7 见技术附录）。",
        "Recommendations are generated from the numbers by stated rules (R1–R7, in the technical annex).",
    )


def chapters(a: PhaseAnalysis, p: Page, ev: Evaluation) -> None:
    """One chapter per second-level dimension (red-line dimensions are on page 1)."""
    fw, pts = ev.framework, ev.points
    card = ev.scorecard.set_index("dimension")
    for dim in fw.dimensions:
        if dim.kind == "veto":
            continue
        row = card.loc[dim.id]
        p.heading(dim.name_zh, dim.name_en)
        tags = ("；本联合体：" + "、".join(dim.tags)) if dim.tags else ""
        score = "—" if row["score"] is None or pd.isna(row["score"]) else f"{float(row['score']):.2f}"
        p.paragraph(
            f"{CLASS_NAMES[dim.kind][0]}指标；信号灯：{_light(p, row['light'])}，得分 {score}{tags}。",
            f"{CLASS_NAMES[dim.kind][1]} indicators; light: {LIGHT[row['light']][1]}, score {score}"
            + (f"; consortium layer: {', '.join(dim.tags)}" if dim.tags else "")
            + ".",
        )
        sub = pts[pts["dimension"] == dim.id]
        third = {n.id: n for n in fw.nodes.values()}
        table = pd.DataFrame(
            {
                p.t("三级指标", "indicator"): [p.t(third[t].name_zh, third[t].name_en) for t in sub["third"]],
                p.t("观测点", "observation point"): [p.t(z, e) for z, e in zip(sub["name_zh"], sub["name_en"])],
                p.t("判断依据", "rule"): [p.t(*RULE_NAMES.get(r, (r, r))) for r in sub["rule"]],
                p.t("比较", "comparison"): [p.t(z, e) for z, e in zip(sub["comparison_zh"], sub["comparison_en"])],
                p.t("信号灯", "light"): [_light(p, x) for x in sub["light"]],
            }
        )
        p.table(table, f"{dim.name_zh}：观测点", f"{dim.name_en}: observation points", table_id=f"dimension_{dim.id}")


def outlook(a: PhaseAnalysis, p: Page, ev: Evaluation) -> None:
    """Before the final review: end-of-build forecasts per target; the final review: phases compared per dimension."""
    if a.phase.kind == "final":
        ph = ev.phases
        if not len(ph):
            return
        p.heading("各阶段比较（按维度）", "Phases compared by dimension")
        show = pd.DataFrame({p.t("维度", "dimension"): [p.t(z, e) for z, e in zip(ph["name_zh"], ph["name_en"])]})
        for w in a.compared:
            show[a.window_title(w, p.lang)] = [None if x is None or pd.isna(x) else float(x) for x in ph[w]]
        p.table(
            show,
            "各阶段中较基线改善（超过 1%）的指标观测点占比",
            "Share of indicator points improving on the baseline (by more than 1%), by phase",
            table_id="phases_by_dimension",
            floatfmt="{:.0%}",
        )
        return
    fc = ev.forecast
    if not len(fc):
        return
    p.heading("展望：建设期末目标预测", "Outlook: end-of-build forecast")
    show = pd.DataFrame(
        {
            p.t("指标", "indicator"): [p.t(z, e) for z, e in zip(fc["name_zh"], fc["name_en"])],
            p.t("期末目标", "end target"): fc["target_text"].to_numpy(),
            p.t("预测值（95% 预测区间）", "forecast (95% prediction interval)"): fc["forecast_text"].to_numpy(),
            p.t("判断", "status"): [p.t(*FORECAST_STATUS[s]) for s in fc["status"]],
        }
    )
    p.table(
        show,
        f"按线性趋势预测至 {fc['horizon'].iloc[0]}（成员合计，基线以来各统计期，流量按年折算）",
        f"Linear-trend forecast to {fc['horizon'].iloc[0]} (members together, periods since the baseline, flows annualised)",
        table_id="forecast",
    )
    p.note(
        "方法：对成员合计的各期序列做普通最小二乘线性趋势，外推至建设期末，给出 95% 预测区间（t 分布，n−2 自由度）；"
        "区间下限仍达目标为“可望达成”，预测值未达目标为“有风险”，其余为“不确定”。",
        "Method: ordinary least squares linear trend on the members' per-period series, extrapolated to the end of the build "
        "with a 95% prediction interval (Student t, n − 2 df); 'on track' when the interval's bound still meets the target, "
        "'at risk' when the forecast misses it, else 'uncertain'.",
    )


def annex_link(p: Page) -> None:
    p.show(
        "<p class='evalkit-note'>"
        + html.escape(
            p.t("估计细节、数据质量、来源信息与方法见", "Estimation details, data quality, provenance and methods: ")
        )
        + f"<a href='annex.html'>{html.escape(p.t('技术附录（annex.html）', 'technical annex (annex.html)'))}</a></p>"
    )


def rules(a: PhaseAnalysis, p: Page, ev: Evaluation) -> None:
    """Annex: the verdict rule, the recommendation rules, every recommendation and the framework."""
    p.heading("附录：评价框架与判定规则", "Annex: evaluation framework and rules")
    framework_line(ev, p)
    p.bullets(
        [(ev.verdict["rule_zh"], ev.verdict["rule_en"])] + [(f"{k}：{z}", f"{k}: {e}") for k, (z, e) in RULES.items()]
    )
    th = ev.framework.thresholds
    p.note(
        f"观测点规则：目标——达成为绿灯，完成度不低于 {th['target_amber']:.0%} 为黄灯；较基线变化与成员对照比较——"
        f"按指标方向改善超过 {th['trend_flat']:.0%} 为绿灯，变化在 ±{th['trend_flat']:.0%} 内为黄灯；底线——达到为绿灯；"
        "建设清单——取截至信息截止日各单位最新状态中的最高者（本期类条目只计本窗口内的佐证），满级为绿灯、0 或无佐证为红灯。",
        f"Point rules: target — met is green, at least {th['target_amber']:.0%} of it amber; change on the baseline and members vs "
        f"comparison — better by more than {th['trend_flat']:.0%} in the indicator's direction is green, within "
        f"±{th['trend_flat']:.0%} amber; floor — met is green; checklist — the best of each unit's latest status by the "
        "as-of date (items about the period count evidence inside the window only), full marks green, 0 or no evidence red.",
    )
    if ev.recommendations:
        p.table(
            pd.DataFrame(
                {
                    p.t("规则", "rule"): [r["rule"] for r in ev.recommendations],
                    p.t("建议", "recommendation"): [p.t(r["text_zh"], r["text_en"]) for r in ev.recommendations],
                }
            ),
            "全部建议",
            "All recommendations",
            table_id="recommendations",
            max_rows=200,
        )
    pts = ev.points
    fw = ev.framework
    p.table(
        pd.DataFrame(
            {
                p.t("一级", "level 1"): [p.t(*CLASS_NAMES[c]) for c in pts["class"]],
                p.t("二级", "level 2"): [p.t(fw.nodes[d].name_zh, fw.nodes[d].name_en) for d in pts["dimension"]],
                p.t("三级", "level 3"): [p.t(fw.nodes[t].name_zh, fw.nodes[t].name_en) for t in pts["third"]],
                p.t("观测点", "point"): [p.t(z, e) for z, e in zip(pts["name_zh"], pts["name_en"])],
                p.t("数据来源", "source"): [
                    i if isinstance(i, str) else f"checklist:{c}" for i, c in zip(pts["indicator"], pts["item"])
                ],
                p.t("规则", "rule"): [p.t(*RULE_NAMES.get(r, (r, r))) for r in pts["rule"]],
                p.t("权重", "weight"): pts["weight"].astype(float).to_numpy(),
                p.t("否决", "veto"): [p.t("是", "yes") if v else "" for v in pts["veto"]],
            }
        ),
        "评价框架：观测点、规则与综合权重",
        "Framework: observation points, rules and weights in the overall score",
        table_id="framework_points",
        floatfmt="{:.3f}",
        max_rows=500,
    )


def standalone_page(markup: str, *, title: str, lang: str) -> str:
    """A self-contained HTML page (embedded font subset, the report's CSS) around ``markup``."""
    from evalkit.review.render import HTML_LANG, REPORT_CSS, embedded_font_css

    css = (
        "table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}"
        " figure{margin:1em 0} figcaption{font-size:.9em}"
    )
    body = f"<body>{markup}</body>"
    head = f"<head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{REPORT_CSS}{css}</style></head>"
    page = f"<!DOCTYPE html>\n<html lang='{HTML_LANG.get(lang, 'zh-CN')}'>{head}{body}</html>"
    return page.replace("<style>", f"<style>{embedded_font_css(page)}", 1)


def scorecard_figure(ev: Evaluation, lang: str):
    """The scorecard as bars coloured by traffic light (dimensions with a score)."""
    from evalkit.plotting import new_figure

    card = ev.scorecard[ev.scorecard["score"].notna()]
    fig = new_figure(7, 0.4 * max(len(card), 2) + 1)
    ax = fig.add_subplot()
    names = [n_en if lang == "en" else n_zh for n_zh, n_en in zip(card["name_zh"], card["name_en"])]
    ax.barh(names, card["score"].astype(float), color=[LIGHT_COLOUR[x] for x in card["light"]])
    for x, ls in ((ev.framework.thresholds["green"], "--"), (ev.framework.thresholds["amber"], ":")):
        ax.axvline(x, color="black", lw=1, ls=ls)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("score" if lang == "en" else "得分")
    return fig


def docx_figures(review) -> list[tuple[bytes, str]]:
    """The figures of the Word version: the scorecard and the main trends (PNG, caption)."""
    from evalkit.review.figures import drawn, trend_png

    lang = "en" if review.lang == "en" else "zh"
    a = review.analysis
    ev = review.evaluation
    wanted = list(dict.fromkeys([*a.methods.did_outcomes, *a.phase.targets]))
    # the scorecard is drawn from the evaluation's card and thresholds alone: they are its key
    card = ev.scorecard[["name_zh", "name_en", "score", "light"]].to_json(orient="split", double_precision=15)
    on = {"card": card, "thresholds": ev.framework.thresholds, "lang": lang}
    return [
        (
            drawn(a, "scorecard", lambda: scorecard_figure(ev, lang), **on),
            "评分卡（按二级指标）" if lang == "zh" else "Scorecard",
        ),
        (
            trend_png(a, [i for i in wanted if i in a.registry.ids][:4], lang),
            "主要指标趋势：成员与对照" if lang == "zh" else "Main indicators: members and comparison",
        ),
    ]

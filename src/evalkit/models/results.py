"""Results objects shared by every estimator in :mod:`evalkit.models`.

A ``Results`` holds one row per term (estimate, se, confidence interval, p) as a labelled
DataFrame, the variance convention used, the number of observations and any warnings raised
while fitting (stored, so a rendered review shows them next to the numbers).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.plotting import Lang, label

TIDY_COLUMNS = ["term", "estimate", "se", "ci_low", "ci_high", "p"]
EXPLORATORY_ZH = "探索性分析，非因果推断"
EXPLORATORY_EN = "exploratory, not causal"


@dataclass(frozen=True)
class Summary:
    """A printable summary; ``_repr_html_`` renders it in JupyterLab and exported reports."""

    title: str
    lines: tuple[str, ...]
    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.title, *self.lines, self.table.to_string(index=False, float_format=lambda v: f"{v:.6g}")]
        parts += [f"! {n}" for n in self.notes]
        return "\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = f"<h4>{html.escape(self.title)}</h4>"
        lines = "".join(f"<div>{html.escape(x)}</div>" for x in self.lines)
        table = self.table.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0)
        notes = "".join(f"<div style='color:#D55E00'>⚠ {html.escape(n)}</div>" for n in self.notes)
        return f"<div class='evalkit-summary'>{head}{lines}{table}{notes}</div>"


@dataclass
class Results:
    """Estimates of one model.

    ``table`` is indexed by term with columns ``estimate, se, ci_low, ci_high, p`` (and any
    further columns an estimator adds, e.g. ``se_crv3``, ``p_wild``). ``overall`` / ``overall_se``
    hold a single summary figure (an aggregated ATT); ``.estimate`` / ``.se`` return it when
    present and the per-term Series otherwise.
    """

    table: pd.DataFrame
    method: str
    vcov: str
    n: int
    kind: Literal["coef", "event"] = "coef"
    overall: float | None = None
    overall_se: float | None = None
    alpha: float = 0.05
    warnings: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    lang: Lang = "zh"

    # -- labelled access -------------------------------------------------------------------
    @property
    def estimate(self):
        return self.overall if self.overall is not None else self.table["estimate"]

    @property
    def se(self):
        return self.overall_se if self.overall is not None else self.table["se"]

    @property
    def params(self) -> pd.Series:
        return self.table["estimate"]

    @property
    def ci(self) -> tuple[float, float] | pd.DataFrame:
        """Overall (low, high) when there is an overall figure, else per-term DataFrame."""
        if self.overall is not None:
            from scipy.stats import norm

            z = norm.ppf(1 - self.alpha / 2)
            return (self.overall - z * self.overall_se, self.overall + z * self.overall_se)
        return self.table[["ci_low", "ci_high"]]

    def tidy(self) -> pd.DataFrame:
        """One row per term: term, estimate, se, ci_low, ci_high, p, n, vcov (+ extra columns)."""
        out = self.table.reset_index(names="term")
        out["n"] = self.n
        out["vcov"] = self.vcov
        first = TIDY_COLUMNS + ["n", "vcov"]
        return out[first + [c for c in out.columns if c not in first]]

    def summary(self) -> Summary:
        lang = self.lang
        lines = [f"{label('观测数', 'observations', lang)}: {self.n}",
                 f"{label('方差估计', 'variance', lang)}: {self.vcov}"]
        if self.overall is not None:
            lo, hi = self.ci
            lines.append(f"{label('总体效应', 'overall', lang)}: {self.overall:.4f} "
                         f"(SE {self.overall_se:.4f}; {1 - self.alpha:.0%} CI {lo:.4f}, {hi:.4f})")
        for key, value in self.info.items():
            if isinstance(value, (str, int, float)):
                lines.append(f"{key}: {value}")
        return Summary(self.method, tuple(lines), self.tidy(), tuple(self.warnings))

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        return str(self.summary())

    # -- figures -----------------------------------------------------------------------------
    def plot(self, *, lang: Lang | None = None, title: str | None = None):
        """Coefficient plot (``kind="coef"``) or event-study plot with a CI band and the
        treatment line (``kind="event"``). Returns a matplotlib Figure."""
        lang = lang or self.lang
        if self.kind == "event":
            return event_plot(self.table, lang=lang, title=title or self.method,
                              ref=self.info.get("reference_period"))
        return coef_plot(self.table, lang=lang, title=title or self.method)


def coef_plot(table: pd.DataFrame, *, lang: Lang = "zh", title: str = ""):
    from evalkit.plotting import PALETTE, new_figure

    t = table.iloc[::-1]
    fig = new_figure(7.0, max(2.0, 0.45 * len(t) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(t))
    ax.errorbar(t["estimate"], y, xerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
                fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=3)
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, [str(i) for i in t.index])
    ax.set_xlabel(label("估计值（95% 置信区间）", "estimate (95% CI)", lang))
    ax.set_title(title)
    return fig


def event_plot(table: pd.DataFrame, *, lang: Lang = "zh", title: str = "", ref=None,
               extra: dict[str, pd.DataFrame] | None = None):
    """Event-time estimates with a confidence band, the zero line and the treatment line
    (between event time -1 and 0). ``extra`` overlays further estimators by name."""
    from evalkit.plotting import PALETTE, new_figure

    fig = new_figure()
    ax = fig.add_subplot()
    series = {title or "": table, **(extra or {})}
    for i, (name, t) in enumerate(series.items()):
        e = np.asarray(t.index, dtype=float) + (0.08 * i if i else 0.0)
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(e, t["ci_low"], t["ci_high"], color=colour, alpha=0.2, lw=0)
        ax.plot(e, t["estimate"], "o-", color=colour, label=name or None)
    if ref is not None:
        ax.plot([ref], [0.0], marker="o", mfc="white", color="black", ls="none",
                label=label("参照期", "reference period", lang))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(-0.5, color=PALETTE[3], ls="--", lw=1.2, label=label("处理开始", "treatment starts", lang))
    ax.set_xlabel(label("相对处理时间（期）", "periods relative to treatment", lang))
    ax.set_ylabel(label("效应估计（95% 置信区间）", "effect (95% CI)", lang))
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def coef_table(estimate, se, *, p=None, df=None, alpha: float = 0.05, index=None) -> pd.DataFrame:
    """Table with estimate, se, CI and p. ``df`` None → normal; else Student t with ``df``."""
    from scipy import stats

    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    dist = stats.norm if df is None else stats.t(df)
    crit = dist.ppf(1 - alpha / 2)
    if p is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * dist.sf(np.abs(estimate / se))
    return pd.DataFrame({"estimate": estimate, "se": se, "ci_low": estimate - crit * se,
                         "ci_high": estimate + crit * se, "p": np.asarray(p, dtype=float)},
                        index=pd.Index(index, name="term") if index is not None else None)

"""The result of :func:`evalkit.models.synthdid.synthetic_did`: :class:`SynthDidResults` (the one
results protocol: ``tidy()``, ``summary(lang)``, ``plot(lang)``, ``ci(level)``, warnings as
message codes) and the method note a report quotes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evalkit.errors import check_choice
from evalkit.i18n import Message
from evalkit.models.results import BaseResults, Summary, critical_value
from evalkit.models.synthdid_solver import Block
from evalkit.plotting import Lang, label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHOD_NAMES = {"sdid": "Synthetic DiD", "sc": "Synthetic control", "did": "DiD"}
METHOD_NAMES_ZH = {"sdid": "合成双重差分", "sc": "合成控制", "did": "双重差分"}


# -- results -----------------------------------------------------------------------------------------
def _note(method: str, se: str | None, reps: int, seed: int, staggered: bool, lang: Lang) -> str:
    se_txt = {
        None: label("未计算标准误", "no standard error", lang),
        "placebo": label(f"安慰剂标准误（{reps} 次，种子 {seed}）", f"placebo SE ({reps} draws, seed {seed})", lang),
        "bootstrap": label(
            f"自助法标准误（{reps} 次，种子 {seed}）", f"bootstrap SE ({reps} draws, seed {seed})", lang
        ),
        "jackknife": label("刀切法标准误（权重固定）", "jackknife SE (weights held fixed)", lang),
    }[se]
    name = label(METHOD_NAMES_ZH[method], METHOD_NAMES[method], lang)
    text = f"{name}; {se_txt}."
    if staggered:
        text += " " + label(
            "分批加入：每个加入批次与从未加入单位单独构成一个区块估计，总体效应按各批次处理单位-期数加权平均；"
            "标准误按各批次独立合并：√(Σ w_g² SE_g²)。",
            "Staggered adoption: each adoption cohort is estimated as its own block against the never-treated "
            "units; the overall effect averages the cohort effects weighted by their number of treated "
            "unit-periods; its SE combines the cohort SEs as independent, √(Σ w_g² SE_g²).",
            lang,
        )
    return text


@dataclass(repr=False)
class SynthDidResults(BaseResults):
    """Result of :func:`~evalkit.models.synthdid.synthetic_did` (built by it, not by hand).

    ``cohort_weights``: each cohort's own (unit_weights, time_weights); ``replicates``: the SE
    replications by cohort start.

    Parameters
    ----------
    estimate : float
        The (overall) effect.
    se : float or None
        Its standard error (None when ``se=None``).
    method : {"sdid", "sc", "did"}
    se_method : {"placebo", "jackknife", "bootstrap"} or None
    unit_weights : pandas.Series
        ω by control unit (staggered: the cohort-weighted average, see
        :mod:`evalkit.models.synthdid`).
    time_weights : pandas.Series
        λ by pre-treatment period (staggered: the cohort-weighted average).
    cohorts : pandas.DataFrame
        One row per adoption cohort: start, n_treated, n_post, weight, estimate, se, treated_units.
    n : int
        Units.
    settings : dict
        Column names, ``reps`` and ``seed``.
    alpha : float
        1 − confidence level of ``tidy()`` and ``summary()``.
    warnings : list of evalkit.i18n.Message
    """

    estimate: float
    se: float | None
    method: str
    se_method: str | None
    unit_weights: pd.Series
    time_weights: pd.Series
    cohorts: pd.DataFrame
    n: int
    settings: dict
    alpha: float = 0.05
    warnings: list[Message] = field(default_factory=list)
    _blocks: list[Block] = field(default_factory=list, repr=False)

    @property
    def staggered(self) -> bool:
        return len(self._blocks) > 1

    def method_note(self, lang: Lang = "zh") -> str:
        """How the estimate and SE were made (the cohort aggregation rule included).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        str
        """
        return _note(self.method, self.se_method, self.settings["reps"], self.settings["seed"], self.staggered, lang)

    @property
    def cohort_weights(self) -> dict:
        return {
            b.start: (
                pd.Series(b.omega, index=pd.Index(b.controls, name=self.settings["unit"]), name="omega"),
                pd.Series(b.lam, index=pd.Index(b.periods[: b.T0], name=self.settings["time"]), name="lambda"),
            )
            for b in self._blocks
        }

    @property
    def replicates(self) -> dict:
        return {b.start: b.replicates for b in self._blocks}

    def overall_ci(self, level: float = 0.95) -> tuple[float, float]:
        """Normal confidence interval (low, high) of the overall effect; (nan, nan) without an SE.
        (``ci(level)`` gives every row of ``tidy()``.)

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        tuple of float
        """
        z = critical_value(level)
        if self.se is None:
            return (float("nan"), float("nan"))
        return (self.estimate - z * self.se, self.estimate + z * self.se)

    def tidy(self) -> pd.DataFrame:
        """One row for the (overall) effect, then one per cohort when adoption is staggered.

        Returns
        -------
        pandas.DataFrame
            Columns term, estimate, se, ci_low, ci_high, p, n_treated, n_post, weight, method, vcov.
        """
        from scipy.stats import norm

        z = critical_value(1 - self.alpha)
        rows = [
            (
                "ATT",
                self.estimate,
                self.se,
                int(self.cohorts["n_treated"].sum()),
                int(self.cohorts["n_post"].max()),
                1.0,
            )
        ]
        if self.staggered:
            rows += [
                (f"ATT(cohort={r.start})", r.estimate, r.se, int(r.n_treated), int(r.n_post), r.weight)
                for r in self.cohorts.itertuples()
            ]
        out = pd.DataFrame(rows, columns=["term", "estimate", "se", "n_treated", "n_post", "weight"])
        out["se"] = out["se"].astype(float)
        out["ci_low"] = out["estimate"] - z * out["se"]
        out["ci_high"] = out["estimate"] + z * out["se"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["p"] = 2 * norm.sf(np.abs(out["estimate"] / out["se"]))
        out["method"] = self.method
        out["vcov"] = self.se_method or "none"
        return out[
            ["term", "estimate", "se", "ci_low", "ci_high", "p", "n_treated", "n_post", "weight", "method", "vcov"]
        ]

    def summary(self, lang: Lang = "zh") -> Summary:
        """Printable summary (renders as HTML in Jupyter).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
            Label language.

        Returns
        -------
        Summary
        """
        lines = [
            (
                f"{label('单位数', 'units', lang)}: {self.n} "
                f"({label('对照', 'controls', lang)} {len(self.unit_weights)})"
            ),
            _note(self.method, self.se_method, self.settings["reps"], self.settings["seed"], self.staggered, lang),
        ]
        lo, hi = self.overall_ci(1 - self.alpha)
        se_txt = "—" if self.se is None else f"{self.se:.4f}"
        lines.append(
            f"{label('效应', 'effect', lang)}: {self.estimate:.4f} (SE {se_txt}; "
            f"{1 - self.alpha:.0%} CI {lo:.4f}, {hi:.4f})"
        )
        top = self.unit_weights[self.unit_weights > 0].sort_values(ascending=False).head(5)
        lines.append(
            f"{label('主要对照权重', 'largest unit weights', lang)}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in top.items())
        )
        title = f"{label(METHOD_NAMES_ZH[self.method], METHOD_NAMES[self.method], lang)} ({self.method})"
        return Summary(title, tuple(lines), self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(
        self, lang: Lang = "zh", *, kind: Literal["trajectory", "weights"] = "trajectory", title: str | None = None
    ) -> Figure:
        """Treated vs synthetic trajectory, or the unit weights.

        ``kind="trajectory"``: the treated units' mean and the weighted controls (shifted by the
        λ-weighted pre-period gap, so the average post-period gap is the estimate), the start of
        treatment and the time weights as bars; one panel per cohort. ``kind="weights"``: the
        control units' weights ω as horizontal bars (units with weight 0 listed at the bottom).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
            Label language.
        kind : {"trajectory", "weights"}
            Which figure.
        title : str, optional
            Figure title.

        Returns
        -------
        matplotlib.figure.Figure
        """
        check_choice("kind", kind, ("trajectory", "weights"))
        name = label(METHOD_NAMES_ZH[self.method], METHOD_NAMES[self.method], lang)
        return (
            self._plot_weights(lang, title or name) if kind == "weights" else self._plot_trajectory(lang, title or name)
        )

    def _plot_trajectory(self, lang: Lang, title: str) -> Figure:
        from evalkit.plotting import PALETTE, new_figure

        k = len(self._blocks)
        fig = new_figure(7.5, 3.6 * k if k > 1 else 4.2)
        axes = np.atleast_1d(fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0])
        for ax, b in zip(axes, self._blocks):
            x = np.arange(b.Y.shape[1])
            tr = b.Y[b.N0 :].mean(axis=0)
            synth = b.omega @ b.Y[: b.N0]
            shift = float(b.lam @ (tr[: b.T0] - synth[: b.T0]))
            ax.plot(x, tr, "o-", ms=3, color=PALETTE[0], label=label("处理组", "treated", lang))
            ax.plot(x, synth + shift, "s--", ms=3, color=PALETTE[1], label=label("合成对照", "synthetic control", lang))
            ax.axvline(b.T0 - 0.5, color=PALETTE[3], ls=":", lw=1.2, label=label("处理开始", "treatment starts", lang))
            if b.lam.any():
                bars = ax.twinx()
                bars.bar(
                    x[: b.T0],
                    b.lam,
                    color=PALETTE[2],
                    alpha=0.35,
                    width=0.8,
                    label=label("时间权重", "time weights", lang),
                )
                bars.set_ylim(0, max(1e-12, b.lam.max()) * 4)
                bars.set_yticks([])
            ax.set_ylabel(self.settings["y"])
            sub = (
                f"{label('批次', 'cohort', lang)} {b.start}: $\\hat{{\\tau}}$ = {b.estimate:.3f}"
                if k > 1
                else f"$\\hat{{\\tau}}$ = {self.estimate:.3f}"
            )
            ax.set_title(sub, fontsize="medium")
            ax.legend(loc="best", fontsize="small")
            periods = [str(p) for p in b.periods]
            step = max(1, int(np.ceil(len(periods) / 12)))
            ax.set_xticks(x[::step], periods[::step])
        axes[-1].set_xlabel(self.settings["time"])
        fig.suptitle(title)
        return fig

    def _plot_weights(self, lang: Lang, title: str) -> Figure:
        from evalkit.plotting import PALETTE, new_figure

        w = self.unit_weights.sort_values()
        fig = new_figure(6.5, max(2.5, 0.22 * len(w) + 1.2))
        ax = fig.add_subplot()
        pos = np.arange(len(w))
        ax.barh(pos, w.to_numpy(), color=PALETTE[0])
        ax.set_yticks(pos, [str(i) for i in w.index], fontsize="small")
        ax.set_xlabel(label("对照单位权重 $\\omega$", "unit weight $\\omega$", lang))
        ax.set_title(title)
        return fig

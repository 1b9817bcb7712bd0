"""How far the membership effect survives violations of parallel trends.

``honest_did`` — Rambachan & Roth (2023, REStud), robust confidence sets for θ = l'τ_post when
the post-treatment violation of parallel trends is bounded by the pre-treatment one:

* ``method="relative_magnitudes"`` — Δ^RM(M̄): each post-period change in the trend gap is at
  most M̄ times the largest pre-period change. Conditional-least-favourable hybrid (C-LF,
  Andrews–Roth–Pakes with a least-favourable first stage, κ = α/10), the default of R
  ``HonestDiD::createSensitivityResults_relativeMagnitudes``; computed by
  ``moderndid.didhonest`` (pinned: a port of the R package; 1 000-point θ grid, LF critical
  value simulated with seed 0), wrapped thinly.
* ``method="smoothness"`` — Δ^SD(M): the slope of the trend gap changes by at most M per
  period. Optimal fixed-length confidence interval (FLCI), the R package's default for Δ^SD;
  computed by ``diff_diff`` (pinned), whose optimiser is exact at M = 0 (checked against the
  closed form in the tests) where moderndid's conic solver is off in the fifth decimal.

The breakdown value is the largest M̄ (M) of the grid at which the robust interval still
excludes zero.

``honest_did`` accepts a :class:`~evalkit.models.did.DidResults` (β̂ and Σ of the dynamic
aggregation, Σ = ψ'ψ / n² from csdid's influence function) or raw arrays ``(beta, sigma, n_pre,
n_post)`` (:mod:`evalkit.models.events`). Roth's pre-trend power, ``pretrend_power``, lives in
:mod:`evalkit.models.pretrends` and is re-exported here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, label
from evalkit.models._checks import deprecated_lang
from evalkit.models.events import EventEstimates, event_estimates, event_vcov
from evalkit.models.messages import msg
from evalkit.models.pretrends import PretrendPowerResults, pretrend_power
from evalkit.models.results import TIDY_COLUMNS, BaseResults, Summary, critical_value

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Re-exported: the module path the review layer, the tests and the benchmarks import from.
__all__ = [
    "EventEstimates",
    "PretrendPowerResults",
    "SensitivityResults",
    "event_estimates",
    "event_vcov",
    "honest_did",
    "pretrend_power",
]

METHODS = ("relative_magnitudes", "smoothness")
TARGETS = ("first", "average")


def _l_vec(target, n_post: int) -> np.ndarray:
    if isinstance(target, str):
        check_choice("target", target, TARGETS)
        if target == "first":
            return np.eye(n_post)[0]
        return np.full(n_post, 1.0 / n_post)
    l = np.asarray(target, dtype=float).reshape(-1)
    if l.size != n_post:
        raise ModelInputError(f"target weights need {n_post} entries (one per post period), got {l.size}.")
    return l


# -- results -----------------------------------------------------------------------------------
@dataclass(repr=False)
class SensitivityResults(BaseResults):
    """Result of :func:`honest_did` (built by it, not by hand).

    Parameters
    ----------
    table : pandas.DataFrame
        Robust confidence sets by M: columns M, ci_low, ci_high, method, delta.
    estimate, se : float
        θ̂ = l'τ̂_post and its standard error (the original, parallel-trends inference).
    alpha : float
        1 − confidence level of every interval.
    method : {"relative_magnitudes", "smoothness"}
    ci_method : {"C-LF", "FLCI"}
    target : str
        ``"first"``, ``"average"`` or ``"custom"``.
    l_vec : numpy.ndarray
        The target weights l.
    n_pre, n_post : int
        Pre- and post-period coefficients used.
    breakdown : float or None
        Largest M of the grid at which the robust set still excludes zero (None: none).
    warnings : list of evalkit.i18n.Message
        Conditions found (codes in :mod:`evalkit.models.messages`).
    """

    table: pd.DataFrame
    estimate: float
    se: float
    alpha: float
    method: str
    ci_method: str
    target: str
    l_vec: np.ndarray
    n_pre: int
    n_post: int
    breakdown: float | None
    warnings: list[Message] = field(default_factory=list)

    @property
    def original_ci(self) -> tuple[float, float]:
        """The usual (parallel-trends) normal interval of θ at level 1 − ``alpha``."""
        z = critical_value(1 - self.alpha)
        return self.estimate - z * self.se, self.estimate + z * self.se

    def _mname(self) -> str:
        return "Mbar" if self.method == "relative_magnitudes" else "M"

    def tidy(self) -> pd.DataFrame:
        """The original interval, then one row per M.

        Returns
        -------
        pandas.DataFrame
            Term ``original`` (estimate, se, normal CI, p), then terms ``Mbar=0.5`` … (``M=…`` for
            smoothness) whose ci_low / ci_high are the robust set and whose estimate / se / p are
            NaN (a robust confidence set has no point estimate); then columns M, method, delta.
        """
        from scipy.stats import norm

        lo, hi = self.original_ci
        p0 = float(2 * norm.sf(abs(self.estimate / self.se))) if self.se > 0 else np.nan
        rows = [
            {
                "term": "original",
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": lo,
                "ci_high": hi,
                "p": p0,
                "M": np.nan,
                "method": "original",
                "delta": "none",
            }
        ]
        for r in self.table.itertuples(index=False):
            rows.append(
                {
                    "term": f"{self._mname()}={r.M:g}",
                    "estimate": np.nan,
                    "se": np.nan,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "p": np.nan,
                    "M": r.M,
                    "method": r.method,
                    "delta": r.delta,
                }
            )
        out = pd.DataFrame(rows)
        return out[TIDY_COLUMNS + ["M", "method", "delta"]]

    def ci(self, level: float = 0.95) -> pd.DataFrame:
        """Intervals of every ``tidy()`` row at ``level``.

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        pandas.DataFrame
            Indexed by term, columns ci_low, ci_high. The original row at any level (normal); the
            robust sets only at the level they were computed at (1 − ``alpha``), NaN at others
            (run :func:`honest_did` with another ``alpha``).
        """
        t = self.tidy()
        z = critical_value(level)
        robust = t["term"] != "original"
        same = abs(level - (1 - self.alpha)) < 1e-12
        lo = np.where(robust, t["ci_low"] if same else np.nan, t["estimate"] - z * t["se"])
        hi = np.where(robust, t["ci_high"] if same else np.nan, t["estimate"] + z * t["se"])
        return pd.DataFrame({"ci_low": lo, "ci_high": hi}, index=pd.Index(t["term"], name="term"))

    def summary(self, lang: Lang = "zh") -> Summary:
        """Restriction, interval method, target, coefficients used, breakdown value and the table.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        kind = {
            "relative_magnitudes": label("相对幅度 Δ^RM(M̄)", "relative magnitudes Δ^RM(M̄)", lang),
            "smoothness": label("平滑性 Δ^SD(M)", "smoothness Δ^SD(M)", lang),
        }[self.method]
        bd = (
            label("无（原区间已含 0 或网格内全部含 0）", "none (zero inside at every M)", lang)
            if self.breakdown is None
            else f"{self.breakdown:g}"
        )
        lines = [
            f"{label('约束', 'restriction', lang)}: {kind}",
            f"{label('区间方法', 'CI method', lang)}: {self.ci_method}",
            f"{label('目标参数', 'target', lang)}: θ = l'τ_post, l = {np.round(self.l_vec, 4).tolist()} ({self.target})",
            f"{label('前期/后期系数数', 'pre/post coefficients', lang)}: {self.n_pre}/{self.n_post}",
            f"{label('突破值', 'breakdown value', lang)}: {bd}",
        ]
        title = label("平行趋势敏感性分析（Rambachan–Roth）", "sensitivity to parallel trends (Rambachan–Roth)", lang)
        return Summary(title, tuple(lines), self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh", *, title: str | None = None) -> Figure:
        """HonestDiD's sensitivity plot: the original CI, then the robust CI at each M.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
        title : str, optional
            Overrides the localised heading.

        Returns
        -------
        matplotlib.figure.Figure
            Displays inline in JupyterLab.
        """
        from evalkit.plotting import PALETTE, new_figure

        t = self.table
        Ms = t["M"].to_numpy(dtype=float)
        gap = float(np.min(np.diff(np.sort(Ms)))) if len(Ms) > 1 else 1.0
        x0 = float(Ms.min()) - gap
        fig = new_figure()
        ax = fig.add_subplot()
        lo, hi = self.original_ci
        ax.errorbar(
            [x0],
            [(lo + hi) / 2],
            yerr=[[(hi - lo) / 2]],
            fmt="none",
            capsize=4,
            lw=2,
            color=PALETTE[3],
            label=label("原始区间", "original", lang),
        )
        mid = (t["ci_low"] + t["ci_high"]) / 2
        ax.errorbar(
            Ms,
            mid,
            yerr=[mid - t["ci_low"], t["ci_high"] - mid],
            fmt="none",
            capsize=4,
            lw=2,
            color=PALETTE[0],
            label=f"{self.ci_method}",
        )
        ax.axhline(0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(self._mname() if self.method == "smoothness" else "M̄")
        ax.set_ylabel(label(f"{1 - self.alpha:.0%} 稳健置信区间", f"{1 - self.alpha:.0%} robust CI", lang))
        ax.set_title(title or label("平行趋势敏感性", "sensitivity to parallel trends", lang))
        ax.legend(loc="best", fontsize="small")
        return fig


# -- honest DiD -----------------------------------------------------------------------------------
def _rm_sets(est: EventEstimates, Ms, l, alpha, grid_points):
    from moderndid.didhonest import create_sensitivity_results_rm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = create_sensitivity_results_rm(
            betahat=est.beta,
            sigma=est.sigma,
            num_pre_periods=est.n_pre,
            num_post_periods=est.n_post,
            method="C-LF",
            m_bar_vec=list(Ms),
            l_vec=l,
            alpha=alpha,
            grid_points=grid_points,
        )
    return df["lb"].to_numpy(), df["ub"].to_numpy()


def _sd_sets(est: EventEstimates, Ms, l, alpha):
    from diff_diff.honest_did import _compute_optimal_flci

    K = est.n_pre
    out = [_compute_optimal_flci(est.beta[:K], est.beta[K:], est.sigma, l, K, est.n_post, float(M), alpha) for M in Ms]
    return np.array([o[0] for o in out], dtype=float), np.array([o[1] for o in out], dtype=float)


def honest_did(
    obj,
    *,
    method: Literal["relative_magnitudes", "smoothness"] = "relative_magnitudes",
    Mbar: Sequence[float] | None = None,
    target: str | Sequence[float] = "first",
    alpha: float = 0.05,
    n_pre: int | None = None,
    n_post: int | None = None,
    grid_points: int = 1000,
    lang: object = None,
) -> SensitivityResults:
    """Robust confidence sets for an event-study effect under bounded violations of parallel trends
    (Rambachan & Roth 2023).

    Parameters
    ----------
    obj : DidResults or tuple
        A ``staggered_did`` result (its dynamic aggregation; prefer ``base_period="universal"``)
        or ``(beta, sigma, n_pre, n_post)`` with the pre-period coefficients first and the
        reference period left out.
    method : {"relative_magnitudes", "smoothness"}
        Δ^RM(M̄) with the C-LF hybrid confidence set, or Δ^SD(M) with the optimal FLCI.
    Mbar : sequence of float, optional
        Values of M̄ (relative magnitudes; default 0.5, 1, 1.5, 2) or of M (smoothness, in units
        of the outcome; default ten values from 0 to the pre-period coefficients' largest
        standard error).
    target : {"first", "average"} or sequence of float
        θ = l'τ_post: the first post period (default), the average of the post periods, or
        explicit weights ``l``.
    alpha : float
        1 − confidence level.
    n_pre, n_post : int, optional
        Numbers of pre- and post-period coefficients when ``obj`` is ``(beta, sigma)``.
    grid_points : int
        θ grid of the C-LF test inversion (relative magnitudes only; R's default 1 000).
    lang : optional
        Deprecated and ignored (pass ``lang`` to the result's ``summary``/``plot``).

    Returns
    -------
    SensitivityResults
        ``tidy()``, ``summary(lang)``, ``plot(lang)``, ``ci(level)``, ``.breakdown``, warnings as
        message codes.
    """
    deprecated_lang(lang, "honest_did")
    check_choice("method", method, METHODS)
    if not 0 < alpha < 1:
        raise ModelInputError(f"alpha must lie in (0, 1), got {alpha}.")
    est = event_estimates(obj, n_pre, n_post)
    l = _l_vec(target, est.n_post)
    K = est.n_pre
    notes: list[Message] = []
    from evalkit.models.did import DidResults

    if isinstance(obj, DidResults) and obj.settings.get("base_period") != "universal":
        notes.append(msg("models.honest_varying_base"))
    if method == "relative_magnitudes":
        if K < 2:
            raise ModelInputError(
                "Relative magnitudes need at least 2 pre-period coefficients (one pre-period "
                "change besides the reference); use method='smoothness'."
            )
        Ms = np.asarray([0.5, 1.0, 1.5, 2.0] if Mbar is None else Mbar, dtype=float)
        lb, ub = _rm_sets(est, Ms, l, alpha, int(grid_points))
        ci_method, delta = "C-LF", "DeltaRM"
    else:
        if Mbar is None:
            Ms = np.linspace(0, float(np.sqrt(np.diag(est.sigma)[:K]).max()), 10)
        else:
            Ms = np.asarray(Mbar, dtype=float)
        lb, ub = _sd_sets(est, Ms, l, alpha)
        ci_method, delta = "FLCI", "DeltaSD"
    if (Ms < 0).any() or not len(Ms):
        raise ModelInputError("Mbar must be a non-empty list of values ≥ 0.")
    table = pd.DataFrame({"M": Ms, "ci_low": lb, "ci_high": ub, "method": ci_method, "delta": delta})
    theta = float(l @ est.beta[K:])
    se = float(np.sqrt(l @ est.sigma[K:, K:] @ l))
    breakdown = _breakdown(table)
    if breakdown is not None and breakdown == float(table["M"].max()):
        notes.append(msg("models.honest_breakdown_at_grid_max"))
    tlabel = target if isinstance(target, str) else "custom"
    return SensitivityResults(
        table=table,
        estimate=theta,
        se=se,
        alpha=alpha,
        method=method,
        ci_method=ci_method,
        target=tlabel,
        l_vec=l,
        n_pre=K,
        n_post=est.n_post,
        breakdown=breakdown,
        warnings=notes,
    )


def _breakdown(table: pd.DataFrame) -> float | None:
    """Largest M of the grid such that the robust CI excludes zero at it and at every smaller M."""
    best = None
    for r in table.sort_values("M").itertuples(index=False):
        if r.ci_low > 0 or r.ci_high < 0:
            best = float(r.M)
        else:
            break
    return best

"""Roth (2022, AER: Insights): the linear pre-trend slope that the usual pre-test would detect with
50 % / 80 % power, from the covariance of the pre-period coefficients.

The probability that the pre-test rejects is exact for one pre-period and for the Wald test
(normal, non-central χ²). With several pre-periods and individual tests it is a multivariate
normal rectangle probability, integrated by Genz's quasi-Monte Carlo method (scipy, fixed seed)
to an absolute error of ``tolerance`` (0.001 by default, as R ``pretrends`` through ``mvtnorm``).
Accepts a :class:`~evalkit.models.did.DidResults` or raw arrays, as
:func:`evalkit.models.sensitivity.honest_did` (inputs in :mod:`evalkit.models.events`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, label
from evalkit.models._checks import deprecated_lang
from evalkit.models.events import event_estimates
from evalkit.models.results import BaseResults, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(repr=False)
class PretrendPowerResults(BaseResults):
    """Result of :func:`pretrend_power` (built by it, not by hand): the slopes of a linear
    pre-trend δ_t = slope·t (t = −K … −1 periods before the reference period) that the pre-test
    detects with the given power.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns power, slope.
    test : {"individual", "wald"}
    alpha : float
        Level of the pre-test.
    event_times : tuple of int
        The pre-period event times.
    sigma_pre : numpy.ndarray
        Covariance of the pre-period coefficients.
    warnings : list of evalkit.i18n.Message
    tolerance : float
        Absolute integration error allowed in each rejection probability (several pre-periods,
        individual tests; the others are exact).
    """

    table: pd.DataFrame
    test: str
    alpha: float
    event_times: tuple[int, ...]
    sigma_pre: np.ndarray
    warnings: list[Message] = field(default_factory=list)
    tolerance: float = 1e-3

    @property
    def breakdown(self) -> None:
        """Not applicable to a power calculation (kept for a uniform interface)."""
        return None

    def power_at(self, slope: float) -> float:
        """Probability that the pre-test rejects when the pre-trend is ``slope``·t.

        Parameters
        ----------
        slope : float

        Returns
        -------
        float
        """
        t = np.arange(-len(self.event_times), 0, dtype=float)
        return _power(float(slope), t, self.sigma_pre, self.alpha, self.test, self.tolerance)

    def tidy(self) -> pd.DataFrame:
        """One row per power level.

        Returns
        -------
        pandas.DataFrame
            term ``slope@power=0.8`` …, estimate = the slope detected with that power; se, ci_low,
            ci_high and p NaN (a power calculation has no sampling error); then power, test.
        """
        t = self.table
        return pd.DataFrame(
            {
                "term": [f"slope@power={p:g}" for p in t["power"]],
                "estimate": t["slope"],
                "se": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "p": np.nan,
                "power": t["power"],
                "test": self.test,
            }
        )

    def summary(self, lang: Lang = "zh") -> Summary:
        """The test, its level, the pre-periods and the table.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        title = label("预趋势检验功效（Roth 2022）", "pre-trend test power (Roth 2022)", lang)
        lines = [
            f"{label('检验', 'test', lang)}: {self.test}, α = {self.alpha:g}",
            f"{label('前期', 'pre-periods', lang)}: {list(self.event_times)}",
        ]
        return Summary(title, tuple(lines), self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh", *, title: str | None = None) -> Figure:
        """Power of the pre-test against the slope of a linear pre-trend.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
        title : str, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        smax = 1.5 * float(self.table["slope"].max())
        s = np.linspace(0, smax, 60)
        pw = [self.power_at(x) for x in s]
        fig = new_figure()
        ax = fig.add_subplot()
        ax.plot(s, pw, color=PALETTE[0])
        for r in self.table.itertuples(index=False):
            ax.axvline(r.slope, color=PALETTE[3], ls="--", lw=0.8)
            ax.annotate(f"{r.power:.0%}", (r.slope, r.power), textcoords="offset points", xytext=(4, -10))
        ax.set_xlabel(label("线性预趋势斜率（每期）", "slope of linear pre-trend (per period)", lang))
        ax.set_ylabel(label("预检验拒绝概率", "probability the pre-test rejects", lang))
        ax.set_ylim(0, 1)
        ax.set_title(title or label("预趋势检验功效", "power of the pre-test", lang))
        return fig


def _power(slope: float, t: np.ndarray, S: np.ndarray, alpha: float, test: str, tolerance: float) -> float:
    from scipy import stats

    mu = slope * t
    if test == "wald":
        k = len(t)
        lam = float(mu @ np.linalg.solve(S, mu))
        crit = stats.chi2.ppf(1 - alpha, k)
        return float(stats.ncx2.sf(crit, k, lam)) if lam > 0 else alpha
    sd = np.sqrt(np.diag(S))
    c = stats.norm.ppf(1 - alpha / 2)
    if len(t) == 1:
        m = mu[0] / sd[0]
        return float(stats.norm.cdf(-c - m) + stats.norm.sf(c - m))
    R = S / np.outer(sd, sd)
    z = mu / sd
    # to `tolerance` and no further: scipy's default (1e-5, up to 10⁶ points per dimension) took
    # ~12 s per probability with twelve pre-periods, and a root needs a dozen of them
    mvn = stats.multivariate_normal(mean=z, cov=R, allow_singular=True, seed=0, abseps=tolerance, releps=0)
    inside = mvn.cdf(np.full(len(t), c), lower_limit=np.full(len(t), -c))
    return float(1 - inside)


def pretrend_power(
    obj,
    *,
    power: Sequence[float] = (0.5, 0.8),
    test: Literal["individual", "wald"] = "individual",
    alpha: float = 0.05,
    n_pre: int | None = None,
    n_post: int | None = None,
    lang: object = None,
    tolerance: float = 1e-3,
) -> PretrendPowerResults:
    """The linear pre-trend that the pre-test would detect with given power (Roth 2022).

    Parameters
    ----------
    obj : DidResults or tuple
        As :func:`honest_did`; only the pre-period block of Σ and the pre-period event times
        are used.
    power : sequence of float
        Target powers in (α, 1), default 50 % and 80 %.
    test : {"individual", "wald"}
        ``"individual"``: reject when any pre-period coefficient is significant at level α
        (two-sided, as R ``pretrends``); ``"wald"``: joint χ² test of all pre-period
        coefficients (non-central χ² power).
    alpha : float
        Level of the pre-test.
    n_pre, n_post : int, optional
        As :func:`honest_did`.
    lang : optional
        Deprecated and ignored (pass ``lang`` to the result's ``summary``/``plot``).
    tolerance : float
        Absolute error allowed in each rejection probability that has to be integrated (several
        pre-periods, individual tests), in (0, 0.01]; default 0.001, R ``pretrends``'s (its
        ``mvtnorm`` default). The slope is as precise as this allows: a power off by
        ``tolerance`` moves it by ``tolerance`` divided by the power curve's slope there.

    Returns
    -------
    PretrendPowerResults
        ``table`` of (power, slope); slopes are positive (the power is symmetric in the sign).
    """
    from scipy.optimize import brentq

    deprecated_lang(lang, "pretrend_power")
    check_choice("test", test, ("individual", "wald"))
    if not 0 < tolerance <= 0.01:
        raise ModelInputError(f"tolerance must lie in (0, 0.01]; got {tolerance!r}.")
    est = event_estimates(obj, n_pre, n_post)
    K = est.n_pre
    t = np.arange(-K, 0, dtype=float)  # periods before the reference period
    S = est.sigma[:K, :K]
    if np.diag(S).min() <= 0:
        raise ModelInputError("Every pre-period coefficient needs a positive variance.")
    slopes = []
    scale = float(np.sqrt(np.diag(S)).max() / np.abs(t).min())
    for p in power:
        if not alpha < p < 1:
            raise ModelInputError(f"power values must lie in (alpha, 1); got {p}.")
        hi = scale
        while _power(hi, t, S, alpha, test, tolerance) < p:
            hi *= 2
        f = lambda s, p=p: _power(s, t, S, alpha, test, tolerance) - p  # noqa: E731
        slopes.append(brentq(f, 0.0, hi, xtol=1e-12 * hi, rtol=1e-12))
    table = pd.DataFrame({"power": [float(p) for p in power], "slope": slopes})
    return PretrendPowerResults(
        table=table,
        test=test,
        alpha=alpha,
        event_times=tuple(est.event_times[:K]),
        sigma_pre=S,
        tolerance=tolerance,
    )

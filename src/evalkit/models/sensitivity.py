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

``pretrend_power`` — Roth (2022, AER: Insights): the linear pre-trend slope that the usual
pre-test would detect with 50 % / 80 % power, from the covariance of the pre-period
coefficients. Exact normal probabilities (no simulation).

Both accept a :class:`~evalkit.models.did.DidResults` (β̂ and Σ of the dynamic aggregation,
Σ = ψ'ψ / n² from csdid's influence function) or raw arrays ``(beta, sigma, n_pre, n_post)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError
from evalkit.models import _checks as ck
from evalkit.models.results import TIDY_COLUMNS, Summary
from evalkit.plotting import Lang, label

METHODS = ("relative_magnitudes", "smoothness")
TARGETS = ("first", "average")


# -- inputs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventEstimates:
    """Event-study coefficients in time order (pre-periods first, reference period removed)."""

    beta: np.ndarray
    sigma: np.ndarray
    n_pre: int
    n_post: int
    event_times: tuple[int, ...]


def event_vcov(results) -> pd.DataFrame:
    """Covariance matrix of the event-time (dynamic) estimates of a ``DidResults``.

    Parameters
    ----------
    results : DidResults
        Output of :func:`evalkit.models.staggered_did`.

    Returns
    -------
    pandas.DataFrame
        Σ = ψ'ψ / n², indexed by event time on both axes, where ψ (n × E) is csdid's influence
        function of the dynamic aggregation. Its diagonal reproduces the analytic standard errors
        squared. The reference period (universal base period) has zero variance.
    """
    from evalkit.models.did import DidResults, _quiet_seeded

    if not isinstance(results, DidResults) or results._model is None:
        raise ModelInputError("event_vcov needs the DidResults returned by staggered_did.")
    with _quiet_seeded(results.settings.get("seed")):
        results._model.aggte(typec="dynamic")
    agg = results._model.atte
    psi = np.asarray(agg["inf_function"]["dynamic_inf_func_e"], dtype=float)
    e = [int(v) for v in np.asarray(agg["egt"]).reshape(-1)]
    V = psi.T @ psi / psi.shape[0] ** 2
    return pd.DataFrame(V, index=pd.Index(e, name="event_time"), columns=e)


def event_estimates(obj, n_pre: int | None = None, n_post: int | None = None) -> EventEstimates:
    """β̂ and Σ of an event study from a ``DidResults`` or ``(beta, sigma, n_pre, n_post)``.

    Parameters
    ----------
    obj : DidResults or tuple
        A ``DidResults`` (dynamic aggregation; event times < 0 are pre-periods, a reference
        period with no variance is dropped) or ``(beta, sigma)`` / ``(beta, sigma, n_pre,
        n_post)`` with pre-period coefficients first.
    n_pre, n_post : int, optional
        Numbers of pre- and post-period coefficients (raw arrays only).

    Returns
    -------
    EventEstimates
    """
    from evalkit.models.did import DidResults

    if isinstance(obj, DidResults):
        V = event_vcov(obj)
        dyn = obj.aggregate("dynamic").table
        e = np.asarray(V.index, dtype=int)
        b = dyn.loc[e, "estimate"].to_numpy(dtype=float)
        keep = np.diag(V.to_numpy()) > 0
        e, b = e[keep], b[keep]
        S = V.to_numpy()[np.ix_(keep, keep)]
        return _validated(b, S, int((e < 0).sum()), int((e >= 0).sum()), tuple(int(x) for x in e))
    if isinstance(obj, (tuple, list)) and len(obj) in (2, 4):
        beta, sigma = obj[0], obj[1]
        if len(obj) == 4:
            n_pre, n_post = obj[2], obj[3]
    else:
        raise ModelInputError(
            "Pass a DidResults or a tuple (beta, sigma, n_pre, n_post) of event-study "
            "coefficients (pre-periods first) and their covariance matrix."
        )
    beta = np.asarray(beta, dtype=float).reshape(-1)
    if n_pre is None or n_post is None:
        raise ModelInputError(
            "With raw arrays give n_pre and n_post (numbers of pre- and post-period "
            "coefficients, reference period excluded)."
        )
    times = tuple(range(-int(n_pre), 0)) + tuple(range(int(n_post)))
    return _validated(beta, np.asarray(sigma, dtype=float), int(n_pre), int(n_post), times)


def _validated(beta, sigma, n_pre, n_post, times) -> EventEstimates:
    k = beta.size
    if sigma.shape != (k, k):
        raise ModelInputError(f"sigma must be {k}×{k} to match beta (got {sigma.shape}).")
    if n_pre < 1 or n_post < 1 or n_pre + n_post != k:
        raise ModelInputError(f"n_pre ({n_pre}) + n_post ({n_post}) must equal len(beta) ({k}), each ≥ 1.")
    if not (np.isfinite(beta).all() and np.isfinite(sigma).all()):
        raise ModelInputError(
            "beta and sigma must be finite (drop the reference period, whose variance is zero or missing)."
        )
    if not np.allclose(sigma, sigma.T, atol=1e-12 * max(1.0, np.abs(sigma).max())):
        raise ModelInputError("sigma is not symmetric.")
    if np.linalg.eigvalsh(sigma).min() < -1e-10 * max(1.0, np.abs(sigma).max()):
        raise ModelInputError("sigma is not positive semi-definite.")
    return EventEstimates(beta, sigma, n_pre, n_post, times)


def _l_vec(target, n_post: int) -> np.ndarray:
    if isinstance(target, str):
        ck.choice("target", target, TARGETS)
        if target == "first":
            return np.eye(n_post)[0]
        return np.full(n_post, 1.0 / n_post)
    l = np.asarray(target, dtype=float).reshape(-1)
    if l.size != n_post:
        raise ModelInputError(f"target weights need {n_post} entries (one per post period), got {l.size}.")
    return l


# -- results -----------------------------------------------------------------------------------
@dataclass
class SensitivityResults:
    """Robust confidence sets by M (``table``: M, ci_low, ci_high, method, delta), the original
    confidence interval of θ, and the breakdown value."""

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
    notes: list[str] = field(default_factory=list)
    lang: Lang = "zh"

    @property
    def original_ci(self) -> tuple[float, float]:
        from scipy.stats import norm

        z = norm.ppf(1 - self.alpha / 2)
        return self.estimate - z * self.se, self.estimate + z * self.se

    def _mname(self) -> str:
        return "Mbar" if self.method == "relative_magnitudes" else "M"

    def tidy(self) -> pd.DataFrame:
        """Original CI first (term ``original``), then one row per M (term ``Mbar=0.5`` …):
        term, estimate, se, ci_low, ci_high, p, M, method, delta. Robust rows carry NaN in
        estimate / se / p: a robust confidence set has no point estimate."""
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

    def summary(self) -> Summary:
        lang = self.lang
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
        return Summary(title, tuple(lines), self.tidy(), tuple(self.notes))

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, *, lang: Lang | None = None, title: str | None = None):
        """HonestDiD's sensitivity plot: the original CI, then the robust CI at each M.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        lang = lang or self.lang
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
    lang: Lang | None = None,
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
    lang : {"zh", "en", "bilingual"}, optional
        Label language (default: the DidResults' language, else Chinese).

    Returns
    -------
    SensitivityResults
        ``tidy()``, ``summary()``, ``plot()``, ``.breakdown``.
    """
    ck.choice("method", method, METHODS)
    if not 0 < alpha < 1:
        raise ModelInputError(f"alpha must lie in (0, 1), got {alpha}.")
    est = event_estimates(obj, n_pre, n_post)
    lang = lang or getattr(obj, "lang", "zh")
    l = _l_vec(target, est.n_post)
    K = est.n_pre
    notes: list[str] = []
    from evalkit.models.did import DidResults

    if isinstance(obj, DidResults) and obj.settings.get("base_period") != "universal":
        notes.append(
            label(
                "事件研究使用了变动基期（base_period='varying'）；Rambachan–Roth 建议统一基期。",
                "The event study uses a varying base period; Rambachan–Roth recommend base_period='universal'.",
                lang,
            )
        )
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
        notes.append(
            label(
                "网格内所有 M 下区间均不含 0：突破值至少为网格最大值，可扩大网格。",
                "Zero is excluded at every M of the grid: the breakdown value is at least the "
                "grid's largest M; extend the grid.",
                lang,
            )
        )
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
        notes=notes,
        lang=lang,
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


# -- pre-trend power (Roth 2022) ----------------------------------------------------------------
@dataclass
class PretrendPowerResults:
    """Slopes of a linear pre-trend δ_t = slope·t (t = −K … −1 periods before the reference
    period) that the pre-test detects with the given
    power; ``table``: power, slope, plus the pre-period event times and test used."""

    table: pd.DataFrame
    test: str
    alpha: float
    event_times: tuple[int, ...]
    sigma_pre: np.ndarray
    lang: Lang = "zh"

    @property
    def breakdown(self) -> None:
        """Not applicable to a power calculation (kept for a uniform interface)."""
        return None

    def power_at(self, slope: float) -> float:
        """Probability that the pre-test rejects when the pre-trend is ``slope``·t."""
        t = np.arange(-len(self.event_times), 0, dtype=float)
        return _power(float(slope), t, self.sigma_pre, self.alpha, self.test)

    def tidy(self) -> pd.DataFrame:
        """One row per power level: term, estimate (= slope), se / ci / p NaN, power, test."""
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

    def summary(self) -> Summary:
        lang = self.lang
        title = label("预趋势检验功效（Roth 2022）", "pre-trend test power (Roth 2022)", lang)
        lines = [
            f"{label('检验', 'test', lang)}: {self.test}, α = {self.alpha:g}",
            f"{label('前期', 'pre-periods', lang)}: {list(self.event_times)}",
        ]
        return Summary(title, tuple(lines), self.tidy())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, *, lang: Lang | None = None, title: str | None = None):
        """Power of the pre-test against the slope of a linear pre-trend; returns a Figure."""
        from evalkit.plotting import PALETTE, new_figure

        lang = lang or self.lang
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


def _power(slope: float, t: np.ndarray, S: np.ndarray, alpha: float, test: str) -> float:
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
    mvn = stats.multivariate_normal(mean=z, cov=R, allow_singular=True, seed=0)
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
    lang: Lang | None = None,
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
    lang : {"zh", "en", "bilingual"}, optional
        Label language.

    Returns
    -------
    PretrendPowerResults
        ``table`` of (power, slope); slopes are positive (the power is symmetric in the sign).
    """
    from scipy.optimize import brentq

    ck.choice("test", test, ("individual", "wald"))
    est = event_estimates(obj, n_pre, n_post)
    lang = lang or getattr(obj, "lang", "zh")
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
        while _power(hi, t, S, alpha, test) < p:
            hi *= 2
        slopes.append(brentq(lambda s, p=p: _power(s, t, S, alpha, test) - p, 0.0, hi, xtol=1e-12 * hi, rtol=1e-12))
    table = pd.DataFrame({"power": [float(p) for p in power], "slope": slopes})
    return PretrendPowerResults(
        table=table, test=test, alpha=alpha, event_times=tuple(est.event_times[:K]), sigma_pre=S, lang=lang
    )

"""Many outcomes at once: family-wise error control for a family of hypotheses.

``adjust_pvalues(p, method=...)``:

* ``"bonferroni"`` — min(1, m·p);
* ``"holm"`` — Holm (1979) step-down: the i-th smallest p times (m − i + 1), made monotone;
* ``"romano_wolf"`` — Romano & Wolf (2005, 2016) step-down with resampling: given the observed
  t-statistics and a B × m matrix of bootstrap t-statistics centred at the estimates (``t*_b =
  (θ*_b − θ̂)/se*_b``), the hypothesis with the k-th largest |t| gets p = (1 + #{b: max over the
  hypotheses not yet rejected of |t*_b| ≥ |t_k|}) / (B + 1), made monotone. The (1 + ·)/(B + 1)
  convention is pyfixest's ``rwolf`` (and Stata ``rwolf``): a p-value is never zero.

Results say which family was adjusted and by which method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, label
from evalkit.models._checks import deprecated_lang
from evalkit.models.results import TIDY_COLUMNS, BaseResults, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHODS = ("holm", "bonferroni", "romano_wolf")


@dataclass(repr=False)
class MultipleTestingResults(BaseResults):
    """Result of :func:`adjust_pvalues` (built by it, not by hand): raw and adjusted p-values of one
    family.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by hypothesis (term): p, p_adjusted, reject (and t for Romano–Wolf).
    method : {"holm", "bonferroni", "romano_wolf"}
    family : str
        What the family is.
    alpha : float
        Level of the ``reject`` column.
    n_boot : int, optional
        Bootstrap draws (Romano–Wolf).
    warnings : list of evalkit.i18n.Message
    """

    table: pd.DataFrame
    method: str
    family: str
    alpha: float
    n_boot: int | None = None
    warnings: list[Message] = field(default_factory=list)

    @property
    def p_adjusted(self) -> pd.Series:
        """The adjusted p-values by hypothesis."""
        return self.table["p_adjusted"]

    def tidy(self) -> pd.DataFrame:
        """One row per hypothesis.

        Returns
        -------
        pandas.DataFrame
            term, estimate / se / ci_low / ci_high (NaN: only p-values are given), p (raw),
            p_adjusted, reject, method, family (and t for Romano–Wolf).
        """
        out = self.table.reset_index(names="term")
        for c in TIDY_COLUMNS:
            if c not in out:
                out[c] = np.nan
        out["method"] = self.method
        out["family"] = self.family
        first = TIDY_COLUMNS + ["p_adjusted", "reject", "method", "family"]
        return out[first + [c for c in out.columns if c not in first]]

    def summary(self, lang: Lang = "zh") -> Summary:
        """The family, the adjustment, the number rejected and the table.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        lines = [
            (
                f"{label('检验族', 'family', lang)}: {self.family} ({len(self.table)} "
                f"{label('个假设', 'hypotheses', lang)})"
            ),
            f"{label('校正方法', 'adjustment', lang)}: {self.method}"
            + (f" (B = {self.n_boot})" if self.n_boot else ""),
            f"{label('拒绝数', 'rejected', lang)} (α = {self.alpha:g}): {int(self.table['reject'].sum())}",
        ]
        return Summary(
            label("多重检验校正", "multiple-testing adjustment", lang),
            tuple(lines),
            self.tidy(),
            tuple(self.warning_texts(lang)),
        )

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh", *, title: str | None = None) -> Figure:
        """Raw and adjusted p-values per hypothesis with the α line.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
        title : str, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        t = self.table.iloc[::-1]
        fig = new_figure(7.0, max(2.0, 0.4 * len(t) + 1.2))
        ax = fig.add_subplot()
        y = np.arange(len(t))
        ax.plot(t["p"], y, "o", color=PALETTE[1], label=label("原始 p", "raw p", lang))
        ax.plot(t["p_adjusted"], y, "s", color=PALETTE[0], label=label("校正后 p", "adjusted p", lang))
        ax.axvline(self.alpha, color=PALETTE[3], ls="--", lw=0.8)
        ax.set_yticks(y, [str(i) for i in t.index])
        ax.set_xlim(0, 1)
        ax.set_xlabel("p")
        ax.set_title(title or f"{label('多重检验校正', 'multiple testing', lang)}: {self.method}")
        ax.legend(loc="best", fontsize="small")
        return fig


def bonferroni(p: np.ndarray) -> np.ndarray:
    """Bonferroni-adjusted p-values, min(1, m·p)."""
    return np.minimum(1.0, p * p.size)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values."""
    m = p.size
    order = np.argsort(p, kind="mergesort")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return out


def romano_wolf(t_stats: np.ndarray, boot_t: np.ndarray) -> np.ndarray:
    """Romano–Wolf step-down adjusted p-values from observed and centred bootstrap t-statistics.

    Parameters
    ----------
    t_stats : numpy.ndarray
        Observed t-statistics, shape (m,).
    boot_t : numpy.ndarray
        Bootstrap t-statistics centred at the estimates, shape (B, m).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, shape (m,), two-sided (|t|).
    """
    t = np.abs(t_stats)
    bt = np.abs(boot_t)
    B, m = bt.shape
    order = np.argsort(-t, kind="mergesort")
    # max over the hypotheses ranked k..m: suffix maxima of the columns in step-down order
    suffix_max = np.maximum.accumulate(bt[:, order][:, ::-1], axis=1)[:, ::-1]
    pinit = (1 + (suffix_max >= t[order][None, :]).sum(axis=0)) / (B + 1)
    stepped = np.minimum(1.0, np.maximum.accumulate(pinit))
    out = np.empty(m)
    out[order] = stepped
    return out


def adjust_pvalues(
    p: Sequence[float] | pd.Series | None = None,
    *,
    method: Literal["holm", "bonferroni", "romano_wolf"] = "holm",
    t_stats: Sequence[float] | None = None,
    boot_t: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    family: str = "outcomes",
    alpha: float = 0.05,
    lang: object = None,
) -> MultipleTestingResults:
    """Adjust a family of p-values for multiple testing (family-wise error rate).

    Parameters
    ----------
    p : sequence of float or pandas.Series, optional
        Raw p-values (a Series' index names the hypotheses). Required for Holm and Bonferroni;
        for Romano–Wolf it is reported next to the adjusted values (default: two-sided normal
        p of ``t_stats``).
    method : {"holm", "bonferroni", "romano_wolf"}
        Adjustment.
    t_stats : sequence of float, optional
        Observed t-statistics (Romano–Wolf).
    boot_t : numpy.ndarray, optional
        B × m bootstrap t-statistics, centred at the estimates (Romano–Wolf), columns in the
        order of ``t_stats``.
    names : sequence of str, optional
        Names of the hypotheses (e.g. outcomes).
    family : str
        What the family is (shown in the results).
    alpha : float
        Level for the ``reject`` column.
    lang : optional
        Deprecated and ignored (pass ``lang`` to the result's ``summary``/``plot``).

    Returns
    -------
    MultipleTestingResults
        ``table`` with columns p, p_adjusted, reject (and t for Romano–Wolf).
    """
    deprecated_lang(lang, "adjust_pvalues")
    check_choice("method", method, METHODS)
    if not 0 < alpha < 1:
        raise ModelInputError(f"alpha must lie in (0, 1), got {alpha}.")
    if isinstance(p, pd.Series) and names is None:
        names = [str(i) for i in p.index]
    extra: dict[str, np.ndarray] = {}
    n_boot = None
    if method == "romano_wolf":
        if t_stats is None or boot_t is None:
            raise ModelInputError(
                "Romano–Wolf needs t_stats (observed) and boot_t (B × m bootstrap "
                "t-statistics centred at the estimates)."
            )
        t = np.asarray(t_stats, dtype=float).reshape(-1)
        bt = np.asarray(boot_t, dtype=float)
        if bt.ndim != 2 or bt.shape[1] != t.size:
            raise ModelInputError(f"boot_t must be B × {t.size} (one column per hypothesis); got shape {bt.shape}.")
        if bt.shape[0] < 2 or not (np.isfinite(t).all() and np.isfinite(bt).all()):
            raise ModelInputError("t_stats and boot_t must be finite, with at least 2 bootstrap draws.")
        if p is None:
            from scipy.stats import norm

            p = 2 * norm.sf(np.abs(t))
        adj = romano_wolf(t, bt)
        extra["t"] = t
        n_boot = int(bt.shape[0])
    if p is None:
        raise ModelInputError("Give the raw p-values p.")
    pv = np.asarray(p, dtype=float).reshape(-1)
    if pv.size == 0 or not np.isfinite(pv).all() or (pv < 0).any() or (pv > 1).any():
        raise ModelInputError("p-values must be finite numbers in [0, 1] (at least one).")
    if method == "romano_wolf" and pv.size != adj.size:
        raise ModelInputError(f"{pv.size} p-values but {adj.size} t-statistics.")
    if method == "holm":
        adj = holm(pv)
    elif method == "bonferroni":
        adj = bonferroni(pv)
    names = [str(n) for n in names] if names is not None else [f"H{i + 1}" for i in range(pv.size)]
    if len(names) != pv.size:
        raise ModelInputError(f"{len(names)} names for {pv.size} hypotheses.")
    table = pd.DataFrame(
        {"p": pv, "p_adjusted": adj, "reject": adj <= alpha, **extra}, index=pd.Index(names, name="term")
    )
    return MultipleTestingResults(table=table, method=method, family=family, alpha=alpha, n_boot=n_boot)

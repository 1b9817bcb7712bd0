"""Weighting methods of a composite index: entropy (熵权法), CRITIC, PCA and the analytic hierarchy
process (AHP, with its consistency check). Public names are re-exported by ``evalkit.composite``;
conventions as in :mod:`evalkit.composite.methods`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evalkit.composite.methods import _minmax01, as_directions, as_frame, bar_plot
from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, label
from evalkit.models.results import BaseResults, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EntropyForm = Literal["classic", "minmax"]
RITable = Literal["saaty", "cn"]

# Random consistency indices by matrix order n = 1..15.
# "saaty": Saaty (1980), The Analytic Hierarchy Process, McGraw-Hill (as tabulated in Saaty 2008,
#   Int. J. Services Sciences 1(1):83-98).
# "cn": the table used in most Chinese textbooks and software (n = 1..15: 0, 0, 0.52, 0.89, 1.12,
#   1.26, 1.36, 1.41, 1.46, 1.49, 1.52, 1.54, 1.56, 1.58, 1.59), commonly attributed to
#   洪志国, 李焱, 范植华, 王化祥 (2002), 层次分析法中高阶平均随机一致性指标(RI)的计算,
#   计算机工程与应用 38(12):45-47. Checked against several public Chinese AHP implementations found
#   with the project's search tool (the attribution itself could not be checked against the paper).
RI_TABLES: dict[str, tuple[float, ...]] = {
    "saaty": (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59),
    "cn": (0.0, 0.0, 0.52, 0.89, 1.12, 1.26, 1.36, 1.41, 1.46, 1.49, 1.52, 1.54, 1.56, 1.58, 1.59),
}


# ----------------------------------------------------------------------------- weights
def _entropy_of_columns(P: np.ndarray) -> np.ndarray:
    """Shannon entropy of each column of a column-stochastic matrix with 0·ln0 := 0, scaled by 1/ln m."""
    m = P.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0)
    return -terms.sum(axis=0) / np.log(m)


def entropy_weights(X, *, directions=None, form: EntropyForm = "classic", shift: float = 1e-4) -> pd.Series:
    """Entropy weights (熵权法): w_j = (1 - e_j) / Σ(1 - e_k), e_j = -(1/ln m) Σ_i p_ij ln p_ij.

    A constant column has entropy 1 and weight 0. Needs m ≥ 2 units.

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units, columns = indicators.
    directions : sequence or mapping, optional
        +1/-1 per indicator (``form="minmax"`` only).
    form : {"classic", "minmax"}, default "classic"
        ``"classic"``: p_ij = x_ij / Σ_i x_ij on the raw non-negative matrix, as in Xu (2004) and
        Zavadskas & Podvezko (2016). Entropy measures dispersion, so ``directions`` and ``shift``
        are not used in this form.
        ``"minmax"``: the convention common in Chinese texts: direction-aware min-max
        (正向化 / 逆向化) to [0, 1], then ``shift`` added to every value before p is formed
        (the usual +0.0001); ``shift=0`` keeps zeros and uses 0·ln0 := 0.
    shift : float, default 1e-4
        See ``form``.

    Returns
    -------
    pandas.Series
        Weights by indicator, summing to 1 (name ``weight``).
    """
    check_choice("form", form, ("classic", "minmax"))
    df = as_frame(X)
    if df.shape[0] < 2:
        raise ModelInputError("entropy weights need at least 2 units (rows).")
    v = df.to_numpy()
    if form == "classic":
        if np.any(v < 0):
            raise ModelInputError(
                "the classic entropy form needs non-negative data; use form='minmax' for data with negative values."
            )
        Z = v
    else:
        if shift < 0:
            raise ValueError(f"shift must be ≥ 0; got {shift}.")
        Z = _minmax01(v, as_directions(directions, df.columns)) + shift
    col = Z.sum(axis=0)
    P = Z / np.where(col > 0, col, 1.0)
    e = np.where(col > 0, _entropy_of_columns(P), 1.0)
    d = np.clip(1.0 - e, 0.0, None)
    if d.sum() <= 0:
        raise ModelInputError("every indicator is constant across units: entropy weights are undefined.")
    return pd.Series(d / d.sum(), index=df.columns, name="weight")


def critic_weights(X, *, directions=None) -> pd.Series:
    """CRITIC weights (Diakoulaki, Mavrotas & Papayannakis 1995, Comput. Oper. Res. 22(7):763-770).

    Direction-aware min-max to [0, 1]; C_j = σ_j Σ_k (1 - r_jk) with σ_j the standard deviation and
    r_jk Pearson correlations; w_j = C_j / Σ C_k. (The choice of ddof cancels in the ratio.)
    A constant column gets weight 0.

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units (at least 3), columns = indicators.
    directions : sequence or mapping, optional
        +1/-1 per indicator.

    Returns
    -------
    pandas.Series
        Weights by indicator, summing to 1.
    """
    df = as_frame(X)
    if df.shape[0] < 3:
        raise ModelInputError("CRITIC weights need at least 3 units (rows).")
    Z = _minmax01(df.to_numpy(), as_directions(directions, df.columns))
    sd = Z.std(axis=0, ddof=1)
    live = sd > 0
    R = np.zeros((Z.shape[1], Z.shape[1]))
    if live.sum() >= 1:
        R_live = np.corrcoef(Z[:, live], rowvar=False) if live.sum() > 1 else np.ones((1, 1))
        R[np.ix_(live, live)] = R_live
    # constant columns: no correlation information; they get C = 0 through sd = 0 anyway
    C = sd * (1.0 - R).sum(axis=1)
    C = np.where(live, C, 0.0)
    if C.sum() <= 0:
        raise ModelInputError("CRITIC weights are undefined: indicators are constant or perfectly correlated.")
    return pd.Series(C / C.sum(), index=df.columns, name="weight")


def pca_weights(X, *, retain: Literal["kaiser", "all"] = "kaiser") -> pd.Series:
    """PCA weights from the correlation matrix of the indicators.

    Eigen-decomposition of the correlation matrix (standardised indicators); weight
    w_j ∝ Σ_k (λ_k / Σ_kept λ) · |u_jk|, u_k the unit eigenvectors: the loading of each indicator on
    the kept components, weighted by their share of explained variance, then rescaled to sum to 1
    (the variance-share form used in Chinese applied work; the OECD-JRC Handbook 2008 describes a
    rotated factor-analysis variant, not implemented here).

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units (at least 3), columns = indicators (none constant).
    retain : {"kaiser", "all"}, default "kaiser"
        Components kept: eigenvalue > 1 (at least one), or all.

    Returns
    -------
    pandas.Series
        Weights by indicator, summing to 1.
    """
    check_choice("retain", retain, ("kaiser", "all"))
    df = as_frame(X)
    v = df.to_numpy()
    sd = v.std(axis=0, ddof=1)
    if df.shape[0] < 3 or np.any(sd == 0):
        raise ModelInputError(
            f"PCA weights need ≥ 3 units and no constant indicator (constant: {list(df.columns[sd == 0])})."
        )
    lam, U = np.linalg.eigh(np.corrcoef(v, rowvar=False))
    order = np.argsort(lam)[::-1]
    lam, U = lam[order], U[:, order]
    keep = lam > 1.0 if retain == "kaiser" else np.ones_like(lam, dtype=bool)
    keep[0] = True
    share = lam[keep] / lam[keep].sum()
    w = np.abs(U[:, keep]) @ share
    return pd.Series(w / w.sum(), index=df.columns, name="weight")


# ----------------------------------------------------------------------------- AHP
@dataclass(repr=False)
class AHPResult(BaseResults):
    """Principal-eigenvector AHP weights and their consistency (result of :func:`ahp`).

    Parameters
    ----------
    weights : pandas.Series
        Weights by criterion, summing to 1.
    lambda_max : float
        The principal eigenvalue.
    consistency_index : float
        CI = (λmax − n)/(n − 1) (``ci(level)`` is the results protocol's interval method).
    ri : float
        The random index RI(n) of ``ri_table``.
    cr : float
        Consistency ratio CI / RI (``consistent``: CR < 0.1).
    ri_table : {"saaty", "cn"}
    n : int
        Order of the matrix.
    warnings : list of evalkit.i18n.Message
    """

    weights: pd.Series
    lambda_max: float
    consistency_index: float
    ri: float
    cr: float
    ri_table: str
    n: int
    warnings: list[Message] = field(default_factory=list)
    consistent: bool = field(init=False)

    def __post_init__(self) -> None:
        self.consistent = bool(self.cr < 0.1)

    def tidy(self) -> pd.DataFrame:
        """One row per criterion.

        Returns
        -------
        pandas.DataFrame
            term = the criterion, estimate = its weight; se, ci_low, ci_high, p NaN (judgement
            weights have no sampling error); then criterion, weight.
        """
        return pd.DataFrame(
            {
                "term": [str(i) for i in self.weights.index],
                "estimate": self.weights.to_numpy(dtype=float),
                "se": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "p": np.nan,
                "criterion": list(self.weights.index),
                "weight": self.weights.to_numpy(dtype=float),
            }
        )

    def summary(self, lang: Lang = "zh") -> Summary:
        """n, λmax, CI, RI, CR and the weights.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        ok = label("通过", "passed", lang) if self.consistent else label("未通过", "failed", lang)
        lines = (
            f"n = {self.n}, λmax = {self.lambda_max:.4f}",
            f"CI = {self.consistency_index:.4f}, RI ({self.ri_table}) = {self.ri:.2f}, CR = {self.cr:.4f}",
            f"{label('一致性检验（CR < 0.1）', 'consistency check (CR < 0.1)', lang)}: {ok}",
        )
        title = label("层次分析法（主特征向量）", "AHP (principal eigenvector)", lang)
        return Summary(title, lines, self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh") -> Figure:
        """The weights as horizontal bars.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        matplotlib.figure.Figure
        """
        return bar_plot(
            self.weights, title=label("AHP 权重", "AHP weights", lang), xlabel=label("权重", "weight", lang)
        )


def ahp(A, *, ri: RITable = "saaty") -> AHPResult:
    """Analytic hierarchy process weights from a reciprocal pairwise-comparison matrix.

    Weights are the principal (Perron) eigenvector, normalised to sum 1; CI = (λmax - n)/(n - 1),
    CR = CI / RI(n). For n ≤ 2 CR is 0 (RI = 0). n ≤ 15.

    Parameters
    ----------
    A : pandas.DataFrame or array-like
        Square reciprocal matrix of positive judgements (a_ji = 1/a_ij); a DataFrame's index names
        the criteria.
    ri : {"saaty", "cn"}, default "saaty"
        The random-index table: Saaty (1980) or the table common in Chinese texts (``RI_TABLES``).

    Returns
    -------
    AHPResult
        ``weights``, ``lambda_max``, ``consistency_index``, ``ri``, ``cr``, ``consistent``; ``tidy()``,
        ``summary(lang)``, ``plot(lang)``.
    """
    check_choice("ri", ri, tuple(RI_TABLES))
    names = list(A.index) if isinstance(A, pd.DataFrame) else None
    M = np.asarray(A, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ModelInputError(f"the AHP matrix must be square; got shape {M.shape}.")
    n = M.shape[0]
    if n > len(RI_TABLES[ri]):
        raise ModelInputError(f"the {ri!r} RI table covers n ≤ {len(RI_TABLES[ri])}; got n = {n}.")
    if np.any(~np.isfinite(M)) or np.any(M <= 0):
        raise ModelInputError("AHP judgements must be positive numbers (1/9 … 9).")
    for i in range(n):
        for j in range(i, n):
            if abs(M[i, j] * M[j, i] - 1.0) > 1e-3:
                raise ModelInputError(
                    f"the AHP matrix is not reciprocal at ({i + 1}, {j + 1}): a_ij = {M[i, j]:g}, "
                    f"a_ji = {M[j, i]:g}, product {M[i, j] * M[j, i]:g} ≠ 1. Enter a_ji = 1/a_ij "
                    "(and 1 on the diagonal)."
                )
    vals, vecs = np.linalg.eig(M)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    w = np.abs(vecs[:, k].real)
    w = w / w.sum()
    ci = (lam - n) / (n - 1) if n > 2 else 0.0
    ri_value = RI_TABLES[ri][n - 1]
    cr = ci / ri_value if ri_value > 0 else 0.0
    idx = names if names is not None else [f"c{i + 1}" for i in range(n)]
    return AHPResult(pd.Series(w, index=idx, name="weight"), lam, ci, ri_value, cr, ri, n)

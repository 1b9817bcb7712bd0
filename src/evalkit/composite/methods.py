"""Composite-evaluation methods: normalisation, weighting (entropy, CRITIC, PCA, AHP), aggregation,
TOPSIS and obstacle degree (障碍度). Public names are re-exported by ``evalkit.composite``.

All functions are pure functions on DataFrames/arrays: rows are units (alternatives), columns are
indicators (criteria). Every convention that changes a number is a named keyword argument; a wrong
choice raises ``ValueError`` naming the allowed values, and unusable data raises
``evalkit.errors.ModelInputError`` (a ``ValueError`` too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError

Normalisation = Literal["minmax", "zscore", "rank", "target", "vector"]
EntropyForm = Literal["classic", "minmax"]
Aggregation = Literal["arithmetic", "geometric", "harmonic"]
TopsisNormalisation = Literal["vector", "minmax"]
RITable = Literal["saaty", "cn"]

NORMALISATIONS = ("minmax", "zscore", "rank", "target", "vector")
AGGREGATIONS = ("arithmetic", "geometric", "harmonic")

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


# ----------------------------------------------------------------------------- input helpers
def check_choice(name: str, value, allowed: Sequence[str]) -> None:
    """Raise a ValueError naming the allowed values when ``value`` is not one of them."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not a known choice; use one of: " + ", ".join(repr(a) for a in allowed))


def as_frame(X, *, name: str = "X", allow_nan: bool = False) -> pd.DataFrame:
    """A float DataFrame from a DataFrame or 2-D array (array columns are named x1, x2, ...)."""
    if isinstance(X, pd.DataFrame):
        df = X
    else:
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2:
            raise ModelInputError(
                f"{name} must be 2-D (rows = units, columns = indicators); got an array of shape {arr.shape}."
            )
        df = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise ModelInputError(
            f"{name} has non-numeric columns {bad}: pass only indicator columns (move labels into the index)."
        )
    df = df.astype(float)
    if df.shape[0] < 1 or df.shape[1] < 1:
        raise ModelInputError(f"{name} is empty (shape {df.shape}).")
    if not allow_nan and df.isna().any().any():
        cols = [c for c in df.columns if df[c].isna().any()]
        raise ModelInputError(
            f"{name} has missing values in {cols}; impute them first "
            "(e.g. Pipeline(imputation='mean')) or drop those units."
        )
    return df


def as_directions(directions, columns) -> np.ndarray:
    """+1/-1 per column from None (all +1), a sequence, or a mapping column → direction."""
    k = len(columns)
    if directions is None:
        return np.ones(k)
    if isinstance(directions, Mapping):
        missing = [c for c in columns if c not in directions]
        if missing:
            raise ModelInputError(f"directions has no entry for {missing}; give +1 or -1 for every indicator.")
        d = np.array([directions[c] for c in columns], dtype=float)
    else:
        d = np.asarray(list(directions), dtype=float)
        if d.shape != (k,):
            raise ModelInputError(f"directions has {d.size} entries for {k} indicators.")
    if not np.all(np.isin(d, (1.0, -1.0))):
        raise ModelInputError(f"directions must be +1 or -1, got {d.tolist()}.")
    return d


def as_weights(weights, columns, *, name: str = "weights") -> np.ndarray:
    """Non-negative weights per column (sequence or mapping), rescaled to sum to 1."""
    if isinstance(weights, Mapping):
        missing = [c for c in columns if c not in weights]
        if missing:
            raise ModelInputError(f"{name} has no entry for {missing}.")
        w = np.array([weights[c] for c in columns], dtype=float)
    else:
        w = np.asarray(list(weights) if not isinstance(weights, np.ndarray) else weights, dtype=float)
        if w.shape != (len(columns),):
            raise ModelInputError(f"{name} has {w.size} entries for {len(columns)} indicators.")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ModelInputError(f"{name} must be finite, non-negative and not all zero; got {w.tolist()}.")
    return w / w.sum()


def _minmax01(values: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Direction-aware min-max to [0, 1]; a constant column maps to 0 (it carries no information)."""
    lo, hi = values.min(axis=0), values.max(axis=0)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    z = np.where(directions > 0, (values - lo) / safe, (hi - values) / safe)
    return np.where(span > 0, z, 0.0)


# ----------------------------------------------------------------------------- normalisation
def normalise(
    X,
    method: Normalisation = "minmax",
    *,
    directions=None,
    bounds: tuple[float, float] = (0.0, 1.0),
    mean_sd: tuple[float, float] = (0.0, 1.0),
    targets=None,
    cap: bool = True,
) -> pd.DataFrame:
    """Normalise indicator columns so that higher is better for every column.

    method
        ``"minmax"``: (x - min)/(max - min) mapped to ``bounds`` (direction -1: (max - x)/(max - min));
        a constant column maps to the lower bound.
        ``"zscore"``: (x - mean)/sd (sample sd, ddof=1), sign-flipped for direction -1, then
        rescaled to ``mean_sd`` = (mean, sd) (COINr's ``n_zscore``; e.g. (100, 10) keeps values
        positive for geometric aggregation).
        ``"rank"``: average ranks 1..m, the best unit highest (ties share the average rank).
        ``"target"``: distance to target, 100·x/target (direction -1: 100·target/x), capped at 100
        when ``cap`` (attainment cannot exceed the target). Needs ``targets`` (one per column).
        ``"vector"``: 100·x/‖x‖₂ per column; for direction -1 the column is first reflected,
        x' = max + min - x, which keeps the scale positive (a stated convention: the vector norm
        has no standard cost-criterion form outside TOPSIS).
    """
    check_choice("method", method, NORMALISATIONS)
    df = as_frame(X)
    d = as_directions(directions, df.columns)
    v = df.to_numpy()
    if method == "minmax":
        lo, hi = bounds
        if not hi > lo:
            raise ValueError(f"bounds must be (low, high) with high > low; got {bounds}.")
        out = lo + (hi - lo) * _minmax01(v, d)
    elif method == "zscore":
        m, s = mean_sd
        sd = v.std(axis=0, ddof=1) if v.shape[0] > 1 else np.zeros(v.shape[1])
        safe = np.where(sd > 0, sd, 1.0)
        z = np.where(sd > 0, d * (v - v.mean(axis=0)) / safe, 0.0)
        out = m + s * z
    elif method == "rank":
        out = (df * d).rank(method="average").to_numpy()
    elif method == "target":
        if targets is None:
            raise ModelInputError("normalisation 'target' needs targets= (one per indicator).")
        t = (
            np.array([targets[c] for c in df.columns], dtype=float)
            if isinstance(targets, Mapping)
            else np.asarray(targets, dtype=float)
        )
        if t.shape != (v.shape[1],) or np.any(t <= 0):
            raise ModelInputError("targets must be positive, one per indicator.")
        if np.any((v <= 0) & (d < 0)):
            raise ModelInputError("distance to target with direction -1 needs positive values.")
        out = np.where(d > 0, 100.0 * v / t, 100.0 * t / np.where(v > 0, v, 1.0))
        if cap:
            out = np.minimum(out, 100.0)
    else:  # vector
        refl = np.where(d > 0, v, v.max(axis=0) + v.min(axis=0) - v)
        norm = np.sqrt((refl**2).sum(axis=0))
        out = 100.0 * refl / np.where(norm > 0, norm, 1.0)
    return pd.DataFrame(out, index=df.index, columns=df.columns)


# ----------------------------------------------------------------------------- weights
def _entropy_of_columns(P: np.ndarray) -> np.ndarray:
    """Shannon entropy of each column of a column-stochastic matrix with 0·ln0 := 0, scaled by 1/ln m."""
    m = P.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0)
    return -terms.sum(axis=0) / np.log(m)


def entropy_weights(X, *, directions=None, form: EntropyForm = "classic", shift: float = 1e-4) -> pd.Series:
    """Entropy weights (熵权法): w_j = (1 - e_j) / Σ(1 - e_k), e_j = -(1/ln m) Σ_i p_ij ln p_ij.

    form
        ``"classic"``: p_ij = x_ij / Σ_i x_ij on the raw non-negative matrix, as in Xu (2004) and
        Zavadskas & Podvezko (2016). Entropy measures dispersion, so ``directions`` and ``shift``
        are not used in this form.
        ``"minmax"``: the convention common in Chinese texts: direction-aware min-max
        (正向化 / 逆向化) to [0, 1], then ``shift`` added to every value before p is formed
        (the usual +0.0001); ``shift=0`` keeps zeros and uses 0·ln0 := 0.
    A constant column has entropy 1 and weight 0. Needs m ≥ 2 units.
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

    Eigen-decomposition of the correlation matrix (standardised indicators); components kept by
    ``retain``: ``"kaiser"`` (eigenvalue > 1, at least one) or ``"all"``. Weight
    w_j ∝ Σ_k (λ_k / Σ_kept λ) · |u_jk|, u_k the unit eigenvectors: the loading of each indicator on
    the kept components, weighted by their share of explained variance, then rescaled to sum to 1
    (the variance-share form used in Chinese applied work; the OECD-JRC Handbook 2008 describes a
    rotated factor-analysis variant, not implemented here).
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
@dataclass
class AHPResult:
    """Principal-eigenvector AHP: ``weights``, ``lambda_max``, ``ci``, ``ri``, ``cr``, ``consistent``."""

    weights: pd.Series
    lambda_max: float
    ci: float
    ri: float
    cr: float
    ri_table: str
    n: int
    consistent: bool = field(init=False)

    def __post_init__(self):
        self.consistent = bool(self.cr < 0.1)

    def tidy(self) -> pd.DataFrame:
        return self.weights.rename("weight").rename_axis("criterion").reset_index()

    def summary(self) -> "_Summary":
        stats = pd.DataFrame(
            {"value": [self.n, self.lambda_max, self.ci, self.ri, self.cr, self.consistent]},
            index=["n", "lambda_max", "CI", f"RI ({self.ri_table})", "CR", "CR < 0.1"],
        )
        return _Summary("AHP (principal eigenvector)", [self.tidy(), stats])

    def plot(self, *, lang="zh"):
        from evalkit.plotting import label

        return bar_plot(
            self.weights, title=label("AHP 权重", "AHP weights", lang), xlabel=label("权重", "weight", lang)
        )


def ahp(A, *, ri: RITable = "saaty") -> AHPResult:
    """Analytic hierarchy process weights from a reciprocal pairwise-comparison matrix.

    Weights are the principal (Perron) eigenvector, normalised to sum 1; CI = (λmax - n)/(n - 1),
    CR = CI / RI(n). ``ri`` names the random-index table: ``"saaty"`` (Saaty 1980) or ``"cn"`` (the
    table common in Chinese texts); see ``RI_TABLES``. For n ≤ 2 CR is 0 (RI = 0). n ≤ 15.
    A DataFrame's index names the criteria.
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


# ----------------------------------------------------------------------------- aggregation
def aggregate(X, weights=None, *, method: Aggregation = "arithmetic") -> pd.Series:
    """Weighted aggregation across columns, weights rescaled to sum 1 (default equal):
    ``"arithmetic"`` Σ w x; ``"geometric"`` Π x^w (needs x > 0); ``"harmonic"`` 1 / Σ (w / x)
    (needs x > 0). Geometric and harmonic are less compensatory (a weak indicator is not fully
    offset by a strong one)."""
    check_choice("method", method, AGGREGATIONS)
    df = as_frame(X)
    w = np.full(df.shape[1], 1.0 / df.shape[1]) if weights is None else as_weights(weights, df.columns)
    return pd.Series(aggregate_array(df.to_numpy(), w, method), index=df.index, name="score")


def aggregate_array(v: np.ndarray, w: np.ndarray, method: str) -> np.ndarray:
    """Aggregation on arrays; ``v`` is (..., m, k), ``w`` broadcastable to (..., k) and summing to 1."""
    if method == "arithmetic":
        return (v * w[..., None, :]).sum(axis=-1)
    if np.any(v <= 0):
        raise ModelInputError(
            f"{method} aggregation needs strictly positive normalised values; "
            "normalise to a positive range, e.g. minmax with bounds=(1, 100)."
        )
    if method == "geometric":
        return np.exp((np.log(v) * w[..., None, :]).sum(axis=-1))
    return 1.0 / (w[..., None, :] / v).sum(axis=-1)


# ----------------------------------------------------------------------------- TOPSIS
def topsis(X, weights, *, directions=None, normalisation: TopsisNormalisation = "vector") -> pd.Series:
    """TOPSIS relative closeness C_i = D_i⁻ / (D_i⁺ + D_i⁻) in [0, 1] (Hwang & Yoon 1981).

    ``normalisation``: ``"vector"`` r = x / ‖x‖₂ per column (Hwang & Yoon's form) or ``"minmax"``
    r = (x - min)/(max - min). Weights are rescaled to sum 1 and multiply r. The ideal takes the
    column maximum for direction +1 and the minimum for -1 (the anti-ideal the reverse); distances
    are Euclidean. All-identical units give NaN (no ideal separation).
    """
    check_choice("normalisation", normalisation, ("vector", "minmax"))
    df = as_frame(X)
    d = as_directions(directions, df.columns)
    w = as_weights(weights, df.columns)
    V = _topsis_normalised(df.to_numpy(), normalisation) * w
    best = np.where(d > 0, V.max(axis=0), V.min(axis=0))
    worst = np.where(d > 0, V.min(axis=0), V.max(axis=0))
    d_plus = np.sqrt(((V - best) ** 2).sum(axis=1))
    d_minus = np.sqrt(((V - worst) ** 2).sum(axis=1))
    total = d_plus + d_minus
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(total > 0, d_minus / total, np.nan)
    return pd.Series(c, index=df.index, name="closeness")


def _topsis_normalised(v: np.ndarray, normalisation: str) -> np.ndarray:
    if normalisation == "vector":
        norm = np.sqrt((v**2).sum(axis=0))
        return v / np.where(norm > 0, norm, 1.0)
    lo, hi = v.min(axis=0), v.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(hi > lo, (v - lo) / span, 0.0)


def obstacle_degree(X, weights, *, directions=None, normalisation: Literal["minmax"] = "minmax") -> pd.DataFrame:
    """Obstacle degree (障碍度) of each indicator for each unit, rows summing to 1.

    O_ij = w_j (1 - r_ij) / Σ_k w_k (1 - r_ik), with r the direction-aware min-max value in [0, 1]
    (factor contribution w_j × indicator deviation 1 - r_ij). A unit at the best value on every
    indicator has no obstacle: its row is 0.
    """
    check_choice("normalisation", normalisation, ("minmax",))
    df = as_frame(X)
    w = as_weights(weights, df.columns)
    dev = 1.0 - _minmax01(df.to_numpy(), as_directions(directions, df.columns))
    # a constant column has no spread, hence no obstacle
    dev[:, np.ptp(df.to_numpy(), axis=0) == 0] = 0.0
    contrib = dev * w
    tot = contrib.sum(axis=1, keepdims=True)
    out = np.divide(contrib, tot, out=np.zeros_like(contrib), where=tot > 0)
    return pd.DataFrame(out, index=df.index, columns=df.columns)


# ----------------------------------------------------------------------------- presentation
class _Summary:
    """Text and HTML view of a few tables (Jupyter shows ``_repr_html_``)."""

    def __init__(self, title: str, tables: list[pd.DataFrame]):
        self.title, self.tables = title, tables

    def __str__(self) -> str:
        return "\n\n".join([self.title] + [t.to_string() for t in self.tables])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f"<h4>{self.title}</h4>" + "".join(t.to_html() for t in self.tables)


def bar_plot(values: pd.Series, *, title: str, xlabel: str):
    """Horizontal bars of a labelled Series (weights, scores)."""
    from evalkit.plotting import PALETTE, new_figure

    fig = new_figure(6.5, max(2.5, 0.3 * len(values) + 1))
    ax = fig.add_subplot()
    s = values.sort_values()
    ax.barh([str(i) for i in s.index], s.to_numpy(), color=PALETTE[0])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return fig


def radar_plot(profile: pd.DataFrame, *, title: str = "", lang="zh"):
    """Radar (spider) chart: one polygon per row of ``profile`` over its columns (values 0..1 or 0..100)."""
    from evalkit.plotting import PALETTE, new_figure

    cols = [str(c) for c in profile.columns]
    angles = np.linspace(0, 2 * np.pi, len(cols), endpoint=False)
    fig = new_figure(5.5, 5.5)
    ax = fig.add_subplot(projection="polar")
    for i, (name, row) in enumerate(profile.iterrows()):
        vals = np.r_[row.to_numpy(dtype=float), row.to_numpy(dtype=float)[:1]]
        ax.plot(np.r_[angles, angles[:1]], vals, color=PALETTE[i % len(PALETTE)], label=str(name))
        ax.fill(np.r_[angles, angles[:1]], vals, color=PALETTE[i % len(PALETTE)], alpha=0.1)
    ax.set_xticks(angles, cols)
    ax.set_title(title)
    if len(profile) > 1:
        ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.1), fontsize=8)
    return fig

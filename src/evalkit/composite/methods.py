"""Composite-evaluation methods: the input helpers, normalisation, aggregation, TOPSIS, obstacle
degree (障碍度) and the shared bar / radar figures; the weighting methods are in
:mod:`evalkit.composite.weights`. Public names are re-exported by ``evalkit.composite``.

All functions are pure functions on DataFrames/arrays: rows are units (alternatives), columns are
indicators (criteria). Every convention that changes a number is a named keyword argument; a wrong
choice raises ``evalkit.errors.ChoiceError`` naming the allowed values, and unusable data raises
``evalkit.errors.ModelInputError`` (both are ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Normalisation = Literal["minmax", "zscore", "rank", "target", "vector"]
Aggregation = Literal["arithmetic", "geometric", "harmonic"]
TopsisNormalisation = Literal["vector", "minmax"]

NORMALISATIONS = ("minmax", "zscore", "rank", "target", "vector")
AGGREGATIONS = ("arithmetic", "geometric", "harmonic")


# ----------------------------------------------------------------------------- input helpers
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

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units, columns = indicators (numeric, no missing values).
    method : {"minmax", "zscore", "rank", "target", "vector"}, default "minmax"
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
    directions : sequence or mapping, optional
        +1 (higher is better, default) or -1 per indicator.
    bounds : tuple of float, default (0, 1)
        Range of ``"minmax"``.
    mean_sd : tuple of float, default (0, 1)
        Mean and sd of ``"zscore"``.
    targets : sequence or mapping, optional
        Positive targets of ``"target"``.
    cap : bool, default True
        Cap ``"target"`` at 100.

    Returns
    -------
    pandas.DataFrame
        Same shape, index and columns as ``X``.
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


# ----------------------------------------------------------------------------- aggregation
def aggregate(X, weights=None, *, method: Aggregation = "arithmetic") -> pd.Series:
    """Weighted aggregation across columns, weights rescaled to sum 1 (default equal).

    Geometric and harmonic are less compensatory (a weak indicator is not fully offset by a strong
    one).

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units, columns = normalised indicators.
    weights : sequence or mapping, optional
        Non-negative weights per column (default equal).
    method : {"arithmetic", "geometric", "harmonic"}, default "arithmetic"
        Σ w x; Π x^w (needs x > 0); 1 / Σ (w / x) (needs x > 0).

    Returns
    -------
    pandas.Series
        One score per unit (name ``score``).
    """
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

    Weights are rescaled to sum 1 and multiply the normalised values. The ideal takes the column
    maximum for direction +1 and the minimum for -1 (the anti-ideal the reverse); distances are
    Euclidean. All-identical units give NaN (no ideal separation).

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units, columns = indicators.
    weights : sequence or mapping
        Non-negative weights per indicator.
    directions : sequence or mapping, optional
        +1/-1 per indicator.
    normalisation : {"vector", "minmax"}, default "vector"
        r = x / ‖x‖₂ per column (Hwang & Yoon's form) or r = (x - min)/(max - min).

    Returns
    -------
    pandas.Series
        Closeness per unit (name ``closeness``).
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

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units, columns = indicators.
    weights : sequence or mapping
        Non-negative weights per indicator.
    directions : sequence or mapping, optional
        +1/-1 per indicator.
    normalisation : {"minmax"}
        The only form offered.

    Returns
    -------
    pandas.DataFrame
        Units × indicators.
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
def bar_plot(values: pd.Series, *, title: str, xlabel: str) -> Figure:
    """Horizontal bars of a labelled Series (weights, scores).

    Parameters
    ----------
    values : pandas.Series
    title, xlabel : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from evalkit.plotting import PALETTE, new_figure

    fig = new_figure(6.5, max(2.5, 0.3 * len(values) + 1))
    ax = fig.add_subplot()
    s = values.sort_values()
    ax.barh([str(i) for i in s.index], s.to_numpy(), color=PALETTE[0])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return fig


def radar_plot(profile: pd.DataFrame, *, title: str = "", lang: Lang = "zh") -> Figure:
    """Radar (spider) chart: one polygon per row of ``profile`` over its columns.

    Parameters
    ----------
    profile : pandas.DataFrame
        Rows = units, columns = dimensions (values 0..1 or 0..100).
    title : str
    lang : {"zh", "en", "bilingual"}
        Kept for a uniform signature (the labels are the data's own).

    Returns
    -------
    matplotlib.figure.Figure
    """
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

"""The COINr / OECD-JRC data-treatment steps of a composite index: imputation of missing values and
the outlier rule (|skew| > 2 and kurtosis > 3.5: winsorise up to 5 points, else a log transform).
Re-exported by :mod:`evalkit.composite.pipeline` and ``evalkit.composite``."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice

Imputation = Literal["none", "mean", "median", "group_mean", "knn"]
IMPUTATIONS = ("none", "mean", "median", "group_mean", "knn")


# ----------------------------------------------------------------------------- imputation
def impute(
    X: pd.DataFrame,
    method: Imputation = "mean",
    *,
    unit_groups=None,
    knn_neighbours: int = 5,
) -> pd.DataFrame:
    """Fill missing indicator values.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows = units, columns = indicators.
    method : {"none", "mean", "median", "group_mean", "knn"}, default "mean"
        ``"none"`` (leave them; later steps refuse NaN), ``"mean"`` / ``"median"`` of the indicator
        over units, ``"group_mean"`` mean of the indicator within the unit's group, ``"knn"``
        scikit-learn's KNNImputer on z-scored indicators (uniform weights).
    unit_groups : pandas.Series or mapping, optional
        Unit → group (``"group_mean"``).
    knn_neighbours : int, default 5
        Neighbours of ``"knn"``.

    Returns
    -------
    pandas.DataFrame
        ``X`` as floats with the gaps filled.
    """
    check_choice("imputation", method, IMPUTATIONS)
    df = X.astype(float)
    if method == "none" or not df.isna().any().any():
        return df
    if method in ("mean", "median"):
        fill = df.mean() if method == "mean" else df.median()
        if fill.isna().any():
            raise ModelInputError(f"indicators {list(fill.index[fill.isna()])} have no observed value.")
        return df.fillna(fill)
    if method == "group_mean":
        if unit_groups is None:
            raise ModelInputError("imputation 'group_mean' needs unit_groups (unit → group).")
        groups = pd.Series(unit_groups).reindex(df.index)
        if groups.isna().any():
            raise ModelInputError(f"unit_groups has no group for units {list(df.index[groups.isna()])}.")
        out = df.fillna(df.groupby(groups.to_numpy()).transform("mean"))
        if out.isna().any().any():
            raise ModelInputError("a unit group has no observed value for an indicator; use 'mean'.")
        return out
    from sklearn.impute import KNNImputer

    mu, sd = df.mean(), df.std().replace(0, 1.0)
    filled = KNNImputer(n_neighbors=knn_neighbours).fit_transform(((df - mu) / sd).to_numpy())
    return pd.DataFrame(filled, index=df.index, columns=df.columns) * sd + mu


# ----------------------------------------------------------------------------- outliers
def _log_ct(x: np.ndarray, skew: float) -> np.ndarray:
    """COINr's 'log_CT': ln(x - min + 0.01·range) for positive skew; mirrored for negative skew,
    -ln(max - x + 0.01·range), so the order of units is kept (our extension)."""
    rng = np.nanmax(x) - np.nanmin(x)
    if skew >= 0:
        return np.log(x - np.nanmin(x) + 0.01 * rng)
    return -np.log(np.nanmax(x) - x + 0.01 * rng)


def treat_outliers(
    X: pd.DataFrame, *, skew_threshold: float = 2.0, kurtosis_threshold: float = 3.5, winmax: int = 5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """COINr's default outlier treatment, per indicator.

    An indicator is treated when |skew| > ``skew_threshold`` AND kurtosis > ``kurtosis_threshold``
    (pandas' bias-corrected sample skewness and excess kurtosis). Treatment: winsorise one point at
    a time (the highest value set to the next highest when skew > 0, the lowest to the next lowest
    when skew < 0) until the rule no longer holds, up to ``winmax`` points; if the rule still holds
    after ``winmax`` points, the winsorisation is undone and the log transform ``log_CT`` is applied
    instead.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows = units, columns = indicators.
    skew_threshold : float, default 2.0
    kurtosis_threshold : float, default 3.5
    winmax : int, default 5
        Most points winsorised per indicator.

    Returns
    -------
    tuple of pandas.DataFrame
        The treated data, and a log with one row per indicator (skew, kurtosis, treatment,
        n_winsorised, skew_after, kurtosis_after).
    """
    out = X.astype(float).copy()
    rows = []
    for col in X.columns:
        x = X[col].to_numpy(dtype=float)
        s0, k0 = pd.Series(x).skew(), pd.Series(x).kurt()
        flagged = abs(s0) > skew_threshold and k0 > kurtosis_threshold
        treatment, n_win, xt = "none", 0, x.copy()
        if flagged:
            s, k = s0, k0
            while n_win < winmax and abs(s) > skew_threshold and k > kurtosis_threshold:
                obs = xt[np.isfinite(xt)]
                uniq = np.unique(obs)
                if uniq.size < 2:
                    break
                if s > 0:
                    xt[np.flatnonzero(xt == uniq[-1])[0]] = uniq[-2]
                else:
                    xt[np.flatnonzero(xt == uniq[0])[0]] = uniq[1]
                n_win += 1
                s, k = pd.Series(xt).skew(), pd.Series(xt).kurt()
            if abs(s) > skew_threshold and k > kurtosis_threshold:
                xt, treatment, n_win = _log_ct(x, s0), "log_CT", 0
            else:
                treatment = "winsorised"
            out[col] = xt
        rows.append(
            {
                "indicator": col,
                "skew": s0,
                "kurtosis": k0,
                "treatment": treatment,
                "n_winsorised": n_win,
                "skew_after": pd.Series(xt).skew(),
                "kurtosis_after": pd.Series(xt).kurt(),
            }
        )
    return out, pd.DataFrame(rows)

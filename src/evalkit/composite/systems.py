"""Between-system and efficiency methods: coupling coordination degree (耦合协调度), grey relational
analysis (灰色关联分析) and data envelopment analysis (DEA). Public names are re-exported by
``evalkit.composite``."""

from __future__ import annotations

from itertools import combinations
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from evalkit.composite.methods import _minmax01, as_directions, as_frame, as_weights
from evalkit.errors import ModelInputError, check_choice

# The common ten-band table (upper bound exclusive, except the last): (upper, 中文, English).
CCD_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.1, "极度失调", "extreme imbalance"),
    (0.2, "严重失调", "serious imbalance"),
    (0.3, "中度失调", "moderate imbalance"),
    (0.4, "轻度失调", "mild imbalance"),
    (0.5, "濒临失调", "verge of imbalance"),
    (0.6, "勉强协调", "barely coordinated"),
    (0.7, "初级协调", "primary coordination"),
    (0.8, "中级协调", "intermediate coordination"),
    (0.9, "良好协调", "good coordination"),
    (1.0, "优质协调", "high-quality coordination"),
)


def _check_bands(bands) -> tuple[tuple[float, str, str], ...]:
    out = tuple((float(u), str(zh), str(en)) for u, zh, en in bands)
    uppers = [b[0] for b in out]
    if not out or any(b <= a for a, b in zip(uppers, uppers[1:])):
        raise ValueError("bands must be (upper, name_zh, name_en) rows with increasing upper bounds.")
    return out


def ccd_band(D, *, bands=CCD_BANDS, lang: Literal["en", "zh"] = "en"):
    """Band name for coupling coordination degree value(s): the first band whose upper bound exceeds D
    (the top band also takes D equal to its upper bound).

    Parameters
    ----------
    D : float or array-like
        Coupling coordination degree(s).
    bands : sequence of (upper, 中文, English), default ``CCD_BANDS``
    lang : {"en", "zh"}, default "en"

    Returns
    -------
    str or list of str
        One name per value (None for a missing value); a scalar for a scalar ``D``.
    """
    bands = _check_bands(bands)
    uppers = np.array([b[0] for b in bands])
    d = np.atleast_1d(np.asarray(D, dtype=float))
    idx = np.searchsorted(uppers, d, side="right")
    idx = np.where(np.isclose(d, uppers[-1]) | (d > uppers[-1]), len(bands) - 1, idx)
    col = 1 if lang == "zh" else 2
    names = [bands[i][col] if np.isfinite(x) else None for i, x in zip(idx, d)]
    return names if np.ndim(D) else names[0]


def coupling_coordination(
    U, *, weights=None, form: Literal["standard", "wang2021"] = "standard", bands=CCD_BANDS
) -> pd.DataFrame:
    """Coupling degree C, comprehensive index T, coupling coordination degree D = √(C·T) and band.

    Parameters
    ----------
    U : pandas.DataFrame
        One column per subsystem (n ≥ 2), values in [0, 1] (each unit's subsystem indices, e.g.
        from ``Pipeline``).
    weights : sequence or mapping, optional
        Coordination-index weights α (T = Σ α_i U_i; default equal).
    form : {"standard", "wang2021"}, default "standard"
        ``"standard"``: C = n·(Π U_i)^(1/n) / Σ U_i (the normative n-system form of Wang et al. 2021,
        eq. 3; for n = 2, C = 2√(U1·U2)/(U1 + U2)).
        ``"wang2021"``: the corrected coupling degree of 王淑佳, 孔伟, 任亮, 治丹丹, 戴彬婷 (2021),
        国内耦合协调度模型的误区及修正, 自然资源学报 36(3):793-810, doi:10.31497/zrzyxb.20210319:
        C = √{ [1 - Σ_{i>j} |U_i - U_j| / Σ_{m=1}^{n-1} m] × [Π_i (U_i / max_i U_i)]^(1/(n-1)) },
        which spreads C over [0, 1] instead of crowding it near 1. (Formula as reproduced in the R
        package ``coupling``; our values match its printed example to 7 decimals, see the tests.)
    bands : sequence of (upper, 中文, English), default ``CCD_BANDS``
        Ten bands of width 0.1, 极度失调 … 优质协调, unless given.

    Returns
    -------
    pandas.DataFrame
        Columns C, T, D, band, band_zh; index of ``U``.
    """
    check_choice("form", form, ("standard", "wang2021"))
    df = as_frame(U, name="U")
    n = df.shape[1]
    if n < 2:
        raise ModelInputError("coupling coordination needs at least 2 subsystems (columns).")
    u = df.to_numpy()
    if np.any(u < 0) or np.any(u > 1):
        raise ModelInputError(
            "subsystem indices U must lie in [0, 1]; normalise them first "
            "(e.g. Pipeline(..., normalisation='minmax') and divide by 100)."
        )
    alpha = np.full(n, 1.0 / n) if weights is None else as_weights(weights, df.columns)
    T = u @ alpha
    if form == "standard":
        s = u.sum(axis=1)
        if np.any(s == 0):
            raise ModelInputError("a unit has all subsystem indices 0: C is undefined.")
        C = n * np.exp(np.log(np.where(u > 0, u, 1.0)).mean(axis=1)) / s
        C = np.where((u > 0).all(axis=1), C, 0.0)
    else:
        mx = u.max(axis=1)
        if np.any(mx == 0):
            raise ModelInputError("a unit has all subsystem indices 0: C is undefined.")
        pair_diff = sum(np.abs(u[:, i] - u[:, j]) for i, j in combinations(range(n), 2))
        spread = 1.0 - pair_diff / (n * (n - 1) / 2)  # Σ_{m=1}^{n-1} m = n(n-1)/2
        ratio = np.prod(u / mx[:, None], axis=1) ** (1.0 / (n - 1))
        C = np.sqrt(np.clip(spread, 0.0, None) * ratio)
    D = np.sqrt(C * T)
    return pd.DataFrame(
        {
            "C": C,
            "T": T,
            "D": D,
            "band": ccd_band(D, bands=bands, lang="en"),
            "band_zh": ccd_band(D, bands=bands, lang="zh"),
        },
        index=df.index,
    )


def plot_coupling_coordination(
    ccd: pd.DataFrame, *, x: str | None = None, group: str | None = None, bands=CCD_BANDS, lang="zh"
):
    """D over time (or over units) on the band table: one line per ``group`` value, the bands shaded
    and named at the right.

    Parameters
    ----------
    ccd : pandas.DataFrame
        Output of :func:`coupling_coordination` (column ``D``), possibly with further columns.
    x : str, optional
        Column for the x axis (default: the index).
    group : str, optional
        Column whose values get one line each.
    bands : sequence of (upper, 中文, English), default ``CCD_BANDS``
    lang : {"zh", "en", "bilingual"}

    Returns
    -------
    matplotlib.figure.Figure
    """
    from evalkit.plotting import PALETTE, label, new_figure

    bands = _check_bands(bands)
    data = ccd.reset_index() if x is None else ccd
    xcol = x if x is not None else data.columns[0]
    fig = new_figure(7.5, 4.5)
    ax = fig.add_subplot()
    lower = 0.0
    for i, (upper, zh, en) in enumerate(bands):
        ax.axhspan(lower, upper, color="0.93" if i % 2 else "white", zorder=0)
        ax.text(
            1.01, (lower + upper) / 2, label(zh, en, lang), transform=ax.get_yaxis_transform(), va="center", fontsize=7
        )
        lower = upper
    groups = [(None, data)] if group is None else list(data.groupby(group, sort=False))
    for i, (name, part) in enumerate(groups):
        ax.plot(
            part[xcol].astype(str),
            part["D"],
            marker="o",
            color=PALETTE[i % len(PALETTE)],
            label=None if name is None else str(name),
        )
    ax.set_ylim(0, bands[-1][0])
    ax.set_ylabel(label("耦合协调度 D", "coupling coordination degree D", lang))
    ax.set_title(label("耦合协调度与协调等级", "Coupling coordination and bands", lang))
    if group is not None:
        ax.legend(fontsize=8)
    return fig


# ----------------------------------------------------------------------------- grey relational
def _gra_coefficients(ref: np.ndarray, cmp: np.ndarray, rho: float) -> np.ndarray:
    """Deng's grey relational coefficients ξ = (Δmin + ρΔmax)/(Δ + ρΔmax), Δmin/Δmax over all
    series and points (two-level min/max)."""
    if not 0 < rho <= 1:
        raise ValueError(f"rho must lie in (0, 1]; got {rho}.")
    delta = np.abs(cmp - ref[:, None])
    dmin, dmax = delta.min(), delta.max()
    if dmax == 0:
        return np.ones_like(delta)
    return (dmin + rho * dmax) / (delta + rho * dmax)


def grey_relational(
    reference, factors, *, rho: float = 0.5, normalisation: Literal["mean", "initial"] = "mean"
) -> pd.Series:
    """Grey relational grade of each factor series with a reference series (factor mode: which
    factors move most like the reference; Deng 1982).

    ξ_i(t) = (Δmin + ρΔmax)/(Δ_i(t) + ρΔmax) with Δ_i(t) = |y(t) - x_i(t)| and Δmin, Δmax over all
    factors and points; the grade is the mean of ξ_i over t.

    Parameters
    ----------
    reference : pandas.Series or array-like
        1-D series over observations (e.g. periods).
    factors : pandas.DataFrame
        One column per factor, same rows.
    rho : float, default 0.5
        Distinguishing coefficient, 0 < ρ ≤ 1.
    normalisation : {"mean", "initial"}, default "mean"
        Dimensionless series: 均值化 x / mean(x) or 初值化 x / x[0].

    Returns
    -------
    pandas.Series
        One grade per factor (name ``grade``).
    """
    check_choice("normalisation", normalisation, ("mean", "initial"))
    f = as_frame(factors, name="factors")
    y = np.asarray(reference, dtype=float).ravel()
    if y.shape[0] != f.shape[0]:
        raise ModelInputError(f"reference has {y.shape[0]} observations, factors {f.shape[0]}.")
    if np.any(~np.isfinite(y)):
        raise ModelInputError("reference has missing values.")
    series = np.column_stack([y, f.to_numpy()])
    base = series.mean(axis=0) if normalisation == "mean" else series[0]
    if np.any(base == 0):
        raise ModelInputError(
            f"{normalisation}-value normalisation divides by zero: a series has "
            f"{'mean' if normalisation == 'mean' else 'first value'} 0."
        )
    z = series / base
    xi = _gra_coefficients(z[:, 0], z[:, 1:], rho)
    return pd.Series(xi.mean(axis=0), index=f.columns, name="grade")


def grey_relational_evaluation(X, *, directions=None, weights=None, rho: float = 0.5) -> pd.Series:
    """Grey relational grade of each unit (row) with the ideal unit (evaluation mode, 灰色关联评价).

    Indicators are min-max normalised with direction to [0, 1], so the ideal reference is 1 on every
    indicator; ξ_ij = (Δmin + ρΔmax)/(Δ_ij + ρΔmax) with Δ_ij = |1 - r_ij| and Δmin/Δmax over all
    units and indicators; the grade is Σ_j w_j ξ_ij. Higher is better.

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Rows = units, columns = indicators.
    directions : sequence or mapping, optional
        +1/-1 per indicator.
    weights : sequence or mapping, optional
        Default equal.
    rho : float, default 0.5

    Returns
    -------
    pandas.Series
        One grade per unit (name ``grade``).
    """
    df = as_frame(X)
    r = _minmax01(df.to_numpy(), as_directions(directions, df.columns))
    w = np.full(df.shape[1], 1.0 / df.shape[1]) if weights is None else as_weights(weights, df.columns)
    xi = _gra_coefficients(np.ones(df.shape[1]), r.T, rho).T  # rows: units, cols: indicators
    return pd.Series(xi @ w, index=df.index, name="grade")


# ----------------------------------------------------------------------------- DEA
def dea(
    X, Y, *, returns: Literal["crs", "vrs"] = "crs", orientation: Literal["input", "output"] = "input"
) -> pd.Series:
    """Radial DEA efficiency of each unit (envelopment form, solved with scipy's HiGHS).

    Slacks are not reported (radial score only).

    Parameters
    ----------
    X, Y : pandas.DataFrame or array-like
        Inputs and outputs; rows are units (same order), values non-negative, each unit with some
        positive input and output.
    returns : {"crs", "vrs"}, default "crs"
        CCR (Charnes, Cooper & Rhodes 1978) or BCC (Banker, Charnes & Cooper 1984: Σλ = 1).
    orientation : {"input", "output"}, default "input"
        ``"input"``: min θ s.t. Σλ_j x_j ≤ θ x_o, Σλ_j y_j ≥ y_o → θ ∈ (0, 1]; ``"output"``: max φ
        s.t. Σλ_j x_j ≤ x_o, Σλ_j y_j ≥ φ y_o → φ ≥ 1 (under CRS φ = 1/θ).

    Returns
    -------
    pandas.Series
        One score per unit, named ``theta_crs`` / ``phi_vrs`` ….
    """
    check_choice("returns", returns, ("crs", "vrs"))
    check_choice("orientation", orientation, ("input", "output"))
    from scipy.optimize import linprog

    xf, yf = as_frame(X, name="X"), as_frame(Y, name="Y")
    if xf.shape[0] != yf.shape[0]:
        raise ModelInputError(f"X has {xf.shape[0]} units, Y {yf.shape[0]}.")
    x, y = xf.to_numpy(), yf.to_numpy()
    if np.any(x < 0) or np.any(y < 0):
        raise ModelInputError("DEA inputs and outputs must be non-negative.")
    if np.any(x.sum(axis=1) == 0) or np.any(y.sum(axis=1) == 0):
        raise ModelInputError("every unit needs some positive input and some positive output.")
    n = x.shape[0]
    scores = np.empty(n)
    for o in range(n):
        c = np.r_[1.0 if orientation == "input" else -1.0, np.zeros(n)]
        if orientation == "input":
            # Σλ x_ij - θ x_io ≤ 0 ;  -Σλ y_rj ≤ -y_ro
            A_ub = np.vstack([np.column_stack([-x[o], x.T]), np.column_stack([np.zeros(y.shape[1]), -y.T])])
            b_ub = np.r_[np.zeros(x.shape[1]), -y[o]]
        else:
            # Σλ x_ij ≤ x_io ;  φ y_ro - Σλ y_rj ≤ 0
            A_ub = np.vstack([np.column_stack([np.zeros(x.shape[1]), x.T]), np.column_stack([y[o], -y.T])])
            b_ub = np.r_[x[o], np.zeros(y.shape[1])]
        A_eq = np.r_[0.0, np.ones(n)][None, :] if returns == "vrs" else None
        b_eq = np.array([1.0]) if returns == "vrs" else None
        res = linprog(
            c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=[(None, None)] + [(0, None)] * n, method="highs"
        )
        if res.status != 0:
            raise ModelInputError(f"the DEA linear programme for unit {xf.index[o]!r} failed: {res.message}")
        scores[o] = res.x[0]
    return pd.Series(scores, index=xf.index, name=f"{'theta' if orientation == 'input' else 'phi'}_{returns}")


def scale_efficiency(X, Y, *, orientation: Literal["input", "output"] = "input") -> pd.DataFrame:
    """CRS and VRS scores and scale efficiency SE = CRS/VRS (input) or VRS/CRS (output, where the
    scores are φ ≥ 1), so SE ∈ (0, 1] in both orientations; SE = 1 means the unit operates at its
    most productive scale size.

    Parameters
    ----------
    X, Y : pandas.DataFrame or array-like
        Inputs and outputs, as :func:`dea`.
    orientation : {"input", "output"}, default "input"

    Returns
    -------
    pandas.DataFrame
        Columns crs, vrs, scale.
    """
    crs = dea(X, Y, returns="crs", orientation=orientation)
    vrs = dea(X, Y, returns="vrs", orientation=orientation)
    se = crs / vrs if orientation == "input" else vrs / crs
    return pd.DataFrame({"crs": crs.to_numpy(), "vrs": vrs.to_numpy(), "scale": se.to_numpy()}, index=crs.index)


__all__: Sequence[str] = [
    "CCD_BANDS",
    "ccd_band",
    "coupling_coordination",
    "plot_coupling_coordination",
    "grey_relational",
    "grey_relational_evaluation",
    "dea",
    "scale_efficiency",
]

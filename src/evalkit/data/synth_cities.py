"""A one-treated-city synthetic panel with a known effect: the comparative-case design.

The consortium is one city's policy: at city level the evaluation has one treated unit (Zhuzhou)
and a donor pool of other cities. :func:`generate_cities` draws such a panel from an interactive
fixed-effects (factor) model, with the effect of the consortium known, so that synthetic control,
synthetic DiD and DiD can be checked against the truth (``bench/truth_recovery.py``)::

    y0_it = mu + alpha_i + gamma_t + factor_sd * Σ_k lambda_ik f_tk + noise_sd * eps_it
    y_it  = y0_it + tau_t · 1{i is the treated city, t ≥ treated_from}

* alpha_i ~ N(0, unit_sd²): city levels; gamma_t: common trend, a random walk with drift
  ``trend`` and N(0, 1) steps.
* f_tk: ``n_factors`` independent random walks with drift ``factor_drift`` and N(0, 1) steps
  (non-stationary common factors with city-specific loadings lambda_ik ~ N(0, 1)); the treated
  city's loadings are shifted by
  ``loading_shift`` (0: the treated city is drawn like every other city, exchangeable; > 0: it
  loads more on the factors, so that parallel trends fail — with ``factor_drift`` ≠ 0 DiD is
  then biased by about ``loading_shift · n_factors · factor_drift · factor_sd`` × (mean post t −
  mean pre t) — and only a reweighting of the donors that tracks its pre-period path can recover
  the effect).
* eps_it ~ N(0, 1) iid.
* tau_t: the effect path over the post periods (``att`` a number: constant; a sequence: one
  value per post period). The true ATT is its mean, ``truth["att"]``.

All random draws are made in a fixed order and scaled afterwards, so the same seed gives the same
world whatever the scales: ``noise_sd=0, factor_sd=0`` gives the same city levels and trend
without noise or factors (then DiD recovers the ATT exactly).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

TREATED_CITY = "Zhuzhou"


def _half_years(first: str, n: int) -> list[str]:
    """``n`` consecutive half-year labels from ``first`` (e.g. "2019H1")."""
    try:
        year, half = int(first[:4]), int(first[5:])
        if first[4] != "H" or half not in (1, 2) or len(first) != 6:
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"first_period={first!r}: give a half-year label like '2019H1'.") from None
    k0 = 2 * year + half - 1
    return [f"{k // 2}H{k % 2 + 1}" for k in range(k0, k0 + n)]


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r}: must be an integer >= {low}.")
    return int(value)


def _check_scale(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: must be a finite number >= 0.") from None
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name}={value!r}: must be a finite number >= 0.")
    return v


def generate_cities(
    seed: int,
    *,
    n_cities: int = 30,
    n_periods: int = 14,
    treated_from: int = 10,
    att: float | Sequence[float] = 5.0,
    n_factors: int = 2,
    factor_sd: float = 1.0,
    factor_drift: float = 0.0,
    noise_sd: float = 1.0,
    unit_sd: float = 5.0,
    trend: float = 0.5,
    loading_shift: float = 0.0,
    first_period: str = "2019H1",
) -> tuple[pd.DataFrame, dict]:
    """Draw a city panel in which one city (``"Zhuzhou"``) is treated from ``treated_from`` on.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same panel.
    n_cities : int
        Number of cities, the treated one included (at least 3: placebo SEs need two donors).
    n_periods : int
        Number of half-year periods (at least 3).
    treated_from : int
        1-based index of the treated city's first treated period, in 3 .. ``n_periods``
        (at least two pre-treatment periods, which synthetic control and synthetic DiD need).
    att : float or sequence of float
        The effect in every post period (a number), or one effect per post period
        (``n_periods - treated_from + 1`` values). The true ATT is their mean.
    n_factors : int
        Number of common factors (0: a two-way additive model).
    factor_sd : float
        Scale of the interactive term ``Σ_k lambda_ik f_tk`` (>= 0).
    factor_drift : float
        Drift per period of each factor's random walk (0: factors without a trend).
    noise_sd : float
        Standard deviation of the idiosyncratic noise (>= 0).
    unit_sd : float
        Standard deviation of the city levels alpha_i (>= 0).
    trend : float
        Drift of the common trend per period.
    loading_shift : float
        Added to the treated city's factor loadings (0: exchangeable with the donors).
    first_period : str
        Label of the first period, e.g. ``"2019H1"``.

    Returns
    -------
    panel : pandas.DataFrame
        One row per city and period, cities in order (the treated city first), periods in time
        order. Columns ``city``, ``period`` (label), ``t`` (1-based), ``y`` (observed outcome),
        ``treated`` (1 for the treated city in its treated periods, else 0) and ``y0`` (the
        untreated potential outcome, for checks; ``y - y0`` is the effect).
    truth : dict
        ``att`` (mean effect over the treated city's post periods), ``att_path`` (effect by
        period label), ``treated_city``, ``treated_from`` (label), ``treated_from_t``,
        ``n_pre``, ``n_post``, ``seed``, ``params`` (the arguments) and ``assumptions``
        (which estimators' identifying assumptions the draw satisfies).

    Raises
    ------
    ValueError
        An argument out of range (named in the message).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed={seed!r}: must be an integer.")
    n_cities = _check_int("n_cities", n_cities, 3)
    n_periods = _check_int("n_periods", n_periods, 3)
    n_factors = _check_int("n_factors", n_factors, 0)
    if isinstance(treated_from, bool) or not isinstance(treated_from, (int, np.integer)):
        raise ValueError(f"treated_from={treated_from!r}: must be an integer period index.")
    if not 3 <= treated_from <= n_periods:
        raise ValueError(
            f"treated_from={treated_from}: must be in 3..n_periods={n_periods} (at least two "
            f"pre-treatment periods and one treated period)."
        )
    factor_sd = _check_scale("factor_sd", factor_sd)
    noise_sd = _check_scale("noise_sd", noise_sd)
    unit_sd = _check_scale("unit_sd", unit_sd)
    for name, value in (("trend", trend), ("factor_drift", factor_drift), ("loading_shift", loading_shift)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
            raise ValueError(f"{name}={value!r}: must be a finite number.")
    n_post = n_periods - treated_from + 1
    if isinstance(att, (int, float, np.number)) and not isinstance(att, bool):
        path = np.full(n_post, float(att))
    else:
        try:
            path = np.asarray(att, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"att={att!r}: give a number or {n_post} numbers (one per post period).") from None
        if path.size != n_post:
            raise ValueError(
                f"att has {path.size} values; the treated city has {n_post} post periods "
                f"(treated_from={treated_from}, n_periods={n_periods}): give one per post period or a number."
            )
    if not np.isfinite(path).all():
        raise ValueError(f"att={att!r}: the effects must be finite numbers.")
    labels = _half_years(first_period, n_periods)

    rng = np.random.default_rng(seed)
    alpha = rng.standard_normal(n_cities)
    steps = rng.standard_normal(n_periods)
    loadings = rng.standard_normal((n_cities, n_factors))
    factors = np.cumsum(factor_drift + rng.standard_normal((n_periods, n_factors)), axis=0)
    eps = rng.standard_normal((n_cities, n_periods))

    loadings[0] += loading_shift
    gamma = np.cumsum(trend + steps)
    y0 = 50.0 + unit_sd * alpha[:, None] + gamma[None, :] + factor_sd * loadings @ factors.T + noise_sd * eps
    treated = np.zeros((n_cities, n_periods), dtype=int)
    treated[0, treated_from - 1 :] = 1
    effect = np.zeros((n_cities, n_periods))
    effect[0, treated_from - 1 :] = path
    y = y0 + effect

    cities = [TREATED_CITY] + [f"city{i:02d}" for i in range(1, n_cities)]
    panel = pd.DataFrame(
        {
            "city": np.repeat(cities, n_periods),
            "period": np.tile(labels, n_cities),
            "t": np.tile(np.arange(1, n_periods + 1), n_cities),
            "y": y.ravel(),
            "treated": treated.ravel(),
            "y0": y0.ravel(),
        }
    )
    exchangeable = loading_shift == 0 or n_factors == 0 or factor_sd == 0
    truth = {
        "seed": int(seed),
        "att": float(path.mean()),
        "att_path": dict(zip(labels[treated_from - 1 :], path.tolist())),
        "treated_city": TREATED_CITY,
        "treated_from": labels[treated_from - 1],
        "treated_from_t": int(treated_from),
        "n_pre": int(treated_from - 1),
        "n_post": int(n_post),
        "params": {
            "n_cities": n_cities,
            "n_periods": n_periods,
            "n_factors": n_factors,
            "factor_sd": factor_sd,
            "factor_drift": float(factor_drift),
            "noise_sd": noise_sd,
            "unit_sd": unit_sd,
            "trend": float(trend),
            "loading_shift": float(loading_shift),
            "first_period": first_period,
        },
        "assumptions": {
            "exchangeable_treated_city": bool(exchangeable),
            "parallel_trends": bool(exchangeable),
            "note": (
                "The treated city is drawn like the donors: DiD, synthetic control and synthetic DiD "
                "are unbiased over draws and placebo SEs (donors relabelled as treated) are valid."
                if exchangeable
                else "The treated city loads more on the common factors: parallel trends fail (DiD is "
                "biased); synthetic control / synthetic DiD recover the effect only as far as the "
                "donors' weighted pre-period path tracks the treated city's."
            ),
        },
    }
    return panel, truth


__all__ = ["TREATED_CITY", "generate_cities"]

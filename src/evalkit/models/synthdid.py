"""Synthetic difference-in-differences (SDID), synthetic control (SC) and difference-in-differences
(DID) on a block design, following the reference R package ``synthdid`` (Arkhangelsky, Athey,
Hirshberg, Imbens & Wager 2021, AER 111(12); SC as in Abadie, Diamond & Hainmueller 2010).

Conventions (the R package's documented defaults; they change numbers, so they are named):

* Noise level σ̂ = standard deviation (n − 1 denominator) of the first differences over time of
  the control units' pre-period outcomes, pooled.
* SDID unit weights ω: Frank–Wolfe with exact line search on the simplex, ridge
  ζ_ω = (N_tr · T_post)^(1/4) · σ̂, with an intercept (each pre-period column of the control
  outcomes demeaned over time, i.e. weights match trends, not levels). Time weights λ: the same
  solver, ζ_λ = 1e-6 · σ̂, with an intercept (demeaned across control units). Both stop when the
  penalised loss falls by less than (1e-5 · σ̂)² in an iteration, or after 10 000 iterations;
  both are solved twice, as ``synthdid_estimate`` with ``sparsify``: 100 iterations from uniform
  weights, then weights ≤ max/4 set to 0 and renormalised, then the full run from there.
* SC: ζ_ω = 1e-6 · σ̂, no intercept, λ = 0 (the estimate compares post-period levels).
* DID: uniform ω = 1/N_co and λ = 1/T_pre — the 2×2 difference of means.
* τ̂ = (ȳ_tr,post − λ'y_tr,pre) − Σ_j ω_j (ȳ_j,post − λ'y_j,pre).
* Standard errors as ``vcov.synthdid_estimate``: ``"placebo"`` (Algorithm 4: the controls are
  permuted, the last N_tr of them are labelled treated and the estimator, weights re-estimated
  from the original weights as a start, is rerun on the controls only; SE = √((r−1)/r)·sd),
  ``"jackknife"`` (Algorithm 3: leave one unit out with the weights held fixed and
  renormalised; undefined with one treated unit or one control with a non-zero weight),
  ``"bootstrap"`` (Algorithm 2: units resampled with replacement, draws without a treated or
  without a control unit are skipped and redrawn; undefined with one treated unit). Draws use
  ``numpy.random.default_rng(seed)``: reproducible for a seed, not R's random stream. Confidence
  intervals and p-values are normal (z).
* Staggered adoption: each adoption cohort (treated units whose first treated period is the same)
  is estimated as its own block — that cohort plus every never-treated unit, all periods from
  the first to the last; units of other cohorts are left out. The overall effect is the average
  of the cohort effects weighted by the cohort's number of treated unit-periods
  (N_tr,g · T_post,g); its SE combines the cohort SEs (same method, one random stream) as
  independent: √(Σ_g w_g² SE_g²). ``unit_weights`` / ``time_weights`` of a staggered result
  are the same weighted averages of the cohorts' weights (a period that is not pre-treatment for
  a cohort counts as weight 0 for it); each cohort's own weights are in ``cohort_weights``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Message
from evalkit.models import _checks as ck
from evalkit.models.messages import msg
from evalkit.models.synthdid_results import METHOD_NAMES, METHOD_NAMES_ZH, SynthDidResults
from evalkit.models.synthdid_solver import Block, Opts, estimate_many, fit_block, sum_normalize

METHODS = ("sdid", "sc", "did")
SE_METHODS = ("placebo", "jackknife", "bootstrap", None)

__all__ = ["METHOD_NAMES", "METHOD_NAMES_ZH", "SynthDidResults", "synthetic_did"]


# -- standard errors ------------------------------------------------------------------------------
def _placebo(block: Block, reps: int, rng: np.random.Generator) -> np.ndarray:
    N0, N1 = block.N0, block.N1
    if N0 <= N1:
        raise ModelInputError(
            f"Placebo standard errors need more never-treated units than treated units "
            f"(cohort {block.start!r}: {N0} controls, {N1} treated). Use se='bootstrap' "
            f"or 'jackknife', or add comparison units."
        )
    Yco = block.Y[:N0]
    perms = [rng.permutation(N0) for _ in range(reps)]
    n0 = N0 - N1
    Ys = [Yco[p] for p in perms]
    om0 = [sum_normalize(block.omega[p[:n0]]) for p in perms]
    lam0 = np.tile(block.lam, (reps, 1))
    taus, _, _ = estimate_many(Ys, [n0] * reps, block.T0, block.opts, om0, lam0)
    return taus


def _bootstrap(block: Block, reps: int, rng: np.random.Generator) -> np.ndarray:
    N0, N = block.N0, block.Y.shape[0]
    if block.N1 == 1:
        raise ModelInputError(
            f"Bootstrap standard errors are undefined with one treated unit (cohort {block.start!r}); use se='placebo'."
        )
    draws: list[np.ndarray] = []
    while len(draws) < reps:
        ind = np.sort(rng.integers(0, N, N))
        if (ind < N0).all() or (ind >= N0).all():
            continue
        draws.append(ind)
    Ys = [block.Y[ind] for ind in draws]
    n0s = [int((ind < N0).sum()) for ind in draws]
    om0 = [sum_normalize(block.omega[ind[ind < N0]]) for ind in draws]
    lam0 = np.tile(block.lam, (reps, 1))
    taus, _, _ = estimate_many(Ys, n0s, block.T0, block.opts, om0, lam0)
    return taus


def _jackknife(block: Block) -> np.ndarray:
    N0, N = block.N0, block.Y.shape[0]
    if block.N1 == 1:
        raise ModelInputError(
            f"The jackknife standard error is undefined with one treated unit (cohort "
            f"{block.start!r}; synthdid returns NA); use se='placebo'."
        )
    if (block.omega != 0).sum() == 1:
        raise ModelInputError(
            f"The jackknife standard error is undefined when a single control has a "
            f"non-zero weight (cohort {block.start!r}); use se='placebo'."
        )
    fixed = Opts(**{**block.opts.__dict__, "update_omega": False, "update_lambda": False})
    keep = [np.delete(np.arange(N), i) for i in range(N)]
    Ys = [block.Y[k] for k in keep]
    n0s = [int((k < N0).sum()) for k in keep]
    om0 = [sum_normalize(block.omega[k[k < N0]]) for k in keep]
    taus, _, _ = estimate_many(Ys, n0s, block.T0, fixed, om0, np.tile(block.lam, (N, 1)))
    return taus


def standard_error(block: Block, se: str, reps: int, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    if se == "jackknife":
        u = _jackknife(block)
        n = len(u)
        return float(np.sqrt((n - 1) / n * (n - 1) * np.var(u, ddof=1))), u
    u = _placebo(block, reps, rng) if se == "placebo" else _bootstrap(block, reps, rng)
    return float(np.sqrt((reps - 1) / reps) * np.std(u, ddof=1)), u


# -- input -----------------------------------------------------------------------------------------
def _prepare(data: pd.DataFrame, y: str, unit: str, time: str, treated: str):
    """→ (Y wide units × periods, W wide 0/1, start index per unit (−1 never), units, periods)."""
    ck.require_columns(data, [y, unit, time, treated])
    ck.numeric(data, [y], "outcome")
    ck.unique_key(data, [unit, time])
    if data[y].isna().any():
        raise ModelInputError(
            f"{int(data[y].isna().sum())} missing values in {y!r}; synthetic DiD needs a "
            f"balanced panel. Drop or impute them first."
        )
    if data[[unit, time]].isna().any().any():
        raise ModelInputError(f"Missing values in {unit!r} or {time!r}; every row needs a unit and a period.")
    w = data[treated]
    if pd.api.types.is_bool_dtype(w):
        w = w.astype(int)
    values = pd.to_numeric(w, errors="coerce")
    bad = values.isna() | ~values.isin([0, 1])
    if bad.any():
        example = data.loc[bad, treated].drop_duplicates().head(5).tolist()
        raise ModelInputError(
            f"The treatment column {treated!r} must be 0 or 1 in every row (1 = a treated unit "
            f"in a treated period); found {example}."
        )
    Y = data.pivot(index=unit, columns=time, values=y).sort_index(axis=0).sort_index(axis=1)
    W = data.assign(**{treated: values.astype(int)}).pivot(index=unit, columns=time, values=treated)
    W = W.reindex_like(Y)
    if Y.isna().to_numpy().any():
        counts = Y.notna().sum(axis=1)
        raise ModelInputError(
            f"Unbalanced panel: units have between {counts.min()} and {counts.max()} of the "
            f"{Y.shape[1]} periods (e.g. {counts.idxmin()!r}). Synthetic DiD needs every unit "
            f"in every period; drop incomplete units first."
        )
    Wm = W.to_numpy().astype(int)
    off = (np.diff(Wm, axis=1) < 0).any(axis=1)
    if off.any():
        names = list(Y.index[off][:5])
        raise ModelInputError(
            f"Treatment switches off for {int(off.sum())} unit(s) (e.g. {names}): once a unit is "
            f"treated it must stay treated (absorbing treatment, as membership)."
        )
    ever = Wm.any(axis=1)
    if not ever.any():
        raise ModelInputError(f"No treated unit: {treated!r} is 0 in every row.")
    if ever.all():
        raise ModelInputError(
            "No never-treated unit to build the comparison from: every unit is treated at "
            "some point. Synthetic DiD needs never-treated controls."
        )
    start = np.where(ever, Wm.argmax(axis=1), -1)
    first = ever & (start == 0)
    if first.any():
        raise ModelInputError(
            f"{int(first.sum())} unit(s) are treated from the first period "
            f"({list(Y.index[first][:5])}); they have no pre-treatment period to match on. "
            f"Drop them or extend the data backwards."
        )
    return Y, start


def synthetic_did(
    data: pd.DataFrame,
    *,
    y: str,
    unit: str,
    time: str,
    treated: str,
    method: Literal["sdid", "sc", "did"] = "sdid",
    se: Literal["placebo", "jackknife", "bootstrap"] | None = "placebo",
    reps: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> SynthDidResults:
    """Synthetic DiD, synthetic control or DiD effect of an absorbing treatment on a balanced panel.

    Implements the ``synthdid`` R package (Arkhangelsky et al. 2021): Frank–Wolfe unit and time
    weights with its default regularisation, sparsification and stopping rule; SE by placebo,
    jackknife or bootstrap as ``vcov.synthdid_estimate`` (conventions in the module docstring).
    With staggered starts every adoption cohort is its own block (the cohort plus the
    never-treated units, all periods); the overall effect is the average of the cohort effects
    weighted by their number of treated unit-periods, and its SE combines the cohort SEs as
    independent, √(Σ w_g² SE_g²). ``result.method_note(lang)`` states this for a report.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and period, every unit in every period.
    y : str
        Outcome column (numeric, no missing values).
    unit : str
        Unit identifier column.
    time : str
        Period column (anything that sorts in time order: years, ``t``, ``"2024H1"`` labels).
    treated : str
        0/1 column: 1 for a treated unit in its treated periods (absorbing: never back to 0).
        Units with 0 throughout are the controls.
    method : {"sdid", "sc", "did"}
        Synthetic DiD, synthetic control (no intercept, no time weights) or DiD (uniform weights).
    se : {"placebo", "jackknife", "bootstrap"} or None
        Standard-error method. Placebo needs more controls than treated units per cohort;
        jackknife and bootstrap need more than one treated unit per cohort.
    reps : int
        Replications for placebo and bootstrap.
    seed : int
        Seed of ``numpy.random.default_rng`` for the replications.
    alpha : float
        1 − confidence level of the intervals in ``tidy()`` and ``summary()``.

    Returns
    -------
    SynthDidResults
        ``.estimate``, ``.se``, ``.unit_weights``, ``.time_weights``, ``.cohorts``, ``tidy()``,
        ``summary(lang)``, ``ci(level)`` (every tidy row), ``overall_ci(level)``,
        ``plot(lang, kind=)``, ``method_note(lang)``.

    Raises
    ------
    ModelInputError
        Missing columns, non-numeric or missing outcome, unbalanced panel, duplicate unit-periods,
        a treatment column that is not 0/1 or switches off, no treated or no never-treated unit,
        units treated from the first period, or an SE method undefined for the design.
    """
    check_choice("method", method, METHODS)
    check_choice("se", se, SE_METHODS)
    if se in ("placebo", "bootstrap") and (not isinstance(reps, (int, np.integer)) or reps < 2):
        raise ValueError(f"reps={reps!r}: need an integer of at least 2 replications.")
    Yw, start = _prepare(data, y, unit, time, treated)
    units, periods = list(Yw.index), list(Yw.columns)
    Ym = Yw.to_numpy(dtype=float)
    never = np.flatnonzero(start < 0)
    rng = np.random.default_rng(seed)
    blocks: list[Block] = []
    for s in sorted(set(start[start >= 0].tolist())):
        tr = np.flatnonzero(start == s)
        Y = np.vstack([Ym[never], Ym[tr]])
        tau, omega, lam, opts = fit_block(Y, len(never), int(s), method)
        blocks.append(
            Block(
                start=periods[s],
                Y=Y,
                N0=len(never),
                T0=int(s),
                controls=[units[i] for i in never],
                treated=[units[i] for i in tr],
                periods=periods,
                opts=opts,
                omega=omega,
                lam=lam,
                estimate=tau,
            )
        )
    for b in blocks:
        if se is not None:
            b.se, b.replicates = standard_error(b, se, reps, rng)
    size = np.array([b.N1 * b.T1 for b in blocks], dtype=float)
    wts = size / size.sum()
    estimate = float(wts @ [b.estimate for b in blocks])
    se_val = None if se is None else float(np.sqrt(np.sum(wts**2 * np.array([b.se for b in blocks]) ** 2)))
    controls = [units[i] for i in never]
    omega = sum(w * b.omega for w, b in zip(wts, blocks))
    unit_weights = pd.Series(omega, index=pd.Index(controls, name=unit), name="omega")
    last_pre = max(b.T0 for b in blocks)
    lam = np.zeros(last_pre)
    for w, b in zip(wts, blocks):
        lam[: b.T0] += w * b.lam
    time_weights = pd.Series(lam, index=pd.Index(periods[:last_pre], name=time), name="lambda")
    cohorts = pd.DataFrame(
        {
            "start": [b.start for b in blocks],
            "n_treated": [b.N1 for b in blocks],
            "n_post": [b.T1 for b in blocks],
            "weight": wts,
            "estimate": [b.estimate for b in blocks],
            "se": [np.nan if b.se is None else b.se for b in blocks],
            "treated_units": [list(b.treated) for b in blocks],
        }
    )
    notes: list[Message] = []
    if se == "jackknife" and method == "sc":
        notes.append(msg("models.synthdid_jackknife_sc"))
    settings = {"y": y, "unit": unit, "time": time, "treated": treated, "reps": reps, "seed": seed}
    return SynthDidResults(
        estimate=estimate,
        se=se_val,
        method=method,
        se_method=se,
        unit_weights=unit_weights,
        time_weights=time_weights,
        cohorts=cohorts,
        n=len(units),
        settings=settings,
        alpha=alpha,
        warnings=notes,
        _blocks=blocks,
    )

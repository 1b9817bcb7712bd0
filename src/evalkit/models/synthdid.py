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

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError
from evalkit.models import _checks as ck
from evalkit.models.results import BaseResults, Summary, critical_value
from evalkit.plotting import Lang, label

METHODS = ("sdid", "sc", "did")
SE_METHODS = ("placebo", "jackknife", "bootstrap", None)
METHOD_NAMES = {"sdid": "Synthetic DiD", "sc": "Synthetic control", "did": "DiD"}
METHOD_NAMES_ZH = {"sdid": "合成双重差分", "sc": "合成控制", "did": "双重差分"}


@dataclass(frozen=True)
class _Opts:
    """Solver settings of one block, carried unchanged into the SE replications (as R's ``opts``)."""

    zeta_omega: float
    zeta_lambda: float
    min_decrease: float
    omega_intercept: bool
    lambda_intercept: bool
    update_omega: bool
    update_lambda: bool
    max_iter: int = 10_000
    max_iter_pre_sparsify: int = 100


@dataclass
class _Block:
    """One treated cohort against the never-treated units: Y has controls first, then treated."""

    start: object
    Y: np.ndarray
    N0: int
    T0: int
    controls: list
    treated: list
    periods: list
    opts: _Opts
    omega: np.ndarray
    lam: np.ndarray
    estimate: float
    se: float | None = None
    replicates: np.ndarray | None = None

    @property
    def N1(self) -> int:
        return self.Y.shape[0] - self.N0

    @property
    def T1(self) -> int:
        return self.Y.shape[1] - self.T0


# -- solver -------------------------------------------------------------------------------------
def _sparsify(x: np.ndarray) -> np.ndarray:
    """synthdid's ``sparsify_function`` row-wise: weights ≤ max/4 → 0, renormalise."""
    x = np.where(x <= x.max(axis=1, keepdims=True) / 4, 0.0, x)
    return x / x.sum(axis=1, keepdims=True)


def _sum_normalize(x: np.ndarray) -> np.ndarray:
    s = x.sum()
    return x / s if s != 0 else np.full(len(x), 1.0 / len(x))


def _fw(
    A: np.ndarray,
    b: np.ndarray,
    row_mask: np.ndarray,
    col_mask: np.ndarray,
    zeta: float,
    intercept: bool,
    x0: np.ndarray,
    min_decrease: float,
    max_iter: int,
) -> np.ndarray:
    """Frank–Wolfe for min_x ‖A x − b‖²/m + ζ²‖x‖² on the simplex (synthdid ``sc.weight.fw``),
    for a batch of R problems at once: A (R, m, n), b (R, m), padded rows/columns masked out.
    Each problem stops on its own criterion, exactly as if solved alone."""
    A = A.astype(float, copy=True)
    b = b.astype(float, copy=True)
    rm = row_mask.astype(float)
    nrows = rm.sum(axis=1)
    if intercept:
        A = (A - (A * rm[:, :, None]).sum(axis=1, keepdims=True) / nrows[:, None, None]) * rm[:, :, None]
        b = (b - (b * rm).sum(axis=1, keepdims=True) / nrows[:, None]) * rm
    eta = nrows * zeta**2
    x = np.array(x0, dtype=float, copy=True)
    blocked = np.where(col_mask, 0.0, np.inf)
    threshold = min_decrease**2
    # Working set: the problems still iterating.
    idx = np.arange(len(x))
    Aw, bw, xw, ew, nw, blk = A, b, x.copy(), eta, nrows, blocked
    prev = np.full(len(x), np.nan)
    t = 0
    while idx.size and t < max_iter:
        t += 1
        Ax = np.matmul(Aw, xw[:, :, None])[:, :, 0]
        half_grad = np.matmul((Ax - bw)[:, None, :], Aw)[:, 0, :] + ew[:, None] * xw
        i = np.argmin(half_grad + blk, axis=1)
        rows = np.arange(len(idx))
        dx = -xw
        dx[rows, i] += 1.0
        d_err = Aw[rows, :, i] - Ax
        num = -(half_grad * dx).sum(axis=1)
        den = (d_err**2).sum(axis=1) + ew * (dx**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(den > 0, num / den, 0.0)
        step = np.clip(np.nan_to_num(step, nan=0.0), 0.0, 1.0)
        xw = xw + step[:, None] * dx
        err = np.matmul(Aw, xw[:, :, None])[:, :, 0] - bw
        val = zeta**2 * (xw**2).sum(axis=1) + (err**2).sum(axis=1) / nw
        going = np.ones(len(idx), dtype=bool) if t < 2 else (prev[idx] - val) > threshold
        prev[idx] = val
        if not going.all():  # finished problems leave the working set
            x[idx[~going]] = xw[~going]
            idx, Aw, bw, xw, ew, nw, blk = (
                idx[going],
                Aw[going],
                bw[going],
                xw[going],
                ew[going],
                nw[going],
                blk[going],
            )
    x[idx] = xw
    return x


def _fw_sparsified(A, b, row_mask, col_mask, zeta, intercept, x0, opts: _Opts) -> np.ndarray:
    first = _fw(A, b, row_mask, col_mask, zeta, intercept, x0, opts.min_decrease, opts.max_iter_pre_sparsify)
    return _fw(A, b, row_mask, col_mask, zeta, intercept, _sparsify(first), opts.min_decrease, opts.max_iter)


def _collapse(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """(N0+1) × (T0+1): controls' pre-periods and post mean; last row the treated means."""
    co, tr = Y[:N0], Y[N0:]
    top = np.column_stack([co[:, :T0], co[:, T0:].mean(axis=1)])
    bottom = np.append(tr[:, :T0].mean(axis=0), tr[:, T0:].mean())
    return np.vstack([top, bottom])


def _estimate_many(
    Ys: list[np.ndarray], N0s: list[int], T0: int, opts: _Opts, omega0: list[np.ndarray], lambda0: np.ndarray
) -> tuple[np.ndarray, list, np.ndarray]:
    """Estimate R blocks (same periods, own units) in one batch → (taus, omegas, lambdas)."""
    R = len(Ys)
    n0max = max(N0s)
    Ycs = [_collapse(Y, n0, T0) for Y, n0 in zip(Ys, N0s)]
    lam = np.array(lambda0, dtype=float, copy=True).reshape(R, T0)
    if opts.update_lambda:
        A = np.zeros((R, n0max, T0))
        b = np.zeros((R, n0max))
        rmask = np.zeros((R, n0max), dtype=bool)
        for r, (Yc, n0) in enumerate(zip(Ycs, N0s)):
            A[r, :n0] = Yc[:n0, :T0]
            b[r, :n0] = Yc[:n0, T0]
            rmask[r, :n0] = True
        lam = _fw_sparsified(
            A, b, rmask, np.ones((R, T0), dtype=bool), opts.zeta_lambda, opts.lambda_intercept, lam, opts
        )
    om = np.zeros((R, n0max))
    for r, (w, n0) in enumerate(zip(omega0, N0s)):
        om[r, :n0] = w
    if opts.update_omega:
        A = np.zeros((R, T0, n0max))
        b = np.zeros((R, T0))
        cmask = np.zeros((R, n0max), dtype=bool)
        for r, (Yc, n0) in enumerate(zip(Ycs, N0s)):
            A[r, :, :n0] = Yc[:n0, :T0].T
            b[r] = Yc[n0, :T0]
            cmask[r, :n0] = True
        om = _fw_sparsified(A, b, np.ones((R, T0), dtype=bool), cmask, opts.zeta_omega, opts.omega_intercept, om, opts)
    taus = np.empty(R)
    omegas = []
    for r, (Yc, n0) in enumerate(zip(Ycs, N0s)):
        gap = Yc[:, T0] - Yc[:, :T0] @ lam[r]
        w = om[r, :n0]
        taus[r] = gap[n0] - w @ gap[:n0]
        omegas.append(w)
    return taus, omegas, lam


def _fit_block(Y: np.ndarray, N0: int, T0: int, method: str) -> tuple[float, np.ndarray, np.ndarray, _Opts]:
    N1, T1 = Y.shape[0] - N0, Y.shape[1] - T0
    diffs = np.diff(Y[:N0, :T0], axis=1).ravel()
    noise = float(np.std(diffs, ddof=1)) if diffs.size > 1 else float("nan")
    if method != "did" and not np.isfinite(noise):
        raise ModelInputError(
            f"method={method!r} needs at least 2 pre-treatment periods (with at least 2 "
            f"first differences among the controls) to set its regularisation; this block "
            f"has {T0}. Use method='did' or a longer pre-period."
        )
    noise = noise if np.isfinite(noise) else 0.0
    if method == "sdid":
        opts = _Opts(
            zeta_omega=(N1 * T1) ** 0.25 * noise,
            zeta_lambda=1e-6 * noise,
            min_decrease=1e-5 * noise,
            omega_intercept=True,
            lambda_intercept=True,
            update_omega=True,
            update_lambda=True,
        )
        omega0, lambda0 = np.full(N0, 1.0 / N0), np.full(T0, 1.0 / T0)
    elif method == "sc":
        opts = _Opts(
            zeta_omega=1e-6 * noise,
            zeta_lambda=1e-6 * noise,
            min_decrease=1e-5 * noise,
            omega_intercept=False,
            lambda_intercept=True,
            update_omega=True,
            update_lambda=False,
        )
        omega0, lambda0 = np.full(N0, 1.0 / N0), np.zeros(T0)
    else:
        opts = _Opts(
            zeta_omega=(N1 * T1) ** 0.25 * noise,
            zeta_lambda=1e-6 * noise,
            min_decrease=1e-5 * noise,
            omega_intercept=True,
            lambda_intercept=True,
            update_omega=False,
            update_lambda=False,
        )
        omega0, lambda0 = np.full(N0, 1.0 / N0), np.full(T0, 1.0 / T0)
    taus, omegas, lams = _estimate_many([Y], [N0], T0, opts, [omega0], lambda0[None, :])
    return float(taus[0]), omegas[0], lams[0], opts


# -- standard errors ------------------------------------------------------------------------------
def _placebo(block: _Block, reps: int, rng: np.random.Generator) -> np.ndarray:
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
    om0 = [_sum_normalize(block.omega[p[:n0]]) for p in perms]
    lam0 = np.tile(block.lam, (reps, 1))
    taus, _, _ = _estimate_many(Ys, [n0] * reps, block.T0, block.opts, om0, lam0)
    return taus


def _bootstrap(block: _Block, reps: int, rng: np.random.Generator) -> np.ndarray:
    N0, N = block.N0, block.Y.shape[0]
    if block.N1 == 1:
        raise ModelInputError(
            f"Bootstrap standard errors are undefined with one treated unit (cohort {block.start!r}); use se='placebo'."
        )
    draws = []
    while len(draws) < reps:
        ind = np.sort(rng.integers(0, N, N))
        if (ind < N0).all() or (ind >= N0).all():
            continue
        draws.append(ind)
    Ys = [block.Y[ind] for ind in draws]
    n0s = [int((ind < N0).sum()) for ind in draws]
    om0 = [_sum_normalize(block.omega[ind[ind < N0]]) for ind in draws]
    lam0 = np.tile(block.lam, (reps, 1))
    taus, _, _ = _estimate_many(Ys, n0s, block.T0, block.opts, om0, lam0)
    return taus


def _jackknife(block: _Block) -> np.ndarray:
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
    fixed = _Opts(**{**block.opts.__dict__, "update_omega": False, "update_lambda": False})
    keep = [np.delete(np.arange(N), i) for i in range(N)]
    Ys = [block.Y[k] for k in keep]
    n0s = [int((k < N0).sum()) for k in keep]
    om0 = [_sum_normalize(block.omega[k[k < N0]]) for k in keep]
    taus, _, _ = _estimate_many(Ys, n0s, block.T0, fixed, om0, np.tile(block.lam, (N, 1)))
    return taus


def _se(block: _Block, se: str, reps: int, rng: np.random.Generator) -> tuple[float, np.ndarray]:
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


# -- results -----------------------------------------------------------------------------------------
def _note(method: str, se: str | None, reps: int, seed: int, staggered: bool, lang: Lang) -> str:
    se_txt = {
        None: label("未计算标准误", "no standard error", lang),
        "placebo": label(f"安慰剂标准误（{reps} 次，种子 {seed}）", f"placebo SE ({reps} draws, seed {seed})", lang),
        "bootstrap": label(
            f"自助法标准误（{reps} 次，种子 {seed}）", f"bootstrap SE ({reps} draws, seed {seed})", lang
        ),
        "jackknife": label("刀切法标准误（权重固定）", "jackknife SE (weights held fixed)", lang),
    }[se]
    name = label(METHOD_NAMES_ZH[method], METHOD_NAMES[method], lang)
    text = f"{name}; {se_txt}."
    if staggered:
        text += " " + label(
            "分批加入：每个加入批次与从未加入单位单独构成一个区块估计，总体效应按各批次处理单位-期数加权平均；"
            "标准误按各批次独立合并：√(Σ w_g² SE_g²)。",
            "Staggered adoption: each adoption cohort is estimated as its own block against the never-treated "
            "units; the overall effect averages the cohort effects weighted by their number of treated "
            "unit-periods; its SE combines the cohort SEs as independent, √(Σ w_g² SE_g²).",
            lang,
        )
    return text


@dataclass(repr=False)
class SynthDidResults(BaseResults):
    """Result of :func:`synthetic_did`.

    ``estimate`` / ``se``: the (overall) effect and its standard error (None when ``se=None``).
    ``unit_weights``: ω by control unit; ``time_weights``: λ by pre-treatment period (staggered:
    weighted averages over cohorts, see the module docstring). ``cohorts``: one row per adoption
    cohort (start, n_treated, n_post, weight, estimate, se). ``cohort_weights``: each cohort's own
    (unit_weights, time_weights). ``replicates``: the SE replications by cohort start.
    """

    estimate: float
    se: float | None
    method: str
    se_method: str | None
    unit_weights: pd.Series
    time_weights: pd.Series
    cohorts: pd.DataFrame
    n: int
    settings: dict
    alpha: float = 0.05
    warnings: list = field(default_factory=list)
    _blocks: list = field(default_factory=list, repr=False)

    @property
    def staggered(self) -> bool:
        return len(self._blocks) > 1

    def method_note(self, lang: Lang = "zh") -> str:
        """How the estimate and SE were made (the cohort aggregation rule included).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        str
        """
        return _note(self.method, self.se_method, self.settings["reps"], self.settings["seed"], self.staggered, lang)

    @property
    def cohort_weights(self) -> dict:
        return {
            b.start: (
                pd.Series(b.omega, index=pd.Index(b.controls, name=self.settings["unit"]), name="omega"),
                pd.Series(b.lam, index=pd.Index(b.periods[: b.T0], name=self.settings["time"]), name="lambda"),
            )
            for b in self._blocks
        }

    @property
    def replicates(self) -> dict:
        return {b.start: b.replicates for b in self._blocks}

    def overall_ci(self, level: float = 0.95) -> tuple[float, float]:
        """Normal confidence interval (low, high) of the overall effect; (nan, nan) without an SE.
        (``ci(level)`` gives every row of ``tidy()``.)

        Parameters
        ----------
        level : float
            Confidence level in (0, 1).

        Returns
        -------
        tuple of float
        """
        z = critical_value(level)
        if self.se is None:
            return (float("nan"), float("nan"))
        return (self.estimate - z * self.se, self.estimate + z * self.se)

    def tidy(self) -> pd.DataFrame:
        """One row for the (overall) effect, then one per cohort when adoption is staggered.

        Returns
        -------
        pandas.DataFrame
            Columns term, estimate, se, ci_low, ci_high, p, n_treated, n_post, weight, method, vcov.
        """
        from scipy.stats import norm

        z = critical_value(1 - self.alpha)
        rows = [
            (
                "ATT",
                self.estimate,
                self.se,
                int(self.cohorts["n_treated"].sum()),
                int(self.cohorts["n_post"].max()),
                1.0,
            )
        ]
        if self.staggered:
            rows += [
                (f"ATT(cohort={r.start})", r.estimate, r.se, int(r.n_treated), int(r.n_post), r.weight)
                for r in self.cohorts.itertuples()
            ]
        out = pd.DataFrame(rows, columns=["term", "estimate", "se", "n_treated", "n_post", "weight"])
        out["se"] = out["se"].astype(float)
        out["ci_low"] = out["estimate"] - z * out["se"]
        out["ci_high"] = out["estimate"] + z * out["se"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["p"] = 2 * norm.sf(np.abs(out["estimate"] / out["se"]))
        out["method"] = self.method
        out["vcov"] = self.se_method or "none"
        return out[
            ["term", "estimate", "se", "ci_low", "ci_high", "p", "n_treated", "n_post", "weight", "method", "vcov"]
        ]

    def summary(self, lang: Lang = "zh") -> Summary:
        """Printable summary (renders as HTML in Jupyter).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
            Label language.

        Returns
        -------
        Summary
        """
        lines = [
            (
                f"{label('单位数', 'units', lang)}: {self.n} "
                f"({label('对照', 'controls', lang)} {len(self.unit_weights)})"
            ),
            _note(self.method, self.se_method, self.settings["reps"], self.settings["seed"], self.staggered, lang),
        ]
        lo, hi = self.overall_ci(1 - self.alpha)
        se_txt = "—" if self.se is None else f"{self.se:.4f}"
        lines.append(
            f"{label('效应', 'effect', lang)}: {self.estimate:.4f} (SE {se_txt}; "
            f"{1 - self.alpha:.0%} CI {lo:.4f}, {hi:.4f})"
        )
        top = self.unit_weights[self.unit_weights > 0].sort_values(ascending=False).head(5)
        lines.append(
            f"{label('主要对照权重', 'largest unit weights', lang)}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in top.items())
        )
        title = f"{label(METHOD_NAMES_ZH[self.method], METHOD_NAMES[self.method], lang)} ({self.method})"
        return Summary(title, tuple(lines), self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(
        self, lang: Lang = "zh", *, kind: Literal["trajectory", "weights"] = "trajectory", title: str | None = None
    ):
        """Treated vs synthetic trajectory, or the unit weights.

        ``kind="trajectory"``: the treated units' mean and the weighted controls (shifted by the
        λ-weighted pre-period gap, so the average post-period gap is the estimate), the start of
        treatment and the time weights as bars; one panel per cohort. ``kind="weights"``: the
        control units' weights ω as horizontal bars (units with weight 0 listed at the bottom).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
            Label language.
        kind : {"trajectory", "weights"}
            Which figure.
        title : str, optional
            Figure title.

        Returns
        -------
        matplotlib.figure.Figure
        """
        ck.choice("kind", kind, ("trajectory", "weights"))
        name = label(METHOD_NAMES_ZH[self.method], METHOD_NAMES[self.method], lang)
        return (
            self._plot_weights(lang, title or name) if kind == "weights" else self._plot_trajectory(lang, title or name)
        )

    def _plot_trajectory(self, lang: Lang, title: str):
        from evalkit.plotting import PALETTE, new_figure

        k = len(self._blocks)
        fig = new_figure(7.5, 3.6 * k if k > 1 else 4.2)
        axes = np.atleast_1d(fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0])
        for ax, b in zip(axes, self._blocks):
            x = np.arange(b.Y.shape[1])
            tr = b.Y[b.N0 :].mean(axis=0)
            synth = b.omega @ b.Y[: b.N0]
            shift = float(b.lam @ (tr[: b.T0] - synth[: b.T0]))
            ax.plot(x, tr, "o-", ms=3, color=PALETTE[0], label=label("处理组", "treated", lang))
            ax.plot(x, synth + shift, "s--", ms=3, color=PALETTE[1], label=label("合成对照", "synthetic control", lang))
            ax.axvline(b.T0 - 0.5, color=PALETTE[3], ls=":", lw=1.2, label=label("处理开始", "treatment starts", lang))
            if b.lam.any():
                bars = ax.twinx()
                bars.bar(
                    x[: b.T0],
                    b.lam,
                    color=PALETTE[2],
                    alpha=0.35,
                    width=0.8,
                    label=label("时间权重", "time weights", lang),
                )
                bars.set_ylim(0, max(1e-12, b.lam.max()) * 4)
                bars.set_yticks([])
            ax.set_ylabel(self.settings["y"])
            sub = (
                f"{label('批次', 'cohort', lang)} {b.start}: $\\hat{{\\tau}}$ = {b.estimate:.3f}"
                if k > 1
                else f"$\\hat{{\\tau}}$ = {self.estimate:.3f}"
            )
            ax.set_title(sub, fontsize="medium")
            ax.legend(loc="best", fontsize="small")
            periods = [str(p) for p in b.periods]
            step = max(1, int(np.ceil(len(periods) / 12)))
            ax.set_xticks(x[::step], periods[::step])
        axes[-1].set_xlabel(self.settings["time"])
        fig.suptitle(title)
        return fig

    def _plot_weights(self, lang: Lang, title: str):
        from evalkit.plotting import PALETTE, new_figure

        w = self.unit_weights.sort_values()
        fig = new_figure(6.5, max(2.5, 0.22 * len(w) + 1.2))
        ax = fig.add_subplot()
        pos = np.arange(len(w))
        ax.barh(pos, w.to_numpy(), color=PALETTE[0])
        ax.set_yticks(pos, [str(i) for i in w.index], fontsize="small")
        ax.set_xlabel(label("对照单位权重 $\\omega$", "unit weight $\\omega$", lang))
        ax.set_title(title)
        return fig


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
    ck.choice("method", method, METHODS)
    ck.choice("se", se, SE_METHODS)
    if se in ("placebo", "bootstrap") and (not isinstance(reps, (int, np.integer)) or reps < 2):
        raise ValueError(f"reps={reps!r}: need an integer of at least 2 replications.")
    Yw, start = _prepare(data, y, unit, time, treated)
    units, periods = list(Yw.index), list(Yw.columns)
    Ym = Yw.to_numpy(dtype=float)
    never = np.flatnonzero(start < 0)
    rng = np.random.default_rng(seed)
    blocks: list[_Block] = []
    for s in sorted(set(start[start >= 0].tolist())):
        tr = np.flatnonzero(start == s)
        Y = np.vstack([Ym[never], Ym[tr]])
        tau, omega, lam, opts = _fit_block(Y, len(never), int(s), method)
        blocks.append(
            _Block(
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
            b.se, b.replicates = _se(b, se, reps, rng)
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
    notes = []
    if se == "jackknife" and method == "sc":
        notes.append("The jackknife is not recommended for synthetic control (Arkhangelsky et al. 2021, §5).")
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


__all__ = ["SynthDidResults", "synthetic_did"]

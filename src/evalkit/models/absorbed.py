"""Least squares with absorbed fixed effects, computed by evalkit in numpy.

``ols``/``twfe`` hand a fit here when its design is one a review fits — plain numeric regressors,
fixed effects as plain columns, ``vcov`` iid, HC0, HC1, one-way CRV1 or CRV3, every fixed-effect
level seen at least twice, regressors of full rank after the fixed effects, and a crosstab of the
largest effect's levels with the others' under ``MAX_CELLS`` (:class:`Absorber`) — and to pyfixest
otherwise. The numbers are pyfixest's (fixest's) for those designs; the tests compare the two on
balanced, unbalanced, one-, two- and three-way designs:

* coefficients: least squares on the regressors residualised on the fixed-effect dummies
  (Frisch–Waugh–Lovell), solved exactly rather than by alternating projections;
* degrees of freedom ``df_k`` = k + Σ levels − (number of fixed effects − 1), less the levels of
  fixed effects nested in the cluster plus one for each such effect (pyfixest ``ssc`` defaults:
  ``k_adj``, ``k_fixef="nonnested"``, ``G_adj``);
* iid: σ² = RSS/(n − df_k); HC1 × n/(n − df_k); HC0 no factor; CRV1 × (n−1)/(n − df_k) ·
  G/(G−1) with t(G−1) inference;
* the few-cluster wild cluster bootstrap of :func:`wild_cluster_p` draws exactly as wildboottest
  (pyfixest's ``Feols.wildboottest``) does.

The import costs numpy and pandas only: a review kernel fits its TWFE without importing pyfixest,
numba or formulaic (~1.6 s in a fresh process).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from evalkit.i18n import Message
from evalkit.models.messages import msg
from evalkit.models.results import coef_table
from evalkit.models.vcov import mnw_crv3

MAX_CELLS = 5_000_000  # largest effect's levels × the others' (their crosstab), or a dense fallback's n × L
KINDS = ("iid", "HC0", "HC1", "CRV1", "CRV3")
_RANK_TOL = 1e-9  # smallest singular value of the residualised, column-scaled regressors
# Gram eigenvalues (relative to the largest) that could be either tiny or null: SVD decides
_GRAM_AMBIGUOUS = (1e-14, 1e-8)


@dataclass(frozen=True)
class Design:
    """The numeric design of ``y ~ x1 + … | f1 + …`` (rows already free of missing values).

    Attributes
    ----------
    names : list of str
        Regressor names, in formula order.
    y : ndarray (n,)
    X : ndarray (n, k)
        Regressors.
    fe_codes : ndarray (n, m)
        Integer level codes 0 … levels−1 of each fixed effect (m may be 0).
    fe_names : list of str
        Fixed-effect columns.
    """

    names: list[str]
    y: np.ndarray
    X: np.ndarray
    fe_codes: np.ndarray
    fe_names: list[str]

    @property
    def levels(self) -> list[int]:
        """Levels of each fixed effect."""
        return [int(self.fe_codes[:, j].max()) + 1 for j in range(self.fe_codes.shape[1])]


class Absorber:
    """Residualises columns on the fixed-effect dummies exactly (no iteration).

    The fixed effect with the most levels (a panel's units) is removed by group means; the others
    (its periods …) through their dummies demeaned by the first, D̃ (Frisch–Waugh–Lovell:
    M_[D1, D2] = M_D̃ · M_D1), without forming D̃: its Gram matrix D̃ᵀD̃ = DᵀD − Cᵀ diag(1/n_u) C
    comes from the units × levels crosstab C, and D̃ᵀM = Dᵀ(M demeaned), so a call costs a few
    passes over M. The Gram matrix's pseudo-inverse drops its null directions (each effect's
    dummies sum to one); when an eigenvalue is too small to tell tiny from null (a nearly
    disconnected design) the dense dummies' SVD decides, or, past ``MAX_CELLS``,
    ``ill_conditioned`` is set and the caller leaves the fit to pyfixest.

    Parameters
    ----------
    codes : ndarray (n, m)
        Level codes of each fixed effect (levels that no row has are allowed).
    """

    def __init__(self, codes: np.ndarray) -> None:
        self.n = codes.shape[0]
        levels = [int(codes[:, j].max()) + 1 if self.n else 0 for j in range(codes.shape[1])]
        self.main: np.ndarray | None = None
        self.rest: np.ndarray | None = None  # (n, m − 1) codes of the other effects, offset into one range
        self.basis: np.ndarray | None = None  # dense fallback: an orthonormal basis of D̃
        self.pinv: np.ndarray | None = None  # (D̃ᵀD̃)⁺ otherwise
        self.ill_conditioned = False
        if not levels:
            return
        first = int(np.argmax(levels))
        self.main, self.main_levels = codes[:, first], levels[first]
        self.counts = np.maximum(np.bincount(self.main, minlength=self.main_levels), 1)
        others = [j for j in range(len(levels)) if j != first]
        if not others:
            return
        offsets = np.cumsum([0] + [levels[j] for j in others])
        self.rest = np.column_stack([codes[:, j] + offsets[k] for k, j in enumerate(others)])
        self.L = int(offsets[-1])
        DtD = np.zeros((self.L, self.L))
        for a in range(self.rest.shape[1]):
            for b in range(self.rest.shape[1]):
                cell = self.rest[:, a] * self.L + self.rest[:, b]
                DtD += np.bincount(cell, minlength=self.L * self.L).reshape(self.L, self.L)
        crosstab = np.zeros(self.main_levels * self.L)
        for a in range(self.rest.shape[1]):
            crosstab += np.bincount(self.main * self.L + self.rest[:, a], minlength=self.main_levels * self.L)
        C = crosstab.reshape(self.main_levels, self.L)
        lam, vec = np.linalg.eigh(DtD - C.T @ (C / self.counts[:, None]))
        top = max(float(lam.max()), 1.0)
        low, high = _GRAM_AMBIGUOUS
        if ((lam > top * low) & (lam < top * high)).any():
            if self.n * self.L > MAX_CELLS:
                self.ill_conditioned = True
                return
            u, sv, _ = np.linalg.svd(self._demean(self._dummies(np.eye(self.L))), full_matrices=False)
            self.basis = u[:, sv > sv.max() * max(self.n, self.L) * np.finfo(float).eps]
        else:
            keep = lam > top * 1e-10
            self.pinv = (vec[:, keep] / lam[keep]) @ vec[:, keep].T

    def _demean(self, M: np.ndarray) -> np.ndarray:
        assert self.main is not None
        sums = [np.bincount(self.main, weights=M[:, j], minlength=self.main_levels) for j in range(M.shape[1])]
        return M - (np.stack(sums, axis=1) / self.counts[:, None])[self.main]

    def _dummies(self, coef: np.ndarray) -> np.ndarray:
        """D · coef for the other effects' dummies D (n × L) and coef (L × c), without forming D."""
        assert self.rest is not None
        return sum(coef[self.rest[:, a]] for a in range(self.rest.shape[1]))

    def __call__(self, M: np.ndarray) -> np.ndarray:
        """``M`` (n × c) minus its projection on the fixed-effect dummies."""
        if self.main is None:
            return M.copy()
        out = self._demean(M)
        if self.basis is not None:
            return out - self.basis @ (self.basis.T @ out)
        if self.rest is not None and self.pinv is not None:
            Dt_out = np.zeros((self.L, out.shape[1]))
            for a in range(self.rest.shape[1]):
                Dt_out += np.stack(
                    [np.bincount(self.rest[:, a], weights=out[:, j], minlength=self.L) for j in range(out.shape[1])],
                    axis=1,
                )
            out = out - self._demean(self._dummies(self.pinv @ Dt_out))
        return out


@dataclass(frozen=True)
class Fit:
    """An evalkit fit: coefficients, variance and inference degrees of freedom.

    Attributes
    ----------
    design : Design
    beta : ndarray (k,)
    vcov : ndarray (k, k)
        Under the requested convention (CRV3: the unscaled jackknife sum Σ_g (β̂₋g − β̂)(β̂₋g − β̂)ᵀ,
        which :func:`evalkit.models.vcov.mnw_crv3` scales).
    dof : float
        t degrees of freedom (n − df_k; G − 1 when clustered).
    df_k : int
        Parameters counted in the small-sample factor.
    absorber : Absorber
        The design's fixed effects, for further residualisation.
    Xt : ndarray (n, k)
        The regressors with the fixed effects removed.
    """

    design: Design
    beta: np.ndarray
    vcov: np.ndarray
    dof: float
    df_k: int
    absorber: Absorber
    Xt: np.ndarray


def drop_singletons(sample: pd.DataFrame, fes: list[str]) -> pd.DataFrame:
    """``sample`` without the rows whose level of some fixed effect occurs once, repeated until
    none does (fixest's and pyfixest's ``fixef_rm="singleton"``: such a row is fitted exactly by
    its own effect and carries no information about the regressors).

    Parameters
    ----------
    sample : pandas.DataFrame
    fes : list of str
        Fixed-effect columns.

    Returns
    -------
    pandas.DataFrame
        The kept rows (``sample`` itself when none is dropped).
    """
    if not fes or sample.empty:
        return sample
    codes = np.column_stack([pd.factorize(sample[f])[0] for f in fes])
    keep = np.ones(len(sample), dtype=bool)
    while True:
        single = np.zeros(len(sample), dtype=bool)
        for j in range(codes.shape[1]):
            counts = np.bincount(codes[keep, j], minlength=int(codes[:, j].max()) + 1)
            single |= keep & (counts[codes[:, j]] == 1)
        if not single.any():
            break
        keep &= ~single
    return sample if keep.all() else sample.loc[keep]


def design(sample: pd.DataFrame, y: str, terms: list[str], fes: list[str]) -> tuple[Design | None, str]:
    """The numeric design of a fit, or (None, why evalkit leaves it to pyfixest).

    Parameters
    ----------
    sample : pandas.DataFrame
        The estimation rows (no missing values in the used columns).
    y : str
        Outcome column.
    terms : list of str
        Regressor columns.
    fes : list of str
        Fixed-effect columns (at least one).

    Returns
    -------
    (Design or None, str)
        The design, or None and the reason in a few words.
    """
    if not fes:
        return None, "no absorbed fixed effects"
    if not terms:
        return None, "no regressor"
    for c in terms:
        col = sample[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            return None, f"regressor {c!r} is not a plain numeric column"
    codes = np.column_stack([pd.factorize(sample[f])[0] for f in fes])
    levels = [int(codes[:, j].max()) + 1 for j in range(codes.shape[1])]
    for j, f in enumerate(fes):
        if (np.bincount(codes[:, j], minlength=levels[j]) < 2).any():
            return None, f"fixed effect {f!r} has levels seen once (pyfixest removes singletons)"
    if max(levels) * (sum(levels) - max(levels)) > MAX_CELLS:
        return None, "too many levels in two fixed effects for their crosstab (pyfixest demeans iteratively)"
    X = np.column_stack([sample[c].to_numpy(dtype=float) for c in terms])
    return Design(list(terms), sample[y].to_numpy(dtype=float), X, codes, list(fes)), ""


def _full_rank(Xt: np.ndarray, X: np.ndarray) -> bool:
    """Residualised regressors of full column rank (columns scaled by the raw columns' norms)."""
    if Xt.shape[1] == 0:
        return True
    scale = np.linalg.norm(X, axis=0)
    scale[scale == 0] = 1.0
    sv = np.linalg.svd(Xt / scale, compute_uv=False)
    return bool(sv.min() > _RANK_TOL * max(sv.max(), 1.0))


def _residualise(basis: np.ndarray, M: np.ndarray) -> np.ndarray:
    """M minus its least-squares projection on the columns of ``basis``."""
    if basis.shape[1] == 0:
        return M
    return M - basis @ np.linalg.lstsq(basis, M, rcond=None)[0]


def nested_in(fe_codes: np.ndarray, fe_names: list[str], cluster: np.ndarray, cluster_name: str) -> list[bool]:
    """Which fixed effects are nested in the cluster: named as it, or each level inside one cluster
    (pyfixest's ``count_fixef_fully_nested_all``)."""
    out = []
    for j, name in enumerate(fe_names):
        if name == cluster_name:
            out.append(True)
            continue
        codes = fe_codes[:, j]
        cluster_of = np.zeros(int(codes.max()) + 1, dtype=np.int64)
        cluster_of[codes] = cluster  # one cluster per level (any row's); nested iff every row agrees
        out.append(bool((cluster_of[codes] == cluster).all()))
    return out


def fit(
    d: Design, kind: str, cluster: np.ndarray | None = None, cluster_name: str | None = None
) -> tuple[Fit | None, str]:
    """Estimate ``d`` with the variance ``kind``, or (None, why) when pyfixest should.

    Parameters
    ----------
    d : Design
    kind : {"iid", "HC0", "HC1", "CRV1", "CRV3"}
    cluster : ndarray of int, optional
        Cluster codes (CRV1, CRV3).
    cluster_name : str, optional
        The cluster column (a fixed effect of that name is nested in it).

    Returns
    -------
    (Fit or None, str)
    """
    if kind not in KINDS:
        return None, f"vcov {kind!r} is computed by pyfixest"
    absorber = Absorber(d.fe_codes)
    if absorber.ill_conditioned:
        return None, "the fixed effects are nearly disconnected and too large to decompose densely"
    resid = absorber(np.column_stack([d.y, d.X]))
    yt, Xt = resid[:, 0], resid[:, 1:]
    if not _full_rank(Xt, d.X):
        return None, "a regressor is collinear with the others or the fixed effects"
    n, k = d.X.shape
    tXX = Xt.T @ Xt
    beta = np.linalg.solve(tXX, Xt.T @ yt)
    u = yt - Xt @ beta
    bread = np.linalg.inv(tXX)
    levels = d.levels
    m = len(levels)
    k_fe_adj = sum(levels) - (m - 1) if m > 1 else sum(levels)
    df_k = k + k_fe_adj

    def done(vcov: np.ndarray, dof: float, df_k: int = df_k) -> tuple[Fit, str]:
        return Fit(d, beta, vcov, dof, df_k, absorber, Xt), ""

    if kind == "iid":
        return done(bread * float(u @ u) / (n - df_k), float(n - df_k))
    if kind in ("HC0", "HC1"):
        meat = (Xt * (u**2)[:, None]).T @ Xt
        factor = n / (n - df_k) if kind == "HC1" else 1.0
        return done(factor * bread @ meat @ bread, float(n - df_k))
    if cluster is None or cluster_name is None:
        raise ValueError(f"vcov {kind!r} needs cluster codes and the cluster's name")
    G = int(cluster.max()) + 1
    if kind == "CRV3":
        jack = jackknife_sum(d, beta, cluster)
        if jack is None:  # only when the absorber cannot decompose a left-out sample
            return None, "a left-out cluster's sample cannot be decomposed"
        return done(jack, float(G - 1))
    nested = nested_in(d.fe_codes, d.fe_names, cluster, cluster_name)
    if any(nested):
        df_k = k + k_fe_adj - sum(lv for lv, nest in zip(levels, nested) if nest) + sum(nested)
    scores = np.zeros((G, k))
    np.add.at(scores, cluster, Xt * u[:, None])
    factor = (n - 1) / (n - df_k) * G / (G - 1)
    return done(factor * bread @ (scores.T @ scores) @ bread, float(G - 1), df_k)


def jackknife_sum(d: Design, beta: np.ndarray, cluster: np.ndarray) -> np.ndarray | None:
    """Σ_g (β̂₋g − β̂)(β̂₋g − β̂)ᵀ, each leave-one-cluster-out fit solved exactly with the fixed
    effects absorbed in the remaining rows. A regressor unidentified without some cluster gets
    that fit's minimum-norm least-squares solution (the pseudo-inverse, as wildboottest's CRV3; a
    regressor that is zero once the cluster is left out gets 0, as in pyfixest's refit, which
    drops it).

    Parameters
    ----------
    d : Design
    beta : ndarray (k,)
        The full-sample coefficients.
    cluster : ndarray of int
        Cluster codes.

    Returns
    -------
    ndarray (k, k) or None
        None when a left-out sample's fixed effects cannot be decomposed (``Absorber.ill_conditioned``).
    """
    k = d.X.shape[1]
    total = np.zeros((k, k))
    for g in range(int(cluster.max()) + 1):
        keep = cluster != g
        absorber = Absorber(d.fe_codes[keep])
        if absorber.ill_conditioned:
            return None
        resid = absorber(np.column_stack([d.y[keep], d.X[keep]]))
        diff = np.linalg.lstsq(resid[:, 1:], resid[:, 0], rcond=None)[0] - beta
        total += np.outer(diff, diff)
    return total


@dataclass(frozen=True)
class Request:
    """What ``ols`` asks of a route (:func:`estimate` here, pyfixest's in
    :mod:`evalkit.models.fixest_route`): the variance, its clusters, the intervals' level and the
    few-cluster extras (``few``: one-way CRV1 with fewer than ``few_clusters`` clusters)."""

    kind: str
    clusters: list[str]
    alpha: float
    few: bool
    few_clusters: int
    wild_reps: int
    seed: int


def estimate(
    sample: pd.DataFrame,
    y: str,
    terms: list[str],
    fes: list[str],
    req: Request,
    notes: list[Message],
    info: dict[str, Any],
) -> tuple[tuple[pd.DataFrame, int, float] | None, str]:
    """evalkit's route of ``ols``: the coefficient table, observations and t degrees of freedom,
    or (None, why not) — then nothing is added to ``notes`` or ``info``.

    With ``req.few`` clusters the table gains ``se_crv3`` and ``p_crv3`` (the jackknife,
    MacKinnon–Nielsen–Webb scaling, t(G−1)) and ``p_wild`` (:func:`wild_cluster_p` with
    :func:`rademacher_draws` of ``req.wild_reps`` and ``req.seed``).
    """
    kind, clusters, alpha, few = req.kind, req.clusters, req.alpha, req.few
    if len(clusters) > 1:
        return None, "two-way clustering is computed by pyfixest"
    d, why = design(sample, y, terms, fes)
    if d is None:
        return None, why
    codes = pd.factorize(sample[clusters[0]])[0] if clusters else np.zeros(len(sample), dtype=np.int64)
    f, why = fit(d, kind, codes if clusters else None, clusters[0] if clusters else None)
    if f is None:
        return None, why
    jack = None
    if few:
        jack = jackknife_sum(d, f.beta, codes)
        if jack is None:
            return None, "a left-out cluster's sample cannot be decomposed (few-cluster CRV3)"
    se = np.sqrt(np.diag(f.vcov))
    if kind == "CRV3":
        raw = pd.DataFrame({"estimate": f.beta, "se": se}, index=pd.Index(d.names, name="term"))
        table = mnw_crv3(raw, int(codes.max()) + 1, alpha)
    else:
        table = coef_table(f.beta, se, df=f.dof, alpha=alpha, index=d.names)
    info["engine"] = "evalkit"
    if jack is not None:  # few clusters
        G = int(codes.max()) + 1
        notes.append(msg("models.few_clusters", G=G, threshold=req.few_clusters))
        t3 = mnw_crv3(pd.DataFrame({"estimate": f.beta, "se": np.sqrt(np.diag(jack))}, index=table.index), G, 0.05)
        table["se_crv3"] = t3["se"].to_numpy()
        table["p_crv3"] = t3["p"].to_numpy()
        v = rademacher_draws(G, req.wild_reps, req.seed)
        table["p_wild"] = [wild_cluster_p(f, i, codes, v) for i in range(len(d.names))]
        info["wild_reps"], info["wild_enumerated"] = wild_draws(G, req.wild_reps)
    return (table, len(d.y), f.dof), ""


def wild_draws(G: int, reps: int) -> tuple[int, bool]:
    """(draws, enumerated): wildboottest draws every sign pattern of G clusters when 2^G < reps."""
    return (2**G, True) if 2**G < reps else (reps, False)


def rademacher_draws(G: int, reps: int, seed: int) -> np.ndarray:
    """The G × B Rademacher weights wildboottest 0.3.2 uses: every sign pattern (itertools.product
    order) when 2^G < reps, else ``default_rng(seed).choice([-1, 1], G·reps)`` by rows of clusters.

    Parameters
    ----------
    G : int
        Clusters (in the order of their codes).
    reps : int
        Draws requested.
    seed : int

    Returns
    -------
    ndarray (G, B)
        B = 2^G under full enumeration, else ``reps``.
    """
    if wild_draws(G, reps)[1]:
        return np.array(list(product([-1, 1], repeat=G)), dtype=float).T
    rng = np.random.default_rng(seed=seed)
    return rng.choice([-1, 1], size=G * reps, replace=True).reshape(G, reps).astype(float)


def wild_t(f: Fit, term: int, cluster: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray]:
    """The sample t and the bootstrap t* of :func:`wild_cluster_p` (both without the small-sample
    factor, which cancels).

    Parameters
    ----------
    f : Fit
    term : int
    cluster : ndarray of int
    v : ndarray (G, B)

    Returns
    -------
    (float, ndarray (B,))
    """
    d = f.design
    n, G = len(d.y), v.shape[0]
    yt = f.absorber(d.y[:, None])[:, 0]
    others = np.delete(f.Xt, term, axis=1)
    resid = _residualise(others, np.column_stack([yt, f.Xt[:, term]]))
    u_restricted, xt = resid[:, 0], resid[:, 1]
    a = xt / float(xt @ xt)
    C = np.bincount(cluster, weights=a * u_restricted, minlength=G)
    # P·(ũ on cluster h only) for every h: E − M_Z·E with M_Z = M_X̃ · M_D (Frisch–Waugh–Lovell)
    E = np.zeros((n, G))
    E[np.arange(n), cluster] = u_restricted
    PE = E - _residualise(f.Xt, f.absorber(E))
    H = np.stack([np.bincount(cluster, weights=a * PE[:, h], minlength=G) for h in range(G)], axis=1)
    numer = C @ v
    z = C[:, None] * v - H @ v
    t_boot = numer / np.sqrt(np.einsum("gb,gb->b", z, z))
    u_full = yt - f.Xt @ f.beta
    t_stat = float(a @ yt) / np.sqrt(float((np.bincount(cluster, weights=a * u_full, minlength=G) ** 2).sum()))
    return t_stat, t_boot


def wild_cluster_p(f: Fit, term: int, cluster: np.ndarray, v: np.ndarray) -> float:
    """Two-sided p of H0: β_term = 0 by the restricted wild cluster bootstrap (WCR11).

    The bootstrap of wildboottest's ``WildboottestCL`` (bootstrap type "11", null imposed, CRV1
    denominators, p = share of draws with |t*| > |t|) written through Frisch–Waugh–Lovell: with
    x̃ the tested regressor residualised on the other regressors and the fixed effects, a = x̃/x̃ᵀx̃
    and ũ the restricted residuals, t*_b = Σ_g v_gb C_g / √Σ_g (C_g v_gb − Σ_h H_gh v_hb)² with
    C_g = Σ_{i∈g} a_i ũ_i and H_gh = Σ_{i∈g} a_i (P ũ·1_h)_i, P the projection on the full design.
    The small-sample factor cancels between t and t*. A draw whose weights are all equal has
    t* = ±t exactly (it reproduces the sample); the strict comparison counts it as not exceeding,
    as exact arithmetic does (wildboottest's rounding tips such a tie either way).

    Parameters
    ----------
    f : Fit
        The unrestricted fit.
    term : int
        Index of the tested regressor in ``f.design.names``.
    cluster : ndarray of int
        Cluster codes 0 … G−1 (the rows of ``v``).
    v : ndarray (G, B)
        Weights (:func:`rademacher_draws`).

    Returns
    -------
    float
    """
    t_stat, t_boot = wild_t(f, term, cluster, v)
    same_sign = (v == v[:1]).all(axis=0)
    return float(((np.abs(t_boot) > abs(t_stat)) & ~same_sign).mean())

"""Uncertainty and sensitivity analysis of a composite index over its method choices.

Monte Carlo over normalisation, weighting, aggregation, the entropy shift and multiplicative weight
noise (±x %), following the COINr / OECD-JRC practice (Saisana, Saltelli & Tarantola 2005, JRSS A
168(2):307-323). Every variant specification is drawn up front from ``seed``; the variants are then
evaluated locally or mapped over a Dask cluster (``client=``) with bit-identical results.

Sensitivity indices are computed with our own implementation of the estimators in Saltelli et al.
(2010), Comput. Phys. Commun. 181:259-270, Table 2: first order S_i = mean(f(B)(f(A_B^i) - f(A)))/V
(Saltelli 2010, eq. b) and total ST_i = mean((f(A) - f(A_B^i))²)/(2V) (Jansen 1999), on the
radial A/B design where A_B^i takes factor i from B. The weight noise is one (vector-valued) factor.
The scalar output is COINr's: the mean absolute rank shift of the units from their nominal ranks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evalkit.composite.methods import AGGREGATIONS, NORMALISATIONS
from evalkit.composite.pipeline import WEIGHTINGS, Pipeline, compute_scores, rank_desc
from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, label
from evalkit.models.results import BaseResults, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Normalisation settings inside the Monte Carlo: positive scales, so that geometric and harmonic
# aggregation are defined for every variant.
MC_NORMALISATION_PARAMS = {
    "minmax": {"bounds": (1.0, 100.0)},
    "zscore": {"mean_sd": (100.0, 10.0)},
    "rank": {},
    "target": {},
    "vector": {},
}


@dataclass
class _Context:
    """Everything a worker needs to score variants: precomputed, picklable, deterministic."""

    normalised: list  # one (units × indicators) array per normalisation choice
    weights: dict  # (weighting index, shift index) → indicator weights
    member: np.ndarray
    group_weights: np.ndarray
    group_of: np.ndarray  # group column of each indicator
    aggregations: tuple


def _evaluate_chunk(ctx: _Context, specs: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Index scores (variants × units) for a block of variant specifications.
    ``specs`` columns: normalisation, weighting, aggregation, shift (level indices)."""
    k = ctx.member.shape[0]
    out = np.empty((specs.shape[0], ctx.normalised[0].shape[0]))
    for r, (ni, wi, ai, si) in enumerate(specs):
        w = ctx.weights[(int(wi), int(si))] * noise[r, :k]
        w = w / (ctx.member.T @ w)[ctx.group_of]  # renormalise within each group
        gw = ctx.group_weights * noise[r, k:]
        out[r] = compute_scores(ctx.normalised[ni], w, ctx.member, gw / gw.sum(), ctx.aggregations[ai])[:, -1]
    return out


def saltelli_indices(y_a: np.ndarray, y_b: np.ndarray, y_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-order (Saltelli 2010) and total (Jansen 1999) indices from the radial design:
    ``y_a``, ``y_b`` (N,), ``y_ab`` (factors, N)."""
    v = np.var(np.r_[y_a, y_b])
    if v == 0:
        return np.zeros(y_ab.shape[0]), np.zeros(y_ab.shape[0])
    s = np.mean(y_b * (y_ab - y_a), axis=1) / v
    st = 0.5 * np.mean((y_a - y_ab) ** 2, axis=1) / v
    return s, st


def _report(progress, done: int, total: int) -> None:
    if callable(progress):
        progress(done, total)
    elif progress:
        print(
            f"\r[evalkit] uncertainty: {done}/{total} variants",
            end="" if done < total else "\n",
            file=sys.stderr,
            flush=True,
        )


def uncertainty(
    X,
    pipeline: Pipeline,
    *,
    n: int = 200,
    seed: int = 0,
    normalisation: Sequence[str] = ("minmax", "zscore", "rank"),
    weighting: Sequence[str] = ("equal", "entropy_minmax", "critic"),
    aggregation: Sequence[str] = ("arithmetic", "geometric"),
    entropy_shift: Sequence[float] = (1e-4, 1e-2),
    weight_noise: float = 0.25,
    sensitivity: bool = True,
    denominator_data=None,
    client=None,
    chunk_size: int = 250,
    progress: bool | Callable[[int, int], None] = False,
) -> UncertaintyResult:
    """Monte Carlo uncertainty analysis of ``pipeline`` on ``X`` over method choices.

    Each variant draws, uniformly and independently, one ``normalisation``, ``weighting``,
    ``aggregation`` and ``entropy_shift`` level (the shift only acts with ``"entropy_minmax"``), and
    multiplies every indicator and group weight by U(1 - ``weight_noise``, 1 + ``weight_noise``)
    before renormalising. Denomination, imputation and outlier treatment stay as in ``pipeline``.
    Normalisations use positive scales (``MC_NORMALISATION_PARAMS``).

    Runs: ``n`` (``sensitivity=False``) or ``n·(k + 2)`` with k the number of varying factors
    (A, B and the A_B^i blocks of the Saltelli design; all runs are valid draws and all feed the
    rank intervals). Ranks: 1 = best, ties share the best rank.

    Parameters
    ----------
    X : pandas.DataFrame
        Rows = units, columns = indicators (as named in the pipeline's ``groups``).
    pipeline : Pipeline
        The nominal choices.
    n : int, default 200
        Base sample size.
    seed : int, default 0
    normalisation, weighting, aggregation : sequence of str
        The choices drawn from.
    entropy_shift : sequence of float
    weight_noise : float, default 0.25
        Half-width of the multiplicative weight noise, in [0, 1).
    sensitivity : bool, default True
        Run the Saltelli design and compute S / ST.
    denominator_data : pandas.DataFrame, optional
        As :meth:`Pipeline.run`.
    client : dask.distributed.Client, optional
        Evaluate the variants on the cluster in chunks of ``chunk_size`` (identical results for the
        same seed).
    chunk_size : int, default 250
    progress : bool or callable
        True prints to stderr, or a callable(done, total).

    Returns
    -------
    UncertaintyResult
        Ranks and scores of every run, rank intervals in ``tidy()``, sensitivity indices.
    """
    for name, chosen, allowed in (
        ("normalisation", normalisation, NORMALISATIONS),
        ("weighting", weighting, WEIGHTINGS),
        ("aggregation", aggregation, AGGREGATIONS),
    ):
        if not chosen:
            raise ValueError(f"{name} needs at least one choice.")
        for c in chosen:
            check_choice(name, c, allowed)
    if n < 2:
        raise ValueError(f"n must be ≥ 2; got {n}.")
    if not 0 <= weight_noise < 1:
        raise ValueError(f"weight_noise must lie in [0, 1); got {weight_noise}.")
    shifts = tuple(float(s) for s in entropy_shift) or (pipeline.entropy_shift,)

    nominal = pipeline.run(X, denominator_data)
    treated, _, _ = pipeline.prepare(X, denominator_data)
    units = treated.index
    normalised = [pipeline.normalised(treated, m, **MC_NORMALISATION_PARAMS[m]).to_numpy() for m in normalisation]
    if any(a != "arithmetic" for a in aggregation):
        bad = [m for m, v in zip(normalisation, normalised) if np.any(v <= 0)]
        if bad:
            raise ModelInputError(
                f"normalisations {bad} give non-positive values here, so geometric/"
                "harmonic aggregation is undefined for them; drop one of the two choices."
            )
    weights = {}
    for wi, method in enumerate(weighting):
        base = None
        for si, s in enumerate(shifts):
            if method == "entropy_minmax" or base is None:
                base = pipeline.indicator_weights(treated, method, s)[0].to_numpy()
            weights[(wi, si)] = base
    member = pipeline.membership()
    ctx = _Context(
        normalised,
        weights,
        member,
        pipeline.group_weight_series().to_numpy(),
        member.argmax(axis=1),
        tuple(aggregation),
    )

    # Every specification is drawn here, before any evaluation: the result does not depend on
    # where or in which order the variants run.
    rng = np.random.default_rng(seed)
    levels = {
        "normalisation": len(normalisation),
        "weighting": len(weighting),
        "aggregation": len(aggregation),
        "entropy_shift": len(shifts),
    }
    p = member.shape[0] + member.shape[1]
    a_spec = np.column_stack([rng.integers(0, L, n) for L in levels.values()])
    b_spec = np.column_stack([rng.integers(0, L, n) for L in levels.values()])
    a_noise = rng.uniform(1 - weight_noise, 1 + weight_noise, (n, p))
    b_noise = rng.uniform(1 - weight_noise, 1 + weight_noise, (n, p))
    factors = [f for f, L in levels.items() if L > 1] + (["weight_noise"] if weight_noise > 0 else [])
    blocks_spec, blocks_noise, labels = [a_spec], [a_noise], ["A"]
    if sensitivity and factors:
        blocks_spec.append(b_spec)
        blocks_noise.append(b_noise)
        labels.append("B")
        for f in factors:
            spec, noise = a_spec.copy(), a_noise.copy()
            if f == "weight_noise":
                noise = b_noise.copy()
            else:
                j = list(levels).index(f)
                spec[:, j] = b_spec[:, j]
            blocks_spec.append(spec)
            blocks_noise.append(noise)
            labels.append(f"A_B[{f}]")
    specs = np.vstack(blocks_spec)
    noise = np.vstack(blocks_noise)
    total = specs.shape[0]
    bounds = list(range(0, total, chunk_size)) + [total]
    chunks = list(zip(bounds[:-1], bounds[1:]))

    if client is None:
        parts = []
        for lo, hi in chunks:
            parts.append(_evaluate_chunk(ctx, specs[lo:hi], noise[lo:hi]))
            _report(progress, hi, total)
    else:
        from distributed import as_completed

        ctx_future = client.scatter(ctx, broadcast=True)
        futures = client.map(
            _evaluate_chunk,
            [ctx_future] * len(chunks),
            [specs[lo:hi] for lo, hi in chunks],
            [noise[lo:hi] for lo, hi in chunks],
            pure=False,
        )
        size_of = {f.key: hi - lo for f, (lo, hi) in zip(futures, chunks)}
        done = 0
        for fut in as_completed(futures):
            done += size_of[fut.key]
            _report(progress, done, total)
        parts = client.gather(futures)  # in submission order
    scores = np.vstack(parts)
    ranks = rank_desc(scores)
    nominal_rank = nominal.ranks["index"].to_numpy()
    shift = np.abs(ranks - nominal_rank).mean(axis=1)

    sens = None
    if sensitivity and factors:
        y_a, y_b = shift[:n], shift[n : 2 * n]
        y_ab = shift[2 * n :].reshape(len(factors), n)
        first, total_effect = saltelli_indices(y_a, y_b, y_ab)
        sens = pd.DataFrame({"factor": factors, "S": first, "ST": total_effect})
    design = pd.DataFrame(
        {
            "block": np.repeat(labels, n),
            "normalisation": np.asarray(normalisation, dtype=object)[specs[:, 0]],
            "weighting": np.asarray(weighting, dtype=object)[specs[:, 1]],
            "aggregation": np.asarray(aggregation, dtype=object)[specs[:, 2]],
            "entropy_shift": np.asarray(shifts)[specs[:, 3]],
            "mean_abs_rank_shift": shift,
        }
    )
    return UncertaintyResult(
        pd.DataFrame(ranks, columns=units),
        pd.DataFrame(scores, columns=units),
        pd.Series(nominal_rank, index=units, name="nominal_rank"),
        design,
        sens,
        {
            "seed": seed,
            "n": n,
            "weight_noise": weight_noise,
            "normalisation": tuple(normalisation),
            "weighting": tuple(weighting),
            "aggregation": tuple(aggregation),
            "entropy_shift": shifts,
        },
    )


@dataclass(repr=False)
class UncertaintyResult(BaseResults):
    """The result of :func:`uncertainty` (built by it, not by hand).

    Parameters
    ----------
    ranks, scores : pandas.DataFrame
        Runs × units: each run's index rank (1 = best) and score.
    nominal : pandas.Series
        The rank of each unit under the pipeline's own choices.
    design : pandas.DataFrame
        One row per run: block of the Saltelli design, the choices drawn, the mean absolute rank
        shift.
    sensitivity : pandas.DataFrame or None
        First-order S and total ST index per factor (None with ``sensitivity=False``).
    settings : dict
        Seed, runs and the choices varied.
    warnings : list of evalkit.i18n.Message
    """

    ranks: pd.DataFrame
    scores: pd.DataFrame
    nominal: pd.Series
    design: pd.DataFrame
    sensitivity: pd.DataFrame | None
    settings: dict
    warnings: list[Message] = field(default_factory=list)

    def tidy(self) -> pd.DataFrame:
        """One row per unit, in nominal-rank order.

        Returns
        -------
        pandas.DataFrame
            term = the unit, estimate = its nominal rank; ci_low / ci_high = the 5 % and 95 %
            quantiles of its rank over the runs (a 90 % interval over method choices, not a
            sampling confidence interval; ``ci(level)`` gives other levels); se and p NaN; then
            unit, nominal_rank, median_rank, rank_q05, rank_q95, mean_rank.
        """
        q = self.ranks.quantile([0.05, 0.5, 0.95]).T
        out = (
            pd.DataFrame(
                {
                    "unit": self.ranks.columns,
                    "nominal_rank": self.nominal.to_numpy(),
                    "median_rank": q[0.5].to_numpy(),
                    "rank_q05": q[0.05].to_numpy(),
                    "rank_q95": q[0.95].to_numpy(),
                    "mean_rank": self.ranks.mean().to_numpy(),
                }
            )
            .sort_values("nominal_rank", kind="stable")
            .reset_index(drop=True)
        )
        out.insert(0, "term", out["unit"].astype(str))
        out.insert(1, "estimate", out["nominal_rank"].astype(float))
        out.insert(2, "se", np.nan)
        out.insert(3, "ci_low", out["rank_q05"])
        out.insert(4, "ci_high", out["rank_q95"])
        out.insert(5, "p", np.nan)
        return out

    def ci(self, level: float = 0.95) -> pd.DataFrame:
        """Rank intervals over the runs at ``level``: the (1 − level)/2 and (1 + level)/2 quantiles.

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        pandas.DataFrame
            Indexed by term (unit), columns ci_low, ci_high; rows in ``tidy()`` order.
        """
        if not 0 < level < 1:
            raise ValueError(f"level={level!r} must be between 0 and 1 (e.g. 0.95).")
        order = self.tidy()["unit"]
        q = self.ranks.quantile([(1 - level) / 2, (1 + level) / 2]).T.reindex(order)
        return pd.DataFrame(
            {"ci_low": q.iloc[:, 0].to_numpy(), "ci_high": q.iloc[:, 1].to_numpy()},
            index=pd.Index(order.astype(str), name="term"),
        )

    def summary(self, lang: Lang = "zh") -> Summary:
        """Rank intervals per unit, the sensitivity indices and the settings.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        extra = [] if self.sensitivity is None else [self.sensitivity]
        extra.append(pd.DataFrame({"setting": list(self.settings), "value": [str(v) for v in self.settings.values()]}))
        title = label(f"不确定性分析：{len(self.ranks)} 次运行", f"Uncertainty analysis: {len(self.ranks)} runs", lang)
        lines = (
            label(
                "方法选择的蒙特卡洛：排名区间为 5%–95% 分位数",
                "Monte Carlo over method choices: rank intervals are the 5–95 % quantiles",
                lang,
            ),
        )
        return Summary(title, lines, self.tidy(), tuple(self.warning_texts(lang)), tuple(extra))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh") -> Figure:
        """Rank intervals: 5–95 % bar, median dot and nominal rank, units in nominal order.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        t = self.tidy()
        fig = new_figure(7.0, max(3.0, 0.28 * len(t) + 1.2))
        ax = fig.add_subplot()
        y = np.arange(len(t))
        ax.hlines(
            y,
            t["rank_q05"],
            t["rank_q95"],
            color=PALETTE[0],
            lw=3,
            alpha=0.6,
            label=label("5%–95% 排名区间", "5–95% rank interval", lang),
        )
        ax.plot(t["median_rank"], y, "o", color=PALETTE[0], label=label("中位排名", "median rank", lang))
        ax.plot(t["nominal_rank"], y, "x", color=PALETTE[3], label=label("基准排名", "nominal rank", lang))
        ax.set_yticks(y, [str(u) for u in t["unit"]])
        ax.invert_yaxis()
        ax.set_xlabel(label("排名（1 = 最好）", "rank (1 = best)", lang))
        ax.set_title(label("综合指数排名的不确定性", "Rank uncertainty of the composite index", lang))
        ax.legend(fontsize=8, loc="lower right")
        return fig

    def plot_sensitivity(self, lang: Lang = "zh") -> Figure:
        """First-order and total sensitivity indices of the method choices.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        if self.sensitivity is None:
            raise ModelInputError("no sensitivity indices: run uncertainty(..., sensitivity=True).")
        s = self.sensitivity
        fig = new_figure(6.0, 3.5)
        ax = fig.add_subplot()
        x = np.arange(len(s))
        ax.bar(x - 0.2, s["S"], 0.4, color=PALETTE[0], label=label("一阶指数 S", "first order S", lang))
        ax.bar(x + 0.2, s["ST"], 0.4, color=PALETTE[1], label=label("总效应指数 ST", "total ST", lang))
        names = {
            "normalisation": ("标准化", "normalisation"),
            "weighting": ("赋权", "weighting"),
            "aggregation": ("加总", "aggregation"),
            "entropy_shift": ("熵值平移", "entropy shift"),
            "weight_noise": ("权重扰动", "weight noise"),
        }
        ax.set_xticks(x, [label(*names[f], lang) for f in s["factor"]])
        ax.set_title(label("方法选择的敏感性", "Sensitivity to method choices", lang))
        ax.legend(fontsize=8)
        return fig

"""Randomization (permutation) inference for a staggered membership effect (leave-one-out, in
:mod:`evalkit.models.leave_one_out`, is re-exported here).

With nine members in five joining cohorts, asymptotic standard errors rest on very few treated
units. Randomization inference asks instead how unusual the observed estimate is among the
estimates the same estimator gives when membership is reassigned at random (Fisher's sharp null
of no effect for any unit; Abadie, Diamond & Hainmueller 2010 §2.4; Imbens & Rubin 2015 ch. 5).

Conventions (they change numbers, so they are named):

* An assignment gives each eligible unit a cohort label (its joining period, or the
  never-member label). Assignments are the distinct permutations of the observed vector of
  labels among the eligible units: the multiset of cohorts (how many units join when, how many
  never) is kept; units that are not eligible keep their own label. Their number is the
  multinomial coefficient n! / Π_k m_k! (n eligible units, m_k of them with label k).
* When that number is at most ``max_exact`` (default 2000), or ``exact=True``, every distinct
  assignment is evaluated once (the observed one included) and the p-value is the exact proportion
  p = #{|T_a| ≥ |T_obs|} / #assignments (Monte Carlo SE 0). Otherwise ``reps`` assignments are drawn
  uniformly (independent permutations, ``numpy.random.default_rng(seed)``) and
  p = (1 + #{|T_r| ≥ |T_obs|}) / (1 + R), with Monte Carlo SE √(p(1 − p)/R).
* Two-sided on the absolute value of the statistic; |T| ≥ |T_obs| is tested with a tolerance of
  1e-10 · max(1, |T_obs|) so that assignments giving the same estimate in exact arithmetic tie.
* If ``treated`` names a 0/1 column it is rebuilt for each assignment as
  1{label is a cohort and time ≥ label}, so estimators that read it (``synthetic_did``) follow the
  reassignment; estimators that read the cohort column (``staggered_did``) get the permuted column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError
from evalkit.models import _checks as ck
from evalkit.models._checks import report_progress
from evalkit.models.did_batch import fast_values
from evalkit.models.leave_one_out import LeaveOneOutResults, leave_one_out
from evalkit.i18n import Message
from evalkit.models.results import BaseResults, Summary
from evalkit.plotting import Lang, label

TOLERANCE = 1e-10


def multinomial_count(labels: Iterable) -> int:
    """Number of distinct permutations of a multiset of labels, n! / Π_k m_k!.

    Parameters
    ----------
    labels : iterable
        The labels (missing values count as one label).

    Returns
    -------
    int
    """
    codes, _ = pd.factorize(pd.Series(list(labels), dtype=object), use_na_sentinel=False)
    counts = np.bincount(codes) if len(codes) else np.array([], dtype=int)
    out = math.factorial(len(codes))
    for m in counts:
        out //= math.factorial(int(m))
    return out


def _multiset_permutations(codes: np.ndarray) -> Iterator[np.ndarray]:
    """Every distinct arrangement of ``codes`` once, in lexicographic order of the codes."""
    counts = np.bincount(codes).tolist()
    n = len(codes)
    current = np.empty(n, dtype=int)

    def place(i: int):
        if i == n:
            yield current.copy()
            return
        for k, c in enumerate(counts):
            if c:
                counts[k] -= 1
                current[i] = k
                yield from place(i + 1)
                counts[k] += 1

    yield from place(0)


def _never(values: pd.Series) -> np.ndarray:
    v = values.astype(object)
    return (v.isna() | v.isin([0, "", "0"])).to_numpy()


@dataclass(repr=False)
class RandomizationResults(BaseResults):
    """Result of :func:`randomization_inference` (built by it, not by hand).

    Parameters
    ----------
    statistic : float
        The estimate on the observed assignment.
    p_value : float
        Two-sided randomization p-value (convention in the module docstring).
    p_se : float
        Its Monte Carlo standard error (0 when exact).
    distribution : numpy.ndarray
        The statistic under each evaluated assignment.
    assignments : pandas.DataFrame
        Those assignments (rows; columns the eligible units, values the cohort labels).
    n_assignments : int
        Number of distinct assignments.
    exact : bool
        Every assignment evaluated.
    settings : dict
    warnings : list of evalkit.i18n.Message
    """

    statistic: float
    p_value: float
    p_se: float
    distribution: np.ndarray
    assignments: pd.DataFrame
    n_assignments: int
    exact: bool
    settings: dict
    warnings: list[Message] = field(default_factory=list)

    @property
    def reps(self) -> int:
        return len(self.distribution)

    def method_note(self, lang: Lang = "zh") -> str:
        """The p-value convention.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        str
        """
        return self._note(lang)

    def _note(self, lang: Lang) -> str:
        if self.exact:
            return label(
                f"精确随机化推断：枚举全部 {self.n_assignments} 种不同分配，p = #{{|T| ≥ |T_obs|}} / "
                f"{self.n_assignments}（双侧）。",
                f"Exact randomization inference over all {self.n_assignments} distinct assignments: "
                f"p = #{{|T| ≥ |T_obs|}} / {self.n_assignments} (two-sided).",
                lang,
            )
        return label(
            f"蒙特卡洛随机化推断：{self.reps} 次随机分配（种子 {self.settings['seed']}，共 "
            f"{self.n_assignments} 种可能），p = (1 + #{{|T| ≥ |T_obs|}}) / (1 + R)（双侧）。",
            f"Monte Carlo randomization inference: {self.reps} random assignments (seed "
            f"{self.settings['seed']}, of {self.n_assignments} possible); p = (1 + #{{|T| ≥ |T_obs|}}) / "
            f"(1 + R) (two-sided).",
            lang,
        )

    def tidy(self) -> pd.DataFrame:
        """One row: term, estimate, se, ci_low, ci_high (no SE: NaN), p (the RI p-value), p_se,
        n_assignments, reps, exact.

        Returns
        -------
        pandas.DataFrame
        """
        nan = float("nan")
        return pd.DataFrame(
            {
                "term": ["statistic"],
                "estimate": [self.statistic],
                "se": [nan],
                "ci_low": [nan],
                "ci_high": [nan],
                "p": [self.p_value],
                "p_se": [self.p_se],
                "n_assignments": [self.n_assignments],
                "reps": [self.reps],
                "exact": [self.exact],
                "vcov": ["randomization"],
            }
        )

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
        lines = (
            f"{label('观测统计量', 'observed statistic', lang)}: {self.statistic:.4f}",
            (f"{label('随机化 p 值', 'randomization p-value', lang)}: {self.p_value:.4f} (MC SE {self.p_se:.4f})"),
            (
                f"{label('最小可达 p 值', 'smallest attainable p', lang)}: "
                f"{(1 / self.n_assignments if self.exact else 1 / (1 + self.reps)):.4g}"
            ),
            self._note(lang),
        )
        return Summary(
            label("随机化推断", "Randomization inference", lang), lines, self.tidy(), tuple(self.warning_texts(lang))
        )

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh", *, title: str | None = None, bins: int | str = "auto"):
        """Histogram of the permutation distribution with the observed value (and its mirror,
        the two-sided boundary) marked.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
            Label language.
        title : str, optional
            Figure title.
        bins : int or str
            Histogram bins, as ``numpy.histogram``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        fig = new_figure()
        ax = fig.add_subplot()
        ax.hist(
            self.distribution,
            bins=bins,
            color=PALETTE[0],
            alpha=0.75,
            label=label("重新分配下的估计", "estimates under reassignment", lang),
        )
        ax.axvline(
            self.statistic, color=PALETTE[3], lw=2, label=f"{label('观测值', 'observed', lang)} {self.statistic:.3f}"
        )
        ax.axvline(-self.statistic, color=PALETTE[3], lw=1, ls="--")
        ax.set_xlabel(label("统计量", "statistic", lang))
        ax.set_ylabel(label("分配数", "assignments", lang))
        ax.set_title(title or f"{label('随机化推断', 'randomization inference', lang)}: p = {self.p_value:.3f}")
        ax.legend(loc="best", fontsize="small")
        return fig


def randomization_inference(
    data: pd.DataFrame,
    *,
    estimator: Callable[[pd.DataFrame], float],
    unit: str,
    cohort: str,
    time: str | None = None,
    treated: str | None = None,
    eligible: str | Iterable | None = None,
    reps: int = 999,
    seed: int = 0,
    exact: bool | None = None,
    max_exact: int = 2000,
    progress: int | Callable[[int, int], None] | None = None,
) -> RandomizationResults:
    """Randomization inference for a staggered membership effect.

    Reassigns membership and joining cohorts by permuting the per-unit cohort labels among the
    eligible units (the multiset of cohorts is kept), recomputes ``estimator`` on each
    reassigned panel and compares with the observed estimate. Every distinct assignment is
    evaluated when there are at most ``max_exact`` of them (exact p-value, the observed
    assignment included); otherwise ``reps`` seeded random assignments (p = (1 + #)/(1 + R)).
    Two-sided on |statistic|. Conventions in the module docstring.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel with one row per unit and period.
    estimator : callable
        ``estimator(data) -> float``, e.g. ``lambda d: staggered_did(d, ...).aggregate("simple").estimate``
        or ``lambda d: synthetic_did(d, ..., se=None).estimate``.
    unit : str
        Unit identifier column.
    cohort : str
        Joining-cohort column, constant within a unit: the first member period on the ``time``
        scale; 0, missing or "" for never-members.
    time : str, optional
        Period column; needed with ``treated``.
    treated : str, optional
        A 0/1 treatment column to rebuild from the permuted cohort as 1{cohort set and time ≥ cohort}.
    eligible : str or iterable, optional
        Units that could have been assigned: a column name (truthy for eligible rows, constant
        within a unit) or a collection of unit ids. Default: every unit. Others keep their label.
    reps : int
        Monte Carlo draws when not enumerating.
    seed : int
        Seed of ``numpy.random.default_rng`` for the Monte Carlo draws.
    exact : bool, optional
        True: enumerate every assignment; False: Monte Carlo; None: enumerate when the number of
        distinct assignments is at most ``max_exact``.
    max_exact : int
        Threshold for ``exact=None``.
    progress : int or callable, optional
        None (quiet); an int N prints ``done/total`` to stderr every N assignments; a callable is
        called as ``progress(done, total)`` after each assignment.

    Returns
    -------
    RandomizationResults
        ``statistic``, ``p_value``, ``p_se``, ``distribution``, ``assignments``,
        ``n_assignments``, ``exact``, ``tidy()``, ``summary()``, ``plot()``.

    Raises
    ------
    ModelInputError
        Missing columns, a cohort or eligibility that varies within a unit, fewer than two
        eligible units or only one label among them, or an estimator that fails or returns a
        non-finite value on some assignment.
    """
    if not callable(estimator):
        raise TypeError("estimator must be a callable data -> float.")
    if treated is not None and time is None:
        raise ModelInputError(
            "Rebuilding the treatment column needs the period column: pass time=... with treated=...."
        )
    cols = [unit, cohort] + [c for c in (time, treated) if c is not None]
    if isinstance(eligible, str):
        cols.append(eligible)
    ck.require_columns(data, cols)
    if data[unit].isna().any():
        raise ModelInputError(f"Missing values in {unit!r}; every row needs a unit.")
    pos, units = pd.factorize(data[unit])
    per_unit = data.groupby(pos, sort=True)[cohort]
    varies = per_unit.nunique(dropna=False) > 1
    if varies.any():
        raise ModelInputError(
            f"{int(varies.sum())} unit(s) have more than one {cohort!r} value (e.g. "
            f"{units[varies[varies].index[0]]!r}); the cohort must be constant within a unit."
        )
    labels = per_unit.first().reindex(range(len(units))).astype(object).to_numpy()
    # missing cohorts stay missing (first() skips NaN: a unit with only NaN gives NaN)
    if isinstance(eligible, str):
        el = data.groupby(pos, sort=True)[eligible]
        if (el.nunique(dropna=False) > 1).any():
            raise ModelInputError(f"The eligibility column {eligible!r} varies within a unit; it must be constant.")
        mask = el.first().reindex(range(len(units))).fillna(False).astype(bool).to_numpy()
    elif eligible is None:
        mask = np.ones(len(units), dtype=bool)
    else:
        wanted = list(eligible)
        unknown = [u for u in wanted if u not in set(units)]
        if unknown:
            raise ModelInputError(f"Eligible unit(s) {unknown[:5]} are not in {unit!r}.")
        mask = np.isin(np.asarray(units, dtype=object), np.asarray(wanted, dtype=object))
    el_idx = np.flatnonzero(mask)
    if len(el_idx) < 2:
        raise ModelInputError(f"Only {len(el_idx)} eligible unit(s): randomization inference needs at least two.")
    el_labels = labels[el_idx]
    codes, uniques = pd.factorize(pd.Series(el_labels, dtype=object), use_na_sentinel=False)
    if len(uniques) < 2:
        raise ModelInputError(
            "All eligible units share one cohort label, so reassigning them changes nothing. "
            "Include never-members (or other cohorts) among the eligible units."
        )
    total = multinomial_count(el_labels)
    if exact is None:
        exact = total <= max_exact
    if not exact and (not isinstance(reps, (int, np.integer)) or reps < 1):
        raise ValueError(f"reps={reps!r}: need a positive integer number of Monte Carlo draws.")

    time_values = data[time].to_numpy() if treated is not None else None
    row_pos = np.asarray(pos)

    def build(assign_codes: np.ndarray) -> pd.DataFrame:
        lab = labels.copy()
        lab[el_idx] = np.asarray(uniques, dtype=object)[assign_codes]
        new = lab[row_pos]
        out = data.copy()
        column = pd.Series(new, index=data.index)
        try:
            out[cohort] = column.astype(data[cohort].dtype)
        except (TypeError, ValueError):
            out[cohort] = column.infer_objects()
        if treated is not None and time_values is not None:
            never = _never(pd.Series(new))
            with np.errstate(invalid="ignore"):
                start = np.where(never, time_values, new)
                on = (~never) & (time_values >= start)
            out[treated] = on.astype(data[treated].dtype if pd.api.types.is_bool_dtype(data[treated]) else int)
        return out

    def evaluate(df: pd.DataFrame, which: str) -> float:
        try:
            value = float(estimator(df))
        except Exception as exc:
            raise ModelInputError(f"The estimator failed on {which}: {exc}") from exc
        if not np.isfinite(value):
            raise ModelInputError(f"The estimator returned {value} on {which}; it must return a finite number.")
        return value

    observed = evaluate(data, "the observed data")
    if exact:
        draws: Iterable[np.ndarray] = _multiset_permutations(codes)
        n_eval = total
    else:
        rng = np.random.default_rng(seed)
        draws = (rng.permutation(codes) for _ in range(reps))
        n_eval = reps
    assigned = np.array(list(draws), dtype=int).reshape(n_eval, len(el_idx))
    full = np.tile(labels, (n_eval, 1))
    full[:, el_idx] = np.asarray(uniques, dtype=object)[assigned]
    # an estimator with a vectorised ``many`` (did_batch.SimpleAtt) evaluates every assignment at once
    dist = fast_values(estimator, data, np.asarray(units, dtype=object), full, observed, labels)
    if dist is None:
        dist = np.full(n_eval, np.nan)
    for k in range(n_eval):
        if not np.isfinite(dist[k]):
            dist[k] = evaluate(build(assigned[k]), f"assignment {k + 1} of {n_eval}")
        report_progress(progress, k + 1, n_eval, "randomization inference")
    tol = TOLERANCE * max(1.0, abs(observed))
    extreme = int((np.abs(dist) >= abs(observed) - tol).sum())
    if exact:
        p, p_se = extreme / n_eval, 0.0
    else:
        p = (1 + extreme) / (1 + n_eval)
        p_se = float(np.sqrt(p * (1 - p) / n_eval))
    assignments = pd.DataFrame(
        np.asarray(uniques, dtype=object)[assigned],
        columns=pd.Index(np.asarray(units, dtype=object)[el_idx], name=unit),
    )
    settings = {
        "unit": unit,
        "cohort": cohort,
        "time": time,
        "treated": treated,
        "seed": seed,
        "max_exact": max_exact,
        "n_eligible": len(el_idx),
    }
    return RandomizationResults(
        statistic=observed,
        p_value=float(p),
        p_se=p_se,
        distribution=dist,
        assignments=assignments,
        n_assignments=total,
        exact=bool(exact),
        settings=settings,
    )


__all__ = [
    "LeaveOneOutResults",
    "RandomizationResults",
    "leave_one_out",
    "multinomial_count",
    "randomization_inference",
]

"""The Callaway–Sant'Anna simple ATT for many membership assignments at once.

Randomization inference and leave-one-out re-estimate the same staggered DiD hundreds of times
on one panel with the cohorts reassigned or one unit dropped. Without covariates the
doubly-robust, regression and IPW 2×2 estimators of R ``did`` all reduce to a difference of mean
changes, so every ATT(g,t) of every assignment is a matrix product of the outcome changes with
cohort-membership indicators:

* ATT(g,t) = mean over units of cohort g of (Y_t − Y_b) − mean over control units of (Y_t − Y_b),
  b the last period before g (``base_period="varying"``, no anticipation; only post-treatment
  cells, t ≥ g, enter the simple aggregate);
* control units: never-members (``control="never"``), or never-members and units joining after t
  (``control="notyet"``);
* the simple aggregate is R ``aggte(type="simple")``: Σ n_g·ATT(g,t) / Σ n_g over post cells;
* like :func:`~evalkit.models.staggered_did`, cohorts with no period before them are dropped and
  cohorts after the last period count as never-members.

:class:`SimpleAtt` is the estimator as a callable (``staggered_did`` itself, so the observed
value is the library's) with a vectorised :meth:`SimpleAtt.many`. Callers check ``many`` against
the callable on the observed assignment and fall back to the loop for any assignment it cannot
evaluate (NaN: a cell without treated or control units), so the fast path never changes a number
(tests compare it with ``staggered_did`` on random assignments).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import check_choice


@dataclass(frozen=True)
class SimpleAtt:
    """The CS simple ATT of ``y`` as a function of a long panel (no covariates).

    Parameters
    ----------
    y, unit, time, cohort : str
        Outcome, unit, period and joining-cohort columns (as :func:`~evalkit.models.staggered_did`;
        cohort 0 or missing for never-members).
    control : {"never", "notyet"}
        The comparison group.
    """

    y: str
    unit: str
    time: str
    cohort: str
    control: Literal["never", "notyet"] = "never"

    def __post_init__(self) -> None:
        check_choice("control", self.control, ("never", "notyet"))

    def __call__(self, data: pd.DataFrame) -> float:
        """The simple ATT from :func:`~evalkit.models.staggered_did` (one assignment)."""
        from evalkit.models.did import staggered_did

        res = staggered_did(data, y=self.y, unit=self.unit, time=self.time, cohort=self.cohort, control=self.control)
        return float(res.aggregate("simple").estimate)

    def many(
        self, data: pd.DataFrame, units: np.ndarray, labels: np.ndarray, keep: np.ndarray | None = None
    ) -> np.ndarray:
        """The simple ATT for every row of ``labels`` (NaN where a cell has no treated or control unit).

        Parameters
        ----------
        data : pandas.DataFrame
            The long panel (balanced; its own cohort column is ignored).
        units : array
            Unit ids, the columns of ``labels``.
        labels : array, shape (assignments, units)
            Each unit's cohort in each assignment (0 or missing: never).
        keep : array of bool, shape (assignments, units), optional
            Units included in each assignment (default all): leave-one-out drops one per row.

        Returns
        -------
        numpy.ndarray
            One estimate per assignment.
        """
        wide = data.pivot(index=self.unit, columns=self.time, values=self.y)
        wide = wide.reindex(index=pd.Index(units)).sort_index(axis=1)
        periods = wide.columns.to_numpy(dtype=float)
        outcome = wide.to_numpy(dtype=float)
        lab = pd.DataFrame(labels).apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(dtype=float)
        lab = np.where(lab > periods.max(), 0.0, lab)  # joining after the data: never a member here
        included = np.ones(lab.shape, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
        # a cohort without a period before it is dropped with its units, as staggered_did does
        included &= ~((lab > 0) & (lab <= periods.min()))
        if np.isnan(outcome[included.any(axis=0)]).any():
            return np.full(len(lab), np.nan)  # unbalanced: the loop raises the library's message
        outcome = np.nan_to_num(outcome)
        never = (lab == 0) & included
        num = np.zeros(len(lab))
        den = np.zeros(len(lab))
        bad = np.zeros(len(lab), dtype=bool)
        for g in np.unique(lab[lab > periods.min()]):
            treated = (lab == g) & included
            n_g = treated.sum(axis=1)
            base = periods[periods < g].max()
            b = int(np.flatnonzero(periods == base)[0])
            for t in np.flatnonzero(periods >= g):
                change = outcome[:, t] - outcome[:, b]
                controls = never | ((lab > periods[t]) & included) if self.control == "notyet" else never
                n_c = controls.sum(axis=1)
                present = n_g > 0
                bad |= present & (n_c == 0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    att = treated @ change / n_g - controls @ change / n_c
                num += np.where(present, n_g * np.nan_to_num(att), 0.0)
                den += np.where(present, n_g, 0)
        if self.control == "never":
            bad |= never.sum(axis=1) == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out = num / den
        out[bad | (den == 0)] = np.nan
        return out


def fast_values(
    estimator: object,
    data: pd.DataFrame,
    units: np.ndarray,
    labels: np.ndarray,
    observed: float,
    observed_labels: np.ndarray,
    keep: np.ndarray | None = None,
) -> np.ndarray | None:
    """``estimator.many`` for every assignment when the estimator has one and it reproduces the
    observed estimate (to 1e-9 relative); None otherwise (the caller loops)."""
    many = getattr(estimator, "many", None)
    if many is None:
        return None
    check = many(data, units, observed_labels[None, :])[0]
    if not np.isfinite(check) or abs(check - observed) > 1e-9 * max(1.0, abs(observed)):
        return None
    return np.asarray(many(data, units, labels, keep), dtype=float)


__all__ = ["SimpleAtt", "fast_values"]

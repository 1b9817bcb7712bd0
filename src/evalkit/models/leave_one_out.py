"""Leave-one-out: the estimate with each listed unit (e.g. each member) dropped in turn — how much
the membership effect rests on any single college."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError
from evalkit.i18n import Lang, Message, label
from evalkit.models import _checks as ck
from evalkit.models._checks import report_progress
from evalkit.models.did_batch import fast_values
from evalkit.models.results import BaseResults, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(repr=False)
class LeaveOneOutResults(BaseResults):
    """Result of :func:`leave_one_out` (built by it, not by hand).

    Parameters
    ----------
    full : float
        The full-sample estimate.
    table : pandas.DataFrame
        One row per dropped unit: term, dropped, estimate, change, relative_change.
    warnings : list of evalkit.i18n.Message
    """

    full: float
    table: pd.DataFrame
    warnings: list[Message] = field(default_factory=list)

    def tidy(self) -> pd.DataFrame:
        """Rows: the full sample, then each dropped unit.

        Returns
        -------
        pandas.DataFrame
            Columns term, estimate, se, ci_low, ci_high, p (no SE: NaN), dropped,
            change (estimate − full), relative_change.
        """
        full = pd.DataFrame(
            {
                "term": ["full sample"],
                "dropped": [None],
                "estimate": [self.full],
                "change": [0.0],
                "relative_change": [0.0],
            }
        )
        out = pd.concat([full, self.table], ignore_index=True)
        for c in ("se", "ci_low", "ci_high", "p"):
            out[c] = float("nan")
        return out[["term", "estimate", "se", "ci_low", "ci_high", "p", "dropped", "change", "relative_change"]]

    def summary(self, lang: Lang = "zh") -> Summary:
        """Printable summary.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
            Label language.

        Returns
        -------
        Summary
        """
        est = self.table["estimate"]
        lines = (
            f"{label('全样本估计', 'full-sample estimate', lang)}: {self.full:.4f}",
            f"{label('逐一剔除后范围', 'range when dropping one unit', lang)}: {est.min():.4f} – {est.max():.4f}",
        )
        return Summary(
            label("逐一剔除（留一法）", "Leave-one-out", lang), lines, self.tidy(), tuple(self.warning_texts(lang))
        )

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh", *, title: str | None = None) -> Figure:
        """The estimate with each unit dropped, against the full-sample line.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
            Label language.
        title : str, optional
            Figure title.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        t = self.table.iloc[::-1]
        fig = new_figure(6.5, max(2.5, 0.35 * len(t) + 1.2))
        ax = fig.add_subplot()
        y = np.arange(len(t))
        ax.plot(t["estimate"], y, "o", color=PALETTE[0])
        ax.axvline(self.full, color=PALETTE[3], ls="--", label=label("全样本", "full sample", lang))
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(y, [str(u) for u in t["dropped"]])
        ax.set_xlabel(label("剔除该单位后的估计", "estimate without the unit", lang))
        ax.set_title(title or label("逐一剔除", "leave-one-out", lang))
        ax.legend(fontsize="small")
        return fig


def leave_one_out(
    data: pd.DataFrame,
    *,
    estimator: Callable[[pd.DataFrame], float],
    unit: str,
    treated_units: Iterable,
    progress: int | Callable[[int, int], None] | None = None,
) -> LeaveOneOutResults:
    """The estimate with each listed unit (e.g. each member) dropped in turn.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel.
    estimator : callable
        ``estimator(data) -> float``.
    unit : str
        Unit identifier column.
    treated_units : iterable
        Units to drop one at a time (all their rows).
    progress : int or callable, optional
        As in :func:`randomization_inference`.

    Returns
    -------
    LeaveOneOutResults
        ``full`` and ``tidy()`` (term, dropped, estimate, change, relative_change), ``plot()``.

    Raises
    ------
    ModelInputError
        Missing column, an unknown unit, or an estimator failure (named with the dropped unit).
    """
    ck.require_columns(data, [unit])
    todo = list(dict.fromkeys(treated_units))
    if not todo:
        raise ModelInputError("treated_units is empty: name the units to drop one at a time.")
    present = set(data[unit].unique())
    unknown = [u for u in todo if u not in present]
    if unknown:
        raise ModelInputError(f"Unit(s) {unknown[:5]} are not in {unit!r}.")

    def run(df: pd.DataFrame, which: str) -> float:
        try:
            value = float(estimator(df))
        except Exception as exc:
            raise ModelInputError(f"The estimator failed {which}: {exc}") from exc
        return value

    full = run(data, "on the full data")
    fast = _fast_drops(estimator, data, unit, todo, full)
    rows = []
    for k, u in enumerate(todo):
        est = fast[k] if np.isfinite(fast[k]) else run(data.loc[data[unit] != u], f"without unit {u!r}")
        rows.append((f"drop {u}", u, est, est - full, (est - full) / abs(full) if full else np.nan))
        report_progress(progress, k + 1, len(todo), "leave-one-out")
    table = pd.DataFrame(rows, columns=["term", "dropped", "estimate", "change", "relative_change"])
    return LeaveOneOutResults(full=full, table=table)


def _fast_drops(estimator: Callable, data: pd.DataFrame, unit: str, todo: list, full: float) -> np.ndarray:
    """Every drop at once through a vectorised ``estimator.many`` (did_batch.SimpleAtt) when it
    reproduces the full estimate; NaN where the caller must run the estimator itself."""
    cohort = getattr(estimator, "cohort", None)
    if cohort is None or cohort not in data.columns:
        return np.full(len(todo), np.nan)
    per_unit = data.groupby(unit, sort=False)[cohort].first()
    units = per_unit.index.to_numpy(dtype=object)
    labels = per_unit.to_numpy(dtype=object)
    keep = np.ones((len(todo), len(units)), dtype=bool)
    where = {u: i for i, u in enumerate(units)}
    for k, u in enumerate(todo):
        keep[k, where[u]] = False
    values = fast_values(estimator, data, units, np.tile(labels, (len(todo), 1)), full, labels, keep)
    return np.full(len(todo), np.nan) if values is None else values

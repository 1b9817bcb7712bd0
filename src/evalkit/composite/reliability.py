"""Internal consistency of an indicator group: Cronbach's α and item–rest correlations.

As COINr's ``get_cronbach``: the columns as given (no direction applied), rows with any missing
value dropped, sample variances (ddof = 1):

    α = k/(k − 1) · (1 − Σ_i s²_i / s²_total),   s²_total = variance of the row sums.

The item–rest correlation of item i is the Pearson correlation between item i and the sum of the
other items (the "corrected item–total correlation").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError
from evalkit.i18n import Lang, Message, label
from evalkit.models.results import BaseResults, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True, repr=False)
class AlphaResult(BaseResults):
    """Cronbach's α of the complete rows, with per-item diagnostics (``cronbach_alpha(...,
    details=True)``).

    Parameters
    ----------
    alpha : float
        Cronbach's α.
    n : int
        Complete rows used.
    k : int
        Items.
    n_dropped : int
        Rows dropped for a missing value.
    items : pandas.DataFrame
        Per item (index): item_rest_r and alpha_if_dropped.
    warnings : list of evalkit.i18n.Message
    """

    alpha: float
    n: int
    k: int
    n_dropped: int
    items: pd.DataFrame
    warnings: list[Message] = field(default_factory=list)

    def __float__(self) -> float:
        return self.alpha

    def tidy(self) -> pd.DataFrame:
        """α, then one row per item.

        Returns
        -------
        pandas.DataFrame
            term ``alpha``: estimate = α of all items; term = an item: estimate = α without that
            item. se, ci_low, ci_high, p NaN (no sampling inference is made); then item_rest_r
            (NaN on the ``alpha`` row).
        """
        return pd.DataFrame(
            {
                "term": ["alpha", *[str(i) for i in self.items.index]],
                "estimate": [self.alpha, *self.items["alpha_if_dropped"].to_numpy(dtype=float)],
                "se": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "p": np.nan,
                "item_rest_r": [np.nan, *self.items["item_rest_r"].to_numpy(dtype=float)],
            }
        )

    def summary(self, lang: Lang = "zh") -> Summary:
        """α, the rows used and the item diagnostics.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        lines = (
            f"α = {self.alpha:.4f}; k = {self.k}; n = {self.n} "
            f"({label('因缺失删除', 'dropped for missing values', lang)}: {self.n_dropped})",
        )
        title = label("内部一致性（Cronbach α）", "internal consistency (Cronbach's α)", lang)
        return Summary(title, lines, self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh") -> Figure:
        """Item–rest correlations as horizontal bars.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.composite.methods import bar_plot

        return bar_plot(
            self.items["item_rest_r"],
            title=f"{label('项目–其余相关', 'item–rest correlation', lang)} (α = {self.alpha:.3f})",
            xlabel="r",
        )


def _complete(data) -> tuple[pd.DataFrame, int]:
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        raise ModelInputError(f"Expected a DataFrame (rows = units, columns = items), got {type(data).__name__}.")
    bad = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    if bad:
        raise ModelInputError(f"Non-numeric column(s) {bad}: Cronbach's α needs numeric items.")
    full = data.dropna().astype(float)
    if full.shape[1] < 2:
        raise ModelInputError("Cronbach's α needs at least 2 items (columns).")
    if len(full) < 2:
        raise ModelInputError(f"Only {len(full)} complete row(s) after dropping missing values; need ≥ 2.")
    return full, len(data) - len(full)


def _alpha(x: np.ndarray) -> float:
    k = x.shape[1]
    total = x.sum(axis=1).var(ddof=1)
    if total == 0:
        raise ModelInputError("The row totals are constant: Cronbach's α is undefined.")
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total))


def item_rest_correlations(data: pd.DataFrame) -> pd.Series:
    """Correlation of each item with the sum of the other items (complete rows only).

    Parameters
    ----------
    data : pandas.DataFrame
        Rows = units, columns = items (numeric), as given (no direction applied).

    Returns
    -------
    pandas.Series
        One correlation per item, indexed by column name.
    """
    full, _ = _complete(data)
    x = full.to_numpy()
    tot = x.sum(axis=1)
    r = [float(np.corrcoef(x[:, i], tot - x[:, i])[0, 1]) for i in range(x.shape[1])]
    return pd.Series(r, index=full.columns, name="item_rest_r")


def cronbach_alpha(data: pd.DataFrame, *, details: bool = False) -> float | AlphaResult:
    """Cronbach's α of the columns of ``data`` (COINr ``get_cronbach`` conventions).

    Parameters
    ----------
    data : pandas.DataFrame
        Rows = units, columns = items (numeric), taken as given: reverse-coded items are not
        flipped. Rows with any missing value are dropped.
    details : bool
        False (default): return α as a float. True: an :class:`AlphaResult` with the number of
        complete rows, the dropped rows, and per item the item–rest correlation and α without it.

    Returns
    -------
    float or AlphaResult
    """
    full, dropped = _complete(data)
    x = full.to_numpy()
    a = _alpha(x)
    if not details:
        return a
    k = x.shape[1]
    without = [(_alpha(np.delete(x, i, axis=1)) if k > 2 else np.nan) for i in range(k)]
    items = pd.DataFrame(
        {"item_rest_r": item_rest_correlations(full).to_numpy(), "alpha_if_dropped": without}, index=full.columns
    )
    return AlphaResult(alpha=a, n=len(full), k=k, n_dropped=dropped, items=items)

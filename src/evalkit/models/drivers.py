"""An exploratory, predictive view of outcomes on integration inputs (scikit-learn).

Two pipelines — a regularised linear model (standardise → ElasticNetCV: l1 ratios 0.1/0.5/0.9/1,
30 penalties, inner 3-fold CV) and histogram gradient boosting (100 trees, learning rate 0.1) —
are scored by cross-validation with folds grouped by unit (``GroupKFold``: all
periods of a unit fall in the same fold, so nothing leaks from a unit's other years).
Permutation importance is computed on each held-out fold and averaged; partial dependence is
computed on a model fitted to all rows. These are associations useful for finding what to
study next — 探索性分析，非因果推断 (exploratory, not causal).

Both are scikit-learn's definitions computed with the shuffled or gridded copies stacked into
one ``predict`` call (up to a million rows) instead of one call per shuffle or grid point: the
same shuffles (``permutation_importance``'s random streams), the same grid
(``partial_dependence``'s 5–95 % percentiles, or the unique values) and the same numbers, as the
tests check against scikit-learn's own functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, text
from evalkit.models import _checks as ck
from evalkit.models._checks import deprecated_lang
from evalkit.models.messages import msg
from evalkit.models.results import (
    EXPLORATORY_EN,
    EXPLORATORY_ZH,
    BaseResults,
    Summary,
    critical_value,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MODELS: tuple[Literal["linear", "boosting"], ...] = ("linear", "boosting")


def _pipeline(name: str, seed: int, n_splits_inner: int = 3) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import ElasticNetCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "linear":
        return make_pipeline(
            StandardScaler(),
            ElasticNetCV(l1_ratio=[0.1, 0.5, 0.9, 1.0], alphas=30, cv=n_splits_inner, random_state=seed),
        )
    return make_pipeline(HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, random_state=seed))


@dataclass(repr=False)
class DriversResults(BaseResults):
    """Cross-validated scores, permutation importance and partial dependence per model (the shared
    results protocol of :class:`~evalkit.models.results.BaseResults`).

    Parameters
    ----------
    scores : pandas.DataFrame
        model, fold, r2, rmse.
    importance : pandas.DataFrame
        model, term, importance, se.
    partial_dependence : pandas.DataFrame
        model, term, value, prediction.
    y : str
        The outcome.
    n : int
        Rows used.
    warnings : list of evalkit.i18n.Message
    lang : optional
        Deprecated and ignored.
    """

    scores: pd.DataFrame
    importance: pd.DataFrame
    partial_dependence: pd.DataFrame
    y: str
    n: int
    warnings: list[Message] = field(default_factory=list)
    lang: Lang | None = None

    def caveat(self, lang: Lang = "zh") -> str:
        """ "exploratory, not causal" in ``lang``."""
        return text("models.label.exploratory", lang)

    def tidy(self) -> pd.DataFrame:
        """Permutation importance (drop in held-out R² when a column is shuffled) per model and
        input; ``se`` is the standard deviation across folds over √folds. ``p`` is not a test here
        and is left missing.

        Returns
        -------
        pandas.DataFrame
            term, estimate, se, ci_low, ci_high, p, then n, vcov, model, note.
        """
        imp = self.importance
        z = critical_value(0.95)
        return pd.DataFrame(
            {
                "term": imp["term"],
                "estimate": imp["importance"],
                "se": imp["se"],
                "ci_low": imp["importance"] - z * imp["se"],
                "ci_high": imp["importance"] + z * imp["se"],
                "p": np.nan,
                "n": self.n,
                "vcov": "GroupKFold CV",
                "model": imp["model"],
                "note": f"{EXPLORATORY_ZH} / {EXPLORATORY_EN}",
            }
        )

    def ci(self, level: float = 0.95) -> pd.DataFrame:
        """Normal intervals of the permutation importances.

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        pandas.DataFrame
            Indexed by (model, term) — a term appears once per model — with ``ci_low``, ``ci_high``.
        """
        z = critical_value(level)
        imp = self.importance
        return pd.DataFrame(
            {
                "ci_low": (imp["importance"] - z * imp["se"]).to_numpy(),
                "ci_high": (imp["importance"] + z * imp["se"]).to_numpy(),
            },
            index=pd.MultiIndex.from_frame(imp[["model", "term"]]),
        )

    def summary(self, lang: Lang = "zh") -> Summary:
        """The caveat, the outcome, mean CV scores per model and the importance table.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        mean = self.scores.groupby("model")[["r2", "rmse"]].mean()
        lines = [
            f"{EXPLORATORY_ZH}（{EXPLORATORY_EN}）",
            f"{text('models.label.outcome', lang)}: {self.y}; n = {self.n}",
        ]
        lines += [f"{m}: CV R² = {r.r2:.3f}, RMSE = {r.rmse:.4g}" for m, r in mean.iterrows()]
        return Summary(
            text("models.label.drivers_title", lang), tuple(lines), self.tidy(), tuple(self.warning_texts(lang))
        )

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh") -> Figure:
        """Permutation importance (left) and partial dependence of the last model (right).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.plotting import PALETTE, new_figure

        terms = list(dict.fromkeys(self.importance["term"]))
        fig = new_figure(9.0, 4.2)
        axes = fig.subplots(1, 2)
        models = list(dict.fromkeys(self.importance["model"]))
        width = 0.8 / max(1, len(models))
        for i, m in enumerate(models):
            imp = self.importance[self.importance["model"] == m].set_index("term").reindex(terms)
            pos = np.arange(len(terms)) + i * width
            axes[0].barh(pos, imp["importance"], height=width, xerr=imp["se"], color=PALETTE[i], label=m)
        axes[0].set_yticks(np.arange(len(terms)) + width * (len(models) - 1) / 2, terms)
        axes[0].set_xlabel(text("models.label.importance", lang))
        axes[0].legend(fontsize="small")
        pd_m = self.partial_dependence[self.partial_dependence["model"] == models[-1]]
        for j, t in enumerate(terms):
            s = pd_m[pd_m["term"] == t]
            if len(s):
                v = s["value"].to_numpy()
                span = (v - v.min()) / (np.ptp(v) or 1.0)
                axes[1].plot(span, s["prediction"], color=PALETTE[j % len(PALETTE)], label=t)
        axes[1].set_xlabel(text("models.label.input_rescaled", lang))
        axes[1].set_ylabel(text("models.label.partial_dependence", lang, y=self.y))
        axes[1].legend(fontsize="small")
        fig.suptitle(
            f"{text('models.label.drivers', lang)} — {EXPLORATORY_ZH}"
            + ("" if lang == "zh" else f" ({EXPLORATORY_EN})")
        )
        return fig


def drivers(
    data: pd.DataFrame,
    *,
    y: str,
    x: list[str],
    unit: str,
    models: tuple[Literal["linear", "boosting"], ...] = MODELS,
    n_splits: int = 5,
    n_repeats: int = 5,
    grid_resolution: int = 20,
    seed: int = 0,
    n_threads: int | None = 1,
    lang: object = None,
) -> DriversResults:
    """Predict ``y`` from inputs ``x`` with each of ``models`` (exploratory, not causal).

    Parameters
    ----------
    data : pandas.DataFrame
    y : str
        Outcome.
    x : list of str
        Inputs.
    unit : str
        Folds are grouped by this column.
    models : tuple of {"linear", "boosting"}
    n_splits : int
        Unit-grouped folds.
    n_repeats : int
        Shuffles per column for permutation importance.
    grid_resolution : int
        Points of the partial-dependence grid.
    seed : int
        Seeds every random step.
    n_threads : int or None
        OpenMP/BLAS threads (default 1: consortium panels are small and gradient boosting's
        thread pool is many times slower than one thread on a busy machine; None = all).
    lang : optional
        Deprecated and ignored.

    Returns
    -------
    DriversResults
    """
    from threadpoolctl import threadpool_limits

    deprecated_lang(lang, "drivers")
    # threadpoolctl limits only the OpenMP/BLAS libraries already loaded: load scikit-learn's
    # compiled modules first, or the first call's boosting runs unlimited (~10× slower when busy)
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    with threadpool_limits(limits=n_threads):
        return _drivers(
            data,
            y=y,
            x=x,
            unit=unit,
            models=models,
            n_splits=n_splits,
            n_repeats=n_repeats,
            grid_resolution=grid_resolution,
            seed=seed,
        )


def _drivers(
    data: pd.DataFrame,
    *,
    y: str,
    x: list[str] | str,
    unit: str,
    models: tuple[str, ...],
    n_splits: int,
    n_repeats: int,
    grid_resolution: int,
    seed: int,
) -> DriversResults:
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.model_selection import GroupKFold

    x = [x] if isinstance(x, str) else list(x)
    for m in models:
        check_choice("models", m, MODELS)
    ck.require_columns(data, [y, *x, unit])
    ck.numeric(data, [y, *x], "outcome/input")
    df = data[[y, *x, unit]].dropna()
    notes: list[Message] = []
    if len(df) < len(data):
        notes.append(msg("models.rows_dropped", n=len(data) - len(df)))
    ck.not_constant(df, x)
    groups = df[unit].to_numpy()
    n_units = len(pd.unique(groups))
    if n_units < n_splits:
        raise ModelInputError(
            f"Only {n_units} units: grouped cross-validation needs at least n_splits={n_splits}. Lower n_splits."
        )
    X, Y = df[x].astype(float), df[y].astype(float).to_numpy()
    scores, imps, pds = [], [], []
    for name in models:
        for fold, (tr, te) in enumerate(GroupKFold(n_splits=n_splits).split(X, Y, groups)):
            est = _pipeline(name, seed).fit(X.iloc[tr], Y[tr])
            pred = est.predict(X.iloc[te])
            scores.append(
                {
                    "model": name,
                    "fold": fold,
                    "r2": r2_score(Y[te], pred),
                    "rmse": float(np.sqrt(mean_squared_error(Y[te], pred))),
                }
            )
            mean_drop = permutation_importance(est, X.iloc[te], Y[te], n_repeats=n_repeats, seed=seed)
            imps += [{"model": name, "fold": fold, "term": t, "importance": v} for t, v in zip(x, mean_drop)]
        full = _pipeline(name, seed).fit(X, Y)
        for j, t in enumerate(x):
            grid, average = partial_dependence(full, X, j, grid_resolution=grid_resolution)
            pds += [{"model": name, "term": t, "value": v, "prediction": p} for v, p in zip(grid, average)]
    imp = pd.DataFrame(imps).groupby(["model", "term"], sort=False)["importance"].agg(["mean", "std", "count"])
    imp = imp.reset_index().rename(columns={"mean": "importance"})
    imp["se"] = imp["std"] / np.sqrt(imp["count"])
    return DriversResults(
        scores=pd.DataFrame(scores),
        importance=imp[["model", "term", "importance", "se"]],
        partial_dependence=pd.DataFrame(pds),
        y=y,
        n=len(df),
        warnings=notes,
    )


def permutation_importance(est: Any, X: pd.DataFrame, y: np.ndarray, *, n_repeats: int, seed: int) -> np.ndarray:
    """Mean drop in R² when each column of ``X`` is shuffled: scikit-learn's
    ``permutation_importance(est, X, y, n_repeats=, random_state=seed, scoring="r2")
    .importances_mean``, with the shuffled copies stacked into few ``predict`` calls.

    The shuffles are scikit-learn's: a seed drawn from ``RandomState(seed)``, and for each column a
    fresh ``RandomState`` of that seed shuffling the row order ``n_repeats`` times, each shuffle
    applied to the column as the previous one left it.

    Parameters
    ----------
    est : fitted estimator
    X : pandas.DataFrame
        Held-out inputs.
    y : numpy.ndarray
        Held-out outcome.
    n_repeats : int
        Shuffles per column.
    seed : int

    Returns
    -------
    numpy.ndarray
        One mean importance per column of ``X``.
    """
    from sklearn.metrics import r2_score

    values = X.to_numpy(copy=True)
    n, k = values.shape
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    copies = []
    for j in range(k):
        stream = np.random.RandomState(column_seed)
        shuffled, order = values.copy(), np.arange(n)
        for _ in range(n_repeats):
            stream.shuffle(order)
            shuffled[:, j] = shuffled[order, j]
            copies.append(shuffled.copy())
    baseline, *shuffles = (r2_score(y, pred) for pred in _predict_stacked(est, [values, *copies], X.columns))
    return np.mean(baseline - np.reshape(shuffles, (k, n_repeats)), axis=1)


def partial_dependence(est: Any, X: pd.DataFrame, j: int, *, grid_resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Average prediction with column ``j`` of ``X`` set to each grid value: scikit-learn's
    ``partial_dependence(est, X, [j], grid_resolution=, kind="average")`` by its brute method
    (as scikit-learn computes it for a pipeline), with the copies stacked into few ``predict`` calls.

    The grid is scikit-learn's: the column's unique values when fewer than ``grid_resolution``,
    else ``grid_resolution`` points evenly spaced between its 5 % and 95 % ``mquantiles``.

    Parameters
    ----------
    est : fitted estimator
    X : pandas.DataFrame
    j : int
        Column position.
    grid_resolution : int

    Returns
    -------
    grid, average : numpy.ndarray
    """
    from scipy.stats.mstats import mquantiles

    values = X.to_numpy(copy=True)
    column = values[:, j]
    grid = np.unique(column)
    if grid.shape[0] >= grid_resolution:
        low, high = mquantiles(column, prob=(0.05, 0.95), axis=0)
        if np.allclose(low, high):
            raise ModelInputError(
                f"{X.columns[j]}: its 5 % and 95 % percentiles are equal, so it has no partial-dependence grid."
            )
        grid = np.linspace(low, high, num=grid_resolution, endpoint=True)
    copies = []
    for value in grid:
        copy = values.copy()
        copy[:, j] = value
        copies.append(copy)
    average = np.array([np.average(pred, axis=0) for pred in _predict_stacked(est, copies, X.columns)])
    return grid, average


STACKED_ROWS = 1_000_000  # rows predicted in one call: a large input is not copied whole many times


def _predict_stacked(est: Any, blocks: list[np.ndarray], columns: pd.Index) -> list[np.ndarray]:
    """``est.predict`` of each block, as few calls as blocks fit in ``STACKED_ROWS`` rows (a
    prediction of a row does not depend on the rows beside it)."""
    out: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    for i, block in enumerate(blocks):
        batch.append(block)
        if i + 1 == len(blocks) or sum(map(len, batch)) + len(blocks[i + 1]) > STACKED_ROWS:
            pred = np.asarray(est.predict(pd.DataFrame(np.vstack(batch), columns=columns)))
            out += np.split(pred, np.cumsum([len(b) for b in batch])[:-1])
            batch = []
    return out

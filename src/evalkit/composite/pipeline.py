"""The COINr / OECD-JRC composite-indicator pipeline over an indicator → group → index hierarchy.

Steps, in order (each recorded as ``(step, params)`` in ``PipelineResult.steps``):
denomination → imputation → outlier treatment → normalisation → weighting → aggregation
(indicators → groups → index). A ``Pipeline`` only stores choices; ``run(X)`` validates and computes;
``Pipeline.with_(...)`` or ``PipelineResult.rerun(...)`` re-runs with any choice changed.

References: OECD/JRC (2008), Handbook on Constructing Composite Indicators; Becker et al. (2022),
COINr: an R package for developing composite indicators, JOSS 7(78):4567 (defaults for the
outlier rule: |skew| > 2 and kurtosis > 3.5, at most 5 winsorised points, else a log transform).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, Mapping

import numpy as np
import pandas as pd

from evalkit.composite.methods import (
    AGGREGATIONS,
    NORMALISATIONS,
    RI_TABLES,
    _Summary,
    aggregate_array,
    ahp,
    as_frame,
    check_choice,
    critic_weights,
    entropy_weights,
    normalise,
    pca_weights,
)
from evalkit.errors import ModelInputError

IMPUTATIONS = ("none", "mean", "median", "group_mean", "knn")
OUTLIER_RULES = ("none", "coinr")
WEIGHTINGS = ("equal", "expert", "ahp", "entropy", "entropy_minmax", "pca", "critic")


# ----------------------------------------------------------------------------- imputation
def impute(
    X: pd.DataFrame,
    method: Literal["none", "mean", "median", "group_mean", "knn"] = "mean",
    *,
    unit_groups=None,
    knn_neighbours: int = 5,
) -> pd.DataFrame:
    """Fill missing indicator values: ``"none"`` (leave them; later steps refuse NaN), ``"mean"`` /
    ``"median"`` of the indicator over units, ``"group_mean"`` mean of the indicator within the
    unit's group (``unit_groups``: a Series/mapping unit → group), ``"knn"`` scikit-learn's
    KNNImputer on z-scored indicators (``knn_neighbours`` neighbours, uniform weights)."""
    check_choice("imputation", method, IMPUTATIONS)
    df = X.astype(float)
    if method == "none" or not df.isna().any().any():
        return df
    if method in ("mean", "median"):
        fill = df.mean() if method == "mean" else df.median()
        if fill.isna().any():
            raise ModelInputError(f"indicators {list(fill.index[fill.isna()])} have no observed value.")
        return df.fillna(fill)
    if method == "group_mean":
        if unit_groups is None:
            raise ModelInputError("imputation 'group_mean' needs unit_groups (unit → group).")
        groups = pd.Series(unit_groups).reindex(df.index)
        if groups.isna().any():
            raise ModelInputError(f"unit_groups has no group for units {list(df.index[groups.isna()])}.")
        out = df.fillna(df.groupby(groups.to_numpy()).transform("mean"))
        if out.isna().any().any():
            raise ModelInputError("a unit group has no observed value for an indicator; use 'mean'.")
        return out
    from sklearn.impute import KNNImputer

    mu, sd = df.mean(), df.std().replace(0, 1.0)
    filled = KNNImputer(n_neighbors=knn_neighbours).fit_transform(((df - mu) / sd).to_numpy())
    return pd.DataFrame(filled, index=df.index, columns=df.columns) * sd + mu


# ----------------------------------------------------------------------------- outliers
def _log_ct(x: np.ndarray, skew: float) -> np.ndarray:
    """COINr's 'log_CT': ln(x - min + 0.01·range) for positive skew; mirrored for negative skew,
    -ln(max - x + 0.01·range), so the order of units is kept (our extension)."""
    rng = np.nanmax(x) - np.nanmin(x)
    if skew >= 0:
        return np.log(x - np.nanmin(x) + 0.01 * rng)
    return -np.log(np.nanmax(x) - x + 0.01 * rng)


def treat_outliers(
    X: pd.DataFrame, *, skew_threshold: float = 2.0, kurtosis_threshold: float = 3.5, winmax: int = 5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """COINr's default outlier treatment, per indicator.

    An indicator is treated when |skew| > ``skew_threshold`` AND kurtosis > ``kurtosis_threshold``
    (pandas' bias-corrected sample skewness and excess kurtosis). Treatment: winsorise one point at
    a time (the highest value set to the next highest when skew > 0, the lowest to the next lowest
    when skew < 0) until the rule no longer holds, up to ``winmax`` points; if the rule still holds
    after ``winmax`` points, the winsorisation is undone and the log transform ``log_CT`` is applied
    instead. Returns the treated data and a log (one row per indicator).
    """
    out = X.astype(float).copy()
    rows = []
    for col in X.columns:
        x = X[col].to_numpy(dtype=float)
        s0, k0 = pd.Series(x).skew(), pd.Series(x).kurt()
        flagged = abs(s0) > skew_threshold and k0 > kurtosis_threshold
        treatment, n_win, xt = "none", 0, x.copy()
        if flagged:
            s, k = s0, k0
            while n_win < winmax and abs(s) > skew_threshold and k > kurtosis_threshold:
                obs = xt[np.isfinite(xt)]
                uniq = np.unique(obs)
                if uniq.size < 2:
                    break
                if s > 0:
                    xt[np.flatnonzero(xt == uniq[-1])[0]] = uniq[-2]
                else:
                    xt[np.flatnonzero(xt == uniq[0])[0]] = uniq[1]
                n_win += 1
                s, k = pd.Series(xt).skew(), pd.Series(xt).kurt()
            if abs(s) > skew_threshold and k > kurtosis_threshold:
                xt, treatment, n_win = _log_ct(x, s0), "log_CT", 0
            else:
                treatment = "winsorised"
            out[col] = xt
        rows.append(
            {
                "indicator": col,
                "skew": s0,
                "kurtosis": k0,
                "treatment": treatment,
                "n_winsorised": n_win,
                "skew_after": pd.Series(xt).skew(),
                "kurtosis_after": pd.Series(xt).kurt(),
            }
        )
    return out, pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the pipeline
@dataclass(frozen=True)
class Pipeline:
    """Choices for a composite index over a hierarchy; ``run(X)`` computes it.

    groups: indicator → group (level 2). directions: indicator → +1/-1 (default +1).
    group_weights: group → weight for the index (default equal; or the AHP matrix "index").
    denominators: indicator → column of ``denominator_data`` (per-capita denomination, the value is
    divided by the denominator and multiplied by ``denominator_scale``, e.g. 1000).
    imputation: see ``impute``. outliers: ``"coinr"`` (see ``treat_outliers``) or ``"none"``.
    normalisation: see ``evalkit.composite.normalise`` (``bounds`` for minmax, default 0..100 as in
    COINr; ``mean_sd`` for zscore; ``targets`` for target).
    weighting (within each group): ``"equal"``; ``"expert"`` (``expert_weights``: indicator →
    weight); ``"ahp"`` (``ahp_matrices``: group → pairwise matrix over its indicators, DataFrame
    with indicator labels, and optionally "index" → matrix over groups; RI table ``ahp_ri``);
    ``"entropy"`` (classic form) and ``"entropy_minmax"`` (Chinese form with ``entropy_shift``);
    ``"pca"``; ``"critic"``. Data-driven weights are computed on the treated, un-normalised data.
    aggregation: ``"arithmetic"``, ``"geometric"`` or ``"harmonic"`` at both levels.
    """

    groups: Mapping[str, str]
    directions: Mapping[str, int] | None = None
    group_weights: Mapping[str, float] | None = None
    denominators: Mapping[str, str] | None = None
    denominator_scale: float = 1.0
    imputation: str = "none"
    unit_groups: Mapping | None = None
    knn_neighbours: int = 5
    outliers: str = "coinr"
    skew_threshold: float = 2.0
    kurtosis_threshold: float = 3.5
    winmax: int = 5
    normalisation: str = "minmax"
    bounds: tuple[float, float] = (0.0, 100.0)
    mean_sd: tuple[float, float] = (0.0, 1.0)
    targets: Mapping[str, float] | None = None
    weighting: str = "equal"
    expert_weights: Mapping[str, float] | None = None
    ahp_matrices: Mapping[str, object] | None = None
    ahp_ri: str = "saaty"
    entropy_shift: float = 1e-4
    aggregation: str = "arithmetic"

    def __post_init__(self):
        check_choice("imputation", self.imputation, IMPUTATIONS)
        check_choice("outliers", self.outliers, OUTLIER_RULES)
        check_choice("normalisation", self.normalisation, NORMALISATIONS)
        check_choice("weighting", self.weighting, WEIGHTINGS)
        check_choice("aggregation", self.aggregation, AGGREGATIONS)
        check_choice("ahp_ri", self.ahp_ri, tuple(RI_TABLES))
        if not self.groups:
            raise ModelInputError("groups is empty: map every indicator to a group.")

    @property
    def indicators(self) -> list[str]:
        return list(self.groups)

    @property
    def group_names(self) -> list[str]:
        return list(dict.fromkeys(self.groups.values()))

    def with_(self, **changes) -> "Pipeline":
        """A copy with some choices changed (``pipe.with_(weighting="entropy")``)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(
                f"unknown pipeline settings {sorted(unknown)}; known: "
                + ", ".join(f.name for f in dataclasses.fields(self))
            )
        return dataclasses.replace(self, **changes)

    def spec(self) -> dict:
        """The choices as a plain dict (``Pipeline(**pipe.spec())`` rebuilds it)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    # -- steps shared with the uncertainty analysis
    def prepare(self, X, denominator_data=None) -> tuple[pd.DataFrame, pd.DataFrame, list]:
        """Denomination, imputation and outlier treatment: (treated data, outlier log, steps)."""
        df = as_frame(X, allow_nan=True)
        missing = [c for c in self.indicators if c not in df.columns]
        if missing:
            raise ModelInputError(f"X has no column for indicators {missing} named in groups.")
        df = df[self.indicators]
        steps: list[tuple[str, dict]] = []
        if self.denominators:
            if denominator_data is None:
                raise ModelInputError("denominators are set but denominator_data was not given.")
            den = pd.DataFrame(denominator_data).reindex(df.index)
            for ind, col in self.denominators.items():
                if col not in den.columns:
                    raise ModelInputError(f"denominator column {col!r} (for {ind!r}) is not in denominator_data.")
                d = den[col].astype(float)
                if (d <= 0).any():
                    raise ModelInputError(
                        f"denominator {col!r} has zero or negative values for units {list(d.index[d <= 0])}."
                    )
                df[ind] = df[ind] / d * self.denominator_scale
            steps.append(("denomination", {"denominators": dict(self.denominators), "scale": self.denominator_scale}))
        df = impute(df, self.imputation, unit_groups=self.unit_groups, knn_neighbours=self.knn_neighbours)
        steps.append(("imputation", {"method": self.imputation}))
        if df.isna().any().any():
            raise ModelInputError(
                "X has missing values and imputation='none': choose an imputation "
                f"({', '.join(IMPUTATIONS[1:])}) or drop those units."
            )
        if self.outliers == "coinr":
            df, log = treat_outliers(
                df, skew_threshold=self.skew_threshold, kurtosis_threshold=self.kurtosis_threshold, winmax=self.winmax
            )
        else:
            log = pd.DataFrame({"indicator": df.columns, "treatment": "none"})
        steps.append(
            (
                "outliers",
                {
                    "rule": self.outliers,
                    "skew_threshold": self.skew_threshold,
                    "kurtosis_threshold": self.kurtosis_threshold,
                    "winmax": self.winmax,
                    "treated": log.loc[log["treatment"] != "none", "indicator"].tolist(),
                },
            )
        )
        return df, log, steps

    def normalised(self, treated: pd.DataFrame, method: str | None = None, **overrides) -> pd.DataFrame:
        params = {"bounds": self.bounds, "mean_sd": self.mean_sd, "targets": self.targets, **overrides}
        dirs = self.directions or {}
        return normalise(
            treated, method or self.normalisation, directions={c: dirs.get(c, 1) for c in treated.columns}, **params
        )

    def indicator_weights(
        self, treated: pd.DataFrame, weighting: str | None = None, shift: float | None = None
    ) -> tuple[pd.Series, dict]:
        """Within-group indicator weights (each group's weights sum to 1) and details (AHP CRs)."""
        method = weighting or self.weighting
        check_choice("weighting", method, WEIGHTINGS)
        shift = self.entropy_shift if shift is None else shift
        out, details = {}, {}
        dirs = self.directions or {}
        for g in self.group_names:
            cols = [c for c in self.indicators if self.groups[c] == g]
            sub = treated[cols]
            if len(cols) == 1 or method == "equal":
                w = pd.Series(1.0 / len(cols), index=cols)
            elif method == "expert":
                if not self.expert_weights or any(c not in self.expert_weights for c in cols):
                    raise ModelInputError(
                        f"weighting 'expert' needs expert_weights for every indicator of group {g!r}."
                    )
                w = pd.Series({c: float(self.expert_weights[c]) for c in cols})
                w = w / w.sum()
            elif method == "ahp":
                if not self.ahp_matrices or g not in self.ahp_matrices:
                    raise ModelInputError(f"weighting 'ahp' needs ahp_matrices[{g!r}] over {cols}.")
                res = ahp(self.ahp_matrices[g], ri=self.ahp_ri)
                if set(map(str, res.weights.index)) == set(cols):
                    w = res.weights.rename(index=str).reindex(cols)
                elif len(res.weights) == len(cols):
                    w = pd.Series(res.weights.to_numpy(), index=cols)
                else:
                    raise ModelInputError(
                        f"ahp_matrices[{g!r}] has {len(res.weights)} rows for {len(cols)} indicators."
                    )
                details[g] = {"cr": res.cr, "consistent": res.consistent}
            elif method == "entropy":
                w = entropy_weights(sub, form="classic")
            elif method == "entropy_minmax":
                w = entropy_weights(sub, directions={c: dirs.get(c, 1) for c in cols}, form="minmax", shift=shift)
            elif method == "pca":
                w = pca_weights(sub)
            else:
                w = critic_weights(sub, directions={c: dirs.get(c, 1) for c in cols})
            out.update(w.to_dict())
        return pd.Series(out, name="weight").reindex(self.indicators), details

    def group_weight_series(self) -> pd.Series:
        gs = self.group_names
        if self.group_weights is not None:
            w = (
                pd.Series({g: float(self.group_weights[g]) for g in gs})
                if all(g in self.group_weights for g in gs)
                else None
            )
            if w is None:
                raise ModelInputError(f"group_weights needs a weight for every group {gs}.")
        elif self.weighting == "ahp" and self.ahp_matrices and "index" in self.ahp_matrices:
            res = ahp(self.ahp_matrices["index"], ri=self.ahp_ri)
            w = pd.Series(res.weights.to_numpy(), index=gs)
        else:
            w = pd.Series(1.0, index=gs)
        if (w < 0).any() or w.sum() <= 0:
            raise ModelInputError("group weights must be non-negative and not all zero.")
        return w / w.sum()

    def membership(self) -> np.ndarray:
        """(indicators × groups) 0/1 matrix."""
        gs = self.group_names
        return np.array([[1.0 if self.groups[c] == g else 0.0 for g in gs] for c in self.indicators])

    def run(self, X, denominator_data=None) -> "PipelineResult":
        """Compute the index; rows of ``X`` are units, columns indicators (as named in ``groups``)."""
        treated, log, steps = self.prepare(X, denominator_data)
        norm = self.normalised(treated)
        steps.append(
            (
                "normalisation",
                {
                    "method": self.normalisation,
                    "bounds": self.bounds,
                    "mean_sd": self.mean_sd,
                    "directions": dict(self.directions or {}),
                },
            )
        )
        w, details = self.indicator_weights(treated)
        gw = self.group_weight_series()
        steps.append(
            (
                "weighting",
                {"method": self.weighting, "entropy_shift": self.entropy_shift, "ahp_ri": self.ahp_ri, "ahp": details},
            )
        )
        scores = compute_scores(norm.to_numpy(), w.to_numpy(), self.membership(), gw.to_numpy(), self.aggregation)
        steps.append(("aggregation", {"method": self.aggregation, "levels": ["indicator", "group", "index"]}))
        table = pd.DataFrame(scores, index=norm.index, columns=[*self.group_names, "index"])
        return PipelineResult(self, table, norm, w, gw, log, steps, X, denominator_data)


def compute_scores(norm: np.ndarray, w: np.ndarray, member: np.ndarray, gw: np.ndarray, method: str) -> np.ndarray:
    """Group scores and the index, level by level: returns (units × (groups + 1)).
    ``w`` sums to 1 within each group (columns of ``member``); ``gw`` sums to 1."""
    W = member * w[:, None]  # indicators × groups
    if method == "arithmetic":
        G = norm @ W
    elif method == "geometric":
        if np.any(norm <= 0):
            aggregate_array(norm, w, method)  # raises the clear error
        G = np.exp(np.log(norm) @ W)
    else:
        if np.any(norm <= 0):
            aggregate_array(norm, w, method)
        G = 1.0 / ((1.0 / norm) @ W)
    index = aggregate_array(G, gw, method)
    return np.column_stack([G, index])


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = highest score; ties share the best rank ("min")."""
    from scipy.stats import rankdata

    return rankdata(-scores, method="min", axis=-1)


@dataclass
class PipelineResult:
    """Scores (groups and ``index``), ranks, normalised data, weights and the recorded steps."""

    pipeline: Pipeline
    scores: pd.DataFrame
    normalised: pd.DataFrame
    weights: pd.Series
    group_weights: pd.Series
    outliers: pd.DataFrame
    steps: list
    data: object = field(repr=False)
    denominator_data: object = field(default=None, repr=False)

    @property
    def index(self) -> pd.Series:
        return self.scores["index"]

    @property
    def ranks(self) -> pd.DataFrame:
        return pd.DataFrame(rank_desc(self.scores.to_numpy().T).T, index=self.scores.index, columns=self.scores.columns)

    def rerun(self, **changes) -> "PipelineResult":
        """Run again on the same data with some choices changed, e.g. ``rerun(weighting="entropy")``."""
        return self.pipeline.with_(**changes).run(self.data, self.denominator_data)

    def tidy(self) -> pd.DataFrame:
        """One row per unit × level (each group, then the index): score and rank."""
        s = self.scores.rename_axis("unit").reset_index().melt(id_vars="unit", var_name="level", value_name="score")
        r = self.ranks.rename_axis("unit").reset_index().melt(id_vars="unit", var_name="level", value_name="rank")
        return s.merge(r, on=["unit", "level"])

    def weights_table(self) -> pd.DataFrame:
        g = pd.Series(self.pipeline.groups).reindex(self.weights.index)
        eff = self.weights * g.map(self.group_weights)
        return (
            pd.DataFrame(
                {"group": g, "weight": self.weights, "group_weight": g.map(self.group_weights), "effective_weight": eff}
            )
            .rename_axis("indicator")
            .reset_index()
        )

    def summary(self) -> _Summary:
        table = self.scores.assign(rank=self.ranks["index"]).sort_values("rank")
        steps = pd.DataFrame([{"step": s, "params": p} for s, p in self.steps])
        return _Summary("Composite index (COINr / OECD-JRC pipeline)", [table, self.weights_table(), steps])

    def plot(self, *, kind: Literal["bars", "radar"] = "bars", top: int = 5, lang="zh"):
        """``"bars"``: index scores, best at the top; ``"radar"``: group scores of the ``top`` units."""
        from evalkit.composite.methods import bar_plot, radar_plot
        from evalkit.plotting import label

        check_choice("kind", kind, ("bars", "radar"))
        if kind == "bars":
            return bar_plot(
                self.index, title=label("综合指数", "Composite index", lang), xlabel=label("得分", "score", lang)
            )
        best = self.ranks["index"].sort_values().index[:top]
        return radar_plot(
            self.scores.loc[best, self.pipeline.group_names], title=label("分维度得分", "Group scores", lang), lang=lang
        )

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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from evalkit.composite.methods import AGGREGATIONS, NORMALISATIONS, Normalisation, aggregate_array, as_frame, normalise
from evalkit.composite.treatment import IMPUTATIONS, Imputation, impute, treat_outliers
from evalkit.composite.weights import RI_TABLES, RITable, ahp, critic_weights, entropy_weights, pca_weights
from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, label
from evalkit.models.results import TIDY_COLUMNS, BaseResults, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OUTLIER_RULES = ("none", "coinr")
WEIGHTINGS = ("equal", "expert", "ahp", "entropy", "entropy_minmax", "pca", "critic")


# ----------------------------------------------------------------------------- the pipeline
@dataclass(frozen=True)
class Pipeline:
    """Choices for a composite index over a hierarchy; ``run(X)`` computes it (a
    :class:`PipelineResult`). Data-driven weights are computed on the treated, un-normalised data.

    Parameters
    ----------
    groups : mapping
        Indicator → group (level 2).
    directions : mapping, optional
        Indicator → +1/-1 (default +1).
    group_weights : mapping, optional
        Group → weight for the index (default equal; or the AHP matrix ``"index"``).
    denominators : mapping, optional
        Indicator → column of ``denominator_data`` (per-capita denomination: the value is divided
        by the denominator and multiplied by ``denominator_scale``, e.g. 1000).
    denominator_scale : float, default 1.0
    imputation : str, default "none"
        See :func:`impute`; ``unit_groups`` and ``knn_neighbours`` as there.
    unit_groups : mapping, optional
    knn_neighbours : int, default 5
    outliers : {"coinr", "none"}, default "coinr"
        See :func:`treat_outliers`, with ``skew_threshold``, ``kurtosis_threshold``, ``winmax``.
    skew_threshold : float, default 2.0
    kurtosis_threshold : float, default 3.5
    winmax : int, default 5
    normalisation : str, default "minmax"
        See :func:`~evalkit.composite.normalise` (``bounds`` for minmax, default 0..100 as in
        COINr; ``mean_sd`` for zscore; ``targets`` for target).
    bounds : tuple of float, default (0, 100)
    mean_sd : tuple of float, default (0, 1)
    targets : mapping, optional
    weighting : str, default "equal"
        Within each group: ``"equal"``; ``"expert"`` (``expert_weights``: indicator → weight);
        ``"ahp"`` (``ahp_matrices``: group → pairwise matrix over its indicators, DataFrame with
        indicator labels, and optionally ``"index"`` → matrix over groups; RI table ``ahp_ri``);
        ``"entropy"`` (classic form) and ``"entropy_minmax"`` (Chinese form with
        ``entropy_shift``); ``"pca"``; ``"critic"``.
    expert_weights : mapping, optional
    ahp_matrices : mapping, optional
    ahp_ri : {"saaty", "cn"}, default "saaty"
    entropy_shift : float, default 1e-4
    aggregation : {"arithmetic", "geometric", "harmonic"}, default "arithmetic"
        At both levels.

    Returns
    -------
    Pipeline
        A frozen set of choices (``with_(**changes)`` returns a changed copy).
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
        df = impute(
            df, cast(Imputation, self.imputation), unit_groups=self.unit_groups, knn_neighbours=self.knn_neighbours
        )
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

    def normalised(self, treated: pd.DataFrame, method: str | None = None, **overrides: Any) -> pd.DataFrame:
        """The normalisation step on treated data.

        Parameters
        ----------
        treated : pandas.DataFrame
            Output of :meth:`prepare`.
        method : str, optional
            Overrides ``normalisation``.
        **overrides
            Overrides ``bounds``, ``mean_sd`` or ``targets``.

        Returns
        -------
        pandas.DataFrame
        """
        params = {"bounds": self.bounds, "mean_sd": self.mean_sd, "targets": self.targets, **overrides}
        dirs = self.directions or {}
        chosen = cast(Normalisation, method or self.normalisation)
        return normalise(treated, chosen, directions={c: dirs.get(c, 1) for c in treated.columns}, **params)

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
                res = ahp(self.ahp_matrices[g], ri=cast(RITable, self.ahp_ri))
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
            res = ahp(self.ahp_matrices["index"], ri=cast(RITable, self.ahp_ri))
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
    """Ranks along the last axis, 1 = highest score; ties share the best rank ("min").

    ``scipy.stats.rankdata(-scores, method="min", axis=-1)`` to the value and dtype (int64; float64
    with a row of NaN wherever a row has a NaN), in numpy: importing scipy.stats costs a review
    kernel ~0.8 s."""
    neg = -np.asarray(scores, dtype=float)
    order = np.argsort(neg, axis=-1, kind="stable")
    ordered = np.take_along_axis(neg, order, axis=-1)
    position = np.broadcast_to(np.arange(neg.shape[-1]), neg.shape)
    new_value = np.ones(neg.shape, dtype=bool)
    new_value[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    first_of_tie = np.maximum.accumulate(np.where(new_value, position, 0), axis=-1)
    ranks = np.empty(neg.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, first_of_tie + 1, axis=-1)
    missing = np.isnan(neg).any(axis=-1)
    if missing.any():
        out = ranks.astype(float)
        out[missing] = np.nan
        return out
    return ranks


@dataclass(repr=False)
class PipelineResult(BaseResults):
    """The result of :meth:`Pipeline.run` (built by it, not by hand).

    Parameters
    ----------
    pipeline : Pipeline
        The choices that made it (``rerun(**changes)`` runs again with some changed).
    scores : pandas.DataFrame
        Units × (each group, then ``index``).
    normalised : pandas.DataFrame
        The normalised indicators.
    weights : pandas.Series
        Within-group indicator weights.
    group_weights : pandas.Series
        Group weights for the index.
    outliers : pandas.DataFrame
        The outlier-treatment log, one row per indicator.
    steps : list of (str, dict)
        The recorded steps and their parameters.
    data, denominator_data : object
        The inputs (for ``rerun``).
    warnings : list of evalkit.i18n.Message
    """

    pipeline: Pipeline
    scores: pd.DataFrame
    normalised: pd.DataFrame
    weights: pd.Series
    group_weights: pd.Series
    outliers: pd.DataFrame
    steps: list
    data: object = field(repr=False)
    denominator_data: object = field(default=None, repr=False)
    warnings: list[Message] = field(default_factory=list)

    @property
    def index(self) -> pd.Series:
        """The composite index score of each unit."""
        return self.scores["index"]

    @property
    def ranks(self) -> pd.DataFrame:
        """Ranks of ``scores`` per column (1 = best; ties share the best rank)."""
        return pd.DataFrame(rank_desc(self.scores.to_numpy().T).T, index=self.scores.index, columns=self.scores.columns)

    def rerun(self, **changes: Any) -> PipelineResult:
        """Run again on the same data with some choices changed.

        Parameters
        ----------
        **changes
            Pipeline settings, e.g. ``weighting="entropy"``.

        Returns
        -------
        PipelineResult
        """
        return self.pipeline.with_(**changes).run(self.data, self.denominator_data)

    def tidy(self) -> pd.DataFrame:
        """One row per unit × level (each group, then the index).

        Returns
        -------
        pandas.DataFrame
            term = ``"{level}:{unit}"``, estimate = the unit's score at that level; se, ci_low,
            ci_high, p NaN (a composite score is a construction, not an estimate with sampling
            error; see :func:`~evalkit.composite.uncertainty` for rank intervals over method
            choices); then unit, level, score, rank.
        """
        s = self.scores.rename_axis("unit").reset_index().melt(id_vars="unit", var_name="level", value_name="score")
        r = self.ranks.rename_axis("unit").reset_index().melt(id_vars="unit", var_name="level", value_name="rank")
        out = s.merge(r, on=["unit", "level"])
        out["term"] = out["level"].astype(str) + ":" + out["unit"].astype(str)
        out["estimate"] = out["score"]
        for c in ("se", "ci_low", "ci_high", "p"):
            out[c] = np.nan
        return out[TIDY_COLUMNS + ["unit", "level", "score", "rank"]]

    def weights_table(self) -> pd.DataFrame:
        """Indicator weights within groups, group weights and their product.

        Returns
        -------
        pandas.DataFrame
            Columns indicator, group, weight, group_weight, effective_weight.
        """
        g = pd.Series(self.pipeline.groups).reindex(self.weights.index)
        eff = self.weights * g.map(self.group_weights)
        return (
            pd.DataFrame(
                {"group": g, "weight": self.weights, "group_weight": g.map(self.group_weights), "effective_weight": eff}
            )
            .rename_axis("indicator")
            .reset_index()
        )

    def summary(self, lang: Lang = "zh") -> Summary:
        """Scores and ranks (best first), the weights and the recorded steps.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
            ``table``: scores with the index rank; ``extra``: the weights table and the steps.
        """
        table = self.scores.assign(rank=self.ranks["index"]).sort_values("rank").rename_axis("unit").reset_index()
        steps = pd.DataFrame([{"step": s, "params": str(p)} for s, p in self.steps])
        p = self.pipeline
        lines = (
            f"{label('单位数', 'units', lang)}: {len(self.scores)}; "
            f"{label('指标数', 'indicators', lang)}: {len(self.weights)}",
            f"{label('标准化', 'normalisation', lang)}: {p.normalisation}; {label('赋权', 'weighting', lang)}: "
            f"{p.weighting}; {label('加总', 'aggregation', lang)}: {p.aggregation}",
        )
        title = label("综合指数（COINr / OECD-JRC 流程）", "Composite index (COINr / OECD-JRC pipeline)", lang)
        return Summary(title, lines, table, tuple(self.warning_texts(lang)), (self.weights_table(), steps))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh", *, kind: Literal["bars", "radar"] = "bars", top: int = 5) -> Figure:
        """Index scores as bars (best at the top), or the group scores of the ``top`` units as a radar.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
        kind : {"bars", "radar"}
        top : int
            Units in the radar chart.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from evalkit.composite.methods import bar_plot, radar_plot

        check_choice("kind", kind, ("bars", "radar"))
        if kind == "bars":
            return bar_plot(
                self.index, title=label("综合指数", "Composite index", lang), xlabel=label("得分", "score", lang)
            )
        best = self.ranks["index"].sort_values().index[:top]
        return radar_plot(
            self.scores.loc[best, self.pipeline.group_names], title=label("分维度得分", "Group scores", lang), lang=lang
        )

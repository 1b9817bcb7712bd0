"""The estimating parts of a phase review, as functions of a :class:`PhaseAnalysis`.

Each function computes one part from the analysis's data and methods and raises
:class:`NotEstimable` when the data cannot support it; :class:`PhaseAnalysis` memoises them in
memory and in the on-disk result cache (``review/cache.py``) under keys naming exactly what each
part depends on.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalkit.data.periods import assign_windows, parse_period
from evalkit.errors import EvalkitError
from evalkit.review.phases import COOPERATIONS

if TYPE_CHECKING:
    from evalkit.review.analysis import PhaseAnalysis


class NotEstimable(EvalkitError):
    """A part of the review cannot be computed on this data (too few units, no comparison, …)."""


def composite_inputs(a: PhaseAnalysis) -> tuple[pd.DataFrame, pd.Series]:
    """College × indicator matrix (size-neutral indicators) for this window, with directions."""
    v = a.group_values("unit", a.phase.phase_id)
    colleges = set(a.units.loc[a.units["unit_type"] == "college", "unit_id"]) - set(other_level_colleges(a))
    ids = [
        i.id
        for i in a.registry
        if i.unit_type == "college"
        and i.role in ("input", "outcome")
        and i.level != "context"
        and i.aggregation == "ratio"
    ]
    X = v[v["group"].isin(colleges) & v["indicator"].isin(ids)].pivot_table(
        index="group", columns="indicator", values="value", aggfunc="first"
    )
    X = X[[c for c in ids if c in X.columns]].dropna(axis=1, how="any")
    X = X.loc[:, X.std(ddof=0) > 0]
    X.index.name = "unit_id"
    return X, pd.Series({c: a.registry.get(c).direction for c in X.columns}, dtype="int64")


def other_level_colleges(a: PhaseAnalysis) -> list[str]:
    """Secondary schools and technician colleges: compared with their own kind, so they stay out
    of the higher-vocational colleges' composite ranking (unit attribute ``college_level``; empty
    means higher vocational)."""
    u = a.units
    if "college_level" not in u.columns:
        return []
    level = u["college_level"].astype("string").fillna("higher_vocational")
    return sorted(u.loc[(u["unit_type"] == "college") & (level != "higher_vocational"), "unit_id"].astype(str))


def pipeline(a: PhaseAnalysis):
    """The COINr-style pipeline: indicator → cooperation (四个合作) → index."""
    from evalkit import composite as cp

    X, directions = composite_inputs(a)
    m = a.methods
    groups = {}
    for c in X.columns:
        gs = [g for g in a.registry.get(c).groups if g in COOPERATIONS] or list(a.registry.get(c).groups)
        groups[c] = (gs or ["other"])[0]
    extra: dict[str, Any] = {}
    if m.weighting == "expert":
        missing = [c for c in X.columns if c not in (m.expert_weights or {})]
        if missing:
            raise NotEstimable(
                "methods.expert_weights gives no weight to the index indicators "
                + ", ".join(missing)
                + ": add them to the params file"
            )
        extra["expert_weights"] = dict(m.expert_weights or {})
    if m.weighting == "ahp":
        present = [g for g in COOPERATIONS if g in set(groups.values())]
        idx = [COOPERATIONS.index(g) for g in present]
        matrix = [[m.ahp_matrix[i][j] for j in idx] for i in idx]  # type: ignore[index]
        # params compare the four cooperations; within each, indicators weigh equally (an
        # all-ones pairwise matrix: equal weights, CR 0)
        within = {
            g: pd.DataFrame(1.0, index=cols, columns=cols)
            for g in present
            for cols in [[c for c, gg in groups.items() if gg == g]]
        }
        extra["ahp_matrices"] = {**within, "index": matrix}
    return cp.Pipeline(
        groups=groups,
        directions=directions.to_dict(),
        normalisation=m.normalisation,
        weighting=m.pipeline_weighting,
        aggregation=m.aggregation,
        entropy_shift=m.entropy_shift,
        ahp_ri=m.ri_table,
        bounds=m.positive_scale["bounds"],
        mean_sd=m.positive_scale["mean_sd"],
        **extra,
    )


def composite(a: PhaseAnalysis) -> dict[str, Any]:
    """Index scores, weights, TOPSIS closeness, obstacle degrees and rank uncertainty."""
    from evalkit import composite as cp

    X, directions = composite_inputs(a)
    if len(X) < 3 or X.shape[1] < 2:
        raise NotEstimable(f"{len(X)} colleges × {X.shape[1]} indicators: too few for a composite index")
    m = a.methods
    pipe = a.pipeline
    result = pipe.run(X)
    wt = result.weights_table()
    weights = pd.Series(wt["effective_weight"].to_numpy(), index=wt["indicator"])
    return {
        "X": X,
        "result": result,
        "weights": weights,
        "scores": result.index,
        "topsis": cp.topsis(X, weights, directions=directions, normalisation=m.topsis_normalisation),
        "obstacles": cp.obstacle_degree(X, weights, directions=directions),
        "uncertainty": cp.uncertainty(X, pipe, n=m.uncertainty_runs, seed=m.seed),
        "reliability": reliability(result.normalised, pipe.groups),
    }


def reliability(normalised: pd.DataFrame, groups: Any) -> pd.DataFrame:
    """Statistical coherence of each index group (COINr's step): Cronbach's α of the group's
    normalised indicators (direction already applied by the normalisation) and the weakest
    item–rest correlation; groups of one indicator have no α."""
    from evalkit.composite import cronbach_alpha, item_rest_correlations

    rows = []
    for group in dict.fromkeys(groups.values()):
        cols = [c for c, g in groups.items() if g == group and c in normalised.columns]
        if len(cols) < 2:
            rows.append(
                {"group": group, "n_indicators": len(cols), "alpha": float("nan"), "min_item_rest": float("nan")}
            )
            continue
        block = normalised[cols]
        rows.append(
            {
                "group": group,
                "n_indicators": len(cols),
                "alpha": float(cronbach_alpha(block)),
                "min_item_rest": float(item_rest_correlations(block).min()),
            }
        )
    return pd.DataFrame(rows, columns=["group", "n_indicators", "alpha", "min_item_rest"])


def per_year(a: PhaseAnalysis) -> pd.DataFrame:
    """Members, each calendar year the data covers in full (flows per year, stocks at year end)."""
    years = sorted({y for p in a.dataset.all_periods for y in (p.start.year, p.end.year)})
    return a.consortium_values({str(y): (date(y, 1, 1), date(y, 12, 31)) for y in years})


def ccd(a: PhaseAnalysis) -> pd.DataFrame:
    """Education vs industry subsystem indices per year and their coupling coordination."""
    from evalkit import composite as cp

    cons = per_year(a)
    rows = {}
    for sub in ("education", "industry"):
        ids = [i.id for i in a.registry if i.subsystem == sub and i.role != "context" and i.level != "context"]
        M = (
            cons[cons["indicator"].isin(ids)]
            .pivot_table(index="window", columns="indicator", values="value", aggfunc="first")
            .dropna(axis=1, how="any")
        )
        M = M.loc[:, M.std(ddof=0) > 0]
        if M.shape[1] == 0 or len(M) < 2:
            raise NotEstimable(f"no usable {sub} subsystem indicators over at least two years")
        directions = pd.Series({c: a.registry.get(c).direction for c in M.columns})
        norm = 0.01 + 0.99 * cp.normalise(M, "minmax", directions=directions)  # floor keeps C defined
        w = cp.entropy_weights(M, directions=directions, form=a.methods.entropy_form, shift=a.methods.entropy_shift)
        rows[sub] = cp.aggregate(norm, w, method="arithmetic").clip(0.0, 1.0)
    U = pd.DataFrame(rows).dropna().sort_index()
    res = cp.coupling_coordination(U, form=a.methods.ccd_form)
    res = res.assign(U_education=U["education"], U_industry=U["industry"])
    res.index.name = "period"
    res = res.reset_index()
    years = [parse_period(y) for y in res["period"]]
    wins = {k: v for k, v in a.windows.items() if not (a.phase.kind == "final" and k == a.phase.phase_id)}
    wins["baseline"] = a.baseline
    mapping = assign_windows(years, wins)
    res["window"] = [mapping[y] for y in years]
    if "band_zh" not in res.columns:
        res["band_zh"] = res["band"]
    return res


def twfe(a: PhaseAnalysis, y: str):
    """Outcome ``y`` on the integration inputs, college and period fixed effects (annex)."""
    from evalkit.models import twfe

    inputs = [i for i in a.methods.twfe_inputs if i in a.college_wide.columns]
    if y not in a.college_wide.columns or not inputs:
        raise NotEstimable(f"{y}: the outcome or its inputs are not in the data")
    data = a.college_wide.dropna(subset=[y, *inputs])
    if data.empty:
        raise NotEstimable(f"{y}: no college-period reports the outcome and all its inputs")
    return twfe(data, y=y, x=inputs, unit="unit_id", time="t", vcov=a.methods.twfe_vcov("unit_id"), seed=a.methods.seed)


def did(a: PhaseAnalysis, y: str):
    """Callaway–Sant'Anna staggered DiD of membership on ``y`` (colleges)."""
    from evalkit.models import staggered_did

    def fit():
        data = a.did_panel(y)
        if not len(data):
            raise NotEstimable(f"{y}: no college is observed in every period; no balanced panel")
        if not (data["cohort"] > 0).any():
            raise NotEstimable(f"{y}: no college had joined by {a.as_of}")
        if not (data["cohort"] == 0).any():
            raise NotEstimable(f"{y}: no comparison college (every college is a member)")
        return staggered_did(
            data,
            y=y,
            unit="unit_id",
            time="time",
            cohort="cohort",
            control=a.methods.did_control,
            bootstrap=a.methods.bootstrap,
            seed=a.methods.seed,
        )

    return fit()


def did_estimator(a: PhaseAnalysis, y: str):
    """The CS simple ATT as a function of a panel (for randomization inference)."""
    from evalkit.models.did_batch import SimpleAtt

    # callable as staggered_did; its vectorised ``many`` serves every reassignment at once
    return SimpleAtt(y=y, unit="unit_id", time="time", cohort="cohort", control=a.methods.did_control)


def randomization(a: PhaseAnalysis, y: str):
    """Randomization inference for the CS simple ATT: which colleges joined, and when, permuted
    among all colleges of the panel (the multiset of cohorts kept); None when switched off."""
    from evalkit.models import randomization_inference

    if not a.methods.ri_reps:
        raise NotEstimable("randomization inference is switched off (methods.ri_reps: 0)")
    a.did(y)  # the same panel must be estimable first
    return randomization_inference(
        a.did_panel(y),
        estimator=did_estimator(a, y),
        unit="unit_id",
        cohort="cohort",
        reps=a.methods.ri_reps,
        seed=a.methods.seed,
    )


def leave_one_out(a: PhaseAnalysis, y: str):
    """The CS simple ATT with each member college left out in turn."""
    from evalkit.models import leave_one_out

    a.did(y)
    panel = a.did_panel(y)
    members = sorted(panel.loc[panel["cohort"] > 0, "unit_id"].unique())
    if len(members) < 2:
        raise NotEstimable("leave-one-out needs at least two member colleges")
    return leave_one_out(panel, estimator=did_estimator(a, y), unit="unit_id", treated_units=members)


def drivers_result(a: PhaseAnalysis):
    """Exploratory prediction of the first TWFE outcome from the inputs (annex; not causal)."""
    from evalkit.models import drivers

    outcomes, inputs = (
        a.methods.twfe_outcomes,
        [i for i in a.methods.twfe_inputs if i in a.college_wide.columns],
    )
    if not a.methods.drivers or not outcomes or not inputs or outcomes[0] not in a.college_wide.columns:
        raise NotEstimable("no outcome and inputs named for the exploratory drivers")
    data = a.college_wide.dropna(subset=[outcomes[0], *inputs])
    # one thread (drivers' default): parallel reviews must not oversubscribe the cores
    return drivers(data, y=outcomes[0], x=inputs, unit="unit_id", n_repeats=3, grid_resolution=10, seed=a.methods.seed)


def balanced_did_panel(wide: pd.DataFrame, y: str) -> pd.DataFrame:
    """A balanced panel for a staggered DiD of ``y``.

    Periods in which no unit reports ``y`` are dropped (graduate outcomes exist only in the
    graduation half-year), units not observed in every kept period are dropped, time is
    re-indexed 1..k and each cohort moves to the first kept period at or after joining (0 = never,
    or joined after the last period, as R ``did`` treats it).

    Parameters
    ----------
    wide : DataFrame
        Columns ``unit_id``, ``t`` (1-based period index), ``cohort_t`` (0 = never) and ``y``.
    y : str
        The outcome column.

    Returns
    -------
    DataFrame
        Columns ``unit_id, t, cohort_t, y, time, cohort``.
    """
    d = wide[["unit_id", "t", "cohort_t", y]].copy()
    observed = d.groupby("t")[y].apply(lambda s: s.notna().any())
    kept = sorted(observed[observed].index)
    d = d[d["t"].isin(kept)]
    complete = d.groupby("unit_id")[y].apply(lambda s: s.notna().all() and len(s) == len(kept))
    d = d[d["unit_id"].isin(complete[complete].index)]
    new_t = {t: i + 1 for i, t in enumerate(kept)}
    d["time"] = d["t"].map(new_t).astype(int)

    def first_kept(c: int) -> int:
        if not c or c <= 0:
            return 0
        later = [new_t[t] for t in kept if t >= c]
        return later[0] if later else 0

    d["cohort"] = d["cohort_t"].fillna(0).astype(int).map(first_kept).astype(int)
    return d.reset_index(drop=True)


def treated_units(a: PhaseAnalysis, y: str) -> list[str]:
    """The colleges of ``y``'s DiD panel that joined by the as-of date."""
    panel = a.did_panel(y)
    return sorted(panel.loc[panel["cohort"] > 0, "unit_id"].astype(str).unique())


def synthetic(a: PhaseAnalysis, y: str):
    """Synthetic DiD (Arkhangelsky et al. 2021) with placebo SEs on ``y``'s panel: the estimator
    for one treated unit, where clustered or cohort-based inference has nothing to work with."""
    from evalkit.models import synthetic_did

    panel = a.did_panel(y).copy()
    if not (panel["cohort"] == 0).any():
        raise NotEstimable(f"{y}: no comparison college for a synthetic DiD")
    panel["treated"] = ((panel["cohort"] > 0) & (panel["time"] >= panel["cohort"])).astype(int)
    return synthetic_did(
        panel,
        y=y,
        unit="unit_id",
        time="time",
        treated="treated",
        method="sdid",
        se="placebo",
        reps=max(a.methods.ri_reps, 50),
        seed=a.methods.seed,
    )


def sensitivity(a: PhaseAnalysis, y: str) -> dict[str, Any]:
    """Rambachan–Roth smoothness bounds (FLCI; M̄ = 0.5, 1, 2 times the largest pre-period change)
    and the linear pre-trend the pre-tests would detect with 50% / 80% power (Roth 2022)."""
    from evalkit.models import honest_did, pretrend_power

    if not a.methods.sensitivity:
        raise NotEstimable("sensitivity bounds are switched off (methods.sensitivity: false)")
    res = a.did(y)
    out: dict[str, Any] = {}
    try:
        out["bounds"] = honest_did(res, method="smoothness", Mbar=(0.5, 1.0, 2.0))
    except EvalkitError as exc:
        out["bounds"] = exc
    try:
        out["power"] = pretrend_power(res)
    except EvalkitError as exc:
        out["power"] = exc
    return out

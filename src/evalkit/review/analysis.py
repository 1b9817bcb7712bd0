"""Every number of a phase review, computed from a Phase and a Dataset — and nothing displayed.

``PhaseAnalysis`` is immutable: its inputs never change after construction, so its cached
results cannot go stale; a change of methods returns a new analysis (:meth:`with_methods`).
The dataset is cut at the review's as-of date before anything is computed
(:func:`evalkit.review.asof.cut`). A part that cannot be estimated on the data raises
:class:`NotEstimable`; the section renderers catch it and say so in the report.
"""

from __future__ import annotations

import dataclasses
import contextlib
import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data.dataset import Dataset
from evalkit.data.periods import Period, assign_windows
from evalkit.errors import EvalkitError
from evalkit.indicators.registry import Registry
from evalkit.review import estimates as est
from evalkit.review.asof import cut, load_full
from evalkit.review.cache import ResultCache, folder_fingerprint, prune_before_open
from evalkit.review.estimates import NotEstimable as NotEstimable  # re-exported: renderers catch it
from evalkit.review.estimates import balanced_did_panel as balanced_did_panel
from evalkit.review.methods import Methods
from evalkit.review.phases import Phase, Target

# the method settings each cached part reads (its cache key names exactly these)
COMPOSITE_SETTINGS = (
    "normalisation",
    "weighting",
    "entropy_form",
    "entropy_shift",
    "aggregation",
    "topsis_normalisation",
    "ri_table",
    "expert_weights",
    "ahp_matrix",
    "uncertainty_runs",
    "seed",
)
CCD_SETTINGS = ("entropy_form", "entropy_shift", "ccd_form")
COUNT_UNITS = {
    "persons",
    "person-times",
    "bases",
    "enterprises",
    "groups",
    "majors",
    "workshops",
    "courses",
    "textbooks",
    "teams",
}


@dataclass(frozen=True, eq=False)
class PhaseAnalysis:
    """The analysis behind one phase review.

    Parameters
    ----------
    phase : Phase
        The validated params (window, baseline, targets).
    dataset : Dataset
        The data **as known at the as-of date** (build with :meth:`build`, which cuts it).
    registry : Registry
        Indicator definitions.
    methods : Methods
        The method choices actually used (the phase's, or changed by :meth:`with_methods`).
    compared : dict
        For a final review: the compared phases (id → Phase).
    """

    phase: Phase
    dataset: Dataset
    registry: Registry
    methods: Methods
    compared: dict[str, Phase] = field(default_factory=dict)
    full_fingerprint: str = ""
    cache: ResultCache = field(default_factory=ResultCache.default, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        phase: Phase,
        dataset: Dataset,
        registry: Registry,
        *,
        methods: Methods | None = None,
        compared: dict[str, Phase] | None = None,
    ) -> PhaseAnalysis:
        """Cut ``dataset`` at the phase's as-of date and return the analysis."""
        return cls(
            phase,
            cut(dataset, phase.as_of),
            registry,
            methods or phase.methods,
            dict(compared or {}),
            dataset.fingerprint,
        )

    def with_methods(self, **changes: Any) -> PhaseAnalysis:
        """A new analysis with some method choices changed (validated); this one is unchanged."""
        return dataclasses.replace(self, methods=self.methods.replace(**changes))

    # ------------------------------------------------------------------ windows
    @property
    def as_of(self) -> date:
        return self.phase.as_of

    @functools.cached_property
    def baseline(self) -> tuple[date, date]:
        """The declared baseline, else the last full calendar year before the first unit joined."""
        if self.phase.baseline:
            return self.phase.baseline
        joined = pd.to_datetime(self.dataset.units["member_since"]).dropna()
        year = (joined.min().year if len(joined) else self.phase.start.year) - 1
        return date(year, 1, 1), date(year, 12, 31)

    @functools.cached_property
    def windows(self) -> dict[str, tuple[date, date]]:
        """This review's window and, for the final review, the compared phases' windows."""
        return {self.phase.phase_id: self.phase.window, **{k: ph.window for k, ph in self.compared.items()}}

    @functools.cached_property
    def period_windows(self) -> dict[str, str | None]:
        """Period label → window id (a phase or "baseline") by the overlap rule."""
        wins = {k: v for k, v in self.windows.items() if not (self.phase.kind == "final" and k == self.phase.phase_id)}
        wins["baseline"] = self.baseline
        return {p.label: w for p, w in assign_windows(self.dataset.all_periods, wins).items()}

    def window_title(self, window: str, lang: str) -> str:
        from evalkit.i18n import label

        if window == "baseline":
            return label("基线", "baseline", lang)  # type: ignore[arg-type]
        ph = self.phase if window == self.phase.phase_id else self.compared.get(window)
        if ph is None:
            return window
        return label(ph.title_zh.split("（")[0], ph.title_en.split(" (")[0], lang)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ tables
    @functools.cached_property
    def table(self) -> pd.DataFrame:
        from evalkit.indicators.metrics import compute

        return self._part("table", (), lambda: compute(self.dataset, self.registry))

    @property
    def units(self) -> pd.DataFrame:
        return self.dataset.units

    def unit_name(self, unit_id: str, lang: str = "zh") -> str:
        """A unit's display name; comparison units keep their names here (anonymising is the
        renderers' choice)."""
        row = self.units.loc[self.units["unit_id"] == unit_id]
        if not len(row):
            return unit_id
        zh, en = row["name_zh"].iloc[0], row["name_en"].iloc[0]
        en = en if isinstance(en, str) and en else zh
        return en if lang == "en" else zh

    @functools.cached_property
    def window_values(self) -> pd.DataFrame:
        """Indicators per group for the baseline and this phase (flows per year; members as known
        at the as-of date in both windows, so both describe the same units)."""
        from evalkit.indicators.metrics import aggregate

        windows = {"baseline": self.baseline, self.phase.phase_id: self.phase.window}
        by: Any = ["consortium", "membership", "alliance", "unit"]
        compute = lambda: aggregate(self.table, self.registry, by=by, windows=windows, units=self.units,  # noqa: E731
                                    members="ever", flows="per_year", start_month=self.dataset.start_month)  # fmt: skip
        return self._part("window_values", (), compute, windows=self.windows_key)

    @functools.cached_property
    def window_value_of(self) -> dict[tuple[str, ...], float]:
        """``window_values`` as (group_by, group, window, indicator) → value, for one-at-a-time lookups."""
        v = self.window_values.astype({c: str for c in ("group_by", "group", "window", "indicator")})
        return dict(zip(zip(v["group_by"], v["group"], v["window"], v["indicator"]), v["value"].astype(float)))

    def consortium_values(self, windows: dict[str, tuple[date, date]]) -> pd.DataFrame:
        """Indicators of all members together over ``windows`` (flows per year); computed once per
        set of windows (the final review's phase table and its verdict ask for the same)."""
        from evalkit.indicators.metrics import aggregate

        memo = self.__dict__.setdefault("_consortium_values", {})  # frozen: as _part's memo
        key = tuple(windows.items())
        if key not in memo:
            memo[key] = aggregate(self.table, self.registry, by="consortium", windows=windows, units=self.units,
                                  members="ever", flows="per_year", start_month=self.dataset.start_month)  # fmt: skip
        return memo[key].copy()

    def group_values(self, group_by: str, window: str) -> pd.DataFrame:
        v = self.window_values
        return v[(v["group_by"] == group_by) & (v["window"] == window)]

    def _basis_window(
        self, window: tuple[date, date], basis: str, unit_type: str = "college"
    ) -> tuple[tuple[date, date], str]:
        """The data window a target basis judges: ``end`` → the 12 months to the last period (of
        ``unit_type``'s calendar) in the window; otherwise the window itself. → (window, flows)."""
        if basis != "end":
            return window, ("per_year" if basis == "annual" else "sum")
        ds = self.dataset
        periods = ds.periods_by_frequency.get(ds.calendars.frequency_of(unit_type), ds.periods)
        inside = [p for p, w in assign_windows(periods, {"w": window}).items() if w == "w"]
        if not inside:
            return window, "sum"
        last: Period = max(inside)
        after = last.end + timedelta(days=1)
        start = date(after.year - 1, after.month, after.day)
        return (start, last.end), "sum"

    @functools.cached_property
    def targets(self) -> pd.DataFrame:
        """One row per target: indicator, basis, the data window judged, baseline, actual, target,
        direction, attained, completion, change and its unit (percentage points for rates)."""
        on = {k: [t.value, t.basis] for k, t in self.phase.targets.items()}
        return self._part("targets", (), self._judge_targets, windows=self.windows_key, targets=on)

    def _judge_targets(self) -> pd.DataFrame:
        from evalkit.indicators.metrics import aggregate

        # one aggregation per distinct pair of judged windows (not one per target)
        plans: dict[tuple, list[str]] = {}
        for ind_id, target in self.phase.targets.items():
            unit_type = self.registry.get(ind_id).unit_type
            now, flows = self._basis_window(self.phase.window, target.basis, unit_type)
            before, _ = self._basis_window(self.baseline, target.basis, unit_type)
            plans.setdefault((now, before, flows), []).append(ind_id)
        values: dict[str, dict[str, float]] = {}
        for (now, before, flows), ids in plans.items():
            agg = aggregate(
                self.table[self.table["indicator"].isin(ids)],
                self.registry,
                by="consortium",
                windows={"actual": now, "baseline": before},
                units=self.units,
                members="ever",
                flows=flows,
                start_month=self.dataset.start_month,
            )
            for ind_id in ids:
                mine = agg[agg["indicator"] == ind_id]
                values[ind_id] = {
                    w: float(mine.loc[mine["window"] == w, "value"].iloc[0]) if (mine["window"] == w).any() else np.nan
                    for w in ("actual", "baseline")
                } | {"start": now[0], "end": now[1]}
        rows = [self._judge(ind_id, target, values[ind_id]) for ind_id, target in self.phase.targets.items()]
        cols = [
            "indicator",
            "basis",
            "period_start",
            "period_end",
            "baseline",
            "actual",
            "target",
            "direction",
            "attained",
            "completion",
            "change",
            "change_unit",
            "count",
        ]
        return pd.DataFrame(rows, columns=cols)

    def _judge(self, ind_id: str, target: Target, value: dict[str, Any]) -> dict[str, Any]:
        ind = self.registry.get(ind_id)
        start, end = value["start"], value["end"]
        count = ind.aggregation != "ratio" and ind.unit in COUNT_UNITS
        actual, base = value["actual"], value["baseline"]
        if count:  # persons and units are whole numbers (an annual average is rounded)
            actual, base = _whole(actual), _whole(base)
        if np.isnan(actual):
            attained, completion = None, np.nan
        else:
            attained = bool(actual >= target.value) if ind.direction == 1 else bool(actual <= target.value)
            completion = (
                (actual / target.value if ind.direction == 1 else target.value / actual)
                if (target.value if ind.direction == 1 else actual)
                else np.nan
            )
        rate = ind.unit == "%"
        return {
            "indicator": ind_id,
            "basis": target.basis,
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "baseline": base,
            "actual": actual,
            "target": target.value,
            "direction": ind.direction,
            "attained": attained,
            "completion": completion,
            "change": actual - base,
            "change_unit": "pp" if rate else ind.unit,
            "count": count,
        }

    @functools.cached_property
    def per_period(self) -> pd.DataFrame:
        """Members (as known at the as-of date) vs comparison, every period."""
        from evalkit.indicators.metrics import aggregate

        compute = lambda: aggregate(self.table, self.registry, by=["membership", "consortium"], windows=None,  # noqa: E731
                                    units=self.units, members="ever", start_month=self.dataset.start_month)  # fmt: skip
        return self._part("per_period", (), compute)

    @functools.cached_property
    def college_wide(self) -> pd.DataFrame:
        """College × period, one column per indicator (the regression data)."""
        colleges = self.units.loc[self.units["unit_type"] == "college", ["unit_id", "cohort_t", "member"]]
        tbl = self.table[self.table["unit_id"].isin(colleges["unit_id"])]
        wide = tbl.pivot_table(
            index=["unit_id", "period", "t"], columns="indicator", values="value", aggfunc="first"
        ).reset_index()
        wide.columns.name = None
        return wide.merge(colleges, on="unit_id", how="left")

    @functools.cached_property
    def coverage(self) -> pd.DataFrame:
        """Per indicator: unit × period cells expected, reported, not applicable (a ratio whose
        denominator is 0, e.g. graduates in a half-year without graduation) and missing, with the
        periods that have missing cells."""
        tbl = self.table[self.table["indicator"].isin(self.registry.ids)]
        na = tbl["value"].isna()
        structural = na & (tbl["denominator"] == 0)
        g = tbl.assign(missing=na & ~structural, structural=structural).groupby("indicator", sort=False)
        out = pd.DataFrame({"cells": g.size(), "not_applicable": g["structural"].sum(), "missing": g["missing"].sum()})
        out["reported"] = out["cells"] - out["not_applicable"] - out["missing"]
        miss_periods = tbl[na & ~structural].groupby("indicator")["period"].agg(lambda s: sorted(set(map(str, s))))
        out["missing_periods"] = miss_periods.reindex(out.index)
        return out.reindex([i for i in self.registry.ids if i in out.index]).reset_index()

    # ------------------------------------------------------------------ estimates
    # ------------------------------------------------------------------ estimates (review/estimates.py)
    def _part(self, part: str, depends_on: tuple[str, ...], compute, **extra: Any):
        """Memoise ``compute()`` in memory and in the result cache, keyed by the data as known at
        the as-of date, the registry, the method settings ``depends_on`` names and ``extra``."""
        memo = self.__dict__.setdefault("_memo", {})
        key = part  # a part's name carries its argument (did:<y>); extra only widens the disk key
        if key not in memo:
            on = {
                "data": self.full_fingerprint,
                "as_of": self.as_of.isoformat(),
                "registry": self.registry_fingerprint,
                "methods": {k: getattr(self.methods, k) for k in depends_on},
                **extra,
            }
            self.__dict__.setdefault("_keys", {})[key] = ResultCache.key(part, on)
            try:
                memo[key] = (True, self.cache.get_or_compute(part, on, compute))
            except EvalkitError as exc:
                memo[key] = (False, exc)
        ok, value = memo[key]
        if not ok:
            raise value
        return value

    def part_key(self, part: str) -> str:
        """The content key of a part this analysis has resolved (a figure drawn from it is kept under it)."""
        return self.__dict__["_keys"][part]

    @functools.cached_property
    def registry_fingerprint(self) -> str:
        import hashlib

        return hashlib.sha256(repr(tuple(self.registry)).encode()).hexdigest()

    @functools.cached_property
    def composite_inputs(self) -> tuple[pd.DataFrame, pd.Series]:
        """College × indicator matrix (size-neutral indicators) for this window, with directions."""
        return est.composite_inputs(self)

    @functools.cached_property
    def pipeline(self):
        """The COINr-style pipeline: indicator → cooperation (四个合作) → index."""
        return est.pipeline(self)

    @functools.cached_property
    def composite(self) -> dict[str, Any]:
        """Index scores, weights, TOPSIS closeness, obstacle degrees and rank uncertainty."""
        return self._part("composite", COMPOSITE_SETTINGS, lambda: est.composite(self), window=self._window_key)

    @functools.cached_property
    def per_year(self) -> pd.DataFrame:
        """Members, each calendar year (flows per year, stocks at year end)."""
        return est.per_year(self)

    @functools.cached_property
    def ccd(self) -> pd.DataFrame:
        """Education vs industry subsystem indices per year and their coupling coordination."""
        return self._part("ccd", CCD_SETTINGS, lambda: est.ccd(self), windows=self.windows_key)

    def twfe(self, y: str):
        """Outcome ``y`` on the integration inputs, college and period fixed effects (annex)."""
        return self._part(f"twfe:{y}", ("twfe_inputs", "se", "seed"), lambda: est.twfe(self, y), y=y)

    @functools.cached_property
    def always_members(self) -> list[str]:
        """Colleges that joined before the data starts: members in every period (always treated).
        A DiD has no period before their joining, so they are neither treated units it can
        estimate nor comparisons; they are left out of it (and the review says so)."""
        since = pd.to_datetime(self.units["member_since"])
        first = pd.Timestamp(self.dataset.periods[0].start)
        colleges = self.units["unit_type"] == "college"
        return sorted(self.units.loc[colleges & (since < first), "unit_id"].astype(str))

    def did_panel(self, y: str) -> pd.DataFrame:
        """The balanced college panel of ``y`` for the staggered DiD (always-members left out)."""
        wide = self.college_wide
        return balanced_did_panel(wide[~wide["unit_id"].isin(self.always_members)], y)

    def did(self, y: str):
        """Callaway–Sant'Anna staggered DiD of membership on ``y`` (colleges)."""
        return self._part(f"did:{y}", ("did_control", "bootstrap", "seed"), lambda: est.did(self, y), y=y)

    def did_estimator(self, y: str):
        """The CS simple ATT as a function of a panel (for randomization inference)."""
        return est.did_estimator(self, y)

    def randomization(self, y: str):
        """Randomization inference for the CS simple ATT (cohorts permuted among colleges)."""
        return self._part(f"ri:{y}", ("did_control", "ri_reps", "seed"), lambda: est.randomization(self, y), y=y)

    def leave_one_out(self, y: str):
        """The CS simple ATT with each member college left out in turn."""
        return self._part(f"loo:{y}", ("did_control",), lambda: est.leave_one_out(self, y), y=y)

    def treated_units(self, y: str) -> list[str]:
        """The colleges of ``y``'s DiD panel that had joined by the as-of date."""
        return est.treated_units(self, y)

    def synthetic(self, y: str):
        """Synthetic DiD with placebo inference (the lead estimator for one treated college)."""
        return self._part(f"sdid:{y}", ("ri_reps", "seed"), lambda: est.synthetic(self, y), y=y)

    def sensitivity(self, y: str) -> dict[str, Any]:
        """Rambachan–Roth smoothness bounds and pre-trend power (when methods.sensitivity)."""
        reads = ("did_control", "bootstrap", "seed", "sensitivity")
        return self._part(f"sensitivity:{y}", reads, lambda: est.sensitivity(self, y), y=y)

    def pretest(self, y: str) -> tuple[float | None, float | None, int, int]:
        """R did's Wald pre-test (statistic, p; None when singular) and how many pre-joining
        event-time CIs exclude zero, of how many."""
        res = self.did(y)
        dyn = res.aggregate("dynamic").tidy()
        e = pd.to_numeric(dyn["term"], errors="coerce")
        pre = dyn[e < 0]
        excluding = int(((pre["ci_low"] > 0) | (pre["ci_high"] < 0)).sum())
        return res.pretest.statistic, res.pretest.p_value, excluding, len(pre)

    def calendar_effects(self, y: str) -> pd.DataFrame:
        """ATT by calendar period with each period's label and window."""
        res = self.did(y)
        cal = res.aggregate("calendar").tidy()
        t_of = self.did_panel(y).drop_duplicates("time").set_index("time")["t"]
        labels = [self.dataset.periods[int(t_of[int(tm)]) - 1].label for tm in cal["term"]]
        return pd.DataFrame(
            {
                "period": labels,
                "window": [self.period_windows.get(lab) for lab in labels],
                "estimate": cal["estimate"].to_numpy(),
                "se": cal["se"].to_numpy(),
                "ci_low": cal["ci_low"].to_numpy(),
                "ci_high": cal["ci_high"].to_numpy(),
            }
        )

    @functools.cached_property
    def drivers_result(self):
        """Exploratory prediction of the first TWFE outcome from the inputs (annex; not causal)."""
        return self._part(
            "drivers", ("twfe_outcomes", "twfe_inputs", "drivers", "seed"), lambda: est.drivers_result(self)
        )

    @property
    def _window_key(self) -> list[str]:
        return [self.phase.start.isoformat(), self.phase.end.isoformat()]

    @property
    def windows_key(self) -> dict[str, list[str]]:
        """The windows, baseline and kind as JSON: the cache key of whatever reads the windows."""
        wins = {k: [a.isoformat(), b.isoformat()] for k, (a, b) in {**self.windows, "baseline": self.baseline}.items()}
        return {**wins, "kind": [self.phase.kind]}

    # ------------------------------------------------------------------ design
    @functools.cached_property
    def design(self) -> dict[str, Any]:
        """Facts about the identification design that the findings must state."""
        colleges = self.units[self.units["unit_type"] == "college"]
        members, comparison = colleges[colleges["member"]], colleges[~colleges["member"]]
        city = self.dataset.meta.get("city")
        cohorts = members.groupby("cohort").size()
        return {
            "members": len(members),
            "comparison": len(comparison),
            "clusters": len(colleges),
            "cohorts": int(len(cohorts)),
            "single_unit_cohorts": [str(c) for c, n in cohorts.items() if n == 1],
            "comparison_all_outside_city": bool(city)
            and len(comparison) > 0
            and bool((comparison["city"].astype(str) != str(city)).all()),
            "members_all_in_city": bool(city)
            and len(members) > 0
            and bool((members["city"].astype(str) == str(city)).all()),
            "city": city,
        }

    @staticmethod
    def _estimated(outcomes: Any, fit: Any) -> list[Any]:
        """The results of ``fit`` for each outcome that could be estimated (each is cached)."""
        out = []
        for y in outcomes:
            with contextlib.suppress(EvalkitError):
                out.append(fit(y))
        return out

    def methods_ran(self) -> dict[str, Any]:
        """What actually ran (read from the executed objects where they record it)."""
        m = self.methods
        out: dict[str, Any] = {
            "normalisation": m.normalisation,
            "weighting": m.weighting,
            "aggregation": m.aggregation,
            "entropy_form": m.entropy_form,
            "entropy_shift": m.entropy_shift,
            "topsis_normalisation": m.topsis_normalisation,
            "ccd_form": m.ccd_form,
            "ri_table": m.ri_table,
            "uncertainty_runs": m.uncertainty_runs,
            "seed": m.seed,
            "normalisation_bounds": list(m.positive_scale["bounds"]),
            "did_estimator": "callaway_santanna",
            "did_control": m.did_control,
            "did_se": "multiplier_bootstrap" if m.bootstrap else "analytic",
            "did_inference": "randomization" if m.ri_reps else "analytic",
            "sensitivity": m.sensitivity,
            "ri_reps": m.ri_reps,
            "vcov": None,
        }
        try:
            out["weighting"] = self.composite["result"].pipeline.weighting
        except NotEstimable:
            pass
        dids, twfes = self._estimated(m.did_outcomes, self.did), self._estimated(m.twfe_outcomes, self.twfe)
        out["did_engine"] = sorted({r.settings.get("engine", "csdid") for r in dids})
        out["twfe_engine"] = sorted({r.info.get("engine", "pyfixest") for r in twfes})
        out["vcov"] = twfes[0].vcov if twfes else None
        return out


def _whole(x: float) -> float:
    return float(np.floor(x + 0.5)) if np.isfinite(x) else x


def open_analysis(
    params_file: str | Path, *, data_dir: str | Path | None = None, methods: dict[str, Any] | None = None
) -> PhaseAnalysis:
    """Read params, load and check the data, and build the analysis (``methods`` overrides).

    The validated data as known at the as-of date comes from the result cache when the data
    folder's files are unchanged (a folder fingerprint over every file's name and bytes)."""
    from types import SimpleNamespace

    from evalkit.indicators.registry import load_registry
    from evalkit.review.phases import check_against, load_phase

    phase = load_phase(params_file, data=data_dir)
    registry = load_registry(phase.registry)
    cache = ResultCache.default()
    prune_before_open(cache)  # outside `evalkit review`/`batch` (JupyterLab, scripts) nothing else evicts

    def load_and_cut() -> tuple[str, list, Dataset]:
        full = load_full(Path(phase.data), cache)
        return full.fingerprint, list(full.periods), cut(full, phase.as_of)

    fingerprint, periods, known = cache.get_or_compute(
        "dataset", {"folder": folder_fingerprint(Path(phase.data)), "as_of": phase.as_of.isoformat()}, load_and_cut
    )
    known.source = Path(phase.data)
    check_against(phase, SimpleNamespace(periods=periods), registry)
    compared = {}
    if phase.kind == "final" and phase.source:
        for pid in phase.compare_phases:
            compared[pid] = load_phase(Path(phase.source).parent / f"{pid}.yaml", data=phase.data)
    chosen = phase.methods.replace(**methods) if methods else phase.methods
    return PhaseAnalysis(phase, known, registry, chosen, compared, fingerprint, cache)

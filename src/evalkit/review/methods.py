"""The review's method choices as one typed, validated object.

Params files name methods in our words (``se: CRV3``, ``weighting: ahp``); this module is the
one place that checks them — each value on its own and the combinations that cannot run as
written (``ahp`` without a matrix, ``expert`` without weights, …) — and translates them into each
library's vocabulary. Analysis, rendering and ``results.json`` all read the same object, so a
caption can never name a method that did not run.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from evalkit.errors import ParamsError, Problem

Normalisation = Literal["minmax", "zscore", "rank", "vector"]
Weighting = Literal["equal", "entropy", "ahp", "pca", "critic", "expert"]
EntropyForm = Literal["classic", "minmax"]
Aggregation = Literal["arithmetic", "geometric", "harmonic"]
TopsisNormalisation = Literal["vector", "minmax"]
CcdForm = Literal["standard", "wang2021"]
RiTable = Literal["saaty", "cn"]
StandardErrors = Literal["CRV1", "CRV3", "iid", "HC1"]
DidControl = Literal["never", "notyet"]

CHOICES: dict[str, tuple[str, ...]] = {
    # (the composite's "target" normalisation needs a target for every index indicator, which params
    # do not carry: it stays available in evalkit.composite, not in a review)
    "normalisation": ("minmax", "zscore", "rank", "vector"),
    "weighting": ("equal", "entropy", "ahp", "pca", "critic", "expert"),
    "entropy_form": ("classic", "minmax"),
    "aggregation": ("arithmetic", "geometric", "harmonic"),
    "topsis_normalisation": ("vector", "minmax"),
    "ccd_form": ("standard", "wang2021"),
    "ri_table": ("saaty", "cn"),
    "se": ("CRV1", "CRV3", "iid", "HC1"),
    "did_control": ("never", "notyet"),
}
INDICATOR_LISTS = ("twfe_outcomes", "twfe_inputs", "did_outcomes")
MAX_UNCERTAINTY_RUNS = 20_000  # ~0.1 s per 100 runs on the default data: a bound a review can afford
MAX_RI_REPS = 10_000  # each draw re-estimates the DiD (~0.1 s on the default data)
MAX_SEED = 2**32 - 1  # numpy's SeedSequence takes larger ints, but csdid/sklearn take 32-bit seeds


@dataclass(frozen=True)
class Methods:
    """Every method choice of a review (defaults as in ``params/README.md``).

    Build with :meth:`from_mapping` (collects every problem) and change with :meth:`replace`
    (returns a new, re-validated object).
    """

    normalisation: Normalisation = "minmax"
    weighting: Weighting = "entropy"
    entropy_form: EntropyForm = "minmax"
    entropy_shift: float = 1e-4
    aggregation: Aggregation = "arithmetic"
    topsis_normalisation: TopsisNormalisation = "vector"
    ccd_form: CcdForm = "standard"
    ri_table: RiTable = "saaty"
    expert_weights: dict[str, float] | None = None
    ahp_matrix: tuple[tuple[float, ...], ...] | None = None
    twfe_outcomes: tuple[str, ...] = ()
    twfe_inputs: tuple[str, ...] = ()
    se: StandardErrors = "CRV1"
    did_outcomes: tuple[str, ...] = ()
    did_control: DidControl = "never"
    bootstrap: bool = False
    uncertainty_runs: int = 300
    ri_reps: int = 99
    sensitivity: bool = False
    seed: int = 20231205
    drivers: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_mapping(cls, raw: dict[str, Any] | None, *, source: str = "params") -> Methods:
        """Validate a ``methods:`` mapping; raises :class:`ParamsError` listing every problem."""
        methods, problems = parse(raw, source=source)
        if problems:
            raise params_error(problems, source)
        return methods

    def replace(self, **changes: Any) -> Methods:
        """A new Methods with ``changes`` applied and the whole set re-validated."""
        return Methods.from_mapping({**self.as_params(), **changes}, source="with_methods()")

    def as_params(self) -> dict[str, Any]:
        """The choices as a params ``methods:`` mapping (plain YAML/JSON types)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        for key in INDICATOR_LISTS:
            out[key] = list(out[key])
        if self.ahp_matrix is not None:
            out["ahp_matrix"] = [list(r) for r in self.ahp_matrix]
        return out

    # ------------------------------------------------------------------ translations
    @property
    def pipeline_weighting(self) -> str:
        """The composite Pipeline's name for the weighting."""
        if self.weighting == "entropy":
            return "entropy_minmax" if self.entropy_form == "minmax" else "entropy"
        return self.weighting

    @property
    def positive_scale(self) -> dict[str, tuple[float, float]]:  # keys: bounds, mean_sd
        """Normalisation settings that keep every value positive, as geometric and harmonic
        aggregation need (COINr's advice): min–max onto [1, 100], z-scores with mean 100 and SD 10."""
        if self.aggregation == "arithmetic":
            return {"bounds": (0.0, 100.0), "mean_sd": (0.0, 1.0)}
        return {"bounds": (1.0, 100.0), "mean_sd": (100.0, 10.0)}

    def twfe_vcov(self, cluster: str) -> str | dict[str, str]:
        """The estimator's ``vcov=`` for the chosen standard errors."""
        if self.se in ("CRV1", "CRV3"):
            return {self.se: cluster}
        return self.se


def parse(raw: dict[str, Any] | None, *, source: str = "params") -> tuple[Methods, list[Problem]]:
    """Validate a ``methods:`` mapping; returns (methods with defaults for bad values, problems)."""
    problems: list[Problem] = []
    raw = dict(raw or {})
    defaults = Methods()
    known = {f.name for f in dataclasses.fields(Methods)} - {"extra"}
    values: dict[str, Any] = {}

    def bad(key: str, value: Any, rule: str) -> None:
        problems.append(Problem(source, None, f"methods.{key}", _show(value), rule))

    for key, value in raw.items():
        if key not in known:
            bad(str(key), value, "unknown method key (allowed: " + ", ".join(sorted(known)) + ")")
        elif key in CHOICES:
            if not isinstance(value, str) or value not in CHOICES[key]:
                bad(key, value, "must be one of " + ", ".join(CHOICES[key]))
            else:
                values[key] = value
        elif key == "entropy_shift":
            if not _number(value) or not 0 <= value <= 1:
                bad(key, value, "must be a finite number from 0 to 1 (0 means 0·ln0 := 0)")
            else:
                values[key] = float(value)
        elif key == "uncertainty_runs":
            if not _whole(value) or not 10 <= value <= MAX_UNCERTAINTY_RUNS:
                bad(key, value, f"must be a whole number from 10 to {MAX_UNCERTAINTY_RUNS:,}")
            else:
                values[key] = int(value)
        elif key == "ri_reps":
            if not _whole(value) or not (value == 0 or 19 <= value <= MAX_RI_REPS):
                bad(key, value, f"must be 0 (no randomization inference) or a whole number from 19 to {MAX_RI_REPS:,}")
            else:
                values[key] = int(value)
        elif key == "seed":
            if not _whole(value) or not 0 <= value <= MAX_SEED:
                bad(key, value, f"must be a whole number from 0 to {MAX_SEED}")
            else:
                values[key] = int(value)
        elif key in ("bootstrap", "drivers", "sensitivity"):
            if not isinstance(value, bool):
                bad(key, value, "must be true or false")
            else:
                values[key] = value
        elif key in INDICATOR_LISTS:
            if value is None:
                values[key] = ()
            elif not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                bad(key, value, "must be a flat list of indicator ids, e.g. [local_retention_rate]")
            elif len(set(value)) != len(value):
                bad(key, value, "lists an indicator twice")
            else:
                values[key] = tuple(value)
        elif key == "expert_weights":
            if value is None:
                continue
            if (
                not isinstance(value, dict)
                or not value
                or not all(isinstance(k, str) and _number(v) and v > 0 for k, v in value.items())
            ):
                bad(key, value, "must map indicator ids to positive finite numbers")
            else:
                values[key] = {k: float(v) for k, v in value.items()}
        elif key == "ahp_matrix":
            if value is None:
                continue
            rule = _ahp_problem(value)
            if rule:
                bad(key, value, rule)
            else:
                values[key] = tuple(tuple(float(x) for x in row) for row in value)

    weighting = values.get("weighting", defaults.weighting)
    if weighting == "ahp" and "ahp_matrix" not in values:
        bad(
            "weighting",
            weighting,
            "ahp weights need methods.ahp_matrix (a pairwise comparison matrix over the "
            "four cooperations: co_running, co_educating, co_employment, co_development)",
        )
    if weighting == "expert" and "expert_weights" not in values:
        bad("weighting", weighting, "expert weights need methods.expert_weights (indicator id: weight)")
    if "ahp_matrix" in values and weighting != "ahp":
        bad("ahp_matrix", "…", f"is given but weighting is {weighting}: set weighting: ahp or remove the matrix")
    if "expert_weights" in values and weighting != "expert":
        bad("expert_weights", "…", f"are given but weighting is {weighting}: set weighting: expert or remove them")
    aggregation = values.get("aggregation", defaults.aggregation)
    normalisation = values.get("normalisation", defaults.normalisation)
    if aggregation != "arithmetic" and normalisation == "vector":
        bad(
            "aggregation",
            aggregation,
            f"{aggregation} aggregation needs strictly positive normalised values; "
            f"{normalisation} normalisation can give 0: use minmax, zscore or rank",
        )
    if bool(values.get("twfe_outcomes")) != bool(values.get("twfe_inputs")):
        bad(
            "twfe_inputs",
            values.get("twfe_inputs", []),
            "twfe_outcomes and twfe_inputs go together: name both or neither",
        )
    overlap = set(values.get("twfe_outcomes", ())) & set(values.get("twfe_inputs", ()))
    if overlap:
        bad("twfe_inputs", sorted(overlap), "an indicator cannot be both an outcome and an input")
    return dataclasses.replace(defaults, **values), problems


def params_error(problems: list[Problem], source: str) -> ParamsError:
    """One ParamsError listing every problem (the CLI prints it and exits 2)."""
    lines = [f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {source}:"]
    lines += [f"  - {p}" for p in problems]
    err = ParamsError("\n".join(lines))
    err.problems = problems  # type: ignore[attr-defined]
    return err


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "…"


def _ahp_problem(value: Any) -> str:
    if (
        not isinstance(value, list)
        or len(value) < 2
        or not all(isinstance(r, list) and len(r) == len(value) for r in value)
    ):
        return "must be a square matrix (a list of equal-length lists) of at least 2 × 2"
    if not all(_number(x) and x > 0 for r in value for x in r):
        return "entries must be positive finite numbers"
    n = len(value)
    for i in range(n):
        if abs(value[i][i] - 1) > 1e-9:
            return f"diagonal entry {i + 1} must be 1"
        for j in range(i + 1, n):
            if abs(value[i][j] * value[j][i] - 1) > 1e-3:
                return f"entries ({i + 1},{j + 1}) and ({j + 1},{i + 1}) must be reciprocal (a_ij · a_ji = 1)"
    return ""

"""Phases: one params file per phase (``params/phase1.yaml`` …), checked against a schema before
any notebook kernel starts.

A params file uses ASCII keys and quoted dates. Every key is listed in ``SCHEMA`` below (and
documented in ``params/README.md``); an unknown key, a bad date, a window outside the data or an
unknown indicator is a ``ParamsError`` (the CLI exits 2).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from evalkit.errors import ParamsError, Problem
from evalkit.data.periods import PeriodError, to_date
from evalkit.review.methods import Methods, params_error
from evalkit.review.methods import parse as parse_methods

LANGUAGES = ("zh", "en", "bilingual")

TOP_KEYS: dict[str, type | tuple[type, ...]] = {
    "phase_id": str,
    "kind": str,
    "title_zh": str,
    "title_en": str,
    "window": dict,
    "baseline": dict,
    "data": str,
    "registry": (str, type(None)),
    "targets": dict,
    "methods": dict,
    "privacy": dict,
    "language": str,
    "compare_phases": list,
    "notes": str,
    "reporting_lag_days": int,
    "framework": (str, type(None)),
}
REQUIRED = ("phase_id", "title_zh", "title_en", "window", "data")
TARGET_BASES = ("end", "annual", "cumulative")
# The composite index's groups: the four cooperations of 教职成厅函〔2024〕20号 (registry group ids).
COOPERATIONS = ("co_running", "co_educating", "co_employment", "co_development")
MAX_REPORTING_LAG_DAYS = 366


@dataclass(frozen=True)
class Target:
    """A target and the basis it is judged on: ``end`` (a stock at the window's end, a flow over
    the 12 months to it), ``annual`` (yearly average in the window) or ``cumulative`` (flows
    summed over the window)."""

    value: float
    basis: str = "end"


@dataclass
class Phase:
    """One phase review's parameters, validated."""

    phase_id: str
    title_zh: str
    title_en: str
    start: date
    end: date
    baseline_start: date | None
    baseline_end: date | None
    data: Path
    kind: str = "phase"  # "phase" or "final" (the whole build period, comparing phases)
    registry: Path | None = None
    targets: dict[str, Target] = field(default_factory=dict)
    methods: Methods = field(default_factory=Methods)
    reporting_lag_days: int = 0
    min_cell: int = 5
    language: str = "zh"
    compare_phases: list[str] = field(default_factory=list)
    notes: str = ""
    framework: Path | None = None  # an evaluation framework file; None: the project's reading
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return {"zh": self.title_zh, "en": self.title_en}.get(self.language, f"{self.title_zh} / {self.title_en}")

    @property
    def window(self) -> tuple[date, date]:
        return self.start, self.end

    @property
    def baseline(self) -> tuple[date, date] | None:
        """The declared baseline window, or None (the review then takes the last full calendar
        year before the first unit joined)."""
        if self.baseline_start is None or self.baseline_end is None:
            return None
        return self.baseline_start, self.baseline_end

    @property
    def as_of(self) -> date:
        """What the review may know: its window's end plus the reporting lag."""
        return self.end + timedelta(days=self.reporting_lag_days)


def _problem(source: str, key: str, value: Any, rule: str) -> Problem:
    return Problem(source, None, key, value, rule)


def _date(source: str, key: str, value: Any, problems: list[Problem]) -> date | None:
    if not isinstance(value, str):  # YAML turns an unquoted date into a date object: refuse it
        problems.append(_problem(source, key, str(value), 'a date must be quoted: "YYYY-MM-DD"'))
        return None
    try:
        return to_date(value)
    except PeriodError as exc:
        problems.append(_problem(source, key, value, str(exc)))
        return None


def _window(source: str, key: str, value: Any, problems: list[Problem]) -> tuple[date | None, date | None]:
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        problems.append(_problem(source, key, value, "must have exactly the keys start and end"))
        return None, None
    start = _date(source, f"{key}.start", value["start"], problems)
    end = _date(source, f"{key}.end", value["end"], problems)
    if start and end and end < start:
        problems.append(_problem(source, key, value, "end is before start"))
    return start, end


def parse_params(raw: dict[str, Any], *, source: str = "params", root: Path | None = None) -> Phase:
    """Validate a params mapping and return a Phase. Collects every problem, then raises ParamsError."""
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: the file must be a YAML mapping of keys to values")
    for key in raw:
        if key not in TOP_KEYS:
            problems.append(
                _problem(source, str(key), raw[key], "unknown key (allowed: " + ", ".join(sorted(TOP_KEYS)) + ")")
            )
        elif not isinstance(raw[key], TOP_KEYS[key]) and raw[key] is not None:
            problems.append(_problem(source, key, raw[key], f"wrong type ({type(raw[key]).__name__})"))
    for key in REQUIRED:
        if key not in raw:
            problems.append(_problem(source, key, None, "required key missing"))
    start, end = _window(source, "window", raw.get("window"), problems) if "window" in raw else (None, None)
    b_start, b_end = _window(source, "baseline", raw.get("baseline"), problems) if "baseline" in raw else (None, None)
    if start and b_end and b_end >= start:
        problems.append(
            _problem(
                source, "baseline.end", raw["baseline"]["end"], "the baseline must end before the phase window starts"
            )
        )

    methods, method_problems = parse_methods(raw.get("methods"), source=source)
    problems += method_problems

    targets = _targets(raw.get("targets") or {}, source, problems)
    lag = raw.get("reporting_lag_days", 0)
    if not isinstance(lag, int) or isinstance(lag, bool) or not 0 <= lag <= MAX_REPORTING_LAG_DAYS:
        problems.append(
            _problem(
                source, "reporting_lag_days", lag, f"must be a whole number of days from 0 to {MAX_REPORTING_LAG_DAYS}"
            )
        )
        lag = 0

    privacy = raw.get("privacy") or {}
    min_cell = 5
    for key, value in privacy.items():
        if key != "min_cell":
            problems.append(_problem(source, f"privacy.{key}", value, "unknown key (allowed: min_cell)"))
        elif not isinstance(value, int) or isinstance(value, bool) or not 3 <= value <= 1000:
            # below 3 a published cell can single out one graduate (differencing two cells)
            problems.append(_problem(source, "privacy.min_cell", value, "must be a whole number from 3 to 1000"))
        else:
            min_cell = value
    language = raw.get("language", "zh")
    if language not in LANGUAGES:
        problems.append(_problem(source, "language", language, "must be one of zh, en, bilingual"))
    kind = raw.get("kind", "phase")
    if kind not in ("phase", "final"):
        problems.append(_problem(source, "kind", kind, "must be phase or final"))
    compare = raw.get("compare_phases") or []
    if compare and kind != "final":
        problems.append(
            _problem(source, "compare_phases", compare, "only a final review (kind: final) compares phases")
        )
    if problems:
        raise _error(problems, source)

    assert start is not None and end is not None  # a missing or bad window is a problem above
    root = root or Path.cwd()
    data = Path(raw["data"])
    registry = Path(raw["registry"]) if raw.get("registry") else None
    framework = Path(raw["framework"]) if raw.get("framework") else None
    return Phase(
        phase_id=raw["phase_id"],
        title_zh=raw["title_zh"],
        title_en=raw["title_en"],
        start=start,
        end=end,
        baseline_start=b_start,
        baseline_end=b_end,
        data=data if data.is_absolute() else (root / data),
        kind=kind,
        registry=(registry if registry is None or registry.is_absolute() else root / registry),
        targets=targets,
        methods=methods,
        reporting_lag_days=lag,
        min_cell=min_cell,
        language=language,
        compare_phases=[str(c) for c in compare],
        notes=str(raw.get("notes") or ""),
        framework=(framework if framework is None or framework.is_absolute() else root / framework),
        raw=copy.deepcopy(raw),
    )


_error = params_error


def _targets(raw: Any, source: str, problems: list[Problem]) -> dict[str, Target]:
    """``{indicator: number}`` (basis ``end``) or ``{indicator: {target: number, basis: …}}``."""
    out: dict[str, Target] = {}
    if not isinstance(raw, dict):
        problems.append(_problem(source, "targets", raw, "must map indicator ids to targets"))
        return out
    for key, value in raw.items():
        basis = "end"
        if isinstance(value, dict):
            unknown = set(value) - {"target", "basis"}
            if unknown or "target" not in value:
                problems.append(
                    _problem(
                        source,
                        f"targets.{key}",
                        value,
                        "a target mapping has the keys target (a number) and basis (end | annual | cumulative)",
                    )
                )
                continue
            basis = value.get("basis", "end")
            if basis not in TARGET_BASES:
                problems.append(
                    _problem(source, f"targets.{key}.basis", basis, "must be one of end, annual, cumulative")
                )
                continue
            value = value["target"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            problems.append(_problem(source, f"targets.{key}", value, "a target must be a finite number"))
        else:
            out[str(key)] = Target(float(value), basis)
    return out


def read_yaml(path: Path, error: type[Exception]):
    """Parse a UTF-8 YAML file; a syntax or encoding problem raises ``error`` naming the file."""
    import yaml

    from evalkit.yamlio import read_yaml as _read_bounded

    try:
        return _read_bounded(Path(path), what="YAML file", error=error)
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save the file as UTF-8") from None


def load_phase(path: str | Path, *, data: str | Path | None = None) -> Phase:
    """Read and validate one params file. Relative paths in it are resolved against the folder
    that holds the params folder (the project root for ``params/phase1.yaml``). ``data``
    overrides the file's data folder."""
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"params file not found: {path}")
    raw = read_yaml(path, ParamsError)
    if isinstance(raw, dict) and data is not None:
        raw = {**raw, "data": str(Path(data).resolve())}
    phase = parse_params(raw, source=str(path), root=path.resolve().parent.parent)
    if phase.phase_id != path.stem:
        raise _error(
            [_problem(str(path), "phase_id", phase.phase_id, f"must equal the file name ({path.stem})")], str(path)
        )
    missing = [pid for pid in phase.compare_phases if not (path.parent / f"{pid}.yaml").exists()]
    if missing:
        raise _error(
            [
                _problem(str(path), "compare_phases", pid, f"no params file {pid}.yaml beside this one")
                for pid in missing
            ],
            str(path),
        )
    phase.source = path.resolve()
    return phase


def check_against(phase: Phase, dataset, registry) -> None:
    """Checks that need the data and the registry: windows inside the data's periods, and every
    target / method indicator known to the registry. Raises ParamsError listing every problem."""
    problems: list[Problem] = []
    src = str(phase.source or phase.phase_id)
    first, last = dataset.periods[0], dataset.periods[-1]
    windows = [("window", phase.window)] + ([("baseline", phase.baseline)] if phase.baseline else [])
    for key, (start, end) in windows:
        if start > last.end or end < first.start:
            problems.append(
                _problem(
                    src,
                    key,
                    f"{start} – {end}",
                    f"outside the data ({first.label} – {last.label}, {first.start} – {last.end})",
                )
            )
    if phase.baseline and phase.baseline[0] < first.start:
        problems.append(
            _problem(
                src,
                "baseline",
                f"{phase.baseline[0]} – {phase.baseline[1]}",
                f"starts before the data ({first.label}, {first.start})",
            )
        )
    known = {ind.id for ind in registry}
    for ind, target in phase.targets.items():
        if ind not in known:
            problems.append(
                _problem(src, f"targets.{ind}", target.value, "unknown indicator id (see `evalkit metrics --list`)")
            )
    m = phase.methods
    for key in ("twfe_outcomes", "twfe_inputs", "did_outcomes"):
        for ind in getattr(m, key):
            if ind not in known:
                problems.append(
                    _problem(src, f"methods.{key}", ind, "unknown indicator id (see `evalkit metrics --list`)")
                )
    for ind in m.expert_weights or {}:
        if ind not in known:
            problems.append(_problem(src, "methods.expert_weights", ind, "unknown indicator id"))
    if m.ahp_matrix is not None and len(m.ahp_matrix) != len(COOPERATIONS):
        problems.append(
            _problem(
                src,
                "methods.ahp_matrix",
                f"{len(m.ahp_matrix)} × {len(m.ahp_matrix)}",
                f"must be {len(COOPERATIONS)} × {len(COOPERATIONS)}: one row per cooperation "
                "(" + ", ".join(COOPERATIONS) + ")",
            )
        )
    if problems:
        raise _error(problems, src)
    if phase.framework is not None:  # every problem of the framework file, before any kernel starts
        from evalkit.review.framework import load_framework

        load_framework(phase.framework, registry=registry)

"""Phases: one params file per phase (``params/phase1.yaml`` …), checked against a schema before
any notebook kernel starts.

A params file uses ASCII keys and quoted dates. Every key is listed in ``SCHEMA`` below (and
documented in ``params/README.md``); an unknown key, a bad date, a window outside the data or an
unknown indicator is a ``ParamsError`` (the CLI exits 2).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from evalkit.errors import ParamsError, Problem
from evalkit.data.periods import PeriodError, to_date

LANGUAGES = ("zh", "en", "bilingual")

# Method choices: key -> (allowed values or a type, default). Every choice that changes a number
# is named here and written into the report's methods section.
METHOD_CHOICES: dict[str, tuple[Any, Any]] = {
    "normalisation": (("minmax", "zscore", "rank", "target", "vector"), "minmax"),
    "weighting": (("equal", "entropy", "ahp", "pca", "critic", "expert"), "entropy"),
    "entropy_form": (("classic", "minmax"), "minmax"),
    "entropy_shift": (float, 1e-4),
    "aggregation": (("arithmetic", "geometric", "harmonic"), "arithmetic"),
    "topsis_normalisation": (("vector", "minmax"), "vector"),
    "ccd_form": (("standard", "wang2021"), "standard"),
    "ri_table": (("saaty", "cn"), "saaty"),
    "expert_weights": (dict, None),
    "ahp_matrix": (list, None),
    "twfe_outcomes": (list, None),
    "twfe_inputs": (list, None),
    "se": (("CRV1", "CRV3", "iid", "HC1"), "CRV1"),
    "did_outcomes": (list, None),
    "did_control": (("never", "notyet"), "never"),
    "bootstrap": (bool, False),
    "uncertainty_runs": (int, 300),
    "seed": (int, 20231205),
    "drivers": (bool, True),
}

TOP_KEYS = {
    "phase_id": str, "kind": str, "title_zh": str, "title_en": str, "window": dict, "baseline": dict,
    "data": str, "registry": (str, type(None)), "targets": dict, "methods": dict, "privacy": dict,
    "language": str, "compare_phases": list, "notes": str,
}
REQUIRED = ("phase_id", "title_zh", "title_en", "window", "baseline", "data")


@dataclass
class Phase:
    """One phase review's parameters, validated."""

    phase_id: str
    title_zh: str
    title_en: str
    start: date
    end: date
    baseline_start: date
    baseline_end: date
    data: Path
    kind: str = "phase"  # "phase" or "final" (the whole build period, comparing phases)
    registry: Path | None = None
    targets: dict[str, float] = field(default_factory=dict)
    methods: dict[str, Any] = field(default_factory=dict)
    min_cell: int = 5
    language: str = "zh"
    compare_phases: list[str] = field(default_factory=list)
    notes: str = ""
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return {"zh": self.title_zh, "en": self.title_en}.get(self.language, f"{self.title_zh} / {self.title_en}")

    @property
    def window(self) -> tuple[date, date]:
        return self.start, self.end

    @property
    def baseline(self) -> tuple[date, date]:
        return self.baseline_start, self.baseline_end

    def notebook_parameters(self) -> dict[str, Any]:
        """The parameters papermill injects (plain JSON types only)."""
        return {"params_file": str(self.source) if self.source else "", "data_dir": str(self.data),
                "phase_id": self.phase_id}


def _problem(source: str, key: str, value: Any, rule: str) -> Problem:
    return Problem(source, None, key, value, rule)


def _date(source: str, key: str, value: Any, problems: list[Problem]) -> date | None:
    if not isinstance(value, str):  # YAML turns an unquoted date into a date object: refuse it
        problems.append(_problem(source, key, str(value), "a date must be quoted: \"YYYY-MM-DD\""))
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
            problems.append(_problem(source, str(key), raw[key],
                                     "unknown key (allowed: " + ", ".join(sorted(TOP_KEYS)) + ")"))
        elif not isinstance(raw[key], TOP_KEYS[key]) and raw[key] is not None:
            problems.append(_problem(source, key, raw[key], f"wrong type ({type(raw[key]).__name__})"))
    for key in REQUIRED:
        if key not in raw:
            problems.append(_problem(source, key, None, "required key missing"))
    start, end = _window(source, "window", raw.get("window"), problems) if "window" in raw else (None, None)
    b_start, b_end = _window(source, "baseline", raw.get("baseline"), problems) if "baseline" in raw else (None, None)
    if start and b_end and b_end >= start:
        problems.append(_problem(source, "baseline.end", raw["baseline"]["end"],
                                 "the baseline must end before the phase window starts"))

    methods = {k: v for k, (_, v) in METHOD_CHOICES.items()}
    for key, value in (raw.get("methods") or {}).items():
        if key not in METHOD_CHOICES:
            problems.append(_problem(source, f"methods.{key}", value,
                                     "unknown method key (allowed: " + ", ".join(sorted(METHOD_CHOICES)) + ")"))
            continue
        allowed, _ = METHOD_CHOICES[key]
        if isinstance(allowed, tuple):
            if value not in allowed:
                problems.append(_problem(source, f"methods.{key}", value,
                                         "must be one of " + ", ".join(map(str, allowed))))
                continue
        elif allowed is float:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                problems.append(_problem(source, f"methods.{key}", value, "must be a number ≥ 0"))
                continue
            value = float(value)
        elif allowed is int:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(_problem(source, f"methods.{key}", value, "must be a whole number ≥ 0"))
                continue
        elif not isinstance(value, allowed):
            problems.append(_problem(source, f"methods.{key}", value, f"must be a {allowed.__name__}"))
            continue
        methods[key] = value

    targets: dict[str, float] = {}
    for key, value in (raw.get("targets") or {}).items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(_problem(source, f"targets.{key}", value, "a target must be a number"))
        else:
            targets[str(key)] = float(value)

    privacy = raw.get("privacy") or {}
    min_cell = 5
    for key, value in privacy.items():
        if key != "min_cell":
            problems.append(_problem(source, f"privacy.{key}", value, "unknown key (allowed: min_cell)"))
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(_problem(source, "privacy.min_cell", value, "must be a whole number ≥ 1"))
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
        problems.append(_problem(source, "compare_phases", compare, "only a final review (kind: final) compares phases"))
    if problems:
        raise _error(problems, source)

    root = root or Path.cwd()
    data = Path(raw["data"])
    registry = Path(raw["registry"]) if raw.get("registry") else None
    return Phase(
        phase_id=raw["phase_id"], title_zh=raw["title_zh"], title_en=raw["title_en"], start=start, end=end,
        baseline_start=b_start, baseline_end=b_end,
        data=data if data.is_absolute() else (root / data),
        kind=kind, registry=(registry if registry is None or registry.is_absolute() else root / registry),
        targets=targets, methods=methods, min_cell=min_cell, language=language,
        compare_phases=[str(c) for c in compare], notes=str(raw.get("notes") or ""),
        raw=copy.deepcopy(raw),
    )


def _error(problems: list[Problem], source: str) -> ParamsError:
    lines = [f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {source}:"]
    lines += [f"  - {p}" for p in problems]
    err = ParamsError("\n".join(lines))
    err.problems = problems
    return err


def read_yaml(path: Path, error: type[Exception]):
    """Parse a UTF-8 YAML file; a syntax or encoding problem raises ``error`` naming the file."""
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
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
        raise _error([_problem(str(path), "phase_id", phase.phase_id,
                               f"must equal the file name ({path.stem})")], str(path))
    phase.source = path.resolve()
    return phase


def check_against(phase: Phase, dataset, registry) -> None:
    """Checks that need the data and the registry: windows inside the data's periods, and every
    target / method indicator known to the registry. Raises ParamsError listing every problem."""
    problems: list[Problem] = []
    src = str(phase.source or phase.phase_id)
    first, last = dataset.periods[0], dataset.periods[-1]
    for key, (start, end) in (("window", phase.window), ("baseline", phase.baseline)):
        if start < first.start or end > last.end:
            problems.append(_problem(src, key, f"{start} – {end}",
                                     f"outside the data ({first.label} – {last.label}, "
                                     f"{first.start} – {last.end})"))
    known = {ind.id for ind in registry}
    for ind in phase.targets:
        if ind not in known:
            problems.append(_problem(src, f"targets.{ind}", phase.targets[ind], "unknown indicator id "
                                     "(see `evalkit metrics --list`)"))
    for key in ("twfe_outcomes", "twfe_inputs", "did_outcomes"):
        for ind in phase.methods.get(key) or []:
            if ind not in known:
                problems.append(_problem(src, f"methods.{key}", ind, "unknown indicator id "
                                         "(see `evalkit metrics --list`)"))
    for ind in (phase.methods.get("expert_weights") or {}):
        if ind not in known:
            problems.append(_problem(src, "methods.expert_weights", ind, "unknown indicator id"))
    if problems:
        raise _error(problems, src)

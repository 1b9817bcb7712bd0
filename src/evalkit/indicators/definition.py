"""One indicator definition as data: :class:`Indicator` (formula as linear terms of panel
variables, scale, direction, level, role, groups, derived aggregation), :class:`Group`, the
vocabularies the registry checks against, the formula in words and :func:`evaluate`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.data import schema

LEVELS = ("input", "process", "output", "outcome", "context")
ROLES = ("input", "outcome", "context")
AGGREGATIONS = ("flow", "stock", "ratio")
SUBSYSTEMS = ("education", "industry")
DIRECTIONS = (1, -1)

# Graduate-record columns accepted in formulas, and the panel flow each one sums to.
GRADUATE_ALIASES = {
    "placed": "graduates_placed",
    "local": "graduates_local",
    "member_enterprise": "graduates_member_ent",
    "job_match": "graduates_matched",
    "income": "income_sum",
}

AGGREGATION_TEXT = {
    "flow": ("窗口内各期求和", "summed over the window"),
    "stock": ("取窗口最后一期", "value at the window's last period"),
    "ratio": ("分子、分母分别汇总后相除", "recomputed from the window's numerator and denominator"),
}


VARIABLES = {c.name: c for c in schema.PANEL_VARIABLES}


Linear = tuple[tuple[str, float], ...]  # ((variable, coefficient), ...)


@dataclass(frozen=True)
class Group:
    id: str
    name_zh: str
    name_en: str
    parent: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Indicator:
    """One indicator definition (see the module doc for the formula and aggregation rules)."""

    id: str
    name_zh: str
    name_en: str
    numerator: Linear
    denominator: Linear | None
    scale: float
    unit: str
    unit_zh: str
    direction: int
    level: str
    role: str
    groups: tuple[str, ...]
    aggregation: str
    numerator_kind: str
    denominator_kind: str | None
    source: str
    unit_type: str
    subsystem: str | None
    per: tuple[str, float] | None = None
    description: str = ""

    @property
    def variables(self) -> tuple[str, ...]:
        names = [v for v, _ in self.numerator] + [v for v, _ in (self.denominator or ())]
        return tuple(dict.fromkeys(names))

    @property
    def graduate_based(self) -> bool:
        """True when every variable is a flow that graduate records aggregate to."""
        return all(v in schema.GRADUATE_FLOWS for v in self.variables)

    @property
    def denominator_is_count(self) -> bool:
        """The denominator counts persons/units (not money): it is the cell's ``n``."""
        return self.denominator is not None and all(
            VARIABLES[v].unit not in ("10k yuan", "yuan/month") for v, _ in self.denominator
        )

    def formula(self, lang: str = "zh") -> str:
        """The formula in words, e.g. ``双师型教师数 ÷ 专任教师数 × 100``."""
        num = _linear_text(self.numerator, lang)
        text = num
        if self.denominator is not None:
            den = _linear_text(self.denominator, lang)
            if len(self.numerator) > 1:
                text = f"({num})"
            text += " ÷ " + (f"({den})" if len(self.denominator) > 1 else den)
        if self.scale != 1:
            text += f" × {format_number(self.scale)}"
        return text


def format_number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _linear_text(terms: Linear, lang: str) -> str:
    parts = []
    for i, (var, coef) in enumerate(terms):
        name = VARIABLES[var].zh if lang == "zh" else VARIABLES[var].meaning
        sign = "−" if coef < 0 else "+"
        mag = abs(coef)
        piece = name if mag == 1 else f"{format_number(mag)}·{name}"
        parts.append(piece if i == 0 and sign == "+" else (f"−{piece}" if i == 0 else f" {sign} {piece}"))
    return "".join(parts)


def evaluate(terms: Linear, frame: pd.DataFrame | Mapping[str, np.ndarray]) -> pd.Series | np.ndarray:
    """Σ coefficient × column over ``frame``, a DataFrame (gives a Series) or a mapping of
    variable → array (gives an array); missing values propagate."""
    var, coef = terms[0]
    out = frame[var].astype("float64") * coef
    for var, coef in terms[1:]:
        out = out + frame[var].astype("float64") * coef
    return out

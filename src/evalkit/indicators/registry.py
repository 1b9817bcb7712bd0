"""The indicator registry: metric definitions as data (``indicators.yaml``; users may pass their own).

An indicator is ``value = scale × numerator / denominator`` (or ``scale × numerator`` without a
denominator). Numerator and denominator are panel variables from :mod:`evalkit.schema`, or
small *linear* expressions of them (``tech_service_income + training_income``,
``2 * a - b``): linear so that summing numerators over units and periods and then evaluating
the formula gives the same number as evaluating it on summed variables. ``expression:
"A / B"`` is shorthand for ``numerator: A, denominator: B``. ``per: {variable: students,
base: 1000}`` is a per-capita base and means ``denominator: students, scale: 1000``.

How an indicator aggregates over a window is part of its definition and derived from the
schema's flow/stock kind of its variables:

* ``flow``  — no denominator, flow variables: summed over the window's periods;
* ``stock`` — no denominator, stock variables: the value at the window's last period;
* ``ratio`` — a denominator: numerator and denominator are each aggregated by their own kind
  (flows summed, stocks at the last period), summed over units for groups, and the ratio is
  recomputed from those sums (never an average of ratios).

Loading validates everything and raises :class:`evalkit.errors.RegistryError` naming the
indicator: unknown keys or variables, variables not reported for the indicator's unit type,
flows mixed with stocks inside one expression, non-linear expressions, bad directions,
unknown level/role/group/unit type/subsystem, duplicate ids, and cycles in the group
hierarchy (``groups:`` entries may name a ``parent``).

The definitions are in :mod:`evalkit.indicators.definition`, the reading and checking of entries
in :mod:`evalkit.indicators.parsing`; this module holds the :class:`Registry` and its loading.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd

from evalkit.errors import RegistryError, check_choice
from evalkit.indicators.definition import (
    AGGREGATION_TEXT,
    AGGREGATIONS,
    DIRECTIONS,
    GRADUATE_ALIASES,
    LEVELS,
    ROLES,
    SUBSYSTEMS,
    Group,
    Indicator,
    Linear,
    evaluate,
)
from evalkit.indicators.definition import format_number
from evalkit.indicators.parsing import check_cycles, parse_groups, parse_indicator

# The definitions' names stay importable from here (``registry.AGGREGATION_TEXT``, ``evaluate``).
__all__ = [
    "AGGREGATION_TEXT",
    "AGGREGATIONS",
    "DIRECTIONS",
    "GRADUATE_ALIASES",
    "LEVELS",
    "ROLES",
    "SUBSYSTEMS",
    "Group",
    "Indicator",
    "Linear",
    "Registry",
    "evaluate",
    "load_registry",
]


@dataclass(frozen=True)
class Registry:
    """A validated set of indicators and their group hierarchy. Iterate it for the indicators."""

    indicators: tuple[Indicator, ...]
    groups: dict[str, Group] = field(default_factory=dict)
    path: str = ""

    def __iter__(self) -> Iterator[Indicator]:
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def __contains__(self, ident: object) -> bool:
        return any(ind.id == ident for ind in self.indicators)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(ind.id for ind in self.indicators)

    def get(self, ident: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == ident:
                return ind
        raise RegistryError(
            f"unknown indicator {ident!r}; the registry ({self.path or 'shipped'}) has: {', '.join(self.ids)}"
        )

    def select(self, ids=None, *, role=None, group=None, unit_type=None) -> "Registry":
        """A sub-registry: the given ids (in that order) and/or those with a role, group (or a
        descendant group) and unit type."""
        inds = [self.get(i) for i in ids] if ids is not None else list(self.indicators)
        if role is not None:
            inds = [i for i in inds if i.role == role]
        if group is not None:
            inds = [i for i in inds if any(group in self.ancestors(g) for g in i.groups)]
        if unit_type is not None:
            inds = [i for i in inds if i.unit_type == unit_type]
        return Registry(tuple(inds), self.groups, self.path)

    def ancestors(self, group: str) -> list[str]:
        """``group`` and its parents up to the root."""
        out = [group]
        node = self.groups.get(group)
        while node is not None and node.parent is not None:
            out.append(node.parent)
            node = self.groups.get(node.parent)
        return out

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for ind in self.indicators:
            rows.append(
                {
                    "id": ind.id,
                    "name_zh": ind.name_zh,
                    "name_en": ind.name_en,
                    "numerator": " + ".join(v if c == 1 else f"{c:g}*{v}" for v, c in ind.numerator),
                    "denominator": (
                        None
                        if ind.denominator is None
                        else " + ".join(v if c == 1 else f"{c:g}*{v}" for v, c in ind.denominator)
                    ),
                    "scale": ind.scale,
                    "per": None if ind.per is None else f"{format_number(ind.per[1])} {ind.per[0]}",
                    "unit": ind.unit,
                    "unit_zh": ind.unit_zh,
                    "direction": ind.direction,
                    "level": ind.level,
                    "role": ind.role,
                    "group": ",".join(ind.groups),
                    "aggregation": ind.aggregation,
                    "numerator_kind": ind.numerator_kind,
                    "denominator_kind": ind.denominator_kind,
                    "unit_type": ind.unit_type,
                    "subsystem": ind.subsystem,
                    "source": ind.source,
                }
            )
        return pd.DataFrame(rows)

    def _group_name(self, g: str, lang: str) -> str:
        grp = self.groups.get(g)
        if grp is None:
            return g
        return grp.name_zh if lang == "zh" else grp.name_en

    def describe(self, lang: Literal["zh", "en"] = "zh") -> str:
        """Plain-text listing grouped by first group (what ``evalkit metrics --list`` prints)."""
        check_choice("lang", lang, ("zh", "en"))
        zh = lang == "zh"
        lines = [
            f"{'指标体系' if zh else 'Indicator registry'}: {len(self)} "
            f"{'项指标' if zh else 'indicators'} ({self.path or ('内置' if zh else 'shipped')})"
        ]
        order: dict[str, list[Indicator]] = {}
        for ind in self.indicators:
            order.setdefault(ind.groups[0], []).append(ind)
        for g, inds in order.items():
            parent = self.groups[g].parent if g in self.groups else None
            head = self._group_name(g, lang) + (f" · {self._group_name(parent, lang)}" if parent else "")
            lines.append("")
            lines.append(f"[{head}]")
            for ind in inds:
                name = ind.name_zh if zh else ind.name_en
                arrow = "↑" if ind.direction == 1 else "↓"
                agg = AGGREGATION_TEXT[ind.aggregation][0 if zh else 1]
                unit = ind.unit_zh if zh else ind.unit
                lines.append(f"  {ind.id:<36} {name}  [{unit}] {arrow}")
                lines.append(f"  {'':<36} = {ind.formula(lang)};  {agg}")
        return "\n".join(lines)

    def methods_markdown(self, lang: Literal["zh", "en"] = "zh") -> str:
        """The report appendix of indicator definitions as a Markdown table."""
        check_choice("lang", lang, ("zh", "en"))
        zh = lang == "zh"
        head = (
            ["代码", "指标", "计算公式", "单位", "方向", "汇总方式", "依据"]
            if zh
            else ["id", "indicator", "formula", "unit", "direction", "aggregation", "source"]
        )
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for ind in self.indicators:
            direction = (
                ("正向" if ind.direction == 1 else "逆向")
                if zh
                else ("higher is better" if ind.direction == 1 else "lower is better")
            )
            cells = [
                f"`{ind.id}`",
                ind.name_zh if zh else ind.name_en,
                ind.formula(lang),
                ind.unit_zh if zh else ind.unit,
                direction,
                AGGREGATION_TEXT[ind.aggregation][0 if zh else 1],
                ind.source,
            ]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        note = (
            "注：比率类指标先分别汇总分子与分母（流量求和、存量取期末），再相除，不对比率取平均。"
            if zh
            else "Note: ratios are recomputed from aggregated numerators and denominators (flows summed, stocks "
            "at the window's end), never averaged."
        )
        return "\n".join(lines) + "\n\n" + note + "\n"


def load_registry(path: str | Path | Mapping | None = None) -> Registry:
    """Load and validate a registry: ``None`` = the shipped ``indicators.yaml``; a path to a user's
    YAML file; or an already-parsed mapping with ``indicators:`` (and optional ``groups:``)."""
    if path is None:
        return _shipped()
    return _load(path)


@lru_cache(maxsize=1)
def _shipped() -> Registry:
    return _load(None)


def _load(path: str | Path | Mapping | None) -> Registry:
    text: str | Path | None
    if path is None:
        text = resources.files("evalkit").joinpath("indicators", "indicators.yaml").read_text(encoding="utf-8")
        label = ""
    elif isinstance(path, Mapping):
        text, label = None, "<mapping>"
    else:
        p = Path(path)
        if not p.is_file():
            raise RegistryError(f"registry file {str(p)!r} not found")
        text, label = p, str(p)  # read by read_yaml: size-capped, UTF-8 checked
    if text is not None:
        from evalkit.yamlio import read_yaml

        data = read_yaml(text if isinstance(text, Path) else text.encode("utf-8"), what="registry", error=RegistryError)
    else:
        data = path
    if not isinstance(data, Mapping) or not isinstance(data.get("indicators"), list) or not data["indicators"]:
        raise RegistryError(
            f"registry {label or 'indicators.yaml'}: expected a mapping with a non-empty `indicators:` list"
        )
    groups = parse_groups(data.get("groups"))
    # Without a `groups:` section, the groups indicators name are taken as flat top-level groups.
    group_ids = set(groups) if "groups" in data else None
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["indicators"]):
        ind = parse_indicator(entry, i, group_ids)
        if ind.id in seen:
            raise RegistryError(f"indicator {ind.id!r}: duplicate id (entry {i + 1}); ids must be unique")
        seen.add(ind.id)
        indicators.append(ind)
    if group_ids is None:
        groups = {g: Group(g, g, g) for ind in indicators for g in ind.groups}
    check_cycles(groups, indicators)
    return Registry(tuple(indicators), groups, label)

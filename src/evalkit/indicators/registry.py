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
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator, Literal, Mapping

import pandas as pd

from evalkit.data import schema
from evalkit.errors import RegistryError

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

LEVELS_ZH = {"input": "投入", "process": "过程", "output": "产出", "outcome": "成效", "context": "背景"}
ROLES_ZH = {"input": "融合投入", "outcome": "成效", "context": "背景"}
AGGREGATION_TEXT = {
    "flow": ("窗口内各期求和", "summed over the window"),
    "stock": ("取窗口最后一期", "value at the window's last period"),
    "ratio": ("分子、分母分别汇总后相除", "recomputed from the window's numerator and denominator"),
}

_FIELDS = {
    "id",
    "name_zh",
    "name_en",
    "numerator",
    "denominator",
    "expression",
    "scale",
    "per",
    "unit",
    "unit_zh",
    "direction",
    "level",
    "role",
    "group",
    "aggregation",
    "source",
    "unit_type",
    "subsystem",
    "description",
}
_REQUIRED = ("id", "name_zh", "name_en", "unit", "direction", "level", "role", "group", "source", "unit_type")
_GROUP_FIELDS = {"id", "name_zh", "name_en", "parent", "source"}
_VARIABLES = {c.name: c for c in schema.PANEL_VARIABLES}

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
            _VARIABLES[v].unit not in ("10k yuan", "yuan/month") for v, _ in self.denominator
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
            text += f" × {_num(self.scale)}"
        return text


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _linear_text(terms: Linear, lang: str) -> str:
    parts = []
    for i, (var, coef) in enumerate(terms):
        name = _VARIABLES[var].zh if lang == "zh" else _VARIABLES[var].meaning
        sign = "−" if coef < 0 else "+"
        mag = abs(coef)
        piece = name if mag == 1 else f"{_num(mag)}·{name}"
        parts.append(piece if i == 0 and sign == "+" else (f"−{piece}" if i == 0 else f" {sign} {piece}"))
    return "".join(parts)


def evaluate(terms: Linear, frame: pd.DataFrame) -> pd.Series:
    """Σ coefficient × column over ``frame`` (missing values propagate)."""
    var, coef = terms[0]
    out = frame[var].astype("float64") * coef
    for var, coef in terms[1:]:
        out = out + frame[var].astype("float64") * coef
    return out


# --------------------------------------------------------------------------- parsing


def _parse_linear(text: object, where: str) -> Linear:
    """Parse a linear combination of variables: ``a``, ``a + b``, ``2*a - b/2``."""
    if not isinstance(text, str) or not text.strip():
        raise RegistryError(f"{where}: expected a variable name or a linear expression, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise RegistryError(
            f"{where}: cannot read the expression {text!r} (use variable names, numbers, +, -, and * or / by a number)"
        ) from None
    terms: dict[str, float] = {}

    def walk(node: ast.AST, coef: float) -> None:
        if isinstance(node, ast.Name):
            terms[node.id] = terms.get(node.id, 0.0) + coef
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            walk(node.operand, -coef if isinstance(node.op, ast.USub) else coef)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            walk(node.left, coef)
            walk(node.right, -coef if isinstance(node.op, ast.Sub) else coef)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            left_c, right_c = _constant(node.left), _constant(node.right)
            if right_c is not None and right_c != 0:
                walk(node.left, coef * right_c if isinstance(node.op, ast.Mult) else coef / right_c)
            elif left_c is not None and isinstance(node.op, ast.Mult):
                walk(node.right, coef * left_c)
            else:
                raise RegistryError(
                    f"{where}: {text!r} is not linear: a variable may only be multiplied or "
                    f"divided by a number (put a ratio in numerator/denominator instead)"
                )
        elif _constant(node) is not None:
            raise RegistryError(
                f"{where}: {text!r} adds a constant; only variables times numbers are allowed "
                f"(a constant would not add up over units and periods)"
            )
        else:
            raise RegistryError(
                f"{where}: cannot read {ast.unparse(node)!r} in {text!r} (use variable names, "
                f"numbers, +, -, and * or / by a number)"
            )

    walk(tree, 1.0)
    return tuple((v, c) for v, c in terms.items() if c != 0)


def _constant(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant(node.operand)
        return None if inner is None else -inner
    return None


def _split_ratio(text: object, where: str) -> tuple[str, str | None]:
    """``"A / B"`` at the top level → (A, B) when B contains a variable; otherwise (text, None)."""
    if not isinstance(text, str):
        raise RegistryError(f"{where}: expression must be text, got {text!r}")
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise RegistryError(f"{where}: cannot read the expression {text!r}") from None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _constant(node.right) is None:
        return ast.unparse(node.left), ast.unparse(node.right)
    return text, None


def _resolve(terms: Linear, where: str, unit_type: str) -> tuple[Linear, str]:
    """Map graduate aliases to panel flows, check each variable exists and applies to ``unit_type``,
    and return the terms with their common flow/stock kind."""
    out: dict[str, float] = {}
    for var, coef in terms:
        name = GRADUATE_ALIASES.get(var, var)
        if name not in _VARIABLES:
            raise RegistryError(
                f"{where}: unknown variable {var!r}. Known panel variables: {', '.join(_VARIABLES)}; "
                f"graduate columns: {', '.join(GRADUATE_ALIASES)}"
            )
        if unit_type not in _VARIABLES[name].applies_to:
            raise RegistryError(
                f"{where}: variable {name!r} is reported for {', '.join(_VARIABLES[name].applies_to)} units, "
                f"not for unit_type {unit_type!r}"
            )
        out[name] = out.get(name, 0.0) + coef
    kinds = {_VARIABLES[v].kind for v in out}
    if len(kinds) != 1:
        detail = ", ".join(f"{v} ({_VARIABLES[v].kind})" for v in out)
        raise RegistryError(
            f"{where}: mixes flows and stocks ({detail}); they aggregate differently over a "
            f"window — split it into separate indicators"
        )
    return tuple(out.items()), kinds.pop()


def _indicator(entry: object, index: int, group_ids: set[str] | None) -> Indicator:
    if not isinstance(entry, Mapping):
        raise RegistryError(f"indicator entry {index + 1}: expected a mapping of keys, got {entry!r}")
    ident = entry.get("id")
    where = f"indicator {ident!r}" if ident else f"indicator entry {index + 1}"
    if not isinstance(ident, str) or not ident.isidentifier():
        raise RegistryError(f"{where}: `id` must be a name of letters, digits and underscores, got {ident!r}")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise RegistryError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: {', '.join(sorted(_FIELDS))}"
        )
    missing = [k for k in _REQUIRED if entry.get(k) in (None, "", [])]
    if missing:
        raise RegistryError(f"{where}: missing {', '.join(missing)}")

    direction = entry["direction"]
    if isinstance(direction, bool) or direction not in DIRECTIONS:
        raise RegistryError(
            f"{where}: direction must be 1 (higher is better) or -1 (lower is better), got {direction!r}"
        )
    for key, allowed in (("level", LEVELS), ("role", ROLES)):
        if entry[key] not in allowed:
            raise RegistryError(f"{where}: unknown {key} {entry[key]!r}; allowed: {', '.join(allowed)}")
    unit_type = entry["unit_type"]
    if unit_type not in schema.UNIT_TYPES:
        raise RegistryError(f"{where}: unknown unit_type {unit_type!r}; allowed: {', '.join(schema.UNIT_TYPES)}")
    subsystem = entry.get("subsystem")
    if subsystem is None and entry["role"] != "context":
        raise RegistryError(f"{where}: missing subsystem (education or industry; only context indicators may omit it)")
    if subsystem is not None and subsystem not in SUBSYSTEMS:
        raise RegistryError(f"{where}: unknown subsystem {subsystem!r}; allowed: {', '.join(SUBSYSTEMS)}")
    groups = entry["group"]
    groups = (groups,) if isinstance(groups, str) else tuple(groups)
    for g in groups:
        if group_ids is not None and g not in group_ids:
            raise RegistryError(
                f"{where}: unknown group {g!r}; define it under `groups:` (known: {', '.join(sorted(group_ids))})"
            )

    # formula
    has_expr = entry.get("expression") is not None
    if has_expr and (entry.get("numerator") is not None or entry.get("denominator") is not None):
        raise RegistryError(f"{where}: give either `expression` or `numerator`/`denominator`, not both")
    if has_expr:
        num_text, den_text = _split_ratio(entry["expression"], f"{where} expression")
    else:
        num_text, den_text = entry.get("numerator"), entry.get("denominator")
        if num_text is None:
            raise RegistryError(f"{where}: missing the formula (`numerator`, optional `denominator`, or `expression`)")
    scale = entry.get("scale", 1)
    per = entry.get("per")
    per_pair = None
    if per is not None:
        if den_text is not None:
            raise RegistryError(f"{where}: `per` is a per-capita denominator; do not also give a denominator")
        if not isinstance(per, Mapping) or set(per) != {"variable", "base"}:
            raise RegistryError(f"{where}: `per` must be {{variable: NAME, base: NUMBER}}, got {per!r}")
        if "scale" in entry:
            raise RegistryError(f"{where}: `per` sets the scale to its base; do not also give `scale`")
        den_text, scale = per["variable"], per["base"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise RegistryError(f"{where}: scale (or per base) must be a positive number, got {scale!r}")
    numerator, num_kind = _resolve(_parse_linear(num_text, f"{where} numerator"), f"{where} numerator", unit_type)
    denominator, den_kind = None, None
    if den_text is not None:
        denominator, den_kind = _resolve(
            _parse_linear(den_text, f"{where} denominator"), f"{where} denominator", unit_type
        )
    if per is not None:
        per_pair = (denominator[0][0], float(scale))
    derived = "ratio" if denominator is not None else num_kind
    declared = entry.get("aggregation")
    if declared is not None and declared not in AGGREGATIONS:
        raise RegistryError(f"{where}: unknown aggregation {declared!r}; allowed: {', '.join(AGGREGATIONS)}")
    if declared is not None and declared != derived:
        raise RegistryError(
            f"{where}: aggregation {declared!r} contradicts the formula, which is a {derived} "
            f"(from the schema's flow/stock kinds); remove `aggregation` or fix it"
        )
    return Indicator(
        id=ident,
        name_zh=str(entry["name_zh"]),
        name_en=str(entry["name_en"]),
        numerator=numerator,
        denominator=denominator,
        scale=float(scale),
        unit=str(entry["unit"]),
        unit_zh=str(entry.get("unit_zh") or entry["unit"]),
        direction=int(direction),
        level=entry["level"],
        role=entry["role"],
        groups=groups,
        aggregation=derived,
        numerator_kind=num_kind,
        denominator_kind=den_kind,
        source=str(entry["source"]),
        unit_type=unit_type,
        subsystem=subsystem,
        per=per_pair,
        description=str(entry.get("description") or ""),
    )


def _groups(raw: object) -> dict[str, Group]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise RegistryError("`groups:` must be a list of {id, name_zh, name_en, parent?}")
    out: dict[str, Group] = {}
    for i, g in enumerate(raw):
        if not isinstance(g, Mapping) or not g.get("id"):
            raise RegistryError(f"group entry {i + 1}: needs at least an `id`, got {g!r}")
        unknown = set(g) - _GROUP_FIELDS
        if unknown:
            raise RegistryError(f"group {g['id']!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        if g["id"] in out:
            raise RegistryError(f"group {g['id']!r}: defined twice")
        out[g["id"]] = Group(
            g["id"],
            str(g.get("name_zh", g["id"])),
            str(g.get("name_en", g["id"])),
            g.get("parent"),
            str(g.get("source", "")),
        )
    for g in out.values():
        if g.parent is not None and g.parent not in out:
            raise RegistryError(f"group {g.id!r}: unknown parent {g.parent!r}")
    return out


def _check_cycles(groups: dict[str, Group], indicators: list[Indicator]) -> None:
    for start in groups:
        seen = [start]
        node = groups[start].parent
        while node is not None:
            if node in seen:
                cycle = " → ".join(seen[seen.index(node) :] + [node])
                users = [ind.id for ind in indicators if set(ind.groups) & set(seen)]
                who = f"indicator {users[0]!r}" if users else "the registry"
                raise RegistryError(
                    f"{who}: its group hierarchy has a cycle: {cycle}; each group may have one "
                    f"parent and no group may be its own ancestor"
                )
            seen.append(node)
            node = groups[node].parent


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
        while self.groups.get(out[-1]) is not None and self.groups[out[-1]].parent is not None:
            out.append(self.groups[out[-1]].parent)
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
                    "per": None if ind.per is None else f"{_num(ind.per[1])} {ind.per[0]}",
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
        _check_lang(lang)
        zh = lang == "zh"
        lines = [
            f"{'指标体系' if zh else 'Indicator registry'}: {len(self)} "
            f"{'项指标' if zh else 'indicators'} ({self.path or ('内置' if zh else 'shipped')})"
        ]
        order: dict[str, list[Indicator]] = {}
        for ind in self.indicators:
            order.setdefault(ind.groups[0], []).append(ind)
        for g, inds in order.items():
            parent = self.groups.get(g).parent if g in self.groups else None
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
        _check_lang(lang)
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


def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")


def load_registry(path: str | Path | Mapping | None = None) -> Registry:
    """Load and validate a registry: ``None`` = the shipped ``indicators.yaml``; a path to a user's
    YAML file; or an already-parsed mapping with ``indicators:`` (and optional ``groups:``)."""
    if path is None:
        return _shipped()
    return _load(path)


@lru_cache(maxsize=1)
def _shipped() -> Registry:
    return _load(None)


def _load(path) -> Registry:
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
    groups = _groups(data.get("groups"))
    # Without a `groups:` section, the groups indicators name are taken as flat top-level groups.
    group_ids = set(groups) if "groups" in data else None
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["indicators"]):
        ind = _indicator(entry, i, group_ids)
        if ind.id in seen:
            raise RegistryError(f"indicator {ind.id!r}: duplicate id (entry {i + 1}); ids must be unique")
        seen.add(ind.id)
        indicators.append(ind)
    if group_ids is None:
        groups = {g: Group(g, g, g) for ind in indicators for g in ind.groups}
    _check_cycles(groups, indicators)
    return Registry(tuple(indicators), groups, label)

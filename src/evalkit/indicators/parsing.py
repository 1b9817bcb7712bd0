"""Reading indicator entries: linear expressions of panel variables (``2 * a - b / 2``; anything
non-linear is refused), ``expression: "A / B"`` and ``per:`` shorthands, graduate-column aliases,
every key checked against its vocabulary; groups and their hierarchy (no cycles). Each problem
raises :class:`~evalkit.errors.RegistryError` naming the indicator."""

from __future__ import annotations

import ast
from collections.abc import Mapping

from evalkit.data import schema
from evalkit.errors import RegistryError
from evalkit.indicators.definition import (
    AGGREGATIONS,
    DIRECTIONS,
    GRADUATE_ALIASES,
    LEVELS,
    ROLES,
    SUBSYSTEMS,
    VARIABLES,
    Group,
    Indicator,
    Linear,
)

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
        if name not in VARIABLES:
            raise RegistryError(
                f"{where}: unknown variable {var!r}. Known panel variables: {', '.join(VARIABLES)}; "
                f"graduate columns: {', '.join(GRADUATE_ALIASES)}"
            )
        if unit_type not in VARIABLES[name].applies_to:
            raise RegistryError(
                f"{where}: variable {name!r} is reported for {', '.join(VARIABLES[name].applies_to)} units, "
                f"not for unit_type {unit_type!r}"
            )
        out[name] = out.get(name, 0.0) + coef
    kinds = {VARIABLES[v].kind for v in out}
    if len(kinds) != 1:
        detail = ", ".join(f"{v} ({VARIABLES[v].kind})" for v in out)
        raise RegistryError(
            f"{where}: mixes flows and stocks ({detail}); they aggregate differently over a "
            f"window — split it into separate indicators"
        )
    return tuple(out.items()), kinds.pop()


def parse_indicator(entry: object, index: int, group_ids: set[str] | None) -> Indicator:
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
    num_text: object
    den_text: object | None
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
    if per is not None and denominator is not None:
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


def parse_groups(raw: object) -> dict[str, Group]:
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


def check_cycles(groups: dict[str, Group], indicators: list[Indicator]) -> None:
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

"""The evaluation framework as data: first level (基础性 / 实质性 / 否定性指标) → second level
(the scorecard's dimensions and the review's chapters) → third level → observation points, each
mapped to a registry indicator with a target rule or to a checklist item of the evidence table.

``load_framework()`` reads ``framework.yaml`` beside this module — the project's reading of
《市域产教联合体建设标准（试行）》 (教职成厅函〔2024〕20号), whose official table is not public —
or a user's file (the params key ``framework:``). Every problem of a file (unknown indicator or
item, a cycle, weights not summing to 1, duplicate ids, …) is listed in one ``ParamsError``.
Nothing here computes or displays; :mod:`evalkit.review.verdict` judges a PhaseAnalysis by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import ParamsError, Problem
from evalkit.i18n import Lang

DEFAULT_PATH = Path(__file__).with_name("framework.yaml")
CHECKLIST_PATH = Path(__file__).resolve().parents[1] / "indicators" / "checklist.yaml"
KINDS = ("basic", "substantive", "veto")
RULES = ("target", "trend", "members_vs_comparison", "threshold")
TOP_KEYS = {"version", "title_zh", "title_en", "official", "thresholds", "nodes", "points"}
NODE_KEYS = {"id", "parent", "name_zh", "name_en", "kind", "weight", "tags"}
POINT_KEYS = {"id", "parent", "indicator", "item", "rule", "fallback", "name_zh", "name_en", "veto", "weight", "tags"}
THRESHOLDS = {"green": 0.8, "amber": 0.5, "target_amber": 0.9, "trend_flat": 0.01}
# The checklist items of the evidence table when indicators/checklist.yaml is not there yet.
FALLBACK_ITEMS = (
    "council_established",
    "council_met",
    "charter_adopted",
    "operating_entity",
    "mixed_ownership",
    "shared_platforms",
    "list_core_products",
    "list_tech_demand",
    "list_talent_demand",
    "lists_updated",
    "industrial_college_operating",
    "policy_finance",
    "policy_tax",
    "policy_land",
    "policy_credit",
)
DEFAULT_LABEL = (
    "评价框架：本项目对建设标准的解读，正式指标表载入前以此为准",
    "framework: project's reading of the standard until the official table is loaded",
)


@dataclass(frozen=True)
class Node:
    """A first-, second- or third-level indicator of the framework."""

    id: str
    name_zh: str
    name_en: str
    level: int
    parent: str | None = None
    kind: str = ""  # the first-level class it belongs to: basic | substantive | veto
    weight: float = 1.0  # among its siblings
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Point:
    """An observation point (观测点): a registry indicator with a rule, or a checklist item."""

    id: str
    parent: str
    name_zh: str
    name_en: str
    indicator: str | None = None
    item: str | None = None
    rule: dict[str, Any] = field(default_factory=dict)  # {"kind": target|trend|…, "value", "direction"}
    fallback: dict[str, Any] | None = None  # the rule used when a target rule has no target
    veto: bool = False
    weight: float = 1.0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Framework:
    """A validated framework. ``official`` is false for the project's reading."""

    title_zh: str
    title_en: str
    nodes: dict[str, Node]
    points: tuple[Point, ...]
    official: bool = False
    source: Path | None = None
    is_default: bool = True
    thresholds: dict[str, float] = field(default_factory=lambda: dict(THRESHOLDS))

    def children(self, node_id: str | None) -> list[Node]:
        return [n for n in self.nodes.values() if n.parent == node_id]

    @property
    def classes(self) -> list[Node]:
        """The first level, in file order."""
        return self.children(None)

    @property
    def dimensions(self) -> list[Node]:
        """The second level (the scorecard's rows and the chapters), in file order."""
        return [n for n in self.nodes.values() if n.level == 2]

    def points_of(self, node_id: str) -> list[Point]:
        """Every observation point under ``node_id`` (any level), in file order."""
        below = {node_id}
        for n in self.nodes.values():  # file order: parents come first in a valid file
            if n.parent in below:
                below.add(n.id)
        return [p for p in self.points if p.parent in below]

    def dimension_of(self, point: Point) -> Node:
        node = self.nodes[point.parent]
        while node.level > 2:
            node = self.nodes[node.parent]  # type: ignore[index]
        return node

    def label(self, lang: Lang) -> str:
        """The line every report shows about the framework it used."""
        from evalkit.i18n import label

        if self.is_default:
            return label(*DEFAULT_LABEL, lang)
        kind = ("正式指标表", "official table") if self.official else ("用户提供", "user-supplied")
        name = self.source.name if self.source else "—"
        return label(
            f"评价框架：{self.title_zh}（{kind[0]}，{name}）", f"framework: {self.title_en} ({kind[1]}, {name})", lang
        )


def known_items(path: Path | None = None) -> set[str]:
    """Checklist item ids of the evidence table (``indicators/checklist.yaml``; a built-in list
    while that file is absent)."""
    path = path or CHECKLIST_PATH
    if not path.exists():
        return set(FALLBACK_ITEMS)
    raw = read_yaml(path)
    items = raw.get("items", raw) if isinstance(raw, dict) else raw
    if isinstance(items, dict):
        return {str(k) for k in items}
    return {str(i["id"]) for i in items or [] if isinstance(i, dict) and "id" in i}


def load_framework(path: str | Path | None = None, *, registry=None, items: set[str] | None = None) -> Framework:
    """Read and validate a framework file (default: the project's reading, ``framework.yaml``).

    Parameters
    ----------
    path : str or Path, optional
        A user's framework file; None for the bundled one.
    registry : Registry, optional
        The indicators a point may name (default: the bundled registry).
    items : set of str, optional
        The checklist items a point may name (default: :func:`known_items`).

    Raises
    ------
    ParamsError
        Listing every problem of the file.
    """
    src = Path(path) if path else DEFAULT_PATH
    if not src.exists():
        raise ParamsError(f"framework file not found: {src}")
    raw = read_yaml(src)
    if registry is None:
        from evalkit.indicators.registry import load_registry

        registry = load_registry(None)
    fw = parse_framework(raw, source=str(src), indicators=set(registry.ids), items=items or known_items())
    return Framework(
        fw.title_zh, fw.title_en, fw.nodes, fw.points, fw.official, src.resolve(), path is None, fw.thresholds
    )


def parse_framework(raw: Any, *, source: str, indicators: set[str], items: set[str]) -> Framework:
    """Validate a framework mapping; collects every problem, then raises one ParamsError."""
    from evalkit.review.methods import params_error

    problems: list[Problem] = []

    def bad(key: str, value: Any, rule: str) -> None:
        problems.append(Problem(source, None, key, value, rule))

    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: a framework file is a YAML mapping with nodes and points")
    for key in raw:
        if key not in TOP_KEYS:
            bad(str(key), raw[key], "unknown key (allowed: " + ", ".join(sorted(TOP_KEYS)) + ")")
    thresholds = dict(THRESHOLDS)
    for k, v in (raw.get("thresholds") or {}).items():
        if k not in THRESHOLDS or not _num(v) or not 0 <= v <= 1:
            bad(f"thresholds.{k}", v, "known thresholds are " + ", ".join(THRESHOLDS) + ", each from 0 to 1")
        else:
            thresholds[k] = float(v)
    raw_nodes, raw_points = raw.get("nodes"), raw.get("points")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        bad("nodes", raw_nodes, "a list of first-, second- and third-level indicators is required")
        raw_nodes = []
    if not isinstance(raw_points, list) or not raw_points:
        bad("points", raw_points, "a list of observation points is required")
        raw_points = []
    seen: dict[str, str] = {}
    entries: list[dict] = []
    for where, lst, keys in (("nodes", raw_nodes, NODE_KEYS), ("points", raw_points, POINT_KEYS)):
        for i, e in enumerate(lst):
            if not isinstance(e, dict) or not isinstance(e.get("id"), str) or not e["id"]:
                bad(f"{where}[{i}]", e, "each entry is a mapping with an id")
                continue
            for k in set(e) - keys:
                bad(f"{where}.{e['id']}.{k}", e[k], "unknown key (allowed: " + ", ".join(sorted(keys)) + ")")
            if e["id"] in seen:
                bad(f"{where}.{e['id']}", e["id"], f"duplicate id (also in {seen[e['id']]})")
                continue
            seen[e["id"]] = where
            if where == "nodes":
                entries.append(e)
    node_raw = {e["id"]: e for e in entries}
    # parents, cycles and depth
    level: dict[str, int] = {}
    for nid, e in node_raw.items():
        chain, cur = [nid], e.get("parent")
        while cur is not None:
            if cur not in node_raw:
                if cur == e.get("parent"):
                    bad(f"nodes.{nid}.parent", cur, "unknown parent id")
                break
            if cur in chain:
                bad(f"nodes.{nid}.parent", e.get("parent"), "cycle: " + " → ".join([*chain, cur]))
                break
            chain.append(cur)
            cur = node_raw[cur].get("parent")
        else:
            level[nid] = len(chain)
            if len(chain) > 3:
                bad(f"nodes.{nid}", nid, "deeper than three levels (observation points go under points)")
    nodes: dict[str, Node] = {}
    for nid, e in node_raw.items():
        if nid not in level:
            continue
        top = nid
        while node_raw[top].get("parent") is not None:
            top = node_raw[top]["parent"]
        kind = node_raw[top].get("kind", "")
        if level[nid] == 1 and kind not in KINDS:
            bad(f"nodes.{nid}.kind", kind, "a first-level indicator's kind is basic, substantive or veto")
        elif level[nid] > 1 and "kind" in e:
            bad(f"nodes.{nid}.kind", e["kind"], "only first-level indicators have a kind")
        for k in ("name_zh", "name_en"):
            if not isinstance(e.get(k), str) or not e[k]:
                bad(f"nodes.{nid}.{k}", e.get(k), "a name is required")
        nodes[nid] = Node(
            nid,
            str(e.get("name_zh", nid)),
            str(e.get("name_en", nid)),
            level[nid],
            e.get("parent"),
            kind,
            1.0,
            tuple(str(t) for t in e.get("tags") or ()),
        )
    points: list[Point] = []
    for i, e in enumerate(raw_points):
        if not isinstance(e, dict) or seen.get(e.get("id", "")) != "points" or any(p.id == e["id"] for p in points):
            continue
        pid, parent = e["id"], e.get("parent")
        if parent not in nodes or nodes[parent].level != 3:
            bad(f"points.{pid}.parent", parent, "must be a third-level indicator's id")
        if ("indicator" in e) == ("item" in e):
            bad(f"points.{pid}", pid, "names exactly one of indicator (a registry id) or item (a checklist item)")
        rule, fallback = {}, None
        if "indicator" in e:
            if e["indicator"] not in indicators:
                bad(f"points.{pid}.indicator", e["indicator"], "unknown indicator id (see `evalkit metrics --list`)")
            rule = _rule(e.get("rule"), f"points.{pid}.rule", bad) or {}
            if "fallback" in e:
                fallback = _rule(e["fallback"], f"points.{pid}.fallback", bad)
                if fallback and fallback["kind"] == "target":
                    bad(f"points.{pid}.fallback", e["fallback"], "a fallback cannot be another target")
        elif "item" in e:
            if e["item"] not in items:
                bad(f"points.{pid}.item", e["item"], "unknown checklist item (known: " + ", ".join(sorted(items)) + ")")
            if "rule" in e or "fallback" in e:
                bad(f"points.{pid}.rule", e.get("rule"), "a checklist item is judged by its evidence: no rule")
        if "veto" in e and not isinstance(e["veto"], bool):
            bad(f"points.{pid}.veto", e["veto"], "true or false")
        points.append(
            Point(
                pid,
                str(parent),
                str(e.get("name_zh") or ""),
                str(e.get("name_en") or ""),
                e.get("indicator"),
                e.get("item"),
                rule,
                fallback,
                bool(e.get("veto")) or (parent in nodes and nodes[parent].kind == "veto"),
                1.0,
                tuple(str(t) for t in e.get("tags") or ()),
            )
        )
    # weights among siblings (nodes of a veto class and veto points are not weighted)
    weights: dict[str, float] = {}
    groups: dict[tuple[str, str | None], list[dict]] = {}
    for e in [*node_raw.values(), *(x for x in raw_points if isinstance(x, dict) and x.get("id") in seen)]:
        key = ("points" if seen.get(e["id"]) == "points" else "nodes", e.get("parent"))
        groups.setdefault(key, []).append(e)
    for (where, parent), sibs in groups.items():
        scored = [e for e in sibs if not _is_veto(e, nodes, where)]
        given = [e for e in scored if "weight" in e]
        for e in sibs:
            if "weight" in e and _is_veto(e, nodes, where):
                bad(f"{where}.{e['id']}.weight", e["weight"], "a veto indicator or red line carries no weight")
        if not scored:
            continue
        if not given:
            for e in scored:
                weights[e["id"]] = 1.0 / len(scored)
            continue
        if len(given) != len(scored):
            missing = [e["id"] for e in scored if "weight" not in e]
            bad(f"{where} under {parent or 'the top'}", ", ".join(missing), "weights: give every sibling one, or none")
            continue
        if any(not _num(e["weight"]) or e["weight"] < 0 for e in given):
            bad(f"{where} under {parent or 'the top'}", [e["weight"] for e in given], "weights are numbers ≥ 0")
            continue
        total = sum(float(e["weight"]) for e in given)
        if abs(total - 1.0) > 1e-6:
            bad(
                f"{where} under {parent or 'the top'}",
                {e["id"]: e["weight"] for e in given},
                f"weights sum to {total:g}, not 1",
            )
            continue
        for e in given:
            weights[e["id"]] = float(e["weight"])
    for nid, n in nodes.items():
        if n.level == 3 and not any(p.parent == nid for p in points):
            bad(f"nodes.{nid}", nid, "a third-level indicator needs at least one observation point")
        if n.level < 3 and not any(c.parent == nid for c in nodes.values()):
            bad(f"nodes.{nid}", nid, "has no indicators below it")
    if problems:
        raise params_error(problems, source)
    nodes = {k: _with_weight(n, weights.get(k, 0.0)) for k, n in nodes.items()}
    points = [_with_weight(p, weights.get(p.id, 0.0)) for p in points]
    return Framework(
        str(raw.get("title_zh") or "评价框架"),
        str(raw.get("title_en") or "Evaluation framework"),
        nodes,
        tuple(points),
        bool(raw.get("official", False)),
        thresholds=thresholds,
    )


def read_yaml(path: Path) -> Any:
    """A framework or checklist file (bounded YAML reader); a syntax or encoding problem is a ParamsError."""
    import yaml

    from evalkit.yamlio import read_yaml as _read_bounded

    try:
        return _read_bounded(Path(path), what="framework file", error=ParamsError)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise ParamsError(f"{path}: not UTF-8 text; save the file as UTF-8") from None


def _with_weight(obj, weight: float):
    import dataclasses

    return dataclasses.replace(obj, weight=weight)


def _is_veto(e: dict, nodes: dict[str, Node], where: str) -> bool:
    if where == "points":
        parent = nodes.get(e.get("parent"))  # type: ignore[arg-type]
        return bool(e.get("veto")) or (parent is not None and parent.kind == "veto")
    n = nodes.get(e["id"])
    return n is not None and n.kind == "veto"


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _rule(value: Any, key: str, bad) -> dict[str, Any] | None:
    if isinstance(value, str) and value in ("target", "trend", "members_vs_comparison"):
        return {"kind": value}
    if isinstance(value, dict) and set(value) <= {"threshold", "direction"} and "threshold" in value:
        direction = value.get("direction", 1)
        if not _num(value["threshold"]) or direction not in (1, -1):
            bad(key, value, "threshold is a number and direction 1 or -1")
            return None
        return {"kind": "threshold", "value": float(value["threshold"]), "direction": int(direction)}
    bad(key, value, "a rule is target, trend, members_vs_comparison or {threshold: X, direction: 1 | -1}")
    return None

"""The construction checklist (建设清单) and its evidence table: the items as data
(``evalkit/indicators/checklist.yaml``: governance, platforms and the three lists, industrial
colleges, the policy package; bilingual names, binary or ordinal 0–3 scale, group, red-line
candidate, whose item it is) and the checks of the optional ``evidence`` table against them.

Evidence rules: an unknown ``item_id`` is an error; a status outside the item's scale (binary
0/1, ordinal 0–3) is an error; a unit that is neither in the units table nor the consortium as a
whole (``unit_id`` empty or ``consortium``) is an error; an ``as_of`` date after the end of the
data is an error (like every other date); a claim (status > 0) without ``evidence_ref`` is a
warning, and so is an item given for a kind of unit it is not about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data.raw import Collector, RawTable

SCALES = {"binary": 1, "ordinal": 3}  # scale → highest status
APPLIES_TO = ("consortium", *schema.UNIT_TYPES)
_ITEM_FIELDS = {
    "id",
    "name_zh",
    "name_en",
    "scale",
    "group",
    "veto_candidate",
    "applies_to",
    "in_period",
    "levels",
    "source",
}


class ChecklistError(ValueError):
    """A checklist file that cannot be used (the message names the item)."""


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    name_zh: str
    name_en: str
    scale: str  # binary | ordinal
    group: str
    veto_candidate: bool
    applies_to: tuple[str, ...]
    in_period: bool
    levels: tuple[tuple[int, str, str], ...] = ()  # (status, zh, en) for ordinal items
    source: str = ""

    @property
    def max_status(self) -> int:
        return SCALES[self.scale]


@dataclass(frozen=True)
class Checklist:
    items: tuple[ChecklistItem, ...]
    groups: dict[str, tuple[str, str]]  # id → (name_zh, name_en)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)

    def get(self, item_id: str) -> ChecklistItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(f"no checklist item {item_id!r}; known: {', '.join(self.ids)}")

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def table(self) -> pd.DataFrame:
        """One row per item: id, names, scale, group, veto candidate, applies to, in period."""
        return pd.DataFrame(
            [
                {
                    "id": i.id,
                    "name_zh": i.name_zh,
                    "name_en": i.name_en,
                    "scale": i.scale,
                    "max_status": i.max_status,
                    "group": i.group,
                    "veto_candidate": i.veto_candidate,
                    "applies_to": ", ".join(i.applies_to),
                    "in_period": i.in_period,
                }
                for i in self.items
            ]
        )


def _item(entry: object, k: int, groups: Mapping[str, tuple[str, str]]) -> ChecklistItem:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
        raise ChecklistError(f"checklist item {k + 1}: expected a mapping with an `id`, got {entry!r}")
    where = f"checklist item {entry['id']!r}"
    unknown = set(entry) - _ITEM_FIELDS
    if unknown:
        raise ChecklistError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    for key in ("name_zh", "name_en", "scale", "group"):
        if not entry.get(key):
            raise ChecklistError(f"{where}: missing {key}")
    if entry["scale"] not in SCALES:
        raise ChecklistError(f"{where}: scale must be binary or ordinal, got {entry['scale']!r}")
    if entry["group"] not in groups:
        raise ChecklistError(f"{where}: unknown group {entry['group']!r} (known: {', '.join(groups)})")
    applies = entry.get("applies_to") or ["consortium"]
    applies = [applies] if isinstance(applies, str) else list(applies)
    bad = [a for a in applies if a not in APPLIES_TO]
    if bad:
        raise ChecklistError(f"{where}: applies_to {bad} not in {', '.join(APPLIES_TO)}")
    for key in ("veto_candidate", "in_period"):
        if not isinstance(entry.get(key, False), bool):
            raise ChecklistError(f"{where}: {key} must be true or false")
    levels = tuple(
        (int(lv["status"]), str(lv.get("zh", "")), str(lv.get("en", ""))) for lv in entry.get("levels") or ()
    )
    if entry["scale"] == "ordinal" and sorted(s for s, _, _ in levels) != [0, 1, 2, 3]:
        raise ChecklistError(f"{where}: an ordinal item describes each status 0, 1, 2 and 3 under `levels`")
    return ChecklistItem(
        id=entry["id"],
        name_zh=str(entry["name_zh"]),
        name_en=str(entry["name_en"]),
        scale=entry["scale"],
        group=entry["group"],
        veto_candidate=bool(entry.get("veto_candidate", False)),
        applies_to=tuple(applies),
        in_period=bool(entry.get("in_period", False)),
        levels=levels,
        source=str(entry.get("source", "")),
    )


def parse_checklist(data: object) -> Checklist:
    """A checklist from its parsed YAML (``{groups: [...], items: [...]}``)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("items"), list) or not data["items"]:
        raise ChecklistError("a checklist needs a non-empty `items:` list")
    groups = {str(g["id"]): (str(g.get("name_zh", g["id"])), str(g.get("name_en", g["id"]))) for g in data["groups"]}
    items = tuple(_item(e, k, groups) for k, e in enumerate(data["items"]))
    ids = [i.id for i in items]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ChecklistError(f"checklist items defined twice: {', '.join(dup)}")
    return Checklist(items, groups)


@lru_cache(maxsize=1)
def _shipped() -> Checklist:
    from evalkit.yamlio import read_yaml

    text = resources.files("evalkit").joinpath("indicators", "checklist.yaml").read_text(encoding="utf-8")
    return parse_checklist(read_yaml(text.encode("utf-8"), what="checklist", error=ChecklistError))


def load_checklist(path: str | Path | None = None) -> Checklist:
    """The shipped checklist (``None``) or a user's checklist YAML of the same form."""
    if path is None:
        return _shipped()
    from evalkit.yamlio import read_yaml

    return parse_checklist(read_yaml(Path(path), what="checklist", error=ChecklistError))


# --------------------------------------------------------------------------- the evidence table
def check_evidence(
    raw: RawTable,
    evidence: pd.DataFrame,
    types: Mapping[str, str],
    last_day: pd.Timestamp | None,
    why: str,
    c: Collector,
    checklist: Checklist | None = None,
) -> pd.DataFrame:
    """Check the typed evidence table (see the module doc); return it with empty unit ids read as
    ``consortium``. ``types``: unit_id → unit_type; ``last_day``: the last day of the data."""
    checklist = checklist or load_checklist()
    items = {i.id: i for i in checklist}
    unit = evidence["unit_id"].fillna(schema.CONSORTIUM_UNIT).astype("str")
    evidence = evidence.assign(unit_id=unit)
    item = evidence["item_id"]
    unknown = (item.notna() & ~item.isin(list(items))).to_numpy(dtype=bool)
    c.rows(
        raw,
        unknown,
        "item_id",
        item,
        f"unknown checklist item; known items: {', '.join(items)} (see evalkit/indicators/checklist.yaml)",
    )
    status = evidence["status"].astype("Float64")
    top = item.map(lambda i: items[i].max_status if i in items else np.nan).astype("float64")
    over = ((status > top) | (status < 0)).fillna(False).to_numpy(dtype=bool)
    rules = np.array(
        [
            f"status must be 0–{int(t)} for this {'binary' if t == 1 else 'ordinal'} item" if o else ""
            for t, o in zip(top, over)
        ],
        dtype=object,
    )
    c.rows(raw, over, "status", status, rules)
    known_unit = unit.isin(list(types)) | (unit == schema.CONSORTIUM_UNIT)
    c.rows(
        raw,
        (~known_unit).to_numpy(dtype=bool),
        "unit_id",
        unit,
        f"unknown unit: not a unit_id in the units table (leave it empty or write '{schema.CONSORTIUM_UNIT}' "
        "for the consortium as a whole)",
    )
    kind = unit.map(lambda u: schema.CONSORTIUM_UNIT if u == schema.CONSORTIUM_UNIT else types.get(u))
    wrong = np.array(
        [bool(i in items and k is not None and k not in items[i].applies_to) for i, k in zip(item, kind)],
        dtype=bool,
    )
    c.rows(
        raw,
        wrong,
        "unit_id",
        unit,
        np.array(
            [
                f"item {i} is about {', '.join(items[i].applies_to)}, not a {k}" if w else ""
                for i, k, w in zip(item, kind, wrong)
            ],
            dtype=object,
        ),
        severity="warning",
    )
    ref = evidence["evidence_ref"]
    claim = ((status > 0).fillna(False) & ref.isna()).to_numpy(dtype=bool)
    c.rows(
        raw,
        claim,
        "evidence_ref",
        None,
        "a claim (status above 0) without evidence: give a document number, link or file name",
        severity="warning",
    )
    if last_day is not None:
        late = (evidence["as_of"] > last_day).fillna(False).to_numpy(dtype=bool)
        c.rows(
            raw,
            late,
            "as_of",
            evidence["as_of"].dt.strftime("%Y-%m-%d"),
            f"as_of after the end of the data ({last_day.date()}, {why})",
        )
    return evidence

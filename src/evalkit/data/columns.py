"""One column of the data model (:class:`Column`): name, Chinese name, type, meaning in both
languages, unit, flow/stock kind, the ≤ rule, categories, header aliases and the unit types a
panel variable is reported for. The tables themselves are in :mod:`evalkit.data.schema`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["flow", "stock"]
Dtype = Literal["str", "int", "float", "date", "period", "bool", "category"]


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    dtype: Dtype
    meaning: str
    meaning_zh: str
    unit: str = ""  # e.g. "persons", "10k yuan"
    unit_zh: str = ""  # e.g. "人", "万元"
    required: bool = False
    kind: Kind | None = None  # panel variables only
    le: str | None = None  # value must be <= this column (same row)
    categories: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # further Chinese / English headers accepted
    applies_to: tuple[str, ...] = ()  # unit types the panel variable is reported for

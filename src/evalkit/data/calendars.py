"""Which calendar each kind of unit reports on: the ``dataset.yaml`` settings
``academic_year_start_month`` and ``frequency_by_unit_type``, and :class:`Calendars`.

Colleges count by academic year (学年); enterprises, the park and the annual quality report by
calendar year. A dataset declares it:

.. code-block:: yaml

    frequency: academic_year          # the colleges' calendar (and every unit type's by default)
    academic_year_start_month: 9      # optional, 1–12 (default 9: September–August)
    frequency_by_unit_type:           # optional: enterprises and the park on another calendar
      enterprise: year
      park: year

The alignment rule (data/README.md, "Mixed frequencies"): every period keeps its own dates. A
phase window takes each calendar's periods by the one overlap rule of
:func:`evalkit.data.periods.assign_windows` (a period belongs to the window it overlaps most);
flows are summed (or averaged per year, by that calendar's own count of periods), stocks are
taken at that calendar's last period in the window. An indicator is computed on one unit's
row, so its numerator and denominator share a calendar; what cannot be aligned is one number
made of units on two calendars period by period — :func:`check_alignable` refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.data.periods import ACADEMIC_START_MONTH, FREQUENCIES
from evalkit.data.raw import Collector
from evalkit.errors import DataError, Problem

START_KEY = "academic_year_start_month"
BY_TYPE_KEY = "frequency_by_unit_type"
# The unit types that may report on another calendar than the colleges (graduate records and
# partnerships are dated on the colleges' calendar, so the college side keeps ``frequency``).
OTHER_CALENDAR_TYPES = ("enterprise", "park")
# The unit types that report panel figures (industrial colleges report through their host college).
PANEL_UNIT_TYPES = ("college", "enterprise", "park")
_UNIT_ZH = {"college": "院校", "enterprise": "企业", "park": "园区"}
_UNIT_EN = {"college": "colleges", "enterprise": "enterprises", "park": "the park"}
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class Calendars:
    """The dataset's calendars: ``primary`` (``frequency``: the colleges', the default of every
    unit type), the other unit types' frequencies and the academic year's first month."""

    primary: str
    by_unit_type: dict[str, str] = field(default_factory=dict)
    start_month: int = ACADEMIC_START_MONTH

    def frequency_of(self, unit_type: object) -> str:
        """The frequency of a unit of type ``unit_type`` (the primary one when not declared)."""
        return self.by_unit_type.get(str(unit_type), self.primary)

    @property
    def mixed(self) -> bool:
        """True when some unit type reports on another frequency than the colleges."""
        return any(f != self.primary for f in self.by_unit_type.values())

    @property
    def frequencies(self) -> list[str]:
        """Every frequency in use, the primary first."""
        return list(dict.fromkeys([self.primary, *self.by_unit_type.values()]))


def frequency_text(freq: str, start_month: int = ACADEMIC_START_MONTH) -> tuple[str, str]:
    """(Chinese, English) name of a frequency; an academic year with its months, e.g.
    ``("学年（9 月—次年 8 月）", "academic year (September–August)")``."""
    if freq == "academic_year":
        end = (start_month - 2) % 12 + 1
        nxt = "次年 " if start_month != 1 else ""
        return (
            f"学年（{start_month} 月—{nxt}{end} 月）",
            f"academic year ({_MONTHS_EN[start_month - 1]}–{_MONTHS_EN[end - 1]})",
        )
    names = {
        "year": ("自然年", "calendar year"),
        "half": ("半年（1—6 月、7—12 月）", "half-year (January–June, July–December)"),
        "quarter": ("季度", "quarter"),
        "month": ("月", "month"),
    }
    return names.get(freq, (freq, freq))


def describe(cal: Calendars) -> tuple[str, str]:
    """(Chinese, English) sentence: which calendar each kind of unit reports on and, for two
    calendars, the alignment rule (data/README.md, "Mixed frequencies")."""
    groups: dict[str, list[str]] = {}
    for kind in PANEL_UNIT_TYPES:
        groups.setdefault(cal.frequency_of(kind), []).append(kind)
    if len(groups) == 1:
        zh, en = frequency_text(cal.primary, cal.start_month)
        return f"所有单位均按{zh}统计。", f"Every unit reports by {en}."
    zh_parts, en_parts = [], []
    for i, (freq, kinds) in enumerate(groups.items()):
        fz, fe = frequency_text(freq, cal.start_month)
        zh_parts.append(f"{'与'.join(_UNIT_ZH[k] for k in kinds)}按{fz}统计")
        en_parts.append(f"{' and '.join(_UNIT_EN[k] for k in kinds)}{' report' if i == 0 else ''} by {fe}")
    en_head = "; ".join(en_parts)
    zh_rule = (
        f"{'两' if len(groups) == 2 else '三'}种口径按同一重叠规则对齐：各统计期保留各自的起止日期，归入与其重叠天数最多的"
        "窗口；流量按该口径自身的期数求和或折算年均，存量取该口径在窗口内的最后一期（见 data/README.md“Mixed frequencies”）。"
    )
    en_rule = (
        "the calendars are aligned by one overlap rule: every period keeps its own dates and belongs to the window "
        "it overlaps most; flows are summed or averaged per year by that calendar's own count of periods, stocks "
        'are taken at that calendar\'s last period in the window (data/README.md, "Mixed frequencies").'
    )
    return "，".join(zh_parts) + "；" + zh_rule, en_head[0].upper() + en_head[1:] + "; " + en_rule


def as_record(cal: Calendars) -> dict:
    """The calendars as plain JSON types (results.json ``calendars``)."""
    uses_academic = "academic_year" in cal.frequencies
    zh, en = describe(cal)
    return {
        "frequency": cal.primary,
        "by_unit_type": {k: cal.frequency_of(k) for k in PANEL_UNIT_TYPES},
        "mixed": cal.mixed,
        "academic_year_start_month": cal.start_month if uses_academic else None,
        "text_zh": zh,
        "text_en": en,
    }


def start_month(meta: dict) -> int:
    """``academic_year_start_month`` of checked metadata (default 9)."""
    value = meta.get(START_KEY, ACADEMIC_START_MONTH)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else ACADEMIC_START_MONTH


def calendars_of(meta: dict, primary: str) -> Calendars:
    """The :class:`Calendars` of checked metadata with ``primary`` the panel's main frequency."""
    by_type = meta.get(BY_TYPE_KEY) or {}
    return Calendars(primary, {str(k): str(v) for k, v in by_type.items()}, start_month(meta))


def row_frequencies(unit_ids: pd.Series, units: pd.DataFrame, cal: Calendars) -> np.ndarray:
    """The frequency each panel row must have: its unit's type's (the primary for unknown units)."""
    kind = dict(zip(units["unit_id"], units["unit_type"]))
    return np.array([cal.frequency_of(kind.get(u)) for u in unit_ids], dtype=object)


def undeclared_rules(
    got: pd.Series, expected: np.ndarray, unit_ids: pd.Series, units: pd.DataFrame, rows: np.ndarray
) -> np.ndarray:
    """The rule of each panel row whose period is not on its unit type's declared frequency."""
    kind = dict(zip(units["unit_id"], units["unit_type"]))
    out = np.full(len(expected), "", dtype=object)
    for i in np.flatnonzero(rows):
        out[i] = (
            f"a {got.iloc[i]} period for a unit of type {kind.get(unit_ids.iloc[i])}, whose frequency "
            f"is {expected[i]} (dataset.yaml frequency / frequency_by_unit_type): use that unit type's "
            "frequency or declare another in frequency_by_unit_type"
        )
    return out


def check_calendar_meta(meta: dict, file: str, c: Collector) -> dict:
    """Check the calendar keys of ``dataset.yaml``; a bad one is a fatal problem naming ``file``
    and the key, and is dropped from the returned metadata."""
    meta = dict(meta)
    if START_KEY in meta:
        value = meta[START_KEY]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
            c.add(
                file,
                None,
                START_KEY,
                value,
                "academic_year_start_month must be a whole month number 1–12 (9 = September)",
                fatal=True,
            )
            del meta[START_KEY]
    if BY_TYPE_KEY in meta:
        value = meta[BY_TYPE_KEY]
        ok = isinstance(value, dict) and all(k in OTHER_CALENDAR_TYPES and v in FREQUENCIES for k, v in value.items())
        if not ok:
            c.add(
                file,
                None,
                BY_TYPE_KEY,
                value,
                "frequency_by_unit_type must map enterprise or park to a frequency "
                f"({', '.join(FREQUENCIES)}), e.g. {{enterprise: year}}",
                fatal=True,
            )
            del meta[BY_TYPE_KEY]
        elif not meta.get("frequency"):
            c.add(
                file,
                None,
                BY_TYPE_KEY,
                value,
                "frequency_by_unit_type needs frequency (the colleges' calendar) declared too",
                fatal=True,
            )
            del meta[BY_TYPE_KEY]
    return meta


def check_alignable(indicator: str, frequencies: set[str] | list[str], what: str) -> None:
    """Refuse one number made of units on two calendars period by period.

    Parameters
    ----------
    indicator : str
        The indicator's id (named in the error).
    frequencies : set or list of str
        The frequencies of the periods that would be combined.
    what : str
        What was asked (e.g. ``"group values per period"``), named in the error.

    Raises
    ------
    DataError
        When ``frequencies`` holds more than one frequency.
    """
    freqs = sorted(set(frequencies))
    if len(freqs) <= 1:
        return
    rule = (
        f"indicator {indicator} cannot be aligned period by period: its units report on "
        f"{' and '.join(freqs)} periods ({what}); aggregate it over date windows (phase windows or "
        "calendar years), which take each calendar's periods by the overlap rule"
    )
    raise DataError([Problem("dataset.yaml", None, BY_TYPE_KEY, None, rule)], "the indicator table")

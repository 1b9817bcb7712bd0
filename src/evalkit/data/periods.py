"""Calendar periods: parse labels, check one frequency, map date windows onto periods.

A period label names a calendar interval of one declared frequency:

=========  ===========  ==========================
frequency  label        example
=========  ===========  ==========================
year       ``YYYY``     ``2024``
half       ``YYYYHn``   ``2024H1`` (Jan–Jun), ``2024H2``
quarter    ``YYYYQn``   ``2024Q3``
month      ``YYYY-MM``  ``2024-07``
academic   ``YYYY-YYYY``  ``2023-2024学年`` (September–August), also written ``2023/24``
=========  ===========  ==========================

An academic year (frequency ``academic_year``) runs from 1 September to 31 August by default; a
dataset may move its first month (``academic_year_start_month`` in dataset.yaml, 1–12), and the
period objects carry it (``Period.start_month``), so every date computed from an academic year —
window assignment, stocks at the period end, the as-of cut — follows the dataset's setting. Its
stocks are counts at the period's last day, its flows what happened over the twelve months. The
label does not change with the start month (``2023-2024学年``): code that reads a label back must
pass the start month (``parse_period(label, start_month)``). A dataset has one frequency per kind
of unit: colleges on academic years may sit beside enterprises on calendar years when dataset.yaml
declares it (:mod:`evalkit.data.calendars`); an undeclared mix is refused with the rows named.

Phases are date windows (``2024-01-01`` – ``2025-06-30``). A period belongs to the window it
overlaps; when a period overlaps two windows it belongs to the one it overlaps most (ties go
to the earlier window). This rule is written in every report's methods section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Literal, Sequence

Frequency = Literal["year", "half", "quarter", "month", "academic_year"]
FREQUENCIES: tuple[str, ...] = ("year", "half", "quarter", "month", "academic_year")
PER_YEAR = {"year": 1, "half": 2, "quarter": 4, "month": 12, "academic_year": 1}
FREQUENCY_ZH = {"year": "年", "half": "半年", "quarter": "季度", "month": "月", "academic_year": "学年"}
ACADEMIC_START_MONTH = 9  # the default: an academic year runs September–August
_ACADEMIC = re.compile(r"^(\d{4})\s*[-/–—]\s*(\d{4}|\d{2})\s*(?:学年|学年度|AY)?$")

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("year", re.compile(r"^(\d{4})$")),
    ("half", re.compile(r"^(\d{4})\s*[Hh]([12])$")),
    ("quarter", re.compile(r"^(\d{4})\s*[Qq]([1-4])$")),
    ("month", re.compile(r"^(\d{4})[-/.](\d{1,2})$")),
]


class PeriodError(ValueError):
    """A period label or date window that cannot be read."""


@dataclass(frozen=True, order=True)
class Period:
    """One calendar period. Ordered by ``(freq, ordinal)``; ``ordinal`` counts periods from year 0
    (for an academic year: its first calendar year). ``start_month`` is the first month of an
    academic year (1–12; the default 9 for every other frequency, where it means nothing)."""

    freq: str
    ordinal: int
    start_month: int = ACADEMIC_START_MONTH

    def __post_init__(self) -> None:
        if self.freq != "academic_year":
            object.__setattr__(self, "start_month", ACADEMIC_START_MONTH)
        elif not (isinstance(self.start_month, int) and 1 <= self.start_month <= 12):
            raise PeriodError(f"academic year start month {self.start_month!r} is not a month 1–12")

    @property
    def year(self) -> int:
        return self.ordinal // PER_YEAR[self.freq]

    @property
    def sub(self) -> int:
        """1-based position within the year (half, quarter or month number; 1 for years)."""
        return self.ordinal % PER_YEAR[self.freq] + 1

    @property
    def label(self) -> str:
        if self.freq == "academic_year":
            return f"{self.ordinal}-{self.ordinal + 1}学年"
        if self.freq == "year":
            return f"{self.year}"
        if self.freq == "half":
            return f"{self.year}H{self.sub}"
        if self.freq == "quarter":
            return f"{self.year}Q{self.sub}"
        return f"{self.year}-{self.sub:02d}"

    @property
    def start(self) -> date:
        if self.freq == "academic_year":
            return date(self.ordinal, self.start_month, 1)
        months = 12 // PER_YEAR[self.freq]
        return date(self.year, (self.sub - 1) * months + 1, 1)

    @property
    def end(self) -> date:
        """Last day of the period (inclusive)."""
        return (self + 1).start - timedelta(days=1)

    def __add__(self, k: int) -> "Period":
        return Period(self.freq, self.ordinal + int(k), self.start_month)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.label


def parse_period(value: object, start_month: int = ACADEMIC_START_MONTH) -> Period:
    """Read one period label; raise PeriodError.

    Parameters
    ----------
    value : object
        A label: ``2024``, ``2024H1``, ``2024Q3``, ``2024-07``, ``2023-2024学年`` or ``2023/24``.
    start_month : int
        The first month of an academic year (the dataset's ``academic_year_start_month``);
        ignored for the other frequencies.

    Returns
    -------
    Period
    """
    if value is None:
        raise PeriodError("empty period")
    if isinstance(value, float):
        if value != value:  # NaN
            raise PeriodError("empty period")
        if value.is_integer():
            value = int(value)
    text = str(value).strip()
    m = _ACADEMIC.match(text)
    if m:
        first, second = int(m.group(1)), m.group(2)
        full = len(second) == 4 and int(second) == first + 1
        # 2023/24; not 2011/12, which is December 2011 (a month 1–12 stays a month)
        short = len(second) == 2 and int(second) == (first + 1) % 100 and int(second) > 12
        if full or short:
            if not 1900 <= first <= 2200:
                raise PeriodError(f"year {first} out of range 1900–2200")
            return Period("academic_year", first, start_month)
        if len(second) == 4 or "学年" in text:
            raise PeriodError(f"{text!r}: an academic year runs from one year to the next (e.g. 2023-2024学年)")
    for freq, pattern in _PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        year = int(m.group(1))
        sub = int(m.group(2)) if m.lastindex and m.lastindex >= 2 else 1
        if not 1900 <= year <= 2200:
            raise PeriodError(f"year {year} out of range 1900–2200")
        if freq == "month" and not 1 <= sub <= 12:
            raise PeriodError(f"month {sub} out of range 1–12")
        return Period(freq, year * PER_YEAR[freq] + sub - 1)
    raise PeriodError(f"{text!r} is not a period label (use 2024, 2024H1, 2024Q3 or 2024-07)")


def academic_year_of(day: date, start_month: int = ACADEMIC_START_MONTH) -> Period:
    """The academic year (from ``start_month``, default September) holding ``day``."""
    return Period("academic_year", day.year if day.month >= start_month else day.year - 1, start_month)


def infer_frequency(labels: Iterable[object]) -> str:
    """The single frequency of ``labels``; PeriodError if they mix frequencies or none parse."""
    freqs = {parse_period(v).freq for v in labels}
    if not freqs:
        raise PeriodError("no periods")
    if len(freqs) > 1:
        raise PeriodError("mixed period frequencies: " + ", ".join(sorted(freqs)))
    return freqs.pop()


def period_range(first: Period, last: Period) -> list[Period]:
    if first.freq != last.freq:
        raise PeriodError("period_range needs one frequency")
    return [first + k for k in range(last.ordinal - first.ordinal + 1)]


def period_containing(day: date, freq: str, start_month: int = ACADEMIC_START_MONTH) -> Period:
    """The period of frequency ``freq`` that contains ``day`` (academic years from ``start_month``)."""
    if freq == "academic_year":
        return academic_year_of(day, start_month)
    per = PER_YEAR[freq]
    months = 12 // per
    return Period(freq, day.year * per + (day.month - 1) // months)


def to_date(value: object) -> date:
    """Read a date written as ``YYYY-MM-DD`` (or a date/datetime/Timestamp); PeriodError otherwise."""
    if isinstance(value, date):
        return value if type(value) is date else date(value.year, value.month, value.day)
    text = str(value).strip()
    m = re.match(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$", text)
    if not m:
        raise PeriodError(f"{text!r} is not a date (use YYYY-MM-DD)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise PeriodError(f"{text!r} is not a valid date: {exc}") from None


def _overlap_days(p: Period, start: date, end: date) -> int:
    lo, hi = max(p.start, start), min(p.end, end)
    return max(0, (hi - lo).days + 1)


def assign_windows(periods: Sequence[Period], windows: dict[str, tuple[date, date]]) -> dict[Period, str | None]:
    """Map each period to the window it overlaps most (ties: earlier window), or None."""
    ordered = sorted(windows.items(), key=lambda kv: (kv[1][0], kv[0]))
    out: dict[Period, str | None] = {}
    for p in periods:
        best, best_days = None, 0
        for name, (start, end) in ordered:
            days = _overlap_days(p, start, end)
            if days > best_days:
                best, best_days = name, days
        out[p] = best
    return out


def periods_in_window(
    periods: Sequence[Period],
    start: date,
    end: date,
    others: dict[str, tuple[date, date]] | None = None,
) -> list[Period]:
    """The periods that belong to the window [start, end] (see the module doc for the rule)."""
    windows = dict(others or {})
    windows["__this__"] = (start, end)
    mapping = assign_windows(periods, windows)
    return sorted(p for p, name in mapping.items() if name == "__this__")

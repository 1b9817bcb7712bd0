"""One table as read, and what every reader shares: :class:`RawTable` (canonical columns of raw
values with the row number of each record as the user sees it), the :class:`Collector` of
problems, the header row search, the mapping of headers to canonical columns (``make_raw``) and
the size checks made before a file is read."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data.limits import limit_rule, max_abs_value_default
from evalkit.errors import Problem

# Problems stored per check; beyond this one summary problem says how many more rows broke it,
# so a systematically wrong 300k-row column still gives a readable report.
MAX_ROWS_PER_CHECK = 50
MAX_BAD_ROWS = 50  # ragged rows / formulas listed one by one; beyond, one summary line
HEADER_SEARCH_ROWS = 10
# Columns evalkit derives at load; accepted (and recomputed) when a frame already carries them.
DERIVED = {
    "units": ("cohort", "cohort_t", "member"),
    "panel": ("t",),
    "graduates": (),
    "partnerships": (),
    "evidence": (),
}
Severity = Literal["error", "warning"]


@dataclass
class RawTable:
    """One table as read: canonical columns holding the file's raw values (RangeIndex), the
    user-visible row number of each record, and the header as written for each column."""

    table: str
    file: str
    data: pd.DataFrame
    rows: np.ndarray
    headers: dict[str, str] = field(default_factory=dict)
    header_row: int | None = None
    extras: dict[str, pd.Series] = field(default_factory=dict)  # unknown columns: header -> values

    def text(self, column: str) -> pd.Series:
        """The column as stripped text (cached: several checks read it)."""
        cache = self.__dict__.setdefault("_text", {})
        if column not in cache:
            cache[column] = as_text(self.data[column])
        return cache[column]

    def label(self, column: str | None) -> str | None:
        """The column as the user knows it: the file's header, with the canonical name if different."""
        if column is None:
            return None
        header = self.headers.get(column, column)
        return column if header == column else f"{header} [{column}]"


class Collector:
    """Accumulates problems; ``fatal`` marks those after which no Dataset can be formed."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.fatal = False
        self.unreadable: set[str] = set()  # tables whose file was found but could not be read
        self.max_abs_value = max_abs_value_default()

    def add(
        self,
        file: str,
        row: int | None,
        column: str | None,
        value: object,
        rule: str,
        severity: Severity = "error",
        fatal: bool = False,
    ) -> None:
        self.problems.append(Problem(file, row, column, _plain(value), rule, severity))
        if severity == "error" and fatal:
            self.fatal = True

    def rows(
        self,
        raw: RawTable,
        mask: np.ndarray | pd.Series,
        column: str | None,
        values,
        rule,
        severity: Severity = "error",
        fatal: bool = False,
    ) -> None:
        """One problem per flagged record (capped); ``rule`` may be one string or one per record."""
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(idx):
            return
        vals = np.asarray(values, dtype=object) if values is not None else None
        rules = rule if not isinstance(rule, str) else None
        for i in idx[:MAX_ROWS_PER_CHECK]:
            self.add(
                raw.file,
                int(raw.rows[i]),
                raw.label(column),
                vals[i] if vals is not None else None,
                rules[i] if rules is not None else rule,
                severity,
                fatal,
            )
        if len(idx) > MAX_ROWS_PER_CHECK:
            rest = idx[MAX_ROWS_PER_CHECK:]
            first_rule = rules[idx[0]] if rules is not None else rule
            self.add(
                raw.file,
                None,
                raw.label(column),
                None,
                f"{first_rule} — and {len(rest)} more rows like this (rows {int(raw.rows[rest[0]])}"
                f"–{int(raw.rows[rest[-1]])})",
                severity,
                fatal,
            )
        if severity == "error" and fatal:
            self.fatal = True

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def _plain(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- cell conversion
def _cell_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (pd.Timestamp, date)):
        return value.isoformat()[:10] if not isinstance(value, pd.Timestamp) else value.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def as_text(s: pd.Series) -> pd.Series:
    """Values as stripped strings (the default pandas string dtype), empty → missing. Ids typed as
    numbers in a spreadsheet (``1001.0``) come back as ``"1001"``."""
    if pd.api.types.is_bool_dtype(s):
        out = s.astype("int64").astype("str")
    elif pd.api.types.is_integer_dtype(s):
        out = s.astype("str")
    elif pd.api.types.is_float_dtype(s):
        whole = s.notna() & np.isfinite(s) & (s == np.round(s))
        out = s.astype("str")
        out = out.where(~whole, s.where(whole, 0).astype("int64").astype("str"))
        out = out.where(s.notna(), "")
    elif pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d").fillna("")
    elif s.dtype == object:
        out = pd.Series([_cell_text(v) for v in s], index=s.index, dtype="str")
    else:
        out = s.astype("str")
    out = out.str.strip()
    return out.where(out != "", None)


def map_values(s: pd.Series, mapping: dict, dtype: str = "str") -> pd.Series:
    """``s.map(mapping)`` through the distinct values (fast for long columns of few values)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    looked = np.array([mapping.get(u) for u in uniques] + [None], dtype=object)
    return pd.Series(looked[codes], index=s.index, dtype=dtype)


# --------------------------------------------------------------------------- headers → columns
@functools.lru_cache(maxsize=8192)
def _canonical(table: str, header: str) -> str | None:
    return schema.canonical_header(table, header)


def find_header(table: str, records: list[list[Any]]) -> int | None:
    """0-based index of the record with most known column names among the first rows."""
    best, best_score = None, 0
    for i, record in enumerate(records):
        score = sum(1 for v in record if v not in (None, "") and _canonical(table, str(v)))
        if score > best_score:
            best, best_score = i, score
    return best


def no_header_rule(table: str) -> str:
    required = ", ".join(f"{col.name}/{col.zh}" for col in schema.TABLES[table] if col.required)
    return (
        f"no header row found in the first {HEADER_SEARCH_ROWS} rows: the first row must name the columns "
        f"of the {table} table (required: {required})"
    )


def make_raw(
    table: str,
    file: str,
    header: list,
    columns: list[pd.Series],
    rows: np.ndarray,
    header_row: int | None,
    c: Collector,
) -> RawTable:
    """Map headers to canonical names; unknown headers are kept aside as extras; fully blank records
    are dropped (their row numbers are kept for the rest)."""
    data: dict[str, pd.Series] = {}
    headers: dict[str, str] = {}
    extras: dict[str, pd.Series] = {}
    derived = set(DERIVED.get(table, ()))
    n = len(rows)
    nonblank = np.zeros(n, dtype=bool)
    for j, (h, values) in enumerate(zip(header, columns)):
        values = values.reset_index(drop=True)
        filled = _filled(values)
        nonblank |= filled
        h_text = "" if h is None or (isinstance(h, float) and h != h) else str(h).strip()
        if not h_text:
            if filled.any():
                c.add(
                    file,
                    header_row,
                    f"column {j + 1}",
                    None,
                    "values in a column without a header: they are not read (give the column a header or delete it)",
                    severity="warning",
                )
            continue
        name = _canonical(table, h_text)
        if name is None and h_text in derived:
            continue
        if name is None:
            extras[h_text] = values
            continue
        if name in data:
            c.add(
                file,
                header_row,
                h_text,
                None,
                f"two columns mean '{name}' (also '{headers[name]}'); keep one",
                fatal=True,
            )
            continue
        data[name] = values
        headers[name] = h_text
    keep = np.flatnonzero(nonblank) if n else np.array([], dtype=np.int64)
    if len(keep) < n:
        data = {k: v.iloc[keep].reset_index(drop=True) for k, v in data.items()}
        extras = {k: v.iloc[keep].reset_index(drop=True) for k, v in extras.items()}
        rows = rows[keep]
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    return RawTable(table, file, frame, np.asarray(rows), headers, header_row, extras)


def _filled(values: pd.Series) -> np.ndarray:
    if values.dtype == object:
        return np.array(
            [
                not (v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()))
                for v in values
            ],
            dtype=bool,
        )
    if pd.api.types.is_string_dtype(values):
        return (values.notna() & (values.str.strip() != "")).to_numpy(dtype=bool)
    return values.notna().to_numpy(dtype=bool)


# --------------------------------------------------------------------------- limits before reading
def over_limit(file: str, name: str, found: float, c: Collector, row: int | None = None) -> bool:
    """Add a fatal problem and return True when ``found`` passes the limit ``name`` (see
    :mod:`evalkit.data.limits`)."""
    rule = limit_rule(name, found)
    if rule is None:
        return False
    c.add(file, row, None, None, rule, fatal=True)
    return True


def over_limit_bytes(path: Path, c: Collector) -> bool:
    """Whether the file at ``path`` is larger than the ``max_file_mb`` limit (a problem added)."""
    return over_limit(path.name, "max_file_mb", float(path.stat().st_size), c)

"""One table as read, and what every reader shares: :class:`RawTable` (canonical columns of raw
values with the row number of each record as the user sees it), the :class:`Collector` of
problems, the header row search, the mapping of headers to canonical columns (``make_raw``) and
the size checks made before a file is read."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
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

    def release(self) -> None:
        """Let the values go once the table is typed (a long panel is not held twice); the file,
        the row numbers and the headers stay for the problems found later."""
        self.data = pd.DataFrame(columns=self.data.columns)
        self.__dict__.pop("_text", None)

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
    if _stripped_text(out):
        return out  # not held twice
    out = out.str.strip()
    return out.where(out != "", None)


def _stripped_text(s: pd.Series) -> bool:
    """Whether pyarrow-backed text has no empty cell and no space around a value: looked at a
    slice at a time (a long column is not copied to be checked)."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s.array)
    for start in range(0, len(arr), 1 << 16):
        piece = arr.slice(start, 1 << 16)
        clean = pc.and_(pc.equal(pc.utf8_trim_whitespace(piece), piece), pc.not_equal(piece, ""))
        if pc.all(clean).as_py() is not True:
            return False
    release_arrow_memory(len(arr))
    return True


def text_of(found: np.ndarray, uniques: pd.Index) -> pd.Series:
    """The text column whose codes (−1 = missing) are ``found`` among ``uniques`` (as
    :func:`codes` gives them), made by pyarrow in pieces: no Python object per row, and pieces
    that fit where a long column just let go was held."""
    import pyarrow as pa

    text = pa.array(uniques.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    values = pa.concat_arrays([text.cast(pa.large_string()), pa.nulls(1, pa.large_string())])
    at = np.where(found < 0, len(uniques), found)
    step = 1 << 15
    pieces = [values.take(pa.array(at[i : i + step])) for i in range(0, len(at), step)]
    return pa.chunked_array(pieces or [values[:0]], type=pa.large_string()).to_pandas()


def among(s: pd.Series, allowed) -> np.ndarray:
    """``s.isin(allowed)`` as booleans (missing: False); for pyarrow-backed text without a
    Python object per allowed value (pandas makes one pyarrow scalar each)."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return s.isin(allowed).to_numpy(dtype=bool)
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(allowed, pd.Index) and isinstance(allowed.dtype, pd.StringDtype):
        values, missing = pa.array(allowed.dropna().array), allowed.hasnans
    else:
        values = pa.array([v for v in allowed if isinstance(v, str)], type=pa.large_string())
        missing = any(v is None or v is pd.NA or (isinstance(v, float) and v != v) for v in allowed)
    out = pc.is_in(pa.array(s.array), value_set=values).to_numpy(zero_copy_only=False)
    release_arrow_memory(len(s))
    return out | s.isna().to_numpy() if missing else out


_POOL_LOCK = threading.Lock()
_POOL: dict = {"readers": 0, "default": None}  # readers inside arrow_system_pool(); the pool to restore


@contextlib.contextmanager
def arrow_system_pool() -> Iterator[None]:
    """pyarrow allocates from the C library while a dataset is read. Its default allocator
    (mimalloc) keeps what is freed for reuse: tens of MB held past their use by a long table's
    text, and a few MB reserved at its first use. Buffers remember their pool, so what is made
    here is freed rightly afterwards; the default comes back when the last reader leaves."""
    import pyarrow as pa

    with _POOL_LOCK:
        if _POOL["readers"] == 0:
            _POOL["default"] = pa.default_memory_pool()
            pa.set_memory_pool(pa.system_memory_pool())
        _POOL["readers"] += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            _POOL["readers"] -= 1
            if _POOL["readers"] == 0:
                pa.set_memory_pool(_POOL["default"])
                _POOL["default"] = None


RELEASE_FROM = 1_000_000  # values: what a shorter column's text operation frees is a few MB


def release_arrow_memory(values: int | None = None) -> None:
    """Hand the buffers pyarrow has freed back to the system now: its allocator keeps them for
    reuse, and the text operations on a long table would otherwise leave tens of MB resident.

    ``values``: how many values the caller just worked through; below a million the release is
    skipped (with the system allocator it is a ``malloc_trim`` over the whole heap, ~0.3 ms in a
    large process, and a few small files make thousands of such calls)."""
    if values is not None and values < RELEASE_FROM:
        return
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def codes(s: pd.Series, sort: bool = False) -> tuple[npt.NDArray[np.signedinteger], pd.Index]:
    """Integer codes of a column's values (−1 = missing) and its distinct values, coded in the
    values' sorted order when ``sort``: the keys of a long table compared and sorted without
    their text (for pyarrow-backed text: int32 codes, no copy of the text, no Python strings)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(s.array)
        uniques = pc.drop_null(pc.unique(arr))
        if sort:
            uniques = pc.take(uniques, pc.array_sort_indices(uniques))
        found = pc.index_in(arr, value_set=uniques)
        if found.null_count:
            found = pc.fill_null(found, -1)
        out = found.to_numpy()
        del found, arr
        release_arrow_memory(len(out))
        return out, pd.Index(uniques.to_pandas())
    found, distinct = pd.factorize(s, sort=sort)
    return found, pd.Index(distinct)


def map_values(s: pd.Series, mapping: dict, dtype: str = "str") -> pd.Series:
    """``s.map(mapping)`` through the distinct values (fast for long columns of few values; text
    is taken by pyarrow, not made as a Python object per row)."""
    found, uniques = codes(s)
    values = [mapping.get(u) for u in uniques] + [None]
    found = np.where(found < 0, len(uniques), found)
    if dtype == "str" and all(v is None or isinstance(v, str) for v in values):
        import pyarrow as pa

        out = pa.array(values, type=pa.large_string()).take(pa.array(found)).to_pandas()
        out.index = s.index
        release_arrow_memory(len(out))
        return out
    return pd.Series(np.array(values, dtype=object)[found], index=s.index, dtype=dtype)


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
    nonblank: np.ndarray | None = None,
) -> RawTable:
    """Map headers to canonical names; unknown headers are kept aside as extras; fully blank records
    are dropped (their row numbers are kept for the rest). ``nonblank``: the records with a cell
    that is not blank, when the reader knows them (its columns may be typed already). The columns
    are not copied."""
    data: dict[str, pd.Series] = {}
    headers: dict[str, str] = {}
    extras: dict[str, pd.Series] = {}
    derived = set(DERIVED.get(table, ()))
    n = len(rows)
    known = nonblank is not None
    if nonblank is None:
        nonblank = np.zeros(n, dtype=bool)
    for j, (h, values) in enumerate(zip(header, columns)):
        values = values.reset_index(drop=True)
        h_text = "" if h is None or (isinstance(h, float) and h != h) else str(h).strip()
        filled = _filled(values) if not known or not h_text else None
        if not known:
            nonblank |= filled
        if not h_text:
            if filled is not None and filled.any():
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
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)), copy=False)
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

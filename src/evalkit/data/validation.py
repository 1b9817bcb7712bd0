"""Validation of the four tables: types, ranges, keys, references, periods, coverage.

Input is a set of :class:`RawTable` (canonical column names, values as read from the file and
the row number of each record *as the user sees it in the file*). Output is typed tables and a
list of :class:`~evalkit.errors.Problem`. Every check is vectorised (the graduate table of the
default data has ~300k rows) and every problem is collected: nothing stops at the first.

Rules (severity):

* error — required table / column missing, unreadable file, empty required table, text in a
  numeric column, bad yes/no value, negative count, numerator > denominator (``le`` rules of
  the schema), rate outside [0, 1], unknown category, missing required value, duplicate key
  (never merged), unknown unit, partner of the wrong unit type, unparseable period or date,
  more than one period frequency, graduate cohorts in another frequency than the panel,
  ``member_since`` outside the data range, partnership ending before it starts.
* warning — optional table missing or empty, unknown column, unit without panel rows, unit
  missing some periods, graduate records that do not add up to the panel's graduate flows
  (graduate records may be a survey sample, so this is reported but not fatal; the panel keeps
  the values as reported and ``Dataset.graduate_flows()`` gives the record totals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.errors import Problem
from evalkit.data.periods import FREQUENCIES, Period, PeriodError, parse_period, period_range

# Problems stored per check; beyond this one summary problem says how many more rows broke it,
# so a systematically wrong 300k-row column still gives a readable report.
MAX_ROWS_PER_CHECK = 50
# Cells read as "not reported" in numeric, yes/no and date columns (common in Chinese exports).
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "—", "–", "/", "#n/a"})
# Unit types that may stand on the college side of a graduate record or partnership.
COLLEGE_SIDE = ("college", "industrial_college")
# Columns evalkit derives at load; accepted (and recomputed) when a frame already carries them.
DERIVED = {"units": ("cohort", "cohort_t", "member"), "panel": ("t",), "graduates": (), "partnerships": ()}
_RATE_HEADER = re.compile(r"(率|比例|占比|rate|ratio|share|pct|percent|%)", re.IGNORECASE)
_TRUE = frozenset({"1", "1.0", "true", "t", "yes", "y", "是", "对", "√"})
_FALSE = frozenset({"0", "0.0", "false", "f", "no", "n", "否", "×"})
# Thousands separators are read only in the unambiguous form: groups of three (1,234,567.5).
_GROUPED = r"^[+-]?\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?$"
# Values whose magnitude exceeds this are refused (a typo, a unit error or an overflow to come);
# raise it with max_abs_value in dataset.yaml or the environment variable EVALKIT_MAX_ABS_VALUE.
DEFAULT_MAX_ABS_VALUE = 1e15
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


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


def max_abs_value_default() -> float:
    """The largest magnitude a number may have: ``EVALKIT_MAX_ABS_VALUE`` or 1e15."""
    import os

    try:
        return float(os.environ.get("EVALKIT_MAX_ABS_VALUE", "") or DEFAULT_MAX_ABS_VALUE)
    except ValueError:
        return DEFAULT_MAX_ABS_VALUE


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
        severity: str = "error",
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
        severity: str = "error",
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


def _missing(text: pd.Series) -> pd.Series:
    return text.isna() | text.str.lower().isin(MISSING_MARKERS)


def to_number(raw: RawTable, col: str, c: Collector) -> pd.Series:
    s = raw.data[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    text = raw.text(col)
    try:  # fast path: a clean column (the usual case)
        return pd.to_numeric(text, errors="raise").astype("float64")
    except (ValueError, TypeError):
        pass
    missing = _missing(text)
    grouped = text.str.match(_GROUPED).fillna(False).astype(bool)
    cleaned = text.where(~grouped, text.str.replace(",", "", regex=False).str.replace("，", "", regex=False))
    num = pd.to_numeric(cleaned.where(~missing, None), errors="coerce").astype("float64")
    bad = (~missing & num.isna()).to_numpy()
    comma = text.str.contains("[,，]", regex=True).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        rules = np.where(
            comma,
            "ambiguous thousands separator: commas are read only in groups of three "
            "(1,234,567); write the number with digits only (e.g. 1234567; a decimal point, "
            "not a comma)",
            "not a number (write digits only, no units or text; leave empty if not reported)",
        ).astype(object)
        c.rows(raw, bad, col, text, rules)
    return num


def to_bool(raw: RawTable, col: str, c: Collector) -> pd.Series:
    s = raw.data[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Int64")
    if pd.api.types.is_numeric_dtype(s):
        bad = (s.notna() & ~s.isin([0, 1])).to_numpy()
        c.rows(raw, bad, col, s, "not a yes/no value (write 1 for yes, 0 for no)")
        return s.where(~bad).astype("Float64").astype("Int64")
    text = raw.text(col)
    missing = _missing(text)
    low = text.str.lower()
    out = pd.Series(np.where(low.isin(_TRUE), 1, 0), index=s.index, dtype="Int64")
    out = out.where(~missing, pd.NA)
    bad = (~missing & ~low.isin(_TRUE) & ~low.isin(_FALSE)).to_numpy()
    c.rows(raw, bad, col, text, "not a yes/no value (write 1 for yes, 0 for no)")
    return out.where(~pd.Series(bad, index=s.index), pd.NA)


def to_date(raw: RawTable, col: str, c: Collector) -> pd.Series:
    s = raw.data[col]
    if pd.api.types.is_datetime64_any_dtype(s):
        return pd.to_datetime(s).dt.normalize().astype("datetime64[ns]")
    text = raw.text(col)
    missing = _missing(text)
    parts = text.str.extract(_DATE)
    ymd = parts.astype("float64")
    ok = ymd.notna().all(axis=1)
    stamp = pd.to_datetime(
        pd.DataFrame({"year": ymd[0].where(ok, 2000), "month": ymd[1].where(ok, 1), "day": ymd[2].where(ok, 1)}),
        errors="coerce",
    ).astype("datetime64[ns]")
    stamp = stamp.where(ok & ~missing, pd.NaT)
    bad = (~missing & stamp.isna()).to_numpy()
    c.rows(raw, bad, col, text, "not a date (write YYYY-MM-DD, e.g. 2023-12-05)")
    return stamp


def to_category(
    raw: RawTable, col: str, categories: tuple[str, ...], labels_zh: dict[str, str], c: Collector
) -> pd.Series:
    """Codes, Chinese labels or both (``院校 college``) are accepted; stored as the code."""
    lookup: dict[str, str] = {}
    for code in categories:
        zh = labels_zh.get(code, code)
        for spelling in (code, zh, f"{zh}{code}", f"{code}{zh}"):
            lookup[schema._normalise(spelling)] = code
    text = raw.text(col)
    uniques = text.dropna().unique()
    mapping = {u: lookup.get(schema._normalise(u)) for u in uniques}
    out = map_values(text, mapping)
    bad = (text.notna() & out.isna()).to_numpy()
    allowed = ", ".join(f"{k} ({labels_zh[k]})" if k in labels_zh else k for k in categories)
    c.rows(raw, bad, col, text, f"unknown category; allowed: {allowed}")
    return out


def _period_objects(raw: RawTable, col: str, c: Collector) -> tuple[pd.Series, pd.Series]:
    """(label, frequency) per record; unparseable → missing, with a problem."""
    s = raw.data[col]
    if s.dtype == object:
        # Excel turns "2024-07" into a date; a first-of-month date in a period column means that month.
        text = as_text(s.map(lambda v: f"{v.year}-{v.month:02d}" if isinstance(v, date) else v))
    else:
        text = raw.text(col)
    labels, freqs, errors = {}, {}, {}
    for u in text.dropna().unique():
        try:
            p = parse_period(u)
            labels[u], freqs[u] = p.label, p.freq
        except PeriodError as exc:
            errors[u] = str(exc)
    label = map_values(text, labels)
    freq = map_values(text, freqs)
    bad = (text.notna() & label.isna()).to_numpy()
    if bad.any():
        rules = np.array(
            [f"not a period label: {errors.get(v, '')}" if b else "" for v, b in zip(text, bad)], dtype=object
        )
        c.rows(raw, bad, col, text, rules, fatal=True)  # a row without a period cannot be placed
    return label, freq


# --------------------------------------------------------------------------- per-table typing
def type_table(raw: RawTable, c: Collector) -> pd.DataFrame:
    """Typed frame with every schema column of the table (absent optional columns are missing)."""
    out = {}
    n = len(raw.data)
    for spec in schema.TABLES[raw.table]:
        if spec.name not in raw.data.columns:
            out[spec.name] = _empty_column(spec, n)
            if spec.dtype == "period":
                out[f"__freq_{spec.name}"] = _empty_column(spec, n)
            continue
        if spec.dtype in ("float", "int"):
            values = to_number(raw, spec.name, c)
            if spec.dtype == "int":
                frac = values.notna() & (values != np.round(values))
                c.rows(raw, frac.to_numpy(), spec.name, values, "must be a whole number")
                values = values.where(~frac, np.nan).round().astype("Int64")
            as_float = values.astype("float64")
            infinite = np.isinf(as_float).fillna(False).to_numpy(dtype=bool)
            c.rows(raw, infinite, spec.name, values, "not a finite number")
            huge = ((as_float.abs() > c.max_abs_value) & ~np.isinf(as_float)).fillna(False).to_numpy(dtype=bool)
            c.rows(
                raw,
                huge,
                spec.name,
                values,
                f"magnitude above {c.max_abs_value:g}: not a plausible value "
                "(a typo or a unit error?). If it is right, raise max_abs_value in dataset.yaml (or the "
                "environment variable EVALKIT_MAX_ABS_VALUE)",
            )
            negative = (values < 0).fillna(False).to_numpy(dtype=bool)
            c.rows(raw, negative, spec.name, values, "must be ≥ 0 (counts and amounts cannot be negative)")
            out[spec.name] = values
            if not spec.required:  # the typed column replaces the text: a long panel is not held twice
                raw.__dict__.get("_text", {}).pop(spec.name, None)
                raw.data[spec.name] = values
        elif spec.dtype == "bool":
            values = to_bool(raw, spec.name, c)
            out[spec.name] = values.astype("int64") if spec.required and not values.isna().any() else values
        elif spec.dtype == "date":
            out[spec.name] = to_date(raw, spec.name, c)
        elif spec.dtype == "category":
            labels_zh = {
                "unit_type": schema.UNIT_TYPES_ZH,
                "alliance": schema.ALLIANCES_ZH,
                "kind": schema.PARTNERSHIP_KINDS_ZH,
            }.get(spec.name, {})
            values = to_category(raw, spec.name, spec.categories, labels_zh, c)
            if spec.name == "alliance":  # documented: empty alliance means "none"
                values = values.fillna("none")
            out[spec.name] = values
        elif spec.dtype == "period":
            label, freq = _period_objects(raw, spec.name, c)
            out[spec.name] = label
            out[f"__freq_{spec.name}"] = freq
        else:
            out[spec.name] = raw.text(spec.name)
        if spec.required and spec.name in raw.data.columns:
            column = raw.data[spec.name]
            if spec.dtype in ("str", "category", "period"):
                empty = raw.text(spec.name).isna().to_numpy()
            elif column.dtype != object and not pd.api.types.is_string_dtype(column):
                empty = column.isna().to_numpy()
            else:
                empty = _missing(raw.text(spec.name)).to_numpy()
            c.rows(
                raw,
                empty,
                spec.name,
                None,
                "required value is missing",
                fatal=spec.name in schema.KEYS[raw.table] or spec.dtype == "period",
            )
    frame = pd.DataFrame(out, index=raw.data.index, copy=False)
    _check_le(raw, frame, c)
    _check_rate_columns(raw, c)
    return frame


def _empty_column(spec: schema.Column, n: int) -> pd.Series:
    if spec.dtype == "float":
        return pd.Series(np.full(n, np.nan), dtype="float64")
    if spec.dtype in ("int", "bool"):
        return pd.Series([pd.NA] * n, dtype="Int64")
    if spec.dtype == "date":
        return pd.Series([pd.NaT] * n, dtype="datetime64[ns]")
    if spec.name == "alliance":
        return pd.Series(["none"] * n, dtype="str")
    return pd.Series([None] * n, dtype="str")


def _check_le(raw: RawTable, frame: pd.DataFrame, c: Collector) -> None:
    for spec in schema.TABLES[raw.table]:
        if not spec.le or spec.name not in raw.data.columns or spec.le not in raw.data.columns:
            continue
        num = frame[spec.name].astype("float64")
        den = frame[spec.le].astype("float64")
        over = (num > den + 1e-9 * np.maximum(1.0, den.abs())).fillna(False).to_numpy(dtype=bool)
        if spec.dtype == "bool":
            rule = f"{spec.name} = 1 needs {spec.le} = 1 in the same row"
        else:
            rules = (
                np.array(
                    [
                        f"{spec.name} ({a:g}) must not exceed {spec.le} ({b:g}) in the same row "
                        f"(numerator ≤ denominator)"
                        if o
                        else ""
                        for a, b, o in zip(num, den, over)
                    ],
                    dtype=object,
                )
                if over.any()
                else ""
            )
            rule = rules
        c.rows(raw, over, spec.name, frame[spec.name], rule)


def _check_rate_columns(raw: RawTable, c: Collector) -> None:
    """Rates are not part of the data model (they are recomputed from numerators and denominators),
    but a rate column that is given must hold fractions in [0, 1]: 95 for 95 % is an error."""
    for header, values in raw.extras.items():
        if not _RATE_HEADER.search(str(header)):
            continue
        text = as_text(values)
        pct = text.str.endswith("%").fillna(False)
        num = pd.to_numeric(text.str.rstrip("%"), errors="coerce")
        num = num.where(~pct, num / 100)
        outside = ((num < 0) | (num > 1)).fillna(False).to_numpy(dtype=bool)
        tmp = RawTable(raw.table, raw.file, raw.data, raw.rows, {header: header})
        c.rows(
            tmp,
            outside,
            header,
            text,
            "rate outside [0, 1] (give rates as fractions, e.g. 0.95; better, "
            "give the numerator and denominator columns instead)",
        )


def check_unique(raw: RawTable, frame: pd.DataFrame, keys: tuple[str, ...], c: Collector) -> None:
    """Duplicate keys are errors, never merged: each later copy is reported with the first one's row."""
    present = frame[list(keys)].notna().all(axis=1)
    if not present.any():
        return
    sub = frame.loc[present, list(keys)]
    dup = sub.duplicated(keep="first")
    if not dup.any():
        return
    positions = pd.Series(np.flatnonzero(present.to_numpy()), index=sub.index)
    first = positions.groupby([sub[k] for k in keys], sort=False).transform("first")
    mask = np.zeros(len(frame), dtype=bool)
    mask[positions[dup].to_numpy()] = True
    firsts = np.zeros(len(frame), dtype=np.int64)
    firsts[positions.to_numpy()] = first.to_numpy()
    name = keys[0] if len(keys) == 1 else "(" + ", ".join(keys) + ")"
    values = (
        [" / ".join(str(frame[k].iat[i]) for k in keys) if m else None for i, m in enumerate(mask)]
        if len(keys) > 1
        else frame[keys[0]]
    )
    rules = np.array(
        [
            f"duplicate {name}: already in row {int(raw.rows[firsts[i]])}; each key must appear "
            f"once (rows are never merged — remove or correct one)"
            if m
            else ""
            for i, m in enumerate(mask)
        ],
        dtype=object,
    )
    c.rows(raw, mask, keys[-1] if len(keys) > 1 else keys[0], values, rules, fatal=True)


def available_frequency(freqs: pd.Series, declared: str | None) -> str | None:
    if declared:
        return declared
    counts = freqs.dropna().value_counts()
    if counts.empty:
        return None
    top = counts[counts == counts.max()].index
    return min(top, key=FREQUENCIES.index)


# --------------------------------------------------------------------------- the whole dataset
@dataclass
class Checked:
    """Typed tables after validation, plus what the Dataset derives from them."""

    units: pd.DataFrame
    panel: pd.DataFrame
    graduates: pd.DataFrame | None
    partnerships: pd.DataFrame | None
    frequency: str
    periods: list[Period]


def check_tables(
    raws: dict[str, RawTable],
    declared_frequency: str | None,
    c: Collector,
    declared_range: tuple[object, object] = (None, None),
    today: date | None = None,
) -> Checked | None:
    """Validate every table and the links between them; None when a fatal problem stops typing.

    Tables in ``c.unreadable`` (a file was found but could not be read) are not reported missing.
    ``declared_range`` is (first_period, last_period) of dataset.yaml: panel periods, graduate
    cohorts and partnership start dates outside it are errors; without a declared last period,
    periods that start after ``today`` (default: the date today) are errors."""
    unreadable = c.unreadable
    for name in schema.REQUIRED_TABLES:
        if name not in raws and name not in unreadable:
            aliases = " / ".join(schema.TABLE_ALIASES[name])
            c.add(
                name,
                None,
                None,
                None,
                f"required table '{name}' ({schema.TABLES_ZH[name]}) is missing: add a "
                f"file or sheet named {aliases} (.csv, .xlsx or .parquet)",
                fatal=True,
            )
    for name in schema.OPTIONAL_TABLES:
        if name not in raws and name not in unreadable:
            c.add(
                name,
                None,
                None,
                None,
                f"optional table '{name}' ({schema.TABLES_ZH[name]}) not provided",
                severity="warning",
            )
    for raw in raws.values():
        _check_columns(raw, c)
    typed: dict[str, pd.DataFrame] = {}
    for name, raw in raws.items():
        if len(raw.data) == 0:
            if name in schema.REQUIRED_TABLES:
                c.add(raw.file, raw.header_row, None, None, "the table has a header but no data rows", fatal=True)
            else:  # an empty optional sheet (e.g. of the template) means "not provided"
                c.add(
                    raw.file,
                    raw.header_row,
                    None,
                    None,
                    "the table has no data rows: treated as not provided",
                    severity="warning",
                )
                continue
        typed[name] = type_table(raw, c)
        check_unique(raw, typed[name], schema.KEYS[name], c)
    # Keep checking after fatal problems (every problem is reported); only the tables need to exist.
    if "units" not in typed or "panel" not in typed:
        return None

    panel_raw, panel = raws["panel"], typed["panel"]
    frequency = available_frequency(panel["__freq_period"], declared_frequency)
    if frequency is None:
        if "period" in panel_raw.data.columns:
            c.add(panel_raw.file, None, panel_raw.label("period"), None, "no readable period labels", fatal=True)
        return None
    other = (panel["__freq_period"].notna() & (panel["__freq_period"] != frequency)).to_numpy()
    why = "the declared frequency (dataset.yaml)" if declared_frequency else "the panel's main frequency"
    c.rows(
        panel_raw,
        other,
        "period",
        panel["period"],
        f"period of another frequency than {why} '{frequency}': use one frequency throughout (mixed frequencies)",
        fatal=True,
    )
    outside = _outside_range(panel["period"], panel["__freq_period"], frequency, declared_range, today)
    if outside is not None:
        mask, rule = outside
        c.rows(panel_raw, mask, "period", panel["period"], rule, fatal=True)
    else:
        mask = np.zeros(len(panel), dtype=bool)
    labels = panel.loc[(panel["__freq_period"] == frequency).to_numpy() & ~mask, "period"].dropna().unique()
    if len(labels) == 0:
        if "period" in panel_raw.data.columns:
            c.add(panel_raw.file, None, panel_raw.label("period"), None, "no readable period labels", fatal=True)
        return None
    ordinals = sorted(parse_period(v).ordinal for v in labels)
    periods = period_range(Period(frequency, ordinals[0]), Period(frequency, ordinals[-1]))
    t_of = {p.label: i + 1 for i, p in enumerate(periods)}

    units_raw, units = raws["units"], typed["units"]
    ids = set(units["unit_id"].dropna())
    types = dict(zip(units["unit_id"], units["unit_type"]))
    if not ids:  # an empty units table is reported already; every reference would fail with it
        return None
    _check_refs(panel_raw, panel, "unit_id", ids, c)
    parent_known = units["parent_id"].isna() | units["parent_id"].isin(ids)
    c.rows(
        units_raw,
        (~parent_known).to_numpy(),
        "parent_id",
        units["parent_id"],
        "parent_id is not a unit_id in the units table",
    )

    first_day, last_day = periods[0].start, periods[-1].end
    since = units["member_since"]
    outside = (since.notna() & ((since < pd.Timestamp(first_day)) | (since > pd.Timestamp(last_day)))).to_numpy()
    c.rows(
        units_raw,
        outside,
        "member_since",
        since.dt.strftime("%Y-%m-%d"),
        f"member_since outside the data range {first_day} – {last_day} ({periods[0].label}–"
        f"{periods[-1].label}); leave it empty for a never-member",
    )

    graduates = typed.get("graduates")
    if graduates is not None:
        g_raw = raws["graduates"]
        _check_refs(g_raw, graduates, "college_id", ids, c, types, COLLEGE_SIDE)
        wrong = (graduates["__freq_cohort"].notna() & (graduates["__freq_cohort"] != frequency)).to_numpy()
        c.rows(
            g_raw,
            wrong,
            "cohort",
            graduates["cohort"],
            f"graduate cohort frequency must equal the panel frequency '{frequency}'",
        )
        beyond = _outside_range(graduates["cohort"], graduates["__freq_cohort"], frequency, declared_range, today)
        if beyond is not None:
            c.rows(g_raw, beyond[0] & ~wrong, "cohort", graduates["cohort"], beyond[1])
            wrong = wrong | beyond[0]
        late = (graduates["cohort"].notna() & ~graduates["cohort"].isin(t_of) & ~wrong).to_numpy()
        c.rows(
            g_raw,
            late,
            "cohort",
            graduates["cohort"],
            f"cohort outside the panel's periods {periods[0].label}–{periods[-1].label}",
            severity="warning",
        )
        bad_income = (graduates["income"].notna() & (graduates["placed"] == 0).fillna(False)).to_numpy(dtype=bool)
        c.rows(
            g_raw,
            bad_income,
            "income",
            graduates["income"],
            "income given for a graduate whose destination is not confirmed (placed = 0); it is not counted",
            severity="warning",
        )

    partnerships = typed.get("partnerships")
    if partnerships is not None:
        p_raw = raws["partnerships"]
        _check_refs(p_raw, partnerships, "college_id", ids, c, types, COLLEGE_SIDE)
        _check_refs(p_raw, partnerships, "enterprise_id", ids, c, types, ("enterprise",))
        _, hi, why = _range_bounds(frequency, declared_range, today)
        if hi is not None:
            late_start = (partnerships["start_date"] > pd.Timestamp(hi.end)).fillna(False).to_numpy(dtype=bool)
            c.rows(
                p_raw,
                late_start,
                "start_date",
                partnerships["start_date"].dt.strftime("%Y-%m-%d"),
                f"start_date after the end of the data ({hi.end}, {why})",
            )
        backwards = (partnerships["end_date"] < partnerships["start_date"]).fillna(False).to_numpy(dtype=bool)
        c.rows(
            p_raw,
            backwards,
            "end_date",
            partnerships["end_date"].dt.strftime("%Y-%m-%d"),
            "end_date is before start_date",
        )

    if c.fatal:
        return None
    panel = panel.drop(columns="__freq_period")
    panel.insert(2, "t", panel["period"].map(t_of).astype("int64"))
    _coverage(units_raw, units, panel, periods, c)
    cohort = since.map(lambda d: None if pd.isna(d) else _period_of(d, frequency).label).astype("str")
    units["cohort"] = cohort
    units["cohort_t"] = cohort.map(t_of).fillna(0).astype("int64")
    units["member"] = since.notna()
    panel = panel.sort_values(["unit_id", "t"], kind="stable").reset_index(drop=True)
    if graduates is not None:
        graduates = graduates.drop(columns="__freq_cohort")
        _graduate_consistency(raws["graduates"], graduates, panel, c)
    return Checked(units, panel, graduates, partnerships, frequency, periods)


def _range_bounds(frequency: str, declared_range: tuple[object, object], today: date | None):
    """(first, last, why-last) periods allowed in the data, at ``frequency`` (None when open)."""
    from evalkit.data.periods import period_containing

    first = last = None
    why = ""
    lo, hi = declared_range
    for value, slot in ((lo, "first"), (hi, "last")):
        if value in (None, ""):
            continue
        try:
            p = parse_period(str(value))
        except PeriodError:
            continue
        if p.freq != frequency:
            p = period_containing(p.start if slot == "first" else p.end, frequency)
        if slot == "first":
            first = p
        else:
            last, why = p, f"last_period {value} declared in dataset.yaml"
    if last is None:
        day = today or date.today()
        last, why = (
            period_containing(day, frequency),
            f"today is {day.isoformat()}; declare last_period in dataset.yaml if later periods are meant",
        )
    return first, last, why


def _outside_range(labels: pd.Series, freqs: pd.Series, frequency: str, declared_range, today):
    """(mask, rules) of period labels outside the allowed range, or None when all are inside."""
    first, last, why = _range_bounds(frequency, declared_range, today)
    ordinal = {}
    for u in labels.dropna().unique():
        try:
            ordinal[u] = parse_period(u).ordinal
        except PeriodError:
            continue
    if not ordinal:
        return None
    same = (freqs == frequency).fillna(False).to_numpy(dtype=bool)
    o = map_values(labels, ordinal, dtype="float64").to_numpy(dtype="float64", na_value=np.nan)
    after = same & (o > last.ordinal)
    before = same & (o < first.ordinal) if first is not None else np.zeros(len(o), dtype=bool)
    if not (after.any() or before.any()):
        return None
    rules = np.where(
        after,
        f"period after the end of the data {last.label} ({why})",
        f"period before the start of the data {first.label if first else ''} (first_period declared in dataset.yaml)",
    ).astype(object)
    return after | before, rules


def _period_of(day: pd.Timestamp, frequency: str) -> Period:
    from evalkit.data.periods import period_containing

    return period_containing(date(day.year, day.month, day.day), frequency)


def _check_columns(raw: RawTable, c: Collector) -> None:
    for spec in schema.TABLES[raw.table]:
        if spec.required and spec.name not in raw.data.columns:
            c.add(
                raw.file,
                raw.header_row,
                spec.name,
                None,
                f"required column '{spec.name}' ({spec.zh}) is missing",
                fatal=True,
            )
    for header in raw.extras:
        c.add(
            raw.file,
            raw.header_row,
            str(header),
            None,
            "unknown column, not part of the data model: kept out "
            "of the tables (see data/README.md for the accepted headers)",
            severity="warning",
        )


def _check_refs(
    raw: RawTable,
    frame: pd.DataFrame,
    col: str,
    ids: set,
    c: Collector,
    types: dict | None = None,
    allowed: tuple[str, ...] = (),
) -> None:
    values = frame[col]
    unknown = (values.notna() & ~values.isin(ids)).to_numpy()
    c.rows(
        raw,
        unknown,
        col,
        values,
        "unknown unit: not a unit_id in the units table (add the unit there or correct the id)",
    )
    if types is not None and allowed:
        kind = map_values(values, types)
        wrong = (values.notna() & ~unknown & kind.notna() & ~kind.isin(allowed)).to_numpy()
        rules = (
            np.array(
                [
                    f"unit is a {k}, but {col} must be a unit of type {' or '.join(allowed)}" if w else ""
                    for k, w in zip(kind, wrong)
                ],
                dtype=object,
            )
            if wrong.any()
            else ""
        )
        c.rows(raw, wrong, col, values, rules)


def _coverage(
    units_raw: RawTable, units: pd.DataFrame, panel: pd.DataFrame, periods: list[Period], c: Collector
) -> None:
    counts = panel.groupby("unit_id").size()
    absent = (units["unit_id"].notna() & ~units["unit_id"].isin(counts.index)).to_numpy()
    c.rows(units_raw, absent, "unit_id", units["unit_id"], "unit has no rows in the panel", severity="warning")
    short = counts[counts < len(periods)]
    if short.empty:
        return
    have = panel[panel["unit_id"].isin(short.index)].groupby("unit_id")["period"].agg(set)
    row_of = dict(zip(units["unit_id"], units_raw.rows))
    flagged = 0
    for uid, got in have.items():
        missing = [p.label for p in periods if p.label not in got]
        if flagged < MAX_ROWS_PER_CHECK:
            shown = ", ".join(missing[:8]) + (" …" if len(missing) > 8 else "")
            c.add(
                units_raw.file,
                int(row_of[uid]) if uid in row_of else None,
                "unit_id",
                uid,
                f"coverage gap: no panel rows for {len(missing)} of {len(periods)} periods ({shown})",
                severity="warning",
            )
        flagged += 1
    if flagged > MAX_ROWS_PER_CHECK:
        c.add(
            units_raw.file,
            None,
            "unit_id",
            None,
            f"coverage gap — and {flagged - MAX_ROWS_PER_CHECK} more units with missing periods",
            severity="warning",
        )


def graduate_flows(graduates: pd.DataFrame) -> pd.DataFrame:
    """Graduate records summed to (unit_id, period) rows of ``schema.GRADUATE_FLOWS``. Local,
    member-enterprise and matched counts, income respondents and income are taken among placed
    graduates only (the panel's definitions)."""
    placed = graduates["placed"].fillna(0).astype("float64")
    frame = pd.DataFrame(
        {
            "unit_id": graduates["college_id"],
            "period": graduates["cohort"],
            "graduates": 1.0,
            "graduates_placed": placed,
            "graduates_local": graduates["local"].fillna(0).astype("float64") * placed,
            "graduates_member_ent": graduates["member_enterprise"].fillna(0).astype("float64") * placed,
            "graduates_matched": graduates["job_match"].fillna(0).astype("float64") * placed,
            "income_respondents": (graduates["income"].notna() & (placed == 1)).astype("float64"),
            "income_sum": graduates["income"].where(placed == 1, np.nan).fillna(0.0),
        }
    )
    out = frame.groupby(["unit_id", "period"], sort=True, observed=True).sum().reset_index()
    return out[["unit_id", "period", *schema.GRADUATE_FLOWS]]


def _graduate_consistency(g_raw: RawTable, graduates: pd.DataFrame, panel: pd.DataFrame, c: Collector) -> None:
    """Where the panel reports a graduate flow and records exist for that unit-period, they should agree."""
    flows = graduate_flows(graduates.dropna(subset=["college_id", "cohort"]))
    merged = panel[["unit_id", "period", *schema.GRADUATE_FLOWS]].merge(
        flows, on=["unit_id", "period"], suffixes=("", "__records")
    )
    for col in schema.GRADUATE_FLOWS:
        reported, records = merged[col], merged[f"{col}__records"]
        tol = 0.005 * records.abs() + 0.5 if col == "income_sum" else 1e-9
        off = reported.notna() & ((reported - records).abs() > tol)
        if not off.any():
            continue
        bad = merged[off]
        shown = "; ".join(
            f"{u} {p} (records {r:g}, panel {v:g})"
            for u, p, r, v in zip(bad["unit_id"], bad["period"], bad[f"{col}__records"], bad[col])
            if True
        )
        listed = shown.split("; ")
        text = "; ".join(listed[:10]) + (f"; … {len(listed) - 10} more" if len(listed) > 10 else "")
        c.add(
            g_raw.file,
            None,
            col,
            None,
            f"graduate records do not add up to the panel's {col} in {off.sum()} unit-periods: {text}",
            severity="warning",
        )

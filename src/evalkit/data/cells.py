"""Typing one table's cells and the rules within a table: numbers (thousands separators only in
groups of three, magnitudes within the limit, ≥ 0, whole where counted), yes/no values, dates,
categories (codes or Chinese labels), period labels; numerator ≤ denominator in a row, rate
columns in [0, 1], and unique keys (duplicates are errors, never merged). Every check is
vectorised and every problem collected."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from evalkit.data import schema
from evalkit.data.periods import PeriodError, parse_period
from evalkit.data.raw import Collector, RawTable, as_text, codes, map_values

# Cells read as "not reported" in numeric, yes/no and date columns (common in Chinese exports).
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "—", "–", "/", "#n/a"})
_RATE_HEADER = re.compile(r"(率|比例|占比|rate|ratio|share|pct|percent|%)", re.IGNORECASE)
_TRUE = frozenset({"1", "1.0", "true", "t", "yes", "y", "是", "对", "√"})
_FALSE = frozenset({"0", "0.0", "false", "f", "no", "n", "否", "×"})
# Thousands separators are read only in the unambiguous form: groups of three (1,234,567.5).
_GROUPED = r"^[+-]?\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?$"
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


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
    # labels already written the canonical way (the usual case) are the text itself: not copied
    label = text if not errors and all(labels[u] == u for u in labels) else map_values(text, labels)
    found, uniques = codes(text)  # the frequency of each row as a category: a byte a row
    names = sorted(set(freqs.values()))
    lookup = np.array([names.index(freqs[u]) if u in freqs else -1 for u in uniques] + [-1], dtype=np.int8)
    freq = pd.Series(pd.Categorical.from_codes(lookup[found], categories=names), index=text.index)
    del found
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
                "college_level": schema.COLLEGE_LEVELS_ZH,
            }.get(spec.name, {})
            values = to_category(raw, spec.name, spec.categories, labels_zh, c)
            if spec.name == "alliance":  # documented: empty alliance means "none"
                values = values.fillna("none")
            out[spec.name] = values
        elif raw.table == "evidence" and spec.name == "unit_id":  # empty = the consortium as a whole
            out[spec.name] = raw.text(spec.name).fillna(schema.CONSORTIUM_UNIT)
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
    if raw.table == "units":
        _college_level(raw, frame, c)
    _check_le(raw, frame, c)
    _check_rate_columns(raw, c)
    return frame


def _college_level(raw: RawTable, frame: pd.DataFrame, c: Collector) -> None:
    """Colleges without a college_level are higher-vocational; other units carry none."""
    college = (frame["unit_type"] == "college").fillna(False).to_numpy(dtype=bool)
    level = frame["college_level"]
    given = level.notna().to_numpy(dtype=bool)
    if "college_level" in raw.data.columns:
        c.rows(
            raw,
            given & ~college,
            "college_level",
            level,
            "college_level is read for colleges only: left out for this unit",
            severity="warning",
        )
    frame["college_level"] = level.where(college, None).where(~college | given, schema.DEFAULT_COLLEGE_LEVEL)


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
        with np.errstate(invalid="ignore", over="ignore"):  # as pandas: inf − inf is NaN, not over
            bound = np.abs(den.to_numpy())  # den + 1e-9 · max(1, |den|), in one buffer
            np.maximum(bound, 1.0, out=bound)
            bound *= 1e-9
            bound += den.to_numpy()
            over = num.to_numpy() > bound
        del bound
        rule: str | np.ndarray
        if spec.dtype == "bool":
            rule = f"{spec.name} = 1 needs {spec.le} = 1 in the same row"
        else:
            rule = (
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
    if not _may_repeat(frame, keys):
        return
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


def _may_repeat(frame: pd.DataFrame, keys: tuple[str, ...]) -> bool:
    """Whether a key may appear twice, told from the keys' integer codes (a long panel's keys are
    not copied as text); True when the codes cannot say (the rows are then looked at)."""
    if not keys:
        return True
    if (
        len(keys) == 1
        and isinstance(frame[keys[0]].dtype, pd.StringDtype)
        and frame[keys[0]].dtype.storage == "pyarrow"
    ):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(frame[keys[0]].array)  # one id column (graduate_id): count, don't code
        distinct = len(pc.unique(arr)) - (arr.null_count > 0)  # unique counts a null once; half count_distinct's time
        return bool(distinct < len(arr) - arr.null_count)
    found = [codes(frame[k])[0] for k in keys]
    sizes = [int(f.max(initial=-1)) + 2 for f in found]  # codes −1 … max
    if float(np.prod(sizes, dtype=np.float64)) >= 2**62:
        return True
    wide = float(np.prod(sizes, dtype=np.float64)) >= 2**31
    combined: npt.NDArray[np.signedinteger] = found[0].astype(np.int64 if wide else np.int32)
    missing = found[0] < 0
    for f, size in zip(found[1:], sizes[1:]):
        np.multiply(combined, size, out=combined)
        np.add(combined, f, out=combined, casting="same_kind")
        missing |= f < 0
    del found
    if missing.any():
        combined = combined[~missing]
    del missing
    combined.sort()
    return bool((combined[1:] == combined[:-1]).any())

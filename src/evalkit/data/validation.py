"""Validation of the five tables: types, ranges, keys, references, periods, coverage.

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
  ``member_since`` outside the data range, partnership ending before it starts; evidence rows of
  an unknown checklist item, a status outside the item's scale or dated after the data's end
  (:mod:`evalkit.data.checklist`).
* warning — optional table missing or empty, unknown column, unit without panel rows, unit
  missing some periods, graduate records that do not add up to the panel's graduate flows
  (graduate records may be a survey sample, so this is reported but not fatal; the panel keeps
  the values as reported and ``Dataset.graduate_flows()`` gives the record totals); a checklist
  claim (status > 0) without ``evidence_ref``; a ``college_level`` given for a unit that is not a
  college.

The modules behind it: :mod:`evalkit.data.raw` (a table as read, the problem collector),
:mod:`evalkit.data.cells` (typing cells, the rules within one table) and this one (the whole
dataset: tables present, frequency and period range, references between tables, coverage, and
graduate records against the panel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from evalkit.data import schema
from evalkit.data.cells import check_unique, type_table
from evalkit.data.checklist import check_evidence
from evalkit.data.flows import graduate_flows
from evalkit.data.calendars import Calendars, row_frequencies, undeclared_rules
from evalkit.data.periods import (
    ACADEMIC_START_MONTH,
    FREQUENCIES,
    Period,
    PeriodError,
    parse_period,
    period_containing,
    period_range,
)
from evalkit.data.raw import (
    DERIVED,
    MAX_ROWS_PER_CHECK,
    Collector,
    RawTable,
    among,
    codes,
    map_values,
    release_arrow_memory,
    text_of,
)

__all__ = ["DERIVED", "Checked", "Collector", "RawTable", "available_frequency", "check_tables"]

# Unit types that may stand on the college side of a graduate record or partnership.
COLLEGE_SIDE = ("college", "industrial_college")


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
    evidence: pd.DataFrame | None = None
    calendars: Calendars | None = None
    periods_by_frequency: dict[str, list[Period]] | None = None


def check_tables(
    raws: dict[str, RawTable],
    declared_frequency: str | None,
    c: Collector,
    declared_range: tuple[object, object] = (None, None),
    today: date | None = None,
    *,
    by_unit_type: dict[str, str] | None = None,
    start_month: int = ACADEMIC_START_MONTH,
    keys_checked: bool = False,
) -> Checked | None:
    """Validate every table and the links between them; None when a fatal problem stops typing.

    Tables in ``c.unreadable`` (a file was found but could not be read) are not reported missing.
    ``declared_range`` is (first_period, last_period) of dataset.yaml: panel periods, graduate
    cohorts and partnership start dates outside it are errors; without a declared last period,
    periods that start after ``today`` (default: the date today) are errors. ``by_unit_type`` are
    the unit types declared on another frequency (``frequency_by_unit_type``; each calendar's
    periods, ``t`` and cohorts are its own) and ``start_month`` the academic year's first month.
    ``keys_checked``: the tables are rows of a dataset already validated (an as-of cut), so no key
    can repeat and duplicates are not looked for again."""
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
        release_arrow_memory(typed[name].size)
        if not keys_checked:
            check_unique(raw, typed[name], schema.KEYS[name], c)
            release_arrow_memory(typed[name].size)
    # Keep checking after fatal problems (every problem is reported); only the tables need to exist.
    if "units" not in typed or "panel" not in typed:
        return None

    panel_raw, panel = raws["panel"], typed.pop("panel")
    panel_raw.release()  # typed: the panel is held once from here on
    frequency = available_frequency(panel["__freq_period"], declared_frequency)
    if frequency is None:
        if "period" in panel_raw.data.columns:
            c.add(panel_raw.file, None, panel_raw.label("period"), None, "no readable period labels", fatal=True)
        return None
    units_raw, units = raws["units"], typed["units"]
    cal = Calendars(frequency, dict(by_unit_type or {}), start_month)
    # one frequency for every row unless unit types have their own (a long panel needs no array)
    expected = row_frequencies(panel["unit_id"], units, cal) if cal.by_unit_type else frequency
    other = (panel["__freq_period"].notna() & (panel["__freq_period"] != expected)).to_numpy()
    if cal.by_unit_type:
        rule: object = undeclared_rules(panel["__freq_period"], np.asarray(expected), panel["unit_id"], units, other)
    else:
        why = "the declared frequency (dataset.yaml)" if declared_frequency else "the panel's main frequency"
        rule = (
            f"period of another frequency than {why} '{frequency}': use one frequency throughout, or declare "
            "enterprises' or the park's own in dataset.yaml frequency_by_unit_type (mixed frequencies)"
        )
    c.rows(panel_raw, other, "period", panel["period"], rule, fatal=True)
    mask = np.zeros(len(panel), dtype=bool)
    periods_by: dict[str, list[Period]] = {}
    for freq in cal.frequencies:
        outside = _outside_range(panel["period"], panel["__freq_period"], freq, declared_range, today, start_month)
        if outside is not None:
            c.rows(panel_raw, outside[0], "period", panel["period"], outside[1], fatal=True)
            mask |= outside[0]
        keep = (panel["__freq_period"] == freq).to_numpy() & (expected == freq) & ~mask
        found = _labels_in(panel["period"], keep)
        if len(found):
            ordinals = sorted(parse_period(v).ordinal for v in found)
            periods_by[freq] = period_range(
                Period(freq, ordinals[0], start_month), Period(freq, ordinals[-1], start_month)
            )
    del expected, other  # a row each: not held while the rest is checked
    panel = panel.drop(columns="__freq_period")
    if frequency not in periods_by:
        if "period" in panel_raw.data.columns:
            c.add(panel_raw.file, None, panel_raw.label("period"), None, "no readable period labels", fatal=True)
        return None
    periods = periods_by[frequency]
    t_of = {p.label: i + 1 for ps in periods_by.values() for i, p in enumerate(ps)}

    ids = pd.Index(units["unit_id"].dropna().unique())  # no Python object per unit: a long units table
    # the unit types are looked up for the graduate records, partnerships and evidence only
    linked = any(typed.get(name) is not None for name in ("graduates", "partnerships", "evidence"))
    types = dict(zip(units["unit_id"], units["unit_type"])) if linked else {}
    if ids.empty:  # an empty units table is reported already; every reference would fail with it
        return None
    _check_refs(panel_raw, panel, "unit_id", ids, c)
    parent_known = units["parent_id"].isna().to_numpy() | among(units["parent_id"], ids)
    c.rows(
        units_raw,
        ~parent_known,
        "parent_id",
        units["parent_id"],
        "parent_id is not a unit_id in the units table",
    )

    first_day = min(ps[0].start for ps in periods_by.values())
    last_day = max(ps[-1].end for ps in periods_by.values())
    since = units["member_since"]
    outside = (since.notna() & (since > pd.Timestamp(last_day))).to_numpy()
    c.rows(
        units_raw,
        outside,
        "member_since",
        since.dt.strftime("%Y-%m-%d"),
        f"member_since outside the data range {first_day} – {last_day} ({periods[0].label}–"
        f"{periods[-1].label}); leave it empty for a never-member",
    )
    # joined before the data starts: valid — a member in every period (always treated), which a
    # DiD cannot use as a comparison nor estimate an effect for; the review says so
    unit_freq = units["unit_type"].map(cal.frequency_of)
    unit_first = unit_freq.map(lambda f: pd.Timestamp(periods_by[f][0].start) if f in periods_by else pd.NaT)
    always = (since.notna() & (since < unit_first)).fillna(False).to_numpy(dtype=bool)
    c.rows(
        units_raw,
        always,
        "member_since",
        since.dt.strftime("%Y-%m-%d"),
        f"member since before the data starts ({periods[0].label}): a member in every period, "
        "left out of the membership DiD (no period before joining)",
        severity="warning",
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
        beyond = _outside_range(
            graduates["cohort"], graduates["__freq_cohort"], frequency, declared_range, today, start_month
        )
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
        _, hi, why = _range_bounds(frequency, declared_range, today, start_month)
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

    evidence = typed.get("evidence")
    if evidence is not None:
        _, hi, why = _range_bounds(frequency, declared_range, today, start_month)
        evidence = check_evidence(
            raws["evidence"], evidence, types, pd.Timestamp(hi.end) if hi is not None else None, why, c
        )

    if c.fatal:
        return None
    panel.insert(2, "t", _t(panel["period"], t_of))
    release_arrow_memory(panel.size)
    for freq, ps in periods_by.items():  # each calendar's units against its own periods
        on = (unit_freq == freq).to_numpy()
        _coverage(units_raw, units, _rows_of(panel, units["unit_id"], on), ps, c, on)
    cohort = pd.Series(
        [
            None if pd.isna(d) else period_containing(date(d.year, d.month, d.day), f, start_month).label
            for d, f in zip(since, unit_freq)
        ],
        index=units.index,
    ).astype("str")
    units["cohort"] = cohort
    units["cohort_t"] = cohort.map(t_of).fillna(0).astype("int64")
    # a member since before the data starts is treated from the first period (of its calendar)
    units.loc[always, "cohort_t"] = 1
    units.loc[always, "cohort"] = unit_freq[always].map(lambda f: periods_by[f][0].label)
    units["member"] = since.notna()
    del ids, types  # not held while the panel is sorted
    panel = _sorted_by_unit_and_t(panel)
    if graduates is not None:
        graduates = graduates.drop(columns="__freq_cohort")
        _graduate_consistency(raws["graduates"], graduates, panel, c)
    return Checked(units, panel, graduates, partnerships, frequency, periods, evidence, cal, periods_by)


def _labels_in(labels: pd.Series, rows: np.ndarray) -> list:
    """The distinct labels of ``rows`` (told from integer codes: the labels are not copied)."""
    found, uniques = codes(labels)
    present = np.zeros(len(uniques) + 1, dtype=bool)
    present[found[rows]] = True
    return list(uniques[present[:-1]])


def _t(periods: pd.Series, t_of: dict[str, int]) -> pd.Series:
    """t of every panel row, looked up once per distinct period label."""
    found, labels = codes(periods)
    if len(found) and found.min() < 0:  # a missing period: as pandas does it
        return periods.map(t_of).astype("int64")
    return pd.Series(np.array([t_of[label] for label in labels], dtype="int64")[found], index=periods.index)


def _rows_of(panel: pd.DataFrame, unit_ids: pd.Series, on: np.ndarray) -> pd.DataFrame:
    """The unit and period of the panel rows of the units ``on`` (no copy when they are all)."""
    keys = panel[["unit_id", "period"]]
    rows = among(keys["unit_id"], pd.Index(unit_ids[on].dropna().unique()))
    return keys if rows.all() else keys[rows]


def _sorted_by_unit_and_t(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel sorted by unit and t (keys unique), a column at a time: each column is let go as
    its sorted copy is made, so a long panel is never held twice; text is sorted through integer
    codes. Already sorted: as it is."""
    release_arrow_memory(panel.size)
    unit, units = codes(panel["unit_id"], sort=True)
    if len(unit) and unit.min() < 0:  # no unit (only without strict checks): missing ids go last
        return panel.sort_values(["unit_id", "t"], kind="stable").reset_index(drop=True)
    width = int(panel["t"].max()) + 1 if len(panel) else 1
    key: npt.NDArray[np.signedinteger] = unit.astype(np.int32 if len(units) * width < 2**31 else np.int64)
    np.multiply(key, width, out=key)
    np.add(key, panel["t"].to_numpy(), out=key, casting="same_kind")
    if np.greater(key[1:], key[:-1]).all():
        return panel.reset_index(drop=True)
    order = np.argsort(key)  # keys unique: every sort gives this order
    del key
    if len(order) < 2**31:
        order = order.astype(np.int32)
    columns = {}
    for name in list(panel.columns):
        column = panel[name]
        if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
            # text by its integer codes: the old column goes before the sorted one is made
            found, uniques = (unit, units) if name == "unit_id" else codes(column)
            unit = np.empty(0, dtype=np.int32)  # the unit codes are let go with the column
            del column, panel[name]
            release_arrow_memory(len(order))
            taken = text_of(found[order], uniques)
            del found
        else:
            taken = column.array.take(order)
            del column, panel[name]
        columns[name] = pd.Series(taken, name=name, copy=False)
        release_arrow_memory(len(order))  # a long text column's old buffers, at once
    return pd.DataFrame(columns, copy=False)


def _range_bounds(frequency: str, declared_range: tuple[object, object], today: date | None, start_month: int = 9):
    """(first, last, why-last) periods allowed in the data, at ``frequency`` (None when open)."""
    first = last = None
    why = ""
    lo, hi = declared_range
    for value, slot in ((lo, "first"), (hi, "last")):
        if value in (None, ""):
            continue
        try:
            p = parse_period(str(value), start_month)
        except PeriodError:
            continue
        if p.freq != frequency:
            p = period_containing(p.start if slot == "first" else p.end, frequency, start_month)
        if slot == "first":
            first = p
        else:
            last, why = p, f"last_period {value} declared in dataset.yaml"
    if last is None:
        day = today or date.today()
        last, why = (
            period_containing(day, frequency, start_month),
            f"today is {day.isoformat()}; declare last_period in dataset.yaml if later periods are meant",
        )
    return first, last, why


def _outside_range(labels: pd.Series, freqs: pd.Series, frequency: str, declared_range, today, start_month: int = 9):
    """(mask, rules) of period labels outside the allowed range, or None when all are inside."""
    first, last, why = _range_bounds(frequency, declared_range, today, start_month)
    found, uniques = codes(labels)  # each distinct label parsed once, rows judged by its code
    ordinal = np.full(len(uniques) + 1, np.nan)
    for i, u in enumerate(uniques):
        try:
            ordinal[i] = parse_period(u).ordinal
        except PeriodError:
            continue
    if np.isnan(ordinal).all():
        return None
    same = (freqs == frequency).fillna(False).to_numpy(dtype=bool)
    after = same & (ordinal > last.ordinal)[found]
    before = same & (ordinal < first.ordinal)[found] if first is not None else np.zeros(len(found), dtype=bool)
    del found
    if not (after.any() or before.any()):
        return None
    rules = np.where(
        after,
        f"period after the end of the data {last.label} ({why})",
        f"period before the start of the data {first.label if first else ''} (first_period declared in dataset.yaml)",
    ).astype(object)
    return after | before, rules


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
    ids: pd.Index,
    c: Collector,
    types: dict | None = None,
    allowed: tuple[str, ...] = (),
) -> None:
    values = frame[col]
    unknown = values.notna().to_numpy() & ~among(values, ids)
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
    units_raw: RawTable,
    units: pd.DataFrame,
    panel: pd.DataFrame,
    periods: list[Period],
    c: Collector,
    on: np.ndarray | None = None,
) -> None:
    """Units without panel rows, and units missing some of ``periods`` (only the units ``on``)."""
    found, ids = codes(panel["unit_id"])  # rows per unit, counted on integer codes
    counts = pd.Series(np.bincount(found[found >= 0], minlength=len(ids)), index=ids)
    del found
    absent = units["unit_id"].notna().to_numpy() & ~among(units["unit_id"], counts.index)
    if on is not None:
        absent = absent & on
    c.rows(units_raw, absent, "unit_id", units["unit_id"], "unit has no rows in the panel", severity="warning")
    short = counts[counts < len(periods)]
    if short.empty:
        return
    # every short unit is flagged; the first ones (by unit id) are listed with their missing periods
    listed = sorted(short.index)[:MAX_ROWS_PER_CHECK]
    on_listed = among(panel["unit_id"], listed)
    have: dict[str, set] = {uid: set() for uid in listed}
    for uid, label in zip(panel["unit_id"][on_listed], panel["period"][on_listed]):
        have[uid].add(label)
    row_of = {u: r for u, r in zip(units["unit_id"], units_raw.rows) if u in have}
    for uid, got in have.items():
        missing = [p.label for p in periods if p.label not in got]
        shown = ", ".join(missing[:8]) + (" …" if len(missing) > 8 else "")
        c.add(
            units_raw.file,
            int(row_of[uid]) if uid in row_of else None,
            "unit_id",
            uid,
            f"coverage gap: no panel rows for {len(missing)} of {len(periods)} periods ({shown})",
            severity="warning",
        )
    if len(short) > MAX_ROWS_PER_CHECK:
        c.add(
            units_raw.file,
            None,
            "unit_id",
            None,
            f"coverage gap — and {len(short) - MAX_ROWS_PER_CHECK} more units with missing periods",
            severity="warning",
        )


def _graduate_consistency(g_raw: RawTable, graduates: pd.DataFrame, panel: pd.DataFrame, c: Collector) -> None:
    """Where the panel reports a graduate flow and records exist for that unit-period, they should agree."""
    flows = graduate_flows(graduates)
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

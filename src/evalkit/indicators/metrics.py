"""Indicator computation, aggregation to groups and phase windows, and target attainment.

* :func:`compute` — the tidy indicator table (unit × period × indicator: value, numerator,
  denominator, n) from a :class:`~evalkit.dataset.Dataset` and a registry.
* :func:`aggregate` — the same indicators for phase windows and groups (each unit, members vs
  comparison, alliances, the whole consortium, all units), following each indicator's
  aggregation rule: flows summed over the window, stocks at the window's last period (summed
  over units for groups), ratios recomputed from summed numerators and denominators — never an
  average of ratios.
* :func:`attainment` — a phase's targets against actual values, with the pre-consortium
  baseline.
* :func:`graduate_flows` — graduate records summed to the panel's graduate flows (fast, for
  tens of millions of records).
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.errors import DataError, Problem
from evalkit.data.periods import Period, assign_windows, parse_period, to_date
from evalkit.indicators.registry import Registry, load_registry

Source = Literal["auto", "graduates", "panel"]
Engine = Literal["auto", "numpy", "duckdb"]
GroupBy = Literal["unit", "membership", "alliance", "consortium", "all"]
Members = Literal["by_window_end", "ever"]

SOURCES = ("auto", "graduates", "panel")
ENGINES = ("auto", "numpy", "duckdb")
GROUP_BYS = ("unit", "membership", "alliance", "consortium", "all")
MEMBERS = ("by_window_end", "ever")
TABLE_COLUMNS = ["unit_id", "period", "t", "indicator", "value", "numerator", "denominator", "n", "source"]
STATUS_ZH = {"attained": "达成", "not_attained": "未达成", "no_data": "无数据"}
STATUS_EN = {"attained": "attained", "not_attained": "not attained", "no_data": "no data"}


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def _registry(registry) -> Registry:
    return registry if isinstance(registry, Registry) else load_registry(registry)


# --------------------------------------------------------------------------- graduate records


def graduate_flows(graduates: pd.DataFrame, *, engine: Engine = "auto") -> pd.DataFrame:
    """Graduate records summed to one row per (unit_id, period) with the columns of
    ``schema.GRADUATE_FLOWS``: graduates (records), placed, and — among placed graduates only, as
    the panel defines them — local, member-enterprise and matched counts, income respondents
    (income reported) and the income sum. Records without college or cohort are dropped.

    ``engine``: ``"numpy"`` (integer codes + ``np.bincount``), ``"duckdb"`` (one SQL group-by) or
    ``"auto"`` (= numpy: on 10 million records it measured faster than the DuckDB engine and about
    as fast as a bare DuckDB group-by; see bench/bench_metrics.py). Both give the same numbers.
    """
    _choice("engine", engine, ENGINES)
    g = graduates.dropna(subset=["college_id", "cohort"])
    if engine == "auto":
        engine = "numpy"
    out = _flows_duckdb(g) if engine == "duckdb" else _flows_numpy(g)
    out = out.sort_values(["unit_id", "period"], kind="stable").reset_index(drop=True)
    return out[["unit_id", "period", *schema.GRADUATE_FLOWS]]


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the labels they index (the costly step on millions of strings)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), np.asarray(values.cat.categories.astype(str))
    arrow = getattr(values.array, "_pa_array", None)
    if arrow is not None and arrow.null_count == 0:
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(arrow).combine_chunks()
        return (
            encoded.indices.to_numpy(zero_copy_only=False),
            np.asarray(encoded.dictionary.to_pylist(), dtype=object).astype(str),
        )
    codes, uniques = pd.factorize(values.astype(str), sort=False)
    return codes, np.asarray(pd.Index(uniques).astype(str))


def _zero_filled(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="float64", na_value=0.0)


def _flows_numpy(g: pd.DataFrame) -> pd.DataFrame:
    unit_code, units = _codes(g["college_id"])
    period_code, periods = _codes(g["cohort"])
    key = unit_code.astype(np.int64) * len(periods) + period_code
    size = len(units) * len(periods)
    placed = _zero_filled(g["placed"])
    income = g["income"].to_numpy(dtype="float64", na_value=np.nan)
    responded = (~np.isnan(income)) * placed
    sums = {
        "graduates": np.bincount(key, minlength=size).astype("float64"),
        "graduates_placed": np.bincount(key, placed, size),
        "graduates_local": np.bincount(key, _zero_filled(g["local"]) * placed, size),
        "graduates_member_ent": np.bincount(key, _zero_filled(g["member_enterprise"]) * placed, size),
        "graduates_matched": np.bincount(key, _zero_filled(g["job_match"]) * placed, size),
        "income_respondents": np.bincount(key, responded, size),
        "income_sum": np.bincount(key, np.where(responded > 0, income, 0.0), size),
    }
    cells = np.flatnonzero(sums["graduates"])
    out = pd.DataFrame({"unit_id": units[cells // len(periods)], "period": periods[cells % len(periods)]})
    for name, arr in sums.items():
        out[name] = arr[cells]
    return out


def _flows_duckdb(g: pd.DataFrame) -> pd.DataFrame:
    import duckdb

    frame = g[["college_id", "cohort", "placed", "local", "member_enterprise", "job_match", "income"]]
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # it would print into the user's output
        con.register("g", frame)
        out = con.execute("""
            SELECT CAST(college_id AS VARCHAR) AS unit_id, CAST(cohort AS VARCHAR) AS period,
                   CAST(count(*) AS DOUBLE) AS graduates,
                   sum(coalesce(CAST(placed AS DOUBLE), 0)) AS graduates_placed,
                   sum(coalesce(CAST(local AS DOUBLE), 0) * coalesce(CAST(placed AS DOUBLE), 0)) AS graduates_local,
                   sum(coalesce(CAST(member_enterprise AS DOUBLE), 0) * coalesce(CAST(placed AS DOUBLE), 0))
                       AS graduates_member_ent,
                   sum(coalesce(CAST(job_match AS DOUBLE), 0) * coalesce(CAST(placed AS DOUBLE), 0))
                       AS graduates_matched,
                   sum(CASE WHEN income IS NOT NULL THEN coalesce(CAST(placed AS DOUBLE), 0) ELSE 0 END)
                       AS income_respondents,
                   sum(CASE WHEN income IS NOT NULL THEN coalesce(CAST(placed AS DOUBLE), 0) * income ELSE 0 END)
                       AS income_sum
            FROM g GROUP BY 1, 2
        """).df()
    finally:
        con.close()
    for col in schema.GRADUATE_FLOWS:
        out[col] = out[col].astype("float64")
    out["unit_id"] = out["unit_id"].astype(str)
    out["period"] = out["period"].astype(str)
    return out


# --------------------------------------------------------------------------- compute


def compute(dataset, registry=None, *, source: Source = "auto", engine: Engine = "auto") -> pd.DataFrame:
    """The tidy indicator table: one row per unit × period × indicator (for the units of the
    indicator's ``unit_type``) with columns ``unit_id, period, t, indicator, value, numerator,
    denominator, n, source``.

    ``value = scale × numerator / denominator`` (missing when the denominator is 0 or missing).
    ``n`` is the count behind the value, for small-cell suppression: the denominator when it
    counts persons/units, else — for graduate-based counts — the number of graduates; missing
    otherwise.

    ``source`` says where the graduate flows (``schema.GRADUATE_FLOWS``) come from:
    ``"panel"`` — the panel columns; ``"graduates"`` — only the graduate records (unit-periods
    without records are missing; an error if the dataset has none); ``"auto"`` — the records for
    every unit-period that has any, the panel elsewhere. The ``source`` column says which one
    each graduate-based row used ("panel" for all others). ``engine`` is passed to
    :func:`graduate_flows`.
    """
    _choice("source", source, SOURCES)
    reg = _registry(registry)
    panel = dataset.panel
    variables = {v for ind in reg for v in ind.variables}
    if variables & set(schema.GRADUATE_FLOWS):
        variables.add("graduates")  # the n of graduate-based counts
    variables = sorted(variables)
    frame = panel[["unit_id", "period", "t"]].copy()
    for v in variables:
        frame[v] = panel[v].astype("float64") if v in panel.columns else np.nan
    frame["_from_records"] = False

    uses_graduates = any(v in schema.GRADUATE_FLOWS for v in variables)
    if uses_graduates and source != "panel":
        records = getattr(dataset, "graduates", None)
        if records is None or len(records) == 0:
            if source == "graduates":
                raise DataError(
                    [
                        Problem(
                            "graduates",
                            None,
                            None,
                            None,
                            "source='graduates' needs graduate "
                            "records, and this dataset has none; use source='panel' or 'auto'",
                        )
                    ]
                )
        else:
            frame = _merge_flows(frame, graduate_flows(records, engine=engine), dataset, source)

    unit_type = dataset.units.set_index("unit_id")["unit_type"].astype(str)
    frame = frame.sort_values(["unit_id", "t"], kind="stable")
    return _indicator_table(reg, frame, frame["unit_id"].map(unit_type).to_numpy())


def _indicator_table(reg: Registry, frame: pd.DataFrame, unit_types: np.ndarray) -> pd.DataFrame:
    """All indicators at once on numpy arrays; one DataFrame is built at the end."""
    columns = {c: frame[c].to_numpy(dtype="float64") for c in frame.columns if c in schema.PANEL_VARIABLE_NAMES}
    unit_ids = frame["unit_id"].astype(str).to_numpy()
    labels = frame["period"].astype(str).to_numpy()
    t = frame["t"].to_numpy(dtype="int64")
    from_records = frame["_from_records"].to_numpy(dtype=bool)
    rows_of = {ut: np.flatnonzero(unit_types == ut) for ut in {ind.unit_type for ind in reg}}
    parts: dict[str, list] = {k: [] for k in TABLE_COLUMNS}
    for ind in reg:
        rows = rows_of[ind.unit_type]
        num = _linear(ind.numerator, columns, rows)
        if ind.denominator is not None:
            den = _linear(ind.denominator, columns, rows)
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where(den != 0, ind.scale * num / den, np.nan)
        else:
            den = np.full(len(rows), np.nan)
            value = ind.scale * num
        if ind.denominator_is_count:
            n = den
        elif ind.graduate_based:
            n = columns["graduates"][rows]
        else:
            n = np.full(len(rows), np.nan)
        source = np.where(from_records[rows] & ind.graduate_based, "graduates", "panel")
        for key, arr in (
            ("unit_id", unit_ids[rows]),
            ("period", labels[rows]),
            ("t", t[rows]),
            ("indicator", np.full(len(rows), ind.id, dtype=object)),
            ("value", value),
            ("numerator", num),
            ("denominator", den),
            ("n", n),
            ("source", source),
        ):
            parts[key].append(arr)
    out = {k: (np.concatenate(v) if v else np.array([])) for k, v in parts.items()}
    table = pd.DataFrame(out)
    for col in ("value", "numerator", "denominator", "n"):
        table[col] = table[col].astype("float64")
    for col in ("unit_id", "period", "indicator", "source"):
        table[col] = table[col].astype("str")
    return table


def _linear(terms, columns: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    out = np.zeros(len(rows))
    for var, coef in terms:
        values = columns[var][rows] if var in columns else np.full(len(rows), np.nan)
        out = out + coef * values
    return out


def _merge_flows(frame: pd.DataFrame, flows: pd.DataFrame, dataset, source: str) -> pd.DataFrame:
    """Put graduate-record flows into the panel frame (records win where they exist)."""
    labels = {p: parse_period(p).label for p in flows["period"].unique()}
    flows = flows.assign(period=flows["period"].map(labels))
    frame = frame.assign(period=frame["period"].astype(str))
    merged = frame.merge(flows, on=["unit_id", "period"], how="outer", suffixes=("", "__rec"), indicator=True)
    has = (merged["_merge"] != "left_only").to_numpy()
    for col in schema.GRADUATE_FLOWS:
        if col not in frame.columns:
            continue
        rec = merged[f"{col}__rec"].to_numpy()
        if source == "graduates":
            merged[col] = rec
        else:
            merged[col] = np.where(has, rec, merged[col].to_numpy())
    merged["_from_records"] = has
    if merged["t"].isna().any():  # cells with records but no panel row
        t_of = _period_index(dataset, merged["period"])
        merged["t"] = merged["t"].fillna(merged["period"].map(t_of))
    merged["t"] = merged["t"].astype("int64")
    return merged[[c for c in frame.columns]]


def _period_index(dataset, labels: pd.Series) -> dict[str, int]:
    periods: list[Period] = list(getattr(dataset, "periods", []) or [])
    index = {p.label: i + 1 for i, p in enumerate(periods)}
    missing = sorted(set(labels) - set(index))
    if missing:
        raise DataError(
            [
                Problem("graduates", None, "cohort", m, "graduate cohort outside the dataset's periods")
                for m in missing[:20]
            ]
        )
    return index


# --------------------------------------------------------------------------- aggregate


def aggregate(
    data,
    registry=None,
    *,
    by: GroupBy | Sequence[GroupBy] = "unit",
    windows: Mapping[str, tuple[object, object]] | None = None,
    units: pd.DataFrame | None = None,
    members: Members = "by_window_end",
    source: Source = "auto",
    flows: Literal["sum", "per_year"] | None = None,
) -> pd.DataFrame:
    """Indicators aggregated to windows and groups.

    ``data``: a Dataset (indicators are computed with :func:`compute` and ``source``) or the
    table :func:`compute` returned (then pass ``units``, the dataset's units table, for any
    grouping other than ``"unit"`` and ``"all"``).

    ``windows``: ``{window_id: (start, end)}`` date windows (``"2024-01-01"`` or dates), e.g. a
    phase's window and its baseline. A period belongs to the window it overlaps most (ties: the
    earlier window; :func:`evalkit.periods.assign_windows`); periods in no window are left out.
    ``None``: every period is its own window.

    Within a window, per unit: a flow is summed over the window's periods (missing periods are
    skipped; all missing → missing); a stock is the value at the window's last period (the
    latest period of the data that belongs to the window; missing if the unit did not report
    it); a ratio is ``scale × N / D`` with N and D each aggregated by their own kind.

    ``by`` (one or several): ``"unit"`` each unit; ``"membership"`` members vs comparison;
    ``"alliance"`` members by alliance; ``"consortium"`` all members together; ``"all"`` every
    unit. Group values sum the units' window numerators and denominators (units missing either
    are left out of a ratio; ``n_units`` counts the units used) and recompute the ratio.

    ``members`` defines membership in a window: ``"by_window_end"`` (default) — a member is a
    unit whose ``member_since`` is on or before the window's end; the comparison group is the
    never-members (empty ``member_since``); units that join after the window's end belong to
    neither in that window. ``"ever"`` — every unit with a ``member_since`` is a member in every
    window (the consortium as finally constituted, e.g. to describe it before it was founded).

    ``flows``: ``None`` (default) — ``"per_year"`` when ``windows`` are given (so a 4-year baseline
    and an 18-month phase compare), ``"sum"`` when every period is its own window;
    ``"sum"`` — flows are the window's total; ``"per_year"`` — flow
    numerators and denominators are divided by the window's length in years (its periods in the
    data ÷ periods per year), so windows of different lengths compare: a flow becomes an annual
    amount and a flow-over-stock ratio (income per 100 teachers) an annual rate. Flow-over-flow
    ratios (rates) are unchanged either way. ``n`` is never scaled.

    Returns columns ``group_by, group, window, start, end, last_period, indicator, aggregation,
    value, numerator, denominator, n, n_units`` (and ``years``, the window's length in years).
    """
    _choice("members", members, MEMBERS)
    if flows is None:
        flows = "sum" if windows is None else "per_year"
    _choice("flows", flows, ("sum", "per_year"))
    bys = [by] if isinstance(by, str) else list(by)
    for b in bys:
        _choice("by", b, GROUP_BYS)
    reg = _registry(registry)
    if hasattr(data, "panel"):
        table = compute(data, reg, source=source)
        units = data.units if units is None else units
    else:
        table = data
    if units is None and any(b not in ("unit", "all") for b in bys):
        raise ValueError("aggregate(table, by=...) needs units= (the dataset's units table) to form groups")
    table = table[table["indicator"].isin(reg.ids)]

    labels = pd.unique(table["period"].astype(str))
    period_of = {lab: parse_period(lab) for lab in labels}
    if windows is None:
        spans = {lab: (p.start, p.end) for lab, p in period_of.items()}
        window_of = {lab: lab for lab in labels}
    else:
        spans = {str(k): (to_date(a), to_date(b)) for k, (a, b) in windows.items()}
        assigned = assign_windows(list(period_of.values()), spans)
        window_of = {lab: assigned[p] for lab, p in period_of.items()}
    tbl = table.assign(window=table["period"].astype(str).map(window_of)).dropna(subset=["window"])
    last = {}
    for lab, w in window_of.items():
        if w is not None and (w not in last or period_of[lab] > period_of[last[w]]):
            last[w] = lab

    per_year = {"year": 1, "half": 2, "quarter": 4, "month": 12}
    years: dict[str, float] = {}
    for lab, w in window_of.items():
        if w is not None:
            years[w] = years.get(w, 0.0) + 1.0 / per_year[period_of[lab].freq]
    per_unit = _unit_windows(tbl, reg, last, years if flows == "per_year" else None)
    frames = []
    for b in bys:
        if b == "unit":
            out = per_unit.assign(group_by="unit", group=per_unit["unit_id"], n_units=1)
            out["n_units"] = np.where(out["value"].notna(), 1, 0)
        else:
            out = _group_windows(per_unit, reg, b, units, spans, members)
        frames.append(out)
    result = pd.concat(frames, ignore_index=True)
    result["start"] = result["window"].map(lambda w: spans[w][0])
    result["end"] = result["window"].map(lambda w: spans[w][1])
    result["last_period"] = result["window"].map(last)
    result["years"] = result["window"].map(years)
    order = {ind: i for i, ind in enumerate(reg.ids)}
    win_order = {w: i for i, w in enumerate(sorted(spans, key=lambda w: (spans[w][0], w)))}
    result = result.sort_values(
        ["group_by", "group", "window", "indicator"],
        key=lambda s: s.map(order) if s.name == "indicator" else (s.map(win_order) if s.name == "window" else s),
        kind="stable",
    )
    cols = [
        "group_by",
        "group",
        "window",
        "start",
        "end",
        "last_period",
        "indicator",
        "aggregation",
        "value",
        "numerator",
        "denominator",
        "n",
        "n_units",
        "years",
    ]
    return result[cols].reset_index(drop=True)


def _kinds(reg: Registry) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "indicator": i.id,
                "aggregation": i.aggregation,
                "num_kind": i.numerator_kind,
                "den_kind": i.denominator_kind or i.numerator_kind,
                "n_kind": i.denominator_kind or i.numerator_kind,
                "scale": i.scale,
                "is_ratio": i.denominator is not None,
            }
            for i in reg
        ]
    )


def _unit_windows(
    tbl: pd.DataFrame, reg: Registry, last: dict[str, str], years: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per unit × window × indicator: numerator, denominator and n aggregated by their kinds
    (flows divided by the window's length in years when ``years`` is given)."""
    keys = ["unit_id", "window", "indicator"]
    sums = tbl.groupby(keys, sort=False)[["numerator", "denominator", "n"]].sum(min_count=1)
    at_end = tbl[tbl["period"].astype(str) == tbl["window"].map(last)]
    ends = at_end.set_index(keys)[["numerator", "denominator", "n"]]
    ends = ends.reindex(sums.index)
    out = sums.reset_index().merge(_kinds(reg), on="indicator", how="left")
    for col, kind in (("numerator", "num_kind"), ("denominator", "den_kind"), ("n", "n_kind")):
        out[col] = np.where(out[kind].to_numpy() == "stock", ends[col].to_numpy(), out[col].to_numpy())
    if years is not None:
        factor = out["window"].map(years).to_numpy(dtype="float64")
        for col, kind in (("numerator", "num_kind"), ("denominator", "den_kind")):
            flow = out[kind].to_numpy() == "flow"
            out[col] = np.where(flow, out[col].to_numpy(dtype="float64") / factor, out[col].to_numpy(dtype="float64"))
    return _values(out)


def _values(out: pd.DataFrame) -> pd.DataFrame:
    num, den = out["numerator"].to_numpy(dtype="float64"), out["denominator"].to_numpy(dtype="float64")
    ratio = out["is_ratio"].to_numpy(dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(ratio, np.where(den != 0, out["scale"] * num / den, np.nan), out["scale"] * num)
    out["denominator"] = np.where(ratio, den, np.nan)
    out["value"] = value
    return out


def _membership(units: pd.DataFrame, b: str, end: date, members: str) -> pd.Series:
    """unit_id → group label for one window (units outside every group are dropped)."""
    since = pd.to_datetime(units["member_since"], errors="coerce")
    never = since.isna().to_numpy()
    is_member = ~never if members == "ever" else (~never & (since <= pd.Timestamp(end)).to_numpy())
    ids = units["unit_id"].astype(str).to_numpy()
    if b == "all":
        return pd.Series("all", index=ids)
    if b == "consortium":
        return pd.Series("consortium", index=ids[is_member])
    if b == "alliance":
        alliance = units["alliance"].astype("string").fillna("none").astype(str).to_numpy()
        return pd.Series(alliance[is_member], index=ids[is_member])
    label = np.where(is_member, "member", np.where(never, "comparison", ""))
    keep = label != ""
    return pd.Series(label[keep], index=ids[keep])


def _group_windows(per_unit: pd.DataFrame, reg: Registry, b: str, units, spans, members: str) -> pd.DataFrame:
    pieces = []
    for window in pd.unique(per_unit["window"]):
        if units is None:  # "all" from a table without units
            groups = pd.Series("all", index=pd.unique(per_unit["unit_id"].astype(str)))
        else:
            groups = _membership(units, b, spans[window][1], members)
        pieces.append(pd.DataFrame({"window": window, "unit_id": groups.index, "group": groups.to_numpy()}))
    mapping = pd.concat(pieces, ignore_index=True)
    f = per_unit.assign(unit_id=per_unit["unit_id"].astype(str)).merge(mapping, on=["window", "unit_id"])
    f = f[f["numerator"].notna() & (~f["is_ratio"] | f["denominator"].notna())]
    out = (
        f.groupby(["window", "group", "indicator"], sort=False)
        .agg(
            numerator=("numerator", "sum"),
            denominator=("denominator", "sum"),
            n=("n", "sum"),
            n_reported=("n", "count"),
            n_units=("unit_id", "size"),
        )
        .reset_index()
    )
    out["n"] = out["n"].where(out["n_reported"] > 0)
    out = _values(out.merge(_kinds(reg), on="indicator", how="left"))
    out["group_by"] = b
    return out


# --------------------------------------------------------------------------- attainment


def _as_values(obj, what: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        if not {"indicator", "value"} <= set(obj.columns):
            raise ValueError(f"{what} as a DataFrame needs columns 'indicator' and 'value'")
        return obj
    if isinstance(obj, (pd.Series, Mapping)):
        s = pd.Series(obj, dtype="float64")
        return pd.DataFrame({"indicator": s.index.astype(str), "value": s.to_numpy()})
    raise TypeError(f"{what} must be a mapping {{indicator: value}}, a Series or a DataFrame with indicator/value")


_WINDOW_COLUMNS = ("window", "start", "end", "last_period", "years")


def attainment(actual, targets: Mapping[str, float], baseline=None, *, registry=None) -> pd.DataFrame:
    """A phase's targets against actual values, and the change against the baseline.

    ``actual``: ``{indicator: value}`` / Series, or a DataFrame with ``indicator`` and ``value``
    (e.g. rows of :func:`aggregate`; its other columns, such as ``group``, are kept and each row
    is judged). ``targets``: ``{indicator: target}``. ``baseline`` (optional): same forms as
    ``actual``; a DataFrame baseline is matched on ``indicator`` plus the key columns both
    frames share (window columns excluded).

    ``attained`` respects the indicator's direction: ``actual ≥ target`` for +1, ``actual ≤
    target`` for −1 (exact comparison). ``share_of_target`` is ``actual / target`` for +1 and
    ``target / actual`` for −1, so ≥ 1 means attained either way. ``change_abs = actual −
    baseline``, ``change_rel = change_abs / |baseline|``. Missing actual values get status
    ``no_data``. Status labels: ``status`` (attained / not_attained / no_data), ``status_zh``
    (达成 / 未达成 / 无数据), ``status_en``.
    """
    reg = _registry(registry)
    for ind in targets:
        reg.get(ind)  # unknown indicator → RegistryError naming it
    tgt = pd.DataFrame({"indicator": list(targets), "target": [float(v) for v in targets.values()]})
    act = _as_values(actual, "actual").rename(columns={"value": "actual"})
    keys = [
        c
        for c in act.columns
        if c not in ("indicator", "actual", "numerator", "denominator", "n", "n_units", "aggregation")
    ]
    act = act[keys + ["indicator", "actual"]]
    if keys:
        combos = act[keys].drop_duplicates()
        frame = combos.merge(tgt, how="cross").merge(act, on=keys + ["indicator"], how="left")
    else:
        frame = tgt.merge(act, on="indicator", how="left")
    if baseline is not None:
        base = _as_values(baseline, "baseline").rename(columns={"value": "baseline"})
        on = ["indicator"] + [k for k in keys if k in base.columns and k not in _WINDOW_COLUMNS]
        frame = frame.merge(base[on + ["baseline"]], on=on, how="left")
    else:
        frame["baseline"] = np.nan
    meta = pd.DataFrame(
        [
            {
                "indicator": i.id,
                "name_zh": i.name_zh,
                "name_en": i.name_en,
                "unit": i.unit,
                "unit_zh": i.unit_zh,
                "direction": i.direction,
            }
            for i in reg
        ]
    )
    frame = frame.merge(meta, on="indicator", how="left")
    a, t = frame["actual"].to_numpy(dtype="float64"), frame["target"].to_numpy(dtype="float64")
    d = frame["direction"].to_numpy()
    b = frame["baseline"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        attained = np.where(d == 1, a >= t, a <= t)
        share = np.where(d == 1, a / t, t / a)
        share = np.where(np.isfinite(share), share, np.nan)
        rel = (a - b) / np.abs(b)
    status = np.where(np.isnan(a), "no_data", np.where(attained, "attained", "not_attained"))
    frame["attained"] = pd.array(np.where(np.isnan(a), None, attained), dtype="boolean")
    frame["status"] = status
    frame["status_zh"] = pd.Series(status).map(STATUS_ZH).to_numpy()
    frame["status_en"] = pd.Series(status).map(STATUS_EN).to_numpy()
    frame["share_of_target"] = share
    frame["change_abs"] = a - b
    frame["change_rel"] = np.where(np.isfinite(rel), rel, np.nan)
    cols = keys + [
        "indicator",
        "name_zh",
        "name_en",
        "unit",
        "unit_zh",
        "direction",
        "actual",
        "target",
        "attained",
        "status",
        "status_zh",
        "status_en",
        "share_of_target",
        "baseline",
        "change_abs",
        "change_rel",
    ]
    return frame[cols].reset_index(drop=True)


__all__ = ["compute", "aggregate", "attainment", "graduate_flows", "TABLE_COLUMNS"]

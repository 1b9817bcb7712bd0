"""Indicators over phase windows and groups (:func:`aggregate`), following each indicator's
aggregation rule: flows summed over the window (or per year), stocks at the window's last period
(summed over units for groups), ratios recomputed from summed numerators and denominators —
never an average of ratios."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.data.dataset import Dataset
from evalkit.data.calendars import check_alignable
from evalkit.data.periods import ACADEMIC_START_MONTH, assign_windows, parse_period, to_date
from evalkit.errors import check_choice
from evalkit.indicators.compute import RegistryLike, Source, as_registry, compute
from evalkit.indicators.registry import Registry

GroupBy = Literal["unit", "membership", "alliance", "college_level", "consortium", "all"]
Members = Literal["by_window_end", "ever"]
Flows = Literal["sum", "per_year"]
GROUP_BYS = ("unit", "membership", "alliance", "college_level", "consortium", "all")
MEMBERS = ("by_window_end", "ever")
FLOWS = ("sum", "per_year")
PERIODS_PER_YEAR = {"year": 1, "half": 2, "quarter": 4, "month": 12, "academic_year": 1}
COLUMNS = [
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


def aggregate(
    data: Dataset | pd.DataFrame,
    registry: RegistryLike = None,
    *,
    by: GroupBy | Sequence[GroupBy] = "unit",
    windows: Mapping[str, tuple[object, object]] | None = None,
    units: pd.DataFrame | None = None,
    members: Members = "by_window_end",
    source: Source = "auto",
    flows: Flows | None = None,
    start_month: int | None = None,
) -> pd.DataFrame:
    """Indicators aggregated to windows and groups.

    Within a window, per unit: a flow is summed over the window's periods (missing periods are
    skipped; all missing → missing); a stock is the value at the window's last period (the
    latest period of the data that belongs to the window; missing if the unit did not report
    it); a ratio is ``scale × N / D`` with N and D each aggregated by their own kind. Group
    values sum the units' window numerators and denominators (units missing either are left out
    of a ratio; ``n_units`` counts the units used) and recompute the ratio.

    Parameters
    ----------
    data : Dataset or pandas.DataFrame
        A Dataset (indicators are computed with :func:`~evalkit.indicators.compute.compute` and
        ``source``) or the table ``compute`` returned (then pass ``units`` for any grouping
        other than ``"unit"`` and ``"all"``).
    registry : Registry, path, mapping or None
        The indicators (``None``: the shipped registry); rows of other indicators are left out.
    by : str or sequence of str
        One or several of ``"unit"`` (each unit), ``"membership"`` (members vs comparison),
        ``"alliance"`` (members by alliance; the park and units of no alliance are ``none``),
        ``"college_level"`` (member colleges by kind: ``higher_vocational``, ``secondary``,
        ``technician`` — each compared with its own kind; other units are left out), ``"consortium"`` (all members together), ``"all"``
        (every unit).
    windows : mapping of str to (start, end), optional
        ``{window_id: (start, end)}`` date windows (``"2024-01-01"`` or dates), e.g. a phase's
        window and its baseline. A period belongs to the window it overlaps most (ties: the
        earlier window; :func:`evalkit.data.periods.assign_windows`); periods in no window are
        left out. ``None``: every period is its own window.
    units : pandas.DataFrame, optional
        The dataset's units table (default: ``data.units`` for a Dataset).
    members : {"by_window_end", "ever"}
        Membership in a window: ``"by_window_end"`` — a unit whose ``member_since`` is on or
        before the window's end; the comparison group is the never-members; units that join
        after the window's end belong to neither. ``"ever"`` — every unit with a
        ``member_since`` is a member in every window (the consortium as finally constituted).
    source : {"auto", "graduates", "panel"}
        Passed to ``compute`` when ``data`` is a Dataset.
    flows : {"sum", "per_year"}, optional
        ``"sum"`` — flows are the window's total; ``"per_year"`` — flow numerators and
        denominators are divided by the window's length in years (its periods in the data ÷
        periods per year), so windows of different lengths compare: a flow becomes an annual
        amount and a flow-over-stock ratio an annual rate; flow-over-flow ratios are unchanged
        and ``n`` is never scaled. ``None`` (default): ``"per_year"`` with ``windows``, else
        ``"sum"``.
    start_month : int, optional
        The first month of an academic year, for reading ``2023-2024学年`` labels back into dates
        (``None``: the Dataset's ``academic_year_start_month``, or 9 for a table).

    Notes
    -----
    A dataset on two calendars (colleges on academic years, enterprises on calendar years;
    ``frequency_by_unit_type``) is aligned per calendar: each calendar's periods go to windows by
    the same overlap rule, an indicator's stocks are taken at its own calendar's last period in
    the window and ``years`` counts its own calendar's periods. An indicator whose rows in one
    window come from two calendars cannot be aligned and raises
    :class:`~evalkit.errors.DataError` (:func:`evalkit.data.calendars.check_alignable`).

    Returns
    -------
    pandas.DataFrame
        Columns ``group_by, group, window, start, end, last_period, indicator, aggregation,
        value, numerator, denominator, n, n_units, years`` (``years``: the window's length in
        years).
    """
    check_choice("members", members, MEMBERS)
    if flows is None:
        flows = "sum" if windows is None else "per_year"
    check_choice("flows", flows, FLOWS)
    bys = [by] if isinstance(by, str) else list(by)
    for b in bys:
        check_choice("by", b, GROUP_BYS)
    reg = as_registry(registry)
    if isinstance(data, pd.DataFrame):
        table = data
    else:
        table = compute(data, reg, source=source)
        units = data.units if units is None else units
        start_month = data.start_month if start_month is None else start_month
    if units is None and any(b not in ("unit", "all") for b in bys):
        raise ValueError("aggregate(table, by=...) needs units= (the dataset's units table) to form groups")
    table = table[table["indicator"].isin(reg.ids)]

    labels = pd.unique(table["period"].astype(str))
    period_of = {lab: parse_period(lab, ACADEMIC_START_MONTH if start_month is None else start_month) for lab in labels}
    spans: dict[str, tuple[date, date]]
    window_of: dict[str, str | None]
    if windows is None:
        spans = {lab: (p.start, p.end) for lab, p in period_of.items()}
        window_of = {lab: lab for lab in labels}
    else:
        spans = {str(k): (to_date(a), to_date(b)) for k, (a, b) in windows.items()}
        assigned = assign_windows(list(period_of.values()), spans)
        window_of = {lab: assigned[p] for lab, p in period_of.items()}
    tbl = table.assign(window=table["period"].astype(str).map(window_of)).dropna(subset=["window"])
    freq_of = {lab: p.freq for lab, p in period_of.items()}
    # one calendar per indicator and window (a mixed dataset's two calendars are never summed)
    pairs = tbl.assign(_freq=tbl["period"].astype(str).map(freq_of))[["indicator", "window", "_freq"]]
    for (ind, _w), fr in pairs.drop_duplicates().groupby(["indicator", "window"])["_freq"]:
        check_alignable(str(ind), set(fr), "summed over one window")
    last: dict[tuple[str, str], str] = {}  # (window, frequency) → the calendar's last period in it
    years: dict[tuple[str, str], float] = {}
    for lab, w in window_of.items():
        if w is None:
            continue
        key = (w, period_of[lab].freq)
        if key not in last or period_of[lab] > period_of[last[key]]:
            last[key] = lab
        years[key] = years.get(key, 0.0) + 1.0 / PERIODS_PER_YEAR[period_of[lab].freq]
    # a dict: looked up once per result row below (a MultiIndex lookup per row cost ~0.1 s per call)
    ind_freq = pairs.drop_duplicates(["indicator", "window"]).set_index(["indicator", "window"])["_freq"].to_dict()
    per_unit = _unit_windows(tbl, reg, last, years if flows == "per_year" else None, freq_of)
    frames = []
    for b in bys:
        if b == "unit":
            out = per_unit.assign(group_by="unit", group=per_unit["unit_id"])
            out["n_units"] = np.where(out["value"].notna(), 1, 0)
        else:
            out = _group_windows(per_unit, reg, b, units, spans, members)
        frames.append(out)
    result = pd.concat(frames, ignore_index=True)
    result["start"] = result["window"].map(lambda w: spans[w][0])
    result["end"] = result["window"].map(lambda w: spans[w][1])
    keys = [(w, ind_freq.get((i, w))) for w, i in zip(result["window"], result["indicator"])]
    result["last_period"] = [last.get(k) for k in keys]  # type: ignore[arg-type]
    result["years"] = [years.get(k) for k in keys]  # type: ignore[arg-type]
    order = {ind: i for i, ind in enumerate(reg.ids)}
    win_order = {w: i for i, w in enumerate(sorted(spans, key=lambda w: (spans[w][0], w)))}
    result = result.sort_values(
        ["group_by", "group", "window", "indicator"],
        key=lambda s: s.map(order) if s.name == "indicator" else (s.map(win_order) if s.name == "window" else s),
        kind="stable",
    )
    return result[COLUMNS].reset_index(drop=True)


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
    tbl: pd.DataFrame,
    reg: Registry,
    last: dict[tuple[str, str], str],
    years: dict[tuple[str, str], float] | None,
    freq_of: dict[str, str],
) -> pd.DataFrame:
    """Per unit × window × indicator: numerator, denominator and n aggregated by their kinds
    (flows divided by the window's length in years of the row's calendar when ``years`` is given)."""
    keys = ["unit_id", "window", "indicator"]
    tbl = tbl.assign(_freq=tbl["period"].astype(str).map(freq_of))
    sums = tbl.groupby(keys, sort=False)[["numerator", "denominator", "n"]].sum(min_count=1)
    freq = tbl.groupby(keys, sort=False)["_freq"].first()
    ends_of = [last.get((w, f)) for w, f in zip(tbl["window"], tbl["_freq"])]
    at_end = tbl[tbl["period"].astype(str).to_numpy() == np.array(ends_of, dtype=object)]
    ends = at_end.set_index(keys)[["numerator", "denominator", "n"]]
    ends = ends.reindex(sums.index)
    out = sums.reset_index().merge(_kinds(reg), on="indicator", how="left")
    for col, kind in (("numerator", "num_kind"), ("denominator", "den_kind"), ("n", "n_kind")):
        out[col] = np.where(out[kind].to_numpy() == "stock", ends[col].to_numpy(), out[col].to_numpy())
    if years is not None:
        factor = np.array([years[(w, f)] for w, f in zip(out["window"], freq.to_numpy())], dtype="float64")
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
    if b == "college_level":
        raw = units["college_level"] if "college_level" in units.columns else pd.Series(None, index=units.index)
        level = raw.astype("string").replace("", pd.NA).to_numpy(dtype=object, na_value=None)
        keep = is_member & np.array([v is not None for v in level], dtype=bool)
        return pd.Series(level[keep], index=ids[keep])
    label = np.where(is_member, "member", np.where(never, "comparison", ""))
    keep = label != ""
    return pd.Series(label[keep], index=ids[keep])


def _group_windows(
    per_unit: pd.DataFrame,
    reg: Registry,
    b: str,
    units: pd.DataFrame | None,
    spans: Mapping[str, tuple[date, date]],
    members: str,
) -> pd.DataFrame:
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

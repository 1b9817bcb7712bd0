"""The tidy indicator table: :func:`compute` (unit × period × indicator: value, numerator,
denominator, n, source) from a :class:`~evalkit.data.dataset.Dataset` and a registry, with the
graduate flows taken from the records or the panel."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data.dataset import Dataset
from evalkit.data.flows import ENGINES, Engine, graduate_flows
from evalkit.data.periods import Period, parse_period
from evalkit.errors import DataError, Problem, check_choice
from evalkit.indicators.definition import Linear, evaluate
from evalkit.indicators.registry import Registry, load_registry

Source = Literal["auto", "graduates", "panel"]
SOURCES = ("auto", "graduates", "panel")
TABLE_COLUMNS = ["unit_id", "period", "t", "indicator", "value", "numerator", "denominator", "n", "source"]
RegistryLike = Registry | str | Path | Mapping | None


def as_registry(registry: RegistryLike) -> Registry:
    """``registry`` itself when it is a :class:`Registry`, else :func:`load_registry` of it
    (``None``: the shipped registry)."""
    return registry if isinstance(registry, Registry) else load_registry(registry)


def compute(
    dataset: Dataset,
    registry: RegistryLike = None,
    *,
    source: Source = "auto",
    engine: Engine = "auto",
) -> pd.DataFrame:
    """The tidy indicator table: one row per unit × period × indicator, for the units of the
    indicator's ``unit_type``.

    ``value = scale × numerator / denominator`` (missing when the denominator is 0 or missing).
    ``n`` is the count behind the value, for small-cell suppression: the denominator when it
    counts persons/units, else — for graduate-based counts — the number of graduates; missing
    otherwise.

    Parameters
    ----------
    dataset : Dataset
        A loaded dataset (:func:`evalkit.data.dataset.load` or ``Dataset.from_frames``).
    registry : Registry, path, mapping or None
        The indicators: a :class:`~evalkit.indicators.registry.Registry`, a registry YAML file,
        a parsed mapping, or ``None`` for the shipped ``indicators.yaml``.
    source : {"auto", "graduates", "panel"}
        Where the graduate flows (``schema.GRADUATE_FLOWS``) come from: ``"panel"`` — the panel
        columns; ``"graduates"`` — only the graduate records (unit-periods without records are
        missing; a :class:`~evalkit.errors.DataError` if the dataset has none); ``"auto"`` — the
        records for every unit-period that has any, the panel elsewhere.
    engine : {"auto", "numpy", "pandas"}
        The engine of :func:`evalkit.data.flows.graduate_flows` (same numbers either way).

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id, period, t, indicator, value, numerator, denominator, n, source``;
        ``source`` says where each graduate-based row's flows came from ("graduates" or
        "panel"; "panel" for every other row).
    """
    check_choice("source", source, SOURCES)
    check_choice("engine", engine, ENGINES)
    reg = as_registry(registry)
    panel = dataset.panel
    needed = {v for ind in reg for v in ind.variables}
    if needed & set(schema.GRADUATE_FLOWS):
        needed.add("graduates")  # the n of graduate-based counts
    variables = sorted(needed)
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


def _linear(terms: Linear, columns: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The linear formula on the given rows (every variable of the registry is a column)."""
    return np.asarray(evaluate(terms, {var: columns[var][rows] for var, _ in terms}))


def _merge_flows(frame: pd.DataFrame, flows: pd.DataFrame, dataset: Dataset, source: str) -> pd.DataFrame:
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


def _period_index(dataset: Dataset, labels: pd.Series) -> dict[str, int]:
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

"""Graduate records summed to the panel's graduate flows (``schema.GRADUATE_FLOWS``): the one
definition evalkit has of them, used by ``Dataset.graduate_flows()``, the consistency check of
the validation and ``metrics.compute``.

Two engines give the same numbers: ``"pandas"``, the reference (a readable group-by), and
``"numpy"``, the fast engine used by default (integer cell codes; the yes/no flags packed into a
5-bit pattern so one ``np.bincount`` of (cell, pattern) gives every count, one more weighted by
income gives the income sum; see bench/bench_metrics.py for its time against a DuckDB group-by).
The tests hold the two equal.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.errors import check_choice

Engine = Literal["auto", "numpy", "pandas"]
ENGINES = ("auto", "numpy", "pandas")


def graduate_flows(graduates: pd.DataFrame, *, engine: Engine = "auto") -> pd.DataFrame:
    """Graduate records summed to one row per (unit_id, period).

    Parameters
    ----------
    graduates : pandas.DataFrame
        Typed graduate records (``Dataset.graduates``): ``college_id``, ``cohort``, ``placed``,
        ``local``, ``member_enterprise``, ``job_match`` (0/1, missing = 0) and ``income``.
        Records without college or cohort are left out.
    engine : {"auto", "numpy", "pandas"}
        ``"numpy"`` (integer codes and ``np.bincount``; ``"auto"`` is numpy) or ``"pandas"`` (the
        reference group-by). Both give the same numbers.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id, period`` and ``schema.GRADUATE_FLOWS``, sorted by unit and period:
        graduates (records), placed and — among placed graduates only, as the panel defines them
        — local, member-enterprise and matched counts, income respondents (income reported) and
        the income sum.
    """
    check_choice("engine", engine, ENGINES)
    g = graduates.dropna(subset=["college_id", "cohort"])
    out = _flows_pandas(g) if engine == "pandas" else _flows_numpy(g)
    out = out.sort_values(["unit_id", "period"], kind="stable").reset_index(drop=True)
    return out[["unit_id", "period", *schema.GRADUATE_FLOWS]]


def _flows_pandas(g: pd.DataFrame) -> pd.DataFrame:
    """The reference: one column per flow, then a group-by sum."""
    placed = g["placed"].fillna(0).astype("float64")
    frame = pd.DataFrame(
        {
            "unit_id": g["college_id"],
            "period": g["cohort"],
            "graduates": 1.0,
            "graduates_placed": placed,
            "graduates_local": g["local"].fillna(0).astype("float64") * placed,
            "graduates_member_ent": g["member_enterprise"].fillna(0).astype("float64") * placed,
            "graduates_matched": g["job_match"].fillna(0).astype("float64") * placed,
            "income_respondents": g["income"].notna().astype("float64") * placed,
            "income_sum": g["income"].fillna(0.0).astype("float64") * placed,
        }
    )
    return frame.groupby(["unit_id", "period"], sort=True, observed=True).sum().reset_index()


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


def _flags(values: pd.Series) -> np.ndarray | None:
    """A yes/no column as uint8 0/1 (missing = 0); ``None`` when it holds anything else."""
    arr = values.to_numpy()
    if arr.dtype == np.bool_:
        return arr.view(np.uint8)
    if arr.dtype.kind not in "iu":
        arr = _zero_filled(values)
        if not ((arr == 0) | (arr == 1)).all():
            return None
        return arr.astype(np.uint8)
    if arr.dtype.itemsize == 1:
        flags = arr.view(np.uint8)
        return flags if not (flags > 1).any() else None
    return arr.astype(np.uint8) if not ((arr < 0) | (arr > 1)).any() else None


def _pattern_sums(g: pd.DataFrame, key: np.ndarray, size: int) -> dict[str, np.ndarray] | None:
    """The counting flows from one ``np.bincount`` of (cell, yes/no pattern): the flags are 0/1, so
    every flow is a count of records whose pattern has the right bits (exact, as the weighted sums
    of 0/1 are). ``None`` when a flag column holds other values, or when 32 bins per cell would
    outgrow the records."""
    if size * 32 > max(1 << 22, 4 * len(key)):
        return None
    names = ("placed", "local", "member_enterprise", "job_match")
    flags = [f for f in (_flags(g[c]) for c in names) if f is not None]
    if len(flags) < len(names):
        return None
    placed, local, member, match = flags
    income = g["income"].to_numpy(dtype="float64", na_value=np.nan)
    responded = ~np.isnan(income)
    pattern = placed | (local << 1) | (member << 2) | (match << 3) | (responded.view(np.uint8) << 4)
    counts = np.bincount(key * 32 + pattern, minlength=size * 32).reshape(size, 32)
    bits = np.arange(32)
    is_placed = (bits & 1).astype(bool)

    def count(mask: np.ndarray) -> np.ndarray:
        return counts[:, mask].sum(axis=1).astype("float64")

    return {
        "graduates": counts.sum(axis=1).astype("float64"),
        "graduates_placed": count(is_placed),
        "graduates_local": count(is_placed & (bits & 2).astype(bool)),
        "graduates_member_ent": count(is_placed & (bits & 4).astype(bool)),
        "graduates_matched": count(is_placed & (bits & 8).astype(bool)),
        "income_respondents": count(is_placed & (bits & 16).astype(bool)),
        "income_sum": np.bincount(key, np.where(responded & (placed == 1), income, 0.0), size),
    }


def _flows_numpy(g: pd.DataFrame) -> pd.DataFrame:
    """The fast engine: (unit, period) cell codes and ``np.bincount``: one of (cell, yes/no
    pattern) for the counts, one weighted by income."""
    unit_code, units = _codes(g["college_id"])
    period_code, periods = _codes(g["cohort"])
    key = unit_code.astype(np.int64) * len(periods) + period_code
    size = len(units) * len(periods)
    cell_units = np.repeat(units, len(periods))
    cell_periods = np.tile(periods, len(units))
    sums = _pattern_sums(g, key, size) or _weighted_sums(g, key, size)
    cells = np.flatnonzero(sums["graduates"])
    out = pd.DataFrame({"unit_id": cell_units[cells], "period": cell_periods[cells]})
    for name, arr in sums.items():
        out[name] = arr[cells]
    return out


def _weighted_sums(g: pd.DataFrame, key: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """One weighted ``np.bincount`` per flow (flags that are not all 0/1)."""
    placed = _zero_filled(g["placed"])
    income = g["income"].to_numpy(dtype="float64", na_value=np.nan)
    responded = (~np.isnan(income)) * placed
    return {
        "graduates": np.bincount(key, minlength=size).astype("float64"),
        "graduates_placed": np.bincount(key, placed, size),
        "graduates_local": np.bincount(key, _zero_filled(g["local"]) * placed, size),
        "graduates_member_ent": np.bincount(key, _zero_filled(g["member_enterprise"]) * placed, size),
        "graduates_matched": np.bincount(key, _zero_filled(g["job_match"]) * placed, size),
        "income_respondents": np.bincount(key, responded, size),
        "income_sum": np.bincount(key, np.where(responded > 0, income, 0.0), size),
    }

"""Graduate records summed to the panel's graduate flows (``schema.GRADUATE_FLOWS``): the one
definition evalkit has of them, used by ``Dataset.graduate_flows()``, the consistency check of
the validation and ``metrics.compute``.

Two engines give the same numbers: ``"pandas"``, the reference (a readable group-by), and
``"numpy"``, the fast engine used by default (integer codes and ``np.bincount``; on 10 million
records 3.2× faster than the reference and 2× faster than a DuckDB group-by, see
bench/bench_metrics.py). The tests hold the two equal.
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


def _flows_numpy(g: pd.DataFrame) -> pd.DataFrame:
    """The fast engine: (unit, period) cell codes and one ``np.bincount`` per flow."""
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

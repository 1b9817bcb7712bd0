"""graduate_flows' numpy engine (one bincount of (cell, yes/no pattern), or one weighted bincount
per flow when a flag is not 0/1) equals the pandas reference whatever the flag dtypes: the counts
exactly, the income sum to rounding (pandas sums with Kahan compensation)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.data.flows import graduate_flows


def _records(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    placed = (rng.random(n) < 0.85).astype(np.int8)
    return pd.DataFrame({
        "college_id": pd.array(np.array(["C1", "C22", "C333", "学院"])[rng.integers(0, 4, n)], dtype="str"),
        "cohort": pd.array(np.array(["2021", "2022", "2023-2024学年"])[rng.integers(0, 3, n)], dtype="str"),
        "placed": placed,
        "local": ((rng.random(n) < 0.5) & (placed == 1)).astype(np.int8),
        "member_enterprise": (rng.random(n) < 0.3).astype(np.int8),  # also set for unplaced graduates
        "job_match": ((rng.random(n) < 0.6) & (placed == 1)).astype(np.int8),
        "income": np.where(rng.random(n) < 0.7, rng.normal(4500, 900, n), np.nan),
    })


VARIANTS = {
    "int8": lambda g: g,
    "bool and float with missing": lambda g: g.assign(
        placed=g["placed"].astype(bool), local=g["local"].astype("float64").where(g.index % 7 > 0)),
    "nullable": lambda g: g.assign(job_match=pd.Series(pd.array(g["job_match"], dtype="Int8")).where(g.index % 5 > 0)),
    "categorical keys, missing key": lambda g: g.assign(
        college_id=g["college_id"].astype("category"), cohort=g["cohort"].where(g.index % 11 > 0)),
    "not 0/1 (weighted sums)": lambda g: g.assign(local=g["local"] * 2),
    "negative int8": lambda g: g.assign(job_match=-g["job_match"]),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_numpy_engine_equals_the_reference(variant):
    g = VARIANTS[variant](_records())
    reference = graduate_flows(g, engine="pandas").astype({"unit_id": "str", "period": "str"})
    got = graduate_flows(g, engine="numpy")
    counts = [c for c in reference.columns if c != "income_sum"]
    pd.testing.assert_frame_equal(got[counts], reference[counts], check_exact=True)
    np.testing.assert_allclose(got["income_sum"], reference["income_sum"], rtol=1e-12)

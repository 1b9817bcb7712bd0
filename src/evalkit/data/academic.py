"""Academic-year data (frequency ``academic_year``, September–August, ``2023-2024学年``) and
``evalkit synth --frequency academic_year``: the default synthetic consortium on academic years.

The synthetic model runs on half-years; its academic-year version joins the second half of one
calendar year with the first half of the next (H2 of 2023 + H1 of 2024 → 2023-2024学年): flows
are summed, stocks taken at the later half's end, graduate cohorts of H1 (June) belong to the
academic year ending then. (The two halves cover July–June, not September–August: a stated
approximation of the synthetic data, not of the rule for real data, whose periods are read as
September–August.) Incomplete academic years at either end are left out. The truth file keeps
the half-year effects of the underlying model.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from evalkit.data import schema
from evalkit.data.periods import Period, parse_period
from evalkit.data.synth import SyntheticConsortium, generate


def academic_label(half: str) -> str:
    """The academic year a half-year belongs to in the synthetic version (H2 of y → y-(y+1), H1 of y → (y-1)-y)."""
    p = parse_period(half)
    return Period("academic_year", p.year if p.sub == 2 else p.year - 1).label


def to_academic(c: SyntheticConsortium) -> SyntheticConsortium:
    """``c`` (half-yearly) on academic years (see the module doc)."""
    panel = c.panel.copy()
    panel["ay"] = panel["period"].map(academic_label)
    panel["_half"] = panel["period"].map(lambda x: parse_period(x).sub)
    complete = panel.groupby("ay")["_half"].nunique() == 2
    panel = panel[panel["ay"].map(complete)].sort_values(["unit_id", "period"])
    flows = [v.name for v in schema.PANEL_VARIABLES if v.kind == "flow" and v.name in panel]
    stocks = [v.name for v in schema.PANEL_VARIABLES if v.kind == "stock" and v.name in panel]
    g = panel.groupby(["unit_id", "ay"], sort=True)
    out = pd.concat([g[flows].sum(min_count=1), g[stocks].last()], axis=1).reset_index()
    out = out.rename(columns={"ay": "period"})
    out = out[[col for col in c.panel.columns if col in out]]
    labels = sorted(out["period"].unique(), key=lambda x: parse_period(x).ordinal)
    grads = None
    if c.graduates is not None:
        grads = c.graduates.copy()
        grads["cohort"] = grads["cohort"].map(academic_label)
        grads = grads[grads["cohort"].isin(labels)].reset_index(drop=True)
    meta = {**c.meta, "frequency": "academic_year", "first_period": labels[0], "last_period": labels[-1]}
    return replace(c, panel=out.reset_index(drop=True), graduates=grads, meta=meta)


def generate_academic(seed: int = 20231205, **kwargs) -> SyntheticConsortium:
    """The default synthetic consortium on academic years."""
    return to_academic(generate(seed, **kwargs))

"""Academic-year data (frequency ``academic_year``, September–August, ``2023-2024学年``) and
``evalkit synth --frequency academic_year``: the default synthetic consortium on academic years.

The synthetic model runs on half-years; its academic-year version joins the second half of one
calendar year with the first half of the next (H2 of 2023 + H1 of 2024 → 2023-2024学年): flows
are summed, stocks taken at the later half's end, graduate cohorts of H1 (June) belong to the
academic year ending then. (The two halves cover July–June, not September–August: a stated
approximation of the synthetic data, not of the rule for real data, whose periods are read as
September–August.) Incomplete academic years at either end are left out. The truth file keeps
the half-year effects of the underlying model.

``evalkit synth --frequency mixed`` (:func:`generate_mixed`) keeps the colleges on academic years
and puts enterprises and the park on calendar years (H1 + H2 of one year; incomplete years left
out), declared in dataset.yaml as ``frequency_by_unit_type`` — the two calendars of the real
consortium, aligned by the rule of :mod:`evalkit.data.calendars`.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import pandas as pd

from evalkit.data import schema
from evalkit.data.calendars import OTHER_CALENDAR_TYPES
from evalkit.data.periods import Period, parse_period
from evalkit.data.synth import SyntheticConsortium, generate


@functools.cache  # mapped over every graduate's cohort: a few distinct labels, ~10⁵ rows
def academic_label(half: str) -> str:
    """The academic year a half-year belongs to in the synthetic version (H2 of y → y-(y+1), H1 of y → (y-1)-y)."""
    p = parse_period(half)
    return Period("academic_year", p.year if p.sub == 2 else p.year - 1).label


def _join(panel: pd.DataFrame, key: pd.Series, parts: int) -> pd.DataFrame:
    """Half-year rows joined into longer periods named by ``key`` (flows summed, stocks at the later
    half's end); periods without ``parts`` halves are left out."""
    panel = panel.assign(_key=key, _half=panel["period"].map(lambda x: parse_period(x).sub))
    complete = panel.groupby("_key")["_half"].nunique() == parts
    panel = panel[panel["_key"].map(complete)].sort_values(["unit_id", "period"])
    flows = [v.name for v in schema.PANEL_VARIABLES if v.kind == "flow" and v.name in panel]
    stocks = [v.name for v in schema.PANEL_VARIABLES if v.kind == "stock" and v.name in panel]
    g = panel.groupby(["unit_id", "_key"], sort=True)
    out = pd.concat([g[flows].sum(min_count=1), g[stocks].last()], axis=1).reset_index()
    return out.rename(columns={"_key": "period"})


def to_academic(c: SyntheticConsortium) -> SyntheticConsortium:
    """``c`` (half-yearly) on academic years (see the module doc)."""
    out = _join(c.panel, c.panel["period"].map(academic_label), 2)
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


def to_mixed(c: SyntheticConsortium) -> SyntheticConsortium:
    """``c`` (half-yearly) with colleges on academic years, enterprises and the park on calendar years."""
    ay = to_academic(c)
    kind = dict(zip(c.units["unit_id"], c.units["unit_type"]))
    other = c.panel["unit_id"].map(kind).isin(OTHER_CALENDAR_TYPES)
    half = c.panel[other]
    years = _join(half, half["period"].map(lambda x: str(parse_period(x).year)), 2)
    keep = ~ay.panel["unit_id"].map(kind).isin(OTHER_CALENDAR_TYPES)
    panel = pd.concat([ay.panel[keep], years[[col for col in ay.panel.columns if col in years]]], ignore_index=True)
    meta = {**ay.meta, "frequency_by_unit_type": {t: "year" for t in OTHER_CALENDAR_TYPES}}
    return replace(ay, panel=panel[ay.panel.columns], meta=meta)


def generate_mixed(seed: int = 20231205, **kwargs) -> SyntheticConsortium:
    """The default synthetic consortium on two calendars (colleges: academic years; enterprises
    and the park: calendar years)."""
    return to_mixed(generate(seed, **kwargs))

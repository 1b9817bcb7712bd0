"""Indicator computation, aggregation to groups and phase windows, and target attainment — the
names notebooks and the review use (``evalkit.metrics.compute(...)``), each defined in its own
module:

* :func:`compute` (:mod:`evalkit.indicators.compute`) — the tidy indicator table (unit × period
  × indicator: value, numerator, denominator, n) from a Dataset and a registry.
* :func:`aggregate` (:mod:`evalkit.indicators.aggregate`) — the same indicators for phase
  windows and groups (each unit, members vs comparison, alliances, the whole consortium, all
  units), following each indicator's aggregation rule: flows summed over the window (or per
  year), stocks at the window's last period (summed over units for groups), ratios recomputed
  from summed numerators and denominators — never an average of ratios.
* :func:`attainment` (:mod:`evalkit.indicators.attainment`) — a phase's targets against actual
  values, with the pre-consortium baseline.
* :func:`graduate_flows` (:mod:`evalkit.data.flows`) — graduate records summed to the panel's
  graduate flows (the one definition; fast for tens of millions of records).
"""

from __future__ import annotations

from evalkit.data.flows import ENGINES, Engine, graduate_flows
from evalkit.indicators.aggregate import GROUP_BYS, MEMBERS, GroupBy, Members, aggregate
from evalkit.indicators.attainment import STATUS_EN, STATUS_ZH, attainment
from evalkit.indicators.compute import SOURCES, TABLE_COLUMNS, Source, compute

__all__ = [
    "ENGINES",
    "GROUP_BYS",
    "MEMBERS",
    "SOURCES",
    "STATUS_EN",
    "STATUS_ZH",
    "TABLE_COLUMNS",
    "Engine",
    "GroupBy",
    "Members",
    "Source",
    "aggregate",
    "attainment",
    "compute",
    "graduate_flows",
]

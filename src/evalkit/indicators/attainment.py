"""A phase's targets against actual values (:func:`attainment`): attained or not by the
indicator's direction, the share of the target reached, and the change against the baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import numpy as np
import pandas as pd

from evalkit.indicators.compute import RegistryLike, as_registry

STATUS_ZH = {"attained": "达成", "not_attained": "未达成", "no_data": "无数据"}
STATUS_EN = {"attained": "attained", "not_attained": "not attained", "no_data": "no data"}
Values: TypeAlias = "Mapping[str, float] | pd.Series | pd.DataFrame"


def _as_values(obj: object, what: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        if not {"indicator", "value"} <= set(obj.columns):
            raise ValueError(f"{what} as a DataFrame needs columns 'indicator' and 'value'")
        return obj
    if isinstance(obj, (pd.Series, Mapping)):
        s = pd.Series(obj, dtype="float64")
        return pd.DataFrame({"indicator": s.index.astype(str), "value": s.to_numpy()})
    raise TypeError(f"{what} must be a mapping {{indicator: value}}, a Series or a DataFrame with indicator/value")


_WINDOW_COLUMNS = ("window", "start", "end", "last_period", "years")


def attainment(
    actual: Values,
    targets: Mapping[str, float],
    baseline: Values | None = None,
    *,
    registry: RegistryLike = None,
) -> pd.DataFrame:
    """A phase's targets against actual values, and the change against the baseline.

    ``attained`` respects the indicator's direction: ``actual ≥ target`` for +1, ``actual ≤
    target`` for −1 (exact comparison). ``share_of_target`` is ``actual / target`` for +1 and
    ``target / actual`` for −1, so ≥ 1 means attained either way. ``change_abs = actual −
    baseline``, ``change_rel = change_abs / |baseline|``. Missing actual values get status
    ``no_data``.

    Parameters
    ----------
    actual : mapping, pandas.Series or pandas.DataFrame
        ``{indicator: value}`` / a Series, or a DataFrame with ``indicator`` and ``value`` (e.g.
        rows of :func:`~evalkit.indicators.aggregate.aggregate`; its other columns, such as
        ``group``, are kept and each row is judged).
    targets : mapping of str to float
        ``{indicator: target}``; an indicator unknown to the registry raises
        :class:`~evalkit.errors.RegistryError`.
    baseline : mapping, pandas.Series or pandas.DataFrame, optional
        The same forms as ``actual``; a DataFrame baseline is matched on ``indicator`` plus the
        key columns both frames share (window columns excluded).
    registry : Registry, path, mapping or None
        The indicators (``None``: the shipped registry), for names, units and directions.

    Returns
    -------
    pandas.DataFrame
        The key columns of ``actual``, then ``indicator, name_zh, name_en, unit, unit_zh,
        direction, actual, target, attained, status, status_zh, status_en, share_of_target,
        baseline, change_abs, change_rel``; ``status`` is attained / not_attained / no_data
        (``status_zh``: 达成 / 未达成 / 无数据).
    """
    reg = as_registry(registry)
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

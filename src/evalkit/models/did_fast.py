"""Callaway–Sant'Anna ATT(g,t) without covariates, in numpy: the fast path of
:func:`evalkit.models.did.staggered_did` (analytic SEs, a balanced panel, never-treated units).

Without covariates the doubly-robust, regression and IPW 2×2 estimators of R ``did`` / csdid are
the same difference of mean outcome changes, ATT(g,t) = mean ΔY(treated) − mean ΔY(controls), and
their influence function (rescaled to all n units, as ``did`` does) is
n/n₁·(ΔYᵢ − m₁) for treated units, −n/n₀·(ΔYᵢ − m₀) for controls and 0 otherwise. The cells, their
base periods and the control sets come from csdid's own ``plan_cell``; the pre-test and the
aggregations are csdid's functions run on the same inputs, so the numbers are csdid's (to rounding).

Anything unusual (duplicates, gaps, missing outcomes, cohorts that would be dropped or recoded,
groups under five units, cells without treated or control units or with near-complete treatment)
returns ``None`` and the caller takes the csdid route, which reports it as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_MIN_GROUP = 5  # R did's reqsize without covariates: smaller groups warn (csdid route)
_MAX_TREATED_SHARE = 0.99  # below csdid's propensity trimming (0.995) and overlap check (0.999)


class NativeATTgt:
    """The parts of csdid's ``ATTgt`` that :class:`~evalkit.models.did.DidResults` and
    :mod:`evalkit.models.events` read: ``results``, ``MP``, ``aggte()`` → ``atte``."""

    def __init__(self, results: dict[str, Any], mp: dict[str, Any]) -> None:
        self.results = results
        self.MP = mp
        self.atte: Any = None

    def aggte(
        self,
        typec: str = "group",
        balance_e: int | None = None,
        min_e: float = -np.inf,
        max_e: float = np.inf,
    ) -> NativeATTgt:
        from csdid.aggte_fnc.aggte import aggte

        self.atte = aggte(self.MP, typec=typec, balance_e=balance_e, min_e=min_e, max_e=max_e)
        return self


def _wide(data: pd.DataFrame, y: str, unit: str, time: str, cohort: str):
    """(Y units × periods, cohort per unit, periods sorted) of a balanced panel with one row per
    (unit, period), no missing outcome and a constant cohort; ``None`` otherwise."""
    yv = data[y].to_numpy(dtype=float)
    if np.isnan(yv).any():
        return None
    uc = pd.factorize(data[unit])[0]
    tc, tu = pd.factorize(data[time])
    if len(uc) == 0 or (uc < 0).any() or (tc < 0).any():
        return None
    order = np.argsort(tu, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    periods = np.asarray(tu)[order]
    n, T = int(uc.max()) + 1, len(periods)
    if len(yv) != n * T:
        return None
    key = uc.astype(np.int64) * T + rank[tc]
    if not np.array_equal(key, np.arange(n * T)):  # not sorted by unit, then time
        if np.bincount(key, minlength=n * T).max() != 1:
            return None
        inv = np.empty(n * T, dtype=np.int64)
        inv[key] = np.arange(n * T)
        yv = yv[inv]
        g_rows = data[cohort].fillna(0).to_numpy()[inv]
    else:
        g_rows = data[cohort].fillna(0).to_numpy()
    G = g_rows.reshape(n, T)
    unit_g = G[:, 0]
    if not (G == unit_g[:, None]).all():
        return None
    return yv.reshape(n, T), unit_g, periods


def fit(
    data: pd.DataFrame,
    *,
    y: str,
    unit: str,
    time: str,
    cohort: str,
    control: str,
    est_method: str,
    base_period: str,
    anticipation: int,
    min_pre_periods: int,
    alpha: float,
    biters: int,
) -> NativeATTgt | None:
    """ATT(g,t), analytic SEs, influence functions and R did's pre-test, as csdid's ``ATTgt(...)
    .fit(bstrap=False)`` without covariates; ``None`` when the csdid route must decide."""
    from csdid.att_gt import _wald_pretest
    from csdid.attgt_fnc.compute_att_gt_shared import BASE_ZERO, BREAK, plan_cell

    wide = _wide(data, y, unit, time, cohort)
    if wide is None:
        return None
    Y, unit_g, tlist = wide
    n = len(unit_g)
    cohorts, sizes = np.unique(unit_g, return_counts=True)
    glist = cohorts[cohorts > 0]
    if (
        len(glist) == 0
        or cohorts[0] != 0  # no never-treated units (or a negative cohort)
        or sizes.min() < _MIN_GROUP
        or glist.max() > tlist[-1]
        or (glist <= tlist[0] + anticipation).any()
        or any((tlist < g).sum() < max(1, min_pre_periods) for g in glist)
    ):
        return None
    never = unit_g == 0
    tfac = 0 if base_period == "universal" else 1
    rows: list[tuple[Any, Any, float, int]] = []
    infs: list[np.ndarray] = []
    for g in glist:
        treated = unit_g == g
        n1 = int(treated.sum())
        for t_i in range(len(tlist) - tfac):
            tn = tlist[t_i + tfac]
            pret, action = plan_cell(g, t_i, tlist, anticipation, base_period, tfac)
            if action == BREAK:
                return None
            post = int(g <= tn)
            if action == BASE_ZERO:
                rows.append((g, tn, 0.0, post))
                infs.append(np.zeros(n))
                continue
            if control == "never":
                ctrl = never
            else:
                thresh = tlist[max(t_i, pret) + tfac] + anticipation
                ctrl = never | ((unit_g > thresh) & (unit_g != g))
            n0 = int(ctrl.sum())
            if n1 / (n1 + n0) >= _MAX_TREATED_SHARE:
                return None
            dy = Y[:, t_i + tfac] - Y[:, pret]
            d1, d0 = dy[treated], dy[ctrl]
            m1, m0 = d1.mean(), d0.mean()
            inf = np.zeros(n)
            inf[treated] = (n / n1) * (d1 - m1)
            inf[ctrl] = -(n / n0) * (d0 - m0)
            rows.append((g, tn, m1 - m0, post))
            infs.append(inf)
    inffunc = np.vstack(infs)
    group = [r[0] for r in rows]
    year = [r[1] for r in rows]
    att = [r[2] for r in rows]
    se = np.sqrt(np.mean(inffunc**2, axis=1)) / np.sqrt(n)
    se[~np.isfinite(se) | (se <= 0)] = np.nan  # also the universal base cells (zero influence)
    dp = {
        "yname": "y",
        "tname": "t",
        "idname": "id",
        "gname": "g",
        "xformla": None,
        "data": pd.DataFrame({"t": tlist[0], "g": unit_g, "id": np.arange(1, n + 1), "w1": 1.0}),
        "tlist": tlist,
        "glist": glist,
        "n": n,
        "nG": len(glist),
        "nT": len(tlist),
        "control_group": "nevertreated" if control == "never" else "notyettreated",
        "anticipation": anticipation,
        "weights_name": None,
        "panel": True,
        "true_rep_cross_section": False,
        "clustervars": None,
        "fix_weights": None,
        "input_panel": True,
        "cband": False,
        "alp": alpha,
        "biters": biters,
        "bstrap": False,
        "est_method": est_method,
        "base_period": base_period,
    }
    W, Wpval = _wald_pretest(inffunc, att, group, year, dp)
    results = {"group": group, "year": year, "att": att, "post": [r[3] for r in rows], "se": se}
    mp = {
        "group": group,
        "att": att,
        "t": year,
        "DIDparams": dp,
        "inffunc": {"inffunc": inffunc.T},
        "n": n,
        "W": W,
        "Wpval": Wpval,
    }
    return NativeATTgt(results, mp)

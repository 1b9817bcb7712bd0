"""Callaway–Sant'Anna ATT(g,t) without covariates, in numpy: the fast path of
:func:`evalkit.models.did.staggered_did` (analytic SEs, a balanced panel, never-treated units).

Without covariates the doubly-robust, regression and IPW 2×2 estimators of R ``did`` / csdid are
the same difference of mean outcome changes, ATT(g,t) = mean ΔY(treated) − mean ΔY(controls), and
their influence function (rescaled to all n units, as ``did`` does) is
n/n₁·(ΔYᵢ − m₁) for treated units, −n/n₀·(ΔYᵢ − m₀) for controls and 0 otherwise. The cells and
their base periods follow R did's rules (:func:`plan_cell`, as csdid's ``plan_cell``), the pre-test
is R did's Wald test (:func:`wald_pretest`, as csdid's) and the aggregations are R did's ``aggte``
(:func:`aggte`, as csdid's ``compute_aggte`` for these inputs), so the numbers are csdid's (to
rounding; the tests compare both routes and each helper). Nothing is imported from csdid: its
estimation modules import statsmodels, its aggregation module scipy.stats (~0.8 s of a kernel).

Groups under five units (R did's ``reqsize`` without covariates) get csdid's own warning, word for
word. Anything unusual (duplicates, gaps, missing outcomes, cohorts that would be dropped or
recoded, a small never-treated group with never-treated controls, cells without treated or control
units or with near-complete treatment) returns ``None`` and the caller takes the csdid route, which
reports it as before.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd

_MIN_GROUP = 5  # R did's reqsize without covariates: smaller groups are warned about
_MAX_TREATED_SHARE = 0.99  # below csdid's propensity trimming (0.995) and overlap check (0.999)


class NativeATTgt:
    """The parts of csdid's ``ATTgt`` that :class:`~evalkit.models.did.DidResults` and
    :mod:`evalkit.models.events` read: ``results``, ``MP``, ``aggte()`` → ``atte`` (a dict with
    the keys of csdid's result that evalkit reads)."""

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
        self.atte = aggte(self.MP, typec=typec, balance_e=balance_e, min_e=min_e, max_e=max_e)
        return self


def _se(influence: np.ndarray, n: int) -> float:
    """R did's analytic SE, sqrt(mean(ψ²)/n); NaN unless positive and finite."""
    se = float(np.sqrt(np.mean(influence**2) / n))
    return se if np.isfinite(se) and se > 0 else np.nan


def _weight_influence(unit_g: np.ndarray, groups: np.ndarray, pg: np.ndarray) -> np.ndarray:
    """R did's ``wif``: the influence of estimating the cohort shares ``pg`` of the kept cells
    (unit weights 1), n × cells."""
    ind = (unit_g[:, None] == groups[None, :]).astype(float) - pg[None, :]
    total = pg.sum()
    return ind / total - np.outer(ind.sum(axis=1), pg / total**2)


def aggte(
    mp: dict[str, Any],
    typec: str = "group",
    balance_e: int | None = None,
    min_e: float = -np.inf,
    max_e: float = np.inf,
) -> dict[str, Any]:
    """R did's ``aggte`` (csdid's ``compute_aggte``) for the numpy path's ATT(g,t): unit weights 1,
    a balanced panel, analytic SEs, no clustering, pointwise intervals.

    ``simple``: the post-treatment cells weighted by cohort size; ``group``: each cohort's mean
    post-treatment effect, then weighted by cohort size; ``dynamic``: each event time's cells
    weighted by cohort size (``balance_e``, ``min_e``, ``max_e`` as R), overall the mean over
    event times ≥ 0; ``calendar``: each period's post-treatment cells weighted by cohort size,
    overall their mean. Influence functions include the estimated weights' (``wif``) where R's do.

    Parameters
    ----------
    mp : dict
        The numpy path's ``MP`` (:func:`fit`).
    typec : {"simple", "group", "dynamic", "calendar"}
    balance_e : int, optional
    min_e, max_e : float

    Returns
    -------
    dict
        ``overall_att``, ``overall_se``, ``typec``, ``inf_function`` and, except for ``simple``,
        ``egt``, ``att_egt``, ``se_egt`` — the keys of csdid's result that evalkit reads.

    Raises
    ------
    ValueError
        As csdid's: an unknown type, bad ``min_e``/``max_e``/``balance_e``, no post-treatment
        cell, or a window that keeps nothing.
    """
    if typec not in ("simple", "dynamic", "group", "calendar"):
        raise ValueError("`typec` must be one of ['simple', 'dynamic', 'group', 'calendar']")
    for name, v in (("min_e", min_e), ("max_e", max_e)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or np.isnan(v):
            raise ValueError(f"{name} must be a single non-missing number.")
    if balance_e is not None and (
        isinstance(balance_e, bool)
        or not isinstance(balance_e, (int, float, np.integer, np.floating))
        or not np.isfinite(balance_e)
        or balance_e < 0
        or balance_e != round(balance_e)
    ):
        raise ValueError("balance_e must be a single non-negative whole number.")
    group = np.asarray(mp["group"], dtype=float)
    t = np.asarray(mp["t"], dtype=float)
    att = np.asarray(mp["att"], dtype=float)
    inffunc = np.asarray(mp["inffunc"]["inffunc"], dtype=float)  # n × cells
    dp = mp["DIDparams"]
    n = int(mp["n"])
    glist = np.asarray(dp["glist"], dtype=float)
    unit_g = dp["data"]["g"].to_numpy(dtype=float)
    if not np.any(group <= t):
        raise ValueError("No post-treatment ATT(g,t) cells are available: all cells have t < g.")
    if np.isnan(att).any():
        raise ValueError("Missing values at att_gt found. If you want to remove these, set `na_rm = True`.")
    pgg = np.array([np.mean(unit_g == g) for g in glist])  # cohort shares of all units
    pg = pgg[np.searchsorted(glist, group)]  # each cell's cohort share
    event = t - group
    in_window = (group <= t) & (event >= min_e) & (event <= max_e)

    def combine(which: np.ndarray, with_wif: bool = True) -> tuple[float, np.ndarray]:
        """Cells ``which`` weighted by cohort share, with the weights' influence (R's wif) unless
        ``with_wif`` is false (cells of one cohort: equal weights, no share to estimate)."""
        w = pg[which] / pg[which].sum()
        psi = inffunc[:, which] @ w
        if with_wif:
            psi = psi + _weight_influence(unit_g, group[which], pg[which]) @ att[which]
        return float(np.sum(att[which] * w)), psi

    def components(masks: list[np.ndarray], with_wif: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Each mask's cells combined: the estimates and their influence functions (n × parts)."""
        parts = [combine(np.flatnonzero(m), with_wif) for m in masks]
        return np.array([est for est, _ in parts]), np.column_stack([psi for _, psi in parts])

    out: dict[str, Any] = {"typec": typec}
    if typec == "simple":
        keepers = np.flatnonzero(in_window)
        if keepers.size == 0:
            raise ValueError(
                "No valid att_gt() estimates found for this aggregation. This may happen if all estimates for a "
                "particular group or time period are NA, or the requested event-time window excludes every "
                "post-treatment period. Adjust 'min_e'/'max_e'."
            )
        est, psi = combine(keepers)
        return out | {"overall_att": est, "overall_se": _se(psi, n), "inf_function": {"simple_att": psi[:, None]}}
    if typec == "group":
        empty = [g for g in dp["glist"] if not np.any((group == g) & in_window)]
        if empty:
            raise ValueError(
                "No group-time average treatment effects fall within the requested window for group(s) "
                f"{', '.join(map(str, empty))}. Adjust 'min_e'/'max_e', or set `na_rm = True` to drop those groups."
            )
        att_g_arr, psi_mat = components([(group == g) & in_window for g in glist], with_wif=False)
        overall = float(np.sum(att_g_arr * pgg) / np.sum(pgg))
        psi = psi_mat @ (pgg / pgg.sum()) + _weight_influence(unit_g, glist, pgg) @ att_g_arr
        return out | {
            "overall_att": overall,
            "overall_se": _se(psi, n),
            "egt": np.asarray(dp["glist"]),
            "att_egt": att_g_arr,
            "se_egt": np.array([_se(c, n) for c in psi_mat.T]),
            "inf_function": {"selective_inf_func_g": psi_mat, "selective_inf_func": psi[:, None]},
        }
    if typec == "dynamic":
        include = np.ones(len(group), dtype=bool)
        eseq = np.unique(event)
        if balance_e is not None:
            last_t = np.max(t)
            eligible = last_t - group >= balance_e
            eligible_g = np.unique(group[eligible])
            required_e = np.unique(event[eligible & (event >= 0) & (event <= balance_e)])
            complete = (
                np.array([set(required_e) <= set(event[(group == g)].tolist()) for g in eligible_g], dtype=bool)
                if len(required_e)
                else np.zeros(len(eligible_g), dtype=bool)
            )
            if not np.any(complete):
                raise ValueError(
                    "No groups have non-missing ATT(g,t) estimates at every observed post-treatment event time "
                    "through 'balance_e'. Reduce 'balance_e' or inspect the missing group-time estimates."
                )
            include = np.isin(group, eligible_g[complete])
            first = min(float(np.min(dp["tlist"])), float(np.min(glist)))  # R: t2orig(1)
            eseq = np.unique(event[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - last_t + first)]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        if len(eseq) == 0:
            raise ValueError(
                "No event times fall within the requested window. Adjust 'min_e'/'max_e' (and 'balance_e') so "
                "at least one event time is included."
            )
        att_e_arr, psi_mat = components([(event == e) & include for e in eseq])
        post = eseq >= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = float(np.mean(att_e_arr[post])) if post.any() else np.nan
            psi = psi_mat[:, post] @ np.repeat(1 / post.sum(), post.sum()) if post.any() else np.full(n, np.nan)
        return out | {
            "overall_att": overall,
            "overall_se": _se(psi, n),
            "egt": eseq,
            "att_egt": att_e_arr,
            "se_egt": np.array([_se(c, n) for c in psi_mat.T]),
            "inf_function": {"dynamic_inf_func_e": psi_mat, "dynamic_inf_func": psi[:, None]},
            "min_e": min_e,
            "max_e": max_e,
            "balance_e": balance_e,
        }
    periods = np.unique(t[t >= group.min()])
    periods = periods[[bool(np.any((t == p) & (group <= t))) for p in periods]]
    if len(periods) == 0:
        raise ValueError(
            "No calendar periods have non-missing post-treatment att_gt() estimates. Cannot compute calendar "
            "aggregation. Check your att_gt() results."
        )
    att_t_arr, psi_mat = components([(t == p) & (group <= t) for p in periods])
    psi = psi_mat @ np.repeat(1 / len(periods), len(periods))
    return out | {
        "overall_att": float(np.mean(att_t_arr)),
        "overall_se": _se(psi, n),
        "egt": periods,
        "att_egt": att_t_arr,
        "se_egt": np.array([_se(c, n) for c in psi_mat.T]),
        "inf_function": {"calendar_inf_func_t": psi_mat, "calendar_inf_func": psi[:, None]},
    }


_ESTIMATE, _BASE_ZERO, _BREAK = "estimate", "base_zero", "break"


def _last_pretreatment_index(g: Any, tlist: np.ndarray, anticipation: int) -> int | None:
    """Index of the last period before ``g − anticipation`` (R: ``tail(which(tlist + a < g), 1)``)."""
    idx = np.flatnonzero(tlist + anticipation < g)
    return int(idx[-1]) if idx.size else None


def plan_cell(g: Any, t_i: int, tlist: np.ndarray, anticipation: int, base_period: str, tfac: int) -> tuple[int, str]:
    """The base period index of cell (g, period ``t_i + tfac``) and what to do with it, by R did's
    ``att_gt`` rules: a varying base is the previous period before treatment and the last
    pre-treatment period from the anticipation window on; a universal base is always the last
    pre-treatment period, and its own cell is a zero. ``"break"`` when ``g`` has no pre-treatment
    period (the caller leaves such data to csdid, which warns and drops the cohort)."""
    pret = t_i
    tn = tlist[t_i + tfac]
    if base_period == "universal" or g - anticipation <= tn:
        idx = _last_pretreatment_index(g, tlist, anticipation)
        if idx is None:
            return pret, _BREAK
        pret = idx
    if base_period == "universal" and tlist[pret] == tn:
        return pret, _BASE_ZERO
    return pret, _ESTIMATE


def wald_pretest(
    inffunc: np.ndarray,
    att: np.ndarray,
    group: np.ndarray,
    year: np.ndarray,
    tlist: np.ndarray,
    anticipation: int,
    base_period: str,
) -> tuple[float | None, float | None]:
    """R did's parallel-trends pre-test (``att_gt``, unit-level analytic variance): over the
    pre-treatment cells (``g − anticipation > t``) with a positive, finite variance,
    ``W = n · preatt' solve(preV) preatt`` and ``p = round(1 − χ²_q(W), 5)``; ``(None, None)`` with
    R's (and csdid's) warning when there is no such cell, an NA, or ``rcond(preV) ≤ eps``."""
    from scipy.special import chdtr

    n = inffunc.shape[1]
    V = inffunc @ inffunc.T / n
    se = np.sqrt(np.clip(np.diag(V), 0.0, None) / n)
    zero_na = (se <= 0) | ~np.isfinite(se)
    pre = np.flatnonzero(group - anticipation > year)
    n_pre_cells = pre.size
    if base_period == "universal" and pre.size:
        base = np.searchsorted(tlist, group[pre] - anticipation, side="left") - 1
        n_pre_cells = int(np.count_nonzero(year[pre] != tlist[base]))
    pre = pre[~zero_na[pre]]
    if pre.size == 0:
        msg = "No pre-treatment periods available for the Wald pre-test of parallel trends. "
        if n_pre_cells:
            msg += (
                "Pre-treatment ATT(g,t) estimates exist, but all of them have "
                "missing or zero variance, so they were dropped from the pre-test."
            )
        else:
            msg += "No pre-treatment ATT(g,t) estimates exist."
            if anticipation > 0:
                msg += (
                    f" Note: anticipation={anticipation} further reduces the number of available pre-treatment periods."
                )
        warnings.warn(msg)
        return None, None
    preatt = att[pre]
    preV = V[np.ix_(pre, pre)]
    if np.isnan(preV).any():
        warnings.warn("Not returning pre-test Wald statistic due to NA pre-treatment values")
        return None, None
    try:
        rcond = 1.0 / np.linalg.cond(preV, p=1)
    except Exception:  # noqa: BLE001  (a failing condition number means singular, as in R)
        rcond = 0.0
    if not np.isfinite(rcond) or rcond <= np.finfo(float).eps:
        warnings.warn("Not returning pre-test Wald statistic due to singular covariance matrix")
        return None, None
    try:
        W = float(n * preatt @ np.linalg.solve(preV, preatt))
    except np.linalg.LinAlgError:
        return None, None
    return W, round(float(1.0 - chdtr(pre.size, W)), 5)


@functools.cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController  # comes with scikit-learn

    return ThreadpoolController()


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
        or (sizes[0] < _MIN_GROUP and control == "never")  # csdid refuses: never-treated group too small
        or glist.max() > tlist[-1]
        or (glist <= tlist[0] + anticipation).any()
        or any((tlist < g).sum() < max(1, min_pre_periods) for g in glist)
    ):
        return None
    tfac = 0 if base_period == "universal" else 1
    # Units sorted by cohort (stably: each cohort keeps the data's unit order, so its sums are
    # csdid's): every group of a 2×2 cell is a contiguous slice of one outcome-change row.
    order = np.argsort(unit_g, kind="stable")
    YT = np.ascontiguousarray(Y[order].T)
    start = dict(zip(cohorts.tolist(), np.searchsorted(unit_g[order], cohorts).tolist()))
    span = {c: slice(start[c], start[c] + int(k)) for c, k in zip(cohorts.tolist(), sizes)}
    cells: list[tuple[Any, Any, int, int, int]] = []  # g, t, current and base period index, post
    for g in glist:
        for t_i in range(len(tlist) - tfac):
            pret, action = plan_cell(g, t_i, tlist, anticipation, base_period, tfac)
            if action == _BREAK:
                return None
            tn = tlist[t_i + tfac]
            cells.append((g, tn, -1 if action == _BASE_ZERO else t_i + tfac, pret, int(g <= tn)))
    inf_sorted = np.zeros((len(cells), n))
    att: list[float] = []
    for j, (g, tn, cur, pret, _) in enumerate(cells):
        if cur < 0:  # the universal base period's own cell: 0, no influence
            att.append(0.0)
            continue
        if control == "never":
            ctrl = [span[0]]
        else:
            thresh = tlist[max(cur - tfac, pret) + tfac] + anticipation
            ctrl = [span[0]] + [span[c] for c in glist.tolist() if c > thresh and c != g]
        dy = YT[cur] - YT[pret]
        d1 = dy[span[g]]
        n1 = len(d1)
        n0 = sum(sl.stop - sl.start for sl in ctrl)
        if n1 / (n1 + n0) >= _MAX_TREATED_SHARE:
            return None
        d0 = dy[ctrl[0]] if len(ctrl) == 1 else np.concatenate([dy[sl] for sl in ctrl])
        m1, m0 = d1.mean(), d0.mean()
        inf_sorted[j, span[g]] = (n / n1) * (d1 - m1)
        for sl in ctrl:
            inf_sorted[j, sl] = -(n / n0) * (dy[sl] - m0)
        att.append(float(m1 - m0))
    small = [c for c, k in zip(cohorts.tolist(), sizes.tolist()) if k < _MIN_GROUP]
    if small:  # csdid's message (preprocess_did), once this path is sure to give the result
        warnings.warn(
            f"Be aware that there are some small groups in your dataset.\n  Check groups: {','.join(map(str, small))}."
        )
    inffunc = np.empty_like(inf_sorted)
    inffunc[:, order] = inf_sorted  # back to the data's unit order (csdid's)
    rows = [(g, tn, a, post) for (g, tn, _, _, post), a in zip(cells, att)]
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
    # The pre-test's products are small (cells × units); OpenBLAS threads would only spin and take
    # the cores from the rest of the call on a busy machine.
    with _blas_controller().limit(limits=1, user_api="blas"):
        W, Wpval = wald_pretest(
            inffunc,
            np.asarray(att, dtype=float),
            np.asarray(group, dtype=float),
            np.asarray(year, dtype=float),
            np.asarray(tlist, dtype=float),
            anticipation,
            base_period,
        )
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

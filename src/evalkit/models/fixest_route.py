"""The pyfixest route of ``ols``/``twfe``: every design evalkit's own least squares
(:mod:`evalkit.models.absorbed`) does not take — no fixed effects, transformed or factor terms,
HC2/HC3, two-way clustering, collinear regressors, very large designs — or
every design with ``engine="pyfixest"``. The few-cluster bootstrap here is wildboottest's.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError
from evalkit.i18n import Message
from evalkit.models import _checks as ck
from evalkit.models.messages import msg
from evalkit.models import absorbed
from evalkit.models.vcov import mnw_crv3, pyfixest_vcov


WILD_MAX_CELLS = 25_000_000  # rows × (regressors + fixed-effect levels): 200 MB of float64


def estimate(
    formula: str,
    sample: pd.DataFrame,
    lhs: str,
    rhs: str,
    fes: list[str],
    req: absorbed.Request,
    G_df: str,
    notes: list[Message],
    info: dict[str, Any],
) -> tuple[pd.DataFrame, int, float]:
    """Fit ``formula`` with pyfixest; the coefficient table, observations used and t degrees of
    freedom. Warnings go to ``notes`` and facts to ``info`` (as :func:`evalkit.models.ols` documents).
    """
    kind, clusters, alpha = req.kind, req.clusters, req.alpha
    pf = ck.import_pyfixest()
    info["engine"] = "pyfixest"
    fml = formula
    if fes:
        # pyfixest 0.60 pairs the fixed-effect names of the formula with its fixed-effect columns
        # by position when it looks for effects nested in the cluster, and the columns' order
        # follows Python's string hashing (PYTHONHASHSEED): with "| u+t" and {"CRV1": "u"} half of
        # all processes counted the period effects as nested and shrank the CRV1 SEs. Names
        # written " + "-spaced never equal a cluster's name, so only the positional check on the
        # columns themselves runs, which is consistent.
        fml = f"{lhs} ~ {rhs} | {' + '.join(fes)}"
    hidden: list[str] = []
    if kind in ("HC2", "HC3") and fes:
        # pyfixest refuses HC2/HC3 with absorbed FE; the leverage needs the FE dummies, so
        # estimate them explicitly and hide them from the table.
        fml = f"{lhs} ~ {rhs} + " + " + ".join(f"C({f})" for f in fes)
        hidden = [f"C({f})" for f in fes]
    pf_vcov, ssc = pyfixest_vcov(pf, kind, clusters, G_df)
    jack = None
    if kind == "CRV3":
        # the jackknife by least squares where it applies (pyfixest's CRV3 refits misalign the
        # coefficients when a left-out cluster drops a regressor, and some degenerate refits abort
        # the process); pyfixest's own CRV3 otherwise
        model = fit_feols(pf, fml, sample, "iid", None)
        jack = jackknife_sum(model, sample, clusters[0], rhs)
        if jack is None:
            model = fit_feols(pf, fml, sample, pf_vcov, ssc)
    else:
        model = fit_feols(pf, fml, sample, pf_vcov, ssc)
    table = table_from_fixest(model, alpha, hidden)
    if jack is not None:
        table = table.assign(se=np.sqrt(np.diag(jack)))
    dof = float(model._df_t)
    g_min = info.get("clusters")
    if kind == "CRV3" and g_min is not None:
        table = mnw_crv3(table, g_min, alpha)
        dof = float(g_min - 1)
    collin = [str(c) for c in (getattr(model, "_collin_vars", []) or [])]
    if collin:
        notes.append(msg("models.collinear", terms=", ".join(collin)))
    info["collinear"] = collin
    if req.few and g_min is not None:
        if len(clusters) == 1:
            notes.append(msg("models.few_clusters", G=g_min, threshold=req.few_clusters))
            table = _add_few_cluster_inference(
                pf, model, fml, sample, clusters[0], table, ssc, req.wild_reps, req.seed, notes, rhs
            )
            info["wild_reps"], info["wild_enumerated"] = absorbed.wild_draws(g_min, req.wild_reps)
        else:
            notes.append(msg("models.few_clusters_twoway", G=g_min, threshold=req.few_clusters))
    return table, int(model._N), dof


def fit_feols(pf: Any, fml: str, sample: pd.DataFrame, vcov: Any, ssc: Any) -> Any:
    """``pyfixest.feols``, its failures re-raised as :class:`~evalkit.errors.ModelInputError`."""
    kwargs: dict[str, Any] = {"vcov": vcov}
    if ssc is not None:
        kwargs["ssc"] = ssc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pf.feols(fml, sample, **kwargs)
    except ModelInputError:
        raise
    except Exception as exc:  # a library message, re-raised as a user-facing error
        raise ModelInputError(
            f"The model {fml!r} could not be estimated: {exc}. Check the formula's "
            f"column names and that every regressor varies in the sample."
        ) from exc


def table_from_fixest(model: Any, alpha: float, hidden: list[str]) -> pd.DataFrame:
    """A pyfixest fit's coefficient table (estimate, se, ci_low, ci_high, p), terms in ``hidden``
    (dummies standing in for absorbed effects) left out."""
    est, se, p = model.coef(), model.se(), model.pvalue()
    ci = model.confint(alpha=alpha)
    table = pd.DataFrame({"estimate": est, "se": se, "ci_low": ci.iloc[:, 0], "ci_high": ci.iloc[:, 1], "p": p})
    if hidden:
        # The dummies standing in for absorbed effects (and their intercept) are not reported.
        keep = [t for t in table.index if t != "Intercept" and not any(str(t).startswith(h) for h in hidden)]
        table = table.loc[keep]
    table.index = pd.Index([str(i) for i in table.index], name="term")
    return table


def _add_few_cluster_inference(
    pf: Any,
    model: Any,
    fml: str,
    sample: pd.DataFrame,
    cluster: str,
    table: pd.DataFrame,
    ssc: Any,
    reps: int,
    seed: int,
    notes: list[Message],
    rhs: str | None = None,
) -> pd.DataFrame:
    table = table.copy()
    try:
        jack = jackknife_sum(model, sample, cluster, rhs)
        if jack is None:  # pyfixest refits each leave-one-cluster-out sample itself
            m3 = fit_feols(pf, fml, sample, {"CRV3": cluster}, pf.ssc(k_adj=False, G_adj=False))
            raw = table_from_fixest(m3, 0.05, [])
        else:
            coef = model.coef()
            raw = pd.DataFrame(
                {"estimate": coef.to_numpy(), "se": np.sqrt(np.diag(jack))}, index=coef.index.astype(str)
            )
        t3 = mnw_crv3(raw, int(sample[cluster].nunique()), 0.05)
        table["se_crv3"] = t3["se"].reindex(table.index).to_numpy()
        table["p_crv3"] = t3["p"].reindex(table.index).to_numpy()
    except ModelInputError as exc:
        notes.append(msg("models.crv3_failed", error=str(exc)))
    # wildboottest holds the fixed effects as dense one-hot columns: refuse what would not fit
    levels = int(model._fe.nunique().sum()) if getattr(model, "_fe", None) is not None else 0
    cells = len(sample) * (len(model._coefnames) + levels)
    if cells > WILD_MAX_CELLS:
        notes.append(
            msg(
                "models.wild_failed",
                error=f"wildboottest would hold {len(sample)} rows × {len(model._coefnames) + levels} dense columns "
                f"(more than {WILD_MAX_CELLS:,} cells)",
            )
        )
        return table
    # wildboottest needs integer cluster codes.
    coded = sample.assign(_wild_cluster=pd.factorize(sample[cluster])[0].astype(np.int64))
    try:
        ck.fast_wild_bootstrap()
        mw = fit_feols(pf, fml, coded, {"CRV1": "_wild_cluster"}, ssc)
        p_wild = []
        for term in table.index:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = mw.wildboottest(reps=reps, param=term, seed=seed)
            p_wild.append(float(out["Pr(>|t|)"]))
        table["p_wild"] = p_wild
    except Exception as exc:  # noqa: BLE001  (wildboottest missing or failing is reported, not fatal)
        notes.append(msg("models.wild_failed", error=str(exc)))
    return table


def jackknife_sum(model: Any, data: pd.DataFrame, cluster: str, rhs: str | None = None) -> np.ndarray | None:
    """Σ_g (β̂₋g − β̂)(β̂₋g − β̂)ᵀ of a pyfixest OLS fit, each leave-one-cluster-out fit solved by
    least squares on the regressors and the fixed effects as dummies
    (:func:`evalkit.models.absorbed.jackknife_sum`) — the refits pyfixest's own CRV3 makes through
    its formula machinery (~30 ms each), in well under a millisecond on a review's panel.

    Terms that are not plain columns (``I(x * 2)``, ``np.log(x)``) are evaluated from ``rhs`` by
    formulaic, as pyfixest evaluates them. Returns None (the caller refits with pyfixest) whenever
    the shortcut could differ: weights, instruments, a term that cannot be evaluated so, rows the
    fit dropped or a crosstab of the fixed effects too large. A left-out cluster that leaves a regressor
    unidentified gets the minimum-norm solution (as wildboottest's CRV3).
    """
    if getattr(model, "_has_weights", True) or getattr(model, "_is_iv", True) or model._method != "feols":
        return None
    if int(model._N) != len(data) or len(model._Y_untransformed) != len(data):
        return None  # pyfixest dropped rows (missing values, singletons): no row-for-row design
    names = [str(c) for c in model._coefnames]
    terms: Any = data
    if rhs is not None and not all(n == "Intercept" or n in data.columns for n in names):
        from formulaic import model_matrix  # pyfixest's own formula engine, imported with it

        try:
            terms = model_matrix(rhs, data)
        except Exception:  # noqa: BLE001 - anything formulaic cannot evaluate is left to pyfixest
            return None
    cols = []
    for name in names:
        if name == "Intercept":
            cols.append(np.ones(len(data)))
        elif (
            name in terms.columns
            and pd.api.types.is_numeric_dtype(terms[name])
            and not pd.api.types.is_bool_dtype(terms[name])
        ):
            cols.append(np.asarray(terms[name], dtype=float))
        else:
            return None
    fe = model._fe.to_numpy().astype(int) if model._fe is not None else np.empty((len(data), 0), dtype=int)
    levels = [int(fe[:, j].max()) + 1 for j in range(fe.shape[1])]
    if levels and max(levels) * (sum(levels) - max(levels)) > absorbed.MAX_CELLS:
        return None
    design = absorbed.Design(
        names=names,
        y=model._Y_untransformed.to_numpy(dtype=float).ravel(),
        X=np.column_stack(cols) if cols else np.empty((len(data), 0)),
        fe_codes=fe,
        fe_names=[],
    )
    # a regressor left unidentified by a left-out cluster gets that fit's minimum-norm solution (0
    # when it vanishes); pyfixest's own refit drops it and shifts the next coefficient into its
    # slot (pyfixest 0.60), a wrong CRV3.
    beta = model.coef().to_numpy(dtype=float)
    return absorbed.jackknife_sum(design, beta, pd.factorize(data[cluster])[0])

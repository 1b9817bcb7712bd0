"""Linear and generalised linear models: ``ols`` (absorbed fixed effects via pyfixest), ``twfe``
(a panel wrapper around ``ols``) and ``glm`` (logit / probit / Poisson via statsmodels).

Conventions (they change numbers, so they are named):

* ``vcov="iid"``: classical OLS variance, σ² = RSS / (n − k − absorbed FE levels) — as fixest,
  Stata ``xtreg, fe`` and R ``plm`` within.
* ``"HC0"``: White's sandwich without small-sample factor; ``"HC1"``: × n/(n−k) (fixest
  "hetero"); ``"HC2"`` / ``"HC3"``: leverage-adjusted. With absorbed fixed effects HC2/HC3 need
  the leverage of the fixed effects too, so the fixed effects are estimated as dummies.
* ``{"CRV1": "g"}``: cluster-robust, fixest convention — factor G/(G−1) · (n−1)/(n−k), fixed
  effects nested in the cluster counted as one parameter in k; ``{"CRV1": "g+h"}``: two-way (Cameron–
  Gelbach–Miller) with fixest's factor G_min/(G_min−1) for every component; ``{"CRV3": "g"}``:
  the cluster jackknife of MacKinnon, Nielsen & Webb (2023), (G−1)/G · Σ_g (β̂₋g − β̂)(β̂₋g − β̂)ᵀ
  (pyfixest's own CRV3 multiplies by further small-sample factors; evalkit removes them). Inference uses t with G−1 degrees of freedom when
  clustered, n−k otherwise.
* With fewer than ``few_clusters`` clusters (default 30) a warning is stored in the result and
  ``tidy()`` gains ``se_crv3``, ``p_crv3`` and ``p_wild`` (wild cluster bootstrap, WCR11,
  Rademacher weights, null imposed, ``wild_reps`` draws, seeded by ``seed``).
"""
from __future__ import annotations

import re
import warnings
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError
from evalkit.models import _checks as ck
from evalkit.models.results import Results, coef_table
from evalkit.plotting import Lang

HC_TYPES = ("iid", "HC0", "HC1", "HC2", "HC3")
CLUSTER_TYPES = ("CRV1", "CRV3")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _split_formula(formula: str) -> tuple[str, str, list[str]]:
    if not isinstance(formula, str) or "~" not in formula:
        raise ModelInputError(f"Formula {formula!r} needs the form 'y ~ x1 + x2' or 'y ~ x1 | unit + year'.")
    lhs, rest = formula.split("~", 1)
    rhs, _, fe = rest.partition("|")
    fes = [f.strip() for f in fe.split("+") if f.strip()] if fe else []
    return lhs.strip(), rhs.strip(), fes


def _plain_terms(rhs: str) -> list[str]:
    return [t.strip() for t in rhs.split("+") if _NAME.match(t.strip())]


def _parse_vcov(vcov) -> tuple[str, list[str]]:
    """→ (type, cluster columns). type in HC_TYPES or CLUSTER_TYPES."""
    if isinstance(vcov, str):
        ck.choice("vcov", vcov, HC_TYPES + ("{'CRV1': 'col'}", "{'CRV1': 'col1+col2'}", "{'CRV3': 'col'}"))
        return vcov, []
    if isinstance(vcov, dict) and len(vcov) == 1:
        kind, cols = next(iter(vcov.items()))
        ck.choice("vcov type", kind, CLUSTER_TYPES)
        clusters = [c.strip() for c in str(cols).split("+") if c.strip()]
        if not clusters or len(clusters) > 2 or (kind == "CRV3" and len(clusters) > 1):
            raise ValueError(f"vcov={vcov!r}: give one cluster column (or two joined by '+' for CRV1).")
        return kind, clusters
    raise ValueError(f"vcov={vcov!r} is not allowed; use one of {HC_TYPES} or a dict such as "
                     "{'CRV1': 'unit'}, {'CRV1': 'unit+year'}, {'CRV3': 'unit'}.")


def _vcov_label(kind: str, clusters: list[str]) -> str:
    return f"{kind}({'+'.join(clusters)})" if clusters else kind


def ols(formula: str, data: pd.DataFrame, *, vcov="iid", alpha: float = 0.05, few_clusters: int = 30,
        wild_reps: int = 999, seed: int = 0, lang: Lang = "zh") -> Results:
    """Least squares with optional absorbed fixed effects, ``"y ~ x1 + x2 | unit + year"``.

    ``vcov``: ``"iid"``, ``"HC0"``–``"HC3"``, ``{"CRV1": "g"}``, ``{"CRV1": "g+h"}`` or
    ``{"CRV3": "g"}`` (conventions in the module docstring). ``alpha``: 1 − confidence level.
    ``few_clusters``: below this many clusters CRV3 and a wild-bootstrap p are added (``wild_reps``
    draws, ``seed``). Rows with a missing value in a used column are dropped (count in
    ``info["dropped_rows"]``). Regressors collinear with others or with the fixed effects are
    dropped and named in ``warnings``.
    """
    import pyfixest as pf

    lhs, rhs, fes = _split_formula(formula)
    kind, clusters = _parse_vcov(vcov)
    ck.require_columns(data, [c for c in [lhs] if _NAME.match(c)] + fes + clusters)
    if _NAME.match(lhs):
        ck.numeric(data, [lhs], "outcome")
    plain = [t for t in _plain_terms(rhs) if t in data.columns or t != "1"]
    ck.require_columns(data, [t for t in plain if t not in ("0", "1")])
    ck.numeric(data, [t for t in plain if t in data.columns], "regressor")
    used = [c for c in dict.fromkeys([lhs, *plain, *fes, *clusters]) if c in data.columns]
    sample = data[used]
    if sample.isna().to_numpy().any():
        sample = sample.dropna()
    ck.not_constant(sample, [t for t in plain if t in sample.columns])
    notes: list[str] = []
    if len(sample) < len(data):
        notes.append(f"{len(data) - len(sample)} rows with missing values dropped.")

    fml = formula
    hidden: list[str] = []
    if kind in ("HC2", "HC3") and fes:
        # pyfixest refuses HC2/HC3 with absorbed FE; the leverage needs the FE dummies, so
        # estimate them explicitly and hide them from the table.
        fml = f"{lhs} ~ {rhs} + " + " + ".join(f"C({f})" for f in fes)
        hidden = [f"C({f})" for f in fes]
    g_min = None
    if clusters:
        g_min = min(ck.n_clusters(sample, c) for c in clusters)
    pf_vcov: object
    ssc = None
    if kind == "iid":
        pf_vcov = "iid"
    elif kind == "HC0":
        pf_vcov, ssc = "hetero", pf.ssc(k_adj=False, G_adj=False)
    elif kind == "HC1":
        pf_vcov = "hetero"
    elif kind in ("HC2", "HC3"):
        # MacKinnon–White HC2/HC3 carry no n/(n−k) factor (statsmodels, R sandwich).
        pf_vcov, ssc = kind, pf.ssc(k_adj=False, G_adj=False)
    else:
        pf_vcov = {kind: "+".join(clusters)}
        if kind == "CRV3":
            ssc = pf.ssc(k_adj=False, G_adj=False)
    model = _fit_feols(pf, fml, sample, pf_vcov, ssc)
    table = _table_from_fixest(model, alpha, hidden)
    if kind == "CRV3":
        table = _mnw_crv3(table, g_min, alpha)
    collin = list(getattr(model, "_collin_vars", []) or [])
    if collin:
        notes.append(f"Collinear regressor(s) dropped (perfectly explained by other regressors or by "
                     f"the fixed effects): {', '.join(collin)}.")
    info: dict = {"formula": formula, "dropped_rows": len(data) - len(sample)}
    if clusters:
        info["clusters"] = g_min
    if clusters and kind == "CRV1" and g_min < few_clusters:
        notes.append(f"Only {g_min} clusters (< {few_clusters}): CRV1 standard errors may be too small; "
                     f"see se_crv3 / p_crv3 (jackknife) and p_wild (wild cluster bootstrap).")
        if len(clusters) == 1:
            table = _add_few_cluster_inference(pf, model, fml, sample, clusters[0], table, ssc,
                                               wild_reps, seed, notes)
    return Results(table=table, method=label_ols(fes), vcov=_vcov_label(kind, clusters), n=int(model._N),
                   alpha=alpha, warnings=notes, info=info, lang=lang)


def label_ols(fes: list[str]) -> str:
    return f"OLS, absorbed FE: {' + '.join(fes)}" if fes else "OLS"


def _fit_feols(pf, fml, sample, vcov, ssc):
    kwargs = {"vcov": vcov}
    if ssc is not None:
        kwargs["ssc"] = ssc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pf.feols(fml, sample, **kwargs)
    except ModelInputError:
        raise
    except Exception as exc:  # a library message, re-raised as a user-facing error
        raise ModelInputError(f"The model {fml!r} could not be estimated: {exc}. Check the formula's "
                              f"column names and that every regressor varies in the sample.") from exc


def _mnw_crv3(table: pd.DataFrame, G: int, alpha: float) -> pd.DataFrame:
    """Scale an unadjusted jackknife (Σ of squared deviations) to (G−1)/G · Σ; t(G−1) inference."""
    se = table["se"] * np.sqrt((G - 1) / G)
    return coef_table(table["estimate"], se, df=G - 1, alpha=alpha, index=table.index)


def _table_from_fixest(model, alpha: float, hidden: list[str]) -> pd.DataFrame:
    est, se, p = model.coef(), model.se(), model.pvalue()
    ci = model.confint(alpha=alpha)
    table = pd.DataFrame({"estimate": est, "se": se, "ci_low": ci.iloc[:, 0], "ci_high": ci.iloc[:, 1],
                          "p": p})
    if hidden:
        # The dummies standing in for absorbed effects (and their intercept) are not reported.
        keep = [t for t in table.index if t != "Intercept" and not any(str(t).startswith(h) for h in hidden)]
        table = table.loc[keep]
    table.index = pd.Index([str(i) for i in table.index], name="term")
    return table


def _add_few_cluster_inference(pf, model, fml, sample, cluster, table, ssc, reps, seed, notes):
    table = table.copy()
    try:
        m3 = _fit_feols(pf, fml, sample, {"CRV3": cluster}, pf.ssc(k_adj=False, G_adj=False))
        t3 = _mnw_crv3(_table_from_fixest(m3, 0.05, []), int(sample[cluster].nunique()), 0.05)
        table["se_crv3"] = t3["se"].reindex(table.index).to_numpy()
        table["p_crv3"] = t3["p"].reindex(table.index).to_numpy()
    except ModelInputError as exc:
        notes.append(f"CRV3 could not be computed: {exc}")
    # wildboottest needs integer cluster codes.
    coded = sample.assign(_wild_cluster=pd.factorize(sample[cluster])[0].astype(np.int64))
    try:
        mw = _fit_feols(pf, fml, coded, {"CRV1": "_wild_cluster"}, ssc)
        p_wild = []
        for term in table.index:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = mw.wildboottest(reps=reps, param=term, seed=seed)
            p_wild.append(float(out["Pr(>|t|)"]))
        table["p_wild"] = p_wild
    except Exception as exc:  # wildboottest missing or failing is reported, not fatal
        notes.append(f"Wild cluster bootstrap could not be computed: {exc}")
    return table


def twfe(data: pd.DataFrame, *, y: str, x: list[str], unit: str, time: str, cluster: str | None = None,
         lags: int | dict[str, int] = 0, per_capita: str | None = None, per_capita_scale: float = 1.0,
         scale_x: bool = False, fixed_effects: list[str] | None = None, vcov: Literal["CRV1", "CRV3"] = "CRV1",
         alpha: float = 0.05, few_clusters: int = 30, wild_reps: int = 999, seed: int = 0,
         lang: Lang = "zh") -> Results:
    """Two-way fixed effects: ``y ~ x | unit + time (+ fixed_effects)``, clustered by ``cluster``
    (default ``unit``), fixest CRV1 convention (see module docstring).

    ``lags``: number of lags of every input (int) or per input ({"x1": 2}); lag k of ``x`` is its
    value k periods earlier in the sorted set of ``time`` values (missing when that period is
    absent), named ``x_lag{k}``. ``per_capita``: a column (e.g. enrolment) that ``y`` (and the
    inputs when ``scale_x``) are divided by, times ``per_capita_scale`` (e.g. 1000 for per-thousand);
    rows with a zero or missing denominator are dropped (reported). ``fixed_effects``: further
    absorbed effects (e.g. ``["alliance^year"]`` is not supported; pass plain columns).
    """
    if isinstance(x, str):
        x = [x]
    x = list(x)
    if not x:
        raise ModelInputError("twfe needs at least one regressor in x.")
    cluster = cluster or unit
    extra_fe = list(fixed_effects or [])
    ck.choice("vcov", vcov, CLUSTER_TYPES)
    needed = [y, *x, unit, time, cluster, *extra_fe] + ([per_capita] if per_capita else [])
    ck.require_columns(data, needed)
    ck.numeric(data, [y], "outcome")
    ck.numeric(data, x, "regressor")
    ck.unique_key(data, [unit, time])
    df = data[list(dict.fromkeys(needed))]
    notes: list[str] = []
    if per_capita:
        ck.numeric(data, [per_capita], "per-capita denominator")
        bad = ~(df[per_capita] > 0)
        if bad.any():
            notes.append(f"{int(bad.sum())} rows with zero or missing {per_capita!r} dropped.")
            df = df.loc[~bad]
        factor = per_capita_scale / df[per_capita]
        df[y] = df[y] * factor
        if scale_x:
            for c in x:
                df[c] = df[c] * factor
    # Safe internal names: columns may be Chinese or contain spaces.
    lag_spec = {c: lags for c in x} if isinstance(lags, int) else dict(lags)
    unknown = set(lag_spec) - set(x)
    if unknown:
        raise ModelInputError(f"lags names {sorted(unknown)} that are not in x={x}.")
    terms = list(x)
    if any(k > 0 for k in lag_spec.values()):
        idx = ck.period_index(df[time])
        df = df.assign(_t=idx.to_numpy())
        base = df[[unit, "_t", *x]]
        for c, k_max in lag_spec.items():
            for k in range(1, int(k_max) + 1):
                name = f"{c}_lag{k}"
                shifted = base[[unit, "_t", c]].assign(_t=base["_t"] + k).rename(columns={c: name})
                df = df.merge(shifted, on=[unit, "_t"], how="left")
                terms.append(name)
    safe = {c: f"v{i}" for i, c in enumerate(dict.fromkeys([y, *terms, unit, time, cluster, *extra_fe]))}
    work = pd.DataFrame({v: df[c].to_numpy() for c, v in safe.items()})
    fml = f"{safe[y]} ~ {' + '.join(safe[t] for t in terms)} | " + " + ".join(
        safe[c] for c in dict.fromkeys([unit, time, *extra_fe]))
    res = ols(fml, work, vcov={vcov: safe[cluster]}, alpha=alpha, few_clusters=few_clusters,
              wild_reps=wild_reps, seed=seed, lang=lang)
    back = {v: k for k, v in safe.items()}
    res.table.index = pd.Index([back.get(t, t) for t in res.table.index], name="term")
    res.warnings = notes + [_unsafe(w, back) for w in res.warnings]
    res.vcov = f"{vcov}({cluster})"
    res.method = f"TWFE: {y} ~ {' + '.join(terms)} | {' + '.join(dict.fromkeys([unit, time, *extra_fe]))}"
    res.info.update({"formula": res.method, "unit": unit, "time": time, "cluster": cluster})
    return res


def _unsafe(text: str, back: dict[str, str]) -> str:
    return re.sub(r"\bv\d+\b", lambda m: back.get(m.group(0), m.group(0)), text)


GLM_FAMILIES = ("logit", "probit", "poisson")


def glm(formula: str, data: pd.DataFrame, *, family: Literal["logit", "probit", "poisson"] = "logit",
        vcov="iid", alpha: float = 0.05, lang: Lang = "zh") -> Results:
    """Generalised linear model by maximum likelihood (statsmodels GLM).

    ``family``: ``"logit"`` / ``"probit"`` (binary 0/1 outcome, e.g. placed or not) or
    ``"poisson"`` (counts). ``vcov``: ``"iid"`` (inverse information), ``"HC0"`` (sandwich) or
    ``{"CRV1": "college"}`` / ``{"CRV1": "a+b"}``: cluster-robust with statsmodels' factor
    G/(G−1)·(n−1)/(n−k) (two-way: each component with its own G). Fixed effects go in the formula
    as ``C(unit)``. Estimates are log-odds (logit), probit index or log-rate (Poisson) coefficients.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    ck.choice("family", family, GLM_FAMILIES)
    lhs, rhs, fes = _split_formula(formula)
    if fes:
        raise ModelInputError("glm does not absorb fixed effects after '|'; write them as C(unit) terms.")
    if isinstance(vcov, str):
        ck.choice("vcov", vcov, ("iid", "HC0", "{'CRV1': 'col'}"))
        clusters = []
    else:
        kind, clusters = _parse_vcov(vcov)
        if kind != "CRV1":
            raise ValueError("glm supports vcov 'iid', 'HC0' and {'CRV1': ...}.")
    plain = _plain_terms(rhs)
    ck.require_columns(data, [lhs, *[t for t in plain if t not in ("0", "1")], *clusters])
    ck.numeric(data, [lhs], "outcome")
    used = [c for c in dict.fromkeys([lhs, *plain, *clusters]) if c in data.columns]
    sample = data.dropna(subset=used)
    yv = sample[lhs].astype(float)
    if family in ("logit", "probit") and not yv.isin([0.0, 1.0]).all():
        raise ModelInputError(f"{family} needs a 0/1 outcome; {lhs!r} has other values "
                              f"(e.g. {yv[~yv.isin([0.0, 1.0])].iloc[0]!r}).")
    if family == "poisson" and (yv < 0).any():
        raise ModelInputError(f"poisson needs non-negative counts; {lhs!r} has negative values.")
    ck.not_constant(sample, [lhs] + [t for t in plain if t in sample.columns])
    fam = {"logit": sm.families.Binomial(sm.families.links.Logit()),
           "probit": sm.families.Binomial(sm.families.links.Probit()),
           "poisson": sm.families.Poisson()}[family]
    fit_kw: dict = {}
    if vcov == "HC0":
        fit_kw = {"cov_type": "HC0"}
    elif clusters:
        for c in clusters:
            ck.n_clusters(sample, c)
        groups = (pd.factorize(sample[clusters[0]])[0] if len(clusters) == 1 else
                  np.column_stack([pd.factorize(sample[c])[0] for c in clusters]))
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = smf.glm(formula, sample, family=fam).fit(**fit_kw)
    except Exception as exc:
        raise ModelInputError(f"The {family} model {formula!r} could not be estimated: {exc}. Perfect "
                              f"separation or a collinear regressor are common causes.") from exc
    table = coef_table(fitted.params.to_numpy(), fitted.bse.to_numpy(), alpha=alpha, index=fitted.params.index)
    notes = []
    if not getattr(fitted, "converged", True):
        notes.append("The likelihood maximisation did not converge; estimates are unreliable.")
    if len(sample) < len(data):
        notes.append(f"{len(data) - len(sample)} rows with missing values dropped.")
    label_v = "iid" if vcov == "iid" else ("HC0" if vcov == "HC0" else _vcov_label("CRV1", clusters))
    return Results(table=table, method=f"GLM {family}: {formula}", vcov=label_v, n=int(fitted.nobs),
                   alpha=alpha, warnings=notes, info={"formula": formula, "family": family,
                                                      "loglik": float(fitted.llf)}, lang=lang)

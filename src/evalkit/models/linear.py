"""Linear and generalised linear models: ``ols`` (absorbed fixed effects; evalkit's own least
squares, :mod:`evalkit.models.absorbed`, where the design allows, pyfixest otherwise,
:mod:`evalkit.models.fixest_route`), ``twfe`` (a panel wrapper around ``ols``) and ``glm``
(Gaussian / logit / probit / Poisson by maximum likelihood via statsmodels, with evalkit's own
sandwich so its variance conventions equal ``ols``).

One signature convention: every estimator takes ``vcov`` from one vocabulary — ``"iid"``,
``"HC0"``–``"HC3"``, ``{"CRV1": "col"}``, ``{"CRV1": "a+b"}`` (two-way), ``{"CRV3": "col"}`` — and
``G_df`` for two-way clustering; no estimator takes a language (``lang=`` is accepted, ignored and
deprecated). Warnings are stored on the result as :class:`evalkit.i18n.Message` codes
(:mod:`evalkit.models.messages`).

The variance conventions (``vcov``, ``G_df``, CRV3, the glm sandwich) live in
:mod:`evalkit.models.vcov`; their names are re-exported here.

Inference: ``ols``/``twfe`` use t with G−1 degrees of freedom when clustered (G_min for two-way),
n−k otherwise (``results.dof``); ``glm`` uses the normal distribution (``dof`` None). With fewer
than ``few_clusters`` clusters (default 30) a warning is stored in the result and, one-way,
``tidy()`` gains ``se_crv3``, ``p_crv3`` and ``p_wild`` (wild cluster bootstrap, WCR11,
Rademacher weights, null imposed, ``wild_reps`` draws, seeded by ``seed``).
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Message
from evalkit.models import _checks as ck
from evalkit.models import absorbed, fixest_route
from evalkit.models._checks import deprecated_lang
from evalkit.models.messages import msg
from evalkit.models.results import Results, coef_table
from evalkit.models.vcov import (
    CLUSTER_TYPES,
    G_DF,
    HC_TYPES,
    VcovSpec,
    cluster_sandwich,
    glm_vcov,
    parse_vcov,
    resolve_cluster_alias,
    vcov_label,
    vcov_note,
)

# Re-exported for the module path users and the review layer know (``models.linear.parse_vcov`` …).
__all__ = [
    "CLUSTER_TYPES",
    "G_DF",
    "GLM_FAMILIES",
    "HC_TYPES",
    "VcovSpec",
    "cluster_sandwich",
    "deprecated_lang",
    "glm",
    "label_ols",
    "ols",
    "parse_vcov",
    "resolve_cluster_alias",
    "twfe",
    "vcov_label",
    "vcov_note",
]

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


# -- ols --------------------------------------------------------------------------------------
def ols(
    formula: str,
    data: pd.DataFrame,
    *,
    vcov: VcovSpec = "iid",
    G_df: Literal["min", "conventional"] = "min",
    alpha: float = 0.05,
    few_clusters: int = 30,
    wild_reps: int = 999,
    seed: int = 0,
    unique_fe: bool = True,
    engine: Literal["auto", "evalkit", "pyfixest"] = "auto",
    lang: object = None,
) -> Results:
    """Least squares with optional absorbed fixed effects, ``"y ~ x1 + x2 | unit + year"``.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"``; absorbed fixed effects after ``|``.
    data : pandas.DataFrame
    vcov : str or dict, default "iid"
        ``"iid"``, ``"HC0"``–``"HC3"``, ``{"CRV1": "g"}``, ``{"CRV1": "g+h"}`` or ``{"CRV3": "g"}``
        (conventions in the module docstring).
    G_df : {"min", "conventional"}, default "min"
        Cluster factor of two-way clustering (module docstring).
    alpha : float, default 0.05
        1 − confidence level of the table's intervals.
    few_clusters : int, default 30
        Below this many clusters a warning is stored and (one-way CRV1) CRV3 and a wild-bootstrap
        p are added (``wild_reps`` draws, ``seed``).
    wild_reps, seed : int
    unique_fe : bool, default True
        With two or more absorbed fixed effects, refuse rows that repeat a combination of them
        (a duplicated (unit, time) key), as ``twfe`` does. Set False for data with several rows
        per cell by design (e.g. workers within firm × year).
    engine : {"auto", "evalkit", "pyfixest"}, default "auto"
        Who computes the fit. ``"auto"``: evalkit's numpy implementation
        (:mod:`evalkit.models.absorbed`) when the design allows it — absorbed fixed effects,
        plain numeric regressors, ``vcov`` iid/HC0/HC1/one-way CRV1/CRV3, regressors of full
        rank, a crosstab of the largest effect with the others that fits in memory — and
        pyfixest otherwise; the numbers are the same (tests compare them). ``"evalkit"`` refuses
        a design it does not handle, saying why; ``"pyfixest"`` always uses pyfixest (and
        wildboottest for the few-cluster bootstrap). Either way, rows whose fixed-effect level
        occurs once are dropped first (fixest's rule; code ``models.singletons_dropped``).
    lang : optional
        Deprecated and ignored.

    Returns
    -------
    Results
        ``info``: ``formula``, ``dropped_rows``, ``clusters`` (G, the smaller for two-way),
        ``collinear`` (list), ``vcov_note`` (Message), ``G_df``, ``engine`` (``"evalkit"`` or
        ``"pyfixest"``); with the few-cluster bootstrap ``wild_reps`` (the draws made: 2^G
        when every sign pattern is enumerated) and ``wild_enumerated``. ``dof``: t degrees of
        freedom.

    Raises
    ------
    ModelInputError
        Missing or non-numeric columns, a constant regressor, fewer than 2 clusters, duplicated
        fixed-effect keys.

    Notes
    -----
    Rows with a missing value in a used column are dropped (count in ``info["dropped_rows"]``).
    Regressors collinear with others or with the fixed effects are dropped and named in
    ``warnings`` (code ``models.collinear``).
    """
    deprecated_lang(lang, "ols")
    check_choice("G_df", G_df, G_DF)
    check_choice("engine", engine, ENGINES)
    lhs, rhs, fes = _split_formula(formula)
    kind, clusters = parse_vcov(vcov)
    ck.require_columns(data, [c for c in [lhs] if _NAME.match(c)] + fes + clusters)
    if _NAME.match(lhs):
        ck.numeric(data, [lhs], "outcome")
    plain = [t for t in _plain_terms(rhs) if t in data.columns or t != "1"]
    ck.require_columns(data, [t for t in plain if t not in ("0", "1")])
    ck.numeric(data, [t for t in plain if t in data.columns], "regressor")
    # columns inside transformed terms (np.log(x2), I(x1 * x2)) are carried into the sample too
    named = re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", rhs)
    used = [c for c in dict.fromkeys([lhs, *plain, *named, *fes, *clusters]) if c in data.columns]
    sample = data[used]
    if sample.isna().to_numpy().any():
        sample = sample.dropna()
    if sample.empty:
        raise ModelInputError(
            f"No row of the data has every column of {formula!r} observed ({len(data)} rows in all): "
            "check that the outcome and the regressors are reported for the same rows."
        )
    if unique_fe and len(fes) >= 2:
        ck.unique_key(
            sample,
            fes,
            hint="If several rows per cell are intended (e.g. workers within firm × year), pass unique_fe=False.",
        )
    ck.not_constant(sample, [t for t in plain if t in sample.columns])
    notes: list[Message] = []
    if len(sample) < len(data):
        notes.append(msg("models.rows_dropped", n=len(data) - len(sample)))
    complete = len(sample)
    sample = absorbed.drop_singletons(sample, fes)  # both routes then fit the same rows
    if len(sample) < complete:
        notes.append(msg("models.singletons_dropped", n=complete - len(sample)))
    if sample.empty:
        raise ModelInputError(f"{formula!r}: every row's fixed-effect level occurs once; nothing is left to fit.")

    _check_residual_dof(sample, formula, rhs, fes)
    counts = [ck.n_clusters(sample, c) for c in clusters]
    g_min = min(counts) if counts else None
    info: dict[str, Any] = {
        "formula": formula,
        "dropped_rows": len(data) - complete,
        "singletons_dropped": complete - len(sample),
        "collinear": [],
        "vcov_note": vcov_note(kind, clusters, G_df, G=counts),
    }
    if clusters:
        info["clusters"] = g_min
        info["cluster_counts"] = dict(zip(clusters, counts))
        if len(clusters) == 2:
            info["G_df"] = G_df
    few = bool(clusters and kind == "CRV1" and g_min is not None and g_min < few_clusters)
    req = absorbed.Request(kind, clusters, alpha, few, few_clusters, wild_reps, seed)
    fitted = None
    if engine != "pyfixest":
        terms = [t.strip() for t in rhs.split("+") if t.strip()]
        if lhs in sample.columns and all(t in plain and t in sample.columns for t in terms):
            fitted, why = absorbed.estimate(sample, lhs, terms, fes, req, notes, info)
        else:
            why = "a formula term is not a plain column"
        if fitted is None and engine == "evalkit":
            raise ModelInputError(
                f"engine='evalkit' cannot fit {formula!r} with vcov={vcov!r}: {why}. Use engine='auto' (pyfixest then "
                "fits it) or engine='pyfixest'."
            )
    if fitted is None:
        fitted = fixest_route.estimate(formula, sample, lhs, rhs, fes, req, G_df, notes, info)
    table, n, dof = fitted
    return Results(
        table=table,
        method=label_ols(fes),
        vcov=vcov_label(kind, clusters),
        n=n,
        alpha=alpha,
        warnings=notes,
        info=info,
        dof=dof,
    )


ENGINES = ("auto", "evalkit", "pyfixest")


def _check_residual_dof(sample: pd.DataFrame, formula: str, rhs: str, fes: list[str]) -> None:
    """Refuse a model whose regressors and fixed effects use up every row (no residual degree of
    freedom: no variance can be estimated, and pyfixest 0.60 aborts the whole process on some such
    designs instead of raising)."""
    # a transformed term is one column, a factor term at least one: a lower bound on the parameters
    terms = [t.strip() for t in rhs.split("+") if t.strip() not in ("", "0", "1")]
    levels = [int(sample[f].nunique()) for f in fes]
    params = len(terms) + (sum(levels) - max(len(levels) - 1, 0) if levels else 1)
    if len(sample) <= params:
        raise ModelInputError(
            f"{formula!r}: {len(sample)} rows leave no residual degree of freedom after {len(terms)} regressor(s) "
            f"and {params - len(terms)} fixed-effect parameter(s); use more rows (units or periods), fewer "
            "regressors or fewer fixed effects."
        )


def label_ols(fes: list[str]) -> str:
    """The technical name of an OLS fit with absorbed fixed effects ``fes``."""
    return f"OLS, absorbed FE: {' + '.join(fes)}" if fes else "OLS"


# -- twfe -------------------------------------------------------------------------------------
def twfe(
    data: pd.DataFrame,
    *,
    y: str,
    x: list[str] | str,
    unit: str,
    time: str,
    vcov: VcovSpec | None = None,
    G_df: Literal["min", "conventional"] = "min",
    effect: Literal["twoways", "individual"] = "twoways",
    lags: int | dict[str, int] = 0,
    per_capita: str | None = None,
    per_capita_scale: float = 1.0,
    scale_x: bool = False,
    fixed_effects: list[str] | None = None,
    alpha: float = 0.05,
    few_clusters: int = 30,
    wild_reps: int = 999,
    seed: int = 0,
    cluster: str | None = None,
    engine: Literal["auto", "evalkit", "pyfixest"] = "auto",
    lang: object = None,
) -> Results:
    """Fixed-effects panel regression ``y ~ x | unit + time (+ fixed_effects)``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per (unit, time); duplicated keys are refused.
    y : str
        Outcome column.
    x : list of str
        Regressors.
    unit, time : str
        Panel keys.
    vcov : str or dict, optional
        The shared vocabulary (``"iid"``, ``"HC0"``–``"HC3"``, ``{"CRV1": col}``,
        ``{"CRV1": "a+b"}``, ``{"CRV3": col}``); default ``{"CRV1": unit}``. Columns are named as in
        ``data``. The bare strings ``"CRV1"``/``"CRV3"`` (cluster by unit) are deprecated.
    G_df : {"min", "conventional"}, default "min"
        Two-way clustering factor (see module docstring).
    effect : {"twoways", "individual"}, default "twoways"
        Absorb unit and time effects, or unit effects only (plm's ``effect``; the one-way within
        estimator of textbook tables).
    lags : int or dict
        Lags of every input (int) or per input (``{"x1": 2}``); lag k of ``x`` is its value k
        periods earlier in the sorted set of ``time`` values (missing when absent), named ``x_lag{k}``.
    per_capita : str, optional
        A column (e.g. enrolment) that ``y`` (and the inputs when ``scale_x``) are divided by,
        times ``per_capita_scale``; rows with a zero or missing denominator are dropped (warned).
    per_capita_scale : float
    scale_x : bool
    fixed_effects : list of str, optional
        Further absorbed effects (plain columns).
    alpha : float
    few_clusters, wild_reps, seed : int
        As :func:`ols`.
    cluster : str, optional
        Deprecated alias of ``vcov={"CRV1": cluster}`` (DeprecationWarning).
    engine : {"auto", "evalkit", "pyfixest"}, default "auto"
        As :func:`ols`.
    lang : optional
        Deprecated and ignored.

    Returns
    -------
    Results
        As :func:`ols`; ``info`` adds ``unit``, ``time``, ``cluster`` (str, "a+b" for two-way, None
        without clustering), ``effect``.
    """
    deprecated_lang(lang, "twfe")
    vcov = resolve_cluster_alias(vcov, cluster, unit, "twfe")
    kind, clusters = parse_vcov(vcov)
    check_choice("effect", effect, ("twoways", "individual"))
    if isinstance(x, str):
        x = [x]
    x = list(x)
    if not x:
        raise ModelInputError("twfe needs at least one regressor in x.")
    extra_fe = list(fixed_effects or [])
    needed = [y, *x, unit, time, *clusters, *extra_fe] + ([per_capita] if per_capita else [])
    ck.require_columns(data, needed)
    ck.numeric(data, [y], "outcome")
    ck.numeric(data, x, "regressor")
    ck.unique_key(data, [unit, time])
    df = data[list(dict.fromkeys(needed))]
    if df.dropna().empty:
        raise ModelInputError(
            f"No row of the data has {', '.join(dict.fromkeys(needed))} all observed ({len(data)} rows in all): "
            "check that the outcome and the inputs are reported for the same units and periods."
        )
    notes: list[Message] = []
    if per_capita:
        ck.numeric(data, [per_capita], "per-capita denominator")
        bad = ~(df[per_capita] > 0)
        if bad.any():
            notes.append(msg("models.per_capita_dropped", n=int(bad.sum()), column=per_capita))
            df = df.loc[~bad]
        factor = per_capita_scale / df[per_capita]
        df = df.assign(**{y: df[y] * factor})
        if scale_x:
            df = df.assign(**{c: df[c] * factor for c in x})
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
    absorbed = list(dict.fromkeys([unit, *([time] if effect == "twoways" else []), *extra_fe]))
    # Safe internal names: columns may be Chinese or contain spaces.
    safe = {c: f"v{i}" for i, c in enumerate(dict.fromkeys([y, *terms, unit, time, *clusters, *extra_fe]))}
    work = pd.DataFrame({v: df[c].to_numpy() for c, v in safe.items()})
    fml = f"{safe[y]} ~ {' + '.join(safe[t] for t in terms)} | " + " + ".join(safe[c] for c in absorbed)
    safe_vcov: VcovSpec = {kind: "+".join(safe[c] for c in clusters)} if clusters else kind
    back = {v: k for k, v in safe.items()}
    # (unit, time) was checked above; extra fixed effects may repeat within a cell.
    try:
        res = ols(
            fml,
            work,
            vcov=safe_vcov,
            G_df=G_df,
            alpha=alpha,
            few_clusters=few_clusters,
            wild_reps=wild_reps,
            seed=seed,
            unique_fe=False,
            engine=engine,
        )
    except ModelInputError as exc:  # say it in the user's column names, not the internal v0, v1 …
        raise ModelInputError(re.sub(r"\bv\d+\b", lambda m: back.get(m.group(0), m.group(0)), str(exc))) from exc
    res.table.index = pd.Index([back.get(t, t) for t in res.table.index], name="term")
    collin = [back.get(t, t) for t in res.info.get("collinear", [])]
    res.info["collinear"] = collin
    res.warnings = notes + [
        msg("models.collinear", terms=", ".join(collin)) if w.code == "models.collinear" else w for w in res.warnings
    ]
    res.vcov = vcov_label(kind, clusters)
    res.info["vcov_note"] = vcov_note(kind, clusters, G_df, G=list(res.info.get("cluster_counts", {}).values()))
    if "cluster_counts" in res.info:
        res.info["cluster_counts"] = {back.get(k, k): v for k, v in res.info["cluster_counts"].items()}
    res.method = f"TWFE: {y} ~ {' + '.join(terms)} | {' + '.join(absorbed)}"
    res.info.update(
        {
            "formula": res.method,
            "unit": unit,
            "time": time,
            "effect": effect,
            "cluster": "+".join(clusters) if clusters else None,
        }
    )
    return res


# -- glm --------------------------------------------------------------------------------------
GLM_FAMILIES = ("logit", "probit", "poisson", "gaussian")


def glm(
    formula: str,
    data: pd.DataFrame,
    *,
    family: Literal["logit", "probit", "poisson", "gaussian"] = "logit",
    vcov: VcovSpec = "iid",
    G_df: Literal["min", "conventional"] = "min",
    information: Literal["observed", "expected"] = "observed",
    alpha: float = 0.05,
    lang: object = None,
) -> Results:
    """Generalised linear model by maximum likelihood (statsmodels GLM for the fit, evalkit's
    sandwich for the variance, so the conventions equal :func:`ols`).

    Parameters
    ----------
    formula : str
        A patsy formula; fixed effects as ``C(unit)`` terms (no ``|``).
    data : pandas.DataFrame
    family : {"logit", "probit", "poisson", "gaussian"}, default "logit"
        Binary 0/1 outcome (logit, probit), counts (poisson) or a linear-Gaussian model.
        Estimates are log-odds, probit-index, log-rate or linear coefficients.
    vcov : str or dict, default "iid"
        ``"iid"`` (inverse information), ``"HC0"``, ``"HC1"`` (× n/(n−k)), ``{"CRV1": "g"}`` or
        ``{"CRV1": "g+h"}`` with the conventions of :func:`ols` (one-way G/(G−1)·(n−1)/(n−k);
        two-way per ``G_df``). HC2, HC3 and CRV3 are not offered for ``glm``.
    G_df : {"min", "conventional"}, default "min"
    information : {"observed", "expected"}, default "observed"
        The information matrix of the iid variance and of the sandwich's bread: observed (minus
        the Hessian; Stata, statsmodels ``Probit``/``Logit``) or expected (Fisher; R ``glm``).
        Identical for logit, Poisson and Gaussian (canonical links).
    alpha : float
    lang : optional
        Deprecated and ignored.

    Returns
    -------
    Results
        Normal-based inference (``dof`` None). ``info``: ``formula``, ``family``, ``loglik``,
        ``information``, ``vcov_note``, ``clusters``.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    deprecated_lang(lang, "glm")
    check_choice("family", family, GLM_FAMILIES)
    check_choice("G_df", G_df, G_DF)
    check_choice("information", information, ("observed", "expected"))
    lhs, rhs, fes = _split_formula(formula)
    if fes:
        raise ModelInputError("glm does not absorb fixed effects after '|'; write them as C(unit) terms.")
    kind, clusters = parse_vcov(vcov)
    if kind not in ("iid", "HC0", "HC1", "CRV1"):
        raise ValueError(f"glm supports vcov 'iid', 'HC0', 'HC1' and {{'CRV1': ...}}, not {vcov!r}.")
    plain = _plain_terms(rhs)
    ck.require_columns(data, [lhs, *[t for t in plain if t not in ("0", "1")], *clusters])
    ck.numeric(data, [lhs], "outcome")
    used = [c for c in dict.fromkeys([lhs, *plain, *clusters]) if c in data.columns]
    sample = data.dropna(subset=used)
    yv = sample[lhs].astype(float)
    if family in ("logit", "probit") and not yv.isin([0.0, 1.0]).all():
        raise ModelInputError(
            f"{family} needs a 0/1 outcome; {lhs!r} has other values (e.g. {yv[~yv.isin([0.0, 1.0])].iloc[0]!r})."
        )
    if family == "poisson" and (yv < 0).any():
        raise ModelInputError(f"poisson needs non-negative counts; {lhs!r} has negative values.")
    ck.not_constant(sample, [lhs] + [t for t in plain if t in sample.columns])
    counts = [ck.n_clusters(sample, c) for c in clusters]
    fam = {
        "logit": sm.families.Binomial(sm.families.links.Logit()),
        "probit": sm.families.Binomial(sm.families.links.Probit()),
        "poisson": sm.families.Poisson(),
        "gaussian": sm.families.Gaussian(),
    }[family]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = smf.glm(formula, sample, family=fam).fit()
    except Exception as exc:
        raise ModelInputError(
            f"The {family} model {formula!r} could not be estimated: {exc}. Perfect "
            f"separation or a collinear regressor are common causes."
        ) from exc
    V = glm_vcov(fitted, kind, [sample[c] for c in clusters], G_df, information)
    names = fitted.params.index
    table = coef_table(fitted.params.to_numpy(), np.sqrt(np.diag(V)), alpha=alpha, index=names)
    notes: list[Message] = []
    if not getattr(fitted, "converged", True):
        notes.append(msg("models.not_converged"))
    if len(sample) < len(data):
        notes.append(msg("models.rows_dropped", n=len(data) - len(sample)))
    info: dict[str, Any] = {
        "formula": formula,
        "family": family,
        "loglik": float(fitted.llf),
        "information": information,
        "vcov_note": vcov_note(kind, clusters, G_df, G=counts, model="glm", information=information),
    }
    if clusters:
        info["clusters"] = min(counts)
        info["cluster_counts"] = dict(zip(clusters, counts))
        if len(clusters) == 2:
            info["G_df"] = G_df
    return Results(
        table=table,
        method=f"GLM {family}: {formula}",
        vcov=vcov_label(kind, clusters),
        n=int(fitted.nobs),
        alpha=alpha,
        warnings=notes,
        info=info,
        dof=None,
    )

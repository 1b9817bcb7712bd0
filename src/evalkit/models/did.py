"""Staggered adoption: Callaway–Sant'Anna ATT(g,t) (csdid, parity with R ``did`` 2.x; without
covariates and bootstrap the same numbers in numpy, :mod:`evalkit.models.did_fast`) and event
studies (Sun–Abraham interaction-weighted and plain TWFE, on pyfixest).

Conventions (R ``did`` defaults unless named): doubly-robust 2×2 estimator
(``est_method="dr"``), ``base_period="varying"``, no anticipation, analytic standard errors
from the influence function (``bootstrap=False``) or a multiplier bootstrap with Mammen-free
Rademacher weights (R's ``mboot``; ``biters`` draws, seeded by ``seed``, pointwise intervals).
The pre-trend test is R's Wald test of all pre-treatment ATT(g,t) = 0 with the analytic
covariance (χ² with as many degrees of freedom as pre-treatment cells).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError, check_choice
from evalkit.i18n import Lang, Message, text
from evalkit.models import _checks as ck
from evalkit.models._checks import deprecated_lang
from evalkit.models.vcov import (
    VcovSpec,
    parse_vcov,
    pyfixest_vcov,
    resolve_cluster_alias,
    vcov_label,
    vcov_note,
)
from evalkit.models.messages import from_library, msg
from evalkit.models.results import BaseResults, PickledModel, Results, Summary, coef_table, event_plot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

AGG_KINDS: tuple[Literal["simple", "group", "dynamic", "calendar"], ...] = ("simple", "group", "dynamic", "calendar")


class Pretest(NamedTuple):
    """A joint Wald test of the pre-treatment effects (statistic, p-value; None when it cannot be
    computed) with its degrees of freedom."""

    statistic: float | None
    p_value: float | None
    df: int


@contextlib.contextmanager
def _quiet_seeded(seed: int | None) -> Iterator[list[warnings.WarningMessage]]:
    """csdid prints tables and draws from the global numpy RNG: silence it, seed it, and give the
    caller's global RNG state back afterwards."""
    state = np.random.get_state()
    if seed is not None:
        np.random.seed(seed)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        np.random.set_state(state)


def _prepare_staggered(
    data: pd.DataFrame, y: str, unit: str, time: str, cohort: str, extra: list[str] | tuple[str, ...] = ()
) -> pd.DataFrame:
    ck.require_columns(data, [y, unit, time, cohort, *extra])
    ck.numeric(data, [y], "outcome")
    ck.numeric(data, [time, cohort], "time/cohort")
    ck.unique_key(data, [unit, time])
    df = data[list(dict.fromkeys([y, unit, time, cohort, *extra]))].copy()
    df[cohort] = df[cohort].fillna(0)
    varies = df.groupby(unit, sort=False)[cohort].nunique() > 1
    if varies.any():
        raise ModelInputError(
            f"{int(varies.sum())} units have more than one {cohort!r} value (e.g. "
            f"{varies[varies].index[0]!r}); the cohort (first treated period) must "
            f"be constant within a unit."
        )
    if df[y].isna().any():
        raise ModelInputError(
            f"{int(df[y].isna().sum())} missing values in {y!r}; the estimator needs "
            f"a balanced panel. Drop or impute them first."
        )
    return df


def _drop_short_cohorts(
    df: pd.DataFrame, time: str, cohort: str, min_pre_periods: int, notes: list[Message]
) -> pd.DataFrame:
    periods = np.sort(df[time].unique())
    treated = sorted(c for c in df[cohort].unique() if c > 0)
    bad = [g for g in treated if (periods < g).sum() < min_pre_periods]
    if bad:
        notes.append(msg("models.short_cohorts", cohorts=", ".join(map(str, bad)), min_pre=min_pre_periods))
        df = df.loc[~df[cohort].isin(bad)]
    late = [g for g in treated if g > periods.max()]
    if late:
        notes.append(msg("models.late_cohorts", cohorts=", ".join(map(str, late))))
        df = df.assign(**{cohort: df[cohort].where(~df[cohort].isin(late), 0)})
    return df


_AGG_TITLES = {
    "simple": "models.title.cs_simple",
    "group": "models.title.cs_group",
    "dynamic": "models.title.cs_dynamic",
    "calendar": "models.title.cs_calendar",
}


@dataclass
class DidResults(BaseResults):
    """Callaway–Sant'Anna group-time effects (the shared results protocol of
    :class:`~evalkit.models.results.BaseResults`).

    Parameters
    ----------
    att_gt : pandas.DataFrame
        cohort, time, att, se, ci_low, ci_high, p, post.
    pretest : Pretest
        R did's Wald test of all pre-treatment ATT(g,t) = 0.
    n : int
        Units.
    settings : dict
        control, alpha, seed, inference, est_method, base_period, covariates, engine (``"evalkit"``:
        the numpy path of :mod:`evalkit.models.did_fast`; ``"csdid"``).
    warnings : list of evalkit.i18n.Message
    lang : optional
        Deprecated and ignored.

    Notes
    -----
    ``aggregate(kind)`` gives :class:`~evalkit.models.results.Results` for simple / group /
    dynamic / calendar aggregations (normal inference, ``overall``/``overall_se`` set).
    """

    att_gt: pd.DataFrame
    pretest: Pretest
    n: int
    settings: dict[str, Any]
    warnings: list[Message] = field(default_factory=list)
    lang: Lang | None = None
    _model: Any = field(default=None, repr=False)
    _agg_cache: dict[Any, Results] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (the review's result cache) with the four standard aggregations computed and
        the fitted model kept as bytes, unpickled only when something else is asked of it: a
        cached result reads back without importing csdid, statsmodels and scipy.stats (~1 s of
        a review kernel)."""
        for kind in AGG_KINDS:
            with contextlib.suppress(Exception):  # one that cannot be formed is formed (and fails) on request
                self.aggregate(kind)
        state = self.__dict__.copy()
        if state.get("_model") is not None and not isinstance(state["_model"], PickledModel):
            state["_model"] = PickledModel(state["_model"])
        return state

    def aggregate(
        self,
        kind: Literal["simple", "group", "dynamic", "calendar"] = "simple",
        *,
        balance_e: int | None = None,
        min_e: float = -np.inf,
        max_e: float = np.inf,
    ) -> Results:
        """Aggregate ATT(g,t) as R's ``aggte(type=kind)``.

        Parameters
        ----------
        kind : {"simple", "group", "dynamic", "calendar"}
        balance_e, min_e, max_e
            As R's ``aggte`` (dynamic aggregation only).

        Returns
        -------
        Results
            ``.estimate``/``.se`` are the overall figure, ``tidy()`` lists the components (cohorts,
            event times or periods).
        """
        check_choice("kind", kind, AGG_KINDS)
        key = (kind, balance_e, min_e, max_e)
        if key in self._agg_cache:
            return self._agg_cache[key]
        alpha = self.settings["alpha"]
        with _quiet_seeded(self.settings["seed"]):
            self._model.aggte(typec=kind, balance_e=balance_e, min_e=min_e, max_e=max_e)
        agg = self._model.atte
        overall = float(np.asarray(agg["overall_att"], dtype=float).reshape(-1)[0])
        overall_se = float(np.asarray(agg["overall_se"], dtype=float).reshape(-1)[0])
        if kind == "simple":
            table = coef_table([overall], [overall_se], alpha=alpha, index=["ATT"])
        else:
            se = np.asarray(agg["se_egt"], dtype=float).reshape(-1)
            idx = [int(v) for v in np.asarray(agg["egt"]).reshape(-1)]
            table = coef_table(np.asarray(agg["att_egt"], dtype=float).reshape(-1), se, alpha=alpha, index=idx)
        res = Results(
            table=table,
            method=f"Callaway–Sant'Anna ATT, {kind}",
            vcov=self.settings["inference"],
            n=self.n,
            kind="event" if kind == "dynamic" else "coef",
            overall=overall,
            overall_se=overall_se,
            alpha=alpha,
            warnings=list(self.warnings),
            info={"aggregation": kind, "control": self.settings["control"], "reference_period": None},
            dof=None,
            title=msg(_AGG_TITLES[kind]),
        )
        self._agg_cache[key] = res
        return res

    def tidy(self) -> pd.DataFrame:
        """One row per ATT(g,t): term ``"ATT(g,t)"``, estimate, se, ci_low, ci_high, p, then n,
        vcov, cohort, time.

        Returns
        -------
        pandas.DataFrame
        """
        t = self.att_gt
        out = pd.DataFrame(
            {
                "term": [f"ATT({g},{tt})" for g, tt in zip(t["cohort"], t["time"])],
                "estimate": t["att"],
                "se": t["se"],
                "ci_low": t["ci_low"],
                "ci_high": t["ci_high"],
                "p": t["p"],
                "n": self.n,
                "vcov": self.settings["inference"],
                "cohort": t["cohort"],
                "time": t["time"],
            }
        )
        return out.reset_index(drop=True)

    def summary(self, lang: Lang = "zh") -> Summary:
        """Units, control group, the simple overall ATT, the pre-test and every ATT(g,t).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        simple = self.aggregate("simple")
        lines = [
            f"{text('models.label.units', lang)}: {self.n}",
            f"{text('models.label.control', lang)}: {self.settings['control']}",
            (f"{text('models.label.overall_simple', lang)}: {simple.overall:.4f} (SE {simple.overall_se:.4f})"),
        ]
        if self.pretest.p_value is not None and self.pretest.statistic is not None:
            lines.append(
                f"{text('models.label.pretest', lang)}: "
                f"W = {self.pretest.statistic:.3f}, df = {self.pretest.df}, p = {self.pretest.p_value:.4f}"
            )
        return Summary(text("models.title.cs_att_gt", lang), tuple(lines), self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    def plot(self, lang: Lang = "zh", *, title: str | None = None) -> Figure:
        """Event-time (dynamic) aggregation with CI band and treatment line.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
        title : str, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
        dyn = self.aggregate("dynamic")
        return event_plot(dyn.table, lang=lang, title=title if title is not None else text("models.title.cs", lang))


def staggered_did(
    data: pd.DataFrame,
    *,
    y: str,
    unit: str,
    time: str,
    cohort: str,
    control: Literal["never", "notyet"] = "never",
    covariates: list[str] | None = None,
    bootstrap: bool = False,
    seed: int | None = None,
    biters: int = 1000,
    est_method: Literal["dr", "reg", "ipw"] = "dr",
    base_period: Literal["varying", "universal"] = "varying",
    anticipation: int = 0,
    min_pre_periods: int = 1,
    alpha: float = 0.05,
    lang: object = None,
) -> DidResults:
    """Callaway–Sant'Anna (2021) group-time ATTs of an absorbing treatment (consortium membership).

    Parameters
    ----------
    data : pandas.DataFrame
        A balanced panel, one row per (unit, time).
    y, unit, time : str
        Outcome and panel keys (``time`` numeric).
    cohort : str
        First treated period on the ``time`` scale (numeric); 0 or missing = never treated.
    control : {"never", "notyet"}
        Never-treated units, or not-yet-treated as well.
    covariates : list of str, optional
        Time-invariant (base-period) covariates for conditional parallel trends.
    bootstrap : bool
        False → analytic SEs from the influence function (clustered by unit); True → multiplier
        bootstrap SEs (``biters`` draws, ``seed``).
    seed : int, optional
    biters : int
    est_method : {"dr", "reg", "ipw"}
    base_period : {"varying", "universal"}
    anticipation : int
        As R ``did``.
    min_pre_periods : int
        Cohorts with fewer periods before treatment (e.g. treated in the first period) are
        dropped with a warning stored in the result.
    alpha : float
    lang : optional
        Deprecated and ignored.

    Returns
    -------
    DidResults
    """
    deprecated_lang(lang, "staggered_did")

    check_choice("control", control, ("never", "notyet"))
    check_choice("est_method", est_method, ("dr", "reg", "ipw"))
    check_choice("base_period", base_period, ("varying", "universal"))
    covariates = list(covariates or [])
    notes: list[Message] = []
    model: Any = None
    native: Any = None  # the numpy path's result, when it gave one
    if not covariates and not bootstrap:  # the numpy path; None → csdid's route decides (and reports)
        from evalkit.models import did_fast

        ck.require_columns(data, [y, unit, time, cohort])
        ck.numeric(data, [y], "outcome")
        ck.numeric(data, [time, cohort], "time/cohort")
        with _quiet_seeded(seed) as caught:
            model = did_fast.fit(data, y=y, unit=unit, time=time, cohort=cohort, control=control,
                                 est_method=est_method, base_period=base_period, anticipation=anticipation,
                                 min_pre_periods=min_pre_periods, alpha=alpha, biters=biters)  # fmt: skip
        n_units = 0 if model is None else int(model.MP["n"])
        native = model
    if model is None:
        from csdid.att_gt import ATTgt

        df = _prepare_staggered(data, y, unit, time, cohort, covariates)
        ck.numeric(df, covariates, "covariate")
        df = _drop_short_cohorts(df, time, cohort, max(1, min_pre_periods), notes)
        counts = df.groupby(unit).size()
        if counts.nunique() > 1:
            raise ModelInputError(
                f"Unbalanced panel: units have between {counts.min()} and {counts.max()} "
                f"periods. staggered_did needs every unit in every period; drop incomplete "
                f"units first."
            )
        never = (df[cohort] == 0).sum()
        if control == "never" and never == 0:
            raise ModelInputError("No never-treated units to compare with; use control='notyet'.")
        if (df[cohort] > 0).sum() == 0:
            raise ModelInputError(f"No treated units: every {cohort!r} value is 0 or missing.")
        n_units = int(df[unit].nunique())
        # csdid wants numeric ids and plain column names.
        work = pd.DataFrame(
            {
                "y": df[y].astype(float).to_numpy(),
                "t": df[time].to_numpy(),
                "g": df[cohort].to_numpy(),
                "id": pd.factorize(df[unit])[0] + 1,
            }
        )
        for i, c in enumerate(covariates):
            work[f"x{i}"] = df[c].astype(float).to_numpy()
        xformla = "y ~ " + " + ".join(f"x{i}" for i in range(len(covariates))) if covariates else None
        with _quiet_seeded(seed) as caught:
            try:
                model = ATTgt(
                    yname="y",
                    tname="t",
                    idname="id",
                    gname="g",
                    data=work,
                    xformla=xformla,
                    control_group=["nevertreated" if control == "never" else "notyettreated"],
                    anticipation=anticipation,
                    biters=biters,
                    alp=alpha,
                    cband=False,
                )
                model.fit(est_method=est_method, base_period=base_period, bstrap=bool(bootstrap))
            except ModelInputError:
                raise
            except Exception as exc:
                raise ModelInputError(
                    f"Callaway–Sant'Anna estimation failed: {exc}. Check that every cohort "
                    f"has comparison units in each period."
                ) from exc
    notes += [from_library(t) for t in sorted({str(w.message) for w in caught})]
    r = model.results
    att = pd.DataFrame(
        {
            "cohort": np.asarray(r["group"]),
            "time": np.asarray(r["year"]),
            "att": np.asarray(r["att"], dtype=float),
            "se": np.asarray(r["se"], dtype=float),
        }
    )
    ct = coef_table(att["att"], att["se"], alpha=alpha)
    att = pd.concat([att, ct[["ci_low", "ci_high", "p"]].set_axis(att.index)], axis=1)
    att["post"] = att["time"] >= att["cohort"]
    W, pval = model.MP.get("W"), model.MP.get("Wpval")
    n_pre = int(((att["time"] < att["cohort"] - anticipation) & att["se"].notna()).sum())
    pre = Pretest(None if W is None else float(W), None if pval is None else float(pval), n_pre)
    inference = f"multiplier bootstrap ({biters} draws, seed {seed})" if bootstrap else "analytic (influence function)"
    settings = {
        "control": control,
        "alpha": alpha,
        "seed": seed,
        "inference": inference,
        "est_method": est_method,
        "base_period": base_period,
        "covariates": covariates,
        # which code estimated ATT(g,t): evalkit's numpy path (R did's rules, csdid's aggregation) or csdid
        "engine": "csdid" if native is None else "evalkit",
    }
    return DidResults(att_gt=att, pretest=pre, n=n_units, settings=settings, warnings=notes, _model=model)


def event_study(
    data: pd.DataFrame,
    *,
    y: str,
    unit: str,
    time: str,
    cohort: str,
    method: Literal["sunab", "twfe"] = "sunab",
    reference: int = -1,
    vcov: VcovSpec | None = None,
    G_df: Literal["min", "conventional"] = "min",
    alpha: float = 0.05,
    cluster: str | None = None,
    lang: object = None,
) -> Results:
    """Dynamic effects by event time e = time − cohort, with unit and period fixed effects.

    Parameters
    ----------
    data : pandas.DataFrame
        A balanced panel.
    y, unit, time, cohort : str
        As :func:`staggered_did`.
    method : {"sunab", "twfe"}
        ``"sunab"``: Sun & Abraham (2021) interaction-weighted estimator — cohort × event-time
        dummies (never-treated units, or else the last-treated cohort, as the control), then each
        event time's effect is the average of its cohort effects weighted by cohort size (weights
        treated as fixed, as fixest ``sunab``). ``"twfe"``: one dummy per event time pooled across
        cohorts (the conventional, possibly contaminated, event study) for comparison.
    reference : int
        The omitted event time.
    vcov : str or dict, optional
        The shared vocabulary of :func:`~evalkit.models.ols` except HC2/HC3; default
        ``{"CRV1": unit}``. The bare strings ``"CRV1"``/``"CRV3"`` are deprecated.
    G_df : {"min", "conventional"}
        Two-way clustering factor.
    alpha : float
    cluster : str, optional
        Deprecated alias of ``vcov={"CRV1": cluster}``.
    lang : optional
        Deprecated and ignored.

    Returns
    -------
    Results
        ``kind="event"``; the pre-period coefficients are jointly tested (Wald χ², in
        ``info["pretest"]``, a :class:`Pretest`). Clustered: t(G−1) inference.
    """
    pf = ck.import_pyfixest()

    deprecated_lang(lang, "event_study")
    check_choice("method", method, ("sunab", "twfe"))
    check_choice("G_df", G_df, ("min", "conventional"))
    kind, clusters = parse_vcov(resolve_cluster_alias(vcov, cluster, unit, "event_study"))
    if kind in ("HC2", "HC3"):
        raise ValueError(
            "event_study supports vcov 'iid', 'HC0', 'HC1' and cluster-robust {'CRV1'/'CRV3': ...}; "
            "HC2/HC3 need the leverage of every fixed effect."
        )
    df = _prepare_staggered(data, y, unit, time, cohort, [c for c in clusters if c != unit])
    notes: list[Message] = []
    df = _drop_short_cohorts(df, time, cohort, 1, notes)
    if (df[cohort] == 0).sum() == 0:
        last = df[cohort].max()
        notes.append(msg("models.last_cohort_control", cohort=last))
        df = df.loc[df[time] < last].assign(**{cohort: df[cohort].where(df[cohort] != last, 0)})
    g = df[cohort].to_numpy()
    e = np.where(g > 0, df[time].to_numpy() - g, np.nan)
    work = pd.DataFrame(
        {"y": df[y].astype(float).to_numpy(), "u": pd.factorize(df[unit])[0], "t": pd.factorize(df[time])[0]}
    )
    cl_names = [f"cl{i}" for i in range(len(clusters))]
    for name, c in zip(cl_names, clusters):
        work[name] = pd.factorize(df[c])[0]
    event_times = sorted(int(v) for v in np.unique(e[~np.isnan(e)]) if v != reference)
    if reference not in set(np.unique(e[~np.isnan(e)]).astype(int)):
        raise ModelInputError(f"No treated unit is observed at the reference event time {reference}.")
    cols: dict[str, np.ndarray] = {}
    if method == "twfe":
        keys: list[tuple[Any, int]] = [(None, k) for k in event_times]
        for k in event_times:
            cols[f"e{k}".replace("-", "m")] = (e == k).astype(float)
    else:
        keys = []
        for c in sorted(set(g[g > 0])):
            for k in event_times:
                mask = (g == c) & (e == k)
                if mask.any():
                    keys.append((c, k))
                    cols[f"g{int(c)}e{k}".replace("-", "m")] = mask.astype(float)
    names = list(cols)
    work = pd.concat([work, pd.DataFrame(cols, index=work.index)], axis=1)
    pf_vcov, ssc = pyfixest_vcov(pf, kind, cl_names, G_df)
    kwargs: dict[str, Any] = {"vcov": pf_vcov} if ssc is None else {"vcov": pf_vcov, "ssc": ssc}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols(f"y ~ {' + '.join(names)} | u + t", work, **kwargs)
    dropped = [str(v) for v in (getattr(m, "_collin_vars", []) or [])]
    if dropped:
        notes.append(msg("models.event_terms_dropped", terms=", ".join(dropped)))
    beta = m.coef()
    V = pd.DataFrame(np.asarray(m._vcov), index=beta.index, columns=beta.index)
    counts = [ck.n_clusters(work, c) for c in cl_names]
    G = min(counts) if counts else None
    if kind == "CRV3" and G is not None:
        V = V * (G - 1) / G  # MacKinnon–Nielsen–Webb scaling of the unadjusted jackknife
    dof = float(G - 1) if G is not None else float(m._df_t)
    if method == "twfe":
        idx = [k for (_, k), nm in zip(keys, names) if nm in beta.index]
        W = np.eye(len(idx))
        terms = [nm for nm in names if nm in beta.index]
    else:
        size = df.groupby(unit)[cohort].first().value_counts()
        terms = [nm for nm in names if nm in beta.index]
        key_of = dict(zip(names, keys))
        idx = sorted({key_of[nm][1] for nm in terms})
        W = np.zeros((len(idx), len(terms)))
        for j, nm in enumerate(terms):
            c, k = key_of[nm]
            W[idx.index(k), j] = size[c]
        W = W / W.sum(axis=1, keepdims=True)
    b = W @ beta[terms].to_numpy()
    cov = W @ V.loc[terms, terms].to_numpy() @ W.T
    table = coef_table(b, np.sqrt(np.diag(cov)), df=dof, alpha=alpha, index=idx)
    pre = [i for i, k in enumerate(idx) if k < 0]
    pretest = Pretest(None, None, len(pre))
    if pre:
        from scipy.stats import chi2

        bp, Vp = b[pre], cov[np.ix_(pre, pre)]
        stat = float(bp @ np.linalg.pinv(Vp) @ bp)
        pretest = Pretest(stat, float(chi2.sf(stat, len(pre))), len(pre))
    method_name = {"sunab": "Sun–Abraham interaction-weighted event study", "twfe": "TWFE event study"}[method]
    return Results(
        table=table,
        method=method_name,
        vcov=vcov_label(kind, clusters),
        n=int(m._N),
        kind="event",
        alpha=alpha,
        warnings=notes,
        dof=dof,
        title=msg("models.title.sunab" if method == "sunab" else "models.title.es_twfe"),
        info={
            "reference_period": reference,
            "pretest": pretest,
            "pretest_p": None if pretest.p_value is None else round(pretest.p_value, 4),
            "clusters": G,
            "vcov_note": vcov_note(kind, clusters, G_df, G=counts),
        },
    )

"""The one ``vcov`` vocabulary of :mod:`evalkit.models` and its small-sample conventions.

Variance conventions (they change numbers, so they are named; ``results.info["vcov_note"]``
carries the one used, as a message, for a methods appendix):

* ``"iid"``: classical OLS variance, σ² = RSS / (n − k − absorbed FE levels) — as fixest,
  Stata ``xtreg, fe`` and R ``plm`` within. For ``glm`` the inverse of the **observed**
  information (Stata, statsmodels' discrete ``Logit``/``Probit``); ``information="expected"``
  gives the inverse expected (Fisher) information instead (R ``glm``, statsmodels ``GLM``). The
  two coincide for canonical links (logit, Poisson, Gaussian).
* ``"HC0"``: White's sandwich without small-sample factor; ``"HC1"``: × n/(n−k) (fixest
  "hetero"); ``"HC2"`` / ``"HC3"``: leverage-adjusted (MacKinnon–White, no n/(n−k) factor). With
  absorbed fixed effects HC2/HC3 need the leverage of the fixed effects too, so the fixed effects
  are estimated as dummies. ``glm`` offers HC0 and HC1.
* ``{"CRV1": "g"}``: cluster-robust, factor G/(G−1) · (n−1)/(n−k) (fixest, Stata, statsmodels),
  fixed effects nested in the cluster counted as one parameter in k.
* ``{"CRV1": "g+h"}``: two-way (multiway) clustering, V = V_g + V_h − V_{g∩h} (Cameron, Gelbach &
  Miller 2011), each component with the (n−1)/(n−k) factor and a cluster factor chosen by
  ``G_df`` (as fixest / pyfixest ``ssc(G_df=...)``):

  - ``G_df="min"`` (default in ``ols``, ``glm`` and ``twfe``): every component × G_min/(G_min−1),
    G_min the smaller number of clusters — fixest's and reghdfe's rule;
  - ``G_df="conventional"``: each component × its own G_j/(G_j−1) — Cameron–Gelbach–Miller,
    Stata ``cgmreg``, R ``sandwich::vcovCL(multi0 = FALSE)``, statsmodels
    ``cov_type="cluster"`` with two group columns, Petersen's (2009) published benchmarks.

* ``{"CRV3": "g"}``: the cluster jackknife of MacKinnon, Nielsen & Webb (2023),
  (G−1)/G · Σ_g (β̂₋g − β̂)(β̂₋g − β̂)ᵀ (pyfixest's own CRV3 multiplies by further small-sample
  factors; evalkit removes them).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from evalkit.errors import check_choice
from evalkit.i18n import Message
from evalkit.models.messages import msg
from evalkit.models.results import coef_table


HC_TYPES = ("iid", "HC0", "HC1", "HC2", "HC3")
CLUSTER_TYPES = ("CRV1", "CRV3")
G_DF = ("min", "conventional")
VcovSpec = str | dict[str, str]


def parse_vcov(vcov: VcovSpec) -> tuple[str, list[str]]:
    """Read a ``vcov`` of the shared vocabulary.

    Parameters
    ----------
    vcov : str or dict
        ``"iid"``, ``"HC0"``–``"HC3"``, ``{"CRV1": "col"}``, ``{"CRV1": "a+b"}`` or ``{"CRV3": "col"}``.

    Returns
    -------
    tuple
        (type, cluster columns); type in ``HC_TYPES`` or ``CLUSTER_TYPES``.
    """
    if isinstance(vcov, str):
        check_choice("vcov", vcov, HC_TYPES + ("{'CRV1': 'col'}", "{'CRV1': 'col1+col2'}", "{'CRV3': 'col'}"))
        return vcov, []
    if isinstance(vcov, dict) and len(vcov) == 1:
        kind, cols = next(iter(vcov.items()))
        check_choice("vcov type", kind, CLUSTER_TYPES)
        clusters = [c.strip() for c in str(cols).split("+") if c.strip()]
        if not clusters or len(clusters) > 2 or (kind == "CRV3" and len(clusters) > 1):
            raise ValueError(f"vcov={vcov!r}: give one cluster column (or two joined by '+' for CRV1).")
        return kind, clusters
    raise ValueError(
        f"vcov={vcov!r} is not allowed; use one of {HC_TYPES} or a dict such as "
        "{'CRV1': 'unit'}, {'CRV1': 'unit+year'}, {'CRV3': 'unit'}."
    )


def vcov_label(kind: str, clusters: list[str]) -> str:
    """``"HC1"``, ``"CRV1(unit)"``, ``"CRV1(firm+year)"`` …"""
    return f"{kind}({'+'.join(clusters)})" if clusters else kind


def vcov_note(
    kind: str,
    clusters: list[str],
    G_df: str,
    *,
    G: list[int] | None = None,
    model: Literal["ols", "glm"] = "ols",
    information: str = "observed",
) -> Message:
    """The variance convention as a message (for a methods appendix).

    Parameters
    ----------
    kind : str
        A ``parse_vcov`` type.
    clusters : list of str
        Cluster columns.
    G_df : {"min", "conventional"}
    G : list of int, optional
        Number of clusters per column.
    model : {"ols", "glm"}
    information : {"observed", "expected"}
        ``glm`` iid only.

    Returns
    -------
    evalkit.i18n.Message
    """
    counts = ", ".join(f"{c}: {g}" for c, g in zip(clusters, G or []))
    if kind == "iid":
        return msg("models.vcov.iid_glm_" + information) if model == "glm" else msg("models.vcov.iid")
    if kind in ("HC0", "HC1", "HC2", "HC3"):
        return msg(f"models.vcov.{kind.lower()}")
    if kind == "CRV3":
        return msg("models.vcov.crv3", clusters="+".join(clusters), counts=counts)
    if len(clusters) == 1:
        return msg("models.vcov.crv1", clusters=clusters[0], counts=counts)
    return msg(f"models.vcov.crv1_twoway_{G_df}", clusters="+".join(clusters), counts=counts)


def pyfixest_vcov(pf: Any, kind: str, clusters: list[str], G_df: str) -> tuple[Any, Any]:
    """Our vocabulary → (pyfixest vcov, ssc or None)."""
    if kind == "iid":
        return "iid", None
    if kind == "HC0":
        return "hetero", pf.ssc(k_adj=False, G_adj=False)
    if kind == "HC1":
        return "hetero", None
    if kind in ("HC2", "HC3"):
        # MacKinnon–White HC2/HC3 carry no n/(n−k) factor (statsmodels, R sandwich).
        return kind, pf.ssc(k_adj=False, G_adj=False)
    if kind == "CRV3":
        return {kind: clusters[0]}, pf.ssc(k_adj=False, G_adj=False)
    return {kind: "+".join(clusters)}, pf.ssc(G_df=G_df)


def mnw_crv3(table: pd.DataFrame, G: int, alpha: float) -> pd.DataFrame:
    """Scale an unadjusted jackknife (Σ of squared deviations) to (G−1)/G · Σ; t(G−1) inference."""
    se = table["se"] * np.sqrt((G - 1) / G)
    return coef_table(table["estimate"], se, df=G - 1, alpha=alpha, index=table.index)


def resolve_cluster_alias(vcov: VcovSpec | None, cluster: str | None, default: str, where: str) -> VcovSpec:
    """Map the deprecated spellings of a panel estimator to the shared vocabulary.

    Parameters
    ----------
    vcov : str, dict or None
        None → ``{"CRV1": default}``. The bare strings ``"CRV1"`` / ``"CRV3"`` (deprecated) →
        clustered by ``cluster`` or ``default``.
    cluster : str or None
        Deprecated alias: ``cluster="g"`` → ``{"CRV1": "g"}`` (DeprecationWarning).
    default : str
        The default cluster column (the unit).
    where : str
        Estimator name for the warning.

    Returns
    -------
    str or dict
        A ``vcov`` in the shared vocabulary.
    """
    if cluster is not None:
        warnings.warn(
            f"{where}(cluster=...) is deprecated; use vcov={{'CRV1': {cluster!r}}}.", DeprecationWarning, stacklevel=3
        )
    if isinstance(vcov, str) and vcov in CLUSTER_TYPES:
        warnings.warn(
            f"{where}(vcov={vcov!r}) is deprecated; use vcov={{{vcov!r}: {(cluster or default)!r}}}.",
            DeprecationWarning,
            stacklevel=3,
        )
        return {vcov: cluster or default}
    if vcov is None:
        return {"CRV1": cluster or default}
    if cluster is not None:
        raise ValueError(
            f"{where}: give the cluster inside vcov (e.g. vcov={{'CRV1': {cluster!r}}}), "
            f"not both vcov={vcov!r} and cluster={cluster!r}."
        )
    return vcov


def glm_vcov(fitted: Any, kind: str, groups: list[pd.Series], G_df: str, information: str) -> np.ndarray:
    """Variance of a fitted statsmodels GLM under evalkit's conventions (module docstring)."""
    model, beta = fitted.model, fitted.params.to_numpy()
    n, k = model.exog.shape
    if kind == "iid":
        if information == "expected":
            return np.asarray(fitted.cov_params(), dtype=float)
        H = model.hessian(beta, scale=fitted.scale, observed=True)
        return np.asarray(np.linalg.inv(-H), dtype=float)
    # Sandwich with scale 1: the scale cancels between bread and meat.
    H = model.hessian(beta, scale=1.0, observed=information == "observed")
    bread = np.linalg.inv(-np.asarray(H, dtype=float))
    scores = np.asarray(model.score_obs(beta, scale=1.0), dtype=float)
    if kind in ("HC0", "HC1"):
        V = bread @ (scores.T @ scores) @ bread
        return V * (n / (n - k) if kind == "HC1" else 1.0)
    return cluster_sandwich(bread, scores, groups, G_df, n=n, k=k)


def cluster_sandwich(
    bread: np.ndarray,
    scores: np.ndarray,
    groups: list[pd.Series] | list[np.ndarray],
    G_df: str = "min",
    *,
    n: int,
    k: int,
) -> np.ndarray:
    """One- or two-way cluster-robust sandwich with evalkit's small-sample factors.

    Parameters
    ----------
    bread : ndarray (k, k)
        Inverse information.
    scores : ndarray (n, k)
        Per-observation scores.
    groups : list of array-like
        One or two cluster columns.
    G_df : {"min", "conventional"}
        Two-way factor: G_min/(G_min−1) on every component, or each its own G/(G−1).
    n, k : int
        Observations and parameters for the (n−1)/(n−k) factor.

    Returns
    -------
    ndarray (k, k)
    """
    codes = [pd.factorize(pd.Series(np.asarray(g)))[0] for g in groups]
    parts: list[tuple[int, np.ndarray]] = [(1, c) for c in codes]
    if len(codes) == 2:
        inter = pd.factorize(pd.Series(codes[0]).astype(str) + "_" + pd.Series(codes[1]).astype(str))[0]
        parts.append((-1, inter))
    g_min = min(int(c.max()) + 1 for c in codes)
    V = np.zeros((scores.shape[1], scores.shape[1]))
    for sign, c in parts:
        G = int(c.max()) + 1
        summed = np.zeros((G, scores.shape[1]))
        np.add.at(summed, c, scores)
        g_fac = g_min if G_df == "min" else G
        V += sign * (g_fac / (g_fac - 1)) * (bread @ (summed.T @ summed) @ bread)
    return V * (n - 1) / (n - k)

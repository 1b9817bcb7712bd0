"""Event-study inputs of the sensitivity tools (:mod:`evalkit.models.sensitivity`,
:mod:`evalkit.models.pretrends`): β̂ and Σ of the dynamic aggregation of a
:class:`~evalkit.models.did.DidResults` (Σ = ψ'ψ / n² from csdid's influence function) or of raw
arrays ``(beta, sigma, n_pre, n_post)``, validated once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError


@dataclass(frozen=True)
class EventEstimates:
    """Event-study coefficients in time order (pre-periods first, reference period removed)."""

    beta: np.ndarray
    sigma: np.ndarray
    n_pre: int
    n_post: int
    event_times: tuple[int, ...]


def event_vcov(results) -> pd.DataFrame:
    """Covariance matrix of the event-time (dynamic) estimates of a ``DidResults``.

    Parameters
    ----------
    results : DidResults
        Output of :func:`evalkit.models.staggered_did`.

    Returns
    -------
    pandas.DataFrame
        Σ = ψ'ψ / n², indexed by event time on both axes, where ψ (n × E) is csdid's influence
        function of the dynamic aggregation. Its diagonal reproduces the analytic standard errors
        squared. The reference period (universal base period) has zero variance.
    """
    from evalkit.models.did import DidResults, _quiet_seeded

    if not isinstance(results, DidResults) or results._model is None:
        raise ModelInputError("event_vcov needs the DidResults returned by staggered_did.")
    with _quiet_seeded(results.settings.get("seed")):
        results._model.aggte(typec="dynamic")
    agg = results._model.atte
    psi = np.asarray(agg["inf_function"]["dynamic_inf_func_e"], dtype=float)
    e = [int(v) for v in np.asarray(agg["egt"]).reshape(-1)]
    V = psi.T @ psi / psi.shape[0] ** 2
    return pd.DataFrame(V, index=pd.Index(e, name="event_time"), columns=e)


def event_estimates(obj, n_pre: int | None = None, n_post: int | None = None) -> EventEstimates:
    """β̂ and Σ of an event study from a ``DidResults`` or ``(beta, sigma, n_pre, n_post)``.

    Parameters
    ----------
    obj : DidResults or tuple
        A ``DidResults`` (dynamic aggregation; event times < 0 are pre-periods, a reference
        period with no variance is dropped) or ``(beta, sigma)`` / ``(beta, sigma, n_pre,
        n_post)`` with pre-period coefficients first.
    n_pre, n_post : int, optional
        Numbers of pre- and post-period coefficients (raw arrays only).

    Returns
    -------
    EventEstimates
    """
    from evalkit.models.did import DidResults

    if isinstance(obj, DidResults):
        V = event_vcov(obj)
        dyn = obj.aggregate("dynamic").table
        e = np.asarray(V.index, dtype=int)
        b = dyn.loc[e, "estimate"].to_numpy(dtype=float)
        keep = np.diag(V.to_numpy()) > 0
        e, b = e[keep], b[keep]
        S = V.to_numpy()[np.ix_(keep, keep)]
        return _validated(b, S, int((e < 0).sum()), int((e >= 0).sum()), tuple(int(x) for x in e))
    if isinstance(obj, (tuple, list)) and len(obj) in (2, 4):
        beta, sigma = obj[0], obj[1]
        if len(obj) == 4:
            n_pre, n_post = obj[2], obj[3]
    else:
        raise ModelInputError(
            "Pass a DidResults or a tuple (beta, sigma, n_pre, n_post) of event-study "
            "coefficients (pre-periods first) and their covariance matrix."
        )
    beta = np.asarray(beta, dtype=float).reshape(-1)
    if n_pre is None or n_post is None:
        raise ModelInputError(
            "With raw arrays give n_pre and n_post (numbers of pre- and post-period "
            "coefficients, reference period excluded)."
        )
    times = tuple(range(-int(n_pre), 0)) + tuple(range(int(n_post)))
    return _validated(beta, np.asarray(sigma, dtype=float), int(n_pre), int(n_post), times)


def _validated(beta, sigma, n_pre, n_post, times) -> EventEstimates:
    k = beta.size
    if sigma.shape != (k, k):
        raise ModelInputError(f"sigma must be {k}×{k} to match beta (got {sigma.shape}).")
    if n_pre < 1 or n_post < 1 or n_pre + n_post != k:
        raise ModelInputError(f"n_pre ({n_pre}) + n_post ({n_post}) must equal len(beta) ({k}), each ≥ 1.")
    if not (np.isfinite(beta).all() and np.isfinite(sigma).all()):
        raise ModelInputError(
            "beta and sigma must be finite (drop the reference period, whose variance is zero or missing)."
        )
    if not np.allclose(sigma, sigma.T, atol=1e-12 * max(1.0, np.abs(sigma).max())):
        raise ModelInputError("sigma is not symmetric.")
    if np.linalg.eigvalsh(sigma).min() < -1e-10 * max(1.0, np.abs(sigma).max()):
        raise ModelInputError("sigma is not positive semi-definite.")
    return EventEstimates(beta, sigma, n_pre, n_post, times)

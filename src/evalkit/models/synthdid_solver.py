"""The weights solver of :mod:`evalkit.models.synthdid`: Frank–Wolfe on the simplex with synthdid's
regularisation, sparsification and stopping rule, batched over many problems at once (the
standard-error replications solve hundreds of blocks in one call). Conventions are stated in the
docstring of :mod:`evalkit.models.synthdid`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.errors import ModelInputError


@dataclass(frozen=True)
class Opts:
    """Solver settings of one block, carried unchanged into the SE replications (as R's ``opts``)."""

    zeta_omega: float
    zeta_lambda: float
    min_decrease: float
    omega_intercept: bool
    lambda_intercept: bool
    update_omega: bool
    update_lambda: bool
    max_iter: int = 10_000
    max_iter_pre_sparsify: int = 100


@dataclass
class Block:
    """One treated cohort against the never-treated units: Y has controls first, then treated."""

    start: object
    Y: np.ndarray
    N0: int
    T0: int
    controls: list
    treated: list
    periods: list
    opts: Opts
    omega: np.ndarray
    lam: np.ndarray
    estimate: float
    se: float | None = None
    replicates: np.ndarray | None = None

    @property
    def N1(self) -> int:
        return self.Y.shape[0] - self.N0

    @property
    def T1(self) -> int:
        return self.Y.shape[1] - self.T0


# -- solver -------------------------------------------------------------------------------------
def _sparsify(x: np.ndarray) -> np.ndarray:
    """synthdid's ``sparsify_function`` row-wise: weights ≤ max/4 → 0, renormalise."""
    x = np.where(x <= x.max(axis=1, keepdims=True) / 4, 0.0, x)
    return x / x.sum(axis=1, keepdims=True)


def sum_normalize(x: np.ndarray) -> np.ndarray:
    s = x.sum()
    return x / s if s != 0 else np.full(len(x), 1.0 / len(x))


def _fw(
    A: np.ndarray,
    b: np.ndarray,
    row_mask: np.ndarray,
    col_mask: np.ndarray,
    zeta: float,
    intercept: bool,
    x0: np.ndarray,
    min_decrease: float,
    max_iter: int,
) -> np.ndarray:
    """Frank–Wolfe for min_x ‖A x − b‖²/m + ζ²‖x‖² on the simplex (synthdid ``sc.weight.fw``),
    for a batch of R problems at once: A (R, m, n), b (R, m), padded rows/columns masked out.
    Each problem stops on its own criterion, exactly as if solved alone."""
    A = A.astype(float, copy=True)
    b = b.astype(float, copy=True)
    rm = row_mask.astype(float)
    nrows = rm.sum(axis=1)
    if intercept:
        A = (A - (A * rm[:, :, None]).sum(axis=1, keepdims=True) / nrows[:, None, None]) * rm[:, :, None]
        b = (b - (b * rm).sum(axis=1, keepdims=True) / nrows[:, None]) * rm
    eta = nrows * zeta**2
    x = np.array(x0, dtype=float, copy=True)
    blocked = np.where(col_mask, 0.0, np.inf)
    threshold = min_decrease**2
    # Working set: the problems still iterating.
    idx = np.arange(len(x))
    Aw, bw, xw, ew, nw, blk = A, b, x.copy(), eta, nrows, blocked
    prev = np.full(len(x), np.nan)
    t = 0
    Ax = np.matmul(Aw, xw[:, :, None])[:, :, 0]
    while idx.size and t < max_iter:
        t += 1
        rows = np.arange(len(idx))
        if t % 64 == 0:  # A·x is carried forward below; recomputed now and then so rounding cannot build up
            Ax = np.matmul(Aw, xw[:, :, None])[:, :, 0]
        half_grad = np.matmul((Ax - bw)[:, None, :], Aw)[:, 0, :] + ew[:, None] * xw
        i = np.argmin(half_grad + blk, axis=1)
        dx = -xw
        dx[rows, i] += 1.0
        d_err = Aw[rows, :, i] - Ax  # A·dx, as A·e_i − A·x
        num = -(half_grad * dx).sum(axis=1)
        den = (d_err**2).sum(axis=1) + ew * (dx**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(den > 0, num / den, 0.0)
        step = np.clip(np.nan_to_num(step, nan=0.0), 0.0, 1.0)
        xw = xw + step[:, None] * dx
        Ax = Ax + step[:, None] * d_err  # A·x_new = A·x + step·A·dx, without another product
        err = Ax - bw
        val = zeta**2 * (xw**2).sum(axis=1) + (err**2).sum(axis=1) / nw
        going = np.ones(len(idx), dtype=bool) if t < 2 else (prev[idx] - val) > threshold
        prev[idx] = val
        if not going.all():  # finished problems leave the working set
            x[idx[~going]] = xw[~going]
            Ax = Ax[going]
            idx, Aw, bw, xw, ew, nw, blk = (
                idx[going],
                Aw[going],
                bw[going],
                xw[going],
                ew[going],
                nw[going],
                blk[going],
            )
    x[idx] = xw
    return x


def _fw_sparsified(A, b, row_mask, col_mask, zeta, intercept, x0, opts: Opts) -> np.ndarray:
    first = _fw(A, b, row_mask, col_mask, zeta, intercept, x0, opts.min_decrease, opts.max_iter_pre_sparsify)
    return _fw(A, b, row_mask, col_mask, zeta, intercept, _sparsify(first), opts.min_decrease, opts.max_iter)


def _collapse(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """(N0+1) × (T0+1): controls' pre-periods and post mean; last row the treated means."""
    co, tr = Y[:N0], Y[N0:]
    top = np.column_stack([co[:, :T0], co[:, T0:].mean(axis=1)])
    bottom = np.append(tr[:, :T0].mean(axis=0), tr[:, T0:].mean())
    return np.vstack([top, bottom])


def estimate_many(
    Ys: list[np.ndarray], N0s: list[int], T0: int, opts: Opts, omega0: list[np.ndarray], lambda0: np.ndarray
) -> tuple[np.ndarray, list, np.ndarray]:
    """Estimate R blocks (same periods, own units) in one batch → (taus, omegas, lambdas)."""
    R = len(Ys)
    n0max = max(N0s)
    Ycs = [_collapse(Y, n0, T0) for Y, n0 in zip(Ys, N0s)]
    lam = np.array(lambda0, dtype=float, copy=True).reshape(R, T0)
    if opts.update_lambda:
        A = np.zeros((R, n0max, T0))
        b = np.zeros((R, n0max))
        rmask = np.zeros((R, n0max), dtype=bool)
        for r, (Yc, n0) in enumerate(zip(Ycs, N0s)):
            A[r, :n0] = Yc[:n0, :T0]
            b[r, :n0] = Yc[:n0, T0]
            rmask[r, :n0] = True
        lam = _fw_sparsified(
            A, b, rmask, np.ones((R, T0), dtype=bool), opts.zeta_lambda, opts.lambda_intercept, lam, opts
        )
    om = np.zeros((R, n0max))
    for r, (w, n0) in enumerate(zip(omega0, N0s)):
        om[r, :n0] = w
    if opts.update_omega:
        A = np.zeros((R, T0, n0max))
        b = np.zeros((R, T0))
        cmask = np.zeros((R, n0max), dtype=bool)
        for r, (Yc, n0) in enumerate(zip(Ycs, N0s)):
            A[r, :, :n0] = Yc[:n0, :T0].T
            b[r] = Yc[n0, :T0]
            cmask[r, :n0] = True
        om = _fw_sparsified(A, b, np.ones((R, T0), dtype=bool), cmask, opts.zeta_omega, opts.omega_intercept, om, opts)
    taus = np.empty(R)
    omegas = []
    for r, (Yc, n0) in enumerate(zip(Ycs, N0s)):
        gap = Yc[:, T0] - Yc[:, :T0] @ lam[r]
        w = om[r, :n0]
        taus[r] = gap[n0] - w @ gap[:n0]
        omegas.append(w)
    return taus, omegas, lam


def fit_block(Y: np.ndarray, N0: int, T0: int, method: str) -> tuple[float, np.ndarray, np.ndarray, Opts]:
    N1, T1 = Y.shape[0] - N0, Y.shape[1] - T0
    diffs = np.diff(Y[:N0, :T0], axis=1).ravel()
    noise = float(np.std(diffs, ddof=1)) if diffs.size > 1 else float("nan")
    if method != "did" and not np.isfinite(noise):
        raise ModelInputError(
            f"method={method!r} needs at least 2 pre-treatment periods (with at least 2 "
            f"first differences among the controls) to set its regularisation; this block "
            f"has {T0}. Use method='did' or a longer pre-period."
        )
    noise = noise if np.isfinite(noise) else 0.0
    if method == "sdid":
        opts = Opts(
            zeta_omega=(N1 * T1) ** 0.25 * noise,
            zeta_lambda=1e-6 * noise,
            min_decrease=1e-5 * noise,
            omega_intercept=True,
            lambda_intercept=True,
            update_omega=True,
            update_lambda=True,
        )
        omega0, lambda0 = np.full(N0, 1.0 / N0), np.full(T0, 1.0 / T0)
    elif method == "sc":
        opts = Opts(
            zeta_omega=1e-6 * noise,
            zeta_lambda=1e-6 * noise,
            min_decrease=1e-5 * noise,
            omega_intercept=False,
            lambda_intercept=True,
            update_omega=True,
            update_lambda=False,
        )
        omega0, lambda0 = np.full(N0, 1.0 / N0), np.zeros(T0)
    else:
        opts = Opts(
            zeta_omega=(N1 * T1) ** 0.25 * noise,
            zeta_lambda=1e-6 * noise,
            min_decrease=1e-5 * noise,
            omega_intercept=True,
            lambda_intercept=True,
            update_omega=False,
            update_lambda=False,
        )
        omega0, lambda0 = np.full(N0, 1.0 / N0), np.full(T0, 1.0 / T0)
    taus, omegas, lams = estimate_many([Y], [N0], T0, opts, [omega0], lambda0[None, :])
    return float(taus[0]), omegas[0], lams[0], opts

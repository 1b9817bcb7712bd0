"""Input checks shared by the estimators: each failure is a ``ModelInputError`` that names the
column and says what to do, raised before any library sees the data. Also the shared small
conventions: ``deprecated_lang`` (estimators know no language) and ``report_progress``."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import ModelInputError


def deprecated_lang(lang: object, where: str) -> None:
    """Warn (DeprecationWarning) when an estimator is given ``lang``; the value is ignored.

    Parameters
    ----------
    lang : object
        What the caller passed (None: nothing passed, no warning).
    where : str
        The estimator's name.
    """
    if lang is not None:
        warnings.warn(
            f"{where}(lang=...) is deprecated and ignored: estimators know no language. Pass "
            f"lang to the result's summary(), plot() or warning_texts() instead.",
            DeprecationWarning,
            stacklevel=3,
        )


def require_columns(data: pd.DataFrame, columns: Iterable[str], what: str = "the data") -> None:
    if not isinstance(data, pd.DataFrame):
        raise ModelInputError(f"Expected a pandas DataFrame for {what}, got {type(data).__name__}.")
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise ModelInputError(
            f"Column(s) {', '.join(map(repr, missing))} not found in {what}. Available columns: "
            f"{', '.join(map(str, data.columns[:30]))}{' …' if data.shape[1] > 30 else ''}."
        )


def numeric(data: pd.DataFrame, columns: Iterable[str], role: str) -> None:
    for c in columns:
        s = data[c]
        if pd.api.types.is_bool_dtype(s):
            continue
        if not pd.api.types.is_numeric_dtype(s):
            raise ModelInputError(
                f"The {role} column {c!r} is not numeric (dtype {s.dtype}). Convert it (e.g. "
                f"pd.to_numeric) or, for a categorical regressor, use C({c}) in a formula."
            )


def not_constant(data: pd.DataFrame, columns: Iterable[str]) -> None:
    for c in columns:
        s = pd.to_numeric(data[c], errors="coerce").dropna()
        if len(s) and s.min() == s.max():  # min/max: O(n) without hashing
            raise ModelInputError(
                f"Regressor {c!r} is constant ({s.iloc[0]!r}) in the estimation sample, so its "
                f"effect cannot be estimated. Drop it from the model."
            )


def unique_key(data: pd.DataFrame, keys: list[str], hint: str = "") -> None:
    """Refuse rows that repeat a combination of ``keys`` (ModelInputError naming examples)."""
    if data.empty:
        return
    codes = [pd.factorize(data[k])[0].astype(np.int64) for k in keys]
    combined = codes[0]
    for c in codes[1:]:
        combined = combined * (int(c.max()) + 1) + c
    ordered = np.sort(combined)  # a sort beats hashing 10^6 keys
    if not (ordered[1:] == ordered[:-1]).any():
        return
    dup = data.duplicated(keys, keep=False)
    if dup.any():
        example = data.loc[dup, keys].drop_duplicates().head(3).to_dict("records")
        raise ModelInputError(
            f"{int(dup.sum())} rows share a ({', '.join(keys)}) key, e.g. {example}. Each unit must "
            f"appear once per period: remove or merge the duplicates first (they are never merged "
            f"silently).{' ' + hint if hint else ''}"
        )


def n_clusters(data: pd.DataFrame, column: str) -> int:
    g = int(data[column].nunique(dropna=True))
    if g < 2:
        raise ModelInputError(
            f"Only {g} cluster in {column!r}: cluster-robust standard errors need at least 2 (and "
            f"about 30 or more for CRV1 to be reliable). Cluster on a coarser-grained column or use "
            f"vcov='HC1'."
        )
    return g


def period_index(values: pd.Series) -> pd.Series:
    """Integer index of each period in the sorted set of periods present (1-based)."""
    uniq = np.sort(pd.unique(values.dropna()))
    return pd.Series(np.searchsorted(uniq, values.to_numpy()) + 1, index=values.index)


def report_progress(progress: object, done: int, total: int, what: str) -> None:
    """Report progress of a long loop: None → silent; a callable → ``progress(done, total)``; an
    int k → a line on stderr every k steps and at the end."""
    if progress is None:
        return
    if callable(progress):
        progress(done, total)
    elif done % int(progress) == 0 or done == total:  # type: ignore[call-overload]
        print(f"{what}: {done}/{total}", file=sys.stderr, flush=True)


def import_pyfixest() -> Any:
    """pyfixest, imported without its side effect on logging.

    One of its modules (``estimation/models/feols_compressed_``, pyfixest 0.60) calls
    ``logging.basicConfig(level=INFO)`` when imported, after which every library's INFO records
    (matplotlib's among them) print into notebooks and rendered reviews. The root logger's level
    and handlers are put back as they were.
    """
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    import pyfixest
    import pyfixest.estimation.models.feols_compressed_  # noqa: F401  (the module that configures logging)

    root.setLevel(level)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    return pyfixest


def _denominator_crv1(self: Any) -> None:
    """wildboottest's CRV1 bootstrap denominator in numpy: the same sums as its
    ``WildboottestCL.get_denom`` (``Z = Cg·v − H·v``, ``denom = ssc·ΣZ²`` per draw), without the
    numba function that the library defines inside the method and so compiles again on every
    call (~0.65 s each; tests compare the two)."""
    if self.crv_type != "crv1":
        _ORIGINAL_DENOM[0](self)
        return
    import numpy as np

    left = [self.R @ self.tXXinv @ m @ self.tXXinv for m in self.tXgXg_list]
    H = np.array([row @ self.scores_mat for row in left]).reshape(self.G, self.G)
    v = np.asarray(self.v, dtype=float)
    z = np.asarray(self.Cg, dtype=float).reshape(-1, 1) * v - H @ v
    self.denom = self.ssc * np.einsum("gb,gb->b", z, z)


_ORIGINAL_DENOM: list[Any] = []


def fast_wild_bootstrap() -> None:
    """Replace wildboottest's per-call-compiled CRV1 denominator by :func:`_denominator_crv1`
    (once per process; wildboottest is pinned exactly in pyproject.toml)."""
    from wildboottest.wildboottest import WildboottestCL

    if not _ORIGINAL_DENOM:
        _ORIGINAL_DENOM.append(WildboottestCL.get_denom)
        WildboottestCL.get_denom = _denominator_crv1  # type: ignore[method-assign]

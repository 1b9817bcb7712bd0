"""The input limits: checked before a file is read (size, rows, columns) and on every number
(magnitude). Raise them with the environment variables named here."""

from __future__ import annotations

import os

from evalkit.errors import DataError, Problem

LIMITS = {
    "max_file_mb": ("EVALKIT_MAX_FILE_MB", 1024.0, "the size of one table file (MB; for an .xlsx, unpacked)"),
    "max_rows": ("EVALKIT_MAX_ROWS", 10_000_000, "the rows of one table"),
    "max_columns": ("EVALKIT_MAX_COLUMNS", 500, "the columns of one table"),
}
# Values whose magnitude exceeds this are refused (a typo, a unit error or an overflow to come);
# raise it with max_abs_value in dataset.yaml or the environment variable EVALKIT_MAX_ABS_VALUE.
DEFAULT_MAX_ABS_VALUE = 1e15


def limit(name: str) -> float:
    """The current value of one input limit (``max_file_mb``, ``max_rows``, ``max_columns``).

    Parameters
    ----------
    name : str
        A key of ``LIMITS``.

    Returns
    -------
    float
        The environment variable's value when set (``EVALKIT_MAX_FILE_MB``, ``EVALKIT_MAX_ROWS``,
        ``EVALKIT_MAX_COLUMNS``), else the default (1024 MB, 10 000 000 rows, 500 columns).
    """
    env, default, _ = LIMITS[name]
    raw = os.environ.get(env, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise DataError(
            [Problem(env, None, None, raw, f"the environment variable {env} must be a number")], "the environment"
        ) from None
    return value


def limit_rule(name: str, found: float) -> str | None:
    """The problem text when ``found`` (bytes for ``max_file_mb``, else a count) passes the limit
    ``name``; None within it."""
    env, _, what = LIMITS[name]
    cap = limit(name)
    if found <= (cap * 2**20 if name == "max_file_mb" else cap):
        return None
    shown = f"{found / 2**20:,.3g} MB" if name == "max_file_mb" else f"{int(found):,}"
    cap_shown = f"{cap:g} MB" if name == "max_file_mb" else f"{int(cap):,}"
    return (
        f"{shown} is more than the limit for {what}, {cap_shown}; the file is refused "
        f"before reading. If it is right, raise the limit: environment variable {env} (e.g. {env}="
        f"{cap * 4:g})"
    )


def max_abs_value_default() -> float:
    """The largest magnitude a number may have: ``EVALKIT_MAX_ABS_VALUE`` or 1e15."""
    try:
        return float(os.environ.get("EVALKIT_MAX_ABS_VALUE", "") or DEFAULT_MAX_ABS_VALUE)
    except ValueError:
        return DEFAULT_MAX_ABS_VALUE

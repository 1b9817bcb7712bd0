"""Privacy: small-cell suppression and a scan for graduate identifiers in rendered outputs.

Graduate-level records never appear in a report row by row. Any table computed from graduate
records shows a value only when it rests on at least ``min_cell`` graduates (default 5); smaller
cells are blanked and marked, so a reader sees that a value exists but not what it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

SUPPRESSED_MARK = "<5"  # replaced by f"<{min_cell}" at run time


def suppress_small_cells(
    table: pd.DataFrame,
    *,
    n_col: str = "n",
    value_cols: Sequence[str] | None = None,
    min_cell: int = 5,
) -> pd.DataFrame:
    """Blank ``value_cols`` (default: every numeric column except ``n_col``) where ``n_col`` < ``min_cell``.

    Returns a copy with a boolean column ``suppressed``; the count itself is replaced by the
    text ``"<min_cell"`` so neither the value nor the exact small count can be read off.
    """
    if min_cell < 1:
        raise ValueError("min_cell must be ≥ 1")
    if n_col not in table.columns:
        raise KeyError(f"suppress_small_cells needs the count column {n_col!r}")
    out = table.copy()
    small = out[n_col].fillna(0) < min_cell
    if value_cols is None:
        value_cols = [c for c in out.columns if c != n_col and pd.api.types.is_numeric_dtype(out[c])]
    for col in value_cols:
        out[col] = out[col].astype("float64").mask(small)
    out[n_col] = out[n_col].astype("object").mask(small, f"<{min_cell}")
    out["suppressed"] = small.to_numpy()
    return out


PERSON_TABLES = ("graduates",)


def gate_problems(problems: Iterable, *, min_cell: int = 5, rows: bool = True) -> pd.DataFrame:
    """Validation messages made safe to show: problems in person-level tables (graduate records)
    are reported only as counts per file, column and rule — no row, no value, no number from the
    message (:func:`rule_without_values`) — and a count below
    ``min_cell`` is shown as ``"<min_cell"``; other problems keep file, row, column and rule.
    File names are shown without folders. ``rows=False`` counts every problem per file, column
    and rule (for data re-validated in memory, whose row numbers are not the files' rows).
    Returns columns ``file, row, column, rule, count``."""
    out = []
    grouped: dict[tuple[str, str, str], int] = {}
    person: dict[tuple[str, str, str], int] = {}
    for pr in problems:
        name = Path(str(pr.file)).name.split(" (DataFrame)")[0]
        if not rows and not any(name.startswith(t) for t in PERSON_TABLES):
            key = (name, str(pr.column or "—"), str(pr.rule))
            grouped[key] = grouped.get(key, 0) + 1
            continue
        if any(name.startswith(t) or t in str(pr.file) for t in PERSON_TABLES):
            key = (name, str(pr.column or "—"), rule_without_values(pr.rule))
            person[key] = person.get(key, 0) + 1
        else:
            out.append(
                {
                    "file": name,
                    "row": "—" if pr.row is None else str(pr.row),
                    "column": str(pr.column or "—"),
                    "rule": str(pr.rule),
                    "count": "1",
                }
            )
    for (name, column, rule), n in grouped.items():
        out.append({"file": name, "row": "—", "column": column, "rule": rule, "count": str(n)})
    for (name, column, rule), n in person.items():
        out.append(
            {
                "file": name,
                "row": "—",
                "column": column,
                "rule": rule,
                "count": str(n) if n >= min_cell else f"<{min_cell}",
            }
        )
    return pd.DataFrame(out, columns=["file", "row", "column", "rule", "count"])


_DETAIL = re.compile(r"(?<![A-Za-z_])[-+]?\d[\d,.]*")


def rule_without_values(rule: object) -> str:
    """A validation message about person records without anything read off the records: the
    part after the first ``": "`` (the listed units, periods and counts) is dropped and every
    number left becomes ``#`` (``"… do not add up … in 1 unit-periods: C04 2025H1 (records 3, …)"``
    → ``"… do not add up … in # unit-periods"``). Names such as ``income_6m`` keep their digits."""
    text = str(rule).split(": ", 1)[0]
    return _DETAIL.sub("#", text)


_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def scan_for_identifiers(paths: Iterable[str | Path], identifiers: Iterable[object]) -> list[tuple[str, str]]:
    """Every (file, identifier) where an identifier occurs as a whole token in a file's text.

    Used on every rendered report against the graduate ids of the data: the result must be empty.
    """
    ids = {str(i) for i in identifiers if str(i)}
    hits: list[tuple[str, str]] = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        for token in set(_TOKEN.findall(text)) & ids:
            hits.append((str(path), token))
    return sorted(hits)

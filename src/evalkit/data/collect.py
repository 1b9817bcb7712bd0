"""``evalkit collect INBOX --out DATA``: the returned workbooks of the units, one dataset folder.

INBOX holds what the units sent back: their workbooks (``evalkit template --units``), CSV or
Parquet exports named for a table (``C01 graduates.parquet``, ``E07_panel.csv``), and optionally
the units list (``units.csv`` / ``单位.xlsx``: a units table, also ``--units``) and
``dataset.yaml`` (copied to DATA). Each return is read and checked; the returns are merged
table by table; the merged folder is validated like any dataset and every problem is reported
against the file and unit it came from (its own row numbers).

Rules: the same key (a unit and period, a graduate, a partnership, an evidence row) in two files
with different values is a **conflict**: both files are named, nothing is written, exit 2; the
same values twice are kept once. A unit of the list that sent nothing is **missing** (listed;
the consortium office, ``consortium``, is expected too). DATA is written only when it does not
exist or is empty, or with ``force`` (then the tables are written afresh from all returns, so a
second run with more returns adds them). The summary (one row per unit: returned, valid,
problems, missing) goes to ``DATA/collection/summary.csv`` and the terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data import messages as _messages  # noqa: F401 - registers the texts
from evalkit.data import schema
from evalkit.data.raw import Collector, RawTable
from evalkit.data.readers import META_FILES, TABLE_ORDER
from evalkit.data.unit_template import OFFICE, read_one
from evalkit.errors import DataError, EvalkitError, Problem
from evalkit.i18n import Lang, text

_DATA_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".parquet", ".pq")


class ConflictError(EvalkitError):
    """Two returns give different values for the same key."""

    hint = "What to do: keep the right file (or correct one of them) in the inbox and run `evalkit collect` again."


@dataclass
class Return:
    """One returned file: its tables as read (raw values, user-visible row numbers) and problems."""

    path: Path
    name: str
    unit_id: str | None
    raws: dict[str, RawTable]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Collection:
    """What :func:`collect` found: the returns, conflicts, the missing units and every problem."""

    returns: list[Return]
    roster: pd.DataFrame | None
    missing: list[str]
    conflicts: list[tuple[str, str, str, str]]  # table, key, file a, file b
    problems: list[Problem]  # mapped to the returned files
    summary: pd.DataFrame
    out: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.conflicts and not any(p.severity == "error" for p in self.problems)


def table_of_file(path: Path) -> str | None:
    """The table a CSV/Parquet export holds, from its name (``C01 graduates``, ``E07_panel``)."""
    whole = schema.table_for_name(path.stem)
    if whole:
        return whole
    for part in re.split(r"[\s_\-.]+", path.stem):
        table = schema.table_for_name(part) if part else None
        if table:
            return table
    return None


def _unit_of(raws: dict[str, RawTable]) -> str | None:
    for table, column in (("units", "unit_id"), ("panel", "unit_id"), ("graduates", "college_id")):
        raw = raws.get(table)
        if raw is not None and column in raw.data and len(raw.data):
            ids = raw.text(column)
            ids = ids[ids != ""]
            if len(ids):
                return str(ids.mode().iloc[0])
    if "partnerships" in raws and "college_id" in raws["partnerships"].data and len(raws["partnerships"].data):
        return str(raws["partnerships"].text("college_id").mode().iloc[0])
    return OFFICE if "evidence" in raws else None


def _is_roster(path: Path, inbox: Path) -> bool:
    return path.parent == inbox and path.suffix.lower() in _DATA_SUFFIXES and path.stem in schema.TABLE_ALIASES["units"]


def read_return(path: Path, lang: Lang = "en") -> Return:
    """Read one returned file and check what can be checked alone (the unit's own rows)."""
    c = Collector()
    found = read_one(path, None if path.suffix.lower() in (".xlsx", ".xlsm") else table_of_file(path), c)
    raws: dict[str, RawTable] = {}
    for one in found:
        if one.table in raws:
            c.add(path.name, None, None, one.table, text("collect.two_sheets", lang, table=one.table))
        else:
            raws[one.table] = one
    if not found and not c.problems:
        c.add(path.name, None, None, None, text("collect.no_table", lang), severity="warning")
    unit = _unit_of(raws)
    for table, column in (("panel", "unit_id"), ("graduates", "college_id"), ("partnerships", "college_id")):
        raw = raws.get(table)
        if raw is None or unit is None or column not in raw.data:
            continue
        ids = raw.text(column)
        c.rows(raw, (ids != unit).to_numpy(), column, ids.to_numpy(), text("collect.other_unit", lang, unit=unit))
    return Return(path, path.name, unit, raws, c.problems)


# ---------------------------------------------------------------------- merging
def _norm(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):.12g}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    text_ = str(value).strip()
    try:
        return f"{float(text_):.12g}" if text_ and text_[0] in "0123456789.-" else text_
    except ValueError:
        return text_


def _joined(frame: pd.DataFrame) -> pd.Series:
    """Each row's normalised cells joined into one string (keys and values compared as text)."""
    out = None
    for col in frame.columns:
        part = frame[col].map(_norm).astype(object)
        out = part if out is None else out + "\x1f" + part
    return out if out is not None else pd.Series("", index=frame.index)


def _plain_cell(value: object) -> object:
    if hasattr(value, "strftime") and not isinstance(value, str):
        return value.strftime("%Y-%m-%d")
    return value


def _merge(returns: list[Return], table: str) -> tuple[pd.DataFrame, list[tuple[str, int]], list]:
    """Rows of ``table`` from every return; the origin (file, row) of each merged row; conflicts."""
    frames, origin = [], []
    for r in returns:
        raw = r.raws.get(table)
        if raw is None or not len(raw.data):
            continue
        frame = raw.data.copy()
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].map(_plain_cell)
            elif pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = frame[col].dt.strftime("%Y-%m-%d")
        frames.append(frame)
        origin += [(r.name, int(row)) for row in raw.rows]
    if not frames:
        return pd.DataFrame(), [], []
    merged = pd.concat(frames, ignore_index=True)
    order = [c.name for c in schema.TABLES[table] if c.name in merged]
    merged = merged[order + [c for c in merged if c not in order]]
    keys = [k for k in schema.KEYS[table] if k in merged]
    conflicts, drop = [], []
    if keys and len(frames) > 1:
        key_text = _joined(merged[keys])
        files = pd.Series([o[0] for o in origin])
        dup = key_text.duplicated(keep=False).to_numpy()
        if dup.any():
            norm = pd.Series("", index=merged.index)
            norm[dup] = _joined(merged[dup])
            for key, idx in key_text[dup].groupby(key_text[dup]).groups.items():
                idx = list(idx)
                first = idx[0]
                for other in idx[1:]:
                    if files[other] == files[first]:
                        continue  # duplicates within one file: validation reports them
                    if norm[other] != norm[first]:
                        conflicts.append((table, key.replace("\x1f", " "), files[first], files[other]))
                    else:
                        drop.append(other)
    if drop:
        keep = np.setdiff1d(np.arange(len(merged)), drop)
        merged = merged.iloc[keep].reset_index(drop=True)
        origin = [origin[i] for i in keep]
    return merged, origin, conflicts


def _file_rows_header(path: Path) -> int:
    return 2  # merged CSV files: header = row 1


def collect(
    inbox: str | Path,
    out: str | Path,
    *,
    units: str | Path | None = None,
    force: bool = False,
    lang: Lang = "en",
) -> Collection:
    """Read every return in ``inbox``, merge, write the dataset folder ``out`` (see the module doc).
    Raises :class:`ConflictError` (nothing written) on conflicting returns."""
    from evalkit.data.dataset import validate
    from evalkit.data.unit_template import read_units_list
    from evalkit.safe_io import atomic_write_bytes, check_output, write_csv

    inbox, out = Path(inbox), Path(out)
    if not inbox.is_dir():
        raise FileNotFoundError(2, f"no such inbox folder: {inbox}", str(inbox))
    check_output(out, force=force, kind="folder")
    files = sorted(
        p
        for p in inbox.rglob("*")
        if p.is_file() and not p.name.startswith((".", "~$")) and p.suffix.lower() in _DATA_SUFFIXES
    )
    roster_path = Path(units) if units else next((p for p in files if _is_roster(p, inbox)), None)
    roster = read_units_list(roster_path) if roster_path is not None else None
    returns = [read_return(p, lang) for p in files if p != roster_path]
    merged, conflicts = {}, []
    for table in TABLE_ORDER:
        frame, origin, found = _merge(returns, table)
        merged[table] = (frame, origin)
        conflicts += found
    if conflicts:
        lines = [text("collect.conflict", lang, table=t, key=k, a=a, b=b) for t, k, a, b in conflicts[:50]]
        raise ConflictError("\n".join([text("collect.conflicts", lang, n=len(conflicts)), *lines]))
    units_frame, units_origin = merged["units"]
    if roster is not None and roster_path is not None:
        returned = set(units_frame["unit_id"].map(_norm)) if len(units_frame) else set()
        extra = roster[~roster["unit_id"].map(_norm).isin(returned)]
        units_frame = pd.concat([units_frame, extra], ignore_index=True)
        units_origin = units_origin + [(roster_path.name, int(r)) for r in range(2, 2 + len(extra))]
        merged["units"] = (units_frame, units_origin)
    out.mkdir(parents=True, exist_ok=True)
    for table in TABLE_ORDER:
        frame, _ = merged[table]
        target = out / f"{table}.csv"
        if len(frame):
            write_csv(frame, target, force=True)
        elif force and target.exists():
            target.unlink()  # a table of an earlier collection that no return holds now
    meta = next((inbox / m for m in META_FILES if (inbox / m).exists()), None)
    if meta is not None:
        atomic_write_bytes(out / "dataset.yaml", meta.read_bytes())
    problems = [p for r in returns for p in r.problems]
    report = validate(out)
    for p in report.problems + report.warnings:
        problems.append(_origin_of(p, merged))
    expected = [] if roster is None else [*roster["unit_id"].map(str), OFFICE]
    got = {r.unit_id for r in returns if r.unit_id}
    missing = [u for u in expected if u not in got]
    summary = _summary(returns, roster, missing, problems)
    write_csv(summary, out / "collection" / "summary.csv", force=True)
    if problems:
        write_csv(pd.DataFrame([p.as_dict() for p in problems]), out / "collection" / "problems.csv", force=True)
    return Collection(returns, roster, missing, [], problems, summary, out)


def _origin_of(p: Problem, merged: dict) -> Problem:
    """A problem of the merged folder, told against the returned file and row it came from."""
    table = schema.table_for_name(Path(p.file).stem)
    if table is None or table not in merged or p.row is None:
        return p
    _, origin = merged[table]
    i = p.row - _file_rows_header(Path(p.file))
    if not 0 <= i < len(origin):
        return p
    file, row = origin[i]
    return Problem(file, row, p.column, p.value, p.rule, p.severity)


def _summary(returns: list[Return], roster, missing: list[str], problems: list[Problem]) -> pd.DataFrame:
    types = {} if roster is None else dict(zip(roster["unit_id"].map(str), roster["unit_type"].map(str)))
    rows = []
    for r in returns:
        mine = [p for p in problems if p.file == r.name]
        errors = sum(p.severity == "error" for p in mine)
        rows.append(
            {
                "unit_id": r.unit_id or "",
                "unit_type": OFFICE if r.unit_id == OFFICE else types.get(r.unit_id or "", ""),
                "file": r.name,
                "status": "returned",
                "valid": int(errors == 0),
                "errors": errors,
                "warnings": len(mine) - errors,
                "rows": sum(len(raw.data) for raw in r.raws.values()),
            }
        )
    for u in missing:
        rows.append(
            {
                "unit_id": u,
                "unit_type": OFFICE if u == OFFICE else types.get(u, ""),
                "file": "",
                "status": "missing",
                "valid": 0,
                "errors": 0,
                "warnings": 0,
                "rows": 0,
            }
        )
    return pd.DataFrame(rows, columns=["unit_id", "unit_type", "file", "status", "valid", "errors", "warnings", "rows"])


def format_collection(col: Collection, lang: Lang = "en") -> str:
    """The terminal report: counts, problems by file and unit, the missing units."""
    s = col.summary
    returned = s[s["status"] == "returned"]
    lines = [
        text(
            "collect.totals",
            lang,
            returned=len(returned),
            valid=int(returned["valid"].sum()),
            problems=int((returned["errors"] > 0).sum()),
            missing=len(col.missing),
            out=col.out,
        )
    ]
    by_file: dict[str, list[Problem]] = {}
    for p in col.problems:
        by_file.setdefault(p.file, []).append(p)
    units = dict(zip(s["file"], s["unit_id"]))
    for file, found in by_file.items():
        lines.append(f"  {file} ({units.get(file, '')})")
        for p in found[:20]:
            where = ", ".join(x for x in (f"row {p.row}" if p.row else "", p.column or "") if x) or "file"
            lines.append(f"    - [{p.severity}] {where}: {p.rule}")
        if len(found) > 20:
            lines.append(f"    … {len(found) - 20}")
    if col.missing:
        lines.append(text("collect.missing", lang, units=", ".join(col.missing)))
    lines.append(s.to_string(index=False, max_rows=60))
    return "\n".join(lines)


__all__ = ["Collection", "ConflictError", "DataError", "collect", "format_collection", "read_return"]

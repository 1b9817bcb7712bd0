"""Reading an Excel workbook (.xlsx / .xlsm): one table per sheet named for it (other sheets —
instructions, the column dictionary, notes — are skipped); title rows above the header skipped;
merged header cells resolved or refused; formula cells without a saved value refused; limits on
size (unpacked), rows and columns checked before a sheet is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data.raw import (
    HEADER_SEARCH_ROWS,
    MAX_BAD_ROWS,
    Collector,
    RawTable,
    find_header,
    make_raw,
    no_header_rule,
    over_limit,
    over_limit_bytes,
)


def read_workbook(path: Path, c: Collector, only: str | None) -> list[RawTable]:
    """Tables from the sheets of an .xlsx file. With ``only``, the sheet named for that table (or
    the first sheet). Rows above the header row (titles, merged group headers) are skipped; a
    header cell merged down from above takes the merged value; a header cell merged across columns
    is an error when the columns it covers hold data (they would have no name)."""
    import zipfile

    import openpyxl

    if over_limit_bytes(path, c):
        return []
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
            sheet_xml = [i.filename for i in zf.infolist() if i.filename.startswith("xl/worksheets/")]
            has_formulas = any(_has_formula(zf, name) for name in sheet_xml)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        c.add(
            path.name,
            None,
            None,
            None,
            f"cannot open the Excel workbook ({exc}); it is damaged or not an "
            ".xlsx file: save it again as .xlsx (Excel Workbook)",
            fatal=True,
        )
        return []
    if over_limit(path.name + " (unpacked)", "max_file_mb", float(unpacked), c):
        return []
    # Read-only mode streams large sheets but does not expose merged cells.
    big = path.stat().st_size > 20_000_000
    try:
        book = openpyxl.load_workbook(path, read_only=big, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types (XML, zip, KeyError) for a damaged file
        c.add(
            path.name,
            None,
            None,
            None,
            f"cannot open the Excel workbook ({type(exc).__name__}: {exc}); it is "
            "damaged or cut short: save it again as .xlsx (Excel Workbook)",
            fatal=True,
        )
        return []
    try:
        sheets = [(ws, schema.table_for_name(ws.title)) for ws in book.worksheets]
        if only is not None:
            chosen = [s for s in sheets if s[1] == only] or sheets[:1]
            sheets = [(chosen[0][0], only)] if chosen else []
        out = []
        for ws, table in sheets:
            if table is None:
                continue  # instructions, column dictionary, the user's own notes
            file = f"{path.name}[{ws.title}]"
            if over_limit(file, "max_rows", float(ws.max_row or 0), c) or over_limit(
                file, "max_columns", float(ws.max_column or 0), c
            ):
                continue
            try:
                raw = _read_sheet(path, ws, table, c)
            except Exception as exc:  # noqa: BLE001 - damaged sheet XML surfaces while iterating rows
                c.add(
                    file,
                    None,
                    None,
                    None,
                    f"cannot read the sheet ({type(exc).__name__}: {exc}); the workbook "
                    "is damaged: save it again as .xlsx",
                    fatal=True,
                )
                continue
            if raw is not None:
                out.append(raw)
        if has_formulas and out:
            _formulas_without_values(path, out, c)
        return out
    finally:
        book.close()


def _has_formula(zf, name: str) -> bool:
    """Whether a sheet's XML holds a formula element (read in chunks)."""
    tail = b""
    with zf.open(name) as fh:
        while chunk := fh.read(1 << 20):
            if b"<f>" in tail + chunk or b"<f " in tail + chunk or b":f>" in tail + chunk or b":f " in tail + chunk:
                return True
            tail = chunk[-8:]
    return False


def _formulas_without_values(path: Path, raws: list[RawTable], c: Collector) -> None:
    """Formula cells whose saved (cached) value is empty: a file written by a program that does
    not calculate (a script, some exports) shows values in Excel but holds none for evalkit."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - the workbook opened once already; a second failure adds nothing
        return
    try:
        by_file = {raw.file: raw for raw in raws}
        for ws in book.worksheets:
            file = f"{path.name}[{ws.title}]"
            if file not in by_file:
                continue
            found = []
            for formulas, cached in zip(ws.iter_rows(), values[ws.title].iter_rows()):
                for f_cell, v_cell in zip(formulas, cached):
                    if isinstance(f_cell.value, str) and f_cell.value.startswith("=") and v_cell.value is None:
                        found.append((f_cell.row, f_cell.column_letter, f_cell.value))
            for row, letter, formula in found[:MAX_BAD_ROWS]:
                c.add(
                    file,
                    row,
                    f"cell {letter}{row}",
                    formula,
                    "formula without a saved value: the file was "
                    "written by a program that does not calculate. Open it in Excel/WPS and save it again, or "
                    "paste the cells as values",
                    fatal=True,
                )
            if len(found) > MAX_BAD_ROWS:
                c.add(
                    file,
                    None,
                    None,
                    None,
                    f"— and {len(found) - MAX_BAD_ROWS} more formulas without a saved value",
                    fatal=True,
                )
    finally:
        book.close()
        values.close()


def _read_sheet(path: Path, ws, table: str, c: Collector) -> RawTable | None:
    file = f"{path.name}[{ws.title}]"
    records = [list(r) for r in ws.iter_rows(values_only=True)]
    if not any(v not in (None, "") for r in records for v in r):
        c.add(file, None, None, None, "the sheet is empty (no header, no data)", fatal=True)
        return None
    h = find_header(table, records[:HEADER_SEARCH_ROWS])
    if h is None:
        c.add(file, None, None, None, no_header_rule(table), fatal=True)
        return None
    header_row = h + 1  # Excel rows are 1-based
    header = list(records[h])
    body = records[h + 1 :]
    width = max([len(header)] + [len(r) for r in body])
    header += [None] * (width - len(header))
    merged_ranges = ws.merged_cells.ranges if hasattr(ws, "merged_cells") else []  # none in read-only mode
    for merged in merged_ranges:
        if not merged.min_row <= header_row <= merged.max_row:
            continue
        if merged.min_row < header_row and merged.min_col == merged.max_col:
            header[merged.min_col - 1] = records[merged.min_row - 1][merged.min_col - 1]
        if merged.max_col > merged.min_col:
            covered = range(merged.min_col, merged.max_col)  # 0-based indices of the covered columns
            if any(len(r) > j and r[j] not in (None, "") for r in body for j in covered):
                c.add(
                    file,
                    header_row,
                    merged.coord,
                    records[merged.min_row - 1][merged.min_col - 1],
                    f"merged header cell spans {merged.max_col - merged.min_col + 1} columns that hold data: "
                    "unmerge it and give each column its own header",
                    fatal=True,
                )
    columns = [pd.Series([r[j] if j < len(r) else None for r in body], dtype=object) for j in range(width)]
    rows = np.arange(len(body)) + header_row + 1
    return make_raw(table, file, header, columns, rows, header_row, c)

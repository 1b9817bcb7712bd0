"""Files evalkit writes for people: no lost work, no live formulas.

* :func:`check_output` refuses to replace an existing file or folder unless ``force`` is given,
  and refuses a directory where a file is wanted (the CLI exits 2 with the reason).
* :func:`neutralise_frame` / :func:`neutralise_cell` apply the OWASP rule against CSV (formula)
  injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  gets a leading single quote, so Excel/WPS show it as text instead of running it
  (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). Only strings are changed: numbers, including
  negative ones, stay numbers.
* :func:`write_csv` writes a frame through both (UTF-8 with BOM, atomically: a temporary file in
  the same folder, renamed over the target only when complete).

Every CSV/XLSX writer in evalkit goes through these functions.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from evalkit.errors import EvalkitError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class OutputExistsError(EvalkitError, FileExistsError):
    """The output path exists (or is a folder where a file is wanted)."""

    hint = "What to do: choose another output path, or add --force to replace it."


def neutralise_cell(value: object) -> object:
    """The value, with a leading ``'`` when it is a string that a spreadsheet would run as a formula.

    Parameters
    ----------
    value : object
        Any cell value.

    Returns
    -------
    object
        ``"'" + value`` for a string starting with ``= + - @``, tab or carriage return; the value
        unchanged otherwise (numbers, dates, None, other strings).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names cannot act as spreadsheet formulas.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to be written.

    Returns
    -------
    pandas.DataFrame
        The same table; in text columns (object or string dtype) and in string column labels,
        every value starting with ``= + - @``, tab or carriage return is prefixed with ``'``.
        Numeric columns are untouched (a negative number stays a number). ``df`` is not modified.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
                risky = s.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
                if risky.any():
                    out[col] = s.where(~risky, "'" + s)
            else:
                out[col] = s.map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def check_output(path: str | os.PathLike, *, force: bool = False, kind: str = "file") -> Path:
    """Refuse to overwrite: the path, checked for being written as ``kind``.

    Parameters
    ----------
    path : str or os.PathLike
        Where the output will go.
    force : bool
        Allow replacing an existing file (or, for ``kind="folder"``, writing into an existing
        non-empty folder).
    kind : {"file", "folder"}
        What will be written there.

    Returns
    -------
    pathlib.Path
        ``path`` as a Path.

    Raises
    ------
    OutputExistsError
        ``path`` exists (a file, or a non-empty folder) and ``force`` is false; or a file is
        wanted and ``path`` is a folder (even with ``force``).
    """
    p = Path(path)
    if kind == "file":
        if p.is_dir():
            err = OutputExistsError(
                f"{p} is a folder; the output is a file: give a file name, e.g. {p / 'indicators.csv'}"
            )
            err.hint = "What to do: give a file path (not a folder) as the output."
            raise err
        if p.exists() and not force:
            raise OutputExistsError(
                f"{p} already exists and would be overwritten; evalkit does not replace files without --force"
            )
    else:
        if p.exists() and not p.is_dir():
            raise OutputExistsError(f"{p} is a file; the output is a folder: give a folder path")
        if p.is_dir() and any(p.iterdir()) and not force:
            raise OutputExistsError(
                f"{p} already exists and is not empty; evalkit does not write over a data folder without --force"
            )
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Parameters
    ----------
    path : str or os.PathLike
        The target file; its folder is created.
    data : bytes
        The content.

    Returns
    -------
    pathlib.Path
        The target path.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_csv(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    force: bool = False,
    index: bool = False,
    encoding: str = "utf-8-sig",
    **to_csv_kwargs,
) -> Path:
    """Write ``df`` as CSV for spreadsheet users: neutralised, atomic, never over a file by accident.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : str or os.PathLike
        The target file.
    force : bool
        Replace an existing file.
    index : bool
        Write the index (default False).
    encoding : str
        Default UTF-8 with BOM, which Excel opens correctly (Chinese text included).
    **to_csv_kwargs
        Passed to :meth:`pandas.DataFrame.to_csv` (e.g. ``float_format``).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OutputExistsError
        See :func:`check_output`.
    """
    p = check_output(path, force=force, kind="file")
    text = neutralise_frame(df).to_csv(index=index, **to_csv_kwargs)
    return atomic_write_bytes(p, text.encode(encoding))


def neutralise_worksheet(ws) -> int:
    """Neutralise every text cell of an openpyxl worksheet in place (before saving).

    Parameters
    ----------
    ws : openpyxl.worksheet.worksheet.Worksheet
        A writable worksheet. openpyxl stores a string starting with ``=`` as a formula; this
        turns such cells (and the other risky prefixes) back into text with a leading ``'``.

    Returns
    -------
    int
        The number of cells changed.
    """
    changed = 0
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
                cell.value = "'" + value
                cell.data_type = "s"
                changed += 1
    return changed


def write_excel(
    sheets: dict[str, pd.DataFrame], path: str | os.PathLike, *, force: bool = False, index: bool = False
) -> Path:
    """Write frames as sheets of one .xlsx workbook: neutralised, atomic, never over a file by accident.

    Parameters
    ----------
    sheets : dict of str to pandas.DataFrame
        Sheet name → table (sheet names are cut to Excel's 31 characters).
    path : str or os.PathLike
        The target .xlsx file.
    force : bool
        Replace an existing file.
    index : bool
        Write the index (default False).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OutputExistsError
        See :func:`check_output`.
    """
    import io

    p = check_output(path, force=force, kind="file")
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            neutralise_frame(frame).to_excel(writer, sheet_name=str(name)[:31], index=index)
        for ws in writer.book.worksheets:
            neutralise_worksheet(ws)
    return atomic_write_bytes(p, buf.getvalue())

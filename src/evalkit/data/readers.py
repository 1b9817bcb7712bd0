"""Reading a data folder: which file holds which table (file names in English or Chinese, see
``schema.TABLE_ALIASES``), ``dataset.yaml`` (metadata), and the readers of CSV and Parquet files
(Excel workbooks: :mod:`evalkit.data.workbook`). CSV files are read by pyarrow as UTF-8 bytes,
after the encoding, separator, NUL-byte and limit checks of :mod:`evalkit.data.encodings` and
:mod:`evalkit.data.limits`; ragged and cut rows are errors. Row numbers are as a spreadsheet shows
them: CSV header = row 1; Parquet the 1-based record number."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data.encodings import SEPARATORS, decode, nul_problem, separator
from evalkit.data.calendars import check_calendar_meta
from evalkit.data.limits import limit_rule
from evalkit.data.periods import FREQUENCIES
from evalkit.data.raw import (
    HEADER_SEARCH_ROWS,
    MAX_BAD_ROWS,
    Collector,
    RawTable,
    find_header,
    make_raw,
    no_header_rule,
    RELEASE_FROM,
    release_arrow_memory,
    over_limit,
    over_limit_bytes,
)
from evalkit.data.workbook import read_workbook

TABLE_ORDER = ("units", "panel", "graduates", "partnerships", "evidence")
DATA_EXTENSIONS = (".csv", ".xlsx", ".xlsm", ".parquet", ".pq")
META_FILES = ("dataset.yaml", "dataset.yml")
META_KEYS = (
    "name_zh",
    "name_en",
    "city",
    "frequency",
    "academic_year_start_month",
    "frequency_by_unit_type",
    "synthetic",
    "generator",
    "seed",
    "currency_unit",
    "first_period",
    "last_period",
    "description",
    "source",
    "license",
    "max_abs_value",
)
_HEAD_BYTES = 1 << 16  # where the header row is looked for
_SCAN_BYTES = 1 << 22  # the encoding, NUL and line-break checks of the typed path read 4 MB at a time
_STREAM_BYTES = 1 << 20  # the typed path parses 1 MB of the file at a time
# Cells the typed path turns into numbers itself (see _read_csv_typed); any other cell sends the
# file to the whole-file path, where evalkit.data.cells types and reports it.
_PLAIN_NUMBER = r"^(?:\d+(?:\.\d*)?|\.\d+)$"
_PLAIN_MAX_CHARS = 15
# Files beside the tables that are not tables (documentation, the synthetic truth file, ...).
_IGNORED_SUFFIXES = (".md", ".json", ".txt", ".yaml", ".yml", ".html", ".pdf", ".png", ".ipynb")


def read_source(path: Path) -> tuple[Path, dict[str, RawTable], dict, list[tuple[str, Path]], Collector]:
    """Every table of a folder (or one workbook) as read, its metadata, the files read (for the
    fingerprint) and the problems found."""
    if not path.exists():
        raise FileNotFoundError(2, f"no such data folder or workbook: {path}", str(path))
    c = Collector()
    raws: dict[str, RawTable] = {}
    files: list[tuple[str, Path]] = []
    meta: dict = {}
    if path.is_file():
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            for raw in read_workbook(path, c, only=None):
                _put(raws, raw, c)
            files = [("workbook", path)]
        else:
            c.add(
                path.name,
                None,
                None,
                None,
                "give the folder that holds the tables (units, panel, …) or one .xlsx workbook with a sheet per table",
                fatal=True,
            )
        return path, raws, meta, files, c
    entries = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    meta_path = next((path / m for m in META_FILES if (path / m).exists()), None)
    if meta_path is not None:
        meta = _read_meta(meta_path, c)
    by_table: dict[str, list[Path]] = {}
    for p in entries:
        suffix = p.suffix.lower()
        table = schema.table_for_name(p.stem)
        if suffix in (".xls", ".et") and table:
            c.unreadable.add(table)
            c.add(
                p.name,
                None,
                None,
                None,
                "old Excel format is not read: save the file as .xlsx (Excel Workbook) or CSV UTF-8",
                fatal=True,
            )
        elif suffix in DATA_EXTENSIONS and table:
            by_table.setdefault(table, []).append(p)
        elif suffix in (".xlsx", ".xlsm"):  # a workbook with one sheet per table
            for raw in read_workbook(p, c, only=None):
                _put(raws, raw, c)
            files.append(("workbook", p))
        elif suffix in DATA_EXTENSIONS:
            c.add(
                p.name,
                None,
                None,
                None,
                "file not used: its name is not a table name (units/单位, "
                "panel/面板, graduates/毕业生, partnerships/校企合作, evidence/证据清单)",
                severity="warning",
            )
        elif suffix not in _IGNORED_SUFFIXES:
            c.add(p.name, None, None, None, "file not used", severity="warning")
    for table in TABLE_ORDER:
        for p in by_table.get(table, []):
            suffix = p.suffix.lower()
            one: RawTable | None
            if suffix == ".csv":
                one = _read_csv(p, table, c, typed=True)
            elif suffix in (".parquet", ".pq"):
                one = _read_parquet(p, table, c)
            else:
                found = read_workbook(p, c, only=table)
                one = found[0] if found else None
            if one is not None:
                _put(raws, one, c)
            else:
                c.unreadable.add(table)
            files.append((table, p))
    return path, raws, meta, files, c


def _put(raws: dict[str, RawTable], raw: RawTable, c: Collector) -> None:
    if raw.table in raws:
        c.add(
            raw.file,
            None,
            None,
            None,
            f"a second file or sheet for table '{raw.table}' (first: {raws[raw.table].file}); keep one",
            fatal=True,
        )
        return
    raws[raw.table] = raw


def _read_meta(path: Path, c: Collector) -> dict:
    from evalkit.yamlio import YamlError, read_yaml

    try:
        data = read_yaml(path, what="metadata file") or {}
    except YamlError as exc:
        c.add(path.name, None, None, None, f"cannot read the metadata file: {exc.args[0]}", fatal=True)
        return {}
    if not isinstance(data, dict):
        c.add(path.name, None, None, None, "the metadata file must be a mapping of keys to values", fatal=True)
        return {}
    return check_meta(data, path.name, c)


def check_meta(meta: dict, file: str, c: Collector) -> dict:
    for key in meta:
        if key not in META_KEYS:
            c.add(
                file,
                None,
                str(key),
                meta[key],
                f"unknown metadata key (known: {', '.join(META_KEYS)})",
                severity="warning",
            )
    freq = meta.get("frequency")
    if freq is not None and freq not in FREQUENCIES:
        c.add(file, None, "frequency", freq, f"frequency must be one of {', '.join(FREQUENCIES)}", fatal=True)
        meta = {k: v for k, v in meta.items() if k != "frequency"}
    meta = check_calendar_meta(meta, file, c)
    if "synthetic" in meta and not isinstance(meta["synthetic"], bool):
        c.add(file, None, "synthetic", meta["synthetic"], "synthetic must be true or false", fatal=True)
    return meta


def _text_options(names: list[str], skip: int, block: int, on_bad_row: Any) -> dict[str, Any]:
    """pyarrow CSV options shared by the whole-file and the streamed read: every cell as text
    (never null), quoted line breaks kept, empty lines kept (their row numbers count), bad rows
    reported to ``on_bad_row``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return {
        "read_options": pacsv.ReadOptions(column_names=names, skip_rows=skip, use_threads=False, block_size=block),
        "parse_options": pacsv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=on_bad_row, ignore_empty_lines=False
        ),
        "convert_options": pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    }


def _read_csv(path: Path, table: str, c: Collector, typed: bool = False) -> RawTable | None:
    """One CSV table. ``typed`` (the dataset's load): a clean file is streamed and its numeric
    columns typed as read (:func:`_read_csv_typed`); anything else, and ``typed=False`` (the
    collection of returned files, which keeps the text), is read whole as text."""
    if over_limit_bytes(path, c):
        return None
    if typed:
        fast = _read_csv_typed(path, table, c)
        if fast is not None:
            return fast
    data = path.read_bytes()
    if not data.strip():
        c.add(path.name, None, None, None, "the file is empty (no header, no data)", fatal=True)
        return None
    if nul_problem(data, path.name, c):
        return None
    utf8 = decode(data, path.name, c)
    if utf8 is None:
        return None
    data = utf8
    head_text = data[:_HEAD_BYTES].decode("utf-8", errors="ignore")
    head, lines, first, sep = _head(head_text)
    if sep is not None:
        c.add(
            path.name,
            first + 1,
            None,
            lines[first][:80],
            f"this file is separated by {SEPARATORS[sep]}, "
            "evalkit reads comma-separated CSV: re-save as CSV (comma) — in Excel/WPS: Save As → 'CSV UTF-8 "
            "(逗号分隔)'",
            fatal=True,
        )
        return None
    h = find_header(table, head)
    if h is None:
        c.add(path.name, None, None, None, no_header_rule(table), fatal=True)
        return None
    header = head[h]
    width = len(header)
    if over_limit(path.name, "max_columns", width, c, row=h + 1):
        return None
    if over_limit(path.name, "max_rows", data.count(b"\n"), c):
        return None
    bad: list = []

    def on_bad_row(row) -> str:
        bad.append((row.number, row.actual_columns, row.text))
        return "skip"

    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{j}" for j in range(width)]
    if len(head) <= h + 1 and data.count(b"\n") <= h + 1:  # a header and nothing after it
        return make_raw(
            table,
            path.name,
            header,
            [pd.Series([], dtype="str") for _ in names],
            np.array([], dtype=np.int64),
            h + 1,
            c,
        )
    try:
        arrow = pacsv.read_csv(io.BytesIO(data), **_text_options(names, h + 1, 1 << 24, on_bad_row))
    except (pa.ArrowInvalid, ValueError) as exc:
        message = str(exc).strip().splitlines()[0]
        m = re.search(r"Row #(\d+)", message)
        row = int(m.group(1)) if m else None
        c.add(
            path.name,
            row,
            None,
            None,
            f"cannot split the row into columns ({message}); check quotes (a quote "
            "opened and never closed?) and separators (use commas)",
            fatal=True,
        )
        return None
    n_records = arrow.num_rows + len(bad)
    skipped = {number for number, _, _ in bad}
    for number, got, text in bad[:MAX_BAD_ROWS]:
        short = got < width
        what = (
            f"a row cut short: {got} field{'s' if got != 1 else ''} where the header has {width}"
            if short
            else f"{got} fields where the header has {width}"
        )
        c.add(
            path.name,
            number,
            None,
            text[:80],
            f"{what} (ragged row); every row needs one field per column — "
            "check for a missing or extra comma, or a file copied incompletely",
            fatal=True,
        )
    if len(bad) > MAX_BAD_ROWS:
        c.add(path.name, None, None, None, f"— and {len(bad) - MAX_BAD_ROWS} more ragged rows", fatal=True)
    if not data.endswith((b"\n", b"\r")):
        last = h + 1 + n_records
        if last not in skipped:
            c.add(
                path.name,
                last,
                None,
                None,
                "the file does not end with a line break: its last row looks cut "
                "short (a damaged or incomplete copy). If the row is complete, add a line break at the end",
                fatal=True,
            )
    del data
    if bad:
        return None
    frame = arrow.to_pandas()
    del arrow
    rows = np.arange(len(frame)) + h + 2
    columns = [frame[col] for col in frame.columns]
    del frame
    return make_raw(table, path.name, header, columns, rows, h + 1, c)


def _head(head_text: str) -> tuple[list[list[str]], list[str], int, str | None]:
    """The first records of a file's text (where the header is looked for), its lines, the first
    non-blank line and the separator it uses when it is not a comma."""
    head = []
    for i, record in enumerate(csv.reader(io.StringIO(head_text, newline=""))):
        if i >= HEADER_SEARCH_ROWS:
            break
        head.append(record)
    lines = head_text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    return head, lines, first, separator(lines[first]) if lines else None


def _scan(path: Path) -> tuple[int, int, bytes] | None:
    """(length of the UTF-8 BOM, line breaks, the first 64 kB after the BOM) of a file of UTF-8
    text with no NUL byte that ends with a line break, read in steps; None for any other file."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    bom, newlines, text, last, head = 0, 0, False, b"", b""
    with open(path, "rb") as fh:
        for step, chunk in enumerate(iter(lambda: fh.read(_SCAN_BYTES), b"")):
            if step == 0:
                bom = len(codecs.BOM_UTF8) if chunk.startswith(codecs.BOM_UTF8) else 0
                head = chunk[bom : bom + _HEAD_BYTES]
            if b"\x00" in chunk:
                return None
            text = text or bool(chunk.strip())
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
            try:
                decoder.decode(chunk[bom:] if step == 0 else chunk)
            except UnicodeDecodeError:
                return None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    if not text or last not in (b"\n", b"\r"):
        return None
    return bom, newlines, head


def _numeric(table: str, header: str) -> bool:
    name = schema.canonical_header(table, str(header).strip()) if str(header).strip() else None
    return name is not None and any(col.name == name and col.dtype in ("float", "int") for col in schema.TABLES[table])


def _read_csv_typed(path: Path, table: str, c: Collector) -> RawTable | None:
    """A clean CSV as the dataset's load reads it: streamed a block at a time (the file is never
    held whole, nor its cells as text), every numeric column typed as it is read into one float
    array. Typing here is exactly :func:`evalkit.data.cells.to_number`'s for the cells it
    accepts: empty and missing markers are NaN, and plain numbers (digits with an optional
    decimal point, at most 15 characters: an exact mantissa and an exact power of ten, which
    pandas and pyarrow parse to the same double). Any other file or cell (another encoding, a
    NUL byte, a separator, no header, a limit, a ragged or cut row, a quote left open, a sign,
    an exponent, a thousands separator, text) gives None without a problem: the whole-file path
    then reads the file again and reports what it finds, as it always has."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from evalkit.data.cells import MISSING_MARKERS

    scan = _scan(path)
    if scan is None:
        return None
    bom, newlines, head_bytes = scan
    head, _, _, sep = _head(head_bytes.decode("utf-8", errors="ignore"))
    h = find_header(table, head) if sep is None else None
    if h is None or (len(head) <= h + 1 and newlines <= h + 1):
        return None
    header = head[h]
    width = len(header)
    if limit_rule("max_columns", width) is not None or limit_rule("max_rows", newlines) is not None:
        return None
    numbers = {j: np.empty(newlines + 1, dtype="float64") for j, name in enumerate(header) if _numeric(table, name)}
    texts: dict[int, list] = {j: [] for j in range(width) if j not in numbers}
    nonblank = np.zeros(newlines + 1, dtype=bool)
    markers = pa.array(sorted(MISSING_MARKERS))
    bad: list[int] = []

    def on_bad_row(row) -> str:
        bad.append(row.number)
        return "skip"

    names = [f"c{j}" for j in range(width)]
    n = 0
    large = (newlines + 1) * width >= RELEASE_FROM  # a small file's batches skip the heap-wide trim
    try:
        with pa.OSFile(str(path)) as source:
            source.seek(bom)
            reader = pacsv.open_csv(source, **_text_options(names, h + 1, _STREAM_BYTES, on_bad_row))
            for batch in reader:
                k = batch.num_rows
                if bad or n + k > len(nonblank):
                    return None
                for j, column in enumerate(batch.columns):
                    trimmed = pc.utf8_trim_whitespace(column)
                    filled = pc.not_equal(trimmed, "")
                    nonblank[n : n + k] |= filled.to_numpy(zero_copy_only=False)
                    if j not in numbers:
                        texts[j].append(column.cast(pa.large_string()))  # as pandas holds text: not copied again
                        continue
                    plain = pc.and_(
                        pc.match_substring_regex(trimmed, _PLAIN_NUMBER),
                        pc.less_equal(pc.utf8_length(trimmed), _PLAIN_MAX_CHARS),
                    )
                    if not pc.all(pc.or_(plain, pc.invert(filled))).as_py():
                        missing = pc.is_in(pc.utf8_lower(trimmed), value_set=markers)
                        if not pc.all(pc.or_(plain, missing)).as_py():
                            return None
                    number = pc.cast(pc.if_else(plain, trimmed, pa.scalar(None, pa.string())), pa.float64())
                    numbers[j][n : n + k] = number.to_numpy(zero_copy_only=False)
                n += k
                if large:
                    release_arrow_memory()
    except (pa.ArrowInvalid, ValueError, OSError):
        return None
    if bad:
        return None
    text_frame = pa.table({f"c{j}": pa.chunked_array(parts, type=pa.large_string()) for j, parts in texts.items()})
    texts.clear()
    frame = text_frame.to_pandas()
    del text_frame
    columns = [pd.Series(numbers[j][:n], copy=False) if j in numbers else frame[f"c{j}"] for j in range(width)]
    del frame, numbers
    rows = np.arange(h + 2, n + h + 2, dtype=np.int32 if n + h + 2 < 2**31 else np.int64)
    return make_raw(table, path.name, header, columns, rows, h + 1, c, nonblank=nonblank[:n])


def _read_parquet(path: Path, table: str, c: Collector) -> RawTable | None:
    if over_limit_bytes(path, c):
        return None
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        if over_limit(path.name, "max_rows", float(meta.num_rows), c) or over_limit(
            path.name, "max_columns", float(meta.num_columns), c
        ):
            return None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        c.add(path.name, None, None, None, f"cannot read the Parquet file: {exc}", fatal=True)
        return None
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        c.add(path.name, None, None, None, f"cannot read the Parquet file: {exc}", fatal=True)
        return None
    frame = frame.reset_index(drop=True)
    return make_raw(
        table, path.name, list(frame.columns), [frame[col] for col in frame.columns], np.arange(len(frame)) + 1, None, c
    )

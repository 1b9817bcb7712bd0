"""The consortium ``Dataset`` and how it is read: ``load(path)``, ``validate(path)``.

A dataset is a folder with one file per table (``units``, ``panel``, optional ``graduates`` and
``partnerships``; file names in English or Chinese, see ``schema.TABLE_ALIASES``), each a CSV,
XLSX or Parquet file, plus an optional ``dataset.yaml`` of metadata, or a single ``.xlsx``
workbook with one sheet per table (the template written by ``evalkit template``).

CSV files may be UTF-8, UTF-8 with BOM or GBK/GB18030 (tried in that order). Headers are the
canonical English names, the Chinese names or the template's bilingual headers (see
``schema.canonical_header``); a title row above the header row is skipped. Row numbers in
problems are as a spreadsheet shows them: CSV header = row 1 (first data row = 2); XLSX the Excel
row number; Parquet the 1-based record number; a DataFrame (``Dataset.from_frames``) the 0-based
position (``df.iloc[row]``). The rules checked are listed in ``evalkit.validation``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data.periods import FREQUENCIES, Period
from evalkit.data.validation import DERIVED, Collector, RawTable, check_tables
from evalkit.data.validation import graduate_flows as _graduate_flows
from evalkit.errors import DataError, Problem

TABLE_ORDER = ("units", "panel", "graduates", "partnerships")
DATA_EXTENSIONS = (".csv", ".xlsx", ".xlsm", ".parquet", ".pq")
META_FILES = ("dataset.yaml", "dataset.yml")
META_KEYS = (
    "name_zh",
    "name_en",
    "city",
    "frequency",
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
# Files beside the tables that are not tables (documentation, the synthetic truth file, ...).
_IGNORED_SUFFIXES = (".md", ".json", ".txt", ".yaml", ".yml", ".html", ".pdf", ".png", ".ipynb")
HEADER_SEARCH_ROWS = 10
MAX_BAD_ROWS = 50  # ragged rows listed one by one; beyond, one summary line


@functools.lru_cache(maxsize=8192)
def _canonical(table: str, header: str) -> str | None:
    return schema.canonical_header(table, header)


class Dataset:
    """Four tables of one consortium, validated and typed.

    ``units`` (one row per unit; derived ``cohort``, ``cohort_t``, ``member``), ``panel`` (one
    row per unit × period, sorted by unit and period; derived ``t`` = 1-based index of the period
    in ``periods``; every schema variable present, float, NaN = not reported), ``graduates`` and
    ``partnerships`` (or None). Build one with :func:`load` or :meth:`from_frames`.
    """

    def __init__(
        self,
        units: pd.DataFrame,
        panel: pd.DataFrame,
        graduates: pd.DataFrame | None = None,
        partnerships: pd.DataFrame | None = None,
        *,
        frequency: str,
        periods: list[Period],
        meta: dict | None = None,
        source: Path | None = None,
        warnings: list[Problem] | None = None,
        files: list[tuple[str, Path]] | None = None,
    ):
        self.units = units
        self.panel = panel
        self.graduates = graduates
        self.partnerships = partnerships
        self.frequency = frequency
        self.periods = list(periods)
        self.meta = dict(meta or {})
        self.source = source
        self.warnings = list(warnings or [])
        self._files = files
        self._fingerprint: str | None = None

    @classmethod
    def from_frames(
        cls,
        units: pd.DataFrame,
        panel: pd.DataFrame,
        graduates: pd.DataFrame | None = None,
        partnerships: pd.DataFrame | None = None,
        meta: dict | None = None,
        *,
        strict: bool = True,
    ) -> Dataset:
        """Build a dataset from DataFrames with the same validation as :func:`load` (problem rows
        are 0-based positions). Raises :class:`~evalkit.errors.DataError` listing every problem."""
        c = Collector()
        meta = _check_meta(dict(meta or {}), "meta", c)
        raws = {}
        for name, frame in (
            ("units", units),
            ("panel", panel),
            ("graduates", graduates),
            ("partnerships", partnerships),
        ):
            if frame is None:
                continue
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"{name} must be a pandas DataFrame, not {type(frame).__name__}")
            frame = frame.reset_index(drop=True)
            raws[name] = _make_raw(
                name,
                f"{name} (DataFrame)",
                list(frame.columns),
                [frame[col] for col in frame.columns],
                np.arange(len(frame)),
                None,
                c,
            )
        return _build(raws, meta, c, source=None, files=None, strict=strict, label="the DataFrames")

    # ------------------------------------------------------------------ properties
    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    @property
    def name(self) -> str:
        return str(
            self.meta.get("name_zh") or self.meta.get("name_en") or (self.source.stem if self.source else "dataset")
        )

    @property
    def fingerprint(self) -> str:
        """sha256 (hex) identifying the data. For a loaded dataset: the bytes of its files (tables in
        the order units, panel, graduates, partnerships, then dataset.yaml), each prefixed by its
        table name, so renaming a file does not change it. For DataFrames: the canonical CSV text of
        each table (floats written by ``repr``, "\\n" line ends) and the metadata as sorted JSON."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            if self._files:
                for name, path in self._files:
                    data = path.read_bytes()
                    h.update(f"{name}\0{len(data)}\0".encode())
                    h.update(data)
            else:
                for name in TABLE_ORDER:
                    frame = getattr(self, name)
                    if frame is None:
                        continue
                    text = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
                    h.update(f"{name}\0{len(text)}\0".encode())
                    h.update(text.encode("utf-8"))
                h.update(json.dumps(self.meta, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8"))
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def graduate_flows(self) -> pd.DataFrame:
        """Graduate records summed by (unit_id, period): the columns of ``schema.GRADUATE_FLOWS``
        (graduates = records; placed; local, member-enterprise, matched, income respondents and
        income sum among placed graduates). Empty frame when there are no graduate records."""
        if self.graduates is None:
            return pd.DataFrame(columns=["unit_id", "period", *schema.GRADUATE_FLOWS])
        return _graduate_flows(self.graduates.dropna(subset=["college_id", "cohort"]))

    def __repr__(self) -> str:
        flag = "SYNTHETIC DATA — not real figures; " if self.synthetic else ""
        span = f"{self.periods[0].label}–{self.periods[-1].label}" if self.periods else "no periods"
        parts = [
            f"{len(self.units)} units ({int(self.units['member'].sum())} members)",
            f"{len(self.panel)} panel rows",
            f"{self.frequency} periods {span}",
        ]
        if self.graduates is not None:
            parts.append(f"{len(self.graduates)} graduate records")
        if self.partnerships is not None:
            parts.append(f"{len(self.partnerships)} partnerships")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        return f"<Dataset {self.name!r}: {flag}" + ", ".join(parts) + ">"


def aggregate_graduates(graduates: pd.DataFrame) -> pd.DataFrame:
    """Typed graduate records (``Dataset.graduates``) summed to (unit_id, period) rows of
    ``schema.GRADUATE_FLOWS``; the same as ``Dataset.graduate_flows()``."""
    return _graduate_flows(graduates.dropna(subset=["college_id", "cohort"]))


class ValidationReport:
    """Outcome of :func:`validate`: ``ok``, ``problems`` (errors), ``warnings``, ``dataset`` (when
    ok) and ``format()`` (text for people, with what to do next)."""

    def __init__(self, source: Path, problems: list[Problem], dataset: Dataset | None):
        self.source = source
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity == "warning"]
        self.dataset = dataset

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        lines = [f"evalkit validate: {self.source}"]
        if self.ok and self.dataset is not None:
            lines.append(f"OK — the data is valid. {self.dataset!r}")
            lines.append(f"fingerprint: {self.dataset.fingerprint}")
        else:
            n = len(self.problems)
            lines.append(f"ERROR — {n} problem{'s' if n != 1 else ''} (数据有误，请逐条修改):")
            lines += _grouped(self.problems)
        if self.warnings:
            lines.append(
                f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''} "
                "(提示; the data can still be used):"
            )
            lines += _grouped(self.warnings)
        if not self.ok:
            lines.append(DataError.hint)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<ValidationReport {self.source}: {'ok' if self.ok else f'{len(self.problems)} problems'}, "
            f"{len(self.warnings)} warnings>"
        )


def _grouped(problems: list[Problem]) -> list[str]:
    out, last = [], None
    for p in problems:
        if p.file != last:
            out.append(f"  {p.file}")
            last = p.file
        where = []
        if p.row is not None:
            where.append(f"row {p.row}")
        if p.column:
            where.append(f"column {p.column}")
        value = f", value {p.value!r}" if p.value is not None and p.value != "" else ""
        out.append(f"    - {', '.join(where) or 'file'}{value}: {p.rule}")
    return out


# ---------------------------------------------------------------------- public entry points
def load(path: str | Path, *, strict: bool = True) -> Dataset:
    """Read and validate a dataset folder (or one .xlsx workbook).

    ``strict=True`` (default): any error raises :class:`~evalkit.errors.DataError` listing every
    problem. ``strict=False``: errors that leave the tables well formed (bad cells, which become
    missing; out-of-range values; numerator > denominator; unknown units or categories; bad
    ``member_since``) are kept in ``Dataset.warnings`` instead; structural errors (missing table
    or column, unreadable file, duplicate keys, mixed frequencies) still raise.
    """
    source, raws, meta, files, c = _read_source(Path(path))
    return _build(raws, meta, c, source=source, files=files, strict=strict, label=str(source))


def validate(path: str | Path) -> ValidationReport:
    """Check a dataset and report every problem; never raises for data problems (a missing path
    raises FileNotFoundError)."""
    source, raws, meta, files, c = _read_source(Path(path))
    try:
        dataset = _build(raws, meta, c, source=source, files=files, strict=True, label=str(source))
    except DataError:
        dataset = None
    return ValidationReport(source, c.problems, dataset)


def _build(raws: dict[str, RawTable], meta: dict, c: Collector, *, source, files, strict: bool, label: str) -> Dataset:
    if "max_abs_value" in meta:
        try:
            c.max_abs_value = float(meta["max_abs_value"])
        except (TypeError, ValueError):
            c.add(
                "dataset.yaml",
                None,
                "max_abs_value",
                meta["max_abs_value"],
                "max_abs_value must be a number",
                fatal=True,
            )
    checked = check_tables(
        raws, meta.get("frequency"), c, declared_range=(meta.get("first_period"), meta.get("last_period"))
    )
    errors = c.errors
    if checked is None or (errors and (strict or c.fatal)):
        raise DataError(c.problems, label)
    if files is not None and source is not None and source.is_dir():
        for name in META_FILES:
            if (source / name).exists():
                files = files + [("dataset.yaml", source / name)]
    for key, period in (("first_period", checked.periods[0]), ("last_period", checked.periods[-1])):
        if key in meta and str(meta[key]) != period.label:
            c.add(
                "dataset.yaml",
                None,
                key,
                meta[key],
                f"the panel's {key.replace('_', ' ')} is {period.label}",
                severity="warning",
            )
    return Dataset(
        checked.units,
        checked.panel,
        checked.graduates,
        checked.partnerships,
        frequency=checked.frequency,
        periods=checked.periods,
        meta=meta,
        source=source,
        warnings=list(c.problems),
        files=files,
    )


# ---------------------------------------------------------------------- reading files
def _table_for_name(name: str) -> str | None:
    """The table a file stem or sheet name stands for (``面板``, ``units``, ``单位 units``)."""
    candidates = [name, *[part for part in re.split(r"[\s()（）\[\]【】]+", name) if part]]
    for text in candidates:
        norm = schema._normalise(text)
        for table, aliases in schema.TABLE_ALIASES.items():
            if norm in {schema._normalise(a) for a in (table, *aliases)}:
                return table
    return None


def _read_source(path: Path):
    if not path.exists():
        raise FileNotFoundError(2, f"no such data folder or workbook: {path}", str(path))
    c = Collector()
    raws: dict[str, RawTable] = {}
    files: list[tuple[str, Path]] = []
    meta: dict = {}
    if path.is_file():
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            for raw in _read_workbook(path, c, only=None):
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
        table = _table_for_name(p.stem)
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
            for raw in _read_workbook(p, c, only=None):
                _put(raws, raw, c)
            files.append(("workbook", p))
        elif suffix in DATA_EXTENSIONS:
            c.add(
                p.name,
                None,
                None,
                None,
                "file not used: its name is not a table name (units/单位, "
                "panel/面板, graduates/毕业生, partnerships/校企合作)",
                severity="warning",
            )
        elif suffix not in _IGNORED_SUFFIXES:
            c.add(p.name, None, None, None, "file not used", severity="warning")
    for table in TABLE_ORDER:
        for p in by_table.get(table, []):
            suffix = p.suffix.lower()
            if suffix == ".csv":
                raw = _read_csv(p, table, c)
            elif suffix in (".parquet", ".pq"):
                raw = _read_parquet(p, table, c)
            else:
                found = _read_workbook(p, c, only=table)
                raw = found[0] if found else None
            if raw is not None:
                _put(raws, raw, c)
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
    return _check_meta(data, path.name, c)


def _check_meta(meta: dict, file: str, c: Collector) -> dict:
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
    if "synthetic" in meta and not isinstance(meta["synthetic"], bool):
        c.add(file, None, "synthetic", meta["synthetic"], "synthetic must be true or false", fatal=True)
    return meta


# ---------------------------------------------------------------------- limits
# Checked before a file is read. Raise them with the environment variables named here.
LIMITS = {
    "max_file_mb": ("EVALKIT_MAX_FILE_MB", 1024.0, "the size of one table file (MB; for an .xlsx, unpacked)"),
    "max_rows": ("EVALKIT_MAX_ROWS", 10_000_000, "the rows of one table"),
    "max_columns": ("EVALKIT_MAX_COLUMNS", 500, "the columns of one table"),
}
_SEPARATORS = {";": "';' (semicolon)", "\t": "a tab", "|": "'|' (vertical bar)"}


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


def _over_limit(file: str, name: str, found: float, c: Collector, row: int | None = None) -> bool:
    env, _, what = LIMITS[name]
    cap = limit(name)
    if found <= (cap * 2**20 if name == "max_file_mb" else cap):
        return False
    shown = f"{found / 2**20:,.1f} MB" if name == "max_file_mb" else f"{int(found):,}"
    cap_shown = f"{cap:g} MB" if name == "max_file_mb" else f"{int(cap):,}"
    c.add(
        file,
        row,
        None,
        None,
        f"{shown} is more than the limit for {what}, {cap_shown}; the file is refused "
        f"before reading. If it is right, raise the limit: environment variable {env} (e.g. {env}="
        f"{int(cap * 4)})",
        fatal=True,
    )
    return True


def _over_limit_bytes(path: Path, c: Collector) -> bool:
    return _over_limit(path.name, "max_file_mb", float(path.stat().st_size), c)


def _nul_problem(data: bytes, name: str, c: Collector) -> bool:
    """NUL bytes: UTF-16/32 text (reported as such) or a damaged file (a padded or cut copy)."""
    first = data.find(b"\x00")
    if first < 0:
        return False
    head = data[:4096]
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
    if not utf16 and len(head) >= 8:  # ASCII text in UTF-16 without BOM: every other byte is NUL
        even, odd = head[0::2].count(0) / len(head[0::2]), head[1::2].count(0) / len(head[1::2])
        utf16 = max(even, odd) > 0.4 and min(even, odd) < 0.05
    if utf16:
        c.add(
            name,
            None,
            None,
            None,
            "the file is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' (逗号分隔) instead",
            fatal=True,
        )
        return True
    row = data.count(b"\n", 0, first) + 1
    n = data.count(b"\x00")
    c.add(
        name,
        row,
        None,
        None,
        f"the file holds {n:,} NUL byte{'s' if n != 1 else ''} (binary zeros), the "
        f"first at byte {first:,} (row {row}): it is damaged or not a text file (a copy padded or cut short?); "
        "export the table again as 'CSV UTF-8'",
        fatal=True,
    )
    return True


def _looks_chinese(text: str) -> bool:
    """True when the non-ASCII characters of GB18030-decoded text are those of Chinese text: not
    the rare characters that Latin-1 / Windows-1252 / Big5 bytes decode to."""
    odd = common = 0
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            continue
        try:
            b = ch.encode("gb2312")
        except UnicodeEncodeError:
            odd += 1
            continue
        if len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1:
            common += 1
        else:
            odd += 1
        if common + odd >= 20000:
            break
    return odd <= 0.1 * (common + odd)


def _guess_encoding(data: bytes) -> str:
    """A name for the encoding of text that is neither UTF-8 nor GBK."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        if best is not None and best.encoding not in ("utf_8", "gb18030", "gbk", "gb2312"):
            return best.encoding.replace("_", "-")
    except Exception:  # noqa: BLE001 - optional helper; fall back to the plain guesses below
        pass
    try:
        data[:200_000].decode("big5")
        return "Big5 (Traditional Chinese)"
    except UnicodeDecodeError:
        pass
    return "Latin-1 / Windows-1252 (Western European)"


def _decode(data: bytes, name: str, c: Collector) -> bytes | None:
    """The file as UTF-8 bytes (BOM removed), or None with a problem naming the encoding.

    UTF-8 is checked in chunks (no text copy of the whole file); GBK/GB18030 is accepted only
    when it reads as Chinese text (Latin-1 and most other byte soups also decode as GB18030)."""
    import codecs

    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 1 << 24
    try:
        for i in range(0, len(data), step):
            decoder.decode(data[i : i + step], final=i + step >= len(data))
        return data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _looks_chinese(text):
        return text.encode("utf-8")
    del text
    enc = _guess_encoding(data)
    c.add(
        name,
        None,
        None,
        None,
        f"the text is neither UTF-8 nor GBK/GB18030: it looks like {enc}. evalkit does "
        "not guess (a wrong guess gives garbled text): save it as 'CSV UTF-8' (CSV UTF-8 逗号分隔)",
        fatal=True,
    )
    return None


def _separator(line: str) -> str | None:
    """The separator a header line uses when it is not a comma (None for a comma file)."""
    counts = {sep: line.count(sep) for sep in (",", *_SEPARATORS)}
    best = max(counts, key=counts.get)
    return None if best == "," or counts[best] == 0 else best


def _read_csv(path: Path, table: str, c: Collector) -> RawTable | None:
    if _over_limit_bytes(path, c):
        return None
    data = path.read_bytes()
    if not data.strip():
        c.add(path.name, None, None, None, "the file is empty (no header, no data)", fatal=True)
        return None
    if _nul_problem(data, path.name, c):
        return None
    data = _decode(data, path.name, c)
    if data is None:
        return None
    head_text = data[: 1 << 16].decode("utf-8", errors="ignore")
    head = []
    for i, record in enumerate(csv.reader(io.StringIO(head_text))):
        if i >= HEADER_SEARCH_ROWS:
            break
        head.append(record)
    lines = head_text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    sep = _separator(lines[first]) if lines else None
    if sep is not None:
        c.add(
            path.name,
            first + 1,
            None,
            lines[first][:80],
            f"this file is separated by {_SEPARATORS[sep]}, "
            "evalkit reads comma-separated CSV: re-save as CSV (comma) — in Excel/WPS: Save As → 'CSV UTF-8 "
            "(逗号分隔)'",
            fatal=True,
        )
        return None
    h = _find_header(table, head)
    if h is None:
        c.add(path.name, None, None, None, _no_header_rule(table), fatal=True)
        return None
    header = head[h]
    width = len(header)
    if _over_limit(path.name, "max_columns", width, c, row=h + 1):
        return None
    if _over_limit(path.name, "max_rows", data.count(b"\n"), c):
        return None
    bad: list = []

    def on_bad_row(row) -> str:
        bad.append((row.number, row.actual_columns, row.text))
        return "skip"

    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{j}" for j in range(width)]
    if len(head) <= h + 1 and data.count(b"\n") <= h + 1:  # a header and nothing after it
        return _make_raw(
            table,
            path.name,
            header,
            [pd.Series([], dtype="str") for _ in names],
            np.array([], dtype=np.int64),
            h + 1,
            c,
        )
    try:
        arrow = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=h + 1, use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_bad_row, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
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
    return _make_raw(table, path.name, header, columns, rows, h + 1, c)


def _read_parquet(path: Path, table: str, c: Collector) -> RawTable | None:
    if _over_limit_bytes(path, c):
        return None
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        if _over_limit(path.name, "max_rows", float(meta.num_rows), c) or _over_limit(
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
    return _make_raw(
        table, path.name, list(frame.columns), [frame[col] for col in frame.columns], np.arange(len(frame)) + 1, None, c
    )


def _find_header(table: str, records: list[list[Any]]) -> int | None:
    """0-based index of the record with most known column names among the first rows."""
    best, best_score = None, 0
    for i, record in enumerate(records):
        score = sum(1 for v in record if v not in (None, "") and _canonical(table, str(v)))
        if score > best_score:
            best, best_score = i, score
    return best


def _no_header_rule(table: str) -> str:
    required = ", ".join(f"{col.name}/{col.zh}" for col in schema.TABLES[table] if col.required)
    return (
        f"no header row found in the first {HEADER_SEARCH_ROWS} rows: the first row must name the columns "
        f"of the {table} table (required: {required})"
    )


def _make_raw(
    table: str,
    file: str,
    header: list,
    columns: list[pd.Series],
    rows: np.ndarray,
    header_row: int | None,
    c: Collector,
) -> RawTable:
    """Map headers to canonical names; unknown headers are kept aside as extras; fully blank records
    are dropped (their row numbers are kept for the rest)."""
    data, headers, extras = {}, {}, {}
    derived = set(DERIVED.get(table, ()))
    n = len(rows)
    nonblank = np.zeros(n, dtype=bool)
    for j, (h, values) in enumerate(zip(header, columns)):
        values = values.reset_index(drop=True)
        filled = _filled(values)
        nonblank |= filled
        h_text = "" if h is None or (isinstance(h, float) and h != h) else str(h).strip()
        if not h_text:
            if filled.any():
                c.add(
                    file,
                    header_row,
                    f"column {j + 1}",
                    None,
                    "values in a column without a header: they are not read (give the column a header or delete it)",
                    severity="warning",
                )
            continue
        name = _canonical(table, h_text)
        if name is None and h_text in derived:
            continue
        if name is None:
            extras[h_text] = values
            continue
        if name in data:
            c.add(
                file,
                header_row,
                h_text,
                None,
                f"two columns mean '{name}' (also '{headers[name]}'); keep one",
                fatal=True,
            )
            continue
        data[name] = values
        headers[name] = h_text
    keep = np.flatnonzero(nonblank) if n else np.array([], dtype=np.int64)
    if len(keep) < n:
        data = {k: v.iloc[keep].reset_index(drop=True) for k, v in data.items()}
        extras = {k: v.iloc[keep].reset_index(drop=True) for k, v in extras.items()}
        rows = rows[keep]
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    return RawTable(table, file, frame, np.asarray(rows), headers, header_row, extras)


def _filled(values: pd.Series) -> np.ndarray:
    if values.dtype == object:
        return np.array(
            [
                not (v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()))
                for v in values
            ],
            dtype=bool,
        )
    if pd.api.types.is_string_dtype(values):
        return (values.notna() & (values.str.strip() != "")).to_numpy(dtype=bool)
    return values.notna().to_numpy(dtype=bool)


def _read_workbook(path: Path, c: Collector, only: str | None) -> list[RawTable]:
    """Tables from the sheets of an .xlsx file. With ``only``, the sheet named for that table (or
    the first sheet). Rows above the header row (titles, merged group headers) are skipped; a
    header cell merged down from above takes the merged value; a header cell merged across columns
    is an error when the columns it covers hold data (they would have no name)."""
    import zipfile

    import openpyxl

    if _over_limit_bytes(path, c):
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
    if _over_limit(path.name + " (unpacked)", "max_file_mb", float(unpacked), c):
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
        sheets = [(ws, _table_for_name(ws.title)) for ws in book.worksheets]
        if only is not None:
            chosen = [s for s in sheets if s[1] == only] or sheets[:1]
            sheets = [(chosen[0][0], only)] if chosen else []
        out = []
        for ws, table in sheets:
            if table is None:
                continue  # instructions, column dictionary, the user's own notes
            file = f"{path.name}[{ws.title}]"
            if _over_limit(file, "max_rows", float(ws.max_row or 0), c) or _over_limit(
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
    h = _find_header(table, records[:HEADER_SEARCH_ROWS])
    if h is None:
        c.add(file, None, None, None, _no_header_rule(table), fatal=True)
        return None
    header_row = h + 1  # Excel rows are 1-based
    header = list(records[h])
    body = records[h + 1 :]
    width = max([len(header)] + [len(r) for r in body])
    header += [None] * (width - len(header))
    for merged in getattr(ws, "merged_cells", None).ranges if hasattr(ws, "merged_cells") else []:
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
    return _make_raw(table, file, header, columns, rows, header_row, c)

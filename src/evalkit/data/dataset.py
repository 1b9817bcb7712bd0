"""The consortium ``Dataset`` and how it is read: ``load(path)``, ``validate(path)``.

A dataset is a folder with one file per table (``units``, ``panel``, optional ``graduates``,
``partnerships`` and ``evidence``; file names in English or Chinese, see ``schema.TABLE_ALIASES``), each a CSV,
XLSX or Parquet file, plus an optional ``dataset.yaml`` of metadata, or a single ``.xlsx``
workbook with one sheet per table (the template written by ``evalkit template``).

CSV files may be UTF-8, UTF-8 with BOM or GBK/GB18030 (tried in that order). Headers are the
canonical English names, the Chinese names or the template's bilingual headers (see
``schema.canonical_header``); a title row above the header row is skipped. Row numbers in
problems are as a spreadsheet shows them: CSV header = row 1 (first data row = 2); XLSX the Excel
row number; Parquet the 1-based record number; a DataFrame (``Dataset.from_frames``) the 0-based
position (``df.iloc[row]``). The rules checked are listed in :mod:`evalkit.data.validation`; the
files are read by :mod:`evalkit.data.readers` (CSV, Parquet, dataset.yaml) and
:mod:`evalkit.data.workbook` (XLSX); input limits are in :mod:`evalkit.data.limits`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data.calendars import BY_TYPE_KEY, Calendars, start_month
from evalkit.data.flows import graduate_flows
from evalkit.data.limits import LIMITS, limit
from evalkit.data.periods import Period
from evalkit.data.raw import Collector, RawTable, arrow_system_pool, make_raw
from evalkit.data.readers import META_FILES, META_KEYS, TABLE_ORDER, check_meta, read_source
from evalkit.data.validation import check_tables
from evalkit.errors import DataError, Problem

# Names kept importable from here: the input limits and the metadata keys.
__all__ = ["LIMITS", "META_KEYS", "Dataset", "ValidationReport", "limit", "load", "validate"]


class Dataset:
    """The tables of one consortium, validated and typed.

    ``units`` (one row per unit; derived ``cohort``, ``cohort_t``, ``member``), ``panel`` (one
    row per unit × period, sorted by unit and period; derived ``t`` = 1-based index of the period
    in ``periods``; every schema variable present, float, NaN = not reported), ``graduates``,
    ``partnerships`` and ``evidence`` (the checklist evidence: item_id, unit_id — ``consortium``
    for the consortium as a whole —, status, evidence_ref, as_of, note; or None). Build one with :func:`load` or :meth:`from_frames`.
    """

    def __init__(
        self,
        units: pd.DataFrame,
        panel: pd.DataFrame,
        graduates: pd.DataFrame | None = None,
        partnerships: pd.DataFrame | None = None,
        *,
        evidence: pd.DataFrame | None = None,
        frequency: str,
        periods: list[Period],
        meta: dict | None = None,
        source: Path | None = None,
        warnings: list[Problem] | None = None,
        files: list[tuple[str, Path]] | None = None,
        calendars: Calendars | None = None,
        periods_by_frequency: dict[str, list[Period]] | None = None,
    ):
        self.units = units
        self.panel = panel
        self.graduates = graduates
        self.partnerships = partnerships
        self.evidence = evidence
        self.frequency = frequency
        self.periods = list(periods)
        self.calendars = calendars or Calendars(frequency, {}, periods[0].start_month if periods else 9)
        self.periods_by_frequency = dict(periods_by_frequency or {frequency: self.periods})
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
        evidence: pd.DataFrame | None = None,
        strict: bool = True,
    ) -> Dataset:
        """Build a dataset from DataFrames with the same validation as :func:`load` (problem rows
        are 0-based positions). Raises :class:`~evalkit.errors.DataError` listing every problem."""
        return cls._from_frames(
            units, panel, graduates, partnerships, meta, evidence=evidence, strict=strict, keys_checked=False
        )

    @classmethod
    def _from_frames(
        cls,
        units: pd.DataFrame,
        panel: pd.DataFrame,
        graduates: pd.DataFrame | None,
        partnerships: pd.DataFrame | None,
        meta: dict | None,
        *,
        evidence: pd.DataFrame | None,
        strict: bool,
        keys_checked: bool,
    ) -> Dataset:
        """:meth:`from_frames`; ``keys_checked=True`` for tables that are rows of a validated
        dataset (the as-of cut): everything is checked again except that no key repeats, which
        dropping rows cannot break."""
        c = Collector()
        meta = check_meta(dict(meta or {}), "meta", c)
        raws = {}
        for name, frame in (
            ("units", units),
            ("panel", panel),
            ("graduates", graduates),
            ("partnerships", partnerships),
            ("evidence", evidence),
        ):
            if frame is None:
                continue
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(f"{name} must be a pandas DataFrame, not {type(frame).__name__}")
            frame = frame.reset_index(drop=True)
            raws[name] = make_raw(
                name,
                f"{name} (DataFrame)",
                list(frame.columns),
                [frame[col] for col in frame.columns],
                np.arange(len(frame)),
                None,
                c,
            )
        return _build(
            raws, meta, c, source=None, files=None, strict=strict, label="the DataFrames", keys_checked=keys_checked
        )

    # ------------------------------------------------------------------ properties
    @property
    def start_month(self) -> int:
        """The academic year's first month (``academic_year_start_month``; default 9)."""
        return self.calendars.start_month

    @property
    def all_periods(self) -> list[Period]:
        """The periods of every calendar (colleges' first), each in order: ``periods`` unless the
        dataset mixes frequencies (``frequency_by_unit_type``)."""
        return [p for f in self.calendars.frequencies for p in self.periods_by_frequency.get(f, [])]

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
        the order units, panel, graduates, partnerships, evidence, then dataset.yaml), each prefixed by its
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
        return graduate_flows(self.graduates)

    def __repr__(self) -> str:
        flag = "SYNTHETIC DATA — not real figures; " if self.synthetic else ""
        span = f"{self.periods[0].label}–{self.periods[-1].label}" if self.periods else "no periods"
        parts = [
            f"{len(self.units)} units ({int(self.units['member'].sum())} members)",
            f"{len(self.panel)} panel rows",
            f"{self.frequency} periods {span}",
            *(
                f"{f} periods of {', '.join(t for t, g in self.calendars.by_unit_type.items() if g == f)} "
                f"{ps[0].label}–{ps[-1].label}"
                for f, ps in self.periods_by_frequency.items()
                if f != self.frequency and ps
            ),
        ]
        if self.graduates is not None:
            parts.append(f"{len(self.graduates)} graduate records")
        if self.partnerships is not None:
            parts.append(f"{len(self.partnerships)} partnerships")
        if self.evidence is not None:
            parts.append(f"{len(self.evidence)} checklist evidence rows")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        return f"<Dataset {self.name!r}: {flag}" + ", ".join(parts) + ">"


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
    with arrow_system_pool():
        source, raws, meta, files, c = read_source(Path(path))
        return _build(raws, meta, c, source=source, files=files, strict=strict, label=str(source))


def validate(path: str | Path) -> ValidationReport:
    """Check a dataset and report every problem; never raises for data problems (a missing path
    raises FileNotFoundError)."""
    with arrow_system_pool():
        source, raws, meta, files, c = read_source(Path(path))
        try:
            dataset = _build(raws, meta, c, source=source, files=files, strict=True, label=str(source))
        except DataError:
            dataset = None
    return ValidationReport(source, c.problems, dataset)


def from_validated_rows(
    units: pd.DataFrame,
    panel: pd.DataFrame,
    graduates: pd.DataFrame | None,
    partnerships: pd.DataFrame | None,
    meta: dict,
    *,
    evidence: pd.DataFrame | None,
) -> Dataset:
    """A dataset from tables that are rows of an already validated :class:`Dataset`'s tables (the
    as-of cut of :mod:`evalkit.review.asof`), checked as :meth:`Dataset.from_frames` checks
    (``strict=False``) except that no key repeats: dropping rows cannot repeat a unique key, and
    hashing the graduates' ids again was most of the cut's time. Frames that are not such rows
    belong in :meth:`Dataset.from_frames`."""
    return Dataset._from_frames(
        units, panel, graduates, partnerships, meta, evidence=evidence, strict=False, keys_checked=True
    )


def _build(
    raws: dict[str, RawTable],
    meta: dict,
    c: Collector,
    *,
    source,
    files,
    strict: bool,
    label: str,
    keys_checked: bool = False,
) -> Dataset:
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
        raws,
        meta.get("frequency"),
        c,
        declared_range=(meta.get("first_period"), meta.get("last_period")),
        by_unit_type=meta.get(BY_TYPE_KEY),
        start_month=start_month(meta),
        keys_checked=keys_checked,
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
        evidence=checked.evidence,
        frequency=checked.frequency,
        periods=checked.periods,
        meta=meta,
        source=source,
        warnings=list(c.problems),
        files=files,
        calendars=checked.calendars,
        periods_by_frequency=checked.periods_by_frequency,
    )

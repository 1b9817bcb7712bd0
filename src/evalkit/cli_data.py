"""The data commands of ``evalkit``: ``validate``, ``synth``, ``template``, ``collect``,
``codebook`` (registered by :func:`add_data_commands` from :mod:`evalkit.cli`) and the user's
language (``--lang zh|en``; default from the locale: ``LANG`` starting with ``zh`` → Chinese)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.i18n import Lang

DEFAULT_DATA = Path("data/zhuzhou_synthetic")


def default_lang() -> Lang:
    """``zh`` when the locale (``LC_ALL``, ``LC_MESSAGES`` or ``LANG``) starts with ``zh``, else ``en``."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _lang(args: argparse.Namespace) -> Lang:
    return args.lang or default_lang()


def _t(code: str, args: argparse.Namespace, **params) -> str:
    from evalkit.data import messages as _messages  # noqa: F401 - registers the texts
    from evalkit.i18n import text

    return text(code, _lang(args), **params)


def cmd_validate(args: argparse.Namespace) -> int:
    from evalkit.data.dataset import validate
    from evalkit.data.rules_zh import format_report

    report = validate(args.path)
    print(format_report(report, _lang(args)))
    return 0 if report.ok else 2


def cmd_synth(args: argparse.Namespace) -> int:
    from evalkit.data import synth
    from evalkit.safe_io import check_output

    if args.workbooks:
        from evalkit.data.synth_returns import write_returns

        if args.frequency == "mixed":
            raise EvalkitError(_t("cli.synth.mixed_workbooks", args))

        consortium = synth.generate(args.seed) if args.frequency in (None, "half") else None
        if consortium is None:
            from evalkit.data.academic import generate_academic

            consortium = generate_academic(args.seed)
        out = write_returns(consortium, args.workbooks, force=args.force)
        print(_t("cli.synth.workbooks", args, out=out))
        return 0
    check_output(args.out, force=args.force, kind="folder")
    if args.consortia:
        manifest = synth.write_many(args.out, n=args.consortia, seed=args.seed)
        print(f"wrote {args.consortia} synthetic consortia and their manifest: {manifest}")
        return 0
    if args.frequency == "academic_year":
        from evalkit.data.academic import generate_academic

        out = synth.write_consortium(generate_academic(args.seed), args.out)
    elif args.frequency == "mixed":
        from evalkit.data.academic import generate_mixed

        out = synth.write_consortium(generate_mixed(args.seed), args.out)
    else:
        out = synth.write_synthetic(args.out, seed=args.seed)
    print(_t("cli.synth.one", args, seed=args.seed, out=out))
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    if args.units:
        from evalkit.data.unit_template import write_unit_templates

        if not args.out_dir and not args.out:
            raise EvalkitError("evalkit template --units needs --out FOLDER")
        out = args.out_dir or args.out
        periods = [p.strip() for p in args.periods.split(",")] if args.periods else None
        paths = write_unit_templates(args.units, out, periods=periods, force=args.force)
        print(_t("cli.template.units", args, n=len(paths), out=out))
        return 0
    from evalkit.data.template import write_template

    out = args.out or args.out_dir
    if out is None:
        raise EvalkitError("evalkit template: give the workbook to write (evalkit template OUT.xlsx)")
    path = write_template(out, force=args.force)
    print(_t("cli.template.one", args, path=path))
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from evalkit.data.collect import collect, format_collection

    col = collect(args.inbox, args.out, units=args.units, force=args.force, lang=_lang(args))
    print(format_collection(col, _lang(args)))
    return 0 if col.ok else 2


def cmd_codebook(args: argparse.Namespace) -> int:
    from evalkit.data.codebook import write_codebook

    paths = write_codebook(args.path, args.out, force=args.force, lang=_lang(args))
    for path in paths:
        print(_t("cli.codebook", args, path=path))
    return 0


def indicator_names(table, reg):
    """The indicator table with ``name_zh``, ``name_en``, ``unit`` and ``unit_zh`` beside ``indicator``."""
    import pandas as pd

    names = pd.DataFrame(
        [(i.id, i.name_zh, i.name_en, i.unit, i.unit_zh) for i in reg],
        columns=["indicator", "name_zh", "name_en", "unit", "unit_zh"],
    )
    out = table.merge(names, on="indicator", how="left")
    cols = list(table.columns)
    at = cols.index("indicator") + 1
    return out[cols[:at] + ["name_zh", "name_en", "unit", "unit_zh"] + cols[at:]]


def _lang_option(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--lang", choices=["zh", "en"], default=None, help="language of messages (default: from LANG; zh_* → zh)"
    )


def add_data_commands(sub) -> None:
    """Register validate, synth, template, collect and codebook on the ``evalkit`` subparsers."""
    s = sub.add_parser("validate", help="check a data folder and list every problem")
    s.add_argument("path", type=Path)
    _lang_option(s)
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("synth", help="write the seed-calibrated synthetic consortium (with its truth file)")
    s.add_argument("--out", type=Path, default=DEFAULT_DATA)
    s.add_argument("--seed", type=int, default=20231205)
    s.add_argument(
        "--consortia",
        type=int,
        default=0,
        metavar="N",
        help="write N differently-seeded consortia of varying size and a batch manifest",
    )
    s.add_argument(
        "--workbooks",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the consortium as the units' returned workbooks (for `evalkit collect`)",
    )
    s.add_argument(
        "--frequency",
        choices=["half", "academic_year", "mixed"],
        default=None,
        help="half-years (default), academic years (2023-2024学年, September–August) or mixed (colleges on "
        "academic years, enterprises and the park on calendar years, declared in dataset.yaml)",
    )
    s.add_argument("--force", action="store_true", help="write into an existing, non-empty folder")
    _lang_option(s)
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("template", help="write the Excel data-collection template (or one workbook per unit)")
    s.add_argument("out", type=Path, nargs="?", help="the workbook to write")
    s.add_argument("--units", type=Path, default=None, help="a units list: write one workbook per unit into --out")
    s.add_argument("--out", dest="out_dir", type=Path, default=None, help="folder of the per-unit workbooks")
    s.add_argument("--periods", default=None, help="period labels to pre-fill, comma-separated (2024H1,2024H2)")
    s.add_argument("--force", action="store_true", help="replace existing files")
    _lang_option(s)
    s.set_defaults(func=cmd_template)

    s = sub.add_parser("collect", help="merge the units' returned workbooks into one data folder")
    s.add_argument("inbox", type=Path)
    s.add_argument("--out", type=Path, required=True, help="the data folder to write")
    s.add_argument("--units", type=Path, default=None, help="the units list (default: units.csv in the inbox)")
    s.add_argument("--force", action="store_true", help="write over an existing data folder")
    _lang_option(s)
    s.set_defaults(func=cmd_collect)

    s = sub.add_parser("codebook", help="write the codebook of a data folder (.html or .xlsx)")
    s.add_argument("path", type=Path)
    s.add_argument("--out", type=Path, required=True, help="codebook.html or codebook.xlsx")
    s.add_argument("--force", action="store_true", help="replace an existing file")
    _lang_option(s)
    s.set_defaults(func=cmd_codebook)

"""Command line: ``evalkit validate | synth | template | collect | codebook | metrics | review | batch``
(the data commands are in :mod:`evalkit.cli_data`).

Exit codes: 0 success; 1 a review or batch item failed; 2 bad input (every problem is
printed, with what to do next, and no traceback).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from evalkit.cli_data import add_data_commands

DEFAULT_DATA = Path("data/zhuzhou_synthetic")


def _cmd_metrics(args: argparse.Namespace) -> int:
    from evalkit.indicators import metrics, registry

    reg = registry.load_registry(args.registry)
    if args.list or not args.path:
        print(reg.describe(lang=args.lang))
        return 0
    from evalkit.data.dataset import load
    from evalkit.safe_io import check_output, write_csv

    if args.out:  # before the work: a refused output path should not cost a full computation
        check_output(args.out, force=args.force, kind="file")
    table = metrics.compute(load(args.path), reg)
    if args.out:
        from evalkit.cli_data import indicator_names

        write_csv(indicator_names(table, reg), args.out, force=args.force)
        print(f"wrote {len(table)} indicator values to {args.out}")
    else:
        print(table.to_string(max_rows=40))
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    import os

    from evalkit.review.runner import run_from_cli

    if args.no_cache:  # the kernels inherit the environment: every part is computed afresh
        os.environ["EVALKIT_CACHE"] = "off"
    return run_from_cli(args)


def _cmd_cache(args: argparse.Namespace) -> int:
    from evalkit.review.cache import LIMIT_VARIABLE, ResultCache, size_limit

    cache = ResultCache.default()
    if cache.folder is None:
        print("the result cache is off (EVALKIT_CACHE=off)")
        return 0
    limit = size_limit(args.max_mb)  # a bad limit exits 2 whatever the action
    if args.action == "clear":
        n = cache.clear()
        print(f"removed {n} cached result{'s' if n != 1 else ''} from {cache.folder}")
    elif args.action == "prune":
        source = "--max-mb" if args.max_mb is not None else LIMIT_VARIABLE
        pruned = cache.prune(limit)
        print(
            pruned.describe(source)
            or f"result cache: nothing to remove ({pruned.size / 1e6:.1f} MB of its {limit / 1e6:.1f} MB limit)"
        )
    else:
        n, size = cache.usage()
        set_by = LIMIT_VARIABLE if os.environ.get(LIMIT_VARIABLE, "").strip() else "default"
        print(
            f"{cache.folder}: {n} cached results, {size / 1e6:.1f} MB (limit {limit / 1e6:.1f} MB, "
            f"{'--max-mb' if args.max_mb is not None else set_by}; the least recently used are removed after "
            "each review run, and when a review is opened outside one)"
        )
        for kind, (count, nbytes) in cache.usage_by_kind().items():
            print(f"  {kind:<16} {count:>6} {nbytes / 1e6:>10.1f} MB")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from evalkit.review.batch import run_from_cli

    return run_from_cli(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evalkit", description="Evaluate a city-level industry–education consortium (市域产教联合体评价工具)."
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True)

    add_data_commands(sub)  # validate, synth, template, collect, codebook (evalkit.cli_data)

    s = sub.add_parser("metrics", help="list the indicator registry, or compute indicators for a data folder")
    s.add_argument("path", type=Path, nargs="?")
    s.add_argument("--list", action="store_true", help="print the registry")
    s.add_argument("--registry", type=Path, default=None, help="your own registry YAML")
    s.add_argument("--out", type=Path, default=None, help="write the indicator table as CSV")
    s.add_argument("--force", action="store_true", help="replace an existing --out file")
    s.add_argument("--lang", choices=["zh", "en"], default="zh")
    s.set_defaults(func=_cmd_metrics)

    s = sub.add_parser("review", help="run phase reviews (papermill) and render them to HTML")
    s.add_argument("phases", nargs="*", help="phase ids (params/<id>.yaml); default: all")
    s.add_argument("--all", action="store_true", help="every params file in --params")
    s.add_argument("--params", type=Path, default=Path("params"))
    s.add_argument("--data", type=Path, default=None, help="override the data folder of every params file")
    s.add_argument("--out", type=Path, default=Path("reports"))
    s.add_argument("--jobs", type=int, default=2)
    s.add_argument("--timeout", type=int, default=900, help="seconds per notebook cell")
    s.add_argument("--no-html", action="store_true")
    s.add_argument("--pdf", action="store_true", help="also print each review to PDF with headless Chromium")
    s.add_argument(
        "--notebook", type=Path, default=None, help="the review notebook to run (default: notebooks/phase_review.ipynb)"
    )
    s.add_argument(
        "--force",
        action="store_true",
        help="write into an --out folder holding reviews of other data (they are marked stale)",
    )
    s.add_argument(
        "--no-cache",
        action="store_true",
        help="run every review and compute every result afresh (no review is reused, the result cache is neither read nor written)",
    )
    s.add_argument("--docx", action="store_true", help="also write each review as Word (review.docx) for panels")
    s.add_argument(
        "--name-comparisons", action="store_true", help="show comparison units by name (anonymised by default)"
    )
    s.set_defaults(func=_cmd_review)

    s = sub.add_parser(
        "cache", help="the result cache of reviews ($EVALKIT_CACHE, default ~/.cache/evalkit): show, prune or clear it"
    )
    s.add_argument(
        "action",
        choices=["info", "clear", "prune"],
        nargs="?",
        default="info",
        help="info (default): size and limit; clear: remove everything; prune: remove the least recently used "
        "results until the cache is within its limit",
    )
    s.add_argument(
        "--max-mb",
        default=None,
        help="the size limit in MB for this command (default: $EVALKIT_CACHE_MAX_MB, else 2048)",
    )
    s.set_defaults(func=_cmd_cache)

    s = sub.add_parser("batch", help="run every phase review of every consortium in a manifest")
    s.add_argument("manifest", type=Path)
    s.add_argument("--jobs", type=int, default=2)
    s.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    s.add_argument(
        "--connect-timeout",
        type=float,
        default=30,
        help="seconds to wait for the --scheduler (a peer silent for min(10, this) s is refused)",
    )
    s.add_argument("--out", type=Path, default=Path("reports/batch"))
    s.add_argument("--timeout", type=int, default=900)
    s.add_argument("--no-html", action="store_true")
    s.add_argument(
        "--notebook", type=Path, default=None, help="the review notebook to run (default: notebooks/phase_review.ipynb)"
    )
    s.add_argument(
        "--force",
        action="store_true",
        help="write into consortium folders holding reviews of other data (they are marked stale)",
    )
    s.set_defaults(func=_cmd_batch)
    return p


def _version() -> str:
    from evalkit import __version__

    return f"evalkit {__version__}"


def _crash_log(exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected error to a log file; its path, or None."""
    import tempfile
    import time
    import traceback

    path = Path(tempfile.gettempdir()) / f"evalkit-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        path.write_text(
            f"evalkit {_version()} · {' '.join(sys.argv)}\n\n" + "".join(traceback.format_exception(exc)),
            encoding="utf-8",
        )
    except OSError:
        return None
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the ``evalkit`` command. Exit codes: 0 success; 1 a review failed or an unexpected
    error (one line; the traceback goes to a log file); 2 bad input; 130 interrupted."""
    from evalkit.errors import EvalkitError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EvalkitError as exc:
        print(f"evalkit: {exc}", file=sys.stderr)
        return exc.exit_code
    except FileNotFoundError as exc:
        print(
            f"evalkit: file not found: {exc.filename or exc}\nWhat to do: check the path and run again.",
            file=sys.stderr,
        )
        return 2
    except PermissionError as exc:
        print(
            f"evalkit: permission denied: {exc.filename or exc}\nWhat to do: choose a folder you can write "
            "(e.g. --out) or fix its permissions.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"evalkit: interrupted ({signal.Signals(signum).name}); no report was replaced", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:  # `evalkit metrics --list | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, the traceback to a file
        log = _crash_log(exc)
        first = (str(exc).splitlines() or [""])[0][:300]
        where = f"the full traceback is in {log}" if log else "no traceback file could be written"
        print(f"evalkit: unexpected error: {type(exc).__name__}: {first} — {where}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

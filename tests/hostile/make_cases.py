"""The hostile-input corpus, generated from the default data (data/zhuzhou_synthetic) by code.

Each case is a folder of files written into a temporary directory, the ``evalkit`` command to run
on it, the exit code it must give and the text the output must contain (file, row, column, rule).
Nothing here is stored as binary: ``write_cases(root)`` builds every case in a fraction of a second.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "data" / "zhuzhou_synthetic"
MEMORY_CAP = 3 * 2**30  # RLIMIT_AS for the bomb and NUL-tail cases


@dataclass
class Case:
    """One hostile input and what evalkit must answer."""

    name: str
    files: dict  # file name -> bytes, or -> callable(path) writing the file
    expect: list[str]  # substrings of stdout + stderr (file, row, column, rule)
    args: list[str] = field(default_factory=lambda: ["validate", "{case}"])
    code: int = 2
    env: dict = field(default_factory=dict)
    capped: bool = False  # run under MEMORY_CAP
    keep: list[str] = field(default_factory=list)  # files that must be unchanged after the run
    check: object = None  # callable(folder) asserting on the files written (injection cases)
    kind: str = "input"  # the class: input, bomb, lost_work, injection, preflight, runner


def _base() -> dict[str, bytes]:
    """The default data cut to its first colleges and enterprises (fast to validate), as bytes."""
    import pandas as pd

    read = {name: pd.read_csv(DEFAULT / name, dtype=str, keep_default_na=False)
            for name in ("units.csv", "panel.csv", "partnerships.csv")}
    units = read["units.csv"]
    keep = set(units["unit_id"][units["unit_type"] == "college"][:4]) | set(
        units["unit_id"][units["unit_type"] == "enterprise"][:6])
    units = units[units["unit_id"].isin(keep) & units["parent_id"].isin(keep | {""})]
    panel = read["panel.csv"][read["panel.csv"]["unit_id"].isin(keep)]
    parts = read["partnerships.csv"]
    parts = parts[parts["college_id"].isin(keep) & parts["enterprise_id"].isin(keep)]
    out = {name: frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
           for name, frame in (("units.csv", units), ("panel.csv", panel), ("partnerships.csv", parts))}
    out["dataset.yaml"] = (DEFAULT / "dataset.yaml").read_bytes()
    return out


def _cut_inside_last_number(panel: bytes) -> bytes:
    """The panel with a column the last record reports moved to the end (column order is free),
    then cut one character before the end: a file stopped in the middle of its last number."""
    import io

    import pandas as pd

    frame = pd.read_csv(io.BytesIO(panel), dtype=str, keep_default_na=False)
    last = frame.iloc[-1]
    col = next(c for c in reversed(frame.columns) if len(last[c]) >= 2 and last[c].replace(".", "").isdigit())
    frame = frame[[c for c in frame.columns if c != col] + [col]]
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8").rstrip(b"\n")[:-1]


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8").splitlines()


def _join(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _set_cell(data: bytes, row: int, column: str, value: str) -> bytes:
    """CSV bytes with one cell replaced (row as a spreadsheet shows it: header = 1)."""
    records = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    j = records[0].index(column)
    records[row - 1][j] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(records)
    return buf.getvalue().encode("utf-8")


def _workbook(base: dict[str, bytes], edit=None) -> bytes:
    """units and panel as one workbook (numbers as numbers); ``edit(ws_panel)`` may change cells."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "units"
    for rec in csv.reader(io.StringIO(base["units.csv"].decode("utf-8"))):
        ws.append(rec)
    wp = book.create_sheet("panel")
    for i, rec in enumerate(csv.reader(io.StringIO(base["panel.csv"].decode("utf-8")))):
        wp.append(rec if i == 0 else [None if v == "" else (float(v) if k >= 2 else v) for k, v in enumerate(rec)])
    if edit is not None:
        edit(wp)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, member: str, transform) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info.filename, transform(content) if info.filename == member else content)
    return out.getvalue()


def _sparse(size: int, head: bytes):
    def write(path: Path) -> None:
        with open(path, "wb") as fh:
            fh.write(head)
            fh.truncate(len(head) + size)  # a sparse tail of NUL bytes: no disk used
    return write


BOMB = b"""frequency: half
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def cases() -> list[Case]:
    """Every hostile case (at least 60)."""
    b = _base()
    panel, units, parts = b["panel.csv"], b["units.csv"], b["partnerships.csv"]
    pl = _lines(panel)
    n_panel = len(pl)  # the last record's spreadsheet row
    out: list[Case] = []

    def add(name, expect, code=2, **files_and_opts):
        opts = {
            k: files_and_opts.pop(k) for k in ("args", "env", "capped", "keep", "check", "kind") if k in files_and_opts
        }
        files = dict(b)
        for key, value in files_and_opts.items():
            fname = key.replace("__", ".")
            if value is None:
                files.pop(fname, None)
            else:
                files[fname] = value
        out.append(Case(name, files, expect, code=code, **opts))

    # --- cut, ragged and damaged CSV
    add("cut_mid_last_row", ["panel.csv", f"row {n_panel}", "cut short"], panel__csv=panel[:-20])
    add("cut_mid_number", ["panel.csv", f"row {n_panel}", "line break"], panel__csv=_cut_inside_last_number(panel))
    add("cut_mid_row_50", ["panel.csv", "row 50", "ragged"],
        panel__csv=_join(pl[:49] + [pl[49][:25]] + pl[50:]))
    add("extra_field_row_10", ["panel.csv", "row 10", "ragged"], panel__csv=_join(pl[:9] + [pl[9] + ",9"] + pl[10:]))
    ul = _lines(units)
    add("units_short_row", ["units.csv", "row 7", "ragged"], units__csv=_join(ul[:6] + [ul[6].rsplit(",", 3)[0]] + ul[7:]))
    add("unterminated_quote", ["panel.csv", "quote"], panel__csv=_join(pl[:20] + ['C01,"2019H1,1'] + pl[21:]))
    add("empty_panel", ["panel.csv", "empty"], panel__csv=b"")
    add("blank_panel", ["panel.csv", "empty"], panel__csv=b"\n\n  \n")
    add("bom_only_panel", ["panel.csv", "no header"], panel__csv=b"\xef\xbb\xbf")
    add("header_cut", ["panel.csv", "row 1"], panel__csv=pl[0][:40].encode())
    # --- encodings
    latin = units.decode("utf-8").replace("Hunan Railway", "Hunan Raïlway Café Müller").encode("utf-8")
    ascii_units = "\n".join(line for line in latin.decode("utf-8").splitlines()
                            if line.isascii() or "Café" in line) + "\n"
    add("latin1_units", ["units.csv", "neither UTF-8 nor GBK"],
        units__csv=ascii_units.replace("湖南铁道职业技术学院", "").encode("latin-1", errors="replace"))
    add("cp1252_quotes", ["units.csv", "neither UTF-8 nor GBK"],
        units__csv=ascii_units.replace("湖南铁道职业技术学院", "“Rail” – ‘college’ Müller").encode("cp1252", errors="replace"))
    add("big5_units", ["units.csv", "neither UTF-8 nor GBK"], units__csv=units.decode().encode("big5", errors="replace"))
    add("shift_jis_units", ["units.csv", "neither UTF-8 nor GBK"],
        units__csv=units.decode().replace("湖南铁道职业技术学院", "ｶﾀｶﾅﾃｽﾄ テスト").encode("shift_jis", errors="replace"))
    add("utf16_bom", ["units.csv", "UTF-16"], units__csv=units.decode().encode("utf-16"))
    add("utf16_no_bom", ["panel.csv", "UTF-16"], panel__csv=panel.decode().encode("utf-16-le"))
    add("utf32", ["units.csv", "UTF-16"], units__csv=units.decode().encode("utf-32"))
    add("nul_early_utf8", ["panel.csv", "row 3", "NUL"], panel__csv=_join(pl[:2] + ["C01,2019H1\x00,1"] + pl[3:]))
    add("nul_tail_small", ["panel.csv", f"row {n_panel + 1}", "NUL"], panel__csv=panel + b"\x00" * 2_000_000)
    add("nul_tail_2gb", ["panel.csv", "EVALKIT_MAX_FILE_MB"], panel__csv=_sparse(2 * 2**30, panel), capped=True)
    add("nul_in_units", ["units.csv", "NUL"], units__csv=units[:300] + b"\x00\x00" + units[300:])
    # --- separators
    add("semicolon", ["panel.csv", "separated by ';'", "re-save as CSV (comma)"],
        panel__csv=panel.replace(b",", b";"))
    add("tab", ["panel.csv", "separated by a tab"], panel__csv=panel.replace(b",", b"\t"))
    add("pipe", ["units.csv", "separated by '|'"], units__csv=units.replace(b",", b"|"))
    # --- periods and dates beyond the data's end
    add("period_2099", ["panel.csv", "row 30", "period", "after the end of the data", "last_period"],
        panel__csv=_set_cell(panel, 30, "period", "2099H1"))
    undeclared = b["dataset.yaml"].replace(b"last_period: 2026H1\n", b"")
    add("period_2099_undeclared", ["panel.csv", "row 31", "after the end", "today"], dataset__yaml=undeclared,
        panel__csv=_set_cell(panel, 31, "period", "2099H2"))
    add("period_before_first", ["panel.csv", "row 32", "before the start"],
        panel__csv=_set_cell(panel, 32, "period", "2001H1"))
    add("partnership_start_2099", ["partnerships.csv", "row 5", "start_date", "after the end"],
        partnerships__csv=_set_cell(parts, 5, "start_date", "2099-01-01"))
    add("member_since_2099", ["units.csv", "row 4", "member_since"], units__csv=_set_cell(units, 4, "member_since",
                                                                                        "2099-05-01"))
    grads = b"graduate_id,college_id,major,cohort,placed,local,member_enterprise,job_match,income\n" \
            b"g1,C01,rail,2019H1,1,1,1,1,4000\ng2,C01,rail,2099H1,1,1,1,1,4000\n"
    add("graduate_cohort_2099", ["graduates.csv", "row 3", "cohort", "after the end"], graduates__csv=grads)
    # --- numbers
    for name, value, rule in (("thousands_1_8_3_6_6", "1,8,3,6,6", "thousands separator"),
                              ("thousands_indian", "1,23,456", "thousands separator"),
                              ("decimal_comma", "12,5", "thousands separator"),
                              ("fullwidth_comma_bad", "12，34", "thousands separator"),
                              ("value_1e308", "1e308", "magnitude above"),
                              ("value_1e16", "10000000000000000", "magnitude above"),
                              ("value_neg_1e300", "-1e300", "magnitude above"),
                              ("value_inf", "inf", "not a finite number"),
                              ("value_neg_inf", "-Infinity", "not a finite number")):
        add(name, ["panel.csv", "row 12", "students", rule], panel__csv=_set_cell(panel, 12, "students", value))
    add("max_abs_value_setting", ["panel.csv", "row 12", "magnitude above 1000"],
        panel__csv=_set_cell(panel, 12, "students", "5000"),
        dataset__yaml=b["dataset.yaml"] + b"max_abs_value: 1000\n")
    # --- limits (settings named)
    add("file_size_limit", ["panel.csv", "EVALKIT_MAX_FILE_MB"], env={"EVALKIT_MAX_FILE_MB": "0.005"})
    add("row_limit", ["panel.csv", "EVALKIT_MAX_ROWS"], env={"EVALKIT_MAX_ROWS": "100"})
    add("column_limit", ["panel.csv", "EVALKIT_MAX_COLUMNS"], env={"EVALKIT_MAX_COLUMNS": "12"})
    # --- YAML
    add("yaml_bomb_dataset", ["dataset.yaml", "billion laughs"], dataset__yaml=BOMB, capped=True)
    add("yaml_recursive_alias", ["dataset.yaml", "refers to itself"], dataset__yaml=b"frequency: half\nx: &x [1, *x]\n")
    add("yaml_too_big", ["dataset.yaml", "EVALKIT_MAX_YAML_MB"],
        dataset__yaml=b"frequency: half\ndescription: '" + b"x" * (3 * 2**20) + b"'\n")
    add("yaml_not_utf8", ["dataset.yaml", "not UTF-8"], dataset__yaml="name_en: Café\n".encode("latin-1"))
    add("yaml_python_tag", ["dataset.yaml", "not valid YAML"],
        dataset__yaml=b"frequency: !!python/object/apply:os.system ['echo hi']\n")
    add("yaml_deep_nesting", ["dataset.yaml"], dataset__yaml=b"x: " + b"[" * 20000 + b"]" * 20000 + b"\n")
    add("params_bomb", ["phase1.yaml", "billion laughs"], capped=True,
        args=["review", "--params", "{case}/params", "phase1", "--out", "{case}/reports", "--no-html"],
        **{"params/phase1__yaml": BOMB})
    add("manifest_bomb", ["manifest.yaml", "billion laughs"], capped=True,
        args=["batch", "{case}/manifest.yaml", "--out", "{case}/reports", "--no-html"], manifest__yaml=BOMB)
    add("registry_bomb", ["registry", "billion laughs"], capped=True,
        args=["metrics", "--list", "--registry", "{case}/registry.yaml"], registry__yaml=BOMB)
    # --- Excel
    def formula(ws):
        ws["C2"] = "=1+1"
        ws["D5"] = "=SUM(D2:D4)"

    add("xlsx_formulas_no_cache", ["data.xlsx[panel]", "row 5", "cell D5", "formula without a saved value"],
        panel__csv=None, units__csv=None, data__xlsx=_workbook(b, formula))
    wb = _workbook(b)
    add("xlsx_truncated", ["data.xlsx", "damaged"], panel__csv=None, units__csv=None, data__xlsx=wb[: len(wb) // 2])
    add("xlsx_truncated_sheet_xml", ["data.xlsx", "damaged"], panel__csv=None, units__csv=None,
        data__xlsx=_rezip(wb, "xl/worksheets/sheet2.xml", lambda x: x[: len(x) // 2]))
    add("xlsx_not_a_zip", ["data.xlsx", "not an .xlsx"], panel__csv=None, units__csv=None, data__xlsx=panel)
    # a limit above the packed size and below the unpacked one: the unpacked size is what refuses it
    packed_mb = len(wb) / 2**20
    add("xlsx_unpacked_limit", ["data.xlsx (unpacked)", "EVALKIT_MAX_FILE_MB"], panel__csv=None, units__csv=None,
        data__xlsx=wb, env={"EVALKIT_MAX_FILE_MB": f"{packed_mb * 1.2:.4f}"})

    def late(ws):
        ws["B40"] = "2099H1"

    add("xlsx_period_2099", ["data.xlsx[panel]", "row 40", "after the end"], panel__csv=None, units__csv=None,
        data__xlsx=_workbook(b, late))

    def huge(ws):
        ws["C41"] = 1e308
        ws["D42"] = "1,8,3"

    add("xlsx_numbers", ["data.xlsx[panel]", "row 41", "magnitude above", "row 42", "thousands separator"],
        panel__csv=None, units__csv=None, data__xlsx=_workbook(b, huge))
    add("xlsx_row_limit", ["data.xlsx[panel]", "EVALKIT_MAX_ROWS"], panel__csv=None, units__csv=None,
        data__xlsx=wb, env={"EVALKIT_MAX_ROWS": "100"})
    # --- Parquet
    add("parquet_damaged", ["panel.parquet", "Parquet"], panel__csv=None, panel__parquet=b"PAR1" + panel[:500])
    add("parquet_inf", ["panel.parquet", "not a finite number"], panel__csv=None, panel__parquet=_parquet(panel, inf=True))
    add("parquet_row_limit", ["panel.parquet", "EVALKIT_MAX_ROWS"], panel__csv=None,
        panel__parquet=_parquet(panel), env={"EVALKIT_MAX_ROWS": "100"})
    # --- no lost work
    add("template_exists", ["--force", "already exists"], args=["template", "{case}/filled.xlsx"],
        filled__xlsx=wb, keep=["filled.xlsx"])
    add("synth_into_folder", ["--force", "not empty"], args=["synth", "--out", "{case}"],
        keep=["units.csv", "panel.csv", "dataset.yaml"])
    add("metrics_out_exists", ["--force", "already exists"], args=["metrics", "{case}", "--out", "{case}/ind.csv"],
        ind__csv=b"my,own\n1,2\n", keep=["ind.csv"])
    add("metrics_out_is_folder", ["is a folder"], args=["metrics", "{case}", "--out", "{case}/sub"],
        **{"sub/keep.txt": b"mine\n"}, keep=["sub/keep.txt"])
    # --- controls: valid variants pass
    add("ok_base", ["OK"], code=0)
    add("ok_bom", ["OK"], code=0, units__csv=b"\xef\xbb\xbf" + units)
    add("ok_gbk", ["OK"], code=0, units__csv=units.decode().encode("gbk"))
    add("ok_crlf", ["OK"], code=0, panel__csv=panel.replace(b"\n", b"\r\n"))
    add("ok_thousands", ["OK"], code=0, panel__csv=_set_cell(panel, 12, "students", "1,234,567"))
    _more_cases(add, b)
    return out


PAYLOADS = {
    "hyperlink": '=HYPERLINK("http://x","y")',
    "cmd": "=cmd|' /C calc'!A0",
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
}


def _csv_neutral(path: str):
    """A check: no cell of the written CSV starts like a formula unless it is a number or quoted."""

    def check(folder: Path) -> None:
        text = (folder / path).read_text(encoding="utf-8-sig")
        for record in csv.reader(io.StringIO(text)):
            for cell in record:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    try:
                        float(cell)
                    except ValueError:
                        raise AssertionError(f"live formula cell in {path}: {cell!r}") from None

    return check


def _rename_unit(b: dict[str, bytes], old: str, new: str) -> dict[str, bytes]:
    """The base data with one unit id replaced everywhere (units, panel, partnerships)."""
    out = {}
    for name in ("units.csv", "panel.csv", "partnerships.csv"):
        records = list(csv.reader(io.StringIO(b[name].decode("utf-8"))))
        records = [records[0]] + [[new if v == old else v for v in r] for r in records[1:]]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(records)
        out[name.replace(".", "__")] = buf.getvalue().encode("utf-8")
    return out


def _params(**changes) -> bytes:
    """params/phase2.yaml over the case's own data folder, with ``changes`` (None deletes a key;
    dotted keys reach into methods, privacy, targets)."""
    import yaml

    raw = yaml.safe_load((ROOT / "params" / "phase2.yaml").read_text(encoding="utf-8"))
    raw["data"] = "."
    raw["targets"] = {"dual_workshops": 20, "apprentices": 900}
    raw["methods"]["twfe_outcomes"] = raw["methods"]["did_outcomes"] = ["tech_service_income_per_100_teachers"]
    for key, value in changes.items():
        where, _, leaf = key.rpartition(".")
        node = raw[where] if where else raw
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False).encode("utf-8")


REVIEW = ["review", "phase2", "--params", "{case}/params", "--out", "{case}/reports", "--no-html"]
NAN, INF = float("nan"), float("inf")


def _more_cases(add, b: dict[str, bytes]) -> None:
    """Injection into spreadsheets, preflight values, duplicate keys, options and runner faults."""
    units = b["units.csv"]
    # --- injection: formula payloads in unit ids and names reach the metrics CSV neutralised
    for tag, payload in PAYLOADS.items():
        add(f"inject_csv_unit_id_{tag}", ["wrote"], code=0, kind="injection",
            args=["metrics", "{case}", "--out", "{case}/ind.csv"], check=_csv_neutral("ind.csv"),
            **_rename_unit(b, "C01", payload))
    for tag in ("hyperlink", "cmd", "at"):
        add(f"inject_csv_name_{tag}", ["wrote"], code=0, kind="injection",
            args=["metrics", "{case}", "--out", "{case}/ind.csv"], check=_csv_neutral("ind.csv"),
            units__csv=_set_cell(_set_cell(units, 2, "name_en", PAYLOADS[tag]), 2, "city", PAYLOADS["cmd"]))
    add("inject_csv_force_over_own", ["wrote"], code=0, kind="injection",
        args=["metrics", "{case}", "--out", "{case}/ind.csv", "--force"], check=_csv_neutral("ind.csv"),
        ind__csv=b"old\n", **_rename_unit(b, "E001", PAYLOADS["minus"]))
    # --- preflight: every value the kernel would choke on refused before any kernel, key named
    pre = dict(kind="preflight", args=REVIEW)
    for name, expect, params in (
        ("params_entropy_shift_nan", ["phase2.yaml", "methods.entropy_shift"], _params(**{"methods.entropy_shift": NAN})),
        ("params_entropy_shift_inf", ["phase2.yaml", "methods.entropy_shift"], _params(**{"methods.entropy_shift": INF})),
        ("params_seed_1e23", ["phase2.yaml", "methods.seed"], _params(**{"methods.seed": 1e23})),
        ("params_seed_negative", ["phase2.yaml", "methods.seed"], _params(**{"methods.seed": -1})),
        ("params_runs_1e9", ["phase2.yaml", "methods.uncertainty_runs"], _params(**{"methods.uncertainty_runs": 1e9})),
        ("params_runs_text", ["phase2.yaml", "methods.uncertainty_runs"], _params(**{"methods.uncertainty_runs": "many"})),
        ("params_min_cell_1", ["phase2.yaml", "privacy.min_cell"], _params(**{"privacy.min_cell": 1})),
        ("params_min_cell_float", ["phase2.yaml", "privacy.min_cell"], _params(**{"privacy.min_cell": 4.5})),
        ("params_target_nan", ["phase2.yaml", "targets.dual_workshops"], _params(**{"targets.dual_workshops": NAN})),
        ("params_target_inf", ["phase2.yaml", "targets.apprentices"], _params(**{"targets.apprentices": -INF})),
        ("params_target_unknown", ["phase2.yaml", "no_such_indicator"], _params(**{"targets.no_such_indicator": 3})),
        ("params_twfe_nested", ["phase2.yaml", "methods.twfe_outcomes"],
         _params(**{"methods.twfe_outcomes": [["local_retention_rate"]]})),
        ("params_method_unknown_key", ["phase2.yaml", "methods.weigthing"], _params(**{"methods.weigthing": "equal"})),
        ("params_weighting_bad", ["phase2.yaml", "methods.weighting"], _params(**{"methods.weighting": "magic"})),
        ("params_language_bad", ["phase2.yaml", "language"], _params(language="fr")),
        ("params_window_reversed", ["phase2.yaml", "window"],
         _params(window={"start": "2025-06-30", "end": "2024-01-01"})),
        ("params_window_bad_date", ["phase2.yaml", "window"], _params(window={"start": "2024-13-01", "end": "2025-06-30"})),
        ("params_compare_unknown_phase", ["phase2.yaml", "compare_phases", "phase9"],
         _params(kind="final", compare_phases=["phase9"])),
        ("params_registry_missing", ["phase2.yaml", "registry"], _params(registry="nowhere/indicators.yaml")),
        ("params_data_missing", ["phase2.yaml", "data folder not found"], _params(data="no_such_folder")),
    ):
        add(name, expect, **pre, **{"params/phase2__yaml": params})
    text = _params().decode("utf-8")
    add("params_duplicate_window", ["phase2.yaml", "line", "'window' is given twice"], **pre,
        **{"params/phase2__yaml": (text + 'window: {start: "2024-01-01", end: "2024-06-30"}\n').encode()})
    add("params_duplicate_target", ["phase2.yaml", "'dual_workshops' is given twice"], **pre,
        **{"params/phase2__yaml": text.replace("targets:\n", "targets:\n  dual_workshops: 1\n", 1).encode()})
    add("params_duplicate_seed", ["phase2.yaml", "'seed' is given twice"], **pre,
        **{"params/phase2__yaml": text.replace("methods:\n", "methods:\n  seed: 1\n", 1).encode()})
    add("params_not_a_mapping", ["phase2.yaml"], **pre, **{"params/phase2__yaml": b"- just\n- a list\n"})
    add("params_empty", ["phase2.yaml"], **pre, **{"params/phase2__yaml": b""})
    add("dataset_duplicate_key", ["dataset.yaml", "'frequency' is given twice"], kind="preflight",
        dataset__yaml=b["dataset.yaml"] + b"frequency: year\n")
    reg = (ROOT / "src" / "evalkit" / "indicators" / "indicators.yaml").read_bytes()
    add("registry_duplicate_key", ["registry.yaml", "'version' is given twice"], kind="preflight",
        args=["metrics", "--list", "--registry", "{case}/registry.yaml"], registry__yaml=reg + b"version: 2\n")
    add("manifest_duplicate_key", ["manifest.yaml", "given twice"], kind="preflight",
        args=["batch", "{case}/manifest.yaml", "--out", "{case}/reports", "--no-html"],
        manifest__yaml=b"consortia:\n  - {id: a, params: p, params: q}\n")
    # --- options and runner faults: refused before any kernel, nothing written
    add("review_jobs_zero", ["--jobs"], kind="runner", args=[*REVIEW, "--jobs", "0"],
        **{"params/phase2__yaml": _params()})
    add("review_timeout_negative", ["--timeout"], kind="runner", args=[*REVIEW, "--timeout", "-5"],
        **{"params/phase2__yaml": _params()})
    add("review_unknown_phase", ["no params file for phase7"], kind="runner",
        args=["review", "phase7", "--params", "{case}/params", "--out", "{case}/reports"],
        **{"params/phase2__yaml": _params()})
    add("review_params_folder_missing", ["params folder not found"], kind="runner",
        args=["review", "--params", "{case}/nowhere", "--out", "{case}/reports"])
    add("review_notebook_missing", ["nowhere.ipynb"], kind="runner",
        args=[*REVIEW, "--notebook", "{case}/nowhere.ipynb"], **{"params/phase2__yaml": _params()})


def _parquet(panel_csv: bytes, inf: bool = False) -> bytes:
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(panel_csv), dtype={"unit_id": str, "period": str})
    if inf:
        frame.loc[5, "students"] = float("inf")
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def write_cases(root: Path) -> list[Case]:
    """Write every case's folder under ``root`` and return the cases."""
    all_cases = cases()
    for case in all_cases:
        folder = root / case.name
        folder.mkdir(parents=True)
        for name, content in case.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if callable(content):
                content(path)
            else:
                path.write_bytes(content)
    return all_cases

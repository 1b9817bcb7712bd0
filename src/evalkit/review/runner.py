"""``evalkit review``: run one papermill execution per phase, render self-contained HTML, and
write ``reports/index.html``.

Order of work, so that bad input costs nothing and nothing good is lost:

1. every params file is validated, the data loaded and checked against each phase *before any
   kernel starts* (bad input: ``EvalkitError``, exit 2);
2. each phase runs in its own worker process (``execute_phase``; the same function runs on a
   Dask worker for ``evalkit batch``) into a staging folder, with a log file per phase;
3. the executed notebook is inspected cell by cell — papermill saves a timed-out notebook with
   every cell marked "completed", so a cell with an error output or a code cell never executed
   means failure;
4. only a successful run replaces ``reports/<phase>/`` (rename-swap); a failed run leaves the
   previous good report in place and keeps its own notebook under ``reports/<phase>/failed/``.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import html
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from evalkit import __version__
from evalkit.errors import EvalkitError, ParamsError

KERNEL_NAME = "evalkit"
NOTEBOOK_NAME = "phase_review.ipynb"
HIDE_INPUT_TAGS = {"hide-input"}
REMOVE_CELL_TAGS = {"remove-cell", "parameters", "injected-parameters"}


# --------------------------------------------------------------------------- locating things
def project_root() -> Path:
    """The checkout evalkit runs from: the folder holding ``notebooks/`` (editable install), else cwd."""
    here = Path(__file__).resolve().parents[2]
    if (here / "notebooks" / NOTEBOOK_NAME).exists():
        return here
    return Path.cwd()


def default_notebook() -> Path:
    for base in (Path.cwd(), project_root()):
        nb = base / "notebooks" / NOTEBOOK_NAME
        if nb.exists():
            return nb
    raise EvalkitError(f"notebooks/{NOTEBOOK_NAME} not found; run evalkit from the project folder.")


def discover_params(params_dir: Path, phases: Iterable[str] = (), all_: bool = False) -> list[Path]:
    """The params files to run: the named phases, or every ``*.yaml`` in ``params_dir``."""
    params_dir = Path(params_dir)
    if not params_dir.is_dir():
        raise ParamsError(f"params folder not found: {params_dir}")
    phases = list(phases)
    if phases and not all_:
        paths = []
        missing = []
        for p in phases:
            path = params_dir / (p if p.endswith((".yaml", ".yml")) else f"{p}.yaml")
            (paths if path.exists() else missing).append(path)
        if missing:
            known = ", ".join(sorted(x.stem for x in params_dir.glob("*.yaml")))
            raise ParamsError("no params file for " + ", ".join(m.stem for m in missing) + f" (known: {known})")
        return paths
    paths = sorted(params_dir.glob("*.yaml"))
    if not paths:
        raise ParamsError(f"no *.yaml params files in {params_dir}")
    # phases in order, the final comparison last
    return sorted(paths, key=lambda p: (p.stem == "final", p.stem))


def preflight(paths: list[Path], data: Path | None = None) -> list[dict[str, Any]]:
    """Validate every params file and its data before any kernel starts; return one job per phase."""
    from evalkit.data.dataset import load
    from evalkit.review.phases import check_against, load_phase
    from evalkit.indicators.registry import load_registry

    jobs, problems = [], []
    datasets: dict[Path, Any] = {}
    for path in paths:
        try:
            phase = load_phase(path, data=data)
        except ParamsError as exc:
            problems.append(str(exc))
            continue
        if phase.data not in datasets:
            if not phase.data.exists():
                problems.append(f"{path}: data folder not found: {phase.data}")
                continue
            datasets[phase.data] = load(phase.data)
        ds = datasets[phase.data]
        try:
            check_against(phase, ds, load_registry(phase.registry))
        except EvalkitError as exc:
            problems.append(str(exc))
            continue
        jobs.append({"params_file": str(phase.source), "data_dir": str(phase.data), "phase_id": phase.phase_id,
                     "title": phase.title, "language": phase.language, "fingerprint": ds.fingerprint,
                     "synthetic": bool(ds.synthetic), "params_sha256": _sha256(Path(phase.source))})
    if problems:
        raise ParamsError("\n".join(problems))
    return jobs


# --------------------------------------------------------------------------- one phase
@dataclass
class Outcome:
    phase_id: str
    status: str  # ok | failed | timeout
    seconds: float
    notebook: str
    html: str | None
    log: str
    failed_cell: int | None = None
    error: str = ""
    title: str = ""
    provenance: dict | None = None
    pdf: str | None = None
    label: str = ""  # consortium / phase label used by the batch index

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def ensure_kernel() -> None:
    """Register the ``evalkit`` kernel for this Python when it is missing (make setup does it too)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL_NAME in KernelSpecManager().find_kernel_specs():
        return
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
                    "--display-name", "Python (evalkit)"], check=True, capture_output=True)


def inspect_executed(nb) -> tuple[str, int | None, str]:
    """(status, failed cell index, message) of an executed notebook: ok, failed or timeout."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                kind = "timeout" if out.get("ename") in ("CellTimeoutError", "TimeoutError") else "failed"
                return kind, i, f"{out.get('ename')}: {out.get('evalue')}"
        pm = cell.get("metadata", {}).get("papermill", {})
        if pm.get("exception"):
            return "failed", i, "cell raised an exception"
        if cell.get("execution_count") is None and cell.source.strip():
            # never executed: an earlier cell stopped the run (papermill still says "completed")
            return "timeout", i, "cell was never executed (the run stopped before it: timeout or kernel death)"
    return "ok", None, ""


def execute_phase(job: dict[str, Any]) -> dict[str, Any]:
    """Run one phase review end to end; safe to call in a worker process or on a Dask worker.

    ``job`` keys: params_file, data_dir, phase_id, out (folder of this phase's report),
    notebook, timeout, html, pdf, fingerprint, synthetic, params_sha256, title, language.
    """
    import nbformat
    import papermill as pm

    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    log_path = out.parent / f"{out.name}.log"
    staging = out.parent / f".{out.name}.staging-{os.getpid()}-{int(time.time() * 1000)}"
    staging.mkdir(parents=True)
    logger = logging.getLogger("papermill")
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    t0 = time.perf_counter()
    nb_path = staging / "review.ipynb"
    status, failed_cell, message, exc_name = "ok", None, "", ""
    # the kernel inherits this process's stderr: send its chatter to the phase's log, not the terminal
    saved_stderr = os.dup(2)
    os.dup2(handler.stream.fileno(), 2)
    try:
        ensure_kernel()
        pm.execute_notebook(
            job["notebook"], str(nb_path),
            parameters={"params_file": job["params_file"], "data_dir": job["data_dir"]},
            kernel_name=KERNEL_NAME, execution_timeout=job.get("timeout", 900), progress_bar=False,
            log_output=True, cwd=str(project_root()), report_mode=False,
        )
    except Exception as exc:  # the notebook's own failure; inspected below
        exc_name = type(exc).__name__
        message = f"{exc_name}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        logger.removeHandler(handler)
        handler.close()
    seconds = time.perf_counter() - t0
    if nb_path.exists():
        nb = nbformat.read(str(nb_path), as_version=4)
        status, failed_cell, found = inspect_executed(nb)
        if exc_name == "CellTimeoutError":  # the cell shows only a KeyboardInterrupt from the interrupt
            status = "timeout"
            found = f"cell timed out after {job.get('timeout', 900)} s (--timeout)"
        message = found or message
    elif not message:
        message = "papermill wrote no notebook"
    if status == "ok" and message:
        status = "failed"

    provenance = {
        "evalkit": __version__, "git": git_commit(), "data": job["data_dir"], "data_fingerprint": job.get("fingerprint"),
        "params_file": job["params_file"], "params_sha256": job.get("params_sha256"),
        "synthetic": job.get("synthetic"), "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    result = Outcome(phase_id=job["phase_id"], status=status, seconds=round(seconds, 1), notebook="",
                     html=None, log=str(log_path), failed_cell=failed_cell, error=message,
                     title=job.get("title", ""), provenance=provenance, label=job.get("label", ""))
    if status != "ok":
        failed_dir = out / "failed"
        if failed_dir.exists():
            shutil.rmtree(failed_dir)
        failed_dir.mkdir(parents=True)
        if nb_path.exists():
            shutil.move(str(nb_path), failed_dir / "review.ipynb")
            result.notebook = str(failed_dir / "review.ipynb")
        shutil.rmtree(staging, ignore_errors=True)
        previous = out / "review.html"
        result.html = str(previous) if previous.exists() else None
        _write_json(out / "status.json", result.as_dict())
        return result.as_dict()

    try:
        if job.get("html", True):
            render_html(nb_path, staging / "review.html", title=job.get("title") or job["phase_id"],
                        lang=job.get("language", "zh"))
            if job.get("pdf"):
                pdf = print_pdf(staging / "review.html", staging / "review.pdf")
                result.pdf = str(out / "review.pdf") if pdf else None
        _write_json(staging / "provenance.json", provenance)
    except Exception as exc:  # rendering failed: keep the previous good report
        result.status, result.error = "failed", f"rendering failed: {type(exc).__name__}: {exc}"
        shutil.rmtree(staging, ignore_errors=True)
        _write_json(out / "status.json", result.as_dict())
        return result.as_dict()

    _swap_into(staging, out)
    result.notebook = str(out / "review.ipynb")
    result.html = str(out / "review.html") if job.get("html", True) else None
    _write_json(out / "status.json", result.as_dict())
    return result.as_dict()


def _swap_into(staging: Path, out: Path) -> None:
    """Replace the report files in ``out`` with those in ``staging`` (rename-swap; old removed last)."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    for f in staging.iterdir():
        target = out / f.name
        if target.exists():
            old.mkdir(exist_ok=True)
            os.replace(target, old / f.name)
        os.replace(f, target)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(out / "failed", ignore_errors=True)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def git_commit() -> str | None:
    """The checkout's commit (with +dirty when it has uncommitted changes), or None outside git."""
    try:
        root = project_root()
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


# --------------------------------------------------------------------------- rendering
FONT_STACK = ('"evalkit CJK", "Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
              '"Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif')
REPORT_CSS = f"""
body, .jp-Notebook, .jp-RenderedHTMLCommon {{ font-family: {FONT_STACK}; }}
body {{ max-width: 1100px; margin: 0 auto; padding: 1.5em; line-height: 1.6; }}
.jp-RenderedHTMLCommon table {{ font-size: 0.92em; }}
.evalkit-banner {{ background: #b00020; color: #fff; padding: .8em 1em; font-size: 1.15em; font-weight: 700;
  border-radius: 4px; margin: .5em 0 1em; }}
.evalkit-note {{ color: #555; font-size: .9em; }}
@media print {{ body {{ max-width: none; }} }}
"""
HTML_LANG = {"zh": "zh-CN", "en": "en", "bilingual": "zh-CN"}


def render_html(nb_path: Path, html_path: Path, *, title: str, lang: str = "zh") -> Path:
    """One self-contained HTML file: figures embedded, code hidden by tags, nothing from a CDN."""
    import re

    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.remove_input_tags = set(HIDE_INPUT_TAGS)
    c.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"hide-output"}
    c.TagRemovePreprocessor.enabled = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True
    exporter = HTMLExporter(config=c, template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    # nothing from a CDN: drop every external <script src> / <link href> (MathJax, require.js)
    body = re.sub(r"<script[^>]+src=\"https?://[^\"]+\"[^>]*>\s*</script>", "", body)
    body = re.sub(r"<link[^>]+href=\"https?://[^\"]+\"[^>]*>", "", body)
    body = re.sub(r"<script[^>]*>\s*[^<]*MathJax[\s\S]*?</script>", "", body)
    body = re.sub(r"<html[^>]*>", f'<html lang="{HTML_LANG.get(lang, "zh-CN")}">', body, count=1)
    body = re.sub(r"<title>[\s\S]*?</title>", f"<title>{html.escape(title)}</title>", body, count=1)
    body = body.replace("</head>", f"<style>{embedded_font_css(body)}{REPORT_CSS}</style>\n</head>", 1)
    tmp = html_path.with_suffix(".html.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, html_path)
    return html_path


def embedded_font_css(page: str) -> str:
    """An ``@font-face`` with Noto Sans SC subset to the characters of ``page``, embedded as data,
    so Chinese displays on a machine without a Chinese font (a few hundred KB per report)."""
    import base64
    import io
    import re

    from fontTools import subset
    from fontTools.ttLib import TTFont

    from evalkit.plotting import cjk_font_path

    text = re.sub(r"data:[a-z/+-]+;base64,[A-Za-z0-9+/=]+", "", page)
    codepoints = sorted({ord(c) for c in text if ord(c) > 127} | set(range(32, 127)))
    options = subset.Options()  # default layout features (kern, locl, …): "*" doubles size and time
    options.notdef_outline = True
    font = TTFont(str(cjk_font_path()), lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return ('@font-face { font-family: "evalkit CJK"; font-weight: 100 900; '
            f'src: url(data:font/otf;base64,{data}) format("opentype"); }}\n')


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def print_pdf(html_path: Path, pdf_path: Path) -> Path | None:
    """Print the HTML with headless Chromium; None (with a log line) when no Chromium is installed."""
    import tempfile

    browser = find_chromium()
    if browser is None:
        logging.getLogger("evalkit").warning("--pdf: no Chromium found; install Debian's `chromium` for PDFs")
        return None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                        f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()],
                       check=True, capture_output=True, timeout=180)
    return pdf_path


# --------------------------------------------------------------------------- index
STATUS_ZH = {"ok": "成功", "failed": "失败", "timeout": "超时"}


def write_index(out: Path, outcomes: list[dict], *, title: str = "evalkit 评估报告索引 / review index") -> Path:
    """``out/index.html``: every review found under ``out`` (this run's and earlier ones)."""
    out = Path(out)
    by_id = {}
    for status_file in sorted(out.glob("**/status.json")):
        try:
            rec = json.loads(status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        by_id[str(status_file.parent.relative_to(out))] = rec
    for rec in outcomes:
        key = rec.get("label") or rec["phase_id"]
        by_id[key] = rec
    rows = []
    for key in sorted(by_id, key=lambda k: (k.rsplit("/", 1)[0] if "/" in k else "", k.endswith("final"), k)):
        rec = by_id[key]
        prov = rec.get("provenance") or {}
        # the report sits at out/<key>/review.html whatever the cwd was when status.json was written
        page_path = out / key / "review.html"
        if page_path.exists():
            link = f'<a href="{html.escape(f"{key}/review.html")}">{html.escape(rec.get("title") or key)}</a>'
        else:
            link = html.escape(rec.get("title") or key)
        extra = ""
        if rec["status"] != "ok":
            extra = (f"<br><span class='err'>cell {rec.get('failed_cell')}: {html.escape(str(rec.get('error', ''))[:300])}"
                     f"<br>notebook: {html.escape(str(rec.get('notebook', '')))}<br>log: {html.escape(str(rec.get('log', '')))}</span>")
            if rec.get("html"):
                extra += "<br><span class='note'>上一次成功的报告仍保留 / the previous good report is kept</span>"
        rows.append(
            f"<tr class='{rec['status']}'><td>{html.escape(key)}</td><td>{link}{extra}</td>"
            f"<td>{STATUS_ZH.get(rec['status'], rec['status'])} / {rec['status']}</td>"
            f"<td>{rec.get('seconds', '')} s</td><td>{html.escape(str(prov.get('finished', '')))}</td>"
            f"<td>evalkit {html.escape(str(prov.get('evalkit', '')))}<br>git {html.escape(str(prov.get('git')))}"
            f"<br>data {html.escape(str(prov.get('data_fingerprint', ''))[:16])}"
            f"{' <b>合成数据 SYNTHETIC</b>' if prov.get('synthetic') else ''}</td></tr>")
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:{FONT_STACK};max-width:1100px;margin:2em auto;padding:0 1em}} table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:.4em .6em;vertical-align:top;text-align:left}} tr.failed,tr.timeout{{background:#fdecea}}
.err{{color:#b00020;font-size:.9em}} .note{{color:#555;font-size:.9em}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>生成时间 / generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} · evalkit {__version__}</p>
<table><tr><th>阶段 / phase</th><th>报告 / review</th><th>状态 / status</th><th>用时 / time</th><th>完成 / finished</th><th>来源 / provenance</th></tr>
{''.join(rows)}
</table></body></html>"""
    page = page.replace("<style>", f"<style>{embedded_font_css(page)}", 1)
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------- running many
class Progress:
    """A status line per running review, read from each review's papermill log."""

    def __init__(self, jobs: list[dict], stream=sys.stderr, every: float = 5.0):
        self.jobs, self.stream, self.every = jobs, stream, every
        self.total = {j["key"]: _count_code_cells(j["notebook"]) for j in jobs}
        self.last_print: dict[str, tuple[int, float]] = {}
        self.t0 = time.perf_counter()

    def poll(self, done: set[str]) -> None:
        now = time.perf_counter()
        for j in self.jobs:
            key = j["key"]
            if key in done:
                continue
            log = Path(j["out"]).parent / f"{Path(j['out']).name}.log"
            cells = _cells_started(log)
            last = self.last_print.get(key)
            if cells and (last is None or (cells != last[0] and now - last[1] >= self.every)):
                self.last_print[key] = (cells, now)
                print(f"  [{key}] cell {cells}/{self.total[key]} · {now - self.t0:.0f} s", file=self.stream, flush=True)

    def finished(self, rec: dict) -> None:
        mark = {"ok": "✓", "failed": "✗", "timeout": "⏱"}.get(rec["status"], "?")
        line = f"{mark} [{rec.get('label') or rec['phase_id']}] {rec['status']} in {rec['seconds']} s"
        if rec["status"] != "ok":
            line += f" — cell {rec.get('failed_cell')}: {rec.get('error')}\n    notebook: {rec.get('notebook')}\n    log: {rec.get('log')}"
        print(line, file=self.stream, flush=True)


def _count_code_cells(path: str) -> int:
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        return len(nb["cells"]) + 1  # papermill logs every cell, markdown too; + injected parameters
    except (OSError, ValueError, KeyError):
        return 0


def _cells_started(log: Path) -> int:
    try:
        return log.read_text(encoding="utf-8", errors="replace").count("Executing Cell")
    except OSError:
        return 0


def run_jobs(jobs: list[dict], *, workers: int = 2, submit: Callable | None = None,
             progress: bool = True) -> list[dict]:
    """Run ``execute_phase`` over jobs on a local process pool (or ``submit``, e.g. Dask's)."""
    for j in jobs:
        j.setdefault("key", j.get("label") or j["phase_id"])
    prog = Progress(jobs) if progress else None
    results: list[dict] = []
    with cf.ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(execute_phase, j): j for j in jobs}
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=1.0)
            for fut in done:
                job = futures[fut]
                try:
                    rec = fut.result()
                except Exception as exc:  # the worker itself died: report, never lose the review
                    rec = Outcome(job["phase_id"], "failed", 0.0, "", None, "", None,
                                  f"worker failed: {type(exc).__name__}: {exc}", job.get("title", ""),
                                  label=job.get("label", "")).as_dict()
                results.append(rec)
                if prog:
                    prog.finished(rec)
            if prog:
                prog.poll({r.get("label") or r["phase_id"] for r in results})
    return results


def run_reviews(phases: Iterable[str] = (), *, params: Path = Path("params"), data: Path | None = None,
                out: Path = Path("reports"), jobs: int = 2, timeout: int = 900, html: bool = True,
                pdf: bool = False, all_: bool = False, notebook: Path | None = None,
                progress: bool = True) -> list[dict]:
    """Validate, run and render the phase reviews; returns one outcome dict per phase."""
    paths = discover_params(Path(params), phases, all_)
    planned = preflight(paths, data)
    notebook = Path(notebook) if notebook else default_notebook()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for job in planned:
        job.update({"out": str(out / job["phase_id"]), "notebook": str(notebook), "timeout": timeout,
                    "html": html, "pdf": pdf})
    if progress:
        print(f"evalkit review: {len(planned)} phase(s) on {min(jobs, len(planned))} worker(s): "
              + ", ".join(j["phase_id"] for j in planned), file=sys.stderr, flush=True)
    results = run_jobs(planned, workers=min(jobs, len(planned)), progress=progress)
    order = {j["phase_id"]: i for i, j in enumerate(planned)}
    results.sort(key=lambda r: order.get(r["phase_id"], 0))
    if html:
        write_index(out, results)
    return results


def run_from_cli(args) -> int:
    results = run_reviews(args.phases, params=args.params, data=args.data, out=args.out, jobs=args.jobs,
                          timeout=args.timeout, html=not args.no_html, pdf=args.pdf, all_=args.all,
                          notebook=getattr(args, "notebook", None))
    failed = [r for r in results if r["status"] != "ok"]
    print(f"\nreviews: {len(results) - len(failed)} ok, {len(failed)} failed")
    for r in results:
        where = r["html"] or r["notebook"]
        print(f"  {r['phase_id']:<8} {r['status']:<8} {where}")
    if not args.no_html:
        print(f"index: {Path(args.out) / 'index.html'}")
    return 1 if failed else 0

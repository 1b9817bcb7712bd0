"""Rendering: one self-contained HTML file per review (figures and a subset of Noto Sans SC
embedded, code hidden by tags, nothing from a CDN, no absolute path), PDF by headless
Chromium, and the index page over every review under an output folder."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from evalkit import __version__
from evalkit.provenance import scrub

HIDE_INPUT_TAGS = {"hide-input"}
REMOVE_CELL_TAGS = {"remove-cell", "parameters", "injected-parameters"}
FONT_STACK = (
    '"evalkit CJK", "Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
    '"Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
)
REPORT_CSS = f"""
body, .jp-Notebook, .jp-RenderedHTMLCommon {{ font-family: {FONT_STACK}; }}
body {{ max-width: 1100px; margin: 0 auto; padding: 1.5em; line-height: 1.6; }}
.jp-RenderedHTMLCommon table {{ font-size: 0.92em; }}
.evalkit-banner {{ background: #b00020; color: #fff; padding: .8em 1em; font-size: 1.15em; font-weight: 700;
  border-radius: 4px; margin: .5em 0 1em; }}
.evalkit-note {{ color: #555; font-size: .9em; }}
@page {{ size: A4; margin: 1.4cm 1.2cm; }}
@media print {{ body {{ max-width: none; padding: 0; font-size: 10pt; line-height: 1.45; }}
  .jp-RenderedHTMLCommon {{ font-size: 10pt; line-height: 1.45; padding-right: 0; }}
  .jp-Cell {{ padding: 0; }} .jp-OutputArea-output {{ margin: 0; }}
  table, .jp-RenderedHTMLCommon table {{ font-size: 8.5pt; }} .jp-RenderedHTMLCommon td,
  .jp-RenderedHTMLCommon th {{ padding: 2px 4px; }}
  h1 {{ font-size: 17pt; }} h2, .jp-RenderedHTMLCommon h2 {{ font-size: 13pt; margin-top: .8em; break-after: avoid; }}
  figure {{ break-inside: avoid; }} img {{ max-height: 12cm; }} }}
"""
HTML_LANG = {"zh": "zh-CN", "en": "en", "bilingual": "zh-CN"}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STATUS_ZH = {"ok": "成功", "failed": "失败", "timeout": "超时"}


def lean_nbformat() -> None:
    """Let ``nbformat`` (papermill, nbconvert) import without ``rfc3987_syntax``.

    jsonschema's format checkers import ``rfc3987_syntax`` when it is installed (JupyterLab's
    jupyter-events brings it), and that module compiles 38 Lark grammars at import: about 1 s of
    every worker's start for the ``iri`` formats, which the notebook schema never uses. Call
    before the first import of nbformat in a process that only runs reviews; once jsonschema's
    format module is loaded it changes nothing.
    """
    if "jsonschema._format" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # import → ImportError


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_html(
    nb_path: Path, html_path: Path, *, title: str, lang: str = "zh", labels: dict[str | Path, str] | None = None
) -> Path:
    """One self-contained HTML file from an executed notebook.

    Parameters
    ----------
    nb_path, html_path : Path
        The executed notebook; the page to write (atomically).
    title : str
        The page title.
    lang : {"zh", "en", "bilingual"}
        The page's ``lang``.
    labels : dict, optional
        ``{absolute folder: relative name}`` written instead of those folders (see
        :func:`evalkit.provenance.scrub`); the home and temporary folders are always replaced.

    Returns
    -------
    Path
        ``html_path``.
    """
    lean_nbformat()
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
    body = re.sub(r"<script[^>]+src=\"https?://[^\"]+\"[^>]*>\s*</script>", "", body)
    body = re.sub(r"<link[^>]+href=\"https?://[^\"]+\"[^>]*>", "", body)
    body = re.sub(r"<script[^>]*>\s*[^<]*MathJax[\s\S]*?</script>", "", body)
    body = re.sub(r"<html[^>]*>", f'<html lang="{HTML_LANG.get(lang, "zh-CN")}">', body, count=1)
    body = re.sub(r"<title>[\s\S]*?</title>", f"<title>{html.escape(title)}</title>", body, count=1)
    body = scrub(body, labels)
    body = body.replace("</head>", f"<style>{embedded_font_css(body)}{REPORT_CSS}</style>\n</head>", 1)
    return _write_text(html_path, body)


def embedded_font_css(page: str) -> str:
    """An ``@font-face`` with Noto Sans SC subset to the characters of ``page``, embedded as data
    (Chinese displays on a machine without a Chinese font; a few hundred KB per report).

    Subsetting costs ~0.5 s, so the subset is kept in the result cache under its font file and
    character set: a page re-rendered with the same characters reuses it."""
    from evalkit.plotting import cjk_font_path
    from evalkit.review.cache import ResultCache

    text = re.sub(r"data:[a-z/+-]+;base64,[A-Za-z0-9+/=]+", "", page)
    codepoints = sorted({ord(c) for c in text if ord(c) > 127} | set(range(32, 127)))
    font_path = Path(cjk_font_path())
    stat = font_path.stat()
    depends_on = {
        "font": [font_path.name, stat.st_size, stat.st_mtime_ns],
        "codepoints": hashlib.sha256(",".join(map(str, codepoints)).encode()).hexdigest(),
    }
    data = ResultCache.default().get_or_compute("font", depends_on, lambda: _font_subset(font_path, codepoints))
    return (
        '@font-face { font-family: "evalkit CJK"; font-weight: 100 900; '
        f'src: url(data:font/otf;base64,{data}) format("opentype"); }}\n'
    )


def _font_subset(font_path: Path, codepoints: list[int]) -> str:
    """The font cut to ``codepoints``, base64."""
    import base64
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()  # default layout features (kern, locl, …): "*" doubles size and time
    options.notdef_outline = True
    buf = io.BytesIO()
    # lazy: the file stays open until closed. Bounding boxes and timestamp as in the font (as
    # pyftsubset does by default): recomputing them drew every glyph again, ~60 % of the time
    with TTFont(str(font_path), lazy=True, recalcBBoxes=False, recalcTimestamp=False) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        font.save(buf)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def find_chromium() -> str | None:
    """The first Chromium / Chrome on ``PATH``, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(html_path: Path, pdf_path: Path) -> Path | None:
    """Print the HTML with headless Chromium; None (with a log line) when no Chromium is installed."""
    import tempfile

    browser = find_chromium()
    if browser is None:
        logging.getLogger("evalkit").warning("--pdf: no Chromium found; install Debian's `chromium` for PDFs")
        return None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf_path}",
                Path(html_path).resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return pdf_path


# --------------------------------------------------------------------------- index
def _records(out: Path, outcomes: Iterable) -> dict[str, dict]:
    """``{report key: status record with paths relative to out}`` — on disk, then this run's."""
    by_key: dict[str, dict] = {}
    for status_file in sorted(out.glob("**/status.json")):
        if "failed" in status_file.parent.relative_to(out).parts:
            continue
        try:
            rec = json.loads(status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(rec, dict) or "status" not in rec:
            continue
        key = status_file.parent.relative_to(out).as_posix()
        for name in ("notebook", "log", "html", "pdf"):
            if rec.get(name) and not os.path.isabs(rec[name]):
                rec[name] = (Path(key) / rec[name]).as_posix()
        by_key[key] = rec
    for outcome in outcomes:
        rec = outcome.as_dict() if hasattr(outcome, "as_dict") else dict(outcome)
        key = rec.get("label") or rec["phase_id"]
        for name in ("notebook", "log", "html", "pdf"):
            if rec.get(name) and os.path.isabs(rec[name]):
                rec[name] = os.path.relpath(rec[name], out)
        by_key[key] = rec
    return by_key


def write_index(
    out: Path,
    outcomes: Iterable = (),
    *,
    title: str = "evalkit 评估报告索引 / review index",
    fingerprints: dict[str, set[str]] | None = None,
) -> Path:
    """``out/index.html``: every review under ``out``, this run's and earlier ones.

    Parameters
    ----------
    out : Path
        The output folder.
    outcomes : iterable of Outcome (or dicts)
        This run's outcomes (they win over what is on disk).
    title : str
        The page title.
    fingerprints : dict, optional
        ``{folder key ("" for out itself): data fingerprints of this run}``; a review in that
        folder of other data is marked stale (它所依据的数据不是本次的数据).

    Returns
    -------
    Path
    """
    out = Path(out)
    by_key = _records(out, outcomes)
    rows = []
    for key in sorted(by_key, key=lambda k: (k.rsplit("/", 1)[0] if "/" in k else "", k.endswith("final"), k)):
        rec = by_key[key]
        prov = rec.get("provenance") or {}
        group = key.rsplit("/", 1)[0] if "/" in key else ""
        current = (fingerprints or {}).get(group)
        stale = bool(current and prov.get("data_fingerprint") and prov["data_fingerprint"] not in current)
        name = html.escape(rec.get("title") or key)
        link = (
            f'<a href="{html.escape(f"{key}/review.html")}">{name}</a>'
            if (out / key / "review.html").exists()
            else name + ("<br><span class='note'>无 HTML（--no-html）/ no HTML</span>" if rec["status"] == "ok" else "")
        )
        extra = ""
        if (out / key / "annex.html").exists():
            extra += f' · <a href="{html.escape(f"{key}/annex.html")}">技术附录 / annex</a>'
        if (out / key / "review.docx").exists():
            extra += f' · <a href="{html.escape(f"{key}/review.docx")}">Word</a>'
        if stale:
            extra += "<br><span class='err'>已过时：基于其他数据 / STALE: made from other data</span>"
        if rec["status"] != "ok":
            extra += (
                f"<br><span class='err'>cell {rec.get('failed_cell')}: "
                f"{html.escape(str(rec.get('error', ''))[:300])}"
                f"<br>notebook: {html.escape(str(rec.get('notebook') or ''))}"
                f"<br>log: {html.escape(str(rec.get('log') or ''))}</span>"
            )
            if rec.get("html"):
                extra += "<br><span class='note'>上一次成功的报告仍保留 / the previous good report is kept</span>"
        status = rec["status"]
        rows.append(
            f"<tr class='{html.escape(status)}{' stale' if stale else ''}'><td>{html.escape(key)}</td>"
            f"<td>{link}{extra}</td><td>{STATUS_ZH.get(status, html.escape(str(status)))} / {html.escape(str(status))}"
            f"</td><td>{rec.get('seconds', '')} s</td><td>{html.escape(str(prov.get('finished', '')))}</td>"
            f"<td>evalkit {html.escape(str(prov.get('evalkit', '')))}<br>git {html.escape(str(prov.get('git')))}"
            f"<br>data {html.escape(str(prov.get('data_fingerprint', ''))[:16])}"
            f"{' <b>合成数据 SYNTHETIC</b>' if prov.get('synthetic') else ''}</td></tr>"
        )
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:{FONT_STACK};max-width:1100px;margin:2em auto;padding:0 1em}} table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:.4em .6em;vertical-align:top;text-align:left}} tr.failed,tr.timeout{{background:#fdecea}}
tr.stale{{opacity:.6}} .err{{color:#b00020;font-size:.9em}} .note{{color:#555;font-size:.9em}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>生成时间 / generated {datetime.now(timezone.utc).isoformat(timespec="seconds")} · evalkit {__version__}</p>
<table><tr><th>阶段 / phase</th><th>报告 / review</th><th>状态 / status</th><th>用时 / time</th><th>完成 / finished</th><th>来源 / provenance</th></tr>
{"".join(rows)}
</table></body></html>"""
    page = scrub(page, {str(out): "."})
    page = page.replace("<style>", f"<style>{embedded_font_css(page)}", 1)
    return _write_text(out / "index.html", page)

"""Small display helpers for the phase review: headings, tables and figures as HTML that
survives nbconvert as a self-contained page (figures are embedded PNGs with captions).

Every table and figure caption carries "合成数据 / synthetic data" when the data is synthetic.
"""

from __future__ import annotations

import base64
import html
from typing import Iterable

import pandas as pd

from evalkit.plotting import label


class Page:
    """Renders into the notebook output in the report's language."""

    def __init__(self, lang: str = "zh", synthetic: bool = False, *, sink: list[str] | None = None):
        self.lang = lang
        self.synthetic = synthetic
        self.sink = sink  # collect markup here instead of displaying it (tests, separate files)
        # every table shown, by id, as the values rendered (written to results.json)
        self.tables: dict[str, list[dict]] = {}

    # -- text ---------------------------------------------------------------------------------
    def t(self, zh: str, en: str) -> str:
        return label(zh, en, self.lang)  # type: ignore[arg-type]  # lang is checked by the params

    @staticmethod
    def esc(text: str) -> str:
        """Escape text for HTML: every string from data or params goes through here."""
        return html.escape(str(text), quote=True)

    def show(self, markup: str) -> None:
        if self.sink is not None:
            self.sink.append(markup)
            return
        from IPython.display import HTML, display

        display(HTML(markup))

    def heading(self, zh: str, en: str, level: int = 2) -> None:
        self.show(f"<h{level}>{html.escape(self.t(zh, en))}</h{level}>")

    def paragraph(self, zh: str, en: str, *, cls: str = "") -> None:
        attr = f' class="{cls}"' if cls else ""
        self.show(f"<p{attr}>{html.escape(self.t(zh, en))}</p>")

    def bullets(self, items: Iterable[tuple[str, str]]) -> None:
        lis = "".join(f"<li>{html.escape(self.t(zh, en))}</li>" for zh, en in items)
        self.show(f"<ul>{lis}</ul>")

    def note(self, zh: str, en: str) -> None:
        self.paragraph(zh, en, cls="evalkit-note")

    def _caption(self, zh: str, en: str) -> str:
        text = self.t(zh, en)
        if self.synthetic:
            text += self.t("（合成数据）", " (synthetic data)")
        return html.escape(text)

    # -- tables and figures -------------------------------------------------------------------
    def table(
        self,
        frame: pd.DataFrame,
        zh: str,
        en: str,
        *,
        table_id: str,
        floatfmt: str = "{:,.2f}",
        max_rows: int = 60,
        formats: dict[str, str] | None = None,
    ) -> None:
        """A captioned table (recorded under ``table_id`` for results.json); numbers formatted
        with ``floatfmt`` or per column with ``formats``, missing shown as —."""
        if table_id in self.tables:
            raise ValueError(f"table id {table_id!r} used twice in one review")
        self.tables[table_id] = _records(frame)
        shown = frame.head(max_rows)
        fmt = {
            c: (lambda v, f=(formats or {}).get(c, floatfmt): "—" if pd.isna(v) else f.format(v))
            for c in shown.columns
            if pd.api.types.is_float_dtype(shown[c]) or c in (formats or {})
        }
        body = shown.to_html(index=False, na_rep="—", formatters=fmt, border=0, classes="evalkit-table", escape=True)
        more = ""
        if len(frame) > max_rows:
            more = f"<p class='evalkit-note'>{html.escape(self.t(f'仅显示前 {max_rows} 行，共 {len(frame)} 行。', f'First {max_rows} of {len(frame)} rows shown.'))}</p>"
        self.show(
            f"<figure class='evalkit-tablebox'><figcaption><b>{self._caption(zh, en)}</b></figcaption>"
            f"{body}{more}</figure>"
        )

    def figure(self, fig, zh: str, en: str) -> None:
        """Embed a figure (a matplotlib Figure, or its PNG from :func:`evalkit.review.figures.drawn`)
        with a caption (and alt text) in the report language."""
        if not isinstance(fig, bytes):
            from evalkit.review.figures import png

            fig = png(fig)
        data = base64.b64encode(fig).decode("ascii")
        cap = self._caption(zh, en)
        self.show(
            f'<figure><img alt="{cap}" style="max-width:100%" src="data:image/png;base64,{data}">'
            f"<figcaption>{cap}</figcaption></figure>"
        )

    def banner(self, zh: str, en: str) -> None:
        self.show(f"<div class='evalkit-banner' role='alert'>{html.escape(self.t(zh, en))}</div>")

    def unavailable(self, exc: Exception) -> None:
        """A whole section cannot be computed on this data."""
        self.fail_soft("本节无法在此数据上计算：", "This section cannot be computed on this data:", exc)

    def fail_soft(self, zh: str, en: str, exc: Exception) -> None:
        """A section that cannot be computed on this data says so and why, instead of stopping the review."""
        self.show(
            f"<div class='evalkit-note' style='border-left:4px solid #E69F00;padding-left:.6em'>"
            f"{html.escape(self.t(zh, en))}<br><code>{html.escape(type(exc).__name__)}: "
            f"{html.escape(str(exc)[:400])}</code></div>"
        )


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready records (NaN → None, numpy scalars → Python)."""
    import json

    return json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))


def fmt_num(value: float, digits: int = 2) -> str:
    if value is None or pd.isna(value):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"

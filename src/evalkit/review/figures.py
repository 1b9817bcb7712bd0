"""A review's figures drawn once: their PNG kept in the result cache.

Once a review's results are cached, drawing is most of what is left of its rendering (~0.2 s a
figure, with matplotlib's import ~1.5 s a review). A figure drawn from analysis parts alone is
kept under the content keys of those parts (which hash the data as known at the as-of date, the
settings the parts read and evalkit's code), whatever else it is drawn from (language, title,
indicators, windows) and the drawing itself (matplotlib's version, the CJK font file). A rerun, a
rerender into another folder or another review with the same parts reuses the picture; a changed
part, setting, language or library draws it again. Style settings a session changes
(``matplotlib.rcParams``) are not part of the key: a review's figures keep the report's style
(``--no-cache`` or ``evalkit cache clear`` draws them afresh).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from evalkit.i18n import label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from evalkit.review.analysis import PhaseAnalysis

DPI = 110


def png(fig: Figure) -> bytes:
    """The figure as PNG at the report's resolution."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


@functools.cache
def drawing_fingerprint() -> dict[str, Any]:
    """What draws a figure besides evalkit's code: matplotlib's version and the CJK font file."""
    from importlib import metadata

    from evalkit.plotting import cjk_font_path

    font = cjk_font_path()
    return {"matplotlib": metadata.version("matplotlib"), "font": [font.name, font.stat().st_size], "dpi": DPI}


def drawn(a: PhaseAnalysis, name: str, build: Callable[[], Figure], *, parts: tuple[str, ...] = (), **on: Any) -> bytes:
    """The PNG of ``build()``, kept in ``a``'s result cache.

    Parameters
    ----------
    a : PhaseAnalysis
        The analysis whose cache keeps the picture; ``parts`` must have been resolved by it.
    name : str
        The figure (the cache part is ``figure:<name>``).
    build : callable
        Draws the figure from ``parts`` and ``on`` only (called on a miss).
    parts : tuple of str
        The analysis parts the figure is drawn from (their content keys enter the key).
    **on
        Everything else the figure is drawn from, as JSON-able values.

    Returns
    -------
    bytes
    """
    key = {"parts": {p: a.part_key(p) for p in parts}, **on, "drawing": drawing_fingerprint()}
    return a.cache.get_or_compute(f"figure:{name}", key, lambda: png(build()))


def trend_png(a: PhaseAnalysis, indicators: list[str], lang: str) -> bytes:
    """The trend figure's PNG (drawn once per period table, indicators, windows and language)."""
    a.per_period  # noqa: B018 - resolved for its key
    on = {"indicators": indicators, "windows": a.windows_key, "lang": lang}
    return drawn(a, "trends", lambda: trend_figure(a, indicators, lang), parts=("per_period",), **on)


def attainment_png(a: PhaseAnalysis, lang: str) -> bytes:
    """The attainment figure's PNG (drawn once per judged targets and language)."""
    a.targets  # noqa: B018 - resolved for its key
    return drawn(a, "attainment", lambda: attainment_figure(a, lang), parts=("targets",), lang=lang)


def attainment_figure(a: PhaseAnalysis, lang: str):
    from evalkit.plotting import PALETTE, new_figure

    t = a.targets[a.targets["attained"].notna()]
    fig = new_figure(7, 0.45 * max(len(t), 2) + 1)
    ax = fig.add_subplot()
    names = [label(a.registry.get(i).name_zh, a.registry.get(i).name_en, lang) for i in t["indicator"]]  # type: ignore[arg-type]
    ax.barh(names, t["completion"], color=[PALETTE[2] if x else PALETTE[3] for x in t["attained"]])
    ax.axvline(1.0, color="black", lw=1)
    ax.invert_yaxis()
    ax.set_xlabel(label("目标完成度（实际 / 目标）", "share of target (actual / target)", lang))  # type: ignore[arg-type]
    return fig


def trend_figure(a: PhaseAnalysis, indicators: list[str], lang: str):
    from evalkit.plotting import COMPARISON_COLOUR, MEMBER_COLOUR, new_figure

    per = a.per_period
    n = max(len(indicators), 1)
    cols = 2 if n > 1 else 1
    rows = int(np.ceil(n / cols))
    fig = new_figure(9, 2.6 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    lg: Any = lang
    for ax, ind_id in zip(axes, indicators):
        ind = a.registry.get(ind_id)
        own = a.dataset.periods_by_frequency.get(a.dataset.calendars.frequency_of(ind.unit_type), a.dataset.periods)
        labels = [x.label for x in own]  # each indicator on its own calendar (a mixed dataset)
        pos = {lab: i for i, lab in enumerate(labels)}
        for group, colour, name in (
            ("member", MEMBER_COLOUR, label("成员", "members", lg)),
            ("comparison", COMPARISON_COLOUR, label("对照", "comparison", lg)),
        ):
            s = per[(per["group_by"] == "membership") & (per["group"] == group) & (per["indicator"] == ind_id)]
            s = s.dropna(subset=["value"])
            s = s[s["window"].isin(pos)]
            ax.plot([pos[w] for w in s["window"]], s["value"], marker="o", ms=3, color=colour, label=name)
        shades: dict[str, list[int]] = {}
        for lab, w in a.period_windows.items():
            if w and w != "baseline" and lab in pos:
                shades.setdefault(w, []).append(pos[lab])
        for i, (_, idx) in enumerate(sorted(shades.items(), key=lambda kv: min(kv[1]))):
            ax.axvspan(min(idx) - 0.5, max(idx) + 0.5, color="grey", alpha=0.08 + 0.06 * (i % 2), lw=0)
        ax.set_title(ind.name_en if lang == "en" else ind.name_zh, fontsize=10)
        ax.set_ylabel(ind.unit if lang == "en" else (ind.unit_zh or ind.unit), fontsize=8)
        step = max(1, len(labels) // 8)
        ax.set_xticks(
            range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)], fontsize=7, rotation=45
        )
    for ax in axes[len(indicators) :]:
        ax.set_visible(False)
    if indicators:
        axes[0].legend(fontsize=8)
    return fig

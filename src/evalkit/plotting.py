"""Figure helpers and the CJK font.

matplotlib draws Chinese as empty boxes unless a CJK font is registered. evalkit depends on a
pip package that ships Noto Sans SC (SIL Open Font License), so a fresh machine gets the font
with ``make`` and without root. The font file is registered explicitly (``addfont``): the
font cache is never trusted, because it hides fonts installed after it was built.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.i18n import Lang, label  # noqa: F401  (re-exported: figures label through i18n)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CJK_FAMILY = "Noto Sans SC"
# Colours that stay apart in grey print and for red-green colour blindness (Okabe–Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MEMBER_COLOUR, COMPARISON_COLOUR = PALETTE[0], PALETTE[1]


def cjk_font_path() -> Path:
    """Path of the bundled Noto Sans SC file; a clear error when the font package is missing.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    RuntimeError
        The font package or its file is missing.
    """
    try:
        import pylopdf_fonts_zh_cn as fonts
    except ImportError as exc:  # pragma: no cover - the dependency is declared
        raise RuntimeError(
            "The Chinese font package is missing. Run `make setup` (or "
            "`pip install pylopdf-fonts-zh-cn`) so figures can show Chinese text."
        ) from exc
    path = Path(os.path.dirname(fonts.__file__)) / "NotoSansSC-Regular.otf"
    if not path.exists():  # pragma: no cover
        raise RuntimeError(f"Chinese font file not found at {path}; reinstall with `make setup`.")
    return path


@functools.cache
def setup_fonts() -> str:
    """Register the CJK font with matplotlib and make it the default sans-serif. Idempotent.

    Returns
    -------
    str
        The registered family name (``"Noto Sans SC"``).
    """
    import matplotlib
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams["font.family"] = "sans-serif"
    sans = [f for f in matplotlib.rcParams["font.sans-serif"] if f != name]
    matplotlib.rcParams["font.sans-serif"] = [name, *sans]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font lacks U+2212
    return name


@functools.cache
def _figure_class() -> type:
    """The ``Figure`` subclass evalkit returns (built on first use: matplotlib is imported lazily)."""
    from matplotlib.figure import Figure

    class ReportFigure(Figure):
        """A matplotlib ``Figure`` that displays itself in JupyterLab and exported notebooks.

        A bare ``Figure`` made without pyplot shows as ``<Figure size 770x440 with 1 Axes>`` in a
        notebook: IPython's PNG formatter for figures is registered only when pyplot (the inline
        backend) is imported. ``_repr_png_`` gives IPython the picture directly, whatever has
        been imported, and never touches pyplot's global state.
        """

        def draw(self, renderer):  # noqa: D102 - a label from data never stops a figure
            try:
                return super().draw(renderer)
            except ValueError:
                if not plain_broken_math(self):
                    raise
                return super().draw(renderer)

        def _repr_png_(self) -> bytes:
            import io

            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=self.dpi, facecolor="white")
            return buf.getvalue()

    ReportFigure.__module__ = __name__
    ReportFigure.__qualname__ = "ReportFigure"
    return ReportFigure


def plain(text: object) -> str:
    """A label from data (a unit or indicator name, a unit of measure) as written: every ``$``
    escaped, so matplotlib's mathtext never parses it (``$\\frac{1$`` would raise an empty
    ``ValueError`` and stop the figure).

    Parameters
    ----------
    text : object
        The label (``str()`` of it is used).

    Returns
    -------
    str
    """
    return str(text).replace("$", r"\$")


def plain_broken_math(fig: Any) -> int:
    """Show as plain text every text of ``fig`` that mathtext cannot parse (a label from data
    such as ``$\\frac{1$``); the figures' own formulas (``$\\hat{\\tau}$``) stay. Called by
    evalkit's figures when drawing fails, so one bad label never stops a report.

    Returns
    -------
    int
        The number of texts changed.
    """
    from matplotlib import cbook
    from matplotlib.mathtext import MathTextParser
    from matplotlib.text import Text

    parser = MathTextParser("path")
    changed = 0
    for t in fig.findobj(Text):
        s = t.get_text()
        if not t.get_parse_math() or not cbook.is_math_text(s):
            continue
        try:
            parser.parse(s)
        except ValueError:
            t.set_parse_math(False)
            changed += 1
    return changed


def __getattr__(name: str) -> Any:
    """``evalkit.plotting.ReportFigure`` resolves lazily (pickling and isinstance checks)."""
    if name == "ReportFigure":
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def new_figure(width: float = 7.0, height: float = 4.0, **kwargs: Any) -> Figure:
    """A figure (not pyplot state) with the CJK font registered, sized for a report page.

    Parameters
    ----------
    width, height : float
        Size in inches.
    **kwargs
        Passed to :class:`matplotlib.figure.Figure` (``layout`` defaults to ``"constrained"``).

    Returns
    -------
    matplotlib.figure.Figure
        A ``Figure`` subclass with ``_repr_png_``, so it displays inline in JupyterLab even when
        pyplot was never imported.
    """
    setup_fonts()
    cls = _figure_class()
    kwargs.setdefault("layout", "constrained")
    fig: Figure = cls(figsize=(width, height), dpi=110, **kwargs)
    return fig

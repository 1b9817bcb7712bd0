"""Chinese renders in figures on a fresh machine without root: the bundled Noto Sans SC is
registered explicitly, and drawing Chinese raises no missing-glyph warning."""
import io
import warnings

import numpy as np

from evalkit.plotting import CJK_FAMILY, cjk_font_path, label, new_figure, setup_fonts


def test_font_ships_with_the_environment():
    path = cjk_font_path()
    assert path.exists() and path.stat().st_size > 1_000_000
    assert setup_fonts() == CJK_FAMILY


def test_chinese_text_draws_without_missing_glyphs():
    from matplotlib import font_manager

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" becomes an error
        fig = new_figure(4, 3)
        ax = fig.add_subplot()
        ax.plot([1, 2, 3], [1, -2, 3], label="毕业去向落实率")
        ax.set_title("株洲市产教联合体 · 耦合协调度")
        ax.set_xlabel("统计期（半年）")
        ax.legend()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    used = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert used == str(cjk_font_path())


def test_chinese_glyphs_are_not_boxes():
    """Two different characters must rasterise differently (tofu boxes would be identical)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def render(text):
        fig = new_figure(1, 1)
        fig.text(0.1, 0.2, text, fontsize=40)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., 0]

    a, b = render("产"), render("教")
    assert (a < 128).sum() > 50 and (b < 128).sum() > 50
    assert not np.array_equal(a, b)


def test_label_languages():
    assert label("指标", "indicator", "zh") == "指标"
    assert label("指标", "indicator", "en") == "indicator"
    assert label("指标", "indicator", "bilingual") == "指标 / indicator"


def test_figures_carry_their_own_png_repr():
    """A Figure built without pyplot shows as a picture in JupyterLab, not as
    "<Figure size 770x440 with 1 Axes>": it has ``_repr_png_``, which IPython's PNG formatter uses."""
    from matplotlib.figure import Figure

    fig = new_figure(3, 2)
    fig.add_subplot().plot([0, 1], [1, 0])
    assert isinstance(fig, Figure)
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    try:
        from IPython.core.formatters import PNGFormatter
    except ImportError:  # pragma: no cover - IPython ships with the notebook extras
        return
    assert PNGFormatter()(fig)[:4] == b"\x89PNG"

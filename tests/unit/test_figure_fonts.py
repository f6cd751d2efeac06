"""Every character of every figure text is drawn by a bundled font that has it: Latin by DejaVu Sans,
Chinese by the Noto Sans CJK SC subset, never matplotlib's Last Resort box.

The standalone figures drew "Death" (2nd of 3 CIF panels), "Albumin (g/L)" (2nd of 3 lab panels)
and a "30" or "0" tick (2nd of 3 ticks) as boxes: plotnine took the 3-family list
``[DejaVu Sans, Noto Sans CJK SC, sans-serif]`` as one family per artist whenever a themeable styled
exactly 3 artists, so the 2nd got the CJK subset alone (no Latin glyphs). The checks below ask
matplotlib for the fonts of each text artist and lay the text out as the Agg backend does
(``FT2Font._layout``: the font each glyph comes from)."""

from __future__ import annotations

import warnings

import matplotlib
import pandas as pd
import plotnine as p9
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import get_hinting_flag
from matplotlib.text import Text
from test_tlf_figures import ard, plot_of  # noqa: F401  (ard: the module's ARD fixture)

from hepatrial.cli import _user_warnings
from hepatrial.fonts import CJK_FAMILY, LATIN_FAMILY, configure_matplotlib, needs_glyph
from hepatrial.tlf import figures as G


@pytest.fixture(autouse=True)
def bundled_fonts():
    """The pipeline's font set-up (the figure rules call it), undone after the test."""
    old = p9.options.base_family
    with matplotlib.rc_context():
        configure_matplotlib()
        yield
    p9.options.base_family = old


def misdrawn(fig) -> list[tuple[str, str, str]]:
    """(text, character, font) for every character of every visible text of ``fig`` that is not
    drawn by the font it should be: a glyph the font lacks (glyph 0 or the Last Resort box), Latin
    not from DejaVu Sans, a hanzi not from the CJK subset."""
    fig.canvas.draw()
    bad = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        prop = t.get_fontproperties()
        font = font_manager.get_font(font_manager.fontManager._find_fonts_by_props(prop))
        for line in t.get_text().split("\n"):
            font.clear()
            font.set_size(prop.get_size_in_points(), 72)
            for item in font._layout(line, flags=get_hinting_flag()):
                ch, name = item.char, item.ft_object.family_name  # ch: a cluster ("fi" ligature)
                if not any(needs_glyph(c) for c in ch):
                    continue
                want = (
                    LATIN_FAMILY
                    if ch.isascii()
                    else CJK_FAMILY
                    if all("\u4e00" <= c <= "\u9fff" for c in ch)
                    else None
                )
                if (
                    item.glyph_index == 0
                    or name not in (LATIN_FAMILY, CJK_FAMILY)
                    or (want and name != want)
                ):
                    bad.append((t.get_text(), ch, name))
    return bad


def draw_checked(plot: p9.ggplot):
    """The drawn figure and matplotlib's missing-glyph warnings raised while drawing and saving."""
    import io

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot.draw()
        fig.savefig(io.BytesIO(), format="png", dpi=30)
    glyph = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    return fig, glyph


def three_panels(labels: list[str]) -> p9.ggplot:
    """3 facet strips (the number that split the family list) and 3 y ticks 0, 30, 60."""
    df = pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0] * 3,
            "y": [0.0, 30.0, 60.0] * 3,
            "p": [s for s in labels for _ in range(3)],
        }
    )
    return (
        p9.ggplot(df, p9.aes("x", "y"))
        + p9.geom_point()
        + p9.facet_wrap("p")
        + p9.scale_y_continuous(breaks=[0, 30, 60])
        + p9.scale_x_continuous(breaks=[0.0, 1.0, 2.0])
        + p9.labs(title="Cumulative incidence 累积发生率", x="Week", y="Albumin (g/L)")
        + G._theme()
    )


@pytest.mark.parametrize(
    "labels",
    [
        ["Event", "Death", "Liver transplant"],
        ["Albumin (g/L)", "INR", "Total bilirubin (umol/L)"],
        ["北京协和医院", "Death 死亡", "Site 01"],
    ],
)
def test_every_character_is_drawn_by_a_font_that_has_it(labels):
    fig, glyph = draw_checked(three_panels(labels))
    try:
        assert glyph == []
        assert misdrawn(fig) == []
    finally:
        matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("kind", ["labs", "cif", "waterfall", "observed", "km", "forest"])
def test_pipeline_figures_draw_every_character(kind, ard):  # noqa: F811
    fig, glyph = draw_checked(plot_of(kind, ard))
    try:
        assert glyph == []
        assert misdrawn(fig) == []
    finally:
        matplotlib.pyplot.close(fig)


def test_a_latin_character_drawn_with_the_cjk_subset_alone_is_a_warning():
    """The figure rules' log names a character a bundled font has but the text's fonts lacked (it
    was silent: only characters no bundled font has were reported)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(
            "Glyph 51 (3) missing from font(s) Noto Sans CJK SC.", UserWarning, stacklevel=1
        )
        warnings.warn(
            "Glyph 21894 (\\N{CJK UNIFIED IDEOGRAPH-5586}) missing from font(s) "
            "DejaVu Sans, Noto Sans CJK SC, DejaVu Sans.",
            UserWarning,
            stacklevel=1,
        )
    lines = _user_warnings(caught)
    assert len(lines) == 2, lines
    assert "U+5586" in lines[0] and "no bundled font" in lines[0]
    assert "'3' (U+0033)" in lines[1] and "lacks them" in lines[1]

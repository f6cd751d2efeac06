"""The fonts the reports and figures draw text with, shipped with the project's own install.

- DejaVu Sans (regular, bold, oblique) from matplotlib's own font folder (a pinned dependency);
- Noto Sans CJK SC Regular and Bold, cut down to GB 2312 (``NotoSansCJKsc-Regular-GB2312.otf``,
  ``NotoSansCJKsc-Bold-GB2312.otf``, 3 MB each, SIL Open Font License 1.1, ``OFL.txt``;
  ``make_subset.py`` made them), the fallback for Chinese; bold text (headings, table headers,
  figure titles) is drawn with the bold face.

Typst gets both through ``font_paths`` (it never looks at the machine's fonts); matplotlib and
plotnine get them as a family list, so each character is drawn by the first font that has it.
A character neither font has (a hanzi outside GB 2312 such as 喆 U+5586, an emoji) is drawn blank:
:func:`missing_glyphs` names those characters so that the pipeline says so, never silently: a
``GLYPH_MISSING`` WARNING finding at ingest (column, first row), a warning of the report rule
(:func:`hepatrial.report.document.warn_missing_glyphs`) and of the figure rules (from matplotlib's
"Glyph ... missing" warnings, ``hepatrial.cli``).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).parent
CJK_FILE = HERE / "NotoSansCJKsc-Regular-GB2312.otf"
CJK_BOLD_FILE = HERE / "NotoSansCJKsc-Bold-GB2312.otf"  # the same characters as CJK_FILE
CJK_FAMILY = "Noto Sans CJK SC"
LATIN_FAMILY = "DejaVu Sans"
FAMILIES = (LATIN_FAMILY, CJK_FAMILY)
DEJAVU_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
)


def dejavu_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_files() -> list[Path]:
    """The font files of :data:`FAMILIES` (DejaVu Sans faces, then the CJK subset)."""
    return [dejavu_dir() / f for f in DEJAVU_FILES] + [CJK_FILE, CJK_BOLD_FILE]


def link_font_dir(folder: str | Path) -> Path:
    """Fill ``folder`` with links to :func:`font_files` (a Typst ``font_paths`` entry holding only
    these fonts, not the rest of matplotlib's folder). Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for f in font_files():
        dst = folder / f.name
        if not dst.exists():
            try:
                dst.symlink_to(f)
            except OSError:  # no symlinks (some file systems): copy
                dst.write_bytes(f.read_bytes())
    return folder


@functools.cache
def covered() -> frozenset[int]:
    """Code points drawn by at least one font of :data:`FAMILIES` (regular face)."""
    from fontTools.ttLib import TTFont

    cps: set[int] = set()
    for f in (dejavu_dir() / "DejaVuSans.ttf", CJK_FILE):
        with TTFont(str(f), lazy=True) as font:
            cps |= set(font.getBestCmap())
    return frozenset(cps)


def needs_glyph(ch: str) -> bool:
    """Characters that need a glyph: not white space, not a control or format character."""
    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")


def missing_glyphs(texts) -> list[str]:
    """The characters of ``texts`` (an iterable of strings, None skipped) that no font of
    :data:`FAMILIES` can draw, sorted by code point. ASCII is always covered (fast path)."""
    cover = covered()
    seen: set[str] = set()
    for t in texts:
        if t is None or t.isascii():
            continue
        seen.update(t)
    return sorted((c for c in seen if ord(c) not in cover and needs_glyph(c)), key=ord)


def describe(chars: list[str], limit: int = 10) -> str:
    """``'😀' (U+1F600), ...`` for a message."""
    shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


class FamilyChain(Sequence):
    """A font family list that is one value: matplotlib draws each character with the first family
    of the list that has it (its glyph-by-glyph fallback).

    Not a ``list`` or ``tuple`` on purpose: plotnine's themeables that style several artists at once
    (``axis_text_y``, ``strip_text``, ...) take a ``list``/``tuple`` whose length equals the number of
    artists as one value per artist (``MixinSequenceOfValues``). A plain 3-family list therefore gave
    the 2nd of 3 facet strips (or y ticks) the family "Noto Sans CJK SC" alone, a subset with no
    Latin glyphs, and "Death", "Albumin (g/L)", "30" or "0" were drawn as boxes."""

    def __init__(self, names) -> None:
        self._names = tuple(names)

    def __getitem__(self, i):
        return self._names[i]

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and tuple(other) == self._names

    def __hash__(self) -> int:
        return hash(self._names)

    def __repr__(self) -> str:
        return f"FamilyChain({list(self._names)!r})"


# the family every figure text is drawn with: Latin from DejaVu Sans, Chinese from the CJK subset
FAMILY_CHAIN = FamilyChain([*FAMILIES, "sans-serif"])


def configure_matplotlib() -> None:
    """Register the CJK font with matplotlib, draw every text with DejaVu Sans then Noto Sans CJK
    SC (matplotlib falls back glyph by glyph along an explicit family list, not along the list a
    generic family such as "sans-serif" names), and draw text as written: ``$...$`` in data (a
    site id, an AE term) is not mathtext.

    plotnine's themes take their family from ``plotnine.options.base_family``, set to the same
    list as a :class:`FamilyChain` (a plain list would be split over the artists of a themeable).
    Safe to call more than once."""
    import matplotlib
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    for f in (CJK_FILE, CJK_BOLD_FILE):
        if str(f) not in known:
            font_manager.fontManager.addfont(str(f))
    matplotlib.rcParams.update({"font.family": [*FAMILIES, "sans-serif"], "text.parse_math": False})
    try:
        import plotnine
    except ImportError:  # plotnine is a dependency; keep the matplotlib settings without it
        return
    plotnine.options.base_family = FAMILY_CHAIN

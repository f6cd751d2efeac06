"""Make the bundled Chinese fonts: Noto Sans CJK SC Regular and Bold cut down to the GB 2312 character set.

The reports and figures draw Chinese (Simplified) text, and the project cannot rely on the fonts
of the machine it runs on (the PDF is compiled with ``ignore_system_fonts=True``, and CI's machine
has no CJK font). The full font is 16 MB; the GB 2312 set (6 763 hanzi, 682 symbols, kana,
Cyrillic and Greek) plus CJK punctuation and the full-width forms is 3 MB. A character outside it
is reported (``hepatrial.fonts.missing_glyphs``), never silently blank.

Run (once per face, by a maintainer; the outputs are committed as
``NotoSansCJKsc-Regular-GB2312.otf`` and ``NotoSansCJKsc-Bold-GB2312.otf``)::

    python workflow/hepatrial/fonts/make_subset.py \
        /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
    python workflow/hepatrial/fonts/make_subset.py \
        /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc

The bold face is there so that bold text (report headings, table headers, figure titles) holding
Chinese is drawn bold, not in the regular face with a matplotlib "Failed to find font weight bold"
warning on the console.

(Debian ``fonts-noto-cjk`` 1:20220127, Noto Sans CJK version 2.004; face "Noto Sans CJK SC" of the
collection). Licence: SIL Open Font License 1.1, see ``OFL.txt`` beside this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).with_name("NotoSansCJKsc-{style}-GB2312.otf")
FAMILY = "Noto Sans CJK SC"


def gb2312_codepoints() -> set[int]:
    """Every character of GB 2312 (the two-byte rows A1-F7, columns A1-FE), as code points."""
    out = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return out


def codepoints() -> list[int]:
    extra = set(range(0x3000, 0x3040)) | set(
        range(0xFF00, 0xFFF0)
    )  # CJK punctuation, full-width forms
    return sorted(gb2312_codepoints() | extra)


def main(src: str) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    if src.lower().endswith(".ttc"):
        font = next(f for f in TTCollection(src).fonts if f["name"].getDebugName(1) == FAMILY)
    else:
        font = TTFont(src)
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.hinting = False
    opts.notdef_outline = True
    opts.recalc_timestamp = False  # the same source gives the same bytes
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=codepoints())
    sub.subset(font)
    out = Path(str(OUT).format(style=font["name"].getDebugName(2)))  # Regular, Bold
    font.save(str(out))
    print(f"{out}: {out.stat().st_size} bytes, {len(codepoints())} code points")


if __name__ == "__main__":
    main(sys.argv[1])

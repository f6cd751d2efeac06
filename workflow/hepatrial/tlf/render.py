"""Three renderings of one :class:`~hepatrial.tlf.tables.Table`: CSV (for QC), RTF (rtflite) and HTML
(great_tables). All three are byte-identical across reruns of the same inputs."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import re
import tempfile
from pathlib import Path

import polars as pl

from hepatrial import stamp
from hepatrial.tlf import format as F
from hepatrial.tlf.shell import Shell
from hepatrial.tlf.tables import Row, Table

INDENT = "\u00a0\u00a0\u00a0"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A cell that starts like a formula but is numbers as the tables print them, and so is left alone
# (quoting it made the CSV differ from the RTF and stop parsing as numbers). Precisely:
#   value  = number | "NE" | "<" or ">" then an unsigned number ("<0.001", ">0.999") | "-" (a
#            placeholder); number = optional sign, digits with an optional decimal part (or
#            ".5"), optional "%"
#   list   = value, then any ", " value ("Min, Max": "-4, 28"; a CI: "-2.0, -0.5")
#   group  = "(" list ")" or "[" list "]"
#   cell   = a lone "+" or "-", or list then any " " group ("-0.8 (1.2)", "-1.28 (-2.0, -0.5)",
#            "3 (5.0%) [4]")
# Nothing else: no letters but "NE", no "=", "@", "|", "!" or quotes, and no operator between two
# numbers ("-2+3", "-1,28", "-4, 28)" are quoted).
_UNSIGNED = r"(?:\d+(?:\.\d*)?|\.\d+)%?"
_VALUE = rf"(?:[+-]?{_UNSIGNED}|NE|[<>]{_UNSIGNED}|-)"
_LIST = rf"{_VALUE}(?:, {_VALUE})*"
_NUMBER = rf"^(?:[-+]|{_LIST}(?: \({_LIST}\)| \[{_LIST}\])*)$"


def is_number_cell(text: str) -> bool:
    """``text`` is numbers as printed (the grammar of ``_NUMBER`` above)."""
    return re.match(_NUMBER, text) is not None


def spreadsheet_safe(col: pl.Expr) -> pl.Expr:
    """A cell a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, tab
    or carriage return) gets a leading single quote (OWASP "CSV injection", issue 17), unless it
    is numbers as the tables print them (``_NUMBER``: "-0.5", "-4, 28", "-1.2 (-2.0, 0.3)",
    "-0.3 (NE, 0.1)")."""
    starts = pl.any_horizontal([col.str.starts_with(c) for c in FORMULA_START])
    risky = (starts & ~col.str.contains(_NUMBER)).fill_null(False)
    return pl.when(~risky).then(col).otherwise(pl.lit("'") + col)  # (keeps col's name)


def write_csv(t: Table, path: str | Path) -> None:
    """The body: columns ``group``, ``label`` and one per header; cells as in the RTF and HTML,
    except that a text cell a spreadsheet would run as a formula starts with a single quote
    (:func:`spreadsheet_safe`). These CSV files are for people; the ARD and ADaM stay exact."""
    body = t.frame()
    stamp.write_csv(body.select(spreadsheet_safe(pl.col(c)).alias(c) for c in body.columns), path)


_LINE_BREAKS = dict.fromkeys(map(ord, "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), " ")


def _rtf_safe(s: str) -> str:
    # rtflite writes text verbatim: braces and backslashes would break the RTF group structure.
    # Line and paragraph separators in source text become spaces (rtflite measures the text with
    # Pillow, whose layout fails on them: "raqm_layout() failed").
    return s.replace("\\", "/").replace("{", "(").replace("}", ")").translate(_LINE_BREAKS)


def _rtf_text(s: str) -> str:
    """``s`` as it is measured (widths, wrapped lines): RTF-safe, a power of ten as the Unicode
    superscript of about its printed width."""
    return F.superscripts(_rtf_safe(s))


def _rtf_rich(s: str) -> str:
    """``s`` as it is written: RTF-safe, a power of ten as an RTF superscript (``10{\\super 6}``)."""
    return F.rtf_superscripts(_rtf_safe(s))


def _grouped(t: Table) -> bool:
    return t.group_rows and any(r.group for r in t.rows)


def write_rtf(t: Table, path: str | Path) -> None:
    """RTF shell (US letter landscape): the running header on every page (:func:`running_header`),
    the output number, title and population, the column header, the body rows, footnotes and source.

    Column widths come from the content (:func:`column_widths`, the same on every page); text
    columns are left-aligned and columns of numbers centred. The pages are cut here, not by rtflite
    (:func:`paginate`, from the wrapped height of each row, between group blocks), and each page is
    one rtflite document with the title, column header, footnotes and source, joined with page
    breaks: every page repeats the column header, a page that starts inside a group (a block longer
    than a page) opens with the group's row and "(cont.)" (rtflite ``page_by``, SAS PROC REPORT BY
    lines; :func:`page_table`), and rtflite's time, which grows with the square of a
    document's rows, stays linear in pages."""
    layout = _layout(t)
    pages = paginate(t, layout)
    if len(pages) == 1:
        _write_rtf_doc(t, path, layout)
        return
    with tempfile.TemporaryDirectory(dir=Path(path).parent) as tmp:
        parts = []
        for i, (a, b) in enumerate(pages):
            parts.append(Path(tmp) / f"page{i:06d}.rtf")
            _write_rtf_doc(page_table(t, a, b), parts[-1], layout)
        _join_rtf(parts, path)


def _join_rtf(parts: list[Path], path: str | Path) -> None:
    """One RTF document of ``parts`` (each a whole rtflite document of one page): the first whole,
    each next one without its preamble (font table, running header, page setup), a page break
    between."""
    texts = [p.read_text(encoding="utf-8") for p in parts]
    out = [texts[0].rstrip().removesuffix("}")]
    for text in texts[1:]:
        i = text.index("\\margl")
        body = text[text.index("\n", i) + 1 :].rstrip().removesuffix("}")
        out.append("\\page\n" + body)
    Path(path).write_text("".join(out) + "\n}", encoding="utf-8")


# Page geometry of every RTF output: US letter landscape, 1 inch left and right; the running header
# (3-4 lines of 9 pt) sits 0.5 in from the top edge, the table starts 1.4 in from it.
PAGE_W, PAGE_H = 11.0, 8.5
MARGINS = [0.75, 0.75, 1.25, 0.6, 0.5, 0.4]  # left, right, top, bottom, header, footer (inches)
TABLE_W = PAGE_W - MARGINS[0] - MARGINS[1]
BODY_PT = 9
LISTING_PT = 8  # listings: more columns, more rows a page
CELL_PAD = 0.17  # inches of a cell text cannot use (rtflite \trgaph108 each side, and a margin)
TITLE_PT = 10
LINE_FACTOR = 1.17  # height of a line of text, in font sizes
ROW_SPACE = 1.6  # points of a table row besides its lines (paragraph spacing before and after)
TITLE_SPACE = 14.0  # points before and after the title block
ONE_PAGE = 100_000  # rtflite's page capacity in lines: the pages are cut by paginate()
HEADER_MARK = "HEPATRIAL-RUNNING-HEADER"
_NUMERIC = re.compile(r"^[\s\d.,:;()\[\]%<>/+\-\u2212=]*(NE)?[\s\d.,:;()\[\]%<>/+\-=]*$")


def _cache_rtflite() -> None:
    """Make rtflite 2.6 (pinned) measure and encode each thing once; the RTF bytes are the same
    (tests/unit/test_tlf_render.py). Two of its hot paths redo work per cell:

    - ``get_string_width`` opens the font file (``PIL.ImageFont.truetype``) on every call, and the
      paginator measures every cell of every row (the tables job of a 100k-subject cut spent 14 CPU
      minutes opening fonts). Fonts are kept open per (font, size), and a width, a pure function of
      its arguments, is computed once.
    - ``TableAttributes._encode`` builds a pydantic ``BroadcastValue`` (the attribute's value copied
      into a nested list) for each of the ~20 attributes of every cell: two thirds of the time of a
      long listing. While one ``_encode`` runs, a ``BroadcastValue`` is built once per attribute
      value and reused; ``_encode`` only reads them (``iloc``), and they do not outlive the call.
    """
    import types

    import rtflite.attributes as ra
    import rtflite.pagination.core as rp
    import rtflite.strwidth as sw
    from PIL import ImageFont

    if isinstance(sw.ImageFont, types.SimpleNamespace):
        return
    sw.ImageFont = types.SimpleNamespace(
        truetype=functools.lru_cache(maxsize=64)(ImageFont.truetype)
    )
    width = functools.lru_cache(maxsize=1 << 18)(sw.get_string_width)
    ra.get_string_width = rp.get_string_width = width
    encode, real = ra.TableAttributes._encode, ra.BroadcastValue

    def cached_encode(self, df, col_widths, row_offset=0):
        made: dict = {}

        def broadcast(value=None, dimension=None):
            key = (id(value), dimension)
            hit = made.get(key)
            if hit is None or hit[0] is not value:  # the value is held: its id is not reused
                hit = made[key] = (value, real(value=value, dimension=dimension))
            return hit[1]

        ra.BroadcastValue = broadcast
        try:
            return encode(self, df, col_widths, row_offset)
        finally:
            ra.BroadcastValue = real

    ra.TableAttributes._encode = cached_encode


def _columnwise_great_tables() -> None:
    """Make great_tables 1.1 (pinned) escape the unformatted cells of a pandas table a column at
    a time; the HTML is the same (tests/unit/test_tlf_render.py). Its
    ``_migrate_unformatted_to_output`` reads and writes each cell through ``DataFrame.iloc``
    (pandas' per-cell indexing: 54 of the 100k SAE listing's 68 s of HTML). For a table whose
    columns are all text (object dtype, as a TLF table is; great_tables' copy of it, the body, has
    pandas' string dtype), each column's unformatted, non-missing cells are escaped in row order
    and written back together; any other table goes through great_tables' own function."""
    import great_tables._utils as gu
    import great_tables.gt as gg

    real = gu._migrate_unformatted_to_output
    if getattr(gg._migrate_unformatted_to_output, "hepatrial", False):
        return

    def migrate(data, data_tbl, formatted_cells, context):
        import numpy as np
        import pandas as pd

        body = data._body.body
        if not (
            isinstance(data_tbl, pd.DataFrame)
            and isinstance(body, pd.DataFrame)
            and list(body.columns) == list(data_tbl.columns)
            and body.columns.is_unique
            and all(map(pd.api.types.is_object_dtype, data_tbl.dtypes))
            and all(isinstance(dt, pd.StringDtype) or dt == np.dtype(object) for dt in body.dtypes)
        ):
            return real(data, data_tbl, formatted_cells, context)
        for j, col in enumerate(data_tbl.columns):
            values = data_tbl.iloc[:, j].to_numpy()
            rows = [
                i
                for i, v in enumerate(values)
                if (col, i) not in formatted_cells and not (v is None or pd.isna(v))
            ]
            if rows:
                out = [gu._process_text(str(values[i]), context=context) for i in rows]
                cells = np.empty(len(out), dtype=object)
                cells[:] = out
                body.iloc[rows, j] = cells
        return data

    migrate.hepatrial = True
    gg._migrate_unformatted_to_output = migrate


@functools.lru_cache(maxsize=1 << 16)
def _text_width(s: str, pt: float = BODY_PT) -> float:
    """Width in inches of ``s`` in Times New Roman at ``pt`` points, as rtflite measures it."""
    from rtflite.strwidth import get_string_width

    _cache_rtflite()
    return get_string_width(s, font="Times New Roman", font_size=pt, unit="in") if s else 0.0


def _longest_word(s: str, pt: float = BODY_PT) -> float:
    return max((_text_width(w, pt) for w in s.split()), default=0.0)


def numeric_column(cells: list[str]) -> bool:
    """A column of numbers (counts, percentages, estimates with CIs, p-values, dates): centred; any
    other column (terms, outcomes, reasons) is text and left-aligned."""
    filled = [c for c in cells if c.strip()]
    return bool(filled) and sum(bool(_NUMERIC.match(c)) for c in filled) >= 0.8 * len(filled)


def column_widths(
    header: list[str], columns: list[list[str]], total: float = TABLE_W, pt: float = BODY_PT
) -> list[float]:
    """Widths in inches (summing to ``total``) computed from the content: no column narrower than
    its longest word, header words included, so that nothing is broken mid-word; every column as
    wide as its longest cell when the page has room, and the room left goes first to headers that
    would otherwise wrap, then to every column in proportion. When the longest cells do not fit, the
    widest columns are capped at one width (never below their longest word) and wrap between words,
    so that short columns (dates, grades, counts) stay on one line."""
    floor = [
        max(_longest_word(h, pt), *(_longest_word(c, pt) for c in col), 0.3) + CELL_PAD
        for h, col in zip(header, columns)
    ]
    want = [
        max(f, max((_text_width(c, pt) for c in col), default=0.0) + CELL_PAD)
        for f, col in zip(floor, columns)
    ]
    if sum(want) > total:
        if sum(floor) >= total:  # even the longest words do not fit: scale the floors
            return [f * total / sum(floor) for f in floor]
        lo, hi = 0.0, max(want)
        for _ in range(60):  # the cap at which the capped widths fill the page
            cap = (lo + hi) / 2
            filled = sum(max(f, min(w, cap)) for f, w in zip(floor, want))
            lo, hi = (cap, hi) if filled < total else (lo, cap)
        w = [max(f, min(a, lo)) for f, a in zip(floor, want)]
        return [a * total / sum(w) for a in w]
    head = [max(w, _text_width(h, pt) + CELL_PAD) for w, h in zip(want, header)]
    w, room = list(want), total - sum(want)
    need = [h - a for h, a in zip(head, w)]
    if sum(need) > 0:
        give = min(room, sum(need))
        w = [a + give * n / sum(need) for a, n in zip(w, need)]
        room -= give
    return [a + room * a / sum(w) for a in w]


def wrapped_lines(text: str, width: float, pt: float = BODY_PT) -> int:
    """Lines ``text`` takes in a cell of ``width`` inches (word wrap; rtflite's font metrics)."""
    usable = max(width - CELL_PAD, 0.1)
    lines, current = 1, 0.0
    space = _text_width(" ", pt)
    for word in text.split():
        w = _text_width(word, pt)
        if current and current + space + w > usable:
            lines, current = lines + 1, w
        else:
            current = current + (space if current else 0.0) + w
    return lines


@dataclasses.dataclass
class Layout:
    """What every page of one table shares: column widths (inches, stub first), justification, the
    RTF texts of the stub and cells."""

    widths: list[float]
    just: list[str]
    header: list[str]
    labels: list[str]
    cells: list[list[str]]  # by column
    pt: float = BODY_PT  # font size of the column header and body


def _layout(t: Table) -> Layout:
    labels = ["   " * r.indent + _rtf_text(r.label) for r in t.rows]
    cols = [[_rtf_text(r.cells[j]) for r in t.rows] for j in range(len(t.columns))]
    header = [_rtf_text(t.stub_header or " ")] + [_rtf_text(c) for c in t.columns]
    pt = LISTING_PT if t.kind == "Listing" else BODY_PT
    widths = column_widths(header, [labels, *cols], pt=pt)
    just = ["l"] + ["c" if numeric_column(col) else "l" for col in cols]
    return Layout(widths, just, header, labels, cols, pt)


def _height(lines: int, pt: float) -> float:
    """Points taken by a table row (or paragraph) of ``lines`` lines of ``pt`` type."""
    return lines * pt * LINE_FACTOR + ROW_SPACE


CONT = " (cont.)"  # after the group label on a page that continues a group block
MIN_START = 3  # rows of a block longer than a page that must fit before it starts on a page


def continues_block(t: Table, a: int) -> bool:
    """Whether a page starting at row ``a`` starts inside a group block."""
    return 0 < a < len(t.rows) and bool(t.rows[a].group) and t.rows[a - 1].group == t.rows[a].group


def paginate(t: Table, layout: Layout) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` of the pages: as many rows as fit the page's height after the title,
    the column header, the footnotes and the source (all repeated on every page), counting the
    wrapped lines of each row and the group row that opens each group (and each page inside one).

    Pages are cut between group blocks (:meth:`~hepatrial.tlf.tables.Table.blocks`): a block that does not fit the rest of a
    page starts the next page (keep-together, so that a visit's estimate, difference, CI and p, or a
    system organ class and its preferred terms, are read on one page). Only a block longer than a
    page is cut inside, and the page that continues it opens with the group label and "(cont.)"
    (:func:`page_table`)."""
    pt = layout.pt
    usable = (PAGE_H - MARGINS[2] - MARGINS[3]) * 72.0
    notes = sum(wrapped_lines(x, TABLE_W, pt) for x in t.footnotes or [" "])
    fixed = (
        len(_title_lines(t)) * TITLE_PT * LINE_FACTOR
        + TITLE_SPACE
        + _height(max(wrapped_lines(h, w, pt) for h, w in zip(layout.header, layout.widths)), pt)
        + _height(notes, pt)
        + _height(wrapped_lines(t.source, TABLE_W, pt), pt)
        + _height(1, pt)
    )  # a line in reserve for the word processor's rounding
    budget = max(usable - fixed, _height(3, pt))
    grouped = _grouped(t)

    def group_h(r: Row, cont: bool = False) -> float:
        if grouped:
            return _height(
                wrapped_lines(_rtf_text(r.group) + (CONT if cont else ""), TABLE_W, pt), pt
            )
        if cont and r.group:  # the inserted "<group> (cont.)" row
            return _height(wrapped_lines(_rtf_text(r.group) + CONT, layout.widths[0], pt), pt)
        return 0.0

    heights = [
        _height(
            max(
                wrapped_lines(x, w, pt)
                for x, w in zip([layout.labels[i], *(c[i] for c in layout.cells)], layout.widths)
            ),
            pt,
        )
        for i in range(len(t.rows))
    ]
    pages, start, used = [], 0, 0.0
    for a, b in t.blocks():
        block = group_h(t.rows[a]) + sum(heights[a:b])
        if a > start and used + block > budget:
            head = group_h(t.rows[a]) + sum(heights[a : min(b, a + MIN_START)])
            if block <= budget or used + head > budget:  # the block starts the next page
                pages.append((start, a))
                start, used = a, 0.0
        if used + block <= budget:
            used += block
            continue
        used += group_h(t.rows[a])  # a block longer than a page: cut inside, row by row
        for i in range(a, b):
            if i > start and used + heights[i] > budget:
                pages.append((start, i))
                start, used = i, group_h(t.rows[i], cont=True)
            used += heights[i]
    pages.append((start, len(t.rows)))
    return pages


def page_table(t: Table, a: int, b: int) -> Table:
    """The table of one page, rows ``[a, b)``: a page that continues a group block opens with the
    group label and "(cont.)" (the group row of a grouped table; an inserted stub row when the group
    is only a key, as the system organ class of the adverse-event tables)."""
    rows = t.rows[a:b]
    if continues_block(t, a):
        g = t.rows[a].group
        if _grouped(t):
            rows = [dataclasses.replace(r, group=g + CONT) if r.group == g else r for r in rows]
        else:
            rows = [Row(g, g + CONT, [""] * len(t.columns), 0), *rows]
    return dataclasses.replace(t, rows=rows)


def _rtf_escape(s: str) -> str:
    out = []
    for ch in s:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) > 127:
            code = ord(ch)
            out.append(f"\\u{code - 65536 if code > 32767 else code}?")
        else:
            out.append(ch)
    return "".join(out)


def running_header(shell: Shell | None) -> str:
    """The RTF ``\\header`` group of every page: protocol and classification, study title and
    "Page x of y" (PAGE and NUMPAGES fields), data cut, and the dummy-randomisation stamp in bold
    when there is one; left text and right text on one line by a right tab at the table's edge."""
    tab = round(TABLE_W * 1440)
    page = (
        "Page {\\field{\\*\\fldinst PAGE }{\\fldrslt 1}} of "
        "{\\field{\\*\\fldinst NUMPAGES }{\\fldrslt 1}}"
    )
    if shell is None:
        lines = [("", page)]
    else:
        title = F.rtf_superscripts(_rtf_escape(shell.study_title))  # 10^6 -> 10{\\super 6}
        lines = [
            (f"Protocol: {_rtf_escape(shell.protocol)}", _rtf_escape(shell.confidential)),
            (title, page),
            (f"Data cut: {_rtf_escape(shell.cut)}", ""),
        ]
        if shell.stamp:
            lines.insert(0, (f"\\b {_rtf_escape(shell.stamp)}\\b0", ""))
    paras = "".join(
        f"{{\\pard\\plain\\ql\\tqr\\tx{tab}\\sb0\\sa0\\fs{BODY_PT * 2}{{\\f0 {left}}}"
        f"\\tab{{\\f0 {right}}}\\par}}"
        for left, right in lines
    )
    return f"{{\\header{paras}}}"


def _title_lines(t: Table, text=_rtf_text) -> list[str]:
    lines = [text(t.title), text(t.population)]
    if t.number:
        lines.insert(0, f"{t.kind} {t.number}")
    if t.shell is not None and t.shell.stamp:
        lines.append(t.shell.stamp)
    return lines


def _write_rtf_doc(t: Table, path: str | Path, layout: Layout) -> None:
    import rtflite as rtf

    _cache_rtflite()
    grouped = _grouped(t)
    labels = ["   " * r.indent + _rtf_rich(r.label) for r in t.rows]
    data = {"label": labels}
    for j in range(len(t.columns)):
        data[f"c{j}"] = [_rtf_rich(r.cells[j]) for r in t.rows]
    df = pl.DataFrame(data, schema={k: pl.Utf8 for k in data})
    if grouped:
        df = df.insert_column(
            0, pl.Series("group", [_rtf_rich(r.group) for r in t.rows], dtype=pl.Utf8)
        )
    widths, just = layout.widths, layout.just
    header = [_rtf_rich(t.stub_header or " ")] + [_rtf_rich(c) for c in t.columns]
    body_widths = ([1.0] if grouped else []) + widths
    nbody = len(body_widths)
    body = rtf.RTFBody(
        col_rel_width=body_widths,
        text_justification=[(["l"] if grouped else []) + just],
        text_font_size=[layout.pt],
        border_top=[[""] * nbody],
        border_bottom=[[""] * nbody],
        **({"page_by": ["group"], "new_page": False, "pageby_row": "first_row"} if grouped else {}),
    )
    doc = rtf.RTFDocument(
        df=df,
        rtf_page=rtf.RTFPage(
            orientation="landscape",
            width=PAGE_W,
            height=PAGE_H,
            margin=MARGINS,
            col_width=TABLE_W,
            nrow=ONE_PAGE,
        ),
        rtf_page_header=rtf.RTFPageHeader(text=HEADER_MARK),
        rtf_title=rtf.RTFTitle(
            text=_title_lines(t, _rtf_rich), text_convert=[False], text_font_size=[TITLE_PT]
        ),
        rtf_column_header=[
            rtf.RTFColumnHeader(
                text=header,
                col_rel_width=widths,
                text_justification=[just],
                text_font_size=[layout.pt],
            )
        ],
        rtf_body=body,
        rtf_footnote=rtf.RTFFootnote(
            text=[_rtf_rich(x) for x in t.footnotes] or [" "],
            text_convert=[False],
            text_justification=["l"],
            text_font_size=[layout.pt],
        ),
        rtf_source=rtf.RTFSource(
            text=[_rtf_rich(t.source)],
            text_convert=[False],
            text_justification=["l"],
            text_font_size=[layout.pt],
        ),
    )
    with contextlib.redirect_stdout(io.StringIO()):  # rtflite prints the path it writes
        doc.write_rtf(str(path))
    _put_running_header(path, t.shell)


def _put_running_header(path: str | Path, shell: Shell | None) -> None:
    """Replace rtflite's one-line page header by :func:`running_header`, and mark the column header
    rows (rtflite's bottom-aligned cells) as header rows (``\\trhdr``): a word processor that breaks
    a page where :func:`paginate` did not still repeats them."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("{\\header") and HEADER_MARK in line:
            lines[i] = running_header(shell)
        elif line.startswith("\\trowd") and i + 1 < len(lines) and "\\clvertalb" in lines[i + 1]:
            lines[i] = line.replace("\\trowd", "\\trowd\\trhdr", 1)
    Path(path).write_text("\n".join(lines), encoding="utf-8")


PANDAS_ROWS = 2000  # HTML of a table longer than this is built from a pandas frame (to_html)


def to_html(t: Table) -> str:
    from great_tables import GT, html

    _columnwise_great_tables()
    df = t.frame().with_columns(
        pl.Series("label", [INDENT * r.indent + r.label for r in t.rows], dtype=pl.Utf8)
    )
    groups = _grouped(t)
    # great_tables takes the polars frame itself: same HTML as from pandas, ~4x faster, no pandas
    # import. Except a long table: great_tables escapes the text cell by cell, and a cell set in a
    # polars frame costs a copy of its column (quadratic: a 61 000-row listing took 144 CPU s), in a
    # pandas frame it does not
    if df.height > PANDAS_ROWS:
        df = df.to_pandas()
    gt = GT(df, rowname_col="label", groupname_col="group" if groups else None, id=t.name)
    if not groups:
        gt = gt.cols_hide("group")
    stamp = t.shell.stamp if t.shell is not None else ""
    title = f"{t.kind} {t.number}: {t.title}" if t.number else t.title
    # a dummy-randomisation run: the stamp on a line of its own, bold, as in the RTF header
    subtitle = (
        html(f'{_esc(t.population)}<br><strong style="color:#8b0000">{_esc(stamp)}</strong>')
        if stamp
        else t.population
    )
    gt = (
        gt.tab_header(title=title, subtitle=subtitle)
        .tab_stubhead(label=t.stub_header or "")
        .cols_align("center", columns=t.columns)
        .tab_options(
            table_font_size="12px",
            row_group_font_weight="bold",
            heading_title_font_size="15px",
            heading_subtitle_font_size="12px",
        )
    )  # the population: as legible as the body
    for note in t.footnotes:
        gt = gt.tab_source_note(note)
    gt = gt.tab_source_note(html(f"<em>{_esc(t.source)}</em>"))
    # the row labels keep their indent: one CSS rule for the stub column (a tab_style on loc.stub()
    # is one style entry per row, and great_tables scans them all for every row: quadratic, 100k
    # listing rows took minutes)
    gt = gt.opt_css(f"#{t.name} .gt_stub {{ white-space: pre; }}")
    # 10^6 -> 10<sup>6</sup> (titles, headers, cells, notes)
    page = F.html_superscripts(gt.as_raw_html(make_page=True))
    # the page's title (the browser tab, a bookmark, a printed page's header): the table's number
    # and title, plain text (Unicode superscript digits)
    return page.replace("</head>", f"<title>{_esc(F.superscripts(title))}</title>\n</head>", 1)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_html(t: Table, path: str | Path) -> None:
    Path(path).write_text(to_html(t), encoding="utf-8")


def write_all(t: Table, csv: str | Path, rtf: str | Path, html: str | Path) -> None:
    for p in (csv, rtf, html):
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    write_csv(t, csv)
    write_rtf(t, rtf)
    write_html(t, html)

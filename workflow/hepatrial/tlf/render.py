"""Three renderings of one :class:`~hepatrial.tlf.tables.Table`: CSV (for QC), RTF (rtflite) and HTML
(great_tables). All three are byte-identical across reruns of the same inputs."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tempfile
from pathlib import Path

import polars as pl

from hepatrial.tlf.tables import Table

INDENT = "\u00a0\u00a0\u00a0"
RTF_SINGLE_MAX = 100  # rows: a longer table is written in chunks of RTF_CHUNK_ROWS (write_rtf)
RTF_CHUNK_ROWS = 50


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# a number, then any bracketed groups of numbers ("(-2.0, 0.3)", "(5.0%) [4]"): no letters, no "="
# or "@" (a lone "-" is a placeholder, not a formula)
_NUMBER = r"^([-+]|[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?( [(\[][-+0-9.,% <>]*[)\]])*)$"


def spreadsheet_safe(col: pl.Expr) -> pl.Expr:
    """A cell a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, tab
    or carriage return) gets a leading single quote (OWASP "CSV injection"), unless it is a number,
    or a number followed by a bracketed part as the tables print them ("-0.5", "-1.2 (-2.0, 0.3)").
    """
    starts = pl.any_horizontal([col.str.starts_with(c) for c in FORMULA_START])
    risky = (starts & ~col.str.contains(_NUMBER)).fill_null(False)
    return pl.when(~risky).then(col).otherwise(pl.lit("'") + col)  # (keeps col's name)


def write_csv(t: Table, path: str | Path) -> None:
    """The body: columns ``group``, ``label`` and one per header; cells as in the RTF and HTML,
    except that a text cell a spreadsheet would run as a formula starts with a single quote
    (:func:`spreadsheet_safe`). These CSV files are for people; the ARD and ADaM stay exact."""
    body = t.frame()
    body.select(spreadsheet_safe(pl.col(c)).alias(c) for c in body.columns).write_csv(path)


_LINE_BREAKS = dict.fromkeys(map(ord, "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), " ")


def _rtf_text(s: str) -> str:
    # rtflite writes text verbatim: braces and backslashes would break the RTF group structure.
    # Line and paragraph separators in source text become spaces (rtflite measures the text with
    # Pillow, whose layout fails on them: "raqm_layout() failed").
    return s.replace("\\", "/").replace("{", "(").replace("}", ")").translate(_LINE_BREAKS)


def _grouped(t: Table) -> bool:
    return t.group_rows and any(r.group for r in t.rows)


def _rtf_chunks(t: Table, size: int) -> list[Table]:
    """``t`` cut into tables of ``size`` rows (the last shorter), the title, columns, footnotes and source
    repeated in each. A chunk that starts inside a group opens with that group's row, as rtflite does at a
    page break inside a group (``page_by``)."""
    return [dataclasses.replace(t, rows=t.rows[i:i + size]) for i in range(0, len(t.rows), size)]


def write_rtf(t: Table, path: str | Path, chunk_rows: int = RTF_CHUNK_ROWS,
              single_max: int = RTF_SINGLE_MAX) -> None:
    """RTF (landscape, page x of y). Group rows are rtflite ``page_by`` rows (SAS PROC REPORT BY lines),
    repeated with the column header on every page. Cell attributes are given for one row and recycled:
    per-row attribute matrices are not kept aligned across rtflite's page breaks.

    A table of more than ``single_max`` rows (a listing of a large trial) is written as chunks of about
    ``chunk_rows`` rows, joined with ``rtflite.assemble_rtf`` (page break between
    chunks; title, column header, footnotes and source in each): rtflite's time grows with the square of the rows of one
    document (~24 s for 800 grouped rows), and is linear in chunks (~3 ms a row with 50-row chunks)."""
    import rtflite as rtf

    if len(t.rows) <= single_max:
        _write_rtf_doc(t, path)
        return
    with tempfile.TemporaryDirectory(dir=Path(path).parent) as tmp:
        parts = []
        for i, chunk in enumerate(_rtf_chunks(t, chunk_rows)):
            parts.append(str(Path(tmp) / f"part{i:06d}.rtf"))
            _write_rtf_doc(chunk, parts[-1])
        rtf.assemble_rtf(parts, str(path))


def _write_rtf_doc(t: Table, path: str | Path) -> None:
    import rtflite as rtf

    ncol = len(t.columns) + 1
    grouped = _grouped(t)
    data = {"label": ["   " * r.indent + _rtf_text(r.label) for r in t.rows]}
    for j in range(len(t.columns)):
        data[f"c{j}"] = [_rtf_text(r.cells[j]) for r in t.rows]
    df = pl.DataFrame(data, schema={k: pl.Utf8 for k in data})
    if grouped:
        df = df.insert_column(0, pl.Series("group", [_rtf_text(r.group) for r in t.rows], dtype=pl.Utf8))
    widths = t.widths or ([3.0] + [1.4] * (ncol - 1) if ncol <= 6 else [2.2] + [1.0] * (ncol - 1))
    body_widths = ([1.0] if grouped else []) + widths
    nbody = len(body_widths)
    body = rtf.RTFBody(
        col_rel_width=body_widths,
        text_justification=[(["l"] if grouped else []) + ["l"] + ["c"] * (ncol - 1)],
        border_top=[[""] * nbody], border_bottom=[[""] * nbody],
        **({"page_by": ["group"], "new_page": False, "pageby_row": "first_row"} if grouped else {}))
    header = [_rtf_text(t.stub_header or " ")] + [_rtf_text(c) for c in t.columns]
    doc = rtf.RTFDocument(
        df=df,
        rtf_page=rtf.RTFPage(orientation="landscape"),
        rtf_page_header=rtf.RTFPageHeader(),  # "Page x of y"
        rtf_title=rtf.RTFTitle(text=[_rtf_text(t.title), _rtf_text(t.population)], text_convert=[False]),
        rtf_column_header=[rtf.RTFColumnHeader(text=header, col_rel_width=widths,
                                               text_justification=[["l"] + ["c"] * (ncol - 1)])],
        rtf_body=body,
        rtf_footnote=rtf.RTFFootnote(text=[_rtf_text(x) for x in t.footnotes] or [" "], text_convert=[False]),
        rtf_source=rtf.RTFSource(text=[_rtf_text(t.source)], text_convert=[False]),
    )
    with contextlib.redirect_stdout(io.StringIO()):  # rtflite prints the path it writes
        doc.write_rtf(str(path))


def to_html(t: Table) -> str:
    from great_tables import GT, html, loc, style

    df = t.frame().with_columns(
        pl.Series("label", [INDENT * r.indent + r.label for r in t.rows], dtype=pl.Utf8))
    groups = _grouped(t)
    # great_tables takes the polars frame itself: same HTML as from pandas, ~4x faster, no pandas import
    gt = GT(df, rowname_col="label", groupname_col="group" if groups else None, id=t.name)
    if not groups:
        gt = gt.cols_hide("group")
    gt = (gt.tab_header(title=t.title, subtitle=t.population)
          .tab_stubhead(label=t.stub_header or "")
          .cols_align("center", columns=t.columns)
          .tab_options(table_font_size="12px", row_group_font_weight="bold", heading_title_font_size="15px"))
    for note in t.footnotes:
        gt = gt.tab_source_note(note)
    gt = gt.tab_source_note(html(f"<em>{_esc(t.source)}</em>"))
    gt = gt.tab_style(style=style.text(whitespace="pre"), locations=loc.stub())
    return gt.as_raw_html(make_page=True)


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

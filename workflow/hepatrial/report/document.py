"""A DSMB report as data (sections of paragraphs, tables and figures) and its two renderings:
self-contained HTML (images inline as base64) and PDF (Typst, offline, embedded fonts only).

Document control: every page carries the band OPEN or CLOSED with CONFIDENTIAL, the study, the
data cut, the report version and "page x of y", and the input manifest hash (HTML: a banner and a
footer repeated on every printed page). The title page gives the DSMB meeting date, the preparer,
the generation date and the software version; tables and figures are numbered (Table 1, Figure
1, ...) and listed after the contents. Renderings are byte-reproducible: no time is printed unless
``SOURCE_DATE_EPOCH`` is set (then its UTC date is the "generated" date), the PDF carries no
creation date, and the images carry no metadata.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hepatrial.errors import HepatrialWarning
from hepatrial.fonts import FAMILIES, describe, link_font_dir, missing_glyphs
from hepatrial.tlf.format import html_superscripts, power_parts, superscripts


@dataclass
class Para:
    text: str


@dataclass(frozen=True)
class Block:
    """Rows ``[start, end)`` of a report table kept on one page (a visit's estimates and
    comparison, a system organ class and its preferred terms): ``group`` names it on a page that
    continues it ("<group> (cont.)"), ``heading``: its first row is the group's heading row (one
    cell spanning the table) rather than a row of numbers."""

    start: int
    end: int
    group: str
    heading: bool = False


@dataclass
class Table:
    """A table: ``rows`` of cells under ``columns``; ``indents[i]`` indents row i's first cell
    (SOC / PT, visit / statistic), ``groups`` holds the indices of rows that are a group heading
    (one cell spanning the table). ``population`` prints under the title. ``blocks``: the groups
    the PDF keeps on one page (a TLF table's, :func:`hepatrial.report.content.from_tlf`); None:
    each heading row of ``groups`` opens one (:func:`table_blocks`)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    indents: list[int] | None = None
    groups: set[int] = field(default_factory=set)
    population: str = ""
    blocks: list[Block] | None = None


def table_blocks(b: Table) -> list[Block]:
    """Every row of ``b`` in one block, in order: its named blocks (:attr:`Table.blocks`, else one
    per heading row of :attr:`Table.groups`, to the next) and, between them, the runs of rows in
    none (``group`` empty: no "(cont.)" label)."""
    named = b.blocks
    if named is None:
        starts = sorted(b.groups)
        ends = [*starts[1:], len(b.rows)]
        named = [Block(a, e, str(b.rows[a][0]), True) for a, e in zip(starts, ends)]
    out, at = [], 0
    for k in sorted(named, key=lambda x: x.start):
        if k.start > at:
            out.append(Block(at, k.start, ""))
        out.append(k)
        at = k.end
    if at < len(b.rows):
        out.append(Block(at, len(b.rows), ""))
    return out


@dataclass
class Figure:
    title: str
    png: bytes
    note: str = ""


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, block) -> Section:
        self.blocks.append(block)
        return self


@dataclass
class Document:
    kind: str  # OPEN or CLOSED
    study_id: str
    title: str
    cut_date: str
    version: str
    manifest_hash: str
    sections: list[Section] = field(default_factory=list)
    audience: str = ""
    report_version: str = "1.0"
    meeting_date: str = ""
    preparer: str = ""

    @property
    def band(self) -> str:
        return (
            f"{self.kind} REPORT | CONFIDENTIAL | {self.study_id} | data cut {self.cut_date} | "
            f"report version {self.report_version}"
        )

    @property
    def stamp(self) -> str:
        return (
            f"{self.band} | hepatrial {self.version} | input manifest sha256 {self.manifest_hash}"
        )

    def numbered(self) -> dict[int, str]:
        """``id(block)`` -> "Table k" / "Figure k", in document order."""
        out, nt, nf = {}, 0, 0
        for s in self.sections:
            for b in s.blocks:
                if isinstance(b, Table):
                    nt += 1
                    out[id(b)] = f"Table {nt}"
                elif isinstance(b, Figure):
                    nf += 1
                    out[id(b)] = f"Figure {nf}"
        return out

    def control_lines(self) -> list[str]:
        gen = generated_date()
        return [
            f"Data cut: {self.cut_date}",
            f"Report version: {self.report_version}",
            f"DSMB meeting: {self.meeting_date or 'not set (study config dsmb.meeting_date)'}",
            f"Prepared by: {self.preparer or 'not set (study config dsmb.preparer)'}",
            f"Generated: {gen or 'date not stamped (set SOURCE_DATE_EPOCH)'}",
            f"Software: hepatrial {self.version}",
            f"Input manifest SHA-256: {self.manifest_hash}",
        ]


def generated_date() -> str:
    """The UTC date of ``SOURCE_DATE_EPOCH`` (reproducible builds), else empty: no wall-clock time
    goes into a report."""
    from hepatrial.config import source_date_epoch

    sde = source_date_epoch()
    if sde is None:
        return ""
    return dt.datetime.fromtimestamp(sde, tz=dt.UTC).date().isoformat()


# --- HTML -------------------------------------------------------------------------------------------

CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;font-size:13px;margin:0;color:#111}
main{padding:64px 28px 48px 28px;max-width:1100px}
.stamp{position:fixed;left:0;right:0;top:0;padding:6px 12px;font:bold 12px monospace;color:#fff;z-index:9}
.stamp.OPEN{background:#1a5e20}.stamp.CLOSED{background:#8b0000}
.foot{position:fixed;left:0;right:0;bottom:0;padding:4px 12px;font:11px monospace;background:#eee;border-top:1px solid #999}
h1{font-size:20px}h2{font-size:16px;border-bottom:1px solid #999;margin-top:28px}h3{font-size:14px}
table{border-collapse:collapse;margin:6px 0 4px 0}th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right}.note{font-size:11px;color:#444;margin:0 0 12px 0}
tr.grp td{background:#f7f7f7;font-weight:bold}.pop{font-size:12px;margin:0 0 4px 0}
.control td{border:none;padding:1px 8px 1px 0}
img{max-width:100%}
@media print{.stamp,.foot{position:fixed}main{padding-top:40px}}
"""


def _cell(v: str) -> str:
    s = html.escape(str(v))
    return f'<td class="n">{s}</td>' if _looks_numeric(str(v)) else f"<td>{s}</td>"


def _looks_numeric(s: str) -> bool:
    """A cell of numbers (right-aligned): ``12``, ``-0.5``, ``3 (2.5)``, ``<0.001``, ``(0.6, 2.3)`` and
    the safety tables' ``n (%) [E]``, ``72 (60.0) [115]`` (else a column mixes left and right); ``NE``
    (not estimable) stands for a number: ``NE``, ``NE (12, NE)``."""
    t = (
        s.replace(" ", "")
        .replace("(", "")
        .replace(")", "")
        .replace("%", "")
        .replace(".", "")
        .replace("-", "")
    )
    t = t.replace(",", "").replace("<", "").replace(">", "").replace("[", "").replace("]", "")
    t = t.replace("NE", "0")
    return bool(t) and t.isdigit()


def _html_table(b: Table, label: str) -> list[str]:
    e = html.escape
    out = [f'<h3 id="{e(label.replace(" ", "-"))}">{e(label)}. {e(b.title)}</h3>']
    if b.population:
        out.append(f'<p class="pop">{e(b.population)}</p>')
    out.append(
        "<table><thead><tr>"
        + "".join(f"<th>{e(c)}</th>" for c in b.columns)
        + "</tr></thead><tbody>"
    )
    for i, r in enumerate(b.rows):
        if i in b.groups:
            out.append(f'<tr class="grp"><td colspan="{len(b.columns)}">{e(r[0])}</td></tr>')
            continue
        ind = (b.indents or [0] * len(b.rows))[i]
        first = (
            (
                f'<td style="padding-left:{6 + 14 * ind}px">{e(str(r[0]))}</td>'
                if ind
                else _cell(r[0])
            )
            if r
            else ""
        )
        out.append("<tr>" + first + "".join(_cell(v) for v in r[1:]) + "</tr>")
    out.append("</tbody></table>")
    if b.note:
        out.append(f'<p class="note">{e(b.note)}</p>')
    return out


def to_html(doc: Document) -> str:
    e = html.escape
    labels = doc.numbered()
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(superscripts(f'{doc.kind} DSMB report {doc.study_id} {doc.cut_date}'))}</title>",
        f"<style>{CSS}</style></head><body>",
        f'<div class="stamp {e(doc.kind)}">{e(doc.band)}</div>',
        "<main>",
        f"<h1>{e(doc.kind.title())} DSMB report: {e(doc.study_id)}</h1>",
    ]
    if doc.title:
        out.append(f"<p><b>{e(doc.title)}</b></p>")
    out.append(
        '<table class="control">'
        + "".join(
            "<tr><td>{}</td><td>{}</td></tr>".format(*(e(x) for x in ln.split(": ", 1)))
            for ln in doc.control_lines()
        )
        + "</table>"
    )
    if doc.audience:
        out.append(f"<p><i>{e(doc.audience)}</i></p>")
    out.append(
        "<h2>Contents</h2><nav><ol>"
        + "".join(
            f'<li><a href="#s{i}">{e(s.title)}</a></li>' for i, s in enumerate(doc.sections, 1)
        )
        + "</ol></nav>"
    )
    for kind in ("Table", "Figure"):
        items = [
            (labels[id(b)], b.title)
            for s in doc.sections
            for b in s.blocks
            if id(b) in labels and labels[id(b)].startswith(kind)
        ]
        if items:
            out.append(
                f"<h2>List of {kind.lower()}s</h2><ul>"
                + "".join(
                    f'<li><a href="#{e(lab.replace(" ", "-"))}">{e(lab)}</a>. {e(t)}</li>'
                    for lab, t in items
                )
                + "</ul>"
            )
    for i, s in enumerate(doc.sections, 1):
        out.append(f'<h2 id="s{i}">{i}. {e(s.title)}</h2>')
        for b in s.blocks:
            if isinstance(b, Para):
                out.append(f"<p>{e(b.text)}</p>")
            elif isinstance(b, Table):
                out += _html_table(b, labels[id(b)])
            elif isinstance(b, Figure):
                data = base64.b64encode(b.png).decode("ascii")
                lab = labels[id(b)]
                out.append(
                    f'<h3 id="{e(lab.replace(" ", "-"))}">{e(lab)}. {e(b.title)}</h3>'
                    f'<img alt="{e(superscripts(b.title))}" src="data:image/png;base64,{data}">'
                )
                if b.note:
                    out.append(f'<p class="note">{e(b.note)}</p>')
    out.append("</main>")
    out.append(f'<div class="foot">{e(doc.stamp)}</div></body></html>')
    # 10^6 -> 10<sup>6</sup> in every element (the title and the images' alt text are plain text,
    # set above with Unicode superscript digits)
    return html_superscripts("\n".join(out) + "\n")


# --- Typst / PDF -----------------------------------------------------------------------------------


def _str(text: str) -> str:
    """A Typst string literal."""
    text = str(text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _s(text: str) -> str:
    """A Typst expression printing ``text``: a string literal, or, with a power of ten, the
    string's pieces joined with the exponent set as superscript (``("1x10" + super("6") +
    "/kg")``)."""
    parts = power_parts(str(text))
    if not any(sup for _, sup in parts):
        return _str(text)
    return "(" + " + ".join(f"super({_str(p)})" if sup else _str(p) for p, sup in parts) + ")"


CONT = " (cont.)"  # after the group name on a page that continues a block (as the RTF tables)
BOTTOM_MARGIN = "2cm"  # of every page; a kept block whose bottom falls below it is too tall
# Typst helpers of the report tables (see _typst_table):
#   hr-tall       the keys of the blocks too tall for a page (sys.inputs, from the first pass)
#   hr-cont       ``first`` on the page where the labelled header row first appears, ``later`` on
#                 a page that repeats it (the block continues: "<group> (cont.)")
#   hr-keep       the hidden first column's cell spanning a block's rows: unbreakable (the block
#                 moves to the next page whole), unless the block is too tall; its bottom marks
#                 where the block ends (<hepatrial-keep>)
#   hr-none       the hidden column's cell of a row in no kept block
TYPST_HELPERS = """
#let hr-tall = json(bytes(sys.inputs.at("hepatrial-tall", default: "[]")))
#let hr-cont(key, first, later) = [#metadata(key)#label(key)#context {
  if here().page() > query(label(key)).first().location().page() { later } else { first }
}]
#let hr-keep(n, key) = table.cell(rowspan: n, breakable: hr-tall.contains(key), inset: 0pt,
  stroke: none, place(bottom)[#metadata(key)<hepatrial-keep>])
#let hr-none = table.cell(inset: 0pt, stroke: none, [])
"""
# after the document: the kept blocks whose bottom fell below the bottom margin (too tall for a page)
TYPST_TALL = (
    "#context [#metadata(query(<hepatrial-keep>).filter(m => m.location().position().y > "
    f"page.height - {BOTTOM_MARGIN}).map(m => m.value))<hepatrial-tall>]"
)


def _typst_cells(b: Table, i: int, wrap=None) -> list[str]:
    """The cells of row ``i``: the stub (indented) and the others (numbers right-aligned);
    ``wrap(j, content)``: each cell's content wrapped (the "(cont.)" header rows)."""
    r = b.rows[i]
    ind = (b.indents or [0] * len(b.rows))[i]
    out = []
    for j, v in enumerate(r):
        body = (f"[#h({0.9 * ind}em)#{_s(v)}]" if ind else _s(v)) if j == 0 else _s(v)
        body = wrap(j, body) if wrap else body
        right = j > 0 and _looks_numeric(str(v))
        out.append(f"table.cell(align: right, {body})" if right else body)
    return out


def _typst_table(b: Table, label: str, n: int = 0) -> list[str]:
    """Table ``n`` of the report: the title and population stay with its first rows (sticky),
    the column header repeats on every page, and each block (:func:`table_blocks`) is kept on
    one page (moved whole to the next) unless it is longer than a page; a block cut across pages
    repeats its group row on the next with "(cont.)" (a level-2 table header: Typst repeats it
    while the block lasts). A group's heading row spans the table; a block whose group is only
    its key (a system organ class and its preferred terms) repeats its first row, the label
    followed by "(cont.)" and the numbers blank."""
    t = [f"#block(sticky: true, heading(level: 2, outlined: false, {_s(label + '. ' + b.title)}))"]
    if b.population:
        t.append(f"#block(sticky: true, text(size: 7.5pt, {_s(b.population)}))")
    ncol = len(b.columns)
    head = "table.header(hr-none, " + ", ".join("strong(" + _s(c) + ")" for c in b.columns) + ")"
    cells = []
    named_before = False
    for k, blk in enumerate(table_blocks(b)):
        key = f"hr-{n}-{k}"
        body = list(range(blk.start, blk.end))
        if blk.group and len(body) == 1:  # a group row with no row under it: a plain row (as
            # a level-2 header followed by another, Typst 0.14 panics laying the table out)
            if named_before:
                cells.append(
                    f"table.header(level: 2, hr-none, table.cell(colspan: {ncol}, inset: 0pt, []))"
                )
            name = b.rows[blk.start][0]
            cells += ["hr-none"] + (
                [f"table.cell(colspan: {ncol}, fill: luma(245), strong({_s(name)}))"]
                if blk.heading
                else _typst_cells(b, blk.start)
            )
            continue
        if blk.group and blk.heading:
            name = b.rows[blk.start][0]
            cont = f"hr-cont({_str(key)}, strong({_s(name)}), strong({_s(blk.group + CONT)}))"
            cells.append(
                f"table.header(level: 2, hr-none, table.cell(colspan: {ncol}, fill: luma(245), "
                f"{cont}))"
            )
            body = body[1:]
        elif blk.group:  # the first row is the group's: repeated, "(cont.)", numbers blank
            later = {0: _s(blk.group + CONT)}
            row = _typst_cells(
                b,
                blk.start,
                lambda j, c, key=key, later=later: (
                    f"hr-cont({_str(key)}, {c}, {later.get(j, '[]')})"
                ),
            )
            cells.append(f"table.header(level: 2, hr-none, {', '.join(row)})")
            body = body[1:]
        elif named_before:  # ends the repetition of the block before (an empty header row)
            cells.append(
                f"table.header(level: 2, hr-none, table.cell(colspan: {ncol}, inset: 0pt, []))"
            )
        named_before = named_before or bool(blk.group)
        for j, i in enumerate(body):
            if j == 0 and len(body) > 1:
                cells.append(f"hr-keep({len(body)}, {_str(key)})")
            elif len(body) == 1:
                cells.append("hr-none")
            cells += _typst_cells(b, i)
    cols = "(0pt, " + ", ".join(["auto"] * ncol) + ")"
    t.append(f"#table(columns: {cols}, {head}{', ' + ', '.join(cells) if cells else ''})")
    if b.note:  # on one page (a note cut across pages was read as two)
        t.append(f"#block(breakable: false, text(size: 7pt, fill: luma(70), {_s(b.note)}))")
    return t


def to_typst(doc: Document, image_names: dict[int, str]) -> str:
    colour = 'rgb("#1a5e20")' if doc.kind == "OPEN" else 'rgb("#8b0000")'
    labels = doc.numbered()
    t = [
        f"#set document(title: {_str(superscripts(doc.kind + ' DSMB report ' + doc.study_id + ' ' + doc.cut_date))}, "
        f'author: ("hepatrial",), date: none)',
        f"#set text(font: ({', '.join(_str(f) for f in FAMILIES)}), size: 8.5pt, fallback: true)",
        f'#set page(paper: "a4", flipped: false, margin: (top: 2.2cm, bottom: {BOTTOM_MARGIN}, x: 1.6cm),',
        f'  header: context block(width: 100%, fill: {colour}, inset: 5pt, text(fill: white, weight: "bold", '
        f"size: 8pt, {_s(doc.band)} + h(1fr) + [page #counter(page).display() of "
        "#counter(page).final().first()])),",
        f"  footer: context block(width: 100%, text(size: 6.5pt, {_s('CONFIDENTIAL | ' + doc.study_id + ' | input manifest sha256 ' + doc.manifest_hash[:16] + '...')}"
        " + h(1fr) + [page #counter(page).display() of #counter(page).final().first()])))",
        "#set table(stroke: 0.4pt + luma(160), inset: 3pt)",
        "#show table: set text(size: 7.5pt)",
        "#show heading.where(level: 1): set text(size: 13pt)",
        "#show heading.where(level: 2): set text(size: 10pt)",
        TYPST_HELPERS,
        f'#text(size: 16pt, weight: "bold", {_s(doc.kind.title() + " DSMB report: " + doc.study_id)})',
        "",
    ]
    if doc.title:
        t.append(f'#text(weight: "bold", {_s(doc.title)})\n')
    rows = ", ".join(
        f"{_s(k)}, {_s(v)}" for k, v in (ln.split(": ", 1) for ln in doc.control_lines())
    )
    t.append(f"#table(columns: (auto, auto), stroke: none, inset: 2pt, {rows})\n")
    if doc.audience:
        t.append(f"#emph({_s(doc.audience)})\n")
    t.append("#outline(depth: 1)\n")
    for kind in ("Table", "Figure"):
        items = [
            (labels[id(b)], b.title)
            for s in doc.sections
            for b in s.blocks
            if id(b) in labels and labels[id(b)].startswith(kind)
        ]
        if items:
            t.append(f"#heading(level: 2, outlined: false, {_s('List of ' + kind.lower() + 's')})")
            t.append(
                "#text(size: 7.5pt)["
                + "".join(f"#{_s(lab + '. ' + title)} \\\n" for lab, title in items)
                + "]"
            )
    t.append("#pagebreak()")
    tables: list[Table] = []
    for i, s in enumerate(doc.sections, 1):
        t.append(f"#heading(level: 1, {_s(f'{i}. {s.title}')})")
        for b in s.blocks:
            if isinstance(b, Para):
                t.append(f"#par({_s(b.text)})")
            elif isinstance(b, Table):
                t += _typst_table(b, labels[id(b)], len(tables))
                tables.append(b)
            elif isinstance(b, Figure):
                t.append(
                    f"#heading(level: 2, outlined: false, {_s(labels[id(b)] + '. ' + b.title)})"
                )
                t.append(f"#image({_str(image_names[id(b)])}, width: 90%)")
                if b.note:
                    t.append(f"#text(size: 7pt, fill: luma(70), {_s(b.note)})")
        t.append("")
    t.append(TYPST_TALL)
    return "\n".join(t) + "\n"


def to_pdf(doc: Document, out: str | Path) -> None:
    """The PDF, typeset twice by Typst: a first pass keeps every table block on one page and
    finds the blocks longer than a page (their bottom below the margin), the second lets those
    break across pages (:func:`_typst_table`); every other block stays whole."""
    import typst

    with tempfile.TemporaryDirectory() as tmp:
        names = {}
        k = 0
        for s in doc.sections:
            for b in s.blocks:
                if isinstance(b, Figure):
                    k += 1
                    name = f"fig{k:03d}.png"
                    Path(tmp, name).write_bytes(b.png)
                    names[id(b)] = name
        src = Path(tmp, "report.typ")
        src.write_text(to_typst(doc, names), encoding="utf-8")
        fonts = link_font_dir(Path(tmp, "fonts"))  # the project's own fonts, never the machine's
        compiler = typst.Compiler(
            str(src), root=tmp, font_paths=[str(fonts)], ignore_system_fonts=True
        )
        tall = json.loads(compiler.query("<hepatrial-tall>", field="value", one=True))
        inputs = {"hepatrial-tall": json.dumps(sorted(tall))} if tall else {}
        pdf = compiler.compile(format="pdf", sys_inputs=inputs)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_bytes(pdf)


def document_texts(doc: Document):
    """Every string the document prints (titles, paragraphs, cells, notes, the control lines)."""
    yield from (doc.title, doc.band, doc.stamp, doc.audience, *doc.control_lines())
    for s in doc.sections:
        yield s.title
        for b in s.blocks:
            if isinstance(b, Para):
                yield b.text
            elif isinstance(b, Table):
                yield from (b.title, b.note, b.population, *b.columns)
                for r in b.rows:
                    yield from (str(c) for c in r)
            elif isinstance(b, Figure):
                yield from (b.title, b.note)


def warn_missing_glyphs(doc: Document) -> list[str]:
    """A :class:`HepatrialWarning` naming the characters of ``doc`` that the bundled fonts cannot
    draw (they would print blank). Returns those characters."""
    import warnings

    chars = missing_glyphs(document_texts(doc))
    if chars:
        warnings.warn(
            HepatrialWarning(
                f"{doc.kind.lower()} DSMB report: {len(chars)} character(s) have no glyph in the "
                f"bundled fonts ({', '.join(FAMILIES)}) and print blank: {describe(chars)}"
            ),
            stacklevel=2,
        )
    return chars


def write_document(doc: Document, html_out: str | Path, pdf_out: str | Path) -> None:
    warn_missing_glyphs(doc)
    Path(html_out).parent.mkdir(parents=True, exist_ok=True)
    Path(html_out).write_text(to_html(doc), encoding="utf-8")
    to_pdf(doc, pdf_out)

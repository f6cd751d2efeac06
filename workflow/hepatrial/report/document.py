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
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hepatrial.errors import HepatrialWarning
from hepatrial.fonts import FAMILIES, describe, link_font_dir, missing_glyphs
from hepatrial.tlf.format import html_superscripts, power_parts, superscripts


@dataclass
class Para:
    text: str


@dataclass
class Table:
    """A table: ``rows`` of cells under ``columns``; ``indents[i]`` indents row i's first cell
    (SOC / PT, visit / statistic), ``groups`` holds the indices of rows that are a group heading
    (one cell spanning the table). ``population`` prints under the title."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    indents: list[int] | None = None
    groups: set[int] = field(default_factory=set)
    population: str = ""


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
    sde = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not sde:
        return ""
    return dt.datetime.fromtimestamp(int(sde), tz=dt.UTC).date().isoformat()


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


def _typst_table(b: Table, label: str) -> list[str]:
    t = [f"#heading(level: 2, outlined: false, {_s(label + '. ' + b.title)})"]
    if b.population:
        t.append(f"#text(size: 7.5pt, {_s(b.population)})")
    ncol = len(b.columns)
    head = "table.header(" + ", ".join("strong(" + _s(c) + ")" for c in b.columns) + ")"
    cells = []
    for i, r in enumerate(b.rows):
        if i in b.groups:
            cells.append(f"table.cell(colspan: {ncol}, fill: luma(245), strong({_s(r[0])}))")
            continue
        ind = (b.indents or [0] * len(b.rows))[i]
        first = f"[#h({0.9 * ind}em)#{_s(r[0])}]" if ind else _s(r[0])
        cells.append(first)
        cells += [
            f"table.cell(align: right, {_s(v)})" if _looks_numeric(str(v)) else _s(v) for v in r[1:]
        ]
    cols = "(auto, " + ", ".join(["auto"] * (ncol - 1)) + ")" if ncol > 1 else "(auto,)"
    t.append(f"#table(columns: {cols}, {head}{', ' + ', '.join(cells) if cells else ''})")
    if b.note:
        t.append(f"#text(size: 7pt, fill: luma(70), {_s(b.note)})")
    return t


def to_typst(doc: Document, image_names: dict[int, str]) -> str:
    colour = 'rgb("#1a5e20")' if doc.kind == "OPEN" else 'rgb("#8b0000")'
    labels = doc.numbered()
    t = [
        f"#set document(title: {_str(superscripts(doc.kind + ' DSMB report ' + doc.study_id + ' ' + doc.cut_date))}, "
        f'author: ("hepatrial",), date: none)',
        f"#set text(font: ({', '.join(_str(f) for f in FAMILIES)}), size: 8.5pt, fallback: true)",
        '#set page(paper: "a4", flipped: false, margin: (top: 2.2cm, bottom: 2cm, x: 1.6cm),',
        f'  header: context block(width: 100%, fill: {colour}, inset: 5pt, text(fill: white, weight: "bold", '
        f"size: 8pt, {_s(doc.band)} + h(1fr) + [page #counter(page).display() of "
        "#counter(page).final().first()])),",
        f"  footer: context block(width: 100%, text(size: 6.5pt, {_s('CONFIDENTIAL | ' + doc.study_id + ' | input manifest sha256 ' + doc.manifest_hash[:16] + '...')}"
        " + h(1fr) + [page #counter(page).display() of #counter(page).final().first()])))",
        "#set table(stroke: 0.4pt + luma(160), inset: 3pt)",
        "#show table: set text(size: 7.5pt)",
        "#show heading.where(level: 1): set text(size: 13pt)",
        "#show heading.where(level: 2): set text(size: 10pt)",
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
    for i, s in enumerate(doc.sections, 1):
        t.append(f"#heading(level: 1, {_s(f'{i}. {s.title}')})")
        for b in s.blocks:
            if isinstance(b, Para):
                t.append(f"#par({_s(b.text)})")
            elif isinstance(b, Table):
                t += _typst_table(b, labels[id(b)])
            elif isinstance(b, Figure):
                t.append(
                    f"#heading(level: 2, outlined: false, {_s(labels[id(b)] + '. ' + b.title)})"
                )
                t.append(f"#image({_str(image_names[id(b)])}, width: 90%)")
                if b.note:
                    t.append(f"#text(size: 7pt, fill: luma(70), {_s(b.note)})")
        t.append("")
    return "\n".join(t) + "\n"


def to_pdf(doc: Document, out: str | Path) -> None:
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
        pdf = typst.compile(
            str(src), root=tmp, font_paths=[str(fonts)], ignore_system_fonts=True, format="pdf"
        )
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

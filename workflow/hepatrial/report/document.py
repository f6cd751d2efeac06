"""A DSMB report as data (sections of paragraphs, tables and figures) and its two renderings:
self-contained HTML (images inline as base64) and PDF (Typst, offline, embedded fonts only).

Every page carries the stamp: OPEN or CLOSED, the study, the data cut date, the pipeline version and
the input manifest hash (HTML: a banner repeated on every printed page; PDF: page header and
footer). Renderings are byte-reproducible: no time is printed unless ``SOURCE_DATE_EPOCH`` is set
(then its UTC date is the "generated" date), the PDF carries no creation date, and the images
carry no metadata.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Para:
    text: str


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Figure:
    title: str
    png: bytes
    note: str = ""


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, block) -> "Section":
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

    @property
    def stamp(self) -> str:
        return (f"{self.kind} REPORT | {self.study_id} | data cut {self.cut_date} | hepatrial {self.version} | "
                f"input manifest sha256 {self.manifest_hash}")


def generated_date() -> str:
    """The UTC date of ``SOURCE_DATE_EPOCH`` (reproducible builds), else empty: no wall-clock time
    goes into a report."""
    sde = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not sde:
        return ""
    return dt.datetime.fromtimestamp(int(sde), tz=dt.timezone.utc).date().isoformat()


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
img{max-width:100%}
@media print{.stamp,.foot{position:fixed}main{padding-top:40px}}
"""


def _cell(v: str) -> str:
    s = html.escape(str(v))
    return f'<td class="n">{s}</td>' if _looks_numeric(str(v)) else f"<td>{s}</td>"


def _looks_numeric(s: str) -> bool:
    t = s.replace(" ", "").replace("(", "").replace(")", "").replace("%", "").replace(".", "").replace("-", "")
    t = t.replace(",", "").replace("<", "").replace(">", "")
    return bool(t) and t.isdigit()


def to_html(doc: Document) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(doc.kind)} DSMB report {e(doc.study_id)} {e(doc.cut_date)}</title>",
           f"<style>{CSS}</style></head><body>",
           f'<div class="stamp {e(doc.kind)}">{e(doc.stamp)}</div>', "<main>",
           f"<h1>{e(doc.kind.title())} DSMB report: {e(doc.study_id)}</h1>"]
    if doc.title:
        out.append(f"<p><b>{e(doc.title)}</b></p>")
    meta = f"Data cut {e(doc.cut_date)}. hepatrial {e(doc.version)}. Input manifest SHA-256 <code>{e(doc.manifest_hash)}</code>."
    gen = generated_date()
    if gen:
        meta += f" Generated {e(gen)}."
    out.append(f"<p>{meta}</p>")
    if doc.audience:
        out.append(f"<p><i>{e(doc.audience)}</i></p>")
    out.append("<nav><ol>" + "".join(f'<li><a href="#s{i}">{e(s.title)}</a></li>'
                                     for i, s in enumerate(doc.sections, 1)) + "</ol></nav>")
    for i, s in enumerate(doc.sections, 1):
        out.append(f'<h2 id="s{i}">{i}. {e(s.title)}</h2>')
        for b in s.blocks:
            if isinstance(b, Para):
                out.append(f"<p>{e(b.text)}</p>")
            elif isinstance(b, Table):
                out.append(f"<h3>{e(b.title)}</h3><table><thead><tr>"
                           + "".join(f"<th>{e(c)}</th>" for c in b.columns) + "</tr></thead><tbody>")
                for r in b.rows:
                    out.append("<tr>" + "".join(_cell(v) for v in r) + "</tr>")
                out.append("</tbody></table>")
                if b.note:
                    out.append(f'<p class="note">{e(b.note)}</p>')
            elif isinstance(b, Figure):
                data = base64.b64encode(b.png).decode("ascii")
                out.append(f"<h3>{e(b.title)}</h3>"
                           f'<img alt="{e(b.title)}" src="data:image/png;base64,{data}">')
                if b.note:
                    out.append(f'<p class="note">{e(b.note)}</p>')
    out.append("</main>")
    out.append(f'<div class="foot">{e(doc.stamp)}</div></body></html>')
    return "\n".join(out) + "\n"


# --- Typst / PDF -----------------------------------------------------------------------------------

def _s(text: str) -> str:
    """A Typst string literal."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_typst(doc: Document, image_names: dict[int, str]) -> str:
    colour = "rgb(\"#1a5e20\")" if doc.kind == "OPEN" else "rgb(\"#8b0000\")"
    t = [
        f"#set document(title: {_s(doc.kind + ' DSMB report ' + doc.study_id + ' ' + doc.cut_date)}, "
        f"author: (\"hepatrial\",), date: none)",
        "#set text(font: \"DejaVu Sans\", size: 8.5pt, fallback: true)",
        "#set page(paper: \"a4\", flipped: false, margin: (top: 2.2cm, bottom: 2cm, x: 1.6cm),",
        f"  header: block(width: 100%, fill: {colour}, inset: 5pt, text(fill: white, weight: \"bold\", size: 8pt, "
        f"{_s(doc.kind + ' REPORT | ' + doc.study_id + ' | data cut ' + doc.cut_date + ' | hepatrial ' + doc.version)})),",
        f"  footer: context block(width: 100%, text(size: 6.5pt, {_s(doc.kind + ' | input manifest sha256 ' + doc.manifest_hash)}"
        " + h(1fr) + [page #counter(page).display() of #counter(page).final().first()])))",
        "#set table(stroke: 0.4pt + luma(160), inset: 3pt)",
        "#show table: set text(size: 7.5pt)",
        "#show heading.where(level: 1): set text(size: 13pt)",
        "#show heading.where(level: 2): set text(size: 10pt)",
        f"#text(size: 16pt, weight: \"bold\", {_s(doc.kind.title() + ' DSMB report: ' + doc.study_id)})",
        "",
    ]
    if doc.title:
        t.append(f"#text(weight: \"bold\", {_s(doc.title)})\n")
    meta = f"Data cut {doc.cut_date}. hepatrial {doc.version}. Input manifest SHA-256 {doc.manifest_hash}."
    gen = generated_date()
    if gen:
        meta += f" Generated {gen}."
    t.append(f"#par({_s(meta)})\n")
    if doc.audience:
        t.append(f"#emph({_s(doc.audience)})\n")
    t.append("#outline(depth: 1)\n")
    fig_i = 0
    for i, s in enumerate(doc.sections, 1):
        t.append(f"#heading(level: 1, {_s(f'{i}. {s.title}')})")
        for b in s.blocks:
            if isinstance(b, Para):
                t.append(f"#par({_s(b.text)})")
            elif isinstance(b, Table):
                t.append(f"#heading(level: 2, outlined: false, {_s(b.title)})")
                ncol = len(b.columns)
                cells = ", ".join(f"table.header({', '.join('strong(' + _s(c) + ')' for c in b.columns)})"
                                  for _ in [0])
                body = ", ".join(_s(v) for r in b.rows for v in r)
                t.append(f"#table(columns: {ncol}, {cells}{', ' + body if body else ''})")
                if b.note:
                    t.append(f"#text(size: 7pt, fill: luma(70), {_s(b.note)})")
            elif isinstance(b, Figure):
                t.append(f"#heading(level: 2, outlined: false, {_s(b.title)})")
                t.append(f"#image({_s(image_names[id(b)])}, width: 90%)")
                if b.note:
                    t.append(f"#text(size: 7pt, fill: luma(70), {_s(b.note)})")
                fig_i += 1
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
        pdf = typst.compile(str(src), root=tmp, ignore_system_fonts=True, format="pdf")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_bytes(pdf)


def write_document(doc: Document, html_out: str | Path, pdf_out: str | Path) -> None:
    Path(html_out).parent.mkdir(parents=True, exist_ok=True)
    Path(html_out).write_text(to_html(doc), encoding="utf-8")
    to_pdf(doc, pdf_out)

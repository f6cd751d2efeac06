"""CSV, RTF and HTML renderings of one table agree, parse, and are byte-identical on rerun."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser

import pytest
from test_tlf_data import CUT, adae, adsl, build_ard, study

from hepatrial.tlf import render as rtf_render
from hepatrial.tlf.render import write_all
from hepatrial.tlf.tables import ARD, Table, build_table, listing_sae


@pytest.fixture(scope="module")
def ard(tmp_path_factory):
    st = study(tmp_path_factory.mktemp("r"))
    return ARD(build_ard(st), st, CUT)


def render(t: Table, folder):
    paths = [folder / f"{t.name}.{e}" for e in ("csv", "rtf", "html")]
    write_all(t, *paths)
    return paths


def rtf_groups_balanced(text: str) -> bool:
    depth = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
        i += 1
    return depth == 0


class Cells(HTMLParser):
    """Text of the <th> and <td> cells of an HTML table, row by row."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


@pytest.mark.parametrize("name", ["baseline", "mmrm_MELD", "ae_soc_pt", "km"])
def test_rtf_is_a_balanced_rtf_document_with_title_and_cells(name, ard, tmp_path):
    t = build_table(name, ard, "tlf_x")
    _, rtf, _ = render(t, tmp_path)
    text = rtf.read_text(encoding="utf-8")
    assert text.startswith("{\\rtf1")
    assert rtf_groups_balanced(text)
    assert t.title in text and t.columns[0] in text
    assert "rule tlf_x" in text  # the source line, with no LaTeX conversion of the underscore
    body = [c for r in t.rows for c in r.cells if c]
    assert body and all(c in text for c in body[:10])


def rtf_table_rows(text: str) -> list[list[str]]:
    """Cell texts of each RTF table row (``{\\f<n> text}\\cell`` ... ``\\row``)."""
    rows = []
    for chunk in text.split("\\intbl\\row")[:-1]:
        rows.append(re.findall(r"\{\\f\d+ (.*?)\}\\cell", chunk))
    return rows


@pytest.mark.parametrize("name", ["baseline", "ae_soc_pt"])
def test_rtf_table_rows_read_back_equal_the_csv(name, ard, tmp_path):
    t = build_table(name, ard, "tlf_x")
    csv_path, rtf, _ = render(t, tmp_path)
    rows = rtf_table_rows(rtf.read_text(encoding="utf-8"))
    header = [t.stub_header or " ", *t.columns]
    assert rows[0] == header
    assert len(rows[-1]) == 1 and rows[-1][0].startswith(t.footnotes[0][:30])  # the footnote row
    # the header and the footnotes repeat on every page
    rows = [r for r in rows[1:] if r != header and r != rows[-1]]
    with open(csv_path, newline="", encoding="utf-8") as fh:
        body = list(csv.DictReader(fh))
    expect, last = [], None
    for r in body:  # a group row (one merged cell) before the first row of each group
        if t.group_rows and r["group"] and r["group"] != last:
            expect.append([r["group"]])
            last = r["group"]
        expect.append([r["label"], *(r[c] for c in t.columns)])
    got = [[r[0].strip(), *r[1:]] if len(r) > 1 else r for r in rows]
    # rtflite repeats the group row at the top of a new page: drop repeats of the group in force
    dedup, current = [], None
    for r in got:
        if len(r) == 1:
            if r[0] == current:
                continue
            current = r[0]
        dedup.append(r)
    assert dedup == expect


def test_rtf_stays_balanced_with_braces_in_the_data(ard, tmp_path):
    t = listing_sae(adae(), adsl(), ard.study, CUT)  # an AE term "liver failure {acute}"
    _, rtf, _ = render(t, tmp_path)
    text = rtf.read_text(encoding="utf-8")
    assert rtf_groups_balanced(text)
    assert "liver failure (acute)" in text


def test_html_has_the_header_and_the_rows_of_the_csv(ard, tmp_path):
    t = build_table("baseline", ard, "tlf_x")
    csv_path, _, html = render(t, tmp_path)
    parser = Cells()
    parser.feed(html.read_text(encoding="utf-8"))
    header = next(r for r in parser.rows if "Total (N=6)" in r)
    assert header[-3:] == ["UC-MSC (N=3)", "Placebo (N=3)", "Total (N=6)"]
    with open(csv_path, newline="", encoding="utf-8") as fh:
        body = [[r["label"], *(r[c] for c in t.columns)] for r in csv.DictReader(fh)]
    html_body = [
        [r[0].replace("\u00a0", "").strip(), *r[1:]]
        for r in parser.rows
        if len(r) == len(t.columns) + 1 and r != header
    ]
    assert html_body == body
    groups = {r.group for r in t.rows}
    assert all(any(g == r[0] for r in parser.rows) for g in groups)  # group rows
    assert t.title in html.read_text(encoding="utf-8")


def test_renderings_are_byte_identical_on_rerun(ard, tmp_path):
    runs = []
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        runs.append(
            [p.read_bytes() for p in render(build_table("km", ard, "tlf_x"), tmp_path / sub)]
        )
    assert runs[0] == runs[1]


def test_a_long_grouped_table_is_cut_into_pages_each_with_header_and_group_row(tmp_path):
    """The pages are cut by paginate() from the rows' wrapped height: every row once, in order, one
    balanced RTF document with a page break between pages, the column header (a \\trhdr row) on
    every page, and a page that starts inside a group (longer than a page) opens with the group's
    row and "(cont.)"."""
    from hepatrial.tlf.render import _layout, paginate, write_rtf
    from hepatrial.tlf.tables import Row

    groups = [("Arm A", 130), ("Arm B", 95)]  # groups longer than a page, as a listing by arm
    rows = [
        Row(group=g, label=f"S-{g[-1]}{k:03d}", cells=[f"{g}/{k}/a", f"{g}/{k}/b"])
        for g, m in groups
        for k in range(m)
    ]
    t = Table(
        "l_long",
        "Listing of many things",
        "SAFETY",
        ["A", "B"],
        rows=rows,
        footnotes=["note"],
        source="Source: test",
        kind="Listing",
    )
    pages = paginate(t, _layout(t))
    assert [r for a, b in pages for r in rows[a:b]] == rows
    assert all(25 <= b - a <= 40 for a, b in pages[:-1])  # one-line rows: 25-40 a landscape page
    path = tmp_path / "l_long.rtf"
    write_rtf(t, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("{\\rtf1") and text.count("{\\rtf1") == 1 and rtf_groups_balanced(text)
    assert text.count("\\page\n") == len(pages) - 1
    assert text.count("\\trhdr") == len(pages)
    body = [r for r in rtf_table_rows(text) if len(r) == 3]  # label and two cells
    assert [r[1] for r in body if r[1] != "A"] == [r.cells[0] for r in rows]
    # each page opens with its group row, "(cont.)" when the page continues the group
    for page_text, (a, _) in zip(text.split("\\page\n"), pages):
        first_group = next(r for r in rtf_table_rows(page_text) if len(r) == 1)
        cont = a > 0 and rows[a - 1].group == rows[a].group
        assert first_group == [rows[a].group + (" (cont.)" if cont else "")]
    assert list(tmp_path.iterdir()) == [path]  # the page files are gone


def test_a_short_table_is_one_page(tmp_path):
    from hepatrial.tlf.render import write_rtf
    from hepatrial.tlf.tables import Row

    rows = [Row(group="", label=f"row {i}", cells=[str(i)]) for i in range(20)]
    path = tmp_path / "t.rtf"
    write_rtf(Table("t", "Short", "ITT", ["n"], rows=rows), path)
    assert "\\page\n" not in path.read_text(encoding="utf-8")


def _page_bodies(text: str, ncols: int) -> list[list[list[str]]]:
    """Body rows of each page of an RTF (the header, group rows of one cell, and footnote rows
    left out): label and cells."""
    out = []
    for page in text.split("\\page\n"):
        rows = [r for r in rtf_table_rows(page) if len(r) == ncols + 1]
        out.append(rows[1:])  # the column header first
    return out


def _blocks_table(group_rows: bool, sizes: list[int]):
    from hepatrial.tlf.tables import Row

    rows = []
    for k, m in enumerate(sizes):
        g = f"Block {k:02d}"
        if not group_rows:  # a SOC row opens its block, as in the AE tables
            rows.append(Row(g, g, ["x", "y"], 0))
        rows += [Row(g, f"{g} row {i}", ["1.0 (0.2)", "(0.1, 0.9)"], 1) for i in range(m)]
    return Table(
        "blocks",
        "Blocks",
        "ITT",
        ["A", "B"],
        rows=rows,
        footnotes=["note"],
        source="Source: test",
        group_rows=group_rows,
    )


@pytest.mark.parametrize("group_rows", [True, False])
def test_page_breaks_fall_between_group_blocks(group_rows, tmp_path):
    """A group block (a visit's LS means, difference, CI and p; an outcome's cumulative incidences
    and Gray's tests; a system organ class and its preferred terms) is never cut by a page break when
    it fits on a page: the block that does not fit the rest of a page starts the next one. Blocks of
    6 rows: a page of ~27 rows cut by rows alone would cut inside one."""
    from hepatrial.tlf.render import _layout, paginate, write_rtf

    t = _blocks_table(group_rows, [6] * 14)
    pages = paginate(t, _layout(t))
    assert len(pages) > 1
    for a, _ in pages:
        assert a == 0 or t.rows[a - 1].group != t.rows[a].group  # each page starts a block
    path = tmp_path / "blocks.rtf"
    write_rtf(t, path)
    bodies = _page_bodies(path.read_text(encoding="utf-8"), 2)
    assert len(bodies) == len(pages)
    seen: set[str] = set()
    for body in bodies:
        blocks = {r[0].strip().split(" row ")[0] for r in body}
        assert not blocks & seen, "a block continues on the next page"
        seen |= blocks
        assert not any("(cont.)" in r[0] for r in body)
    assert [r[0].strip() for body in bodies for r in body] == [
        r.label for r in t.rows
    ]  # every row once, in order


@pytest.mark.parametrize("group_rows", [True, False])
def test_a_block_longer_than_a_page_continues_with_its_label_and_cont(group_rows, tmp_path):
    from hepatrial.tlf.render import _layout, paginate, write_rtf

    t = _blocks_table(group_rows, [4, 70, 4])
    pages = paginate(t, _layout(t))
    path = tmp_path / "long.rtf"
    write_rtf(t, path)
    text = path.read_text(encoding="utf-8")
    assert rtf_groups_balanced(text)
    cont = [a for a, _ in pages if a > 0 and t.rows[a - 1].group == t.rows[a].group]
    assert cont, "the 70-row block is longer than a page"
    for page_text, (a, _) in zip(text.split("\\page\n"), pages):
        rows = rtf_table_rows(page_text)[1:]
        if a in cont:
            label = f"{t.rows[a].group} (cont.)"
            first = rows[0]
            assert first[0].strip() == label  # the group row, or the inserted stub row
        else:
            assert not any("(cont.)" in c for r in rows for c in r)


@pytest.mark.parametrize("pt", [rtf_render.LISTING_PT, rtf_render.BODY_PT, rtf_render.TITLE_PT])
def test_text_width_is_rtflites_measure_with_the_font_opened_once(pt):
    """The widths with rtflite's fonts kept open equal the advance widths of a freshly opened
    font file (what rtflite's get_string_width computes on its own: PIL getlength at 72 dpi)."""
    from importlib.resources import files

    import rtflite.fonts
    from PIL import ImageFont
    from rtflite.fonts_mapping import FontMapping
    from rtflite.strwidth import get_string_width

    path = files(rtflite.fonts) / FontMapping.get_font_paths()["Times New Roman"]
    for s in ["", " ", "Hepatic encephalopathy", "-12.0 (NE, 30.0)", "肝区疼痛", "W" * 40, "1e-5"]:
        fresh = ImageFont.truetype(str(path), size=pt).getlength(s) / 72 if s else 0.0
        assert rtf_render._text_width(s, pt) == fresh
        if s:  # and rtflite's own function, now with its fonts kept open
            assert get_string_width(s, font="Times New Roman", font_size=pt, unit="in") == fresh


def test_powers_of_ten_are_superscripts_in_rtf_html_and_pdf_but_ascii_in_csv(tmp_path):
    """A sponsor's shell sets 10^6 as a superscript: RTF ``{\\super 6}`` (not a Unicode
    superscript digit, which a font without it prints as a box or the ``*`` fallback), HTML
    ``<sup>``, the report PDF Typst's ``super``; the CSV keeps the config's ASCII."""
    from hepatrial.report.document import _s
    from hepatrial.tlf.format import html_superscripts, rtf_superscripts, superscripts
    from hepatrial.tlf.tables import Row

    assert superscripts("Low 1x10^6/kg") == "Low 1x10\u2076/kg"  # figures, plain-text titles
    assert superscripts("6x10^7 cells, 10^-3") == "6x10\u2077 cells, 10\u207b\u00b3"
    assert superscripts("a^b, x ^ 2, ^6") == "a^b, x ^ 2, ^6"  # only a number's power
    assert rtf_superscripts("6x10^7 cells, 10^-3") == "6x10{\\super 7} cells, 10{\\super -3}"
    assert html_superscripts("1x10^6/kg, a^b") == "1x10<sup>6</sup>/kg, a^b"
    t = Table(
        "dose",
        "Dose 1x10^6/kg",
        "SAFETY",
        ["Low 1x10^6/kg (N=3)"],
        rows=[Row("Dose", "2x10^6 cells/kg", ["3"])],
        footnotes=["Doses in 10^6 cells/kg."],
    )
    csv_, rtf, html = (tmp_path / f"t.{e}" for e in ("csv", "rtf", "html"))
    write_all(t, csv_, rtf, html)
    assert "Low 1x10^6/kg (N=3)" in csv_.read_text(encoding="utf-8")
    page = html.read_text(encoding="utf-8")
    assert "10^6" not in page
    for shown in ("Low 1x10<sup>6</sup>/kg", "Dose 1x10<sup>6</sup>/kg", "2x10<sup>6</sup> cells"):
        assert shown in page, shown
    assert "<title>Dose 1x10\u2076/kg</title>" in page  # plain text: no markup in a title
    text = rtf.read_text(encoding="utf-8")
    assert "10^6" not in text and "\\u8310" not in text and "\u2076" not in text
    # title, column header, body cell and footnote
    assert text.count("10{\\super 6}") == 4, text.count("10{\\super 6}")
    assert _s("1x10^6/kg") == '("1x10" + super("6") + "/kg")'  # the DSMB report's Typst text
    assert _s("no power") == '"no power"'


def _mixed_listing(group_rows: bool, n: int) -> Table:
    """A listing of ``n`` rows with groups, indents, superscripts, wide, empty and CJK cells, and
    markup and entities an HTML writer must escape."""
    from hepatrial.tlf.tables import Row

    rows = [
        Row(
            group=f"Arm <{'AB'[k % 2]}> & co" if group_rows else "",
            label=f"UCMSC-{k:04d} <i>",
            cells=[
                "x" * (k % 37) + " & y < z",
                "",
                f"10^{k % 7} cells/kg",
                '肝区疼痛 "q"' if k % 11 == 0 else "ALT",
            ],
            indent=k % 3,
        )
        for k in range(n)
    ]
    return Table(
        "l_mix",
        "Listing of mixed cells",
        "SAFETY",
        ["Long", "Empty", "Dose", "Term"],
        rows=sorted(rows, key=lambda r: r.group),
        footnotes=["a note", "another"],
        source="Source: test",
        group_rows=group_rows,
        kind="Listing",
    )


_RTFLITE_AS_SHIPPED = """
import pickle, sys
from hepatrial.tlf import render
render._cache_rtflite = lambda: None  # rtflite as shipped: no font, width or broadcast caches
t = pickle.loads(open(sys.argv[1], "rb").read())
render.write_rtf(t, sys.argv[2])
"""


@pytest.mark.parametrize("group_rows", [True, False])
def test_rtflite_caches_give_the_bytes_of_rtflite_as_shipped(group_rows, ard, tmp_path):
    """_cache_rtflite (fonts kept open, widths and attribute broadcasts computed once) changes the
    time, not the RTF: a multi-page listing with groups, indents, superscripts, wide and empty
    cells, and a table of the ARD, written here and by rtflite unpatched in a fresh process."""
    import pickle
    import subprocess
    import sys

    listing = _mixed_listing(group_rows, 140)
    for i, t in enumerate([listing, build_table("baseline", ard, "tlf_x")]):
        pkl, mine, shipped = (tmp_path / f"{i}.{e}" for e in ("pkl", "mine.rtf", "shipped.rtf"))
        pkl.write_bytes(pickle.dumps(t))
        rtf_render.write_rtf(t, mine)
        subprocess.run(
            [sys.executable, "-c", _RTFLITE_AS_SHIPPED, str(pkl), str(shipped)], check=True
        )
        assert mine.read_bytes() == shipped.read_bytes()


def test_html_of_a_long_table_from_pandas_equals_the_polars_html(ard, monkeypatch):
    """A table over PANDAS_ROWS rows is handed to great_tables as a pandas frame (cell escaping is
    quadratic on a polars frame): the same HTML, with the stub's indent kept by one CSS rule."""
    t = build_table("baseline", ard, "tlf_x")
    assert any(r.indent for r in t.rows)
    monkeypatch.setattr(rtf_render, "PANDAS_ROWS", 10**9)
    from_polars = rtf_render.to_html(t)
    monkeypatch.setattr(rtf_render, "PANDAS_ROWS", 0)
    assert rtf_render.to_html(t) == from_polars
    assert f"#{t.name} .gt_stub {{ white-space: pre; }}" in from_polars
    assert "white-space: pre" not in from_polars.split("<tbody")[1]  # not one style per row


_GREAT_TABLES_AS_SHIPPED = """
import pickle, sys
from hepatrial.tlf import render
render._columnwise_great_tables = lambda: None  # great_tables as shipped: escaped cell by cell
render.PANDAS_ROWS = 0
t = pickle.loads(open(sys.argv[1], "rb").read())
open(sys.argv[2], "w", encoding="utf-8").write(render.to_html(t))
"""


@pytest.mark.parametrize("group_rows", [True, False])
def test_columnwise_escaping_gives_the_html_of_great_tables_as_shipped(
    group_rows, ard, tmp_path, monkeypatch
):
    """_columnwise_great_tables (a pandas table's unformatted cells escaped a column at a time)
    changes the time, not the HTML: a listing with groups, indents, markup and entities to escape,
    superscripts, empty and CJK cells, and a table of the ARD, written here and by great_tables
    unpatched in a fresh process, both from a pandas frame."""
    import pickle
    import subprocess
    import sys

    listing = _mixed_listing(group_rows, 60)
    import great_tables._utils as gu

    def cell_by_cell(*args):
        raise AssertionError("escaped cell by cell: the column-wise path was not taken")

    monkeypatch.setattr(rtf_render, "PANDAS_ROWS", 0)
    monkeypatch.setattr(gu, "_set_cell", cell_by_cell)  # here only; not in the fresh process
    for i, t in enumerate([listing, build_table("baseline", ard, "tlf_x")]):
        pkl, shipped = tmp_path / f"{i}.pkl", tmp_path / f"{i}.html"
        pkl.write_bytes(pickle.dumps(t))
        mine = rtf_render.to_html(t)
        subprocess.run(
            [sys.executable, "-c", _GREAT_TABLES_AS_SHIPPED, str(pkl), str(shipped)], check=True
        )
        assert mine == shipped.read_text(encoding="utf-8")
        assert "&amp;" in mine or i == 1

"""Rendering: stamp on every page, self-contained HTML, reproducible PDF and images."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from pdftext import pdf_text
from studies import make_study

from hepatrial.report import content, figures
from hepatrial.report.document import (
    Document,
    Figure,
    Para,
    Section,
    Table,
    generated_date,
    to_html,
    to_pdf,
)
from hepatrial.spec import Study

HASH = "0123456789abcdef" * 4


def _doc(kind="OPEN", n_rows=150):
    png = figures.km_figure({"Total": ([0, 10, 20], [1.0, 0.9, 0.8])}, {}, "OS")
    d = Document(kind, "ZOO-1", 'A "quoted" #title [with] $specials$', "2025-06-30", "9.9.9", HASH)
    d.sections = [
        Section(
            "First",
            [
                Para("text with * _ @ <tags> & \\ backslash"),
                Table("Long table", ["a", "b"], [[str(i), f"{i} (1.0)"] for i in range(n_rows)]),
                Figure("Curve", png, "note"),
            ],
        )
    ]
    return d


def test_html_is_self_contained_and_stamped():
    h = to_html(_doc("CLOSED"))
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", h)
    assert "@import" not in h and "<script" not in h
    assert 'src="data:image/png;base64,' in h
    band = "CLOSED REPORT | CONFIDENTIAL | ZOO-1 | data cut 2025-06-30 | report version 1.0"
    assert h.count(band) == 2  # the fixed banner (repeats on printed pages) and the footer
    assert f"{band} | hepatrial 9.9.9 | input manifest sha256 {HASH}" in h
    assert (
        'id="Table-1">Table 1. Long table' in h and "List of tables" in h and "List of figures" in h
    )
    assert "&lt;tags&gt; &amp;" in h


def test_figures_carry_no_metadata_and_are_reproducible():
    a = figures.km_figure({"A": ([0, 5], [1.0, 0.5])}, {}, "x")
    b = figures.km_figure({"A": ([0, 5], [1.0, 0.5])}, {}, "x")
    assert a == b
    assert b"tEXt" not in a and b"iTXt" not in a and b"zTXt" not in a and b"tIME" not in a


def test_pdf_every_page_stamped_and_byte_reproducible(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    to_pdf(_doc("OPEN"), tmp_path / "a.pdf")
    to_pdf(_doc("OPEN"), tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    text = pdf_text(tmp_path / "a.pdf")
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 3
    for i, p in enumerate(pages, 1):
        assert "OPEN REPORT | CONFIDENTIAL | ZOO-1 | data cut 2025-06-30 | report version 1.0" in p
        assert f"input manifest sha256 {HASH[:16]}" in p and f"page {i} of {len(pages)}" in p
    assert f"Input manifest SHA-256 {HASH}" in text.replace("\n", " ") and "hepatrial 9.9.9" in text
    assert 'A "quoted" #title [with] $specials$' in text


def test_generated_date_only_from_source_date_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert generated_date() == ""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    assert generated_date() == "2025-06-15"
    assert "<td>Generated</td><td>2025-06-15</td>" in to_html(_doc())


def test_tlf_tables_keep_their_groups_and_indentation_in_the_report():
    from hepatrial.tlf.tables import Table as TlfTable

    t = TlfTable(
        "x", "AEs", "Safety population", ["Arm A (N=3)"], stub_header="SOC / PT", group_rows=False
    )
    t.add("Infections", "Infections", ["1 (33.3)"], 0)
    t.add("Infections", "Sepsis", ["1 (33.3)"], 1)
    g = TlfTable("y", "MMRM", "ITT", ["Arm A (N=3)"])
    g.add("WEEK 4", "n", ["3"], 1)
    g.add("WEEK 4", "LS mean (SE)", ["-1.23 (0.457)"], 1)
    r, q = content.from_tlf(t), content.from_tlf(g)
    assert (
        r.rows == [["Infections", "1 (33.3)"], ["Sepsis", "1 (33.3)"]]
        and r.indents == [0, 1]
        and not r.groups
    )
    assert q.rows[0] == ["WEEK 4", ""] and q.groups == {0} and q.indents == [0, 1, 1]
    h = to_html(Document("CLOSED", "S", "", "2025-01-01", "1", HASH, [Section("s", [r, q])]))
    assert (
        '<td style="padding-left:20px">Sepsis</td>' in h
        and '<tr class="grp"><td colspan="2">WEEK 4</td>' in h
    )


def _spec(by_arm: bool) -> Study:
    """The Study a report sees: the presentation spec written by the inputs gate, read back."""
    from hepatrial.report.blinding import presentation_spec

    study = make_study(
        study={"id": "S", "design": "parallel"},
        masked_dsmb=True,
        visits=[{"label": "WEEK 24", "avisitn": 24, "target_day": 169, "window": [2, 400]}],
        strata=[],
        scores={"meld_primary": "MELD"},
        endpoints={"primary_visit": "WEEK 24", "tte": ["OS"], "mmrm_params": [{"paramcd": "MELD"}]},
        planned_infusions=3,
        ae={"followup_days": 28},
        populations={},
    )
    return Study.from_presentation(json.loads(json.dumps(presentation_spec(study, by_arm))))


def _closed(ard: pl.DataFrame, spec: Study) -> Document:
    """The closed report of ``ard`` (no listings, KM steps or comparison), the spec's arms coded."""
    empty = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    km = pl.DataFrame(
        schema={"paramcd": pl.Utf8, "arm": pl.Utf8, "time": pl.Float64, "surv": pl.Float64}
    )
    arms = [{"display": x.label, "colour": "#000000"} for x in spec.arms]
    meta = {"study_id": "S", "cut_date": "2025-01-01", "version": "1", "manifest_hash": HASH}
    return content.closed_document(ard, arms, empty, empty, km, None, meta, spec)


def test_empty_analyses_say_not_available():
    empty = pl.DataFrame(
        schema={
            "analysis": pl.Utf8,
            "paramcd": pl.Utf8,
            "population": pl.Utf8,
            "avisit": pl.Utf8,
            "time": pl.Float64,
            "stat": pl.Utf8,
            "value": pl.Float64,
            "method": pl.Utf8,
        }
    )
    saes = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    doc = content.open_document(
        empty,
        saes,
        saes,
        None,
        {
            "study_id": "S",
            "cut_date": "2025-01-01",
            "version": "1",
            "manifest_hash": HASH,
            "planned_subjects": 10,
        },
        _spec(False),
    )
    h = to_html(doc)
    assert h.count(content.NA) >= 4
    assert "Listing of serious adverse events: none in this cut." in h


def test_closed_report_shows_subgroups_as_the_formatted_table_not_ard_rows():
    from hepatrial.ard import ard_rows, finalise

    spec = _spec(True)
    a, b = spec.arms[0].label, spec.arms[1].label
    rows = [
        {
            "analysis": "SUBGROUP",
            "paramcd": "MELD|SEX=F",
            "population": "ITT",
            "arm": a,
            "comparator": b,
            "avisit": "WEEK 24",
            "stat": s,
            "value": v,
            "method": "ANCOVA",
        }
        for s, v in (("estimate", -1.25), ("lower", -2.5), ("upper", 0.0), ("p", 0.05), ("n", 12.0))
    ]
    doc = _closed(finalise(ard_rows(rows)), spec)
    h = to_html(doc)
    assert "by subgroup (ANCOVA)" in h and "-1.3 (-2.5, 0.0)" in h and "SUBGROUP (1 rows)" not in h
    assert "Forest plot" in h


def test_a_cut_without_adae_or_deaths_reports_them_as_not_available_never_zero():
    """A cut of ADaM datasets without ADAE, whose ADSL has neither DTHFL nor DTHDT: the ARD says
    "not available" (hepatrial.analysis.safety.ae_not_available, summaries.summarise_deaths); the
    closed report's key figures, AE tables, AESI table, death table and listings say so, and no
    AE or death count reads 0."""
    import datetime as dt

    from hepatrial.analysis.safety import ae_not_available
    from hepatrial.ard import ard_rows, finalise
    from hepatrial.report.summaries import summarise_deaths

    spec = _spec(True)
    a, b = spec.arms[0].label, spec.arms[1].label
    adsl = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3"],
            "ARM": [a, b, b],
            "TRT01P": [a, b, b],
            "TRT01A": [a, b, b],
            "SAFFL": ["Y", "Y", "Y"],
            "ITTFL": ["Y", "Y", "Y"],
            "DTHFL": [None, None, None],  # not delivered: the entry's all-missing column
            "LTXDT": [None, dt.date(2024, 5, 1), None],
        }
    )
    big_n = ard_rows(
        [
            {
                "analysis": "BIGN",
                "paramcd": "N",
                "population": p,
                "arm": arm,
                "stat": "n",
                "value": float(n),
                "method": "",
            }
            for p in ("SAFETY", "ITT")
            for arm, n in ((a, 1), (b, 2), ("ALL", 3))
        ]
    )
    ae = ae_not_available(adsl, spec)
    deaths = summarise_deaths(adsl.with_columns(ARM=pl.col("TRT01P")), spec, recorded=False)
    ard = finalise(pl.concat([big_n, ae, deaths], how="vertical_relaxed"))
    assert set(ae["value"].to_list()) == {None}
    doc = _closed(ard, spec)
    h = re.sub(r"<[^>]+>", " ", to_html(doc))
    h = re.sub(r"\s+", " ", h)
    assert "Subjects with a serious TEAE, n (%) not available not available not available" in h
    assert "Any adverse event not available not available not available" in h
    assert "Listing of serious adverse events: Not available: the cut has no ADAE" in h
    assert "none in this cut" not in h.split("Listing of serious adverse events")[-1]
    assert "Deaths, n (%) not available not available not available" in h
    assert "Liver transplants 0 1 (50.0) 1 (33.3)" in h
    assert "Listing of deaths: Not available: ADSL has neither DTHFL nor DTHDT" in h
    # the AESI table: one row saying why, no count
    aesi = h.split("Adverse events of special interest Safety population")[1][:300]
    assert "Not available: the cut has no ADAE (adverse events) dataset." in aesi


def test_closed_report_cut_to_cut_section_lists_new_events_changes_and_estimate_movement():
    from hepatrial.ard import empty_ard

    comp = {
        "new_subjects": pl.DataFrame(
            {"USUBJID": ["S-9"], "SITEID": ["02"], "RFICDTC": ["2025-05-01"], "arm": ["Arm B"]}
        ),
        "new_events": pl.DataFrame(
            {
                "event": ["DEATH"],
                "USUBJID": ["S-2"],
                "term": ["DEATH"],
                "date": ["2025-06-01"],
                "arm": ["Arm A"],
            }
        ),
        "changes": pl.DataFrame(
            {
                "domain": ["AE"],
                "USUBJID": ["S-1"],
                "key": ["3"],
                "kind": ["CHANGED"],
                "column": ["AETOXGR"],
                "previous": ["2"],
                "current": ["3"],
                "arm": ["Arm A"],
            }
        ),
        "estimates": pl.DataFrame(
            {
                "analysis": ["COX"],
                "paramcd": ["OS"],
                "population": ["ITT"],
                "arm": ["Arm A"],
                "comparator": ["Arm B"],
                "avisit": [""],
                "time": [None],
                "stat": ["p"],
                "previous": [0.2],
                "current": [0.0004],
                "change": [-0.1996],
            },
            schema_overrides={"time": pl.Float64},
        ),
    }
    empty = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    km = pl.DataFrame(
        schema={"paramcd": pl.Utf8, "arm": pl.Utf8, "time": pl.Float64, "surv": pl.Float64}
    )
    arms = [{"display": "Arm A", "colour": "#000000"}, {"display": "Arm B", "colour": "#111111"}]
    doc = content.closed_document(
        empty_ard(),
        arms,
        empty,
        empty,
        km,
        comp,
        {
            "study_id": "S",
            "cut_date": "2025-06-30",
            "version": "1",
            "manifest_hash": HASH,
            "previous_cut": "2025-03-31",
        },
        _spec(True),
    )
    h = to_html(doc).split("Changes since the previous data cut</h2>")[1]
    assert "Previous data cut: 2025-03-31" in h
    assert '<td>S-9</td><td class="n">02</td><td>Arm B</td>' in h
    assert "<td>DEATH</td><td>S-2</td><td>Arm A</td>" in h
    assert '<td>AETOXGR</td><td class="n">2</td><td class="n">3</td>' in h
    assert '<td>p</td><td class="n">0.200</td><td class="n">&lt;0.001</td><td></td>' in h


def test_not_estimable_cells_align_with_the_numbers_of_their_column():
    """NE (not estimable: the AESI onset of a column without events, a median not reached) is
    right-aligned like the numbers it stands for, in the HTML and the PDF source."""
    from hepatrial.report.document import _cell, _looks_numeric

    for cell in ("NE", "NE (12, NE)", "54.0 (0, 265)", "0"):
        assert _looks_numeric(cell), cell
        assert _cell(cell).startswith('<td class="n">')
    for cell in ("NEW", "Nausea", "not estimable", ""):
        assert not _looks_numeric(cell), cell


def test_report_sets_powers_of_ten_as_superscripts_in_html_and_pdf(tmp_path):
    """The report's HTML ``<sup>``, its PDF Typst's ``super`` (no ``^``, and no Unicode
    superscript digit, which the bundled fonts may not draw); the page title and the figure's
    alternative text are plain text (Unicode superscript digits)."""
    from hepatrial.report.document import to_typst

    png = figures.km_figure({"Total": ([0, 10], [1.0, 0.9])}, {}, "OS")
    d = Document("CLOSED", "S", "Dose 1x10^6/kg", "2025-06-30", "1", HASH)
    d.sections = [
        Section(
            "Doses",
            [
                Para("Arms of 1x10^6/kg and 4x10^6/kg."),
                Table("Exposure, 10^6 cells/kg", ["Arm", "Low 1x10^6/kg (N=3)"], [["n", "3"]]),
                Figure("KM by arm, 1x10^6/kg", png),
            ],
        )
    ]
    h = to_html(d)
    assert "^" not in h
    assert "Arms of 1x10<sup>6</sup>/kg and 4x10<sup>6</sup>/kg." in h
    assert "<th>Low 1x10<sup>6</sup>/kg (N=3)</th>" in h
    assert 'alt="KM by arm, 1x10\u2076/kg"' in h
    typ = to_typst(d, {id(d.sections[0].blocks[2]): "fig001.png"})
    assert "^" not in typ and "\u2076" not in typ.split("\n", 1)[1]  # (line 1: the PDF's title)
    assert 'strong(("Low 1x10" + super("6") + "/kg (N=3)"))' in typ
    to_pdf(d, tmp_path / "d.pdf")
    text = pdf_text(tmp_path / "d.pdf")
    assert "Low 1x106/kg (N=3)" in text and "10^6" not in text and "10\u2076" not in text


def _grouped_tlf(group_rows: bool, sizes: dict[str, int]):
    """A TLF table of blocks ``name -> rows``: grouped (a heading row per group: visits) or keyed
    (the group's first row is its own: a system organ class and its preferred terms)."""
    from hepatrial.tlf.tables import Table as TlfTable

    t = TlfTable("x", "Blocks", "ITT", ["Arm A (N=9)"], group_rows=group_rows)
    for g, n in sizes.items():
        for i in range(n):
            first = not group_rows and i == 0
            t.add(g, g if first else f"{g} row {i}", [f"{i} (1.0)"], 0 if first else 1)
    return t


def _pages_of(tmp_path, table: Table, filler: int) -> list[str]:
    d = Document("CLOSED", "S", "", "2025-01-01", "1", HASH)
    d.sections = [Section("s", [*(Para(f"filler paragraph {i}") for i in range(filler)), table])]
    to_pdf(d, tmp_path / "g.pdf")
    return [p for p in pdf_text(tmp_path / "g.pdf").split("\f") if p.strip()]


def _page_with(pages: list[str], text: str) -> list[int]:
    return [i for i, p in enumerate(pages) if re.search(rf"(?m)^{re.escape(text)}(\s|$)", p)]


def test_from_tlf_takes_the_tlf_tables_blocks():
    """One grouping: the report's blocks are the TLF table's (Table.blocks, as the RTF pages
    them), a grouped table's heading row included."""
    t = _grouped_tlf(True, {"WEEK 4": 3, "WEEK 8": 2})
    r = content.from_tlf(t)
    assert [(b.start, b.end, b.group, b.heading) for b in r.blocks] == [
        (0, 4, "WEEK 4", True),
        (4, 7, "WEEK 8", True),
    ]
    assert t.blocks() == [(0, 3), (3, 5)]
    k = content.from_tlf(_grouped_tlf(False, {"Infections": 3}))
    assert [(b.start, b.end, b.group, b.heading) for b in k.blocks] == [(0, 3, "Infections", False)]


@pytest.mark.parametrize("group_rows", [True, False], ids=["heading", "keyed"])
def test_report_pdf_keeps_a_block_on_one_page(group_rows, tmp_path):
    """A visit's estimates, or a system organ class and its preferred terms, never split across
    pages: the block that does not fit the rest of a page starts the next one, whole (before, its
    first rows stayed at the bottom of the page and the rest went on)."""
    sizes = {f"G{k}": 12 for k in range(8)}  # 96 rows + headings: two pages or more
    pages = _pages_of(tmp_path, content.from_tlf(_grouped_tlf(group_rows, sizes)), 20)
    assert len(pages) >= 3
    for g, n in sizes.items():
        where = set(_page_with(pages, g)) | {
            i for r in range(1, n) for i in _page_with(pages, f"{g} row {r}")
        }
        assert len(where) == 1, (g, sorted(where))


@pytest.mark.parametrize("group_rows", [True, False], ids=["heading", "keyed"])
def test_report_pdf_cuts_only_a_block_longer_than_a_page_and_says_cont(group_rows, tmp_path):
    """A block longer than a page is cut across pages; the page that continues it opens with the
    group's row and "(cont.)" (numbers blank), as the RTF tables; the blocks around it stay whole."""
    sizes = {"SHORT": 5, "LONG": 130, "AFTER": 5}
    pages = _pages_of(tmp_path, content.from_tlf(_grouped_tlf(group_rows, sizes)), 0)
    long_pages = sorted(
        set(_page_with(pages, "LONG"))
        | {i for r in range(1, 130) for i in _page_with(pages, f"LONG row {r}")}
    )
    assert len(long_pages) >= 3
    for i in long_pages[1:]:  # the column header, then the group's row: no number after it
        assert "Arm A (N=9)\nLONG (cont.)\nLONG row " in pages[i], i
    assert "LONG (cont.)" not in pages[long_pages[0]]
    for g in ("SHORT", "AFTER"):
        assert len({i for r in range(1, 5) for i in _page_with(pages, f"{g} row {r}")}) == 1


def test_the_comparison_with_the_previous_cut_does_not_count_events_the_cut_does_not_record():
    """A cut of ADaM datasets without ADAE: "new SAEs" is not available, not 0 (both reports)."""
    from hepatrial.analysis.safety import NO_AE_TEXT
    from hepatrial.report.compare import summarise_open

    empty = pl.DataFrame(schema={"event": pl.Utf8, "USUBJID": pl.Utf8})
    changes = pl.DataFrame(
        schema={"kind": pl.Utf8, "domain": pl.Utf8, "column": pl.Utf8, "key": pl.Utf8}
    )
    new_subj = pl.DataFrame({"USUBJID": ["S9"]})
    pooled = summarise_open(new_subj, empty, changes, ())
    h = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", to_html(_section_doc(
        content.section_compare_open(pooled, {"previous_cut": "2025-01-01"}, {"SAE": NO_AE_TEXT})
    ))))  # fmt: skip
    assert "new subjects 1" in h and "new deaths 0" in h
    assert "new SAEs not available" in h and NO_AE_TEXT in h
    closed = content.section_compare_closed(
        {"new_subjects": new_subj, "new_events": empty, "changes": changes, "estimates": empty},
        {"previous_cut": "2025-01-01"},
        None,
        {"SAE": NO_AE_TEXT},
    )
    assert f"New SAEs: {NO_AE_TEXT}" in re.sub(r"\s+", " ", to_html(_section_doc(closed)))


def _section_doc(section: Section) -> Document:
    d = Document("CLOSED", "S", "t", "2025-06-30", "1", HASH)
    d.sections = [section]
    return d


def _safety_ard(adae: pl.DataFrame, adsl: pl.DataFrame, spec) -> pl.DataFrame:
    """The AE summaries of ``adae`` with the SAFETY big N of one subject in each of two arms."""
    from hepatrial.analysis.safety import ae_summaries
    from hepatrial.ard import ard_rows, finalise

    a, b = spec.arms[0].label, spec.arms[1].label
    big_n = ard_rows(
        [
            {"analysis": "BIGN", "paramcd": "N", "population": "SAFETY", "arm": arm, "stat": "n",
             "value": float(n), "method": ""}
            for arm, n in ((a, 1), (b, 1), ("ALL", 2))
        ]
    )  # fmt: skip
    return finalise(pl.concat([big_n, ae_summaries(adae, adsl, spec)], how="vertical_relaxed"))


def test_ae_data_without_seriousness_say_sae_not_collected_in_the_report_and_listing():
    """AE data whose AESER has no value: the key figures, the SAE table and both SAE listings say
    "not collected", not 0 / "none in this cut"."""
    from hepatrial.tlf.tables import ARD, SAE_NOT_COLLECTED_TEXT, build_table, listing_sae

    spec = _spec(True)
    a, b = spec.arms[0].label, spec.arms[1].label
    adsl = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2"],
            "TRT01P": [a, b],
            "TRT01A": [a, b],
            "SAFFL": ["Y", "Y"],
            "AGE": [50, 60],
            "SEX": ["M", "F"],
        }
    )
    adae = pl.DataFrame(
        {
            "USUBJID": ["S1"],
            "AEDECOD": ["Sepsis"],
            "AETERM": ["sepsis"],
            "AEBODSYS": ["Infections and infestations"],
            "AESER": [None],
            "ATOXGR": [4],
            "AREL": ["N"],
            "TRTEMFL": ["Y"],
            "FATALFL": ["N"],
            "AEWDFL": ["N"],
            "AEACN": ["DOSE NOT CHANGED"],
            "TRT01A": [a],
            "SAFFL": ["Y"],
            "ASTDT": [None],
            "ASTDY": [None],
            "AENDT": [None],
            "AEOUT": [None],
        },
        schema_overrides={"AESER": pl.Utf8, "ASTDT": pl.Date, "AENDT": pl.Date, "AEOUT": pl.Utf8},
    )
    ard = _safety_ard(adae, adsl, spec)
    sae = build_table("sae_soc_pt", ARD(ard, spec, "2025-01-01"), "r")
    assert [r.label for r in sae.rows] == [SAE_NOT_COLLECTED_TEXT]
    listing = listing_sae(adae, adsl, spec, "2025-01-01")
    assert [r.label for r in listing.rows] == [SAE_NOT_COLLECTED_TEXT]
    doc = _closed(ard, spec)
    h = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", to_html(doc)))
    assert "Subjects with a serious TEAE, n (%) not collected not collected not collected" in h
    assert "grade 3 or higher, n (%) 1 (100.0) 0 1 (50.0)" in h
    assert f"Listing of serious adverse events: {SAE_NOT_COLLECTED_TEXT}" in h
    assert "Any serious adverse event not collected" in h


@pytest.mark.parametrize("group_rows", [True, False], ids=["heading", "keyed"])
def test_report_pdf_takes_a_group_with_no_rows_under_it(group_rows, tmp_path):
    """A group row with nothing under it (a system organ class whose grades were not collected,
    "Any TEAE" then the first class) followed by other groups across pages: Typst 0.14 panicked
    on two level-2 table headers in a row ("range start index 1 out of range for slice of length
    0"), and the DSMB report job died. It is a plain row now; the other blocks keep "(cont.)"."""
    sizes = {"ALONE": 1, "FIRST": 40, "ALSO": 1, "LONG": 130, "AFTER": 3}
    pages = _pages_of(tmp_path, content.from_tlf(_grouped_tlf(group_rows, sizes)), 10)
    text = "\n".join(pages)
    for g in sizes:
        assert re.search(rf"(?m)^{g}(\s|$)", text), g
    assert "LONG (cont.)" in text and "ALONE (cont.)" not in text


def test_ae_data_without_grades_say_not_collected_in_the_grade_table():
    """AETOXGR with no value: the table by worst grade is one "not collected" row, not the class
    and term rows of a table without a grade (which also crashed the DSMB report's PDF)."""
    from hepatrial.tlf.tables import ARD, GRADE_NOT_COLLECTED_TEXT, build_table

    spec = _spec(True)
    a, b = spec.arms[0].label, spec.arms[1].label
    adsl = pl.DataFrame({"USUBJID": ["S1", "S2"], "TRT01P": [a, b], "TRT01A": [a, b],
                         "SAFFL": ["Y", "Y"]})  # fmt: skip
    adae = pl.DataFrame(
        {"USUBJID": ["S1"], "AEDECOD": ["Sepsis"], "AEBODSYS": ["Infections and infestations"],
         "AESER": ["Y"], "ATOXGR": [None], "AREL": ["N"], "TRTEMFL": ["Y"], "FATALFL": ["N"],
         "AEWDFL": ["N"], "AEACN": ["DOSE NOT CHANGED"], "TRT01A": [a], "SAFFL": ["Y"],
         "ASTDT": [None], "ASTDY": [None]},
        schema_overrides={"ATOXGR": pl.Int64, "ASTDT": pl.Date, "ASTDY": pl.Int64},
    )  # fmt: skip
    ard = _safety_ard(adae, adsl, spec)
    t = build_table("ae_grade", ARD(ard, spec, "2025-01-01"), "r")
    assert [r.label for r in t.rows] == [GRADE_NOT_COLLECTED_TEXT]


def test_enrolment_figure_legend_typesets_a_power_of_ten(monkeypatch):
    """A dose cohort "Low 1x10^6/kg" reads 1x10⁶/kg in the enrolment figure's legend, as the
    tables and the TLF figures print it (the legend showed the caret)."""
    seen = {}

    def capture(fig):
        seen["labels"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        return b""

    monkeypatch.setattr(figures, "png", capture)
    figures.enrolment_figure(
        {"Low 1x10^6/kg": [("2024-01", 1)], "Total": [("2024-01", 1)]}, {}, None, None, "t"
    )
    assert seen["labels"] == ["Low 1x10\u2076/kg", "Total"]


def test_moved_estimates_skip_those_missing_at_both_cuts_and_name_cif_causes():
    """The closed report's "Movement in key estimates": an estimate not estimable (NaN) at both
    cuts has not moved (a "not collected" AE row listed NE, NE, NE); one that became estimable
    has; a competing cause of a CIF reads as the CIF table names it ("Liver failure: death
    (competing)", not its code LIVFAIL_DEATH)."""
    nan = float("nan")
    est = pl.DataFrame(
        {
            "analysis": ["AE_OVERVIEW", "AE_OVERVIEW", "CIF"],
            "paramcd": ["WDTEAE", "SERTEAE", "LIVFAIL_DEATH"],
            "population": ["SAFETY", "SAFETY", "ITT"],
            "arm": ["ALL", "ALL", "ALL"],
            "comparator": ["", "", ""],
            "avisit": ["", "", ""],
            "time": [None, None, 364.0],
            "stat": ["n_subjects", "n_subjects", "cif"],
            "previous": [nan, nan, 0.474],
            "current": [nan, 3.0, 0.479],
            "change": [nan, nan, 0.005],
        },
        schema_overrides={"time": pl.Float64},
    )
    empty = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    comp = {"new_subjects": empty, "new_events": empty, "changes": empty, "estimates": est}
    sec = content.section_compare_closed(comp, {"previous_cut": "2025-03-31"})
    table = next(b for b in sec.blocks if isinstance(b, Table) and b.title.startswith("Movement"))
    assert [r[:2] for r in table.rows] == [
        ["AE_OVERVIEW", "Any serious adverse event"],
        ["CIF", "Liver failure: death (competing)"],
    ]
    assert table.note.startswith("Estimates that changed since the previous cut")
    assert "1 key estimates unchanged are not listed" in table.note


def test_moved_estimates_list_visits_in_their_order():
    """WEEK 2 before WEEK 12 (the rows were sorted as text: WEEK 1, WEEK 12, WEEK 2)."""
    est = pl.DataFrame(
        {
            "analysis": ["MMRM_DIFF"] * 3,
            "paramcd": ["MELD"] * 3,
            "population": ["ITT"] * 3,
            "arm": ["Arm A"] * 3,
            "comparator": ["Arm B"] * 3,
            "avisit": ["WEEK 1", "WEEK 12", "WEEK 2"],
            "time": [None] * 3,
            "stat": ["estimate"] * 3,
            "previous": [0.1, 0.2, 0.3],
            "current": [0.2, 0.3, 0.4],
            "change": [0.1, 0.1, 0.1],
        },
        schema_overrides={"time": pl.Float64},
    )
    empty = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    comp = {"new_subjects": empty, "new_events": empty, "changes": empty, "estimates": est}
    sec = content.section_compare_closed(comp, {"previous_cut": "2025-03-31"})
    table = next(b for b in sec.blocks if isinstance(b, Table) and b.title.startswith("Movement"))
    assert [r[4] for r in table.rows] == ["WEEK 1", "WEEK 2", "WEEK 12"]

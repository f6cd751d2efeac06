"""Rendering: stamp on every page, self-contained HTML, reproducible PDF and images."""

from __future__ import annotations

import re
import shutil
import subprocess

import polars as pl
import pytest

from pdftext import pdf_text

from hepatrial.report import content, figures
from hepatrial.report.document import Document, Figure, Para, Section, Table, generated_date, to_html, to_pdf

HASH = "0123456789abcdef" * 4


def _doc(kind="OPEN", n_rows=150):
    png = figures.km_figure({"Total": ([0, 10, 20], [1.0, 0.9, 0.8])}, {}, "OS")
    d = Document(kind, "ZOO-1", 'A "quoted" #title [with] $specials$', "2025-06-30", "9.9.9", HASH)
    d.sections = [Section("First", [Para("text with * _ @ <tags> & \\ backslash"),
                                    Table("Long table", ["a", "b"], [[str(i), f"{i} (1.0)"] for i in range(n_rows)]),
                                    Figure("Curve", png, "note")])]
    return d


def test_html_is_self_contained_and_stamped():
    h = to_html(_doc("CLOSED"))
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", h)
    assert "@import" not in h and "<script" not in h
    assert 'src="data:image/png;base64,' in h
    stamp = f"CLOSED REPORT | ZOO-1 | data cut 2025-06-30 | hepatrial 9.9.9 | input manifest sha256 {HASH}"
    assert h.count(stamp) == 2  # the fixed banner (repeats on printed pages) and the footer
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
    for p in pages:
        assert "OPEN REPORT | ZOO-1 | data cut 2025-06-30 | hepatrial 9.9.9" in p
        assert f"input manifest sha256 {HASH}" in p
    assert 'A "quoted" #title [with] $specials$' in text


def test_generated_date_only_from_source_date_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert generated_date() == ""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    assert generated_date() == "2025-06-15"
    assert "Generated 2025-06-15." in to_html(_doc())


def test_rounding_is_half_away_from_zero():
    assert content.fmt(2.675, 2) == "2.68" and content.fmt(-0.05, 1) == "-0.1" and content.fmt(-0.04, 1) == "0.0"
    assert content.fmt(float("nan")) == "NE" and content.n_pct(0, 0.0) == "0" and content.n_pct(3, 37.5) == "3 (37.5)"
    assert content.fmt_p(0.0004) == "<0.001" and content.fmt_p(0.9996) == ">0.999"


def test_empty_analyses_say_not_available():
    empty = pl.DataFrame(schema={"analysis": pl.Utf8, "paramcd": pl.Utf8, "population": pl.Utf8, "avisit": pl.Utf8,
                                 "time": pl.Float64, "stat": pl.Utf8, "value": pl.Float64, "method": pl.Utf8})
    saes = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    doc = content.open_document(empty, saes, saes, None, {"study_id": "S", "cut_date": "2025-01-01", "version": "1",
                                                          "manifest_hash": HASH, "planned_subjects": 10})
    h = to_html(doc)
    assert h.count(content.NA) >= 4
    assert "Listing of serious adverse events: none in this cut." in h


def test_closed_report_lists_analyses_it_has_no_section_for():
    from hepatrial.ard import ard_rows, finalise

    ard = finalise(ard_rows([{"analysis": "SUBGROUP", "paramcd": "MELD|SEX=F", "population": "ITT", "arm": "Arm A",
                              "comparator": "Arm B", "stat": "estimate", "value": -1.25, "method": "ANCOVA"}]))
    empty = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    km = pl.DataFrame(schema={"paramcd": pl.Utf8, "arm": pl.Utf8, "time": pl.Float64, "surv": pl.Float64})
    arms = [{"display": "Arm A", "colour": "#000000"}, {"display": "Arm B", "colour": "#111111"}]
    doc = content.closed_document(ard, arms, empty, empty, km, None, {"study_id": "S", "cut_date": "2025-01-01",
                                                                     "version": "1", "manifest_hash": HASH})
    h = to_html(doc)
    assert "SUBGROUP (1 rows)" in h and "<td>MELD|SEX=F</td><td>Arm A</td><td>Arm B</td>" in h and "-1.250" in h


def test_closed_report_cut_to_cut_section_lists_new_events_changes_and_estimate_movement():
    from hepatrial.ard import empty_ard

    comp = {
        "new_subjects": pl.DataFrame({"USUBJID": ["S-9"], "SITEID": ["02"], "RFICDTC": ["2025-05-01"], "arm": ["Arm B"]}),
        "new_events": pl.DataFrame({"event": ["DEATH"], "USUBJID": ["S-2"], "term": ["DEATH"], "date": ["2025-06-01"],
                                    "arm": ["Arm A"]}),
        "changes": pl.DataFrame({"domain": ["AE"], "USUBJID": ["S-1"], "key": ["3"], "kind": ["CHANGED"],
                                 "column": ["AETOXGR"], "previous": ["2"], "current": ["3"], "arm": ["Arm A"]}),
        "estimates": pl.DataFrame({"analysis": ["COX"], "paramcd": ["OS"], "population": ["ITT"], "arm": ["Arm A"],
                                   "comparator": ["Arm B"], "avisit": [""], "time": [None], "stat": ["p"],
                                   "previous": [0.2], "current": [0.0004], "change": [-0.1996]},
                                  schema_overrides={"time": pl.Float64}),
    }
    empty = pl.DataFrame(schema={"USUBJID": pl.Utf8})
    km = pl.DataFrame(schema={"paramcd": pl.Utf8, "arm": pl.Utf8, "time": pl.Float64, "surv": pl.Float64})
    arms = [{"display": "Arm A", "colour": "#000000"}, {"display": "Arm B", "colour": "#111111"}]
    doc = content.closed_document(empty_ard(), arms, empty, empty, km, comp,
                                  {"study_id": "S", "cut_date": "2025-06-30", "version": "1", "manifest_hash": HASH,
                                   "previous_cut": "2025-03-31"})
    h = to_html(doc).split("Changes since the previous data cut</h2>")[1]
    assert "Previous data cut: 2025-03-31" in h
    assert '<td>S-9</td><td class="n">02</td><td>Arm B</td>' in h
    assert "<td>DEATH</td><td>S-2</td><td>Arm A</td>" in h
    assert "<td>AETOXGR</td><td class=\"n\">2</td><td class=\"n\">3</td>" in h
    assert '<td>p</td><td class="n">0.200</td><td class="n">&lt;0.001</td><td class="n">-0.200</td>' in h

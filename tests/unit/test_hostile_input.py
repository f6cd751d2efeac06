"""Hostile input, round two (issue 17): the pure functions behind each case of the corpus, and
property tests feeding any text (any Unicode, control characters, very long) through them.

The DAG-level checks are in tests/workflow/test_corpus.py (one case each) and
tests/workflow/test_hostile_text.py (random AE terms and site ids through the DAG)."""

from __future__ import annotations

import csv

import polars as pl
import pytest
import tinycut
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from studies import make_study

from hepatrial.adam.io import XPT_MAX_BYTES, cap_text_bytes
from hepatrial.contract import DOMAINS
from hepatrial.errors import DataContractError
from hepatrial.fonts import covered, missing_glyphs
from hepatrial.ingest import ingest_cut
from hepatrial.ingest.findings import Findings
from hepatrial.ingest.read import check_path, cut_listing
from hepatrial.ingest.validate import date_is_real, validate_domain
from hepatrial.tlf.render import is_number_cell, spreadsheet_safe, write_csv
from hepatrial.tlf.tables import LISTING_MAX_CHARS, Table, clip_text

ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=400)
LONG_TEXT = st.text(st.characters(codec="utf-8"), min_size=150, max_size=3000)


# --- dates: the time part checked as a time, offsets accepted ------------------------------------
@pytest.mark.parametrize(
    "value, ok",
    [
        ("2023-09-13", True),
        ("2023-09-13T09:30", True),
        ("2023-09-13T23:59:59", True),
        ("2023-09-13T09:30:15.123", True),
        ("2023-09-13T09:30+08:00", True),
        ("2023-09-13T09:30Z", True),
        ("2023-09-13T09:30:00-0530", True),
        ("2023-09-13T09:30+08", True),
        ("2023-09-13T25:99", False),
        ("2023-09-13T24:00", False),
        ("2023-09-13T12:60", False),
        ("2023-09-13T12:30:61", False),
        ("2023-09-13T12:30+15:00", False),
        ("2023-09-13T12:30+08:75", False),
        ("2023-02-30", False),
        ("2023-13", False),
        ("2023", True),
    ],
)
def test_date_is_real_checks_the_clock_and_the_offset(value, ok):
    assert pl.DataFrame({"d": [value]}).select(date_is_real("d"))["d"][0] is ok


def _validate(dom: str, rows: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    df = (
        pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows[0]})
        .with_row_index("SRCROW", offset=1)
        .with_columns(pl.col("SRCROW").cast(pl.Int64))
    )
    f = Findings()
    cfg = make_study()
    out = validate_domain(df, DOMAINS[dom], f"{dom.lower()}.csv", cfg, f)
    return out, f.frame()


def test_offset_kept_as_written_with_an_info_finding_and_the_time_checked():
    rows = [
        dict(r, AESTDTC=d) for r, d in zip(tinycut._ae(), ["2024-01-11T08:00+08:00", "2024-02"])
    ]
    out, f = _validate("AE", rows)
    assert out["AESTDTC"].to_list() == ["2024-01-11T08:00+08:00", "2024-02"]
    assert f.filter(pl.col("rule") == "DATE_TZ_OFFSET")["row"].to_list() == [1]
    rows[0]["AESTDTC"] = "2024-01-11T25:99"
    _out, f = _validate("AE", rows)
    assert f.filter(pl.col("severity") == "FATAL")["rule"].to_list() == ["DATE_IMPOSSIBLE"]


def test_age_outside_the_contract_range_is_an_error_and_set_missing():
    rows = [dict(r) for r in tinycut._dm()]
    rows[0]["AGE"], rows[1]["AGE"], rows[2]["AGE"] = "-5", "121", "1e400"
    out, f = _validate("DM", rows)
    assert out["AGE"].to_list() == [None, None, None, "38"]
    got = {
        (r["row"], r["rule"]) for r in f.filter(pl.col("severity") == "ERROR").iter_rows(named=True)
    }
    assert got == {(1, "OUT_OF_RANGE"), (2, "OUT_OF_RANGE"), (3, "NOT_NUMERIC")}


# --- ingest as a whole ---------------------------------------------------------------------------
def _ingest(tmp_path, doms=None, **kw):
    cut = tinycut.write_cut(tmp_path / "2024-06-30", doms)
    study = tinycut.write_study(tmp_path / "study.yaml")
    return ingest_cut(
        cut, study, tmp_path / "sdtm", tmp_path / "validation", failure_dir=tmp_path / "logs", **kw
    )


def test_lab_result_1e400_is_not_numeric_and_missing(tmp_path):
    doms = tinycut.domains()
    doms["lb"][0]["LBORRES"] = "1e400"
    doms["lb"][1]["LBORNRHI"] = "inf"
    frames = _ingest(tmp_path, doms)
    assert frames["LB"]["LBSTRESN"].drop_nulls().is_finite().all()
    assert frames["LB"].filter(pl.col("SRCROW") == 1)["LBSTRESN"][0] is None
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False).filter(
        pl.col("rule") == "NOT_NUMERIC"
    )
    assert sorted(zip(f["row"], f["column"])) == [("1", "LBORRES"), ("2", "LBORNRHI")]


def test_reference_limit_as_text_is_not_numeric_and_missing(tmp_path):
    """A reference limit that is text ("<5", "zz") is an ERROR NOT_NUMERIC and read as missing, as
    an infinite one is (it was read as missing in silence); a padded number is a number."""
    doms = tinycut.domains()
    doms["lb"][0]["LBORNRLO"] = "<5"
    doms["lb"][1]["LBORNRHI"] = "zz"
    doms["lb"][2]["LBORNRHI"] = " 40 "
    frames = _ingest(tmp_path, doms)
    lb = frames["LB"].sort("SRCROW")
    assert lb["LBSTNRLO"][0] is None and lb["LBSTNRHI"][1] is None
    assert lb["LBSTNRHI"][2] == pytest.approx(40.0 * _factor(lb, 2))
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False).filter(
        pl.col("rule") == "NOT_NUMERIC"
    )
    assert sorted(zip(f["row"], f["column"], f["value"])) == [
        ("1", "LBORNRLO", "<5"),
        ("2", "LBORNRHI", "zz"),
    ]


def _factor(lb: pl.DataFrame, i: int) -> float:
    """The unit factor of row ``i``: standard result over the reported one."""
    return float(lb["LBSTRESN"][i]) / float(lb["LBORRES"][i])


def test_every_fatal_finding_is_in_the_details_and_findings_written_on_a_stop(tmp_path):
    doms = tinycut.domains()
    for r in doms["lb"]:
        r["LBDTC"] = "13/09/2023"
    with pytest.raises(DataContractError) as err:
        _ingest(tmp_path, doms)
    n = len(doms["lb"])
    assert f"({n - 1} more fatal finding(s), each listed in the log)" in str(err.value)
    assert str(tmp_path / "logs" / "findings.csv") in str(err.value)
    assert sum(line.startswith("FATAL DATE_NOT_ISO") for line in err.value.details) == n
    f = pl.read_csv(tmp_path / "logs/findings.csv", infer_schema=False)
    assert f.filter(pl.col("severity") == "FATAL").height == n
    assert not (tmp_path / "validation").exists()


def test_a_direct_stop_is_a_fatal_row_of_the_failure_findings(tmp_path):
    doms = tinycut.domains()
    doms["lb"][1]["LBORRESU"] = "furlongs"
    with pytest.raises(DataContractError):
        _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "logs/findings.csv", infer_schema=False)
    assert f.filter(pl.col("severity") == "FATAL")["column"].to_list() == ["LBORRESU"]


def test_pt_under_two_socs_is_flagged(tmp_path):
    doms = tinycut.domains()
    doms["ae"][1].update(AEDECOD="Pyrexia", AEBODSYS="Infections and infestations")
    _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    hit = f.filter(pl.col("rule") == "MEDDRA_PT_MULTI_SOC")
    assert hit.height == 1 and hit["row"][0] == "2" and "Pyrexia" in hit["message"][0]


def test_parquet_datetime_column_is_read_as_iso_text(tmp_path):
    cut = tinycut.write_cut(tmp_path / "2024-06-30")
    lb = pl.read_csv(cut / "lb.csv", infer_schema=False).with_columns(
        pl.col("LBDTC").str.to_datetime("%Y-%m-%d")
    )
    (cut / "lb.csv").unlink()
    lb.write_parquet(cut / "lb.parquet")
    frames = ingest_cut(
        cut, tinycut.write_study(tmp_path / "s.yaml"), tmp_path / "sdtm", tmp_path / "v"
    )
    assert frames["LB"]["LBDTC"].str.starts_with("2024-").all()
    assert frames["LB"]["LBDTC"][0] == "2024-01-05T00:00:00"


def test_long_and_undrawable_text_is_flagged(tmp_path):
    doms = tinycut.domains()
    doms["ae"][0]["AETERM"] = "é" * 150  # 300 bytes
    doms["dm"][0]["SITEID"] = "北京 \U0001fa7a"
    _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    long = f.filter(pl.col("rule") == "TEXT_TRUNCATED_XPT")
    assert long["column"].to_list() == ["AETERM"] and "longest 300" in long["message"][0]
    glyph = f.filter(pl.col("rule") == "GLYPH_MISSING")
    assert glyph["column"].to_list() == ["SITEID"] and "U+1FA7A" in glyph["message"][0]


# --- the cut folder, before the DAG --------------------------------------------------------------
def test_cut_listing(tmp_path):
    cut = tmp_path / "2024-06-30"
    cut.mkdir()
    with pytest.raises(DataContractError, match="holds no files"):
        cut_listing(cut)
    tinycut.write_cut(cut)
    (cut / "notes{v2}.txt").write_text("x")
    (cut / "extra.csv").write_text("a\n1\n")
    folder, domains, others = cut_listing(str(cut / "sub" / ".."))
    assert folder == cut.resolve() and folder.name == "2024-06-30"
    assert [p.name for p in domains] == [
        "ae.csv",
        "ce.csv",
        "dm.csv",
        "ds.csv",
        "ex.csv",
        "lb.csv",
        "pr.csv",
        "rs.csv",
        "sv.csv",
    ]
    assert others == ["extra.csv", "notes{v2}.txt"]
    (cut / "bad\tname.csv").write_text("x")
    with pytest.raises(DataContractError, match="control character U\\+0009"):
        cut_listing(cut)


def test_check_path_refuses_braces(tmp_path):
    with pytest.raises(DataContractError, match="wildcard"):
        check_path(tmp_path / "res{x}", "config results_dir")
    assert check_path(tmp_path / "a" / ".." / "b", "x") == (tmp_path / "b").resolve()


# --- renderers: property tests over any text -----------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_cap_text_bytes_is_the_longest_valid_prefix(text):
    out = cap_text_bytes(pl.DataFrame({"T": [text]}))["T"][0]
    raw = out.encode("utf-8")
    assert len(raw) <= XPT_MAX_BYTES and text.startswith(out)
    if out != text:  # maximal: one more character would not fit
        assert len(text[: len(out) + 1].encode("utf-8")) > XPT_MAX_BYTES


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_spreadsheet_safe_quotes_exactly_the_formula_cells(text):
    out = pl.DataFrame({"c": [text]}).select(spreadsheet_safe(pl.col("c")).alias("c"))["c"][0]
    assert out in (text, "'" + text)
    if out == text and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # a number as printed: no letter but the token NE, no formula or DDE character
        assert not any(ch.isalpha() or ch in "=@!|\"'" for ch in text.replace("NE", "")), text
        assert is_number_cell(text)  # the Python and the polars (Rust) regex agree


@pytest.mark.parametrize(
    "cell",
    [
        "-1.2 (-2.0, 0.3)",
        "-0.5",
        "+0.2",
        "3 (5.0%) [4]",
        "-",
        "0.012",
        "-4, 28",
        "-0.8, 1.8",
        "-1.28 (-2.0, -0.5)",
        "-0.8 (1.2)",
        "-4.0, 28.0",
        "-12.0 (NE, 30.0)",
        "-0.31 (-0.52, -0.10) [<0.001]",
        "-5.0%",
        "-0.5 (>0.999)",
        ".5",
        "-",
        "+",
    ],
)
def test_numbers_are_not_quoted(cell):
    # a "Min, Max" cell ("-4, 28") is numbers as printed: quoting it broke the CSV against the RTF
    assert pl.DataFrame({"c": [cell]}).select(spreadsheet_safe(pl.col("c")))["c"][0] == cell


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "-2+3",
        "@SUM(A1)",
        "+cmd|' /C calc'!A0",
        "-=1",
        "-4, =28",
        "-1,28",
        "-4, 28)",
        "-1 (2+3)",
        "-1e5",
        "-NE+1",
        "-1 (NE)A",
        "-(1)",
        "--1",
        "-1 (<=2)",
        "\t-1",
        "-1 (2, 3",
    ],
)
def test_formula_cells_are_quoted(cell):
    assert pl.DataFrame({"c": [cell]}).select(spreadsheet_safe(pl.col("c")))["c"][0] == "'" + cell
    assert not is_number_cell(cell)


def test_cells_not_starting_like_a_formula_are_never_quoted():
    for cell in ["NE", "<0.001", "12 (5.0%)", "SUM(A1)", "0.85 (NE, NE)", ">0.999"]:
        out = pl.DataFrame({"c": [cell]}).select(spreadsheet_safe(pl.col("c")))["c"][0]
        assert out == cell


@settings(max_examples=200, deadline=None)
@given(LONG_TEXT)
def test_clip_text(text):
    out = clip_text(text)
    if len(text) <= LISTING_MAX_CHARS:
        assert out == text
    else:
        assert (
            out.startswith(text[:LISTING_MAX_CHARS])
            and f"[truncated: {len(text)} characters" in out
        )


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_missing_glyphs_names_exactly_the_undrawable_characters(text):
    miss = set(missing_glyphs([text]))
    assert all(ord(c) not in covered() for c in miss)
    assert all(
        ord(c) in covered() or c in miss or not c.strip() or not c.isprintable() for c in text
    )


def test_chinese_is_covered_and_an_emoji_is_not():
    assert missing_glyphs(["北京协和医院 肝区疼痛，右上腹"]) == []
    assert missing_glyphs(["\U0001fa7a"]) == ["\U0001fa7a"]
    assert missing_glyphs(["王喆"]) == ["喆"]  # U+5586: a name character outside GB 2312


def test_bold_chinese_has_its_own_face(caplog):
    """Bold text (titles, headers) holding Chinese is drawn with the bold subset, not the regular
    face with matplotlib's "Failed to find font weight bold" on the console."""
    import logging

    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    from hepatrial.fonts import (
        CJK_BOLD_FILE,
        CJK_FAMILY,
        CJK_FILE,
        configure_matplotlib,
        font_files,
    )

    configure_matplotlib()
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        bold = font_manager.findfont(
            font_manager.FontProperties(family=CJK_FAMILY, weight="bold"), fallback_to_default=False
        )
    assert bold == str(CJK_BOLD_FILE) and not caplog.records
    assert CJK_BOLD_FILE in font_files()  # Typst gets it too
    with TTFont(str(CJK_FILE), lazy=True) as r, TTFont(str(CJK_BOLD_FILE), lazy=True) as b:
        assert set(r.getBestCmap()) == set(b.getBestCmap())  # the same characters in both faces


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ANY_TEXT, min_size=1, max_size=4))
def test_csv_and_html_tables_take_any_text(tmp_path_factory, cells):
    from hepatrial.tlf.render import to_html

    t = Table("t", "Title " + cells[0], "Population", ["A"])
    for c in cells:
        t.add(c, c, [c])
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_csv(t, path)
    with open(path, newline="", encoding="utf-8") as fh:
        back = list(csv.DictReader(fh))
    # each cell as written, or with the single quote of a formula-like cell (a cell "'" stays "'")
    assert all(r["A"] in (c, "'" + c) for r, c in zip(back, cells, strict=True)), (back, cells)
    assert "<table" in to_html(t)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ANY_TEXT, min_size=1, max_size=3))
def test_pdf_report_takes_any_text(tmp_path_factory, texts):
    import warnings

    from hepatrial.report.document import Document, Para, Section, to_pdf
    from hepatrial.report.document import Table as DocTable

    doc = Document("CLOSED", "S", texts[0], "2024-06-30", "0.1", "0" * 64)
    doc.sections.append(
        Section(
            texts[-1],
            [Para(t) for t in texts] + [DocTable(texts[0], ["a", "b"], [[t, t] for t in texts])],
        )
    )
    out = tmp_path_factory.mktemp("pdf") / "r.pdf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to_pdf(doc, out)
    assert out.read_bytes().startswith(b"%PDF")


@settings(max_examples=25, deadline=None)
@given(ANY_TEXT)
def test_figures_draw_any_text_as_written(text):
    import warnings

    from hepatrial.report import figures

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        png = figures.km_figure({text or "x": ([0.0, 10.0], [1.0, 0.5])}, {}, text)
    assert png.startswith(b"\x89PNG")


def test_dollar_signs_in_data_are_not_mathtext():
    import matplotlib.pyplot as plt

    from hepatrial.report import figures  # noqa: F401  (configures matplotlib)

    fig = plt.figure()
    t = fig.text(0, 0, "0$\\frac{$2")
    fig.canvas.draw()  # mathtext would raise ParseSyntaxException here
    assert t.get_text() == "0$\\frac{$2" and plt.rcParams["text.parse_math"] is False
    plt.close(fig)


def test_pdf_is_byte_reproducible_with_chinese(tmp_path):
    from hepatrial.report.document import Document, Para, Section, to_pdf

    doc = Document(
        "OPEN",
        "S",
        "研究",
        "2024-06-30",
        "0.1",
        "0" * 64,
        [Section("中心", [Para("北京协和医院")])],
    )
    to_pdf(doc, tmp_path / "a.pdf")
    to_pdf(doc, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    import pdftext

    assert "北京协和医院" in pdftext.pdf_text(tmp_path / "a.pdf")
    assert "NotoSansCJK" in (tmp_path / "a.pdf").read_bytes().decode("latin-1")


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_rtf_text_can_be_measured_and_laid_out(text):
    """rtflite measures every cell with Pillow (raqm), which fails on line and paragraph
    separators; the RTF text of any source string can be measured."""
    import rtflite.strwidth as sw

    from hepatrial.tlf.render import _rtf_text

    out = _rtf_text(text)
    assert not set(out) & set("{}\\\n\r\x1c\x1d\x1e\x85\u2028\u2029")
    assert sw.get_string_width(out) >= 0


def test_rtf_listing_with_line_breaks_and_control_characters(tmp_path):
    from hepatrial.tlf.render import write_rtf

    t = Table("l", "Listing", "Population", ["Term"])
    t.add("A", "S-1", ["first line\r\nsecond\x1c\x85 line {x}"])
    write_rtf(t, tmp_path / "l.rtf")
    assert "first line  second   line (x)" in (tmp_path / "l.rtf").read_text(encoding="utf-8")


def test_a_row_sent_twice_is_excluded_and_a_repeat_under_another_seq_is_flagged(tmp_path):
    """AE row 1 repeated exactly (source row 3) is excluded, naming row 1; the same AE under
    another AESEQ (row 4) stays, flagged. An LB row sent twice is excluded, not an LB_DUPLICATE."""
    doms = tinycut.domains()
    for i, r in enumerate(doms["ae"], 1):
        r["AESEQ"] = str(i)
    doms["ae"] += [dict(doms["ae"][0]), dict(doms["ae"][0], AESEQ="9")]
    n_lb = len(doms["lb"])
    without = _ingest(tmp_path / "without", {**doms, "lb": list(doms["lb"])})["LB"]
    doms["lb"].append(dict(doms["lb"][0]))
    frames = _ingest(tmp_path, doms)
    assert frames["AE"]["SRCROW"].to_list() == [1, 2, 4]
    # the LB rows kept are those of the same cut without the copy (row 1 kept: the copy, row
    # n_lb + 1, is the one excluded, below)
    assert frames["LB"]["SRCROW"].to_list() == without["SRCROW"].to_list()
    val = tmp_path / "validation"
    f = pl.read_csv(val / "findings.csv", infer_schema=False).filter(
        pl.col("rule").str.contains("DUPLICATE")
    )
    got = sorted(f.select("domain", "row", "rule", "value").iter_rows())
    assert got == [
        ("AE", "3", "DUPLICATE_ROW", "row 1"),
        ("AE", "4", "DUPLICATE_RECORD", "row 1"),
        ("LB", str(n_lb + 1), "DUPLICATE_ROW", "row 1"),
    ]
    ex = pl.read_csv(val / "exclusions.csv", infer_schema=False)
    dup = ex.filter(pl.col("reason").str.starts_with("duplicate"))
    assert sorted(dup.select("domain", "row").iter_rows()) == [("AE", "3"), ("LB", str(n_lb + 1))]
    acct = pl.read_csv(val / "accounting.csv", infer_schema=False)
    ae = dict(acct.filter(pl.col("domain") == "AE").select("category", "n").iter_rows())
    assert (ae["rows_in"], ae["rows_kept"], ae["rows_excluded"]) == ("4", "3", "1")


def test_a_missing_value_that_changes_an_analysis_is_a_finding(tmp_path):
    """In-arm subjects without a stratum (T-001) or an etiology (T-002) are ERROR VALUE_MISSING
    naming what it costs; T-003 without ACTARM is taken to be on its ARM (WARNING); a QS answer
    marked NOT DONE needs no category; a screen failure (T-004) needs no stratum."""
    doms = tinycut.domains()
    dm = doms["dm"]
    dm[0]["CTPSTRAT"], dm[1]["ETIOLOGY"], dm[2]["ACTARM"] = "", "", ""
    dm[3].update(ARM="SCREEN FAILURE", ACTARM="SCREEN FAILURE", CTPSTRAT="")
    frames = _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule").is_in(["VALUE_MISSING", "ACTARM_MISSING"]))
    rows = sorted(got.select("row", "severity", "rule", "column").iter_rows())
    assert rows == [
        ("1", "ERROR", "VALUE_MISSING", "CTPSTRAT"),
        ("2", "ERROR", "VALUE_MISSING", "ETIOLOGY"),
        ("3", "WARNING", "ACTARM_MISSING", "ACTARM"),
    ]
    msg = dict(zip(got["column"], got["message"]))
    assert "left out of the stratified analyses" in msg["CTPSTRAT"]
    assert "Kamath MELD are not computed" in msg["ETIOLOGY"]
    dm_out = frames["DM"].sort("SRCROW")
    assert dm_out["ACTARM"][2] == dm_out["ARM"][2] == "UC-MSC"


def test_qs_not_done_needs_no_category():
    rows = [
        dict(
            USUBJID="T-001",
            QSCAT="",
            QSTESTCD="CLDQ01",
            QSDTC="2024-01-10",
            QSSTAT="NOT DONE",
            QSSTRESN="",
        ),
        dict(
            USUBJID="T-001",
            QSCAT="",
            QSTESTCD="CLDQ02",
            QSDTC="2024-01-10",
            QSSTAT="",
            QSSTRESN="3",
        ),
    ]
    rows = [{k: (v or None) for k, v in r.items()} for r in rows]
    _out, f = _validate("QS", rows)
    hit = f.filter(pl.col("rule") == "VALUE_MISSING")
    assert hit.select("row", "column").rows() == [(2, "QSCAT")]


def test_a_record_after_death_and_an_ae_ending_before_it_starts_are_flagged(tmp_path):
    """T-002 died 2024-03-01: its lab of 2024-03-05 (row 16) is flagged, its death day's records
    are not; AE row 1 ends (2024-01-05) before it starts (2024-01-11); AE row 2's partial start
    (2024-02) may be on its end's day, not flagged. Both carried."""
    doms = tinycut.domains()
    assert doms["lb"][15]["USUBJID"] == "T-002"
    doms["lb"][15]["LBDTC"] = "2024-03-05"
    doms["lb"][16]["LBDTC"] = "2024-03-01"
    doms["ae"][0]["AEENDTC"] = "2024-01-05"
    doms["ae"][1]["AEENDTC"] = "2024-02-01"
    frames = _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule").is_in(["AFTER_DEATH", "AE_END_BEFORE_START"]))
    assert sorted(got.select("domain", "row", "rule").iter_rows()) == [
        ("AE", "1", "AE_END_BEFORE_START"),
        ("LB", "16", "AFTER_DEATH"),
    ]
    assert 16 in frames["LB"]["SRCROW"] and 1 in frames["AE"]["SRCROW"]


def test_a_fatal_ae_of_a_subject_with_no_death_is_flagged(tmp_path):
    """T-001 is alive: its AE with outcome FATAL (row 1) is flagged; T-002's fatal AE (row 2, a
    death on 2024-03-01) is not."""
    doms = tinycut.domains()
    doms["ae"][0]["AEOUT"] = "Fatal"
    _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    hit = f.filter(pl.col("rule") == "FATAL_AE_NO_DEATH")
    assert hit.select("row", "USUBJID").rows() == [("1", "T-001")]


def test_age_in_months_weeks_or_days_is_converted_to_years_and_an_unknown_unit_is_missing(tmp_path):
    """AGEU MONTHS: 660 months are 55 completed years (660 / 12); WEEKS: 2 870 weeks are
    2 870 x 7 / 365.25 = 55.003 -> 55 years; DAYS: 20 088 days are 54.998 -> 54 years (not yet 55);
    each unit a WARNING AGE_CONVERTED. AGEU "KG" is no age unit: ERROR AGEU_UNKNOWN, AGE missing.
    (660 months was read as 660 years before, then OUT_OF_RANGE.)"""
    doms = tinycut.domains()
    for r, (age, unit) in zip(
        doms["dm"], [("660", "months"), ("2870", "WEEKS"), ("20088", "DAYS"), ("55", "KG")]
    ):
        r["AGE"], r["AGEU"] = age, unit
    frames = _ingest(tmp_path, doms)
    dm = frames["DM"].sort("SRCROW").head(4)
    assert [None if a is None else float(a) for a in dm["AGE"]] == [55.0, 55.0, 54.0, None]
    assert dm["AGEU"].to_list()[:3] == ["YEARS"] * 3
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule").is_in(["AGE_CONVERTED", "AGEU_UNKNOWN"]))
    assert sorted(got.select("rule", "severity", "row", "value").rows()) == [
        ("AGEU_UNKNOWN", "ERROR", "4", "KG"),
        ("AGE_CONVERTED", "WARNING", "1", "months"),
        ("AGE_CONVERTED", "WARNING", "2", "WEEKS"),
        ("AGE_CONVERTED", "WARNING", "3", "DAYS"),
    ]
    assert f.filter(pl.col("rule") == "OUT_OF_RANGE").height == 0


def test_declared_stratum_levels_recode_a_spelling_and_set_an_unknown_value_missing(tmp_path):
    """stratum_levels {CTPSTRAT: [B, C]}: "c" and " c " (spaces are trimmed first) are C (WARNING
    STRATUM_RECODED, one finding for the value "c", two rows); "zz" is no level: ERROR STRATUM_UNKNOWN, set missing
    (it was a stratum of its own). Subjects 1-4 of the tiny cut: B, C, C, B as built."""
    doms = tinycut.domains()
    for r, v in zip(doms["dm"], ["B", "c", " c ", "zz"]):
        r["CTPSTRAT"] = v
    cut = tinycut.write_cut(tmp_path / "2024-06-30", doms)
    study = tinycut.write_study(
        tmp_path / "study.yaml", tinycut.STUDY_YAML + "stratum_levels: {CTPSTRAT: [B, C]}\n"
    )
    frames = ingest_cut(
        cut, study, tmp_path / "sdtm", tmp_path / "validation", failure_dir=tmp_path / "logs"
    )
    assert frames["DM"].sort("SRCROW")["CTPSTRAT"].to_list()[:4] == ["B", "C", "C", None]
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule").str.starts_with("STRATUM_"))
    assert got.select("rule", "severity", "row", "value").rows() == [
        ("STRATUM_UNKNOWN", "ERROR", "4", "zz"),
        ("STRATUM_RECODED", "WARNING", "2", "c"),
    ]
    assert got["message"].to_list() == [
        "1 stratum value(s) not a declared level (B, C); set missing (first at this row)",
        "2 stratum value(s) spelled as the declared level C (first at this row)",
    ]


def test_stratum_levels_of_a_column_that_is_no_stratum_is_a_config_error(tmp_path):
    from hepatrial.errors import ConfigError
    from hepatrial.spec import load

    bad = tinycut.write_study(
        tmp_path / "s.yaml", tinycut.STUDY_YAML + "stratum_levels: {SEX: [M, F]}\n"
    )
    with pytest.raises(ConfigError, match="stratum_levels: SEX is not one of the strata"):
        load(bad)


def test_dosing_before_randomisation_and_an_rfstdtc_that_is_not_the_first_dose_are_flagged(
    tmp_path,
):
    """T-003, randomised 2024-02-01, has an extra infusion on 2024-01-25 (EX row 8, added): its
    first dose is before randomisation, and its RFSTDTC (2024-02-01, DM row 3) is no longer the
    first EX date. T-001's RFSTDTC moved to 2024-01-11 (DM row 1) while its first infusion is
    2024-01-10, on its randomisation day (not early). Both WARNING, carried."""
    doms = tinycut.domains()
    doms["ex"].append(dict(doms["ex"][3], EXSTDTC="2024-01-25"))
    assert doms["ex"][3]["USUBJID"] == "T-003" and len(doms["ex"]) == 8
    doms["dm"][0]["RFSTDTC"] = "2024-01-11"
    frames = _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule").is_in(["DOSE_BEFORE_RANDOMISATION", "RFSTDTC_NOT_FIRST_DOSE"]))
    assert sorted(got.select("domain", "row", "USUBJID", "rule", "value").iter_rows()) == [
        ("DM", "1", "T-001", "RFSTDTC_NOT_FIRST_DOSE", "2024-01-11"),
        ("DM", "3", "T-003", "RFSTDTC_NOT_FIRST_DOSE", "2024-02-01"),
        ("EX", "8", "T-003", "DOSE_BEFORE_RANDOMISATION", "2024-01-25"),
    ]
    assert frames["EX"].height == 8


def test_declared_etiologies_make_a_typo_missing_not_a_kamath_term_of_1(tmp_path):
    """etiology.other [HBV]: with the default cholestatic and Kamath-zero lists, the levels are
    HBV, PBC, ..., ALCOHOL, ALCOHOLIC. "ALCHOLIC" (a typo, DM row 1) was taken as "other" (Kamath
    MELD etiology term 1: 6.43 points more); now ERROR ETIOLOGY_UNKNOWN and missing (no Kamath
    MELD for the subject, as VALUE_MISSING says for an empty one). "hbv" (row 3) is HBV
    (WARNING ETIOLOGY_RECODED). Without etiology.other nothing is checked."""
    doms = tinycut.domains()
    doms["dm"][0]["ETIOLOGY"] = "ALCHOLIC"
    doms["dm"][2]["ETIOLOGY"] = "hbv"
    cut = tinycut.write_cut(tmp_path / "2024-06-30", doms)
    study = tinycut.write_study(
        tmp_path / "study.yaml", tinycut.STUDY_YAML + "etiology: {other: [HBV]}\n"
    )
    frames = ingest_cut(
        cut, study, tmp_path / "sdtm", tmp_path / "validation", failure_dir=tmp_path / "logs"
    )
    assert frames["DM"].sort("SRCROW")["ETIOLOGY"].to_list()[:3] == [None, "PBC", "HBV"]
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule").str.starts_with("ETIOLOGY_"))
    assert got.select("rule", "severity", "row", "value").rows() == [
        ("ETIOLOGY_UNKNOWN", "ERROR", "1", "ALCHOLIC"),
        ("ETIOLOGY_RECODED", "WARNING", "3", "hbv"),
    ]
    plain = tinycut.write_study(tmp_path / "plain.yaml")
    frames = ingest_cut(
        cut, plain, tmp_path / "sdtm2", tmp_path / "val2", failure_dir=tmp_path / "logs2"
    )
    assert frames["DM"].sort("SRCROW")["ETIOLOGY"].to_list()[:3] == ["ALCHOLIC", "PBC", "hbv"]


def test_an_ae_not_yet_coded_to_a_soc_is_a_warning_and_kept(tmp_path):
    doms = tinycut.domains()
    doms["ae"][1]["AEBODSYS"] = ""
    frames = _ingest(tmp_path, doms)
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule") == "AE_UNCODED")
    assert got.select("severity", "row", "column").rows() == [("WARNING", "2", "AEBODSYS")]
    assert got["message"][0].startswith("1 AE(s) without a system organ class")
    assert 2 in frames["AE"]["SRCROW"].to_list()


def test_visit_windows_at_ingest_count_from_the_first_ex_date_as_adam_does(tmp_path):
    """origin first_dose; T-001 (its DS RANDOMIZED record removed, as in a single-arm study) has
    RFSTDTC empty and its first infusion (EX) on 2024-01-10. A WEEK 4 lab of T-001 on 2024-03-30
    is on day 81, outside every window ([-14, 70]): OUT_OF_WINDOW. With the origin read from
    RFSTDTC alone (as before) the day was unknown and the check silent, while ADSL (TRTSDT: the
    first EX date) windowed the lab as usual."""
    doms = tinycut.domains()
    doms["dm"][0]["RFSTDTC"] = ""
    doms["ds"] = [r for r in doms["ds"] if r["USUBJID"] != "T-001"]
    i = next(k for k, r in enumerate(doms["lb"]) if r["USUBJID"] == "T-001")
    doms["lb"][i] = dict(doms["lb"][i], LBDTC="2024-03-30", VISIT="WEEK 4")
    cut = tinycut.write_cut(tmp_path / "2024-06-30", doms)
    study = tinycut.write_study(
        tmp_path / "study.yaml", tinycut.STUDY_YAML + "origin: first_dose\n"
    )
    ingest_cut(cut, study, tmp_path / "sdtm", tmp_path / "validation", failure_dir=tmp_path / "l")
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule") == "OUT_OF_WINDOW")
    assert got.select("domain", "row", "USUBJID").rows() == [("LB", str(i + 1), "T-001")]
    empty = f.filter(pl.col("rule") == "RFSTDTC_NOT_FIRST_DOSE")
    assert empty.select("row", "USUBJID").rows() == [("1", "T-001")]  # dosed, RFSTDTC empty


def test_a_reference_limit_missing_on_some_results_leaves_them_unclassified(tmp_path):
    """ALB results of the tiny cut all have a lower limit; two lose theirs (LBORNRLO empty): WARNING
    LB_RANGE_PARTIAL for ALB, one finding of 2 results. In ADLB those two are not NORMAL (they
    could be LOW): ANRIND missing unless above the upper limit. A cut whose results have no lower
    limit at all: WARNING LB_RANGE_ABSENT (no result can be LOW)."""
    import datetime as dt

    from hepatrial.adam.adlb import create_adlb
    from hepatrial.adam.adsl import create_adsl_core
    from hepatrial.spec import load

    doms = tinycut.domains()
    alb = [i for i, r in enumerate(doms["lb"]) if r["LBTESTCD"] == "ALB"]
    for i in alb[:2]:
        doms["lb"][i]["LBORNRLO"] = ""
    frames = _ingest(tmp_path / "a", doms)
    f = pl.read_csv(tmp_path / "a/validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule").str.starts_with("LB_RANGE"))
    assert got.select("rule", "row", "value").rows() == [
        ("LB_RANGE_PARTIAL", str(alb[0] + 1), "ALB")
    ]
    assert got["message"][0].startswith("2 ALB result(s) without the lower reference limit")
    s = load(tinycut.write_study(tmp_path / "s.yaml"))
    adsl = create_adsl_core(frames, s, dt.date(2024, 6, 30))
    adlb, _ = create_adlb(frames["LB"], adsl, s)
    rows = adlb.filter(pl.col("SRCROW").is_in([alb[0] + 1, alb[1] + 1]))
    assert rows.height == 2
    for aval, hi, ind in rows.select("AVAL", "ANRHI", "ANRIND").iter_rows():
        assert ind == ("HIGH" if aval > hi else None)
    others = adlb.filter(
        (pl.col("PARAMCD") == "ALB") & ~pl.col("SRCROW").is_in(rows["SRCROW"].implode())
    )
    assert others["ANRIND"].null_count() == 0  # the rest classified as before
    for r in doms["lb"]:
        r["LBORNRLO"] = ""
    _ingest(tmp_path / "b", doms)
    f = pl.read_csv(tmp_path / "b/validation/findings.csv", infer_schema=False)
    assert f.filter(pl.col("rule") == "LB_RANGE_ABSENT")["column"].to_list() == ["LBORNRLO"]


def test_an_inverted_reference_range_is_an_error_and_both_limits_missing(tmp_path):
    doms = tinycut.domains()
    doms["lb"][0]["LBORNRLO"], doms["lb"][0]["LBORNRHI"] = "50", "5"
    frames = _ingest(tmp_path, doms)
    lb = frames["LB"].filter(pl.col("SRCROW") == 1)
    assert lb["LBSTNRLO"][0] is None and lb["LBSTNRHI"][0] is None
    f = pl.read_csv(tmp_path / "validation/findings.csv", infer_schema=False)
    got = f.filter(pl.col("rule") == "LB_RANGE_INVERTED")
    assert got.select("severity", "row", "value").rows() == [("ERROR", "1", "50")]


def test_a_questionnaire_the_pipeline_does_not_score_is_a_warning():
    """QSCAT "EQ-5D" (for EQ-5D-5L) gave no EQ-5D score and no finding; now WARNING
    QSCAT_UNKNOWN, one for its two records (first at row 1); the CLDQ record is scored as ever."""
    from hepatrial.ingest.validate import check_qs_values

    rows = [("EQ-5D", "EQ5D0101", "2"), ("eq-5d", "EQ5D0102", "1"), ("CLDQ", "CLDQ01", "5")]
    qs = pl.DataFrame(
        {
            "USUBJID": ["T-001"] * 3,
            "QSCAT": [r[0] for r in rows],
            "QSTESTCD": [r[1] for r in rows],
            "QSSTRESN": [r[2] for r in rows],
            "QSORRES": [None] * 3,
            "SRCROW": [1, 2, 3],
        },
        schema_overrides={"QSORRES": pl.Utf8},
    )
    f = Findings()
    check_qs_values(qs, "qs.csv", f)
    got = f.frame().filter(pl.col("rule") == "QSCAT_UNKNOWN")
    assert got.select("severity", "row", "value").rows() == [("WARNING", 1, "EQ-5D")]
    assert got["message"][0].startswith("2 record(s) of a questionnaire (QSCAT)")
    assert f.frame().filter(pl.col("rule") == "QS_ITEM_UNKNOWN").height == 0

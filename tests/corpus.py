"""A corpus of malformed data cuts, each one mutation away from a base cut, with its expected outcome.

``make_base_cut`` trims the bundled cut (data/UCMSC-DC-RCT/2025-06-30) to its first subjects so each
case runs quickly through the DAG; ``CASES`` lists the mutations. Outcomes:

- ``fatal``: the DAG stops with one ``ERROR:`` line containing every fragment (file, row, column);
- ``flagged``: the DAG completes and findings.csv holds the rule;
- ``excluded``: the DAG completes and the exclusions list the row with the reason.

A case may name further ``targets`` (outputs past ingest: an XPT file, a listing, a DSMB report)
and a ``check`` run on the results; ``cut_arg`` gives the cut path as typed (``<cut>/sub/..``).

Run ``python tests/corpus.py OUT_DIR`` to write every case as a folder (cut + study config) to look at.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "UCMSC-DC-RCT" / "2025-06-30"
STUDY = ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml"
CUT_NAME = "2025-06-30"


def make_base_cut(dst: Path, n_subjects: int = 10) -> Path:
    """The bundled cut restricted to its first ``n_subjects`` randomised subjects (CSV)."""
    dst.mkdir(parents=True, exist_ok=True)
    if BUNDLED.is_dir():
        doms = {p.stem: pl.read_csv(p, infer_schema=False) for p in sorted(BUNDLED.glob("*.csv"))}
    else:  # the simulator makes the same kind of cut
        import datetime as dt

        from hepatrial.config import load_study
        from hepatrial.simulate import simulate_trial

        sim = simulate_trial(load_study(STUDY), 40, 20250630, dt.date(2025, 6, 30))
        doms = {k.lower(): v.select(pl.all().cast(pl.Utf8)) for k, v in sim.items()}
    dm = doms["dm"]
    keep = dm.filter(pl.col("ARM") != "Screen Failure")["USUBJID"].head(n_subjects).to_list()
    keep += dm.filter(pl.col("ARM") == "Screen Failure")["USUBJID"].head(1).to_list()
    for name, df in doms.items():
        df.filter(pl.col("USUBJID").is_in(keep)).write_csv(dst / f"{name}.csv")
    return dst


# --------------------------------------------------------------------------------------------
def read(cut: Path, dom: str) -> pl.DataFrame:
    return pl.read_csv(cut / f"{dom}.csv", infer_schema=False)


def write(cut: Path, dom: str, df: pl.DataFrame) -> None:
    df.write_csv(cut / f"{dom}.csv")


def set_cell(cut: Path, dom: str, row: int, col: str, value: str | None) -> None:
    df = read(cut, dom).with_row_index("_r", offset=1)
    df = df.with_columns(
        pl.when(pl.col("_r") == row).then(pl.lit(value, pl.Utf8)).otherwise(pl.col(col)).alias(col)
    )
    write(cut, dom, df.drop("_r"))


def first_row(cut: Path, dom: str, cond: pl.Expr) -> int:
    df = read(cut, dom).with_row_index("_r", offset=1).filter(cond)
    return int(df["_r"][0])


def value(cut: Path, dom: str, row: int, col: str) -> str:
    return read(cut, dom)[col][row - 1]


@dataclass
class Case:
    name: str
    outcome: str  # fatal | flagged | excluded
    mutate: Callable[[Path, Path], dict] = field(repr=False)  # (cut, study yaml) -> format values
    expect: tuple[str, ...]  # fatal: message fragments; flagged: rule; excluded: reason
    targets: tuple[str, ...] = ()  # more outputs: "res:<path>" or "rep:<path>" of the cut
    check: Callable | None = field(default=None, repr=False)  # (results dir, reports dir, process)
    cut_arg: Callable[[Path], str] | None = field(default=None, repr=False)  # the cut as typed

    def build(self, base: Path, dst: Path) -> tuple[Path, Path, tuple[str, ...]]:
        cut = dst / CUT_NAME
        shutil.copytree(base, cut)
        study = dst / "study.yaml"
        # the bundled RCT config without its estimands (multiple imputation): input handling is what a
        # case tests, and the imputations would cost every case that reaches the reports a minute
        study.write_text(
            without_block(STUDY.read_text(encoding="utf-8"), "estimands"), encoding="utf-8"
        )
        fmt = self.mutate(cut, study) or {}
        return cut, study, tuple(e.format(**fmt) for e in self.expect)


def without_block(text: str, key: str) -> str:
    """A YAML text without its top-level ``key:`` block (the key's line to the next top-level key)."""
    out, skip = [], False
    for line in text.splitlines(keepends=True):
        if line[:1].strip() and not line.startswith("#"):
            skip = line.startswith(f"{key}:")
        if not skip:
            out.append(line)
    return "".join(out)


def _lab_row(test: str):
    return lambda cut: first_row(
        cut, "lb", (pl.col("LBTESTCD") == test) & pl.col("LBORRES").is_not_null()
    )


def cell(dom: str, col: str, new: str | None, where: Callable[[Path], int] | int = 2):
    def m(cut: Path, study: Path) -> dict:
        row = where(cut) if callable(where) else where
        set_cell(cut, dom, row, col, new)
        return {"row": row}

    return m


def drop_column(dom: str, col: str):
    def m(cut, study):
        write(cut, dom, read(cut, dom).drop(col))

    return m


def rename_column(dom: str, old: str, new: str):
    def m(cut, study):
        write(cut, dom, read(cut, dom).rename({old: new}))

    return m


def delete_file(dom: str):
    def m(cut, study):
        (cut / f"{dom}.csv").unlink()

    return m


def raw_bytes(dom: str, fn: Callable[[bytes], bytes]):
    def m(cut, study):
        p = cut / f"{dom}.csv"
        p.write_bytes(fn(p.read_bytes()))

    return m


def study_text(fn: Callable[[str], str]):
    def m(cut, study):
        study.write_text(fn(study.read_text()))

    return m


def also_format(dom: str, fmt: str):
    def m(cut, study):
        df = read(cut, dom)
        if fmt == "parquet":
            df.write_parquet(cut / f"{dom}.parquet")
        else:
            import pyreadstat

            pyreadstat.write_xport(df.to_pandas(), str(cut / f"{dom}.xpt"), file_format_version=5)

    return m


def duplicate_dm_row(cut, study):
    dm = read(cut, "dm")
    write(cut, "dm", pl.concat([dm, dm.head(1)]))
    return {"row": 1}


def subject_not_in_dm(cut, study):
    row = _lab_row("ALB")(cut)
    set_cell(cut, "lb", row, "USUBJID", "NOT-IN-DM-999")
    return {"row": row}


def visit_before_consent(cut, study):
    row = _lab_row("ALB")(cut)
    subj = value(cut, "lb", row, "USUBJID")
    ic = read(cut, "dm").filter(pl.col("USUBJID") == subj)["RFICDTC"][0]
    import datetime as dt

    set_cell(cut, "lb", row, "LBDTC", str(dt.date.fromisoformat(ic[:10]) - dt.timedelta(days=30)))
    return {"row": row}


def death_before_randomisation(cut, study):
    dm = read(cut, "dm")
    row = first_row(cut, "dm", pl.col("RFSTDTC").is_not_null() & pl.col("DTHDTC").is_null())
    subj = dm["USUBJID"][row - 1]
    rand = read(cut, "ds").filter(
        (pl.col("USUBJID") == subj) & (pl.col("DSDECOD") == "RANDOMIZED")
    )["DSSTDTC"][0]
    import datetime as dt

    set_cell(cut, "dm", row, "DTHDTC", str(dt.date.fromisoformat(rand[:10]) - dt.timedelta(days=5)))
    set_cell(cut, "dm", row, "DTHFL", "Y")
    return {"row": row}


def no_randomisation_record(cut, study):
    """The DS RANDOMIZED record of the first randomised subject removed (DM ARM kept)."""
    ds = read(cut, "ds")
    subj = ds.filter(pl.col("DSDECOD") == "RANDOMIZED")["USUBJID"][0]
    write(
        cut, "ds", ds.filter(~((pl.col("USUBJID") == subj) & (pl.col("DSDECOD") == "RANDOMIZED")))
    )
    return {"row": first_row(cut, "dm", pl.col("USUBJID") == subj)}


def transplant_after_death(cut, study):
    dm = read(cut, "dm")
    row = first_row(cut, "dm", pl.col("RFSTDTC").is_not_null() & pl.col("DTHDTC").is_null())
    subj = dm["USUBJID"][row - 1]
    set_cell(cut, "dm", row, "DTHDTC", "2024-06-01")
    set_cell(cut, "dm", row, "DTHFL", "Y")
    pr = read(cut, "pr")
    new = (
        pl.DataFrame([{c: None for c in pr.columns}])
        .cast(pl.Utf8)
        .with_columns(
            pl.lit(subj).alias("USUBJID"),
            pl.lit("LIVER TRANSPLANT").alias("PRDECOD"),
            pl.lit("2024-06-20").alias("PRSTDTC"),
        )
    )
    write(cut, "pr", pl.concat([pr, new.select(pr.columns)]))
    return {"row": pr.height + 1}


def ae_after_cut(cut, study):
    row = 1
    set_cell(cut, "ae", row, "AESTDTC", "2025-07-15")
    return {"row": row}


def header_only(dom: str):
    def m(cut, study):
        write(cut, dom, read(cut, dom).head(0))

    return m


def _again(cut, dom: str, row: int, **values) -> int:
    """Append source row ``row`` of ``dom`` again, with ``values`` changed; its row number."""
    df = read(cut, dom)
    again = df.slice(row - 1, 1).with_columns(
        pl.lit(v, pl.Utf8).alias(c) for c, v in values.items()
    )
    write(cut, dom, pl.concat([df, again]))
    return df.height + 1


def lab_duplicate(cut, study):  # a second result: another LBSEQ and value, same date/time
    _again(cut, "lb", _lab_row("BILI")(cut), LBSEQ="9999", LBORRES="2.5")


def exposure_twice(cut, study):
    _again(cut, "ex", 1, EXSEQ="9999")


def ae_row_sent_twice(cut, study):
    return {"row": _again(cut, "ae", 1)}


def ae_under_another_seq(cut, study):
    _again(cut, "ae", 1, AESEQ="9999")


def extra_domain(cut, study):
    pl.DataFrame({"USUBJID": ["X"], "VSTESTCD": ["SYSBP"]}).write_csv(cut / "vs.csv")


def wrong_type_all_ages(cut, study):
    dm = read(cut, "dm")
    write(cut, "dm", dm.with_columns(pl.lit("forty").alias("AGE")))


def duplicate_column(cut, study):
    p = cut / "ce.csv"
    lines = p.read_text().splitlines()
    lines[0] = lines[0].replace("CEDECOD", "cestdtc", 1)
    p.write_text("\n".join(lines) + "\n")


def ragged(cut, study):
    p = cut / "sv.csv"
    lines = p.read_text().splitlines()
    lines[3] = lines[3] + ",EXTRA,MORE"
    p.write_text("\n".join(lines) + "\n")


def bad_parquet(cut, study):
    (cut / "sv.csv").unlink()
    (cut / "sv.parquet").write_bytes(b"PAR1 this is not parquet")


# -- round two (issue 17) ----------------------------------------------------------------------
def empty_folder(cut, study):
    for p in cut.iterdir():
        p.unlink()


def notes_file(cut, study):
    (cut / "notes{v2}.txt").write_text("data manager's notes\n")


def control_character_name(cut, study):
    (cut / "notes\nv2.txt").write_text("a line break in a file name\n")


def pt_two_socs(cut, study):
    """Pyrexia coded under its SOC on one row and under Infections on another."""
    ae = read(cut, "ae").with_row_index("_r", offset=1)
    rows = ae.filter(pl.col("AEDECOD") != "Pyrexia")["_r"].head(2).to_list()
    pick = pl.col("_r").is_in(rows)
    ae = ae.with_columns(
        pl.when(pick).then(pl.lit("Pyrexia")).otherwise(pl.col("AEDECOD")).alias("AEDECOD"),
        pl.when(pl.col("_r") == rows[0])
        .then(pl.lit("General disorders and administration site conditions"))
        .when(pl.col("_r") == rows[1])
        .then(pl.lit("Infections and infestations"))
        .otherwise(pl.col("AEBODSYS"))
        .alias("AEBODSYS"),
    )
    write(cut, "ae", ae.drop("_r"))


def check_pt_two_socs(res, rep, out):
    part = pl.read_parquet(res / "ard/parts/safety.parquet")
    key = ["analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat"]
    assert part.select(key).is_duplicated().sum() == 0
    codes = set(part.filter(pl.col("analysis") == "AE_INCIDENCE")["paramcd"].to_list())
    assert {
        "General disorders and administration site conditions|Pyrexia",
        "Infections and infestations|Pyrexia",
    } <= codes, sorted(codes)


def _serious_ae_row(cut) -> int:
    """The first serious AE, made treatment-emergent (onset on its subject's first dose), so that
    it is in the SAE listing."""
    row = first_row(cut, "ae", pl.col("AESER") == "Y")
    subj = value(cut, "ae", row, "USUBJID")
    first_dose = read(cut, "ex").filter(pl.col("USUBJID") == subj)["EXSTDTC"].min()
    set_cell(cut, "ae", row, "AESTDTC", first_dose[:10])
    set_cell(cut, "ae", row, "AEENDTC", None)
    return row


def invisible_characters(cut, study):
    """A serious AE whose PT ends in a NUL and whose SOC holds a zero-width space: each prints as
    the clean term, and was counted as a PT and SOC of its own (two rows that look the same)."""
    row = _serious_ae_row(cut)
    set_cell(cut, "ae", row, "AEDECOD", value(cut, "ae", row, "AEDECOD") + "\x00")
    soc = value(cut, "ae", row, "AEBODSYS")
    set_cell(cut, "ae", row, "AEBODSYS", soc[:3] + "\u200b" + soc[3:])
    return {"row": row}


def check_invisible_characters(res, rep, out):
    import csv
    import re

    with open(res / "tables/l_sae.csv", newline="", encoding="utf-8") as fh:
        cells = [c for r in csv.reader(fh) for c in r]
    assert not [c for c in cells if re.search("[\x00\u200b]", c)]
    ard = pl.read_parquet(res / "ard/parts/safety.parquet")
    ard = ard.filter(pl.col("analysis") == "AE_INCIDENCE")
    assert not ard.filter(pl.col("paramcd").str.contains("[\x00\u200b]")).height


def inner_spaces(cut, study):
    """A serious AE coded "Hepatic  encephalopathy" (two spaces) under "Nervous<LF>system
    disorders": an HTML page shows each like the single-spaced term, and each was a term of its
    own."""
    row = _serious_ae_row(cut)
    set_cell(cut, "ae", row, "AEDECOD", "Hepatic  encephalopathy")
    set_cell(cut, "ae", row, "AEBODSYS", "Nervous\nsystem disorders")
    return {"row": row}


def check_inner_spaces(res, rep, out):
    ard = pl.read_parquet(res / "ard/parts/safety.parquet")
    codes = ard.filter(pl.col("analysis") == "AE_INCIDENCE")["paramcd"].unique().to_list()
    assert "Nervous system disorders|Hepatic encephalopathy" in codes
    assert not [c for c in codes if "  " in c or "\n" in c]


def soc_with_pipe(cut, study):
    """A serious AE under the SOC "Hepatobiliary|biliary disorders" (PT "Biliary colic") and another
    under the SOC "Hepatobiliary" with the PT "biliary disorders|Biliary colic": joined on "|", the
    two are the same text; each must stay one SOC with its own PT."""
    row = _serious_ae_row(cut)
    set_cell(cut, "ae", row, "AEBODSYS", "Hepatobiliary|biliary disorders")
    set_cell(cut, "ae", row, "AEDECOD", "Biliary colic")
    other = first_row(cut, "ae", pl.col("AESER") != "Y")
    subj = value(cut, "ae", other, "USUBJID")
    set_cell(
        cut,
        "ae",
        other,
        "AESTDTC",
        read(cut, "ex").filter(pl.col("USUBJID") == subj)["EXSTDTC"].min()[:10],
    )
    set_cell(cut, "ae", other, "AEENDTC", None)
    set_cell(cut, "ae", other, "AEBODSYS", "Hepatobiliary")
    set_cell(cut, "ae", other, "AEDECOD", "biliary disorders|Biliary colic")
    return {"row": row}


def check_soc_with_pipe(res, rep, out):
    import csv

    part = pl.read_parquet(res / "ard/parts/safety.parquet")
    key = ["analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat"]
    assert part.select(key).is_duplicated().sum() == 0

    def rows(name):
        with open(res / "tables" / name, newline="", encoding="utf-8") as fh:
            return [(r[0], r[1].strip("\u00a0 ")) for r in list(csv.reader(fh))[1:]]

    soc_pt = rows("ae_soc_pt.csv")
    for soc, pt in (
        ("Hepatobiliary|biliary disorders", "Biliary colic"),
        ("Hepatobiliary", "biliary disorders|Biliary colic"),
    ):
        i = soc_pt.index((soc, soc))  # the SOC row, its name whole
        assert (soc, pt) in soc_pt[i + 1 :], soc_pt[i : i + 4]
    sae = rows("sae_soc_pt.csv")
    assert ("Hepatobiliary|biliary disorders", "Biliary colic") in sae, sae
    assert "Hepatobiliary|biliary disorders" in (res / "tables/l_sae.csv").read_text(
        encoding="utf-8"
    )


def long_aeterm(n_bytes: int):
    def m(cut, study):
        row = _serious_ae_row(cut)
        set_cell(cut, "ae", row, "AETERM", "Hepatic pain " + "x" * (n_bytes - 13))
        return {"row": row}

    return m


def check_xpt_capped(res, rep, out):
    import pyreadstat

    xpt = res / "adam/adae.xpt"
    assert xpt.stat().st_size < 5_000_000, xpt.stat().st_size
    df, meta = pyreadstat.read_xport(str(xpt))
    assert meta.variable_storage_width["AETERM"] == 200
    assert df["AETERM"].str.len().max() == 200
    full = pl.read_parquet(res / "adam/adae.parquet")["AETERM"].str.len_bytes().max()
    assert full > 200  # the Parquet copy keeps the text whole


def check_listing_clipped(res, rep, out):
    check_xpt_capped(res, rep, out)
    text = (res / "tables/l_sae.csv").read_text(encoding="utf-8")
    assert re.search(r"\.\.\. \[truncated: 1048\d{4} characters, see ADaM\]", text)
    assert len(text) < 100_000
    assert (res / "tables/l_sae.rtf").stat().st_size < 1_000_000


def formula_cells(cut, study):
    row = _serious_ae_row(cut)
    set_cell(cut, "ae", row, "AEDECOD", "=1+2")
    set_cell(cut, "ae", row, "AETERM", "@SUM(A1)")
    return {"row": row}


def check_formula_cells(res, rep, out):
    import csv

    with open(res / "tables/l_sae.csv", newline="", encoding="utf-8") as fh:
        cells = [c for r in csv.reader(fh) for c in r]
    assert any(c.startswith("'=1+2") for c in cells), cells[:40]
    assert not any(c.startswith(("=", "@", "+")) for c in cells)


def site_id(value: str):
    def m(cut, study):
        dm = read(cut, "dm")
        write(cut, "dm", dm.with_columns(pl.lit(value).alias("SITEID")))

    return m


def check_reports(*fragments: str):
    def c(res, rep, out):
        import pdftext

        for name in ("dsmb_open", "dsmb_closed"):
            assert (rep / f"{name}.pdf").stat().st_size > 0
            text = pdftext.pdf_text(rep / f"{name}.pdf")
            for f in fragments:
                assert f in text, (name, f)
        assert "Traceback" not in out.stderr

    return c


def chinese_text(cut, study):
    """A site named in Chinese, a serious AE coded and reported in Chinese, with an emoji and a
    hanzi outside GB 2312 (喆, common in names) that no bundled font has."""
    dm = read(cut, "dm")
    write(cut, "dm", dm.with_columns(pl.lit("北京协和医院").alias("SITEID")))
    row = _serious_ae_row(cut)
    set_cell(cut, "ae", row, "AEDECOD", "肝区疼痛 喆 🩺")
    set_cell(cut, "ae", row, "AETERM", "右上腹疼痛 王喆")
    return {"row": row}


def check_chinese_reports(res, rep, out):
    check_reports("Site 北京协和医院", "肝区疼痛")(res, rep, out)
    warned = [ln for ln in out.stderr.splitlines() if ln.startswith("WARNING:") and "U+1FA7A" in ln]
    assert warned, out.stderr[-2000:]
    assert [ln for ln in out.stderr.splitlines() if ln.startswith("WARNING:") and "U+5586" in ln], (
        out.stderr[-2000:]
    )
    findings = pl.read_csv(res / "validation/findings.csv", infer_schema=False).filter(
        pl.col("rule") == "GLYPH_MISSING"
    )
    assert {"AEDECOD", "AETERM"} <= set(findings["column"].to_list()), findings
    assert "findfont" not in out.stderr  # the bold face has the characters too


def lb_parquet_datetime(cut, study):
    """LB as Parquet with LBDTC a Datetime column (as a SAS or R export writes it)."""
    lb = read(cut, "lb").with_columns(pl.col("LBDTC").str.to_datetime("%Y-%m-%d", strict=False))
    (cut / "lb.csv").unlink()
    lb.write_parquet(cut / "lb.parquet")


def dm_parquet_list_column(cut, study):
    """DM as Parquet with SEX a list column (an R list column written as it is): the reader's
    cast error named no column."""
    dm = read(cut, "dm").with_columns(pl.concat_list("SEX", "SEX").alias("SEX"))
    (cut / "dm.csv").unlink()
    dm.write_parquet(cut / "dm.parquet")


def many_bad_dates(cut, study):
    lb = read(cut, "lb")
    write(cut, "lb", lb.with_columns(pl.lit("13/09/2023").alias("LBDTC")))
    return {"n": lb.height - 1}


def check_every_fatal_in_log(res, rep, out):
    error = next(ln for ln in out.stderr.splitlines() if ln.startswith("ERROR:"))
    n = int(re.search(r"\((\d+) more fatal finding\(s\), each listed in the log\)", error).group(1))
    log = (res / "logs/ingest.log").read_text(encoding="utf-8").splitlines()
    assert sum(ln.startswith("FATAL DATE_NOT_ISO") for ln in log) == n + 1, log[:5]
    findings = pl.read_csv(res / "logs/findings.csv", infer_schema=False)
    assert findings.filter(pl.col("severity") == "FATAL").height == n + 1


def check_cut_resolved(res, rep, out):
    assert res.is_dir() and sorted(p.name for p in res.parent.iterdir()) == [CUT_NAME]
    assert sorted(p.name for p in res.parent.parent.iterdir()) == ["UCMSC-DC-RCT"]


def check_age_missing(res, rep, out):
    dm = pl.read_parquet(res / "sdtm/dm.parquet")
    assert dm.filter(pl.col("SRCROW") == 1)["AGE"][0] is None


def check_lab_missing(res, rep, out):
    lb = pl.read_parquet(res / "sdtm/lb.parquet").filter(pl.col("LBSTRESN").is_not_null())
    assert lb["LBSTRESN"].is_finite().all()
    ard = pl.read_parquet(res / "ard/ard.parquet")
    v = ard["value"].cast(pl.Float64, strict=False)
    assert not (v.is_infinite()).any()


def first_randomised_row(cut):
    return first_row(cut, "dm", pl.col("RFSTDTC").is_not_null())


CASES: list[Case] = [
    # -- structure ------------------------------------------------------------------------
    Case("missing_domain_dm", "fatal", delete_file("dm"), ("required domain DM is missing",)),
    Case("missing_domain_lb", "fatal", delete_file("lb"), ("required domain LB is missing",)),
    Case("missing_domain_ex", "fatal", delete_file("ex"), ("required domain EX is missing",)),
    Case(
        "missing_column_lb_usubjid",
        "fatal",
        drop_column("lb", "USUBJID"),
        ("file lb.csv", "column USUBJID"),
    ),
    Case(
        "renamed_column_lbtestcd",
        "fatal",
        rename_column("lb", "LBTESTCD", "TESTCD"),
        ("file lb.csv", "column LBTESTCD"),
    ),
    Case(
        "missing_column_aedecod",
        "fatal",
        drop_column("ae", "AEDECOD"),
        ("file ae.csv", "column AEDECOD"),
    ),
    Case("missing_column_dm_arm", "fatal", drop_column("dm", "ARM"), ("file dm.csv", "column ARM")),
    Case(
        "missing_strata_column",
        "fatal",
        drop_column("dm", "CTPSTRAT"),
        ("file dm.csv", "column CTPSTRAT"),
    ),
    Case(
        "duplicate_column_case_insensitive",
        "fatal",
        duplicate_column,
        ("file ce.csv", "column CESTDTC"),
    ),
    Case("ragged_csv_line", "fatal", ragged, ("file sv.csv", "cannot parse CSV")),
    Case("unreadable_parquet", "fatal", bad_parquet, ("file sv.parquet", "cannot read Parquet")),
    Case(
        "both_csv_and_parquet",
        "fatal",
        also_format("lb", "parquet"),
        ("both lb.csv and lb.parquet",),
    ),
    Case("both_csv_and_xpt", "fatal", also_format("ce", "xpt"), ("both ce.csv and ce.xpt",)),
    Case("empty_file", "fatal", raw_bytes("ae", lambda b: b""), ("file ae.csv", "file is empty")),
    Case("header_only_dm", "fatal", header_only("dm"), ("file dm.csv", "no subjects")),
    Case(
        "latin1_file",
        "fatal",
        raw_bytes(
            "ae",
            lambda b: (
                b.replace(b"\n", "\nh\xe9patique".encode("latin-1") + b"\n", 1)
                if False
                else b.decode().replace("Pyrexia", "Pyr\xe9xie", 1).encode("latin-1")
            ),
        ),
        ("file ae.csv", "not valid UTF-8"),
    ),
    # -- keys and controlled terms ----------------------------------------------------------
    Case(
        "unknown_arm",
        "fatal",
        cell("dm", "ARM", "Aspirin", 2),
        ("file dm.csv", "row 2", "column ARM", "unknown arm"),
    ),
    Case(
        "duplicate_usubjid_dm",
        "fatal",
        duplicate_dm_row,
        ("file dm.csv", "column USUBJID", "duplicate USUBJID"),
    ),
    Case(
        "missing_usubjid_value",
        "fatal",
        cell("lb", "USUBJID", None, 5),
        ("file lb.csv", "row 5", "column USUBJID"),
    ),
    Case(
        "subject_in_lb_not_in_dm",
        "excluded",
        subject_not_in_dm,
        ("lb.csv", "{row}", "subject not in DM"),
    ),
    Case("lower_case_terms", "flagged", cell("ae", "AESER", "n", 1), ("TERM_CASE",)),
    Case(
        "lower_case_arm",
        "flagged",
        cell("dm", "ARM", "placebo", lambda c: first_row(c, "dm", pl.col("ARM") == "Placebo")),
        ("ARM_CASE",),
    ),
    Case("trailing_spaces", "flagged", cell("dm", "RACE", "ASIAN   ", 1), ("SPACES_TRIMMED",)),
    Case("na_token", "flagged", cell("dm", "RACE", "NA", 1), ("MISSING_TOKEN",)),
    Case("dot_token", "flagged", cell("ae", "AEOUT", ".", 1), ("MISSING_TOKEN",)),
    Case("blank_spaces_as_missing", "flagged", cell("dm", "COUNTRY", "   ", 2), ("MISSING_TOKEN",)),
    Case("aeser_not_allowed", "flagged", cell("ae", "AESER", "MAYBE", 1), ("TERM_UNKNOWN",)),
    Case("aetoxgr_not_allowed", "flagged", cell("ae", "AETOXGR", "7", 1), ("TERM_UNKNOWN",)),
    Case("sex_not_allowed", "flagged", cell("dm", "SEX", "X", 1), ("TERM_UNKNOWN",)),
    Case("age_not_numeric", "flagged", cell("dm", "AGE", "forty", 1), ("NOT_NUMERIC",)),
    Case("wrong_type_age_column", "flagged", wrong_type_all_ages, ("NOT_NUMERIC",)),
    Case(
        "rs_result_invalid",
        "flagged",
        cell(
            "rs", "RSORRES", "LOTS", lambda c: first_row(c, "rs", pl.col("RSTESTCD") == "ASCITES")
        ),
        ("RS_RESULT_INVALID",),
    ),
    Case(
        "qs_out_of_range",
        "flagged",
        cell("qs", "QSSTRESN", "9", lambda c: first_row(c, "qs", pl.col("QSTESTCD") == "CLDQ01")),
        ("QS_OUT_OF_RANGE",),
    ),
    Case(
        "qs_unknown_item",
        "flagged",
        cell(
            "qs", "QSTESTCD", "CLDQ31", lambda c: first_row(c, "qs", pl.col("QSTESTCD") == "CLDQ01")
        ),
        ("QS_ITEM_UNKNOWN",),
    ),
    Case("bom", "flagged", raw_bytes("dm", lambda b: b"\xef\xbb\xbf" + b), ("BOM_REMOVED",)),
    Case("header_only_ce", "flagged", header_only("ce"), ("DOMAIN_EMPTY",)),
    Case("extra_domain", "flagged", extra_domain, ("DOMAIN_NOT_USED",)),
    # -- units and values --------------------------------------------------------------------
    Case(
        "unknown_unit_bili",
        "fatal",
        cell("lb", "LBORRESU", "furlongs", _lab_row("BILI")),
        ("file lb.csv", "row {row}", "column LBORRESU", "unknown unit"),
    ),
    Case(
        "unknown_unit_creat",
        "fatal",
        cell("lb", "LBORRESU", "mmol/L", _lab_row("CREAT")),
        ("file lb.csv", "row {row}", "column LBORRESU", "unknown unit"),
    ),
    Case(
        "unknown_unit_alb",
        "fatal",
        cell("lb", "LBORRESU", "mg/L", _lab_row("ALB")),
        ("file lb.csv", "row {row}", "column LBORRESU", "unknown unit"),
    ),
    Case(
        "unknown_unit_sodium",
        "fatal",
        cell("lb", "LBORRESU", "g/L", _lab_row("SODIUM")),
        ("file lb.csv", "row {row}", "column LBORRESU"),
    ),
    Case(  # (was "unknown unit None")
        "missing_unit_bili",
        "fatal",
        cell("lb", "LBORRESU", None, _lab_row("BILI")),
        ("file lb.csv", "row {row}", "column LBORRESU", "no unit for BILI"),
    ),
    Case(
        "zero_bilirubin",
        "flagged",
        cell("lb", "LBORRES", "0", _lab_row("BILI")),
        ("LB_NOT_POSITIVE",),
    ),
    Case(
        "negative_creatinine",
        "flagged",
        cell("lb", "LBORRES", "-12", _lab_row("CREAT")),
        ("LB_NOT_POSITIVE",),
    ),
    Case("inr_50", "flagged", cell("lb", "LBORRES", "50", _lab_row("INR")), ("LB_IMPLAUSIBLE",)),
    Case(
        "lab_text_result",
        "flagged",
        cell("lb", "LBORRES", "see comment", _lab_row("BILI")),
        ("LB_RESULT_NOT_NUMERIC",),
    ),
    # below the limit of quantitation: read, valued per labs.below_lloq and flagged (issue 16)
    Case(
        "lab_censored_result",
        "flagged",
        cell("lb", "LBORRES", "<5", _lab_row("BILI")),
        ("LB_CENSORED",),
    ),
    Case("lab_duplicate", "flagged", lab_duplicate, ("LB_DUPLICATE",)),
    Case("exposure_twice", "flagged", exposure_twice, ("EX_SAME_DAY",)),
    Case("ae_under_another_seq", "flagged", ae_under_another_seq, ("DUPLICATE_RECORD",)),
    Case(
        "ae_row_sent_twice",
        "excluded",
        ae_row_sent_twice,
        ("ae.csv", "{row}", "duplicate row: identical to an earlier row"),
    ),
    # -- dates -------------------------------------------------------------------------------------
    Case(
        "non_iso_date",
        "fatal",
        cell("lb", "LBDTC", "14/03/2024", 3),
        ("file lb.csv", "row 3", "column LBDTC", "not ISO 8601"),
    ),
    Case(
        "excel_serial_date",
        "fatal",
        cell("ex", "EXSTDTC", "45123", 1),
        ("file ex.csv", "row 1", "column EXSTDTC"),
    ),
    Case(
        "impossible_date",
        "fatal",
        cell("ae", "AESTDTC", "2024-02-30", 1),
        ("file ae.csv", "row 1", "column AESTDTC", "not a calendar date"),
    ),
    Case(
        "impossible_month",
        "fatal",
        cell("ae", "AESTDTC", "2024-13", 1),
        ("file ae.csv", "row 1", "column AESTDTC", "not a calendar date"),
    ),
    Case(
        "partial_date_not_allowed_lb",
        "fatal",
        cell("lb", "LBDTC", "2024-03", 4),
        ("file lb.csv", "row 4", "column LBDTC", "partial date"),
    ),
    Case(
        "partial_date_not_allowed_ds",
        "fatal",
        cell("ds", "DSSTDTC", "2024", 1),
        ("file ds.csv", "row 1", "column DSSTDTC", "partial date"),
    ),
    Case(
        "missing_lab_date",
        "excluded",
        cell("lb", "LBDTC", None, 6),
        ("lb.csv", "{row}", "missing LBDTC"),
    ),
    Case("visit_before_consent", "flagged", visit_before_consent, ("BEFORE_CONSENT",)),
    Case(
        "death_before_randomisation",
        "flagged",
        death_before_randomisation,
        ("DEATH_BEFORE_RANDOMISATION",),
    ),
    Case("transplant_after_death", "flagged", transplant_after_death, ("TRANSPLANT_AFTER_DEATH",)),
    Case(  # was left out of the ITT population (ITTFL N) without a word
        "no_randomisation_record",
        "flagged",
        no_randomisation_record,
        ("NOT_RANDOMISED",),
    ),
    Case(  # were analysed as the study's without a word
        "record_of_another_study",
        "flagged",
        cell("ae", "STUDYID", "OTHER-STUDY", 2),
        ("STUDYID_MISMATCH",),
    ),
    Case(  # a treatment error a DSMB wants to know of; was silent
        "treated_with_the_other_arm",
        "flagged",
        cell("dm", "ACTARM", "Placebo", lambda c: first_row(c, "dm", pl.col("ARM") == "UC-MSC")),
        ("ACTARM_NOT_ARM",),
    ),
    Case(
        "randomised_screen_failure",
        "flagged",
        cell("dm", "ARM", "Screen Failure", 1),
        ("RANDOMISED_NO_ARM",),
    ),
    Case(
        "death_flag_without_date",
        "flagged",
        cell("dm", "DTHFL", "Y", lambda c: first_row(c, "dm", pl.col("DTHDTC").is_null())),
        ("DEATH_FLAG_DATE",),
    ),
    Case(
        "record_after_cut",
        "excluded",
        ae_after_cut,
        ("ae.csv", "{row}", "dated after the data cut"),
    ),
    # -- config ---------------------------------------------------------------------------------------
    Case(
        "cut_before_first_randomisation",
        "fatal",
        study_text(lambda t: t + '\ncut_date: "2020-01-01"\n'),
        ("before the first randomisation",),
    ),
    Case(
        "config_unknown_visit",
        "fatal",
        study_text(lambda t: t.replace("primary_visit: WEEK 24", "primary_visit: WEEK 99")),
        ("primary_visit", "unknown visit 'WEEK 99'"),
    ),
    Case(
        "config_overlapping_windows",
        "fatal",
        study_text(lambda t: t.replace("window: [127, 210]", "window: [120, 210]")),
        ("windows of WEEK 12", "overlap"),
    ),
    Case(
        "config_reference_arm_missing",
        "fatal",
        study_text(lambda t: t.replace("    reference: true\n", "")),
        ("exactly one arm with reference: true",),
    ),
    Case("config_not_yaml", "fatal", study_text(lambda t: t + "\n  : : [\n"), ("not valid YAML",)),
    # -- round two (issue 17): hostile cuts ----------------------------------------------------
    Case("empty_cut_folder", "fatal", empty_folder, ("data cut folder", "holds no files")),
    Case("file_name_with_braces", "flagged", notes_file, ("FILE_NOT_USED",)),
    Case(
        "file_name_control_character",
        "fatal",
        control_character_name,
        ("file name 'notes\\nv2.txt'", "control character U+000A"),
    ),
    Case(
        "cut_path_leaves_its_folder",
        "flagged",
        lambda cut, study: None,
        ("DOMAIN_ABSENT",),
        check=check_cut_resolved,
        cut_arg=lambda cut: f"{cut}/sub/..",
    ),
    Case(
        "pt_under_two_socs",
        "flagged",
        pt_two_socs,
        ("MEDDRA_PT_MULTI_SOC",),
        targets=("res:ard/parts/safety.parquet",),
        check=check_pt_two_socs,
    ),
    Case(
        "soc_with_pipe",
        "flagged",
        soc_with_pipe,
        (),
        targets=("res:tables/ae_soc_pt.csv", "res:tables/sae_soc_pt.csv", "res:tables/l_sae.csv"),
        check=check_soc_with_pipe,
    ),
    Case(
        "lab_result_1e400",
        "flagged",
        cell("lb", "LBORRES", "1e400", _lab_row("BILI")),
        ("NOT_NUMERIC",),
        targets=("res:ard/ard.parquet",),
        check=check_lab_missing,
    ),
    Case(  # the error line held the whole cell (a 10 MB cell: 10 MB on the console)
        "date_100k_characters",
        "fatal",
        cell("ae", "AESTDTC", "x" * 100_000, 1),
        ("file ae.csv", "row 1", "column AESTDTC", "value 'xxxxxxxx", "... (100000 characters)"),
    ),
    Case(
        "lab_time_impossible",
        "fatal",
        cell("lb", "LBDTC", "2023-09-13T25:99", 3),
        ("file lb.csv", "row 3", "column LBDTC", "not a time of day"),
    ),
    Case(
        "lab_time_zone_offset",
        "flagged",
        cell("lb", "LBDTC", "2023-09-13T09:30+08:00", 3),
        ("DATE_TZ_OFFSET",),
    ),
    Case(
        "age_negative",
        "flagged",
        cell("dm", "AGE", "-5", 1),
        ("OUT_OF_RANGE",),
        check=check_age_missing,
    ),
    Case(
        "aeterm_300_characters",
        "flagged",
        long_aeterm(300),
        ("TEXT_TRUNCATED_XPT",),
        targets=("res:adam/adae.xpt",),
        check=check_xpt_capped,
    ),
    Case(
        "aeterm_10_mb",
        "flagged",
        long_aeterm(10 * 1024 * 1024),
        ("TEXT_TRUNCATED_XPT",),
        targets=("res:adam/adae.xpt", "res:tables/l_sae.csv"),
        check=check_listing_clipped,
    ),
    Case(
        "formula_cells_in_ae_terms",
        "flagged",
        formula_cells,
        (),
        targets=("res:tables/l_sae.csv",),
        check=check_formula_cells,
    ),
    Case(
        "invisible_characters_in_ae_terms",
        "flagged",
        invisible_characters,
        ("INVISIBLE_CHARACTER",),
        targets=("res:tables/l_sae.csv", "res:ard/parts/safety.parquet"),
        check=check_invisible_characters,
    ),
    Case(
        "inner_spaces_in_ae_terms",
        "flagged",
        inner_spaces,
        ("SPACES_COLLAPSED",),
        targets=("res:ard/parts/safety.parquet",),
        check=check_inner_spaces,
    ),
    Case(
        "site_id_mathtext",
        "flagged",
        site_id("0$\\frac{$2"),
        (),
        targets=("rep:dsmb_closed.pdf", "rep:dsmb_open.pdf"),
        check=check_reports("Site 0$\\frac{$2"),
    ),
    Case(
        "chinese_and_emoji_text",
        "flagged",
        chinese_text,
        ("GLYPH_MISSING",),
        targets=("rep:dsmb_closed.pdf", "rep:dsmb_open.pdf"),
        check=check_chinese_reports,
    ),
    Case("lb_parquet_datetime_column", "flagged", lb_parquet_datetime, ("DATE_TYPED_COLUMN",)),
    Case(
        "dm_parquet_list_column",
        "fatal",
        dm_parquet_list_column,
        ("file dm.parquet", "column SEX", "column of type List(String)"),
    ),
    Case(
        "many_fatal_findings",
        "fatal",
        many_bad_dates,
        ("file lb.csv", "column LBDTC", "more fatal finding(s)"),
        check=check_every_fatal_in_log,
    ),
]


if __name__ == "__main__":
    out = Path(sys.argv[1])
    base = make_base_cut(out / "_base")
    for case in CASES:
        case.build(base, out / case.name)
    print(f"{len(CASES)} cases written to {out}")

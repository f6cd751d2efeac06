"""One test per validation rule, each with one bad value in the hand-written tiny cut."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import tinycut

from hepatrial.errors import DataContractError
from hepatrial.ingest import ingest_cut


def run(tmp_path: Path, doms=None, study_text: str = tinycut.STUDY_YAML, cut_name: str = "cut"):
    cut = tinycut.write_cut(tmp_path / cut_name, doms)
    study = tinycut.write_study(tmp_path / "study.yaml", study_text)
    ingest_cut(cut, study, tmp_path / "out/sdtm", tmp_path / "out/validation")
    return (
        pl.read_csv(tmp_path / "out/validation/findings.csv", infer_schema=False),
        pl.read_csv(tmp_path / "out/validation/accounting.csv"),
        pl.read_csv(tmp_path / "out/validation/exclusions.csv", infer_schema=False),
    )


def mutate(domain: str, row: int, **values):
    doms = tinycut.domains()
    doms[domain][row - 1].update(values)
    return doms


def fatal(tmp_path, doms, *fragments):
    with pytest.raises(DataContractError) as exc:
        run(tmp_path, doms)
    msg = str(exc.value)
    for f in fragments:
        assert f in msg, msg
    assert "\n" not in msg
    return msg


def test_clean_tiny_cut_balances(tmp_path):
    findings, acct, excl = run(tmp_path)
    assert findings.filter(pl.col("severity").is_in(["FATAL", "ERROR"])).height == 0
    wide = acct.filter(pl.col("category") != "excluded_by_reason").pivot(
        on="category", index="domain", values="n"
    )
    assert (wide["rows_in"] == wide["rows_kept"] + wide["rows_excluded"]).all()
    # the 5 labs of T-004 on 2024-07-15 are after the 2024-06-30 cut
    assert excl.filter(pl.col("reason") == "dated after the data cut").height == 5


def test_missing_domain_is_fatal(tmp_path):
    cut = tinycut.write_cut(tmp_path / "cut")
    (cut / "ae.csv").unlink()
    with pytest.raises(DataContractError, match="required domain AE is missing"):
        ingest_cut(
            cut, tinycut.write_study(tmp_path / "s.yaml"), tmp_path / "o/s", tmp_path / "o/v"
        )


def test_missing_required_column_is_fatal(tmp_path):
    doms = tinycut.domains()
    for r in doms["lb"]:
        del r["LBTESTCD"]
    fatal(tmp_path, doms, "lb.csv", "column LBTESTCD", "required column")


def test_dm_without_the_etiology_column_is_fatal(tmp_path):
    # the CTP score and the Kamath MELD (the RCT's primary endpoint) are computed from it: without
    # the column every subject's score was missing, with no finding
    doms = tinycut.domains()
    for r in doms["dm"]:
        del r["ETIOLOGY"]
    msg = fatal(tmp_path, doms, "dm.csv", "column ETIOLOGY", "required column")
    assert "etiology.column" in msg


def test_configured_baseline_column_absent_is_a_warning_and_read_as_missing(tmp_path):
    study = tinycut.STUDY_YAML.replace(
        "baseline_columns: [ETIOLOGY, CTPSTRAT]", "baseline_columns: [ETIOLOGY, CTPSTRAT, HBEAG]"
    )
    assert "HBEAG" in study
    findings, _, _ = run(tmp_path, study_text=study)
    hit = findings.filter((pl.col("rule") == "COLUMN_ABSENT") & (pl.col("column") == "HBEAG"))
    assert hit.height == 1 and hit["severity"][0] == "WARNING" and hit["domain"][0] == "DM"
    dm = pl.read_parquet(tmp_path / "out/sdtm/dm.parquet")
    assert "HBEAG" in dm.columns and dm["HBEAG"].null_count() == dm.height


def test_two_formats_is_fatal(tmp_path):
    cut = tinycut.write_cut(tmp_path / "cut")
    pl.read_csv(cut / "ce.csv").write_parquet(cut / "ce.parquet")
    with pytest.raises(DataContractError, match="both ce.csv and ce.parquet"):
        ingest_cut(
            cut, tinycut.write_study(tmp_path / "s.yaml"), tmp_path / "o/s", tmp_path / "o/v"
        )


def test_unknown_arm_is_fatal(tmp_path):
    fatal(tmp_path, mutate("dm", 3, ARM="Aspirin"), "dm.csv", "row 3", "column ARM", "unknown arm")


def test_arm_case_is_normalised(tmp_path):
    findings, *_ = run(tmp_path, mutate("dm", 2, ARM="placebo"))
    assert findings.filter(pl.col("rule") == "ARM_CASE").height == 1
    dm = pl.read_parquet(tmp_path / "out/sdtm/dm.parquet")
    assert dm.filter(pl.col("USUBJID") == "T-002")["ARM"][0] == "Placebo"


def test_duplicate_subject_is_fatal(tmp_path):
    doms = tinycut.domains()
    doms["dm"].append(dict(doms["dm"][0]))
    fatal(tmp_path, doms, "dm.csv", "row 1", "column USUBJID", "duplicate USUBJID")


def test_unknown_unit_on_score_test_is_fatal(tmp_path):
    fatal(
        tmp_path,
        mutate("lb", 2, LBORRESU="mmol/L"),
        "lb.csv",
        "row 2",
        "column LBORRESU",
        "unknown unit",
    )


def test_mg_dl_bilirubin_converted(tmp_path):
    run(tmp_path, mutate("lb", 1, LBORRES="2", LBORRESU="mg/dL", LBORNRLO="0.2", LBORNRHI="1.2"))
    lb = pl.read_parquet(tmp_path / "out/sdtm/lb.parquet").filter(pl.col("SRCROW") == 1)
    assert lb["LBSTRESN"][0] == pytest.approx(2 * 17.1)
    assert lb["LBSTRESU"][0] == "umol/L"
    assert lb["LBSTNRHI"][0] == pytest.approx(1.2 * 17.1)


def test_non_positive_bilirubin_flagged_and_unused(tmp_path):
    findings, *_ = run(tmp_path, mutate("lb", 1, LBORRES="0"))
    f = findings.filter(pl.col("rule") == "LB_NOT_POSITIVE")
    assert f.height == 1 and f["row"][0] == "1" and f["severity"][0] == "ERROR"
    lb = pl.read_parquet(tmp_path / "out/sdtm/lb.parquet").filter(pl.col("SRCROW") == 1)
    assert lb["LBSTRESN"][0] is None and lb["LBORRES"][0] == "0"


def test_implausible_inr_flagged_and_carried(tmp_path):
    findings, *_ = run(tmp_path, mutate("lb", 3, LBORRES="50"))
    f = findings.filter(pl.col("rule") == "LB_IMPLAUSIBLE")
    assert f.height == 1 and f["row"][0] == "3" and f["severity"][0] == "WARNING"
    lb = pl.read_parquet(tmp_path / "out/sdtm/lb.parquet").filter(pl.col("SRCROW") == 3)
    assert lb["LBSTRESN"][0] == 50.0


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("14/01/2024", "not ISO 8601"),
        ("2024-02-30", "not a calendar date"),
        ("2024-01", "partial date"),
    ],
)
def test_bad_dates_are_fatal(tmp_path, value, fragment):
    fatal(tmp_path, mutate("lb", 4, LBDTC=value), "lb.csv", "row 4", "column LBDTC", fragment)


def test_partial_ae_date_allowed_and_flagged(tmp_path):
    findings, *_ = run(tmp_path)
    ae = findings.filter(pl.col("domain") == "AE")
    # tiny cut AE row 2 has AESTDTC "2024-02": carried with a WARNING, never fatal
    assert ae.select("severity", "row", "rule").rows() == [("WARNING", "2", "PARTIAL_DATE")]


def test_visit_outside_protocol_window_flagged(tmp_path):
    doms = tinycut.domains()
    for r in doms["lb"]:
        if r["USUBJID"] == "T-003" and r["LBDTC"] == "2024-03-01":
            r["VISIT"] = "WEEK 4"
    text = tinycut.STUDY_YAML.replace(
        "window: [15, 42]}", "window: [15, 42], protocol_window: [22, 29]}"
    )
    findings, *_ = run(tmp_path, doms, study_text=text)
    # T-003 randomised 2024-02-01: 2024-03-01 is day 30, one day outside [22, 29]
    assert findings.filter(pl.col("rule") == "OUT_OF_PROTOCOL_WINDOW").height == 5


def test_subject_not_in_dm_excluded_with_reason(tmp_path):
    findings, acct, excl = run(tmp_path, mutate("lb", 1, USUBJID="T-999"))
    assert findings.filter(pl.col("rule") == "SUBJECT_NOT_IN_DM").height == 1
    assert (
        excl.filter((pl.col("reason") == "subject not in DM") & (pl.col("row") == "1")).height == 1
    )


def test_not_numeric_age_set_missing(tmp_path):
    findings, *_ = run(tmp_path, mutate("dm", 1, AGE="fifty"))
    f = findings.filter(pl.col("rule") == "NOT_NUMERIC")
    assert f.row(0, named=True)["column"] == "AGE" and f["value"][0] == "fifty"


def test_term_not_allowed_set_missing(tmp_path):
    findings, *_ = run(tmp_path, mutate("ae", 1, AESER="maybe"))
    f = findings.filter(pl.col("rule") == "TERM_UNKNOWN")
    assert f.height == 1 and f["column"][0] == "AESER" and f["value"][0] == "MAYBE"


def test_lower_case_term_normalised(tmp_path):
    findings, *_ = run(tmp_path, mutate("ae", 1, AESER="n"))
    assert findings.filter(pl.col("rule") == "TERM_CASE").height == 1
    assert findings.filter(pl.col("rule") == "TERM_UNKNOWN").height == 0


def test_missing_tokens_and_spaces(tmp_path):
    findings, *_ = run(tmp_path, mutate("dm", 1, RACE="NA", COUNTRY=" CHN "))
    assert set(findings["rule"].to_list()) >= {"MISSING_TOKEN", "SPACES_TRIMMED"}
    dm = pl.read_parquet(tmp_path / "out/sdtm/dm.parquet").filter(pl.col("SRCROW") == 1)
    assert dm["RACE"][0] is None and dm["COUNTRY"][0] == "CHN"


def test_bom_and_latin1(tmp_path):
    cut = tinycut.write_cut(tmp_path / "cut")
    study = tinycut.write_study(tmp_path / "s.yaml")
    (cut / "ce.csv").write_bytes(b"\xef\xbb\xbf" + (cut / "ce.csv").read_bytes())
    ingest_cut(cut, study, tmp_path / "o/s", tmp_path / "o/v")
    assert pl.read_parquet(tmp_path / "o/s/ce.parquet").height == 1
    doms = tinycut.domains()
    doms["ae"][1]["AETERM"] = "hépatique"
    tinycut.write_csv(cut / "ae.csv", doms["ae"], encoding="latin-1")
    with pytest.raises(DataContractError, match=r"ae.csv, row 2: not valid UTF-8"):
        ingest_cut(cut, study, tmp_path / "o2/s", tmp_path / "o2/v")


def test_empty_and_header_only_files(tmp_path):
    cut = tinycut.write_cut(tmp_path / "cut")
    study = tinycut.write_study(tmp_path / "s.yaml")
    (cut / "ce.csv").write_text("USUBJID,CEDECOD,CESTDTC\n")
    ingest_cut(cut, study, tmp_path / "o/s", tmp_path / "o/v")
    f = pl.read_csv(tmp_path / "o/v/findings.csv")
    assert f.filter(pl.col("rule") == "DOMAIN_EMPTY").height == 1
    (cut / "ce.csv").write_text("")
    with pytest.raises(DataContractError, match="ce.csv: file is empty"):
        ingest_cut(cut, study, tmp_path / "o2/s", tmp_path / "o2/v")


def test_death_after_cut_is_not_a_death(tmp_path):
    findings, *_ = run(tmp_path, mutate("dm", 2, DTHDTC="2024-07-02"))
    dm = pl.read_parquet(tmp_path / "out/sdtm/dm.parquet").filter(pl.col("USUBJID") == "T-002")
    assert dm["DTHDTC"][0] is None and dm["DTHFL"][0] is None
    assert findings.filter(pl.col("rule") == "DEATH_AFTER_CUT").height == 1


def test_death_before_randomisation_flagged(tmp_path):
    findings, *_ = run(tmp_path, mutate("dm", 2, DTHDTC="2024-01-02"))
    assert findings.filter(pl.col("rule") == "DEATH_BEFORE_RANDOMISATION")["row"].to_list() == ["2"]


def test_transplant_after_death_flagged(tmp_path):
    doms = mutate("dm", 3, DTHDTC="2024-04-01", DTHFL="Y")
    findings, *_ = run(tmp_path, doms)
    assert findings.filter(pl.col("rule") == "TRANSPLANT_AFTER_DEATH").height == 1


def test_visit_before_consent_flagged(tmp_path):
    findings, *_ = run(tmp_path, mutate("lb", 1, LBDTC="2023-12-20"))
    assert findings.filter(pl.col("rule") == "BEFORE_CONSENT")["row"].to_list() == ["1"]


def test_cut_before_first_randomisation_is_fatal(tmp_path):
    text = tinycut.STUDY_YAML.replace('cut_date: "2024-06-30"', 'cut_date: "2023-06-30"')
    with pytest.raises(DataContractError, match="before the first randomisation"):
        run(tmp_path, study_text=text)


def test_record_after_cut_never_kept(tmp_path):
    run(tmp_path)
    lb = pl.read_parquet(tmp_path / "out/sdtm/lb.parquet")
    assert (lb["LBDTC"].str.slice(0, 10) <= "2024-06-30").all()


def test_column_names_case_insensitive_and_column_map(tmp_path):
    doms = tinycut.domains()
    for r in doms["ce"]:
        r["cedecod"] = r.pop("CEDECOD")
        r["EVENTDATE"] = r.pop("CESTDTC")
    text = tinycut.STUDY_YAML + "column_map: {CE: {EVENTDATE: CESTDTC}}\n"
    run(tmp_path, doms, study_text=text)
    ce = pl.read_parquet(tmp_path / "out/sdtm/ce.parquet")
    assert ce["CESTDTC"][0] == "2024-03-20" and ce["CEDECOD"][0] == "VARICEAL BLEEDING"


def test_missing_token_case_variants_match_upper_case():
    """normalise_text looks missing tokens up among their case variants instead of upper-casing
    every value: the same answer for every character of Unicode, alone or around a token."""
    import sys

    from hepatrial.contract import MISSING_TOKENS
    from hepatrial.ingest.validate import _case_variants

    chars = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF]
    values = (
        chars
        + [
            t[:k] + ch + t[k:]
            for t in MISSING_TOKENS
            for k in range(len(t) + 1)
            for ch in chars
            if ch.upper() != ch
        ]
        + ["na", "N/a", "nUlL", "nan", ".", "N A"]
    )
    s = pl.Series(values)
    expected = s.str.to_uppercase().is_in(list(MISSING_TOKENS))
    assert s.is_in(_case_variants(MISSING_TOKENS)).to_list() == expected.to_list()


def test_read_csv_checks_utf8_block_by_block(tmp_path, monkeypatch):
    """A bad byte past the first block is still found, with its data row number."""
    from hepatrial.ingest import read

    monkeypatch.setattr(read, "_BLOCK", 16)
    body = "A,B\n" + "".join(f"{i},x\n" for i in range(1, 30))
    p = tmp_path / "ae.csv"
    p.write_bytes(body.encode() + b"30,h\xe9\n")
    with pytest.raises(DataContractError, match=r"ae.csv, row 30: not valid UTF-8 \(byte 0xe9\)"):
        read.read_domain(p)
    p.write_bytes(b"   \n\n" * 10)
    with pytest.raises(DataContractError, match="file is empty"):
        read.read_domain(p)
    p.write_bytes(b"\xef\xbb\xbf" + body.encode())
    df = read.read_domain(p)
    assert df.columns == ["SRCROW", "A", "B"] and df.height == 29

"""ADaM derivations against hand-worked examples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import tinycut

from hepatrial.adam import read_sdtm
from hepatrial.adam.adae import create_adae
from hepatrial.adam.adlb import create_adlb
from hepatrial.adam.adsl import create_adsl_core
from hepatrial.adam.adtte import create_adtte
from hepatrial.adam.common import derive_bds_timing
from hepatrial.ingest import ingest_cut
from hepatrial.spec import load as load_study

D = dt.date


def study(tmp_path: Path, text: str = tinycut.STUDY_YAML) -> dict:
    return load_study(tinycut.write_study(tmp_path / "study.yaml", text))


def bds(rows: list[tuple]) -> pl.DataFrame:
    """rows: (USUBJID, ADT, AVAL, SRCROW), origin 2024-01-10 for everyone."""
    return pl.DataFrame(
        [
            {
                "USUBJID": u,
                "PARAMCD": "BILI",
                "ADT": a,
                "AVAL": v,
                "SRCROW": r,
                "ORIGDT": D(2024, 1, 10),
            }
            for u, a, v, r in rows
        ],
        schema={
            "USUBJID": pl.Utf8,
            "PARAMCD": pl.Utf8,
            "ADT": pl.Date,
            "AVAL": pl.Float64,
            "SRCROW": pl.Int64,
            "ORIGDT": pl.Date,
        },
    )


def test_window_tie_goes_to_earlier_and_others_kept(tmp_path):
    # WEEK 4 target day 29: days 27 and 31 are both 2 days away -> day 27 (earlier) wins.
    out = derive_bds_timing(
        bds(
            [
                ("S1", D(2024, 1, 10), 10.0, 1),
                ("S1", D(2024, 2, 5), 12.0, 2),
                ("S1", D(2024, 2, 9), 14.0, 3),
            ]
        ),
        study(tmp_path),
    )
    w4 = out.filter(pl.col("AVISIT") == "WEEK 4").sort("ADY")
    assert w4["ADY"].to_list() == [27, 31]
    assert w4["ANL01FL"].to_list() == ["Y", None]
    assert w4["CHG"].to_list() == [2.0, 4.0]  # CHG kept on the non-analysed record too


def test_closest_to_target_wins(tmp_path):
    out = derive_bds_timing(
        bds(
            [
                ("S1", D(2024, 1, 10), 10.0, 1),
                ("S1", D(2024, 1, 30), 11.0, 2),
                ("S1", D(2024, 2, 8), 12.0, 3),
            ]
        ),
        study(tmp_path),
    )
    w4 = out.filter(pl.col("AVISIT") == "WEEK 4").sort("ADY")
    # day 21 is 8 from target 29, day 30 is 1 from it
    assert w4.select("ADY", "ANL01FL").rows() == [(21, None), (30, "Y")]


def test_out_of_window_is_unscheduled_not_analysed(tmp_path):
    # Day 5 falls between BASELINE [-14, 1] and WEEK 4 [15, 42]; day 120 after every window.
    out = derive_bds_timing(
        bds(
            [
                ("S1", D(2024, 1, 10), 10.0, 1),
                ("S1", D(2024, 1, 14), 11.0, 2),
                ("S1", D(2024, 5, 8), 9.0, 3),
            ]
        ),
        study(tmp_path),
    )
    uns = out.filter(pl.col("AVISIT") == "UNSCHEDULED")
    assert sorted(uns["ADY"].to_list()) == [5, 120]
    assert uns["ANL01FL"].null_count() == 2 and uns["AVISITN"].null_count() == 2


def test_baseline_when_screening_missing_and_day1_missing(tmp_path):
    # Screening value missing (AVAL null on day -5), day 1 present -> day 1 is baseline.
    out = derive_bds_timing(
        bds(
            [
                ("S1", D(2024, 1, 5), None, 1),
                ("S1", D(2024, 1, 10), 20.0, 2),
                ("S1", D(2024, 2, 7), 18.0, 3),
            ]
        ),
        study(tmp_path),
    )
    bl = out.filter(pl.col("ABLFL") == "Y")
    assert bl["ADY"].to_list() == [1] and bl["AVISIT"].to_list() == ["BASELINE"]
    assert out.filter(pl.col("ADY") == 29)["CHG"].to_list() == [-2.0]
    # Day 1 missing instead: the screening value (day -5) is the baseline.
    out2 = derive_bds_timing(
        bds(
            [
                ("S2", D(2024, 1, 5), 22.0, 1),
                ("S2", D(2024, 1, 10), None, 2),
                ("S2", D(2024, 2, 7), 18.0, 3),
            ]
        ),
        study(tmp_path),
    )
    assert out2.filter(pl.col("ABLFL") == "Y")["ADY"].to_list() == [-5]
    assert out2.filter(pl.col("ADY") == 29)["CHG"].to_list() == [-4.0]


def test_no_baseline_when_only_post_origin_values(tmp_path):
    out = derive_bds_timing(bds([("S1", D(2024, 2, 7), 18.0, 1)]), study(tmp_path))
    assert (
        out["ABLFL"].null_count() == 1
        and out["BASE"].null_count() == 1
        and out["CHG"].null_count() == 1
    )


def test_each_record_in_at_most_one_visit(tmp_path):
    rows = [("S1", D(2024, 1, 10) + dt.timedelta(days=k), float(k), k + 1) for k in range(-20, 90)]
    out = derive_bds_timing(bds(rows), study(tmp_path))
    assert out.height == len(rows)  # no record duplicated by windowing
    assert (
        out.group_by(["USUBJID", "PARAMCD", "AVISIT"])
        .agg((pl.col("ANL01FL") == "Y").sum().alias("n"))
        .filter(pl.col("AVISIT") != "UNSCHEDULED")["n"]
        .max()
        == 1
    )


@pytest.fixture
def tiny(tmp_path):
    def make(doms=None, text=tinycut.STUDY_YAML):
        cut = tinycut.write_cut(tmp_path / "cut", doms)
        s = study(tmp_path, text)
        ingest_cut(cut, s, tmp_path / "sdtm", tmp_path / "val")
        d = read_sdtm(tmp_path / "sdtm")
        adsl = create_adsl_core(d, s, D(2024, 6, 30))
        return d, adsl, s

    return make


def _tte(d, adsl, s, param, subj):
    t = create_adtte(adsl, d["CE"], s).filter(
        (pl.col("PARAMCD") == param) & (pl.col("USUBJID") == subj)
    )
    return t.row(0, named=True)


def test_adtte_death_and_censoring(tiny):
    d, adsl, s = tiny()
    r = _tte(d, adsl, s, "OS", "T-002")  # died 2024-03-01, randomised 2024-01-15
    assert (r["AVAL"], r["CNSR"], r["EVNTDESC"]) == (
        (D(2024, 3, 1) - D(2024, 1, 15)).days,
        0,
        "DEATH",
    )
    r = _tte(d, adsl, s, "TFS", "T-003")  # transplant 2024-04-10, randomised 2024-02-01
    assert (r["AVAL"], r["CNSR"], r["EVNTDESC"], r["CRCODE"]) == (69.0, 0, "LIVER TRANSPLANT", 3)
    r = _tte(
        d, adsl, s, "OS", "T-003"
    )  # transplant does not censor OS: censored at last alive 2024-04-10
    assert (r["AVAL"], r["CNSR"], r["CNSDTDSC"]) == (69.0, 1, "LAST KNOWN ALIVE DATE")
    r = _tte(d, adsl, s, "DECOMP", "T-004")  # variceal bleeding 2024-03-20, randomised 2024-02-05
    assert (r["AVAL"], r["CNSR"], r["CRCODE"], r["SRCROW"]) == (44.0, 0, 1, 1)
    r = _tte(d, adsl, s, "DECOMP", "T-002")  # death competes
    assert (r["CNSR"], r["CRCODE"], r["EVTTYPE"]) == (1, 2, "DEATH")


def test_adtte_event_after_cut_is_censored(tiny):
    doms = tinycut.domains()
    doms["pr"][0]["PRSTDTC"] = "2024-07-10"  # after the 2024-06-30 cut
    d, adsl, s = tiny(doms)
    r = _tte(d, adsl, s, "TFS", "T-003")
    # transplant removed by the cut; censored at last known alive (last lab 2024-03-01)
    assert (r["CNSR"], r["ADT"], r["AVAL"]) == (1, D(2024, 3, 1), 29.0)


def test_adtte_transplant_and_death_same_day(tiny):
    doms = tinycut.domains()
    doms["dm"][2].update(DTHDTC="2024-04-10", DTHFL="Y")
    d, adsl, s = tiny(doms)
    tfs = _tte(d, adsl, s, "TFS", "T-003")
    assert (tfs["AVAL"], tfs["CNSR"], tfs["CRCODE"], tfs["EVNTDESC"]) == (
        69.0,
        0,
        3,
        "LIVER TRANSPLANT",
    )
    os_ = _tte(d, adsl, s, "OS", "T-003")
    assert (os_["AVAL"], os_["CNSR"]) == (69.0, 0)


def test_adtte_no_follow_up_gives_aval_zero(tiny):
    doms = tinycut.domains()
    # T-004: keep only data on the randomisation day
    doms["lb"] = [r for r in doms["lb"] if r["USUBJID"] != "T-004" or r["LBDTC"] == "2024-02-05"]
    doms["ex"] = [r for r in doms["ex"] if r["USUBJID"] != "T-004" or r["EXSTDTC"] == "2024-02-05"]
    del doms["ce"]  # no clinical events at all (optional domain absent)
    d, adsl, s = tiny(doms)
    r = _tte(d, adsl, s, "TFS", "T-004")
    assert (r["AVAL"], r["CNSR"]) == (0.0, 1)


def test_death_imputed_from_partial_date(tiny):
    doms = tinycut.domains()
    # T-001 last known alive 2024-02-07 (lab, EX); death reported as 2024-02 -> not before 2024-02-07
    doms["dm"][0].update(DTHDTC="2024-02", DTHFL="Y")
    d, adsl, s = tiny(doms)
    a = adsl.filter(pl.col("USUBJID") == "T-001").row(0, named=True)
    assert (a["DTHDT"], a["DTHDTF"]) == (D(2024, 2, 7), "D")
    # Reported as 2024-03: first of the month
    doms["dm"][0].update(DTHDTC="2024-03")
    d, adsl, s = tiny(doms)
    assert adsl.filter(pl.col("USUBJID") == "T-001")["DTHDT"][0] == D(2024, 3, 1)
    assert _tte(d, adsl, s, "OS", "T-001")["AVAL"] == (D(2024, 3, 1) - D(2024, 1, 10)).days


def test_ae_partial_start_never_before_first_dose(tiny):
    doms = tinycut.domains()
    doms["ae"][0]["AESTDTC"] = "2024-01"  # T-001 first dose 2024-01-10 falls in January
    d, adsl, s = tiny(doms)
    ae = create_adae(d["AE"], adsl, s).filter(pl.col("USUBJID") == "T-001").row(0, named=True)
    assert (ae["ASTDT"], ae["ASTDTF"], ae["TRTEMFL"]) == (D(2024, 1, 10), "D", "Y")


def test_every_lb_row_in_adlb_or_excluded(tiny):
    doms = tinycut.domains()
    doms["lb"][0].update(LBSTAT="NOT DONE", LBORRES="")
    d, adsl, s = tiny(doms)
    adlb, excl = create_adlb(d["LB"], adsl, s)
    assert excl["reason"].to_list() == ["test not done (LBSTAT NOT DONE)"]
    assert sorted(adlb["SRCROW"].to_list() + excl["row"].to_list()) == sorted(
        d["LB"]["SRCROW"].to_list()
    )


def _xpt_sample(n: int = 257) -> pl.DataFrame:
    """Every type the ADaM datasets carry, with missing values, zeros, negatives and non-ASCII text."""
    import math

    floats = [
        None,
        0.0,
        -0.0,
        1.5,
        -2.25,
        1e-9,
        123456789.125,
        float("nan"),
        1 / 3,
        -1e12,
        math.pi,
        5e-300 * 0,
    ]
    return pl.DataFrame(
        {
            "USUBJID": [f"S-{i:04d}" if i % 7 else None for i in range(n)],
            "TEXT": [
                ["", " lead", "trail ", "µmol/L", "ä" * 5, "x" * 60, None][i % 7] for i in range(n)
            ],
            "EMPTY": pl.Series([None] * n, dtype=pl.Utf8),
            "AVAL": [floats[i % len(floats)] for i in range(n)],
            "N": pl.Series([i if i % 5 else None for i in range(n)], dtype=pl.Int64),
            "ADT": [D(1950 + i % 90, 1 + i % 12, 1 + i % 28) if i % 4 else None for i in range(n)],
            "NODATE": pl.Series([None] * n, dtype=pl.Date),
            "FLAG": [[True, False, None][i % 3] for i in range(n)],
            "NOFLAG": pl.Series([None] * n, dtype=pl.Boolean),
            "NONUM": pl.Series([None] * n, dtype=pl.Int64),
            "NOFLOAT": pl.Series([None] * n, dtype=pl.Float64),
        }
    )


def test_xpt_writer_matches_reference(tmp_path, monkeypatch):
    """The vectorised XPT writer gives the bytes of the pandas/pyreadstat writer, in several chunks."""
    from hepatrial.adam import io

    monkeypatch.setattr(io, "XPT_CHUNK_ROWS", 50)
    df = _xpt_sample()
    assert io._write_xpt_fast(df, tmp_path / "fast.xpt", "ADX", "A label")
    io._write_xpt_pyreadstat(df, tmp_path / "ref.xpt", "ADX", "A label")
    for f in ("fast.xpt", "ref.xpt"):
        io.stamp_xpt(tmp_path / f)
    assert (tmp_path / "fast.xpt").read_bytes() == (tmp_path / "ref.xpt").read_bytes()
    io.write_adam(df, tmp_path / "adx.parquet", tmp_path / "adx.xpt", "ADX", "A label")
    assert (tmp_path / "adx.xpt").read_bytes() == (tmp_path / "ref.xpt").read_bytes()


def test_xpt_writer_falls_back_when_needed(tmp_path):
    """Values outside the exactly-converted range, and empty frames, go through pyreadstat."""
    from hepatrial.adam import io

    big = pl.DataFrame({"AVAL": [1e300, 2.0]})
    assert not io._write_xpt_fast(big, tmp_path / "big.xpt", "ADX", "")
    assert not io._write_xpt_fast(_xpt_sample().head(0), tmp_path / "empty.xpt", "ADX", "")
    io.write_adam(big, tmp_path / "big.parquet", tmp_path / "big.xpt", "ADX", "")
    io._write_xpt_pyreadstat(big, tmp_path / "ref.xpt", "ADX", "")
    io.stamp_xpt(tmp_path / "ref.xpt")
    assert (tmp_path / "big.xpt").read_bytes() == (tmp_path / "ref.xpt").read_bytes()


def test_xpt_reads_back(tmp_path):
    import pyreadstat

    from hepatrial.adam import io

    # an all-missing date or flag is a character variable pyreadstat cannot read back
    df = _xpt_sample(40).drop("NODATE", "NOFLAG")
    io.write_adam(df, tmp_path / "adx.parquet", tmp_path / "adx.xpt", "ADX", "")
    back, meta = pyreadstat.read_xport(str(tmp_path / "adx.xpt"))
    assert list(back.columns) == df.columns and len(back) == df.height
    assert back["USUBJID"].fillna("").tolist() == [v or "" for v in df["USUBJID"].to_list()]
    assert back["N"].isna().tolist() == df["N"].is_null().to_list()


def test_read_sdtm_domains_and_columns(tiny, tmp_path):
    tiny()
    d = read_sdtm(tmp_path / "sdtm", ["LB", "DM"], {"LB": ["USUBJID", "LBDTC", "NOPE"]})
    assert set(d) == {"LB", "DM"}
    assert d["LB"].columns == ["USUBJID", "LBDTC"]
    assert d["DM"].columns == read_sdtm(tmp_path / "sdtm")["DM"].columns


def test_adtte_of_a_study_with_no_time_to_event_endpoint_is_empty(tiny, tmp_path):
    """A study config with ``endpoints.tte: []`` (allowed by the schema) stopped the adtte step
    with "ValueError: cannot concat empty list"; its ADTTE is now the dataset's columns with no
    rows (the survival rule then does not exist, the KM table says there is no data)."""
    d, adsl, s = tiny()
    full = create_adtte(adsl, d["CE"], s)
    text = tinycut.STUDY_YAML.replace(
        "endpoints: {primary_visit: WEEK 8, landmarks_days: [28, 56]}",
        "endpoints: {primary_visit: WEEK 8, landmarks_days: [28, 56], tte: []}",
    )
    assert text != tinycut.STUDY_YAML
    s0 = study(tmp_path, text)
    assert list(s0.endpoints.tte) == []
    empty = create_adtte(adsl, d["CE"], s0)
    assert empty.height == 0 and full.height > 0
    assert empty.schema == full.schema


def test_adtte_and_adae_carry_the_flags_of_the_configured_populations(tiny):
    """ADTTE and ADAE carried ITTFL and SAFFL only: a study whose ITT is another ADSL flag (a
    single-arm protocol's "all enrolled", ``ITT: ENRLFL``) stopped at the survival step with
    "population ITT: its flag ENRLFL ..." (select_population). They now carry the flag of every
    configured population, after the standard ones, and the survival analysis selects on it."""
    from hepatrial.analysis.survival import survival_ard

    text = tinycut.STUDY_YAML + "populations: {ITT: ENRLFL, SAFETY: SAFFL, PP: PPFL}\n"
    d, adsl, s = tiny(text=text)
    assert adsl["ENRLFL"].to_list() == adsl["ITTFL"].to_list() == ["Y"] * 4
    # T-004 out of the configured ITT population only (ITTFL stays Y)
    adsl = adsl.with_columns(
        ENRLFL=pl.when(pl.col("USUBJID") == "T-004").then(pl.lit("N")).otherwise("ENRLFL")
    )
    adtte = create_adtte(adsl, d["CE"], s)
    assert adtte.columns[7:11] == ["ITTFL", "SAFFL", "ENRLFL", "PPFL"]
    assert {"ENRLFL", "PPFL"} <= set(create_adae(d["AE"], adsl, s).columns)
    ard, _ = survival_ard(adtte, s, "OS")
    n = ard.filter(
        (pl.col("analysis") == "KM_EVENTS") & (pl.col("arm") == "ALL") & (pl.col("stat") == "n")
    )["value"]
    assert n.to_list() == [3.0]  # T-001..T-003: the configured ITT, not ITTFL's 4


def test_a_study_config_of_another_study_is_flagged(tmp_path):
    """DM's STUDYID and the study config's id (documented as "STUDYID as in DM") were never
    compared: a config of another study ran on the cut without a word. One WARNING finding at
    DM's first row now says so; the records still go in as they are."""
    cut = tinycut.write_cut(tmp_path / "cut")
    s = study(tmp_path, tinycut.STUDY_YAML.replace("id: TINY", "id: TINY2"))
    ingest_cut(cut, s, tmp_path / "sdtm", tmp_path / "val")
    f = pl.read_csv(tmp_path / "val/findings.csv", infer_schema=False)
    hit = f.filter(pl.col("rule").str.starts_with("STUDYID"))
    assert hit.select("severity", "file", "row", "column", "value", "rule").rows() == [
        ("WARNING", "dm.csv", "1", "STUDYID", "TINY", "STUDYID_NOT_CONFIG")
    ]
    assert "'TINY2'" in hit["message"][0]
    assert read_sdtm(tmp_path / "sdtm")["DM"].height == len(tinycut.domains()["dm"])


def test_a_milestone_is_no_disposition_event_with_dscat_empty():
    """DS without DSCAT: consent and randomisation are milestones (the subject stays ONGOING);
    the last other record is the disposition (T-2 COMPLETED, T-3 DISCONTINUED, LOST TO FOLLOW-UP)."""
    from hepatrial.adam.adsl import derive_vars_disposition

    adsl = pl.DataFrame({"USUBJID": ["T-1", "T-2", "T-3"], "DTHFL": [None, None, None]})
    ds = pl.DataFrame(
        {
            "USUBJID": ["T-1", "T-1", "T-2", "T-2", "T-3", "T-3"],
            "DSCAT": [None] * 6,
            "DSDECOD": [
                "INFORMED CONSENT OBTAINED",
                "Randomized",
                "INFORMED CONSENT OBTAINED",
                "COMPLETED",
                "RANDOMIZED",
                "LOST TO FOLLOW-UP",
            ],
            "DSSTDTC": [
                "2024-01-01",
                "2024-01-05",
                "2024-01-01",
                "2024-06-01",
                "2024-01-02",
                "2024-03-01",
            ],
            "SRCROW": [1, 2, 3, 4, 5, 6],
        },
        schema_overrides={"DSCAT": pl.Utf8},
    )
    out = derive_vars_disposition(adsl, ds).sort("USUBJID")
    assert out["EOSSTT"].to_list() == ["ONGOING", "COMPLETED", "DISCONTINUED"]
    assert out["DCSREAS"].to_list() == [None, None, "LOST TO FOLLOW-UP"]


def test_relatedness_terms_and_an_unknown_one_counted_as_related(tiny, tmp_path):
    """AEREL 'Possibly' is related, 'Unlikely' not, 'Not assessable' is in neither list: related
    (the conservative reading), with one WARNING AEREL_UNKNOWN naming its row; an empty one, among
    AEs that have one, is related too (WARNING AEREL_MISSING naming its row)."""
    doms = tinycut.domains()
    ae = doms["ae"]
    ae += [dict(ae[0], AESTDTC=f"2024-01-1{i}") for i in (3, 4)]
    for r, v in zip(ae, ["Possibly", "Unlikely", "Not assessable", ""]):
        r["AEREL"] = v
    d, adsl, s = tiny(doms)
    got = create_adae(d["AE"], adsl, s).sort("SRCROW")["AREL"].to_list()
    assert got == ["Y", "N", "Y", "Y"]
    f = pl.read_csv(tmp_path / "val/findings.csv", infer_schema=False)
    hit = f.filter(pl.col("rule") == "AEREL_UNKNOWN")
    assert hit.select("row", "value").rows() == [("3", "Not assessable")]
    miss = f.filter(pl.col("rule") == "AEREL_MISSING")
    assert miss.select("severity", "row", "column").rows() == [("WARNING", "4", "AEREL")]
    assert miss["message"][0].startswith("1 AE(s) with no relatedness")


def test_an_outcome_outside_the_codelist_is_a_warning_and_not_fatal(tiny, tmp_path):
    """AEOUT 'Died' (not the CDISC term FATAL) on a grade-3 AE: not fatal, as ADAE reads it, and
    one WARNING AEOUT_UNKNOWN naming its row and value; 'fatal' in lower case is the term."""
    doms = tinycut.domains()
    ae = doms["ae"]
    ae += [dict(ae[0], AESTDTC="2024-01-13")]
    for r, v, g in zip(ae, ["Died", "fatal", "RECOVERED/RESOLVED"], ["3", "3", "1"]):
        r["AEOUT"], r["AETOXGR"] = v, g
    d, adsl, s = tiny(doms)
    got = create_adae(d["AE"], adsl, s).sort("SRCROW")["FATALFL"].to_list()
    assert got[:2] == ["N", "Y"]
    f = pl.read_csv(tmp_path / "val/findings.csv", infer_schema=False)
    hit = f.filter(pl.col("rule") == "AEOUT_UNKNOWN")
    assert hit.select("severity", "row", "column", "value").rows() == [
        ("WARNING", "1", "AEOUT", "Died")
    ]
    assert "not read as fatal" in hit["message"][0]


def test_a_disposition_term_outside_the_codelist_is_a_warning(tiny, tmp_path):
    """DS disposition event DSDECOD 'Died' (not the CDISC term DEATH): one WARNING
    DSDECOD_UNKNOWN naming its row and value; ADSL reads it as a discontinuation for that reason,
    as before. A protocol milestone with a term ADSL does not know ('ENROLLED') is no finding:
    ADSL reads no milestone as a disposition event."""
    doms = tinycut.domains()
    ds = doms["ds"]
    death = next(i for i, r in enumerate(ds) if r["DSDECOD"] == "DEATH")
    ds[death]["DSDECOD"] = "Died"
    ds.append(dict(ds[0], DSDECOD="ENROLLED", DSCAT="PROTOCOL MILESTONE"))
    d, adsl, s = tiny(doms)
    f = pl.read_csv(tmp_path / "val/findings.csv", infer_schema=False)
    hit = f.filter(pl.col("rule") == "DSDECOD_UNKNOWN")
    assert hit.select("severity", "row", "column", "value").rows() == [
        ("WARNING", str(death + 1), "DSDECOD", "Died")
    ]
    assert "not as a death" in hit["message"][0]
    t2 = adsl.filter(pl.col("USUBJID") == "T-002").row(0, named=True)
    assert (t2["EOSSTT"], t2["DCSREAS"]) == ("DISCONTINUED", "DIED")


def test_relatedness_recorded_for_no_ae_is_not_collected(tiny, tmp_path):
    """AEREL empty on every AE: AREL stays empty (the overview's related row is "not collected",
    tests/unit/test_safety.py), and no AEREL_MISSING finding: nothing was collected to miss."""
    doms = tinycut.domains()
    for r in doms["ae"]:
        r["AEREL"] = ""
    d, adsl, s = tiny(doms)
    assert create_adae(d["AE"], adsl, s)["AREL"].null_count() == len(doms["ae"])
    f = pl.read_csv(tmp_path / "val/findings.csv", infer_schema=False)
    assert f.filter(pl.col("rule") == "AEREL_MISSING").height == 0

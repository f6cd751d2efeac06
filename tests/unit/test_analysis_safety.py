"""AE by worst grade, SAEs by SOC/PT and AEs of special interest: counts worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
from studies import make_study

from hepatrial.analysis.safety import ae_summaries, aesi_summaries

D = dt.date
STUDY = make_study(
    populations={"SAFETY": "SAFFL"},
    safety={
        "aesi": [
            {
                "id": "INFUSION",
                "label": "Infusion reactions",
                "pt": ["Pyrexia"],
                "max_onset_days": 1,
            },
            {"id": "INFECTION", "label": "Infections", "soc": ["Infections and infestations"]},
        ]
    },
)
ADSL = pl.DataFrame(
    {
        "USUBJID": ["S1", "S2", "S3", "S4"],
        "SAFFL": ["Y"] * 4,
        "TRT01A": ["Active", "Active", "Control", "Control"],
        "TRT01P": ["Active", "Active", "Control", "Control"],
    }
)
# S1: pyrexia grade 1 on an infusion day and grade 3 two days after the second infusion; sepsis grade 4 (SAE)
# S2: pyrexia grade 2 the day after an infusion; S3: sepsis grade 5 (SAE, fatal); S4: none
ADAE = pl.DataFrame(
    {
        "USUBJID": ["S1", "S1", "S1", "S2", "S3"],
        "AEDECOD": ["Pyrexia", "Pyrexia", "Sepsis", "Pyrexia", "Sepsis"],
        "AEBODSYS": [
            "General disorders",
            "General disorders",
            "Infections and infestations",
            "General disorders",
            "Infections and infestations",
        ],
        "ATOXGR": [1, 3, 4, 2, 5],
        "AESER": ["N", "N", "Y", "N", "Y"],
        "AREL": ["Y", "Y", "N", "Y", "N"],
        "TRTEMFL": ["Y"] * 5,
        "FATALFL": [None, None, None, None, "Y"],
        "AEWDFL": [None] * 5,
        "ASTDT": [D(2024, 1, 1), D(2024, 1, 31), D(2024, 3, 1), D(2024, 1, 2), D(2024, 2, 1)],
    }
)
EX = pl.DataFrame(
    {
        "USUBJID": ["S1", "S1", "S2", "S3"],
        "EXSTDTC": ["2024-01-01", "2024-01-29", "2024-01-01", "2024-01-01"],
    }
)


def _get(ard, analysis, paramcd, arm, stat):
    r = ard.filter(
        (pl.col("analysis") == analysis)
        & (pl.col("paramcd") == paramcd)
        & (pl.col("arm") == arm)
        & (pl.col("stat") == stat)
    )
    assert r.height == 1, (analysis, paramcd, arm, stat)
    return r["value"][0]


def test_worst_grade_counts_a_subject_once_at_the_worst_grade():
    ard = ae_summaries(ADAE, ADSL, STUDY)
    pyr = "General disorders|Pyrexia"
    assert _get(ard, "AE_GRADE", pyr, "Active", "n_grade3") == 1  # S1: grades 1 and 3 -> 3
    assert _get(ard, "AE_GRADE", pyr, "Active", "n_grade1") == 0
    assert _get(ard, "AE_GRADE", pyr, "Active", "n_grade2") == 1  # S2
    assert _get(ard, "AE_GRADE", pyr, "Active", "pct_grade2") == 50.0
    assert (
        _get(ard, "AE_GRADE", "ANY", "Active", "n_grade4") == 1
    )  # S1's worst over all AEs: sepsis 4
    assert _get(ard, "AE_GRADE", "ANY", "ALL", "n_grade5") == 1  # S3
    assert _get(ard, "AE_GRADE", "Infections and infestations", "Control", "pct_grade5") == 50.0


def test_saes_by_soc_and_pt():
    ard = ae_summaries(ADAE, ADSL, STUDY)
    assert _get(ard, "SAE_INCIDENCE", "ANY", "ALL", "n_subjects") == 2
    assert _get(ard, "SAE_INCIDENCE", "ANY", "ALL", "pct") == 50.0
    assert (
        _get(ard, "SAE_INCIDENCE", "Infections and infestations|Sepsis", "Active", "n_events") == 1
    )
    assert (
        ard.filter(
            (pl.col("analysis") == "SAE_INCIDENCE") & pl.col("paramcd").str.contains("Pyrexia")
        ).height
        == 0
    )


def test_aesi_with_onset_from_the_most_recent_infusion():
    ard = aesi_summaries(ADAE, ADSL, EX, STUDY)
    # Pyrexia on day 0 (S1) and day 1 (S2) after an infusion count; S1's on day 2 after the 2nd does not
    assert _get(ard, "AESI", "INFUSION", "Active", "n_subjects") == 2
    assert _get(ard, "AESI", "INFUSION", "Active", "n_events") == 2
    assert _get(ard, "AESI", "INFUSION", "Active", "onset_median") == 0.5
    assert _get(ard, "AESI", "INFUSION", "Control", "n_subjects") == 0
    # sepsis: S1 on 2024-03-01, 32 days after 2024-01-29; S3 on 2024-02-01, 31 days after 2024-01-01
    assert _get(ard, "AESI", "INFECTION", "ALL", "onset_min") == 31
    assert _get(ard, "AESI", "INFECTION", "ALL", "onset_max") == 32
    assert _get(ard, "AESI", "INFECTION", "ALL", "pct") == 50.0


def test_a_soc_holding_a_bar_stays_one_soc():
    """SOC "A|B" with PT "C" and SOC "A" with PT "B|C" joined on "|" are the same text: the SOC
    part of the key is escaped (soc_key), so the keys differ and each reads back whole; a SOC
    named ANY is not the any-event row."""
    from hepatrial.analysis.safety import split_soc_pt

    ae = ADAE.head(3).with_columns(
        pl.Series("AEBODSYS", ["A|B", "A", "ANY"]),
        pl.Series("AEDECOD", ["C", "B|C", "x\\y"]),
        pl.Series("AESER", ["Y", "Y", "Y"]),
    )
    ard = ae_summaries(ae, ADSL, STUDY)
    sae = ard.filter(
        (pl.col("analysis") == "SAE_INCIDENCE")
        & (pl.col("arm") == "ALL")
        & (pl.col("stat") == "n_events")
    )
    codes = sae["paramcd"].to_list()
    assert len(codes) == len(set(codes))
    assert sorted((split_soc_pt(c) for c in codes if c != "ANY"), key=str) == sorted(
        [("A", None), ("A", "B|C"), ("A|B", None), ("A|B", "C"), ("ANY", None), ("ANY", "x\\y")],
        key=str,
    )
    assert (
        _get(ard, "SAE_INCIDENCE", "ANY", "ALL", "n_events") == 3
    )  # the any-event row, not the SOC


def test_soc_pt_rows_group_each_pt_under_its_soc():
    from hepatrial.tlf.tables import _soc_pt_rows

    codes = ["A\\|B", "A\\|B|C", "A", "A|B|C"]

    class Stub:
        def rows(self, analysis, population):
            return pl.DataFrame({"paramcd": codes})

        def get(self, *a, **k):
            return 1

    out = []
    _soc_pt_rows(None, Stub(), "SAE_INCIDENCE", "SAFETY", [], lambda g, c, i: out.append((g, c, i)))
    assert out == [("A", "A", 0), ("A", "A|B|C", 1), ("A|B", "A\\|B", 0), ("A|B", "A\\|B|C", 1)]


def test_a_flag_with_no_value_on_any_adverse_event_is_not_collected_never_zero():
    """AE data without seriousness (no AESER, or an AESER column the checks added as all missing):
    'Any serious adverse event' is "not collected", and no SAE table of zeros is made; the same
    for grade (ATOXGR) and relatedness (AREL). One value is enough to count the flag."""
    from hepatrial.analysis.safety import not_collected

    blank = ADAE.with_columns(
        pl.lit(None, pl.Utf8).alias("AESER"),
        pl.lit(None, pl.Int64).alias("ATOXGR"),
        pl.lit(None, pl.Utf8).alias("AREL"),
    )
    ard = ae_summaries(blank, ADSL, STUDY)
    ov = ard.filter(pl.col("analysis") == "AE_OVERVIEW")
    for code, col in (("SERTEAE", "AESER"), ("GR3TEAE", "ATOXGR"), ("RELTEAE", "AREL")):
        rows = ov.filter(pl.col("paramcd") == code)
        assert rows["value"].null_count() == rows.height > 0, code
        assert set(rows["method"]) == {f"not collected (no {col} in the data)"}
    assert _get(ard, "AE_OVERVIEW", "ANYTEAE", "ALL", "n_subjects") == 3  # still counted
    assert ard.filter(pl.col("analysis") == "SAE_INCIDENCE").height == 0
    one = blank.with_columns(pl.Series("AESER", [None, None, "Y", None, None]))
    assert _get(ae_summaries(one, ADSL, STUDY), "AE_OVERVIEW", "SERTEAE", "ALL", "n_subjects") == 1
    assert not not_collected(ADAE.head(0), "AESER")  # no AE at all: counted 0, not "not collected"
    assert not_collected(ADAE.drop("AESER"), "AESER")


def test_related_teae_row_says_how_many_were_counted_related_for_want_of_a_relatedness():
    """S2's pyrexia has no AEREL and ADAE's conservative AREL Y: the related-TEAE row counts it
    (Active 2 of 2 subjects: S1 and S2) and its method says "1 TEAE(s)", the same on every arm's
    row, the pooled one counted once, not twice."""
    aerel = ["Related", "Possibly", "Not related", None, "Unrelated"]
    ard = ae_summaries(ADAE.with_columns(pl.Series("AEREL", aerel)), ADSL, STUDY)
    rel = ard.filter((pl.col("analysis") == "AE_OVERVIEW") & (pl.col("paramcd") == "RELTEAE"))
    assert _get(ard, "AE_OVERVIEW", "RELTEAE", "Active", "n_subjects") == 2
    assert set(rel["method"]) == {
        "subjects with related TEAE; % of SAFETY in arm"
        " (1 TEAE(s) with no relatedness recorded counted as related)"
    }
    plain = ae_summaries(ADAE.with_columns(pl.Series("AEREL", ["x"] * 5)), ADSL, STUDY)
    assert set(plain.filter(pl.col("paramcd") == "RELTEAE")["method"]) == {
        "subjects with related TEAE; % of SAFETY in arm"
    }


def test_an_aesi_by_system_organ_class_says_how_many_uncoded_aes_it_could_not_assess():
    """S3's sepsis and S2's pyrexia not yet coded (AEBODSYS empty): INFECTION (defined by the SOC
    'Infections and infestations') counts S1's sepsis only, and its method says 2 TEAEs could not
    be assessed (the pooled rows not counted twice); INFUSION (by PT) is unchanged, no note. The
    AESI table's note names the AESI."""
    from hepatrial.tlf.tables import ARD, table_aesi

    soc = ["General disorders", "General disorders", "Infections and infestations", None, None]
    ard = aesi_summaries(ADAE.with_columns(pl.Series("AEBODSYS", soc)), ADSL, EX, STUDY)
    assert _get(ard, "AESI", "INFECTION", "ALL", "n_subjects") == 1
    methods = dict(ard.select("paramcd", "method").unique().iter_rows())
    assert methods["INFECTION"].endswith(
        "; 2 TEAE(s) not coded to a system organ class (AEBODSYS) could not be assessed"
    )
    assert "could not be assessed" not in methods["INFUSION"]
    assert _get(ard, "AESI", "INFUSION", "Active", "n_subjects") == 2
    notes = " ".join(table_aesi(ARD(ard, STUDY, "2024-06-30")).footnotes)
    assert "Infections, 2 TEAE(s) not coded to a system organ class" in notes

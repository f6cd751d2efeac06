"""Cut-to-cut comparison: new subjects and events, data cleaning, estimate movement."""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.ard import ard_rows, finalise
from hepatrial.report import compare


def _dm(rows):
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "USUBJID": pl.Utf8,
            "SITEID": pl.Utf8,
            "ARM": pl.Utf8,
            "ACTARM": pl.Utf8,
            "RFICDTC": pl.Utf8,
            "DTHFL": pl.Utf8,
            "DTHDTC": pl.Utf8,
            "AGE": pl.Utf8,
            "SEX": pl.Utf8,
        },
    )


def _ae(rows):
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "USUBJID": pl.Utf8,
            "AESEQ": pl.Utf8,
            "AEDECOD": pl.Utf8,
            "AESTDTC": pl.Utf8,
            "AESER": pl.Utf8,
        },
    )


EMPTY_DS = pl.DataFrame(schema={"USUBJID": pl.Utf8, "DSDECOD": pl.Utf8, "DSSTDTC": pl.Utf8})
PREV = {
    "DM": _dm(
        [
            ("A1", "01", "X", "X", "2024-01-01", None, None, "50", "M"),
            ("A2", "01", "Y", "Y", "2024-01-02", None, None, "60", "F"),
        ]
    ),
    "DS": EMPTY_DS,
    "AE": _ae(
        [("A1", "1", "Pyrexia", "2024-02-01", "N"), ("A2", "1", "Sepsis", "2024-02-03", "Y")]
    ),
}
CUR = {
    "DM": _dm(
        [
            ("A1", "01", "X", "X", "2024-01-01", None, None, "51", "M"),
            ("A2", "01", "Y", "Y", "2024-01-02", "Y", "2024-05-01", "60", "F"),
            ("A3", "02", "X", "X", "2024-04-01", None, None, "40", "M"),
        ]
    ),
    "DS": EMPTY_DS,
    "AE": _ae(
        [
            ("A1", "1", "Pyrexia", "2024-02-01", "Y"),
            ("A1", "2", "Rash", "2024-02-20", "N"),
            ("A3", "1", "Nausea", "2024-01-15", "N"),
        ]
    ),
}


def test_new_subjects_and_events():
    assert compare.new_subjects(PREV, CUR)["USUBJID"].to_list() == ["A3"]
    ev = compare.new_events(PREV, CUR)
    assert ev.select("event", "USUBJID", "term").rows() == [
        ("DEATH", "A2", "DEATH"),
        ("SAE", "A1", "Pyrexia"),
    ]


def test_changed_vanished_and_late_records():
    ch = compare.compare_sdtm(PREV, CUR, dt.date(2024, 3, 31))
    got = ch.select("domain", "USUBJID", "kind", "column", "previous", "current").rows()
    assert ("DM", "A1", "CHANGED", "AGE", "50", "51") in got
    assert ("DM", "A2", "FILLED", "DTHFL", "", "Y") in got  # new information, not a correction
    assert ("AE", "A1", "CHANGED", "AESER", "N", "Y") in got
    assert ("AE", "A2", "VANISHED", "", "", "") in got
    # A1's rash (dated before the previous cut, not in it) is late; A3's nausea belongs to a new subject
    assert ("AE", "A1", "ADDED_LATE", "", "", "") in got
    assert not [r for r in got if r[1] == "A3"]


def test_open_summary_counts_without_treatment_fields():
    changes = pl.DataFrame(
        {
            "domain": ["DM", "DM", "EX"],
            "USUBJID": ["A1", "A2", "A1"],
            "key": ["", "", "1"],
            "kind": ["CHANGED"] * 3,
            "column": ["AGE", "ARM", "EXDOSE"],
            "previous": ["1"] * 3,
            "current": ["2"] * 3,
        }
    )
    out = compare.summarise_open(
        compare.new_subjects(PREV, CUR), compare.new_events(PREV, CUR), changes, ()
    )
    assert out.filter(pl.col("section") == "CLEANING").select("domain", "column", "n").rows() == [
        ("DM", "AGE", 1)
    ]
    assert out.filter(pl.col("item") == "new subjects")["n"][0] == 1
    assert "USUBJID" not in out.columns


def test_estimate_movement_joins_on_keys():
    rows = lambda v: finalise(
        ard_rows(
            [
                {
                    "analysis": "COX",
                    "paramcd": "OS",
                    "population": "ITT",
                    "arm": "X",  # noqa
                    "comparator": "Y",
                    "stat": "hr",
                    "value": v,
                    "method": "m",
                }
            ]
        )
    )
    out = compare.estimate_movement(rows(0.8), rows(0.6))
    assert out.select("previous", "current").rows() == [(0.8, 0.6)]
    assert abs(out["change"][0] + 0.2) < 1e-12


def test_cuts_of_adam_datasets_are_compared_on_their_datasets():
    """ADSL for new subjects, deaths (DTHDT) and transplants (LTXDT); ADAE for SAEs; a BDS
    record keyed by parameter, visit and date."""
    d = dt.date

    def adsl(rows):
        return pl.DataFrame(
            rows,
            orient="row",
            schema={"USUBJID": pl.Utf8, "SITEID": pl.Utf8, "DTHDT": pl.Date, "LTXDT": pl.Date},
        )

    def adeff(rows):
        return pl.DataFrame(
            rows,
            orient="row",
            schema={
                "USUBJID": pl.Utf8, "PARAMCD": pl.Utf8, "AVISIT": pl.Utf8, "ADT": pl.Date,
                "AVAL": pl.Float64, "BASE": pl.Float64, "CHG": pl.Float64,
            },
        )  # fmt: skip

    ae = lambda rows: _ae(rows).drop("AESEQ")  # noqa: E731  (ADAE keyed by term and date)
    prev = {
        "ADSL": adsl([("A1", "01", None, None), ("A2", "01", None, None)]),
        "ADEFF": adeff([("A1", "MELD", "WEEK 4", d(2024, 2, 1), 18.0, 20.0, -2.0)]),
        "ADAE": ae([("A1", "1", "Pyrexia", "2024-02-01", "N")]),
    }
    cur = {
        "ADSL": adsl(
            [
                ("A1", "01", None, d(2024, 5, 2)),
                ("A2", "01", d(2024, 5, 1), None),
                ("A3", "02", None, None),
            ]
        ),
        "ADEFF": adeff(
            [
                ("A1", "MELD", "WEEK 4", d(2024, 2, 1), 17.0, 20.0, -3.0),
                ("A1", "MELD", "WEEK 8", d(2024, 3, 1), 16.0, 20.0, -4.0),
            ]
        ),
        "ADAE": ae([("A1", "1", "Pyrexia", "2024-02-01", "Y")]),
    }
    assert compare.new_subjects(prev, cur).rows() == [("A3", "02", None)]
    assert compare.new_events(prev, cur).select("event", "USUBJID", "term", "date").rows() == [
        ("DEATH", "A2", "DEATH", "2024-05-01"),
        ("LIVER TRANSPLANT", "A1", "LIVER TRANSPLANT", "2024-05-02"),
        ("SAE", "A1", "Pyrexia", "2024-02-01"),
    ]
    ch = compare.compare_sdtm(prev, cur, d(2024, 3, 31))
    got = ch.select("domain", "USUBJID", "kind", "column", "previous", "current").rows()
    assert ("ADEFF", "A1", "CHANGED", "AVAL", "18.0", "17.0") in got
    assert ("ADEFF", "A1", "CHANGED", "CHG", "-2.0", "-3.0") in got
    assert ("ADEFF", "A1", "ADDED_LATE", "", "", "") in got  # WEEK 8, dated before the last cut
    assert ("ADAE", "A1", "CHANGED", "AESER", "N", "Y") in got
    assert ("ADSL", "A2", "FILLED", "DTHDT", "", "2024-05-01") in got

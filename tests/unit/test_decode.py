"""One decode table (hepatrial.spec.decode): a coded value prints as a sponsor's TLF shell writes
it, in the tables (CSV, RTF, HTML hold the same label), the listings, the figures and the DSMB
reports; a study's ``category_labels`` wins; a code the table does not know prints as it is."""

from __future__ import annotations

import dataclasses

import polars as pl
from test_tlf_data import CUT, adae, adsl, build_ard, study

from hepatrial.report import content
from hepatrial.spec.decode import CODELISTS, VARIABLES, decode
from hepatrial.spec.study import freeze
from hepatrial.tlf.tables import ARD, build_table, listing_deaths, listing_sae


def test_cdisc_submission_values_decode_to_shell_labels():
    assert decode("RACE", "ASIAN") == "Asian"
    assert decode("RACE", "BLACK OR AFRICAN AMERICAN") == "Black or African American"
    assert [decode("SEX", c) for c in ("M", "F")] == ["Male", "Female"]
    assert decode("AEOUT", "RECOVERED/RESOLVED") == "Recovered/resolved"
    assert decode("AEOUT", "NOT RECOVERED/NOT RESOLVED") == "Not recovered/not resolved"
    assert [decode("AREL", c) for c in ("Y", "N")] == ["Yes", "No"]
    assert [decode("BNRIND", c) for c in ("LOW", "NORMAL", "HIGH")] == ["Low", "Normal", "High"]
    assert decode("DCSREAS", "LOST TO FOLLOW-UP") == "Lost to follow-up"
    assert decode("ETIOLOGY", "AUTOIMMUNE") == "Autoimmune hepatitis"


def test_acronyms_and_unknown_codes_print_as_coded_and_the_study_wins():
    assert [decode("ETIOLOGY", c) for c in ("HBV", "HCV", "PBC")] == ["HBV", "HCV", "PBC"]
    assert decode("RACE", "MARTIAN") == "MARTIAN"  # not in the codelist: as it is
    assert decode("NOTAVARIABLE", "ASIAN") == "ASIAN"  # a variable without a codelist
    own = {"ETIOLOGY": {"HBV": "Hepatitis B"}, "SEX": {"M": "Men"}}
    assert decode("ETIOLOGY", "HBV", own) == "Hepatitis B"
    assert decode("SEX", "M", own) == "Men" and decode("SEX", "F", own) == "Female"


def test_every_variable_names_a_codelist_and_labels_are_not_codes():
    assert set(VARIABLES.values()) <= set(CODELISTS)
    for name, codes in CODELISTS.items():
        for code, label in codes.items():
            # a label is written as a shell prints it: never the all-capitals submission value
            assert label != code and not label.isupper(), (name, code, label)


def test_lab_shift_prints_reference_range_labels(tmp_path):
    st = study(tmp_path)
    t = build_table("lab_shift", ARD(build_ard(st), st, CUT), "r")
    assert t.columns[:3] == [
        "Worst post-baseline: Low",
        "Worst post-baseline: Normal",
        "Worst post-baseline: High",
    ]
    labels = {r.label for r in t.rows}
    assert "Baseline: High" in labels and not any("HIGH" in x or "NORMAL" in x for x in labels)


def test_listings_print_outcome_relatedness_and_reason_as_labels(tmp_path):
    st = study(tmp_path)
    sae = listing_sae(adae(), adsl(), st, CUT)
    col = {c: i for i, c in enumerate(sae.columns)}
    assert [r.cells[col["Outcome"]] for r in sae.rows] == ["Fatal", "RECOVERED"]  # not CT: as is
    assert [r.cells[col["Related"]] for r in sae.rows] == ["No", "Yes"]
    deaths = listing_deaths(adsl(), adae(), st, CUT)
    assert deaths.rows[0].cells[deaths.columns.index("Reason (disposition)")] == "Death"
    own = dataclasses.replace(st, category_labels=freeze({"AEOUT": {"FATAL": "Died"}}))
    assert listing_sae(adae(), adsl(), own, CUT).rows[0].cells[col["Outcome"]] == "Died"


def test_report_listing_and_tables_print_labels(tmp_path):
    saes = pl.DataFrame(
        {
            "USUBJID": ["S1", "S2"],
            "AEDECOD": ["Sepsis", "Ascites"],
            "AEOUT": ["FATAL", "RECOVERED/RESOLVED"],
            "TRTEMFL": ["Y", "N"],
        }
    )
    t = content.listing_table("SAEs", saes, False, content.SAE_LISTING, None, "", {})
    assert t.rows == [
        ["S1", "Sepsis", "Fatal", "Yes"],
        ["S2", "Ascites", "Recovered/resolved", "No"],
    ]
    own = {"AEOUT": {"FATAL": "Died"}}
    t = content.listing_table("SAEs", saes, False, content.SAE_LISTING, None, "", own)
    assert t.rows[0][2] == "Died"
    # the report's baseline table is the TLF table: the same labels
    st = study(tmp_path)
    rep = content.from_tlf(build_table("baseline", ARD(build_ard(st), st, CUT), "r"))
    cells = {r[0] for r in rep.rows}
    assert {"Asian", "Male", "Female", "HBV"} <= cells and not {"ASIAN", "M", "F"} & cells

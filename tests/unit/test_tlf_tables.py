"""Tables from the ARD: every number shown is an ARD value after formatting (read back from the CSV)."""

from __future__ import annotations

import csv
import math
import re

import polars as pl
import pytest
from test_tlf_data import CUT, adae, adsl, build_ard, study

from hepatrial.tlf import format as F
from hepatrial.tlf.render import write_csv
from hepatrial.tlf.tables import ARD, TABLES, build_table, listing_deaths, listing_sae

NUM = re.compile(r"-?\d+(?:\.\d+)?")
# dlt: dose-escalation designs only (tests/unit/test_dlt.py checks its cells)
SUMMARY = sorted(set(TABLES) - {"dlt"}) + [
    "mmrm_MELD",
    "desc_MELD",
    "desc_BILI",
    "resp_shift_CTPIMP",
]


@pytest.fixture(scope="module")
def parallel(tmp_path_factory):
    st = study(tmp_path_factory.mktemp("p"))
    return ARD(build_ard(st), st, CUT)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    st = study(tmp_path_factory.mktemp("s"), "single_arm")
    return ARD(build_ard(st), st, CUT)


def read_back(table, tmp_path) -> list[dict]:
    path = tmp_path / f"{table.name}.csv"
    write_csv(table, path)
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def cell(rows, group, label, column):
    hits = [r[column] for r in rows if r["group"] == group and r["label"] == label]
    assert len(hits) == 1, (group, label, hits)
    return hits[0]


def formatted_values(ard: ARD, analyses: list[str]) -> set[str]:
    """Every ARD value of ``analyses`` as any of the table formats could show it."""
    out = set()
    for v in ard.df.filter(pl.col("analysis").is_in(analyses))["value"].to_list():
        if v is None or math.isnan(v):
            continue
        out |= {F.fmt_rounded(v, d) for d in range(5)}
        out.add(F.fmt_rounded(100 * v, 1))  # survival and cumulative incidence shown as %
    return out


@pytest.mark.parametrize("name", SUMMARY)
def test_every_number_in_the_table_is_a_formatted_ard_value(name, parallel, tmp_path):
    table = build_table(name, parallel, "tlf_test")
    analyses = re.match(r"Source: ARD analyses (.*?); rule", table.source).group(1).split(", ")
    allowed = formatted_values(parallel, analyses)
    rows = read_back(table, tmp_path)
    assert rows, name
    checked = 0
    for r in rows:
        for col in table.columns:
            text = r[col].replace("<0.001", "").replace(">0.999", "")
            if text == "0" and "0" not in allowed:
                # AE_INCIDENCE has no row for an arm without the event: the table shows 0
                arm = next(
                    a
                    for a in parallel.arms + ["ALL"]
                    if col.startswith(a if a != "ALL" else "Total")
                )
                # SOC row, or a PT row keyed SOC|PT
                code = r["label"] if r["label"] == r["group"] else f"{r['group']}|{r['label']}"
                assert (
                    name == "ae_soc_pt"
                    and parallel.get("AE_INCIDENCE", code, arm, "n_subjects", "SAFETY") is None
                ), (name, r, col)
                continue
            for token in NUM.findall(text):
                assert token in allowed, (name, r["group"], r["label"], col, r[col])
                checked += 1
    assert checked > 0, name
    for col in table.columns:  # the N of every column header is the ARD BIGN
        m = re.search(r"\(N=(\d+)\)", col)
        if m:
            assert m.group(1) in formatted_values(parallel, ["BIGN"])


def test_headers_carry_n_per_arm_in_config_order_then_total(parallel):
    assert build_table("baseline", parallel, "r").columns == [
        "UC-MSC (N=3)",
        "Placebo (N=3)",
        "Total (N=6)",
    ]
    assert build_table("ae_overview", parallel, "r").columns == [
        "UC-MSC (N=3)",
        "Placebo (N=2)",
        "Total (N=5)",
    ]
    assert build_table("mmrm_MELD", parallel, "r").columns == ["UC-MSC (N=3)", "Placebo (N=3)"]


def test_baseline_cells(parallel, tmp_path):
    rows = read_back(build_table("baseline", parallel, "r"), tmp_path)
    assert (
        cell(rows, "Age (years)", "Mean (SD)", "UC-MSC (N=3)") == "52.0 (8.19)"
    )  # mean 52, SD sqrt(67)
    assert cell(rows, "Age (years)", "Min, Max", "Total (N=6)") == "38, 70"
    assert cell(rows, "Sex, n (%)", "Missing", "Placebo (N=3)") == "1 (33.3)"
    assert cell(rows, "Sex, n (%)", "Missing", "UC-MSC (N=3)") == "0"
    assert cell(rows, "MELD at baseline", "n", "Placebo (N=3)") == "2"
    # every CTP class is listed, the absent one with zero counts from the ARD
    assert [r["label"] for r in rows if r["group"] == "CTP class at baseline, n (%)"] == [
        "A",
        "B",
        "C",
    ]
    assert cell(rows, "CTP class at baseline, n (%)", "A", "Total (N=6)") == "0"


def test_disposition_cells_and_footnotes(parallel, tmp_path):
    t = build_table("disposition", parallel, "tlf_disposition")
    rows = read_back(t, tmp_path)
    assert cell(rows, "", "Randomised (ITT)", "Total (N=6)") == "6 (100.0)"
    assert cell(rows, "", "Discontinued the study", "UC-MSC (N=3)") == "1 (33.3)"
    assert cell(rows, "", "Death", "UC-MSC (N=3)") == "1 (33.3)"
    assert cell(rows, "", "Treated (at least one infusion)", "Placebo (N=3)") == "2 (66.7)"
    assert any("Percentages are of the ITT subjects in the column" in f for f in t.footnotes)
    assert "rule tlf_disposition" in t.source and CUT in t.source


def test_mmrm_cells_decimals_p_and_covariance(parallel, tmp_path):
    t = build_table("mmrm_MELD", parallel, "r")
    rows = read_back(t, tmp_path)
    assert cell(rows, "WEEK 8", "LS mean (SE)", "UC-MSC (N=3)") == "-2.6 (0.46)"
    assert cell(rows, "WEEK 8", "95% CI", "Placebo (N=3)") == "(-0.6, 1.5)"
    assert cell(rows, "WEEK 8", "Difference vs Placebo (SE)", "UC-MSC (N=3)") == "-3.0 (0.64)"
    assert cell(rows, "WEEK 8", "Difference vs Placebo (SE)", "Placebo (N=3)") == ""
    assert cell(rows, "WEEK 8", "p-value", "UC-MSC (N=3)") == "<0.001"
    assert cell(rows, "WEEK 4", "p-value", "UC-MSC (N=3)") == "0.052"
    assert [r["group"] for r in rows][0] == "WEEK 4"
    # the model in SAP words (the literal MMRM_FIT method is the structure alone), no formula
    assert any(
        f.startswith("Mixed model for repeated measures (MMRM) of the change from baseline in MELD")
        and "heterogeneous Toeplitz covariance matrix" in f
        for f in t.footnotes
    )
    assert not any("~" in f or "REML Satterthwaite" in f for f in t.footnotes)


def test_km_table_of_a_time_to_event_primary_endpoint(tmp_path):
    """A study whose primary endpoint is DECOMP with its KM estimate at day 56: DECOMP comes
    first, its group and that landmark's row say "(primary endpoint)" (from the ARD methods the
    survival step marks), the day-28 row and TFS do not, and the numbers are those of the same
    table of a study with an MMRM primary."""
    base = study(tmp_path)
    ep = {**base.to_dict()["endpoints"], "primary_param": "DECOMP", "primary_landmark_days": 56}
    st = base.replace(endpoints=ep)
    assert st.primary_is_tte
    ard = ARD(build_ard(st), st, CUT)
    rows = read_back(build_table("km", ard, "r"), tmp_path)
    groups = list(dict.fromkeys(r["group"] for r in rows))
    assert groups == [
        "Time to first new decompensation (primary endpoint)",
        "Transplant-free survival",
    ]
    primary = [r["label"] for r in rows if "(primary endpoint)" in r["label"]]
    assert primary == ["Event-free at day 56 (week 8) (primary endpoint), % (95% CI)"]
    # the same cells as the table of the MMRM-primary study, row for row
    (tmp_path / "plain").mkdir()
    plain = read_back(build_table("km", ARD(build_ard(base), base, CUT), "r"), tmp_path / "plain")
    key = lambda r: (
        r["group"].replace(" (primary endpoint)", ""),  # noqa: E731
        r["label"].replace(" (primary endpoint)", ""),
    )
    cols = [c for c in rows[0] if c not in ("group", "label")]
    assert {key(r): [r[c] for c in cols] for r in rows} == {
        key(r): [r[c] for c in cols] for r in plain
    }
    assert not any("primary endpoint" in r["group"] + r["label"] for r in plain)


def test_km_risk_counts_and_comparisons(parallel, tmp_path):
    rows = read_back(build_table("km", parallel, "r"), tmp_path)
    for arm, col in (
        ("UC-MSC", "UC-MSC (N=3)"),
        ("Placebo", "Placebo (N=3)"),
        ("ALL", "Total (N=6)"),
    ):
        n = parallel.get("KM", "TFS", arm, "n_risk", "ITT", time=28.0)
        assert cell(
            rows, "Transplant-free survival", "At risk at day 28 (week 4)", col
        ) == F.fmt_int(n)
    assert cell(rows, "Transplant-free survival", "Events, n (%)", "Total (N=6)") == "2 (33.3)"
    assert cell(rows, "Transplant-free survival", "Censored, n (%)", "UC-MSC (N=3)") == "2 (66.7)"
    # the survival rule writes KM_EVENTS for every parameter, so every group shows its events
    assert {r["group"] for r in rows if r["label"].startswith("Events")} == {
        r["group"] for r in rows
    }
    labels = [r["label"] for r in rows if r["group"] == "Transplant-free survival"]
    assert any(lab.startswith("Log-rank test p-value") for lab in labels)
    assert any(lab.startswith("Hazard ratio vs Placebo (95% CI)") for lab in labels)


def test_ae_soc_pt_sorted_by_frequency_with_events(parallel, tmp_path):
    rows = read_back(build_table("ae_soc_pt", parallel, "r"), tmp_path)
    assert rows[0]["label"] == "Any TEAE" and rows[0]["group"] == ""  # the "any" row first
    assert (
        cell(rows, "", "Any TEAE", "Total (N=5)")
        == F.fmt_n_pct(
            parallel.get("AE_OVERVIEW", "ANYTEAE", "ALL", "n_subjects", "SAFETY"),
            parallel.get("AE_OVERVIEW", "ANYTEAE", "ALL", "pct", "SAFETY"),
        )
        + " ["
        + F.fmt_int(parallel.get("AE_OVERVIEW", "ANYTEAE", "ALL", "n_events", "SAFETY"))
        + "]"
    )
    socs = list(dict.fromkeys(r["group"] for r in rows[1:]))
    assert socs == [
        "General disorders and administration site conditions",
        "Hepatobiliary disorders",
    ]
    gen = [r["label"] for r in rows if r["group"] == socs[0]]
    assert gen == [socs[0], "Pyrexia", "Fatigue"]
    assert cell(rows, socs[0], "Pyrexia", "UC-MSC (N=3)") == "1 (33.3) [2]"
    assert cell(rows, socs[0], "Pyrexia", "Placebo (N=2)") == "1 (50.0) [1]"
    assert cell(rows, socs[0], "Fatigue", "Placebo (N=2)") == "0"


def test_lab_shift_and_abnormal_cells(parallel, tmp_path):
    rows = read_back(build_table("lab_shift", parallel, "r"), tmp_path)
    g = "Total bilirubin (umol/L): UC-MSC (N=3)"
    assert cell(rows, g, "Baseline: High", "Worst post-baseline: Normal") == "1 (33.3)"
    assert cell(rows, g, "Total", "Total") == "3 (100.0)"
    rows = read_back(build_table("lab_abn", parallel, "r"), tmp_path)
    assert cell(rows, "Total bilirubin (umol/L)", "WEEK 4", "Placebo (N=2)") == "2/2 (100.0)"
    assert cell(rows, "Total bilirubin (umol/L)", "WEEK 4", "Total (N=5)") == "2/4 (50.0)"


def test_desc_table_observed_and_change(parallel, tmp_path):
    rows = read_back(build_table("desc_MELD", parallel, "r"), tmp_path)
    # WEEK 8 change: UC-MSC -3, -3 -> mean -3.0 (SD 0.00)
    labels = [(r["group"], r["label"]) for r in rows]
    i = labels.index(("WEEK 8", "Change from baseline"))
    assert rows[i + 2]["label"] == "Mean (SD)" and rows[i + 2]["UC-MSC (N=3)"] == "-3.0 (0.00)"
    assert rows[i + 1]["Placebo (N=3)"] == "3"


def test_single_arm_design_has_no_comparisons(single, tmp_path):
    km = read_back(build_table("km", single, "r"), tmp_path)
    assert not any(r["label"].startswith(("Log-rank", "Hazard", "Cox")) for r in km)
    cif = read_back(build_table("cif", single, "r"), tmp_path)
    assert not any("Gray" in r["label"] for r in cif)
    sub = build_table("subgroup", single, "r")
    assert sub.rows[0].label.startswith("No data")
    assert build_table("baseline", single, "r").columns == [
        "UC-MSC (N=3)",
        "Placebo (N=3)",
        "Total (N=6)",
    ]


def test_mmrm_without_differences_shows_ls_means_only(parallel):
    df = parallel.df.filter(pl.col("analysis") != "MMRM_DIFF")
    t = build_table("mmrm_MELD", ARD(df, parallel.study, CUT), "r")
    assert t.rows and not any(r.label.startswith(("Difference", "p-value")) for r in t.rows)


def test_table_without_ard_rows_says_so(parallel):
    t = build_table("mmrm_CTPSCORE", parallel, "r")
    assert [r.label for r in t.rows] == ["No data for this table in the ARD of this cut."]


def test_unknown_table_name_is_a_user_error(parallel):
    from hepatrial.errors import HepatrialError

    with pytest.raises(HepatrialError, match="unknown table"):
        build_table("nonsense", parallel, "r")


def test_listings_from_adam(tmp_path, parallel):
    st = parallel.study
    sae = read_back(listing_sae(adae(), adsl(), st, CUT), tmp_path)
    assert [(r["group"], r["label"], r["Grade"]) for r in sae] == [
        ("UC-MSC", "S3", "5"),
        ("Placebo", "S4", "3"),
    ]
    assert sae[0]["Preferred term (reported term)"] == "Hepatic failure (liver failure {acute})"
    deaths = read_back(listing_deaths(adsl(), adae(), st, CUT), tmp_path)
    assert len(deaths) == 1
    assert (deaths[0]["label"], deaths[0]["Date of death"], deaths[0]["Study day"]) == (
        "S3",
        "2024-03-01",
        "52",
    )
    assert deaths[0]["Fatal AE (preferred term)"] == "Hepatic failure"
    assert "Randomised" in deaths[0]


def test_a_design_counted_from_the_first_dose_says_so(tmp_path, single):
    """A single-arm design counted from the first dose: the deaths listing shows the first dose
    (ADSL ORIGDT, the origin of a design without randomisation), not an empty randomisation date, and the footnotes of the listing and the KM
    table count from the first dose; the disposition table's first row is the subjects enrolled
    and dosed (ITTFL of a design without randomisation)."""
    st = single.study.replace(origin="first_dose")
    t = listing_deaths(adsl(), adae(), st, CUT)
    deaths = read_back(t, tmp_path)
    s3 = adsl().filter(pl.col("USUBJID") == "S3").row(0, named=True)
    assert s3["ORIGDT"] is not None  # a design without randomisation: the first dose
    assert deaths[0]["First dose"] == str(s3["ORIGDT"]) and "Randomised" not in deaths[0]
    assert any("Study day from the first dose (day 1)" in f for f in t.footnotes)
    assert not any("randomis" in f for f in t.footnotes)
    a = ARD(single.df, st, CUT)
    km = build_table("km", a, "r")
    assert any(f.startswith("Time from the first dose in days.") for f in km.footnotes)
    disp = read_back(build_table("disposition", a, "r"), tmp_path)
    assert disp[0]["label"] == "Enrolled and dosed (ITT)"


def _methods(t) -> list[str]:
    return [n for n in t.footnotes if n.startswith("Methods:")]


def test_mmrm_methods_say_the_model_once_and_the_endpoint_role_sits_in_the_rows(parallel):
    """The endpoint roles the ARD adds to a visit's difference ("UN REML Satterthwaite; PRIMARY
    ENDPOINT") mark the visit's rows, not the Methods footnote: the model is said once, in words,
    and no "Methods:" line repeats it as a code."""
    df = parallel.df.with_columns(
        pl.when((pl.col("analysis") == "MMRM_DIFF") & (pl.col("avisit") == "WEEK 8"))
        .then(pl.col("method") + "; PRIMARY ENDPOINT")
        .when((pl.col("analysis") == "MMRM_DIFF") & (pl.col("avisit") == "WEEK 4"))
        .then(pl.col("method") + "; KEY SECONDARY ENDPOINT")
        .otherwise(pl.col("method"))
        .alias("method")
    )
    ard = ARD(df, parallel.study, parallel.cut)
    t = build_table("mmrm_MELD", ard, "tlf_x")
    groups = {r.group for r in t.rows}
    assert "WEEK 8 (primary endpoint)" in groups and "WEEK 4 (key secondary endpoint)" in groups
    text = " ".join(t.footnotes)
    assert "ENDPOINT" not in text and "UN REML" not in text
    assert _methods(t) == []
    model = [n for n in t.footnotes if n.startswith("Mixed model for repeated measures")]
    assert len(model) == 1


def test_ae_overview_has_one_methods_sentence(parallel):
    """Six rows, six ARD methods ("subjects with serious TEAE; % of SAFETY in arm", ...): one
    sentence in SAP words, the same on every build."""
    t = build_table("ae_overview", parallel, "tlf_x")
    (note,) = _methods(t)
    assert note.count(". ") == 0 and note.endswith(".")
    assert "% of SAFETY" not in note and "not collected" not in note.lower()
    assert "percentages of the safety population" in note
    shuffled = ARD(parallel.df.reverse(), parallel.study, parallel.cut)
    assert _methods(build_table("ae_overview", shuffled, "tlf_x")) == [note]


def test_aesi_onset_without_events_is_not_estimable_not_blank(parallel):
    """An AE of special interest without events (n = 0) keeps its onset row, shown NE (not
    estimable, the tables' convention) in every column, with NE explained; no cell is blank."""
    t = build_table("aesi", parallel, "tlf_x")
    zero = {r.group for r in t.rows if r.label.startswith("Subjects") and set(r.cells) == {"0"}}
    assert zero, "the fixture has an AESI without events"
    for r in t.rows:
        assert all(c.strip() for c in r.cells), r
        if r.group in zero and r.label.startswith("Days from the most recent infusion"):
            assert r.cells == [F.NE] * len(t.columns)
    assert any("NE: not estimable" in n for n in t.footnotes)


def test_baseline_categories_print_as_decoded_labels_and_the_study_can_relabel(tmp_path):
    """CDISC codes print as a TLF shell writes them ('ASIAN' -> 'Asian', 'ALCOHOL' ->
    'Alcohol'), acronyms as they are (HBV, PBC); a study's `category_labels` wins."""
    import dataclasses

    from hepatrial.spec.study import freeze

    st = study(tmp_path)
    t = build_table("baseline", ARD(build_ard(st), st, CUT), "r")
    labels = {(r.group, r.label) for r in t.rows}
    assert ("Race, n (%)", "Asian") in labels and ("Race, n (%)", "ASIAN") not in labels
    assert sorted(lab for g, lab in labels if g.startswith("Etiology")) == ["Alcohol", "HBV", "PBC"]
    own = dataclasses.replace(st, category_labels=freeze({"ETIOLOGY": {"HBV": "Hepatitis B"}}))
    t2 = build_table("baseline", ARD(build_ard(own), own, CUT), "r")
    etio = sorted(r.label for r in t2.rows if r.group.startswith("Etiology"))
    assert etio == ["Alcohol", "Hepatitis B", "PBC"]


def test_an_mmrm_not_estimable_says_why_in_words_not_as_a_garbled_model(parallel):
    """A primary-endpoint MMRM that converged under no covariance structure (a simulated RCT of 8
    subjects): the table said "No data for this table" and its footnote read the reason as a model
    ("not for the visits within a subject, estimated by estimable:, ..."). Now its one row gives
    the reason's first clause (the ARD's method may be cut short) and the note says no model
    could be estimated, from how many subjects and observations."""
    from hepatrial.analysis.mmrm import _not_estimable

    reason = (
        "MMRM did not converge under any covariance structure: UN: fitted covariance matrix is "
        "singular (boundary); TOEPH: fitted covariance matrix is sin"
    )
    df = parallel.df.filter(
        ~(pl.col("analysis").str.starts_with("MMRM") & (pl.col("paramcd") == "MELD"))
    )
    df = pl.concat([df, _not_estimable("MELD", "ITT", reason, 7, 32)], how="diagonal_relaxed")
    t = build_table("mmrm_MELD", ARD(df, parallel.study, CUT), "r")
    assert [r.label for r in t.rows] == [
        "Not estimable: MMRM did not converge under any covariance structure"
    ]
    notes = " ".join(t.footnotes)
    assert (
        "No model could be estimated from the 7 subjects and 32 post-baseline observations."
        in notes
    )
    assert "estimated by estimable" not in notes and "Mixed model for repeated" not in notes

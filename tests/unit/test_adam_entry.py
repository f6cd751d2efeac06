"""A cut of ADaM datasets (hepatrial.adam.entry): bad input stops with one line naming file, row and
column; a row that cannot be analysed ends in the exclusions with a reason; the sponsor's values are
used as given."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import tinycut

from hepatrial.adam.entry import import_adam_cut
from hepatrial.errors import DataContractError
from hepatrial.ingest.read import is_adam_cut

ADSL = [
    {"STUDYID": "TINY", "USUBJID": "T-001", "SITEID": "01", "TRT01P": "UC-MSC", "ITTFL": "Y",
     "SAFFL": "Y", "CTPSTRAT": "B", "ETIOLOGY": "HBV", "RANDDT": "2024-01-10", "AGE": "50",
     "SEX": "M", "RACE": "ASIAN", "TRTSDT": "2024-01-11", "EOSSTT": "ONGOING"},
    {"STUDYID": "TINY", "USUBJID": "T-002", "SITEID": "01", "TRT01P": "placebo", "ITTFL": "Y",
     "SAFFL": "Y", "CTPSTRAT": "C", "ETIOLOGY": "HBV", "RANDDT": "2024-01-12", "AGE": "61",
     "SEX": "F", "RACE": "ASIAN", "TRTSDT": "2024-01-12", "EOSSTT": "ONGOING"},
]  # fmt: skip
ADEFF = [
    {"USUBJID": "T-001", "PARAMCD": "MELDKAM", "AVISIT": "BASELINE", "AVISITN": "0", "AVAL": "20",
     "BASE": "20", "CHG": "", "ABLFL": "Y", "ANL01FL": "Y", "ADT": "2024-01-10"},
    {"USUBJID": "T-001", "PARAMCD": "MELDKAM", "AVISIT": "WEEK 4", "AVISITN": "4", "AVAL": "17",
     "BASE": "20", "CHG": "-3", "ABLFL": "", "ANL01FL": "Y", "ADT": "2024-02-07"},
    {"USUBJID": "T-002", "PARAMCD": "MELDKAM", "AVISIT": "BASELINE", "AVISITN": "0", "AVAL": "25",
     "BASE": "25", "CHG": "", "ABLFL": "Y", "ANL01FL": "Y", "ADT": "2024-01-12"},
]  # fmt: skip
ADTTE = [
    {"USUBJID": "T-001", "PARAMCD": "OS", "STARTDT": "2024-01-10", "ADT": "2024-06-30",
     "AVAL": "172", "CNSR": "1"},
    {"USUBJID": "T-002", "PARAMCD": "OS", "STARTDT": "2024-01-12", "ADT": "2024-03-01",
     "AVAL": "49", "CNSR": "0"},
]  # fmt: skip


def _cut(tmp_path: Path, **changes) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = {"adsl": ADSL, "adeff": ADEFF, "adtte": ADTTE} | changes
    cut = tmp_path / "2024-06-30"
    cut.mkdir()
    for name, rows in data.items():
        if rows is not None:
            pl.DataFrame(rows, schema={k: pl.Utf8 for k in rows[0]}).write_csv(cut / f"{name}.csv")
    return cut, tinycut.write_study(tmp_path / "study.yaml")


def _run(tmp_path, **changes) -> Path:
    cut, study = _cut(tmp_path, **changes)
    import_adam_cut(cut, study, tmp_path / "res", "2024-06-30")
    return tmp_path / "res"


def test_a_cut_with_adsl_and_no_dm_is_a_cut_of_adam_datasets():
    assert is_adam_cut([Path("c/adsl.csv"), Path("c/adeff.parquet")])
    assert not is_adam_cut([Path("c/dm.csv"), Path("c/adsl.csv")])  # SDTM: ADSL not used
    assert not is_adam_cut([Path("c/dm.csv")])


def test_the_datasets_in_the_analyses_layout(tmp_path):
    res = _run(tmp_path)
    adsl = pl.read_parquet(res / "adam/adsl_core.parquet")
    # the config's spelling of the arm, its code (arms in config order: UC-MSC 1, Placebo 2)
    assert adsl.select("USUBJID", "TRT01P", "TRT01PN", "TRT01A").rows() == [
        ("T-001", "UC-MSC", 1, "UC-MSC"),
        ("T-002", "Placebo", 2, "Placebo"),
    ]
    assert adsl["ORIGDT"].cast(pl.Utf8).to_list() == ["2024-01-10", "2024-01-12"]  # RANDDT
    eff = pl.read_parquet(res / "adam/adeff.parquet")
    # each record takes its subject's arm and flags from ADSL; ADY = ADT - ORIGDT + 1 (on/after)
    assert eff.select("USUBJID", "AVISIT", "TRT01P", "ITTFL", "ADY", "CHG", "ABLFL").rows() == [
        ("T-001", "BASELINE", "UC-MSC", "Y", 1, None, "Y"),
        ("T-001", "WEEK 4", "UC-MSC", "Y", 29, -3.0, None),
        ("T-002", "BASELINE", "Placebo", "Y", 1, None, "Y"),
    ]
    tte = pl.read_parquet(res / "adam/adtte.parquet")
    # no CRCODE given: an event is the event of interest (1), a censored record 0
    assert tte.select("USUBJID", "AVAL", "CNSR", "CRCODE").rows() == [
        ("T-001", 172.0, 1, 0),
        ("T-002", 49.0, 0, 1),
    ]
    for dom in ("dm", "ex", "sv", "pr"):  # SDTM: no records, the columns the steps read
        assert pl.read_parquet(res / f"sdtm/{dom}.parquet").height == 0


def test_a_missing_required_column_is_one_line_naming_it(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "TRT01P"} for r in ADSL]
    with pytest.raises(DataContractError) as e:
        _run(tmp_path, adsl=rows)
    assert str(e.value) == "file adsl.csv, column TRT01P: required column TRT01P is missing"


def test_a_population_flag_the_config_names_is_required(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "SAFFL"} for r in ADSL]
    with pytest.raises(DataContractError, match="column SAFFL: required column SAFFL is missing"):
        _run(tmp_path, adsl=rows)


def test_an_unknown_arm_stops_naming_the_row(tmp_path):
    rows = [dict(r) for r in ADSL]
    rows[1]["TRT01P"] = "UC-MSC lot 7"
    with pytest.raises(DataContractError) as e:
        _run(tmp_path, adsl=rows)
    assert str(e.value).startswith("file adsl.csv, row 2, column TRT01P: treatment is not an arm")


@pytest.mark.parametrize(
    ("name", "rows", "where"),
    [
        ("adsl", [ADSL[0], ADSL[0]], "file adsl.csv, row 1, column USUBJID: duplicate USUBJID"),
        (
            "adeff",
            [*ADEFF, {**ADEFF[1], "AVAL": "18"}],
            "file adeff.csv, row 2, column AVISIT: two analysed records",
        ),
        ("adtte", [ADTTE[0], ADTTE[0]], "file adtte.csv, row 1, column PARAMCD: two records"),
    ],
)
def test_ambiguous_records_stop(tmp_path, name, rows, where):
    with pytest.raises(DataContractError) as e:
        _run(tmp_path, **{name: rows})
    assert str(e.value).startswith(where), str(e.value)


def test_rows_that_cannot_be_analysed_are_listed_with_a_reason(tmp_path):
    eff = [*ADEFF, {**ADEFF[0], "USUBJID": "T-999"}]
    tte = [ADTTE[0], {**ADTTE[1], "CNSR": ""}]
    res = _run(tmp_path, adeff=eff, adtte=tte)
    excl = pl.read_csv(res / "validation/exclusions.csv")
    assert excl.select("domain", "row", "USUBJID", "reason").rows() == [
        ("ADEFF", 4, "T-999", "subject not in ADSL"),
        ("ADTTE", 2, "T-002", "AVAL or CNSR missing: the record cannot be analysed"),
    ]
    assert pl.read_parquet(res / "adam/adeff.parquet").height == 3
    acct = pl.read_csv(res / "validation/accounting.csv")
    kept = acct.filter(pl.col("category") == "rows_kept").select("domain", "n").rows()
    assert kept == [("ADSL", 2), ("ADEFF", 3), ("ADTTE", 1)]
    trace = pl.read_csv(res / "validation/traceability.csv")
    assert trace["unaccounted"].to_list() == [0, 0, 0]


def test_a_value_that_is_not_a_number_is_a_finding_and_missing(tmp_path):
    eff = [dict(r) for r in ADEFF]
    eff[1]["AVAL"] = "seventeen"
    res = _run(tmp_path, adeff=eff)
    f = pl.read_csv(res / "validation/findings.csv").filter(pl.col("rule") == "NOT_NUMERIC")
    assert f.select("domain", "file", "row", "column", "value").rows() == [
        ("ADEFF", "adeff.csv", 2, "AVAL", "seventeen")
    ]
    eff = pl.read_parquet(res / "adam/adeff.parquet")
    assert eff.filter(pl.col("AVISIT") == "WEEK 4")["AVAL"].to_list() == [None]


ESTIMAND = """
estimands:
  - id: PRIMARY
    label: "Treatment policy (MAR)"
    endpoint: {{param: MELDKAM}}
    intercurrent_events:
      - {{event: {event}, strategy: treatment_policy, assumption: MAR{terms}}}
    methods: [{{method: condmean, resampling: jackknife}}]
"""


@pytest.mark.parametrize(
    ("event", "terms", "message"),
    [
        (
            "treatment_discontinuation",
            "",
            "file adsl.csv, column NINFUS: required column NINFUS is missing (the study config's "
            "estimands have the intercurrent event treatment_discontinuation",
        ),
        (
            "death",
            "",
            "file adsl.csv, column DTHDT: required column DTHDT is missing (the study config's "
            "estimands have the intercurrent event death, dated by ADSL DTHDT",
        ),
        (
            "transplant",
            "",
            "file adsl.csv, column LTXDT: required column LTXDT is missing (the study config's "
            "estimands have the intercurrent event transplant, dated by ADSL LTXDT",
        ),
        (
            "rescue",
            ", terms: [TIPS]",
            "file adsl.csv: the study config's estimands have the intercurrent event rescue, "
            "derived from the PR or CM domain, which a cut of ADaM datasets does not hold",
        ),
    ],
)
def test_an_intercurrent_event_without_its_source_stops(tmp_path, event, terms, message):
    """Without NINFUS every subject would look discontinued, without PR every one rescue-free."""
    cut, _ = _cut(tmp_path)
    study = tinycut.write_study(
        tmp_path / "study.yaml",
        tinycut.STUDY_YAML + ESTIMAND.format(event=event, terms=terms),
    )
    with pytest.raises(DataContractError) as e:
        import_adam_cut(cut, study, tmp_path / "res", "2024-06-30")
    assert str(e.value).startswith(message), str(e.value)


def test_records_after_the_data_cut_leave_it(tmp_path):
    """As for SDTM: a BDS record dated after the cut is excluded; the sponsor's ADTTE is analysed
    as given, with a WARNING where it runs past the cut."""
    eff = [*ADEFF, {**ADEFF[1], "AVISIT": "WEEK 8", "AVISITN": "8", "ADT": "2024-07-15"}]
    tte = [ADTTE[0], {**ADTTE[1], "ADT": "2024-07-02", "AVAL": "172"}]
    res = _run(tmp_path, adeff=eff, adtte=tte)
    excl = pl.read_csv(res / "validation/exclusions.csv")
    assert excl.select("domain", "row", "reason").rows() == [
        ("ADEFF", 4, "dated after the data cut")
    ]
    f = pl.read_csv(res / "validation/findings.csv").filter(pl.col("rule") == "TTE_AFTER_CUT")
    assert f.select("file", "row", "column", "value").rows() == [
        ("adtte.csv", 2, "ADT", "2024-07-02")
    ]
    assert pl.read_parquet(res / "adam/adtte.parquet").height == 2


def test_visits_in_the_configs_spelling_and_order(tmp_path):
    """ "Week 4" is the config's WEEK 4 (INFO); an AVISITN other than the config's is replaced by
    it (WARNING: it sets the visit order); a visit the config lacks is kept (INFO)."""
    eff = [dict(r) for r in ADEFF]
    eff[1]["AVISIT"], eff[1]["AVISITN"] = "Week 4", "5"
    eff.append({**ADEFF[1], "AVISIT": "UNSCHEDULED", "AVISITN": "99", "ANL01FL": ""})
    res = _run(tmp_path, adeff=eff)
    f = pl.read_csv(res / "validation/findings.csv").filter(pl.col("domain") == "ADEFF")
    assert f.select("severity", "rule", "row", "column", "value").sort("rule").rows() == [
        ("WARNING", "AVISITN_NOT_CONFIG", 2, "AVISITN", "5"),
        ("INFO", "AVISIT_NOT_IN_CONFIG", 4, "AVISIT", "UNSCHEDULED"),
        ("INFO", "VISIT_CASE", 2, "AVISIT", "Week 4"),
    ]
    eff = pl.read_parquet(res / "adam/adeff.parquet")
    assert eff.select("AVISIT", "AVISITN").rows() == [
        ("BASELINE", 0.0),
        ("WEEK 4", 4.0),
        ("UNSCHEDULED", 99.0),
        ("BASELINE", 0.0),
    ]


def test_the_same_visit_in_two_spellings_is_two_analysed_records(tmp_path):
    eff = [*ADEFF, {**ADEFF[1], "AVISIT": "week 4", "AVAL": "18"}]
    with pytest.raises(DataContractError) as e:
        _run(tmp_path, adeff=eff)
    assert str(e.value).startswith("file adeff.csv, row 2, column AVISIT: two analysed records")


def test_the_open_reports_gate_knows_adsls_treatment_words(tmp_path):
    """A cut of ADaM datasets has no DM or EX records: the sponsor's ADSL words for the arms
    (ARM, ARMCD, TRTxxP) are redacted from the open report's free text as DM's and EX's are."""
    from hepatrial.report.run import treatment_terms

    adsl = tmp_path / "adsl.parquet"
    pl.DataFrame(
        {
            "USUBJID": ["A", "B", "C"],
            "ARM": ["UC-MSC low dose", "Placebo", "Screen Failure"],
            "ARMCD": ["UCLOW", "PBO", "SCRNFAIL"],
            "TRT01P": ["UC-MSC", "Placebo", None],
            "TRT02P": ["Open-label UC-MSC", None, None],
            "AGE": [50, 60, 70],
        }
    ).write_parquet(adsl)
    assert treatment_terms(None, None, adsl) == [
        "Open-label UC-MSC",
        "PBO",
        "Placebo",
        "UC-MSC",
        "UC-MSC low dose",
        "UCLOW",
    ]


def test_define_xml_names_the_sponsors_variables_as_their_origin(tmp_path):
    """In define.xml, a variable the sponsor delivered has the sponsor's dataset as its origin
    (a BDS record's arm: ADSL's), and one the pipeline added is Derived, with how."""
    import re

    from hepatrial.define import define_xml
    from hepatrial.spec import load

    res = _run(tmp_path)
    variables = pl.read_csv(res / "validation/adam_variables.csv")
    delivered: dict[str, set[str]] = {}
    for ds, var in variables.iter_rows():
        delivered.setdefault(ds, set()).add(var)
    assert delivered["ADTTE"] == {"USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR"}
    data = {
        "adsl": pl.read_parquet(res / "adam/adsl_core.parquet"),
        "adeff": pl.read_parquet(res / "adam/adeff.parquet"),
        "adtte": pl.read_parquet(res / "adam/adtte.parquet"),
    }
    text = define_xml(data, load(tmp_path / "study.yaml"), "2024-06-30", delivered=delivered)

    def origin(oid):
        item = re.search(rf'<ItemDef OID="{oid}".*?</ItemDef>', text).group(0)
        return re.search(
            r'<def:Origin Type="(\w+)">?(?:<Description><TranslatedText[^>]*>([^<]*))?', item
        ).groups()

    sponsor = "of the sponsor's ADaM datasets (a cut of ADaM datasets)"
    assert origin("IT.ADEFF.AVAL") == ("Predecessor", f"ADEFF.AVAL {sponsor}")
    assert origin("IT.ADEFF.TRT01P") == ("Predecessor", f"ADSL.TRT01P {sponsor}")
    assert origin("IT.ADSL.TRT01PN") == ("Derived", None)
    assert origin("IT.ADTTE.CRCODE") == ("Derived", None)
    method = re.search(r'<MethodDef OID="MT.ADTTE.CRCODE".*?</MethodDef>', text).group(0)
    assert "1 if CNSR = 0 (an event), otherwise 0" in method


def test_competing_risks_need_crcode_and_a_known_cause(tmp_path):
    """TFS has competing causes (2 death, 3 transplant): without CRCODE they cannot be told apart;
    a CRCODE that is not a cause of its parameter stops the run naming the row."""
    tfs = {"USUBJID": "T-002", "PARAMCD": "TFS", "STARTDT": "2024-01-12", "ADT": "2024-03-01",
           "AVAL": "49", "CNSR": "0"}  # fmt: skip
    with pytest.raises(DataContractError) as e:
        _run(tmp_path / "a", adtte=[*ADTTE, tfs])
    assert str(e.value).startswith(
        "file adtte.csv, column CRCODE: required column CRCODE is missing (TFS has competing risks"
    )
    rows = [{**r, "CRCODE": c} for r, c in ((ADTTE[0], "0"), (ADTTE[1], "1"))]
    with pytest.raises(DataContractError) as e:
        _run(tmp_path / "b", adtte=[*rows, {**tfs, "CRCODE": "7"}])
    assert str(e.value).startswith(
        "file adtte.csv, row 3, column CRCODE: not a cause of TFS (CRCODE 0, 2, 3): value '7'"
    ), str(e.value)
    res = _run(tmp_path / "c", adtte=[*rows, {**tfs, "CRCODE": "2"}])
    assert pl.read_parquet(res / "adam/adtte.parquet")["CRCODE"].to_list() == [0, 1, 2]


def test_a_bds_dataset_without_adt_is_dated_at_its_visits_target_day(tmp_path):
    """The analyses place records in time by ADY (post-baseline, intercurrent events): without
    ADT (or ADY) a record is dated at its visit's target day from ORIGDT, with a WARNING. No ADAE
    is a WARNING too: the adverse events are not known (every AE count "not available")."""
    eff = [{k: v for k, v in r.items() if k != "ADT"} for r in ADEFF]
    res = _run(tmp_path, adeff=eff)
    got = pl.read_parquet(res / "adam/adeff.parquet").select("USUBJID", "AVISIT", "ADY", "ADT")
    d = __import__("datetime").date
    # tiny study: BASELINE target day 1, WEEK 4 day 29; ORIGDT = RANDDT
    assert got.rows() == [
        ("T-001", "BASELINE", 1, d(2024, 1, 10)),
        ("T-001", "WEEK 4", 29, d(2024, 2, 7)),
        ("T-002", "BASELINE", 1, d(2024, 1, 12)),
    ]
    f = pl.read_csv(res / "validation/findings.csv")
    assert f.filter(pl.col("rule") == "ADT_IMPUTED").select(
        "severity", "domain", "message"
    ).rows() == [
        (
            "WARNING",
            "ADEFF",
            "no ADT: each of the 3 record(s) dated from its visit's target day "
            "(visits[].target_day) and the subject's ORIGDT",
        )
    ]
    absent = f.filter((pl.col("rule") == "DOMAIN_ABSENT") & (pl.col("domain") == "ADAE"))
    assert absent["severity"].to_list() == ["WARNING"]


def test_a_records_own_arm_that_is_not_adsls_is_a_warning_and_adsl_wins(tmp_path):
    eff = [{**r, "TRT01P": t} for r, t in zip(ADEFF, ("UC-MSC", "Placebo", "placebo"))]
    res = _run(tmp_path, adeff=eff)
    f = pl.read_csv(res / "validation/findings.csv").filter(pl.col("rule") == "TRT_NOT_ADSL")
    assert f.select("severity", "row", "column", "value").rows() == [
        ("WARNING", 2, "TRT01P", "Placebo")
    ]  # row 3 spells its subject's arm in another case: the same arm
    eff = pl.read_parquet(res / "adam/adeff.parquet")
    assert eff["TRT01P"].to_list() == ["UC-MSC", "UC-MSC", "Placebo"]


def test_an_adsl_without_dthfl_or_dthdt_says_deaths_are_not_known(tmp_path):
    """Deaths are the DSMB's first safety figure: an ADSL with neither DTHFL nor DTHDT does not
    say that no one died. The entry's WARNING DEATHS_NOT_RECORDED is what the reports' summaries
    read (DEATHS rows "not available"); either variable is enough to know them."""
    from hepatrial.report import summaries

    res = _run(tmp_path / "a")
    f = pl.read_csv(res / "validation/findings.csv")
    assert f.filter(pl.col("rule") == "DEATHS_NOT_RECORDED").select(
        "severity", "domain", "file"
    ).rows() == [("WARNING", "ADSL", "adsl.csv")]
    assert not summaries.deaths_recorded(f)
    for extra in ({"DTHFL": ""}, {"DTHDT": ""}):
        res = _run(tmp_path / next(iter(extra)), adsl=[r | extra for r in ADSL])
        f = pl.read_csv(res / "validation/findings.csv")
        assert summaries.deaths_recorded(f), extra


def test_an_adae_without_trtemfl_needs_the_first_infusion_date(tmp_path):
    """ADAE without TRTEMFL: treatment-emergent is derived from ADSL TRTSDT (as from SDTM AE);
    without TRTSDT no AE would be treatment-emergent and the AE tables would count 0: a stop."""
    adae = [
        {"USUBJID": "T-001", "AEDECOD": "Pyrexia", "AEBODSYS": "General disorders",
         "AESTDTC": "2024-02-01", "AESER": "N"},
    ]  # fmt: skip
    no_trtsdt = [{k: v for k, v in r.items() if k != "TRTSDT"} for r in ADSL]
    cut, study = _cut(tmp_path / "a", adae=adae, adsl=no_trtsdt)
    with pytest.raises(DataContractError) as e:
        import_adam_cut(cut, study, tmp_path / "a" / "res", "2024-06-30")
    assert str(e.value).startswith(
        "file adsl.csv, column TRTSDT: required column TRTSDT is missing (ADAE has no TRTEMFL: "
        "treatment-emergent adverse events are derived from the first infusion, ADSL TRTSDT"
    )
    res = _run(tmp_path / "b", adae=adae)  # with TRTSDT: derived, treatment-emergent
    assert pl.read_parquet(res / "adam/adae.parquet")["TRTEMFL"].to_list() == ["Y"]
    res = _run(tmp_path / "c", adae=[r | {"TRTEMFL": "Y"} for r in adae], adsl=no_trtsdt)
    assert pl.read_parquet(res / "adam/adae.parquet")["TRTEMFL"].to_list() == ["Y"]


def test_a_subject_without_trt01a_is_on_its_planned_arm_and_flagged(tmp_path):
    """T-002 has no TRT01A (T-001 has one): it is taken to be TRT01P, with a WARNING; before,
    the subject was in SAFFL but in no arm of the safety tables."""
    adsl = [dict(ADSL[0], TRT01A="UC-MSC"), dict(ADSL[1], TRT01A="")]
    res = _run(tmp_path, adsl=adsl)
    f = pl.read_csv(res / "validation/findings.csv").filter(pl.col("rule") == "ACTARM_MISSING")
    assert f.select("severity", "row", "column").rows() == [("WARNING", 2, "TRT01A")]
    out = pl.read_parquet(res / "adam/adsl_core.parquet").sort("USUBJID")
    assert out["TRT01A"].to_list() == ["UC-MSC", "Placebo"]

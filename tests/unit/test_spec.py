"""The study spec (hepatrial.spec): the frozen Study, the designs, the parameter table and the
catalogue of outputs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import tinycut
from studies import MINIMAL, make_study

from hepatrial.adam import read_sdtm
from hepatrial.adam.adsl import create_adsl_core
from hepatrial.adam.adtte import create_adtte
from hepatrial.analysis.survival import survival_ard
from hepatrial.errors import ConfigError
from hepatrial.ingest import ingest_cut
from hepatrial.spec import DESIGNS, Study, load
from hepatrial.spec import outputs as catalogue
from hepatrial.spec import params as P

ROOT = Path(__file__).resolve().parents[2]
STUDIES = sorted((ROOT / "config" / "studies").glob("*.yaml"))


# --- Study ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_every_bundled_study_loads_and_is_frozen(path):
    s = load(path)
    assert isinstance(s, Study) and s.id
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.strata = ("X",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.arms[0].label = "X"
    with pytest.raises(TypeError):
        s.populations["ITT"] = "SAFFL"  # read-only mapping
    assert s.design is DESIGNS[s.config["study"]["design"]]


def test_schema_defaults_filled_and_arms_completed():
    s = make_study()
    assert (
        s.design.name == "parallel"
        and s.planned_infusions == 3
        and s.endpoints.tte == P.TTE_DEFAULT
    )
    assert [a.code for a in s.arms] == [1, 2] and [a.arm for a in s.arms] == ["Active", "Control"]
    assert s.arms[0].colour == "#0072B2"
    assert (
        s.mmrm.covariates == ("BASE",) and s.strata == ()
    )  # model covariates apart from the strata
    assert s.endpoints.mmrm_params[0] == P_BDS("MELD", "adeff")
    assert s.interim is None and s.estimands == ()


def P_BDS(paramcd, dataset):
    from hepatrial.spec.study import BdsParam

    return BdsParam(paramcd, dataset)


def test_reference_arm_in_one_place():
    s = make_study(
        arms=[{"label": "Low"}, {"label": "High"}, {"label": "Placebo", "reference": True}]
    )
    assert s.reference == "Placebo" and s.reference_arm.code == 3
    assert s.test_arms == ["Low", "High"] and s.comparison_reference == "Placebo"
    single = make_study(study={"design": "single_arm"}, arms=[{"label": "MSC"}])
    assert (
        single.reference is None and single.test_arms == [] and single.comparison_reference is None
    )
    # a reference flag in a design without comparisons is no comparison reference
    esc = make_study(
        study={"design": "dose_escalation"},
        arms=[{"label": "D1", "reference": True}, {"label": "D2"}],
    )
    assert esc.reference == "D1" and esc.comparison_reference is None and esc.test_arms == []


def test_parallel_design_needs_exactly_one_reference():
    with pytest.raises(ConfigError, match="exactly one arm with reference"):
        make_study(arms=[{"label": "A"}, {"label": "B"}])


def test_strata_in_a_frame():
    s = make_study(strata=["CTPSTRAT", "REGION"])
    df = pl.DataFrame({"USUBJID": ["1"], "REGION": ["EU"]})
    assert s.strata_in(df) == ["REGION"] and s.strata_in(["CTPSTRAT", "REGION"]) == [
        "CTPSTRAT",
        "REGION",
    ]
    assert s.strata_in([]) == []


def test_planned_infusions_per_arm_else_the_study():
    s = make_study(
        planned_infusions=4,
        arms=[{"label": "A", "planned_infusions": 2}, {"label": "B", "reference": True}],
    )
    assert s.planned_infusions_of("A") == 2 and s.planned_infusions_of("B") == 4
    with pytest.raises(KeyError, match="no arm labelled"):
        s.planned_infusions_of("C")


def test_primary_param_and_bds_params():
    s = make_study(
        endpoints={
            "mmrm_params": [
                {"paramcd": "MELDKAM"},
                {"paramcd": "CTPSCORE"},
                {"paramcd": "CD4", "dataset": "adlb"},
            ],
            # a code the parameter table does not know may name any dataset
            "desc_params": [{"paramcd": "BILI"}, {"paramcd": "CD4", "dataset": "adqs"}],
        }
    )
    assert s.primary_param == "MELDKAM"
    assert s.bds_params() == {
        "MELDKAM": "adeff",
        "CTPSCORE": "adeff",
        "CD4": "adlb",
        "BILI": "adlb",
    }  # MMRM first wins
    assert make_study(endpoints={"primary_param": "CTPSCORE"}).primary_param == "CTPSCORE"
    assert make_study(endpoints={"mmrm_params": []}).primary_param is None
    assert not s.primary_is_tte
    tte = make_study(
        endpoints={
            "primary_param": "OS",
            "tte": ["TFS", "OS"],
            "landmarks_days": [28, 364],
            "primary_landmark_days": 364,
        }
    )
    assert tte.primary_param == "OS" and tte.primary_is_tte
    assert tte.endpoints.primary_landmark_days == 364


def test_replace_keeps_the_rest_and_validates_nothing_away():
    s = make_study(strata=["CTPSTRAT"])
    r = s.replace(previous_cut="data/x/2025-01-31")
    assert (
        r.previous_cut == "data/x/2025-01-31"
        and s.previous_cut is None
        and r.strata == ("CTPSTRAT",)
    )
    assert r.to_dict()["previous_cut"] == "data/x/2025-01-31"


def test_load_with_previous_cut_override():
    s = load(
        ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml",
        previous_cut="data/UCMSC-DC-RCT/2025-06-30",
    )
    assert s.previous_cut == "data/UCMSC-DC-RCT/2025-06-30"
    assert (
        load(ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml", previous_cut=None).previous_cut
        is None
    )


def test_interim_block_typed():
    s = load(ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml")
    assert s.interim is not None and s.interim.analysis == "MMRM_DIFF" and not s.interim.tte
    assert s.interim.info_fractions[-1] == 1
    aclf = load(ROOT / "config" / "studies" / "ucmsc-hbv-aclf.yaml")
    assert aclf.interim.tte and aclf.interim.paramcd in aclf.endpoints.tte


# --- designs -------------------------------------------------------------------------------------
def test_designs_declare_their_analyses():
    par, single, esc = DESIGNS["parallel"], DESIGNS["single_arm"], DESIGNS["dose_escalation"]
    assert par.compares_arms and par.needs_reference and par.has("SUBGROUP") and not par.has("DLT")
    assert not single.compares_arms and not single.has("ESTIMANDS")
    assert esc.has("DLT") and not esc.compares_arms
    with pytest.raises(KeyError, match="unknown analysis"):
        par.has("NOPE")


def test_estimands_need_a_design_that_has_them():
    est = [
        {
            "id": "E1",
            "endpoint": {"param": "MELD"},
            "intercurrent_events": [{"event": "death", "strategy": "hypothetical"}],
            "methods": [{"method": "condmean"}],
        }
    ]
    with pytest.raises(ConfigError, match="parallel design"):
        make_study(study={"design": "single_arm"}, arms=[{"label": "A"}], estimands=est)
    assert make_study(estimands=est).has_estimands


# --- the parameter table -------------------------------------------------------------------------
def test_unknown_or_repeated_tte_parameter_is_a_config_error():
    with pytest.raises(ConfigError, match="'PFS' is not a time-to-event parameter"):
        make_study(endpoints={"tte": ["OS", "PFS"]})
    with pytest.raises(ConfigError, match="listed twice"):
        make_study(endpoints={"tte": ["OS", "OS"]})


@pytest.mark.parametrize(
    "endpoints, message",
    [
        # each loaded before and was then silently wrong: no table marked primary, no key
        # secondary row, the same MMRM twice
        (
            {"primary_param": "BILI"},
            "primary_param: 'BILI' is in neither endpoints/mmrm_params",
        ),
        # a time-to-event primary: its landmark must be one the KM estimates are made at, and it
        # has no later visit to be a key secondary endpoint at
        (
            {
                "primary_param": "OS",
                "tte": ["OS"],
                "landmarks_days": [84, 168],
                "primary_landmark_days": 364,
            },
            r"primary_landmark_days: 364 is not in endpoints/landmarks_days \[84, 168\]",
        ),
        (
            {"primary_param": "OS", "tte": ["OS"], "key_secondary_visit": "WEEK 48"},
            "key_secondary_visit: the primary endpoint OS is a time to event",
        ),
        (
            {"tte": ["OS"], "landmarks_days": [364], "primary_landmark_days": 364},
            "primary_landmark_days: the primary endpoint 'MELD' is not a time to event",
        ),
        ({"key_secondary_visit": "WEEK 99"}, "key_secondary_visit: unknown post-baseline visit"),
        (
            {"mmrm_params": [{"paramcd": "MELD", "dataset": "adeff"}] * 2},
            "endpoints/mmrm_params: MELD is listed twice",
        ),
        (
            {"desc_params": [{"paramcd": "ALB", "dataset": "adlb"}] * 2},
            "endpoints/desc_params: ALB is listed twice",
        ),
    ],
)
def test_endpoint_config_checks(endpoints, message):
    with pytest.raises(ConfigError, match=message) as err:
        make_study(endpoints=endpoints)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "over, message",
    [
        # each ran to exit 0 and was silently wrong (found by mutating the bundled configs): every
        # WEEK 24 record flagged out of its protocol window, every bilirubin implausible, a score
        # looked for in the labs ("no records")
        (
            {"protocol_window": [366, 176]},
            r"visits: WEEK 24: protocol_window \[366, 176\] does not hold the target_day 168",
        ),
        ({"protocol_window": [175, 190]}, "does not hold the target_day 168"),
        ({"plausibility": {"BILI": [1e9, 500]}}, "plausibility/BILI: .* has low > high"),
        (
            {"endpoints": {"desc_params": [{"paramcd": "MELDKAM", "dataset": "adlb"}]}},
            "endpoints/desc_params: MELDKAM is a parameter of ADEFF .dataset: adeff., not of ADLB",
        ),
        (
            {"endpoints": {"mmrm_params": [{"paramcd": "BILI", "dataset": "adeff"}]}},
            "endpoints/mmrm_params: BILI is a parameter of ADLB",
        ),
    ],
)
def test_config_values_that_contradict_each_other(over, message):
    over = dict(over)  # the parameter itself stays as written
    if "protocol_window" in over:
        visits = [dict(v) for v in MINIMAL["visits"]]
        visits[1]["protocol_window"] = over.pop("protocol_window")
        over["visits"] = visits
    with pytest.raises(ConfigError, match=message) as err:
        make_study(**over)
    assert "\n" not in str(err.value)


def test_the_same_keys_with_consistent_values_load():
    # a lab code the parameter table does not know is data-driven: any range, any dataset
    make_study(plausibility={"BILI": [0, 500], "CD4": [0, 5000]})
    make_study(endpoints={"desc_params": [{"paramcd": "CD4", "dataset": "adlb"}]})


def test_labels_from_one_table():
    labels = P.display_labels()
    assert labels["MELD"] == "MELD (UNOS)" and labels["TFS"] == "Transplant-free survival"
    assert "CTPCLASS" not in labels  # shows its code
    # the biopsy scores read as words in titles (the single-arm figures said "ISHAKF: ...")
    assert labels["ISHAKF"] == "Ishak fibrosis stage"
    assert labels["ISHAKI"] == "Ishak inflammation grade"
    # ADaM PARAM (CDISC) and the shorter display label are two fields of one row
    assert P.adam_param_labels("adeff")["MELD"] == "MELD (UNOS, pre-2016)"
    assert P.adam_param_labels("adtte")["OS"] == "Overall survival (days)"
    assert (
        P.data_decimals()["INR"] == 2
        and P.data_decimals()["AGE"] == 0
        and P.data_decimals()["ALT"] == 0  # recorded as integers (test_param_decimals)
        and "ASCITES" not in P.data_decimals()  # a grade with no decimals of its own: the default
    )


def test_cif_labels_and_causes():
    assert P.cif_label("DECOMP") == "New decompensation"
    assert P.cif_label("HCC_DEATH") == "Hepatocellular carcinoma: death (competing)"
    assert P.cif_label("LIVFAIL_LTX") == "Liver failure: liver transplant (competing)"
    assert P.cif_label("TFS_DEATH") == "Transplant-free survival: death without transplant"
    assert P.cause_labels("TFS") == {2: "Death without transplant", 3: "Liver transplant"}
    assert P.cause_labels("DECOMP") == {
        1: "First new decompensation",
        2: "Death",
        3: "Liver transplant",
    }
    assert P.tte_param("OS").cif_paramcds() == {} and not P.tte_param("OS").has_cif
    assert P.tte_param("HCC").cif_paramcds() == {1: "HCC", 2: "HCC_DEATH", 3: "HCC_LTX"}
    order = sorted(
        ["HCC_LTX", "TFS_LTX", "HCC", "TFS_DEATH", "HCC_DEATH"],
        key=lambda p: P.cif_order(p, ["TFS", "HCC"]),
    )
    assert order == ["TFS_DEATH", "TFS_LTX", "HCC", "HCC_DEATH", "HCC_LTX"]
    with pytest.raises(KeyError, match="not a time-to-event parameter"):
        P.tte_param("MELD")


def test_variceal_bleeding_is_one_row_of_the_table(tmp_path):
    """A CE-term endpoint from its table row alone: ADTTE, the survival ARD (KM and CIF), labels and
    the catalogue of outputs."""
    text = tinycut.STUDY_YAML.replace("endpoints: {", "endpoints: {tte: [OS, VARBLEED], ")
    cut = tinycut.write_cut(tmp_path / "cut")
    s = load(tinycut.write_study(tmp_path / "study.yaml", text))
    assert s.endpoints.tte == ("OS", "VARBLEED") and s.cif_paramcds() == ["VARBLEED"]
    ingest_cut(cut, s, tmp_path / "sdtm", tmp_path / "val")
    d = read_sdtm(tmp_path / "sdtm")
    adtte = create_adtte(create_adsl_core(d, s, dt.date(2024, 6, 30)), d["CE"], s)
    vb = adtte.filter(pl.col("PARAMCD") == "VARBLEED")
    assert vb["PARAM"].unique().to_list() == ["Time to first variceal bleeding (days)"]
    r = vb.filter(pl.col("USUBJID") == "T-004").row(
        0, named=True
    )  # bleeding 2024-03-20, randomised 02-05
    assert (r["AVAL"], r["CNSR"], r["CRCODE"], r["EVNTDESC"], r["SRCDOM"]) == (
        44.0,
        0,
        1,
        "VARICEAL BLEEDING",
        "CE",
    )
    r = vb.filter(pl.col("USUBJID") == "T-002").row(0, named=True)  # death competes
    assert (r["CNSR"], r["CRCODE"]) == (1, 2)
    ard, km = survival_ard(adtte, s, "VARBLEED")
    assert {"KM_EVENTS", "CIF"} <= set(ard["analysis"])
    assert set(ard.filter(pl.col("analysis") == "CIF")["paramcd"]) <= {
        "VARBLEED",
        "VARBLEED_DEATH",
        "VARBLEED_LTX",
    }
    assert km.height > 0
    assert (
        P.label("VARBLEED") == "Time to variceal bleeding"
        and P.cif_label("VARBLEED") == "Variceal bleeding"
    )
    figs = [f.name for f in catalogue.figure_specs(s, "survival")]
    assert figs == ["km_OS", "km_VARBLEED", "cif_VARBLEED"]
    assert "res/ard/parts/tte_VARBLEED.parquet" in catalogue.ard_parts(s, "res")


# --- the catalogue of outputs --------------------------------------------------------------------
def test_catalogue_by_design():
    par = make_study(
        responders=[{"id": "CTPIMP", "rule": "ctp_class_improvement", "param": "CTPCLASS"}],
        endpoints={"subgroups": ["SEX"]},
    )
    names = [t.name for t in catalogue.table_specs(par)]
    assert {"mmrmpp_MELD", "subgroup", "lmm", "responder", "resp_shift_CTPIMP"} <= set(names)
    assert names[:3] == ["disposition", "baseline", "exposure"]
    assert "forest_MELD" in [f.name for f in catalogue.figure_specs(par, "efficacy")]
    assert "res/ard/parts/dlt.parquet" not in catalogue.ard_parts(par, "res")
    # a parallel design whose config names no subgroup variable: no subgroup table or forest plot
    # (it would show the all-subjects effect alone under "subgroups")
    plain = make_study()
    assert not plain.endpoints.subgroups and not plain.has_subgroups
    assert "subgroup" not in [t.name for t in catalogue.table_specs(plain)]
    assert "forest_MELD" not in [f.name for f in catalogue.figure_specs(plain, "efficacy")]

    single = make_study(study={"design": "single_arm"}, arms=[{"label": "MSC"}])
    names = [t.name for t in catalogue.table_specs(single)]
    assert not {"mmrmpp_MELD", "subgroup", "lmm", "responder"} & set(names)
    assert "forest_MELD" not in [f.name for f in catalogue.figure_specs(single, "efficacy")]

    esc = make_study(study={"design": "dose_escalation"}, arms=[{"label": "D1"}, {"label": "D2"}])
    assert catalogue.ard_parts(esc, "res")[-1] == "res/ard/parts/dlt.parquet"


def test_catalogue_paths_and_order():
    s = make_study(
        endpoints={
            "tte": ["OS", "TFS"],
            "desc_params": [{"paramcd": "BILI"}, {"paramcd": "EQ5DIDX", "dataset": "adqs"}],
        }
    )
    assert catalogue.tte_parts(s, "r") == [
        "r/ard/parts/tte_OS.parquet",
        "r/ard/parts/tte_TFS.parquet",
    ]
    assert catalogue.desc_parts(s, "r") == [
        "r/ard/parts/desc_adeff.parquet",
        "r/ard/parts/desc_adlb.parquet",
        "r/ard/parts/desc_adqs.parquet",
    ]
    outs = catalogue.all_outputs(s, "r", "p")
    assert outs[0] == "r/validation/findings.csv" and outs[-1] == "r/adam/adce.xpt"
    assert (
        "p/dsmb_closed.pdf" in outs
        and "r/manifest.json" in outs
        and "r/figures/cif_TFS.pdf" in outs
    )
    assert "r/figures/cif_OS.pdf" not in outs
    assert len(outs) == len(set(outs))
    assert catalogue.output_names(s, "listings") == ["l_sae", "l_deaths"]
    with pytest.raises(KeyError):
        catalogue.figure_specs(s, "nope")


def test_adce_category_is_the_first_ce_parameter_of_the_table():
    from hepatrial.adam.adae import create_adce

    ce = pl.DataFrame(
        {
            "USUBJID": ["S1"] * 4,
            "SRCROW": [1, 2, 3, 4],
            "CEDECOD": [
                "Variceal bleeding",
                "HEPATOCELLULAR CARCINOMA",
                "ACUTE-ON-CHRONIC LIVER FAILURE",
                "JAUNDICE",
            ],
            "CESTDTC": ["2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"],
        }
    )
    adsl = pl.DataFrame({"USUBJID": ["S1"], "ORIGDT": [dt.date(2024, 1, 1)]})
    out = create_adce(ce, adsl).sort("SRCROW")
    # variceal bleeding is a DECOMP term first (VARBLEED, later in the table, does not take it)
    assert out["CECAT"].to_list() == ["DECOMP", "HCC", "LIVFAIL", "OTHER"]


def test_source_date_epoch_values(monkeypatch):
    """SOURCE_DATE_EPOCH, read once (config.source_date_epoch): whole seconds, empty is unset,
    anything else a ConfigError; the reports' generated date from it."""
    from hepatrial.config import source_date_epoch
    from hepatrial.report.document import generated_date

    for raw, want in (("1751241600", 1751241600), (" 0 ", 0), ("", None)):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", raw)
        assert source_date_epoch() == want
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1751241600")
    assert generated_date() == "2025-06-30"  # 1751241600 = 2025-06-30T00:00:00Z
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert source_date_epoch() is None and generated_date() == ""
    for raw in ("abc", "-5", "1.5e9", "１２３", "99999999999999"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", raw)
        with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
            source_date_epoch()


def test_schema_patterns_are_said_in_words():
    """A value that breaks a pattern of the schema is said in words, not as the regex (a
    statistician writing a config reads "no space and no |"); every pattern has its words."""
    import yaml

    from hepatrial.config import PATTERN_WORDS

    def patterns(node):
        if isinstance(node, dict):
            yield from ([node["pattern"]] if "pattern" in node else [])
            for v in node.values():
                yield from patterns(v)
        elif isinstance(node, list):
            for v in node:
                yield from patterns(v)

    schema = yaml.safe_load((ROOT / "workflow/schemas/study.schema.yaml").read_text())
    assert set(patterns(schema)) <= set(PATTERN_WORDS)
    cases = [
        # a | in a paramcd broke the composite ARD codes (LAB_SHIFT "ALT|HIGH|ALL") silently
        (
            {"endpoints": {"desc_params": [{"paramcd": "A|B", "dataset": "adlb"}]}},
            "endpoints/desc_params/0/paramcd: 'A|B' is not allowed: a code: not empty, no space "
            "and no |",
        ),
        ({"safety": {"labs": ["ALT", ""]}}, "safety/labs/1: '' is not allowed: a code"),
        (
            {"study": {"id": "UC MSC"}},
            "study/id: 'UC MSC' is not allowed: letters, digits, _ and -",
        ),
    ]
    for over, message in cases:
        with pytest.raises(ConfigError) as err:
            make_study(**over)
        assert str(err.value).startswith(f"test study: {message}")

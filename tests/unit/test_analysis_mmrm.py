"""The MMRM analysis step (ADaM -> ARD) against R nlme::gls + emmeans on the synthetic trial.

The same rows as tests/reference/mmrm/data_synthetic.csv are dressed as an ADEFF parameter; the
ARD rows must reproduce R's LS means, differences and REML log-likelihood
(tests/reference/mmrm/ref_syn_un_*.csv, made by mmrm_reference.R).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from studies import MINIMAL, make_study, merge

from hepatrial.analysis.mmrm import mmrm_ard
from hepatrial.spec import Study

REF = Path(__file__).resolve().parents[1] / "reference" / "mmrm"


def synthetic_study(design: str = "parallel", **over) -> Study:
    return make_study(**synthetic_config(design, **over))


def synthetic_config(design: str = "parallel", **over) -> dict:
    """The study config of the synthetic trial (over the tests' minimal config)."""
    raw = {
        "study": {"id": "SYN", "design": design},
        "arms": [{"label": "Active"}, {"label": "Placebo", "reference": design == "parallel"}],
        "visits": [
            {
                "label": "BASELINE",
                "avisitn": 0,
                "target_day": 1,
                "window": [-14, 1],
                "baseline": True,
            }
        ]
        + [
            {
                "label": f"WEEK{w}",
                "avisitn": w,
                "target_day": 7 * w + 1,
                "window": [7 * w - 6, 7 * w + 6],
            }
            for w in (4, 8, 12, 24)
        ],
        "strata": ["STRATUM"],
        "endpoints": {"primary_visit": "WEEK24"},
    }
    return merge(raw, over)


def synthetic_adeff() -> pl.DataFrame:
    d = pl.read_csv(REF / "data_synthetic.csv")
    return d.select(
        "USUBJID",
        "STRATUM",
        "AVISIT",
        "BASE",
        "CHG",
        pl.col("ARM").alias("TRT01P"),
        pl.lit("MELD").alias("PARAMCD"),
        pl.lit("Y").alias("ANL01FL"),
        pl.lit("Y").alias("ITTFL"),
    )


def test_mmrm_ard_matches_r_on_synthetic_trial():
    ard = mmrm_ard(synthetic_adeff(), synthetic_study(), "MELD")
    ls = pl.read_csv(REF / "ref_syn_un_lsmeans.csv")
    got = ard.filter(pl.col("analysis") == "MMRM_LSMEAN")
    for r in ls.iter_rows(named=True):
        sel = got.filter((pl.col("arm") == r["ARM"]) & (pl.col("avisit") == r["AVISIT"]))
        val = dict(zip(sel["stat"], sel["value"]))
        assert val["lsmean"] == pytest.approx(r["emmean"], rel=1e-4)
        assert val["se"] == pytest.approx(r["SE"], rel=1e-4)
    diffs = pl.read_csv(REF / "ref_syn_un_diffs.csv")
    got = ard.filter(pl.col("analysis") == "MMRM_DIFF")
    assert set(got["comparator"]) == {"Placebo"} and set(got["arm"]) == {"Active"}
    for r in diffs.iter_rows(named=True):
        val = dict(zip(*got.filter(pl.col("avisit") == r["AVISIT"]).select("stat", "value")))
        assert val["estimate"] == pytest.approx(r["estimate"], rel=1e-4)
        assert val["se"] == pytest.approx(r["SE"], rel=1e-4)
        assert val["lower"] == pytest.approx(r["lower.CL"], rel=1e-3)
    fit = pl.read_csv(REF / "ref_syn_un_fit.csv").row(0, named=True)
    val = dict(zip(*ard.filter(pl.col("analysis") == "MMRM_FIT").select("stat", "value")))
    assert val["reml_loglik"] == pytest.approx(fit["logLik"], rel=1e-6)
    assert (val["n_subjects"], val["n_obs"], val["converged"]) == (300, 1063, 1)
    assert ard.filter(pl.col("analysis") == "MMRM_FIT")["method"][0].startswith(
        "UN REML Satterthwaite"
    )
    # the sensitivity model is reported alongside
    assert ard.filter(pl.col("analysis") == "LMM_DIFF").height == 4 * 5


def test_single_arm_design_gets_within_arm_change_and_no_diffs():
    study = synthetic_study("single_arm")
    data = synthetic_adeff().filter(pl.col("TRT01P") == "Active")
    ard = mmrm_ard(data, study, "MELD")
    assert ard.filter(pl.col("analysis") == "MMRM_DIFF").height == 0
    ls = ard.filter((pl.col("analysis") == "MMRM_LSMEAN") & (pl.col("stat") == "lsmean"))
    assert set(ls["arm"]) == {"Active"} and ls.height == 4


def test_too_little_data_is_reported_not_raised():
    ard = mmrm_ard(synthetic_adeff().head(4), synthetic_study(), "MELD")
    fit = dict(zip(*ard.select("stat", "value")))
    assert fit["converged"] == 0 and ard["method"][0].startswith("not estimable")


def _formula_study(formula: str) -> Study:
    return synthetic_study(mmrm={"formula": formula})


def test_sap_formula_reproduces_r_for_the_same_model():
    """mmrm.formula spelling today's model gives R's numbers too (nlme::gls + emmeans, the
    references above), through the general formula engine."""
    ard = mmrm_ard(synthetic_adeff(), _formula_study("CHG ~ BASE + STRATUM + ARM * AVISIT"), "MELD")
    diffs = pl.read_csv(REF / "ref_syn_un_diffs.csv")
    got = ard.filter(pl.col("analysis") == "MMRM_DIFF")
    assert set(got["comparator"]) == {"Placebo"} and set(got["arm"]) == {"Active"}
    for r in diffs.iter_rows(named=True):
        val = dict(zip(*got.filter(pl.col("avisit") == r["AVISIT"]).select("stat", "value")))
        assert val["estimate"] == pytest.approx(r["estimate"], rel=1e-4)
        assert val["se"] == pytest.approx(r["SE"], rel=1e-4)
    fit = pl.read_csv(REF / "ref_syn_un_fit.csv").row(0, named=True)
    val = dict(zip(*ard.filter(pl.col("analysis") == "MMRM_FIT").select("stat", "value")))
    assert val["reml_loglik"] == pytest.approx(fit["logLik"], rel=1e-6)
    assert (
        "CHG ~ BASE + STRATUM + ARM * AVISIT"
        in ard.filter(pl.col("analysis") == "MMRM_FIT")["method"][0]
    )


def test_baseline_by_visit_formula_runs_and_a_wrong_covariate_is_an_error():
    ard = mmrm_ard(
        synthetic_adeff(), _formula_study("CHG ~ BASE * AVISIT + STRATUM + ARM * AVISIT"), "MELD"
    )
    assert ard.filter(pl.col("analysis") == "MMRM_DIFF").height == 4 * 6
    from hepatrial.errors import ConfigError

    with pytest.raises(ConfigError, match="'BASELINE_MELD'"):
        mmrm_ard(synthetic_adeff(), _formula_study("CHG ~ BASELINE_MELD + ARM * AVISIT"), "MELD")


def test_an_mmrm_covariate_the_dataset_lacks_stops_the_step(tmp_path):
    """A covariate of ``mmrm.covariates`` that the analysis dataset does not hold was left out of
    the model without a word (the SAP's model fitted without it); now the step stops on one line
    naming the study config, the key, the covariate and the dataset."""
    from hepatrial.analysis.run import run_mmrm
    from hepatrial.errors import ConfigError

    data = tmp_path / "adeff.parquet"
    synthetic_adeff().write_parquet(data)
    study = tmp_path / "study.yaml"
    config = merge(MINIMAL, synthetic_config(mmrm={"covariates": ["BASE", "AGE"]}))
    study.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as exc:
        run_mmrm([data], study, ["MELD"], [tmp_path / "out.parquet"])
    msg = str(exc.value)
    assert str(study) in msg and "mmrm.covariates: AGE" in msg and "adeff.parquet" in msg
    assert "\n" not in msg and not (tmp_path / "out.parquet").exists()


def test_bds_datasets_carry_the_adsl_covariates_of_the_mmrm():
    from hepatrial.adam.common import adsl_vars

    adsl = pl.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-1"], "AGE": [50.0], "SEX": ["F"]})
    assert "AGE" in adsl_vars(adsl, synthetic_study(mmrm={"covariates": ["BASE", "AGE"]}))
    assert "AGE" not in adsl_vars(adsl, synthetic_study())


def test_a_configured_parameter_with_no_records_is_warned_of(tmp_path):
    """A misspelt PARAMCD in endpoints.mmrm_params or desc_params gave tables reading 'No data'
    and nothing else; now one warning per parameter naming the config key and the dataset. So
    does a parameter whose records all lack a value (CTPSCORE of a cut without the RS domain)."""
    from hepatrial.analysis.run import run_desc
    from hepatrial.errors import HepatrialWarning

    data = tmp_path / "adeff.parquet"
    meld = synthetic_adeff().with_columns(
        AVAL=pl.col("BASE") + pl.col("CHG"),
        ABLFL=pl.lit(None, pl.Utf8),
        AVISITN=pl.col("AVISIT").str.strip_prefix("WEEK").cast(pl.Float64),
    )
    ctp = meld.with_columns(
        PARAMCD=pl.lit("CTPSCORE"), AVAL=pl.lit(None, pl.Float64), CHG=pl.lit(None, pl.Float64)
    )
    pl.concat([meld, ctp]).write_parquet(data)
    study = tmp_path / "study.yaml"
    config = merge(MINIMAL, synthetic_config())
    config["endpoints"]["mmrm_params"] = [
        {"paramcd": "MELDX", "dataset": "adeff"},
        {"paramcd": "CTPSCORE", "dataset": "adeff"},
    ]
    config["endpoints"]["desc_params"] = [{"paramcd": "ALBX", "dataset": "adeff"}]
    study.write_text(yaml.safe_dump(config))
    with pytest.warns(HepatrialWarning) as caught:
        run_desc(data, study, ["MELD", "MELDX", "CTPSCORE", "ALBX"], tmp_path / "desc.parquet")
    assert [str(w.message) for w in caught if w.category is HepatrialWarning] == [
        "study config endpoints.mmrm_params: MELDX has no records in adeff.parquet; its tables "
        "and figures show no data",
        f"study config endpoints.mmrm_params: CTPSCORE has {ctp.height} records and not one "
        "value (AVAL missing in each) in adeff.parquet; its tables and figures show no data",
        "study config endpoints.desc_params: ALBX has no records in adeff.parquet; its tables "
        "and figures show no data",
    ]


def test_a_population_flag_the_data_lack_is_an_error_not_every_subject():
    """select_population read a frame without the population's flag as the population (every
    subject); a study mapping ITT to ENRLFL would have had its BDS analyses on all subjects. The
    BDS datasets now carry the flags of the study's populations, and a frame without one stops."""
    from hepatrial.adam.common import adsl_vars
    from hepatrial.analysis.common import select_population
    from hepatrial.errors import ConfigError

    st = synthetic_study(populations={"ITT": "ENRLFL", "SAFETY": "SAFFL"})
    adsl = pl.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-1"], "ENRLFL": ["Y"], "SAFFL": ["Y"]})
    assert "ENRLFL" in adsl_vars(adsl, st)
    with pytest.raises(ConfigError, match="population ITT: its flag ENRLFL"):
        select_population(synthetic_adeff(), st, "ITT")
    got = select_population(synthetic_adeff().with_columns(ENRLFL=pl.lit("N")), st, "ITT")
    assert got.height == 0


@pytest.mark.parametrize("formula", [None, "CHG ~ BASE + STRATUM + ARM * AVISIT"])
def test_a_subject_without_a_stratum_is_left_out_and_counted(formula):
    """The subject's records with STRATUM missing give the numbers of the data without that
    subject, n included (the formula engine dropped the records but counted them in n), and every
    row's method says one subject was left out."""
    data = synthetic_adeff()
    who = data["USUBJID"][0]
    study = _formula_study(formula) if formula else synthetic_study()
    gap = data.with_columns(
        pl.when(pl.col("USUBJID") == who).then(None).otherwise(pl.col("STRATUM")).alias("STRATUM")
    )
    got = mmrm_ard(gap, study, "MELD")
    want = mmrm_ard(data.filter(pl.col("USUBJID") != who), study, "MELD")
    note = " (1 subject with a missing stratum or covariate excluded)"
    assert got["method"].to_list() == [m + note for m in want["method"]]
    assert got.drop("method").equals(want.drop("method"))
    n = dict(zip(*got.filter(pl.col("analysis") == "MMRM_FIT").select("stat", "value")))
    assert n["n_subjects"] == 299

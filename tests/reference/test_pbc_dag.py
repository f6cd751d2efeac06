"""The whole path SDTM -> ADaM -> ARD against R on the Mayo PBC trial.

make_pbc_cut.py writes pbc.csv as an SDTM cut; Snakemake runs ingest, ADSL, ADTTE and the
``survival`` rule (as a user would, in a subprocess); the ARD rows and the KM step table are then
compared with the committed R output in tests/reference/pbc/ (R 4.2.2, survival 3.5-3,
cmprsk 2.2-11; scripts pbc_survival_refs.R and pbc_survival_refs_extra.R).

Tolerances (absolute): KM estimate, SE and CI 1e-6; log-rank chi-square 1e-4; Cox HR and CI 1e-4;
CIF and Gray 1e-4. Counts (at risk, events) exactly. Where R gives NA we must give NaN.
The study config (pbc_study.yaml) has Placebo as the reference arm and ``strata: [SEX]``, so the
primary LOGRANK / COX / GRAY rows are stratified by sex and the ``*_UNSTRAT`` rows are not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

HERE = Path(__file__).resolve().parent
REF = HERE / "pbc"
REPO = Path(__file__).parents[2]
sys.path.insert(0, str(REF))
import dag  # noqa: E402
from dag import snakemake  # noqa: E402
from make_pbc_cut import CUT_NAME, STUDYID, write_pbc_cut  # noqa: E402

# one worker runs the whole module, so the DAG runs once (pytest-xdist --dist loadgroup)
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("pbc_dag")]

STUDY = REF / "pbc_study.yaml"
TIMES = [365.0, 730.0, 1461.0, 1826.0, 3652.0]
ARMS = ["D-penicillamine", "Placebo"]
TEST_ARM, REF_ARM = "D-penicillamine", "Placebo"
CAUSE = {"TFS_DEATH": "death", "TFS_LTX": "transplant"}
CI = ("se", "lower", "upper")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Run the DAG once on the PBC cut; returns the results folder of the cut."""
    tmp = tmp_path_factory.mktemp("pbc")
    cut = write_pbc_cut(tmp / "cut" / CUT_NAME)
    res = tmp / "results" / STUDYID / CUT_NAME
    targets = [res / "ard" / "parts" / f"tte_{p}.parquet" for p in ("TFS", "OS")]
    proc = snakemake(*dag.config_args(STUDY, cut, tmp), "--", *targets, cwd=REPO, timeout=600)
    assert proc.returncode == 0, f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return res


@pytest.fixture(scope="module")
def ard(run):
    parts = [run / "ard" / "parts" / f"tte_{p}.parquet" for p in ("TFS", "OS")]
    return pl.concat([pl.read_parquet(p) for p in parts])


def ref_csv(name: str, **equal) -> pl.DataFrame:
    """Rows of a reference CSV whose columns equal the given values."""
    df = pl.read_csv(REF / name)
    for col, value in equal.items():
        df = df.filter(pl.col(col) == value)
    return df


def assert_close(ours, ref, atol, what=""):
    """Absolute agreement; R NA (null) must be NaN here and vice versa."""
    ours = np.asarray([np.nan if v is None else v for v in ours], dtype=float)
    ref = np.asarray([np.nan if v is None else v for v in ref], dtype=float)
    assert ours.shape == ref.shape, f"{what}: {ours.shape} vs {ref.shape}"
    na_o, na_r = np.isnan(ours), np.isnan(ref)
    assert np.array_equal(na_o, na_r), f"{what}: NaN pattern differs: {ours} vs {ref}"
    diff = np.abs(ours[~na_o] - ref[~na_r])
    assert diff.size == 0 or diff.max() <= atol, f"{what}: max abs diff {diff.max():.3g} > {atol}"


def stat(
    ard: pl.DataFrame,
    analysis: str,
    paramcd: str,
    arm: str,
    name: str,
    *,
    time=None,
    comparator: str | None = None,
) -> float:
    """The one ARD value with these keys (population ITT)."""
    f = ard.filter(
        (pl.col("analysis") == analysis)
        & (pl.col("paramcd") == paramcd)
        & (pl.col("arm") == arm)
        & (pl.col("stat") == name)
        & (pl.col("population") == "ITT")
    )
    f = f.filter(pl.col("time").is_null() if time is None else pl.col("time") == time)
    if comparator is not None:
        f = f.filter(pl.col("comparator") == comparator)
    assert f.height == 1, f"{analysis} {paramcd} {arm} {name} t={time}: {f.height} rows"
    return f["value"][0]


def at_landmarks(ard, analysis, paramcd, arm, name) -> list[float]:
    return [stat(ard, analysis, paramcd, arm, name, time=t) for t in TIMES]


def comparison(ard, analysis, paramcd, names) -> list[float]:
    """Values of the D-penicillamine vs Placebo (reference) comparison."""
    return [stat(ard, analysis, paramcd, TEST_ARM, s, comparator=REF_ARM) for s in names]


def ref_at_landmarks(steps: pl.DataFrame, value_cols: list[str]) -> dict[str, list]:
    """R summary(fit, times) from R's own step table: the last step at or before each time
    and n at risk = that of the first step at or after it (0 after the last)."""
    steps = steps.sort("time")
    t = steps["time"].to_numpy()
    out = {c: [] for c in value_cols + ["n_risk"]}
    for x in TIMES:
        i = int(np.searchsorted(t, x, side="right")) - 1
        assert i >= 0  # every landmark is after the first observed time in PBC
        for c in value_cols:
            out[c].append(steps[c][i])
        j = int(np.searchsorted(t, x, side="left"))
        out["n_risk"].append(int(steps["n_risk"][j]) if j < t.size else 0)
    return out


# ----------------------------------------------------------------------------- the cut and ADaM
def test_ingest_accepts_the_cut_with_a_header_only_ae(run):
    f = pl.read_csv(run / "validation" / "findings.csv", infer_schema_length=0)
    assert f.filter(pl.col("severity").is_in(["FATAL", "ERROR"])).height == 0
    ae = f.filter((pl.col("domain") == "AE") & (pl.col("rule") == "DOMAIN_EMPTY"))
    assert ae["severity"].to_list() == ["WARNING"]


def test_adtte_reproduces_pbc_times_and_status(run):
    """AVAL = pbc time for the 312 randomised; the 106 non-randomised are not in ADTTE.
    TFS: CRCODE 2 death, 3 transplant. OS: transplant does not censor, but follow-up ends at the
    transplant (the last contact), so OS is censored there, as R's reference analysis does."""
    pbc = pl.read_csv(REF / "pbc.csv").with_columns(
        pl.format("MAYO-PBC-{}", pl.col("id").cast(pl.Utf8).str.zfill(4)).alias("USUBJID")
    )
    adsl = pl.read_parquet(run / "adam" / "adsl_core.parquet")
    assert adsl.height == 418
    assert adsl.filter(pl.col("ITTFL") == "Y").height == 312
    adtte = pl.read_parquet(run / "adam" / "adtte.parquet").join(pbc, on="USUBJID", how="left")
    for p in ("TFS", "OS"):
        d = adtte.filter(pl.col("PARAMCD") == p)
        assert d.height == 312 and d["trt"].null_count() == 0
        assert (d["AVAL"] == d["time"].cast(pl.Float64)).all()
    tfs = adtte.filter(pl.col("PARAMCD") == "TFS")
    assert (tfs["CRCODE"] == tfs["status"].replace_strict({0: 0, 1: 3, 2: 2})).all()
    os_ = adtte.filter(pl.col("PARAMCD") == "OS")
    assert (os_["CNSR"] == (os_["status"] != 2).cast(os_["CNSR"].dtype)).all()
    transplanted = os_.filter(pl.col("status") == 1)
    assert transplanted.height == 19
    assert transplanted["CNSDTDSC"].unique().to_list() == ["LAST KNOWN ALIVE DATE"]


# ----------------------------------------------------------------------------- Kaplan-Meier
@pytest.mark.parametrize("paramcd", ["TFS", "OS"])
def test_km_landmarks_by_arm(ard, paramcd):
    ref = ref_csv(f"{paramcd.lower()}_estimates.csv", analysis="km_survival")
    for arm in ARMS:
        r = ref.filter(pl.col("arm") == arm).sort("time")
        assert r["time"].cast(pl.Float64).to_list() == TIMES
        assert_close(
            at_landmarks(ard, "KM", paramcd, arm, "surv"),
            r["estimate"].to_list(),
            1e-6,
            f"{paramcd} {arm} surv",
        )
        for s in CI:
            assert_close(
                at_landmarks(ard, "KM", paramcd, arm, s),
                r[s].to_list(),
                1e-6,
                f"{paramcd} {arm} {s}",
            )
        assert at_landmarks(ard, "KM", paramcd, arm, "n_risk") == r["n_risk"].to_list()


@pytest.mark.parametrize("paramcd", ["TFS", "OS"])
def test_km_landmarks_pooled(ard, paramcd):
    steps = ref_csv(
        "extra_km_full.csv", data="days", endpoint=paramcd.lower(), conf_type="log-log", group="ALL"
    )
    r = ref_at_landmarks(steps, ["surv", *CI])
    for s in ("surv", *CI):
        assert_close(at_landmarks(ard, "KM", paramcd, "ALL", s), r[s], 1e-6, f"{paramcd} ALL {s}")
    assert at_landmarks(ard, "KM", paramcd, "ALL", "n_risk") == r["n_risk"]
    # events up to each landmark; the arms add up to the pooled count
    cum = steps.sort("time").with_columns(pl.col("n_event").cum_sum().alias("cum"))
    expect = [cum.filter(pl.col("time") <= t)["cum"].max() for t in TIMES]
    assert at_landmarks(ard, "KM", paramcd, "ALL", "n_event_cum") == expect
    by_arm = [at_landmarks(ard, "KM", paramcd, a, "n_event_cum") for a in ARMS]
    assert [a + b for a, b in zip(*by_arm)] == expect


@pytest.mark.parametrize("paramcd", ["TFS", "OS"])
def test_km_step_table(run, paramcd):
    """The KM figure's table = R summary(survfit(..., conf.type = "log-log"), censored = TRUE)."""
    km = pl.read_parquet(run / "ard" / "km" / f"{paramcd}.parquet")
    ref = ref_csv("extra_km_full.csv", data="days", endpoint=paramcd.lower(), conf_type="log-log")
    assert km["arm"].unique(maintain_order=True).to_list() == ARMS + ["ALL"]
    for g in ARMS + ["ALL"]:
        o = km.filter(pl.col("arm") == g).sort("time")
        r = ref.filter(pl.col("group") == g).sort("time")
        assert o["time"].to_list() == r["time"].cast(pl.Float64).to_list(), g
        for c in ("n_risk", "n_event", "n_censor"):
            assert o[c].to_list() == r[c].to_list(), f"{g} {c}"
        for c in ("surv", *CI):
            assert_close(o[c].to_list(), r[c].to_list(), 1e-6, f"{paramcd} step table {g} {c}")


@pytest.mark.parametrize("paramcd", ["TFS", "OS"])
def test_km_median(ard, paramcd):
    ref = ref_csv(f"{paramcd.lower()}_estimates.csv", analysis="median")
    pooled = ref_csv(
        "extra_km_quantiles.csv",
        data="days",
        endpoint=paramcd.lower(),
        conf_type="log-log",
        group="ALL",
        prob=0.5,
    )
    for arm in ARMS + ["ALL"]:
        r = (pooled if arm == "ALL" else ref.filter(pl.col("arm") == arm)).row(0, named=True)
        got = [stat(ard, "KM_MEDIAN", paramcd, arm, s) for s in ("median", "lower", "upper")]
        assert_close(got, [r["estimate"], r["lower"], r["upper"]], 1e-9, f"{paramcd} median {arm}")


# ----------------------------------------------------------------------------- log-rank and Cox
@pytest.mark.parametrize("paramcd", ["TFS", "OS"])
def test_logrank(ard, paramcd):
    for analysis, ref_row in [("LOGRANK", "logrank_strat_sex"), ("LOGRANK_UNSTRAT", "logrank")]:
        r = ref_csv(f"{paramcd.lower()}_tests.csv", analysis=ref_row).row(0, named=True)
        assert_close(
            comparison(ard, analysis, paramcd, ("chisq", "df", "p")),
            [r["statistic"], r["df"], r["p"]],
            1e-4,
            f"{paramcd} {analysis}",
        )
    rows = ard.filter(pl.col("paramcd") == paramcd)
    assert set(rows.filter(pl.col("analysis") == "LOGRANK")["method"]) == {
        "log-rank stratified by SEX"
    }
    assert set(rows.filter(pl.col("analysis") == "LOGRANK_UNSTRAT")["method"]) == {"log-rank"}


@pytest.mark.parametrize("paramcd", ["TFS", "OS"])
def test_cox(ard, paramcd):
    """COX: D-penicillamine vs Placebo (the reference arm), Efron ties, stratified by sex (R
    extra_cox.csv fits Placebo vs D-penicillamine: HR and CI inverted); COX_UNSTRAT as
    {tfs,os}_tests.csv with the same direction."""
    s = ref_csv(
        "extra_cox.csv", data="days", endpoint=paramcd.lower(), model="arm_strat_sex", ties="efron"
    ).row(0, named=True)
    assert s["term"] == "armPlacebo"
    assert_close(
        comparison(ard, "COX", paramcd, ("hr", "lower", "upper", "p")),
        [1 / s["hr"], 1 / s["upper"], 1 / s["lower"], s["p"]],
        1e-4,
        f"{paramcd} COX stratified",
    )
    u = ref_csv(
        f"{paramcd.lower()}_tests.csv",
        analysis="cox_efron_wald",
        comparison="D-penicillamine vs Placebo",
    ).row(0, named=True)
    assert_close(
        comparison(ard, "COX_UNSTRAT", paramcd, ("hr", "lower", "upper", "p")),
        [u["estimate"], u["lower"], u["upper"], u["p"]],
        1e-4,
        f"{paramcd} COX_UNSTRAT",
    )
    cox = ard.filter((pl.col("analysis") == "COX") & (pl.col("paramcd") == paramcd))
    assert set(cox["method"]) == {"Cox Efron, Wald CI, stratified by SEX"}
    assert set(cox["arm"]) == {TEST_ARM}  # no row for the reference arm itself


# ----------------------------------------------------------------------------- competing risks
@pytest.mark.parametrize("paramcd", ["TFS_DEATH", "TFS_LTX"])
def test_cif_by_arm(ard, paramcd):
    ref = ref_csv(
        "cr_estimates.csv",
        analysis="aj_cuminc_survfit",
        conf_type="log-log",
        endpoint=CAUSE[paramcd],
    )
    for arm in ARMS:
        r = ref.filter(pl.col("arm") == arm).sort("time")
        assert_close(
            at_landmarks(ard, "CIF", paramcd, arm, "cif"),
            r["estimate"].to_list(),
            1e-4,
            f"{paramcd} {arm} cif",
        )
        for s in CI:
            assert_close(
                at_landmarks(ard, "CIF", paramcd, arm, s),
                r[s].to_list(),
                1e-4,
                f"{paramcd} {arm} {s}",
            )


@pytest.mark.parametrize("paramcd", ["TFS_DEATH", "TFS_LTX"])
def test_cif_pooled(ard, paramcd):
    steps = ref_csv(
        "extra_cif_full.csv", data="days", conf_type="log-log", group="ALL", cause=CAUSE[paramcd]
    )
    r = ref_at_landmarks(steps, ["cif", *CI])
    for s in ("cif", *CI):
        assert_close(at_landmarks(ard, "CIF", paramcd, "ALL", s), r[s], 1e-4, f"{paramcd} ALL {s}")


def test_cif_death_plus_transplant_is_one_minus_tfs(ard):
    """Aalen-Johansen: the two TFS causes add up to 1 - KM of TFS, at every landmark and arm."""
    for arm in ARMS + ["ALL"]:
        death = at_landmarks(ard, "CIF", "TFS_DEATH", arm, "cif")
        ltx = at_landmarks(ard, "CIF", "TFS_LTX", arm, "cif")
        surv = at_landmarks(ard, "KM", "TFS", arm, "surv")
        assert_close([d + x for d, x in zip(death, ltx)], [1 - s for s in surv], 1e-12, arm)


def test_gray(ard):
    for paramcd, cause in CAUSE.items():
        r = ref_csv("cr_tests.csv", endpoint=cause).row(0, named=True)
        assert_close(
            comparison(ard, "GRAY_UNSTRAT", paramcd, ("chisq", "df", "p")),
            [r["statistic"], r["df"], r["p"]],
            1e-4,
            f"{paramcd} GRAY_UNSTRAT",
        )
        r = ref_csv("extra_gray.csv", data="days", test="arm_strat_sex", cause=cause).row(
            0, named=True
        )
        assert_close(
            comparison(ard, "GRAY", paramcd, ("chisq", "df", "p")),
            [r["chisq"], r["df"], r["p"]],
            1e-4,
            f"{paramcd} GRAY stratified",
        )


def test_km_events_match_the_pbc_counts(ard):
    # pbc README: OS deaths D-penicillamine 65 of 158, placebo 60 of 154; TFS adds 10 and 9 transplants
    for paramcd, counts in (
        ("OS", {"D-penicillamine": (158, 65), "Placebo": (154, 60)}),
        ("TFS", {"D-penicillamine": (158, 75), "Placebo": (154, 69)}),
    ):
        for arm, (n, ev) in counts.items():
            got = ard.filter(
                (pl.col("analysis") == "KM_EVENTS")
                & (pl.col("paramcd") == paramcd)
                & (pl.col("arm") == arm)
            )
            val = dict(zip(got["stat"], got["value"]))
            assert (val["n"], val["n_event"], val["n_censor"]) == (n, ev, n - ev)


def test_os_has_no_competing_risk_rows(ard):
    os_ = ard.filter(pl.col("paramcd").str.starts_with("OS"))
    assert set(os_["analysis"]) == {
        "KM",
        "KM_EVENTS",
        "KM_MEDIAN",
        "LOGRANK",
        "LOGRANK_UNSTRAT",
        "COX",
        "COX_UNSTRAT",
    }
    assert set(os_["paramcd"]) == {"OS"}

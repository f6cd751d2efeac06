"""hepatrial.survival against R (survival 3.5-3, cmprsk 2.2-11) on the Mayo PBC trial.

Reference numbers: tests/reference/pbc/ (see its README). The 312 randomised patients of pbc.csv,
arm 1 = D-penicillamine, 2 = Placebo. Tolerances as agreed for the project: KM estimate/SE/CI
1e-6 absolute, log-rank chi-square 1e-4, Cox HR/CI 1e-4, CIF and its SE/CI 1e-6, Gray 1e-4.
Where R gives NA, we must give NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hepatrial.survival import (
    cif_at,
    cif_table,
    cox_ph,
    gray_test,
    km_at,
    km_median,
    km_quantile,
    km_table,
    logrank_test,
)

REF = Path(__file__).parent / "pbc"
TIMES = [365.0, 730.0, 1461.0, 1826.0, 3652.0]
ARMS = ["D-penicillamine", "Placebo"]
CAUSE_CODE = {"transplant": 1, "death": 2}


def _data(kind: str = "days") -> pl.DataFrame:
    d = pl.read_csv(REF / "pbc.csv").filter(pl.col("trt").is_not_null())
    assert d.height == 312
    d = d.with_columns(
        arm=pl.when(pl.col("trt") == 1).then(pl.lit(ARMS[0])).otherwise(pl.lit(ARMS[1])),
        tfs=pl.col("status").is_in([1, 2]).cast(pl.Int64),
        os=(pl.col("status") == 2).cast(pl.Int64),
        edema_f=pl.col("edema").map_elements(
            lambda v: {0.0: "0", 0.5: "0.5", 1.0: "1"}[v], return_dtype=pl.String
        ),
        stage_f=pl.col("stage").cast(pl.Int64).cast(pl.String),
    )
    if kind == "months":  # artificial heavily tied time scale, as the extra R script
        d = d.with_columns(time=(pl.col("time") / 30.4375).ceil())
    return d


def assert_close(ours, ref, atol, what=""):
    """Absolute agreement; R NA (null) must be NaN here and vice versa."""
    ours = np.asarray(ours, dtype=float)
    ref = np.asarray([np.nan if v is None else v for v in ref], dtype=float)
    assert ours.shape == ref.shape, what
    na_o, na_r = np.isnan(ours), np.isnan(ref)
    assert np.array_equal(na_o, na_r), f"{what}: NaN pattern differs"
    diff = np.abs(ours[~na_o] - ref[~na_r])
    assert diff.size == 0 or diff.max() <= atol, f"{what}: max abs diff {diff.max():.3g}"


# ----------------------------------------------------------------------------- KM
@pytest.mark.parametrize("endpoint", ["TFS", "OS"])
def test_km_landmarks(endpoint):
    d = _data()
    ev = d["tfs"] if endpoint == "TFS" else d["os"]
    ref = pl.read_csv(REF / f"{endpoint.lower()}_estimates.csv")
    r = ref.filter(pl.col("analysis") == "km_survival").sort(["arm", "time"])
    ours = km_at(d["time"], ev, TIMES, d["arm"], conf_type="log-log").sort(["group", "time"])
    assert ours["group"].to_list() == r["arm"].to_list()
    assert ours["time"].to_list() == r["time"].cast(pl.Float64).to_list()
    for col, rc in [("surv", "estimate"), ("se", "se"), ("lower", "lower"), ("upper", "upper")]:
        assert_close(ours[col], r[rc].to_list(), 1e-6, f"{endpoint} {col}")
    assert ours["n_risk"].to_list() == r["n_risk"].to_list()


@pytest.mark.parametrize("endpoint", ["TFS", "OS"])
def test_km_median(endpoint):
    d = _data()
    ev = d["tfs"] if endpoint == "TFS" else d["os"]
    ref = pl.read_csv(REF / f"{endpoint.lower()}_estimates.csv")
    r = ref.filter(pl.col("analysis") == "median").sort("arm")
    ours = km_median(d["time"], ev, d["arm"]).sort("group")
    for col, rc in [("median", "estimate"), ("lower", "lower"), ("upper", "upper")]:
        assert_close(ours[col], r[rc].to_list(), 1e-9, f"{endpoint} median {col}")


@pytest.mark.parametrize("kind", ["days", "months"])
@pytest.mark.parametrize("endpoint", ["tfs", "os"])
@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_km_full_table(kind, endpoint, conf_type):
    d = _data(kind)
    ref = pl.read_csv(REF / "extra_km_full.csv").filter(
        (pl.col("data") == kind)
        & (pl.col("endpoint") == endpoint)
        & (pl.col("conf_type") == conf_type)
    )
    for grp, group in [("arm", d["arm"]), ("ALL", None)]:
        r = (
            ref.filter(pl.col("group") != "ALL")
            if grp == "arm"
            else ref.filter(pl.col("group") == "ALL")
        )
        r = r.sort(["group", "time"])
        ours = km_table(d["time"], d[endpoint], group, conf_type=conf_type).sort(["group", "time"])
        assert ours["group"].to_list() == r["group"].to_list()
        assert_close(ours["time"], r["time"].to_list(), 0, "time")
        for c in ["n_risk", "n_event", "n_censor"]:
            assert ours[c].to_list() == r[c].to_list(), c
        for c in ["surv", "se", "lower", "upper"]:
            assert_close(ours[c], r[c].to_list(), 1e-6, f"{kind} {endpoint} {conf_type} {c}")


@pytest.mark.parametrize("kind", ["days", "months"])
def test_km_quantiles(kind):
    d = _data(kind)
    ref = pl.read_csv(REF / "extra_km_quantiles.csv").filter(pl.col("data") == kind)
    for (endpoint, conf_type, group, prob), r in ref.group_by(
        ["endpoint", "conf_type", "group", "prob"]
    ):
        sel = d if group == "ALL" else d.filter(pl.col("arm") == group)
        q = km_quantile(sel["time"], sel[endpoint], prob=prob, conf_type=conf_type)
        for c in ["estimate", "lower", "upper"]:
            assert_close(
                q[c], r[c].to_list(), 1e-9, f"{kind} {endpoint} {conf_type} {group} q{prob} {c}"
            )


# ------------------------------------------------------------------------- log-rank
@pytest.mark.parametrize("endpoint", ["TFS", "OS"])
@pytest.mark.parametrize("stratified", [False, True])
def test_logrank(endpoint, stratified):
    d = _data()
    ev = d["tfs"] if endpoint == "TFS" else d["os"]
    ref = pl.read_csv(REF / f"{endpoint.lower()}_tests.csv")
    label = "logrank_strat_sex" if stratified else "logrank"
    res = logrank_test(d["time"], ev, d["arm"], d["sex"] if stratified else None)
    row = ref.filter(pl.col("analysis") == label).row(0, named=True)
    assert abs(res.chisq - row["statistic"]) < 1e-4
    assert abs(res.p - row["p"]) < 1e-6
    assert res.df == 1
    oe = ref.filter(pl.col("analysis") == f"{label}_obs_exp").sort("arm")
    assert res.groups == tuple(oe["arm"].to_list())
    assert_close(res.observed, oe["observed"].to_list(), 0, "observed")
    assert_close(res.expected, oe["expected"].to_list(), 1e-8, "expected")
    assert res.n.tolist() == oe["n"].to_list()


@pytest.mark.parametrize("kind", ["days", "months"])
def test_logrank_k_groups(kind):
    d = _data(kind)
    ref = pl.read_csv(REF / "extra_logrank.csv").filter(pl.col("data") == kind)
    for (endpoint, gv, strat), r in ref.group_by(["endpoint", "group_var", "strata"]):
        res = logrank_test(
            d["time"],
            d[endpoint],
            d[gv],
            d["sex"] if strat == "sex" else None,
            group_order=r["group"].to_list(),
        )
        what = f"{kind} {endpoint} {gv} {strat}"
        assert abs(res.chisq - r["chisq"][0]) < 1e-4, what
        assert res.df == r["df"][0], what
        assert_close(res.expected, r["expected"].to_list(), 1e-8, what)
        assert_close(res.observed, r["observed"].to_list(), 0, what)


# ------------------------------------------------------------------------------ Cox
@pytest.mark.parametrize("endpoint", ["TFS", "OS"])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("reference", ARMS)
def test_cox(endpoint, ties, reference):
    d = _data()
    ev = d["tfs"] if endpoint == "TFS" else d["os"]
    ref = pl.read_csv(REF / f"{endpoint.lower()}_tests.csv")
    other = [a for a in ARMS if a != reference][0]
    row = ref.filter(
        (pl.col("analysis") == f"cox_{ties}_wald")
        & (pl.col("comparison") == f"{other} vs {reference}")
    ).row(0, named=True)
    res = cox_ph(d["time"], ev, d["arm"], reference=reference, ties=ties)
    t = res.table.row(0, named=True)
    assert t["arm"] == other and t["comparator"] == reference
    for ours, theirs in [
        (t["hr"], row["estimate"]),
        (t["lower"], row["lower"]),
        (t["upper"], row["upper"]),
        (t["se"], row["se"]),
        (t["z"], row["statistic"]),
        (t["p"], row["p"]),
    ]:
        assert abs(ours - theirs) < 1e-4
    assert res.n == row["n"] and res.n_events == row["observed"]
    if reference == ARMS[0]:
        lrt = ref.filter(pl.col("analysis") == f"cox_{ties}_lrt").row(0, named=True)
        sc = ref.filter(pl.col("analysis") == f"cox_{ties}_score").row(0, named=True)
        assert abs(res.lrt["chisq"] - lrt["statistic"]) < 1e-6
        assert abs(res.score["chisq"] - sc["statistic"]) < 1e-6


@pytest.mark.parametrize("kind", ["days", "months"])
def test_cox_stratified_k_groups_covariates(kind):
    d = _data(kind)
    ref = pl.read_csv(REF / "extra_cox.csv").filter(pl.col("data") == kind)
    for (endpoint, model, ties), r in ref.group_by(["endpoint", "model", "ties"]):
        kw = dict(ties=ties)
        if model.startswith("arm"):
            group, kw["reference"] = d["arm"], ARMS[0]
        else:
            group, kw["reference"] = d["edema_f"], "0"
        if model.endswith("strat_sex"):
            kw["strata"] = d["sex"]
        if model == "arm_age_logbili":
            kw["covariates"] = np.column_stack([d["age"].to_numpy(), np.log(d["bili"].to_numpy())])
        res = cox_ph(d["time"], d[endpoint], group, **kw)
        what = f"{kind} {endpoint} {model} {ties}"
        assert res.table.height == r.height, what
        for c in ["hr", "lower", "upper", "se", "p"]:
            assert_close(res.table[c], r[c].to_list(), 1e-4, f"{what} {c}")
        assert_close(res.table["coef"], r["coef"].to_list(), 1e-6, f"{what} coef")
        assert abs(res.lrt["chisq"] - r["lrt"][0]) < 1e-5, what
        assert abs(res.score["chisq"] - r["score"][0]) < 1e-5, what
        assert res.n_events == r["nevent"][0]


# ---------------------------------------------------------------- competing risks
@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_cif_landmarks_survfit(conf_type):
    d = _data()
    ref = pl.read_csv(REF / "cr_estimates.csv").filter(
        (pl.col("analysis") == "aj_cuminc_survfit") & (pl.col("conf_type") == conf_type)
    )
    ours = cif_at(d["time"], d["status"], TIMES, d["arm"], variance="ij", conf_type=conf_type)
    for cause, code in CAUSE_CODE.items():
        r = ref.filter(pl.col("endpoint") == cause).sort(["arm", "time"])
        o = ours.filter(pl.col("cause") == code).sort(["group", "time"])
        assert o["group"].to_list() == r["arm"].to_list()
        assert o["time"].to_list() == r["time"].cast(pl.Float64).to_list()
        assert o["n_risk"].to_list() == r["n_risk"].to_list()
        for c, rc in [("cif", "estimate"), ("se", "se"), ("lower", "lower"), ("upper", "upper")]:
            assert_close(o[c], r[rc].to_list(), 1e-6, f"{cause} {conf_type} {c}")


def test_cif_landmarks_cmprsk_delta():
    d = _data()
    ref = pl.read_csv(REF / "cr_estimates.csv").filter(pl.col("analysis") == "cuminc_cmprsk")
    ours = cif_at(d["time"], d["status"], TIMES, d["arm"], variance="delta")
    for cause, code in CAUSE_CODE.items():
        r = ref.filter(pl.col("endpoint") == cause).sort(["arm", "time"])
        o = ours.filter(pl.col("cause") == code).sort(["group", "time"])
        assert_close(o["cif"], r["estimate"].to_list(), 1e-6, f"{cause} cif")
        assert_close(o["se"], r["se"].to_list(), 1e-6, f"{cause} delta se")


@pytest.mark.parametrize("kind", ["days", "months"])
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_cif_full_table(kind, conf_type):
    d = _data(kind)
    ref = pl.read_csv(REF / "extra_cif_full.csv").filter(
        (pl.col("data") == kind) & (pl.col("conf_type") == conf_type)
    )
    for grp, group in [("arm", d["arm"]), ("ALL", None)]:
        tab = cif_table(d["time"], d["status"], group, variance="ij", conf_type=conf_type)
        for cause, code in CAUSE_CODE.items():
            r = ref.filter(
                (pl.col("cause") == cause)
                & ((pl.col("group") != "ALL") if grp == "arm" else (pl.col("group") == "ALL"))
            ).sort(["group", "time"])
            o = tab.filter(pl.col("cause") == code).sort(["group", "time"])
            what = f"{kind} {conf_type} {grp} {cause}"
            assert o["group"].to_list() == r["group"].to_list(), what
            assert_close(o["time"], r["time"].to_list(), 0, what)
            assert o["n_risk"].to_list() == r["n_risk"].to_list(), what
            for c in ["cif", "se", "lower", "upper"]:
                assert_close(o[c], r[c].to_list(), 1e-6, f"{what} {c}")


@pytest.mark.parametrize("kind", ["days", "months"])
def test_cif_delta_all_times(kind):
    """cmprsk::timepoints at every distinct time (NA beyond a group's last event time)."""
    d = _data(kind)
    ref = pl.read_csv(REF / "extra_cif_full.csv").filter(
        (pl.col("data") == kind)
        & (pl.col("conf_type") == "cmprsk_delta")
        & pl.col("cif").is_not_null()
    )
    for grp, _group in [("arm", d["arm"]), ("ALL", None)]:
        for cause, code in CAUSE_CODE.items():
            r = ref.filter(
                (pl.col("cause") == cause)
                & ((pl.col("group") != "ALL") if grp == "arm" else (pl.col("group") == "ALL"))
            )
            for lab in r["group"].unique().to_list():
                rr = r.filter(pl.col("group") == lab).sort("time")
                sel = d if lab == "ALL" else d.filter(pl.col("arm") == lab)
                o = cif_at(
                    sel["time"],
                    sel["status"],
                    rr["time"].to_numpy(),
                    causes=[1, 2],
                    variance="delta",
                ).filter(pl.col("cause") == code)
                what = f"{kind} delta {lab} {cause}"
                assert rr.height > 10, what
                assert_close(o["cif"], rr["cif"].to_list(), 1e-6, f"{what} cif")
                assert_close(o["se"], rr["se"].to_list(), 1e-6, f"{what} se")


def test_gray():
    d = _data()
    ref = pl.read_csv(REF / "cr_tests.csv")
    res = gray_test(d["time"], d["status"], d["arm"])
    for cause, code in CAUSE_CODE.items():
        row = ref.filter(pl.col("endpoint") == cause).row(0, named=True)
        assert abs(res[code].chisq - row["statistic"]) < 1e-4
        assert abs(res[code].p - row["p"]) < 1e-4
        assert res[code].df == row["df"]


@pytest.mark.parametrize("kind", ["days", "months"])
def test_gray_k_groups_strata_rho(kind):
    d = _data(kind)
    ref = pl.read_csv(REF / "extra_gray.csv").filter(pl.col("data") == kind)
    specs = {
        "arm": ("arm", None, 0.0),
        "edema": ("edema_f", None, 0.0),
        "stage": ("stage_f", None, 0.0),
        "arm_strat_sex": ("arm", "sex", 0.0),
        "stage_strat_sex": ("stage_f", "sex", 0.0),
        "arm_rho1": ("arm", None, 1.0),
    }
    for row in ref.iter_rows(named=True):
        gv, sv, rho = specs[row["test"]]
        res = gray_test(
            d["time"],
            d["status"],
            d[gv],
            cause=CAUSE_CODE[row["cause"]],
            strata=None if sv is None else d[sv],
            rho=rho,
        )
        what = f"{kind} {row['test']} {row['cause']}"
        assert abs(res.chisq - row["chisq"]) < 1e-4, what
        assert abs(res.p - row["p"]) < 1e-4, what
        assert res.df == row["df"], what

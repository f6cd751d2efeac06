"""The parameter table's decimals are the precision the data are recorded at: a summary table's
Min/Max (shown at the parameter's decimals) neither cuts a recorded digit nor invents one (albumin
recorded to 0.1 g/L showed "20, 40"; the protocol MELD, an integer, showed "13.64 (5.546)").

Checked against the bundled data of all five studies (every cut under data/): each lab of the table
against the results recorded in its own unit (others are converted at ingest), each score recorded
on RS against RS; and, when a run has written them (results/<study>/<cut>/adam/), every
parameter of ADLB, ADEFF and ADQS whose values are recorded or rounded by their derivation
(at most 6 decimals; an unrounded derived value, e.g. a converted lab, or a questionnaire scale
score, has no recorded precision and keeps the table's display choice).

A parameter outside the table takes its recorded precision (the ARD DECIMALS rows of the desc job,
hepatrial.analysis.descriptive.parameter_decimals: TREG, TH17, CA153 recorded to 0.01 were shown
with the default 1 decimal); MELDKAM's follow the study's scores.meld_kamath.integer (an integer
in the RCT, unrounded in the dose-escalation study, where it showed "-2, 19")."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hepatrial.analysis.descriptive import describe_by_visit, parameter_decimals
from hepatrial.ard import finalise
from hepatrial.spec import load as load_study
from hepatrial.spec.params import (
    PARAMS,
    RECORDED_DECIMALS_CAP,
    UNROUNDED_DECIMALS,
    declared_decimals,
)
from hepatrial.spec.params import recorded_decimals as spec_recorded

ROOT = Path(__file__).resolve().parents[2]
STUDIES = sorted(ROOT.glob("config/studies/*.yaml"))
CUTS = sorted(p.parent for p in ROOT.glob("data/*/*/lb.csv"))
ADAM = sorted(
    p for ds in ("adlb", "adeff", "adqs") for p in ROOT.glob(f"results/*/*/adam/{ds}.parquet")
)
UNROUNDED = 6  # more decimals than this: a derived value nobody recorded
# Scale scores computed from items (CLDQ domain means, SF-36 0-100 scales and summaries): no recorded
# precision (a mean of 4 items can have 2 decimals, of 7 items 16); shown with 1 decimal by choice
# (docs/tlf.md). The SF-36 health change item (0, 25, ..., 100) is one item, not a scale.
SCALES = {"CLDQOVR", "CLDQAS", "CLDQFA", "CLDQSY", "CLDQAC", "CLDQEM", "CLDQWO"} | {
    p for p in PARAMS if p.startswith("SF") and p != "SFHC" and PARAMS[p].dataset == "adqs"
}


def recorded_decimals(values) -> int:
    """The most decimals among numeric results written as text ("20.25" -> 2, "<20" ignored)."""
    out = 0
    for v in values:
        try:
            float(v)
        except (TypeError, ValueError):
            continue
        out = max(out, len(v.split(".")[1]) if "." in v else 0)
    return out


def value_decimals(x: float) -> int:
    """Decimals of a stored float as the shortest repr writes it (30.1 -> 1, 13.0 -> 0)."""
    text = repr(float(x))
    if "e" in text or "n" in text:  # 1e-05, nan, inf
        return 99
    whole, _, frac = text.partition(".")
    return 0 if frac in ("", "0") else len(frac)


def test_recorded_decimals_by_hand():
    assert recorded_decimals(["20.2", "35", "<20", "0.125"]) == 3
    assert [value_decimals(x) for x in (30.1, 13.0, 0.123, 1 / 3)] == [1, 0, 3, 16]


def _pooled(kind: str) -> pl.DataFrame:
    frames = [pl.read_csv(c / f"{kind}.csv", infer_schema_length=0) for c in CUTS]
    return pl.concat(frames, how="diagonal")


def test_every_lab_of_the_table_has_the_recorded_decimals():
    """All cuts pooled: the table's decimals equal the most decimals any bundled cut records the lab
    with in the table's unit (INR: no unit)."""
    lb = _pooled("lb")
    wrong, checked = {}, 0
    for code, p in PARAMS.items():
        if p.dataset != "adlb" or p.param is not None:  # a derived lab (LHBVDNA): not recorded
            continue
        unit = pl.col("LBORRESU") == p.unit if p.unit else pl.col("LBORRESU").is_null()
        rows = lb.filter((pl.col("LBTESTCD") == code) & unit)
        if rows.height:
            d = recorded_decimals(rows["LBORRES"].to_list())
            checked += 1
            if p.decimals != d:
                wrong[code] = (p.decimals, d)
    assert wrong == {}, "(table, recorded)"
    assert checked >= 20


def test_every_score_recorded_on_rs_has_the_recorded_decimals():
    rs = _pooled("rs")
    wrong = {}
    for code, p in PARAMS.items():
        if p.dataset != "adeff" or p.decimals is None:
            continue
        rows = rs.filter(pl.col("RSTESTCD") == code)
        if rows.height:
            d = recorded_decimals(rows["RSORRES"].to_list())
            if p.decimals != d:
                wrong[code] = (p.decimals, d)
    assert wrong == {}, "(table, recorded)"


@pytest.mark.parametrize("cut", CUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lab_decimals_keep_every_recorded_digit(cut):
    lb = pl.read_csv(cut / "lb.csv", infer_schema_length=0)
    checked = 0
    for code, p in PARAMS.items():
        if p.dataset != "adlb" or p.decimals is None or not p.unit:
            continue
        rows = lb.filter((pl.col("LBTESTCD") == code) & (pl.col("LBORRESU") == p.unit))
        if rows.height:
            assert recorded_decimals(rows["LBORRES"].to_list()) <= p.decimals, (code, p.unit)
            checked += 1
    assert checked > 0


@pytest.mark.skipif(not ADAM, reason="no results/*/*/adam/ (run snakemake first)")
@pytest.mark.parametrize("path", ADAM, ids=lambda p: "/".join(p.parts[-4:]))
def test_adam_parameters_have_the_table_decimals(path):
    """Every PARAMCD of the table in a written ADLB/ADEFF/ADQS whose values are recorded or rounded
    (at most 6 decimals): the table's decimals are the most decimals of its values (the protocol
    MELD rounded to an integer: 0; the EQ-5D index rounded to 3: 3)."""
    df = pl.read_parquet(path, columns=["PARAMCD", "AVAL"]).drop_nulls("AVAL")
    got = (
        df.filter(pl.col("AVAL").is_finite())
        .with_columns(pl.col("AVAL").map_elements(value_decimals, return_dtype=pl.Int64).alias("d"))
        .group_by("PARAMCD")
        .agg(pl.col("d").max())
    )
    wrong = {}
    for code, d in got.iter_rows():
        p = PARAMS.get(code)
        if p is None or p.decimals is None or d > UNROUNDED or code in SCALES:
            continue
        if p.decimals != d:
            wrong[code] = (p.decimals, d)
    assert wrong == {}, "(table, data)"


# --- parameters outside the table: their decimals from the recorded results -------------------------
# (hepatrial.analysis.descriptive.parameter_decimals, the ARD DECIMALS rows every table reads)


def test_the_pipelines_recorded_decimals_by_hand():
    assert spec_recorded(["20.2", "35", "<20", "0.125"]) == 3
    assert spec_recorded(["12.30", "7"]) == 2  # a trailing zero is recorded precision
    assert spec_recorded(["1.23456"]) == RECORDED_DECIMALS_CAP == 3  # capped
    assert spec_recorded(["1.5e-2"]) == 3 and spec_recorded(["2e1"]) == 0
    assert spec_recorded(["<20", "NEG", "", None, "nan"]) is None  # no number: no decision


def _adlb_of(cut: Path, codes: set[str]) -> pl.DataFrame:
    """The labs ``codes`` of a bundled cut as ADLB carries them: LBORRES as recorded, AVAL its
    number in the recorded unit (these labs have no conversion), analysed at the visit."""
    lb = pl.read_csv(cut / "lb.csv", infer_schema_length=0).filter(pl.col("LBTESTCD").is_in(codes))
    return lb.select(
        pl.col("LBTESTCD").alias("PARAMCD"),
        "LBORRES",
        pl.col("LBORRES").cast(pl.Float64, strict=False).alias("AVAL"),
    )


@pytest.mark.parametrize("cut", CUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_lab_outside_the_table_takes_the_most_decimals_it_is_recorded_with(cut):
    """TREG, TH17, CA153 (recorded to 0.01), CD4, PTCONT (0.1) ...: every lab of a bundled cut the
    table does not declare gets its recorded precision (was: 1 decimal for all, a digit cut from
    TREG's min and max), decided from LBORRES as an independent count of this test file does."""
    lb = pl.read_csv(cut / "lb.csv", infer_schema_length=0)
    outside = sorted(set(lb["LBTESTCD"].drop_nulls()) - set(PARAMS))
    assert outside, "every bundled cut has labs outside the table"
    adlb = _adlb_of(cut, set(outside))
    study = load_study(STUDIES[0])  # any study: a lab's decimals do not depend on it
    got = {
        r["paramcd"]: (int(r["value"]), r["method"])
        for r in parameter_decimals(adlb, outside, study).iter_rows(named=True)
    }
    for code in outside:
        texts = lb.filter(pl.col("LBTESTCD") == code)["LBORRES"].to_list()
        want = min(recorded_decimals(texts), RECORDED_DECIMALS_CAP)
        assert got[code][0] == want, (code, got[code], want)
        assert got[code][1].startswith("recorded: most decimals of LBORRES")
    if "TREG" in outside:
        assert got["TREG"][0] == 2 and got["CA153"][0] == 2


def test_a_converted_or_censored_result_does_not_decide():
    """Only results that are the analysis value count: a bilirubin-like lab recorded in mg/dL
    (converted: 1.234 mg/dL is not AVAL 21.1) or below the limit ("<0.5") says nothing."""
    adlb = pl.DataFrame(
        {
            "PARAMCD": ["XLAB"] * 4,
            "LBORRES": ["12.3", "1.234", "<0.5", "14"],
            "AVAL": [12.3, 21.1014, 0.25, 14.0],
        }
    )
    study = load_study(STUDIES[0])
    [row] = parameter_decimals(adlb, ["XLAB"], study).iter_rows(named=True)
    assert row["value"] == 1.0


def _kamath_values(integer: str) -> list[float]:
    """MELDKAM by the pipeline's scoring of a few lab triples (hepatrial.scores)."""
    from hepatrial.scores import compute_meld_kamath

    labs = pl.DataFrame(
        {"BILI": [20.5, 55.0, 130.0], "INR": [1.13, 1.6, 2.35], "CREAT": [70.0, 95.0, 160.0]}
    ).with_columns(pl.lit(1.0).alias("E"))
    expr = compute_meld_kamath(
        "BILI", "INR", "CREAT", "E", coefficients="kamath2001", integer=integer
    )
    return labs.select(expr.alias("m"))["m"].to_list()


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_meldkam_decimals_follow_the_studys_rounding(path):
    """MELDKAM is an integer only where the study's scores.meld_kamath.integer makes it one (the
    RCT's protocol form: round); the dose-escalation study keeps it unrounded (integer: none):
    its MELDKAM, and its BLMELD (its primary MELD), are not shown as integers."""
    study = load_study(path)
    integer = study.scores.meld_kamath.integer
    got = declared_decimals(study)["MELDKAM"]
    values = _kamath_values(integer)
    if integer in ("round", "truncate"):
        assert got == 0 and all(v == int(v) for v in values)
    else:
        assert integer == "none" and got == UNROUNDED_DECIMALS
        assert any(v != int(v) for v in values)  # not an integer: a digit would be cut at 0
    assert declared_decimals(study)["BLMELD"] == declared_decimals(study).get(
        study.scores.meld_primary, 0
    )
    adeff = pl.DataFrame({"PARAMCD": ["MELDKAM"] * 3, "AVAL": values})
    [row] = parameter_decimals(adeff, ["MELDKAM"], study).iter_rows(named=True)
    assert row["value"] == got and f"integer {integer}" in row["method"]


def test_the_bundled_dose_escalation_study_has_a_non_integer_meldkam():
    study = load_study(ROOT / "config/studies/ucmsc-dose-escalation.yaml")
    assert study.scores.meld_kamath.integer == "none" and study.scores.meld_primary == "MELDKAM"
    rct = load_study(ROOT / "config/studies/ucmsc-dc-rct.yaml")
    assert rct.scores.meld_kamath.integer == "round"


def test_tables_format_a_lab_outside_the_table_at_its_recorded_decimals(tmp_path):
    """The DECIMALS rows reach every table through the ARD: TREG recorded to 0.01 shows min and max
    with 2 decimals, mean 3, SD 4 (was 1, 2, 3)."""
    from test_tlf_data import CUT, adsl, study

    from hepatrial.analysis import baseline as B
    from hepatrial.report import content
    from hepatrial.tlf.tables import ARD, build_table

    st = study(tmp_path)
    subjects = ["S1", "S2", "S3", "S4"]
    adlb = pl.DataFrame(
        {
            "USUBJID": subjects,
            "TRT01P": ["UC-MSC", "UC-MSC", "Placebo", "Placebo"],
            "ITTFL": ["Y"] * 4,
            "PARAMCD": ["TREG"] * 4,
            "LBORRES": ["5.12", "4.4", "6.25", "3.91"],
            "AVAL": [5.12, 4.4, 6.25, 3.91],
            "AVISIT": ["BASELINE"] * 4,
            "AVISITN": [0.0] * 4,
            "ANL01FL": ["Y"] * 4,
            "CHG": [None] * 4,
        },
        schema_overrides={"CHG": pl.Float64},
    )
    ard = finalise(
        pl.concat(
            [
                B.big_n(adsl(), st),
                describe_by_visit(adlb, "TREG", st),
                parameter_decimals(adlb, ["TREG"], st),
            ],
            how="vertical",
        )
    )
    a = ARD(ard, st, CUT)
    assert a.decimals["TREG"] == 2
    t = build_table("desc_TREG", a, "r")
    rows = {r.label: r.cells for r in t.rows}
    assert rows["Min, Max"][0] == "4.40, 5.12" and rows["Min, Max"][-1] == "3.91, 6.25"
    assert rows["Mean (SD)"][0] == "4.760 (0.5091)"  # (5.12 + 4.4) / 2; SD |5.12 - 4.4| / sqrt 2
    rep = content.from_tlf(t)  # the report prints the same cells
    assert ["Min, Max", *rows["Min, Max"]] in rep.rows

"""The parameter table's decimals are the precision the data are recorded at: a summary table's
Min/Max (shown at the parameter's decimals) neither cuts a recorded digit nor invents one (albumin
recorded to 0.1 g/L showed "20, 40"; the protocol MELD, an integer, showed "13.64 (5.546)").

Checked against the bundled data of all five studies (every cut under data/): each lab of the table
against the results recorded in its own unit (others are converted at ingest), each score recorded
on RS against RS; and, when a run has written them (results/<study>/<cut>/adam/), every
parameter of ADLB, ADEFF and ADQS whose values are recorded or rounded by their derivation
(at most 6 decimals; an unrounded derived value, e.g. a converted lab, or a questionnaire scale
score, has no recorded precision and keeps the table's display choice)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hepatrial.spec.params import PARAMS

ROOT = Path(__file__).resolve().parents[2]
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

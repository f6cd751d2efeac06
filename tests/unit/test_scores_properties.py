"""Property tests of hepatrial.scores: monotonicity of the MELD family, range and class of CTP.

Each example evaluates a small frame (a base state and the same state with one input increased,
one row per input), so that the property is checked on the polars expressions themselves.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial import scores

SETTINGS = settings(max_examples=100, deadline=None)

# realistic SI ranges, including values below the MELD lower bounds and above the caps
bili = st.floats(min_value=2.0, max_value=900.0)  # umol/L (0.12-53 mg/dL)
inr = st.floats(min_value=0.6, max_value=9.0)
creat = st.floats(min_value=20.0, max_value=1200.0)  # umol/L (0.23-13.6 mg/dL)
sodium = st.floats(min_value=105.0, max_value=160.0)
alb = st.floats(min_value=8.0, max_value=60.0)  # g/L
flag = st.booleans()
increase = st.floats(min_value=0.0, max_value=500.0)
factor = st.floats(min_value=1.0, max_value=30.0)  # multiplicative increase of one lab value

LABS = ("BILI", "INR", "CREAT")


def _pair(base: dict, lab: str, delta: float) -> pl.DataFrame:
    """Row 0: base state; row 1: the same with ``lab`` increased by ``delta``."""
    rows = {k: [v, v] for k, v in base.items()}
    rows[lab] = [base[lab], base[lab] + delta]
    return pl.DataFrame(rows)


def _non_decreasing(frame: pl.DataFrame, expr: pl.Expr) -> None:
    lo, hi = frame.select(expr.alias("s"))["s"].to_list()
    assert lo is not None and hi is not None
    assert hi >= lo, (frame.to_dicts(), lo, hi)


def _scaled(base: dict, times: float) -> pl.DataFrame:
    """Row 0: base state; rows 1-3: the same with BILI, INR, CREAT in turn multiplied by
    ``times`` (>= 1), the other inputs held fixed."""
    rows = [dict(base)]
    for lab in LABS:
        rows.append({**base, lab: base[lab] * times})
    return pl.DataFrame(rows)


def _non_decreasing_in_each_lab(frame: pl.DataFrame, expr: pl.Expr) -> None:
    values = frame.select(expr.alias("s"))["s"].to_list()
    assert None not in values
    for lab, value in zip(LABS, values[1:], strict=True):
        assert value >= values[0], (lab, frame.to_dicts(), values)


@SETTINGS
@given(b=bili, i=inr, c=creat, d=flag, times=factor)
def test_meld_unos_non_decreasing_in_each_lab(b, i, c, d, times):
    frame = _scaled({"BILI": b, "INR": i, "CREAT": c, "DIAL": d}, times)
    _non_decreasing_in_each_lab(frame, scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL"))


@SETTINGS
@given(b=bili, i=inr, c=creat, na=sodium, d=flag, times=factor)
def test_meld_na_non_decreasing_in_each_lab(b, i, c, na, d, times):
    frame = _scaled({"BILI": b, "INR": i, "CREAT": c, "NA": na, "DIAL": d}, times)
    meld_i = scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL", capped=False)
    _non_decreasing_in_each_lab(frame, scores.compute_meld_na(meld_i, "NA"))


@SETTINGS
@given(b=bili, i=inr, c=creat, na=sodium, a=alb, f=flag, d=flag, times=factor)
def test_meld3_non_decreasing_in_each_lab(b, i, c, na, a, f, d, times):
    frame = _scaled({"BILI": b, "INR": i, "CREAT": c, "NA": na, "ALB": a, "F": f, "DIAL": d}, times)
    _non_decreasing_in_each_lab(
        frame, scores.compute_meld3("BILI", "INR", "CREAT", "NA", "ALB", "F", "DIAL")
    )


@SETTINGS
@given(b=bili, i=inr, c=creat, e=st.sampled_from([0, 1]), times=factor)
def test_meld_kamath_non_decreasing_in_each_lab(b, i, c, e, times):
    frame = _scaled({"BILI": b, "INR": i, "CREAT": c, "ETIO": e}, times)
    _non_decreasing_in_each_lab(frame, scores.compute_meld_kamath("BILI", "INR", "CREAT", "ETIO"))


@SETTINGS
@given(b=bili, i=inr, c=creat, na=sodium, a=alb, f=flag, d=flag)
def test_meld_scores_stay_within_their_ranges(b, i, c, na, a, f, d):
    frame = pl.DataFrame(
        {"BILI": [b], "INR": [i], "CREAT": [c], "NA": [na], "ALB": [a], "F": [f], "DIAL": [d]}
    )
    out = frame.select(
        m=scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL"),
        mna=scores.compute_meld_na(
            scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL", capped=False), "NA"
        ),
        mna_capped_first=scores.compute_meld_na(
            scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL"), "NA"
        ),
        m3=scores.compute_meld3("BILI", "INR", "CREAT", "NA", "ALB", "F", "DIAL"),
    ).row(0, named=True)
    assert 6 <= out["m"] <= 40 and out["m"] == int(out["m"])
    assert out["m"] <= out["mna"] <= 40 and out["mna"] == int(out["mna"])
    # the cap at 40 on MELD(i) before MELD-Na never changes the result
    assert out["mna"] == out["mna_capped_first"]
    assert 6 <= out["m3"] <= 40 and out["m3"] == int(out["m3"])


ascites = st.sampled_from(["NONE", "MILD", "MODERATE-SEVERE", "1", "2", "3", " mild "])
hegrade = st.sampled_from(["0", "1", "2", "3", "4", "Grade 2"])


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            bili, alb, inr, st.floats(min_value=-2.0, max_value=20.0), ascites, hegrade, flag, flag
        ),
        min_size=1,
        max_size=20,
    )
)
def test_ctp_score_in_5_to_15_and_class_agrees(rows):
    frame = pl.DataFrame(
        rows, schema=["BILI", "ALB", "INR", "PTPROL", "ASC", "HE", "CHOL", "USEPT"], orient="row"
    )
    out = frame.select(
        inr=scores.compute_ctp_score("BILI", "ALB", "INR", "ASC", "HE", "CHOL"),
        pt=scores.compute_ctp_score("BILI", "ALB", "PTPROL", "ASC", "HE", "CHOL", coag="PT"),
    )
    for col in ("inr", "pt"):
        score = out[col]
        assert score.null_count() == 0
        assert score.min() >= 5 and score.max() <= 15
        klass = out.select(scores.compute_ctp_class(col)).to_series().to_list()
        for s, k in zip(score.to_list(), klass, strict=True):
            assert k == ("A" if s <= 6 else "B" if s <= 9 else "C")


@SETTINGS
@given(b=bili, a=alb, i=inr, delta=increase, chol=flag)
def test_ctp_non_decreasing_in_bili_and_inr_non_increasing_in_albumin(b, a, i, delta, chol):
    base = {"BILI": b, "ALB": a, "INR": i, "ASC": "MILD", "HE": "1", "CHOL": chol}
    expr = scores.compute_ctp_score("BILI", "ALB", "INR", "ASC", "HE", "CHOL")
    _non_decreasing(_pair(base, "BILI", delta), expr)
    _non_decreasing(_pair(base, "INR", delta / 50), expr)
    lo, hi = _pair(base, "ALB", delta / 10).select(expr.alias("s"))["s"].to_list()
    assert hi <= lo

"""The derived log10 lab parameter (labs.log10, default HBVDNA -> LHBVDNA), by hand."""

from __future__ import annotations

import math

import polars as pl
import pytest

from hepatrial.adam.adlb import derive_params_log10


def adlb() -> pl.DataFrame:
    # HBV DNA "<20" IU/mL with labs.below_lloq half_lloq enters ADLB as 10 IU/mL, BLQFL Y, LLOQ 20
    return pl.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S1", "S1"],
            "PARAMCD": ["HBVDNA", "HBVDNA", "HBVDNA", "ALT"],
            "PARAM": ["HBV DNA (IU/mL)"] * 3 + ["ALT (U/L)"],
            "AVAL": [10.0, 2000.0, 0.0, 40.0],
            "AVALC": ["<20", "2000", "0", "40"],
            "AVALCAT1": ["<LLOQ", None, None, None],
            "BLQFL": ["Y", None, None, None],
            "LLOQ": [20.0, None, None, None],
            "ULOQ": [None] * 4,
            "ANRLO": [None, None, None, 0.0],
            "ANRHI": [20.0, 20.0, 20.0, 40.0],
            "SRCROW": [1, 2, 3, 4],
        },
        schema_overrides={"ULOQ": pl.Float64, "ANRLO": pl.Float64},
    )


def test_log10_rows_by_hand():
    out = derive_params_log10(adlb(), {"HBVDNA": "LHBVDNA"}, {"LHBVDNA": "HBV DNA (log10 IU/mL)"})
    assert out.height == 4 + 3  # one derived row per HBV DNA row, nothing dropped
    d = out.filter(pl.col("PARAMCD") == "LHBVDNA").sort("SRCROW")
    # log10(10) = 1; log10(2000) = 3 + log10(2) = 3.30103; log10(0) undefined -> missing, row kept
    assert d["AVAL"].to_list()[:2] == [pytest.approx(1.0), pytest.approx(3 + math.log10(2))]
    assert d["AVAL"][2] is None
    assert d["BLQFL"].to_list() == ["Y", None, None] and d["AVALCAT1"][0] == "<LLOQ"
    assert d["LLOQ"][0] == pytest.approx(math.log10(20)) and d["ANRHI"][0] == pytest.approx(
        math.log10(20)
    )
    assert d["PARAMTYP"].to_list() == ["DERIVED"] * 3 and set(d["PARAM"]) == {
        "HBV DNA (log10 IU/mL)"
    }
    assert d["AVALC"].null_count() == 3
    assert out.filter(pl.col("PARAMCD") != "LHBVDNA")["PARAMTYP"].null_count() == 4


def test_no_log10_when_not_configured():
    out = derive_params_log10(adlb(), {}, {})
    assert out.height == 4 and "PARAMTYP" in out.columns

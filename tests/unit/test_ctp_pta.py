"""CTP with prothrombin activity (PTA %) in place of INR (scores.ctp_coagulation: PTA), by hand."""

from __future__ import annotations

import polars as pl
import pytest

from hepatrial import scores
from hepatrial.errors import ConfigError


def points(values, cutoffs=(60.0, 40.0)):
    df = pl.DataFrame({"PTA": values}, schema={"PTA": pl.Float64})
    return df.select(scores.compute_ctp_points_pta("PTA", cutoffs).alias("p"))["p"].to_list()


def test_pta_points_and_boundaries():
    # > 60 -> 1; 40 to 60 both ends -> 2; < 40 -> 3; missing or <= 0 -> missing
    assert points([100.0, 60.1, 60.0, 50.0, 40.0, 39.9, 5.0, None, 0.0]) == [
        1,
        1,
        2,
        2,
        2,
        3,
        3,
        None,
        None,
    ]


def test_pta_cutoffs_from_config():
    assert points([55.0, 45.0, 25.0], (50.0, 30.0)) == [1, 2, 3]
    with pytest.raises(ConfigError, match="upper cut-off"):
        points([55.0], (30.0, 50.0))


def test_ctp_score_with_pta_by_hand():
    # bilirubin 40 umol/L = 2.34 mg/dL -> 2; albumin 30 g/L -> 2; PTA 35 % -> 3; ascites MILD -> 2;
    # HE grade 0 -> 1: 2 + 2 + 3 + 2 + 1 = 10 (class C). With INR 1.5 instead (1 point): 8 (B).
    df = pl.DataFrame(
        {"BILI": [40.0], "ALB": [30.0], "PTA": [35.0], "INR": [1.5], "ASC": ["MILD"], "HE": ["0"]}
    )
    pta = df.select(
        scores.compute_ctp_score("BILI", "ALB", "PTA", "ASC", "HE", coag="PTA").alias("s")
    )["s"][0]
    inr = df.select(
        scores.compute_ctp_score("BILI", "ALB", "INR", "ASC", "HE", coag="INR").alias("s")
    )["s"][0]
    assert (pta, inr) == (10, 8)
    with pytest.raises(ConfigError, match="'PTA'"):
        df.select(scores.compute_ctp_score("BILI", "ALB", "PTA", "ASC", "HE", coag="PTT"))

"""The parameter table's decimals are the precision the labs are recorded with: a summary table's
Min/Max (shown at the parameter's decimals) never cuts a recorded digit. Checked on every bundled
data cut, for the results recorded in the parameter's own unit (others are converted at ingest)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hepatrial.spec.params import PARAMS

ROOT = Path(__file__).resolve().parents[2]
CUTS = sorted(p.parent for p in ROOT.glob("data/*/*/lb.csv"))


def recorded_decimals(values: list[str]) -> int:
    """The most decimals among numeric results written as text ("20.25" -> 2, "<20" ignored)."""
    out = 0
    for v in values:
        try:
            float(v)
        except (TypeError, ValueError):
            continue
        out = max(out, len(v.split(".")[1]) if "." in v else 0)
    return out


def test_recorded_decimals_by_hand():
    assert recorded_decimals(["20.2", "35", "<20", "0.125"]) == 3


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

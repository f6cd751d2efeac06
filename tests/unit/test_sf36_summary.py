"""SF-36 physical and mental component summaries (SFPCS, SFMCS), by hand from the 1990 US norms
and factor score coefficients of Ware, Kosinski and Keller (1994)."""

from __future__ import annotations

import polars as pl
import pytest

from hepatrial import scores

MEANS = {
    "SFPF": 84.52404,
    "SFRP": 81.19907,
    "SFPN": 75.49196,
    "SFGH": 72.21316,
    "SFEF": 61.05453,
    "SFSF": 83.59753,
    "SFRE": 81.29467,
    "SFEW": 74.84212,
}


def scales(rows: dict[str, dict[str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"USUBJID": u, "QSDTC": "2024-01-01", "PARAMCD": p, "AVAL": v}
            for u, vals in rows.items()
            for p, v in vals.items()
        ],
        schema={"USUBJID": pl.Utf8, "QSDTC": pl.Utf8, "PARAMCD": pl.Utf8, "AVAL": pl.Float64},
    )


def summary(df: pl.DataFrame) -> dict[tuple[str, str], float | None]:
    out = scores.score_sf36_summary(df)
    return {(r["USUBJID"], r["PARAMCD"]): r["AVAL"] for r in out.iter_rows(named=True)}


def test_norm_means_give_50_and_one_scale_moves_by_its_coefficient():
    s = summary(
        scales(
            {
                "MEAN": dict(MEANS),
                "PF100": {**MEANS, "SFPF": 100.0},
                "ALL100": {c: 100.0 for c in MEANS},
                "MISSING": {**MEANS, "SFEW": None},
            }
        )
    )
    assert s[("MEAN", "SFPCS")] == pytest.approx(50.0) and s[("MEAN", "SFMCS")] == pytest.approx(
        50.0
    )
    # by hand: z_PF = (100 - 84.52404) / 22.89490 = 0.6759567; the other z are 0.
    # PCS = 50 + 10 x 0.42402 x 0.6759567 = 52.866192; MCS = 50 + 10 x (-0.22999) x 0.6759567 = 48.445367
    z = (100 - 84.52404) / 22.89490
    assert z == pytest.approx(0.6759567, abs=1e-7)
    assert s[("PF100", "SFPCS")] == pytest.approx(52.866192, abs=1e-6)
    assert s[("PF100", "SFMCS")] == pytest.approx(48.445367, abs=1e-6)
    # all eight at 100, written out term by term (z_s = (100 - mean_s) / SD_s)
    terms = [
        ((100 - 84.52404) / 22.89490, 0.42402, -0.22999),
        ((100 - 81.19907) / 33.79729, 0.35119, -0.12329),
        ((100 - 75.49196) / 23.55879, 0.31754, -0.09731),
        ((100 - 72.21316) / 20.16964, 0.24954, -0.01571),
        ((100 - 61.05453) / 20.86942, 0.02877, 0.23534),
        ((100 - 83.59753) / 22.37642, -0.00753, 0.26876),
        ((100 - 81.29467) / 33.02717, -0.19206, 0.43407),
        ((100 - 74.84212) / 18.01189, -0.22069, 0.48581),
    ]
    assert s[("ALL100", "SFPCS")] == pytest.approx(
        50 + 10 * sum(z * a for z, a, _ in terms), abs=1e-9
    )
    assert s[("ALL100", "SFMCS")] == pytest.approx(
        50 + 10 * sum(z * b for z, _, b in terms), abs=1e-9
    )
    # a missing scale: no summary (the algorithm needs all eight)
    assert s[("MISSING", "SFPCS")] is None and s[("MISSING", "SFMCS")] is None

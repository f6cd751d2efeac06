"""hepatrial.models.rates against base R 4.2 (numbers from responder/responder_reference.R; R is
not called): Clopper-Pearson limits (binom.test), Miettinen-Nurminen score limits (written out in R
with a different algorithm: the restricted MLE as a uniroot of the profile score, not the cubic's
closed form), the CMH chi-square and p-value (mantelhaen.test, correct = FALSE; one stratum:
(N - 1) / N Pearson) and the Mantel-Haenszel common risk difference with Sato's variance.

Cases: fixed and random counts, zero and full cells, strata without one arm, and the 2 x 2 x 2
tables of the bundled RCT cut's responder definitions (data_rct_strata.csv). Tolerance 1e-6
absolute everywhere (the largest deviations are printed by ``-s`` and in docs/responder.md).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hepatrial.models.rates import clopper_pearson, cmh_risk_difference, miettinen_nurminen

HERE = Path(__file__).parent / "responder"
TOL = 1e-6
CP = pl.read_csv(HERE / "ref_cp.csv")
MN = pl.read_csv(HERE / "ref_mn.csv")
CMH = pl.read_csv(HERE / "ref_cmh.csv")


def test_clopper_pearson_matches_binom_test():
    worst = 0.0
    for r in CP.iter_rows(named=True):
        lo, hi = clopper_pearson(int(r["x"]), int(r["n"]))
        worst = max(worst, abs(lo - r["lower"]), abs(hi - r["upper"]))
    print(f"Clopper-Pearson: largest deviation {worst:.2e} over {CP.height} cases")
    assert worst < TOL


def test_miettinen_nurminen_matches_the_r_score_interval():
    worst = 0.0
    for r in MN.iter_rows(named=True):
        rd, lo, hi = miettinen_nurminen(int(r["x1"]), int(r["n1"]), int(r["x2"]), int(r["n2"]))
        dev = max(abs(rd - r["rd"]), abs(lo - r["lower"]), abs(hi - r["upper"]))
        assert dev < TOL, (r, (rd, lo, hi))
        worst = max(worst, dev)
    print(f"Miettinen-Nurminen: largest deviation {worst:.2e} over {MN.height} cases")


@pytest.mark.parametrize("case", CMH["case"].to_list())
def test_cmh_and_mantel_haenszel_risk_difference_match_r(case):
    r = CMH.filter(pl.col("case") == case).row(0, named=True)
    tables = [tuple(int(v) for v in s.split("/")) for s in r["strata"].split(";")]
    got = cmh_risk_difference(tables)
    for stat in ("chisq", "p", "rd", "se", "lower", "upper"):
        assert got[stat] == pytest.approx(r[stat], abs=TOL), (case, stat)
    assert got["df"] == 1.0
    assert got["n_strata"] == sum(1 for _, n1, _, n2 in tables if n1 and n2)


def test_the_rct_cases_are_the_bundled_cuts_tables():
    rct = CMH.filter(pl.col("case").str.starts_with("RCT_"))
    assert rct.height == 4  # CTPIMP and MELDIMP2 at weeks 24 and 48
    data = pl.read_csv(HERE / "data_rct_strata.csv")
    assert set(data["case"].unique().to_list()) == set(rct["case"].to_list())

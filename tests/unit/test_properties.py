"""Property tests (hypothesis) of the derivations and the cut: issue 10's invariants."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import tinycut
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepatrial.adam.common import derive_bds_timing
from hepatrial.ingest import ingest_cut
from hepatrial.spec import load as load_study

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ORIGIN = dt.date(2024, 1, 10)


def _study(tmp: Path) -> dict:
    return load_study(tinycut.write_study(tmp / "study.yaml"))


records = st.lists(
    st.tuples(
        st.sampled_from(["S1", "S2", "S3"]),
        st.integers(-30, 120),
        st.one_of(st.none(), st.floats(1, 100, allow_nan=False)),
    ),
    min_size=1,
    max_size=40,
)


def frame(recs) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "USUBJID": u,
                "PARAMCD": "BILI",
                "ADT": ORIGIN + dt.timedelta(days=d),
                "AVAL": v,
                "SRCROW": i + 1,
                "ORIGDT": ORIGIN,
            }
            for i, (u, d, v) in enumerate(recs)
        ],
        schema={
            "USUBJID": pl.Utf8,
            "PARAMCD": pl.Utf8,
            "ADT": pl.Date,
            "AVAL": pl.Float64,
            "SRCROW": pl.Int64,
            "ORIGDT": pl.Date,
        },
    )


@SETTINGS
@given(recs=records)
def test_chg_is_aval_minus_base_and_one_record_per_visit(tmp_path, recs):
    out = derive_bds_timing(frame(recs), _study(tmp_path))
    assert out.height == len(recs)  # windowing never duplicates or drops a record
    post = out.filter(pl.col("CHG").is_not_null())
    assert ((post["CHG"] - (post["AVAL"] - post["BASE"])).abs() < 1e-9).all()
    # at most one analysed record per subject, parameter and visit, and each record in one visit
    counts = out.filter(pl.col("ANL01FL") == "Y").group_by(["USUBJID", "PARAMCD", "AVISIT"]).len()
    assert counts.height == 0 or counts["len"].max() == 1
    assert out.filter(pl.col("ABLFL") == "Y").group_by("USUBJID").len()["len"].max() in (None, 1)


@SETTINGS
@given(keep=st.lists(st.booleans(), min_size=40, max_size=40), cut_day=st.integers(0, 200))
def test_accounting_balances_and_cut_keeps_nothing_later(tmp_path, keep, cut_day):
    """Random subsets of the LB rows and random cut dates: in = kept + excluded, nothing after the cut."""
    work = tmp_path / f"w{abs(hash((tuple(keep), cut_day)))}"
    doms = tinycut.domains()
    doms["lb"] = [r for r, k in zip(doms["lb"], keep) if k] or doms["lb"][:1]
    cut = dt.date(2024, 2, 5) + dt.timedelta(days=cut_day)  # on or after the last randomisation
    study = tinycut.STUDY_YAML.replace('cut_date: "2024-06-30"', f'cut_date: "{cut}"')
    cut_dir = tinycut.write_cut(work / "cut", doms)
    frames = ingest_cut(
        cut_dir, tinycut.write_study(work / "s.yaml", study), work / "sdtm", work / "val"
    )
    acct = pl.read_csv(work / "val/accounting.csv").filter(
        pl.col("category") != "excluded_by_reason"
    )
    wide = acct.pivot(on="category", index="domain", values="n")
    assert (wide["rows_in"] == wide["rows_kept"] + wide["rows_excluded"]).all()
    assert wide.filter(pl.col("domain") == "LB")["rows_in"][0] == len(doms["lb"])
    for dom, col in (
        ("LB", "LBDTC"),
        ("AE", "AESTDTC"),
        ("EX", "EXSTDTC"),
        ("DS", "DSSTDTC"),
        ("CE", "CESTDTC"),
        ("PR", "PRSTDTC"),
    ):
        dates = frames[dom][col].drop_nulls().str.slice(0, 10).to_list()
        assert all(d[: len(str(cut))] <= str(cut)[: len(d)] for d in dates), (dom, dates, cut)
    dth = frames["DM"]["DTHDTC"].drop_nulls().to_list()
    assert all(d <= str(cut) for d in dth)
    shutil.rmtree(work)

"""Nothing lost on the bundled cut: every LB, QS, RS, AE and CE row is in an ADaM dataset
(by its source row number) or in an exclusions listing with a reason."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hepatrial import adam
from hepatrial.ingest import ingest_cut

ROOT = Path(__file__).resolve().parents[2]
CUT = ROOT / "data" / "UCMSC-DC-RCT" / "2025-06-30"
STUDY = ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml"


def test_every_source_row_is_traced(tmp_path):
    sdtm, val, ad = tmp_path / "sdtm", tmp_path / "val", tmp_path / "adam"
    ingest_cut(CUT, STUDY, sdtm, val)
    adam.build_adsl_core(sdtm, STUDY, "2025-06-30", ad / "adsl_core.parquet")
    for name in ("adlb", "adeff", "adqs"):
        getattr(adam, f"build_{name}")(
            sdtm,
            ad / "adsl_core.parquet",
            STUDY,
            ad / f"{name}.parquet",
            ad / f"{name}_exclusions.csv",
        )
    adam.build_adae(sdtm, ad / "adsl_core.parquet", STUDY, ad / "adae.parquet", ad / "adce.parquet")
    trace = adam.trace_rows(
        sdtm,
        ad,
        val / "exclusions.csv",
        [ad / f"{n}_exclusions.csv" for n in ("adlb", "adeff", "adqs")],
        tmp_path / "t.csv",
    )
    assert trace["unaccounted"].to_list() == [0] * 5
    raw = {
        d: pl.read_csv(CUT / f"{d.lower()}.csv", infer_schema=False).height
        for d in ("LB", "QS", "RS", "AE", "CE")
    }
    for r in trace.iter_rows(named=True):
        assert r["rows_in"] == raw[r["domain"]]
        assert r["rows_in"] == r["excluded_at_ingest"] + r["in_adam"] + r["excluded_at_adam"]
    # the reasons are stated for every excluded row
    from hepatrial.adam.common import EXCL_SCHEMA

    ex = pl.concat(
        [
            pl.read_csv(p, schema=EXCL_SCHEMA)
            for p in [
                val / "exclusions.csv",
                *[ad / f"{n}_exclusions.csv" for n in ("adlb", "adeff", "adqs")],
            ]
        ]
    )
    assert (
        ex["reason"].null_count() == 0
        and ex.height
        == sum(r["excluded_at_ingest"] + r["excluded_at_adam"] for r in trace.iter_rows(named=True))
        + ex.filter(~pl.col("domain").is_in(["LB", "QS", "RS", "AE", "CE"])).height
    )

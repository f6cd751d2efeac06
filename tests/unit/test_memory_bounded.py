"""Memory bounded by design (issue 22): the fixed Parquet layout, the BDS builds in batches of
subjects, ingest's spilled domains, the DSMB listing policy and the declared memory per rule.
Speed and memory themselves are measured by benchmarks/run.py, not here."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
import tinycut

from hepatrial import adam, parquet
from hepatrial.adam import io
from hepatrial.config import load_study
from hepatrial.ingest import ingest_cut

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "config/studies/ucmsc-dc-rct.yaml"
CUT = ROOT / "data/UCMSC-DC-RCT/2025-06-30"


def _sample(n: int = 230) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "USUBJID": [f"S-{i // 7:04d}" if i % 11 else None for i in range(n)],
            "AVAL": [float(i) / 3 if i % 5 else None for i in range(n)],
            "N": list(range(n)),
            "ADT": [
                dt.date(2024, 1, 1) + dt.timedelta(days=i) if i % 4 else None for i in range(n)
            ],
            "FL": [i % 2 == 0 if i % 3 else None for i in range(n)],
            "TXT": ["é" * (i % 9) if i % 6 else None for i in range(n)],
            "EMPTY": [None] * n,
        }
    )


def test_fixed_row_groups_whatever_the_pieces(tmp_path):
    """The layout is a function of the rows: written whole, or in pieces of any size, the file is
    the same bytes, in row groups of exactly row_group_size rows (the last: the rest)."""
    import pyarrow.parquet as pq

    df = _sample()
    parquet.write_parquet(df, tmp_path / "whole.parquet", row_group_size=64)
    for step in (1, 13, 64, 100, 500):
        with parquet.FixedRowGroupWriter(tmp_path / f"p{step}.parquet", row_group_size=64) as w:
            for off in range(0, df.height, step):
                w.write(df.slice(off, step))
        assert (tmp_path / f"p{step}.parquet").read_bytes() == (
            tmp_path / "whole.parquet"
        ).read_bytes()
    f = pq.ParquetFile(tmp_path / "whole.parquet")
    assert [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)] == [64, 64, 64, 38]
    assert pl.read_parquet(tmp_path / "whole.parquet").equals(df)
    parquet.write_parquet(df.head(0), tmp_path / "empty.parquet")
    assert pl.read_parquet(tmp_path / "empty.parquet").schema == df.schema


def test_concat_parquet_unifies_null_columns(tmp_path):
    """Batches where a column is all missing (type Null) stack with batches where it is typed."""
    a = pl.DataFrame({"k": [1, 2], "v": [None, None]})
    b = pl.DataFrame({"k": [3], "v": ["x"]})
    a.write_parquet(tmp_path / "a.parquet")
    b.write_parquet(tmp_path / "b.parquet")
    n = parquet.concat_parquet(
        [tmp_path / "a.parquet", tmp_path / "b.parquet"], tmp_path / "out.parquet"
    )
    assert n == 3
    assert pl.read_parquet(tmp_path / "out.parquet").equals(
        pl.concat([a, b], how="vertical_relaxed")
    )
    assert not (tmp_path / "a.parquet").exists()


def test_xpt_from_parquet_is_the_whole_frame_xpt(tmp_path, monkeypatch):
    """The XPT written a row group at a time is the bytes write_adam gives for the whole frame."""
    monkeypatch.setattr(parquet, "ROW_GROUP_SIZE", 50)
    df = _sample()
    io.write_adam(df, tmp_path / "whole.parquet", tmp_path / "whole.xpt", "ADX", "A label")
    parquet.write_parquet(df, tmp_path / "rg.parquet", row_group_size=37)
    io.write_xpt_from_parquet(tmp_path / "rg.parquet", tmp_path / "rg.xpt", "ADX", "A label")
    assert (tmp_path / "rg.xpt").read_bytes() == (tmp_path / "whole.xpt").read_bytes()
    # text over 200 bytes: the whole-frame path (cut at a character boundary)
    long = df.with_columns(
        pl.when(pl.col("N") == 7).then(pl.lit("ü" * 150)).otherwise(pl.col("TXT")).alias("TXT")
    )
    io.write_adam(long, tmp_path / "long.parquet", tmp_path / "long.xpt", "ADX", "")
    parquet.write_parquet(long, tmp_path / "long_rg.parquet", row_group_size=37)
    io.write_xpt_from_parquet(tmp_path / "long_rg.parquet", tmp_path / "long_rg.xpt", "ADX", "")
    assert (tmp_path / "long_rg.xpt").read_bytes() == (tmp_path / "long.xpt").read_bytes()


def test_xpt_from_parquet_probe_reads_late_values(tmp_path, monkeypatch):
    """The header probe finds what only later row groups hold: a column's first value, its longest
    text; columns with no value at all (typed Date, text, boolean) keep their header types. The
    row-group path writes it (a wrong header would fall back to reading the file whole)."""
    n = 200
    df = pl.DataFrame(
        {
            "LATE": [None] * 150 + [dt.date(2024, 5, 1)] * (n - 150),
            "NODATE": pl.Series([None] * n, dtype=pl.Date),
            "NOTXT": pl.Series([None] * n, dtype=pl.Utf8),
            "NOFL": pl.Series([None] * n, dtype=pl.Boolean),
            "GROWS": ["x" * (1 + i // 20) for i in range(n)],  # longest in the last row group
            "V": [float(i) for i in range(n)],
        }
    )
    io.write_adam(df, tmp_path / "whole.parquet", tmp_path / "whole.xpt", "ADX", "")
    parquet.write_parquet(df, tmp_path / "rg.parquet", row_group_size=37)

    def whole(_df):
        raise AssertionError("the whole-file path was taken")

    monkeypatch.setattr(io, "cap_text_bytes", whole)
    io.write_xpt_from_parquet(tmp_path / "rg.parquet", tmp_path / "rg.xpt", "ADX", "")
    assert (tmp_path / "rg.xpt").read_bytes() == (tmp_path / "whole.xpt").read_bytes()


@pytest.fixture(scope="module")
def bundled_sdtm(tmp_path_factory):
    """The bundled 240-subject cut through ingest and ADSL core."""
    work = tmp_path_factory.mktemp("bundled")
    ingest_cut(CUT, STUDY, work / "sdtm", work / "val", cut="2025-06-30")
    adam.build_adsl_core(work / "sdtm", STUDY, "2025-06-30", work / "adsl_core.parquet")
    return work


@pytest.mark.parametrize("name", ["adlb", "adeff", "adqs"])
def test_batched_bds_equals_whole_build(bundled_sdtm, tmp_path, name):
    """ADLB, ADEFF and ADQS built in batches of 17 subjects (15 batches) are the whole build row for
    row, and the same bytes (Parquet, XPT, exclusions)."""
    build = getattr(adam, f"build_{name}")
    sdtm, adsl = bundled_sdtm / "sdtm", bundled_sdtm / "adsl_core.parquet"
    build(
        sdtm,
        adsl,
        STUDY,
        tmp_path / f"whole/{name}.parquet",
        tmp_path / "whole_excl.csv",
        batch_subjects=10**9,
    )
    with pytest.MonkeyPatch.context() as mp:  # the XPT written while the batches are stacked

        def no_second_pass(*a, **k):
            raise AssertionError("the XPT was written from the stacked file")

        mp.setattr(io, "write_xpt_whole", no_second_pass)
        build(
            sdtm,
            adsl,
            STUDY,
            tmp_path / f"batch/{name}.parquet",
            tmp_path / "batch_excl.csv",
            batch_subjects=17,
        )
    whole = pl.read_parquet(tmp_path / f"whole/{name}.parquet")
    batched = pl.read_parquet(tmp_path / f"batch/{name}.parquet")
    assert whole.height > 1000
    assert batched.equals(whole)  # same rows, same order, same types
    for suffix in (".parquet", ".xpt"):
        assert (tmp_path / f"batch/{name}").with_suffix(suffix).read_bytes() == (
            tmp_path / f"whole/{name}"
        ).with_suffix(suffix).read_bytes()
    assert (tmp_path / "batch_excl.csv").read_bytes() == (tmp_path / "whole_excl.csv").read_bytes()
    # and the XPT is the one the whole-frame writer gives for the dataset (tests/unit/test_adam.py
    # checks that one against pyreadstat's)
    io.write_adam(
        whole, tmp_path / "ref.parquet", tmp_path / "ref.xpt", name.upper(), adam.LABELS[name]
    )
    assert (tmp_path / f"batch/{name}.xpt").read_bytes() == (tmp_path / "ref.xpt").read_bytes()
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == [
        f"{name}.parquet",
        f"{name}.xpt",
    ]


def test_subject_batches_cover_every_subject_once(bundled_sdtm):
    sdtm = bundled_sdtm / "sdtm"
    lb = pl.read_parquet(sdtm / "lb.parquet", columns=["USUBJID"])
    batches = adam.subject_batches(sdtm, ["LB"], 50)
    seen = [lb.filter(w)["USUBJID"].unique().sort().to_list() for w in batches]
    flat = [u for b in seen for u in b]
    assert flat == sorted(lb["USUBJID"].unique().to_list())  # in order, each once
    assert all(len(b) <= 50 for b in seen) and len(batches) == -(-len(flat) // 50)


def test_ingest_spilling_gives_the_same_outputs(tmp_path, monkeypatch):
    """Every domain but DM and DS kept on disk between the steps: the same SDTM and validation files."""
    from hepatrial.ingest import spill

    cut = tinycut.write_cut(tmp_path / "cut")
    s = load_study(tinycut.write_study(tmp_path / "study.yaml", tinycut.STUDY_YAML))
    ingest_cut(cut, s, tmp_path / "a/sdtm", tmp_path / "a/val")
    monkeypatch.setattr(spill.Frames.__init__, "__defaults__", (None, 0))
    frames = ingest_cut(cut, s, tmp_path / "b/sdtm", tmp_path / "b/val")
    assert isinstance(frames, spill.Frames) and frames.spilled("LB")
    for sub in ("sdtm", "val"):
        for f in sorted((tmp_path / "a" / sub).iterdir()):
            assert (tmp_path / "b" / sub / f.name).read_bytes() == f.read_bytes(), f.name
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "sdtm",
        "val",
    ]  # spill folder removed
    assert frames["LB"].height == pl.read_parquet(tmp_path / "a/sdtm/lb.parquet").height


# --- the listing policy of the DSMB reports ---------------------------------------------------


def _saes(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "USUBJID": [f"S-{i // 3:04d}" for i in range(n)],
            "SITEID": ["01"] * n,
            "arm": ["Arm Z"] * n,
            "AEDECOD": ["Fatigue"] * n,
            "ASTDY": list(range(n)),
        }
    )


def test_listing_policy_short_listing_in_full():
    from hepatrial.report import content
    from hepatrial.report.document import Table

    t = content.listing_table(
        "Listing of SAEs", _saes(20), False, content.SAE_LISTING, 200, "x.csv"
    )
    assert isinstance(t, Table) and len(t.rows) == 20 and t.title == "Listing of SAEs (20 records)"


def test_listing_policy_long_listing_summary_and_first_rows():
    from hepatrial.report import content
    from hepatrial.report.document import Para, Table

    df = _saes(250)
    out = content.listing_table(
        "Listing of SAEs",
        df,
        True,
        content.SAE_LISTING,
        200,
        "STUDY/2025-06-30/closed/listing_saes.csv",
    )
    para, table = out
    assert isinstance(para, Para) and isinstance(table, Table)
    assert "250 records in 84 subjects" in para.text and "listing_saes.csv" in para.text
    assert len(table.rows) == 200 and table.rows[0][0] == "S-0000" and table.rows[-1][-1] == "199"
    assert table.title == "Listing of SAEs (first 200 of 250 records)"
    assert "Arm" in table.columns


def test_listing_policy_open_report_never_shows_arm(tmp_path):
    """Open report: no arm column in the listing table (short or long) nor in the full listing CSV."""
    from hepatrial.report import content
    from hepatrial.report.run import write_listing_csv

    for n in (5, 250):
        sec = content.section_listings(
            _saes(n), pl.DataFrame(), False, 200, {"saes": "S/C/open/listing_saes.csv"}
        )
        for block in sec.blocks:
            assert "Arm" not in getattr(block, "columns", [])
            assert "Arm Z" not in repr(block)
    write_listing_csv(_saes(250), tmp_path / "open.csv", with_arm=False)
    write_listing_csv(_saes(250), tmp_path / "closed.csv", with_arm=True)
    assert "Arm" not in pl.read_csv(tmp_path / "open.csv").columns
    assert "Arm Z" not in (tmp_path / "open.csv").read_text()
    assert pl.read_csv(tmp_path / "closed.csv").height == 250


def test_listing_max_rows_in_the_study_schema():
    assert load_study(STUDY)["dsmb"]["listing_max_rows"] == 200


# --- declared memory ------------------------------------------------------------------------


def test_mem_mb_grows_with_input_capped_floored_and_retried():
    from hepatrial.resources import DEFAULT, FLOOR, MODELS, Model, mem_mb, mem_mb_for

    m = Model(800, 3.0, 2500)
    assert m.mem_mb(0) == 800 and m.mem_mb(100) == 1100 and m.mem_mb(10**6) == 2500
    assert m.mem_mb(100, attempt=2) == 2200
    assert Model(0, 0.0).mem_mb(0) == FLOOR
    assert mem_mb_for("no_such_rule", 10) == DEFAULT.mem_mb(10)
    for rule, model in MODELS.items():
        small, large = model.mem_mb(1), model.mem_mb(5000)
        assert FLOOR <= small <= large, rule

    class Input:
        size_mb = 200.0

    assert mem_mb("ingest")(None, Input(), 1) == mem_mb_for("ingest", 200.0)


def test_every_rule_declares_its_memory():
    """Each rule of the workflow declares mem_mb with the helper, under its own name."""
    text = "\n".join(p.read_text() for p in sorted((ROOT / "workflow/rules").glob("*.smk")))
    rules = re.findall(r"^\s*rule (\w+):", text, flags=re.M)
    declared = re.findall(r'mem_mb=mem_mb\("(\w+)"\)', text)
    skip = {
        "input_manifest",
        "manifest",
        "previous_cut",
        "cut_compare",
    }  # no data frames (hashes, a sub-run)
    assert sorted(set(rules) - skip) == sorted(declared)


# --- ingest in chunks of rows -----------------------------------------------------------------


def _odd_cut(dst: Path, lb_format: str = "csv") -> Path:
    """The bundled cut with, in LB and QS, every kind of finding that ingest sums over a domain
    placed in rows far apart (so in different chunks): spaces, missing tokens, lower-case terms,
    UTC offsets, text over 200 bytes, characters no font has, a converted unit, an unconverted test
    in two units (one in each of two chunks), a duplicate lab result, a subject not in DM."""
    import shutil

    shutil.copytree(CUT, dst)
    lb = pl.read_csv(dst / "lb.csv", infer_schema=False)
    a, b, c = 10, lb.height // 2, lb.height - 20  # three chunks apart

    def put(df, row, col, value):
        return df.with_columns(
            pl.when(pl.int_range(pl.len()) == row)
            .then(pl.lit(value))
            .otherwise(pl.col(col))
            .alias(col)
        )

    lb = lb.with_columns(pl.lit(None, pl.Utf8).alias("LBCOMM"))
    for row in (a, c):
        lb = put(lb, row, "LBORRES", " 12.5 ")
        lb = put(lb, row + 1, "LBSTAT", "not done")
        lb = put(lb, row + 2, "LBDTC", "2024-03-01T10:00+08:00")
        lb = put(lb, row + 3, "LBCOMM", "x" * (250 if row == a else 300))
    lb = put(lb, a + 4, "LBORRES", "NA")
    lb = put(lb, c + 4, "LBORRES", "n/a")
    lb = put(lb, a + 5, "LBCOMM", "王喆")
    lb = put(lb, c + 5, "LBCOMM", "🩺 check")
    afp = lb.with_row_index("i").filter(pl.col("LBTESTCD") == "AFP")["i"]
    lb = put(lb, int(afp.filter(afp > b)[0]), "LBORRESU", "IU/mL")  # AFP: 2 units, no conversion
    bili = lb.with_row_index("i").filter(pl.col("LBTESTCD") == "BILI")["i"]
    for i in (int(bili[0]), int(bili[-1])):
        lb = put(lb, i, "LBORRES", "1.2")
        lb = put(lb, i, "LBORRESU", "mg/dL")
    lb = pl.concat(
        [
            lb,
            lb.slice(a + 6, 1),  # sent twice: excluded
            lb.slice(a + 7, 1).with_columns(LBSEQ=pl.lit("99999")),  # a second result
            lb.slice(b, 1).with_columns(USUBJID=pl.lit("NOBODY")),
        ]
    )
    if lb_format == "csv":
        lb.write_csv(dst / "lb.csv")
    else:
        (dst / "lb.csv").unlink()
        lb.write_parquet(dst / "lb.parquet")
    qs = pl.read_csv(dst / "qs.csv", infer_schema=False)
    qs = put(put(qs, 3, "QSORRES", " 2"), qs.height - 3, "QSORRES", ".")
    qs.write_csv(dst / "qs.csv")
    return dst


@pytest.mark.parametrize("lb_format", ["csv", "parquet"])
def test_ingest_in_chunks_gives_the_same_outputs(tmp_path, monkeypatch, lb_format):
    """LB and QS read and checked in chunks of 4 000 rows: the SDTM, findings, accounting and
    exclusions files are byte-identical to ingest of the whole domains, and every finding summed
    over the chunks is there once, with the count, first row and values of the whole domain."""
    from hepatrial.ingest import read

    cut = _odd_cut(tmp_path / "2025-06-30", lb_format)
    ingest_cut(cut, STUDY, tmp_path / "a/sdtm", tmp_path / "a/val")
    monkeypatch.setattr(read, "CHUNK_BYTES", 0)
    monkeypatch.setattr(read, "CHUNK_ROWS", 4_000)
    frames = ingest_cut(cut, STUDY, tmp_path / "b/sdtm", tmp_path / "b/val")
    assert all(isinstance(frames[d], pl.DataFrame) for d in ("DM", "DS"))
    for sub in ("sdtm", "val"):
        for f in sorted((tmp_path / "a" / sub).iterdir()):
            assert (tmp_path / "b" / sub / f.name).read_bytes() == f.read_bytes(), f.name
    found = pl.read_csv(tmp_path / "b/val/findings.csv", infer_schema=False, comment_prefix="#")
    lbf = found.filter(pl.col("domain") == "LB")
    for rule, col, text in [
        ("SPACES_TRIMMED", "LBORRES", "2 value(s)"),
        ("MISSING_TOKEN", "LBORRES", "2 value(s) ['NA', 'n/a']"),
        ("TERM_CASE", "LBSTAT", "2 controlled-term"),
        ("DATE_TZ_OFFSET", "LBDTC", "2 value(s)"),
        ("TEXT_TRUNCATED_XPT", "LBCOMM", "2 value(s) longer than 200 bytes (longest 300)"),
        ("GLYPH_MISSING", "LBCOMM", "2 character(s)"),
        ("LB_UNIT_CONVERTED", "LBORRESU", "BILI value(s) in mg/dL converted"),
        ("LB_UNITS_MIXED", "LBORRESU", "AFP reported in several units ['IU/mL', 'ng/mL']"),
    ]:
        hit = lbf.filter(
            (pl.col("rule") == rule)
            & (pl.col("column") == col)
            & pl.col("message").str.contains(text, literal=True)
        )
        assert hit.height == 1, (rule, lbf.filter(pl.col("rule") == rule))
    first_space = lbf.filter(pl.col("rule") == "SPACES_TRIMMED")["row"][0]
    assert first_space == "11"  # the first of the two (data row a + 1), not the later chunk's
    assert lbf.filter(pl.col("rule") == "LB_DUPLICATE").height >= 2
    sent_twice = lbf.filter(pl.col("rule") == "DUPLICATE_ROW")  # data row a + 6 of _odd_cut
    assert sent_twice["value"].to_list() == ["row 17"]
    assert lbf.filter(pl.col("rule") == "SUBJECT_NOT_IN_DM").height == 1
    qsf = found.filter(
        (pl.col("domain") == "QS") & pl.col("rule").is_in(["SPACES_TRIMMED", "MISSING_TOKEN"])
    )
    assert qsf.height == 2


def test_chunks_of_a_domain_file_are_the_whole_file(tmp_path):
    """The chunked reader gives the rows, columns, values and SRCROW of the whole-file reader, for
    CSV (a quoted line break, a byte-order mark, an empty value) and Parquet (typed columns)."""
    from hepatrial.ingest import read

    p = tmp_path / "lb.csv"
    p.write_bytes(
        "\ufeffusubjid,LBTESTCD,lborres,LBDTC\n".encode()
        + b'S1,ALB,"3\n5",2024-01-01\nS2,BILI,,2024-01-02\n'
        + b"".join(f"S{i},INR,{i / 10},2024-02-01\n".encode() for i in range(3, 40))
    )
    whole = read.read_domain(p, {"LBDTC": "LBDTC"})
    parts = list(read.iter_domain(p, {"LBDTC": "LBDTC"}, rows=7))
    assert len(parts) > 1 and pl.concat(parts).equals(whole)
    q = tmp_path / "x.parquet"
    pl.DataFrame(
        {"A": [1.0, 2.5, None] * 9, "D": [dt.date(2024, 1, i + 1) for i in range(27)]}
    ).write_parquet(q, row_group_size=5)
    parts = list(read.iter_domain(q, None, rows=4))
    assert len(parts) > 1 and pl.concat(parts).equals(read.read_domain(q))
    empty = tmp_path / "e.csv"
    empty.write_text("USUBJID,X\n")
    (only,) = read.iter_domain(empty, None, rows=4)
    assert only.equals(read.read_domain(empty))

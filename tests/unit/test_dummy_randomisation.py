"""Dummy-randomisation mode (--config blinded=true): seeded arms that keep strata and arm sizes, no
real assignment in what ingest writes, its own results folder, every TLF page stamped, and every
file of a blinded run stamped "DUMMY RANDOMISATION — NOT REAL TREATMENT" where its format keeps it
(:mod:`hepatrial.stamp`)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import polars as pl
import pytest
import tinycut
from dag import config_args, snakemake

from hepatrial import stamp
from hepatrial.ingest import ingest_cut
from hepatrial.ingest.dummy import dummy_assignment, dummy_randomise
from hepatrial.spec import load as load_study

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "config/studies/ucmsc-dc-rct.yaml"
CUT = ROOT / "data/UCMSC-DC-RCT/2025-06-30"


def frames() -> dict[str, pl.DataFrame]:
    subj = [f"S{i:02d}" for i in range(24)]
    arm = ["UC-MSC", "Placebo"] * 12
    dm = pl.DataFrame(
        {
            "USUBJID": subj + ["SF1"],
            "ARM": arm + ["Screen Failure"],
            "ARMCD": [{"UC-MSC": "UCMSC", "Placebo": "PLACEBO"}[a] for a in arm] + ["SCRNFAIL"],
            "ACTARM": arm[:-1] + ["Not Treated", "Screen Failure"],
            "ACTARMCD": [{"UC-MSC": "UCMSC", "Placebo": "PLACEBO"}[a] for a in arm[:-1]]
            + ["NOTTRT", "SCRNFAIL"],
            "CTPSTRAT": ["B"] * 8 + ["C"] * 16 + [None],
        }
    )
    ex = pl.DataFrame(
        {
            "USUBJID": subj[:-1],
            "EXTRT": ["UC-MSC" if a == "UC-MSC" else "PLACEBO" for a in arm[:-1]],
            "EXDOSE": ["60000000" if a == "UC-MSC" else "0" for a in arm[:-1]],
            "EXDOSU": ["cells"] * 23,
        }
    )
    return {"DM": dm, "EX": ex}


def test_strata_and_arm_sizes_kept_seeded_and_not_the_real_arms():
    study = load_study(STUDY)
    f = frames()
    out = dummy_randomise(f, study, seed=11)

    def counts(dm):
        return dm.group_by("ARM", "CTPSTRAT").len().sort("ARM", "CTPSTRAT")

    assert counts(out["DM"]).equals(counts(f["DM"]))
    assert out["DM"]["USUBJID"].to_list() == f["DM"]["USUBJID"].to_list()
    changed = (out["DM"]["ARM"] != f["DM"]["ARM"]).sum()
    assert 0 < changed < 25
    assert out["DM"].equals(dummy_randomise(f, study, seed=11)["DM"])  # seeded: repeatable
    assert not out["DM"].equals(dummy_randomise(f, study, seed=12)["DM"])
    sf = out["DM"].filter(pl.col("USUBJID") == "SF1").row(0, named=True)
    assert sf["ARM"] == "Screen Failure"  # not randomised: untouched
    # ARMCD and the actual arm follow the dummy arm; "Not Treated" stays
    dm = out["DM"].filter(pl.col("ARM") != "Screen Failure")
    code = {"UC-MSC": "UCMSC", "Placebo": "PLACEBO"}
    assert all(code[a] == c for a, c in dm.select("ARM", "ARMCD").iter_rows())
    treated = dm.filter(pl.col("ACTARM") != "Not Treated")
    assert (treated["ACTARM"] == treated["ARM"]).all()
    assert dm.filter(pl.col("USUBJID") == "S23")["ACTARM"][0] == "Not Treated"


def test_exposure_says_the_dummy_arm_not_the_real_one():
    study = load_study(STUDY)
    out = dummy_randomise(frames(), study, seed=11)
    ex = out["EX"].join(out["DM"].select("USUBJID", "ACTARM"), on="USUBJID")
    want = {"UC-MSC": ("UC-MSC", "60000000"), "Placebo": ("PLACEBO", "0")}
    assert all(want[a] == (t, d) for a, t, d in ex.select("ACTARM", "EXTRT", "EXDOSE").iter_rows())


def test_assignment_within_each_stratum():
    study = load_study(STUDY)
    a = dummy_assignment(frames()["DM"], study, seed=3)
    for _, g in a.group_by("CTPSTRAT"):
        assert sorted(g["ARM"].to_list()) == sorted(g["DARM"].to_list())


def test_no_real_assignment_reaches_what_ingest_writes(tmp_path):
    """Ingest of the bundled cut with a dummy seed: the written DM and EX carry only the dummy
    arms, which differ from the real ones for many subjects, and EX cannot tell them apart."""
    study = load_study(STUDY)
    real = ingest_cut(CUT, study, tmp_path / "real", tmp_path / "rv")
    ingest_cut(CUT, study, tmp_path / "sdtm", tmp_path / "v", dummy_seed=20240101)
    dm = pl.read_parquet(tmp_path / "sdtm" / "dm.parquet")
    ex = pl.read_parquet(tmp_path / "sdtm" / "ex.parquet")
    j = real["DM"].select("USUBJID", pl.col("ARM").alias("REAL")).join(dm, on="USUBJID")
    rand = j.filter(pl.col("REAL").is_in(["UC-MSC", "Placebo"]))
    assert rand.height > 200 and 0.3 < (rand["REAL"] != rand["ARM"]).mean() < 0.7
    tx = ex.join(dm.select("USUBJID", "ACTARM"), on="USUBJID").select("ACTARM", "EXTRT").unique()
    assert sorted(tx.iter_rows()) == [("Placebo", "PLACEBO"), ("UC-MSC", "UC-MSC")]
    # the subject's real exposure (treatment name) is not left in EX
    real_ex = real["EX"].select("USUBJID", pl.col("EXTRT").alias("RT")).unique()
    mism = ex.select("USUBJID", "EXTRT").unique().join(real_ex, on="USUBJID")
    assert (mism["EXTRT"] != mism["RT"]).sum() > 50


def test_no_real_arm_in_the_findings_of_a_blinded_run(tmp_path):
    """Validation findings name subject and row, and some hold an arm: ACTARM_NOT_ARM (treated
    with the other arm), ARM_CASE (an arm spelled in another case). A blinded run wrote them with
    the real arm; their value is now "(blinded)" there, and kept in a real run."""
    import shutil

    cut = tmp_path / "cut" / "2025-06-30"
    shutil.copytree(CUT, cut)
    dm = pl.read_csv(cut / "dm.csv", infer_schema=False)
    i = dm["ARM"].to_list().index("UC-MSC")
    dm = dm.with_columns(
        ACTARM=pl.when(pl.int_range(pl.len()) == i).then(pl.lit("Placebo")).otherwise("ACTARM"),
        ARM=pl.when(pl.int_range(pl.len()) == i + 1)
        .then(pl.col("ARM").str.to_lowercase())
        .otherwise("ARM"),
    )
    dm.write_csv(cut / "dm.csv")
    study = load_study(STUDY)

    def arm_findings(**kw):
        ingest_cut(cut, study, tmp_path / "sdtm", tmp_path / "v", **kw)
        f = stamp.read_csv(tmp_path / "v" / "findings.csv", infer_schema=False)
        return f.filter(pl.col("rule").is_in(["ACTARM_NOT_ARM", "ARM_CASE"])).sort("rule")

    real = arm_findings()
    assert real.select("rule", "row", "value").rows() == [
        ("ACTARM_NOT_ARM", str(i + 1), "Placebo"),
        ("ARM_CASE", str(i + 2), dm["ARM"][i + 1]),
    ]
    blinded = arm_findings(dummy_seed=20240101)
    assert blinded.select("rule", "row", "value").rows() == [
        ("ACTARM_NOT_ARM", str(i + 1), "(blinded)"),
        ("ARM_CASE", str(i + 2), "(blinded)"),
    ]


def test_a_blinded_run_that_stops_shows_no_real_arm(tmp_path):
    """A blinded run that stops on a fatal arm finding wrote the real value in its one-line error,
    in the log's list of fatal findings and in the findings.csv beside the log. An arm spelled
    with a lot number tells the subject's arm; it is "(blinded)" in all three now, and shown in a
    real run."""
    import shutil

    from hepatrial.errors import DataContractError

    cut = tmp_path / "cut" / "2025-06-30"
    shutil.copytree(CUT, cut)
    dm = pl.read_csv(cut / "dm.csv", infer_schema=False)
    i = dm["ARM"].to_list().index("UC-MSC")
    dm = dm.with_columns(
        ARM=pl.when(pl.int_range(pl.len()) == i).then(pl.lit("UC-MSC lot 7")).otherwise("ARM")
    )
    dm.write_csv(cut / "dm.csv")
    study = load_study(STUDY)

    def stop(**kw):
        logs = tmp_path / "logs"
        with pytest.raises(DataContractError) as exc:
            ingest_cut(cut, study, tmp_path / "sdtm", tmp_path / "v", failure_dir=logs, **kw)
        found = stamp.read_csv(logs / "findings.csv", infer_schema=False)
        return str(exc.value), "\n".join(exc.value.details), found.filter(rule="UNKNOWN_ARM")

    line, log, found = stop()
    assert f"row {i + 1}, column ARM: unknown arm" in line and "'UC-MSC lot 7'" in line
    assert "'UC-MSC lot 7'" in log and found["value"].to_list() == ["UC-MSC lot 7"]
    line, log, found = stop(dummy_seed=20240101)
    assert f"row {i + 1}, column ARM: unknown arm" in line
    assert "lot 7" not in line + log and "value '(blinded)'" in line
    assert found.select("row", "USUBJID", "value").rows() == [
        (str(i + 1), dm["USUBJID"][i], "(blinded)")
    ]


@pytest.mark.workflow
def test_blinded_run_writes_only_to_its_own_folders(tmp_path):
    res, rep = tmp_path / "results", tmp_path / "reports"
    out = snakemake(
        "-n",
        "--workflow-profile",
        "none",
        "--config",
        "blinded=true",
        f"results_dir={res}",
        f"reports_dir={rep}",
        "--",
        "all",
        cores=1,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    paths = [
        w
        for w in (out.stdout + out.stderr).split()
        if str(tmp_path) in w and not w.startswith(("results_dir=", "reports_dir="))
    ]
    assert paths and all("2025-06-30-DUMMY" in p for p in paths)


@pytest.mark.parametrize("kind", ["table", "figure"])
def test_tlf_outputs_are_stamped(kind, tmp_path):
    from test_tlf_data import CUT as LCUT
    from test_tlf_data import build_ard, study

    from hepatrial.tlf.run import write_figures, write_tables
    from hepatrial.tlf.shell import DUMMY_STAMP

    st = study(tmp_path)
    ard = tmp_path / "ard.parquet"
    build_ard(st).write_parquet(ard)
    path = tmp_path / "study_parallel.yaml"
    if kind == "table":
        outs = {"baseline": tuple(tmp_path / f"b.{e}" for e in ("csv", "rtf", "html"))}
        write_tables(ard, None, None, path, LCUT, "tlf_tables", outs, dummy=True)
        rtf = (tmp_path / "b.rtf").read_text(encoding="utf-8")
        assert rtf.count("NOT REAL TREATMENT") >= 2
        assert DUMMY_STAMP in (tmp_path / "b.html").read_text(encoding="utf-8")
    else:
        import plotnine as p9

        from hepatrial.tlf import figures as G

        captured = {}
        real_save = G.save

        def spy(plot: p9.ggplot, png, pdf=None, dpi=30):
            captured["plot"] = plot
            real_save(plot, png, pdf, dpi=30)

        G.save = spy
        try:
            write_figures(
                [("forest", "MELD", tmp_path / "f.png", tmp_path / "f.pdf", "14.2.5.1")],
                ard,
                path,
                LCUT,
                dummy=True,
            )
        finally:
            G.save = real_save
        labels = captured["plot"].labels
        assert labels.subtitle == DUMMY_STAMP and DUMMY_STAMP in labels.caption
        assert labels.title.startswith("Figure 14.2.5.1")


# Files of a blinded run that carry no stamp, each with the reason (none at present: every format
# the pipeline writes has a place for it). Keys: a file name or a suffix.
EXEMPT: dict[str, str] = {}


def _png_text(png: bytes) -> str:
    i, out = 8, []
    while i < len(png):
        n = int.from_bytes(png[i : i + 4], "big")
        kind, data = png[i + 4 : i + 8], png[i + 8 : i + 8 + n]
        if kind in (b"tEXt", b"iTXt"):
            out.append(data.decode("latin-1"))
        elif kind == b"zTXt":
            out.append(zlib.decompress(data.partition(b"\0")[2][1:]).decode("latin-1"))
        i += 12 + n
    return "\n".join(out)


def stamped(path: Path) -> bool:
    """True if ``path`` carries the dummy-randomisation stamp where its format keeps it; an unknown
    format fails the test (add a check here, or an entry in EXEMPT with the reason)."""
    import pyarrow.parquet as pq
    from pdftext import pdf_info, pdf_text

    s = path.suffix
    if s == ".csv":
        return path.read_text(encoding="utf-8").split("\n", 1)[0] == stamp.CSV_LINE
    if s == ".parquet":
        meta = pq.read_metadata(path).metadata or {}
        return meta.get(stamp.PARQUET_KEY.encode()) == stamp.DUMMY_STAMP.encode()
    if s == ".json":
        return json.loads(path.read_text(encoding="utf-8")).get("stamp") == stamp.DUMMY_STAMP
    if s in (".html", ".rtf", ".xml", ".log"):
        return stamp.is_stamped_text(path.read_text(encoding="utf-8", errors="replace"))
    if s == ".xpt":  # the member header's dataset label, in the first 80-byte records
        return stamp.DUMMY_STAMP_ASCII.encode() in path.read_bytes()[:800]
    if s == ".png":
        return stamp.is_stamped_text(_png_text(path.read_bytes()))
    if s == ".pdf":
        return stamp.is_stamped_text(pdf_text(path)) or stamp.is_stamped_text(pdf_info(path))
    raise AssertionError(
        f"{path}: no stamp check for {s!r} files (add one, or exempt it with a reason)"
    )


def unstamped(*folders: Path) -> list[str]:
    out = []
    for folder in folders:
        for p in sorted(x for x in folder.rglob("*") if x.is_file()):
            if p.name in EXEMPT or p.suffix in EXEMPT:
                continue
            if not stamped(p):
                out.append(str(p.relative_to(folder.parent)))
    return out


@pytest.mark.workflow
def test_every_file_of_a_blinded_run_is_stamped(tmp_path):
    """The whole DAG of the tiny cut with ``blinded=true``: every file under the run's results and
    reports folders (tables, listings, figures, ADaM in Parquet and XPT, SDTM, ARD, define.xml,
    arm.json, manifests, validation CSVs, step logs, DSMB reports) carries the stamp."""
    cut = tinycut.write_cut(tmp_path / "data" / "2024-06-30")
    study = tinycut.write_study(tmp_path / "study.yaml")
    out = snakemake(*config_args(study, cut, tmp_path, "blinded=true"), "--", "all")
    assert out.returncode == 0, out.stderr[-3000:]
    res, rep = (
        tmp_path / "results" / "TINY" / "2024-06-30-DUMMY",
        tmp_path / "reports" / "TINY" / "2024-06-30-DUMMY",
    )
    assert not (tmp_path / "results" / "TINY" / "2024-06-30").exists()
    files = [p for p in (*res.rglob("*"), *rep.rglob("*")) if p.is_file()]
    kinds = {p.suffix for p in files}
    assert kinds >= {
        ".csv",
        ".parquet",
        ".json",
        ".html",
        ".rtf",
        ".xml",
        ".log",
        ".xpt",
        ".png",
        ".pdf",
    }, kinds
    assert len(files) > 100
    assert unstamped(res, rep) == []
    # the readers of the stamped CSVs skip the stamp line
    assert stamp.read_csv(res / "validation" / "findings.csv").columns[0] == "severity"


def test_nothing_stamped_outside_a_blinded_run(tmp_path, monkeypatch):
    """Without the environment flag (a run without blinded=true) the writers write what they wrote
    before: no stamp line, no Parquet metadata, no JSON key."""
    import polars as pl
    import pyarrow.parquet as pq

    monkeypatch.delenv(stamp.ENV, raising=False)
    df = pl.DataFrame({"a": [1]})
    stamp.write_csv(df, tmp_path / "x.csv")
    df.write_parquet(tmp_path / "x.parquet", metadata=stamp.parquet_metadata())
    assert (tmp_path / "x.csv").read_text() == "a\n1\n"
    assert stamp.PARQUET_KEY.encode() not in (
        pq.read_metadata(tmp_path / "x.parquet").metadata or {}
    )
    assert stamp.json_obj({"k": 1}) == {"k": 1} and stamp.log_lines(["done"]) == ["done"]
    monkeypatch.setenv(stamp.ENV, "1")
    stamp.write_csv(df, tmp_path / "y.csv")
    assert (tmp_path / "y.csv").read_text(encoding="utf-8") == f"{stamp.CSV_LINE}\na\n1\n"
    assert stamp.read_csv(tmp_path / "y.csv").equals(df)
    assert stamp.json_obj({"k": 1}) == {"stamp": stamp.DUMMY_STAMP, "k": 1}

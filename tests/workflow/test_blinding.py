"""Blinding of the open DSMB report, as a security property, on the real DAG.

Studies with distinctive arm labels, DM arm codes and treatment names (ZEBRAFISH-ACTIVE /
QUOKKA-CONTROL, ARMCD ZBRFSH / QKKCTL), so that any leak is a findable string:

1. the open report rule's declared inputs (read from Snakemake's dry-run plan) are only the gate's
   files under ``open/`` and the input manifest; none has an arm column or an arm term;
2. the open HTML (text and embedded images, with their metadata) and PDF (text, raw bytes,
   document info) hold no arm label, arm code, treatment name or coded arm;
3. non-interference: a twin study with the same pooled data but the arms re-assigned between
   subjects and relabelled gives the same open report (up to the input manifest hash) and
   byte-identical open inputs: the open report is a function of pooled data only, so it cannot
   hold a per-arm count or a subject-to-arm link;
4. the same checks on a simulated 60-subject study, and the closed report is masked there.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import dag
import polars as pl
import tinycut
import yaml
from dag import snakemake
from pdftext import pdf_info, pdf_text

from hepatrial.report.blinding import is_arm_column
from hepatrial.tlf.format import fmt_num

ROOT = Path(__file__).resolve().parents[2]
ACTIVE, CONTROL = "ZEBRAFISH-ACTIVE", "QUOKKA-CONTROL"
TERMS = [ACTIVE, CONTROL, "ZBRFSH", "QKKCTL", "ZEBRAFISH", "QUOKKA"]
CODED = re.compile(r"\b(Arm|Group) [A-H]\b")  # the closed report's masked arm codes
EFFICACY_WORDS = ["MMRM", "LS mean", "Kaplan", "hazard ratio", "log-rank", "cumulative incidence"]
# group-sequential monitoring: the open report says only that a look took place and at which
# information fraction (GSD_INFO); no Z, p, bound, decision or power
GSD_WORDS = [
    "Z =",
    "boundar",
    "efficacy bound",
    "futility",
    "conditional power",
    "predictive power",
    "alpha spent",
    "repeated c",
    "B-value",
    "stop for",
    "indicate",
]
GSD_OPEN_STATS = {"info_frac", "events", "n_observed"}


def run(tmp_path, study, cut, targets, *extra):
    return snakemake(
        "--snakefile", dag.SNAKEFILE, *extra, *dag.config_args(study, cut, tmp_path), "--", *targets
    )


def declared_inputs(plan: str, rule: str) -> list[str]:
    """The input files of ``rule`` in a dry-run plan."""
    m = re.search(rf"^(?:local)?rule {rule}:\n((?:    .*\n)+)", plan, re.M)
    assert m, plan[-3000:]
    line = re.search(r"^    input: (.*)$", m.group(1), re.M).group(1)
    return [x.strip() for x in line.split(", ")]


def zoo_cut(
    tmp_path: Path, name: str, swap: bool, labels=(ACTIVE, CONTROL), codes=("ZBRFSH", "QKKCTL")
) -> tuple:
    """The tiny cut with the arms renamed (and, with ``swap``, each subject moved to the other arm)."""
    doms = tinycut.domains()
    active, control = labels
    rename = {"UC-MSC": (active, codes[0]), "Placebo": (control, codes[1])}
    other = {"UC-MSC": "Placebo", "Placebo": "UC-MSC"}
    arm_of = {}
    for r in doms["dm"]:
        arm = other[r["ARM"]] if swap else r["ARM"]
        r["ARM"] = r["ACTARM"] = rename[arm][0]
        r["ARMCD"] = r["ACTARMCD"] = rename[arm][1]
        arm_of[r["USUBJID"]] = rename[arm][0]
    for r in doms["ex"]:
        r["EXTRT"] = arm_of[
            r["USUBJID"]
        ]  # the treatment name is in the data; it must not reach the open report
    cut = tinycut.write_cut(tmp_path / name / "2024-06-30", doms)
    text = tinycut.STUDY_YAML.replace("{label: UC-MSC}", f"{{label: {active}}}").replace(
        "{label: Placebo, reference: true}", f"{{label: {control}, reference: true}}"
    )
    # an event-driven group-sequential design on OS (one death in the tiny cut: look 1 at 1/4)
    text += (
        "interim: {analysis: LOGRANK, paramcd: OS, planned_events: 4, info_fractions: [0.5, 1.0], "
        "futility_spending: bsOF}\n"
    )
    study = tinycut.write_study(tmp_path / name / "study.yaml", text)
    return cut, study


def leaks_in_text(text: str, terms: list[str]) -> list[str]:
    low = text.casefold()
    return [t for t in terms if t.casefold() in low]


def check_open_inputs(paths: list[str], res: Path, terms: list[str]) -> None:
    allowed = {
        res / "open" / f
        for f in (
            "pooled_ard.parquet",
            "saes.parquet",
            "deaths.parquet",
            "compare.parquet",
            "study.json",
        )
    }
    allowed.add(res / "manifest_inputs.json")
    for p in map(Path, paths):
        assert p in allowed, f"the open report rule reads {p}, which is not a gate output"
        data = p.read_bytes()
        assert not leaks_in_text(data.decode("latin-1"), terms), p
        if p.suffix == ".parquet":
            df = pl.read_parquet(p)
            assert not [c for c in df.columns if is_arm_column(c)], (p, df.columns)
            for c, t in df.schema.items():
                if t == pl.Utf8:
                    assert not leaks_in_text("\n".join(df[c].drop_nulls().to_list()), terms), (p, c)
    # the full listings the open report names (listing policy): written by the gate, arm-free too
    for name in ("saes", "deaths"):
        listing = res / "open" / f"listing_{name}.csv"
        assert listing.exists(), listing
        text = listing.read_text()
        assert not leaks_in_text(text, terms), listing
        assert not [c for c in text.splitlines()[0].split(",") if is_arm_column(c) or c == "Arm"], (
            listing
        )


def png_chunks(png: bytes) -> list[bytes]:
    i, out = 8, []
    while i < len(png):
        n = int.from_bytes(png[i : i + 4], "big")
        out.append(png[i + 4 : i + 8])
        i += 12 + n
    return out


def check_open_outputs(html_path: Path, pdf_path: Path, terms: list[str]) -> None:
    h = html_path.read_text()
    assert not leaks_in_text(h, terms + ["TRT01", "ACTARM"]) and not CODED.search(h)
    for w in EFFICACY_WORDS:
        assert w.casefold() not in h.casefold(), w
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', h)
    assert images
    for b64 in images:
        png = base64.b64decode(b64)
        assert set(png_chunks(png)) <= {b"IHDR", b"IDAT", b"IEND", b"pHYs", b"PLTE", b"tRNS"}, (
            png_chunks(png)
        )
        assert not leaks_in_text(png.decode("latin-1"), terms)
    pdf = pdf_path.read_bytes()
    assert not leaks_in_text(pdf.decode("latin-1"), terms)
    text = pdf_text(pdf_path)
    info = pdf_info(pdf_path)
    assert (
        "OPEN REPORT" in text and not leaks_in_text(text + info, terms) and not CODED.search(text)
    )
    for w in EFFICACY_WORDS:
        assert w.casefold() not in text.casefold(), w
    for w in GSD_WORDS:
        assert w.casefold() not in text.casefold() and w.casefold() not in h.casefold(), w


def check_gsd_open(res: Path, rep: Path, expect_info: str, require_z: bool = True) -> None:
    """The open report of a study with an interim design: the pooled GSD_INFO rows only, the look's
    information fraction printed, and none of the closed GSD statistics (Z, p, estimate, bounds,
    powers; 3 decimals as the closed report prints them) in its text."""
    pooled = pl.read_parquet(res / "open" / "pooled_ard.parquet")
    gsd = pooled.filter(pl.col("analysis").str.starts_with("GSD"))
    assert set(gsd["analysis"]) == {"GSD_INFO"} and set(gsd["stat"]) <= GSD_OPEN_STATS
    text = pdf_text(rep / "dsmb_open.pdf") + (rep / "dsmb_open.html").read_text()
    assert f"took place at this data cut at information fraction {expect_info}" in text
    ard = pl.read_parquet(res / "ard" / "ard.parquet")
    closed = ard.filter(
        pl.col("analysis").is_in(["GSD_STATUS", "GSD_BOUNDARY"])
        & ~pl.col("stat").is_in(
            [
                "info_frac",
                "decision",
                "looks_planned",
                "current_look",
                "planned_events",
                "events",
                "n_observed",
                "information",
            ]
        )
    )
    assert closed.filter(pl.col("stat") == "z").height > 0 or not require_z
    for r in closed.drop_nulls("value").iter_rows(named=True):
        shown = f"{r['value']:.3f}"
        if abs(r["value"]) >= 0.01 and shown not in ("1.000", "0.000"):
            assert shown not in text, (r["analysis"], r["stat"], shown)


def test_open_report_of_tiny_zoo_study_is_arm_free_and_depends_on_pooled_data_only(tmp_path):
    reports = {}
    for name, swap, labels in (
        ("zoo", False, (ACTIVE, CONTROL)),
        ("twin", True, ("PANGOLIN-ACTIVE", "AXOLOTL-CONTROL")),
    ):
        base = tmp_path / name
        cut, study = zoo_cut(tmp_path, name, swap, labels)
        res, rep = (
            base / "results" / "TINY" / "2024-06-30",
            base / "reports" / "TINY" / "2024-06-30",
        )
        targets = [rep / "dsmb_open.html", rep / "dsmb_open.pdf", rep / "dsmb_closed.html"]
        plan = run(base, study, cut, targets, "-n")
        assert plan.returncode == 0, plan.stderr[-3000:]
        inputs = declared_inputs(plan.stdout, "dsmb_open")
        assert str(study) not in inputs
        out = run(base, study, cut, targets)
        assert out.returncode == 0, out.stderr[-3000:]
        terms = TERMS + list(labels) + [lab.split("-")[0] for lab in labels]
        check_open_inputs(inputs, res, terms)
        check_open_outputs(rep / "dsmb_open.html", rep / "dsmb_open.pdf", terms)
        check_gsd_open(
            res, rep, "0.25", require_z=False
        )  # 1 death: the log-rank Z is not estimable
        # the closed report is masked by default: codes, no labels
        closed = (rep / "dsmb_closed.html").read_text()
        assert "Group-sequential boundaries" in closed
        assert "Arm A" in closed and not leaks_in_text(closed, list(labels))
        manifest_hash = (
            __import__("hashlib").sha256((res / "manifest_inputs.json").read_bytes()).hexdigest()
        )
        pdftext = pdf_text(rep / "dsmb_open.pdf")
        reports[name] = {
            "html": (rep / "dsmb_open.html").read_text().replace(manifest_hash, "<HASH>"),
            "pdf": pdftext.replace(manifest_hash, "<HASH>").replace(manifest_hash[:16], "<HASH>"),
            "inputs": {
                Path(p).name: Path(p).read_bytes() for p in inputs if p.endswith(".parquet")
            },
            "hash": manifest_hash,
        }
    zoo, twin = reports["zoo"], reports["twin"]
    assert zoo["hash"] != twin["hash"]  # different data and config ...
    assert zoo["inputs"] == twin["inputs"]  # ... same pooled inputs
    assert zoo["html"] == twin["html"] and zoo["pdf"] == twin["pdf"]  # ... same open report


def simulated_zoo(tmp_path: Path) -> tuple[Path, Path]:
    raw = yaml.safe_load((ROOT / "config/studies/ucmsc-dc-rct.yaml").read_text())
    raw["study"]["id"] = "ZOO-SIM"
    raw["study"]["title"] = "A simulated trial with distinctive arm names"
    raw["arms"] = [{"label": ACTIVE, "dose": "lots"}, {"label": CONTROL, "reference": True}]
    raw["simulation"]["arms"] = [
        {
            "label": ACTIVE,
            "armcd": "ZBRFSH",
            "extrt": ACTIVE,
            "exdose": 60000000,
            "exdosu": "cells",
        },
        {"label": CONTROL, "armcd": "QKKCTL", "extrt": CONTROL, "exdose": 0, "exdosu": "cells"},
    ]
    study = tmp_path / "zoo-sim.yaml"
    study.write_text(yaml.safe_dump(raw, sort_keys=False))
    cut = tmp_path / "data" / "2025-06-30"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hepatrial.simulate",
            "--study",
            str(study),
            "--subjects",
            "60",
            "--seed",
            "7",
            "--cut",
            "2025-06-30",
            "--out",
            str(cut),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-500:]
    return cut, study


def test_open_report_of_simulated_zoo_study_is_arm_free(tmp_path):
    cut, study = simulated_zoo(tmp_path)
    dm = pl.read_csv(cut / "dm.csv", infer_schema_length=0)
    assert set(dm["ARM"].to_list()) >= {ACTIVE, CONTROL}  # the data do carry the arms
    res, rep = (
        tmp_path / "results" / "ZOO-SIM" / "2025-06-30",
        tmp_path / "reports" / "ZOO-SIM" / "2025-06-30",
    )
    targets = [
        rep / "dsmb_open.html",
        rep / "dsmb_open.pdf",
        rep / "dsmb_closed.html",
        rep / "dsmb_closed.pdf",
    ]
    plan = run(tmp_path, study, cut, targets, "-n")
    assert plan.returncode == 0, plan.stderr[-3000:]
    inputs = declared_inputs(plan.stdout, "dsmb_open")
    out = run(tmp_path, study, cut, targets)
    assert out.returncode == 0, out.stderr[-3000:]
    check_open_inputs(inputs, res, TERMS)
    check_open_outputs(rep / "dsmb_open.html", rep / "dsmb_open.pdf", TERMS)
    info = pl.read_parquet(res / "ard" / "ard.parquet").filter(
        (pl.col("analysis") == "GSD_INFO") & (pl.col("stat") == "info_frac")
    )["value"][0]
    check_gsd_open(res, rep, fmt_num(info, 2))
    closed = pdf_text(rep / "dsmb_closed.pdf")
    assert "CLOSED REPORT" in closed and "Arm A" in closed and "Arm B" in closed
    assert not leaks_in_text(closed + (rep / "dsmb_closed.html").read_text(), TERMS)

"""Benchmark of the DAG: wall time and peak memory per rule, end to end, and the no-op rerun.

Usage (from the project root, in the project's virtual environment)::

    python benchmarks/run.py [--sizes 1000 10000 100000] [--no-bundled] [--format csv]
                             [--cores 2] [--out benchmarks/results/benchmark.csv]
                             [--workdir DIR] [--keep]

For the bundled cut (``data/UCMSC-DC-RCT/2025-06-30``, unless ``--no-bundled``) and for a
simulated cut of each ``--sizes`` (randomised subjects, ``python -m hepatrial.simulate``, cut
2025-06-30, seed = size) it:

1. times the simulator (wall, peak RSS of the process tree);
2. runs the whole DAG cold, into a fresh results/reports folder, with ``--cores`` cores, through
   a wrapper Snakefile that includes the project's ``Snakefile`` plus the report and TLF rules
   (when the main Snakefile does not include them yet), asks for every output (``rule all``,
   the DSMB reports, the manifest, the tables and figures) and gives *every* rule a Snakemake
   ``benchmark:`` file after the rules are defined (``rule.benchmark = ...``), so no rule file
   is edited. Snakemake's own benchmark records each job's wall time (``s``), peak RSS
   (``max_rss``, MB, the job's process tree sampled every 0.5 s) and CPU time; this script adds
   the end-to-end wall time and the peak RSS summed over the whole Snakemake process tree
   (sampled every 0.1 s with psutil: jobs running side by side add up);
3. reruns the DAG (``Nothing to be done``) and times that;
4. in this process, times the MMRM fit (``hepatrial.models.mmrm.MMRM.fit`` with the study's
   covariance, UN, on the ADEFF MELD changes, as ``hepatrial.analysis.mmrm.mmrm_ard`` calls it),
   the whole MMRM ARD step (fit plus the random-slope LMM sensitivity analysis), and the
   Kaplan-Meier + log-rank step (``kaplan_meier`` per arm and ``logrank_test`` on ADTTE OS) and
   the whole survival ARD of OS (KM, CIF, log-rank, Cox) on the ADaM the run wrote.

Rows go to ``--out`` (CSV, one row per measurement; columns in ``FIELDS``): ``kind`` is
``simulate``, ``end_to_end``, ``noop_rerun``, ``job`` (one DAG job; ``rule`` and
``wildcards``), ``rule`` (the jobs of one rule summed: wall seconds summed, peak RSS the max),
or ``inprocess``. Every row carries the machine (cores, RAM) and the 1-minute load average when
it was measured, since other processes on the machine slow the figures down.

Not a test: ``pytest`` does not collect it (``benchmarks/`` is outside ``testpaths``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "config/studies/ucmsc-dc-rct.yaml"
BUNDLED = ROOT / "data/UCMSC-DC-RCT/2025-06-30"
CUT = "2025-06-30"
FIELDS = [
    "case",
    "n_subjects",
    "kind",
    "rule",
    "wildcards",
    "n_jobs",
    "wall_s",
    "cpu_s",
    "peak_rss_mb",
    "detail",
    "cores",
    "ram_gb",
    "load1",
    "measured_utc",
    "commit",
    "study",
]

WRAPPER = """\
# Written by benchmarks/run.py: the project's DAG with every output and a benchmark file per job.
include: "{root}/Snakefile"

for _r in workflow.rules:
    _r.benchmark_modifier = workflow.modifier.path_modifier
    _r.benchmark = f"{{RES}}/benchmarks/{{_r.name}}" + "".join(
        "__{{" + w + "}}" for w in sorted(_r.wildcard_names)) + ".tsv"


rule bench_all:
    input:
        run_outputs(all_outputs()),
"""


def wrapper_snakefile(folder: Path) -> Path:
    path = folder / "Snakefile"
    path.write_text(WRAPPER.format(root=ROOT))
    return path


class TreeSampler(threading.Thread):
    """Peak RSS (bytes) summed over a process and its descendants, sampled every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.proc, self.interval, self.peak, self._done = (
            psutil.Process(pid),
            interval,
            0,
            threading.Event(),
        )

    def run(self):
        while not self._done.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._done.wait(self.interval)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def timed(
    cmd: list[str], log: Path, env: dict | None = None, timeout: float | None = None
) -> tuple[float, float, float, int]:
    """Run ``cmd``; (wall s, CPU s of the children, peak tree RSS MB, return code). After ``timeout``
    seconds the command's process group is terminated (return code -15)."""
    before = os.times()
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        p = subprocess.Popen(
            cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        sampler = TreeSampler(p.pid)
        sampler.start()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                rc = p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                rc = p.wait()
    wall = time.perf_counter() - t0
    peak = sampler.stop()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, peak / 2**20, rc


def commit() -> str:
    """The commit measured (``+dirty`` when the work tree has uncommitted changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return ""


COMMIT = commit()
STUDY_LABEL = "ucmsc-dc-rct"


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "commit": COMMIT,
        "study": STUDY_LABEL,
    }


def study_without_estimands(folder: Path) -> Path:
    """The RCT study config without its estimands (``--estimands none``): the conditional-mean
    jackknife refits the imputation model once per subject and holds n + 1 completed data sets of
    n subjects, quadratic in the trial's size (docs/performance.md), so the scaling runs of the rest
    of the DAG leave it out and say so in the ``study`` column."""
    import yaml

    cfg = yaml.safe_load(STUDY.read_text())
    cfg.pop("estimands", None)
    cfg.setdefault("dsmb", {})["estimands"] = False
    path = folder / "ucmsc-dc-rct-no-estimands.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def stamp() -> dict:
    return {
        "load1": round(os.getloadavg()[0], 2),
        "measured_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def read_benchmarks(folder: Path) -> list[dict]:
    rows = []
    for tsv in sorted(folder.glob("*.tsv")):
        name, *wc = tsv.stem.split("__")
        with open(tsv) as fh:
            rec = next(csv.DictReader(fh, delimiter="\t"))
        num = {
            k: (float(rec[k]) if rec.get(k) not in (None, "", "NA", "-") else None)
            for k in ("s", "max_rss", "cpu_time")
        }
        rows.append(
            {
                "rule": name,
                "wildcards": ",".join(wc),
                "wall_s": num["s"],
                "cpu_s": num["cpu_time"],
                "peak_rss_mb": num["max_rss"],
            }
        )
    return rows


def by_rule(jobs: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for j in jobs:
        r = out.setdefault(
            j["rule"],
            {"rule": j["rule"], "n_jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0},
        )
        r["n_jobs"] += 1
        r["wall_s"] += j["wall_s"] or 0.0
        r["cpu_s"] += j["cpu_s"] or 0.0
        r["peak_rss_mb"] = max(r["peak_rss_mb"], j["peak_rss_mb"] or 0.0)
    return sorted(out.values(), key=lambda r: -r["wall_s"])


def in_process(res: Path, n: int | None, ard_max: int = 10000) -> list[dict]:
    """MMRM fit and the KM/log-rank step on the ADaM of the run, timed in this process."""
    import numpy as np
    import polars as pl

    from hepatrial.analysis.common import select_population
    from hepatrial.analysis.mmrm import mmrm_ard, mmrm_data, mmrm_model, mmrm_terms
    from hepatrial.analysis.survival import survival_ard
    from hepatrial.spec import load as load_study
    from hepatrial.survival import kaplan_meier, logrank_test

    study = load_study(STUDY)
    rows = []
    adeff = pl.read_parquet(res / "adam/adeff.parquet")
    meld = study.scores.meld_primary
    df, order = mmrm_data(adeff, study, meld, "ITT")
    cfg = study.mmrm
    ref = study.comparison_reference
    arms = [ref] + [a for a in study.arm_labels if a != ref and a in set(df["ARM"])]
    covariates, factors = mmrm_terms(df, study)
    model = mmrm_model(study)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(
        df,
        response="CHG",
        subject="USUBJID",
        visit="AVISIT",
        visit_order=order,
        arm="ARM",
        arm_levels=arms,
        reference=ref,
        covariates=covariates,
        factors=factors,
    )
    fit_s, fit_c = time.perf_counter() - t0, time.process_time() - c0
    detail = (
        f"{meld}: {df['USUBJID'].n_unique()} subjects, {df.height} obs, {len(order)} visits, "
        f"{model.covariance_used_} {cfg.method} {cfg.df}; converged={model.converged_}"
    )
    rows.append({"rule": "mmrm_fit", "wall_s": fit_s, "cpu_s": fit_c, "detail": detail, **stamp()})
    if n is None or n <= ard_max:  # the mmrm job of the DAG times the same step at every size
        t0, c0 = time.perf_counter(), time.process_time()
        mmrm_ard(adeff, study, meld, "ITT")
        rows.append(
            {
                "rule": "mmrm_ard",
                "wall_s": time.perf_counter() - t0,
                "cpu_s": time.process_time() - c0,
                "detail": f"{meld}: MMRM fit + random-slope LMM sensitivity + ARD rows",
                **stamp(),
            }
        )

    adtte = pl.read_parquet(res / "adam/adtte.parquet")
    pop = select_population(adtte.filter(pl.col("PARAMCD") == "OS"), study, "ITT")
    pop = pop.filter(pl.col("AVAL").is_not_null() & pl.col("CNSR").is_not_null())
    t0, c0 = time.perf_counter(), time.process_time()
    time_ = pop["AVAL"].cast(pl.Float64).to_numpy()
    event = (pop["CNSR"] == 0).cast(pl.Int64).to_numpy()
    arm = pop["ARM"].to_numpy()
    for a in np.unique(arm):
        kaplan_meier(time_[arm == a], event[arm == a])
    logrank_test(time_, event, arm)
    rows.append(
        {
            "rule": "km_logrank",
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0,
            "detail": f"OS: {pop.height} subjects, {int(event.sum())} events; KM per arm + log-rank",
            **stamp(),
        }
    )
    t0, c0 = time.perf_counter(), time.process_time()
    survival_ard(adtte, study, "OS")
    rows.append(
        {
            "rule": "survival_ard",
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0,
            "detail": "OS: KM, medians, log-rank (plain, stratified), Cox, as the survival rule",
            **stamp(),
        }
    )
    return [{"kind": "inprocess", **r} for r in rows]


def run_case(case: str, n: int | None, cut: Path, work: Path, args) -> list[dict]:
    rows: list[dict] = []
    smk = wrapper_snakefile(work)
    results, reports = work / "results", work / "reports"
    base = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(smk),
        "--cores",
        str(args.cores),
        "--nolock",
        *args.smk_args.split(),
        "--config",
        f"study={args.study_path}",
        f"cut={cut}",
        f"results_dir={results}",
        f"reports_dir={reports}",
        "--",
        *(
            [str(work / "results" / "UCMSC-DC-RCT" / cut.name / t) for t in args.targets]
            if args.targets
            else ["bench_all"]
        ),
    ]
    env = dict(os.environ, SOURCE_DATE_EPOCH="1751241600")
    wall, cpu, peak, rc = timed(base, work / "cold.log", env, args.case_timeout)
    res = results / "UCMSC-DC-RCT" / cut.name
    bench = res / "benchmarks"
    jobs = read_benchmarks(bench) if bench.exists() else []
    status = (
        ""
        if rc == 0
        else f"; FAILED or stopped (rc={rc}, log {work / 'cold.log'}): finished jobs only"
    )
    rows.append(
        {
            "kind": "end_to_end",
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": peak,
            "n_jobs": len(jobs),
            "detail": f"cold, --cores {args.cores} {args.smk_args}".rstrip()
            + ", every output incl. DSMB reports, "
            "tables, figures; "
            f"peak_rss_mb = whole Snakemake process tree{status}",
            **stamp(),
        }
    )
    rows += [{"kind": "rule", **r, **stamp()} for r in by_rule(jobs)]
    rows += [{"kind": "job", "n_jobs": 1, **j, **stamp()} for j in jobs]
    if args.targets:
        rows[0]["detail"] = (
            f"cold, --cores {args.cores}, only {' '.join(args.targets)} and what they need; "
            f"peak_rss_mb = whole Snakemake process tree{status}"
        )
        return [{"case": case, "n_subjects": n, **machine(), **r} for r in rows]
    if rc != 0:
        print(
            f"ERROR: cold run of {case} did not complete (rc={rc}); see {work / 'cold.log'}",
            file=sys.stderr,
        )
        return [{"case": case, "n_subjects": n, **machine(), **r} for r in rows]
    # The rerun must find nothing to do; if a rule file changed meanwhile (Snakemake reruns jobs whose
    # code changed), that run redoes those jobs and the next one is timed (at most 3 tries).
    for attempt in range(1, 4):  # noqa: B007 (reported after the loop)
        wall, cpu, peak, rc = timed(base, work / "noop.log", env)
        noop = "Nothing to be done" in (work / "noop.log").read_text()
        if noop or rc != 0:
            break
    rows.append(
        {
            "kind": "noop_rerun",
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": peak,
            "detail": f"rerun, rc={rc}, nothing to be done={noop}, try {attempt}",
            **stamp(),
        }
    )
    rows += in_process(res, n, args.inprocess_ard_max)
    return [{"case": case, "n_subjects": n, **machine(), **r} for r in rows]


def write(rows: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 100000])
    ap.add_argument("--no-bundled", action="store_true", help="skip the bundled 240-subject cut")
    ap.add_argument(
        "--format",
        choices=["csv", "parquet", "xpt"],
        default="csv",
        help="file format of the simulated cuts (what ingest reads)",
    )
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument(
        "--smk-args",
        default="",
        help="more Snakemake options for the DAG runs, e.g. a memory budget: "
        "'--resources mem_mb=20000 --set-resources ingest:mem_mb=14000 adam_bds:mem_mb=14000'",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/benchmark.csv"))
    ap.add_argument("--workdir", help="where cuts and results go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument(
        "--case-timeout",
        type=float,
        help="stop a DAG run after this many seconds (its finished jobs are still recorded)",
    )
    ap.add_argument(
        "--inprocess-ard-max",
        type=int,
        default=10000,
        help="largest size at which the whole MMRM ARD step (with the LMM) is also timed in process",
    )
    ap.add_argument(
        "--targets",
        nargs="*",
        default=[],
        help="only these outputs (paths under results/<study>/<cut>/, e.g. adam/adqs.parquet) and what "
        "they need, instead of every output; the end_to_end row then covers that part of the DAG",
    )
    ap.add_argument(
        "--estimands",
        choices=["config", "none"],
        default="config",
        help="'none': the RCT config without its estimands list (the conditional-mean jackknife "
        "is quadratic in the trial's size); recorded in the study column",
    )
    ap.add_argument(
        "--cut",
        help="an existing simulated cut (a folder named by its cut date) to run instead of simulating "
        "one; with a single --sizes, the size it was simulated with",
    )
    args = ap.parse_args(argv)
    if args.cut and len(args.sizes) != 1:
        ap.error("--cut goes with exactly one --sizes (the size of that cut)")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="hepatrial-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    global STUDY_LABEL
    args.study_path = STUDY
    if args.estimands == "none":
        args.study_path = study_without_estimands(work)
        STUDY_LABEL = "ucmsc-dc-rct without estimands"
    out = Path(args.out)
    rows: list[dict] = []
    print(
        f"machine: {platform.platform()}, {machine()}, python {platform.python_version()}; work {work}",
        flush=True,
    )
    cases = ([] if args.no_bundled else [("bundled", 240, BUNDLED)]) + [
        (f"sim{n}", n, None) for n in args.sizes
    ]
    try:
        for case, n, cut in cases:
            folder = work / case
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            if cut is None and args.cut:
                cut = Path(args.cut).resolve()
            elif cut is None:
                cut = folder / "data" / CUT
                cmd = [
                    sys.executable,
                    "-m",
                    "hepatrial.simulate",
                    "--study",
                    str(STUDY),
                    "--subjects",
                    str(n),
                    "--seed",
                    str(n),
                    "--cut",
                    CUT,
                    "--out",
                    str(cut),
                    "--format",
                    args.format,
                ]
                wall, cpu, peak, rc = timed(cmd, folder / "simulate.log")
                if rc != 0:
                    write(rows, out)
                    raise SystemExit(
                        f"ERROR: simulate {n} failed: {(folder / 'simulate.log').read_text()[-2000:]}"
                    )
                rows.append(
                    {
                        "case": case,
                        "n_subjects": n,
                        "kind": "simulate",
                        "wall_s": wall,
                        "cpu_s": cpu,
                        "peak_rss_mb": peak,
                        "detail": f"--format {args.format}",
                        **machine(),
                        **stamp(),
                    }
                )
            case_rows = run_case(case, n, cut, folder, args)
            rows += case_rows
            for r in case_rows:
                if r["kind"] in ("end_to_end", "noop_rerun", "inprocess"):
                    print(
                        f"{case}: {r['kind']} {r.get('rule') or ''} {r['wall_s']:.2f} s"
                        + (f", peak {r['peak_rss_mb']:.0f} MB" if r.get("peak_rss_mb") else "")
                        + f" (load {r['load1']})",
                        flush=True,
                    )
            write(rows, out)  # after every case: a partial set survives an interrupted run
            if not args.keep:
                shutil.rmtree(folder / "data", ignore_errors=True)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

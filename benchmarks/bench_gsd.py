"""Benchmark: group-sequential design computation of hepatrial.models.gsd (and R rpact if present).

Usage::

    python benchmarks/bench_gsd.py [OUT_CSV] [--reps 5] [--no-r] [--max-seconds 1.0]

Times, best of ``--reps`` wall-clock runs, for 5 equally spaced looks and one-sided alpha 0.025,
power 80%: ``gsd_design`` (efficacy bounds, cumulative alpha, the drift / inflation factor, and
with futility the beta-spending bounds) for every alpha-spending family with no, non-binding and
binding futility of the same family; and ``monitor`` at look 2 of 5 (recomputation at observed
fractions, RCIs, conditional power under trend and design effect, predictive power). With
``Rscript`` and rpact available (and not ``--no-r``), times ``getDesignGroupSequential`` +
``getDesignCharacteristics`` on the same designs in one R session (best of ``--reps``).
Writes a CSV (default benchmarks/results/gsd.csv) and exits 1 if any Python design took longer
than ``--max-seconds``. Not a pytest test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from hepatrial.models.gsd import gsd_design, monitor

FRACS = [0.2, 0.4, 0.6, 0.8, 1.0]
FAMILIES = [("asOF", None), ("asP", None), ("asHSD", -4.0), ("asKD", 3.0)]
FUTILITY = ["none", "nonbinding", "binding"]


def cases():
    for fam, p in FAMILIES:
        for fut in FUTILITY:
            kw = {"efficacy": fam, "efficacy_param": p}
            if fut != "none":
                kw.update(futility="bs" + fam[2:], futility_param=p, binding=fut == "binding")
            yield f"{fam}{'' if p is None else f'({p:g})'}_{fut}", fam, p, fut, kw


def best_of(fn, reps):
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


R_CODE = r"""
suppressPackageStartupMessages(library(rpact))
args <- commandArgs(trailingOnly = TRUE)
cases <- read.csv(args[1], stringsAsFactors = FALSE)
reps <- as.integer(args[2])
for (i in seq_len(nrow(cases))) {
  cs <- cases[i, ]
  a <- list(informationRates = c(0.2, 0.4, 0.6, 0.8, 1), alpha = 0.025, beta = 0.2,
            typeOfDesign = cs$fam)
  if (!is.na(cs$param)) a$gammaA <- cs$param
  if (cs$fut != "none") {
    a$typeBetaSpending <- sub("^as", "bs", cs$fam)
    if (!is.na(cs$param)) a$gammaB <- cs$param
    a$bindingFutility <- cs$fut == "binding"
  }
  best <- Inf
  for (r in seq_len(reps)) {
    t <- system.time(getDesignCharacteristics(do.call(getDesignGroupSequential, a)))
    best <- min(best, t[["elapsed"]])
  }
  cat(sprintf("RESULT %s %.6f\n", cs$case, best))
}
"""


def time_r(rows, reps):
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "cases.csv")
        rs = os.path.join(tmp, "b.R")
        pl.DataFrame(
            [
                {"case": r["case"], "fam": r["family"], "param": r["param"], "fut": r["futility"]}
                for r in rows
            ]
        ).write_csv(csv)
        Path(rs).write_text(R_CODE)
        out = subprocess.run(
            ["Rscript", rs, csv, str(reps)],
            check=False,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        res = {}
        for line in out.stdout.splitlines():
            if line.startswith("RESULT"):
                _, case, sec = line.split()
                res[case] = float(sec)
        if not res:
            print("R failed: " + out.stderr.strip()[-300:], file=sys.stderr)
        return res


def have_rpact():
    if shutil.which("Rscript") is None:
        return False
    r = subprocess.run(
        ["Rscript", "-e", "library(rpact)"], check=False, capture_output=True, timeout=120
    )
    return r.returncode == 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="benchmarks/results/gsd.csv")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=1.0)
    a = ap.parse_args(argv)
    gsd_design(FRACS)  # warm up (imports, first allocations)
    rows = []
    for case, fam, p, fut, kw in cases():
        sec = best_of(lambda kw=kw: gsd_design(FRACS, **kw), a.reps)
        d = gsd_design(FRACS, **kw)
        rows.append(
            {
                "case": case,
                "what": "gsd_design",
                "family": fam,
                "param": p,
                "futility": fut,
                "looks": len(FRACS),
                "python_seconds": sec,
                "inflation_factor": d.inflation_factor,
                "r_seconds": None,
                "cores": os.cpu_count(),
                "load1": os.getloadavg()[0],
            }
        )
    d = gsd_design(FRACS, futility="bsOF")
    sec = best_of(
        lambda: monitor(
            d, [0.22, 0.37], [0.8, 1.4], [0.12, 0.16], [0.15, 0.114], design_effect=0.3
        ),
        a.reps,
    )
    rows.append(
        {
            "case": "monitor_look2_asOF_nonbinding",
            "what": "monitor",
            "family": "asOF",
            "param": None,
            "futility": "nonbinding",
            "looks": len(FRACS),
            "python_seconds": sec,
            "inflation_factor": None,
            "r_seconds": None,
            "cores": os.cpu_count(),
            "load1": os.getloadavg()[0],
        }
    )
    if not a.no_r and have_rpact():
        r = time_r([x for x in rows if x["what"] == "gsd_design"], a.reps)
        for x in rows:
            x["r_seconds"] = r.get(x["case"])
    for x in rows:
        print(
            f"{x['case']:32s} python {x['python_seconds'] * 1e3:8.1f} ms"
            + ("" if x["r_seconds"] is None else f"   rpact {x['r_seconds'] * 1e3:8.1f} ms"),
            flush=True,
        )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, infer_schema_length=None).write_csv(out)
    print(f"wrote {out}")
    slow = [x["case"] for x in rows if x["python_seconds"] > a.max_seconds]
    if slow:
        print(f"slower than {a.max_seconds} s: {slow}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

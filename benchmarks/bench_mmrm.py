"""Benchmark: UN MMRM fit time of hepatrial.models.mmrm (and R nlme::gls if Rscript exists).

Usage::

    python benchmarks/bench_mmrm.py [OUT_CSV] [--sizes 1000 10000 100000] [--r-sizes 1000 10000]
                                     [--r-timeout 900] [--reps 3]

Simulates two-arm trials with 5 visits, a baseline covariate, a 3-level stratum, a
heterogeneous AR(1)-like true covariance and ~20% monotone dropout; fits
``CHG ~ BASE + STRATUM + ARM*AVISIT`` with UN covariance by REML (Satterthwaite inference,
i.e. everything ``MMRM.fit`` computes). Reports the best of ``--reps`` wall-clock times (one
run for n >= 100000). With ``Rscript`` on the PATH, times ``nlme::gls`` (corSymm + varIdent,
REML; the fit only, not emmeans) on the same data for ``--r-sizes`` and reports R / Python.
Writes a CSV (default benchmarks/results/mmrm.csv). Not a pytest test.

``--formula-sizes`` (default 10000) also times the formula interface
``hepatrial.models.mmrm.fit(d, "CHG ~ BASE * AVISIT + STRATUM + ARM * AVISIT", "UN",
group="ARM")`` - baseline-by-visit and one UN matrix per arm (SAS ``REPEATED / GROUP=ARM``),
Satterthwaite inference - then its LS means per arm and visit and type III tests (goal: under
2 s for 10 000 subjects x 5 visits). Written to ``<OUT_CSV stem>_formula.csv``.
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

from hepatrial.models import MMRM
from hepatrial.models.mmrm import fit as mmrm_fit

T = 5


def simulate(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    sd = np.linspace(4, 7, T)
    C = 0.6 ** np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    L = np.linalg.cholesky(C * np.outer(sd, sd))
    E = rng.standard_normal((n, T)) @ L.T
    arm = rng.integers(0, 2, n)
    base = rng.normal(50, 8, n)
    st = rng.integers(0, 3, n)
    Y = (
        5
        - 0.1 * base[:, None]
        - 0.5 * np.arange(T)
        - 0.4 * arm[:, None] * np.arange(T)
        + 0.7 * st[:, None]
        + E
    )
    last = rng.integers(1, 5 * T, n)
    obs = np.arange(T)[None, :] < np.minimum(last, T)[:, None]  # ~20% monotone dropout
    sub = np.repeat(np.arange(n), T)[obs.ravel()]
    vis = np.tile(np.arange(1, T + 1), n)[obs.ravel()]
    return pl.DataFrame(
        {
            "USUBJID": sub,
            "ARM": np.where(arm == 1, "Active", "Placebo")[sub],
            "STRATUM": np.array(["S1", "S2", "S3"])[st][sub],
            "AVISIT": vis,
            "VISITIDX": vis,
            "BASE": base[sub],
            "CHG": Y[obs],
        }
    )


def time_python(d: pl.DataFrame, reps: int):
    best, m = np.inf, None
    for _ in range(reps):
        t0 = time.perf_counter()
        m = MMRM(covariance="UN", fallback=None).fit(
            d, arm_levels=["Placebo", "Active"], covariates=["BASE"], factors=["STRATUM"]
        )
        best = min(best, time.perf_counter() - t0)
    return best, m


FORMULA = "CHG ~ BASE * AVISIT + STRATUM + ARM * AVISIT"


def time_formula(d: pl.DataFrame, reps: int):
    """Best-of-reps seconds of fit() (UN grouped by arm) and of its LS means + type III."""
    d = d.with_columns(pl.col("AVISIT").cast(pl.Utf8))
    best_fit, best_post, r = np.inf, np.inf, None
    for _ in range(reps):
        t0 = time.perf_counter()
        r = mmrm_fit(d, FORMULA, "UN", group="ARM", reference_levels={"ARM": "Placebo"})
        t1 = time.perf_counter()
        r.lsmeans(["ARM", "AVISIT"])
        r.anova(3)
        t2 = time.perf_counter()
        best_fit, best_post = min(best_fit, t1 - t0), min(best_post, t2 - t1)
    return best_fit, best_post, r


R_CODE = r"""
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$ARM <- factor(d$ARM, levels = c("Placebo", "Active"))
d$AVISIT <- factor(d$AVISIT); d$STRATUM <- factor(d$STRATUM)
t <- system.time(fit <- gls(CHG ~ BASE + STRATUM + ARM * AVISIT, data = d,
                            correlation = corSymm(form = ~ VISITIDX | USUBJID),
                            weights = varIdent(form = ~ 1 | AVISIT), method = "REML"))
cat(sprintf("RESULT %.6f %.10f\n", t[["elapsed"]], as.numeric(logLik(fit))))
"""


def time_r(d: pl.DataFrame, timeout: float):
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "d.csv")
        rs = os.path.join(tmp, "b.R")
        d.write_csv(csv)
        Path(rs).write_text(R_CODE)
        try:
            out = subprocess.run(
                ["Rscript", rs, csv], check=False, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return None, None, f"timeout after {timeout:.0f} s"
        for line in out.stdout.splitlines():
            if line.startswith("RESULT"):
                _, sec, ll = line.split()
                return float(sec), float(ll), "ok"
        return None, None, "failed: " + out.stderr.strip().splitlines()[-1][:200]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="benchmarks/results/mmrm.csv")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--r-sizes", type=int, nargs="*", default=[1000, 10000])
    ap.add_argument("--r-timeout", type=float, default=900)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--formula-sizes", type=int, nargs="*", default=[10000])
    a = ap.parse_args(argv)
    have_r = shutil.which("Rscript") is not None
    rows = []
    MMRM().fit(simulate(200, 99), arm_levels=["Placebo", "Active"], factors=["STRATUM"])  # warm
    for n in a.sizes:
        d = simulate(n, seed=n)
        sec, m = time_python(d, a.reps if n < 100000 else 1)
        row = {
            "n_subjects": n,
            "n_visits": T,
            "n_obs": d.height,
            "python_seconds": sec,
            "python_loglik": m.loglik_,
            "python_converged": m.converged_,
            "cores": os.cpu_count(),
            "r_seconds": None,
            "r_loglik": None,
            "r_status": "not run",
            "ratio_r_over_python": None,
        }
        if have_r and n in a.r_sizes:
            rsec, rll, status = time_r(d, a.r_timeout)
            row.update(
                r_seconds=rsec,
                r_loglik=rll,
                r_status=status,
                ratio_r_over_python=(rsec / sec) if rsec else None,
            )
        print(", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        rows.append(row)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if rows:
        pl.DataFrame(rows, infer_schema_length=None).write_csv(out)
        print(f"wrote {out}")
    frows = []
    if a.formula_sizes:
        time_formula(simulate(300, 98), 1)  # warm
    for n in a.formula_sizes:
        d = simulate(n, seed=n)
        fsec, psec, r = time_formula(d, a.reps)
        row = {
            "n_subjects": n,
            "n_visits": T,
            "n_obs": d.height,
            "model": FORMULA,
            "covariance": "UN, group=ARM",
            "fit_seconds": fsec,
            "lsmeans_type3_seconds": psec,
            "total_seconds": fsec + psec,
            "loglik": r.loglik,
            "n_theta": int(r.theta.size),
            "cores": os.cpu_count(),
        }
        print(", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        frows.append(row)
    if frows:
        fout = out.with_name(out.stem + "_formula.csv")
        pl.DataFrame(frows).write_csv(fout)
        print(f"wrote {fout}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: reference-based multiple imputation (hepatrial.models.mi).

Usage::

    python benchmarks/bench_mi.py [OUT_CSV] [--n 240] [--visits 6] [--M 500] [--reps 3]

Simulates a two-arm trial (``--n`` subjects, ``--visits`` visits, a baseline covariate, a
3-level stratum, ~30% of subjects with an ICE followed by monotone dropout, J2R for the ICEs)
and times, end to end (imputation model fit, imputation, per-visit ANCOVA, pooling):

* ``bayes``: Gibbs-sampler Bayesian MI with ``--M`` imputations (warmup 200, thin 5);
* ``approxbayes``: ``--M`` bootstrap REML fits, one imputation each;
* ``condmean_jackknife``: conditional mean imputation with all n leave-one-out refits;
* ``tipping``: a 21-point delta grid on the ``bayes`` imputations (analysis + pooling only).

Reports the best of ``--reps`` wall-clock times; writes a CSV (default
benchmarks/results/mi.csv). Target (issue 20): bayes with M = 500 and condmean with the
jackknife each under 10 s on 2 cores for 240 subjects x 6 visits. Not a pytest test.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import polars as pl

from hepatrial.models import mi


def simulate(n: int, T: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    sd = np.linspace(4, 7, T)
    C = 0.6 ** np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    L = np.linalg.cholesky(C * np.outer(sd, sd))
    act = rng.integers(0, 2, n) == 1
    base = rng.normal(50, 8, n)
    st = rng.integers(0, 3, n)
    Y = (
        5
        - 0.1 * base[:, None]
        - 0.5 * np.arange(T)
        - 0.4 * act[:, None] * np.arange(T)
        + 0.7 * st[:, None]
        + rng.standard_normal((n, T)) @ L.T
    )
    ice = np.where(rng.random(n) < 0.3, rng.integers(1, T, n), T)
    visits = [f"WEEK {2 * (v + 1)}" for v in range(T)]
    obs = np.arange(T)[None, :] < ice[:, None]
    sub = np.repeat(np.arange(n), T)[obs.ravel()]
    vis = np.tile(np.arange(T), n)[obs.ravel()]
    data = pl.DataFrame(
        {
            "USUBJID": [f"S{i:04d}" for i in sub],
            "ARM": np.where(act, "Active", "Placebo")[sub],
            "STRATUM": np.array(["S1", "S2", "S3"])[st][sub],
            "AVISIT": np.array(visits)[vis],
            "BASE": base[sub],
            "CHG": Y[obs],
        }
    )
    has = ice < T
    ice_df = pl.DataFrame(
        {
            "USUBJID": [f"S{i:04d}" for i in np.flatnonzero(has)],
            "AVISIT": np.array(visits)[ice[has]],
            "STRATEGY": "JR",
        }
    )
    return data, ice_df, visits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=str(Path(__file__).parent / "results" / "mi.csv"))
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--visits", type=int, default=6)
    ap.add_argument("--M", type=int, default=500)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    data, ice, visits = simulate(a.n, a.visits)
    kw = {"visit_order": visits, "control": "Placebo"}
    cases = {
        "bayes": lambda: mi.impute(data, ice, method="bayes", M=a.M, seed=1, **kw),
        "approxbayes": lambda: mi.impute(data, ice, method="approxbayes", M=a.M, seed=1, **kw),
        "condmean_jackknife": lambda: mi.impute(data, ice, method="condmean", **kw),
    }
    rows = []
    imps = {}
    for name, fun in cases.items():
        best = np.inf
        for _ in range(a.reps):
            t0 = time.perf_counter()
            imp = fun()
            pooled = mi.pool(mi.analyse(imp))
            best = min(best, time.perf_counter() - t0)
        imps[name] = imp
        last = pooled.filter((pl.col("analysis") == "MI_DIFF") & (pl.col("avisit") == visits[-1]))
        rows.append(
            {
                "case": name,
                "n": a.n,
                "visits": a.visits,
                "M": a.M if name != "condmean_jackknife" else a.n,
                "seconds": best,
                "estimate": last["estimate"][0],
                "se": last["se"][0],
            }
        )
        print(
            f"{name:20s} {best:7.2f} s  (diff at {visits[-1]}: "
            f"{last['estimate'][0]:.3f}, SE {last['se'][0]:.3f})"
        )
    best = np.inf
    for _ in range(a.reps):
        t0 = time.perf_counter()
        mi.tipping_point(imps["bayes"], np.linspace(0, 10, 21))
        best = min(best, time.perf_counter() - t0)
    rows.append(
        {
            "case": "tipping_21_deltas_on_bayes",
            "n": a.n,
            "visits": a.visits,
            "M": a.M,
            "seconds": best,
            "estimate": None,
            "se": None,
        }
    )
    print(f"{'tipping (21 deltas)':20s} {best:7.2f} s")
    out = pl.DataFrame(rows).with_columns(
        pl.lit(platform.processor() or platform.machine()).alias("cpu"),
        pl.lit(os.cpu_count()).alias("cpus"),
    )
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(a.out)


if __name__ == "__main__":
    main()

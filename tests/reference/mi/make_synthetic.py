"""Make the synthetic MI reference data (data_synthetic.csv, ice_synthetic.csv).

Two arms (Active better than Placebo), 4 visits, a baseline covariate, a 3-level stratum,
monotone dropout after an intercurrent event (ICE) plus a few intermittent missing values and
a few observed post-ICE values. ICE strategies are mixed so that every strategy occurs:
MAR, JR, CR, CIR, LMCF. Run: ``python tests/reference/mi/make_synthetic.py``.
"""

from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).parent


def main(n=120, seed=20240520):
    rng = np.random.default_rng(seed)
    T = 4
    sd = np.array([3.0, 4.0, 4.5, 5.0])
    C = 0.65 ** np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    L = np.linalg.cholesky(C * np.outer(sd, sd))
    arm = np.where(np.arange(n) % 2 == 0, "Active", "Placebo")
    act = arm == "Active"
    base = np.round(rng.normal(20, 4, n), 1)
    st = rng.choice(["S1", "S2", "S3"], n)
    stn = (st == "S2") * 0.8 + (st == "S3") * -0.6
    Y = (
        -1.0
        - 0.25 * (base[:, None] - 20)
        - 1.2 * np.arange(T)[None, :]
        - 0.9 * act[:, None] * np.arange(1, T + 1)[None, :]
        + stn[:, None]
        + rng.standard_normal((n, T)) @ L.T
    )
    Y = np.round(Y, 2)
    # ICE: first affected visit (index 1..3) for ~35% of subjects
    ice = np.where(rng.random(n) < 0.35, rng.integers(1, T, n), T)
    obs = np.arange(T)[None, :] < ice[:, None]
    # a few observed post-ICE values (retrieved dropouts) and intermittent missing values
    post = (ice < T - 1) & (rng.random(n) < 0.25)
    obs[post, T - 1] = True
    inter = (ice == T) & (rng.random(n) < 0.08)
    obs[inter, 1] = False
    strategies = np.array(["JR", "CR", "CIR", "LMCF", "MAR"])
    strat = np.where(act, strategies[rng.integers(0, 5, n)], strategies[rng.integers(0, 5, n)])
    strat = np.where((strat == "LMCF") & (ice == 0), "JR", strat)
    visits = [f"WEEK {4 * (v + 1)}" for v in range(T)]
    ids = [f"S{i + 1:03d}" for i in range(n)]
    rows = [
        {
            "USUBJID": ids[i],
            "ARM": arm[i],
            "STRATUM": st[i],
            "BASE": base[i],
            "AVISIT": visits[v],
            "CHG": float(Y[i, v]) if obs[i, v] else None,
        }
        for i in range(n)
        for v in range(T)
    ]
    pl.DataFrame(rows).write_csv(HERE / "data_synthetic.csv")
    has = ice < T
    pl.DataFrame(
        {
            "USUBJID": np.array(ids)[has],
            "AVISIT": np.array(visits)[ice[has]],
            "STRATEGY": strat[has],
        }
    ).write_csv(HERE / "ice_synthetic.csv")


if __name__ == "__main__":
    main()

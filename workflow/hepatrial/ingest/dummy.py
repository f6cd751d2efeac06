"""Dummy randomisation: the study team's daily runs on blinded data (``--config blinded=true``).

The real arm of every randomised subject is replaced, at ingest, by a seeded dummy randomisation
that keeps the stratification: within each stratum (the study config's ``strata`` columns of DM)
the planned arms are permuted among the stratum's subjects, so every stratum keeps its arm sizes
(and so does the trial). Everything downstream (ADaM, ARD, tables, figures, reports) sees only the
dummy arms; the exposure records that would reveal the real arm (EX treatment name and dose) are
rewritten to those of the dummy arm. Outcomes are the real data.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hepatrial.errors import HepatrialError
from hepatrial.spec import Study

DEFAULT_SEED = 20240101
ARM_COLUMNS = ("ARM", "ARMCD")
ACT_COLUMNS = ("ACTARM", "ACTARMCD")
EX_COLUMNS = ("EXTRT", "EXDOSE", "EXDOSU")
# columns whose values tell the real assignment: no finding of a blinded run shows them (Findings)
BLINDED_COLUMNS = (*ARM_COLUMNS, *ACT_COLUMNS, *EX_COLUMNS)


def _study_arms(dm: pl.DataFrame, study: Study) -> set[str]:
    """DM.ARM values of the study's arms (``arms[].arm``, default the label)."""
    arms = set(study.dm_arms)
    if not arms & set(dm["ARM"].drop_nulls().to_list()):
        raise HepatrialError(
            f"dummy randomisation: no DM.ARM value matches the study's arms {sorted(arms)}"
        )
    return arms


def dummy_assignment(dm: pl.DataFrame, study: Study, seed: int = DEFAULT_SEED) -> pl.DataFrame:
    """USUBJID, the real ARM/ARMCD and the dummy ``DARM``/``DARMCD`` of every randomised subject:
    within each stratum (sorted by USUBJID, then shuffled with ``seed``) the stratum's planned
    assignments are permuted among its subjects."""
    arms = _study_arms(dm, study)
    strata = study.strata_in(dm)
    cols = ["USUBJID", *ARM_COLUMNS[: 1 + ("ARMCD" in dm.columns)], *strata]
    rand = dm.filter(pl.col("ARM").is_in(sorted(arms))).select(cols).sort("USUBJID")
    rng = np.random.default_rng(seed)
    parts = []
    keys = rand.select(strata).unique(maintain_order=True).sort(strata) if strata else None
    groups = (
        [rand.join(k, on=strata, how="semi", nulls_equal=True) for k in keys.iter_slices(1)]
        if strata
        else [rand]
    )
    for g in groups:
        g = g.sort("USUBJID")
        perm = rng.permutation(g.height)
        new = {"DARM": g["ARM"].gather(perm)}
        if "ARMCD" in g.columns:
            new["DARMCD"] = g["ARMCD"].gather(perm)
        parts.append(g.with_columns(**new))
    return pl.concat(parts).sort("USUBJID") if parts else rand


def dummy_randomise(
    frames: dict[str, pl.DataFrame], study: Study, seed: int = DEFAULT_SEED
) -> dict[str, pl.DataFrame]:
    """``frames`` (SDTM domains by name) with DM's planned and actual arms replaced by the dummy
    assignment and EX's treatment and dose by those of the dummy arm. A subject treated otherwise
    than planned (actual arm another study arm) gets the dummy arm as actual arm too; a non-arm
    actual value (not treated, screen failure) is kept."""
    dm = frames["DM"]
    arms = _study_arms(dm, study)
    assign = dummy_assignment(dm, study, seed)
    dcols = [c for c in ("DARM", "DARMCD") if c in assign.columns]
    dm2 = dm.join(assign.select("USUBJID", *dcols), on="USUBJID", how="left")
    upd = [
        pl.when(pl.col("DARM").is_not_null())
        .then(pl.col("DARM"))
        .otherwise(pl.col("ARM"))
        .alias("ARM")
    ]
    if "DARMCD" in dcols:
        upd.append(
            pl.when(pl.col("DARMCD").is_not_null())
            .then(pl.col("DARMCD"))
            .otherwise(pl.col("ARMCD"))
            .alias("ARMCD")
        )
    if "ACTARM" in dm.columns:
        on_arm = pl.col("ACTARM").is_in(sorted(arms)) & pl.col("DARM").is_not_null()
        upd.append(pl.when(on_arm).then(pl.col("DARM")).otherwise(pl.col("ACTARM")).alias("ACTARM"))
        if "ACTARMCD" in dm.columns and "DARMCD" in dcols:
            upd.append(
                pl.when(on_arm)
                .then(pl.col("DARMCD"))
                .otherwise(pl.col("ACTARMCD"))
                .alias("ACTARMCD")
            )
    out = dict(frames)
    out["DM"] = dm2.with_columns(upd).drop(dcols).select(dm.columns)
    if "EX" in frames and frames["EX"].height:
        out["EX"] = _dummy_exposure(frames["EX"], dm, out["DM"], arms)
    return out


def _dummy_exposure(
    ex: pl.DataFrame, dm: pl.DataFrame, dm_dummy: pl.DataFrame, arms: set[str]
) -> pl.DataFrame:
    """EX with each subject's treatment name, dose and unit those of the dummy arm: the most
    frequent (EXTRT, EXDOSE, EXDOSU) of the real arm (ACTARM, else ARM) of the same name."""
    cols = [c for c in EX_COLUMNS if c in ex.columns]
    if not cols:
        return ex
    act = "ACTARM" if "ACTARM" in dm.columns else "ARM"
    real = ex.join(dm.select("USUBJID", pl.col(act).alias("_arm")), on="USUBJID", how="left")
    typical = (
        real.filter(pl.col("_arm").is_in(sorted(arms)))
        .group_by(["_arm", *cols])
        .len()
        .sort(["_arm", "len", *cols], descending=[False, True, *[False] * len(cols)])
        .unique("_arm", keep="first", maintain_order=True)
        .drop("len")
    )
    new_arm = dm_dummy.select("USUBJID", pl.col(act).alias("_arm"))
    joined = ex.join(new_arm, on="USUBJID", how="left").join(
        typical.rename({c: f"_{c}" for c in cols}), on="_arm", how="left"
    )
    return joined.with_columns(
        [
            pl.when(pl.col("_arm").is_in(sorted(arms)) & pl.col(f"_{cols[0]}").is_not_null())
            .then(pl.col(f"_{c}"))
            .otherwise(pl.col(c))
            .alias(c)
            for c in cols
        ]
    ).select(ex.columns)

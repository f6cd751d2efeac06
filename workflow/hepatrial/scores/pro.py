"""Patient-reported outcomes: CLDQ, RAND-36 (SF-36) and EQ-5D-5L, long QS in, long parameters out;
docs/scoring.md. Conventions: :mod:`hepatrial.scores`."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from importlib import resources

import polars as pl

from hepatrial.errors import ConfigError, DataContractError

# --------------------------------------------------------------------------------------------
# questionnaires (long QS in, long parameters out)
# --------------------------------------------------------------------------------------------
#: CLDQ PARAMCD -> (PARAM, item numbers). docs/scoring.md "Chronic Liver Disease Questionnaire".
CLDQ_DOMAINS: dict[str, tuple[str, tuple[int, ...]]] = {
    "CLDQAS": ("CLDQ Abdominal Symptoms", (1, 5, 17)),
    "CLDQFA": ("CLDQ Fatigue", (2, 4, 8, 11, 13)),
    "CLDQSY": ("CLDQ Systemic Symptoms", (3, 6, 21, 23, 27)),
    "CLDQAC": ("CLDQ Activity", (7, 9, 14)),
    "CLDQEM": ("CLDQ Emotional Function", (10, 12, 15, 16, 19, 20, 24, 26)),
    "CLDQWO": ("CLDQ Worry", (18, 22, 25, 28, 29)),
}

_Scale = tuple[str, str, tuple[str, ...], int, str]  # PARAMCD, PARAM, items, min answered, stat


def _collect(dataset: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return dataset.collect() if isinstance(dataset, pl.LazyFrame) else dataset


def _prepare_items(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    valid: Mapping[str, tuple[float, float, bool]],
    by: Sequence[str],
    what: str,
) -> pl.DataFrame:
    """The questionnaire's item rows: by-keys, QSTESTCD, _V (Float64), after checks.

    ``valid`` maps QSTESTCD -> (lowest, highest, integer only).
    """
    df = _collect(dataset_qs)
    missing = [c for c in (*by, "QSTESTCD", "QSSTRESN") if c not in df.columns]
    if missing:
        raise DataContractError(f"QS lacks column(s) {', '.join(missing)} needed to score {what}")
    items = df.filter(pl.col("QSTESTCD").is_in(list(valid))).select(
        *by, "QSTESTCD", pl.col("QSSTRESN").cast(pl.Float64).fill_nan(None).alias("_V")
    )
    dup = items.group_by(*by, "QSTESTCD").len().filter(pl.col("len") > 1)
    if dup.height:
        first = dup.row(0, named=True)
        raise DataContractError(
            f"{dup.height} duplicated {what} item record(s), e.g. "
            + ", ".join(f"{k}={first[k]!r}" for k in (*by, "QSTESTCD"))
            + f"; keep one record per item and assessment ({', '.join(by)})",
            column="QSTESTCD",
        )
    spec = pl.DataFrame(
        {
            "QSTESTCD": list(valid),
            "_LO": [float(v[0]) for v in valid.values()],
            "_HI": [float(v[1]) for v in valid.values()],
            "_INT": [bool(v[2]) for v in valid.values()],
        }
    )
    bad = items.join(spec, on="QSTESTCD", how="left").filter(
        pl.col("_V").is_not_null()
        & (
            (pl.col("_V") < pl.col("_LO"))
            | (pl.col("_V") > pl.col("_HI"))
            | (pl.col("_INT") & (pl.col("_V") != pl.col("_V").round(0)))
        )
    )
    if bad.height:
        first = bad.row(0, named=True)
        raise DataContractError(
            f"{bad.height} {what} QSSTRESN value(s) outside the response codes, e.g. "
            f"USUBJID={first.get('USUBJID')!r} {first['QSTESTCD']}={first['_V']!r} "
            f"(expected {first['_LO']:g}-{first['_HI']:g})",
            column="QSSTRESN",
        )
    return items


def _score_scales(
    items: pl.DataFrame, value_col: str, scales: Sequence[_Scale], by: Sequence[str]
) -> pl.DataFrame:
    """One row per (assessment, scale): AVAL = mean or sum of answered items when enough answered.

    Assessments are the distinct by-keys that have at least one record of the questionnaire
    (even if every item is null); each gets every scale, AVAL null where the rule fails.
    """
    by = list(by)
    members = pl.DataFrame(
        [(code, item) for code, _, its, _, _ in scales for item in its],
        schema={"PARAMCD": pl.String, "QSTESTCD": pl.String},
        orient="row",
    )
    params = pl.DataFrame(
        [(code, label, n_min, stat) for code, label, _, n_min, stat in scales],
        schema={"PARAMCD": pl.String, "PARAM": pl.String, "_NMIN": pl.Int64, "_STAT": pl.String},
        orient="row",
    )
    agg = (
        items.join(members, on="QSTESTCD", how="inner")
        .group_by(*by, "PARAMCD")
        .agg(
            pl.col(value_col).mean().alias("_MEAN"),
            pl.col(value_col).sum().alias("_SUM"),
            pl.col(value_col).count().cast(pl.Int64).alias("NITEMS"),
        )
    )
    grid = items.select(by).unique(maintain_order=True).join(params, how="cross")
    out = grid.join(agg, on=[*by, "PARAMCD"], how="left", nulls_equal=True, maintain_order="left")
    nitems = pl.col("NITEMS").fill_null(0)
    value = pl.when(pl.col("_STAT") == "sum").then(pl.col("_SUM")).otherwise(pl.col("_MEAN"))
    return out.select(
        *by,
        "PARAMCD",
        "PARAM",
        pl.when(nitems >= pl.col("_NMIN")).then(value).cast(pl.Float64).alias("AVAL"),
        nitems.alias("NITEMS"),
    )


def _normalise_by(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def score_cldq(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    by: str | Sequence[str] = ("USUBJID", "QSDTC"),
) -> pl.DataFrame:
    """Score the Chronic Liver Disease Questionnaire (QS ``CLDQ01``..``CLDQ29``, 1-7).

    ================  =================================================  ====================
    PARAMCD           definition                                         scored when
    ================  =================================================  ====================
    ``CLDQAS``        abdominal symptoms: mean of items 1, 5, 17          >= 2 of 3 answered
    ``CLDQFA``        fatigue: mean of 2, 4, 8, 11, 13                   >= 3 of 5 answered
    ``CLDQSY``        systemic symptoms: mean of 3, 6, 21, 23, 27        >= 3 of 5 answered
    ``CLDQAC``        activity: mean of 7, 9, 14                         >= 2 of 3 answered
    ``CLDQEM``        emotional function: mean of 10, 12, 15, 16, 19,    >= 4 of 8 answered
                      20, 24, 26
    ``CLDQWO``        worry: mean of 18, 22, 25, 28, 29                  >= 3 of 5 answered
    ``CLDQOVR``       overall: mean of the answered items of all 29      >= 15 of 29 answered
    ``CLDQSUM``       sum of the 29 items (29-203)                       all 29 answered
    ================  =================================================  ====================

    Domains follow docs/scoring.md: mean of the answered items, missing when *more than half* of its
    items are missing (so exactly half missing, 4 of 8 in CLDQEM, is still scored). The published
    definition gives no missing-data rule for the overall mean; by analogy the same rule is used
    (null when more than 14.5, i.e. 15 or more, of 29 are missing). The overall mean is the mean
    of the answered items, not the mean of the six domain scores (the two differ because the
    domains have unequal sizes). Higher is better.

    Parameters
    ----------
    dataset_qs : polars.DataFrame or LazyFrame
        Long QS with the ``by`` columns, QSTESTCD and numeric QSSTRESN; other questionnaires'
        rows are ignored. A missing item is an absent row or a null QSSTRESN.
    by : str or sequence of str, default ("USUBJID", "QSDTC")
        Keys of one assessment (e.g. ``("USUBJID", "VISITNUM")``).

    Returns
    -------
    polars.DataFrame
        One row per (assessment, PARAMCD) in the order above: ``by`` columns, PARAMCD, PARAM,
        AVAL (Float64, null when not scored), NITEMS (items answered). Assessments are those with
        at least one CLDQ record.

    Raises
    ------
    DataContractError
        Missing columns, an item recorded twice for an assessment, or a value outside 1-7.
    """
    by = _normalise_by(by)
    codes = [f"CLDQ{k:02d}" for k in range(1, 30)]
    items = _prepare_items(dataset_qs, {c: (1, 7, True) for c in codes}, by, "CLDQ")
    scales: list[_Scale] = [
        (code, label, tuple(f"CLDQ{k:02d}" for k in its), math.ceil(len(its) / 2), "mean")
        for code, (label, its) in CLDQ_DOMAINS.items()
    ]
    scales.append(("CLDQOVR", "CLDQ Overall (Mean of Items)", tuple(codes), 15, "mean"))
    scales.append(("CLDQSUM", "CLDQ Total (Sum of Items)", tuple(codes), 29, "sum"))
    return _score_scales(items, "_V", scales, by)


#: RAND-36 response code -> 0-100, by item number (docs/scoring.md "SF-36").
RAND36_RECODES: dict[int, dict[int, float]] = {
    **{k: {1: 100.0, 2: 75.0, 3: 50.0, 4: 25.0, 5: 0.0} for k in (1, 2, 20, 22, 34, 36)},
    **{k: {1: 0.0, 2: 50.0, 3: 100.0} for k in range(3, 13)},
    **{k: {1: 0.0, 2: 100.0} for k in range(13, 20)},
    **{k: {1: 100.0, 2: 80.0, 3: 60.0, 4: 40.0, 5: 20.0, 6: 0.0} for k in (21, 23, 26, 27, 30)},
    **{k: {1: 0.0, 2: 20.0, 3: 40.0, 4: 60.0, 5: 80.0, 6: 100.0} for k in (24, 25, 28, 29, 31)},
    **{k: {1: 0.0, 2: 25.0, 3: 50.0, 4: 75.0, 5: 100.0} for k in (32, 33, 35)},
}

#: RAND-36 PARAMCD -> (PARAM, item numbers).
RAND36_SCALES: dict[str, tuple[str, tuple[int, ...]]] = {
    "SFPF": ("SF-36 Physical Functioning", tuple(range(3, 13))),
    "SFRP": ("SF-36 Role Limitations due to Physical Health", (13, 14, 15, 16)),
    "SFRE": ("SF-36 Role Limitations due to Emotional Problems", (17, 18, 19)),
    "SFEF": ("SF-36 Energy/Fatigue", (23, 27, 29, 31)),
    "SFEW": ("SF-36 Emotional Well-Being", (24, 25, 26, 28, 30)),
    "SFSF": ("SF-36 Social Functioning", (20, 32)),
    "SFPN": ("SF-36 Pain", (21, 22)),
    "SFGH": ("SF-36 General Health", (1, 33, 34, 35, 36)),
    "SFHC": ("SF-36 Health Change", (2,)),
}


def score_rand36(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    by: str | Sequence[str] = ("USUBJID", "QSDTC"),
) -> pl.DataFrame:
    """Score the SF-36 with the RAND-36 rules (QS ``SF3601``..``SF3636``).

    Each item is recoded to 0-100 (:data:`RAND36_RECODES`, exactly docs/scoring.md):
    items 1, 2, 20, 22, 34, 36: 1->100, 2->75, 3->50, 4->25, 5->0; items 3-12: 1->0, 2->50,
    3->100; items 13-19: 1->0, 2->100; items 21, 23, 26, 27, 30: 1->100 ... 6->0 in steps of 20;
    items 24, 25, 28, 29, 31: 1->0 ... 6->100; items 32, 33, 35: 1->0 ... 5->100 in steps of 25.
    Each scale is the mean of its **answered** recoded items, scored when at least one item is
    answered (RAND's rule; docs/scoring.md: "mean of its answered items", no minimum).

    PARAMCDs: ``SFPF`` physical functioning (3-12), ``SFRP`` role limitations physical (13-16),
    ``SFRE`` role limitations emotional (17-19), ``SFEF`` energy/fatigue (23, 27, 29, 31),
    ``SFEW`` emotional well-being (24, 25, 26, 28, 30), ``SFSF`` social functioning (20, 32),
    ``SFPN`` pain (21, 22), ``SFGH`` general health (1, 33, 34, 35, 36), ``SFHC`` health change
    (item 2 alone, recoded 0-100).

    Not the QualityMetric SF-36v2 norm-based scoring (T-scores, PCS/MCS): those are licensed and
    use different item weights; a SAS macro for SF-36v2 gives different numbers.

    Parameters
    ----------
    dataset_qs, by
        As in :func:`score_cldq`.

    Returns
    -------
    polars.DataFrame
        ``by`` columns, PARAMCD, PARAM, AVAL (0-100), NITEMS; one row per assessment and scale.

    Raises
    ------
    DataContractError
        Missing columns, duplicated items, or a response code outside the item's codes.
    """
    by = _normalise_by(by)
    valid = {f"SF36{k:02d}": (1, max(rec), True) for k, rec in RAND36_RECODES.items()}
    items = _prepare_items(dataset_qs, valid, by, "SF-36")
    recode = pl.DataFrame(
        [
            (f"SF36{k:02d}", float(code), val)
            for k, rec in RAND36_RECODES.items()
            for code, val in rec.items()
        ],
        schema={"QSTESTCD": pl.String, "_V": pl.Float64, "_R": pl.Float64},
        orient="row",
    )
    items = items.join(recode, on=["QSTESTCD", "_V"], how="left", maintain_order="left")
    scales: list[_Scale] = [
        (code, label, tuple(f"SF36{k:02d}" for k in its), 1, "mean")
        for code, (label, its) in RAND36_SCALES.items()
    ]
    return _score_scales(items, "_R", scales, by)


#: SF-36 (version 1) component summaries, norm-based: the 1990 US general population means and SDs
#: of the eight scales and the orthogonal factor score coefficients (PCS, MCS) of Ware JE, Kosinski
#: M, Keller SD. SF-36 Physical and Mental Health Summary Scales: A User's Manual. Boston: The
#: Health Institute, 1994 (factor-analytic sample N = 2393 with all eight scales). RAND-36 scale
#: PARAMCD -> (mean, SD, PCS coefficient, MCS coefficient).
SF36_SUMMARY_NORMS: dict[str, tuple[float, float, float, float]] = {
    "SFPF": (84.52404, 22.89490, 0.42402, -0.22999),
    "SFRP": (81.19907, 33.79729, 0.35119, -0.12329),
    "SFPN": (75.49196, 23.55879, 0.31754, -0.09731),
    "SFGH": (72.21316, 20.16964, 0.24954, -0.01571),
    "SFEF": (61.05453, 20.86942, 0.02877, 0.23534),
    "SFSF": (83.59753, 22.37642, -0.00753, 0.26876),
    "SFRE": (81.29467, 33.02717, -0.19206, 0.43407),
    "SFEW": (74.84212, 18.01189, -0.22069, 0.48581),
}
SF36_SUMMARY_LABELS = {
    "SFPCS": "SF-36 Physical Component Summary (US 1990 norms)",
    "SFMCS": "SF-36 Mental Component Summary (US 1990 norms)",
}


def score_sf36_summary(
    scales: pl.DataFrame, by: str | Sequence[str] = ("USUBJID", "QSDTC")
) -> pl.DataFrame:
    """SF-36 physical and mental component summaries (``SFPCS``, ``SFMCS``) from the eight scale
    scores of :func:`score_rand36` (0-100), norm-based (mean 50, SD 10 in the 1990 US population):

    z_s = (scale_s - mean_s) / SD_s;  PCS = 50 + 10 sum_s z_s a_s;  MCS = 50 + 10 sum_s z_s b_s

    with the means, SDs and coefficients a, b of :data:`SF36_SUMMARY_NORMS` (Ware et al. 1994).
    Scored only when all eight scales are (the algorithm has no rule for a missing scale). The
    scales are RAND-36 scored: RAND-36 and SF-36 v1 score the pain and general health items
    differently, so these summaries approximate the SF-36 v1 algorithm on RAND-36 scales; they are
    not the licensed SF-36v2 (QualityMetric, 1998/2009 norms) summaries.

    Returns ``by`` columns, PARAMCD, PARAM, AVAL, NITEMS (the number of scales, 8 or fewer).
    """
    by = _normalise_by(by)
    codes = list(SF36_SUMMARY_NORMS)
    sc = scales.filter(pl.col("PARAMCD").is_in(codes) & pl.col("AVAL").is_not_null())
    grid = scales.select(by).unique(maintain_order=True)
    z = {c: (pl.col(c) - m) / sd for c, (m, sd, _, _) in SF36_SUMMARY_NORMS.items()}
    wide = sc.pivot(on="PARAMCD", index=by, values="AVAL", aggregate_function="first")
    for c in codes:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(c))
    n = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Int64) for c in codes])
    pcs = 50 + 10 * pl.sum_horizontal([z[c] * a for c, (_, _, a, _) in SF36_SUMMARY_NORMS.items()])
    mcs = 50 + 10 * pl.sum_horizontal([z[c] * b for c, (_, _, _, b) in SF36_SUMMARY_NORMS.items()])
    wide = grid.join(wide, on=by, how="left", nulls_equal=True, maintain_order="left").with_columns(
        pl.when(n == 8).then(pcs).alias("SFPCS"),
        pl.when(n == 8).then(mcs).alias("SFMCS"),
        n.alias("NITEMS"),
    )
    return pl.concat(
        [
            wide.select(
                *by,
                pl.lit(code).alias("PARAMCD"),
                pl.lit(label).alias("PARAM"),
                pl.col(code).cast(pl.Float64).alias("AVAL"),
                pl.col("NITEMS").cast(pl.Int64),
            )
            for code, label in SF36_SUMMARY_LABELS.items()
        ]
    )


_EQ5D_DIMS = ("MO", "SC", "UA", "PD", "AD")


def load_eq5d5l_value_set(value_set: str = "China") -> dict[str, float]:
    """Coefficients of an EQ-5D-5L value set shipped in ``hepatrial/data/eq5d5l_value_sets.csv``.

    Returns a dict with ``StartValue``, ``Intercept`` and ``MO2``..``AD5`` (level 1 has 0).
    Sources of each set: ``hepatrial/data/README.md``.

    Raises
    ------
    ConfigError
        If ``value_set`` is not a column of the file (message lists the available sets).
    """
    raw = resources.files("hepatrial").joinpath("data", "eq5d5l_value_sets.csv").read_bytes()
    table = pl.read_csv(io.BytesIO(raw))
    available = [c for c in table.columns if c != "dim"]
    if value_set not in available:
        raise ConfigError(
            f"EQ-5D-5L value set {value_set!r} is not available; choose one of "
            f"{', '.join(available)}"
        )
    return dict(
        zip(table["dim"].to_list(), table[value_set].cast(pl.Float64).to_list(), strict=True)
    )


def score_eq5d5l(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    value_set: str = "China",
    by: str | Sequence[str] = ("USUBJID", "QSDTC"),
) -> pl.DataFrame:
    """Score the EQ-5D-5L: utility index and VAS (QS ``EQ5D0101``..``EQ5D0106``).

    ``EQ5DIDX`` = StartValue + Intercept (when any level > 1) + sum of the decrements of the
    levels of MO (EQ5D0101), SC (0102), UA (0103), PD (0104), AD (0105); level 1 has decrement 0.
    Null unless all five levels (1-5) are present. The coefficients have 3 decimals, so the index
    is exactly a multiple of 0.001; it is rounded to 3 decimals to remove float64 noise
    (1 - 0.066 - 0.045 - 0.138 - 0.049 gives 0.7020000000000001 in float64, reported 0.702).

    ``EQ5DVAS`` = EQ5D0106 as recorded (0-100).

    Value sets (``value_set``): ``China`` (Luo 2017, default), ``England`` (Devlin 2018), ``USA``
    (Pickard 2019); see :func:`load_eq5d5l_value_set`. Same algorithm as the R package ``eq5d``
    and the EuroQol crosswalk-free 5L calculators.

    Parameters
    ----------
    dataset_qs : polars.DataFrame or LazyFrame
        Long QS (see :func:`score_cldq`).
    value_set : str, default "China"
        Column of the value-set file, from the study config.
    by : str or sequence of str
        Keys of one assessment.

    Returns
    -------
    polars.DataFrame
        ``by`` columns, PARAMCD (EQ5DIDX, EQ5DVAS), PARAM, AVAL, NITEMS (levels answered, 0-5,
        for the index; 0-1 for the VAS), one row per assessment with any EQ-5D-5L record.

    Raises
    ------
    DataContractError
        Missing columns, duplicated items, a level outside 1-5 or a VAS outside 0-100.
    ConfigError
        Unknown value set.
    """
    by = _normalise_by(by)
    coef = load_eq5d5l_value_set(value_set)
    dims = {f"EQ5D010{k}": dim for k, dim in enumerate(_EQ5D_DIMS, start=1)}
    valid: dict[str, tuple[float, float, bool]] = {c: (1, 5, True) for c in dims}
    valid["EQ5D0106"] = (0, 100, False)
    items = _prepare_items(dataset_qs, valid, by, "EQ-5D-5L")

    decrements = pl.DataFrame(
        [
            (code, float(level), 0.0 if level == 1 else coef[f"{dim}{level}"])
            for code, dim in dims.items()
            for level in range(1, 6)
        ],
        schema={"QSTESTCD": pl.String, "_V": pl.Float64, "_DEC": pl.Float64},
        orient="row",
    )
    levels = items.filter(pl.col("QSTESTCD").is_in(list(dims))).join(
        decrements, on=["QSTESTCD", "_V"], how="left"
    )
    index = (
        levels.group_by(by)
        .agg(
            pl.col("_V").count().cast(pl.Int64).alias("NITEMS"),
            pl.col("_V").max().alias("_MAXLEV"),
            pl.col("_DEC").sum().alias("_DECSUM"),
        )
        .select(
            *by,
            pl.lit("EQ5DIDX").alias("PARAMCD"),
            pl.when(pl.col("NITEMS") == 5)
            .then(
                (
                    coef["StartValue"]
                    + pl.when(pl.col("_MAXLEV") > 1).then(coef["Intercept"]).otherwise(0.0)
                    + pl.col("_DECSUM")
                ).round(3)
            )
            .alias("AVAL"),
            "NITEMS",
        )
    )
    vas = items.filter(pl.col("QSTESTCD") == "EQ5D0106").select(
        *by,
        pl.lit("EQ5DVAS").alias("PARAMCD"),
        pl.col("_V").alias("AVAL"),
        pl.col("_V").count().over(by).cast(pl.Int64).alias("NITEMS"),
    )
    params = pl.DataFrame(
        {
            "PARAMCD": ["EQ5DIDX", "EQ5DVAS"],
            "PARAM": [f"EQ-5D-5L Index ({value_set} value set)", "EQ-5D-5L VAS"],
        }
    )
    grid = items.select(by).unique(maintain_order=True).join(params, how="cross")
    out = grid.join(
        pl.concat([index, vas]),
        on=[*by, "PARAMCD"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    return out.select(
        *by,
        "PARAMCD",
        "PARAM",
        pl.col("AVAL").cast(pl.Float64),
        pl.col("NITEMS").fill_null(0).cast(pl.Int64),
    )

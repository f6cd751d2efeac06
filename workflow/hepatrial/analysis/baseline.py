"""Subject-level summaries for the tables and figures (ARD analyses added by this study, see docs/tlf.md).

- ``BIGN``: subjects per population and arm (the "N=" of every column header), stat ``n``.
- ``BASELINE`` (ITT, planned arm and ALL): continuous ADSL variables (paramcd = the variable:
  ``AGE``, ``BLMELD``, ``BLCTPS``; stats n mean sd median q1 q3 min max) and categorical ones
  (paramcd ``<VAR>=<category>``, e.g. ``SEX=M``; ``<VAR>=Missing`` when the value is missing;
  stats ``n`` and ``pct`` = 100 n / N of the arm).
- ``EXPOSURE`` (SAFETY, actual arm): paramcd ``NINFUS=<k>`` for k = 0..planned_infusions (n, pct) and
  ``NINFUS`` (n mean sd median q1 q3 min max).
- ``LAB_SHIFT`` (SAFETY, actual arm): paramcd ``<PARAM>|<baseline category>|<worst category>``,
  stats n and pct (% of the arm's subjects with the parameter at baseline or after); a category
  ``ALL`` gives the margins. Worst post-baseline: see :func:`worst_category`.
- ``LAB_ABN`` (SAFETY, actual arm, by visit): paramcd = the lab, stats ``n`` (subjects assessed at the
  visit), ``n_low``, ``n_high``, ``n_abnormal`` (LOW or HIGH), ``pct_abnormal`` (100 n_abnormal / n).
- ``SHIFT_CTP`` (ITT): paramcd ``CTPCLASS|<baseline class>|<class at the primary visit>`` (A/B/C, or
  Missing), avisit = the primary visit, stats n and pct (% of the arm's ITT subjects).
- ``SUBGROUP`` (ITT): ANCOVA of the primary visit's change from baseline on baseline and arm within
  each subgroup level (paramcd ``<PARAM>|<VAR>=<level>``, ``<PARAM>|ALL`` for all subjects);
  arm = test arm, comparator = reference; stats estimate se df lower upper p n; the treatment-by-
  subgroup interaction p-value as paramcd ``<PARAM>|<VAR>`` stat ``p_interaction``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# scipy.special, not scipy.stats: the same functions scipy.stats calls (bit-identical), without its ~1 s import
from scipy import special

from hepatrial.analysis.common import (
    parameter_frames,
    population_flag,
    select_population,
    warn_no_records,
    with_pooled,
)
from hepatrial.analysis.descriptive import summarise
from hepatrial.ard import (
    LAB_SHIFT_CATEGORIES,
    LAB_SHIFT_EXTREME,
    LAB_SHIFT_MARGIN,
    POOLED,
    ard_rows,
    lab_shift_method,
)
from hepatrial.errors import ConfigError
from hepatrial.spec import Study

CONTINUOUS = {"AGE": "Age (years)", "BLMELD": "Baseline MELD", "BLCTPS": "Baseline CTP score"}
CATEGORICAL = ["SEX", "RACE", "ETIOLOGY", "BLCTPC"]
MISSING = "Missing"
DESC_METHOD = "descriptive; quartiles SAS PCTLDEF=5"
DEFAULT_SAFETY_LABS = ["ALT", "AST", "BILI", "ALB", "INR", "CREAT", "SODIUM", "PLAT", "WBC", "AFP"]


def safety_labs(study: Study) -> list[str]:
    """The study's safety laboratory tests (config ``safety.labs``), in the config's order."""
    return list(study.safety.labs or DEFAULT_SAFETY_LABS)


# Worst direction per lab: bilirubin, INR, transaminases, creatinine and AFP rise, albumin and platelets
# fall as the liver fails or a tumour grows. Others (sodium, WBC): the most
# extreme value relative to the reference range (see worst_category).
WORST_DIRECTION = {
    "BILI": "HIGH",
    "INR": "HIGH",
    "ALB": "LOW",
    "ALT": "HIGH",
    "AST": "HIGH",
    "CREAT": "HIGH",
    "AFP": "HIGH",
    "PLAT": "LOW",
}
CATEGORIES = list(LAB_SHIFT_CATEGORIES)  # MISSING last


def _arms(study: Study) -> list[str]:
    return [*study.arm_labels, POOLED]


def big_n(adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """BIGN: subjects per configured population and arm (planned arm; SAFETY by actual arm)."""
    rows = []
    for population in study.populations:
        if population_flag(study, population) not in adsl.columns:
            continue
        pop = with_pooled(select_population(adsl, study, population))
        counts = dict(pop.group_by("ARM").len().iter_rows())
        for arm in _arms(study):
            rows.append(
                {
                    "analysis": "BIGN",
                    "paramcd": "N",
                    "population": population,
                    "arm": arm,
                    "stat": "n",
                    "value": counts.get(arm, 0),
                    "method": f"subjects in {population}",
                }
            )
    return ard_rows(rows)


def _categorical_rows(
    pop: pl.DataFrame,
    var: str,
    arms: list[str],
    analysis: str,
    population: str,
    method: str,
    order: list[str] | None = None,
) -> list[dict]:
    denom = dict(pop.group_by("ARM").len().iter_rows())
    vals = pop.with_columns(pl.col(var).cast(pl.Utf8).fill_null(MISSING).alias("_v"))
    levels = order or sorted(x for x in vals["_v"].unique().to_list() if x != MISSING)
    if MISSING in vals["_v"].to_list() and MISSING not in levels:
        levels = [*levels, MISSING]
    counts = {(a, v): n for a, v, n in vals.group_by(["ARM", "_v"]).len().iter_rows()}
    rows = []
    for level in levels:
        for arm in arms:
            k, d = counts.get((arm, level), 0), denom.get(arm, 0)
            rows.append(
                {
                    "analysis": analysis,
                    "paramcd": f"{var}={level}",
                    "population": population,
                    "arm": arm,
                    "stat": "n",
                    "value": k,
                    "method": method,
                }
            )
            rows.append(
                {
                    "analysis": analysis,
                    "paramcd": f"{var}={level}",
                    "population": population,
                    "arm": arm,
                    "stat": "pct",
                    "value": 100.0 * k / d if d else None,
                    "method": method,
                }
            )
    return rows


def _continuous_rows(
    pop: pl.DataFrame, var: str, arms: list[str], analysis: str, population: str
) -> list[dict]:
    rows = []
    for arm in arms:
        v = pop.filter(pl.col("ARM") == arm)[var].cast(pl.Float64).to_numpy()
        for stat, value in summarise(np.asarray(v, dtype=float)).items():
            rows.append(
                {
                    "analysis": analysis,
                    "paramcd": var,
                    "population": population,
                    "arm": arm,
                    "stat": stat,
                    "value": value,
                    "method": DESC_METHOD,
                }
            )
    return rows


def baseline_characteristics(
    adsl: pl.DataFrame, study: Study, population: str = "ITT"
) -> pl.DataFrame:
    """BASELINE rows: continuous variables (:data:`CONTINUOUS`) and categorical ones (sex, race,
    etiology, CTP class at baseline, the strata and the other configured baseline columns)."""
    pop = with_pooled(select_population(adsl, study, population))
    arms = _arms(study)
    rows = []
    for var in CONTINUOUS:
        if var in pop.columns:
            rows += _continuous_rows(pop, var, arms, "BASELINE", population)
    cats = list(dict.fromkeys([*CATEGORICAL, *study.strata, *study.baseline_columns]))
    for var in cats:
        if var in pop.columns:
            order = ["A", "B", "C"] if var == "BLCTPC" else None
            rows += _categorical_rows(
                pop, var, arms, "BASELINE", population, f"n (% of {population} in arm)", order
            )
    return ard_rows(rows)


def exposure(adsl: pl.DataFrame, study: Study, population: str = "SAFETY") -> pl.DataFrame:
    """EXPOSURE rows: infusions received (ADSL NINFUS) as categories 0..planned and as a continuous variable."""
    pop = with_pooled(select_population(adsl, study, population))
    arms = _arms(study)
    planned = max([study.planned_infusions, *(a.planned_infusions or 0 for a in study.arms)])
    levels = [str(k) for k in range(planned + 1)]
    extra = sorted({int(x) for x in pop["NINFUS"].drop_nulls().to_list()} - set(range(planned + 1)))
    pop = pop.with_columns(pl.col("NINFUS").cast(pl.Int64).cast(pl.Utf8))
    rows = _categorical_rows(
        pop,
        "NINFUS",
        arms,
        "EXPOSURE",
        population,
        f"infusions received; % of {population} in arm",
        levels + [str(x) for x in extra],
    )
    rows += _continuous_rows(
        pop.with_columns(pl.col("NINFUS").cast(pl.Float64)), "NINFUS", arms, "EXPOSURE", population
    )
    return ard_rows(rows)


def _deviation(ind: pl.Expr) -> pl.Expr:
    """How far a value lies outside its reference range, in range widths (0 inside it)."""
    width = (
        pl.when((pl.col("ANRHI") - pl.col("ANRLO")) > 0)
        .then(pl.col("ANRHI") - pl.col("ANRLO"))
        .otherwise(1.0)
    )
    return (
        pl.when(ind == "HIGH")
        .then((pl.col("AVAL") - pl.col("ANRHI")) / width)
        .when(ind == "LOW")
        .then((pl.col("ANRLO") - pl.col("AVAL")) / width)
        .otherwise(0.0)
    )


def worst_category(adlb: pl.DataFrame, paramcd: str) -> pl.DataFrame:
    """USUBJID -> WORST: the worst post-baseline reference-range category of ``paramcd``.

    Post-baseline = every record after day 1 (ADY > 1) with a range category (ANRIND), scheduled or
    not. For a lab with a worst direction (:data:`WORST_DIRECTION`: HIGH for BILI, INR, ALT, AST,
    CREAT and AFP, LOW for ALB and PLAT) the worst is that direction if ever reached; otherwise,
    and for every other lab, it is the category of the value furthest outside the range (distance
    in range widths), NORMAL when every value is in range.
    """
    direction = WORST_DIRECTION.get(paramcd)
    post = adlb.filter(
        (pl.col("PARAMCD") == paramcd) & (pl.col("ADY") > 1) & pl.col("ANRIND").is_not_null()
    )
    ind = pl.col("ANRIND")
    score = _deviation(ind).fill_null(0.0) + (
        pl.when(ind == direction).then(1e6).otherwise(0.0) if direction else 0.0
    )
    score = pl.when(ind == "NORMAL").then(-1.0).otherwise(score)
    return (
        post.with_columns(score.alias("_s"))
        .sort(["USUBJID", "_s"], descending=[False, True])
        .group_by("USUBJID", maintain_order=True)
        .first()
        .select("USUBJID", pl.col("ANRIND").alias("WORST"))
    )


def lab_shift(
    adlb: pl.DataFrame, adsl: pl.DataFrame, study: Study, population: str = "SAFETY"
) -> pl.DataFrame:
    """LAB_SHIFT rows: baseline category (BNRIND) against the worst post-baseline category."""
    pop = select_population(adsl, study, population).select("USUBJID", "ARM")
    arms = _arms(study)
    rows = []
    for p in [x for x in safety_labs(study) if x in set(adlb["PARAMCD"].unique().to_list())]:
        lb = adlb.filter(pl.col("PARAMCD") == p)
        base = (
            lb.filter(pl.col("ABLFL") == "Y")
            .select("USUBJID", pl.col("ANRIND").alias("BASECAT"))
            .unique("USUBJID", keep="first")
        )
        subj = (
            lb.select("USUBJID")
            .unique()
            .join(pop, on="USUBJID", how="inner")
            .join(base, on="USUBJID", how="left")
            .join(worst_category(adlb, p), on="USUBJID", how="left")
            .with_columns(pl.col("BASECAT").fill_null(MISSING), pl.col("WORST").fill_null(MISSING))
        )
        subj = with_pooled(subj)
        denom = dict(subj.group_by("ARM").len().iter_rows())
        cells = {
            (a, b, w): n
            for a, b, w, n in subj.group_by(["ARM", "BASECAT", "WORST"]).len().iter_rows()
        }
        method = lab_shift_method(WORST_DIRECTION.get(p, LAB_SHIFT_EXTREME))
        for b in [*CATEGORIES, LAB_SHIFT_MARGIN]:
            for w in [*CATEGORIES, LAB_SHIFT_MARGIN]:
                for arm in arms:
                    n = sum(
                        v
                        for (a, bb, ww), v in cells.items()
                        if a == arm
                        and (b == LAB_SHIFT_MARGIN or bb == b)
                        and (w == LAB_SHIFT_MARGIN or ww == w)
                    )
                    d = denom.get(arm, 0)
                    for stat, value in (("n", n), ("pct", 100.0 * n / d if d else None)):
                        rows.append(
                            {
                                "analysis": "LAB_SHIFT",
                                "paramcd": f"{p}|{b}|{w}",
                                "population": population,
                                "arm": arm,
                                "stat": stat,
                                "value": value,
                                "method": method,
                            }
                        )
    return ard_rows(rows)


def lab_abnormal(
    adlb: pl.DataFrame, adsl: pl.DataFrame, study: Study, population: str = "SAFETY"
) -> pl.DataFrame:
    """LAB_ABN rows: subjects with a LOW or HIGH analysed value (ANL01FL) by visit."""
    pop = select_population(adsl, study, population).select("USUBJID", "ARM")
    visits = {v.label: v.avisitn for v in study.visits}
    lb = (
        adlb.filter(
            pl.col("PARAMCD").is_in(safety_labs(study))
            & (pl.col("ANL01FL") == "Y")
            & pl.col("AVISIT").is_in(list(visits))
            & pl.col("ANRIND").is_not_null()
        )
        .drop("ARM", strict=False)
        .join(pop, on="USUBJID", how="inner")
    )
    lb = with_pooled(lb)
    agg = lb.group_by(["PARAMCD", "AVISIT", "ARM"]).agg(
        pl.col("USUBJID").n_unique().alias("n"),
        pl.col("USUBJID").filter(pl.col("ANRIND") == "LOW").n_unique().alias("n_low"),
        pl.col("USUBJID").filter(pl.col("ANRIND") == "HIGH").n_unique().alias("n_high"),
        pl.col("USUBJID")
        .filter(pl.col("ANRIND").is_in(["LOW", "HIGH"]))
        .n_unique()
        .alias("n_abnormal"),
    )
    rows = []
    for r in agg.iter_rows(named=True):
        for stat in ("n", "n_low", "n_high", "n_abnormal"):
            rows.append(
                {
                    "analysis": "LAB_ABN",
                    "paramcd": r["PARAMCD"],
                    "population": population,
                    "arm": r["ARM"],
                    "avisit": r["AVISIT"],
                    "stat": stat,
                    "value": r[stat],
                    "method": "subjects with a LOW or HIGH value (reference range); % of subjects assessed",
                }
            )
        rows.append(
            {
                "analysis": "LAB_ABN",
                "paramcd": r["PARAMCD"],
                "population": population,
                "arm": r["ARM"],
                "avisit": r["AVISIT"],
                "stat": "pct_abnormal",
                "value": 100.0 * r["n_abnormal"] / r["n"],
                "method": "subjects with a LOW or HIGH value (reference range); % of subjects assessed",
            }
        )
    return ard_rows(rows)


def shift_ctp(
    adeff: pl.DataFrame, adsl: pl.DataFrame, study: Study, population: str = "ITT"
) -> pl.DataFrame:
    """SHIFT_CTP rows: CTP class at baseline against the class at the primary visit (Missing when the
    subject has no class there: died, transplanted, withdrew or not yet reached)."""
    visit = study.endpoints.primary_visit
    pop = with_pooled(select_population(adsl, study, population).select("USUBJID", "ARM"))
    cls = adeff.filter((pl.col("PARAMCD") == "CTPCLASS") & (pl.col("ANL01FL") == "Y"))
    bl = (
        cls.filter(pl.col("ABLFL") == "Y")
        .select("USUBJID", pl.col("AVALC").alias("B"))
        .unique("USUBJID")
    )
    pv = (
        cls.filter(pl.col("AVISIT") == visit)
        .select("USUBJID", pl.col("AVALC").alias("P"))
        .unique("USUBJID")
    )
    df = (
        pop.join(bl, on="USUBJID", how="left")
        .join(pv, on="USUBJID", how="left")
        .with_columns(pl.col("B").fill_null(MISSING), pl.col("P").fill_null(MISSING))
    )
    denom = dict(df.group_by("ARM").len().iter_rows())
    cells = {(a, b, p): n for a, b, p, n in df.group_by(["ARM", "B", "P"]).len().iter_rows()}
    levels = ["A", "B", "C", MISSING]
    rows = []
    for b in levels:
        for p in levels:
            for arm in _arms(study):
                n, d = cells.get((arm, b, p), 0), denom.get(arm, 0)
                for stat, value in (("n", n), ("pct", 100.0 * n / d if d else None)):
                    rows.append(
                        {
                            "analysis": "SHIFT_CTP",
                            "paramcd": f"CTPCLASS|{b}|{p}",
                            "population": population,
                            "arm": arm,
                            "avisit": visit,
                            "stat": stat,
                            "value": value,
                            "method": f"CTP class at baseline vs {visit}; % of {population} in arm",
                        }
                    )
    return ard_rows(rows)


def ancova_effect(df: pl.DataFrame, test: str, reference: str) -> dict[str, float]:
    """OLS of CHG on BASE and arm (reference coded 0): the test-minus-reference difference with its
    95% t-interval and two-sided p (as SAS PROC GLM / R lm). NaN when not estimable."""
    d = df.filter(
        pl.col("ARM").is_in([test, reference])
        & pl.col("CHG").is_not_null()
        & pl.col("BASE").is_not_null()
    )
    n = d.height
    out = {
        "estimate": np.nan,
        "se": np.nan,
        "df": np.nan,
        "lower": np.nan,
        "upper": np.nan,
        "p": np.nan,
        "n": float(n),
    }
    arms = set(d["ARM"].to_list())
    if n < 4 or arms != {test, reference}:
        return out
    y = d["CHG"].to_numpy().astype(float)
    x = np.column_stack(
        [
            np.ones(n),
            d["BASE"].to_numpy().astype(float),
            (d["ARM"] == test).to_numpy().astype(float),
        ]
    )
    if np.linalg.matrix_rank(x) < 3:
        return out
    from statsmodels.regression.linear_model import (
        OLS,
    )  # only subgroup analyses need it: slow import

    fit = OLS(y, x).fit()
    dfr = float(fit.df_resid)
    if dfr < 1:
        return out
    est, se = float(fit.params[2]), float(fit.bse[2])
    t = special.stdtrit(dfr, 0.975)
    out.update(
        estimate=est,
        se=se,
        df=dfr,
        lower=est - t * se,
        upper=est + t * se,
        p=float(2 * special.stdtr(dfr, -abs(est / se))) if se > 0 else np.nan,
    )
    return out


def _interaction_p(df: pl.DataFrame, var: str, test: str, reference: str) -> float:
    """F-test of the arm-by-subgroup interaction in CHG ~ BASE + ARM * subgroup (Type III for the interaction)."""
    d = df.filter(
        pl.col("ARM").is_in([test, reference])
        & pl.col("CHG").is_not_null()
        & pl.col("BASE").is_not_null()
        & pl.col(var).is_not_null()
    )
    levels = sorted(d[var].cast(pl.Utf8).unique().to_list())
    if len(levels) < 2:
        return float("nan")
    trt = (d["ARM"] == test).to_numpy().astype(float)
    g = d[var].cast(pl.Utf8).to_numpy()
    dummies = np.column_stack([(g == lv).astype(float) for lv in levels[1:]])
    base = np.column_stack([np.ones(d.height), d["BASE"].to_numpy().astype(float), trt, dummies])
    full = np.column_stack([base, dummies * trt[:, None]])
    y = d["CHG"].to_numpy().astype(float)
    if np.linalg.matrix_rank(full) < full.shape[1] or d.height - full.shape[1] < 1:
        return float("nan")
    from statsmodels.regression.linear_model import OLS

    f_full, f_red = OLS(y, full).fit(), OLS(y, base).fit()
    k = full.shape[1] - base.shape[1]
    fstat = ((f_red.ssr - f_full.ssr) / k) / (f_full.ssr / f_full.df_resid)
    return float(special.fdtrc(k, f_full.df_resid, fstat))


def subgroup_effects(
    adeff: pl.DataFrame,
    adsl: pl.DataFrame,
    study: Study,
    paramcd: str | None = None,
    population: str = "ITT",
    source: str = "study config",
) -> pl.DataFrame:
    """SUBGROUP rows: treatment effect on the change from baseline at the primary visit, overall and
    within each level of each configured subgroup variable (parallel designs with subgroups:
    :attr:`hepatrial.spec.Study.has_subgroups`). A subgroup variable ADSL does not hold is an
    error of the study config (``source``: its file)."""
    if not study.has_subgroups:
        return ard_rows([])
    unknown = [s for s in study.endpoints.subgroups if s not in adsl.columns]
    if unknown:
        raise ConfigError(
            f"{source}: endpoints.subgroups: {unknown[0]} is not an ADSL variable (a DM column "
            "reaches ADSL when it is listed in baseline_columns or strata)"
        )
    paramcd = paramcd or study.scores.meld_primary
    visit = study.endpoints.primary_visit
    reference = study.reference
    tests = study.test_arms
    subs = list(study.endpoints.subgroups)
    pop = select_population(adsl, study, population).select("USUBJID", "ARM", *subs)
    df = (
        adeff.filter(
            (pl.col("PARAMCD") == paramcd)
            & (pl.col("AVISIT") == visit)
            & (pl.col("ANL01FL") == "Y")
        )
        .select("USUBJID", "BASE", "CHG")
        .join(pop, on="USUBJID", how="inner")
    )
    method = f"ANCOVA (OLS) of change from baseline at {visit} on baseline and arm, within subgroup; 95% t CI"
    rows = []

    def emit(key, test, res):
        for stat, value in res.items():
            rows.append(
                {
                    "analysis": "SUBGROUP",
                    "paramcd": key,
                    "population": population,
                    "arm": test,
                    "comparator": reference,
                    "avisit": visit,
                    "stat": stat,
                    "value": value,
                    "method": method,
                }
            )

    for test in tests:
        emit(f"{paramcd}|ALL", test, ancova_effect(df, test, reference))
        for var in subs:
            for level in sorted(df[var].drop_nulls().cast(pl.Utf8).unique().to_list()):
                emit(
                    f"{paramcd}|{var}={level}",
                    test,
                    ancova_effect(df.filter(pl.col(var).cast(pl.Utf8) == level), test, reference),
                )
            rows.append(
                {
                    "analysis": "SUBGROUP",
                    "paramcd": f"{paramcd}|{var}",
                    "population": population,
                    "arm": test,
                    "comparator": reference,
                    "avisit": visit,
                    "stat": "p_interaction",
                    "value": _interaction_p(df, var, test, reference),
                    "method": "F test of arm-by-subgroup interaction in CHG ~ BASE + ARM * subgroup (OLS)",
                }
            )
    return ard_rows(rows)


ADLB_COLUMNS = [
    "USUBJID",
    "PARAMCD",
    "ADY",
    "AVAL",
    "ANRLO",
    "ANRHI",
    "ANRIND",
    "ABLFL",
    "ANL01FL",
    "AVISIT",
]
ADEFF_COLUMNS = ["USUBJID", "PARAMCD", "AVALC", "ABLFL", "ANL01FL", "AVISIT", "BASE", "CHG"]


def run_baseline(adsl_path, adlb_path, adeff_path, study_path, out) -> None:
    """Entry point of the ``baseline_ard`` rule: BIGN, BASELINE, EXPOSURE, LAB_SHIFT, LAB_ABN, SHIFT_CTP, SUBGROUP."""
    from hepatrial.ard import write_part
    from hepatrial.spec import load as load_study

    study = load_study(study_path)
    adsl = pl.read_parquet(adsl_path)
    # ADLB and ADEFF: only the parameters and columns the summaries read (lazy scans, projection and
    # filter pushed down to the Parquet reader; a large trial's ADLB is gigabytes whole). The lab
    # summaries are per parameter, so ADLB is read one parameter at a time (100k subjects: the job's
    # peak 3.8 GB with every safety lab at once); the ARD is sorted by its key, so the same rows.
    labs = []
    for p, adlb in parameter_frames(adlb_path, safety_labs(study), ADLB_COLUMNS):
        warn_no_records("safety.labs", p, adlb_path, adlb)
        if adlb.height:
            labs += [lab_shift(adlb, adsl, study), lab_abnormal(adlb, adsl, study)]
        del adlb  # before the next parameter is read
    eff_params = ["CTPCLASS", study.scores.meld_primary]
    adeff = (
        pl.scan_parquet(adeff_path)
        .filter(pl.col("PARAMCD").is_in(eff_params))
        .select(ADEFF_COLUMNS)
        .collect()
    )
    parts = [
        big_n(adsl, study),
        baseline_characteristics(adsl, study),
        exposure(adsl, study),
        *labs,
        shift_ctp(adeff, adsl, study),
        subgroup_effects(adeff, adsl, study, source=str(study_path)),
    ]
    write_part(pl.concat(parts, how="vertical"), out)

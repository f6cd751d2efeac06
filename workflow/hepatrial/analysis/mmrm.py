"""MMRM of the change from baseline by visit, written as ARD rows (MMRM_LSMEAN, MMRM_DIFF, MMRM_FIT),
with the random-intercept-and-slope LMM as a sensitivity analysis (LMM_LSMEAN, LMM_DIFF).

Model (SAP wording): the change from baseline at each post-baseline visit is analysed with a mixed
model for repeated measures with fixed effects for the baseline value (config ``mmrm.covariates``),
the randomisation strata (config ``strata``), arm, visit and the arm-by-visit interaction, and an
unstructured within-subject covariance (config ``mmrm.covariance``), estimated by REML. If the model
does not converge, the pre-specified structures of ``mmrm.fallback`` are tried in order (default
UN, heterogeneous Toeplitz, heterogeneous AR(1), compound symmetry); the structure used is reported.
Denominator df by Satterthwaite (config ``mmrm.df``: or Kenward-Roger, or residual). LS means
weight factor levels equally (``mmrm.lsmeans_weights``: or proportionally, SAS OBSMARGINS).
Designs without a comparator (single arm, dose escalation) get LS means per arm (within-arm mean
change by visit) and no differences.
"""

from __future__ import annotations

import math
import re
import warnings

import polars as pl

from hepatrial.analysis.common import KEY_SECONDARY, PRIMARY, left_out, select_population
from hepatrial.ard import ard_rows
from hepatrial.errors import ConvergenceError, HepatrialWarning
from hepatrial.models.lmm import SINGULAR_WARNING, fit_random_slope_lmm
from hepatrial.models.mmrm import MMRM
from hepatrial.spec import Study

DF_LABEL = {
    "satterthwaite": "Satterthwaite",
    "kenward_roger": "Kenward-Roger",
    "kenward_roger_linear": "Kenward-Roger (linear)",
    "between_within": "between-within",
    "residual": "residual df",
}


def mmrm_data(
    dataset: pl.DataFrame, study: Study, paramcd: str, population: str
) -> tuple[pl.DataFrame, list[str]]:
    """Analysed post-baseline records with a change from baseline, and the visit order."""
    bl = {v.label for v in study.visits if not v.post_baseline}  # baseline and screening
    df = select_population(
        dataset.filter((pl.col("PARAMCD") == paramcd) & (pl.col("ANL01FL") == "Y")),
        study,
        population,
    )
    df = df.filter(
        ~pl.col("AVISIT").is_in(sorted(bl))
        & (pl.col("AVISIT") != "UNSCHEDULED")
        & pl.col("CHG").is_not_null()
        & pl.col("BASE").is_not_null()
    )
    present = set(df["AVISIT"].unique().to_list())
    order = [v.label for v in sorted(study.visits, key=lambda v: v.avisitn) if v.label in present]
    return df, order


NOT_ESTIMABLE = "not estimable: "  # the method of an MMRM_FIT row the model could not be fitted


def _not_estimable(
    paramcd: str, population: str, reason: str, n_subj: int, n_obs: int
) -> pl.DataFrame:
    rows = [
        {
            "analysis": "MMRM_FIT",
            "paramcd": paramcd,
            "population": population,
            "stat": s,
            "value": v,
            "method": f"{NOT_ESTIMABLE}{reason}",
        }
        for s, v in (("converged", 0), ("n_subjects", n_subj), ("n_obs", n_obs))
    ]
    return ard_rows(rows)


def primary_param(study: Study) -> str | None:
    """The primary endpoint's PARAMCD: ``endpoints.primary_param``, else the first MMRM parameter."""
    return study.primary_param


def endpoint_roles(study: Study, paramcd: str, population: str) -> dict[str, str]:
    """visit -> "PRIMARY ENDPOINT" / "KEY SECONDARY ENDPOINT" for the primary parameter in the ITT
    population (the role is written into the ARD ``method`` of those MMRM_DIFF rows)."""
    if paramcd != primary_param(study) or population != "ITT":
        return {}
    ep = study.endpoints
    out = {ep.primary_visit: PRIMARY}
    if ep.key_secondary_visit:
        out[ep.key_secondary_visit] = KEY_SECONDARY
    return out


FORMULA_FUNCTIONS = {"C", "I", "log", "exp", "np", "center", "scale", "poly", "Treatment"}


def formula_variables(formula: str) -> list[str]:
    """The data columns a Wilkinson formula names (functions such as C(), log() left out)."""
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", formula)
    return list(dict.fromkeys(n for n in names if n not in FORMULA_FUNCTIONS))


def _formula_ard(df, order, arms, ref, parallel, cfg, study, paramcd, population, n_subj, n_obs):
    """MMRM rows from the SAP's model formula (``mmrm.formula``, e.g. ``CHG ~ BASE * AVISIT +
    CTPSTRAT + ARM * AVISIT``): the general engine (:func:`hepatrial.models.mmrm.fit`), LS means on
    the arm x visit grid and arm differences per visit."""
    from hepatrial.errors import ConfigError
    from hepatrial.models.mmrm import fit

    formula = cfg.formula
    missing = [v for v in formula_variables(formula) if v not in df.columns]
    if missing:
        raise ConfigError(
            f"mmrm.formula {formula!r}: {', '.join(repr(m) for m in missing)} not in the analysis "
            f"data of {paramcd} (columns: {', '.join(sorted(df.columns))})"
        )
    refs = {"ARM": ref} if ref else {}
    refs.update(cfg.reference_levels)
    try:
        r = fit(
            df,
            formula,
            cfg.covariance,
            visit_order=order,
            group=cfg.group,
            method=cfg.method,
            df=cfg.df,
            reference_levels=refs,
            fallback=tuple(cfg.fallback),
        )
        weights = "proportional" if cfg.lsmeans_weights == "proportional" else "equal"
        ls = r.lsmeans(["ARM", "AVISIT"], weights=weights)
        diffs = (
            r.lsmeans_diff("ARM", by="AVISIT", reference=ref, weights=weights) if parallel else None
        )
    except (ConvergenceError, ValueError, ArithmeticError) as exc:
        return _not_estimable(paramcd, population, " ".join(str(exc).split())[:200], n_subj, n_obs)
    method = f"{r.covariance} {cfg.method} {DF_LABEL.get(cfg.df, cfg.df)}"
    counts = {(a, v): n for a, v, n in df.group_by("ARM", "AVISIT").len().iter_rows()}
    rows = []
    for x in ls.iter_rows(named=True):
        vals = {
            "n": counts.get((x["ARM"], x["AVISIT"]), 0),
            "lsmean": x["estimate"],
            "se": x["se"],
            "df": x["df"],
            "lower": x["lower"],
            "upper": x["upper"],
        }
        for stat, v in vals.items():
            rows.append(
                {
                    "analysis": "MMRM_LSMEAN",
                    "paramcd": paramcd,
                    "population": population,
                    "arm": x["ARM"],
                    "avisit": x["AVISIT"],
                    "stat": stat,
                    "value": v,
                    "method": method,
                }
            )
    if diffs is not None:
        role = endpoint_roles(study, paramcd, population)
        for x in diffs.iter_rows(named=True):
            m = method + (f"; {role[x['AVISIT']]}" if x["AVISIT"] in role else "")
            for stat in ("estimate", "se", "df", "lower", "upper", "p"):
                rows.append(
                    {
                        "analysis": "MMRM_DIFF",
                        "paramcd": paramcd,
                        "population": population,
                        "arm": x["ARM"],
                        "comparator": x["reference"],
                        "avisit": x["AVISIT"],
                        "stat": stat,
                        "value": x[stat],
                        "method": m,
                    }
                )
    aliased = f"; aliased (dropped): {', '.join(r.aliased)}" if r.aliased else ""
    for stat, value in (
        ("reml_loglik" if cfg.method == "REML" else "ml_loglik", r.loglik),
        ("aic", -2.0 * r.loglik + 2.0 * (len(r.coef_names) + len(r.theta))),  # nlme's AIC
        ("n_subjects", r.n_subjects),
        ("n_obs", r.n_obs),
        ("converged", 1),
    ):
        rows.append(
            {
                "analysis": "MMRM_FIT",
                "paramcd": paramcd,
                "population": population,
                "stat": stat,
                "value": value,
                "method": f"{method}; {formula}{aliased}",
            }
        )
    covariates, factors = mmrm_terms(df, study)
    rows += _lmm_rows(
        df, order, arms, ref, parallel, covariates, factors, paramcd, population, study
    )
    return ard_rows(rows)


def mmrm_model(study: Study) -> MMRM:
    """The MMRM of the study's settings (covariance, REML/ML, df method, fallback, LS-mean weights)."""
    cfg = study.mmrm
    return MMRM(
        covariance=cfg.covariance,
        method=cfg.method,
        df=cfg.df,
        fallback=list(cfg.fallback),
        lsmeans_weights=cfg.lsmeans_weights,
    )


def mmrm_terms(df: pl.DataFrame, study: Study) -> tuple[list[str], list[str]]:
    """The covariates of the MMRM settings (columns of ``df``, from :func:`mmrm_data`: the
    analysis step checks them, :func:`hepatrial.analysis.run.run_mmrm`) and the stratification
    factors with more than one level: the model's terms besides arm and visit."""
    covariates = list(study.mmrm.covariates)
    return covariates, [c for c in study.strata_in(df) if df[c].n_unique() > 1]


def mmrm_ard(
    dataset: pl.DataFrame, study: Study, paramcd: str, population: str = "ITT"
) -> pl.DataFrame:
    cfg = study.mmrm
    df, order = mmrm_data(dataset, study, paramcd, population)
    # the model's variables: a subject without one of them is left out here, and says so, so that
    # the counts (n) are those of the model's data
    needed = (
        formula_variables(cfg.formula) if cfg.formula else [*cfg.covariates, *study.strata_in(df)]
    )
    complete = df.drop_nulls([c for c in needed if c in df.columns])
    n_out = df["USUBJID"].n_unique() - complete["USUBJID"].n_unique()
    note = left_out(n_out, "stratum or covariate")
    df, seen = complete, set(complete["AVISIT"].unique().to_list())
    order = [v for v in order if v in seen]
    return _mmrm_ard(df, order, study, paramcd, population).with_columns(
        pl.col("method") + pl.lit(note)
    )


def _mmrm_ard(
    df: pl.DataFrame, order: list[str], study: Study, paramcd: str, population: str
) -> pl.DataFrame:
    cfg = study.mmrm
    arms = [a for a in study.arm_labels if a in set(df["ARM"].unique().to_list())]
    parallel = study.design.compares_arms
    ref = study.comparison_reference
    n_subj, n_obs = df["USUBJID"].n_unique(), df.height
    if not order or n_subj < 3:
        return _not_estimable(
            paramcd, population, "fewer than 3 subjects with a post-baseline change", n_subj, n_obs
        )
    if parallel and (ref not in arms or len(arms) < 2):
        return _not_estimable(
            paramcd, population, "the reference arm or a test arm has no data", n_subj, n_obs
        )
    if cfg.formula:
        return _formula_ard(
            df, order, arms, ref, parallel, cfg, study, paramcd, population, n_subj, n_obs
        )
    covariates, factors = mmrm_terms(df, study)
    model = mmrm_model(study)
    try:
        model.fit(
            df,
            response="CHG",
            subject="USUBJID",
            visit="AVISIT",
            visit_order=order,
            arm="ARM",
            arm_levels=arms if not parallel else [ref] + [a for a in arms if a != ref],
            reference=ref,
            covariates=covariates,
            factors=factors,
        )
    except (ConvergenceError, ValueError, ArithmeticError) as exc:  # too little data is not a crash
        return _not_estimable(paramcd, population, " ".join(str(exc).split())[:200], n_subj, n_obs)
    method = f"{model.covariance_used_} {cfg.method} {DF_LABEL.get(cfg.df, cfg.df)}"
    terms = " + ".join(
        ["CHG ~ " + " + ".join(covariates + factors + ["ARM", "AVISIT", "ARM*AVISIT"])]
    )
    rows = []
    for r in model.lsmeans_.iter_rows(named=True):
        for stat in ("n", "lsmean", "se", "df", "lower", "upper"):
            rows.append(
                {
                    "analysis": "MMRM_LSMEAN",
                    "paramcd": paramcd,
                    "population": population,
                    "arm": r["arm"],
                    "avisit": r["visit"],
                    "stat": stat,
                    "value": r[stat],
                    "method": method,
                }
            )
    if parallel:
        role = endpoint_roles(study, paramcd, population)
        for r in model.diffs_.iter_rows(named=True):
            m = method + (f"; {role[r['visit']]}" if r["visit"] in role else "")
            for stat in ("estimate", "se", "df", "lower", "upper", "p"):
                rows.append(
                    {
                        "analysis": "MMRM_DIFF",
                        "paramcd": paramcd,
                        "population": population,
                        "arm": r["arm"],
                        "comparator": r["reference"],
                        "avisit": r["visit"],
                        "stat": stat,
                        "value": r[stat],
                        "method": m,
                    }
                )
    for stat, value in (
        ("reml_loglik" if cfg.method == "REML" else "ml_loglik", model.loglik_),
        ("aic", model.aic_),
        ("n_subjects", model.n_subjects_),
        ("n_obs", model.n_obs_),
        ("converged", 1),
    ):
        rows.append(
            {
                "analysis": "MMRM_FIT",
                "paramcd": paramcd,
                "population": population,
                "stat": stat,
                "value": value,
                "method": f"{method}; {terms}",
            }
        )
    rows += _lmm_rows(
        df, order, arms, ref, parallel, covariates, factors, paramcd, population, study
    )
    return ard_rows(rows)


def _lmm_rows(
    df, order, arms, ref, parallel, covariates, factors, paramcd, population, study
) -> list[dict]:
    """Sensitivity: random intercept and slope on visit time (weeks = target day / 7)."""
    target = {v.label: v.target_day / 7.0 for v in study.visits}
    try:
        with warnings.catch_warnings():  # said below as one line naming the parameter
            warnings.filterwarnings("ignore", re.escape(SINGULAR_WARNING), RuntimeWarning)
            res = fit_random_slope_lmm(
                df,
                response="CHG",
                subject="USUBJID",
                visit="AVISIT",
                visit_order=order,
                time={v: target[v] for v in order},
                arm="ARM",
                arm_levels=[ref] + [a for a in arms if a != ref] if parallel else arms,
                reference=ref,
                covariates=covariates,
                factors=factors,
            )
    except Exception as exc:  # noqa: BLE001 - a failed sensitivity fit is reported, never fatal
        return [
            {
                "analysis": "LMM_FIT",
                "paramcd": paramcd,
                "population": population,
                "stat": "converged",
                "value": 0,
                "method": f"random intercept and slope LMM failed: {' '.join(str(exc).split())[:150]}",
            }
        ]
    if res["singular"]:
        warnings.warn(
            HepatrialWarning(
                f"{paramcd} ({population}): the random intercept and slope LMM (a sensitivity "
                "analysis) has a singular random-effects covariance G (boundary of the parameter "
                "space); its estimates are in the ARD as fitted"
            ),
            stacklevel=2,
        )
    method = "random intercept and slope LMM (own REML engine, checked against R nlme::lme), Wald normal CI"
    rows = [
        {
            "analysis": "LMM_FIT",
            "paramcd": paramcd,
            "population": population,
            "stat": "converged",
            "value": 1 if res["converged"] else 0,
            "method": method,
        }
    ]
    for r in res["lsmeans"].iter_rows(named=True):
        for stat in ("lsmean", "se", "lower", "upper"):
            rows.append(
                {
                    "analysis": "LMM_LSMEAN",
                    "paramcd": paramcd,
                    "population": population,
                    "arm": r["arm"],
                    "avisit": r["visit"],
                    "stat": stat,
                    "value": r[stat],
                    "method": method,
                }
            )
    if parallel:
        for r in res["diffs"].iter_rows(named=True):
            for stat in ("estimate", "se", "lower", "upper", "p"):
                v = r[stat]
                rows.append(
                    {
                        "analysis": "LMM_DIFF",
                        "paramcd": paramcd,
                        "population": population,
                        "arm": r["arm"],
                        "comparator": r["reference"],
                        "avisit": r["visit"],
                        "stat": stat,
                        "value": None
                        if v is None or (isinstance(v, float) and math.isnan(v))
                        else v,
                        "method": method,
                    }
                )
    return rows

"""Responder analyses by visit (ARD ``RESPONDER``, ``RESPONDER_CMH``, ``RESPONDER_SHIFT``;
definitions, formulas and the SAS/R equivalents in docs/responder.md).

Each entry of the study config's ``responders`` list is one paramcd (its ``id``), evaluated at each
of its visits for the subjects of its population (ITT by default, planned arm) who could respond:

- ``ctp_class_improvement``: CTP class (AVALC A/B/C) better than at baseline (C -> B or A, B -> A);
  could respond: baseline class B or C.
- ``meld_improvement``: the parameter (a MELD) decreased by at least ``k`` points from baseline;
  could respond: a baseline value.
- ``ishak_improvement``: the stage decreased by at least ``k`` (default 1); could respond: a
  baseline stage of at least ``k``.
- ``normalisation``: reference-range category (ANRIND) NORMAL at the visit; could respond: LOW or
  HIGH at baseline (the denominator is the subjects abnormal at baseline).

Values: the analysed record of the visit (ANL01FL = "Y"); baseline: the ABLFL = "Y" record.
A subject who could respond has, at each visit, one status:

- ``RESPONDER`` / ``NONRESPONDER``: a value at the visit (not after a liver transplant);
- ``DEATH_LTX``: no value, and died or transplanted on or before the day the visit's window closes
  (or transplanted before the value): counted as a non-responder (``death_transplant:
  nonresponder``, the default; a composite strategy) or excluded (``exclude``);
- ``MISSING``: no value otherwise, the window closed on or before the data cut (or the subject left
  the study): non-responder (``missing: nonresponder``, the default, non-responder imputation) or
  excluded (``exclude``, observed cases);
- ``NOT_DUE``: no value and the visit's window closes after the data cut while the subject is still
  in the study: always excluded (not yet observable).

ARD rows (population of the definition; avisit = the visit):

- ``RESPONDER``, arm = each arm and ``ALL``: ``n`` (analysed), ``n_resp``, ``rate`` (n_resp / n),
  ``lower``/``upper`` (95% Clopper-Pearson), ``n_elig`` (could respond), ``n_dth_ltx``,
  ``n_missing``, ``n_not_due`` (subjects of each status, analysed or not).
- ``RESPONDER``, arm = test, comparator = reference (parallel designs): ``rd`` = rate(test) -
  rate(reference), ``lower``/``upper`` (95% Miettinen-Nurminen score CI), ``n`` (both arms).
- ``RESPONDER_CMH``, arm = test, comparator = reference (parallel designs), stratified by the
  randomisation strata (``strata``; none: one stratum): ``chisq``, ``df``, ``p`` (CMH test, no
  continuity correction), ``rd``, ``se``, ``lower``, ``upper`` (Mantel-Haenszel common risk
  difference, Sato variance, Wald CI), ``n`` (subjects with a stratum), ``n_strata``.
- ``RESPONDER_SHIFT`` (ordinal definitions: CTP class, Ishak stage): paramcd
  ``<id>|<baseline>|<visit>``, the visit category a level, ``DEATH_LTX`` or ``MISSING`` and ``ALL``
  the margins; subjects of the population with a baseline value whose visit is due (status not
  NOT_DUE); stats ``n`` and ``pct`` (% of the arm's subjects in the shift at that visit).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.analysis.common import arm_labels, left_out, select_population, with_pooled
from hepatrial.ard import POOLED, ard_rows
from hepatrial.errors import ConfigError
from hepatrial.models.rates import clopper_pearson, cmh_risk_difference, miettinen_nurminen
from hepatrial.spec import Study

RULES = ("ctp_class_improvement", "meld_improvement", "ishak_improvement", "normalisation")
CTP_RANK = {"A": 1, "B": 2, "C": 3}
ISHAK_STAGES = [str(i) for i in range(7)]
# Shift categories (ordinal definitions): the levels, then what a subject without a value at the
# visit is.
SHIFT_LEVELS = {"ctp_class_improvement": ["A", "B", "C"], "ishak_improvement": ISHAK_STAGES}
DEATH_LTX, MISSING, NOT_DUE = "DEATH_LTX", "MISSING", "NOT_DUE"
ALL = "ALL"
STATUS_STATS = {DEATH_LTX: "n_dth_ltx", MISSING: "n_missing", NOT_DUE: "n_not_due"}


def definitions(study: Study) -> list[dict]:
    """The study's responder definitions with their defaults filled and checked: ``dataset``
    (adlb for normalisation, else adeff), ``k`` (ishak 1; meld required), ``visits`` (every
    post-baseline visit of the config), ``population`` ITT, ``missing`` and ``death_transplant``
    nonresponder, ``label`` the id."""
    visits = [v.label for v in sorted(study.visits, key=lambda v: v.avisitn) if v.post_baseline]
    out, seen = [], set()
    for i, d in enumerate(study.responders):
        where = f"responders[{i}] ({d.get('id')})"
        if d["id"] in seen:
            raise ConfigError(f"{where}: duplicate id")
        seen.add(d["id"])
        if d["rule"] not in RULES:
            raise ConfigError(f"{where}: rule must be one of {', '.join(RULES)}")
        k = d.get("k")
        if d["rule"] == "meld_improvement" and k is None:
            raise ConfigError(
                f"{where}: meld_improvement needs k (the points MELD must decrease by)"
            )
        if d["rule"] == "ishak_improvement" and k is None:
            k = 1
        bad = [v for v in d.get("visits") or [] if v not in visits]
        if bad:
            raise ConfigError(
                f"{where}: visits {bad} are not post-baseline visits of the study ({visits})"
            )
        out.append(
            {
                **d,
                "k": k,
                "label": d.get("label") or d["id"],
                "dataset": d.get("dataset")
                or ("adlb" if d["rule"] == "normalisation" else "adeff"),
                "visits": [v for v in visits if v in (d.get("visits") or visits)],
                "population": d.get("population") or "ITT",
                "missing": d.get("missing") or "nonresponder",
                "death_transplant": d.get("death_transplant") or "nonresponder",
            }
        )
    return out


def _value_expr(rule: str) -> pl.Expr:
    """The analysed value of a record: the CTP rank, the category, or AVAL."""
    if rule == "ctp_class_improvement":
        return pl.col("AVALC").replace_strict(CTP_RANK, default=None, return_dtype=pl.Float64)
    if rule == "normalisation":
        return pl.col("ANRIND")
    return pl.col("AVAL").cast(pl.Float64)


def _level_expr(rule: str, col: str) -> pl.Expr:
    """The shift category of a value column (CTP class letter, Ishak stage as an integer)."""
    if rule == "ctp_class_improvement":
        return pl.col(col).replace_strict(
            {1.0: "A", 2.0: "B", 3.0: "C"}, default=None, return_dtype=pl.Utf8
        )
    return pl.col(col).round(0).cast(pl.Int64).cast(pl.Utf8)


def _eligible(rule: str, k) -> pl.Expr:
    b = pl.col("BVAL")
    if rule == "ctp_class_improvement":
        return b >= 2
    if rule == "normalisation":
        return b.is_in(["LOW", "HIGH"])
    if rule == "ishak_improvement":
        return b >= k
    return b.is_not_null()


def _responds(rule: str, k) -> pl.Expr:
    b, v = pl.col("BVAL"), pl.col("VVAL")
    if rule == "ctp_class_improvement":
        return v < b
    if rule == "normalisation":
        return v == "NORMAL"
    return (v - b) <= -float(k) + 1e-9  # values are recorded to a few decimals: no false misses


def _close_date(study: Study, visit: str) -> pl.Expr:
    """The date the visit's window closes: origin + (last window day - 1) (analysis day 1 =
    origin)."""
    hi = next(v.window[1] for v in study.visits if v.label == visit)
    return pl.col("ORIGDT") + pl.duration(days=hi - 1 if hi >= 1 else hi)


def subject_status(data: pl.DataFrame, adsl: pl.DataFrame, study: Study, d: dict) -> pl.DataFrame:
    """One row per subject of the population with a baseline value and visit of ``d``: USUBJID,
    ARM, the strata, AVISIT, BVAL, VVAL, ELIG (could respond) and STATUS."""
    strata = study.strata_in(adsl)
    need = ["ORIGDT", "DCUTDT", "DTHDT", "LTXDT", "EOSSTT"]
    pop = select_population(adsl, study, d["population"])
    pop = pop.select(
        "USUBJID",
        "ARM",
        *strata,
        *[pl.col(c) if c in pop.columns else pl.lit(None).alias(c) for c in need],
    )
    pop = pop.with_columns(
        pl.col("DTHDT", "LTXDT").cast(pl.Date), pl.col("ORIGDT", "DCUTDT").cast(pl.Date)
    )
    if pop["DCUTDT"].null_count():
        cut = study.cut_date
        if cut is None:
            raise ConfigError("responders: ADSL has no DCUTDT and the study config no cut_date")
        pop = pop.with_columns(pl.col("DCUTDT").fill_null(dt.date.fromisoformat(str(cut))))
    recs = data.filter((pl.col("PARAMCD") == d["param"]) & (pl.col("ANL01FL") == "Y")).with_columns(
        _value_expr(d["rule"]).alias("_v")
    )
    base = (
        recs.filter(pl.col("ABLFL") == "Y")
        .filter(pl.col("_v").is_not_null())
        .select("USUBJID", pl.col("_v").alias("BVAL"))
        .unique("USUBJID", keep="first")
    )
    vis = (
        recs.filter(
            pl.col("AVISIT").is_in(d["visits"])
            & pl.col("_v").is_not_null()
            & (pl.col("ABLFL").fill_null("") != "Y")
        )
        .select(
            "USUBJID",
            "AVISIT",
            pl.col("_v").alias("VVAL"),
            (pl.col("ADT").cast(pl.Date) if "ADT" in recs.columns else pl.lit(None, pl.Date)).alias(
                "VDT"
            ),
        )
        .unique(["USUBJID", "AVISIT"], keep="first")
    )
    frames = []
    for visit in d["visits"]:
        frames.append(
            pop.join(base, on="USUBJID", how="inner").with_columns(
                pl.lit(visit).alias("AVISIT"), _close_date(study, visit).alias("CLOSEDT")
            )
        )
    if not frames:
        return pl.DataFrame()
    df = pl.concat(frames).join(vis, on=["USUBJID", "AVISIT"], how="left")
    event = pl.min_horizontal("DTHDT", "LTXDT")
    after_ltx = pl.col("LTXDT").is_not_null() & (pl.col("LTXDT") <= pl.col("VDT"))
    has_value = pl.col("VVAL").is_not_null() & ~after_ltx
    left = pl.col("EOSSTT").fill_null("") == "DISCONTINUED"
    status = (
        pl.when(has_value)
        .then(
            pl.when(_responds(d["rule"], d["k"]))
            .then(pl.lit("RESPONDER"))
            .otherwise(pl.lit("NONRESPONDER"))
        )
        .when(after_ltx | (event.is_not_null() & (event <= pl.col("CLOSEDT"))))
        .then(pl.lit(DEATH_LTX))
        .when((pl.col("CLOSEDT") > pl.col("DCUTDT")) & ~left)
        .then(pl.lit(NOT_DUE))
        .otherwise(pl.lit(MISSING))
    )
    return df.with_columns(
        status.alias("STATUS"), _eligible(d["rule"], d["k"]).fill_null(False).alias("ELIG")
    )


def analysed(df: pl.DataFrame, d: dict) -> pl.DataFrame:
    """The subjects analysed at each visit (could respond, status counted), with RESP 0/1."""
    keep = ["RESPONDER", "NONRESPONDER"]
    if d["death_transplant"] == "nonresponder":
        keep.append(DEATH_LTX)
    if d["missing"] == "nonresponder":
        keep.append(MISSING)
    return df.filter(pl.col("ELIG") & pl.col("STATUS").is_in(keep)).with_columns(
        (pl.col("STATUS") == "RESPONDER").cast(pl.Int64).alias("RESP")
    )


def _method(d: dict) -> str:
    return (
        f"{d['label']}: responders / analysed; missing value: {d['missing']}; death or transplant: "
        f"{d['death_transplant']}; not yet due at the cut: excluded"
    )


def _strata_key(df: pl.DataFrame, strata: list[str]) -> pl.DataFrame:
    if not strata:
        return df.with_columns(pl.lit("ALL").alias("_stratum"))
    df = df.filter(pl.all_horizontal([pl.col(s).is_not_null() for s in strata]))
    return df.with_columns(
        pl.concat_str(
            [pl.lit(f"{s}=") + pl.col(s).cast(pl.Utf8) for s in strata], separator="|"
        ).alias("_stratum")
    )


def responder_rows(data: pl.DataFrame, adsl: pl.DataFrame, study: Study, d: dict) -> list[dict]:
    status = subject_status(data, adsl, study, d)
    if status.height == 0:
        return []
    an = analysed(status, d)
    pop, pid = d["population"], d["id"]
    arms = arm_labels(study) + [POOLED]
    st_p, an_p = with_pooled(status), with_pooled(an)
    counts = {
        (a, v, s): n
        for a, v, s, n in st_p.filter(pl.col("ELIG"))
        .group_by(["ARM", "AVISIT", "STATUS"])
        .len()
        .iter_rows()
    }
    elig = {
        (a, v): n
        for a, v, n in st_p.filter(pl.col("ELIG")).group_by(["ARM", "AVISIT"]).len().iter_rows()
    }
    resp = {
        (a, v): (int(n), int(r))
        for a, v, n, r in an_p.group_by(["ARM", "AVISIT"])
        .agg(pl.len(), pl.col("RESP").sum())
        .iter_rows()
    }
    method = _method(d)
    rows = []

    def add(arm, visit, stat, value, m, comparator="", analysis="RESPONDER"):
        rows.append(
            {
                "analysis": analysis,
                "paramcd": pid,
                "population": pop,
                "arm": arm,
                "comparator": comparator,
                "avisit": visit,
                "stat": stat,
                "value": value,
                "method": m,
            }
        )

    for visit in d["visits"]:
        for arm in arms:
            n, r = resp.get((arm, visit), (0, 0))
            lo, hi = clopper_pearson(r, n)
            add(arm, visit, "n", n, method)
            add(arm, visit, "n_resp", r, method)
            add(arm, visit, "rate", r / n if n else float("nan"), method)
            add(arm, visit, "lower", lo, method + "; 95% Clopper-Pearson (exact) CI")
            add(arm, visit, "upper", hi, method + "; 95% Clopper-Pearson (exact) CI")
            add(arm, visit, "n_elig", elig.get((arm, visit), 0), method)
            for s, stat in STATUS_STATS.items():
                add(arm, visit, stat, counts.get((arm, visit, s), 0), method)
    if not study.design.compares_arms:
        return rows
    ref = study.reference
    strata = study.strata_in(an)
    cmh_method = (
        f"{d['label']}: CMH test stratified by {', '.join(strata) or 'nothing (one stratum)'}, "
        "no continuity correction; Mantel-Haenszel common risk difference, Sato variance, "
        "95% Wald CI"
    )
    for test in [a for a in arm_labels(study) if a != ref]:
        for visit in d["visits"]:
            n1, x1 = resp.get((test, visit), (0, 0))
            n2, x2 = resp.get((ref, visit), (0, 0))
            rd, lo, hi = miettinen_nurminen(x1, n1, x2, n2)
            m = f"{d['label']}: risk difference, 95% Miettinen-Nurminen score CI"
            for stat, v in (("rd", rd), ("lower", lo), ("upper", hi), ("n", n1 + n2)):
                add(test, visit, stat, v, m, ref)
            pair = an.filter((pl.col("AVISIT") == visit) & pl.col("ARM").is_in([test, ref]))
            sub = _strata_key(pair, strata)
            tabs = []
            for key in sorted(sub["_stratum"].unique().to_list()):
                s = sub.filter(pl.col("_stratum") == key)
                t, c = s.filter(pl.col("ARM") == test), s.filter(pl.col("ARM") == ref)
                tabs.append((int(t["RESP"].sum()), t.height, int(c["RESP"].sum()), c.height))
            res = cmh_risk_difference(tabs)
            res["n"] = float(sub.height)
            m = cmh_method + left_out(pair.height - sub.height, "stratum")
            for stat, v in res.items():
                add(test, visit, stat, v, m, ref, "RESPONDER_CMH")
    return rows


def shift_rows(data: pl.DataFrame, adsl: pl.DataFrame, study: Study, d: dict) -> list[dict]:
    """RESPONDER_SHIFT rows of an ordinal definition (every subject with a baseline value, due)."""
    levels = SHIFT_LEVELS.get(d["rule"])
    if levels is None:
        return []
    status = subject_status(data, adsl, study, d)
    if status.height == 0:
        return []
    df = status.filter(pl.col("STATUS") != NOT_DUE).with_columns(
        _level_expr(d["rule"], "BVAL").alias("B"),
        pl.when(pl.col("STATUS").is_in([DEATH_LTX, MISSING]))
        .then(pl.col("STATUS"))
        .otherwise(_level_expr(d["rule"], "VVAL"))
        .alias("V"),
    )
    extra_b = sorted(set(df["B"].drop_nulls().to_list()) - set(levels))
    extra_v = sorted(set(df["V"].drop_nulls().to_list()) - set(levels) - {DEATH_LTX, MISSING})
    b_levels, v_levels = [*levels, *extra_b], [*levels, *extra_v, DEATH_LTX, MISSING]
    df = with_pooled(df)
    cells = {
        key[:-1]: key[-1] for key in df.group_by(["ARM", "AVISIT", "B", "V"]).len().iter_rows()
    }
    denom = {(a, v): n for a, v, n in df.group_by(["ARM", "AVISIT"]).len().iter_rows()}
    method = (
        f"{d['label']}: baseline vs visit category; DEATH_LTX: died or transplanted by the visit, "
        "MISSING: "
        "no value; % of the arm's subjects with a baseline value and the visit due"
    )
    rows = []
    for visit in d["visits"]:
        for arm in arm_labels(study) + [POOLED]:
            tot = denom.get((arm, visit), 0)
            for b in [*b_levels, ALL]:
                for v in [*v_levels, ALL]:
                    n = sum(
                        c
                        for (a, vi, bb, vv), c in cells.items()
                        if a == arm
                        and vi == visit
                        and (b == ALL or bb == b)
                        and (v == ALL or vv == v)
                    )
                    for stat, value in (("n", n), ("pct", 100.0 * n / tot if tot else None)):
                        rows.append(
                            {
                                "analysis": "RESPONDER_SHIFT",
                                "paramcd": f"{d['id']}|{b}|{v}",
                                "population": d["population"],
                                "arm": arm,
                                "avisit": visit,
                                "stat": stat,
                                "value": value,
                                "method": method,
                            }
                        )
    return rows


def responder_ard(
    datasets: dict[str, pl.DataFrame], adsl: pl.DataFrame, study: Study
) -> pl.DataFrame:
    """Every RESPONDER, RESPONDER_CMH and RESPONDER_SHIFT row of the study's definitions;
    ``datasets``: name (adeff, adlb, adqs) -> BDS frame."""
    rows = []
    for d in definitions(study):
        if d["dataset"] not in datasets:
            raise ConfigError(f"responders: {d['id']}: dataset {d['dataset']} was not given")
        data = datasets[d["dataset"]]
        if data.filter(pl.col("PARAMCD") == d["param"]).height == 0:
            raise ConfigError(
                f"responders: {d['id']}: parameter {d['param']} is not in {d['dataset'].upper()}"
            )
        rows += responder_rows(data, adsl, study, d)
        rows += shift_rows(data, adsl, study, d)
    return ard_rows(rows)


def run_responder(adsl_path, data_paths: dict, study_path, out) -> None:
    """Entry point of the ``responder`` rule."""
    from hepatrial.ard import write_part
    from hepatrial.spec import load as load_study

    study = load_study(study_path)
    defs = definitions(study)
    datasets = {}
    for name, path in data_paths.items():
        params = [d["param"] for d in defs if d["dataset"] == name]
        datasets[name] = pl.scan_parquet(path).filter(pl.col("PARAMCD").is_in(params)).collect()
    write_part(responder_ard(datasets, pl.read_parquet(adsl_path), study), out)

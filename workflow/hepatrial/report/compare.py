"""Cut-to-cut comparison: what is new since the previous data cut, and what changed in data
already reported.

Design (docs/dsmb.md): the previous cut is re-ingested and re-analysed **with the current
pipeline and config** (the same DAG analyses it as the run ``<cut>/previous``, into
``results/<study>/<cut>/previous/``), so that a movement in an estimate reflects the data, not a
change of code or of a setting between meetings, and nothing depends on an old results folder
being present or trustworthy.

- new subjects: in DM now, not in the previous DM;
- new deaths (DM DTHFL / DS DEATH), transplants (PR LIVER TRANSPLANT), SAEs (AE AESER = Y): keyed by
  subject, term and start date, present now and not before;
- data cleaning: records of the previous cut that vanished, whose values changed (CHANGED) or whose
  missing values were filled in (FILLED), and records added late (dated on or before the previous
  cut but not in it); records are matched by
  USUBJID and the domain's sequence number (``--SEQ``) when both cuts have it, else by USUBJID and
  the domain's topic and date with an occurrence number;
- estimate movement (closed report only): key estimates of both ARDs side by side.

Cuts of ADaM datasets (hepatrial.adam.entry) are compared the same way on their datasets as the
pipeline wrote them: new subjects from ADSL, deaths and transplants from ADSL DTHDT and LTXDT,
SAEs from ADAE, records keyed by the topics below (a BDS record by parameter, visit and date).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.contract import ADAM_DOMAINS, DOMAINS

TOPIC = {
    "DM": [],
    "DS": ["DSDECOD", "DSSTDTC"],
    "SV": ["VISITNUM", "SVSTDTC"],
    "EX": ["EXSTDTC"],
    "LB": ["LBTESTCD", "LBDTC"],
    "RS": ["RSTESTCD", "RSDTC"],
    "QS": ["QSTESTCD", "QSDTC"],
    "AE": ["AEDECOD", "AESTDTC"],
    "CE": ["CEDECOD", "CESTDTC"],
    "PR": ["PRDECOD", "PRSTDTC"],
    "MH": ["MHDECOD"],
    # a cut of ADaM datasets
    "ADSL": [],
    **dict.fromkeys(("ADEFF", "ADLB", "ADQS"), ["PARAMCD", "AVISIT", "ADT"]),
    "ADTTE": ["PARAMCD"],
    "ADAE": ["AEDECOD", "AESTDTC"],
}
SPECS = {**DOMAINS, **ADAM_DOMAINS}
SUBJECTS = ("DM", "ADSL")  # the dataset of one row per subject
CHANGE_SCHEMA = {
    "domain": pl.Utf8,
    "USUBJID": pl.Utf8,
    "key": pl.Utf8,
    "kind": pl.Utf8,
    "column": pl.Utf8,
    "previous": pl.Utf8,
    "current": pl.Utf8,
}
EVENT_SCHEMA = {"event": pl.Utf8, "USUBJID": pl.Utf8, "term": pl.Utf8, "date": pl.Utf8}
# Estimates whose movement the closed report shows.
KEY_ESTIMATES = {
    "MMRM_DIFF": ("estimate", "p"),
    "MMRM_LSMEAN": ("lsmean",),
    "COX": ("hr", "p"),
    "LOGRANK": ("p",),
    "KM_MEDIAN": ("median",),
    "KM": ("surv",),
    "CIF": ("cif",),
    "AE_OVERVIEW": ("n_subjects",),
    "DEATHS": ("n",),
    "DISPOSITION": ("n",),
}
KEYS = ["analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat"]


def _keyed(df: pl.DataFrame, domain: str, use_seq: bool) -> pl.DataFrame:
    seq = f"{domain}SEQ"
    if domain in SUBJECTS:
        parts = [pl.lit("")]
    elif use_seq:
        parts = [pl.col(seq).cast(pl.Utf8)]
    else:
        cols = [c for c in TOPIC.get(domain, []) if c in df.columns]
        df = df.with_columns(pl.int_range(pl.len()).over(["USUBJID", *cols]).alias("_OCC"))
        # each value with "\\" and "|" escaped: ("a|b", "c") and ("a", "b|c") are two keys
        parts = [
            pl.col(c)
            .cast(pl.Utf8)
            .fill_null("")
            .str.replace_all("\\", "\\\\", literal=True)
            .str.replace_all("|", "\\|", literal=True)
            for c in cols
        ] + [pl.col("_OCC").cast(pl.Utf8)]
    return df.with_columns(pl.concat_str(parts, separator="|").alias("_KEY"))


def compare_domain(
    prev: pl.DataFrame,
    cur: pl.DataFrame,
    domain: str,
    previous_cut: dt.date,
    known: list[str] | None = None,
) -> pl.DataFrame:
    """Changed, vanished and late-added records of one domain (one row per changed value).
    ``known``: subjects of the previous cut (default: those of ``prev``)."""
    known = sorted(set(prev["USUBJID"].to_list())) if known is None else known
    spec = SPECS[domain]
    seq = f"{domain}SEQ"
    use_seq = seq in prev.columns and seq in cur.columns
    cols = [
        c
        for c in dict.fromkeys(
            (*spec.required, *spec.expected, *spec.numeric, *filter(None, [spec.main_date]))
        )
        if c in prev.columns and c in cur.columns and c not in ("USUBJID", seq)
    ]
    p = _keyed(prev, domain, use_seq).select(
        "USUBJID", "_KEY", *[pl.col(c).cast(pl.Utf8) for c in cols]
    )
    c = _keyed(cur, domain, use_seq).select(
        "USUBJID", "_KEY", *[pl.col(c).cast(pl.Utf8) for c in cols]
    )
    out = []
    vanished = p.join(c, on=["USUBJID", "_KEY"], how="anti")
    out.append(
        vanished.select(
            pl.lit(domain).alias("domain"),
            "USUBJID",
            pl.col("_KEY").alias("key"),
            pl.lit("VANISHED").alias("kind"),
            pl.lit("").alias("column"),
            pl.lit("").alias("previous"),
            pl.lit("").alias("current"),
        )
    )
    both = p.join(c, on=["USUBJID", "_KEY"], how="inner", suffix="__cur")
    for col in cols:
        diff = both.filter(pl.col(col).fill_null("") != pl.col(f"{col}__cur").fill_null(""))
        # FILLED: a value missing in the previous cut is there now (follow-up data); CHANGED: a reported
        # value was altered or erased (data cleaning)
        kind = (
            pl.when(pl.col(col).fill_null("") == "")
            .then(pl.lit("FILLED"))
            .otherwise(pl.lit("CHANGED"))
        )
        out.append(
            diff.select(
                pl.lit(domain).alias("domain"),
                "USUBJID",
                pl.col("_KEY").alias("key"),
                kind.alias("kind"),
                pl.lit(col).alias("column"),
                pl.col(col).fill_null("").alias("previous"),
                pl.col(f"{col}__cur").fill_null("").alias("current"),
            )
        )
    # late: a record of a subject already reported, dated on or before the previous cut, not in it
    added = c.join(p, on=["USUBJID", "_KEY"], how="anti").filter(pl.col("USUBJID").is_in(known))
    if spec.main_date and spec.main_date in added.columns:
        late = added.filter(
            pl.col(spec.main_date).cast(pl.Utf8).str.slice(0, 10) <= previous_cut.isoformat()
        )
        out.append(
            late.select(
                pl.lit(domain).alias("domain"),
                "USUBJID",
                pl.col("_KEY").alias("key"),
                pl.lit("ADDED_LATE").alias("kind"),
                pl.lit("").alias("column"),
                pl.lit("").alias("previous"),
                pl.lit("").alias("current"),
            )
        )
    return pl.concat([o.cast(CHANGE_SCHEMA) for o in out], how="vertical")


def compare_sdtm(
    prev: dict[str, pl.DataFrame], cur: dict[str, pl.DataFrame], previous_cut: dt.date
) -> pl.DataFrame:
    subj = next((d for d in SUBJECTS if d in prev), None)
    known = sorted(set(prev[subj]["USUBJID"].to_list())) if subj else None
    parts = [
        compare_domain(prev[d], cur[d], d, previous_cut, known)
        for d in SPECS
        if d in prev and d in cur
    ]
    df = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=CHANGE_SCHEMA)
    return df.sort("domain", "USUBJID", "key", "kind", "column")


def _adam_key_events(adam: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Deaths (ADSL DTHDT), liver transplants (ADSL LTXDT) and SAEs (ADAE AESER) of a cut of ADaM
    datasets, as (event, USUBJID, term, date)."""
    adsl, out = adam["ADSL"], []
    for event, col in (("DEATH", "DTHDT"), ("LIVER TRANSPLANT", "LTXDT")):
        if col in adsl.columns:
            out.append(
                adsl.filter(pl.col(col).is_not_null()).select(
                    pl.lit(event).alias("event"),
                    "USUBJID",
                    pl.lit(event).alias("term"),
                    pl.col(col).cast(pl.Utf8).alias("date"),
                )
            )
    ae = adam.get("ADAE")
    if ae is not None and "AESER" in ae.columns:
        date = pl.col("AESTDTC") if "AESTDTC" in ae.columns else pl.col("ASTDT").cast(pl.Utf8)
        out.append(
            ae.filter(pl.col("AESER").fill_null("") == "Y").select(
                pl.lit("SAE").alias("event"),
                "USUBJID",
                pl.col("AEDECOD").alias("term"),
                date.alias("date"),
            )
        )
    if not out:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    return (
        pl.concat([o.cast(EVENT_SCHEMA) for o in out])
        .unique()
        .sort("event", "USUBJID", "date", "term")
    )


def key_events(sdtm: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Deaths, liver transplants and SAEs as (event, USUBJID, term, date)."""
    if "ADSL" in sdtm:  # a cut of ADaM datasets
        return _adam_key_events(sdtm)
    out = []
    dm, ds = sdtm["DM"], sdtm["DS"]
    d1 = (
        dm.filter(pl.col("DTHFL").fill_null("") == "Y").select(
            "USUBJID", pl.col("DTHDTC").fill_null("").alias("date")
        )
        if "DTHFL" in dm.columns
        else None
    )
    d2 = ds.filter(pl.col("DSDECOD").str.to_uppercase() == "DEATH").select(
        "USUBJID", pl.col("DSSTDTC").alias("date")
    )
    deaths = (
        pl.concat([x for x in (d1, d2) if x is not None])
        .group_by("USUBJID")
        .agg(pl.col("date").max())
    )
    out.append(
        deaths.select(
            pl.lit("DEATH").alias("event"), "USUBJID", pl.lit("DEATH").alias("term"), "date"
        )
    )
    pr = sdtm.get("PR")
    if pr is not None and pr.height:
        tx = pr.filter(pl.col("PRDECOD").str.to_uppercase() == "LIVER TRANSPLANT")
        out.append(
            tx.select(
                pl.lit("LIVER TRANSPLANT").alias("event"),
                "USUBJID",
                pl.col("PRDECOD").alias("term"),
                pl.col("PRSTDTC").alias("date"),
            )
        )
    ae = sdtm["AE"]
    if "AESER" in ae.columns:
        sae = ae.filter(pl.col("AESER").fill_null("") == "Y")
        out.append(
            sae.select(
                pl.lit("SAE").alias("event"),
                "USUBJID",
                pl.col("AEDECOD").alias("term"),
                pl.col("AESTDTC").alias("date"),
            )
        )
    return (
        pl.concat([o.cast(EVENT_SCHEMA) for o in out])
        .unique()
        .sort("event", "USUBJID", "date", "term")
    )


def new_events(prev: dict[str, pl.DataFrame], cur: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Events now that were not in the previous cut (deaths by subject; others by subject, term, date)."""
    a, b = key_events(cur), key_events(prev)
    deaths = a.filter(pl.col("event") == "DEATH").join(
        b.filter(pl.col("event") == "DEATH"), on="USUBJID", how="anti"
    )
    other = a.filter(pl.col("event") != "DEATH").join(
        b, on=["event", "USUBJID", "term", "date"], how="anti"
    )
    return pl.concat([deaths, other]).sort("event", "USUBJID", "date", "term")


def new_subjects(prev: dict[str, pl.DataFrame], cur: dict[str, pl.DataFrame]) -> pl.DataFrame:
    subj = "ADSL" if "ADSL" in cur else "DM"
    dm = cur[subj].join(prev[subj].select("USUBJID"), on="USUBJID", how="anti")
    return dm.select(
        "USUBJID",
        *[
            (pl.col(c) if c in dm.columns else pl.lit(None)).cast(pl.Utf8).alias(c)
            for c in ("SITEID", "RFICDTC")
        ],
    ).sort("USUBJID")


def estimate_movement(prev_ard: pl.DataFrame, cur_ard: pl.DataFrame) -> pl.DataFrame:
    """Key estimates of both cuts side by side (full outer join on the ARD keys)."""

    def pick(ard):
        conds = [
            (pl.col("analysis") == a) & pl.col("stat").is_in(list(s))
            for a, s in KEY_ESTIMATES.items()
        ]
        expr = conds[0]
        for c in conds[1:]:
            expr = expr | c
        return ard.filter(expr).select(*KEYS, "value")

    p = pick(prev_ard).rename({"value": "previous"})
    c = pick(cur_ard).rename({"value": "current"})
    j = p.join(c, on=KEYS, how="full", coalesce=True, nulls_equal=True)
    return j.with_columns((pl.col("current") - pl.col("previous")).alias("change")).sort(
        KEYS, nulls_last=False
    )


def summarise_open(
    new_subj: pl.DataFrame,
    events: pl.DataFrame,
    changes: pl.DataFrame,
    arm_columns: tuple[str, ...],
) -> pl.DataFrame:
    """Pooled counts for the open report: no subject list by arm, no values, no treatment fields."""
    rows = [
        {
            "section": "NEW",
            "item": "new subjects",
            "domain": "DM",
            "column": "",
            "n": new_subj.height,
        }
    ]
    for ev in ("DEATH", "LIVER TRANSPLANT", "SAE"):
        rows.append(
            {
                "section": "NEW",
                "item": f"new {ev.lower()}s" if ev != "SAE" else "new SAEs",
                "domain": "",
                "column": "",
                "n": events.filter(pl.col("event") == ev).height,
            }
        )
    from hepatrial.report.blinding import is_arm_column

    ch = changes.filter(~pl.col("column").map_elements(is_arm_column, return_dtype=pl.Boolean))
    # EX records say which treatment a subject had (EXTRT, EXDOSE): only their number is shown.
    g = (
        ch.group_by("kind", "domain", "column")
        .agg(pl.col("key").len().alias("n"))
        .sort("kind", "domain", "column")
    )
    for r in g.iter_rows(named=True):
        rows.append(
            {
                "section": "CLEANING",
                "item": r["kind"],
                "domain": r["domain"],
                "column": r["column"],
                "n": r["n"],
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "section": pl.Utf8,
            "item": pl.Utf8,
            "domain": pl.Utf8,
            "column": pl.Utf8,
            "n": pl.Int64,
        },
    )

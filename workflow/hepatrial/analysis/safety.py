"""Safety and disposition summaries (ARD ``AE_OVERVIEW``, ``AE_INCIDENCE``, ``AE_GRADE``,
``SAE_INCIDENCE``, ``AESI``, ``DISPOSITION``).

Denominators are the subjects of the population in the arm (safety: SAFFL by actual arm).
A subject counts once per category however many events; ``n_events`` counts events.

- ``AE_INCIDENCE``: TEAEs, ``paramcd`` ``<SOC>`` and ``<SOC>|<PT>`` (an uncoded SOC or PT reads
  ``Uncoded``); ``n_subjects``, ``pct``, ``n_events``.
- ``AE_GRADE``: treatment-emergent AEs by worst CTCAE grade per subject. ``paramcd`` ``ANY`` (any
  TEAE), ``<SOC>`` and ``<SOC>|<PT>``; stats ``n_grade<g>`` and ``pct_grade<g>`` (g = 1..5, the
  subject's worst grade in the category), ``n_grade_missing`` (no grade recorded), ``n_any`` and
  ``pct_any`` (subjects with any TEAE in the category).
- ``SAE_INCIDENCE``: serious TEAEs, ``paramcd`` ``ANY``, ``<SOC>`` and ``<SOC>|<PT>``; ``n_subjects``,
  ``pct``, ``n_events``.
- ``AESI``: AEs of special interest from the study config (``safety.aesi``: preferred terms, words
  in the preferred term, or system organ classes), ``paramcd`` = the AESI id; ``n_subjects``,
  ``pct``, ``n_events`` and the time to onset over its events, in days from the most recent
  infusion on or before the onset (0 = the day of an infusion): ``onset_median``, ``onset_min``,
  ``onset_max``.
"""

from __future__ import annotations

import polars as pl

from hepatrial.analysis.common import POOLED, select_population, with_pooled
from hepatrial.ard import ard_rows
from hepatrial.spec import Study

OVERVIEW = {
    "ANYTEAE": ("any TEAE", pl.lit(True)),
    "RELTEAE": ("related TEAE", pl.col("AREL") == "Y"),
    "SERTEAE": ("serious TEAE", pl.col("AESER") == "Y"),
    "GR3TEAE": ("TEAE of grade 3 or higher", pl.col("ATOXGR") >= 3),
    "WDTEAE": ("TEAE leading to withdrawal", pl.col("AEWDFL") == "Y"),
    "FATALTEAE": ("TEAE with fatal outcome", pl.col("FATALFL") == "Y"),
}
# The column an overview flag is derived from: absent from the data, or without a value on any of
# its adverse events (an expected column the checks added as all missing), the row is "not
# collected", never 0
OVERVIEW_SOURCE = {"WDTEAE": "AEACN", "SERTEAE": "AESER", "RELTEAE": "AREL", "GR3TEAE": "ATOXGR"}
NOT_COLLECTED = "not collected"


def not_collected(adae: pl.DataFrame, column: str) -> bool:
    """Whether ``column`` of the AE data records nothing: absent, or no AE has a value (no AE at
    all is not "not collected": the counts are then 0)."""
    if column not in adae.columns:
        return True
    return adae.height > 0 and adae[column].null_count() == adae.height


def _denominators(adsl: pl.DataFrame, study: Study, population: str) -> dict[str, int]:
    pop = with_pooled(select_population(adsl, study, population))
    return dict(pop.group_by("ARM").len().iter_rows())


def _counts(ae: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    return ae.group_by(["ARM", *by]).agg(
        pl.col("USUBJID").n_unique().alias("n_subjects"), pl.len().alias("n_events")
    )


def ae_summaries(
    adae: pl.DataFrame, adsl: pl.DataFrame, study: Study, population: str = "SAFETY"
) -> pl.DataFrame:
    denom = _denominators(adsl, study, population)
    pop_ids = select_population(adsl, study, population).select("USUBJID", "ARM")
    ae = (
        adae.filter(pl.col("TRTEMFL") == "Y")
        .drop("ARM", strict=False)
        .join(pop_ids, on="USUBJID", how="inner")
    )
    ae = with_pooled(ae)
    rows = []

    def emit(analysis, paramcd, arm, n_subj, n_ev, method):
        d = denom.get(arm, 0)
        for stat, value in (
            ("n_subjects", n_subj),
            ("pct", 100.0 * n_subj / d if d else None),
            ("n_events", n_ev),
        ):
            rows.append(
                {
                    "analysis": analysis,
                    "paramcd": paramcd,
                    "population": population,
                    "arm": arm,
                    "stat": stat,
                    "value": value,
                    "method": method,
                }
            )

    arms = sorted(denom)
    for code, (label, cond) in OVERVIEW.items():
        source = OVERVIEW_SOURCE.get(code)
        if source and not_collected(adae, source):  # no row says 0
            for arm in arms:
                for stat in ("n_subjects", "pct", "n_events"):
                    rows.append(
                        {
                            "analysis": "AE_OVERVIEW",
                            "paramcd": code,
                            "population": population,
                            "arm": arm,
                            "stat": stat,
                            "value": None,
                            "method": f"{NOT_COLLECTED} (no {source} in the data)",
                        }
                    )
            continue
        c = dict((r[0], r[1:]) for r in _counts(ae.filter(cond.fill_null(False)), []).iter_rows())
        note = _relatedness_note(ae) if code == "RELTEAE" else ""
        for arm in arms:
            n_subj, n_ev = c.get(arm, (0, 0))
            emit(
                "AE_OVERVIEW",
                code,
                arm,
                n_subj,
                n_ev,
                f"subjects with {label}; % of {population} in arm{note}",
            )
    # SOC rows (paramcd the SOC) and PT rows keyed by SOC and PT (paramcd "SOC|PT", as AE_GRADE and
    # SAE_INCIDENCE): a PT coded under two SOCs gives two rows, never one key twice.
    cats = _categories(ae).filter(pl.col("_CAT") != "ANY")
    for arm, cat, n_subj, n_ev in _counts(cats, ["_CAT"]).sort(["_CAT", "ARM"]).iter_rows():
        emit(
            "AE_INCIDENCE",
            cat,
            arm,
            n_subj,
            n_ev,
            SOC_METHOD if split_soc_pt(cat)[1] is None else PT_METHOD,
        )
    rows += _grade_rows(ae, denom, population, arms)
    if not not_collected(adae, "AESER"):  # seriousness not recorded: no SAE table of zeros
        rows += _sae_rows(ae, denom, population, arms)
    return ard_rows(rows)


def _relatedness_note(ae: pl.DataFrame) -> str:
    """The related-TEAE row's note on the TEAEs counted as related for want of a relatedness
    (AEREL empty, AREL Y: ADAE's conservative reading); "" when there are none. Counted over all
    arms (the pooled rows aside), so that the note is the same on every arm's row."""
    if "AEREL" not in ae.columns:
        return ""
    blank = (pl.col("AEREL").fill_null("").str.strip_chars() == "") & (pl.col("AREL") == "Y")
    n = ae.filter(blank & (pl.col("ARM") != POOLED)).height
    return f" ({n} TEAE(s) with no relatedness recorded counted as related)" if n else ""


GRADES = (1, 2, 3, 4, 5)
SOC_METHOD = "TEAE by system organ class"
PT_METHOD = "TEAE by system organ class and preferred term (paramcd SOC|PT)"


def soc_key(soc: pl.Expr) -> pl.Expr:
    """The SOC as the first part of a safety ARD key: ``\\`` and ``|`` escaped with a backslash, and
    a SOC named ``ANY`` written ``\\ANY`` (``ANY`` is the any-event row), so that a SOC holding "|"
    is one SOC and never a SOC|PT key (:func:`split_soc_pt` reads it back)."""
    escaped = soc.str.replace_all("\\", "\\\\", literal=True).str.replace_all(
        "|", "\\|", literal=True
    )
    return pl.when(soc == "ANY").then(pl.lit("\\ANY")).otherwise(escaped)


def split_soc_pt(code: str) -> tuple[str, str | None]:
    """(SOC, PT) of a safety ARD key ``SOC`` or ``SOC|PT`` (:func:`soc_key`); PT None for a SOC row.
    The PT is everything after the first unescaped "|" (a PT may hold "|")."""
    soc, i = [], 0
    while i < len(code):
        ch = code[i]
        if ch == "\\" and i + 1 < len(code):
            soc.append(code[i + 1])
            i += 2
        elif ch == "|":
            return "".join(soc), code[i + 1 :]
        else:
            soc.append(ch)
            i += 1
    return "".join(soc), None


def _categories(ae: pl.DataFrame) -> pl.DataFrame:
    """Each AE once under ANY, once under its SOC and once under SOC|PT (``_CAT``; the SOC part
    escaped by :func:`soc_key`)."""
    soc = soc_key(pl.col("AEBODSYS").fill_null("Uncoded"))
    pt = pl.col("AEDECOD").fill_null("Uncoded")
    return pl.concat(
        [
            ae.with_columns(pl.lit("ANY").alias("_CAT")),
            ae.with_columns(soc.alias("_CAT")),
            ae.with_columns(pl.concat_str([soc, pt], separator="|").alias("_CAT")),
        ],
        how="vertical",
    )


def _grade_rows(ae: pl.DataFrame, denom: dict, population: str, arms: list[str]) -> list[dict]:
    worst = (
        _categories(ae)
        .with_columns(pl.col("ATOXGR").cast(pl.Int64, strict=False).alias("_G"))
        .group_by("ARM", "_CAT", "USUBJID")
        .agg(pl.col("_G").max())
    )
    counts = worst.group_by("ARM", "_CAT", "_G").len()
    idx = {(a, c, g): n for a, c, g, n in counts.iter_rows()}
    rows = []
    method = f"subjects by worst CTCAE grade of a TEAE in the category; % of {population} in arm"
    for cat in sorted(worst["_CAT"].unique().to_list(), key=lambda c: (c != "ANY", c)):
        for arm in arms:
            d = denom.get(arm, 0)
            for g in GRADES:
                n = idx.get((arm, cat, g), 0)
                rows.append(
                    {
                        "analysis": "AE_GRADE",
                        "paramcd": cat,
                        "population": population,
                        "arm": arm,
                        "stat": f"n_grade{g}",
                        "value": n,
                        "method": method,
                    }
                )
                rows.append(
                    {
                        "analysis": "AE_GRADE",
                        "paramcd": cat,
                        "population": population,
                        "arm": arm,
                        "stat": f"pct_grade{g}",
                        "value": 100.0 * n / d if d else None,
                        "method": method,
                    }
                )
            rows.append(
                {
                    "analysis": "AE_GRADE",
                    "paramcd": cat,
                    "population": population,
                    "arm": arm,
                    "stat": "n_grade_missing",
                    "value": idx.get((arm, cat, None), 0),
                    "method": method,
                }
            )
            n_any = sum(v for (a, c, _), v in idx.items() if a == arm and c == cat)
            rows.append(
                {
                    "analysis": "AE_GRADE",
                    "paramcd": cat,
                    "population": population,
                    "arm": arm,
                    "stat": "n_any",
                    "value": n_any,
                    "method": method,
                }
            )
            rows.append(
                {
                    "analysis": "AE_GRADE",
                    "paramcd": cat,
                    "population": population,
                    "arm": arm,
                    "stat": "pct_any",
                    "value": 100.0 * n_any / d if d else None,
                    "method": method,
                }
            )
    return rows


def _sae_rows(ae: pl.DataFrame, denom: dict, population: str, arms: list[str]) -> list[dict]:
    sae = _categories(ae.filter(pl.col("AESER") == "Y"))
    c = {(a, k): (ns, ne) for a, k, ns, ne in _counts(sae, ["_CAT"]).iter_rows()}
    cats = ["ANY"] + sorted(x for x in sae["_CAT"].unique().to_list() if x != "ANY")
    rows = []
    for cat in cats:
        for arm in arms:
            d = denom.get(arm, 0)
            ns, ne = c.get((arm, cat), (0, 0))
            for stat, value in (
                ("n_subjects", ns),
                ("pct", 100.0 * ns / d if d else None),
                ("n_events", ne),
            ):
                rows.append(
                    {
                        "analysis": "SAE_INCIDENCE",
                        "paramcd": cat,
                        "population": population,
                        "arm": arm,
                        "stat": stat,
                        "value": value,
                        "method": f"subjects with a serious TEAE; % of {population} in arm",
                    }
                )
    return rows


DEFAULT_AESI = [
    {
        "id": "INFUSION",
        "label": "Infusion-related reactions (onset on the day of an infusion or the next)",
        "pt": [
            "Infusion related reaction",
            "Pyrexia",
            "Chills",
            "Rash",
            "Urticaria",
            "Hypersensitivity",
            "Anaphylactic reaction",
        ],
        "max_onset_days": 1,
    },
    {"id": "INFECTION", "label": "Infections", "soc": ["Infections and infestations"]},
    {
        "id": "MALIGNANCY",
        "label": "New malignancy (incl. hepatocellular carcinoma)",
        "soc": ["Neoplasms benign, malignant and unspecified (incl cysts and polyps)"],
        "pt_contains": ["carcinoma", "malignan", "neoplasm", "lymphoma", "leukaemia", "sarcoma"],
    },
    {
        "id": "THROMBOSIS",
        "label": "Thrombosis and embolism",
        "pt_contains": ["thrombosis", "embolism", "thrombotic"],
    },
]


def aesi_definitions(study: Study) -> list:
    return list(study.safety.aesi or DEFAULT_AESI)


def _aesi_condition(d: dict, by_soc: bool = True) -> pl.Expr:
    """The AESI ``d`` holds the AE (``by_soc`` false: by its preferred terms alone)."""
    pt = pl.col("AEDECOD").fill_null("").str.to_lowercase()
    soc = pl.col("AEBODSYS").fill_null("").str.to_lowercase()
    cond = pl.lit(False)
    if d.get("pt"):
        cond = cond | pt.is_in([x.lower() for x in d["pt"]])
    if d.get("soc") and by_soc:
        cond = cond | soc.is_in([x.lower() for x in d["soc"]])
    for w in d.get("pt_contains", []):
        cond = cond | pt.str.contains(w.lower(), literal=True)
    if d.get("max_onset_days") is not None:
        cond = cond & (pl.col("_ONSET") <= d["max_onset_days"])
    return cond


NO_EX = "not available: no EX (exposure) records in the cut"
# A cut of ADaM datasets without ADAE: its adverse events are unknown, not absent (never counted 0)
NO_AE = "not available: no ADAE (adverse events) dataset in the cut"
NO_AE_TEXT = "Not available: the cut has no ADAE (adverse events) dataset."


def ae_not_available(adsl: pl.DataFrame, study: Study, population: str = "SAFETY") -> pl.DataFrame:
    """The safety ARD part of a cut whose adverse events are not known (a cut of ADaM datasets
    without ADAE): the overview's rows and each AESI's, every value missing and the method
    :data:`NO_AE`, so that the tables and reports say "not available" where they would count 0;
    no SOC/PT, grade or SAE rows (their categories are unknown)."""
    arms = sorted(_denominators(adsl, study, population))
    codes = [("AE_OVERVIEW", code, NO_AE) for code in OVERVIEW]
    codes += [("AESI", d["id"], f"AESI {d['label']}; {NO_AE}") for d in aesi_definitions(study)]
    return ard_rows(
        [
            {
                "analysis": analysis,
                "paramcd": code,
                "population": population,
                "arm": arm,
                "stat": stat,
                "value": None,
                "method": method,
            }
            for analysis, code, method in codes
            for arm in arms
            for stat in ("n_subjects", "pct", "n_events")
        ]
    )


def onset_from_infusion(ae: pl.DataFrame, ex: pl.DataFrame) -> pl.DataFrame:
    """``_ONSET``: days from the most recent infusion on or before the AE's start (0 = that day);
    null when the start is unknown or before the first infusion."""
    from hepatrial.dates import dtc_date

    inf = (
        ex.select("USUBJID", dtc_date("EXSTDTC").alias("_INFDT"))
        .drop_nulls()
        .unique()
        .sort("USUBJID", "_INFDT")
    )
    a = ae.with_row_index("_ROW")
    start = a.select("_ROW", "USUBJID", "ASTDT").drop_nulls().sort("ASTDT")
    last = start.join_asof(
        inf.sort("_INFDT"),
        left_on="ASTDT",
        right_on="_INFDT",
        by="USUBJID",
        strategy="backward",
        check_sortedness=False,
    )  # both sorted by date above
    last = last.select(
        "_ROW", ((pl.col("ASTDT") - pl.col("_INFDT")).dt.total_days()).alias("_ONSET")
    )
    return a.join(last, on="_ROW", how="left").drop("_ROW")


def aesi_summaries(
    adae: pl.DataFrame,
    adsl: pl.DataFrame,
    ex: pl.DataFrame,
    study: Study,
    population: str = "SAFETY",
) -> pl.DataFrame:
    denom = _denominators(adsl, study, population)
    pop_ids = select_population(adsl, study, population).select("USUBJID", "ARM")
    ae = (
        adae.filter(pl.col("TRTEMFL") == "Y")
        .drop("ARM", strict=False)
        .join(pop_ids, on="USUBJID", how="inner")
    )
    ae = with_pooled(onset_from_infusion(ae, ex))
    rows = []
    uncoded = pl.col("AEBODSYS").fill_null("").str.strip_chars() == ""
    for d in aesi_definitions(study):
        hit = ae.filter(_aesi_condition(d).fill_null(False))
        method = f"AESI {d['label']}; subjects, % of {population} in arm; onset: days from the most recent infusion"
        if not ex.height:  # no EX (a cut of ADaM datasets): no infusion dates to count onset from
            method = f"{method}; {NO_EX}"
        if d.get("soc"):  # an AE not coded to a SOC may belong to it: counted, never in silence
            unsure = ae.filter(
                (pl.col("ARM") != POOLED) & uncoded & ~_aesi_condition(d, False).fill_null(False)
            ).height
            if unsure:
                method = (
                    f"{method}; {unsure} TEAE(s) not coded to a system organ class (AEBODSYS) "
                    "could not be assessed"
                )
        for arm in sorted(denom):
            h = hit.filter(pl.col("ARM") == arm)
            ns, ne = h["USUBJID"].n_unique(), h.height
            on = h["_ONSET"].drop_nulls()
            vals = {
                "n_subjects": ns,
                "pct": 100.0 * ns / denom[arm] if denom[arm] else None,
                "n_events": ne,
            }
            if not ex.height and d.get("max_onset_days") is not None:  # defined by the onset
                vals = dict.fromkeys(vals)
            vals |= {
                "onset_median": float(on.median()) if on.len() else None,
                "onset_min": float(on.min()) if on.len() else None,
                "onset_max": float(on.max()) if on.len() else None,
            }
            for stat, value in vals.items():
                rows.append(
                    {
                        "analysis": "AESI",
                        "paramcd": d["id"],
                        "population": population,
                        "arm": arm,
                        "stat": stat,
                        "value": value,
                        "method": method,
                    }
                )
    return ard_rows(rows)


def disposition(adsl: pl.DataFrame, study: Study, population: str = "ITT") -> pl.DataFrame:
    """Counts and % of the population: TREATED, ONGOING, COMPLETED, DISCONTINUED and each reason
    (paramcd "DISCONTINUED: <reason>")."""
    pop = with_pooled(select_population(adsl, study, population))
    denom = dict(pop.group_by("ARM").len().iter_rows())
    cats = {
        population: pl.lit(True),
        "TREATED": pl.col("SAFFL") == "Y",
        "ONGOING": pl.col("EOSSTT") == "ONGOING",
        "COMPLETED": pl.col("EOSSTT") == "COMPLETED",
        "DISCONTINUED": pl.col("EOSSTT") == "DISCONTINUED",
    }
    reasons = sorted(r for r in pop["DCSREAS"].drop_nulls().unique().to_list())
    for r in reasons:
        cats[f"DISCONTINUED: {r}"] = pl.col("DCSREAS") == r
    rows = []
    for name, cond in cats.items():
        n = dict(pop.filter(cond.fill_null(False)).group_by("ARM").len().iter_rows())
        for arm in sorted(denom):
            k = n.get(arm, 0)
            rows.append(
                {
                    "analysis": "DISPOSITION",
                    "paramcd": name,
                    "population": population,
                    "arm": arm,
                    "stat": "n",
                    "value": k,
                    "method": "subjects",
                }
            )
            rows.append(
                {
                    "analysis": "DISPOSITION",
                    "paramcd": name,
                    "population": population,
                    "arm": arm,
                    "stat": "pct",
                    "value": 100.0 * k / denom[arm],
                    "method": f"% of {population} in arm",
                }
            )
    return ard_rows(rows)

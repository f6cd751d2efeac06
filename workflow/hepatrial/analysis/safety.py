"""Safety and disposition summaries (ARD ``AE_OVERVIEW``, ``AE_INCIDENCE``, ``DISPOSITION``).

Denominators are the subjects of the population in the arm (safety: SAFFL by actual arm).
A subject counts once per category however many events; ``n_events`` counts events.
"""

from __future__ import annotations

import polars as pl

from hepatrial.analysis.common import select_population, with_pooled
from hepatrial.ard import ard_rows

OVERVIEW = {
    "ANYTEAE": ("any TEAE", pl.lit(True)),
    "RELTEAE": ("related TEAE", pl.col("AREL") == "Y"),
    "SERTEAE": ("serious TEAE", pl.col("AESER") == "Y"),
    "GR3TEAE": ("TEAE of grade 3 or higher", pl.col("ATOXGR") >= 3),
    "WDTEAE": ("TEAE leading to withdrawal", pl.col("AEWDFL") == "Y"),
    "FATALTEAE": ("TEAE with fatal outcome", pl.col("FATALFL") == "Y"),
}


def _denominators(adsl: pl.DataFrame, study: dict, population: str) -> dict[str, int]:
    pop = with_pooled(select_population(adsl, study, population))
    return dict(pop.group_by("ARM").len().iter_rows())


def _counts(ae: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    return ae.group_by(["ARM", *by]).agg(pl.col("USUBJID").n_unique().alias("n_subjects"),
                                         pl.len().alias("n_events"))


def ae_summaries(adae: pl.DataFrame, adsl: pl.DataFrame, study: dict, population: str = "SAFETY") -> pl.DataFrame:
    denom = _denominators(adsl, study, population)
    pop_ids = select_population(adsl, study, population).select("USUBJID", "ARM")
    ae = (adae.filter(pl.col("TRTEMFL") == "Y").drop("ARM", strict=False)
          .join(pop_ids, on="USUBJID", how="inner"))
    ae = with_pooled(ae)
    rows = []

    def emit(analysis, paramcd, arm, n_subj, n_ev, method):
        d = denom.get(arm, 0)
        for stat, value in (("n_subjects", n_subj), ("pct", 100.0 * n_subj / d if d else None),
                            ("n_events", n_ev)):
            rows.append({"analysis": analysis, "paramcd": paramcd, "population": population, "arm": arm,
                         "stat": stat, "value": value, "method": method})

    arms = sorted(denom)
    for code, (label, cond) in OVERVIEW.items():
        c = dict((r[0], r[1:]) for r in _counts(ae.filter(cond.fill_null(False)), []).iter_rows())
        for arm in arms:
            n_subj, n_ev = c.get(arm, (0, 0))
            emit("AE_OVERVIEW", code, arm, n_subj, n_ev, f"subjects with {label}; % of {population} in arm")
    soc = _counts(ae.filter(pl.col("AEBODSYS").is_not_null()), ["AEBODSYS"])
    for arm, name, n_subj, n_ev in soc.sort(["AEBODSYS", "ARM"]).iter_rows():
        emit("AE_INCIDENCE", name, arm, n_subj, n_ev, "TEAE by system organ class")
    pt = _counts(ae.filter(pl.col("AEDECOD").is_not_null()), ["AEBODSYS", "AEDECOD"])
    for arm, socname, name, n_subj, n_ev in pt.sort(["AEBODSYS", "AEDECOD", "ARM"]).iter_rows():
        emit("AE_INCIDENCE", name, arm, n_subj, n_ev, f"TEAE by preferred term; SOC: {socname or ''}")
    return ard_rows(rows)


def disposition(adsl: pl.DataFrame, study: dict, population: str = "ITT") -> pl.DataFrame:
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
            rows.append({"analysis": "DISPOSITION", "paramcd": name, "population": population, "arm": arm,
                         "stat": "n", "value": k, "method": "subjects"})
            rows.append({"analysis": "DISPOSITION", "paramcd": name, "population": population, "arm": arm,
                         "stat": "pct", "value": 100.0 * k / denom[arm], "method": f"% of {population} in arm"})
    return ard_rows(rows)

"""The content of the open and closed DSMB reports, built from their (gated) inputs only.

A section whose ARD rows are absent says "not available in this cut"; nothing is computed here
but rounding and layout (the numbers are in the ARD).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from hepatrial.report import figures
from hepatrial.report.document import Document, Figure, Para, Section, Table

NA = "Not available in this cut."
TOTAL = "ALL"
NE = "NE"


def shown(arm: str) -> str:
    """An arm as a table shows it: the pooled column is "Total"."""
    return "Total" if arm == TOTAL else arm


# --- formatting (half away from zero, as SAS ROUND) ---------------------------------------------------

def fmt(x, d: int = 1) -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return NE
    q = Decimal(1).scaleb(-d) if d > 0 else Decimal(1)
    v = Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP)
    return f"{abs(v) if v == 0 else v:.{d}f}"


def fmt_n(x) -> str:
    return NE if x is None or (isinstance(x, float) and math.isnan(x)) else str(int(round(x)))


def n_pct(n, pct) -> str:
    if n is None:
        return ""
    if not n or pct is None:
        return fmt_n(n)
    return f"{fmt_n(n)} ({fmt(pct, 1)})"


def fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return NE
    return "<0.001" if p < 0.001 else ">0.999" if p > 0.999 else fmt(p, 3)


class View:
    """The ARD as a report sees it: arm columns in display order (``ALL`` last, shown "Total")."""

    def __init__(self, ard: pl.DataFrame, arms: list[str], colours: dict[str, str] | None = None,
                 visits: list[str] | None = None):
        if "arm" not in ard.columns:
            ard = ard.with_columns(pl.lit(TOTAL).alias("arm"), pl.lit("").alias("comparator"))
        self.ard = ard
        self.arms = arms
        self.colours = colours or {}
        self.visit_rank = {v: i for i, v in enumerate(visits or [])}
        self._idx = {}
        for r in ard.iter_rows(named=True):
            self._idx[(r["analysis"], r["paramcd"], r["arm"], r["comparator"], r["avisit"],
                       r["time"], r["stat"])] = r["value"]

    def header(self, first: str) -> list[str]:
        return [first] + ["Total" if a == TOTAL else a for a in self.arms]

    def has(self, analysis: str) -> bool:
        return self.ard.filter(pl.col("analysis") == analysis).height > 0

    def rows(self, analysis: str) -> pl.DataFrame:
        return self.ard.filter(pl.col("analysis") == analysis)

    def get(self, analysis, paramcd, arm, stat, comparator="", avisit="", time=None):
        return self._idx.get((analysis, paramcd, arm, comparator, avisit, time, stat))

    def visits(self, rows: pl.DataFrame) -> list[str]:
        """The visits of ``rows`` in the study's schedule order (unknown labels last, by name)."""
        found = list(dict.fromkeys(rows["avisit"].to_list()))
        return sorted(found, key=lambda v: (self.visit_rank.get(v, len(self.visit_rank)), v))

    def paramcds(self, analysis: str) -> list[str]:
        return list(dict.fromkeys(self.rows(analysis)["paramcd"].to_list()))

    def n_pct_table(self, analysis: str, title: str, first: str, paramcds: list[str] | None = None,
                    n_stat: str = "n", pct_stat: str = "pct", note: str = "") -> Table:
        rows = []
        for p in paramcds or self.paramcds(analysis):
            rows.append([p] + [n_pct(self.get(analysis, p, a, n_stat), self.get(analysis, p, a, pct_stat))
                               for a in self.arms])
        return Table(title, self.header(first), rows, note)

    def population_n(self, analysis: str, paramcd: str) -> str:
        return ", ".join(f"{'Total' if a == TOTAL else a}: N={fmt_n(self.get(analysis, paramcd, a, 'n'))}"
                         for a in self.arms if self.get(analysis, paramcd, a, "n") is not None)


# --- sections shared by both reports ------------------------------------------------------------------

def section_enrolment(v: View, meta: dict, by_arm: bool) -> Section:
    s = Section("Enrolment against plan")
    if not v.has("ENROLMENT"):
        return s.add(Para(NA))
    scr, fail = v.get("ENROLMENT", "SCREENED", TOTAL, "n"), v.get("ENROLMENT", "SCREEN FAILURE", TOTAL, "n")
    rows = v.rows("ENROLMENT").filter((pl.col("paramcd") == "ALL SITES") & (pl.col("stat") == "n_cum"))
    months = sorted(rows["avisit"].unique().to_list())
    total = v.get("ENROLMENT", "ALL SITES", TOTAL, "n_cum", avisit=months[-1]) if months else 0
    planned = meta.get("planned_subjects")
    s.add(Para(f"Screened: {fmt_n(scr)}; screen failures: {fmt_n(fail)}; randomised: {fmt_n(total)} of "
               f"{planned} planned ({fmt(100.0 * (total or 0) / planned, 1)}%); planned enrolment period "
               f"{meta.get('enrolment_months')} months over {meta.get('sites')} sites."))
    series = {"Total": [(m, v.get("ENROLMENT", "ALL SITES", TOTAL, "n_cum", avisit=m)) for m in months]}
    colours = {"Total": figures.POOLED_COLOUR}
    if by_arm:
        for a in v.arms:
            if a != TOTAL:
                series[a] = [(m, v.get("ENROLMENT", "ALL SITES", a, "n_cum", avisit=m) or 0) for m in months]
                colours[a] = v.colours.get(a, "#000000")
    s.add(Figure("Cumulative randomisation against plan", figures.enrolment_figure(
        series, colours, planned, meta.get("enrolment_months"), "Randomised subjects, cumulative"),
        "Dashed: planned linear accrual from the first month with a randomisation."))
    sites = [p for p in v.paramcds("ENROLMENT") if p.startswith("SITE ")]
    site_series = {p: [(m, v.get("ENROLMENT", p, TOTAL, "n_cum", avisit=m)) for m in months] for p in sites}
    s.add(Figure("Cumulative randomisation by site", figures.enrolment_figure(
        site_series, dict(zip(sites, figures.SITE_COLOURS * 8)), None, None, "Randomised subjects by site")))
    last = months[-3:] if months else []
    rows_t = []
    for p in sites + ["ALL SITES"]:
        rows_t.append([p.replace("SITE ", "Site ").replace("ALL SITES", "All sites")]
                      + [fmt_n(v.get("ENROLMENT", p, TOTAL, "n", avisit=m)) for m in last]
                      + [fmt_n(v.get("ENROLMENT", p, TOTAL, "n_cum", avisit=months[-1])) if months else "0"])
    s.add(Table("Randomised subjects by site (pooled over arms)", ["Site", *last, "Cumulative"], rows_t,
                "Monthly counts of the last three months with randomisations, and the total to the cut."))
    return s


def section_disposition(v: View) -> Section:
    s = Section("Disposition")
    if not v.has("DISPOSITION"):
        return s.add(Para(NA))
    return s.add(v.n_pct_table("DISPOSITION", "Subject disposition (ITT)", "Status", note="n (% of the ITT "
                               "population in the column)."))


def section_baseline(v: View) -> Section:
    s = Section("Baseline characteristics")
    if not v.has("BASELINE"):
        return s.add(Para(NA))
    rows = []
    names = {"AGE": "Age (years)", "BLMELD": "MELD at baseline", "BLCTPS": "Child-Pugh score at baseline"}
    for p, label in names.items():
        if p not in v.paramcds("BASELINE"):
            continue
        dec = 1
        rows.append([f"{label}: n"] + [fmt_n(v.get("BASELINE", p, a, "n")) for a in v.arms])
        rows.append(["  mean (SD)"] + [f"{fmt(v.get('BASELINE', p, a, 'mean'), dec)} "
                                       f"({fmt(v.get('BASELINE', p, a, 'sd'), dec + 1)})" for a in v.arms])
        rows.append(["  median (Q1, Q3)"] + [f"{fmt(v.get('BASELINE', p, a, 'median'), dec)} "
                                             f"({fmt(v.get('BASELINE', p, a, 'q1'), dec)}, "
                                             f"{fmt(v.get('BASELINE', p, a, 'q3'), dec)})" for a in v.arms])
    for p in v.paramcds("BASELINE"):
        if "=" in p:
            rows.append([p.replace("=", ": ", 1)] + [n_pct(v.get("BASELINE", p, a, "n"), v.get("BASELINE", p, a, "pct")) for a in v.arms])
    return s.add(Table("Baseline characteristics (ITT)", v.header("Characteristic"), rows,
                       "Categorical: n (% of the ITT population in the column). SD: n - 1 divisor."))


def section_exposure(v: View) -> Section:
    s = Section("Exposure")
    if not v.has("EXPOSURE"):
        return s.add(Para(NA))
    rows = [["Infusions received: n"] + [fmt_n(v.get("EXPOSURE", "NINFUS", a, "n")) for a in v.arms],
            ["  mean (SD)"] + [f"{fmt(v.get('EXPOSURE', 'NINFUS', a, 'mean'), 1)} "
                               f"({fmt(v.get('EXPOSURE', 'NINFUS', a, 'sd'), 2)})" for a in v.arms]]
    for p in v.paramcds("EXPOSURE"):
        if p.startswith("NINFUS="):
            rows.append([p.replace("NINFUS=", "Infusions received: ")]
                        + [n_pct(v.get("EXPOSURE", p, a, "n"), v.get("EXPOSURE", p, a, "pct")) for a in v.arms])
    return s.add(Table("Study treatment exposure (safety population)", v.header("Exposure"), rows,
                       "Number of infusions of study treatment. Doses are not shown: with a dose-0 control "
                       "they can reveal the treatment."))


def section_safety(v: View, saes: pl.DataFrame, deaths: pl.DataFrame, with_arm: bool) -> Section:
    s = Section("Safety")
    if v.has("AE_OVERVIEW"):
        labels = {"ANYTEAE": "Any TEAE", "RELTEAE": "Related TEAE", "SERTEAE": "Serious TEAE",
                  "GR3TEAE": "TEAE grade >= 3", "WDTEAE": "TEAE leading to withdrawal",
                  "FATALTEAE": "TEAE with fatal outcome"}
        rows = [[labels.get(p, p)] + [f"{n_pct(v.get('AE_OVERVIEW', p, a, 'n_subjects'), v.get('AE_OVERVIEW', p, a, 'pct'))}"
                                      f" [{fmt_n(v.get('AE_OVERVIEW', p, a, 'n_events'))}]" for a in v.arms]
                for p in sorted(v.paramcds("AE_OVERVIEW"), key=lambda c: (list(labels).index(c) if c in labels else 99, c))]
        s.add(Table("Overview of treatment-emergent adverse events (safety population)", v.header("Category"), rows,
                    "Subjects n (%) [events]."))
    else:
        s.add(Para("AE overview: " + NA))
    if v.has("AE_INCIDENCE"):
        inc = v.rows("AE_INCIDENCE")
        socs = inc.filter(pl.col("method") == "TEAE by system organ class")["paramcd"].unique().sort().to_list()
        rows = []
        for soc in socs:
            rows.append([soc] + [n_pct(v.get("AE_INCIDENCE", soc, a, "n_subjects"), v.get("AE_INCIDENCE", soc, a, "pct"))
                                 for a in v.arms])
            pts = (inc.filter(pl.col("method") == f"TEAE by preferred term; SOC: {soc}")["paramcd"]
                   .unique().sort().to_list())
            for pt in pts:
                rows.append([f"    {pt}"] + [n_pct(v.get("AE_INCIDENCE", pt, a, "n_subjects"),
                                                 v.get("AE_INCIDENCE", pt, a, "pct")) for a in v.arms])
        s.add(Table("TEAEs by system organ class and preferred term (safety population)", v.header("SOC / PT"),
                    rows, "Subjects n (%); a subject counts once per SOC and once per PT."))
    else:
        s.add(Para("AE incidence: " + NA))
    if v.has("DEATHS"):
        s.add(v.n_pct_table("DEATHS", "Deaths and liver transplants (ITT)", "Event",
                            note="Deaths from DM/DS; transplants from PR (LIVER TRANSPLANT)."))
    else:
        s.add(Para("Deaths: " + NA))
    s.add(listing_table("Listing of deaths", deaths, with_arm,
                        {"USUBJID": "Subject", "SITEID": "Site", "arm": "Arm", "DTHDT": "Date of death",
                         "DTHDY": "Study day", "CAUSE": "Fatal AE (preferred term)", "LTXDT": "Transplant date"}))
    s.add(listing_table("Listing of serious adverse events", saes, with_arm,
                        {"USUBJID": "Subject", "SITEID": "Site", "arm": "Arm", "AEDECOD": "Preferred term",
                         "AEBODSYS": "System organ class", "ASTDT": "Onset", "ASTDY": "Day", "ATOXGR": "Grade",
                         "AREL": "Related", "AEOUT": "Outcome", "TRTEMFL": "TEAE"}))
    return s


def listing_table(title: str, df: pl.DataFrame, with_arm: bool, names: dict[str, str]) -> Table | Para:
    if df.height == 0:
        return Para(f"{title}: none in this cut.")
    cols = [c for c in names if c in df.columns and (with_arm or c != "arm")]
    rows = [["" if r[c] is None else str(r[c]) for c in cols] for r in df.select(cols).iter_rows(named=True)]
    return Table(f"{title} ({df.height} records)", [names[c] for c in cols], rows)


def section_data_quality(v: View, by_arm: bool) -> Section:
    s = Section("Data quality")
    arms = v.arms if by_arm else [TOTAL]
    if v.has("DQ_VISITS"):
        visits = v.visits(v.rows("DQ_VISITS"))
        rows = []
        for vis in visits:
            for a in arms:
                rows.append([vis] + ([("Total" if a == TOTAL else a)] if by_arm else [])
                            + [fmt_n(v.get("DQ_VISITS", "VISITS", a, st, avisit=vis))
                               for st in ("expected", "attended", "missed", "overdue", "no_lab_data")])
        s.add(Table("Scheduled visits: missed visits and overdue data (ITT)",
                    ["Visit", *(["Arm"] if by_arm else []), "Expected", "Attended", "Missed", "Overdue",
                     "Attended, no lab data"], rows,
                    "Expected: visit window closed before the end of the subject's follow-up (the cut, or the "
                    "last date known alive after discontinuation). Missed: expected and no visit record in the "
                    "window. Overdue: target day passed at the cut, window still open, no visit yet. "
                    "Attended, no lab data: a visit record and no laboratory result in the window."))
    else:
        s.add(Para("Visits: " + NA))
    if v.has("DQ_FINDINGS"):
        rows = []
        for p in v.paramcds("DQ_FINDINGS"):
            dom, sev, rule = (p.split("|") + ["", "", ""])[:3]
            rows.append([dom, sev, rule, fmt_n(v.get("DQ_FINDINGS", p, TOTAL, "n")),
                         fmt_n(v.get("DQ_FINDINGS", p, TOTAL, "n_subjects"))])
        s.add(Table("Validation findings by domain (ingest)", ["Domain", "Severity", "Rule", "Findings", "Subjects"],
                    rows, "From validation/findings.csv: FATAL stops the run; ERROR values are set missing or "
                    "rows excluded; WARNING values are carried and flagged; INFO are normalisations."))
    else:
        s.add(Para("Validation findings: none recorded."))
    s.add(Para("Protocol deviations: not available in this cut (the data contract has no DV domain)."))
    return s


# --- closed-only sections --------------------------------------------------------------------------

def section_efficacy(v: View, km: pl.DataFrame, landmarks: list[float]) -> list[Section]:
    out = []
    m = Section("Efficacy: repeated measures (MMRM)")
    if v.has("MMRM_LSMEAN") or v.has("MMRM_DIFF"):
        for p in v.paramcds("MMRM_LSMEAN"):
            rows, series = [], {}
            r = v.rows("MMRM_LSMEAN").filter(pl.col("paramcd") == p)
            for vis in v.visits(r):
                for a in v.arms:
                    g = lambda st: v.get("MMRM_LSMEAN", p, a, st, avisit=vis)  # noqa: E731
                    if g("lsmean") is None:
                        continue
                    rows.append([vis, shown(a), fmt_n(g("n")), fmt(g("lsmean"), 2), fmt(g("se"), 3),
                                 f"({fmt(g('lower'), 2)}, {fmt(g('upper'), 2)})"])
                    series.setdefault(shown(a), []).append((vis, g("lsmean"), g("lower"), g("upper")))
            s_method = r["method"][0] if r.height else ""
            m.add(Table(f"{p}: LS mean change from baseline by visit", ["Visit", "Arm", "n", "LS mean", "SE",
                                                                        "95% CI"], rows, s_method))
            if series:
                m.add(Figure(f"{p}: LS mean change from baseline", figures.lsmean_figure(series, v.colours, p)))
        d = v.rows("MMRM_DIFF")
        if d.height:
            rows = []
            keys = d.select("paramcd", "arm", "comparator", "avisit").unique(maintain_order=True).rows()
            for (p, a, c, vis) in sorted(keys, key=lambda k: (k[0], v.visit_rank.get(k[3], 99), k[1], k[2])):
                g = lambda st: v.get("MMRM_DIFF", p, a, st, comparator=c, avisit=vis)  # noqa: E731
                rows.append([p, vis, f"{a} vs {c}", fmt(g("estimate"), 2), fmt(g("se"), 3), fmt(g("df"), 1),
                             f"({fmt(g('lower'), 2)}, {fmt(g('upper'), 2)})", fmt_p(g("p"))])
            m.add(Table("Differences in LS mean change", ["Parameter", "Visit", "Comparison", "Estimate", "SE", "df",
                                                          "95% CI", "p"], rows, d["method"][0]))
        f = v.rows("MMRM_FIT")
        if f.height:
            rows = [[r["paramcd"], r["stat"], fmt(r["value"], 3), r["method"] or ""] for r in f.iter_rows(named=True)]
            m.add(Table("Model fit", ["Parameter", "Statistic", "Value", "Covariance / method"], rows))
    else:
        m.add(Para(NA))
    out.append(m)

    k = Section("Efficacy: time to event (Kaplan-Meier, log-rank, Cox)")
    if v.has("KM_MEDIAN") or v.has("KM"):
        for p in v.paramcds("KM_MEDIAN") or v.paramcds("KM"):
            rows = []
            for a in v.arms:
                g = lambda st: v.get("KM_MEDIAN", p, a, st)  # noqa: E731
                cells = [shown(a), f"{fmt(g('median'), 1)} ({fmt(g('lower'), 1)}, {fmt(g('upper'), 1)})"]
                for t in landmarks:
                    s_ = v.get("KM", p, a, "surv", time=float(t))
                    lo, hi = v.get("KM", p, a, "lower", time=float(t)), v.get("KM", p, a, "upper", time=float(t))
                    nr = v.get("KM", p, a, "n_risk", time=float(t))
                    cells.append(f"{fmt(None if s_ is None else 100 * s_, 1)} "
                                 f"({fmt(None if lo is None else 100 * lo, 1)}, {fmt(None if hi is None else 100 * hi, 1)})"
                                 f" [{fmt_n(nr)}]")
                rows.append(cells)
            k.add(Table(f"{p}: median (95% CI), days, and % event-free at landmarks (95% CI) [at risk]",
                        ["Arm", "Median", *[f"Day {t:g}" for t in landmarks]], rows,
                        "Kaplan-Meier, Greenwood SE, log-log CI; NE = not estimable / not reached."))
            tests = []
            for an in ("LOGRANK", "LOGRANK_UNSTRAT"):
                for r in v.rows(an).filter(pl.col("paramcd") == p).select("arm", "comparator", "method").unique(
                        maintain_order=True).iter_rows(named=True):
                    tests.append([an, f"{r['arm']} vs {r['comparator']}" if r["comparator"] else "overall",
                                  fmt(v.get(an, p, r["arm"], "chisq", comparator=r["comparator"]), 2), "",
                                  fmt_p(v.get(an, p, r["arm"], "p", comparator=r["comparator"])), r["method"] or ""])
            for an in ("COX", "COX_UNSTRAT"):
                for r in v.rows(an).filter(pl.col("paramcd") == p).select("arm", "comparator", "method").unique(
                        maintain_order=True).iter_rows(named=True):
                    g = lambda st: v.get(an, p, r["arm"], st, comparator=r["comparator"])  # noqa: E731
                    tests.append([an, f"{r['arm']} vs {r['comparator']}", "",
                                  f"HR {fmt(g('hr'), 2)} ({fmt(g('lower'), 2)}, {fmt(g('upper'), 2)})",
                                  fmt_p(g("p")), r["method"] or ""])
            if tests:
                k.add(Table(f"{p}: comparisons", ["Analysis", "Comparison", "Chi-square", "Hazard ratio (95% CI)",
                                                  "p", "Method"], tests))
            kp = km.filter(pl.col("paramcd") == p) if km.height else km
            if kp.height:
                curves = {}
                for a in v.arms:
                    ka = kp.filter(pl.col("arm") == a).sort("time")
                    if ka.height:
                        curves[shown(a)] = ([0.0] + ka["time"].to_list(), [1.0] + ka["surv"].to_list())
                k.add(Figure(f"{p}: Kaplan-Meier curves", figures.km_figure(curves, v.colours, p)))
    else:
        k.add(Para(NA))
    out.append(k)

    c = Section("Efficacy: competing risks (cumulative incidence, Gray)")
    if v.has("CIF"):
        cif = v.rows("CIF")
        rows = []
        for p in list(dict.fromkeys(cif["paramcd"].to_list())):
            for a in v.arms:
                cells = [p, shown(a)]
                for t in landmarks:
                    g = lambda st: v.get("CIF", p, a, st, time=float(t))  # noqa: E731
                    cells.append(f"{fmt(None if g('cif') is None else 100 * g('cif'), 1)} "
                                 f"({fmt(None if g('lower') is None else 100 * g('lower'), 1)}, "
                                 f"{fmt(None if g('upper') is None else 100 * g('upper'), 1)})")
                gr = [r for r in v.rows("GRAY").filter((pl.col("paramcd") == p) & (pl.col("stat") == "p")
                                                       & ((pl.col("arm") == a) | (pl.col("comparator") == a)))
                      .iter_rows(named=True)]
                cells.append("; ".join(f"{r['arm']} vs {r['comparator'] or 'all'}: p {fmt_p(r['value'])}"
                                       for r in gr) if a != TOTAL else "")
                rows.append(cells)
        c.add(Table("Cumulative incidence, % (95% CI), at landmarks, and Gray's test",
                    ["Event", "Arm", *[f"Day {t:g}" for t in landmarks], "Gray's test"], rows,
                    "Aalen-Johansen; death and transplant compete."))
    else:
        c.add(Para(NA))
    out.append(c)

    dsec = Section("Efficacy and laboratory parameters by visit (descriptive)")
    if v.has("DESC"):
        for p in [x for x in v.paramcds("DESC") if not x.endswith("_CHG")]:
            r = v.rows("DESC").filter(pl.col("paramcd") == p)
            visits = v.visits(r)
            rows = [[vis] + [f"{fmt_n(v.get('DESC', p, a, 'n', avisit=vis))}: {fmt(v.get('DESC', p, a, 'mean', avisit=vis), 2)} "
                             f"({fmt(v.get('DESC', p, a, 'sd', avisit=vis), 2)})" for a in v.arms] for vis in visits]
            dsec.add(Table(f"{p} by visit: n: mean (SD)", v.header("Visit"), rows))
    else:
        dsec.add(Para(NA))
    out.append(dsec)
    return out


def section_lab_shifts(v: View) -> Section:
    s = Section("Laboratory shifts")
    if not v.has("LAB_SHIFT"):
        return s.add(Para(NA))
    cells = [tuple(p.split("|")) for p in v.paramcds("LAB_SHIFT") if p.count("|") == 2]
    order = {"LOW": 0, "NORMAL": 1, "HIGH": 2, "Missing": 3, "ALL": 4}
    tests = list(dict.fromkeys(t for t, _, _ in cells))
    worst = sorted({w for _, _, w in cells if w != "ALL"}, key=lambda c: order.get(c, 9))
    rows = []
    for t in tests:
        bases = sorted({b for tt, b, _ in cells if tt == t and b != "ALL"}, key=lambda c: order.get(c, 9))
        for a in v.arms:
            for b in bases:
                vals = [v.get("LAB_SHIFT", f"{t}|{b}|{w}", a, "n") for w in worst]
                if not any(vals):
                    continue
                rows.append([t, "Total" if a == TOTAL else a, b] + [fmt_n(x) if x is not None else "" for x in vals])
    note = v.rows("LAB_SHIFT")["method"][0] or ""
    return s.add(Table("Shift from baseline to worst post-baseline reference-range category (safety population)",
                       ["Test", "Arm", "Baseline", *[f"Worst {w}" for w in worst]], rows,
                       note + ". Rows with no subject are omitted."))


def section_compare_open(compare: pl.DataFrame | None, meta: dict) -> Section:
    s = Section("Changes since the previous data cut")
    if compare is None:
        return s.add(Para("No previous data cut is configured (previous_cut); nothing to compare."))
    s.add(Para(f"Previous data cut: {meta.get('previous_cut')}. Both cuts were ingested with this pipeline "
               f"version and study config."))
    new = compare.filter(pl.col("section") == "NEW")
    s.add(Table("New since the previous cut (pooled)", ["Item", "n"],
                [[r["item"], str(r["n"])] for r in new.iter_rows(named=True)]))
    cl = compare.filter(pl.col("section") == "CLEANING")
    if cl.height:
        s.add(Table("Data cleaning: records of the previous cut that changed or vanished, and records added late",
                    ["Kind", "Domain", "Column", "n"],
                    [[r["item"], r["domain"], r["column"], str(r["n"])] for r in cl.iter_rows(named=True)],
                    "CHANGED: a reported value altered or erased (one count per value); FILLED: a value missing "
                    "in the previous cut now present; VANISHED: records no longer in the data; ADDED_LATE: "
                    "records dated on or before the previous cut that were not in it. Treatment fields are not "
                    "shown in the open report."))
    else:
        s.add(Para("No record of the previous cut changed or vanished."))
    return s


def section_compare_closed(compare: dict[str, pl.DataFrame] | None, meta: dict) -> Section:
    s = Section("Changes since the previous data cut")
    if compare is None:
        return s.add(Para("No previous data cut is configured (previous_cut); nothing to compare."))
    s.add(Para(f"Previous data cut: {meta.get('previous_cut')}, re-ingested and re-analysed with this pipeline "
               f"version and study config."))
    ns = compare["new_subjects"]
    s.add(listing_table("New subjects", ns, True, {"USUBJID": "Subject", "SITEID": "Site", "arm": "Arm",
                                                   "RFICDTC": "Consent"}))
    ev = compare["new_events"]
    s.add(listing_table("New deaths, transplants and SAEs", ev, True,
                        {"event": "Event", "USUBJID": "Subject", "arm": "Arm", "term": "Term", "date": "Date"}))
    ch = compare["changes"]
    if ch.height:
        g = ch.group_by("kind", "domain", "column").len().sort("kind", "domain", "column")
        s.add(Table("Data cleaning summary", ["Kind", "Domain", "Column", "n"],
                    [[r["kind"], r["domain"], r["column"], str(r["len"])] for r in g.iter_rows(named=True)]))
        changed = ch.filter(pl.col("kind").is_in(["CHANGED", "VANISHED"])).head(200)
        s.add(listing_table("Changed and vanished records (first 200)", changed, True,
                            {"domain": "Domain", "USUBJID": "Subject", "arm": "Arm", "key": "Record key",
                             "kind": "Kind", "column": "Column", "previous": "Previous", "current": "Current"}))
    else:
        s.add(Para("No record of the previous cut changed or vanished."))
    mv = compare["estimates"]
    if mv.height:
        rows = []
        for r in mv.iter_rows(named=True):
            t = "" if r["time"] is None else f"day {r['time']:g}"
            f = fmt_p if r["stat"] == "p" else (lambda x: fmt(x, 3))
            rows.append([r["analysis"], r["paramcd"], shown(r["arm"]), r["comparator"], r["avisit"] or t, r["stat"],
                         f(r["previous"]), f(r["current"]), fmt(r["change"], 3)])
        s.add(Table("Movement in key estimates", ["Analysis", "Parameter", "Arm", "vs", "Visit / time", "Statistic",
                                                  "Previous", "Current", "Change"], rows))
    else:
        s.add(Para("Movement in key estimates: " + NA))
    return s


RENDERED = {"DISPOSITION", "BASELINE", "EXPOSURE", "AE_OVERVIEW", "AE_INCIDENCE", "DEATHS", "ENROLMENT", "DQ_VISITS",
            "DQ_FINDINGS", "LAB_SHIFT", "MMRM_LSMEAN", "MMRM_DIFF", "MMRM_FIT", "KM", "KM_MEDIAN", "LOGRANK",
            "LOGRANK_UNSTRAT", "COX", "COX_UNSTRAT", "CIF", "GRAY", "DESC"}


def section_other_analyses(v: View) -> Section:
    """Every other analysis of the ARD, as a plain listing of its rows: nothing present is left out."""
    s = Section("Other analyses in the ARD")
    others = sorted(set(v.ard["analysis"].to_list()) - RENDERED)
    if not others:
        return s.add(Para("None: every analysis of the ARD is shown above."))
    for an in others:
        r = v.rows(an)
        rows = []
        for x in r.iter_rows(named=True):
            t = "" if x["time"] is None else f"day {x['time']:g}"
            val = fmt_n(x["value"]) if x["stat"].startswith("n") else (
                fmt_p(x["value"]) if x["stat"] in ("p", "p_interaction") else fmt(x["value"], 3))
            rows.append([x["paramcd"], shown(x["arm"]), x["comparator"], x["avisit"] or t, x["stat"], val])
        methods = "; ".join(dict.fromkeys(m for m in r["method"].to_list() if m))
        s.add(Table(f"{an} ({r.height} rows)", ["Parameter", "Arm", "vs", "Visit / time", "Statistic", "Value"], rows,
                    methods[:500]))
    return s


# --- the two documents -------------------------------------------------------------------------------

def open_document(pooled: pl.DataFrame, saes: pl.DataFrame, deaths: pl.DataFrame, compare: pl.DataFrame | None,
                  meta: dict) -> Document:
    v = View(pooled, [TOTAL], visits=meta.get("visits"))
    doc = Document("OPEN", meta["study_id"], meta.get("title", ""), meta["cut_date"], meta["version"],
                   meta["manifest_hash"],
                   audience="For the sponsor, the investigators and the open session of the DSMB. Pooled data "
                            "only: no result by arm and no efficacy result.")
    doc.sections = [section_enrolment(v, meta, False), section_disposition(v), section_baseline(v),
                    section_exposure(v), section_safety(v, saes, deaths, False), section_data_quality(v, False),
                    section_compare_open(compare, meta)]
    return doc


def closed_document(ard: pl.DataFrame, arms: list[dict], saes: pl.DataFrame, deaths: pl.DataFrame,
                    km: pl.DataFrame, compare: dict | None, meta: dict) -> Document:
    order = [a["display"] for a in arms] + [TOTAL]
    v = View(ard, order, {a["display"]: a["colour"] for a in arms}, visits=meta.get("visits"))
    masked = meta.get("masked", True)
    doc = Document("CLOSED", meta["study_id"], meta.get("title", ""), meta["cut_date"], meta["version"],
                   meta["manifest_hash"],
                   audience="CONFIDENTIAL: for DSMB members only (closed session). Results by arm. "
                            + ("Arms are coded; the key is held by the independent statistician." if masked
                               else "Arms are shown unmasked (masked_dsmb: false)."))
    landmarks = meta.get("landmarks_days", [])
    doc.sections = [section_enrolment(v, meta, True), section_disposition(v), section_baseline(v),
                    section_exposure(v), section_safety(v, saes, deaths, True), section_lab_shifts(v),
                    *section_efficacy(v, km, landmarks), section_data_quality(v, True),
                    section_compare_closed(compare, meta), section_other_analyses(v)]
    return doc

"""The content of the open and closed DSMB reports, built from their (gated) inputs only.

The tables are the TLF tables (:mod:`hepatrial.tlf.tables`: titles, population, N per arm,
decimals by statistic, footnotes) built on the report's own ARD and presentation spec (arms coded
in a masked closed report, none in the open report), and the figures the TLF figures; nothing is
computed here but layout. Sections follow a DSMB report outline (FDA 2006 guidance on data
monitoring committees; NINDS DSMB report outline): executive summary, enrolment, disposition,
baseline, exposure, safety, efficacy (primary endpoint first, marked), data quality, changes since
the previous cut, appendix (descriptive tables, listings). A section whose ARD rows are absent
says "not available in this cut".
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from hepatrial.report import figures
from hepatrial.report.document import Block, Document, Figure, Para, Section, Table
from hepatrial.report.listings import DEATH_LISTING, SAE_LISTING, listing_columns
from hepatrial.spec import Study
from hepatrial.spec.decode import decode
from hepatrial.spec.params import cif_label
from hepatrial.tlf import format as F
from hepatrial.tlf import tables as T

NA = "Not available in this cut."
TOTAL = "ALL"
RULE_OPEN, RULE_CLOSED = "dsmb_open", "dsmb_closed"
# The populations of the reports' own ARD rows that are not an analysis population (hepatrial.report.summaries).
ALL_SUBJECTS, ALL_RECORDS = "ALL SUBJECTS", "ALL RECORDS"


def shown(arm: str) -> str:
    """An arm as a table shows it: the pooled column is "Total"."""
    return "Total" if arm == TOTAL else arm


def _paramcds(a: T.ARD, analysis: str) -> list[str]:
    return list(dict.fromkeys(a.rows(analysis)["paramcd"].to_list()))


def with_arm_columns(ard: pl.DataFrame) -> pl.DataFrame:
    """The open report's pooled ARD has no arm columns: every row is the pooled column."""
    if "arm" in ard.columns:
        return ard
    return ard.with_columns(pl.lit(TOTAL).alias("arm"), pl.lit("").alias("comparator")).select(
        "analysis",
        "paramcd",
        "population",
        "arm",
        "comparator",
        "avisit",
        "time",
        "stat",
        "value",
        "method",
    )


def from_tlf(t: T.Table, title_prefix: str = "") -> Table:
    """A TLF table as a report table: the stub column first, a heading row per group (when the
    table groups its rows), indentation kept, footnotes and source line as the note, and the TLF
    table's group blocks (:meth:`hepatrial.tlf.tables.Table.blocks`, as the RTF pages them) as
    the blocks the PDF keeps on one page."""
    rows, indents, groups, blocks = [], [], set(), []
    for a, b in t.blocks():
        group = t.rows[a].group
        start = len(rows)
        heading = bool(t.group_rows and group)
        if heading:
            groups.add(len(rows))
            rows.append([group] + [""] * len(t.columns))
            indents.append(0)
        for r in t.rows[a:b]:
            rows.append([r.label, *r.cells])
            indents.append(r.indent)
        if group:
            blocks.append(Block(start, len(rows), group, heading))
    note = " ".join([*t.footnotes, t.source] if t.source else t.footnotes)
    return Table(
        title_prefix + t.title,
        [t.stub_header or "", *t.columns],
        rows,
        note,
        indents,
        groups,
        t.population,
        blocks,
    )


def _table(ard: T.ARD, name: str, rule: str, prefix: str = "") -> Table:
    return from_tlf(T.build_table(name, ard, rule), prefix)


def _figure(title: str, plot, note: str = "") -> Figure:
    from hepatrial.tlf.figures import png_bytes

    return Figure(title, png_bytes(plot), note)


def primary_param(spec: Study) -> str:
    """The primary parameter a report names (:attr:`Study.primary_param`; a spec without an MMRM
    parameter: the primary MELD variant; "" when the primary endpoint is the DLT analysis)."""
    if spec.primary_is_dlt:
        return ""
    return spec.primary_param or spec.scores.meld_primary


def _allocation(spec: Study) -> tuple[str, str]:
    """("randomised", "randomisation"), or ("enrolled and dosed", "enrolment") in a design without
    randomisation (:attr:`Study.allocated`)."""
    return spec.allocated, "randomisation" if spec.design.randomised else "enrolment"


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def section_enrolment(a: T.ARD, arm_colours: dict[str, str], meta: dict, by_arm: bool) -> Section:
    """Randomisation against plan (ARD ENROLMENT); ``arm_colours``: arm -> colour (closed report)."""
    s = Section("Enrolment against plan")
    if not a.has("ENROLMENT"):
        return s.add(Para(NA))
    scr, fail = (
        a.get("ENROLMENT", p, TOTAL, "n", ALL_SUBJECTS) for p in ("SCREENED", "SCREEN FAILURE")
    )
    rows = a.rows("ENROLMENT").filter(
        (pl.col("paramcd") == "ALL SITES") & (pl.col("stat") == "n_cum")
    )
    months = sorted(rows["avisit"].unique().to_list())
    total = a.get("ENROLMENT", "ALL SITES", TOTAL, "n_cum", avisit=months[-1]) if months else 0
    planned = meta.get("planned_subjects")
    verb, noun = _allocation(a.study)
    # screened subjects who are neither screen failures nor in the ITT population (enrolled, never
    # dosed, in a design without randomisation): counted, so that the three numbers add up
    rest = (scr or 0) - (fail or 0) - (total or 0) if scr is not None else 0
    s.add(
        Para(
            f"Screened: {F.fmt_int(scr)}; screen failures: {F.fmt_int(fail)}; {verb}: {F.fmt_int(total)} of "
            f"{planned} planned ({F.fmt_pct(100.0 * (total or 0) / planned)}%)"
            + (f"; neither screen failures nor {verb}: {F.fmt_int(rest)}" if rest > 0 else "")
            + f"; planned enrolment period {meta.get('enrolment_months')} months over "
            f"{meta.get('sites')} sites."
        )
    )
    series = {
        "Total": [(m, a.get("ENROLMENT", "ALL SITES", TOTAL, "n_cum", avisit=m)) for m in months]
    }
    colours = {"Total": figures.POOLED_COLOUR}
    if by_arm:
        for arm in a.arms:
            series[arm] = [
                (m, a.get("ENROLMENT", "ALL SITES", arm, "n_cum", avisit=m) or 0) for m in months
            ]
            colours[arm] = arm_colours.get(arm, "#000000")
    s.add(
        Figure(
            f"Cumulative {noun} against plan",
            figures.enrolment_figure(
                series,
                colours,
                planned,
                meta.get("enrolment_months"),
                f"{verb.capitalize()} subjects, cumulative",
                verb,
            ),
            f"Dashed: planned linear accrual from the first month with {_a(noun)}.",
        )
    )
    sites = [p for p in _paramcds(a, "ENROLMENT") if p.startswith("SITE ")]
    site_series = {
        p: [(m, a.get("ENROLMENT", p, TOTAL, "n_cum", avisit=m)) for m in months] for p in sites
    }
    s.add(
        Figure(
            f"Cumulative {noun} by site",
            figures.enrolment_figure(
                site_series,
                dict(zip(sites, figures.SITE_COLOURS * 8)),
                None,
                None,
                f"{verb.capitalize()} subjects by site",
                verb,
            ),
        )
    )
    last = months[-3:] if months else []
    rows_t = []
    for p in sites + ["ALL SITES"]:
        rows_t.append(
            [p.replace("SITE ", "Site ").replace("ALL SITES", "All sites")]
            + [F.fmt_int(a.get("ENROLMENT", p, TOTAL, "n", avisit=m)) for m in last]
            + [
                F.fmt_int(a.get("ENROLMENT", p, TOTAL, "n_cum", avisit=months[-1]))
                if months
                else "0"
            ]
        )
    s.add(
        Table(
            f"{verb.capitalize()} subjects by site (pooled over arms)",
            ["Site", *last, "Cumulative"],
            rows_t,
            f"Monthly counts of the last three months with {noun}s, and the total to the cut.",
        )
    )
    return s


def section_summary(a: T.ARD, meta: dict, by_arm: bool) -> Section:
    """Executive summary: enrolment against plan, deaths, SAEs, the primary endpoint, the
    interim-analysis status."""
    s = Section("Executive summary")
    arms = a.arms + [TOTAL]
    total = a.big_n("ITT", TOTAL)
    planned = meta.get("planned_subjects")
    if total is not None and planned:
        s.add(
            Para(
                f"Enrolment: {F.fmt_int(total)} of {planned} planned subjects "
                f"{_allocation(a.study)[0]} "
                f"({F.fmt_pct(100.0 * total / planned)}%) by the data cut {meta['cut_date']}."
            )
        )
    rows = []
    if a.has("BIGN"):
        rows.append(
            [f"{_allocation(a.study)[0].capitalize()} (ITT), n"]
            + [F.fmt_int(a.big_n("ITT", x)) for x in arms]
        )
    if a.has("DEATHS"):
        rows.append(["Deaths, n (%)"] + [T.death_cell(a, "DEATH", x) for x in arms])
    if a.has("AE_OVERVIEW"):  # "not available" / "not collected" where the data cannot say
        rows += [
            [label] + [T.overview_cell(a, code, x) for x in arms]
            for code, label in (
                ("SERTEAE", "Subjects with a serious TEAE, n (%)"),
                ("GR3TEAE", "Subjects with a TEAE of grade 3 or higher, n (%)"),
            )
            if a.has("AE_OVERVIEW", paramcd=code)
        ]
    if rows:
        s.add(
            Table(
                "Key figures at this data cut",
                ["", *(T.TOTAL if x == TOTAL else x for x in arms)],
                rows,
                "ITT: intent-to-treat population (deaths); safety population (adverse events). "
                "Percentages of the population in the column.",
            )
        )
    if by_arm:
        for text in primary_sentences(a):
            s.add(Para(text))
    if by_arm and not a.parallel:
        s.add(
            Para(
                "No comparator (single-arm or dose-escalation design): within-arm estimates only, no "
                "between-arm comparisons."
            )
        )
    if by_arm and (a.has("GSD_STATUS") or a.has("GSD_BOUNDARY")):
        s.add(
            Para(
                "Group-sequential monitoring: "
                + interim_sentence(gsd_view(a.df))
                + ' Details: section "Interim analysis (group-sequential monitoring)".'
            )
        )
    elif not by_arm and a.has("GSD_INFO"):
        t = a.rows("GSD_INFO").filter(pl.col("stat") == "info_frac")["value"]
        s.add(
            Para(
                f"An interim look of the primary endpoint took place at this data cut at information fraction "
                f"{F.fmt_num(t[0], 2)}."
                if t.len()
                else "An interim look took place at this data cut."
            )
        )
    else:
        s.add(
            Para(
                "Interim analysis plan: none defined in the study config (no group-sequential boundaries); "
                + (
                    "p-values in this report are nominal and not adjusted for repeated looks."
                    if by_arm
                    else "this report shows pooled data only."
                )
            )
        )
    return s


def primary_sentences(a: T.ARD) -> list[str]:
    """The closed executive summary's sentences on the primary endpoint, by its kind: a time to
    event, the DLTs, an MMRM without a comparator (within-arm LS mean), else an MMRM difference
    per test arm ("not available" when the ARD has none)."""
    if a.study.primary_is_tte:
        return [primary_tte_sentence(a)]
    if a.study.primary_is_dlt:
        return [primary_dlt_sentence(a)]
    p, visit = primary_param(a.study), a.study.endpoints.primary_visit
    if not a.parallel:
        return [primary_within_arm_sentence(a, p, visit)]
    out = []
    d = a.stat_decimals(p, "estimate")
    for test in a.tests:
        est, lo, hi, pv = (
            a.get("MMRM_DIFF", p, test, x, "ITT", visit, a.reference)
            for x in ("estimate", "lower", "upper", "p")
        )
        if est is not None:
            out.append(
                f"Primary endpoint, change from baseline in {T.param_label(p)} at {visit} (MMRM): "
                f"{test} vs {a.reference} difference {F.fmt_est_ci(est, lo, hi, d)}, nominal p "
                f"{F.fmt_p(pv)}."
            )
    return out or [f"Primary endpoint ({T.param_label(p)} at {visit}): {NA}"]


def primary_within_arm_sentence(a: T.ARD, p: str, visit: str) -> str:
    """The executive summary's sentence on an MMRM primary endpoint of a design without a
    comparator (single arm): each arm's LS mean change from baseline at the primary visit with its
    95% CI (ARD MMRM_LSMEAN, ITT)."""
    d = a.stat_decimals(p, "lsmean")
    shown = []
    for arm in a.arms:
        est, lo, hi = (
            a.get("MMRM_LSMEAN", p, arm, x, "ITT", visit) for x in ("lsmean", "lower", "upper")
        )
        if est is not None:
            shown.append(f"{arm} {F.fmt_est_ci(est, lo, hi, d)}")
    return (
        f"Primary endpoint, change from baseline in {T.param_label(p)} at {visit} (MMRM, within "
        "arm): LS mean (95% CI) " + (", ".join(shown) if shown else NA) + "."
    )


def primary_dlt_sentence(a: T.ARD) -> str:
    """The executive summary's sentence on the dose-limiting toxicities (the primary endpoint of a
    dose escalation): subjects with a DLT of the DLT-evaluable ones per cohort, the MTD and the
    RP2D, as the ARD holds them (DLT, ESCALATION)."""
    head = "Primary endpoint (dose-limiting toxicities, safety population)"
    shown = []
    for arm in a.arms:
        n, k = (a.get("DLT", "DLT", arm, x, "SAFETY") for x in ("n_evaluable", "n_dlt"))
        if n is not None and k is not None:
            shown.append(f"{arm} {F.fmt_int(k)} of {F.fmt_int(n)}")
    parts = [f"subjects with a DLT of those DLT-evaluable: {', '.join(shown)}"] if shown else []
    for name in ("MTD", "RP2D"):
        m = a.methods("ESCALATION", paramcd=name)
        if m:
            parts.append(m[0].split("; ")[0])
    return f"{head}: " + ("; ".join(parts) if parts else NA) + "."


def _stratified(a: T.ARD, analysis: str, paramcd: str, arm: str) -> str:
    """ "stratified " when the ITT ``analysis`` row of ``arm`` says it is (its ARD method)."""
    method = a.rows(analysis, paramcd=paramcd, arm=arm, population="ITT")["method"]
    return "stratified " if method.len() and "stratified" in (method[0] or "") else ""


def primary_tte_sentence(a: T.ARD) -> str:
    """The executive summary's sentence on a time-to-event primary endpoint (ITT): the Kaplan-Meier
    estimate of each arm at ``endpoints.primary_landmark_days`` and each test arm's hazard ratio
    and log-rank p against the reference, as the ARD holds them."""
    p = primary_param(a.study)
    head = f"Primary endpoint ({T.param_label(p)}, time to event, ITT)"
    parts = []
    landmark = a.study.endpoints.primary_landmark_days
    if landmark is not None:
        cells = T._pct_ci_cells(a, "KM", "surv", p, "ITT", landmark, a.arms)
        shown = [f"{arm} {c}" for arm, c in zip(a.arms, cells) if c]
        if shown:
            parts.append(f"event-free at {T._day(landmark)}, % (95% CI): " + ", ".join(shown))
    for test in a.tests:
        hr, lo, hi = (
            a.get("COX", p, test, x, "ITT", comparator=a.reference)
            for x in ("hr", "lower", "upper")
        )
        pv = a.get("LOGRANK", p, test, "p", "ITT", comparator=a.reference)
        said = []
        if hr is not None:
            said.append(
                f"{_stratified(a, 'COX', p, test)}hazard ratio {F.fmt_est_ci(hr, lo, hi, 2)}"
            )
        if pv is not None:
            said.append(f"{_stratified(a, 'LOGRANK', p, test)}log-rank nominal p {F.fmt_p(pv)}")
        if said:
            parts.append(f"{test} vs {a.reference} " + ", ".join(said))
    return f"{head}: " + ("; ".join(parts) if parts else NA) + "."


class GsdView:
    """The GSD rows of the report's ARD by look: ``bounds[k]``, ``status[k]`` (stat -> value),
    ``design`` (DESIGN row stats), the decision text of each look, the data cut of each look and
    the method text (design, monitored comparison, maximum information)."""

    def __init__(self, ard: pl.DataFrame):
        g = ard.filter(pl.col("analysis").is_in(["GSD_BOUNDARY", "GSD_STATUS"]))
        self.bounds: dict[int, dict] = {}
        self.status: dict[int, dict] = {}
        self.design: dict[str, float] = {}
        self.decision: dict[int, str] = {}
        self.cut: dict[int, str] = {}
        self.method = ""
        self.paramcd = g["paramcd"][0] if g.height else ""
        for r in g.iter_rows(named=True):
            if r["avisit"] == "DESIGN":
                self.design[r["stat"]] = r["value"]
                self.method = self.method or (r["method"] or "")
                continue
            k = int(r["avisit"].split()[-1])
            if r["analysis"] == "GSD_BOUNDARY":
                self.bounds.setdefault(k, {})[r["stat"]] = r["value"]
            else:
                self.status.setdefault(k, {})[r["stat"]] = r["value"]
                if r["stat"] == "decision":
                    self.decision[k] = r["method"] or ""
                elif r["stat"] == "z" and "data cut " in (r["method"] or ""):
                    self.cut[k] = (r["method"] or "").rsplit("data cut ", 1)[-1]

    @property
    def current(self) -> int | None:
        c = self.design.get("current_look")
        return None if F.is_missing(c) else int(c)

    @property
    def tte(self) -> bool:
        return any("events" in st for st in self.status.values())


def gsd_view(ard: pl.DataFrame) -> GsdView:
    return GsdView(ard)


def interim_sentence(g: GsdView) -> str:
    """One sentence: the decision the boundaries indicate at this cut's look."""
    k = g.current
    planned = F.fmt_int(g.design.get("looks_planned"))
    if k is None or k not in g.status:
        done = sorted(g.status)
        if not done:
            why = g.method.split("current look ", 1)[-1] if "current look " in g.method else ""
            return f"{planned} looks planned; no look with data at this cut" + (
                f" ({why})." if why else "."
            )
        return (
            f"this data cut is not a formal look ({planned} looks planned); the last look was "
            f"look {done[-1]}, which indicated: {g.decision.get(done[-1], '')}."
        )
    st, b = g.status[k], g.bounds.get(k, {})
    fut = b.get("z_futility")
    bound = f"efficacy bound {F.fmt_num(b.get('z_efficacy'), 3)}"
    if fut is not None and k < len(g.bounds):
        bound += f", futility bound {F.fmt_num(fut, 3)}"
    if b.get("z_futility_cp") is not None:
        bound += f", conditional-power futility threshold {F.fmt_num(b['z_futility_cp'], 3)}"
    return (
        f"at this data cut (look {k}; {planned} looks planned) the information is "
        f"{F.fmt_prob_pct(st.get('info_frac'))}% of the maximum and Z = "
        f"{F.fmt_num(st.get('z'), 3)} ({bound}): "
        f'the boundaries indicate "{g.decision.get(k, "")}". This is what the pre-specified '
        f"boundaries indicate, not a recommendation: the DSMB weighs it with the safety data "
        f"and all other evidence."
    )


def _prob4(x) -> str:
    """A small probability with 4 decimals, "<0.0001" when it would print as 0.0000."""
    return "<0.0001" if x is not None and 0 < x < 0.00005 else F.fmt_num(x, 4)


CP_MARK = " (CP)"
# said under the design table only when a cell carries the mark
CP_NOTE = "(CP): the Z below which the conditional power is under the futility threshold. "


def _futility_cell(b: dict) -> str:
    """The beta-spending futility bound, else the conditional-power threshold (marked CP)."""
    if b.get("z_futility") is not None:
        return F.fmt_num(b["z_futility"], 3)
    if b.get("z_futility_cp") is not None:
        return F.fmt_num(b["z_futility_cp"], 3) + CP_MARK
    return "-"


def section_interim(a: T.ARD) -> Section | None:
    """Closed report: the group-sequential design (looks, fractions, bounds, alpha spent), the
    boundary plot with this and earlier looks, the status of each look and the indicated
    decision. None when the ARD has no GSD rows."""
    if not (a.has("GSD_BOUNDARY") or a.has("GSD_STATUS")):
        return None
    g = gsd_view(a.df)
    s = Section("Interim analysis (group-sequential monitoring)")
    s.add(Para("Decision: " + interim_sentence(g)))
    s.add(Para(f"Design and monitored comparison: {g.method}."))
    two = "2-sided" in g.method
    rows = []
    for k in sorted(g.bounds):
        b = g.bounds[k]
        kind = "observed" if k in g.status else "no data" if k < max(g.status or [0]) else "planned"
        rows.append(
            [
                f"Look {k}",
                kind,
                F.fmt_prob_pct(b.get("info_frac")),
                F.fmt_num(b.get("z_efficacy"), 3),
                _prob4(b.get("p_nominal")),
                _futility_cell(b),
                _prob4(b.get("alpha_cum")),
                _prob4(b.get("beta_cum")) if b.get("beta_cum") is not None else "-",
            ]
        )
    d = g.design
    s.add(
        Table(
            "Group-sequential design at the observed information fractions",
            [
                "Look",
                "",
                "Information (%)",
                "Efficacy bound (Z)",
                "Nominal p at the bound",
                "Futility bound (Z)",
                "Cumulative alpha spent",
                "Cumulative beta spent",
            ],
            rows,
            "Bounds recomputed at the information fractions observed so far, then the planned "
            "looks still to come (spending functions evaluated at the actual fractions). "
            + (CP_NOTE if any(r[5].endswith(CP_MARK) for r in rows) else "")
            + f"Design: {F.fmt_int(d.get('looks_planned'))} looks planned, inflation factor "
            f"{F.fmt_num(d.get('inflation_factor'), 4)}, drift {F.fmt_num(d.get('drift'), 4)}"
            + (
                f", maximum information {F.fmt_num(d.get('max_info'), 3)}"
                if d.get("max_info") is not None
                else ""
            )
            + (
                f", {F.fmt_int(d.get('planned_events'))} events planned"
                if d.get("planned_events") is not None
                else ""
            )
            + ".",
        )
    )
    bounds = [dict(g.bounds[k], two_sided=two) for k in sorted(g.bounds)]
    looks = [
        {"look": k, "info_frac": st.get("info_frac"), "z": st.get("z"), "cut": g.cut.get(k, "")}
        for k, st in sorted(g.status.items())
    ]
    s.add(
        Figure(
            "Group-sequential boundaries and the observed Z statistics by information fraction",
            figures.boundary_figure(
                bounds,
                looks,
                g.current,
                f"{T.param_label(g.paramcd)}: boundaries (Z scale) and observed looks",
            ),
            "Z oriented so that benefit of the test arm over the reference is positive. "
            "Lines: the bounds at the observed fractions and the planned looks still to "
            "come; filled point: this data cut; open points: earlier looks (from the "
            "previous cut's analysis).",
        )
    )
    if g.status:
        count = "Events" if g.tte else "Subjects observed"
        rows, rows2 = [], []
        for k, st in sorted(g.status.items()):
            rows.append(
                [
                    f"Look {k}",
                    g.cut.get(k, ""),
                    F.fmt_prob_pct(st.get("info_frac")),
                    F.fmt_int(st.get("events", st.get("n_observed"))),
                    f"{F.fmt_num(st.get('estimate'), 3)} ({F.fmt_num(st.get('se'), 3)})",
                    F.fmt_ci(st.get("rci_lower"), st.get("rci_upper"), 3),
                    F.fmt_num(st.get("z"), 3),
                    F.fmt_p(st.get("p")),
                    g.decision.get(k, ""),
                ]
            )
            rows2.append(
                [
                    f"Look {k}",
                    F.fmt_num(st.get("b_value"), 3),
                    *(F.fmt_prob_pct(st.get(x)) for x in ("cp_trend", "cp_design", "pp")),
                ]
            )
        est = "minus the log hazard ratio" if g.tte else "the treatment difference"
        s.add(
            Table(
                "Status of the looks",
                [
                    "Look",
                    "Data cut",
                    "Information (%)",
                    count,
                    "Estimate (SE)",
                    "Repeated CI",
                    "Z",
                    "Nominal p",
                    "Indicated decision",
                ],
                rows,
                f"Estimate: {est}, oriented so that benefit is positive (the sign does not "
                "depend on the arm codes); SE its standard error. Repeated confidence interval "
                "at the look's efficacy bound (simultaneous coverage over looks). Nominal p: "
                "one-sided, not adjusted for the repeated looks (compare Z with the bound). "
                "Earlier looks are recomputed from the previous cut's statistics with the "
                "design at the observed fractions.",
            )
        )
        s.add(
            Table(
                "Conditional and predictive power",
                [
                    "Look",
                    "B-value",
                    "Conditional power, trend (%)",
                    "Conditional power, design effect (%)",
                    "Predictive power (%)",
                ],
                rows2,
                "Probability of crossing an efficacy bound at a later look (before a futility "
                "bound) given the look's B-value = Z sqrt(t): under the current trend, under "
                "the design effect, and averaged over a flat-prior posterior (predictive "
                "power). Not estimable (NE) at the last look.",
            )
        )
    return s


def section_tables(
    title: str,
    a: T.ARD,
    names: list[tuple[str, str]],
    rule: str,
    prefixes: dict[str, str] | None = None,
) -> Section:
    """A section of TLF tables (``(name, analysis that must be present)``, ``prefixes[name]``
    before a table's title), "not available" if none."""
    s = Section(title)
    for name, analysis in names:
        if a.has(analysis):
            s.add(_table(a, name, rule, (prefixes or {}).get(name, "")))
    if not s.blocks:
        s.add(Para(NA))
    return s


SAFETY_TABLES = [
    ("ae_overview", "AE_OVERVIEW"),
    ("ae_soc_pt", "AE_INCIDENCE"),
    ("ae_grade", "AE_GRADE"),
    ("sae_soc_pt", "SAE_INCIDENCE"),
    ("aesi", "AESI"),
    ("death_causes", "DEATHS"),
    ("lab_shift", "LAB_SHIFT"),
    ("lab_abn", "LAB_ABN"),
]


def section_efficacy(a: T.ARD, km: pl.DataFrame, rule: str) -> list[Section]:
    from hepatrial.tlf import figures as TF

    out = []
    tte_primary = a.study.primary_is_tte
    primary = primary_param(a.study)
    m = Section(
        "Efficacy: primary endpoint and repeated measures (MMRM)"
        if primary in {x.paramcd for x in a.study.endpoints.mmrm_params}
        else "Efficacy: repeated measures (MMRM)"
    )
    params = [x.paramcd for x in a.study.endpoints.mmrm_params]
    params = sorted(params, key=lambda x: x != primary)
    for p in params:
        prefix = "PRIMARY ENDPOINT. " if p == primary else "Secondary endpoint. "
        if not (a.has("MMRM_LSMEAN", paramcd=p) or a.has("MMRM_DIFF", paramcd=p)):
            if a.has("MMRM_FIT", paramcd=p, population="ITT"):  # fitted, not estimable: say why
                m.add(_table(a, f"mmrm_{p}", rule, prefix))
            continue
        m.add(_table(a, f"mmrm_{p}", rule, prefix))
        m.add(
            _figure(
                f"{T.param_label(p)}: LS mean change from baseline by visit (95% CI)",
                TF.fig_mmrm(a, p),
            )
        )
        if a.has("MMRM_DIFF", paramcd=p, population="PP"):
            m.add(_table(a, f"mmrmpp_{p}", rule))
    if a.has("LMM_DIFF"):
        m.add(_table(a, "lmm", rule))
    if not m.blocks:
        m.add(Para(NA))
    out.append(m)
    if a.has("RESPONDER"):
        r = Section("Efficacy: responders")
        r.add(_table(a, "responder", rule))
        for pid in dict.fromkeys(
            c.split("|")[0] for c in a.rows("RESPONDER_SHIFT")["paramcd"].to_list()
        ):
            r.add(_table(a, f"resp_shift_{pid}", rule))
        out.append(r)
    if a.has("SUBGROUP") and a.tests:
        sg = Section("Efficacy: subgroups")
        sg.add(_table(a, "subgroup", rule))
        sg.add(_figure("Forest plot of the treatment effect by subgroup", TF.fig_forest(a)))
        out.append(sg)
    k = Section(
        "Efficacy: primary endpoint and time to event" if tte_primary else "Efficacy: time to event"
    )
    if a.has("KM") or a.has("KM_MEDIAN"):
        k.add(_table(a, "km", rule, "PRIMARY ENDPOINT. " if tte_primary else ""))
        for p in sorted(a.study.endpoints.tte, key=lambda x: not (tte_primary and x == primary)):
            step = km.filter(pl.col("paramcd") == p) if km.height else km
            if step.height:
                step = step.rename({"arm": "group"}) if "arm" in step.columns else step
                k.add(
                    _figure(
                        ("PRIMARY ENDPOINT. " if tte_primary and p == primary else "")
                        + f"{T.param_label(p)}: Kaplan-Meier estimate with 95% CI and numbers at risk",
                        TF.fig_km(step, a, p),
                    )
                )
    if a.has("CIF"):
        k.add(_table(a, "cif", rule))
    if not k.blocks:
        k.add(Para(NA))
    # the primary endpoint's section first
    return [k, *out] if tte_primary else [*out, k]


def section_estimands(a: T.ARD, rule: str) -> Section | None:
    """Closed report, only when the study config asks (``dsmb.estimands``): the intercurrent
    events, each estimand set's table and the tipping-point figures. None otherwise."""
    if not a.study.dsmb.estimands:
        return None
    from hepatrial.tlf import figures as TF

    s = Section("Efficacy: estimands and sensitivity analyses (multiple imputation)")
    if a.has("ICE_SUMMARY"):
        s.add(_table(a, "ice_summary", rule))
    for name in T.estimand_sets(a):
        s.add(_table(a, f"estimands_{name}", rule))
    for e in T.estimand_info(a):
        if a.rows("TIPPING").filter(pl.col("paramcd").str.starts_with(e["paramcd"] + "|")).height:
            s.add(
                _figure(
                    f"Tipping-point analysis of estimand {e['id']}",
                    TF.fig_tipping(a, e["id"]),
                    "Reference-based and delta-adjusted analyses refer to the reference "
                    "arm of the study; in a masked report they can show which code is the "
                    "reference.",
                )
            )
    if not s.blocks:
        s.add(Para(NA))
    return s


def section_appendix_desc(a: T.ARD, rule: str) -> Section:
    s = Section("Appendix: descriptive summaries by visit")
    codes = [
        c for c in dict.fromkeys(a.rows("DESC")["paramcd"].to_list()) if not c.endswith("_CHG")
    ]
    for p in codes:
        s.add(_table(a, f"desc_{p}", rule))
    if not s.blocks:
        s.add(Para(NA))
    return s


LISTING_MAX_ROWS = (
    200  # default of the study config's dsmb.listing_max_rows (docs/dsmb.md, "Listings")
)


def listing_table(
    title: str,
    df: pl.DataFrame,
    with_arm: bool,
    names: dict[str, str],
    max_rows: int | None = None,
    full_file: str = "",
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> Table | Para | list:
    """The listing as a report table. Over ``max_rows`` records (the listing policy): a summary
    paragraph (records, subjects, where the full listing is) and a table of the first ``max_rows``
    records in the listing's order, so that the report does not grow with the trial. A coded
    column (AEOUT, AREL, TRTEMFL) prints its labels (:func:`hepatrial.spec.decode.decode`, with
    ``labels``, the study's ``category_labels``)."""
    if df.height == 0:
        return Para(f"{title}: none in this cut.")
    cols = listing_columns(df, with_arm, names)
    from hepatrial.tlf.tables import clip_text  # long source text shows its start and a marker

    shown = df if max_rows is None or df.height <= max_rows else df.head(max_rows)
    rows = [
        ["" if r[c] is None else clip_text(decode(c, str(r[c]), labels)) for c in cols]
        for r in shown.select(cols).iter_rows(named=True)
    ]
    if shown.height == df.height:
        return Table(f"{title} ({df.height} records)", [names[c] for c in cols], rows)
    subjects = df["USUBJID"].n_unique() if "USUBJID" in df.columns else None
    where = f" The full listing is the file {full_file} in the results folder." if full_file else ""
    summary = Para(
        f"{title}: {df.height} records"
        + (f" in {subjects} subjects" if subjects is not None else "")
        + f", more than the {max_rows} a report lists (dsmb.listing_max_rows); the first "
        + f"{max_rows} are shown, in the listing's order.{where}"
    )
    return [
        summary,
        Table(f"{title} (first {max_rows} of {df.height} records)", [names[c] for c in cols], rows),
    ]


def section_listings(
    saes: pl.DataFrame,
    deaths: pl.DataFrame,
    with_arm: bool,
    max_rows: int | None = None,
    files: dict[str, str] | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    not_recorded: Mapping[str, str] | None = None,
) -> Section:
    """The death and SAE listings; ``not_recorded``: the kinds of event the cut does not record
    (``DEATH``, ``SAE``; :func:`_not_recorded`), each with its reason, which its listing says in
    place of "none in this cut"."""
    s = Section("Appendix: listings")
    files = files or {}
    not_recorded = not_recorded or {}
    unknown = {"saes": not_recorded.get("SAE"), "deaths": not_recorded.get("DEATH")}
    for title, df, names, key in (
        ("Listing of deaths", deaths, DEATH_LISTING, "deaths"),
        ("Listing of serious adverse events", saes, SAE_LISTING, "saes"),
    ):
        if unknown[key]:
            s.add(Para(f"{title}: {unknown[key]}"))
            continue
        block = listing_table(title, df, with_arm, names, max_rows, files.get(key, ""), labels)
        for b in block if isinstance(block, list) else [block]:
            s.add(b)
    return s


def section_data_quality(a: T.ARD, by_arm: bool) -> Section:
    s = Section("Data quality")
    arms = [*a.arms, TOTAL] if by_arm else [TOTAL]
    if a.has("DQ_VISITS"):
        rank = {v: i for i, v in enumerate(a.visits())}
        found = dict.fromkeys(a.rows("DQ_VISITS")["avisit"].to_list())
        visits = sorted(found, key=lambda v: (rank.get(v, len(rank)), v))
        rows = []
        for vis in visits:
            for arm in arms:
                rows.append(
                    [vis]
                    + ([shown(arm)] if by_arm else [])
                    + [
                        F.fmt_int(a.get("DQ_VISITS", "VISITS", arm, st, avisit=vis))
                        for st in ("expected", "attended", "missed", "overdue", "no_lab_data")
                    ]
                )
        s.add(
            Table(
                "Scheduled visits: missed visits and overdue data (ITT)",
                [
                    "Visit",
                    *(["Arm"] if by_arm else []),
                    "Expected",
                    "Attended",
                    "Missed",
                    "Overdue",
                    "Attended, no lab data",
                ],
                rows,
                "Expected: visit window closed before the end of the subject's follow-up (the cut, or the "
                "last date known alive after discontinuation). Missed: expected and no visit record in the "
                "window. Overdue: target day passed at the cut, window still open, no visit yet. "
                "Attended, no lab data: a visit record and no laboratory result in the window.",
            )
        )
    else:
        s.add(Para("Visits: " + NA))
    if a.has("DQ_FINDINGS"):
        rows = []
        for p in _paramcds(a, "DQ_FINDINGS"):
            dom, sev, rule = (p.split("|") + ["", "", ""])[:3]
            rows.append(
                [
                    dom,
                    sev,
                    rule,
                    *(
                        F.fmt_int(a.get("DQ_FINDINGS", p, TOTAL, st, ALL_RECORDS))
                        for st in ("n", "n_subjects")
                    ),
                ]
            )
        s.add(
            Table(
                "Validation findings by domain (ingest)",
                ["Domain", "Severity", "Rule", "Findings", "Subjects"],
                rows,
                "From validation/findings.csv: FATAL stops the run; ERROR: a value unusable (set "
                "missing) or missing, or a row excluded; WARNING: flagged and carried (a row sent "
                "twice: excluded); INFO: normalisations. Excluded rows: validation/exclusions.csv.",
            )
        )
    else:
        s.add(Para("Validation findings: none recorded."))
    s.add(
        Para("Protocol deviations: not available in this cut (the data contract has no DV domain).")
    )
    return s


def _sae_unknown(a: T.ARD) -> str | None:
    """Why the cut's SAEs are not known (no ADAE; no seriousness recorded), or None."""
    if T.ae_unknown(a):
        return T.NO_AE_TEXT
    return T.SAE_NOT_COLLECTED_TEXT if T.sae_not_collected(a) else None


def _not_recorded(a: T.ARD) -> dict[str, str]:
    """The kinds of event (``DEATH``, ``SAE``) the cut does not record, each with its reason (a
    cut of ADaM datasets without ADAE, or whose ADSL has neither DTHFL nor DTHDT)."""
    out = {}
    if T.deaths_unknown(a):
        out["DEATH"] = T.NO_DEATHS_TEXT
    if sae := _sae_unknown(a):
        out["SAE"] = sae
    return out


def section_compare_open(
    compare: pl.DataFrame | None, meta: dict, not_recorded: Mapping[str, str] | None = None
) -> Section:
    """Changes since the previous data cut, pooled; ``not_recorded``: event kinds the cut does not
    record (:func:`_not_recorded`), counted "not available"."""
    not_recorded = not_recorded or {}
    unknown = {f"new {k.lower()}s" if k != "SAE" else "new SAEs" for k in not_recorded}
    s = Section("Changes since the previous data cut")
    if compare is None:
        return s.add(Para("No previous data cut is configured (previous_cut); nothing to compare."))
    s.add(
        Para(
            f"Previous data cut: {meta.get('previous_cut')}. Both cuts were ingested with this pipeline "
            f"version and study config."
        )
    )
    new = compare.filter(pl.col("section") == "NEW")
    s.add(
        Table(
            "New since the previous cut (pooled)",
            ["Item", "n"],
            [
                [r["item"], T.NOT_AVAILABLE if r["item"] in unknown else F.fmt_int(r["n"])]
                for r in new.iter_rows(named=True)
            ],
            " ".join(not_recorded.values()),
        )
    )
    cl = compare.filter(pl.col("section") == "CLEANING")
    if cl.height:
        s.add(
            Table(
                "Data cleaning: records of the previous cut that changed or vanished, and records added late",
                ["Kind", "Domain", "Column", "n"],
                [
                    [r["item"], r["domain"], r["column"], F.fmt_int(r["n"])]
                    for r in cl.iter_rows(named=True)
                ],
                "CHANGED: a reported value altered or erased (one count per value); FILLED: a value missing "
                "in the previous cut now present; VANISHED: records no longer in the data; ADDED_LATE: "
                "records dated on or before the previous cut that were not in it. Treatment fields are not "
                "shown in the open report.",
            )
        )
    else:
        s.add(Para("No record of the previous cut changed or vanished."))
    return s


def _estimate_label(analysis: str, paramcd: str) -> str:
    """A moved estimate's parameter as its table names it (a CIF's competing cause, an AE overview
    row, a disposition category), else the parameter's label."""
    if analysis == "CIF":
        return cif_label(paramcd)
    labels = {"AE_OVERVIEW": T.AE_OVERVIEW_LABEL, "DISPOSITION": T.DISPOSITION_LABEL}
    return labels.get(analysis, {}).get(paramcd) or T.param_label(paramcd)


def section_compare_closed(
    compare: dict[str, pl.DataFrame] | None,
    meta: dict,
    decimals: Mapping[str, int] | None = None,
    not_recorded: Mapping[str, str] | None = None,
) -> Section:
    """Changes since the previous data cut; ``decimals``: the ARD's decimals of each parameter
    (the estimates' movement is shown as the tables show the estimates); ``not_recorded``: event
    kinds the cut does not record (:func:`_not_recorded`), said under the new events."""
    s = Section("Changes since the previous data cut")
    if compare is None:
        return s.add(Para("No previous data cut is configured (previous_cut); nothing to compare."))
    s.add(
        Para(
            f"Previous data cut: {meta.get('previous_cut')}, re-ingested and re-analysed with this pipeline "
            f"version and study config."
        )
    )
    ns = compare["new_subjects"]
    s.add(
        listing_table(
            "New subjects",
            ns,
            True,
            {"USUBJID": "Subject", "SITEID": "Site", "arm": "Arm", "RFICDTC": "Consent"},
        )
    )
    ev = compare["new_events"]
    s.add(
        listing_table(
            "New deaths, transplants and SAEs",
            ev,
            True,
            {"event": "Event", "USUBJID": "Subject", "arm": "Arm", "term": "Term", "date": "Date"},
        )
    )
    for kind, why in (not_recorded or {}).items():
        s.add(Para(f"New {'deaths' if kind == 'DEATH' else 'SAEs'}: {why}"))
    ch = compare["changes"]
    if ch.height:
        g = ch.group_by("kind", "domain", "column").len().sort("kind", "domain", "column")
        s.add(
            Table(
                "Data cleaning summary",
                ["Kind", "Domain", "Column", "n"],
                [
                    [r["kind"], r["domain"], r["column"], str(r["len"])]
                    for r in g.iter_rows(named=True)
                ],
            )
        )
        changed = ch.filter(pl.col("kind").is_in(["CHANGED", "VANISHED"])).head(200)
        s.add(
            listing_table(
                "Changed and vanished records (first 200)",
                changed,
                True,
                {
                    "domain": "Domain",
                    "USUBJID": "Subject",
                    "arm": "Arm",
                    "key": "Record key",
                    "kind": "Kind",
                    "column": "Column",
                    "previous": "Previous",
                    "current": "Current",
                },
            )
        )
    else:
        s.add(Para("No record of the previous cut changed or vanished."))
    mv = compare["estimates"]
    if mv.height:
        primary = meta.get("primary_param", "")
        # moved: a change, or a value at one cut only; an estimate missing (NE) at both has not
        prev, cur = (pl.col(c).fill_nan(None) for c in ("previous", "current"))
        moved = mv.filter(
            (pl.col("change").fill_nan(None).fill_null(1.0) != 0)
            & (prev.is_not_null() | cur.is_not_null())
            | (pl.col("paramcd") == primary)
        )
        # visits in their order (WEEK 2 before WEEK 12), not as text
        visit = pl.col("avisit").fill_null("")
        moved = moved.with_columns(
            visit.str.replace(r"-?\d+$", "").alias("_vt"),
            visit.str.extract(r"(-?\d+)$").cast(pl.Int64, strict=False).alias("_vn"),
        ).sort(
            [
                "analysis",
                "paramcd",
                "population",
                "arm",
                "comparator",
                "_vt",
                "_vn",
                "time",
                "stat",
            ],
            nulls_last=False,
            maintain_order=True,
        )
        rows = []
        for r in moved.iter_rows(named=True):
            t = "" if r["time"] is None else f"day {F.fmt_int(r['time'])}"
            st = r["stat"]
            if st in ("surv", "cif"):
                f = F.fmt_prob_pct
            else:
                f = lambda x, st=st, p=r["paramcd"]: F.fmt_stat(x, p, st, decimals)
            rows.append(
                [
                    r["analysis"],
                    _estimate_label(r["analysis"], r["paramcd"]),
                    shown(r["arm"]),
                    r["comparator"],
                    r["avisit"] or t,
                    st + (" (%)" if st in ("surv", "cif") else ""),
                    f(r["previous"]),
                    f(r["current"]),
                    f(r["change"]) if st != "p" else "",
                ]
            )
        s.add(
            Table(
                "Movement in key estimates",
                [
                    "Analysis",
                    "Parameter",
                    "Arm",
                    "vs",
                    "Visit / time",
                    "Statistic",
                    "Previous",
                    "Current",
                    "Change",
                ],
                rows,
                f"Estimates that changed since the previous cut (and every estimate of the primary endpoint); "
                f"{mv.height - moved.height} key estimates unchanged are not listed. Counts as integers; "
                f"survival and cumulative incidence in %; decimals by statistic as in the tables.",
            )
        )
    else:
        s.add(Para("Movement in key estimates: " + NA))
    return s


# --- the two documents -------------------------------------------------------------------------------


def _doc(kind: str, meta: dict, audience: str) -> Document:
    return Document(
        kind,
        meta["study_id"],
        meta.get("title", ""),
        meta["cut_date"],
        meta["version"],
        meta["manifest_hash"],
        audience=audience,
        report_version=meta.get("report_version") or "1.0",
        meeting_date=meta.get("meeting_date") or "",
        preparer=meta.get("preparer") or "",
    )


def _max_rows(meta: dict) -> int:
    v = meta.get("listing_max_rows")
    return LISTING_MAX_ROWS if v is None else int(v)


def open_document(
    pooled: pl.DataFrame,
    saes: pl.DataFrame,
    deaths: pl.DataFrame,
    compare: pl.DataFrame | None,
    meta: dict,
    spec: Study,
) -> Document:
    ard = with_arm_columns(pooled)
    a = T.ARD(ard, spec, meta["cut_date"])
    doc = _doc(
        "OPEN",
        meta,
        "For the sponsor, the investigators and the open session of the DSMB. Pooled data "
        "only: no result by arm and no efficacy result.",
    )
    doc.sections = [
        section_summary(a, meta, False),
        section_enrolment(a, {}, meta, False),
        section_tables("Disposition", a, [("disposition", "DISPOSITION")], RULE_OPEN),
        section_tables("Baseline characteristics", a, [("baseline", "BASELINE")], RULE_OPEN),
        section_tables("Exposure", a, [("exposure", "EXPOSURE")], RULE_OPEN),
        section_tables("Safety (pooled over arms)", a, SAFETY_TABLES, RULE_OPEN),
        section_data_quality(a, False),
        section_compare_open(compare, meta, _not_recorded(a)),
        section_listings(
            saes,
            deaths,
            False,
            _max_rows(meta),
            meta.get("listing_files"),
            spec.category_labels,
            _not_recorded(a),
        ),
    ]
    return doc


def closed_document(
    ard: pl.DataFrame,
    arms: list[dict],
    saes: pl.DataFrame,
    deaths: pl.DataFrame,
    km: pl.DataFrame,
    compare: dict | None,
    meta: dict,
    spec: Study,
) -> Document:
    a = T.ARD(ard, spec, meta["cut_date"])
    if a.arms != [x["display"] for x in arms]:
        raise ValueError(
            f"the presentation spec's arms {a.arms} are not the coded arms {[x['display'] for x in arms]}"
        )
    masked = meta.get("masked", True)
    doc = _doc(
        "CLOSED",
        meta,
        "CONFIDENTIAL: for DSMB members only (closed session). Results by arm. "
        + (
            "Arms are coded; the key is held by the independent statistician."
            if masked
            else "Arms are shown unmasked (masked_dsmb: false)."
        ),
    )
    meta = dict(meta, primary_param=primary_param(spec))
    interim = section_interim(a)
    doc.sections = [
        section_summary(a, meta, True),
        *([interim] if interim else []),
        section_enrolment(a, {x["display"]: x["colour"] for x in arms}, meta, True),
        section_tables("Disposition", a, [("disposition", "DISPOSITION")], RULE_CLOSED),
        section_tables("Baseline characteristics", a, [("baseline", "BASELINE")], RULE_CLOSED),
        section_tables("Exposure", a, [("exposure", "EXPOSURE")], RULE_CLOSED),
        section_tables(
            "Safety",
            a,
            [("dlt", "DLT"), *SAFETY_TABLES],  # dose escalation: the DLTs first
            RULE_CLOSED,
            {"dlt": "PRIMARY ENDPOINT. "} if spec.primary_is_dlt else None,
        ),
        *section_efficacy(a, km, RULE_CLOSED),
        *([est] if (est := section_estimands(a, RULE_CLOSED)) else []),
        section_data_quality(a, True),
        section_compare_closed(compare, meta, a.decimals, _not_recorded(a)),
        section_appendix_desc(a, RULE_CLOSED),
        section_listings(
            saes,
            deaths,
            True,
            _max_rows(meta),
            meta.get("listing_files"),
            spec.category_labels,
            _not_recorded(a),
        ),
    ]
    return doc

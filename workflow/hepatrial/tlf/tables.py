"""Tables and listings as plain frames of strings, built from the ARD (listings from ADaM).

Each ``table_*`` function returns a :class:`Table`: title, population, column headers with the N of
each arm (ARD ``BIGN``), body rows (group, label, indent, cells), footnotes (the ARD ``method`` of the
rows shown) and a source line. A table looks numbers up and formats them (:mod:`hepatrial.tlf.format`);
it never computes a statistic. Arms are in the study config's order, then Total (ARD arm ``ALL``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

from hepatrial.ard import POOLED
from hepatrial.config import reference_arm
from hepatrial.errors import HepatrialError
from hepatrial.tlf import format as F
from hepatrial.tlf.sap import methods_note, mmrm_words
from hepatrial.tlf.shell import Shell

POP_LABEL = {"ITT": "Intent-to-treat population", "SAFETY": "Safety population", "PP": "Per-protocol population",
             "COMPLETERS": "Completers", "ENROLLED": "Enrolled subjects"}
TOTAL = "Total"
PARAM_LABEL = {
    "MELD": "MELD (UNOS)", "MELDKAM": "MELD (Kamath)", "MELDNA": "MELD-Na", "MELD3": "MELD 3.0",
    "CTPSCORE": "Child-Turcotte-Pugh score", "BILI": "Total bilirubin (umol/L)", "ALB": "Albumin (g/L)",
    "INR": "INR", "CREAT": "Creatinine (umol/L)", "SODIUM": "Sodium (mmol/L)", "IGA": "Immunoglobulin A (g/L)",
    "IGG": "Immunoglobulin G (g/L)", "IGM": "Immunoglobulin M (g/L)",
    "ALT": "Alanine aminotransferase (U/L)", "AST": "Aspartate aminotransferase (U/L)",
    "PLAT": "Platelets (10^9/L)", "WBC": "White blood cells (10^9/L)", "AFP": "Alpha-fetoprotein (ng/mL)",
    "HGB": "Haemoglobin (g/L)", "GGT": "Gamma-glutamyltransferase (U/L)", "ALP": "Alkaline phosphatase (U/L)",
    "CHE": "Cholinesterase (U/L)", "PTACT": "Prothrombin activity (%)", "HBVDNA": "HBV DNA (IU/mL)",
    "TFS": "Transplant-free survival", "OS": "Overall survival", "DECOMP": "Time to first new decompensation",
    "HCC": "Time to hepatocellular carcinoma", "LIVFAIL": "Time to liver failure",
    "TFS_DEATH": "Death without transplant", "TFS_LTX": "Liver transplant", "DECOMP_DEATH": "Death (competing)",
    "CLDQOVR": "CLDQ overall score", "CLDQAS": "CLDQ abdominal symptoms", "CLDQFA": "CLDQ fatigue",
    "CLDQSY": "CLDQ systemic symptoms", "CLDQAC": "CLDQ activity", "CLDQEM": "CLDQ emotional function",
    "CLDQWO": "CLDQ worry", "CLDQSUM": "CLDQ total (sum of items)", "EQ5DIDX": "EQ-5D-5L index",
    "EQ5DVAS": "EQ-5D-5L VAS", "SFPF": "SF-36 physical functioning", "SFRP": "SF-36 role limitations (physical)",
    "SFPN": "SF-36 pain", "SFGH": "SF-36 general health", "SFEF": "SF-36 energy/fatigue",
    "SFSF": "SF-36 social functioning", "SFRE": "SF-36 role limitations (emotional)",
    "SFEW": "SF-36 emotional well-being", "SFHC": "SF-36 health change",
}
VAR_LABEL = {"AGE": "Age (years)", "BLMELD": "MELD at baseline", "BLCTPS": "CTP score at baseline",
             "SEX": "Sex", "RACE": "Race", "ETIOLOGY": "Etiology of cirrhosis", "BLCTPC": "CTP class at baseline",
             "CTPSTRAT": "CTP stratum at randomisation", "NINFUS": "Infusions received"}
CAT_LABEL = {"SEX": {"M": "Male", "F": "Female"}}
AE_OVERVIEW_LABEL = {
    "ANYTEAE": "Any TEAE", "RELTEAE": "Treatment-related TEAE", "SERTEAE": "Serious TEAE",
    "GR3TEAE": "TEAE of CTCAE grade 3 or higher", "WDTEAE": "TEAE leading to withdrawal",
    "FATALTEAE": "TEAE with fatal outcome",
}
DISPOSITION_LABEL = {"ITT": "Randomised (ITT)", "TREATED": "Treated (at least one infusion)",
                     "COMPLETED": "Completed the study", "ONGOING": "Ongoing at the data cut",
                     "DISCONTINUED": "Discontinued the study"}
SUMMARY_STATS = [("n", ("n",)), ("Mean (SD)", ("mean", "sd")), ("Median", ("median",)),
                 ("Q1, Q3", ("q1", "q3")), ("Min, Max", ("min", "max"))]


@dataclass
class Row:
    group: str
    label: str
    cells: list[str]
    indent: int = 0


@dataclass
class Table:
    name: str
    title: str
    population: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    source: str = ""
    stub_header: str = ""
    group_rows: bool = True  # False: the group is only a key of the CSV (e.g. the SOC of a PT row)
    number: str = ""  # "14.1.1", from the study's numbering scheme (shell.assign_numbers)
    kind: str = "Table"  # Table or Listing: the word before the number
    shell: Shell | None = None  # the running header (protocol, title, cut, stamp)

    def add(self, group: str, label: str, cells: list[str] | None = None, indent: int = 0) -> None:
        self.rows.append(Row(group, label, cells if cells is not None else [""] * len(self.columns), indent))

    def frame(self) -> pl.DataFrame:
        """The body as a frame: ``group``, ``label`` and one column per header (the CSV rendering)."""
        data = {"group": [r.group for r in self.rows], "label": [r.label for r in self.rows]}
        for j, c in enumerate(self.columns):
            data[c] = [r.cells[j] for r in self.rows]
        return pl.DataFrame(data, schema={k: pl.Utf8 for k in data})


class ARD:
    """Lookup over the ARD: ``get(analysis, paramcd, arm, stat, ...)`` -> value (None when absent)."""

    def __init__(self, ard: pl.DataFrame, study: dict, cut: str):
        self.df = ard
        self.study = study
        self.cut = cut
        self._idx = {}
        for r in ard.iter_rows(named=True):
            t = None if r["time"] is None else float(r["time"])
            self._idx[(r["analysis"], r["paramcd"], r["population"], r["arm"], r["comparator"] or "",
                       r["avisit"] or "", t, r["stat"])] = r["value"]
        self.arms = [a["label"] for a in study["arms"]]
        self.reference = reference_arm(study)
        self.parallel = study["study"]["design"] == "parallel"
        self.tests = [a for a in self.arms if a != self.reference] if self.parallel else []

    def get(self, analysis, paramcd, arm, stat, population="ITT", avisit="", comparator="", time=None):
        t = None if time is None else float(time)
        return self._idx.get((analysis, paramcd, population, arm, comparator, avisit, t, stat))

    def rows(self, analysis: str, **eq) -> pl.DataFrame:
        df = self.df.filter(pl.col("analysis") == analysis)
        for k, v in eq.items():
            df = df.filter(pl.col(k) == v)
        return df

    def has(self, analysis: str, **eq) -> bool:
        return self.rows(analysis, **eq).height > 0

    def big_n(self, population: str, arm: str):
        return self.get("BIGN", "N", arm, "n", population)

    def header(self, population: str, total: bool = True) -> list[str]:
        out = []
        for arm in self.arms + ([POOLED] if total else []):
            n = self.big_n(population, arm)
            label = TOTAL if arm == POOLED else arm
            out.append(f"{label} (N={F.fmt_int(n)})" if n is not None else label)
        return out

    def methods(self, analysis: str | list[str], **eq) -> list[str]:
        analyses = [analysis] if isinstance(analysis, str) else analysis
        df = self.df.filter(pl.col("analysis").is_in(analyses))
        for k, v in eq.items():
            df = df.filter(pl.col(k).is_in(v) if isinstance(v, list) else pl.col(k) == v)
        return sorted(m for m in df["method"].drop_nulls().unique().to_list() if m)

    def visits(self) -> list[str]:
        return [v["label"] for v in sorted(self.study["visits"], key=lambda v: v["avisitn"])]


def _source(ard: ARD, rule: str, analyses: list[str]) -> str:
    return (f"Source: ARD analyses {', '.join(analyses)}; rule {rule}; data cut {ard.cut}; "
            f"study {ard.study['study']['id']}.")


def _methods_note(methods: list[str]) -> str:
    """The ARD methods of the rows shown, in SAP words (:mod:`hepatrial.tlf.sap`)."""
    return methods_note(methods)


def _finish(t: Table, ard: ARD, rule: str, analyses: list[str], methods: list[str], notes: list[str]) -> Table:
    t.footnotes = [n for n in [*notes, _methods_note(methods)] if n]
    t.source = _source(ard, rule, analyses)
    t.shell = Shell.of(ard.study, ard.cut)
    if not t.rows:
        t.add("", "No data for this table in the ARD of this cut.")
    return t


def param_label(paramcd: str) -> str:
    return PARAM_LABEL.get(paramcd, paramcd)


def _summary_cells(ard: ARD, analysis: str, paramcd: str, arms: list[str], population: str, avisit: str = "",
                   dec_param: str | None = None) -> list[tuple[str, list[str]]]:
    """The five summary rows (n, Mean (SD), Median, Q1, Q3, Min, Max) of one parameter."""
    dp = dec_param or paramcd
    out = []
    for label, stats in SUMMARY_STATS:
        cells = []
        for arm in arms:
            v = [ard.get(analysis, paramcd, arm, s, population, avisit) for s in stats]
            n = ard.get(analysis, paramcd, arm, "n", population, avisit)
            if n is None or (label != "n" and float(n) == 0):
                cells.append("" if n is None else "-")
            elif label == "n":
                cells.append(F.fmt_int(v[0]))
            elif label == "Mean (SD)":
                cells.append(F.fmt_mean_sd(v[0], v[1], dp))
            elif len(stats) == 2:
                cells.append(F.fmt_range(v[0], v[1], dp, stats))
            else:
                cells.append(F.fmt_stat(v[0], dp, stats[0]))
        out.append((label, cells))
    return out


def table_disposition(ard: ARD, rule: str = "tlf_disposition") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table("disposition", "Subject disposition", POP_LABEL[pop], ard.header(pop), stub_header="")
    codes = ard.rows("DISPOSITION", population=pop)["paramcd"].unique().to_list()
    order = [c for c in (pop, "TREATED", "COMPLETED", "ONGOING", "DISCONTINUED") if c in codes]
    reasons = sorted(c for c in codes if c.startswith("DISCONTINUED: "))
    for code in order + reasons:
        label = DISPOSITION_LABEL.get(code, code)
        indent = 0
        if code.startswith("DISCONTINUED: "):
            label, indent = code.removeprefix("DISCONTINUED: ").capitalize(), 1
        cells = [F.fmt_n_pct(ard.get("DISPOSITION", code, a, "n", pop), ard.get("DISPOSITION", code, a, "pct", pop))
                 for a in arms]
        t.add("", label, cells, indent)
    notes = ["Percentages are of the ITT subjects in the column. Reasons for discontinuation as recorded (DS)."]
    return _finish(t, ard, rule, ["DISPOSITION", "BIGN"], ard.methods("DISPOSITION"), notes)


def _category_order(ard: ARD, analysis: str, var: str, population: str) -> list[str]:
    codes = ard.rows(analysis, population=population)["paramcd"].unique().to_list()
    cats = [c.split("=", 1)[1] for c in codes if c.startswith(var + "=")]
    order = {"A": 0, "B": 1, "C": 2}
    return sorted(cats, key=lambda c: (c == F.NE or c == "Missing", order.get(c, 9), _num_key(c), c))


def _num_key(c: str) -> float:
    try:
        return float(c)
    except ValueError:
        return math.inf


def table_baseline(ard: ARD, rule: str = "tlf_baseline") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table("baseline", "Demographics and baseline characteristics", POP_LABEL[pop], ard.header(pop))
    codes = ard.rows("BASELINE", population=pop)["paramcd"].unique().to_list()
    conts = [v for v in ("AGE", "BLMELD", "BLCTPS") if v in codes]
    present = list(dict.fromkeys(c.split("=", 1)[0] for c in sorted(codes) if "=" in c))
    first = ["SEX", "RACE", "ETIOLOGY", "BLCTPC", *ard.study["strata"]]
    cats = [v for v in first if v in present] + [v for v in present if v not in first]
    for var in conts:
        group = VAR_LABEL.get(var, var)
        for label, cells in _summary_cells(ard, "BASELINE", var, arms, pop):
            t.add(group, label, cells, 1)
    for var in cats:
        group = VAR_LABEL.get(var, var) + ", n (%)"
        for cat in _category_order(ard, "BASELINE", var, pop):
            code = f"{var}={cat}"
            cells = [F.fmt_n_pct(ard.get("BASELINE", code, a, "n", pop), ard.get("BASELINE", code, a, "pct", pop))
                     for a in arms]
            t.add(group, CAT_LABEL.get(var, {}).get(cat, cat), cells, 1)
    meld = ard.study["scores"]["meld_primary"]
    notes = [f"Percentages are of the ITT subjects in the column. MELD at baseline: {param_label(meld)}; "
             "CTP: Child-Turcotte-Pugh. Baseline: last non-missing value on or before day 1."]
    return _finish(t, ard, rule, ["BASELINE", "BIGN"], ard.methods("BASELINE"), notes)


def table_exposure(ard: ARD, rule: str = "tlf_exposure") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("exposure", "Exposure to study treatment", POP_LABEL[pop], ard.header(pop))
    group = f"Infusions received (planned: {ard.study['planned_infusions']}), n (%)"
    for cat in _category_order(ard, "EXPOSURE", "NINFUS", pop):
        code = f"NINFUS={cat}"
        t.add(group, cat, [F.fmt_n_pct(ard.get("EXPOSURE", code, a, "n", pop),
                                       ard.get("EXPOSURE", code, a, "pct", pop)) for a in arms], 1)
    if ard.has("EXPOSURE", paramcd="NINFUS"):
        for label, cells in _summary_cells(ard, "EXPOSURE", "NINFUS", arms, pop):
            t.add("Infusions per subject", label, cells, 1)
    notes = ["Safety population: subjects with at least one infusion, by the treatment actually received."]
    return _finish(t, ard, rule, ["EXPOSURE", "BIGN"], ard.methods("EXPOSURE"), notes)


def table_mmrm(ard: ARD, paramcd: str, rule: str = "tlf_mmrm") -> Table:
    pop = "ITT"
    arms = ard.arms
    label = param_label(paramcd)
    t = Table(f"mmrm_{paramcd}", f"Change from baseline in {label} by visit: mixed model for repeated measures",
              POP_LABEL[pop], ard.header(pop, total=False))
    d_mean, d_se = F.stat_decimals(paramcd, "lsmean"), F.stat_decimals(paramcd, "se")
    lsm = ard.rows("MMRM_LSMEAN", paramcd=paramcd, population=pop)
    visits = [v for v in ard.visits() if v in set(lsm["avisit"].to_list())]
    for v in visits:
        t.add(v, "n", [F.fmt_int(ard.get("MMRM_LSMEAN", paramcd, a, "n", pop, v)) for a in arms], 1)
        t.add(v, "LS mean (SE)", [
            f"{F.fmt_num(ard.get('MMRM_LSMEAN', paramcd, a, 'lsmean', pop, v), d_mean)} "
            f"({F.fmt_num(ard.get('MMRM_LSMEAN', paramcd, a, 'se', pop, v), d_se)})" for a in arms], 1)
        t.add(v, "95% CI", [F.fmt_ci(ard.get("MMRM_LSMEAN", paramcd, a, "lower", pop, v),
                                     ard.get("MMRM_LSMEAN", paramcd, a, "upper", pop, v), d_mean) for a in arms], 1)
        for test in ard.tests:
            g = lambda s: ard.get("MMRM_DIFF", paramcd, test, s, pop, v, ard.reference)  # noqa: E731
            if g("estimate") is None:
                continue
            cell = lambda text: [text if a == test else "" for a in arms]  # noqa: E731
            t.add(v, f"Difference vs {ard.reference} (SE)",
                  cell(f"{F.fmt_num(g('estimate'), d_mean)} ({F.fmt_num(g('se'), d_se)})"), 1)
            t.add(v, "95% CI of the difference", cell(F.fmt_ci(g("lower"), g("upper"), d_mean)), 1)
            t.add(v, "p-value", cell(F.fmt_p(g("p"))), 1)
    fit = ard.rows("MMRM_FIT", paramcd=paramcd, population=pop)
    notes = [f"Change from baseline in {label}. LS: least squares; SE: standard error; CI: confidence interval; "
             "p: two-sided."]
    if fit.height:
        models = sorted(fit["method"].drop_nulls().unique().to_list())
        stat = {r["stat"]: r["value"] for r in fit.iter_rows(named=True)}
        notes += [mmrm_words(m, label) for m in models]
        notes.append(f"The model was fitted to {F.fmt_int(stat.get('n_subjects'))} subjects and "
                     f"{F.fmt_int(stat.get('n_obs'))} post-baseline observations and "
                     f"{'converged' if stat.get('converged') == 1 else 'did not converge'}.")
    methods = ard.methods(["MMRM_LSMEAN", "MMRM_DIFF"], paramcd=paramcd, population=pop)
    return _finish(t, ard, rule, ["MMRM_LSMEAN", "MMRM_DIFF", "MMRM_FIT", "BIGN"], methods, notes)


def table_desc(ard: ARD, paramcd: str, rule: str = "tlf_desc") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    label = param_label(paramcd)
    t = Table(f"desc_{paramcd}", f"{label}: observed values and change from baseline by visit",
              POP_LABEL[pop], ard.header(pop))
    desc = ard.rows("DESC", population=pop).filter(pl.col("paramcd").is_in([paramcd, paramcd + "_CHG"]))
    have = set(desc.select("paramcd", "avisit").iter_rows())
    for v in ard.visits():
        for code, sub in ((paramcd, "Observed value"), (paramcd + "_CHG", "Change from baseline")):
            if (code, v) not in have:
                continue
            t.add(v, sub, None, 0)
            for lab, cells in _summary_cells(ard, "DESC", code, arms, pop, v, dec_param=paramcd):
                t.add(v, lab, cells, 1)
    notes = ["Analysed record per visit (ANL01FL). SD: standard deviation; Q1, Q3: quartiles."]
    return _finish(t, ard, rule, ["DESC", "BIGN"], ard.methods("DESC", paramcd=[paramcd, paramcd + "_CHG"]), notes)


def _cmp_col(ard: ARD, arm: str, arms: list[str]) -> str:
    return arm if arm in arms else POOLED


def _pct_ci_cells(ard: ARD, analysis: str, stat: str, paramcd: str, pop: str, time: float,
                  arms: list[str]) -> list[str]:
    """``<stat> % (lower, upper)`` per arm at ``time`` (KM surv, CIF cif); empty where the ARD has none."""
    def cell(a: str) -> str:
        est = ard.get(analysis, paramcd, a, stat, pop, time=time)
        if est is None:
            return ""
        lo, hi = (ard.get(analysis, paramcd, a, s, pop, time=time) for s in ("lower", "upper"))
        return f"{F.fmt_prob_pct(est)} ({F.fmt_prob_pct(lo)}, {F.fmt_prob_pct(hi)})"

    return [cell(a) for a in arms]


def _add_test_p_rows(t: Table, ard: ARD, group: str, paramcd: str, analyses: tuple[str, ...], label: str,
                     arms: list[str]) -> None:
    """One row per test of ``analyses`` (stratified, unstratified): its p-value in the compared arm's column."""
    for analysis in analyses:
        for r in ard.rows(analysis, paramcd=paramcd, stat="p").iter_rows(named=True):
            col = _cmp_col(ard, r["arm"], ard.arms)
            t.add(group, label + _strat_note(analysis, r["method"]),
                  [F.fmt_p(r["value"]) if a == col else "" for a in arms], 1)


def table_km(ard: ARD, rule: str = "tlf_km") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table("km", "Time-to-event endpoints: Kaplan-Meier summary", POP_LABEL[pop], ard.header(pop))
    params = [p for p in ard.study["endpoints"]["tte"] if ard.has("KM", paramcd=p) or ard.has("KM_MEDIAN", paramcd=p)]
    for p in params:
        g = param_label(p)
        pop_p = _pop_of(ard, ["KM", "KM_MEDIAN"], p)
        # Subjects, events and censored: ARD KM_EVENTS (n, n_event, pct_event, n_censor, pct_censor) when the
        # survival rule writes it; the table does not count them itself.
        for stat, lab in (("n", "Subjects"), ("n_event", "Events, n (%)"), ("n_censor", "Censored, n (%)")):
            if not ard.has("KM_EVENTS", paramcd=p, stat=stat):
                continue
            cells = []
            for a in arms:
                v = ard.get("KM_EVENTS", p, a, stat, pop_p)
                pct = ard.get("KM_EVENTS", p, a, "pct_" + stat.removeprefix("n_"), pop_p) if stat != "n" else None
                cells.append("" if v is None else F.fmt_int(v) if stat == "n" else F.fmt_n_pct(v, pct))
            t.add(g, lab, cells, 1)
        if ard.has("KM_MEDIAN", paramcd=p):
            t.add(g, "Median, days (95% CI)", [F.fmt_est_ci(*(ard.get("KM_MEDIAN", p, a, s, pop_p)
                                                              for s in ("median", "lower", "upper")), 1)
                                               for a in arms], 1)
        times = sorted({x for x in ard.rows("KM", paramcd=p)["time"].to_list() if x is not None})
        for tm in times:
            t.add(g, f"Event-free at {_day(tm)}, % (95% CI)", _pct_ci_cells(ard, "KM", "surv", p, pop_p, tm, arms), 1)
            t.add(g, f"At risk at {_day(tm)}", [F.fmt_int(ard.get("KM", p, a, "n_risk", pop_p, time=tm))
                                                         if ard.get("KM", p, a, "n_risk", pop_p, time=tm) is not None
                                                         else "" for a in arms], 2)
        if ard.parallel:
            _add_test_p_rows(t, ard, g, p, ("LOGRANK", "LOGRANK_UNSTRAT"), "Log-rank test p-value", arms)
            for analysis in ("COX", "COX_UNSTRAT"):
                for r in ard.rows(analysis, paramcd=p, stat="hr").iter_rows(named=True):
                    col = _cmp_col(ard, r["arm"], ard.arms)
                    key = (r["population"], r["avisit"], r["comparator"], r["time"])
                    lo, hi, pv = (ard.get(analysis, p, r["arm"], s, *key) for s in ("lower", "upper", "p"))
                    note = _strat_note(analysis, r["method"])
                    t.add(g, f"Hazard ratio vs {r['comparator'] or ard.reference} (95% CI){note}",
                          [F.fmt_est_ci(r["value"], lo, hi, 2) if a == col else "" for a in arms], 1)
                    t.add(g, f"Cox p-value{note}", [F.fmt_p(pv) if a == col else "" for a in arms], 1)
    notes = ["Time from randomisation in days. NE: not estimable. Event-free rates are Kaplan-Meier estimates "
             "shown as percentages."]
    analyses = ["KM_EVENTS", "KM", "KM_MEDIAN", "LOGRANK", "LOGRANK_UNSTRAT", "COX", "COX_UNSTRAT"]
    return _finish(t, ard, rule, [*analyses, "BIGN"], ard.methods(analyses, paramcd=params), notes)


def _strat_note(analysis: str, method: str | None) -> str:
    if analysis.endswith("_UNSTRAT"):
        return ", unstratified"
    return ", stratified" if "stratified" in (method or "") else ""


CIF_EVENT = {"": None, "_DEATH": "death (competing)", "_LTX": "liver transplant (competing)"}
CIF_MAIN = {"DECOMP": "new decompensation", "HCC": "hepatocellular carcinoma", "LIVFAIL": "liver failure"}


def cif_label(paramcd: str) -> str:
    """``TFS_DEATH`` -> "Transplant-free survival: death without transplant", ``DECOMP`` -> "... new decompensation"."""
    if paramcd == "TFS_DEATH":
        return "Transplant-free survival: death without transplant"
    if paramcd == "TFS_LTX":
        return "Transplant-free survival: liver transplant"
    for suffix in ("_DEATH", "_LTX"):
        if paramcd.endswith(suffix):
            base = paramcd.removesuffix(suffix)
            return f"{CIF_MAIN.get(base, base).capitalize()}: {CIF_EVENT[suffix]}"
    return CIF_MAIN.get(paramcd, paramcd).capitalize()


def _cif_order(ard: ARD, paramcd: str):
    tte = ard.study["endpoints"]["tte"]
    base = paramcd.removesuffix("_DEATH").removesuffix("_LTX")
    return (tte.index(base) if base in tte else 99, ["", "_DEATH", "_LTX"].index(paramcd[len(base):])
            if paramcd[len(base):] in ("", "_DEATH", "_LTX") else 9, paramcd)


def _day(t: float) -> str:
    """``day 168 (week 24)``; the week only when the day is a whole number of weeks."""
    d = float(t)
    return f"day {F.fmt_int(d)}" + (f" (week {int(d // 7)})" if d > 0 and d % 7 == 0 else "")


def _pop_of(ard: ARD, analyses: list[str], paramcd: str) -> str:
    df = ard.df.filter(pl.col("analysis").is_in(analyses) & (pl.col("paramcd") == paramcd))
    return df["population"][0] if df.height else "ITT"


def table_cif(ard: ARD, rule: str = "tlf_cif") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table("cif", "Cumulative incidence of competing events (Aalen-Johansen)", POP_LABEL[pop], ard.header(pop))
    params = sorted(ard.rows("CIF")["paramcd"].unique().to_list(), key=lambda x: _cif_order(ard, x))
    for p in params:
        g = cif_label(p)
        pop_p = _pop_of(ard, ["CIF"], p)
        for tm in sorted({x for x in ard.rows("CIF", paramcd=p)["time"].to_list() if x is not None}):
            t.add(g, f"Cumulative incidence at {_day(tm)}, % (95% CI)",
                  _pct_ci_cells(ard, "CIF", "cif", p, pop_p, tm, arms), 1)
        if ard.parallel:
            _add_test_p_rows(t, ard, g, p, ("GRAY", "GRAY_UNSTRAT"), "Gray's test p-value", arms)
    notes = ["Time from randomisation in days; competing events: death and liver transplant as coded in ADTTE "
             "(CRCODE). Cumulative incidences shown as percentages."]
    analyses = ["CIF", "GRAY", "GRAY_UNSTRAT"]
    return _finish(t, ard, rule, [*analyses, "BIGN"], ard.methods(analyses), notes)


def _n_pct_e(ard: ARD, analysis: str, code: str, arm: str, pop: str) -> str:
    n, pct, e = (ard.get(analysis, code, arm, s, pop) for s in ("n_subjects", "pct", "n_events"))
    if n is None:
        return "0"
    return F.fmt_n_pct(n, pct) + ("" if float(n) == 0 else f" [{F.fmt_int(e)}]")


def table_ae_overview(ard: ARD, rule: str = "tlf_ae_overview") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("ae_overview", "Overview of treatment-emergent adverse events", POP_LABEL[pop], ard.header(pop))
    codes = set(ard.rows("AE_OVERVIEW", population=pop)["paramcd"].to_list())
    for code, label in AE_OVERVIEW_LABEL.items():
        if code in codes:
            t.add("", label, [_n_pct_e(ard, "AE_OVERVIEW", code, a, pop) for a in arms])
    notes = ["n (%) [E]: subjects with at least one event (% of the safety population in the column) [number of "
             "events]. TEAE: treatment-emergent adverse event (onset on or after the first infusion and within "
             f"{ard.study['ae']['followup_days']} days of the last)."]
    return _finish(t, ard, rule, ["AE_OVERVIEW", "BIGN"], ard.methods("AE_OVERVIEW"), notes)


def table_ae_soc_pt(ard: ARD, rule: str = "tlf_ae_soc_pt") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("ae_soc_pt", "Treatment-emergent adverse events by system organ class and preferred term",
              POP_LABEL[pop], ard.header(pop), stub_header="System organ class / Preferred term", group_rows=False)
    inc = ard.rows("AE_INCIDENCE", population=pop)
    soc_rows = inc.filter(pl.col("method") == "TEAE by system organ class")
    pt_rows = inc.filter(pl.col("method").str.starts_with("TEAE by preferred term; SOC: "))

    def total(df, code):
        v = df.filter((pl.col("paramcd") == code) & (pl.col("arm") == POOLED) & (pl.col("stat") == "n_subjects"))
        return -(v["value"][0] if v.height else 0)

    socs = sorted(soc_rows["paramcd"].unique().to_list(), key=lambda s: (total(soc_rows, s), s))
    # the "any" row: subjects with at least one TEAE (AE_INCIDENCE ANY when the ARD has it, else the
    # overview's ANYTEAE, the same count)
    any_src = (("AE_INCIDENCE", "ANY") if ard.has("AE_INCIDENCE", paramcd="ANY")
               else ("AE_OVERVIEW", "ANYTEAE"))
    if ard.has(any_src[0], paramcd=any_src[1], population=pop):
        t.add("", "Any TEAE", [_n_pct_e(ard, *any_src, a, pop) for a in arms], 0)
    for soc in socs:
        t.add(soc, soc, [_n_pct_e(ard, "AE_INCIDENCE", soc, a, pop) for a in arms], 0)
        pts = pt_rows.filter(pl.col("method") == f"TEAE by preferred term; SOC: {soc}")
        for pt in sorted(pts["paramcd"].unique().to_list(), key=lambda s: (total(pts, s), s)):
            t.add(soc, pt, [_n_pct_e(ard, "AE_INCIDENCE", pt, a, pop) for a in arms], 1)
    notes = ["n (%) [E]: subjects with at least one event (% of the safety population in the column) [events]. "
             "A subject counts once per system organ class and once per preferred term. Sorted by decreasing "
             "frequency in the Total column, then alphabetically."]
    return _finish(t, ard, rule, ["AE_INCIDENCE", "AE_OVERVIEW", "BIGN"], [], notes)


def _soc_pt_rows(t: Table, ard: ARD, analysis: str, pop: str, arms: list[str], cell) -> None:
    """SOC rows (by decreasing Total frequency), each followed by its PT rows (``paramcd`` ``SOC|PT``)."""
    codes = [c for c in ard.rows(analysis, population=pop)["paramcd"].unique().to_list() if c != "ANY"]

    def freq(code):
        v = ard.get(analysis, code, POOLED, "n_subjects", pop)
        if v is None:  # AE_GRADE: subjects at any grade
            v = ard.get(analysis, code, POOLED, "n_any", pop)
        return -(v or 0)

    socs = sorted((c for c in codes if "|" not in c), key=lambda c: (freq(c), c))
    for soc in socs:
        cell(soc, soc, 0)
        pts = [c for c in codes if c.startswith(soc + "|")]
        for pt in sorted(pts, key=lambda c: (freq(c), c)):
            cell(soc, pt, 1)


def table_ae_grade(ard: ARD, rule: str = "tlf_ae_grade") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("ae_grade", "Treatment-emergent adverse events by system organ class, preferred term and worst "
              "grade", POP_LABEL[pop], ard.header(pop), stub_header="System organ class / Preferred term / Worst "
              "grade", group_rows=False)
    grades = [g for g in range(1, 6) if any((ard.get("AE_GRADE", c, POOLED, f"n_grade{g}", pop) or 0) > 0
                                             for c in ard.rows("AE_GRADE")["paramcd"].unique().to_list())]

    def add(group, code, indent):
        label = "Any TEAE" if code == "ANY" else code.split("|")[-1]
        t.add(group, label, [F.fmt_n_pct(ard.get("AE_GRADE", code, a, "n_any", pop),
                                         ard.get("AE_GRADE", code, a, "pct_any", pop)) for a in arms], indent)
        for g in grades:
            if not any(ard.get("AE_GRADE", code, a, f"n_grade{g}", pop) for a in arms):
                continue
            t.add(group, f"Grade {g}", [F.fmt_n_pct(ard.get("AE_GRADE", code, a, f"n_grade{g}", pop),
                                                    ard.get("AE_GRADE", code, a, f"pct_grade{g}", pop))
                                        for a in arms], indent + 1)

    if ard.has("AE_GRADE", paramcd="ANY"):
        add("", "ANY", 0)
    _soc_pt_rows(t, ard, "AE_GRADE", pop, arms, add)
    notes = ["n (%): subjects whose worst CTCAE grade of a TEAE in the category is the grade shown (% of the "
             "safety population in the column); the first row of each category counts any grade. A grade with no "
             "subject in any arm is not shown under that category."]
    return _finish(t, ard, rule, ["AE_GRADE", "BIGN"], ard.methods("AE_GRADE"), notes)


def table_sae_soc_pt(ard: ARD, rule: str = "tlf_sae_soc_pt") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("sae_soc_pt", "Serious treatment-emergent adverse events by system organ class and preferred term",
              POP_LABEL[pop], ard.header(pop), stub_header="System organ class / Preferred term", group_rows=False)

    def add(group, code, indent):
        label = "Any serious TEAE" if code == "ANY" else code.split("|")[-1]
        t.add(group, label, [_n_pct_e(ard, "SAE_INCIDENCE", code, a, pop) for a in arms], indent)

    if ard.has("SAE_INCIDENCE", paramcd="ANY"):
        add("", "ANY", 0)
    _soc_pt_rows(t, ard, "SAE_INCIDENCE", pop, arms, add)
    notes = ["n (%) [E]: subjects with at least one serious TEAE (% of the safety population in the column) "
             "[events]. A subject counts once per system organ class and once per preferred term."]
    return _finish(t, ard, rule, ["SAE_INCIDENCE", "BIGN"], ard.methods("SAE_INCIDENCE"), notes)


def table_aesi(ard: ARD, rule: str = "tlf_aesi") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("aesi", "Adverse events of special interest", POP_LABEL[pop], ard.header(pop))
    labels = {}
    for r in ard.rows("AESI", population=pop).iter_rows(named=True):
        labels.setdefault(r["paramcd"], (r["method"] or "").removeprefix("AESI ").split(";")[0])
    for code, label in labels.items():
        t.add(label, "Subjects, n (%) [E]", [_n_pct_e(ard, "AESI", code, a, pop) for a in arms], 1)
        cells = []
        for a in arms:
            md, lo, hi = (ard.get("AESI", code, a, s, pop) for s in ("onset_median", "onset_min", "onset_max"))
            cells.append("" if md is None or F.is_missing(md) else f"{F.fmt_num(md, 1)} ({F.fmt_int(lo)}, "
                                                                     f"{F.fmt_int(hi)})")
        t.add(label, "Days from the most recent infusion to onset, median (min, max)", cells, 1)
    notes = ["Treatment-emergent AEs matching the study's definition of each AE of special interest (preferred "
             "terms, system organ classes or words in the preferred term; study config safety.aesi). Onset: days "
             "from the most recent infusion on or before the AE's start (0 = the day of an infusion), over events."]
    return _finish(t, ard, rule, ["AESI", "BIGN"], [], notes)


def table_death_causes(ard: ARD, rule: str = "tlf_death_causes") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table("death_causes", "Deaths and liver transplants, and causes of death", POP_LABEL[pop], ard.header(pop))
    for code, label in (("DEATH", "Deaths"), ("LTX", "Liver transplants"), ("DEATH OR LTX", "Death or liver "
                                                                                              "transplant")):
        if ard.has("DEATHS", paramcd=code):
            t.add("", label, [F.fmt_n_pct(ard.get("DEATHS", code, a, "n", pop), ard.get("DEATHS", code, a, "pct", pop))
                              for a in arms])
    causes = ard.rows("DEATH_CAUSE", population=pop)["paramcd"].unique().to_list()

    def freq(c):
        return (c == "No fatal AE recorded", -(ard.get("DEATH_CAUSE", c, POOLED, "n", pop) or 0), c)

    for c in sorted(causes, key=freq):
        t.add("Cause of death (fatal adverse event)", c,
              [F.fmt_n_pct(ard.get("DEATH_CAUSE", c, a, "n", pop), ard.get("DEATH_CAUSE", c, a, "pct", pop))
               for a in arms], 1)
    notes = ["n (%) of the ITT subjects in the column. Cause: the preferred term of each fatal adverse event "
             "(a subject with two fatal AEs counts under both). Deaths and transplants up to the data cut."]
    return _finish(t, ard, rule, ["DEATHS", "DEATH_CAUSE", "BIGN"], [], notes)


def table_lmm(ard: ARD, rule: str = "tlf_lmm") -> Table:
    """The random-slope sensitivity model of the MMRM parameters: differences by visit."""
    pop = "ITT"
    t = Table("lmm", "Sensitivity analysis: random intercept and slope model, difference in change from "
              "baseline by visit", POP_LABEL[pop], ["Comparison", "Difference (95% CI)", "SE", "p-value"],
              stub_header="Parameter / visit")
    rows = ard.rows("LMM_DIFF", population=pop)
    for p in list(dict.fromkeys(rows["paramcd"].to_list())):
        d = F.stat_decimals(p, "estimate")
        have = set(rows.filter(pl.col("paramcd") == p)["avisit"].to_list())
        for v in [v for v in ard.visits() if v in have]:
            for r in (rows.filter((pl.col("paramcd") == p) & (pl.col("avisit") == v) & (pl.col("stat") == "estimate"))
                      .iter_rows(named=True)):
                g = lambda s, r=r: ard.get("LMM_DIFF", p, r["arm"], s, pop, v, r["comparator"])  # noqa: E731
                t.add(param_label(p), v, [f"{r['arm']} vs {r['comparator']}",
                                          F.fmt_est_ci(g("estimate"), g("lower"), g("upper"), d),
                                          F.fmt_num(g("se"), F.stat_decimals(p, "se")), F.fmt_p(g("p"))], 1)
    return _finish(t, ard, rule, ["LMM_DIFF"], ard.methods("LMM_DIFF"),
                   ["Sensitivity analysis of the MMRM: linear mixed model with a random intercept and slope in time "
                    "per subject; differences in the model-based mean change at each visit."])


def table_lab_shift(ard: ARD, rule: str = "tlf_lab_shift") -> Table:
    pop = "SAFETY"
    worst = ["LOW", "NORMAL", "HIGH", "Missing", "ALL"]
    cols = [f"Worst post-baseline: {w}" if w != "ALL" else "Total" for w in worst]
    t = Table("lab_shift", "Shift from baseline to the worst post-baseline reference-range category",
              POP_LABEL[pop], cols, stub_header="Parameter / arm / baseline category")
    codes = ard.rows("LAB_SHIFT", population=pop)["paramcd"].unique().to_list()
    params = list(dict.fromkeys(c.split("|")[0] for c in sorted(codes, key=_lab_order)))
    for p in params:
        for arm in ard.arms + [POOLED]:
            arm_lab = (TOTAL if arm == POOLED else arm) + f" (N={F.fmt_int(ard.big_n(pop, arm))})"
            g = f"{param_label(p)}: {arm_lab}"
            for b in ["LOW", "NORMAL", "HIGH", "Missing", "ALL"]:
                row_n = ard.get("LAB_SHIFT", f"{p}|{b}|ALL", arm, "n", pop)
                if row_n is None or (b == "Missing" and row_n == 0):
                    continue
                cells = [F.fmt_n_pct(ard.get("LAB_SHIFT", f"{p}|{b}|{w}", arm, "n", pop),
                                     ard.get("LAB_SHIFT", f"{p}|{b}|{w}", arm, "pct", pop)) for w in worst]
                t.add(g, f"Baseline {b}" if b != "ALL" else "Total", cells, 1)
    notes = ["Categories by the reference range (LOW < lower limit, HIGH > upper limit). Worst post-baseline: "
             "HIGH for bilirubin, INR, ALT, AST, creatinine and AFP, LOW for albumin and platelets when ever "
             "reached, otherwise (and for the other tests) the value furthest outside the range; Missing: no "
             "post-baseline value. n (%): percentages are of the subjects of the arm with the test measured."]
    return _finish(t, ard, rule, ["LAB_SHIFT", "BIGN"], ard.methods("LAB_SHIFT"), notes)


def _lab_order(code: str):
    order = ["ALT", "AST", "BILI", "ALB", "INR", "CREAT", "SODIUM", "PLAT", "WBC", "AFP", "IGA", "IGG", "IGM"]
    p = code.split("|")[0]
    return (order.index(p) if p in order else 99, p)


def table_lab_abn(ard: ARD, rule: str = "tlf_lab_abn") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("lab_abn", "Subjects with an abnormal laboratory value by visit", POP_LABEL[pop], ard.header(pop))
    params = sorted(ard.rows("LAB_ABN", population=pop)["paramcd"].unique().to_list(), key=_lab_order)
    for p in params:
        have = set(ard.rows("LAB_ABN", paramcd=p, population=pop)["avisit"].to_list())
        for v in [v for v in ard.visits() if v in have]:
            cells = []
            for a in arms:
                n = ard.get("LAB_ABN", p, a, "n", pop, v)
                k = ard.get("LAB_ABN", p, a, "n_abnormal", pop, v)
                pct = ard.get("LAB_ABN", p, a, "pct_abnormal", pop, v)
                cells.append("" if n is None else f"{F.fmt_int(k)}/{F.fmt_int(n)} ({F.fmt_pct(pct)})")
            t.add(param_label(p), v, cells, 1)
    notes = ["Cells: subjects with a LOW or HIGH value / subjects assessed at the visit (%)."]
    return _finish(t, ard, rule, ["LAB_ABN", "BIGN"], ard.methods("LAB_ABN"), notes)


def table_subgroup(ard: ARD, rule: str = "tlf_subgroup") -> Table:
    pop = "ITT"
    sg = ard.rows("SUBGROUP", population=pop)
    param = sg["paramcd"][0].split("|")[0] if sg.height else ard.study["scores"]["meld_primary"]
    visit = sg["avisit"][0] if sg.height else ard.study["endpoints"]["primary_visit"]
    cols = []
    for test in ard.tests:
        cols += [f"{test} vs {ard.reference}: n", "Difference (95% CI)", "p-value", "Interaction p-value"]
    t = Table("subgroup", f"Change from baseline in {param_label(param)} at {visit} by subgroup (ANCOVA)",
              POP_LABEL[pop], cols, stub_header="Subgroup")
    d = F.stat_decimals(param, "estimate")
    keys = list(dict.fromkeys(sg.filter(pl.col("stat") == "estimate")["paramcd"].to_list()))
    keys = sorted(keys, key=lambda k: (k != f"{param}|ALL", k))
    for key in keys:
        sub = key.split("|", 1)[1]
        var, _, level = sub.partition("=")
        group = "All subjects" if sub == "ALL" else VAR_LABEL.get(var, var)
        label = "All subjects" if sub == "ALL" else CAT_LABEL.get(var, {}).get(level, level)
        cells = []
        for test in ard.tests:
            g = lambda s, k=key: ard.get("SUBGROUP", k, test, s, pop, visit, ard.reference)  # noqa: E731
            pint = ard.get("SUBGROUP", f"{param}|{var}", test, "p_interaction", pop, visit, ard.reference)
            first = sub != "ALL" and level == _first_level(keys, param, var)
            cells += [F.fmt_int(g("n")), F.fmt_est_ci(g("estimate"), g("lower"), g("upper"), d), F.fmt_p(g("p")),
                      F.fmt_p(pint) if first and pint is not None else ""]
        t.add(group, label, cells, 1)
    return _finish(t, ard, rule, ["SUBGROUP"], ard.methods("SUBGROUP"),
                   ["Exploratory; no adjustment for multiplicity. n: subjects in the model."])


def _first_level(keys: list[str], param: str, var: str) -> str:
    levels = [k.split("=", 1)[1] for k in keys if k.startswith(f"{param}|{var}=")]
    return levels[0] if levels else ""


# Listings (from ADaM).
def _arm_order(study: dict) -> dict[str, int]:
    return {a["label"]: i for i, a in enumerate(study["arms"])}


def listing_sae(adae: pl.DataFrame, adsl: pl.DataFrame, study: dict, cut: str, rule: str = "tlf_listings") -> Table:
    cols = ["Age/Sex", "Preferred term (reported term)", "System organ class", "Start date (day)",
            "End date", "Grade", "Related", "Outcome"]
    t = Table("l_sae", "Listing of serious treatment-emergent adverse events", POP_LABEL["SAFETY"], cols,
              stub_header="Subject")
    ae = adae.filter((pl.col("AESER") == "Y") & (pl.col("TRTEMFL") == "Y") & (pl.col("SAFFL") == "Y"))
    ae = ae.join(adsl.select("USUBJID", "AGE", "SEX"), on="USUBJID", how="left")
    order = _arm_order(study)
    ae = ae.with_columns(pl.col("TRT01A").replace_strict(order, default=99).alias("_o")).sort(
        ["_o", "USUBJID", "ASTDT"], nulls_last=True)
    for r in ae.iter_rows(named=True):
        t.add(r["TRT01A"] or "", r["USUBJID"], [
            f"{F.fmt_int(r['AGE'])}/{r['SEX'] or ''}", f"{r['AEDECOD'] or ''} ({r['AETERM'] or ''})",
            r["AEBODSYS"] or "", f"{r['ASTDT'] or ''} ({'' if r['ASTDY'] is None else r['ASTDY']})",
            str(r["AENDT"] or "ongoing"), "" if r["ATOXGR"] is None else str(r["ATOXGR"]), r["AREL"] or "",
            r["AEOUT"] or ""])
    return _finish_listing(
        t, study, cut, rule, ["ADAE", "ADSL"],
        "Serious (AESER = Y) treatment-emergent AEs of the safety population, by treatment received. "
        "Day: study day of onset relative to the first infusion. Imputed start dates per the ADAE rules.",
        "No serious treatment-emergent adverse events.")


def listing_deaths(adsl: pl.DataFrame, adae: pl.DataFrame, study: dict, cut: str, rule: str = "tlf_listings") -> Table:
    cols = ["Age/Sex", "Randomised", "Date of death", "Study day", "Liver transplant",
            "Reason (disposition)", "Fatal AE (preferred term)"]
    t = Table("l_deaths", "Listing of deaths", POP_LABEL["ITT"], cols, stub_header="Subject")
    fatal = (adae.filter(pl.col("FATALFL") == "Y").group_by("USUBJID")
             .agg(pl.col("AEDECOD").drop_nulls().unique().sort().str.join("; ").alias("_fatal")))
    d = (adsl.filter((pl.col("DTHFL") == "Y") & (pl.col("ITTFL") == "Y"))
         .join(fatal, on="USUBJID", how="left")
         .with_columns(((pl.col("DTHDT") - pl.col("ORIGDT")).dt.total_days() + 1).alias("_day"),
                       pl.col("TRT01P").replace_strict(_arm_order(study), default=99).alias("_o"))
         .sort(["_o", "USUBJID"]))
    for r in d.iter_rows(named=True):
        t.add(r["TRT01P"] or "", r["USUBJID"], [
            f"{F.fmt_int(r['AGE'])}/{r['SEX'] or ''}", str(r["RANDDT"] or ""),
            f"{r['DTHDT']}" + (f" (imputed: {r['DTHDTF']})" if r.get("DTHDTF") else ""),
            "" if r["_day"] is None else str(int(r["_day"])), str(r["LTXDT"] or "No"), r["DCSREAS"] or "",
            r["_fatal"] or ""])
    return _finish_listing(
        t, study, cut, rule, ["ADSL", "ADAE"],
        "Deaths up to the data cut in the ITT population, by randomised arm. Study day from randomisation "
        "(day 1). DTHDTF: D = day imputed, M = month and day imputed.",
        "No deaths.")


def _finish_listing(t: Table, study: dict, cut: str, rule: str, sources: list[str], note: str,
                    empty: str) -> Table:
    """A listing's footnote and source line (the ADaM datasets it reads), and ``empty`` as its only row
    when it has no records."""
    t.footnotes = [note]
    t.source = f"Source: {', '.join(sources)}; rule {rule}; data cut {cut}; study {study['study']['id']}."
    t.kind = "Listing"
    t.shell = Shell.of(study, cut)
    if not t.rows:
        t.add("", empty)
    return t


TABLES = {
    "disposition": table_disposition, "baseline": table_baseline, "exposure": table_exposure,
    "km": table_km, "cif": table_cif, "ae_overview": table_ae_overview, "ae_soc_pt": table_ae_soc_pt,
    "lab_shift": table_lab_shift, "lab_abn": table_lab_abn, "subgroup": table_subgroup,
    "ae_grade": table_ae_grade, "sae_soc_pt": table_sae_soc_pt, "aesi": table_aesi, "death_causes": table_death_causes,
    "lmm": table_lmm,
}


def build_table(name: str, ard: ARD, rule: str) -> Table:
    """A summary table by name: ``disposition``, ``baseline``, ..., ``mmrm_<PARAMCD>``, ``desc_<PARAMCD>``."""
    if name.startswith("mmrm_"):
        return table_mmrm(ard, name.removeprefix("mmrm_"), rule)
    if name.startswith("desc_"):
        return table_desc(ard, name.removeprefix("desc_"), rule)
    if name not in TABLES:
        raise HepatrialError(f"unknown table {name!r}; known: {sorted(TABLES)}, mmrm_<PARAMCD>, desc_<PARAMCD>")
    return TABLES[name](ard, rule)

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

from hepatrial.analysis.mmrm import NOT_ESTIMABLE
from hepatrial.analysis.safety import (
    NO_AE,
    NO_AE_TEXT,
    NOT_COLLECTED,
    not_collected,
    split_soc_pt,
)
from hepatrial.ard import LAB_SHIFT_CATEGORIES, LAB_SHIFT_MARGIN, POOLED
from hepatrial.errors import HepatrialError
from hepatrial.report.summaries import NO_DEATHS, NO_DEATHS_TEXT
from hepatrial.spec import Study, decode, params
from hepatrial.tlf import format as F
from hepatrial.tlf.sap import estimand_methods_note, methods_note, mmrm_words
from hepatrial.tlf.shell import Shell

POP_LABEL = {
    "ITT": "Intent-to-treat population",
    "SAFETY": "Safety population",
    "PP": "Per-protocol population",
    "COMPLETERS": "Completers",
    "ENROLLED": "Enrolled subjects",
}
TOTAL = "Total"
# display labels: the parameter table (hepatrial.spec.params)
PARAM_LABEL = params.display_labels()
VAR_LABEL = {
    "AGE": "Age (years)",
    "BLMELD": "MELD at baseline",
    "BLCTPS": "CTP score at baseline",
    "SEX": "Sex",
    "RACE": "Race",
    "ETIOLOGY": "Etiology of cirrhosis",
    "BLCTPC": "CTP class at baseline",
    "CTPSTRAT": "CTP stratum at randomisation",
    "NINFUS": "Infusions received",
}


def category_label(study, var: str, code: str) -> str:
    """The printed label of category ``code`` of variable ``var``: the one decode table
    (:func:`hepatrial.spec.decode.label`: the study config's ``category_labels``, then the CDISC
    controlled terminology decodes, else the code itself)."""
    return decode.label(study, var, code)


AE_OVERVIEW_LABEL = {
    "ANYTEAE": "Any adverse event",
    "SERTEAE": "Any serious adverse event",
    "RELTEAE": "Treatment-related adverse event",
    "GR3TEAE": "Adverse event of CTCAE grade 3 or higher",
    "WDTEAE": "Adverse event leading to withdrawal",
    "FATALTEAE": "Adverse event with fatal outcome",
}
DISPOSITION_LABEL = {
    "ITT": "Randomised (ITT)",
    "TREATED": "Treated (at least one infusion)",
    "COMPLETED": "Completed the study",
    "ONGOING": "Ongoing at the data cut",
    "DISCONTINUED": "Discontinued the study",
}
SUMMARY_STATS = [
    ("n", ("n",)),
    ("Mean (SD)", ("mean", "sd")),
    ("Median", ("median",)),
    ("Q1, Q3", ("q1", "q3")),
    ("Min, Max", ("min", "max")),
]


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
        self.rows.append(
            Row(group, label, cells if cells is not None else [""] * len(self.columns), indent)
        )

    def blocks(self) -> list[tuple[int, int]]:
        """Row ranges ``[a, b)`` of the group blocks: runs of consecutive rows sharing a group (a
        visit's estimates and comparison, a system organ class and its preferred terms, an
        outcome); rows without a group are one block each. What a page keeps together: the RTF
        (:func:`hepatrial.tlf.render.paginate`) and the DSMB report's PDF
        (:func:`hepatrial.report.content.from_tlf`) cut pages between blocks."""
        out: list[tuple[int, int]] = []
        for i, r in enumerate(self.rows):
            if out and r.group and self.rows[out[-1][0]].group == r.group:
                out[-1] = (out[-1][0], i + 1)
            else:
                out.append((i, i + 1))
        return out

    def frame(self) -> pl.DataFrame:
        """The body as a frame: ``group``, ``label`` and one column per header (the CSV rendering)."""
        data = {"group": [r.group for r in self.rows], "label": [r.label for r in self.rows]}
        for j, c in enumerate(self.columns):
            data[c] = [r.cells[j] for r in self.rows]
        return pl.DataFrame(data, schema={k: pl.Utf8 for k in data})


class ARD:
    """Lookup over the ARD: ``get(analysis, paramcd, arm, stat, ...)`` -> value (None when absent)."""

    def __init__(self, ard: pl.DataFrame, study: Study, cut: str):
        self.df = ard
        self.study = study
        self.cut = cut
        self._idx = {}
        for r in ard.iter_rows(named=True):
            t = None if r["time"] is None else float(r["time"])
            self._idx[
                (
                    r["analysis"],
                    r["paramcd"],
                    r["population"],
                    r["arm"],
                    r["comparator"] or "",
                    r["avisit"] or "",
                    t,
                    r["stat"],
                )
            ] = r["value"]
        # PARAMCD -> decimals its data are recorded with: the study's declared ones, then the
        # ARD's DECIMALS rows (decided once by the desc job, recorded precision included)
        self.decimals = params.declared_decimals(study)
        for r in ard.filter(pl.col("analysis") == "DECIMALS").iter_rows(named=True):
            self.decimals[r["paramcd"]] = int(r["value"])
        self.arms = study.arm_labels
        self.reference = study.reference
        self.parallel = study.design.compares_arms
        self.tests = [a for a in self.arms if a != self.reference] if self.parallel else []

    def get(
        self, analysis, paramcd, arm, stat, population="ITT", avisit="", comparator="", time=None
    ):
        t = None if time is None else float(time)
        return self._idx.get((analysis, paramcd, population, arm, comparator, avisit, t, stat))

    def rows(self, analysis: str, **eq) -> pl.DataFrame:
        df = self.df.filter(pl.col("analysis") == analysis)
        for k, v in eq.items():
            df = df.filter(pl.col(k) == v)
        return df

    def has(self, analysis: str, **eq) -> bool:
        return self.rows(analysis, **eq).height > 0

    def stat_decimals(self, paramcd: str, stat: str) -> int:
        """Decimals of ``stat`` of ``paramcd`` (:func:`hepatrial.tlf.format.stat_decimals`) by
        this ARD's :attr:`decimals`."""
        return F.stat_decimals(paramcd, stat, self.decimals)

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
        return [v.label for v in sorted(self.study.visits, key=lambda v: v.avisitn)]


def _source(ard: ARD, rule: str, analyses: list[str]) -> str:
    return (
        f"Source: ARD analyses {', '.join(analyses)}; rule {rule}; data cut {ard.cut}; "
        f"study {ard.study.id}."
    )


def _methods_note(methods: list[str]) -> str:
    """The ARD methods of the rows shown, in SAP words (:mod:`hepatrial.tlf.sap`)."""
    return methods_note(methods)


def _finish(
    t: Table, ard: ARD, rule: str, analyses: list[str], methods: list[str], notes: list[str]
) -> Table:
    t.footnotes = [n for n in [*notes, _methods_note(methods)] if n]
    t.source = _source(ard, rule, analyses)
    t.shell = Shell.of(ard.study, ard.cut)
    if not t.rows:
        t.add("", "No data for this table in the ARD of this cut.")
    return t


def score_formula(study: Study, paramcd: str) -> str:
    """The formula of a derived score as the study config defines it (MMRM table footnotes)."""
    if paramcd == "MELDKAM":
        from hepatrial.scores import meld_kamath_formula

        mk = study.scores.meld_kamath
        return meld_kamath_formula(coefficients=mk.coefficients, integer=mk.integer)
    return {
        "MELD": "MELD (UNOS) = 10 x [0.957 x ln(creatinine) + 0.378 x ln(bilirubin) + 1.120 x ln(INR) + "
        "0.643], mg/dL; values below 1.0 set to 1.0, creatinine capped at 4.0 (4.0 on dialysis), "
        "rounded to an integer, at most 40",
        "CTPSCORE": "Child-Turcotte-Pugh score: 5-15 points from bilirubin, albumin, INR, ascites and "
        "encephalopathy",
    }.get(paramcd, "")


def param_label(paramcd: str) -> str:
    return PARAM_LABEL.get(paramcd, paramcd)


def _summary_cells(
    ard: ARD,
    analysis: str,
    paramcd: str,
    arms: list[str],
    population: str,
    avisit: str = "",
    dec_param: str | None = None,
) -> list[tuple[str, list[str]]]:
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
                cells.append(F.fmt_mean_sd(v[0], v[1], dp, ard.decimals))
            elif len(stats) == 2:
                cells.append(F.fmt_range(v[0], v[1], dp, stats, ard.decimals))
            else:
                cells.append(F.fmt_stat(v[0], dp, stats[0], ard.decimals))
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
        if code == "ITT" and not ard.study.design.randomised:
            label = f"{ard.study.allocated.capitalize()} (ITT)"
        indent = 0
        if code.startswith("DISCONTINUED: "):  # DCSREAS: decoded, else in sentence case
            reason = code.removeprefix("DISCONTINUED: ")
            label, indent = category_label(ard.study, "DCSREAS", reason), 1
            label = reason.capitalize() if label == reason else label
        cells = [
            F.fmt_n_pct(
                ard.get("DISPOSITION", code, a, "n", pop),
                ard.get("DISPOSITION", code, a, "pct", pop),
            )
            for a in arms
        ]
        t.add("", label, cells, indent)
    notes = [
        "Percentages are of the ITT subjects in the column. Reasons for discontinuation as recorded (DS)."
    ]
    return _finish(t, ard, rule, ["DISPOSITION", "BIGN"], ard.methods("DISPOSITION"), notes)


def _category_order(ard: ARD, analysis: str, var: str, population: str) -> list[str]:
    codes = ard.rows(analysis, population=population)["paramcd"].unique().to_list()
    cats = [c.split("=", 1)[1] for c in codes if c.startswith(var + "=")]
    order = {"A": 0, "B": 1, "C": 2}
    return sorted(
        cats, key=lambda c: (c == F.NE or c == "Missing", order.get(c, 9), _num_key(c), c)
    )


def _num_key(c: str) -> float:
    try:
        return float(c)
    except ValueError:
        return math.inf


def table_baseline(ard: ARD, rule: str = "tlf_baseline") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table(
        "baseline", "Demographics and baseline characteristics", POP_LABEL[pop], ard.header(pop)
    )
    codes = ard.rows("BASELINE", population=pop)["paramcd"].unique().to_list()
    conts = [v for v in ("AGE", "BLMELD", "BLCTPS") if v in codes]
    present = list(dict.fromkeys(c.split("=", 1)[0] for c in sorted(codes) if "=" in c))
    first = ["SEX", "RACE", "ETIOLOGY", "BLCTPC", *ard.study.strata]
    cats = [v for v in first if v in present] + [v for v in present if v not in first]
    for var in conts:
        group = VAR_LABEL.get(var, var)
        for label, cells in _summary_cells(ard, "BASELINE", var, arms, pop):
            t.add(group, label, cells, 1)
    for var in cats:
        group = VAR_LABEL.get(var, var) + ", n (%)"
        for cat in _category_order(ard, "BASELINE", var, pop):
            code = f"{var}={cat}"
            cells = [
                F.fmt_n_pct(
                    ard.get("BASELINE", code, a, "n", pop), ard.get("BASELINE", code, a, "pct", pop)
                )
                for a in arms
            ]
            t.add(group, category_label(ard.study, var, cat), cells, 1)
    meld = ard.study.scores.meld_primary
    notes = [
        f"Percentages are of the ITT subjects in the column. MELD at baseline: {param_label(meld)}; "
        "CTP: Child-Turcotte-Pugh. Baseline: last non-missing value on or before day 1."
    ]
    return _finish(t, ard, rule, ["BASELINE", "BIGN"], ard.methods("BASELINE"), notes)


def table_exposure(ard: ARD, rule: str = "tlf_exposure") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("exposure", "Exposure to study treatment", POP_LABEL[pop], ard.header(pop))
    per_arm = {a.label: a.planned_infusions for a in ard.study.arms if a.planned_infusions}
    planned = (
        "; ".join(f"{k}: {v}" for k, v in per_arm.items())
        if len(set(per_arm.values())) > 1
        else str(ard.study.planned_infusions)
    )
    group = f"Infusions received (planned: {planned}), n (%)"
    for cat in _category_order(ard, "EXPOSURE", "NINFUS", pop):
        code = f"NINFUS={cat}"
        t.add(
            group,
            cat,
            [
                F.fmt_n_pct(
                    ard.get("EXPOSURE", code, a, "n", pop), ard.get("EXPOSURE", code, a, "pct", pop)
                )
                for a in arms
            ],
            1,
        )
    if ard.has("EXPOSURE", paramcd="NINFUS"):
        for label, cells in _summary_cells(ard, "EXPOSURE", "NINFUS", arms, pop):
            t.add("Infusions per subject", label, cells, 1)
    notes = [
        "Safety population: subjects with at least one infusion, by the treatment actually received."
    ]
    return _finish(t, ard, rule, ["EXPOSURE", "BIGN"], ard.methods("EXPOSURE"), notes)


def table_mmrm(ard: ARD, paramcd: str, rule: str = "tlf_mmrm", pop: str = "ITT") -> Table:
    arms = ard.arms
    label = param_label(paramcd)
    name = f"mmrm_{paramcd}" if pop == "ITT" else f"mmrm{pop.lower()}_{paramcd}"
    title = f"Change from baseline in {label} by visit: mixed model for repeated measures"
    if pop != "ITT":
        title = f"Sensitivity analysis ({POP_LABEL.get(pop, pop).lower()}): " + title
    t = Table(name, title, POP_LABEL.get(pop, pop), ard.header(pop, total=False))
    d_mean, d_se = ard.stat_decimals(paramcd, "lsmean"), ard.stat_decimals(paramcd, "se")
    lsm = ard.rows("MMRM_LSMEAN", paramcd=paramcd, population=pop)
    visits = [v for v in ard.visits() if v in set(lsm["avisit"].to_list())]
    roles = {}  # visit -> "primary endpoint" / "key secondary endpoint", as the ARD method says
    for r in ard.rows("MMRM_DIFF", paramcd=paramcd, population=pop, stat="estimate").iter_rows(
        named=True
    ):
        for role in ("KEY SECONDARY ENDPOINT", "PRIMARY ENDPOINT"):
            if role in (r["method"] or ""):
                roles[r["avisit"]] = role.lower()
                break
    for v0 in visits:
        v = f"{v0} ({roles[v0]})" if v0 in roles else v0
        t.add(
            v, "n", [F.fmt_int(ard.get("MMRM_LSMEAN", paramcd, a, "n", pop, v0)) for a in arms], 1
        )
        t.add(
            v,
            "LS mean (SE)",
            [
                f"{F.fmt_num(ard.get('MMRM_LSMEAN', paramcd, a, 'lsmean', pop, v0), d_mean)} "
                f"({F.fmt_num(ard.get('MMRM_LSMEAN', paramcd, a, 'se', pop, v0), d_se)})"
                for a in arms
            ],
            1,
        )
        t.add(
            v,
            "95% CI",
            [
                F.fmt_ci(
                    ard.get("MMRM_LSMEAN", paramcd, a, "lower", pop, v0),
                    ard.get("MMRM_LSMEAN", paramcd, a, "upper", pop, v0),
                    d_mean,
                )
                for a in arms
            ],
            1,
        )
        for test in ard.tests:
            g = lambda s: ard.get("MMRM_DIFF", paramcd, test, s, pop, v0, ard.reference)  # noqa: E731, B023  (used within the iteration)
            if g("estimate") is None:
                continue
            cell = lambda text: [text if a == test else "" for a in arms]  # noqa: E731, B023  (used within the iteration)
            t.add(
                v,
                f"Difference vs {ard.reference} (SE)",
                cell(f"{F.fmt_num(g('estimate'), d_mean)} ({F.fmt_num(g('se'), d_se)})"),
                1,
            )
            t.add(v, "95% CI of the difference", cell(F.fmt_ci(g("lower"), g("upper"), d_mean)), 1)
            t.add(v, "p-value", cell(F.fmt_p(g("p"))), 1)
    fit = ard.rows("MMRM_FIT", paramcd=paramcd, population=pop)
    notes = [
        f"Change from baseline in {label}. LS: least squares; SE: standard error; CI: confidence interval; "
        "p: two-sided."
    ]
    low = low_df_visits(ard, paramcd, pop)
    if low:
        notes.append(
            "Satterthwaite degrees of freedom below 1 at "
            + ", ".join(f"{v} ({F.fmt_num(df, 3)})" for v, df in low.items())
            + ": the confidence intervals and p-values there are not informative (too few "
            "subjects at the visit for its variance)."
        )
    formula = score_formula(ard.study, paramcd)
    if formula:
        notes.append(formula + ".")
    if fit.height:
        models = sorted(fit["method"].drop_nulls().unique().to_list())
        stat = {r["stat"]: r["value"] for r in fit.iter_rows(named=True)}
        # a fit the engine could not estimate has its reason as the method, not a model to word
        failed = [m.removeprefix(NOT_ESTIMABLE) for m in models if m.startswith(NOT_ESTIMABLE)]
        notes += [mmrm_words(m, label) for m in models if not m.startswith(NOT_ESTIMABLE)]
        if failed and not visits:  # the reason's first clause (the ARD's method may be cut short)
            t.add(
                "", "Not estimable: " + "; ".join(dict.fromkeys(m.split(": ")[0] for m in failed))
            )
        data = (
            f"{F.fmt_int(stat.get('n_subjects'))} subjects and "
            f"{F.fmt_int(stat.get('n_obs'))} post-baseline observations"
        )
        notes.append(
            f"No model could be estimated from the {data}."
            if failed and not visits
            else f"The model was fitted to {data} and "
            f"{'converged' if stat.get('converged') == 1 else 'did not converge'}."
        )
    methods = ard.methods(["MMRM_LSMEAN", "MMRM_DIFF"], paramcd=paramcd, population=pop)
    return _finish(t, ard, rule, ["MMRM_LSMEAN", "MMRM_DIFF", "MMRM_FIT", "BIGN"], methods, notes)


def low_df_visits(ard: ARD, paramcd: str, pop: str = "ITT") -> dict[str, float]:
    """Visit -> the smallest Satterthwaite df below 1 of its LS means and differences (in visit
    order): where a t interval is not informative (a visit-specific variance from one or two
    subjects gives df near 0 and limits such as 1E+151)."""
    rows = pl.concat(
        [
            ard.rows(a, paramcd=paramcd, population=pop, stat="df")
            for a in ("MMRM_LSMEAN", "MMRM_DIFF")
        ]
    )
    low = rows.filter(pl.col("value") < 1).group_by("avisit").agg(pl.col("value").min())
    got = dict(low.iter_rows())
    return {v: got[v] for v in ard.visits() if v in got}


def table_desc(ard: ARD, paramcd: str, rule: str = "tlf_desc") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    label = param_label(paramcd)
    t = Table(
        f"desc_{paramcd}",
        f"{label}: observed values and change from baseline by visit",
        POP_LABEL[pop],
        ard.header(pop),
    )
    desc = ard.rows("DESC", population=pop).filter(
        pl.col("paramcd").is_in([paramcd, paramcd + "_CHG"])
    )
    have = set(desc.select("paramcd", "avisit").iter_rows())
    for v in ard.visits():
        for code, sub in ((paramcd, "Observed value"), (paramcd + "_CHG", "Change from baseline")):
            if (code, v) not in have:
                continue
            t.add(v, sub, None, 0)
            for lab, cells in _summary_cells(ard, "DESC", code, arms, pop, v, dec_param=paramcd):
                t.add(v, lab, cells, 1)
                if lab == "n" and any(
                    ard.get("DESC", code, a, "n_blq", pop, v) is not None for a in arms
                ):
                    t.add(
                        v,
                        "n below LLOQ",
                        [
                            F.fmt_int(ard.get("DESC", code, a, "n_blq", pop, v))
                            if ard.get("DESC", code, a, "n_blq", pop, v) is not None
                            else ""
                            for a in arms
                        ],
                        1,
                    )
            # the between-arm rank test of these values at the visit (config nonparametric)
            for r in ard.rows(
                "NPAR_TEST", population=pop, avisit=v, stat="p", paramcd=code
            ).iter_rows(named=True):
                kw = r["method"].startswith("Kruskal")
                exact = ", exact" if ", exact;" in r["method"] else ""
                t.add(
                    v,
                    f"p, {'Kruskal-Wallis' if kw else 'Wilcoxon rank-sum'}{exact}",
                    [
                        F.fmt_p(r["value"])
                        if a == _cmp_col(ard, r["arm"] or POOLED, ard.arms)
                        else ""
                        for a in arms
                    ],
                    1,
                )
    notes = ["Analysed record per visit (ANL01FL). SD: standard deviation; Q1, Q3: quartiles."]
    npar_methods = ard.methods("NPAR_TEST", paramcd=[paramcd, paramcd + "_CHG"])
    if npar_methods:
        notes.append(
            "p: two-sided rank test between the arms at the visit, in the test arm's column (Total column: "
            "Kruskal-Wallis across the arms); Wilcoxon rank-sum as R wilcox.test with its defaults: exact "
            "when both arms have fewer than 50 values and no ties, else the normal approximation with "
            "continuity correction and tie-corrected variance."
        )
    if ard.has("DESC", paramcd=paramcd, stat="n_blq"):
        notes.append(
            "Results below the lower limit of quantitation (LLOQ) are counted in n and summarised at the "
            "value the study config gives them (labs.below_lloq; default half the LLOQ)."
        )
    return _finish(
        t,
        ard,
        rule,
        ["DESC", "BIGN"] + (["NPAR_TEST"] if npar_methods else []),
        ard.methods("DESC", paramcd=[paramcd, paramcd + "_CHG"]),
        notes,
    )


def _cmp_col(ard: ARD, arm: str, arms: list[str]) -> str:
    return arm if arm in arms else POOLED


def _pct_ci_cells(
    ard: ARD, analysis: str, stat: str, paramcd: str, pop: str, time: float, arms: list[str]
) -> list[str]:
    """``<stat> % (lower, upper)`` per arm at ``time`` (KM surv, CIF cif); empty where the ARD has none."""

    def cell(a: str) -> str:
        est = ard.get(analysis, paramcd, a, stat, pop, time=time)
        if est is None:
            return ""
        lo, hi = (ard.get(analysis, paramcd, a, s, pop, time=time) for s in ("lower", "upper"))
        return f"{F.fmt_prob_pct(est)} ({F.fmt_prob_pct(lo)}, {F.fmt_prob_pct(hi)})"

    return [cell(a) for a in arms]


def _add_test_p_rows(
    t: Table,
    ard: ARD,
    group: str,
    paramcd: str,
    analyses: tuple[str, ...],
    label: str,
    arms: list[str],
) -> None:
    """One row per test of ``analyses`` (stratified, unstratified): its p-value in the compared arm's column."""
    for analysis in analyses:
        for r in ard.rows(analysis, paramcd=paramcd, stat="p").iter_rows(named=True):
            col = _cmp_col(ard, r["arm"], ard.arms)
            t.add(
                group,
                label + _strat_note(analysis, r["method"]),
                [F.fmt_p(r["value"]) if a == col else "" for a in arms],
                1,
            )


def _primary_times(ard: ARD, paramcd: str) -> set[float] | None:
    """None unless ``paramcd`` is the primary endpoint (its ARD LOGRANK, COX or KM rows end their
    method with "PRIMARY ENDPOINT"); then the KM landmark days marked so (empty: none named)."""
    rows = ard.df.filter(
        pl.col("analysis").is_in(["KM", "LOGRANK", "COX"])
        & (pl.col("paramcd") == paramcd)
        & pl.col("method").fill_null("").str.ends_with("PRIMARY ENDPOINT")
    )
    if not rows.height:
        return None
    return set(rows.filter(pl.col("analysis") == "KM")["time"].drop_nulls().to_list())


def table_km(ard: ARD, rule: str = "tlf_km") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table(
        "km", "Time-to-event endpoints: Kaplan-Meier summary", POP_LABEL[pop], ard.header(pop)
    )
    params = [
        p
        for p in ard.study.endpoints.tte
        if ard.has("KM", paramcd=p) or ard.has("KM_MEDIAN", paramcd=p)
    ]
    # the primary endpoint (a time to event) first, and said, as its ARD rows' method says
    primary = {p: _primary_times(ard, p) for p in params}
    params.sort(key=lambda p: primary[p] is None)
    for p in params:
        g = param_label(p) + (" (primary endpoint)" if primary[p] is not None else "")
        pop_p = _pop_of(ard, ["KM", "KM_MEDIAN"], p)
        # Subjects, events and censored: ARD KM_EVENTS (n, n_event, pct_event, n_censor, pct_censor) when the
        # survival rule writes it; the table does not count them itself.
        for stat, lab in (
            ("n", "Subjects"),
            ("n_event", "Events, n (%)"),
            ("n_censor", "Censored, n (%)"),
        ):
            if not ard.has("KM_EVENTS", paramcd=p, stat=stat):
                continue
            cells = []
            for a in arms:
                v = ard.get("KM_EVENTS", p, a, stat, pop_p)
                pct = (
                    ard.get("KM_EVENTS", p, a, "pct_" + stat.removeprefix("n_"), pop_p)
                    if stat != "n"
                    else None
                )
                cells.append(
                    "" if v is None else F.fmt_int(v) if stat == "n" else F.fmt_n_pct(v, pct)
                )
            t.add(g, lab, cells, 1)
        if ard.has("KM_MEDIAN", paramcd=p):
            t.add(
                g,
                "Median, days (95% CI)",
                [
                    F.fmt_est_ci(
                        *(
                            ard.get("KM_MEDIAN", p, a, s, pop_p)
                            for s in ("median", "lower", "upper")
                        ),
                        1,
                    )
                    for a in arms
                ],
                1,
            )
        times = sorted({x for x in ard.rows("KM", paramcd=p)["time"].to_list() if x is not None})
        for tm in times:
            role = " (primary endpoint)" if tm in (primary[p] or ()) else ""
            t.add(
                g,
                f"Event-free at {_day(tm)}{role}, % (95% CI)",
                _pct_ci_cells(ard, "KM", "surv", p, pop_p, tm, arms),
                1,
            )
            t.add(
                g,
                f"At risk at {_day(tm)}",
                [
                    F.fmt_int(ard.get("KM", p, a, "n_risk", pop_p, time=tm))
                    if ard.get("KM", p, a, "n_risk", pop_p, time=tm) is not None
                    else ""
                    for a in arms
                ],
                2,
            )
        if ard.parallel:
            _add_test_p_rows(
                t, ard, g, p, ("LOGRANK", "LOGRANK_UNSTRAT"), "Log-rank test p-value", arms
            )
            for analysis in ("COX", "COX_UNSTRAT"):
                for r in ard.rows(analysis, paramcd=p, stat="hr").iter_rows(named=True):
                    col = _cmp_col(ard, r["arm"], ard.arms)
                    key = (r["population"], r["avisit"], r["comparator"], r["time"])
                    lo, hi, pv = (
                        ard.get(analysis, p, r["arm"], s, *key) for s in ("lower", "upper", "p")
                    )
                    note = _strat_note(analysis, r["method"])
                    t.add(
                        g,
                        f"Hazard ratio vs {r['comparator'] or ard.reference} (95% CI){note}",
                        [F.fmt_est_ci(r["value"], lo, hi, 2) if a == col else "" for a in arms],
                        1,
                    )
                    t.add(
                        g, f"Cox p-value{note}", [F.fmt_p(pv) if a == col else "" for a in arms], 1
                    )
    notes = [
        f"Time from {ard.study.origin_words} in days. NE: not estimable. Event-free rates are Kaplan-Meier estimates "
        "shown as percentages."
    ]
    analyses = ["KM_EVENTS", "KM", "KM_MEDIAN", "LOGRANK", "LOGRANK_UNSTRAT", "COX", "COX_UNSTRAT"]
    return _finish(t, ard, rule, [*analyses, "BIGN"], ard.methods(analyses, paramcd=params), notes)


def _strat_note(analysis: str, method: str | None) -> str:
    if analysis.endswith("_UNSTRAT"):
        return ", unstratified"
    return ", stratified" if "stratified" in (method or "") else ""


cif_label = params.cif_label


def _cif_order(ard: ARD, paramcd: str):
    return params.cif_order(paramcd, list(ard.study.endpoints.tte))


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
    t = Table(
        "cif",
        "Cumulative incidence of competing events (Aalen-Johansen)",
        POP_LABEL[pop],
        ard.header(pop),
    )
    params = sorted(ard.rows("CIF")["paramcd"].unique().to_list(), key=lambda x: _cif_order(ard, x))
    for p in params:
        g = cif_label(p)
        pop_p = _pop_of(ard, ["CIF"], p)
        for tm in sorted(
            {x for x in ard.rows("CIF", paramcd=p)["time"].to_list() if x is not None}
        ):
            t.add(
                g,
                f"Cumulative incidence at {_day(tm)}, % (95% CI)",
                _pct_ci_cells(ard, "CIF", "cif", p, pop_p, tm, arms),
                1,
            )
        if ard.parallel:
            _add_test_p_rows(t, ard, g, p, ("GRAY", "GRAY_UNSTRAT"), "Gray's test p-value", arms)
    notes = [
        f"Time from {ard.study.origin_words} in days; competing events: death and liver transplant as coded in ADTTE "
        "(CRCODE). Cumulative incidences shown as percentages."
    ]
    analyses = ["CIF", "GRAY", "GRAY_UNSTRAT"]
    return _finish(t, ard, rule, [*analyses, "BIGN"], ard.methods(analyses), notes)


def _n_pct_e(ard: ARD, analysis: str, code: str, arm: str, pop: str) -> str:
    n, pct, e = (ard.get(analysis, code, arm, s, pop) for s in ("n_subjects", "pct", "n_events"))
    if n is None:
        return "0"
    return F.fmt_n_pct(n, pct) + ("" if float(n) == 0 else f" [{F.fmt_int(e)}]")


NOT_AVAILABLE = "not available"
AE_UNKNOWN_NOTE = (
    "Not available: the cut (ADaM datasets) has no ADAE dataset, so its adverse events are not "
    "known and are not counted (not 0)."
)


def ae_unknown(ard: ARD) -> bool:
    """Whether the cut has no record of its adverse events (a cut of ADaM datasets without ADAE:
    :func:`hepatrial.analysis.safety.ae_not_available`); its AE counts are "not available"."""
    return NO_AE in ard.methods("AE_OVERVIEW")


def overview_status(ard: ARD, code: str) -> str | None:
    """Why an AE_OVERVIEW row (``SERTEAE``, ``GR3TEAE``, ...) has no count: "not available" (the
    cut does not record its adverse events), "not collected" (the data have no source for the
    flag); None when it is counted."""
    methods = ard.methods("AE_OVERVIEW", paramcd=code)
    if NO_AE in methods:
        return NOT_AVAILABLE
    if any(m.startswith(NOT_COLLECTED) for m in methods):
        return NOT_COLLECTED
    return None


def overview_cell(ard: ARD, code: str, arm: str, pop: str = "SAFETY") -> str:
    """n (%) of an AE_OVERVIEW row, or why it has none (:func:`overview_status`)."""
    n, pct = (ard.get("AE_OVERVIEW", code, arm, s, pop) for s in ("n_subjects", "pct"))
    return overview_status(ard, code) or F.fmt_n_pct(n, pct)


def sae_not_collected(ard: ARD) -> bool:
    """Whether the data record no seriousness (no AESER value: the overview row is "not
    collected" and there are no SAE_INCIDENCE rows)."""
    return overview_status(ard, "SERTEAE") == NOT_COLLECTED


SAE_NOT_COLLECTED_TEXT = "Not collected: the adverse event data have no seriousness (AESER)."
GRADE_NOT_COLLECTED_TEXT = "Not collected: the adverse event data have no grade (AETOXGR)."


def _ae_unknown_table(t: Table, ard: ARD, rule: str, analyses: list[str]) -> Table:
    """``t`` with one row saying that the cut's adverse events are not known."""
    return _one_row_table(t, ard, rule, NO_AE_TEXT, analyses, [AE_UNKNOWN_NOTE])


def _one_row_table(
    t: Table, ard: ARD, rule: str, text: str, analyses: list[str], notes: list[str]
) -> Table:
    """``t`` as one row, ``text``: why the table has no counts."""
    t.add("", text)
    return _finish(t, ard, rule, [*analyses, "BIGN"], [], notes)


def table_ae_overview(ard: ARD, rule: str = "tlf_ae_overview") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table(
        "ae_overview",
        "Overview of treatment-emergent adverse events",
        POP_LABEL[pop],
        ard.header(pop),
    )
    ov = ard.rows("AE_OVERVIEW", population=pop)
    codes = set(ov["paramcd"].to_list())
    unknown = ae_unknown(ard)
    for code, label in AE_OVERVIEW_LABEL.items():
        if code in codes:
            why = overview_status(ard, code)
            counts = [_n_pct_e(ard, "AE_OVERVIEW", code, a, pop) for a in arms]
            t.add("", label, [why] * len(arms) if why else counts)
    notes = [
        "n (%) [E]: subjects with at least one event (% of the safety population in the column) [number of "
        f"events]. {ae_period_note(ard.study)} Not collected: the data have no source for the flag "
        "(e.g. no action taken, AEACN)."
    ]
    if unknown:
        return _finish(t, ard, rule, ["AE_OVERVIEW", "BIGN"], [], [AE_UNKNOWN_NOTE])
    return _finish(t, ard, rule, ["AE_OVERVIEW", "BIGN"], ard.methods("AE_OVERVIEW"), notes)


def table_ae_soc_pt(ard: ARD, rule: str = "tlf_ae_soc_pt") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table(
        "ae_soc_pt",
        "Treatment-emergent adverse events by system organ class and preferred term",
        POP_LABEL[pop],
        ard.header(pop),
        stub_header="System organ class / Preferred term",
        group_rows=False,
    )
    if ae_unknown(ard):
        return _ae_unknown_table(t, ard, rule, ["AE_INCIDENCE"])

    def add(group, code, indent):
        cells = [_n_pct_e(ard, "AE_INCIDENCE", code, a, pop) for a in arms]
        t.add(group, _pt_label(group, code), cells, indent)

    # the "any" row: subjects with at least one TEAE (AE_INCIDENCE ANY when the ARD has it, else the
    # overview's ANYTEAE, the same count)
    any_src = (
        ("AE_INCIDENCE", "ANY")
        if ard.has("AE_INCIDENCE", paramcd="ANY")
        else ("AE_OVERVIEW", "ANYTEAE")
    )
    if ard.has(any_src[0], paramcd=any_src[1], population=pop):
        t.add("", "Any TEAE", [_n_pct_e(ard, *any_src, a, pop) for a in arms], 0)
    _soc_pt_rows(t, ard, "AE_INCIDENCE", pop, arms, add)
    notes = [
        "n (%) [E]: subjects with at least one event (% of the safety population in the column) [events]. "
        "A subject counts once per system organ class and once per preferred term. Sorted by decreasing "
        "frequency in the Total column, then alphabetically."
    ]
    return _finish(
        t,
        ard,
        rule,
        ["AE_INCIDENCE", "AE_OVERVIEW", "BIGN"],
        ["TEAE by system organ class and preferred term"] if t.rows else [],
        notes,
    )


def _pt_label(soc: str, code: str) -> str:
    """The row label of ``code``: the SOC itself, or the PT of ``SOC|PT`` (a SOC or a PT may hold
    "|": :func:`~hepatrial.analysis.safety.split_soc_pt`), clipped to :data:`LISTING_MAX_CHARS`
    characters with a marker (source text: a term of megabytes would not fit a page, nor Pillow's
    measuring in the RTF writer)."""
    name, pt = split_soc_pt(code)
    return clip_text(name if pt is None else pt)


def ae_period_note(study: Study) -> str:
    """Which AEs the safety tables count, in words (study config ``ae.period``)."""
    ae = study.ae
    if ae.period == "treatment_window":
        return (
            f"Adverse events with onset on or after the first infusion and within {ae.followup_days} "
            "days of the last (treatment window)."
        )
    return "Adverse events with onset on or after the first infusion, to the end of study or last contact (on study)."


def _soc_pt_rows(t: Table, ard: ARD, analysis: str, pop: str, arms: list[str], cell) -> None:
    """SOC rows (by decreasing Total frequency), each followed by its PT rows (``paramcd`` ``SOC|PT``)."""
    codes = [
        c for c in ard.rows(analysis, population=pop)["paramcd"].unique().to_list() if c != "ANY"
    ]

    def freq(code):
        v = ard.get(analysis, code, POOLED, "n_subjects", pop)
        if v is None:  # AE_GRADE: subjects at any grade
            v = ard.get(analysis, code, POOLED, "n_any", pop)
        return -(v or 0)

    parts = {c: split_soc_pt(c) for c in codes}
    socs = sorted((c for c in codes if parts[c][1] is None), key=lambda c: (freq(c), c))
    for soc in socs:
        name = parts[soc][0]
        cell(name, soc, 0)
        pts = [c for c in codes if parts[c][1] is not None and parts[c][0] == name]
        for pt in sorted(pts, key=lambda c: (freq(c), c)):
            cell(name, pt, 1)


def table_ae_grade(ard: ARD, rule: str = "tlf_ae_grade") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table(
        "ae_grade",
        "Treatment-emergent adverse events by system organ class, preferred term and worst grade",
        POP_LABEL[pop],
        ard.header(pop),
        stub_header="System organ class / Preferred term / Worst grade",
        group_rows=False,
    )
    if ae_unknown(ard):
        return _ae_unknown_table(t, ard, rule, ["AE_GRADE"])
    if overview_status(ard, "GR3TEAE") == NOT_COLLECTED:  # no grade to show: not a table of zeros
        return _one_row_table(t, ard, rule, GRADE_NOT_COLLECTED_TEXT, ["AE_OVERVIEW"], [])
    grades = [
        g
        for g in range(1, 6)
        if any(
            (ard.get("AE_GRADE", c, POOLED, f"n_grade{g}", pop) or 0) > 0
            for c in ard.rows("AE_GRADE")["paramcd"].unique().to_list()
        )
    ]

    def add(group, code, indent):
        label = "Any TEAE" if code == "ANY" else _pt_label(group, code)
        t.add(
            group,
            label,
            [
                F.fmt_n_pct(
                    ard.get("AE_GRADE", code, a, "n_any", pop),
                    ard.get("AE_GRADE", code, a, "pct_any", pop),
                )
                for a in arms
            ],
            indent,
        )
        for g in grades:
            if not any(ard.get("AE_GRADE", code, a, f"n_grade{g}", pop) for a in arms):
                continue
            t.add(
                group,
                f"Grade {g}",
                [
                    F.fmt_n_pct(
                        ard.get("AE_GRADE", code, a, f"n_grade{g}", pop),
                        ard.get("AE_GRADE", code, a, f"pct_grade{g}", pop),
                    )
                    for a in arms
                ],
                indent + 1,
            )

    if ard.has("AE_GRADE", paramcd="ANY"):
        add("Any TEAE", "ANY", 0)  # the row and its grades: one block (kept on one page)
    _soc_pt_rows(t, ard, "AE_GRADE", pop, arms, add)
    notes = [
        "n (%): subjects whose worst CTCAE grade of a TEAE in the category is the grade shown (% of the "
        "safety population in the column); the first row of each category counts any grade. A grade with no "
        "subject in any arm is not shown under that category."
    ]
    return _finish(t, ard, rule, ["AE_GRADE", "BIGN"], ard.methods("AE_GRADE"), notes)


def table_sae_soc_pt(ard: ARD, rule: str = "tlf_sae_soc_pt") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table(
        "sae_soc_pt",
        "Serious treatment-emergent adverse events by system organ class and preferred term",
        POP_LABEL[pop],
        ard.header(pop),
        stub_header="System organ class / Preferred term",
        group_rows=False,
    )
    if ae_unknown(ard):
        return _ae_unknown_table(t, ard, rule, ["SAE_INCIDENCE"])
    if sae_not_collected(ard):
        return _one_row_table(t, ard, rule, SAE_NOT_COLLECTED_TEXT, ["AE_OVERVIEW"], [])

    def add(group, code, indent):
        label = "Any serious TEAE" if code == "ANY" else _pt_label(group, code)
        t.add(group, label, [_n_pct_e(ard, "SAE_INCIDENCE", code, a, pop) for a in arms], indent)

    if ard.has("SAE_INCIDENCE", paramcd="ANY"):
        add("", "ANY", 0)
    _soc_pt_rows(t, ard, "SAE_INCIDENCE", pop, arms, add)
    notes = [
        "n (%) [E]: subjects with at least one serious TEAE (% of the safety population in the column) "
        "[events]. A subject counts once per system organ class and once per preferred term."
    ]
    return _finish(t, ard, rule, ["SAE_INCIDENCE", "BIGN"], ard.methods("SAE_INCIDENCE"), notes)


def table_aesi(ard: ARD, rule: str = "tlf_aesi") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table("aesi", "Adverse events of special interest", POP_LABEL[pop], ard.header(pop))
    if ae_unknown(ard):
        return _ae_unknown_table(t, ard, rule, ["AESI"])
    labels = {}
    for r in ard.rows("AESI", population=pop).iter_rows(named=True):
        labels.setdefault(r["paramcd"], (r["method"] or "").removeprefix("AESI ").split(";")[0])
    for code, label in labels.items():
        t.add(
            label,
            "Subjects, n (%) [E]",
            [
                # an AESI defined by its onset, in a cut without infusion dates: not counted
                F.NE
                if F.is_missing(ard.get("AESI", code, a, "n_subjects", pop))
                else _n_pct_e(ard, "AESI", code, a, pop)
                for a in arms
            ],
            1,
        )
        cells = []
        for a in arms:
            md, lo, hi = (
                ard.get("AESI", code, a, s, pop) for s in ("onset_median", "onset_min", "onset_max")
            )
            # no event in the column: not estimable, as everywhere (tlf.format.NE), not a blank
            cells.append(
                F.NE
                if md is None or F.is_missing(md)
                else f"{F.fmt_num(md, 1)} ({F.fmt_int(lo)}, {F.fmt_int(hi)})"
            )
        t.add(label, "Days from the most recent infusion to onset, median (min, max)", cells, 1)
    notes = [
        "Treatment-emergent AEs matching the study's definition of each AE of special interest (preferred "
        "terms, system organ classes or words in the preferred term; study config safety.aesi). Onset: days "
        "from the most recent infusion on or before the AE's start (0 = the day of an infusion), over events. "
        "NE: not estimable (no event in the column)."
    ]
    if any("no EX (exposure) records" in m for m in ard.methods("AESI")):
        notes.append(
            "Onset not available: the cut has no EX (exposure) records (a cut of ADaM datasets has "
            "none); an AE of special interest defined by its onset is not counted (NE)."
        )
    methods = ard.rows("AESI").select("paramcd", "method").unique(maintain_order=True)
    unsure = [
        f"{labels.get(code, code)}, {m.split('; ')[-1]}"
        for code, m in methods.iter_rows()
        if m and m.endswith("could not be assessed")
    ]
    if unsure:
        notes.append(
            "AEs of special interest defined by system organ class count only coded AEs: "
            + "; ".join(unsure)
            + " (counts are lower bounds until they are coded)."
        )
    return _finish(t, ard, rule, ["AESI", "BIGN"], [], notes)


def table_death_causes(ard: ARD, rule: str = "tlf_death_causes") -> Table:
    pop = "ITT"
    arms = ard.arms + [POOLED]
    t = Table(
        "death_causes",
        "Deaths and liver transplants, and causes of death",
        POP_LABEL[pop],
        ard.header(pop),
    )
    unknown = deaths_unknown(ard)
    for code, label in (
        ("DEATH", "Deaths"),
        ("LTX", "Liver transplants"),
        ("DEATH OR LTX", "Death or liver transplant"),
    ):
        if ard.has("DEATHS", paramcd=code):
            t.add("", label, [death_cell(ard, code, a, pop) for a in arms])
    causes = ard.rows("DEATH_CAUSE", population=pop)["paramcd"].unique().to_list()

    def freq(c):
        return (c == "No fatal AE recorded", -(ard.get("DEATH_CAUSE", c, POOLED, "n", pop) or 0), c)

    for c in sorted(causes, key=freq):
        t.add(
            "Cause of death (fatal adverse event)",
            c,
            [
                F.fmt_n_pct(
                    ard.get("DEATH_CAUSE", c, a, "n", pop), ard.get("DEATH_CAUSE", c, a, "pct", pop)
                )
                for a in arms
            ],
            1,
        )
    notes = [
        "n (%) of the ITT subjects in the column. Cause: the preferred term of each fatal adverse event "
        "(a subject with two fatal AEs counts under both). Deaths and transplants up to the data cut."
    ]
    if unknown:
        notes.append(NO_DEATHS_TEXT)
    return _finish(t, ard, rule, ["DEATHS", "DEATH_CAUSE", "BIGN"], [], notes)


def deaths_unknown(ard: ARD) -> bool:
    """Whether the cut has no record of its deaths (a cut of ADaM datasets whose ADSL has neither
    DTHFL nor DTHDT: :func:`hepatrial.report.summaries.summarise_deaths`)."""
    return NO_DEATHS in ard.methods("DEATHS")


def death_cell(ard: ARD, code: str, arm: str, pop: str = "ITT") -> str:
    """n (%) of a DEATHS row; "not available" where the cut's deaths are not known."""
    n = ard.get("DEATHS", code, arm, "n", pop)
    if n is None and NO_DEATHS in ard.methods("DEATHS", paramcd=code):
        return NOT_AVAILABLE
    return F.fmt_n_pct(n, ard.get("DEATHS", code, arm, "pct", pop))


DLT_DECISION = {0: "Pending", 1: "Proceed", 2: "Expand", 3: "Stop"}


def table_dlt(ard: ARD, rule: str = "tlf_dlt") -> Table:
    """Dose escalation: DLTs per dose cohort with the exact (Clopper-Pearson) 95% CI of the DLT rate,
    DLTs by preferred term, the escalation decision per cohort, the MTD and RP2D (ARD DLT, ESCALATION)."""
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    cols = [
        f"{TOTAL if a == POOLED else a} (N={F.fmt_int(ard.get('DLT', 'DLT', a, 'n_subjects', pop))})"
        for a in arms
    ]
    t = Table(
        "dlt",
        "Dose-limiting toxicities by dose cohort and the escalation decision",
        POP_LABEL[pop],
        cols,
    )
    if not ard.has("DLT", paramcd="DLT"):
        return _finish(t, ard, rule, ["DLT", "ESCALATION"], [], [])
    t.add(
        "",
        "DLT-evaluable subjects",
        [F.fmt_int(ard.get("DLT", "DLT", a, "n_evaluable", pop)) for a in arms],
    )
    t.add(
        "",
        "Subjects with a DLT, n (%)",
        [
            F.fmt_n_pct(
                ard.get("DLT", "DLT", a, "n_dlt", pop), ard.get("DLT", "DLT", a, "pct", pop)
            )
            for a in arms
        ],
    )
    t.add(
        "",
        "Exact 95% CI (Clopper-Pearson), %",
        [
            F.fmt_ci(
                ard.get("DLT", "DLT", a, "ci_lower", pop),
                ard.get("DLT", "DLT", a, "ci_upper", pop),
                1,
            )
            for a in arms
        ],
        1,
    )
    t.add("", "DLT events, E", [F.fmt_int(ard.get("DLT", "DLT", a, "n_events", pop)) for a in arms])
    pts = sorted(
        c.removeprefix("DLT|")
        for c in ard.rows("DLT", population=pop)["paramcd"].unique().to_list()
        if c.startswith("DLT|")
    )
    for pt in pts:
        t.add(
            "Subjects with a DLT by preferred term, n [E]",
            pt,
            [
                f"{F.fmt_int(ard.get('DLT', f'DLT|{pt}', a, 'n_dlt', pop) or 0)} "
                f"[{F.fmt_int(ard.get('DLT', f'DLT|{pt}', a, 'n_events', pop) or 0)}]"
                for a in arms
            ],
            1,
        )
    if ard.has("ESCALATION", paramcd="DECISION"):
        t.add(
            "",
            "Escalation decision",
            [
                DLT_DECISION.get(int(c), "")
                if (c := ard.get("ESCALATION", "DECISION", a, "code", pop)) is not None
                else ""
                for a in arms
            ],
        )
    notes = [
        "% of the DLT-evaluable subjects of the cohort (a DLT, or followed to the end of the first "
        "infusion's DLT window). 95% CI: exact (Clopper-Pearson) interval of the DLT rate."
    ]
    for name in ("MTD", "RP2D"):
        m = ard.methods("ESCALATION", paramcd=name)
        if m:
            notes.append(m[0].split("; ")[0] + ".")
    methods = ard.methods("DLT", paramcd="DLT")
    notes += [m.split("; ")[0] + "." for m in methods[:1]]
    esc = ard.methods("ESCALATION", paramcd="DECISION")
    if esc:
        notes.append("Escalation " + esc[0].split("; ", 1)[-1] + ".")
    return _finish(t, ard, rule, ["DLT", "ESCALATION"], [], notes)


def table_lmm(ard: ARD, rule: str = "tlf_lmm") -> Table:
    """The random-slope sensitivity model of the MMRM parameters: differences by visit."""
    pop = "ITT"
    t = Table(
        "lmm",
        "Sensitivity analysis: random intercept and slope model, difference in change from "
        "baseline by visit",
        POP_LABEL[pop],
        ["Comparison", "Difference (95% CI)", "SE", "p-value"],
        stub_header="Parameter / visit",
    )
    rows = ard.rows("LMM_DIFF", population=pop)
    for p in list(dict.fromkeys(rows["paramcd"].to_list())):
        d = ard.stat_decimals(p, "estimate")
        have = set(rows.filter(pl.col("paramcd") == p)["avisit"].to_list())
        for v in [v for v in ard.visits() if v in have]:
            for r in rows.filter(
                (pl.col("paramcd") == p) & (pl.col("avisit") == v) & (pl.col("stat") == "estimate")
            ).iter_rows(named=True):
                g = lambda s, r=r: ard.get("LMM_DIFF", p, r["arm"], s, pop, v, r["comparator"])  # noqa: E731, B023  (used within the iteration)
                t.add(
                    param_label(p),
                    v,
                    [
                        f"{r['arm']} vs {r['comparator']}",
                        F.fmt_est_ci(g("estimate"), g("lower"), g("upper"), d),
                        F.fmt_num(g("se"), ard.stat_decimals(p, "se")),
                        F.fmt_p(g("p")),
                    ],
                    1,
                )
    return _finish(
        t,
        ard,
        rule,
        ["LMM_DIFF"],
        ard.methods("LMM_DIFF"),
        [
            "Sensitivity analysis of the MMRM: linear mixed model with a random intercept and slope in time "
            "per subject; differences in the model-based mean change at each visit."
        ],
    )


def table_lab_shift(ard: ARD, rule: str = "tlf_lab_shift") -> Table:
    pop = "SAFETY"
    worst = [*LAB_SHIFT_CATEGORIES, LAB_SHIFT_MARGIN]  # the key's categories, then the margin
    shown = {w: category_label(ard.study, "ANRIND", w) for w in worst}  # LOW -> Low
    cols = [f"Worst post-baseline: {shown[w]}" if w != LAB_SHIFT_MARGIN else "Total" for w in worst]
    t = Table(
        "lab_shift",
        "Shift from baseline to the worst post-baseline reference-range category",
        POP_LABEL[pop],
        cols,
        stub_header="Parameter / arm / baseline category",
    )
    codes = ard.rows("LAB_SHIFT", population=pop)["paramcd"].unique().to_list()
    params = list(dict.fromkeys(c.split("|")[0] for c in sorted(codes, key=_lab_order)))
    for p in params:
        for arm in ard.arms + [POOLED]:
            arm_lab = (TOTAL if arm == POOLED else arm) + f" (N={F.fmt_int(ard.big_n(pop, arm))})"
            g = f"{param_label(p)}: {arm_lab}"
            for b in worst:
                row_n = ard.get("LAB_SHIFT", f"{p}|{b}|{LAB_SHIFT_MARGIN}", arm, "n", pop)
                if row_n is None or (b == "Missing" and row_n == 0):
                    continue
                cells = [
                    F.fmt_n_pct(
                        ard.get("LAB_SHIFT", f"{p}|{b}|{w}", arm, "n", pop),
                        ard.get("LAB_SHIFT", f"{p}|{b}|{w}", arm, "pct", pop),
                    )
                    for w in worst
                ]
                t.add(g, f"Baseline: {shown[b]}" if b != LAB_SHIFT_MARGIN else "Total", cells, 1)
    notes = [
        "Categories by the reference range (Low < lower limit, High > upper limit). Worst post-baseline: "
        "High for bilirubin, INR, ALT, AST, creatinine and AFP, Low for albumin and platelets when ever "
        "reached, otherwise (and for the other tests) the value furthest outside the range; Missing: no "
        "post-baseline value. n (%): percentages are of the subjects of the arm with the test measured."
    ]
    return _finish(t, ard, rule, ["LAB_SHIFT", "BIGN"], ard.methods("LAB_SHIFT"), notes)


def _lab_order(code: str):
    order = [
        "ALT",
        "AST",
        "BILI",
        "ALB",
        "INR",
        "CREAT",
        "SODIUM",
        "PLAT",
        "WBC",
        "AFP",
        "IGA",
        "IGG",
        "IGM",
    ]
    p = code.split("|")[0]
    return (order.index(p) if p in order else 99, p)


def table_lab_abn(ard: ARD, rule: str = "tlf_lab_abn") -> Table:
    pop = "SAFETY"
    arms = ard.arms + [POOLED]
    t = Table(
        "lab_abn",
        "Subjects with an abnormal laboratory value by visit",
        POP_LABEL[pop],
        ard.header(pop),
    )
    params = sorted(
        ard.rows("LAB_ABN", population=pop)["paramcd"].unique().to_list(), key=_lab_order
    )
    for p in params:
        have = set(ard.rows("LAB_ABN", paramcd=p, population=pop)["avisit"].to_list())
        for v in [v for v in ard.visits() if v in have]:
            cells = []
            for a in arms:
                n = ard.get("LAB_ABN", p, a, "n", pop, v)
                k = ard.get("LAB_ABN", p, a, "n_abnormal", pop, v)
                pct = ard.get("LAB_ABN", p, a, "pct_abnormal", pop, v)
                cells.append(
                    "" if n is None else f"{F.fmt_int(k)}/{F.fmt_int(n)} ({F.fmt_pct(pct)})"
                )
            t.add(param_label(p), v, cells, 1)
    notes = ["Cells: subjects with a LOW or HIGH value / subjects assessed at the visit (%)."]
    return _finish(t, ard, rule, ["LAB_ABN", "BIGN"], ard.methods("LAB_ABN"), notes)


def _responder_defs(ard: ARD) -> list[dict]:
    """The study's responder definitions (labels and order of the responder tables)."""
    from hepatrial.analysis.responder import definitions

    return definitions(ard.study)


RESP_STATUS_LABEL = {
    "n_dth_ltx": "Died or transplanted by the visit",
    "n_missing": "No value at the visit",
    "n_not_due": "Visit not yet due at the data cut",
}


def _resp_handling(d: dict, stat: str) -> str:
    if stat == "n_not_due":
        return "excluded"
    how = d["death_transplant"] if stat == "n_dth_ltx" else d["missing"]
    return "non-responders" if how == "nonresponder" else "excluded"


def table_responder(ard: ARD, rule: str = "tlf_responder") -> Table:
    defs = [d for d in _responder_defs(ard) if ard.has("RESPONDER", paramcd=d["id"])]
    pop = defs[0]["population"] if defs else "ITT"
    arms = ard.arms + [POOLED]
    t = Table("responder", "Responders by visit", POP_LABEL.get(pop, pop), ard.header(pop))
    for d in defs:
        pid, p = d["id"], d["population"]
        for visit in [v for v in ard.visits() if v in d["visits"]]:
            g = f"{d['label']}: {visit}"

            def get(stat, arm, analysis="RESPONDER", comparator="", p=p, pid=pid, visit=visit):
                return ard.get(analysis, pid, arm, stat, p, visit, comparator)

            cells = []
            for a in arms:
                n, r, rate = get("n", a), get("n_resp", a), get("rate", a)
                cells.append(
                    ""
                    if n is None
                    else f"{F.fmt_int(r)}/{F.fmt_int(n)}"
                    + ("" if F.is_missing(rate) else f" ({F.fmt_prob_pct(rate)})")
                )
            t.add(g, "Responders / analysed, n/N (%)", cells, 1)
            t.add(
                g,
                "95% CI, % (Clopper-Pearson)",
                [
                    ""
                    if get("n", a) is None or not get("n", a)
                    else f"({F.fmt_prob_pct(get('lower', a))}, {F.fmt_prob_pct(get('upper', a))})"
                    for a in arms
                ],
                1,
            )
            t.add(
                g,
                "Could respond (eligible), n",
                [F.fmt_int(get("n_elig", a)) if get("n_elig", a) is not None else "" for a in arms],
                1,
            )
            for stat, label in RESP_STATUS_LABEL.items():
                vals = [get(stat, a) for a in arms]
                if all(v is None or v == 0 for v in vals):
                    continue
                t.add(
                    g,
                    f"{label} ({_resp_handling(d, stat)}), n",
                    ["" if v is None else F.fmt_int(v) for v in vals],
                    2,
                )
            if not ard.parallel:
                continue
            for test in ard.tests:
                col = _cmp_col(ard, test, ard.arms)
                ref = ard.reference

                def only(text, col=col):
                    return [text if a == col else "" for a in arms]

                rd = get("rd", test, comparator=ref)
                if rd is not None:
                    lo, hi = get("lower", test, comparator=ref), get("upper", test, comparator=ref)
                    t.add(
                        g,
                        f"Difference vs {ref}, % (95% CI, Miettinen-Nurminen)",
                        only(f"{F.fmt_prob_pct(rd)} ({F.fmt_prob_pct(lo)}, {F.fmt_prob_pct(hi)})"),
                        1,
                    )
                mh = get("rd", test, "RESPONDER_CMH", ref)
                if mh is not None:
                    lo, hi = (get(s, test, "RESPONDER_CMH", ref) for s in ("lower", "upper"))
                    t.add(
                        g,
                        f"Stratified (Mantel-Haenszel) difference vs {ref}, % (95% CI)",
                        only(f"{F.fmt_prob_pct(mh)} ({F.fmt_prob_pct(lo)}, {F.fmt_prob_pct(hi)})"),
                        1,
                    )
                    t.add(
                        g,
                        "CMH test p-value",
                        only(F.fmt_p(get("p", test, "RESPONDER_CMH", ref))),
                        1,
                    )
    strata = ", ".join(ard.study.strata) or "none"
    notes = [
        (
            "Rates and differences shown as percentages. Analysed: subjects who could respond "
            "(see the definitions), less those excluded as noted. Visits not yet due at the data "
            "cut are excluded."
        )
    ]
    if ard.parallel:
        notes.append(
            f"Stratified by the randomisation strata ({strata}): Cochran-Mantel-Haenszel test "
            "without "
            "continuity correction; Mantel-Haenszel common risk difference with Sato's variance."
        )
    analyses = ["RESPONDER", "RESPONDER_CMH"]
    return _finish(t, ard, rule, [*analyses, "BIGN"], ard.methods(analyses), notes)


RESP_SHIFT_LABEL = {"DEATH_LTX": "Died or transplanted", "MISSING": "Missing", "ALL": "Total"}


def _level_key(c: str):
    return (
        (0, float(c), c) if c.replace(".", "", 1).isdigit() else (0 if len(c) == 1 else 1, 0.0, c)
    )


def table_resp_shift(ard: ARD, pid: str, rule: str = "tlf_resp_shift") -> Table:
    """Shift from the baseline category to the category at each visit of an ordinal responder
    definition (ARD RESPONDER_SHIFT), by arm."""
    d = next(
        (x for x in _responder_defs(ard) if x["id"] == pid),
        {"id": pid, "label": pid, "population": "ITT"},
    )
    rows = ard.rows("RESPONDER_SHIFT").filter(pl.col("paramcd").str.starts_with(pid + "|"))
    pop = rows["population"][0] if rows.height else d["population"]
    parts = [c.split("|") for c in rows["paramcd"].unique().to_list()]
    special = ["DEATH_LTX", "MISSING", "ALL"]
    b_levels = sorted({x[1] for x in parts} - {"ALL"}, key=_level_key)
    v_levels = sorted({x[2] for x in parts} - set(special), key=_level_key) + special
    cols = [RESP_SHIFT_LABEL.get(v, v) for v in v_levels]
    t = Table(
        f"resp_shift_{pid}",
        f"{d['label']}: shift from baseline by visit",
        POP_LABEL.get(pop, pop),
        cols,
        stub_header="Visit / arm / baseline category",
    )
    have = set(rows["avisit"].to_list())
    for visit in [v for v in ard.visits() if v in have]:
        for arm in ard.arms + [POOLED]:
            tot = ard.get("RESPONDER_SHIFT", f"{pid}|ALL|ALL", arm, "n", pop, visit)
            if tot is None:
                continue
            g = f"{visit}: {TOTAL if arm == POOLED else arm} (n={F.fmt_int(tot)})"
            for b in [*b_levels, "ALL"]:
                row_n = ard.get("RESPONDER_SHIFT", f"{pid}|{b}|ALL", arm, "n", pop, visit)
                if row_n is None or (b != "ALL" and row_n == 0):
                    continue
                cells = [
                    F.fmt_n_pct(
                        ard.get("RESPONDER_SHIFT", f"{pid}|{b}|{v}", arm, "n", pop, visit),
                        ard.get("RESPONDER_SHIFT", f"{pid}|{b}|{v}", arm, "pct", pop, visit),
                    )
                    for v in v_levels
                ]
                t.add(g, f"Baseline {b}" if b != "ALL" else "Total", cells, 1)
    notes = [
        (
            "Columns: category at the visit; Died or transplanted: by the close of the visit "
            "window without a value; Missing: no value at the visit. n: subjects with a baseline "
            "value whose visit was due at the data cut; n (%): percentages of n."
        )
    ]
    return _finish(t, ard, rule, ["RESPONDER_SHIFT", "BIGN"], ard.methods("RESPONDER_SHIFT"), notes)


def table_subgroup(ard: ARD, rule: str = "tlf_subgroup") -> Table:
    pop = "ITT"
    sg = ard.rows("SUBGROUP", population=pop)
    param = sg["paramcd"][0].split("|")[0] if sg.height else ard.study.scores.meld_primary
    visit = sg["avisit"][0] if sg.height else ard.study.endpoints.primary_visit
    cols = []
    for test in ard.tests:
        cols += [
            f"{test} vs {ard.reference}: n",
            "Difference (95% CI)",
            "p-value",
            "Interaction p-value",
        ]
    t = Table(
        "subgroup",
        f"Change from baseline in {param_label(param)} at {visit} by subgroup (ANCOVA)",
        POP_LABEL[pop],
        cols,
        stub_header="Subgroup",
    )
    d = ard.stat_decimals(param, "estimate")
    keys = list(dict.fromkeys(sg.filter(pl.col("stat") == "estimate")["paramcd"].to_list()))
    keys = sorted(keys, key=lambda k: (k != f"{param}|ALL", k))
    for key in keys:
        sub = key.split("|", 1)[1]
        var, _, level = sub.partition("=")
        group = "All subjects" if sub == "ALL" else VAR_LABEL.get(var, var)
        label = "All subjects" if sub == "ALL" else category_label(ard.study, var, level)
        cells = []
        for test in ard.tests:
            g = lambda s, k=key: ard.get("SUBGROUP", k, test, s, pop, visit, ard.reference)  # noqa: E731, B023  (used within the iteration)
            pint = ard.get(
                "SUBGROUP", f"{param}|{var}", test, "p_interaction", pop, visit, ard.reference
            )
            first = sub != "ALL" and level == _first_level(keys, param, var)
            cells += [
                F.fmt_int(g("n")),
                F.fmt_est_ci(g("estimate"), g("lower"), g("upper"), d),
                F.fmt_p(g("p")),
                F.fmt_p(pint) if first and pint is not None else "",
            ]
        t.add(group, label, cells, 1)
    return _finish(
        t,
        ard,
        rule,
        ["SUBGROUP"],
        ard.methods("SUBGROUP"),
        ["Exploratory; no adjustment for multiplicity. n: subjects in the model."],
    )


def _first_level(keys: list[str], param: str, var: str) -> str:
    levels = [k.split("=", 1)[1] for k in keys if k.startswith(f"{param}|{var}=")]
    return levels[0] if levels else ""


# Estimands (ARD ESTIMAND, MI_DIFF, MI_LSMEAN, TIPPING, ICE_SUMMARY; docs/estimands.md).
# in the estimands table (ICH E9(R1)): one primary estimand, sensitivity analyses of it (other
# assumptions for the missing values), supplementary estimands
ROLE_DISPLAY = {1: "primary estimand", 2: "sensitivity analysis", 3: "supplementary estimand"}
ATTRIBUTE_LABEL = {
    "attr_population": "Population",
    "attr_variable": "Variable",
    "attr_ice": "Intercurrent events",
    "attr_summary": "Population-level summary",
    "attr_treatment": "Treatment",
}
MI_METHOD_LABEL = {
    "condmean": "Conditional mean imputation, jackknife SE",
    "condmean-boot": "Conditional mean imputation, bootstrap SE",
    "bayes": "Bayesian MI, Rubin's rules",
    "approxbayes": "Approximate Bayesian MI, Rubin's rules",
    "bmlmi": "Bootstrapped MI (von Hippel-Bartlett)",
}
ICE_LABEL = {
    "TRTDISC": "Treatment discontinuation",
    "DEATH": "Death",
    "TRANSPLANT": "Liver transplantation",
    "RESCUE": "Rescue therapy",
    "ANY": "Any intercurrent event",
}


def estimand_info(ard: ARD) -> list[dict]:
    """The estimands in the ARD (ESTIMAND rows), in config order: id, param, set, label, role,
    visit, population, attributes (text), comparisons (arm, comparator)."""
    rows = ard.rows("ESTIMAND")
    out: dict[str, dict] = {}
    for r in rows.iter_rows(named=True):
        param, eid = r["paramcd"].split("|", 1)
        e = out.setdefault(
            r["paramcd"],
            {
                "id": eid,
                "param": param,
                "paramcd": r["paramcd"],
                "visit": r["avisit"],
                "population": r["population"],
                "attributes": {},
                "comparisons": [],
                "order": 0,
                "role": 2,
                "set": param,
                "label": eid,
                "mmrm_target": False,
            },
        )
        cmp_ = (r["arm"], r["comparator"])
        if cmp_ not in e["comparisons"]:
            e["comparisons"].append(cmp_)
        if r["stat"] == "order":
            e["order"], e["set"] = r["value"] or 0, r["method"] or param
        elif r["stat"] == "role":
            e["role"] = int(r["value"]) if r["value"] is not None else 2
        elif r["stat"] == "label":
            e["label"] = r["method"] or eid
        elif r["stat"] == "mmrm_target":
            e["mmrm_target"] = bool(r["value"])
        elif r["stat"] in ATTRIBUTE_LABEL:
            e["attributes"][r["stat"]] = r["method"] or ""
    return sorted(out.values(), key=lambda e: (e["order"], e["id"]))


def estimand_sets(ard: ARD) -> list[str]:
    return list(dict.fromkeys(e["set"] for e in estimand_info(ard)))


def _mi_methods(ard: ARD, paramcd: str) -> list[str]:
    """Method keys of an estimand's MI_DIFF rows, in the order of the config (first = main)."""
    codes = (
        ard.rows("MI_DIFF", stat="estimate")
        .filter(pl.col("paramcd").str.starts_with(paramcd + "|"))["paramcd"]
        .unique(maintain_order=True)
    )
    keys = [c.removeprefix(paramcd + "|") for c in codes.to_list()]
    order = list(MI_METHOD_LABEL)
    return sorted(keys, key=lambda k: (order.index(k) if k in order else 99, k))


def _mi_method_label(ard: ARD, paramcd: str, key: str) -> str:
    import re

    lab = MI_METHOD_LABEL.get(key, key)
    meth = " ".join(ard.methods("MI_DIFF", paramcd=f"{paramcd}|{key}"))
    m = re.search(r"\b([MB]=\d+(?:, D=\d+)?)", meth)
    if key == "condmean":  # the jackknife of a large trial deletes groups (models.mi)
        g = re.search(r"delete-a-group jackknife, (\d+) groups", meth)
        return f"{lab} (delete-a-group, {g.group(1)} groups)" if g else lab
    return f"{lab} ({m.group(1)})" if m else lab


def table_estimands(ard: ARD, set_name: str, rule: str = "tlf_estimands") -> Table:
    """The estimands of one set side by side: per estimand and MI method the LS means by arm,
    the difference vs the reference arm with its 95% CI and p at the estimand's visit; the five
    attributes in the footnotes. The MMRM of all observed data (the primary endpoint analysis)
    heads the primary estimand as its main estimator when it estimates it (ESTIMAND
    ``mmrm_target``; MI under MAR is then labelled a supplementary estimator), else it is a line
    of its own, said not to estimate the primary estimand."""
    ests = [e for e in estimand_info(ard) if e["set"] == set_name]
    pop = ests[0]["population"] if ests else "ITT"
    param = ests[0]["param"] if ests else set_name
    visit = ests[0]["visit"] if ests else ard.study.endpoints.primary_visit
    label = param_label(param)
    arms = ard.arms
    cols = [f"{h}: LS mean (SE)" for h in ard.header(pop, total=False)]
    for test in ard.tests:
        cols += [f"{test} vs {ard.reference}: difference (95% CI)", "p-value"]
    t = Table(
        f"estimands_{set_name}",
        f"Change from baseline in {label} at {visit}: "
        "estimands (primary and sensitivity analyses, multiple imputation)",
        POP_LABEL.get(pop, pop),
        cols,
        stub_header="Estimand / method",
    )
    d_mean, d_se = ard.stat_decimals(param, "lsmean"), ard.stat_decimals(param, "se")
    notes, analyses = [], ["ESTIMAND", "MI_LSMEAN", "MI_DIFF"]

    def cells(analysis_l, analysis_d, code, pop_):
        out = []
        for a in arms:
            lsm = ard.get(analysis_l, code, a, "lsmean", pop_, visit)
            se = ard.get(analysis_l, code, a, "se", pop_, visit)
            out.append("" if lsm is None else f"{F.fmt_num(lsm, d_mean)} ({F.fmt_num(se, d_se)})")
        for test in ard.tests:

            def g(s, test=test):
                return ard.get(analysis_d, code, test, s, pop_, visit, ard.reference)

            if g("estimate") is None:
                out += ["", ""]
                continue
            out += [F.fmt_est_ci(g("estimate"), g("lower"), g("upper"), d_mean), F.fmt_p(g("p"))]
        return out

    has_mmrm = ard.has("MMRM_DIFF", paramcd=param, population=pop, avisit=visit)
    ep = ard.study.endpoints
    is_primary = param == ard.study.primary_param and visit == ep.primary_visit
    # the primary estimand's main estimator: the MMRM of all observed data (the primary endpoint
    # analysis, the one the group-sequential monitoring uses) when it estimates that estimand
    # (ESTIMAND mmrm_target), MI under MAR then a supplementary estimator of it; else the first MI
    # method of the config
    mmrm_main = next(
        (e["id"] for e in ests if e["role"] == 1 and e["mmrm_target"] and has_mmrm), None
    )
    # the attributes every estimand of the set shares are said once (the footnotes repeat on every
    # page of the RTF: each said once leaves room for the rows)
    shared = {
        k: v
        for k, v in (ests[0]["attributes"].items() if len(ests) > 1 else [])
        if v and all(e["attributes"].get(k) == v for e in ests)
    }
    if shared:
        notes.append(
            "Every estimand: "
            + "; ".join(f"{ATTRIBUTE_LABEL[k]}: {v}" for k, v in shared.items())
            + "."
        )
    for e in ests:
        role = ROLE_DISPLAY.get(e["role"], "")
        group = f"{e['id']} ({role}): {e['label']}"
        keys = _mi_methods(ard, e["paramcd"])
        if e["id"] == mmrm_main:
            t.add(
                group,
                "MMRM of all observed data (main estimator"
                + ("; the primary analysis)" if is_primary else ")"),
                cells("MMRM_LSMEAN", "MMRM_DIFF", param, pop),
                1,
            )
            analyses += ["MMRM_LSMEAN", "MMRM_DIFF"]
        for k, key in enumerate(keys):
            lab = _mi_method_label(ard, e["paramcd"], key)
            if e["id"] == mmrm_main:
                lab = f"Supplementary estimator (MI under MAR): {lab}"
            elif e["role"] == 1 and k == 0:
                lab += " (main estimator)"
            t.add(
                group,
                lab,
                cells("MI_LSMEAN", "MI_DIFF", f"{e['paramcd']}|{key}", e["population"]),
                1,
            )
        attrs = "; ".join(
            f"{ATTRIBUTE_LABEL[k]}: {v}"
            for k, v in e["attributes"].items()
            if v and k not in shared
        )
        if attrs:
            notes.append(f"{e['id']} ({role}): {attrs}.")
        main = (keys or [""])[0]
        tip = ard.rows("TIPPING", paramcd=f"{e['paramcd']}|{main}", stat="tipping_delta")
        for r in tip.iter_rows(named=True):
            v = r["value"]
            where = f"{r['arm']} vs {r['comparator']}"
            notes.append(
                f"{e['id']}, tipping point ({where}): "
                + (
                    f"no longer significant at a shift of {F.fmt_num(v, 2)} added to the imputed "
                    "values of the test arm."
                    if not F.is_missing(v)
                    else "significant over the whole grid of shifts (or not significant without a shift)."
                )
            )
            if "TIPPING" not in analyses:
                analyses.append("TIPPING")
    if has_mmrm and mmrm_main is None:
        primary = next((e["id"] for e in ests if e["role"] == 1), None)
        t.add(
            "MMRM of all observed data (missing at random)"
            + (": the primary endpoint analysis" if is_primary else ""),
            "MMRM",
            cells("MMRM_LSMEAN", "MMRM_DIFF", param, pop),
            1,
        )
        analyses += ["MMRM_LSMEAN", "MMRM_DIFF"]
        if primary is not None:
            notes.append(
                f"The MMRM of all observed data does not estimate estimand {primary}: the "
                "estimand sets observed values missing, replaces them or imputes them other than "
                "under MAR."
            )
    elif mmrm_main is not None:
        notes.append(
            f"{mmrm_main}: the MMRM of all observed data (missing at random)"
            + (", the primary analysis of the primary endpoint," if is_primary else "")
            + " is the main estimator of the primary estimand; "
            "multiple imputation under MAR of the same data is a supplementary estimator of the "
            "same estimand."
        )
    notes.insert(
        0,
        f"Change from baseline in {label} at {visit}. LS means: mean prediction over "
        "the analysed subjects with the arm set (counterfactual weights) unless the "
        "method says otherwise; CI: 95% confidence interval; p: two-sided. "
        "Conditional mean imputation with the jackknife is deterministic; Bayesian MI "
        "carries Monte Carlo error.",
    )
    # one Methods note in the table's order, each thing said once (sap.estimand_methods_note)
    notes.append(
        estimand_methods_note(
            {
                e["id"]: [
                    m
                    for k in _mi_methods(ard, e["paramcd"])
                    for m in ard.methods("MI_DIFF", paramcd=f"{e['paramcd']}|{k}")
                ]
                for e in ests
            }
        )
    )
    return _finish(t, ard, rule, [*analyses, "BIGN"], [], notes)


def table_ice_summary(ard: ARD, rule: str = "tlf_ice_summary") -> Table:
    """Intercurrent events by arm and visit (ARD ICE_SUMMARY)."""
    rows = ard.rows("ICE_SUMMARY")
    pop = rows["population"][0] if rows.height else "ITT"
    arms = ard.arms + [POOLED]
    t = Table(
        "ice_summary",
        "Intercurrent events by visit",
        POP_LABEL.get(pop, pop),
        ard.header(pop),
        stub_header="Event / visit",
    )
    codes = [c for c in ICE_LABEL if rows.filter(pl.col("paramcd") == c).height]
    for code in codes:
        g = ICE_LABEL[code] + ", n (%)"
        t.add(
            g,
            "Any time up to the data cut",
            [
                F.fmt_n_pct(
                    ard.get("ICE_SUMMARY", code, a, "n", pop),
                    ard.get("ICE_SUMMARY", code, a, "pct", pop),
                )
                for a in arms
            ],
            1,
        )
        have = set(rows.filter(pl.col("paramcd") == code)["avisit"].to_list())
        for v in [v for v in ard.visits() if v in have]:
            t.add(
                g,
                f"Before {v}",
                [
                    F.fmt_n_pct(
                        ard.get("ICE_SUMMARY", code, a, "n", pop, v),
                        ard.get("ICE_SUMMARY", code, a, "pct", pop, v),
                    )
                    for a in arms
                ],
                2,
            )
    notes = [
        (
            "Subjects with the event, cumulative: before a visit = the event occurred before the "
            "visit's target day (so the visit, if done, is after the event). Percentages of the "
            "subjects in the column. A subject may have several events; 'Any' counts subjects."
        )
    ]
    return _finish(t, ard, rule, ["ICE_SUMMARY", "BIGN"], ard.methods("ICE_SUMMARY"), notes)


# Listings (from ADaM).
def _arm_order(study: Study) -> dict[str, int]:
    return {a: i for i, a in enumerate(study.arm_labels)}


def listing_sae(
    adae: pl.DataFrame,
    adsl: pl.DataFrame,
    study: Study,
    cut: str,
    rule: str = "tlf_listings",
    ae_recorded: bool = True,
) -> Table:
    """The SAE listing; ``ae_recorded`` False (a cut of ADaM datasets without ADAE): its one row
    says the adverse events are not known, not that there were none."""
    cols = [
        "Age/Sex",
        "Preferred term (reported term)",
        "System organ class",
        "Start date (day)",
        "End date",
        "Grade",
        "Related",
        "Outcome",
    ]
    t = Table(
        "l_sae",
        "Listing of serious treatment-emergent adverse events",
        POP_LABEL["SAFETY"],
        cols,
        stub_header="Subject",
    )
    ae = adae.filter(
        (pl.col("AESER") == "Y") & (pl.col("TRTEMFL") == "Y") & (pl.col("SAFFL") == "Y")
    )
    ae = ae.join(adsl.select("USUBJID", "AGE", "SEX"), on="USUBJID", how="left")
    order = _arm_order(study)
    ae = ae.with_columns(pl.col("TRT01A").replace_strict(order, default=99).alias("_o")).sort(
        ["_o", "USUBJID", "ASTDT"], nulls_last=True
    )
    for r in ae.iter_rows(named=True):
        t.add(
            r["TRT01A"] or "",
            r["USUBJID"],
            [
                f"{F.fmt_int(r['AGE'])}/{r['SEX'] or ''}",
                f"{r['AEDECOD'] or ''} ({r['AETERM'] or ''})",
                r["AEBODSYS"] or "",
                f"{r['ASTDT'] or ''} ({'' if r['ASTDY'] is None else r['ASTDY']})",
                str(r["AENDT"] or "ongoing"),
                "" if r["ATOXGR"] is None else str(r["ATOXGR"]),
                category_label(study, "AREL", r["AREL"] or ""),
                category_label(study, "AEOUT", r["AEOUT"] or ""),
            ],
        )
    return _finish_listing(
        t,
        study,
        cut,
        rule,
        ["ADAE", "ADSL"],
        "Serious (AESER = Y) treatment-emergent AEs of the safety population, by treatment received. "
        "Day: study day of onset relative to the first infusion. Imputed start dates per the ADAE rules.",
        NO_AE_TEXT
        if not ae_recorded
        else SAE_NOT_COLLECTED_TEXT
        if not_collected(adae, "AESER")
        else "No serious treatment-emergent adverse events.",
    )


def listing_deaths(
    adsl: pl.DataFrame,
    adae: pl.DataFrame,
    study: Study,
    cut: str,
    rule: str = "tlf_listings",
    ae_recorded: bool = True,
    deaths_recorded: bool = True,
) -> Table:
    """The death listing; ``ae_recorded`` False (a cut of ADaM datasets without ADAE): the fatal AE
    column reads "not available"; ``deaths_recorded`` False (its ADSL has neither DTHFL nor
    DTHDT): the listing's one row says the deaths are not known."""
    cols = [
        "Age/Sex",
        "Randomised" if study.design.randomised else "First dose",
        "Date of death",
        "Study day",
        "Liver transplant",
        "Reason (disposition)",
        "Fatal AE (preferred term)",
    ]
    t = Table("l_deaths", "Listing of deaths", POP_LABEL["ITT"], cols, stub_header="Subject")
    fatal = (
        adae.filter(pl.col("FATALFL") == "Y")
        .group_by("USUBJID")
        .agg(pl.col("AEDECOD").drop_nulls().unique().sort().str.join("; ").alias("_fatal"))
    )
    d = (
        adsl.filter((pl.col("DTHFL") == "Y") & (pl.col("ITTFL") == "Y"))
        .join(fatal, on="USUBJID", how="left")
        .with_columns(
            ((pl.col("DTHDT") - pl.col("ORIGDT")).dt.total_days() + 1).alias("_day"),
            pl.col("TRT01P").replace_strict(_arm_order(study), default=99).alias("_o"),
        )
        .sort(["_o", "USUBJID"])
    )
    for r in d.iter_rows(named=True):
        t.add(
            r["TRT01P"] or "",
            r["USUBJID"],
            [
                f"{F.fmt_int(r['AGE'])}/{r['SEX'] or ''}",
                str((r["RANDDT"] if study.design.randomised else r["ORIGDT"]) or ""),
                f"{r['DTHDT']}" + (f" (imputed: {r['DTHDTF']})" if r.get("DTHDTF") else ""),
                "" if r["_day"] is None else str(int(r["_day"])),
                str(r["LTXDT"] or "No"),
                category_label(study, "DCSREAS", r["DCSREAS"] or ""),
                (r["_fatal"] or "") if ae_recorded else NOT_AVAILABLE,
            ],
        )
    return _finish_listing(
        t,
        study,
        cut,
        rule,
        ["ADSL", "ADAE"],
        f"Deaths up to the data cut in the ITT population, by {'randomised' if study.design.randomised else 'planned'} "
        f"arm. Study day from {study.origin_words} (day 1). DTHDTF: D = day imputed, M = month and day "
        "imputed.",
        "No deaths." if deaths_recorded else NO_DEATHS_TEXT,
    )


LISTING_MAX_CHARS = 200  # a listing cell longer than this shows its start and a marker


def clip_text(text: str, limit: int = LISTING_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters with a marker saying how long it was (the ADaM datasets
    keep it whole): a 10 MB reported term must not make a listing page, or its renderer, explode."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [truncated: {len(text)} characters, see ADaM]"


def _finish_listing(
    t: Table, study: Study, cut: str, rule: str, sources: list[str], note: str, empty: str
) -> Table:
    """A listing's footnote and source line (the ADaM datasets it reads), and ``empty`` as its only row
    when it has no records. Cells over :data:`LISTING_MAX_CHARS` characters are clipped with a
    marker."""
    for r in t.rows:
        r.group, r.label = clip_text(r.group), clip_text(r.label)
        r.cells = [clip_text(c) for c in r.cells]
    t.footnotes = [note]
    t.source = f"Source: {', '.join(sources)}; rule {rule}; data cut {cut}; study {study.id}."
    t.kind = "Listing"
    t.shell = Shell.of(study, cut)
    if not t.rows:
        t.add("", empty)
    return t


TABLES = {
    "disposition": table_disposition,
    "baseline": table_baseline,
    "exposure": table_exposure,
    "km": table_km,
    "cif": table_cif,
    "ae_overview": table_ae_overview,
    "ae_soc_pt": table_ae_soc_pt,
    "lab_shift": table_lab_shift,
    "lab_abn": table_lab_abn,
    "subgroup": table_subgroup,
    "ae_grade": table_ae_grade,
    "sae_soc_pt": table_sae_soc_pt,
    "aesi": table_aesi,
    "death_causes": table_death_causes,
    "lmm": table_lmm,
    "responder": table_responder,
    "dlt": table_dlt,
}


def build_table(name: str, ard: ARD, rule: str) -> Table:
    """A summary table by name: ``disposition``, ``baseline``, ..., ``mmrm_<PARAMCD>``, ``desc_<PARAMCD>``."""
    if name.startswith("mmrm_"):
        return table_mmrm(ard, name.removeprefix("mmrm_"), rule)
    if name.startswith("mmrmpp_"):
        return table_mmrm(ard, name.removeprefix("mmrmpp_"), rule, pop="PP")
    if name.startswith("desc_"):
        return table_desc(ard, name.removeprefix("desc_"), rule)
    if name.startswith("resp_shift_"):
        return table_resp_shift(ard, name.removeprefix("resp_shift_"), rule)
    if name.startswith("estimands_"):
        return table_estimands(ard, name.removeprefix("estimands_"), rule)
    if name == "ice_summary":  # not in TABLES: only studies with estimands have it
        return table_ice_summary(ard, rule)
    if name not in TABLES:
        raise HepatrialError(
            f"unknown table {name!r}; known: {sorted(TABLES)}, mmrm_<PARAMCD>, "
            "desc_<PARAMCD>, resp_shift_<ID>"
        )
    return TABLES[name](ard, rule)

"""The catalogue of a study's outputs: ADaM datasets, ARD parts, tables, listings, figures and report
files, by design. The rules files (``all_outputs()`` in workflow/rules/common.smk, the TLF rules) and
the reports read these lists; a new table or figure is one entry here (plus its renderer).

Paths are relative to the run's results folder ``res`` (``results/<study>/<cut>``) and reports
folder ``rep``; the functions take them as arguments so that they hold for any study and cut.
"""

from __future__ import annotations

from typing import NamedTuple

from hepatrial.spec.study import Study

ADAM_DATASETS = ("adsl", "adlb", "adeff", "adqs", "adtte", "adae", "adce")
VALIDATION_FILES = ("findings.csv", "accounting.csv", "traceability.csv")
# ARD parts every study has (beyond the per-parameter DESC, MMRM and TTE parts)
COMMON_PARTS = ("safety", "disposition", "baseline", "dsmb")
CATEGORY = {"adeff": "Efficacy", "adlb": "Labs", "adqs": "Quality of life"}
REPORT_DOCUMENTS = ("dsmb_open.html", "dsmb_open.pdf", "dsmb_closed.html", "dsmb_closed.pdf")
TABLE_EXTS = ("csv", "rtf", "html")
FIGURE_EXTS = ("png", "pdf")
FIGURE_GROUPS = ("observed", "efficacy", "survival")
RESPONDER_SHIFT_RULES = ("ctp_class_improvement", "ishak_improvement")


class TableSpec(NamedTuple):
    """A summary table or listing: file name, caption file, report category and subcategory."""

    name: str
    caption: str
    category: str
    subcategory: str | None


class FigureSpec(NamedTuple):
    """A figure: file name, renderer kind, parameter, caption file, category and subcategory."""

    name: str
    kind: str
    paramcd: str | None
    caption: str
    category: str
    subcategory: str | None


# --- ADaM and ARD ----------------------------------------------------------------------------------
def adam_outputs(res: str) -> list[str]:
    return [f"{res}/adam/{d}.xpt" for d in ADAM_DATASETS]


def desc_parts(study: Study, res: str) -> list[str]:
    """ARD parts of the DESC jobs, one per BDS dataset with a summarised parameter."""
    return [f"{res}/ard/parts/desc_{d}.parquet" for d in dict.fromkeys(study.bds_params().values())]


def mmrm_parts(study: Study, res: str) -> list[str]:
    return [f"{res}/ard/parts/mmrm_{p.paramcd}.parquet" for p in study.endpoints.mmrm_params]


def tte_parts(study: Study, res: str) -> list[str]:
    return [f"{res}/ard/parts/tte_{p}.parquet" for p in study.endpoints.tte]


def _step_table(res: str, kind: str, paramcd: str) -> str:
    """The survival rule's step table ``kind`` (``km``, ``cif``) of one TTE parameter."""
    return f"{res}/ard/{kind}/{paramcd}.parquet"


def km_tables(study: Study, res: str) -> list[str]:
    """The survival rule's Kaplan-Meier step tables, one per TTE parameter."""
    return [_step_table(res, "km", p) for p in study.endpoints.tte]


def cif_tables(study: Study, res: str) -> list[str]:
    """The survival rule's Aalen-Johansen step tables drawn by the CIF figures (parameters with
    competing causes)."""
    return [_step_table(res, "cif", p) for p in study.cif_paramcds()]


def survival_outputs(study: Study, res: str) -> dict[str, list[str]]:
    """What the survival rule writes, per TTE parameter in config order: its ARD part, its KM step
    table and its CIF step table (empty for a parameter without competing causes)."""
    return {
        "ard": tte_parts(study, res),
        "km": km_tables(study, res),
        "cif": [_step_table(res, "cif", p) for p in study.endpoints.tte],
    }


def ard_parts(study: Study, res: str) -> list[str]:
    """Every ARD part of the study, in the order the ARD concatenates them."""
    parts = [*desc_parts(study, res), *mmrm_parts(study, res), *tte_parts(study, res)]
    if study.responders:
        parts.append(f"{res}/ard/parts/responder.parquet")
    parts += [f"{res}/ard/parts/{p}.parquet" for p in COMMON_PARTS]
    if study.design.has("DLT"):
        parts.append(f"{res}/ard/parts/dlt.parquet")
    if study.interim is not None:
        parts.append(f"{res}/ard/parts/interim.parquet")
    if study.has_estimands:
        parts.append(f"{res}/ard/parts/estimands.parquet")
    return parts


# --- tables, listings, figures ---------------------------------------------------------------------
LISTING_SPECS = (
    TableSpec("l_sae", "l_sae", "Safety", None),
    TableSpec("l_deaths", "l_deaths", "Safety", None),
)
COMMON_TABLES = (
    TableSpec("disposition", "disposition", "Disposition", None),
    TableSpec("baseline", "baseline", "Baseline", None),
    TableSpec("exposure", "exposure", "Safety", None),
    TableSpec("km", "km", "Survival", None),
    TableSpec("cif", "cif", "Survival", None),
    TableSpec("ae_overview", "ae_overview", "Safety", None),
    TableSpec("ae_soc_pt", "ae_soc_pt", "Safety", None),
    TableSpec("ae_grade", "ae_grade", "Safety", None),
    TableSpec("sae_soc_pt", "sae_soc_pt", "Safety", None),
    TableSpec("aesi", "aesi", "Safety", None),
    TableSpec("death_causes", "death_causes", "Safety", None),
    TableSpec("lab_shift", "lab_shift", "Labs", None),
    TableSpec("lab_abn", "lab_abn", "Labs", None),
)


def estimand_sets(study: Study) -> list[str]:
    """The estimand tables' sets, in config order (an estimand's ``set``, else its parameter)."""
    return list(dict.fromkeys(e.table_set for e in study.estimands))


def table_specs(study: Study) -> list[TableSpec]:
    """Every summary table of the study, in report order."""
    specs = list(COMMON_TABLES)
    mmrm = [p.paramcd for p in study.endpoints.mmrm_params]
    specs += [TableSpec(f"mmrm_{p}", "mmrm", "Efficacy", p) for p in mmrm]
    specs += [TableSpec(f"desc_{p}", "desc", CATEGORY[d], p) for p, d in study.bds_params().items()]
    if study.responders:
        specs.append(TableSpec("responder", "responder", "Efficacy", None))
        specs += [
            TableSpec(f"resp_shift_{d['id']}", "resp_shift", "Efficacy", d["id"])
            for d in study.responders
            if d["rule"] in RESPONDER_SHIFT_RULES
        ]
    if study.design.has("MMRM_PP"):
        primary = study.primary_param
        if primary and not study.primary_is_tte:  # the per-protocol sensitivity MMRM of the primary
            specs.append(TableSpec(f"mmrmpp_{primary}", "mmrm", "Efficacy", primary))
    if study.design.has("DLT"):
        specs.append(TableSpec("dlt", "dlt", "Safety", None))
    if study.has_subgroups:
        specs.append(TableSpec("subgroup", "subgroup", "Efficacy", None))
    if study.design.has("LMM"):
        specs.append(TableSpec("lmm", "lmm", "Efficacy", None))
    if study.has_estimands:
        specs.append(TableSpec("ice_summary", "ice_summary", "Efficacy", None))
        specs += [
            TableSpec(f"estimands_{s}", "estimands", "Efficacy", s) for s in estimand_sets(study)
        ]
    return specs


def figure_specs(study: Study, group: str) -> list[FigureSpec]:
    """The figures of job ``group``: ``observed`` (ARD DESC), ``efficacy`` (MMRM LS means, forest
    plot, CTP shift from the ARD; spaghetti and waterfall from ADEFF) or ``survival`` (Kaplan-Meier
    and cumulative incidence curves)."""
    if group not in FIGURE_GROUPS:
        raise KeyError(f"unknown figure group {group!r}; groups: {FIGURE_GROUPS}")
    meld = study.scores.meld_primary
    if group == "observed":
        return [FigureSpec("labs", "labs", None, "fig_labs", "Labs", None)] + [
            FigureSpec(f"observed_{p}", "observed", p, "fig_observed", CATEGORY[d], p)
            for p, d in study.bds_params().items()
        ]
    if group == "efficacy":
        specs = [
            FigureSpec(f"mmrm_{p.paramcd}", "mmrm", p.paramcd, "fig_mmrm", "Efficacy", p.paramcd)
            for p in study.endpoints.mmrm_params
        ]
        specs += [
            FigureSpec("ctp_shift", "ctp_shift", None, "fig_ctp_shift", "Efficacy", None),
            FigureSpec(f"spaghetti_{meld}", "spaghetti", meld, "fig_spaghetti", "Efficacy", None),
            FigureSpec(f"waterfall_{meld}", "waterfall", meld, "fig_waterfall", "Efficacy", None),
        ]
        if study.has_subgroups:
            specs.append(
                FigureSpec(f"forest_{meld}", "forest", meld, "fig_forest", "Efficacy", None)
            )
        if study.has_estimands:
            specs += [
                FigureSpec(f"tipping_{e.id}", "tipping", e.id, "fig_tipping", "Efficacy", None)
                for e in study.estimands
                if e.tipping_point
            ]
        return specs
    specs = [FigureSpec(f"km_{p}", "km", p, "fig_km", "Survival", p) for p in study.endpoints.tte]
    return specs + [
        FigureSpec(f"cif_{p}", "cif", p, "fig_cif", "Survival", p) for p in study.cif_paramcds()
    ]


def tlf_outputs(study: Study, tables_dir: str, figures_dir: str) -> list[str]:
    """Every table (CSV, RTF, HTML), listing and figure (PNG, PDF) of the study."""
    return [
        f"{tables_dir}/{s.name}.{e}"
        for s in [*table_specs(study), *LISTING_SPECS]
        for e in TABLE_EXTS
    ] + [
        f"{figures_dir}/{s.name}.{e}"
        for g in FIGURE_GROUPS
        for s in figure_specs(study, g)
        for e in FIGURE_EXTS
    ]


def output_names(study: Study, section: str) -> list[str]:
    """Names of the study's tables, listings or figures (``section``), for their numbering."""
    if section == "tables":
        return [s.name for s in table_specs(study)]
    if section == "listings":
        return [s.name for s in LISTING_SPECS]
    if section == "figures":
        return [s.name for g in FIGURE_GROUPS for s in figure_specs(study, g)]
    raise KeyError(f"unknown section {section!r}")


# --- reports ---------------------------------------------------------------------------------------
def report_outputs(res: str, rep: str) -> list[str]:
    """The DSMB documents and the manifest of the cut."""
    return [*(f"{rep}/{d}" for d in REPORT_DOCUMENTS), f"{res}/manifest.json"]


def all_outputs(study: Study, res: str, rep: str) -> list[str]:
    """The final outputs of a run (rule all), in the order the rules file listed them."""
    return [
        *(f"{res}/validation/{f}" for f in VALIDATION_FILES),
        f"{res}/ard/ard.parquet",
        f"{res}/define/define.xml",
        f"{res}/define/arm.json",
        *tlf_outputs(study, f"{res}/tables", f"{res}/figures"),
        *report_outputs(res, rep),
        *adam_outputs(res),
    ]

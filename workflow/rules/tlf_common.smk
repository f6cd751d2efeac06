# Paths and helper functions of the table and figure rules (tlf.smk).
# Tables, listings and figures (package hepatrial.tlf; conventions, outputs and ARD codes: docs/tlf.md).
# Summary tables and group-level figures read only the ARD; listings and individual-level figures
# (spaghetti, waterfall, cumulative incidence curves) read ADaM.
#
# The summary tables are rendered by one job (tlf_tables), the listings by one (tlf_listings: long in a
# large trial, so beside the tables rather than after them) and the figures by three (tlf_figures_observed,
# tlf_figures_efficacy, tlf_figures_survival, each reading only the ARD parts it needs, so that it starts
# as soon as those analyses are done): each table or figure is milliseconds to a second of work against
# 1-2 s of Python start-up and imports (polars, rtflite, great_tables, plotnine), so one job per table
# paid the start-up ~45 times (benchmarks/results/benchmark.csv, docs/performance.md).

TLF_ARD = f"{RES}/ard/ard.parquet"
TLF_TAB = f"{RES}/tables"
TLF_FIG = f"{RES}/figures"
TLF_CATEGORY = {"adeff": "Efficacy", "adlb": "Labs", "adqs": "Quality of life"}


def tlf_mmrm_params():
    return [p["paramcd"] for p in STUDY["endpoints"]["mmrm_params"]]


def tlf_cif_params():
    """ADTTE parameters with competing events (every configured one but OS)."""
    return [p for p in STUDY["endpoints"]["tte"] if p != "OS"]


TLF_LISTING_SPECS = [("l_sae", "l_sae", "Safety", None), ("l_deaths", "l_deaths", "Safety", None)]


def tlf_table_specs():
    """(name, caption, category, subcategory) of every summary table of the cut, in report order."""
    specs = [("disposition", "disposition", "Disposition", None), ("baseline", "baseline", "Baseline", None),
             ("exposure", "exposure", "Safety", None), ("km", "km", "Survival", None),
             ("cif", "cif", "Survival", None), ("ae_overview", "ae_overview", "Safety", None),
             ("ae_soc_pt", "ae_soc_pt", "Safety", None), ("ae_grade", "ae_grade", "Safety", None),
             ("sae_soc_pt", "sae_soc_pt", "Safety", None), ("aesi", "aesi", "Safety", None),
             ("death_causes", "death_causes", "Safety", None), ("lab_shift", "lab_shift", "Labs", None),
             ("lab_abn", "lab_abn", "Labs", None)]
    specs += [(f"mmrm_{p}", "mmrm", "Efficacy", p) for p in tlf_mmrm_params()]
    specs += [(f"desc_{p}", "desc", TLF_CATEGORY[d], p) for p, d in bds_params().items()]
    if STUDY["responders"]:
        specs.append(("responder", "responder", "Efficacy", None))
        specs += [(f"resp_shift_{d['id']}", "resp_shift", "Efficacy", d["id"])
                  for d in STUDY["responders"]
                  if d["rule"] in ("ctp_class_improvement", "ishak_improvement")]
    if STUDY["study"]["design"] == "parallel":
        primary = STUDY["endpoints"].get("primary_param") or next(iter(tlf_mmrm_params()), None)
        if primary:  # the per-protocol sensitivity MMRM of the primary parameter
            specs.append((f"mmrmpp_{primary}", "mmrm", "Efficacy", primary))
        specs.append(("subgroup", "subgroup", "Efficacy", None))
        specs.append(("lmm", "lmm", "Efficacy", None))
    if has_estimands():
        specs.append(("ice_summary", "ice_summary", "Efficacy", None))
        sets = [e.get("set") or e["endpoint"]["param"] for e in STUDY["estimands"]]
        specs += [(f"estimands_{s}", "estimands", "Efficacy", s) for s in dict.fromkeys(sets)]
    return specs


def tlf_figure_specs(group):
    """(name, kind, paramcd, caption, category, subcategory) of the figures of job ``group``:
    ``observed`` (ARD DESC: observed change by visit, labs), ``efficacy`` (MMRM LS means, forest plot, CTP
    shift from the ARD; spaghetti and waterfall from ADEFF) or ``survival`` (Kaplan-Meier curves from the
    survival rule's step tables, cumulative incidence from ADTTE)."""
    meld = STUDY["scores"]["meld_primary"]
    if group == "observed":
        return [("labs", "labs", None, "fig_labs", "Labs", None)] + [
            (f"observed_{p}", "observed", p, "fig_observed", TLF_CATEGORY[d], p) for p, d in bds_params().items()]
    if group == "efficacy":
        specs = [(f"mmrm_{p}", "mmrm", p, "fig_mmrm", "Efficacy", p) for p in tlf_mmrm_params()]
        specs += [("ctp_shift", "ctp_shift", None, "fig_ctp_shift", "Efficacy", None),
                  (f"spaghetti_{meld}", "spaghetti", meld, "fig_spaghetti", "Efficacy", None),
                  (f"waterfall_{meld}", "waterfall", meld, "fig_waterfall", "Efficacy", None)]
        if STUDY["study"]["design"] == "parallel":
            specs.append((f"forest_{meld}", "forest", meld, "fig_forest", "Efficacy", None))
        if has_estimands():
            specs += [(f"tipping_{e['id']}", "tipping", e["id"], "fig_tipping", "Efficacy", None)
                      for e in STUDY["estimands"] if e.get("tipping_point")]
        return specs
    specs = [(f"km_{p}", "km", p, "fig_km", "Survival", p) for p in STUDY["endpoints"]["tte"]]
    return specs + [(f"cif_{p}", "cif", p, "fig_cif", "Survival", p) for p in tlf_cif_params()]


TLF_FIGURE_GROUPS = ("observed", "efficacy", "survival")


def tlf_numbers(section):
    """Output number of every table, listing or figure (``section``) of the cut, from the study's
    numbering scheme (study config ``tlf.numbering``; hepatrial.tlf.shell.assign_numbers)."""
    from hepatrial.tlf.shell import assign_numbers

    if section == "tables":
        names = [s[0] for s in tlf_table_specs()]
    elif section == "listings":
        names = [s[0] for s in TLF_LISTING_SPECS]
    else:
        names = [s[0] for g in TLF_FIGURE_GROUPS for s in tlf_figure_specs(g)]
    return assign_numbers(names, STUDY, section)


def _tlf_report(path, caption, category, subcategory):
    return report(path, caption=f"../report/{caption}.rst", category=category, subcategory=subcategory)


def tlf_table_outputs(specs):
    """Named outputs ``<name>_<ext>`` of the tables of ``specs``, each declared for the Snakemake report."""
    return {f"{name}_{ext}": _tlf_report(f"{TLF_TAB}/{name}.{ext}", cap, cat, sub)
            for name, cap, cat, sub in specs for ext in ("csv", "rtf", "html")}


def tlf_figure_outputs(group):
    return {f"{name}_{ext}": _tlf_report(f"{TLF_FIG}/{name}.{ext}", cap, cat, sub)
            for name, _, _, cap, cat, sub in tlf_figure_specs(group) for ext in ("png", "pdf")}


def tlf_outputs():
    """Every table (CSV, RTF, HTML), listing and figure (PNG, PDF) of the cut, for rule all."""
    return ([f"{TLF_TAB}/{s[0]}.{e}" for s in tlf_table_specs() + TLF_LISTING_SPECS for e in ("csv", "rtf", "html")]
            + [f"{TLF_FIG}/{s[0]}.{e}" for g in TLF_FIGURE_GROUPS for s in tlf_figure_specs(g)
               for e in ("png", "pdf")])

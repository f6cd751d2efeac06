# Paths and helper functions of the table and figure rules (tlf.smk).
# Tables, listings and figures (package hepatrial.tlf; conventions, outputs and ARD codes: docs/tlf.md).
# Summary tables and group-level figures read only the ARD; listings and individual-level figures
# (spaghetti, waterfall, cumulative incidence curves) read ADaM.
#
# The summary tables are rendered by one job (tlf_tables), the listings by one (tlf_listings: long in a
# large trial, so beside the tables rather than after them) and the figures by two (tlf_figures_ard,
# tlf_figures_adam): each is milliseconds to a second of work against 1-2 s of Python start-up and
# imports (polars, rtflite, great_tables, plotnine), so one job per table paid the start-up ~45 times
# (benchmarks/results/benchmark.csv, docs/performance.md).

TLF_CUT = str(CUT_DATE)
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
             ("ae_soc_pt", "ae_soc_pt", "Safety", None), ("lab_shift", "lab_shift", "Labs", None),
             ("lab_abn", "lab_abn", "Labs", None)]
    specs += [(f"mmrm_{p}", "mmrm", "Efficacy", p) for p in tlf_mmrm_params()]
    specs += [(f"desc_{p}", "desc", TLF_CATEGORY[d], p) for p, d in bds_params().items()]
    if STUDY["study"]["design"] == "parallel":
        specs.append(("subgroup", "subgroup", "Efficacy", None))
    return specs


def tlf_figure_specs(source):
    """(name, kind, paramcd, caption, category, subcategory) of the figures drawn from ``source``:
    ``ard`` (the ARD only) or ``adam`` (ADaM or the survival rule's KM step tables, and the ARD)."""
    meld = STUDY["scores"]["meld_primary"]
    if source == "ard":
        specs = [("ctp_shift", "ctp_shift", None, "fig_ctp_shift", "Efficacy", None),
                 ("labs", "labs", None, "fig_labs", "Labs", None)]
        specs += [(f"mmrm_{p}", "mmrm", p, "fig_mmrm", "Efficacy", p) for p in tlf_mmrm_params()]
        specs += [(f"observed_{p}", "observed", p, "fig_observed", TLF_CATEGORY[d], p)
                  for p, d in bds_params().items()]
        if STUDY["study"]["design"] == "parallel":
            specs.append((f"forest_{meld}", "forest", meld, "fig_forest", "Efficacy", None))
        return specs
    specs = [(f"spaghetti_{meld}", "spaghetti", meld, "fig_spaghetti", "Efficacy", None),
             (f"waterfall_{meld}", "waterfall", meld, "fig_waterfall", "Efficacy", None)]
    specs += [(f"km_{p}", "km", p, "fig_km", "Survival", p) for p in STUDY["endpoints"]["tte"]]
    specs += [(f"cif_{p}", "cif", p, "fig_cif", "Survival", p) for p in tlf_cif_params()]
    return specs


def _tlf_report(path, caption, category, subcategory):
    return report(path, caption=f"../report/{caption}.rst", category=category, subcategory=subcategory)


def tlf_table_outputs(specs):
    """Named outputs ``<name>_<ext>`` of the tables of ``specs``, each declared for the Snakemake report."""
    return {f"{name}_{ext}": _tlf_report(f"{TLF_TAB}/{name}.{ext}", cap, cat, sub)
            for name, cap, cat, sub in specs for ext in ("csv", "rtf", "html")}


def tlf_figure_outputs(source):
    return {f"{name}_{ext}": _tlf_report(f"{TLF_FIG}/{name}.{ext}", cap, cat, sub)
            for name, _, _, cap, cat, sub in tlf_figure_specs(source) for ext in ("png", "pdf")}


def tlf_outputs():
    """Every table (CSV, RTF, HTML), listing and figure (PNG, PDF) of the cut, for rule all."""
    return ([f"{TLF_TAB}/{s[0]}.{e}" for s in tlf_table_specs() + TLF_LISTING_SPECS for e in ("csv", "rtf", "html")]
            + [f"{TLF_FIG}/{s[0]}.{e}" for src in ("ard", "adam") for s in tlf_figure_specs(src)
               for e in ("png", "pdf")])

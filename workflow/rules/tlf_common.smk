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
# The lists of tables and figures are the catalogue of outputs (hepatrial.spec.outputs), by design.
TLF_LISTING_SPECS = [tuple(s) for s in catalogue.LISTING_SPECS]


def tlf_table_specs():
    """(name, caption, category, subcategory) of every summary table of the cut, in report order."""
    return [tuple(s) for s in catalogue.table_specs(STUDY)]


def tlf_figure_specs(group):
    """(name, kind, paramcd, caption, category, subcategory) of the figures of job ``group``:
    ``observed`` (ARD DESC: observed change by visit, labs), ``efficacy`` (MMRM LS means, forest plot, CTP
    shift from the ARD; spaghetti and waterfall from ADEFF) or ``survival`` (Kaplan-Meier curves from the
    survival rule's step tables, KM and CIF)."""
    return [tuple(s) for s in catalogue.figure_specs(STUDY, group)]


TLF_FIGURE_GROUPS = catalogue.FIGURE_GROUPS


def tlf_numbers(section):
    """Output number of every table, listing or figure (``section``) of the cut, from the study's
    numbering scheme (study config ``tlf.numbering``; hepatrial.tlf.shell.assign_numbers)."""
    from hepatrial.tlf.shell import assign_numbers

    return assign_numbers(catalogue.output_names(STUDY, section), STUDY, section)


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
    return catalogue.tlf_outputs(STUDY, TLF_TAB, TLF_FIG)


# Tables and figures from the ARD (helpers and the list of outputs in tlf_common.smk).
rule baseline_ard:
    """Subject-level summaries for the tables and figures (ARD BIGN, BASELINE, EXPOSURE, LAB_SHIFT, LAB_ABN,
    SHIFT_CTP, SUBGROUP)."""
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        adlb=f"{RES}/adam/adlb.parquet",
        adeff=f"{RES}/adam/adeff.parquet",
        study=config["study"],
    output:
        f"{RES}/ard/parts/baseline.parquet",
    log:
        f"{RES}/logs/baseline_ard.log",
    script:
        "../scripts/tlf_baseline_ard.py"


rule tlf_tables:
    """Every summary table (from the ARD), each as CSV, RTF and HTML."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table_outputs(tlf_table_specs()),
    params:
        cut=TLF_CUT,
        tables=[s[0] for s in tlf_table_specs()],
    log:
        f"{RES}/logs/tlf_tables.log",
    script:
        "../scripts/tlf_tables.py"


rule tlf_listings:
    """The listings of serious TEAEs and of deaths (from ADAE and ADSL), each as CSV, RTF and HTML."""
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        adae=f"{RES}/adam/adae.parquet",
        study=config["study"],
    output:
        **tlf_table_outputs(TLF_LISTING_SPECS),
    params:
        cut=TLF_CUT,
        tables=[s[0] for s in TLF_LISTING_SPECS],
    log:
        f"{RES}/logs/tlf_listings.log",
    script:
        "../scripts/tlf_tables.py"


rule tlf_figures_ard:
    """The figures drawn from the ARD alone: LS means (MMRM), observed change by visit (DESC), labs, CTP shift,
    forest plot (SUBGROUP). PNG and PDF."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure_outputs("ard"),
    params:
        cut=TLF_CUT,
        figures=tlf_figure_specs("ard"),
    log:
        f"{RES}/logs/tlf_figures_ard.log",
    script:
        "../scripts/tlf_figures.py"


rule tlf_figures_adam:
    """The figures drawn from ADaM or the survival rule's Kaplan-Meier step tables: individual MELD trajectories
    (spaghetti) and changes (waterfall) from ADEFF, Kaplan-Meier curves, cumulative incidence curves
    (Aalen-Johansen on ADTTE). PNG and PDF."""
    input:
        ard=TLF_ARD,
        adeff=f"{RES}/adam/adeff.parquet",
        adtte=f"{RES}/adam/adtte.parquet",
        km=[f"{RES}/ard/km/{p}.parquet" for p in STUDY["endpoints"]["tte"]],
        study=config["study"],
    output:
        **tlf_figure_outputs("adam"),
    params:
        cut=TLF_CUT,
        figures=tlf_figure_specs("adam"),
        km_dir=f"{RES}/ard/km",
    log:
        f"{RES}/logs/tlf_figures_adam.log",
    script:
        "../scripts/tlf_figures.py"

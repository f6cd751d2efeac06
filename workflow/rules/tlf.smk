# Tables and figures from the ARD (helpers and the list of outputs in tlf_common.smk).
rule baseline_ard:
    """Subject-level summaries for the tables and figures (ARD BIGN, BASELINE, EXPOSURE, LAB_SHIFT, LAB_ABN,
    SHIFT_CTP, SUBGROUP)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("baseline_ard"),  # declared from the input size (hepatrial.resources)
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
    resources:
        mem_mb=mem_mb("tlf_tables"),  # declared from the input size (hepatrial.resources)
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table_outputs(tlf_table_specs()),
    params:
        cut=run_cut_date,
        tables=[s[0] for s in tlf_table_specs()],
        numbers=tlf_numbers("tables"),
        dummy=BLINDED,
    log:
        f"{RES}/logs/tlf_tables.log",
    script:
        "../scripts/tlf_tables.py"


rule tlf_listings:
    """The listings of serious TEAEs and of deaths (from ADAE and ADSL), each as CSV, RTF and HTML."""
    resources:
        mem_mb=mem_mb("tlf_listings"),  # declared from the input size (hepatrial.resources)
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        adae=f"{RES}/adam/adae.parquet",
        findings=f"{RES}/validation/findings.csv",  # AEs or deaths not recorded (ADaM cuts)
        study=config["study"],
    output:
        **tlf_table_outputs(TLF_LISTING_SPECS),
    params:
        cut=run_cut_date,
        tables=[s[0] for s in TLF_LISTING_SPECS],
        numbers=tlf_numbers("listings"),
        dummy=BLINDED,
    log:
        f"{RES}/logs/tlf_listings.log",
    script:
        "../scripts/tlf_tables.py"


# The figures read the ARD parts they need, not the combined ARD, so that they start as soon as those
# analyses are done (the observed-change figures while the MMRM and survival jobs still run).
rule tlf_figures_observed:
    """Observed change from baseline by visit and arm of every summarised parameter, and the labs figure
    (ARD DESC). PNG and PDF."""
    priority: 3  # the longest figure job and the first ready: before the other figures and tables
    resources:
        mem_mb=mem_mb("tlf_figures_observed"),  # declared from the input size (hepatrial.resources)
    input:
        ard=desc_parts(),
        study=config["study"],
    output:
        **tlf_figure_outputs("observed"),
    params:
        cut=run_cut_date,
        figures=tlf_figure_specs("observed"),
        numbers=tlf_numbers("figures"),
        dummy=BLINDED,
    log:
        f"{RES}/logs/tlf_figures_observed.log",
    script:
        "../scripts/tlf_figures.py"


rule tlf_figures_efficacy:
    """LS mean change by visit (ARD MMRM_LSMEAN), CTP class shift (SHIFT_CTP), forest plot (SUBGROUP), and the
    individual MELD trajectories (spaghetti, with the DESC median) and changes (waterfall) from ADEFF."""
    resources:
        mem_mb=mem_mb("tlf_figures_efficacy"),  # declared from the input size (hepatrial.resources)
    input:
        ard=[*mmrm_parts(), f"{RES}/ard/parts/baseline.parquet", *desc_parts(),
             *([f"{RES}/ard/parts/estimands.parquet"] if has_estimands() else [])],
        adeff=f"{RES}/adam/adeff.parquet",
        study=config["study"],
    output:
        **tlf_figure_outputs("efficacy"),
    params:
        cut=run_cut_date,
        figures=tlf_figure_specs("efficacy"),
        numbers=tlf_numbers("figures"),
        dummy=BLINDED,
    log:
        f"{RES}/logs/tlf_figures_efficacy.log",
    script:
        "../scripts/tlf_figures.py"


rule tlf_figures_survival:
    """Kaplan-Meier curves with the number at risk and cumulative incidence curves by arm and cause (the
    survival rule's step tables; ARD KM, CIF). PNG and PDF."""
    resources:
        mem_mb=mem_mb("tlf_figures_survival"),  # declared from the input size (hepatrial.resources)
    input:
        ard=catalogue.tte_parts(STUDY, RES),
        km=catalogue.km_tables(STUDY, RES),
        cif=catalogue.cif_tables(STUDY, RES),
        study=config["study"],
    output:
        **tlf_figure_outputs("survival"),
    params:
        cut=run_cut_date,
        figures=tlf_figure_specs("survival"),
        numbers=tlf_numbers("figures"),
        dummy=BLINDED,
    log:
        f"{RES}/logs/tlf_figures_survival.log",
    script:
        "../scripts/tlf_figures.py"

rule adsl_core:
    """ADSL without the baseline scores (ADEFF needs the subject-level dates first)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("adsl_core"),  # declared from the input size (hepatrial.resources)
    input:
        sdtm=[sdtm(d) for d in SDTM_DOMAINS],
        study=config["study"],
    output:
        f"{RES}/adam/adsl_core.parquet",
    params:
        cut_date=run_cut_date,
    wildcard_constraints:
        cut=SDTM_CUT_PATTERN,  # a cut of ADaM datasets: rule adam_entry
    log:
        f"{RES}/logs/adsl_core.log",
    script:
        "../scripts/adsl_core.py"


rule adam_bds:
    """ADLB, ADEFF, ADQS: BDS datasets (Parquet + XPT) and the rows they leave out."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("adam_bds"),  # declared from the input size (hepatrial.resources)
    input:
        sdtm=[sdtm(d) for d in SDTM_DOMAINS],
        adsl=f"{RES}/adam/adsl_core.parquet",
        study=config["study"],
    output:
        data=f"{RES}/adam/{{bds}}.parquet",
        xpt=f"{RES}/adam/{{bds}}.xpt",
        exclusions=f"{RES}/adam/{{bds}}_exclusions.csv",
    wildcard_constraints:
        cut=SDTM_CUT_PATTERN,  # a cut of ADaM datasets: rule adam_entry
        bds="adlb|adeff|adqs",
    log:
        f"{RES}/logs/{{bds}}.log",
    script:
        "../scripts/adam_bds.py"


rule adtte:
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("adtte"),  # declared from the input size (hepatrial.resources)
    input:
        sdtm=[sdtm(d) for d in SDTM_DOMAINS],
        adsl=f"{RES}/adam/adsl_core.parquet",
        study=config["study"],
    output:
        data=f"{RES}/adam/adtte.parquet",
        xpt=f"{RES}/adam/adtte.xpt",
    wildcard_constraints:
        cut=SDTM_CUT_PATTERN,  # a cut of ADaM datasets: rule adam_entry
    log:
        f"{RES}/logs/adtte.log",
    script:
        "../scripts/adtte.py"


rule adae:
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("adae"),  # declared from the input size (hepatrial.resources)
    input:
        sdtm=[sdtm(d) for d in SDTM_DOMAINS],
        adsl=f"{RES}/adam/adsl_core.parquet",
        study=config["study"],
    output:
        adae=f"{RES}/adam/adae.parquet",
        adae_xpt=f"{RES}/adam/adae.xpt",
        adce=f"{RES}/adam/adce.parquet",
        adce_xpt=f"{RES}/adam/adce.xpt",
    wildcard_constraints:
        cut=SDTM_CUT_PATTERN,  # a cut of ADaM datasets: rule adam_entry
    log:
        f"{RES}/logs/adae.log",
    script:
        "../scripts/adae.py"


rule adsl:
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("adsl"),  # declared from the input size (hepatrial.resources)
    input:
        core=f"{RES}/adam/adsl_core.parquet",
        adeff=f"{RES}/adam/adeff.parquet",
        study=config["study"],
    output:
        data=f"{RES}/adam/adsl.parquet",
        xpt=f"{RES}/adam/adsl.xpt",
    log:
        f"{RES}/logs/adsl.log",
    script:
        "../scripts/adsl.py"


rule trace_rows:
    """Nothing lost: every LB, QS, RS, AE and CE row is in ADaM or listed as excluded."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("trace_rows"),  # declared from the input size (hepatrial.resources)
    input:
        sdtm=[sdtm(d) for d in SDTM_DOMAINS],
        adam=[f"{RES}/adam/{d}.parquet" for d in ("adlb", "adeff", "adqs", "adae", "adce")],
        ingest_exclusions=f"{RES}/validation/exclusions.csv",
        adam_exclusions=[f"{RES}/adam/{d}_exclusions.csv" for d in ("adlb", "adeff", "adqs")],
    output:
        f"{RES}/validation/traceability.csv",
    wildcard_constraints:
        cut=SDTM_CUT_PATTERN,  # a cut of ADaM datasets: rule adam_entry
    log:
        f"{RES}/logs/trace_rows.log",
    script:
        "../scripts/trace_rows.py"

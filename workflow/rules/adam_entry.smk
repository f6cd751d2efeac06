rule adam_entry:
    """A cut of ADaM datasets (the data contract's alternative entry): read and check the sponsor's
    ADSL, BDS datasets, ADTTE and ADAE and write them in the layout the analyses read, in place of
    ingest and the ADaM derivations (hepatrial.adam.entry)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("adam_entry"),  # declared from the input size (hepatrial.resources)
    input:
        cut=cut_files,
        study=config["study"],
    output:
        sdtm=[sdtm(d) for d in SDTM_DOMAINS],
        findings=f"{RES}/validation/findings.csv",
        accounting=f"{RES}/validation/accounting.csv",
        exclusions=f"{RES}/validation/exclusions.csv",
        traceability=f"{RES}/validation/traceability.csv",
        variables=f"{RES}/validation/adam_variables.csv",  # the sponsor's (define.xml)
        adsl_core=f"{RES}/adam/adsl_core.parquet",
        data=[f"{RES}/adam/{d}.{x}" for d in ("adeff", "adlb", "adqs", "adtte", "adae", "adce")
              for x in ("parquet", "xpt")],
        bds_exclusions=[f"{RES}/adam/{d}_exclusions.csv" for d in ("adeff", "adlb", "adqs")],
    wildcard_constraints:
        cut=ADAM_CUT_PATTERN,
    params:
        cut_date=run_cut_date,
        cut_dir=cut_folder,
        other_files=cut_other_files,  # names only, as data: a change reruns the step
    log:
        f"{RES}/logs/adam_entry.log",
    script:
        "../scripts/adam_entry.py"

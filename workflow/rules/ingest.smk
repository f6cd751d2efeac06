rule ingest:
    """Read the cut, validate it against the data contract, harmonise units, apply the data cut."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("ingest"),  # declared from the input size (hepatrial.resources)
    input:
        cut=cut_files,
        study=config["study"],
    output:
        sdtm=[sdtm(d) for d in SDTM_DOMAINS],
        findings=f"{RES}/validation/findings.csv",
        accounting=f"{RES}/validation/accounting.csv",
        exclusions=f"{RES}/validation/exclusions.csv",
    params:
        cut_date=run_cut_date,
        cut_dir=cut_folder,  # the cut folder resolved (domain files can be absent: not input[0])
        other_files=cut_other_files,  # names only, as data: a change reruns ingest (params trigger)
        dummy_seed=DUMMY_SEED if BLINDED else None,
    wildcard_constraints:
        cut=SDTM_CUT_PATTERN,  # a cut of ADaM datasets: rule adam_entry
    log:
        f"{RES}/logs/ingest.log",
    script:
        "../scripts/ingest.py"

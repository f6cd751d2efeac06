rule survival:
    """Time-to-event analyses of one ADTTE parameter: KM, medians, log-rank, Cox, CIF, Gray (ARD part)
    and the Kaplan-Meier step table behind the KM figure and its risk table."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("survival"),  # declared from the input size (hepatrial.resources)
    input:
        adtte=f"{RES}/adam/adtte.parquet",
        study=config["study"],
    output:
        ard=f"{RES}/ard/parts/tte_{{paramcd}}.parquet",
        km=f"{RES}/ard/km/{{paramcd}}.parquet",
    wildcard_constraints:
        paramcd="TFS|OS|DECOMP|HCC|LIVFAIL",
    log:
        f"{RES}/logs/survival_{{paramcd}}.log",
    script:
        "../scripts/survival.py"

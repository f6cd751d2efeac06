rule dlt:
    """Dose escalation: DLTs per dose cohort and the protocol's escalation rule, MTD and RP2D
    (ARD DLT, ESCALATION; docs/designs.md)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("dlt"),  # declared from the input size (hepatrial.resources)
    input:
        adae=f"{RES}/adam/adae.parquet",
        adsl=f"{RES}/adam/adsl.parquet",
        ex=sdtm("ex"),
        study=config["study"],
    output:
        f"{RES}/ard/parts/dlt.parquet",
    log:
        f"{RES}/logs/dlt.log",
    script:
        "../scripts/dlt.py"

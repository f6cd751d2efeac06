rule interim:
    """Group-sequential monitoring (docs/gsd.md): boundaries of the design at the observed looks,
    the status of each look (this cut's and the previous cut's) and the pooled, open-safe
    information fraction (ARD GSD_BOUNDARY, GSD_STATUS, GSD_INFO)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("interim"),  # declared from the input size (hepatrial.resources)
    input:
        unpack(interim_inputs),
        study=config["study"],
    output:
        f"{RES}/ard/parts/interim.parquet",
    params:
        cut=run_cut_name,
    log:
        f"{RES}/logs/interim.log",
    script:
        "../scripts/interim.py"

from hepatrial.spec.params import tte_paramcds


rule survival:
    """Time-to-event analyses of one ADTTE parameter: KM, medians, log-rank, Cox, CIF, Gray (ARD part),
    the Kaplan-Meier step table behind the KM figure and its risk table, and the cumulative incidence
    step table behind the CIF figure (empty for OS)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("survival"),  # declared from the input size (hepatrial.resources)
    input:
        adtte=f"{RES}/adam/adtte.parquet",
        study=config["study"],
    output:
        ard=f"{RES}/ard/parts/tte_{{paramcd}}.parquet",
        km=f"{RES}/ard/km/{{paramcd}}.parquet",
        cif=f"{RES}/ard/cif/{{paramcd}}.parquet",
    wildcard_constraints:
        paramcd="|".join(tte_paramcds()),  # every time-to-event parameter of the parameter table
    log:
        f"{RES}/logs/survival_{{paramcd}}.log",
    script:
        "../scripts/survival.py"

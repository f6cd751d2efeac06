rule desc:
    """Descriptive statistics by visit and arm for one BDS parameter (ARD DESC)."""
    input:
        data=bds_dataset,
        study=config["study"],
    output:
        f"{RES}/ard/parts/desc_{{paramcd}}.parquet",
    log:
        f"{RES}/logs/desc_{{paramcd}}.log",
    script:
        "../scripts/desc.py"


rule safety:
    """AE overview and incidence by SOC and PT (ARD AE_OVERVIEW, AE_INCIDENCE)."""
    input:
        adae=f"{RES}/adam/adae.parquet",
        adsl=f"{RES}/adam/adsl.parquet",
        study=config["study"],
    output:
        f"{RES}/ard/parts/safety.parquet",
    log:
        f"{RES}/logs/safety.log",
    script:
        "../scripts/safety.py"


rule disposition:
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        study=config["study"],
    output:
        f"{RES}/ard/parts/disposition.parquet",
    log:
        f"{RES}/logs/disposition.log",
    script:
        "../scripts/disposition.py"


rule ard:
    """The one ARD of the cut: every number of every table, figure and report."""
    input:
        ard_parts(),
    output:
        parquet=f"{RES}/ard/ard.parquet",
        csv=f"{RES}/ard/ard.csv",
    log:
        f"{RES}/logs/ard.log",
    script:
        "../scripts/ard.py"


rule mmrm:
    """MMRM of the change from baseline by visit for one parameter (ARD MMRM_LSMEAN/DIFF/FIT, LMM_*)."""
    input:
        data=bds_dataset,
        study=config["study"],
    output:
        f"{RES}/ard/parts/mmrm_{{paramcd}}.parquet",
    log:
        f"{RES}/logs/mmrm_{{paramcd}}.log",
    script:
        "../scripts/mmrm.py"

rule desc:
    """Descriptive statistics by visit and arm (ARD DESC) of every summarised parameter of one BDS dataset
    (adeff, adlb, adqs): one job per dataset reads it once; a parameter's summary is a group-by, far cheaper
    than the start-up of a job of its own."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("desc"),  # declared from the input size (hepatrial.resources)
    input:
        data=f"{RES}/adam/{{dataset}}.parquet",
        study=config["study"],
    output:
        f"{RES}/ard/parts/desc_{{dataset}}.parquet",
    wildcard_constraints:
        dataset="adeff|adlb|adqs",
    params:
        paramcds=desc_paramcds,
    log:
        f"{RES}/logs/desc_{{dataset}}.log",
    script:
        "../scripts/desc.py"


rule safety:
    """AE overview, incidence by SOC and PT, by worst grade, SAEs, AEs of special interest (ARD
    AE_OVERVIEW, AE_INCIDENCE, AE_GRADE, SAE_INCIDENCE, AESI)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("safety"),  # declared from the input size (hepatrial.resources)
    input:
        adae=f"{RES}/adam/adae.parquet",
        adsl=f"{RES}/adam/adsl.parquet",
        ex=sdtm("ex"),
        findings=f"{RES}/validation/findings.csv",  # AEs not recorded (ADaM cut without ADAE)
        study=config["study"],
    output:
        f"{RES}/ard/parts/safety.parquet",
    log:
        f"{RES}/logs/safety.log",
    script:
        "../scripts/safety.py"


rule disposition:
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("disposition"),  # declared from the input size (hepatrial.resources)
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
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("ard"),  # declared from the input size (hepatrial.resources)
    input:
        ard_parts(),
    output:
        parquet=f"{RES}/ard/ard.parquet",
        csv=f"{RES}/ard/ard.csv",
    log:
        f"{RES}/logs/ard.log",
    script:
        "../scripts/ard.py"


if STUDY.endpoints.mmrm_params:

    rule mmrm:
        """MMRM of the change from baseline by visit of every MMRM parameter of the study, an ARD part per
        parameter (ARD MMRM_LSMEAN/DIFF/FIT, LMM_*). One job: a parameter's fit takes well under a second
        at trial size against the ~0.5 s start of a job of its own."""
        priority: 5  # on the path to the ARD: before the figures when both could run
        resources:
            mem_mb=mem_mb("mmrm"),  # declared from the input size (hepatrial.resources)
        input:
            unpack(mmrm_inputs),
        output:
            mmrm_parts(),
        params:
            paramcds=[p.paramcd for p in STUDY.endpoints.mmrm_params],
            datasets=mmrm_datasets(),
        log:
            f"{RES}/logs/mmrm.log",
        script:
            "../scripts/mmrm.py"


rule responder:
    """Responder rates by visit of the study's `responders` definitions: rates with exact CIs,
    risk difference (Miettinen-Nurminen) and CMH test by the strata, shifts of ordinal ones (ARD
    RESPONDER, RESPONDER_CMH, RESPONDER_SHIFT; docs/responder.md)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("responder"),  # declared from the input size (hepatrial.resources)
    input:
        unpack(responder_inputs),
    output:
        f"{RES}/ard/parts/responder.parquet",
    log:
        f"{RES}/logs/responder.log",
    script:
        "../scripts/responder.py"


rule estimands:
    """Estimands of the study config's `estimands` list by (reference-based) multiple imputation:
    ICE derivation, MI per method, pooling, tipping point (ARD ESTIMAND, MI_DIFF, MI_LSMEAN,
    TIPPING, ICE_SUMMARY; docs/estimands.md)."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("estimands"),  # declared from the input size (hepatrial.resources)
    input:
        unpack(estimands_inputs),
    output:
        f"{RES}/ard/parts/estimands.parquet",
    params:
        cut_date=run_cut_date,
    log:
        f"{RES}/logs/estimands.log",
    script:
        "../scripts/estimands.py"

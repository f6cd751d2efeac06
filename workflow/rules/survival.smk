if STUDY.endpoints.tte:

    rule survival:
        """Time-to-event analyses of every ADTTE parameter of the study: KM, medians, log-rank, Cox,
        CIF, Gray (an ARD part per parameter), the Kaplan-Meier step table behind the KM figure and its
        risk table, and the cumulative incidence step table behind the CIF figure (empty for OS). One
        job: the parameters share ADTTE (so they always rerun together) and each takes milliseconds
        against the ~0.5 s start of a job of its own."""
        priority: 5  # on the path to the ARD: before the figures when both could run
        resources:
            mem_mb=mem_mb("survival"),  # declared from the input size (hepatrial.resources)
        input:
            adtte=f"{RES}/adam/adtte.parquet",
            study=config["study"],
        output:
            **catalogue.survival_outputs(STUDY, RES),
        params:
            paramcds=list(STUDY.endpoints.tte),
        log:
            f"{RES}/logs/survival.log",
        script:
            "../scripts/survival.py"

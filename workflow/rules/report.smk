# DSMB reports (docs/dsmb.md): open (pooled) and closed (by arm), the input manifest stamped on
# every page and the full manifest as the last step. Blinding by construction: the open report's
# rule receives only the files the `open_inputs` gate writes (pooled, allow-listed, arm-free) and
# study facts as params, never the study config nor any arm-level file.
import hepatrial
from hepatrial.tlf.shell import DUMMY_STAMP

from hepatrial.report.paths import COMPARE_PARTS, DsmbPaths

DSMB = DsmbPaths(RES, REP, STUDY)
DSMB_META = {
    "study_id": STUDY_ID,
    # a dummy-randomisation run says so on every report's title page and page header
    "title": (f"{DUMMY_STAMP}: " if BLINDED else "") + STUDY.title,
    "cut_date": str(CUT_DATE),
    "version": hepatrial.__version__,
    "planned_subjects": STUDY.planned_subjects,
    "enrolment_months": STUDY.enrolment_months,
    "sites": STUDY.sites,
    "previous_cut": CUTS[f"{RUN}/previous"]["name"] if PREVIOUS_CUT else "",
    "meeting_date": STUDY.dsmb.meeting_date or "",
    "preparer": STUDY.dsmb.preparer,
    "report_version": STUDY.dsmb.report_version,
    "listing_max_rows": STUDY.dsmb.listing_max_rows,  # the listing policy
}
# The documents and the manifest of the cut: all_outputs() in common.smk calls report_outputs().
report_outputs = DSMB.report_outputs
# The reports, the manifests and the comparison are of the run's cut (wildcard {cut}), never of the
# previous cut analysed for the comparison.


rule input_manifest:
    """SHA-256 of every input file and of the study config; its own hash is the reports' stamp."""
    input:
        cut=cut_files,
        study=config["study"],
        previous=previous_cut_files(),
    output:
        f"{RES}/manifest_inputs.json",
    wildcard_constraints:
        cut=CURRENT_CUT,
    log:
        f"{RES}/logs/input_manifest.log",
    script:
        "../scripts/manifest.py"


rule dsmb_summaries:
    """ARD part of the reports' own analyses (DEATHS, DEATH_CAUSE, ENROLMENT, DQ_VISITS, DQ_FINDINGS), listings of
    deaths and SAEs."""
    priority: 5  # on the path to the ARD: before the figures when both could run
    resources:
        mem_mb=mem_mb("dsmb_summaries"),  # declared from the input size (hepatrial.resources)
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        adae=f"{RES}/adam/adae.parquet",
        adlb=f"{RES}/adam/adlb.parquet",
        sv=sdtm("sv"),
        findings=f"{RES}/validation/findings.csv",
        study=config["study"],
    output:
        part=f"{RES}/ard/parts/dsmb.parquet",
        saes=f"{RES}/dsmb/saes.parquet",
        deaths=f"{RES}/dsmb/deaths.parquet",
    params:
        cut_date=run_cut_date,
    log:
        f"{RES}/logs/dsmb_summaries.log",
    script:
        "../scripts/report_summaries.py"


if PREVIOUS_CUT:

    rule cut_compare:
        """New subjects and events since the previous cut, data cleaning, estimate movement. The
        previous cut is analysed by this DAG (same code, same study config, as of its own date)
        into ``<cut>/previous/``."""
        input:
            prev_sdtm=[f"{RES}/previous/sdtm/{d}.parquet" for d in SDTM_DOMAINS],
            sdtm=[sdtm(d) for d in SDTM_DOMAINS],
            prev_ard=f"{RES}/previous/ard/ard.parquet",
            ard=f"{RES}/ard/ard.parquet",
            adsl=f"{RES}/adam/adsl.parquet",
            prev_adam=[f"{RES}/previous/adam/{d}.parquet" for d in ADAM_COMPARED.values()],
            adam=[f"{RES}/adam/{d}.parquet" for d in ADAM_COMPARED.values()],
        output:
            **DSMB.compare_outputs(),
        wildcard_constraints:
            cut=CURRENT_CUT,
        params:
            previous_cut=PREVIOUS_CUT,
            adam_entry=bool(ADAM_CUTS),  # cuts of ADaM datasets: their datasets are compared
        log:
            f"{RES}/logs/cut_compare.log",
        script:
            "../scripts/report_compare.py"


rule open_inputs:
    """The blinding gate: pooled, allow-listed, arm-free inputs of the open report (fails closed)."""
    resources:
        mem_mb=mem_mb("open_inputs"),  # declared from the input size (hepatrial.resources)
    input:
        **DSMB.compare_inputs(),
        ard=f"{RES}/ard/ard.parquet",
        saes=f"{RES}/dsmb/saes.parquet",
        deaths=f"{RES}/dsmb/deaths.parquet",
        dm=sdtm("dm"),
        ex=sdtm("ex"),
        adsl=f"{RES}/adam/adsl.parquet",  # the treatment words of a cut of ADaM datasets
        study=config["study"],
    output:
        **DSMB.open_inputs_outputs(),
    wildcard_constraints:
        cut=CURRENT_CUT,
    log:
        f"{RES}/logs/open_inputs.log",
    script:
        "../scripts/report_open_inputs.py"


rule closed_inputs:
    """Arm-level inputs of the closed report, arms coded unless masked_dsmb is false."""
    resources:
        mem_mb=mem_mb("closed_inputs"),  # declared from the input size (hepatrial.resources)
    input:
        **DSMB.compare_inputs(),
        ard=f"{RES}/ard/ard.parquet",
        saes=f"{RES}/dsmb/saes.parquet",
        deaths=f"{RES}/dsmb/deaths.parquet",
        km=DSMB.km_tables(),
        study=config["study"],
    output:
        **DSMB.closed_inputs_outputs(),
    wildcard_constraints:
        cut=CURRENT_CUT,
    log:
        f"{RES}/logs/closed_inputs.log",
    script:
        "../scripts/report_closed_inputs.py"


rule dsmb_open:
    """The open DSMB report (HTML, PDF). Inputs: the gate's files and the input manifest only."""
    resources:
        mem_mb=mem_mb("dsmb_open"),  # declared from the input size (hepatrial.resources)
    input:
        **DSMB.open_compare_input(),
        pooled_ard=f"{RES}/open/pooled_ard.parquet",
        saes=f"{RES}/open/saes.parquet",
        deaths=f"{RES}/open/deaths.parquet",
        spec=f"{RES}/open/study.json",
        manifest=f"{RES}/manifest_inputs.json",
    output:
        html=f"{REP}/dsmb_open.html",
        pdf=f"{REP}/dsmb_open.pdf",
    wildcard_constraints:
        cut=CURRENT_CUT,
    params:
        meta=DSMB_META,
    log:
        f"{RES}/logs/dsmb_open.log",
    script:
        "../scripts/report_open.py"


rule dsmb_closed:
    """The closed DSMB report (HTML, PDF), by arm."""
    resources:
        mem_mb=mem_mb("dsmb_closed"),  # declared from the input size (hepatrial.resources)
    input:
        **DSMB.closed_compare_inputs(),
        ard=f"{RES}/closed/ard.parquet",
        saes=f"{RES}/closed/saes.parquet",
        deaths=f"{RES}/closed/deaths.parquet",
        km=f"{RES}/closed/km.parquet",
        arms=f"{RES}/closed/arms.json",
        spec=f"{RES}/closed/study.json",
        manifest=f"{RES}/manifest_inputs.json",
    output:
        html=f"{REP}/dsmb_closed.html",
        pdf=f"{REP}/dsmb_closed.pdf",
    wildcard_constraints:
        cut=CURRENT_CUT,
    params:
        meta={**DSMB_META, "landmarks_days": list(STUDY.endpoints.landmarks_days)},

    log:
        f"{RES}/logs/dsmb_closed.log",
    script:
        "../scripts/report_closed.py"


rule manifest:
    """The full manifest, last step: inputs, versions, git commit, SHA-256 of every output."""
    input:
        inputs=f"{RES}/manifest_inputs.json",
        outputs=lambda wc: DSMB.manifest_outputs(all_outputs()),
    output:
        f"{RES}/manifest.json",
    wildcard_constraints:
        cut=CURRENT_CUT,
    params:
        roots={"results": RES_RUN, "reports": REP_RUN},
    log:
        f"{RES}/logs/manifest.log",
    script:
        "../scripts/manifest.py"

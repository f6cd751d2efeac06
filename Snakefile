# hepatrial: the DAG from a data cut to ADaM, ARD, tables, figures and DSMB reports.
# Run: snakemake --cores 2 [--config study=config/studies/<id>.yaml cut=data/<id>/<cut>]
import os

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


# A step's one-line ERROR goes to its log; onerror (below) prints it as the run's last line.
os.environ.update(HEPATRIAL_ONERROR="1")


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


# results/{study}/{cut}/...: the study id, and the run folders of the config's cuts (common.smk)
wildcard_constraints:
    study=STUDY_PATTERN,
    cut=CUT_PATTERN,


include: "workflow/rules/ingest.smk"
include: "workflow/rules/adam.smk"
include: "workflow/rules/adam_entry.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/survival.smk"
include: "workflow/rules/interim.smk"
include: "workflow/rules/tlf_common.smk"
include: "workflow/rules/tlf.smk"
include: "workflow/rules/define.smk"
include: "workflow/rules/dlt.smk"
include: "workflow/rules/report.smk"


onerror:
    # the last line printed: what stopped the run, and where to look (findings or the step's log)
    from hepatrial.cli import final_error_line

    sys.stderr.write(final_error_line(*(f"{config['results_dir']}/{STUDY_ID}/{c}" for c in CUTS)) + "\n")


rule all:
    input:
        run_outputs(all_outputs()),
    default_target: True

from hepatrial.analysis.run import run_desc
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    run_desc, sm.input.data, sm.input.study, list(sm.params.paramcds), sm.output[0], log=sm.log[0]
)

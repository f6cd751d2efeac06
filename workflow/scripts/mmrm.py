from hepatrial.analysis.run import run_mmrm
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(run_mmrm, sm.input.data, sm.input.study, sm.wildcards.paramcd, sm.output[0], log=sm.log[0])

from hepatrial.analysis.run import run_mmrm
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    run_mmrm,
    [sm.input[d] for d in sm.params.datasets],
    sm.input.study,
    sm.params.paramcds,
    list(sm.output),
    log=sm.log[0],
)

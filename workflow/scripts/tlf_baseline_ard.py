from hepatrial.analysis.baseline import run_baseline
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    run_baseline,
    sm.input.adsl,
    sm.input.adlb,
    sm.input.adeff,
    sm.input.study,
    sm.output[0],
    log=sm.log[0],
)

from hepatrial.analysis.dlt import build_dlt
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    build_dlt,
    sm.input.adae,
    sm.input.adsl,
    sm.input.ex,
    sm.input.study,
    sm.output[0],
    log=sm.log[0],
)

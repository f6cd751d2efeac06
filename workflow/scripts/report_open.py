from hepatrial.cli import run_step
from hepatrial.report.run import run_open_report

sm = snakemake  # noqa: F821
run_step(
    run_open_report,
    sm.input.pooled_ard,
    sm.input.saes,
    sm.input.deaths,
    sm.input.get("compare"),
    sm.input.manifest,
    dict(sm.params.meta),
    sm.output.html,
    sm.output.pdf,
    sm.input.spec,
    log=sm.log[0],
)

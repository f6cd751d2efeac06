from hepatrial.cli import run_step
from hepatrial.report.run import run_summaries

sm = snakemake  # noqa: F821
run_step(
    run_summaries,
    sm.input.adsl,
    sm.input.adae,
    sm.input.adlb,
    sm.input.sv,
    sm.input.findings,
    sm.input.study,
    sm.params.cut_date,
    sm.output.part,
    sm.output.saes,
    sm.output.deaths,
    log=sm.log[0],
)

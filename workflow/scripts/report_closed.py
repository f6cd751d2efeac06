from hepatrial.cli import run_step
from hepatrial.report.run import run_closed_report

sm = snakemake  # noqa: F821
compare = {k[len("compare_") :]: v for k, v in sm.input.items() if k.startswith("compare_")}
run_step(
    run_closed_report,
    sm.input.ard,
    sm.input.saes,
    sm.input.deaths,
    sm.input.km,
    sm.input.arms,
    compare or None,
    sm.input.manifest,
    dict(sm.params.meta),
    sm.output.html,
    sm.output.pdf,
    sm.input.spec,
    log=sm.log[0],
)

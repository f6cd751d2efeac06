from hepatrial.analysis.run import run_safety
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    run_safety,
    sm.input.adae,
    sm.input.adsl,
    sm.input.ex,
    sm.input.study,
    sm.output[0],
    findings_path=sm.input.findings,
    log=sm.log[0],
)

from hepatrial.cli import run_step
from hepatrial.report.run import run_open_inputs

sm = snakemake  # noqa: F821
compare = {k[len("compare_") :]: v for k, v in sm.input.items() if k.startswith("compare_")}
run_step(
    run_open_inputs,
    sm.input.ard,
    sm.input.saes,
    sm.input.deaths,
    sm.input.study,
    compare or None,
    dict(sm.output.items()),
    dm=sm.input.dm,
    ex=sm.input.ex,
    adsl=sm.input.adsl,
    redactions_out=sm.output.redactions,
    log=sm.log[0],
)

from hepatrial.cli import run_step
from hepatrial.report.run import run_closed_inputs

sm = snakemake  # noqa: F821
compare = {k[len("compare_") :]: v for k, v in sm.input.items() if k.startswith("compare_")}
outs = {k: v for k, v in sm.output.items() if k != "key"}
run_step(
    run_closed_inputs,
    sm.input.ard,
    sm.input.saes,
    sm.input.deaths,
    list(sm.input.km),
    sm.input.study,
    compare or None,
    outs,
    sm.output.key,
    log=sm.log[0],
)

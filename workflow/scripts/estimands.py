from hepatrial.analysis.run import run_estimands
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
datasets = {k: v for k, v in sm.input.items() if k in ("adeff", "adlb", "adqs")}
run_step(
    run_estimands,
    sm.input.adsl,
    datasets,
    sm.input.pr,
    sm.input.study,
    sm.params.cut_date,
    sm.output[0],
    log=sm.log[0],
)

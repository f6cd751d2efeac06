from hepatrial.analysis.interim import run_interim
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    run_interim,
    sm.input.study,
    sm.params.cut,
    list(sm.input.parts),
    sm.input.get("km"),
    sm.input.get("previous"),
    sm.output[0],
    log=sm.log[0],
)

from pathlib import Path

from hepatrial.cli import run_step
from hepatrial.report.run import run_compare

sm = snakemake  # noqa: F821
run_step(
    run_compare,
    Path(sm.input.prev_sdtm[0]).parent,
    Path(sm.input.sdtm[0]).parent,
    sm.input.prev_ard,
    sm.input.ard,
    sm.input.adsl,
    sm.params.previous_cut,
    dict(sm.output.items()),
    log=sm.log[0],
)

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
    # cuts of ADaM datasets: their datasets are compared (they hold no SDTM)
    adam_dirs=[Path(sm.input.prev_adam[0]).parent, Path(sm.input.adam[0]).parent]
    if sm.params.adam_entry
    else None,
    log=sm.log[0],
)

from pathlib import Path

from hepatrial.adam import trace_rows
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    trace_rows,
    Path(sm.input.sdtm[0]).parent,
    Path(sm.input.adam[0]).parent,
    sm.input.ingest_exclusions,
    list(sm.input.adam_exclusions),
    sm.output[0],
    log=sm.log[0],
)

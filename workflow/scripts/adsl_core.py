from pathlib import Path

from hepatrial.adam import build_adsl_core
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    build_adsl_core,
    Path(sm.input.sdtm[0]).parent,
    sm.input.study,
    sm.params.cut_date,
    sm.output[0],
    log=sm.log[0],
)

from pathlib import Path

from hepatrial.adam import build_adtte
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    build_adtte,
    Path(sm.input.sdtm[0]).parent,
    sm.input.adsl,
    sm.input.study,
    sm.output.data,
    log=sm.log[0],
)

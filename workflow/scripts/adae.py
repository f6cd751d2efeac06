from pathlib import Path

from hepatrial.adam import build_adae
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    build_adae,
    Path(sm.input.sdtm[0]).parent,
    sm.input.adsl,
    sm.input.study,
    sm.output.adae,
    sm.output.adce,
    log=sm.log[0],
)

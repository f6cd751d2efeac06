from hepatrial.analysis.survival import build_survival
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    build_survival,
    sm.input.adtte,
    sm.input.study,
    sm.params.paramcds,
    sm.output.ard,
    sm.output.km,
    sm.output.cif,
    log=sm.log[0],
)

from hepatrial.adam import build_adsl
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(build_adsl, sm.input.core, sm.input.adeff, sm.input.study, sm.output.data, log=sm.log[0])

from hepatrial.cli import run_step
from hepatrial.tlf.run import write_table

sm = snakemake  # noqa: F821
run_step(write_table, sm.input.ard, sm.input.study, sm.params.cut, sm.rule, sm.output.csv, sm.output.rtf,
         sm.output.html, log=sm.log[0])

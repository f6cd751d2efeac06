from hepatrial.ard import combine
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(combine, list(sm.input), sm.output.parquet, sm.output.csv, log=sm.log[0])

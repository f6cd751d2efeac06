import sys
from pathlib import Path

from hepatrial.cli import run_step
from hepatrial.ingest import ingest_cut, validation_summary

sm = snakemake  # noqa: F821
run_step(
    ingest_cut,
    sm.params.cut_dir,
    sm.input.study,
    Path(sm.output.sdtm[0]).parent,
    Path(sm.output.findings).parent,
    cut=sm.params.cut_date,
    failure_dir=Path(sm.log[0]).parent,
    dummy_seed=sm.params.dummy_seed,
    log=sm.log[0],
)
sys.stderr.write("\n".join(validation_summary(sm.output.findings)) + "\n")

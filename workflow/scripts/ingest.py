from pathlib import Path

from hepatrial.cli import run_step
from hepatrial.ingest import ingest_cut

sm = snakemake  # noqa: F821
run_step(ingest_cut, sm.params.cut_dir, sm.input.study, Path(sm.output.sdtm[0]).parent,
         Path(sm.output.findings).parent, cut=sm.params.cut_date,
         failure_dir=Path(sm.log[0]).parent, log=sm.log[0])

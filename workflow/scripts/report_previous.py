from pathlib import Path

from hepatrial.cli import run_step
from hepatrial.report.run import run_previous

sm = snakemake  # noqa: F821
run_step(run_previous, sm.params.snakefile, sm.input.study, str(Path(sm.input.cut[0]).parent), sm.params.workdir,
         list(sm.output.sdtm), sm.output.ard, sm.log[0], dummy_seed=sm.params.get("dummy_seed"))

from pathlib import Path

from hepatrial.adam.entry import import_adam_cut
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
run_step(
    import_adam_cut,
    sm.params.cut_dir,
    sm.input.study,
    Path(sm.output.findings).parent.parent,
    sm.params.cut_date,
    failure_dir=Path(sm.log[0]).parent,
    log=sm.log[0],
)

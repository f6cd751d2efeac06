from pathlib import Path

from hepatrial.cli import run_step
from hepatrial.define import write_define

sm = snakemake  # noqa: F821
run_step(
    write_define,
    {Path(p).stem: p for p in sm.input.adam},
    sm.input.ard,
    sm.input.study,
    sm.params.cut,
    sm.output.define,
    sm.output.arm,
    list(sm.params.tables),
    dict(sm.params.numbers),
    delivered_path=sm.input.delivered[0] if sm.input.delivered else None,
    log=sm.log[0],
)

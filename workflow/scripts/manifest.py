from pathlib import Path

from hepatrial.cli import run_step
from hepatrial.manifest import write_input_manifest, write_manifest

sm = snakemake  # noqa: F821
if sm.rule == "input_manifest":
    previous = Path(sm.input.previous[0]).parent if sm.input.previous else None
    run_step(
        write_input_manifest,
        Path(sm.input.cut[0]).parent,
        sm.input.study,
        sm.output[0],
        previous,
        log=sm.log[0],
    )
else:
    run_step(
        write_manifest,
        sm.input.inputs,
        list(sm.input.outputs),
        dict(sm.params.roots),
        sm.output[0],
        log=sm.log[0],
    )

from pathlib import Path

from hepatrial import adam
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
build = {"adlb": adam.build_adlb, "adeff": adam.build_adeff, "adqs": adam.build_adqs}[
    sm.wildcards.bds
]
# subjects per batch (the build's peak memory): config adam_batch_subjects, default adam.BATCH_SUBJECTS
batch = int(sm.config.get("adam_batch_subjects") or adam.BATCH_SUBJECTS)
run_step(
    build,
    Path(sm.input.sdtm[0]).parent,
    sm.input.adsl,
    sm.input.study,
    sm.output.data,
    sm.output.exclusions,
    batch,
    log=sm.log[0],
)

from pathlib import Path

from hepatrial import adam
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
build = {"adlb": adam.build_adlb, "adeff": adam.build_adeff, "adqs": adam.build_adqs}[sm.wildcards.bds]
run_step(build, Path(sm.input.sdtm[0]).parent, sm.input.adsl, sm.input.study, sm.output.data,
         sm.output.exclusions, log=sm.log[0])

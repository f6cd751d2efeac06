from hepatrial.cli import run_step
from hepatrial.tlf.run import write_figure

sm = snakemake  # noqa: F821
run_step(write_figure, sm.params.kind, sm.input.ard, sm.input.study, sm.params.cut, sm.output.png, sm.output.pdf,
         paramcd=sm.wildcards.get("paramcd"), adeff_path=sm.input.get("adeff"), adtte_path=sm.input.get("adtte"),
         km_path=sm.input.get("km"), log=sm.log[0])

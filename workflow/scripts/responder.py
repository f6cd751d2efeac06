from hepatrial.analysis.responder import run_responder
from hepatrial.cli import run_step

sm = snakemake  # noqa: F821
data = {k: v for k, v in sm.input.items() if k in ("adeff", "adlb", "adqs")}
run_step(run_responder, sm.input.adsl, data, sm.input.study, sm.output[0], log=sm.log[0])

from hepatrial.cli import run_step
from hepatrial.tlf.run import write_tables

sm = snakemake  # noqa: F821
outputs = {
    n: (sm.output[f"{n}_csv"], sm.output[f"{n}_rtf"], sm.output[f"{n}_html"])
    for n in sm.params.tables
}
run_step(
    write_tables,
    sm.input.get("ard"),
    sm.input.get("adsl"),
    sm.input.get("adae"),
    sm.input.study,
    sm.params.cut,
    sm.rule,
    outputs,
    numbers=sm.params.get("numbers"),
    dummy=bool(sm.params.get("dummy")),
    findings_path=sm.input.get("findings"),
    log=sm.log[0],
)

from pathlib import Path

from hepatrial.cli import run_step
from hepatrial.fonts import configure_matplotlib
from hepatrial.tlf.run import write_figures

sm = snakemake  # noqa: F821
configure_matplotlib()  # DejaVu Sans + the CJK fallback, data text drawn as written (no mathtext)
numbers = sm.params.get("numbers") or {}
figures = [
    (kind, paramcd, sm.output[f"{name}_png"], sm.output[f"{name}_pdf"], numbers.get(name, ""))
    for name, kind, paramcd, *_ in sm.params.figures
]
run_step(
    write_figures,
    figures,
    list(sm.input.ard),
    sm.input.study,
    sm.params.cut,
    adeff_path=sm.input.get("adeff"),
    km_paths={Path(p).stem: p for p in sm.input.get("km", [])},
    cif_paths={Path(p).stem: p for p in sm.input.get("cif", [])},
    dummy=bool(sm.params.get("dummy")),
    log=sm.log[0],
)

"""Command line of the simulator::

    python -m hepatrial.simulate --study config/studies/<id>.yaml --subjects N --seed S \
        --cut YYYY-MM-DD --out DIR [--format csv|parquet|xpt]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from hepatrial.cli import run_step
from hepatrial.config import load_study
from hepatrial.simulate import simulate_trial, write_cut
from hepatrial.simulate.io import FORMATS


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m hepatrial.simulate",
        description="Simulate a trial and write an SDTM-shaped data cut.",
    )
    ap.add_argument("--study", required=True, help="study config (config/studies/<id>.yaml)")
    ap.add_argument(
        "--subjects", type=int, required=True, help="randomised subjects (screen failures on top)"
    )
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument(
        "--cut", required=True, type=dt.date.fromisoformat, help="data cut date YYYY-MM-DD"
    )
    ap.add_argument("--out", required=True, help="output folder (one file per domain)")
    ap.add_argument("--format", choices=FORMATS, default="csv")
    a = ap.parse_args(argv)

    def run():
        domains = simulate_trial(load_study(a.study), a.subjects, a.seed, a.cut)
        for p in write_cut(domains, a.out, a.format):
            sys.stdout.write(f"{p}\n")

    run_step(run)


if __name__ == "__main__":
    main()

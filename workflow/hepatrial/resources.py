"""Declared memory of the DAG's jobs: ``mem_mb`` from the size of a job's inputs.

Each rule declares ``resources: mem_mb=mem_mb("<rule>")`` (workflow/rules/common.smk), so that
``snakemake --resources mem_mb=N`` never runs jobs side by side that would not fit in N MB, and a
cluster profile (config/profiles/slurm) requests what each job needs instead of one size for all.

The model of a rule is ``base + per_mb x (MB of input files)``, capped at ``cap`` (a job whose memory
is bounded by design: the BDS builds in batches of subjects, the tables from the ARD), never below
:data:`FLOOR`, times the attempt (a job retried after running out of memory asks for more). The
coefficients come from the peaks measured with benchmarks/run.py (docs/performance.md, "Declared
memory"), rounded up with a margin; a rule not in :data:`MODELS` gets :data:`DEFAULT`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FLOOR = 500  # MB: a Python job with polars imported


@dataclass(frozen=True)
class Model:
    base: float  # MB
    per_mb: float = 0.0  # MB per MB of input files
    cap: float | None = None  # MB: the job's memory is bounded by design

    def mem_mb(self, input_mb: float, attempt: int = 1) -> int:
        x = max(float(input_mb or 0.0), 0.0)
        mb = self.base + self.per_mb * x
        if self.cap is not None:
            mb = min(mb, self.cap)
        return math.ceil(max(mb, FLOOR) * max(int(attempt or 1), 1))


DEFAULT = Model(1000, 10.0, 4000)
MODELS: dict[str, Model] = {
    # input = the cut's domain files (CSV/Parquet/XPT): files over 32 MB read in chunks of rows;
    # measured (ingest alone): 975 MB at 342 MB of CSV (10k), 2 521 MB at 3.4 GB (100k)
    "ingest": Model(600, 3.6, 3500),
    # input = every SDTM domain (zstd Parquet) and ADSL: batches of adam_batch_subjects subjects
    "adam_bds": Model(1000, 10.0, 2000),  # measured: 1.1-1.2 GB at 10k and 30k subjects (flat)
    "adsl_core": Model(500, 3.0, 3000),
    "adtte": Model(500, 3.0, 3000),
    "adae": Model(500, 3.0, 3000),
    "trace_rows": Model(500, 4.0),
    "adsl": Model(500, 20.0, 3000),
    # a cut of ADaM datasets: each dataset read whole (trial-size ADaM); input = its files
    "adam_entry": Model(600, 10.0, 6000),
    # analyses reading ADaM (Parquet); lazy scans of the parameters and columns they use
    "desc": Model(600, 10.0),
    # one job for every MMRM parameter, read and fitted one at a time: 1 185 MB at 100k subjects
    # (ADEFF 33 MB, three parameters; 989 MB for the largest one alone)
    "mmrm": Model(700, 20.0),
    "survival": Model(500, 20.0, 3000),
    "baseline_ard": Model(400, 12.0),
    "responder": Model(600, 10.0),
    # multiple imputation: linear in the trial's size since the jackknife deletes groups above
    # 2000 subjects and completed data sets are analysed a block at a time (hepatrial.models.mi);
    # measured ~3.1 GB at 100k subjects (35 MB of input: ADSL, ADEFF, PR)
    "estimands": Model(1000, 70.0),
    "safety": Model(500, 20.0, 3000),
    "ard": Model(500, 20.0, 3000),
    "interim": Model(500, 20.0, 3000),
    "dlt": Model(500, 20.0, 3000),
    "define_xml": Model(500, 5.0, 3000),
    "disposition": Model(500, 20.0, 3000),
    "dsmb_summaries": Model(600, 6.0),
    # from the ARD and the report listings: bounded by the listing policy
    "open_inputs": Model(600, 20.0, 3000),
    "closed_inputs": Model(600, 20.0, 3000),
    "dsmb_open": Model(800, 20.0, 3000),
    "dsmb_closed": Model(800, 20.0, 3000),
    "tlf_tables": Model(600, 20.0, 2000),
    "tlf_listings": Model(600, 10.0, 3000),
    "tlf_figures_observed": Model(800, 10.0, 4000),
    "tlf_figures_efficacy": Model(800, 10.0, 4000),
    "tlf_figures_survival": Model(800, 10.0, 4000),
}


def mem_mb_for(rule: str, input_mb: float, attempt: int = 1) -> int:
    """MB of memory a job of ``rule`` with ``input_mb`` MB of input files is declared to need."""
    return MODELS.get(rule, DEFAULT).mem_mb(input_mb, attempt)


def mem_mb(rule: str):
    """The Snakemake resource function of ``rule``: ``resources: mem_mb=mem_mb("ingest")``."""

    def declared(wildcards, input, attempt=1):
        return mem_mb_for(rule, input.size_mb, attempt)

    declared.__name__ = f"mem_mb_{rule}"
    return declared

"""Entry points of the analysis rules: read ADaM, call the analysis, write an ARD part."""

from __future__ import annotations

import polars as pl

from hepatrial.analysis.descriptive import describe_by_visit
from hepatrial.analysis.safety import ae_summaries, disposition
from hepatrial.ard import write_part
from hepatrial.config import load_study


def run_desc(data_path, study_path, paramcd: str, out) -> None:
    study = load_study(study_path)
    write_part(describe_by_visit(pl.read_parquet(data_path), paramcd, study, "ITT"), out)


def run_safety(adae_path, adsl_path, study_path, out) -> None:
    write_part(ae_summaries(pl.read_parquet(adae_path), pl.read_parquet(adsl_path), load_study(study_path)), out)


def run_disposition(adsl_path, study_path, out) -> None:
    write_part(disposition(pl.read_parquet(adsl_path), load_study(study_path)), out)


def run_mmrm(data_path, study_path, paramcd: str, out) -> None:
    from hepatrial.analysis.mmrm import mmrm_ard

    study = load_study(study_path)
    write_part(mmrm_ard(pl.read_parquet(data_path), study, paramcd, "ITT"), out)

"""Entry points of the analysis rules: read ADaM, call the analysis, write an ARD part."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from hepatrial.analysis.common import parameter_frames, warn_no_records
from hepatrial.analysis.descriptive import describe_by_visit, parameter_decimals
from hepatrial.analysis.safety import (
    ae_not_available,
    ae_summaries,
    aesi_summaries,
    disposition,
)
from hepatrial.ard import ard_rows, write_part
from hepatrial.errors import ConfigError
from hepatrial.spec import load as load_study


def run_desc(data_path, study_path, paramcds: list[str], out) -> None:
    """ARD DESC of the parameters ``paramcds`` of one BDS dataset, read one parameter at a time
    (every summary is per parameter; 100k subjects: ADQS whole took 3.3 GB); the ARD is sorted by
    its key, so the rows are the same as from the dataset read whole."""
    from hepatrial.analysis.nonparametric import npar_tests

    study = load_study(study_path)
    npar = study.nonparametric
    # rank tests between arms of the parameters the SAP analyses non-parametrically (config nonparametric)
    visits = list(npar.visits) or [v.label for v in study.post_baseline_visits]
    parts = [ard_rows([])]  # (no parameters: an empty part)
    mmrm = {x.paramcd for x in study.endpoints.mmrm_params}
    for p, data in parameter_frames(data_path, paramcds):
        # (an MMRM parameter is summarised here too: warned of once)
        key = "endpoints.mmrm_params" if p in mmrm else "endpoints.desc_params"
        warn_no_records(key, p, data_path, data)
        parts.append(describe_by_visit(data, p, study, "ITT"))
        parts.append(parameter_decimals(data, [p], study))  # the decimals tables format them with
        if study.design.compares_arms and p in npar.params:
            parts.append(npar_tests(data, study, p, visits, npar.variable, npar.population))
        del data  # before the next parameter is read
    write_part(pl.concat(parts, how="vertical_relaxed"), out)


def run_safety(adae_path, adsl_path, ex_path, study_path, out, findings_path=None) -> None:
    """The safety ARD part; a cut whose findings say it does not record its adverse events (a cut
    of ADaM datasets without ADAE): every AE statistic "not available" (:func:`ae_not_available`)."""
    from hepatrial.ingest.findings import ae_recorded, read_findings

    adae, adsl, study = (
        pl.read_parquet(adae_path),
        pl.read_parquet(adsl_path),
        load_study(study_path),
    )
    if findings_path is not None and not ae_recorded(read_findings(findings_path)):
        write_part(ae_not_available(adsl, study), out)
        return
    ex = pl.read_parquet(ex_path, columns=["USUBJID", "EXSTDTC"])
    write_part(
        pl.concat([ae_summaries(adae, adsl, study), aesi_summaries(adae, adsl, ex, study)]), out
    )


def run_disposition(adsl_path, study_path, out) -> None:
    write_part(disposition(pl.read_parquet(adsl_path), load_study(study_path)), out)


def run_mmrm(data_paths: Sequence, study_path, paramcds: Sequence[str], outs: Sequence) -> None:
    """MMRM of each parameter of ``paramcds`` (read from the i-th of ``data_paths``, written to
    the i-th of ``outs``) in the ITT population; for the primary parameter of a randomised study
    also in the per-protocol population (sensitivity analysis, population ``PP``)."""
    from hepatrial.analysis.mmrm import mmrm_ard, primary_param

    if not len(data_paths) == len(paramcds) == len(outs):
        raise ValueError("run_mmrm: one dataset and one ARD part per parameter")
    study = load_study(study_path)
    pp_flag = study.populations.get("PP", "PPFL")
    for data_path in dict.fromkeys(data_paths):  # the covariates (the LMM's too) are columns
        columns = pl.read_parquet_schema(data_path)
        for c in study.mmrm.covariates:
            if c not in columns:
                raise ConfigError(
                    f"{study_path}: mmrm.covariates: {c} is not a variable of "
                    f"{Path(data_path).name} (BASE, a variable of the dataset, or an ADSL "
                    "variable, which the BDS datasets then carry)"
                )
    for data_path, paramcd, out in zip(data_paths, paramcds, outs):
        # the analysed records of the parameter only (what mmrm_data keeps): filters pushed to the reader
        lf = pl.scan_parquet(data_path)
        data = lf.filter((pl.col("PARAMCD") == paramcd) & (pl.col("ANL01FL") == "Y")).collect()
        parts = [mmrm_ard(data, study, paramcd, "ITT")]
        if (
            study.design.has("MMRM_PP")
            and paramcd == primary_param(study)
            and pp_flag in data.columns
            and lf.select((pl.col(pp_flag) == "Y").any()).collect().item()
        ):
            parts.append(mmrm_ard(data, study, paramcd, "PP"))
        write_part(pl.concat(parts, how="vertical"), out)
        del data  # before the next parameter is read


def run_estimands(adsl_path, datasets: dict, pr_path, study_path, cut_date: str, out) -> None:
    """Every estimand of the study config (ARD ESTIMAND, MI_DIFF, MI_LSMEAN, TIPPING,
    ICE_SUMMARY; :mod:`hepatrial.analysis.estimands`)."""
    import datetime as dt

    from hepatrial.analysis.estimands import BDS_COLUMNS, endpoint_params, estimands_ard
    from hepatrial.tlf.tables import PARAM_LABEL

    study = load_study(study_path)
    # the estimands' parameters and the columns they read only (filters pushed to the reader)
    params = endpoint_params(study)
    data = {
        k: pl.scan_parquet(v)
        .filter(pl.col("PARAMCD").is_in(params.get(k, [])))
        .select(BDS_COLUMNS)
        .collect()
        for k, v in datasets.items()
    }
    pr = pl.read_parquet(pr_path) if pr_path else None
    write_part(
        estimands_ard(
            data,
            pl.read_parquet(adsl_path),
            study,
            dt.date.fromisoformat(cut_date),
            pr,
            param_labels=PARAM_LABEL,
        ),
        out,
    )

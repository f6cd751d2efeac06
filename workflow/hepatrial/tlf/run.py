"""Entry points of the ``tlf_*`` rules: read the ARD (and ADaM for listings and individual-level
figures) once, build every table or figure of the rule, write their renderings.

One job renders all tables and two render the figures: the work per table is small against the
start-up of a Python process with polars, rtflite, great_tables and plotnine (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from hepatrial.errors import HepatrialError
from hepatrial.ingest import findings as cut_findings
from hepatrial.spec import load as load_study
from hepatrial.tlf.render import write_all
from hepatrial.tlf.shell import DUMMY_STAMP, Shell
from hepatrial.tlf.tables import ARD, Table, build_table, listing_deaths, listing_sae

LISTINGS = ("l_sae", "l_deaths")


def load_ard(ard_path, study_path, cut: str) -> ARD:
    """The ARD, or the ARD parts (a list of paths) a figure needs, as an :class:`ARD` lookup."""
    paths = [ard_path] if isinstance(ard_path, (str, Path)) else list(ard_path)
    return ARD(
        pl.concat([pl.read_parquet(p) for p in paths], how="vertical"),
        load_study(study_path),
        str(cut),
    )


def write_tables(
    ard_path,
    adsl_path,
    adae_path,
    study_path,
    cut: str,
    rule: str,
    outputs: Mapping[str, tuple],
    numbers: Mapping[str, str] | None = None,
    dummy: bool = False,
    findings_path=None,
) -> None:
    """Every table of ``outputs`` (name -> (csv, rtf, html)): summary tables by name from the ARD
    (:func:`~hepatrial.tlf.tables.build_table`), listings ``l_sae`` and ``l_deaths`` from ADAE and ADSL
    (``ard_path`` may then be None). ``numbers``: name -> output number (``14.1.1``; the rules pass
    :func:`hepatrial.tlf.shell.assign_numbers` of every output of the cut). ``dummy``: a
    dummy-randomisation run, every page stamped (:data:`hepatrial.tlf.shell.DUMMY_STAMP`).
    ``findings_path``: the cut's findings.csv, which says whether it records its adverse events
    and deaths (a cut of ADaM datasets may not: the listings then say "not available")."""
    study = load_study(study_path)
    ard = adam = None
    for name, (csv, rtf, html) in outputs.items():
        if name in LISTINGS:
            if adam is None:
                adam = pl.read_parquet(adsl_path), pl.read_parquet(adae_path)
                found = None if findings_path is None else cut_findings.read_findings(findings_path)
                recorded = (
                    (True, True)
                    if found is None
                    else (cut_findings.ae_recorded(found), cut_findings.deaths_recorded(found))
                )
            table = _listing(name, *adam, study, str(cut), rule, *recorded)
        else:
            if ard is None:
                ard = ARD(pl.read_parquet(ard_path), study, str(cut))
            table = build_table(name, ard, rule)
        table.number = (numbers or {}).get(name, "")
        if dummy:
            table.shell = Shell.of(study, str(cut), dummy=True)
        write_all(table, csv, rtf, html)


def _listing(
    name: str,
    adsl: pl.DataFrame,
    adae: pl.DataFrame,
    study: dict,
    cut: str,
    rule: str,
    ae_recorded: bool = True,
    deaths_recorded: bool = True,
) -> Table:
    if name == "l_sae":
        return listing_sae(adae, adsl, study, cut, rule, ae_recorded)
    if name == "l_deaths":
        return listing_deaths(adsl, adae, study, cut, rule, ae_recorded, deaths_recorded)
    raise HepatrialError(f"unknown listing {name!r}: {', '.join(LISTINGS)}")


def read_km_steps(path) -> pl.DataFrame:
    """The survival rule's KM step table with the arm column named ``group``."""
    km = pl.read_parquet(path)
    return km.rename({"arm": "group"}) if "arm" in km.columns and "group" not in km.columns else km


def read_cif_steps(path) -> pl.DataFrame:
    """The survival rule's CIF step table by arm (the pooled rows dropped), arm column named ``group``."""
    from hepatrial.ard import POOLED

    return read_km_steps(path).filter(pl.col("group") != POOLED)


def write_figures(
    figures: Iterable[tuple],
    ard_path,
    study_path,
    cut: str,
    adeff_path=None,
    km_paths: Mapping[str, str] | None = None,
    cif_paths: Mapping[str, str] | None = None,
    dpi: int | None = None,
    dummy: bool = False,
) -> None:
    """Each figure of ``figures`` (kind, paramcd, png, pdf[, number]: ``Figure <number>`` before the
    title); kinds: ``mmrm``, ``observed``, ``labs``,
    ``spaghetti``, ``waterfall``, ``km`` (reads ``km_paths[paramcd]``, the KM step table), ``cif`` (reads
    ``cif_paths[paramcd]``, the CIF step table), ``forest``,
    ``ctp_shift``. ``ard_path``: the ARD or a list of the ARD parts the figures read."""
    from hepatrial.tlf import (
        figures as G,
    )  # plotnine is slow to import: only the figure rules need it

    ard = load_ard(ard_path, study_path, cut)
    cache: dict[str, pl.DataFrame] = {}

    def adam(path) -> pl.DataFrame:
        if path is None:
            raise HepatrialError("this figure needs an ADaM input the rule does not give")
        if str(path) not in cache:
            cache[str(path)] = pl.read_parquet(path)
        return cache[str(path)]

    for kind, paramcd, png, pdf, *number in figures:
        if kind == "mmrm":
            plot = G.fig_mmrm(ard, paramcd)
        elif kind == "observed":
            plot = G.fig_observed(ard, paramcd)
        elif kind == "labs":
            plot = G.fig_labs(ard, ["BILI", "ALB", "INR"])
        elif kind == "spaghetti":
            plot = G.fig_spaghetti(adam(adeff_path), ard, paramcd)
        elif kind == "waterfall":
            plot = G.fig_waterfall(adam(adeff_path), ard, paramcd)
        elif kind == "km":
            if not km_paths or paramcd not in km_paths:
                raise HepatrialError(
                    f"the Kaplan-Meier figure of {paramcd} needs its KM step table"
                )
            plot = G.fig_km(read_km_steps(km_paths[paramcd]), ard, paramcd)
        elif kind == "cif":
            if not cif_paths or paramcd not in cif_paths:
                raise HepatrialError(
                    f"the cumulative incidence figure of {paramcd} needs its CIF step table"
                )
            tab = read_cif_steps(cif_paths[paramcd])
            plot = G.fig_cif(
                tab, ard, paramcd, G.cif_cause_labels(paramcd, tab["cause"].unique().to_list())
            )
        elif kind == "forest":
            plot = G.fig_forest(ard)
        elif kind == "ctp_shift":
            plot = G.fig_ctp_shift(ard)
        elif kind == "tipping":
            plot = G.fig_tipping(ard, paramcd)
        else:
            raise HepatrialError(f"unknown figure kind {kind!r}")
        plot = G.number_title(plot, number[0] if number else "")
        if dummy:
            plot = G.stamp(plot, DUMMY_STAMP)
        G.save(plot, png, pdf, **({} if dpi is None else {"dpi": dpi}))

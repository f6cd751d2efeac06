"""Entry points of the ``tlf_*`` rules: read the ARD (and ADaM for listings and individual-level
figures), build one table or figure, write its renderings."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hepatrial.config import load_study
from hepatrial.errors import HepatrialError
from hepatrial.tlf.render import write_all
from hepatrial.tlf.tables import ARD, build_table, listing_deaths, listing_sae


def load_ard(ard_path, study_path, cut: str) -> ARD:
    return ARD(pl.read_parquet(ard_path), load_study(study_path), str(cut))


def write_table(ard_path, study_path, cut: str, rule: str, csv, rtf, html) -> None:
    """Summary table named by the output's file name (``tables/<name>.csv``)."""
    name = Path(csv).stem
    write_all(build_table(name, load_ard(ard_path, study_path, cut), rule), csv, rtf, html)


def write_listing(kind: str, adsl_path, adae_path, study_path, cut: str, rule: str, csv, rtf, html) -> None:
    study = load_study(study_path)
    adsl, adae = pl.read_parquet(adsl_path), pl.read_parquet(adae_path)
    if kind == "sae":
        t = listing_sae(adae, adsl, study, str(cut), rule)
    elif kind == "deaths":
        t = listing_deaths(adsl, adae, study, str(cut), rule)
    else:
        raise HepatrialError(f"unknown listing {kind!r}: sae or deaths")
    write_all(t, csv, rtf, html)


def read_km_steps(path) -> pl.DataFrame:
    """The survival rule's KM step table with the arm column named ``group``."""
    km = pl.read_parquet(path)
    return km.rename({"arm": "group"}) if "arm" in km.columns and "group" not in km.columns else km


def write_figure(kind: str, ard_path, study_path, cut: str, png, pdf, paramcd: str | None = None,
                 adeff_path=None, adtte_path=None, km_path=None, dpi: int = 300) -> None:
    """One figure: ``mmrm``, ``observed``, ``labs``, ``spaghetti``, ``waterfall``, ``km``, ``cif``, ``forest``,
    ``ctp_shift``."""
    from hepatrial.tlf import figures as G  # plotnine is slow to import: only the figure rules need it

    ard = load_ard(ard_path, study_path, cut)
    study = ard.study
    if kind == "mmrm":
        plot = G.fig_mmrm(ard, paramcd)
    elif kind == "observed":
        plot = G.fig_observed(ard, paramcd)
    elif kind == "labs":
        plot = G.fig_labs(ard, ["BILI", "ALB", "INR"])
    elif kind == "spaghetti":
        plot = G.fig_spaghetti(pl.read_parquet(adeff_path), ard, paramcd)
    elif kind == "waterfall":
        plot = G.fig_waterfall(pl.read_parquet(adeff_path), ard, paramcd)
    elif kind == "km":
        plot = G.fig_km(read_km_steps(km_path), ard, paramcd)
    elif kind == "cif":
        tab, labels = G.cif_steps(pl.read_parquet(adtte_path), paramcd, study)
        plot = G.fig_cif(tab, ard, paramcd, labels)
    elif kind == "forest":
        plot = G.fig_forest(ard)
    elif kind == "ctp_shift":
        plot = G.fig_ctp_shift(ard)
    else:
        raise HepatrialError(f"unknown figure kind {kind!r}")
    G.save(plot, png, pdf, dpi=dpi)

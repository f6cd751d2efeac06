"""Survival-analysis estimators: Kaplan-Meier, log-rank, Cox PH, Aalen-Johansen CIF, Gray.

Pure functions on arrays (numpy, polars or pandas Series); results are polars DataFrames or
small frozen dataclasses. Every estimator reproduces R ``survival`` / ``cmprsk`` (and the
corresponding SAS PROC LIFETEST / PHREG options, stated in each docstring); the agreement is
tested against R output on the Mayo PBC trial in ``tests/reference/test_pbc_estimators.py``.

Input convention: per subject ``time`` (days, >= 0), ``event`` (0/1) or, for competing risks,
``status`` (0 censored, 1..K cause), ``group`` (arm label; ``None`` = one group ``ALL``) and
optional ``strata``.
"""

from hepatrial.survival._common import SurvivalInputError, confint
from hepatrial.survival.competing import (
    AJFit,
    GrayResult,
    aalen_johansen,
    cif_at,
    cif_table,
    gray_test,
)
from hepatrial.survival.cox import CoxResult, cox_ph
from hepatrial.survival.km import KMFit, kaplan_meier, km_at, km_median, km_quantile, km_table
from hepatrial.survival.logrank import LogrankResult, logrank_test

__all__ = [
    "AJFit",
    "CoxResult",
    "GrayResult",
    "KMFit",
    "LogrankResult",
    "SurvivalInputError",
    "aalen_johansen",
    "cif_at",
    "cif_table",
    "confint",
    "cox_ph",
    "gray_test",
    "kaplan_meier",
    "km_at",
    "km_median",
    "km_quantile",
    "km_table",
    "logrank_test",
]

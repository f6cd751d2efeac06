"""Statistical models of hepatrial."""

from .mmrm import MMRM, fit_random_slope_lmm

__all__ = ["MMRM", "fit_random_slope_lmm"]

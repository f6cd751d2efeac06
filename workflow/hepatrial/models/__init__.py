"""Statistical models of hepatrial."""

from .lmm import fit_random_slope_lmm
from .mmrm import MMRM, MMRMResult
from .mmrm import fit as fit_mmrm

__all__ = ["MMRM", "MMRMResult", "fit_mmrm", "fit_random_slope_lmm"]

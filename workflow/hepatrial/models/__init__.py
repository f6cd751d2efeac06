"""Statistical models of hepatrial.

``MMRM``, ``MMRMResult``, ``fit_mmrm`` and ``fit_random_slope_lmm`` are imported on first use
(PEP 562): the MMRM engine brings formulaic and scipy.optimize (about 0.5 s), which a job using
only ``hepatrial.models.rates`` or ``gsd`` does not need.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "MMRM": ("mmrm", "MMRM"),
    "MMRMResult": ("mmrm", "MMRMResult"),
    "fit_mmrm": ("mmrm", "fit"),
    "fit_random_slope_lmm": ("lmm", "fit_random_slope_lmm"),
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Shared helpers of :mod:`hepatrial.survival`: input checks, grouping, confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# scipy.special, not scipy.stats: the same functions scipy.stats calls (bit-identical), without its ~1 s import
from scipy import special

from hepatrial.errors import HepatrialError

CONF_TYPES = ("log-log", "log", "plain")
ALL_LABEL = "ALL"


class SurvivalInputError(HepatrialError, ValueError):
    """Invalid input to a survival estimator (names the argument and what is wrong)."""


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "to_numpy"):  # polars / pandas Series
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise SurvivalInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def as_time(time: Any) -> np.ndarray:
    """Follow-up times as float64; finite and >= 0."""
    t = _to_numpy(time, "time").astype(np.float64)
    if t.size and (not np.all(np.isfinite(t)) or np.any(t < 0)):
        raise SurvivalInputError("time must be finite and >= 0 (no missing values)")
    return t


def as_event(event: Any, n: int) -> np.ndarray:
    """Binary event indicator (1 = event, 0 = censored) as int64."""
    e = _to_numpy(event, "event")
    if e.shape[0] != n:
        raise SurvivalInputError(f"event has length {e.shape[0]}, time has length {n}")
    if e.dtype == bool:
        return e.astype(np.int64)
    ef = e.astype(np.float64)
    if not np.all(np.isin(ef, (0.0, 1.0))):
        raise SurvivalInputError("event must be coded 0 (censored) or 1 (event)")
    return ef.astype(np.int64)


def as_status(status: Any, n: int) -> np.ndarray:
    """Competing-risk state: 0 = censored, 1..K = cause; int64."""
    s = _to_numpy(status, "status")
    if s.shape[0] != n:
        raise SurvivalInputError(f"status has length {s.shape[0]}, time has length {n}")
    sf = s.astype(np.float64)
    if not np.all(np.isfinite(sf)) or np.any(sf < 0) or np.any(sf != np.round(sf)):
        raise SurvivalInputError("status must be integers: 0 = censored, 1..K = cause")
    return sf.astype(np.int64)


@dataclass(frozen=True)
class Groups:
    """Integer codes 0..G-1 of a grouping variable and the labels (as str) in code order."""

    codes: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def as_groups(
    group: Any, n: int, name: str = "group", order: Sequence[Any] | None = None
) -> Groups:
    """Encode labels as 0..G-1; labels become str.

    Order: ``order`` if given, else the level order of a polars Enum / pandas Categorical, else
    sorted unique values (as R's default factor levels). ``group=None`` gives one group ``ALL``.
    """
    if group is None:
        return Groups(np.zeros(n, dtype=np.int64), (ALL_LABEL,))
    if order is None:
        order = _categorical_order(group)
    g = _to_numpy(group, name)
    if g.shape[0] != n:
        raise SurvivalInputError(f"{name} has length {g.shape[0]}, time has length {n}")
    if g.dtype.kind == "f" and np.any(np.isnan(g)):
        raise SurvivalInputError(f"{name} has missing values")
    if g.dtype == object:
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in g):
            raise SurvivalInputError(f"{name} has missing values")
        g = g.astype(str)
    uniq, codes = np.unique(g, return_inverse=True)
    labels = tuple(str(u) for u in uniq)
    if order is not None:
        order_s = [str(o) for o in order]
        missing = sorted(set(labels) - set(order_s))
        if missing:
            raise SurvivalInputError(
                f"{name} values {missing} are not in the given order {order_s}"
            )
        pos = {lab: i for i, lab in enumerate(order_s)}
        remap = np.array([pos[lab] for lab in labels], dtype=np.int64)
        return Groups(remap[codes].astype(np.int64), tuple(order_s))
    return Groups(codes.astype(np.int64), labels)


def _categorical_order(group: Any) -> list[str] | None:
    """Level order of a polars Enum/Categorical-with-order or pandas Categorical, else None.

    Only levels present in the data are kept (empty levels give no group).
    """
    dtype = getattr(group, "dtype", None)
    try:
        import polars as pl

        if isinstance(group, pl.Series) and isinstance(dtype, pl.Enum):
            present = set(group.drop_nulls().cast(pl.String).to_list())
            return [c for c in dtype.categories.to_list() if c in present]
    except ImportError:  # pragma: no cover
        pass
    cat = getattr(group, "cat", None)
    if cat is not None and hasattr(cat, "categories"):
        present = {str(v) for v in group.dropna().astype(str)}
        return [str(c) for c in cat.categories if str(c) in present]
    return None


def zcrit(conf_level: float) -> float:
    if not 0.0 < conf_level < 1.0:
        raise SurvivalInputError(f"conf_level must be in (0, 1), got {conf_level}")
    return float(special.ndtri(1.0 - (1.0 - conf_level) / 2.0))


def check_conf_type(conf_type: str) -> str:
    if conf_type not in CONF_TYPES:
        raise SurvivalInputError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    return conf_type


def confint(
    p: np.ndarray, se: np.ndarray, *, logse: bool, conf_type: str, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI of a probability ``p``, as R survival's internal ``survfit_confint``.

    ``se`` is the SE of log(p) (``logse=True``, Kaplan-Meier: Greenwood sqrt of sum d/(n(n-d)))
    or of p itself (``logse=False``, multi-state / cumulative incidence). Transformations:

    - ``plain``: p -/+ z se(p), clipped to [0, 1].
    - ``log``: exp(log p -/+ z se(log p)), upper clipped at 1; NaN when p = 0.
    - ``log-log``: exp(-exp(log(-log p) -/+ z se(log p)/log p)); NaN when p is 0 or 1.

    Matches SAS PROC LIFETEST CONFTYPE=LINEAR / LOG / LOGLOG for the survival function.
    """
    check_conf_type(conf_type)
    z = zcrit(conf_level)
    p = np.asarray(p, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if not logse:
            se = np.where(se == 0, 0.0, se / p)
        if conf_type == "plain":
            se2 = se * p * z
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se
            return np.exp(np.log(xx) - se2), np.minimum(np.exp(np.log(xx) + se2), 1.0)
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        se2 = z * se / np.log(xx)
        lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        return lower, upper


def chisq_p(stat: float, df: int) -> float:
    if df <= 0 or not np.isfinite(stat):
        return float("nan")
    return float(special.chdtrc(df, stat))


def step_index(step_times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index of the last step time <= each ``at`` (-1 when before the first)."""
    return np.searchsorted(step_times, at, side="right") - 1


def as_times(times: Any) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise SurvivalInputError("times must be finite and >= 0")
    return t

"""Kaplan-Meier estimator with Greenwood variance, pointwise CIs and quantiles (medians).

Equivalents: R ``survival::survfit(Surv(time, event) ~ group, conf.type = ...)`` with
``summary(fit, times = ...)`` and ``quantile(fit, 0.5, conf.int = TRUE)``; SAS PROC LIFETEST
METHOD=KM (CONFTYPE=LOGLOG by default, TIMELIST=).

Conventions (identical to R survival 3.5):

- S(t) is right-continuous: the estimate at t includes the events at t. Censorings at t are
  counted at risk at t (events are processed before censorings at tied times).
- Number at risk at t = subjects with time >= t (R ``summary(fit, times)$n.risk``).
- Greenwood: Var(log S(t)) = sum_{t_j <= t} d_j / (n_j (n_j - d_j)); SE of S(t) =
  S(t) sqrt(that sum) (R ``summary()$std.err``). When all subjects at risk die (S = 0) the
  SE is NaN, as in R.
- Pointwise CIs: see :func:`hepatrial.survival._common.confint` (``log-log`` default, as SAS
  CONFTYPE=LOGLOG and R ``conf.type = "log-log"``; also ``log`` (R's default) and ``plain``).
  Where the transformation is undefined (log-log at S = 1 or S = 0, log at S = 0) the limits are
  NaN, as R returns NA. At landmark times before the first observed time, S = 1 with SE 0 and
  limits [1, 1] (R ``summary.survfit``).
- Landmark times after the last observed time carry the last estimate forward with 0 at risk
  (R ``summary(..., extend = TRUE)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from hepatrial.survival._common import (
    as_event,
    as_groups,
    as_time,
    as_times,
    check_conf_type,
    confint,
    step_index,
    zcrit,
)

QUANTILE_TOL = float(np.sqrt(np.finfo(float).eps))  # R quantile.survfit default tolerance


@dataclass(frozen=True)
class KMFit:
    """Kaplan-Meier fit of one group; arrays are indexed by the distinct observed times.

    Attributes
    ----------
    time : distinct times (events and censorings), increasing.
    n_risk, n_event, n_censor : at risk (time >= t), events and censorings at each time.
    surv : S(t), right-continuous.
    var_log : Greenwood cumulative sum, Var(log S(t)); ``inf`` once S = 0.
    n : number of subjects.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    var_log: np.ndarray
    n: int

    @property
    def se(self) -> np.ndarray:
        """Greenwood SE of S(t) = S(t) sqrt(Var(log S(t))) (NaN where S = 0, as R)."""
        with np.errstate(invalid="ignore"):
            return self.surv * np.sqrt(self.var_log)

    def confint(
        self, conf_type: str = "log-log", conf_level: float = 0.95
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise CI at each distinct time (see module docstring)."""
        return confint(
            self.surv, np.sqrt(self.var_log), logse=True, conf_type=conf_type, conf_level=conf_level
        )

    def at(self, times: Any, conf_type: str = "log-log", conf_level: float = 0.95) -> dict:
        """Estimates at landmark times, as R ``summary(fit, times = times, extend = TRUE)``.

        Returns a dict of arrays: ``time, n_risk, n_event_cum, surv, se, lower, upper``
        (all NaN estimates for a group without subjects).
        """
        t = as_times(times)
        idx = step_index(self.time, t)
        before = idx < 0
        j = np.where(before, 0, idx)
        lo_all, up_all = self.confint(conf_type, conf_level)
        surv = np.where(before, 1.0, self.surv[j] if self.time.size else 1.0)
        se = np.where(before, 0.0, self.se[j] if self.time.size else 0.0)
        lower = np.where(before, 1.0, lo_all[j] if self.time.size else 1.0)
        upper = np.where(before, 1.0, up_all[j] if self.time.size else 1.0)
        cum_ev = np.cumsum(self.n_event)
        n_event_cum = np.where(before, 0, cum_ev[j] if self.time.size else 0)
        # at risk at t: subjects with time >= t
        first_ge = np.searchsorted(self.time, t, side="left")
        n_risk_full = np.append(self.n_risk, 0)
        n_risk = n_risk_full[first_ge]
        if self.n == 0:  # empty group: nothing estimable
            surv, se, lower, upper = (np.full(t.size, np.nan) for _ in range(4))
        return {
            "time": t,
            "n_risk": n_risk.astype(np.int64),
            "n_event_cum": np.asarray(n_event_cum, dtype=np.int64),
            "surv": surv,
            "se": se,
            "lower": lower,
            "upper": upper,
        }

    def quantile(
        self, prob: float = 0.5, conf_type: str = "log-log", conf_level: float = 0.95
    ) -> tuple[float, float, float]:
        """Time by which a fraction ``prob`` has had the event, with its CI.

        R ``quantile.survfit`` rule: the quantile is the first time S(t) <= 1 - prob; when S
        equals 1 - prob exactly (within sqrt(machine eps)) over an interval, the midpoint of
        that interval (up to the last follow-up time if the curve stays flat there). The CI
        limits apply the same rule to the lower and upper pointwise confidence curves. NaN
        when not reached.

        Returns ``(estimate, lower, upper)``.
        """
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        lo, up = self.confint(conf_type, conf_level)
        x = np.concatenate(([0.0], self.time))
        est = _findq(x, np.concatenate(([0.0], 1.0 - self.surv)), prob)
        lower = _findq(x, np.concatenate(([0.0], 1.0 - lo)), prob)
        upper = _findq(x, np.concatenate(([0.0], 1.0 - up)), prob)
        return est, lower, upper


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = QUANTILE_TOL) -> float:
    """Quantile of a step curve y(x) (y = 1 - S, nondecreasing), R survival:::findq rules."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # keep the first occurrence of each y value (R duplicated(); NaNs count as equal)
    yk = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(yk, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    n = y.size
    valid = ~np.isnan(y)
    pos = np.nonzero(valid)[0]
    yv = y[valid]
    order = np.argsort(yv, kind="stable")
    yv, pos = yv[order], pos[order]

    def approx_idx(shifted: np.ndarray) -> int | None:
        # R approx(method = "constant", f = 1, rule = 1): value at first node >= p
        if p < shifted[0] or p > shifted[-1]:
            return None
        return int(pos[np.searchsorted(shifted, p, side="left")])

    i1 = approx_idx(yv + tol)
    i2 = approx_idx(yv - tol)
    if p == 0:
        return float(x[0])
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol:
        return float("nan") if i1 is None else float((x[i1] + xmax) / 2.0)
    if i1 is None or i2 is None:
        return float("nan")
    return float((x[i1] + x[i2]) / 2.0)


def kaplan_meier(time: Any, event: Any) -> KMFit:
    """Kaplan-Meier fit of a single group (vectorised, O(n log n)).

    Parameters
    ----------
    time : array-like of float, >= 0
        Follow-up time.
    event : array-like of 0/1 (or bool)
        1 = event, 0 = right-censored.

    Returns
    -------
    KMFit
        The step function at every distinct observed time (as R ``survfit``).
    """
    t = as_time(time)
    e = as_event(event, t.size)
    utime, inv = np.unique(t, return_inverse=True)
    n_at = np.bincount(inv, minlength=utime.size)
    n_event = np.bincount(inv, weights=e, minlength=utime.size).astype(np.int64)
    n_censor = n_at - n_event
    n_risk = np.cumsum(n_at[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        term = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event).astype(float)), 0.0)
    var_log = np.cumsum(term)  # becomes inf once n_risk == n_event (S = 0), as R
    return KMFit(
        time=utime,
        n_risk=n_risk.astype(np.int64),
        n_event=n_event,
        n_censor=n_censor.astype(np.int64),
        surv=surv,
        var_log=var_log,
        n=int(t.size),
    )


def _fits(time: Any, event: Any, group: Any, group_order: Any) -> list[tuple[str, KMFit]]:
    t = as_time(time)
    e = as_event(event, t.size)
    g = as_groups(group, t.size, order=group_order)
    return [(lab, kaplan_meier(t[g.codes == k], e[g.codes == k])) for k, lab in enumerate(g.labels)]


def km_table(
    time: Any,
    event: Any,
    group: Any = None,
    *,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    group_order: Any = None,
) -> pl.DataFrame:
    """Full Kaplan-Meier step table per group, for figures and risk tables.

    One row per group and distinct observed time (events and censorings), as R
    ``summary(survfit(...), censored = TRUE)`` / SAS PROC LIFETEST OUTSURV=.

    Parameters
    ----------
    time, event : array-like
        Follow-up time (>= 0) and event indicator (1 event, 0 censored).
    group : array-like, optional
        Arm label per subject; ``None`` = one group labelled ``ALL``.
    conf_type : {"log-log", "log", "plain"}
        CI transformation; ``log-log`` as SAS CONFTYPE=LOGLOG and R ``conf.type="log-log"``.
    conf_level : float
        Confidence level (0.95).
    group_order : sequence, optional
        Order of the group labels in the output (default: sorted).

    Returns
    -------
    polars.DataFrame
        Columns ``group, time, n_risk, n_event, n_censor, surv, se, lower, upper``.
    """
    check_conf_type(conf_type)
    zcrit(conf_level)
    frames = []
    for lab, fit in _fits(time, event, group, group_order):
        lo, up = fit.confint(conf_type, conf_level)
        frames.append(
            pl.DataFrame(
                {
                    "group": [lab] * fit.time.size,
                    "time": fit.time,
                    "n_risk": fit.n_risk,
                    "n_event": fit.n_event,
                    "n_censor": fit.n_censor,
                    "surv": fit.surv,
                    "se": fit.se,
                    "lower": lo,
                    "upper": up,
                },
                schema={
                    "group": pl.String,
                    "time": pl.Float64,
                    "n_risk": pl.Int64,
                    "n_event": pl.Int64,
                    "n_censor": pl.Int64,
                    "surv": pl.Float64,
                    "se": pl.Float64,
                    "lower": pl.Float64,
                    "upper": pl.Float64,
                },
            )
        )
    return pl.concat(frames, how="vertical")


def km_at(
    time: Any,
    event: Any,
    times: Any,
    group: Any = None,
    *,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    group_order: Any = None,
) -> pl.DataFrame:
    """Kaplan-Meier estimates at landmark times per group (the ARD ``KM`` rows).

    Equivalent to R ``summary(survfit(Surv(time, event) ~ group, conf.type = conf_type),
    times = times, extend = TRUE)`` and SAS PROC LIFETEST TIMELIST= with CONFTYPE=LOGLOG.

    Parameters
    ----------
    time, event, group, conf_type, conf_level, group_order
        As :func:`km_table`.
    times : array-like of float
        Landmark times (days).

    Returns
    -------
    polars.DataFrame
        Columns ``group, time, n_risk, n_event_cum, surv, se, lower, upper``: ``n_risk`` =
        subjects with time >= t; ``n_event_cum`` = events at times <= t; ``se`` = Greenwood SE of
        S(t).
    """
    check_conf_type(conf_type)
    frames = []
    for lab, fit in _fits(time, event, group, group_order):
        r = fit.at(times, conf_type, conf_level)
        frames.append(
            pl.DataFrame(
                {"group": [lab] * r["time"].size, **r},
                schema={
                    "group": pl.String,
                    "time": pl.Float64,
                    "n_risk": pl.Int64,
                    "n_event_cum": pl.Int64,
                    "surv": pl.Float64,
                    "se": pl.Float64,
                    "lower": pl.Float64,
                    "upper": pl.Float64,
                },
            )
        )
    return pl.concat(frames, how="vertical")


def km_quantile(
    time: Any,
    event: Any,
    group: Any = None,
    *,
    prob: float = 0.5,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    group_order: Any = None,
) -> pl.DataFrame:
    """Kaplan-Meier quantile (default the median) with CI, per group (ARD ``KM_MEDIAN``).

    Equivalent to R ``quantile(survfit(...), probs = prob, conf.int = TRUE)`` (the CI of the
    median is the Brookmeyer-Crowley-type interval obtained by inverting the pointwise CI
    curves, as R and SAS PROC LIFETEST with the same CONFTYPE). See :meth:`KMFit.quantile` for
    the flat-at-0.5 (midpoint) rule. NaN when not reached.

    Returns
    -------
    polars.DataFrame
        Columns ``group, prob, estimate, lower, upper``.
    """
    check_conf_type(conf_type)
    rows = []
    for lab, fit in _fits(time, event, group, group_order):
        est, lo, up = fit.quantile(prob, conf_type, conf_level)
        rows.append({"group": lab, "prob": float(prob), "estimate": est, "lower": lo, "upper": up})
    return pl.DataFrame(
        rows,
        schema={
            "group": pl.String,
            "prob": pl.Float64,
            "estimate": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
        },
    )


def km_median(
    time: Any,
    event: Any,
    group: Any = None,
    *,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    group_order: Any = None,
) -> pl.DataFrame:
    """Median survival time with CI per group: :func:`km_quantile` with ``prob = 0.5``.

    Returns columns ``group, median, lower, upper`` (NaN when not reached).
    """
    out = km_quantile(
        time,
        event,
        group,
        prob=0.5,
        conf_type=conf_type,
        conf_level=conf_level,
        group_order=group_order,
    )
    return out.drop("prob").rename({"estimate": "median"})

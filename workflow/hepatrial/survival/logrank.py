"""K-sample log-rank test, unstratified and stratified.

Equivalents: R ``survival::survdiff(Surv(time, event) ~ group [+ strata(s)])`` (rho = 0) and
SAS PROC LIFETEST STRATA group / TEST=LOGRANK (with GROUP= for the stratified test).

Method: at each distinct event time t_j (within a stratum) with n_j at risk (time >= t_j), d_j
events, n_gj at risk and d_gj events in group g,

    E_g = sum_j d_j n_gj / n_j,
    V_gh = sum_j d_j (n_j - d_j) / (n_j - 1) * (n_gj / n_j) (delta_gh - n_hj / n_j).

The stratified test sums O - E and V over strata. The statistic is (O - E)' V^- (O - E) over
the groups with E > 0 less the first of them, chi-square with (that number - 1) df (as survdiff).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from hepatrial.survival._common import (
    SurvivalInputError,
    as_event,
    as_groups,
    as_time,
    chisq_p,
)


@dataclass(frozen=True)
class LogrankResult:
    """Result of :func:`logrank_test`.

    Attributes
    ----------
    chisq, df, p : the test (p upper-tail chi-square).
    groups : group labels in order.
    n, observed, expected : per group (summed over strata).
    variance : (G, G) variance matrix of O - E.
    stratified_by : name of the stratification or ``None``.
    """

    chisq: float
    df: int
    p: float
    groups: tuple[str, ...]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    stratified_by: str | None = None

    def to_frame(self) -> pl.DataFrame:
        """Per-group observed/expected: columns ``group, n, observed, expected``."""
        return pl.DataFrame(
            {
                "group": list(self.groups),
                "n": self.n.astype(np.int64),
                "observed": self.observed.astype(float),
                "expected": self.expected,
            }
        )


def _oe_var(t: np.ndarray, e: np.ndarray, g: np.ndarray, n_groups: int):
    """O, E and V of one stratum, vectorised over the distinct event times."""
    obs = np.bincount(g, weights=e, minlength=n_groups)
    ev_times = np.unique(t[e == 1])
    if ev_times.size == 0:
        return obs, np.zeros(n_groups), np.zeros((n_groups, n_groups))
    # at risk per group and event time: count of time >= t_j
    n_gj = np.empty((ev_times.size, n_groups))
    d_gj = np.zeros((ev_times.size, n_groups))
    for k in range(n_groups):  # loop over groups only
        tk = np.sort(t[g == k])
        n_gj[:, k] = tk.size - np.searchsorted(tk, ev_times, side="left")
        ek = t[(g == k) & (e == 1)]
        pos = np.searchsorted(ev_times, ek)
        d_gj[:, k] = np.bincount(pos, minlength=ev_times.size)
    n_j = n_gj.sum(axis=1)
    d_j = d_gj.sum(axis=1)
    frac = n_gj / n_j[:, None]
    exp = (d_j[:, None] * frac).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n_j > 1, d_j * (n_j - d_j) / (n_j - 1.0), 0.0)
    var = np.einsum("j,jg->g", w, frac)
    var = np.diag(var) - np.einsum("j,jg,jh->gh", w, frac, frac)
    return obs, exp, var


def logrank_test(
    time: Any,
    event: Any,
    group: Any,
    strata: Any = None,
    *,
    group_order: Any = None,
    strata_name: str | None = None,
) -> LogrankResult:
    """Log-rank test of K >= 2 groups, optionally stratified.

    Parameters
    ----------
    time : array-like of float
        Follow-up time (>= 0).
    event : array-like of 0/1
        1 = event, 0 = censored.
    group : array-like
        Group (arm) label per subject.
    strata : array-like, optional
        Stratum label per subject; O - E and the variance matrices are summed over strata
        (R ``survdiff(... ~ group + strata(s))``, SAS PROC LIFETEST STRATA s / GROUP=group).
    group_order : sequence, optional
        Order of the groups (default sorted); it only affects the order of the output.
    strata_name : str, optional
        Recorded in :attr:`LogrankResult.stratified_by`.

    Returns
    -------
    LogrankResult
        ``chisq`` with ``df`` = (groups with E > 0) - 1 and upper-tail ``p``.
    """
    t = as_time(time)
    e = as_event(event, t.size)
    g = as_groups(group, t.size, order=group_order)
    if g.n_groups < 2:
        raise SurvivalInputError("logrank_test needs at least two groups")
    s = as_groups(strata, t.size, name="strata")
    G = g.n_groups
    obs = np.zeros(G)
    exp = np.zeros(G)
    var = np.zeros((G, G))
    for k in range(s.n_groups):  # loop over strata only
        m = s.codes == k
        o_k, e_k, v_k = _oe_var(t[m], e[m], g.codes[m], G)
        obs += o_k
        exp += e_k
        var += v_k
    keep = np.nonzero(exp > 0)[0]
    df = int(keep.size - 1)
    if df < 1:
        chisq = 0.0
    else:
        sub = keep[1:]
        diff = (obs - exp)[sub]
        chisq = float(diff @ np.linalg.pinv(var[np.ix_(sub, sub)]) @ diff)
    n = np.bincount(g.codes, minlength=G)
    if strata is not None and strata_name is None:
        strata_name = "strata"
    return LogrankResult(
        chisq=chisq,
        df=df,
        p=chisq_p(chisq, df),
        groups=g.labels,
        n=n,
        observed=obs,
        expected=exp,
        variance=var,
        stratified_by=strata_name if strata is not None else None,
    )

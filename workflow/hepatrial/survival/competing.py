"""Competing risks: Aalen-Johansen cumulative incidence (CIF) and Gray's K-sample test.

Equivalents
-----------
- CIF and its default variance: R ``survival::survfit(Surv(time, factor(status)) ~ group)``
  (multi-state, ``summary(fit, times)$pstate / $std.err / $lower / $upper``), whose standard
  error is the infinitesimal-jackknife (IJ) estimate. The point estimate equals SAS PROC
  LIFETEST ``TIME t*status(0) / EVENTCODE=k``; SAS's standard errors are ERROR=AALEN or
  ERROR=DELTA (Marubini & Valsecchi), neither of which is the IJ estimate.
- ``variance="delta"``: the delta-method variance of R ``cmprsk::cuminc`` (``timepoints()$var``),
  with the same tie correction (1 - (d - 1)/(n - 1)); conceptually SAS ERROR=DELTA (not
  verified against SAS output).
- :func:`gray_test`: Gray (1988) test of equality of the cumulative incidence of a cause across
  groups, as ``cmprsk::cuminc(...)$Tests`` (rho = 0 by default, optional strata) and SAS PROC
  LIFETEST EVENTCODE= with STRATA (GrayTest table; not verified against SAS output).

Estimator: with distinct times t_j, n_j at risk (time >= t_j), d_kj events of cause k and
d_j = sum_k d_kj, overall event-free survival S(t_j) = prod_{l <= j} (1 - d_l / n_l) and

    F_k(t) = sum_{t_j <= t} S(t_{j-1}) d_kj / n_j,

i.e. all events at a tied time are processed together and censorings at t after the events at t
(exactly as ``survfit``; no random tie-breaking as lifelines' AalenJohansenFitter).

IJ variance: Var F_k(t) = sum_i D_i(t)^2 with D_i(t) = dF_k(t)/dw_i the derivative of the
estimator with respect to subject i's case weight at w = 1 (the survfit default for multi-state
curves). Writing h_kj = d_kj/n_j, h_j = d_j/n_j and g_j = 1/(n_j - d_j),

    D_i(t_J) = sum_{j <= J} S(t_{j-1}) (dN_ik(t_j) - Y_i(t_j) h_kj) / n_j
               - sum_{j <= J} (F_k(t_J) - F_k(t_j)) g_j (dN_i(t_j) - Y_i(t_j) h_j),

which is affine in F_k(t_J) with subject-specific coefficients that do not depend on J, so the
sum of squares at every time comes from cumulative sums (O(n log n) in total).

Confidence intervals: R ``survfit_confint`` with ``logse = FALSE`` applied to F_k itself
(``log``: F exp(-/+ z se/F); ``log-log``: on log(-log F); ``plain``); NaN where undefined
(e.g. F = 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from hepatrial.survival._common import (
    SurvivalInputError,
    as_groups,
    as_status,
    as_time,
    as_times,
    check_conf_type,
    chisq_p,
    confint,
    step_index,
    zcrit,
)

VARIANCES = ("ij", "delta")


@dataclass(frozen=True)
class AJFit:
    """Aalen-Johansen fit of one group; arrays indexed by the distinct observed times.

    Attributes
    ----------
    time : distinct times (events and censorings).
    causes : the cause codes (columns of the (T, K) arrays).
    n_risk, n_censor : (T,) at risk (time >= t) and censored at t.
    n_event : (T, K) events per cause.
    surv : (T,) event-free (all causes) Kaplan-Meier S(t).
    cif : (T, K) cumulative incidence per cause.
    var_ij : (T, K) infinitesimal-jackknife variance (R survfit).
    var_delta : (T, K) delta-method variance (R cmprsk::cuminc).
    n : subjects.
    """

    time: np.ndarray
    causes: tuple[int, ...]
    n_risk: np.ndarray
    n_censor: np.ndarray
    n_event: np.ndarray
    surv: np.ndarray
    cif: np.ndarray
    var_ij: np.ndarray
    var_delta: np.ndarray
    n: int

    def _col(self, cause: int) -> int:
        if cause not in self.causes:
            raise SurvivalInputError(f"cause {cause} is not one of {self.causes}")
        return self.causes.index(cause)

    def se(self, variance: str = "ij") -> np.ndarray:
        """(T, K) standard errors for ``variance`` in {"ij", "delta"}."""
        if variance not in VARIANCES:
            raise SurvivalInputError(f"variance must be one of {VARIANCES}, got {variance!r}")
        v = self.var_ij if variance == "ij" else self.var_delta
        return np.sqrt(np.maximum(v, 0.0))

    def at(
        self,
        times: Any,
        cause: int,
        *,
        variance: str = "ij",
        conf_type: str = "log-log",
        conf_level: float = 0.95,
    ) -> dict:
        """CIF of ``cause`` at landmark times (R ``summary(fit, times, extend = TRUE)``).

        Before the first observed time the CIF is 0 with SE 0 and limits [0, 0] (as R's
        summary); at later times with CIF 0 the log and log-log limits are NaN (R: NA). After
        the last observed time the estimate is carried forward with 0 at risk.

        Returns a dict of arrays ``time, n_risk, n_event_cum, cif, se, lower, upper``.
        """
        k = self._col(cause)
        t = as_times(times)
        idx = step_index(self.time, t)
        before = idx < 0
        j = np.where(before, 0, idx)
        if self.time.size == 0:
            cif = np.zeros(t.size)
            se = np.zeros(t.size)
            nev = np.zeros(t.size, dtype=np.int64)
        else:
            cif = np.where(before, 0.0, self.cif[j, k])
            se = np.where(before, 0.0, self.se(variance)[j, k])
            nev = np.where(before, 0, np.cumsum(self.n_event[:, k])[j])
        lower, upper = confint(cif, se, logse=False, conf_type=conf_type, conf_level=conf_level)
        lower = np.where(before, 0.0, lower)  # R summary.survfit fills [0, 0] before t_1
        upper = np.where(before, 0.0, upper)
        first_ge = np.searchsorted(self.time, t, side="left")
        n_risk = np.append(self.n_risk, 0)[first_ge]
        if self.n == 0:  # empty group: nothing estimable
            cif, se, lower, upper = (np.full(t.size, np.nan) for _ in range(4))
        return {
            "time": t,
            "n_risk": n_risk.astype(np.int64),
            "n_event_cum": nev.astype(np.int64),
            "cif": cif,
            "se": se,
            "lower": lower,
            "upper": upper,
        }


def _ij_variance(
    m: np.ndarray,
    st: np.ndarray,
    n_risk: np.ndarray,
    d: np.ndarray,
    d_k: np.ndarray,
    surv_m: np.ndarray,
    f: np.ndarray,
    cause: int,
) -> np.ndarray:
    """IJ variance of F_k at every distinct time (see module docstring).

    m : time index of each subject; st : status of each subject; n_risk, d : at risk and
    all-cause events per time; d_k, f : events and CIF of this cause; surv_m : S(t_{j-1}).
    """
    T = n_risk.size
    n = n_risk.astype(np.float64)
    h_k = d_k / n
    h = d / n
    with np.errstate(divide="ignore"):
        g = np.where(n > d, 1.0 / np.maximum(n - d, 1e-300), 0.0)
    # A(m) = sum_{j<=m} [S(t_{j-1}) h_kj / n_j + F_k(t_j) g_j h_j]; B(m) = sum_{j<=m} g_j h_j
    A = np.cumsum(surv_m * h_k / n + f * g * h)
    B = np.cumsum(g * h)
    # subject coefficients: D_i(t_J) = alpha_i + F_k(t_J) beta_i  for m_i <= J
    is_k = (st == cause).astype(np.float64)
    is_ev = (st != 0).astype(np.float64)
    alpha = is_k * surv_m[m] / n[m] + is_ev * f[m] * g[m] - A[m]
    beta = -is_ev * g[m] + B[m]
    s_aa = np.cumsum(np.bincount(m, weights=alpha * alpha, minlength=T))
    s_ab = np.cumsum(np.bincount(m, weights=alpha * beta, minlength=T))
    s_bb = np.cumsum(np.bincount(m, weights=beta * beta, minlength=T))
    n_after = n - np.bincount(m, minlength=T)  # subjects with time > t_J
    d_rest = f * B - A
    return s_aa + 2.0 * f * s_ab + f * f * s_bb + n_after * d_rest * d_rest


def _delta_variance(
    n_risk: np.ndarray,
    d: np.ndarray,
    d_k: np.ndarray,
    surv: np.ndarray,
    surv_m: np.ndarray,
    f: np.ndarray,
) -> np.ndarray:
    """Delta-method variance of F_k at every distinct time, as cmprsk::cuminc.

    Var F(t) = sum_{t_j <= t} S(t_{j-1})^2 / n_j^2 * [ c(d_kj) d_kj (1 - (F(t) - F_j)/S_j)^2
                                                      + c(d_oj) d_oj ((F(t) - F_j)/S_j)^2 ]
    with d_oj the other-cause events, c(x) = 1 - (x - 1)/(n_j - 1) for x > 1 (else 1), S_j =
    S(t_j); 1/S_j is taken as 0 when S_j = 0 (and the other-cause term is dropped).
    """
    n = n_risk.astype(np.float64)
    d_o = d - d_k
    with np.errstate(divide="ignore", invalid="ignore"):
        c_k = np.where(d_k > 1, 1.0 - (d_k - 1.0) / (n - 1.0), 1.0)
        c_o = np.where(d_o > 1, 1.0 - (d_o - 1.0) / (n - 1.0), 1.0)
        u = np.where(surv > 0, 1.0 / np.where(surv > 0, surv, 1.0), 0.0)
    base = surv_m**2 / n**2
    w1 = np.where(d_k > 0, base * c_k * d_k, 0.0)
    w2 = np.where((d_o > 0) & (surv > 0), base * c_o * d_o, 0.0)
    # term_j(F) = w1 (1 + r_j - F u_j)^2 + w2 (r_j - F u_j)^2, r_j = F_j u_j; expand in F
    r = f * u
    q0 = np.cumsum(w1 * (1.0 + r) ** 2 + w2 * r * r)
    q1 = np.cumsum(w1 * (1.0 + r) * u + w2 * r * u)
    q2 = np.cumsum((w1 + w2) * u * u)
    return np.maximum(q0 - 2.0 * f * q1 + f * f * q2, 0.0)


def aalen_johansen(time: Any, status: Any, causes: Any = None) -> AJFit:
    """Aalen-Johansen cumulative incidence of every cause for one group (vectorised).

    Parameters
    ----------
    time : array-like of float
        Follow-up time (>= 0).
    status : array-like of int
        0 = censored, 1..K = cause of the event.
    causes : sequence of int, optional
        Causes to report (default: the codes > 0 present; a cause absent from this group
        gives a CIF of 0).

    Returns
    -------
    AJFit
    """
    t = as_time(time)
    st = as_status(status, t.size)
    if causes is None:
        causes = tuple(int(c) for c in np.unique(st[st > 0]))
    causes = tuple(int(c) for c in causes)
    utime, m = np.unique(t, return_inverse=True)
    T = utime.size
    n_at = np.bincount(m, minlength=T)
    n_risk = np.cumsum(n_at[::-1])[::-1]
    d_all = np.bincount(m, weights=(st > 0).astype(float), minlength=T)
    n_censor = n_at - d_all.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d_all / np.where(n_risk > 0, n_risk, 1))
    surv_m = np.concatenate(([1.0], surv[:-1]))
    K = len(causes)
    n_event = np.zeros((T, K), dtype=np.int64)
    cif = np.zeros((T, K))
    v_ij = np.zeros((T, K))
    v_dm = np.zeros((T, K))
    for c_i, c in enumerate(causes):  # loop over causes only
        d_k = np.bincount(m, weights=(st == c).astype(float), minlength=T)
        n_event[:, c_i] = d_k.astype(np.int64)
        f = np.cumsum(surv_m * d_k / n_risk)
        cif[:, c_i] = f
        if T:
            v_ij[:, c_i] = _ij_variance(m, st, n_risk, d_all, d_k, surv_m, f, c)
            v_dm[:, c_i] = _delta_variance(n_risk, d_all, d_k, surv, surv_m, f)
    return AJFit(
        time=utime,
        causes=causes,
        n_risk=n_risk.astype(np.int64),
        n_censor=n_censor.astype(np.int64),
        n_event=n_event,
        surv=surv,
        cif=cif,
        var_ij=np.maximum(v_ij, 0.0),
        var_delta=v_dm,
        n=int(t.size),
    )


def _fits(time, status, group, group_order, causes):
    t = as_time(time)
    st = as_status(status, t.size)
    g = as_groups(group, t.size, order=group_order)
    if causes is None:
        causes = tuple(int(c) for c in np.unique(st[st > 0]))
    return [
        (lab, aalen_johansen(t[g.codes == k], st[g.codes == k], causes))
        for k, lab in enumerate(g.labels)
    ], tuple(int(c) for c in causes)


def cif_at(
    time: Any,
    status: Any,
    times: Any,
    group: Any = None,
    *,
    causes: Any = None,
    variance: str = "ij",
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    group_order: Any = None,
) -> pl.DataFrame:
    """Cumulative incidence per cause and group at landmark times (the ARD ``CIF`` rows).

    Parameters
    ----------
    time : array-like of float
        Follow-up time (>= 0).
    status : array-like of int
        0 = censored, 1..K = cause.
    times : array-like of float
        Landmark times.
    group : array-like, optional
        Arm per subject (``None`` = one group ``ALL``).
    causes : sequence of int, optional
        Causes to report (default all codes > 0).
    variance : {"ij", "delta"}
        ``ij`` = infinitesimal jackknife, as R ``survfit`` multi-state (default); ``delta`` =
        delta method, as R ``cmprsk::cuminc``.
    conf_type : {"log-log", "log", "plain"}
        CI transformation applied to F (R ``survfit(..., conf.type =)``).
    conf_level : float
        Confidence level.
    group_order : sequence, optional
        Order of the groups in the output.

    Returns
    -------
    polars.DataFrame
        Columns ``group, cause, time, n_risk, n_event_cum, cif, se, lower, upper``.
    """
    check_conf_type(conf_type)
    zcrit(conf_level)
    if variance not in VARIANCES:
        raise SurvivalInputError(f"variance must be one of {VARIANCES}, got {variance!r}")
    fits, causes = _fits(time, status, group, group_order, causes)
    frames = []
    for c in causes:
        for lab, fit in fits:
            r = fit.at(times, c, variance=variance, conf_type=conf_type, conf_level=conf_level)
            frames.append(
                pl.DataFrame(
                    {"group": [lab] * r["time"].size, "cause": [c] * r["time"].size, **r},
                    schema={
                        "group": pl.String,
                        "cause": pl.Int64,
                        "time": pl.Float64,
                        "n_risk": pl.Int64,
                        "n_event_cum": pl.Int64,
                        "cif": pl.Float64,
                        "se": pl.Float64,
                        "lower": pl.Float64,
                        "upper": pl.Float64,
                    },
                )
            )
    return pl.concat(frames, how="vertical")


def cif_table(
    time: Any,
    status: Any,
    group: Any = None,
    *,
    causes: Any = None,
    variance: str = "ij",
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    group_order: Any = None,
) -> pl.DataFrame:
    """Full cumulative-incidence step table per group and cause (figures, risk tables).

    One row per group, cause and distinct observed time, as R ``summary(survfit(...),
    censored = TRUE)`` on a multi-state outcome. Parameters as :func:`cif_at`.

    Returns
    -------
    polars.DataFrame
        Columns ``group, cause, time, n_risk, n_event, n_censor, cif, se, lower, upper``
        (``n_event`` = events of this cause at the time, ``n_censor`` = censorings).
    """
    check_conf_type(conf_type)
    fits, causes = _fits(time, status, group, group_order, causes)
    frames = []
    for c in causes:
        for lab, fit in fits:
            k = fit.causes.index(c)
            se = fit.se(variance)[:, k]
            lo, up = confint(
                fit.cif[:, k], se, logse=False, conf_type=conf_type, conf_level=conf_level
            )
            T = fit.time.size
            frames.append(
                pl.DataFrame(
                    {
                        "group": [lab] * T,
                        "cause": [c] * T,
                        "time": fit.time,
                        "n_risk": fit.n_risk,
                        "n_event": fit.n_event[:, k],
                        "n_censor": fit.n_censor,
                        "cif": fit.cif[:, k],
                        "se": se,
                        "lower": lo,
                        "upper": up,
                    },
                    schema={
                        "group": pl.String,
                        "cause": pl.Int64,
                        "time": pl.Float64,
                        "n_risk": pl.Int64,
                        "n_event": pl.Int64,
                        "n_censor": pl.Int64,
                        "cif": pl.Float64,
                        "se": pl.Float64,
                        "lower": pl.Float64,
                        "upper": pl.Float64,
                    },
                )
            )
    return pl.concat(frames, how="vertical")


@dataclass(frozen=True)
class GrayResult:
    """Gray's test for one cause: ``chisq`` on ``df`` = G - 1, ``p``; ``score`` per group and
    its ``variance`` (G x G, rank G - 1)."""

    cause: int
    chisq: float
    df: int
    p: float
    groups: tuple[str, ...]
    score: np.ndarray
    variance: np.ndarray
    rho: float
    stratified_by: str | None = None


def _gray_stratum(t: np.ndarray, m: np.ndarray, g: np.ndarray, G: int, rho: float):
    """Score (G,) and variance (G, G) of Gray's test in one stratum, vectorised over times.

    ``m``: 0 censored, 1 cause of interest, 2 other cause. Implements the plug-in variance
    of Gray (1988), Section 2, with the discrete-time (tie) corrections used by cmprsk.
    """
    utime, idx = np.unique(t, return_inverse=True)
    T = utime.size
    n_at = np.zeros((T, G))
    d1 = np.zeros((T, G))
    d2 = np.zeros((T, G))
    np.add.at(n_at, (idx, g), 1.0)
    np.add.at(d1, (idx, g), (m == 1).astype(float))
    np.add.at(d2, (idx, g), (m == 2).astype(float))
    n = np.cumsum(n_at[::-1], axis=0)[::-1]  # at risk per group
    pos = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = d1 + d2
        fac = np.where(pos, 1.0 - dd / np.where(pos, n, 1.0), 1.0)
        skm = np.cumprod(fac, axis=0)  # S_g(t_j)
        skmm = np.vstack([np.ones((1, G)), skm[:-1]])  # S_g(t_j -)
        inc = np.where(pos, skmm * d1 / np.where(pos, n, 1.0), 0.0)
        f1 = np.cumsum(inc, axis=0)  # F_1g(t_j)
        f1m = np.vstack([np.zeros((1, G)), f1[:-1]])  # F_1g(t_j -)
    # only times with an event of any cause contribute
    keep = (d1.sum(axis=1) + d2.sum(axis=1)) > 0
    n, d1, d2, skm, skmm, f1m = n[keep], d1[keep], d2[keep], skm[keep], skmm[keep], f1m[keep]
    pos = n > 0
    nd1 = d1.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(pos, n / np.where(pos, skmm, 1.0), 0.0)  # n_g / S_g(t-)
        tr = h.sum(axis=1)
        tq = (h * (1.0 - f1m)).sum(axis=1)  # sum_g R_g (sub-dist. risk)
        fpool = np.cumsum(nd1 / tr)  # pooled F under H0
        fm = np.concatenate(([0.0], fpool[:-1]))
        fb = (1.0 - fm) ** rho
        # score: sum_j W_j (d1_gj - nd1_j R_gj / R_.j)
        score = (fb[:, None] * (d1 - nd1[:, None] * h * (1.0 - f1m) / tq[:, None])).sum(axis=0)
        eye = np.eye(G)
        a = fb[:, None, None] * h[:, :, None] * (eye[None] - h[:, None, :] / tr[:, None, None])
        c = np.cumsum(a * (nd1 / (tr * (1.0 - fm)))[:, None, None], axis=0)
        # cause-of-interest contributions
        ev1 = (nd1 > 0)[:, None] & pos
        t4 = np.where(skm > 0, 1.0 - (1.0 - fpool[:, None]) / np.where(skm > 0, skm, 1.0), 1.0)
        t5 = np.where(
            nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0), 1.0
        )
        t3 = np.where(ev1, t5 * skmm * nd1[:, None] / (tr[:, None] * np.where(pos, n, 1.0)), 0.0)
        b = a - t4[:, None, :] * c  # (T, i, k)
        v3 = (t4 * t4 * t3).sum(axis=0)
        v2 = np.einsum("jik,jk->ik", b, t4 * t3)
        v = np.einsum("jik,jlk,jk->il", b, b, t3)
        # other-cause contributions
        ev2 = (skm > 0) & (d2 > 0)
        t4o = np.where(ev2, (1.0 - fpool[:, None]) / np.where(skm > 0, skm, 1.0), 0.0)
        t5o = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (np.where(pos, n, 2.0) - 1.0), 1.0)
        t3o = np.where(ev2, t5o * skmm**2 * d2 / np.where(pos, n, 1.0) ** 2, 0.0)
        w = t4o * t4o * t3o
        v3 = v3 + w.sum(axis=0)
        v2 = v2 - np.einsum("jik,jk->ik", c, w)
        v = v + np.einsum("jik,jlk,jk->il", c, c, w)
    c_end = c[-1] if c.shape[0] else np.zeros((G, G))
    v = v + np.einsum("ik,jk,k->ij", c_end, c_end, v3) + c_end @ v2.T + v2 @ c_end.T
    return score, v


def gray_test(
    time: Any,
    status: Any,
    group: Any,
    *,
    cause: int | None = None,
    strata: Any = None,
    rho: float = 0.0,
    group_order: Any = None,
    strata_name: str | None = None,
) -> dict[int, GrayResult] | GrayResult:
    """Gray's (1988) K-sample test of equal cumulative incidence, per cause.

    Equivalent to ``cmprsk::cuminc(ftime, fstatus, group, strata, rho, cencode = 0)$Tests``.
    For each cause the score compares each group's cause-specific events with those expected
    under a common subdistribution hazard, with weight (1 - F^0(t-))^rho (F^0 the pooled
    estimate), and its covariance is Gray's plug-in estimate; the statistic s' V^-1 s over
    the first G - 1 groups is chi-square with G - 1 df. Strata: scores and variances summed.

    Parameters
    ----------
    time, status : array-like
        Follow-up time and state (0 censored, 1..K cause).
    group : array-like
        Group (arm) per subject (at least two groups).
    cause : int, optional
        Test only this cause (returns one :class:`GrayResult`); default all causes (dict).
    strata : array-like, optional
        Stratification variable.
    rho : float
        Power of the weight function (0 = cmprsk default).
    group_order, strata_name : optional
        Group order; label of the stratification.
    """
    t = as_time(time)
    st = as_status(status, t.size)
    g = as_groups(group, t.size, order=group_order)
    if g.n_groups < 2:
        raise SurvivalInputError("gray_test needs at least two groups")
    s = as_groups(strata, t.size, name="strata")
    all_causes = [int(c) for c in np.unique(st[st > 0])]
    todo = all_causes if cause is None else [int(cause)]
    G = g.n_groups
    out: dict[int, GrayResult] = {}
    for c in todo:
        m = np.where(st == c, 1, np.where(st > 0, 2, 0))
        score = np.zeros(G)
        var = np.zeros((G, G))
        for k in range(s.n_groups):  # loop over strata only
            sel = s.codes == k
            sc_k, v_k = _gray_stratum(t[sel], m[sel], g.codes[sel], G, rho)
            score += sc_k
            var += v_k
        sub = slice(0, G - 1)
        try:
            chisq = float(score[sub] @ np.linalg.solve(var[sub, sub], score[sub]))
        except np.linalg.LinAlgError:
            chisq = float(score[sub] @ np.linalg.pinv(var[sub, sub]) @ score[sub])
        out[c] = GrayResult(
            cause=c,
            chisq=chisq,
            df=G - 1,
            p=chisq_p(chisq, G - 1),
            groups=g.labels,
            score=score,
            variance=var,
            rho=rho,
            stratified_by=(strata_name or "strata") if strata is not None else None,
        )
    if cause is not None:
        return out[int(cause)]
    return out

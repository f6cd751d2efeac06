"""Cox proportional-hazards model: partial likelihood by Newton-Raphson, Efron or Breslow ties.

Equivalents: R ``survival::coxph(Surv(time, event) ~ arm [+ covariates] [+ strata(s)],
ties = "efron" | "breslow")`` and SAS PROC PHREG (TIES=EFRON | BRESLOW; SAS's default is
BRESLOW, R's and ours is EFRON), Wald CIs (SAS RISKLIMITS=WALD).

Method: with linear predictor eta_i = x_i' beta and, at each distinct event time t_j in
stratum s, the risk set R_j (stratum s, time >= t_j) and the d_j tied events D_j, the log
partial likelihood is

    l(beta) = sum_j [ sum_{i in D_j} eta_i - sum_{r=0}^{d_j-1} log( S0_j - f_r D0_j ) ],

S0_j = sum_{R_j} exp(eta), D0_j = sum_{D_j} exp(eta), f_r = r / d_j (Efron) or 0 (Breslow).
Score and information follow by differentiation; Newton-Raphson from beta = 0 with step halving,
on centred covariates, to |delta l| < 1e-12 (relative) and max|step| < 1e-10. Variance = inverse
information at the estimate (model-based, as ``coxph`` without ``cluster``/``robust``).
Everything is vectorised over subjects and tied events (reverse cumulative sums).
A monotone likelihood (infinite estimate, e.g. no events in one arm) raises
:class:`hepatrial.errors.ConvergenceError`, where R only warns and reports a huge HR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

# scipy.special, not scipy.stats: the same functions scipy.stats calls (bit-identical), without its ~1 s import
from scipy import special

from hepatrial.errors import ConvergenceError
from hepatrial.survival._common import (
    SurvivalInputError,
    as_event,
    as_groups,
    as_time,
    chisq_p,
    zcrit,
)

TIES = ("efron", "breslow")
# |coef| x SD(covariate) beyond this = monotone likelihood (HR > e^15 per SD): not estimable
MONOTONE_LIMIT = 15.0


class _PartialLikelihood:
    """Pre-sorted data structure evaluating l, U, I for any beta (vectorised)."""

    def __init__(self, t: np.ndarray, e: np.ndarray, x: np.ndarray, strata: np.ndarray, ties: str):
        # sort by stratum, then time descending, events before censorings at a tie
        order = np.lexsort((-e, -t, strata))
        self.t, self.e, self.x, self.s = t[order], e[order], x[order], strata[order]
        n = self.t.size
        # blocks of equal (stratum, time)
        new_block = np.ones(n, dtype=bool)
        new_block[1:] = (self.s[1:] != self.s[:-1]) | (self.t[1:] != self.t[:-1])
        block = np.cumsum(new_block) - 1
        self.n_blocks = int(block[-1] + 1) if n else 0
        # last row of each block (risk set = everything up to and including it in the stratum)
        last = np.r_[np.nonzero(new_block)[0][1:] - 1, n - 1]
        self.block_last = last
        self.block = block
        # first row of each stratum, for the within-stratum cumulative sums
        new_str = np.ones(n, dtype=bool)
        new_str[1:] = self.s[1:] != self.s[:-1]
        str_start = np.nonzero(new_str)[0]
        str_id = np.cumsum(new_str) - 1
        self.row_str_start = str_start[str_id]
        self.block_str_start = self.row_str_start[last]
        d_block = np.bincount(block, weights=self.e, minlength=self.n_blocks).astype(np.int64)
        self.ev_blocks = np.nonzero(d_block > 0)[0]
        d = d_block[self.ev_blocks]
        # expand to one row per tied event: block index and Efron fraction r/d
        self.rep = np.repeat(np.arange(self.ev_blocks.size), d)
        offs = np.arange(self.rep.size) - np.repeat(np.cumsum(d) - d, d)
        self.frac = offs / np.repeat(d, d) if ties == "efron" else np.zeros(self.rep.size)
        self.is_ev = self.e == 1
        self.p = x.shape[1]

    def _risk_sums(self, a: np.ndarray) -> np.ndarray:
        """Within-stratum risk-set sums of rows ``a`` (n, ...) at the event blocks."""
        cs = np.cumsum(a, axis=0)
        cs0 = np.concatenate([np.zeros((1,) + a.shape[1:]), cs], axis=0)
        last = self.block_last[self.ev_blocks]
        start = self.block_str_start[self.ev_blocks]
        return cs0[last + 1] - cs0[start]

    def _event_sums(self, a: np.ndarray) -> np.ndarray:
        ev = self.is_ev
        idx = np.searchsorted(self.ev_blocks, self.block[ev])
        out = np.zeros((self.ev_blocks.size,) + a.shape[1:])
        np.add.at(out, idx, a[ev])
        return out

    def evaluate(self, beta: np.ndarray):
        x = self.x
        eta = x @ beta
        r = np.exp(eta)
        rx = r[:, None] * x
        rxx = rx[:, :, None] * x[:, None, :]
        S0, S1, S2 = self._risk_sums(r), self._risk_sums(rx), self._risk_sums(rxx)
        D0, D1, D2 = self._event_sums(r), self._event_sums(rx), self._event_sums(rxx)
        f = self.frac
        k = self.rep
        den = S0[k] - f * D0[k]
        num1 = S1[k] - f[:, None] * D1[k]
        num2 = S2[k] - f[:, None, None] * D2[k]
        m = num1 / den[:, None]
        loglik = float(eta[self.is_ev].sum() - np.log(den).sum())
        score = x[self.is_ev].sum(axis=0) - m.sum(axis=0)
        info = (num2 / den[:, None, None]).sum(axis=0) - np.einsum("ka,kb->ab", m, m)
        return loglik, score, info


@dataclass(frozen=True)
class CoxResult:
    """Result of :func:`cox_ph`.

    Attributes
    ----------
    table : polars.DataFrame
        One row per coefficient: ``term, arm, comparator, coef, se, hr, lower, upper, z, p``
        (``arm``/``comparator`` filled for the arm-vs-reference terms).
    loglik : (log partial likelihood at 0, at the estimate).
    lrt, score : likelihood-ratio and score (log-rank type) tests of all coefficients:
        dicts with ``chisq, df, p``.
    n, n_events : subjects and events used.
    ties, strata : the ties method and the stratification (or ``None``).
    vcov : covariance matrix of the coefficients.
    iterations : Newton-Raphson iterations.
    """

    table: pl.DataFrame
    loglik: tuple[float, float]
    lrt: dict
    score: dict
    n: int
    n_events: int
    ties: str
    strata: str | None
    vcov: np.ndarray
    iterations: int


def _newton(pl_: _PartialLikelihood, p: int, max_iter: int = 50):
    beta = np.zeros(p)
    ll, u, info = pl_.evaluate(beta)
    ll0, u0, info0 = ll, u, info
    it = 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, u, rcond=None)[0]
        new = beta + step
        ll_new, u_new, info_new = pl_.evaluate(new)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12 * abs(ll)) and halvings < 30:
            step = step / 2.0
            new = beta + step
            ll_new, u_new, info_new = pl_.evaluate(new)
            halvings += 1
        converged = (
            abs(ll_new - ll) <= 1e-12 * max(1.0, abs(ll))
            and np.max(np.abs(step), initial=0.0) < 1e-10
        )
        beta, ll, u, info = new, ll_new, u_new, info_new
        if converged:
            return beta, ll, info, ll0, u0, info0, it
    if np.max(np.abs(np.linalg.lstsq(info, u, rcond=None)[0]), initial=0.0) < 1e-7:
        return beta, ll, info, ll0, u0, info0, it
    raise ConvergenceError(
        f"Cox model did not converge in {max_iter} Newton-Raphson "
        "iterations (monotone likelihood / infinite estimate?)"
    )


def cox_ph(
    time: Any,
    event: Any,
    group: Any = None,
    *,
    reference: Any = None,
    strata: Any = None,
    covariates: Any = None,
    covariate_names: Any = None,
    ties: str = "efron",
    conf_level: float = 0.95,
    group_order: Any = None,
    strata_name: str | None = None,
) -> CoxResult:
    """Cox PH hazard ratio(s) of each arm vs the reference arm, Wald CI and p.

    Parameters
    ----------
    time : array-like of float
        Follow-up time (>= 0).
    event : array-like of 0/1
        1 = event, 0 = censored.
    group : array-like, optional
        Arm label; coded as K - 1 indicator columns (each arm vs ``reference``). May be
        ``None`` when only ``covariates`` are modelled.
    reference : label, optional
        Reference arm (default: the first in ``group_order`` or in sorted order).
    strata : array-like, optional
        Stratification variable: separate baseline hazards (R ``+ strata(s)``, SAS STRATA).
    covariates : array-like (n, q), optional
        Extra numeric adjustment covariates (no missing values).
    covariate_names : sequence of str, optional
        Names of the extra covariates (default ``x1..xq``).
    ties : {"efron", "breslow"}
        Tie handling (R ``ties=``; SAS TIES=EFRON | BRESLOW).
    conf_level : float
        Level of the Wald CI exp(b -/+ z se).
    group_order, strata_name : optional
        Order of the arms; label of the stratification for the result.

    Returns
    -------
    CoxResult
        HR = exp(coef), Wald CI and two-sided Wald p per term, plus the LR and score tests.
    """
    if ties not in TIES:
        raise SurvivalInputError(f"ties must be one of {TIES}, got {ties!r}")
    z = zcrit(conf_level)
    t = as_time(time)
    e = as_event(event, t.size)
    cols: list[np.ndarray] = []
    names: list[str] = []
    arms: list[str | None] = []
    comps: list[str | None] = []
    if group is not None:
        g = as_groups(group, t.size, order=group_order)
        if g.n_groups < 2:
            raise SurvivalInputError("cox_ph needs at least two arms in group")
        ref = g.labels[0] if reference is None else str(reference)
        if ref not in g.labels:
            raise SurvivalInputError(f"reference {ref!r} is not one of the arms {g.labels}")
        ref_code = g.labels.index(ref)
        for k, lab in enumerate(g.labels):
            if k == ref_code:
                continue
            cols.append((g.codes == k).astype(np.float64))
            names.append(f"{lab} vs {ref}")
            arms.append(lab)
            comps.append(ref)
    if covariates is not None:
        c = np.asarray(
            covariates.to_numpy() if hasattr(covariates, "to_numpy") else covariates,
            dtype=np.float64,
        )
        if c.ndim == 1:
            c = c[:, None]
        if c.shape[0] != t.size or not np.all(np.isfinite(c)):
            raise SurvivalInputError("covariates must have one finite row per subject")
        cn = (
            list(covariate_names)
            if covariate_names is not None
            else [f"x{i + 1}" for i in range(c.shape[1])]
        )
        for i in range(c.shape[1]):
            cols.append(c[:, i])
            names.append(cn[i])
            arms.append(None)
            comps.append(None)
    if not cols:
        raise SurvivalInputError("cox_ph needs group and/or covariates")
    x = np.column_stack(cols)
    x = x - x.mean(axis=0)  # centring changes neither estimates nor tests
    s = as_groups(strata, t.size, name="strata")
    if e.sum() == 0:
        raise SurvivalInputError("cox_ph: no events")
    lik = _PartialLikelihood(t, e, x, s.codes, ties)
    beta, ll, info, ll0, u0, info0, it = _newton(lik, x.shape[1])
    scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    if (
        not np.all(np.isfinite(beta))
        or np.any(np.abs(beta) * scale > MONOTONE_LIMIT)
        or not np.all(np.isfinite(info))
        or np.linalg.cond(info / np.outer(scale, scale)) > 1e12
    ):
        raise ConvergenceError(
            "Cox model: monotone likelihood, a coefficient is infinite (e.g. an arm or "
            f"stratum level with no events); terms {names}"
        )
    vcov = np.linalg.inv(info)
    se = np.sqrt(np.diag(vcov))
    zstat = beta / se
    p = 2.0 * special.ndtr(-np.abs(zstat))
    table = pl.DataFrame(
        {
            "term": names,
            "arm": arms,
            "comparator": comps,
            "coef": beta,
            "se": se,
            "hr": np.exp(beta),
            "lower": np.exp(beta - z * se),
            "upper": np.exp(beta + z * se),
            "z": zstat,
            "p": p,
        },
        schema={
            "term": pl.String,
            "arm": pl.String,
            "comparator": pl.String,
            "coef": pl.Float64,
            "se": pl.Float64,
            "hr": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "z": pl.Float64,
            "p": pl.Float64,
        },
    )
    q = x.shape[1]
    lrt = 2.0 * (ll - ll0)
    sc = float(u0 @ np.linalg.solve(info0, u0))
    if strata is not None and strata_name is None:
        strata_name = "strata"
    return CoxResult(
        table=table,
        loglik=(ll0, ll),
        lrt={"chisq": lrt, "df": q, "p": chisq_p(lrt, q)},
        score={"chisq": sc, "df": q, "p": chisq_p(sc, q)},
        n=int(t.size),
        n_events=int(e.sum()),
        ties=ties,
        strata=strata_name if strata is not None else None,
        vcov=vcov,
        iterations=it,
    )

r"""Reference-based multiple imputation (MI) for a continuous longitudinal endpoint.

No maintained Python library implements reference-based MI (jump to reference, copy
reference, copy increments in reference, ...), so this module is our own implementation of the
methods of R ``rbmi`` (Gower-Page et al. 2022; Wolbers et al. 2022), written from their
published description and checked against rbmi's published results and an independent R
implementation (tests/reference/mi). Nothing here calls R.

Data and estimand
-----------------
Long data, one row per subject and scheduled visit (rows of missing visits may be absent), a
change-from-baseline response ``CHG``, the randomised arm and baseline covariates (constant
within subject; time-varying covariates are not supported). Intercurrent events (ICEs): at most
one per subject, given as the first visit affected and the imputation strategy for the missing
data from that visit on. Observed post-ICE values are kept (treatment-policy data); for the
reference-based strategies they are left out of the imputation model's fit, as rbmi does
(rbmi vignette "advanced", section 2), and conditioned on when imputing. Missing values of
subjects without an ICE, and missing values before the ICE, are imputed under MAR.

Imputation model
----------------
An MMRM fitted by REML (default) or ML with the project's engine
(:class:`hepatrial.models.mmrm_core.Engine`, per-missingness-pattern sufficient statistics)::

    CHG ~ ARM * AVISIT + BASE * AVISIT + STRATUM * AVISIT,   Sigma = UN (optionally one per arm)

(rbmi ``covariates = c("BASE*AVISIT", "STRATUM*AVISIT", "ARM*AVISIT")``; with
``covariate_by_visit=False`` the covariates enter without the visit interaction.) The fixed-effect
design is built with numpy (treatment coding, first level of each factor as baseline).

Strategies (Carpenter, Roger & Kenward 2013, section 4.3; rbmi ``strategy_*``)
-------------------------------------------------------------------------------
For subject :math:`i` let :math:`\mu_i = X_i\beta` be the mean under its own arm,
:math:`\mu_{r,i} = X_i^{(r)}\beta` the mean with the arm set to its reference arm (same
covariates), :math:`\Sigma, \Sigma_r` the covariance of its own and of the reference arm, and
:math:`t` the first visit affected by the ICE (visits ``< t`` are "pre-ICE").

* ``MAR``: :math:`(\mu_i, \Sigma)`.
* ``JR`` (jump to reference): mean :math:`(\mu_i[<t], \mu_{r,i}[\ge t])`; covariance
  :math:`\tilde\Sigma_{11} = \Sigma_{11}`, :math:`\tilde\Sigma_{21} = R_{21}R_{11}^{-1}
  \Sigma_{11}`, :math:`\tilde\Sigma_{22} = R_{22} - R_{21}R_{11}^{-1}(R_{11} - \Sigma_{11})
  R_{11}^{-1}R_{12}` with :math:`R = \Sigma_r` (pre-ICE distribution from the own arm, the
  conditional distribution of post- given pre-ICE from the reference arm). With one common
  covariance matrix :math:`\tilde\Sigma = \Sigma`.
* ``CR`` (copy reference): :math:`(\mu_{r,i}, \Sigma_r)` at all visits.
* ``CIR`` (copy increments in reference): mean :math:`\mu_i[t-1] + \mu_{r,i}[j] -
  \mu_{r,i}[t-1]` for :math:`j \ge t`, covariance as JR.
* ``LMCF`` (last mean carried forward): mean :math:`\mu_i[t-1]` for :math:`j \ge t`,
  covariance :math:`\Sigma`.

JR and CIR with the ICE at the first visit are CR (rbmi); LMCF then is an error. Missing values
are drawn from (random MI) or set to (conditional mean imputation) the conditional normal
distribution of the missing given the observed components of :math:`N(\tilde\mu_i,
\tilde\Sigma)`.

Methods (``method=``)
---------------------
``"bayes"`` (rbmi ``method_bayes``; SAS "five macros")
    Posterior draws of :math:`(\beta, \Sigma)` under a flat prior for :math:`\beta` and an
    inverse Wishart prior :math:`IW(T+2, \hat\Sigma_{REML})` per covariance group - rbmi's and
    the five macros' default prior. rbmi samples this posterior with Stan (HMC); here an exact
    data-augmentation Gibbs sampler (Tanner & Wong 1987; Schafer 1997, ch. 5) draws it: missing
    responses of the model data given :math:`(\beta, \Sigma)` (MAR), then
    :math:`\Sigma_g | \beta, Y \sim IW(T + 2 + n_g, \hat\Sigma_g + \sum_{i \in g} r_i r_i')`
    (Bartlett decomposition) and :math:`\beta | \Sigma, Y \sim N(\hat\beta_{GLS},
    (\sum_i X_i'\Sigma^{-1}X_i)^{-1})`, started at the REML fit; ``warmup`` iterations are
    discarded and every ``thin``-th is kept (defaults below). M draws give M imputed data
    sets; Rubin's rules.
``"approxbayes"`` (rbmi ``method_approxbayes``)
    Each of the M parameter draws is the REML (ML) fit to a non-parametric bootstrap sample of
    subjects, stratified by arm (Little & Rubin 2002, 10.2.3; von Hippel & Bartlett 2021); one
    random imputation of the original data per draw; Rubin's rules.
``"condmean"`` (rbmi ``method_condmean``; Wolbers et al. 2022)
    One conditional-mean imputation of the original data with the REML estimate gives the
    point estimate (deterministic; equal to the mean of infinitely many random imputations for
    an ANCOVA). Standard errors by the jackknife (all leave-one-subject-out refits,
    :math:`se = \{(n-1)/n \sum_b (\hat\theta_{(-b)} - \bar\theta_{(.)})^2\}^{1/2}`, normal CI
    and p; deterministic) or by B bootstrap samples (stratified by arm; normal CI with the
    bootstrap SD, or percentile CI with p by inverting it, rbmi ``pool(type=)``).
``"bmlmi"`` (bootstrapped MI, rbmi ``method_bmlmi``; von Hippel & Bartlett 2021)
    B bootstrap samples, each refitted and randomly imputed D times; pooled by von Hippel &
    Bartlett's formulas 8.4 and 8.6 (df at least 3, as rbmi).

Refits on resamples (jackknife, bootstrap) recompute the engine's per-pattern sufficient
statistics with the subject weights (the jackknife downdates one pattern by one subject) and
start at the full-data estimate, with quasi-Newton (BFGS) steps whose initial Hessian is the
full-data observed information (3-5 likelihood evaluations per refit); a refit that does not
converge so falls back to the MMRM optimiser cascade (:func:`hepatrial.models.mmrm_fit.optimise`).

Gibbs sampler defaults: ``warmup=200``, ``thin=2``. On a simulated 240 x 6 trial with 30%
dropout the lag-1 autocorrelation of successive draws was at most 0.26 for beta and 0.34 for
Sigma at ``thin=1`` (0.12 at lag 2), and at most 0.13 (mostly < 0.03) for the per-imputation
treatment estimates and LS means, so ``thin=2`` keeps the draws practically independent.

Analysis and pooling
--------------------
Each completed data set is analysed per visit by ANCOVA, ``CHG ~ ARM + BASE + STRATUM`` (OLS):
the treatment difference (each arm minus the control arm) is the arm coefficient, its SE and
residual df ``n - q`` from the OLS fit; LS means are the mean prediction over the analysed
subjects with the arm set to each arm (rbmi ``ancova(weights = "counterfactual")``) or at the
covariate means with equal factor-level weights (``weights="equal"``, emmeans / SAS LSMEANS).
Rubin's rules: :math:`\bar\theta`, :math:`T = W + (1 + 1/M)B`, Barnard & Rubin (1999) df
:math:`\nu = (\nu_{old}^{-1} + \nu_{obs}^{-1})^{-1}`, :math:`\nu_{old} = (M-1)/\lambda^2`,
:math:`\nu_{obs} = \frac{\nu_{com}+1}{\nu_{com}+3}\nu_{com}(1-\lambda)`,
:math:`\lambda = (1+1/M)B/T`, :math:`\nu_{com}` the ANCOVA residual df.

Delta adjustment (marginal, as rbmi and the five macros): a fixed shift added to imputed values
after imputation and before the analysis. :func:`tipping_point` runs a grid of shifts.

Equivalents::

    R:   rbmi::draws(data, data_ice, vars, method_bayes() / method_approxbayes() /
                     method_condmean(type = "jackknife") / method_bmlmi(B, D))
         rbmi::impute(drawObj, references = c(ACTIVE = "PLACEBO", PLACEBO = "PLACEBO"))
         rbmi::analyse(imputeObj, rbmi::ancova, vars = ..., delta = ...); rbmi::pool(anaObj)
    SAS: the DIA "five macros" (Roger): part1A (MCMC), part2A (imputation with
         METHOD=J2R/CR/CIR), part3 (ANCOVA + PROC MIANALYZE); PROC MI ... MNAR for delta
         adjustment (MNAR ADJUST(... SHIFT=)).

Reproducibility: all random numbers come from one ``numpy.random.Generator`` (PCG64) seeded
with ``seed``, consumed in a fixed order; the same seed gives identical results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import special

from ..errors import ConvergenceError
from .mmrm_core import Design, Engine, Pattern, build_patterns
from .mmrm_cov import STRUCTURES, CovStructure
from .mmrm_design import MMRMDataError, codes, levels
from .mmrm_fit import empirical_start
from .mmrm_fit import optimise as _optimise
from .mmrm_formula import as_polars

STRATEGIES = ("MAR", "JR", "CR", "CIR", "LMCF")
_STRAT_ALIASES = {"J2R": "JR", "JTR": "JR"}
METHODS = ("bayes", "approxbayes", "condmean", "bmlmi")
_METHOD_LABEL = {
    "bayes": "Bayesian MI (Gibbs sampler, flat/IW prior)",
    "approxbayes": "approximate Bayesian MI (bootstrap REML draws)",
    "condmean": "conditional mean imputation",
    "bmlmi": "bootstrapped MI (von Hippel-Bartlett)",
}


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
@dataclass
class MIData:
    """Subject x visit layout of the data (built by :func:`prepare`)."""

    subjects: np.ndarray  # (n,) subject ids (str)
    visits: list  # visit levels in time order
    arms: list  # arm levels (output order)
    control: str  # the analysis comparator (reference arm of the differences)
    arm: np.ndarray  # (n,) arm code into ``arms``
    ref_arm: np.ndarray  # (n,) code of the subject's reference arm for imputation
    Y: np.ndarray  # (n, T) response, NaN = missing
    cov: np.ndarray  # (n, n_cov) continuous covariates
    fac: np.ndarray  # (n, n_fac) factor codes
    covariates: list
    factors: list
    factor_levels: dict
    ice: np.ndarray  # (n,) index of the first visit affected by the ICE (T = no ICE)
    strategy: np.ndarray  # (n,) code into STRATEGIES
    names: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.subjects.size)

    @property
    def T(self) -> int:
        return len(self.visits)

    @property
    def missing(self) -> np.ndarray:
        return np.isnan(self.Y)

    def fit_response(self) -> np.ndarray:
        """Response for the imputation model: post-ICE values of non-MAR strategies removed."""
        Yf = self.Y.copy()
        post = np.arange(self.T)[None, :] >= self.ice[:, None]
        Yf[post & (self.strategy != 0)[:, None]] = np.nan
        return Yf


def _norm_strategy(s) -> str:
    s = str(s).strip().upper()
    s = _STRAT_ALIASES.get(s, s)
    if s not in STRATEGIES:
        raise MMRMDataError(
            f"unknown imputation strategy {s!r}; use one of {STRATEGIES} (J2R = JR)"
        )
    return s


def prepare(
    data,
    ice=None,
    *,
    response="CHG",
    subject="USUBJID",
    visit="AVISIT",
    arm="ARM",
    visit_order=None,
    arm_levels=None,
    control=None,
    references=None,
    covariates=("BASE",),
    factors=("STRATUM",),
    ice_visit=None,
    ice_strategy="STRATEGY",
) -> MIData:
    """Put long data into the subject x visit layout used by :func:`impute`.

    Parameters
    ----------
    data : polars or pandas DataFrame
        One row per subject and visit (visits without a row count as missing).
    ice : DataFrame, optional
        One row per subject with an intercurrent event: ``subject``, the first visit affected
        (column ``ice_visit``, default the ``visit`` column name) and the strategy for the
        missing data from that visit on (column ``ice_strategy``: MAR, JR/J2R, CR, CIR, LMCF).
    control : the comparator of the treatment differences (default: first of ``arm_levels``).
    references : dict arm -> reference arm for the reference-based strategies
        (default: every arm -> ``control``).
    covariates, factors : subject-level continuous covariates and categorical factors
        (constant within subject).
    """
    df = as_polars(data)
    covariates, factors = list(covariates or ()), list(factors or ())
    need = [subject, visit, arm, response, *covariates, *factors]
    miss = [c for c in need if c not in df.columns]
    if miss:
        raise MMRMDataError(f"columns not found: {miss}")
    df = df.select(need).with_columns(pl.col(subject).cast(pl.Utf8))
    visits = list(visit_order) if visit_order is not None else levels(df[visit])
    bad = set(df[visit].drop_nulls().unique().to_list()) - set(visits)
    if bad:
        raise MMRMDataError(f"visits not in visit_order: {sorted(map(str, bad))}", column=visit)
    arms = list(arm_levels) if arm_levels is not None else levels(df[arm])
    control = arms[0] if control is None else control
    if control not in arms:
        raise MMRMDataError(f"control arm {control!r} not among the arms {arms}", column=arm)
    references = dict(references or {a: control for a in arms})
    for a in arms:
        references.setdefault(a, control)
        if references[a] not in arms:
            raise MMRMDataError(f"reference of arm {a!r} ({references[a]!r}) is not an arm")

    subj_df = (
        df.group_by(subject, maintain_order=False)
        .agg(
            [
                pl.col(c).drop_nulls().n_unique().alias(f"__nu_{c}")
                for c in [arm, *covariates, *factors]
            ]
            + [pl.col(c).drop_nulls().first().alias(c) for c in [arm, *covariates, *factors]]
        )
        .sort(subject)
    )
    for c in [arm, *covariates, *factors]:
        if (subj_df[f"__nu_{c}"] > 1).any():
            raise MMRMDataError(
                f"{c} is not constant within {subject} (only subject-level "
                "covariates are supported)",
                column=c,
            )
        if subj_df[c].null_count():
            raise MMRMDataError(f"{c} missing for some subjects", column=c)
    subjects = subj_df[subject].to_numpy().astype(str)
    n, T = subjects.size, len(visits)
    armc = codes(subj_df[arm], arms)
    if np.any(armc < 0) or np.isnan(armc.astype(float)).any():
        raise MMRMDataError(f"arms not in arm_levels {arms}", column=arm)
    armc = armc.astype(np.int64)
    refc = np.array([arms.index(references[arms[a]]) for a in armc], dtype=np.int64)
    cov = (
        np.column_stack([subj_df[c].cast(pl.Float64).to_numpy() for c in covariates])
        if covariates
        else np.zeros((n, 0))
    )
    factor_levels, fac = {}, np.zeros((n, len(factors)), dtype=np.int64)
    for j, f in enumerate(factors):
        factor_levels[f] = levels(subj_df[f])
        fac[:, j] = codes(subj_df[f], factor_levels[f])

    rows = df.filter(pl.col(visit).is_not_null())
    sidx = np.searchsorted(subjects, rows[subject].to_numpy().astype(str))
    vis = codes(rows[visit], visits).astype(np.int64)
    if np.unique(sidx * T + vis).size != sidx.size:
        raise MMRMDataError(f"more than one row per {subject} x {visit}")
    y = rows[response].cast(pl.Float64).to_numpy()
    Y = np.full((n, T), np.nan)
    Y[sidx, vis] = y

    ice_idx = np.full(n, T, dtype=np.int64)
    strat = np.zeros(n, dtype=np.int64)
    if ice is not None and len(ice):
        ice = as_polars(ice)
        iv = ice_visit or visit
        for c in (subject, iv, ice_strategy):
            if c not in ice.columns:
                raise MMRMDataError(f"ICE data lack column {c!r}", column=c)
        ids = ice[subject].cast(pl.Utf8).to_numpy().astype(str)
        if np.unique(ids).size != ids.size:
            raise MMRMDataError("more than one ICE per subject (rbmi allows one)", column=subject)
        pos = np.searchsorted(subjects, ids)
        pos = np.minimum(pos, n - 1)
        if np.any(subjects[pos] != ids):
            raise MMRMDataError(
                f"ICE subjects not in the data: {sorted(set(ids) - set(subjects))[:5]}",
                column=subject,
            )
        vcode = codes(ice[iv], visits)
        if np.any(vcode < 0):
            raise MMRMDataError("ICE visits not in visit_order", column=iv)
        ice_idx[pos] = vcode.astype(np.int64)
        strat[pos] = [STRATEGIES.index(_norm_strategy(s)) for s in ice[ice_strategy].to_list()]
    lm = (strat == STRATEGIES.index("LMCF")) & (ice_idx == 0)
    if lm.any():
        raise MMRMDataError(
            f"LMCF needs at least one visit before the ICE (subjects {list(subjects[lm][:5])})"
        )
    return MIData(
        subjects=subjects,
        visits=visits,
        arms=arms,
        control=control,
        arm=armc,
        ref_arm=refc,
        Y=Y,
        cov=cov,
        fac=fac,
        covariates=covariates,
        factors=factors,
        factor_levels=factor_levels,
        ice=ice_idx,
        strategy=strat,
        names={"response": response, "subject": subject, "visit": visit, "arm": arm},
    )


def imputation_design(d: MIData, arm_codes=None, by_visit=True):
    """Fixed-effect design of the imputation model, shape (n, T, p), and column names.

    Columns (treatment coding): intercept, arm, visit, arm:visit, then per covariate
    ``c`` and ``c:visit`` (``by_visit``), per factor its dummies and their visit interactions.
    """
    n, T = d.n, d.T
    armc = d.arm if arm_codes is None else arm_codes
    A = len(d.arms)
    V = np.broadcast_to(np.eye(T)[None, :, 1:], (n, T, T - 1))  # visit dummies
    blocks, names = [np.ones((n, T, 1))], ["(Intercept)"]

    def add(u, label, interact):
        # u: (n,) subject-level column -> main effect and, if interact, u x visit dummies
        blocks.append(np.broadcast_to(u[:, None, None], (n, T, 1)))
        names.append(label)
        if interact:
            blocks.append(u[:, None, None] * V)
            names.extend(f"{label}:{d.names['visit']}{v}" for v in d.visits[1:])

    blocks.append(V)
    names.extend(f"{d.names['visit']}{v}" for v in d.visits[1:])
    for a in range(1, A):
        add((armc == a).astype(float), f"{d.names['arm']}{d.arms[a]}", True)
    for j, c in enumerate(d.covariates):
        add(d.cov[:, j], c, by_visit)
    for j, f in enumerate(d.factors):
        for lev in range(1, len(d.factor_levels[f])):
            add((d.fac[:, j] == lev).astype(float), f"{f}{d.factor_levels[f][lev]}", by_visit)
    return np.ascontiguousarray(np.concatenate(blocks, axis=2)), names


# ----------------------------------------------------------------------------------------------
# fitting the imputation model with the MMRM engine
# ----------------------------------------------------------------------------------------------
@dataclass
class _Fit:
    theta: np.ndarray
    beta: np.ndarray  # (p,) on the response scale
    sigma: np.ndarray  # (G, T, T)
    H: np.ndarray  # observed Hessian of the (scaled) log-likelihood at theta
    scale: float


class _ModelFitter:
    """REML/ML fits of the imputation model on the full data and on resamples of subjects.

    Resamples are given as counts per subject (bootstrap multiplicities, jackknife 0/1); the
    per-pattern sufficient statistics of the engine are recomputed with these weights, so a
    refit costs no per-subject work inside the optimiser.
    """

    def __init__(self, X, Yfit, group, n_groups, covariance="UN", reml=True):
        self.X, self.group, self.G = X, group, n_groups
        n, T, p = X.shape
        self.n, self.T, self.p = n, T, p
        self.obs = ~np.isnan(Yfit)
        yo = Yfit[self.obs]
        self.scale = float(np.std(yo)) if yo.size > 1 and np.std(yo) > 0 else 1.0
        self.Z = Yfit / self.scale
        self.structs = [CovStructure(covariance, T) for _ in range(n_groups)]
        self.reml = reml
        Xr = X[self.obs]
        XtX = Xr.T @ Xr
        sc = np.sqrt(np.diag(XtX))
        if np.any(sc == 0) or np.linalg.matrix_rank(XtX / np.outer(sc, sc), tol=1e-10) < p:
            raise MMRMDataError(
                "the imputation model's design is rank deficient (an arm x "
                "visit cell or a factor level x visit without data?)"
            )
        pats = build_patterns(X, self.Z, self.obs, group)
        self.base_patterns = pats
        # per-pattern raw rows for weighted recomputation
        self._raw = []
        for pat in pats:
            k = pat.vis.size
            Xf = X[np.ix_(pat.subjects, pat.vis)].reshape(pat.subjects.size, k * p)
            Yp = self.Z[np.ix_(pat.subjects, pat.vis)]
            self._raw.append((Xf, Yp))
        # each subject's pattern (-1: no observed value in the model data) and row in it
        self._pat_of = np.full(n, -1)
        self._row_of = np.full(n, -1)
        for j, pat in enumerate(pats):
            self._pat_of[pat.subjects] = j
            self._row_of[pat.subjects] = np.arange(pat.subjects.size)
        self._obs_per_subject = self.obs.sum(axis=1)
        self.full = None

    def _engine(self, patterns, n_obs=None):
        """The likelihood of ``patterns``; ``n_obs`` observations (default: the full data's)."""
        design = Design(
            Xs=self.X,
            Ys=self.Z,
            obs=self.obs,
            group=self.group,
            col_names=[],
            terms={},
            subjects=np.arange(self.n),
        )
        design.patterns = patterns
        eng = Engine(design, self.structs, reml=self.reml)
        if n_obs is not None:
            eng.N = int(n_obs)
        return eng

    def fit_full(self) -> _Fit:
        eng = self._engine(self.base_patterns)
        S_emp = empirical_start(
            Design(
                Xs=self.X,
                Ys=self.Z,
                obs=self.obs,
                group=self.group,
                col_names=[],
                terms={},
                subjects=np.arange(self.n),
            ),
            self.G,
        )
        theta0 = np.concatenate([s.start(S) for s, S in zip(self.structs, S_emp)])
        theta, H, ok, _, log = _optimise(eng, theta0)
        if not ok:
            raise ConvergenceError(
                "imputation model (MMRM) did not converge: "
                + "; ".join(f"{m}: {msg}" for m, msg in log)
            )
        self.full = self._result(eng, theta, H)
        self._Hinv = np.linalg.inv(-H)
        return self.full

    def _result(self, eng, theta, H):
        ev = eng.evaluate(theta)
        s = self.scale
        return _Fit(
            theta=theta,
            beta=ev["beta"] * s,
            sigma=np.array([S * s * s for S in ev["S"]]),
            H=H,
            scale=s,
        )

    def weighted_patterns(self, counts):
        """Patterns with subject weights ``counts`` (bootstrap multiplicities)."""
        out = []
        p = self.p
        for j, pat in enumerate(self.base_patterns):
            w = counts[pat.subjects]
            tot = int(w.sum())
            if tot == 0:
                continue
            Xf, Yp = self._raw[j]
            k = pat.vis.size
            Xw = Xf * w[:, None]
            AXX = (Xw.T @ Xf).reshape(k, p, k, p)
            AXy = (Xw.T @ Yp).reshape(k, p, k)
            Ayy = (Yp * w[:, None]).T @ Yp
            out.append(Pattern(pat.group, pat.vis, np.repeat(pat.subjects, w), AXX, AXy, Ayy))
        return out

    def without(self, members):
        """Patterns without the subjects ``members`` (a jackknife resample: one subject, or a
        group): the sufficient statistics of each pattern they are in downdated by their own
        contribution (a pattern left empty is dropped), the other patterns unchanged. The work is
        proportional to the members, not to the trial."""
        out = list(self.base_patterns)
        members = np.asarray(members, dtype=np.int64)
        pat_of = self._pat_of[members]
        members, pat_of = members[pat_of >= 0], pat_of[pat_of >= 0]
        empty = []
        p = self.p
        for j in np.unique(pat_of):
            pat = self.base_patterns[j]
            rows = self._row_of[members[pat_of == j]]
            keep = np.ones(pat.subjects.size, dtype=bool)
            keep[rows] = False
            if not keep.any():
                empty.append(j)
                continue
            Xf, Yp = self._raw[j]
            x, y = Xf[rows], Yp[rows]
            k = pat.vis.size
            out[j] = Pattern(
                pat.group,
                pat.vis,
                pat.subjects[keep],
                pat.AXX - (x.T @ x).reshape(k, p, k, p),
                pat.AXy - (x.T @ y).reshape(k, p, k),
                pat.Ayy - y.T @ y,
            )
        for j in sorted(empty, reverse=True):
            del out[j]
        return out

    def refit(self, counts=None, *, left_out=None, max_iter=60) -> _Fit:
        """REML/ML fit to a resample: subject multiplicities ``counts`` (bootstrap), or the
        data without the subjects ``left_out`` (jackknife; :meth:`without`). Quasi-Newton (BFGS)
        steps from the full-data estimate with the full-data observed information as the initial
        Hessian; stops when the step in theta (response scaled to SD 1) is below 1e-7
        (superlinear convergence: the error left is then about 1e-10)."""
        if left_out is None:
            pats, n_obs = self.weighted_patterns(counts), int(self._obs_per_subject @ counts)
        else:
            pats = self.without(left_out)
            n_obs = int(self._obs_per_subject.sum() - self._obs_per_subject[left_out].sum())
        eng = self._engine(pats, n_obs)
        theta = self.full.theta.copy()
        cur = eng.evaluate(theta, grad=True)
        ok = False
        Hk = self._Hinv.copy()
        if np.isfinite(cur["ll"]):
            for _ in range(max_iter):
                step = Hk @ cur["grad"]
                if np.max(np.abs(step)) < 1e-7:  # converged: the next step would be ~1e-10
                    theta = theta + step
                    ok = True
                    break
                t = 1.0
                while t > 1e-4:
                    cand = eng.evaluate(theta + t * step, grad=True)
                    if np.isfinite(cand["ll"]) and cand["ll"] >= cur["ll"] - 1e-12 * abs(cur["ll"]):
                        break
                    t /= 2
                else:
                    break
                sk, yk = t * step, cur["grad"] - cand["grad"]  # y: change of the gradient of -ll
                theta, cur = theta + sk, cand
                sy = float(sk @ yk)
                if sy > 0:  # BFGS update of the inverse Hessian (start: full-data information)
                    rho = 1.0 / sy
                    V = np.eye(sk.size) - rho * np.outer(sk, yk)
                    Hk = V @ Hk @ V.T + rho * np.outer(sk, sk)
        if not ok:
            theta, _H, ok, _, log = _optimise(eng, theta)
            if not ok:
                raise ConvergenceError(
                    "imputation model (MMRM) did not converge on a resample:"
                    + "; ".join(f"{m}: {msg}" for m, msg in log)
                )
        ev = eng.evaluate(theta)
        s = self.scale
        return _Fit(
            theta=theta,
            beta=ev["beta"] * s,
            sigma=np.array([S * s * s for S in ev["S"]]),
            H=None,
            scale=s,
        )


# ----------------------------------------------------------------------------------------------
# resampling helpers
# ----------------------------------------------------------------------------------------------
def _bootstrap_counts(rng, strata, B):
    """(B, n) multiplicities of a bootstrap of subjects stratified by ``strata``."""
    n = strata.size
    out = np.zeros((B, n), dtype=np.int64)
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        draws = rng.integers(0, members.size, size=(B, members.size))
        for b in range(B):
            out[b] += np.bincount(members[draws[b]], minlength=n)
    return out


def _bootstrap_rows(rng, strata, B):
    """(B, n) subject indices of a stratified bootstrap (each sample keeps the strata sizes)."""
    n = strata.size
    out = np.empty((B, n), dtype=np.int64)
    pos = 0
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        out[:, pos : pos + members.size] = members[
            rng.integers(0, members.size, size=(B, members.size))
        ]
        pos += members.size
    return out


# ----------------------------------------------------------------------------------------------
# Gibbs sampler (method="bayes")
# ----------------------------------------------------------------------------------------------
def _draw_invwishart(rng, nu, Psi):
    """One draw from IW(nu, Psi) (density prop. to |S|^{-(nu+T+1)/2} exp(-tr(Psi S^-1)/2)),
    via the Bartlett decomposition of the Wishart(nu, Psi^-1) precision."""
    T = Psi.shape[0]
    L = np.linalg.cholesky(np.linalg.inv(Psi))
    A = np.zeros((T, T))
    A[np.diag_indices(T)] = np.sqrt(rng.chisquare(nu - np.arange(T)))
    il = np.tril_indices(T, -1)
    A[il] = rng.standard_normal(il[0].size)
    LA = L @ A
    Wc = np.linalg.inv(LA)  # W = LA LA', S = W^-1 = Wc' Wc
    S = Wc.T @ Wc
    return 0.5 * (S + S.T)


def _gibbs(rng, X, Yfit, group, G, fit: _Fit, M, warmup, thin):
    """Data-augmentation Gibbs sampler; returns beta (M, p) and sigma (M, G, T, T)."""
    _n, T, p = X.shape
    obs = ~np.isnan(Yfit)
    # missingness patterns of the model data (with covariance group)
    code = group.astype(np.int64) * (1 << T) + (obs.astype(np.int64) << np.arange(T)).sum(1)
    pats = []
    for u in np.unique(code):
        rows = np.flatnonzero(code == u)
        o = np.flatnonzero(obs[rows[0]])
        m = np.flatnonzero(~obs[rows[0]])
        if m.size:
            pats.append(
                (
                    int(group[rows[0]]),
                    o.size > 0,
                    np.ix_(o, o),
                    np.ix_(o, m),
                    np.ix_(m, m),
                    np.ix_(rows, o),
                    np.ix_(rows, m),
                    Yfit[np.ix_(rows, o)],
                    rows.size,
                    m.size,
                )
            )
    nu0 = T + 2
    S0 = fit.sigma.copy()
    n_g = np.bincount(group, minlength=G)
    Yc = np.where(obs, Yfit, 0.0)
    beta, sigma = fit.beta.copy(), fit.sigma.copy()
    out_b = np.empty((M, p))
    out_s = np.empty((M, G, T, T))
    # complete-data cross products of the design per covariance group (fixed over iterations)
    sel = [group == g for g in range(G)]
    Xg_flat = [X[s].reshape(-1, T * p) for s in sel]
    GX = [
        (Xf.T @ Xf).reshape(T, p, T, p).transpose(0, 2, 1, 3).reshape(T * T, p * p)
        for Xf in Xg_flat
    ]
    # The design is sparse by visit: X[i, s, j] is zero for every subject unless column j is a main
    # effect or an interaction with visit s, so only the (visit, column) pairs in nzc (flat s * p + j)
    # enter X'y and X beta. Of Yc only the rows with a missing response change between iterations:
    # X'Yc = X'Y0 (observed responses, 0 where missing; fixed) + Xm'(Yc - Y0) over those rows.
    by_visit = _visit_columns(X)
    nzc = np.concatenate([t * p + j for t, j in enumerate(by_visit)])
    Y0 = np.where(obs, Yfit, 0.0)
    mrows = [np.flatnonzero(s & ~obs.all(axis=1)) for s in sel]
    H0 = [Xf[:, nzc].T @ Y0[s] for Xf, s in zip(Xg_flat, sel, strict=True)]
    Xm = [np.ascontiguousarray(X.reshape(-1, T * p)[r][:, nzc]) for r in mrows]
    del Xg_flat
    Xv = [np.ascontiguousarray(X[:, t, j]) for t, j in enumerate(by_visit)]
    mu = np.empty((_n, T))
    kept, it = 0, 0
    total = warmup + M * thin
    while kept < M:
        # 1. impute the missing model responses given (beta, sigma) under MAR
        for t, j in enumerate(by_visit):  # mu = X beta, (n, T)
            mu[:, t] = Xv[t] @ beta[j]
        for g, has_o, ioo, iom, imm, iro, irm, Yo, nk, nm in pats:
            S = sigma[g]
            if has_o:
                Som = S[iom]
                A = np.linalg.solve(S[ioo], Som).T  # (|m|, |o|)
                cm = mu[irm] + (Yo - mu[iro]) @ A.T
                C = S[imm] - A @ Som
            else:
                cm = mu[irm]
                C = S[imm]
            Lc = np.linalg.cholesky(0.5 * (C + C.T))
            Yc[irm] = cm + rng.standard_normal((nk, nm)) @ Lc.T
        # 2. sigma_g | beta, Y ~ IW(nu0 + n_g, S0_g + sum r r') (mu: the same beta)
        R = Yc - mu
        for g in range(G):
            Rg = R if G == 1 else R[sel[g]]
            sigma[g] = _draw_invwishart(rng, nu0 + n_g[g], S0[g] + Rg.T @ Rg)
        # 3. beta | sigma, Y ~ N(GLS, (sum X' S^-1 X)^-1)
        # sum_i X_i' W X_i = sum_st W_st G_st, sum_i X_i' W y_i = sum_st W_st H_st
        P = np.zeros((p, p))
        r = np.zeros(p)
        for g in range(G):
            W = np.linalg.inv(sigma[g])
            Hf = np.zeros((T * p, T))  # H[s, :, t] = sum_i X_is y_it
            Hf[nzc] = H0[g] + Xm[g].T @ (Yc[mrows[g]] - Y0[mrows[g]])
            H = Hf.reshape(T, p, T)
            P += (W.reshape(-1) @ GX[g]).reshape(p, p)
            r += np.einsum("st,spt->p", W, H)
        P = 0.5 * (P + P.T)
        Lp = np.linalg.cholesky(P)
        mean = np.linalg.solve(P, r)
        beta = mean + np.linalg.solve(Lp.T, rng.standard_normal(p))
        it += 1
        if it > warmup and (it - warmup) % thin == 0:
            out_b[kept], out_s[kept] = beta, sigma
            kept += 1
        if it > total + 10:  # pragma: no cover - guard
            break
    return out_b, out_s


# ----------------------------------------------------------------------------------------------
# imputation
# ----------------------------------------------------------------------------------------------
def _compute_sigma(S_own, S_ref, t):
    """Carpenter-Roger-Kenward covariance for JR/CIR: batched over leading axis (R, T, T)."""
    a = slice(0, t)
    b = slice(t, None)
    T11 = S_own[:, a, a]
    R11 = S_ref[:, a, a]
    R21 = S_ref[:, b, a]
    R22 = S_ref[:, b, b]
    K = np.linalg.solve(R11, np.swapaxes(R21, 1, 2))  # R11^-1 R12  (R, t, T-t)
    KT = np.swapaxes(K, 1, 2)  # R21 R11^-1
    S21 = KT @ T11
    S22 = R22 - KT @ (R11 - T11) @ K
    out = np.empty_like(S_own)
    out[:, a, a] = T11
    out[:, b, a] = S21
    out[:, a, b] = np.swapaxes(S21, 1, 2)
    out[:, b, b] = S22
    return out


def _joint(strategy, t, mu_own, mu_ref, S_own, S_ref, same_cov):
    """Mean (R, n_k, T) and covariance (R, T, T) of the subject's imputation distribution."""
    name = STRATEGIES[strategy]
    T = mu_own.shape[-1]
    if name == "MAR" or t >= T:
        return mu_own, S_own
    if name == "CR" or (t == 0 and name in ("JR", "CIR")):
        return mu_ref, S_ref
    if name == "LMCF":
        mu = mu_own.copy()
        mu[..., t:] = mu_own[..., t - 1 : t]
        return mu, S_own
    sigma = S_own if same_cov else _compute_sigma(S_own, S_ref, t)
    mu = mu_own.copy()
    if name == "JR":
        mu[..., t:] = mu_ref[..., t:]
    else:  # CIR
        mu[..., t:] = mu_own[..., t - 1 : t] + mu_ref[..., t:] - mu_ref[..., t - 1 : t]
    return mu, sigma


def _visit_columns(X) -> list[np.ndarray]:
    """Per visit t, the columns of the design ``X`` (n, T, p) not zero for some subject at t: the
    main effects and the interactions with visit t (the design is sparse by visit)."""
    return [np.flatnonzero((X[:, t, :] != 0).any(axis=0)) for t in range(X.shape[1])]


def _visit_design(X, rows) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per visit t, the columns j of :func:`_visit_columns` and ``X[rows, t, j]`` (n_r, |j|)."""
    return [(j, X[rows[:, None], t, j[None, :]]) for t, j in enumerate(_visit_columns(X))]


def _xbeta(design, beta) -> np.ndarray:
    """X[rows] beta for each parameter set, (R, n_r, T), from :func:`_visit_design` and ``beta``
    (R, p), visit by visit (the design is sparse by visit)."""
    n_r = design[0][1].shape[0]
    out = np.empty((beta.shape[0], n_r, len(design)))
    for t, (j, Xt) in enumerate(design):
        out[:, :, t] = beta[:, j] @ Xt.T
    return out


def _impute(d: MIData, X_own, X_ref, cov_group, beta, sigma, rows, D, rng, Y0=None, designs=None):
    """Impute the subjects ``rows`` under each of R parameter sets.

    ``beta`` (R, p), ``sigma`` (R, G, T, T). ``D = 0``: conditional mean (returns (R, 1, n_r,
    T)); else D random draws per parameter set (R, D, n_r, T). ``Y0``: the responses to complete
    (default ``d.Y``; a copy taken at imputation time when the completion is deferred).
    ``designs``: a dict kept between calls for the same ``rows`` and ``Y0`` (a deferred
    completion, called once per block of parameter sets): the rows of ``X_own`` and ``X_ref``
    it gathers are gathered once.
    """
    R = beta.shape[0]
    T = d.T
    Y = (d.Y if Y0 is None else Y0)[rows]
    n_r = rows.size
    out = np.empty((R, max(D, 1), n_r, T))
    out[...] = Y
    miss = np.isnan(Y)
    has = miss.any(axis=1)
    # the means only of the subjects with something to impute; at[i]: subject i's row in them
    sub, at = rows[has], np.cumsum(has) - 1
    designs = {} if designs is None else designs
    if "own" not in designs:
        designs["own"] = _visit_design(X_own, sub)
    mu_own = _xbeta(designs["own"], beta)
    if (d.strategy[sub] != 0).any():  # the reference arm's mean: reference-based strategies
        if "ref" not in designs:
            designs["ref"] = _visit_design(X_ref, sub)
        mu_ref = _xbeta(designs["ref"], beta)
    else:
        mu_ref = mu_own  # (not used under MAR)
    g_own = cov_group[d.arm[rows]]
    g_ref = cov_group[d.ref_arm[rows]]
    strat = d.strategy[rows]
    ice = d.ice[rows]
    # subjects whose imputation distribution does not depend on the ICE: normalise the key
    ice_key = np.where(strat == 0, T, ice)
    code = (
        (
            ((strat * (T + 1) + ice_key) * (cov_group.max() + 1) + g_own) * (cov_group.max() + 1)
            + g_ref
        )
        << T
    ) + (miss.astype(np.int64) << np.arange(T)).sum(1)
    for u in np.unique(code[has]):
        k = np.flatnonzero(code == u)
        i0 = k[0]
        s, t, go, gr = int(strat[i0]), int(ice_key[i0]), int(g_own[i0]), int(g_ref[i0])
        h = at[k]
        mu, S = _joint(s, t, mu_own[:, h], mu_ref[:, h], sigma[:, go], sigma[:, gr], go == gr)
        m = np.flatnonzero(miss[i0])
        o = np.flatnonzero(~miss[i0])
        if o.size:
            Soo = S[:, o][:, :, o]
            Som = S[:, o][:, :, m]
            A = np.swapaxes(np.linalg.solve(Soo, Som), 1, 2)  # (R, |m|, |o|)
            dev = Y[k][:, o][None] - mu[:, :, o]  # (R, n_k, |o|)
            cm = mu[:, :, m] + dev @ np.swapaxes(A, 1, 2)
        else:
            cm = mu[:, :, m]
        if D == 0:
            out[:, 0][:, k[:, None], m[None, :]] = cm
            continue
        C = S[:, m][:, :, m]
        if o.size:
            C = C - A @ Som
        C = 0.5 * (C + np.swapaxes(C, 1, 2))
        Lc = np.linalg.cholesky(C)  # (R, |m|, |m|)
        z = rng.standard_normal((R, D, k.size, m.size))
        draws = cm[:, None] + z @ np.swapaxes(Lc, 1, 2)[:, None]
        out[:, :, k[:, None], m[None, :]] = draws
    return out


# ----------------------------------------------------------------------------------------------
# the imputation object
# ----------------------------------------------------------------------------------------------
@dataclass
class Imputations:
    """Completed data sets and what is needed to analyse and pool them.

    ``Y`` has shape (R, D, n_r, T): R parameter sets (M draws, or 1 + n jackknife / 1 + G
    delete-a-group / 1 + B bootstrap refits, or B bootstrap samples), D imputations each, n_r
    rows. ``rows`` (R, n_r) maps rows to subjects of ``data`` when the rows differ between
    parameter sets (bmlmi); ``weights`` (R, n) gives subject multiplicities in the analysis
    (bootstrap counts) when they do not, and ``left_out`` (n,) the jackknife group of each
    subject (set r >= 1 leaves out group r - 1; leave one out: subject b is group b), so that
    the jackknife's weights are never held as an (R, n) matrix (:meth:`set_weights`).
    """

    data: MIData
    method: str
    Y: np.ndarray | None  # None: completed on demand, a block of parameter sets at a time
    rows: np.ndarray | None
    weights: np.ndarray | None
    left_out: np.ndarray | None = None
    resampling: str | None = None
    groups: int = 0  # condmean jackknife: 0 = leave one subject out; G = delete-a-group
    M: int = 0
    B: int = 0
    D: int = 1
    seed: int | None = None
    fit: _Fit | None = None
    draws_beta: np.ndarray | None = None
    draws_sigma: np.ndarray | None = None
    model: str = ""
    coef_names: list = field(default_factory=list)
    # deferred completion (large conditional-mean resamples): parameter sets r0:r1 -> Y block
    complete: Callable[[int, int], np.ndarray] | None = field(default=None, repr=False)
    # cells set after imputation in every completed data set (composite values): (rows, cols, val)
    overrides: tuple | None = field(default=None, repr=False)

    @property
    def n_sets(self) -> int:
        """R: the number of parameter sets (draws, or 1 + resamples)."""
        return self.draws_beta.shape[0] if self.Y is None else self.Y.shape[0]

    def set_weights(self, r0: int, r1: int) -> np.ndarray | None:
        """Subject weights (r1 - r0, n) in the analysis of parameter sets r0:r1 (None: all 1):
        the jackknife's 0 for the subjects its resample leaves out, the bootstrap's counts."""
        if self.left_out is not None:
            return (self.left_out[None, :] != np.arange(r0 - 1, r1 - 1)[:, None]).astype(float)
        return None if self.weights is None else self.weights[r0:r1]

    def block(self, r0: int, r1: int) -> np.ndarray:
        """Completed data sets of parameter sets r0:r1, shape (r1 - r0, D, n_r, T)."""
        if self.Y is not None:
            return self.Y[r0:r1]
        Y = self.complete(r0, r1)
        if self.overrides is not None:
            si, vi, val = self.overrides
            Y[:, :, si, vi] = val
        return Y

    def strategy_text(self) -> str:
        d = self.data
        parts = []
        for s in range(len(STRATEGIES)):
            sel = (d.strategy == s) & (d.ice < d.T)
            if sel.any():
                refs = sorted({d.arms[r] for r in d.ref_arm[sel]})
                lab = STRATEGIES[s] if STRATEGIES[s] != "JR" else "J2R"
                parts.append(
                    f"{lab} (n={int(sel.sum())}"
                    + (f", ref {'/'.join(refs)})" if s in (1, 2, 3) else ")")
                )
        return "; ".join(parts) if parts else "MAR"

    def method_text(self) -> str:
        lab = _METHOD_LABEL[self.method]
        if self.method in ("bayes", "approxbayes"):
            size = f"M={self.M}"
        elif self.method == "condmean":
            size = (
                f"bootstrap B={self.B}"
                if self.resampling != "jackknife"
                else f"delete-a-group jackknife, {self.groups} groups"
                if self.groups
                else "jackknife"
            )
        else:
            size = f"B={self.B}, D={self.D}"
        # the leave-one-out jackknife is deterministic; the grouped one's groups are seeded
        seeded = self.resampling != "jackknife" or self.groups
        seed = f", seed {self.seed}" if self.seed is not None and seeded else ""
        return f"{lab}, {size}{seed}; ICE strategy: {self.strategy_text()}; model {self.model}"


# The conditional-mean jackknife (rbmi ``method_condmean(type = "jackknife")``) refits the model
# once per subject and analyses n + 1 completed data sets: time quadratic in the trial's size.
# By default (``groups="auto"``) it leaves one subject out up to LOO_MAX_SUBJECTS subjects and
# above deletes AUTO_GROUPS groups (Kott 2001); the ARD's method text says which was used.
LOO_MAX_SUBJECTS = 2000
AUTO_GROUPS = 200
# completed data sets up to this many cells (R x n x T) are held at once; above it they are
# completed and analysed a block of parameter sets at a time (results identical; memory bounded)
EAGER_CELLS = 20_000_000


def jackknife_groups(
    arm: np.ndarray,
    groups="auto",
    seed=None,
    loo_max: int = LOO_MAX_SUBJECTS,
    auto_groups: int = AUTO_GROUPS,
) -> np.ndarray | None:
    """Group of each subject for the delete-a-group jackknife, or None (leave one out).

    ``groups``: ``"auto"`` (leave one out up to ``loo_max`` subjects, else ``auto_groups``
    groups), an int G, or None / ``"loo"`` (see :func:`impute`). Subjects are put in a seeded
    random order within arm and dealt out to the G groups in turn (arm by arm, continuing the
    count), so every group holds about n/G subjects and the arms in their trial proportions; the
    variance is (G - 1) / G * sum_g (theta_(g) - mean theta)^2 (Kott 2001, the delete-a-group
    jackknife), which with G = n is the leave-one-out jackknife.
    """
    n = arm.size
    if groups == "auto":
        groups = None if n <= loo_max else auto_groups
    if groups in (None, "loo") or int(groups) >= n:
        return None
    G = int(groups)
    if G < 2:
        raise ValueError("the delete-a-group jackknife needs at least 2 groups")
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.int64)
    start = 0
    for a in np.unique(arm):
        idx = np.flatnonzero(arm == a)
        idx = idx[rng.permutation(idx.size)]
        out[idx] = (start + np.arange(idx.size)) % G
        start += idx.size
    return out


class FitStore:
    """Imputation-model fits shared by the :func:`impute` calls of one run.

    Estimands whose imputation models fit the same data (J2R, CR, CIR and the hypothetical
    strategy all fit the on-treatment data; the treatment-policy MAR and the composite estimands
    all the observed data) need the model fitted once, its jackknife refits and its Gibbs draws
    made once. Each of these is a deterministic function of the model's data, its settings and
    the random generator's state before them, so what the store returns is bit for bit what a
    new fit would give; draws that use the generator also keep its state after them, and a call
    taking them from the store continues from that state. Stored arrays are read-only.
    """

    def __init__(self):
        self._items: dict = {}

    @staticmethod
    def model_key(X, Yfit, group, arm, G, covariance, reml) -> tuple:
        """The identity of an imputation model: a digest of its data and its settings."""
        h = hashlib.blake2b(digest_size=20)
        for a in (X, Yfit, group, arm):
            a = np.ascontiguousarray(a)
            h.update(repr((a.dtype.str, a.shape)).encode())
            h.update(a.tobytes())
        return (h.hexdigest(), int(G), covariance, bool(reml))

    def get(self, key, make: Callable):
        """The item ``key``, made by ``make()`` the first time."""
        if key not in self._items:
            item = make()
            _read_only(item)
            self._items[key] = item
        return self._items[key]

    def drawn(self, key, seed, rng, make: Callable):
        """Draws ``make()`` makes with ``rng``: from the store when a generator in the same
        state made them before (the state, not only the seed, is part of the key), leaving
        ``rng`` in the state the draws left it in. Unseeded draws are never stored (they differ
        by design)."""
        if seed is None:
            return make()
        before = repr(rng.bit_generator.state)
        item, state = self.get((*key, before), lambda: (make(), rng.bit_generator.state))
        rng.bit_generator.state = state
        return item


def _read_only(item):
    if isinstance(item, np.ndarray):
        item.flags.writeable = False
    elif isinstance(item, tuple):
        for a in item:
            _read_only(a)


def _fit_full(X, Yfit, group, G, covariance, reml):
    fitter = _ModelFitter(X, Yfit, group, G, covariance, reml)
    return fitter, fitter.fit_full()


def impute(
    data,
    ice=None,
    *,
    method="condmean",
    M=100,
    B=200,
    D=2,
    resampling="jackknife",
    groups="auto",
    loo_max=LOO_MAX_SUBJECTS,
    auto_groups=AUTO_GROUPS,
    seed=None,
    covariance="UN",
    group_covariance=False,
    reml=True,
    covariate_by_visit=True,
    warmup=200,
    thin=2,
    response="CHG",
    subject="USUBJID",
    visit="AVISIT",
    arm="ARM",
    visit_order=None,
    arm_levels=None,
    control=None,
    references=None,
    covariates=("BASE",),
    factors=("STRATUM",),
    ice_visit=None,
    ice_strategy="STRATEGY",
    fits: FitStore | None = None,
) -> Imputations:
    """Fit the imputation model and impute (see the module docstring for the methods).

    Parameters
    ----------
    data, ice, response, subject, visit, arm, visit_order, arm_levels, control, references,
    covariates, factors, ice_visit, ice_strategy
        See :func:`prepare` (``data`` may also be an :class:`MIData`).
    method : {"bayes", "approxbayes", "condmean", "bmlmi"}
    M : int, number of imputations (bayes, approxbayes).
    B, D : bootstrap samples (condmean bootstrap, bmlmi) and imputations per sample (bmlmi).
    resampling : {"jackknife", "bootstrap"}, for condmean.
    groups : the condmean jackknife's resamples: ``"auto"`` (leave one subject out up to
        ``loo_max`` subjects, else ``auto_groups`` groups), an int G (delete-a-group jackknife
        with G groups; G >= the number of subjects is leave one out) or None / ``"loo"`` (always
        leave one out). See :func:`jackknife_groups`. Each resample is a refit from the full
        data's sufficient statistics downdated by the subjects left out
        (:meth:`_ModelFitter.without`); its completed data set is made and analysed when
        needed, a block of resamples at a time (memory linear in n).
    seed : int, seed of the numpy Generator (all methods except condmean with the jackknife,
        which is deterministic).
    covariance : covariance structure of the imputation model (default UN; see
        :mod:`hepatrial.models.mmrm_cov`). ``bayes`` needs UN.
    group_covariance : separate covariance matrix per arm.
    reml : REML (default) or ML fits.
    covariate_by_visit : covariates and factors interact with visit (rbmi ``BASE*AVISIT``).
    warmup, thin : Gibbs sampler burn-in and thinning (bayes).
    fits : a :class:`FitStore` shared by the calls of one run: an imputation model whose data
        and settings a previous call fitted is taken from it (the full fit, the jackknife and
        bootstrap refits, the Gibbs draws), bit-identical to fitting it again.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    covariance = covariance.upper()
    if covariance not in STRUCTURES:
        raise ValueError(f"covariance must be one of {STRUCTURES}")
    if method == "bayes" and covariance != "UN":
        raise ValueError("method='bayes' is implemented for the UN covariance only")
    if method == "condmean" and resampling not in ("jackknife", "bootstrap"):
        raise ValueError("resampling must be 'jackknife' or 'bootstrap'")
    d = (
        data
        if isinstance(data, MIData)
        else prepare(
            data,
            ice,
            response=response,
            subject=subject,
            visit=visit,
            arm=arm,
            visit_order=visit_order,
            arm_levels=arm_levels,
            control=control,
            references=references,
            covariates=covariates,
            factors=factors,
            ice_visit=ice_visit,
            ice_strategy=ice_strategy,
        )
    )
    rng = np.random.default_rng(seed)
    X_own, names = imputation_design(d, by_visit=covariate_by_visit)
    X_ref, _ = imputation_design(d, d.ref_arm, by_visit=covariate_by_visit)
    A = len(d.arms)
    cov_group = np.arange(A) if group_covariance else np.zeros(A, dtype=np.int64)
    G = A if group_covariance else 1
    group = cov_group[d.arm]
    Yfit = d.fit_response()
    fits = FitStore() if fits is None else fits
    model_key = fits.model_key(X_own, Yfit, group, d.arm, G, covariance, reml)
    fitter, fit = fits.get(
        (model_key, "fit"), lambda: _fit_full(X_own, Yfit, group, G, covariance, reml)
    )
    all_rows = np.arange(d.n)
    n = d.n
    nm = d.names
    terms = [f"{nm['arm']}*{nm['visit']}"] + [
        f"{c}*{nm['visit']}" if covariate_by_visit else c for c in d.covariates + d.factors
    ]
    model = (
        f"{nm['response']} ~ {' + '.join(terms)}, {covariance}"
        + (" by arm" if group_covariance else "")
        + (" REML" if reml else " ML")
    )
    kw = {
        "data": d,
        "method": method,
        "seed": seed,
        "fit": fit,
        "model": model,
        "coef_names": names,
    }

    if method == "condmean":
        n_groups, left_out, W = 0, None, None
        if resampling == "jackknife":
            group_of = jackknife_groups(d.arm, groups, seed, loo_max, auto_groups)
            if group_of is None:  # leave one subject out: subject b is group b
                left_out = np.arange(n)
            else:  # delete a group
                n_groups, left_out = int(group_of.max()) + 1, group_of

            def jackknife():
                betas, sigmas = [fit.beta], [fit.sigma]
                order = np.argsort(left_out, kind="stable")
                bounds = np.searchsorted(left_out[order], np.arange(int(left_out.max()) + 2))
                for g in range(bounds.size - 1):
                    r = fitter.refit(left_out=order[bounds[g] : bounds[g + 1]])
                    betas.append(r.beta)
                    sigmas.append(r.sigma)
                return np.array(betas), np.array(sigmas)

            betas, sigmas = fits.get((model_key, "jackknife", left_out.tobytes()), jackknife)
            Bn = 0
        else:

            def bootstrap():
                betas, sigmas = [fit.beta], [fit.sigma]
                counts = _bootstrap_counts(rng, d.arm, B)
                for b in range(B):
                    r = fitter.refit(counts[b])
                    betas.append(r.beta)
                    sigmas.append(r.sigma)
                W = np.vstack([np.ones((1, n)), counts]).astype(float)
                return np.array(betas), np.array(sigmas), W

            betas, sigmas, W = fits.drawn((model_key, "bootstrap", B), seed, rng, bootstrap)
            Bn = B
        complete = None
        if betas.shape[0] * n * d.T <= EAGER_CELLS:
            Yc = _impute(d, X_own, X_ref, cov_group, betas, sigmas, all_rows, 0, rng)
        else:  # completed a block of resamples at a time (memory linear in n, not n^2)
            Yc, Y0, designs = None, d.Y.copy(), {}

            def complete(r0, r1):
                b, sg = betas[r0:r1], sigmas[r0:r1]
                return _impute(
                    d, X_own, X_ref, cov_group, b, sg, all_rows, 0, rng, Y0=Y0, designs=designs
                )

        return Imputations(
            Y=Yc,
            rows=None,
            weights=W,
            left_out=left_out,
            resampling=resampling,
            groups=n_groups,
            B=Bn,
            D=1,
            draws_beta=betas,
            draws_sigma=sigmas,
            complete=complete,
            **kw,
        )

    if method == "bayes":
        betas, sigmas = fits.drawn(
            (model_key, "bayes", M, warmup, thin),
            seed,
            rng,
            lambda: _gibbs(rng, X_own, Yfit, group, G, fit, M, warmup, thin),
        )
    elif method == "approxbayes":

        def approxbayes():
            counts = _bootstrap_counts(rng, d.arm, M)
            refits = [fitter.refit(counts[m]) for m in range(M)]
            return np.array([f.beta for f in refits]), np.array([f.sigma for f in refits])

        betas, sigmas = fits.drawn((model_key, "approxbayes", M), seed, rng, approxbayes)
    if method in ("bayes", "approxbayes"):
        Yc = _impute(d, X_own, X_ref, cov_group, betas, sigmas, all_rows, 1, rng)
        return Imputations(
            Y=Yc[:, :1],
            rows=None,
            weights=None,
            M=M,
            D=1,
            draws_beta=betas,
            draws_sigma=sigmas,
            **kw,
        )

    # bmlmi: B bootstrap samples, each refitted and imputed D times
    if D < 2:
        raise ValueError("bmlmi needs D >= 2 imputations per bootstrap sample")
    rows = _bootstrap_rows(rng, d.arm, B)
    Ys, betas, sigmas = [], [], []
    for b in range(B):
        r = fitter.refit(np.bincount(rows[b], minlength=n))
        Ys.append(
            _impute(d, X_own, X_ref, cov_group, r.beta[None], r.sigma[None], rows[b], D, rng)[0]
        )
        betas.append(r.beta)
        sigmas.append(r.sigma)
    return Imputations(
        Y=np.array(Ys),
        rows=rows,
        weights=None,
        B=B,
        D=D,
        draws_beta=np.array(betas),
        draws_sigma=np.array(sigmas),
        **kw,
    )


# ----------------------------------------------------------------------------------------------
# analysis: ANCOVA per visit, vectorised over completed data sets
# ----------------------------------------------------------------------------------------------
@dataclass
class Analysis:
    """Per completed data set (R, D) and visit: differences (arm vs control) and LS means."""

    imputations: Imputations
    diff: np.ndarray  # (R, D, A-1, T)
    diff_se: np.ndarray  # NaN for condmean: its SE is the spread of the resamples' estimates
    lsm: np.ndarray  # (R, D, A, T)
    lsm_se: np.ndarray
    df: np.ndarray  # (R, D)
    test_arms: list
    n_arm: np.ndarray  # (A,) subjects per arm in the original data
    weights: str
    delta_text: str = ""


def _analysis_Z(d: MIData, covariates, factors):
    """ANCOVA design (n, q): intercept, arm dummies (non-control arms), covariates, factor
    dummies. Returns Z, arm columns, covariate columns, factor column groups."""
    n = d.n
    test = [a for a in d.arms if a != d.control]
    cols = [np.ones(n)]
    arm_cols = []
    for a in test:
        arm_cols.append(len(cols))
        cols.append((d.arm == d.arms.index(a)).astype(float))
    cov_cols = []
    for c in covariates:
        cov_cols.append(len(cols))
        cols.append(d.cov[:, d.covariates.index(c)])
    fac_cols = []
    for f in factors:
        j = d.factors.index(f)
        grp = []
        for lev in range(1, len(d.factor_levels[f])):
            grp.append(len(cols))
            cols.append((d.fac[:, j] == lev).astype(float))
        fac_cols.append(grp)
    return np.column_stack(cols), test, arm_cols, cov_cols, fac_cols


def _delta_matrix(imp: Imputations, delta):
    """(n, T) shift added to imputed values. ``delta``: None, a number (all imputed values),
    dict arm -> number, or a DataFrame (subject, visit, delta) as rbmi's ``delta_template``."""
    d = imp.data
    Dm = np.zeros((d.n, d.T))
    if delta is None:
        return Dm, ""
    miss = d.missing
    if isinstance(delta, (int, float)):
        Dm[miss] = float(delta)
        return Dm, f"delta {float(delta):+g} on all imputed values"
    if isinstance(delta, dict):
        for a, v in delta.items():
            sel = (d.arm == d.arms.index(a))[:, None] & miss
            Dm[sel] = float(v)
        txt = ", ".join(f"{a} {float(v):+g}" for a, v in delta.items())
        return Dm, f"delta on imputed values: {txt}"
    df = as_polars(delta)
    s, v = d.names["subject"], d.names["visit"]
    pos = np.searchsorted(d.subjects, df[s].cast(pl.Utf8).to_numpy().astype(str))
    vis = codes(df[v], d.visits)
    Dm[pos, vis] = df["delta"].cast(pl.Float64).to_numpy()
    Dm[~miss] = 0.0  # rbmi's template applies the user's delta; we restrict it to imputed cells
    return Dm, "delta adjustment by subject and visit"


def analyse(
    imp: Imputations, covariates=None, factors=None, delta=None, weights="counterfactual"
) -> Analysis:
    """ANCOVA per visit of every completed data set (``CHG ~ ARM + covariates + factors``).

    ``covariates``/``factors`` default to those of the imputation model. ``delta``: see
    :func:`_delta_matrix` (added to imputed values only). ``weights``: ``"counterfactual"``
    (rbmi default: LS mean = mean prediction over the analysed subjects with the arm set) or
    ``"equal"`` (covariate means, equal weights over factor levels; emmeans / SAS).
    """
    return analyse_deltas(imp, [delta], covariates, factors, weights)[0]


def analyse_deltas(
    imp: Imputations, deltas, covariates=None, factors=None, weights="counterfactual"
) -> list[Analysis]:
    """:func:`analyse` for each of ``deltas`` in one pass over the completed data sets: a block of
    parameter sets is completed once (when the completion is deferred) and analysed with every
    delta, then only the per-set results are kept. The results are those of :func:`analyse`
    with each delta."""
    if weights not in ("counterfactual", "equal"):
        raise ValueError("weights must be 'counterfactual' or 'equal'")
    d = imp.data
    covariates = d.covariates if covariates is None else list(covariates)
    factors = d.factors if factors is None else list(factors)
    Z, test, arm_cols, cov_cols, fac_cols = _analysis_Z(d, covariates, factors)
    shifts = [_delta_matrix(imp, dl) for dl in deltas]
    R = imp.n_sets
    n_r = d.n if imp.rows is None else imp.rows.shape[1]
    Dd = imp.D if imp.Y is None else imp.Y.shape[1]
    per_set = Dd * n_r * max(d.T, Z.shape[1])
    step = R if imp.Y is not None and R * per_set <= EAGER_CELLS else max(1, EAGER_CELLS // per_set)
    parts = [[] for _ in shifts]
    for r0 in range(0, R, step):
        Yb = imp.block(r0, min(R, r0 + step))
        design = _ancova_design(imp, Yb.shape, r0, Z, arm_cols, cov_cols, fac_cols, weights)
        for j, (Dm, _) in enumerate(shifts):
            parts[j].append(_ancova(design, Yb, Dm))
        del Yb
    out = []
    for part, (_, dtxt) in zip(parts, shifts):
        diff, diff_se, lsm, lsm_se, dfr = (np.concatenate(x, axis=0) for x in zip(*part))
        out.append(
            Analysis(
                imputations=imp,
                diff=diff,
                diff_se=diff_se,
                lsm=lsm,
                lsm_se=lsm_se,
                df=dfr,
                test_arms=test,
                n_arm=np.bincount(d.arm, minlength=len(d.arms)),
                weights=weights,
                delta_text=dtxt,
            )
        )
    return out


@dataclass
class _AncovaDesign:
    """What the ANCOVA of a block of completed data sets needs besides the responses: the design
    (RD, n, q) with its weighted cross products and inverse, and the LS-mean contrasts."""

    shape: tuple  # (R, D)
    rows: np.ndarray | None  # (R, n_r) subjects of each set's rows (bmlmi), else None
    Zr: np.ndarray
    w: np.ndarray
    ZWt: np.ndarray
    inv: np.ndarray
    dfr: np.ndarray
    Ls: np.ndarray
    quad: np.ndarray
    diag: np.ndarray
    arm_cols: list
    se: bool  # the SEs of each set (not used by the conditional-mean pooling: NaN there)


def _ancova_design(imp, shape, r0, Z, arm_cols, cov_cols, fac_cols, weights) -> _AncovaDesign:
    """The response-free part of the ANCOVA of parameter sets r0:r0 + R (``shape`` (R, D, n_r,
    T)), shared by every delta."""
    d = imp.data
    test = [a for a in d.arms if a != d.control]  # the order of arm_cols (_analysis_Z)
    R, Dd, n_r, _T = shape
    rows = None
    if imp.rows is not None:
        rows = imp.rows[r0 : r0 + R]
        Zr = np.repeat(Z[rows], Dd, axis=0)  # (R*D, n, q)
        w = np.ones((R * Dd, n_r))
    else:
        Zr = np.broadcast_to(Z, (R * Dd,) + Z.shape)
        wb = imp.set_weights(r0, r0 + R)
        w = np.ones((R * Dd, n_r)) if wb is None else np.repeat(wb, Dd, axis=0)
    q = Z.shape[1]
    ZW = Zr * w[:, :, None]
    ZWt = np.swapaxes(ZW, 1, 2)
    ZtZ = ZWt @ Zr
    inv = np.linalg.inv(ZtZ)
    nw = w.sum(axis=1)
    dfr = nw - q
    # LS means
    A = len(d.arms)
    base = np.zeros((R * Dd, q))
    base[:, 0] = 1.0
    for c in cov_cols:
        base[:, c] = (w * Zr[:, :, c]).sum(1) / nw
    for grp in fac_cols:
        for c in grp:
            base[:, c] = (
                (w * Zr[:, :, c]).sum(1) / nw
                if weights == "counterfactual"
                else 1.0 / (len(grp) + 1)
            )
    Ls = np.repeat(base[:, None, :], A, axis=1)  # (RD, A, q)
    for a, arm_name in enumerate(d.arms):
        if arm_name != d.control:
            Ls[:, a, arm_cols[test.index(arm_name)]] = 1.0
    quad = ((Ls @ inv) * Ls).sum(axis=2)
    diag = inv[:, arm_cols, arm_cols]  # (RD, A-1)
    se = imp.method != "condmean"
    return _AncovaDesign((R, Dd), rows, Zr, w, ZWt, inv, dfr, Ls, quad, diag, arm_cols, se)


def _ancova(des: _AncovaDesign, Yb, Dm):
    """The ANCOVA of completed data sets ``Yb`` shifted by ``Dm``: differences, their SEs, LS
    means, their SEs, residual df, each shaped (sets, D, ...)."""
    R, Dd, n_r, T = Yb.shape
    Y = Yb.reshape(R * Dd, n_r, T)
    if des.rows is not None:
        Y = Y + np.repeat(Dm[des.rows], Dd, axis=0)
    else:
        Y = Y + Dm[None]
    w = des.w
    ZtY = des.ZWt @ Y
    coef = des.inv @ ZtY  # (RD, q, T)
    lsm = des.Ls @ coef
    diff = coef[:, des.arm_cols, :]  # (RD, A-1, T)
    if des.se:
        res = Y - des.Zr @ coef
        s2 = (w[:, None, :] @ (res * res))[:, 0, :] / des.dfr[:, None]  # (RD, T)
        lsm_se = np.sqrt(des.quad[:, :, None] * s2[:, None, :])
        diff_se = np.sqrt(des.diag[:, :, None] * s2[:, None, :])
    else:
        lsm_se, diff_se = np.full(lsm.shape, np.nan), np.full(diff.shape, np.nan)
    sh = (R, Dd)
    return (
        diff.reshape(sh + diff.shape[1:]),
        diff_se.reshape(sh + diff_se.shape[1:]),
        lsm.reshape(sh + lsm.shape[1:]),
        lsm_se.reshape(sh + lsm.shape[1:]),
        des.dfr.reshape(sh),
    )


# ----------------------------------------------------------------------------------------------
# pooling
# ----------------------------------------------------------------------------------------------
def rubin_rules(est, se, df_com):
    """Rubin's rules with the Barnard-Rubin (1999) df, over the first axis.

    Returns estimate, total SE, df, and the within / between variances (as rbmi
    ``rubin_rules``: ``df_com`` infinite gives the classical ``(M-1)/lambda^2``).
    """
    est, se = np.asarray(est, float), np.asarray(se, float)
    M = est.shape[0]
    qbar = est.mean(axis=0)
    W = np.mean(se**2, axis=0)
    Bv = est.var(axis=0, ddof=1) if M > 1 else np.zeros_like(qbar)
    Tv = W + (1 + 1 / M) * Bv
    df_com = np.broadcast_to(np.asarray(df_com, float), qbar.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (1 + 1 / M) * Bv / Tv
        v_old = np.where(lam > 0, (M - 1) / lam**2, np.inf)
        v_obs = np.where(
            np.isfinite(df_com), (df_com + 1) / (df_com + 3) * df_com * (1 - lam), np.inf
        )
        df = np.where(
            np.isinf(v_old),
            v_obs,
            np.where(np.isinf(v_obs), v_old, v_old * v_obs / (v_old + v_obs)),
        )
    return qbar, np.sqrt(Tv), df, W, Bv


def _ci_p(est, se, df, alpha):
    est, se, df = np.broadcast_arrays(*(np.asarray(x, float) for x in (est, se, df)))
    fin = np.isfinite(df)
    dfx = np.where(fin, df, 1.0)
    q = np.where(fin, special.stdtrit(dfx, 1 - alpha / 2), special.ndtri(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    p = np.where(fin, 2 * special.stdtr(dfx, -np.abs(t)), 2 * special.ndtr(-np.abs(t)))
    return est - q * se, est + q * se, p


def _quantile6(x, probs):
    """Quantiles of type 6 (R ``quantile(type = 6)``: p(k) = k / (n + 1))."""
    x = np.sort(x)
    n = x.size
    h = (n + 1) * np.asarray(probs)
    lo = np.clip(np.floor(h).astype(int), 1, n)
    hi = np.clip(lo + 1, 1, n)
    frac = np.clip(h - np.floor(h), 0, 1)
    frac = np.where(h < 1, 0.0, np.where(h >= n, 0.0, frac))
    lo = np.where(h >= n, n, lo)
    return x[lo - 1] + frac * (x[hi - 1] - x[lo - 1])


def _percentile_p(x):
    """Two-sided p of the percentile bootstrap test of 0 (inverts the type-6 CI, as rbmi)."""
    if np.all(x == 0):
        return 1.0
    if x.min() > 0 or x.max() < 0:
        return 0.0
    xs = np.sort(x)
    n = xs.size
    if np.any(xs == 0):
        ranks = np.arange(1, n + 1) / (n + 1)
        pg, pl_ = ranks[xs == 0].min(), 1 - ranks[xs == 0].max()
        return min(2 * min(pg, pl_), 1.0)
    # the type-6 quantile function is increasing; find q with Q(q) = 0
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _quantile6(xs, mid) < 0:
            lo = mid
        else:
            hi = mid
    q = 0.5 * (lo + hi)
    return min(2 * min(q, 1 - q), 1.0)


def _pool_one(an: Analysis, est, se, alpha, boot_ci):
    """Pool one quantity; est/se shaped (R, D, ...). Returns est, se, df, lower, upper, p."""
    imp = an.imputations
    df_com = an.df[:, :, None, None] * np.ones_like(est)
    if imp.method in ("bayes", "approxbayes"):
        e, s, df, _, _ = rubin_rules(est[:, 0], se[:, 0], df_com[0, 0])
        lo, hi, p = _ci_p(e, s, df, alpha)
        return e, s, df, lo, hi, p
    if imp.method == "condmean":
        e = est[0, 0]
        reps = est[1:, 0]
        if imp.resampling == "jackknife":
            n = reps.shape[0]
            s = np.sqrt((n - 1) / n * ((reps - reps.mean(axis=0)) ** 2).sum(axis=0))
        else:
            s = reps.std(axis=0, ddof=1)
        df = np.full_like(e, np.inf)
        if imp.resampling == "bootstrap" and boot_ci == "percentile":
            flat = reps.reshape(reps.shape[0], -1)
            lo = np.array([_quantile6(flat[:, j], alpha / 2) for j in range(flat.shape[1])])
            hi = np.array([_quantile6(flat[:, j], 1 - alpha / 2) for j in range(flat.shape[1])])
            p = np.array([_percentile_p(flat[:, j]) for j in range(flat.shape[1])])
            return (
                e,
                np.full_like(e, np.nan),
                df,
                lo.reshape(e.shape),
                hi.reshape(e.shape),
                p.reshape(e.shape),
            )
        lo, hi, p = _ci_p(e, s, df, alpha)
        return e, s, df, lo, hi, p
    # bmlmi (von Hippel & Bartlett 2021, 8.4 and 8.6; rbmi get_ests_bmlmi)
    Bn, Dn = est.shape[0], est.shape[1]
    e = est.mean(axis=(0, 1))
    rowm = est.mean(axis=1)
    MSW = ((est - rowm[:, None]) ** 2).sum(axis=(0, 1)) / (Bn * (Dn - 1))
    MSB = Dn * ((rowm - e) ** 2).sum(axis=0) / (Bn - 1)
    var = (1 + 1 / Bn) * (MSB - MSW) / Dn + MSW / (Bn * Dn)
    df = var**2 / (
        ((Bn + 1) / (Bn * Dn)) ** 2 * MSB**2 / (Bn - 1) + MSW**2 / (Bn * Dn**2 * (Dn - 1))
    )
    df = np.maximum(3.0, df)
    s = np.sqrt(np.maximum(var, 0.0))
    lo, hi, p = _ci_p(e, s, df, alpha)
    return e, s, df, lo, hi, p


def pool_method_text(imp: Imputations, boot_ci="normal") -> str:
    if imp.method in ("bayes", "approxbayes"):
        return "Rubin's rules, Barnard-Rubin df"
    if imp.method == "condmean":
        if imp.resampling == "jackknife":
            return (
                f"delete-a-group jackknife SE ({imp.groups} groups), normal CI"
                if imp.groups
                else "jackknife SE, normal CI"
            )
        return "bootstrap percentile CI" if boot_ci == "percentile" else "bootstrap SE, normal CI"
    return "von Hippel-Bartlett pooling"


def pool(an: Analysis, alpha=0.05, boot_ci="normal") -> pl.DataFrame:
    """Pool the per-data-set results.

    Returns a polars DataFrame, one row per (analysis, arm, visit): ``analysis`` is
    ``MI_DIFF`` (arm minus ``comparator``) or ``MI_LSMEAN``; columns ``estimate, se, df, lower,
    upper, p`` (``p`` tests 0), ``n`` (subjects per arm, LS means), ``method``.
    Inference: Rubin's rules with Barnard-Rubin df (bayes, approxbayes); jackknife or bootstrap
    SE with normal quantiles, or bootstrap percentiles (``boot_ci="percentile"``) (condmean);
    von Hippel & Bartlett (bmlmi).
    """
    if boot_ci not in ("normal", "percentile"):
        raise ValueError("boot_ci must be 'normal' or 'percentile'")
    imp = an.imputations
    d = imp.data
    method = f"{imp.method_text()}; ANCOVA per visit; {pool_method_text(imp, boot_ci)}"
    if an.delta_text:
        method += f"; {an.delta_text}"
    recs = []
    e, s, df, lo, hi, p = _pool_one(an, an.diff, an.diff_se, alpha, boot_ci)
    for j, a in enumerate(an.test_arms):
        for v, vis in enumerate(d.visits):
            recs.append(
                {
                    "analysis": "MI_DIFF",
                    "arm": a,
                    "comparator": d.control,
                    "avisit": str(vis),
                    "n": None,
                    "estimate": e[j, v],
                    "se": s[j, v],
                    "df": df[j, v],
                    "lower": lo[j, v],
                    "upper": hi[j, v],
                    "p": p[j, v],
                    "method": method,
                }
            )
    e, s, df, lo, hi, p = _pool_one(an, an.lsm, an.lsm_se, alpha, boot_ci)
    for a, arm_name in enumerate(d.arms):
        for v, vis in enumerate(d.visits):
            recs.append(
                {
                    "analysis": "MI_LSMEAN",
                    "arm": arm_name,
                    "comparator": "",
                    "avisit": str(vis),
                    "n": int(an.n_arm[a]),
                    "estimate": e[a, v],
                    "se": s[a, v],
                    "df": df[a, v],
                    "lower": lo[a, v],
                    "upper": hi[a, v],
                    "p": p[a, v],
                    "method": method,
                }
            )
    return pl.DataFrame(
        recs,
        schema={
            "analysis": pl.Utf8,
            "arm": pl.Utf8,
            "comparator": pl.Utf8,
            "avisit": pl.Utf8,
            "n": pl.Int64,
            "estimate": pl.Float64,
            "se": pl.Float64,
            "df": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "p": pl.Float64,
            "method": pl.Utf8,
        },
    )


def mcse(an: Analysis, alpha=0.05) -> pl.DataFrame:
    """Monte Carlo SE of the pooled estimate, SE and p of random MI (bayes, approxbayes): the
    jackknife over imputations (Royston et al. 2009; rbmi ``mcse``)."""
    imp = an.imputations
    if imp.method not in ("bayes", "approxbayes"):
        raise ValueError("MCSE applies to random MI with Rubin's rules (bayes, approxbayes)")
    M = an.diff.shape[0]
    out = []
    for name, est, se in (("MI_DIFF", an.diff, an.diff_se), ("MI_LSMEAN", an.lsm, an.lsm_se)):
        dfc = an.df[:, :, None, None] * np.ones_like(est)
        vals = []
        for m in range(M):
            keep = np.arange(M) != m
            e, s, df, _, _ = rubin_rules(est[keep, 0], se[keep, 0], dfc[0, 0])
            _, _, p = _ci_p(e, s, df, alpha)
            vals.append(np.stack([e, s, p]))
        vals = np.array(vals)
        mc = np.sqrt((M - 1) / M * ((vals - vals.mean(axis=0)) ** 2).sum(axis=0))
        arms = an.test_arms if name == "MI_DIFF" else imp.data.arms
        for j, a in enumerate(arms):
            for v, vis in enumerate(imp.data.visits):
                out.append(
                    {
                        "analysis": name,
                        "arm": a,
                        "avisit": str(vis),
                        "mcse_estimate": mc[0, j, v],
                        "mcse_se": mc[1, j, v],
                        "mcse_p": mc[2, j, v],
                    }
                )
    return pl.DataFrame(out)


# ----------------------------------------------------------------------------------------------
# tipping point
# ----------------------------------------------------------------------------------------------
def tipping_point(
    imp: Imputations,
    deltas,
    arms=None,
    alpha=0.05,
    covariates=None,
    factors=None,
    weights="counterfactual",
    boot_ci="normal",
) -> pl.DataFrame:
    """Delta-adjustment tipping-point analysis of the treatment differences.

    For each ``delta`` of the grid the shift is added to every imputed value of the subjects
    in ``arms`` (default: the non-control arms), the completed data are re-analysed and
    pooled (no re-imputation, as rbmi and the five macros). Returns one row per (delta, arm,
    visit): ``estimate, se, df, lower, upper, p, significant``, and per (arm, visit) the
    column ``tipping_delta``: the first delta of the grid, in the order given, at which the
    result is no longer significant at ``alpha`` while the result at delta 0 (or the first
    grid value) was (NaN if it never tips).
    """
    d = imp.data
    arms = [a for a in d.arms if a != d.control] if arms is None else list(arms)
    analyses = analyse_deltas(imp, tipping_shifts(deltas, arms), covariates, factors, weights)
    return tipping_table(analyses, deltas, arms, alpha, boot_ci)


def tipping_shifts(deltas, arms) -> list[dict]:
    """The ``delta`` of :func:`analyse` for each value of a tipping-point grid."""
    return [{a: float(dv) for a in arms} for dv in deltas]


def tipping_table(analyses, deltas, arms, alpha=0.05, boot_ci="normal") -> pl.DataFrame:
    """The table of :func:`tipping_point` from the analyses with each delta of the grid
    (:func:`analyse_deltas` with :func:`tipping_shifts`)."""
    frames = []
    for dv, an in zip(deltas, analyses, strict=True):
        pr = pool(an, alpha, boot_ci).filter(pl.col("analysis") == "MI_DIFF")
        frames.append(pr.with_columns(pl.lit(float(dv)).alias("delta")))
    out = pl.concat(frames).with_columns((pl.col("p") < alpha).alias("significant"))
    tips = []
    for (a, v), g in out.group_by(["arm", "avisit"], maintain_order=True):
        sig = g["significant"].to_list()
        dl = g["delta"].to_list()
        tip = np.nan
        if sig and sig[0]:
            for s_, dv in zip(sig, dl):
                if not s_:
                    tip = dv
                    break
        tips.append({"arm": a, "avisit": v, "tipping_delta": tip})
    tip_df = pl.DataFrame(
        tips, schema={"arm": pl.Utf8, "avisit": pl.Utf8, "tipping_delta": pl.Float64}
    )
    shifted = ", ".join(arms)
    return (
        out.join(tip_df, on=["arm", "avisit"], how="left")
        .with_columns(
            (
                pl.col("method").str.replace(r"; delta on imputed values: .*$", "")
                + pl.lit(f"; tipping point: delta added to imputed values in {shifted}")
            ).alias("method")
        )
        .select(
            [
                "delta",
                "analysis",
                "arm",
                "comparator",
                "avisit",
                "estimate",
                "se",
                "df",
                "lower",
                "upper",
                "p",
                "significant",
                "tipping_delta",
                "method",
            ]
        )
    )


# ----------------------------------------------------------------------------------------------
# ARD
# ----------------------------------------------------------------------------------------------
def mi_ard_rows(
    pooled: pl.DataFrame, paramcd: str, population: str, tipping: pl.DataFrame | None = None
) -> list[dict]:
    """ARD rows (schema of :mod:`hepatrial.ard`) for pooled MI results and a tipping analysis.

    * ``MI_DIFF``: stats ``estimate, se, df, lower, upper, p`` (arm vs comparator, per visit).
    * ``MI_LSMEAN``: ``n, lsmean, se, df, lower, upper`` (as ``MMRM_LSMEAN``).
    * ``TIPPING``: per delta ``estimate, lower, upper, p``, the delta in the ``time`` column
      (outcome units, not days); and one ``tipping_delta`` row per (arm, visit) with empty
      ``time`` (NaN when the result does not tip within the grid).
    """
    rows = []
    for r in pooled.iter_rows(named=True):
        base = {
            "analysis": r["analysis"],
            "paramcd": paramcd,
            "population": population,
            "arm": r["arm"],
            "comparator": r["comparator"] or "",
            "avisit": r["avisit"],
            "method": r["method"],
        }
        if r["analysis"] == "MI_DIFF":
            stats = {k: r[k] for k in ("estimate", "se", "df", "lower", "upper", "p")}
        else:
            stats = {
                "n": r["n"],
                "lsmean": r["estimate"],
                "se": r["se"],
                "df": r["df"],
                "lower": r["lower"],
                "upper": r["upper"],
            }
        for k, v in stats.items():
            rows.append({**base, "stat": k, "value": v})
    if tipping is not None:
        seen = set()
        for r in tipping.iter_rows(named=True):
            base = {
                "analysis": "TIPPING",
                "paramcd": paramcd,
                "population": population,
                "arm": r["arm"],
                "comparator": r["comparator"],
                "avisit": r["avisit"],
                "method": r["method"],
            }
            for k in ("estimate", "lower", "upper", "p"):
                rows.append({**base, "time": r["delta"], "stat": k, "value": r[k]})
            key = (r["arm"], r["avisit"])
            if key not in seen:
                seen.add(key)
                rows.append({**base, "stat": "tipping_delta", "value": r["tipping_delta"]})
    return rows

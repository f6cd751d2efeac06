r"""Mixed model for repeated measures (MMRM) and a random-slope sensitivity model.

Two entry points share one engine (:mod:`~hepatrial.models.mmrm_core`,
:mod:`~hepatrial.models.mmrm_cov`, :mod:`~hepatrial.models.mmrm_fit`,
:mod:`~hepatrial.models.mmrm_infer`):

* :func:`fit` (:mod:`~hepatrial.models.mmrm_formula`) - any fixed-effects formula::

      fit(data, "CHG ~ BASE * AVISIT + STRATUM + ARM * AVISIT", covariance="UN",
          subject="USUBJID", visit="AVISIT", group="ARM", df="kenward_roger",
          weights=None, reference_levels={"ARM": "Placebo"})

  returns an :class:`MMRMResult` (``coef``, ``vcov``, ``covparms``, ``lsmeans(specs, at=,
  weights="equal"|"proportional")``, ``lsmeans_diff``, ``contrast``, ``f_test``,
  ``anova(type=2|3)``, polars frames).
* :class:`MMRM` - the pipeline's fixed model ``CHG ~ BASE + STRATUM + ARM * AVISIT``
  (unchanged API; it delegates the fit to the same core).

Equivalents (formula interface)::

    SAS:  PROC MIXED METHOD=REML;  CLASS USUBJID ARM(REF='Placebo') AVISIT STRATUM;
          MODEL CHG = BASE AVISIT BASE*AVISIT STRATUM ARM ARM*AVISIT
                / DDFM=KR | KR(LINEAR) | SATTERTHWAITE | BETWITHIN | RESIDUAL SOLUTION;
          REPEATED AVISIT / SUBJECT=USUBJID TYPE=UN GROUP=ARM;   (EMPIRICAL: vcov=)
          WEIGHT W;                                               (weights=)
          LSMEANS ARM*AVISIT / DIFF CL [OBSMARGINS];
    R:    mmrm::mmrm(CHG ~ BASE * AVISIT + STRATUM + ARM * AVISIT + us(AVISIT | ARM / USUBJID),
                     method = "Kenward-Roger", vcov = "Kenward-Roger" | "Kenward-Roger-Linear"
                     | "Empirical" | "Empirical-Bias-Reduced" | "Empirical-Jackknife",
                     weights = w)
          emmeans::emmeans(fit, ~ ARM | AVISIT); car::Anova(fit, type = "III" | "II")

Structures (SAS ``TYPE=`` / mmrm): UN (``un``/``us``), CS, CSH, AR1 (``AR(1)``/``ar1``), AR1H
(``ARH(1)``/``ar1h``), TOEP, TOEPH, AD (mmrm ``ad``), ADH (``ANTE(1)``/``adh``), SP_EXP
(``SP(EXP)(c-list)``/``sp_exp``, Euclidean distance of ``coords``); covariance grouped by any
subject-level factor (``group=``). Checked against SAS PROC MIXED output stored in R mmrm's
repository (tests/reference/mmrm_sas; KR, KR(LINEAR), weighted, grouped, spatial, EMPIRICAL).

Kenward-Roger (SAS ``DDFM=KR``, the default form)
    :math:`\Phi_A = \Phi + 2\Phi\{\sum_{ij} W_{ij}(Q_{ij} - P_i\Phi P_j - \tfrac14 R_{ij})\}\Phi`
    with the derivatives taken w.r.t. *SAS's covariance parameters* (variances, correlations,
    range; :meth:`~hepatrial.models.mmrm_cov.CovStructure.sas_params`) and :math:`W` the
    inverse observed REML information transformed to them (delta method, exact at the
    optimum). The second-order term :math:`R_{ij}` depends on the parametrisation, which is
    why R mmrm's ``"Kenward-Roger"`` (its own parametrisation) differs from SAS for UN,
    AR(1) etc.; here it is zero for the structures linear in SAS's parameters (UN, CS, TOEP),
    as in SAS, and non-zero for AR(1), ARH(1), CSH, TOEPH, ANTE(1), SP(EXP). ``df=
    "kenward_roger_linear"`` is ``DDFM=KR(LINEAR)`` (no :math:`R_{ij}`; parametrisation-free).
    ``"kenward_roger_full"`` is kept as an alias of ``"kenward_roger"``. Max. deviations from
    SAS on fev_data at SAS's printed covariance parameters: estimate and SE < 2e-5 relative, df
    < 1e-3 (tests/reference/mmrm_sas/test_mmrm_sas_kr.py).

Pipeline model (:class:`MMRM`)
------------------------------
For subject :math:`i` with observed visits :math:`O_i \subseteq \{1..T\}`

.. math::

    y_i = X_i \beta + \varepsilon_i, \qquad \varepsilon_i \sim N(0, \Sigma_{g(i)}[O_i, O_i]),

subjects independent. The fixed effects are (R formula / SAS MODEL statement)
``CHG ~ BASE + STRATUM + ARM * AVISIT`` - intercept, continuous covariates, additive factors,
arm, visit and arm-by-visit (treatment coding: first level of each factor, the reference arm
and the first visit are the baselines; the column order is R's). :math:`\Sigma` is a
:math:`T \times T` covariance matrix with any structure of
:mod:`hepatrial.models.mmrm_cov`; optionally one per arm (``group_covariance=True``; SAS
``REPEATED / GROUP=ARM``). Subjects with missing visits contribute the sub-block of
:math:`\Sigma` of their observed visits (missing at random under likelihood inference).

Equivalents::

    SAS:  PROC MIXED METHOD=REML;  CLASS USUBJID ARM AVISIT STRATUM;
          MODEL CHG = BASE STRATUM ARM AVISIT ARM*AVISIT / DDFM=SATTERTHWAITE (or KR);
          REPEATED AVISIT / SUBJECT=USUBJID TYPE=UN;
          LSMEANS ARM*AVISIT / DIFF CL;
    R:    nlme::gls(CHG ~ BASE + STRATUM + ARM*AVISIT,
                    correlation = corSymm(form = ~ VISITIDX | USUBJID),
                    weights = varIdent(form = ~ 1 | AVISIT), method = "REML")
          emmeans::emmeans(fit, ~ ARM | AVISIT, mode = "satterthwaite")
          mmrm::mmrm(CHG ~ BASE + STRATUM + ARM*AVISIT + us(AVISIT | USUBJID),
                     method = "Kenward-Roger")

Estimation
----------
REML (default) or ML, maximised for the response divided by its SD (``response_scale_``;
the results are transformed back exactly). The likelihood is evaluated from
per-missingness-pattern sufficient statistics (:mod:`hepatrial.models.mmrm_core`) with an
analytic score for every structure
(``dSigma/dtheta`` by complex-step differentiation). UN is parametrised by the Cholesky factor
of :math:`\Sigma` with log-diagonal. Start: the pairwise-complete covariance of OLS residuals.
Optimiser cascade: BFGS, L-BFGS-B, Nelder-Mead, trust-constr (scipy); each result is polished by
Newton steps on the observed Hessian (central differences of the analytic score). A fit is
*converged* when the Newton decrement :math:`g'(-H)^{-1}g < 10^{-8}` and :math:`-H` is
positive definite. Otherwise the next structure in ``fallback`` is tried; the structure used
is ``covariance_used_``; if none converges :class:`hepatrial.errors.ConvergenceError`.

The REML log-likelihood is on nlme's scale (``logLik(gls)``: no :math:`\log|X'X|` term);
``aic_`` follows nlme (``-2 ll + 2 (p + q)``, :math:`p` fixed effects, :math:`q` covariance
parameters); SAS's REML AIC is ``-2 ll + 2 q``, i.e. ``aic_ - 2 p``.

Inference (``df=``)
-------------------
``"satterthwaite"`` (SAS ``DDFM=SATTERTHWAITE``; R mmrm ``method = "Satterthwaite"``;
lmerTest)
    For a contrast :math:`l'\beta`: :math:`\nu = 2 (l'\Phi l)^2 / (g' A g)`, with
    :math:`g_j = \partial (l'\Phi l) / \partial\theta_j` (analytic), :math:`\Phi =
    (X'V^{-1}X)^{-1}` and :math:`A` the inverse *observed* information of :math:`\theta`.
    The value does not depend on the parametrisation of :math:`\theta` (at the optimum).
    The Hessian is central differences of the analytic score (accurate to about 1e-8
    relative). R emmeans ``mode = "satterthwaite"`` on a gls fit computes the same quantity
    with ``A = fit$apVar`` (nlme's finite-difference Hessian, ``fdHess``) and, for
    ``corSymm``, a simulation-based gradient ("appx-satterthwaite"). For CS/AR1 fits this
    module agrees with emmeans to < 0.1%; for corSymm + varIdent (UN) nlme's ``apVar`` is
    itself off by up to ~5% (checked against ``numDeriv::hessian`` of the same REML
    likelihood), so emmeans' df differ from the exact value by up to ~3%; against the
    exact value (tests/reference/mmrm, ``satt_exact``) this module agrees to < 0.1%.
``"kenward_roger"`` (SAS ``DDFM=KR``) / ``"kenward_roger_linear"`` (``DDFM=KR(LINEAR)``)
    Adjusted covariance as above; ``vcov_`` is :math:`\Phi_A`. df for one contrast:
    :math:`m = 2/(a'Aa)` (identical to the Satterthwaite df, as in mmrm/SAS, and the same for
    both forms); F tests: KR's :math:`m` and scale :math:`\lambda` (mmrm ``h_kr_df``),
    :math:`F^* = \lambda F` with :math:`F` from :math:`\Phi_A`.
``"between_within"`` (SAS ``DDFM=BETWITHIN`` as R mmrm): subject-level columns get
    ``n_subjects - n_between - 1`` df, others ``N - n_subjects - n_within``.
``"residual"`` (SAS ``DDFM=RESIDUAL``)
    :math:`N - \mathrm{rank}(X)`, :math:`N` the number of observations.
``"asymptotic"``: normal (infinite df).

LS means (SAS LSMEANS, emmeans): per arm and visit at covariates' means over the analysis rows;
other factors weighted equally (``lsmeans_weights="equal"``, emmeans default / SAS default) or
by their observed marginal proportions over the analysis rows (``"proportional"``, SAS
``OBSMARGINS``; emmeans ``weights = "proportional"`` for models without variance weights. For a
gls fit with ``varIdent`` emmeans uses the variance weights as frequency weights, so its
"proportional" LS means differ; pass the observed counts as a numeric ``weights`` vector to
reproduce ours). Type III tests: for covariates and additive factors the coefficients
themselves; for ARM, AVISIT and ARM:AVISIT the contrasts of the equally weighted ARM x AVISIT
cell means (SAS type III; R ``anova.gls(type = "marginal")`` with ``contr.sum``); F with
Satterthwaite (Fai-Cornelius / lmerTest), KR or residual denominator df.

Kenward-Roger checks (tests/unit/test_mmrm.py): with complete balanced data and a model in
which every subject has the same design per visit (``ARM * AVISIT`` without covariates), the
linear KR adjustment is exactly zero, the one-df df are ``N - 2`` and the ARM:AVISIT F test is
Hotelling's exact two-sample F with ``(T-1, N-T)`` df - the exactness property of Kenward &
Roger (1997); for UN SAS's KR has no second-order term, so ``"kenward_roger"`` gives the same.
tests/reference/mmrm_sas checks KR and KR(LINEAR) for nine structures against SAS.

Reference agreement (tests/reference/mmrm, R 4.2 nlme 3.1-162 emmeans 1.8.4-1, PBC albumin and
a synthetic MAR trial, UN/CS/AR1): log-likelihood < 1e-10 relative; fixed effects, LS means,
contrasts, SEs and type III F < 1e-4 (UN ~1e-5: nlme stops slightly short of the maximum);
Satterthwaite df < 0.1% of emmeans for CS/AR1 and < 1e-4 of an exact R computation for UN.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..errors import DataContractError
from .mmrm_core import Design, build_patterns
from .mmrm_cov import STRUCTURES, canonical_name
from .mmrm_fit import DF_METHODS, FitCore, check_converged, newton_polish, optimise
from .mmrm_formula import MMRMFormulaError, MMRMResult, fit  # noqa: F401  (public API)
from .mmrm_formula import _as_polars  # one copy: polars or pandas in
from .mmrm_infer import t_summary

_DIFF_SCHEMA = {"arm": pl.Utf8, "reference": pl.Utf8, "visit": pl.Utf8, "estimate": pl.Float64,
                "se": pl.Float64, "df": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
                "t": pl.Float64, "p": pl.Float64}


class MMRMDataError(DataContractError, ValueError):
    """The data cannot be analysed by the MMRM as specified (unknown visit or arm level,
    duplicate subject-visit rows, rank-deficient fixed-effects design, ...)."""


# ----------------------------------------------------------------------------------------------
# data -> design
# ----------------------------------------------------------------------------------------------
def _levels(series: pl.Series) -> list:
    return sorted(series.drop_nulls().unique().to_list())


def _codes(series: pl.Series, levels: list) -> np.ndarray:
    """Integer codes of ``series`` in ``levels`` (all values must be in ``levels``)."""
    lut = pl.DataFrame({"__v": pl.Series(levels, dtype=series.dtype),
                        "__c": np.arange(len(levels), dtype=np.int64)})
    out = pl.DataFrame({"__v": series}).join(lut, on="__v", how="left", maintain_order="left")
    return out["__c"].to_numpy()


@dataclass
class _Meta:
    visit_levels: list
    arm_levels: list  # in output order
    reference: object
    coding_arms: list  # reference first
    factor_levels: dict
    covariates: list
    factors: list
    cov_means: np.ndarray
    factor_props: dict
    cell_n: np.ndarray  # (n_arms in coding order, T)
    n_missing_response: int
    y_scale: float
    n_dropped_incomplete: int


def _build_design(data, response, subject, visit, visit_order, arm, arm_levels, reference,
                  covariates, factors, group_covariance):
    df = _as_polars(data)
    needed = [response, subject, visit, arm, *covariates, *factors]
    missing_cols = [c for c in needed if c not in df.columns]
    if missing_cols:
        raise MMRMDataError(f"columns not found: {missing_cols}")
    df = df.select(needed)
    n0 = df.height
    df = df.filter(pl.col(response).is_not_null() & pl.col(response).is_not_nan()
                   if df.schema[response].is_float() else pl.col(response).is_not_null())
    n_missing_response = n0 - df.height
    n1 = df.height
    df = df.drop_nulls()
    n_dropped = n1 - df.height

    visit_levels = list(visit_order) if visit_order is not None else _levels(df[visit])
    bad = set(df[visit].unique().to_list()) - set(visit_levels)
    if bad:
        raise MMRMDataError(f"visits not in visit_order: {sorted(map(str, bad))}",
                                column=visit)
    arm_levels = list(arm_levels) if arm_levels is not None else _levels(df[arm])
    bad = set(df[arm].unique().to_list()) - set(arm_levels)
    if bad:
        raise MMRMDataError(f"arms not in arm_levels: {sorted(map(str, bad))}", column=arm)
    if reference is None:
        reference = arm_levels[0]
    if reference not in arm_levels:
        raise MMRMDataError(f"reference arm {reference!r} not in arm levels", column=arm)
    coding_arms = [reference] + [a for a in arm_levels if a != reference]
    T, A = len(visit_levels), len(coding_arms)

    vis = _codes(df[visit], visit_levels)
    armc = _codes(df[arm], coding_arms)
    subj = df[subject].cast(pl.Utf8)
    subjects = subj.unique().sort().to_numpy()
    sidx = (subj.rank("dense") - 1).cast(pl.Int64).to_numpy()
    ns = subjects.size
    if np.unique(sidx * T + vis).size != sidx.size:
        raise MMRMDataError(f"more than one row per {subject} x {visit}")
    if np.unique(sidx * A + armc).size != ns:
        raise MMRMDataError(f"{arm} is not constant within {subject}", column=arm)

    # row-level design matrix, R column order
    n = df.height
    cols, names, terms = [np.ones(n)], ["(Intercept)"], {}
    for c in covariates:
        terms[c] = [len(names)]
        cols.append(df[c].cast(pl.Float64).to_numpy())
        names.append(c)
    factor_levels, factor_codes = {}, {}
    for f in factors:
        levs = _levels(df[f])
        factor_levels[f] = levs
        codes = _codes(df[f], levs)
        factor_codes[f] = codes
        terms[f] = []
        for j in range(1, len(levs)):
            terms[f].append(len(names))
            cols.append((codes == j).astype(float))
            names.append(f"{f}{levs[j]}")
    terms[arm] = []
    for a in range(1, A):
        terms[arm].append(len(names))
        cols.append((armc == a).astype(float))
        names.append(f"{arm}{coding_arms[a]}")
    terms[visit] = []
    for v in range(1, T):
        terms[visit].append(len(names))
        cols.append((vis == v).astype(float))
        names.append(f"{visit}{visit_levels[v]}")
    terms[f"{arm}:{visit}"] = []
    for a in range(1, A):
        for v in range(1, T):
            terms[f"{arm}:{visit}"].append(len(names))
            cols.append(((armc == a) & (vis == v)).astype(float))
            names.append(f"{arm}{coding_arms[a]}:{visit}{visit_levels[v]}")
    Xr = np.column_stack(cols)
    XtX = Xr.T @ Xr
    sc = np.sqrt(np.diag(XtX))
    if np.any(sc == 0) or np.linalg.matrix_rank(XtX / np.outer(sc, sc), tol=1e-10) < Xr.shape[1]:
        raise MMRMDataError("the fixed-effects design is rank deficient (an arm x visit "
                                "cell or a factor level without data?)")
    p = Xr.shape[1]
    y = df[response].cast(pl.Float64).to_numpy()
    # the likelihood is maximised for y / y_scale (makes the optimiser tolerances and the
    # finite-difference steps scale-free); results are transformed back exactly
    y_scale = float(np.std(y)) if n > 1 and np.std(y) > 0 else 1.0
    y = y / y_scale

    Xs = np.zeros((ns, T, p))
    Ys = np.full((ns, T), np.nan)
    obs = np.zeros((ns, T), dtype=bool)
    Xs[sidx, vis] = Xr
    Ys[sidx, vis] = y
    obs[sidx, vis] = True
    subj_arm = np.zeros(ns, dtype=np.int64)
    subj_arm[sidx] = armc
    group = subj_arm if group_covariance else np.zeros(ns, dtype=np.int64)

    design = Design(Xs=Xs, Ys=Ys, obs=obs, group=group, col_names=names, terms=terms,
                    subjects=subjects)
    design.patterns = build_patterns(Xs, Ys, obs, group)
    cell_n = np.zeros((A, T), dtype=np.int64)
    np.add.at(cell_n, (armc, vis), 1)
    meta = _Meta(
        visit_levels=visit_levels, arm_levels=list(arm_levels), reference=reference,
        coding_arms=coding_arms, factor_levels=factor_levels, covariates=list(covariates),
        factors=list(factors),
        cov_means=np.array([Xr[:, terms[c][0]].mean() for c in covariates]),
        factor_props={f: np.bincount(factor_codes[f], minlength=len(factor_levels[f])) / n
                      for f in factors},
        cell_n=cell_n, n_missing_response=n_missing_response, n_dropped_incomplete=n_dropped,
        y_scale=y_scale,
    )
    return design, meta, Xr, y, sidx, vis


# optimiser helpers live in mmrm_fit (names kept for callers of the old private API)
_newton_polish = newton_polish
_check = check_converged
_optimise = optimise


# ----------------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------------
class MMRM:
    """Mixed model for repeated measures (see the module docstring for the model and methods).

    Parameters
    ----------
    covariance : {"UN", "CS", "CSH", "AR1", "AR1H", "TOEPH"}
        Covariance structure tried first (SAS ``TYPE=``).
    method : {"REML", "ML"}
    df : {"satterthwaite", "kenward_roger", "kenward_roger_full", "residual", "asymptotic"}
        Denominator degrees of freedom (SAS ``DDFM=``); see the module docstring.
    fallback : sequence of str or None
        Structures to try, in order, after ``covariance`` fails to converge.
    group_covariance : bool
        Separate covariance matrix (same structure) per arm (SAS ``GROUP=ARM``).
    lsmeans_weights : {"equal", "proportional"}
    alpha : float
        Two-sided level of the confidence intervals (0.05 gives 95% CIs).

    Attributes
    ----------
    beta_ : ndarray, fixed effects (names in ``coef_names_``)
    vcov_ : ndarray, their covariance (Kenward-Roger adjusted for the KR methods)
    vcov_model_ : ndarray, the unadjusted ``(X'V^-1X)^-1``
    cov_matrix_ : ndarray (T, T), fitted Sigma (dict arm -> Sigma if ``group_covariance``)
    theta_ : ndarray, covariance parameters (see :mod:`hepatrial.models.mmrm_cov`) of the
        response divided by ``response_scale_`` (its SD; the fit is done on that scale)
    theta_vcov_ : ndarray, inverse observed information of ``theta_`` (REML or ML)
    covariance_used_ : str
    converged_ : bool
    optimizer_ : str, the optimiser of the cascade that converged
    fit_attempts_ : list of (structure, optimiser log)
    loglik_, aic_, bic_ : float (nlme conventions, see module docstring)
    n_subjects_, n_obs_, n_missing_response_, n_dropped_incomplete_ : int
    n_patterns_ : int, number of missingness patterns
    coef_table_, lsmeans_, diffs_, type3_ : polars.DataFrame
    """

    def __init__(self, covariance="UN", method="REML", df="satterthwaite",
                 fallback=("UN", "TOEPH", "AR1H", "CS"), group_covariance=False,
                 lsmeans_weights="equal", alpha=0.05):
        self.covariance = canonical_name(covariance)
        if self.covariance not in STRUCTURES:
            raise ValueError(f"covariance must be one of {STRUCTURES}")
        self.method = method.upper()
        if self.method not in ("REML", "ML"):
            raise ValueError("method must be 'REML' or 'ML'")
        if df not in DF_METHODS:
            raise ValueError(f"df must be one of {DF_METHODS}")
        if df.startswith("kenward") and self.method != "REML":
            raise ValueError("Kenward-Roger requires method='REML'")
        self.df = df
        self.fallback = tuple(canonical_name(s) for s in (fallback or ()))
        self.group_covariance = bool(group_covariance)
        if lsmeans_weights not in ("equal", "proportional"):
            raise ValueError("lsmeans_weights must be 'equal' or 'proportional'")
        self.lsmeans_weights = lsmeans_weights
        self.alpha = alpha

    # ------------------------------------------------------------------------------------------
    def fit(self, data, response="CHG", subject="USUBJID", visit="AVISIT", visit_order=None,
            arm="ARM", arm_levels=None, reference=None, covariates=("BASE",), factors=()):
        """Fit the MMRM.

        Parameters
        ----------
        data : polars.DataFrame or pandas.DataFrame
            Long format, one row per subject and visit. Rows with a missing response are
            dropped (count in ``n_missing_response_``); rows with other missing model
            variables too (``n_dropped_incomplete_``).
        response, subject, visit, arm : str
            Column names.
        visit_order : sequence, optional
            Visit levels in time order (default: sorted values).
        arm_levels : sequence, optional
            Arm levels in output order (default: sorted values).
        reference : optional
            Reference (control) arm; default the first of ``arm_levels``.
        covariates : sequence of str
            Continuous covariates (common slope across visits), e.g. ``["BASE"]``.
        factors : sequence of str
            Additive categorical covariates (e.g. randomisation strata).

        Returns
        -------
        self
        """
        covariates, factors = list(covariates or ()), list(factors or ())
        design, meta, *_ = _build_design(
            data, response, subject, visit, visit_order, arm, arm_levels, reference,
            covariates, factors, self.group_covariance)
        n_groups = len(meta.coding_arms) if self.group_covariance else 1
        core = FitCore(design, self.covariance, n_groups, reml=self.method == "REML",
                       df=self.df, fallback=self.fallback, y_scale=meta.y_scale)
        self._core = core
        self.fit_attempts_ = core.fit_attempts
        self.covariance_used_ = core.covariance_used
        self.converged_ = True
        self.optimizer_ = core.optimizer
        self._design, self._meta, self._engine = design, meta, core.engine
        self._names = {"response": response, "subject": subject, "visit": visit, "arm": arm}
        self.theta_ = core.theta
        self.hessian_ = core.hessian
        self.theta_vcov_ = core.theta_vcov
        self.response_scale_ = meta.y_scale
        self.beta_ = core.beta
        self.coef_names_ = design.col_names
        self.vcov_model_ = core.vcov_model
        S = core.cov_matrices
        self.cov_matrix_ = ({a: S[g] for g, a in enumerate(meta.coding_arms)}
                            if self.group_covariance else S[0])
        self.loglik_ = core.loglik
        self.aic_ = core.aic
        self.bic_ = core.bic
        self.n_subjects_ = core.n_subjects
        self.n_obs_ = core.n_obs
        self.n_missing_response_ = meta.n_missing_response
        self.n_dropped_incomplete_ = meta.n_dropped_incomplete
        self.n_patterns_ = core.n_patterns
        self.vcov_ = core.vcov
        self._D = core._D
        self._tables()
        return self

    # ------------------------------------------------------------------------------------------
    def _df_1d(self, l):
        return self._core.df_1d(l)

    def contrast(self, L):
        """Estimate, SE and df of the rows of ``L`` (each a contrast of ``beta_``)."""
        return self._core.contrast(L)

    def f_test(self, L):
        """Wald F test of ``L beta = 0``: (num_df, den_df, F, p)."""
        return self._core.f_test(L)

    # ------------------------------------------------------------------------------------------
    def _cell_rows(self, weights=None):
        """L rows of the LS means: array (n_arms in coding order, T, p)."""
        meta, d = self._meta, self._design
        weights = weights or self.lsmeans_weights
        A, T, p = len(meta.coding_arms), len(meta.visit_levels), d.p
        base = np.zeros(p)
        base[0] = 1.0
        for c, m in zip(meta.covariates, meta.cov_means):
            base[d.terms[c][0]] = m
        for f in meta.factors:
            K = len(meta.factor_levels[f])
            w = np.full(K, 1.0 / K) if weights == "equal" else meta.factor_props[f]
            base[d.terms[f]] = w[1:]
        arm, visit = self._names["arm"], self._names["visit"]
        out = np.tile(base, (A, T, 1))
        for a in range(1, A):
            out[a, :, d.terms[arm][a - 1]] = 1.0
        for v in range(1, T):
            out[:, v, d.terms[visit][v - 1]] = 1.0
        it = d.terms[f"{arm}:{visit}"]
        for a in range(1, A):
            for v in range(1, T):
                out[a, v, it[(a - 1) * (T - 1) + (v - 1)]] = 1.0
        return out

    def lsmeans(self, weights=None) -> pl.DataFrame:
        """LS means per arm and visit (``weights`` overrides ``lsmeans_weights``)."""
        meta = self._meta
        rows = self._cell_rows(weights)
        recs = []
        for arm_name in meta.arm_levels:
            a = meta.coding_arms.index(arm_name)
            est, se, df = self.contrast(rows[a])
            lo, hi, _, _ = t_summary(est, se, df, self.alpha)
            for v, vis in enumerate(meta.visit_levels):
                recs.append({"arm": arm_name, "visit": vis, "n": int(meta.cell_n[a, v]),
                             "lsmean": est[v], "se": se[v], "df": df[v], "lower": lo[v],
                             "upper": hi[v]})
        return pl.DataFrame(recs)

    def _tables(self):
        meta, d = self._meta, self._design
        self.coef_table_ = pl.DataFrame({
            "term": d.col_names, "estimate": self.beta_,
            "se": np.sqrt(np.diag(self.vcov_))})
        self.lsmeans_ = self.lsmeans()
        rows = self._cell_rows()
        recs = []
        for arm_name in meta.arm_levels:
            if arm_name == meta.reference:
                continue
            a = meta.coding_arms.index(arm_name)
            L = rows[a] - rows[0]
            est, se, df = self.contrast(L)
            lo, hi, t, p = t_summary(est, se, df, self.alpha)
            for v, vis in enumerate(meta.visit_levels):
                recs.append({"arm": arm_name, "reference": meta.reference, "visit": vis,
                             "estimate": est[v], "se": se[v], "df": df[v], "lower": lo[v],
                             "upper": hi[v], "t": t[v], "p": p[v]})
        self.diffs_ = pl.DataFrame(recs, schema=_DIFF_SCHEMA if not recs else None)
        self.type3_ = self._type3(rows)

    def type3_contrasts(self) -> dict:
        """SAS-style type III hypothesis matrices per model term (rows: contrasts of beta)."""
        meta, d = self._meta, self._design
        rows = self._cell_rows("equal")
        A, T, p = rows.shape
        arm, visit = self._names["arm"], self._names["visit"]
        out = {}
        for c in meta.covariates:
            L = np.zeros((1, p))
            L[0, d.terms[c][0]] = 1.0
            out[c] = L
        for f in meta.factors:
            idx = d.terms[f]
            L = np.zeros((len(idx), p))
            L[np.arange(len(idx)), idx] = 1.0
            out[f] = L
        am = rows.mean(axis=1)  # arm margins
        if A > 1:
            out[arm] = am[1:] - am[0]
        vm = rows.mean(axis=0)
        if T > 1:
            out[visit] = vm[1:] - vm[0]
        if A > 1 and T > 1:
            out[f"{arm}:{visit}"] = np.array([
                rows[a, v] - rows[a, 0] - rows[0, v] + rows[0, 0]
                for a in range(1, A) for v in range(1, T)])
        return out

    def _type3(self, rows):
        recs = []
        for term, L in self.type3_contrasts().items():
            c, ddf, F, pv = self.f_test(L)
            recs.append({"term": term, "num_df": c, "den_df": ddf, "F": F, "p": pv})
        return pl.DataFrame(recs)


# ----------------------------------------------------------------------------------------------
# sensitivity model
# ----------------------------------------------------------------------------------------------
def fit_random_slope_lmm(data, response="CHG", subject="USUBJID", visit="AVISIT",
                         visit_order=None, time=None, arm="ARM", arm_levels=None,
                         reference=None, covariates=("BASE",), factors=(), reml=True,
                         alpha=0.05):
    r"""Random-intercept-and-slope linear mixed model (sensitivity analysis to the MMRM).

    Model (R ``nlme::lme(CHG ~ BASE + STRATUM + ARM*AVISIT, random = ~ TIME | USUBJID)``,
    ``lme4::lmer(CHG ~ BASE + STRATUM + ARM*AVISIT + (1 + TIME | USUBJID))``; SAS ``PROC MIXED;
    RANDOM INTERCEPT TIME / SUBJECT=USUBJID TYPE=UN``):

    .. math::

        y_{ij} = x_{ij}'\beta + b_{0i} + b_{1i} t_j + e_{ij},\quad
        (b_{0i}, b_{1i}) \sim N(0, G),\ e_{ij} \sim N(0, \sigma^2),

    with the same fixed effects as :class:`MMRM` (visit as a factor, so the mean trajectory
    is unstructured) and ``t_j`` the visit time. The within-subject covariance is therefore
    :math:`Z G Z' + \sigma^2 I` instead of an unstructured :math:`\Sigma`.

    Estimation by the own profiled REML (or ML) engine :func:`hepatrial.models.lmm.fit_lmm`
    (Woodbury per subject, vectorised over subjects; checked against R ``nlme::lme``,
    ``lme4::lmer`` and statsmodels ``MixedLM`` in tests/unit/test_lmm.py). ``vcov`` is
    :math:`\hat\sigma^2 (X'V_*^{-1}X)^{-1}` (model-based, as nlme). A singular :math:`G` (REML
    estimate on the boundary, e.g. no slope variance) is returned as estimated (positive
    semi-definite, rank < 2) with a ``RuntimeWarning``; ``converged`` then reflects the
    first-order conditions on the boundary.

    Parameters
    ----------
    time : dict or None
        Visit -> numeric time (e.g. weeks). Default: ``0, 1, ..., T-1`` in ``visit_order``.
    Other parameters as in :meth:`MMRM.fit`.

    Returns
    -------
    dict
        ``lsmeans`` and ``diffs`` (polars DataFrames as in :class:`MMRM`, LS means with equal
        factor weights; inference is Wald with *normal* quantiles, as R ``emmeans(...,
        mode = "asymptotic")``; no small-sample df), ``beta``, ``vcov``, ``coef_names``,
        ``G`` (random-effects covariance), ``sigma2``, ``loglik``, ``converged``.
    """
    from .lmm import fit_lmm

    design, meta, Xr, y, sidx, vis = _build_design(
        data, response, subject, visit, visit_order, arm, arm_levels, reference,
        list(covariates or ()), list(factors or ()), False)
    y = y * meta.y_scale  # _build_design returns the scaled response
    tmap = time or {v: float(i) for i, v in enumerate(meta.visit_levels)}
    present = np.unique(vis)  # only visits with data need a time (as before)
    tlev = np.full(len(meta.visit_levels), np.nan)
    tlev[present] = [float(tmap[meta.visit_levels[v]]) for v in present]
    tvec = tlev[vis]
    res = fit_lmm(Xr, y, sidx, tvec, reml=reml)
    if res.singular:
        warnings.warn("random-slope LMM: the estimated random-effects covariance G is singular "
                      "(boundary of the parameter space)", RuntimeWarning, stacklevel=2)
    beta = res.beta
    V = res.vcov

    # LS means with the MMRM machinery (same L rows)
    tmp = MMRM.__new__(MMRM)
    tmp._meta, tmp._design = meta, design
    tmp._names = {"response": response, "subject": subject, "visit": visit, "arm": arm}
    tmp.lsmeans_weights = "equal"
    rows = tmp._cell_rows("equal")
    recs, drecs = [], []
    for arm_name in meta.arm_levels:
        a = meta.coding_arms.index(arm_name)
        est = rows[a] @ beta
        se = np.sqrt(np.einsum("ia,ab,ib->i", rows[a], V, rows[a]))
        lo, hi, _, _ = t_summary(est, se, np.full(est.size, np.inf), alpha)
        for v, visn in enumerate(meta.visit_levels):
            recs.append({"arm": arm_name, "visit": visn, "n": int(meta.cell_n[a, v]),
                         "lsmean": est[v], "se": se[v], "df": np.inf, "lower": lo[v],
                         "upper": hi[v]})
        if arm_name != meta.reference:
            L = rows[a] - rows[0]
            est = L @ beta
            se = np.sqrt(np.einsum("ia,ab,ib->i", L, V, L))
            lo, hi, t, pv = t_summary(est, se, np.full(est.size, np.inf), alpha)
            for v, visn in enumerate(meta.visit_levels):
                drecs.append({"arm": arm_name, "reference": meta.reference, "visit": visn,
                              "estimate": est[v], "se": se[v], "df": np.inf, "lower": lo[v],
                              "upper": hi[v], "t": t[v], "p": pv[v]})
    return {
        "lsmeans": pl.DataFrame(recs), "diffs": pl.DataFrame(drecs), "beta": beta, "vcov": V,
        "coef_names": design.col_names, "G": res.G, "sigma2": res.sigma2,
        "loglik": res.loglik, "converged": res.converged,
    }

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
  (unchanged API): a thin wrapper that writes the formula and calls :func:`fit`.

The module's seams: :mod:`~hepatrial.models.mmrm_design` (data -> design of the fixed model, used
by the random-slope LMM :func:`hepatrial.models.lmm.fit_random_slope_lmm`),
:mod:`~hepatrial.models.mmrm_lsmeans` (its LS-mean rows), this module (the estimator API).

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

import re

import numpy as np
import polars as pl

from .mmrm_cov import STRUCTURES, canonical_name
from .mmrm_design import MMRMDataError  # noqa: F401  (public API)
from .mmrm_fit import DF_METHODS
from .mmrm_formula import MMRMFormulaError, MMRMResult, as_polars, fit  # noqa: F401  (public API)
from .mmrm_lsmeans import DIFF_SCHEMA

_LSMEANS_SCHEMA = {
    "arm": pl.Utf8,
    "visit": pl.Utf8,
    "n": pl.Int64,
    "lsmean": pl.Float64,
    "se": pl.Float64,
    "df": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
}


def r_name(term: str) -> str:
    """A formulaic column name in R's spelling: ``Intercept`` -> ``(Intercept)``, ``ARM[T.A]`` -> ``ARMA``."""
    return "(Intercept)" if term == "Intercept" else re.sub(r"\[T\.(.*?)\]", r"\1", term)


class MMRM:
    """Mixed model for repeated measures with the pipeline's fixed model (see the module docstring):
    ``response ~ covariates + factors + arm + visit + arm:visit``, fitted by :func:`fit`.

    Parameters
    ----------
    covariance : {"UN", "CS", "CSH", "AR1", "AR1H", "TOEPH", ...}
        Covariance structure tried first (SAS ``TYPE=``).
    method : {"REML", "ML"}
    df : {"satterthwaite", "kenward_roger", "kenward_roger_full", "residual", "asymptotic", ...}
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
    result_ : MMRMResult, the formula interface's fit
    beta_ : ndarray, fixed effects (names in ``coef_names_``, R's spelling)
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

    def __init__(
        self,
        covariance="UN",
        method="REML",
        df="satterthwaite",
        fallback=("UN", "TOEPH", "AR1H", "CS"),
        group_covariance=False,
        lsmeans_weights="equal",
        alpha=0.05,
    ):
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
    def fit(
        self,
        data,
        response="CHG",
        subject="USUBJID",
        visit="AVISIT",
        visit_order=None,
        arm="ARM",
        arm_levels=None,
        reference=None,
        covariates=("BASE",),
        factors=(),
    ):
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
        df = as_polars(data)
        missing = [
            c for c in [response, subject, visit, arm, *covariates, *factors] if c not in df.columns
        ]
        if missing:
            raise MMRMDataError(f"columns not found: {missing}")
        arms = [a for a in df[arm].drop_nulls().unique().sort().to_list()]
        arm_levels = [str(a) for a in (arm_levels if arm_levels is not None else arms)]
        bad = {str(a) for a in arms} - set(arm_levels)
        if bad:
            raise MMRMDataError(f"arms not in arm_levels: {sorted(bad)}", column=arm)
        reference = arm_levels[0] if reference is None else str(reference)
        if reference not in arm_levels:
            raise MMRMDataError(f"reference arm {reference!r} not in arm levels", column=arm)
        coding = [reference] + [a for a in arm_levels if a != reference]
        # arm and factors are factors whatever their type; the arm's levels in coding order
        df = df.with_columns(
            pl.col(arm).cast(pl.Utf8).cast(pl.Enum(coding)),
            *(pl.col(f).cast(pl.Utf8) for f in factors),
        )
        per_subject = df.group_by(subject).agg(pl.col(arm).drop_nulls().n_unique())[arm]
        if per_subject.len() and per_subject.max() > 1:
            raise MMRMDataError(f"{arm} is not constant within {subject}", column=arm)
        formula = f"{response} ~ " + " + ".join(
            [*covariates, *factors, arm, visit, f"{arm}:{visit}"]
        )
        r = fit(
            df,
            formula,
            self.covariance,
            subject=subject,
            visit=visit,
            visit_order=visit_order,
            group=arm if self.group_covariance else None,
            method=self.method,
            df=self.df,
            reference_levels={arm: reference},
            fallback=self.fallback,
            alpha=self.alpha,
        )
        if r.aliased:
            raise MMRMDataError(
                "the fixed-effects design is rank deficient (an arm x visit cell or a factor "
                f"level without data?): {', '.join(r.aliased)}"
            )
        core = r._core
        self.result_, self._core, self._design = r, core, core.design
        self._names = {"response": response, "subject": subject, "visit": visit, "arm": arm}
        self._arm_levels, self._reference = arm_levels, reference
        self.fit_attempts_ = core.fit_attempts
        self.covariance_used_ = core.covariance_used
        self.converged_ = True
        self.optimizer_ = core.optimizer
        self.theta_ = core.theta
        self.hessian_ = core.hessian
        self.theta_vcov_ = core.theta_vcov
        self.response_scale_ = core.y_scale
        self.beta_ = core.beta
        self.coef_names_ = [r_name(n) for n in r.coef_names]
        self.vcov_model_ = core.vcov_model
        self.vcov_ = core.vcov
        S = core.cov_matrices
        self.cov_matrix_ = dict(zip(r.group_levels, S)) if self.group_covariance else S[0]
        self.loglik_ = core.loglik
        self.aic_ = core.aic
        self.bic_ = core.bic
        self.n_subjects_ = core.n_subjects
        self.n_obs_ = core.n_obs
        self.n_missing_response_ = r.n_missing_response
        self.n_dropped_incomplete_ = r.n_dropped_incomplete
        self.n_patterns_ = core.n_patterns
        self.coef_table_ = pl.DataFrame(
            {"term": self.coef_names_, "estimate": self.beta_, "se": np.sqrt(np.diag(self.vcov_))}
        )
        self.lsmeans_ = self.lsmeans()
        self.diffs_ = self._diffs()
        self.type3_ = r.anova(3)
        return self

    # ------------------------------------------------------------------------------------------
    def contrast(self, L):
        """Estimate, SE and df of the rows of ``L`` (each a contrast of ``beta_``)."""
        return self._core.contrast(L)

    def f_test(self, L):
        """Wald F test of ``L beta = 0``: (num_df, den_df, F, p)."""
        return self._core.f_test(L)

    def type3_contrasts(self) -> dict:
        """SAS type III hypothesis matrices per model term (rows: contrasts of ``beta_``)."""
        return self.result_.type3_L()

    def lsmeans(self, weights=None) -> pl.DataFrame:
        """LS means per arm and visit (``weights`` overrides ``lsmeans_weights``): ``arm, visit, n,
        lsmean, se, df, lower, upper``, arms in ``arm_levels`` order."""
        arm, visit = self._names["arm"], self._names["visit"]
        ls = self.result_.lsmeans([arm, visit], weights=weights or self.lsmeans_weights)
        n = (
            self.result_._data.group_by(arm, visit)
            .len()
            .with_columns(pl.col(arm).cast(pl.Utf8), pl.col(visit).cast(pl.Utf8))
        )
        ls = ls.with_columns(pl.col(arm).cast(pl.Utf8), pl.col(visit).cast(pl.Utf8)).join(
            n, on=[arm, visit], how="left", maintain_order="left"
        )
        out = ls.select(
            pl.col(arm).alias("arm"),
            pl.col(visit).alias("visit"),
            pl.col("len").fill_null(0).alias("n"),
            pl.col("estimate").alias("lsmean"),
            "se",
            "df",
            "lower",
            "upper",
        ).cast(_LSMEANS_SCHEMA)
        return self._arm_order(out)

    def _diffs(self) -> pl.DataFrame:
        arm, visit = self._names["arm"], self._names["visit"]
        d = self.result_.lsmeans_diff(
            arm, by=visit, reference=self._reference, weights=self.lsmeans_weights
        )
        if d.height == 0:
            return pl.DataFrame(schema=DIFF_SCHEMA)
        out = d.select(
            pl.col(arm).cast(pl.Utf8).alias("arm"),
            "reference",
            pl.col(visit).cast(pl.Utf8).alias("visit"),
            "estimate",
            "se",
            "df",
            "lower",
            "upper",
            "t",
            "p",
        ).cast(DIFF_SCHEMA)
        return self._arm_order(out)

    def _arm_order(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows by arm in ``arm_levels`` order, then visit in time order (the fit's visit levels)."""
        visits = self.result_.factor_levels[self._names["visit"]]
        return frame.sort(
            pl.col("arm").replace_strict({a: i for i, a in enumerate(self._arm_levels)}),
            pl.col("visit").replace_strict({v: i for i, v in enumerate(visits)}),
            maintain_order=True,
        )

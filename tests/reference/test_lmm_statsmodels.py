"""hepatrial.models.lmm (own REML engine) against statsmodels MixedLM, the previous engine: its
log-likelihood at our estimate, and its estimates where it converges. statsmodels is imported here
only. Moved from tests/unit/test_lmm.py (each fit takes seconds); the data sets and helpers are
that module's (tests/reference/lmm/, R nlme and lme4 numbers)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_lmm import design, scaled_cov  # noqa: E402

from hepatrial.models.lmm import fit_lmm  # noqa: E402

_SM: dict = {}


def _statsmodels(ds, reml=True, time_unit=1.0):
    """statsmodels MixedLM fit as the pipeline used to call it (time divided by time_unit)."""
    key = (ds, reml, time_unit)
    if key not in _SM:
        import statsmodels.api as sm

        X, y, sidx, t = design(ds)
        t = t / time_unit
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _SM[key] = sm.MixedLM(
                y, X, groups=sidx, exog_re=np.column_stack([np.ones_like(t), t])
            ).fit(reml=reml, method=["lbfgs", "bfgs", "nm"])
    return _SM[key]


@pytest.mark.parametrize(
    "ds,reml", [("syn", True), ("syn", False), ("pbc", True), ("pbc", False), ("sing", True)]
)
def test_statsmodels_likelihood(ds, reml):
    """statsmodels' own log-likelihood function at our estimate equals ours (same constants,
    REML and ML), and its maximiser never finds a higher value (on PBC with time in weeks it
    stops at -650.3 against -624.9, reporting convergence)."""
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    X, y, sidx, t = design(ds)
    ours = fit_lmm(X, y, sidx, t, reml=reml)
    sm = _statsmodels(ds, reml)
    assert ours.converged
    assert ours.loglik > sm.llf - 1e-8
    if ds != "sing":  # statsmodels' likelihood needs a non-singular G
        at_ours = MixedLMParams.from_components(fe_params=ours.beta, cov_re=ours.G / ours.sigma2)
        assert sm.model.loglike(at_ours, profile_fe=True) == pytest.approx(ours.loglik, rel=1e-10)


@pytest.mark.parametrize("ds", ["syn", "pbc"])
def test_statsmodels_estimates(ds):
    """Where statsmodels converges (PBC: time in years; G transformed back to weeks) the
    estimates agree. Its fixed-effect SEs are not compared: statsmodels' ``cov_params`` is not
    the GLS covariance sigma^2 (X'V*^-1 X)^-1 of nlme / lme4 (differs by up to ~3% here)."""
    X, y, sidx, t = design(ds)
    ours = fit_lmm(X, y, sidx, t)
    c = 365.0 / 7 if ds == "pbc" else 1.0
    sm = _statsmodels(ds, True, c)
    S = np.diag([1.0, 1.0 / c])
    assert sm.llf == pytest.approx(ours.loglik, rel=1e-9)
    se = np.sqrt(np.diag(ours.vcov))
    assert np.max(np.abs(ours.beta - np.asarray(sm.fe_params)) / se) < 1e-3
    assert scaled_cov(S @ np.asarray(sm.cov_re) @ S, ours.G) < 1e-3
    assert ours.sigma2 == pytest.approx(sm.scale, rel=1e-3)

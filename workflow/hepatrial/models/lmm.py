r"""REML / ML engine for the random-intercept-and-slope linear mixed model.

Model, for subject :math:`i` with :math:`n_i` observations

.. math::

    y_i = X_i\beta + Z_i b_i + e_i,\quad Z_i = [1, t_i],\quad b_i \sim N(0, G),\quad
    e_i \sim N(0, \sigma^2 I),\qquad V_i = \sigma^2 (I + Z_i D Z_i'),\ D = G / \sigma^2 .

Likelihood
----------
:math:`\beta` and :math:`\sigma^2` are profiled out; the optimiser sees only the relative
covariance :math:`D = LL'` through the lower-triangular Cholesky factor
:math:`L = \begin{pmatrix} l_{11} & 0\\ l_{21} & l_{22}\end{pmatrix}`, *unconstrained* (the sign
of each column of :math:`L` is irrelevant, so there are no bounds, and a singular :math:`D` -
the boundary of the parameter space - is an ordinary point, :math:`l_{22} = 0` or
:math:`l_{11} = 0`; a log-Cholesky parametrisation can only approach it). With
:math:`M_i = I_2 + Z_i'Z_i D` (Sylvester and Woodbury)

.. math::

    \log|I + Z_i D Z_i'| = \log|M_i|,\qquad
    Z_i'(I + Z_i D Z_i')^{-1} = M_i^{-1} Z_i',\qquad
    (I + Z_i D Z_i')^{-1} = I - Z_i D M_i^{-1} Z_i',

so every quantity needs only the per-subject sums :math:`Z_i'Z_i, Z_i'X_i, Z_i'y_i`
(computed once, ``np.add.reduceat`` over the rows sorted by subject) and 2x2 inverses and
determinants, vectorised over subjects (no loop over subjects):
:math:`X'V_*^{-1}X = X'X - \sum_i X_i'Z_i D M_i^{-1} Z_i'X_i` etc. The criterion is (REML)

.. math::

    -2\ell_R = (N-p)\{\log(2\pi) + 1 + \log\hat\sigma^2\} + \sum_i \log|M_i|
               + \log|X'V_*^{-1}X|,\qquad \hat\sigma^2 = Q/(N-p),

:math:`Q = \min_\beta (y - X\beta)'V_*^{-1}(y - X\beta)` - the standard REML log-likelihood
without a :math:`\log|X'X|` term, equal to R ``logLik(nlme::lme(..., method = "REML"))``,
``lme4::lmer(REML = TRUE)`` and statsmodels ``MixedLM.fit(reml=True).llf``. ML: :math:`N`
instead of :math:`N-p` and no :math:`\log|X'V_*^{-1}X|`.

Gradient (analytic): with :math:`C_i = M_i^{-1}Z_i'X_i = Z_i'V_{*i}^{-1}X_i`,
:math:`S_i = M_i^{-1}Z_i'Z_i`, :math:`w_i = Z_i'V_{*i}^{-1}(y_i - X_i\hat\beta)`,
:math:`\Phi = (X'V_*^{-1}X)^{-1}`, the derivative of :math:`-2\ell_R` with respect to the
symmetric matrix :math:`D` is :math:`\Gamma = \sum_i [S_i - C_i\Phi C_i' - w_i w_i'/\hat\sigma^2]`
(ML: without the :math:`C_i\Phi C_i'` term) and with respect to :math:`L` it is
:math:`2\Gamma L`.

Grouping: subjects with the same visit times share :math:`Z_i'Z_i`, hence :math:`M_i`. When
there are few such patterns (the usual case: times are per visit, at most :math:`2^T - 1`
patterns) the criterion and gradient are computed from per-pattern cross-products of
:math:`[Z_i'X_i, Z_i'y_i]` (:class:`_GroupedStats`, one evaluation costs O(patterns p^2),
independent of the number of subjects) unless there are so many distinct patterns that these
sums would take more than ~48 MB (continuous times); then per subject (:class:`_Stats`,
O(subjects p^2) per evaluation). Both give the same numbers (tests/unit/test_lmm.py).

Optimisation: the response is divided by its SD and the time by its largest absolute value
(results transformed back exactly). Start: :math:`D = \mathrm{diag}(1, 1/4)` (the OLS residual
variance split equally between the random intercept and the residual, plus a slope SD of half
the residual SD per time range). BFGS with the analytic gradient, then Newton steps with a
central-difference Hessian of the analytic gradient; if the result fails the convergence check,
L-BFGS-B from there, then BFGS from a second start (the best point is kept).
Converged: a local minimum - Newton decrement :math:`g'H^{-1}g < 10^{-8}` (:math:`-2\ell`
scale) with a positive definite Hessian :math:`H` in :math:`L` - or, where :math:`H` is
singular on the boundary (e.g. :math:`l_{11} = 0`), a small gradient (:math:`\max|2\Gamma L|
< 10^{-4}`) with :math:`\Gamma` positive semi-definite (up to :math:`10^{-6}` relative): the
first-order conditions over the cone of positive semi-definite :math:`D` (at an interior
optimum :math:`\Gamma = 0`; on the boundary this rules out a descent direction out of it).
:math:`G = \hat\sigma^2 D` is positive semi-definite by construction; a singular :math:`G`
(smallest eigenvalue of the correlation-scaled :math:`D` below :math:`10^{-6}`, or a relative
variance below :math:`10^{-10}`) is flagged ``singular`` (cf. lme4's ``isSingular``).

Agreement (tests/reference/lmm, R 4.2.2, nlme 3.1-162, lme4 1.1-31, emmeans 1.8.4-1; a
synthetic MAR trial and PBC log-bilirubin): log-likelihood < 1e-12 relative, fixed effects,
vcov, G, sigma^2, LS means and SEs < 2e-6 relative; on a singular-G data set lme4 agrees to
< 1e-6 while nlme's log-Cholesky stops 0.056 log-likelihood units short of the boundary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .mmrm_design import build_design
from .mmrm_lsmeans import cell_rows, wald_tables


def _m_inverse(z00, z01, z11, D):
    """Elements (i00, i01, i10, i11) of M^-1 and det M, for M = I + Z'Z D (2x2, one per subject or per
    visit-time pattern; Z'Z = [[z00, z01], [z01, z11]])."""
    d00, d01, d11 = D[0, 0], D[0, 1], D[1, 1]
    m00 = 1.0 + z00 * d00 + z01 * d01
    m01 = z00 * d01 + z01 * d11
    m10 = z01 * d00 + z11 * d01
    m11 = 1.0 + z01 * d01 + z11 * d11
    det = m00 * m11 - m01 * m10
    return (m11 / det, -m01 / det, -m10 / det, m00 / det), det


def _profiled(XtVX, XtVy, yVy, logdet_m, nu, reml):
    """-2 log-likelihood with beta and sigma^2 profiled out, from X'V*^-1X, X'V*^-1y, y'V*^-1y and
    sum_i log det M_i (V* = V / sigma^2; REML adds log det X'V*^-1X)."""
    R = np.linalg.cholesky(XtVX)
    beta = np.linalg.solve(XtVX, XtVy)
    Q = yVy - float(beta @ XtVy)
    if not Q > 0:
        raise FloatingPointError("non-positive residual quadratic form")
    s2 = Q / nu
    f = nu * (np.log(2 * np.pi) + 1.0 + np.log(s2)) + logdet_m
    if reml:
        f += 2.0 * float(np.log(np.diag(R)).sum())
    return dict(f=f, beta=beta, s2=s2, XtVX=XtVX)


@dataclass
class LMMFit:
    beta: np.ndarray
    vcov: np.ndarray
    G: np.ndarray
    sigma2: float
    loglik: float
    converged: bool
    singular: bool
    grad_max: float
    n_iter: int


class _Stats:
    """Per-subject sufficient statistics (scaled data) and the profiled criterion.

    Arrays over subjects: ``z00, z01, z11`` (entries of Z_i'Z_i), ``A0, A1`` (rows of Z_i'X_i,
    shape (ns, p)), ``a0, a1`` (Z_i'y_i)."""

    def __init__(self, X, y, sidx, t, reml):
        order = np.argsort(sidx, kind="stable")
        s = sidx[order]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        Xo, yo, to = X[order], y[order], t[order]
        self.n, self.p = X.shape
        self.ns = starts.size
        self.reml = reml
        self.z00 = np.diff(np.r_[starts, s.size]).astype(float)
        self.z01 = np.add.reduceat(to, starts)
        self.z11 = np.add.reduceat(to * to, starts)
        self.A0 = np.add.reduceat(Xo, starts, axis=0)
        self.A1 = np.add.reduceat(Xo * to[:, None], starts, axis=0)
        self.a0 = np.add.reduceat(yo, starts)
        self.a1 = np.add.reduceat(yo * to, starts)
        self.XtX = X.T @ X
        self.Xty = X.T @ y
        self.yty = float(y @ y)
        self.nu = self.n - self.p if reml else self.n

    def evaluate(self, D, grad=True):
        """-2 log-likelihood (scaled data; beta and sigma^2 profiled out) and its derivative
        Gamma with respect to the relative covariance D."""
        z00, z01, z11 = self.z00, self.z01, self.z11
        d00, d01, d11 = D[0, 0], D[0, 1], D[1, 1]
        (i00, i01, i10, i11), det = _m_inverse(z00, z01, z11, D)
        A0, A1, a0, a1 = self.A0, self.A1, self.a0, self.a1
        # C_i = M_i^-1 Z_i'X_i = Z_i'V*_i^-1 X_i,  c_i = Z_i'V*_i^-1 y_i
        C0 = i00[:, None] * A0 + i01[:, None] * A1
        C1 = i10[:, None] * A0 + i11[:, None] * A1
        c0 = i00 * a0 + i01 * a1
        c1 = i10 * a0 + i11 * a1
        # V*^-1 = I - Z D M^-1 Z'  =>  X'V*^-1X = X'X - sum_i (Z_i'X_i)' D C_i, etc.
        DC0 = d00 * C0 + d01 * C1
        DC1 = d01 * C0 + d11 * C1
        XtVX = self.XtX - A0.T @ DC0 - A1.T @ DC1
        XtVX = 0.5 * (XtVX + XtVX.T)
        Dc0 = d00 * c0 + d01 * c1
        Dc1 = d01 * c0 + d11 * c1
        XtVy = self.Xty - A0.T @ Dc0 - A1.T @ Dc1
        yVy = self.yty - float(a0 @ Dc0 + a1 @ Dc1)
        out = _profiled(XtVX, XtVy, yVy, float(np.log(det).sum()), self.nu, self.reml)
        beta, s2 = out["beta"], out["s2"]
        if grad:
            # S_i = M_i^-1 Z_i'Z_i,  w_i = Z_i'V*_i^-1 (y_i - X_i beta)
            w0 = c0 - C0 @ beta
            w1 = c1 - C1 @ beta
            Gam = np.array(
                [
                    [(i00 * z00 + i01 * z01).sum(), (i00 * z01 + i01 * z11).sum()],
                    [(i10 * z00 + i11 * z01).sum(), (i10 * z01 + i11 * z11).sum()],
                ]
            )
            Gam -= np.array([[w0 @ w0, w0 @ w1], [w0 @ w1, w1 @ w1]]) / s2
            if self.reml:
                Phi = np.linalg.inv(XtVX)
                P0, P1 = C0 @ Phi, C1 @ Phi
                Gam -= np.array(
                    [[np.vdot(P0, C0), np.vdot(P0, C1)], [np.vdot(P1, C0), np.vdot(P1, C1)]]
                )
            out["Gamma"] = 0.5 * (Gam + Gam.T)
        return out


_BLOCK_ELEMS = 2_000_000  # floats per block of per-subject outer products (_GroupedStats)


class _GroupedStats:
    """The same criterion from per-group cross-products: subjects with the same
    :math:`Z_i'Z_i` (the same visit times) share :math:`M_i`, so with
    :math:`B_i = [Z_i'X_i, Z_i'y_i]` (2 x q, q = p + 1) and the group sums
    :math:`S_g[c, d] = \\sum_{i \\in g} B_i[c]' B_i[d]` (q x q) one evaluation costs
    O(groups q^2), independent of the number of subjects."""

    def __init__(self, st: _Stats, X, y, groups, inv):
        self.n, self.p, self.nu, self.reml = st.n, st.p, st.nu, st.reml
        q = st.p + 1
        G = groups.shape[0]
        self.z00, self.z01, self.z11 = groups[:, 0], groups[:, 1], groups[:, 2]
        self.ng = np.bincount(inv, minlength=G).astype(float)
        B = np.stack([np.column_stack([st.A0, st.a0]), np.column_stack([st.A1, st.a1])], axis=1)
        order = np.argsort(inv, kind="stable")
        g_sorted = inv[order]
        S = np.zeros((G, 2, 2, q, q))
        chunk = max(1, _BLOCK_ELEMS // (4 * q * q))  # subjects per block (bounded memory)
        for lo in range(0, st.ns, chunk):  # loop over blocks of subjects, vectorised within
            idx = order[lo : lo + chunk]
            gs = g_sorted[lo : lo + chunk]
            starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
            Bc = B[idx]
            S[gs[starts]] += np.add.reduceat(np.einsum("ncq,ndr->ncdqr", Bc, Bc), starts, axis=0)
        self.S = S.reshape(G * 4, q * q)
        Xy = np.column_stack([X, y])
        self.W = Xy.T @ Xy

    def evaluate(self, D, grad=True):
        z00, z01, z11 = self.z00, self.z01, self.z11
        (i00, i01, i10, i11), det = _m_inverse(z00, z01, z11, D)
        G = det.size
        Minv = np.empty((G, 2, 2))
        Minv[:, 0, 0], Minv[:, 0, 1], Minv[:, 1, 0], Minv[:, 1, 1] = i00, i01, i10, i11
        K = np.einsum("ab,gbc->gac", D, Minv)  # D M_g^-1 (symmetric)
        p, q = self.p, self.p + 1
        P = self.W - (K.reshape(-1) @ self.S).reshape(q, q)
        P = 0.5 * (P + P.T)
        XtVX, XtVy, yVy = P[:p, :p], P[:p, p], float(P[p, p])
        out = _profiled(XtVX, XtVy, yVy, float(self.ng @ np.log(det)), self.nu, self.reml)
        beta, s2 = out["beta"], out["s2"]
        if grad:
            ZtZ = np.empty((G, 2, 2))
            ZtZ[:, 0, 0], ZtZ[:, 0, 1], ZtZ[:, 1, 0], ZtZ[:, 1, 1] = z00, z01, z01, z11
            gam = np.append(-beta, 1.0)
            inner = (self.S @ np.outer(gam, gam).reshape(-1)).reshape(G, 2, 2) / s2
            if self.reml:
                Phi = np.zeros((q, q))
                Phi[:p, :p] = np.linalg.inv(XtVX)
                inner += (self.S @ Phi.reshape(-1)).reshape(G, 2, 2)
            Gam = np.einsum("g,gab,gbc->ac", self.ng, Minv, ZtZ) - np.einsum(
                "gac,gcd,gbd->ab", Minv, inner, Minv
            )
            out["Gamma"] = 0.5 * (Gam + Gam.T)
        return out


def _stats(X, y, sidx, t, reml, grouped=None):
    """Per-visit-pattern statistics unless the patterns are too many (``grouped=None``);
    ``grouped=True/False`` forces one or the other."""
    st = _Stats(X, y, sidx, t, reml)
    if grouped is False:
        return st
    groups, inv = np.unique(np.column_stack([st.z00, st.z01, st.z11]), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    q = st.p + 1
    if grouped or groups.shape[0] * q * q <= 1_500_000:  # per-group sums take <= 48 MB
        return _GroupedStats(st, X, y, groups, inv)
    return st


def _D_of(theta):
    L = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    return L, L @ L.T


def _grad_theta(Gam, L):
    g = 2.0 * Gam @ L
    return np.array([g[0, 0], g[1, 0], g[1, 1]])


def fit_lmm(X, y, sidx, t, reml=True, grouped=None) -> LMMFit:
    """Fit the random intercept and slope model; ``sidx``: subject index per row (any ints),
    ``t``: time per row. Returns results on the original scale of ``y`` and ``t``.
    ``grouped``: force (True) or forbid (False) the per-visit-pattern statistics; default:
    whichever is cheaper."""
    from scipy import optimize

    X = np.asarray(X, float)
    y = np.asarray(y, float)
    t = np.asarray(t, float)
    sidx = np.asarray(sidx)
    y_scale = float(np.std(y)) if y.size > 1 and np.std(y) > 0 else 1.0
    t_scale = float(np.max(np.abs(t))) if t.size and np.max(np.abs(t)) > 0 else 1.0
    if X.shape[0] - (X.shape[1] if reml else 0) <= 0:
        raise ValueError("no residual degrees of freedom for the random-slope LMM")
    st = _stats(X, y / y_scale, sidx, t / t_scale, reml, grouped)

    def fun(theta):
        L, D = _D_of(theta)
        try:
            ev = st.evaluate(D)
        except (np.linalg.LinAlgError, FloatingPointError):
            return np.inf, np.full(3, np.nan)
        return ev["f"], _grad_theta(ev["Gamma"], L)

    def hessian(theta):
        h = 1e-5 * np.maximum(1.0, np.abs(theta))
        H = np.empty((3, 3))
        for k in range(3):
            e = np.zeros(3)
            e[k] = h[k]
            H[:, k] = (fun(theta + e)[1] - fun(theta - e)[1]) / (2 * h[k])
        return 0.5 * (H + H.T)

    def polish(theta, f0, g0):
        """Newton steps with backtracking; returns theta, f, g, H, Newton decrement."""
        for _ in range(30):
            H = hessian(theta)
            try:
                np.linalg.cholesky(H)
            except np.linalg.LinAlgError:
                return theta, f0, g0, H, np.inf
            step = -np.linalg.solve(H, g0)
            dec = float(-g0 @ step)
            if not np.isfinite(dec) or dec < 1e-12:
                return theta, f0, g0, H, dec
            lam = 1.0
            while lam > 1e-4:
                f1, g1 = fun(theta + lam * step)
                if f1 <= f0 + 1e-4 * lam * (g0 @ step):
                    break
                lam /= 2
            else:
                return theta, f0, g0, H, dec
            theta, f0, g0 = theta + lam * step, f1, g1
        H = hessian(theta)
        try:
            dec = (
                float(g0 @ np.linalg.solve(H, g0)) if np.all(np.linalg.eigvalsh(H) > 0) else np.inf
            )
        except np.linalg.LinAlgError:
            dec = np.inf
        return theta, f0, g0, H, dec

    def check(theta, g, dec):
        """Converged: a local minimum (Newton decrement < 1e-8 with a positive definite
        Hessian) or, where the Hessian is singular on the boundary, a small gradient with
        Gamma positive semi-definite (first-order conditions over the PSD cone)."""
        if not np.all(np.isfinite(g)):
            return False
        if dec < 1e-8:
            return True
        L, D = _D_of(theta)
        gam = np.linalg.eigvalsh(st.evaluate(D)["Gamma"])
        psd = gam[0] >= -1e-6 * max(1.0, float(np.max(np.abs(gam))))
        return bool(np.max(np.abs(g)) < 1e-4 and psd)

    # BFGS from the start (D = diag(1, 1/4)), Newton polish; if that does not satisfy the
    # convergence check, L-BFGS-B from the point reached, then BFGS from a second start
    n_iter, best = 0, None
    attempts = (
        (np.array([1.0, 0.0, 0.5]), "BFGS"),
        (None, "L-BFGS-B"),
        (np.array([0.3, 0.1, 0.3]), "BFGS"),
    )
    for x0, method in attempts:
        if x0 is None:
            x0 = best[0]
        with np.errstate(all="ignore"):
            res = optimize.minimize(
                fun, x0, jac=True, method=method, options={"maxiter": 1000, "gtol": 1e-7}
            )
        n_iter += int(res.nit)
        if not np.isfinite(res.fun):
            continue
        theta, f, g, H, dec = polish(np.asarray(res.x, float), *fun(np.asarray(res.x, float)))
        ok = check(theta, g, dec)
        if best is None or f < best[1] - 1e-10 or (ok and not best[2] and f < best[1] + 1e-8):
            best = (theta, f, ok)
        if best[2]:
            break
    if best is None:
        raise FloatingPointError("random-slope LMM: the likelihood could not be evaluated")
    theta, _, converged = best

    L, D = _D_of(theta)
    ev = st.evaluate(D)
    gmax = float(np.max(np.abs(_grad_theta(ev["Gamma"], L))))
    sd = np.sqrt(np.maximum(np.diag(D), 0.0))
    small_var = np.diag(D) < 1e-10
    Dc = D / np.outer(np.where(sd > 0, sd, 1.0), np.where(sd > 0, sd, 1.0))
    singular = bool(small_var.any() or np.linalg.eigvalsh(Dc)[0] < 1e-6)

    s2 = ev["s2"] * y_scale**2
    Sc = np.diag([1.0, 1.0 / t_scale])
    G = s2 * (Sc @ D @ Sc)
    G = 0.5 * (G + G.T)
    beta = ev["beta"] * y_scale
    vcov = s2 * np.linalg.inv(ev["XtVX"])
    vcov = 0.5 * (vcov + vcov.T)
    loglik = -0.5 * ev["f"] - st.nu * np.log(y_scale)
    return LMMFit(
        beta=beta,
        vcov=vcov,
        G=G,
        sigma2=float(s2),
        loglik=float(loglik),
        converged=bool(converged),
        singular=singular,
        grad_max=gmax,
        n_iter=n_iter,
    )


# ----------------------------------------------------------------------------------------------
# the pipeline's sensitivity model to the MMRM
# ----------------------------------------------------------------------------------------------
SINGULAR_WARNING = (
    "random-slope LMM: the estimated random-effects covariance G is singular "
    "(boundary of the parameter space)"
)


def fit_random_slope_lmm(
    data,
    response="CHG",
    subject="USUBJID",
    visit="AVISIT",
    visit_order=None,
    time=None,
    arm="ARM",
    arm_levels=None,
    reference=None,
    covariates=("BASE",),
    factors=(),
    reml=True,
    alpha=0.05,
):
    r"""Random-intercept-and-slope linear mixed model (sensitivity analysis to the MMRM).

    Model (R ``nlme::lme(CHG ~ BASE + STRATUM + ARM*AVISIT, random = ~ TIME | USUBJID)``,
    ``lme4::lmer(CHG ~ BASE + STRATUM + ARM*AVISIT + (1 + TIME | USUBJID))``; SAS ``PROC MIXED;
    RANDOM INTERCEPT TIME / SUBJECT=USUBJID TYPE=UN``):

    .. math::

        y_{ij} = x_{ij}'\beta + b_{0i} + b_{1i} t_j + e_{ij},\quad
        (b_{0i}, b_{1i}) \sim N(0, G),\ e_{ij} \sim N(0, \sigma^2),

    with the same fixed effects as :class:`hepatrial.models.mmrm.MMRM` (visit as a factor, so the mean trajectory
    is unstructured) and ``t_j`` the visit time. The within-subject covariance is therefore
    :math:`Z G Z' + \sigma^2 I` instead of an unstructured :math:`\Sigma`.

    Estimation by the own profiled REML (or ML) engine :func:`fit_lmm`
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
    Other parameters as in :meth:`hepatrial.models.mmrm.MMRM.fit`.

    Returns
    -------
    dict
        ``lsmeans`` and ``diffs`` (polars DataFrames as in :class:`hepatrial.models.mmrm.MMRM`, LS means with equal
        factor weights; inference is Wald with *normal* quantiles, as R ``emmeans(...,
        mode = "asymptotic")``; no small-sample df), ``beta``, ``vcov``, ``coef_names``,
        ``G`` (random-effects covariance), ``sigma2``, ``loglik``, ``converged``.
    """
    design, meta, Xr, y, sidx, vis = build_design(
        data,
        response,
        subject,
        visit,
        visit_order,
        arm,
        arm_levels,
        reference,
        list(covariates or ()),
        list(factors or ()),
        False,
    )
    y = y * meta.y_scale  # build_design returns the scaled response
    tmap = time or {v: float(i) for i, v in enumerate(meta.visit_levels)}
    present = np.unique(vis)  # only visits with data need a time (as before)
    tlev = np.full(len(meta.visit_levels), np.nan)
    tlev[present] = [float(tmap[meta.visit_levels[v]]) for v in present]
    tvec = tlev[vis]
    res = fit_lmm(Xr, y, sidx, tvec, reml=reml)
    if res.singular:
        warnings.warn(SINGULAR_WARNING, RuntimeWarning, stacklevel=2)
    beta = res.beta
    V = res.vcov

    # LS means with the fixed model's L rows (equal factor weights)
    rows = cell_rows(meta, design, arm, visit, "equal")
    lsmeans, diffs = wald_tables(meta, rows, beta, V, alpha)
    return {
        "lsmeans": lsmeans,
        "diffs": diffs,
        "beta": beta,
        "vcov": V,
        "coef_names": design.col_names,
        "G": res.G,
        "sigma2": res.sigma2,
        "loglik": res.loglik,
        "converged": res.converged,
        "singular": res.singular,
    }

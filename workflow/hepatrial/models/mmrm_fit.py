"""Fitting core of the MMRM engine: optimisation and small-sample inference on a
:class:`~hepatrial.models.mmrm_core.Design`, wrapped by the formula interface
:func:`hepatrial.models.mmrm.fit` (and through it by :class:`hepatrial.models.mmrm.MMRM`).

The design is on the scaled response ``y / y_scale`` (optimiser tolerances and finite-difference
steps are then scale-free); every result is transformed back exactly: ``Sigma_y(theta) =
y_scale^2 Sigma_z(theta)``, so ``theta``'s inverse information ``A`` is unchanged and ``Phi``,
``dPhi/dtheta`` and the adjusted covariances scale by ``y_scale^2``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
from scipy import optimize, special

from ..errors import ConvergenceError
from .mmrm_core import Design, Engine
from .mmrm_cov import CovStructure, canonical_name
from .mmrm_infer import (
    bw_df,
    empirical_df_1d,
    fstat_ddf,
    kr_adjusted_vcov,
    kr_df,
    satterthwaite_1d,
)

#: denominator degrees of freedom (SAS ``DDFM=``; see the :mod:`hepatrial.models.mmrm` docstring)
DF_METHODS = (
    "satterthwaite",
    "kenward_roger",
    "kenward_roger_linear",
    "kenward_roger_full",
    "between_within",
    "residual",
    "asymptotic",
)
#: covariance of the fixed effects
VCOV_METHODS = (
    "model",
    "kenward_roger",
    "kenward_roger_linear",
    "empirical",
    "empirical_bias_reduced",
    "empirical_jackknife",
)


def default_vcov(df: str) -> str:
    return {
        "kenward_roger": "kenward_roger",
        "kenward_roger_full": "kenward_roger",
        "kenward_roger_linear": "kenward_roger_linear",
    }.get(df, "model")


# ----------------------------------------------------------------------------------------------
# starting values and optimisation
# ----------------------------------------------------------------------------------------------
def empirical_start(design: Design, n_groups: int):
    """Pairwise-complete covariance of OLS residuals (per covariance group), made PD."""
    obs = design.obs
    si, vi = np.nonzero(obs)
    Xr = design.Xs[si, vi]
    y = design.Ys[si, vi]
    ns, T = obs.shape
    beta = np.linalg.lstsq(Xr, y, rcond=None)[0]
    r = y - Xr @ beta
    out = []
    for g in range(n_groups):
        R = np.zeros((ns, T))
        Mk = np.zeros((ns, T))
        R[si, vi] = r
        Mk[si, vi] = 1.0
        keep = design.group == g
        R, Mk = R[keep], Mk[keep]
        cnt = Mk.T @ Mk
        with np.errstate(invalid="ignore", divide="ignore"):
            S = (R.T @ R) / cnt
        var = np.diag(S).copy()
        good = np.isfinite(var) & (var > 0)
        fill = np.nanmean(var[good]) if good.any() else max(np.var(r), 1e-8)
        var[~good] = fill
        sd = np.sqrt(var)
        with np.errstate(invalid="ignore", divide="ignore"):
            C = S / np.outer(np.sqrt(np.abs(np.diag(S))), np.sqrt(np.abs(np.diag(S))))
        C[~np.isfinite(C)] = 0.0
        C = np.clip(C, -0.99, 0.99)
        np.fill_diagonal(C, 1.0)
        w, U = np.linalg.eigh(C)
        w = np.clip(w, 1e-3, None)
        C = U @ np.diag(w) @ U.T
        d = np.sqrt(np.diag(C))
        C = C / np.outer(d, d)
        out.append(C * np.outer(sd, sd))
    return out


def newton_polish(eng: Engine, theta, max_iter=30, tol=1e-12):
    """Newton steps on the observed Hessian with step halving; returns theta, H, decrement."""
    cur = eng.evaluate(theta, grad=True)
    H = None
    dec = np.inf
    for _ in range(max_iter):
        H = eng.hessian(theta)
        if not np.all(np.isfinite(H)):
            return theta, H, np.inf
        try:
            c = sla.cho_factor(-H)
        except np.linalg.LinAlgError:
            return theta, H, np.inf
        step = sla.cho_solve(c, cur["grad"])
        dec = float(cur["grad"] @ step)
        if dec < tol:
            break
        t = 1.0
        improved = False
        while t > 1e-6:
            cand = eng.evaluate(theta + t * step, grad=True)
            if np.isfinite(cand["ll"]) and cand["ll"] >= cur["ll"] - 1e-12 * abs(cur["ll"]):
                theta, cur, improved = theta + t * step, cand, True
                break
            t /= 2
        if not improved:
            break
    H = eng.hessian(theta)
    try:
        c = sla.cho_factor(-H)
        dec = float(cur["grad"] @ sla.cho_solve(c, cur["grad"]))
    except (np.linalg.LinAlgError, ValueError):
        dec = np.inf
    return theta, H, dec


def check_converged(eng: Engine, theta, H, dec, tol_dec=1e-8):
    for S in eng.pattern_sigmas(theta) if eng.spatial else eng.sigmas(theta):
        ev = np.linalg.eigvalsh(S)
        if not np.all(np.isfinite(ev)) or ev.min() <= 1e-8 * ev.max():
            return False, "fitted covariance matrix is singular (boundary)"
    if not np.all(np.isfinite(H)) or not np.isfinite(dec):
        return False, "Hessian not negative definite or not finite"
    w = np.linalg.eigvalsh(-H)
    if w.min() <= 1e-10 * max(w.max(), 1e-300):
        return False, "Hessian not negative definite"
    if dec > tol_dec:
        return False, f"gradient not zero (Newton decrement {dec:.3g})"
    return True, "converged"


def optimise(eng: Engine, theta0, methods=("BFGS", "L-BFGS-B", "Nelder-Mead", "trust-constr")):
    N = max(eng.N, 1)
    q = theta0.size

    def fun(th):
        r = eng.evaluate(th, grad=True)
        if not np.isfinite(r["ll"]):
            return 1e300, np.zeros_like(th)
        return -r["ll"] / N, -r["grad"] / N

    def f_only(th):
        return fun(th)[0]

    best = np.asarray(theta0, dtype=float)
    best_f = f_only(best)
    log = []
    for m in methods:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if m == "Nelder-Mead":
                    res = optimize.minimize(
                        f_only,
                        best,
                        method=m,
                        options={
                            "maxfev": 200 * q,
                            "xatol": 1e-9,
                            "fatol": 1e-13,
                            "adaptive": True,
                        },
                    )
                elif m == "trust-constr":
                    res = optimize.minimize(
                        fun,
                        best,
                        jac=True,
                        method=m,
                        hess=optimize.BFGS(),
                        options={"maxiter": 500, "gtol": 1e-10},
                    )
                elif m == "L-BFGS-B":
                    res = optimize.minimize(
                        fun,
                        best,
                        jac=True,
                        method=m,
                        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 30},
                    )
                else:
                    res = optimize.minimize(
                        fun, best, jac=True, method=m, options={"maxiter": 5000, "gtol": 1e-9}
                    )
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            log.append((m, f"failed: {exc}"))
            continue
        if np.isfinite(res.fun) and res.fun <= best_f:
            best, best_f = np.asarray(res.x, float), float(res.fun)
        theta, H, dec = newton_polish(eng, best)
        ok, msg = check_converged(eng, theta, H, dec)
        log.append((m, msg))
        if ok:
            return theta, H, True, m, log
        if f_only(theta) <= best_f:
            best, best_f = theta, f_only(theta)
        if "singular" in msg:
            # likelihood increases towards the boundary: no optimiser can fix this
            break
    return best, None, False, None, log


# ----------------------------------------------------------------------------------------------
class FitCore:
    """REML/ML fit of one design and everything inference needs.

    Parameters
    ----------
    design : Design
        On the scaled response (``y / y_scale``), weights already applied.
    covariance : str
        Structure tried first; ``fallback`` structures after it if it does not converge.
    n_groups : int
        Number of covariance groups (``design.group`` codes ``0..n_groups-1``).
    reml : bool
    df : str, one of :data:`DF_METHODS`
    vcov : str or None, one of :data:`VCOV_METHODS` (default from ``df``)
    y_scale : float
    """

    def __init__(
        self,
        design: Design,
        covariance="UN",
        n_groups=1,
        reml=True,
        df="satterthwaite",
        vcov=None,
        fallback=(),
        y_scale=1.0,
        theta_start=None,
        theta_fixed=None,
    ):
        if df not in DF_METHODS:
            raise ValueError(f"df must be one of {DF_METHODS}")
        vcov = vcov or default_vcov(df)
        if vcov not in VCOV_METHODS:
            raise ValueError(f"vcov must be one of {VCOV_METHODS}")
        if (df.startswith("kenward") or vcov.startswith("kenward")) and not reml:
            raise ValueError("Kenward-Roger requires REML")
        if df.startswith("kenward") != vcov.startswith("kenward"):
            raise ValueError(
                "Kenward-Roger df and Kenward-Roger vcov go together (SAS DDFM=KR adjusts both)"
            )
        self.design, self.reml, self.df, self.vcov_method = design, reml, df, vcov
        self.y_scale = float(y_scale)
        self.n_groups = int(n_groups)
        T = design.obs.shape[1]
        S_emp = empirical_start(design, self.n_groups)
        first = canonical_name(covariance)
        seq = [first] + [canonical_name(s) for s in fallback if canonical_name(s) != first]
        attempts = []
        for name in seq:
            structs = [CovStructure(name, T) for _ in range(self.n_groups)]
            eng = Engine(design, structs, reml=reml)
            if theta_fixed is not None:
                # evaluate at given covariance parameters (no optimisation), e.g. SAS's
                theta = np.asarray(theta_fixed, float)
                H = eng.hessian(theta)
                ok, opt, log = True, "fixed", [("fixed", "theta given")]
                attempts.append((name, log))
                break
            if theta_start is not None and name == first:
                theta0 = np.asarray(theta_start, float)
            else:
                theta0 = np.concatenate([s.start(S) for s, S in zip(structs, S_emp)])
            theta, H, ok, opt, log = optimise(eng, theta0)
            attempts.append((name, log))
            if ok:
                break
        else:
            raise ConvergenceError(
                "MMRM did not converge under any covariance structure: "
                + "; ".join(f"{n}: {lg[-1][1] if lg else 'no attempt'}" for n, lg in attempts)
            )
        self.fit_attempts = attempts
        self.covariance_used = name
        self.optimizer = opt
        self.engine = eng
        self.theta = theta
        self.hessian = H
        self.theta_vcov = np.linalg.inv(-H)
        ev = eng.evaluate(theta)
        self._ev = ev
        sc = self.y_scale
        self.beta = ev["beta"] * sc
        self.vcov_model = ev["M"] * sc**2
        self.cov_matrices = [S * sc**2 for S in ev["S"]]
        p, q = design.p, eng.n_theta
        self.n_obs = design.n_obs
        self.n_subjects = int(design.subjects.size)
        self.n_patterns = len(design.patterns)
        n_eff = self.n_obs - (p if reml else 0)
        self.loglik = ev["ll"] - n_eff * np.log(sc)
        self.aic = -2 * self.loglik + 2 * (p + q)
        self.bic = -2 * self.loglik + np.log(n_eff) * (p + q)
        self._setup_inference(ev)

    # ------------------------------------------------------------------------------------------
    def theta_from_sas(self, phi_groups):
        """``theta`` (on the fit's response scale) from SAS covariance parameters per group."""
        out = []
        for s, phi in zip(self.engine.structs, phi_groups):
            out.append(s.theta_from_sas(np.asarray(phi, float) / _var_mask(s, self.y_scale**2)))
        return np.concatenate(out)

    def sas_covparms(self):
        """SAS ``Covariance Parameter Estimates``: list of (group, name, estimate)."""
        out = []
        for g, (s, t) in enumerate(zip(self.engine.structs, self.engine.split(self.theta))):
            phi = np.real(s.sas_params(t))
            # variances / covariances scale by y_scale^2; correlations and ranges do not
            sc2 = self.y_scale**2
            for n, v in zip(s.sas_names(), phi * _var_mask(s, sc2)):
                out.append((g, n, float(v)))
        return out

    def _setup_inference(self, ev):
        eng, A = self.engine, self.theta_vcov
        s2 = self.y_scale**2
        Phi = ev["M"]
        self._D = None
        self._A = A
        vm = self.vcov_method
        need_d = self.df in ("satterthwaite",) or self.df.startswith("kenward")
        if self.df.startswith("kenward"):
            full = vm == "kenward_roger"
            kind = "sas" if full else "theta"
            K, Q, R = eng.kr_components(self.theta, ev["W"], second_order=full, kind=kind)
            if kind == "sas":
                Jt = eng.sas_param_jacobian(self.theta)
                A = Jt @ A @ Jt.T
                self._A = A
            self.vcov = s2 * kr_adjusted_vcov(Phi, K, Q, A, R if full else None)
            self._D = s2 * np.einsum("ab,qbc,cd->qad", Phi, K, Phi, optimize=True)
        else:
            if need_d:
                K = eng.k_only(self.theta, ev["W"])
                self._D = s2 * np.einsum("ab,qbc,cd->qad", Phi, K, Phi, optimize=True)
            if vm.startswith("empirical"):
                self._emp = self._empirical(ev, vm)
                self.vcov = self._emp["vcov"]
            else:
                self.vcov = self.vcov_model
        if self.df == "between_within":
            self._bw = bw_df(self.design)

    def _empirical(self, ev, kind):
        """Sandwich covariance (R mmrm ``vcov = "Empirical"``, ``"Empirical-Bias-Reduced"``,
        ``"Empirical-Jackknife"``) and the per-subject quantities of its Satterthwaite df."""
        d = self.design
        M = ev["M"]  # scaled
        beta = ev["beta"]
        p = d.p
        meat = np.zeros((p, p))
        parts = []  # (B_i, A*_i) per pattern, for the df
        Ls = [np.linalg.cholesky(S) for S in self.engine.pattern_sigmas(self.theta)]
        for pat, L in zip(d.patterns, Ls):
            X = d.Xs[np.ix_(pat.subjects, pat.vis)]  # (n, k, p)
            y = d.Ys[np.ix_(pat.subjects, pat.vis)]
            r = y - X @ beta
            Ci = sla.solve_triangular(L, np.eye(L.shape[0]), lower=True)  # L^-1; C = L^-T
            B = np.einsum("ij,njp->nip", Ci, X)  # C' X
            cr = r @ Ci.T  # C' r
            k = pat.vis.size
            if kind == "empirical":
                Astar = np.broadcast_to(np.eye(k), (X.shape[0], k, k))
            else:
                Amat = np.eye(k) - np.einsum("nip,pq,njq->nij", B, M, B)
                w, U = np.linalg.eigh(Amat)
                if kind == "empirical_jackknife":
                    f = np.where(w > 1e-12, 1.0 / np.where(w > 1e-12, w, 1), 0.0)
                else:
                    f = np.where(w > 1e-12, 1.0 / np.sqrt(np.where(w > 1e-12, w, 1)), 0.0)
                Astar = np.einsum("nij,nj,nkj->nik", U, f, U)
            z = np.einsum("nip,nij,nj->np", B, Astar, cr)
            meat += z.T @ z
            parts.append((B, Astar))
        sc2 = self.y_scale**2
        # jackknife as R mmrm "Empirical-Jackknife": no (n - 1) / n factor
        V = M @ meat @ M
        return {"vcov": sc2 * V, "parts": parts, "M": M}

    # ------------------------------------------------------------------------------------------
    def df_1d(self, l) -> float:
        l = np.asarray(l, float)
        if self.df == "residual":
            return float(self.n_obs - self.design.p)
        if self.df == "asymptotic":
            return np.inf
        if self.df == "between_within":
            return self._bw.df(l)
        if self.vcov_method.startswith("empirical"):
            return empirical_df_1d(l, self._emp["parts"], self._emp["M"])
        return satterthwaite_1d(l, self.vcov_model, self._D, self._A)

    def contrast(self, L):
        """Estimate, SE and df of the rows of ``L`` (each a linear function of ``beta``)."""
        L = np.atleast_2d(np.asarray(L, float))
        est = L @ self.beta
        se = np.sqrt(np.einsum("ia,ab,ib->i", L, self.vcov, L))
        df = np.array([self.df_1d(r) for r in L])
        return est, se, df

    def f_test(self, L):
        """Wald F test of ``L beta = 0``: (num_df, den_df, F, p)."""
        L = np.atleast_2d(np.asarray(L, float))
        if self.df.startswith("kenward"):
            # KR: F from the adjusted covariance, scaled by lambda; L of full row rank
            L = _row_basis(L, self.vcov)
            c = L.shape[0]
            est = L @ self.beta
            F = float(est @ np.linalg.solve(L @ self.vcov @ L.T, est) / c)
            ddf, lam = kr_df(L, self.vcov_model, self._D, self._A)
            F *= lam
        else:
            # eigen-directions of L V L' (lmerTest / mmrm h_df_md_sat)
            VL = L @ self.vcov @ L.T
            d, U = np.linalg.eigh(VL)
            keep = d > 1e-10 * max(d.max(), 1e-300)
            d, U = d[keep], U[:, keep]
            c = int(d.size)
            Lr = U.T @ L
            est = Lr @ self.beta
            F = float(np.sum(est**2 / d) / c)
            if self.df in ("residual", "asymptotic", "between_within"):
                ddf = min(self.df_1d(r) for r in Lr)
            else:
                ddf = fstat_ddf([self.df_1d(r) for r in Lr])
        if np.isfinite(ddf):
            p = float(special.fdtrc(c, ddf, F))
        else:
            p = float(special.chdtrc(c, F * c))
        return c, float(ddf), float(F), p


def _row_basis(L, V):
    """Rows spanning the same hypothesis as ``L`` with ``L V L'`` non-singular."""
    VL = L @ V @ L.T
    d, U = np.linalg.eigh(VL)
    keep = d > 1e-10 * max(d.max(), 1e-300)
    return U[:, keep].T @ L


def _var_mask(s: CovStructure, sc2: float) -> np.ndarray:
    """Factor by which each SAS parameter scales when the response is multiplied by
    ``sqrt(sc2)``: variances/covariances by ``sc2``, correlations and ranges by 1."""
    names = s.sas_names()
    keep = [
        not (n.startswith(("AR(1)", "ARH(1)", "CSH", "TOEPH", "Rho", "SP(EXP)"))) for n in names
    ]
    return np.where(keep, sc2, 1.0)

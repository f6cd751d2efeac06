"""Design matrix, missingness patterns and the (RE)ML likelihood of the MMRM engine.

The likelihood is evaluated from per-pattern sufficient statistics. Subjects sharing the same
covariance group and the same set of observed visits (a *pattern*) share the sub-block
``Sigma_p = Sigma[obs, obs]``; for a pattern with ``n`` subjects, ``k`` observed visits and
``p`` fixed-effect columns we store once

``AXX[i,a,j,b] = sum_n X[n,i,a] X[n,j,b]``, ``AXy[i,a,j] = sum_n X[n,i,a] y[n,j]``,
``Ayy[i,j] = sum_n y[n,i] y[n,j]``,

so that ``X'V^-1 X``, ``X'V^-1 y``, ``y'V^-1 y``, the score and the Kenward-Roger ``P, Q, R``
matrices are contractions of these tensors with ``Sigma_p^-1`` (no per-subject work inside the
optimiser; cost per evaluation is independent of the number of subjects).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from .mmrm_cov import CovStructure

LOG2PI = float(np.log(2 * np.pi))


@dataclass
class Pattern:
    group: int
    vis: np.ndarray  # observed visit indices (sorted)
    subjects: np.ndarray  # subject row indices into the design arrays
    AXX: np.ndarray
    AXy: np.ndarray
    Ayy: np.ndarray
    AXX2: np.ndarray = None  # (p*p, k*k): AXX2[a*p+b, i*k+j] = AXX[i,a,j,b]
    AXy2: np.ndarray = None  # (p, k*k):   AXy2[a, i*k+j] = AXy[i,a,j]
    dist: np.ndarray = None  # (k, k) distances of the observations (spatial structures)

    def __post_init__(self):
        k, p = self.AXX.shape[0], self.AXX.shape[1]
        self.AXX2 = np.ascontiguousarray(self.AXX.transpose(1, 3, 0, 2).reshape(p * p, k * k))
        self.AXy2 = np.ascontiguousarray(self.AXy.transpose(1, 0, 2).reshape(p, k * k))
        self.ix = np.ix_(self.vis, self.vis)

    @property
    def n(self) -> int:
        return int(self.subjects.size)


@dataclass
class Design:
    """Model matrices in subject x visit layout (see :func:`hepatrial.models.mmrm.MMRM.fit`)."""

    Xs: np.ndarray  # (n_subjects, T, p); rows of unobserved visits are zero
    Ys: np.ndarray  # (n_subjects, T); NaN where unobserved
    obs: np.ndarray  # (n_subjects, T) bool
    group: np.ndarray  # (n_subjects,) covariance group code
    col_names: list[str]
    terms: dict[str, list[int]]
    subjects: np.ndarray
    patterns: list[Pattern] = field(default_factory=list)
    coords: np.ndarray = None  # (n_subjects, T, dim) coordinates (spatial structures)
    log_w_sum: float = 0.0  # sum of log observation weights (likelihood constant)
    col_kind: list = None  # per column "intercept" / "between" / "within" (between-within df)

    @property
    def n_obs(self) -> int:
        return int(self.obs.sum())

    @property
    def p(self) -> int:
        return self.Xs.shape[2]


def build_patterns(Xs, Ys, obs, group, coords=None) -> list[Pattern]:
    """Group subjects by (covariance group, set of observed visits[, coordinates of the observed
    visits]); sufficient statistics. With ``coords`` (spatial structures) each pattern also
    holds the distance matrix of its observations."""
    T = obs.shape[1]
    code = group.astype(np.int64) * (1 << T) + (obs.astype(np.int64) << np.arange(T)).sum(axis=1)
    if coords is None:
        uniq, inv = np.unique(code, return_inverse=True)
    else:
        cz = np.where(obs[:, :, None], coords, 0.0).reshape(obs.shape[0], -1)
        key = np.column_stack([code.astype(float), cz])
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        uniq = uniq[:, 0].astype(np.int64)
    inv = np.asarray(inv).ravel()
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(uniq.size + 1))
    out = []
    p = Xs.shape[2]
    for u in range(uniq.size):
        subj = order[bounds[u] : bounds[u + 1]]
        g = int(uniq[u] >> T)
        vis = np.flatnonzero(obs[subj[0]])
        if vis.size == 0:
            continue
        k = vis.size
        X = Xs[np.ix_(subj, vis)]  # (n, k, p)
        Y = Ys[np.ix_(subj, vis)]  # (n, k)
        Xf = X.reshape(subj.size, k * p)
        AXX = (Xf.T @ Xf).reshape(k, p, k, p)
        AXy = (Xf.T @ Y).reshape(k, p, k)
        Ayy = Y.T @ Y
        pat = Pattern(g, vis, subj, AXX, AXy, Ayy)
        if coords is not None:
            c = coords[subj[0], vis]
            pat.dist = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
        out.append(pat)
    return out


class Engine:
    """REML / ML log-likelihood of ``y ~ N(X beta, blockdiag(Sigma_g(theta_g)[obs, obs]))``.

    Parameters
    ----------
    design : Design
    structures : list of CovStructure
        One per covariance group (a single one unless group-specific covariance is requested).
    reml : bool

    Observation weights are applied to the data before (``sqrt(w) y``, ``sqrt(w) X``; SAS
    ``WEIGHT``: ``V = W^-1/2 Sigma W^-1/2``); the log-likelihood adds ``1/2 sum log w``.
    """

    def __init__(self, design: Design, structures: list[CovStructure], reml: bool = True):
        self.d = design
        self.structs = structures
        self.reml = reml
        self.q_g = [s.n_theta for s in structures]
        self.offsets = np.concatenate([[0], np.cumsum(self.q_g)]).astype(int)
        self.n_theta = int(self.offsets[-1])
        self.N = design.n_obs
        self.p = design.p
        # spatial structures without coordinates use the visit positions (a T x T matrix)
        self.spatial = bool(structures) and structures[0].spatial and design.coords is not None

    def split(self, theta):
        return [theta[self.offsets[g] : self.offsets[g + 1]] for g in range(len(self.structs))]

    def sigmas(self, theta):
        return [s.sigma(t) for s, t in zip(self.structs, self.split(theta))]

    def pattern_sigmas(self, theta):
        """``Sigma`` of each pattern's observed visits."""
        if self.spatial:
            th = self.split(theta)
            return [self.structs[p.group].sigma(th[p.group], p.dist) for p in self.d.patterns]
        S_g = self.sigmas(theta)
        return [S_g[p.group][p.ix] for p in self.d.patterns]

    def pattern_derivs(self, theta, kind="theta", second=False):
        """Per pattern ``dSigma_p`` (``(q_g, k, k)``) and, if ``second``, ``d2Sigma_p``
        (``(q_g, q_g, k, k)``), w.r.t. ``theta`` (``kind="theta"``) or SAS's ``phi``
        (``kind="sas"``)."""
        th = self.split(theta)
        if kind == "theta":
            jf = lambda s, t, d: s.jacobian(t, dist=d)
            hf = lambda s, t, d: s.hessian(t, dist=d)
        else:
            jf = lambda s, t, d: s.sas_jacobian(t, dist=d)
            hf = lambda s, t, d: s.sas_hessian(t, dist=d)
        J, H = [], []
        if self.spatial:
            for p in self.d.patterns:
                s, t = self.structs[p.group], th[p.group]
                J.append(jf(s, t, p.dist))
                H.append(hf(s, t, p.dist) if second else None)
            return J, H
        Jg = [jf(s, t, None) for s, t in zip(self.structs, th)]
        Hg = [hf(s, t, None) for s, t in zip(self.structs, th)] if second else None
        for p in self.d.patterns:
            J.append(Jg[p.group][:, p.vis][:, :, p.vis])
            H.append(Hg[p.group][:, :, p.vis][:, :, :, p.vis] if second else None)
        return J, H

    # ------------------------------------------------------------------------------------------
    def evaluate(self, theta, grad: bool = False):
        """Log-likelihood (and score) at ``theta``.

        Returns a dict with ``ll`` (REML or ML log-likelihood, nlme/SAS scale: REML excludes the
        ``log|X'X|`` term), ``beta``, ``M = (X'V^-1X)^-1``, ``W`` (per-pattern inverses) and,
        if ``grad``, ``grad`` (d ll / d theta). ``ll`` is ``-inf`` if a block is not PD.
        """
        theta = np.asarray(theta, dtype=float)
        S_p = self.pattern_sigmas(theta)
        p = self.p
        XtWX = np.zeros((p, p))
        XtWy = np.zeros(p)
        yWy = 0.0
        logdet = 0.0
        Ws = []
        for pat, S in zip(self.d.patterns, S_p):
            if not np.all(np.isfinite(S)):
                return {"ll": -np.inf}
            try:
                c = np.linalg.cholesky(S)
            except np.linalg.LinAlgError:
                return {"ll": -np.inf}
            ci = np.linalg.inv(c)
            W = ci.T @ ci
            Ws.append(W)
            logdet += pat.n * 2.0 * np.log(np.diag(c)).sum()
            w = W.ravel()
            XtWX += (pat.AXX2 @ w).reshape(p, p)
            XtWy += pat.AXy2 @ w
            yWy += float(np.sum(pat.Ayy * W))
        XtWX = 0.5 * (XtWX + XtWX.T)
        try:
            cX = sla.cho_factor(XtWX, lower=True)
        except np.linalg.LinAlgError:
            return {"ll": -np.inf}
        M = sla.cho_solve(cX, np.eye(p))
        M = 0.5 * (M + M.T)
        beta = M @ XtWy
        rWr = yWy - float(beta @ XtWy)
        if self.reml:
            ld_x = 2.0 * np.log(np.diag(cX[0])).sum()
            ll = -0.5 * (logdet + rWr + ld_x + (self.N - p) * LOG2PI)
        else:
            ll = -0.5 * (logdet + rWr + self.N * LOG2PI)
        ll += 0.5 * self.d.log_w_sum
        out = {
            "ll": float(ll),
            "beta": beta,
            "M": M,
            "W": Ws,
            "XtWX": XtWX,
            "S": self.sigmas(theta),
            "rWr": rWr,
        }
        if grad:
            inners = []
            for pat, W in zip(self.d.patterns, Ws):
                Rr = self._resid_cross(pat, beta)
                inner = pat.n * W - W @ Rr @ W
                if self.reml:
                    k = pat.vis.size
                    XMX = (M.ravel() @ pat.AXX2).reshape(k, k)
                    inner -= W @ XMX @ W
                inners.append(-0.5 * inner)
            gr = np.zeros(self.n_theta)
            if self.spatial:
                J, _ = self.pattern_derivs(theta)
                for pat, G, Jp in zip(self.d.patterns, inners, J):
                    sl = slice(self.offsets[pat.group], self.offsets[pat.group + 1])
                    gr[sl] += np.einsum("ij,qij->q", G, Jp)
            else:
                T = self.structs[0].T
                G = [np.zeros((T, T)) for _ in self.structs]
                for pat, Gp in zip(self.d.patterns, inners):
                    G[pat.group][pat.ix] += Gp
                for g, (s, t) in enumerate(zip(self.structs, self.split(theta))):
                    J = s.jacobian(t)
                    gr[self.offsets[g] : self.offsets[g + 1]] = np.einsum("ij,qij->q", G[g], J)
            out["grad"] = gr
        return out

    @staticmethod
    def _resid_cross(pat: Pattern, beta):
        """sum_n r_n r_n' for the pattern, r_n = y_n - X_n beta."""
        k = pat.vis.size
        Xb_y = (beta @ pat.AXy2).reshape(k, k)
        bXXb = (np.outer(beta, beta).ravel() @ pat.AXX2).reshape(k, k)
        return pat.Ayy - Xb_y - Xb_y.T + bXXb

    def loglik(self, theta) -> float:
        return self.evaluate(theta)["ll"]

    def hessian(self, theta, rel_step: float = 1e-4) -> np.ndarray:
        """Observed Hessian of the log-likelihood w.r.t. theta: central differences of the
        analytic score (symmetrised)."""
        theta = np.asarray(theta, dtype=float)
        q = theta.size
        H = np.empty((q, q))
        for k in range(q):
            h = rel_step * max(1.0, abs(theta[k]))
            e = np.zeros(q)
            e[k] = h
            gp = self.evaluate(theta + e, grad=True)
            gm = self.evaluate(theta - e, grad=True)
            if not (np.isfinite(gp["ll"]) and np.isfinite(gm["ll"])):
                return np.full((q, q), np.nan)
            H[:, k] = (gp["grad"] - gm["grad"]) / (2 * h)
        return 0.5 * (H + H.T)

    def sas_param_jacobian(self, theta) -> np.ndarray:
        """Block-diagonal ``d phi / d theta`` over the covariance groups."""
        Jt = np.zeros((self.n_theta, self.n_theta))
        for g, (s, t) in enumerate(zip(self.structs, self.split(theta))):
            sl = slice(self.offsets[g], self.offsets[g + 1])
            Jt[sl, sl] = s.sas_param_jacobian(t)
        return Jt

    # ------------------------------------------------------------------------------------------
    def _wdw(self, theta, Ws, kind="theta"):
        """Per pattern: array (q_total, k, k) of W dSigma_j W (zero for other groups' params)."""
        J, _ = self.pattern_derivs(theta, kind)
        out = []
        for pat, W, Jg in zip(self.d.patterns, Ws, J):
            g = pat.group
            k = pat.vis.size
            A = np.zeros((self.n_theta, k, k))
            A[self.offsets[g] : self.offsets[g + 1]] = W @ Jg @ W
            out.append(A)
        return out, J

    def k_only(self, theta, Ws, kind="theta"):
        """``K_j = X'V^-1 (dV/dtheta_j) V^-1 X`` only, ``(q, p, p)``."""
        q, p = self.n_theta, self.p
        WDW, _ = self._wdw(theta, Ws, kind)
        K = np.zeros((q, p, p))
        for pat, Aw in zip(self.d.patterns, WDW):
            k = pat.vis.size
            K += (Aw.reshape(q, k * k) @ pat.AXX2.T).reshape(q, p, p)
        return K

    def kr_components(self, theta, Ws, second_order: bool = False, kind: str = "theta"):
        """Kenward-Roger building blocks at ``theta``, derivatives w.r.t. ``theta``
        (``kind="theta"``) or SAS's parameters (``kind="sas"``).

        Returns ``K`` (q, p, p) with ``K_j = X'V^-1 (dV/dtheta_j) V^-1 X`` (so KR's
        ``P_j = -K_j``), ``Q`` (q, q, p, p) with ``Q_ij = X'V^-1 V_i V^-1 V_j V^-1 X`` and, if
        ``second_order``, ``R`` (q, q, p, p) with ``R_ij = X'V^-1 V_ij V^-1 X``.
        """
        q, p = self.n_theta, self.p
        J, Hs = self.pattern_derivs(theta, kind, second=second_order)
        K = np.zeros((q, p, p))
        Q = np.zeros((q, q, p, p))
        R = np.zeros((q, q, p, p)) if second_order else None
        for pat, W, Jg, Hg in zip(self.d.patterns, Ws, J, Hs):
            g = pat.group
            sl = slice(self.offsets[g], self.offsets[g + 1])
            k = pat.vis.size
            qg = sl.stop - sl.start
            A = W @ Jg @ W
            K[sl] += (A.reshape(qg, k * k) @ pat.AXX2.T).reshape(qg, p, p)
            # W V_i W V_j W = (W V_i W) (V_j W)
            JW = Jg @ W
            Bij = np.einsum("xik,ykj->xyij", A, JW, optimize=True)
            Q[sl, sl] += (Bij.reshape(qg * qg, k * k) @ pat.AXX2.T).reshape(qg, qg, p, p)
            if second_order and np.any(Hg):
                C = W @ Hg @ W
                R[sl, sl] += (C.reshape(qg * qg, k * k) @ pat.AXX2.T).reshape(qg, qg, p, p)
        return K, Q, R


def design_from_rows(
    Xr,
    y,
    sidx,
    vis,
    T,
    group_of_subject,
    subjects,
    col_names,
    terms=None,
    weights=None,
    coords=None,
    col_kind=None,
) -> Design:
    """Subject x visit :class:`Design` from row-level arrays.

    ``Xr`` (N, p), ``y`` (N,) already scaled, ``sidx`` subject codes ``0..ns-1``, ``vis`` slot
    codes ``0..T-1`` (unique per subject), ``group_of_subject`` (ns,) covariance-group codes,
    ``weights`` (N,) positive observation weights (SAS ``WEIGHT``), ``coords`` (N, dim)
    coordinates for spatial structures.
    """
    ns = subjects.size
    p = Xr.shape[1]
    log_w_sum = 0.0
    if weights is not None:
        w = np.asarray(weights, float)
        sw = np.sqrt(w)
        Xr = Xr * sw[:, None]
        y = y * sw
        log_w_sum = float(np.log(w).sum())
    Xs = np.zeros((ns, T, p))
    Ys = np.full((ns, T), np.nan)
    obs = np.zeros((ns, T), dtype=bool)
    Xs[sidx, vis] = Xr
    Ys[sidx, vis] = y
    obs[sidx, vis] = True
    C = None
    if coords is not None:
        coords = np.asarray(coords, float)
        if coords.ndim == 1:
            coords = coords[:, None]
        C = np.zeros((ns, T, coords.shape[1]))
        C[sidx, vis] = coords
    d = Design(
        Xs=Xs,
        Ys=Ys,
        obs=obs,
        group=np.asarray(group_of_subject, np.int64),
        col_names=list(col_names),
        terms=terms or {},
        subjects=subjects,
        coords=C,
        log_w_sum=log_w_sum,
        col_kind=col_kind,
    )
    d.patterns = build_patterns(Xs, Ys, obs, d.group, C)
    return d

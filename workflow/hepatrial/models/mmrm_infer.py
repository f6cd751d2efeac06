"""Small-sample inference for the MMRM engine: Satterthwaite, Kenward-Roger, residual df.

Notation: ``Phi = (X'V^-1X)^-1`` (model-based covariance of beta-hat), ``theta`` the covariance
parameters, ``A = (-H)^-1`` the inverse observed information of ``theta`` (``H`` the Hessian
of the REML/ML log-likelihood at the optimum), ``K_j = X'V^-1 V_j V^-1 X`` so that
``dPhi/dtheta_j = Phi K_j Phi`` (KR's ``P_j = -K_j``).
"""

from __future__ import annotations

import numpy as np

# scipy.special, not scipy.stats: the same functions scipy.stats calls (bit-identical),
# without its ~1 s import
from scipy import special


def satterthwaite_1d(l, Phi, D, A):
    """Satterthwaite df of the scalar contrast ``l' beta``.

    ``df = 2 (l'Phi l)^2 / (g' A g)`` with ``g_j = l' (dPhi/dtheta_j) l`` and
    ``D[j] = dPhi/dtheta_j``. Invariant to the parametrisation of ``theta`` at the optimum.
    """
    v = float(l @ Phi @ l)
    g = np.einsum("a,qab,b->q", l, D, l)
    den = float(g @ A @ g)
    if den <= 0:
        return np.inf
    return 2.0 * v * v / den


def fstat_ddf(nu, tol=1e-8):
    """Combine per-eigendirection t df into an F denominator df (Fai & Cornelius 1996; as in
    lmerTest's ``get_Fstat_ddf``)."""
    nu = np.asarray(nu, dtype=float)
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(nu - nu[0]) < tol):
        return float(nu[0])
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - nu.size)


_fstat_ddf = fstat_ddf  # old name


def satterthwaite_md(L, beta, Phi, D, A):
    """Multi-df Wald F test of ``L beta = 0`` with Satterthwaite df (lmerTest ``contest``
    method: eigen-decomposition of ``L Phi L'`` and :func:`_fstat_ddf`)."""
    L = np.atleast_2d(L)
    VL = L @ Phi @ L.T
    d, U = np.linalg.eigh(VL)
    keep = d > 1e-10 * max(d.max(), 1e-300)
    d, U = d[keep], U[:, keep]
    c = d.size
    Lr = U.T @ L  # rotated contrasts, L_r Phi L_r' = diag(d)
    est = Lr @ beta
    F = float(np.sum(est**2 / d) / c)
    nu = [satterthwaite_1d(Lr[m], Phi, D, A) for m in range(c)]
    ddf = fstat_ddf(nu)
    return c, ddf, F


def kr_adjusted_vcov(Phi, K, Q, A, R=None):
    """Kenward-Roger (1997) adjusted covariance of beta-hat.

    ``Phi_A = Phi + 2 Phi [ sum_ij A_ij (Q_ij - P_i Phi P_j - R_ij / 4) ] Phi`` with
    ``P_i = -K_i``. With ``R=None`` the second-derivative term is omitted ("linear" KR,
    R mmrm ``"Kenward-Roger-Linear"``).
    """
    PPhiP = np.einsum("iab,bc,jcd->ijad", K, Phi, K, optimize=True)
    inner = Q - PPhiP
    if R is not None:
        inner = inner - 0.25 * R
    S = np.einsum("ij,ijab->ab", A, inner)
    S = 0.5 * (S + S.T)
    Phi_A = Phi + 2.0 * Phi @ S @ Phi
    return 0.5 * (Phi_A + Phi_A.T)


def kr_df(L, Phi, D, A):
    """Kenward-Roger denominator df ``m`` and scale ``lambda`` for ``L beta = 0``.

    Formulas of Kenward & Roger (1997), as implemented in R mmrm ``h_kr_df`` (``Phi`` the
    unadjusted covariance; ``D[j] = Phi K_j Phi = -Phi P_j Phi``). For one row,
    ``m = 2 / (a'Aa)`` equals the Satterthwaite df and ``lambda = 1``.
    """
    L = np.atleast_2d(L)
    nl = L.shape[0]
    Minv = np.linalg.inv(L @ Phi @ L.T)
    Mm = L.T @ Minv @ L
    X = np.einsum("ab,qbc->qac", Mm, D)  # Mm Phi P_j Phi up to sign
    tr = np.einsum("qaa->q", X)
    a1 = float(tr @ A @ tr)
    XX = np.einsum("iab,jba->ij", X, X)
    a2 = float(np.sum(A * XX))
    if nl == 1:
        return (2.0 / a2 if a2 > 0 else np.inf), 1.0
    b = (a1 + 6 * a2) / (2 * nl)
    e_star = 1.0 / (1.0 - a2 / nl)
    g = ((nl + 1) * a1 - (nl + 4) * a2) / ((nl + 2) * a2)
    denom = 3 * nl + 2 - 2 * g
    c1, c2, c3 = g / denom, (nl - g) / denom, (nl + 2 - g) / denom
    v_star = 2.0 / nl * (1 + c1 * b) / (1 - c2 * b) ** 2 / (1 - c3 * b)
    rho = v_star / (2 * e_star**2)
    m = 4 + (nl + 2) / (nl * rho - 1)
    lam = m / (e_star * (m - 2))
    return float(m), float(lam)


def t_summary(est, se, df, alpha):
    """t-based CI and two-sided p (normal when df is infinite)."""
    est, se, df = np.asarray(est, float), np.asarray(se, float), np.asarray(df, float)
    q = np.where(
        np.isfinite(df),
        special.stdtrit(np.where(np.isfinite(df), df, 1), 1 - alpha / 2),
        special.ndtri(1 - alpha / 2),
    )
    t = est / se
    p = np.where(
        np.isfinite(df),
        2 * special.stdtr(np.where(np.isfinite(df), df, 1), -np.abs(t)),
        2 * special.ndtr(-np.abs(t)),
    )
    return est - q * se, est + q * se, t, p


def empirical_df_1d(l, parts, M):
    """Satterthwaite-type df of ``l' beta`` under the sandwich covariance (R mmrm
    ``h_df_1d_sat_empirical``; Bell & McCaffrey 2002): ``df = tr(G)^2 / sum(G^2)`` with
    ``G = Gl' Gl``, ``Gl = (I - H) [e_1 .. e_n]``, ``e_i = A*_i B_i M l`` (``B_i = C_i' X_i``,
    ``C_i C_i' = Sigma_i^-1``, ``A*_i`` the subject's bias-correction matrix, ``H = B M B'``).

    Since ``B'B = M^-1``, ``G = diag(a) - Y'MY`` with ``a_i = |e_i|^2`` and ``y_i = B_i' e_i``,
    so only ``p x p`` matrices are formed (mmrm builds the ``N x N`` matrix ``I - H``).
    """
    Ml = M @ np.asarray(l, float)
    a_all, Y_all = [], []
    for B, Astar in parts:
        e = np.einsum("nij,njp,p->ni", Astar, B, Ml)
        a_all.append(np.einsum("ni,ni->n", e, e))
        Y_all.append(np.einsum("nip,ni->np", B, e))
    a = np.concatenate(a_all)
    Y = np.concatenate(Y_all)  # (n_subjects, p)
    MY = Y @ M  # rows: (M y_i)'
    q = np.einsum("np,np->n", MY, Y)  # y_i' M y_i
    S = Y.T @ Y
    MS = M @ S
    tr = a.sum() - q.sum()
    ss = float(np.sum(a * a) - 2 * np.sum(a * q) + np.sum(MS * MS.T))
    return float(tr * tr / ss) if ss > 0 else np.inf


class _BW:
    def __init__(self, kinds, ddf_between, ddf_within):
        self.kinds, self.ddf_between, self.ddf_within = kinds, ddf_between, ddf_within

    def df(self, l):
        inv = [k for k, v in zip(self.kinds, np.asarray(l)) if v != 0]
        if not inv:
            return float(self.ddf_within)
        return float(min(self.ddf_between if k == "between" else self.ddf_within for k in inv))


def bw_df(design):
    """Between-within df (SAS ``DDFM=BETWITHIN`` as R mmrm ``method = "Between-Within"``):
    a coefficient is *between* if its column is constant within every subject, else *within*;
    ``ddf_between = n_subjects - n_between - n_intercept``, ``ddf_within = N - n_subjects -
    n_within``; a contrast gets the smallest df of the coefficients it involves."""
    kinds = design.col_kind
    if kinds is None:
        kinds = col_kinds(design.Xs, design.obs, design.col_names)
    ns, N = design.subjects.size, design.n_obs
    nb = sum(k == "between" for k in kinds)
    ni = sum(k == "intercept" for k in kinds)
    nw = sum(k == "within" for k in kinds)
    return _BW(kinds, ns - nb - ni, N - ns - nw)


def col_kinds(Xs, obs, names):
    """ "intercept" / "between" / "within" per column of the (unweighted) design."""
    out = []
    cnt = obs.sum(1)
    has = cnt > 0
    for j, n in enumerate(names):
        if n == "(Intercept)":
            out.append("intercept")
            continue
        x = np.where(obs, Xs[:, :, j], np.nan)
        mx = np.nanmax(x[has], axis=1)
        mn = np.nanmin(x[has], axis=1)
        out.append("between" if np.all(mx == mn) else "within")
    return out

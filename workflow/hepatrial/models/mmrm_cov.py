"""Covariance structures for the MMRM engine (:mod:`hepatrial.models.mmrm`).

Each structure maps an unconstrained parameter vector ``theta`` (real, any value) to a
``T x T`` positive-definite within-subject covariance matrix ``Sigma(theta)`` over the ``T``
scheduled visits. The maps use only arithmetic, ``exp`` and ``tanh`` so that they accept
complex input: first derivatives ``dSigma/dtheta`` are obtained by complex-step
differentiation (exact to machine precision), second derivatives by central differences of
those.

Parametrisations (SAS ``TYPE=`` name, R ``nlme`` equivalent):

``UN`` (nlme ``corSymm`` + ``varIdent``)
    ``Sigma = L L'`` with ``L`` lower triangular; ``theta`` holds the rows of ``L`` (lower
    triangle, row by row) with the diagonal entries on the log scale. ``T(T+1)/2`` parameters.
``CS`` (nlme ``corCompSymm``)
    ``Sigma = s2 * ((1 - rho) I + rho J)``, ``theta = (log s2, t)`` with
    ``rho = (exp(t) - 1/(T-1)) / (1 + exp(t))`` (nlme's map, ``rho`` in ``(-1/(T-1), 1)``).
``CSH`` (nlme ``corCompSymm`` + ``varIdent``)
    ``Sigma = D R_cs D``, ``D = diag(exp(a_1..a_T))``, ``theta = (a_1..a_T, t)``.
``AR1`` (nlme ``corAR1``)
    ``Sigma_ij = s2 * rho^|i-j|``, ``theta = (log s2, t)``, ``rho = tanh(t)``.
``AR1H`` (nlme ``corAR1`` + ``varIdent``)
    ``Sigma = D R_ar1 D``, ``theta = (a_1..a_T, t)``.
``TOEPH`` (heterogeneous Toeplitz; nlme ``corARMA(p = T-1)`` + ``varIdent`` spans the same
    model)
    ``Sigma = D R D`` with ``R`` the Toeplitz correlation matrix whose partial
    autocorrelations are ``tanh(t_1..t_{T-1})`` (Durbin-Levinson recursion; any ``t`` gives a
    positive-definite ``R``). ``theta = (a_1..a_T, t_1..t_{T-1})``.

Visits are equally spaced *positions* for AR1/TOEPH (the order given by ``visit_order``), as in
SAS ``TYPE=AR(1)`` with ``REPEATED AVISIT`` and nlme ``corAR1(form = ~ VISITIDX | USUBJID)``.
"""

from __future__ import annotations

import numpy as np

STRUCTURES = ("UN", "CS", "CSH", "AR1", "AR1H", "TOEPH")

_CSTEP = 1e-30


def _cs_rho(t, T):
    c = 1.0 / (T - 1) if T > 1 else 0.0
    e = np.exp(t)
    return (e - c) / (1.0 + e)


def _cs_rho_inv(rho, T):
    c = 1.0 / (T - 1) if T > 1 else 0.0
    return float(np.log((rho + c) / (1.0 - rho)))


def _pacf_to_acf(pacf):
    """Durbin-Levinson: partial autocorrelations -> autocorrelations r_0..r_K (complex-safe)."""
    K = len(pacf)
    dtype = np.result_type(pacf, float)
    r = np.zeros(K + 1, dtype=dtype)
    r[0] = 1.0
    phi = np.zeros(0, dtype=dtype)
    for k in range(1, K + 1):
        pk = pacf[k - 1]
        if k == 1:
            r[1] = pk
            phi = np.array([pk], dtype=dtype)
        else:
            s1 = np.sum(phi * r[k - 1:0:-1])  # sum_j phi_j r_{k-j}
            s2 = np.sum(phi * r[1:k])  # sum_j phi_j r_j
            r[k] = s1 + pk * (1.0 - s2)
            phi = np.concatenate([phi - pk * phi[::-1], [pk]])
    return r


def _acf_to_pacf(acf):
    """Inverse Durbin-Levinson (real); returns None if the sequence is not positive definite."""
    K = len(acf) - 1
    pacf = np.zeros(K)
    phi = np.zeros(0)
    for k in range(1, K + 1):
        if k == 1:
            pk = acf[1]
            phi = np.array([pk])
        else:
            num = acf[k] - np.sum(phi * acf[k - 1:0:-1])
            den = 1.0 - np.sum(phi * acf[1:k])
            if den <= 0:
                return None
            pk = num / den
            phi = np.concatenate([phi - pk * phi[::-1], [pk]])
        if not np.isfinite(pk) or abs(pk) >= 1:
            return None
        pacf[k - 1] = pk
    return pacf


class CovStructure:
    """One within-subject covariance structure over ``T`` visits.

    Parameters
    ----------
    name : str
        One of :data:`STRUCTURES`.
    T : int
        Number of scheduled visits.
    """

    def __init__(self, name: str, T: int):
        name = name.upper()
        if name not in STRUCTURES:
            raise ValueError(f"unknown covariance structure {name!r}; use one of {STRUCTURES}")
        if T < 1:
            raise ValueError("need at least one visit")
        self.name = name
        self.T = T
        self._lag = np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
        self._tril = np.tril_indices(T)
        self._tril_diag = self._tril[0] == self._tril[1]

    # -- parameter bookkeeping ---------------------------------------------------------------
    @property
    def n_theta(self) -> int:
        T = self.T
        return {
            "UN": T * (T + 1) // 2,
            "CS": 2 if T > 1 else 1,
            "CSH": T + (1 if T > 1 else 0),
            "AR1": 2 if T > 1 else 1,
            "AR1H": T + (1 if T > 1 else 0),
            "TOEPH": 2 * T - 1,
        }[self.name]

    def theta_names(self) -> list[str]:
        T = self.T
        if self.name == "UN":
            out = []
            for i in range(T):
                for j in range(i + 1):
                    out.append(f"log L{i + 1}{j + 1}" if i == j else f"L{i + 1}{j + 1}")
            return out
        if self.name in ("CS", "AR1"):
            return ["log sigma2", "rho (unconstrained)"][: self.n_theta]
        het = [f"log sd{k + 1}" for k in range(T)]
        if self.name == "TOEPH":
            return het + [f"pacf{k} (atanh)" for k in range(1, T)]
        return het + (["rho (unconstrained)"] if T > 1 else [])

    # -- the map ------------------------------------------------------------------------------
    def sigma(self, theta):
        """Covariance matrix ``Sigma(theta)`` (``T x T``); accepts complex ``theta``."""
        theta = np.asarray(theta)
        T = self.T
        dtype = np.result_type(theta, float)
        if self.name == "UN":
            return self._un_L(theta) @ self._un_L(theta).T
        if self.name in ("CS", "AR1"):
            s2 = np.exp(theta[0])
            if T == 1:
                return s2 * np.ones((1, 1), dtype=dtype)
            R = self._corr(theta[1:])
            return s2 * R
        sd = np.exp(theta[:T])
        if T == 1:
            return (sd * sd).reshape(1, 1)
        R = self._corr(theta[T:])
        return sd[:, None] * R * sd[None, :]

    def _un_L(self, theta):
        T = self.T
        L = np.zeros((T, T), dtype=np.result_type(theta, float))
        vals = theta.astype(L.dtype, copy=True)
        vals[self._tril_diag] = np.exp(vals[self._tril_diag])
        L[self._tril] = vals
        return L

    def _corr(self, t):
        T = self.T
        dtype = np.result_type(t, float)
        if self.name in ("CS", "CSH"):
            rho = _cs_rho(t[0], T)
            R = np.full((T, T), rho, dtype=dtype)
            R[np.diag_indices(T)] = 1.0
            return R
        if self.name in ("AR1", "AR1H"):
            rho = np.tanh(t[0])
            return rho ** self._lag
        # TOEPH
        r = _pacf_to_acf(np.tanh(t))
        return r[self._lag]

    # -- derivatives ---------------------------------------------------------------------------
    def jacobian(self, theta) -> np.ndarray:
        """``dSigma/dtheta`` as an array ``(n_theta, T, T)`` (complex-step, machine precision)."""
        theta = np.asarray(theta, dtype=float)
        q = theta.size
        if self.name == "UN":
            # Sigma = L L', dSigma/dL_ab = c (e_a L[:, b]' + L[:, b] e_a'), c = L_ab if diagonal
            L = self._un_L(theta)
            rows, cols = self._tril
            c = np.where(self._tril_diag, L[rows, cols], 1.0)
            Lb = L[:, cols].T * c[:, None]  # (q, T)
            out = np.zeros((q, self.T, self.T))
            out[np.arange(q), rows, :] += Lb
            out[np.arange(q), :, rows] += Lb
            return out
        out = np.empty((q, self.T, self.T))
        for k in range(q):
            tc = theta.astype(complex)
            tc[k] += 1j * _CSTEP
            out[k] = self.sigma(tc).imag / _CSTEP
        return out

    def hessian(self, theta, h: float = 1e-5) -> np.ndarray:
        """``d2Sigma/dtheta_i dtheta_j`` as ``(q, q, T, T)`` (central differences of the
        complex-step Jacobian)."""
        theta = np.asarray(theta, dtype=float)
        q = theta.size
        out = np.empty((q, q, self.T, self.T))
        for k in range(q):
            e = np.zeros(q)
            e[k] = h
            out[:, k] = (self.jacobian(theta + e) - self.jacobian(theta - e)) / (2 * h)
        return 0.5 * (out + out.transpose(1, 0, 2, 3))

    # -- starting values -----------------------------------------------------------------------
    def start(self, S: np.ndarray) -> np.ndarray:
        """Starting ``theta`` from an empirical (positive-definite) covariance matrix ``S``."""
        T = self.T
        S = np.asarray(S, dtype=float)
        sd = np.sqrt(np.clip(np.diag(S), 1e-12, None))
        C = S / np.outer(sd, sd)
        if self.name == "UN":
            L = np.linalg.cholesky(S)
            rows, cols = np.tril_indices(T)
            th = L[rows, cols].copy()
            diag = rows == cols
            th[diag] = np.log(th[diag])
            return th
        off = C[np.triu_indices(T, 1)] if T > 1 else np.zeros(0)
        if self.name in ("CS", "CSH"):
            lo = -1.0 / (T - 1) if T > 1 else 0.0
            rho = float(np.clip(off.mean() if off.size else 0.0, lo + 0.05 * (1 - lo), 0.95))
            t = [_cs_rho_inv(rho, T)] if T > 1 else []
        elif self.name in ("AR1", "AR1H"):
            lag1 = np.diag(C, 1) if T > 1 else np.zeros(0)
            rho = float(np.clip(lag1.mean() if lag1.size else 0.0, -0.95, 0.95))
            t = [np.arctanh(rho)] if T > 1 else []
        else:  # TOEPH
            acf = np.array([1.0] + [np.diag(C, k).mean() for k in range(1, T)])
            pacf = _acf_to_pacf(acf)
            if pacf is None:
                pacf = np.zeros(T - 1)
                pacf[0] = np.clip(acf[1], -0.9, 0.9)
            t = list(np.arctanh(np.clip(pacf, -0.95, 0.95)))
        if self.name in ("CS", "AR1"):
            return np.array([np.log(np.mean(sd ** 2))] + t)
        return np.array(list(np.log(sd)) + t)

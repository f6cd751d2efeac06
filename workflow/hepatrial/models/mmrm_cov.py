"""Covariance structures for the MMRM engine (:mod:`hepatrial.models.mmrm`).

Each structure maps an unconstrained parameter vector ``theta`` (real, any value) to a
``T x T`` positive-definite within-subject covariance matrix ``Sigma(theta)`` over the ``T``
scheduled visits. The maps use only arithmetic, ``exp`` and ``tanh`` so that they accept
complex input: first derivatives ``dSigma/dtheta`` are obtained by complex-step
differentiation (exact to machine precision), second derivatives by central differences of
those.

Parametrisations (SAS ``TYPE=`` name, R ``nlme`` / ``mmrm`` equivalent). ``theta`` is the
unconstrained vector the optimiser sees; ``phi`` (:meth:`CovStructure.sas_params`) is SAS's
parametrisation, the one the Kenward-Roger second-order term is computed in (see
:mod:`hepatrial.models.mmrm_infer`):

``UN`` (SAS ``UN``; nlme ``corSymm`` + ``varIdent``; mmrm ``us``)
    ``Sigma = L L'`` with ``L`` lower triangular; ``theta`` holds the rows of ``L`` (lower
    triangle, row by row) with the diagonal entries on the log scale. ``T(T+1)/2`` parameters.
    ``phi``: ``UN(i,j) = Sigma_ij`` (linear).
``CS`` (SAS ``CS``; nlme ``corCompSymm``; mmrm ``cs``)
    ``Sigma = s2 * ((1 - rho) I + rho J)``, ``theta = (log s2, t)`` with
    ``rho = (exp(t) - 1/(T-1)) / (1 + exp(t))`` (nlme's map, ``rho`` in ``(-1/(T-1), 1)``).
    ``phi = (CS, Residual) = (s2 rho, s2 (1 - rho))`` (linear).
``CSH`` (SAS ``CSH``; nlme ``corCompSymm`` + ``varIdent``; mmrm ``csh``)
    ``Sigma = D R_cs D``, ``D = diag(exp(a_1..a_T))``, ``theta = (a_1..a_T, t)``.
    ``phi = (Var(1..T), CSH rho)``.
``AR1`` (SAS ``AR(1)``; nlme ``corAR1``; mmrm ``ar1``)
    ``Sigma_ij = s2 * rho^|i-j|``, ``theta = (log s2, t)``, ``rho = tanh(t)``.
    ``phi = (AR(1) rho, Residual s2)``.
``AR1H`` (SAS ``ARH(1)``; nlme ``corAR1`` + ``varIdent``; mmrm ``ar1h``)
    ``Sigma = D R_ar1 D``, ``theta = (a_1..a_T, t)``. ``phi = (Var(1..T), ARH(1) rho)``.
``TOEP`` (SAS ``TOEP``; mmrm ``toep``)
    ``Sigma = s2 R`` with ``R`` the Toeplitz correlation matrix whose partial autocorrelations
    are ``tanh(t_1..t_{T-1})`` (Durbin-Levinson; any ``t`` gives a positive-definite ``R``).
    ``theta = (log s2, t_1..t_{T-1})``. ``phi = (TOEP(2..T) = s2 r_1..s2 r_{T-1}, Residual
    s2)`` (linear).
``TOEPH`` (SAS ``TOEPH``; nlme ``corARMA(p = T-1)`` + ``varIdent`` spans the same model;
    mmrm ``toeph``)
    ``Sigma = D R D``, ``theta = (a_1..a_T, t_1..t_{T-1})``. ``phi = (Var(1..T), TOEPH(1..T-1)
    correlations r_1..r_{T-1})``.
``AD`` (homogeneous first-order ante-dependence; mmrm ``ad``; no SAS type)
    ``Sigma_ij = s2 prod_{k=i}^{j-1} rho_k`` (``i < j``), ``rho_k = tanh(t_k)``,
    ``theta = (log s2, t_1..t_{T-1})``. ``phi = (s2, rho_1..rho_{T-1})``.
``ADH`` (SAS ``ANTE(1)``; mmrm ``adh``)
    ``Sigma_ij = sd_i sd_j prod_{k=i}^{j-1} rho_k``, ``theta = (a_1..a_T, t_1..t_{T-1})``.
    ``phi = (Var(1..T), Rho(1..T-1))``.
``SP_EXP`` (SAS ``SP(EXP)(c-list)``; nlme ``corExp``; mmrm ``sp_exp``)
    ``Sigma_ij = s2 exp(-d_ij / range) = s2 rho^d_ij`` with ``d_ij`` the Euclidean distance
    between the observations' coordinates; ``theta = (log s2, logit rho)``. ``phi =
    (SP(EXP) range, Residual s2)``. The matrix depends on each subject's coordinates (not only
    on the visit slots), so :meth:`CovStructure.sigma` takes a distance matrix.

Visits are equally spaced *positions* for AR1/TOEP/AD (the order given by the visit levels),
as in SAS ``TYPE=AR(1)`` with ``REPEATED AVISIT`` and nlme ``corAR1(form = ~ VISITIDX |
USUBJID)``.
"""

from __future__ import annotations

import numpy as np

STRUCTURES = ("UN", "CS", "CSH", "AR1", "AR1H", "TOEP", "TOEPH", "AD", "ADH", "SP_EXP")

#: other spellings accepted (SAS ``TYPE=`` and R mmrm names)
ALIASES = {
    "US": "UN",
    "AR(1)": "AR1",
    "ARH(1)": "AR1H",
    "ARH1": "AR1H",
    "AR1H": "AR1H",
    "ANTE(1)": "ADH",
    "ANTE1": "ADH",
    "SP(EXP)": "SP_EXP",
    "SPEXP": "SP_EXP",
    "SP_EXP": "SP_EXP",
}

#: structures whose matrix depends on coordinates of the observations
SPATIAL = ("SP_EXP",)

#: structures linear in SAS's parameters (Kenward-Roger second-order term is zero)
SAS_LINEAR = ("UN", "CS", "TOEP")

_CSTEP = 1e-30


def canonical_name(name: str) -> str:
    """The structure name of :data:`STRUCTURES` for ``name`` (SAS/mmrm spellings accepted)."""
    key = str(name).upper().replace(" ", "")
    key = ALIASES.get(key, key)
    if key not in STRUCTURES:
        raise ValueError(f"unknown covariance structure {name!r}; use one of {STRUCTURES}")
    return key


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
            s1 = np.sum(phi * r[k - 1 : 0 : -1])  # sum_j phi_j r_{k-j}
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
            num = acf[k] - np.sum(phi * acf[k - 1 : 0 : -1])
            den = 1.0 - np.sum(phi * acf[1:k])
            if den <= 0:
                return None
            pk = num / den
            phi = np.concatenate([phi - pk * phi[::-1], [pk]])
        if not np.isfinite(pk) or abs(pk) >= 1:
            return None
        pacf[k - 1] = pk
    return pacf


def _ante_corr(rho, T, dtype):
    """Ante-dependence correlation ``R_ij = prod_{k=i}^{j-1} rho_k`` (complex-safe)."""
    R = np.eye(T, dtype=dtype)
    for lag in range(1, T):
        for i in range(T - lag):
            R[i, i + lag] = R[i, i + lag - 1] * rho[i + lag - 1]
            R[i + lag, i] = R[i, i + lag]
    return R


class CovStructure:
    """One within-subject covariance structure over ``T`` visits (or observation slots).

    Parameters
    ----------
    name : str
        One of :data:`STRUCTURES` (or an alias in :data:`ALIASES`).
    T : int
        Number of scheduled visits (slots per subject).
    """

    def __init__(self, name: str, T: int):
        name = canonical_name(name)
        if T < 1:
            raise ValueError("need at least one visit")
        self.name = name
        self.T = T
        self.spatial = name in SPATIAL
        self.sas_linear = name in SAS_LINEAR
        self._lag = np.abs(np.subtract.outer(np.arange(T), np.arange(T))).astype(float)
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
            "TOEP": T,
            "TOEPH": 2 * T - 1,
            "AD": T,
            "ADH": 2 * T - 1,
            "SP_EXP": 2,
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
        if self.name == "SP_EXP":
            return ["log sigma2", "logit rho"]
        het = [f"log sd{k + 1}" for k in range(T)]
        if self.name in ("TOEP", "TOEPH"):
            band = [f"pacf{k} (atanh)" for k in range(1, T)]
            return (["log sigma2"] + band) if self.name == "TOEP" else het + band
        if self.name in ("AD", "ADH"):
            band = [f"rho{k} (atanh)" for k in range(1, T)]
            return (["log sigma2"] + band) if self.name == "AD" else het + band
        return het + (["rho (unconstrained)"] if T > 1 else [])

    # -- the map ------------------------------------------------------------------------------
    def sigma(self, theta, dist=None):
        """Covariance matrix ``Sigma(theta)``; accepts complex ``theta``.

        ``dist``: distance matrix of the observations (spatial structures only; default the
        visit-position lags ``|i - j|``, i.e. a ``T x T`` matrix).
        """
        theta = np.asarray(theta)
        T = self.T
        dtype = np.result_type(theta, float)
        if self.name == "UN":
            L = self._un_L(theta)
            return L @ L.T
        if self.name == "SP_EXP":
            d = self._lag if dist is None else np.asarray(dist, float)
            s2 = np.exp(theta[0])
            # log rho = -log(1 + exp(-t)), complex-safe
            log_rho = (
                -np.log1p(np.exp(-theta[1]))
                if np.isrealobj(theta)
                else -np.log(1.0 + np.exp(-theta[1]))
            )
            return s2 * np.exp(d * log_rho)
        if self.name in ("CS", "AR1", "TOEP", "AD"):
            s2 = np.exp(theta[0])
            if T == 1:
                return s2 * np.ones((1, 1), dtype=dtype)
            return s2 * self._corr(theta[1:])
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
            return rho ** self._lag.astype(int)
        if self.name in ("AD", "ADH"):
            return _ante_corr(np.tanh(t), T, dtype)
        # TOEP, TOEPH
        r = _pacf_to_acf(np.tanh(t))
        return r[self._lag.astype(int)]

    # -- derivatives ---------------------------------------------------------------------------
    def jacobian(self, theta, dist=None) -> np.ndarray:
        """``dSigma/dtheta`` as an array ``(n_theta, k, k)`` (complex-step, machine precision)."""
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
        return _complex_jac(lambda th: self.sigma(th, dist), theta)

    def hessian(self, theta, h: float = 1e-5, dist=None) -> np.ndarray:
        """``d2Sigma/dtheta_i dtheta_j`` as ``(q, q, k, k)`` (central differences of the
        complex-step Jacobian)."""
        return _fd_hess(lambda th: self.jacobian(th, dist), np.asarray(theta, float), h)

    # -- SAS's parametrisation -----------------------------------------------------------------
    def sas_names(self) -> list[str]:
        """SAS ``Cov Parm`` names of :meth:`sas_params`, in SAS's order."""
        T = self.T
        var = [f"Var({k + 1})" for k in range(T)]
        if self.name == "UN":
            return [f"UN({i + 1},{j + 1})" for i in range(T) for j in range(i + 1)]
        if self.name == "CS":
            return ["CS", "Residual"] if T > 1 else ["Residual"]
        if self.name == "AR1":
            return ["AR(1)", "Residual"] if T > 1 else ["Residual"]
        if self.name == "CSH":
            return var + (["CSH"] if T > 1 else [])
        if self.name == "AR1H":
            return var + (["ARH(1)"] if T > 1 else [])
        if self.name == "TOEP":
            return [f"TOEP({k + 1})" for k in range(1, T)] + ["Residual"]
        if self.name == "TOEPH":
            return var + [f"TOEPH({k})" for k in range(1, T)]
        if self.name == "AD":
            return ["Residual"] + [f"Rho({k})" for k in range(1, T)]
        if self.name == "ADH":
            return var + [f"Rho({k})" for k in range(1, T)]
        return ["SP(EXP)", "Residual"]

    def sas_params(self, theta):
        """SAS's covariance parameters ``phi(theta)`` (complex-safe; see module docstring)."""
        theta = np.asarray(theta)
        T = self.T
        if self.name == "UN":
            S = self.sigma(theta)
            return S[self._tril[0], self._tril[1]]
        if self.name == "SP_EXP":
            s2 = np.exp(theta[0])
            log_rho = -np.log(1.0 + np.exp(-theta[1]))
            return np.array([-1.0 / log_rho, s2])
        if T == 1:
            return (
                np.exp(theta[:1])
                if self.name in ("CS", "AR1", "TOEP", "AD")
                else np.exp(2 * theta[:1])
            )
        if self.name == "CS":
            s2, rho = np.exp(theta[0]), _cs_rho(theta[1], T)
            return np.array([s2 * rho, s2 * (1 - rho)])
        if self.name == "AR1":
            return np.array([np.tanh(theta[1]), np.exp(theta[0])])
        if self.name == "TOEP":
            s2 = np.exp(theta[0])
            r = _pacf_to_acf(np.tanh(theta[1:]))
            return np.concatenate([s2 * r[1:], [s2]])
        if self.name == "AD":
            return np.concatenate([[np.exp(theta[0])], np.tanh(theta[1:])])
        var = np.exp(2 * theta[:T])
        t = theta[T:]
        if self.name == "CSH":
            rest = [_cs_rho(t[0], T)]
        elif self.name == "AR1H":
            rest = [np.tanh(t[0])]
        elif self.name == "TOEPH":
            rest = _pacf_to_acf(np.tanh(t))[1:]
        else:  # ADH
            rest = np.tanh(t)
        return np.concatenate([var, rest])

    def sas_sigma(self, phi, dist=None):
        """``Sigma`` as a function of SAS's parameters ``phi`` (complex-safe)."""
        phi = np.asarray(phi)
        T = self.T
        dtype = np.result_type(phi, float)
        if self.name == "UN":
            S = np.zeros((T, T), dtype=dtype)
            S[self._tril] = phi
            return S + np.tril(S, -1).T
        if self.name == "SP_EXP":
            d = self._lag if dist is None else np.asarray(dist, float)
            return phi[1] * np.exp(-d / phi[0])
        if T == 1:
            return phi[:1].reshape(1, 1)
        if self.name == "CS":
            return phi[0] * np.ones((T, T)) + phi[1] * np.eye(T)
        if self.name == "AR1":
            return phi[1] * phi[0] ** self._lag.astype(int)
        if self.name == "TOEP":
            acf = np.concatenate([[phi[-1]], phi[:-1]])
            return acf[self._lag.astype(int)]
        if self.name == "AD":
            return phi[0] * _ante_corr(phi[1:], T, dtype)
        sd = np.sqrt(phi[:T])
        t = phi[T:]
        if self.name == "CSH":
            R = np.full((T, T), t[0], dtype=dtype)
            R[np.diag_indices(T)] = 1.0
        elif self.name == "AR1H":
            R = t[0] ** self._lag.astype(int)
        elif self.name == "TOEPH":
            R = np.concatenate([np.ones(1, dtype=dtype), t])[self._lag.astype(int)]
        else:
            R = _ante_corr(t, T, dtype)
        return sd[:, None] * R * sd[None, :]

    def theta_from_sas(self, phi) -> np.ndarray:
        """Inverse of :meth:`sas_params` (e.g. to evaluate a model at SAS's printed estimates)."""
        phi = np.asarray(phi, float)
        T = self.T
        if self.name == "UN":
            return self.start(self.sas_sigma(phi))
        if self.name == "SP_EXP":
            rho = np.exp(-1.0 / phi[0])
            return np.array([np.log(phi[1]), np.log(rho / (1 - rho))])
        if T == 1:
            return (
                np.log(phi[:1])
                if self.name in ("CS", "AR1", "TOEP", "AD")
                else 0.5 * np.log(phi[:1])
            )
        if self.name == "CS":
            s2 = phi[0] + phi[1]
            return np.array([np.log(s2), _cs_rho_inv(phi[0] / s2, T)])
        if self.name == "AR1":
            return np.array([np.log(phi[1]), np.arctanh(phi[0])])
        if self.name == "TOEP":
            pacf = _acf_to_pacf(np.concatenate([[1.0], phi[:-1] / phi[-1]]))
            return np.concatenate([[np.log(phi[-1])], np.arctanh(pacf)])
        if self.name == "AD":
            return np.concatenate([[np.log(phi[0])], np.arctanh(phi[1:])])
        a = 0.5 * np.log(phi[:T])
        t = phi[T:]
        if self.name == "CSH":
            rest = [_cs_rho_inv(t[0], T)]
        elif self.name == "TOEPH":
            rest = np.arctanh(_acf_to_pacf(np.concatenate([[1.0], t])))
        else:  # AR1H, ADH
            rest = np.arctanh(t)
        return np.concatenate([a, rest])

    def sas_param_jacobian(self, theta) -> np.ndarray:
        """``d phi / d theta`` (``q x q``; complex step)."""
        theta = np.asarray(theta, float)
        J = _complex_jac(self.sas_params, theta)  # (q_theta, q_phi)
        return J.T

    def sas_jacobian(self, theta, dist=None) -> np.ndarray:
        """``dSigma/dphi`` at ``phi(theta)``, ``(q, k, k)``."""
        phi = np.real(self.sas_params(np.asarray(theta, float)))
        return _complex_jac(lambda ph: self.sas_sigma(ph, dist), phi)

    def sas_hessian(self, theta, dist=None) -> np.ndarray:
        """``d2Sigma/dphi_i dphi_j`` at ``phi(theta)``, ``(q, q, k, k)``: zero for the
        structures linear in ``phi`` (UN, CS, TOEP), else central differences of the
        complex-step Jacobian."""
        phi = np.real(self.sas_params(np.asarray(theta, float)))
        q = phi.size
        k = self.T if dist is None else np.asarray(dist).shape[0]
        if self.sas_linear:
            return np.zeros((q, q, k, k))
        jac = lambda ph: _complex_jac(lambda p2: self.sas_sigma(p2, dist), ph)
        steps = 1e-5 * np.maximum(np.abs(phi), 1e-2)
        return _fd_hess(jac, phi, steps)

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
        lag1 = np.diag(C, 1) if T > 1 else np.zeros(0)
        if self.name in ("CS", "CSH"):
            lo = -1.0 / (T - 1) if T > 1 else 0.0
            rho = float(np.clip(off.mean() if off.size else 0.0, lo + 0.05 * (1 - lo), 0.95))
            t = [_cs_rho_inv(rho, T)] if T > 1 else []
        elif self.name in ("AR1", "AR1H"):
            rho = float(np.clip(lag1.mean() if lag1.size else 0.0, -0.95, 0.95))
            t = [np.arctanh(rho)] if T > 1 else []
        elif self.name == "SP_EXP":
            rho = float(np.clip(lag1.mean() if lag1.size else 0.5, 0.05, 0.95))
            t = [np.log(rho / (1 - rho))]
        elif self.name in ("AD", "ADH"):
            t = list(np.arctanh(np.clip(lag1, -0.9, 0.9)))
        else:  # TOEP, TOEPH
            acf = np.array([1.0] + [np.diag(C, k).mean() for k in range(1, T)])
            pacf = _acf_to_pacf(acf)
            if pacf is None:
                pacf = np.zeros(T - 1)
                pacf[0] = np.clip(acf[1], -0.9, 0.9)
            t = list(np.arctanh(np.clip(pacf, -0.95, 0.95)))
        if self.name in ("CS", "AR1", "TOEP", "AD", "SP_EXP"):
            return np.array([np.log(np.mean(sd**2))] + t)
        return np.array(list(np.log(sd)) + t)


def _complex_jac(f, x) -> np.ndarray:
    """Complex-step Jacobian of an array-valued ``f`` at real ``x``: ``(x.size, *f.shape)``."""
    x = np.asarray(x, float)
    out = None
    for k in range(x.size):
        xc = x.astype(complex)
        xc[k] += 1j * _CSTEP
        v = np.asarray(f(xc)).imag / _CSTEP
        if out is None:
            out = np.empty((x.size,) + v.shape)
        out[k] = v
    return out


def _fd_hess(jac, x, h) -> np.ndarray:
    """Second derivatives ``(q, q, ...)`` by central differences of the Jacobian ``jac``."""
    x = np.asarray(x, float)
    q = x.size
    h = np.broadcast_to(np.asarray(h, float), (q,))
    out = None
    for k in range(q):
        e = np.zeros(q)
        e[k] = h[k]
        d = (jac(x + e) - jac(x - e)) / (2 * h[k])
        if out is None:
            out = np.empty((q,) + d.shape)
        out[:, k] = d
    return 0.5 * (out + np.swapaxes(out, 0, 1))

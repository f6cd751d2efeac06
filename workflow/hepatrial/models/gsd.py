r"""Group-sequential designs: spending-function boundaries, interim statistics and ARD rows.

Written for hepatrial (issue 19). No maintained Python library computes Lan-DeMets
spending-function designs with beta-spending futility bounds and the interim statistics that go
with them (R has rpact and gsDesign, SAS has PROC SEQDESIGN), so this module implements them from
the published methods with numpy and scipy only. The definitions follow R rpact (3.3.4) so that
the numbers can be checked against it (``tests/reference/test_gsd_reference.py``); the user
documentation is ``docs/gsd.md``.

Model
-----
:math:`Z_k` is the standardised statistic at look :math:`k = 1..K`, oriented so that benefit is
positive, at information fraction :math:`t_k = I_k / I_{max}`. Canonical joint distribution
(Jennison & Turnbull 2000, ch. 3): :math:`B(t) = Z\sqrt t` is a Brownian motion with drift
:math:`\mu = \theta\sqrt{I_{max}}`, so :math:`Z_k \sim N(\mu\sqrt{t_k}, 1)`,
:math:`\mathrm{corr}(Z_j, Z_k) = \sqrt{t_j/t_k}` and increments are independent.

Spending functions (cumulative error spent at fraction :math:`t \in [0, 1]`, total :math:`a`;
rpact's ``typeOfDesign`` / ``typeBetaSpending`` names; ``s`` = sides, used by ``asOF`` only):

- ``asOF`` Lan-DeMets O'Brien-Fleming type: :math:`2s\,[1 - \Phi(z_{1 - a/(2s)} / \sqrt t)]`;
  ``bsOF``: :math:`2\,[1 - \Phi(z_{1 - a/2} / \sqrt t)]`.
- ``asP`` / ``bsP`` Lan-DeMets Pocock type: :math:`a \log(1 + (e - 1) t)`.
- ``asHSD`` / ``bsHSD`` Hwang-Shih-DeCani with :math:`\gamma \ne 0`:
  :math:`a (1 - e^{-\gamma t}) / (1 - e^{-\gamma})`; :math:`\gamma = 0`: :math:`a t`.
- ``asKD`` / ``bsKD`` Kim-DeMets power family with :math:`\rho > 0`: :math:`a t^\rho`.

Boundaries
----------
Efficacy bound :math:`c_k` (one-sided: reject when :math:`Z_k \ge c_k`; two-sided symmetric:
when :math:`|Z_k| \ge c_k`) solves, under :math:`H_0` (:math:`\mu = 0`),
:math:`P(\text{continue to } k, \text{cross at } k) = \alpha(t_k) - \alpha(t_{k-1})`, look by
look. Without futility bounds, or with *non-binding* ones, the continuation region is
:math:`(-\infty, c_j)` (two-sided :math:`(-c_j, c_j)`); with *binding* futility bounds it is
:math:`(f_j, c_j)`. Look 1 is closed form: :math:`c_1 = z_{1 - \alpha(t_1)/s}`.

Futility bounds (one-sided designs only) come from beta spending as in rpact: for a trial drift
:math:`\mu`, :math:`f_1 = z_{\beta(t_1)} + \mu\sqrt{t_1}` and :math:`f_k` solves
:math:`P_\mu(\text{continue to } k, Z_k \le f_k) = \beta(t_k) - \beta(t_{k-1})` with
continuation regions :math:`(f_j, c_j)`; :math:`\mu` is the root of :math:`f_K(\mu) = c_K`, so
the last bounds meet and the power :math:`1 - \beta` is met exactly. Non-binding: the :math:`c_k`
are those of the efficacy-only design; binding: the :math:`c_k` are recomputed with the
:math:`f_j` inside the same root search. ``z_futility`` at the last look is :math:`c_K`.

Maximum information: with :math:`\mu^*` the drift giving power :math:`1 - \beta` (efficacy-only
designs: root of :math:`P_\mu(\text{reject}) = 1 - \beta`, power counted at the upper bound
only; beta-spending designs: the drift above), the inflation factor is
:math:`IF = \{\mu^* / (z_{1-\alpha/s} + z_{1-\beta})\}^2` and
:math:`I_{max} = IF\,\{(z_{1-\alpha/s} + z_{1-\beta}) / \delta\}^2 = (\mu^*/\delta)^2`
(rpact ``getDesignCharacteristics``: ``shift`` = :math:`\mu^{*2}`, ``inflationFactor``).

Numerical integration (Armitage, McPherson & Rowe 1969; Jennison & Turnbull ch. 19): the
sub-density of :math:`Z_k` on the continuation region (paths not stopped before) is carried on
quadrature nodes from look to look,
:math:`g_k(z) = \int g_{k-1}(x)\,\sqrt{t_k/\Delta_k}\,
\phi\{(z\sqrt{t_k} - x\sqrt{t_{k-1}} - \mu\Delta_k)/\sqrt{\Delta_k}\}\,dx`,
:math:`\Delta_k = t_k - t_{k-1}`, and crossing probabilities are
:math:`\int g_{k-1}(x)\,\Phi(\cdot)\,dx`. Instead of J&T's Simpson grid the continuation interval
(truncated to the mean :math:`\pm 8`, mass outside < 1e-15) is split into panels no wider than
0.5 and than half the standard deviations of the increment kernels into and out of the look
(but not narrower than 0.005, reached only by looks closer than
:math:`t_k/t_{k-1} \approx 1.0001`), each with a 10-point Gauss-Legendre rule: the integrands
are smooth (analytic) on the interval, so the rule converges geometrically; crossing
probabilities are converged to about 1e-13 (bounds move by < 1e-10 when the nodes are doubled,
a unit test). Every density update is a matrix-vector product (vectorised, in row blocks of
bounded memory); bounds are found by Brent's method to 1e-12 (rpact uses a 91-point
Newton-Cotes rule and bisection to 1e-8). Nothing is simulated.

Unplanned looks
---------------
Bounds at look :math:`k` depend only on :math:`t_1..t_k`, so a look at an unplanned fraction
(or an extra or missing look) is handled by recomputing the design at the actual fractions
(:meth:`GSDesign.at_fractions`, rpact: pass ``informationRates``); :func:`monitoring_fractions`
builds that vector from the observed fractions and the planned looks still to come. With beta
spending the drift is re-solved at the new fractions (as rpact does), so futility bounds of past
looks can move slightly; efficacy bounds of past looks never change. An over- or under-running
final look is declared with ``final=True``: spending is evaluated at :math:`\min(t, 1)`, the final
look spends all of :math:`\alpha` (and :math:`\beta`), and the correlations use the actual
fractions.

Interim statistics (:func:`look_statistics`), at observed look :math:`s` with statistic
:math:`Z_s`, estimate :math:`\hat\theta_s` and standard error :math:`SE_s`
(:math:`I_s = SE_s^{-2}`, :math:`I_{max} = I_s / t_s`):

- B-value :math:`B_s = Z_s\sqrt{t_s}` (Lan & Wittes 1988).
- Repeated confidence interval (Jennison & Turnbull 1989; rpact
  ``getRepeatedConfidenceIntervals``): :math:`\hat\theta_s \pm c_s\,SE_s` (coverage
  :math:`1 - 2\alpha` one-sided, :math:`1 - \alpha` two-sided, simultaneously over looks). With
  binding futility bounds the lower limit is lowered, as rpact does, to
  :math:`\min_{j<s}(\hat\theta_j - f_j SE_j)` when that is smaller.
- Conditional power (rpact ``getConditionalPower`` for group-sequential designs): the
  probability, given :math:`B_s`, of crossing an efficacy bound at a remaining look before a
  futility bound (rpact uses the design's futility bounds here, binding or not; two-sided:
  before the lower efficacy bound) with the increments
  :math:`B(t_j) - B_s \sim N(\mu (t_j - t_s), t_j - t_s)`: the same recursion on the remaining
  looks with times :math:`t_j - t_s` and bounds :math:`(c_j\sqrt{t_j} - B_s)/\sqrt{t_j - t_s}`.
  ``cp_trend``: :math:`\mu = \hat\theta_s\sqrt{I_{max}} = Z_s / \sqrt{t_s}` (rpact's default
  ``thetaH1``, the current estimate); ``cp_design``: :math:`\mu = \delta\sqrt{I_{max}}
  = \delta / (SE_s\sqrt{t_s})` for the design effect :math:`\delta`. One remaining look:
  :math:`CP = \Phi\{(Z_s\sqrt{t_s} + \mu(1 - t_s) - c_K)/\sqrt{1 - t_s}\}` (with
  :math:`t_K = 1`).
- Predictive power under a flat prior (Spiegelhalter, Freedman & Blackburn 1986): the posterior
  of :math:`\mu` is :math:`N(Z_s/\sqrt{t_s}, 1/t_s)`; PP is CP averaged over it. One remaining
  look (:math:`t_K = 1`), closed form :math:`PP = \Phi\{(Z_s - c_K\sqrt{t_s})/\sqrt{1 - t_s}\}`;
  more remaining looks: the average of the multi-look CP over the posterior by 64-node
  Gauss-Hermite quadrature (deterministic; equals the closed form to 1e-10 for one look).
- Decision: "stop for efficacy" if :math:`Z_s \ge c_s` (two-sided, :math:`Z_s \le -c_s`: "stop:
  efficacy bound crossed in the direction of harm"), "stop for futility (non-binding)" /
  "(binding)" if :math:`Z_s \le f_s` at an interim look, at the final look "final analysis:
  H0 not rejected", else "continue".

References: Lan & DeMets (1983) Biometrika 70:659; Hwang, Shih & DeCani (1990) Stat Med 9:1439;
Kim & DeMets (1987) Biometrika 74:149; Jennison & Turnbull (2000) Group Sequential Methods
with Applications to Clinical Trials, ch. 7, 9, 10, 19; Armitage, McPherson & Rowe (1969)
JRSS A 132:235; Lan & Wittes (1988) Biometrics 44:579; Wassmer & Brannath (2016) Group
Sequential and Confirmatory Adaptive Designs in Clinical Trials (rpact's reference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

__all__ = [
    "ALPHA_SPENDING",
    "BETA_SPENDING",
    "GSDesign",
    "LookStatistics",
    "conditional_power",
    "gsd_ard_rows",
    "gsd_design",
    "look_statistics",
    "monitor",
    "monitoring_fractions",
    "predictive_power",
    "spending",
]

ALPHA_SPENDING = ("asOF", "asP", "asHSD", "asKD")
BETA_SPENDING = ("bsOF", "bsP", "bsHSD", "bsKD")

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_RANGE = 8.0  # continuation intervals are truncated to mean +- _RANGE (Z scale)
_PANEL = 0.5  # widest Gauss-Legendre panel (Z scale)
_PANEL_PER_SD = 0.5  # panel width relative to the sd of the next increment kernel
_ORDER = 10  # Gauss-Legendre nodes per panel
_MIN_PANEL = 0.005  # narrowest panel (looks closer than t_k / t_{k-1} ~ 1.0001 lose accuracy)
_CHUNK = 1 << 21  # kernel entries evaluated at once
_XTOL = 1e-12  # root-finding tolerance (bounds, drift)
_BIG = 1e3  # objective value standing for "drift too large"


# ---------------------------------------------------------------------------------------------
# Spending functions
# ---------------------------------------------------------------------------------------------


def spending(family: str, total: float, t, sided: int = 1, param: float | None = None):
    """Cumulative error spent at information fraction(s) ``t`` (clipped to [0, 1]).

    ``family``: ``asOF``, ``asP``, ``asHSD`` (``param`` = gamma), ``asKD`` (``param`` = rho > 0)
    or the beta-spending ``bs*`` equivalents; ``total``: alpha or beta; ``sided`` matters for
    ``asOF`` only (rpact's definitions). Returns a float for scalar ``t``, else an array.
    """
    if family not in ALPHA_SPENDING + BETA_SPENDING:
        raise ValueError(f"unknown spending family {family!r}")
    scalar = np.ndim(t) == 0
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    kind = family[2:]
    if kind == "OF":
        s = sided if family.startswith("as") else 1
        z = -special.ndtri(total / (2 * s))
        with np.errstate(divide="ignore"):
            out = 2 * s * special.ndtr(-z / np.sqrt(t))
    elif kind == "P":
        out = total * np.log1p((math.e - 1.0) * t)
    elif kind == "HSD":
        if param is None:
            raise ValueError(f"{family} needs param (gamma)")
        g = float(param)
        out = total * t if g == 0 else total * np.expm1(-g * t) / math.expm1(-g)
    else:  # KD
        if param is None or param <= 0:
            raise ValueError(f"{family} needs param (rho) > 0")
        out = total * t ** float(param)
    return float(out) if scalar else out


# ---------------------------------------------------------------------------------------------
# Recursive numerical integration
# ---------------------------------------------------------------------------------------------

_GL_X, _GL_W = np.polynomial.legendre.leggauss(_ORDER)


@dataclass
class _State:
    """Sub-density of Z at time ``t`` on the continuation region, times quadrature weights."""

    t: float
    x: np.ndarray
    wg: np.ndarray

    @property
    def mass(self) -> float:
        return float(self.wg.sum())


def _nodes(a: float, b: float, width: float):
    n = max(1, math.ceil((b - a) / width - 1e-9))
    h = (b - a) / n
    left = a + h * np.arange(n)
    x = (left[:, None] + h * (_GL_X + 1.0) / 2.0).ravel()
    w = np.tile(_GL_W * h / 2.0, n)
    return x, w


def _std_arg(state: _State, t: float, drift: float, bound):
    """(bound*sqrt(t) - x*sqrt(t_prev) - drift*(t - t_prev)) / sqrt(t - t_prev) per node."""
    d = t - state.t
    b = np.asarray(bound, dtype=float)[..., None]
    return (b * math.sqrt(t) - state.x * math.sqrt(state.t) - drift * d) / math.sqrt(d)


def _p_above(state: _State | None, t: float, drift: float, u):
    """P(not stopped before, Z(t) >= u); ``u`` scalar or array."""
    if state is None:
        return special.ndtr(drift * math.sqrt(t) - np.asarray(u, dtype=float))
    if state.x.size == 0:
        return np.zeros(np.shape(u))
    return special.ndtr(-_std_arg(state, t, drift, u)) @ state.wg


def _p_below(state: _State | None, t: float, drift: float, lo):
    """P(not stopped before, Z(t) <= lo)."""
    if state is None:
        return special.ndtr(np.asarray(lo, dtype=float) - drift * math.sqrt(t))
    if state.x.size == 0:
        return np.zeros(np.shape(lo))
    return special.ndtr(_std_arg(state, t, drift, lo)) @ state.wg


def _advance(
    state: _State | None, t: float, drift: float, lo: float, hi: float, t_next: float | None
) -> _State:
    """Sub-density at time t on (lo, hi), on nodes suited to the increment to ``t_next``."""
    m = drift * math.sqrt(t)
    a, b = max(lo, m - _RANGE), min(hi, m + _RANGE)
    if t_next is None or not a < b or (state is not None and state.x.size == 0):
        return _State(t, np.empty(0), np.empty(0))
    # resolve the next increment kernel and the edges the last one left (at the previous bounds)
    sd = math.sqrt((t_next - t) / t)
    if state is not None:
        sd = min(sd, math.sqrt((t - state.t) / t))
    width = max(_MIN_PANEL, min(_PANEL, _PANEL_PER_SD * sd))
    x, w = _nodes(a, b, width)
    if state is None:
        g = np.exp(-0.5 * (x - m) ** 2) * _INV_SQRT_2PI
    else:
        d = t - state.t
        prev = state.x * math.sqrt(state.t) + drift * d
        g = np.empty(x.size)
        step = max(1, _CHUNK // max(1, prev.size))  # bounded memory for very close looks
        for i in range(0, x.size, step):
            arg = (x[i : i + step, None] * math.sqrt(t) - prev) / math.sqrt(d)
            g[i : i + step] = np.exp(-0.5 * arg * arg) @ state.wg
        g *= _INV_SQRT_2PI * math.sqrt(t / d)
    return _State(t, x, w * g)


def _crossing_probs(t, lower, upper, drift: float):
    """Per-look P(cross upper), P(cross lower) for continuation regions (lower_k, upper_k).

    Bounds may be +-inf. Crossing is >= upper or <= lower, not having stopped before.
    """
    t = np.asarray(t, dtype=float)
    K = t.size
    up, down = np.zeros(K), np.zeros(K)
    state = None
    for k in range(K):
        up[k] = _p_above(state, t[k], drift, upper[k]) if np.isfinite(upper[k]) else 0.0
        down[k] = _p_below(state, t[k], drift, lower[k]) if np.isfinite(lower[k]) else 0.0
        if k + 1 < K:
            state = _advance(state, t[k], drift, lower[k], upper[k], t[k + 1])
    return up, down


def _root(fun, lo: float, hi: float, step: float = 2.0) -> float:
    """Brent root of a decreasing-or-increasing ``fun`` after widening [lo, hi] if needed."""
    flo, fhi = fun(lo), fun(hi)
    n = 0
    while np.sign(flo) == np.sign(fhi):
        n += 1
        if n > 60:
            raise RuntimeError("no sign change found for the root")
        lo, hi = lo - step, hi + step
        step *= 2
        flo, fhi = fun(lo), fun(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    return optimize.brentq(fun, lo, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps, maxiter=500)


def _efficacy_bound(state, t, target, sided) -> float:
    """c with P0(not stopped, cross at t) = target (sided 2: |Z| >= c); nan if unattainable."""
    if target <= 0:
        return math.inf
    if state is None:
        return float(-special.ndtri(target / sided))
    if target >= state.mass:
        return math.nan
    if sided == 1:

        def f(c):
            return float(_p_above(state, t, 0.0, c)) - target
    else:

        def f(c):
            return float(_p_above(state, t, 0.0, c) + _p_below(state, t, 0.0, -c)) - target

    return _root(f, 0.0 if sided == 2 else -8.0, 12.0)


def _futility_bound(state, t, drift, target) -> float:
    """f with P_drift(not stopped, Z(t) <= f) = target; nan if not attainable."""
    if state is None:
        return float(special.ndtri(target) + drift * math.sqrt(t))
    if target <= 0:
        return -math.inf
    if target >= state.mass:
        return math.nan
    mid = drift * math.sqrt(t)

    def f(v):
        return float(_p_below(state, t, drift, v)) - target

    return _root(f, mid - 12.0, mid + 12.0)


# ---------------------------------------------------------------------------------------------
# Designs
# ---------------------------------------------------------------------------------------------


def _z(p: float) -> float:
    return float(-special.ndtri(p))


@dataclass(frozen=True, eq=False)
class GSDesign:
    """A computed group-sequential design; build it with :func:`gsd_design`.

    Per look (arrays of length K): ``info_fracs`` (correlation times), ``spend_fracs`` (where
    the spending functions are evaluated), ``z_efficacy``, ``z_futility`` (nan without
    futility; at the last look equal to ``z_efficacy``), ``alpha_cum`` (cumulative alpha spent:
    under H0, with the futility bounds only if binding; two-sided both tails), ``beta_cum``
    (cumulative P(stop for futility) at the drift; nan without futility), ``power_cum``
    (cumulative P(efficacy stop) at the drift; two-sided upper bound only), ``p_nominal``
    (1 - Phi(z_efficacy), rpact's stage levels). ``drift`` is mu* = delta * sqrt(I_max), the
    drift giving the design power; ``inflation_factor`` = (drift / (z_{1-alpha/s} +
    z_{1-beta}))^2.
    """

    info_fracs: np.ndarray
    spend_fracs: np.ndarray
    alpha: float
    beta: float
    sided: int
    efficacy: str
    efficacy_param: float | None
    futility: str | None
    futility_param: float | None
    binding: bool
    final_spends_all: bool
    z_efficacy: np.ndarray
    z_futility: np.ndarray
    alpha_cum: np.ndarray
    beta_cum: np.ndarray
    power_cum: np.ndarray
    p_nominal: np.ndarray
    drift: float
    inflation_factor: float

    @property
    def n_looks(self) -> int:
        return int(self.info_fracs.size)

    @property
    def has_futility(self) -> bool:
        return self.futility is not None

    @property
    def fixed_drift(self) -> float:
        """z_{1-alpha/sided} + z_{1-beta}: the drift of the fixed-sample design."""
        return _z(self.alpha / self.sided) + _z(self.beta)

    def max_information(self, delta: float) -> float:
        """Maximum information for effect ``delta``: IF * ((z_{1-a/s} + z_{1-b}) / delta)^2."""
        return self.inflation_factor * (self.fixed_drift / delta) ** 2

    def lower_bounds(self, with_futility: bool = True) -> np.ndarray:
        """Lower ends of the continuation regions (-inf where none; last look included)."""
        if self.sided == 2:
            return -self.z_efficacy
        if self.has_futility and with_futility:
            lo = self.z_futility.copy()
            lo[-1] = -math.inf
            return lo
        return np.full(self.n_looks, -math.inf)

    def settings(self) -> dict:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "sided": self.sided,
            "efficacy": self.efficacy,
            "efficacy_param": self.efficacy_param,
            "futility": self.futility,
            "futility_param": self.futility_param,
            "binding": self.binding,
        }

    def at_fractions(self, info_fracs: Sequence[float], final: bool = True) -> GSDesign:
        """The same design recomputed at other (e.g. actually observed) information fractions.

        ``final``: the last fraction is the final analysis (spends all of alpha and beta even
        if it is not 1); otherwise the fractions must end at 1 (rpact's ``informationRates``).
        """
        return gsd_design(info_fracs, final=final, **self.settings())

    def method(self) -> str:
        eff = self.efficacy + (
            f"({self.efficacy_param:g})" if self.efficacy_param is not None else ""
        )
        txt = f"{eff} alpha spending, {self.sided}-sided alpha={self.alpha:g}"
        if self.has_futility:
            fut = self.futility + (
                f"({self.futility_param:g})" if self.futility_param is not None else ""
            )
            kind = "binding" if self.binding else "non-binding"
            txt += f"; {fut} beta spending {kind} futility, beta={self.beta:g}"
        return txt + "; recursive integration (hepatrial.models.gsd)"

    def boundaries(self) -> list[dict]:
        """One dict per look: look, info_frac, z_efficacy, z_futility, alpha_cum, beta_cum,
        p_nominal (plain floats; nan where not applicable)."""
        return [
            {
                "look": k + 1,
                "info_frac": float(self.info_fracs[k]),
                "z_efficacy": float(self.z_efficacy[k]),
                "z_futility": float(self.z_futility[k]),
                "alpha_cum": float(self.alpha_cum[k]),
                "beta_cum": float(self.beta_cum[k]),
                "p_nominal": float(self.p_nominal[k]),
            }
            for k in range(self.n_looks)
        ]

    def boundary_frame(self):
        """:meth:`boundaries` as a polars DataFrame."""
        import polars as pl

        return pl.DataFrame(self.boundaries())


def _validate_fracs(info_fracs, final: bool) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(info_fracs, dtype=float).ravel()
    if t.size == 0 or not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise ValueError(f"information fractions must be positive and increasing: {t}")
    if np.any(t[:-1] >= 1.0):
        raise ValueError(f"only the last look may be at or beyond full information: {t}")
    s = np.minimum(t, 1.0)
    if final:
        s[-1] = 1.0
    elif not math.isclose(t[-1], 1.0, abs_tol=1e-12):
        raise ValueError("the last information fraction must be 1 (or pass final=True)")
    return t, s


def gsd_design(
    info_fracs: Sequence[float],
    alpha: float = 0.025,
    beta: float = 0.2,
    sided: int = 1,
    efficacy: str = "asOF",
    efficacy_param: float | None = None,
    futility: str | None = None,
    futility_param: float | None = None,
    binding: bool = False,
    final: bool = True,
) -> GSDesign:
    """Group-sequential design with spending-function bounds (rpact ``getDesignGroupSequential``).

    ``info_fracs``: information fractions of the looks, increasing, normally ending at 1 (see
    :meth:`GSDesign.at_fractions` for ``final``). ``alpha``: one-sided level (``sided=1``) or
    total two-sided level (``sided=2``, symmetric bounds); ``beta`` = 1 - power.
    ``efficacy``: alpha-spending family (``asOF``, ``asP``, ``asHSD``, ``asKD``) with
    ``efficacy_param`` (gamma for HSD, rho for KD); ``futility``: ``None`` or a beta-spending
    family (``bsOF``, ``bsP``, ``bsHSD``, ``bsKD``; one-sided designs only) with
    ``futility_param``; ``binding``: whether the futility bounds are binding.
    """
    if sided not in (1, 2):
        raise ValueError("sided must be 1 or 2")
    if not 0 < alpha / sided < 0.5 or not 0 < beta < 1 - alpha / sided:
        raise ValueError("need 0 < alpha/sided < 0.5 and 0 < beta < 1 - alpha/sided")
    if efficacy not in ALPHA_SPENDING:
        raise ValueError(f"efficacy spending must be one of {ALPHA_SPENDING}")
    if futility is not None:
        if futility not in BETA_SPENDING:
            raise ValueError(f"futility spending must be None or one of {BETA_SPENDING}")
        if sided != 1:
            raise ValueError(
                "beta-spending futility bounds are implemented for one-sided designs only"
            )
    t, s = _validate_fracs(info_fracs, final)
    K = t.size
    a_cum = spending(efficacy, alpha, s, sided, efficacy_param)
    a_inc = np.diff(np.concatenate([[0.0], a_cum]))
    nxt = list(t[1:]) + [None]

    def efficacy_only():
        c, state = np.empty(K), None
        for k in range(K):
            c[k] = _efficacy_bound(state, t[k], a_inc[k], sided)
            lo = -c[k] if sided == 2 else -math.inf
            state = _advance(state, t[k], 0.0, lo, c[k], nxt[k])
        return c

    nan = np.full(K, math.nan)
    if futility is None:
        c = efficacy_only()
        lo = -c if sided == 2 else np.full(K, -math.inf)
        up0, dn0 = _crossing_probs(t, lo, c, 0.0)

        def power_gap(mu):
            return float(_crossing_probs(t, lo, c, mu)[0].sum()) - (1 - beta)

        fixed = _z(alpha / sided) + _z(beta)
        drift = _root(power_gap, fixed, 1.25 * fixed, step=0.5 * fixed)
        power = np.cumsum(_crossing_probs(t, lo, c, drift)[0])
        alpha_cum = np.cumsum(up0 + dn0)
        f, beta_cum = nan, nan
    else:
        b_cum = spending(futility, beta, s, 1, futility_param)
        b_inc = np.diff(np.concatenate([[0.0], b_cum]))
        if binding:
            c, f, drift = _solve_binding(t, a_inc, b_inc)
        else:
            c = efficacy_only()
            _, f, drift = _solve_nonbinding(t, c, b_inc)
        f[-1] = c[-1]
        lo = f.copy()
        lo[-1] = -math.inf
        up1, dn1 = _crossing_probs(t, lo, c, drift)
        power, beta_cum = np.cumsum(up1), np.cumsum(dn1)
        beta_cum[-1] = 1.0 - power[-1]  # at the last look every path not rejecting stops
        up0, _ = _crossing_probs(t, lo if binding else np.full(K, -math.inf), c, 0.0)
        alpha_cum = np.cumsum(up0)
    return GSDesign(
        info_fracs=t,
        spend_fracs=s,
        alpha=alpha,
        beta=beta,
        sided=sided,
        efficacy=efficacy,
        efficacy_param=efficacy_param,
        futility=futility,
        futility_param=futility_param,
        binding=bool(binding) if futility is not None else False,
        final_spends_all=final,
        z_efficacy=c,
        z_futility=f,
        alpha_cum=alpha_cum,
        beta_cum=beta_cum,
        power_cum=power,
        p_nominal=special.ndtr(-c),
        drift=float(drift),
        inflation_factor=float((drift / (_z(alpha / sided) + _z(beta))) ** 2),
    )


def _futility_path(t, c, b_inc, mu):
    """Futility bounds under drift mu given efficacy bounds c; None if beta cannot be spent."""
    K = t.size
    f, state = np.empty(K), None
    for k in range(K):
        f[k] = _futility_bound(state, t[k], mu, b_inc[k])
        if math.isnan(f[k]):
            return None
        if k + 1 < K:
            state = _advance(state, t[k], mu, f[k], c[k], t[k + 1])
    return f


def _solve_nonbinding(t, c, b_inc):
    def gap(mu):
        f = _futility_path(t, c, b_inc, mu)
        return _BIG if f is None else f[-1] - c[-1]

    fixed = c[-1] - special.ndtri(b_inc.sum())  # ~ z_{1-alpha} + z_{1-beta}
    mu = _root(gap, 0.9 * fixed, 1.3 * fixed, step=0.5 * fixed)
    return c, _futility_path(t, c, b_inc, mu), mu


def _binding_path(t, a_inc, b_inc, mu):
    K = t.size
    c, f = np.empty(K), np.empty(K)
    s0 = s1 = None
    for k in range(K):
        c[k] = _efficacy_bound(s0, t[k], a_inc[k], 1)
        f[k] = _futility_bound(s1, t[k], mu, b_inc[k])
        if math.isnan(f[k]) or math.isnan(c[k]):
            return None
        if k + 1 < K:
            if f[k] >= c[k]:
                return None
            s0 = _advance(s0, t[k], 0.0, f[k], c[k], t[k + 1])
            s1 = _advance(s1, t[k], mu, f[k], c[k], t[k + 1])
    return c, f


def _solve_binding(t, a_inc, b_inc):
    def gap(mu):
        r = _binding_path(t, a_inc, b_inc, mu)
        return _BIG if r is None else r[1][-1] - r[0][-1]

    fixed = -special.ndtri(a_inc.sum()) - special.ndtri(b_inc.sum())
    mu = _root(gap, 0.9 * fixed, 1.3 * fixed, step=0.5 * fixed)
    c, f = _binding_path(t, a_inc, b_inc, mu)
    return c, f, mu


def monitoring_fractions(
    design: GSDesign, observed: Sequence[float], remaining: Sequence[float] | None = None
) -> np.ndarray:
    """Fractions for recomputing ``design`` at the looks done so far plus those still to come.

    ``observed``: the information fractions of the looks done (relative to the planned
    maximum information). ``remaining``: the planned fractions of the looks to come; default:
    the design's looks after the ``len(observed)``-th that lie beyond the last observed one,
    and 1 if none is left. An observed fraction >= 1 is the final look.
    """
    obs = np.asarray(observed, dtype=float).ravel()
    if obs.size == 0:
        return design.info_fracs.copy()
    if obs[-1] >= 1.0:
        return obs
    if remaining is None:
        rest = design.info_fracs[obs.size :]
        rest = rest[rest > obs[-1]]
    else:
        rest = np.asarray(remaining, dtype=float).ravel()
    if rest.size == 0 or rest[-1] < 1.0:
        rest = np.append(rest, 1.0)
    return np.concatenate([obs, rest])


# ---------------------------------------------------------------------------------------------
# Interim statistics
# ---------------------------------------------------------------------------------------------


def _remaining_probs(design: GSDesign, look: int, z: float, drift, use_futility: bool):
    """Upper-crossing probabilities at looks look+1..K given Z at ``look`` (1-based)."""
    t = design.info_fracs
    ts, bs = t[look - 1], z * math.sqrt(t[look - 1])
    tj = t[look:]
    tau = tj - ts
    c = design.z_efficacy[look:]
    lo = design.lower_bounds(use_futility)[look:]
    up = np.where(np.isfinite(c), (c * np.sqrt(tj) - bs) / np.sqrt(tau), math.inf)
    low = np.where(np.isfinite(lo), (lo * np.sqrt(tj) - bs) / np.sqrt(tau), -math.inf)
    drifts = np.atleast_1d(np.asarray(drift, dtype=float))
    out = np.array([_crossing_probs(tau, low, up, float(m))[0] for m in drifts])
    return out if np.ndim(drift) else out[0]


def conditional_power(
    design: GSDesign, look: int, z: float, drift: float, use_futility: bool = True
) -> np.ndarray:
    """Cumulative conditional power at looks ``look+1..K`` given ``Z = z`` at ``look``.

    ``drift`` = theta * sqrt(I_max) (B-value drift per unit of information fraction).
    ``use_futility``: stop at the design's futility bounds of the remaining looks (rpact does).
    The last element is the conditional power of the trial. Empty at the last look.
    """
    if not 1 <= look <= design.n_looks:
        raise ValueError("look out of range")
    if look == design.n_looks:
        return np.empty(0)
    return np.cumsum(_remaining_probs(design, look, z, drift, use_futility))


_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(64)
_GH_W = _GH_W / math.sqrt(2.0 * math.pi)


def predictive_power(design: GSDesign, look: int, z: float, use_futility: bool = True) -> float:
    """Predictive power under a flat prior on the drift (posterior N(z/sqrt(t), 1/t)).

    One remaining look at t = 1 without intermediate bounds: the closed form
    Phi((z - c_K sqrt(t)) / sqrt(1 - t)); otherwise CP averaged over the posterior by
    64-node Gauss-Hermite quadrature. nan at the last look.
    """
    if look == design.n_looks:
        return math.nan
    ts = float(design.info_fracs[look - 1])
    if look == design.n_looks - 1 and math.isclose(design.info_fracs[-1], 1.0):
        c = design.z_efficacy[-1]
        return float(special.ndtr((z - c * math.sqrt(ts)) / math.sqrt(1.0 - ts)))
    mus = z / math.sqrt(ts) + _GH_X / math.sqrt(ts)
    probs = _remaining_probs(design, look, z, mus, use_futility)
    return float(_GH_W @ probs.sum(axis=1))


@dataclass(frozen=True)
class LookStatistics:
    """Statistics at one observed look (see :func:`look_statistics`)."""

    look: int
    info_frac: float
    z: float
    p: float
    b_value: float
    estimate: float
    se: float
    z_efficacy: float
    z_futility: float
    rci_lower: float
    rci_upper: float
    cp_trend: float
    cp_design: float
    pp: float
    decision: str
    decision_code: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _decision(design: GSDesign, k: int, z: float) -> tuple[str, int]:
    c = design.z_efficacy[k - 1]
    final = k == design.n_looks
    if z >= c:
        return "stop for efficacy", 1
    if design.sided == 2 and z <= -c:
        return "stop: efficacy bound crossed in the direction of harm", -2
    if final:
        return "final analysis: H0 not rejected", 0
    if design.has_futility and z <= design.z_futility[k - 1]:
        kind = "binding" if design.binding else "non-binding"
        return f"stop for futility ({kind})", -1
    return "continue", 0


def look_statistics(
    design: GSDesign,
    z: Sequence[float],
    estimate: Sequence[float],
    se: Sequence[float],
    design_effect: float | None = None,
    use_futility: bool = True,
) -> list[LookStatistics]:
    """Statistics at every observed look of ``design`` (looks 1..len(z)).

    ``design`` must already be at the observed fractions (:meth:`GSDesign.at_fractions` with
    :func:`monitoring_fractions`). ``z``, ``estimate``, ``se``: per observed look, oriented
    so that benefit is positive (estimate > 0). ``design_effect``: the effect the trial was
    powered for, in the units of ``estimate`` (``cp_design`` is nan without it).
    """
    z = np.asarray(z, dtype=float).ravel()
    est = np.asarray(estimate, dtype=float).ravel()
    se = np.asarray(se, dtype=float).ravel()
    n = z.size
    if not n == est.size == se.size or n > design.n_looks or n == 0:
        raise ValueError("z, estimate and se need one value per observed look (<= K)")
    if np.any(se <= 0):
        raise ValueError("standard errors must be positive")
    out = []
    corr = []
    for k in range(1, n + 1):
        i = k - 1
        t = float(design.info_fracs[i])
        c = float(design.z_efficacy[i])
        f = float(design.z_futility[i])
        lo, hi = (
            (est[i] - c * se[i], est[i] + c * se[i]) if np.isfinite(c) else (math.nan, math.nan)
        )
        if design.binding and k > 1:
            lo = min(lo, min(corr))
        if design.has_futility and k < design.n_looks:
            corr.append(est[i] - f * se[i])
        if k < design.n_looks:
            cp_t = float(conditional_power(design, k, z[i], z[i] / math.sqrt(t), use_futility)[-1])
            cp_d = (
                float(
                    conditional_power(
                        design, k, z[i], design_effect / (se[i] * math.sqrt(t)), use_futility
                    )[-1]
                )
                if design_effect is not None
                else math.nan
            )
            pp = predictive_power(design, k, z[i], use_futility)
        else:
            cp_t = cp_d = pp = math.nan
        text, code = _decision(design, k, z[i])
        out.append(
            LookStatistics(
                look=k,
                info_frac=t,
                z=float(z[i]),
                p=float(special.ndtr(-z[i])),
                b_value=float(z[i] * math.sqrt(t)),
                estimate=float(est[i]),
                se=float(se[i]),
                z_efficacy=c,
                z_futility=f,
                rci_lower=float(lo),
                rci_upper=float(hi),
                cp_trend=cp_t,
                cp_design=cp_d,
                pp=pp,
                decision=text,
                decision_code=code,
            )
        )
    return out


def monitor(
    design: GSDesign,
    info_fracs: Sequence[float],
    z: Sequence[float],
    estimate: Sequence[float],
    se: Sequence[float],
    design_effect: float | None = None,
    remaining: Sequence[float] | None = None,
    final: bool = False,
    use_futility: bool = True,
) -> tuple[GSDesign, list[LookStatistics]]:
    """Recompute ``design`` at the observed looks and compute their statistics.

    ``info_fracs``, ``z``, ``estimate``, ``se``: one value per look done so far (fractions of
    the planned maximum information). ``final``: the last observed look is the final analysis
    (it spends all remaining alpha whatever its fraction); otherwise the looks still to come
    are ``remaining`` (default: see :func:`monitoring_fractions`). Returns the recomputed design
    (its first ``len(z)`` looks are the observed ones) and :func:`look_statistics`.
    """
    obs = np.asarray(info_fracs, dtype=float).ravel()
    if final:
        fr = obs
    else:
        fr = monitoring_fractions(design, obs, remaining)
    updated = design.at_fractions(fr, final=True)
    if updated.n_looks < obs.size or not np.allclose(updated.info_fracs[: obs.size], obs):
        raise ValueError("observed fractions do not fit the design")
    return updated, look_statistics(updated, z, estimate, se, design_effect, use_futility)


# ---------------------------------------------------------------------------------------------
# ARD rows
# ---------------------------------------------------------------------------------------------

_BOUNDARY_STATS = ("info_frac", "z_efficacy", "z_futility", "alpha_cum", "beta_cum", "p_nominal")
_STATUS_STATS = (
    "info_frac",
    "z",
    "p",
    "b_value",
    "estimate",
    "se",
    "rci_lower",
    "rci_upper",
    "cp_trend",
    "cp_design",
    "pp",
)


def _num(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def gsd_ard_rows(
    design: GSDesign,
    status: Sequence[LookStatistics] | None = None,
    delta: float | None = None,
    **keys,
) -> list[dict]:
    """ARD rows (dicts for ``hepatrial.ard.ard_rows``) of a design and its observed looks.

    ``GSD_BOUNDARY``, avisit ``LOOK k``: info_frac, z_efficacy, z_futility, alpha_cum,
    beta_cum, p_nominal (value null where not applicable: no futility bound / beta spending);
    avisit ``DESIGN``: inflation_factor, drift, and max_info when ``delta`` is given.
    ``GSD_STATUS``, avisit ``LOOK k`` per observed look: info_frac, z, p, b_value, estimate,
    se, rci_lower, rci_upper, cp_trend, cp_design, pp (null at the last look / without a
    design effect), and ``decision`` (value 1 stop for efficacy, -1 stop for futility, -2
    harm bound crossed, 0 continue / not rejected; the text is the ``method``).
    ``keys``: further ARD columns for every row (paramcd, population, arm, comparator).
    """
    method = design.method()
    rows = []
    for b in design.boundaries():
        for stat in _BOUNDARY_STATS:
            rows.append(
                dict(
                    keys,
                    analysis="GSD_BOUNDARY",
                    avisit=f"LOOK {b['look']}",
                    stat=stat,
                    value=_num(b[stat]),
                    method=method,
                )
            )
    extra = {"inflation_factor": design.inflation_factor, "drift": design.drift}
    if delta is not None:
        extra["max_info"] = design.max_information(delta)
    for stat, v in extra.items():
        rows.append(
            dict(
                keys,
                analysis="GSD_BOUNDARY",
                avisit="DESIGN",
                stat=stat,
                value=_num(v),
                method=method,
            )
        )
    for s in status or ():
        d = s.as_dict()
        for stat in _STATUS_STATS:
            rows.append(
                dict(
                    keys,
                    analysis="GSD_STATUS",
                    avisit=f"LOOK {s.look}",
                    stat=stat,
                    value=_num(d[stat]),
                    method=method,
                )
            )
        rows.append(
            dict(
                keys,
                analysis="GSD_STATUS",
                avisit=f"LOOK {s.look}",
                stat="decision",
                value=float(s.decision_code),
                method=s.decision,
            )
        )
    return rows

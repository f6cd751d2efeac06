"""Binomial proportions and their comparison (docs/responder.md).

- :func:`clopper_pearson`: exact CI of one proportion (SAS PROC FREQ BINOMIAL(EXACT) / R
  ``binom.test``).
- :func:`miettinen_nurminen`: risk difference p1 - p2 with the Miettinen-Nurminen score CI, the
  variance with the N / (N - 1) factor (SAS RISKDIFF(CL=MN) / METHOD=MN, its default
  ``CORRECT=YES``), limits found by bisection to 1e-13.
- :func:`cmh_risk_difference`: stratified 2 x 2 x K tables: the Cochran-Mantel-Haenszel chi-square
  (no continuity correction: SAS CMH "nonzero correlation"; R ``mantelhaen.test(correct=FALSE)``)
  and the Mantel-Haenszel common risk difference with Sato's (1989) variance and a Wald CI (SAS
  COMMONRISKDIFF(CL=MH)).

Group 1 is the test arm, group 2 the reference; ``x`` responders out of ``n``.
"""

from __future__ import annotations

import math

from scipy import special


def clopper_pearson(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 1 - alpha CI of x / n: beta quantiles; NaN when n = 0."""
    if n <= 0:
        return float("nan"), float("nan")
    lo = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, alpha / 2))
    hi = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - alpha / 2))
    return lo, hi


def restricted_mle(x1: int, n1: int, x2: int, n2: int, delta: float) -> tuple[float, float]:
    """(p1, p2) maximising the two binomial likelihoods subject to p1 - p2 = delta: the closed form
    root of the likelihood-equation cubic (Miettinen and Nurminen 1985; Farrington and Manning
    1990)."""
    p1h, p2h = x1 / n1, x2 / n2
    theta = n2 / n1
    a = 1.0 + theta
    b = -(1.0 + theta + p1h + theta * p2h + delta * (theta + 2.0))
    c = delta * delta + delta * (2.0 * p1h + theta + 1.0) + p1h + theta * p2h
    d = -p1h * delta * (1.0 + delta)
    v = b**3 / (3.0 * a) ** 3 - b * c / (6.0 * a * a) + d / (2.0 * a)
    s = b * b / (3.0 * a) ** 2 - c / (3.0 * a)
    u = math.copysign(math.sqrt(max(s, 0.0)), v) if v != 0 else math.sqrt(max(s, 0.0))
    if u == 0.0:
        p1 = -b / (3.0 * a)
    else:
        w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3.0
        p1 = 2.0 * u * math.cos(w) - b / (3.0 * a)
    p1 = min(max(p1, max(0.0, delta)), min(1.0, 1.0 + delta))
    return p1, p1 - delta


def mn_score(x1: int, n1: int, x2: int, n2: int, delta: float) -> float:
    """Miettinen-Nurminen score statistic (p1^ - p2^ - delta) / sqrt(V(delta)), V with the
    restricted MLEs and the factor N / (N - 1); +-inf where V = 0 and the numerator is not 0."""
    diff = x1 / n1 - x2 / n2 - delta
    if diff == 0.0:
        return 0.0
    p1, p2 = restricted_mle(x1, n1, x2, n2, delta)
    n = n1 + n2
    var = (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2) * n / (n - 1.0)
    if var <= 0.0:
        return math.copysign(math.inf, diff)
    return diff / math.sqrt(var)


def _bisect(f, lo: float, hi: float, tol: float = 1e-13) -> float:
    """The root of a decreasing ``f`` with f(lo) >= 0 >= f(hi)."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    return 0.5 * (lo + hi)


def miettinen_nurminen(
    x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05
) -> tuple[float, float, float]:
    """(p1^ - p2^, lower, upper): the score CI {delta: |score(delta)| <= z_(1 - alpha/2)}.
    The score decreases in delta, so each limit is the one root on its side of the estimate."""
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan"), float("nan")
    z = float(special.ndtri(1 - alpha / 2))
    est = x1 / n1 - x2 / n2
    score = lambda dl: mn_score(x1, n1, x2, n2, dl)
    lower = (
        -1.0 if est <= -1.0 or score(-1.0) <= z else _bisect(lambda dl: score(dl) - z, -1.0, est)
    )
    upper = 1.0 if est >= 1.0 or score(1.0) >= -z else _bisect(lambda dl: score(dl) + z, est, 1.0)
    return est, lower, upper


def cmh_risk_difference(
    tables: list[tuple[int, int, int, int]], alpha: float = 0.05
) -> dict[str, float]:
    """Stratified comparison of two proportions; ``tables`` = (x1, n1, x2, n2) per stratum.

    - CMH chi-square (1 df) = (sum_h (x1h - n1h m_h / N_h))^2 / sum_h n1h n2h m_h (N_h - m_h) /
      (N_h^2 (N_h - 1)), m_h = x1h + x2h responders of stratum h; strata with N_h < 2 add nothing.
    - MH common risk difference sum_h w_h d_h / sum_h w_h, w_h = n1h n2h / N_h, with Sato's
      variance (d_MH sum P_h + sum Q_h) / (sum w_h)^2,
      P_h = (n1h^2 x2h - n2h^2 x1h + n1h n2h (n2h - n1h) / 2) / N_h^2,
      Q_h = (x1h (n2h - x2h) + x2h (n1h - x1h)) / (2 N_h); Wald CI d_MH +- z se.
    Strata without both arms have weight 0. NaN where not estimable."""
    z = float(special.ndtri(1 - alpha / 2))
    num = var_cmh = sw = swd = sp = sq = 0.0
    used = 0
    for x1, n1, x2, n2 in tables:
        nh = n1 + n2
        if n1 == 0 or n2 == 0:
            continue
        used += 1
        m = x1 + x2
        num += x1 - n1 * m / nh
        if nh > 1:
            var_cmh += n1 * n2 * m * (nh - m) / (nh * nh * (nh - 1.0))
        w = n1 * n2 / nh
        sw += w
        swd += w * (x1 / n1 - x2 / n2)
        sp += (n1 * n1 * x2 - n2 * n2 * x1 + n1 * n2 * (n2 - n1) / 2.0) / (nh * nh)
        sq += (x1 * (n2 - x2) + x2 * (n1 - x1)) / (2.0 * nh)
    nan = float("nan")
    out = {
        "rd": nan,
        "se": nan,
        "lower": nan,
        "upper": nan,
        "chisq": nan,
        "df": 1.0,
        "p": nan,
        "n_strata": float(used),
    }
    if sw > 0:
        rd = swd / sw
        var = (rd * sp + sq) / (sw * sw)
        se = math.sqrt(var) if var >= 0 else nan
        out.update(rd=rd, se=se, lower=rd - z * se, upper=rd + z * se)
    if var_cmh > 0:
        chisq = num * num / var_cmh
        out.update(chisq=chisq, p=float(special.chdtrc(1.0, chisq)))
    return out

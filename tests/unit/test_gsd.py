"""Unit tests of hepatrial.models.gsd: hand calculations, published tables, independent
numerical integration (scipy quad), invariants and hypothesis properties. The comparison with R
rpact is tests/reference/test_gsd_reference.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from hepatrial.ard import ard_rows, finalise
from hepatrial.models import gsd
from hepatrial.models.gsd import (
    conditional_power,
    gsd_ard_rows,
    gsd_design,
    look_statistics,
    monitor,
    monitoring_fractions,
    predictive_power,
    spending,
)

Z975 = 1.959963984540054  # z_{1-0.025}
Z80 = 0.8416212335729143  # z_{1-0.2}
norm = stats.norm


# ---------------------------------------------------------------------------------------------
# Spending functions, by hand
# ---------------------------------------------------------------------------------------------


def test_spending_functions_by_hand():
    a = 0.025
    # asOF one-sided: 2 (1 - Phi(z_{1-a/2} / sqrt t)); z_{1-0.0125} = 2.2414027276...
    z = 2.241402727604947
    assert spending("asOF", a, 0.5) == pytest.approx(2 * norm.sf(z / math.sqrt(0.5)), rel=1e-14)
    assert spending("asOF", a, 0.5) == pytest.approx(0.001525322757989, rel=1e-10)  # rpact
    # two-sided asOF: 4 (1 - Phi(z_{1-a/4} / sqrt t)) with the total a = 0.05
    assert spending("asOF", 0.05, 0.5, sided=2) == pytest.approx(
        4 * norm.sf(norm.isf(0.0125) / math.sqrt(0.5)), rel=1e-14
    )
    # bsOF ignores sides: 2 (1 - Phi(z_{1-b/2} / sqrt t))
    assert spending("bsOF", 0.2, 0.25) == pytest.approx(2 * norm.sf(norm.isf(0.1) / 0.5), rel=1e-14)
    # Pocock: a log(1 + (e - 1) t); t = 0.5: 0.025 * log(1.8591409...) = 0.0155029...
    assert spending("asP", a, 0.5) == pytest.approx(0.025 * math.log(1.8591409142295225))
    # HSD gamma = -4: a (1 - e^2) / (1 - e^4) = 0.025 * 6.389056 / 53.598150 = 0.0029800...
    assert spending("asHSD", a, 0.5, param=-4) == pytest.approx(
        0.025 * (math.e**2 - 1) / (math.e**4 - 1), rel=1e-14
    )
    assert spending("asHSD", a, 0.5, param=0) == pytest.approx(0.0125)
    # Kim-DeMets rho = 3: a t^3 = 0.025 / 8
    assert spending("asKD", a, 0.5, param=3) == pytest.approx(0.003125, rel=1e-14)
    for fam, p in [("asOF", None), ("asP", None), ("asHSD", -4), ("asHSD", 1), ("asKD", 2)]:
        assert spending(fam, a, 1.0, param=p) == pytest.approx(a, rel=1e-13)
        assert spending(fam, a, 0.0, param=p) == 0.0
        v = spending(fam, a, np.linspace(0, 1, 101), param=p)
        assert np.all(np.diff(v) > 0)


def test_spending_rejects_bad_input():
    with pytest.raises(ValueError):
        spending("asXX", 0.025, 0.5)
    with pytest.raises(ValueError):
        spending("asKD", 0.025, 0.5)
    with pytest.raises(ValueError):
        spending("asHSD", 0.025, 0.5)


# ---------------------------------------------------------------------------------------------
# Designs, by hand and from published tables
# ---------------------------------------------------------------------------------------------


def test_one_look_design_is_the_fixed_sample_test():
    d = gsd_design([1.0], alpha=0.025, beta=0.2)
    assert d.z_efficacy[0] == pytest.approx(Z975, abs=1e-12)
    assert d.alpha_cum[0] == pytest.approx(0.025, abs=1e-14)
    assert d.p_nominal[0] == pytest.approx(0.025, abs=1e-14)
    # drift z_{1-a} + z_{1-b} = 2.8015852..., inflation factor 1
    assert d.drift == pytest.approx(Z975 + Z80, abs=1e-10)
    assert d.inflation_factor == pytest.approx(1.0, abs=1e-10)
    # fixed-sample information for delta = 0.5: (2.8015852 / 0.5)^2 = 31.3955...
    assert d.max_information(0.5) == pytest.approx((Z975 + Z80) ** 2 / 0.25, rel=1e-10)
    two = gsd_design([1.0], alpha=0.05, sided=2)
    assert two.z_efficacy[0] == pytest.approx(Z975, abs=1e-12)


def test_two_look_of_design_by_hand():
    """asOF at t = (0.5, 1), one-sided 0.025: c1 = z_{1 - alpha(0.5)}; c2 solves
    P(Z1 < c1, Z2 >= c2) = 0.025 - alpha(0.5) with corr(Z1, Z2) = sqrt(0.5), checked by quad."""
    d = gsd_design([0.5, 1.0])
    a1 = 2 * norm.sf(2.241402727604947 / math.sqrt(0.5))
    assert d.z_efficacy[0] == pytest.approx(norm.isf(a1), abs=1e-12)
    assert d.z_efficacy[0] == pytest.approx(2.96258804272755, abs=1e-9)  # rpact, 15 digits
    rho = math.sqrt(0.5)
    c1, c2 = d.z_efficacy

    def joint(z1):
        return norm.pdf(z1) * norm.sf((c2 - rho * z1) / math.sqrt(1 - rho**2))

    p2, _ = integrate.quad(joint, -np.inf, c1, epsabs=1e-14, epsrel=1e-12)
    assert p2 == pytest.approx(0.025 - a1, abs=1e-11)
    assert d.alpha_cum[-1] == pytest.approx(0.025, abs=1e-11)


def _constant_bound(K, alpha, shape):
    """Constant-shape two-sided bounds C * shape_k with total alpha (J&T ch. 2)."""
    t = np.arange(1, K + 1) / K

    def gap(C):
        c = C * shape(t)
        up, dn = gsd._crossing_probs(t, -c, c, 0.0)
        return up.sum() + dn.sum() - alpha

    return optimize.brentq(gap, 1.5, 4.0, xtol=1e-12)


@pytest.mark.parametrize(
    "K,pocock,obf", [(2, 2.178, 1.977), (3, 2.289, 2.004), (4, 2.361, 2.024), (5, 2.413, 2.040)]
)
def test_pocock_and_obrien_fleming_constants_jennison_turnbull(K, pocock, obf):
    """Jennison & Turnbull (2000) Tables 2.1 and 2.3: C_P(K, 0.05) and C_B(K, 0.05), two-sided,
    equally spaced looks (Pocock: c_k = C_P; O'Brien-Fleming: c_k = C_B sqrt(K / k))."""
    cp = _constant_bound(K, 0.05, lambda t: np.ones_like(t))
    cb = _constant_bound(K, 0.05, lambda t: 1 / np.sqrt(t))
    assert round(cp, 3) == pocock
    assert round(cb, 3) == obf


def test_three_looks_against_nested_quadrature():
    """Crossing probability at look 3 by scipy dblquad over (B1, B2), independently of the
    module's grid: P(B1 < c1 sqrt t1, B2 < c2 sqrt t2, B3 >= c3 sqrt t3), drift 0 and 2.5."""
    t = np.array([0.33, 0.67, 1.0])
    c = np.array([3.0, 2.4, 2.0])
    lo = np.array([-0.3, 0.9, -np.inf])
    for mu in (0.0, 2.5):
        up, dn = gsd._crossing_probs(t, lo, c, mu)
        d1, d2, d3 = t[0], t[1] - t[0], t[2] - t[1]

        def f(b2, b1, mu=mu, d1=d1, d2=d2, d3=d3):
            return (
                norm.pdf(b1, mu * d1, math.sqrt(d1))
                * norm.pdf(b2 - b1, mu * d2, math.sqrt(d2))
                * norm.sf((c[2] * math.sqrt(t[2]) - b2 - mu * d3) / math.sqrt(d3))
            )

        p3, _ = integrate.dblquad(
            f,
            lo[0] * math.sqrt(t[0]),
            c[0] * math.sqrt(t[0]),
            lo[1] * math.sqrt(t[1]),
            c[1] * math.sqrt(t[1]),
            epsabs=1e-13,
            epsrel=1e-11,
        )
        assert up[2] == pytest.approx(p3, abs=1e-10)

        def g(b1, mu=mu, d1=d1, d2=d2):
            return norm.pdf(b1, mu * d1, math.sqrt(d1)) * norm.cdf(
                (lo[1] * math.sqrt(t[1]) - b1 - mu * d2) / math.sqrt(d2)
            )

        q2, _ = integrate.quad(
            g, lo[0] * math.sqrt(t[0]), c[0] * math.sqrt(t[0]), epsabs=1e-14, epsrel=1e-12
        )
        assert dn[1] == pytest.approx(q2, abs=1e-11)


def test_integration_is_converged(monkeypatch):
    """Halving the panels and raising the order changes no bound by more than 1e-10."""
    designs = [
        {"info_fracs": [0.2, 0.4, 0.6, 0.8, 1]},
        {"info_fracs": [0.25, 0.6, 0.8, 1], "futility": "bsOF"},
        {"info_fracs": [0.3, 0.31, 1], "efficacy": "asP", "futility": "bsP", "binding": True},
        {"info_fracs": [0.5, 1], "sided": 2, "alpha": 0.05},
        {"info_fracs": [0.5, 0.51, 1], "futility": "bsOF"},
    ]  # close looks
    base = [gsd_design(**kw) for kw in designs]
    monkeypatch.setattr(gsd, "_PANEL", 0.25)
    monkeypatch.setattr(gsd, "_PANEL_PER_SD", 0.25)
    monkeypatch.setattr(gsd, "_RANGE", 10.0)
    x, w = np.polynomial.legendre.leggauss(14)
    monkeypatch.setattr(gsd, "_GL_X", x)
    monkeypatch.setattr(gsd, "_GL_W", w)
    for kw, b in zip(designs, base, strict=True):
        f = gsd_design(**kw)
        np.testing.assert_allclose(f.z_efficacy, b.z_efficacy, rtol=0, atol=1e-10)
        np.testing.assert_allclose(f.z_futility, b.z_futility, rtol=0, atol=1e-10)
        assert f.drift == pytest.approx(b.drift, abs=1e-10)


@pytest.mark.parametrize("fam,p", [("asOF", None), ("asP", None), ("asHSD", -4), ("asKD", 3)])
def test_monotone_boundaries(fam, p):
    fr = [0.2, 0.4, 0.6, 0.8, 1.0]
    d = gsd_design(fr, efficacy=fam, efficacy_param=p)
    assert np.all(np.diff(d.alpha_cum) > 0)
    assert np.all(np.diff(d.power_cum) > 0)
    assert d.z_efficacy[-1] > Z975  # early looks cost something at the end
    if fam != "asP":  # OF-like families: decreasing bounds
        assert np.all(np.diff(d.z_efficacy) < 0)
    f = gsd_design(fr, efficacy=fam, efficacy_param=p, futility="bs" + fam[2:], futility_param=p)
    assert np.all(np.diff(f.z_futility) > 0)
    assert np.all(f.z_futility[:-1] < f.z_efficacy[:-1])
    assert np.all(np.diff(f.beta_cum) > 0)
    # futility costs information: a larger inflation factor than without it
    assert f.inflation_factor > d.inflation_factor > 1
    # binding futility lowers the efficacy bounds after the first look (alpha is recycled)
    b = gsd_design(
        fr, efficacy=fam, efficacy_param=p, futility="bs" + fam[2:], futility_param=p, binding=True
    )
    assert b.z_efficacy[0] == pytest.approx(d.z_efficacy[0], abs=1e-12)
    assert np.all(b.z_efficacy[1:] < d.z_efficacy[1:])
    assert b.inflation_factor < f.inflation_factor


def test_alpha_spent_sums_and_errors_meet():
    d = gsd_design(
        [0.25, 0.6, 0.8, 1],
        efficacy="asHSD",
        efficacy_param=-2,
        futility="bsHSD",
        futility_param=-2,
    )
    inc = np.diff(np.concatenate([[0], d.alpha_cum]))
    assert inc.sum() == pytest.approx(0.025, abs=1e-12)
    np.testing.assert_allclose(
        inc,
        np.diff(np.concatenate([[0], spending("asHSD", 0.025, d.info_fracs, param=-2)])),
        atol=1e-12,
    )
    # at the drift, every path ends in rejection or acceptance: power + beta = 1
    assert d.power_cum[-1] + d.beta_cum[-1] == pytest.approx(1.0, abs=1e-12)
    assert d.power_cum[-1] == pytest.approx(0.8, abs=1e-9)
    np.testing.assert_allclose(
        d.beta_cum, spending("bsHSD", 0.2, d.info_fracs, param=-2), atol=1e-9
    )


def test_same_spending_same_bounds():
    """KD with rho = 1 and HSD with gamma = 0 are both alpha * t."""
    a = gsd_design([0.3, 0.7, 1], efficacy="asKD", efficacy_param=1)
    b = gsd_design([0.3, 0.7, 1], efficacy="asHSD", efficacy_param=0)
    np.testing.assert_allclose(a.z_efficacy, b.z_efficacy, atol=1e-12)


def test_two_sided_design():
    d = gsd_design([0.5, 1], alpha=0.05, sided=2)
    # look 1: |Z| >= z_{1 - alpha(0.5)/2}
    a1 = spending("asOF", 0.05, 0.5, sided=2)
    assert d.z_efficacy[0] == pytest.approx(norm.isf(a1 / 2), abs=1e-12)
    up, dn = gsd._crossing_probs(d.info_fracs, -d.z_efficacy, d.z_efficacy, 0.0)
    np.testing.assert_allclose(up, dn, atol=1e-14)  # symmetric under H0
    assert d.alpha_cum[-1] == pytest.approx(0.05, abs=1e-12)
    # power counted at the upper bound only (rpact's default twoSidedPower = FALSE)
    assert d.power_cum[-1] == pytest.approx(0.8, abs=1e-9)
    with pytest.raises(ValueError, match="one-sided"):
        gsd_design([0.5, 1], alpha=0.05, sided=2, futility="bsOF")


def test_design_validation():
    for bad in ([0.5, 0.4, 1], [0, 1], [0.5, 0.9], [1.0, 1.2], []):
        with pytest.raises(ValueError):
            gsd_design(bad, final=False) if bad == [0.5, 0.9] else gsd_design(bad)
    with pytest.raises(ValueError):
        gsd_design([0.5, 1], alpha=0.5)
    with pytest.raises(ValueError):
        gsd_design([0.5, 1], efficacy="bsOF")
    with pytest.raises(ValueError):
        gsd_design([0.5, 1], futility="asOF")


# ---------------------------------------------------------------------------------------------
# Unplanned looks
# ---------------------------------------------------------------------------------------------


def test_efficacy_bounds_of_past_looks_do_not_depend_on_future_looks():
    a = gsd_design([0.3, 0.5, 1])
    b = gsd_design([0.3, 0.5, 0.75, 0.9, 1])
    np.testing.assert_allclose(a.z_efficacy[:2], b.z_efficacy[:2], atol=1e-13)
    np.testing.assert_allclose(a.alpha_cum[:2], b.alpha_cum[:2], atol=1e-15)


def test_monitoring_fractions():
    d = gsd_design([0.33, 0.67, 1])
    np.testing.assert_allclose(monitoring_fractions(d, [0.4]), [0.4, 0.67, 1])
    np.testing.assert_allclose(monitoring_fractions(d, [0.4, 0.55]), [0.4, 0.55, 1])
    np.testing.assert_allclose(monitoring_fractions(d, [0.4, 0.55, 0.8]), [0.4, 0.55, 0.8, 1])
    np.testing.assert_allclose(monitoring_fractions(d, [0.2, 0.7]), [0.2, 0.7, 1])
    np.testing.assert_allclose(
        monitoring_fractions(d, [0.2], remaining=[0.5, 0.8]), [0.2, 0.5, 0.8, 1]
    )
    np.testing.assert_allclose(monitoring_fractions(d, [0.4, 0.7, 1.05]), [0.4, 0.7, 1.05])
    np.testing.assert_allclose(monitoring_fractions(d, []), d.info_fracs)


def test_overrunning_final_look_spends_all_alpha():
    d = gsd_design([0.3, 0.7, 1.1], final=True)
    # correlations from the actual fractions, spending at min(t, 1): first two bounds as
    # planned, total alpha exactly 0.025
    p = gsd_design([0.3, 0.7, 1.0])
    np.testing.assert_allclose(d.z_efficacy[:2], p.z_efficacy[:2], atol=1e-12)
    assert d.alpha_cum[-1] == pytest.approx(0.025, abs=1e-12)
    assert d.z_efficacy[-1] != pytest.approx(p.z_efficacy[-1], abs=1e-4)
    u = gsd_design([0.33, 0.67, 0.95], final=True)
    assert u.alpha_cum[-1] == pytest.approx(0.025, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Interim statistics
# ---------------------------------------------------------------------------------------------


def test_conditional_power_one_remaining_look_closed_form():
    """CP = Phi((Z sqrt(t) + mu (1 - t) - c_K) / sqrt(1 - t)) with one look to go."""
    d = gsd_design([0.5, 1])
    t, c = 0.5, d.z_efficacy[-1]
    for z in (-1.0, 0.5, 1.7, 2.5):
        for mu in (0.0, z / math.sqrt(t), 2.8):
            cp = conditional_power(d, 1, z, mu)
            want = norm.cdf((z * math.sqrt(t) + mu * (1 - t) - c) / math.sqrt(1 - t))
            assert cp.shape == (1,)
            assert cp[0] == pytest.approx(want, abs=1e-12)


def test_conditional_power_two_remaining_looks_by_quad():
    """P(cross c2 at look 2, or stay in (f2, c2) and cross c3 at look 3 | B1), by quad."""
    d = gsd_design([0.3, 0.6, 1], futility="bsOF")
    t = d.info_fracs
    z1, mu = 0.8, 2.0
    b1 = z1 * math.sqrt(t[0])
    c, f = d.z_efficacy, d.z_futility
    d2, d3 = t[1] - t[0], t[2] - t[1]
    p2 = norm.sf((c[1] * math.sqrt(t[1]) - b1 - mu * d2) / math.sqrt(d2))

    def g(b2):
        return norm.pdf(b2 - b1, mu * d2, math.sqrt(d2)) * norm.sf(
            (c[2] * math.sqrt(t[2]) - b2 - mu * d3) / math.sqrt(d3)
        )

    p3, _ = integrate.quad(
        g, f[1] * math.sqrt(t[1]), c[1] * math.sqrt(t[1]), epsabs=1e-14, epsrel=1e-12
    )
    cp = conditional_power(d, 1, z1, mu)
    np.testing.assert_allclose(cp, [p2, p2 + p3], atol=1e-11)
    free, _ = integrate.quad(g, -np.inf, c[1] * math.sqrt(t[1]), epsabs=1e-14)
    assert conditional_power(d, 1, z1, mu, use_futility=False)[-1] == pytest.approx(
        p2 + free, abs=1e-11
    )
    assert conditional_power(d, 3, 2.5, mu).size == 0


def test_conditional_power_monotone():
    d = gsd_design([0.25, 0.5, 0.75, 1], futility="bsOF")
    zs = np.linspace(-1, 2.5, 8)
    cps = [conditional_power(d, 2, z, 2.5)[-1] for z in zs]
    assert np.all(np.diff(cps) > 0)
    mus = np.linspace(0, 4, 6)
    cps = [conditional_power(d, 2, 1.0, m)[-1] for m in mus]
    assert np.all(np.diff(cps) > 0)


def test_predictive_power_closed_form_and_quadrature():
    d = gsd_design([0.5, 1])
    t, c = 0.5, d.z_efficacy[-1]
    for z in (-0.5, 0.9, 2.0):
        want = norm.cdf((z - c * math.sqrt(t)) / math.sqrt(1 - t))
        assert predictive_power(d, 1, z) == pytest.approx(want, abs=1e-12)
        # the same by integrating CP over the flat-prior posterior N(z / sqrt t, 1 / t)
        post = norm(z / math.sqrt(t), 1 / math.sqrt(t))
        q, _ = integrate.quad(
            lambda m, z=z, post=post: conditional_power(d, 1, z, m)[0] * post.pdf(m),
            -np.inf,
            np.inf,
            epsabs=1e-13,
        )
        assert q == pytest.approx(want, abs=1e-9)
        # and the module's Gauss-Hermite path on the same problem
        gh = gsd._GH_W @ gsd._remaining_probs(
            d, 1, z, z / math.sqrt(t) + gsd._GH_X / math.sqrt(t), True
        ).sum(axis=1)
        assert gh == pytest.approx(want, abs=1e-10)


def test_predictive_power_several_looks_by_quad():
    d = gsd_design([0.25, 0.5, 0.75, 1], futility="bsOF")
    z, t = 1.1, 0.25
    post = norm(z / math.sqrt(t), 1 / math.sqrt(t))
    q, _ = integrate.quad(
        lambda m: conditional_power(d, 1, z, m)[-1] * post.pdf(m),
        post.ppf(1e-13),
        post.isf(1e-13),
        epsabs=1e-12,
        limit=200,
    )
    assert predictive_power(d, 1, z) == pytest.approx(q, abs=1e-8)
    assert math.isnan(predictive_power(d, 4, z))


def _stats(d, z, se):
    z = np.asarray(z, dtype=float)
    se = np.asarray(se, dtype=float)
    return look_statistics(d, z, z * se, se, design_effect=0.4)


def test_look_statistics_by_hand():
    d = gsd_design([0.33, 0.67, 1], futility="bsOF")
    se = np.array([0.2, 0.14])
    st2 = _stats(d, [1.2, 2.1], se)
    s = st2[1]
    assert s.look == 2 and s.info_frac == 0.67
    assert s.b_value == pytest.approx(2.1 * math.sqrt(0.67))
    assert s.p == pytest.approx(norm.sf(2.1))
    assert s.rci_lower == pytest.approx(2.1 * 0.14 - d.z_efficacy[1] * 0.14)
    assert s.rci_upper == pytest.approx(2.1 * 0.14 + d.z_efficacy[1] * 0.14)
    assert s.cp_trend == pytest.approx(conditional_power(d, 2, 2.1, 2.1 / math.sqrt(0.67))[-1])
    # design effect 0.4 with SE 0.14 at t = 0.67: drift 0.4 / (0.14 sqrt 0.67)
    assert s.cp_design == pytest.approx(
        conditional_power(d, 2, 2.1, 0.4 / (0.14 * math.sqrt(0.67)))[-1]
    )
    assert s.pp == pytest.approx(
        norm.cdf((2.1 - d.z_efficacy[2] * math.sqrt(0.67)) / math.sqrt(0.33))
    )
    assert s.decision == "continue"


def test_rci_binding_futility_correction():
    """Binding futility: the lower limit is min(theta_k - c_k SE_k, theta_j - f_j SE_j, j < k)."""
    d = gsd_design([0.33, 0.67, 1], futility="bsOF", binding=True)
    se = np.array([0.2, 0.14, 0.115])
    z = np.array([d.z_futility[0] + 0.01, 2.4, 2.2])  # look 1 just above the futility bound
    st3 = _stats(d, z, se)
    est = z * se
    corr = est[:2] - d.z_futility[:2] * se[:2]
    assert st3[0].rci_lower == pytest.approx(est[0] - d.z_efficacy[0] * se[0])
    assert st3[2].rci_lower == pytest.approx(min(est[2] - d.z_efficacy[2] * se[2], *corr))
    assert st3[2].rci_lower < est[2] - d.z_efficacy[2] * se[2]
    nb = _stats(gsd_design([0.33, 0.67, 1], futility="bsOF"), z, se)
    assert nb[2].rci_lower == pytest.approx(
        est[2] - gsd_design([0.33, 0.67, 1]).z_efficacy[2] * se[2]
    )


def test_decisions():
    d = gsd_design([0.33, 0.67, 1], futility="bsOF")
    c, f = d.z_efficacy, d.z_futility
    se = [0.2, 0.14, 0.115]
    assert _stats(d, [c[0] + 0.01], se[:1])[0].decision == "stop for efficacy"
    st1 = _stats(d, [f[0] - 0.01], se[:1])[0]
    assert st1.decision == "stop for futility (non-binding)" and st1.decision_code == -1
    assert _stats(d, [f[0] + 0.01], se[:1])[0].decision == "continue"
    last = _stats(d, [1.0, 1.5, c[2] - 0.01], se)[2]
    assert last.decision == "final analysis: H0 not rejected"
    assert math.isnan(last.cp_trend) and math.isnan(last.pp)
    b = gsd_design([0.33, 0.67, 1], futility="bsOF", binding=True)
    assert _stats(b, [-1.0], se[:1])[0].decision == "stop for futility (binding)"
    two = gsd_design([0.5, 1], alpha=0.05, sided=2)
    harm = _stats(two, [-3.5], [0.2])[0]
    assert harm.decision_code == -2 and "harm" in harm.decision
    with pytest.raises(ValueError):
        look_statistics(d, [1.0, 2.0], [0.2], [0.1, 0.1])
    with pytest.raises(ValueError):
        look_statistics(d, [1.0], [0.2], [0.0])


def test_monitor_recomputes_at_observed_fractions():
    d = gsd_design([0.33, 0.67, 1], futility="bsOF")
    upd, st_ = monitor(d, [0.4], [1.0], [0.2], [0.2], design_effect=0.4)
    np.testing.assert_allclose(upd.info_fracs, [0.4, 0.67, 1])
    assert upd.z_efficacy[0] == pytest.approx(norm.isf(spending("asOF", 0.025, 0.4)))
    assert len(st_) == 1 and st_[0].info_frac == 0.4
    fin, st_ = monitor(
        d, [0.4, 0.7, 0.97], [1.0, 1.5, 2.0], [0.2, 0.2, 0.2], [0.2, 0.14, 0.115], final=True
    )
    assert fin.n_looks == 3 and fin.alpha_cum[-1] == pytest.approx(0.025, abs=1e-12)
    assert st_[2].decision == "stop for efficacy"


# ---------------------------------------------------------------------------------------------
# ARD rows
# ---------------------------------------------------------------------------------------------


def test_ard_rows():
    d = gsd_design([0.33, 0.67, 1], futility="bsOF")
    st_ = _stats(d, [1.2, 2.1], [0.2, 0.14])
    rows = gsd_ard_rows(d, st_, delta=0.4, paramcd="MELD", population="ITT")
    ard = finalise(ard_rows(rows))  # unique keys, the contract's schema
    b = ard.filter(ard["analysis"] == "GSD_BOUNDARY")
    assert set(b["avisit"]) == {"LOOK 1", "LOOK 2", "LOOK 3", "DESIGN"}
    look2 = {r["stat"]: r["value"] for r in b.filter(b["avisit"] == "LOOK 2").to_dicts()}
    assert look2 == pytest.approx(
        {
            "info_frac": 0.67,
            "z_efficacy": d.z_efficacy[1],
            "z_futility": d.z_futility[1],
            "alpha_cum": d.alpha_cum[1],
            "beta_cum": d.beta_cum[1],
            "p_nominal": d.p_nominal[1],
        }
    )
    des = {r["stat"]: r["value"] for r in b.filter(b["avisit"] == "DESIGN").to_dicts()}
    assert des["max_info"] == pytest.approx(d.inflation_factor * ((Z975 + Z80) / 0.4) ** 2)
    s = ard.filter(ard["analysis"] == "GSD_STATUS")
    assert set(s["avisit"]) == {"LOOK 1", "LOOK 2"}
    dec = s.filter((s["stat"] == "decision") & (s["avisit"] == "LOOK 2")).row(0, named=True)
    assert dec["value"] == 0 and dec["method"] == "continue"
    for stat in ("info_frac", "z", "p", "rci_lower", "rci_upper", "cp_trend", "cp_design", "pp"):
        assert s.filter(s["stat"] == stat).height == 2
    assert set(ard["paramcd"]) == {"MELD"} and set(ard["population"]) == {"ITT"}
    assert "asOF alpha spending" in b["method"][0] and "non-binding" in b["method"][0]
    # no futility: z_futility / beta_cum are null
    e = finalise(ard_rows(gsd_ard_rows(gsd_design([0.5, 1]))))
    fut = e.filter(e["stat"].is_in(["z_futility", "beta_cum"]))
    assert fut.height == 4 and fut["value"].null_count() == 4
    assert d.boundary_frame().height == 3


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@st.composite
def designs(draw):
    k = draw(st.integers(1, 5))
    grid = draw(st.lists(st.integers(5, 95), min_size=k, max_size=k, unique=True))
    fr = sorted(g / 100 for g in grid) + [1.0]
    fam = draw(st.sampled_from(["OF", "P", "HSD", "KD"]))
    param = {"HSD": draw(st.floats(-6, 3)), "KD": draw(st.floats(0.75, 4))}.get(fam)
    sided = draw(st.sampled_from([1, 1, 2]))
    fut = draw(st.sampled_from(["none", "nonbinding", "binding"])) if sided == 1 else "none"
    alpha = draw(st.floats(0.01, 0.05))
    beta = draw(st.floats(0.1, 0.3))
    return {
        "info_fracs": fr,
        "alpha": alpha * sided,
        "beta": beta,
        "sided": sided,
        "efficacy": "as" + fam,
        "efficacy_param": param,
        "futility": None if fut == "none" else "bs" + fam,
        "futility_param": param,
        "binding": fut == "binding",
    }


@settings(max_examples=60, deadline=None, derandomize=True)
@given(kw=designs())
def test_cumulative_alpha_equals_spending_function(kw):
    d = gsd_design(**kw)
    want = spending(kw["efficacy"], kw["alpha"], d.info_fracs, kw["sided"], kw["efficacy_param"])
    np.testing.assert_allclose(d.alpha_cum, want, rtol=0, atol=1e-8)
    assert np.all(np.diff(d.z_efficacy[np.isfinite(d.z_efficacy)]) < 8)
    if kw["futility"] is not None:
        bw = spending(kw["futility"], kw["beta"], d.info_fracs, 1, kw["futility_param"])
        np.testing.assert_allclose(d.beta_cum, bw, rtol=0, atol=1e-8)
        assert d.power_cum[-1] == pytest.approx(1 - kw["beta"], abs=1e-8)
        assert np.all(d.z_futility[:-1] < d.z_efficacy[:-1])
    else:
        assert d.power_cum[-1] == pytest.approx(1 - kw["beta"], abs=1e-8)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(kw=designs(), z=st.floats(-2, 4), drift=st.floats(-1, 5))
def test_conditional_power_is_a_probability_and_cumulative(kw, z, drift):
    d = gsd_design(**kw)
    if d.n_looks == 1:
        return
    cp = conditional_power(d, 1, z, drift)
    assert cp.size == d.n_looks - 1
    assert np.all(cp >= -1e-15) and np.all(cp <= 1 + 1e-12)
    assert np.all(np.diff(cp) >= -1e-15)
    pp = predictive_power(d, 1, z)
    assert -1e-12 <= pp <= 1 + 1e-12

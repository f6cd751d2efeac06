"""The conditional-mean jackknife at trial size (issue 22): the delete-a-group jackknife (Kott
2001), refits from downdated sufficient statistics, and the completed data sets made and analysed
a block of parameter sets at a time, never n + 1 of them nor an (n + 1) x n weight matrix at once
(hepatrial.models.mi)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import polars as pl
import pytest
from test_mi import _simulate

from hepatrial.models import mi


def _impute(data, ice, visits, **kw):
    """Jump to reference for the subjects who drop out (a reference-based strategy)."""
    ice = ice.with_columns(pl.lit("JR").alias("STRATEGY"))
    return mi.impute(data, ice, method="condmean", visit_order=visits, control="Placebo", **kw)


def _diff(imp) -> pl.DataFrame:
    """Pooled MI_DIFF rows (Active - Placebo) by visit."""
    return mi.pool(mi.analyse(imp)).filter(pl.col("analysis") == "MI_DIFF").sort("avisit")


def _complete(n1: int, n0: int, seed: int):
    """Complete data (nothing to impute) of two visits, no covariates: the conditional-mean
    estimate of each resample is the difference of the arms' means of the subjects it keeps."""
    rng = np.random.default_rng(seed)
    y = (
        np.round(rng.normal(0, 3, (n1 + n0, 2)), 1)
        + np.where(np.arange(n1 + n0) < n1, -1.0, 0)[:, None]
    )
    arm = np.where(np.arange(n1 + n0) < n1, "Active", "Placebo")
    data = pl.DataFrame(
        {
            "USUBJID": [f"S{i:03d}" for i in range(n1 + n0) for _ in range(2)],
            "ARM": [a for a in arm for _ in range(2)],
            "AVISIT": ["V1", "V2"] * (n1 + n0),
            "CHG": y.reshape(-1),
        }
    )
    return data, y, arm == "Active"


def _complete_impute(data, **kw):
    return mi.impute(
        data,
        None,
        method="condmean",
        visit_order=["V1", "V2"],
        control="Placebo",
        covariates=(),
        factors=(),
        **kw,
    )


def test_groups_are_balanced_proportional_to_arms_and_seeded():
    arm = np.array([0] * 70 + [1] * 30)
    g = mi.jackknife_groups(arm, 10, seed=5)
    assert np.bincount(g).tolist() == [10] * 10  # n/G subjects each
    # dealt out arm by arm: each group holds 7 of arm 0 and 3 of arm 1
    assert all(np.bincount(arm[g == k]).tolist() == [7, 3] for k in range(10))
    assert np.array_equal(g, mi.jackknife_groups(arm, 10, seed=5))
    assert not np.array_equal(g, mi.jackknife_groups(arm, 10, seed=6))
    assert mi.jackknife_groups(arm, "auto") is None  # 100 subjects: leave one out
    assert mi.jackknife_groups(arm, "loo") is None and mi.jackknife_groups(arm, None) is None
    assert mi.jackknife_groups(arm, 100) is None  # G = n: leave one out
    big = np.zeros(mi.LOO_MAX_SUBJECTS + 1, dtype=np.int64)
    assert mi.jackknife_groups(big, "auto").max() + 1 == mi.AUTO_GROUPS
    # the auto rule's threshold and group count are settings (config jackknife_loo_max/_auto_groups)
    assert mi.jackknife_groups(arm, "auto", loo_max=99, auto_groups=20).max() + 1 == 20
    assert mi.jackknife_groups(arm, "auto", loo_max=100, auto_groups=20) is None
    with pytest.raises(ValueError, match="at least 2 groups"):
        mi.jackknife_groups(arm, 1)


def test_delete_a_group_variance_by_hand():
    """12 subjects (6 per arm), complete data, G = 3 groups of 2 + 2: each resample's estimate
    is the difference of the means of the 8 subjects it keeps; SE = sqrt((G - 1) / G * sum_g
    (theta_(g) - mean theta)^2); the full-data difference is the estimate."""
    data, y, act = _complete(6, 6, seed=2)
    imp = _complete_impute(data, groups=3, seed=7)
    assert imp.groups == 3 and imp.n_sets == 4 and imp.weights is None
    group = mi.jackknife_groups(imp.data.arm, 3, seed=7)
    assert sorted(np.bincount(group[act]).tolist()) == [2, 2, 2]  # two of each arm per group
    for v in range(2):
        theta = []
        for g in range(3):
            kept = group != g
            a = [y[i, v] for i in range(12) if kept[i] and act[i]]
            p = [y[i, v] for i in range(12) if kept[i] and not act[i]]
            theta.append(sum(a) / 4 - sum(p) / 4)
        mean = sum(theta) / 3
        se = (2 / 3 * sum((t - mean) ** 2 for t in theta)) ** 0.5
        full = y[act, v].sum() / 6 - y[~act, v].sum() / 6
        row = _diff(imp).row(v, named=True)
        assert row["se"] == pytest.approx(se, rel=1e-10)
        assert row["estimate"] == pytest.approx(full, rel=1e-10)
        assert row["lower"] == pytest.approx(full - 1.959963984540054 * se, rel=1e-10)
        assert "delete-a-group jackknife SE (3 groups)" in row["method"]
        assert "delete-a-group jackknife, 3 groups, seed 7" in row["method"]


def test_leave_one_out_variance_by_hand():
    """Leave one out on complete data: theta_(-i) = difference of means without subject i, so
    var = (n - 1) / n * (SS_1 / (n_1 - 1)^2 + SS_0 / (n_0 - 1)^2) (SS: sum of squares about the
    arm mean), the same as the delete-a-group formula with n groups of one."""
    data, y, act = _complete(7, 5, seed=3)
    pooled = _diff(_complete_impute(data, groups="loo"))
    for v in range(2):
        ss1 = ((y[act, v] - y[act, v].mean()) ** 2).sum()
        ss0 = ((y[~act, v] - y[~act, v].mean()) ** 2).sum()
        var = 11 / 12 * (ss1 / 6**2 + ss0 / 4**2)
        assert pooled["se"][v] == pytest.approx(var**0.5, rel=1e-10)
        assert "; jackknife SE, normal CI" in pooled["method"][v]


def test_g_equal_to_n_is_the_leave_one_out_jackknife(monkeypatch):
    """G = n groups is leave one out (the same numbers and text); n groups of one subject through
    the delete-a-group code gives the same numbers (refits from the same downdated patterns),
    the text then naming the delete-a-group jackknife it ran."""
    data, ice, visits = _simulate(n=60, seed=4)
    loo = _diff(_impute(data, ice, visits, groups="loo"))
    assert loo.equals(_diff(_impute(data, ice, visits, groups=60)))
    monkeypatch.setattr(mi, "jackknife_groups", lambda arm, *a, **k: np.arange(arm.size))
    grp = _diff(_impute(data, ice, visits, groups=60))
    assert grp["estimate"].to_list() == loo["estimate"].to_list()
    assert grp["se"].to_list() == loo["se"].to_list()
    assert "delete-a-group jackknife SE (60 groups)" in grp["method"][0]
    # singleton groups in another order: the same resamples, summed in another order
    perm = np.random.default_rng(1).permutation(60)
    monkeypatch.setattr(mi, "jackknife_groups", lambda arm, *a, **k: perm)
    np.testing.assert_allclose(
        _diff(_impute(data, ice, visits, groups=60))["se"], loo["se"], rtol=1e-12
    )


def test_downdated_refit_statistics_equal_those_of_the_resample():
    """The sufficient statistics of a resample without a group, by downdating the full data's, are
    those computed from the kept subjects (weighted patterns)."""
    data, ice, visits = _simulate(n=90, seed=6)
    d = mi.prepare(
        data,
        ice.with_columns(pl.lit("JR").alias("STRATEGY")),
        visit_order=visits,
        control="Placebo",
    )
    X, _ = mi.imputation_design(d)
    f = mi._ModelFitter(X, d.fit_response(), np.zeros(d.n, dtype=np.int64), 1)
    left = np.array([0, 3, 4, 17, 50, 89])
    keep = np.ones(d.n, dtype=np.int64)
    keep[left] = 0
    down = {tuple(p.vis): p for p in f.without(left)}
    ref = {tuple(p.vis): p for p in f.weighted_patterns(keep)}
    assert down.keys() == ref.keys()
    for k, p in ref.items():
        assert np.array_equal(np.sort(down[k].subjects), np.sort(p.subjects))
        for a in ("AXX", "AXy", "Ayy"):
            np.testing.assert_allclose(getattr(down[k], a), getattr(p, a), rtol=1e-12, atol=1e-9)


def test_grouped_se_is_close_to_the_leave_one_out_se():
    """Both estimate the same variance; with G = 50 groups the grouped SE has a relative
    standard deviation of about sqrt(1 / (2 (G - 1))) = 0.10 around it (J2R, missing data)."""
    data, ice, visits = _simulate(n=400, seed=8)
    loo = _diff(_impute(data, ice, visits, groups="loo"))
    grp = _diff(_impute(data, ice, visits, groups=50, seed=1))
    assert grp["estimate"].to_list() == loo["estimate"].to_list()  # the same full-data fit
    ratio = grp["se"].to_numpy() / loo["se"].to_numpy()
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio


def test_grouped_variance_is_unbiased_over_random_groupings():
    """Analytic: for a difference of means, groups dealt out within arm (m_a = n_a / G of arm a
    per group) give theta_(g) - theta = ((ybar_0g - ybar_0) - (ybar_1g - ybar_1)) / (G - 1), and
    E (ybar_ag - ybar_a)^2 = (1 / m_a - 1 / n_a) s_a^2 over random groupings, so the expected
    grouped variance is s_1^2 / n_1 + s_0^2 / n_0, the textbook variance of the difference.
    The mean over 40 seeded groupings (G = 20: relative SD of one variance sqrt(2 / 19) = 0.32,
    of the mean 0.05) is within 20% of it (4 SD)."""
    data, y, act = _complete(60, 60, seed=5)
    v = [_diff(_complete_impute(data, groups=20, seed=s))["se"].to_numpy() ** 2 for s in range(40)]
    expected = y[act].var(axis=0, ddof=1) / 60 + y[~act].var(axis=0, ddof=1) / 60
    np.testing.assert_allclose(np.mean(v, axis=0), expected, rtol=0.2)


def test_blocks_of_parameter_sets_give_the_same_results(monkeypatch):
    """Completed and analysed a block at a time (memory linear in n) = all at once; the analysis
    and a tipping-point grid in one pass = each on its own."""
    data, ice, visits = _simulate(n=80, seed=5)
    whole = mi.analyse(_impute(data, ice, visits, groups="loo"), delta={"Active": 1.5})
    monkeypatch.setattr(mi, "EAGER_CELLS", 2000)  # blocks of a few parameter sets
    imp = _impute(data, ice, visits, groups="loo")
    assert imp.Y is None and imp.n_sets == 81 and imp.weights is None
    parts = mi.analyse(imp, delta={"Active": 1.5})
    for name in ("diff", "diff_se", "lsm", "lsm_se", "df"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-12)
    tp_whole = mi.tipping_point(_impute(data, ice, visits, groups="loo"), [0, 1], arms=["Active"])
    tp_parts = mi.tipping_point(imp, [0, 1], arms=["Active"])
    np.testing.assert_allclose(
        tp_parts["estimate"].to_numpy(), tp_whole["estimate"].to_numpy(), rtol=1e-12
    )
    both = mi.analyse_deltas(imp, [None, {"Active": 1.5}])
    assert np.array_equal(both[1].diff, parts.diff)
    assert np.array_equal(both[0].diff, mi.analyse(imp).diff)


def test_leave_one_out_memory_is_linear_in_n(monkeypatch):
    """Leave one out on 600 subjects with completion a block at a time: the jackknife's weights
    are made per block from each subject's group, so the peak of numpy's allocations over the
    refits, the completion and the analysis stays below one (n + 1) x n matrix of weights
    (2.9 MB; main before issue 22 held one: 4.7 MB peak here; now 1.8 MB)."""
    data, ice, visits = _simulate(n=600, T=3, seed=9)
    monkeypatch.setattr(mi, "EAGER_CELLS", 30_000)
    tracemalloc.start()
    try:
        imp = _impute(data, ice, visits, groups="loo")
        pooled = mi.pool(mi.analyse(imp))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert imp.Y is None and imp.weights is None and imp.left_out.shape == (600,)
    assert pooled["se"].is_finite().all()
    assert peak < 601 * 600 * 8, peak
    w = imp.set_weights(0, 3)  # the full data, without subject 0, without subject 1
    assert w.shape == (3, 600) and w[0].all() and w[1, 0] == 0 and w[2, 1] == 0
    assert w.sum() == 3 * 600 - 2

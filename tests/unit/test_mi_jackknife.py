"""The conditional-mean jackknife at trial size: the delete-a-group jackknife (Kott 2001) and the
completed data sets made and analysed a block of parameter sets at a time (hepatrial.models.mi)."""

from __future__ import annotations

import numpy as np
import pytest
from test_mi import _simulate

from hepatrial.models import mi


def _impute(data, ice, visits, **kw):
    """Jump to reference for the subjects who drop out (a reference-based strategy)."""
    ice = ice.with_columns(mi.pl.lit("JR").alias("STRATEGY"))
    return mi.impute(data, ice, method="condmean", visit_order=visits, control="Placebo", **kw)


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
    with pytest.raises(ValueError, match="at least 2 groups"):
        mi.jackknife_groups(arm, 1)


def test_delete_a_group_variance_by_hand():
    """SE = sqrt((G - 1) / G * sum_g (theta_(g) - mean theta)^2) over the G delete-a-group
    estimates, the full-data estimate as the point estimate."""
    data, ice, visits = _simulate(n=120, seed=3)
    imp = _impute(data, ice, visits, groups=8, seed=11)
    assert imp.groups == 8 and imp.weights.shape == (9, 120)
    # each resample leaves out one group: 15 subjects (120 / 8)
    assert (imp.weights[1:] == 0).sum(axis=1).tolist() == [15] * 8
    an = mi.analyse(imp)
    pooled = mi.pool(an).filter(mi.pl.col("analysis") == "MI_DIFF").sort("avisit")
    theta = an.diff[1:, 0, 0, :]  # (G, T): the Active - Placebo difference per visit
    G = 8
    se = np.sqrt((G - 1) / G * ((theta - theta.mean(axis=0)) ** 2).sum(axis=0))
    order = [visits.index(v) for v in pooled["avisit"].to_list()]
    np.testing.assert_allclose(pooled["se"].to_numpy(), se[order], rtol=1e-12)
    np.testing.assert_allclose(pooled["estimate"].to_numpy(), an.diff[0, 0, 0, order], rtol=1e-12)
    assert "delete-a-group jackknife SE (8 groups)" in pooled["method"][0]
    assert "delete-a-group jackknife, 8 groups, seed 11" in pooled["method"][0]


def test_singleton_groups_are_the_leave_one_out_jackknife(monkeypatch):
    """The delete-a-group code path with n groups of one subject (refits from weighted
    patterns) gives the leave-one-out jackknife (refits from downdated patterns)."""
    data, ice, visits = _simulate(n=60, seed=4)
    loo = mi.pool(mi.analyse(_impute(data, ice, visits, groups="loo")))
    monkeypatch.setattr(mi, "jackknife_groups", lambda arm, groups, seed: np.arange(arm.size))
    grp = mi.pool(mi.analyse(_impute(data, ice, visits, groups=60)))
    np.testing.assert_allclose(grp["estimate"].to_numpy(), loo["estimate"].to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(grp["se"].to_numpy(), loo["se"].to_numpy(), rtol=1e-7)


def test_grouped_se_is_close_to_the_leave_one_out_se():
    """Both estimate the same variance; with G = 50 groups the grouped SE has a relative
    standard deviation of about sqrt(1 / (2 (G - 1))) = 0.10 around it."""
    data, ice, visits = _simulate(n=400, seed=8)
    loo = mi.pool(mi.analyse(_impute(data, ice, visits, groups="loo")))
    grp = mi.pool(mi.analyse(_impute(data, ice, visits, groups=50, seed=1)))
    assert grp["estimate"].to_list() == loo["estimate"].to_list()  # the same full-data fit
    ratio = grp["se"].to_numpy() / loo["se"].to_numpy()
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio


def test_blocks_of_parameter_sets_give_the_same_results(monkeypatch):
    """Completed and analysed a block at a time (memory linear in n) = all at once."""
    data, ice, visits = _simulate(n=80, seed=5)
    whole = mi.analyse(_impute(data, ice, visits, groups="loo"), delta={"Active": 1.5})
    monkeypatch.setattr(mi, "EAGER_CELLS", 2000)  # blocks of a few parameter sets
    imp = _impute(data, ice, visits, groups="loo")
    assert imp.Y is None and imp.n_sets == 81
    parts = mi.analyse(imp, delta={"Active": 1.5})
    for name in ("diff", "diff_se", "lsm", "lsm_se", "df"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-12)
    tp_whole = mi.tipping_point(_impute(data, ice, visits, groups="loo"), [0, 1], arms=["Active"])
    tp_parts = mi.tipping_point(imp, [0, 1], arms=["Active"])
    np.testing.assert_allclose(
        tp_parts["estimate"].to_numpy(), tp_whole["estimate"].to_numpy(), rtol=1e-12
    )

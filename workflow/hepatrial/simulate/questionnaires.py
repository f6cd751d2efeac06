"""QS (CLDQ, EQ-5D-5L, SF-36/RAND-36) and RS (ascites, encephalopathy, ECOG, CTP) records.

Questionnaires: a per-subject quality-of-life level plus a visit deviation, lowered by the latent
severity, gives each item a "goodness" on 0-100; the response is the code whose RAND-36-style
0-100 value is nearest (so every instrument keeps its own direction: CLDQ 7 = best, EQ-5D 1 = no
problems, SF-36 per item as in docs/scoring.md). QSORRES holds the response code as text,
QSSTRESN the number; a missing item is kept as a row with QSSTAT "NOT DONE".
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hepatrial.simulate.cohort import Cohort, rng_for
from hepatrial.simulate.frames import cells, date_text, pick
from hepatrial.simulate.settings import Plan

CLDQ_DOMAINS = [
    [1, 5, 17],
    [2, 4, 8, 11, 13],
    [3, 6, 21, 23, 27],
    [7, 9, 14],
    [10, 12, 15, 16, 19, 20, 24, 26],
    [18, 22, 25, 28, 29],
]
EQ5D_NAMES = [
    "Mobility",
    "Self-care",
    "Usual activities",
    "Pain/discomfort",
    "Anxiety/depression",
    "EQ VAS",
]


def _sf36_options(i: int) -> tuple[int, bool]:
    """Number of response options and whether a higher code is better (RAND-36 recodes)."""
    if i in (1, 2, 20, 22, 34, 36):
        return 5, False
    if 3 <= i <= 12:
        return 3, True
    if 13 <= i <= 19:
        return 2, True
    if i in (21, 23, 26, 27, 30):
        return 6, False
    if i in (24, 25, 28, 29, 31):
        return 6, True
    return 5, True  # 32, 33, 35


def _items():
    """(QSCAT, QSTESTCD, QSTEST, options, higher is better, base goodness); options 0 = VAS."""
    out = [("CLDQ", f"CLDQ{i:02d}", f"CLDQ Item {i}", 7, True, 63.0) for i in range(1, 30)]
    out += [("EQ-5D-5L", f"EQ5D010{i}", EQ5D_NAMES[i - 1], 5, False, 74.0) for i in range(1, 6)]
    out += [("EQ-5D-5L", "EQ5D0106", "EQ VAS", 0, True, 66.0)]
    out += [
        ("SF-36", f"SF36{i:02d}", f"SF-36 Item {i}", *_sf36_options(i), 56.0) for i in range(1, 37)
    ]
    return out


ITEMS = _items()


def build_qs(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    r = rng_for(seed, 30)
    n, V = c.vt.shape
    miss = p.sim["missing"]
    q_subj = r.normal(0, 0.7, n)
    q = -0.5 * c.s + q_subj[:, None] + r.normal(0, 0.35, (n, V))
    cats = ["CLDQ", "EQ-5D-5L", "SF-36"]
    cat_of = np.array([cats.index(it[0]) for it in ITEMS])
    k_opt = np.array([it[3] for it in ITEMS])
    asc = np.array([it[4] for it in ITEMS])
    base = np.array([it[5] for it in ITEMS]) + rng_for(0, 31).normal(0, 8, len(ITEMS))  # item means
    base[k_opt == 0] = 66.0
    # administrations (subject in USUBJID order, visit), with every item of the instruments done
    i, j = cells(c.att & p.qs[None, :], c.order)
    not_done = r.random((i.size, len(cats))) < miss["qs_not_done_prob"]
    K = len(ITEMS)
    A = i.size
    # responses on administrations x items, then the rows of the instruments done
    g = base[None, :] + 18.0 * q[i, j][:, None] + r.normal(0, 13, (A, K)).astype(np.float32)
    kk = np.maximum(k_opt, 2)[None, :]
    lvl = np.clip(np.round(g / 100.0 * (kk - 1)), 0, kk - 1)
    res = np.where(asc[None, :], lvl + 1, k_opt[None, :] - lvl)
    vas = k_opt == 0
    res[:, vas] = np.clip(np.round(g[:, vas]), 0, 100)
    res = res.astype(np.int64)
    missing = r.random((A, K), dtype=np.float32) < miss["qs_item_missing_prob"]
    # now and then most of one CLDQ domain is left blank (all but its first item: the domain
    # score is then missing, more than half its items being missing)
    dom_of = np.full(K, -1)
    first_of = np.zeros(K, bool)
    for d, members in enumerate(CLDQ_DOMAINS):
        dom_of[np.array(members) - 1] = d
        first_of[members[0] - 1] = True
    hit = r.random(A) < miss["cldq_domain_missing_prob"]
    dom = r.integers(0, len(CLDQ_DOMAINS), A)
    missing |= hit[:, None] & (dom_of[None, :] == dom[:, None]) & ~first_of[None, :]
    keep = ~not_done[:, cat_of]  # A x K
    adm, it = np.nonzero(keep)
    res, missing = res[keep], missing[keep]
    sub, vis = i[adm], j[adm]
    day = c.day1[sub] + c.vt[sub, vis]
    null = 101
    code_ix = np.where(missing, null, res)
    return pl.DataFrame(
        {
            "_subj": sub,
            "_day": day,
            "_code": it,
            "QSCAT": pick(cats, cat_of[it]),
            "QSTESTCD": pick([x[1] for x in ITEMS], it),
            "QSTEST": pick([x[2] for x in ITEMS], it),
            "QSORRES": pick([str(v) for v in range(101)] + [None], code_ix),
            "QSSTRESN": pl.Series(res).set(pl.Series(missing), None),
            "QSSTAT": pick([None, "NOT DONE"], missing.astype(np.int64)),
            "QSDTC": date_text(day),
            "VISITNUM": p.visitnum[vis],
            "VISIT": pick(p.visit, vis),
        }
    )


RS_TESTS = [
    ("ASCITES", "Ascites"),
    ("HEGRADE", "Hepatic Encephalopathy Grade (West Haven)"),
    ("ECOG", "ECOG Performance Status"),
]
ASCITES_TEXT = np.array(["NONE", "MILD", "MODERATE-SEVERE"], dtype=object)
# RS tests a schedule visit may add (``rs_extra``): code, name, and the rank of the code among all
# the RS codes written (alphabetical: ASCITES 0, CTPSCORE 1, ECOG 2, HEGRADE 3, ...)
RS_EXTRA = {
    "ISHAKF": ("Ishak Fibrosis Stage", 4),
    "ISHAKI": ("Ishak Modified HAI Inflammation Grade", 5),
    "SOFA": ("SOFA Score", 6),
}


def rs_extra_values(c: Cohort, p: Plan, seed: int) -> dict[str, np.ndarray]:
    """n x V integer matrices of the optional RS tests, from the generic severity s = (M - 15) / 4.

    - ``SOFA`` (0-24): 2.5 + 1.6 s, subject SD 1.2, visit SD 0.8 (about 6-9 in HBV-ACLF);
    - ``ISHAKF`` Ishak fibrosis stage (0-6): 4.6 + 0.35 s, subject SD 0.6, visit SD 0.3, lowered by
      up to 0.6 stage on active treatment (the treatment ramp of the MELD effect);
    - ``ISHAKI`` Ishak inflammation grade (0-18): 6 + s, subject SD 1.5, visit SD 1.0, lowered by
      up to 1.5 points on active treatment.
    Rounded to integers and clipped to the scale's range.
    """
    r = rng_for(seed, 34)
    n, V = c.vt.shape
    frac = c.inf.mean(axis=1) if c.inf.shape[1] else np.zeros(n)
    ramp = np.clip(c.vt / (p.sim["effect_full_day"] - 1.0), 0, 1) * (c.effect_scale * frac)[:, None]

    def latent(mean, s_coef, eta_sd, eps_sd, effect, hi):
        x = (
            mean
            + s_coef * c.s
            + r.normal(0, eta_sd, (n, 1))
            + r.normal(0, eps_sd, (n, V))
            - effect * ramp
        )
        return np.clip(np.round(x), 0, hi).astype(np.int64)

    return {
        "ISHAKF": latent(4.6, 0.35, 0.6, 0.3, 0.6, 6),
        "ISHAKI": latent(6.0, 1.0, 1.5, 1.0, 1.5, 18),
        "SOFA": latent(2.5, 1.6, 1.2, 0.8, 0.0, 24),
    }


def build_rs(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    i, j = cells(c.att & p.rs[None, :])
    # result vocabulary: NONE, MILD, MODERATE-SEVERE, then "0".."24"
    vocab = list(ASCITES_TEXT) + [str(k) for k in range(25)]
    sub = np.concatenate([i, i, i])
    vis = np.concatenate([j, j, j])
    tst = np.repeat(np.arange(3), i.size)
    val = np.concatenate([c.asc[i, j], 3 + c.he[i, j], 3 + c.ecog[i, j]]).astype(np.int64)
    # the site-recorded Child-Pugh score at screening (the stratification assessment)
    scr = np.flatnonzero(c.att[:, 0])
    sub = np.concatenate([sub, scr])
    vis = np.concatenate([vis, np.zeros(scr.size, np.int64)])
    tst = np.concatenate([tst, np.full(scr.size, 3)])
    val = np.concatenate([val, 3 + c.ctp_scr[scr]])
    # the optional tests of the visits that list them (rs_extra), at attended visits
    extra = list(RS_EXTRA)
    if any(p.rs_extra):
        xv = rs_extra_values(c, p, seed)
        for k, code in enumerate(extra):
            at = np.array([code in x for x in p.rs_extra])
            xi, xj = cells(c.att & at[None, :])
            sub = np.concatenate([sub, xi])
            vis = np.concatenate([vis, xj])
            tst = np.concatenate([tst, np.full(xi.size, 4 + k)])
            val = np.concatenate([val, 3 + xv[code][xi, xj]])
    # ASCITES, HEGRADE, ECOG, CTPSCORE, then the optional tests -> code order
    code_rank = np.array([0, 3, 2, 1] + [RS_EXTRA[x][1] for x in extra])
    o = np.lexsort((code_rank[tst], vis, c.rank[sub]))
    sub, vis, tst, val = sub[o], vis[o], tst[o], val[o]
    codes = np.array([t[0] for t in RS_TESTS] + ["CTPSCORE"] + extra, dtype=object)
    names = np.array(
        [t[1] for t in RS_TESTS] + ["Child-Turcotte-Pugh Score"] + [RS_EXTRA[x][0] for x in extra],
        dtype=object,
    )
    day = c.day1[sub] + c.vt[sub, vis]
    return pl.DataFrame(
        {
            "_subj": sub,
            "_day": day,
            "_code": code_rank[tst],
            "RSTESTCD": pick(codes, tst),
            "RSTEST": pick(names, tst),
            "RSORRES": pick(vocab, val),
            "RSDTC": date_text(day),
            "VISITNUM": p.visitnum[vis],
            "VISIT": pick(p.visit, vis),
        }
    )

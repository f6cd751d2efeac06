"""The simulated trial before it is written as SDTM: subjects, visits, latent severity, events.

Everything is an array over subjects (length ``n``) or subjects x scheduled visits (``n x V``);
nothing loops over subjects. Time is kept as ``t`` = days since day 1 (day 1 -> t = 0, study day
-1 -> t = -1) and absolute dates as days since 1970-01-01.

The latent severity is on the MELD scale::

    M_ij = meld_mean + meld_sd * (z0_i + u_ij + slope_i * t_ij / 365) + effect_i(t_ij)

with u an Ornstein-Uhlenbeck (continuous-time AR(1)) deviation, and effect_i(t) rising linearly
from day 1 to ``effect_full_day`` and persisting. Bilirubin, INR and creatinine load on M so that a
one-point change of M moves the UNOS MELD of the labs by one point before its lower bounds of 1.0;
the configured effect is divided by the mean share of the MELD formula not held at those bounds
(at baseline), so the realised mean MELD effect is about ``treatment_effect_meld_w24``.
"""

from __future__ import annotations

import numpy as np

from hepatrial.simulate.settings import Plan

# Share of one MELD point carried by each of ln(bili), ln(INR), ln(creat): 10*(0.378 cb + 1.12 ci
# + 0.957 cc) = 1.
C_BILI = 0.50 / 3.78
C_INR = 0.30 / 11.2
C_CREAT = 0.20 / 9.57
# Values of the score labs (conventional units) at M = 15 for a typical subject.
BILI15, INR15, CREAT15 = 1.9, 1.40, 0.92
# Lab subject effects (SD) and visit noise (SD) of the score labs (log scale / natural scale).
ETA = {"bili": 0.30, "inr": 0.05, "creat": 0.34, "alb": 2.6, "na": 1.6}
EPS = {"bili": 0.14, "inr": 0.045, "creat": 0.07, "alb": 1.4, "na": 1.4}
CE_TYPES = (
    "VARICEAL BLEEDING",
    "ASCITES",
    "HEPATIC ENCEPHALOPATHY",
    "SPONTANEOUS BACTERIAL PERITONITIS",
    "HEPATORENAL SYNDROME",
    "HEPATOCELLULAR CARCINOMA",
    "LIVER FAILURE",
    "ACUTE-ON-CHRONIC LIVER FAILURE",
)
END_COMPLETED, END_DEATH, END_TRANSPLANT, END_DROPOUT, END_NEVER_DOSED = 0, 1, 2, 3, 4
# SD of the subject's baseline latent severity (z units), before the CTP eligibility truncation;
# with the lab noise and the MELD lower bounds it gives a baseline MELD SD of about meld_sd.
Z0_SD = 1.4


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """One independent generator per component, so components do not shift each other's draws."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)]))


def meld_unos(bili, inr, creat):
    """UNOS MELD from conventional units (bounds 1.0, creatinine cap 4.0, bracket to the tenth)."""
    b = np.maximum(bili, 1.0)
    i = np.maximum(inr, 1.0)
    c = np.clip(creat, 1.0, 4.0)
    br = np.round(0.957 * np.log(c) + 0.378 * np.log(b) + 1.120 * np.log(i) + 0.643, 1)
    return np.minimum(10.0 * br, 40.0)


def score_labs(M, eta: dict, eps: dict, female, chol):
    """Bilirubin (mg/dL), INR, creatinine (mg/dL), albumin (g/L), sodium (mmol/L) from M.

    ``eta`` holds per-subject effects (shape (n, 1) or (n,)), ``eps`` visit noise (shape of M).
    """
    d = M - 15.0
    s = d / 4.0
    bili = BILI15 * np.exp(C_BILI * d + eta["bili"] + eps["bili"] + np.log(1.8) * chol)
    inr = INR15 * np.exp(C_INR * d + eta["inr"] + eps["inr"])
    creat = CREAT15 * np.exp(C_CREAT * d + eta["creat"] + eps["creat"] - 0.16 * female)
    alb = np.clip(31.0 - 2.3 * s + eta["alb"] + eps["alb"], 14.0, 50.0)
    na = np.clip(136.5 - 1.8 * s + eta["na"] + eps["na"], 118.0, 146.0)
    return bili, inr, creat, alb, na


def ascites_grade(s, eta, eps):
    """0 none, 1 mild, 2 moderate-severe from the generic severity s = (M - 15) / 4."""
    x = s + eta + eps
    return (x > -0.45).astype(np.int8) + (x > 0.85).astype(np.int8)


def he_grade(s, eta, eps):
    """West Haven 0-4, mostly 0-1."""
    x = 0.7 * s + eta + eps
    return np.digitize(x, [0.55, 1.55, 2.35, 2.9]).astype(np.int8)


def ctp_score(bili, alb_gl, inr, asc, he, chol):
    """Child-Turcotte-Pugh score (INR variant, cholestatic bilirubin cut-offs where ``chol``)."""
    lo = np.where(chol, 4.0, 2.0)
    hi = np.where(chol, 10.0, 3.0)
    pb = 1 + (bili >= lo) + (bili > hi)
    alb = alb_gl / 10.0
    pa = 1 + (alb <= 3.5) + (alb < 2.8)
    pi = 1 + (inr >= 1.7) + (inr > 2.3)
    ph = 1 + (he >= 1) + (he >= 3)
    return (pb + pa + pi + (asc + 1) + ph).astype(np.int64)


class Cohort:
    """Attributes are arrays; see :func:`build_cohort` for what each holds."""


def _draw_baseline(rng, m: int, p: Plan):
    sev, dem = p.sim["severity"], p.sim["demographics"]
    etiol_names = list(dem["etiology"])
    etiol_p = np.array([dem["etiology"][k] for k in etiol_names], float)
    d = {
        "z0": rng.normal(0.0, Z0_SD, m),
        "u0": rng.normal(0.0, sev["ar1_sd"], m),
        "female": (rng.random(m) >= dem["male_prob"]).astype(float),
        "etiol": rng.choice(len(etiol_names), size=m, p=etiol_p / etiol_p.sum()),
        "asc_eta": rng.normal(0, 0.7, m),
        "asc_eps0": rng.normal(0, 0.45, m),
        "he_eta": rng.normal(0, 0.6, m),
        "he_eps0": rng.normal(0, 0.45, m),
    }
    for k, sd in ETA.items():
        d[f"eta_{k}"] = rng.normal(0, sd, m)
        d[f"eps0_{k}"] = rng.normal(0, EPS[k], m)
    return d


def _screening_values(d, p: Plan, chol_codes):
    sev = p.sim["severity"]
    chol = np.isin(d["etiol"], chol_codes)
    M = sev["meld_mean"] + sev["meld_sd"] * (d["z0"] + d["u0"])
    eta = {k: d[f"eta_{k}"] for k in ETA}
    eps = {k: d[f"eps0_{k}"] for k in ETA}
    bili, inr, creat, alb, _na = score_labs(M, eta, eps, d["female"], chol)
    s = (M - 15.0) / 4.0
    asc = ascites_grade(s, d["asc_eta"], d["asc_eps0"])
    he = he_grade(s, d["he_eta"], d["he_eps0"])
    return ctp_score(bili, alb, inr, asc, he, chol), meld_unos(bili, inr, creat)


def _ineligible(ctp, meld, sev) -> np.ndarray:
    """Screening values outside the eligibility ranges: CTP score (``ctp_range``) and, when set,
    the UNOS MELD of the screening labs (``meld_range``, inclusive)."""
    lo, hi = sev["ctp_range"]
    bad = (ctp < lo) | (ctp > hi)
    if sev.get("meld_range"):
        mlo, mhi = sev["meld_range"]
        bad |= (meld < mlo) | (meld > mhi)
    return bad


def _piecewise_time(rng, rates, bounds):
    """First event time of a piecewise-constant hazard (``rates`` n x K per day over ``bounds``)."""
    widths = np.diff(bounds).astype(float)
    H = np.concatenate([np.zeros((rates.shape[0], 1)), np.cumsum(rates * widths, axis=1)], axis=1)
    e = rng.exponential(1.0, rates.shape[0])
    k = (H[:, 1:] < e[:, None]).sum(axis=1)  # interval index where H crosses e
    hit = k < rates.shape[1]
    kk = np.minimum(k, rates.shape[1] - 1)
    r = np.take_along_axis(rates, kk[:, None], 1)[:, 0]
    h0 = np.take_along_axis(H, kk[:, None], 1)[:, 0]
    t = bounds[kk] + (e - h0) / np.maximum(r, 1e-300)
    return np.where(hit, np.floor(t), np.inf)


def build_cohort(p: Plan, n_subjects: int, seed: int) -> Cohort:
    sim, sev, dem, hz, miss = (
        p.sim,
        p.sim["severity"],
        p.sim["demographics"],
        p.sim["hazards"],
        p.sim["missing"],
    )
    c = Cohort()
    n_rand = int(n_subjects)
    sf_rate = sim["screen_failure_rate"]
    n_sf = round(n_rand * sf_rate / (1.0 - sf_rate))
    n = n_rand + n_sf
    c.n = n
    etiol_names = list(dem["etiology"])
    c.etiol_names = np.array(etiol_names, dtype=object)
    chol_codes = [i for i, e in enumerate(etiol_names) if e.upper() in p.cholestatic]

    # --- who fails screening, and the baseline draws (eligible subjects: screening CTP in range)
    r = rng_for(seed, 1)
    sf = np.zeros(n, bool)
    sf[r.choice(n, n_sf, replace=False)] = True
    d = _draw_baseline(r, n, p)
    for _ in range(200):
        ctp, meld = _screening_values(d, p, chol_codes)
        bad = np.flatnonzero(~sf & _ineligible(ctp, meld, sev))
        if bad.size == 0:
            break
        new = _draw_baseline(r, bad.size, p)
        for k in d:
            d[k][bad] = new[k]
    else:  # practically unreachable: a setting makes the range nearly impossible
        sf |= _ineligible(ctp, meld, sev)
    c.ctp_scr = _screening_values(d, p, chol_codes)[0]
    c.sf = sf
    c.female = d["female"].astype(bool)
    c.etiol = d["etiol"]
    c.chol = np.isin(d["etiol"], chol_codes)
    c.hbv = c.etiol_names[d["etiol"]] == "HBV"
    c.base = d
    c.ctpstrat = np.where(c.ctp_scr >= sev["ctp_class_c_from"], "C", "B").astype(object)
    c.ctpstrat[sf] = None
    amin, amax = dem["age_range"]
    c.age = np.clip(np.round(r.normal(dem["age_mean"], dem["age_sd"], n)), amin, amax).astype(
        np.int64
    )
    race_names = list(dem["race"])
    race_p = np.array([dem["race"][k] for k in race_names], float)
    c.race = np.array(race_names, dtype=object)[
        r.choice(len(race_names), n, p=race_p / race_p.sum())
    ]

    # --- enrolment: consent over the enrolment period (ramping up), sites opening in turn
    r = rng_for(seed, 2)
    S = p.n_sites
    act = np.round(np.linspace(0.0, sim["sites"]["activation_months"] * 30.4375, S)).astype(
        np.int64
    )
    w = r.gamma(sim["sites"]["size_concentration"], 1.0, S)
    t_cons = np.floor(p.enrol_days * r.beta(1.5, 1.0, n)).astype(np.int64)
    wm = np.where(act[None, :] <= t_cons[:, None], w[None, :], 0.0)
    cw = np.cumsum(wm, axis=1)
    c.site = (cw < r.random(n)[:, None] * cw[:, -1:]).sum(axis=1).astype(np.int64)
    c.consent = p.start_day + t_cons
    slo, shi = p.screen_range
    c.scr_t = r.integers(slo, shi + 1, n)  # screening day (negative)
    c.day1 = c.consent - c.scr_t  # absolute date of day 1
    order = np.lexsort((r.random(n), c.consent, c.site))
    first = np.r_[0, np.flatnonzero(np.diff(c.site[order])) + 1]
    grp_start = np.zeros(n, np.int64)
    grp_start[first] = first
    grp_start = np.maximum.accumulate(grp_start)
    num = np.empty(n, np.int64)
    num[order] = np.arange(n) - grp_start + 1
    c.subjnum = num
    c.order = np.lexsort((num, c.site))  # USUBJID order
    c.rank = np.empty(n, np.int64)
    c.rank[c.order] = np.arange(n)
    c.sf_date = c.consent + np.floor(r.random(n) * (-c.scr_t + 1)).astype(np.int64)

    # --- allocation: permuted blocks within strata (randomised) or cohorts in arm order
    r = rng_for(seed, 3)
    n_arms = len(p.arms)
    arm = np.full(n, -1, np.int64)
    ridx = np.flatnonzero(~sf)
    if p.randomized and n_arms > 1:
        key = np.zeros(n, np.int64)
        for col in p.strata:
            vals = {
                "CTPSTRAT": c.ctpstrat,
                "SEX": np.where(c.female, "F", "M").astype(object),
                "ETIOLOGY": c.etiol_names[c.etiol],
                "SITEID": c.site,
            }.get(col)
            if vals is None:
                continue  # a stratum the simulator does not generate: not stratified on it
            _, codes = np.unique(vals[ridx].astype(str), return_inverse=True)
            key[ridx] = key[ridx] * 1000 + codes
        o = ridx[np.lexsort((c.subjnum[ridx], c.site[ridx], c.day1[ridx], key[ridx]))]
        k = key[o]
        newgrp = np.r_[True, k[1:] != k[:-1]]
        gstart = np.maximum.accumulate(np.where(newgrp, np.arange(o.size), 0))
        pos = np.arange(o.size) - gstart
        bs = p.block_size
        blk = np.cumsum(newgrp | (pos % bs == 0)) - 1
        pattern = np.tile(np.repeat(np.arange(n_arms), p.allocation), bs // sum(p.allocation))
        perm = np.argsort(r.random((blk[-1] + 1, bs)), axis=1)
        arm[o] = pattern[perm][blk, pos % bs]
    else:
        o = ridx[np.lexsort((c.subjnum[ridx], c.site[ridx], c.day1[ridx]))]
        alloc = np.array(p.allocation, float)
        cnt = np.floor(alloc / alloc.sum() * o.size).astype(np.int64)
        cnt[: o.size - cnt.sum()] += 1
        arm[o] = np.repeat(np.arange(n_arms), cnt)
    c.arm = arm
    c.effect_scale = np.where(
        arm >= 0, np.array([a.effect_scale for a in p.arms] + [0.0])[arm], 0.0
    )

    # never dosed: randomised, withdrawn before the first infusion (at least one per trial)
    r = rng_for(seed, 4)
    nd = (~sf) & (r.random(n) < miss["never_dosed_prob"])
    if not nd.any() and ridx.size > 3:
        nd[ridx[np.argsort(c.day1[ridx])[ridx.size // 4]]] = True
    c.never_dosed = nd

    # --- visits: actual days (t), attendance
    V = len(p.visit)
    nom_t = np.where(p.nominal_day >= 1, p.nominal_day - 1, p.nominal_day)
    c.nom_t = nom_t
    r = rng_for(seed, 5)
    J = miss["visit_jitter_days"]
    t = nom_t[None, :] + r.integers(-J, J + 1, (n, V))
    t[:, 0] = c.scr_t
    t[:, p.day1_visit] = 0
    # pre-dose visits after screening (e.g. day -1) are on their nominal day
    pre = (np.arange(V) > 0) & (np.arange(V) < p.day1_visit)
    t[:, pre] = nom_t[pre]
    dosing = np.zeros(V, bool)
    dosing[p.infusion_visit] = True
    movable = np.arange(V) > p.day1_visit
    shift = r.choice([-1, 1], (n, V)) * r.integers(21, 36, (n, V))
    prev_nom = np.r_[nom_t[0], nom_t[:-1]]
    next_nom = np.r_[nom_t[1:], nom_t[-1] + 400]
    cand = nom_t[None, :] + shift
    ok = (
        (r.random((n, V)) < miss["out_of_window_prob"])
        & (movable & ~dosing)[None, :]
        & (cand > prev_nom[None, :] + 7)
        & (cand < next_nom[None, :] - 7)
    )
    t = np.where(ok, cand, t)
    # visits keep their order: a visit a day or two after another (a pre-dose check on day 28,
    # the infusion on day 29) is never jittered before it
    for j in range(p.day1_visit + 1, V):
        t[:, j] = np.maximum(t[:, j], t[:, j - 1] + 1)
    c.oow = ok
    c.vt = t
    last = V - 1
    missed = (r.random((n, V)) < miss["missed_visit_prob"]) & movable[None, :]
    missed[:, last] = False
    c.missed = missed

    # --- infusions that would be given (before censoring by death or dropout)
    inf_given = np.zeros((n, p.infusion_visit.size), bool)
    for k, vi in enumerate(p.infusion_visit):
        g = ~missed[:, vi]
        if k > 0:
            g &= r.random(n) >= miss["missed_infusion_prob"]
        inf_given[:, k] = g
    inf_given[sf | nd, :] = False
    # infusions outside the subject's arm schedule (per-arm infusion_days) are not given
    inf_given &= np.vstack([p.arm_infusion, np.zeros((1, p.infusion_visit.size), bool)])[c.arm]
    c.inf_planned = inf_given

    # --- latent severity at the visits
    r = rng_for(seed, 6)
    sd = sev["meld_sd"]
    slope = r.normal(sev["slope_mean_per_year"], sev["slope_sd_per_year"], n)
    u = np.empty((n, V))
    u[:, 0] = d["u0"]
    for j in range(1, V):
        phi = np.exp(-np.maximum(t[:, j] - t[:, j - 1], 1) / sev["ar1_tau_days"])
        u[:, j] = phi * u[:, j - 1] + np.sqrt(1 - phi**2) * sev["ar1_sd"] * r.standard_normal(n)
    ramp = np.clip(t / (sim["effect_full_day"] - 1.0), 0.0, 1.0)
    frac = inf_given.mean(axis=1) if inf_given.shape[1] else np.zeros(n)
    c.M0 = sev["meld_mean"] + sd * (
        d["z0"][:, None] + u + slope[:, None] * np.maximum(t, 0) / 365.25
    )
    # score labs at every visit (the screening ones are those eligibility was judged on)
    eta = {k: d[f"eta_{k}"][:, None] for k in ETA}
    eps = {k: r.normal(0, EPS[k], (n, V)) for k in ETA}
    for k in ETA:
        eps[k][:, 0] = d[f"eps0_{k}"]
    c.eps = eps
    # the share of a latent MELD point the MELD formula shows at baseline (lower bounds of 1.0)
    b0, i0, c0, _, _ = score_labs(
        c.M0[:, p.day1_visit],
        {k: v[:, 0] for k, v in eta.items()},
        {k: v[:, p.day1_visit] for k, v in eps.items()},
        d["female"],
        c.chol,
    )
    gain = 10 * (0.378 * C_BILI * (b0 > 1) + 1.12 * C_INR * (i0 > 1) + 0.957 * C_CREAT * (c0 > 1))
    gain = float(gain[~sf].mean()) if (~sf).any() else 1.0
    eff = sim["treatment_effect_meld_w24"] / max(gain, 0.2)
    c.M = c.M0 + eff * (c.effect_scale * frac)[:, None] * ramp
    c.bili, c.inr, c.creat, c.alb, c.na = score_labs(
        c.M, eta, eps, d["female"][:, None], c.chol[:, None]
    )
    c.meld_obs = meld_unos(c.bili, c.inr, c.creat)
    c.s = (c.M - 15.0) / 4.0
    c.asc = ascites_grade(c.s, d["asc_eta"][:, None], r.normal(0, 0.45, (n, V)))
    c.asc[:, 0] = ascites_grade(c.s[:, 0], d["asc_eta"], d["asc_eps0"])
    c.he = he_grade(c.s, d["he_eta"][:, None], r.normal(0, 0.45, (n, V)))
    c.he[:, 0] = he_grade(c.s[:, 0], d["he_eta"], d["he_eps0"])
    c.ecog = np.clip(
        np.round(0.75 + 0.45 * c.s + r.normal(0, 0.55, (n, 1)) + r.normal(0, 0.3, (n, V))), 0, 2
    ).astype(np.int8)

    # --- events (piecewise-constant hazards between the visits, from the latent severity)
    r = rng_for(seed, 7)
    bounds = np.r_[nom_t[p.day1_visit :], nom_t[-1] + 60].astype(float)
    zz = (c.M[:, p.day1_visit :] - sev["meld_mean"]) / sd

    def rates(per_year, log_hr):
        return per_year / 365.25 * np.exp(log_hr * zz)

    t_death = _piecewise_time(r, rates(hz["death_per_year"], hz["death_log_hr_per_sd"]), bounds)
    t_tx = _piecewise_time(
        r, rates(hz["transplant_per_year"], hz["transplant_log_hr_per_sd"]), bounds
    )
    t_death = np.maximum(t_death, 1)
    t_tx = np.maximum(t_tx, 1)
    c.ce_t = {}
    for name, rate in hz["events_per_year"].items():
        c.ce_t[name] = np.maximum(
            _piecewise_time(r, rates(rate, hz["events_log_hr_per_sd"]), bounds), 1
        )

    # MAR dropout after an attended visit, from the last observed MELD
    obs = np.where(missed, np.nan, c.meld_obs)
    idx = np.where(~np.isnan(obs), np.arange(V)[None, :], 0)
    idx = np.maximum.accumulate(idx, axis=1)
    locf = np.take_along_axis(obs, idx, 1)
    lo_ = np.log(hz["dropout_per_visit"] / (1 - hz["dropout_per_visit"]))
    pdrop = 1 / (1 + np.exp(-(lo_ + hz["dropout_log_or_per_meld"] * (locf - 15.0))))
    can = (~missed) & (np.arange(V) >= p.day1_visit)[None, :] & (np.arange(V) < last)[None, :]
    drop = can & (r.random((n, V)) < pdrop)
    has_drop = drop.any(axis=1)
    jd = np.argmax(drop, axis=1)
    tj = np.take_along_axis(t, jd[:, None], 1)[:, 0]
    tn = np.take_along_axis(t, np.minimum(jd + 1, last)[:, None], 1)[:, 0]
    t_drop = np.where(has_drop, tj + 1 + np.floor(r.random(n) * np.maximum(tn - tj - 1, 1)), np.inf)
    reasons = list(hz["dropout_reasons"])
    rp = np.array([hz["dropout_reasons"][k] for k in reasons], float)
    c.drop_reason = np.array(reasons, dtype=object)[r.choice(len(reasons), n, p=rp / rp.sum())]

    t_comp = t[:, last].astype(float)
    t_nd = np.where(nd, np.floor(r.random(n) * 4), np.inf)  # withdrawn day 1 to day 4

    # one subject with a liver transplant and death on the same day (a dosed, early, sick subject)
    elig = np.flatnonzero(~sf & ~nd & (c.day1 <= np.median(c.day1[~sf]) if (~sf).any() else False))
    if elig.size:
        j = elig[np.argmax(c.M[elig, p.day1_visit])]
        day = float(min(120, nom_t[-1] - 30))
        t_tx[j] = day
        t_death[j] = day
        t_drop[j] = np.inf
    # dosed subjects are followed at least to day 2 (an infusion day is a day alive)
    times = np.vstack([t_comp, t_death, t_tx, t_drop, t_nd])
    c.end_t = times.min(axis=0)
    c.end_reason = np.argmin(times, axis=0)
    c.t_death = t_death
    c.t_tx = t_tx
    c.dead = c.end_reason == END_DEATH
    c.dead |= (c.end_reason == END_TRANSPLANT) & (t_death == t_tx)
    c.end_reason[(c.end_reason == END_TRANSPLANT) & (t_death == t_tx)] = END_DEATH
    c.transplanted = (t_tx <= c.end_t) & ~sf & ~nd
    c.dead &= ~sf
    c.end_reason[sf] = -1  # screen failures: see sf_date
    c.end_t = np.where(sf, c.scr_t, c.end_t)
    # a visit happens if attended and before the end (on the end day only for completion)
    before = np.where(
        (c.end_reason == END_COMPLETED)[:, None], t <= c.end_t[:, None], t < c.end_t[:, None]
    )
    att = ~missed & before
    att[:, 0] = True
    att[sf, 1:] = False
    att[nd, p.day1_visit + 1 :] = False
    c.att = att
    c.inf = inf_given & att[:, p.infusion_visit]
    return c

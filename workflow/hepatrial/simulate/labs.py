"""LB: lab results from the latent severity, in the units and precision each site reports.

The score labs (BILI, INR, CREAT, ALB, SODIUM) come from :mod:`hepatrial.simulate.cohort`; the
others load on the generic severity s = (M - 15) / 4 with a subject effect and visit noise
(log-normal where the test is). "core" visits get the routine panel, "full" visits add tumour
markers, immunoglobulins, lymphocyte subsets and liver stiffness. HBV DNA is measured in HBV
subjects only and reported as text "<LLOQ" below 20 IU/mL, as central labs do.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hepatrial.simulate.cohort import Cohort, rng_for
from hepatrial.simulate.frames import cells, date_text, number_text, pick
from hepatrial.simulate.settings import Plan

HBV_LLOQ = 20.0
# code, name, unit, decimals, normal low, normal high, panel
TESTS = [
    ("BILI", "Bilirubin", "umol/L", 1, "3.4", "20.5", "core"),
    ("CREAT", "Creatinine", "umol/L", 1, "44", "106", "core"),
    ("INR", "Prothrombin Intl. Normalized Ratio", "", 2, "0.8", "1.2", "core"),
    ("PT", "Prothrombin Time", "s", 1, "11.0", "14.5", "core"),
    ("PTCONT", "Prothrombin Time Control", "s", 1, "", "", "core"),
    ("PTACT", "Prothrombin Activity", "%", 0, "70", "130", "core"),
    ("ALB", "Albumin", "g/L", 1, "40", "55", "core"),
    ("SODIUM", "Sodium", "mmol/L", 1, "137", "147", "core"),
    ("ALT", "Alanine Aminotransferase", "U/L", 0, "9", "50", "core"),
    ("AST", "Aspartate Aminotransferase", "U/L", 0, "15", "40", "core"),
    ("GGT", "Gamma Glutamyl Transferase", "U/L", 0, "10", "60", "core"),
    ("ALP", "Alkaline Phosphatase", "U/L", 0, "45", "125", "core"),
    ("CHE", "Cholinesterase", "U/L", 0, "5000", "12000", "core"),
    ("PLAT", "Platelets", "10^9/L", 0, "125", "350", "core"),
    ("WBC", "Leukocytes", "10^9/L", 2, "3.5", "9.5", "core"),
    ("HGB", "Hemoglobin", "g/L", 0, "130", "175", "core"),
    ("AFP", "Alpha Fetoprotein", "ng/mL", 2, "0", "7", "core"),
    ("HBVDNA", "Hepatitis B Virus DNA", "IU/mL", 0, "", "", "core"),
    ("AFPL3", "Alpha Fetoprotein L3", "%", 1, "", "10", "full"),
    ("PIVKA2", "PIVKA-II", "mAU/mL", 1, "", "40", "full"),
    ("CEA", "Carcinoembryonic Antigen", "ng/mL", 2, "", "5", "full"),
    ("CA199", "Cancer Antigen 19-9", "U/mL", 2, "", "37", "full"),
    ("CA153", "Cancer Antigen 15-3", "U/mL", 2, "", "25", "full"),
    ("IGA", "Immunoglobulin A", "g/L", 2, "0.7", "4.0", "full"),
    ("IGG", "Immunoglobulin G", "g/L", 2, "7.0", "16.0", "full"),
    ("IGM", "Immunoglobulin M", "g/L", 2, "0.4", "2.3", "full"),
    ("IGE", "Immunoglobulin E", "IU/mL", 1, "", "100", "full"),
    ("CD3", "CD3+ T Lymphocytes", "%", 1, "55", "84", "full"),
    ("CD4", "CD3+CD4+ T Lymphocytes", "%", 1, "31", "60", "full"),
    ("CD8", "CD3+CD8+ T Lymphocytes", "%", 1, "13", "41", "full"),
    ("TREG", "Regulatory T Cells", "%", 2, "", "", "full"),
    ("TH17", "T Helper 17 Cells", "%", 2, "", "", "full"),
    ("LSM", "Liver Stiffness Measurement", "kPa", 1, "", "", "full"),
]
TESTS.sort(key=lambda t: t[0])  # index order = code order (records come out sorted)
# Sites reporting in mg/dL: unit, decimals, normal range, divisor from the umol/L value.
MGDL = {"BILI": ("mg/dL", 2, "0.20", "1.20", 17.1), "CREAT": ("mg/dL", 2, "0.50", "1.20", 88.4)}


def _lognormal(r, n, V, mean, s_coef, s, eta_sd, eps_sd):
    eta = r.normal(0, eta_sd, (n, 1))
    eps = r.normal(0, eps_sd, (n, V))
    return mean * np.exp(s_coef * s + eta + eps)


def _values(c: Cohort, p: Plan, seed: int) -> dict[str, np.ndarray]:
    """n x V matrices of every test, in the standard (umol/L for BILI and CREAT) unit."""
    r = rng_for(seed, 20)
    n, V = c.vt.shape
    s = c.s
    site_ctrl = 11.2 + 1.2 * rng_for(seed, 21).random(p.n_sites)
    site_isi = 1.0 + 0.3 * rng_for(seed, 22).random(p.n_sites)
    ctrl = np.round(site_ctrl[c.site][:, None] + r.normal(0, 0.15, (n, V)), 1)
    pt = ctrl * c.inr ** (1.0 / site_isi[c.site][:, None])
    ramp = np.clip(c.vt / 84.0, 0, 1) * c.effect_scale[:, None]
    et = c.etiol_names[c.etiol]
    chol = c.chol[:, None]
    alco = (et == "ALCOHOL")[:, None]
    hcc_t = c.ce_t.get("HEPATOCELLULAR CARCINOMA", np.full(n, np.inf))
    hcc_grow = np.exp(np.clip((c.vt - hcc_t[:, None]) / 90.0, 0, 4))
    # HBV DNA: log10 IU/mL, detectable in some, falling on antiviral therapy
    det = r.random(n) < p.sim["severity"]["hbv_dna_detectable_prob"]
    l10 = np.where(
        det[:, None],
        r.normal(3.6, 1.2, (n, 1)) - 1.2 * np.maximum(c.vt, 0) / 365.25,
        r.normal(0.8, 0.3, (n, 1)),
    ) + r.normal(0, 0.25, (n, V))
    cd3 = np.clip(62 + r.normal(0, 7, (n, 1)) + r.normal(0, 3, (n, V)), 30, 90)
    cd4 = np.clip(0.58 * cd3 + r.normal(0, 5, (n, 1)) + r.normal(0, 2, (n, V)), 10, 70)
    return {
        "BILI": c.bili * 17.1,
        "CREAT": c.creat * 88.4,
        "INR": c.inr,
        "PT": pt,
        "PTCONT": ctrl,
        "PTACT": np.clip(100.0 / c.inr**1.6 + r.normal(0, 3, (n, V)), 5, 150),
        "ALB": c.alb,
        "SODIUM": c.na,
        "ALT": _lognormal(r, n, V, 36, 0.10, s, 0.45, 0.25),
        "AST": _lognormal(r, n, V, 50, 0.18, s, 0.40, 0.20),
        "GGT": _lognormal(r, n, V, 42, 0.0, s, 0.55, 0.20) * np.where(chol | alco, 3.0, 1.0),
        "ALP": _lognormal(r, n, V, 105, 0.05, s, 0.30, 0.12) * np.where(chol, 2.2, 1.0),
        "CHE": _lognormal(r, n, V, 4300, -0.22, s, 0.25, 0.10),
        "PLAT": _lognormal(r, n, V, 72, -0.12, s, 0.40, 0.12),
        "WBC": _lognormal(r, n, V, 3.9, -0.05, s, 0.25, 0.15),
        "HGB": np.clip(118 - 6 * s + r.normal(0, 12, (n, 1)) + r.normal(0, 5, (n, V)), 55, 175),
        "AFP": _lognormal(r, n, V, 5.0, 0.15, s, 0.80, 0.30) * hcc_grow**2,
        "HBVDNA": 10.0**l10,
        "AFPL3": _lognormal(r, n, V, 4.0, 0.0, s, 0.55, 0.20) * hcc_grow,
        "PIVKA2": _lognormal(r, n, V, 24, 0.05, s, 0.55, 0.25) * hcc_grow**1.5,
        "CEA": _lognormal(r, n, V, 2.6, 0.05, s, 0.45, 0.15),
        "CA199": _lognormal(r, n, V, 24, 0.15, s, 0.65, 0.20),
        "CA153": _lognormal(r, n, V, 12, 0.05, s, 0.40, 0.15),
        "IGA": _lognormal(r, n, V, 3.3, 0.0, s, 0.30, 0.08),
        "IGG": _lognormal(r, n, V, 17.5, 0.05, s, 0.25, 0.06),
        "IGM": _lognormal(r, n, V, 1.3, 0.0, s, 0.40, 0.08),
        "IGE": _lognormal(r, n, V, 60, 0.0, s, 1.00, 0.20),
        "CD3": cd3,
        "CD4": cd4,
        "CD8": np.clip(cd3 - cd4 - 3 + r.normal(0, 2, (n, V)), 5, 60),
        "TREG": np.clip(
            5.5 + 1.3 * ramp + r.normal(0, 1.2, (n, 1)) + r.normal(0, 0.6, (n, V)), 0.5, 15
        ),
        "TH17": np.clip(
            1.6 - 0.35 * ramp + 0.1 * s + r.normal(0, 0.4, (n, 1)) + r.normal(0, 0.2, (n, V)),
            0.1,
            6,
        ),
        "LSM": np.clip(_lognormal(r, n, V, 27, 0.12, s, 0.35, 0.15), 3.0, 75.0),
    }


def build_lb(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    vals = _values(c, p, seed)
    _n, _V = c.vt.shape
    core_vis = np.array([lab in ("core", "full") for lab in p.labs])
    full_vis = np.array([lab == "full" for lab in p.labs])
    # one record per subject (USUBJID order), visit and test (code order)
    i, j = cells(c.att & core_vis[None, :], c.order)
    T = len(TESTS)
    sub, vis, tst = np.repeat(i, T), np.repeat(j, T), np.tile(np.arange(T), i.size)
    full = np.array([t[6] == "full" for t in TESTS])
    keep = ~full[tst] | full_vis[vis]
    keep &= (np.array([t[0] for t in TESTS]) != "HBVDNA")[tst] | c.hbv[sub]
    sub, vis, tst = sub[keep], vis[keep], tst[keep]
    stack = np.stack([vals[t[0]] for t in TESTS])  # T x n x V
    val = stack[tst, sub, vis]
    del stack
    r = rng_for(seed, 23)
    not_done = r.random(sub.size) < p.sim["missing"]["lab_not_done_prob"]

    codes = [t[0] for t in TESTS]
    # reporting variants: index k = the standard unit of test k, T + k = its mg/dL variant
    unit = [t[2] or None for t in TESTS] + [MGDL.get(t[0], (t[2],))[0] or None for t in TESTS]
    decs = np.array([t[3] for t in TESTS] + [MGDL.get(t[0], (0, t[3]))[1] for t in TESTS])
    lo = [t[4] or None for t in TESTS] + [MGDL.get(t[0], (0, 0, t[4]))[2] or None for t in TESTS]
    hi = [t[5] or None for t in TESTS] + [MGDL.get(t[0], (0, 0, 0, t[5]))[3] or None for t in TESTS]
    div = np.array([1.0] * T + [MGDL.get(t[0], (0, 0, 0, 0, 1.0))[4] for t in TESTS])
    site_code = np.char.zfill((np.arange(p.n_sites) + 1).astype(str), 2)
    mgdl_site = np.isin(site_code, p.sim["sites"]["mgdl_sites"])[c.site]
    mg_test = np.isin(codes, list(MGDL))
    var = tst + T * (mgdl_site[sub] & mg_test[tst])
    val = val / div[var]
    below = (tst == codes.index("HBVDNA")) & (val < HBV_LLOQ)
    text = number_text(
        val, decs[var], missing=not_done, special=below, special_text=f"<{HBV_LLOQ:g}"
    )

    day = c.day1[sub] + c.vt[sub, vis]
    timed = np.isin(site_code, p.sim["sites"]["datetime_sites"])[c.site][sub]
    clock = np.where(timed, (7 + (sub * 7 + vis * 3) % 4) * 60 + (sub * 13 + vis * 17) % 60, -1)
    dtc = date_text(day, clock=clock)
    names = [t[1] for t in TESTS]
    null = 2 * T
    return pl.DataFrame(
        {
            "_subj": sub,
            "_day": day,
            "_code": tst,
            "_late": np.ones(sub.size, bool),
            "LBTESTCD": pick(codes, tst),
            "LBTEST": pick(names, tst),
            "LBORRES": text,
            "LBORRESU": pick(unit + [None], np.where(not_done, null, var)),
            "LBORNRLO": pick(lo, var),
            "LBORNRHI": pick(hi, var),
            "LBSTAT": pick([None, "NOT DONE"], not_done.astype(np.int64)),
            "LBDTC": dtc,
            "VISITNUM": p.visitnum[vis],
            "VISIT": pick(p.visit, vis),
        }
    )


# The HBV-ACLF NK-cell panel (simulation.nk_panel): code, name, mean % of NK cells (CD3-CD56+),
# shift at full effect (percentage points, MSC raising activating and cytotoxic markers and lowering
# the inhibitory NKG2A), subject SD, visit SD. Normal ranges are not reported (research assay).
NK_TESTS = [
    ("KIR2DL1", "NK Cells KIR2DL1+", 22.0, 2.0, 6.0, 3.0),
    ("KIR2DL3", "NK Cells KIR2DL3+", 28.0, 2.0, 7.0, 3.0),
    ("KIR3DL1", "NK Cells KIR3DL1+", 18.0, 1.5, 5.0, 2.5),
    ("NKG2A", "NK Cells NKG2A+", 45.0, -6.0, 8.0, 4.0),
    ("NKG2D", "NK Cells NKG2D+", 62.0, 8.0, 9.0, 4.0),
    ("NKP46", "NK Cells NKp46+", 55.0, 6.0, 9.0, 4.0),
    ("PERF", "NK Cells Perforin+", 70.0, 7.0, 8.0, 4.0),
    ("GZMB", "NK Cells Granzyme B+", 66.0, 7.0, 8.0, 4.0),
    ("FASL", "NK Cells FasL+", 12.0, 3.0, 4.0, 2.0),
]


def build_lb_nk(c: Cohort, p: Plan, seed: int) -> pl.DataFrame | None:
    """LB rows of the NK-cell panel at the visits of ``simulation.nk_panel`` (None when empty):
    percentages to 1 decimal, clipped to 0.5-99.5, from their own random streams (41, 42)."""
    visits = p.sim.get("nk_panel") or []
    if not visits:
        return None
    at = np.array([v in visits for v in p.visit])
    r = rng_for(seed, 41)
    n, V = c.vt.shape
    ramp = np.clip(c.vt / float(p.sim["effect_full_day"]), 0, 1) * c.effect_scale[:, None]
    vals = np.stack(
        [
            np.clip(
                mean + shift * ramp + r.normal(0, sd_s, (n, 1)) + r.normal(0, sd_v, (n, V)),
                0.5,
                99.5,
            )
            for _, _, mean, shift, sd_s, sd_v in NK_TESTS
        ]
    )  # K x n x V
    i, j = cells(c.att & at[None, :], c.order)
    K = len(NK_TESTS)
    sub, vis, tst = np.repeat(i, K), np.repeat(j, K), np.tile(np.arange(K), i.size)
    val = vals[tst, sub, vis]
    not_done = rng_for(seed, 42).random(sub.size) < p.sim["missing"]["lab_not_done_prob"]
    text = number_text(
        val,
        np.ones(sub.size, dtype=np.int64),
        missing=not_done,
        special=np.zeros(sub.size, bool),
        special_text="",
    )
    day = c.day1[sub] + c.vt[sub, vis]
    codes, names = [t[0] for t in NK_TESTS], [t[1] for t in NK_TESTS]
    return pl.DataFrame(
        {
            "_subj": sub,
            "_day": day,
            "_code": len(TESTS) + tst,  # after the routine tests of the same day
            "_late": np.ones(sub.size, bool),
            "LBTESTCD": pick(codes, tst),
            "LBTEST": pick(names, tst),
            "LBORRES": text,
            "LBORRESU": pick(["%", None], not_done.astype(np.int64)),
            "LBORNRLO": pick([None], np.zeros(sub.size, np.int64)),
            "LBORNRHI": pick([None], np.zeros(sub.size, np.int64)),
            "LBSTAT": pick([None, "NOT DONE"], not_done.astype(np.int64)),
            "LBDTC": date_text(day),
            "VISITNUM": p.visitnum[vis],
            "VISIT": pick(p.visit, vis),
        }
    )

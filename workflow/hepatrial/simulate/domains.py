"""DM, DS, SV, EX, CE, PR and AE from a simulated :class:`~hepatrial.simulate.cohort.Cohort`.

Each builder returns the domain's columns plus ``_subj`` (subject index) and ``_day`` (absolute day
of the record's main date); :func:`hepatrial.simulate.frames.finalize` applies the cut. Builders
that must know the cut (DM, AE: what was known on the cut date) take ``cut_day``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hepatrial.simulate.cohort import (
    END_COMPLETED,
    END_DEATH,
    END_DROPOUT,
    END_NEVER_DOSED,
    END_TRANSPLANT,
    Cohort,
    rng_for,
)
from hepatrial.simulate.frames import FULL, MONTH, YEAR, _strs, cells, date_text, pick
from hepatrial.simulate.settings import Plan

DECOMP = (
    "VARICEAL BLEEDING",
    "ASCITES",
    "HEPATIC ENCEPHALOPATHY",
    "SPONTANEOUS BACTERIAL PERITONITIS",
)
CE_TERM = {
    "VARICEAL BLEEDING": "Oesophageal variceal bleeding",
    "ASCITES": "Ascites requiring diuretics",
    "HEPATIC ENCEPHALOPATHY": "Overt hepatic encephalopathy",
    "SPONTANEOUS BACTERIAL PERITONITIS": "Spontaneous bacterial peritonitis",
    "HEPATORENAL SYNDROME": "Hepatorenal syndrome - AKI",
    "HEPATOCELLULAR CARCINOMA": "Hepatocellular carcinoma",
    "LIVER FAILURE": "Liver failure",
    "ACUTE-ON-CHRONIC LIVER FAILURE": "Acute-on-chronic liver failure",
}
GI, GEN, INF, NERV = (
    "Gastrointestinal disorders",
    "General disorders and administration site conditions",
    "Infections and infestations",
    "Nervous system disorders",
)
HEP, REN = "Hepatobiliary disorders", "Renal and urinary disorders"
NEO = "Neoplasms benign, malignant and unspecified (incl cysts and polyps)"
# AE for a clinical event: body system, preferred term, verbatim term
CE_AE = {
    "VARICEAL BLEEDING": (GI, "Oesophageal varices haemorrhage", "Esophageal variceal bleeding"),
    "ASCITES": (GI, "Ascites", "Worsening ascites"),
    "HEPATIC ENCEPHALOPATHY": (NERV, "Hepatic encephalopathy", "Hepatic encephalopathy"),
    "SPONTANEOUS BACTERIAL PERITONITIS": (
        INF,
        "Peritonitis bacterial",
        "Spontaneous bacterial peritonitis",
    ),
    "HEPATORENAL SYNDROME": (REN, "Hepatorenal syndrome", "Hepatorenal syndrome"),
    "HEPATOCELLULAR CARCINOMA": (NEO, "Hepatocellular carcinoma", "HCC"),
    "LIVER FAILURE": (HEP, "Hepatic failure", "Liver failure"),
    "ACUTE-ON-CHRONIC LIVER FAILURE": (HEP, "Acute on chronic liver failure", "ACLF"),
}
# background AEs: body system, preferred term, verbatim terms, relative frequency
BACKGROUND = [
    (GEN, "Fatigue", ("Fatigue", "Tiredness"), 8),
    (GEN, "Oedema peripheral", ("Leg oedema", "Ankle swelling"), 6),
    (GEN, "Pyrexia", ("Fever",), 3),
    (GI, "Abdominal distension", ("Abdominal distension", "Bloating"), 7),
    (GI, "Diarrhoea", ("Diarrhea", "Loose stools"), 6),
    (GI, "Nausea", ("Nausea",), 5),
    (GI, "Abdominal pain", ("Abdominal pain", "Upper abdominal pain"), 5),
    (GI, "Constipation", ("Constipation",), 3),
    (GI, "Ascites", ("Increased ascites",), 4),
    (GI, "Gastrointestinal haemorrhage", ("Upper GI bleeding",), 1),
    (INF, "Upper respiratory tract infection", ("URTI", "Common cold"), 6),
    (INF, "Pneumonia", ("Pneumonia", "Lung infection"), 3),
    (INF, "Urinary tract infection", ("UTI",), 3),
    (NERV, "Headache", ("Headache",), 4),
    (NERV, "Dizziness", ("Dizziness",), 3),
    (NERV, "Hepatic encephalopathy", ("Mild confusion - HE",), 2),
    ("Skin and subcutaneous tissue disorders", "Pruritus", ("Itching", "Pruritus"), 4),
    ("Skin and subcutaneous tissue disorders", "Rash", ("Skin rash",), 2),
    ("Metabolism and nutrition disorders", "Hyponatraemia", ("Low sodium",), 3),
    ("Metabolism and nutrition disorders", "Hypokalaemia", ("Hypokalemia",), 3),
    ("Blood and lymphatic system disorders", "Thrombocytopenia", ("Low platelets",), 3),
    ("Blood and lymphatic system disorders", "Anaemia", ("Anemia",), 3),
    ("Psychiatric disorders", "Insomnia", ("Insomnia", "Difficulty sleeping"), 3),
    ("Musculoskeletal and connective tissue disorders", "Muscle spasms", ("Muscle cramps",), 3),
    (HEP, "Jaundice", ("Worsening jaundice",), 2),
    (REN, "Acute kidney injury", ("AKI",), 1),
]
FATAL = [
    (HEP, "Hepatic failure", "Liver failure", 0.4),
    (INF, "Sepsis", "Sepsis", 0.2),
    (GI, "Oesophageal varices haemorrhage", "Massive variceal bleeding", 0.15),
    (REN, "Hepatorenal syndrome", "Hepatorenal syndrome", 0.15),
    (GEN, "Multiple organ dysfunction syndrome", "Multi-organ failure", 0.1),
]
RECOVERED, SEQUELAE, NOT_RECOVERED, FATAL_OUT, UNKNOWN = (
    "RECOVERED/RESOLVED",
    "RECOVERED/RESOLVED WITH SEQUELAE",
    "NOT RECOVERED/NOT RESOLVED",
    "FATAL",
    "UNKNOWN",
)


def subject_dates(c: Cohort, p: Plan) -> dict[str, np.ndarray]:
    """Absolute days (float, inf = none) of first dose, end of study and death."""
    inf_day = c.day1[:, None] + c.vt[:, p.infusion_visit]
    first = np.where(c.inf, inf_day, np.inf).min(axis=1) if c.inf.shape[1] else np.full(c.n, np.inf)
    end = np.where(c.sf, c.sf_date, c.day1 + c.end_t).astype(float)
    death = np.where(c.dead, c.day1 + c.t_death, np.inf)
    return {"first_dose": first, "end": end, "death": death}


def build_dm(c: Cohort, p: Plan, seed: int, usubjid: pl.Series, cut_day: int) -> pl.DataFrame:
    r = rng_for(seed, 40)
    dd = subject_dates(c, p)
    assigned = ~c.sf & (c.day1 <= cut_day)
    armv = np.array([a.arm for a in p.arms] + [None], dtype=object)
    armcd = np.array([a.armcd for a in p.arms] + [None], dtype=object)
    arm = np.where(assigned, armv[c.arm], None)
    acd = np.where(assigned, armcd[c.arm], None)
    arm = np.where(c.sf, "Screen Failure", arm)
    acd = np.where(c.sf, "SCRNFAIL", acd)
    actarm = np.where(c.never_dosed & assigned, "Not Treated", arm)
    actcd = np.where(c.never_dosed & assigned, "NOTTRT", acd)
    dead = dd["death"] <= cut_day
    dprec = np.where(r.random(c.n) < p.sim["partial_dates"]["death_month_prob"], MONTH, FULL)
    site = pl.Series(c.site + 1).cast(pl.String).str.zfill(2)
    return pl.DataFrame(
        {
            "_subj": np.arange(c.n),
            "_day": c.consent,
            "SUBJID": pl.select(
                pl.format("{}-{}", site, pl.Series(c.subjnum).cast(pl.String).str.zfill(4))
            )[:, 0],
            "SITEID": site,
            "ARM": _strs(arm),
            "ARMCD": _strs(acd),
            "ACTARM": _strs(actarm),
            "ACTARMCD": _strs(actcd),
            "RFSTDTC": date_text(dd["first_dose"], missing=~(dd["first_dose"] <= cut_day)),
            "RFENDTC": date_text(dd["end"], missing=c.sf | ~(dd["end"] <= cut_day)),
            "RFICDTC": date_text(c.consent),
            "DTHDTC": date_text(dd["death"], dprec, missing=~dead),
            "DTHFL": _strs(np.where(dead, "Y", None)),
            "AGE": c.age,
            "AGEU": _strs(np.full(c.n, "YEARS")),
            "SEX": _strs(np.where(c.female, "F", "M")),
            "RACE": _strs(c.race),
            "COUNTRY": _strs(np.full(c.n, p.sim["demographics"]["country"])),
            "ETIOLOGY": _strs(c.etiol_names[c.etiol]),
            "CTPSTRAT": _strs(c.ctpstrat),
        }
    )


def build_ds(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    dd = subject_dates(c, p)
    n = c.n
    all_ = np.arange(n)
    rand = np.flatnonzero(~c.sf) if p.randomized else np.zeros(0, np.int64)
    sf = np.flatnonzero(c.sf)
    ended = np.flatnonzero(~c.sf)
    reason = np.empty(n, dtype=object)
    reason[c.end_reason == END_COMPLETED] = "COMPLETED"
    reason[c.end_reason == END_DEATH] = "DEATH"
    reason[c.end_reason == END_TRANSPLANT] = "OTHER"
    reason[c.end_reason == END_DROPOUT] = c.drop_reason[c.end_reason == END_DROPOUT]
    reason[c.end_reason == END_NEVER_DOSED] = "WITHDRAWAL BY SUBJECT"
    term = reason.copy()
    term[c.end_reason == END_TRANSPLANT] = "RECEIVED LIVER TRANSPLANT"
    sub = np.concatenate([all_, rand, sf, ended])
    day = np.concatenate(
        [c.consent, c.day1[rand], c.sf_date[sf], dd["end"][ended].astype(np.int64)]
    )
    decod = np.concatenate(
        [
            np.full(n, "INFORMED CONSENT OBTAINED", dtype=object),
            np.full(rand.size, "RANDOMIZED", dtype=object),
            np.full(sf.size, "SCREEN FAILURE", dtype=object),
            reason[ended],
        ]
    )
    dterm = np.concatenate([decod[: n + rand.size + sf.size], term[ended]])
    cat = np.concatenate(
        [
            np.full(n + rand.size, "PROTOCOL MILESTONE", dtype=object),
            np.full(sf.size + ended.size, "DISPOSITION EVENT", dtype=object),
        ]
    )
    return pl.DataFrame(
        {
            "_subj": sub,
            "_day": day,
            "DSTERM": _strs(dterm),
            "DSDECOD": _strs(decod),
            "DSCAT": _strs(cat),
            "DSSTDTC": date_text(day),
        }
    )


def build_sv(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    i, j = cells(c.att, c.order)
    day = c.day1[i] + c.vt[i, j]
    return pl.DataFrame(
        {
            "_subj": i,
            "_day": day,
            "_code": j,
            "VISITNUM": p.visitnum[j],
            "VISIT": pick(p.visit, j),
            "SVSTDTC": date_text(day),
        }
    )


def build_ex(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    i, k = cells(c.inf)
    j = p.infusion_visit[k]
    day = c.day1[i] + c.vt[i, j]
    a = c.arm[i]
    return pl.DataFrame(
        {
            "_subj": i,
            "_day": day,
            "EXTRT": pick([x.extrt for x in p.arms], a),
            "EXDOSE": np.array([x.exdose for x in p.arms])[a],
            "EXDOSU": pick([x.exdosu for x in p.arms], a),
            "EXSTDTC": date_text(day),
            "VISITNUM": p.visitnum[j],
            "VISIT": pick(p.visit, j),
        }
    )


def ce_events(c: Cohort) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On-study clinical events: subject, type name, t (days since day 1)."""
    subs, names, ts = [], [], []
    for name, t in c.ce_t.items():
        i = np.flatnonzero(~c.sf & ~c.never_dosed & (t <= c.end_t))
        subs.append(i)
        names.append(np.full(i.size, name, dtype=object))
        ts.append(t[i].astype(np.int64))
    return np.concatenate(subs), np.concatenate(names), np.concatenate(ts)


def build_ce(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    r = rng_for(seed, 50)
    hz, pd_ = p.sim["hazards"], p.sim["partial_dates"]
    i, name, t = ce_events(c)
    day = c.day1[i] + t
    prec = np.where(r.random(i.size) < pd_["ce_month_prob"], MONTH, FULL)
    # decompensation before the study (history): at least 3 months before consent, often partial
    h = np.flatnonzero(r.random(c.n) < hz["prior_event_prob"])
    hname = np.array(DECOMP, dtype=object)[r.choice(len(DECOMP), h.size, p=[0.3, 0.4, 0.2, 0.1])]
    hday = c.consent[h] - r.integers(92, 1800, h.size)
    cons_year = pl.Series(c.consent[h].astype(np.int32)).cast(pl.Date).dt.year().to_numpy()
    h_year = pl.Series(hday.astype(np.int32)).cast(pl.Date).dt.year().to_numpy()
    u = r.random(h.size)
    hprec = np.where(u < 0.2, FULL, np.where((u < 0.4) & (h_year < cons_year), YEAR, MONTH))
    sub = np.concatenate([i, h])
    nm = np.concatenate([name, hname])
    d = np.concatenate([day, hday])
    pr = np.concatenate([prec, hprec])
    cat = np.concatenate(
        [
            np.full(i.size, "ON-STUDY EVENT", dtype=object),
            np.full(h.size, "MEDICAL HISTORY", dtype=object),
        ]
    )
    return pl.DataFrame(
        {
            "_subj": sub,
            "_day": d,
            "CETERM": _strs([CE_TERM[x] for x in nm]),
            "CEDECOD": _strs(nm),
            "CECAT": _strs(cat),
            "CESTDTC": date_text(d, pr),
        }
    )


def build_pr(c: Cohort, p: Plan, seed: int) -> pl.DataFrame:
    r = rng_for(seed, 60)
    hz = p.sim["hazards"]
    on = ~c.sf & ~c.never_dosed
    parts = []  # (subject, t, decod)
    # liver transplant
    i = np.flatnonzero(on & c.transplanted)
    parts.append((i, c.t_tx[i].astype(np.int64), "LIVER TRANSPLANT"))
    # paracentesis: recurrent, more with ascites and severity
    s_mean = np.nanmean(np.where(c.att, c.s, np.nan), axis=1)
    rate = (
        hz["paracentesis_per_year"]
        * np.exp(np.nan_to_num(s_mean))
        * np.where(c.asc[:, 0] >= 1, 1.0, 0.25)
    )
    span = np.maximum(c.end_t, 0)
    cnt = np.where(on, r.poisson(rate * span / 365.25), 0)
    i = np.repeat(np.arange(c.n), cnt)
    t = 1 + np.floor(r.random(i.size) * np.maximum(span[i], 1)).astype(np.int64)
    parts.append((i, np.minimum(t, c.end_t[i].astype(np.int64)), "PARACENTESIS"))
    # haemodialysis: two or three sessions in the 7 days before a lab visit with a high creatinine
    post = np.arange(c.vt.shape[1]) > 0
    lab = np.array([x in ("core", "full") for x in p.labs])
    high = c.att & (c.creat > 2.0) & (post & lab)[None, :] & (c.vt > 7)
    pick = high & (r.random(high.shape) < hz["dialysis_prob"])
    if not pick.any() and (c.att & (post & lab)[None, :] & (c.vt > 7) & on[:, None]).any():
        cand = np.where(c.att & (post & lab)[None, :] & (c.vt > 7) & on[:, None], c.creat, -1)
        pick.flat[np.argmax(cand)] = True  # at least one such subject per trial
    i, j = cells(pick)
    tv = c.vt[i, j]
    third = r.random(i.size) < 0.3
    parts.append(
        (
            np.concatenate([i, i, i[third]]),
            np.concatenate([tv - 5, tv - 2, tv[third] - 6]),
            "HAEMODIALYSIS",
        )
    )
    # after hepatorenal syndrome
    hrs = c.ce_t.get("HEPATORENAL SYNDROME", np.full(c.n, np.inf))
    i = np.flatnonzero(on & (hrs <= c.end_t) & (r.random(c.n) < hz["hrs_dialysis_prob"]))
    for off in (1, 3, 5):
        ok = i[hrs[i] + off <= c.end_t[i]]
        parts.append((ok, (hrs[ok] + off).astype(np.int64), "HAEMODIALYSIS"))
    # TIPS after variceal bleeding
    vb = c.ce_t.get("VARICEAL BLEEDING", np.full(c.n, np.inf))
    off = r.integers(1, 6, c.n)
    i = np.flatnonzero(on & (vb + off <= c.end_t) & (r.random(c.n) < hz["tips_prob_after_bleed"]))
    parts.append((i, (vb[i] + off[i]).astype(np.int64), "TIPS"))

    sub = np.concatenate([x[0] for x in parts])
    t = np.concatenate([x[1] for x in parts])
    decod = np.concatenate([np.full(x[0].size, x[2], dtype=object) for x in parts])
    keep = t >= 1
    sub, t, decod = sub[keep], t[keep], decod[keep]
    day = c.day1[sub] + t
    trt = {
        "LIVER TRANSPLANT": "Orthotopic liver transplantation",
        "PARACENTESIS": "Abdominal paracentesis",
        "HAEMODIALYSIS": "Haemodialysis",
        "TIPS": "TIPS placement",
    }
    prec = np.where(
        (decod == "PARACENTESIS") & (r.random(sub.size) < p.sim["partial_dates"]["pr_month_prob"]),
        MONTH,
        FULL,
    )
    return pl.DataFrame(
        {
            "_subj": sub,
            "_day": day,
            "PRTRT": _strs([trt[x] for x in decod]),
            "PRDECOD": _strs(decod),
            "PRSTDTC": date_text(day, prec),
        }
    )


def build_ae(c: Cohort, p: Plan, seed: int, cut_day: int) -> pl.DataFrame:
    r = rng_for(seed, 70)
    hz, pd_ = p.sim["hazards"], p.sim["partial_dates"]
    dd = subject_dates(c, p)
    active = c.effect_scale > 0
    # background AEs from consent to the end of the subject's study
    s_mean = np.nan_to_num(np.nanmean(np.where(c.att, c.s, np.nan), axis=1))
    span = np.where(c.sf, 0, c.end_t - c.scr_t)
    cnt = r.poisson(hz["ae_per_year"] * np.exp(0.3 * s_mean) * span / 365.25)
    bi = np.repeat(np.arange(c.n), cnt)
    bt = c.scr_t[bi] + np.floor(r.random(bi.size) * (span[bi] + 1)).astype(np.int64)
    w = np.array([x[3] for x in BACKGROUND], float)
    which = r.choice(len(BACKGROUND), bi.size, p=w / w.sum())
    nterm = np.array([len(x[2]) for x in BACKGROUND])[which]
    bterm = np.array([x[2][0] for x in BACKGROUND], dtype=object)[which]
    alt = np.array([x[2][-1] for x in BACKGROUND], dtype=object)[which]
    bterm = np.where((nterm > 1) & (r.random(bi.size) < 0.5), alt, bterm)
    bgrade = r.choice([1, 2, 3, 4], bi.size, p=[0.55, 0.32, 0.10, 0.03])
    brel = (bt >= 0) & (r.random(bi.size) < np.where(active[bi], 0.12, 0.06))
    bdur = np.ceil(np.exp(r.normal(np.log(7), 0.9, bi.size))).astype(np.int64)
    bser = r.random(bi.size) < np.select([bgrade >= 4, bgrade == 3], [1.0, 0.6], 0.02)
    b = {
        "i": bi,
        "t": bt,
        "soc": np.array([x[0] for x in BACKGROUND], dtype=object)[which],
        "decod": np.array([x[1] for x in BACKGROUND], dtype=object)[which],
        "term": bterm,
        "grade": bgrade,
        "rel": brel,
        "dur": bdur,
        "ser": bser,
        "fatal": np.zeros(bi.size, bool),
    }
    # infusion reactions (pyrexia, chills) on the day of an infusion or the next
    i, k = cells(c.inf)
    prob = np.array([a.infusion_reaction_prob for a in p.arms])[c.arm[i]]
    hit = r.random(i.size) < prob
    i, k = i[hit], k[hit]
    ti = c.vt[i, p.infusion_visit[k]] + r.integers(0, 2, i.size)
    chills = r.random(i.size) < 0.2
    g = r.choice([1, 2, 3], i.size, p=p.sim["infusion_reaction_grades"])
    f = {
        "i": i,
        "t": ti,
        "soc": np.full(i.size, GEN, dtype=object),
        "decod": np.where(chills, "Chills", "Pyrexia").astype(object),
        "term": np.where(chills, "Chills after infusion", "Fever after infusion").astype(object),
        "grade": g,
        "rel": np.ones(i.size, bool),
        "dur": r.integers(1, 4, i.size),
        "ser": r.random(i.size) < np.where(g >= 3, 0.5, 0.0),
        "fatal": np.zeros(i.size, bool),
    }
    # the clinical events, also reported as AEs
    i, nm, t = ce_events(c)
    g = r.choice([2, 3, 4], i.size, p=[0.2, 0.55, 0.25])
    e = {
        "i": i,
        "t": t,
        "soc": np.array([CE_AE[x][0] for x in nm], dtype=object),
        "decod": np.array([CE_AE[x][1] for x in nm], dtype=object),
        "term": np.array([CE_AE[x][2] for x in nm], dtype=object),
        "grade": g,
        "rel": r.random(i.size) < 0.03,
        "ser": r.random(i.size) < 0.85,
        "dur": np.where(
            nm == "HEPATOCELLULAR CARCINOMA",
            100000,
            np.ceil(np.exp(r.normal(np.log(10), 0.7, i.size))),
        ).astype(np.int64),
        "fatal": np.zeros(i.size, bool),
    }
    # a fatal (grade 5) AE for each death
    i = np.flatnonzero(c.dead)
    fw = np.array([x[3] for x in FATAL])
    which = r.choice(len(FATAL), i.size, p=fw / fw.sum())
    td = c.t_death[i].astype(np.int64)
    ts = np.maximum(td - r.integers(0, 11, i.size), 1)
    d = {
        "i": i,
        "t": ts,
        "soc": np.array([x[0] for x in FATAL], dtype=object)[which],
        "decod": np.array([x[1] for x in FATAL], dtype=object)[which],
        "term": np.array([x[2] for x in FATAL], dtype=object)[which],
        "grade": np.full(i.size, 5),
        "rel": np.zeros(i.size, bool),
        "ser": np.ones(i.size, bool),
        "dur": td - ts,
        "fatal": np.ones(i.size, bool),
    }
    a = {k: np.concatenate([x[k] for x in (b, f, e, d)]) for k in b}

    start = c.day1[a["i"]] + a["t"]
    end = start + a["dur"]
    subj_end = dd["end"][a["i"]]
    # what was known on the cut date: later ends are not yet recorded, a later death not yet fatal
    grade = np.where(a["fatal"] & (end > cut_day), 4, a["grade"])
    open_ = (end > cut_day) | ((end > subj_end) & ~a["fatal"])
    ltfu = c.drop_reason[a["i"]] == "LOST TO FOLLOW-UP"
    lost = (c.end_reason[a["i"]] == END_DROPOUT) & ltfu
    out = np.where(
        open_,
        np.where(lost & ~(end > cut_day), UNKNOWN, NOT_RECOVERED),
        np.where((grade >= 3) & (r.random(a["i"].size) < 0.05), SEQUELAE, RECOVERED),
    )
    out = np.where(a["fatal"] & ~(end > cut_day), FATAL_OUT, out)
    u = r.random(a["i"].size)
    prec = np.where(
        u < pd_["ae_year_prob"],
        YEAR,
        np.where(u < pd_["ae_year_prob"] + pd_["ae_month_prob"], MONTH, FULL),
    )
    prec = np.where(a["fatal"], FULL, prec)
    o = np.lexsort((a["t"], a["i"]))
    return pl.DataFrame(
        {
            "_subj": a["i"],
            "_day": start,
            "_late": np.ones(start.size, bool),
            "AETERM": _strs(a["term"]),
            "AEDECOD": _strs(a["decod"]),
            "AEBODSYS": _strs(a["soc"]),
            "AESTDTC": date_text(start, prec),
            "AEENDTC": date_text(end, missing=open_),
            "AESER": _strs(np.where(a["ser"], "Y", "N")),
            "AETOXGR": grade.astype(np.int64),
            "AEREL": _strs(np.where(a["rel"], "RELATED", "NOT RELATED")),
            "AEOUT": _strs(out),
        }
    )[o]

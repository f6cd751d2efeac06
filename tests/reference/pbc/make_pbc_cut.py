"""Map the Mayo PBC trial (pbc.csv) into an SDTM data cut under the data contract.

The cut lets the whole DAG (ingest -> ADSL/ADTTE -> survival ARD) be checked against the R
reference numbers of this folder (tests/reference/test_pbc_dag.py). Only relative times matter,
so calendar dates are synthetic:

- registration (consent, randomisation, the one dose) on 1975-01-01 + ``id`` days;
- ``time`` days later: death (status 2, DM.DTHDTC and a DS DEATH record), liver transplant
  (status 1, PR LIVER TRANSPLANT) or the last contact (status 0, an SV visit). Transplanted
  patients also get an SV visit on the transplant day: the transplant proves them alive, and
  follow-up in pbc.csv ends there, so OS (where transplant does not censor, docs/scoring.md) is
  censored at the transplant day, as in the R reference (which censors OS at transplant).

Subjects: all 418 patients. The 106 eligible but not randomised (``trt`` empty) are DM
``ARM = Not Assigned`` with no randomisation and no dose, so they are outside the ITT population
and must not reach the analyses. Arms: trt 1 = ``D-penicillamine``, 2 = ``Placebo``.

Domains: DM (AGE in whole years, SEX M/F, ETIOLOGY PBC), DS (RANDOMIZED, DEATH), EX (one
administration on day 1), LB (baseline BILI mg/dL, ALB g/dL, PT s, PLAT, ALP, AST, as recorded),
PR, SV, and AE as a header-only file (AE is a required domain; the trial data hold none).

Run: ``python tests/reference/pbc/make_pbc_cut.py <out folder>``
(default ``data/MAYO-PBC/1990-12-31``).
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PBC_CSV = HERE / "pbc.csv"
STUDY_YAML = HERE / "pbc_study.yaml"
STUDYID = "MAYO-PBC"
ARMS = {"1": "D-penicillamine", "2": "Placebo"}
EXTRT = {"1": "D-PENICILLAMINE", "2": "PLACEBO"}
REG_ORIGIN = dt.date(1975, 1, 1)
CUT_NAME = "1990-12-31"  # after all follow-up (last contact 1989); the study config's cut_date

COLUMNS = {
    "dm": [
        "STUDYID",
        "USUBJID",
        "SUBJID",
        "SITEID",
        "ARM",
        "ACTARM",
        "RFSTDTC",
        "RFICDTC",
        "DTHDTC",
        "DTHFL",
        "AGE",
        "SEX",
        "RACE",
        "COUNTRY",
        "ETIOLOGY",
    ],
    "ds": ["STUDYID", "USUBJID", "DSCAT", "DSDECOD", "DSSTDTC"],
    "ex": ["STUDYID", "USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC"],
    "lb": [
        "STUDYID",
        "USUBJID",
        "LBTESTCD",
        "LBTEST",
        "LBORRES",
        "LBORRESU",
        "LBORNRLO",
        "LBORNRHI",
        "LBSTAT",
        "LBDTC",
        "VISITNUM",
        "VISIT",
    ],
    "pr": ["STUDYID", "USUBJID", "PRDECOD", "PRSTDTC"],
    "sv": ["STUDYID", "USUBJID", "VISITNUM", "VISIT", "SVSTDTC"],
    "ae": [
        "STUDYID",
        "USUBJID",
        "AETERM",
        "AEDECOD",
        "AEBODSYS",
        "AESTDTC",
        "AEENDTC",
        "AESER",
        "AETOXGR",
        "AEREL",
        "AEOUT",
    ],
}
# pbc.csv column -> (LBTESTCD, LBTEST, unit as recorded)
LABS = {
    "bili": ("BILI", "Bilirubin", "mg/dL"),
    "albumin": ("ALB", "Albumin", "g/dL"),
    "protime": ("PT", "Prothrombin Time", "s"),
    "platelet": ("PLAT", "Platelets", "10^9/L"),
    "alk.phos": ("ALP", "Alkaline Phosphatase", "U/L"),
    "ast": ("AST", "Aspartate Aminotransferase", "U/L"),
}


def _iso(d: dt.date) -> str:
    return d.isoformat()


def read_pbc(path: Path = PBC_CSV) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def sdtm_domains(rows: list[dict]) -> dict[str, list[dict]]:
    """pbc.csv rows -> SDTM records per domain (lower-case domain name -> list of dicts)."""
    out: dict[str, list[dict]] = {k: [] for k in COLUMNS}
    for r in rows:
        pid = int(r["id"])
        usubjid = f"{STUDYID}-{pid:04d}"
        reg = REG_ORIGIN + dt.timedelta(days=pid)
        end = reg + dt.timedelta(days=int(r["time"]))
        status = r["status"]
        randomised = r["trt"] in ARMS
        arm = ARMS[r["trt"]] if randomised else "Not Assigned"  # SDTMIG spelling
        base = {"STUDYID": STUDYID, "USUBJID": usubjid}
        out["dm"].append(
            {
                **base,
                "SUBJID": str(pid),
                "SITEID": "MAYO",
                "ARM": arm,
                "ACTARM": arm,
                "RFSTDTC": _iso(reg) if randomised else "",
                "RFICDTC": _iso(reg),
                "DTHDTC": _iso(end) if status == "2" else "",
                "DTHFL": "Y" if status == "2" else "",
                "AGE": str(int(float(r["age"]))),
                "SEX": r["sex"].upper(),
                "RACE": "",
                "COUNTRY": "USA",
                "ETIOLOGY": "PBC",
            }
        )
        if randomised:
            out["ds"].append(
                {
                    **base,
                    "DSCAT": "PROTOCOL MILESTONE",
                    "DSDECOD": "RANDOMIZED",
                    "DSSTDTC": _iso(reg),
                }
            )
            out["ex"].append(
                {**base, "EXTRT": EXTRT[r["trt"]], "EXDOSE": "", "EXDOSU": "", "EXSTDTC": _iso(reg)}
            )
        if status == "2":
            out["ds"].append(
                {**base, "DSCAT": "DISPOSITION EVENT", "DSDECOD": "DEATH", "DSSTDTC": _iso(end)}
            )
        for col, (code, name, unit) in LABS.items():
            if r.get(col, "") not in ("", "NA"):
                out["lb"].append(
                    {
                        **base,
                        "LBTESTCD": code,
                        "LBTEST": name,
                        "LBORRES": r[col],
                        "LBORRESU": unit,
                        "LBORNRLO": "",
                        "LBORNRHI": "",
                        "LBSTAT": "",
                        "LBDTC": _iso(reg),
                        "VISITNUM": "1",
                        "VISIT": "BASELINE",
                    }
                )
        out["sv"].append({**base, "VISITNUM": "1", "VISIT": "BASELINE", "SVSTDTC": _iso(reg)})
        if status == "1":
            out["pr"].append({**base, "PRDECOD": "LIVER TRANSPLANT", "PRSTDTC": _iso(end)})
        if status in ("0", "1"):  # last contact; a transplant proves the patient alive that day
            out["sv"].append(
                {**base, "VISITNUM": "99", "VISIT": "LAST CONTACT", "SVSTDTC": _iso(end)}
            )
    return out


def write_domain(path: Path, columns: list[str], records: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for rec in records:
            w.writerow(rec)


def write_pbc_cut(folder: Path, pbc_csv: Path = PBC_CSV) -> Path:
    """Write the SDTM cut (one CSV per domain) into ``folder``; returns it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for dom, records in sdtm_domains(read_pbc(pbc_csv)).items():
        write_domain(folder / f"{dom}.csv", COLUMNS[dom], records)
    return folder


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data") / STUDYID / CUT_NAME
    print(write_pbc_cut(target))

"""A tiny, hand-written data cut (4 subjects) for unit tests of ingest and derivations.

Every value is written out here so that expected results can be worked by hand.
"""

from __future__ import annotations

import csv
from pathlib import Path

STUDY = "TINY"

STUDY_YAML = """
study: {id: TINY, design: parallel}
arms:
  - {label: UC-MSC}
  - {label: Placebo, reference: true}
visits:
  - {label: BASELINE, avisitn: 0, target_day: 1, window: [-14, 1], baseline: true}
  - {label: WEEK 4, avisitn: 4, target_day: 29, window: [15, 42]}
  - {label: WEEK 8, avisitn: 8, target_day: 57, window: [43, 70]}
endpoints: {primary_visit: WEEK 8, landmarks_days: [28, 56]}
strata: [CTPSTRAT]
baseline_columns: [ETIOLOGY, CTPSTRAT]
plausibility: {INR: [0.5, 10]}
cut_date: "2024-06-30"
"""


def _dm():
    base = dict(STUDYID=STUDY, SITEID="01", RACE="ASIAN", COUNTRY="CHN", DTHDTC="", DTHFL="")
    return [
        dict(
            base,
            USUBJID="T-001",
            ARM="UC-MSC",
            ACTARM="UC-MSC",
            RFSTDTC="2024-01-10",
            RFICDTC="2024-01-01",
            AGE="50",
            SEX="M",
            ETIOLOGY="HBV",
            CTPSTRAT="B",
        ),
        dict(
            base,
            USUBJID="T-002",
            ARM="Placebo",
            ACTARM="Placebo",
            RFSTDTC="2024-01-15",
            RFICDTC="2024-01-05",
            AGE="61",
            SEX="F",
            ETIOLOGY="PBC",
            CTPSTRAT="C",
            DTHDTC="2024-03-01",
            DTHFL="Y",
        ),
        dict(
            base,
            USUBJID="T-003",
            ARM="UC-MSC",
            ACTARM="UC-MSC",
            RFSTDTC="2024-02-01",
            RFICDTC="2024-01-20",
            AGE="45",
            SEX="M",
            ETIOLOGY="HBV",
            CTPSTRAT="C",
            SITEID="02",
        ),
        dict(
            base,
            USUBJID="T-004",
            ARM="Placebo",
            ACTARM="Placebo",
            RFSTDTC="2024-02-05",
            RFICDTC="2024-01-25",
            AGE="38",
            SEX="M",
            ETIOLOGY="ALCOHOL",
            CTPSTRAT="B",
            SITEID="02",
        ),
    ]


def _ds():
    rows = []
    for s, d in [
        ("T-001", "2024-01-10"),
        ("T-002", "2024-01-15"),
        ("T-003", "2024-02-01"),
        ("T-004", "2024-02-05"),
    ]:
        rows.append(
            dict(
                STUDYID=STUDY,
                USUBJID=s,
                DSCAT="PROTOCOL MILESTONE",
                DSDECOD="RANDOMIZED",
                DSSTDTC=d,
            )
        )
    rows.append(
        dict(
            STUDYID=STUDY,
            USUBJID="T-002",
            DSCAT="DISPOSITION EVENT",
            DSDECOD="DEATH",
            DSSTDTC="2024-03-01",
        )
    )
    return rows


def _ex():
    rows = []
    for s, days in [
        ("T-001", ["2024-01-10", "2024-02-07"]),
        ("T-002", ["2024-01-15"]),
        ("T-003", ["2024-02-01", "2024-02-29"]),
        ("T-004", ["2024-02-05", "2024-03-04"]),
    ]:
        for d in days:
            rows.append(
                dict(
                    STUDYID=STUDY,
                    USUBJID=s,
                    EXTRT="UC-MSC",
                    EXDOSE="60",
                    EXDOSU="10^6 cells",
                    EXSTDTC=d,
                )
            )
    return rows


LAB_PANEL = [  # test, unit, lo, hi
    ("BILI", "umol/L", "3.4", "20.5"),
    ("CREAT", "umol/L", "53", "106"),
    ("INR", "", "0.8", "1.2"),
    ("ALB", "g/L", "35", "55"),
    ("SODIUM", "mmol/L", "135", "145"),
]


def _lb():
    """Labs at screening, day 1 and week 4 (and a late record after the cut)."""
    vals = {
        "T-001": {
            "2024-01-05": ("34.2", "88.4", "1.7", "28", "130"),
            "2024-01-10": ("51.3", "176.8", "2.3", "35", "125"),
            "2024-02-07": ("30", "90", "1.5", "30", "136"),
        },
        "T-002": {"2024-01-15": ("68.4", "120", "1.9", "27", "131")},
        "T-003": {
            "2024-02-01": ("40", "100", "1.6", "31", "135"),
            "2024-03-01": ("35", "95", "1.4", "33", "137"),
        },
        "T-004": {
            "2024-02-05": ("25", "80", "1.3", "36", "139"),
            "2024-07-15": ("20", "70", "1.2", "38", "140"),
        },
    }
    rows = []
    for s, by_date in vals.items():
        for d, v in by_date.items():
            for (test, unit, lo, hi), x in zip(LAB_PANEL, v):
                rows.append(
                    dict(
                        STUDYID=STUDY,
                        USUBJID=s,
                        LBTESTCD=test,
                        LBTEST=test,
                        LBORRES=x,
                        LBORRESU=unit,
                        LBORNRLO=lo,
                        LBORNRHI=hi,
                        LBSTAT="",
                        LBDTC=d,
                        VISITNUM="",
                        VISIT="",
                    )
                )
    return rows


def _ae():
    return [
        dict(
            STUDYID=STUDY,
            USUBJID="T-001",
            AETERM="fever",
            AEDECOD="Pyrexia",
            AEBODSYS="General disorders and administration site conditions",
            AESTDTC="2024-01-11",
            AEENDTC="2024-01-12",
            AESER="N",
            AETOXGR="1",
            AEREL="Y",
            AEOUT="RECOVERED/RESOLVED",
        ),
        dict(
            STUDYID=STUDY,
            USUBJID="T-002",
            AETERM="liver failure",
            AEDECOD="Hepatic failure",
            AEBODSYS="Hepatobiliary disorders",
            AESTDTC="2024-02",
            AEENDTC="2024-03-01",
            AESER="Y",
            AETOXGR="5",
            AEREL="N",
            AEOUT="FATAL",
        ),
    ]


def _pr():
    return [dict(STUDYID=STUDY, USUBJID="T-003", PRDECOD="LIVER TRANSPLANT", PRSTDTC="2024-04-10")]


def _rs():
    rows = []
    for s, d, asc, he in [
        ("T-001", "2024-01-10", "MILD", "0"),
        ("T-002", "2024-01-15", "MODERATE-SEVERE", "2"),
        ("T-003", "2024-02-01", "NONE", "1"),
        ("T-004", "2024-02-05", "NONE", "0"),
    ]:
        rows.append(
            dict(
                STUDYID=STUDY,
                USUBJID=s,
                RSTESTCD="ASCITES",
                RSORRES=asc,
                RSDTC=d,
                VISITNUM="",
                VISIT="",
            )
        )
        rows.append(
            dict(
                STUDYID=STUDY,
                USUBJID=s,
                RSTESTCD="HEGRADE",
                RSORRES=he,
                RSDTC=d,
                VISITNUM="",
                VISIT="",
            )
        )
    return rows


def _ce():
    return [dict(STUDYID=STUDY, USUBJID="T-004", CEDECOD="VARICEAL BLEEDING", CESTDTC="2024-03-20")]


def _sv():
    return [
        dict(STUDYID=STUDY, USUBJID=s, VISITNUM="2", VISIT="DAY 1", SVSTDTC=d)
        for s, d in [
            ("T-001", "2024-01-10"),
            ("T-002", "2024-01-15"),
            ("T-003", "2024-02-01"),
            ("T-004", "2024-02-05"),
        ]
    ]


def domains() -> dict[str, list[dict]]:
    return {
        "dm": _dm(),
        "ds": _ds(),
        "ex": _ex(),
        "lb": _lb(),
        "ae": _ae(),
        "pr": _pr(),
        "rs": _rs(),
        "ce": _ce(),
        "sv": _sv(),
    }


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> None:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in cols})


def write_cut(folder: Path, doms: dict[str, list[dict]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (doms or domains()).items():
        write_csv(folder / f"{name}.csv", rows)
    return folder


def write_study(path: Path, text: str = STUDY_YAML) -> Path:
    path.write_text(text)
    return path

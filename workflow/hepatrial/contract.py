"""The input data contract (docs/data_contract.md) as data.

``DOMAINS`` lists, per SDTM domain, the columns the pipeline needs (fatal when absent), the
columns it expects (a WARNING finding and an all-missing column when absent), the date columns
and whether partial dates are allowed there, and the controlled terms it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl

# A time may carry a UTC offset (ISO 8601: Z, +hh:mm, +hhmm, +hh): kept as written; the pipeline
# uses the date as written (the local date of the record), never a date converted to UTC.
ISO_FULL = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
ISO_OFFSET = r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"
ISO_PARTIAL = r"^\d{4}(-\d{2})?$"

# Layout of the records set aside (validation/exclusions.csv: ingest and ADaM append to one table).
EXCL_SCHEMA = {
    "domain": pl.Utf8,
    "file": pl.Utf8,
    "row": pl.Int64,
    "USUBJID": pl.Utf8,
    "reason": pl.Utf8,
}

# Tokens read as missing in character columns (besides the empty cell the contract defines).
MISSING_TOKENS = ("NA", "N/A", ".", "NAN", "NULL")


@dataclass(frozen=True)
class DomainSpec:
    name: str
    required_domain: bool
    required: tuple[str, ...]
    expected: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    partial_dates: tuple[str, ...] = ()  # date columns where YYYY / YYYY-MM is allowed
    numeric: tuple[str, ...] = ()  # must parse as numbers when present
    terms: dict[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # column -> allowed (upper case)
    main_date: str | None = None  # the date that places the record in time (data cut)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # column -> [lo, hi]


DOMAINS: dict[str, DomainSpec] = {
    "DM": DomainSpec(
        "DM",
        True,
        required=("STUDYID", "USUBJID", "SITEID", "ARM", "ACTARM", "RFSTDTC", "AGE", "SEX"),
        expected=("RFICDTC", "DTHDTC", "DTHFL", "RACE", "COUNTRY"),
        dates=("RFSTDTC", "RFICDTC", "DTHDTC", "RFENDTC"),
        partial_dates=("DTHDTC",),
        numeric=("AGE",),
        ranges={"AGE": (0, 120)},
        terms={"SEX": ("M", "F", "U", "UNDIFFERENTIATED"), "DTHFL": ("Y",)},
        main_date=None,
    ),
    "DS": DomainSpec(
        "DS",
        True,
        required=("USUBJID", "DSDECOD", "DSSTDTC"),
        expected=("DSCAT",),
        dates=("DSSTDTC",),
        terms={"DSCAT": ("PROTOCOL MILESTONE", "DISPOSITION EVENT", "OTHER EVENT")},
        main_date="DSSTDTC",
    ),
    "SV": DomainSpec(
        "SV",
        False,
        required=("USUBJID", "SVSTDTC"),
        expected=("VISITNUM", "VISIT"),
        dates=("SVSTDTC",),
        numeric=("VISITNUM",),
        main_date="SVSTDTC",
    ),
    "EX": DomainSpec(
        "EX",
        True,
        required=("USUBJID", "EXSTDTC"),
        expected=("EXTRT", "EXDOSE", "EXDOSU"),
        dates=("EXSTDTC",),
        numeric=("EXDOSE",),
        ranges={"EXDOSE": (0, float("inf"))},
        main_date="EXSTDTC",
    ),
    "LB": DomainSpec(
        "LB",
        True,
        required=("USUBJID", "LBTESTCD", "LBDTC"),
        expected=(
            "LBTEST",
            "LBORRES",
            "LBORRESU",
            "LBORNRLO",
            "LBORNRHI",
            "LBSTAT",
            "VISITNUM",
            "VISIT",
        ),
        dates=("LBDTC",),
        numeric=("VISITNUM",),
        terms={"LBSTAT": ("NOT DONE",)},
        main_date="LBDTC",
    ),
    "RS": DomainSpec(
        "RS",
        False,
        required=("USUBJID", "RSTESTCD", "RSORRES", "RSDTC"),
        expected=("VISITNUM", "VISIT"),
        dates=("RSDTC",),
        numeric=("VISITNUM",),
        main_date="RSDTC",
    ),
    "QS": DomainSpec(
        "QS",
        False,
        required=("USUBJID", "QSCAT", "QSTESTCD", "QSDTC"),
        expected=("QSORRES", "QSSTRESN", "VISITNUM", "VISIT"),
        dates=("QSDTC",),
        numeric=("QSSTRESN", "VISITNUM"),
        main_date="QSDTC",
    ),
    "AE": DomainSpec(
        "AE",
        True,
        required=("USUBJID", "AEDECOD", "AESTDTC"),
        expected=("AETERM", "AEBODSYS", "AEENDTC", "AESER", "AEREL", "AEOUT"),
        dates=("AESTDTC", "AEENDTC"),
        partial_dates=("AESTDTC", "AEENDTC"),
        numeric=("AETOXGR",),
        terms={
            "AESER": ("Y", "N"),
            "AETOXGR": ("1", "2", "3", "4", "5"),
            "AESEV": ("MILD", "MODERATE", "SEVERE"),
        },
        main_date="AESTDTC",
    ),
    "CE": DomainSpec(
        "CE",
        False,
        required=("USUBJID", "CEDECOD", "CESTDTC"),
        dates=("CESTDTC",),
        partial_dates=("CESTDTC",),
        main_date="CESTDTC",
    ),
    "PR": DomainSpec(
        "PR",
        False,
        required=("USUBJID", "PRDECOD", "PRSTDTC"),
        dates=("PRSTDTC",),
        partial_dates=("PRSTDTC",),
        main_date="PRSTDTC",
    ),
    "MH": DomainSpec(
        "MH",
        False,
        required=("USUBJID", "MHDECOD"),
        dates=("MHSTDTC",),
        partial_dates=("MHSTDTC",),
        main_date=None,
    ),
}

# AE.AEREL (upper case): the terms read as related and as not related (ADAE AREL Y / N). Any
# other value is counted as related, the conservative reading (WARNING AEREL_UNKNOWN at ingest).
RELATED_TERMS = (
    "Y",
    "YES",
    "RELATED",
    "POSSIBLY RELATED",
    "PROBABLY RELATED",
    "DEFINITELY RELATED",
    "LIKELY RELATED",
    "POSSIBLE",
    "PROBABLE",
    "DEFINITE",
    "POSSIBLY",
    "PROBABLY",
    "DEFINITELY",
    "CERTAIN",
    "SUSPECTED",
)
NOT_RELATED_TERMS = (
    "N",
    "NO",
    "NOT RELATED",
    "UNRELATED",
    "UNLIKELY",
    "UNLIKELY RELATED",
    "NOT SUSPECTED",
    "DOUBTFUL",
)


def fatal_ae(grade: pl.Expr) -> pl.Expr:
    """An AE with a fatal outcome: AEOUT ``FATAL`` (any case) or ``grade`` 5 (ADAE FATALFL; the
    ingest check FATAL_AE_NO_DEATH)."""
    return pl.col("AEOUT").str.to_uppercase().eq_missing("FATAL") | (grade == 5).fill_null(False)


def level_key(value: str) -> str:
    """A declared level (study config ``stratum_levels``, the etiology lists) as the checks
    compare it: case and inner white space aside (upper case, runs of white space one space,
    trimmed)."""
    return " ".join(value.split()).upper()


# DS records that are protocol milestones, not disposition events, also when DSCAT is empty.
PROTOCOL_MILESTONES = ("INFORMED CONSENT OBTAINED", "RANDOMIZED")

# Arm values SDTM uses for subjects outside the randomised arms (SDTMIG 3.x).
NON_ARM_VALUES = ("SCREEN FAILURE", "NOT ASSIGNED", "NOT TREATED", "UNPLANNED TREATMENT")

CE_TERMS = (
    "VARICEAL BLEEDING",
    "ASCITES",
    "HEPATIC ENCEPHALOPATHY",
    "SPONTANEOUS BACTERIAL PERITONITIS",
    "HEPATORENAL SYNDROME",
    "HEPATOCELLULAR CARCINOMA",
    "LIVER FAILURE",
    "ACUTE-ON-CHRONIC LIVER FAILURE",
)
DECOMP_TERMS = (
    "VARICEAL BLEEDING",
    "ASCITES",
    "HEPATIC ENCEPHALOPATHY",
    "SPONTANEOUS BACTERIAL PERITONITIS",
    "HEPATORENAL SYNDROME",
)
PR_TERMS = ("LIVER TRANSPLANT", "HAEMODIALYSIS", "PARACENTESIS", "TIPS")

# Lab tests the pipeline knows, with their standard unit and the accepted input units with the
# factor that converts them to it (value_std = value * factor). Unit strings are compared after
# lower-casing and removing spaces; "µ"/"μ" read as "u".
LAB_UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "BILI": ("umol/L", {"umol/l": 1.0, "mg/dl": 17.1}),
    "CREAT": ("umol/L", {"umol/l": 1.0, "mg/dl": 88.4}),
    "ALB": ("g/L", {"g/l": 1.0, "g/dl": 10.0}),
    "SODIUM": ("mmol/L", {"mmol/l": 1.0, "meq/l": 1.0}),
    "INR": ("", {"": 1.0, "ratio": 1.0, "1": 1.0, "inr": 1.0}),
    "PT": ("s", {"s": 1.0, "sec": 1.0, "seconds": 1.0}),
    "PTCONT": ("s", {"s": 1.0, "sec": 1.0, "seconds": 1.0}),
    "PTACT": ("%", {"%": 1.0}),
}
# Tests every score needs: an unknown unit on one of these is fatal.
SCORE_TESTS = ("BILI", "CREAT", "INR", "ALB", "SODIUM", "PT", "PTCONT")
KNOWN_LAB_TESTS = (
    "BILI",
    "CREAT",
    "INR",
    "PT",
    "PTCONT",
    "PTACT",
    "ALB",
    "SODIUM",
    "ALT",
    "AST",
    "GGT",
    "ALP",
    "CHE",
    "PLAT",
    "WBC",
    "HGB",
    "AFP",
    "AFPL3",
    "PIVKA2",
    "CEA",
    "CA199",
    "CA153",
    "HBVDNA",
    "IGA",
    "IGG",
    "IGM",
    "IGE",
    "CD3",
    "CD4",
    "CD8",
    "TREG",
    "TH17",
    "LSM",
)
# Values that cannot be real (standard units); flagged ERROR and not used for scores.
MUST_BE_POSITIVE = ("BILI", "CREAT", "INR", "PT", "PTCONT")

# RS tests with their allowed results (upper case).
RS_TERMS: dict[str, tuple[str, ...]] = {
    "ASCITES": ("NONE", "MILD", "MODERATE-SEVERE", "1", "2", "3"),
    "HEGRADE": tuple(str(i) for i in range(5)),
    "ECOG": tuple(str(i) for i in range(6)),
    "SOFA": tuple(str(i) for i in range(25)),
    "ISHAKF": tuple(str(i) for i in range(7)),
    "ISHAKI": tuple(str(i) for i in range(19)),
}
# QS categories with their item codes and allowed numeric range.
QS_ITEMS: dict[str, dict[str, tuple[float, float]]] = {
    "CLDQ": {f"CLDQ{i:02d}": (1, 7) for i in range(1, 30)},
    "EQ-5D-5L": {**{f"EQ5D010{i}": (1, 5) for i in range(1, 6)}, "EQ5D0106": (0, 100)},
    "SF-36": {
        f"SF36{i:02d}": (
            1,
            {1: 5, 2: 5, 20: 5, 21: 6, 22: 5, 32: 5, 33: 5, 34: 5, 35: 5, 36: 5}.get(
                i, 3 if 3 <= i <= 12 else 2 if 13 <= i <= 19 else 6
            ),
        )
        for i in range(1, 37)
    },
}

# The alternative entry (docs/data_contract.md, "A cut of ADaM datasets"): a cut that holds ADSL
# instead of DM. What each dataset must hold (fatal when absent), what it should (a WARNING and an
# all-missing column), its dates, numbers and flags; ADaM IG 1.x names. The study's population
# flags and strata are required of ADSL as well (hepatrial.adam.entry).
_FLAG = ("Y", "N")
_BDS = DomainSpec(
    "BDS",
    False,
    required=("USUBJID", "PARAMCD", "AVISIT", "AVISITN", "AVAL", "BASE", "CHG", "ABLFL", "ANL01FL"),
    dates=("ADT",),
    numeric=("AVAL", "AVISITN", "BASE", "CHG", "PCHG", "ADY", "ANRLO", "ANRHI", "LLOQ", "ULOQ"),
    terms={"ABLFL": _FLAG, "ANL01FL": _FLAG},
    main_date="ADT",
)
ADAM_DOMAINS: dict[str, DomainSpec] = {
    "ADSL": DomainSpec(
        "ADSL",
        True,
        required=("USUBJID", "TRT01P", "EOSSTT"),
        expected=(
            "STUDYID",
            "SITEID",
            "TRT01A",
            "AGE",
            "SEX",
            "RACE",
            "TRTSDT",
            "TRTEDT",
            "NINFUS",
            "DCSREAS",
            "DTHDT",
            "LSTALVDT",
        ),
        dates=("RANDDT", "TRTSDT", "TRTEDT", "ORIGDT", "LSTALVDT", "DTHDT", "LTXDT"),
        numeric=("AGE", "NINFUS"),
        ranges={"AGE": (0, 120), "NINFUS": (0, 1000)},
        terms={
            "SEX": ("M", "F", "U", "UNDIFFERENTIATED"),
            **{f: _FLAG for f in ("ITTFL", "SAFFL", "PPFL", "ENRLFL", "COMPLFL", "DTHFL")},
        },
    ),
    "ADEFF": replace(_BDS, name="ADEFF"),
    "ADLB": replace(_BDS, name="ADLB", expected=("ANRLO", "ANRHI", "ANRIND")),
    "ADQS": replace(_BDS, name="ADQS"),
    "ADTTE": DomainSpec(
        "ADTTE",
        False,
        required=("USUBJID", "PARAMCD", "AVAL", "CNSR", "STARTDT", "ADT"),
        dates=("STARTDT", "ADT"),
        numeric=("AVAL", "CNSR", "CRCODE"),
        ranges={"AVAL": (0, 1e6), "CNSR": (0, 1e6), "CRCODE": (0, 1e6)},
    ),
    "ADAE": DomainSpec(
        "ADAE",
        False,
        required=("USUBJID", "AEDECOD", "AEBODSYS"),
        expected=("AETERM", "AESTDTC", "AESER", "TRTEMFL"),
        dates=("AESTDTC", "AEENDTC", "ASTDT", "AENDT"),
        partial_dates=("AESTDTC", "AEENDTC"),
        numeric=("AETOXGR", "ATOXGR"),
        terms={
            "AESER": _FLAG,
            "AETOXGR": ("1", "2", "3", "4", "5"),
            "ATOXGR": ("1", "2", "3", "4", "5"),
            "AESEV": ("MILD", "MODERATE", "SEVERE"),
            **{f: _FLAG for f in ("TRTEMFL", "AREL", "FATALFL", "AEWDFL", "DLTFL")},
        },
        main_date="AESTDTC",
    ),
}
# A cut of ADaM datasets: the ADSL variables each record of a BDS dataset, ADTTE and ADAE takes
# from ADSL (its own copies replaced: one source of a subject's arm).
ADAM_SUBJECT_VARS = (
    "STUDYID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "ORIGDT", "ITTFL", "SAFFL",
    "PPFL", "ENRLFL", "TRTSDT", "TRTEDT",
)  # fmt: skip
# a cut of ADaM datasets: the datasets compared with the previous cut's (hepatrial.report.compare)
ADAM_COMPARED = {
    "ADSL": "adsl_core",
    **{d: d.lower() for d in ("ADEFF", "ADLB", "ADQS", "ADTTE", "ADAE")},
}

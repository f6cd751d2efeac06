"""How a coded value prints: the one decode table of the tables, figures, listings and DSMB reports.

A category is stored as its code (a CDISC controlled terminology submission value, ``ASIAN``,
``M``, ``RECOVERED/RESOLVED``, or a sponsor code such as the aetiology ``HBV``) and printed as
the label a sponsor's TLF shell shows: sentence case (``Asian``, ``Male``,
``Recovered/resolved``), acronyms as coded (``HBV``, ``PBC``: no entry, the code prints). A
study's config ``category_labels`` (``{VAR: {code: label}}``) wins over the table for its
variables; a code in neither prints as it is. The CSV of a table holds the label too (what the
RTF and HTML print); the ARD and ADaM keep the codes.

:data:`CODELISTS` holds the codelists by their CDISC CT short name (the NCI code in the comment);
:data:`VARIABLES` says which codelist an ADaM or SDTM variable takes.
"""

from __future__ import annotations

from collections.abc import Mapping

NY = {"Y": "Yes", "N": "No", "U": "Unknown", "NA": "Not applicable"}  # C66742 No Yes Response

CODELISTS: dict[str, dict[str, str]] = {
    "SEX": {  # C66731
        "M": "Male",
        "F": "Female",
        "U": "Unknown",
        "UNDIFFERENTIATED": "Undifferentiated",
        "INTERSEX": "Intersex",
    },
    "RACE": {  # C74457
        "AMERICAN INDIAN OR ALASKA NATIVE": "American Indian or Alaska Native",
        "ASIAN": "Asian",
        "BLACK OR AFRICAN AMERICAN": "Black or African American",
        "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER": "Native Hawaiian or Other Pacific Islander",
        "WHITE": "White",
        "MULTIPLE": "Multiple",
        "OTHER": "Other",
        "NOT REPORTED": "Not reported",
        "UNKNOWN": "Unknown",
    },
    "ETHNIC": {  # C66790
        "HISPANIC OR LATINO": "Hispanic or Latino",
        "NOT HISPANIC OR LATINO": "Not Hispanic or Latino",
        "NOT REPORTED": "Not reported",
        "UNKNOWN": "Unknown",
    },
    "NY": NY,
    "OUT": {  # C66768 Outcome of Event
        "FATAL": "Fatal",
        "NOT RECOVERED/NOT RESOLVED": "Not recovered/not resolved",
        "RECOVERED/RESOLVED": "Recovered/resolved",
        "RECOVERED/RESOLVED WITH SEQUELAE": "Recovered/resolved with sequelae",
        "RECOVERING/RESOLVING": "Recovering/resolving",
        "UNKNOWN": "Unknown",
    },
    "AESEV": {"MILD": "Mild", "MODERATE": "Moderate", "SEVERE": "Severe"},  # C66769
    "NRIND": {  # C78736 Reference Range Indicator
        "LOW": "Low",
        "NORMAL": "Normal",
        "HIGH": "High",
        "ABNORMAL": "Abnormal",
    },
    "NCOMPLT": {  # C66727 Completion/Reason for Non-Completion
        "ADVERSE EVENT": "Adverse event",
        "COMPLETED": "Completed",
        "DEATH": "Death",
        "LACK OF EFFICACY": "Lack of efficacy",
        "LOST TO FOLLOW-UP": "Lost to follow-up",
        "NON-COMPLIANCE WITH STUDY DRUG": "Non-compliance with study drug",
        "OTHER": "Other",
        "PHYSICIAN DECISION": "Physician decision",
        "PREGNANCY": "Pregnancy",
        "PROGRESSIVE DISEASE": "Progressive disease",
        "PROTOCOL DEVIATION": "Protocol deviation",
        "RECOVERY": "Recovery",
        "SCREEN FAILURE": "Screen failure",
        "SITE TERMINATED BY SPONSOR": "Site terminated by sponsor",
        "STUDY TERMINATED BY SPONSOR": "Study terminated by sponsor",
        "TECHNICAL PROBLEMS": "Technical problems",
        "WITHDRAWAL BY PARENT/GUARDIAN": "Withdrawal by parent/guardian",
        "WITHDRAWAL BY SUBJECT": "Withdrawal by subject",
    },
    # sponsor-defined (no CDISC codelist): the aetiology of the liver disease; acronyms (HBV, HCV,
    # PBC, PSC, MASLD) have no entry and print as coded
    "ETIOLOGY": {
        "ALCOHOL": "Alcohol",
        "ALCOHOLIC": "Alcoholic",
        "AUTOIMMUNE": "Autoimmune hepatitis",
        "CRYPTOGENIC": "Cryptogenic",
        "PRIMARY BILIARY CHOLANGITIS": "Primary biliary cholangitis",
        "PRIMARY SCLEROSING CHOLANGITIS": "Primary sclerosing cholangitis",
        "OTHER": "Other",
        "UNKNOWN": "Unknown",
    },
}

# variable -> codelist
VARIABLES: dict[str, str] = {
    "SEX": "SEX",
    "RACE": "RACE",
    "ETHNIC": "ETHNIC",
    "AEOUT": "OUT",
    "AESEV": "AESEV",
    "ASEV": "AESEV",
    "AREL": "NY",
    "AESER": "NY",
    "TRTEMFL": "NY",
    "DTHFL": "NY",
    "ANRIND": "NRIND",
    "BNRIND": "NRIND",
    "LBNRIND": "NRIND",
    "DCSREAS": "NCOMPLT",
    "DSDECOD": "NCOMPLT",
    "ETIOLOGY": "ETIOLOGY",
}


def decode(var: str, code: str, own: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The printed label of ``code`` of variable ``var``: ``own`` (a study's ``category_labels``)
    first, then the codelist of ``var`` (:data:`VARIABLES`), else ``code`` as it is."""
    mine = (own or {}).get(var, {})
    if code in mine:
        return mine[code]
    return CODELISTS.get(VARIABLES.get(var, ""), {}).get(code, code)


def label(study, var: str, code: str) -> str:
    """:func:`decode` with the study's config ``category_labels`` (``study`` may be None)."""
    return decode(var, code, study.category_labels if study is not None else None)

"""The parameter table: every PARAMCD the pipeline knows, in one place.

A :class:`Param` gives a parameter's display label (tables, figures, reports), its ADaM ``PARAM``
text where the pipeline writes one (ADEFF, ADTTE; ADLB and ADQS take theirs from the source
data), its unit, its dataset, the decimals its data are recorded with (the formatting rules of
:mod:`hepatrial.tlf.format`) and, for a time-to-event parameter, how ADTTE derives it: the
sources of its event and its censoring and its competing causes (the admiral
``event_source``/``censor_source`` idea).

Adding a time-to-event endpoint whose event is a CE term (e.g. variceal bleeding) is one
:func:`ce_endpoint` row in :data:`TTE`; ADTTE, the survival analysis (KM, Cox, CIF), the tables,
the figures, the output catalogue and the study schema check read it from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hepatrial.contract import DECOMP_TERMS


@dataclass(frozen=True)
class Source:
    """Where an event or a censoring date comes from (admiral ``event_source``/``censor_source``).

    ``dataset`` ``adsl``: the ADSL date variable ``date``; ``ce``: the first CE record on or after
    the origin whose CEDECOD is one of ``terms`` (its date CESTDTC). ``desc`` is EVNTDESC (events)
    or CNSDTDSC (censoring); ``None`` for a CE event: the CE term itself.
    """

    dataset: str
    date: str
    desc: str | None = None
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cause:
    """A cause of a competing-risks (cumulative incidence) analysis: CRCODE of ADTTE, the suffix of
    its CIF paramcd (``""`` for the event of interest), its label in the CIF figure panels and in the
    CIF table (``None``: from the parameter)."""

    crcode: int
    suffix: str
    figure_label: str | None = None
    table_label: str | None = None


DEATH = Source("adsl", "DTHDT", "DEATH")
TRANSPLANT = Source("adsl", "LTXDT", "LIVER TRANSPLANT")
LAST_ALIVE = Source("adsl", "LSTALVDT", "LAST KNOWN ALIVE DATE")
# the event of interest, then death and transplant competing (whichever is first)
CE_CAUSES = (
    Cause(1, ""),
    Cause(2, "_DEATH", "Death", "death (competing)"),
    Cause(3, "_LTX", "Liver transplant", "liver transplant (competing)"),
)


@dataclass(frozen=True)
class Param:
    """One parameter. ``label``: display; ``param``: ADaM PARAM where the pipeline writes it."""

    paramcd: str
    label: str
    dataset: str
    unit: str = ""
    decimals: int | None = None
    param: str | None = None
    # time-to-event only
    kind: str | None = None  # "tfs" | "os" | "ce"
    events: tuple[Source, ...] = ()
    censor: tuple[Source, ...] = ()
    causes: tuple[Cause, ...] = ()
    event_label: str | None = None  # lower-case name of the event (CIF table)
    cif_labels: dict = field(default_factory=dict, compare=False)

    @property
    def is_tte(self) -> bool:
        return self.kind is not None

    @property
    def has_cif(self) -> bool:
        """Competing events: a cumulative incidence analysis (every TTE parameter but OS)."""
        return bool(self.causes)

    def cif_paramcds(self) -> dict[int, str]:
        """CRCODE -> CIF paramcd (``DECOMP_DEATH``)."""
        return {c.crcode: self.paramcd + c.suffix for c in self.causes}

    def ce_terms(self) -> tuple[str, ...]:
        return tuple(t for s in self.events if s.dataset == "ce" for t in s.terms)


def ce_endpoint(
    paramcd: str, label: str, param: str, event_label: str, terms: tuple[str, ...]
) -> Param:
    """A time to the first CE event among ``terms``, death and transplant competing."""
    return Param(
        paramcd,
        label,
        "adtte",
        "days",
        param=param,
        kind="ce",
        events=(Source("ce", "CESTDTC", None, terms),),
        censor=(LAST_ALIVE,),
        causes=CE_CAUSES,
        event_label=event_label,
    )


# --- time-to-event (ADTTE), in the default order of the study schema -------------------------------
TTE: tuple[Param, ...] = (
    Param(
        "TFS",
        "Transplant-free survival",
        "adtte",
        "days",
        param="Transplant-free survival (days)",
        kind="tfs",
        events=(DEATH, TRANSPLANT),
        censor=(LAST_ALIVE,),
        causes=(
            Cause(2, "_DEATH", "Death without transplant"),
            Cause(3, "_LTX", "Liver transplant"),
        ),
        cif_labels={
            "_DEATH": "Transplant-free survival: death without transplant",
            "_LTX": "Transplant-free survival: liver transplant",
        },
    ),
    Param(
        "OS",
        "Overall survival",
        "adtte",
        "days",
        param="Overall survival (days)",
        kind="os",
        events=(DEATH,),
        censor=(LAST_ALIVE,),
    ),  # transplant censors when os_censor_at_transplant
    ce_endpoint(
        "DECOMP",
        "Time to first new decompensation",
        "Time to first new decompensation event (days)",
        "new decompensation",
        DECOMP_TERMS,
    ),
    ce_endpoint(
        "HCC",
        "Time to hepatocellular carcinoma",
        "Time to hepatocellular carcinoma (days)",
        "hepatocellular carcinoma",
        ("HEPATOCELLULAR CARCINOMA",),
    ),
    ce_endpoint(
        "LIVFAIL",
        "Time to liver failure",
        "Time to liver failure (days)",
        "liver failure",
        ("LIVER FAILURE", "ACUTE-ON-CHRONIC LIVER FAILURE"),
    ),
    # available to a study (endpoints.tte); not in the schema's default list
    ce_endpoint(
        "VARBLEED",
        "Time to variceal bleeding",
        "Time to first variceal bleeding (days)",
        "variceal bleeding",
        ("VARICEAL BLEEDING",),
    ),
    # each decompensation event on its own (beside the composite DECOMP), death and transplant competing
    ce_endpoint(
        "ASCEVENT", "Time to ascites", "Time to first new ascites (days)", "ascites", ("ASCITES",)
    ),
    ce_endpoint(
        "HEEVENT",
        "Time to hepatic encephalopathy",
        "Time to first hepatic encephalopathy (days)",
        "hepatic encephalopathy",
        ("HEPATIC ENCEPHALOPATHY",),
    ),
    ce_endpoint(
        "SBPEVENT",
        "Time to spontaneous bacterial peritonitis",
        "Time to first spontaneous bacterial peritonitis (days)",
        "spontaneous bacterial peritonitis",
        ("SPONTANEOUS BACTERIAL PERITONITIS",),
    ),
    ce_endpoint(
        "HRSEVENT",
        "Time to hepatorenal syndrome",
        "Time to first hepatorenal syndrome (days)",
        "hepatorenal syndrome",
        ("HEPATORENAL SYNDROME",),
    ),
)
TTE_DEFAULT = ("TFS", "OS", "DECOMP", "HCC", "LIVFAIL")


def _p(paramcd, label, dataset, decimals=None, unit="", param=None):
    return Param(paramcd, label, dataset, unit, decimals, param)


# --- BDS parameters (ADEFF scores, ADLB labs, ADQS questionnaires) ---------------------------------
BDS: tuple[Param, ...] = (
    # ADEFF: the scores (ADaM PARAM written by adam.adeff)
    _p("MELD", "MELD (UNOS)", "adeff", 0, param="MELD (UNOS, pre-2016)"),
    # decimals by the study's scores.meld_kamath.integer (declared_decimals): an integer, or not
    _p("MELDKAM", "MELD (Kamath)", "adeff", param="MELD, Kamath 2001 (protocol form)"),
    _p("MELDNA", "MELD-Na", "adeff", 0, param="MELD-Na (OPTN 2016)"),
    _p("MELD3", "MELD 3.0", "adeff", 0, param="MELD 3.0 (Kim 2021)"),
    _p("CTPSCORE", "Child-Turcotte-Pugh score", "adeff", 0, param="Child-Turcotte-Pugh Score"),
    _p("CTPCLASS", "CTPCLASS", "adeff", 0, param="Child-Turcotte-Pugh Class"),
    _p("ASCITES", "ASCITES", "adeff", param="Ascites (RS)"),
    _p("HEGRADE", "HEGRADE", "adeff", param="Hepatic Encephalopathy Grade (West Haven)"),
    _p("ECOG", "ECOG", "adeff", param="ECOG Performance Status"),
    _p("SOFA", "SOFA", "adeff", param="SOFA Score (as recorded)"),
    _p("ISHAKF", "Ishak fibrosis stage", "adeff", param="Ishak Fibrosis Stage"),
    _p("ISHAKI", "Ishak inflammation grade", "adeff", param="Ishak Inflammation Grade"),
    _p("CTPSITE", "CTPSITE", "adeff", param="CTP Score as Recorded by the Site"),
    _p("MELDSITE", "MELDSITE", "adeff", param="MELD as Recorded by the Site"),
    # ADLB: standard units (labs recorded with these decimals)
    _p("BILI", "Total bilirubin (umol/L)", "adlb", 1, "umol/L"),
    _p("ALB", "Albumin (g/L)", "adlb", 1, "g/L"),
    _p("INR", "INR", "adlb", 2),
    _p("CREAT", "Creatinine (umol/L)", "adlb", 1, "umol/L"),
    _p("SODIUM", "Sodium (mmol/L)", "adlb", 1, "mmol/L"),
    _p("PT", "PT", "adlb", 1, "s"),
    _p("IGA", "Immunoglobulin A (g/L)", "adlb", 2, "g/L"),
    _p("IGG", "Immunoglobulin G (g/L)", "adlb", 2, "g/L"),
    _p("IGM", "Immunoglobulin M (g/L)", "adlb", 2, "g/L"),
    _p("ALT", "Alanine aminotransferase (U/L)", "adlb", 0, "U/L"),
    _p("AST", "Aspartate aminotransferase (U/L)", "adlb", 0, "U/L"),
    _p("PLAT", "Platelets (10^9/L)", "adlb", 0, "10^9/L"),
    _p("WBC", "White blood cells (10^9/L)", "adlb", 2, "10^9/L"),
    _p("AFP", "Alpha-fetoprotein (ng/mL)", "adlb", 2, "ng/mL"),
    _p("HGB", "Haemoglobin (g/L)", "adlb", 0, "g/L"),
    _p("GGT", "Gamma-glutamyltransferase (U/L)", "adlb", 0, "U/L"),
    _p("ALP", "Alkaline phosphatase (U/L)", "adlb", 0, "U/L"),
    _p("CHE", "Cholinesterase (U/L)", "adlb", 0, "U/L"),
    _p("PTACT", "Prothrombin activity (%)", "adlb", 0, "%"),
    _p("HBVDNA", "HBV DNA (IU/mL)", "adlb", 0, "IU/mL"),
    # the HBV-ACLF NK-cell panel, % of NK cells (CD3-CD56+) expressing the marker
    _p("KIR2DL1", "NK cells KIR2DL1+ (%)", "adlb", 1, "%"),
    _p("KIR2DL3", "NK cells KIR2DL3+ (%)", "adlb", 1, "%"),
    _p("KIR3DL1", "NK cells KIR3DL1+ (%)", "adlb", 1, "%"),
    _p("NKG2A", "NK cells NKG2A+ (%)", "adlb", 1, "%"),
    _p("NKG2D", "NK cells NKG2D+ (%)", "adlb", 1, "%"),
    _p("NKP46", "NK cells NKp46+ (%)", "adlb", 1, "%"),
    _p("PERF", "NK cells perforin+ (%)", "adlb", 1, "%"),
    _p("GZMB", "NK cells granzyme B+ (%)", "adlb", 1, "%"),
    _p("FASL", "NK cells FasL+ (%)", "adlb", 1, "%"),
    # derived by ADLB (labs.log10): log10 of the value, a value below the LLOQ as labs.below_lloq sets it
    _p("LHBVDNA", "HBV DNA (log10 IU/mL)", "adlb", 2, "log10 IU/mL", param="HBV DNA (log10 IU/mL)"),
    # ADQS: CLDQ (item means 1-7), EQ-5D-5L, RAND-36 (SF-36) scales 0-100
    _p("CLDQOVR", "CLDQ overall score", "adqs", 1),
    _p("CLDQAS", "CLDQ abdominal symptoms", "adqs", 1),
    _p("CLDQFA", "CLDQ fatigue", "adqs", 1),
    _p("CLDQSY", "CLDQ systemic symptoms", "adqs", 1),
    _p("CLDQAC", "CLDQ activity", "adqs", 1),
    _p("CLDQEM", "CLDQ emotional function", "adqs", 1),
    _p("CLDQWO", "CLDQ worry", "adqs", 1),
    _p("CLDQSUM", "CLDQ total (sum of items)", "adqs", 0),
    _p("EQ5DIDX", "EQ-5D-5L index", "adqs", 3),
    _p("EQ5DVAS", "EQ-5D-5L VAS", "adqs", 0),
    _p("SFPF", "SF-36 physical functioning", "adqs", 1),
    _p("SFRP", "SF-36 role limitations (physical)", "adqs", 1),
    _p("SFPN", "SF-36 pain", "adqs", 1),
    _p("SFGH", "SF-36 general health", "adqs", 1),
    _p("SFEF", "SF-36 energy/fatigue", "adqs", 1),
    _p("SFSF", "SF-36 social functioning", "adqs", 1),
    _p("SFRE", "SF-36 role limitations (emotional)", "adqs", 1),
    _p("SFEW", "SF-36 emotional well-being", "adqs", 1),
    _p("SFHC", "SF-36 health change", "adqs", 0),
    _p(
        "SFPCS",
        "SF-36 physical component summary",
        "adqs",
        1,
        param="SF-36 Physical Component Summary (US 1990 norms)",
    ),
    _p(
        "SFMCS",
        "SF-36 mental component summary",
        "adqs",
        1,
        param="SF-36 Mental Component Summary (US 1990 norms)",
    ),
)
# ADSL variables summarised like parameters (baseline table): their decimals
ADSL_VARS: tuple[Param, ...] = (
    _p("AGE", "Age (years)", "adsl", 0),
    _p("BLMELD", "MELD at baseline", "adsl", 0),
    _p("BLCTPS", "CTP score at baseline", "adsl", 0),
    _p("NINFUS", "Infusions received", "adsl", 0),
)
# Display labels of CIF sub-parameters that tables and reports name on their own (the ARD paramcd of
# a competing cause). Only these three have one today; the others show their code (kept so that the
# outputs do not change).
CIF_PARAM_LABELS = {
    "TFS_DEATH": "Death without transplant",
    "TFS_LTX": "Liver transplant",
    "DECOMP_DEATH": "Death (competing)",
}

PARAMS: dict[str, Param] = {p.paramcd: p for p in (*BDS, *TTE)}
_DISPLAY_ONLY_CODE = {
    "CTPCLASS",
    "ASCITES",
    "HEGRADE",
    "ECOG",
    "SOFA",
    "CTPSITE",
    "MELDSITE",
    "PT",
}


def tte_param(paramcd: str) -> Param:
    """The time-to-event parameter ``paramcd`` (KeyError naming the known ones)."""
    p = PARAMS.get(paramcd)
    if p is None or not p.is_tte:
        raise KeyError(f"{paramcd!r} is not a time-to-event parameter; known: {tte_paramcds()}")
    return p


def tte_paramcds() -> list[str]:
    return [p.paramcd for p in TTE]


def display_labels() -> dict[str, str]:
    """PARAMCD -> display label (tables, figures, reports); a code without one shows the code."""
    out = {p.paramcd: p.label for p in (*BDS, *TTE) if p.paramcd not in _DISPLAY_ONLY_CODE}
    out.update(CIF_PARAM_LABELS)
    return out


def adam_param_labels(dataset: str) -> dict[str, str]:
    """PARAMCD -> ADaM PARAM of the parameters of ``dataset`` whose PARAM the pipeline writes."""
    return {p.paramcd: p.param for p in PARAMS.values() if p.dataset == dataset and p.param}


def data_decimals() -> dict[str, int]:
    """PARAMCD (or ADSL variable) -> decimals the data are recorded with, as the table declares
    them (study-independent; :func:`declared_decimals` adds the study's own)."""
    return {p.paramcd: p.decimals for p in (*ADSL_VARS, *BDS) if p.decimals is not None}


# A score the study computes unrounded (MELDKAM with scores.meld_kamath.integer: none) has no
# recorded precision: shown with this many decimals, as the questionnaire scales (docs/tlf.md).
UNROUNDED_DECIMALS = 1
# The most decimals a parameter outside the table takes from its recorded results.
RECORDED_DECIMALS_CAP = 3


def declared_decimals(study=None) -> dict[str, int]:
    """PARAMCD (or ADSL variable) -> decimals known without looking at the data: the table
    (:func:`data_decimals`), and what the study's scoring settings make them: MELDKAM an integer
    (0) when ``scores.meld_kamath.integer`` rounds or truncates, else unrounded
    (:data:`UNROUNDED_DECIMALS`); BLMELD (ADSL, the baseline of ``scores.meld_primary``) those of
    the primary MELD. A parameter in neither takes its recorded precision
    (:func:`recorded_decimals`, the ARD ``DECIMALS`` rows), else the formatting default."""
    out = data_decimals()
    if study is not None:
        integer = study.scores.meld_kamath.integer
        out["MELDKAM"] = 0 if integer in ("round", "truncate") else UNROUNDED_DECIMALS
        out["BLMELD"] = out.get(study.scores.meld_primary, out["BLMELD"])
    return out


def recorded_decimals(texts, cap: int = RECORDED_DECIMALS_CAP) -> int | None:
    """The most decimals among results recorded as text (``"20.25"`` -> 2, ``"35"`` -> 0;
    ``"<20"``, ``"NEG"`` and empty are not numbers and count for nothing), at most ``cap``;
    None when no text is a number."""
    best = None
    for text in texts:
        if text is None:
            continue
        t = str(text).strip()
        try:
            x = float(t)
        except ValueError:
            continue
        if not math.isfinite(x):
            continue
        mantissa = t.lower().split("e")[0]
        d = len(mantissa.split(".")[1]) if "." in mantissa else 0
        if "e" in t.lower():  # 1.5e-3: the decimals the number has written out
            d = max(d - int(t.lower().split("e")[1]), 0)
        best = max(best or 0, d)
    return None if best is None else min(best, cap)


def label(paramcd: str) -> str:
    return display_labels().get(paramcd, paramcd)


def cif_label(paramcd: str) -> str:
    """Row group of a CIF paramcd in the CIF table: ``DECOMP`` -> "New decompensation",
    ``DECOMP_DEATH`` -> "New decompensation: death (competing)", ``TFS_LTX`` -> "Transplant-free
    survival: liver transplant"."""
    for p in TTE:
        for c in p.causes:
            if paramcd != p.paramcd + c.suffix:
                continue
            if c.suffix in p.cif_labels:
                return p.cif_labels[c.suffix]
            main = (p.event_label or p.paramcd).capitalize()
            return main if not c.suffix else f"{main}: {c.table_label}"
    return paramcd.capitalize()


def cause_labels(paramcd: str) -> dict[int, str]:
    """CRCODE -> label of each cause of ``paramcd`` in the CIF figure (the event of interest: the
    parameter's label without "Time to ")."""
    p = tte_param(paramcd)
    return {
        c.crcode: c.figure_label or p.label.replace("Time to ", "").capitalize() for c in p.causes
    }


def cif_order(paramcd: str, tte: list[str] | tuple[str, ...]) -> tuple:
    """Sort key of a CIF paramcd: the study's TTE order, then the causes' order."""
    for p in TTE:
        for i, c in enumerate(p.causes):
            if paramcd == p.paramcd + c.suffix:
                return (tte.index(p.paramcd) if p.paramcd in tte else 99, i, paramcd)
    return (99, 9, paramcd)

"""define.xml 2.1 of the ADaM datasets, and the analysis results metadata (JSON) of the tables.

``define.xml`` (CDISC Define-XML 2.1.0 on ODM 1.3.2): one ``ItemGroupDef`` per dataset (label,
structure, class, keys, the XPT file), one ``ItemDef`` per variable (label, data type, length or
significant digits, display format of dates, origin: predecessor SDTM variable, assigned or
derived), a ``CodeList`` for each text variable with few values (the values present), a
``MethodDef`` with the derivation text of each derived variable. Validated in the tests against
the CDISC Define-XML 2.1 schema (shipped by the ``defineutils`` package).

``arm.json``: for each summary table, its number, title, population, the ARD analyses it reads and
the key of every ARD row it shows (recorded while the table is built: the table reads nothing else).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import polars as pl

import hepatrial
from hepatrial import stamp
from hepatrial.adam.io import LABELS
from hepatrial.contract import ADAM_SUBJECT_VARS
from hepatrial.spec import Study

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
DATASETS = {  # name: (label, class, structure, keys)
    "adsl": (
        "Subject-Level Analysis Dataset",
        "SUBJECT LEVEL ANALYSIS DATASET",
        "One record per subject",
        ["STUDYID", "USUBJID"],
    ),
    "adlb": (
        "Laboratory Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per analysis visit",
        ["STUDYID", "USUBJID", "PARAMCD", "AVISITN", "ADT"],
    ),
    "adeff": (
        "Liver Scores Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per analysis visit",
        ["STUDYID", "USUBJID", "PARAMCD", "AVISITN", "ADT"],
    ),
    "adqs": (
        "Questionnaire Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per analysis visit",
        ["STUDYID", "USUBJID", "PARAMCD", "AVISITN", "ADT"],
    ),
    "adtte": (
        "Time-to-Event Analysis Dataset",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter",
        ["STUDYID", "USUBJID", "PARAMCD"],
    ),
    "adae": (
        "Adverse Events Analysis Dataset",
        "OCCURRENCE DATA STRUCTURE",
        "One record per adverse event",
        ["STUDYID", "USUBJID", "AEDECOD", "ASTDT"],
    ),
    "adce": (
        "Clinical Events Analysis Dataset",
        "OCCURRENCE DATA STRUCTURE",
        "One record per clinical event",
        ["STUDYID", "USUBJID", "CECAT", "ASTDT"],
    ),
}
# Variables copied from SDTM (origin Predecessor): ADaM name -> SDTM variable.
PREDECESSOR = {
    "STUDYID": "DM.STUDYID",
    "USUBJID": "DM.USUBJID",
    "SUBJID": "DM.SUBJID",
    "SITEID": "DM.SITEID",
    "ARM": "DM.ARM",
    "ACTARM": "DM.ACTARM",
    "AGE": "DM.AGE",
    "SEX": "DM.SEX",
    "RACE": "DM.RACE",
    "COUNTRY": "DM.COUNTRY",
    "AETERM": "AE.AETERM",
    "AEDECOD": "AE.AEDECOD",
    "AEBODSYS": "AE.AEBODSYS",
    "AESER": "AE.AESER",
    "AEOUT": "AE.AEOUT",
    "AESEV": "AE.AESEV",
    "AETOXGR": "AE.AETOXGR",
    "CTPSTRAT": "DM.CTPSTRAT",
    "ETIOLOGY": "DM.ETIOLOGY",
    "CETERM": "CE.CETERM",
    "CEDECOD": "CE.CEDECOD",
}
ASSIGNED = {"PARAMCD", "PARAM", "SRCDOM", "SRCROW", "DMSRCROW", "EVNTDESC", "CNSDTDSC"}
# Derivation text of derived variables (the SAP's words); others: "derived: see the ADaM spec".
DERIVATION = {
    "TRT01P": "DM.ARM mapped to the study config's arm label (arms[].arm -> arms[].label).",
    "TRT01A": "DM.ACTARM mapped to the arm label; missing for subjects not treated.",
    "TRT01PN": "Position of TRT01P in the study config's arms (1-based) or arms[].code.",
    "TRT01AN": "Position of TRT01A in the study config's arms (1-based) or arms[].code.",
    "ITTFL": "Y if the subject was randomised (DM.ARM is a study arm), otherwise N.",
    "SAFFL": "Y if the subject received at least one infusion (EX), otherwise N.",
    "PPFL": "Y if in ITT with no major protocol deviation and all planned infusions, otherwise N.",
    "RANDDT": "Date of randomisation (DS RANDOMIZED, else DM.RFSTDTC).",
    "TRTSDT": "Date of the first infusion (min EX.EXSTDTC).",
    "TRTEDT": "Date of the last infusion (max EX.EXSTDTC).",
    "NINFUS": "Number of EX records with a dose, up to the data cut.",
    "ADT": "Date part of the collection date of the source record.",
    "ADY": "ADT - TRTSDT + 1 if ADT >= TRTSDT, else ADT - TRTSDT.",
    "AVAL": "The standardised numeric result of the source record (units harmonised at ingest).",
    "AVISIT": "Analysis visit whose window (study config visits[].window, study days) holds ADY.",
    "AVISITN": "Week number of AVISIT (visits[].avisitn).",
    "ABLFL": "Y on the last non-missing value on or before day 1 (the baseline record).",
    "BASE": "AVAL of the baseline record (ABLFL = Y) of the subject and parameter.",
    "CHG": "AVAL - BASE for post-baseline records.",
    "PCHG": "100 * (AVAL - BASE) / BASE for post-baseline records with BASE not 0.",
    "ANL01FL": "Y on the record analysed for the visit: the one closest to the window's target day "
    "(the earlier on a tie).",
    "CNSR": "0 if the event occurred up to the data cut, otherwise 1 (censored).",
    "STARTDT": "RANDDT (the origin of the time-to-event analyses).",
    "TRTEMFL": "Y if ASTDT is on or after TRTSDT and at most ae.followup_days after TRTEDT.",
    "ASTDT": "AE.AESTDTC as a date; a partial date imputed as in the ADaM rules (ASTDTF).",
    "AENDT": "AE.AEENDTC as a date; a partial date imputed (AENDTF).",
    "ATOXGR": "AE.AETOXGR as a number.",
    "AREL": "N if AE.AEREL is a not-related term (NOT RELATED, UNLIKELY, ...), otherwise Y: related "
    "terms, other values and, when other AEs have a relatedness, no value (conservative); empty when "
    "no AE has a relatedness.",
    "FATALFL": "Y if AE.AEOUT is FATAL or ATOXGR is 5, otherwise N.",
    "DTHFL": "Y if the subject died (DM.DTHFL or a death in DS) up to the data cut.",
    "DTHDT": "DM.DTHDTC as a date; partial dates imputed (DTHDTF).",
    "EOSSTT": "COMPLETED, DISCONTINUED or ONGOING at the data cut from DS.",
    "DCUTDT": "The data cut date of the run.",
}
# Value-level metadata: the BDS datasets whose AVAL means one thing per PARAMCD (type, unit,
# significant digits). ADLB's PARAM ends with the standardised unit in brackets (adam/adlb.py); the
# scores of ADEFF and ADQS have none.
VLM_DATASETS = ("adlb", "adeff", "adqs")
VLM_VARIABLES = ("AVAL",)
UNIT_IN_PARAM = {"adlb"}
_UNIT = re.compile(r"\(([^()]+)\)$")
ARD_KEY = ("analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat")
CODELIST_MAX = 30  # a text variable with at most this many distinct values gets a codelist
DECIMALS_MAX = 8  # SignificantDigits of a float variable: the most decimals present, at most this


def _text(s: str) -> str:
    return f'<TranslatedText xml:lang="en">{escape(s)}</TranslatedText>'


def _oid(*parts: str) -> str:
    return ".".join(p.replace(" ", "_") for p in parts)


def _datatype(dtype: pl.DataType) -> str:
    if dtype == pl.Date:
        return "integer"  # SAS date, DATE9.
    if dtype.is_integer() or dtype == pl.Boolean:
        return "integer"
    if dtype.is_float():
        return "float"
    return "text"


def _length(s: pl.Series, dtype: str) -> tuple[int, int | None]:
    """(Length, SignificantDigits): text = longest value in bytes; integer = digits; float = 8
    (SAS numeric) and the most decimals present (at most 8)."""
    if dtype == "text":
        lens = s.cast(pl.Utf8).drop_nulls().str.len_bytes()
        return max(int(lens.max() or 1), 1) if lens.len() else 1, None
    if s.dtype == pl.Date:
        return 8, None
    if dtype == "integer":
        vals = s.cast(pl.Int64, strict=False).drop_nulls()
        if not vals.len():
            return 1, None
        # the digits of the value farthest from 0 (Python ints: no overflow at the Int64 minimum)
        return max(len(str(abs(int(v)))) for v in (vals.min(), vals.max())), None
    vals = s.cast(pl.Float64).drop_nulls()
    vals = vals.filter(vals.is_finite())
    decimals = _decimals(vals.head(5000))  # most columns reach the cap in their first values
    if decimals < DECIMALS_MAX:
        decimals = max(decimals, _decimals(vals.unique()))
    return 8, min(decimals, DECIMALS_MAX) or 1


def _decimals(vals: pl.Series) -> int:
    """The most decimals among ``vals`` (finite floats), each value written in its shortest
    round-trip digits (as Python's ``repr``); a value written with an exponent counts 0."""
    if not vals.len():
        return 0
    text = pl.col("v").cast(pl.Utf8)
    digits = text.str.extract(r"\.(\d*?)0*$", 1).str.len_chars().fill_null(0)
    most = pl.DataFrame({"v": vals}).select(
        pl.when(text.str.contains("e", literal=True)).then(0).otherwise(digits).max()
    )
    return int(most.item() or 0)


def _few_values(s: pl.Series) -> list[str]:
    """The distinct values of ``s`` (sorted) if there are at most :data:`CODELIST_MAX`, otherwise
    none. A column whose first rows already hold more is not scanned whole."""
    s = s.cast(pl.Utf8).drop_nulls()
    if s.head(10_000).n_unique() > CODELIST_MAX:
        return []
    distinct = s.unique()
    return sorted(distinct.to_list()) if distinct.len() <= CODELIST_MAX else []


# A cut of ADaM datasets (hepatrial.adam.entry): what the pipeline adds to the sponsor's datasets.
ENTRY_DERIVATION = {
    "ARM": "The study config's arms[].arm of TRT01P (the sponsor's ADSL had no ARM).",
    "ACTARM": "The study config's arms[].arm of TRT01A (the sponsor's ADSL had no ACTARM).",
    "TRT01A": "TRT01P (the sponsor's ADSL had no TRT01A).",
    "DTHFL": "Y if DTHDT is present (the sponsor's ADSL had no DTHFL).",
    "ENRLFL": "Y if TRT01P is an arm of the study config, otherwise N.",
    "ORIGDT": "RANDDT, else TRTSDT (the study config's origin); the sponsor's ORIGDT when given.",
    "ADY": "ADT - ORIGDT + 1 if ADT >= ORIGDT, else ADT - ORIGDT.",
    "PCHG": "100 * CHG / BASE when BASE is not 0.",
    "CRCODE": "1 if CNSR = 0 (an event), otherwise 0: the sponsor's ADTTE has no competing causes.",
    "AWTARGET": "Target day of AVISIT (study config visits[].target_day).",
    "AWTDIFF": "ADY - AWTARGET.",
}


def _entry_origin(up: str, col: str, delivered: Mapping[str, set[str]]) -> tuple[str, str | None]:
    """(Origin element, derivation text or None) of ``col`` of dataset ``up`` in a cut of ADaM
    datasets: the sponsor's variable (Predecessor), one taken from ADSL, or the pipeline's."""
    # a record's subject variables come from ADSL (its own copies were replaced)
    src = "ADSL" if up != "ADSL" and col in ADAM_SUBJECT_VARS else up
    if col not in delivered.get(src, ()):
        return '<def:Origin Type="Derived"/>', ENTRY_DERIVATION.get(col, DERIVATION.get(col))
    src = f"{src}.{col}"
    text = f"{src} of the sponsor's ADaM datasets (a cut of ADaM datasets)"
    return (
        f'<def:Origin Type="Predecessor"><Description>{_text(text)}</Description></def:Origin>',
        None,
    )


def _origin(name: str) -> str:
    if name in PREDECESSOR:
        return (
            f'<def:Origin Type="Predecessor"><Description>{_text(PREDECESSOR[name])}'
            f"</Description></def:Origin>"
        )
    if name in ASSIGNED:
        return '<def:Origin Type="Assigned"/>'
    return '<def:Origin Type="Derived"/>'


def _param_unit(param: str | None) -> str:
    m = _UNIT.search(param or "")
    return m.group(1).strip() if m else ""


def value_level(name: str, df: pl.DataFrame) -> list[dict]:
    """Value-level metadata of ``df`` (BDS dataset ``name``): per variable of
    :data:`VLM_VARIABLES` and PARAMCD (sorted), the parameter label, data type, length, significant
    digits and unit of that parameter's values."""
    if name not in VLM_DATASETS or "PARAMCD" not in df.columns:
        return []
    out = []
    # the columns it reads only (``df`` may be a dataset read a column at a time: ParquetColumns)
    df = pl.DataFrame({c: df[c] for c in ("PARAMCD", "PARAM", *VLM_VARIABLES) if c in df.columns})
    label = pl.col("PARAM") if "PARAM" in df.columns else pl.col("PARAMCD").alias("PARAM")
    params = (
        df.select("PARAMCD", label)
        .drop_nulls("PARAMCD")
        .unique("PARAMCD", keep="first")
        .sort("PARAMCD")
    )
    for col in VLM_VARIABLES:
        if col not in df.columns:
            continue
        for paramcd, param in params.iter_rows():
            s = df.filter(pl.col("PARAMCD") == paramcd)[col]
            vals = s.drop_nulls()
            if vals.dtype.is_float():
                vals = vals.filter(vals.is_finite())
            integral = vals.len() > 0 and bool((vals == vals.round(0)).all())
            dt = "integer" if integral and s.dtype.is_numeric() else _datatype(s.dtype)
            length, digits = _length(
                vals.cast(pl.Int64) if dt == "integer" and s.dtype.is_float() else s, dt
            )
            out.append(
                {
                    "variable": col,
                    "paramcd": paramcd,
                    "param": param or paramcd,
                    "type": dt,
                    "length": length,
                    "digits": digits,
                    "unit": _param_unit(param) if name in UNIT_IN_PARAM else "",
                }
            )
    return out


def define_xml(
    datasets: Mapping[str, pl.DataFrame],
    study: Study,
    cut: str,
    created: str = "2000-01-01T00:00:00",
    delivered: Mapping[str, set[str]] | None = None,
) -> str:
    """The define.xml text of ``datasets`` (name -> frame; the XPT is ``<name>.xpt``). ``created``
    is the CreationDateTime (the data cut by default, so that reruns are byte-identical).
    ``delivered``: a cut of ADaM datasets, dataset (upper case) -> the sponsor's variables, whose
    origin is the sponsor's dataset."""
    sid = study.id
    groups, items, codelists, methods = [], [], [], []
    valuelists, whereclauses, units = [], [], {}
    for name, df in datasets.items():
        up = name.upper()
        vlm: dict[str, list[dict]] = {}
        for v in value_level(name, df):
            vlm.setdefault(v["variable"], []).append(v)
        label, cls, structure, keys = DATASETS.get(name, (up, "BASIC DATA STRUCTURE", "", []))
        refs = []
        for i, col in enumerate(df.columns, start=1):
            dt = _datatype(df.schema[col])
            length, digits = _length(df[col], dt)
            oid = _oid("IT", up, col)
            mandatory = "Yes" if col in keys else "No"
            key = f' KeySequence="{keys.index(col) + 1}"' if col in keys else ""
            derived = col not in PREDECESSOR and col not in ASSIGNED
            origin, how = _origin(col), DERIVATION.get(col)
            if delivered is not None:
                origin, how = _entry_origin(up, col, delivered)
                derived = "Derived" in origin
            method = ""
            if derived:
                mid = _oid("MT", up, col)
                method = f' MethodOID="{mid}"'
                how = how or (
                    f"{LABELS.get(col, col)}: derived by hepatrial "
                    f"(workflow/hepatrial/adam/{name}.py)."
                )
                name_attr = quoteattr(f"Derivation of {up}.{col}")
                methods.append(
                    f'<MethodDef OID="{mid}" Name={name_attr}'
                    f' Type="Computation"><Description>{_text(how)}</Description>'
                    f"</MethodDef>"
                )
            refs.append(
                f'<ItemRef ItemOID="{oid}" OrderNumber="{i}" Mandatory="{mandatory}"{key}{method}/>'
            )
            attrs = (
                f'OID="{oid}" Name="{col}" SASFieldName="{col[:8]}" DataType="{dt}" '
                f'Length="{length}"'
            )
            if digits is not None:
                attrs += f' SignificantDigits="{digits}"'
            if df.schema[col] == pl.Date:
                attrs += ' def:DisplayFormat="DATE9."'
            cl = ""
            if dt == "text":
                values = _few_values(df[col])
                if values and col not in ("USUBJID", "SUBJID", "STUDYID"):
                    clid = _oid("CL", up, col)
                    cl = f'<CodeListRef CodeListOID="{clid}"/>'
                    enum = "".join(f"<EnumeratedItem CodedValue={quoteattr(v)}/>" for v in values)
                    codelists.append(
                        f'<CodeList OID="{clid}" Name={quoteattr(f"{up}.{col}")} '
                        f'DataType="text">{enum}</CodeList>'
                    )
            vl = ""
            if col in vlm:
                vl = f'<def:ValueListRef ValueListOID="{_oid("VL", up, col)}"/>'
                valuelists.append(
                    _value_list(up, col, vlm[col], method, units, items, whereclauses)
                )
            items.append(
                f"<ItemDef {attrs}><Description>{_text(LABELS.get(col, col)[:40])}"
                f"</Description>{cl}{origin}{vl}</ItemDef>"
            )
        groups.append(
            f'<ItemGroupDef OID="IG.{up}" Name="{up}" SASDatasetName="{up}" Repeating='
            f'"{"No" if name == "adsl" else "Yes"}" IsReferenceData="No" Purpose="Analysis" '
            f'def:Structure={quoteattr(structure)} def:StandardOID="STD.ADAMIG" '
            f'def:ArchiveLocationID="LF.{up}"><Description>{_text(label)}</Description>'
            + "".join(refs)
            + f'<def:Class Name="{cls}"/><def:leaf ID="LF.{up}" xlink:href="{name}.xpt">'
            f"<def:title>{name}.xpt</def:title></def:leaf></ItemGroupDef>"
        )
    title = study.title or sid
    description = f"ADaM datasets of {sid} at the data cut {cut}"
    comment = ""
    if stamp.active():  # a blinded run: the datasets hold the dummy arms
        title, description = f"{stamp.DUMMY_STAMP}: {title}", f"{stamp.DUMMY_STAMP}: {description}"
        comment = f"<!-- {stamp.DUMMY_STAMP} -->\n"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + comment
        + f'<ODM xmlns="{ODM_NS}" xmlns:def="{DEF_NS}" xmlns:xlink="{XLINK_NS}" '
        f'FileType="Snapshot" FileOID={quoteattr(f"DEFINE.{sid}.{cut}")} ODMVersion="1.3.2" '
        f'CreationDateTime="{created}" Originator="hepatrial" SourceSystem="hepatrial" '
        f'SourceSystemVersion="{hepatrial.__version__}" def:Context="Submission">'
        f"<Study OID={quoteattr(f'STUDY.{sid}')}><GlobalVariables>"
        f"<StudyName>{escape(sid)}</StudyName><StudyDescription>{escape(title)}</StudyDescription>"
        f"<ProtocolName>{escape(sid)}</ProtocolName></GlobalVariables>"
        + _basic_definitions(units)
        + f"<MetaDataVersion OID={quoteattr(f'MDV.{sid}.{cut}')} "
        f"Name={quoteattr(f'{sid} ADaM, data cut {cut}')} "
        f"Description={quoteattr(description)} "
        'def:DefineVersion="2.1.0">'
        '<def:Standards><def:Standard OID="STD.ADAMIG" Name="ADaMIG" Type="IG" Version="1.3" '
        'Status="Final"/></def:Standards>'
        + "".join(valuelists)
        + "".join(whereclauses)
        + "".join(groups)
        + "".join(items)
        + "".join(codelists)
        + "".join(methods)
        + "</MetaDataVersion></Study></ODM>\n"
    )


def _value_list(
    up: str,
    col: str,
    rows: list[dict],
    method: str,
    units: dict[str, str],
    items: list[str],
    whereclauses: list[str],
) -> str:
    """The ``def:ValueListDef`` of ``up.col``: one ItemRef per parameter with its where-clause
    (PARAMCD EQ value); appends the value-level ItemDefs and WhereClauseDefs, and collects the units
    (``units``: unit -> MeasurementUnit OID)."""
    refs = []
    for i, v in enumerate(rows, start=1):
        key = _oid(up, col, v["paramcd"])
        iid, wid = f"IT.{key}", f"WC.{key}"
        refs.append(
            f'<ItemRef ItemOID={quoteattr(iid)} OrderNumber="{i}" Mandatory="No"{method}>'
            f"<def:WhereClauseRef WhereClauseOID={quoteattr(wid)}/></ItemRef>"
        )
        whereclauses.append(
            f'<def:WhereClauseDef OID={quoteattr(wid)}><RangeCheck SoftHard="Soft" '
            f'def:ItemOID="{_oid("IT", up, "PARAMCD")}" Comparator="EQ">'
            f"<CheckValue>{escape(v['paramcd'])}</CheckValue></RangeCheck></def:WhereClauseDef>"
        )
        attrs = f'OID={quoteattr(iid)} Name="{col}" SASFieldName="{col[:8]}" DataType="{v["type"]}" Length="{v["length"]}"'
        if v["digits"] is not None:
            attrs += f' SignificantDigits="{v["digits"]}"'
        unit = ""
        if v["unit"]:
            uid = units.setdefault(v["unit"], f"MU.{len(units) + 1}")
            unit = f'<MeasurementUnitRef MeasurementUnitOID="{uid}"/>'
        label = f"{v['param']}" + (
            f"; standardised unit {v['unit']}" if v["unit"] and v["unit"] not in v["param"] else ""
        )
        items.append(
            f"<ItemDef {attrs}><Description>{_text(label)}</Description>{unit}"
            f"{_origin(col)}</ItemDef>"
        )
    return f'<def:ValueListDef OID="{_oid("VL", up, col)}">{"".join(refs)}</def:ValueListDef>'


def _basic_definitions(units: dict[str, str]) -> str:
    """The measurement units of the value-level metadata (ODM BasicDefinitions), if any."""
    if not units:
        return ""
    mus = "".join(
        f'<MeasurementUnit OID="{oid}" Name={quoteattr(u)}><Symbol>{_text(u)}</Symbol>'
        "</MeasurementUnit>"
        for u, oid in units.items()
    )
    return f"<BasicDefinitions>{mus}</BasicDefinitions>"


class RecordingARD:
    """Wraps an :class:`~hepatrial.tlf.tables.ARD` and records the key of every row a table reads
    with ``get`` (the only way a table reads a value)."""

    def __init__(self, ard):
        self._ard = ard
        self.keys: set[tuple] = set()

    def __getattr__(self, name):
        return getattr(self._ard, name)

    def get(
        self, analysis, paramcd, arm, stat, population="ITT", avisit="", comparator="", time=None
    ):
        value = self._ard.get(analysis, paramcd, arm, stat, population, avisit, comparator, time)
        if value is not None:
            self.keys.add(
                (
                    analysis,
                    paramcd,
                    population,
                    arm,
                    comparator or "",
                    avisit or "",
                    None if time is None else float(time),
                    stat,
                )
            )
        return value

    def big_n(self, population, arm):
        return self.get("BIGN", "N", arm, "n", population)

    def header(self, population, total=True):
        from hepatrial.tlf.tables import ARD

        return ARD.header(self, population, total)  # type: ignore[arg-type]


FIT_OF = {
    "MMRM_LSMEAN": "MMRM_FIT",
    "MMRM_DIFF": "MMRM_FIT",
    "LMM_LSMEAN": "LMM_FIT",
    "LMM_DIFF": "LMM_FIT",
}
LOGLIK = {"reml_loglik": "REML", "ml_loglik": "ML"}


def model_fits(ard, rows: list[tuple]) -> list[dict]:
    """The fit statistics of each model behind ``rows`` (ARD keys read by one table), as the ARD
    holds them (MMRM_FIT / LMM_FIT rows of the parameter and population; nothing is refitted):
    covariance structure, estimation and df method and the model terms (from the rows' method
    text, as the mmrm step writes it: ``<covariance> <REML|ML> <df method>; <model>``), whether
    the fit converged, -2 log-likelihood (-2 x the ARD's ``reml_loglik``), AIC, subjects and
    observations, and the keys of the fit rows."""
    out = []
    for fit_analysis, paramcd, population in sorted(
        {(FIT_OF[k[0]], k[1], k[2]) for k in rows if k[0] in FIT_OF}
    ):
        fit = ard.rows(fit_analysis, paramcd=paramcd, population=population)
        if fit.height == 0:
            continue
        stat = {r["stat"]: r["value"] for r in fit.iter_rows(named=True)}
        method = next(iter(fit["method"].drop_nulls().unique().sort().to_list()), "") or ""
        rec = {
            "analysis": fit_analysis,
            "paramcd": paramcd,
            "population": population,
            "method": method,
            "converged": stat.get("converged") == 1,
        }
        head, _, model = method.partition("; ")
        words = head.split()
        if fit_analysis == "MMRM_FIT" and len(words) >= 3 and words[1] in ("REML", "ML"):
            rec |= {
                "covariance_structure": words[0],
                "estimation": words[1],
                "df_method": " ".join(words[2:]),
                "model": model,
            }
        elif method.startswith("not estimable"):
            rec["reason"] = method.partition(": ")[2]
        for key, est in LOGLIK.items():
            if stat.get(key) is not None:
                rec[f"minus2_{est.lower()}_loglik"] = -2.0 * stat[key]
        for key in ("aic", "n_subjects", "n_obs"):
            if stat.get(key) is not None:
                rec[key] = int(stat[key]) if key.startswith("n_") else stat[key]
        rec["ard_rows"] = [
            dict(
                zip(
                    ARD_KEY,
                    (
                        r["analysis"],
                        r["paramcd"],
                        r["population"],
                        r["arm"] or "",
                        r["comparator"] or "",
                        r["avisit"] or "",
                        r["time"],
                        r["stat"],
                    ),
                )
            )
            for r in fit.sort("stat").iter_rows(named=True)
        ]
        out.append(rec)
    return out


def analysis_results(ard, names: list[str], numbers: Mapping[str, str] | None = None) -> dict:
    """Analysis results metadata: per table (by name), its number, title, population, the ARD
    analyses it reads and the keys (analysis, paramcd, population, arm, comparator, avisit, time,
    stat) of the ARD rows behind its cells."""
    from hepatrial.tlf.tables import build_table

    out = []
    for name in names:
        rec = RecordingARD(ard)
        t = build_table(name, rec, "tlf_tables")  # type: ignore[arg-type]
        rows = sorted(rec.keys, key=lambda k: tuple("" if x is None else str(x) for x in k))
        entry = {
            "table": name,
            "number": (numbers or {}).get(name, ""),
            "title": t.title,
            "population": t.population,
            "analyses": sorted({k[0] for k in rows}),
            "n_ard_rows": len(rows),
            "ard_rows": [dict(zip(ARD_KEY, k)) for k in rows],
        }
        fits = model_fits(ard, rows)
        if fits:
            entry["model_fit"] = fits
        out.append(entry)
    return {"study": ard.study.id, "data_cut": ard.cut, "ard_key": list(ARD_KEY), "tables": out}


def write_define(
    adam_paths: Mapping[str, str],
    ard_path,
    study_path,
    cut: str,
    define_out,
    arm_out,
    tables: list[str],
    numbers: Mapping[str, str] | None = None,
    delivered_path=None,
) -> None:
    """The rule's entry point: define.xml of the ADaM datasets and arm.json of ``tables``.
    ``delivered_path``: a cut of ADaM datasets, its ``validation/adam_variables.csv``."""
    from hepatrial.spec import load as load_study
    from hepatrial.tlf.tables import ARD

    study = load_study(study_path)
    from hepatrial.parquet import ParquetColumns

    data = {
        name: ParquetColumns(p) for name, p in adam_paths.items()
    }  # a column at a time (issue 22)
    Path(define_out).parent.mkdir(parents=True, exist_ok=True)
    delivered = None
    if delivered_path:
        delivered = {}
        for ds, var in pl.read_csv(delivered_path).iter_rows():
            delivered.setdefault(ds, set()).add(var)
    text = define_xml(data, study, str(cut), f"{cut}T00:00:00", delivered)
    Path(define_out).write_text(text, encoding="utf-8")
    ard = ARD(pl.read_parquet(ard_path), study, str(cut))
    Path(arm_out).write_text(
        json.dumps(stamp.json_obj(analysis_results(ard, tables, numbers)), indent=1) + "\n",
        encoding="utf-8",
    )

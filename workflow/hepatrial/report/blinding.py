"""The blinding gate: what the open and the closed DSMB reports are allowed to receive.

Blinding by construction (docs/dsmb.md). The open report's rule never sees arm-level data: its
only inputs are the files :func:`build_open_inputs` writes, and those are built by **allow-list**
(named analyses, pooled rows, named columns), never by removing what looks like arm data:

- ``pooled_ard.parquet``: rows of the ARD with ``arm == "ALL"`` and no comparator, of the analyses
  in :data:`OPEN_ANALYSES` only (no efficacy analysis at all, not even pooled), without the
  ``arm`` and ``comparator`` columns;
- ``saes.parquet``, ``deaths.parquet``: the listings with the columns of :data:`OPEN_SAE_COLUMNS`
  and :data:`OPEN_DEATH_COLUMNS` (no arm, no treatment, no dose), sorted by subject and date;
- ``compare.parquet`` (when a previous cut is configured): pooled counts only.

Then :func:`assert_no_arm_information` scans every open file (column names and every text cell)
for arm variables, arm labels and DM arm values, and stops the run (:class:`BlindingError`) if it
finds one: the gate fails closed.

The closed report receives arm-level data with the arms coded (``Arm A``, ``Arm B``, ...) when
``masked_dsmb`` is true: codes are assigned by a hash of study id and label (not the config
order, so "A" is not "the first arm"), comparisons are re-oriented to code order (a hazard ratio
of B vs A is reported as A vs B, inverted) so that the report does not reveal which code is the
reference arm, and configured arm colours are replaced by a neutral palette. The key
(code -> label) is written to ``dsmb/arm_key.json`` for the unblinded statistician; no report
rule reads it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import polars as pl

from hepatrial.ard import (
    LAB_SHIFT_CATEGORIES,
    LAB_SHIFT_DIRECTIONS,
    LAB_SHIFT_MARGIN,
    POOLED,
    lab_shift_method,
    reverse_comparisons,
)
from hepatrial.errors import HepatrialError
from hepatrial.spec import Study
from hepatrial.spec.study import thaw

OPEN_ANALYSES = (
    "DISPOSITION",
    "AE_OVERVIEW",
    "AE_INCIDENCE",
    "AE_GRADE",
    "SAE_INCIDENCE",
    "AESI",
    "DEATH_CAUSE",
    "BASELINE",
    "EXPOSURE",
    "DEATHS",
    "ENROLMENT",
    "DQ_VISITS",
    "DQ_FINDINGS",
    "BIGN",
    "LAB_SHIFT",
    "GSD_INFO",
)
OPEN_ARD_COLUMNS = (
    "analysis",
    "paramcd",
    "population",
    "avisit",
    "time",
    "stat",
    "value",
    "method",
)
# No per-subject relatedness in the open listing: with a treatment that causes (say) fever, who had
# a related SAE hints at who had the treatment (the pooled related-AE counts stay).
OPEN_SAE_COLUMNS = (
    "USUBJID",
    "SITEID",
    "AEDECOD",
    "AEBODSYS",
    "ASTDT",
    "ASTDY",
    "ATOXGR",
    "AEOUT",
    "TRTEMFL",
)
OPEN_DEATH_COLUMNS = ("USUBJID", "SITEID", "DTHDT", "DTHDY", "DLINFDY", "CAUSE", "LTXDT")
OPEN_COMPARE_COLUMNS = ("section", "item", "domain", "column", "n")
# Column names that carry the arm or the treatment (checked case-insensitively; TRT.. prefix too).
ARM_COLUMNS = (
    "ARM",
    "ARMCD",
    "ACTARM",
    "ACTARMCD",
    "ARMNRS",
    "TRT01P",
    "TRT01PN",
    "TRT01A",
    "TRT01AN",
    "TRTP",
    "TRTPN",
    "TRTA",
    "TRTAN",
    "EXTRT",
    "EXDOSE",
    "EXDOSU",
    "EXDOSFRQ",
    "COMPARATOR",
    "RANDNO",
)
# Identifier columns: matched only as a whole value, never searched for words inside.
ID_COLUMNS = ("USUBJID", "SUBJID", "SITEID", "STUDYID", "DOMAIN", "SRCDOM", "SRCROW")
MASKED_PALETTE = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377")
REDACTED = "[treatment term redacted]"
# Keys of the pooled ARD that the pipeline composes as ``<lab>|<category>|<category>`` from a
# closed vocabulary (hepatrial.ard): those components are not free text and can carry no arm, so
# they are neither redacted nor flagged, even where an arm code is the same word (a dose
# escalation coded LOW / HIGH). The other components (the lab) are matched as any text.
KEY_VOCABULARY = {"LAB_SHIFT": frozenset((*LAB_SHIFT_CATEGORIES, LAB_SHIFT_MARGIN))}
# Methods of the pooled ARD that the pipeline composes from a closed vocabulary (hepatrial.ard): a
# method equal to one of these, whole, is not free text (the lab shift's worst direction "HIGH" /
# "LOW" is a dose escalation's arm code too); any other method is matched as free text.
METHOD_VOCABULARY = {
    "LAB_SHIFT": frozenset(lab_shift_method(d) for d in LAB_SHIFT_DIRECTIONS),
}


class BlindingError(HepatrialError):
    """Arm information reached a file meant for the open report."""


def arm_terms(study: Study, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Strings that identify an arm: labels, DM ARM values and dose texts of the configured arms,
    plus ``extra`` (the cut's DM ARM/ACTARM/ARMCD and EX EXTRT values)."""
    terms = set(extra)
    for a in study.arms:
        terms.update({a.label, a.arm, a.dose or ""})
    return sorted(t for t in terms if t and str(t).strip())


ARM_COLUMN_PATTERN = re.compile(
    r"^(TRT\d\d[PA]N?|TRT[PA]N?|TRTSEQ[PA]N?|TRT\d\d[PA]GR\d+N?|ARM.*|ACTARM.*)$"
)


def is_arm_column(name: str) -> bool:
    n = name.upper()
    return n in ARM_COLUMNS or bool(ARM_COLUMN_PATTERN.match(n))


# --- matching free text against arm terms -------------------------------------------------------
# Text and terms are compared after Unicode NFKC, case folding, and with every run of characters
# that are not letters or digits (hyphens of any kind, spaces, punctuation) taken as one word
# break; a term matches whole words only, also when its words are run together or split apart
# ("UC-MSC", "UC MSC", "UCMSC", "UC\u2011MSC", "U C M S C" all match each other).

_WORD = re.compile(r"[^\W_]+")
# Cyrillic and Greek letters drawn like Latin ones ("UC-MSС" with a Cyrillic Es): matched as the
# Latin letter; one character for one, so the spans found are spans of the text as written
_LOOKALIKE = str.maketrans(
    "АВСЕНІЈКМОРЅТХУаеіјорсѕхуԁһԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορτυχ",
    "ABCEHIJKMOPSTXYaeijopcsxydhqwABEZHIKMNOPTYXaikvoptux",
)


def _words(text: str) -> tuple[str, list[re.Match]]:
    """The NFKC form of ``text`` and its words, found with lookalike letters read as Latin."""
    t = unicodedata.normalize("NFKC", str(text))
    return t, list(_WORD.finditer(t.translate(_LOOKALIKE)))


class TermMatcher:
    """Finds arm terms in free text as whole words (see above)."""

    def __init__(self, terms: list[str]):
        self.terms = []
        for term in terms:
            _, ms = _words(term)
            toks = [m.group(0).casefold() for m in ms]
            if toks:
                self.terms.append((term, toks, "".join(toks)))

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, term) spans of the NFKC form of ``text`` that match a term."""
        _, ms = _words(text)
        toks = [m.group(0).casefold() for m in ms]
        hits = []
        for term, ttoks, compact in self.terms:
            if len(compact) < 3:  # a one- or two-letter code matches only a whole value
                if "".join(toks) == compact and len(toks) == len(ttoks):
                    hits.append((ms[0].start(), ms[-1].end(), term))
                continue
            for i in range(len(toks)):
                joined = ""
                # up to one token a letter ("P L A C E B O"); the prefix test ends it sooner
                for j in range(i, min(len(toks), i + len(compact))):
                    joined += toks[j]
                    if joined == compact:
                        hits.append((ms[i].start(), ms[j].end(), term))
                        break
                    if not compact.startswith(joined):
                        break
        return hits

    def redact(self, text: str) -> tuple[str, list[str]]:
        hits = self.find(text)
        if not hits:
            return text, []
        t, _ = _words(text)
        out, pos = [], 0
        for start, end, _term in sorted(hits):
            if start < pos:
                continue
            out += [t[pos:start], REDACTED]
            pos = end
        out.append(t[pos:])
        return "".join(out), sorted({h[2] for h in hits})


def _text_columns(df: pl.DataFrame) -> list[str]:
    return [c for c, dt in df.schema.items() if dt in (pl.Utf8, pl.Categorical)]


def _vocabularies(df: pl.DataFrame, col: str) -> list[frozenset]:
    """Per row, the closed vocabulary of ``col`` by the row's analysis: the key components of
    :data:`KEY_VOCABULARY` (``paramcd``), the whole texts of :data:`METHOD_VOCABULARY`
    (``method``); empty for other columns and analyses: all free text."""
    by_analysis = {"paramcd": KEY_VOCABULARY, "method": METHOD_VOCABULARY}.get(col)
    if by_analysis is None or "analysis" not in df.columns:
        return [frozenset()] * df.height
    return [by_analysis.get(a, frozenset()) for a in df["analysis"].cast(pl.Utf8).to_list()]


def _free_parts(value: str, vocabulary: frozenset, col: str) -> list[tuple[int, str]]:
    """The parts of ``value`` (a cell of ``col``) that are free text, as (index, text) of its
    ``|``-separated components: for a method, none when it is one of ``vocabulary``'s texts;
    for a key, every component but the first that is a word of ``vocabulary``; the whole value
    otherwise."""
    if col == "method" and value in vocabulary:
        return []
    if col != "paramcd" or not vocabulary:
        return [(0, value)]
    parts = value.split("|")
    return [(i, p) for i, p in enumerate(parts) if i == 0 or p not in vocabulary]


def _term_hits(frames: dict[str, pl.DataFrame], terms: list[str]):
    """(file, column, value, term) of every column name (value None) and distinct text cell
    holding an arm term, in file, column and value order. Identifier columns are matched as
    whole values only."""
    m = TermMatcher(terms)
    for name, df in frames.items():
        for col in df.columns:
            for _, _, term in m.find(col):
                yield name, col, None, term
        for col in _text_columns(df):
            ident = col.upper() in ID_COLUMNS
            # each distinct value with its vocabulary, in the order of the values
            pairs = {
                (v, w)
                for v, w in zip(df[col].cast(pl.Utf8).to_list(), _vocabularies(df, col))
                if v is not None
            }
            for v, words in sorted(pairs, key=lambda x: (x[0], sorted(x[1]))):
                if ident:
                    hit = [
                        t
                        for t in terms
                        if unicodedata.normalize("NFKC", t).casefold().strip()
                        == unicodedata.normalize("NFKC", v).casefold().strip()
                    ]
                else:
                    hit = [h[2] for _, part in _free_parts(v, words, col) for h in m.find(part)]
                for term in hit:
                    yield name, col, v, term


def find_arm_information(frames: dict[str, pl.DataFrame], terms: list[str]) -> list[str]:
    """Every arm column, and every column name or text cell holding an arm term, as
    ``file: column: value``. Identifier columns are matched as whole values only."""
    leaks = [
        f"{name}: column {col} is an arm/treatment variable"
        for name, df in frames.items()
        for col in df.columns
        if is_arm_column(col)
    ]
    for name, col, v, term in _term_hits(frames, terms):
        if v is None:
            leaks.append(f"{name}: column name {col!r} holds the arm term {term!r}")
        else:
            leaks.append(f"{name}: column {col}: value {v!r} holds the arm term {term!r}")
    return leaks


def assert_no_arm_information(frames: dict[str, pl.DataFrame], terms: list[str]) -> None:
    leaks = find_arm_information(frames, terms)
    if leaks:
        raise BlindingError(
            f"open report inputs would carry arm information ({len(leaks)} finding(s), first: {leaks[0]}); "
            f"the open report is not made. An identifier or a column name equals an arm term: rename it in "
            f"the source data or the arm label in the study config"
        )


def redact_frames(
    frames: dict[str, pl.DataFrame], terms: list[str]
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Free-text cells of the open inputs with every arm term replaced by :data:`REDACTED`, and
    one finding per redacted cell (file, 1-based row, column, the term matched)."""
    m = TermMatcher(terms)
    found = []
    out = {}
    for name, df in frames.items():
        cols = [c for c in _text_columns(df) if c.upper() not in ID_COLUMNS]
        repl = {}
        for col in cols:
            values = df[col].cast(pl.Utf8).to_list()
            vocab = _vocabularies(df, col)
            new, changed = [], False
            for i, v in enumerate(values):
                if v is None:
                    new.append(v)
                    continue
                red, hit = _redact(m, v, vocab[i], col)
                if hit:
                    changed = True
                    found.append(
                        {"file": name, "row": i + 1, "column": col, "term": "; ".join(hit)}
                    )
                new.append(red)
            if changed:
                repl[col] = pl.Series(col, new, dtype=pl.Utf8)
        out[name] = df.with_columns(list(repl.values())) if repl else df
    findings = pl.DataFrame(
        found, schema={"file": pl.Utf8, "row": pl.Int64, "column": pl.Utf8, "term": pl.Utf8}
    )
    return out, findings


def _redact(m: TermMatcher, value: str, vocabulary: frozenset, col: str) -> tuple[str, list[str]]:
    """``value`` (a cell of ``col``) with its arm terms redacted: each of its free-text parts
    (:func:`_free_parts`; the whole text when there is no vocabulary)."""
    free = _free_parts(value, vocabulary, col)
    if free == [(0, value)]:
        return m.redact(value)
    parts = value.split("|")
    hits: set[str] = set()
    for i, part in free:
        parts[i], hit = m.redact(part)
        hits.update(hit)
    return ("|".join(parts), sorted(hits)) if hits else (value, [])


def pooled_ard(ard: pl.DataFrame) -> pl.DataFrame:
    """The open report's ARD: pooled rows of the allowed analyses, with no arm columns."""
    return (
        ard.filter(
            pl.col("analysis").is_in(OPEN_ANALYSES)
            & (pl.col("arm") == POOLED)
            & (pl.col("comparator").fill_null("") == "")
        )
        .select(OPEN_ARD_COLUMNS)
        .sort("analysis", "paramcd", "population", "avisit", "time", "stat", nulls_last=False)
    )


def open_listing(listing: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    keep = [c for c in columns if c in listing.columns]
    return listing.select(keep).sort(
        keep[:1] + [c for c in keep[1:] if c.endswith("DT")], nulls_last=True
    )


def build_open_inputs(
    ard: pl.DataFrame,
    saes: pl.DataFrame,
    deaths: pl.DataFrame,
    study: Study,
    compare: pl.DataFrame | None = None,
    extra_terms: list[str] | tuple[str, ...] = (),
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The open report's inputs (allow-listed, pooled), free text redacted of arm terms, and the
    redaction findings; then the strict check, which fails closed on anything left."""
    frames = {
        "pooled_ard": pooled_ard(ard),
        "saes": open_listing(saes, OPEN_SAE_COLUMNS),
        "deaths": open_listing(deaths, OPEN_DEATH_COLUMNS),
    }
    if compare is not None:
        frames["compare"] = compare.select(OPEN_COMPARE_COLUMNS)
    terms = arm_terms(study, extra_terms)
    frames, findings = redact_frames(frames, terms)
    if findings.height:
        n = findings.height
        note = pl.DataFrame(
            {
                "analysis": ["DQ_FINDINGS"] * 2,
                "paramcd": ["OPEN REPORT|INFO|TREATMENT_TERM_REDACTED"] * 2,
                "population": ["ALL RECORDS"] * 2,  # as every DQ_FINDINGS row (the report's lookup)
                "avisit": [""] * 2,
                "time": [None, None],
                "stat": ["n", "n_subjects"],
                "value": [float(n), None],
                "method": [
                    "free-text cells of the open report's inputs in which the blinding gate replaced a "
                    "treatment term"
                ]
                * 2,
            },
            schema=frames["pooled_ard"].schema,
        )
        frames["pooled_ard"] = pl.concat([frames["pooled_ard"], note], how="vertical")
    assert_no_arm_information(frames, terms)
    return frames, findings


# --- closed report: arm coding --------------------------------------------------------------------


def arm_codes(study: Study) -> list[dict]:
    """Display order, label, code and colour of each arm as the closed report shows it.

    Masked (``masked_dsmb``, the default): codes A, B, ... assigned in the order of
    sha256(study id + label), display ``Arm A`` and a neutral colour; unmasked: the config's
    order, labels and colours.
    """
    arms = study.arms
    if study.masked_dsmb:
        sid = study.id
        order = sorted(
            arms, key=lambda a: hashlib.sha256(f"{sid}\x00{a.label}".encode()).hexdigest()
        )
        return [
            {
                "label": a.label,
                "code": chr(ord("A") + i),
                "display": f"Arm {chr(ord('A') + i)}",
                "colour": MASKED_PALETTE[i % len(MASKED_PALETTE)],
            }
            for i, a in enumerate(order)
        ]
    return [
        {"label": a.label, "code": a.label, "display": a.label, "colour": a.colour} for a in arms
    ]


def masked_reference(study: Study) -> str | None:
    """The display name the closed report uses as the reference of comparisons.

    Masked with two arms, every comparison is shown in code order (Arm A vs Arm B) whichever arm is
    the reference, so the report does not reveal which code is the control: the "reference" is
    then Arm B. With three or more arms the comparisons themselves show which arm all the others
    are compared with, so the coded true reference is kept. Unmasked: the configured reference."""
    codes = arm_codes(study)
    ref = study.reference
    if ref is None:
        return None
    if study.masked_dsmb and len(codes) == 2:
        return codes[-1]["display"]
    return next(c["display"] for c in codes if c["label"] == ref)


def code_ard(ard: pl.DataFrame, study: Study) -> pl.DataFrame:
    """The ARD with arms as the closed report shows them; masked two-arm comparisons in code
    order, turned round by :func:`hepatrial.ard.reverse_comparisons` (one rule for every
    comparative analysis: differences negated, ratios inverted, CI limits swapped)."""
    codes = arm_codes(study)
    label_to = {c["label"]: c["display"] for c in codes}
    masked = study.masked_dsmb
    out = ard.with_columns(pl.col("arm").replace(label_to), pl.col("comparator").replace(label_to))
    if masked:
        for lab, disp in label_to.items():
            out = out.with_columns(
                pl.col("method").str.replace_all(lab, disp, literal=True),
                pl.col("paramcd").str.replace_all(lab, disp, literal=True),
            )
        ref = masked_reference(study)
        if ref is not None and len(codes) == 2:
            flip = (pl.col("arm") == ref) & (pl.col("comparator") != "")
            a, b = codes[0]["display"], codes[1]["display"]
            swapped = (
                pl.col("method")
                .str.replace_all(a, "\x00", literal=True)
                .str.replace_all(b, a, literal=True)
                .str.replace_all("\x00", b, literal=True)
            )
            out = reverse_comparisons(
                out.with_columns(
                    pl.when(flip).then(swapped).otherwise(pl.col("method")).alias("method")
                ),
                flip,
            )
    return out.sort(
        "analysis",
        "paramcd",
        "population",
        "arm",
        "comparator",
        "avisit",
        "time",
        "stat",
        nulls_last=False,
    )


def code_column(df: pl.DataFrame, study: Study, column: str = "arm") -> pl.DataFrame:
    label_to = {c["label"]: c["display"] for c in arm_codes(study)}
    if column not in df.columns:
        return df
    return df.with_columns(pl.col(column).replace(label_to))


# Columns of the closed report's inputs that the pipeline writes (arm codes, method notes, the spec):
# an arm label there means the masking failed. Other text (AE terms, causes of death) is the source
# data's free text, which the closed report shows as it is (masked_free_text lists it).
MASK_COLUMNS = ("arm", "comparator", "method", "value")


def assert_masked(frames: dict[str, pl.DataFrame], study: Study) -> None:
    """A masked closed report's own columns (:data:`MASK_COLUMNS`) must not hold an arm label."""
    if not study.masked_dsmb:
        return
    own = {
        k: df.select([c for c in df.columns if c in MASK_COLUMNS and df.schema[c] == pl.Utf8])
        for k, df in frames.items()
    }
    leaks = [
        x
        for x in find_arm_information(own, arm_terms(study))
        if "is an arm/treatment variable" not in x
    ]
    if leaks:
        raise BlindingError(
            f"masked closed report inputs hold an arm label ({len(leaks)} finding(s), first: "
            f"{leaks[0]})"
        )


def masked_free_text(
    frames: dict[str, pl.DataFrame], study: Study, extra: list[str] | tuple[str, ...] = ()
) -> list[tuple[str, str, str | None, str]]:
    """Source free text in a masked closed report's inputs that names a treatment (shown as it is,
    reported as a warning: it can tell the DSMB which code is which arm): (file, column, value,
    term), value None for a column name."""
    if not study.masked_dsmb:
        return []
    other = {
        k: df.select([c for c in df.columns if c not in MASK_COLUMNS]) for k, df in frames.items()
    }
    return list(_term_hits(other, arm_terms(study, extra)))


# --- the study as the reports' tables see it -------------------------------------------------------


def presentation_spec(study: Study, by_arm: bool) -> dict:
    """What the TLF tables and figures read of the study (:class:`hepatrial.tlf.tables.ARD`), for
    a report: the closed report's arms as :func:`arm_codes` shows them (masked: codes, neutral
    colours, :func:`masked_reference`), the open report's none (``by_arm`` false: Total only). No
    dose, no DM ARM value, no simulation settings: nothing else of the config reaches a report."""
    arms = []
    if by_arm:
        ref = masked_reference(study)
        planned = {a.label: a.planned_infusions for a in study.arms}
        arms = [
            {
                "label": c["display"],
                "colour": c["colour"],
                "reference": c["display"] == ref,
                "planned_infusions": planned.get(c["label"]),
            }
            for c in arm_codes(study)
        ]
    ep = study.endpoints
    mmrm_params = [p.paramcd for p in ep.mmrm_params]
    mk = study.scores.meld_kamath
    return {
        "study": {"id": study.id, "design": study.design.name},
        "origin": study.origin,
        "arms": arms,
        "visits": [
            {
                "label": v.label,
                "avisitn": v.avisitn,
                "baseline": bool(v.baseline),
                **({"screening": True} if v.screening else {}),
            }
            for v in study.visits
        ],
        "responders": [thaw(d) for d in study.responders],
        "strata": list(study.strata),
        "scores": {
            "meld_primary": study.scores.meld_primary,
            "meld_kamath": {"coefficients": mk.coefficients, "integer": mk.integer},
        },
        "endpoints": {
            "primary_visit": ep.primary_visit,
            "tte": list(ep.tte),
            "key_secondary_visit": ep.key_secondary_visit,
            "landmarks_days": list(ep.landmarks_days),
            "mmrm_params": [{"paramcd": p} for p in mmrm_params],
            "primary_param": study.primary_param or "",
            "primary_landmark_days": ep.primary_landmark_days,
        },
        "planned_infusions": study.planned_infusions,
        "ae": {"followup_days": study.ae.followup_days, "period": study.ae.period},
        "populations": dict(study.populations),
        "dsmb": {"estimands": bool(by_arm and study.dsmb.estimands)},
    }


def spec_frame(spec: dict) -> pl.DataFrame:
    """Every text value of a presentation spec as one column, for the blinding checks (not the study
    id, an identifier that may well name the treatment, e.g. UCMSC-DC-RCT)."""
    out = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k != "id":
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str):
            out.append(x)

    walk(spec)
    return pl.DataFrame({"value": out}, schema={"value": pl.Utf8})

"""What every page of a TLF carries besides its body: the running header (protocol, study title,
data cut, classification, page x of y, and the dummy-randomisation stamp of a blinded run) and the
output number (``Table 14.1.1``) from the study config's numbering scheme (``tlf.numbering``,
defaults in the study schema)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from hepatrial.config import load_schema
from hepatrial.spec import Study
from hepatrial.stamp import DUMMY_STAMP

KINDS = {"tables": "Table", "listings": "Listing", "figures": "Figure"}


@dataclass(frozen=True)
class Shell:
    """The running header of one output."""

    protocol: str
    study_title: str
    cut: str
    confidential: str = "CONFIDENTIAL"
    stamp: str = ""  # DUMMY_STAMP in a blinded (dummy-randomisation) run

    @classmethod
    def of(cls, study: Study, cut: str, dummy: bool = False) -> Shell:
        """The header of ``study`` at ``cut``; ``dummy``: stamped as dummy-randomisation output."""
        return cls(
            protocol=study.id,
            study_title=study.title or "",
            cut=str(cut),
            confidential=study.tlf.confidential,
            stamp=DUMMY_STAMP if dummy else "",
        )

    def footer_line(self, population: str = "") -> str:
        """One line naming study, cut and population (figure captions)."""
        parts = [f"Study {self.protocol}", f"data cut {self.cut}"]
        if population:
            parts.append(population)
        return "; ".join(parts) + "."


def default_numbering() -> dict[str, dict[str, str]]:
    props = load_schema("study")["properties"]["tlf"]["properties"]["numbering"]["properties"]
    return {section: dict(spec["default"]) for section, spec in props.items()}


def numbering(study: Study) -> dict[str, dict[str, str]]:
    """The study's numbering per section, each section's default completed by the study's keys."""
    given = study.tlf.numbering
    out = default_numbering()
    for section, mapping in given.items():
        out.setdefault(section, {}).update(mapping)
    return out


def assign_numbers(names: Iterable[str], study: Study, section: str) -> dict[str, str]:
    """Number of each output of ``section`` (``tables``, ``listings``, ``figures``). ``names`` is
    every output of the section in report order: the outputs of a prefix key (``mmrm_*``) are
    numbered ``<n>.1``, ``<n>.2``, ... in that order. A name no key matches gets no number ("")."""
    scheme = numbering(study).get(section, {})
    exact = {k: v for k, v in scheme.items() if not k.endswith("*")}
    prefixes = {k: v for k, v in scheme.items() if k.endswith("*")}
    counters: dict[str, int] = {}
    out = {}
    for name in names:
        if name in exact:
            out[name] = exact[name]
            continue
        key = next(
            (k for k in sorted(prefixes, key=len, reverse=True) if fnmatch.fnmatchcase(name, k)),
            None,
        )
        if key is None:
            out[name] = ""
            continue
        counters[key] = counters.get(key, 0) + 1
        out[name] = f"{prefixes[key]}.{counters[key]}"
    return out


def caption_number(section: str, number: str) -> str:
    """``Table 14.1.1`` (empty without a number)."""
    return f"{KINDS[section]} {number}" if number else ""

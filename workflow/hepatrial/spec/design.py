"""Trial designs as objects: what each design analyses, tabulates and reports.

Code asks the design (``study.design.compares_arms``, ``study.design.has("SUBGROUP")``) instead
of comparing its name; a new design is one :class:`Design` in :data:`DESIGNS` (and its name in the
study schema's enum).
"""

from __future__ import annotations

from dataclasses import dataclass

# Optional analyses a design may declare (each an ARD part, a table, a figure or a report section).
ANALYSES = (
    "COMPARISONS",  # test arms against the reference arm (MMRM differences, log-rank, Cox, Gray, RD, CMH)
    "MMRM_PP",  # the per-protocol sensitivity MMRM of the primary parameter
    "SUBGROUP",  # subgroup ANCOVA (table subgroup, forest figure)
    "LMM",  # random-slope LMM table
    "ESTIMANDS",  # ICH E9(R1) estimands by multiple imputation
    "INTERIM",  # group-sequential monitoring of one comparison
    "DLT",  # dose-limiting toxicities and the escalation rule
)


@dataclass(frozen=True)
class Design:
    name: str
    description: str
    analyses: frozenset[str]
    randomised: bool

    def has(self, analysis: str) -> bool:
        if analysis not in ANALYSES:
            raise KeyError(f"unknown analysis {analysis!r}; known: {ANALYSES}")
        return analysis in self.analyses

    @property
    def compares_arms(self) -> bool:
        """Test arms are compared with the reference arm (a parallel design)."""
        return "COMPARISONS" in self.analyses

    @property
    def needs_reference(self) -> bool:
        """The config must name exactly one reference arm."""
        return self.compares_arms


DESIGNS: dict[str, Design] = {
    "parallel": Design(
        "parallel",
        "randomised comparison against the reference arm",
        frozenset({"COMPARISONS", "MMRM_PP", "SUBGROUP", "LMM", "ESTIMANDS", "INTERIM"}),
        True,
    ),
    "single_arm": Design("single_arm", "one arm, within-arm estimates only", frozenset(), False),
    "dose_escalation": Design(
        "dose_escalation",
        "dose cohorts, DLTs and the escalation rule, no comparisons",
        frozenset({"DLT"}),
        False,
    ),
}


def design(name: str) -> Design:
    try:
        return DESIGNS[name]
    except KeyError:
        raise KeyError(f"unknown design {name!r}; known: {list(DESIGNS)}") from None

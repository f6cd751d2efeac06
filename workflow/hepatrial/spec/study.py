"""The study spec: a frozen, typed :class:`Study` built once from the validated study config.

:func:`load` reads a study YAML, validates it against ``workflow/schemas/study.schema.yaml``
(filling the schema's defaults) and checks the rules beyond the schema
(:func:`hepatrial.config.check_study`); :meth:`Study.from_dict` does the same for a mapping (tests,
the simulator). Nothing downstream reads the config as a dict: domain functions take frames plus a
``Study``.

Blocks used in many places are typed (arms, visits, endpoints, the design, scores, labs, AE,
safety, survival, MMRM, DSMB, TLF, DLT, interim, estimands). Blocks with a nested free structure of
their own (``responders``, ``simulation``, ``column_map``, ``plausibility``, ``tlf.numbering``)
are read-only mappings (``types.MappingProxyType``; lists as tuples).
"""

from __future__ import annotations

import copy
import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepatrial.contract import level_key
from hepatrial.errors import ConfigError
from hepatrial.spec import params as P
from hepatrial.spec.design import Design, design


def freeze(x: Any) -> Any:
    """A read-only copy: mappings as ``MappingProxyType``, lists as tuples."""
    if isinstance(x, Mapping):
        return types.MappingProxyType({k: freeze(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return tuple(freeze(v) for v in x)
    return x


def thaw(x: Any) -> Any:
    """The plain (JSON-like) copy of a frozen value: dicts and lists."""
    if isinstance(x, Mapping):
        return {k: thaw(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return [thaw(v) for v in x]
    return x


def _build(cls, d: Mapping | None, **over):
    """``cls`` from the mapping ``d`` (the schema's keys), lists as tuples, nested mappings frozen."""
    d = dict(d or {})
    d.update(over)
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: freeze(v) for k, v in d.items() if k in names})


@dataclass(frozen=True)
class Arm:
    label: str
    arm: str
    code: int
    colour: str
    reference: bool = False
    dose: str = ""
    planned_infusions: int | None = None


@dataclass(frozen=True)
class Visit:
    """An analysis visit. A report's presentation spec (:meth:`Study.from_presentation`) holds no
    target day and window: None there."""

    label: str
    avisitn: float
    target_day: int | None = None
    window: tuple[int, int] | None = None
    baseline: bool = False
    protocol_window: tuple[int, int] | None = None
    # nominal windowing: the SDTM VISIT names (upper case) analysed as this visit (default: the label)
    sdtm_visits: tuple[str, ...] = ()
    # a pre-baseline visit (e.g. screening) summarised as its own visit, never post-baseline
    screening: bool = False

    @property
    def post_baseline(self) -> bool:
        return not (self.baseline or self.screening)

    @property
    def nominal_names(self) -> tuple[str, ...]:
        return tuple(n.upper() for n in (self.sdtm_visits or (self.label,)))


@dataclass(frozen=True)
class BdsParam:
    paramcd: str
    dataset: str = "adeff"


@dataclass(frozen=True)
class Endpoints:
    primary_visit: str = "WEEK 24"
    primary_param: str | None = None  # as configured; Study.primary_param resolves the default
    primary_landmark_days: float | None = None  # a time-to-event primary: its KM landmark
    key_secondary_visit: str | None = None
    mmrm_params: tuple[BdsParam, ...] = ()
    desc_params: tuple[BdsParam, ...] = ()
    tte: tuple[str, ...] = ()
    landmarks_days: tuple[float, ...] = ()
    os_censor_at_transplant: bool = False
    subgroups: tuple[str, ...] = ()


@dataclass(frozen=True)
class BaselineRule:
    rule: str = "last_on_or_before_origin"
    earliest_day: int = -28
    # nominal windowing: the SDTM VISIT whose value is baseline (e.g. "DAY -1"); a subject and
    # parameter with no value there falls back to ``rule`` (last pre-dose value)
    visit: str | None = None


@dataclass(frozen=True)
class Etiology:
    column: str = "ETIOLOGY"
    cholestatic: tuple[str, ...] = ()
    meldkam_zero: tuple[str, ...] = ()
    # the other etiologies the CRF codes; given, the three lists are the column's levels
    other: tuple[str, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """The column's levels when ``other`` is given (the three lists, each level once, spelled
        as the later list spells it), else () (any value: not cholestatic nor Kamath-zero is
        other)."""
        if not self.other:
            return ()
        spelled = {level_key(v): v for v in (*self.other, *self.meldkam_zero, *self.cholestatic)}
        return tuple(spelled.values())


@dataclass(frozen=True)
class MeldKamath:
    coefficients: str = "kamath2001"
    integer: str = "none"


@dataclass(frozen=True)
class Scores:
    meld_primary: str = "MELD"
    meld_kamath: MeldKamath = MeldKamath()
    ctp_coagulation: str = "INR"
    ctp_pta_cutoffs: tuple[float, float] = (60.0, 40.0)
    pt_control_seconds: float | None = None
    eq5d_value_set: str = "China"
    lab_day_tolerance: int = 0


@dataclass(frozen=True)
class Mmrm:
    formula: str | None = None
    group: str | None = None
    reference_levels: Mapping[str, str] = field(default_factory=lambda: freeze({}))
    covariance: str = "UN"
    fallback: tuple[str, ...] = ("UN", "TOEPH", "AR1H", "CS")
    df: str = "satterthwaite"
    method: str = "REML"
    lsmeans_weights: str = "equal"
    covariates: tuple[str, ...] = ("BASE",)


@dataclass(frozen=True)
class Survival:
    ties: str = "efron"


@dataclass(frozen=True)
class Ae:
    period: str = "on_study"
    followup_days: int = 28


@dataclass(frozen=True)
class Dsmb:
    meeting_date: str | None = None
    preparer: str = ""
    report_version: str = "1.0"
    estimands: bool = False
    listing_max_rows: int = (
        200  # above it a report shows the first rows and names the full listing file
    )


@dataclass(frozen=True)
class Labs:
    below_lloq: str = "half_lloq"
    lloq: Mapping[str, float] = field(default_factory=lambda: freeze({}))
    # LBTESTCD -> PARAMCD of its derived log10 parameter in ADLB
    log10: Mapping[str, str] = field(default_factory=lambda: freeze({"HBVDNA": "LHBVDNA"}))


@dataclass(frozen=True)
class Tlf:
    numbering: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: freeze({}))
    confidential: str = "CONFIDENTIAL"


@dataclass(frozen=True)
class Safety:
    labs: tuple[str, ...] = ()
    aesi: tuple[Mapping, ...] | None = None  # None: hepatrial.analysis.safety.DEFAULT_AESI


@dataclass(frozen=True)
class Nonparametric:
    """Between-arm rank tests by visit (config ``nonparametric``; hepatrial.analysis.nonparametric)."""

    params: tuple[str, ...] = ()
    visits: tuple[str, ...] = ()  # empty: every post-baseline visit
    variable: str = "AVAL"
    population: str = "ITT"


@dataclass(frozen=True)
class Dlt:
    window_days: int = 28
    min_grade: int = 3
    related_only: bool = True


@dataclass(frozen=True)
class Escalation:
    cohort_size: int = 6
    proceed_max: int = 1
    stop_min: int = 2


@dataclass(frozen=True)
class Interim:
    info_fractions: tuple[float, ...]
    analysis: str = "MMRM_DIFF"
    paramcd: str | None = None
    avisit: str | None = None
    population: str = "ITT"
    test_arm: str | None = None
    benefit: str = "lower"
    information: str = "statistical"
    looks: int | None = None
    alpha: float = 0.025
    sides: int = 1
    efficacy_spending: str = "asOF"
    efficacy_param: float | None = None
    futility_spending: str | None = None
    futility_param: float | None = None
    binding_futility: bool = False
    futility_cp: float | None = None
    futility_cp_basis: str = "trend"
    power: float = 0.8
    design_effect: float | None = None
    design_hr: float | None = None
    planned_events: int | None = None
    allocation_ratio: float = 1.0
    cut_looks: Mapping[str, int] = field(default_factory=lambda: freeze({}))
    history: tuple[Mapping, ...] = ()
    final_cut: str | None = None

    @property
    def tte(self) -> bool:
        """The monitored comparison is a time-to-event one (log-rank or Cox)."""
        return self.analysis in ("LOGRANK", "COX")


@dataclass(frozen=True)
class EstimandEndpoint:
    """The variable of an estimand: the change from baseline of ``param`` (config
    ``estimands[].endpoint``)."""

    param: str
    dataset: str = "adeff"
    visit: str | None = None  # None: endpoints.primary_visit (Study.estimand_visit)


@dataclass(frozen=True)
class IntercurrentEvent:
    """An intercurrent event of an estimand and the strategy for it (``intercurrent_events[]``)."""

    event: str  # treatment_discontinuation, death, transplant, rescue
    strategy: str  # treatment_policy, hypothetical, composite, while_on_treatment
    assumption: str = "MAR"  # MAR, J2R, CR, CIR, LMCF
    value: float | None = None  # composite: the worst value (AVAL scale)
    schedule_days: tuple[int, ...] | None = None
    grace_days: int = 7
    terms: tuple[str, ...] | None = None

    DEFINITION_KEYS = ("schedule_days", "grace_days", "terms")

    def definition(self) -> dict:
        """The keys that define the event's date, the same in every estimand that lists it."""
        return {k: getattr(self, k) for k in self.DEFINITION_KEYS}


@dataclass(frozen=True)
class ImputationModel:
    covariates: tuple[str, ...] = ("BASE",)
    factors: tuple[str, ...] | None = None  # None: the randomisation strata
    covariance: str = "UN"
    group_covariance: bool = False


@dataclass(frozen=True)
class MiMethod:
    """One MI method of an estimand (``methods[]``; hepatrial.models.mi.impute)."""

    method: str  # condmean, bayes, approxbayes, bmlmi
    resampling: str = "jackknife"  # condmean: jackknife or bootstrap
    # condmean jackknife: auto (leave one out up to jackknife_loo_max subjects, else
    # jackknife_auto_groups groups), loo, or the number of groups G (docs/estimands.md, "The
    # jackknife of a large trial"); None: the engine's defaults (hepatrial.models.mi.LOO_MAX_SUBJECTS,
    # AUTO_GROUPS)
    jackknife_groups: str | int = "auto"
    jackknife_loo_max: int | None = None
    jackknife_auto_groups: int | None = None
    M: int = 100
    B: int = 200
    D: int = 2
    seed: int = 20240601

    @property
    def key(self) -> str:
        """The method's name in the ARD paramcd: condmean (jackknife), condmean-boot, bayes,
        approxbayes, bmlmi."""
        if self.method == "condmean":
            return "condmean" if self.resampling == "jackknife" else "condmean-boot"
        return self.method


@dataclass(frozen=True)
class TippingPoint:
    deltas: tuple[float, ...]
    method: str | None = None  # method key analysed (default: the estimand's first method)


@dataclass(frozen=True)
class Estimand:
    """An estimand of a continuous endpoint by visit (config ``estimands[]``; docs/estimands.md;
    hepatrial.analysis.estimands)."""

    id: str
    endpoint: EstimandEndpoint
    intercurrent_events: tuple[IntercurrentEvent, ...]
    methods: tuple[MiMethod, ...]
    label: str | None = None
    role: str = "sensitivity"  # primary, sensitivity, supplementary
    set: str | None = None  # None: the endpoint parameter
    population: str = "ITT"
    summary: str | None = None
    treatment: str | None = None
    imputation_model: ImputationModel = ImputationModel()
    lsmeans_weights: str = "counterfactual"  # config analysis.lsmeans_weights
    tipping_point: TippingPoint | None = None

    @property
    def table_set(self) -> str:
        """The estimands table the estimand is shown in: its ``set``, else its parameter."""
        return self.set or self.endpoint.param

    @classmethod
    def of_config(cls, e: Mapping) -> Estimand:
        tip = e.get("tipping_point")
        return _build(
            cls,
            e,
            endpoint=_build(EstimandEndpoint, e["endpoint"]),
            intercurrent_events=tuple(
                _build(IntercurrentEvent, ev) for ev in e["intercurrent_events"]
            ),
            methods=tuple(_build(MiMethod, m) for m in e["methods"]),
            imputation_model=_build(ImputationModel, e.get("imputation_model")),
            lsmeans_weights=(e.get("analysis") or {}).get("lsmeans_weights", "counterfactual"),
            tipping_point=_build(TippingPoint, tip) if tip else None,
        )


@dataclass(frozen=True)
class Study:
    """The study, as the pipeline reads it. Build with :func:`load` or :meth:`from_dict`."""

    id: str
    title: str
    design: Design
    planned_subjects: int
    sites: int
    enrolment_months: float
    arms: tuple[Arm, ...]
    visits: tuple[Visit, ...]
    masked_dsmb: bool = True
    origin: str = "randomization"
    # date_window: AVISIT from the analysis day's window; nominal: from the SDTM VISIT (sdtm_visits)
    windowing: str = "date_window"
    baseline: BaselineRule = BaselineRule()
    populations: Mapping[str, str] = field(
        default_factory=lambda: freeze({"ITT": "ITTFL", "SAFETY": "SAFFL"})
    )
    planned_infusions: int = 3
    strata: tuple[str, ...] = ()
    # stratum column -> its levels (the randomisation system's spelling); none: any value
    stratum_levels: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: freeze({}))
    baseline_columns: tuple[str, ...] = ("ETIOLOGY",)
    column_map: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: freeze({}))
    # how tables, listings, figures and reports print a code (variable -> code -> label), over
    # the built-in decodes of hepatrial.spec.decode
    category_labels: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: freeze({}))
    etiology: Etiology = Etiology()
    scores: Scores = Scores()
    plausibility: Mapping[str, tuple[float, float]] = field(default_factory=lambda: freeze({}))
    endpoints: Endpoints = Endpoints()
    mmrm: Mmrm = Mmrm()
    survival: Survival = Survival()
    ae: Ae = Ae()
    dsmb: Dsmb = Dsmb()
    labs: Labs = Labs()
    tlf: Tlf = Tlf()
    safety: Safety = Safety()
    dlt: Dlt = Dlt()
    escalation: Escalation = Escalation()
    nonparametric: Nonparametric = Nonparametric()
    responders: tuple[Mapping, ...] = ()
    interim: Interim | None = None
    estimands: tuple[Estimand, ...] = ()
    cut_date: str | None = None
    previous_cut: str | None = None
    simulation: Mapping = field(default_factory=lambda: freeze({}))
    # the validated config (schema defaults filled) as plain dicts, for to_dict() and replace()
    config: dict = field(default_factory=dict, repr=False, compare=False)

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def from_dict(
        cls, raw: Mapping, source: str = "study config", *, validate: bool = True
    ) -> Study:
        """The Study of a config mapping: validated, schema defaults filled, arms completed, the
        rules beyond the schema checked (``validate`` false: ``raw`` is already such a config)."""
        from hepatrial.config import check_study, complete_arms, load_schema, validate_with_defaults

        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: a study config is a mapping of keys")
        cfg = thaw(raw)
        if validate:
            cfg = validate_with_defaults(cfg, load_schema("study"), source)
            complete_arms(cfg)
            check_study(cfg, source)
        return cls._of_config(cfg)

    @classmethod
    def from_presentation(cls, spec: Mapping) -> Study:
        """The Study a report sees: its presentation spec (hepatrial.report.blinding.presentation_spec;
        arms coded, no dose, no windows), the keys it lacks at their defaults. Not validated: the
        spec is written from a validated Study."""
        return cls._of_config(thaw(spec))

    @classmethod
    def _of_config(cls, cfg: dict) -> Study:
        s, ep = cfg["study"], cfg.get("endpoints", {})
        endpoints = _build(
            Endpoints,
            ep,
            mmrm_params=tuple(
                BdsParam(p["paramcd"], p.get("dataset", "adeff")) for p in ep.get("mmrm_params", [])
            ),
            desc_params=tuple(
                BdsParam(p["paramcd"], p.get("dataset", "adlb")) for p in ep.get("desc_params", [])
            ),
        )
        sc = cfg.get("scores", {})
        scores = _build(Scores, sc, meld_kamath=_build(MeldKamath, sc.get("meld_kamath")))
        im = cfg.get("interim")
        return cls(
            id=s["id"],
            title=s.get("title", ""),
            design=design(s.get("design", "parallel")),
            planned_subjects=s.get("planned_subjects", 240),
            sites=s.get("sites", 8),
            enrolment_months=s.get("enrolment_months", 18),
            arms=tuple(
                _build(Arm, {"arm": a["label"], "code": i + 1, "colour": "#000000", **a})
                for i, a in enumerate(cfg["arms"])
            ),
            visits=tuple(_build(Visit, v) for v in cfg["visits"]),
            windowing=cfg.get("windowing", "date_window"),
            masked_dsmb=cfg.get("masked_dsmb", True),
            origin=cfg.get("origin", "randomization"),
            baseline=_build(BaselineRule, cfg.get("baseline")),
            populations=freeze(cfg.get("populations", {"ITT": "ITTFL", "SAFETY": "SAFFL"})),
            planned_infusions=cfg.get("planned_infusions", 3),
            strata=tuple(cfg.get("strata", ())),
            stratum_levels=freeze(cfg.get("stratum_levels", {})),
            baseline_columns=tuple(cfg.get("baseline_columns", ("ETIOLOGY",))),
            column_map=freeze(cfg.get("column_map", {})),
            category_labels=freeze(cfg.get("category_labels", {})),
            etiology=_build(Etiology, cfg.get("etiology")),
            scores=scores,
            plausibility=freeze(cfg.get("plausibility", {})),
            endpoints=endpoints,
            mmrm=_build(Mmrm, cfg.get("mmrm")),
            survival=_build(Survival, cfg.get("survival")),
            ae=_build(Ae, cfg.get("ae")),
            dsmb=_build(Dsmb, cfg.get("dsmb")),
            labs=_build(Labs, cfg.get("labs")),
            tlf=_build(Tlf, cfg.get("tlf")),
            safety=_build(Safety, cfg.get("safety")),
            dlt=_build(Dlt, cfg.get("dlt")),
            escalation=_build(Escalation, cfg.get("escalation")),
            nonparametric=_build(Nonparametric, cfg.get("nonparametric")),
            responders=freeze(cfg.get("responders", [])),
            interim=_build(Interim, im) if im is not None else None,
            estimands=tuple(Estimand.of_config(e) for e in cfg.get("estimands", [])),
            cut_date=cfg.get("cut_date"),
            previous_cut=cfg.get("previous_cut"),
            simulation=freeze(cfg.get("simulation", {})),
            config=cfg,
        )

    def replace(self, **changes) -> Study:
        """A copy with top-level keys changed (e.g. ``previous_cut`` from the command line)."""
        cfg = copy.deepcopy(self.config)
        cfg.update(changes)
        return Study._of_config(cfg)

    def to_dict(self) -> dict:
        """The validated config as plain dicts and lists (JSON-like)."""
        return copy.deepcopy(self.config)

    # --- derived facts, each computed in one place ---------------------------------------------
    @property
    def arm_labels(self) -> list[str]:
        return [a.label for a in self.arms]

    @property
    def dm_arms(self) -> list[str]:
        """The DM ARM (and ACTARM) values of the study's arms (``arms[].arm``, default the label)."""
        return [a.arm for a in self.arms]

    @property
    def reference_arm(self) -> Arm | None:
        """The arm with ``reference: true`` (None when there is none, e.g. single-arm designs)."""
        return next((a for a in self.arms if a.reference), None)

    @property
    def reference(self) -> str | None:
        """Label of the reference arm (None when there is none)."""
        ref = self.reference_arm
        return ref.label if ref is not None else None

    @property
    def comparison_reference(self) -> str | None:
        """The reference arm of the comparisons: the reference arm in a design that compares arms,
        else None."""
        return self.reference if self.design.compares_arms else None

    @property
    def test_arms(self) -> list[str]:
        """Arms compared with the reference (none in a design without comparisons)."""
        if not self.design.compares_arms:
            return []
        return [a.label for a in self.arms if not a.reference]

    def arm(self, label: str) -> Arm:
        for a in self.arms:
            if a.label == label:
                return a
        raise KeyError(f"no arm labelled {label!r}; arms are {self.arm_labels}")

    def planned_infusions_of(self, label: str) -> int:
        """Infusions the protocol plans for arm ``label`` (the arm's own, else the study's)."""
        a = self.arm(label)
        return a.planned_infusions if a.planned_infusions is not None else self.planned_infusions

    def strata_in(self, columns) -> list[str]:
        """The randomisation strata present among ``columns`` (a frame's columns or a frame)."""
        cols = set(getattr(columns, "columns", columns))
        return [c for c in self.strata if c in cols]

    @property
    def visit_labels(self) -> list[str]:
        return [v.label for v in self.visits]

    @property
    def post_baseline_visits(self) -> list[Visit]:
        return [v for v in self.visits if v.post_baseline]

    @property
    def primary_param(self) -> str | None:
        """PARAMCD of the primary endpoint: ``endpoints.primary_param``, else None in a design
        whose primary endpoint is the DLT analysis (:attr:`primary_is_dlt`), else the first MMRM
        one."""
        ep = self.endpoints
        if ep.primary_param:
            return ep.primary_param
        if self.primary_is_dlt:
            return None
        return ep.mmrm_params[0].paramcd if ep.mmrm_params else None

    @property
    def primary_is_dlt(self) -> bool:
        """Whether the primary endpoint is the dose-limiting toxicities (ARD DLT, ESCALATION): a
        dose-escalation design whose config names no ``endpoints.primary_param``; its MMRM
        parameters are then secondary (within-cohort LS means)."""
        return self.design.has("DLT") and not self.endpoints.primary_param

    @property
    def allocated(self) -> str:
        """How a subject enters the ITT population (ADSL ITTFL), in words: "randomised", or
        "enrolled and dosed" in a design without randomisation (dose escalation, single arm)."""
        return "randomised" if self.design.randomised else "enrolled and dosed"

    @property
    def origin_words(self) -> str:
        """Day 1 (``origin``) in words, for footnotes: "randomisation" or "the first dose"."""
        return "randomisation" if self.origin == "randomization" else "the first dose"

    @property
    def primary_is_tte(self) -> bool:
        """Whether the primary endpoint is a time to event (``endpoints.primary_param`` in
        ``endpoints.tte``), not an MMRM parameter."""
        return self.primary_param is not None and self.primary_param in self.endpoints.tte

    def bds_params(self) -> dict[str, str]:
        """PARAMCD -> dataset of every BDS parameter summarised by visit: MMRM ones first, then DESC."""
        out: dict[str, str] = {}
        for p in (*self.endpoints.mmrm_params, *self.endpoints.desc_params):
            out.setdefault(p.paramcd, p.dataset)
        return out

    def tte_params(self) -> list[P.Param]:
        """The study's time-to-event parameters, from the parameter table, in config order."""
        return [P.tte_param(p) for p in self.endpoints.tte]

    def cif_paramcds(self) -> list[str]:
        """ADTTE parameters with competing events (a cumulative incidence analysis)."""
        return [p.paramcd for p in self.tte_params() if p.has_cif]

    @property
    def has_estimands(self) -> bool:
        return bool(self.estimands) and self.design.has("ESTIMANDS")

    @property
    def has_subgroups(self) -> bool:
        """Subgroup analyses (ARD SUBGROUP, the subgroup table and forest plot): a design that
        compares arms and a study config that names subgroup variables (``endpoints.subgroups``);
        with none named there is nothing beyond the all-subjects effect to show."""
        return bool(self.endpoints.subgroups) and self.design.has("SUBGROUP")

    def estimand_visit(self, est: Estimand) -> str:
        """The visit of an estimand's comparison: its own, else the primary visit."""
        return est.endpoint.visit or self.endpoints.primary_visit


def load(path: str | Path, **overrides) -> Study:
    """Read, validate and complete a study config; ``overrides``: top-level keys set after
    validation (``previous_cut`` from the command line)."""
    from hepatrial.config import load_study

    study = Study.from_dict(load_study(path), str(path), validate=False)
    over = {k: v for k, v in overrides.items() if v is not None}
    return study.replace(**over) if over else study


def as_study(x: Study | Mapping) -> Study:
    """``x`` as a Study (a mapping goes through :meth:`Study.from_dict`)."""
    return x if isinstance(x, Study) else Study.from_dict(x)

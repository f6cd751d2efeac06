"""The simulator's settings: the study config's ``simulation:`` block, completed.

Order of precedence: the block's own keys, then the named preset (``x-presets`` in
``workflow/schemas/simulation.schema.yaml``), then that schema's defaults. The block is validated
here (the study schema lets any keys through), and the study facts the simulator needs (arms,
sites, enrolment period) are resolved into one flat :class:`Plan`.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from hepatrial.config import load_schema, validate_with_defaults
from hepatrial.errors import ConfigError
from hepatrial.spec.design import design as design_of


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def resolve_simulation(block: dict | None, source: str = "simulation") -> dict:
    """Preset + block, validated against the simulation schema with its defaults filled."""
    block = dict(block or {})
    schema = load_schema("simulation")
    presets = schema["x-presets"]
    name = block.get("preset", "decompensated_cirrhosis")
    if name not in presets:
        raise ConfigError(f"{source}: preset: unknown preset {name!r}; known: {sorted(presets)}")
    merged = _deep_merge(presets[name] or {}, block)
    return validate_with_defaults(merged, schema, source)


@dataclass
class ArmPlan:
    label: str  # the study config's label
    arm: str  # DM.ARM / ACTARM
    armcd: str
    extrt: str
    exdose: float
    exdosu: str
    effect_scale: float
    infusion_reaction_prob: float
    infusion_days: list[int]  # this arm's nominal infusion days (a subset of the plan's)


@dataclass
class Plan:
    """Everything the simulator needs, resolved from the study config."""

    studyid: str
    design: str
    randomized: bool
    arms: list[ArmPlan]
    allocation: list[int]
    block_size: int
    n_sites: int
    enrol_days: int
    start_day: int  # study_start as days since 1970-01-01
    visit: list[str]
    visitnum: np.ndarray  # float
    nominal_day: np.ndarray  # int
    screen_range: tuple[int, int]
    labs: list[str]
    rs: np.ndarray  # bool
    qs: np.ndarray  # bool
    infusion_visit: np.ndarray  # indices into the schedule
    arm_infusion: np.ndarray  # bool, arms x infusions: the arm's schedule includes the infusion
    rs_extra: list[list[str]]  # per scheduled visit: RS tests recorded beyond ascites/HE/ECOG
    day1_visit: int
    cholestatic: tuple[str, ...]
    strata: list[str]
    sim: dict


def _armcd(label: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", label.upper())[:8] or "ARM"


def make_plan(study_cfg: dict) -> Plan:
    """Resolve a loaded study config (``hepatrial.config.load_study``) into a :class:`Plan`."""
    sid = study_cfg["study"]["id"]
    sim = resolve_simulation(study_cfg.get("simulation"), f"{sid}: simulation")
    design = study_cfg["study"].get("design", "parallel")
    randomized = (
        sim["randomized"] if sim["randomized"] is not None else design_of(design).randomised
    )

    per_arm = {a["label"]: a for a in sim["arms"]}
    unknown = set(per_arm) - {a["label"] for a in study_cfg["arms"]}
    if unknown:
        raise ConfigError(f"{sid}: simulation/arms: labels {sorted(unknown)} are not study arms")
    arms = []
    for a in study_cfg["arms"]:
        s = per_arm.get(a["label"], {})
        ref = bool(a.get("reference"))
        arms.append(
            ArmPlan(
                label=a["label"],
                arm=a.get("arm", a["label"]),
                armcd=s.get("armcd", _armcd(a["label"])),
                extrt=s.get("extrt", "PLACEBO" if ref else a["label"].upper()),
                exdose=float(s.get("exdose", 0.0 if ref else 6.0e7)),
                exdosu=s.get("exdosu", "cells"),
                effect_scale=float(s.get("effect_scale", 0.0 if ref else 1.0)),
                infusion_reaction_prob=float(
                    s.get("infusion_reaction_prob", 0.05 if ref else 0.20)
                ),
                infusion_days=list(s.get("infusion_days", sim["infusion_days"])),
            )
        )
    allocation = sim["allocation"] or [1] * len(arms)
    if len(allocation) != len(arms):
        raise ConfigError(
            f"{sid}: simulation/allocation: {len(allocation)} ratios for {len(arms)} arms"
        )
    block = sim["block_size"]
    if randomized and block % sum(allocation):
        raise ConfigError(
            f"{sid}: simulation/block_size: {block} is not a multiple of the allocation "
            f"total {sum(allocation)}"
        )

    sched = sim["schedule"]
    days = [v["day"] for v in sched]
    if days != sorted(days) or len(set(days)) != len(days):
        raise ConfigError(f"{sid}: simulation/schedule: nominal days must increase")
    if 1 not in days:
        raise ConfigError(f"{sid}: simulation/schedule: no visit on day 1")
    if days[0] >= 1:
        raise ConfigError(
            f"{sid}: simulation/schedule: the first visit must be a screening visit before day 1"
        )
    rng0 = sched[0].get("day_range", [days[0], days[0]])
    # the infusion visits: every day some arm infuses on (per-arm schedules are subsets of these)
    all_inf = sorted(set(sim["infusion_days"]).union(*(a.infusion_days for a in arms)))
    inf_idx = []
    for d in all_inf:
        if d not in days:
            raise ConfigError(
                f"{sid}: simulation/infusion_days: day {d} is not a scheduled visit day"
            )
        inf_idx.append(days.index(d))
    arm_inf = np.array([[d in a.infusion_days for d in all_inf] for a in arms], dtype=bool)
    arm_inf = arm_inf.reshape(len(arms), len(all_inf))
    try:
        start = dt.date.fromisoformat(sim["study_start"])
    except ValueError:
        raise ConfigError(f"{sid}: simulation/study_start: not an ISO date") from None

    return Plan(
        studyid=sid,
        design=design,
        randomized=randomized,
        arms=arms,
        allocation=list(allocation),
        block_size=block,
        n_sites=int(study_cfg["study"].get("sites", 8)),
        enrol_days=round(float(study_cfg["study"].get("enrolment_months", 18)) * 30.4375),
        start_day=(start - dt.date(1970, 1, 1)).days,
        visit=[v["visit"] for v in sched],
        visitnum=np.array([v["visitnum"] for v in sched], dtype=float),
        nominal_day=np.array(days, dtype=np.int64),
        screen_range=(int(rng0[0]), int(rng0[1])),
        labs=[v.get("labs", "core") for v in sched],
        rs=np.array([v.get("rs", True) for v in sched]),
        qs=np.array([v.get("qs", False) for v in sched]),
        infusion_visit=np.array(inf_idx, dtype=np.int64),
        arm_infusion=arm_inf,
        rs_extra=[list(v.get("rs_extra", [])) for v in sched],
        day1_visit=days.index(1),
        cholestatic=tuple(
            x.upper()
            for x in study_cfg.get("etiology", {}).get(
                "cholestatic",
                ["PBC", "PSC", "PRIMARY BILIARY CHOLANGITIS", "PRIMARY SCLEROSING CHOLANGITIS"],
            )
        ),
        strata=list(study_cfg.get("strata", [])),
        sim=sim,
    )

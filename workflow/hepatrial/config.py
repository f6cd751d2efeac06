"""Study config: load, validate against ``workflow/schemas/study.schema.yaml``, fill defaults.

The schema is the single source of defaults; a study file states only what differs. Beyond the
schema, :func:`check_study` enforces the rules JSON Schema cannot express (unique visit labels,
non-overlapping windows, exactly one reference arm for a parallel design, ...).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hepatrial.contract import level_key
from hepatrial.errors import ConfigError, shown
from hepatrial.spec.design import design
from hepatrial.spec.params import PARAMS, tte_paramcds

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
# libyaml's parser where PyYAML was built with it (the same documents, about 8x faster to parse:
# every job reads the study file and its schema); the same constructors as yaml.safe_load
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=SAFE_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None


@functools.cache
def _parsed_schema(name: str) -> dict:
    return _load_yaml(SCHEMA_DIR / f"{name}.schema.yaml")


def load_schema(name: str) -> dict:
    """The schema ``name``, parsed once per process (a copy: the caller may change it)."""
    return copy.deepcopy(_parsed_schema(name))


def _extend_with_default(validator_class):
    """A validator that fills ``default`` values while it validates (jsonschema FAQ pattern)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, subschema in properties.items():
                if "default" in subschema and prop not in instance:
                    instance[prop] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _extend_with_default(jsonschema.Draft202012Validator)


# the schema's patterns in words: a statistician reads "no space and no |", not a regex
PATTERN_WORDS = {
    "^#[0-9A-Fa-f]{6}$": "a colour written #RRGGBB",
    "^[0-9]+(\\.[0-9]+)*$": "numbers joined by dots (14.2.1)",
    "^[A-Z0-9_]+$": "upper-case letters, digits and _ only",
    "^[A-Z][A-Z0-9]{0,7}$": "an upper-case letter, then at most 7 upper-case letters or digits",
    "^[A-Za-z0-9_-]+$": "letters, digits, _ and - only",
    "^[^|\\s]+$": "a code: not empty, no space and no |",
}


def _message(e: jsonschema.ValidationError) -> str:
    """The schema's message, with a pattern said in words (:data:`PATTERN_WORDS`)."""
    if e.validator == "pattern" and e.validator_value in PATTERN_WORDS:
        return f"{shown(e.instance)} is not allowed: {PATTERN_WORDS[e.validator_value]}"
    return e.message


def validate_with_defaults(instance: dict, schema: dict, source: str) -> dict:
    instance = copy.deepcopy(instance)
    # Two passes: the first fills defaults, whose own sub-defaults the second fills.
    for _ in range(2):
        errors = sorted(_Validator(schema).iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.path) or "(top level)"
            raise ConfigError(f"{source}: {where}: {_message(e)}")
    return instance


def post_baseline_labels(cfg: dict) -> list[str]:
    """The labels of the post-baseline visits of a study config (neither baseline nor screening)."""
    return [v["label"] for v in cfg["visits"] if not (v.get("baseline") or v.get("screening"))]


def check_study(cfg: dict, source: str) -> None:
    """Rules beyond the schema. Raises ConfigError naming the key."""
    labels = [a["label"] for a in cfg["arms"]]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{source}: arms: duplicate arm label")
    refs = [a["label"] for a in cfg["arms"] if a.get("reference")]
    dsg = design(cfg["study"]["design"])
    if dsg.needs_reference:
        if len(cfg["arms"]) < 2:
            raise ConfigError(f"{source}: arms: a parallel design needs at least two arms")
        if len(refs) != 1:
            raise ConfigError(
                f"{source}: arms: a parallel design needs exactly one arm with reference: true "
                f"(found {len(refs)}); the reference arm must be one of the arms {labels}"
            )
    for col, levels in cfg.get("stratum_levels", {}).items():
        if col not in cfg.get("strata", []):
            raise ConfigError(
                f"{source}: stratum_levels: {col} is not one of the strata {cfg.get('strata', [])}"
            )
        keys = [level_key(v) for v in levels]
        if len(set(keys)) != len(keys):
            raise ConfigError(
                f"{source}: stratum_levels: {col}: two levels differ only in case or spaces"
            )
    vlabels = [v["label"] for v in cfg["visits"]]
    if len(set(vlabels)) != len(vlabels):
        raise ConfigError(f"{source}: visits: duplicate visit label")
    if len({v["avisitn"] for v in cfg["visits"]}) != len(vlabels):
        raise ConfigError(f"{source}: visits: duplicate avisitn")
    wins = sorted((v["window"][0], v["window"][1], v["label"]) for v in cfg["visits"])
    for lo, hi, lab in wins:
        if lo > hi:
            raise ConfigError(f"{source}: visits: {lab}: window [{lo}, {hi}] has low > high")
        if lo <= 0 <= hi:
            pass  # windows are in study days; day 0 does not exist, harmless
    for (lo1, hi1, lab1), (lo2, hi2, lab2) in zip(wins, wins[1:]):
        if lo2 <= hi1:
            raise ConfigError(
                f"{source}: visits: windows of {lab1} [{lo1}, {hi1}] and {lab2} [{lo2}, {hi2}] overlap"
            )
    for v in cfg["visits"]:
        if not (v["window"][0] <= v["target_day"] <= v["window"][1]):
            raise ConfigError(f"{source}: visits: {v['label']}: target_day outside its window")
        pw = v.get("protocol_window")
        if pw and not (pw[0] <= v["target_day"] <= pw[1]):
            raise ConfigError(
                f"{source}: visits: {v['label']}: protocol_window {list(pw)} does not hold the "
                f"target_day {v['target_day']} (low, then high; the protocol's window is around "
                "the target)"
            )
    if sum(bool(v.get("baseline")) for v in cfg["visits"]) > 1:
        raise ConfigError(f"{source}: visits: more than one visit has baseline: true")
    for v in cfg["visits"]:
        if v.get("baseline") and v.get("screening"):
            raise ConfigError(
                f"{source}: visits: {v['label']}: a visit is baseline or screening, not both"
            )
    nominal = [n.upper() for v in cfg["visits"] for n in (v.get("sdtm_visits") or [v["label"]])]
    dup = sorted({n for n in nominal if nominal.count(n) > 1})
    if dup:
        raise ConfigError(
            f"{source}: visits: SDTM visit(s) {dup} mapped to more than one analysis visit "
            "(sdtm_visits)"
        )
    pv = cfg["endpoints"]["primary_visit"]
    if pv not in vlabels and dsg.compares_arms:
        raise ConfigError(
            f"{source}: endpoints/primary_visit: unknown visit {pv!r}; visits are {vlabels}"
        )
    known = tte_paramcds()
    for p in cfg["endpoints"]["tte"]:
        if p not in known:
            raise ConfigError(
                f"{source}: endpoints/tte: {p!r} is not a time-to-event parameter of "
                f"the parameter table (hepatrial.spec.params): {known}"
            )
    if len(set(cfg["endpoints"]["tte"])) != len(cfg["endpoints"]["tte"]):
        raise ConfigError(f"{source}: endpoints/tte: a parameter is listed twice")
    ep = cfg["endpoints"]
    for key in ("mmrm_params", "desc_params"):
        codes = [p["paramcd"] for p in ep[key]]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ConfigError(f"{source}: endpoints/{key}: {twice[0]} is listed twice")
        for p in ep[key]:
            known = PARAMS.get(p["paramcd"])
            if known is not None and known.dataset != p["dataset"]:
                raise ConfigError(
                    f"{source}: endpoints/{key}: {p['paramcd']} is a parameter of "
                    f"{known.dataset.upper()} (dataset: {known.dataset}), not of "
                    f"{p['dataset'].upper()}"
                )
    for test, (lo, hi) in (cfg.get("plausibility") or {}).items():
        if lo > hi:
            raise ConfigError(
                f"{source}: plausibility/{test}: [{lo}, {hi}] has low > high (every value would "
                "be flagged)"
            )
    check_primary(ep, source)
    post = post_baseline_labels(cfg)
    if ep.get("key_secondary_visit") and ep["key_secondary_visit"] not in post:
        raise ConfigError(
            f"{source}: endpoints/key_secondary_visit: unknown post-baseline visit "
            f"{ep['key_secondary_visit']!r}; visits: {post}"
        )
    if cfg.get("interim") is not None:
        check_interim(cfg, source)
    if cfg.get("estimands"):
        check_estimands(cfg, source)
    if cfg.get("nonparametric"):
        check_nonparametric(cfg, source)
    if cfg.get("cut_date"):
        try:
            dt.date.fromisoformat(cfg["cut_date"])
        except ValueError:
            raise ConfigError(
                f"{source}: cut_date: {cfg['cut_date']!r} is not an ISO date"
            ) from None


TTE_MONITORED = ("LOGRANK", "COX")


def check_nonparametric(cfg: dict, source: str) -> None:
    """The ``nonparametric`` block: its parameters are summarised by visit (the rank tests run in
    their DESC step, so a parameter in neither endpoints list was never tested), its visits are
    post-baseline visits and its population is one of the study's."""
    npar, ep = cfg["nonparametric"], cfg["endpoints"]
    where = f"{source}: nonparametric"
    summarised = [p["paramcd"] for p in [*ep["mmrm_params"], *ep["desc_params"]]]
    for p in npar.get("params", []):
        if p not in summarised:
            raise ConfigError(
                f"{where}/params: {p!r} is in neither endpoints/mmrm_params nor "
                "endpoints/desc_params (its rank tests run with its summaries by visit)"
            )
    post = post_baseline_labels(cfg)
    for v in npar.get("visits") or []:
        if v not in post:
            raise ConfigError(f"{where}/visits: unknown post-baseline visit {v!r}; visits: {post}")
    if npar.get("population", "ITT") not in cfg["populations"]:
        raise ConfigError(
            f"{where}/population: {npar.get('population', 'ITT')!r} is not in populations "
            f"({list(cfg['populations'])})"
        )


def check_interim(cfg: dict, source: str) -> None:
    """The ``interim`` block (group-sequential monitoring, docs/gsd.md) beyond the schema."""
    im = cfg["interim"]
    where = f"{source}: interim"
    fr = im["info_fractions"]
    if any(b <= a for a, b in itertools.pairwise(fr)) or fr[-1] != 1:
        raise ConfigError(f"{where}/info_fractions: must increase and end at 1 (got {fr})")
    if im.get("looks") is not None and im["looks"] != len(fr):
        raise ConfigError(f"{where}/looks: {im['looks']} looks but {len(fr)} info_fractions")
    if not design(cfg["study"]["design"]).has("INTERIM"):
        raise ConfigError(
            f"{where}: group-sequential monitoring needs a parallel design (a "
            f"comparison with the reference arm)"
        )
    if im["sides"] == 2 and im["futility_spending"] is not None:
        raise ConfigError(
            f"{where}/futility_spending: beta-spending futility bounds are for "
            f"one-sided designs (sides: 1) only"
        )
    for fam, key in (
        ("efficacy_spending", "efficacy_param"),
        ("futility_spending", "futility_param"),
    ):
        needs = str(im.get(fam) or "")[2:] in ("HSD", "KD")
        if needs and im.get(key) is None:
            raise ConfigError(f"{where}/{key}: {im[fam]} needs a parameter (gamma or rho)")
        if str(im.get(fam) or "")[2:] == "KD" and im.get(key) is not None and im[key] <= 0:
            raise ConfigError(f"{where}/{key}: the Kim-DeMets rho must be > 0")
    labels = [a["label"] for a in cfg["arms"]]
    ref = next((a["label"] for a in cfg["arms"] if a.get("reference")), None)
    tests = [x for x in labels if x != ref]
    if im.get("test_arm") is not None and im["test_arm"] not in tests:
        raise ConfigError(f"{where}/test_arm: {im['test_arm']!r} is not a test arm ({tests})")
    if im.get("test_arm") is None and len(tests) != 1:
        raise ConfigError(f"{where}/test_arm: {len(tests)} test arms; name the monitored one")
    if im["analysis"] in TTE_MONITORED:
        if not im.get("paramcd"):
            raise ConfigError(
                f"{where}/paramcd: {im['analysis']} needs the time-to-event endpoint (e.g. OS)"
            )
        if im["paramcd"] not in cfg["endpoints"]["tte"]:
            raise ConfigError(f"{where}/paramcd: {im['paramcd']} is not in endpoints/tte")
        if not im.get("planned_events"):
            raise ConfigError(
                f"{where}/planned_events: {im['analysis']} monitoring is "
                f"event-driven: give the events at full information"
            )
        if im.get("design_hr") is not None and im["design_hr"] == 1:
            raise ConfigError(f"{where}/design_hr: a hazard ratio of 1 is no effect")
    else:
        params = [p["paramcd"] for p in cfg["endpoints"]["mmrm_params"]]
        p = (
            im.get("paramcd")
            or cfg["endpoints"].get("primary_param")
            or (params[0] if params else None)
        )
        if p not in params:
            raise ConfigError(
                f"{where}/paramcd: {p!r} is not in endpoints/mmrm_params {params}"
                + (
                    " (the primary endpoint is a time to event: name the MMRM parameter monitored)"
                    if not im.get("paramcd") and p in cfg["endpoints"]["tte"]
                    else ""
                )
            )
        visit = im.get("avisit") or cfg["endpoints"]["primary_visit"]
        if visit not in [v["label"] for v in cfg["visits"]]:
            raise ConfigError(f"{where}/avisit: unknown visit {visit!r}")
        if im["information"] == "statistical" and im.get("design_effect") is None:
            raise ConfigError(
                f"{where}/design_effect: statistical information needs the design "
                f"effect (the maximum information comes from it and the power)"
            )
    seen = set()
    for h in im.get("history") or []:
        if h["look"] in seen:
            raise ConfigError(f"{where}/history: look {h['look']} listed twice")
        seen.add(h["look"])
        given = [h.get(k) is not None for k in ("z", "estimate", "se")]
        if any(given) and not all(given):
            raise ConfigError(
                f"{where}/history: look {h['look']}: give z, estimate and se "
                f"together (or none: the look then counts for the bounds only)"
            )
    if im["population"] not in cfg["populations"]:
        raise ConfigError(f"{where}/population: {im['population']!r} is not in populations")


def check_primary(ep: dict, source: str) -> None:
    """``endpoints.primary_param``: an MMRM parameter (change from baseline at the primary visit)
    or a time-to-event one (log-rank, Cox and, with ``primary_landmark_days``, the Kaplan-Meier
    estimate at that landmark)."""
    mmrm = [p["paramcd"] for p in ep["mmrm_params"]]
    primary, landmark = ep.get("primary_param"), ep.get("primary_landmark_days")
    if primary and primary not in mmrm and primary not in ep["tte"]:
        raise ConfigError(
            f"{source}: endpoints/primary_param: {primary!r} is in neither endpoints/mmrm_params "
            f"{mmrm} nor endpoints/tte {list(ep['tte'])} (the primary endpoint is analysed by "
            "the MMRM or as a time to event)"
        )
    if primary in ep["tte"]:
        if ep.get("key_secondary_visit"):
            raise ConfigError(
                f"{source}: endpoints/key_secondary_visit: the primary endpoint {primary} is a "
                "time to event, which has no visits (key_secondary_visit names a later visit "
                "of an MMRM primary endpoint)"
            )
        if landmark is not None and landmark not in ep["landmarks_days"]:
            raise ConfigError(
                f"{source}: endpoints/primary_landmark_days: {landmark:g} is not in "
                f"endpoints/landmarks_days {list(ep['landmarks_days'])} (the Kaplan-Meier "
                "estimates are made at those days)"
            )
    elif landmark is not None:
        raise ConfigError(
            f"{source}: endpoints/primary_landmark_days: the primary endpoint "
            f"{primary or (mmrm[0] if mmrm else None)!r} is not a time to event (endpoints/tte)"
        )


def check_estimands(cfg: dict, source: str) -> None:
    """The ``estimands`` list (docs/estimands.md) beyond the schema."""
    if not design(cfg["study"]["design"]).has("ESTIMANDS"):
        raise ConfigError(f"{source}: estimands: need a parallel design (a reference arm)")
    vlabels = post_baseline_labels(cfg)
    seen, primary, defs = set(), {}, {}
    for k, est in enumerate(cfg["estimands"]):
        where = f"{source}: estimands/{k} ({est['id']})"
        if est["id"] in seen:
            raise ConfigError(f"{where}: duplicate estimand id")
        seen.add(est["id"])
        group = est.get("set") or est["endpoint"]["param"]
        if est["role"] == "primary":
            if group in primary:
                raise ConfigError(
                    f"{where}: a second primary estimand in set {group!r} (first: {primary[group]})"
                )
            primary[group] = est["id"]
        visit = est["endpoint"].get("visit") or cfg["endpoints"]["primary_visit"]
        if visit not in vlabels:
            raise ConfigError(f"{where}/endpoint/visit: unknown post-baseline visit {visit!r}")
        if est["population"] not in cfg["populations"]:
            raise ConfigError(f"{where}/population: {est['population']!r} is not in populations")
        events = [e["event"] for e in est["intercurrent_events"]]
        if len(set(events)) != len(events):
            raise ConfigError(f"{where}/intercurrent_events: an event is listed twice")
        for e in est["intercurrent_events"]:
            w = f"{where}/intercurrent_events/{e['event']}"
            if e["strategy"] == "composite" and e.get("value") is None:
                raise ConfigError(f"{w}: a composite strategy needs the worst `value`")
            if e["strategy"] != "composite" and e.get("value") is not None:
                raise ConfigError(f"{w}: `value` is for the composite strategy only")
            if (
                e["strategy"] in ("composite", "while_on_treatment")
                and e.get("assumption", "MAR") != "MAR"
            ):
                raise ConfigError(
                    f"{w}: an imputation assumption is for the treatment_policy "
                    "and hypothetical strategies only"
                )
            if e["event"] == "rescue" and not e.get("terms"):
                raise ConfigError(f"{w}: rescue needs the PR/CM `terms` that define it")
            d = {x: e.get(x) for x in ("schedule_days", "grace_days", "terms")}
            if defs.setdefault(e["event"], d) != d:
                raise ConfigError(
                    f"{w}: the event is defined differently in another estimand "
                    "(schedule_days, grace_days and terms must agree)"
                )
        model = est["imputation_model"]
        other = [c for c in model["covariates"] if c != "BASE"]
        if other:  # the imputation data hold the change, the baseline and the strata only
            raise ConfigError(
                f"{where}/imputation_model/covariates: {other[0]!r}: the continuous covariate of "
                "the imputation model is the baseline value, BASE"
            )
        other = [f for f in model.get("factors") or [] if f not in cfg.get("strata", [])]
        if other:
            raise ConfigError(
                f"{where}/imputation_model/factors: {other[0]!r} is not a randomisation stratum "
                f"(strata: {list(cfg.get('strata', []))})"
            )
        keys = []
        for i, m in enumerate(est["methods"]):
            jackknife = (
                m["method"] == "condmean" and m.get("resampling", "jackknife") == "jackknife"
            )
            keys.append(
                ("condmean" if jackknife else "condmean-boot")
                if m["method"] == "condmean"
                else m["method"]
            )
            if m["method"] == "bayes" and est["imputation_model"]["covariance"] != "UN":
                raise ConfigError(f"{where}/methods: bayes needs the UN covariance")
            auto = [
                k for k in ("jackknife_loo_max", "jackknife_auto_groups") if m.get(k) is not None
            ]
            given = auto + (
                ["jackknife_groups"] if m.get("jackknife_groups", "auto") != "auto" else []
            )
            if given and not jackknife:
                raise ConfigError(
                    f"{where}/methods/{i}: {', '.join(given)}: for the condmean jackknife only "
                    f"(method {m['method']}, resampling {m.get('resampling', 'jackknife')})"
                )
            if auto and m.get("jackknife_groups", "auto") != "auto":
                raise ConfigError(
                    f"{where}/methods/{i}: {', '.join(auto)}: only with jackknife_groups: auto "
                    f"(here {m['jackknife_groups']!r})"
                )
        if len(set(keys)) != len(keys):
            raise ConfigError(f"{where}/methods: a method is listed twice")
        tip = est.get("tipping_point")
        if tip and tip.get("method") and tip["method"] not in keys:
            raise ConfigError(
                f"{where}/tipping_point/method: {tip['method']!r} is not one of "
                f"the estimand's methods {keys}"
            )


def complete_arms(cfg: dict) -> None:
    """Fill arm values and codes, and an Okabe-Ito colour-blind-safe colour per arm."""
    palette = [
        "#0072B2",
        "#E69F00",
        "#009E73",
        "#CC79A7",
        "#56B4E9",
        "#D55E00",
        "#F0E442",
        "#000000",
    ]
    for i, arm in enumerate(cfg["arms"]):
        arm.setdefault("arm", arm["label"])
        arm.setdefault("code", i + 1)
        arm.setdefault("colour", palette[i % len(palette)])


def load_study(path: str | Path) -> dict:
    """Read, validate and complete a study config."""
    path = Path(path)
    raw = _load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a study config is a mapping of keys")
    cfg = validate_with_defaults(raw, load_schema("study"), str(path))
    complete_arms(cfg)
    check_study(cfg, str(path))
    return cfg


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` (the reproducible-builds convention): the whole seconds since
    1970-01-01 UTC that stamp the XPT headers and the reports' generated date; None when unset or
    empty. Anything else stops the run (matplotlib, typst and numpy read it too, and fail on it
    with a traceback)."""
    import os

    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > 253402300799:  # 9999-12-31T23:59:59
        raise ConfigError(
            f"environment variable SOURCE_DATE_EPOCH={raw!r} is not a time: it must be whole "
            "seconds since 1970-01-01 UTC (e.g. $(date -d 2025-06-30 +%s)), or unset"
        )
    return int(raw)


def check_source_date_epoch() -> None:
    """At the start of a run: an empty ``SOURCE_DATE_EPOCH`` is removed from the environment (so
    every step, and the libraries that read it, see it unset); a malformed one stops the run
    (:func:`source_date_epoch`)."""
    import os

    if not os.environ.get("SOURCE_DATE_EPOCH", "x").strip():
        del os.environ["SOURCE_DATE_EPOCH"]
    source_date_epoch()


def previous_cut_date(previous_cut: str | Path) -> dt.date:
    """The previous cut's date: its folder's name (ISO)."""
    name = Path(previous_cut).name
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        raise ConfigError(
            f"previous_cut: the folder name {name!r} is not an ISO date (the previous cut's date "
            f"is read from it)"
        ) from None


def cut_date(study, cut_dir: str | Path) -> dt.date:
    """The data cut date: ``cut_date`` of the study (:class:`hepatrial.spec.Study`), else the cut
    folder's name."""
    given = study.cut_date
    if given:
        return dt.date.fromisoformat(given)

    name = Path(cut_dir).name
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        raise ConfigError(
            f"cannot tell the cut date: the cut folder {name!r} is not an ISO date and the study "
            f"config has no cut_date"
        ) from None

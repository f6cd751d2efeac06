# Shared helpers: the study config, the cut, and the paths every rule uses.
import os
import sys
from pathlib import Path

from hepatrial.config import cut_date, load_study
from hepatrial.contract import DOMAINS
from hepatrial.errors import ConfigError, HepatrialError
from hepatrial.ingest.read import check_path, cut_listing
from hepatrial.resources import mem_mb  # resources: mem_mb=mem_mb("<rule>") in every rule

try:
    # Paths resolved ("<cut>/sub/.." is the cut itself) and checked before anything is planned: an
    # empty cut folder, a path Snakemake would read as a pattern, a file name that is not text.
    for _key in ("study", "results_dir", "reports_dir"):
        check_path(config[_key], f"config {_key}")
    CUT_DIR, CUT_DOMAIN_FILES, CUT_OTHER_FILES = cut_listing(config["cut"])
    STUDY = load_study(config["study"])
    if config.get("previous_cut"):  # the run's previous cut overrides the study config's
        STUDY["previous_cut"] = config["previous_cut"]
    CUT_DATE = cut_date(STUDY, CUT_DIR)
    STUDY_ID = STUDY["study"]["id"]
    CUT = CUT_DIR.name
    # Dummy-randomisation mode (--config blinded=true): its own folders, never the real-arm ones.
    BLINDED = str(config.get("blinded", False)).lower() == "true"  # --config gives the string "true"
    DUMMY_SEED = int(config.get("dummy_seed", 20240101))
    RUN = f"{CUT}-DUMMY" if BLINDED else CUT
    RES = f"{config['results_dir']}/{STUDY_ID}/{RUN}"
    REP = f"{config['reports_dir']}/{STUDY_ID}/{RUN}"
    for _dir, _root in ((RES, "results_dir"), (REP, "reports_dir")):
        check_path(_dir, "output folder")
        if Path(os.path.realpath(_dir)).parent.parent != Path(os.path.realpath(config[_root])):
            raise ConfigError(f"the study id {STUDY_ID!r} and the cut folder name {CUT!r} must be "
                              f"plain names: outputs would go to {os.path.realpath(_dir)}, "
                              f"outside {config[_root]}/<study>/<cut>")
except HepatrialError as exc:
    sys.exit(f"ERROR: {' '.join(str(exc).split())}")

SDTM_DOMAINS = [d.lower() for d in DOMAINS]


def cut_files():
    """The domain files of the data cut, so that a changed input reruns the DAG. The cut's other
    files are not inputs (ingest does not read them): their names reach the ingest rule as a
    parameter, as data, never as file patterns."""
    return [str(p) for p in CUT_DOMAIN_FILES]


def cut_folder(wildcards):
    """The data cut folder, resolved (``<cut>/sub/..`` is the cut itself)."""
    return str(CUT_DIR)


def cut_other_files(wildcards):
    """The names of the cut's files that are not domains: a function, so that Snakemake takes them
    as data (a params string would be read as a pattern: notes{v2}.txt)."""
    return CUT_OTHER_FILES


def sdtm(domain):
    return f"{RES}/sdtm/{domain}.parquet"


def all_outputs():
    return [
        f"{RES}/validation/findings.csv",
        f"{RES}/validation/accounting.csv",
        f"{RES}/validation/traceability.csv",
        f"{RES}/ard/ard.parquet",
        f"{RES}/define/define.xml",
        f"{RES}/define/arm.json",
        *tlf_outputs(),
        *report_outputs(),
        *[f"{RES}/adam/{d}.xpt" for d in ("adsl", "adlb", "adeff", "adqs", "adtte", "adae", "adce")],
    ]


def bds_params():
    """(paramcd, dataset) of every BDS parameter summarised by visit: MMRM ones first, then DESC ones."""
    seen = {}
    for p in STUDY["endpoints"]["mmrm_params"] + STUDY["endpoints"]["desc_params"]:
        seen.setdefault(p["paramcd"], p.get("dataset", "adeff"))
    return seen


def desc_paramcds(wildcards):
    """The parameters of BDS dataset ``wildcards.dataset`` summarised by visit (rule desc)."""
    return [p for p, d in bds_params().items() if d == wildcards.dataset]


def bds_dataset(wildcards):
    return f"{RES}/adam/{bds_params()[wildcards.paramcd]}.parquet"


def desc_parts():
    """ARD parts of the DESC jobs, one per BDS dataset with a summarised parameter."""
    return [f"{RES}/ard/parts/desc_{d}.parquet" for d in dict.fromkeys(bds_params().values())]


def mmrm_parts():
    return [f"{RES}/ard/parts/mmrm_{p['paramcd']}.parquet" for p in STUDY["endpoints"]["mmrm_params"]]


def tte_parts():
    return [f"{RES}/ard/parts/tte_{p}.parquet" for p in STUDY["endpoints"]["tte"]]


def responder_datasets():
    """The BDS datasets the study's responder definitions read (rule responder)."""
    from hepatrial.analysis.responder import definitions

    try:
        return list(dict.fromkeys(d["dataset"] for d in definitions(STUDY)))
    except HepatrialError as exc:
        sys.exit(f"ERROR: {exc}")


def responder_inputs(wildcards):
    return {"adsl": f"{RES}/adam/adsl.parquet", "study": config["study"],
            **{d: f"{RES}/adam/{d}.parquet" for d in responder_datasets()}}


def ard_parts():
    parts = [*desc_parts(), *mmrm_parts(), *tte_parts()]
    if STUDY["responders"]:
        parts.append(f"{RES}/ard/parts/responder.parquet")
    parts += [f"{RES}/ard/parts/safety.parquet", f"{RES}/ard/parts/disposition.parquet",
              f"{RES}/ard/parts/baseline.parquet", f"{RES}/ard/parts/dsmb.parquet"]
    if STUDY["study"]["design"] == "dose_escalation":
        parts.append(f"{RES}/ard/parts/dlt.parquet")
    if STUDY.get("interim"):
        parts.append(f"{RES}/ard/parts/interim.parquet")
    if has_estimands():
        parts.append(f"{RES}/ard/parts/estimands.parquet")
    return parts


def has_estimands():
    return bool(STUDY.get("estimands")) and STUDY["study"]["design"] == "parallel"


def estimands_inputs(wildcards):
    """ADSL, PR (rescue therapy) and the BDS datasets of the estimands' endpoints."""
    ds = {e["endpoint"].get("dataset", "adeff") for e in STUDY.get("estimands") or []}
    return {"adsl": f"{RES}/adam/adsl.parquet", "pr": sdtm("pr"), "study": config["study"],
            **{d: f"{RES}/adam/{d}.parquet" for d in sorted(ds)}}


def interim_inputs():
    """What rule interim reads. The monitored analysis (MMRM part and the pooled DESC
    count, or the TTE part and its KM step table for the events), and the previous cut's ARD."""
    im = STUDY.get("interim") or {}
    if not im:
        return {}
    if im["analysis"] in ("LOGRANK", "COX"):
        out = {"parts": [f"{RES}/ard/parts/tte_{im['paramcd']}.parquet"],
               "km": f"{RES}/ard/km/{im['paramcd']}.parquet"}
    else:
        ep = STUDY["endpoints"]
        p = im.get("paramcd") or ep.get("primary_param") or ep["mmrm_params"][0]["paramcd"]
        out = {"parts": [f"{RES}/ard/parts/mmrm_{p}.parquet",
                         f"{RES}/ard/parts/desc_{bds_params()[p]}.parquet"]}
    if STUDY.get("previous_cut"):
        out["previous"] = f"{RES}/previous/ard.parquet"
    return out

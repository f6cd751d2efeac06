# Shared helpers: the study config, the cut, and the paths every rule uses.
import sys
from pathlib import Path

from hepatrial.config import cut_date, load_study
from hepatrial.contract import DOMAINS
from hepatrial.errors import HepatrialError

try:
    STUDY = load_study(config["study"])
    if config.get("previous_cut"):  # the run's previous cut overrides the study config's
        STUDY["previous_cut"] = config["previous_cut"]
    CUT_DATE = cut_date(STUDY, config["cut"])
except HepatrialError as exc:
    sys.exit(f"ERROR: {exc}")

STUDY_ID = STUDY["study"]["id"]
CUT = Path(config["cut"]).name
# Dummy-randomisation mode (--config blinded=true): its own folders, never the real-arm ones.
BLINDED = str(config.get("blinded", False)).lower() == "true"  # --config gives the string "true"
DUMMY_SEED = int(config.get("dummy_seed", 20240101))
RUN = f"{CUT}-DUMMY" if BLINDED else CUT
RES = f"{config['results_dir']}/{STUDY_ID}/{RUN}"
REP = f"{config['reports_dir']}/{STUDY_ID}/{RUN}"
SDTM_DOMAINS = [d.lower() for d in DOMAINS]


def cut_files():
    """Every file of the data cut, so that a changed input reruns the DAG."""
    folder = Path(config["cut"])
    if not folder.is_dir():
        sys.exit(f"ERROR: data cut folder {folder} does not exist")
    return sorted(str(p) for p in folder.iterdir() if p.is_file())


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


def ard_parts():
    parts = [*desc_parts(), *mmrm_parts(), *tte_parts()]
    parts += [f"{RES}/ard/parts/safety.parquet", f"{RES}/ard/parts/disposition.parquet",
              f"{RES}/ard/parts/baseline.parquet", f"{RES}/ard/parts/dsmb.parquet"]
    if STUDY["study"]["design"] == "dose_escalation":
        parts.append(f"{RES}/ard/parts/dlt.parquet")
    return parts

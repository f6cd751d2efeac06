# Shared helpers: the study config, the cuts, and the paths every rule uses.
#
# All the rules write under results/{study}/{cut}/ (and reports/{study}/{cut}/): wildcards, so that one
# DAG holds the run's cut and, when a previous cut is configured, the previous cut analysed for the
# cut-to-cut comparison, as the ordinary run "<cut>/previous" (its own folder inside the cut's, never
# the previous cut's own results). Which data folder a run reads comes from the config (CUTS).
import os
import re
import sys
from pathlib import Path

from hepatrial import spec
from hepatrial.config import check_source_date_epoch, cut_date, previous_cut_date
from hepatrial.spec import outputs as catalogue
from hepatrial.errors import ConfigError, HepatrialError
from hepatrial.contract import ADAM_COMPARED, DOMAINS
from hepatrial.ingest.read import check_path, cut_listing, is_adam_cut
from hepatrial.stamp import ENV as DUMMY_ENV
from hepatrial.resources import mem_mb  # resources: mem_mb=mem_mb("<rule>") in every rule

try:
    check_source_date_epoch()  # reproducible builds: empty is unset for every step, malformed stops
    # Paths resolved ("<cut>/sub/.." is the cut itself) and checked before anything is planned: an
    # empty cut folder, a path Snakemake would read as a pattern, a file name that is not text.
    for _key in ("study", "results_dir", "reports_dir"):
        check_path(config[_key], f"config {_key}")
    CUT_DIR, CUT_DOMAIN_FILES, CUT_OTHER_FILES = cut_listing(config["cut"])
    # the run's previous cut overrides the study config's
    STUDY = spec.load(config["study"], previous_cut=config.get("previous_cut") or None)
    PREVIOUS_CUT = STUDY.previous_cut or None
    CUT_DATE = cut_date(STUDY, CUT_DIR)
    STUDY_ID = STUDY.id
    CUT = CUT_DIR.name
    # Dummy-randomisation mode (--config blinded=true): its own folders, never the real-arm ones.
    BLINDED = str(config.get("blinded", False)).lower() == "true"  # --config gives the string "true"
    DUMMY_SEED = int(config.get("dummy_seed", 20240101))
    RUN = f"{CUT}-DUMMY" if BLINDED else CUT
    # The run folders of the DAG (wildcard {cut}): the cut's, and the previous cut's when configured,
    # each with its data folder, domain files, other files, cut date and cut name.
    CUTS = {RUN: {"dir": CUT_DIR, "domains": CUT_DOMAIN_FILES, "others": CUT_OTHER_FILES,
                  "date": CUT_DATE, "name": CUT}}
    if PREVIOUS_CUT:
        if not Path(PREVIOUS_CUT).is_dir():
            raise ConfigError(f"previous_cut folder {PREVIOUS_CUT} does not exist")
        try:
            _dir, _domains, _others = cut_listing(PREVIOUS_CUT)
        except HepatrialError as exc:
            raise ConfigError(f"previous_cut: {' '.join(str(exc).split())}") from None
        # the previous cut is analysed as of its own date (its folder name), without a previous cut
        CUTS[f"{RUN}/previous"] = {"dir": _dir, "domains": _domains, "others": _others,
                                   "date": previous_cut_date(_dir), "name": _dir.name}
    # every step of a blinded run stamps what it writes (hepatrial.stamp); never inherited otherwise
    if BLINDED and any(is_adam_cut(v["domains"]) for v in CUTS.values()):
        raise ConfigError("a blinded run (dummy randomisation) needs a cut of SDTM domains: the "
                          "dummy arms are drawn from DM; a cut of ADaM datasets holds ADSL")
    if BLINDED:
        os.environ[DUMMY_ENV] = "1"
    else:
        os.environ.pop(DUMMY_ENV, None)
    RES_RUN = f"{config['results_dir']}/{STUDY_ID}/{RUN}"  # the run's folders, wildcards filled
    REP_RUN = f"{config['reports_dir']}/{STUDY_ID}/{RUN}"
    for _dir, _root in ((RES_RUN, "results_dir"), (REP_RUN, "reports_dir")):
        check_path(_dir, "output folder")
        if Path(os.path.realpath(_dir)).parent.parent != Path(os.path.realpath(config[_root])):
            raise ConfigError(f"the study id {STUDY_ID!r} and the cut folder name {CUT!r} must be "
                              f"plain names: outputs would go to {os.path.realpath(_dir)}, "
                              f"outside {config[_root]}/<study>/<cut>")
except HepatrialError as exc:
    sys.exit(f"ERROR: {' '.join(str(exc).split())}")

# The path patterns of all the rules ({study}: the study id, {cut}: the run folder of CUTS).
RES = f"{config['results_dir']}/{{study}}/{{cut}}"
REP = f"{config['reports_dir']}/{{study}}/{{cut}}"
# The DSMB reports, the manifests and the comparison are made for the run's cut only.
CURRENT_CUT = re.escape(RUN)
# The Snakefile's wildcard_constraints: the study id, and the run folders of CUTS only.
STUDY_PATTERN = re.escape(STUDY_ID)
CUT_PATTERN = "|".join(re.escape(c) for c in CUTS)
# A cut of ADaM datasets (ADSL, no DM: hepatrial.adam.entry) goes through rule adam_entry, a cut
# of SDTM domains through ingest and the ADaM rules: each rule set matches only its own cuts.
_NOTHING = "(?!x)x"  # a pattern no run folder matches
ADAM_CUTS = [c for c, v in CUTS.items() if is_adam_cut(v["domains"])]
ADAM_CUT_PATTERN = "|".join(re.escape(c) for c in ADAM_CUTS) or _NOTHING
SDTM_CUT_PATTERN = "|".join(re.escape(c) for c in CUTS if c not in ADAM_CUTS) or _NOTHING
if ADAM_CUTS and len(ADAM_CUTS) != len(CUTS):
    sys.exit("ERROR: the cut and the previous cut (previous_cut) must be of one kind, both SDTM "
             "domains or both ADaM datasets (ADSL): a comparison of the two kinds would report "
             "every record as changed")


SDTM_DOMAINS = [d.lower() for d in DOMAINS]


def cut_files(wildcards):
    """The domain files of the run's data cut, so that a changed input reruns the DAG. The cut's
    other files are not inputs (ingest does not read them): their names reach the ingest rule as a
    parameter, as data, never as file patterns."""
    return [str(p) for p in CUTS[wildcards.cut]["domains"]]


def cut_folder(wildcards):
    """The run's data cut folder, resolved (``<cut>/sub/..`` is the cut itself)."""
    return str(CUTS[wildcards.cut]["dir"])


def cut_other_files(wildcards):
    """The names of the cut's files that are not domains: a function, so that Snakemake takes them
    as data (a params string would be read as a pattern: notes{v2}.txt)."""
    return CUTS[wildcards.cut]["others"]


def run_cut_date(wildcards):
    """The run's cut date (ISO): the cut's, or the previous cut's (its folder name)."""
    return str(CUTS[wildcards.cut]["date"])


def run_cut_name(wildcards):
    """The run's data cut folder name (the interim look of ``interim.cut_looks``)."""
    return CUTS[wildcards.cut]["name"]


def run_path(wildcards, pattern):
    """``pattern`` (RES or REP based) with the run's wildcards filled."""
    return pattern.format(study=wildcards.study, cut=wildcards.cut)


def run_outputs(paths):
    """``paths`` (RES or REP patterns, e.g. all_outputs()) of the run's cut, for a target rule."""
    return expand(paths, study=STUDY_ID, cut=RUN)


def previous_cut_files():
    """The previous cut's domain files (the input manifest hashes them), none without one."""
    return [str(p) for p in CUTS[f"{RUN}/previous"]["domains"]] if PREVIOUS_CUT else []


def sdtm(domain):
    return f"{RES}/sdtm/{domain}.parquet"


def all_outputs():
    """The run's final outputs (hepatrial.spec.outputs, the catalogue of outputs by design)."""
    return catalogue.all_outputs(STUDY, RES, REP)


def bds_params():
    """(paramcd, dataset) of every BDS parameter summarised by visit: MMRM ones first, then DESC ones."""
    return STUDY.bds_params()


def desc_paramcds(wildcards):
    """The parameters of BDS dataset ``wildcards.dataset`` summarised by visit (rule desc)."""
    return [p for p, d in bds_params().items() if d == wildcards.dataset]


def mmrm_datasets():
    """The BDS dataset of each MMRM parameter, in config order (rule mmrm)."""
    return [p.dataset for p in STUDY.endpoints.mmrm_params]


def mmrm_inputs(wildcards):
    """The study config and the BDS datasets of the MMRM parameters (rule mmrm)."""
    return {"study": config["study"], **{d: f"{RES}/adam/{d}.parquet" for d in mmrm_datasets()}}


def desc_parts():
    """ARD parts of the DESC jobs, one per BDS dataset with a summarised parameter."""
    return catalogue.desc_parts(STUDY, RES)


def mmrm_parts():
    return catalogue.mmrm_parts(STUDY, RES)


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
    return catalogue.ard_parts(STUDY, RES)


def has_estimands():
    return STUDY.has_estimands


def estimands_inputs(wildcards):
    """ADSL, PR (rescue therapy) and the BDS datasets of the estimands' endpoints."""
    ds = {e.endpoint.dataset for e in STUDY.estimands}
    return {"adsl": f"{RES}/adam/adsl.parquet", "pr": sdtm("pr"), "study": config["study"],
            **{d: f"{RES}/adam/{d}.parquet" for d in sorted(ds)}}


def interim_inputs(wildcards):
    """What rule interim reads. The monitored analysis (MMRM part and the pooled DESC
    count, or the TTE part and its KM step table for the events) and, for the run's cut when a
    previous cut is configured, the previous cut's ARD (analysed in the same DAG, "<cut>/previous")."""
    im = STUDY.interim
    if im is None:
        return {}
    if im.tte:
        out = {"parts": [f"{RES}/ard/parts/tte_{im.paramcd}.parquet"],
               "km": f"{RES}/ard/km/{im.paramcd}.parquet"}
    else:
        p = im.paramcd or STUDY.primary_param
        out = {"parts": [f"{RES}/ard/parts/mmrm_{p}.parquet",
                         f"{RES}/ard/parts/desc_{bds_params()[p]}.parquet"]}
    if PREVIOUS_CUT and wildcards.cut == RUN:
        out["previous"] = f"{RES}/previous/ard/ard.parquet"
    return out


def delivered_variables(wildcards):
    """A cut of ADaM datasets: the list of the sponsor's variables (none for an SDTM cut)."""
    adam = wildcards.cut in ADAM_CUTS
    return [run_path(wildcards, f"{RES}/validation/adam_variables.csv")] if adam else []

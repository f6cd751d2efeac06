# Paths and helper functions of the table and figure rules (tlf.smk).
# Tables, listings and figures (package hepatrial.tlf; conventions, outputs and ARD codes: docs/tlf.md).
# Summary tables and group-level figures read only the ARD; listings and individual-level figures
# (spaghetti, waterfall, cumulative incidence curves) read ADaM.
import re

TLF_CUT = str(CUT_DATE)
TLF_ARD = f"{RES}/ard/ard.parquet"
TLF_TAB = f"{RES}/tables"
TLF_FIG = f"{RES}/figures"


def tlf_bds_params(dataset):
    """BDS parameters summarised by visit (DESC) that come from ``dataset`` (adeff, adlb, adqs)."""
    return [p for p, d in bds_params().items() if d == dataset]


def tlf_mmrm_params():
    return [p["paramcd"] for p in STUDY["endpoints"]["mmrm_params"]]


def tlf_cif_params():
    """ADTTE parameters with competing events (every configured one but OS)."""
    return [p for p in STUDY["endpoints"]["tte"] if p != "OS"]


def tlf_alternatives(values):
    """A wildcard constraint matching exactly ``values`` (nothing when empty)."""
    return "|".join(re.escape(v) for v in values) if values else "(?!x)x"


def tlf_table(name, caption, category, subcategory=None):
    """The three renderings of one table, each declared for the report."""
    return {ext: report(f"{TLF_TAB}/{name}.{ext}", caption=f"../report/{caption}.rst", category=category,
                        subcategory=subcategory)
            for ext in ("csv", "rtf", "html")}


def tlf_figure(name, caption, category, subcategory=None):
    return {ext: report(f"{TLF_FIG}/{name}.{ext}", caption=f"../report/{caption}.rst", category=category,
                        subcategory=subcategory)
            for ext in ("png", "pdf")}


def tlf_outputs():
    """Every table (CSV, RTF, HTML), listing and figure (PNG, PDF) of the cut, for rule all."""
    meld = STUDY["scores"]["meld_primary"]
    parallel = STUDY["study"]["design"] == "parallel"
    tables = ["disposition", "baseline", "exposure", "km", "cif", "ae_overview", "ae_soc_pt", "l_sae",
              "l_deaths", "lab_shift", "lab_abn"]
    tables += [f"mmrm_{p}" for p in tlf_mmrm_params()] + [f"desc_{p}" for p in bds_params()]
    figures = ["ctp_shift", "labs", f"spaghetti_{meld}", f"waterfall_{meld}"]
    figures += [f"mmrm_{p}" for p in tlf_mmrm_params()] + [f"observed_{p}" for p in bds_params()]
    figures += [f"km_{p}" for p in STUDY["endpoints"]["tte"]] + [f"cif_{p}" for p in tlf_cif_params()]
    if parallel:
        tables.append("subgroup")
        figures.append(f"forest_{meld}")
    return ([f"{TLF_TAB}/{t}.{e}" for t in tables for e in ("csv", "rtf", "html")]
            + [f"{TLF_FIG}/{f}.{e}" for f in figures for e in ("png", "pdf")])

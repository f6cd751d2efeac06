# Tables and figures from the ARD (helpers in tlf_common.smk).
rule baseline_ard:
    """Subject-level summaries for the tables and figures (ARD BIGN, BASELINE, EXPOSURE, LAB_SHIFT, LAB_ABN,
    SHIFT_CTP, SUBGROUP)."""
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        adlb=f"{RES}/adam/adlb.parquet",
        adeff=f"{RES}/adam/adeff.parquet",
        study=config["study"],
    output:
        f"{RES}/ard/parts/baseline.parquet",
    log:
        f"{RES}/logs/baseline_ard.log",
    script:
        "../scripts/tlf_baseline_ard.py"


rule tlf_disposition:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("disposition", "disposition", "Disposition"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_disposition.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_baseline:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("baseline", "baseline", "Baseline"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_baseline.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_exposure:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("exposure", "exposure", "Safety"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_exposure.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_mmrm:
    """LS means by visit and arm, differences with CI and p, covariance structure used (ARD MMRM_*)."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("mmrm_{paramcd}", "mmrm", "Efficacy", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_mmrm_params()),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_mmrm_{{paramcd}}.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_desc_efficacy:
    """Observed values and change from baseline by visit (ARD DESC) of the ADEFF parameters."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("desc_{paramcd}", "desc", "Efficacy", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_bds_params("adeff")),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_desc_{{paramcd}}.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_desc_labs:
    """As tlf_desc_efficacy, for the ADLB parameters."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("desc_{paramcd}", "desc", "Labs", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_bds_params("adlb")),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_desc_{{paramcd}}.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_desc_qol:
    """As tlf_desc_efficacy, for the questionnaire scores (ADQS: CLDQ, EQ-5D-5L, SF-36)."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("desc_{paramcd}", "desc", "Quality of life", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_bds_params("adqs")),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_desc_{{paramcd}}.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_km:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("km", "km", "Survival"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_km.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_cif:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("cif", "cif", "Survival"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_cif.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_ae_overview:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("ae_overview", "ae_overview", "Safety"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_ae_overview.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_ae_soc_pt:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("ae_soc_pt", "ae_soc_pt", "Safety"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_ae_soc_pt.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_lab_shift:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("lab_shift", "lab_shift", "Labs"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_lab_shift.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_lab_abn:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("lab_abn", "lab_abn", "Labs"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_lab_abn.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_subgroup:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_table("subgroup", "subgroup", "Efficacy"),
    params:
        cut=TLF_CUT,
    log:
        f"{RES}/logs/tlf_subgroup.log",
    script:
        "../scripts/tlf_table.py"


rule tlf_listing_sae:
    """Listing of serious TEAEs (reads ADAE and ADSL)."""
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        adae=f"{RES}/adam/adae.parquet",
        study=config["study"],
    output:
        **tlf_table("l_sae", "l_sae", "Safety"),
    params:
        cut=TLF_CUT,
        kind="sae",
    log:
        f"{RES}/logs/tlf_listing_sae.log",
    script:
        "../scripts/tlf_listing.py"


rule tlf_listing_deaths:
    """Listing of deaths (reads ADSL and ADAE)."""
    input:
        adsl=f"{RES}/adam/adsl.parquet",
        adae=f"{RES}/adam/adae.parquet",
        study=config["study"],
    output:
        **tlf_table("l_deaths", "l_deaths", "Safety"),
    params:
        cut=TLF_CUT,
        kind="deaths",
    log:
        f"{RES}/logs/tlf_listing_deaths.log",
    script:
        "../scripts/tlf_listing.py"


rule tlf_fig_mmrm:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure("mmrm_{paramcd}", "fig_mmrm", "Efficacy", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_mmrm_params()),
    params:
        cut=TLF_CUT,
        kind="mmrm",
    log:
        f"{RES}/logs/tlf_fig_mmrm_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_observed_efficacy:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure("observed_{paramcd}", "fig_observed", "Efficacy", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_bds_params("adeff")),
    params:
        cut=TLF_CUT,
        kind="observed",
    log:
        f"{RES}/logs/tlf_fig_observed_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_observed_labs:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure("observed_{paramcd}", "fig_observed", "Labs", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_bds_params("adlb")),
    params:
        cut=TLF_CUT,
        kind="observed",
    log:
        f"{RES}/logs/tlf_fig_observed_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_observed_qol:
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure("observed_{paramcd}", "fig_observed", "Quality of life", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_bds_params("adqs")),
    params:
        cut=TLF_CUT,
        kind="observed",
    log:
        f"{RES}/logs/tlf_fig_observed_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_labs:
    """Bilirubin, albumin and INR by visit and arm (ARD DESC)."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure("labs", "fig_labs", "Labs"),
    params:
        cut=TLF_CUT,
        kind="labs",
    log:
        f"{RES}/logs/tlf_fig_labs.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_spaghetti:
    """Individual MELD trajectories by arm with the median (ADEFF; median from ARD DESC)."""
    input:
        ard=TLF_ARD,
        adeff=f"{RES}/adam/adeff.parquet",
        study=config["study"],
    output:
        **tlf_figure("spaghetti_{paramcd}", "fig_spaghetti", "Efficacy"),
    wildcard_constraints:
        paramcd=re.escape(STUDY["scores"]["meld_primary"]),
    params:
        cut=TLF_CUT,
        kind="spaghetti",
    log:
        f"{RES}/logs/tlf_fig_spaghetti_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_waterfall:
    """Each subject's MELD change at the primary visit (ADEFF)."""
    input:
        ard=TLF_ARD,
        adeff=f"{RES}/adam/adeff.parquet",
        study=config["study"],
    output:
        **tlf_figure("waterfall_{paramcd}", "fig_waterfall", "Efficacy"),
    wildcard_constraints:
        paramcd=re.escape(STUDY["scores"]["meld_primary"]),
    params:
        cut=TLF_CUT,
        kind="waterfall",
    log:
        f"{RES}/logs/tlf_fig_waterfall_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_forest:
    """Treatment effect at the primary visit by subgroup (ARD SUBGROUP)."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure("forest_{paramcd}", "fig_forest", "Efficacy"),
    wildcard_constraints:
        paramcd=re.escape(STUDY["scores"]["meld_primary"]),
    params:
        cut=TLF_CUT,
        kind="forest",
    log:
        f"{RES}/logs/tlf_fig_forest_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_ctp_shift:
    """CTP class at baseline vs the primary visit, stacked bars by arm (ARD SHIFT_CTP)."""
    input:
        ard=TLF_ARD,
        study=config["study"],
    output:
        **tlf_figure("ctp_shift", "fig_ctp_shift", "Efficacy"),
    params:
        cut=TLF_CUT,
        kind="ctp_shift",
    log:
        f"{RES}/logs/tlf_fig_ctp_shift.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_km:
    """Kaplan-Meier curves with CI band, censor marks and the number at risk (KM step table)."""
    input:
        ard=TLF_ARD,
        km=f"{RES}/ard/km/{{paramcd}}.parquet",
        study=config["study"],
    output:
        **tlf_figure("km_{paramcd}", "fig_km", "Survival", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(STUDY["endpoints"]["tte"]),
    params:
        cut=TLF_CUT,
        kind="km",
    log:
        f"{RES}/logs/tlf_fig_km_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"


rule tlf_fig_cif:
    """Cumulative incidence curves by arm and cause (Aalen-Johansen on ADTTE)."""
    input:
        ard=TLF_ARD,
        adtte=f"{RES}/adam/adtte.parquet",
        study=config["study"],
    output:
        **tlf_figure("cif_{paramcd}", "fig_cif", "Survival", "{paramcd}"),
    wildcard_constraints:
        paramcd=tlf_alternatives(tlf_cif_params()),
    params:
        cut=TLF_CUT,
        kind="cif",
    log:
        f"{RES}/logs/tlf_fig_cif_{{paramcd}}.log",
    script:
        "../scripts/tlf_figure.py"

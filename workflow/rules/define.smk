# define.xml 2.1 of the ADaM datasets and the analysis results metadata of the tables (docs/tlf.md).
ADAM_DATASETS = ("adsl", "adlb", "adeff", "adqs", "adtte", "adae", "adce")


rule define_xml:
    """define.xml (Define-XML 2.1) of the ADaM datasets and arm.json: each table's ARD rows."""
    resources:
        mem_mb=mem_mb("define_xml"),  # declared from the input size (hepatrial.resources)
    input:
        adam=[f"{RES}/adam/{d}.parquet" for d in ADAM_DATASETS],
        ard=f"{RES}/ard/ard.parquet",
        study=config["study"],
        delivered=delivered_variables,  # a cut of ADaM datasets: the sponsor's variables
    output:
        define=f"{RES}/define/define.xml",
        arm=f"{RES}/define/arm.json",
    params:
        cut=run_cut_date,
        tables=[s[0] for s in tlf_table_specs()],
        numbers=tlf_numbers("tables"),
    log:
        f"{RES}/logs/define_xml.log",
    script:
        "../scripts/define_xml.py"

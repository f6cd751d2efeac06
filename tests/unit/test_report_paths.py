"""File names of the report rules: the manifest hashes every output but itself."""

from __future__ import annotations

from studies import make_study

from hepatrial.report.paths import DsmbPaths

STUDY = make_study(endpoints={"tte": ["OS", "TFS"]})


def test_manifest_outputs_take_the_dags_outputs_and_never_itself():
    p = DsmbPaths("res", "rep", STUDY)
    outs = p.manifest_outputs(["res/adam/adsl.xpt", "res/tables/t1.rtf", *p.report_outputs()])
    assert "res/manifest.json" not in outs
    assert {
        "res/adam/adsl.xpt",
        "res/tables/t1.rtf",
        "rep/dsmb_open.pdf",
        "res/open/pooled_ard.parquet",
        "res/dsmb/arm_key.json",
    } <= set(outs)
    assert outs == sorted(set(outs))
    assert not any("compare" in o for o in outs)


def test_previous_cut_adds_the_comparison_files():
    p = DsmbPaths("res", "rep", STUDY.replace(previous_cut="data/x/2024-01-31"))

    assert p.open_inputs_outputs()["compare"] == "res/open/compare.parquet"
    assert set(p.compare_inputs()) == {
        "compare_new_subjects",
        "compare_new_events",
        "compare_changes",
        "compare_estimates",
    }
    assert "res/dsmb/compare/changes.parquet" in p.manifest_outputs([])
    assert p.km_tables() == ["res/ard/km/OS.parquet", "res/ard/km/TFS.parquet"]

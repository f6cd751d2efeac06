"""File names of the report rules (workflow/rules/report.smk), kept here so that the rules file
holds rules only (Snakemake lint: no functions beside rules)."""

from __future__ import annotations

from hepatrial.spec import Study
from hepatrial.spec import outputs as catalogue

COMPARE_PARTS = ("new_subjects", "new_events", "changes", "estimates")
CLOSED_FILES = {
    "ard": "ard.parquet",
    "saes": "saes.parquet",
    "deaths": "deaths.parquet",
    "km": "km.parquet",
}


class DsmbPaths:
    """Paths of one cut's report files. ``res`` and ``rep`` are the results and reports folders of
    the cut, concrete or as the rules' patterns (``results/{study}/{cut}``); ``study`` the study
    config, whose ``previous_cut`` (the run's, when given on the command line) adds the cut-to-cut
    files."""

    def __init__(self, res: str, rep: str, study: Study):
        self.res, self.rep, self.study = res, rep, study
        self.previous_cut = study.previous_cut or None

    def report_outputs(self) -> list[str]:
        """The documents and the manifest of the cut (for all_outputs())."""
        return catalogue.report_outputs(self.res, self.rep)

    def compare_outputs(self) -> dict[str, str]:
        return {k: f"{self.res}/dsmb/compare/{k}.parquet" for k in COMPARE_PARTS}

    def compare_inputs(self) -> dict[str, str]:
        """The cut-to-cut files, when the study config names a previous cut."""
        if not self.previous_cut:
            return {}
        return {f"compare_{k}": v for k, v in self.compare_outputs().items()}

    def open_inputs_outputs(self) -> dict[str, str]:
        out = {k: f"{self.res}/open/{k}.parquet" for k in ("pooled_ard", "saes", "deaths")}
        # the full listings the report names when it shows only their start (dsmb.listing_max_rows)
        out.update({f"listing_{k}": f"{self.res}/open/listing_{k}.csv" for k in ("saes", "deaths")})
        # the gate's redaction findings: they name the terms, so they sit with the unblinded files
        out["redactions"] = f"{self.res}/dsmb/open_redactions.csv"
        out["spec"] = f"{self.res}/open/study.json"
        if self.previous_cut:
            out["compare"] = f"{self.res}/open/compare.parquet"
        return out

    def open_compare_input(self) -> dict[str, str]:
        return {"compare": f"{self.res}/open/compare.parquet"} if self.previous_cut else {}

    def closed_inputs_outputs(self) -> dict[str, str]:
        out = {k: f"{self.res}/closed/{v}" for k, v in CLOSED_FILES.items()}
        out["arms"] = f"{self.res}/closed/arms.json"
        out.update(
            {f"listing_{k}": f"{self.res}/closed/listing_{k}.csv" for k in ("saes", "deaths")}
        )
        out["spec"] = f"{self.res}/closed/study.json"
        if self.previous_cut:
            out.update(
                {f"compare_{k}": f"{self.res}/closed/compare_{k}.parquet" for k in COMPARE_PARTS}
            )
        out["key"] = f"{self.res}/dsmb/arm_key.json"
        return out

    def closed_compare_inputs(self) -> dict[str, str]:
        if not self.previous_cut:
            return {}
        return {f"compare_{k}": f"{self.res}/closed/compare_{k}.parquet" for k in COMPARE_PARTS}

    def km_tables(self) -> list[str]:
        return catalogue.km_tables(self.study, self.res)

    def manifest_outputs(self, outputs: list[str]) -> list[str]:
        """Every output the manifest hashes: ``outputs`` (the DAG's final outputs, all_outputs(),
        which hold the tables and figures) without the manifest itself, the ARD, the report inputs
        and documents."""
        manifest = f"{self.res}/manifest.json"
        outs = [o for o in outputs if o != manifest]
        outs += [
            f"{self.res}/ard/ard.parquet",
            f"{self.res}/ard/ard.csv",
            f"{self.res}/ard/parts/dsmb.parquet",
            f"{self.res}/dsmb/saes.parquet",
            f"{self.res}/dsmb/deaths.parquet",
            *self.open_inputs_outputs().values(),
            *self.closed_inputs_outputs().values(),
            *[o for o in self.report_outputs() if o != manifest],
        ]
        if self.previous_cut:
            outs += list(self.compare_outputs().values())
        return sorted(dict.fromkeys(str(o) for o in outs))

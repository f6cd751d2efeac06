"""File names of the report rules (workflow/rules/report.smk), kept here so that the rules file
holds rules only (Snakemake lint: no functions beside rules)."""

from __future__ import annotations

import sys
from pathlib import Path

COMPARE_PARTS = ("new_subjects", "new_events", "changes", "estimates")
CLOSED_FILES = {"ard": "ard.parquet", "saes": "saes.parquet", "deaths": "deaths.parquet", "km": "km.parquet"}


class DsmbPaths:
    """Paths of one cut's report files. ``namespace`` is the Snakefile's globals, where
    ``all_outputs`` (and ``tlf_outputs`` when the tables rules are included) are looked up when
    the manifest's inputs are resolved, after every rules file is read."""

    def __init__(self, res: str, rep: str, study: dict, namespace: dict | None = None):
        self.res, self.rep, self.study = res, rep, study
        self.previous_cut = study.get("previous_cut") or None
        self.namespace = namespace if namespace is not None else {}

    def report_outputs(self) -> list[str]:
        """The documents and the manifest of the cut (for all_outputs())."""
        return [f"{self.rep}/dsmb_open.html", f"{self.rep}/dsmb_open.pdf", f"{self.rep}/dsmb_closed.html",
                f"{self.rep}/dsmb_closed.pdf", f"{self.res}/manifest.json"]

    def previous_cut_files(self) -> list[str]:
        if not self.previous_cut:
            return []
        from hepatrial.errors import HepatrialError
        from hepatrial.ingest.read import cut_listing

        folder = Path(self.previous_cut)
        if not folder.is_dir():
            sys.exit(f"ERROR: previous_cut folder {folder} does not exist")
        # the domain files only: other names are not read, and never reach Snakemake as patterns
        try:
            return [str(p) for p in cut_listing(folder)[1]]
        except HepatrialError as exc:
            sys.exit(f"ERROR: previous_cut: {' '.join(str(exc).split())}")

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
        out.update({f"listing_{k}": f"{self.res}/closed/listing_{k}.csv" for k in ("saes", "deaths")})
        out["spec"] = f"{self.res}/closed/study.json"
        if self.previous_cut:
            out.update({f"compare_{k}": f"{self.res}/closed/compare_{k}.parquet" for k in COMPARE_PARTS})
        out["key"] = f"{self.res}/dsmb/arm_key.json"
        return out

    def closed_compare_inputs(self) -> dict[str, str]:
        if not self.previous_cut:
            return {}
        return {f"compare_{k}": f"{self.res}/closed/compare_{k}.parquet" for k in COMPARE_PARTS}

    def km_tables(self) -> list[str]:
        return [f"{self.res}/ard/km/{p}.parquet" for p in self.study["endpoints"]["tte"]]

    def manifest_outputs(self, wildcards=None) -> list[str]:
        """Every output the manifest hashes: the DAG's final outputs (without the manifest), the ARD,
        the report inputs and documents, and the tables and figures when ``tlf_outputs`` exists."""
        manifest = f"{self.res}/manifest.json"
        outs = []
        all_outputs = self.namespace.get("all_outputs")
        if callable(all_outputs):
            outs += [o for o in all_outputs() if o != manifest]
        outs += [f"{self.res}/ard/ard.parquet", f"{self.res}/ard/ard.csv", f"{self.res}/ard/parts/dsmb.parquet",
                 f"{self.res}/dsmb/fallback.parquet", f"{self.res}/dsmb/saes.parquet", f"{self.res}/dsmb/deaths.parquet",
                 *self.open_inputs_outputs().values(), *self.closed_inputs_outputs().values(),
                 *[o for o in self.report_outputs() if o != manifest]]
        if self.previous_cut:
            outs += list(self.compare_outputs().values())
        tlf = self.namespace.get("tlf_outputs")
        if callable(tlf):
            outs += list(tlf())
        return sorted(dict.fromkeys(str(o) for o in outs))

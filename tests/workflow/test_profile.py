"""The SLURM profile (config/profiles/slurm): it loads, names only real rules, and plans the DAG.

Without the SLURM executor plugin installed, the dry run overrides the profile's executor with
``--executor local``; Snakemake still parses the whole profile (resources, groups), and the test
reads each job's resources back from the dry-run output. With the plugin installed, a dry run
with the profile's own executor must plan the DAG too.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import dag
import tinycut
import yaml
from dag import snakemake

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "config/profiles/slurm"
HEAVY = ("ingest", "adam_bds", "mmrm", "survival")


def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def rule_names() -> set[str]:
    text = "\n".join(p.read_text() for p in (ROOT / "workflow/rules").glob("*.smk"))
    return set(re.findall(r"^\s*rule\s+(\w+)\s*:", text, flags=re.M))


def dry_run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    cut = tinycut.write_cut(tmp_path / "2024-06-30")
    study = tinycut.write_study(tmp_path / "study.yaml")
    return snakemake("--profile", PROFILE, *extra, "-n", *dag.config_args(study, cut, tmp_path))


def job_resources(stdout: str) -> dict[str, list[dict[str, str]]]:
    """Rule name -> the resources of each of its jobs, from a dry run's job listing."""
    out: dict[str, list[dict[str, str]]] = {}
    rule = None
    for line in stdout.splitlines():
        m = re.match(r"\s*(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        elif rule and line.strip().startswith("resources:"):
            pairs = (kv.split("=", 1) for kv in line.split(":", 1)[1].split(", "))
            out.setdefault(rule, []).append({k.strip(): v.strip() for k, v in pairs})
            rule = None
    return out


def test_profile_is_a_slurm_profile_naming_only_real_rules():
    p = profile()
    assert p["executor"] == "slurm" and int(p["jobs"]) > 0
    assert {"slurm_partition", "runtime", "mem_mb"} <= set(p["default-resources"])
    assert set(HEAVY) <= set(p["set-resources"])
    rules = rule_names()
    unknown = sorted(set(p["set-resources"]) - rules)
    assert unknown == [], f"set-resources names rules that do not exist: {unknown}"
    grouped = sorted({g.split("=")[0] for g in p.get("groups", [])} - rules)
    assert grouped == [], f"groups name rules that do not exist: {grouped}"


def test_dry_run_with_the_profile_plans_the_dag_with_its_resources(tmp_path):
    out = dry_run(tmp_path, "--executor", "local")
    assert out.returncode == 0, out.stderr[-3000:]
    res = job_resources(out.stdout)
    p = profile()
    for rule in ("ingest", "adsl_core", "adam_bds", "adtte", "adae", "adsl", "trace_rows"):
        assert rule in res, f"{rule} not planned:\n{out.stdout[-3000:]}"
    from hepatrial.resources import FLOOR

    for rule, jobs in res.items():
        want = {**p["default-resources"], **p["set-resources"].get(rule, {})}
        for job in jobs:
            assert job.get("slurm_partition") == str(want["slurm_partition"]), (rule, job)
            assert job.get("runtime") == str(want["runtime"]), (rule, job)
            # mem_mb: the rule's declaration (hepatrial.resources), a function of the input size,
            # evaluated now or once the inputs exist; the profile's default for rules without one
            assert (
                job.get("mem_mb") in ("<TBD>", str(want["mem_mb"])) or int(job["mem_mb"]) >= FLOOR
            ), (rule, job)
    ingest = p["set-resources"]["ingest"]
    assert res["ingest"][0]["runtime"] == str(ingest["runtime"])  # per-rule resources applied
    assert int(res["ingest"][0]["mem_mb"]) >= FLOOR  # the cut exists: the declaration is evaluated


def test_dry_run_with_the_slurm_executor(tmp_path):
    # the plugin is pinned in the test extras (pyproject.toml), so this always runs
    assert importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None
    out = dry_run(tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ingest" in out.stdout

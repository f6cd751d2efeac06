"""Run manifests: what went in and what came out of one data cut, by content hash.

Two files, so that the DAG has no cycle:

- the **input manifest** ``results/<study>/<cut>/manifest_inputs.json``: the SHA-256 of every file
  of the data cut (and of the previous cut, when the config names one) and of the study config.
  It is made before anything else and its own SHA-256 is the *input manifest hash* stamped on
  every page of the DSMB reports: two reports with the same stamp were made from the same bytes.
  It holds no versions, no commit, no absolute paths and no time, so the stamp depends on the
  data and the config only (a checkout in another folder gives the same stamp).
- the **full manifest** ``results/<study>/<cut>/manifest.json``: the input manifest, the versions
  of the pipeline and of the packages that compute, the git commit (``git rev-parse HEAD``, or
  ``"unknown"`` without git) and the SHA-256 of every output; the last step of the DAG.

Both are deterministic: keys sorted, paths relative (to the cut folder, the results folder of
the cut or the reports folder of the cut), no timestamps.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from hepatrial import stamp

# Packages whose version can change a number, a table or a document.
TRACKED_PACKAGES = (
    "hepatrial",
    "polars",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "lifelines",
    "pyarrow",
    "matplotlib",
    "plotnine",
    "great_tables",
    "rtflite",
    "typst",
    "pandera",
    "snakemake",
)
MANIFEST_VERSION = 1


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dumps(obj: dict) -> str:
    """The one JSON form of a manifest: sorted keys, two-space indent, newline at the end."""
    return json.dumps(stamp.json_obj(obj), sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def write_json(obj: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(dumps(obj), encoding="utf-8")


def _folder_hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


def build_input_manifest(
    cut_dir: str | Path, study_config: str | Path, previous_cut: str | Path | None = None
) -> dict:
    """The input manifest of a cut: file name -> SHA-256 for the cut (and previous cut) folders,
    and the study config's hash. Paths are the folder names only."""
    cut_dir = Path(cut_dir)
    out = {
        "manifest_version": MANIFEST_VERSION,
        "cut": {"name": cut_dir.name, "files": _folder_hashes(cut_dir)},
        "study_config": {"name": Path(study_config).name, "sha256": sha256_file(study_config)},
        "previous_cut": None,
    }
    if previous_cut:
        prev = Path(previous_cut)
        out["previous_cut"] = {"name": prev.name, "files": _folder_hashes(prev)}
    return out


def write_input_manifest(cut_dir, study_config, out, previous_cut=None) -> dict:
    manifest = build_input_manifest(cut_dir, study_config, previous_cut)
    write_json(manifest, out)
    return manifest


def input_manifest_hash(path: str | Path) -> str:
    """The stamp of the reports: SHA-256 of the input manifest file's bytes."""
    return sha256_file(path)


def git_commit(where: str | Path | None = None) -> str:
    """``git rev-parse HEAD`` of the repository holding ``where`` (default: this package), else
    ``"unknown"`` (no git, not a repository, any error): the manifest never fails for want of git."""
    where = Path(where) if where else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip()
    if out.returncode != 0 or len(commit) != 40:
        return "unknown"
    return commit


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    versions = {"python": ".".join(str(x) for x in sys.version_info[:3])}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    import hepatrial

    versions["hepatrial"] = hepatrial.__version__
    return versions


def relative_name(path: str | Path, roots: dict[str, str | Path]) -> str:
    """``<root label>/<path relative to that root>`` for the first root holding ``path``, else the
    file name: results move between folders, the manifest must not."""
    p = Path(path).resolve()
    for label, root in roots.items():
        try:
            return f"{label}/{p.relative_to(Path(root).resolve()).as_posix()}"
        except ValueError:
            continue
    return p.name


def build_manifest(
    input_manifest: str | Path,
    outputs: list[str | Path],
    roots: dict[str, str | Path],
    commit: str | None = None,
    versions: dict[str, str] | None = None,
) -> dict:
    """The full manifest: the input manifest (and its hash), versions, commit, output hashes."""
    inputs = json.loads(Path(input_manifest).read_text(encoding="utf-8"))
    files = {}
    for o in outputs:
        name = relative_name(o, roots)
        if name in files:
            raise ValueError(f"two outputs map to the manifest name {name!r}")
        files[name] = sha256_file(o)
    return {
        "manifest_version": MANIFEST_VERSION,
        "inputs": inputs,
        "input_manifest_sha256": input_manifest_hash(input_manifest),
        "versions": versions if versions is not None else package_versions(),
        "git_commit": commit if commit is not None else git_commit(),
        "outputs": dict(sorted(files.items())),
    }


def write_manifest(input_manifest, outputs, roots, out) -> dict:
    manifest = build_manifest(input_manifest, [o for o in outputs if Path(o) != Path(out)], roots)
    write_json(manifest, out)
    return manifest

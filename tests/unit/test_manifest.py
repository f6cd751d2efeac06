"""Input and full manifests: content hashes, determinism, location independence, git fallback."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from hepatrial import manifest


@pytest.fixture
def cut(tmp_path):
    folder = tmp_path / "data" / "2024-06-30"
    folder.mkdir(parents=True)
    (folder / "dm.csv").write_bytes(b"USUBJID\nT-001\n")
    (folder / "ae.csv").write_bytes(b"USUBJID,AEDECOD\nT-001,Pyrexia\n")
    study = tmp_path / "study.yaml"
    study.write_text("study: {id: TINY}\n")
    return folder, study


def test_input_manifest_lists_each_file_by_name_with_its_sha256(cut):
    folder, study = cut
    m = manifest.build_input_manifest(folder, study)
    assert m["cut"] == {
        "name": "2024-06-30",
        "files": {
            "ae.csv": hashlib.sha256(b"USUBJID,AEDECOD\nT-001,Pyrexia\n").hexdigest(),
            "dm.csv": hashlib.sha256(b"USUBJID\nT-001\n").hexdigest(),
        },
    }
    assert m["study_config"] == {
        "name": "study.yaml",
        "sha256": hashlib.sha256(b"study: {id: TINY}\n").hexdigest(),
    }
    assert m["previous_cut"] is None


def test_input_manifest_hash_is_the_same_from_another_folder_and_changes_with_one_byte(
    cut, tmp_path
):
    folder, study = cut
    a = tmp_path / "a.json"
    manifest.write_input_manifest(folder, study, a)
    other = tmp_path / "elsewhere" / "2024-06-30"
    shutil.copytree(folder, other)
    b = tmp_path / "b.json"
    manifest.write_input_manifest(other, study, b)
    assert a.read_bytes() == b.read_bytes()
    (other / "ae.csv").write_bytes(b"USUBJID,AEDECOD\nT-001,Pyrexib\n")  # one byte changed
    manifest.write_input_manifest(other, study, b)
    assert manifest.input_manifest_hash(a) != manifest.input_manifest_hash(b)
    study.write_text("study: {id: TINY2}\n")
    c = tmp_path / "c.json"
    manifest.write_input_manifest(folder, study, c)
    assert manifest.input_manifest_hash(a) != manifest.input_manifest_hash(c)


def test_input_manifest_has_sorted_keys_and_no_time(cut, tmp_path):
    folder, study = cut
    out = tmp_path / "m.json"
    manifest.write_input_manifest(folder, study, out, previous_cut=folder)
    text = out.read_text()
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"
    assert "time" not in text and "date" not in text
    assert json.loads(text)["previous_cut"]["name"] == "2024-06-30"


def test_git_commit_is_unknown_outside_a_repository_and_without_git(tmp_path, monkeypatch):
    assert manifest.git_commit(tmp_path) == "unknown"
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable on PATH
    assert manifest.git_commit() == "unknown"


def test_full_manifest_hashes_outputs_under_relative_names(cut, tmp_path):
    folder, study = cut
    inp = tmp_path / "res" / "manifest_inputs.json"
    manifest.write_input_manifest(folder, study, inp)
    (tmp_path / "res" / "ard").mkdir()
    (tmp_path / "res" / "ard" / "ard.parquet").write_bytes(b"x")
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "dsmb_open.html").write_bytes(b"y")
    out = tmp_path / "res" / "manifest.json"
    m = manifest.write_manifest(
        inp,
        [tmp_path / "rep" / "dsmb_open.html", tmp_path / "res" / "ard" / "ard.parquet", out],
        {"results": tmp_path / "res", "reports": tmp_path / "rep"},
        out,
    )
    assert m["outputs"] == {
        "reports/dsmb_open.html": hashlib.sha256(b"y").hexdigest(),
        "results/ard/ard.parquet": hashlib.sha256(b"x").hexdigest(),
    }
    assert m["input_manifest_sha256"] == hashlib.sha256(inp.read_bytes()).hexdigest()
    assert m["versions"]["hepatrial"] and m["versions"]["polars"] != "not installed"
    assert m["git_commit"] == "unknown" or len(m["git_commit"]) == 40
    assert json.loads(out.read_text()) == m

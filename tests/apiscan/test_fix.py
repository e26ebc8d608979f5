"""--suggest-fix: diffs only for pure apiVersion changes, notes for the rest."""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from ekslift.apiscan.cli import configure_scan_parser, run_scan
from ekslift.apiscan.facts import Targets, load_facts
from ekslift.apiscan.fix import suggest_fixes
from ekslift.apiscan.manifests import scan_manifests

CRON = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: nightly\n"
PDB = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n"


def fixes_for(path: Path, target: str = "1.32"):
    facts = load_facts()
    targets = Targets(Version(target))
    result = scan_manifests([str(path)], facts, targets)
    return suggest_fixes(result.sightings, facts, targets)


def test_pure_api_version_change_gets_a_diff(tmp_path: Path) -> None:
    manifest = tmp_path / "cron.yaml"
    manifest.write_text(CRON)
    fix = fixes_for(manifest)
    assert "-apiVersion: batch/v1beta1\n+apiVersion: batch/v1\n" in fix.patch
    assert fix.manual == []


def test_fields_change_gets_a_note_and_no_diff(tmp_path: Path) -> None:
    manifest = tmp_path / "pdb.yaml"
    manifest.write_text(PDB)
    fix = fixes_for(manifest)
    assert fix.patch == ""
    (manual,) = fix.manual
    assert "selector" in manual.reason


def test_chain_goes_to_the_newest_served_version(tmp_path: Path) -> None:
    manifest = tmp_path / "fs.yaml"
    manifest.write_text(
        "apiVersion: flowcontrol.apiserver.k8s.io/v1beta1\nkind: FlowSchema\nmetadata: {name: f}\n"
    )
    assert "+apiVersion: flowcontrol.apiserver.k8s.io/v1\n" in fixes_for(manifest).patch


def test_quoted_flow_json_and_crlf_are_rewritten_in_place(tmp_path: Path) -> None:
    (tmp_path / "q.yaml").write_text(
        'apiVersion: "batch/v1beta1" # old\nkind: CronJob\nmetadata: {name: q}\n'
    )
    (tmp_path / "f.yaml").write_text(
        "{apiVersion: batch/v1beta1, kind: CronJob, metadata: {name: f}}\n"
    )
    (tmp_path / "j.json").write_text(
        '{"apiVersion": "batch/v1beta1", "kind": "CronJob",\n "metadata": {"name": "j"}}'
    )
    (tmp_path / "c.yaml").write_bytes(CRON.replace("nightly", "c").replace("\n", "\r\n").encode())
    patch = fixes_for(tmp_path).patch
    assert '+apiVersion: "batch/v1" # old\n' in patch
    assert "+{apiVersion: batch/v1, kind: CronJob, metadata: {name: f}}\n" in patch
    assert '+{"apiVersion": "batch/v1", "kind": "CronJob",\n' in patch
    assert "+apiVersion: batch/v1\r\n" in patch


def test_patch_applies_with_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cron.yaml").write_text(CRON + "---\n" + CRON.replace("nightly", "two"))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    configure_scan_parser(parser)
    out, err = io.StringIO(), io.StringIO()
    args = parser.parse_args(["cron.yaml", "-t", "1.30", "--suggest-fix"])
    assert run_scan(args, stdout=out, stderr=err) == 3
    assert "CronJob" in err.getvalue()  # the report goes to stderr, the patch to stdout
    (tmp_path / "fix.patch").write_text(out.getvalue())
    subprocess.run(["git", "apply", "fix.patch"], cwd=tmp_path, check=True)
    assert (tmp_path / "cron.yaml").read_text().count("apiVersion: batch/v1\n") == 2


@pytest.mark.parametrize(
    "target, served", [("1.26", "v1beta3"), ("1.32", "v1")], ids=["1.26", "1.32"]
)
def test_fix_never_suggests_an_api_the_target_does_not_serve(
    tmp_path: Path, target: str, served: str
) -> None:
    (tmp_path / "fs.yaml").write_text(
        "apiVersion: flowcontrol.apiserver.k8s.io/v1beta1\nkind: FlowSchema\nmetadata: {name: f}\n"
    )
    (tmp_path / "plc.yaml").write_text(
        "apiVersion: flowcontrol.apiserver.k8s.io/v1beta1\nkind: PriorityLevelConfiguration\n"
        "metadata: {name: p}\n"
    )
    fix = fixes_for(tmp_path, target)
    assert f"+apiVersion: flowcontrol.apiserver.k8s.io/{served}\n" in fix.patch
    (manual,) = fix.manual  # the priority level's field was renamed on the way
    assert f"move to flowcontrol.apiserver.k8s.io/{served}," in manual.reason
    assert "nominalConcurrencyShares" in manual.reason
    for stale in ("v1beta2", "v1beta3" if served == "v1" else "v1beta2"):
        assert f"move to flowcontrol.apiserver.k8s.io/{stale}" not in manual.reason
        assert f"change apiVersion to flowcontrol.apiserver.k8s.io/{stale}" not in manual.reason

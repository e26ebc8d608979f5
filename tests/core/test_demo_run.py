"""`ekslift run` against the sandbox, as `make demo` does it: archive, waivers, resume, secrets."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from ekslift import archive
from ekslift.metrics.weights import read_history
from ekslift.params import load_params
from ekslift_sandbox.scenario import (
    ARGOCD_TOKEN_SENTINEL,
    HELM_VALUE_SENTINEL,
    SECRET_SENTINEL,
    SEEDED_API_BLOCKERS,
)
from tests.core.demo import DemoOnS3, run, run_dir_of

pytestmark = pytest.mark.sandbox


class DemoRun(NamedTuple):
    done: subprocess.CompletedProcess[str]
    run_dir: Path
    shares: dict[str, int]  # green's share AWS showed per region when the demo ended


@pytest.fixture(scope="module")
def demo_run(demo_on_s3: DemoOnS3) -> DemoRun:
    """The session's one full demo run (archived to the sandbox's S3; its working copy is
    read here), shared with the audit tests."""
    return DemoRun(demo_on_s3.done, demo_on_s3.run_dir, demo_on_s3.shares)


def test_demo_run_passes_with_waivers(demo_run) -> None:
    done, run_dir, _ = demo_run
    assert done.returncode == 0, done.stdout + done.stderr
    assert "step 1/" in done.stdout and "01-inventory: warn" in done.stdout
    manifest = archive.load_manifest(run_dir)
    assert manifest.verdict == "warn"
    assert manifest.steps and all(s.status == "done" for s in manifest.steps)
    assert manifest.waivers["01-inventory"], "the manifest must record the accepted blockers"
    assert manifest.versions["helm"].startswith("v")
    assert manifest.operator and manifest.git_commit
    assert "03-chart-diff: warn" in done.stdout
    assert manifest.waivers["03-chart-diff"], "step 3's blockers are waived in demo.yaml"


def test_archive_is_complete_and_hashes_match(demo_run) -> None:
    _, run_dir, _ = demo_run
    manifest = archive.load_manifest(run_dir)
    for step in manifest.steps:
        for rel in (
            f"notebooks/{step.step}.ipynb",
            f"html/{step.step}.html",
            f"results/{step.step}.json",
        ):
            assert rel in manifest.files, rel
    assert "artefacts/01-inventory/support-timeline.png" in manifest.files
    assert archive.verify(run_dir) == []
    html = (run_dir / "html" / "01-inventory.html").read_text()
    assert "Blue/green parity" in html and "<img" in html
    result = json.loads((run_dir / "results" / "01-inventory.json").read_text())
    assert result["schema_version"] == 1 and result["verdict"] == "warn"
    # Cutover readiness is part of step 1's gate: its seeded blockers are there, waived.
    waived = {w["finding_id"] for w in result["waivers"]}
    readiness = {f["id"] for f in result["findings"] if f["id"].startswith("readiness/")}
    assert "readiness/us-east-1/trust-policy/photos/photo-api" in readiness & waived
    assert "artefacts/01-inventory/readiness.csv" in manifest.files
    assert "Cutover readiness" in html


def test_step_4_shifts_both_regions_to_green(demo_run) -> None:
    """The shift ran as its own process, the canary region first, every verdict passed, and
    AWS agrees: every forward action naming blue is at 100 % green."""
    from ekslift.traffic.state import StateLog, region_view

    done, run_dir, shares = demo_run
    assert "04-traffic-shift: pass" in done.stdout, done.stdout + done.stderr
    result = json.loads((run_dir / "results" / "04-traffic-shift.json").read_text())
    assert result["verdict"] == "pass"
    # The approval it wrote under, operator and approver as persons, in the manifest too.
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["approvals"] == result["approvals"]
    (approval,) = result["approvals"]
    assert approval["change_id"] == "DEMO-1" and approval["approver_person"] == "approver"
    assert approval["operator_person"] != "approver"
    assert approval["hold_modes"] == {"ap-northeast-1": "approved", "us-east-1": "approved"}
    artefacts = run_dir / "artefacts" / "04-traffic-shift"
    records = StateLog(artefacts / "state.jsonl").records()
    assert [r.region for r in records if r.kind == "region"] == ["ap-northeast-1", "us-east-1"]
    verdicts = [
        (r.region, r.data["share"], r.data["verdict"]) for r in records if r.kind == "verdict"
    ]
    assert {v for _, _, v in verdicts} == {"pass"} and len(verdicts) == 10  # smoke, 3, bake
    # Step 5's weight history: per region the weights found (0 %), then 5, 25, 50 and 100 %
    # as read back after each write.
    history = read_history(artefacts / "weights.csv")
    for region in ("ap-northeast-1", "us-east-1"):
        assert [round(c.green * 100) for c in history[region]] == [0, 5, 25, 50, 100]
    assert (artefacts / "shift.pid").exists() and (artefacts / "weight-history.png").exists()
    for region in load_params("params/demo.yaml").regions:
        assert region_view(records, region.name).status == "shifted"
        assert shares[region.name] == 100, "AWS must agree: every forward action at 100 %"


def test_step_5_reviews_the_traffic_readably(demo_run) -> None:
    """Step 5 reviews step 4's shift from its weight history, on the generator's live
    minutes (waiting until they are final), and ends in warn or pass (never fail on a
    healthy green)."""
    _, run_dir, _ = demo_run
    result = json.loads((run_dir / "results" / "05-metrics-review.json").read_text())
    assert result["verdict"] in ("pass", "warn")
    ids = {f["id"] for f in result["findings"]}
    assert "05-metrics-review/window" not in ids, "the window is step 4's, not a lookback"
    assert {f"05-metrics-review/{r}/retire-blue" for r in ("ap-northeast-1", "us-east-1")} <= ids
    manifest = archive.load_manifest(run_dir)
    for name in ("metrics-us-east-1.png", "steps.csv", "metrics.csv", "retirement.csv"):
        assert f"artefacts/05-metrics-review/{name}" in manifest.files, name
    html = (run_dir / "html" / "05-metrics-review.html").read_text()
    assert "<img" in html and "Is blue safe to retire?" in html
    assert "judged minutes" in html and "blue quiet (min)" in html


def test_step_2_scans_the_demo_manifests_with_paths_as_written(demo_run) -> None:
    _, run_dir, _ = demo_run
    result = json.loads((run_dir / "results" / "02-api-scan.json").read_text())
    ids = {f["id"] for f in result["findings"]}
    assert "api-scan/-/-/file/CronJob/photos/photo-cleanup/batch/v1beta1" in ids
    assert "api-scan/problem/../examples/deploy/half-edited.yaml:9" in ids
    # Every seeded API blocker, and only those, each waived in demo.yaml with a reason.
    blockers = {f["id"] for f in result["findings"] if f["severity"] == "blocker"}
    assert blockers == SEEDED_API_BLOCKERS and result["verdict"] == "warn"
    manifest = archive.load_manifest(run_dir)
    assert manifest.params_dir == str(Path("params").resolve())


def test_step_3_proposes_and_archives(demo_run) -> None:
    _, run_dir, _ = demo_run
    result = json.loads((run_dir / "results" / "03-chart-diff.json").read_text())
    assert result["verdict"] == "warn"
    waived = {w["finding_id"] for w in result["waivers"]}
    blockers = {f["id"] for f in result["findings"] if f["severity"] == "blocker"}
    assert blockers and blockers <= waived
    manifest = archive.load_manifest(run_dir)
    for name in (
        "chart-diff.json",
        "chart-diff.csv",
        "dependencies.md",
        "renovate-packageRules.json",
    ):
        assert f"artefacts/03-chart-diff/{name}" in manifest.files
    html = (run_dir / "html" / "03-chart-diff.html").read_text()
    assert "<details>" in html and "event-router" in html


def test_nothing_secret_is_archived(demo_run) -> None:
    _, run_dir, _ = demo_run
    secrets = (SECRET_SENTINEL, HELM_VALUE_SENTINEL, ARGOCD_TOKEN_SENTINEL, "testing-secret")
    for path in run_dir.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            text = path.read_text(errors="replace")
            for secret in secrets:
                assert secret not in text, f"{secret} leaked into {path}"


def test_runs_list_and_show(demo_run) -> None:
    """On a local folder: the run's working copy is one (its S3 copy: the audit tests)."""
    _, run_dir, _ = demo_run
    listing = run("runs", "--archive-dir", str(run_dir.parent), "list")
    assert run_dir.name in listing.stdout
    shown = run("runs", "--archive-dir", str(run_dir.parent), "show", run_dir.name[-20:])
    assert shown.returncode == 0 and "all file hashes match" in shown.stdout


def test_unwaived_blocker_fails_then_resume_continues(sandbox, archive_dir, tmp_path) -> None:
    params = yaml.safe_load(Path("params/demo.yaml").read_text())
    dropped = params["waivers"].pop(0)
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(params))
    failed = run("run", "--params", str(strict), "--only", "inventory")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "01-inventory: fail" in failed.stdout
    run_dir = run_dir_of(failed.stdout)
    notebook = (run_dir / "notebooks" / "01-inventory.ipynb").read_text()
    assert "GateFailed" in notebook and dropped["id"] in notebook

    params["waivers"].insert(0, dropped)
    strict.write_text(yaml.safe_dump(params))
    resumed = run("run", "--resume", str(run_dir), "--params", str(strict), "--only", "inventory")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    manifest = archive.load_manifest(run_dir)
    assert manifest.steps[0].verdict == "warn"
    assert manifest.params_history == ["params.1.yaml"]
    assert archive.verify(run_dir) == []


def test_unreachable_cluster_ends_the_step_as_a_tool_error(sandbox, tmp_path) -> None:
    config = tmp_path / "kubeconfig"
    green = sandbox.kube_servers["photos-apne1-green"]
    config.write_text(
        Path(os.environ["KUBECONFIG"]).read_text().replace(green, "http://127.0.0.1:9")
    )
    done = run(
        "run",
        "--params",
        "params/demo.yaml",
        "--only",
        "inventory",
        env={**os.environ, "KUBECONFIG": str(config)},
    )
    assert done.returncode == 3, done.stdout + done.stderr
    run_dir = run_dir_of(done.stdout)
    step = archive.load_manifest(run_dir).steps[0]
    assert step.status == "error" and "could not reach: photos-apne1-green" in step.error
    assert step.verdict is not None, "what was read is judged and archived all the same"
    assert archive.verify(run_dir) == []


def test_bad_params_exit_2(sandbox, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        Path("params/demo.yaml").read_text().replace("target_version:", "target_versoin:")
    )
    done = run("run", "--params", str(bad))
    assert done.returncode == 2
    assert "target_versoin: unknown key" in done.stderr

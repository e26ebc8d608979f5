"""`ekslift run` against the sandbox, as `make demo` does it: archive, waivers, resume, secrets."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from ekslift import archive, aws
from ekslift.metrics.weights import read_history
from ekslift.params import load_params
from ekslift.traffic.actions import read_forward_set
from ekslift_sandbox.scenario import (
    ARGOCD_TOKEN_SENTINEL,
    HELM_VALUE_SENTINEL,
    SECRET_SENTINEL,
    SEEDED_API_BLOCKERS,
)

pytestmark = pytest.mark.sandbox
EKSLIFT = str(Path(".venv/bin/ekslift").resolve())


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EKSLIFT, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=900
    )


def run_dir_of(output: str) -> Path:
    line = next(x for x in output.splitlines() if "archived in" in x)
    return Path(line.split("archived in", 1)[1].strip())


class DemoRun(NamedTuple):
    done: subprocess.CompletedProcess[str]
    run_dir: Path
    shares: dict[str, int]  # green's share AWS showed per region when the demo ended


def _listener_actions(region: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every listener's default actions and every rule's actions of the region's ALBs."""
    elb = aws.client("elbv2", region)
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for balancer in elb.describe_load_balancers()["LoadBalancers"]:
        listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])
        for listener in listeners["Listeners"]:
            found[("listener", listener["ListenerArn"])] = listener["DefaultActions"]
            for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                if not rule["IsDefault"]:
                    found[("rule", rule["RuleArn"])] = rule["Actions"]
    return found


def _restore(region: str, saved: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    elb = aws.client("elbv2", region)
    for (kind, arn), actions in saved.items():
        if kind == "listener":
            elb.modify_listener(ListenerArn=arn, DefaultActions=actions)
        else:
            elb.modify_rule(RuleArn=arn, Actions=actions)


@contextmanager
def weights_put_back() -> Iterator[None]:
    """A demo run's step 4 moves the shared sandbox's ALBs to green: afterwards (whatever
    happened) every listener and rule is put back exactly as seeded, since the other tests
    share the sandbox and judge its seeded state (cutover readiness at the next share)."""
    params = load_params("params/demo.yaml")
    aws.clear_cache()
    saved = {region.name: _listener_actions(region.name) for region in params.regions}
    try:
        yield
    finally:
        aws.clear_cache()
        for region, actions in saved.items():
            _restore(region, actions)


@pytest.fixture(scope="module")
def demo_run(sandbox, archive_dir) -> Iterator[DemoRun]:
    """The whole demo; the shares step 4 left are recorded before the weights are put back."""
    params = load_params("params/demo.yaml")
    with weights_put_back():
        done = run("run", "--params", "params/demo.yaml")
        aws.clear_cache()
        shares = {
            region.name: read_forward_set(region.name, region.traffic.alb).share(region.traffic.alb)
            for region in params.regions
            if region.traffic is not None and region.traffic.alb is not None
        }
    yield DemoRun(done, run_dir_of(done.stdout), shares)


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


def test_runs_list_and_show(demo_run, archive_dir) -> None:
    _, run_dir, _ = demo_run
    listing = run("runs", "--archive-dir", str(archive_dir), "list")
    assert run_dir.name in listing.stdout
    shown = run("runs", "--archive-dir", str(archive_dir), "show", run_dir.name[-20:])
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

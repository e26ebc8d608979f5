"""Step 2 against the sandbox: every seeded removed API found by each source that holds it,
no false positives on migrated objects, blue's evidence judged against green, and a live
scan that survives API faults."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from ekslift.apiscan.estate import EstateScan, scan_estate
from ekslift.apiscan.facts import Targets, load_facts
from ekslift.apiscan.judge import gate_findings
from ekslift.apiscan.sightings import ObjectRow, Sighting
from ekslift.apiscan.sources.live import scan_live
from ekslift.cli import main
from ekslift.gate import judge
from ekslift.kube import KubeReader
from ekslift.params import load_params
from ekslift_sandbox import control
from ekslift_sandbox.scenario import SEEDED_API_BLOCKERS

pytestmark = pytest.mark.sandbox
PARAMS = Path(__file__).resolve().parents[2] / "params" / "demo.yaml"
# The demo's target as the file says it (its other values need the sandbox's environment).
TARGET = str(yaml.safe_load(PARAMS.read_text())["target_version"])
GREEN = "photos-apne1-green"
BLUE = "photos-apne1-blue"


@pytest.fixture(scope="module")
def scan(sandbox: control.SandboxState, tmp_path_factory: pytest.TempPathFactory) -> EstateScan:
    params = load_params(PARAMS)
    return scan_estate(params, helm_home=tmp_path_factory.mktemp("helm-home"))


def _rows(scan: EstateScan, **match: str | None) -> list[ObjectRow]:
    def fits(row: ObjectRow) -> bool:
        return all(getattr(row.lead, k) == v for k, v in match.items())

    return [row for row in scan.report.rows() if fits(row)]


def _sightings(scan: EstateScan, **match: str | None) -> list[Sighting]:
    return [f for f in scan.report.sightings if all(getattr(f, k) == v for k, v in match.items())]


def test_last_applied_removed_apis_are_found(scan: EstateScan) -> None:
    [pdb] = _rows(scan, cluster=GREEN, kind="PodDisruptionBudget", name="legacy-worker")
    assert pdb.sources == ("last-applied", "live")
    assert pdb.status == "removed" and pdb.must_change == ("last-applied",)
    assert pdb.lead.api_version == "policy/v1beta1"
    assert "policy/v1" in pdb.lead.note  # what the server stores
    clusters = {r.lead.cluster for r in _rows(scan, kind="CronJob", name="nightly-prune")}
    assert clusters == {
        "photos-apne1-blue",
        "photos-apne1-green",
        "photos-use1-blue",
        "photos-use1-green",
    }


def test_migrated_objects_are_not_reported(scan: EstateScan) -> None:
    assert _rows(scan, name="feed-migrated") == []
    assert not [f for f in _sightings(scan, name="feed-migrated") if f.status]
    # Charts that choose their API from .Capabilities render the replacement for the target.
    assert not [r for r in scan.report.rows() if (r.lead.name or "").startswith("feed")]


def test_stale_helm_release_is_not_cleared_by_the_live_object(scan: EstateScan) -> None:
    """The live PDB is read at policy/v1, but the next `helm upgrade` diffs the stored
    manifest, which names policy/v1beta1: the release must change."""
    [redis] = _rows(scan, cluster=GREEN, kind="PodDisruptionBudget", name="redis")
    assert redis.sources == ("helm-release", "live")
    assert redis.lead.source == "helm-release" and redis.status == "removed"
    assert redis.must_change == ("helm-release",)
    assert "mapkubeapis" in redis.note and "proves nothing" in redis.note
    [release] = _sightings(scan, cluster=GREEN, source="helm-release", name="redis")
    assert release.extra["template"] == "redis/templates/pdb.yaml"
    assert release.file == "helm release photos/redis revision 1"


def test_live_served_version_finds_the_karpenter_v1beta1_nodepool(scan: EstateScan) -> None:
    [pool] = _rows(scan, kind="NodePool", name="legacy-batch")
    assert pool.lead.source == "live" and pool.served_only
    assert pool.lead.cluster == BLUE
    assert pool.lead.api_version == "karpenter.sh/v1beta1"
    assert pool.status == "removed"


def test_managed_fields_and_crd_storage_on_green(scan: EstateScan) -> None:
    [hpa] = _rows(scan, cluster=GREEN, kind="HorizontalPodAutoscaler", name="search-indexer")
    assert hpa.lead.source == "managed-fields" and not hpa.stale_only
    assert hpa.lead.extra["manager"] == "kustomize-controller"
    [export] = _rows(scan, cluster=GREEN, kind="CronJob", name="report-export")
    assert export.stale_only and export.lead.extra["manager"] == "deploy-bot"
    [crd] = _rows(scan, cluster=GREEN, name="certificates.cert-manager.io")
    assert crd.lead.source == "crd-storage" and crd.lead.api_version == "cert-manager.io/v1alpha2"


def test_blue_evidence_is_judged_against_green(scan: EstateScan) -> None:
    """upload-gate's last-applied and use1's client calls are migrated on green (info);
    apne1's calls and both blues' nightly-prune are not (blockers, in the gate test)."""
    findings = {f.id: f for f in gate_findings(scan)}
    gate = findings[
        "api-scan/ap-northeast-1/photos-apne1-blue/last-applied/PodDisruptionBudget/photos/"
        "upload-gate/policy/v1beta1"
    ]
    assert gate.severity == "info" and "already migrated on photos-apne1-green" in gate.detail
    use1 = findings[
        "api-scan/us-east-1/photos-use1-blue/insights/PodDisruptionBudget/-/-/policy/v1beta1"
    ]
    assert use1.severity == "info"


def test_argocd_renders_blue_apps_on_removed_apis_and_green_clean(scan: EstateScan) -> None:
    argo = [r for r in scan.report.rows() if r.lead.source == "argocd"]
    found = {(r.lead.cluster, r.lead.kind, r.lead.name) for r in argo}
    assert ("photos-apne1-blue", "Ingress", "share-links-apne1-blue") in found
    assert ("photos-use1-blue", "CronJob", "notifications-use1-blue") in found
    assert ("photos-apne1-blue", "Ingress", "image-cdn-proxy-apne1-blue") in found
    assert not [c for c, _, _ in found if c.endswith("-green")]
    # cluster-autoscaler's newest version excludes 1.34 by its kubeVersion: named, not fatal.
    failed = [p for p in scan.report.problems if "cluster-autoscaler" in p.file]
    assert failed and all("kubeVersion" in p.message for p in failed)


def test_insights_deprecation_details_with_clients(scan: EstateScan) -> None:
    [calls] = _sightings(scan, source="insights", cluster=GREEN)
    assert (calls.kind, calls.api_version, calls.status) == (
        "PodDisruptionBudget",
        "policy/v1beta1",
        "removed",
    )
    assert calls.extra["kubernetes_version"] == "1.25"
    agents = [c["user_agent"] for c in calls.extra["clients"]]
    assert agents[0] == "pdb-exporter/0.4.1"
    assert any(a.startswith("kubectl/v1.24") for a in agents)


def test_no_secret_reaches_the_report(scan: EstateScan) -> None:
    from ekslift.apiscan.formats import render

    text = render(scan.report, "json", scan.facts)
    assert "SENTINEL" not in text


def test_gate_blocks_what_heads_for_green_and_demo_waivers_cover_it(scan: EstateScan) -> None:
    findings = gate_findings(scan)
    blockers = {f.id for f in findings if f.severity == "blocker"}
    assert blockers == SEEDED_API_BLOCKERS
    stale = "api-scan/ap-northeast-1/photos-apne1-green/managed-fields/CronJob/photos/"
    assert {f.severity for f in findings if f.id.startswith(stale)} == {"warning"}
    result = judge("02-api-scan", findings, load_params(PARAMS))
    assert result.verdict == "warn"
    assert {w.finding_id for w in result.waivers} == blockers


# -------------------------------------------------------------------- faults on the live scan
def _post(url: str, body: dict[str, object] | None = None) -> None:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def green_server(sandbox: control.SandboxState) -> Iterator[str]:
    url = sandbox.kube_servers[GREEN]
    yield url
    request = urllib.request.Request(f"{url}/_sandbox/faults", method="DELETE")
    urllib.request.urlopen(request, timeout=10).read()


def _legacy_worker_found(result_findings: list[Sighting]) -> bool:
    return any(f.name == "legacy-worker" and f.status == "removed" for f in result_findings)


@pytest.mark.parametrize("status", [500, 429])
def test_live_scan_retries_transient_errors(green_server: str, status: int) -> None:
    _post(
        f"{green_server}/_sandbox/faults",
        {"path": "/apis/policy/v1/poddisruptionbudgets", "status": status, "times": 2},
    )
    result = scan_live(KubeReader(GREEN), load_facts(), Targets(Version(TARGET)), cluster=GREEN)
    assert result.problems == []
    assert _legacy_worker_found(result.sightings)


def test_live_scan_survives_an_expired_continue_token(green_server: str) -> None:
    _post(
        f"{green_server}/_sandbox/faults",
        {"path": r"/api/v1/pods\?.*continue=", "status": 410, "times": 1},
    )
    result = scan_live(
        KubeReader(GREEN), load_facts(), Targets(Version(TARGET)), cluster=GREEN, page_size=20
    )
    assert result.problems == []
    assert _legacy_worker_found(result.sightings)
    baseline = scan_live(
        KubeReader(GREEN), load_facts(), Targets(Version(TARGET)), cluster=GREEN, page_size=20
    )
    assert result.stats["live.objects"] == baseline.stats["live.objects"]


def test_live_scan_names_a_resource_that_keeps_failing(green_server: str) -> None:
    _post(
        f"{green_server}/_sandbox/faults",
        {"path": "/apis/batch/v1/cronjobs", "status": 403, "times": None},
    )
    result = scan_live(KubeReader(GREEN), load_facts(), Targets(Version(TARGET)), cluster=GREEN)
    [problem] = result.problems
    assert "cronjobs (batch/v1)" in problem.message and "403" in problem.message
    assert _legacy_worker_found(result.sightings)


def test_cli_scans_clusters_with_pluto_exit_codes(sandbox: control.SandboxState) -> None:
    import io

    from ekslift.apiscan.cli import main

    with pytest.MonkeyPatch.context() as patch:
        out = io.StringIO()
        patch.setattr("sys.stdout", out)
        code = main(["-t", TARGET, "--cluster", GREEN, "--helm", "--live", "-o", "json"])
    report = json.loads(out.getvalue())
    assert code == 3
    names = {row.get("name") for row in report["rows"]}
    assert {"legacy-worker", "nightly-prune", "redis"} <= names


def test_review_repro_stale_release_beside_migrated_live_object_exits_3(
    sandbox: control.SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's reproduction through `ekslift scan`: green's redis release manifest on
    policy/v1beta1, the live PDB at policy/v1, target 1.25: not clean, exit 3."""
    code = main(["scan", "-t", "1.25", "--cluster", GREEN, "--helm", "--live", "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    [redis] = [
        r for r in report["rows"] if r["name"] == "redis" and r["kind"] == "PodDisruptionBudget"
    ]
    assert redis["severity"] == "removed" and redis["must_change"] == ["helm-release"]
    assert code == 3


def test_cli_target_defaults_to_the_cluster_version_plus_one(
    sandbox: control.SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", "--cluster", "photos-apne1-blue", "--live", "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["target_versions"]["k8s"] == "1.34"
    assert code == 3


def test_cli_refuses_to_guess_a_target_for_mixed_clusters(
    sandbox: control.SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["scan", "--cluster", "photos-apne1-blue", "--cluster", "photos-apne1-green", "--live"]
    assert main(args) == 1
    assert "different versions (1.34, 1.36); give --target-version" in capsys.readouterr().err


def test_cli_scans_the_estate_of_a_parameter_file(
    sandbox: control.SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", "--params", "params/demo.yaml", "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["sources_scanned"] == ["estate"]
    assert report["target_versions"]["k8s"] == "1.35"
    assert code == 3

"""Step 2 against the sandbox: every seeded removed API found by each source that holds it,
no false positives on migrated objects, and a live scan that survives API faults."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
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

pytestmark = pytest.mark.sandbox
PARAMS = Path(__file__).resolve().parents[2] / "params" / "demo.yaml"
GREEN = "photos-apne1-green"


@pytest.fixture(scope="module")
def scan(sandbox: control.SandboxState, tmp_path_factory: pytest.TempPathFactory) -> EstateScan:
    params = load_params(PARAMS)
    return scan_estate(params, helm_home=tmp_path_factory.mktemp("helm-home"))


def _rows(scan: EstateScan, **match: str | None) -> list[ObjectRow]:
    def fits(row: ObjectRow) -> bool:
        return all(getattr(row.authoritative, k) == v for k, v in match.items())

    return [row for row in scan.report.rows() if fits(row)]


def _sightings(scan: EstateScan, **match: str | None) -> list[Sighting]:
    return [f for f in scan.report.sightings if all(getattr(f, k) == v for k, v in match.items())]


def test_last_applied_removed_apis_are_found(scan: EstateScan) -> None:
    [pdb] = _rows(scan, cluster=GREEN, kind="PodDisruptionBudget", name="legacy-worker")
    assert pdb.sources == ("last-applied",)
    assert pdb.status == "removed"
    assert pdb.authoritative.api_version == "policy/v1beta1"
    assert "policy/v1" in pdb.authoritative.note  # what the server stores
    clusters = {r.authoritative.cluster for r in _rows(scan, kind="CronJob", name="nightly-prune")}
    assert clusters == {
        "photos-apne1-blue",
        "photos-apne1-green",
        "photos-use1-blue",
        "photos-use1-green",
    }


def test_migrated_objects_are_not_reported(scan: EstateScan) -> None:
    assert _rows(scan, name="feed-migrated") == []
    assert not [f for f in _sightings(scan, name="feed-migrated") if f.status]
    # Charts that choose their API from .Capabilities render the replacement for 1.34.
    assert not [r for r in scan.report.rows() if (r.authoritative.name or "").startswith("feed")]


def test_stale_helm_release_is_overruled_by_the_live_object(scan: EstateScan) -> None:
    [redis] = _rows(scan, cluster=GREEN, kind="PodDisruptionBudget", name="redis")
    assert set(redis.sources) == {"live", "helm-release"}
    assert redis.authoritative.source == "live"
    assert redis.authoritative.api_version == "policy/v1"
    assert redis.status is None
    assert "live (policy/v1) is authoritative" in redis.note
    assert "helm-release says policy/v1beta1" in redis.note
    [release] = _sightings(scan, cluster=GREEN, source="helm-release", name="redis")
    assert release.extra["template"] == "redis/templates/pdb.yaml"
    assert release.file == "helm release photos/redis revision 1"


def test_live_served_version_finds_the_karpenter_v1beta1_nodepool(scan: EstateScan) -> None:
    [pool] = _rows(scan, kind="NodePool", name="legacy-batch")
    assert pool.authoritative.source == "live"
    assert pool.authoritative.cluster == "photos-apne1-blue"
    assert pool.authoritative.api_version == "karpenter.sh/v1beta1"
    assert pool.status == "removed"


def test_argocd_renders_blue_apps_on_removed_apis_and_green_clean(scan: EstateScan) -> None:
    argo = [r for r in scan.report.rows() if r.authoritative.source == "argocd"]
    found = {(r.authoritative.cluster, r.authoritative.kind, r.authoritative.name) for r in argo}
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
    agents = [c["user_agent"] for c in calls.extra["clients"]]
    assert agents[0] == "pdb-exporter/0.4.1"
    assert any(a.startswith("kubectl/v1.24") for a in agents)


def test_no_secret_reaches_the_report(scan: EstateScan) -> None:
    from ekslift.apiscan.formats import render

    text = render(scan.report, "json", scan.facts)
    assert "SENTINEL" not in text


def test_gate_blocks_green_only_and_demo_waivers_cover_it(scan: EstateScan) -> None:
    findings = gate_findings(scan)
    blockers = {f.id for f in findings if f.severity == "blocker"}
    assert blockers == {
        "api-scan/ap-northeast-1/photos-apne1-green/last-applied/PodDisruptionBudget/photos/"
        "legacy-worker/policy/v1beta1",
        "api-scan/ap-northeast-1/photos-apne1-green/last-applied/CronJob/photos/nightly-prune/"
        "batch/v1beta1",
        "api-scan/us-east-1/photos-use1-green/last-applied/CronJob/photos/nightly-prune/"
        "batch/v1beta1",
        "api-scan/ap-northeast-1/photos-apne1-green/insights/PodDisruptionBudget/-/-/"
        "policy/v1beta1",
        # examples/deploy, the demo's own manifests: headed for green like everything else
        "api-scan/-/-/file/CronJob/photos/photo-cleanup/batch/v1beta1",
        "api-scan/-/-/file/Ingress/photos/legacy-share/networking.k8s.io/v1beta1",
    }
    assert all(f.role == "blue" for f in findings if f.severity == "info")
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
    result = scan_live(KubeReader(GREEN), load_facts(), Targets(Version("1.34")), cluster=GREEN)
    assert result.problems == []
    assert _legacy_worker_found(result.sightings)


def test_live_scan_survives_an_expired_continue_token(green_server: str) -> None:
    _post(
        f"{green_server}/_sandbox/faults",
        {"path": r"/api/v1/pods\?.*continue=", "status": 410, "times": 1},
    )
    result = scan_live(
        KubeReader(GREEN), load_facts(), Targets(Version("1.34")), cluster=GREEN, page_size=20
    )
    assert result.problems == []
    assert _legacy_worker_found(result.sightings)
    baseline = scan_live(
        KubeReader(GREEN), load_facts(), Targets(Version("1.34")), cluster=GREEN, page_size=20
    )
    assert result.stats["live.objects"] == baseline.stats["live.objects"]


def test_live_scan_names_a_resource_that_keeps_failing(green_server: str) -> None:
    _post(
        f"{green_server}/_sandbox/faults",
        {"path": "/apis/batch/v1/cronjobs", "status": 403, "times": None},
    )
    result = scan_live(KubeReader(GREEN), load_facts(), Targets(Version("1.34")), cluster=GREEN)
    [problem] = result.problems
    assert "cronjobs (batch/v1)" in problem.message and "403" in problem.message
    assert _legacy_worker_found(result.sightings)


def test_cli_scans_clusters_with_pluto_exit_codes(sandbox: control.SandboxState) -> None:
    import io

    from ekslift.apiscan.cli import main

    with pytest.MonkeyPatch.context() as patch:
        out = io.StringIO()
        patch.setattr("sys.stdout", out)
        code = main(["-t", "1.34", "--cluster", GREEN, "--helm", "--live", "-o", "json"])
    report = json.loads(out.getvalue())
    assert code == 3
    names = {row.get("name") for row in report["rows"]}
    assert {"legacy-worker", "nightly-prune", "redis"} <= names


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

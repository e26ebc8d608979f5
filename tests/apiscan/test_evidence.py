"""Verdicts a blue/green upgrade can trust (issue 7): which source must change, blue's
evidence for green, insights by version, one row per object to fix, renders in folders."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from botocore.stub import Stubber
from packaging.version import Version

from ekslift.apiscan.estate import EstateScan, scan_paths
from ekslift.apiscan.facts import FactSet, Targets, load_facts
from ekslift.apiscan.formats import render, sarif_dict
from ekslift.apiscan.judge import gate_findings
from ekslift.apiscan.sightings import STALE_MANAGER_AGE, ScanReport, Sighting
from ekslift.apiscan.sources.crds import stored_version_sightings
from ekslift.apiscan.sources.insights import scan_insights
from ekslift.apiscan.sources.live import scan_live
from ekslift.apiscan.sources.rendered import RenderLabels, scan_rendered
from ekslift.charts.helm import Helm
from ekslift.cli import main
from ekslift.estate import EstateCluster
from ekslift.gate import Finding
from ekslift.kube import ApiResource, KubeReader
from ekslift_sandbox import chartrepo

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
T125 = Targets(Version("1.25"))
T134 = Targets(Version("1.34"))
BLUE, GREEN = "r-blue", "r-green"
CLUSTERS = {
    BLUE: EstateCluster("r", "blue", BLUE, BLUE),
    GREEN: EstateCluster("r", "green", GREEN, GREEN),
}
ALL_READ = frozenset((s, c) for s in ("live", "helm-release", "insights") for c in CLUSTERS)
RELEASE = """---
# Source: redis/templates/pdb.yaml
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: redis
spec:
  minAvailable: 1
"""


@pytest.fixture(scope="module")
def facts() -> FactSet:
    return load_facts()


def pdb(source: str, cluster: str | None = GREEN, **kw: Any) -> Sighting:
    base: dict[str, Any] = {
        "source": source,
        "kind": "PodDisruptionBudget",
        "api_version": "policy/v1beta1",
        "name": "web",
        "namespace": "prod",
        "cluster": cluster,
        "rule": "policy/v1beta1/PodDisruptionBudget",
        "status": "removed",
        "replacement": "policy/v1",
    }
    base.update(kw)
    return Sighting(**base)


def served(cluster: str = GREEN, **kw: Any) -> Sighting:
    """The live object at its served version: a clean sighting."""
    return pdb("live", cluster, api_version="policy/v1", rule=None, status=None, **kw)


def estate(
    sightings: Iterable[Sighting],
    facts: FactSet,
    read: frozenset[tuple[str, str]] = ALL_READ,
    targets: Targets = T134,
) -> EstateScan:
    return EstateScan(ScanReport(targets, tuple(sightings)), facts, dict(CLUSTERS), [], read)


def severities(scan: EstateScan) -> dict[str, str]:
    return {f.id: f.severity for f in gate_findings(scan)}


def only(scan: EstateScan, cluster: str) -> Finding:
    [finding] = [f for f in gate_findings(scan) if f.cluster == cluster]
    return finding


# ----------------------------------------------------------- 1: what a live object proves
def test_review_repro_release_on_v1beta1_beside_live_v1_is_not_clean(facts: FactSet) -> None:
    """The review's case: a release manifest on policy/v1beta1 beside the live object read at
    policy/v1, target 1.25. The live object proves nothing about the next `helm upgrade`."""
    labels = RenderLabels("helm-release", "helm release prod/redis revision 3", GREEN, "prod")
    release, problems = scan_rendered(RELEASE, labels, facts, T125)
    assert problems == []
    report = ScanReport(T125, (*release, served(name="redis", namespace="prod")))
    [row] = report.rows()
    assert row.status == "removed" and row.must_change == ("helm-release",)
    assert "mapkubeapis" in row.note and "proves nothing" in row.note
    assert report.counts()["removed"] == 1
    assert report.exit_code() == 3
    assert json.loads(render(report, "json", facts))["rows"][0]["must_change"] == ["helm-release"]


def test_worst_forward_evidence_decides_and_names_every_source(facts: FactSet) -> None:
    report = ScanReport(
        T134,
        (
            served(),
            pdb("helm-release", file="helm release prod/web revision 2"),
            pdb("last-applied"),
            pdb("argocd", api_version="policy/v1", rule=None, status=None),
        ),
    )
    [row] = report.rows()
    assert row.lead.source == "last-applied"
    assert row.must_change == ("last-applied", "helm-release")
    assert any("kubectl apply" in a for a in row.actions)
    assert any("mapkubeapis" in a for a in row.actions)


def test_live_alone_is_information_never_a_verdict(facts: FactSet) -> None:
    """A CRD served only at an old version: reported, not counted, never a blocker."""
    nodepool = Sighting(
        "live", "NodePool", "karpenter.sh/v1beta1", "batch", cluster=GREEN,
        rule="karpenter.sh/v1beta1/NodePool", status="removed",
    )  # fmt: skip
    scan = estate([nodepool], facts)
    [row] = scan.report.rows()
    assert row.served_only and scan.report.exit_code() == 0
    assert severities(scan) == {
        "api-scan/r/r-green/live/NodePool/-/batch/karpenter.sh/v1beta1": "info"
    }
    assert "served only" in render(scan.report, "text", facts)


class FakeKube:
    """Discovery and raw lists, as `KubeReader` answers them, from fixed data."""

    def __init__(self, lists: dict[str, list[dict[str, Any]]], resources: list[ApiResource]):
        self.lists, self.resources = lists, resources

    def discover(self) -> list[ApiResource]:
        return self.resources

    def list(self, path: str, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        yield from self.lists.get(path, [])


def _managed(manager: str, api_version: str, age: timedelta) -> dict[str, Any]:
    when = (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"manager": manager, "operation": "Apply", "apiVersion": api_version, "time": when}


def _live_pdb(name: str, *managed: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "prod", "uid": f"uid-{name}", "managedFields": managed}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta}


def _crd(stored: list[str], served: dict[str, bool], storage: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "certificates.cert-manager.io", "uid": "uid-crd"},
        "spec": {
            "group": "cert-manager.io",
            "names": {"kind": "Certificate", "plural": "certificates"},
            "versions": [
                {"name": v, "served": s, "storage": v == storage} for v, s in served.items()
            ],
        },
        "status": {"storedVersions": stored},
    }


def test_managed_fields_and_crd_storage_are_live_evidence(facts: FactSet) -> None:
    """Server-side apply leaves no last-applied: managedFields say which version each
    manager writes; a CRD's stored-but-not-served version needs a storage migration."""
    kube = FakeKube(
        {
            "/apis/policy/v1/poddisruptionbudgets": [
                _live_pdb("ssa", _managed("kustomize-controller", "policy/v1beta1", timedelta(2))),
                _live_pdb("old", _managed("deploy-bot", "policy/v1beta1", timedelta(400))),
                _live_pdb("fine", _managed("kube-controller-manager", "policy/v1", timedelta(1))),
            ],
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions": [
                _crd(["v1alpha2", "v1"], {"v1alpha2": False, "v1": True}, "v1")
            ],
        },
        [
            ApiResource("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
            ApiResource(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                False,
            ),
        ],
    )
    result = scan_live(cast(KubeReader, kube), facts, T134, cluster=GREEN, now=NOW)
    assert result.problems == []
    scan = estate(result.sightings, facts)
    found = severities(scan)
    assert found == {
        "api-scan/r/r-green/managed-fields/PodDisruptionBudget/prod/ssa/policy/v1beta1": "blocker",
        "api-scan/r/r-green/managed-fields/PodDisruptionBudget/prod/old/policy/v1beta1": "warning",
        "api-scan/r/r-green/crd-storage/CustomResourceDefinition/-/certificates.cert-manager.io/"
        "cert-manager.io/v1alpha2": "blocker",
    }
    old = next(f for f in gate_findings(scan) if "/old/" in f.id)
    assert "deploy-bot" in old.title and "removed" in old.title
    assert f"{STALE_MANAGER_AGE.days} days" in old.detail


def test_crd_stored_version_the_facts_remove_is_flagged(facts: FactSet) -> None:
    served_but_removed = _crd(["v1alpha2", "v1"], {"v1alpha2": True, "v1": True}, "v1")
    [sighting] = stored_version_sightings([served_but_removed], facts, T134, GREEN)
    assert sighting.status == "removed" and sighting.replacement == "cert-manager.io/v1"
    migrated = _crd(["v1"], {"v1alpha2": False, "v1": True}, "v1")
    assert stored_version_sightings([migrated], facts, T134, GREEN) == []


# ----------------------------------------------------------- 2: blue's evidence counts for green
@pytest.mark.parametrize("source", ["last-applied", "helm-release", "managed-fields"])
def test_blue_evidence_blocks_unless_green_shows_it_migrated(facts: FactSet, source: str) -> None:
    blue = pdb(source, BLUE, extra={"manager": "flux", "time": NOW.isoformat()})
    blocked = only(estate([blue, served(BLUE)], facts), BLUE)
    assert blocked.severity == "blocker"
    assert blocked.id == f"api-scan/r/r-blue/{source}/PodDisruptionBudget/prod/web/policy/v1beta1"
    migrated = estate([blue, served(BLUE), served(GREEN)], facts)
    assert only(migrated, BLUE).severity == "info"
    # Green has the object, but its own evidence still names the removed API.
    not_migrated = estate([blue, served(GREEN), pdb("last-applied", GREEN)], facts)
    assert only(not_migrated, BLUE).severity == "blocker"


def test_green_not_read_never_counts_as_migrated(facts: FactSet) -> None:
    """Missing data is not health: green's live scan failed, so nothing shows migration."""
    unread = ALL_READ - {("live", GREEN)}
    scan = estate([pdb("last-applied", BLUE), served(GREEN)], facts, read=unread)
    assert only(scan, BLUE).severity == "blocker"


def test_blue_live_renders_and_crd_storage_stay_information(facts: FactSet) -> None:
    blue = [
        pdb("live", BLUE, name="a"),
        pdb("argocd", BLUE, name="b"),
        pdb("crd-storage", BLUE, name="c"),
    ]
    assert set(severities(estate(blue, facts)).values()) == {"info"}


def _insight(cluster: str, version: str, status: str = "WARNING") -> Sighting:
    return Sighting(
        "insights", "PodDisruptionBudget", "policy/v1beta1", cluster=cluster,
        rule="policy/v1beta1/PodDisruptionBudget", status="removed", replacement="policy/v1",
        extra={"kubernetes_version": version, "insight_status": status,
               "clients": [{"user_agent": "pdb-exporter/0.4.1"}]},
    )  # fmt: skip


def test_blue_insights_block_unless_green_insights_show_no_such_calls(facts: FactSet) -> None:
    assert only(estate([_insight(BLUE, "1.25")], facts), BLUE).severity == "info"
    both = estate([_insight(BLUE, "1.25"), _insight(GREEN, "1.25")], facts)
    assert only(both, BLUE).severity == "blocker"
    unread = estate([_insight(BLUE, "1.25")], facts, read=ALL_READ - {("insights", GREEN)})
    assert only(unread, BLUE).severity == "blocker"
    assert "pdb-exporter/0.4.1" in only(unread, BLUE).action


# ----------------------------------------------------------- 3: insights by version
def test_insights_are_judged_by_their_kubernetes_version(facts: FactSet) -> None:
    assert only(estate([_insight(GREEN, "1.34")], facts), GREEN).severity == "blocker"
    assert only(estate([_insight(GREEN, "1.35", "ERROR")], facts), GREEN).severity == "warning"
    assert only(estate([_insight(GREEN, "1.35", "WARNING")], facts), GREEN).severity == "info"
    # Blue's insight about a version after the target is not evidence for green.
    beyond = estate([_insight(BLUE, "1.35", "ERROR"), _insight(GREEN, "1.35")], facts)
    assert only(beyond, BLUE).severity == "info"


def test_only_upgrade_readiness_insights_are_read(facts: FactSet) -> None:
    eks = boto3.client("eks", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip
    stub = Stubber(eks)
    stub.add_response("list_insights", {"insights": [{"id": "i-1"}, {"id": "i-2"}]})
    detail = {"usage": "/apis/policy/v1beta1/poddisruptionbudgets", "clientStats": []}
    for insight_id, category in (("i-1", "MISCONFIGURATION"), ("i-2", "UPGRADE_READINESS")):
        stub.add_response(
            "describe_insight",
            {
                "insight": {
                    "id": insight_id,
                    "category": category,
                    "kubernetesVersion": "1.25",
                    "insightStatus": {"status": "ERROR"},
                    "categorySpecificSummary": {"deprecationDetails": [detail]},
                }
            },
        )
    with stub:
        result = scan_insights(eks, facts, T134, cluster=GREEN)
    [sighting] = result.sightings
    assert sighting.extra["insight_id"] == "i-2"
    assert sighting.extra["kubernetes_version"] == "1.25"


# ----------------------------------------------------------- 4: one row per object to fix
def test_same_object_in_two_files_is_two_rows_everywhere(facts: FactSet) -> None:
    report = ScanReport(
        T134,
        (
            pdb("file", None, file="team-a/pdb.yaml", line=1),
            pdb("file", None, file="team-b/pdb.yaml", line=4),
        ),
    )
    assert len(report.rows()) == 2 and report.counts()["removed"] == 2
    text = render(report, "text", facts)
    assert "team-a/pdb.yaml:1" in text and "team-b/pdb.yaml:4" in text
    rows = list(csv.DictReader(io.StringIO(render(report, "csv", facts))))
    assert [r["location"] for r in rows] == ["team-a/pdb.yaml:1", "team-b/pdb.yaml:4"]
    assert len(json.loads(render(report, "json", facts))["rows"]) == 2
    markdown = render(report, "markdown", facts)
    assert "team-a/pdb.yaml:1" in markdown and "team-b/pdb.yaml:4" in markdown
    assert len(sarif_dict(report, facts)["runs"][0]["results"]) == 2
    ids = [f.id for f in gate_findings(EstateScan(report, facts))]
    assert len(ids) == len(set(ids)) == 2


@pytest.mark.parametrize("argv", [["scan", "--bogus"], ["scan", "-o", "yaml", "x.yaml"]])
def test_scan_usage_errors_exit_1_under_pluto_codes(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "--bogus" in err or "invalid choice: 'yaml'" in err


def test_a_named_file_is_treated_as_a_folder_scan_treats_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text("pipeline { agent any; stages { stage('x') { sh 'make' } } }\n")
    assert main(["scan", str(jenkinsfile), "-t", "1.34"]) == 0
    assert "not a manifest file name" in capsys.readouterr().out
    assert main(["scan", str(tmp_path), "-t", "1.34"]) == 0


# ----------------------------------------------------------- 5: charts, kustomizations in folders
def test_a_folder_scan_renders_the_charts_and_kustomizations_it_meets(
    helm: Helm, facts: FactSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = chartrepo.chart_spec("feed")
    chartrepo.render_chart(spec, spec.versions[0], tmp_path / "charts")  # policy/v1beta1
    kustomize = tmp_path / "overlays" / "jobs"
    kustomize.mkdir(parents=True)
    (kustomize / "cron.yaml").write_text(
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: prune}\n"
        "spec: {schedule: '0 3 * * *', jobTemplate: {spec: {template: {spec: "
        "{containers: [], restartPolicy: Never}}}}}\n"
    )
    (kustomize / "kustomization.yaml").write_text("namespace: jobs\nresources: [cron.yaml]\n")
    result = scan_paths(helm, {"deploy": tmp_path}, facts, T134)
    assert [p for p in result.problems if "invalid YAML" in p.message] == []
    sources = {s.source for s in result.sightings}
    assert sources == {"chart", "kustomize"}
    assert all(s.file and s.file.startswith("deploy") for s in result.sightings)
    code = main(["scan", str(tmp_path), "-t", "1.34", "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    assert not [p for p in report["problems"] if "invalid YAML" in p["message"]]
    assert {r["decided_by"] for r in report["rows"]} == {"chart", "kustomize"} and code == 3


# ----------------------------------------------------------- trying to break the gates
def test_another_regions_green_or_namespace_never_shows_blue_migrated(facts: FactSet) -> None:
    """A check that reads the wrong cluster: only the same region's green, and the same
    object there (namespace included), can show blue's evidence migrated."""
    other_green = EstateCluster("s", "green", "s-green", "s-green")
    scan = estate([pdb("last-applied", BLUE), served("s-green")], facts)
    scan.clusters["s-green"] = other_green
    scan.read = scan.read | {("live", "s-green"), ("helm-release", "s-green")}
    assert only(scan, BLUE).severity == "blocker"
    elsewhere = estate([pdb("last-applied", BLUE), served(GREEN, namespace="staging")], facts)
    assert only(elsewhere, BLUE).severity == "blocker"


def test_a_stale_manager_never_hides_a_current_one(facts: FactSet) -> None:
    stale = pdb("managed-fields", extra={"manager": "old-bot", "time": "2024-01-01", "stale": True})
    current = pdb("managed-fields", extra={"manager": "flux", "time": "", "stale": False})
    assert only(estate([stale], facts), GREEN).severity == "warning"
    assert only(estate([stale, current], facts), GREEN).severity == "blocker"
    # Beside a last-applied naming the same removed API, the stale entry decides nothing.
    assert only(estate([stale, pdb("last-applied")], facts), GREEN).severity == "blocker"


def test_missing_times_and_versions_are_read_as_this_upgrades_risk(facts: FactSet) -> None:
    """Missing data is not health: a managedFields entry without a time is current, an
    insight without a kubernetesVersion is about this upgrade."""
    kube = FakeKube(
        {"/apis/policy/v1/poddisruptionbudgets": [
            _live_pdb("untimed", {"manager": "flux", "operation": "Apply",
                                  "apiVersion": "policy/v1beta1"})]},
        [ApiResource("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True)],
    )  # fmt: skip
    result = scan_live(cast(KubeReader, kube), facts, T134, cluster=GREEN, now=NOW)
    assert only(estate(result.sightings, facts), GREEN).severity == "blocker"
    assert only(estate([_insight(GREEN, "")], facts), GREEN).severity == "blocker"


def test_a_chart_in_a_folder_that_does_not_render_is_an_error_not_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "charts" / "broken"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "templates" / "pdb.yaml").write_text('{{ fail "values.pdb is required" }}\n')
    assert main(["scan", str(tmp_path), "-t", "1.34"]) == 1
    assert "values.pdb is required" in capsys.readouterr().out


def test_managed_fields_note_never_suggests_an_api_the_target_removed(facts: FactSet) -> None:
    """flowcontrol v1beta1's published replacement (v1beta2) is itself gone at 1.32: the note
    of a manager still writing v1beta1 points at what 1.32 serves, as last-applied's does."""
    schema = {
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
        "kind": "FlowSchema",
        "metadata": {
            "name": "batch",
            "uid": "uid-batch",
            "managedFields": [
                _managed("flux", "flowcontrol.apiserver.k8s.io/v1beta1", timedelta(1))
            ],
        },
    }
    kube = FakeKube(
        {"/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas": [schema]},
        [ApiResource("flowcontrol.apiserver.k8s.io/v1", "FlowSchema", "flowschemas", False)],
    )
    targets = Targets(Version("1.32"))
    result = scan_live(cast(KubeReader, kube), facts, targets, cluster=GREEN, now=NOW)
    [sighting] = [s for s in result.sightings if s.source == "managed-fields"]
    assert "change apiVersion to flowcontrol.apiserver.k8s.io/v1;" in sighting.note
    assert "change apiVersion to flowcontrol.apiserver.k8s.io/v1beta2" not in sighting.note

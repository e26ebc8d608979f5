"""Chart and kustomize renders for the target: `.Capabilities`, template paths, failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from ekslift.apiscan.facts import FactSet, Targets, load_facts
from ekslift.apiscan.sources.charts import (
    ChartRef,
    scan_chart,
    scan_charts,
    target_api_versions,
)
from ekslift.apiscan.sources.rendered import RenderLabels, scan_rendered
from ekslift.charts.helm import Helm
from ekslift.tools import ToolError, find_binary
from ekslift_sandbox import chartrepo


@pytest.fixture(scope="module")
def facts() -> FactSet:
    return load_facts()


def _chart(name: str, version: str, dest: Path) -> Path:
    spec = chartrepo.chart_spec(name)
    chart = next(v for v in spec.versions if v.version == version)
    return chartrepo.render_chart(spec, chart, dest)


def test_api_versions_follow_the_target(facts: FactSet) -> None:
    at_134 = target_api_versions(facts, Version("1.34"))
    assert "policy/v1/PodDisruptionBudget" in at_134
    assert "autoscaling/v2/HorizontalPodAutoscaler" in at_134
    assert "apps/v1/Deployment" in at_134
    assert "policy/v1beta1" not in at_134
    assert "policy/v1beta1/PodDisruptionBudget" not in at_134
    assert "batch/v1beta1/CronJob" not in at_134
    at_124 = target_api_versions(facts, Version("1.24"))
    assert "policy/v1beta1/PodDisruptionBudget" in at_124
    assert "policy/v1/PodDisruptionBudget" in at_124
    at_120 = target_api_versions(facts, Version("1.20"))
    assert "policy/v1/PodDisruptionBudget" not in at_120  # served from 1.21
    assert "example.com/v1/Thing" in target_api_versions(
        facts, Version("1.34"), ["example.com/v1/Thing"]
    )


def test_capabilities_chart_renders_the_replacement(
    helm: Helm, facts: FactSet, tmp_path: Path
) -> None:
    """feed 3.2.0 picks its PDB API with `.Capabilities.APIVersions.Has "policy/v1/PDB"`:
    helm's default list lacks resource-level entries, so without ours it would render
    policy/v1beta1 and the scan would report a removal that never happens."""
    chart = _chart("feed", "3.2.0", tmp_path)
    result = scan_chart(helm, ChartRef(str(chart)), facts, Targets(Version("1.34")))
    assert result.problems == []
    assert result.sightings == []
    helm_defaults_only = scan_chart(
        helm, ChartRef(str(chart)), facts, Targets(Version("1.34")), api_versions=[]
    )
    assert {(f.kind, f.api_version) for f in helm_defaults_only.sightings} == {
        ("PodDisruptionBudget", "policy/v1beta1"),
        ("HorizontalPodAutoscaler", "autoscaling/v2beta2"),
    }


def test_pinned_legacy_chart_findings_carry_template_and_namespace(
    helm: Helm, facts: FactSet, tmp_path: Path
) -> None:
    chart = _chart("notifications", "1.2.0", tmp_path)
    result = scan_chart(
        helm, ChartRef(str(chart)), facts, Targets(Version("1.34")), namespace="photos"
    )
    [cron] = [f for f in result.sightings if f.kind == "CronJob"]
    assert cron.source == "chart"
    assert cron.api_version == "batch/v1beta1"
    assert cron.status == "removed"
    assert cron.namespace == "photos"
    assert cron.file == str(chart)
    assert cron.line and cron.line > 1
    assert cron.extra["template"] == "notifications/templates/cronjob.yaml"


def test_render_failure_is_a_problem_and_the_scan_goes_on(
    helm: Helm, facts: FactSet, tmp_path: Path
) -> None:
    failing = _chart("cluster-autoscaler", "9.37.0", tmp_path / "a")
    legacy = _chart("albums", "1.0.0", tmp_path / "b")
    result = scan_charts(helm, [str(failing), str(legacy)], facts, Targets(Version("1.34")))
    [problem] = result.problems
    assert problem.file == str(failing)
    assert "kubeVersion" in problem.message
    assert "--debug" not in problem.message
    assert any(f.kind == "PodDisruptionBudget" for f in result.sightings)


def test_rendered_secret_data_is_not_kept(helm: Helm, facts: FactSet, tmp_path: Path) -> None:
    chart = _chart("redis", "16.13.2", tmp_path)
    values = {"secret": {"password": "SENTINEL-render-secret"}}
    result = scan_chart(helm, ChartRef(str(chart)), facts, Targets(Version("1.34")), values=values)
    assert result.sightings
    assert "SENTINEL" not in repr(result.sightings) + repr(result.problems)


def test_kustomization_is_rendered_with_kubectl(facts: FactSet, tmp_path: Path) -> None:
    try:
        find_binary("kubectl")
    except ToolError as exc:
        pytest.skip(f"needs kubectl: {exc}")
    (tmp_path / "kustomization.yaml").write_text(
        "namespace: jobs\nresources: [cron.yaml]\n", encoding="utf-8"
    )
    (tmp_path / "cron.yaml").write_text(
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: prune}\n"
        "spec: {schedule: '* * * * *', jobTemplate: {spec: {template: {spec: "
        "{containers: [{name: c, image: busybox}], restartPolicy: Never}}}}}\n",
        encoding="utf-8",
    )
    result = scan_charts(None, [str(tmp_path)], facts, Targets(Version("1.34")))  # type: ignore[arg-type]
    [sighting] = result.sightings
    assert (sighting.source, sighting.namespace, sighting.name) == ("kustomize", "jobs", "prune")


def test_cluster_scoped_kinds_get_no_namespace(facts: FactSet) -> None:
    text = (
        "---\n# Source: x/templates/psp.yaml\napiVersion: policy/v1beta1\n"
        "kind: PodSecurityPolicy\nmetadata: {name: p}\n"
        "---\n# Source: x/templates/pdb.yaml\napiVersion: policy/v1beta1\n"
        "kind: PodDisruptionBudget\nmetadata: {name: b}\n"
    )
    sightings, _ = scan_rendered(
        text, RenderLabels("chart", "x", "c1", "team"), facts, Targets(Version("1.34"))
    )
    by_kind = {f.kind: f for f in sightings}
    assert by_kind["PodSecurityPolicy"].namespace is None
    assert by_kind["PodDisruptionBudget"].namespace == "team"
    assert by_kind["PodDisruptionBudget"].extra["template"] == "x/templates/pdb.yaml"
    assert {f.cluster for f in sightings} == {"c1"}


def test_api_versions_leave_out_what_the_target_does_not_serve_by_default(
    facts: FactSet,
) -> None:
    at_134 = target_api_versions(facts, Version("1.34"))
    assert "resource.k8s.io/v1/ResourceClaim" in at_134  # GA replacement
    assert "resource.k8s.io/v1beta1" not in at_134  # beta: off by default
    assert "admissionregistration.k8s.io/v1alpha1" not in at_134  # alpha
    assert not any(entry.startswith("audit.k8s.io/") for entry in at_134)  # config files
    at_127 = target_api_versions(facts, Version("1.27"))
    assert "flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema" in at_127

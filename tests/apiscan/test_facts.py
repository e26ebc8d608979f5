"""API facts: loading, user overrides in both formats, target validation, severities."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from ekslift.apiscan.facts import (
    FactsError,
    Targets,
    TargetVersionError,
    known_versions,
    load_facts,
    parse_version,
)


def test_builtin_facts_cover_every_guide_removal() -> None:
    facts = load_facts()
    removed = {(f.group_version, f.kind, str(f.removed_in)) for f in facts.facts}
    for expected in [
        ("extensions/v1beta1", "Deployment", "1.16"),
        ("extensions/v1beta1", "Ingress", "1.22"),
        ("policy/v1beta1", "PodSecurityPolicy", "1.25"),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26"),
        ("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.27"),
        ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", "1.29"),
        ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration", "1.32"),
        ("cert-manager.io/v1alpha2", "Certificate", "1.6"),
        ("karpenter.sh/v1beta1", "NodePool", "1.1"),
        ("karpenter.k8s.aws/v1alpha1", "AWSNodeTemplate", "0.33"),
    ]:
        assert expected in removed
    assert known_versions(facts)[0] == "1.16"
    assert known_versions(facts)[-1] == "1.37"
    assert len(facts) > 100


@pytest.mark.parametrize("text", ["1.34", "v1.34", "1.34.2", "v1.34.0"])
def test_target_forms(text: str) -> None:
    assert load_facts().parse_target(text).release[:2] == (1, 34)


@pytest.mark.parametrize("text", ["1.15", "2.0", "banana", "1", ""])
def test_bad_target_lists_known_versions(text: str) -> None:
    with pytest.raises(TargetVersionError, match=r"1\.16, 1\.17.*1\.37"):
        load_facts().parse_target(text)


def test_unknown_newer_target_names_newest_and_how_to_add_facts() -> None:
    with pytest.raises(TargetVersionError) as raised:
        load_facts().parse_target("1.99")
    message = str(raised.value)
    assert "known up to 1.37" in message
    assert "--facts FILE (ekslift or pluto versions.yaml format)" in message


def test_pluto_file_naming_a_newer_release_widens_the_range(tmp_path: Path) -> None:
    extra = tmp_path / "versions.yaml"
    extra.write_text(
        "deprecated-versions:\n"
        "  - version: example.com/v1beta1\n    kind: Widget\n    deprecated-in: v1.37.0\n"
        "    removed-in: v1.38.0\n    replacement-api: example.com/v1\n    component: k8s\n"
    )
    assert load_facts([extra]).parse_target("1.38") == Version("1.38")


def test_announced_removals_after_the_newest_release_are_marked() -> None:
    summary = {row["version"]: row for row in load_facts().version_summary()}
    assert not summary["1.37"]["announced"]
    assert "storage.k8s.io/v1beta1/VolumeAttributesClass" in summary["1.37"]["removed"]
    assert summary["1.38"]["announced"]
    assert "resource.k8s.io/v1beta1/ResourceClaim" in summary["1.38"]["removed"]


def test_severity_follows_pluto() -> None:
    facts = load_facts()
    ingress = facts.match("extensions/v1beta1", "Ingress")
    assert ingress is not None
    assert ingress.severity_at(Version("1.13")) is None
    assert ingress.severity_at(Version("1.18")) == "replacement-unavailable"
    assert ingress.severity_at(Version("1.19")) == "deprecated"
    assert ingress.severity_at(Version("1.22")) == "removed"
    endpoints = facts.match("v1", "Endpoints")
    assert endpoints is not None and endpoints.severity_at(Version("1.36")) == "deprecated"
    assert facts.match("v1", "ConfigMap") is None
    assert facts.match("apps/v1", "Deployment") is None
    # Add-on facts without a pinned add-on version count as removed.
    cert = facts.match("cert-manager.io/v1alpha2", "Certificate")
    assert cert is not None and cert.severity_at(None) == "removed"
    assert cert.severity_at(Version("1.5")) == "deprecated"
    # Whole group/version facts match any kind.
    assert facts.match("authentication.istio.io/v1alpha1", "Policy") is not None


def test_best_replacement_walks_the_chain() -> None:
    facts = load_facts()
    v1beta1 = facts.match("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema")
    assert v1beta1 is not None
    best = facts.best_replacement(v1beta1, Targets(Version("1.32")))
    assert best is not None and best.replacement == "flowcontrol.apiserver.k8s.io/v1"
    best = facts.best_replacement(v1beta1, Targets(Version("1.26")))
    assert best is not None and best.replacement == "flowcontrol.apiserver.k8s.io/v1beta3"
    assert facts.best_replacement(v1beta1, Targets(Version("1.23"))) is None


@pytest.mark.parametrize(
    "target, served, not_served",
    [
        ("1.26", "flowcontrol.apiserver.k8s.io/v1beta3", "flowcontrol.apiserver.k8s.io/v1beta2"),
        ("1.32", "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta3"),
    ],
)
def test_note_follows_the_chain_to_what_the_target_serves(
    target: str, served: str, not_served: str
) -> None:
    facts = load_facts()
    for kind in ("FlowSchema", "PriorityLevelConfiguration"):
        fact = facts.match("flowcontrol.apiserver.k8s.io/v1beta1", kind)
        assert fact is not None
        note = facts.note_at(fact, Targets(Version(target)))
        assert f"move to {served}," in note
        assert f"is {'deprecated in 1.26' if target == '1.26' else 'removed in 1.32'}" in note
        for suggestion in ("move to ", "change apiVersion to "):
            assert f"{suggestion}{not_served}" not in note
            assert f"{suggestion}flowcontrol.apiserver.k8s.io/v1beta2" not in note


def test_add_on_replacements_name_the_release_that_served_them() -> None:
    facts = load_facts()
    provisioner = facts.match("karpenter.sh/v1alpha5", "Provisioner")
    assert provisioner is not None
    assert provisioner.severity_at(Version("0.32")) == "deprecated"  # v1beta1 is served
    assert facts.note_at(provisioner, Targets(Version("1.0"), {"karpenter": Version("1.1")}))
    rbac = facts.match("rbac.istio.io/v1alpha1", "ServiceRole")
    assert rbac is not None and rbac.severity_at(Version("1.4")) == "deprecated"
    assert rbac.replacement == "security.istio.io/v1beta1"
    vs = facts.match("networking.istio.io/v1beta1", "VirtualService")
    assert vs is not None and vs.replacement_available_in == Version("1.22")
    snapshot = facts.match("snapshot.storage.k8s.io/v1beta1", "VolumeSnapshotContent")
    assert snapshot is not None and snapshot.component == "external-snapshotter"
    assert snapshot.severity_at(Version("5.0")) == "deprecated"
    assert snapshot.severity_at(Version("6.0")) == "removed"
    assert snapshot.severity_at(None) == "removed"


@pytest.mark.parametrize(
    "api_version, kind, says",
    [
        ("audit.k8s.io/v1beta1", "Policy", "a config file API"),
        ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy", "alpha API"),
        ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBinding", "beta API"),
        ("resource.k8s.io/v1alpha3", "ResourceClaim", "alpha API"),
        ("resource.k8s.io/v1beta1", "DeviceClass", "beta API"),
        ("storage.k8s.io/v1alpha1", "VolumeAttributesClass", "alpha API"),
        ("storage.k8s.io/v1beta1", "VolumeAttributesClass", "beta API"),
    ],
)
def test_alpha_beta_and_config_apis_say_so(api_version: str, kind: str, says: str) -> None:
    facts = load_facts()
    fact = facts.match(api_version, kind)
    assert fact is not None and fact.severity_at(Version("1.37")) is not None
    assert facts.note_at(fact, Targets(Version("1.37"))).startswith(says)
    assert facts.match("storage.k8s.io/v1beta1", "StorageClass") is not None
    assert not facts.note_at(
        facts.match("storage.k8s.io/v1beta1", "StorageClass"), Targets(Version("1.37"))
    ).startswith(("alpha", "beta"))


def test_served_apis_and_cluster_scope_are_data(tmp_path: Path) -> None:
    facts = load_facts()
    assert "Pod" in facts.stable_apis["v1"]
    assert {"Namespace", "VolumeSnapshotClass"} <= facts.cluster_scoped_kinds
    extra = tmp_path / "team.yaml"
    extra.write_text("apis: []\ncluster_scoped_kinds: [Tenant]\nstable_apis: {v1: [Binding]}\n")
    widened = load_facts([extra])
    assert {"Tenant", "Namespace"} <= widened.cluster_scoped_kinds
    assert {"Binding", "Pod"} <= set(widened.stable_apis["v1"])


def test_needles_pick_the_rare_string() -> None:
    needles = load_facts().needles()
    assert "Endpoints" in needles and "v1" not in needles
    assert "networking.istio.io/v1alpha3" not in needles  # never produces a finding


def test_pluto_versions_file_adds_and_overrides(tmp_path: Path) -> None:
    extra = tmp_path / "versions.yaml"
    extra.write_text(
        "deprecated-versions:\n"
        "  - version: example.com/v1alpha1\n    kind: Widget\n    deprecated-in: v1.20.0\n"
        "    removed-in: v1.30.0\n    replacement-api: example.com/v1\n"
        "    replacement-available-in: v1.20.0\n    component: k8s\n"
        "  - version: extensions/v1beta1\n    kind: Ingress\n    deprecated-in: v1.10.0\n"
        "    removed-in: v1.20.0\n    replacement-api: networking.k8s.io/v1\n    component: k8s\n"
        "target-versions:\n  k8s: v1.25.0\n"
    )
    facts = load_facts([extra])
    widget = facts.match("example.com/v1alpha1", "Widget")
    assert widget is not None and widget.removed_in == Version("1.30")
    ingress = facts.match("extensions/v1beta1", "Ingress")
    assert ingress is not None and ingress.removed_in == Version("1.20")
    assert ingress.origin == str(extra)


def test_native_user_file_and_wider_range(tmp_path: Path) -> None:
    extra = tmp_path / "team.yaml"
    extra.write_text(
        'kubernetes: {newest: "1.38"}\n'
        "apis:\n  - group_version: networking.istio.io/v1alpha3\n    kinds: [VirtualService]\n"
        '    deprecated_in: "1.20"\n    replacement: networking.istio.io/v1\n'
        "    component: istio\n"
    )
    facts = load_facts([extra])
    assert facts.parse_target("1.38") == Version("1.38")
    vs = facts.match("networking.istio.io/v1alpha3", "VirtualService")
    assert vs is not None and vs.severity_at(None) == "deprecated"


@pytest.mark.parametrize(
    "content, message",
    [
        ("- just a list\n", "expected a mapping"),
        ("something: else\n", "neither ekslift facts"),
        ("apis:\n  - group_version: 'bad value'\n", "group_version must be"),
        ("apis:\n  - group_version: a/v1\n    removed_in: soon\n", "removed_in"),
        ("apis: [\n", "not valid YAML"),
        ("apis:\n  - group_version: a/v1\n    stability: gamma\n", "stability must be"),
    ],
)
def test_bad_facts_files_name_file_and_entry(tmp_path: Path, content: str, message: str) -> None:
    extra = tmp_path / "bad.yaml"
    extra.write_text(content)
    with pytest.raises(FactsError, match=message):
        load_facts([extra])


def test_missing_facts_file(tmp_path: Path) -> None:
    with pytest.raises(FactsError, match="cannot read"):
        load_facts([tmp_path / "nope.yaml"])


def test_parse_version() -> None:
    assert parse_version("v1.22.0") == Version("1.22")
    assert parse_version(None) is None and parse_version("") is None
    assert str(load_facts().parse_component_target("cert-manager=v1.14")[1]) == "1.14"
    with pytest.raises(TargetVersionError):
        load_facts().parse_component_target("nginx=1.0")

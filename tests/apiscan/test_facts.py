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
    assert known_versions(facts)[-1] == "1.36"
    assert len(facts) > 100


@pytest.mark.parametrize("text", ["1.34", "v1.34", "1.34.2", "v1.34.0"])
def test_target_forms(text: str) -> None:
    assert load_facts().parse_target(text).release[:2] == (1, 34)


@pytest.mark.parametrize("text", ["1.15", "1.99", "2.0", "banana", "1", ""])
def test_bad_target_lists_known_versions(text: str) -> None:
    with pytest.raises(TargetVersionError, match=r"1\.16, 1\.17.*1\.36"):
        load_facts().parse_target(text)


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
    assert facts.best_replacement(v1beta1, Targets(Version("1.23"))) is None


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
        'kubernetes: {newest: "1.37"}\n'
        "apis:\n  - group_version: networking.istio.io/v1alpha3\n    kinds: [VirtualService]\n"
        '    deprecated_in: "1.20"\n    replacement: networking.istio.io/v1\n'
        "    component: istio\n"
    )
    facts = load_facts([extra])
    assert facts.parse_target("1.37") == Version("1.37")
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

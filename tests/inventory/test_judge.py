"""Inventory rules on hand-made rows: what blocks green, and what only informs on blue."""

from __future__ import annotations

from datetime import date

import pytest

from ekslift.argocd import ArgoAppRow
from ekslift.estate import EstateCluster
from ekslift.inventory import judge, parity
from ekslift.inventory.cluster import node_owner
from ekslift.inventory.eks import (
    addon_version_key,
    ami_supported,
    kubelet_max_older,
)
from ekslift.inventory.models import (
    AddonRow,
    ClusterInventory,
    ClusterRow,
    InsightRow,
    NodegroupRow,
    NodeGroupSummary,
    PdbRow,
    SupportWindow,
)

GREEN = EstateCluster("us-east-1", "green", "g", "g-ctx")
BLUE = EstateCluster("us-east-1", "blue", "b", "b-ctx")
WINDOW = SupportWindow(
    "1.34", date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2), "bundled calendar"
)


def cluster(where: EstateCluster, version: str = "1.34", days: int = 200) -> ClusterRow:
    return ClusterRow(where, version, "eks.6", "ACTIVE", "standard", days, days + 365, WINDOW)


def inventory(where: EstateCluster, **tables) -> ClusterInventory:
    return ClusterInventory(cluster=cluster(where), **tables)


def ids(findings) -> dict[str, str]:
    return {f.id.split("/", 3)[3]: f.severity for f in findings}


def test_skew_policy_and_ami_support() -> None:
    assert kubelet_max_older("1.27") == 2
    assert kubelet_max_older("1.34") == 3
    assert not ami_supported("AL2_x86_64", "1.33")
    assert ami_supported("AL2_x86_64", "1.32")
    assert ami_supported("AL2023_x86_64_STANDARD", "1.34")


@pytest.mark.parametrize(
    ("labels", "owner"),
    [
        ({"eks.amazonaws.com/nodegroup": "ng-a"}, ("nodegroup", "ng-a")),
        ({"karpenter.sh/nodepool": "default"}, ("karpenter", "default")),
        ({"eks.amazonaws.com/compute-type": "fargate"}, ("fargate", "fargate")),
        ({}, ("self-managed", "(unmanaged)")),
    ],
)
def test_node_owner(labels: dict, owner: tuple) -> None:
    assert node_owner(labels) == owner


def test_green_blockers() -> None:
    inv = inventory(
        GREEN,
        nodegroups=[NodegroupRow(GREEN, "ng-al2", "AL2_x86_64", "1.32", "", 2, False)],
        nodes=[
            NodeGroupSummary(GREEN, "nodegroup", "old", "v1.30.1", 2, 4, 4),
            NodeGroupSummary(GREEN, "karpenter", "ok", "v1.31.1", 9, 3, 3),
        ],
        addons=[
            AddonRow(GREEN, "kubecost", "v2", "ACTIVE", False, None, None),
            AddonRow(GREEN, "kube-proxy", "v1.34.0", "ACTIVE", True, "v1.34.1", "v1.34.1"),
        ],
        insights=[InsightRow(GREEN, "i1", "skew", "UPGRADE_READINESS", "ERROR", "r", "1.35")],
        pdbs=[PdbRow(GREEN, "ns", "api", "100%", "", 2, 0, True)],
    )
    assert ids(judge.cluster_findings(inv, "1.34")) == {
        "ami-type/ng-al2": "blocker",
        "kubelet-skew/nodegroup/old": "blocker",
        "addon-no-target-version/kubecost": "blocker",
        "addon-update/kube-proxy": "warning",
        "insight/skew": "blocker",
        "pdb-blocks-drain/ns/api": "blocker",
    }


def test_blue_is_information_only_but_extended_support_warns() -> None:
    inv = ClusterInventory(
        cluster=ClusterRow(BLUE, "1.33", "eks.12", "ACTIVE", "extended", -120, 240, WINDOW),
        nodegroups=[NodegroupRow(BLUE, "ng-al2", "AL2_x86_64", "1.32", "", 2, False)],
    )
    found = judge.cluster_findings(inv, "1.34")
    assert ids(found) == {"support/b": "warning", "ami-type/ng-al2": "info"}
    assert all(f.title.startswith("(blue") for f in found if f.severity == "info")


def test_green_on_wrong_version_and_support_ending_soon() -> None:
    inv = ClusterInventory(cluster=cluster(GREEN, version="1.33", days=30))
    assert ids(judge.cluster_findings(inv, "1.34")) == {
        "green-version/g": "blocker",
        "support/g": "warning",
    }


def test_parity_gaps() -> None:
    def app(
        chart: str, where: EstateCluster, sync: str = "Synced", revision: str = "1.0"
    ) -> ArgoAppRow:
        return ArgoAppRow(
            f"{chart}-{where.role}",
            "p",
            "r",
            chart,
            revision,
            where.cluster,
            "ns",
            sync,
            "Healthy",
            where,
        )

    apps = [
        app("a", BLUE),
        app("a", GREEN),
        app("b", BLUE),
        app("c", BLUE),
        app("c", GREEN, sync="OutOfSync"),
        app("d", BLUE),
        app("d", GREEN, revision="2.0"),
    ]
    gaps = {g.name: g for g in parity.app_gaps("us-east-1", apps)}
    assert set(gaps) == {"ns/b", "ns/c", "ns/d"}
    assert gaps["ns/b"].blocking and gaps["ns/c"].blocking and not gaps["ns/d"].blocking
    severities = {f.obj: f.severity for f in judge.parity_findings(list(gaps.values()))}
    assert severities == {"ns/b": "blocker", "ns/c": "blocker", "ns/d": "info"}


def test_addon_versions_sort_by_number_not_text() -> None:
    versions = ["v1.9.0-eksbuild.3", "v1.20.4-eksbuild.2", "v1.20.4-eksbuild.10"]
    assert max(versions, key=addon_version_key) == "v1.20.4-eksbuild.10"

"""Inventory rules on hand-made rows: what blocks in each strategy, and what only informs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ekslift.argocd import ArgoAppRow
from ekslift.estate import EstateCluster
from ekslift.gate import judge as gate_judge
from ekslift.inventory import facts, judge, parity
from ekslift.inventory.cluster import node_owner
from ekslift.inventory.eks import addon_version_key
from ekslift.inventory.models import (
    AddonRow,
    ClusterInventory,
    ClusterRow,
    CoreAddonRow,
    InsightRow,
    NodeClassRow,
    NodegroupRow,
    NodeGroupSummary,
    PdbRow,
    SupportWindow,
)
from ekslift.params import parse_params

GREEN = EstateCluster("us-east-1", "green", "g", "g-ctx")
BLUE = EstateCluster("us-east-1", "blue", "b", "b-ctx")
IN_PLACE = EstateCluster("eu-west-1", "in-place", "m", "m-ctx")
WINDOW = SupportWindow(
    "1.35", date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27), "bundled calendar"
)
AL2, AL2023 = "Amazon Linux 2", "Amazon Linux 2023.8.20251020"
CONTAINERD_1, CONTAINERD_2 = "containerd://1.7.29", "containerd://2.1.5"


def cluster(where: EstateCluster, version: str = "1.35", days: int = 200) -> ClusterRow:
    return ClusterRow(where, version, "eks.6", "ACTIVE", "standard", days, days + 365, WINDOW)


def inventory(where: EstateCluster, version: str = "1.35", **tables) -> ClusterInventory:
    return ClusterInventory(cluster=cluster(where, version), **tables)


def ids(findings) -> dict[str, str]:
    return {f.id.split("/", 3)[3]: f.severity for f in findings}


def nodes(
    where: EstateCluster,
    kind: str,
    owner: str,
    kubelet: str = "v1.35.0",
    os_image: str = AL2023,
    runtime: str = CONTAINERD_2,
    control_plane: str = "1.35",
    target: str = "1.35",
) -> NodeGroupSummary:
    from ekslift.versions import minor_distance

    return NodeGroupSummary(
        where,
        kind,  # type: ignore[arg-type]
        owner,
        kubelet,
        2,
        minor_distance(control_plane, kubelet),
        minor_distance(target, kubelet),
        os_image,
        runtime,
    )


def addon(
    where: EstateCluster,
    name: str,
    version: str,
    compatible: bool | None = True,
    missing: str = "",
    default: str | None = None,
    against: str = "1.35",
) -> AddonRow:
    return AddonRow(where, name, version, "ACTIVE", against, compatible, missing, default, default)


def test_skew_policy_and_ami_support() -> None:
    assert facts.kubelet_max_older("1.27") == 2
    assert facts.kubelet_max_older("1.35") == 3
    assert not facts.ami_supported("AL2_x86_64", "1.33")
    assert facts.ami_supported("AL2_x86_64", "1.32")
    assert facts.ami_supported("AL2023_x86_64_STANDARD", "1.35")


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
        nodegroups=[NodegroupRow(GREEN, "ng-x", "BOTTLEROCKET_x86_64", "1.31", "", 2, True)],
        nodes=[
            nodes(GREEN, "nodegroup", "old", "v1.30.1"),
            nodes(GREEN, "karpenter", "ok", "v1.32.1"),
        ],
        addons=[
            addon(GREEN, "kubecost", "v2", missing="1.35"),
            addon(GREEN, "kube-proxy", "v1.35.0", default="v1.35.1"),
        ],
        insights=[InsightRow(GREEN, "i1", "skew", "UPGRADE_READINESS", "ERROR", "r", "1.36")],
    )
    assert ids(judge.cluster_findings(inv, "1.35")) == {
        "kubelet-skew/nodegroup/old": "blocker",
        "addon-no-target-version/kubecost": "blocker",
        "addon-update/kube-proxy": "warning",
        "insight/skew": "blocker",
    }


def test_blue_is_information_only_but_extended_support_and_al2_warn() -> None:
    inv = ClusterInventory(
        cluster=ClusterRow(BLUE, "1.33", "eks.12", "ACTIVE", "extended", -120, 240, WINDOW),
        nodegroups=[NodegroupRow(BLUE, "ng-al2", "AL2_x86_64", "1.32", "", 2, False)],
        nodes=[nodes(BLUE, "nodegroup", "ng-al2", "v1.32.9", AL2, CONTAINERD_1, "1.33")],
        addons=[addon(BLUE, "ebs", "v1", compatible=False)],
    )
    found = judge.cluster_findings(inv, "1.35")
    assert ids(found) == {
        "support/b": "warning",
        "ami-type/ng-al2": "info",
        "node-os/nodegroup/ng-al2": "warning",
        "cgroup-v1/nodegroup/ng-al2": "info",
        "containerd-1/nodegroup/ng-al2": "info",
        "addon-incompatible/ebs": "info",
    }
    assert all(f.title.startswith("(blue") for f in found if f.severity == "info")


def test_green_on_wrong_version_and_support_ending_soon() -> None:
    inv = ClusterInventory(cluster=cluster(GREEN, version="1.34", days=30))
    assert ids(judge.cluster_findings(inv, "1.35")) == {
        "green-version/g": "blocker",
        "support/g": "warning",
    }


# --- point 4: add-ons -----------------------------------------------------------------


def test_installed_addon_must_be_compatible_not_just_some_version() -> None:
    inv = inventory(GREEN, addons=[addon(GREEN, "aws-ebs-csi-driver", "v1.48.0", False)])
    assert ids(judge.cluster_findings(inv, "1.35")) == {
        "addon-incompatible/aws-ebs-csi-driver": "blocker"
    }


def test_addon_that_eks_could_not_be_asked_about_blocks() -> None:
    unknown = replace(addon(GREEN, "vpc-cni", "v1.20.4", None), problem="AccessDenied")
    (finding,) = judge.cluster_findings(inventory(GREEN, addons=[unknown]), "1.35")
    assert finding.severity == "blocker" and "AccessDenied" in finding.title
    assert finding.id.endswith("/addon-unverified/vpc-cni")


def core(where: EstateCluster, name: str, version: str, self_managed: bool = True):
    workload = {"vpc-cni": "DaemonSet/aws-node", "coredns": "Deployment/coredns"}
    return CoreAddonRow(
        where,
        name,
        workload.get(name, "DaemonSet/kube-proxy"),
        f"602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/{name}:{version}",
        version,
        self_managed,
    )


def test_self_managed_core_addons_against_eks_recommendations() -> None:
    inv = inventory(
        GREEN,
        core_addons=[
            core(GREEN, "kube-proxy", "v1.34.1-eksbuild.2"),
            core(GREEN, "coredns", "v1.11.4-eksbuild.2"),
            core(GREEN, "vpc-cni", "v1.20.4-eksbuild.1"),
        ],
    )
    found = {f.id.split("/", 3)[3]: f for f in judge.cluster_findings(inv, "1.35")}
    assert {k: f.severity for k, f in found.items()} == {
        "core-addon/kube-proxy": "blocker",
        "core-addon/coredns": "warning",
        "core-addon/vpc-cni": "warning",
    }
    assert "1 minor(s) behind" in found["core-addon/kube-proxy"].title
    assert "v1.14.3-eksbuild.3" in found["core-addon/coredns"].title
    assert "no EKS recommendation for 1.35" in found["core-addon/vpc-cni"].title


def test_core_addons_managed_by_eks_or_matching_pass() -> None:
    inv = inventory(
        GREEN,
        core_addons=[
            core(GREEN, "kube-proxy", "v1.34.1-eksbuild.2", self_managed=False),
            core(GREEN, "coredns", "v1.14.3-eksbuild.3"),
        ],
    )
    assert judge.cluster_findings(inv, "1.35") == []


def test_core_addon_without_a_readable_version_is_not_a_pass() -> None:
    inv = inventory(GREEN, core_addons=[core(GREEN, "kube-proxy", "latest")])
    assert ids(judge.cluster_findings(inv, "1.35")) == {"core-addon/kube-proxy": "warning"}


def test_kube_proxy_newer_than_the_control_plane_blocks() -> None:
    inv = inventory(GREEN, core_addons=[core(GREEN, "kube-proxy", "v1.36.0-eksbuild.1")])
    (finding,) = judge.cluster_findings(inv, "1.35")
    assert finding.severity == "blocker" and "newer than the control plane" in finding.title


# --- point 5: node operating systems ---------------------------------------------------


def test_os_family_longest_prefix() -> None:
    assert facts.os_family(AL2023).family == "AL2023"
    assert facts.os_family(AL2).family == "AL2"
    assert facts.os_family("Bottlerocket OS 1.30.0 (aws-k8s-1.35)").cgroup == "v2"
    assert facts.os_family("Ubuntu 22.04").family == "unknown"


def test_al2_cgroup_v1_and_containerd_1_on_green() -> None:
    inv = inventory(
        GREEN,
        nodes=[
            nodes(GREEN, "self-managed", "gpu", "v1.32.9", AL2, CONTAINERD_1),
            nodes(GREEN, "karpenter", "default"),
            nodes(GREEN, "fargate", "coredns", os_image=AL2, runtime=CONTAINERD_1),
        ],
    )
    assert ids(judge.cluster_findings(inv, "1.35")) == {
        "node-os/self-managed/gpu": "blocker",
        "cgroup-v1/self-managed/gpu": "blocker",
        "containerd-1/self-managed/gpu": "warning",
    }
    assert ids(judge.cluster_findings(replace(inv, cluster=cluster(GREEN, "1.36")), "1.36"))[
        "containerd-1/self-managed/gpu"
    ] == ("blocker")


def test_al2_only_warns_where_the_target_still_has_al2_amis() -> None:
    inv = inventory(
        GREEN,
        "1.32",
        nodes=[nodes(GREEN, "self-managed", "gpu", "v1.32.9", AL2, CONTAINERD_2, "1.32", "1.32")],
    )
    (finding,) = judge.cluster_findings(inv, "1.32")
    assert finding.severity == "warning" and "2025-11-26" in finding.title


def test_managed_al2_node_group_is_one_ami_type_blocker_not_two() -> None:
    inv = inventory(
        GREEN,
        nodegroups=[NodegroupRow(GREEN, "ng-al2", "AL2_x86_64", "1.32", "", 2, False)],
        nodes=[nodes(GREEN, "nodegroup", "ng-al2", "v1.32.9", AL2, CONTAINERD_2)],
    )
    assert ids(judge.cluster_findings(inv, "1.35")) == {
        "ami-type/ng-al2": "blocker",
        "cgroup-v1/nodegroup/ng-al2": "blocker",
    }


@pytest.mark.parametrize(("family", "aliases"), [("AL2", ""), ("", "al2@v20251209")])
def test_karpenter_nodeclass_on_al2(family: str, aliases: str) -> None:
    al2 = facts.karpenter_is_al2(family, aliases.split(", ") if aliases else [])
    assert al2
    inv = inventory(GREEN, nodeclasses=[NodeClassRow(GREEN, "legacy", family, aliases, al2)])
    assert ids(judge.cluster_findings(inv, "1.35")) == {"karpenter-al2/legacy": "blocker"}
    assert not facts.karpenter_is_al2("", ["al2023@latest"])


# --- point 6: strategy, support, in place ----------------------------------------------


def test_support_phase_changes_on_the_day_standard_support_ends() -> None:
    window = SupportWindow("1.34", None, date(2026, 12, 2), date(2027, 12, 2), "bundled calendar")
    assert window.phase(date(2026, 12, 1)) == "standard"
    assert window.phase(date(2026, 12, 2)) == "extended"
    assert window.phase(date(2027, 12, 1)) == "extended"
    assert window.phase(date(2027, 12, 2)) == "unsupported"


def test_green_on_its_first_extended_day_has_one_support_finding() -> None:
    row = replace(cluster(GREEN, "1.35", days=0), support_phase="extended")
    findings = judge.cluster_findings(ClusterInventory(cluster=row), "1.35")
    assert ids(findings) == {"support/g": "warning"}


def test_standard_upgrade_policy_on_green_warns() -> None:
    row = replace(cluster(GREEN), support_type="STANDARD")
    (finding,) = judge.cluster_findings(ClusterInventory(cluster=row), "1.35")
    assert finding.id.endswith("/upgrade-policy/g") and finding.severity == "warning"
    assert "2027-03-27" in finding.title
    blue = ClusterInventory(cluster=replace(cluster(BLUE), support_type="STANDARD"))
    assert judge.cluster_findings(blue, "1.35") == []


def pdbs(where: EstateCluster) -> list[PdbRow]:
    return [
        PdbRow(where, "ns", "api", "", "0", 2, 0, True, 2, 2, "structural"),
        PdbRow(where, "ns", "db", "1", "", 2, 0, True, 1, 1, "transient"),
    ]


def test_pdbs_warn_on_green_and_block_in_place() -> None:
    green = judge.cluster_findings(inventory(GREEN, pdbs=pdbs(GREEN)), "1.35")
    assert ids(green) == {"pdb-blocks-drain/ns/api": "warning", "pdb-blocks-drain/ns/db": "warning"}
    titles = {f.obj: f.title for f in green}
    assert "structural" in titles["ns/api"] and "transient" in titles["ns/db"]
    in_place = judge.cluster_findings(inventory(IN_PLACE, "1.34", pdbs=pdbs(IN_PLACE)), "1.35")
    assert set(ids(in_place).values()) == {"blocker"}


def test_in_place_judges_every_hop_and_the_plan_places_each_blocker() -> None:
    inv = inventory(
        IN_PLACE,
        "1.33",
        nodes=[
            nodes(IN_PLACE, "karpenter", "default", "v1.30.2", control_plane="1.33"),
            nodes(IN_PLACE, "self-managed", "gpu", "v1.33.1", AL2, CONTAINERD_1, "1.33"),
        ],
        addons=[
            addon(IN_PLACE, "ebs", "v1.48.0", against="1.34"),
            addon(IN_PLACE, "kubecost", "v2", missing="1.35", against="1.34"),
        ],
        core_addons=[core(IN_PLACE, "kube-proxy", "v1.32.6-eksbuild.12")],
        pdbs=pdbs(IN_PLACE)[:1],
    )
    assert ids(judge.cluster_findings(inv, "1.35")) == {
        "kubelet-skew/karpenter/default": "blocker",
        "node-os/self-managed/gpu": "blocker",
        "cgroup-v1/self-managed/gpu": "blocker",
        "containerd-1/self-managed/gpu": "warning",
        "addon-no-target-version/kubecost": "blocker",
        "core-addon/kube-proxy": "blocker",
        "pdb-blocks-drain/ns/api": "blocker",
    }
    plan = judge.hop_plan(inv, "1.35")
    assert [(r.hop, r.from_version, r.to_version, r.component) for r in plan] == [
        (1, "1.33", "1.34", "control plane"),
        (1, "1.33", "1.34", "vpc-cni, CoreDNS, kube-proxy"),
        (1, "1.33", "1.34", "nodes"),
        (2, "1.34", "1.35", "control plane"),
        (2, "1.34", "1.35", "vpc-cni, CoreDNS, kube-proxy"),
        (2, "1.34", "1.35", "nodes"),
    ]
    blocked = {(r.hop, r.component): r.blocked_by for r in plan}
    assert blocked[(1, "control plane")] == "kubelet-skew/karpenter/default"
    assert blocked[(1, "vpc-cni, CoreDNS, kube-proxy")] == "core-addon/kube-proxy"
    assert blocked[(1, "nodes")] == "node-os/self-managed/gpu, pdb-blocks-drain/ns/api"
    assert blocked[(2, "control plane")] == "addon-no-target-version/kubecost"
    assert blocked[(2, "nodes")] == "cgroup-v1/self-managed/gpu"
    assert judge.hop_plan(inventory(GREEN), "1.35") == []


def test_in_place_never_skips_a_minor_and_blue_green_may() -> None:
    from ekslift.versions import upgrade_path

    assert upgrade_path("1.33", "1.35") == ["1.34", "1.35"]
    assert upgrade_path("1.35", "1.35") == []
    assert judge.path_of(inventory(IN_PLACE, "1.32"), "1.35") == ["1.33", "1.34", "1.35"]
    assert judge.path_of(inventory(GREEN, "1.35"), "1.35") == ["1.35"]


def test_unreadable_area_blocks_green_and_warns_on_blue() -> None:
    green = inventory(GREEN, problems={"addons": "AccessDenied"})
    assert ids(judge.cluster_findings(green, "1.35")) == {"unreadable/addons": "blocker"}
    blue = inventory(BLUE, problems={"addons": "AccessDenied"})
    assert ids(judge.cluster_findings(blue, "1.35")) == {"unreadable/addons": "warning"}


def test_unknown_kubelet_version_is_not_a_pass() -> None:
    inv = inventory(GREEN, nodes=[replace(nodes(GREEN, "self-managed", "x"), kubelet_version="?")])
    assert ids(judge.cluster_findings(inv, "1.35")) == {"kubelet-skew/self-managed/x": "blocker"}


def test_one_owner_mid_rollout_is_one_finding_per_rule() -> None:
    inv = inventory(
        GREEN,
        nodes=[
            nodes(GREEN, "self-managed", "gpu", "v1.30.9", AL2, CONTAINERD_1),
            nodes(GREEN, "self-managed", "gpu", "v1.31.9", AL2, CONTAINERD_1),
        ],
    )
    found = judge.cluster_findings(inv, "1.35")
    assert len(found) == len({f.id for f in found}) == 4


def test_waivers_keep_matching_whatever_the_strategy() -> None:
    """Ids carry region, cluster, rule and object, never the strategy or severity."""
    params = parse_params(
        {
            "name": "t",
            "environment": "test",
            "target_version": "1.35",
            "regions": [
                {
                    "name": "eu-west-1",
                    "strategy": "in-place",
                    "blue": {"eks_cluster": "m", "kube_context": "m-ctx"},
                }
            ],
            "waivers": [
                {
                    "id": "inventory/eu-west-1/m/pdb-blocks-drain/ns/api",
                    "reason": "scaled up before the node step",
                    "accepted_by": "sre@example.com",
                },
                {
                    "id": "inventory/eu-west-1/m/pdb-blocks-drain/ns/db",
                    "reason": "pods are restarted first",
                    "accepted_by": "sre@example.com",
                },
            ],
        },
        "p.yaml",
    )
    findings = judge.cluster_findings(inventory(IN_PLACE, "1.34", pdbs=pdbs(IN_PLACE)), "1.35")
    assert gate_judge("01-inventory", findings, params).verdict == "warn"


# --- point 7: parity -------------------------------------------------------------------


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
    severities = {f.obj: f.severity for f in judge.parity_findings(list(gaps.values()))}
    assert severities == {"ns/b": "blocker", "ns/c": "blocker", "ns/d": "info"}


def test_parity_beyond_deployments() -> None:
    shared = {
        "workload": {("photos", "api"): ""},
        "statefulset": {("photos", "redis"): ""},
        "ingressclass": {("", "alb"): "ingress.k8s.aws/alb"},
    }
    blue = inventory(
        BLUE,
        objects={
            **shared,
            "cronjob": {("photos", "weekly-report"): ""},
            "irsa": {("photos", "api"): "arn:aws:iam::1:role/api-blue"},
            "crd": {
                ("", "servicemonitors.monitoring.coreos.com"): "in use",
                ("", "unused.example.com"): "",
            },
            "hpa": {("photos", "api"): ""},
        },
        pdbs=pdbs(BLUE)[:1],
    )
    green = inventory(
        GREEN,
        objects={
            **shared,
            "irsa": {("photos", "other"): "arn:aws:iam::1:role/other"},
            "hpa": {("photos", "api"): ""},
        },
    )
    gaps = {(g.kind, g.name): g.severity for g in parity.cluster_gaps("us-east-1", blue, green)}
    assert gaps == {
        ("cronjob", "photos/weekly-report"): "blocker",
        ("irsa", "photos/api"): "blocker",
        ("crd", "servicemonitors.monitoring.coreos.com"): "blocker",
        ("pdb", "ns/api"): "warning",
    }


def test_addon_versions_sort_by_number_not_text() -> None:
    versions = ["v1.9.0-eksbuild.3", "v1.20.4-eksbuild.2", "v1.20.4-eksbuild.10"]
    assert max(versions, key=addon_version_key) == "v1.20.4-eksbuild.10"


def test_parity_pairs_clusters_by_region_not_by_eks_name() -> None:
    from ekslift.inventory.collect import parity_gaps

    params = parse_params(
        {
            "name": "t",
            "environment": "test",
            "target_version": "1.35",
            "regions": [
                {
                    "name": name,
                    "blue": {"eks_cluster": "photos-blue", "kube_context": f"{name}-b"},
                    "green": {"eks_cluster": "photos-green", "kube_context": f"{name}-g"},
                }
                for name in ("us-east-1", "eu-west-1")
            ],
        },
        "p.yaml",
    )

    def at(region: str, role: str, objects: dict) -> ClusterInventory:
        where = EstateCluster(region, role, f"photos-{role}", f"{region}-{role[0]}")  # type: ignore[arg-type]
        return inventory(where, objects=objects)

    cron = {"cronjob": {("photos", "report"): ""}}
    clusters = [
        at("us-east-1", "blue", cron),
        at("us-east-1", "green", {}),
        at("eu-west-1", "blue", {}),
        at("eu-west-1", "green", cron),
    ]
    gaps = parity_gaps(params, clusters, [])
    assert [(g.region, g.kind, g.name) for g in gaps] == [("us-east-1", "cronjob", "photos/report")]

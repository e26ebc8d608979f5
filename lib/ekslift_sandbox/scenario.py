"""The seeded estate: what a photo-sharing service on EKS looks like mid-upgrade.

Two regions, each with a blue cluster on 1.33 (in paid extended support since 2026-07-29)
and a green one on 1.35 (standard support until 2027-03-27): the target skips 1.34, whose
standard support ends on 2026-12-02. A management cluster's Argo CD deploys the charts of
the local repository to both. The blockers the gates must find are planted on purpose and
listed in `SEEDED_BLOCKERS`, so tests can check that each one is found, and only those.

This module only describes the estate (dataclasses and Kubernetes object dicts); `seed`
applies it to the running servers through their public APIs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypedDict

from ekslift_sandbox import kubeobjects as k
from ekslift_sandbox.chartrepo import SANDBOX_CHARTS, ChartSpec
from ekslift_sandbox.kubetypes import (
    ARGO_APPLICATION,
    CERT_MANAGER_CERTIFICATE,
    KARPENTER_EC2NODECLASS,
    KARPENTER_NODEPOOL,
    KARPENTER_NODEPOOL_V1BETA1,
    PROMETHEUS_SERVICEMONITOR,
)

Role = Literal["blue", "green", "management"]
Scale = Literal["small", "large"]
SECRET_SENTINEL = "SENTINEL-db-password-do-not-leak"
HELM_VALUE_SENTINEL = "SENTINEL-helm-value-do-not-leak"
ARGOCD_TOKEN_SENTINEL = "SENTINEL-argocd-bearer-token-do-not-leak"
SERVICE_NAMESPACE = "photos"
ARGOCD_NAMESPACE = "argocd"
HELM_INSTALLED = ("ingress-nginx", "cert-manager", "metrics-server", "redis")
LARGE_PODS = 18_000
_EPOCH = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NodegroupSpec:
    name: str
    ami_type: str
    version: str
    nodes: int
    instance_type: str = "m6i.xlarge"


@dataclass(frozen=True)
class HelmReleaseSpec:
    """A release installed with helm directly; `versions` are its revisions, oldest first."""

    chart: str
    namespace: str
    versions: tuple[str, ...]


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    region: str
    role: Role
    version: str
    patch: str
    nodegroups: tuple[NodegroupSpec, ...] = ()
    karpenter_nodes: int = 0
    fargate_nodes: int = 0
    self_managed_nodes: int = 0
    addons: tuple[tuple[str, str], ...] = ()
    upgraded_from: str | None = None
    addons_before_upgrade: tuple[tuple[str, str], ...] = ()
    insights: tuple[dict[str, Any], ...] = ()
    helm_releases: tuple[HelmReleaseSpec, ...] = ()
    apps_missing: frozenset[str] = frozenset()
    apps_out_of_sync: frozenset[str] = frozenset()
    blocking_pdb: str | None = None
    replicas: int = 2
    serves_karpenter_v1beta1: bool = False
    pods_target: int = 0
    # --- inventory seeds (step 1's node, add-on and parity checks) ---------------------
    support_type: str = "EXTENDED"
    self_managed_kubelet: str = "1.31"
    # kube-system networking add-ons run without an EKS add-on: (name, image tag)
    self_managed_addons: tuple[tuple[str, str], ...] = ()
    # EC2NodeClass name → amiSelectorTerms alias or amiFamily ("AL2")
    nodeclasses: tuple[tuple[str, str], ...] = ()
    irsa_annotated: bool = True
    blue_only_objects: bool = False
    # --- end of inventory seeds --------------------------------------------------------

    @property
    def git_version(self) -> str:
        return f"v{self.patch}-eks-{hashlib.sha1(self.name.encode()).hexdigest()[:7]}"

    @property
    def short(self) -> str:
        return self.name.removeprefix("photos-")


_ADDONS_133 = (
    ("vpc-cni", "v1.20.4-eksbuild.2"),
    ("coredns", "v1.12.1-eksbuild.2"),
    ("kube-proxy", "v1.33.3-eksbuild.10"),
    ("aws-ebs-csi-driver", "v1.48.0-eksbuild.2"),
    ("eks-pod-identity-agent", "v1.3.8-eksbuild.2"),
)
_ADDONS_134 = (
    ("vpc-cni", "v1.20.4-eksbuild.2"),
    ("coredns", "v1.12.4-eksbuild.1"),
    ("kube-proxy", "v1.34.0-eksbuild.4"),
    ("aws-ebs-csi-driver", "v1.48.0-eksbuild.2"),
    ("eks-pod-identity-agent", "v1.3.10-eksbuild.1"),
)
# Green's vpc-cni lags the default for 1.35: a recommendation (warn).
_ADDONS_135 = (
    ("vpc-cni", "v1.20.4-eksbuild.2"),
    ("coredns", "v1.13.1-eksbuild.1"),
    ("kube-proxy", "v1.35.0-eksbuild.2"),
    ("aws-ebs-csi-driver", "v1.53.0-eksbuild.1"),
    ("eks-pod-identity-agent", "v1.3.10-eksbuild.1"),
)


def _without(addons: tuple[tuple[str, str], ...], *names: str) -> tuple[tuple[str, str], ...]:
    return tuple(a for a in addons if a[0] not in names)


def _insight(
    name: str,
    status: str,
    reason: str,
    version: str,
    recommendation: str,
    deprecations: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    return {
        "name": name,
        "category": "UPGRADE_READINESS",
        "kubernetesVersion": version,
        "insightStatus": {"status": status, "reason": reason},
        "description": f"Checks for {name.lower()} before upgrading to {version}.",
        "recommendation": recommendation,
        "additionalInfo": {
            "EKS update documentation": "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"
        },
        "resources": [],
        "categorySpecificSummary": {
            "deprecationDetails": list(deprecations),
            "addonCompatibilityDetails": [],
        },
    }


# What EKS recorded on apne1-green in the 30 days before the scan: the legacy-worker deploy
# job (an old kubectl in CI) still sends its PodDisruptionBudget as policy/v1beta1, and a
# forgotten monitoring script polls the same API.
_LEGACY_PDB_CALLS = {
    "usage": "/apis/policy/v1beta1/poddisruptionbudgets",
    "replacedWith": "/apis/policy/v1/poddisruptionbudgets",
    "stopServingVersion": "1.25",
    "startServingReplacementVersion": "1.21",
    "clientStats": [
        {
            "userAgent": "kubectl/v1.24.17 (linux/amd64) kubernetes/22a9682",
            "numberOfRequestsLast30Days": 62,
            "lastRequestTime": _EPOCH + timedelta(days=178),
        },
        {
            "userAgent": "pdb-exporter/0.4.1",
            "numberOfRequestsLast30Days": 8640,
            "lastRequestTime": _EPOCH + timedelta(days=179),
        },
    ],
}


def _passing(version: str) -> tuple[dict[str, Any], ...]:
    return (
        _insight("Cluster health issues", "PASSING", "No health issues detected.", version, ""),
        _insight(
            "Deprecated APIs removed in Kubernetes v" + version,
            "PASSING",
            "No deprecated API usage detected within the last 30 days.",
            version,
            "",
        ),
    )


def _releases(green_redis: str) -> tuple[HelmReleaseSpec, ...]:
    return (
        HelmReleaseSpec("ingress-nginx", "ingress-nginx", ("4.7.1", "4.10.1", "4.11.3")),
        HelmReleaseSpec("cert-manager", "cert-manager", ("1.14.5", "1.15.1")),
        HelmReleaseSpec("metrics-server", "kube-system", ("3.11.0", "3.12.1")),
        HelmReleaseSpec("redis", SERVICE_NAMESPACE, (green_redis,)),
    )


def clusters(scale: Scale) -> list[ClusterSpec]:
    """The five clusters; `large` puts ~18,000 pods on each cluster of ap-northeast-1."""
    return _with_api_evidence_insights(_clusters(scale))


def _clusters(scale: Scale) -> list[ClusterSpec]:
    large = LARGE_PODS if scale == "large" else 0
    return [
        ClusterSpec(
            "photos-mgmt",
            "us-east-1",
            "management",
            "1.34",
            "1.34.1",
            nodegroups=(NodegroupSpec("ng-mgmt", "AL2023_x86_64_STANDARD", "1.34", 3),),
            addons=_ADDONS_134,
            replicas=1,
        ),
        ClusterSpec(
            "photos-apne1-blue",
            "ap-northeast-1",
            "blue",
            "1.33",
            "1.33.5",
            nodegroups=(
                NodegroupSpec("ng-general", "AL2023_x86_64_STANDARD", "1.33", 6),
                NodegroupSpec("ng-batch", "BOTTLEROCKET_x86_64", "1.31", 2),
            ),
            karpenter_nodes=4,
            fargate_nodes=1,
            addons=_ADDONS_133,
            insights=_passing("1.34"),
            helm_releases=(
                *_releases("18.19.4")[:3],
                HelmReleaseSpec("redis", SERVICE_NAMESPACE, ("18.19.4", "19.6.4")),
            ),
            serves_karpenter_v1beta1=True,
            pods_target=large,
            nodeclasses=(("default", "al2023@latest"),),
            blue_only_objects=True,
        ),
        ClusterSpec(
            "photos-apne1-green",
            "ap-northeast-1",
            "green",
            "1.35",
            "1.35.0",
            nodegroups=(
                NodegroupSpec("ng-general", "AL2023_x86_64_STANDARD", "1.35", 6),
                NodegroupSpec("ng-legacy", "AL2023_x86_64_STANDARD", "1.30", 2),
            ),
            karpenter_nodes=4,
            addons=_without(_ADDONS_135, "aws-ebs-csi-driver"),
            # Created on 1.34 and upgraded in place: these add-ons came along, kubecost with
            # no 1.35 build at all, the EBS CSI driver at a version not compatible with 1.35.
            upgraded_from="1.34",
            addons_before_upgrade=(
                ("kubecost_kubecost", "v2.4.3-eksbuild.1"),
                ("aws-ebs-csi-driver", "v1.48.0-eksbuild.2"),
            ),
            insights=(
                _insight(
                    "Kubelet version skew",
                    "ERROR",
                    "Node(s) run a kubelet more than 3 minor versions older than the "
                    "control plane.",
                    "1.36",
                    "Upgrade the nodes of node group ng-legacy to the control plane's version.",
                ),
                _insight(
                    "EKS add-on version compatibility",
                    "WARNING",
                    "Add-on kubecost_kubecost has no version compatible with 1.36.",
                    "1.36",
                    "Remove or replace the add-on before upgrading.",
                ),
                _insight(
                    "Deprecated APIs removed in Kubernetes v1.25",
                    "WARNING",
                    "Deprecated API usage detected within the last 30 days.",
                    "1.25",
                    "Update the clients listed in the deprecation details to the replacement API.",
                    (_LEGACY_PDB_CALLS,),
                ),
            ),
            helm_releases=_releases("16.13.2"),
            apps_missing=frozenset({"share-links"}),
            blocking_pdb="photo-api",
            pods_target=large,
            nodeclasses=(("default", "al2023@latest"), ("legacy", "AL2")),
        ),
        ClusterSpec(
            "photos-use1-blue",
            "us-east-1",
            "blue",
            "1.33",
            "1.33.5",
            nodegroups=(
                NodegroupSpec("ng-general", "AL2023_x86_64_STANDARD", "1.33", 6),
                NodegroupSpec("ng-al2", "AL2_x86_64", "1.32", 2),
            ),
            karpenter_nodes=3,
            self_managed_nodes=1,
            addons=_without(_ADDONS_133, "kube-proxy"),
            self_managed_addons=(("kube-proxy", "v1.33.5-minimal-eksbuild.2"),),
            insights=(
                _insight(
                    "Amazon Linux 2 compatibility",
                    "WARNING",
                    "Node group ng-al2 uses AL2 AMIs, not published for 1.33 and later.",
                    "1.34",
                    "Migrate ng-al2 to AL2023 or Bottlerocket.",
                ),
                *_passing("1.34"),
            ),
            helm_releases=_releases("19.6.4"),
            nodeclasses=(("default", "al2023@latest"),),
        ),
        ClusterSpec(
            "photos-use1-green",
            "us-east-1",
            "green",
            "1.35",
            "1.35.0",
            nodegroups=(
                NodegroupSpec("ng-general", "AL2023_x86_64_STANDARD", "1.35", 6),
                NodegroupSpec("ng-al2", "AL2_x86_64", "1.32", 2),
            ),
            karpenter_nodes=3,
            self_managed_nodes=1,
            self_managed_kubelet="1.32",
            # kube-proxy is self-managed here and was not updated with the control plane.
            addons=_without(_ADDONS_135, "kube-proxy"),
            self_managed_addons=(("kube-proxy", "v1.34.1-eksbuild.2"),),
            insights=(
                _insight(
                    "Amazon Linux 2 compatibility",
                    "ERROR",
                    "Node group ng-al2 uses AL2 AMIs, which EKS does not publish for 1.33 and "
                    "later.",
                    "1.36",
                    "Replace ng-al2 with an AL2023 node group.",
                ),
            ),
            helm_releases=_releases("19.6.4"),
            apps_out_of_sync=frozenset({"thumbnailer"}),
            support_type="STANDARD",
            nodeclasses=(("default", "al2023@latest"),),
            irsa_annotated=False,
        ),
    ]


# What the inventory gate must report for the seeded estate (tests hold it to this).
SEEDED_BLOCKERS = (
    "inventory/ap-northeast-1/photos-apne1-green/kubelet-skew/nodegroup/ng-legacy",
    "inventory/ap-northeast-1/photos-apne1-green/addon-no-target-version/kubecost_kubecost",
    "inventory/ap-northeast-1/photos-apne1-green/addon-incompatible/aws-ebs-csi-driver",
    "inventory/ap-northeast-1/photos-apne1-green/karpenter-al2/legacy",
    "inventory/ap-northeast-1/photos-apne1-green/insight/kubelet-version-skew",
    "inventory/ap-northeast-1/parity/argocd-app/photos/share-links",
    "inventory/ap-northeast-1/parity/workload/photos/share-links",
    "inventory/ap-northeast-1/parity/cronjob/photos/weekly-report",
    "inventory/ap-northeast-1/parity/crd/servicemonitors.monitoring.coreos.com",
    "inventory/us-east-1/photos-use1-green/ami-type/ng-al2",
    "inventory/us-east-1/photos-use1-green/cgroup-v1/nodegroup/ng-al2",
    "inventory/us-east-1/photos-use1-green/node-os/self-managed/gpu-self-managed",
    "inventory/us-east-1/photos-use1-green/cgroup-v1/self-managed/gpu-self-managed",
    "inventory/us-east-1/photos-use1-green/core-addon/kube-proxy",
    "inventory/us-east-1/photos-use1-green/insight/amazon-linux-2-compatibility",
    "inventory/us-east-1/parity/argocd-app/photos/thumbnailer",
    "inventory/us-east-1/parity/irsa/photos/photo-api",
)
# Warnings the seeded estate must raise, besides blue's support ones.
EXPECTED_WARNINGS = (
    # blue/green drains nothing: a budget that allows no eviction warns (structural here)
    "inventory/ap-northeast-1/photos-apne1-green/pdb-blocks-drain/photos/photo-api",
    "inventory/us-east-1/photos-use1-green/upgrade-policy/photos-use1-green",
    "inventory/us-east-1/photos-use1-green/containerd-1/nodegroup/ng-al2",
    "inventory/us-east-1/photos-use1-green/containerd-1/self-managed/gpu-self-managed",
    "inventory/us-east-1/photos-use1-green/addon-update/vpc-cni",
    "inventory/us-east-1/photos-use1-blue/node-os/nodegroup/ng-al2",
    "inventory/us-east-1/photos-use1-blue/node-os/self-managed/gpu-self-managed",
)


def argo_charts() -> list[ChartSpec]:
    """Charts Argo CD deploys (the helm-installed add-ons are left to helm)."""
    return [c for c in SANDBOX_CHARTS if c.name not in HELM_INSTALLED]


def chart_namespace(chart: ChartSpec) -> str:
    return SERVICE_NAMESPACE if chart.category == "service" else chart.name


def chart_version_for(chart: ChartSpec, role: Role) -> str:
    """Renovate bumps reach green first: green runs the newest, blue the one before."""
    if role == "blue" and len(chart.versions) > 1:
        return chart.versions[-2].version
    return chart.latest.version


@dataclass
class KubeSeed:
    """The objects and extra types one fake cluster serves."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    types: list[Any] = field(default_factory=list)


def _nodes(spec: ClusterSpec, zone_suffixes: str = "acd") -> tuple[list[dict[str, Any]], int]:
    nodes = []

    def zone(i: int) -> str:
        return f"{spec.region}{zone_suffixes[i % len(zone_suffixes)]}"

    for ng in spec.nodegroups:
        for i in range(ng.nodes):
            nodes.append(
                k.node(
                    f"ip-{spec.short}-{ng.name}-{i}",
                    f"v{ng.version}.9-eks-5e0fdde",
                    labels={
                        "eks.amazonaws.com/nodegroup": ng.name,
                        "eks.amazonaws.com/capacityType": "ON_DEMAND",
                    },
                    instance_type=ng.instance_type,
                    zone=zone(i),
                    **_node_os(ng.ami_type),
                    created=_EPOCH,
                )
            )
    for i in range(spec.karpenter_nodes):
        nodes.append(
            k.node(
                f"ip-{spec.short}-karpenter-{i}",
                f"v{spec.version}.9-eks-5e0fdde",
                labels={"karpenter.sh/nodepool": "default", "karpenter.sh/capacity-type": "spot"},
                zone=zone(i),
                **_node_os("AL2023_x86_64_STANDARD"),
                created=_EPOCH,
            )
        )
    for i in range(spec.fargate_nodes):
        nodes.append(
            k.node(
                f"fargate-ip-{spec.short}-{i}",
                f"v{spec.version}.9-eks-5e0fdde",
                labels={
                    "eks.amazonaws.com/compute-type": "fargate",
                    "eks.amazonaws.com/fargate-profile": "coredns",
                },
                zone=zone(i),
                created=_EPOCH,
            )
        )
    for i in range(spec.self_managed_nodes):
        nodes.append(
            k.node(
                f"ip-{spec.short}-selfmanaged-{i}",
                f"v{spec.self_managed_kubelet}.9-eks-5e0fdde",
                labels={"alpha.eks.amazonaws.com/nodegroup-name": "gpu-self-managed"},
                zone=zone(i),
                # a hand-built AL2 GPU AMI: cgroup v1, containerd 1.7
                **_node_os("AL2_x86_64_GPU"),
                created=_EPOCH,
            )
        )
    extra_nodes = 0
    if spec.pods_target:
        # ~29 pods a node: add general nodes until the pods fit.
        extra_nodes = max(0, spec.pods_target // 29 - len(nodes))
        for i in range(extra_nodes):
            nodes.append(
                k.node(
                    f"ip-{spec.short}-karpenter-x{i}",
                    f"v{spec.version}.9-eks-5e0fdde",
                    labels={"karpenter.sh/nodepool": "default"},
                    zone=zone(i),
                    created=_EPOCH,
                )
            )
    return nodes, extra_nodes


class _NodeOs(TypedDict):
    os_image: str
    container_runtime: str
    kernel_version: str


def _node_os(ami_type: str) -> _NodeOs:
    """What a node's kubelet reports for its AMI: AL2 on containerd 1.7, AL2023 on 2.x."""
    if ami_type.startswith("AL2_"):
        return _NodeOs(
            os_image="Amazon Linux 2",
            container_runtime="containerd://1.7.29",
            kernel_version="5.10.245-241.976.amzn2.x86_64",
        )
    return _NodeOs(
        os_image="Amazon Linux 2023.8.20251020",
        container_runtime="containerd://2.1.5",
        kernel_version="6.12.46-66.121.amzn2023.x86_64",
    )


def _deployment_objects(
    namespace: str,
    name: str,
    replicas: int,
    node_names: list[str],
    offset: int,
    ready: int | None = None,
    containers: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    deployment = k.deployment(
        namespace,
        name,
        replicas=replicas,
        ready_replicas=ready,
        containers=containers,
        created=_EPOCH,
    )
    replicaset = k.replicaset(namespace, name, replicas=replicas, owner=deployment, created=_EPOCH)
    pods = [
        k.pod(
            namespace,
            f"{replicaset['metadata']['name']}-{i:05d}",
            node_name=node_names[(offset + i) % len(node_names)],
            owner=replicaset,
            labels={"app": name},
            containers=containers,
            created=_EPOCH,
            phase="Running" if ready is None or i < ready else "Pending",
        )
        for i in range(replicas)
    ]
    return [deployment, replicaset, *pods]


def _daemonset_objects(
    namespace: str,
    name: str,
    node_names: list[str],
    containers: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    daemonset = k.daemonset(
        namespace, name, desired=len(node_names), containers=containers, created=_EPOCH
    )
    return [
        daemonset,
        *(
            k.pod(
                namespace,
                f"{name}-{i:05d}",
                node_name=node,
                owner=daemonset,
                labels={"app": name},
                containers=containers,
                created=_EPOCH,
            )
            for i, node in enumerate(node_names)
        ),
    ]


def kube_seed(spec: ClusterSpec) -> KubeSeed:
    """Every Kubernetes object of one service cluster (Helm release Secrets come later)."""
    seed = KubeSeed()
    nodes, _ = _nodes(spec)
    node_names = [n["metadata"]["name"] for n in nodes]
    seed.objects += nodes
    namespaces = {"default", "kube-system", SERVICE_NAMESPACE}
    if spec.role == "management":
        return _management_seed(seed, node_names, namespaces)
    charts = [c for c in argo_charts() if c.name not in spec.apps_missing]
    workloads = [c for c in charts if c.values.get("workload", {}).get("kind") != "DaemonSet"]
    daemons = [c for c in charts if c not in workloads]
    per_deployment = spec.replicas
    if spec.pods_target:
        daemon_pods = (len(daemons) + 2) * len(node_names)
        per_deployment = max(spec.replicas, (spec.pods_target - daemon_pods) // len(workloads))
    offset = 0
    for chart in workloads:
        namespace = chart_namespace(chart)
        namespaces.add(namespace)
        ready = 0 if chart.name in spec.apps_out_of_sync else None
        seed.objects += _deployment_objects(
            namespace, chart.name, per_deployment, node_names, offset, ready
        )
        seed.objects.append(
            k.pdb(
                namespace,
                chart.name,
                {"app": chart.name},
                max_unavailable=1,
                current_healthy=per_deployment,
                desired_healthy=per_deployment - 1,
                disruptions_allowed=1,
                expected_pods=per_deployment,
                created=_EPOCH,
            )
        )
        offset += per_deployment
    if spec.blocking_pdb:
        seed.objects = [o for o in seed.objects if not _is_pdb(o, spec.blocking_pdb)]
        seed.objects.append(
            k.pdb(
                SERVICE_NAMESPACE,
                spec.blocking_pdb,
                {"app": spec.blocking_pdb},
                min_available="100%",
                current_healthy=per_deployment,
                desired_healthy=per_deployment,
                disruptions_allowed=0,
                expected_pods=per_deployment,
                created=_EPOCH,
            )
        )
    for chart in daemons:
        namespaces.add(chart_namespace(chart))
        seed.objects += _daemonset_objects(chart_namespace(chart), chart.name, node_names)
    seed.objects += _networking_addons(spec, node_names)
    seed.objects += _inventory_seeds(spec, seed)
    for release in spec.helm_releases:
        namespaces.add(release.namespace)
    seed.objects += _legacy_api_objects(spec)
    _add_api_evidence(seed, spec)
    seed.objects.append(
        k.secret(
            SERVICE_NAMESPACE,
            "photo-api-db",
            data={"password": SECRET_SENTINEL.encode()},
            created=_EPOCH,
        )
    )
    if spec.serves_karpenter_v1beta1:
        seed.types.append(KARPENTER_NODEPOOL_V1BETA1)
        seed.objects.append(
            k.custom(
                "karpenter.sh/v1beta1",
                "NodePool",
                None,
                "legacy-batch",
                spec={"template": {"spec": {"nodeClassRef": {"name": "default"}}}},
                created=_EPOCH,
            )
        )
    seed.objects += [k.namespace(ns, created=_EPOCH) for ns in sorted(namespaces)]
    return seed


# --- inventory seeds -------------------------------------------------------------------

_NETWORKING = {
    # EKS name → (kind, workload, image repository under the regional ECR registry)
    "vpc-cni": ("DaemonSet", "aws-node", "amazon-k8s-cni"),
    "kube-proxy": ("DaemonSet", "kube-proxy", "eks/kube-proxy"),
    "coredns": ("Deployment", "coredns", "eks/coredns"),
}


def _networking_addons(spec: ClusterSpec, node_names: list[str]) -> list[dict[str, Any]]:
    """aws-node, kube-proxy and coredns in kube-system, on the image of their EKS add-on or,
    where self-managed, on the tag the spec gives."""
    versions = {**dict(spec.addons), **dict(spec.self_managed_addons)}
    registry = f"602401143452.dkr.ecr.{spec.region}.amazonaws.com"
    objects: list[dict[str, Any]] = []
    for addon, (kind, name, repository) in _NETWORKING.items():
        if addon not in versions:
            continue
        containers = [k.container(name, f"{registry}/{repository}:{versions[addon]}")]
        if kind == "DaemonSet":
            objects += _daemonset_objects("kube-system", name, node_names, containers)
        else:
            objects += _deployment_objects("kube-system", name, 2, node_names, 0, None, containers)
    return objects


def _inventory_seeds(spec: ClusterSpec, seed: KubeSeed) -> list[dict[str, Any]]:
    """Karpenter node classes, an IngressClass, and what only blue has (parity)."""
    # photo-api's ServiceAccount (IRSA, without its annotation where `irsa_annotated` is
    # false) is seeded with the readiness seeds, which check its role's trust policy.
    objects: list[dict[str, Any]] = [k.ingress_class("alb", created=_EPOCH)]
    if spec.nodeclasses:
        seed.types.append(KARPENTER_EC2NODECLASS)
        if not spec.serves_karpenter_v1beta1:
            seed.types.append(KARPENTER_NODEPOOL)
        for name, ami in spec.nodeclasses:
            terms = {"amiFamily": ami} if "@" not in ami else {"amiSelectorTerms": [{"alias": ami}]}
            objects.append(
                k.custom(
                    "karpenter.k8s.aws/v1",
                    "EC2NodeClass",
                    None,
                    name,
                    spec={"role": f"KarpenterNodeRole-{spec.name}", **terms},
                    created=_EPOCH,
                )
            )
    if spec.blue_only_objects:
        objects.append(k.cronjob(SERVICE_NAMESPACE, "weekly-report", "0 6 * * 1", created=_EPOCH))
        seed.types.append(PROMETHEUS_SERVICEMONITOR)
        objects.append(
            k.custom(
                "monitoring.coreos.com/v1",
                "ServiceMonitor",
                SERVICE_NAMESPACE,
                "photo-api",
                spec={"selector": {"matchLabels": {"app": "photo-api"}}},
                created=_EPOCH,
            )
        )
    return objects


# --- end of inventory seeds ---------------------------------------------------------------


def _is_pdb(obj: dict[str, Any], name: str) -> bool:
    return obj["kind"] == "PodDisruptionBudget" and obj["metadata"]["name"] == name


def _legacy_api_objects(spec: ClusterSpec) -> list[dict[str, Any]]:
    """Live objects whose last-applied manifest still names a removed API (kubent's view),
    next to one already migrated (which must not be reported)."""
    cron_applied = {
        "apiVersion": "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {"name": "nightly-prune", "namespace": SERVICE_NAMESPACE},
        "spec": {"schedule": "0 3 * * *"},
    }
    migrated_applied = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "feed-migrated", "namespace": SERVICE_NAMESPACE},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "feed"}}},
    }
    objects = [
        k.cronjob(
            SERVICE_NAMESPACE,
            "nightly-prune",
            schedule="0 3 * * *",
            last_applied=cron_applied,
            created=_EPOCH,
        ),
        k.pdb(
            SERVICE_NAMESPACE,
            "feed-migrated",
            {"app": "feed"},
            max_unavailable=1,
            current_healthy=2,
            desired_healthy=1,
            disruptions_allowed=1,
            expected_pods=2,
            last_applied=migrated_applied,
            created=_EPOCH,
        ),
    ]
    if any(r.chart == "redis" for r in spec.helm_releases):
        # helm-installed redis: the live PDB is served at policy/v1 whatever API the stored
        # release manifest names (apne1-green's 16.13.2 manifest still says policy/v1beta1).
        objects.append(
            k.pdb(
                SERVICE_NAMESPACE,
                "redis",
                {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis"},
                min_available=1,
                current_healthy=2,
                desired_healthy=1,
                disruptions_allowed=1,
                expected_pods=2,
                created=_EPOCH,
            )
        )
    if spec.role == "green" and spec.region == "ap-northeast-1":
        legacy_pdb = {
            "apiVersion": "policy/v1beta1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "legacy-worker", "namespace": SERVICE_NAMESPACE},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "legacy-worker"}}},
        }
        objects.append(
            k.pdb(
                SERVICE_NAMESPACE,
                "legacy-worker",
                {"app": "legacy-worker"},
                min_available=1,
                current_healthy=0,
                desired_healthy=1,
                disruptions_allowed=0,
                expected_pods=0,
                last_applied=legacy_pdb,
                created=_EPOCH,
            )
        )
    return objects


def _management_seed(seed: KubeSeed, node_names: list[str], namespaces: set[str]) -> KubeSeed:
    namespaces.add(ARGOCD_NAMESPACE)
    seed.types.append(ARGO_APPLICATION)
    for name in ("argocd-server", "argocd-repo-server", "argocd-applicationset-controller"):
        seed.objects += _deployment_objects(ARGOCD_NAMESPACE, name, 1, node_names, 0)
    seed.objects += [k.namespace(ns, created=_EPOCH) for ns in sorted(namespaces)]
    return seed


def argocd_objects(
    specs: list[ClusterSpec], repo_url: str, servers: dict[str, str]
) -> list[dict[str, Any]]:
    """Applications (one per chart and service cluster) and Argo CD's cluster Secrets."""
    objects = []
    for spec in specs:
        if spec.role == "management":
            continue
        objects.append(
            k.secret(
                ARGOCD_NAMESPACE,
                f"cluster-{spec.name}",
                labels={"argocd.argoproj.io/secret-type": "cluster"},
                data={
                    "name": spec.name.encode(),
                    "server": servers[spec.name].encode(),
                    "config": (
                        '{"bearerToken": "' + ARGOCD_TOKEN_SENTINEL + '", '
                        '"tlsClientConfig": {"insecure": false}}'
                    ).encode(),
                },
                created=_EPOCH,
            )
        )
        for chart in argo_charts():
            if chart.name in spec.apps_missing:
                continue
            out_of_sync = chart.name in spec.apps_out_of_sync
            version = chart_version_for(chart, spec.role)
            objects.append(
                k.custom(
                    "argoproj.io/v1alpha1",
                    "Application",
                    ARGOCD_NAMESPACE,
                    f"{chart.name}-{spec.short}",
                    spec={
                        "project": "photos",
                        "source": {
                            "repoURL": repo_url,
                            "chart": chart.name,
                            "targetRevision": version,
                            "helm": {"valuesObject": {"replicaCount": spec.replicas}},
                        },
                        "destination": {"name": spec.name, "namespace": chart_namespace(chart)},
                        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
                    },
                    status={
                        "sync": {
                            "status": "OutOfSync" if out_of_sync else "Synced",
                            "revision": version,
                        },
                        "health": {"status": "Degraded" if out_of_sync else "Healthy"},
                        "reconciledAt": (_EPOCH + timedelta(days=170)).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                    },
                    created=_EPOCH,
                )
            )
    return objects


# --- API scan evidence (issue 7): what the scan reads beyond manifests and served versions --
#: What the API scan gate must block for the seeded estate at its target (tests hold it to
#: this; the demo waives each): green's forward-looking evidence, blue's evidence that green
#: does not show migrated, and the demo's own manifests.
SEEDED_API_BLOCKERS = frozenset(
    {
        # green: what will be applied to it, or call it
        "api-scan/ap-northeast-1/photos-apne1-green/last-applied/PodDisruptionBudget/photos/"
        "legacy-worker/policy/v1beta1",
        "api-scan/ap-northeast-1/photos-apne1-green/last-applied/CronJob/photos/nightly-prune/"
        "batch/v1beta1",
        "api-scan/us-east-1/photos-use1-green/last-applied/CronJob/photos/nightly-prune/batch/v1beta1",
        "api-scan/ap-northeast-1/photos-apne1-green/insights/PodDisruptionBudget/-/-/policy/v1beta1",
        "api-scan/ap-northeast-1/photos-apne1-green/helm-release/PodDisruptionBudget/photos/redis/"
        "policy/v1beta1",
        "api-scan/ap-northeast-1/photos-apne1-green/managed-fields/HorizontalPodAutoscaler/photos/"
        "search-indexer/autoscaling/v2beta2",
        "api-scan/ap-northeast-1/photos-apne1-green/crd-storage/CustomResourceDefinition/-/"
        "certificates.cert-manager.io/cert-manager.io/v1alpha2",
        # blue: redeployed to green (or calling it), and green does not show it migrated
        "api-scan/ap-northeast-1/photos-apne1-blue/last-applied/CronJob/photos/nightly-prune/"
        "batch/v1beta1",
        "api-scan/us-east-1/photos-use1-blue/last-applied/CronJob/photos/nightly-prune/batch/v1beta1",
        "api-scan/ap-northeast-1/photos-apne1-blue/insights/PodDisruptionBudget/-/-/policy/v1beta1",
        # examples/deploy, the demo's own manifests: headed for green like everything else
        "api-scan/-/-/file/CronJob/photos/photo-cleanup/batch/v1beta1",
        "api-scan/-/-/file/Ingress/photos/legacy-share/networking.k8s.io/v1beta1",
    }
)


def _with_api_evidence_insights(specs: list[ClusterSpec]) -> list[ClusterSpec]:
    """Blue's clients are evidence for green: apne1-blue's legacy-worker job and pdb-exporter
    call policy/v1beta1 as they do on apne1-green (not migrated: blocks the cutover);
    use1-blue's do too, but use1-green's insights show no such calls (migrated: info)."""
    calls = _insight(
        "Deprecated APIs removed in Kubernetes v1.25",
        "WARNING",
        "Deprecated API usage detected within the last 30 days.",
        "1.25",
        "Update the clients listed in the deprecation details to the replacement API.",
        (_LEGACY_PDB_CALLS,),
    )
    return [
        replace(spec, insights=(*spec.insights, calls)) if spec.role == "blue" else spec
        for spec in specs
    ]


def _add_api_evidence(seed: KubeSeed, spec: ClusterSpec) -> None:
    """managedFields, CRD storage and a blue object already migrated on green."""
    if spec.role not in ("blue", "green"):
        return
    # upload-gate: blue's last-applied still names policy/v1beta1, green's was re-applied at
    # policy/v1 -- blue's evidence is shown migrated on green (information, not a blocker).
    applied = "policy/v1beta1" if spec.role == "blue" else "policy/v1"
    seed.objects.append(
        k.pdb(
            SERVICE_NAMESPACE,
            "upload-gate",
            {"app": "upload-gate"},
            max_unavailable=1,
            current_healthy=2,
            desired_healthy=1,
            disruptions_allowed=1,
            expected_pods=2,
            last_applied={
                "apiVersion": applied,
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "upload-gate", "namespace": SERVICE_NAMESPACE},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "upload-gate"}}},
            },
            created=_EPOCH,
        )
    )
    if spec.role != "green" or spec.region != "ap-northeast-1":
        return
    # Flux (server-side apply: no last-applied annotation) applied search-indexer's HPA
    # through autoscaling/v2beta2 two days ago, and will again: a blocker only managedFields
    # show. (photo-api's HPAs belong to the readiness seeds.)
    recent = datetime.now(UTC) - timedelta(days=2)
    seed.objects.append(
        k.with_managed_fields(
            k.hpa(SERVICE_NAMESPACE, "search-indexer", "search-indexer", created=_EPOCH),
            k.managed_field("kustomize-controller", "autoscaling/v2beta2", recent),
            k.managed_field("kube-controller-manager", "autoscaling/v2", recent, "Update"),
        )
    )
    # A one-off apply of report-export through batch/v1beta1 long ago: a warning naming the
    # manager and its time (the API is still reported as removed). Suspended on green, as
    # the demo's cutover plan wants every CronJob there until 100 %.
    seed.objects.append(
        k.with_managed_fields(
            k.cronjob(
                SERVICE_NAMESPACE,
                "report-export",
                schedule="0 5 * * *",
                suspend=True,
                created=_EPOCH,
            ),
            k.managed_field("deploy-bot", "batch/v1beta1", _EPOCH - timedelta(days=400)),
        )
    )
    # cert-manager was upgraded past 1.6 without a storage migration: v1alpha2 is still in
    # status.storedVersions but no longer served.
    seed.types.append(CERT_MANAGER_CERTIFICATE)
    seed.objects.append(_crd_with_unserved_stored_version())


def _crd_with_unserved_stored_version() -> dict[str, Any]:
    crd = k.custom_resource_definition([CERT_MANAGER_CERTIFICATE], created=_EPOCH)
    old = {**crd["spec"]["versions"][0], "name": "v1alpha2", "served": False, "storage": False}
    crd["spec"]["versions"] = [old, *crd["spec"]["versions"]]
    crd["status"]["storedVersions"] = ["v1alpha2", "v1"]
    return crd

"""The inventory's rows: one dataclass per table the notebook and the CLI show.

Every row carries region, cluster and role (blue/green/in-place), so tables from all
clusters concatenate into one frame that an operator can filter, and parity can compare
blue with green row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ekslift.estate import EstateCluster

OwnerKind = Literal["nodegroup", "karpenter", "fargate", "self-managed"]


@dataclass(frozen=True)
class SupportWindow:
    version: str
    release_date: date | None
    end_of_standard: date | None
    end_of_extended: date | None
    source: Literal["DescribeClusterVersions", "bundled calendar", "unknown"]

    def phase(self, today: date) -> Literal["standard", "extended", "unsupported", "unknown"]:
        """The end dates are the first day of the next phase: EKS bills extended support
        "from the beginning of the day that the version reaches end of standard support"
        (UTC), and upgrades the control plane on the day extended support ends."""
        if self.end_of_standard is None:
            return "unknown"
        if today < self.end_of_standard:
            return "standard"
        if self.end_of_extended is not None and today < self.end_of_extended:
            return "extended"
        return "unsupported"


@dataclass(frozen=True)
class ClusterRow:
    where: EstateCluster
    version: str
    platform_version: str
    status: str
    support_phase: str
    days_to_end_of_standard: int | None
    days_to_end_of_extended: int | None
    support: SupportWindow
    # upgradePolicy.supportType: STANDARD means EKS upgrades the control plane by itself
    # when standard support ends; "" when EKS did not say.
    support_type: str = ""


@dataclass(frozen=True)
class NodegroupRow:
    where: EstateCluster
    name: str
    ami_type: str
    version: str
    release_version: str
    desired_size: int
    ami_supported_on_target: bool


@dataclass(frozen=True)
class NodeGroupSummary:
    """Nodes grouped by owner: 18,000-pod clusters have hundreds of nodes, not hundreds of rows.

    Grouped also by OS image and container runtime, because those decide what a new minor
    refuses (AL2 has no AMI past 1.32, cgroup v1 and containerd 1.x end with 1.35).
    """

    where: EstateCluster
    owner_kind: OwnerKind
    owner: str
    kubelet_version: str
    nodes: int
    skew_to_control_plane: int | None
    skew_to_target: int | None
    os_image: str = ""
    container_runtime: str = ""


@dataclass(frozen=True)
class NodeClassRow:
    """A Karpenter EC2NodeClass: the AMIs Karpenter will launch for its NodePools."""

    where: EstateCluster
    name: str
    ami_family: str
    aliases: str
    amazon_linux_2: bool


@dataclass(frozen=True)
class AddonRow:
    """An EKS add-on and what DescribeAddonVersions says about the versions it must run on.

    `checked_against` is the first version the installed add-on must run on (the target
    for blue/green, the first hop in place); `installed_compatible` is None when EKS could
    not be asked (missing data is not a pass, `problem` says why); `no_version_for` lists
    the versions it must run on for which EKS publishes no version of it at all.
    """

    where: EstateCluster
    name: str
    version: str
    status: str
    checked_against: str
    installed_compatible: bool | None
    no_version_for: str
    default_for_target: str | None
    latest_for_target: str | None
    problem: str = ""


@dataclass(frozen=True)
class CoreAddonRow:
    """vpc-cni, CoreDNS or kube-proxy as they run in kube-system, read from their image."""

    where: EstateCluster
    name: str
    workload: str
    image: str
    version: str
    self_managed: bool


@dataclass(frozen=True)
class InsightRow:
    where: EstateCluster
    id: str
    name: str
    category: str
    status: str
    reason: str
    kubernetes_version: str
    recommendation: str = ""


@dataclass(frozen=True)
class HelmReleaseRow:
    where: EstateCluster
    name: str
    namespace: str
    chart: str
    chart_version: str
    app_version: str
    status: str
    revision: int
    last_deployed: str


@dataclass(frozen=True)
class WorkloadRow:
    where: EstateCluster
    namespace: str
    deployments: int = 0
    statefulsets: int = 0
    daemonsets: int = 0
    cronjobs: int = 0
    pods: int = 0
    pods_not_running: int = 0


@dataclass(frozen=True)
class PdbRow:
    """A PodDisruptionBudget and whether it lets a drain evict anything.

    `cause` says why a budget blocks: *structural* (its spec can never allow an eviction:
    `maxUnavailable: 0`, or `minAvailable` at or above the pods it covers) or *transient*
    (pods are unhealthy now, so the budget is used up).
    """

    where: EstateCluster
    namespace: str
    name: str
    min_available: str
    max_unavailable: str
    expected_pods: int
    disruptions_allowed: int
    blocks_drain: bool
    current_healthy: int = 0
    desired_healthy: int = 0
    cause: Literal["structural", "transient", ""] = ""


ParityKind = Literal[
    "argocd-app",
    "helm-release",
    "workload",
    "statefulset",
    "daemonset",
    "cronjob",
    "hpa",
    "pdb",
    "service-lb",
    "ingress",
    "ingressclass",
    "irsa",
    "crd",
]
"""`workload` is a Deployment (the name predates the other kinds; ids stay stable)."""


@dataclass(frozen=True)
class ParityGap:
    region: str
    kind: ParityKind
    name: str
    problem: str
    blue: str
    green: str
    severity: Literal["blocker", "warning", "info"] = "blocker"


@dataclass(frozen=True)
class HopRow:
    """One step of an in-place upgrade: a hop's component, in EKS's order, and what blocks it."""

    where: EstateCluster
    hop: int
    from_version: str
    to_version: str
    order: int
    component: str
    blocked_by: str


@dataclass
class ClusterInventory:
    """Everything read from one cluster; `problems` holds what could not be read, by area,
    and `unreachable` the areas whose API could not be reached at all (see ekslift.faults).

    `objects` holds what parity compares, per kind: (namespace, name) → a detail that must
    match on green (the IAM role of an IRSA ServiceAccount, "in use" for a CRD with
    custom resources), "" when presence is all that counts.
    """

    cluster: ClusterRow | None
    nodegroups: list[NodegroupRow] = field(default_factory=list)
    nodes: list[NodeGroupSummary] = field(default_factory=list)
    nodeclasses: list[NodeClassRow] = field(default_factory=list)
    addons: list[AddonRow] = field(default_factory=list)
    core_addons: list[CoreAddonRow] = field(default_factory=list)
    insights: list[InsightRow] = field(default_factory=list)
    helm_releases: list[HelmReleaseRow] = field(default_factory=list)
    workloads: list[WorkloadRow] = field(default_factory=list)
    pdbs: list[PdbRow] = field(default_factory=list)
    objects: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)

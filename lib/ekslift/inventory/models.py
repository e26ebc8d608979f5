"""The inventory's rows: one dataclass per table the notebook and the CLI show.

Every row carries region, cluster and role (blue/green/management), so tables from all
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
        if self.end_of_standard is None:
            return "unknown"
        if today <= self.end_of_standard:
            return "standard"
        if self.end_of_extended is not None and today <= self.end_of_extended:
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
    """Nodes grouped by owner: 18,000-pod clusters have hundreds of nodes, not hundreds of rows."""

    where: EstateCluster
    owner_kind: OwnerKind
    owner: str
    kubelet_version: str
    nodes: int
    skew_to_control_plane: int
    skew_to_target: int


@dataclass(frozen=True)
class AddonRow:
    where: EstateCluster
    name: str
    version: str
    status: str
    supports_target: bool
    default_for_target: str | None
    latest_for_target: str | None


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
    pods: int = 0
    pods_not_running: int = 0


@dataclass(frozen=True)
class PdbRow:
    where: EstateCluster
    namespace: str
    name: str
    min_available: str
    max_unavailable: str
    expected_pods: int
    disruptions_allowed: int
    blocks_drain: bool


@dataclass(frozen=True)
class ParityGap:
    region: str
    kind: Literal["argocd-app", "helm-release", "workload"]
    name: str
    problem: str
    blue: str
    green: str
    blocking: bool = True


@dataclass
class ClusterInventory:
    """Everything read from one cluster; `problems` holds what could not be read, by area,
    and `unreachable` the areas whose API could not be reached at all (see ekslift.faults)."""

    cluster: ClusterRow | None
    nodegroups: list[NodegroupRow] = field(default_factory=list)
    nodes: list[NodeGroupSummary] = field(default_factory=list)
    addons: list[AddonRow] = field(default_factory=list)
    insights: list[InsightRow] = field(default_factory=list)
    helm_releases: list[HelmReleaseRow] = field(default_factory=list)
    workloads: list[WorkloadRow] = field(default_factory=list)
    pdbs: list[PdbRow] = field(default_factory=list)
    deployments: set[tuple[str, str]] = field(default_factory=set)
    problems: dict[str, str] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)

"""What readiness reads, as plain data: AWS facts of a region, Kubernetes facts of a cluster.

The readers fill these and nothing else; the judges take them and nothing else, so every
rule can be tested on a hand-built estate (a clean one passes, each broken fact fails) and
the same rules run against the sandbox and a real estate. A fact that could not be read is
None (or absent), never an empty "all fine": the judges say so rather than pass it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ekslift.argocd import ArgoAppRow
from ekslift.params import Color

WorkloadClass = Literal[
    "served", "consumer", "cronjob", "external-dns", "side-effect", "stateful", "other"
]
WORKLOAD_CLASS_LABEL = "ekslift.io/cutover-class"
"""A label that classifies a workload whatever the cluster shows (e.g. `consumer` on a
Deployment that polls SQS without KEDA)."""


# ---------------------------------------------------------------------------------- AWS


@dataclass(frozen=True)
class EksCluster:
    name: str
    issuer: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]

    @property
    def issuer_host(self) -> str:
        """The issuer as IAM spells it in provider ARNs and condition keys (no scheme)."""
        return self.issuer.removeprefix("https://")


@dataclass(frozen=True)
class ForwardAction:
    """A forward action (a listener's default, or a rule's) with the tags of its owner."""

    load_balancer_arn: str
    listener_arn: str
    rule_arn: str | None
    conditions: str
    weights: dict[str, int]
    stickiness_seconds: int | None
    tags: dict[str, str]

    @property
    def arn(self) -> str:
        """The ARN step 4 modifies: the rule's, or the listener's for its default action."""
        return self.rule_arn or self.listener_arn


@dataclass(frozen=True)
class LoadBalancer:
    arn: str
    name: str
    zones: tuple[str, ...]
    tags: dict[str, str]


@dataclass(frozen=True)
class TargetHealth:
    target: str
    zone: str
    state: str


@dataclass(frozen=True)
class Subnet:
    id: str
    zone: str
    cidr: str
    available_ips: int


@dataclass(frozen=True)
class Role:
    name: str
    arn: str
    trust_policy: dict[str, Any]
    trust_policy_size: int
    policies: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class PodIdentityAssociation:
    namespace: str
    service_account: str
    role_arn: str


@dataclass(frozen=True)
class GuardedGroup:
    """A security group in front of a database or cache, and whom it admits."""

    id: str
    name: str
    guards: str
    sources: frozenset[str]


@dataclass(frozen=True)
class TrafficHistory:
    """Requests per period of blue's and green's target groups over the lookback."""

    period_seconds: int
    points: dict[Color, list[tuple[datetime, float]]]


# --------------------------------------------------------------------------- Kubernetes


@dataclass(frozen=True)
class TargetGroupBinding:
    namespace: str
    name: str
    target_group_arn: str
    service: str


@dataclass(frozen=True)
class Workload:
    """A Deployment or StatefulSet with what sizing, parity and the cutover plans need."""

    kind: Literal["Deployment", "StatefulSet"]
    namespace: str
    name: str
    replicas: int
    ready: int
    labels: dict[str, str]
    selector: dict[str, str]
    pod_labels: dict[str, str]
    cpu_request_m: int
    memory_request: int
    args: tuple[str, ...]
    has_volumes: bool = False
    digests: frozenset[str] = frozenset()

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Autoscaler:
    """An HPA or a KEDA ScaledObject/ScaledJob on one workload."""

    kind: Literal["HorizontalPodAutoscaler", "ScaledObject", "ScaledJob"]
    namespace: str
    name: str
    target: str
    min_replicas: int
    max_replicas: int
    paused: bool = False


@dataclass(frozen=True)
class CronJob:
    namespace: str
    name: str
    suspended: bool


@dataclass(frozen=True)
class NodePool:
    """A Karpenter NodePool: its CPU limit and whether its disruption budget allows none."""

    name: str
    cpu_limit_m: int | None
    cpu_used_m: int
    no_disruption: bool


@dataclass(frozen=True)
class Nodes:
    count: int
    allocatable_cpu_m: int
    allocatable_memory: int
    requested_cpu_m: int
    requested_memory: int
    on_demand_vcpus: int


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    role_arn: str


@dataclass(frozen=True)
class SyncWindow:
    project: str
    kind: str
    schedule: str
    duration: str
    applications: tuple[str, ...]
    clusters: tuple[str, ...]
    namespaces: tuple[str, ...]


@dataclass
class ClusterFacts:
    """One cluster as Kubernetes shows it; an area that could not be read stays None."""

    role: Color
    context: str
    tgbs: list[TargetGroupBinding] | None = None
    namespaces: dict[str, dict[str, str]] | None = None
    services: dict[str, dict[str, str]] | None = None
    workloads: list[Workload] | None = None
    autoscalers: list[Autoscaler] | None = None
    cronjobs: list[CronJob] | None = None
    nodes: Nodes | None = None
    nodepools: list[NodePool] | None = None
    service_accounts: list[ServiceAccount] | None = None

    def workload(self, ref: str) -> Workload | None:
        return next((w for w in self.workloads or [] if w.ref == ref), None)


@dataclass
class RegionFacts:
    """Everything readiness reads for one region; `problems` holds what was refused, by area,
    and `unreachable` what never answered (the step then ends as a tool error)."""

    region: str
    share: int
    current_share: int | None = None
    clusters: dict[Color, EksCluster] = field(default_factory=dict)
    kube: dict[Color, ClusterFacts] = field(default_factory=dict)
    load_balancer: LoadBalancer | None = None
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    forward_actions: list[ForwardAction] | None = None
    target_health: dict[Color, list[TargetHealth]] | None = None
    subnets: dict[Color, list[Subnet]] | None = None
    vcpu_quota: float | None = None
    targets_per_alb: int | None = None
    registered_targets: int | None = None
    oidc_providers: set[str] | None = None
    roles: dict[str, Role | None] = field(default_factory=dict)
    pod_identity: dict[Color, list[PodIdentityAssociation]] | None = None
    access_entries: dict[Color, list[str]] | None = None
    guarded_groups: list[GuardedGroup] | None = None
    nat_ips: dict[Color, set[str]] | None = None
    history: TrafficHistory | None = None
    apps: list[ArgoAppRow] | None = None
    sync_windows: list[SyncWindow] | None = None
    problems: dict[str, str] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)

"""What the Kubernetes API says about a cluster: nodes, workloads, PDBs and Helm releases.

Pods are the big list (up to ~20,000), so they are streamed page by page as raw JSON and
reduced to counts on the fly: nothing pod-sized is kept, which holds peak memory flat.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ekslift.charts.releases import list_releases
from ekslift.estate import EstateCluster
from ekslift.inventory.models import (
    HelmReleaseRow,
    NodeGroupSummary,
    OwnerKind,
    PdbRow,
    WorkloadRow,
)
from ekslift.kube import KubeReader
from ekslift.versions import minor_distance

NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
KARPENTER_LABELS = ("karpenter.sh/nodepool", "karpenter.sh/provisioner-name")
COMPUTE_TYPE_LABEL = "eks.amazonaws.com/compute-type"


def node_owner(labels: dict[str, str]) -> tuple[OwnerKind, str]:
    """Who manages a node, from the labels EKS, Karpenter and Fargate put on it."""
    if NODEGROUP_LABEL in labels:
        return "nodegroup", labels[NODEGROUP_LABEL]
    for label in KARPENTER_LABELS:
        if label in labels:
            return "karpenter", labels[label]
    if labels.get(COMPUTE_TYPE_LABEL) == "fargate":
        return "fargate", labels.get("eks.amazonaws.com/fargate-profile", "fargate")
    return "self-managed", labels.get("alpha.eks.amazonaws.com/nodegroup-name", "(unmanaged)")


def read_nodes(
    kube: KubeReader, where: EstateCluster, control_plane: str, target: str
) -> list[NodeGroupSummary]:
    groups: Counter[tuple[OwnerKind, str, str]] = Counter()
    for node in kube.list("/api/v1/nodes"):
        labels = node["metadata"].get("labels") or {}
        kind, owner = node_owner(labels)
        kubelet = node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "unknown")
        groups[(kind, owner, kubelet)] += 1
    return [
        NodeGroupSummary(
            where=where,
            owner_kind=kind,
            owner=owner,
            kubelet_version=kubelet,
            nodes=count,
            skew_to_control_plane=minor_distance(control_plane, kubelet),
            skew_to_target=minor_distance(target, kubelet),
        )
        for (kind, owner, kubelet), count in sorted(groups.items())
    ]


def read_workloads(
    kube: KubeReader, where: EstateCluster
) -> tuple[list[WorkloadRow], set[tuple[str, str]]]:
    """Per-namespace counts, and the (namespace, name) of every Deployment for parity."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    deployments: set[tuple[str, str]] = set()
    for kind, path in (
        ("deployments", "/apis/apps/v1/deployments"),
        ("statefulsets", "/apis/apps/v1/statefulsets"),
        ("daemonsets", "/apis/apps/v1/daemonsets"),
    ):
        for item in kube.list(path):
            meta = item["metadata"]
            counts[meta["namespace"]][kind] += 1
            if kind == "deployments":
                deployments.add((meta["namespace"], meta["name"]))
    for pod in kube.list("/api/v1/pods"):
        namespace = pod["metadata"]["namespace"]
        counts[namespace]["pods"] += 1
        if pod.get("status", {}).get("phase") not in ("Running", "Succeeded"):
            counts[namespace]["pods_not_running"] += 1
    rows = [WorkloadRow(where=where, namespace=ns, **dict(c)) for ns, c in sorted(counts.items())]
    return rows, deployments


def _intish(value: Any) -> str:
    return "" if value is None else str(value)


def read_pdbs(kube: KubeReader, where: EstateCluster) -> list[PdbRow]:
    """A PDB blocks a drain when it allows no disruption while it covers running pods."""
    rows = []
    for pdb in kube.list("/apis/policy/v1/poddisruptionbudgets"):
        spec, status = pdb.get("spec", {}), pdb.get("status", {})
        expected = int(status.get("expectedPods", 0))
        allowed = int(status.get("disruptionsAllowed", 0))
        rows.append(
            PdbRow(
                where=where,
                namespace=pdb["metadata"]["namespace"],
                name=pdb["metadata"]["name"],
                min_available=_intish(spec.get("minAvailable")),
                max_unavailable=_intish(spec.get("maxUnavailable")),
                expected_pods=expected,
                disruptions_allowed=allowed,
                blocks_drain=expected > 0 and allowed == 0,
            )
        )
    return rows


def read_helm_releases(
    kube: KubeReader, where: EstateCluster
) -> tuple[list[HelmReleaseRow], list[str]]:
    """Releases from Helm's storage; values are never decoded into these rows."""
    releases = list_releases(kube)
    problems = [f"{p.namespace}/{p.object_name}: {p.reason}" for p in releases.problems]
    rows = [
        HelmReleaseRow(
            where=where,
            name=r.name,
            namespace=r.namespace,
            chart=r.chart,
            chart_version=r.chart_version,
            app_version=r.app_version,
            status=r.status,
            revision=r.revision,
            last_deployed=r.last_deployed.isoformat() if r.last_deployed else "",
        )
        for r in releases
    ]
    return rows, problems

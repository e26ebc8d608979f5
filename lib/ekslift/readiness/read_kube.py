"""Readiness' Kubernetes reads of one cluster: bindings, workloads and their autoscalers,
CronJobs, nodes and NodePools, ServiceAccounts; and Argo CD's sync windows.

Pods are streamed once and reduced on the fly to what sizing and parity need (requests on
nodes, image digests per workload), as the inventory does: nothing pod-sized is kept. A
custom resource whose API the cluster does not serve (no KEDA, no Karpenter) is an empty
list, not an error: the cluster simply has none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ekslift.kube import KubeError, KubeReader
from ekslift.params import Color
from ekslift.readiness.models import (
    Autoscaler,
    ClusterFacts,
    CronJob,
    NodePool,
    Nodes,
    ServiceAccount,
    SyncWindow,
    TargetGroupBinding,
    Workload,
)

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
KEDA_PAUSED = ("autoscaling.keda.sh/paused", "autoscaling.keda.sh/paused-replicas")
CAPACITY_TYPE_LABELS = ("karpenter.sh/capacity-type", "eks.amazonaws.com/capacityType")
_MEMORY_UNITS = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}
_QUANTITY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")


def cpu_millis(value: Any) -> int:
    """`100m` → 100, `2` → 2000, `1.5` → 1500."""
    text = str(value or "0")
    if text.endswith("m"):
        return int(float(text[:-1]))
    return int(float(text) * 1000)


def memory_bytes(value: Any) -> int:
    match = _QUANTITY.match(str(value or "0"))
    if not match:
        return 0
    number, unit = match.groups()
    return int(float(number) * _MEMORY_UNITS.get(unit, 1))


def _optional(kube: KubeReader, path: str) -> Iterator[dict[str, Any]]:
    """A list of a custom resource the cluster may not serve at all (404: none there)."""
    try:
        yield from kube.list(path)
    except KubeError as exc:
        if exc.status != 404:
            raise


def _meta(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def read_bindings(kube: KubeReader) -> list[TargetGroupBinding]:
    return [
        TargetGroupBinding(
            *_meta(tgb),
            target_group_arn=tgb.get("spec", {}).get("targetGroupARN", ""),
            service=(tgb.get("spec", {}).get("serviceRef") or {}).get("name", ""),
        )
        for tgb in _optional(kube, "/apis/elbv2.k8s.aws/v1beta1/targetgroupbindings")
    ]


def read_namespaces(kube: KubeReader) -> dict[str, dict[str, str]]:
    return {
        ns["metadata"]["name"]: ns["metadata"].get("labels") or {}
        for ns in kube.list("/api/v1/namespaces")
    }


def read_services(kube: KubeReader) -> dict[str, dict[str, str]]:
    return {
        "/".join(_meta(svc)): svc.get("spec", {}).get("selector") or {}
        for svc in kube.list("/api/v1/services")
    }


def _containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    return list((template.get("spec") or {}).get("containers") or [])


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def read_workloads(kube: KubeReader) -> tuple[list[Workload], Nodes]:
    """Deployments and StatefulSets (with their pods' image digests), and the nodes'
    allocatable capacity against what the pods on them request."""
    raw: list[tuple[str, dict[str, Any]]] = [
        (kind, obj)
        for kind, path in (
            ("Deployment", "/apis/apps/v1/deployments"),
            ("StatefulSet", "/apis/apps/v1/statefulsets"),
        )
        for obj in kube.list(path)
    ]
    by_namespace: dict[str, list[int]] = defaultdict(list)
    for i, (_, obj) in enumerate(raw):
        by_namespace[obj["metadata"]["namespace"]].append(i)
    digests: dict[int, set[str]] = defaultdict(set)
    requested_cpu = requested_memory = 0
    for pod in kube.list("/api/v1/pods"):
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            continue
        spec = pod.get("spec") or {}
        if spec.get("nodeName"):
            for c in spec.get("containers") or []:
                requests = (c.get("resources") or {}).get("requests") or {}
                requested_cpu += cpu_millis(requests.get("cpu"))
                requested_memory += memory_bytes(requests.get("memory"))
        labels = pod["metadata"].get("labels") or {}
        for i in by_namespace.get(pod["metadata"]["namespace"], []):
            if _selects(raw[i][1]["spec"]["selector"].get("matchLabels") or {}, labels):
                for cs in status.get("containerStatuses") or []:
                    image_id = cs.get("imageID", "")
                    digest = image_id.rpartition("@")[2] if "@" in image_id else image_id
                    if digest:
                        digests[i].add(f"{cs['name']}={digest}")
    workloads = []
    for i, (kind, obj) in enumerate(raw):
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        containers = _containers(spec.get("template") or {})
        requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
        workloads.append(
            Workload(
                kind=kind,  # type: ignore[arg-type]
                namespace=obj["metadata"]["namespace"],
                name=obj["metadata"]["name"],
                replicas=int(spec.get("replicas", 1)),
                ready=int(status.get("readyReplicas", 0)),
                labels=obj["metadata"].get("labels") or {},
                selector=spec.get("selector", {}).get("matchLabels") or {},
                pod_labels=((spec.get("template") or {}).get("metadata") or {}).get("labels") or {},
                cpu_request_m=sum(cpu_millis(r.get("cpu")) for r in requests),
                memory_request=sum(memory_bytes(r.get("memory")) for r in requests),
                args=tuple(a for c in containers for a in (c.get("args") or [])),
                has_volumes=bool(spec.get("volumeClaimTemplates")),
                digests=frozenset(digests.get(i, set())),
            )
        )
    nodes = _nodes(kube, requested_cpu, requested_memory)
    return workloads, nodes


def _nodes(kube: KubeReader, requested_cpu: int, requested_memory: int) -> Nodes:
    count = cpu = memory = on_demand = 0
    for node in kube.list("/api/v1/nodes"):
        count += 1
        status = node.get("status") or {}
        allocatable = status.get("allocatable") or {}
        cpu += cpu_millis(allocatable.get("cpu"))
        memory += memory_bytes(allocatable.get("memory"))
        labels = node["metadata"].get("labels") or {}
        capacity_type = next((labels[k] for k in CAPACITY_TYPE_LABELS if k in labels), "")
        if capacity_type.lower() != "spot" and labels.get("eks.amazonaws.com/compute-type") != (
            "fargate"
        ):
            on_demand += cpu_millis((status.get("capacity") or {}).get("cpu")) // 1000
    return Nodes(count, cpu, memory, requested_cpu, requested_memory, on_demand)


def read_autoscalers(kube: KubeReader) -> list[Autoscaler]:
    scalers = []
    for hpa in kube.list("/apis/autoscaling/v2/horizontalpodautoscalers"):
        spec = hpa.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        scalers.append(
            Autoscaler(
                "HorizontalPodAutoscaler",
                *_meta(hpa),
                target=f"{target.get('kind')}/{target.get('name')}",
                min_replicas=int(spec.get("minReplicas", 1)),
                max_replicas=int(spec.get("maxReplicas", 1)),
            )
        )
    for kind, plural in (("ScaledObject", "scaledobjects"), ("ScaledJob", "scaledjobs")):
        for obj in _optional(kube, f"/apis/keda.sh/v1alpha1/{plural}"):
            spec = obj.get("spec") or {}
            notes = obj["metadata"].get("annotations") or {}
            target = spec.get("scaleTargetRef") or {}
            paused = notes.get(KEDA_PAUSED[0]) == "true" or notes.get(KEDA_PAUSED[1]) == "0"
            scalers.append(
                Autoscaler(
                    kind,  # type: ignore[arg-type]
                    *_meta(obj),
                    target=f"{target.get('kind', 'Deployment')}/{target.get('name', '')}"
                    if kind == "ScaledObject"
                    else f"Job/{obj['metadata']['name']}",
                    min_replicas=int(spec.get("minReplicaCount", 0)),
                    max_replicas=int(spec.get("maxReplicaCount", 100)),
                    paused=paused,
                )
            )
    return scalers


def read_cronjobs(kube: KubeReader) -> list[CronJob]:
    return [
        CronJob(*_meta(c), suspended=bool((c.get("spec") or {}).get("suspend")))
        for c in kube.list("/apis/batch/v1/cronjobs")
    ]


def read_nodepools(kube: KubeReader) -> list[NodePool]:
    used: dict[str, int] = defaultdict(int)
    pools = list(_optional(kube, "/apis/karpenter.sh/v1/nodepools"))
    if not pools:
        return []
    for node in kube.list("/api/v1/nodes", label_selector="karpenter.sh/nodepool"):
        pool = node["metadata"]["labels"]["karpenter.sh/nodepool"]
        used[pool] += cpu_millis(((node.get("status") or {}).get("capacity") or {}).get("cpu"))
    rows = []
    for pool in pools:
        spec = pool.get("spec") or {}
        limit = (spec.get("limits") or {}).get("cpu")
        budgets = (spec.get("disruption") or {}).get("budgets") or []
        rows.append(
            NodePool(
                name=pool["metadata"]["name"],
                cpu_limit_m=cpu_millis(limit) if limit is not None else None,
                cpu_used_m=used[pool["metadata"]["name"]],
                no_disruption=any(
                    str(b.get("nodes")) in ("0", "0%") and not b.get("schedule") for b in budgets
                ),
            )
        )
    return rows


def read_service_accounts(kube: KubeReader) -> list[ServiceAccount]:
    return [
        ServiceAccount(*_meta(sa), role_arn=notes[ROLE_ARN_ANNOTATION])
        for sa in kube.list("/api/v1/serviceaccounts")
        if ROLE_ARN_ANNOTATION in (notes := sa["metadata"].get("annotations") or {})
    ]


def read_sync_windows(kube: KubeReader, namespace: str) -> list[SyncWindow]:
    """Every sync window of every AppProject in Argo CD's namespace."""
    return [
        SyncWindow(
            project=project["metadata"]["name"],
            kind=window.get("kind", ""),
            schedule=window.get("schedule", ""),
            duration=window.get("duration", ""),
            applications=tuple(window.get("applications") or ()),
            clusters=tuple(window.get("clusters") or ()),
            namespaces=tuple(window.get("namespaces") or ()),
        )
        for project in _optional(
            kube, f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/appprojects"
        )
        for window in (project.get("spec") or {}).get("syncWindows") or []
    ]


def read_cluster(kube: KubeReader, role: Color, problems: dict[str, str]) -> ClusterFacts:
    """One cluster's facts; an area refused (403) is recorded in `problems` and left None,
    anything else (unreachable) propagates."""
    facts = ClusterFacts(role=role, context=kube.context)

    def guarded(area: str, read: Any) -> Any:
        try:
            return read()
        except KubeError as exc:
            if exc.unreachable:
                raise
            problems[f"{role}/{area}"] = str(exc)
            return None

    facts.tgbs = guarded("targetgroupbindings", lambda: read_bindings(kube))
    facts.namespaces = guarded("namespaces", lambda: read_namespaces(kube))
    facts.services = guarded("services", lambda: read_services(kube))
    both = guarded("workloads", lambda: read_workloads(kube))
    if both is not None:
        facts.workloads, facts.nodes = both
    facts.autoscalers = guarded("autoscalers", lambda: read_autoscalers(kube))
    facts.cronjobs = guarded("cronjobs", lambda: read_cronjobs(kube))
    facts.nodepools = guarded("nodepools", lambda: read_nodepools(kube))
    facts.service_accounts = guarded("serviceaccounts", lambda: read_service_accounts(kube))
    return facts

"""Resource types served by the sandbox's Kubernetes API stand-in.

A real kube-apiserver learns its types from compiled-in schemes and from CRDs; the sandbox
needs the same facts (group, version, kind, plural, scope, short names, printer columns,
selectable fields) to answer discovery, route requests and print Tables the way kubectl
expects. Types are data, so a scenario can serve an old add-on API (``karpenter.sh/v1beta1``
next to ``karpenter.sh/v1``) just by registering one more :class:`ResourceType`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
CellFn = Callable[[Obj, datetime], Any]
Converter = Callable[[Obj, str], Obj]

READ_WRITE_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
"""Verbs a real server advertises for ordinary resources; the sandbox only *implements* reads,
but discovery must look real or kubectl/clients would take different code paths."""

# Kinds that moved between API groups; objects created at the old group are stored, and
# served, under the new one (as the real apiserver does after the old group is removed).
MOVED_KINDS: Mapping[tuple[str, str], str] = {
    ("extensions", "Ingress"): "networking.k8s.io",
    ("extensions", "NetworkPolicy"): "networking.k8s.io",
    ("extensions", "Deployment"): "apps",
    ("extensions", "DaemonSet"): "apps",
    ("extensions", "ReplicaSet"): "apps",
}


_PATH_SPLIT = re.compile(r"(?<!\\)\.")


def get_path(obj: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path (``status.nodeInfo.kubeletVersion``) through nested dicts.

    A backslash escapes a dot inside a key, as in CRD printer columns
    (``metadata.labels.node\\.kubernetes\\.io/instance-type``).
    """
    cur = obj
    parts = _PATH_SPLIT.split(path) if "\\" in path else path.split(".")
    for raw in parts:
        part = raw.replace("\\.", ".")
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def human_duration(seconds: float) -> str:
    """Format a duration exactly like apimachinery's ``duration.HumanDuration`` (kubectl AGE)."""
    if seconds < -1:
        return "<invalid>"
    s = max(int(seconds), 0)
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp as Kubernetes writes it (always UTC, ``Z`` suffix)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _since(path: str, missing: str = "<unknown>") -> CellFn:
    """Time elapsed since the timestamp at ``path``, formatted like AGE."""

    def cell(obj: Obj, now: datetime) -> str:
        when = parse_time(get_path(obj, path))
        return missing if when is None else human_duration((now - when).total_seconds())

    return cell


@dataclass(frozen=True)
class Column:
    """One column of the server-side ``meta.k8s.io/v1`` Table that kubectl prints.

    ``json_path`` is set for columns that a CRD would declare as additionalPrinterColumns,
    so the sandbox can publish a faithful CustomResourceDefinition for custom types.
    """

    name: str
    cell: CellFn
    type: str = "string"
    format: str = ""
    priority: int = 0
    description: str = ""
    json_path: str = ""

    def definition(self) -> Obj:
        """The ``columnDefinitions`` entry of a Table."""
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME_COLUMN = Column(
    "Name",
    lambda o, _now: get_path(o, "metadata.name", ""),
    format="name",
    description="Name must be unique within a namespace.",
)
AGE_COLUMN = Column(
    "Age",
    _since("metadata.creationTimestamp"),
    description="CreationTimestamp is a timestamp representing the server time when this "
    "object was created.",
)


def path_column(
    name: str, json_path: str, type: str = "string", priority: int = 0, description: str = ""
) -> Column:
    """A column read from a simple ``.a.b.c`` path, like a CRD's additionalPrinterColumn."""
    dotted = json_path.lstrip(".")

    def cell(obj: Obj, _now: datetime) -> Any:
        value = get_path(obj, dotted)
        if value is None:
            return None
        if type == "date":
            when = parse_time(value)
            return None if when is None else human_duration((_now - when).total_seconds())
        return value

    return Column(
        name,
        cell,
        type="string" if type == "date" else type,
        priority=priority,
        description=description,
        json_path=json_path,
    )


def default_columns() -> tuple[Column, ...]:
    """NAME and AGE: what the apiserver's default table convertor offers for any type."""
    return (NAME_COLUMN, AGE_COLUMN)


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key giving Kubernetes' version order: GA > beta > alpha, higher numbers first.

    This is how the apiserver picks a group's preferredVersion, so ``autoscaling`` prefers
    ``v2`` over ``v1`` and ``karpenter.sh`` prefers ``v1`` over ``v1beta1``.
    """
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)
    stability = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stability, -int(m.group(1)), -int(m.group(3) or 0), version)


@dataclass(frozen=True)
class ResourceType:
    """A resource served at one group/version.

    Several ResourceTypes with the same group and kind (``autoscaling/v1`` and
    ``autoscaling/v2`` HorizontalPodAutoscalers) share one storage: an object added once is
    served under every registered version, converted by ``convert`` (default: the
    apiVersion is rewritten, which is what a CRD with ``conversion: None`` does).
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    verbs: tuple[str, ...] = READ_WRITE_VERBS
    short_names: tuple[str, ...] = ()
    list_kind: str = ""
    columns: tuple[Column, ...] = field(default_factory=default_columns)
    field_selectors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    custom: bool = False
    convert: Converter | None = None

    def __post_init__(self) -> None:
        if not self.singular:
            object.__setattr__(self, "singular", self.kind.lower())
        if not self.list_kind:
            object.__setattr__(self, "list_kind", f"{self.kind}List")

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return self.version if not self.group else f"{self.group}/{self.version}"

    @property
    def qualified_plural(self) -> str:
        """``pods`` or ``deployments.apps``: how the apiserver names a resource in messages."""
        return self.plural if not self.group else f"{self.plural}.{self.group}"

    def selectable_fields(self) -> tuple[str, ...]:
        """Field selectors the real server accepts for this type (others are a 400)."""
        return ("metadata.name", "metadata.namespace", *self.field_selectors)

    def discovery(self) -> Obj:
        """The APIResource entry of ``/api/v1`` or ``/apis/{group}/{version}``."""
        entry: Obj = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry

    def to_version(self, obj: Obj) -> Obj:
        """Convert a stored object (at any version of this kind) to this type's version."""
        if obj.get("apiVersion") == self.api_version:
            return obj
        if self.convert is not None:
            return self.convert(obj, self.version)
        return {**obj, "apiVersion": self.api_version}


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` → (``apps``, ``v1``); ``v1`` → (``""``, ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


StorageKey = tuple[str, str]
"""(group, kind) under which all versions of a kind share their objects."""


class TypeRegistry:
    """The set of types one fake cluster serves; thread-safe, as types may be registered
    while the server is already answering."""

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for rt in types:
            self.register(rt)

    def register(self, rt: ResourceType) -> None:
        """Serve ``rt`` (replacing a type registered at the same group/version/plural)."""
        with self._lock:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._types.get((group, version, plural))

    def storage_key(self, group: str, kind: str) -> StorageKey:
        """Where objects of this group/kind live, following kinds that moved groups."""
        moved = MOVED_KINDS.get((group, kind))
        if moved is not None and self.served((moved, kind)):
            return (moved, kind)
        return (group, kind)

    def served(self, key: StorageKey) -> list[ResourceType]:
        """Every registered version of a stored kind, preferred first."""
        with self._lock:
            types = [
                rt
                for rt in self._types.values()
                if rt.kind == key[1]
                and (rt.group == key[0] or MOVED_KINDS.get((rt.group, rt.kind)) == key[0])
            ]
        return sorted(types, key=lambda rt: (rt.group != key[0], version_priority(rt.version)))

    def storage_type(self, api_version: str, kind: str) -> ResourceType | None:
        """The type an object of ``api_version``/``kind`` is stored as (its preferred version).

        An object may arrive at a version the cluster no longer serves (``policy/v1beta1``
        PodDisruptionBudget on 1.25+); it is stored at the preferred served version, as the
        real apiserver does after an upgrade.
        """
        group, _ = split_api_version(api_version)
        served = self.served(self.storage_key(group, kind))
        return served[0] if served else None

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions preferred first); the core group ``""`` first, then by name."""
        with self._lock:
            versions: dict[str, set[str]] = {}
            for rt in self._types.values():
                versions.setdefault(rt.group, set()).add(rt.version)
        return [
            (group, sorted(vs, key=version_priority))
            for group, vs in sorted(versions.items(), key=lambda kv: (kv[0] != "", kv[0]))
        ]

    def resources(self, group: str, version: str) -> list[ResourceType]:
        with self._lock:
            return sorted(
                (rt for rt in self._types.values() if rt.group == group and rt.version == version),
                key=lambda rt: rt.plural,
            )


# --- printer columns of the built-in types (as in k8s.io/kubernetes/pkg/printers) -----------


def _pod_ready(pod: Obj, _now: datetime) -> str:
    statuses = get_path(pod, "status.containerStatuses", []) or []
    total = len(get_path(pod, "spec.containers", []) or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(pod: Obj, _now: datetime) -> str:
    if get_path(pod, "metadata.deletionTimestamp"):
        return "Terminating"
    reason = get_path(pod, "status.reason") or get_path(pod, "status.phase", "Unknown")
    for status in get_path(pod, "status.containerStatuses", []) or []:
        state = status.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        terminated = (state.get("terminated") or {}).get("reason")
        if waiting:
            return waiting
        if terminated and not status.get("ready"):
            return terminated
    return reason


def _pod_restarts(pod: Obj, _now: datetime) -> str:
    statuses = get_path(pod, "status.containerStatuses", []) or []
    return str(sum(int(s.get("restartCount", 0)) for s in statuses))


def _node_status(node: Obj, _now: datetime) -> str:
    ready = next(
        (c for c in get_path(node, "status.conditions", []) or [] if c.get("type") == "Ready"),
        None,
    )
    status = "Unknown" if ready is None else ("Ready" if ready["status"] == "True" else "NotReady")
    return status + (",SchedulingDisabled" if get_path(node, "spec.unschedulable") else "")


def _node_roles(node: Obj, _now: datetime) -> str:
    labels = get_path(node, "metadata.labels", {}) or {}
    roles = sorted(
        {
            k.removeprefix("node-role.kubernetes.io/")
            for k in labels
            if k.startswith("node-role.kubernetes.io/")
        }
        | ({labels["kubernetes.io/role"]} if "kubernetes.io/role" in labels else set())
    )
    return ",".join(roles) or "<none>"


def _node_address(kind: str) -> CellFn:
    def cell(node: Obj, _now: datetime) -> str:
        addresses = get_path(node, "status.addresses", []) or []
        return next((a["address"] for a in addresses if a.get("type") == kind), "<none>")

    return cell


def _count(path: str) -> CellFn:
    return lambda o, _now: len(get_path(o, path, {}) or {})


def _ratio(numerator: str, denominator: str) -> CellFn:
    return lambda o, _now: f"{get_path(o, numerator, 0) or 0}/{get_path(o, denominator, 0) or 0}"


def _int(path: str) -> CellFn:
    return lambda o, _now: int(get_path(o, path, 0) or 0)


def _text(path: str, default: str = "<none>") -> CellFn:
    def cell(obj: Obj, _now: datetime) -> str:
        value = get_path(obj, path)
        return default if value in (None, "") else str(value)

    return cell


def _service_ports(svc: Obj, _now: datetime) -> str:
    parts = []
    for port in get_path(svc, "spec.ports", []) or []:
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port['port']}{node_port}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _ingress_hosts(ing: Obj, _now: datetime) -> str:
    hosts = [r.get("host", "*") for r in get_path(ing, "spec.rules", []) or []]
    return ",".join(hosts) or "*"


def _hpa_reference(hpa: Obj, _now: datetime) -> str:
    ref = get_path(hpa, "spec.scaleTargetRef", {}) or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _selector_text(path: str) -> CellFn:
    def cell(obj: Obj, _now: datetime) -> str:
        labels = get_path(obj, path, {}) or {}
        return ",".join(f"{k}={v}" for k, v in labels.items()) or "<none>"

    return cell


def _containers(field_name: str) -> CellFn:
    def cell(obj: Obj, _now: datetime) -> str:
        containers = get_path(obj, "spec.template.spec.containers", []) or []
        return ",".join(c.get(field_name, "") for c in containers)

    return cell


_POD_COLUMNS = (
    NAME_COLUMN,
    Column("Ready", _pod_ready, description="The aggregate readiness state of this pod."),
    Column("Status", _pod_status, description="The aggregate status of the containers."),
    Column("Restarts", _pod_restarts, description="The number of times the containers restarted."),
    AGE_COLUMN,
    Column("IP", _text("status.podIP"), priority=1, description="The IP address of the pod."),
    Column("Node", _text("spec.nodeName"), priority=1, description="The node of the pod."),
    Column(
        "Nominated Node",
        _text("status.nominatedNodeName"),
        priority=1,
        description="The node nominated by the scheduler.",
    ),
    Column("Readiness Gates", lambda _o, _n: "<none>", priority=1, description="Readiness gates."),
)

_NODE_COLUMNS = (
    NAME_COLUMN,
    Column("Status", _node_status, description="The status of the node"),
    Column("Roles", _node_roles, description="The roles of the node"),
    AGE_COLUMN,
    Column("Version", _text("status.nodeInfo.kubeletVersion", ""), description="Kubelet Version"),
    Column("Internal-IP", _node_address("InternalIP"), priority=1, description="Internal IP"),
    Column("External-IP", _node_address("ExternalIP"), priority=1, description="External IP"),
    Column("OS-Image", _text("status.nodeInfo.osImage"), priority=1, description="OS image"),
    Column(
        "Kernel-Version",
        _text("status.nodeInfo.kernelVersion"),
        priority=1,
        description="Kernel version",
    ),
    Column(
        "Container-Runtime",
        _text("status.nodeInfo.containerRuntimeVersion"),
        priority=1,
        description="Container runtime version",
    ),
)


def _simple(*columns: Column) -> tuple[Column, ...]:
    """NAME, the given columns, then AGE: the layout of most built-in printers."""
    return (NAME_COLUMN, *columns, AGE_COLUMN)


def _deployment_columns() -> tuple[Column, ...]:
    return (
        *_simple(
            Column("Ready", _ratio("status.readyReplicas", "spec.replicas")),
            Column("Up-to-date", _int("status.updatedReplicas"), type="integer"),
            Column("Available", _int("status.availableReplicas"), type="integer"),
        ),
        Column("Containers", _containers("name"), priority=1),
        Column("Images", _containers("image"), priority=1),
        Column("Selector", _selector_text("spec.selector.matchLabels"), priority=1),
    )


def _hpa_columns() -> tuple[Column, ...]:
    return _simple(
        Column("Reference", _hpa_reference),
        Column("MinPods", _int("spec.minReplicas"), type="integer"),
        Column("MaxPods", _int("spec.maxReplicas"), type="integer"),
        Column("Replicas", _int("status.currentReplicas"), type="integer"),
    )


# --- HorizontalPodAutoscaler conversion (autoscaling/v1 <-> v2) -----------------------------


def _cpu_utilization(metrics: list[Obj] | None, key: str) -> int | None:
    for metric in metrics or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            value = (resource.get(key) or {}).get("averageUtilization")
            if value is not None:
                return int(value)
    return None


def convert_hpa(obj: Obj, to_version: str) -> Obj:
    """Convert a HorizontalPodAutoscaler between autoscaling/v1 and autoscaling/v2.

    The shapes differ (v1 has only a CPU target), and the client's strict models reject
    fields of the other version, so rewriting apiVersion alone would not do. Non-CPU
    metrics are dropped on the way to v1 (the real server hides them in an annotation).
    """
    _, from_version = split_api_version(obj.get("apiVersion", ""))
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    common_spec = {
        k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec
    }
    common_status = {
        k: status[k]
        for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas")
        if k in status
    }
    if to_version == "v1" and from_version != "v1":
        cpu = _cpu_utilization(spec.get("metrics"), "target")
        current = _cpu_utilization(status.get("currentMetrics"), "current")
        new_spec = {**common_spec, **({"targetCPUUtilizationPercentage": cpu} if cpu else {})}
        new_status = {
            "currentReplicas": 0,
            **common_status,
            **({"currentCPUUtilizationPercentage": current} if current is not None else {}),
        }
    elif to_version != "v1" and from_version == "v1":
        cpu = spec.get("targetCPUUtilizationPercentage")
        current = status.get("currentCPUUtilizationPercentage")
        new_spec = {
            **common_spec,
            **(
                {
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": cpu},
                            },
                        }
                    ]
                }
                if cpu is not None
                else {}
            ),
        }
        new_status = {
            **common_status,
            **(
                {
                    "currentMetrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "current": {"averageUtilization": current},
                            },
                        }
                    ]
                }
                if current is not None
                else {}
            ),
        }
    else:
        new_spec, new_status = spec, status
    group = "autoscaling"
    return {**obj, "apiVersion": f"{group}/{to_version}", "spec": new_spec, "status": new_status}


# --- the built-in set ---------------------------------------------------------------------


def _core(kind: str, plural: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType("", "v1", kind, plural, namespaced, **kw)


def builtin_types() -> list[ResourceType]:
    """The built-in resources an EKS cluster serves that ekslift reads (and kubectl shows)."""
    hpa_v2 = ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        short_names=("hpa",),
        categories=("all",),
        columns=_hpa_columns(),
        convert=convert_hpa,
    )
    return [
        _core(
            "Namespace",
            "namespaces",
            namespaced=False,
            short_names=("ns",),
            columns=_simple(Column("Status", _text("status.phase", "Active"))),
            field_selectors=("status.phase",),
        ),
        _core(
            "Node",
            "nodes",
            namespaced=False,
            short_names=("no",),
            columns=_NODE_COLUMNS,
            field_selectors=("spec.unschedulable",),
        ),
        _core(
            "Pod",
            "pods",
            short_names=("po",),
            categories=("all",),
            columns=_POD_COLUMNS,
            field_selectors=(
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            ),
        ),
        _core(
            "Service",
            "services",
            short_names=("svc",),
            categories=("all",),
            columns=(
                *_simple(
                    Column("Type", _text("spec.type", "ClusterIP")),
                    Column("Cluster-IP", _text("spec.clusterIP")),
                    Column("External-IP", _text("status.loadBalancer.ingress")),
                    Column("Port(s)", _service_ports),
                ),
                Column("Selector", _selector_text("spec.selector"), priority=1),
            ),
            field_selectors=("spec.clusterIP", "spec.type"),
        ),
        _core(
            "Secret",
            "secrets",
            columns=_simple(
                Column("Type", _text("type", "Opaque")),
                Column("Data", _count("data"), type="integer"),
            ),
            field_selectors=("type",),
        ),
        _core(
            "ConfigMap",
            "configmaps",
            short_names=("cm",),
            columns=_simple(Column("Data", _count("data"), type="integer")),
        ),
        _core("ServiceAccount", "serviceaccounts", short_names=("sa",)),
        _core(
            "Event",
            "events",
            short_names=("ev",),
            columns=(
                Column("Last Seen", _since("lastTimestamp")),
                Column("Type", _text("type", "")),
                Column("Reason", _text("reason", "")),
                Column(
                    "Object",
                    lambda e, _n: (
                        f"{get_path(e, 'involvedObject.kind', '').lower()}/"
                        f"{get_path(e, 'involvedObject.name', '')}"
                    ),
                ),
                Column("Message", _text("message", "")),
            ),
            field_selectors=(
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ),
        ),
        _core(
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            short_names=("pvc",),
            columns=_simple(
                Column("Status", _text("status.phase", "Pending")),
                Column("Volume", _text("spec.volumeName", "")),
                Column("StorageClass", _text("spec.storageClassName", "")),
            ),
        ),
        _core("Endpoints", "endpoints", short_names=("ep",), singular="endpoints"),
        ResourceType(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            True,
            short_names=("deploy",),
            categories=("all",),
            columns=_deployment_columns(),
        ),
        ResourceType(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            True,
            short_names=("sts",),
            categories=("all",),
            columns=_simple(Column("Ready", _ratio("status.readyReplicas", "spec.replicas"))),
        ),
        ResourceType(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            True,
            short_names=("ds",),
            categories=("all",),
            columns=_simple(
                Column("Desired", _int("status.desiredNumberScheduled"), type="integer"),
                Column("Current", _int("status.currentNumberScheduled"), type="integer"),
                Column("Ready", _int("status.numberReady"), type="integer"),
                Column("Up-to-date", _int("status.updatedNumberScheduled"), type="integer"),
                Column("Available", _int("status.numberAvailable"), type="integer"),
                Column("Node Selector", _selector_text("spec.template.spec.nodeSelector")),
            ),
        ),
        ResourceType(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            True,
            short_names=("rs",),
            categories=("all",),
            columns=_simple(
                Column("Desired", _int("spec.replicas"), type="integer"),
                Column("Current", _int("status.replicas"), type="integer"),
                Column("Ready", _int("status.readyReplicas"), type="integer"),
            ),
            field_selectors=("status.replicas",),
        ),
        ResourceType(
            "batch",
            "v1",
            "Job",
            "jobs",
            True,
            categories=("all",),
            columns=_simple(
                Column("Completions", _ratio("status.succeeded", "spec.completions")),
            ),
            field_selectors=("status.successful",),
        ),
        ResourceType(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            True,
            short_names=("cj",),
            categories=("all",),
            columns=_simple(
                Column("Schedule", _text("spec.schedule", "")),
                Column("Suspend", lambda o, _n: str(bool(get_path(o, "spec.suspend"))).lower()),
                Column(
                    "Active",
                    lambda o, _n: len(get_path(o, "status.active", []) or []),
                    type="integer",
                ),
                Column("Last Schedule", _since("status.lastScheduleTime", "<none>")),
            ),
        ),
        ResourceType(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            True,
            short_names=("pdb",),
            columns=_simple(
                Column("Min Available", _text("spec.minAvailable", "N/A")),
                Column("Max Unavailable", _text("spec.maxUnavailable", "N/A")),
                Column("Allowed Disruptions", _int("status.disruptionsAllowed"), type="integer"),
            ),
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            True,
            short_names=("ing",),
            columns=_simple(
                Column("Class", _text("spec.ingressClassName")),
                Column("Hosts", _ingress_hosts),
                Column(
                    "Address",
                    lambda o, _n: ",".join(
                        i.get("hostname") or i.get("ip", "")
                        for i in get_path(o, "status.loadBalancer.ingress", []) or []
                    ),
                ),
            ),
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "IngressClass",
            "ingressclasses",
            False,
            columns=_simple(
                Column("Controller", _text("spec.controller", "")),
                Column("Parameters", _text("spec.parameters.kind", "<none>")),
            ),
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            True,
            short_names=("netpol",),
            columns=_simple(
                Column("Pod-Selector", _selector_text("spec.podSelector.matchLabels")),
            ),
        ),
        hpa_v2,
        replace(hpa_v2, version="v1"),
        ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
        ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
        ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
        ResourceType(
            "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False
        ),
        ResourceType(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            False,
            short_names=("crd", "crds"),
            columns=(
                NAME_COLUMN,
                Column("Created At", _text("metadata.creationTimestamp", ""), format="date"),
            ),
        ),
        ResourceType(
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            False,
            short_names=("sc",),
            columns=_simple(
                Column("Provisioner", _text("provisioner", "")),
                Column("ReclaimPolicy", _text("reclaimPolicy", "Delete")),
                Column("VolumeBindingMode", _text("volumeBindingMode", "Immediate")),
            ),
        ),
        ResourceType(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            False,
            columns=_simple(Column("Webhooks", _count("webhooks"), type="integer")),
        ),
        ResourceType(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            False,
            columns=_simple(Column("Webhooks", _count("webhooks"), type="integer")),
        ),
        ResourceType(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            True,
            columns=_simple(Column("Holder", _text("spec.holderIdentity", ""))),
        ),
    ]


# --- custom resource types used by the seeded scenario ------------------------------------


def custom_type(
    api_version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short_names: tuple[str, ...] = (),
    columns: Iterable[Column] = (),
    categories: tuple[str, ...] = (),
) -> ResourceType:
    """A CRD-served type; ``columns`` play the role of additionalPrinterColumns (NAME and
    AGE are added around them, as the apiserver does for CRDs)."""
    group, version = split_api_version(api_version)
    extra = tuple(columns)
    return ResourceType(
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names=short_names,
        categories=categories,
        columns=(
            NAME_COLUMN,
            *(c for c in extra if c.priority == 0),
            AGE_COLUMN,
            *(c for c in extra if c.priority > 0),
        ),
        custom=True,
    )


ARGO_APPLICATION = custom_type(
    "argoproj.io/v1alpha1",
    "Application",
    "applications",
    short_names=("app", "apps"),
    columns=(
        path_column("Sync Status", ".status.sync.status"),
        path_column("Health Status", ".status.health.status"),
        path_column("Revision", ".status.sync.revision", priority=10),
        path_column("Project", ".spec.project", priority=10),
    ),
)


def _karpenter_nodepool(version: str) -> ResourceType:
    return custom_type(
        f"karpenter.sh/{version}",
        "NodePool",
        "nodepools",
        namespaced=False,
        categories=("karpenter",),
        columns=(
            path_column("NodeClass", ".spec.template.spec.nodeClassRef.name"),
            path_column("Nodes", ".status.resources.nodes"),
            path_column("Weight", ".spec.weight", type="integer", priority=1),
        ),
    )


def _karpenter_nodeclaim(version: str) -> ResourceType:
    return custom_type(
        f"karpenter.sh/{version}",
        "NodeClaim",
        "nodeclaims",
        namespaced=False,
        categories=("karpenter",),
        columns=(
            path_column("Type", ".metadata.labels.node\\.kubernetes\\.io/instance-type"),
            path_column("Node", ".status.nodeName"),
            path_column("Capacity", ".metadata.labels.karpenter\\.sh/capacity-type"),
        ),
    )


KARPENTER_NODEPOOL = _karpenter_nodepool("v1")
KARPENTER_NODEPOOL_V1BETA1 = _karpenter_nodepool("v1beta1")
KARPENTER_NODECLAIM = _karpenter_nodeclaim("v1")
KARPENTER_NODECLAIM_V1BETA1 = _karpenter_nodeclaim("v1beta1")
CERT_MANAGER_CERTIFICATE = custom_type(
    "cert-manager.io/v1",
    "Certificate",
    "certificates",
    short_names=("cert", "certs"),
    categories=("cert-manager",),
    columns=(
        path_column("Secret", ".spec.secretName"),
        path_column("Issuer", ".spec.issuerRef.name", priority=1),
    ),
)

# --- inventory seeds (Karpenter node classes, a CRD only blue has) ---------------------
KARPENTER_EC2NODECLASS = custom_type(
    "karpenter.k8s.aws/v1",
    "EC2NodeClass",
    "ec2nodeclasses",
    namespaced=False,
    short_names=("ec2nc", "ec2ncs"),
    categories=("karpenter",),
    columns=(path_column("Role", ".spec.role", priority=1),),
)
PROMETHEUS_SERVICEMONITOR = custom_type(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    "servicemonitors",
    short_names=("smon",),
)
# --- end of inventory seeds ------------------------------------------------------------

SCENARIO_CUSTOM_TYPES: tuple[ResourceType, ...] = (
    ARGO_APPLICATION,
    KARPENTER_NODEPOOL,
    KARPENTER_NODECLAIM,
    KARPENTER_EC2NODECLASS,
    CERT_MANAGER_CERTIFICATE,
    PROMETHEUS_SERVICEMONITOR,
)
"""Current versions of the add-on APIs the scenario uses; old versions (``*_V1BETA1``) are
registered per cluster when it should still serve a deprecated add-on API."""


# --- cutover readiness (issue 10): the AWS Load Balancer Controller's binding, KEDA, and
# Argo CD's AppProject (where sync windows live) ---------------------------------------

TARGET_GROUP_BINDING = custom_type(
    "elbv2.k8s.aws/v1beta1",
    "TargetGroupBinding",
    "targetgroupbindings",
    categories=("all",),
    columns=(
        path_column("Service-Name", ".spec.serviceRef.name"),
        path_column("Service-Port", ".spec.serviceRef.port"),
        path_column("Target-Type", ".spec.targetType"),
        path_column("ARN", ".spec.targetGroupARN", priority=1),
    ),
)
KEDA_SCALED_OBJECT = custom_type(
    "keda.sh/v1alpha1",
    "ScaledObject",
    "scaledobjects",
    short_names=("so",),
    columns=(
        path_column("ScaleTargetName", ".spec.scaleTargetRef.name"),
        path_column("Min", ".spec.minReplicaCount", type="integer"),
        path_column("Max", ".spec.maxReplicaCount", type="integer"),
    ),
)
KEDA_SCALED_JOB = custom_type(
    "keda.sh/v1alpha1",
    "ScaledJob",
    "scaledjobs",
    short_names=("sj",),
    columns=(path_column("Max", ".spec.maxReplicaCount", type="integer"),),
)
ARGO_APP_PROJECT = custom_type(
    "argoproj.io/v1alpha1",
    "AppProject",
    "appprojects",
    short_names=("appproj", "appprojs"),
)
READINESS_TYPES: tuple[ResourceType, ...] = (
    TARGET_GROUP_BINDING,
    KEDA_SCALED_OBJECT,
    KEDA_SCALED_JOB,
)
"""Served by every service cluster; the management cluster serves ARGO_APP_PROJECT."""

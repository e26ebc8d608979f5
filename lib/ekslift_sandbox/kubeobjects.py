"""Builders of complete Kubernetes objects for the sandbox's fake clusters.

The official client (v37) validates responses with strict pydantic models that forbid
unknown fields and require what the API marks required (all ten ``nodeInfo`` fields, a
pod's containers, a container status' imageID...). Hand-written dicts drift from that, so
every object the sandbox serves comes from here, shaped as a real EKS cluster returns it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ekslift_sandbox.kubetypes import Obj, ResourceType

DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:1.27.3"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def timestamp(when: datetime) -> str:
    """RFC 3339 in UTC with second precision, as the apiserver writes metav1.Time."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


@functools.lru_cache(maxsize=16)
def _network(prefix: str) -> tuple[int, int]:
    net = ipaddress.ip_network(prefix)
    return int(net.network_address), net.num_addresses


def _ip(prefix: str, *parts: str) -> str:
    """A stable address inside ``prefix`` derived from the object's identity."""
    base, size = _network(prefix)
    offset = int(_digest(*parts)[:8], 16) % (size - 2) + 1
    return str(ipaddress.IPv4Address(base + offset))


def object_meta(
    name: str,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    owner: Obj | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
    generation: int | None = None,
) -> Obj:
    """Metadata with what the apiserver always sets (uid, creationTimestamp, resourceVersion).

    ``last_applied`` is the manifest ``kubectl apply`` saw, possibly at an older apiVersion
    than the cluster now serves; it is the only trace of that version on a live object.
    """
    meta: Obj = {
        "name": name,
        "uid": str(uuid.uuid4()),
        "resourceVersion": "1",
        "creationTimestamp": timestamp(created or datetime.now(UTC)),
    }
    if namespace is not None:
        meta["namespace"] = namespace
    if generation is not None:
        meta["generation"] = generation
    if labels:
        meta["labels"] = dict(labels)
    notes = dict(annotations or {})
    if last_applied is not None:
        notes[LAST_APPLIED] = json.dumps(last_applied, separators=(",", ":")) + "\n"
    if notes:
        meta["annotations"] = notes
    if owner is not None:
        meta["ownerReferences"] = [owner_reference(owner)]
    return meta


def owner_reference(owner: Obj) -> Obj:
    """A controller ownerReference pointing at ``owner`` (as controllers write them)."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def container(
    name: str = "app",
    image: str = DEFAULT_IMAGE,
    cpu: str | None = "100m",
    memory: str | None = "128Mi",
    ports: Sequence[int] = (),
) -> Obj:
    """A container spec with requests (and a memory limit) like a typical chart renders."""
    resources: Obj = {}
    if cpu or memory:
        requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
        resources = {"requests": requests, **({"limits": {"memory": memory}} if memory else {})}
    spec: Obj = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": resources,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    if ports:
        spec["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in ports]
    return spec


def _pod_spec(containers: Sequence[Obj] | None, **extra: Any) -> Obj:
    return {
        "containers": list(containers or [container()]),
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "enableServiceLinks": True,
        **extra,
    }


def _template(labels: Mapping[str, str], containers: Sequence[Obj] | None, **extra: Any) -> Obj:
    return {"metadata": {"labels": dict(labels)}, "spec": _pod_spec(containers, **extra)}


def namespace(name: str, labels: Mapping[str, str] | None = None, **meta: Any) -> Obj:
    labels = {"kubernetes.io/metadata.name": name, **(labels or {})}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": object_meta(name, labels=labels, **meta),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node(
    name: str,
    kubelet_version: str,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Obj] = (),
    instance_type: str = "m6i.large",
    os_image: str = "Amazon Linux 2023.6.20250218",
    container_runtime: str = "containerd://1.7.25",
    kernel_version: str = "6.1.128-136.201.amzn2023.x86_64",
    zone: str = "us-east-1a",
    architecture: str = "amd64",
    ready: bool = True,
    unschedulable: bool = False,
    cpu: str = "2",
    memory: str = "7910320Ki",
    max_pods: int = 29,
    internal_ip: str | None = None,
    annotations: Mapping[str, str] | None = None,
    created: datetime | None = None,
) -> Obj:
    """An EKS worker node; ``labels`` add to the well-known ones the kubelet sets.

    ``taints`` are dicts like ``{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}``.
    """
    region = zone[:-1]
    ip = internal_ip or _ip("10.0.0.0/16", name)
    hostname = f"ip-{ip.replace('.', '-')}.{region}.compute.internal"
    all_labels = {
        "beta.kubernetes.io/arch": architecture,
        "beta.kubernetes.io/instance-type": instance_type,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": architecture,
        "kubernetes.io/hostname": hostname,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
        **(labels or {}),
    }
    when = created or datetime.now(UTC)
    heartbeat = timestamp(datetime.now(UTC))
    since = timestamp(when)

    def condition(kind: str, status: bool, reason: str, message: str) -> Obj:
        return {
            "type": kind,
            "status": "True" if status else "False",
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        }

    spec: Obj = {"providerID": f"aws:///{zone}/i-{_digest(name)[:17]}"}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    capacity = {
        "cpu": cpu,
        "ephemeral-storage": "20959212Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": memory,
        "pods": str(max_pods),
    }
    minor = int(kubelet_version.lstrip("v").split(".")[1])
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": object_meta(
            name,
            labels=all_labels,
            annotations={
                "alpha.kubernetes.io/provided-node-ip": ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                **(annotations or {}),
            },
            created=when,
        ),
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": {**capacity, "cpu": cpu, "ephemeral-storage": "18242267924"},
            "conditions": [
                condition("MemoryPressure", False, "KubeletHasSufficientMemory", "ok"),
                condition("DiskPressure", False, "KubeletHasNoDiskPressure", "ok"),
                condition("PIDPressure", False, "KubeletHasSufficientPID", "ok"),
                condition(
                    "Ready",
                    ready,
                    "KubeletReady" if ready else "KubeletNotReady",
                    "kubelet is posting ready status" if ready else "PLEG is not healthy",
                ),
            ],
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "InternalDNS", "address": hostname},
                {"type": "Hostname", "address": hostname},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": _digest("machine", name)[:32],
                "systemUUID": str(uuid.UUID(_digest("system", name)[:32])),
                "bootID": str(uuid.UUID(_digest("boot", name)[:32])),
                "kernelVersion": kernel_version,
                "osImage": os_image,
                "containerRuntimeVersion": container_runtime,
                "kubeletVersion": kubelet_version,
                # kubelets stopped reporting kube-proxy's version in 1.31
                "kubeProxyVersion": "" if minor >= 31 else kubelet_version,
                "operatingSystem": "linux",
                "architecture": architecture,
            },
        },
    }


def _container_status(spec: Obj, phase: str, ready: bool, restarts: int, started: str) -> Obj:
    image = spec["image"]
    if phase == "Running":
        state: Obj = {"running": {"startedAt": started}}
    elif phase in ("Succeeded", "Failed"):
        code = 0 if phase == "Succeeded" else 1
        state = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": started,
                "containerID": f"containerd://{_digest('c', image, started)}",
            }
        }
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
    status: Obj = {
        "name": spec["name"],
        "image": image,
        "imageID": f"{image.split(':')[0]}@sha256:{_digest(image)}",
        "ready": ready,
        "restartCount": restarts,
        "started": phase == "Running",
        "state": state,
    }
    if phase != "Pending":
        status["containerID"] = f"containerd://{_digest('c', spec['name'], image, started)}"
    return status


def _qos(containers: Sequence[Obj]) -> str:
    resources = [c.get("resources") or {} for c in containers]
    if all(r.get("requests") and r.get("requests") == r.get("limits") for r in resources):
        return "Guaranteed"
    if any(r.get("requests") or r.get("limits") for r in resources):
        return "Burstable"
    return "BestEffort"


def pod(
    namespace: str,
    name: str,
    node_name: str | None = None,
    owner: Obj | None = None,
    labels: Mapping[str, str] | None = None,
    phase: str = "Running",
    containers: Sequence[Obj] | None = None,
    ready: bool | None = None,
    restarts: int = 0,
    pod_ip: str | None = None,
    host_ip: str | None = None,
    service_account: str = "default",
    annotations: Mapping[str, str] | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    """A pod as the kubelet reports it; ``owner`` (e.g. a ReplicaSet dict) sets the
    controller ownerReference; without ``node_name`` a Pending pod is unschedulable."""
    specs = list(containers or [container()])
    when = created or datetime.now(UTC)
    started = timestamp(when + timedelta(seconds=3))
    is_ready = phase == "Running" if ready is None else ready
    scheduled = node_name is not None
    spec = _pod_spec(specs, serviceAccountName=service_account)
    if node_name:
        spec["nodeName"] = node_name
    spec["tolerations"] = [
        {
            "key": f"node.kubernetes.io/{taint}",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        }
        for taint in ("not-ready", "unreachable")
    ]

    since = timestamp(when)

    def cond(kind: str, status: bool, reason: str | None = None) -> Obj:
        c: Obj = {"type": kind, "status": "True" if status else "False"}
        c["lastTransitionTime"] = since
        if reason:
            c["reason"] = reason
        return c

    status: Obj = {"phase": phase, "qosClass": _qos(specs)}
    if scheduled:
        ip = pod_ip or _ip("10.0.0.0/12", namespace, name)
        status.update(
            {
                "conditions": [
                    cond("PodReadyToStartContainers", phase != "Pending"),
                    cond("Initialized", True),
                    cond("Ready", is_ready, None if is_ready else "ContainersNotReady"),
                    cond("ContainersReady", is_ready, None if is_ready else "ContainersNotReady"),
                    cond("PodScheduled", True),
                ],
                "hostIP": host_ip or _ip("10.0.0.0/16", node_name or ""),
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": since,
                "containerStatuses": [
                    _container_status(c, phase, is_ready, restarts, started) for c in specs
                ],
            }
        )
    else:
        unschedulable = cond("PodScheduled", False, "Unschedulable")
        unschedulable["message"] = "0/3 nodes are available: 3 Insufficient cpu."
        status["conditions"] = [unschedulable]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": object_meta(name, namespace, labels, annotations, owner, last_applied, when),
        "spec": spec,
        "status": status,
    }


def _workload_status(replicas: int, ready: int, generation: int = 1) -> Obj:
    status: Obj = {"observedGeneration": generation, "replicas": replicas}
    if ready:
        status.update({"readyReplicas": ready, "availableReplicas": ready})
    return status


def deployment(
    namespace: str,
    name: str,
    replicas: int = 1,
    labels: Mapping[str, str] | None = None,
    selector: Mapping[str, str] | None = None,
    containers: Sequence[Obj] | None = None,
    ready_replicas: int | None = None,
    annotations: Mapping[str, str] | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    """A Deployment whose pods are labelled ``selector`` (default ``app=<name>``)."""
    match = dict(selector or {"app": name})
    ready = replicas if ready_replicas is None else ready_replicas
    when = created or datetime.now(UTC)
    available = ready >= replicas
    status = {**_workload_status(replicas, ready), "updatedReplicas": replicas}
    if ready < replicas:
        status["unavailableReplicas"] = replicas - ready
    status["conditions"] = [
        {
            "type": "Available",
            "status": "True" if available else "False",
            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "message": "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
            "lastUpdateTime": timestamp(when),
            "lastTransitionTime": timestamp(when),
        },
        {
            "type": "Progressing",
            "status": "True",
            "reason": "NewReplicaSetAvailable",
            "message": f'ReplicaSet "{name}" has successfully progressed.',
            "lastUpdateTime": timestamp(when),
            "lastTransitionTime": timestamp(when),
        },
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(
            name,
            namespace,
            labels,
            {"deployment.kubernetes.io/revision": "1", **(annotations or {})},
            last_applied=last_applied,
            created=when,
            generation=1,
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": match},
            "template": _template({**match, **(labels or {})}, containers),
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": status,
    }


def pod_template_hash(owner_name: str) -> str:
    """The ``pod-template-hash`` suffix a Deployment gives its ReplicaSet and pods."""
    return _digest("rs", owner_name)[:10]


def replicaset(
    namespace: str,
    name: str,
    replicas: int = 1,
    owner: Obj | None = None,
    labels: Mapping[str, str] | None = None,
    selector: Mapping[str, str] | None = None,
    containers: Sequence[Obj] | None = None,
    ready_replicas: int | None = None,
    created: datetime | None = None,
) -> Obj:
    """A ReplicaSet, normally owned by a Deployment (pass the deployment as ``owner``)."""
    match = {**(selector or {"app": name}), "pod-template-hash": name.rsplit("-", 1)[-1]}
    ready = replicas if ready_replicas is None else ready_replicas
    status = {**_workload_status(replicas, ready), "fullyLabeledReplicas": replicas}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": object_meta(
            name,
            namespace,
            {**(labels or {}), **match},
            {"deployment.kubernetes.io/revision": "1"},
            owner,
            created=created,
            generation=1,
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": match},
            "template": _template({**match, **(labels or {})}, containers),
        },
        "status": status,
    }


def statefulset(
    namespace: str,
    name: str,
    replicas: int = 1,
    labels: Mapping[str, str] | None = None,
    selector: Mapping[str, str] | None = None,
    containers: Sequence[Obj] | None = None,
    ready_replicas: int | None = None,
    service_name: str | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    match = dict(selector or {"app": name})
    ready = replicas if ready_replicas is None else ready_replicas
    revision = f"{name}-{_digest('sts', name)[:10]}"
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": object_meta(
            name, namespace, labels, last_applied=last_applied, created=created, generation=1
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": match},
            "serviceName": service_name or name,
            "template": _template({**match, **(labels or {})}, containers),
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "revisionHistoryLimit": 10,
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
        },
        "status": {
            **_workload_status(replicas, ready),
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        },
    }


def daemonset(
    namespace: str,
    name: str,
    desired: int = 3,
    ready: int | None = None,
    labels: Mapping[str, str] | None = None,
    selector: Mapping[str, str] | None = None,
    containers: Sequence[Obj] | None = None,
    node_selector: Mapping[str, str] | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    """A DaemonSet scheduled on ``desired`` nodes (add-ons like aws-node, kube-proxy)."""
    match = dict(selector or {"app": name})
    ready_count = desired if ready is None else ready
    extra = {"nodeSelector": dict(node_selector)} if node_selector else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": object_meta(
            name, namespace, labels, last_applied=last_applied, created=created, generation=1
        ),
        "spec": {
            "selector": {"matchLabels": match},
            "template": _template({**match, **(labels or {})}, containers, **extra),
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "revisionHistoryLimit": 10,
        },
        "status": {
            "currentNumberScheduled": desired,
            "desiredNumberScheduled": desired,
            "numberMisscheduled": 0,
            "numberReady": ready_count,
            "numberAvailable": ready_count,
            "updatedNumberScheduled": desired,
            "observedGeneration": 1,
        },
    }


def service(
    namespace: str,
    name: str,
    ports: Sequence[int] = (80,),
    selector: Mapping[str, str] | None = None,
    type: str = "ClusterIP",
    labels: Mapping[str, str] | None = None,
    cluster_ip: str | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    ip = cluster_ip or _ip("172.20.0.0/16", namespace, name)
    spec: Obj = {
        "type": type,
        "clusterIP": ip,
        "clusterIPs": [ip],
        "ports": [
            {"name": f"port-{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in ports
        ],
        "selector": dict(selector or {"app": name}),
        "sessionAffinity": "None",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "internalTrafficPolicy": "Cluster",
    }
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(
            name, namespace, labels, last_applied=last_applied, created=created
        ),
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def service_account(
    namespace: str,
    name: str,
    annotations: Mapping[str, str] | None = None,
    created: datetime | None = None,
) -> Obj:
    """A ServiceAccount; IRSA puts the IAM role in ``eks.amazonaws.com/role-arn``."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_meta(name, namespace, None, annotations, created=created),
    }


def ingress_class(
    name: str, controller: str = "ingress.k8s.aws/alb", created: datetime | None = None
) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": object_meta(name, created=created, generation=1),
        "spec": {"controller": controller},
    }


def configmap(
    namespace: str,
    name: str,
    data: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    created: datetime | None = None,
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(name, namespace, labels, created=created),
        "data": dict(data or {}),
    }


def secret(
    namespace: str,
    name: str,
    type: str = "Opaque",
    data: Mapping[str, bytes] | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    created: datetime | None = None,
) -> Obj:
    """A Secret; ``data`` holds raw bytes, base64-encoded here as the API carries them
    (so a Helm release record ends up base64 twice, as in a real cluster)."""
    encoded = {k: base64.b64encode(v).decode() for k, v in (data or {}).items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(name, namespace, labels, annotations, created=created),
        "type": type,
        "data": encoded,
    }


def pdb(
    namespace: str,
    name: str,
    selector: Mapping[str, str],
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
    current_healthy: int = 0,
    desired_healthy: int = 0,
    disruptions_allowed: int = 0,
    expected_pods: int = 0,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    """A PodDisruptionBudget with the status the disruption controller computes; a budget
    with ``disruptions_allowed=0`` is what blocks node drains during an upgrade."""
    if (min_available is None) == (max_unavailable is None):
        raise ValueError(
            f"pdb {namespace}/{name}: give exactly one of min_available, max_unavailable"
        )
    spec: Obj = {"selector": {"matchLabels": dict(selector)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    else:
        spec["maxUnavailable"] = max_unavailable
    when = created or datetime.now(UTC)
    allowed = disruptions_allowed > 0
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(
            name, namespace, last_applied=last_applied, created=when, generation=1
        ),
        "spec": spec,
        "status": {
            "observedGeneration": 1,
            "currentHealthy": current_healthy,
            "desiredHealthy": desired_healthy,
            "disruptionsAllowed": disruptions_allowed,
            "expectedPods": expected_pods,
            "conditions": [
                {
                    "type": "DisruptionAllowed",
                    "status": "True" if allowed else "False",
                    "reason": "SufficientPods" if allowed else "InsufficientPods",
                    "message": "",
                    "observedGeneration": 1,
                    "lastTransitionTime": timestamp(when),
                }
            ],
        },
    }


def ingress(
    namespace: str,
    name: str,
    rules: Iterable[tuple[str, str, str, int]] = (),
    ingress_class: str = "alb",
    annotations: Mapping[str, str] | None = None,
    load_balancer_hostname: str | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    """An Ingress; ``rules`` are (host, path, service name, service port) tuples."""
    by_host: dict[str, list[Obj]] = {}
    for host, path, svc, port in rules:
        by_host.setdefault(host, []).append(
            {
                "path": path,
                "pathType": "Prefix",
                "backend": {"service": {"name": svc, "port": {"number": port}}},
            }
        )
    lb = [{"hostname": load_balancer_hostname}] if load_balancer_hostname else []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": object_meta(
            name,
            namespace,
            None,
            annotations,
            last_applied=last_applied,
            created=created,
            generation=1,
        ),
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [{"host": h, "http": {"paths": paths}} for h, paths in by_host.items()],
        },
        "status": {"loadBalancer": {"ingress": lb} if lb else {}},
    }


def cronjob(
    namespace: str,
    name: str,
    schedule: str = "0 * * * *",
    containers: Sequence[Obj] | None = None,
    suspend: bool = False,
    last_schedule: datetime | None = None,
    labels: Mapping[str, str] | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    job_template = {
        "metadata": {},
        "spec": {
            "backoffLimit": 6,
            "template": {
                "metadata": {},
                "spec": {**_pod_spec(containers), "restartPolicy": "OnFailure"},
            },
        },
    }
    status: Obj = {}
    if last_schedule is not None:
        status["lastScheduleTime"] = timestamp(last_schedule)
        status["lastSuccessfulTime"] = timestamp(last_schedule + timedelta(seconds=20))
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": object_meta(
            name, namespace, labels, last_applied=last_applied, created=created, generation=1
        ),
        "spec": {
            "schedule": schedule,
            "suspend": suspend,
            "concurrencyPolicy": "Allow",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": job_template,
        },
        "status": status,
    }


def hpa(
    namespace: str,
    name: str,
    target_name: str,
    target_kind: str = "Deployment",
    min_replicas: int = 1,
    max_replicas: int = 10,
    cpu_utilization: int = 70,
    current_replicas: int = 1,
    desired_replicas: int | None = None,
    current_cpu_utilization: int | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    """An autoscaling/v2 HPA on CPU; the server also serves it as autoscaling/v1."""
    status: Obj = {
        "currentReplicas": current_replicas,
        "desiredReplicas": current_replicas if desired_replicas is None else desired_replicas,
    }
    if current_cpu_utilization is not None:
        status["currentMetrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": current_cpu_utilization},
                },
            }
        ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta(name, namespace, last_applied=last_applied, created=created),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target_name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cpu_utilization},
                    },
                }
            ],
        },
        "status": status,
    }


def custom(
    api_version: str,
    kind: str,
    namespace: str | None,
    name: str,
    spec: Obj | None = None,
    status: Obj | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    last_applied: Obj | None = None,
    created: datetime | None = None,
) -> Obj:
    """A custom resource (Argo CD Application, Karpenter NodePool...); ``namespace`` None
    for cluster-scoped kinds. Its type must be registered on the server first."""
    obj: Obj = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": object_meta(
            name,
            namespace,
            labels,
            annotations,
            last_applied=last_applied,
            created=created,
            generation=1,
        ),
        "spec": dict(spec or {}),
    }
    if status is not None:
        obj["status"] = dict(status)
    return obj


def custom_resource_definition(
    types: Sequence[ResourceType], created: datetime | None = None
) -> Obj:
    """The CustomResourceDefinition that would serve ``types`` (one kind, several versions).

    The first type is the storage version, as :meth:`TypeRegistry.served` orders them.
    """
    first = types[0]
    names: Obj = {
        "kind": first.kind,
        "listKind": first.list_kind,
        "plural": first.plural,
        "singular": first.singular,
    }
    if first.short_names:
        names["shortNames"] = list(first.short_names)
    if first.categories:
        names["categories"] = list(first.categories)
    versions = []
    for rt in types:
        version: Obj = {
            "name": rt.version,
            "served": True,
            "storage": rt is first,
            "schema": {
                "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            },
            "subresources": {"status": {}},
        }
        printer = [
            {"name": c.name, "type": c.type, "jsonPath": c.json_path, "priority": c.priority}
            for c in rt.columns
            if c.json_path
        ]
        if printer:
            version["additionalPrinterColumns"] = printer
        versions.append(version)
    when = timestamp(created or datetime.now(UTC))
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": object_meta(f"{first.plural}.{first.group}", created=created, generation=1),
        "spec": {
            "group": first.group,
            "names": names,
            "scope": "Namespaced" if first.namespaced else "Cluster",
            "versions": versions,
            "conversion": {"strategy": "None"},
        },
        "status": {
            "acceptedNames": names,
            "conditions": [
                {
                    "type": cond,
                    "status": "True",
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": when,
                }
                for cond, reason, message in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
            "storedVersions": [first.version],
        },
    }


# --- managedFields (what the API scan reads for server-side apply, Helm and Flux) ----------
def managed_field(manager: str, api_version: str, when: datetime, operation: str = "Apply") -> Obj:
    """One `metadata.managedFields` entry: the version `manager` last wrote with, and when."""
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": timestamp(when),
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {}},
    }


def with_managed_fields(obj: Obj, *entries: Obj) -> Obj:
    """``obj`` with ``entries`` as its managedFields (set as the apiserver would)."""
    return {**obj, "metadata": {**obj["metadata"], "managedFields": list(entries)}}

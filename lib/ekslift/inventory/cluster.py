"""What the Kubernetes API says about a cluster: nodes, workloads, PDBs, what parity compares
and Helm releases.

Pods are the big list (up to ~20,000), so they are streamed page by page as raw JSON and
reduced to counts on the fly: nothing pod-sized is kept, which holds peak memory flat.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Any, Literal

from ekslift.charts.releases import list_releases
from ekslift.errors import is_unreachable
from ekslift.estate import EstateCluster
from ekslift.inventory import facts
from ekslift.inventory.models import (
    CoreAddonRow,
    HelmReleaseRow,
    NodeClassRow,
    NodeGroupSummary,
    OwnerKind,
    PdbRow,
    WorkloadRow,
)
from ekslift.kube import KubeError, KubeReader
from ekslift.versions import VersionError, minor_distance

log = logging.getLogger(__name__)
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
    groups: Counter[tuple[OwnerKind, str, str, str, str]] = Counter()
    for node in kube.list("/api/v1/nodes"):
        labels = node["metadata"].get("labels") or {}
        kind, owner = node_owner(labels)
        info = node.get("status", {}).get("nodeInfo", {})
        groups[
            (
                kind,
                owner,
                info.get("kubeletVersion", "unknown"),
                info.get("osImage", ""),
                info.get("containerRuntimeVersion", ""),
            )
        ] += 1
    return [
        NodeGroupSummary(
            where=where,
            owner_kind=kind,
            owner=owner,
            kubelet_version=kubelet,
            nodes=count,
            skew_to_control_plane=_distance(control_plane, kubelet),
            skew_to_target=_distance(target, kubelet),
            os_image=os_image,
            container_runtime=runtime,
        )
        for (kind, owner, kubelet, os_image, runtime), count in sorted(groups.items())
    ]


def _distance(newer: str, kubelet: str) -> int | None:
    """Minors between two versions; None for a kubelet version that cannot be read."""
    try:
        return minor_distance(newer, kubelet)
    except VersionError:
        return None


EC2NODECLASSES = "/apis/karpenter.k8s.aws/v1/ec2nodeclasses"


def read_nodeclasses(kube: KubeReader, where: EstateCluster) -> list[NodeClassRow]:
    """Karpenter's EC2NodeClasses (none where Karpenter's v1 API is not served)."""
    rows = []
    try:
        for item in kube.list(EC2NODECLASSES):
            spec = item.get("spec") or {}
            aliases = [t["alias"] for t in spec.get("amiSelectorTerms") or [] if t.get("alias")]
            family = spec.get("amiFamily", "")
            rows.append(
                NodeClassRow(
                    where=where,
                    name=item["metadata"]["name"],
                    ami_family=family,
                    aliases=", ".join(aliases),
                    amazon_linux_2=facts.karpenter_is_al2(family, aliases),
                )
            )
    except KubeError as exc:
        if exc.status != 404:
            raise
    return rows


_WORKLOADS = (
    ("deployments", "workload", "/apis/apps/v1/deployments"),
    ("statefulsets", "statefulset", "/apis/apps/v1/statefulsets"),
    ("daemonsets", "daemonset", "/apis/apps/v1/daemonsets"),
    ("cronjobs", "cronjob", "/apis/batch/v1/cronjobs"),
)
_KIND_OF = {"deployments": "Deployment", "daemonsets": "DaemonSet"}


def read_workloads(
    kube: KubeReader, where: EstateCluster, eks_addons: set[str]
) -> tuple[list[WorkloadRow], dict[str, dict[tuple[str, str], str]], list[CoreAddonRow]]:
    """Per-namespace counts, the workloads parity compares, and the networking add-ons.

    One list per kind serves all three: vpc-cni, CoreDNS and kube-proxy are the DaemonSets
    and Deployment of kube-system named in `data/core_addons.yaml`, read from their image;
    `eks_addons` names the EKS add-ons, which EKS itself manages and judges.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    objects: dict[str, dict[tuple[str, str], str]] = {kind: {} for _, kind, _ in _WORKLOADS}
    wanted = {(c.kind, c.namespace, c.workload): c for c in facts.core_components()}
    core: list[CoreAddonRow] = []
    for column, kind, path in _WORKLOADS:
        for item in kube.list(path):
            meta = item["metadata"]
            counts[meta["namespace"]][column] += 1
            objects[kind][(meta["namespace"], meta["name"])] = ""
            component = wanted.get((_KIND_OF.get(column, ""), meta["namespace"], meta["name"]))
            if component is not None:
                core.append(_core_addon(where, component, item, eks_addons))
    for pod in kube.list("/api/v1/pods"):
        namespace = pod["metadata"]["namespace"]
        counts[namespace]["pods"] += 1
        if pod.get("status", {}).get("phase") not in ("Running", "Succeeded"):
            counts[namespace]["pods_not_running"] += 1
    rows = [WorkloadRow(where=where, namespace=ns, **dict(c)) for ns, c in sorted(counts.items())]
    return rows, objects, core


def _core_addon(
    where: EstateCluster,
    component: facts.CoreComponent,
    item: dict[str, Any],
    eks_addons: set[str],
) -> CoreAddonRow:
    containers = item.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    image = next(
        (c["image"] for c in containers if component.image_repository in c.get("image", "")),
        containers[0]["image"] if containers else "",
    )
    tag = image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
    return CoreAddonRow(
        where=where,
        name=component.name,
        workload=f"{component.kind}/{component.workload}",
        image=image,
        version=tag,
        self_managed=component.name not in eks_addons,
    )


IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def read_parity_objects(
    kube: KubeReader, where: EstateCluster, *, crd_use: bool
) -> dict[str, dict[tuple[str, str], str]]:
    """What else green must have that blue has, one list per type.

    HPAs, LoadBalancer Services, Ingresses and IngressClasses by name; ServiceAccounts
    with an IAM role (IRSA) with their role; CRDs, and with `crd_use` (blue) whether any
    custom resource of theirs exists (one `limit=1` list per CRD), since only a CRD that
    blue's resources need must exist on green.
    """
    objects: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for item in kube.list("/apis/autoscaling/v2/horizontalpodautoscalers"):
        objects["hpa"][_key(item)] = ""
    for item in kube.list("/api/v1/services"):
        if (item.get("spec") or {}).get("type") == "LoadBalancer":
            objects["service-lb"][_key(item)] = ""
    for item in kube.list("/apis/networking.k8s.io/v1/ingresses"):
        objects["ingress"][_key(item)] = (item.get("spec") or {}).get("ingressClassName", "")
    for item in kube.list("/apis/networking.k8s.io/v1/ingressclasses"):
        objects["ingressclass"][_key(item)] = (item.get("spec") or {}).get("controller", "")
    for item in kube.list("/api/v1/serviceaccounts"):
        role = (item["metadata"].get("annotations") or {}).get(IRSA_ANNOTATION)
        if role:
            objects["irsa"][_key(item)] = role
    for crd in kube.list(CRDS):
        objects["crd"][_key(crd)] = "in use" if crd_use and _has_resources(kube, crd) else ""
    return dict(objects)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    meta = item["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _has_resources(kube: KubeReader, crd: dict[str, Any]) -> bool:
    """Whether a custom resource of this CRD exists; a list that is refused counts as yes,
    so that an unreadable CRD is compared rather than skipped."""
    spec = crd["spec"]
    served = next((v["name"] for v in spec.get("versions", []) if v.get("served")), None)
    if served is None:
        return False
    path = f"/apis/{spec['group']}/{served}/{spec['names']['plural']}"
    try:
        page = kube.get_json(path, [("limit", 1)])
    except KubeError as exc:
        if is_unreachable(exc):
            raise
        log.warning("%s: cannot tell whether %s has resources: %s", kube.context, path, exc)
        return True
    return bool(page.get("items"))


def _intish(value: Any) -> str:
    return "" if value is None else str(value)


def _structural(spec: dict[str, Any], expected: int) -> bool:
    """A budget whose spec never allows an eviction, whatever the pods' health."""
    max_unavailable = spec.get("maxUnavailable")
    if max_unavailable is not None:
        return str(max_unavailable) in ("0", "0%")
    min_available = spec.get("minAvailable")
    if isinstance(min_available, str) and min_available.endswith("%"):
        return int(min_available[:-1]) >= 100
    return min_available is not None and expected > 0 and int(min_available) >= expected


def read_pdbs(kube: KubeReader, where: EstateCluster) -> list[PdbRow]:
    """A PDB blocks a drain when it allows no disruption while it covers running pods."""
    rows = []
    for pdb in kube.list("/apis/policy/v1/poddisruptionbudgets"):
        spec, status = pdb.get("spec", {}), pdb.get("status", {})
        expected = int(status.get("expectedPods", 0))
        allowed = int(status.get("disruptionsAllowed", 0))
        blocks = expected > 0 and allowed == 0
        cause: Literal["structural", "transient", ""] = ""
        if blocks:
            cause = "structural" if _structural(spec, expected) else "transient"
        rows.append(
            PdbRow(
                where=where,
                namespace=pdb["metadata"]["namespace"],
                name=pdb["metadata"]["name"],
                min_available=_intish(spec.get("minAvailable")),
                max_unavailable=_intish(spec.get("maxUnavailable")),
                expected_pods=expected,
                disruptions_allowed=allowed,
                blocks_drain=blocks,
                current_healthy=int(status.get("currentHealthy", 0)),
                desired_healthy=int(status.get("desiredHealthy", 0)),
                cause=cause,
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

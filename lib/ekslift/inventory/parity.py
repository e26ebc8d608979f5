"""Blue vs green parity: green must run everything blue runs before it takes traffic.

Compared per region: Argo CD Applications (by chart and namespace), Helm releases (by name
and namespace), workloads (Deployments, StatefulSets, DaemonSets, CronJobs), HPAs, PDBs,
LoadBalancer Services, Ingresses and IngressClasses, ServiceAccounts with an IAM role
(IRSA), and the CRDs that blue's custom resources need. A gap is anything on blue that
green lacks, or that green has but not synced/healthy.
"""

from __future__ import annotations

from collections.abc import Iterable

from ekslift.argocd import ArgoAppRow
from ekslift.gate import Severity
from ekslift.inventory.models import ClusterInventory, HelmReleaseRow, ParityGap, ParityKind


def _apps_by_key(apps: Iterable[ArgoAppRow], role: str) -> dict[tuple[str, str], ArgoAppRow]:
    return {(a.chart, a.namespace): a for a in apps if a.where is not None and a.where.role == role}


def app_gaps(region: str, apps: list[ArgoAppRow]) -> list[ParityGap]:
    in_region = [a for a in apps if a.where is not None and a.where.region == region]
    blue, green = _apps_by_key(in_region, "blue"), _apps_by_key(in_region, "green")
    gaps = []
    for key, app in sorted(blue.items()):
        name = f"{key[1]}/{key[0]}"
        peer = green.get(key)
        if peer is None:
            gaps.append(ParityGap(region, "argocd-app", name, "missing on green", app.name, "—"))
            continue
        state = f"{peer.sync_status}/{peer.health_status}"
        if peer.sync_status != "Synced" or peer.health_status != "Healthy":
            gaps.append(
                ParityGap(
                    region,
                    "argocd-app",
                    name,
                    f"not synced and healthy on green ({state})",
                    f"{app.sync_status}/{app.health_status}",
                    state,
                )
            )
        elif peer.target_revision != app.target_revision:
            gaps.append(
                ParityGap(
                    region,
                    "argocd-app",
                    name,
                    "chart version differs (expected during an upgrade: check the chart diff)",
                    app.target_revision,
                    peer.target_revision,
                    severity="info",
                )
            )
    return gaps


def _releases(rows: list[HelmReleaseRow]) -> dict[tuple[str, str], HelmReleaseRow]:
    return {(r.namespace, r.name): r for r in rows}


def cluster_gaps(region: str, blue: ClusterInventory, green: ClusterInventory) -> list[ParityGap]:
    gaps = []
    green_releases = _releases(green.helm_releases)
    for key, release in sorted(_releases(blue.helm_releases).items()):
        name = f"{key[0]}/{key[1]}"
        peer = green_releases.get(key)
        if peer is None:
            gaps.append(
                ParityGap(
                    region, "helm-release", name, "missing on green", release.chart_version, "—"
                )
            )
        elif peer.status != "deployed":
            gaps.append(
                ParityGap(
                    region,
                    "helm-release",
                    name,
                    f"status {peer.status} on green",
                    release.status,
                    peer.status,
                )
            )
    for kind, (problem, severity) in _OBJECT_GAPS.items():
        gaps += _object_gaps(region, kind, problem, severity, blue, green)
    return gaps


# What green lacking each kind means. A missing PDB only weakens green's protection against
# disruptions (nothing is drained for the cutover), so it warns; the rest breaks traffic or
# work that blue does today.
_OBJECT_GAPS: dict[ParityKind, tuple[str, Severity]] = {
    "workload": ("Deployment missing on green", "blocker"),
    "statefulset": ("StatefulSet missing on green", "blocker"),
    "daemonset": ("DaemonSet missing on green", "blocker"),
    "cronjob": ("CronJob missing on green", "blocker"),
    "hpa": ("HorizontalPodAutoscaler missing on green: it will not scale", "blocker"),
    "pdb": ("PodDisruptionBudget missing on green", "warning"),
    "service-lb": ("Service of type LoadBalancer missing on green", "blocker"),
    "ingress": ("Ingress missing on green", "blocker"),
    "ingressclass": ("IngressClass missing on green: its Ingresses are not served", "blocker"),
    "irsa": ("ServiceAccount on green lacks the IAM role (eks.amazonaws.com/role-arn)", "blocker"),
    "crd": ("CRD missing on green, but blue has custom resources of it", "blocker"),
}


def _object_gaps(
    region: str,
    kind: ParityKind,
    problem: str,
    severity: Severity,
    blue: ClusterInventory,
    green: ClusterInventory,
) -> list[ParityGap]:
    if kind == "pdb":
        theirs = {(p.namespace, p.name): "" for p in blue.pdbs}
        ours = {(p.namespace, p.name): "" for p in green.pdbs}
    else:
        theirs, ours = blue.objects.get(kind, {}), green.objects.get(kind, {})
    if kind == "crd":
        theirs = {key: use for key, use in theirs.items() if use}
    gaps = []
    for key in sorted(set(theirs) - set(ours)):
        name = "/".join(part for part in key if part)
        gaps.append(ParityGap(region, kind, name, problem, theirs[key] or "present", "—", severity))
    return gaps

"""Blue vs green parity: green must run everything blue runs before it takes traffic.

Compared per region: Argo CD Applications (by chart and namespace), Helm releases (by name
and namespace) and Deployments. A gap is anything on blue that green lacks, or that green
has but not synced/healthy.
"""

from __future__ import annotations

from collections.abc import Iterable

from ekslift.argocd import ArgoAppRow
from ekslift.inventory.models import ClusterInventory, HelmReleaseRow, ParityGap


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
                    blocking=False,
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
    for namespace, name in sorted(blue.deployments - green.deployments):
        gaps.append(
            ParityGap(
                region,
                "workload",
                f"{namespace}/{name}",
                "Deployment missing on green",
                "present",
                "—",
            )
        )
    return gaps

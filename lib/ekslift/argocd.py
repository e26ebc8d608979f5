"""Chart deployments as Argo CD sees them: Applications in the management cluster.

GitOps estates render charts with `helm template`, so the service clusters hold no Helm
release Secrets for them: the Applications are the only place that says which chart at
which version goes to which cluster, and whether it is synced and healthy there.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from ekslift.estate import EstateCluster
from ekslift.kube import KubeReader

CLUSTER_SECRET_SELECTOR = "argocd.argoproj.io/secret-type=cluster"


@dataclass(frozen=True)
class ArgoAppRow:
    """One Application: its chart source, destination, and sync/health as Argo CD reports."""

    name: str
    project: str
    repo_url: str
    chart: str
    target_revision: str
    destination: str
    namespace: str
    sync_status: str
    health_status: str
    where: EstateCluster | None = None


def _decoded(secret: dict[str, Any], key: str) -> str:
    """Only the non-secret `name`/`server` keys are decoded; `config` (tokens) never is."""
    raw = (secret.get("data") or {}).get(key)
    if not raw:
        return ""
    try:
        return base64.b64decode(raw).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def cluster_names_by_server(kube: KubeReader, namespace: str) -> dict[str, str]:
    """Argo CD's registered clusters: server URL -> the name Applications may use."""
    path = f"/api/v1/namespaces/{namespace}/secrets"
    names = {}
    for secret in kube.list(path, label_selector=CLUSTER_SECRET_SELECTOR):
        server, name = _decoded(secret, "server"), _decoded(secret, "name")
        if server and name:
            names[server] = name
    return names


def _chart_source(spec: dict[str, Any]) -> dict[str, Any]:
    sources = spec.get("sources") or [spec.get("source") or {}]
    return next((s for s in sources if s.get("chart")), sources[0])


def read_applications(
    kube: KubeReader, namespace: str, clusters: dict[str, EstateCluster]
) -> list[ArgoAppRow]:
    """Applications with their destination resolved to a cluster of the parameters.

    `clusters` maps every name a destination may use (EKS name, kube context, Argo CD cluster
    name) to that cluster's `Where`; unresolved destinations are kept with `where=None`.
    """
    by_server = cluster_names_by_server(kube, namespace)
    rows = []
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applications"
    for app in kube.list(path):
        spec, status = app.get("spec", {}), app.get("status", {})
        source = _chart_source(spec)
        dest = spec.get("destination", {})
        dest_name = dest.get("name") or by_server.get(
            dest.get("server", ""), dest.get("server", "")
        )
        rows.append(
            ArgoAppRow(
                name=app["metadata"]["name"],
                project=spec.get("project", "default"),
                repo_url=source.get("repoURL", ""),
                chart=source.get("chart") or source.get("path", ""),
                target_revision=str(source.get("targetRevision", "")),
                destination=dest_name,
                namespace=dest.get("namespace", ""),
                sync_status=status.get("sync", {}).get("status", "Unknown"),
                health_status=status.get("health", {}).get("status", "Unknown"),
                where=clusters.get(dest_name),
            )
        )
    return rows

"""Argo CD Applications: each Helm-chart app rendered with its own values for the target.

GitOps estates render charts with `helm template` inside Argo CD, so their service clusters
hold no Helm release Secrets: the Applications are the only place that says which chart, at
which version and with which values, goes to which cluster. We render exactly that (the
app's `repoURL`, `chart`, `targetRevision`, `helm.valuesObject`/`values`/`parameters` and
release name) for the target version; findings carry the app's destination cluster.
Values stay in memory and reach helm only through its private values file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ekslift.apiscan.contract import SourceResult
from ekslift.apiscan.facts import FactSet, Targets
from ekslift.apiscan.sightings import ScanProblem
from ekslift.apiscan.sources.charts import ChartRef, scan_chart, target_api_versions
from ekslift.argocd import APPLICATIONS, app_values, cluster_names_by_server
from ekslift.charts.helm import Helm, HelmError
from ekslift.kube import KubeReader

log = logging.getLogger(__name__)
_RENDER_WORKERS = 6


@dataclass(frozen=True)
class ArgoChartApp:
    """One Application's Helm chart source, as Argo CD would render it."""

    name: str
    repo_url: str
    chart: str
    target_revision: str
    release_name: str
    destination: str
    namespace: str
    values: Mapping[str, Any]
    value_files: tuple[str, ...] = ()

    @property
    def is_http_repo(self) -> bool:
        return self.repo_url.startswith(("http://", "https://"))

    def chart_ref(self, repo_alias: str | None = None) -> ChartRef:
        """`alias/chart` for an HTTP(S) repository added under `repo_alias`, `--repo URL
        chart` without one, `oci://host/path/chart` for OCI registries."""
        version = self.target_revision or None
        if self.is_http_repo:
            if repo_alias:
                return ChartRef(f"{repo_alias}/{self.chart}", version)
            return ChartRef(self.chart, version, self.repo_url)
        base = self.repo_url if self.repo_url.startswith("oci://") else f"oci://{self.repo_url}"
        return ChartRef(f"{base.rstrip('/')}/{self.chart}", version)


def chart_apps(kube: KubeReader, namespace: str) -> tuple[list[ArgoChartApp], list[ScanProblem]]:
    """Every Application with a Helm chart source; the others as warning problems."""
    by_server = cluster_names_by_server(kube, namespace)
    apps: list[ArgoChartApp] = []
    problems: list[ScanProblem] = []
    for app in kube.list(APPLICATIONS.format(namespace=namespace)):
        meta, spec = app.get("metadata", {}), app.get("spec", {})
        name = str(meta.get("name", ""))
        dest = spec.get("destination") or {}
        destination = dest.get("name") or by_server.get(dest.get("server", ""), "")
        sources = spec.get("sources") or [spec.get("source") or {}]
        charts = [s for s in sources if s.get("chart")]
        if not charts:
            problems.append(
                ScanProblem(
                    f"argocd application {namespace}/{name}",
                    "not rendered: its source is a Git path, not a Helm chart; scan the "
                    "repository checkout with `ekslift scan PATH`",
                    level="warning",
                )
            )
            continue
        for source in charts:
            helm_spec = source.get("helm") or {}
            apps.append(
                ArgoChartApp(
                    name=name,
                    repo_url=str(source.get("repoURL", "")),
                    chart=str(source["chart"]),
                    target_revision=str(source.get("targetRevision", "")),
                    release_name=str(helm_spec.get("releaseName") or name),
                    destination=destination or str(dest.get("server", "")),
                    namespace=str(dest.get("namespace") or "default"),
                    values=app_values(helm_spec),
                    value_files=tuple(helm_spec.get("valueFiles") or ()),
                )
            )
    return apps, problems


def _add_repositories(helm: Helm, urls: set[str]) -> dict[str, str]:
    """Add each HTTP repository once, before rendering in parallel: concurrent `helm
    template --repo` calls would race on the same index file in helm's cache. A repository
    that cannot be added is left to `--repo`, whose failure then names the app."""
    aliases = {}
    for url in sorted(urls):
        alias = "argocd-" + hashlib.sha256(url.encode()).hexdigest()[:12]
        try:
            helm.repo_add(alias, url)
        except HelmError as exc:
            log.warning("chart repository %s not added: %s", url, exc.stderr)
            continue
        aliases[url] = alias
    return aliases


def scan_applications(
    kube: KubeReader,
    namespace: str,
    helm: Helm,
    facts: FactSet,
    targets: Targets,
    *,
    cluster_of: Callable[[str], str] | None = None,
    api_versions: Sequence[str] | None = None,
) -> SourceResult:
    """Render every Helm-chart Application for the target and scan the renders.

    `cluster_of` maps an Argo CD destination name to the cluster name findings carry (the
    EKS name of the parameters); by default the destination name is kept.
    """
    total = SourceResult(label="argocd")
    apps, problems = chart_apps(kube, namespace)
    total.problems += problems
    total.count("applications", len(apps))
    versions = list(api_versions or target_api_versions(facts, targets.kubernetes))
    resolve = cluster_of or (lambda name: name)

    aliases = _add_repositories(helm, {app.repo_url for app in apps if app.is_http_repo})

    def render(app: ArgoChartApp) -> SourceResult:
        part = scan_chart(
            helm,
            app.chart_ref(aliases.get(app.repo_url)),
            facts,
            targets,
            api_versions=versions,
            release_name=app.release_name,
            namespace=app.namespace,
            values=app.values,
            cluster=resolve(app.destination),
            source="argocd",
            label=f"argocd application {namespace}/{app.name}",
            extra={"application": app.name, "destination": app.destination},
        )
        if app.value_files:
            part.problems.append(
                ScanProblem(
                    f"argocd application {namespace}/{app.name}",
                    f"valueFiles {list(app.value_files)} were not applied (they live in the "
                    "chart's source repository); findings may differ from Argo CD's render",
                    level="warning",
                )
            )
        return part

    with ThreadPoolExecutor(max_workers=_RENDER_WORKERS) as pool:
        for part in pool.map(render, apps):
            total.add(part)
    return total

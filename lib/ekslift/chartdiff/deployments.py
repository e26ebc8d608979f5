"""Every chart deployment of the estate, GitOps first, then helm-installed releases.

Argo CD's Applications (and ApplicationSets) say which chart, from which repository, at which
version and with which values goes to which cluster; helm release records say the same for
what was installed by hand or by a pipeline, except the repository, which a release record
never names: it is matched by the chart's name plus its `home`/`sources`, or by the
parameters' mapping, and an ambiguous match is reported as such, never guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from ekslift.argocd import AppChart, read_app_charts
from ekslift.chartdiff.models import Deployment, Instance
from ekslift.chartdiff.repos import ChartEntry, ChartSources, RepositoryError
from ekslift.charts.releases import HelmRelease, ReleaseDecodeError, list_releases, read_user_values
from ekslift.errors import ReadError, is_unreachable
from ekslift.estate import EstateCluster
from ekslift.kube import KubeReader
from ekslift.versions import VersionError, parse_minor

log = logging.getLogger(__name__)


@dataclass
class EstateDeployments:
    """The deployments found, and what could not be read (by whom, and whether it answered)."""

    deployments: list[Deployment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    kube_versions: dict[str, Version] = field(default_factory=dict)


def oci_url(repo_url: str) -> str:
    """Argo CD writes OCI repositories without a scheme (`registry/charts`)."""
    if repo_url.startswith(("http://", "https://", "oci://")):
        return repo_url.rstrip("/")
    return f"oci://{repo_url.rstrip('/')}"


def _failed(what: str, exc: Exception, out: EstateDeployments) -> None:
    log.warning("%s not read: %s", what, exc)
    out.problems.append(f"{what} not read: {exc}")
    if is_unreachable(exc):
        out.incomplete.append(what)


def cluster_versions(clusters: Iterable[EstateCluster], out: EstateDeployments) -> None:
    """Each cluster's own Kubernetes minor, from its `/version` (blue is judged on it)."""
    for where in clusters:
        try:
            version = KubeReader(where.context).server_version().get("gitVersion", "")
            out.kube_versions[where.cluster] = parse_minor(str(version))
        except (ReadError, VersionError) as exc:
            _failed(f"cluster {where.cluster} version", exc, out)


def _instance_of_app(
    app: AppChart, where: EstateCluster | None, out: EstateDeployments
) -> Instance:
    cluster = where.cluster if where else app.destination
    return Instance(
        name=app.app,
        cluster=cluster,
        role=where.role if where else None,
        version=app.target_revision,
        kube_version=out.kube_versions.get(cluster),
        sync_status=app.sync_status,
        revision=app.revision,
        values=app.values,
        problems=app.problems,
    )


def _identity(d: Deployment) -> tuple[str, str, str, str, str | None]:
    return (d.origin, d.chart, d.namespace, d.release, d.region)


def _group(out: EstateDeployments, found: Deployment) -> Deployment:
    """The deployment already read under the same identity (blue's and green's instance of
    one chart), or `found` as a new one."""
    key = _identity(found)
    for deployment in out.deployments:
        if _identity(deployment) == key:
            return deployment
    out.deployments.append(found)
    return found


def read_argocd(
    kube: KubeReader,
    namespace: str,
    clusters: Mapping[str, EstateCluster],
    checkout: Path | None,
    out: EstateDeployments,
) -> None:
    """Argo CD's chart deployments, grouped by region: blue's and green's app of one chart.

    An app's release name is its chart's when Argo CD's default (the app's name, which
    usually carries the cluster's) would split one deployment per cluster.
    """
    try:
        charts, problems = read_app_charts(kube, namespace, checkout)
    except ReadError as exc:
        _failed(f"Argo CD in {namespace}", exc, out)
        return
    out.problems += problems
    for app in charts:
        where = clusters.get(app.destination)
        release = app.release_name or app.chart
        deployment = _group(
            out,
            Deployment(
                origin="argocd",
                chart=app.chart,
                namespace=app.namespace,
                release=release,
                region=where.region if where else None,
                repo_url=oci_url(app.repo_url),
                matched_by="the app's repoURL",
                application_set=app.application_set,
            ),
        )
        deployment.instances.append(_instance_of_app(app, where, out))
        deployment.problems += [f"{app.app}: {p}" for p in app.problems]


def read_helm(where: EstateCluster, out: EstateDeployments) -> list[tuple[Deployment, HelmRelease]]:
    """One cluster's helm releases as deployments (latest deployed revision, user values
    read for rendering; a record that cannot be decoded is a problem of that release)."""
    kube = KubeReader(where.context)
    try:
        releases = list_releases(kube)
    except ReadError as exc:
        _failed(f"helm releases of {where.cluster}", exc, out)
        return []
    found = []
    for problem in releases.problems:
        name = problem.object_name.removeprefix("sh.helm.release.v1.").rsplit(".v", 1)[0]
        deployment = _group(
            out,
            Deployment(
                origin="helm",
                chart="?",
                namespace=problem.namespace,
                release=name,
                region=where.region,
            ),
        )
        deployment.problems.append(
            f"{where.cluster}: release record {problem.namespace}/{problem.object_name} not "
            f"read: {problem.reason}"
        )
    for release in releases:
        problems: list[str] = []
        try:
            values = read_user_values(kube, release)
        except ReleaseDecodeError as exc:
            values, problems = {}, [f"user values not read: {exc}"]
        except ReadError as exc:
            _failed(f"release {release.namespace}/{release.name} on {where.cluster}", exc, out)
            continue
        deployment = _group(
            out,
            Deployment(
                origin="helm",
                chart=release.chart,
                namespace=release.namespace,
                release=release.name,
                region=where.region,
                home=release.chart_home,
                sources=release.chart_sources,
            ),
        )
        deployment.instances.append(
            Instance(
                name=release.name,
                cluster=where.cluster,
                role=where.role,
                version=release.chart_version,
                kube_version=out.kube_versions.get(where.cluster),
                sync_status=release.status,
                revision=str(release.revision),
                values=values,
                problems=tuple(problems),
            )
        )
        deployment.problems += [f"{where.cluster}: {p}" for p in problems]
        found.append((deployment, release))
    return found


def _same_origin(entry: ChartEntry, home: str, sources: tuple[str, ...]) -> bool:
    if home and entry.home and home.rstrip("/") == entry.home.rstrip("/"):
        return True
    return bool(set(sources) & set(entry.sources))


def match_repository(
    deployment: Deployment,
    repositories: list[str],
    mapping: Mapping[str, str],
    charts: ChartSources,
) -> None:
    """Find a helm release's repository: the parameters' mapping (`namespace/release` or
    chart name), else the one repository whose chart of that name has the release's `home`
    or `sources`. Several equally good -> ambiguous (reported, not guessed)."""
    mapped = mapping.get(f"{deployment.namespace}/{deployment.release}") or mapping.get(
        deployment.chart
    )
    if mapped:
        deployment.repo_url, deployment.matched_by = oci_url(mapped), "the parameters' mapping"
        return
    named: list[tuple[str, ChartEntry]] = []
    for url in repositories:
        try:
            versions = (
                charts.oci_versions(url, deployment.chart)
                if url.startswith("oci://")
                else charts.http_index(url).get(deployment.chart, [])
            )
        except RepositoryError as exc:
            deployment.problems.append(f"repository {url} not searched: {exc}")
            continue
        if versions:
            named.append((url, versions[0]))
    if deployment.home or deployment.sources:
        strong = [
            url for url, entry in named if _same_origin(entry, deployment.home, deployment.sources)
        ]
    else:
        strong = [url for url, _ in named]
    if len(strong) == 1:
        deployment.repo_url = strong[0]
        deployment.matched_by = (
            "chart name and home/sources" if deployment.home or deployment.sources else "chart name"
        )
    elif len(strong) > 1:
        deployment.matched_by = "ambiguous: " + ", ".join(strong)
    elif named:
        others = ", ".join(url for url, _ in named)
        deployment.matched_by = (
            f"not found: charts named {deployment.chart} in {others} have another home"
        )
    else:
        deployment.matched_by = f"not found: no repository searched has a chart {deployment.chart}"

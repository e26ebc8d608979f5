"""Step 2 over the whole estate: every source, every cluster of the parameters, one report.

Clusters are scanned concurrently (release records, live objects and Upgrade Insights of a
few clusters, plus the Argo CD renders and the chart repositories), and a source that cannot
be read becomes a problem of the report instead of aborting the scan: an operator still sees
everything else. Every cluster is judged against the parameters' target version -- green
because it runs it, blue because its releases, manifests and clients are what will be
redeployed to green (the gate says which counts). Which cluster sources were read without an
error is recorded, so the gate never takes a source that failed as showing "migrated".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.apiscan.contract import CLUSTER_SOURCES, SourceName, SourceResult
from ekslift.apiscan.facts import FactSet, Targets, load_facts
from ekslift.apiscan.manifests import ScanOptions
from ekslift.apiscan.sightings import ScanProblem, ScanReport
from ekslift.apiscan.sources.argocd import scan_applications
from ekslift.apiscan.sources.charts import (
    ChartRef,
    repo_latest_charts,
    scan_chart,
    target_api_versions,
)
from ekslift.apiscan.sources.files import scan_files
from ekslift.apiscan.sources.helm_releases import scan_releases
from ekslift.apiscan.sources.insights import scan_insights
from ekslift.apiscan.sources.live import scan_live
from ekslift.charts.helm import Helm, HelmError
from ekslift.errors import InputError, ReadError, is_unreachable
from ekslift.estate import EstateCluster, cluster_index, estate_clusters
from ekslift.kube import KubeReader
from ekslift.params import UpgradeParams

log = logging.getLogger(__name__)
ESTATE_SOURCES: tuple[SourceName, ...] = ("argocd", "chart-repos", "files")
ALL_SOURCES: tuple[SourceName, ...] = (*CLUSTER_SOURCES, *ESTATE_SOURCES)
_READ_ERRORS = (ReadError, ClientError, BotoCoreError, OSError)
_WORKERS = 8


@dataclass
class EstateScan:
    """The merged report of the estate, and where each cluster sits."""

    report: ScanReport
    facts: FactSet
    clusters: dict[str, EstateCluster] = field(default_factory=dict)
    # Sources whose API could not be reached at all: the step ends as a tool error (exit 3).
    incomplete: list[str] = field(default_factory=list)
    # (source, cluster) read without an error: only these may show that something is *not*
    # there (a client or object migrated on green); a source that failed proves nothing.
    read: frozenset[tuple[str, str]] = frozenset()

    def where(self, cluster: str | None) -> EstateCluster | None:
        return self.clusters.get(cluster) if cluster else None

    def was_read(self, source: str, cluster: str) -> bool:
        return (source, cluster) in self.read

    def green_of(self, region: str | None) -> EstateCluster | None:
        """The green cluster of a region (what blue's evidence is checked against)."""
        return next(
            (c for c in self.clusters.values() if c.region == region and c.role == "green"),
            None,
        )


def _guarded(
    label: str, where: str, run: Callable[[], SourceResult], incomplete: list[str]
) -> SourceResult:
    """Run one source; a source that cannot be read becomes an error problem, and one
    whose API could not be reached is also noted in `incomplete` (a tool error)."""
    try:
        return run()
    except _READ_ERRORS as exc:
        log.warning("%s of %s not scanned: %s", label, where, exc)
        if is_unreachable(exc):
            incomplete.append(f"{where} ({label})")
        result = SourceResult(label=label)
        result.problems.append(ScanProblem(where, f"{label} not scanned: {exc}"))
        return result


def scan_paths(
    helm: Helm, paths: dict[str, Path], facts: FactSet, targets: Targets
) -> SourceResult:
    """`scan.manifest_paths` (as written -> resolved): charts and kustomizations, named or
    met inside a folder, are rendered, the rest read as files. Results name files as the
    parameter file wrote them, so finding ids and reports do not depend on where the
    repository is checked out."""
    total = SourceResult(label="files")
    for written, path in paths.items():
        if path.name.endswith(".tgz"):
            result = scan_chart(helm, ChartRef(str(path)), facts, targets)
        else:
            # The run is an audit record: every YAML problem in the operator's manifests is
            # reported, not only those of documents that name a deprecated API (fast path).
            result = scan_files([str(path)], facts, targets, ScanOptions(strict=True), lambda: helm)
        total.add(_as_written(result, str(path), written))
    return total


def _as_written(result: SourceResult, resolved: str, written: str) -> SourceResult:
    def rename(file: str | None) -> str | None:
        return written + file[len(resolved) :] if file and file.startswith(resolved) else file

    return SourceResult(
        result.label,
        [replace(f, file=rename(f.file)) for f in result.sightings],
        [replace(p, file=rename(p.file) or p.file) for p in result.problems],
        result.stats,
    )


def scan_chart_repositories(
    helm: Helm, params: UpgradeParams, facts: FactSet, targets: Targets
) -> SourceResult:
    """The newest version of every chart in `chart_repositories`: what a bump would reach."""
    total = SourceResult(label="chart-repos")
    versions = target_api_versions(facts, targets.kubernetes)
    for repo in params.chart_repositories:
        try:
            helm.repo_add(repo.name, repo.url)
            refs = repo_latest_charts(helm, repo.name)
        except HelmError as exc:
            total.problems.append(
                ScanProblem(f"chart repository {repo.name} ({repo.url})", exc.stderr)
            )
            continue
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            parts = pool.map(
                lambda ref: scan_chart(helm, ref, facts, targets, api_versions=versions), refs
            )
            for part in parts:
                total.add(part)
    return total


def scan_estate(
    params: UpgradeParams,
    *,
    helm_home: Path,
    sources: Collection[str] = ALL_SOURCES,
    facts: FactSet | None = None,
    all_revisions: bool = False,
) -> EstateScan:
    """Scan every source of the estate for the parameters' target; one merged report."""
    unknown = set(sources) - set(ALL_SOURCES)
    if unknown:
        raise InputError(f"unknown scan sources {sorted(unknown)}; known: {list(ALL_SOURCES)}")
    facts = facts or load_facts([params.resolve_path(f) for f in params.scan.extra_facts])
    targets = Targets(facts.parse_target(params.target_version))
    clusters = {c.cluster: c for c in estate_clusters(params)}
    names = {name: c.cluster for name, c in cluster_index(params).items()}
    helm = Helm(helm_home)
    aws.configure_from(params.aws)
    jobs: list[tuple[str, str | None, Future[SourceResult]]] = []
    incomplete: list[str] = []
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:

        def submit(
            label: str, where: str, run: Callable[[], SourceResult], cluster: str | None = None
        ) -> None:
            if label in sources:
                jobs.append((label, cluster, pool.submit(_guarded, label, where, run, incomplete)))

        def submit_cluster(where: EstateCluster) -> None:
            # A function per cluster, so each job's closure binds this cluster's names.
            name, context, region = where.cluster, where.context, where.region or ""
            submit(
                "helm-release",
                f"cluster {name}",
                lambda: scan_releases(
                    KubeReader(context), facts, targets, cluster=name, all_revisions=all_revisions
                ),
                name,
            )
            submit(
                "live",
                f"cluster {name}",
                lambda: scan_live(KubeReader(context), facts, targets, cluster=name),
                name,
            )
            submit(
                "insights",
                f"cluster {name}",
                lambda: scan_insights(
                    aws.client("eks", region, params.aws.profile), facts, targets, cluster=name
                ),
                name,
            )

        for where in clusters.values():
            submit_cluster(where)
        if params.argocd is not None:
            argo = params.argocd
            submit(
                "argocd",
                f"argocd {argo.kube_context}/{argo.namespace}",
                lambda: scan_applications(
                    KubeReader(argo.kube_context),
                    argo.namespace,
                    helm,
                    facts,
                    targets,
                    cluster_of=lambda dest: names.get(dest, dest),
                ),
            )
        submit(
            "chart-repos",
            "chart repositories",
            lambda: scan_chart_repositories(helm, params, facts, targets),
        )
        if params.scan.manifest_paths:
            submit(
                "files",
                "scan.manifest_paths",
                lambda: scan_paths(
                    helm,
                    {p: params.resolve_path(p) for p in params.scan.manifest_paths},
                    facts,
                    targets,
                ),
            )
        results = [(label, cluster, job.result()) for label, cluster, job in jobs]
    report = SourceResult.merged("estate", [result for _, _, result in results]).report(
        targets, [s for s in ALL_SOURCES if s in sources]
    )
    read = frozenset(
        (label, cluster)
        for label, cluster, result in results
        if cluster is not None and not any(p.level == "error" for p in result.problems)
    )
    return EstateScan(report, facts, clusters, sorted(incomplete), read)

"""Helm releases in a cluster, from release Secrets and the ConfigMap storage driver.

The stored manifest is what `helm upgrade` diffs against: a release whose manifest names a
removed API fails its next upgrade even when the live object was migrated long ago (the fix
is to re-render it, or `helm mapkubeapis`). So releases are scanned as stored -- the latest
deployed revision by default, every revision on request -- and the live source decides what
the object is now. Secret data in release manifests is masked while decoding.
"""

from __future__ import annotations

from ekslift.apiscan.contract import SourceResult
from ekslift.apiscan.facts import FactSet, Targets
from ekslift.apiscan.sightings import ScanProblem
from ekslift.apiscan.sources.rendered import RenderLabels, scan_rendered
from ekslift.charts.releases import HelmRelease, list_releases
from ekslift.kube import KubeReader


def release_label(release: HelmRelease) -> str:
    """How findings name a release: `helm release <ns>/<name> revision <n>`."""
    return f"helm release {release.namespace}/{release.name} revision {release.revision}"


def scan_releases(
    kube: KubeReader,
    facts: FactSet,
    targets: Targets,
    *,
    cluster: str,
    all_revisions: bool = False,
    namespace: str | None = None,
) -> SourceResult:
    """Scan every release's manifest and hooks; undecodable records become problems."""
    result = SourceResult(label="helm-release")
    releases = list_releases(kube, namespace=namespace, all_revisions=all_revisions)
    for release in releases:
        extra = {
            "release": f"{release.namespace}/{release.name}",
            "revision": release.revision,
            "status": release.status,
            "chart": f"{release.chart}-{release.chart_version}",
        }
        labels = RenderLabels(
            "helm-release", release_label(release), cluster, release.namespace, extra
        )
        for manifest in (release.manifest, release.hooks_manifest):
            if manifest:
                sightings, problems = scan_rendered(manifest, labels, facts, targets)
                result.sightings += sightings
                result.problems += problems
    for problem in releases.problems:
        result.problems.append(
            ScanProblem(
                f"{cluster}: {problem.storage} {problem.namespace}/{problem.object_name}",
                f"Helm release record not scanned: {problem.reason}",
                object=f"{problem.namespace}/{problem.object_name}",
            )
        )
    result.count("releases", len(releases))
    return result

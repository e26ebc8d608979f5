"""A scan request end to end: its target, the sources it selects, one merged report.

This is what ``ekslift scan`` runs; it looks the sources up in the registry (importing the
built-in sources registers them) and never names one itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from ekslift.apiscan.contract import ScanContext, ScanRequest, SourceResult, registry
from ekslift.apiscan.facts import FactSet, Targets, TargetVersionError
from ekslift.apiscan.sightings import ScanReport
from ekslift.apiscan.sources.builtin import cluster_contexts
from ekslift.errors import InputError
from ekslift.kube import KubeReader
from ekslift.params import load_params
from ekslift.versions import next_minor


def default_target(request: ScanRequest) -> str | None:
    """The target when none is given: the parameter file's, or the clusters' version + 1.

    A scan of clusters on different minors has no single "next" version, so that is an
    error asking for `--target-version` rather than a guess.
    """
    if request.params_path:
        return load_params(request.params_path).target_version
    if not request.reads_clusters:
        return None
    versions = {
        next_minor(KubeReader(ctx).server_version()["gitVersion"])
        for ctx in cluster_contexts(request)
    }
    if len(versions) != 1:
        raise TargetVersionError(
            f"the clusters would upgrade to different versions ({', '.join(sorted(versions))}); "
            "give --target-version"
        )
    return versions.pop()


def targets_for(
    facts: FactSet, request: ScanRequest, version: str | None, components: Sequence[str] = ()
) -> Targets:
    """The Kubernetes target (given, or :func:`default_target`) and add-on versions."""
    version = version or default_target(request)
    if not version:
        raise TargetVersionError(
            "no --target-version given; name the version you upgrade to "
            f"(known: {', '.join(facts.known_versions())})"
        )
    pinned = dict(facts.parse_component_target(spec) for spec in components)
    return Targets(facts.parse_target(version), pinned)


def run_request(request: ScanRequest, facts: FactSet, targets: Targets) -> ScanReport:
    """Run every source the request selects; raises `InputError` when it selects none."""
    selected = registry.selected(request)
    if not selected:
        raise InputError(
            "nothing to scan; give PATHs (or - for stdin), --chart, --params, or "
            "--helm/--live/--insights"
        )
    context = ScanContext(facts, targets, request)
    results = [source.run(context) for source in selected]
    return SourceResult.merged("scan", results).report(targets, [s.name for s in selected])

"""The built-in sources, adapted to a :class:`ScanRequest` and registered by name.

`files` scans PATHs, `charts` renders charts and kustomizations, `helm-release`, `live` and
`insights` read the clusters of the request's kubeconfig contexts (the current context when
none is given), and `estate` scans a parameter file's whole estate as step 2 does. A
cluster or source that cannot be read is a problem of the report (exit 1 under pluto's
codes, unless a sighting ranks higher), like an unreadable file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from kubernetes import config as kube_config

from ekslift import aws
from ekslift.apiscan.contract import (
    ScanContext,
    ScanRequest,
    ScanSource,
    SourceName,
    SourceResult,
    registry,
)
from ekslift.apiscan.estate import scan_estate
from ekslift.apiscan.manifests import ScanOptions
from ekslift.apiscan.sightings import ScanProblem
from ekslift.apiscan.sources.charts import scan_charts
from ekslift.apiscan.sources.files import scan_files
from ekslift.apiscan.sources.helm_releases import scan_releases
from ekslift.apiscan.sources.insights import scan_insights
from ekslift.apiscan.sources.live import scan_live
from ekslift.charts.helm import Helm
from ekslift.errors import InputError, ReadError
from ekslift.kube import KubeReader
from ekslift.params import load_params

_ERRORS = (ReadError, ClientError, BotoCoreError, OSError)


def cluster_contexts(request: ScanRequest) -> list[str]:
    """The request's kubeconfig contexts, or the current context when it names none."""
    if request.contexts:
        return list(request.contexts)
    try:
        _, current = kube_config.list_kube_config_contexts()
    except (kube_config.ConfigException, OSError) as exc:
        raise InputError(
            f"no cluster to scan: {exc}. Name one with --cluster CONTEXT, or set a current "
            "context (kubectl config use-context)"
        ) from exc
    return [current["name"]]


def _helm(request: ScanRequest) -> Helm:
    """The request's isolated helm home, or a shared temporary one."""
    return Helm(request.helm_home or Path(tempfile.gettempdir()) / "ekslift-helm")


def _files(context: ScanContext) -> SourceResult:
    request = context.request
    options = ScanOptions(max_file_size=request.max_file_size, strict=request.strict)
    return scan_files(
        request.paths, context.facts, context.targets, options, lambda: _helm(request)
    )


def _charts(context: ScanContext) -> SourceResult:
    try:
        helm = _helm(context.request)
    except ReadError as exc:
        result = SourceResult("charts")
        result.problems.append(ScanProblem("helm", str(exc)))
        return result
    return scan_charts(helm, context.request.charts, context.facts, context.targets)


def _estate(context: ScanContext) -> SourceResult:
    request = context.request
    params = load_params(request.params_path or "")
    home = request.helm_home or Path(tempfile.mkdtemp(prefix="ekslift-helm-"))
    report = scan_estate(params, helm_home=home, facts=context.facts).report
    return SourceResult("estate", list(report.sightings), list(report.problems), dict(report.stats))


def _per_cluster(
    name: SourceName, run: Callable[[ScanContext, str, str], SourceResult]
) -> Callable[[ScanContext], SourceResult]:
    def scan(context: ScanContext) -> SourceResult:
        total = SourceResult(name)
        try:
            contexts = cluster_contexts(context.request)
        except InputError as exc:
            total.problems.append(ScanProblem("kubeconfig", str(exc)))
            return total
        eks_names = list(context.request.eks_clusters)
        names = eks_names + contexts[len(eks_names) :]
        for ctx, cluster in zip(contexts, names, strict=False):
            try:
                total.add(run(context, ctx, cluster))
            except _ERRORS as exc:
                total.problems.append(ScanProblem(f"cluster {ctx}", f"{name} not scanned: {exc}"))
        return total

    return scan


def _releases(context: ScanContext, ctx: str, cluster: str) -> SourceResult:
    return scan_releases(
        KubeReader(ctx),
        context.facts,
        context.targets,
        cluster=cluster,
        all_revisions=context.request.all_revisions,
    )


def _live(context: ScanContext, ctx: str, cluster: str) -> SourceResult:
    return scan_live(KubeReader(ctx), context.facts, context.targets, cluster=cluster)


def _insights(context: ScanContext, ctx: str, cluster: str) -> SourceResult:
    region = context.request.region or aws.session().region_name
    if not region:
        raise InputError("--insights needs --region (or AWS_DEFAULT_REGION)")
    return scan_insights(aws.client("eks", region), context.facts, context.targets, cluster=cluster)


for _source in (
    ScanSource("files", lambda request: bool(request.paths), _files),
    ScanSource("estate", lambda request: request.params_path is not None, _estate),
    ScanSource("charts", lambda request: bool(request.charts), _charts),
    ScanSource(
        "helm-release",
        lambda request: request.helm_releases,
        _per_cluster("helm-release", _releases),
    ),
    ScanSource("live", lambda request: request.live, _per_cluster("live", _live)),
    ScanSource("insights", lambda request: request.insights, _per_cluster("insights", _insights)),
):
    registry.register(_source)

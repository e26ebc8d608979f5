"""`ekslift scan` flags for the sources beyond files, and their registration with the CLI.

`--chart REF` renders charts and kustomizations; `--helm`, `--live` and `--insights` read
the clusters named with `--cluster CTX` (kubeconfig contexts; the current context when none
is given). Each cluster is scanned for the same `--target-version`, and a cluster or source
that cannot be read is an input problem (exit 1 unless a finding ranks higher), like an
unreadable file.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from kubernetes import config as kube_config

from ekslift import aws
from ekslift.apiscan.cli import ScanContext, ScanSource, SourceResult, register_source
from ekslift.apiscan.estate import scan_estate
from ekslift.apiscan.facts import TargetVersionError
from ekslift.apiscan.findings import ScanProblem
from ekslift.apiscan.sources.charts import merge_into, scan_charts
from ekslift.apiscan.sources.helm_releases import scan_releases
from ekslift.apiscan.sources.insights import scan_insights
from ekslift.apiscan.sources.live import scan_live
from ekslift.charts.helm import Helm, HelmError
from ekslift.inventory.eks import minor as eks_minor
from ekslift.kube import KubeError, KubeReader
from ekslift.params import ParamsError, load_params
from ekslift.tools import ToolError

_ERRORS = (KubeError, ClientError, BotoCoreError, HelmError, ToolError, OSError, ParamsError)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the cluster and chart flags to `ekslift scan` and register their sources."""
    parser.add_argument(
        "--chart",
        action="append",
        default=[],
        metavar="REF",
        help="render a chart (folder, .tgz, repo/chart[@version]) or kustomization for the "
        "target and scan it; may repeat",
    )
    parser.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="CTX",
        help="kubeconfig context to read with --helm/--live/--insights (default: current)",
    )
    parser.add_argument("--helm", action="store_true", help="scan Helm release records")
    parser.add_argument(
        "--all-revisions", action="store_true", help="with --helm: every stored revision"
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="scan live objects: served versions and last-applied annotations",
    )
    parser.add_argument(
        "--insights", action="store_true", help="read EKS Upgrade Insights deprecation details"
    )
    parser.add_argument("--region", help="AWS region of the clusters (for --insights)")
    parser.add_argument(
        "--eks-cluster",
        action="append",
        default=[],
        metavar="NAME",
        help="EKS cluster name per --cluster, in order, when it differs from the context",
    )
    parser.add_argument(
        "--helm-home", type=Path, default=None, help="isolated helm home (default: a temp dir)"
    )
    parser.add_argument(
        "--params",
        metavar="FILE",
        help="scan the whole estate of a parameter file, as step 2 does (its target_version "
        "is the default target)",
    )
    for source in SOURCES:
        register_source(source)


def default_target(args: argparse.Namespace) -> str | None:
    """The target when none is given: the parameter file's, or the clusters' version + 1.

    A scan of clusters on different minors has no single "next" version, so that is an
    error asking for `--target-version` rather than a guess.
    """
    if getattr(args, "params", None):
        return load_params(args.params).target_version
    if not any(getattr(args, flag, False) for flag in ("helm", "live", "insights")):
        return None
    versions = set()
    for ctx in _contexts(args):
        minor = eks_minor(KubeReader(ctx).server_version()["gitVersion"])
        versions.add(f"{minor.major}.{minor.minor + 1}")
    if len(versions) != 1:
        raise TargetVersionError(
            f"the clusters would upgrade to different versions ({', '.join(sorted(versions))}); "
            "give --target-version"
        )
    return versions.pop()


def _estate(context: ScanContext) -> SourceResult:
    params = load_params(context.args.params)
    home = context.args.helm_home or Path(tempfile.mkdtemp(prefix="ekslift-helm-"))
    scan = scan_estate(params, helm_home=home, facts=context.facts)
    return SourceResult(
        label="estate",
        findings=list(scan.report.findings),
        problems=list(scan.report.problems),
        stats=dict(scan.report.stats),
    )


def _contexts(args: argparse.Namespace) -> list[str]:
    if args.cluster:
        return list(args.cluster)
    _, current = kube_config.list_kube_config_contexts()
    return [current["name"]]


def _per_cluster(
    label: str, run: Callable[[ScanContext, str, str], SourceResult]
) -> Callable[[ScanContext], SourceResult]:
    def scan(context: ScanContext) -> SourceResult:
        total = SourceResult(label=label)
        try:
            contexts = _contexts(context.args)
        except (kube_config.ConfigException, OSError) as exc:
            total.problems.append(ScanProblem("kubeconfig", f"no cluster to scan: {exc}"))
            return total
        names = list(context.args.eks_cluster) + contexts[len(context.args.eks_cluster) :]
        for ctx, name in zip(contexts, names, strict=False):
            try:
                merge_into(total, run(context, ctx, name))
            except _ERRORS as exc:
                total.problems.append(ScanProblem(f"cluster {ctx}", f"{label} not scanned: {exc}"))
        return total

    return scan


def _releases(context: ScanContext, ctx: str, name: str) -> SourceResult:
    return scan_releases(
        KubeReader(ctx),
        context.facts,
        context.targets,
        cluster=name,
        all_revisions=context.args.all_revisions,
    )


def _live(context: ScanContext, ctx: str, name: str) -> SourceResult:
    return scan_live(KubeReader(ctx), context.facts, context.targets, cluster=name)


def _insights(context: ScanContext, ctx: str, name: str) -> SourceResult:
    region = context.args.region or aws.session().region_name
    if not region:
        raise ToolError("--insights needs --region (or AWS_DEFAULT_REGION)")
    return scan_insights(aws.client("eks", region), context.facts, context.targets, cluster=name)


def _charts(context: ScanContext) -> SourceResult:
    home = context.args.helm_home or Path(tempfile.gettempdir()) / "ekslift-helm"
    try:
        helm = Helm(home)
    except ToolError as exc:
        result = SourceResult(label="charts")
        result.problems.append(ScanProblem("helm", str(exc)))
        return result
    return scan_charts(helm, context.args.chart, context.facts, context.targets)


SOURCES = (
    ScanSource("estate", lambda args: bool(getattr(args, "params", None)), _estate),
    ScanSource("charts", lambda args: bool(getattr(args, "chart", None)), _charts),
    ScanSource(
        "helm", lambda args: bool(getattr(args, "helm", False)), _per_cluster("helm", _releases)
    ),
    ScanSource(
        "live", lambda args: bool(getattr(args, "live", False)), _per_cluster("live", _live)
    ),
    ScanSource(
        "insights",
        lambda args: bool(getattr(args, "insights", False)),
        _per_cluster("insights", _insights),
    ),
)

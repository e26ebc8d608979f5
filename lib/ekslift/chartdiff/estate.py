"""Step 3 over the whole estate: read every deployment, judge each, diff each bump.

Every cluster is judged on its own version: green (and anything headed for the target) on
the parameters' target, blue on the version its API server reports. A repository, a release
record or a value file that cannot be read is a problem of the deployments it concerns; the
others are still judged, and a repository that never answered makes the step a tool error
after everything else is archived.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ekslift.apiscan.facts import FactSet, load_facts
from ekslift.chartdiff.choose import ChoiceRules, Chooser
from ekslift.chartdiff.controllers import load_controllers
from ekslift.chartdiff.deployments import (
    EstateDeployments,
    cluster_versions,
    match_repository,
    oci_url,
    read_argocd,
    read_helm,
)
from ekslift.chartdiff.diff import ChartFiles, build_diff, declared_changes, read_chart_files
from ekslift.chartdiff.models import Deployment, Proposal
from ekslift.chartdiff.render import Renderer
from ekslift.chartdiff.renovate import RenovatePolicy, read_policy
from ekslift.chartdiff.repos import (
    ChartFetchError,
    ChartSources,
    RepositoryError,
    default_cache_dir,
)
from ekslift.charts.helm import Helm
from ekslift.estate import cluster_index, estate_clusters
from ekslift.kube import KubeReader
from ekslift.params import UpgradeParams
from ekslift.versions import parse_minor

log = logging.getLogger(__name__)
_WORKERS = 4


@dataclass
class ChartReport:
    """Every proposal of the estate, and what could not be read or judged."""

    target: str
    proposals: list[Proposal]
    problems: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def repositories(params: UpgradeParams, deployments: list[Deployment]) -> list[str]:
    """Where candidates are searched: the parameters' repositories and the apps' own."""
    urls = [r.url for r in params.chart_repositories] + [r.url for r in params.charts.repositories]
    urls += [d.repo_url for d in deployments if d.origin == "argocd" and d.repo_url]
    return list(dict.fromkeys(oci_url(u) for u in urls))


def chart_sources(params: UpgradeParams, helm: Helm, cache_dir: Path | None = None) -> ChartSources:
    plain = frozenset(
        r.url.removeprefix("oci://").split("/", 1)[0]
        for r in [*params.chart_repositories, *params.charts.repositories]
        if r.plain_http
    )
    directory = cache_dir or (
        params.resolve_path(params.charts.cache_dir)
        if params.charts.cache_dir
        else default_cache_dir()
    )
    return ChartSources(directory, helm, plain_http=plain)


def _files(sources: ChartSources, proposal: Proposal, version: str) -> ChartFiles | None:
    entry = next(
        (c.entry for c in proposal.candidates if c.version == version),
        proposal.current_check.entry
        if proposal.current_check and proposal.current == version
        else None,
    )
    if entry is None:
        return None
    try:
        return read_chart_files(sources.archive(entry))
    except (ChartFetchError, RepositoryError, OSError) as exc:
        log.warning("chart files of %s %s not read: %s", entry.name, version, exc)
        return None


def add_diff(chooser: Chooser, proposal: Proposal) -> None:
    """The diff of a pending bump, current vs proposed at the target, with green's values."""
    if not proposal.pending:
        return
    deployment = proposal.deployment
    sources, renderer = chooser.sources, chooser.renderer
    new = _files(sources, proposal, proposal.proposed)
    if new is None:
        return
    old = _files(sources, proposal, proposal.current)
    values = deployment.green[0].values if deployment.green else {}
    objects = None
    proposed_check = next(c for c in proposal.candidates if c.version == proposal.proposed)
    compared_at = proposal.target
    if proposal.current_check is not None:
        try:
            current_archive = sources.archive(proposal.current_check.entry)
            proposed_archive = sources.archive(proposed_check.entry)
            kube = chooser.rules.target
            current = renderer.render(
                current_archive,
                proposal.current,
                kube,
                release=deployment.release,
                namespace=deployment.namespace,
                values=values,
            )
            if not current.check.ok and deployment.blue and deployment.blue[0].kube_version:
                # The current version may not render for the target at all: compare with
                # its render for blue's version, and say so.
                kube = deployment.blue[0].kube_version
                compared_at = f"current at {kube}, proposed at {proposal.target}"
                current = renderer.render(
                    current_archive,
                    proposal.current,
                    kube,
                    release=deployment.release,
                    namespace=deployment.namespace,
                    values=values,
                )
            proposed = renderer.render(
                proposed_archive,
                proposal.proposed,
                chooser.rules.target,
                release=deployment.release,
                namespace=deployment.namespace,
                values=values,
            )
            if current.objects and proposed.objects:
                objects = (current.objects, proposed.objects)
        except (ChartFetchError, RepositoryError) as exc:
            log.warning("renders of %s not compared: %s", deployment.label, exc)
    diff = build_diff(
        proposal.current, proposal.proposed, old, new, values, objects, deployment.namespace
    )
    diff.compared_at = compared_at
    target = proposed_check.target
    if target is not None:
        diff.scan = [f"removed: {a}" for a in target.removed] + [
            f"deprecated: {a}" for a in target.deprecated
        ]
    entries = [c.entry for c in proposal.candidates]
    diff.declared_changes = declared_changes(
        entries, new.changelog, proposal.current, proposal.proposed
    )
    proposal.diff = diff


def read_deployments(params: UpgradeParams, sources: ChartSources) -> EstateDeployments:
    """Every chart deployment of the estate, each matched to its repository."""
    out = EstateDeployments()
    clusters = estate_clusters(params)
    cluster_versions(clusters, out)
    index = cluster_index(params)
    if params.argocd is not None:
        checkout = params.resolve_path(params.gitops.checkout) if params.gitops else None
        read_argocd(
            KubeReader(params.argocd.kube_context), params.argocd.namespace, index, checkout, out
        )
    for where in clusters:
        read_helm(where, out)
    repos = repositories(params, out.deployments)
    for deployment in out.deployments:
        if deployment.origin == "helm" and deployment.chart != "?":
            match_repository(deployment, repos, params.charts.sources, sources)
    return out


def analyse(
    params: UpgradeParams,
    *,
    helm_home: Path,
    cache_dir: Path | None = None,
    facts: FactSet | None = None,
    now: datetime | None = None,
) -> ChartReport:
    """Step 3 for the parameters' estate and target."""
    facts = facts or load_facts([params.resolve_path(f) for f in params.scan.extra_facts])
    helm = Helm(helm_home)
    sources = chart_sources(params, helm, cache_dir)
    policy = (
        read_policy(params.resolve_path(params.charts.renovate_config))
        if params.charts.renovate_config
        else RenovatePolicy()
    )
    rules = ChoiceRules(
        target=parse_minor(params.target_version),
        now=now or datetime.now(UTC),
        min_age_days=params.charts.min_release_age_days,
        prereleases=params.charts.prereleases,
        policy=policy,
    )
    chooser = Chooser(sources, Renderer(helm, facts), load_controllers(), rules)
    read = read_deployments(params, sources)
    return judge_deployments(chooser, read)


def judge_deployments(chooser: Chooser, read: EstateDeployments) -> ChartReport:
    """Proposals (with diffs) for deployments already read, in parallel."""

    def one(deployment: Deployment) -> Proposal:
        proposal = chooser.choose(deployment)
        add_diff(chooser, proposal)
        return proposal

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        proposals = list(pool.map(one, read.deployments))
    proposals.sort(
        key=lambda p: (p.deployment.region or "~", p.deployment.namespace, p.deployment.release)
    )
    incomplete = list(read.incomplete)
    incomplete += sorted({p.not_judged for p in proposals if p.unreachable})
    stats = {**chooser.sources.stats, "renders": chooser.renderer.renders}
    return ChartReport(
        target=str(chooser.rules.target),
        proposals=proposals,
        problems=read.problems,
        incomplete=incomplete,
        stats=stats,
    )

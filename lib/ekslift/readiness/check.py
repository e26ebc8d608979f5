"""Readiness end to end for one region at one share: read AWS and both clusters, judge, report.

Step 1 calls `check_estate` (every region, each at the share after the ALB's current one);
step 4 calls `check(params, region, share)` with the share it is about to set, and
`verify_plans` after each change. A refusal (403, AccessDenied) is a finding of its own
and the checks that needed that read say nothing rather than pass; an API that never
answered makes the report incomplete (the step then ends as a tool error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from ekslift import argocd, aws
from ekslift.errors import ApiReadError
from ekslift.estate import cluster_index
from ekslift.gate import Finding
from ekslift.kube import KubeReader
from ekslift.metrics.cloudwatch import request_counts
from ekslift.params import AlbTraffic, Color, ReadinessParams, RegionParams, UpgradeParams
from ekslift.readiness import (
    capacity,
    change,
    classify,
    identity,
    network,
    plans,
    read_aws,
    read_kube,
    traffic,
)
from ekslift.readiness.models import ClusterFacts, RegionFacts, TrafficHistory
from ekslift.readiness.rows import (
    CheckRow,
    ClassifiedWorkload,
    EstateReadiness,
    ReadinessReport,
)

T = TypeVar("T")
PERIOD_SECONDS = 300
COLORS: tuple[Color, ...] = ("blue", "green")


def _guard(facts: RegionFacts, area: str, read: Callable[[], T]) -> T | None:
    """Run one read; a refusal is remembered as a problem, silence as unreachable."""
    try:
        return read()
    except ApiReadError as exc:
        if exc.unreachable:
            facts.unreachable.append(f"{facts.region} {area}: {exc}")
        else:
            facts.problems[area] = str(exc)
        return None


def _alb(region: RegionParams) -> AlbTraffic:
    if region.traffic is None or region.traffic.alb is None:
        raise ValueError(f"region {region.name}: readiness needs traffic.alb in the parameters")
    return region.traffic.alb


def next_share(region: RegionParams, current: int | None) -> int:
    """The step after the ALB's current share (the first step above 0 if unknown)."""
    steps = region.traffic.steps if region.traffic else [0, 100]
    after = [s for s in steps if s > (current or 0)]
    return after[0] if after else steps[-1]


def _read_kube(params: UpgradeParams, region: RegionParams, facts: RegionFacts) -> None:
    def one(role: Color) -> ClusterFacts | None:
        ref = region.clusters()[role]
        return _guard(
            facts,
            f"{role} cluster",
            lambda: read_kube.read_cluster(KubeReader(ref.kube_context), role, facts.problems),
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        for role, kube in zip(COLORS, pool.map(one, COLORS), strict=True):
            if kube is not None:
                facts.kube[role] = kube


def _read_argocd(params: UpgradeParams, facts: RegionFacts) -> None:
    if params.argocd is not None:
        argo = params.argocd
        mgmt = KubeReader(argo.kube_context)
        facts.apps = _guard(
            facts,
            "argocd applications",
            lambda: argocd.read_applications(mgmt, argo.namespace, cluster_index(params)),
        )
        facts.sync_windows = _guard(
            facts, "argocd appprojects", lambda: read_kube.read_sync_windows(mgmt, argo.namespace)
        )


def _read_aws(
    params: UpgradeParams, region: RegionParams, facts: RegionFacts, now: datetime
) -> None:
    name, profile = region.name, params.aws.profile
    alb = _alb(region)
    readiness = params.readiness

    def client(service: str) -> Any:
        return aws.client(service, name, profile)

    eks, elbv2, ec2, iam = client("eks"), client("elbv2"), client("ec2"), client("iam")
    for color in COLORS:
        eks_name = region.clusters()[color].eks_cluster
        cluster = _guard(facts, f"eks {color}", partial(read_aws.read_eks_cluster, eks, eks_name))
        if cluster is not None:
            facts.clusters[color] = cluster
    groups = {alb.blue_target_group_arn, alb.green_target_group_arn}
    found = _guard(facts, "load balancers", lambda: read_aws.read_forward_actions(elbv2, groups))
    if found is not None:
        facts.forward_actions, facts.load_balancers = found
        listener = next((a for a in found[0] if a.listener_arn == alb.listener_arn), None)
        facts.load_balancer = found[1].get(listener.load_balancer_arn) if listener else None
        facts.current_share = traffic.current_share(found[0], alb)
    subnets = _guard(
        facts,
        "subnets",
        lambda: {
            role: read_aws.read_subnets(ec2, list(facts.clusters[role].subnet_ids))
            for role in COLORS
            if role in facts.clusters
        },
    )
    facts.subnets = subnets
    every_subnet = [s for rows in (subnets or {}).values() for s in rows]
    own: dict[Color, str] = {"blue": alb.blue_target_group_arn, "green": alb.green_target_group_arn}
    facts.target_health = _guard(
        facts,
        "target health",
        lambda: {
            role: read_aws.read_target_health(elbv2, own[role], every_subnet) for role in COLORS
        },
    )
    if facts.target_health is not None:
        facts.registered_targets = sum(len(t) for t in facts.target_health.values())
    facts.vcpu_quota = _guard(
        facts, "service quotas", lambda: read_aws.read_vcpu_quota(client("service-quotas"))
    )
    facts.targets_per_alb = _guard(
        facts, "elbv2 account limits", lambda: read_aws.read_targets_limit(elbv2)
    )
    facts.pod_identity = _guard(
        facts,
        "pod identity",
        lambda: {
            role: read_aws.read_pod_identity(eks, region.clusters()[role].eks_cluster)
            for role in COLORS
        },
    )
    facts.access_entries = _guard(
        facts,
        "access entries",
        lambda: {
            role: read_aws.read_access_entries(eks, region.clusters()[role].eks_cluster)
            for role in COLORS
        },
    )
    blue_kube = facts.kube.get("blue")
    if blue_kube is not None and blue_kube.service_accounts:
        facts.oidc_providers = _guard(
            facts, "oidc providers", lambda: read_aws.read_oidc_providers(iam)
        )
    role_arns = {sa.role_arn for sa in (blue_kube.service_accounts or [] if blue_kube else [])}
    role_arns |= {p.role_arn for p in (facts.pod_identity or {}).get("green", [])}
    for arn in sorted(role_arns):
        area = f"iam role {arn.rsplit('/', 1)[-1]}"
        found_role = _guard(facts, area, partial(read_aws.read_role, iam, arn))
        if area not in facts.problems:
            facts.roles[arn] = found_role
    facts.guarded_groups = _guard(
        facts,
        "database security groups",
        lambda: read_aws.read_guarded_groups(
            ec2, client("rds"), client("elasticache"), readiness.database_security_groups
        ),
    )
    facts.nat_ips = _guard(
        facts,
        "nat gateways",
        lambda: {
            role: read_aws.read_nat_ips(ec2, list(facts.clusters[role].subnet_ids))
            for role in COLORS
            if role in facts.clusters
        },
    )
    facts.history = _guard(
        facts,
        "cloudwatch",
        lambda: _history(client("cloudwatch"), facts, alb, readiness.peak_lookback_days, now),
    )


def _history(
    cloudwatch: Any, facts: RegionFacts, alb: AlbTraffic, days: int, now: datetime
) -> TrafficHistory:
    balancers = sorted({a.load_balancer_arn for a in facts.forward_actions or []}) or (
        [facts.load_balancer.arn] if facts.load_balancer else []
    )
    own: dict[Color, str] = {"blue": alb.blue_target_group_arn, "green": alb.green_target_group_arn}
    pairs = [(lb, tg) for lb in balancers for tg in own.values()]
    series = request_counts(cloudwatch, pairs, now - timedelta(days=days), now, PERIOD_SECONDS)
    return TrafficHistory(
        PERIOD_SECONDS,
        {role: series[tg].points if tg in series else [] for role, tg in own.items()},
    )


def _unreadable(facts: RegionFacts) -> list[CheckRow]:
    return [
        CheckRow(
            facts.region,
            "reads",
            "unreadable",
            area.replace(" ", "-"),
            "fail",
            message,
            action="grant the read permission named (README: Cutover readiness); the checks "
            "that need it cannot vouch for green until then",
        )
        for area, message in sorted(facts.problems.items())
    ]


def read(params: UpgradeParams, region_name: str, now: datetime | None = None) -> RegionFacts:
    """Every fact readiness judges, for one region."""
    now = now or datetime.now(UTC)
    region = params.region(region_name)
    aws.configure_from(params.aws)
    facts = RegionFacts(region=region.name, share=0)
    _read_kube(params, region, facts)
    _read_argocd(params, facts)
    _read_aws(params, region, facts, now)
    return facts


def _classified(
    facts: RegionFacts, alb: AlbTraffic, readiness: ReadinessParams
) -> list[ClassifiedWorkload]:
    own: dict[Color, str] = {"blue": alb.blue_target_group_arn, "green": alb.green_target_group_arn}
    return [
        row
        for role, kube in facts.kube.items()
        for row in classify.classify(facts.region, kube, own[role], readiness)
    ]


def judge(
    facts: RegionFacts,
    params: UpgradeParams,
    share: int,
    now: datetime,
    sized_from: Mapping[str, float] | None = None,
) -> ReadinessReport:
    """Facts in, a report out: every check's rows, the workloads' classes, the forward set.
    ``sized_from``: see :func:`ekslift.readiness.capacity.judge`."""
    region = params.region(facts.region)
    alb = _alb(region)
    readiness = params.readiness
    facts.share = share
    workloads = _classified(facts, alb, readiness)
    rows = _unreadable(facts)
    lag = timedelta(minutes=params.metrics.cloudwatch.lag_minutes)
    sized = capacity.judge(facts, region, readiness, share, now, lag, sized_from)
    rows += sized.rows
    rows += traffic.judge_weights(facts, region, readiness)
    rows += traffic.judge_bindings(facts, region)
    rows += traffic.judge_health(facts, region, readiness.min_healthy_per_az)
    rows += change.judge_versions(facts, region, readiness)
    rows += change.judge_sync_windows(facts)
    rows += identity.judge(facts, readiness)
    rows += network.judge(facts)
    rows += plans.judge_presence(facts.region, workloads, readiness.cutover_plans)
    rows += plans.verify(facts, readiness.cutover_plans, facts.current_share or 0, workloads)
    return ReadinessReport(
        region=facts.region,
        share=share,
        current_share=facts.current_share,
        rows=rows,
        workloads=workloads,
        forward_actions=traffic.forward_set(facts, alb),
        incomplete=list(facts.unreachable),
        per_replica=sized.per_replica,
    )


def check(
    params: UpgradeParams,
    region: str,
    share: int | None = None,
    *,
    now: datetime | None = None,
    sized_from: Mapping[str, float] | None = None,
) -> ReadinessReport:
    """Is the region ready for `share` % on green (default: the step after the ALB's
    current share)? Step 4 calls this with the next share before every weight change, with
    the throughput per replica its check before the first change found (``sized_from``)."""
    now = now or datetime.now(UTC)
    facts = read(params, region, now)
    target = share if share is not None else next_share(params.region(region), facts.current_share)
    return judge(facts, params, target, now, sized_from)


def check_estate(params: UpgradeParams, share: int | None = None) -> EstateReadiness:
    """Every region with an ALB in the parameters, as step 1 reports it."""
    return EstateReadiness(
        [
            check(params, region.name, share)
            for region in params.regions
            if region.traffic is not None and region.traffic.alb is not None
        ]
    )


def verify_plans(params: UpgradeParams, region: str, share: int) -> list[Finding]:
    """The cutover plans' state in both clusters at `share` (step 4, after each change).

    Reads only the two clusters, so it is cheap enough to run between steps.
    """
    region_params = params.region(region)
    alb = _alb(region_params)
    facts = RegionFacts(region=region, share=share)
    _read_kube(params, region_params, facts)
    workloads = _classified(facts, alb, params.readiness)
    rows = _unreadable(facts) + plans.verify(
        facts, params.readiness.cutover_plans, share, workloads
    )
    rows += [
        CheckRow(
            region, "reads", "unreachable", item.split(":", 1)[0].replace(" ", "-"), "fail", item
        )
        for item in facts.unreachable
    ]
    return [f for row in rows if (f := row.finding(share)) is not None]

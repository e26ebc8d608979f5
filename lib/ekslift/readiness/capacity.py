"""Can green take the next share at the peak, and can blue take everything back?

Sized for the peak over the soak and the rollback window, not for now: the highest request
rate of the last `peak_lookback_days` days at the hours the cutover will run (now until now +
soaks + rollback window, on each earlier day). A replica's throughput is what blue does now
(its target group's rate over its ready replicas), so green needs `share × peak / that` and
blue keeps a floor of `peak / that` until it is retired. No datapoints means "unknown", and
unknown fails: silence in the metrics is not idle traffic.

Once green carries part of the traffic, blue's replicas (held at their floor) each serve
less, and "what blue does now" would understate a replica: at 50 % it would ask green for
twice the replicas at 100 %, and blue for twice its floor. So step 4 passes the throughput
measured before its first change, while blue carried everything (``sized_from``), and later
checks size from the larger of that and blue's now: each is a rate blue's replicas really
served, and one measurement alone, taken when traffic dipped, would hold for the whole shift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ekslift.params import Color, ReadinessParams, RegionParams
from ekslift.readiness.classify import served
from ekslift.readiness.models import Autoscaler, ClusterFacts, RegionFacts, TrafficHistory, Workload
from ekslift.readiness.rows import CheckRow, Status

NOW_WINDOW = timedelta(minutes=30)
SCALE_DOWN_OFF = "--scale-down-enabled=false"


@dataclass(frozen=True)
class Rates:
    """Requests per second: blue's now, and both colours' peak at the cutover's hours."""

    blue_now: float
    peak: float
    peak_at: datetime


def horizon(region: RegionParams, readiness: ReadinessParams) -> timedelta:
    """How long the cutover can still take: every soak, then the rollback window."""
    traffic = region.traffic
    soaks = traffic.soak_seconds * len(traffic.steps) if traffic else 0
    return timedelta(seconds=soaks, minutes=readiness.rollback_window_minutes)


def rates(
    history: TrafficHistory, now: datetime, ahead: timedelta, days: int, lag: timedelta
) -> tuple[Rates | None, str]:
    """The rates, or None and why they cannot be known. ``lag``: how late CloudWatch
    publishes (and revises) a minute, ``metrics.cloudwatch.lag_minutes``."""
    period = history.period_seconds
    # Whole periods only: the one under way (and one CloudWatch is still filling) holds a
    # fraction of its requests, and averaging it in would make blue's replicas look slower
    # than they are, and green's need larger.
    settled = now - lag
    blue_recent = [
        v
        for t, v in history.points["blue"]
        if settled - NOW_WINDOW <= t and t + timedelta(seconds=period) <= settled
    ]
    if not blue_recent or sum(blue_recent) <= 0:
        return None, (
            "blue's target group has no RequestCount datapoints in the 30 minutes before the "
            f"last {lag.total_seconds() / 60:.0f} (CloudWatch's delay)"
        )
    totals: dict[datetime, float] = {}
    colors: tuple[Color, ...] = ("blue", "green")
    for color in colors:
        for t, v in history.points[color]:
            totals[t] = totals.get(t, 0.0) + v
    windows = [
        (now - timedelta(days=d), now - timedelta(days=d) + ahead) for d in range(1, days + 1)
    ]
    inside = [(v, t) for t, v in totals.items() if any(a <= t < b for a, b in windows)]
    if not inside:
        return None, (
            f"no RequestCount datapoints at these hours on any of the last {days} days "
            "(no data is not low traffic)"
        )
    peak, at = max(inside)
    blue_now = sum(blue_recent) / len(blue_recent) / period
    return Rates(blue_now, peak / period, at), ""


def _autoscaler_of(kube: ClusterFacts, workload: Workload) -> Autoscaler | None:
    return next(
        (
            a
            for a in kube.autoscalers or []
            if a.namespace == workload.namespace
            and a.target == f"{workload.kind}/{workload.name}"
            and a.kind != "ScaledJob"
        ),
        None,
    )


def needed(per_replica: float, share: int, r: Rates) -> int:
    """Replicas that serve `share` % of the peak at `per_replica` requests/s each."""
    if share == 0:
        return 0
    return math.ceil(r.peak * share / 100 / per_replica - 1e-9)


@dataclass(frozen=True)
class Capacity:
    """The capacity rows, and the requests/s per ready blue replica each workload was
    sized from (what step 4 keeps from its check before the first change)."""

    rows: list[CheckRow]
    per_replica: dict[str, float]


def judge(
    facts: RegionFacts,
    region: RegionParams,
    readiness: ReadinessParams,
    share: int,
    now: datetime,
    lag: timedelta,
    sized_from: Mapping[str, float] | None = None,
) -> Capacity:
    """``sized_from``: requests/s per blue replica measured while blue carried everything;
    while green carries traffic (``facts.current_share`` above 0) a workload it names is
    sized from the larger of it and blue's rate now. At 0 % blue's rate now is the measure."""
    alb = region.traffic.alb if region.traffic else None
    blue, green = facts.kube.get("blue"), facts.kube.get("green")
    if alb is None or blue is None or green is None or facts.history is None:
        return Capacity([], {})
    rows: list[CheckRow] = []
    used: dict[str, float] = {}
    earlier = sized_from if sized_from and (facts.current_share or 0) > 0 else {}

    def row(check: str, obj: str, status: Status, observed: str, **kw: Any) -> None:
        rows.append(CheckRow(facts.region, "capacity", check, obj, status, observed, **kw))

    ahead, days = horizon(region, readiness), readiness.peak_lookback_days
    r, why = rates(facts.history, now, ahead, days, lag)
    if r is None:
        row(
            "traffic-history",
            alb.blue_target_group_arn.split("/")[-2],
            "fail",
            why,
            expected="RequestCount history to size green and blue for the peak",
            action="check the ALB's CloudWatch metrics (and cloudwatch:GetMetricData); "
            "without them capacity cannot be judged",
        )
        return Capacity(rows, used)
    row(
        "traffic-history",
        alb.blue_target_group_arn.split("/")[-2],
        "ok",
        f"peak {r.peak:.1f} req/s at {r.peak_at:%a %H:%M} UTC; blue now {r.blue_now:.1f} req/s"
        + (
            f"; a replica's throughput is the larger of blue's now and before green's "
            f"{facts.current_share} %"
            if earlier
            else ""
        ),
    )
    refs = sorted(
        served(blue, alb.blue_target_group_arn, readiness.request_path)
        | served(green, alb.green_target_group_arn, readiness.request_path)
    )
    extra_cpu = extra_memory = extra_pods = 0
    for ref in refs:
        b, g = blue.workload(ref), green.workload(ref)
        if b is None or b.ready == 0:
            row(
                "capacity",
                ref,
                "fail",
                "blue has no ready replicas to size from",
                action="compare the request path in readiness.request_path with blue",
            )
            continue
        used[ref] = max(earlier.get(ref, 0.0), r.blue_now / b.ready)
        want = needed(used[ref], share, r)
        if g is None:
            row(
                "capacity",
                ref,
                "fail",
                "missing on green",
                expected=f"{want} ready replicas",
                action=f"deploy {ref} to green",
                role="green",
            )
            continue
        scaler = _autoscaler_of(green, g)
        ceiling = scaler.max_replicas if scaler else g.replicas
        if g.ready >= want:
            row(
                "capacity", ref, "ok", f"green {g.ready} ready ≥ {want} for {share} %", role="green"
            )
        else:
            extra_pods += want - g.ready
            extra_cpu += (want - g.ready) * g.cpu_request_m
            extra_memory += (want - g.ready) * g.memory_request
            row(
                "capacity",
                ref,
                "fail",
                f"green has {g.ready} ready replica(s); {share} % of the peak needs {want} "
                "(autoscalers take minutes)",
                expected=f"{want} ready before the step",
                action=(
                    f"in Git, raise minReplicas of green's {scaler.kind} {scaler.name} to {want}"
                    if scaler
                    else f"in Git, set replicas of green's {ref} to {want}"
                )
                + f" before moving to {share} %",
                role="green",
            )
        if ceiling < want:
            row(
                "autoscaler-max",
                ref,
                "fail",
                f"green can scale to {ceiling} replica(s) at most; {share} % of the peak needs "
                f"{want}",
                expected=f"max ≥ {want}",
                action=f"in Git, raise green's {scaler.kind if scaler else 'replicas'} "
                f"maximum for {ref} to at least {want}",
                role="green",
            )
        rows.extend(_blue_floor(facts.region, blue, b, needed(used[ref], 100, r)))
    rows.extend(_nodes_and_quotas(facts, green, blue, extra_pods, extra_cpu, extra_memory))
    rows.extend(_blue_nodes(facts.region, blue))
    return Capacity(rows, used)


def _blue_floor(region: str, blue: ClusterFacts, b: Workload, floor: int) -> list[CheckRow]:
    scaler = _autoscaler_of(blue, b)
    low = scaler.min_replicas if scaler else b.replicas
    if low >= floor:
        return [
            CheckRow(
                region,
                "capacity",
                "blue-floor",
                b.ref,
                "ok",
                f"blue floor {low} ≥ {floor}",
                role="blue",
            )
        ]
    return [
        CheckRow(
            region,
            "capacity",
            "blue-floor",
            b.ref,
            "fail",
            f"blue can shrink to {low} replica(s) while traffic leaves it; a rollback at the "
            f"peak needs {floor}",
            expected=f"floor ≥ {floor} until blue is retired",
            action=(
                f"in Git, set minReplicas: {floor} on blue's {scaler.kind} {scaler.name}"
                if scaler
                else f"in Git, keep replicas: {floor} on blue's {b.ref}"
            )
            + " until blue is retired",
            role="blue",
        )
    ]


def _blue_nodes(region: str, blue: ClusterFacts) -> list[CheckRow]:
    """Blue's nodes must not be scaled down as its pods leave, or the floor has nowhere to go."""
    rows = []
    for w in blue.workloads or []:
        if "cluster-autoscaler" in w.name and w.replicas > 0:
            off = SCALE_DOWN_OFF in w.args
            rows.append(
                CheckRow(
                    region,
                    "capacity",
                    "blue-scale-down",
                    w.ref,
                    "ok" if off else "fail",
                    "cluster-autoscaler scale-down is off"
                    if off
                    else "cluster-autoscaler may remove blue's nodes as traffic leaves",
                    expected=f"{SCALE_DOWN_OFF} on blue",
                    action=f"in Git, add {SCALE_DOWN_OFF} to blue's cluster-autoscaler args "
                    "until blue is retired",
                    role="blue",
                )
            )
    for pool in blue.nodepools or []:
        rows.append(
            CheckRow(
                region,
                "capacity",
                "blue-disruption",
                pool.name,
                "ok" if pool.no_disruption else "fail",
                "disruption budget 0"
                if pool.no_disruption
                else "Karpenter may consolidate blue's nodes as traffic leaves",
                expected='spec.disruption.budgets: [{nodes: "0"}]',
                action=f'in Git, set spec.disruption.budgets to [{{nodes: "0"}}] on blue\'s '
                f"NodePool {pool.name} until blue is retired",
                role="blue",
            )
        )
    return rows


def _nodes_and_quotas(
    facts: RegionFacts,
    green: ClusterFacts,
    blue: ClusterFacts,
    extra_pods: int,
    extra_cpu: int,
    extra_memory: int,
) -> list[CheckRow]:
    region = facts.region
    rows: list[CheckRow] = []
    nodes = green.nodes
    new_vcpus = 0
    if nodes is not None:
        free_cpu = nodes.allocatable_cpu_m - nodes.requested_cpu_m
        free_memory = nodes.allocatable_memory - nodes.requested_memory
        pools = green.nodepools or []
        unlimited = any(p.cpu_limit_m is None for p in pools)
        pool_room = sum(max(0, (p.cpu_limit_m or 0) - p.cpu_used_m) for p in pools)
        short_cpu = max(0, extra_cpu - free_cpu)
        short_memory = max(0, extra_memory - free_memory)
        fits = (short_cpu == 0 and short_memory == 0) or unlimited or short_cpu <= pool_room
        new_vcpus = math.ceil(short_cpu / 1000)
        rows.append(
            CheckRow(
                region,
                "capacity",
                "node-headroom",
                green.context,
                "ok" if fits else "fail",
                f"{extra_pods} new pod(s) need {extra_cpu} m CPU / {extra_memory // 2**20} Mi; "
                f"free on nodes {free_cpu} m / {free_memory // 2**20} Mi"
                + (
                    f"; under NodePool limits {'unlimited' if unlimited else f'{pool_room} m'}"
                    if pools
                    else "; no Karpenter NodePools"
                ),
                expected=f"{extra_cpu} m CPU schedulable",
                action="in Git, raise green's NodePool limits.cpu or node group max size by "
                f"{short_cpu - pool_room} m CPU",
                role="green",
            )
        )
    free_ips = sum(s.available_ips for s in (facts.subnets or {}).get("green", []))
    if facts.subnets is not None:
        per_node = max(1, nodes.allocatable_cpu_m // max(1, nodes.count)) if nodes else 1000
        new_nodes = math.ceil(new_vcpus * 1000 / per_node) if new_vcpus else 0
        wanted_ips = extra_pods + new_nodes
        rows.append(
            CheckRow(
                region,
                "capacity",
                "subnet-ips",
                green.context,
                "ok" if free_ips >= wanted_ips else "fail",
                f"{free_ips} free IP(s) in green's subnets; {wanted_ips} needed "
                f"({extra_pods} pods, {new_nodes} nodes)",
                expected=f"≥ {wanted_ips} free IPs",
                action="add subnets (or a secondary CIDR) to green: both clusters share the VPC",
                role="green",
            )
        )
    if facts.vcpu_quota is not None and blue.nodes is not None and nodes is not None:
        used = blue.nodes.on_demand_vcpus + nodes.on_demand_vcpus
        rows.append(
            CheckRow(
                region,
                "capacity",
                "vcpu-quota",
                "L-1216C47A",
                "ok" if used + new_vcpus <= facts.vcpu_quota else "fail",
                f"blue and green run {used} on-demand vCPUs, +{new_vcpus} for this share; "
                f"quota {facts.vcpu_quota:g} (other instances of the account not counted)",
                expected=f"≥ {used + new_vcpus} vCPUs",
                action="request a Service Quotas increase of L-1216C47A in this region",
            )
        )
    if facts.targets_per_alb is not None and facts.registered_targets is not None:
        total = facts.registered_targets + extra_pods
        rows.append(
            CheckRow(
                region,
                "capacity",
                "alb-targets",
                facts.load_balancer.name if facts.load_balancer else "alb",
                "ok" if total <= facts.targets_per_alb else "fail",
                f"{facts.registered_targets} target(s) registered, +{extra_pods} for this "
                f"share; limit {facts.targets_per_alb} per load balancer",
                expected=f"≤ {facts.targets_per_alb}",
                action="request a quota increase of targets per Application Load Balancer",
            )
        )
    return rows

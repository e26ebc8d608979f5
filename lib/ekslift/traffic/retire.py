"""Retire blue: take its target group out of the forward set once nobody can reach it.

Only after the bake passed (the region's shift ended `shifted`) and blue's RequestCount has
been 0 for its deregistration delay plus the longest stickiness of the set: a sticky client
could otherwise still be pinned to blue. The change must then be made in the
infrastructure code too, or the next `terraform apply` puts blue back (or fails).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError
from ekslift.metrics.backends import backend_for
from ekslift.params import AlbTraffic, RegionParams, UpgradeParams
from ekslift.traffic.actions import ActionList, ForwardAction, ForwardSet, read_action
from ekslift.traffic.metrics_source import BackendSource
from ekslift.traffic.state import Record, region_view


@dataclass(frozen=True)
class RetirePlan:
    region: str
    ready: bool
    reasons: tuple[str, ...]
    quiet_seconds: int
    changes: tuple[tuple[str, str], ...]  # (arn, new actions as JSON)
    infrastructure_change: str
    delete: tuple[str, ...]


def without_blue(action: ForwardAction, alb: AlbTraffic) -> ActionList:
    """The action forwarding to green alone, everything else as read."""
    new = [dict(a) for a in action.reweighted(alb, 100)]
    for item in new:
        if item.get("Type") == "forward":
            config = dict(item["ForwardConfig"])
            config["TargetGroups"] = [
                g
                for g in config["TargetGroups"]
                if g["TargetGroupArn"] != alb.blue_target_group_arn
            ]
            item["ForwardConfig"] = config
    return new


def _quiet_seconds(region: str, alb: AlbTraffic, found: ForwardSet, profile: str | None) -> int:
    elb = aws.client("elbv2", region, profile)
    try:
        attributes = {
            a["Key"]: a["Value"]
            for a in elb.describe_target_group_attributes(TargetGroupArn=alb.blue_target_group_arn)[
                "Attributes"
            ]
        }
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(
            exc, f"DescribeTargetGroupAttributes {alb.blue_target_group_arn}"
        ) from exc
    delay = int(attributes.get("deregistration_delay.timeout_seconds", 300))
    sticky = [
        int(
            item.get("ForwardConfig", {})
            .get("TargetGroupStickinessConfig", {})
            .get("DurationSeconds", 0)
        )
        for action in found.actions
        for item in action.actions
        if item.get("ForwardConfig", {}).get("TargetGroupStickinessConfig", {}).get("Enabled")
    ]
    if attributes.get("stickiness.enabled") == "true":
        sticky.append(int(attributes.get("stickiness.lb_cookie.duration_seconds", 0)))
    return delay + max(sticky, default=0)


def plan_retire(
    params: UpgradeParams,
    region: RegionParams,
    found: ForwardSet,
    records: list[Record],
    now: datetime,
) -> RetirePlan:
    assert region.traffic is not None and region.traffic.alb is not None
    alb = region.traffic.alb
    reasons = []
    view = region_view(records, region.name)
    if view.status != "shifted":
        reasons.append(f"the shift has not ended on green with its bake passed ({view.status})")
    if found.share(alb) != 100:
        reasons.append(f"AWS shows {found.shares(alb)} % green, not 100 % everywhere")
    quiet = _quiet_seconds(region.name, alb, found, params.aws.profile)
    at_100 = [r.time for r in records if r.kind == "applied" and r.data.get("share") == 100]
    if not at_100 or now - at_100[-1] < timedelta(seconds=quiet):
        reasons.append(
            f"100 % green for less than the deregistration delay plus stickiness ({quiet} s)"
        )
    # Live traffic, never a sandbox replay: the last complete minutes covering `quiet`.
    source = BackendSource(backend_for(params))
    end = source.complete_until(now)
    minutes = max(math.ceil(quiet / 60), 1)
    window = source.window(region, end - timedelta(minutes=minutes), end, 1.0, now=now)
    blue_requests = float(np.nansum(window.requests(window.blue)))
    if blue_requests > 0:
        reasons.append(
            f"blue still received {blue_requests:.0f} requests in the {minutes} complete "
            f"minute(s) before {end:%H:%M} UTC"
        )
    changes = tuple(
        (a.arn, json.dumps(without_blue(a, alb), separators=(",", ":"), sort_keys=True))
        for a in found.actions
    )
    blue_name = alb.blue_target_group_arn.split("/")[-2]
    infrastructure = (
        f"In the infrastructure code that owns {len(found.actions)} forward action(s) "
        f"({', '.join(a.arn.split('/')[-1] for a in found.actions)}): forward to green's target "
        f"group {alb.green_target_group_arn} alone and delete the blue target group "
        f"`{blue_name}`, so the next `terraform apply` agrees with AWS (plan must show no change "
        "to the listener)."
    )
    delete = (
        f"blue's TargetGroupBinding for {blue_name} in cluster {region.blue.eks_cluster} "
        "(in Git, before the cluster, or its controller deregisters from a deleted group)",
        f"the target group {blue_name} (infrastructure code)",
        f"the blue cluster {region.blue.eks_cluster} once nothing forwards to it",
    )
    return RetirePlan(
        region.name, not reasons, tuple(reasons), quiet, changes, infrastructure, delete
    )


def retire(
    params: UpgradeParams, region: RegionParams, found: ForwardSet, plan: RetirePlan
) -> list[str]:
    """Write the set without blue and read each action back; returns the problems."""
    assert plan.ready and region.traffic is not None and region.traffic.alb is not None
    alb = region.traffic.alb
    elb = aws.client("elbv2", region.name, params.aws.profile)
    problems = []
    for action in found.actions:
        new = without_blue(action, alb)
        try:
            if action.kind == "listener":
                elb.modify_listener(ListenerArn=action.arn, DefaultActions=new)
            else:
                elb.modify_rule(RuleArn=action.arn, Actions=new)
        except (ClientError, BotoCoreError) as exc:
            problems.append(str(AwsError.wrap(exc, f"retiring blue from {action.arn}")))
            continue
        back = read_action(region.name, action, params.aws.profile)
        if list(back.actions) != new:
            problems.append(f"{action.arn} reads back {json.dumps(list(back.actions))}")
    return problems

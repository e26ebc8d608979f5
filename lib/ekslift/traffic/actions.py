"""The forward actions that name blue's target group: read, reweighted, written, read back.

This is the one place that reads the set (``read_forward_set``), so cutover readiness can
provide its own reading later without the shift changing. Every write replaces only the
weights of the two target groups inside the forward action: other actions
(authenticate-*, redirects before it), other target groups, stickiness and a rule's
conditions are sent back exactly as read (a rule's conditions are not even sent: ModifyRule
keeps what it is not given).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shlex
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError, InputError
from ekslift.params import AlbTraffic, RegionParams

ActionList = list[dict[str, Any]]
WEIGHT_TOTAL = 100


def alb_of(region: RegionParams) -> AlbTraffic:
    """The region's ALB settings; step 4 shifts ALB weights only (Route53 is never shifted)."""
    if region.traffic is None or region.traffic.alb is None:
        raise InputError(f"region {region.name}: traffic.alb is required to shift traffic")
    return region.traffic.alb


@dataclass(frozen=True)
class ForwardAction:
    """One listener's default actions, or one rule's actions, as AWS returned them."""

    arn: str
    kind: Literal["listener", "rule"]
    listener_arn: str
    actions: tuple[dict[str, Any], ...]

    def weights(self, alb: AlbTraffic) -> tuple[int, int]:
        """(blue, green) weights of the forward; a colour it does not name weighs 0."""
        groups = {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in _groups(self.actions)}
        return groups.get(alb.blue_target_group_arn, 0), groups.get(alb.green_target_group_arn, 0)

    def share(self, alb: AlbTraffic) -> int | None:
        """Green's share in percent, or None when neither colour has weight."""
        blue, green = self.weights(alb)
        return round(100 * green / (blue + green)) if blue + green else None

    def reweighted(self, alb: AlbTraffic, green_share: int) -> ActionList:
        """The same actions with blue at 100 - share and green at share; green is added
        next to blue where the forward did not name it yet."""
        new: ActionList = []
        for action in self.actions:
            if action.get("Type") != "forward":
                new.append(copy.deepcopy(action))
                continue
            action = copy.deepcopy(action)
            config = action.get("ForwardConfig") or {
                "TargetGroups": [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
            }
            groups = []
            for group in config["TargetGroups"]:
                arn = group["TargetGroupArn"]
                if arn == alb.blue_target_group_arn:
                    groups.append({**group, "Weight": WEIGHT_TOTAL - green_share})
                    if not _names(config, alb.green_target_group_arn):
                        groups.append(
                            {"TargetGroupArn": alb.green_target_group_arn, "Weight": green_share}
                        )
                elif arn == alb.green_target_group_arn:
                    groups.append({**group, "Weight": green_share})
                else:
                    groups.append(group)
            # Two target groups in ForwardConfig forbid the legacy single TargetGroupArn.
            action.pop("TargetGroupArn", None)
            action["ForwardConfig"] = {**config, "TargetGroups": groups}
            new.append(action)
        return new

    def manual_rollback(self, alb: AlbTraffic, region: str) -> str:
        """The AWS CLI call that puts this action on 100 % blue by hand, full config included."""
        body = json.dumps(self.reweighted(alb, 0), separators=(",", ":"), sort_keys=True)
        if self.kind == "listener":
            return (
                f"aws elbv2 modify-listener --region {region} --listener-arn {self.arn} "
                f"--default-actions {shlex.quote(body)}"
            )
        return (
            f"aws elbv2 modify-rule --region {region} --rule-arn {self.arn} "
            f"--actions {shlex.quote(body)}"
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "kind": self.kind,
            "listener_arn": self.listener_arn,
            "actions": list(self.actions),
        }


@dataclass(frozen=True)
class ForwardSet:
    """Every forward action naming blue's target group in one region, the configured first."""

    region: str
    configured: str
    actions: tuple[ForwardAction, ...]

    def shares(self, alb: AlbTraffic) -> dict[str, int | None]:
        return {a.arn: a.share(alb) for a in self.actions}

    def share(self, alb: AlbTraffic) -> int | None:
        """Green's share when every action agrees; None when they differ (a set written
        halfway, or changed by someone else)."""
        found = set(self.shares(alb).values())
        return found.pop() if len(found) == 1 else None

    def snapshot(self) -> list[dict[str, Any]]:
        return [a.snapshot() for a in self.actions]

    def digest(self) -> str:
        """sha256 of the whole set as AWS has it: any change by anyone changes it."""
        text = json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def action(self, arn: str) -> ForwardAction:
        return next(a for a in self.actions if a.arn == arn)


def _groups(actions: tuple[dict[str, Any], ...] | ActionList) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        config = action.get("ForwardConfig")
        if config:
            groups += config.get("TargetGroups", [])
        elif action.get("TargetGroupArn"):
            groups.append({"TargetGroupArn": action["TargetGroupArn"], "Weight": 1})
    return groups


def _names(config: dict[str, Any], arn: str) -> bool:
    return any(g["TargetGroupArn"] == arn for g in config.get("TargetGroups", []))


def names_blue(actions: tuple[dict[str, Any], ...] | ActionList, alb: AlbTraffic) -> bool:
    return any(g["TargetGroupArn"] == alb.blue_target_group_arn for g in _groups(actions))


def _rules(elb: Any, listener_arn: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = elb.describe_rules(
            ListenerArn=listener_arn, **({"Marker": marker} if marker else {})
        )
        rules += page.get("Rules", [])
        marker = page.get("NextMarker")
        if not marker:
            return rules


def read_forward_set(region: str, alb: AlbTraffic, profile: str | None = None) -> ForwardSet:
    """Every listener default action and rule naming blue's target group on the region's
    load balancers; raises when the configured one is not among them."""
    elb = aws.client("elbv2", region, profile)
    found: list[ForwardAction] = []
    for lb in [alb.load_balancer_arn, *alb.other_load_balancer_arns]:
        try:
            listeners = [
                listener
                for page in elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb)
                for listener in page["Listeners"]
            ]
            for listener in listeners:
                arn = listener["ListenerArn"]
                if names_blue(listener.get("DefaultActions", []), alb):
                    found.append(
                        ForwardAction(arn, "listener", arn, tuple(listener["DefaultActions"]))
                    )
                for rule in _rules(elb, arn):
                    if not rule.get("IsDefault") and names_blue(rule.get("Actions", []), alb):
                        found.append(
                            ForwardAction(rule["RuleArn"], "rule", arn, tuple(rule["Actions"]))
                        )
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"DescribeListeners/DescribeRules on {lb}") from exc
    configured = alb.rule_arn or alb.listener_arn
    if configured not in {a.arn for a in found}:
        raise InputError(
            f"{region}: {configured} does not forward to blue's target group "
            f"{alb.blue_target_group_arn}; check traffic.alb in the parameters"
        )
    found.sort(key=lambda a: (a.arn != configured, a.arn))
    return ForwardSet(region, configured, tuple(found))


def read_action(region: str, action: ForwardAction, profile: str | None = None) -> ForwardAction:
    """One action re-read from AWS (after a write, or when its result is unknown)."""
    elb = aws.client("elbv2", region, profile)
    try:
        if action.kind == "listener":
            listener = elb.describe_listeners(ListenerArns=[action.arn])["Listeners"][0]
            return ForwardAction(
                action.arn, "listener", action.arn, tuple(listener["DefaultActions"])
            )
        rule = elb.describe_rules(RuleArns=[action.arn])["Rules"][0]
        return ForwardAction(action.arn, "rule", action.listener_arn, tuple(rule["Actions"]))
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"reading {action.arn}") from exc


def write_share(
    region: str,
    action: ForwardAction,
    alb: AlbTraffic,
    green_share: int,
    profile: str | None = None,
) -> None:
    """ModifyListener (default actions) or ModifyRule (actions) with the new weights."""
    elb = aws.client("elbv2", region, profile)
    actions = action.reweighted(alb, green_share)
    try:
        if action.kind == "listener":
            elb.modify_listener(ListenerArn=action.arn, DefaultActions=actions)
        else:
            elb.modify_rule(RuleArn=action.arn, Actions=actions)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"writing {green_share} % green to {action.arn}") from exc

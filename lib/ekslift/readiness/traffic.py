"""Who owns the weights, and is each colour wired to its own target group?

The listener and target groups belong to infrastructure code, which must not own the
weights: the next `terraform apply` would reset them mid-cutover. The contract is a tag on
the listener or rule (`ekslift.io/weights: external`, meaning its `ignore_changes` covers
the forward action; or `ekslift` for a rule only ekslift writes). An Ingress owning the
listener is refused outright: its controller reverts the weights, or deletes the listener
with blue. Every forward action naming blue's target group is one set step 4 moves (and a
rollback walks), so each must carry the contract and green's target group too.
"""

from __future__ import annotations

from ekslift.params import WEIGHTS_TAG, AlbTraffic, Color, ReadinessParams, RegionParams
from ekslift.readiness.models import ForwardAction, RegionFacts
from ekslift.readiness.rows import CheckRow

INGRESS_TAGS = ("elbv2.k8s.aws/cluster", "ingress.k8s.aws/stack")
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"


def short(arn: str) -> str:
    """A readable, stable name for an ELBv2 ARN in ids and tables: the load balancer's name
    and the listener's or rule's id (`photos/listener/2f1c…`, `photos/rule/c001…`); a target
    group's name."""
    kind, _, path = arn.split(":", 5)[-1].partition("/")
    parts = path.split("/")
    if kind == "targetgroup":
        return parts[0]
    return f"{parts[1]}/{kind}/{parts[-1]}"


def current_share(actions: list[ForwardAction], alb: AlbTraffic) -> int | None:
    """Green's share in the configured forward action, as AWS has it now."""
    configured = next((a for a in actions if a.arn == (alb.rule_arn or alb.listener_arn)), None)
    if configured is None:
        return None
    blue = configured.weights.get(alb.blue_target_group_arn, 0)
    green = configured.weights.get(alb.green_target_group_arn, 0)
    return round(100 * green / (blue + green)) if blue + green else None


def _change_for(action: ForwardAction, owner: str) -> str:
    if owner == "ekslift":
        return f"tag the rule {WEIGHTS_TAG}=ekslift and keep it out of infrastructure code"
    block = "default_action" if action.rule_arn is None else "action"
    return (
        f"in the infrastructure code that owns it, add lifecycle {{ ignore_changes = [{block}] }} "
        f'and the tag {WEIGHTS_TAG} = "external"'
    )


def judge_weights(
    facts: RegionFacts, region: RegionParams, readiness: ReadinessParams
) -> list[CheckRow]:
    alb = region.traffic.alb if region.traffic else None
    if alb is None or facts.forward_actions is None:
        return []
    rows: list[CheckRow] = []
    name = facts.region
    configured = alb.rule_arn or alb.listener_arn
    declared = {configured, *alb.extra_forward_actions}
    blue_actions = [a for a in facts.forward_actions if alb.blue_target_group_arn in a.weights]
    if configured not in {a.arn for a in blue_actions}:
        rows.append(
            CheckRow(
                name,
                "weights",
                "forward-action",
                short(configured),
                "fail",
                "the configured listener/rule does not forward to blue's target group",
                action="check traffic.alb.listener_arn / rule_arn and the target group ARNs",
            )
        )
    max_sticky = (
        readiness.max_stickiness_seconds
        if readiness.max_stickiness_seconds is not None
        else (region.traffic.soak_seconds if region.traffic else 0)
    )
    for action in blue_actions:
        obj = short(action.arn)
        balancer = facts.load_balancers.get(action.load_balancer_arn)
        tags = {**(balancer.tags if balancer else {}), **action.tags}
        ingress = [t for t in INGRESS_TAGS if t in tags]
        if ingress:
            rows.append(
                CheckRow(
                    name,
                    "weights",
                    "ingress-owned",
                    obj,
                    "fail",
                    f"owned by an Ingress ({', '.join(f'{t}={tags[t]}' for t in ingress)}): its "
                    "controller would revert the weights, or delete the listener with blue",
                    expected="a listener owned by infrastructure code",
                    action="move the listener/rule into infrastructure code (or give ekslift "
                    "its own rule) and remove the Ingress that owns it",
                )
            )
        wanted = "ekslift" if alb.owner == "ekslift" else "external"
        has = tags.get(WEIGHTS_TAG)
        rows.append(
            CheckRow(
                name,
                "weights",
                "weights-owner",
                obj,
                "ok" if has == wanted else "fail",
                f"{WEIGHTS_TAG}={has}"
                if has
                else f"no {WEIGHTS_TAG} tag: the next apply of "
                "the infrastructure code resets the weights",
                expected=f"{WEIGHTS_TAG}={wanted} ({action.conditions})",
                action=_change_for(action, alb.owner),
            )
        )
        if action.arn not in declared:
            rows.append(
                CheckRow(
                    name,
                    "weights",
                    "undeclared-forward",
                    obj,
                    "warn",
                    f"also forwards to blue's target group ({action.conditions}); step 4 moves "
                    "it with the configured one",
                    action=f"add {action.arn} to traffic.alb.extra_forward_actions",
                )
            )
        if alb.green_target_group_arn not in action.weights:
            rows.append(
                CheckRow(
                    name,
                    "wiring",
                    "green-registered",
                    obj,
                    "fail",
                    "green's target group is not in this forward action",
                    expected="green's target group at weight 0",
                    action="in the infrastructure code, add green's target group to this "
                    "forward action at weight 0 (weights then ignored by the contract)",
                )
            )
        if action.stickiness_seconds is not None and action.stickiness_seconds > max_sticky:
            rows.append(
                CheckRow(
                    name,
                    "wiring",
                    "stickiness",
                    obj,
                    "fail",
                    f"target group stickiness pins a client for {action.stickiness_seconds} s: "
                    "a rollback does not move it back in time",
                    expected=f"≤ {max_sticky} s (the soak, or readiness.max_stickiness_seconds)",
                    action="lower TargetGroupStickinessConfig.DurationSeconds (or disable it) "
                    "in the infrastructure code",
                )
            )
    return rows


def judge_bindings(facts: RegionFacts, region: RegionParams) -> list[CheckRow]:
    """One TargetGroupBinding per colour into its own target group, with readiness gates."""
    alb = region.traffic.alb if region.traffic else None
    if alb is None:
        return []
    own: dict[Color, str] = {"blue": alb.blue_target_group_arn, "green": alb.green_target_group_arn}
    rows: list[CheckRow] = []
    for role, kube in facts.kube.items():
        if kube.tgbs is None:
            continue
        other: Color = "green" if role == "blue" else "blue"
        mine = [t for t in kube.tgbs if t.target_group_arn == own[role]]
        for tgb in kube.tgbs:
            if tgb.target_group_arn == own[other]:
                rows.append(
                    CheckRow(
                        facts.region,
                        "wiring",
                        "shared-target-group",
                        f"{role}/{tgb.namespace}/{tgb.name}",
                        "fail",
                        f"registers {role}'s pods in {other}'s target group: weights cannot "
                        "tell the colours apart",
                        expected=f"{role}'s own target group {short(own[role])}",
                        action=f"in Git, point {role}'s TargetGroupBinding at {own[role]}",
                        role=role,
                    )
                )
        rows.append(
            CheckRow(
                facts.region,
                "wiring",
                "target-group-binding",
                role,
                "ok" if mine else "fail",
                ", ".join(f"{t.namespace}/{t.name} → service {t.service}" for t in mine)
                or f"no TargetGroupBinding registers {role}'s pods in {short(own[role])}",
                expected=f"a TargetGroupBinding into {short(own[role])}",
                action=f"in Git, add a TargetGroupBinding on {role} with targetGroupARN "
                f"{own[role]}",
                role=role,
            )
        )
        for namespace in sorted({t.namespace for t in mine}):
            labels = (kube.namespaces or {}).get(namespace, {})
            enabled = labels.get(READINESS_GATE_LABEL) == "enabled"
            rows.append(
                CheckRow(
                    facts.region,
                    "wiring",
                    "readiness-gate",
                    f"{role}/{namespace}",
                    "ok" if enabled else ("fail" if role == "green" else "warn"),
                    "pod readiness gates injected"
                    if enabled
                    else "pods receive traffic before the ALB sees them healthy (and are "
                    "killed while still registered)",
                    expected=f"namespace label {READINESS_GATE_LABEL}=enabled",
                    action=f"in Git, label namespace {namespace} on {role} "
                    f"{READINESS_GATE_LABEL}=enabled (pods pick it up when recreated)",
                    role=role,
                )
            )
    return rows


def judge_health(facts: RegionFacts, region: RegionParams, minimum: int) -> list[CheckRow]:
    """Green registered with at least `minimum` healthy targets in every zone the ALB uses
    (blue too: it takes the traffic back)."""
    alb = region.traffic.alb if region.traffic else None
    if alb is None or facts.target_health is None or facts.load_balancer is None:
        return []
    rows = []
    for role, targets in facts.target_health.items():
        for zone in facts.load_balancer.zones:
            healthy = sum(1 for t in targets if t.zone == zone and t.state == "healthy")
            rows.append(
                CheckRow(
                    facts.region,
                    "wiring",
                    "healthy-targets",
                    f"{role}/{zone}",
                    "ok" if healthy >= minimum else "fail",
                    f"{healthy} healthy target(s) of {role} in {zone}",
                    expected=f"≥ {minimum} (readiness.min_healthy_per_az)",
                    action=f"spread {role}'s pods over every zone the ALB uses "
                    "(topologySpreadConstraints on topology.kubernetes.io/zone) and wait until "
                    "they are healthy",
                    role=role,
                )
            )
    return rows


def forward_set(facts: RegionFacts, alb: AlbTraffic) -> list[ForwardAction]:
    """The forward actions step 4 moves as one set (and a rollback walks): every one naming
    blue's target group, the configured one first."""
    actions = [a for a in facts.forward_actions or [] if alb.blue_target_group_arn in a.weights]
    configured = alb.rule_arn or alb.listener_arn
    return sorted(actions, key=lambda a: (a.arn != configured, a.arn))

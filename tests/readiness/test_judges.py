"""Every readiness rule on a hand-built region: the clean region passes, and breaking one fact
fails one check with the change to make. Missing data is never read as healthy, and each
check reads the colour it is about."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from ekslift.params import parse_params
from ekslift.readiness.capacity import rates
from ekslift.readiness.check import judge, next_share
from ekslift.readiness.models import (
    ForwardAction,
    NodePool,
    Nodes,
    RegionFacts,
    TargetGroupBinding,
    TargetHealth,
    TrafficHistory,
)
from ekslift.readiness.rows import CheckRow
from tests.readiness.estate import (
    BLUE_ISSUER,
    BLUE_TG,
    LB,
    LISTENER,
    NOW,
    RULE,
    UPLOAD_ROLE,
    clean,
    params,
    provider,
    role,
    traffic_history,
)


def rows(facts: RegionFacts, share: int = 25, **readiness) -> list[CheckRow]:
    return judge(facts, params(**readiness), share, NOW).rows


def failing(facts: RegionFacts, share: int = 25, **readiness) -> dict[str, CheckRow]:
    return {r.finding_id: r for r in rows(facts, share, **readiness) if r.status != "ok"}


def replace_workload(facts: RegionFacts, color: str, name: str, **changes) -> None:
    kube = facts.kube[color]  # type: ignore[index]
    kube.workloads = [
        dataclasses.replace(w, **changes) if w.name == name else w for w in kube.workloads or []
    ]


def test_clean_region_is_ready_at_every_step() -> None:
    for share in (5, 25, 50):
        report = judge(clean(), params(), share, NOW)
        assert [r for r in report.rows if r.status != "ok"] == [], share
        assert report.ready and report.findings == []
    checks = {r.check for r in rows(clean())}
    assert {
        "traffic-history",
        "capacity",
        "blue-floor",
        "node-headroom",
        "subnet-ips",
        "vcpu-quota",
        "alb-targets",
        "blue-scale-down",
        "weights-owner",
        "target-group-binding",
        "readiness-gate",
        "healthy-targets",
        "chart-version",
        "image-digest",
        "sync-window",
        "trust-policy",
        "pod-identity",
        "access-entry",
        "database-sg",
        "nat-egress",
        "cutover-plan",
        "plan-cronjob",
        "plan-consumer",
        "plan-external-dns-owner",
        "plan-external-dns-policy",
    } <= checks


# ---------------------------------------------------------------------------- capacity


def test_no_datapoints_is_not_capacity_fine() -> None:
    facts = clean()
    facts.history = TrafficHistory(300, {"blue": [], "green": []})
    found = failing(facts)
    assert list(found) == ["readiness/us-east-1/traffic-history/photos-blue"]
    assert (
        "no RequestCount datapoints"
        in found["readiness/us-east-1/traffic-history/photos-blue"].observed
    )
    assert not any(r.check == "capacity" and r.status == "ok" for r in rows(facts))


def test_history_without_the_cutover_hours_is_unknown_not_low() -> None:
    facts = clean()
    assert facts.history is not None
    recent = [p for p in facts.history.points["blue"] if p[0] > NOW - timedelta(hours=1)]
    # A peak twelve hours away from the cutover's hours says nothing about them.
    other_hours = [(NOW - timedelta(days=2, hours=12), 1.0)]
    facts.history = TrafficHistory(300, {"blue": recent + other_hours, "green": []})
    found = failing(facts)
    assert "at these hours" in found["readiness/us-east-1/traffic-history/photos-blue"].observed


def test_blue_rate_now_is_read_from_settled_periods_only() -> None:
    """The period under way holds a fraction of its requests; averaged in, blue's replicas
    would look slower and green's need larger than they are."""
    history = TrafficHistory(
        300,
        {
            "blue": [(NOW - timedelta(minutes=5 * i), 20.0 * 300) for i in range(1, 13)]
            + [(NOW - timedelta(minutes=2), 20.0 * 120), (NOW - timedelta(days=1), 30.0 * 300)],
            "green": [],
        },
    )
    settled, _ = rates(history, NOW, timedelta(minutes=30), 7, timedelta(minutes=3))
    assert settled is not None and settled.blue_now == pytest.approx(20.0)
    assert settled.peak == pytest.approx(30.0)
    # Only unsettled minutes is no rate at all: unknown, which fails, not a low rate.
    fresh = TrafficHistory(300, {"blue": [(NOW - timedelta(minutes=2), 20.0 * 120)], "green": []})
    unknown, why = rates(fresh, NOW, timedelta(minutes=30), 7, timedelta(minutes=3))
    assert unknown is None and "no RequestCount datapoints" in why


def test_green_sized_for_five_percent_fails_at_fifty() -> None:
    facts = clean()
    replace_workload(facts, "green", "photo-api", ready=1, replicas=1)
    assert "readiness/us-east-1/capacity/photos/photo-api" not in failing(facts, 5)
    found = failing(facts, 50)
    row = found["readiness/us-east-1/capacity/photos/photo-api"]
    # blue: 4 ready at 20 req/s; peak 30 req/s → 50 % needs ceil(4 × 15 / 20) = 3.
    assert "needs 3" in row.observed and "minReplicas" in row.action and row.role == "green"


def test_mid_shift_capacity_is_sized_from_blue_before_the_shift() -> None:
    """At 50 % blue's 4 replicas serve 10 req/s where they served 20: sized from them now,
    100 % would need 12 replicas on green and a floor of 12 on blue, twice the truth. Sized
    from blue before the shift (5 req/s per replica), 100 % of the 30 req/s peak needs 6.
    A measurement lower than blue's now (traffic dipped when it was taken) does not stick:
    the larger of the two is what blue's replicas have shown they serve."""
    facts = clean()
    facts.history = traffic_history(now_rate=10.0)
    facts.current_share = 50
    before = {"photos/photo-api": 5.0}
    api = "photos/photo-api"

    def capacity_rows(sized_from: dict[str, float] | None) -> dict[str, str]:
        report = judge(facts, params(), 100, NOW, sized_from)
        return {r.check: r.observed for r in report.rows if r.obj == api}

    now = capacity_rows(None)
    assert "needs 12" in now["capacity"] and "needs 12" in now["blue-floor"]
    sized = capacity_rows(before)
    assert "needs 6" in sized["capacity"] and sized["blue-floor"] == "blue floor 6 ≥ 6"
    assert judge(facts, params(), 100, NOW, before).per_replica[api] == 5.0
    history = next(
        r for r in judge(facts, params(), 100, NOW, before).rows if r.check == "traffic-history"
    )
    assert "the larger of blue's now and before green's 50 %" in history.observed
    assert capacity_rows({"photos/photo-api": 2.0}) == now
    # At 0 % blue carries everything: its own rate now is the measure, whatever is passed.
    facts.current_share = 0
    assert capacity_rows(before) == now
    assert judge(facts, params(), 100, NOW, before).per_replica[api] == 2.5


def test_autoscaler_max_below_the_share() -> None:
    facts = clean()
    green = facts.kube["green"]
    green.autoscalers = [
        dataclasses.replace(a, max_replicas=5) if a.name == "photo-api" else a
        for a in green.autoscalers or []
    ]
    assert "readiness/us-east-1/autoscaler-max/photos/photo-api" not in failing(facts, 50)
    found = failing(facts, 100)
    assert "readiness/us-east-1/autoscaler-max/photos/photo-api" in found


def test_blue_floor_reads_blues_autoscaler_not_greens() -> None:
    facts = clean()
    blue = facts.kube["blue"]
    blue.autoscalers = [
        dataclasses.replace(a, min_replicas=2) if a.name == "photo-api" else a
        for a in blue.autoscalers or []
    ]
    found = failing(facts)
    row = found["readiness/us-east-1/blue-floor/photos/photo-api"]
    assert row.role == "blue" and "minReplicas: 6" in row.action  # ceil(4 × 30 / 20)
    # The same low floor on green only is not blue's floor.
    facts = clean()
    green = facts.kube["green"]
    green.autoscalers = [
        dataclasses.replace(a, min_replicas=2) if a.name == "photo-api" else a
        for a in green.autoscalers or []
    ]
    assert "readiness/us-east-1/blue-floor/photos/photo-api" not in failing(facts)


def test_blue_nodes_must_not_shrink() -> None:
    facts = clean()
    replace_workload(facts, "blue", "cluster-autoscaler", args=())
    facts.kube["blue"].nodepools = [NodePool("default", None, 8000, no_disruption=False)]
    found = failing(facts)
    assert (
        "--scale-down-enabled=false"
        in found["readiness/us-east-1/blue-scale-down/kube-system/cluster-autoscaler"].action
    )
    assert "budgets" in found["readiness/us-east-1/blue-disruption/default"].action
    # green's autoscaler scaling down is none of blue's floor's business
    assert not any("green" in i for i in found)


def test_node_headroom_ips_quota_and_targets() -> None:
    facts = clean()
    replace_workload(facts, "green", "photo-api", ready=0, replicas=0)
    replace_workload(facts, "green", "web", ready=0, replicas=0)
    facts.kube["green"].nodes = Nodes(2, 4000, 8 * 2**30, 3900, 7 * 2**30, 4)
    facts.subnets = {
        "green": [dataclasses.replace(s, available_ips=3) for s in (facts.subnets or {})["green"]][
            :1
        ]
    }
    facts.vcpu_quota = 14
    facts.registered_targets = 995
    found = failing(facts, 100)
    assert "readiness/us-east-1/node-headroom/green" in found
    assert "readiness/us-east-1/subnet-ips/green" in found
    assert "readiness/us-east-1/vcpu-quota/L-1216C47A" in found
    assert "readiness/us-east-1/alb-targets/photos" in found
    # Karpenter without a CPU limit schedules them (quota and IPs still count).
    facts.kube["green"].nodepools = [NodePool("default", None, 4000, no_disruption=False)]
    assert "readiness/us-east-1/node-headroom/green" not in failing(facts, 100)


def test_next_share_follows_the_alb() -> None:
    region = params().regions[0]
    assert next_share(region, 0) == 5
    assert next_share(region, None) == 5
    assert next_share(region, 25) == 50
    assert next_share(region, 100) == 100


# ------------------------------------------------------------------------------ weights


def test_weights_owner_contract_and_ingress_refusal() -> None:
    facts = clean()
    assert facts.forward_actions is not None
    facts.forward_actions[0] = dataclasses.replace(facts.forward_actions[0], tags={})
    found = failing(facts)
    row = found["readiness/us-east-1/weights-owner/photos/listener/f2f7dc8efc522ab2"]
    assert "ignore_changes = [default_action]" in row.action
    facts.forward_actions[0] = dataclasses.replace(
        facts.forward_actions[0],
        tags={"ekslift.io/weights": "external", "ingress.k8s.aws/stack": "photos/web"},
    )
    found = failing(facts)
    assert list(found) == ["readiness/us-east-1/ingress-owned/photos/listener/f2f7dc8efc522ab2"]


def test_ingress_tags_on_the_load_balancer_are_refused_too() -> None:
    facts = clean()
    assert facts.load_balancer is not None
    facts.load_balancers = {
        LB: dataclasses.replace(facts.load_balancer, tags={"elbv2.k8s.aws/cluster": "photos-blue"})
    }
    assert "readiness/us-east-1/ingress-owned/photos/listener/f2f7dc8efc522ab2" in failing(facts)


def test_every_forward_action_naming_blue_is_found_and_returned_as_one_set() -> None:
    facts = clean()
    assert facts.forward_actions is not None
    extra = ForwardAction(
        LB, LISTENER, RULE, "priority 10: host-header=admin", {BLUE_TG: 1}, 86400, {}
    )
    facts.forward_actions.append(extra)
    report = judge(facts, params(), 25, NOW)
    assert [a.arn for a in report.forward_actions] == [LISTENER, RULE]
    found = {r.finding_id: r for r in report.rows if r.status != "ok"}
    rule = "photos/listener-rule/c6c3a3b7a9f5e2d1"
    assert found[f"readiness/us-east-1/undeclared-forward/{rule}"].status == "warn"
    assert found[f"readiness/us-east-1/weights-owner/{rule}"].status == "fail"
    assert found[f"readiness/us-east-1/green-registered/{rule}"].status == "fail"
    assert found[f"readiness/us-east-1/stickiness/{rule}"].status == "fail"
    declared = params().model_dump()
    declared["regions"][0]["traffic"]["alb"]["extra_forward_actions"] = [RULE]
    with_rule = judge(facts, parse_params(declared, "t.yaml"), 25, NOW)
    assert f"readiness/us-east-1/undeclared-forward/{rule}" not in {
        f.id for f in with_rule.findings
    }


# ------------------------------------------------------------------------------- wiring


def test_shared_target_group_refused_and_binding_missing() -> None:
    facts = clean()
    facts.kube["green"].tgbs = [TargetGroupBinding("photos", "web", BLUE_TG, "web")]
    found = failing(facts)
    assert "readiness/us-east-1/shared-target-group/green/photos/web" in found
    assert "readiness/us-east-1/target-group-binding/green" in found
    assert "readiness/us-east-1/target-group-binding/blue" not in found


def test_readiness_gates_fail_on_green_and_warn_on_blue() -> None:
    facts = clean()
    for kube in facts.kube.values():
        kube.namespaces = {"photos": {}}
    found = failing(facts)
    assert found["readiness/us-east-1/readiness-gate/green/photos"].status == "fail"
    assert found["readiness/us-east-1/readiness-gate/blue/photos"].status == "warn"


def test_healthy_targets_per_zone_per_colour() -> None:
    facts = clean()
    assert facts.target_health is not None
    facts.target_health["green"] = [
        t for t in facts.target_health["green"] if t.zone == "us-east-1a"
    ]
    found = failing(facts)
    assert list(found) == ["readiness/us-east-1/healthy-targets/green/us-east-1b"]
    facts.target_health["green"] += [TargetHealth("10.0.1.9", "us-east-1b", "unhealthy")] * 3
    assert "readiness/us-east-1/healthy-targets/green/us-east-1b" in failing(facts)


# --------------------------------------------------------------------------- one change


def test_chart_version_and_digest_differences_name_the_app() -> None:
    facts = clean()
    assert facts.apps is not None
    facts.apps = [
        dataclasses.replace(a, target_revision="1.3.0") if a.name == "photo-api-green" else a
        for a in facts.apps
    ]
    replace_workload(facts, "green", "web", digests=frozenset({"app=sha256:bbb"}))
    found = failing(facts)
    assert (
        "1.2.0 on blue, 1.3.0 on green"
        in found["readiness/us-east-1/chart-version/photos/photo-api"].observed
    )
    assert "sha256:bbb" in found["readiness/us-east-1/image-digest/photos/web"].observed
    replace_workload(facts, "blue", "web", digests=frozenset())
    assert (
        "no running pod" in failing(facts)["readiness/us-east-1/image-digest/photos/web"].observed
    )


def test_sync_window_must_deny_both_colours() -> None:
    facts = clean()
    facts.sync_windows = [
        dataclasses.replace(w, applications=("*-blue",)) for w in facts.sync_windows or []
    ]
    found = failing(facts)
    assert list(found) == ["readiness/us-east-1/sync-window/green"]
    facts.sync_windows = [
        dataclasses.replace(w, kind="allow", applications=("*",)) for w in facts.sync_windows
    ]
    assert {"readiness/us-east-1/sync-window/blue", "readiness/us-east-1/sync-window/green"} <= set(
        failing(facts)
    )


# ------------------------------------------------------------------------------ identity


def test_trust_policy_without_greens_issuer() -> None:
    facts = clean()
    api = facts.roles["arn:aws:iam::111122223333:role/photos-api"]
    assert api is not None
    trust = {"Statement": api.trust_policy["Statement"][:1]}
    facts.roles[api.arn] = role(api.name, api.arn, trust)
    row = failing(facts)["readiness/us-east-1/trust-policy/photos/photo-api"]
    assert "AssumeRoleWithWebIdentity" in row.action and "GREEN0" in row.action
    # No room left under the size limit: the change is a quota increase or Pod Identity.
    padded = {**trust, "Padding": "x" * 1800}
    facts.roles[api.arn] = role(api.name, api.arn, padded)
    assert (
        "Pod Identity" in failing(facts)["readiness/us-east-1/trust-policy/photos/photo-api"].action
    )


def test_string_like_subject_and_missing_provider() -> None:
    facts = clean()
    api = facts.roles["arn:aws:iam::111122223333:role/photos-api"]
    assert api is not None
    host = "oidc.eks.us-east-1.amazonaws.com/id/GREEN000000000000000000000000000"
    like = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider("https://" + host)},
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Condition": {"StringLike": {f"{host}:sub": "system:serviceaccount:photos:*"}},
            }
        ]
    }
    facts.roles[api.arn] = role(api.name, api.arn, like)
    assert "readiness/us-east-1/trust-policy/photos/photo-api" not in failing(facts)
    facts.oidc_providers = {provider(BLUE_ISSUER)}
    assert "readiness/us-east-1/oidc-provider/photos-green" in failing(facts)


def test_pod_identity_role_pinned_to_blue() -> None:
    facts = clean()
    pinned = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/eks-cluster-name": "photos-blue"}},
            }
        ]
    }
    facts.roles[UPLOAD_ROLE] = role("photos-uploader", UPLOAD_ROLE, {"Statement": []}, pinned)
    row = failing(facts)["readiness/us-east-1/pod-identity/photos/upload-svc"]
    assert "photos-green" in row.action
    assert facts.pod_identity is not None
    facts.pod_identity["green"] = []
    found = failing(facts)
    assert (
        "blue has an EKS Pod Identity association"
        in found["readiness/us-east-1/pod-identity/photos/upload-svc"].observed
    )


def test_access_entries_of_blue_on_green() -> None:
    facts = clean()
    assert facts.access_entries is not None
    facts.access_entries["blue"].append("arn:aws:iam::111122223333:role/deployer")
    assert "readiness/us-east-1/access-entry/deployer" in failing(facts)
    assert "readiness/us-east-1/access-entry/deployer" not in failing(
        facts, access_entries_ignore=["*:role/deployer"]
    )


# ------------------------------------------------------------------------------- network


def test_database_security_group_admitting_blue_only_and_new_egress() -> None:
    facts = clean()
    facts.guarded_groups = [
        dataclasses.replace(g, sources=frozenset({"sg-0b1ue000"}))
        for g in facts.guarded_groups or []
    ]
    facts.nat_ips = {"blue": {"203.0.113.10"}, "green": {"198.51.100.7"}}
    found = failing(facts)
    assert "sg-0g4een00" in found["readiness/us-east-1/database-sg/sg-0db00000"].action
    assert found["readiness/us-east-1/nat-egress/photos-green"].status == "warn"
    assert "198.51.100.7" in found["readiness/us-east-1/nat-egress/photos-green"].observed


# ----------------------------------------------------------------------------- workloads


def test_each_class_needs_a_plan() -> None:
    found = failing(clean(), cutover_plans={})
    assert {
        "readiness/us-east-1/cutover-plan/cronjob",
        "readiness/us-east-1/cutover-plan/consumer",
        "readiness/us-east-1/cutover-plan/external-dns",
        "readiness/us-east-1/cutover-plan/stateful",
    } == {i for i in found if "/cutover-plan/" in i}


def test_labelled_and_named_controllers_are_classified() -> None:
    facts = clean()
    replace_workload(facts, "blue", "photo-api", labels={"ekslift.io/cutover-class": "consumer"})
    report = judge(facts, params(side_effect_controllers=["photos/search-index"]), 25, NOW)
    classes = {(w.role, w.ref): w.klass for w in report.workloads}
    assert classes[("blue", "photos/photo-api")] == "consumer"
    assert classes[("green", "photos/search-index")] == "side-effect"
    assert classes[("green", "photos/web")] == "served"
    assert classes[("green", "external-dns/external-dns")] == "external-dns"


def test_plan_states_follow_the_share() -> None:
    facts = clean()  # green's CronJob suspended, consumer paused: right below 50 %
    assert not [i for i in failing(facts) if "/plan-" in i]
    facts.current_share = 50
    found = failing(facts)
    assert "readiness/us-east-1/plan-consumer/green/photos/thumbnailer" in found
    assert "readiness/us-east-1/plan-cronjob/green/photos/nightly-prune" not in found
    facts.current_share = 100
    found = failing(facts)
    assert "readiness/us-east-1/plan-cronjob/green/photos/nightly-prune" in found
    assert "readiness/us-east-1/plan-cronjob/blue/photos/nightly-prune" in found
    assert (
        "spec.suspend: true"
        in found["readiness/us-east-1/plan-cronjob/blue/photos/nightly-prune"].action
    )


def test_external_dns_owner_ids_and_policy() -> None:
    facts = clean()
    for color in ("blue", "green"):
        replace_workload(facts, color, "external-dns", args=("--txt-owner-id=photos",))
    found = failing(facts)
    assert "readiness/us-east-1/plan-external-dns-owner/photos" in found
    assert "readiness/us-east-1/plan-external-dns-policy/green/external-dns/external-dns" in found


def test_a_refused_read_is_a_finding_and_its_checks_say_nothing() -> None:
    facts = clean()
    facts.guarded_groups = None
    facts.problems["database security groups"] = "DescribeDBInstances: AccessDenied"
    found = failing(facts)
    assert found["readiness/us-east-1/unreadable/database-security-groups"].status == "fail"
    assert not any(r.check == "database-sg" for r in rows(facts))


@pytest.mark.parametrize("share", [5, 50, 100])
def test_green_already_sized_for_the_peak_passes(share: int) -> None:
    facts = clean()
    replace_workload(facts, "green", "photo-api", ready=6, replicas=6)
    assert "readiness/us-east-1/capacity/photos/photo-api" not in failing(facts, share)

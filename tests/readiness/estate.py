"""A hand-built region that is ready for the cutover: every readiness rule passes on it, and
each test breaks one fact to watch one rule fail (and only that one)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ekslift.argocd import ArgoAppRow
from ekslift.estate import EstateCluster
from ekslift.params import UpgradeParams, parse_params
from ekslift.readiness.models import (
    Autoscaler,
    ClusterFacts,
    CronJob,
    EksCluster,
    ForwardAction,
    GuardedGroup,
    LoadBalancer,
    Nodes,
    PodIdentityAssociation,
    RegionFacts,
    Role,
    ServiceAccount,
    Subnet,
    SyncWindow,
    TargetGroupBinding,
    TargetHealth,
    TrafficHistory,
    Workload,
)

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
REGION = "us-east-1"
ACCOUNT = "111122223333"
LB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/photos/50dc6c495c0c9188"
_ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
LISTENER = f"{_ELB}:listener/app/photos/50dc6c495c0c9188/f2f7dc8efc522ab2"
RULE = f"{_ELB}:listener-rule/app/photos/50dc6c495c0c9188/f2f7dc8efc522ab2/c6c3a3b7a9f5e2d1"
BLUE_TG = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/photos-blue/73e2d6bc24d8a067"
)
GREEN_TG = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/photos-green/2453ed029918f21f"
)
BLUE_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/BLUE0000000000000000000000000000"
GREEN_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/GREEN000000000000000000000000000"
API_ROLE = f"arn:aws:iam::{ACCOUNT}:role/photos-api"
UPLOAD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/photos-uploader"
SUBJECT = "system:serviceaccount:photos:photo-api"


def params(**readiness: Any) -> UpgradeParams:
    data = {
        "name": "photos-prod",
        "environment": "prod",
        "target_version": "1.35",
        "regions": [
            {
                "name": REGION,
                "blue": {"eks_cluster": "photos-blue", "kube_context": "blue"},
                "green": {"eks_cluster": "photos-green", "kube_context": "green"},
                "traffic": {
                    "alb": {
                        "listener_arn": LISTENER,
                        "blue_target_group_arn": BLUE_TG,
                        "green_target_group_arn": GREEN_TG,
                    },
                    "soak_seconds": 600,
                },
            }
        ],
        "readiness": {
            "request_path": ["photos/photo-api"],
            "cutover_plans": {
                "cronjobs": {"green_from": 100},
                "consumers": {"green_from": 50},
                "external_dns": {},
                "stateful": {"note": "search-index is rebuilt on each cluster"},
            },
            **readiness,
        },
    }
    return parse_params(data, "test.yaml")


def provider(issuer: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.removeprefix('https://')}"


def _trust(*issuers: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider(issuer)},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{issuer.removeprefix('https://')}:sub": SUBJECT}},
            }
            for issuer in issuers
        ],
    }


def role(name: str, arn: str, trust: dict[str, Any], *policies: dict[str, Any]) -> Role:
    return Role(name, arn, trust, len(json.dumps(trust, separators=(",", ":"))), policies)


def _workload(
    name: str, ready: int, *, ns: str = "photos", kind: str = "Deployment", **kw: Any
) -> Workload:
    return Workload(
        kind=kind,  # type: ignore[arg-type]
        namespace=ns,
        name=name,
        replicas=kw.pop("replicas", ready),
        ready=ready,
        labels=kw.pop("labels", {}),
        selector={"app": name},
        pod_labels={"app": name},
        cpu_request_m=100,
        memory_request=128 * 2**20,
        args=kw.pop("args", ()),
        has_volumes=kw.pop("has_volumes", False),
        digests=kw.pop("digests", frozenset({"app=sha256:aaa"})),
    )


def _cluster(role_: str, tg: str) -> ClusterFacts:
    green = role_ == "green"
    owner = f"--txt-owner-id=photos-{role_}"
    return ClusterFacts(
        role=role_,  # type: ignore[arg-type]
        context=role_,
        tgbs=[TargetGroupBinding("photos", "web", tg, "web")],
        namespaces={"photos": {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}},
        services={"photos/web": {"app": "web"}},
        workloads=[
            _workload("web", 4),
            _workload("photo-api", 4),
            _workload("thumbnailer", 2, replicas=0 if green else 2),
            _workload("external-dns", 1, ns="external-dns", args=(owner, "--policy=upsert-only")),
            _workload(
                "cluster-autoscaler",
                1,
                ns="kube-system",
                args=("--scale-down-enabled=false",) if not green else (),
            ),
            _workload("search-index", 1, kind="StatefulSet", has_volumes=True),
        ],
        autoscalers=[
            Autoscaler(
                "HorizontalPodAutoscaler",
                "photos",
                "web",
                "Deployment/web",
                6 if not green else 4,
                20,
            ),
            Autoscaler(
                "HorizontalPodAutoscaler",
                "photos",
                "photo-api",
                "Deployment/photo-api",
                6 if not green else 4,
                20,
            ),
            Autoscaler(
                "ScaledObject",
                "photos",
                "thumbnailer",
                "Deployment/thumbnailer",
                0,
                10,
                paused=green,
            ),
        ],
        cronjobs=[CronJob("photos", "nightly-prune", suspended=green)],
        nodes=Nodes(6, 12_000, 48 * 2**30, 6_000, 12 * 2**30, 12),
        nodepools=[],
        service_accounts=[ServiceAccount("photos", "photo-api", API_ROLE)] if not green else [],
    )


def traffic_history(now_rate: float = 20.0, peak_rate: float = 30.0) -> TrafficHistory:
    """Blue at `now_rate` req/s for the last hour, and a day earlier `peak_rate` at this hour."""
    blue = [(NOW - timedelta(minutes=5 * i), now_rate * 300) for i in range(1, 13)]
    blue += [
        (NOW - timedelta(days=1) + timedelta(minutes=5 * i), peak_rate * 300) for i in range(12)
    ]
    return TrafficHistory(300, {"blue": sorted(blue), "green": []})


def _app(name: str, chart: str, role_: str, revision: str, project: str = "photos") -> ArgoAppRow:
    where = EstateCluster(REGION, role_, f"photos-{role_}", role_)  # type: ignore[arg-type]
    return ArgoAppRow(
        name,
        project,
        "https://charts",
        chart,
        revision,
        f"photos-{role_}",
        "photos",
        "Synced",
        "Healthy",
        where,
    )


def clean() -> RegionFacts:
    """A region ready for any share: a fresh copy each call."""
    facts = RegionFacts(region=REGION, share=0, current_share=0)
    facts.clusters = {
        "blue": EksCluster("photos-blue", BLUE_ISSUER, ("subnet-b1",), ("sg-0b1ue000",)),
        "green": EksCluster(
            "photos-green", GREEN_ISSUER, ("subnet-g1", "subnet-g2"), ("sg-0g4een00",)
        ),
    }
    facts.kube = {"blue": _cluster("blue", BLUE_TG), "green": _cluster("green", GREEN_TG)}
    facts.load_balancer = LoadBalancer(LB, "photos", ("us-east-1a", "us-east-1b"), {})
    facts.load_balancers = {LB: facts.load_balancer}
    facts.forward_actions = [
        ForwardAction(
            LB,
            LISTENER,
            None,
            "default action",
            {BLUE_TG: 100, GREEN_TG: 0},
            None,
            {"ekslift.io/weights": "external"},
        )
    ]
    facts.target_health = {
        role_: [
            TargetHealth(f"10.0.{z}.{i}", f"us-east-1{'ab'[z]}", "healthy")
            for z in range(2)
            for i in range(2)
        ]
        for role_ in ("blue", "green")
    }
    facts.subnets = {
        "blue": [Subnet("subnet-b1", "us-east-1a", "10.0.0.0/24", 200)],
        "green": [
            Subnet("subnet-g1", "us-east-1a", "10.0.1.0/24", 200),
            Subnet("subnet-g2", "us-east-1b", "10.0.2.0/24", 200),
        ],
    }
    facts.vcpu_quota = 512
    facts.targets_per_alb = 1000
    facts.registered_targets = 8
    facts.oidc_providers = {provider(BLUE_ISSUER), provider(GREEN_ISSUER)}
    uploads = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "aws:PrincipalTag/eks-cluster-name": ["photos-blue", "photos-green"]
                    }
                },
            }
        ]
    }
    facts.roles = {
        API_ROLE: role("photos-api", API_ROLE, _trust(BLUE_ISSUER, GREEN_ISSUER)),
        UPLOAD_ROLE: role("photos-uploader", UPLOAD_ROLE, {"Statement": []}, uploads),
    }
    facts.pod_identity = {
        role_: [PodIdentityAssociation("photos", "upload-svc", UPLOAD_ROLE)]
        for role_ in ("blue", "green")
    }
    facts.access_entries = {
        role_: [f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"] for role_ in ("blue", "green")
    }
    facts.guarded_groups = [
        GuardedGroup(
            "sg-0db00000", "photos-db", "RDS photos", frozenset({"sg-0b1ue000", "sg-0g4een00"})
        )
    ]
    facts.nat_ips = {"blue": {"203.0.113.10"}, "green": {"203.0.113.10"}}
    facts.history = traffic_history()
    facts.apps = [
        _app(f"{chart}-{role_}", chart, role_, "1.2.0")
        for chart in ("web", "photo-api")
        for role_ in ("blue", "green")
    ]
    facts.sync_windows = [SyncWindow("photos", "deny", "0 22 * * *", "8h", ("*",), (), ())]
    return copy.deepcopy(facts)

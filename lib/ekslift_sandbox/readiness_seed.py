"""What the cutover readiness checks read, seeded through the same endpoints a real estate
answers (boto3 against the AWS sandbox, objects in the fake API servers), with one instance
of every problem readiness must find (`SEEDED_READINESS`).

ap-northeast-1 is wired right but has the workload problems: an extra host rule forwarding
to blue only, without the contract and with day-long stickiness; photo-api's image differs
between the colours; a Pod Identity role pinned to blue's cluster name; a vCPU quota too
small for both clusters; external-dns with one owner id in both colours; consumers and
CronJobs running on green; blue's cluster-autoscaler free to scale down and photo-api's
floor too low. us-east-1 has the AWS problems: the listener lacks the ownership contract,
green's targets sit in one zone, green's namespace lacks readiness gates, a trust policy
lacks green's issuer, an access entry is missing on green, the database admits blue only,
green egresses through its own NAT, and no Argo CD deny window covers its apps.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ekslift_sandbox import kubeobjects as k
from ekslift_sandbox import quotas_extra
from ekslift_sandbox.eks_extra import EksExtraState
from ekslift_sandbox.kubeapi import FakeKubeAPIServer
from ekslift_sandbox.kubetypes import ARGO_APP_PROJECT, READINESS_TYPES, Obj, split_api_version
from ekslift_sandbox.scenario import ARGOCD_NAMESPACE, SERVICE_NAMESPACE, ClusterSpec, Role
from ekslift_sandbox.seed import ACCOUNT, client
from ekslift_sandbox.trafficmodel import METRIC_MINUTES

WEIGHTS_TAG = "ekslift.io/weights"
READINESS_GATE = "elbv2.k8s.aws/pod-readiness-gate-inject"
CONSUMER = "thumbnailer"
STATEFUL = "search-index"
REQUEST_PATH = ("web-frontend", "photo-api")
_EPOCH = datetime(2026, 6, 1, tzinfo=UTC)
HISTORY_PERIOD = 300

# What readiness must report for the seeded estate at the ALB's first step (5 % on green),
# with params/demo.yaml's cutover plans (tests hold it to this).
SEEDED_READINESS = (
    "readiness/ap-northeast-1/weights-owner/photos-apne1/listener-rule/*",
    "readiness/ap-northeast-1/green-registered/photos-apne1/listener-rule/*",
    "readiness/ap-northeast-1/stickiness/photos-apne1/listener-rule/*",
    "readiness/ap-northeast-1/image-digest/photos/photo-api",
    "readiness/ap-northeast-1/pod-identity/photos/upload-svc",
    "readiness/ap-northeast-1/vcpu-quota/L-1216C47A",
    "readiness/ap-northeast-1/blue-floor/photos/photo-api",
    "readiness/ap-northeast-1/blue-scale-down/cluster-autoscaler/cluster-autoscaler",
    "readiness/ap-northeast-1/plan-external-dns-owner/photos-apne1",
    "readiness/ap-northeast-1/plan-external-dns-policy/*/external-dns/external-dns",
    "readiness/ap-northeast-1/plan-consumer/green/photos/thumbnailer",
    "readiness/ap-northeast-1/plan-cronjob/green/photos/nightly-prune",
    "readiness/*/chart-version/photos/*",
    "readiness/us-east-1/weights-owner/photos-use1/listener/*",
    "readiness/us-east-1/healthy-targets/green/us-east-1c",
    "readiness/us-east-1/readiness-gate/green/photos",
    "readiness/us-east-1/trust-policy/photos/photo-api",
    "readiness/us-east-1/access-entry/photos-deployer",
    "readiness/us-east-1/database-sg/*",
    "readiness/us-east-1/sync-window/*",
)
"""Blockers (fnmatch patterns of ids); green's NAT egress in us-east-1 is a warning."""


@dataclass(frozen=True)
class ClusterNetwork:
    subnets: list[str]
    security_groups: list[str]


def _short(region: str) -> str:
    return {"ap-northeast-1": "apne1", "us-east-1": "use1"}[region]


def networks(
    ec2: Any, region: str, vpc: str, shared: list[str], specs: list[ClusterSpec]
) -> dict[str, ClusterNetwork]:
    """Each cluster's subnets and its own cluster security group, and NAT egress: in
    us-east-1 green gets subnets of its own behind a NAT gateway of its own."""
    _nat_gateway(ec2, vpc, shared[0], shared)
    result = {}
    for spec in specs:
        subnets = list(shared)
        if spec.role == "green" and region == "us-east-1":
            subnets = [
                ec2.create_subnet(
                    VpcId=vpc, CidrBlock=f"10.0.{2 + i}.0/24", AvailabilityZone=f"{region}{zone}"
                )["Subnet"]["SubnetId"]
                for i, zone in enumerate("ac")
            ]
            _nat_gateway(ec2, vpc, subnets[0], subnets)
        groups = []
        if spec.role in ("blue", "green"):
            groups = [
                ec2.create_security_group(
                    GroupName=f"eks-cluster-sg-{spec.name}",
                    Description=f"EKS cluster security group of {spec.name}",
                    VpcId=vpc,
                )["GroupId"]
            ]
        result[spec.name] = ClusterNetwork(subnets, groups)
    return result


def _nat_gateway(ec2: Any, vpc: str, home: str, subnets: list[str]) -> str:
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    gateway = ec2.create_nat_gateway(SubnetId=home, AllocationId=address)["NatGateway"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=gateway["NatGatewayId"]
    )
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    return str(gateway["NatGatewayId"])


# ----------------------------------------------------------------------------------- AWS


def _load_balancer(region: str, endpoint: str, alb: dict[str, str]) -> None:
    elb = client("elbv2", region, endpoint)
    if region == "ap-northeast-1":
        elb.add_tags(
            ResourceArns=[alb["listener"]], Tags=[{"Key": WEIGHTS_TAG, "Value": "external"}]
        )
        # A host rule written by hand long ago: blue only, no contract, clients pinned a day.
        elb.create_rule(
            ListenerArn=alb["listener"],
            Priority=10,
            Conditions=[{"Field": "host-header", "Values": ["admin.photos.example.com"]}],
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [{"TargetGroupArn": alb["blue"], "Weight": 1}],
                        "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 86400},
                    },
                }
            ],
        )
    for color, cidrs in (("blue", ("10.0.0", "10.0.1")), ("green", _green_cidrs(region))):
        targets = [{"Id": f"{cidr}.{10 + i}", "Port": 8080} for cidr in cidrs for i in range(2)]
        elb.register_targets(TargetGroupArn=alb[color], Targets=targets)


def _green_cidrs(region: str) -> tuple[str, ...]:
    """Green's targets: both zones in ap-northeast-1; only zone a in us-east-1."""
    return ("10.0.0", "10.0.1") if region == "ap-northeast-1" else ("10.0.2",)


def _issuer(eks: Any, name: str) -> str:
    return str(eks.describe_cluster(name=name)["cluster"]["identity"]["oidc"]["issuer"])


def _identity(region: str, endpoint: str, specs: list[ClusterSpec], extras: EksExtraState) -> None:
    eks = client("eks", region, endpoint)
    iam = client("iam", region, endpoint)
    short = _short(region)
    issuers: dict[Role, str] = {s.role: _issuer(eks, s.name) for s in specs}
    for issuer in issuers.values():
        iam.create_open_id_connect_provider(
            Url=issuer,
            ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
            ClientIDList=["sts.amazonaws.com"],
        )
    trusted: list[Role] = ["blue"] if region == "us-east-1" else ["blue", "green"]
    subject = f"system:serviceaccount:{SERVICE_NAMESPACE}:photo-api"
    statements = [
        {
            "Effect": "Allow",
            "Principal": {
                "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/"
                + issuers[role].removeprefix("https://")
            },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {issuers[role].removeprefix("https://") + ":sub": subject}
            },
        }
        for role in trusted
    ]
    iam.create_role(
        RoleName=f"photos-{short}-api",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    pods_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    uploader = iam.create_role(
        RoleName=f"photos-{short}-uploader", AssumeRolePolicyDocument=json.dumps(pods_trust)
    )["Role"]["Arn"]
    pinned = [s.name for s in specs if s.role == "blue"]
    if region == "us-east-1":
        pinned += [s.name for s in specs if s.role == "green"]
    iam.put_role_policy(
        RoleName=f"photos-{short}-uploader",
        PolicyName="uploads",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::photos-{short}-uploads/*",
                        "Condition": {
                            "StringEquals": {"aws:PrincipalTag/eks-cluster-name": pinned}
                        },
                    }
                ],
            }
        ),
    )
    for spec in specs:
        if spec.role not in ("blue", "green"):
            continue
        eks.create_pod_identity_association(
            clusterName=spec.name,
            namespace=SERVICE_NAMESPACE,
            serviceAccount="upload-svc",
            roleArn=uploader,
        )
        principals = [f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"]
        if spec.role == "blue" or region == "ap-northeast-1":
            principals.append(f"arn:aws:iam::{ACCOUNT}:role/photos-deployer")
        for principal in principals:
            extras.add_access_entry(region, spec.name, principal)


def _database(
    region: str, endpoint: str, vpc: str, nets: dict[str, ClusterNetwork], specs: list[ClusterSpec]
) -> None:
    """An RDS instance whose security group admits blue's cluster security group, and green's
    too except in us-east-1."""
    ec2, rds = client("ec2", region, endpoint), client("rds", region, endpoint)
    group = ec2.create_security_group(
        GroupName=f"photos-{_short(region)}-db", Description="photos database", VpcId=vpc
    )["GroupId"]
    sources = [
        s for s in specs if s.role == "blue" or (s.role == "green" and region != "us-east-1")
    ]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [
                    {"GroupId": sg} for s in sources for sg in nets[s.name].security_groups
                ],
            }
        ],
    )
    rds.create_db_instance(
        DBInstanceIdentifier=f"photos-{_short(region)}",
        DBInstanceClass="db.r6g.large",
        Engine="postgres",
        MasterUsername="photos",
        MasterUserPassword="sandbox-not-a-secret",
        AllocatedStorage=100,
        VpcSecurityGroupIds=[group],
    )


def _request_history(region: str, endpoint: str, alb: dict[str, str], now: datetime) -> None:
    """Seven days of blue's RequestCount (5-minute sums) before the traffic model's three
    hours: a daily curve that peaks at 28 req/s (1.4 times the generator's 20) half an hour
    after the time of day the sandbox starts, whatever that time is. Readiness sizes green
    for the peak of the cutover's hours on earlier days against blue's rate now (the
    model's last half hour, about 16.5 req/s, then the generator's, about 20), so the
    demo's needs keep their margins at any hour: 50 % fits green's 2 replicas, 100 % does
    not (its waivers), and ap-northeast-1's blue floor of 2 is too low."""
    cloudwatch = client("cloudwatch", region, endpoint)
    lb = alb["load_balancer"].split(":")[-1].removeprefix("loadbalancer/")
    dims = [
        {"Name": "LoadBalancer", "Value": lb},
        {"Name": "TargetGroup", "Value": alb["blue"].split(":")[-1]},
    ]
    end = (now - timedelta(minutes=METRIC_MINUTES)).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 5)
    start = end - timedelta(days=7)
    data = []
    when = start
    peak = now + timedelta(minutes=30)
    while when < end:
        hours = (when - peak).total_seconds() / 3600
        per_minute = 1200 * (1.05 + 0.35 * math.cos(2 * math.pi * hours / 24))
        data.append(
            {
                "MetricName": "RequestCount",
                "Dimensions": dims,
                "Timestamp": when,
                "Value": round(per_minute * 5),
                "Unit": "Count",
            }
        )
        when += timedelta(seconds=HISTORY_PERIOD)
    for i in range(0, len(data), 500):
        cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data[i : i + 500])


# ---------------------------------------------------------------------------- Kubernetes


def _patch(
    server: FakeKubeAPIServer,
    api_version: str,
    plural: str,
    namespace: str,
    name: str,
    change: Callable[[Obj], None],
) -> None:
    """Change an object the scenario seeded, as a controller's update would."""
    group, version = split_api_version(api_version)
    rt = server.registry.get(group, version, plural)
    assert rt is not None, f"{api_version} {plural} is not served"
    obj = copy.deepcopy(server.store.get(rt, namespace, name).obj)
    change(obj)
    server.add(obj)


def _set_image(server: FakeKubeAPIServer, name: str, image: str) -> None:
    """Run `image` in a Deployment and its pods, each pod reporting the image's digest."""
    digest = f"{image.rsplit(':', 1)[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"

    def template(obj: Obj) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = image

    _patch(server, "apps/v1", "deployments", SERVICE_NAMESPACE, name, template)
    pods = server.registry.get("", "v1", "pods")
    assert pods is not None
    page = server.store.list(pods, SERVICE_NAMESPACE, label_selector=f"app={name}")
    for entry in page.entries:
        pod = copy.deepcopy(entry.obj)
        pod["spec"]["containers"][0]["image"] = image
        for status in pod["status"].get("containerStatuses", []):
            status.update(image=image, imageID=digest)
        server.add(pod)


def _set_args(server: FakeKubeAPIServer, namespace: str, name: str, args: list[str]) -> None:
    def change(obj: Obj) -> None:
        obj["spec"]["template"]["spec"]["containers"][0]["args"] = args

    _patch(server, "apps/v1", "deployments", namespace, name, change)


def _kube(spec: ClusterSpec, server: FakeKubeAPIServer, alb: dict[str, str]) -> None:
    region, role, short = spec.region, spec.role, _short(spec.region)
    for rt in READINESS_TYPES:
        server.register_type(rt)
    ns = SERVICE_NAMESPACE
    objects: list[Obj] = [
        k.service(ns, name, ports=(8080,), selector={"app": name}, created=_EPOCH)
        for name in REQUEST_PATH
    ]
    objects.append(
        k.custom(
            "elbv2.k8s.aws/v1beta1",
            "TargetGroupBinding",
            ns,
            "web-frontend",
            spec={
                "serviceRef": {"name": "web-frontend", "port": 8080},
                "targetGroupARN": alb[role],
                "targetType": "ip",
            },
            created=_EPOCH,
        )
    )
    gated = not (region == "us-east-1" and role == "green")
    objects.append(
        k.namespace(ns, labels={READINESS_GATE: "enabled"} if gated else None, created=_EPOCH)
    )
    blue_floor = 2 if region == "ap-northeast-1" else 6
    for name in REQUEST_PATH:
        low = (blue_floor if name == "photo-api" else 6) if role == "blue" else 2
        # green's photo-api cannot scale past 2 in ap-northeast-1: too few for 100 % at the peak
        high = 2 if (role, name, region) == ("green", "photo-api", "ap-northeast-1") else 12
        objects.append(
            k.hpa(
                ns,
                name,
                name,
                min_replicas=low,
                max_replicas=max(low, high),
                current_replicas=2,
                created=_EPOCH,
            )
        )
    paused = region == "us-east-1" and role == "green"
    objects.append(
        k.custom(
            "keda.sh/v1alpha1",
            "ScaledObject",
            ns,
            CONSUMER,
            spec={
                "scaleTargetRef": {"name": CONSUMER},
                "minReplicaCount": 1,
                "maxReplicaCount": 20,
                "triggers": [
                    {
                        "type": "aws-sqs-queue",
                        "metadata": {"queueURL": f"photos-{short}-thumbnails"},
                    }
                ],
            },
            annotations={"autoscaling.keda.sh/paused-replicas": "0"} if paused else None,
            created=_EPOCH,
        )
    )
    stateful = k.statefulset(ns, STATEFUL, replicas=1, created=_EPOCH)
    stateful["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "50Gi"}},
            },
        }
    ]
    objects.append(stateful)
    objects += [
        # Without its role annotation where the scenario says so: the inventory's IRSA
        # parity seed (use1-green), checked by step 1's parity, not here.
        k.service_account(
            ns,
            "photo-api",
            {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/photos-{short}-api"}
            if spec.irsa_annotated
            else None,
            created=_EPOCH,
        ),
        k.service_account(ns, "upload-svc", created=_EPOCH),
    ]
    server.add_many(objects)
    tag = "4.1.0" if region == "ap-northeast-1" and role == "green" else "4.0.2"
    _set_image(server, "photo-api", f"public.ecr.aws/photos/photo-api:{tag}")
    owner = f"photos-{short}" if region == "ap-northeast-1" else f"photos-{short}-{role}"
    policy = "sync" if region == "ap-northeast-1" else "upsert-only"
    _set_args(
        server,
        "external-dns",
        "external-dns",
        ["--source=service", f"--txt-owner-id={owner}", f"--policy={policy}"],
    )
    if role == "blue" and region == "us-east-1":
        _set_args(
            server, "cluster-autoscaler", "cluster-autoscaler", ["--scale-down-enabled=false"]
        )
    if role == "green" and region == "us-east-1":

        def suspend(obj: Obj) -> None:
            obj["spec"]["suspend"] = True

        _patch(server, "batch/v1", "cronjobs", ns, "nightly-prune", suspend)


def seed_management(server: FakeKubeAPIServer) -> None:
    """The `photos` AppProject, with a deny window over ap-northeast-1's apps only."""
    server.register_type(ARGO_APP_PROJECT)
    server.add(
        k.custom(
            "argoproj.io/v1alpha1",
            "AppProject",
            ARGOCD_NAMESPACE,
            "photos",
            spec={
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "syncWindows": [
                    {
                        "kind": "deny",
                        "schedule": "0 22 * * *",
                        "duration": "8h",
                        "applications": ["*-apne1-blue", "*-apne1-green"],
                        "manualSync": True,
                    },
                    {
                        "kind": "allow",
                        "schedule": "0 9 * * 1-5",
                        "duration": "8h",
                        "applications": ["*"],
                    },
                ],
            },
            created=_EPOCH,
        )
    )


def seed_region(
    region: str,
    endpoint: str,
    vpc: str,
    alb: dict[str, str],
    specs: list[ClusterSpec],
    nets: dict[str, ClusterNetwork],
    servers: dict[str, FakeKubeAPIServer],
    extras: EksExtraState,
    now: datetime,
) -> None:
    """Everything readiness reads in one region, once its clusters and ALB exist."""
    service = [s for s in specs if s.region == region and s.role in ("blue", "green")]
    _load_balancer(region, endpoint, alb)
    _identity(region, endpoint, service, extras)
    _database(region, endpoint, vpc, nets, service)
    quotas_extra.STATE.set_quota(
        region, quotas_extra.ec2_vcpus(24 if region == "ap-northeast-1" else 512)
    )
    _request_history(region, endpoint, alb, now)
    for spec in service:
        _kube(spec, servers[spec.name], alb)

"""Apply the scenario to the running servers, through the same APIs a real estate answers.

AWS state is created with boto3 calls against moto's server (CreateCluster, CreateAddon,
CreateLoadBalancer, PutMetricData, ...), so the seeded estate is exactly what those APIs
produce; only what has no AWS write API (Upgrade Insights) goes through the sandbox's
in-process seeding hooks. Helm release Secrets are made by the real helm binary.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from ekslift.charts.helm import Helm
from ekslift_sandbox.eks_extra import EksExtraState
from ekslift_sandbox.helmrecords import encode_release_secret, release_revision
from ekslift_sandbox.scenario import HELM_VALUE_SENTINEL, ClusterSpec
from ekslift_sandbox.trafficmodel import alb_minutes

log = logging.getLogger(__name__)
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/eks-cluster"
NODE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/eks-node"
ZONE_NAME = "photos.example.com"
ARCHIVE_BUCKET = "ekslift-sandbox-archive"


def client(service: str, region: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def network(ec2: Any, region: str) -> tuple[str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{zone}"
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate("ac")
    ]
    return vpc, subnets


def seed_eks(
    spec: ClusterSpec,
    endpoint: str,
    subnets: list[str],
    extras: EksExtraState,
    security_groups: list[str] | None = None,
) -> None:
    eks = client("eks", spec.region, endpoint)
    eks.create_cluster(
        name=spec.name,
        version=spec.upgraded_from or spec.version,
        roleArn=ROLE_ARN,
        resourcesVpcConfig={"subnetIds": subnets, "securityGroupIds": security_groups or []},
        upgradePolicy={"supportType": spec.support_type},
    )
    for name, version in spec.addons_before_upgrade:
        eks.create_addon(clusterName=spec.name, addonName=name, addonVersion=version)
    if spec.upgraded_from:
        update = eks.update_cluster_version(name=spec.name, version=spec.version)["update"]
        eks.describe_update(name=spec.name, updateId=update["id"])
    extras.set_platform_version(
        spec.region, spec.name, "eks.12" if spec.version == "1.33" else "eks.6"
    )
    for ng in spec.nodegroups:
        eks.create_nodegroup(
            clusterName=spec.name,
            nodegroupName=ng.name,
            version=ng.version,
            amiType=ng.ami_type,
            subnets=subnets,
            nodeRole=NODE_ROLE_ARN,
            instanceTypes=[ng.instance_type],
            scalingConfig={"minSize": 0, "maxSize": ng.nodes * 2, "desiredSize": ng.nodes},
            labels={"role": ng.name.removeprefix("ng-")},
        )
    for name, version in spec.addons:
        eks.create_addon(clusterName=spec.name, addonName=name, addonVersion=version)
    for insight in spec.insights:
        extras.add_insight(spec.region, spec.name, insight)


def seed_load_balancer(
    region: str, short: str, endpoint: str, vpc: str, subnets: list[str]
) -> dict[str, str]:
    """An ALB with blue and green target groups and a weighted listener (all blue)."""
    elb = client("elbv2", region, endpoint)
    alb = elb.create_load_balancer(
        Name=f"photos-{short}", Subnets=subnets, Type="application", Scheme="internet-facing"
    )["LoadBalancers"][0]
    groups = {
        color: elb.create_target_group(
            Name=f"photos-{short}-{color}",
            Protocol="HTTP",
            Port=80,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckPath="/healthz",
        )["TargetGroups"][0]["TargetGroupArn"]
        for color in ("blue", "green")
    }
    listener = elb.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": groups["blue"], "Weight": 100},
                        {"TargetGroupArn": groups["green"], "Weight": 0},
                    ]
                },
            }
        ],
    )["Listeners"][0]
    return {
        "listener": listener["ListenerArn"],
        "load_balancer": alb["LoadBalancerArn"],
        "dns": alb["DNSName"],
        "blue": groups["blue"],
        "green": groups["green"],
    }


def seed_lease_table(region: str, endpoint: str, name: str) -> None:
    """The guard's DynamoDB table (``shift.guard.table``), as deploy/rollback-function.yaml
    creates it in a real account: key ``pk``/``sk``, on demand."""
    client("dynamodb", region, endpoint).create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def seed_route53(endpoint: str, albs: dict[str, dict[str, str]]) -> str:
    """A hosted zone with one latency record per region, in front of each region's ALB."""
    route53 = client("route53", "us-east-1", endpoint)
    zone = route53.create_hosted_zone(Name=ZONE_NAME, CallerReference="ekslift-sandbox")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    changes = [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": f"api.{ZONE_NAME}",
                "Type": "CNAME",
                "SetIdentifier": region,
                "Region": region,
                "TTL": 60,
                "ResourceRecords": [{"Value": alb["dns"]}],
            },
        }
        for region, alb in albs.items()
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return zone_id


def seed_archive_bucket(endpoint: str) -> str:
    """A bucket with Object Lock for run archives (`archive_dir: s3://…`), as an audit
    account would provide; returns the archive URL."""
    client("s3", "us-east-1", endpoint).create_bucket(
        Bucket=ARCHIVE_BUCKET, ObjectLockEnabledForBucket=True
    )
    return f"s3://{ARCHIVE_BUCKET}/runs"


def _dimension(arn: str, kind: str) -> str:
    """ALB metric dimensions are the ARN's tail: `app/<name>/<id>`, `targetgroup/<name>/<id>`."""
    return arn.split(":")[-1].removeprefix("loadbalancer/") if kind == "lb" else arn.split(":")[-1]


def seed_alb_metrics(
    region: str, endpoint: str, alb: dict[str, str], regress: bool, now: datetime
) -> None:
    """Three hours of per-minute ALB metrics for both target groups, from the traffic model
    the Prometheus history is written from too."""
    cloudwatch = client("cloudwatch", region, endpoint)
    lb = _dimension(alb["load_balancer"], "lb")
    data: list[dict[str, Any]] = []
    for color, minutes in alb_minutes(region, regress, now).items():
        dims = [
            {"Name": "LoadBalancer", "Value": lb},
            {"Name": "TargetGroup", "Value": _dimension(alb[color], "tg")},
        ]
        for minute in minutes:
            data += [
                {
                    "MetricName": "RequestCount",
                    "Dimensions": dims,
                    "Timestamp": minute.start,
                    "Value": minute.requests,
                    "Unit": "Count",
                },
                {
                    "MetricName": "HTTPCode_Target_5XX_Count",
                    "Dimensions": dims,
                    "Timestamp": minute.start,
                    "Value": minute.errors,
                    "Unit": "Count",
                },
                {
                    "MetricName": "TargetResponseTime",
                    "Dimensions": dims,
                    "Timestamp": minute.start,
                    "Values": list(minute.latencies),
                    "Counts": [minute.requests / len(minute.latencies)] * len(minute.latencies),
                    "Unit": "Seconds",
                },
            ]
    for start in range(0, len(data), 500):
        cloudwatch.put_metric_data(
            Namespace="AWS/ApplicationELB", MetricData=data[start : start + 500]
        )


class ReleaseMaker:
    """Release records from `helm install --dry-run`, cached: clusters share chart versions."""

    def __init__(self, helm: Helm, repo: str) -> None:
        self.helm = helm
        self.repo = repo
        self._cache: dict[tuple[str, str, str, str], dict[str, Any]] = {}

    def record(self, chart: str, version: str, namespace: str, kube_version: str) -> dict[str, Any]:
        key = (chart, version, namespace, kube_version)
        if key not in self._cache:
            values = {"secret": {"password": HELM_VALUE_SENTINEL}} if chart == "redis" else {}
            self._cache[key] = self.helm.install_dry_run_record(
                f"{self.repo}/{chart}",
                chart,
                namespace,
                values,
                kube_version,
                version=version,
            )
        return copy.deepcopy(self._cache[key])

    def secrets(self, spec: ClusterSpec) -> list[dict[str, Any]]:
        """Every revision of every helm-installed release of a cluster, as release Secrets."""
        objects = []
        first = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
        for release in spec.helm_releases:
            last = len(release.versions)
            for revision, version in enumerate(release.versions, start=1):
                record = self.record(release.chart, version, release.namespace, spec.patch)
                stored = release_revision(
                    record,
                    revision=revision,
                    status="deployed" if revision == last else "superseded",
                    deployed_at=first + timedelta(days=30 * revision),
                    first_deployed=first + timedelta(days=30),
                )
                objects.append(encode_release_secret(stored))
        return objects

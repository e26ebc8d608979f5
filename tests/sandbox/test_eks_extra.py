"""Contract tests of the EKS calls the sandbox adds to moto, over real HTTP through boto3.

Every answer is checked against botocore's service model with botocore's Stubber, which
rejects a field that is not in the output shape or has the wrong type. Also here: the
retry configuration of ``ekslift.aws.client`` and botocore retrying an injected throttle.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from ekslift import aws
from ekslift_sandbox.awsserver import AwsSandbox, Fault
from tests.sandbox.conftest import fits_model

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-node"
NOW = datetime(2026, 2, 15, tzinfo=UTC)  # 1.29/1.30/1.31 extended, 1.32+ standard, 1.28 gone

pytestmark = pytest.mark.sandbox


@pytest.fixture
def eks(aws_sandbox: AwsSandbox) -> Any:
    aws_sandbox.reset()
    aws_sandbox.eks.clock = lambda: NOW
    return aws.client("eks", REGION)


def make_cluster(eks: Any, name: str = "blue", version: str = "1.32") -> None:
    eks.create_cluster(
        name=name, version=version, roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-a"]}
    )


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    answer = caught.value.response
    meta = answer["ResponseMetadata"]
    return answer["Error"]["Code"], meta["HTTPStatusCode"], meta["HTTPHeaders"]


DEPRECATED_API_INSIGHT: dict[str, Any] = {
    "name": "Deprecated APIs removed in Kubernetes v1.33",
    "kubernetesVersion": "1.33",
    "description": "Checks for usage of deprecated APIs that are scheduled for removal in v1.33.",
    "insightStatus": {"status": "ERROR", "reason": "Deprecated API usage detected within 30 days"},
    "recommendation": "Update manifests and API clients to use newer Kubernetes APIs.",
    "additionalInfo": {
        "EKS update cluster documentation": (
            "https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html"
        )
    },
    "resources": [
        {
            "insightStatus": {"status": "ERROR"},
            "kubernetesResourceUri": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
        }
    ],
    "categorySpecificSummary": {
        "deprecationDetails": [
            {
                "usage": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
                "replacedWith": "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
                "stopServingVersion": "1.32",
                "startServingReplacementVersion": "1.29",
                "clientStats": [
                    {
                        "userAgent": "prometheus-adapter/v0.11.2",
                        "numberOfRequestsLast30Days": 4821,
                        "lastRequestTime": datetime(2026, 2, 14, 23, 10, tzinfo=UTC),
                    }
                ],
            }
        ],
        "addonCompatibilityDetails": [],
    },
}

ADDON_INSIGHT: dict[str, Any] = {
    "name": "Amazon EKS add-on version compatibility",
    "kubernetesVersion": "1.33",
    "description": "Checks version of installed EKS add-ons to ensure they are compatible.",
    "insightStatus": {"status": "PASSING", "reason": "All add-ons are compatible"},
    "categorySpecificSummary": {
        "deprecationDetails": [],
        "addonCompatibilityDetails": [
            {"name": "vpc-cni", "compatibleVersions": ["v1.20.4-eksbuild.2"]}
        ],
    },
}


# ------------------------------------------------------------------------- clusters


def test_describe_cluster_reports_platform_health_and_upgrade_policy(
    aws_sandbox: AwsSandbox, eks: Any
) -> None:
    make_cluster(eks)
    cluster = fits_model(eks, "describe_cluster", eks.describe_cluster(name="blue"))["cluster"]
    assert cluster["platformVersion"] == "eks.34"
    assert cluster["health"] == {"issues": []}
    assert cluster["upgradePolicy"] == {"supportType": "EXTENDED"}

    aws_sandbox.eks.set_platform_version(REGION, "blue", "eks.12")
    issue = {"code": "Ec2SubnetNotFound", "message": "subnet-a is gone", "resourceIds": ["a"]}
    aws_sandbox.eks.set_health(REGION, "blue", [issue])
    aws_sandbox.eks.set_upgrade_policy(REGION, "blue", "STANDARD")
    cluster = fits_model(eks, "describe_cluster", eks.describe_cluster(name="blue"))["cluster"]
    assert cluster["platformVersion"] == "eks.12"
    assert cluster["health"]["issues"][0]["code"] == "Ec2SubnetNotFound"
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


def test_create_cluster_defaults_to_the_calendar_default_version(eks: Any) -> None:
    eks.create_cluster(name="fresh", roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-a"]})
    assert eks.describe_cluster(name="fresh")["cluster"]["version"] == "1.34"
    assert eks.list_clusters()["clusters"] == ["fresh"]


def test_nodegroup_keeps_given_fields_and_defaults_from_the_cluster(eks: Any) -> None:
    make_cluster(eks, version="1.32")
    common = {"clusterName": "blue", "subnets": ["subnet-a"], "nodeRole": NODE_ROLE}
    eks.create_nodegroup(
        nodegroupName="given",
        amiType="BOTTLEROCKET_x86_64",
        version="1.31",
        releaseVersion="1.31.4-20250115",
        labels={"role": "web"},
        **common,
    )
    eks.create_nodegroup(nodegroupName="defaulted", **common)
    given = eks.describe_nodegroup(clusterName="blue", nodegroupName="given")["nodegroup"]
    assert (given["amiType"], given["version"], given["releaseVersion"], given["labels"]) == (
        "BOTTLEROCKET_x86_64",
        "1.31",
        "1.31.4-20250115",
        {"role": "web"},
    )
    answer = eks.describe_nodegroup(clusterName="blue", nodegroupName="defaulted")
    defaulted = fits_model(eks, "describe_nodegroup", answer)["nodegroup"]
    assert defaulted["version"] == "1.32"
    assert defaulted["releaseVersion"] == "1.32.11-20260120"
    assert defaulted["amiType"] == "AL2023_x86_64_STANDARD"


# -------------------------------------------------------------------------- updates


def test_update_cluster_version_completes_and_changes_the_cluster(eks: Any) -> None:
    make_cluster(eks, version="1.32")
    answer = eks.update_cluster_version(name="blue", version="1.33")
    update = fits_model(eks, "update_cluster_version", answer)["update"]
    assert update["status"] == "InProgress"
    assert update["type"] == "VersionUpdate"
    assert {"type": "Version", "value": "1.33"} in update["params"]

    described = eks.describe_update(name="blue", updateId=update["id"])
    assert fits_model(eks, "describe_update", described)["update"]["status"] == "Successful"
    cluster = eks.describe_cluster(name="blue")["cluster"]
    assert (cluster["version"], cluster["platformVersion"], cluster["status"]) == (
        "1.33",
        "eks.27",
        "ACTIVE",
    )
    listed = fits_model(eks, "list_updates", eks.list_updates(name="blue"))
    assert listed["updateIds"] == [update["id"]]


def test_update_cluster_version_refuses_skipping_a_minor(eks: Any) -> None:
    make_cluster(eks, version="1.32")
    code, status, headers = error_of(eks.update_cluster_version, name="blue", version="1.34")
    assert (code, status) == ("InvalidParameterException", 400)
    assert headers["x-amzn-errortype"] == "InvalidParameterException"


def test_update_cluster_version_is_blocked_by_error_insights_unless_forced(
    aws_sandbox: AwsSandbox, eks: Any
) -> None:
    make_cluster(eks, version="1.32")
    aws_sandbox.eks.add_insight(REGION, "blue", DEPRECATED_API_INSIGHT)
    code, status, _ = error_of(eks.update_cluster_version, name="blue", version="1.33")
    assert (code, status) == ("InvalidRequestException", 400)
    update = eks.update_cluster_version(name="blue", version="1.33", force=True)["update"]
    assert update["status"] == "InProgress"


def test_update_nodegroup_version(eks: Any) -> None:
    make_cluster(eks, version="1.32")
    eks.create_nodegroup(
        clusterName="blue",
        nodegroupName="ng",
        subnets=["subnet-a"],
        nodeRole=NODE_ROLE,
        version="1.31",
    )
    answer = eks.update_nodegroup_version(clusterName="blue", nodegroupName="ng")
    update = fits_model(eks, "update_nodegroup_version", answer)["update"]
    assert {"type": "Version", "value": "1.32"} in update["params"]
    described = eks.describe_update(name="blue", updateId=update["id"], nodegroupName="ng")
    assert described["update"]["status"] == "Successful"
    ng = eks.describe_nodegroup(clusterName="blue", nodegroupName="ng")["nodegroup"]
    assert (ng["version"], ng["releaseVersion"]) == ("1.32", "1.32.11-20260120")
    assert eks.list_updates(name="blue", nodegroupName="ng")["updateIds"] == [update["id"]]
    assert eks.list_updates(name="blue")["updateIds"] == []


def test_update_nodegroup_beyond_the_cluster_version_is_refused(eks: Any) -> None:
    make_cluster(eks, version="1.32")
    eks.create_nodegroup(
        clusterName="blue", nodegroupName="ng", subnets=["subnet-a"], nodeRole=NODE_ROLE
    )
    code, _, _ = error_of(
        eks.update_nodegroup_version, clusterName="blue", nodegroupName="ng", version="1.33"
    )
    assert code == "InvalidParameterException"


def test_describe_update_of_unknown_id_is_not_found(eks: Any) -> None:
    make_cluster(eks)
    code, status, headers = error_of(eks.describe_update, name="blue", updateId="nope")
    assert (code, status, headers["x-amzn-errortype"]) == (
        "ResourceNotFoundException",
        404,
        "ResourceNotFoundException",
    )


# --------------------------------------------------------------------------- add-ons


def test_addon_lifecycle(eks: Any) -> None:
    make_cluster(eks, version="1.32")
    created = fits_model(
        eks,
        "create_addon",
        eks.create_addon(clusterName="blue", addonName="coredns", tags={"team": "platform"}),
    )["addon"]
    assert created["addonVersion"] == "v1.11.4-eksbuild.24"  # the default for 1.32
    assert created["status"] == "CREATING"
    described = fits_model(
        eks, "describe_addon", eks.describe_addon(clusterName="blue", addonName="coredns")
    )["addon"]
    assert described["status"] == "ACTIVE"
    assert described["owner"] == "aws"
    assert described["tags"] == {"team": "platform"}

    answer = eks.update_addon(
        clusterName="blue",
        addonName="coredns",
        addonVersion="v1.11.3-eksbuild.2",
        resolveConflicts="OVERWRITE",
    )
    update = fits_model(eks, "update_addon", answer)["update"]
    assert update["type"] == "AddonUpdate"
    after = eks.describe_addon(clusterName="blue", addonName="coredns")["addon"]
    assert after["addonVersion"] == "v1.11.3-eksbuild.2"
    assert eks.list_updates(name="blue", addonName="coredns")["updateIds"] == [update["id"]]

    deleted = fits_model(
        eks, "delete_addon", eks.delete_addon(clusterName="blue", addonName="coredns")
    )["addon"]
    assert deleted["status"] == "DELETING"
    assert eks.list_addons(clusterName="blue")["addons"] == []


def test_addon_errors(eks: Any) -> None:
    make_cluster(eks, version="1.35")
    code, status, _ = error_of(eks.describe_addon, clusterName="blue", addonName="vpc-cni")
    assert (code, status) == ("ResourceNotFoundException", 404)
    code, status, _ = error_of(eks.list_addons, clusterName="missing")
    assert (code, status) == ("ResourceNotFoundException", 404)
    code, _, _ = error_of(eks.create_addon, clusterName="blue", addonName="kubecost_kubecost")
    assert code == "InvalidParameterException"  # no version of it runs on 1.35
    eks.create_addon(clusterName="blue", addonName="vpc-cni")
    code, status, _ = error_of(eks.create_addon, clusterName="blue", addonName="vpc-cni")
    assert (code, status) == ("ResourceInUseException", 409)


def test_list_addons_pages(eks: Any) -> None:
    make_cluster(eks, version="1.33")
    names = ["aws-ebs-csi-driver", "coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]
    for name in names:
        eks.create_addon(clusterName="blue", addonName=name)
    first = fits_model(eks, "list_addons", eks.list_addons(clusterName="blue", maxResults=2))
    assert first["addons"] == names[:2]
    seen = list(first["addons"])
    token = first["nextToken"]
    while token:
        page = eks.list_addons(clusterName="blue", maxResults=2, nextToken=token)
        seen += page["addons"]
        token = page.get("nextToken")
    assert seen == names
    paged = eks.get_paginator("list_addons").paginate(
        clusterName="blue", PaginationConfig={"PageSize": 2}
    )
    assert [n for p in paged for n in p["addons"]] == names


def test_describe_addon_versions_filters(eks: Any) -> None:
    everything = fits_model(eks, "describe_addon_versions", eks.describe_addon_versions())
    names = {a["addonName"] for a in everything["addons"]}
    assert {"vpc-cni", "coredns", "kube-proxy", "kubecost_kubecost"} <= names

    on_135 = fits_model(
        eks, "describe_addon_versions", eks.describe_addon_versions(kubernetesVersion="1.35")
    )["addons"]
    assert "kubecost_kubecost" not in {a["addonName"] for a in on_135}
    for addon in on_135:
        for version in addon["addonVersions"]:
            assert [c["clusterVersion"] for c in version["compatibilities"]] == ["1.35"]

    proxy = eks.describe_addon_versions(addonName="kube-proxy", kubernetesVersion="1.33")
    (only,) = proxy["addons"]
    defaults = [
        v["addonVersion"]
        for v in only["addonVersions"]
        if v["compatibilities"][0]["defaultVersion"]
    ]
    assert defaults == ["v1.33.3-eksbuild.10"]

    market = eks.describe_addon_versions(owners=["aws-marketplace"])["addons"]
    assert [a["addonName"] for a in market] == ["kubecost_kubecost"]
    assert market[0]["marketplaceInformation"]["productUrl"].startswith("https://")


# -------------------------------------------------------------------------- insights


def test_insights_list_filter_and_describe(aws_sandbox: AwsSandbox, eks: Any) -> None:
    make_cluster(eks, version="1.32")
    deprecated = aws_sandbox.eks.add_insight(REGION, "blue", DEPRECATED_API_INSIGHT)
    aws_sandbox.eks.add_insight(REGION, "blue", ADDON_INSIGHT)
    listed = fits_model(eks, "list_insights", eks.list_insights(clusterName="blue"))
    assert len(listed["insights"]) == 2
    assert "recommendation" not in listed["insights"][0]  # summaries only

    errors = eks.list_insights(clusterName="blue", filter={"statuses": ["ERROR"]})["insights"]
    assert [i["id"] for i in errors] == [deprecated]
    other = eks.list_insights(clusterName="blue", filter={"categories": ["MISCONFIGURATION"]})
    assert other["insights"] == []

    answer = eks.describe_insight(clusterName="blue", id=deprecated)
    insight = fits_model(eks, "describe_insight", answer)["insight"]
    detail = insight["categorySpecificSummary"]["deprecationDetails"][0]
    assert detail["replacedWith"] == "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas"
    assert detail["clientStats"][0]["numberOfRequestsLast30Days"] == 4821
    assert detail["clientStats"][0]["lastRequestTime"] == datetime(2026, 2, 14, 23, 10, tzinfo=UTC)
    assert insight["resources"][0]["insightStatus"]["status"] == "ERROR"

    code, status, _ = error_of(eks.describe_insight, clusterName="blue", id="unknown")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_list_insights_pages(aws_sandbox: AwsSandbox, eks: Any) -> None:
    make_cluster(eks)
    ids = [
        aws_sandbox.eks.add_insight(REGION, "blue", {**ADDON_INSIGHT, "name": f"check {n}"})
        for n in range(5)
    ]
    first = eks.list_insights(clusterName="blue", maxResults=3)
    assert len(first["insights"]) == 3
    second = eks.list_insights(clusterName="blue", maxResults=3, nextToken=first["nextToken"])
    assert "nextToken" not in second
    assert [i["id"] for i in first["insights"] + second["insights"]] == ids
    code, _, _ = error_of(eks.list_insights, clusterName="blue", nextToken="garbage")
    assert code == "InvalidParameterException"


def test_seeded_insight_with_a_misspelt_field_is_refused(aws_sandbox: AwsSandbox, eks: Any) -> None:
    make_cluster(eks)
    with pytest.raises(ValueError, match="recomendation"):
        aws_sandbox.eks.add_insight(REGION, "blue", {"name": "x", "recomendation": "typo"})


# ------------------------------------------------------------ access entries, versions


def test_list_access_entries(aws_sandbox: AwsSandbox, eks: Any) -> None:
    make_cluster(eks)
    admin = "arn:aws:iam::123456789012:role/platform-admin"
    viewer = "arn:aws:iam::123456789012:role/viewer"
    policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    aws_sandbox.eks.add_access_entry(REGION, "blue", admin, [policy])
    aws_sandbox.eks.add_access_entry(REGION, "blue", viewer)
    listed = fits_model(eks, "list_access_entries", eks.list_access_entries(clusterName="blue"))
    assert listed["accessEntries"] == [admin, viewer]
    only = eks.list_access_entries(clusterName="blue", associatedPolicyArn=policy)
    assert only["accessEntries"] == [admin]


def test_describe_cluster_versions(eks: Any) -> None:
    answer = fits_model(eks, "describe_cluster_versions", eks.describe_cluster_versions())
    rows = {v["clusterVersion"]: v for v in answer["clusterVersions"]}
    assert list(rows) == ["1.35", "1.34", "1.33", "1.32", "1.31", "1.30", "1.29"]
    assert rows["1.32"]["versionStatus"] == "STANDARD_SUPPORT"
    assert rows["1.32"]["status"] == "standard-support"
    assert rows["1.31"]["versionStatus"] == "EXTENDED_SUPPORT"
    assert rows["1.34"]["defaultVersion"] is True
    assert rows["1.33"]["endOfStandardSupportDate"] == datetime(2026, 7, 29, tzinfo=UTC)
    assert rows["1.33"]["endOfExtendedSupportDate"] == datetime(2027, 7, 29, tzinfo=UTC)
    assert rows["1.33"]["releaseDate"] == datetime(2025, 5, 29, tzinfo=UTC)

    everything = eks.describe_cluster_versions(includeAll=True)["clusterVersions"]
    assert everything[-1]["clusterVersion"] == "1.28"
    assert everything[-1]["versionStatus"] == "UNSUPPORTED"
    extended = eks.describe_cluster_versions(versionStatus="EXTENDED_SUPPORT")["clusterVersions"]
    assert [v["clusterVersion"] for v in extended] == ["1.31", "1.30", "1.29"]
    picked = eks.describe_cluster_versions(clusterVersions=["1.33", "1.35"])["clusterVersions"]
    assert [v["clusterVersion"] for v in picked] == ["1.35", "1.33"]
    default = eks.describe_cluster_versions(defaultOnly=True)["clusterVersions"]
    assert [v["clusterVersion"] for v in default] == ["1.34"]


# ------------------------------------------------------------------ retries and faults


def test_client_config_retries_and_user_agent(aws_sandbox: AwsSandbox) -> None:
    aws.configure(aws.AwsSettings(retry_mode="adaptive", max_attempts=4, read_timeout=30))
    try:
        config = aws.client("eks", REGION).meta.config
        assert config.retries == {"mode": "adaptive", "total_max_attempts": 4}
        assert config.read_timeout == 30
        assert config.user_agent_extra.startswith("ekslift/")
        assert aws.client("eks", REGION) is aws.client("eks", REGION)
        assert aws.client("eks", REGION).meta.endpoint_url == aws_sandbox.url
    finally:
        aws.configure(aws.AwsSettings())


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ThrottlingException"), (429, "TooManyRequestsException"), (503, "")],
)
def test_injected_faults_are_retried(eks: Any, status: int, code: str) -> None:
    make_cluster(eks)
    spec = {"operation": "DescribeCluster", "status": status, "code": code, "times": 2}
    request = urllib.request.Request(
        f"{eks.meta.endpoint_url}/_sandbox/faults",
        data=json.dumps(spec).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:  # as another process would
        assert answer.status == 201
    response = eks.describe_cluster(name="blue")
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert response["cluster"]["name"] == "blue"


def test_fault_beyond_max_attempts_surfaces_with_its_code(
    aws_sandbox: AwsSandbox, eks: Any
) -> None:
    make_cluster(eks)
    aws.configure(aws.AwsSettings(max_attempts=2))
    try:
        aws_sandbox.arm_fault(Fault(operation="ListAddons", status=400, times=3))
        code, status, _ = error_of(aws.client("eks", REGION).list_addons, clusterName="blue")
    finally:
        aws.configure(aws.AwsSettings())
    assert (code, status) == ("ThrottlingException", 400)
    assert [f.times for f in aws_sandbox.faults.armed()] == [1]
    assert eks.describe_cluster(name="blue")["ResponseMetadata"]["RetryAttempts"] == 0
    aws_sandbox.reset()
    assert aws_sandbox.faults.armed() == []


def test_a_stalled_answer_times_out_and_is_retried(aws_sandbox: AwsSandbox, eks: Any) -> None:
    make_cluster(eks)
    aws.configure(aws.AwsSettings(read_timeout=0.5, max_attempts=3))
    try:
        aws_sandbox.arm_fault(Fault(operation="DescribeCluster", status=0, delay_seconds=1.5))
        answer = aws.client("eks", REGION).describe_cluster(name="blue")
        assert answer["cluster"]["name"] == "blue"
        assert answer["ResponseMetadata"]["RetryAttempts"] == 1
        aws_sandbox.arm_fault(
            Fault(operation="DescribeCluster", status=0, delay_seconds=1.5, times=3)
        )
        with pytest.raises(ReadTimeoutError):
            aws.client("eks", REGION).describe_cluster(name="blue")
    finally:
        aws.configure(aws.AwsSettings())


@pytest.mark.parametrize(
    ("service", "operation", "method"),
    [
        ("elbv2", "DescribeLoadBalancers", "describe_load_balancers"),  # query
        ("route53", "ListHostedZones", "list_hosted_zones"),  # rest-xml
        ("cloudwatch", "ListMetrics", "list_metrics"),  # json
        ("sts", "GetCallerIdentity", "get_caller_identity"),  # query, global
    ],
)
def test_faults_speak_each_protocol(
    aws_sandbox: AwsSandbox, eks: Any, service: str, operation: str, method: str
) -> None:
    aws.configure(aws.AwsSettings(max_attempts=1))
    try:
        client = aws.client(service, REGION)
        aws_sandbox.arm_fault(Fault(operation=operation, status=400, code="Throttling"))
        code, status, _ = error_of(getattr(client, method))
        assert (code, status) == ("Throttling", 400)
        getattr(client, method)()  # the fault is spent
    finally:
        aws.configure(aws.AwsSettings())

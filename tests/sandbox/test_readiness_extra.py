"""Contract tests of the calls the sandbox adds for cutover readiness: EKS Pod Identity
associations and Service Quotas' GetServiceQuota, over real HTTP through boto3, each answer
held to botocore's output shape; and a throttled call retried by botocore."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ekslift import aws
from ekslift_sandbox import quotas_extra
from ekslift_sandbox.awsserver import AwsSandbox, Fault
from tests.sandbox.conftest import fits_model

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
APP_ROLE = "arn:aws:iam::123456789012:role/photos-uploader"

pytestmark = pytest.mark.sandbox


@pytest.fixture
def eks(aws_sandbox: AwsSandbox) -> Any:
    aws_sandbox.reset()
    client = aws.client("eks", REGION)
    client.create_cluster(name="green", roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["s-a"]})
    return client


def test_pod_identity_associations_round_trip(eks: Any) -> None:
    created = eks.create_pod_identity_association(
        clusterName="green", namespace="photos", serviceAccount="uploader", roleArn=APP_ROLE
    )
    fits_model(eks, "create_pod_identity_association", created)
    association = created["association"]
    assert association["roleArn"] == APP_ROLE and association["associationId"].startswith("a-")
    eks.create_pod_identity_association(
        clusterName="green", namespace="other", serviceAccount="worker", roleArn=APP_ROLE
    )

    listed = eks.list_pod_identity_associations(clusterName="green", namespace="photos")
    fits_model(eks, "list_pod_identity_associations", listed)
    assert [a["serviceAccount"] for a in listed["associations"]] == ["uploader"]
    assert "roleArn" not in listed["associations"][0], "the summary shape has no roleArn"

    described = eks.describe_pod_identity_association(
        clusterName="green", associationId=association["associationId"]
    )
    fits_model(eks, "describe_pod_identity_association", described)
    assert described["association"]["serviceAccount"] == "uploader"


def test_pod_identity_pages_and_errors(eks: Any) -> None:
    for i in range(3):
        eks.create_pod_identity_association(
            clusterName="green", namespace="ns", serviceAccount=f"sa{i}", roleArn=APP_ROLE
        )
    first = eks.list_pod_identity_associations(clusterName="green", maxResults=2)
    assert len(first["associations"]) == 2 and first["nextToken"]
    rest = eks.list_pod_identity_associations(
        clusterName="green", maxResults=2, nextToken=first["nextToken"]
    )
    assert len(rest["associations"]) == 1 and "nextToken" not in rest
    with pytest.raises(ClientError) as missing:
        eks.describe_pod_identity_association(clusterName="green", associationId="a-nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as no_cluster:
        eks.list_pod_identity_associations(clusterName="nope")
    assert no_cluster.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as twice:
        eks.create_pod_identity_association(
            clusterName="green", namespace="ns", serviceAccount="sa0", roleArn=APP_ROLE
        )
    assert twice.value.response["Error"]["Code"] == "ResourceInUseException"


def test_get_service_quota_answers_seeded_quota(aws_sandbox: AwsSandbox) -> None:
    aws_sandbox.reset()
    quotas = aws.client("service-quotas", REGION)
    with pytest.raises(ClientError) as unseeded:
        quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-1216C47A")
    assert unseeded.value.response["Error"]["Code"] == "NoSuchResourceException"
    quotas_extra.STATE.set_quota(REGION, quotas_extra.ec2_vcpus(256))
    answer = quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-1216C47A")
    fits_model(quotas, "get_service_quota", answer)
    assert answer["Quota"]["Value"] == 256.0 and answer["Quota"]["QuotaCode"] == "L-1216C47A"
    other = aws.client("service-quotas", "us-west-2")
    with pytest.raises(ClientError):
        other.get_service_quota(ServiceCode="ec2", QuotaCode="L-1216C47A")
    vpc = quotas.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")
    assert vpc["Quota"]["QuotaCode"] == "L-F678F1CE", "moto's own quotas still answer"


def test_throttled_quota_and_pod_identity_calls_are_retried(
    eks: Any, aws_sandbox: AwsSandbox
) -> None:
    quotas_extra.STATE.set_quota(REGION, quotas_extra.ec2_vcpus(64))
    aws_sandbox.arm_fault(Fault("GetServiceQuota", status=400, code="ThrottlingException", times=2))
    aws_sandbox.arm_fault(
        Fault("ListPodIdentityAssociations", status=429, code="TooManyRequestsException", times=1)
    )
    quotas = aws.client("service-quotas", REGION)
    answer = quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-1216C47A")
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    listed = eks.list_pod_identity_associations(clusterName="green")
    assert listed["ResponseMetadata"]["RetryAttempts"] == 1

"""The sandbox's request logs: every AWS operation (S3's query-distinguished ones included)
and every Kubernetes request, with the user agent that names the calling step."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ekslift import aws
from ekslift.params import ArchiveParams
from ekslift.stores.s3 import S3Store
from ekslift.useragent import STEP_ENV
from ekslift_sandbox.awsserver import AwsSandbox
from ekslift_sandbox.kubeapi import FakeKubeAPIServer


def _log(url: str, method: str = "GET", query: str = "") -> Any:
    request = urllib.request.Request(f"{url}/_sandbox/requests{query}", method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_aws_operations_are_logged_with_the_step(
    aws_sandbox: AwsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STEP_ENV, "07-test")
    aws.clear_cache()
    s3 = aws.client("s3", "us-east-1")
    s3.create_bucket(Bucket="log-test", ObjectLockEnabledForBucket=True)
    _log(aws_sandbox.url, "DELETE")
    until = datetime.now(UTC) + timedelta(days=1)
    s3.put_object(
        Bucket="log-test",
        Key="r/a.txt",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )
    s3.head_object(Bucket="log-test", Key="r/a.txt")
    s3.get_object(Bucket="log-test", Key="r/a.txt")
    s3.get_object_lock_configuration(Bucket="log-test")
    s3.list_objects_v2(Bucket="log-test", Prefix="r/")
    aws.client("eks", "us-east-1").list_clusters()
    items = _log(aws_sandbox.url)["items"]
    assert [(i["service"], i["operation"]) for i in items] == [
        ("s3", "PutObject"),
        ("s3", "HeadObject"),
        ("s3", "GetObject"),
        ("s3", "GetObjectLockConfiguration"),
        ("s3", "ListObjectsV2"),
        ("eks", "ListClusters"),
    ]
    assert all("ekslift-step/07-test" in i["user_agent"] for i in items)
    assert items[0]["access_key"] == "testing"
    assert _log(aws_sandbox.url, query=f"?since={items[-2]['seq']}")["items"] == items[-1:]
    aws.clear_cache()


def test_aws_requests_are_logged_with_the_arns_they_act_on(aws_sandbox: AwsSandbox) -> None:
    """What IAM would evaluate each request's Resource against: ARNs as given (ELB, SNS),
    names completed in the signed region and moto's account (DynamoDB, CloudWatch, KMS),
    and S3's bucket or object from the path."""
    region, account = "eu-west-1", "123456789012"
    vpc = aws.client("ec2", region).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    elb = aws.client("elbv2", region)
    group = elb.create_target_group(Name="green", Protocol="HTTP", Port=80, VpcId=vpc)
    group_arn = group["TargetGroups"][0]["TargetGroupArn"]
    dynamodb = aws.client("dynamodb", region)
    dynamodb.create_table(
        TableName="ekslift-leases",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3 = aws.client("s3", "us-east-1")
    s3.create_bucket(Bucket="resources-test")
    _log(aws_sandbox.url, "DELETE")
    elb.describe_target_health(TargetGroupArn=group_arn)
    dynamodb.put_item(TableName="ekslift-leases", Item={"pk": {"S": "secret-free"}})
    cloudwatch = aws.client("cloudwatch", region)
    cloudwatch.delete_alarms(AlarmNames=["ekslift-a", "ekslift-b"])
    s3.put_object(Bucket="resources-test", Key="run/a.txt", Body=b"x")
    s3.list_objects_v2(Bucket="resources-test")
    aws.client("eks", region).list_clusters()
    items = _log(aws_sandbox.url)["items"]
    assert [(i["operation"], i["resources"]) for i in items] == [
        ("DescribeTargetHealth", [group_arn]),
        ("PutItem", [f"arn:aws:dynamodb:{region}:{account}:table/ekslift-leases"]),
        (
            "DeleteAlarms",
            [
                f"arn:aws:cloudwatch:{region}:{account}:alarm:ekslift-a",
                f"arn:aws:cloudwatch:{region}:{account}:alarm:ekslift-b",
            ],
        ),
        ("PutObject", ["arn:aws:s3:::resources-test/run/a.txt"]),
        ("ListObjectsV2", ["arn:aws:s3:::resources-test"]),
        ("ListClusters", []),
    ]
    aws.clear_cache()


def test_s3_store_archives_with_lock_and_reads_retention_back(
    aws_sandbox: AwsSandbox, tmp_path: Path
) -> None:
    aws.clear_cache()
    aws.client("s3", "us-east-1").create_bucket(
        Bucket="store-test", ObjectLockEnabledForBucket=True
    )
    aws.client("s3", "us-east-1").create_bucket(Bucket="store-plain")
    store = S3Store("s3://store-test/p", ArchiveParams(object_lock="compliance", retention_days=3))
    protection = store.protection("run-1")
    assert (protection.object_lock, protection.retention_days) == ("COMPLIANCE", 3)
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-1" / "a.txt").write_text("a")
    versions = store.publish("run-1", tmp_path / "run-1", ["a.txt"], protection)
    stored = store.listing("run-1")["a.txt"]
    assert stored.version_id == versions["a.txt"] and stored.lock_mode == "COMPLIANCE"
    assert stored.retain_until is not None
    assert stored.retain_until > datetime.now(UTC) + timedelta(days=2)
    assert store.run_ids() == ["run-1"] and store.read("run-1", "a.txt") == b"a"
    plain = S3Store("s3://store-plain", ArchiveParams()).protection("run-1")
    assert plain.object_lock is None and "no Object Lock" in plain.note


def test_kubernetes_requests_are_logged() -> None:
    with FakeKubeAPIServer("log", "v1.34.1-eks-1") as server:
        request = urllib.request.Request(
            f"{server.url}/api/v1/namespaces?limit=5", headers={"User-Agent": "t ekslift-step/x"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
        items = _log(server.url)["items"]
        assert [(i["method"], i["path"], i["user_agent"]) for i in items] == [
            ("GET", "/api/v1/namespaces?limit=5", "t ekslift-step/x")
        ]
        assert _log(server.url, "DELETE")["cleared"] == 1

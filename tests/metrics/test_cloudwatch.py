"""CloudWatch RequestCount per target group: one batched GetMetricData, pages followed,
several load balancers summed, silence kept as silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from ekslift.errors import AwsError
from ekslift.metrics.cloudwatch import dimension_of, request_counts

LB1 = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/public/50dc6c495c0c9188"
LB2 = (
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/internal/60dc6c495c0c9188"
)
TG = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/photos-blue/73e2d6bc24d8a067"
GREEN = (
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/photos-green/2453ed029918f21f"
)
END = datetime(2026, 11, 28, 12, tzinfo=UTC)
START = END - timedelta(days=7)


def _client():
    return boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_dimensions_are_the_arn_resource_part() -> None:
    assert dimension_of(LB1) == "app/public/50dc6c495c0c9188"
    assert dimension_of(TG) == "targetgroup/photos-blue/73e2d6bc24d8a067"


def test_one_batched_call_pages_and_sums_load_balancers() -> None:
    cloudwatch = _client()
    t1, t2 = END - timedelta(minutes=10), END - timedelta(minutes=5)
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "q0",
                        "Timestamps": [t1],
                        "Values": [100.0],
                        "StatusCode": "PartialData",
                    },
                    {"Id": "q1", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
                ],
                "NextToken": "more",
            },
        )
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "q0", "Timestamps": [t2], "Values": [50.0], "StatusCode": "Complete"},
                    {"Id": "q2", "Timestamps": [t2], "Values": [7.0], "StatusCode": "Complete"},
                ]
            },
        )
        series = request_counts(cloudwatch, [(LB1, TG), (LB1, GREEN), (LB2, TG)], START, END)
        stub.assert_no_pending_responses()
    assert series[TG].points == [(t1, 100.0), (t2, 57.0)]
    assert series[GREEN].points == [], "no datapoints stays empty, never zero traffic"


def test_refusal_is_an_aws_error_naming_the_call() -> None:
    cloudwatch = _client()
    with Stubber(cloudwatch) as stub:
        stub.add_client_error(
            "get_metric_data", "AccessDenied", "not allowed", http_status_code=403
        )
        with pytest.raises(AwsError) as caught:
            request_counts(cloudwatch, [(LB1, TG)], START, END)
    assert "GetMetricData" in str(caught.value) and not caught.value.unreachable


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        request_counts(_client(), [(LB1, TG)], START.replace(tzinfo=None), END)

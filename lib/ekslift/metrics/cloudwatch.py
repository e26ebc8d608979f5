"""CloudWatch's ALB metrics as typed, UTC series: what every region has, whatever backend the
traffic gates judge with.

ALB metrics per target group are published under the pair of dimensions (LoadBalancer,
TargetGroup), so a target group behind several load balancers (a public and an internal
ALB) has one series per pair; callers name the pairs. One GetMetricData call carries up to
500 queries, so a whole region's pairs are read in one batched, paginated request rather
than one call per series.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ekslift.errors import AwsError

log = logging.getLogger(__name__)
NAMESPACE = "AWS/ApplicationELB"
MAX_QUERIES = 500


@dataclass(frozen=True)
class TargetGroupSeries:
    """Requests per period for one target group, summed over the load balancers named."""

    target_group_arn: str
    period_seconds: int
    points: list[tuple[datetime, float]]


def dimension_of(arn: str) -> str:
    """ALB dimensions are the ARN's resource part: `app/<name>/<id>`, `targetgroup/<name>/<id>`."""
    resource = arn.split(":", 5)[-1]
    return resource.removeprefix("loadbalancer/")


def request_counts(
    cloudwatch: Any,
    pairs: list[tuple[str, str]],
    start: datetime,
    end: datetime,
    period_seconds: int = 300,
) -> dict[str, TargetGroupSeries]:
    """`RequestCount` (Sum per period) of each target group over [start, end).

    `pairs` are (load balancer ARN, target group ARN); a target group named with several
    load balancers gets their sum. A target group without a datapoint gets an empty series:
    the caller decides what silence means (for sizing it means "unknown", never "idle").
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("pass aware datetimes (UTC): a naive window would compare wrong hours")
    queries = [
        {
            "Id": f"q{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": "RequestCount",
                    "Dimensions": [
                        {"Name": "LoadBalancer", "Value": dimension_of(lb)},
                        {"Name": "TargetGroup", "Value": dimension_of(tg)},
                    ],
                },
                "Period": period_seconds,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for i, (lb, tg) in enumerate(pairs)
    ]
    sums: dict[str, dict[datetime, float]] = {tg: defaultdict(float) for _, tg in pairs}
    for batch in range(0, len(queries), MAX_QUERIES):
        chunk = queries[batch : batch + MAX_QUERIES]
        for result in metric_data_results(cloudwatch, chunk, start, end, "RequestCount"):
            tg = pairs[int(result["Id"][1:])][1]
            stamps, values = result.get("Timestamps", []), result.get("Values", [])
            for when, value in zip(stamps, values, strict=True):
                sums[tg][when.astimezone(UTC)] += float(value)
    return {
        tg: TargetGroupSeries(tg, period_seconds, sorted(points.items()))
        for tg, points in sums.items()
    }


def metric_data_results(
    cloudwatch: Any, queries: list[dict[str, Any]], start: datetime, end: datetime, what: str
) -> list[dict[str, Any]]:
    """Every MetricDataResult of one GetMetricData request (at most 500 queries), every page
    followed: a ``PartialData`` result carries a token for the rest like any page."""
    results: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        request: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        if token:
            request["NextToken"] = token
        try:
            answer = cloudwatch.get_metric_data(**request)
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"GetMetricData {what} ({len(queries)} series)") from exc
        results += answer.get("MetricDataResults", [])
        token = answer.get("NextToken")
        if not token:
            return results

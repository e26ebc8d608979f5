"""The CloudWatch backend: ALB metrics per target group, per minute, through GetMetricData.

Every series of a window is read in one batched request (up to 500 queries per call,
``NextToken`` followed): per colour RequestCount, HTTPCode_Target_5XX_Count and
TargetConnectionErrorCount (Sum), HealthyHostCount per availability zone (Minimum); for the
load balancer HTTPCode_ELB_5XX_Count, which exists only per load balancer and so is a
whole-balancer guard, never a colour comparison. CloudWatch omits a count's datapoint
when nothing happened (and at low traffic), so a missing minute is a zero, but a colour
without a single RequestCount datapoint is no data at all. TargetResponseTime has no
per-request distribution here: its percentile, with the period equal to the window, only
feeds the latency ceiling, and latency is not compared (:meth:`judge_settings`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError, ReadError
from ekslift.metrics.backend import (
    TrafficTarget,
    WeightChange,
    complete_end,
    dimension_of,
    minute_range,
    weights_per_minute,
)
from ekslift.metrics.cloudwatch import metric_data_results
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import ColourSeries, FloatArray, Window
from ekslift.metrics.settings import CloudWatchSettings
from ekslift.params import Color

log = logging.getLogger(__name__)
NAMESPACE = "AWS/ApplicationELB"
MAX_QUERIES = 500
ERROR_METRICS = {
    "target_5xx": "HTTPCode_Target_5XX_Count",
    "connection_errors": "TargetConnectionErrorCount",
}


class CloudWatchReadError(ReadError):
    """GetMetricData answered something unusable (a partial result, an unknown id)."""


@dataclass(frozen=True)
class Query:
    """One GetMetricData query and where its answer goes."""

    id: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int

    def api(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
                },
                "Period": self.period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


def get_metric_data(
    cloudwatch: Any, queries: Sequence[Query], start: datetime, end: datetime, what: str
) -> dict[str, list[tuple[datetime, float]]]:
    """Points per query id, oldest first: batches of 500 queries, every page followed.

    A result whose status is ``PartialData`` carries a token for the rest, so it is
    followed like any page; ``InternalError`` or ``Forbidden`` is a read error naming the
    query, never a silently short series.
    """
    points: dict[str, list[tuple[datetime, float]]] = {q.id: [] for q in queries}
    for first in range(0, len(queries), MAX_QUERIES):
        batch = [q.api() for q in queries[first : first + MAX_QUERIES]]
        for result in metric_data_results(cloudwatch, batch, start, end, what):
            if result.get("StatusCode") in ("InternalError", "Forbidden"):
                raise CloudWatchReadError(
                    f"GetMetricData {what}: {result['Id']} answered "
                    f"{result['StatusCode']} {result.get('Messages', '')}; retry later"
                )
            if result["Id"] not in points:
                raise CloudWatchReadError(f"GetMetricData {what}: unknown id {result['Id']}")
            stamps, values = result.get("Timestamps", []), result.get("Values", [])
            points[result["Id"]] += [
                (when.astimezone(UTC), float(value))
                for when, value in zip(stamps, values, strict=True)
            ]
    return {key: sorted(found) for key, found in points.items()}


def on_grid(points: list[tuple[datetime, float]], start: datetime, minutes: int) -> FloatArray:
    """Per-minute values on the window's grid, NaN where CloudWatch had no datapoint."""
    values = np.full(minutes, np.nan)
    for when, value in points:
        index = int((when - start).total_seconds() // 60)
        if 0 <= index < minutes:
            values[index] = value if np.isnan(values[index]) else values[index] + value
    return values


class CloudWatchBackend:
    """ALB metrics from CloudWatch; ``profile`` as in the parameters' ``aws.profile``."""

    name = "cloudwatch"

    def __init__(
        self, settings: CloudWatchSettings, judge: JudgeSettings, profile: str | None = None
    ) -> None:
        self.settings = settings
        self.judge = judge
        self.notes: list[str] = []
        self.profile = profile

    @property
    def _lag(self) -> timedelta:
        return timedelta(minutes=self.settings.lag_minutes)

    def complete_until(self, now: datetime) -> datetime:
        return complete_end(now, now, self._lag)

    def judge_settings(self, settings: JudgeSettings) -> JudgeSettings:
        """No per-request latency and no 'unanswered' count in CloudWatch: errors are
        compared on the kinds it counts, latency only against the ceiling."""
        kinds = tuple(k for k in settings.error_kinds if k in ERROR_METRICS)
        return settings.model_copy(update={"error_kinds": kinds, "quantiles": ()})

    def _zones(self, target: TrafficTarget) -> list[str]:
        elb = aws.client("elbv2", target.region, self.profile)
        try:
            balancer = elb.describe_load_balancers(LoadBalancerArns=[target.load_balancer_arn])
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"DescribeLoadBalancers {target.load_balancer_arn}") from exc
        return sorted(
            zone["ZoneName"]
            for lb in balancer["LoadBalancers"]
            for zone in lb.get("AvailabilityZones", [])
        )

    def _queries(self, target: TrafficTarget, zones: list[str], period: int) -> list[Query]:
        lb = ("LoadBalancer", dimension_of(target.load_balancer_arn))
        queries = [Query("elb5xx", "HTTPCode_ELB_5XX_Count", (lb,), "Sum", 60)]
        quantile = f"p{self.judge.limits.latency_ceiling_quantile * 100:g}"
        for colour in ("blue", "green"):
            tg = ("TargetGroup", dimension_of(target.colour(colour).target_group_arn))
            dims = (lb, tg)
            queries.append(Query(f"{colour}_requests", "RequestCount", dims, "Sum", 60))
            queries += [
                Query(f"{colour}_{kind}", metric, dims, "Sum", 60)
                for kind, metric in ERROR_METRICS.items()
            ]
            queries += [
                Query(
                    f"{colour}_hosts_{i}",
                    "HealthyHostCount",
                    (*dims, ("AvailabilityZone", zone)),
                    "Minimum",
                    60,
                )
                for i, zone in enumerate(zones)
            ]
            queries.append(
                Query(f"{colour}_quantile", "TargetResponseTime", dims, quantile, period)
            )
        return queries

    def window(
        self,
        target: TrafficTarget,
        start: datetime,
        end: datetime,
        weights: Sequence[WeightChange],
        *,
        now: datetime | None = None,
    ) -> Window:
        now = now or datetime.now(UTC)
        first, minutes = minute_range(start, complete_end(end, now, self._lag))
        last = first + timedelta(minutes=minutes)
        zones = self._zones(target)
        cloudwatch = aws.client("cloudwatch", target.region, self.profile)
        points = get_metric_data(
            cloudwatch,
            self._queries(target, zones, minutes * 60),
            first,
            last,
            f"ALB metrics of {target.region}",
        )
        colours: dict[Color, ColourSeries | None] = {}
        for colour in ("blue", "green"):
            if not points[f"{colour}_requests"]:
                log.warning("%s %s: no RequestCount datapoint in the window", target.region, colour)
                colours[colour] = None
                continue
            colours[colour] = ColourSeries(
                requests=on_grid(points[f"{colour}_requests"], first, minutes),
                errors={
                    kind: on_grid(points[f"{colour}_{kind}"], first, minutes)
                    for kind in ERROR_METRICS
                },
                healthy_hosts={
                    zone: on_grid(points[f"{colour}_hosts_{i}"], first, minutes)
                    for i, zone in enumerate(zones)
                    if points[f"{colour}_hosts_{i}"]
                },
            )
        # A window that does not align with CloudWatch's period grid may come back as two
        # periods: the slower is the conservative one for a ceiling.
        quantile = max((value for _, value in points["green_quantile"]), default=None)
        return Window(
            start=first,
            green_weight=weights_per_minute(weights, first, minutes),
            blue=colours["blue"],
            green=colours["green"],
            elb_5xx=np.nan_to_num(on_grid(points["elb5xx"], first, minutes)),
            region=target.region,
            green_window_quantile=quantile,
        )

    def precheck(self, target: TrafficTarget, start: datetime, end: datetime) -> list[str]:
        """CloudWatch publishes RequestCount only for a target group that got requests, so a
        colour at weight 0 is silent by design: only blue must answer before the shift."""
        window = self.window(target, start, end, [WeightChange(start, 0.0)], now=end)
        return (
            []
            if window.blue is not None
            else [
                f"{target.region}: no RequestCount for blue ({target.blue.target_group_arn}) "
                f"between {start.isoformat()} and {end.isoformat()}"
            ]
        )

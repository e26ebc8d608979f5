"""Where the judge's windows come from during a shift.

The shift asks a :class:`MetricsSource` for one region's minutes between two times at the
share it wrote; tests inject their own. :class:`CloudWatchAlb` reads the ALB's per-target-
group metrics through the standard CloudWatch API (requests, target 5xx, connection
errors, the balancer's own 5xx). CloudWatch has no latency distributions, so with it the
judge's latency quantiles need another backend or ``shift.judge.quantiles: []``.

:class:`CloudWatchReplay` is a **sandbox-only data source**: until the sandbox has a traffic
generator that follows the weights, nothing new arrives while a demo soaks, so it judges
each step on the last recorded minutes (the sandbox's seeded history), through the same
standard API. It says ``live = False``, so the measured share is not checked against it.
Never select it for a real estate (``shift.metrics_source: cloudwatch-replay``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError, InputError
from ekslift.metrics.series import ColourSeries, FloatArray, Window
from ekslift.params import AlbTraffic, RegionParams, UpgradeParams
from ekslift.traffic.actions import alb_of

NAMESPACE = "AWS/ApplicationELB"
_ERRORS = {
    "target_5xx": "HTTPCode_Target_5XX_Count",
    "connection_errors": "TargetConnectionErrorCount",
}


class MetricsSource(Protocol):
    """One region's judge window from ``start`` to ``end`` at green share ``share``."""

    live: bool

    def window(self, region: RegionParams, start: datetime, end: datetime, share: float) -> Window:
        """Whole minutes from ``start`` (floored) to ``end``."""
        ...


def _dimension(arn: str) -> str:
    """ALB metric dimensions are ARN tails: `app/<name>/<id>`, `targetgroup/<name>/<id>`."""
    tail = arn.split(":", 5)[-1]
    return tail.removeprefix("loadbalancer/")


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


class CloudWatchAlb:
    """Per-minute sums of the ALB's metrics for both target groups and the balancer."""

    live = True

    def __init__(self, profile: str | None = None) -> None:
        self.profile = profile

    def _query(
        self, region: str, start: datetime, minutes: int, queries: dict[str, tuple[str, list[Any]]]
    ) -> dict[str, FloatArray]:
        cloudwatch = aws.client("cloudwatch", region, self.profile)
        series = {key: np.full(minutes, np.nan) for key in queries}
        request = [
            {
                "Id": key,
                "MetricStat": {
                    "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dims},
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
            for key, (metric, dims) in queries.items()
        ]
        try:
            pages = cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=request,
                StartTime=start,
                EndTime=start + timedelta(minutes=minutes),
            )
            for page in pages:
                for result in page["MetricDataResults"]:
                    for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                        index = int((_minute(stamp) - start).total_seconds() // 60)
                        if 0 <= index < minutes:
                            series[result["Id"]][index] = value
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"GetMetricData ({NAMESPACE}) in {region}") from exc
        return series

    def _queries(self, alb: AlbTraffic) -> dict[str, tuple[str, list[Any]]]:
        lb = [{"Name": "LoadBalancer", "Value": _dimension(alb.load_balancer_arn)}]
        queries: dict[str, tuple[str, list[Any]]] = {"elb5xx": ("HTTPCode_ELB_5XX_Count", lb)}
        for colour, arn in (
            ("blue", alb.blue_target_group_arn),
            ("green", alb.green_target_group_arn),
        ):
            dims = [*lb, {"Name": "TargetGroup", "Value": _dimension(arn)}]
            queries[f"{colour}_requests"] = ("RequestCount", dims)
            for kind, metric in _ERRORS.items():
                queries[f"{colour}_{kind}"] = (metric, dims)
        return queries

    def read(self, region: RegionParams, start: datetime, minutes: int, share: float) -> Window:
        found = self._query(region.name, start, minutes, self._queries(alb_of(region)))

        def colour(name: str) -> ColourSeries:
            return ColourSeries(
                requests=found[f"{name}_requests"],
                errors={kind: found[f"{name}_{kind}"] for kind in _ERRORS},
            )

        return Window(
            start=start,
            green_weight=np.full(minutes, share),
            blue=colour("blue"),
            green=colour("green"),
            elb_5xx=found["elb5xx"],
            region=region.name,
        )

    def window(self, region: RegionParams, start: datetime, end: datetime, share: float) -> Window:
        first = _minute(start)
        minutes = max(int((end - first).total_seconds() // 60), 1)
        return self.read(region, first, minutes, share)


class CloudWatchReplay(CloudWatchAlb):
    """Sandbox only: the last ``minutes`` recorded minutes, whatever the soak's times."""

    live = False

    def __init__(self, minutes: int, profile: str | None = None, lookback_hours: int = 6) -> None:
        super().__init__(profile)
        self.minutes = minutes
        self.lookback_hours = lookback_hours

    def window(self, region: RegionParams, start: datetime, end: datetime, share: float) -> Window:
        alb = alb_of(region)
        span = self.lookback_hours * 60
        since = _minute(end) - timedelta(minutes=span)
        requests = self._query(
            region.name, since, span, {"blue": self._queries(alb)["blue_requests"]}
        )["blue"]
        recorded = np.flatnonzero(~np.isnan(requests))
        if recorded.size == 0:
            raise InputError(
                f"{region.name}: no recorded RequestCount in the last {self.lookback_hours} h "
                "to replay (cloudwatch-replay is for the sandbox, whose history is seeded)"
            )
        last = since + timedelta(minutes=int(recorded[-1]) + 1)
        return self.read(region, last - timedelta(minutes=self.minutes), self.minutes, share)


def source_for(params: UpgradeParams) -> MetricsSource:
    if params.shift.metrics_source == "cloudwatch-replay":
        return CloudWatchReplay(params.shift.replay_minutes, params.aws.profile)
    return CloudWatchAlb(params.aws.profile)


def measured_share(window: Window) -> float | None:
    """Green's share of the requests both target groups counted (None with no requests)."""
    green = window.requests(window.green).sum()
    total = green + window.requests(window.blue).sum()
    return float(green / total) if total > 0 else None

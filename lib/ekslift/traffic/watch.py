"""What watches a shifted region from outside the shift process, in AWS itself.

While it holds the lease the shift publishes a heartbeat per region; before its first
forward write it creates alarms on green (5xx over a count floor, healthy hosts per
Availability Zone, the heartbeat with missing data breaching) and a composite alarm over
them whose action invokes the region's rollback function. So a shift process that dies, a
machine that is suspended, or a green that fails between two polls is rolled back by AWS,
even when the guard CronJob is down too. The guard publishes its own heartbeat, with an
alarm on it for the people on call.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError
from ekslift.params import AlbTraffic, GuardSettings, UpgradeParams

SHIFT_HEARTBEAT = "ShiftHeartbeat"
GUARD_HEARTBEAT = "GuardHeartbeat"


def _cloudwatch(region: str, profile: str | None) -> Any:
    return aws.client("cloudwatch", region, profile)


def _dimensions(upgrade: str, run: str | None = None) -> list[dict[str, str]]:
    """The shift's heartbeat is per run, so a second shifter (refused) never masks the
    silence of the one holding the lease; the guard's is per upgrade."""
    run_dimension = [{"Name": "Run", "Value": run}] if run else []
    return [{"Name": "Upgrade", "Value": upgrade}, *run_dimension]


def publish_heartbeat(
    region: str,
    upgrade: str,
    metric: str,
    guard: GuardSettings,
    profile: str | None,
    run: str | None = None,
) -> None:
    try:
        _cloudwatch(region, profile).put_metric_data(
            Namespace=guard.namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": _dimensions(upgrade, run),
                    "Value": 1.0,
                    "Unit": "Count",
                }
            ],
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"PutMetricData {guard.namespace}/{metric} in {region}") from exc


def heartbeat_fresh(
    region: str,
    upgrade: str,
    metric: str,
    guard: GuardSettings,
    seconds: int,
    now: datetime,
    profile: str | None,
    run: str | None = None,
) -> bool:
    """True when the heartbeat has a datapoint within the last ``seconds`` (minute buckets,
    CloudWatch's resolution for standard metrics)."""
    minutes = max(1, -(-seconds // 60))
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    try:
        answer = _cloudwatch(region, profile).get_metric_statistics(
            Namespace=guard.namespace,
            MetricName=metric,
            Dimensions=_dimensions(upgrade, run),
            StartTime=end - timedelta(minutes=minutes + 1),
            EndTime=end,
            Period=60,
            Statistics=["SampleCount"],
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"GetMetricStatistics {metric} in {region}") from exc
    return any(point.get("SampleCount", 0) > 0 for point in answer.get("Datapoints", []))


def alarm_prefix(upgrade: str, region: str) -> str:
    return f"ekslift-{upgrade}-{region}-"


def composite_name(upgrade: str, region: str) -> str:
    return f"{alarm_prefix(upgrade, region)}rollback"


def _suffix(arn: str, marker: str) -> str:
    """The CloudWatch dimension value of an ELB ARN (``app/name/id``, ``targetgroup/n/id``)."""
    return arn.split(marker, 1)[1] if marker == ":loadbalancer/" else arn.split(":", 5)[5]


def _zones(region: str, alb: AlbTraffic, profile: str | None) -> list[str]:
    try:
        found = aws.client("elbv2", region, profile).describe_load_balancers(
            LoadBalancerArns=[alb.load_balancer_arn]
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"DescribeLoadBalancers {alb.load_balancer_arn}") from exc
    return sorted(z["ZoneName"] for z in found["LoadBalancers"][0].get("AvailabilityZones", []))


def metric_alarms(
    params: UpgradeParams, region: str, alb: AlbTraffic, zones: list[str], run: str
) -> list[dict[str, Any]]:
    """The PutMetricAlarm requests for green in ``region`` (pure, so tests can read them)."""
    guard = params.shift.guard
    assert guard is not None
    prefix = alarm_prefix(params.name, region)
    green = [
        {"Name": "LoadBalancer", "Value": _suffix(alb.load_balancer_arn, ":loadbalancer/")},
        {"Name": "TargetGroup", "Value": _suffix(alb.green_target_group_arn, "")},
    ]
    common = {
        "Period": guard.alarm_period_seconds,
        "EvaluationPeriods": guard.alarm_evaluation_periods,
        "ActionsEnabled": True,
    }
    alarms = [
        {
            **common,
            "AlarmName": f"{prefix}green-5xx",
            "AlarmDescription": "green's target 5xx over the count floor (ekslift shift)",
            "Namespace": "AWS/ApplicationELB",
            "MetricName": "HTTPCode_Target_5XX_Count",
            "Dimensions": green,
            "Statistic": "Sum",
            "Threshold": float(guard.error_count_floor),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
        {
            **common,
            "AlarmName": f"{prefix}heartbeat",
            "AlarmDescription": "the shift process stopped beating (ekslift shift)",
            "Namespace": guard.namespace,
            "MetricName": SHIFT_HEARTBEAT,
            "Dimensions": _dimensions(params.name, run),
            "Statistic": "SampleCount",
            "Threshold": 1.0,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
        },
    ]
    for zone in zones:
        alarms.append(
            {
                **common,
                "AlarmName": f"{prefix}green-healthy-{zone}",
                "AlarmDescription": f"green's healthy hosts in {zone} below the minimum",
                "Namespace": "AWS/ApplicationELB",
                "MetricName": "HealthyHostCount",
                "Dimensions": [*green, {"Name": "AvailabilityZone", "Value": zone}],
                "Statistic": "Minimum",
                "Threshold": float(params.readiness.min_healthy_per_az),
                "ComparisonOperator": "LessThanThreshold",
                "TreatMissingData": "breaching",
            }
        )
    return alarms


def create_alarms(params: UpgradeParams, region: str, alb: AlbTraffic, run: str) -> list[str]:
    """Green's alarms and their composite, actions enabled; returns every alarm name."""
    guard = params.shift.guard
    assert guard is not None
    profile = params.aws.profile
    cloudwatch = _cloudwatch(region, profile)
    alarms = metric_alarms(params, region, alb, _zones(region, alb, profile), run)
    composite = composite_name(params.name, region)
    try:
        for alarm in alarms:
            cloudwatch.put_metric_alarm(**alarm)
        cloudwatch.put_composite_alarm(
            AlarmName=composite,
            AlarmDescription="any green alarm or a silent shift: roll the region back to blue",
            AlarmRule=" OR ".join(f'ALARM("{a["AlarmName"]}")' for a in alarms),
            ActionsEnabled=True,
            AlarmActions=[guard.rollback_function_arns[region]],
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"creating the rollback alarms in {region}") from exc
    return [*(a["AlarmName"] for a in alarms), composite]


def region_alarms(params: UpgradeParams, region: str) -> dict[str, dict[str, Any]]:
    """The shift's alarms of the region as CloudWatch has them, metric and composite."""
    prefix = alarm_prefix(params.name, region)
    try:
        pages = (
            _cloudwatch(region, params.aws.profile)
            .get_paginator("describe_alarms")
            .paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        )
        found = {}
        for page in pages:
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = alarm
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"DescribeAlarms {prefix}* in {region}") from exc
    return found


def alarm_problems(params: UpgradeParams, region: str) -> list[str]:
    """Alarms in ALARM, and a composite gone or with its actions disabled (the rollback
    function must stay armed through the bake)."""
    alarms = region_alarms(params, region)
    problems = [f"alarm {n} is in ALARM" for n, a in alarms.items() if a["StateValue"] == "ALARM"]
    composite = alarms.get(composite_name(params.name, region))
    if composite is None:
        problems.append(f"the composite alarm {composite_name(params.name, region)} is gone")
    elif not composite.get("ActionsEnabled", False):
        problems.append(f"the composite alarm {composite['AlarmName']} has its actions disabled")
    return sorted(problems)


def remove_alarms(params: UpgradeParams, region: str) -> None:
    """At the region's end: the composite first (it refers to the others)."""
    names = sorted(region_alarms(params, region), key=lambda n: not n.endswith("rollback"))
    if not names:
        return
    try:
        cloudwatch = _cloudwatch(region, params.aws.profile)
        cloudwatch.delete_alarms(AlarmNames=names[:1])
        if names[1:]:
            cloudwatch.delete_alarms(AlarmNames=names[1:])
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"DeleteAlarms in {region}") from exc


def ensure_guard_alarm(params: UpgradeParams, region: str) -> None:
    """The alarm on the guard's own heartbeat (missing data breaching), to the notification
    topic when there is one: a guard that stopped running is an incident of its own."""
    guard = params.shift.guard
    assert guard is not None
    topic = params.shift.notifications.sns_topic_arn
    try:
        _cloudwatch(region, params.aws.profile).put_metric_alarm(
            AlarmName=f"ekslift-{params.name}-guard-heartbeat",
            AlarmDescription="the ekslift guard CronJob stopped running",
            Namespace=guard.namespace,
            MetricName=GUARD_HEARTBEAT,
            Dimensions=_dimensions(params.name),
            Statistic="SampleCount",
            Period=60 * (guard.period_seconds // 60),
            EvaluationPeriods=2,
            Threshold=1.0,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching",
            ActionsEnabled=True,
            AlarmActions=[topic] if topic else [],
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"PutMetricAlarm on the guard's heartbeat in {region}") from exc

"""Contract tests of the sandbox's CloudWatch metric reads, over real HTTP through boto3.

Known data in, exact statistics out: percentiles and trimmed means of values put with
``Values``/``Counts``, metric math on known series, ``ExtendedStatistics``, and a metric
being namespace + name + exact dimension set. Answers are checked against botocore's
model with its Stubber.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ekslift import aws
from ekslift_sandbox.awsserver import AwsSandbox
from tests.sandbox.conftest import fits_model

REGION = "ap-northeast-1"
NS = "AWS/ApplicationELB"
LB = [{"Name": "LoadBalancer", "Value": "app/web/0123456789abcdef"}]
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
START, END = BASE, BASE + timedelta(minutes=10)

pytestmark = pytest.mark.sandbox


@pytest.fixture
def cw(aws_sandbox: AwsSandbox) -> Any:
    aws_sandbox.reset()
    return aws.client("cloudwatch", REGION)


def put(cw: Any, name: str, minute: int, namespace: str = NS, dims: Any = LB, **datum: Any) -> None:
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": dims,
                "Timestamp": BASE + timedelta(minutes=minute, seconds=7),
                **datum,
            }
        ],
    )


def stat_query(qid: str, name: str, stat: str, dims: Any = LB, period: int = 60) -> dict:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": NS, "MetricName": name, "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
    }


def metric_data(cw: Any, *queries: dict[str, Any], **extra: Any) -> dict[str, dict]:
    answer = cw.get_metric_data(
        MetricDataQueries=list(queries), StartTime=START, EndTime=END, **extra
    )
    return {r["Id"]: r for r in fits_model(cw, "get_metric_data", answer)["MetricDataResults"]}


def test_percentiles_of_values(cw: Any) -> None:
    put(cw, "TargetResponseTime", 0, Values=[float(v) for v in range(1, 101)])
    stats = ["p50", "p90", "p99", "p99.9", "p100", "tm90", "TM(10%:90%)", "IQM", "Average"]
    queries = [stat_query(f"q{i}", "TargetResponseTime", s) for i, s in enumerate(stats)]
    results = metric_data(cw, *queries)
    got = {s: results[f"q{i}"]["Values"] for i, s in enumerate(stats)}
    assert got == {
        "p50": [50.0],
        "p90": [90.0],
        "p99": [99.0],
        "p99.9": [100.0],
        "p100": [100.0],
        "tm90": [45.5],  # mean of 1..90
        "TM(10%:90%)": [50.5],  # mean of 11..90
        "IQM": [50.5],  # mean of 26..75
        "Average": [50.5],
    }
    assert results["q0"]["Timestamps"] == [BASE]
    assert results["q0"]["Label"] == "TargetResponseTime"
    assert results["q0"]["StatusCode"] == "Complete"


def test_percentiles_weighted_by_counts(cw: Any) -> None:
    put(cw, "TargetResponseTime", 1, Values=[0.01, 0.02, 1.5], Counts=[50, 49, 1])
    results = metric_data(
        cw,
        stat_query("p50", "TargetResponseTime", "p50"),
        stat_query("p99", "TargetResponseTime", "p99"),
        stat_query("p999", "TargetResponseTime", "p99.9"),
        stat_query("n", "TargetResponseTime", "SampleCount"),
        stat_query("sum", "TargetResponseTime", "Sum"),
    )
    assert results["p50"]["Values"] == [0.01]
    assert results["p99"]["Values"] == [0.02]
    assert results["p999"]["Values"] == [1.5]
    assert results["n"]["Values"] == [100.0]
    assert results["sum"]["Values"] == [pytest.approx(0.5 + 0.98 + 1.5)]


def test_statistic_sets_have_percentiles_only_when_aws_has_them(cw: Any) -> None:
    single = {"SampleCount": 1, "Sum": 0.2, "Minimum": 0.2, "Maximum": 0.2}
    spread = {"SampleCount": 10, "Sum": 5.0, "Minimum": 0.1, "Maximum": 1.0}
    put(cw, "Latency", 0, StatisticValues=single)
    put(cw, "Latency", 1, StatisticValues=spread)
    results = metric_data(
        cw,
        stat_query("p", "Latency", "p90"),
        stat_query("avg", "Latency", "Average"),
        ScanBy="TimestampAscending",
    )
    assert results["p"]["Timestamps"] == [BASE]
    assert results["p"]["Values"] == [0.2]
    assert results["avg"]["Values"] == [0.2, 0.5]


def test_metric_math(cw: Any) -> None:
    for minute, (errors, requests) in enumerate([(1, 100), (4, 200), (0, 0), (3, 300)]):
        if requests:
            put(cw, "HTTPCode_Target_5XX_Count", minute, Value=float(errors))
            put(cw, "RequestCount", minute, Value=float(requests))
    results = metric_data(
        cw,
        {**stat_query("m1", "HTTPCode_Target_5XX_Count", "Sum"), "ReturnData": False},
        {**stat_query("m2", "RequestCount", "Sum"), "ReturnData": False},
        {"Id": "rate", "Expression": "m1/m2*100", "Label": "5xx %"},
        {"Id": "total", "Expression": "SUM(METRICS())"},
        {"Id": "filled", "Expression": "FILL(m1, 0)"},
        {"Id": "neg", "Expression": "-(m1 - 2) * 2"},
        {"Id": "peak", "Expression": "MAX(m2)"},
        ScanBy="TimestampAscending",
    )
    assert set(results) == {"rate", "total", "filled", "neg", "peak"}
    minutes = [BASE + timedelta(minutes=m) for m in (0, 1, 3)]
    assert results["rate"]["Label"] == "5xx %"
    assert results["rate"]["Timestamps"] == minutes
    assert results["rate"]["Values"] == [1.0, 2.0, 1.0]
    assert results["total"]["Values"] == [101.0, 204.0, 303.0]
    assert results["filled"]["Timestamps"] == [BASE + timedelta(minutes=m) for m in range(10)]
    assert results["filled"]["Values"] == [1.0, 4.0, 0.0, 3.0] + [0.0] * 6
    assert results["neg"]["Values"] == [2.0, -4.0, -2.0]
    assert results["peak"]["Values"] == [300.0] * 10  # a scalar is a flat line


@pytest.mark.parametrize(
    "query",
    [
        {"Id": "bad", "Expression": "RATE(m1)"},
        {"Id": "bad", "Expression": "m1 +"},
        {"Id": "bad", "Expression": "nosuchid * 2"},
        {"Id": "bad", "Expression": 'SELECT AVG(CPUUtilization) FROM SCHEMA("AWS/EC2")'},
        stat_query("bad", "RequestCount", "p999x"),
    ],
)
def test_unsupported_queries_are_validation_errors(cw: Any, query: dict[str, Any]) -> None:
    put(cw, "RequestCount", 0, Value=1.0)
    with pytest.raises(ClientError) as caught:
        metric_data(cw, stat_query("m1", "RequestCount", "Sum"), query)
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_namespace_and_exact_dimensions_select_the_metric(cw: Any) -> None:
    put(cw, "RequestCount", 0, Value=10.0)
    put(cw, "RequestCount", 0, namespace="Custom/Other", Value=1000.0)
    put(cw, "RequestCount", 0, dims=[*LB, {"Name": "TargetGroup", "Value": "tg/blue"}], Value=7.0)
    results = metric_data(cw, stat_query("m", "RequestCount", "Sum"))
    assert results["m"]["Values"] == [10.0]
    green = [*LB, {"Name": "TargetGroup", "Value": "tg/blue"}]
    assert metric_data(cw, stat_query("g", "RequestCount", "Sum", dims=green))["g"]["Values"] == [
        7.0
    ]


def test_get_metric_statistics_extended_statistics(cw: Any) -> None:
    put(cw, "TargetResponseTime", 2, Values=[float(v) for v in range(1, 101)], Unit="Seconds")
    put(cw, "TargetResponseTime", 2, namespace="Custom/Other", Value=9999.0, Unit="Seconds")
    common = {
        "Namespace": NS,
        "MetricName": "TargetResponseTime",
        "Dimensions": LB,
        "StartTime": START,
        "EndTime": END,
        "Period": 300,
    }
    answer = cw.get_metric_statistics(ExtendedStatistics=["p50", "p99", "tm90"], **common)
    (point,) = fits_model(cw, "get_metric_statistics", answer)["Datapoints"]
    assert point["Timestamp"] == BASE
    assert point["ExtendedStatistics"] == {"p50": 50.0, "p99": 99.0, "tm90": 45.5}
    assert point["Unit"] == "Seconds"

    basic = cw.get_metric_statistics(Statistics=["SampleCount", "Maximum"], **common)
    (point,) = fits_model(cw, "get_metric_statistics", basic)["Datapoints"]
    assert (point["SampleCount"], point["Maximum"]) == (100.0, 100.0)

    with pytest.raises(ClientError) as caught:
        cw.get_metric_statistics(Statistics=["Sum"], ExtendedStatistics=["p50"], **common)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_values_and_counts_of_different_sizes_are_refused(cw: Any) -> None:
    with pytest.raises(ClientError) as caught:
        put(cw, "RequestCount", 0, Values=[1.0, 2.0], Counts=[1.0])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_composite_alarms(cw: Any) -> None:
    cw.put_metric_alarm(
        AlarmName="child",
        Namespace=NS,
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=LB,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    action = f"arn:aws:lambda:{REGION}:123456789012:function:rollback"
    cw.put_composite_alarm(
        AlarmName="parent", AlarmRule='ALARM("child")', AlarmActions=[action], ActionsEnabled=True
    )
    cw.set_alarm_state(AlarmName="parent", StateValue="ALARM", StateReason="test")
    answer = cw.describe_alarms(AlarmNames=["parent"], AlarmTypes=["CompositeAlarm"])
    (parent,) = fits_model(cw, "describe_alarms", answer)["CompositeAlarms"]
    assert parent["AlarmRule"] == 'ALARM("child")' and parent["AlarmActions"] == [action]
    assert parent["ActionsEnabled"] is True and parent["StateValue"] == "ALARM"
    with pytest.raises(ClientError, match="AlarmRule"):
        cw.put_composite_alarm(AlarmName="long", AlarmRule='ALARM("child") OR ' * 700)

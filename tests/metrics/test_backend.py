"""The backends' shared pieces without a sandbox: minutes, weights, settings, log lines."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ekslift.errors import InputError
from ekslift.metrics.accesslogs import LogRead, parse_line, read_lines
from ekslift.metrics.backend import (
    ColourTarget,
    TrafficTarget,
    WeightChange,
    complete_end,
    minute_range,
    weights_per_minute,
)
from ekslift.metrics.prometheus_backend import render
from ekslift.metrics.series import ColourSeries, RawLatency, Window
from ekslift.metrics.settings import MetricsSettings
from ekslift.metrics.weights import observed_shares, read_history, write_history
from ekslift.params import ParamsError, parse_params

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/photos/50dc6c495c0c9188"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/photos-green/73e2d6bc24d8a067"
# AWS's documented example entry (HTTP), with this test's target group.
DOC_LINE = (
    "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "
    '"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - '
    f"{TG} "
    '"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" '
    '0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234'
)


def test_the_listener_names_its_load_balancer() -> None:
    target = TrafficTarget(
        "us-east-1",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/photos/50dc6c495c0c9188/f2f7dc8efc522ab2",
        ColourTarget("tg-blue", "blue-cluster"),
        ColourTarget("tg-green", "green-cluster"),
    )
    assert target.load_balancer_arn == LB
    assert render('x{cluster="{cluster}",c="{color}",r="{region}"}', target, "green") == (
        'x{cluster="green-cluster",c="green",r="us-east-1"}'
    )


def test_whole_minutes_only_and_the_lag_cuts_the_end() -> None:
    assert minute_range(T0 + timedelta(seconds=20), T0 + timedelta(minutes=5, seconds=59)) == (
        T0,
        5,
    )
    now = T0 + timedelta(minutes=10, seconds=30)
    assert complete_end(now, now, timedelta(minutes=3)) == T0 + timedelta(minutes=7)
    with pytest.raises(InputError, match="no whole minute"):
        minute_range(T0, T0 + timedelta(seconds=50))
    with pytest.raises(InputError, match="UTC"):
        minute_range(datetime(2026, 11, 28, 10), T0)


def test_a_minute_with_a_weight_change_belongs_to_the_new_share() -> None:
    changes = [
        WeightChange(T0 - timedelta(hours=1), 0.0),
        WeightChange(T0 + timedelta(minutes=2, seconds=10), 0.25),
    ]
    weights = weights_per_minute(changes, T0, 5)
    assert weights.tolist() == [0.0, 0.0, 0.25, 0.25, 0.25]
    with pytest.raises(InputError, match="must begin"):
        weights_per_minute(changes[1:], T0, 5)


def test_weight_history_round_trips(tmp_path) -> None:
    path = tmp_path / "weights.csv"
    rows = [
        ("us-east-1", WeightChange(T0, 0.0)),
        ("us-east-1", WeightChange(T0 + timedelta(minutes=4), 0.05)),
    ]
    write_history(path, rows)
    assert read_history(path) == {"us-east-1": [r[1] for r in rows]}
    path.write_text("at,region,green_percent\nyesterday,us-east-1,5\n")
    with pytest.raises(InputError, match=r"weights\.csv:2"):
        read_history(path)


def test_shares_told_from_traffic_snap_to_the_plan() -> None:
    blue = ColourSeries(np.array([100.0, 95, 76, 0, 50]), {})
    green = ColourSeries(np.array([0.0, 5, 24, 0, 50]), {})
    window = Window(T0, np.zeros(5), blue, green, np.zeros(5))
    assert observed_shares(window, [0.05, 0.25, 0.5]).tolist() == [0, 0.05, 0.25, 0.25, 0.5]


def test_documented_log_line_parses() -> None:
    entry = parse_line(DOC_LINE)
    assert entry.target_group_arn == TG and entry.target_time == 0.001
    assert entry.elb_status == 200 and entry.target_status == 200 and entry.target_reached
    assert entry.created == datetime(2018, 7, 2, 22, 22, 48, 364000, tzinfo=UTC)
    unanswered = parse_line(DOC_LINE.replace(" 0.001 0.000 200 200 ", " -1 -1 504 - "))
    assert unanswered.target_time == -1 and unanswered.target_status is None


def test_malformed_and_repeated_lines_are_counted_never_silently_dropped() -> None:
    body = gzip.compress(
        "\n".join(
            [DOC_LINE, DOC_LINE, "http truncated line", DOC_LINE.replace(" 0.001 ", " -3 ")]
        ).encode()
    )
    read, seen = LogRead(), set()
    read_lines(body, "a.log.gz", read, seen)
    read_lines(body, "b.log.gz", read, seen)  # the same file delivered twice
    read_lines(b"not gzip", "c.log.gz", read, seen)
    assert len(read.entries) == 1
    assert read.duplicates == 3 and read.lines == 8
    assert [(m.file, m.line) for m in read.malformed] == [
        ("a.log.gz", 3),
        ("a.log.gz", 4),
        ("b.log.gz", 3),
        ("b.log.gz", 4),
        ("c.log.gz", 0),
    ]
    assert "4 malformed" not in read.note("x") and "5 malformed" in read.note("x")


def test_unanswered_requests_are_never_fast() -> None:
    latency = RawLatency((np.array([0.1, -1.0, 0.2]),))
    assert latency.answered()[0].tolist() == [0.1, 0.2]


def test_metrics_settings_are_strict_and_complete() -> None:
    assert MetricsSettings().judge.false_fail_budget == 0.05
    base = {
        "name": "x",
        "environment": "prod",
        "target_version": "1.35",
        "regions": [
            {
                "name": "us-east-1",
                "blue": {"eks_cluster": "b", "kube_context": "b"},
                "green": {"eks_cluster": "g", "kube_context": "g"},
            }
        ],
    }
    with pytest.raises(ParamsError) as found:
        parse_params(
            {**base, "metrics": {"backend": "prometheus", "judge": {"warmup_minute": 2}}}, "p.yaml"
        )
    assert "metrics.judge.warmup_minute: unknown key" in "\n".join(found.value.problems)
    with pytest.raises(ParamsError, match="backend 'prometheus' needs a prometheus section"):
        parse_params({**base, "metrics": {"backend": "prometheus"}}, "p.yaml")
    with pytest.raises(ParamsError, match="since must be a UTC time"):
        parse_params(
            {**base, "metrics": {"review": {"since": "2026-11-28T10:00:00+01:00"}}}, "p.yaml"
        )

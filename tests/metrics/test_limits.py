"""Absolute limits: each fires on its own breach, none fires on one unlucky request."""

from __future__ import annotations

import numpy as np

from ekslift.metrics.limits import check_limits
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import ColourSeries, Window
from tests.metrics.synthetic import START

SETTINGS = JudgeSettings()
MINUTES = 20


def colour(requests: float, errors: np.ndarray | None = None, hosts: float = 3.0) -> ColourSeries:
    return ColourSeries(
        requests=np.full(MINUTES, requests),
        errors={"target_5xx": np.zeros(MINUTES) if errors is None else errors},
        healthy_hosts={"eu-test-1a": np.full(MINUTES, hosts), "eu-test-1b": np.full(MINUTES, 3.0)},
    )


def make(
    green: ColourSeries,
    blue: ColourSeries | None = None,
    elb_5xx: np.ndarray | None = None,
    alerts: dict[str, np.ndarray] | None = None,
) -> Window:
    return Window(
        start=START,
        green_weight=np.full(MINUTES, 0.05),
        blue=blue or colour(1140.0),
        green=green,
        elb_5xx=np.zeros(MINUTES) if elb_5xx is None else elb_5xx,
        alerts=alerts or {},
    )


def test_one_error_at_low_traffic_does_not_fire() -> None:
    errors = np.zeros(MINUTES)
    errors[5] = 1  # 1 of 60 requests: 1.7 %, below the count floor
    assert check_limits(make(colour(60.0, errors)), SETTINGS) == ()


def test_a_real_error_rate_fires_the_success_rate_limit() -> None:
    errors = np.zeros(MINUTES)
    errors[5:8] = 4
    (breach,) = check_limits(make(colour(60.0, errors)), SETTINGS)
    assert breach.limit == "success_rate" and breach.subject == "green"
    assert breach.minute == START.replace(minute=7) and breach.count == 12


def test_healthy_hosts_below_the_minimum_per_az_fire_on_either_colour() -> None:
    assert check_limits(make(colour(60.0, hosts=2.0)), SETTINGS) == ()
    (breach,) = check_limits(make(colour(60.0), blue=colour(1140.0, hosts=1.0)), SETTINGS)
    assert breach.limit == "healthy_hosts" and breach.subject == "blue/eu-test-1a"


def test_elb_5xx_of_the_whole_balancer() -> None:
    elb = np.zeros(MINUTES)
    elb[10:12] = 40
    (breach,) = check_limits(make(colour(60.0), elb_5xx=elb), SETTINGS)
    assert breach.limit == "elb_5xx" and breach.count == 80


def test_alerts_fire_with_their_name() -> None:
    firing = np.zeros(MINUTES, dtype=bool)
    firing[15] = True
    (breach,) = check_limits(make(colour(60.0), alerts={"PaymentsDown": firing}), SETTINGS)
    assert breach.limit == "alert" and breach.subject == "PaymentsDown"

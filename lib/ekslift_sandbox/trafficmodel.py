"""The seeded service's traffic, minute by minute: one story for every metrics backend.

CloudWatch (ALB metrics) and Prometheus (request counters and latency histograms) must agree,
or a gate could pass on one backend and fail on the other for the same estate; so both are
written from these minutes and neither invents numbers of its own.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

METRIC_MINUTES = 180
Color = Literal["blue", "green"]
COLORS: tuple[Color, ...] = ("blue", "green")
LATENCY_SAMPLES = 40
GREEN_SHARE = 0.05


@dataclass(frozen=True)
class Minute:
    """One minute of one colour's traffic; `latencies` each stand for an equal share of
    `requests` (CloudWatch takes them as values with counts, Prometheus as histogram
    observations)."""

    start: datetime
    requests: int
    errors: int
    latencies: tuple[float, ...]


def alb_minutes(region: str, regress: bool, now: datetime) -> dict[Color, list[Minute]]:
    """The last `METRIC_MINUTES` whole minutes before `now` for blue and green; green took
    `GREEN_SHARE` of the traffic. With `regress`, green answers slower and fails more.

    Seeded by region and flavour, so every backend (and every test) gets the same numbers
    for the same `now`."""
    rng = random.Random(f"{region}-{regress}")
    minutes: dict[Color, list[Minute]] = {}
    for color in COLORS:
        slow = 1.6 if regress and color == "green" else 1.0
        error_rate = 0.02 if regress and color == "green" else 0.002
        share = 1.0 if color == "blue" else GREEN_SHARE
        series = []
        for minute in range(METRIC_MINUTES):
            start = (now - timedelta(minutes=METRIC_MINUTES - minute)).replace(
                second=0, microsecond=0
            )
            requests = max(
                1, int(share * (1200 + 300 * math.sin(minute / 30)) * rng.uniform(0.9, 1.1))
            )
            latencies = tuple(
                round(rng.lognormvariate(math.log(0.08 * slow), 0.45), 4)
                for _ in range(LATENCY_SAMPLES)
            )
            errors = sum(rng.random() < error_rate for _ in range(requests))
            series.append(Minute(start, requests, errors, latencies))
        minutes[color] = series
    return minutes

"""Seeded synthetic windows for the judge's known-answer tests.

Deliberately plain (constant traffic, Poisson errors, log-normal latency): each test
changes one thing about green and checks the judge sees exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ekslift.metrics.series import ColourSeries, HistogramLatency, RawLatency, Window

START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
BASE_ERRORS = {"target_5xx": 0.001, "connection_errors": 0.0002, "unanswered": 0.0001}


@dataclass
class Colour:
    """What one colour does: error rates per kind, latency scale, what it omits."""

    errors: Mapping[str, float] = field(default_factory=lambda: dict(BASE_ERRORS))
    latency_scale: float = 1.0
    omit: tuple[str, ...] = ()
    hosts: float = 3.0


def colour_series(
    rng: np.random.Generator,
    requests: np.ndarray,
    colour: Colour,
    burst: np.ndarray,
    histogram_bounds: np.ndarray | None,
) -> ColourSeries:
    errors = {
        kind: rng.poisson(requests * np.minimum(rate * burst, 1.0)).astype(float)
        for kind, rate in colour.errors.items()
        if kind not in colour.omit
    }
    answered = requests - errors.get("unanswered", 0)
    samples = [
        np.r_[
            colour.latency_scale * rng.lognormal(np.log(0.1), 0.5, int(n)),
            -np.ones(int(u)),
        ]
        for n, u in zip(answered, errors.get("unanswered", np.zeros_like(requests)), strict=True)
    ]
    latency: RawLatency | HistogramLatency | None = RawLatency(tuple(samples))
    if histogram_bounds is not None:
        latency = HistogramLatency(
            histogram_bounds,
            np.array(
                [
                    np.bincount(
                        np.searchsorted(histogram_bounds, s[s >= 0]),
                        minlength=histogram_bounds.size,
                    )
                    for s in samples
                ],
                dtype=float,
            ),
        )
    return ColourSeries(
        requests=requests.astype(float),
        errors=errors,
        latency=None if "latency" in colour.omit else latency,
        healthy_hosts={"a": np.full(requests.size, colour.hosts), "b": np.full(requests.size, 3.0)},
    )


def window(
    *,
    minutes: int,
    share: float,
    rate_per_s: float,
    seed: int,
    blue: Colour | None = None,
    green: Colour | None = None,
    burst_minutes: tuple[int, ...] = (),
    burst_factor: float = 1.0,
    histogram_bounds: np.ndarray | None = None,
) -> Window:
    """A window at one share; bursts multiply both colours' error rates in those minutes."""
    rng = np.random.default_rng(seed)
    burst = np.ones(minutes)
    burst[list(burst_minutes)] = burst_factor
    per_minute = rate_per_s * 60
    blue_requests = rng.poisson(per_minute * (1 - share), minutes)
    green_requests = rng.poisson(per_minute * share, minutes)
    return Window(
        start=START,
        green_weight=np.full(minutes, share),
        blue=colour_series(rng, blue_requests, blue or Colour(), burst, histogram_bounds)
        if share < 1
        else None,
        green=colour_series(rng, green_requests, green or Colour(), burst, histogram_bounds),
        elb_5xx=np.zeros(minutes),
        region="eu-test-1",
    )

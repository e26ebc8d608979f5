"""What the backends deliver to the judge: per minute, per colour, on one minute grid.

Arrays are aligned on the window's minutes. A count the backend did not find for a minute
may be NaN: CloudWatch omits datapoints at low traffic, and a missing count is zero. A
metric the backend did not deliver at all is absent from its mapping (or ``None``), which
is different: the judge can never pass what it could not see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from ekslift.errors import InputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _counts(values: npt.ArrayLike, what: str, minutes: int) -> FloatArray:
    """Missing minutes (NaN) are zero counts; negative counts are a backend bug to surface."""
    array = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    if array.shape != (minutes,):
        raise InputError(f"{what}: expected {minutes} minutes, got shape {array.shape}")
    if (array < 0).any():
        raise InputError(f"{what}: negative counts; the backend's query is wrong")
    return array


@dataclass(frozen=True)
class RawLatency:
    """Per-request processing times in seconds, one array per minute (ALB access logs).

    A time of -1 marks a request the target never answered: it is an error (counted under
    ``unanswered``), never a latency, because as 0 or -1 it would make a failing green look
    fast. :func:`answered` drops those.
    """

    minutes: tuple[FloatArray, ...]

    def answered(self) -> tuple[FloatArray, ...]:
        return tuple(np.asarray(m, dtype=float)[np.asarray(m) >= 0] for m in self.minutes)


@dataclass(frozen=True)
class HistogramLatency:
    """Per-minute bucket counts (Prometheus), not cumulative, one row per minute.

    ``bounds`` are the buckets' upper bounds in seconds, increasing; the last may be +Inf.
    """

    bounds: FloatArray
    counts: FloatArray

    def __post_init__(self) -> None:
        bounds = np.asarray(self.bounds, dtype=float)
        if bounds.ndim != 1 or (np.diff(bounds) <= 0).any() or (bounds <= 0).any():
            raise InputError("histogram bounds must be positive and strictly increasing")
        if np.asarray(self.counts).ndim != 2 or np.asarray(self.counts).shape[1] != bounds.size:
            raise InputError("histogram counts must be minutes × buckets, one column per bound")


Latency = RawLatency | HistogramLatency


@dataclass(frozen=True)
class ColourSeries:
    """One colour's target group over the window.

    ``requests`` counts every request routed to the colour, answered or not; ``errors`` maps
    an error kind (``target_5xx``, ``connection_errors``, ``unanswered``) to its per-minute
    counts; ``healthy_hosts`` maps an availability zone to its per-minute healthy host
    count (NaN where there was no datapoint).
    """

    requests: FloatArray
    errors: Mapping[str, FloatArray]
    latency: Latency | None = None
    healthy_hosts: Mapping[str, FloatArray] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """One region's minutes at one step, starting at the weight change that began it.

    ``green_weight`` is green's share in force each minute (0.25 = 25 %): the judge compares
    only minutes at the step's share, after the warm-up, so a partial rollback or the
    previous step's tail never enters the comparison.
    """

    start: datetime
    green_weight: FloatArray
    blue: ColourSeries | None
    green: ColourSeries | None
    elb_5xx: FloatArray
    alerts: Mapping[str, BoolArray] = field(default_factory=dict)
    region: str = ""
    green_window_quantile: float | None = None
    """Green's ``limits.latency_ceiling_quantile`` over the whole window, in seconds, from a
    backend without per-request latency (CloudWatch's pNN, period = the window): checked
    against the ceiling only, never compared with blue, since a percentile of per-minute
    percentiles is not a percentile."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() != timedelta(0):
            raise InputError(f"window start {self.start.isoformat()} must be in UTC")
        minutes = self.minutes
        weight = np.asarray(self.green_weight, dtype=float)
        if weight.shape != (minutes,) or np.isnan(weight).any():
            raise InputError(f"green_weight: expected {minutes} known weights per minute")
        if ((weight < 0) | (weight > 1)).any():
            raise InputError("green_weight must be a share between 0 and 1 (0.25 = 25 %)")
        for name, colour in (("blue", self.blue), ("green", self.green)):
            if colour is None:
                continue
            _counts(colour.requests, f"{name} requests", minutes)
            for kind, values in colour.errors.items():
                _counts(values, f"{name} {kind}", minutes)
            for zone, hosts in colour.healthy_hosts.items():
                if np.asarray(hosts).shape != (minutes,):
                    raise InputError(f"{name} healthy hosts in {zone}: expected {minutes} minutes")
            latency_minutes = (
                len(colour.latency.minutes)
                if isinstance(colour.latency, RawLatency)
                else np.asarray(colour.latency.counts).shape[0]
                if colour.latency is not None
                else minutes
            )
            if latency_minutes != minutes:
                raise InputError(f"{name} latency: expected {minutes} minutes")
        for name, firing in self.alerts.items():
            if np.asarray(firing).shape != (minutes,):
                raise InputError(f"alert {name}: expected {minutes} minutes")

    @property
    def minutes(self) -> int:
        return int(np.asarray(self.elb_5xx).size)

    def between(self, first: int, last: int) -> Window:
        """Minutes ``first`` to ``last - 1`` as a window of their own (one weight step of a
        longer cutover), every series cut alike; the whole-window quantile is not the
        part's, so it is dropped."""

        def cut(colour: ColourSeries | None) -> ColourSeries | None:
            if colour is None:
                return None
            latency: Latency | None = colour.latency
            if isinstance(latency, RawLatency):
                latency = RawLatency(latency.minutes[first:last])
            elif isinstance(latency, HistogramLatency):
                latency = HistogramLatency(latency.bounds, np.asarray(latency.counts)[first:last])
            return ColourSeries(
                requests=np.asarray(colour.requests)[first:last],
                errors={k: np.asarray(v)[first:last] for k, v in colour.errors.items()},
                latency=latency,
                healthy_hosts={
                    k: np.asarray(v)[first:last] for k, v in colour.healthy_hosts.items()
                },
            )

        return Window(
            start=self.minute(first),
            green_weight=np.asarray(self.green_weight)[first:last],
            blue=cut(self.blue),
            green=cut(self.green),
            elb_5xx=np.asarray(self.elb_5xx)[first:last],
            alerts={k: np.asarray(v)[first:last] for k, v in self.alerts.items()},
            region=self.region,
        )

    def minute(self, index: int) -> datetime:
        return self.start + timedelta(minutes=index)

    def counts(self, values: npt.ArrayLike, what: str = "counts") -> FloatArray:
        """A count series on this window's minutes, missing minutes as zero."""
        return _counts(values, what, self.minutes)

    def requests(self, colour: ColourSeries | None) -> FloatArray:
        """Requests per minute, zeros for a colour that delivered nothing."""
        if colour is None:
            return np.zeros(self.minutes)
        return self.counts(colour.requests, "requests")


def judged_minutes(green_weight: npt.ArrayLike, share: float, warmup: int) -> BoolArray:
    """Minutes the statistical test may use: at the step's share, past the warm-up.

    The window starts at a weight change, and every later change (a rollback, a re-shift)
    restarts the warm-up: connection pools, caches and autoscalers settle in those minutes,
    and they would otherwise be blamed on the version.
    """
    weight = np.asarray(green_weight, dtype=float)
    index = np.arange(weight.size)
    changed = np.r_[True, ~np.isclose(weight[1:], weight[:-1], atol=1e-3)]
    since_change = index - np.maximum.accumulate(np.where(changed, index, 0))
    on_share: BoolArray = np.isclose(weight, share, atol=1e-3) & (since_change >= warmup)
    return on_share

"""The one interface every metrics backend offers to steps 4 and 5: a judged ``Window``.

A backend answers one question: for one region's target groups and a time range, what did
blue and green do each minute? Step 4 asks it after each soak, step 5 over the whole
cutover; both hand it the weights they know (step 4 wrote them, step 5 reads step 4's
record), because a backend sees traffic, not intentions. Each backend also says which
minutes it can already vouch for (:meth:`MetricsBackend.complete_until`: CloudWatch lags,
access logs arrive late and twice) and what the judge may ask of it
(:meth:`MetricsBackend.judge_settings`: CloudWatch has no latency distribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from ekslift.errors import InputError
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import FloatArray, Window
from ekslift.params import Color, RegionParams


@dataclass(frozen=True)
class WeightChange:
    """From ``at`` on, green had ``green`` of the traffic (0.25 = 25 %)."""

    at: datetime
    green: float


@dataclass(frozen=True)
class ColourTarget:
    """One colour as the backends name it: its target group (ALB metrics, access logs) and
    its EKS cluster (the ``{cluster}`` of PromQL templates)."""

    target_group_arn: str
    cluster: str


@dataclass(frozen=True)
class TrafficTarget:
    """One region's weighted forward: the load balancer and both colours."""

    region: str
    listener_arn: str
    blue: ColourTarget
    green: ColourTarget

    @classmethod
    def of(cls, region: RegionParams) -> TrafficTarget:
        """From the parameters; only ALB traffic has per-target-group metrics."""
        alb = region.traffic.alb if region.traffic else None
        if alb is None or region.green is None:
            raise InputError(
                f"regions[{region.name}].traffic.alb: metrics are read per ALB target group; "
                "this region has no ALB traffic section (or no green cluster)"
            )
        return cls(
            region=region.name,
            listener_arn=alb.listener_arn,
            blue=ColourTarget(alb.blue_target_group_arn, region.blue.eks_cluster),
            green=ColourTarget(alb.green_target_group_arn, region.green.eks_cluster),
        )

    def colour(self, name: Color) -> ColourTarget:
        return self.blue if name == "blue" else self.green

    @property
    def load_balancer_arn(self) -> str:
        """The listener's ARN names its load balancer: ``…:listener/app/<name>/<id>/<l>``."""
        prefix, _, resource = self.listener_arn.rpartition(":")
        app = resource.removeprefix("listener/").rsplit("/", 1)[0]
        return f"{prefix}:loadbalancer/{app}"


def dimension_of(arn: str) -> str:
    """ALB metric dimensions are the ARN's resource part: ``app/<name>/<id>``,
    ``targetgroup/<name>/<id>``."""
    return arn.split(":", 5)[-1].removeprefix("loadbalancer/")


def floor_minute(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise InputError(f"{moment.isoformat()} must be an aware UTC time")
    return moment.replace(second=0, microsecond=0)


def minute_range(start: datetime, end: datetime) -> tuple[datetime, int]:
    """The whole minutes of [start, end): a partial last minute is left out (its counts are
    not complete), a partial first minute is included from its start."""
    first = floor_minute(start)
    minutes = int((floor_minute(end) - first).total_seconds() // 60)
    if minutes < 1:
        raise InputError(
            f"the window {start.isoformat()} – {end.isoformat()} holds no whole minute"
        )
    return first, minutes


def weights_per_minute(
    changes: Sequence[WeightChange], start: datetime, minutes: int
) -> FloatArray:
    """Green's share in force at the end of each minute.

    A minute in which the weight changed is labelled with the new share: the judge's warm-up
    then skips it at the new step, and it never pollutes the tail of the previous one.
    """
    ordered = sorted(changes, key=lambda c: c.at)
    if not ordered or ordered[0].at > start + timedelta(minutes=1):
        raise InputError(
            f"the weight history must begin by {start.isoformat()} (the window's start); "
            "pass the weights in force before the window as its first change"
        )
    ends = np.array([(start + timedelta(minutes=i + 1)).timestamp() for i in range(minutes)])
    stamps = np.array([c.at.timestamp() for c in ordered])
    index = np.searchsorted(stamps, ends, side="left") - 1
    shares = np.array([c.green for c in ordered], dtype=float)
    weights: FloatArray = shares[np.maximum(index, 0)]
    return weights


def complete_end(end: datetime, now: datetime, lag: timedelta) -> datetime:
    """``end``, or the last minute boundary whose data is complete ``lag`` after it."""
    return min(floor_minute(end), floor_minute(now - lag))


class MetricsBackend(Protocol):
    """What steps 4 and 5 need from a source of metrics (CloudWatch, access logs,
    Prometheus); build one with :func:`ekslift.metrics.backends.backend_for`."""

    name: str
    notes: list[str]
    """What the backend had to work around while reading (malformed or repeated log
    entries, …), one line per window read, for the report."""

    def complete_until(self, now: datetime) -> datetime:
        """The latest minute boundary whose minutes are complete and final at ``now``."""
        ...

    def judge_settings(self, settings: JudgeSettings) -> JudgeSettings:
        """``settings`` restricted to what this backend delivers (error kinds, quantiles),
        so the judge holds on nothing it could never see and spends no α on it."""
        ...

    def window(
        self,
        target: TrafficTarget,
        start: datetime,
        end: datetime,
        weights: Sequence[WeightChange],
        *,
        now: datetime | None = None,
    ) -> Window:
        """Both colours' minutes of [start, end), cut at :meth:`complete_until` (``now``
        defaults to the current time). A colour with no datapoint at all is ``None`` (no
        data), never zeros; a missing minute of a colour that has data is a zero count."""
        ...

    def precheck(self, target: TrafficTarget, start: datetime, end: datetime) -> list[str]:
        """What this backend cannot deliver for both colours over a recent range (a metric
        renamed by a chart bump, an unreadable bucket); empty when everything answers."""
        ...

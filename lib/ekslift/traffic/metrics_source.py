"""Where the judge's windows come from during a shift: the run's metrics backend.

Step 4 reads the same backend as step 5 (``metrics.backend``: CloudWatch, the ALB's access
logs or Prometheus, built by :func:`ekslift.metrics.backends.backend_for`) with the same
judge settings (``metrics.judge``), so the review re-judges a shift on the evidence the
shift itself was judged on. The shift asks for one region's minutes between two times at
the share it wrote; a backend sees traffic, not intentions, so that share is handed to it
as the weight in force. Tests inject their own :class:`MetricsSource`.

:class:`ReplaySource` is a **sandbox-only** source: a demo cannot soak for the minutes a
real step needs, so it judges every step on a recorded span of the sandbox's seeded history
(``shift.replay``), through the same backend. It says ``live = False``: the measured share
is not checked against it, and no window waits for data to settle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from ekslift.metrics.backend import MetricsBackend, TrafficTarget, WeightChange, floor_minute
from ekslift.metrics.backends import backend_for
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import Window
from ekslift.params import RegionParams, ReplaySettings, UpgradeParams


class MetricsSource(Protocol):
    """One region's judge window from ``start`` to ``end`` at green share ``share``."""

    live: bool

    def window(self, region: RegionParams, start: datetime, end: datetime, share: float) -> Window:
        """Whole minutes from ``start`` (floored) to ``end``, as far as they are complete."""
        ...

    def complete_until(self, now: datetime) -> datetime:
        """The latest minute boundary whose data is final at ``now`` (a window ending later
        is judged short)."""
        ...

    def judge_settings(self, settings: JudgeSettings) -> JudgeSettings:
        """``settings`` restricted to what the source delivers."""
        ...


class BackendSource:
    """A metrics backend, asked at the share the shift wrote."""

    live = True

    def __init__(self, backend: MetricsBackend) -> None:
        self.backend = backend

    def window(
        self,
        region: RegionParams,
        start: datetime,
        end: datetime,
        share: float,
        *,
        now: datetime | None = None,
    ) -> Window:
        """``now`` (default: the wall clock) decides which minutes are complete."""
        weights = [WeightChange(floor_minute(start), share)]
        return self.backend.window(TrafficTarget.of(region), start, end, weights, now=now)

    def complete_until(self, now: datetime) -> datetime:
        return self.backend.complete_until(now)

    def judge_settings(self, settings: JudgeSettings) -> JudgeSettings:
        return self.backend.judge_settings(settings)


class ReplaySource(BackendSource):
    """Sandbox only: every window is the recorded span ``replay.minutes`` long ending at
    ``replay.until``, whatever the soak's own times."""

    live = False

    def __init__(self, backend: MetricsBackend, replay: ReplaySettings) -> None:
        super().__init__(backend)
        self.replay = replay

    def window(
        self,
        region: RegionParams,
        start: datetime,
        end: datetime,
        share: float,
        *,
        now: datetime | None = None,
    ) -> Window:
        until = floor_minute(self.replay.until)
        recorded = until - timedelta(minutes=self.replay.minutes)
        return super().window(region, recorded, until, share, now=now or end)

    def complete_until(self, now: datetime) -> datetime:
        return floor_minute(now)


def source_for(params: UpgradeParams) -> MetricsSource:
    backend = backend_for(params)
    replay = params.shift.replay
    return BackendSource(backend) if replay is None else ReplaySource(backend, replay)


def measured_share(window: Window) -> float | None:
    """Green's share of the requests both target groups counted (None with no requests)."""
    green = window.requests(window.green).sum()
    total = green + window.requests(window.blue).sum()
    return float(green / total) if total > 0 else None

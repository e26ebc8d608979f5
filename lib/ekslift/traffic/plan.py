"""The plan: from the weights AWS has now, every stage a region goes through and how long.

Read-only, and the default of every entry point. Soaks come from the judge's soak planning
(`metrics.soak.plan_soaks`) on the region's baseline (blue's last hour from the metrics
source, or `shift.baseline_*` from the parameters), so each row says what its soak can
prove; with `soak_mode: fixed` the row says what the fixed soak falls short of.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from ekslift.errors import EksliftError
from ekslift.metrics.soak import SoakStep, plan_soaks
from ekslift.params import RegionParams, UpgradeParams
from ekslift.traffic.actions import ForwardSet, alb_of
from ekslift.traffic.checks import ForwardSetReader
from ekslift.traffic.metrics_source import MetricsSource

log = logging.getLogger(__name__)
Stage = Literal["start", "smoke", "compare", "hold", "bake"]


@dataclass(frozen=True)
class PlannedStep:
    share: int
    stage: Stage
    soak_seconds: int
    proves: str


@dataclass(frozen=True)
class Baseline:
    request_rate: float
    error_rate: float
    source: str


@dataclass(frozen=True)
class RegionPlan:
    region: str
    current_share: int | None
    current_shares: dict[str, int | None]
    steps: tuple[PlannedStep, ...]
    worst_case_seconds: int
    manual_rollback: tuple[str, ...]
    baseline: Baseline | None
    problems: tuple[str, ...] = field(default_factory=tuple)
    # The longest the region can stay shifted with nobody watching (None: no guard).
    unwatched_seconds: int | None = None


@dataclass(frozen=True)
class ShiftPlan:
    name: str
    environment: str
    apply: bool
    regions: tuple[RegionPlan, ...]


def region_order(params: UpgradeParams) -> list[RegionParams]:
    """The canary region first (the parameter's, else the first listed), then the rest."""
    canary = params.shift.canary_region or params.regions[0].name
    shifted = [r for r in params.regions if r.traffic and r.traffic.alb]
    return sorted(shifted, key=lambda r: r.name != canary)


def baseline(
    params: UpgradeParams, region: RegionParams, source: MetricsSource, now: datetime
) -> Baseline | None:
    """Blue's request and error rates over the last hour, else the parameters' figures."""
    try:
        window = source.window(region, now - timedelta(hours=1), now, 0.0)
        blue = window.blue
        if blue is not None:
            requests = window.requests(blue).sum()
            errors = sum(window.counts(v).sum() for v in blue.errors.values())
            if requests > 0 and errors > 0:
                return Baseline(requests / (window.minutes * 60), errors / requests, "metrics")
    except EksliftError as exc:
        log.warning("%s: no baseline from the metrics source: %s", region.name, exc)
    shift = params.shift
    if shift.baseline_request_rate and shift.baseline_error_rate:
        return Baseline(shift.baseline_request_rate, shift.baseline_error_rate, "parameters")
    return None


def _judged(
    params: UpgradeParams, source: MetricsSource, rates: Baseline | None
) -> dict[int, SoakStep]:
    if rates is None:
        return {}
    settings = source.judge_settings(params.metrics.judge)
    if not settings.quantiles:
        # plan_soaks sizes its tail floor over the quantiles and fails on none (judge
        # branch); with latency not judged, the median's floor is the mildest stand-in.
        settings = settings.model_copy(update={"quantiles": (0.5,)})
    rows = plan_soaks(
        rates.request_rate, rates.error_rate, settings, regions=len(region_order(params))
    )
    return {round(row.share * 100): row for row in rows}


def steps_of(
    params: UpgradeParams, region: RegionParams, source: MetricsSource, rates: Baseline | None
) -> list[PlannedStep]:
    """The region's steps, each soak sized by the judge's plan for what ``source`` delivers
    (with the planned figures when ``soak_mode`` is not fixed)."""
    traffic = region.traffic
    assert traffic is not None
    judged = _judged(params, source, rates)
    steps: list[PlannedStep] = []
    for share in traffic.steps:
        if share == 0:
            if traffic.smoke:
                steps.append(
                    PlannedStep(
                        0,
                        "smoke",
                        traffic.smoke.timeout_seconds,
                        f"synthetic checks pass through the {traffic.smoke.header_name} header "
                        "rule to green before any user",
                    )
                )
            else:
                steps.append(PlannedStep(0, "start", 0, "green takes no traffic"))
            continue
        if share == 100:
            if traffic.hold.mode == "watched":
                steps.append(
                    PlannedStep(
                        steps[-1].share if steps else 0,
                        "hold",
                        traffic.hold.max_seconds,
                        "held until `ekslift shift release`; unreleased at the end → 100 % blue",
                    )
                )
            else:
                steps.append(
                    PlannedStep(steps[-1].share if steps else 0, "hold", 0, "approved up front")
                )
        row = judged.get(share)
        planned = row.soak_minutes * 60 if row else None
        stage: Stage = "bake" if share == 100 else "compare"
        if traffic.soak_mode == "fixed" or planned is None:
            seconds = traffic.bake_seconds if share == 100 else traffic.soak_seconds
            proves = (
                f"fixed soak; the judge's plan needs {row.soak_minutes} min to prove: {row.proves}"
                if row
                else "fixed soak; no baseline to plan what it proves (limits are watched)"
            )
        else:
            seconds = max(planned, traffic.soak_seconds)
            if share == 100:
                seconds = max(seconds, traffic.bake_seconds)
            proves = row.proves if row else ""
        steps.append(PlannedStep(share, stage, seconds, proves))
    return steps


def worst_case(params: UpgradeParams, steps: list[PlannedStep]) -> int:
    """The longest the shift process can run: each judged soak extended the allowed number
    of times, the hold to its end, a paused health check to its end. (How long a region
    can stay shifted once that process is gone is the guard's bound, `unwatched_seconds`.)"""
    extensions = 1 + params.metrics.judge.max_extensions
    total = 0
    for step in steps:
        total += step.soak_seconds * (extensions if step.stage in ("compare", "bake") else 1)
    return total + params.shift.max_pause_seconds


def plan_region(
    params: UpgradeParams,
    region: RegionParams,
    read: ForwardSetReader,
    source: MetricsSource,
    now: datetime,
) -> RegionPlan:
    alb = alb_of(region)
    found: ForwardSet = read(region)
    rates = baseline(params, region, source, now)
    steps = steps_of(params, region, source, rates)
    problems = []
    share = found.share(alb)
    assert region.traffic is not None
    if share is None:
        problems.append("the forward actions are at different shares: roll back first")
    elif share not in region.traffic.steps:
        problems.append(f"AWS shows {share} % green, which is not a step of the plan")
    return RegionPlan(
        region=region.name,
        current_share=share,
        current_shares=found.shares(alb),
        steps=tuple(steps),
        worst_case_seconds=worst_case(params, steps),
        manual_rollback=tuple(a.manual_rollback(alb, region.name) for a in found.actions),
        baseline=rates,
        problems=tuple(problems),
        unwatched_seconds=params.shift.guard.unwatched_seconds() if params.shift.guard else None,
    )


def make_plan(
    params: UpgradeParams,
    read: ForwardSetReader,
    source: MetricsSource,
    now: datetime,
    apply: bool,
) -> ShiftPlan:
    return ShiftPlan(
        params.name,
        params.environment,
        apply,
        tuple(plan_region(params, r, read, source, now) for r in region_order(params)),
    )

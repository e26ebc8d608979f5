"""Soak planning: how long each step must soak to prove what it is meant to prove.

Errors are rare, so they set the pace: a step can pass only once the error ratio's upper
bound is below its margin, which needs enough errors on *both* colours. From the request
rate the service has at the soak's hour (last week's, say), the baseline error rate, the
step's share and margin, the plan gives the minutes after which a green as good as blue
passes with the planned power (by the usual normal approximation of log(ratio), whose
variance is dispersion × (1/errors_green + 1/errors_blue)). Beyond the cap the step is a
hold, and the row says what the capped soak can prove instead. At low traffic this makes
the 5 % step a smoke step (limits and a coarse ratio); the real proof is at 25 and 50 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scipy import stats

from ekslift.errors import InputError
from ekslift.metrics.policy import JudgeSettings, StepPolicy, alpha_per_test


@dataclass(frozen=True)
class SoakStep:
    """One row of the plan; ``green_requests`` and ``green_errors`` are expected over the
    judged minutes (after the warm-up), ``needed_minutes`` before the floor and the cap."""

    share: float
    role: str
    error_margin: float
    latency_margin: float | None
    soak_minutes: int
    needed_minutes: float
    green_requests: int
    green_errors: float
    feasible: bool
    proves: str


def _z_sum(settings: JudgeSettings, regions: int, df: float = math.inf) -> float:
    """Quantile of the test's α (Student's t on the GLM's residual df, as the judge uses)
    plus z of the power: the distance, in standard errors, between 'as good as blue' and a
    bound that clears the margin with that power."""
    alpha = alpha_per_test(settings, regions)
    reach = stats.norm.ppf(1 - alpha) if math.isinf(df) else stats.t.ppf(1 - alpha, df)
    return float(reach + stats.norm.ppf(settings.plan_power))


def _ratio_minutes(
    spread: float,
    margin: float,
    informative: float,
    least: int,
    z: Callable[[float], float],
) -> float:
    """Minutes until the ratio's bound clears ``margin``; the GLM's df are the minutes with
    at least one error (``informative`` of them, and the judge sees at least ``least``
    minutes) less one, so the t quantile depends on the answer: a few rounds settle it."""
    minutes = spread * (z(math.inf) / math.log(margin)) ** 2
    for _ in range(5):
        df = max(max(minutes, least) * informative - 1, 1.0)
        minutes = spread * (z(df) / math.log(margin)) ** 2
    return minutes


def _compared_step(
    step: StepPolicy,
    per_minute: float,
    error_rate: float,
    settings: JudgeSettings,
    regions: int,
    dispersion: float,
) -> SoakStep:
    alpha = alpha_per_test(settings, regions)
    difference = settings.error_difference(step)
    # Pass also comes from an excess proven below the difference that matters, which at a
    # low error rate is a wider margin than the ratio's.
    margin = max(step.error_margin, 1 + difference / error_rate)
    spread = dispersion * (1 / step.share + 1 / (1 - step.share)) / (per_minute * error_rate)
    informative = 1 - math.exp(-per_minute * error_rate)
    needed = _ratio_minutes(
        spread,
        margin,
        informative,
        settings.min_soak_minutes,
        lambda df: _z_sum(settings, regions, df),
    )
    # A kind with no error on green passes once green's exact upper bound (-ln α errors)
    # is below the difference, and p99 needs enough samples beyond it.
    # (no quantile compared, as with CloudWatch: errors alone set the floor)
    tail = max((settings.min_tail_samples / (1 - q) for q in settings.quantiles), default=0.0)
    floor = max(-math.log(alpha) / difference, tail) / (per_minute * step.share)
    needed = max(needed, floor)
    judged = max(settings.min_soak_minutes, math.ceil(needed))
    soak = judged + settings.warmup_minutes
    latency = f"latency below +{step.latency_margin:.0%}" if settings.quantiles else "no latency"
    if soak > settings.max_soak_minutes:
        judged = settings.max_soak_minutes - settings.warmup_minutes
        provable = math.exp(_z_sum(settings, regions) * math.sqrt(spread / judged))
        proves = (
            f"hold: needs {soak} min, over the {settings.max_soak_minutes} min cap; "
            f"in {settings.max_soak_minutes} min it proves errors below ×{provable:.2f} only"
        )
    elif step.role == "smoke":
        proves = f"smoke: limits, errors below ×{margin:.3g}, {latency}"
    else:
        proves = (
            f"errors below ×{margin:.3g} and {latency}, {settings.plan_power:.0%} power "
            "if green is as good as blue"
        )
    return SoakStep(
        share=step.share,
        role=step.role,
        error_margin=step.error_margin,
        latency_margin=step.latency_margin,
        soak_minutes=min(soak, settings.max_soak_minutes),
        needed_minutes=needed,
        green_requests=round(per_minute * step.share * judged),
        green_errors=per_minute * step.share * judged * error_rate,
        feasible=soak <= settings.max_soak_minutes,
        proves=proves,
    )


def _bake(
    per_minute: float, error_rate: float, settings: JudgeSettings, regions: int, dispersion: float
) -> SoakStep:
    bake = settings.bake
    burn = error_rate / (1 - bake.slo)
    headroom = math.log(bake.max_burn_rate / burn) if burn < bake.max_burn_rate else 0.0
    needed = (
        dispersion * (_z_sum(settings, regions) / headroom) ** 2 / (per_minute * error_rate)
        if headroom > 0
        else math.inf
    )
    judged = max(bake.min_minutes, math.ceil(needed) if math.isfinite(needed) else 0)
    soak = judged + settings.warmup_minutes
    feasible = math.isfinite(needed) and soak <= settings.max_soak_minutes
    proves = (
        f"burn below {bake.max_burn_rate:g} of the {bake.slo:.2%} SLO's budget (baseline "
        f"burn {burn:.2f}) and limits"
        if feasible
        else f"hold: a baseline burn of {burn:.2f} cannot be proven below "
        f"{bake.max_burn_rate:g} within {settings.max_soak_minutes} min"
    )
    return SoakStep(
        share=1.0,
        role="bake",
        error_margin=bake.max_burn_rate,
        latency_margin=None,
        soak_minutes=min(soak, settings.max_soak_minutes),
        needed_minutes=needed,
        green_requests=round(per_minute * judged),
        green_errors=per_minute * judged * error_rate,
        feasible=feasible,
        proves=proves,
    )


def plan_soaks(
    request_rate: float,
    error_rate: float,
    settings: JudgeSettings,
    *,
    regions: int,
    dispersion: float = 1.0,
) -> tuple[SoakStep, ...]:
    """One row per step (the compared steps, then the bake at 100 %).

    ``request_rate`` is the region's requests per second at the soak's hour (all on blue
    before the cutover), ``error_rate`` blue's baseline errors per request, ``dispersion``
    the quasi-Poisson scale expected after minute effects (1 when bursts cancel).
    """
    if request_rate <= 0 or not 0 < error_rate < 1 or dispersion < 1:
        raise InputError(
            "plan_soaks needs a positive request rate, an error rate in (0, 1) and a "
            f"dispersion of at least 1; got {request_rate}, {error_rate}, {dispersion}"
        )
    per_minute = request_rate * 60
    rows = [
        _compared_step(step, per_minute, error_rate, settings, regions, dispersion)
        for step in settings.steps
    ]
    return (*rows, _bake(per_minute, error_rate, settings, regions, dispersion))

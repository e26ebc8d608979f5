"""Absolute limits, watched every minute of a soak (warm-up included).

The statistical comparison needs time; these do not. Each limit sums a trailing window
and has a count floor, so one unlucky request at low traffic cannot fire it, and each
breach names the limit, the subject, the first minute and the numbers. Healthy hosts are
judged against a minimum per AZ (losing one of many hosts is routine; falling below what
the zone needs is not), on both colours: blue must still be able to take a rollback.
"""

from __future__ import annotations

import numpy as np

from ekslift.metrics.latency import slow_per_minute
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import BoolArray, FloatArray, Window
from ekslift.metrics.verdict import LimitBreach


def _trailing(values: FloatArray, minutes: int) -> FloatArray:
    """Sum of each minute and the ``minutes - 1`` before it; NaN until the window is full,
    so one bad minute at the start is weighed like any other, not as a whole window."""
    summed: FloatArray = np.convolve(values, np.ones(minutes))[: values.size]
    summed[: minutes - 1] = np.nan
    return summed


def _first(fired: BoolArray) -> int | None:
    hits = np.flatnonzero(fired)
    return int(hits[0]) if hits.size else None


def _success_rate(window: Window, settings: JudgeSettings) -> list[LimitBreach]:
    limits, green = settings.limits, window.green
    if green is None:
        return []
    errors = sum(
        (
            window.counts(green.errors[kind])
            for kind in settings.error_kinds
            if kind in green.errors
        ),
        start=np.zeros(window.minutes),
    )
    errors_w = _trailing(errors, limits.window_minutes)
    requests_w = _trailing(window.requests(green), limits.window_minutes)
    rate = np.divide(errors_w, requests_w, out=np.zeros_like(errors_w), where=requests_w > 0)
    at = _first((errors_w >= limits.min_errors) & (1 - rate < limits.min_success_rate))
    if at is None:
        return []
    return [
        LimitBreach(
            limit="success_rate",
            subject="green",
            minute=window.minute(at),
            value=float(1 - rate[at]),
            threshold=limits.min_success_rate,
            count=int(errors_w[at]),
            reason=(
                f"green's success rate {1 - rate[at]:.2%} over {limits.window_minutes} min "
                f"({int(errors_w[at])} errors in {int(requests_w[at])} requests) is below "
                f"{limits.min_success_rate:.2%}"
            ),
        )
    ]


def _window_quantile_ceiling(window: Window, settings: JudgeSettings) -> list[LimitBreach]:
    """The ceiling from one whole-window quantile, with the same count floor: only when
    green answered enough requests that the quantile's tail holds ``min_slow_requests``."""
    limits, green, value = settings.limits, window.green, window.green_window_quantile
    if green is None or value is None:
        return []
    requests = float(window.requests(green).sum())
    tail = 1 - limits.latency_ceiling_quantile
    if value * 1000 <= limits.latency_ceiling_ms or requests * tail < limits.min_slow_requests:
        return []
    name = f"p{limits.latency_ceiling_quantile * 100:g}"
    return [
        LimitBreach(
            limit="latency_ceiling",
            subject="green",
            minute=window.start,
            value=value,
            threshold=limits.latency_ceiling_ms / 1000,
            count=int(requests * tail),
            reason=(
                f"green's {name} over the window ({value * 1000:.0f} ms, {int(requests)} "
                f"requests) is above the ceiling {limits.latency_ceiling_ms:g} ms"
            ),
        )
    ]


def _latency_ceiling(window: Window, settings: JudgeSettings) -> list[LimitBreach]:
    limits, green = settings.limits, window.green
    if green is None:
        return []
    if green.latency is None:
        return _window_quantile_ceiling(window, settings)
    ceiling = limits.latency_ceiling_ms / 1000
    total, slow = slow_per_minute(green.latency, ceiling)
    total_w = _trailing(total, limits.window_minutes)
    slow_w = _trailing(slow, limits.window_minutes)
    share = np.divide(slow_w, total_w, out=np.zeros_like(slow_w), where=total_w > 0)
    tail = 1 - limits.latency_ceiling_quantile
    at = _first((slow_w >= limits.min_slow_requests) & (share > tail))
    if at is None:
        return []
    return [
        LimitBreach(
            limit="latency_ceiling",
            subject="green",
            minute=window.minute(at),
            value=float(share[at]),
            threshold=tail,
            count=int(slow_w[at]),
            reason=(
                f"{share[at]:.2%} of green's requests over {limits.window_minutes} min "
                f"({int(slow_w[at])} of {int(total_w[at])}) took longer than "
                f"{limits.latency_ceiling_ms:g} ms: p{limits.latency_ceiling_quantile * 100:g} "
                "is above the ceiling"
            ),
        )
    ]


def _healthy_hosts(window: Window, settings: JudgeSettings) -> list[LimitBreach]:
    limits, breaches = settings.limits, []
    for name, colour in (("blue", window.blue), ("green", window.green)):
        if colour is None:
            continue
        for zone, hosts in sorted(colour.healthy_hosts.items()):
            values = np.asarray(hosts, dtype=float)
            below = (values < limits.min_healthy_hosts_per_az).astype(float)
            run = _trailing(below, limits.healthy_hosts_minutes)
            at = _first(run >= limits.healthy_hosts_minutes)
            if at is None:
                continue
            breaches.append(
                LimitBreach(
                    limit="healthy_hosts",
                    subject=f"{name}/{zone}",
                    minute=window.minute(at),
                    value=float(values[at]),
                    threshold=limits.min_healthy_hosts_per_az,
                    count=limits.healthy_hosts_minutes,
                    reason=(
                        f"{name} had {values[at]:g} healthy hosts in {zone} for "
                        f"{limits.healthy_hosts_minutes} min, below the minimum "
                        f"{limits.min_healthy_hosts_per_az} per AZ"
                    ),
                )
            )
    return breaches


def _elb_5xx(window: Window, settings: JudgeSettings) -> list[LimitBreach]:
    limits = settings.limits
    errors_w = _trailing(window.counts(window.elb_5xx), limits.window_minutes)
    requests = window.requests(window.blue) + window.requests(window.green)
    requests_w = _trailing(requests, limits.window_minutes)
    rate = np.divide(errors_w, requests_w, out=np.zeros_like(errors_w), where=requests_w > 0)
    # With no routed request at all, any ELB 5xx above the floor is the balancer failing.
    rate = np.where(requests_w > 0, rate, np.where(errors_w > 0, 1.0, 0.0))
    at = _first((errors_w >= limits.min_elb_5xx) & (rate > limits.max_elb_5xx_rate))
    if at is None:
        return []
    return [
        LimitBreach(
            limit="elb_5xx",
            subject="load balancer",
            minute=window.minute(at),
            value=float(rate[at]),
            threshold=limits.max_elb_5xx_rate,
            count=int(errors_w[at]),
            reason=(
                f"the load balancer returned {int(errors_w[at])} 5xx of its own over "
                f"{limits.window_minutes} min ({rate[at]:.2%}), above "
                f"{limits.max_elb_5xx_rate:.2%}"
            ),
        )
    ]


def _alerts(window: Window) -> list[LimitBreach]:
    breaches = []
    for name, firing in sorted(window.alerts.items()):
        values = np.asarray(firing, dtype=bool)
        at = _first(values)
        if at is not None:
            breaches.append(
                LimitBreach(
                    limit="alert",
                    subject=name,
                    minute=window.minute(at),
                    value=1.0,
                    threshold=0.0,
                    count=int(values.sum()),
                    reason=f"alert {name} fired ({int(values.sum())} min in the window)",
                )
            )
    return breaches


def check_limits(window: Window, settings: JudgeSettings) -> tuple[LimitBreach, ...]:
    """Every absolute limit that fired in the window, each with its first minute."""
    return tuple(
        _success_rate(window, settings)
        + _latency_ceiling(window, settings)
        + _healthy_hosts(window, settings)
        + _elb_5xx(window, settings)
        + _alerts(window)
    )

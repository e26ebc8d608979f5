"""Read what the review judges: the cutover's window, its weights, and each region's metrics.

The window comes from step 4's weight history in the run when there is one (from its first
record to now); otherwise from ``--since/--until`` or ``metrics.review`` in the parameters,
else the last ``lookback_minutes``, and the weights are then told from the traffic (green's
share of each minute's requests) — the review says which.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError, InputError, ReadError
from ekslift.metrics.backend import MetricsBackend, TrafficTarget, WeightChange, floor_minute
from ekslift.metrics.backends import backend_for
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import Window
from ekslift.metrics.settings import ReviewSettings
from ekslift.metrics.weights import HISTORY, observed_shares, read_history
from ekslift.params import UpgradeParams

log = logging.getLogger(__name__)
WindowSource = Literal["step 4", "given", "lookback"]


@dataclass(frozen=True)
class Retention:
    """How long a client may still reach blue after its weight went to 0: in-flight
    requests drain for the deregistration delay, sticky clients stay for the cookie's
    duration (the target group's, or the forward action's group stickiness)."""

    deregistration_delay_s: int
    stickiness_s: int
    blue_weight: int
    green_weight: int


@dataclass(frozen=True)
class RegionReview:
    region: str
    target: TrafficTarget
    window: Window | None
    changes: tuple[WeightChange, ...]
    weights_from: Literal["step 4", "traffic"]
    retention: Retention | None
    problem: str = ""


@dataclass(frozen=True)
class Review:
    start: datetime
    end: datetime
    source: WindowSource
    backend: str
    settings: JudgeSettings
    retire: ReviewSettings
    regions: tuple[RegionReview, ...]
    notes: tuple[str, ...] = ()
    incomplete: list[str] = field(default_factory=list)


def _attributes(elb: object, what: str, call: str, **kwargs: str) -> dict[str, str]:
    try:
        found = getattr(elb, call)(**kwargs)["Attributes"]
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, what) from exc
    return {a["Key"]: a["Value"] for a in found}


def read_retention(target: TrafficTarget, profile: str | None) -> Retention:
    """Blue's drain and stickiness, and the weights in force now (read back from AWS)."""
    elb = aws.client("elbv2", target.region, profile)
    blue = target.blue.target_group_arn
    attributes = _attributes(
        elb,
        f"DescribeTargetGroupAttributes {blue}",
        "describe_target_group_attributes",
        TargetGroupArn=blue,
    )
    sticky = attributes.get("stickiness.enabled") == "true"
    cookie = int(attributes.get("stickiness.lb_cookie.duration_seconds", "0") or 0)
    try:
        rules = elb.describe_rules(ListenerArn=target.listener_arn)["Rules"]
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"DescribeRules {target.listener_arn}") from exc
    weights = {blue: 0, target.green.target_group_arn: 0}
    group_stickiness = 0
    for rule in rules:
        for action in rule.get("Actions", []):
            forward = action.get("ForwardConfig") or {}
            names = {g["TargetGroupArn"] for g in forward.get("TargetGroups", [])}
            if blue not in names:
                continue
            config = forward.get("TargetGroupStickinessConfig") or {}
            if config.get("Enabled"):
                group_stickiness = max(group_stickiness, int(config.get("DurationSeconds", 0)))
            if rule.get("IsDefault"):
                for group in forward.get("TargetGroups", []):
                    if group["TargetGroupArn"] in weights:
                        weights[group["TargetGroupArn"]] = int(group.get("Weight", 0))
    return Retention(
        deregistration_delay_s=int(attributes.get("deregistration_delay.timeout_seconds", 300)),
        stickiness_s=max(cookie if sticky else 0, group_stickiness),
        blue_weight=weights[blue],
        green_weight=weights[target.green.target_group_arn],
    )


def _window_of(
    params: UpgradeParams,
    history: dict[str, list[WeightChange]],
    since: datetime | None,
    until: datetime | None,
    complete: datetime,
) -> tuple[datetime, datetime, WindowSource]:
    review = params.metrics.review
    if history and since is None:
        start = min(changes[0].at for changes in history.values())
        return start, min(until or complete, complete), "step 4"
    since, until = since or review.since, until or review.until
    end = min(until or complete, complete)
    if since is not None:
        return since, end, "given"
    return end - timedelta(minutes=review.lookback_minutes), end, "lookback"


def _settled(
    backend: MetricsBackend, history: dict[str, list[WeightChange]], max_wait_minutes: int
) -> datetime:
    """Now, once the minute of step 4's last weight change is final in the backend.

    Run straight after a shift (the demo, a CI pipeline), the backend's last minutes are not
    final yet (CloudWatch's lag, the logs' settling): reviewing then would judge a window
    that ends before the shift did, so the review waits, at most ``max_wait_minutes``.
    """
    now = datetime.now(UTC)
    if not history:
        return now
    last = max(changes[-1].at for changes in history.values())
    needed = floor_minute(last.astimezone(UTC)) + timedelta(minutes=1)
    deadline = time.monotonic() + max_wait_minutes * 60
    while backend.complete_until(now) < needed:
        if time.monotonic() >= deadline:
            raise InputError(
                f"step 4's last weight change ({last:%H:%M:%S} UTC) is final in the "
                f"{backend.name} backend only after {needed:%H:%M} UTC plus its lag; re-run "
                "step 5 later (`ekslift run --resume RUN`), or raise "
                "metrics.review.max_wait_minutes"
            )
        log.info("waiting for %s's minutes up to %s to be final", backend.name, needed)
        time.sleep(5)
        now = datetime.now(UTC)
    return now


def read_region(
    backend: MetricsBackend,
    target: TrafficTarget,
    start: datetime,
    end: datetime,
    changes: list[WeightChange] | None,
    shares: list[float],
    now: datetime,
) -> tuple[Window, tuple[WeightChange, ...], Literal["step 4", "traffic"]]:
    """The region's window with step 4's weights, or with the shares seen in the traffic."""
    if changes:
        window = backend.window(target, start, end, changes, now=now)
        return window, tuple(changes), "step 4"
    window = backend.window(target, start, end, [WeightChange(start, 0.0)], now=now)
    observed = observed_shares(window, shares)
    told = tuple(
        WeightChange(window.minute(i), float(share))
        for i, share in enumerate(observed)
        if i == 0 or share != observed[i - 1]
    )
    return replace(window, green_weight=observed), told, "traffic"


def read_review(
    params: UpgradeParams,
    run_dir: Path | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Review:
    """Every region's window through the configured backend; an unreachable API is recorded
    in ``incomplete`` (the step then ends as a tool error) and the other regions go on."""
    aws.configure_from(params.aws)
    backend = backend_for(params)
    path = run_dir / HISTORY if run_dir else None
    history = read_history(path) if path and path.exists() else {}
    if now is None:
        now = _settled(backend, history, params.metrics.review.max_wait_minutes)
    start, end, source = _window_of(params, history, since, until, backend.complete_until(now))
    shares = [step.share for step in params.metrics.judge.steps]
    regions, incomplete = [], []
    for region in params.regions:
        target = TrafficTarget.of(region)
        try:
            window, changes, weights_from = read_region(
                backend, target, start, end, history.get(region.name), shares, now
            )
            retention = read_retention(target, params.aws.profile)
        except ReadError as exc:
            log.warning("%s: %s", region.name, exc)
            if exc.unreachable:
                incomplete.append(f"{region.name}: {exc}")
            regions.append(
                RegionReview(region.name, target, None, (), "traffic", None, problem=str(exc))
            )
            continue
        regions.append(RegionReview(region.name, target, window, changes, weights_from, retention))
    return Review(
        start=start,
        end=end,
        source=source,
        backend=backend.name,
        settings=backend.judge_settings(params.metrics.judge),
        retire=params.metrics.review,
        regions=tuple(regions),
        notes=tuple(backend.notes),
        incomplete=incomplete,
    )

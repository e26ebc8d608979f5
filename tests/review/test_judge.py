"""The review's judgement on hand-built windows: steps, retirement, the gate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from ekslift.metrics.backend import ColourTarget, TrafficTarget, WeightChange
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.settings import ReviewSettings
from ekslift.review.judge import gate_findings, judge_review, retirement, segments
from ekslift.review.read import RegionReview, Retention, Review
from tests.metrics.synthetic import Colour, window

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
TARGET = TrafficTarget("us-east-1", "listener", ColourTarget("b", "b"), ColourTarget("g", "g"))


def test_runs_of_equal_weight_are_steps_and_zero_is_not_judged() -> None:
    weights = np.array([0, 0, 0.05, 0.05, 0.25, 0.25, 0.25, 0, 0.25, 1.0])
    assert segments(weights) == [(2, 4, 0.05), (4, 7, 0.25), (8, 9, 0.25), (9, 10, 1.0)]


def test_a_window_cut_keeps_every_series_aligned() -> None:
    whole = window(minutes=30, share=0.25, rate_per_s=50, seed=1)
    part = whole.between(10, 20)
    assert part.minutes == 10 and part.start == whole.minute(10)
    assert part.green is not None and whole.green is not None
    assert np.array_equal(part.green.requests, whole.green.requests[10:20])
    assert part.green.latency is not None


def _review(region: RegionReview, source: str = "step 4") -> Review:
    return Review(
        start=T0,
        end=T0 + timedelta(hours=1),
        source=source,  # type: ignore[arg-type]
        backend="access_logs",
        settings=JudgeSettings(),
        retire=ReviewSettings(keep_blue_warm_days=7),
        regions=(region,),
    )


def test_a_regressed_step_fails_the_gate_and_a_healthy_one_informs() -> None:
    healthy = window(minutes=40, share=0.25, rate_per_s=200, seed=3)
    worse = window(
        minutes=40,
        share=0.25,
        rate_per_s=200,
        seed=3,
        green=Colour(
            errors={"target_5xx": 0.01, "connection_errors": 0.0002, "unanswered": 0.0001}
        ),
    )
    retention = Retention(300, 0, 0, 100)
    for found, severity in ((healthy, "info"), (worse, "blocker")):
        region = RegionReview(
            "us-east-1", TARGET, found, (WeightChange(T0, 0.25),), "step 4", retention
        )
        review = _review(region)
        verdicts = judge_review(review)
        step = next(f for f in gate_findings(review, verdicts) if f.id.endswith("step-25"))
        assert step.severity == severity, step.detail


def test_blue_retires_only_after_drain_stickiness_and_quiet() -> None:
    busy = window(minutes=30, share=0.5, rate_per_s=50, seed=2)
    assert busy.blue is not None
    requests = busy.blue.requests.copy()
    requests[-12:] = 0  # blue quiet for the last 12 minutes
    quiet = replace(busy, blue=replace(busy.blue, requests=requests))
    changes = (WeightChange(T0, 0.5), WeightChange(T0 + timedelta(minutes=10), 1.0))
    settings = ReviewSettings(min_quiet_minutes=5, keep_blue_warm_days=7)
    ready = retirement(
        RegionReview("r", TARGET, quiet, changes, "step 4", Retention(300, 0, 0, 100)), settings
    )
    assert ready.ready and ready.needed_minutes == 10
    assert ready.keep_warm_until == T0 + timedelta(minutes=10, days=7)
    sticky = retirement(
        RegionReview("r", TARGET, quiet, changes, "step 4", Retention(300, 3600, 0, 100)), settings
    )
    assert not sticky.ready and "stickiness 3600 s" in sticky.reason
    weighted = retirement(
        RegionReview("r", TARGET, quiet, changes, "step 4", Retention(300, 0, 10, 90)), settings
    )
    assert not weighted.ready and "finish the shift" in weighted.reason


def test_no_green_at_a_planned_step_is_too_little_data_and_warns() -> None:
    blue_only = window(minutes=20, share=0.0, rate_per_s=50, seed=4)
    region = RegionReview(
        "us-east-1",
        TARGET,
        blue_only,
        (WeightChange(T0, 0.0),),
        "traffic",
        Retention(300, 0, 100, 0),
    )
    review = _review(region, source="lookback")
    findings = {f.id: f for f in gate_findings(review, judge_review(review))}
    assert findings["05-metrics-review/us-east-1/too-little-data"].severity == "warning"
    assert "step 4 left no weight history" in findings["05-metrics-review/window"].title

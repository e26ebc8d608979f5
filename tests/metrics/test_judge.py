"""Known answers: each test makes green differ from blue in one way (or not at all)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ekslift.metrics.judge import judge_step
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import RawLatency
from ekslift.metrics.soak import plan_soaks
from ekslift.metrics.verdict import StepVerdict
from tests.metrics.synthetic import BASE_ERRORS, Colour, window

SETTINGS = JudgeSettings()


def verdicts(step: StepVerdict) -> dict[str, str]:
    return {m.metric: m.verdict for m in step.metrics}


def test_error_ratio_doubled_at_25_percent_fails() -> None:
    worse = Colour(errors={**BASE_ERRORS, "target_5xx": 0.002})
    step = judge_step(
        window(minutes=60, share=0.25, rate_per_s=200, seed=1, green=worse),
        0.25,
        SETTINGS,
        regions=2,
    )
    assert step.verdict == "fail"
    found = next(m for m in step.metrics if m.metric == "target_5xx")
    assert found.verdict == "fail"
    assert found.lower is not None and found.lower > 1
    assert found.ratio is not None and 1.6 < found.ratio < 2.5
    assert found.dispersion is not None and found.method.startswith("quasi-Poisson")
    assert "target_5xx" in step.reason and "green worse" in found.reason


def test_p99_fifty_percent_slower_fails() -> None:
    step = judge_step(
        window(minutes=40, share=0.25, rate_per_s=200, seed=2, green=Colour(latency_scale=1.5)),
        0.25,
        SETTINGS,
        regions=2,
    )
    assert verdicts(step)["latency_p99"] == "fail"
    assert step.verdict == "fail"
    p99 = next(m for m in step.metrics if m.metric == "latency_p99")
    assert p99.ratio is not None and 1.35 < p99.ratio < 1.65
    assert p99.green is not None and p99.blue is not None and p99.green > p99.blue


def test_connection_errors_only_on_green_fail() -> None:
    blue = Colour(errors={**BASE_ERRORS, "connection_errors": 0.0})
    green = Colour(errors={**BASE_ERRORS, "connection_errors": 0.002})
    step = judge_step(
        window(minutes=40, share=0.25, rate_per_s=200, seed=3, blue=blue, green=green),
        0.25,
        SETTINGS,
        regions=2,
    )
    found = next(m for m in step.metrics if m.metric == "connection_errors")
    assert found.verdict == "fail", found.reason
    assert found.blue_events == 0 and found.method == "exact conditional binomial"
    assert step.verdict == "fail"


def test_unanswered_only_on_green_fail_and_do_not_make_green_fast() -> None:
    blue = Colour(errors={**BASE_ERRORS, "unanswered": 0.0})
    green = Colour(errors={**BASE_ERRORS, "unanswered": 0.2})
    soak = window(minutes=40, share=0.25, rate_per_s=200, seed=4, blue=blue, green=green)
    step = judge_step(soak, 0.25, SETTINGS, regions=2)
    assert verdicts(step)["unanswered"] == "fail"
    assert step.verdict == "fail"
    assert soak.green is not None and isinstance(soak.green.latency, RawLatency)
    answered = np.concatenate(soak.green.latency.answered()[SETTINGS.warmup_minutes :])
    for q in SETTINGS.quantiles:
        latency = next(m for m in step.metrics if m.metric == f"latency_p{q * 100:g}")
        # With a fifth of green's times at -1 counted as latencies, p50 would drop by ~15 %:
        # the judge sees only answered requests, so green is as fast as blue, not faster.
        assert latency.green == pytest.approx(np.quantile(answered, q), rel=0.01)
        assert latency.ratio is not None and latency.ratio > 0.96
        assert latency.verdict != "fail"


@pytest.mark.parametrize("seed", range(5))
def test_burst_on_both_colours_does_not_fail(seed: int) -> None:
    burst = window(
        minutes=40,
        share=0.25,
        rate_per_s=200,
        seed=20 + seed,
        burst_minutes=(20, 21),
        burst_factor=15.0,
    )
    step = judge_step(burst, 0.25, SETTINGS, regions=2)
    found = next(m for m in step.metrics if m.metric == "target_5xx")
    assert found.verdict != "fail", found.reason
    assert step.verdict != "fail"


@pytest.mark.parametrize("omit", ["connection_errors", "latency"])
def test_metric_missing_on_green_is_not_a_pass(omit: str) -> None:
    step = judge_step(
        window(minutes=40, share=0.25, rate_per_s=200, seed=6, green=Colour(omit=(omit,))),
        0.25,
        SETTINGS,
        regions=2,
    )
    assert step.verdict == "hold"
    missing = [m for m in step.metrics if m.verdict == "hold"]
    assert missing and all("not delivered for green" in m.reason for m in missing)


def test_too_few_requests_extend_then_hold_never_pass() -> None:
    small = window(minutes=20, share=0.05, rate_per_s=1, seed=7)
    first = judge_step(small, 0.05, SETTINGS, regions=2)
    second = judge_step(small, 0.05, SETTINGS, regions=2, extended=True)
    assert first.verdict == "extend"
    assert second.verdict == "hold"
    assert "pass" not in {first.verdict, second.verdict}


def test_no_requests_on_green_is_not_healthy() -> None:
    empty = window(minutes=20, share=0.25, rate_per_s=100, seed=8)
    assert empty.green is not None
    silent = type(empty)(
        start=empty.start,
        green_weight=empty.green_weight,
        blue=empty.blue,
        green=type(empty.green)(
            requests=np.zeros(20),
            errors={kind: np.full(20, np.nan) for kind in BASE_ERRORS},
            latency=None,
        ),
        elb_5xx=empty.elb_5xx,
    )
    step = judge_step(silent, 0.25, SETTINGS, regions=2)
    assert step.verdict == "hold"
    assert all(m.verdict in {"extend", "hold"} for m in step.metrics)


def test_a_colour_without_data_holds_never_passes() -> None:
    bake_window = window(minutes=20, share=1.0, rate_per_s=100, seed=9)
    verdict = judge_step(bake_window, 0.25, SETTINGS, regions=2)
    assert verdict.verdict == "hold" and "no data for blue" in verdict.reason
    silent_green = replace(bake_window, green=None)
    for share in (0.25, 1.0):
        found = judge_step(silent_green, share, SETTINGS, regions=2)
        assert found.verdict == "hold" and "no data for green" in found.reason


@pytest.mark.parametrize("share", [0.05, 0.25, 0.5])
@pytest.mark.parametrize("seed", range(3))
def test_a_a_healthy_with_the_planned_soak_passes(share: float, seed: int) -> None:
    """The plan gives a healthy green 80 % power at the first look; the extension doubles
    the soak, so after at most one extension a healthy green passes."""
    plan = {row.share: row for row in plan_soaks(200, 0.0013, SETTINGS, regions=2)}
    soak = plan[share].soak_minutes
    first = judge_step(
        window(minutes=soak, share=share, rate_per_s=200, seed=seed), share, SETTINGS, regions=2
    )
    assert first.verdict in {"pass", "extend"}, first.reason
    final = (
        first
        if first.verdict == "pass"
        else judge_step(
            window(minutes=2 * soak, share=share, rate_per_s=200, seed=seed),
            share,
            SETTINGS,
            regions=2,
            extended=True,
        )
    )
    assert final.verdict == "pass", final.reason
    assert not final.breaches


def test_warm_up_minutes_are_not_judged() -> None:
    step = judge_step(
        window(minutes=30, share=0.25, rate_per_s=200, seed=11), 0.25, SETTINGS, regions=2
    )
    assert step.judged_minutes == 30 - SETTINGS.warmup_minutes


def test_bake_is_judged_on_burn_rate() -> None:
    healthy = judge_step(
        window(minutes=60, share=1.0, rate_per_s=200, seed=12), 1.0, SETTINGS, regions=2
    )
    assert healthy.verdict == "pass", healthy.reason
    assert [m.metric for m in healthy.metrics] == ["burn_rate"]
    burning = Colour(errors={**BASE_ERRORS, "target_5xx": 0.008})
    bad = judge_step(
        window(minutes=60, share=1.0, rate_per_s=200, seed=12, green=burning),
        1.0,
        SETTINGS,
        regions=2,
    )
    assert bad.verdict == "fail"
    assert bad.metrics[0].lower is not None and bad.metrics[0].lower > 1


def test_every_verdict_carries_its_numbers() -> None:
    step = judge_step(
        window(minutes=30, share=0.25, rate_per_s=200, seed=13), 0.25, SETTINGS, regions=2
    )
    for metric in step.metrics:
        assert metric.alpha == step.alpha
        assert metric.ratio is not None and metric.lower is not None and metric.upper is not None
        assert metric.margin is not None and metric.blue_n > 0 and metric.green_n > 0
        assert metric.reason.startswith(metric.metric)

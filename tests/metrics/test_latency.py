"""Latency: quantiles from buckets, raw samples and histograms, and what cannot be judged."""

from __future__ import annotations

import numpy as np
import pytest

from ekslift.metrics.latency import (
    Buckets,
    Unjudgeable,
    as_buckets,
    bucket_quantile,
    quantile_ratios,
    slow_per_minute,
    too_coarse,
)
from ekslift.metrics.series import HistogramLatency, RawLatency

RNG_SEED = 7


def samples(
    scale: float, minutes: int = 30, per_minute: int = 500, seed: int = RNG_SEED
) -> RawLatency:
    rng = np.random.default_rng(seed)
    return RawLatency(
        tuple(scale * rng.lognormal(np.log(0.1), 0.5, per_minute) for _ in range(minutes))
    )


def test_raw_samples_give_their_own_quantiles() -> None:
    raw = samples(1.0)
    buckets = as_buckets(raw, raw, (0.5, 0.99))
    assert isinstance(buckets, Buckets)
    pooled = np.concatenate(raw.minutes)
    for q in (0.5, 0.99):
        assert bucket_quantile(buckets.blue.sum(axis=0), buckets.bounds, q) == pytest.approx(
            np.quantile(pooled, q), rel=0.005
        )


def test_unanswered_samples_are_not_latencies() -> None:
    raw = samples(1.0)
    with_unanswered = RawLatency(tuple(np.r_[m, -np.ones(100)] for m in raw.minutes))
    assert all(
        np.array_equal(a, b) for a, b in zip(with_unanswered.answered(), raw.minutes, strict=True)
    )


def test_bootstrap_sees_a_slower_green() -> None:
    found = quantile_ratios(
        as_buckets(samples(1.0), samples(1.5, seed=8), (0.5, 0.99)),  # type: ignore[arg-type]
        (0.5, 0.99),
        resamples=300,
        seed=0,
    )
    for ratio in found:
        assert np.exp(ratio.log_ratio) == pytest.approx(1.5, rel=0.1)
        assert 0 < ratio.standard_error < 0.1


def test_histograms_need_the_same_buckets() -> None:
    counts = np.ones((3, 3))
    blue = HistogramLatency(np.array([0.1, 0.2, np.inf]), counts)
    green = HistogramLatency(np.array([0.1, 0.25, np.inf]), counts)
    found = as_buckets(blue, green, (0.99,))
    assert isinstance(found, Unjudgeable) and found.lasting


def test_coarse_buckets_cannot_judge_p99() -> None:
    bounds = np.array([0.05, 0.1, 0.25, 0.5, 1.0, np.inf])
    counts = np.tile([10.0, 400, 80, 8, 2, 0], (20, 1))
    hist = HistogramLatency(bounds, counts)
    buckets = as_buckets(hist, hist, (0.99,))
    assert isinstance(buckets, Buckets)
    reason = too_coarse(buckets, 0.99, 1.1)
    assert reason is not None and "cannot be judged from these buckets" in reason
    fine = np.r_[0.05 * 1.05 ** np.arange(60), np.inf]
    dense = np.r_[np.ones(60), 0.0][None, :]
    assert too_coarse(Buckets(fine, dense, dense), 0.99, 1.1) is None


def test_slow_requests_per_minute() -> None:
    raw = RawLatency((np.array([0.1, 3.0, -1.0]), np.array([2.5])))
    total, slow = slow_per_minute(raw, 2.0)
    assert total.tolist() == [2, 1] and slow.tolist() == [1, 1]
    hist = HistogramLatency(np.array([1.0, 2.0, np.inf]), np.array([[5.0, 1, 2]]))
    total, slow = slow_per_minute(hist, 2.0)
    assert total.tolist() == [8] and slow.tolist() == [2]

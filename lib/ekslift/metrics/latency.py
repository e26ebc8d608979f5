"""Latency quantiles of green over blue, with a minute-block bootstrap.

Latency is compared as log(q_green / q_blue) for each judged quantile (p50, p99). The
bootstrap resamples *minutes*, the same minutes for both colours (a paired, moving-block
bootstrap with one-minute blocks): requests within a minute share its load and its
bursts, so resampling requests would understate the uncertainty, and pairing makes a slow
minute that hit both colours cancel.

Raw samples (access logs) are first counted into very fine shared buckets (0.5 % wide),
far finer than any margin, so raw samples and Prometheus histograms share one code path.
A histogram is judged only if both colours have the same buckets and the bucket holding
each quantile is narrow enough; otherwise the result says latency cannot be judged from
these buckets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from ekslift.metrics.series import BoolArray, FloatArray, HistogramLatency, Latency, RawLatency

RAW_BUCKET_RATIO = 1.005
"""Width of the buckets raw samples are counted into: 0.5 %, well below a 10 ms or 25 %
difference, so binning costs no resolution that matters."""


@dataclass(frozen=True)
class Buckets:
    """Both colours' latency as per-minute counts over the same upper bounds (seconds)."""

    bounds: FloatArray
    blue: FloatArray
    green: FloatArray


@dataclass(frozen=True)
class Unjudgeable:
    """Why latency cannot be compared; ``lasting`` when soaking longer cannot help."""

    reason: str
    lasting: bool


@dataclass(frozen=True)
class QuantileRatio:
    """One quantile of both colours, log(green/blue) and its bootstrap standard error."""

    quantile: float
    blue: float
    green: float
    log_ratio: float
    standard_error: float


def _raw_grid(
    blue: tuple[FloatArray, ...], green: tuple[FloatArray, ...], quantiles: tuple[float, ...]
) -> FloatArray:
    """Log-spaced bounds from half the pooled lowest judged quantile to twice the highest,
    with a catch-all bucket on each side: resampled quantiles stay well inside, and the
    bootstrap's cost grows with the number of buckets, not with the samples' range."""
    pooled = np.concatenate([*blue, *green])
    low = max(float(np.quantile(pooled, min(quantiles))) / 2, 1e-6)
    high = max(float(np.quantile(pooled, max(quantiles))) * 2, low * RAW_BUCKET_RATIO)
    count = int(np.ceil(np.log(high / low) / np.log(RAW_BUCKET_RATIO))) + 1
    return np.r_[low * RAW_BUCKET_RATIO ** np.arange(count), np.inf]


def _count_raw(minutes: tuple[FloatArray, ...], bounds: FloatArray) -> FloatArray:
    counts = np.zeros((len(minutes), bounds.size))
    for row, samples in enumerate(minutes):
        counts[row] = np.bincount(
            np.searchsorted(bounds, samples, side="left"), minlength=bounds.size
        )[: bounds.size]
    return counts


def as_buckets(
    blue: Latency, green: Latency, quantiles: tuple[float, ...]
) -> Buckets | Unjudgeable:
    """Both colours on shared buckets, or the reason latency cannot be compared."""
    if isinstance(blue, RawLatency) and isinstance(green, RawLatency):
        blue_ok, green_ok = blue.answered(), green.answered()
        if sum(m.size for m in blue_ok) == 0 or sum(m.size for m in green_ok) == 0:
            return Unjudgeable("no answered request on one colour", lasting=False)
        bounds = _raw_grid(blue_ok, green_ok, quantiles)
        return Buckets(bounds, _count_raw(blue_ok, bounds), _count_raw(green_ok, bounds))
    if isinstance(blue, HistogramLatency) and isinstance(green, HistogramLatency):
        if not np.array_equal(np.asarray(blue.bounds), np.asarray(green.bounds)):
            return Unjudgeable("blue and green histograms have different buckets", lasting=True)
        return Buckets(
            np.asarray(blue.bounds, dtype=float),
            np.asarray(blue.counts, dtype=float),
            np.asarray(green.counts, dtype=float),
        )
    return Unjudgeable("one colour has raw samples and the other a histogram", lasting=True)


def bucket_quantile(counts: FloatArray, bounds: FloatArray, q: float) -> FloatArray:
    """Quantile of bucket counts along the last axis, interpolated linearly within the
    bucket as Prometheus' ``histogram_quantile`` does (a quantile in the +Inf bucket is the
    last finite bound), so a histogram gives the numbers a dashboard shows."""
    cumulative = np.cumsum(counts, axis=-1)
    target = q * cumulative[..., -1:]
    index = np.minimum((cumulative < target).sum(axis=-1, keepdims=True), bounds.size - 1)
    upper = bounds[index]
    lower = np.where(index > 0, bounds[np.maximum(index - 1, 0)], 0.0)
    below = np.where(index > 0, np.take_along_axis(cumulative, np.maximum(index - 1, 0), -1), 0)
    inside = np.take_along_axis(counts, index, -1)
    fraction = np.divide(target - below, inside, out=np.ones_like(target), where=inside > 0)
    value = np.where(np.isinf(upper), lower, lower + (upper - lower) * fraction)
    with np.errstate(invalid="ignore"):
        result: FloatArray = np.where(cumulative[..., -1:] > 0, value, np.nan)[..., 0]
    return result


def too_coarse(buckets: Buckets, q: float, max_ratio: float) -> str | None:
    """Why the buckets cannot resolve quantile ``q``, or None when they can.

    The bucket holding the pooled quantile must be finite, start above zero and be at most
    ``max_ratio`` wide (upper/lower): interpolation inside a wider bucket would decide the
    verdict, not the data.
    """
    pooled = buckets.blue.sum(axis=0) + buckets.green.sum(axis=0)
    index = int(min((np.cumsum(pooled) < q * pooled.sum()).sum(), pooled.size - 1))
    upper = buckets.bounds[index]
    lower = buckets.bounds[index - 1] if index > 0 else 0.0
    if np.isinf(upper) or lower <= 0 or upper / lower > max_ratio:
        return (
            f"p{q * 100:g} falls in the bucket ({lower:g}, {upper:g}] s, wider than "
            f"{(max_ratio - 1):.0%}: latency cannot be judged from these buckets"
        )
    return None


def quantile_ratios(
    buckets: Buckets, quantiles: tuple[float, ...], resamples: int, seed: int
) -> tuple[QuantileRatio, ...]:
    """log(q_green/q_blue) per quantile with the standard error of a paired bootstrap over
    minutes (``scipy.stats.bootstrap`` resampling minute indices).

    The standard error, not a percentile, makes the interval: the one-sided α of a
    cutover's tests is about 0.1 %, and a percentile that far out of a thousand resamples
    rests on one or two of them, while the log ratio of quantiles is close to normal.
    """
    minutes = buckets.blue.shape[0]
    qs = np.asarray(quantiles)

    def statistic(index: npt.NDArray[np.int64], axis: int = -1) -> FloatArray:
        rows = np.asarray(index, dtype=np.int64).reshape(-1, minutes)
        weights = np.bincount(
            (rows + minutes * np.arange(rows.shape[0])[:, None]).ravel(),
            minlength=minutes * rows.shape[0],
        ).reshape(rows.shape[0], minutes)
        green, blue = weights @ buckets.green, weights @ buckets.blue
        ratios = np.stack(
            [
                np.log(bucket_quantile(green, buckets.bounds, q))
                - np.log(bucket_quantile(blue, buckets.bounds, q))
                for q in qs
            ]
        )
        shaped: FloatArray = ratios.reshape((qs.size, *np.shape(index)[:-1]))
        return shaped

    result = stats.bootstrap(
        (np.arange(minutes),),
        statistic,
        n_resamples=resamples,
        paired=True,
        vectorized=True,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    observed = statistic(np.arange(minutes))
    blue_total, green_total = buckets.blue.sum(axis=0), buckets.green.sum(axis=0)
    return tuple(
        QuantileRatio(
            quantile=float(q),
            blue=float(bucket_quantile(blue_total, buckets.bounds, q)),
            green=float(bucket_quantile(green_total, buckets.bounds, q)),
            log_ratio=float(observed[i]),
            standard_error=float(np.atleast_1d(result.standard_error)[i]),
        )
        for i, q in enumerate(qs)
    )


def slow_per_minute(latency: Latency, ceiling: float) -> tuple[FloatArray, FloatArray]:
    """Answered requests per minute and those slower than ``ceiling`` seconds.

    From a histogram only buckets entirely above the ceiling count as slow: the ceiling is
    in effect rounded up to the next bound, so the limit never fires on interpolation.
    """
    if isinstance(latency, RawLatency):
        answered = latency.answered()
        total = np.array([m.size for m in answered], dtype=float)
        slow = np.array([(m > ceiling).sum() for m in answered], dtype=float)
        return total, slow
    counts = np.asarray(latency.counts, dtype=float)
    lower_edges = np.r_[0.0, np.asarray(latency.bounds, dtype=float)[:-1]]
    above: BoolArray = lower_edges >= ceiling
    return counts.sum(axis=1), counts[:, above].sum(axis=1)


def restrict(latency: Latency, minutes: BoolArray) -> Latency:
    """The same latency for the judged minutes only."""
    if isinstance(latency, RawLatency):
        return RawLatency(
            tuple(m for m, keep in zip(latency.minutes, minutes, strict=True) if keep)
        )
    return HistogramLatency(latency.bounds, np.asarray(latency.counts)[minutes])

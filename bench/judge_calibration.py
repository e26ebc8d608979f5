"""Calibration of the judge: false fails on healthy cutovers, detection of real regressions.

Simulates seeded cutovers with a realistic traffic model (diurnal shape, error bursts and
slow minutes shared by both colours, negative-binomial overdispersion per colour and
minute, ~0.1 % errors split over the three kinds, log-normal latency as fine Prometheus
buckets) at 20 and 200 requests/s, soaks each step for the planned minutes, and judges it
as the shift would: a first look, and one extension (twice the soak) when undecided.

* A/A: 2 regions × the default steps (5, 25, 50 % and the 100 % bake): the share of whole
  cutovers with any fail must stay within the false-fail budget;
* detection: green with ×2 errors (every kind), or apart +50 % latency, at 25 % and 50 %: the share
  of steps where target_5xx and latency_p99 fail (first look or after the extension);
* the same windows judged by a one-sided Mann–Whitney U on per-minute values (error rate,
  p99), as Kayenta does, at the same α per test, side by side.

Writes only bench/out/judge_calibration.json. Usage:
``python bench/judge_calibration.py [--trials 100] [--quick] [--workers 2]``
"""

from __future__ import annotations

import os

# One BLAS thread per worker: the machine's cores are shared.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from ekslift.metrics.judge import judge_step  # noqa: E402
from ekslift.metrics.latency import bucket_quantile  # noqa: E402
from ekslift.metrics.policy import JudgeSettings, alpha_per_test  # noqa: E402
from ekslift.metrics.series import ColourSeries, HistogramLatency, Window  # noqa: E402
from ekslift.metrics.soak import SoakStep, plan_soaks  # noqa: E402
from ekslift.metrics.verdict import StepVerdict  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
REGIONS = 2
RATES = (20.0, 200.0)
ERROR_RATES = {"target_5xx": 0.0008, "connection_errors": 0.00015, "unanswered": 0.00005}
BASELINE = sum(ERROR_RATES.values())
BOUNDS = np.r_[0.01 * 1.02 ** np.arange(320), np.inf]  # 2 % buckets, 10 ms to ~5.6 s
NB_SHAPE = 5.0  # per colour-minute gamma-Poisson: variance μ + μ²/5
BURST_PROBABILITY, BURST_ERRORS, BURST_SLOWDOWN = 0.02, (3.0, 10.0), 0.25
SETTINGS = JudgeSettings()


@dataclass(frozen=True)
class Green:
    error_factor: float = 1.0
    latency_factor: float = 1.0


def _latency_pvals(shift: np.ndarray, factor: float) -> np.ndarray:
    """Bucket probabilities of log-normal latency (median 120 ms, σ 0.55) per minute."""
    mu = np.log(0.12) + shift[:, None] + np.log(factor)
    cdf = stats.norm.cdf((np.log(BOUNDS[:-1])[None, :] - mu) / 0.55)
    pvals = np.diff(np.c_[np.zeros(shift.size), cdf, np.ones(shift.size)], axis=1)
    return pvals


def simulate(
    rng: np.random.Generator, rate: float, share: float, minutes: int, green: Green
) -> Window:
    """One region's step window under the traffic model."""
    start = int(rng.integers(0, 1440))
    clock = (start + np.arange(minutes)) / 1440
    diurnal = 1 + 0.3 * np.sin(2 * np.pi * clock)
    burst = rng.random(minutes) < BURST_PROBABILITY
    error_burst = np.where(burst, rng.uniform(*BURST_ERRORS, minutes), 1.0)
    slow_shift = rng.normal(0, 0.05, minutes) + burst * BURST_SLOWDOWN
    series = {}
    for name, colour_share, factor in (
        ("blue", 1 - share, Green()),
        ("green", share, green),
    ):
        requests = rng.poisson(rate * 60 * diurnal * colour_share).astype(float)
        errors = {}
        for kind, base in ERROR_RATES.items():
            mean = requests * base * error_burst * factor.error_factor
            errors[kind] = rng.poisson(rng.gamma(NB_SHAPE, mean / NB_SHAPE)).astype(float)
        answered = (requests - errors["unanswered"]).clip(0).astype(np.int64)
        counts = rng.multinomial(answered, _latency_pvals(slow_shift, factor.latency_factor))
        series[name] = ColourSeries(
            requests=requests,
            errors=errors,
            latency=HistogramLatency(BOUNDS, counts.astype(float)),
            healthy_hosts={"a": np.full(minutes, 3.0), "b": np.full(minutes, 3.0)},
        )
    return Window(
        start=datetime(2026, 11, 28, tzinfo=UTC),
        green_weight=np.full(minutes, share),
        blue=series["blue"] if share < 1 else None,
        green=series["green"],
        elb_5xx=np.zeros(minutes),
    )


def dispersion(rate: float) -> float:
    """The quasi-Poisson scale the plan should assume: gamma-Poisson adds μ/shape to the
    variance over mean, μ a colour's errors per minute (taken at 50 %), what a week of
    blue's history would show an operator."""
    return 1 + rate * 60 * 0.5 * BASELINE / NB_SHAPE


def rank_fails(window: Window, share: float, alpha: float) -> dict[str, bool]:
    """Kayenta's comparison: one-sided Mann–Whitney U on per-minute error rates and p99s."""
    keep = np.arange(window.minutes) >= SETTINGS.warmup_minutes
    blue, green = window.blue, window.green
    assert blue is not None and green is not None
    found = {}
    rates = []
    for colour in (blue, green):
        errors = sum(colour.errors.values())
        rates.append((errors / np.maximum(colour.requests, 1))[keep])
    found["target_5xx"] = stats.mannwhitneyu(rates[1], rates[0], alternative="greater").pvalue
    p99 = []
    for colour in (blue, green):
        assert isinstance(colour.latency, HistogramLatency)
        per_minute = bucket_quantile(colour.latency.counts[keep], BOUNDS, 0.99)
        p99.append(per_minute[np.isfinite(per_minute)])
    found["latency_p99"] = stats.mannwhitneyu(p99[1], p99[0], alternative="greater").pvalue
    return {metric: bool(p < alpha) for metric, p in found.items()}


def judged_step(
    rng: np.random.Generator, rate: float, row: SoakStep, green: Green, alpha: float
) -> tuple[list[StepVerdict], list[dict[str, bool]]]:
    """The first look, and the extended look (twice the soak) when the first is undecided."""
    looks, ranks = [], []
    for minutes, extended in ((row.soak_minutes, False), (2 * row.soak_minutes, True)):
        window = simulate(rng, rate, row.share, minutes, green)
        looks.append(judge_step(window, row.share, SETTINGS, regions=REGIONS, extended=extended))
        if row.share < 1:
            ranks.append(rank_fails(window, row.share, alpha))
        if looks[-1].verdict != "extend":
            break
    return looks, ranks


def trial(args: tuple[int, float]) -> dict[str, object]:
    """One seeded A/A cutover (2 regions, every step) and one regression per proof step."""
    seed, rate = args
    rng = np.random.default_rng(seed)
    alpha = alpha_per_test(SETTINGS, REGIONS)
    plan = plan_soaks(rate, BASELINE, SETTINGS, regions=REGIONS, dispersion=dispersion(rate))
    result: dict[str, object] = {"seed": seed, "rate": rate}
    aa_fail, aa_rank_fail, aa_metrics, final = False, False, {}, []
    for _region in range(REGIONS):
        for row in plan:
            looks, ranks = judged_step(rng, rate, row, Green(), alpha)
            aa_fail |= any(look.verdict == "fail" for look in looks)
            aa_rank_fail |= any(any(r.values()) for r in ranks)
            final.append(looks[-1].verdict)
            for look in looks:
                for metric in look.metrics:
                    if metric.verdict == "fail":
                        aa_metrics[metric.metric] = aa_metrics.get(metric.metric, 0) + 1
                for breach in look.breaches:
                    aa_metrics[breach.limit] = aa_metrics.get(breach.limit, 0) + 1
    result.update(aa_fail=aa_fail, aa_rank_fail=aa_rank_fail, aa_metrics=aa_metrics, final=final)
    for row in plan:
        if row.share not in (0.25, 0.5):
            continue
        for metric, green in (("target_5xx", Green(2.0, 1.0)), ("latency_p99", Green(1.0, 1.5))):
            looks, ranks = judged_step(rng, rate, row, green, alpha)
            result[f"detect_{metric}_{row.share}"] = any(
                m.metric == metric and m.verdict == "fail" for look in looks for m in look.metrics
            )
            result[f"rank_{metric}_{row.share}"] = any(r[metric] for r in ranks)
    return result


def _share(hits: int, n: int) -> str:
    """A rate with its Monte-Carlo standard error."""
    p = hits / n
    return f"{p:6.1%} ± {math.sqrt(max(p * (1 - p), 1 / n) / n):.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100, help="cutovers per request rate")
    parser.add_argument("--quick", action="store_true", help="20 trials per rate")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261128)
    options = parser.parse_args()
    trials = 20 if options.quick else options.trials
    seeds = np.random.SeedSequence(options.seed).generate_state(trials * len(RATES))
    jobs = [
        (int(seeds[i * len(RATES) + j]), rate)
        for i in range(trials)
        for j, rate in enumerate(RATES)
    ]
    began = time.monotonic()
    with ProcessPoolExecutor(options.workers) as pool:
        results = list(pool.map(trial, jobs, chunksize=2))
    elapsed = time.monotonic() - began
    alpha = alpha_per_test(SETTINGS, REGIONS)
    lines = [
        f"judge calibration: {trials} seeded trials per rate, {elapsed:.0f} s on "
        f"{options.workers} workers; false-fail budget {SETTINGS.false_fail_budget:.0%} per "
        f"cutover, one-sided α per test {alpha:.5f} (Bonferroni over "
        f"{round(SETTINGS.false_fail_budget / alpha)} tests); ± is the Monte-Carlo SE",
        "",
    ]
    for rate in RATES:
        rows = [r for r in results if r["rate"] == rate]
        n = len(rows)
        lines.append(f"== {rate:g} requests/s, baseline errors {BASELINE:.2%} ==")
        lines.append(
            f"soak plan at dispersion {dispersion(rate):.2f} "
            "(share, role, soak, green requests, green errors expected, what it proves):"
        )
        for row in plan_soaks(
            rate, BASELINE, SETTINGS, regions=REGIONS, dispersion=dispersion(rate)
        ):
            lines.append(
                f"  {row.share:>5.0%} {row.role:<6} {row.soak_minutes:>4} min "
                f"{row.green_requests:>9,} req {row.green_errors:>7.1f} err  {row.proves}"
            )
        finals: dict[str, int] = {}
        for r in rows:
            for verdict in r["final"]:  # type: ignore[attr-defined]
                finals[verdict] = finals.get(verdict, 0) + 1
        fired: dict[str, int] = {}
        for r in rows:
            for metric, count in r["aa_metrics"].items():  # type: ignore[attr-defined]
                fired[metric] = fired.get(metric, 0) + count
        lines += [
            f"A/A whole-cutover false fail  judge "
            f"{_share(sum(bool(r['aa_fail']) for r in rows), n)}"
            f"   rank test {_share(sum(bool(r['aa_rank_fail']) for r in rows), n)}",
            f"A/A final step verdicts: {dict(sorted(finals.items()))}; fails by metric: {fired}",
            "detection (×2 errors; +50 % latency, apart)  judge       rank test",
        ]
        for share in (0.25, 0.5):
            for metric in ("target_5xx", "latency_p99"):
                judge_hits = sum(bool(r[f"detect_{metric}_{share}"]) for r in rows)
                rank_hits = sum(bool(r[f"rank_{metric}_{share}"]) for r in rows)
                lines.append(
                    f"  {share:>4.0%} {metric:<12}                  {_share(judge_hits, n)}"
                    f"   {_share(rank_hits, n)}"
                )
        lines.append("")
    print("\n".join(lines))
    OUT.mkdir(exist_ok=True)
    (OUT / "judge_calibration.json").write_text(
        json.dumps({"trials": trials, "elapsed_s": elapsed, "results": results}, indent=1)
    )


if __name__ == "__main__":
    main()

"""The judge of one region's step: limits, then each metric, then the step.

At a compared step (5, 25, 50 %) green is judged against blue on every error kind (a
rate ratio from :mod:`ekslift.metrics.rates`) and every latency quantile (a bootstrapped
quantile ratio from :mod:`ekslift.metrics.latency`); at 100 % there is no blue, so the
bake is judged on green's error-budget burn. Absolute limits are checked in both cases and
any breach fails the step whatever the statistics say. An undecided metric extends the
soak once, then holds for a human; a metric that was not delivered holds at once, since
soaking longer cannot make it appear.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ekslift.metrics.latency import (
    Unjudgeable,
    as_buckets,
    quantile_ratios,
    restrict,
    too_coarse,
)
from ekslift.metrics.limits import check_limits
from ekslift.metrics.policy import JudgeSettings, StepPolicy, alpha_per_test
from ekslift.metrics.rates import rate_bounds, rate_ratio
from ekslift.metrics.series import BoolArray, ColourSeries, Window, judged_minutes
from ekslift.metrics.verdict import (
    MetricVerdict,
    StepVerdict,
    Verdict,
    classify,
    interval_text,
    undecided,
    worst,
)


def _error_verdict(
    window: Window,
    kind: str,
    judged: BoolArray,
    step: StepPolicy,
    settings: JudgeSettings,
    alpha: float,
    extended: bool,
) -> MetricVerdict:
    blue, green = window.blue, window.green
    assert blue is not None and green is not None
    missing = [name for name, c in (("blue", blue), ("green", green)) if kind not in c.errors]
    if missing:
        return MetricVerdict(
            metric=kind,
            verdict="hold",
            reason=f"{kind} was not delivered for {' and '.join(missing)}: it cannot be judged",
            alpha=alpha,
            margin=step.error_margin,
        )
    requests = {name: window.requests(c)[judged] for name, c in (("blue", blue), ("green", green))}
    empty = [name for name, values in requests.items() if values.sum() == 0]
    if empty:
        return MetricVerdict(
            metric=kind,
            verdict=undecided(extended),
            reason=f"no requests on {' and '.join(empty)} in {int(judged.sum())} judged minutes",
            alpha=alpha,
            minutes=int(judged.sum()),
            margin=step.error_margin,
        )
    found = rate_ratio(
        requests["blue"],
        requests["green"],
        window.counts(blue.errors[kind])[judged],
        window.counts(green.errors[kind])[judged],
        alpha,
    )
    excess = found.green_rate - found.blue_rate
    difference = settings.error_difference(step)
    # The most green's rate can exceed blue's: through the ratio when blue has errors,
    # else green's own exact upper bound (blue's rate is at least zero).
    excess_bound = (
        found.blue_rate * (found.upper - 1)
        if found.blue_errors > 0 and math.isfinite(found.upper)
        else rate_bounds(requests["green"], window.counts(green.errors[kind])[judged], alpha).upper
    )
    verdict = classify(
        found.lower,
        found.upper,
        step.error_margin,
        matters=excess > difference,
        proven_small=excess_bound < difference,
        extended=extended,
    )
    counts = (
        f"{found.green_errors}/{found.green_requests} green vs "
        f"{found.blue_errors}/{found.blue_requests} blue "
        f"({found.green_rate:.3%} vs {found.blue_rate:.3%})"
    )
    ratio = interval_text(found.ratio, found.lower, found.upper)
    reasons: dict[Verdict, str] = {
        "fail": f"green worse: ratio {ratio} is above 1 and {excess:+.3%} matters",
        "pass": (
            f"ratio {ratio} is below the margin ×{step.error_margin:g}"
            if found.upper < step.error_margin
            else f"any excess is below {difference:.3%} (≤ {excess_bound:.4%})"
        ),
        "extend": f"ratio {ratio} not yet below ×{step.error_margin:g}: soak longer",
        "hold": f"ratio {ratio} still not below ×{step.error_margin:g} after extending",
    }
    return MetricVerdict(
        metric=kind,
        verdict=verdict,
        reason=f"{kind}: {reasons[verdict]}; {counts}",
        alpha=alpha,
        minutes=found.minutes,
        blue_n=found.blue_requests,
        green_n=found.green_requests,
        blue_events=found.blue_errors,
        green_events=found.green_errors,
        blue=found.blue_rate,
        green=found.green_rate,
        ratio=found.ratio,
        lower=found.lower,
        upper=found.upper,
        margin=step.error_margin,
        dispersion=found.dispersion,
        method=found.method,
    )


def _latency_verdicts(
    blue: ColourSeries,
    green: ColourSeries,
    judged: BoolArray,
    step: StepPolicy,
    settings: JudgeSettings,
    alpha: float,
    extended: bool,
) -> list[MetricVerdict]:
    names = [f"latency_p{q * 100:g}" for q in settings.quantiles]
    margin = 1 + step.latency_margin

    def all_(verdict: Verdict, reason: str) -> list[MetricVerdict]:
        return [
            MetricVerdict(
                metric=n, verdict=verdict, reason=f"{n}: {reason}", alpha=alpha, margin=margin
            )
            for n in names
        ]

    if blue.latency is None or green.latency is None:
        missing = [n for n, c in (("blue", blue), ("green", green)) if c.latency is None]
        return all_("hold", f"latency was not delivered for {' and '.join(missing)}")
    buckets = as_buckets(
        restrict(blue.latency, judged), restrict(green.latency, judged), settings.quantiles
    )
    if isinstance(buckets, Unjudgeable):
        return all_("hold" if buckets.lasting else undecided(extended), buckets.reason)
    sizes = {"blue": int(buckets.blue.sum()), "green": int(buckets.green.sum())}
    needed = max(math.ceil(settings.min_tail_samples / (1 - q)) for q in settings.quantiles)
    short = [n for n, size in sizes.items() if size < needed]
    if short:
        return all_(
            undecided(extended),
            f"{' and '.join(short)} answered too few requests ({sizes}) for "
            f"p{max(settings.quantiles) * 100:g}: {needed} needed",
        )
    coarse = [
        too_coarse(buckets, q, settings.histogram_max_bucket_ratio) for q in settings.quantiles
    ]
    if any(coarse):
        return all_("hold", next(reason for reason in coarse if reason))
    z = float(stats.norm.ppf(1 - alpha))
    verdicts = []
    for name, found in zip(
        names,
        quantile_ratios(buckets, settings.quantiles, settings.bootstrap_resamples, settings.seed),
        strict=True,
    ):
        if not math.isfinite(found.standard_error):
            verdicts.append(
                MetricVerdict(
                    metric=name,
                    verdict=undecided(extended),
                    reason=f"{name}: the bootstrap found resamples without requests",
                    alpha=alpha,
                    margin=margin,
                )
            )
            continue
        ratio = math.exp(found.log_ratio)
        lower = math.exp(found.log_ratio - z * found.standard_error)
        upper = math.exp(found.log_ratio + z * found.standard_error)
        excess_ms = (found.green - found.blue) * 1000
        verdict = classify(
            lower,
            upper,
            margin,
            matters=excess_ms > settings.latency_min_difference_ms,
            proven_small=False,
            extended=extended,
        )
        text = interval_text(ratio, lower, upper)
        reasons: dict[Verdict, str] = {
            "fail": f"green slower: {text} is above 1 and {excess_ms:+.0f} ms matters",
            "pass": f"{text} is below the margin ×{margin:g}",
            "extend": f"{text} not yet below ×{margin:g}: soak longer",
            "hold": f"{text} still not below ×{margin:g} after extending",
        }
        verdicts.append(
            MetricVerdict(
                metric=name,
                verdict=verdict,
                reason=(
                    f"{name}: {reasons[verdict]}; green {found.green * 1000:.0f} ms vs "
                    f"blue {found.blue * 1000:.0f} ms"
                ),
                alpha=alpha,
                minutes=int(judged.sum()),
                blue_n=sizes["blue"],
                green_n=sizes["green"],
                blue=found.blue,
                green=found.green,
                ratio=ratio,
                lower=lower,
                upper=upper,
                margin=margin,
                method="paired minute-block bootstrap, normal interval on log ratio",
            )
        )
    return verdicts


def _bake_verdict(
    window: Window, judged: BoolArray, settings: JudgeSettings, alpha: float, extended: bool
) -> MetricVerdict:
    """Green alone at 100 %: its error rate as a burn rate of the SLO's error budget
    (1 = spending the budget exactly evenly over the SLO period)."""
    green, bake = window.green, settings.bake
    assert green is not None
    budget = 1 - bake.slo
    missing = [kind for kind in settings.error_kinds if kind not in green.errors]
    if missing:
        return MetricVerdict(
            metric="burn_rate",
            verdict="hold",
            reason=f"burn_rate: {', '.join(missing)} not delivered for green",
            alpha=alpha,
            margin=bake.max_burn_rate,
        )
    requests = window.requests(green)[judged]
    errors = sum(
        (window.counts(green.errors[kind])[judged] for kind in settings.error_kinds),
        start=np.zeros(int(judged.sum())),
    )
    if requests.sum() == 0:
        return MetricVerdict(
            metric="burn_rate",
            verdict=undecided(extended),
            reason=f"burn_rate: no requests on green in {int(judged.sum())} judged minutes",
            alpha=alpha,
            minutes=int(judged.sum()),
            margin=bake.max_burn_rate,
        )
    found = rate_bounds(requests, errors, alpha)
    burn, lower, upper = found.rate / budget, found.lower / budget, found.upper / budget
    verdict = classify(
        lower,
        upper,
        bake.max_burn_rate,
        fail_above=bake.max_burn_rate,
        matters=found.errors >= settings.limits.min_errors,
        proven_small=False,
        extended=extended,
    )
    text = (
        f"burn {burn:.2f} [{lower:.2f}, {upper:.2f}] vs {bake.max_burn_rate:g} (SLO {bake.slo:.2%})"
    )
    reasons: dict[Verdict, str] = {
        "fail": f"green burns its error budget too fast: {text}",
        "pass": f"green's burn is within budget: {text}",
        "extend": f"burn not yet proven within budget: {text}: soak longer",
        "hold": f"burn still not proven within budget after extending: {text}",
    }
    return MetricVerdict(
        metric="burn_rate",
        verdict=verdict,
        reason=f"burn_rate: {reasons[verdict]}; {found.errors} errors in {found.requests} requests",
        alpha=alpha,
        minutes=int(judged.sum()),
        green_n=found.requests,
        green_events=found.errors,
        green=found.rate,
        ratio=burn,
        lower=lower,
        upper=upper,
        margin=bake.max_burn_rate,
        dispersion=found.dispersion,
        method=found.method,
    )


def judge_step(
    window: Window,
    share: float,
    settings: JudgeSettings,
    *,
    regions: int,
    extended: bool = False,
) -> StepVerdict:
    """Judge one region's step from its window; ``extended`` on the look after an extension.

    ``share`` is green's weight at this step (1 for the bake); ``regions`` sizes the α each
    test may spend from the cutover's false-fail budget. A colour the step needs but the
    backend did not deliver holds the step: no data is never a pass.
    """
    alpha = alpha_per_test(settings, regions)
    judged = judged_minutes(window.green_weight, share, settings.warmup_minutes)
    breaches = check_limits(window, settings)
    missing = [
        name
        for name, colour in (("green", window.green), ("blue", window.blue))
        if colour is None and (name == "green" or share < 1)
    ]
    if missing:
        metrics: list[MetricVerdict] = [
            MetricVerdict(
                metric="requests",
                verdict="hold",
                reason=(
                    f"no data for {' and '.join(missing)}: the backend found no datapoint in "
                    "the window; silence is never healthy and soaking longer cannot fix it"
                ),
                alpha=alpha,
            )
        ]
    elif share >= 1:
        metrics = [_bake_verdict(window, judged, settings, alpha, extended)]
    else:
        assert window.blue is not None and window.green is not None
        step = settings.step(share)
        metrics = [
            _error_verdict(window, kind, judged, step, settings, alpha, extended)
            for kind in settings.error_kinds
        ]
        metrics += _latency_verdicts(
            window.blue, window.green, judged, step, settings, alpha, extended
        )
    verdict = worst([m.verdict for m in metrics] + ["fail" for _ in breaches])
    if breaches:
        reason = "limit fired: " + "; ".join(b.reason for b in breaches)
    else:
        decisive = [m.reason for m in metrics if m.verdict == verdict]
        reason = f"{verdict}: " + "; ".join(decisive)
    return StepVerdict(
        region=window.region,
        share=share,
        verdict=verdict,
        reason=reason,
        alpha=alpha,
        judged_minutes=int(judged.sum()),
        metrics=tuple(metrics),
        breaches=breaches,
    )

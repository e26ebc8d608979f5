"""The judge's settings: margins per step, the false-fail budget, limits and the bake.

Frozen pydantic models with ``extra="forbid"`` so that the parameters file can embed them
later and a typo in a key fails at load time instead of silently keeping a default. The
defaults are for a modest service (tens to hundreds of requests per second, about 0.1 %
errors): a coarse smoke step at 5 %, the real proof at 25 % and 50 %, a bake at 100 %.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ekslift.errors import InputError

ERROR_KINDS: tuple[str, ...] = ("target_5xx", "connection_errors", "unanswered")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepPolicy(_Frozen):
    """One compared step: what green must prove against blue before the weight moves on.

    A smoke step cannot prove much at low traffic (a few green errors per hour), so its
    margins are coarse (a 0.5 pp excess on 5 % of the traffic is 0.025 pp of all users) and
    it mostly exists for the absolute limits; the proof steps carry the margins the cutover
    is really judged on.
    """

    share: float = Field(gt=0, lt=1, description="green's weight at this step (0.25 = 25 %)")
    role: Literal["smoke", "proof"] = "proof"
    error_margin: float = Field(gt=1, description="pass needs the error ratio's upper bound below")
    latency_margin: float = Field(gt=0, description="pass needs green/blue quantile below 1+this")
    error_difference: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="error-rate excess that matters here; None: the settings' default",
    )


class LimitSettings(_Frozen):
    """Absolute limits watched every minute, warm-up included.

    Each has a count floor: at 5 % of 20 requests/s green sees one request a second, so one
    error is 1.7 % of a minute; a limit must not fire on a single unlucky request.
    """

    window_minutes: int = Field(default=5, ge=1, description="trailing window the limits sum")
    min_success_rate: float = Field(default=0.99, gt=0, lt=1)
    min_errors: int = Field(default=10, ge=1, description="floor for the success-rate limit")
    latency_ceiling_ms: float = Field(default=2000.0, gt=0)
    latency_ceiling_quantile: float = Field(default=0.99, gt=0, lt=1)
    min_slow_requests: int = Field(default=10, ge=1, description="floor for the latency ceiling")
    min_healthy_hosts_per_az: int = Field(default=2, ge=1)
    healthy_hosts_minutes: int = Field(default=2, ge=1, description="consecutive minutes below")
    max_elb_5xx_rate: float = Field(default=0.01, gt=0, lt=1)
    min_elb_5xx: int = Field(default=10, ge=1, description="floor for the ELB 5xx limit")


class BakeSettings(_Frozen):
    """The 100 % step has no blue to compare with: green is judged on its error-budget burn."""

    slo: float = Field(default=0.995, gt=0, lt=1, description="availability objective")
    max_burn_rate: float = Field(default=1.0, gt=0, description="1 = spending the budget evenly")
    min_minutes: int = Field(default=30, ge=1)


class JudgeSettings(_Frozen):
    """Everything the judge and the soak planner need, with defaults that work unchanged."""

    steps: tuple[StepPolicy, ...] = (
        StepPolicy(
            share=0.05, role="smoke", error_margin=5.0, latency_margin=0.5, error_difference=0.005
        ),
        StepPolicy(share=0.25, error_margin=2.0, latency_margin=0.25),
        StepPolicy(share=0.50, error_margin=1.5, latency_margin=0.25),
    )
    bake: BakeSettings = BakeSettings()
    limits: LimitSettings = LimitSettings()
    error_kinds: tuple[str, ...] = ERROR_KINDS
    quantiles: tuple[float, ...] = (0.5, 0.99)
    false_fail_budget: float = Field(default=0.05, gt=0, lt=0.5)
    max_extensions: int = Field(default=1, ge=0)
    min_error_difference: float = Field(
        default=0.0005, gt=0, description="an error-rate excess that matters (0.0005 = 0.05 pp)"
    )
    latency_min_difference_ms: float = Field(default=10.0, ge=0)
    min_tail_samples: int = Field(default=10, ge=1, description="samples beyond a quantile")
    histogram_max_bucket_ratio: float = Field(default=1.1, gt=1)
    warmup_minutes: int = Field(default=3, ge=0)
    min_soak_minutes: int = Field(default=15, ge=1)
    max_soak_minutes: int = Field(default=240, ge=1)
    plan_power: float = Field(default=0.8, gt=0.5, lt=1)
    bootstrap_resamples: int = Field(default=1000, ge=100)
    seed: int = Field(default=0, description="bootstrap seed: a re-run gives the same numbers")

    @model_validator(mode="after")
    def _steps_in_order(self) -> JudgeSettings:
        shares = [step.share for step in self.steps]
        if shares != sorted(set(shares)):
            raise ValueError(f"steps must have increasing, distinct shares, got {shares}")
        if not set(self.error_kinds) <= set(ERROR_KINDS):
            raise ValueError(f"error_kinds must be among {ERROR_KINDS}")
        if any(not 0 < q < 1 for q in self.quantiles):
            raise ValueError("quantiles must lie strictly between 0 and 1")
        return self

    def step(self, share: float) -> StepPolicy:
        """The compared step at this share; an unplanned share is the operator's mistake."""
        for step in self.steps:
            if abs(step.share - share) < 1e-9:
                return step
        planned = ", ".join(f"{s.share:g}" for s in self.steps)
        raise InputError(f"no step at green share {share:g}; the settings plan {planned} and 1")

    def error_difference(self, step: StepPolicy) -> float:
        """The error-rate excess that matters at this step: its own, else the default."""
        return step.error_difference or self.min_error_difference


def cutover_tests(settings: JudgeSettings, regions: int) -> int:
    """How many one-sided tests can fail a cutover: every region, every compared step and
    the bake, every metric, every look (the first judgement and each extension)."""
    metrics_per_step = len(settings.error_kinds) + len(settings.quantiles)
    per_region = len(settings.steps) * metrics_per_step + 1
    return regions * per_region * (1 + settings.max_extensions)


def alpha_per_test(settings: JudgeSettings, regions: int) -> float:
    """The one-sided α each test may spend.

    Bonferroni over every test of the cutover: simple, valid whatever the dependence between
    tests (errors and latency of one step are correlated), and conservative by at most the
    correlation it ignores. The false-fail budget is for the whole cutover, because that is
    what an operator experiences: a healthy green rolled back somewhere, some step.
    """
    if regions < 1:
        raise InputError(f"regions must be at least 1, got {regions}")
    return settings.false_fail_budget / cutover_tests(settings, regions)

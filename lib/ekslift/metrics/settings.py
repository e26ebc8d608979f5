"""The `metrics:` section of the parameter file: which backend, its settings, the judge's.

Kept beside the backends that read them (``ekslift.params`` embeds :class:`MetricsSettings`)
so a backend and its knobs change together. Every model forbids unknown keys: a typo in a
PromQL template's key or a lag would otherwise silently keep a default that judges the
wrong minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ekslift.metrics.policy import ERROR_KINDS, JudgeSettings

BackendName = Literal["cloudwatch", "access_logs", "prometheus"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudWatchSettings(_Frozen):
    """ALB metrics per target group. CloudWatch publishes a minute a few minutes late and
    revises it meanwhile, so a window must end ``lag_minutes`` before now."""

    lag_minutes: int = Field(default=3, ge=1, le=60)


class AccessLogSettings(_Frozen):
    """ALB access logs in S3: exact per-request evidence, late and possibly repeated.

    The ALB delivers a file per node every 5 minutes and may deliver an entry twice, so a
    verdict uses only windows closed ``settle_minutes`` ago, deduplicated. ``bucket`` and
    ``prefix`` default to the ALB's own ``access_logs.s3.*`` attributes.
    """

    bucket: str | None = Field(default=None, min_length=3, max_length=63)
    prefix: str | None = None
    settle_minutes: int = Field(default=10, ge=0, le=120)
    max_files: int = Field(default=5000, ge=1, description="refuse windows needing more files")


DEFAULT_QUERIES: dict[str, str] = {
    "requests": 'sum(increase(http_requests_total{cluster="{cluster}"}[1m]))',
    "target_5xx": 'sum(increase(http_requests_total{cluster="{cluster}",code=~"5.."}[1m]))',
    "latency_buckets": (
        'sum by (le) (increase(http_request_duration_seconds_bucket{cluster="{cluster}"}[1m]))'
    ),
}


class PrometheusSettings(_Frozen):
    """PromQL templates evaluated per minute for each colour.

    ``{color}``, ``{cluster}`` (the colour's EKS cluster name) and ``{region}`` are
    substituted as text, so PromQL's own braces need no escaping. ``requests`` and each
    error kind answer a count per minute (``increase(...[1m])``); ``latency_buckets`` is
    summed ``by (le)`` (cumulative buckets, as Prometheus stores them). ``alerts`` are the
    team's alert names (SLO burn-rate alerts) read from the ``ALERTS`` series: any firing
    minute is a limit that fails the step.
    """

    url: str = Field(pattern=r"^https?://")
    queries: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_QUERIES))
    alerts: list[str] = Field(default_factory=list)
    lag_minutes: int = Field(default=1, ge=0, le=30, description="scrape and rule delay")

    @field_validator("queries")
    @classmethod
    def _known_queries(cls, queries: dict[str, str]) -> dict[str, str]:
        known = {"requests", "latency_buckets", *ERROR_KINDS}
        unknown = sorted(set(queries) - known)
        if unknown:
            raise ValueError(f"unknown queries {unknown}; known: {sorted(known)}")
        if "requests" not in queries:
            raise ValueError("queries need 'requests' (requests per minute of one colour)")
        return queries


class ReviewSettings(_Frozen):
    """Step 5: the window reviewed when step 4 left no weight history, and blue's retirement.

    ``since``/``until`` are UTC times (``--since``/``--until`` override them); without them
    and without step 4, the last ``lookback_minutes`` are reviewed.
    """

    since: datetime | None = None
    until: datetime | None = None
    lookback_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    keep_blue_warm_days: int = Field(default=7, ge=0, le=90)
    min_quiet_minutes: int = Field(
        default=5, ge=1, description="blue at 0 requests at least this long, beyond drain"
    )
    max_wait_minutes: int = Field(
        default=10,
        ge=0,
        le=120,
        description="right after step 4, wait this long for its last minutes to be final",
    )

    @model_validator(mode="after")
    def _utc_window(self) -> ReviewSettings:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() != timedelta(0):
                raise ValueError(f"{name} must be a UTC time (…Z or +00:00)")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


class MetricsSettings(_Frozen):
    """Which backend steps 4 and 5 read, its settings, and the judge's settings."""

    backend: BackendName = "cloudwatch"
    judge: JudgeSettings = JudgeSettings()
    cloudwatch: CloudWatchSettings = CloudWatchSettings()
    access_logs: AccessLogSettings = AccessLogSettings()
    prometheus: PrometheusSettings | None = None
    review: ReviewSettings = ReviewSettings()

    @model_validator(mode="after")
    def _prometheus_configured(self) -> MetricsSettings:
        if self.backend == "prometheus" and self.prometheus is None:
            raise ValueError("backend 'prometheus' needs a prometheus section with its url")
        return self

"""The backend the parameters choose (``metrics.backend``), built in one place."""

from __future__ import annotations

from ekslift.metrics.accesslogs import AccessLogBackend
from ekslift.metrics.backend import MetricsBackend
from ekslift.metrics.cloudwatch_backend import CloudWatchBackend
from ekslift.metrics.prometheus_backend import PrometheusBackend
from ekslift.params import UpgradeParams


def backend_for(params: UpgradeParams) -> MetricsBackend:
    """CloudWatch, the access logs or Prometheus, with the judge's settings."""
    metrics, profile = params.metrics, params.aws.profile
    if metrics.backend == "access_logs":
        return AccessLogBackend(metrics.access_logs, metrics.judge, profile)
    if metrics.backend == "prometheus":
        assert metrics.prometheus is not None  # the settings' validator requires it
        return PrometheusBackend(metrics.prometheus, metrics.judge)
    return CloudWatchBackend(metrics.cloudwatch, metrics.judge, profile)

"""The Prometheus backend: the service's own counters and histograms, per colour and minute.

Each PromQL template of ``metrics.prometheus.queries`` is evaluated with ``query_range`` at
every minute's end (one step per minute), with ``{color}``, ``{cluster}`` and ``{region}``
filled in, so ``increase(...[1m])`` answers the minute before. Latency comes from histogram
buckets summed ``by (le)``: the judge compares it only where both colours have the same
buckets, fine enough near the quantile (``latency.too_coarse``). The service counts what it
answered, so requests the ALB could not deliver never reach these counters: pair it with
the ALB's own view for those (the CloudWatch or access-log backend).

Alerts named in ``metrics.prometheus.alerts`` (the team's SLO burn-rate alerts) are read
from the ``ALERTS`` series: a firing minute is a limit that fails the step.

:meth:`PrometheusBackend.precheck` runs before the shift: every query must answer for both
colours (a chart bump on green may have renamed a metric), and the histogram must be fine
enough to compare p99, or latency would hold every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from ekslift.errors import ReadError
from ekslift.metrics.backend import (
    TrafficTarget,
    WeightChange,
    complete_end,
    minute_range,
    weights_per_minute,
)
from ekslift.metrics.latency import Buckets, too_coarse
from ekslift.metrics.policy import ERROR_KINDS, JudgeSettings
from ekslift.metrics.prometheus import PrometheusClient
from ekslift.metrics.series import BoolArray, ColourSeries, FloatArray, HistogramLatency, Window
from ekslift.metrics.settings import PrometheusSettings
from ekslift.params import Color

STEP = timedelta(minutes=1)


def render(template: str, target: TrafficTarget, colour: Color) -> str:
    """Placeholders as plain text, so PromQL's own braces need no escaping."""
    return (
        template.replace("{color}", colour)
        .replace("{cluster}", target.colour(colour).cluster)
        .replace("{region}", target.region)
    )


class PrometheusBackend:
    """One Prometheus server for every region (the templates select by cluster)."""

    name = "prometheus"

    def __init__(
        self,
        settings: PrometheusSettings,
        judge: JudgeSettings,
        client: PrometheusClient | None = None,
    ) -> None:
        self.settings = settings
        self.judge = judge
        self.notes: list[str] = []
        self.client = client or PrometheusClient(settings.url)

    def complete_until(self, now: datetime) -> datetime:
        return complete_end(now, now, timedelta(minutes=self.settings.lag_minutes))

    def judge_settings(self, settings: JudgeSettings) -> JudgeSettings:
        """Only the error kinds with a query; latency only with a histogram query."""
        queries = self.settings.queries
        kinds = tuple(k for k in settings.error_kinds if k in queries)
        quantiles = settings.quantiles if "latency_buckets" in queries else ()
        return settings.model_copy(update={"error_kinds": kinds, "quantiles": quantiles})

    def _per_minute(self, promql: str, first: datetime, minutes: int) -> dict[str, FloatArray]:
        """Each answered series by its ``le`` label (or ``""``), NaN where it had no value."""
        found: dict[str, FloatArray] = {}
        for series in self.client.query_range(promql, first + STEP, first + STEP * minutes, STEP):
            values = np.full(minutes, np.nan)
            for at, value in series.points:
                index = round((at - first).total_seconds() / 60) - 1
                if 0 <= index < minutes:
                    values[index] = value
            found[series.labels.get("le", "")] = values
        return found

    def _count(self, promql: str, first: datetime, minutes: int) -> FloatArray | None:
        found = self._per_minute(promql, first, minutes)
        if not found or all(np.isnan(v).all() for v in found.values()):
            return None
        # increase() extrapolates, so a counter's minute is rarely a whole number.
        return np.clip(np.nansum(np.vstack(list(found.values())), axis=0), 0, None)

    def _histogram(self, promql: str, first: datetime, minutes: int) -> HistogramLatency | None:
        found = self._per_minute(promql, first, minutes)
        if not found:
            return None
        try:
            bounds = sorted(found, key=float)
        except ValueError as exc:
            raise ReadError(
                f"the latency_buckets query {promql!r} must be summed by (le): {exc}"
            ) from exc
        cumulative = np.nan_to_num(np.vstack([found[b] for b in bounds]).T)
        counts = np.clip(np.diff(cumulative, axis=1, prepend=0.0), 0, None)
        return HistogramLatency(np.array([float(b) for b in bounds]), counts)

    def _colour(
        self, target: TrafficTarget, colour: Color, first: datetime, minutes: int
    ) -> ColourSeries | None:
        queries = self.settings.queries
        requests = self._count(render(queries["requests"], target, colour), first, minutes)
        if requests is None:
            return None
        errors = {}
        for kind in ERROR_KINDS:
            if kind in queries:
                found = self._count(render(queries[kind], target, colour), first, minutes)
                errors[kind] = found if found is not None else np.zeros(minutes)
        latency = (
            self._histogram(render(queries["latency_buckets"], target, colour), first, minutes)
            if "latency_buckets" in queries
            else None
        )
        return ColourSeries(requests=requests, errors=errors, latency=latency)

    def _alerts(self, first: datetime, minutes: int) -> dict[str, BoolArray]:
        firing: dict[str, BoolArray] = {}
        for name in self.settings.alerts:
            promql = f'max(max_over_time(ALERTS{{alertname="{name}",alertstate="firing"}}[1m]))'
            found = self._per_minute(promql, first, minutes)
            values = next(iter(found.values()), np.zeros(minutes))
            firing[name] = np.nan_to_num(values) > 0
        return firing

    def window(
        self,
        target: TrafficTarget,
        start: datetime,
        end: datetime,
        weights: Sequence[WeightChange],
        *,
        now: datetime | None = None,
    ) -> Window:
        now = now or datetime.now(UTC)
        first, minutes = minute_range(
            start, complete_end(end, now, timedelta(minutes=self.settings.lag_minutes))
        )
        return Window(
            start=first,
            green_weight=weights_per_minute(weights, first, minutes),
            blue=self._colour(target, "blue", first, minutes),
            green=self._colour(target, "green", first, minutes),
            # Load-balancer 5xx are not the service's to count: the ALB's backends guard them.
            elb_5xx=np.zeros(minutes),
            alerts=self._alerts(first, minutes),
            region=target.region,
        )

    def precheck(self, target: TrafficTarget, start: datetime, end: datetime) -> list[str]:
        first, minutes = minute_range(start, end)
        problems = []
        for name, template in sorted(self.settings.queries.items()):
            for colour in ("blue", "green"):
                promql = render(template, target, colour)
                found = self._per_minute(promql, first, minutes)
                if not found or all(np.isnan(v).all() for v in found.values()):
                    problems.append(
                        f"{target.region} {colour}: query {name} ({promql}) returned no data "
                        f"between {first.isoformat()} and {end.isoformat()}; was a metric "
                        "renamed or a label changed?"
                    )
        if problems or "latency_buckets" not in self.settings.queries:
            return problems
        blue = self._colour(target, "blue", first, minutes)
        green = self._colour(target, "green", first, minutes)
        assert blue is not None and green is not None
        if not (
            isinstance(blue.latency, HistogramLatency)
            and isinstance(green.latency, HistogramLatency)
        ):
            return problems
        if not np.array_equal(blue.latency.bounds, green.latency.bounds):
            return [f"{target.region}: blue and green histograms have different buckets"]
        buckets = Buckets(blue.latency.bounds, blue.latency.counts, green.latency.counts)
        return [
            f"{target.region}: {reason}"
            for q in self.judge.quantiles
            if (reason := too_coarse(buckets, q, self.judge.histogram_max_bucket_ratio))
        ]

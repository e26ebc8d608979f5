"""Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`) as typed, UTC results.

Gates compare blue and green over a window that already happened, so every query names its
time explicitly (an instant query without `time=` would answer for "now" and look back only
five minutes). Transient failures (a restarting Prometheus, a proxy answering 502/503, rate
limiting, a slow query timing out) are retried with backoff so that a gate does not fail on
a blip; a rejected query is not retried and its error names the query and Prometheus' reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ekslift.errors import ReadError

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class PrometheusQueryError(ReadError):
    """A query failed; the message names the query, the server and what to do."""


@dataclass(frozen=True)
class Sample:
    """One value of an instant query: one series at one time."""

    labels: dict[str, str]
    at: datetime
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query, its points oldest first."""

    labels: dict[str, str]
    points: list[tuple[datetime, float]]


def _seconds(when: datetime) -> str:
    """Naive datetimes are refused rather than guessed: a local-time window would silently
    compare the wrong hours."""
    if when.tzinfo is None:
        raise ValueError(f"{when.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return f"{when.timestamp():.3f}"


def _point(pair: list[Any]) -> tuple[datetime, float]:
    """Prometheus sends `[unix seconds, "value"]`; values are strings so NaN and ±Inf survive
    JSON, and float() reads those spellings."""
    return datetime.fromtimestamp(float(pair[0]), UTC), float(pair[1])


class PrometheusClient:
    """A client for one Prometheus; `retries` applies to connection errors, timeouts and
    429/5xx answers, with exponential backoff (and `Retry-After` where sent)."""

    def __init__(
        self, url: str, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        # POST is retried too: queries are read-only, and POST keeps long PromQL out of URLs
        # that proxies may cap.
        retry = Retry(
            total=retries,
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        self._session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def query(self, promql: str, at: datetime) -> list[Sample]:
        """The instant vector (or scalar) of `promql` evaluated at `at`."""
        data = self._call("query", promql, {"query": promql, "time": _seconds(at)})
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            return [Sample({}, *_point(result))]
        if kind != "vector":
            raise PrometheusQueryError(
                f"query {promql!r} on {self.url} gave a {kind}, not an instant vector; "
                "use query_range for a range, or drop the range selector"
            )
        return [Sample(item["metric"], *_point(item["value"])) for item in result]

    def query_range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> list[Series]:
        """`promql` evaluated every `step` from `start` to `end` (both included)."""
        params = {
            "query": promql,
            "start": _seconds(start),
            "end": _seconds(end),
            "step": f"{step.total_seconds():g}",
        }
        data = self._call("query_range", promql, params)
        return [
            Series(item["metric"], [_point(pair) for pair in item["values"]])
            for item in data["result"]
        ]

    def _call(self, endpoint: str, promql: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.url}/api/v1/{endpoint}"
        try:
            response = self._session.post(url, data=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PrometheusQueryError(
                f"could not reach Prometheus at {self.url} for query {promql!r} "
                f"(after {self.retries} retries): {exc}; check the URL "
                "(metrics.prometheus.url) and that Prometheus runs"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") != "success":
            raise PrometheusQueryError(self._describe_failure(promql, response, body))
        for warning in body.get("warnings", []):
            log.warning("Prometheus warns about %r: %s", promql, warning)
        return body["data"]

    def _describe_failure(
        self, promql: str, response: requests.Response, body: dict[str, Any] | None
    ) -> str:
        if isinstance(body, dict) and "error" in body:
            reason = f"{body.get('errorType', 'error')}: {body['error']}"
        else:
            reason = f"non-API answer {response.text[:200]!r}"
        advice = (
            "fix the PromQL"
            if response.status_code in (400, 422)
            else "check that Prometheus is healthy and retry later"
        )
        return (
            f"Prometheus at {self.url} failed query {promql!r} "
            f"(HTTP {response.status_code}) — {reason}; {advice}"
        )

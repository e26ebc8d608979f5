"""The Prometheus client against a real Prometheus holding the seeded history.

The history comes from the same traffic model as the CloudWatch seed, so the expected
numbers are computed from that model, not copied here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from ekslift.metrics.prometheus import PrometheusClient, PrometheusQueryError
from ekslift_sandbox.prometheus import PrometheusSandbox, binaries, start_if_installed
from ekslift_sandbox.scenario import clusters
from ekslift_sandbox.trafficmodel import alb_minutes

NOW = datetime.now(UTC)
# Minute-aligned query times put samples exactly on window edges: no extrapolation.
ALIGNED = NOW.replace(second=0, microsecond=0) - timedelta(minutes=10)
REGIONS = ("ap-northeast-1", "us-east-1")

needs_prometheus = pytest.mark.skipif(
    binaries() is None,
    reason="prometheus/promtool not installed (Debian package `prometheus`; .ci/run installs it)",
)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusSandbox]:
    server = PrometheusSandbox(tmp_path_factory.mktemp("prometheus"))
    server.start(clusters("small"), regress=True, now=NOW)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(prometheus: PrometheusSandbox) -> Iterator[PrometheusClient]:
    with PrometheusClient(prometheus.url, timeout=10) as client:
        yield client


def model_requests(color: str, end: datetime, minutes: int, field: str = "requests") -> float:
    """Requests (or errors) of both regions in the `minutes` whole minutes ending at `end`."""
    start = end - timedelta(minutes=minutes)
    return sum(
        getattr(minute, field)
        for region in REGIONS
        for minute in alb_minutes(region, True, NOW)[color]
        if start <= minute.start < end
    )


@needs_prometheus
def test_range_query_gives_the_model_request_rate(client: PrometheusClient) -> None:
    series = client.query_range(
        'sum by (color) (rate(http_requests_total{color="blue"}[5m]))',
        ALIGNED - timedelta(hours=2),
        ALIGNED,
        timedelta(minutes=5),
    )
    assert [s.labels for s in series] == [{"color": "blue"}]
    points = series[0].points
    assert len(points) == 25
    assert points[-1][0] == ALIGNED
    for at, rate in points:
        assert at.tzinfo == UTC
        assert rate == pytest.approx(model_requests("blue", at, 5) / 300, rel=1e-9)


@needs_prometheus
def test_instant_query_gives_the_model_errors_and_a_slower_green(
    client: PrometheusClient,
) -> None:
    errors = client.query('sum by (color) (increase(http_requests_total{code="500"}[1h]))', ALIGNED)
    by_color = {sample.labels["color"]: sample.value for sample in errors}
    for color in ("blue", "green"):
        assert by_color[color] == pytest.approx(model_requests(color, ALIGNED, 60, "errors"))
    assert {sample.at for sample in errors} == {ALIGNED}

    p99 = client.query(
        "histogram_quantile(0.99, sum by (le, color) "
        "(rate(http_request_duration_seconds_bucket[5m])))",
        NOW,
    )
    latency = {sample.labels["color"]: sample.value for sample in p99}
    assert 0.1 < latency["blue"] < 0.5
    assert latency["green"] > 1.2 * latency["blue"]


@needs_prometheus
def test_bad_promql_names_the_query_and_the_reason(client: PrometheusClient) -> None:
    with pytest.raises(PrometheusQueryError, match=r"sum\(rate\(x\[5m\]\).*bad_data: .*parse"):
        client.query("sum(rate(x[5m])", NOW)


@needs_prometheus
def test_range_selector_in_an_instant_query_is_refused(client: PrometheusClient) -> None:
    with pytest.raises(PrometheusQueryError, match="use query_range"):
        client.query("http_requests_total[5m]", NOW)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        PrometheusClient("http://127.0.0.1:9").query("up", datetime(2026, 1, 1))


class FlakyProxy(ThreadingHTTPServer):
    """Answers 503 to the first `failures` requests, then forwards them to Prometheus."""

    def __init__(self, upstream: str, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        self.upstream = upstream
        self.failures = failures
        self.requests = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        if self.server.requests <= self.server.failures:
            self.send_response(503)
            self.send_header("Content-Length", "11")
            self.end_headers()
            self.wfile.write(b"unavailable")
            return
        upstream = requests.post(
            self.server.upstream + self.path,
            data=body,
            headers={"Content-Type": self.headers["Content-Type"]},
            timeout=10,
        )
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", upstream.headers["Content-Type"])
        self.send_header("Content-Length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def flaky(prometheus: PrometheusSandbox) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(prometheus.url, failures=2)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


@needs_prometheus
def test_503_is_retried(flaky: FlakyProxy, client: PrometheusClient) -> None:
    promql = "sum(rate(http_requests_total[5m]))"
    with PrometheusClient(flaky.url, retries=3, backoff=0.01) as through_proxy:
        assert through_proxy.query(promql, NOW) == client.query(promql, NOW)
    assert flaky.requests == 3


@needs_prometheus
def test_503_after_the_last_retry_is_an_error(flaky: FlakyProxy) -> None:
    with (
        PrometheusClient(flaky.url, retries=1, backoff=0.01) as through_proxy,
        pytest.raises(PrometheusQueryError, match=r"'up'.*HTTP 503.*retry later"),
    ):
        through_proxy.query("up", NOW)
    assert flaky.requests == 2


@pytest.mark.sandbox
def test_sandbox_exports_its_prometheus(sandbox) -> None:
    if sandbox.prometheus_url is None:
        pytest.skip("the sandbox runs without Prometheus (package `prometheus` not installed)")
    assert os.environ["EKSLIFT_PROMETHEUS_URL"] == sandbox.prometheus_url
    started = datetime.fromisoformat(sandbox.started_at)
    with PrometheusClient(os.environ["EKSLIFT_PROMETHEUS_URL"]) as client:
        rates = client.query("sum by (region, color) (rate(http_requests_total[5m]))", started)
    assert {(s.labels["region"], s.labels["color"]) for s in rates} == {
        (region, color) for region in REGIONS for color in ("blue", "green")
    }


def test_without_prometheus_the_sandbox_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert start_if_installed(tmp_path, clusters("small"), regress=False, now=NOW) is None
    assert "runs without Prometheus" in caplog.text

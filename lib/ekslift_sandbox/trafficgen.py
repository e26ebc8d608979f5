"""Live traffic for the sandbox's ALBs: follows the weights, feeds every metrics backend.

A thread of the sandbox daemon reads each ALB's weights as a client would (DescribeRules,
the listener's default rule) and sends requests to blue and green in proportion. Each
request is drawn once and then told three ways, so the backends can only disagree where
the real sources do:

* **CloudWatch** (PutMetricData, one datum per metric and minute, after the minute ends):
  RequestCount, HTTPCode_Target_5XX_Count, TargetConnectionErrorCount, TargetResponseTime
  (values with counts) and HealthyHostCount per AZ per target group, HTTPCode_ELB_5XX_Count
  per load balancer; a zero count is omitted, as CloudWatch does;
* **access logs**: one gzip file per load balancer and minute in the bucket its
  ``access_logs.s3.*`` attributes name; now and then a few entries of a file are repeated
  in the next one, as the ALB may deliver an entry twice;
* **Prometheus**: the service's own counters and histograms on ``/metrics``, scraped by the
  sandbox's Prometheus; the service counts what it answered, so requests the ALB could not
  deliver (connection errors, targets that never answered) are absent there, as in life.

**The clock.** By default the generator sends the seeded history's rate (20 requests/s per
region at the diurnal mean), so every reader of RequestCount agrees with the history:
cutover readiness sizes green from blue's rate *now* against the last week's peak, and a
generator ten times louder than its own history would shrink every capacity need as the
sandbox ages. ``speed`` > 1 runs the simulated service that many times faster than the
wall clock (each real second carries ``speed`` seconds of traffic; bursts and the diurnal
curve advance as fast) for more judge evidence per minute, at the cost of that agreement.
Timestamps stay real either way, so every backend queries the last minutes as in
production and CloudWatch's lag and the logs' settling apply unchanged.

A ledger (JSON lines, one per region, colour and minute) records what was sent, for tests.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from ekslift_sandbox import accesslogs
from ekslift_sandbox.prometheus import BUCKETS
from ekslift_sandbox.scenario import SERVICE_NAMESPACE, ClusterSpec
from ekslift_sandbox.seed import client

log = logging.getLogger(__name__)
DEFAULT_SPEED = 1
BASE_RATE = 20.0  # requests/s per region at the diurnal mean, as the seeded history
HEALTHY_HOSTS = 3
FLUSH_DELAY = timedelta(seconds=5)  # a minute is published once its late answers are in
LATENCY_GRID = np.exp(np.arange(math.log(0.002), math.log(30.0), math.log(1.02)))
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Behaviour:
    """One colour's error rates (per request) and latency scale."""

    target_5xx: float = 0.002
    connection_errors: float = 0.0002
    unanswered: float = 0.0002
    slowdown: float = 1.0


HEALTHY = Behaviour()
REGRESSING = Behaviour(target_5xx=0.02, slowdown=1.6)


@dataclass(frozen=True)
class Balancer:
    """One region's ALB as the generator knows it (ARNs, cluster names, zones, log bucket)."""

    region: str
    load_balancer_arn: str
    listener_arn: str
    target_groups: dict[str, str]
    clusters: dict[str, str]
    zones: tuple[str, ...]
    bucket: str
    prefix: str

    @property
    def dimension(self) -> str:
        return self.load_balancer_arn.split(":", 5)[-1].removeprefix("loadbalancer/")


@dataclass
class Tally:
    """One colour's minute: what was sent, and the answered latencies."""

    requests: int = 0
    target_5xx: int = 0
    connection_errors: int = 0
    unanswered: int = 0
    latencies: list[float] = field(default_factory=list)


class Service:
    """The service's own Prometheus metrics, cumulative since the generator started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str, str], np.ndarray] = {}
        self.seconds: dict[tuple[str, str, str], float] = defaultdict(float)

    def observe(
        self, region: str, cluster: str, colour: str, latencies: np.ndarray, codes: np.ndarray
    ) -> None:
        key = (region, cluster, colour)
        counts = np.searchsorted(np.asarray(BUCKETS), latencies, side="left")
        with self.lock:
            for code, n in zip(*np.unique(codes, return_counts=True), strict=True):
                self.requests[(*key, str(code))] += int(n)
            found = self.buckets.setdefault(key, np.zeros(len(BUCKETS) + 1, dtype=np.int64))
            found += np.bincount(counts, minlength=len(BUCKETS) + 1)
            self.seconds[key] += float(latencies.sum())

    def exposition(self) -> str:
        """The text format Prometheus scrapes (cumulative buckets, ``+Inf`` last)."""
        lines = ["# TYPE http_requests_total counter"]
        with self.lock:
            for (region, cluster, colour, code), total in sorted(self.requests.items()):
                labels = _labels(region, cluster, colour) + f',code="{code}"'
                lines.append(f"http_requests_total{{{labels}}} {total}")
            lines.append("# TYPE http_request_duration_seconds histogram")
            for key, counts in sorted(self.buckets.items()):
                labels = _labels(*key)
                cumulative = np.cumsum(counts)
                for bound, total in zip((*map(str, BUCKETS), "+Inf"), cumulative, strict=True):
                    lines.append(
                        f'http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {total}'
                    )
                lines.append(f"http_request_duration_seconds_count{{{labels}}} {cumulative[-1]}")
                lines.append(f"http_request_duration_seconds_sum{{{labels}}} {self.seconds[key]}")
        return "\n".join(lines) + "\n"


def _labels(region: str, cluster: str, colour: str) -> str:
    return f'region="{region}",cluster="{cluster}",color="{colour}",service="{SERVICE_NAMESPACE}"'


def green_share(elb: Any, listener_arn: str, target_groups: dict[str, str]) -> float:
    """Green's share of the listener's default rule, read back like any client would."""
    rules = elb.describe_rules(ListenerArn=listener_arn)["Rules"]
    default = next(rule for rule in rules if rule.get("IsDefault"))
    weights = {"blue": 0, "green": 0}
    for action in default["Actions"]:
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
            for colour, arn in target_groups.items():
                if group["TargetGroupArn"] == arn:
                    weights[colour] += int(group.get("Weight", 1))
    total = weights["blue"] + weights["green"]
    return weights["green"] / total if total else 0.0


class TrafficGenerator:
    """Ticks once a (real) second; :meth:`tick` is the whole of one step, for tests too."""

    def __init__(
        self,
        clients: dict[str, dict[str, Any]],
        balancers: list[Balancer],
        *,
        regress: bool,
        ledger: Path,
        speed: int = DEFAULT_SPEED,
        seed: int = 0,
    ) -> None:
        self.clients = clients
        self.balancers = balancers
        self.behaviour = {"blue": HEALTHY, "green": REGRESSING if regress else HEALTHY}
        self.ledger = ledger
        self.speed = speed
        self.rng = np.random.default_rng(seed)
        self.service = Service()
        self.tallies: dict[tuple[str, str, datetime], Tally] = defaultdict(Tally)
        self.shares: dict[tuple[str, datetime], float] = {}
        self.lines: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        self.repeat: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: ThreadingHTTPServer | None = None
        self._origin: datetime | None = None
        self._count = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> TrafficGenerator:
        service = self.service

        class Metrics(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = service.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._thread = threading.Thread(target=self._run, name="trafficgen", daemon=True)
        self._thread.start()
        log.info("traffic generator at speed ×%d, metrics on %s", self.speed, self.metrics_target)
        return self

    @property
    def metrics_target(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._server is not None:
            self._server.shutdown()

    def _run(self) -> None:
        while not self._stop.wait(1.0 - (datetime.now(UTC).microsecond / 1e6)):
            try:
                self.tick(datetime.now(UTC))
            except Exception:  # keep generating: a failed tick is logged, the next one runs
                log.exception("traffic tick failed")

    # ------------------------------------------------------------------ one second

    def _rate(self, hours: float) -> float:
        """Requests per simulated second, ``hours`` of simulated time after the start: a
        diurnal curve around the history's rate that starts at its mean. It follows the
        time since the start, not the wall clock's hour, so a sandbox started at 04:00 and
        one started at 15:00 send the same traffic, and readiness's capacity needs (blue's
        rate against the week's peak) do not change with the time of day a test runs."""
        return BASE_RATE * (1 + 0.3 * math.sin(2 * math.pi * hours / 24))

    def tick(self, now: datetime) -> None:
        """Send one real second of traffic to every region, then publish what is complete."""
        self._origin = self._origin or now
        hours = (now - self._origin).total_seconds() * self.speed / 3600
        # Shared by both colours: load swings (overdispersion) and, now and then, a
        # dependency's error burst; the judge's minute effects must cancel them.
        load = self.rng.gamma(20.0, 1 / 20.0)
        burst = 5.0 if self.rng.random() < 0.02 else 1.0
        for balancer in self.balancers:
            elb = self.clients[balancer.region]["elbv2"]
            share = green_share(elb, balancer.listener_arn, balancer.target_groups)
            total = int(self.rng.poisson(self._rate(hours) * self.speed * load))
            green = int(self.rng.binomial(total, share))
            minute = now.replace(second=0, microsecond=0)
            self.shares[(balancer.region, minute)] = share
            for colour, count in (("blue", total - green), ("green", green)):
                self._send(balancer, colour, count, now, burst)
        self._publish(now)

    def _send(
        self, balancer: Balancer, colour: str, count: int, now: datetime, burst: float
    ) -> None:
        if count == 0:
            return
        behaviour, rng = self.behaviour[colour], self.rng
        created = [now - timedelta(seconds=float(s)) for s in rng.uniform(0, 1, count)]
        draw = rng.uniform(0, 1, count)
        connection = draw < behaviour.connection_errors * burst
        unanswered = ~connection & (
            draw < (behaviour.connection_errors + behaviour.unanswered) * burst
        )
        failed = rng.uniform(0, 1, count) < behaviour.target_5xx * burst
        latency = rng.lognormal(math.log(0.08 * behaviour.slowdown), 0.45, count)
        answered = ~connection & ~unanswered
        codes = np.where(failed, 500, 200)
        self.service.observe(
            balancer.region, balancer.clusters[colour], colour, latency[answered], codes[answered]
        )
        group = balancer.target_groups[colour]
        for i in range(count):
            minute = created[i].replace(second=0, microsecond=0)
            tally = self.tallies[(balancer.region, colour, minute)]
            tally.requests += 1
            if connection[i]:
                tally.connection_errors += 1
                entry = accesslogs.Entry(
                    created[i],
                    created[i],
                    self._client(),
                    None,
                    -1,
                    503,
                    None,
                    group,
                    self._trace(now),
                    0,
                )
            elif unanswered[i]:
                tally.unanswered += 1
                done = created[i] + timedelta(seconds=float(latency[i]))
                entry = accesslogs.Entry(
                    created[i],
                    done,
                    self._client(),
                    self._target(colour),
                    -1,
                    504,
                    None,
                    group,
                    self._trace(now),
                    0,
                )
            else:
                tally.target_5xx += int(failed[i])
                tally.latencies.append(float(latency[i]))
                done = created[i] + timedelta(seconds=float(latency[i]))
                entry = accesslogs.Entry(
                    created[i],
                    done,
                    self._client(),
                    self._target(colour),
                    float(latency[i]),
                    int(codes[i]),
                    int(codes[i]),
                    group,
                    self._trace(now),
                    2048,
                )
            self.lines[balancer.region].append(
                (entry.done, accesslogs.line(entry, balancer.dimension))
            )

    def _client(self) -> str:
        return f"203.0.113.{int(self.rng.integers(1, 255))}:{int(self.rng.integers(1024, 65535))}"

    def _target(self, colour: str) -> str:
        base = "10.0.0" if colour == "blue" else "10.0.2"
        return f"{base}.{int(self.rng.integers(10, 12))}:8080"

    def _trace(self, now: datetime) -> str:
        """X-Amzn-Trace-Id's root: the epoch second in hex, then 96 unique bits."""
        self._count += 1
        unique = int(self.rng.integers(0, 2**48))
        return f"1-{int(now.timestamp()):08x}-{self._count:012x}{unique:012x}"

    # ------------------------------------------------------------------ publishing

    def _publish(self, now: datetime) -> None:
        """Every minute whose late answers are in: CloudWatch, an access-log file, the ledger."""
        ready = (now - FLUSH_DELAY).replace(second=0, microsecond=0)
        minutes = sorted({m for (_, _, m) in self.tallies if m < ready})
        for minute in minutes:
            for balancer in self.balancers:
                self._put_metrics(balancer, minute)
            self._write_ledger(minute)
        for balancer in self.balancers:
            self._write_logs(balancer, ready)
        for minute in minutes:
            for key in [k for k in self.tallies if k[2] == minute]:
                del self.tallies[key]

    def _put_metrics(self, balancer: Balancer, minute: datetime) -> None:
        lb = {"Name": "LoadBalancer", "Value": balancer.dimension}
        data: list[dict[str, Any]] = []
        elb_5xx = 0
        for colour, arn in balancer.target_groups.items():
            tally = self.tallies.get((balancer.region, colour, minute))
            dims = [lb, {"Name": "TargetGroup", "Value": arn.split(":", 5)[-1]}]
            data += [
                {
                    "MetricName": "HealthyHostCount",
                    "Dimensions": [*dims, {"Name": "AvailabilityZone", "Value": zone}],
                    "Timestamp": minute,
                    "Value": HEALTHY_HOSTS,
                    "Unit": "Count",
                }
                for zone in balancer.zones
            ]
            if tally is None or tally.requests == 0:
                continue
            elb_5xx += tally.connection_errors + tally.unanswered
            counts = {
                "RequestCount": tally.requests,
                "HTTPCode_Target_5XX_Count": tally.target_5xx,
                "TargetConnectionErrorCount": tally.connection_errors,
            }
            data += [
                {
                    "MetricName": name,
                    "Dimensions": dims,
                    "Timestamp": minute,
                    "Value": value,
                    "Unit": "Count",
                }
                for name, value in counts.items()
                if value
            ]
            data += _latency_data(dims, minute, tally.latencies)
        if elb_5xx:
            data.append(
                {
                    "MetricName": "HTTPCode_ELB_5XX_Count",
                    "Dimensions": [lb],
                    "Timestamp": minute,
                    "Value": elb_5xx,
                    "Unit": "Count",
                }
            )
        cloudwatch = self.clients[balancer.region]["cloudwatch"]
        for first in range(0, len(data), 500):
            cloudwatch.put_metric_data(
                Namespace="AWS/ApplicationELB", MetricData=data[first : first + 500]
            )

    def _write_logs(self, balancer: Balancer, ready: datetime) -> None:
        """Entries that finished before ``ready``, in one file named by its interval's end;
        a few of the previous file's entries again, as the ALB sometimes repeats them."""
        pending = self.lines[balancer.region]
        done = [line for when, line in pending if when < ready]
        if not done:
            return
        self.lines[balancer.region] = [(w, x) for w, x in pending if w >= ready]
        repeated = [line for _, line in self.repeat[balancer.region]]
        key = accesslogs.file_key(
            balancer.prefix, ACCOUNT, balancer.region, balancer.dimension, ready
        )
        accesslogs.write(self.clients[balancer.region]["s3"], balancer.bucket, key, done + repeated)
        picks = self.rng.choice(len(done), size=min(3, len(done)), replace=False)
        self.repeat[balancer.region] = (
            [(ready, done[int(i)]) for i in picks] if self.rng.random() < 0.3 else []
        )

    def _write_ledger(self, minute: datetime) -> None:
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with self.ledger.open("a", encoding="utf-8") as out:
            for (region, colour, when), tally in sorted(self.tallies.items()):
                if when != minute:
                    continue
                record = {
                    "region": region,
                    "color": colour,
                    "minute": when.isoformat(),
                    "green_share": self.shares.get((region, when)),
                    "requests": tally.requests,
                    "target_5xx": tally.target_5xx,
                    "connection_errors": tally.connection_errors,
                    "unanswered": tally.unanswered,
                    "answered": len(tally.latencies),
                }
                out.write(json.dumps(record) + "\n")


def _latency_data(
    dims: list[dict[str, str]], minute: datetime, latencies: list[float]
) -> list[dict[str, Any]]:
    """TargetResponseTime as values with counts on a 2 % grid (CloudWatch's own percentiles
    are approximate too), at most 150 values per datum as the API allows."""
    if not latencies:
        return []
    index = np.clip(np.searchsorted(LATENCY_GRID, latencies), 0, LATENCY_GRID.size - 1)
    values, counts = np.unique(index, return_counts=True)
    data = []
    for first in range(0, values.size, 150):
        data.append(
            {
                "MetricName": "TargetResponseTime",
                "Dimensions": dims,
                "Timestamp": minute,
                "Values": [round(float(LATENCY_GRID[v]), 4) for v in values[first : first + 150]],
                "Counts": [float(c) for c in counts[first : first + 150]],
                "Unit": "Seconds",
            }
        )
    return data


def start_for(
    endpoint: str,
    albs: dict[str, dict[str, str]],
    specs: list[ClusterSpec],
    regress: bool,
    state_dir: Path,
) -> TrafficGenerator:
    """Turn on each seeded ALB's access logs, then start sending traffic.

    ``EKSLIFT_SANDBOX_TRAFFIC_SPEED`` (default 1) sets the clock's speed-up.
    """
    speed = int(os.environ.get("EKSLIFT_SANDBOX_TRAFFIC_SPEED", DEFAULT_SPEED))
    clients, balancers = {}, []
    for region, alb in sorted(albs.items()):
        clients[region] = {
            name: client(name, region, endpoint) for name in ("elbv2", "cloudwatch", "s3")
        }
        elb = clients[region]["elbv2"]
        described = elb.describe_load_balancers(LoadBalancerArns=[alb["load_balancer"]])
        balancer = described["LoadBalancers"][0]
        short = balancer["LoadBalancerName"].rsplit("-", 1)[-1]
        bucket, prefix = accesslogs.enable(
            clients[region]["s3"], elb, alb["load_balancer"], region, short
        )
        balancers.append(
            Balancer(
                region=region,
                load_balancer_arn=alb["load_balancer"],
                listener_arn=alb["listener"],
                target_groups={"blue": alb["blue"], "green": alb["green"]},
                clusters={s.role: s.name for s in specs if s.region == region},
                zones=tuple(sorted(z["ZoneName"] for z in balancer["AvailabilityZones"])),
                bucket=bucket,
                prefix=prefix,
            )
        )
    ledger = state_dir / "traffic" / "ledger.jsonl"
    ledger.unlink(missing_ok=True)
    return TrafficGenerator(clients, balancers, regress=regress, ledger=ledger, speed=speed).start()


def environment(generator: TrafficGenerator) -> dict[str, str]:
    """What tests and operators may want to know about the generated traffic."""
    return {
        "EKSLIFT_SANDBOX_TRAFFIC_LEDGER": str(generator.ledger),
        "EKSLIFT_SANDBOX_TRAFFIC_SPEED": str(generator.speed),
    }

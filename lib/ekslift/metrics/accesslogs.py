"""The access-log backend: ALB access logs in S3, exact per request and per colour.

Each entry names its target group, so requests, target 5xx, connection errors (no target
reached: ``target:port`` is ``-``), requests the target never answered
(``target_processing_time`` -1: errors, never fast ones) and every answered latency are
exact per colour, and ELB-generated 5xx (``target_status_code`` ``-``) are counted for the
whole-balancer guard. Requests are placed in minutes by ``request_creation_time``.

The ALB delivers a file per node every five minutes, late, and may deliver an entry
twice: a window is usable only once closed ``settle_minutes`` (10 by default), files are
read up to that much past the window's end, and entries are deduplicated by a stable key
(trace id, creation time, client address). A line that cannot be parsed is counted and
reported in :attr:`AccessLogBackend.notes` with its file and line number, never dropped
silently.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError, ReadError
from ekslift.metrics.backend import (
    TrafficTarget,
    WeightChange,
    complete_end,
    dimension_of,
    minute_range,
    weights_per_minute,
)
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import ColourSeries, RawLatency, Window
from ekslift.metrics.settings import AccessLogSettings

log = logging.getLogger(__name__)
_FIELD = re.compile(r'"[^"]*"|\S+')
_FILE_END = re.compile(r"_(\d{8}T\d{4}Z)_[^_]+_[^_]+\.log\.gz$")
DELIVERY = timedelta(minutes=5)
FIELDS = 22  # up to request_creation_time, the last field read


class AccessLogError(ReadError):
    """The logs cannot be read for this window (no bucket configured, too many files)."""


@dataclass(frozen=True)
class Entry:
    """What the judge needs of one log entry."""

    created: datetime
    target_group_arn: str
    target_reached: bool
    target_time: float
    elb_status: int
    target_status: int | None
    key: tuple[str, str, str]


@dataclass(frozen=True)
class Malformed:
    file: str
    line: int
    reason: str


@dataclass
class LogRead:
    """Every entry of the files read, deduplicated, and what had to be set aside."""

    files: int = 0
    lines: int = 0
    duplicates: int = 0
    malformed: list[Malformed] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    def note(self, where: str) -> str:
        text = (
            f"{where}: {self.files} log files, {self.lines} lines, "
            f"{self.duplicates} duplicate entries dropped, {len(self.malformed)} malformed"
        )
        if self.malformed:
            first = self.malformed[0]
            text += f" (first: {first.file}:{first.line}: {first.reason})"
        return text


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def parse_line(text: str) -> Entry:
    """One entry in AWS's documented field order; ``ValueError`` names what is wrong."""
    fields = _FIELD.findall(text)
    if len(fields) < FIELDS:
        raise ValueError(f"{len(fields)} fields, expected at least {FIELDS}")
    target_time = float(fields[6])
    if target_time < 0 and target_time != -1:
        raise ValueError(f"target_processing_time {fields[6]} is negative but not -1")
    return Entry(
        created=_time(fields[21]),
        target_group_arn=fields[16],
        target_reached=fields[4] != "-",
        target_time=target_time,
        elb_status=int(fields[8]),
        target_status=None if fields[9] == "-" else int(fields[9]),
        key=(fields[17], fields[21], fields[3]),
    )


def read_lines(body: bytes, name: str, read: LogRead, seen: set[tuple[str, str, str]]) -> None:
    """Parse one gzip file into ``read``; a file that is not gzip is one malformed line."""
    try:
        text = gzip.decompress(body).decode("utf-8", "replace")
    except (OSError, EOFError, zlib.error) as exc:
        read.malformed.append(Malformed(name, 0, f"not a gzip file: {exc}"))
        return
    read.files += 1
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        read.lines += 1
        try:
            entry = parse_line(raw)
        except ValueError as exc:
            read.malformed.append(Malformed(name, number, str(exc)))
            continue
        if entry.key in seen:
            read.duplicates += 1
            continue
        seen.add(entry.key)
        read.entries.append(entry)


def _days(start: datetime, end: datetime) -> Iterator[datetime]:
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= end:
        yield day
        day += timedelta(days=1)


class AccessLogBackend:
    """ALB access logs; bucket and prefix from the settings or the ALB's attributes."""

    name = "access_logs"

    def __init__(
        self, settings: AccessLogSettings, judge: JudgeSettings, profile: str | None = None
    ) -> None:
        self.settings = settings
        self.judge = judge
        self.profile = profile
        self.notes: list[str] = []

    def complete_until(self, now: datetime) -> datetime:
        return complete_end(now, now, timedelta(minutes=self.settings.settle_minutes))

    def judge_settings(self, settings: JudgeSettings) -> JudgeSettings:
        """The logs carry every error kind and every latency: nothing to restrict."""
        return settings

    def location(self, target: TrafficTarget) -> tuple[str, str]:
        """(bucket, prefix): the settings', else the ALB's ``access_logs.s3.*`` attributes."""
        if self.settings.bucket:
            return self.settings.bucket, self.settings.prefix or ""
        elb = aws.client("elbv2", target.region, self.profile)
        try:
            found = elb.describe_load_balancer_attributes(LoadBalancerArn=target.load_balancer_arn)[
                "Attributes"
            ]
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(
                exc, f"DescribeLoadBalancerAttributes {target.load_balancer_arn}"
            ) from exc
        attributes = {a["Key"]: a["Value"] for a in found}
        if attributes.get("access_logs.s3.enabled", "false") != "true" or not attributes.get(
            "access_logs.s3.bucket"
        ):
            raise AccessLogError(
                f"{target.region}: access logs are not enabled on {target.load_balancer_arn}; "
                "enable them (access_logs.s3.*) or choose another metrics backend"
            )
        prefix = self.settings.prefix if self.settings.prefix is not None else ""
        return attributes["access_logs.s3.bucket"], prefix or attributes.get(
            "access_logs.s3.prefix", ""
        )

    def _keys(
        self, s3: Any, bucket: str, folder: str, lb: str, start: datetime, end: datetime
    ) -> Iterator[str]:
        dotted = lb.replace("/", ".")
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=folder):
            for item in page.get("Contents", []):
                key = item["Key"]
                match = _FILE_END.search(key)
                if f"_{dotted}_" not in key or match is None:
                    continue
                ends = datetime.strptime(match.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
                if start < ends <= end:
                    yield key

    def read(self, target: TrafficTarget, start: datetime, end: datetime) -> LogRead:
        """Every entry created in [start, end), from the files that can hold one."""
        bucket, prefix = self.location(target)
        account = target.load_balancer_arn.split(":")[4]
        lb = dimension_of(target.load_balancer_arn)
        s3 = aws.client("s3", target.region, self.profile)
        until = end + DELIVERY + timedelta(minutes=self.settings.settle_minutes)
        read, seen = LogRead(), set[tuple[str, str, str]]()
        keys: list[str] = []
        try:
            for day in _days(start, until):
                folder = f"AWSLogs/{account}/elasticloadbalancing/{target.region}/{day:%Y/%m/%d}/"
                keys += self._keys(
                    s3, bucket, f"{prefix}/{folder}" if prefix else folder, lb, start, until
                )
                if len(keys) > self.settings.max_files:
                    raise AccessLogError(
                        f"{target.region}: more than {self.settings.max_files} log files for "
                        f"{start.isoformat()} – {end.isoformat()}; shorten the window or raise "
                        "metrics.access_logs.max_files"
                    )
            for key in keys:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                read_lines(body, key, read, seen)
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"reading access logs s3://{bucket}/{prefix}") from exc
        read.entries = [e for e in read.entries if start <= e.created < end]
        return read

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
            start, complete_end(end, now, timedelta(minutes=self.settings.settle_minutes))
        )
        last = first + timedelta(minutes=minutes)
        read = self.read(target, first, last)
        note = read.note(f"{target.region} {first:%H:%M}–{last:%H:%M}")
        self.notes.append(note)
        if read.malformed:
            log.warning("%s", note)
        elb_5xx = np.zeros(minutes)
        counts: dict[str, dict[str, np.ndarray]] = {
            colour: defaultdict(lambda: np.zeros(minutes)) for colour in ("blue", "green")
        }
        samples: dict[str, list[list[float]]] = {
            colour: [[] for _ in range(minutes)] for colour in ("blue", "green")
        }
        colours = {target.blue.target_group_arn: "blue", target.green.target_group_arn: "green"}
        for entry in read.entries:
            index = int((entry.created - first).total_seconds() // 60)
            if entry.elb_status >= 500 and entry.target_status is None:
                elb_5xx[index] += 1
            colour = colours.get(entry.target_group_arn)
            if colour is None:
                continue
            found = counts[colour]
            found["requests"][index] += 1
            if not entry.target_reached:
                found["connection_errors"][index] += 1
            elif entry.target_time < 0:
                found["unanswered"][index] += 1
            elif entry.target_status is not None and entry.target_status >= 500:
                found["target_5xx"][index] += 1
            samples[colour][index].append(entry.target_time)
        series: dict[str, ColourSeries | None] = {}
        for colour in ("blue", "green"):
            found = counts[colour]
            if found["requests"].sum() == 0:
                series[colour] = None
                continue
            series[colour] = ColourSeries(
                requests=found["requests"],
                errors={
                    kind: found[kind] for kind in ("target_5xx", "connection_errors", "unanswered")
                },
                latency=RawLatency(tuple(np.asarray(m, dtype=float) for m in samples[colour])),
            )
        return Window(
            start=first,
            green_weight=weights_per_minute(weights, first, minutes),
            blue=series["blue"],
            green=series["green"],
            elb_5xx=elb_5xx,
            region=target.region,
        )

    def precheck(self, target: TrafficTarget, start: datetime, end: datetime) -> list[str]:
        """The bucket must be readable and hold blue's entries (green, at weight 0, has none)."""
        try:
            read = self.read(target, start, end)
        except ReadError as exc:
            return [str(exc)]
        blue = [e for e in read.entries if e.target_group_arn == target.blue.target_group_arn]
        return (
            []
            if blue
            else [
                f"{target.region}: no access-log entry for blue between {start.isoformat()} "
                f"and {end.isoformat()}"
            ]
        )

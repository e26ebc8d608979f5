"""What is verified before the first write and before every change of weights.

Each check returns gate findings (blockers stop the change; the shift then goes back to
100 % blue, or stops without writing when someone else changed the weights). The readiness
check and the backend probe are injected (tests give their own): by default
``cutover_readiness`` checks the forward set (``forward_set_readiness``, through
``actions.read_forward_set``, the one place that reading lives), then re-runs cutover
readiness (:func:`ekslift.readiness.check`, step 1's checks of both clusters and AWS) at the
share about to be set.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError, EksliftError
from ekslift.gate import Finding, judge
from ekslift.params import AlbTraffic, Color, RegionParams, UpgradeParams
from ekslift.readiness.check import check as readiness_check
from ekslift.traffic import STEP
from ekslift.traffic.actions import ForwardAction, ForwardSet, alb_of
from ekslift.traffic.lease import SELFTEST, LeaseTable, iso
from ekslift.traffic.watch import GUARD_HEARTBEAT, heartbeat_fresh

log = logging.getLogger(__name__)
# Providers whose credentials botocore renews by itself before they expire.
REFRESHING = frozenset(
    {
        "assume-role",
        "assume-role-with-web-identity",
        "container-role",
        "iam-role",
        "sso",
        "custom-process",
    }
)

ForwardSetReader = Callable[[RegionParams], ForwardSet]


class ReadinessCheck(Protocol):
    """Cutover readiness for green taking ``next_share`` percent of the region's traffic."""

    def __call__(self, region: RegionParams, next_share: int) -> list[Finding]: ...


class BackendProbe(Protocol):
    """None when the judge's backend answers for the colour, else what is wrong."""

    def __call__(self, region: RegionParams, colour: Color) -> str | None: ...


def finding(region: str, check: str, title: str, action: str, detail: str = "") -> Finding:
    return Finding(
        id=f"traffic/{region}/check/{check}",
        severity="blocker",
        title=title,
        detail=detail,
        region=region,
        action=action,
    )


def forward_set_readiness(read: ForwardSetReader) -> ReadinessCheck:
    """The stand-in for cutover readiness: the set reads, names green everywhere it names
    blue (or can be given it), and every action is at one share."""

    def check(region: RegionParams, next_share: int) -> list[Finding]:
        alb = alb_of(region)
        try:
            found = read(region)
        except EksliftError as exc:
            return [
                finding(
                    region.name,
                    "forward-set",
                    "the forward actions naming blue's target group cannot be read",
                    "fix access to ELBv2 (DescribeListeners, DescribeRules) and retry",
                    str(exc),
                )
            ]
        if found.share(alb) is None:
            return [
                finding(
                    region.name,
                    "forward-set",
                    "the forward actions naming blue are at different shares",
                    "roll the region back (`ekslift shift rollback`) before shifting",
                    str(found.shares(alb)),
                )
            ]
        return []

    return check


def cutover_readiness(params: UpgradeParams, read: ForwardSetReader) -> ReadinessCheck:
    """The forward set's own check, then cutover readiness at the next share, judged with
    the parameters' waivers: a blocker someone accepted at step 1 (named, with a reason) does
    not stop the change; any other does, and so does a check that could not read, since a
    readiness nobody could verify is no readiness. ``shift.readiness: forward-set-only``
    skips the cluster checks (the gate of step 4 then warns that it did).

    Capacity keeps blue's throughput per replica as the check before the region's first
    change measured it, while blue carried everything, and later checks size from the larger
    of it and blue's now: blue's replicas, held at their floor, serve less as green takes
    traffic, and sizing from them alone would ask green for up to twice what it needs. A
    process that resumes mid-shift has no such measurement and sizes from blue as it is
    (the larger need, the safe side)."""
    forward = forward_set_readiness(read)
    sized: dict[str, dict[str, float]] = {}  # region → what its check at 0 % sized from

    def check(region: RegionParams, next_share: int) -> list[Finding]:
        found = forward(region, next_share)
        if found or params.shift.readiness == "forward-set-only":
            return found
        earlier = sized.get(region.name)
        report = readiness_check(params, region.name, next_share, sized_from=earlier)
        if report.current_share == 0:
            sized[region.name] = report.per_replica
        judged = judge(STEP, report.findings, params)
        waived = {w.finding_id for w in judged.waivers}
        blockers = [f for f in judged.findings if f.severity == "blocker" and f.id not in waived]
        if report.incomplete:
            blockers.append(
                finding(
                    region.name,
                    "readiness-unread",
                    f"cutover readiness at {next_share} % could not read everything",
                    "fix access to what it names (`ekslift readiness --params FILE --share "
                    f"{next_share} --region {region.name}`), then resume",
                    "; ".join(report.incomplete),
                )
            )
        return blockers

    return check


def credentials_problem(profile: str | None, needed: timedelta, now: datetime) -> str | None:
    """None when the session's credentials outlive ``needed`` from ``now`` (or renew
    themselves); a shift must never be left at 25 % by a token that ran out mid-soak."""
    credentials = aws.session(profile).get_credentials()
    if credentials is None:
        return "no AWS credentials found"
    method = getattr(credentials, "method", "")
    expiry: datetime | None = getattr(credentials, "_expiry_time", None)
    if method in REFRESHING:
        return None
    if expiry is not None:
        left = expiry.astimezone(UTC) - now
        if left < needed:
            return (
                f"the credentials ({method}) expire at {expiry.astimezone(UTC):%Y-%m-%d %H:%M:%S} "
                f"UTC, in {left.total_seconds():.0f} s; {needed.total_seconds():.0f} s are needed"
            )
        return None
    if credentials.token:
        return (
            f"temporary credentials ({method}) with no known expiry: run under a role that "
            "renews itself (assume-role profile, IRSA or Pod Identity) or export "
            "AWS_CREDENTIAL_EXPIRATION"
        )
    return None


def clock_skew(region: str, profile: str | None, now: datetime) -> float:
    """Seconds the local clock is ahead of AWS's (the Date header of an STS answer)."""
    try:
        answer = aws.client("sts", region, profile).get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, "GetCallerIdentity") from exc
    header = answer["ResponseMetadata"]["HTTPHeaders"].get("date")
    if not header:
        return 0.0
    return (now - email.utils.parsedate_to_datetime(header)).total_seconds()


def caller_arn(region: str, profile: str | None) -> str:
    try:
        return str(aws.client("sts", region, profile).get_caller_identity()["Arn"])
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, "GetCallerIdentity") from exc


def normalised(snapshot: list[dict[str, Any]], alb: AlbTraffic, share: int) -> list[dict[str, Any]]:
    """A recorded set as it looks at ``share``: what a write of that share would make it."""
    return [
        {
            "arn": item["arn"],
            "kind": item["kind"],
            "actions": ForwardAction(
                item["arn"], item["kind"], item.get("listener_arn", ""), tuple(item["actions"])
            ).reweighted(alb, share),
        }
        for item in snapshot
    ]


def same_set(
    current: ForwardSet, snapshot: list[dict[str, Any]], alb: AlbTraffic, share: int
) -> bool:
    """The whole set (every action, every field) equals the recorded one at ``share``."""
    mine = normalised(current.snapshot(), alb, share)
    return mine == normalised(snapshot, alb, share) and all(
        a.share(alb) == share for a in current.actions
    )


def route53_unhealthy(check_ids: list[str], profile: str | None) -> list[str]:
    """Health checks above the regions that are failing now; any flips pause every region."""
    if not check_ids:
        return []
    route53 = aws.client("route53", "us-east-1", profile)
    failing = []
    for check_id in check_ids:
        try:
            observations = route53.get_health_check_status(HealthCheckId=check_id)[
                "HealthCheckObservations"
            ]
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"GetHealthCheckStatus {check_id}") from exc
        bad = [
            o
            for o in observations
            if not o.get("StatusReport", {}).get("Status", "").startswith("Success")
        ]
        if observations and len(bad) * 2 > len(observations):
            failing.append(check_id)
    return failing


def guard_problems(params: UpgradeParams, region: RegionParams, now: datetime) -> list[str]:
    """Why the guard cannot be trusted to watch ``region`` now: no ``shift.guard``, its
    heartbeat stale, or its last self-test (identity, reading the forward set, writing the
    lease table) missing, failed or old. A shift starts only with none."""
    guard = params.shift.guard
    if guard is None:
        return [
            "shift.guard is not set: a shift writes only under a lease, with alarms and a "
            "guard that roll back an unwatched region (README: the guard)"
        ]
    name, profile, stale = region.name, params.aws.profile, guard.stale_seconds
    problems = []
    if not heartbeat_fresh(name, params.name, GUARD_HEARTBEAT, guard, stale, now, profile):
        problems.append(
            f"{name}: the guard's heartbeat ({guard.namespace}/{GUARD_HEARTBEAT}) has no "
            f"datapoint in the last {stale} s; check the guard CronJob (`kubectl get "
            "cronjob ekslift-guard`) or run `ekslift shift guard --params FILE` once"
        )
    result, server_now = LeaseTable(name, guard.table, profile).get_record(SELFTEST)
    if result is None:
        problems.append(f"{name}: the guard never recorded a self-test in {guard.table}")
    elif not result.get("passed"):
        problems.append(f"{name}: the guard's self-test failed: {'; '.join(result['problems'])}")
    elif server_now - float(result["time"]) > stale:
        problems.append(
            f"{name}: the guard's last self-test is from {iso(float(result['time']))} UTC, "
            f"older than {stale} s"
        )
    return problems


def alarms_firing(region: str, names: list[str], profile: str | None) -> list[str]:
    """The named CloudWatch alarms that are in ALARM now (watched every poll of a soak)."""
    if not names:
        return []
    try:
        found = aws.client("cloudwatch", region, profile).describe_alarms(
            AlarmNames=names, StateValue="ALARM"
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"DescribeAlarms in {region}") from exc
    return sorted(a["AlarmName"] for a in found.get("MetricAlarms", []))


@dataclass(frozen=True)
class Clock:
    """Wall time for records and AWS comparisons; ``offset`` lets a test put it off."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

"""One pass of the guard, and the rollback it shares with the rollback function.

The guard trusts nothing the shift process says about itself: it reads the lease item
(expiry in AWS's time), the shift's heartbeat metric and green's alarms, and rolls the
region back when any says nobody is watching or green is failing. Otherwise it does
nothing. Each pass first proves it could act (its identity, reading the forward set, a
conditional write to the lease table) and records that self-test, then beats: a shift
starts only when both are fresh (``traffic.checks.guard_problems``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ekslift.errors import EksliftError, InputError
from ekslift.params import GuardSettings, RegionParams, UpgradeParams
from ekslift.traffic.actions import alb_of, read_forward_set
from ekslift.traffic.checks import caller_arn
from ekslift.traffic.lease import SELFTEST, LeaseItem, LeaseTable, TableLog
from ekslift.traffic.plan import region_order
from ekslift.traffic.shift import RegionOutcome, default_services, rollback
from ekslift.traffic.watch import (
    GUARD_HEARTBEAT,
    SHIFT_HEARTBEAT,
    ensure_guard_alarm,
    heartbeat_fresh,
    publish_heartbeat,
    region_alarms,
    remove_alarms,
)

log = logging.getLogger(__name__)
TAKE_OVER_ATTEMPTS = 3


def guard_of(params: UpgradeParams) -> GuardSettings:
    if params.shift.guard is None:
        raise InputError("shift.guard is not set in the parameters: there is nothing to guard")
    return params.shift.guard


def _table(params: UpgradeParams, region: RegionParams) -> LeaseTable:
    return LeaseTable(region.name, guard_of(params).table, params.aws.profile)


@dataclass(frozen=True)
class LeaseRead:
    """The region's lease as the rollback function found it: the item (None when there is
    none), or why the lease table could not be read (then ``item`` says nothing)."""

    item: LeaseItem | None
    failure: str = ""


def read_lease(params: UpgradeParams, region: RegionParams) -> LeaseRead:
    try:
        item, _now = _table(params, region).read()
    except EksliftError as exc:
        return LeaseRead(None, str(exc))
    return LeaseRead(item)


def leftover_alarm(region: RegionParams, found: LeaseRead) -> str | None:
    """Why an alarm of the region is not a shift's to act on (the shift that made it ended
    or was rolled back: its lease is released or taken), or None.

    A shift removes its alarms before it releases the lease, so a composite that fires
    with the lease released is one whose removal failed; the guard's next pass removes it.
    A lease that is held, live or expired, is a shift's: that alarm rolls back. So does one
    with no lease item at all: alarms exist only once a shift has taken the lease, so a
    missing item is not evidence that nobody is shifting, and blue is the safe side; nor is
    a lease table that cannot be read."""
    lease = found.item
    if not found.failure and lease is not None and lease.status != "held":
        return (
            f"no shift holds {region.name} (the lease was {lease.describe()}, {lease.status}):"
            " a leftover alarm, which the guard's next pass removes"
        )
    return None


def roll_back(
    params: UpgradeParams,
    region: RegionParams,
    reason: str,
    who: str,
    judged: LeaseItem | None = None,
    table_failure: str = "",
) -> RegionOutcome | None:
    """Fence the region's lease, then 100 % blue on its whole forward set, each action read
    back, recorded in the lease table. The fence first: a shifter that is only slow fails
    its next lease check instead of writing forward after the rollback.

    A rollback needs no lease: for an alarm it goes ahead whatever the fence does. A guard
    that judged a lease (``judged``: expired, or its heartbeat stale) stands down instead
    (None) when that lease changed meanwhile: a new shift that took it over is watched.
    Nor does it need the lease table: one that cannot be read or written (down, throttled
    past the retries, the item's permissions gone) leaves the region unfenced and the
    rollback recorded in this process's log, and the outcome says so. A caller whose read
    of the table just failed passes why (``table_failure``), so that the rollback does not
    spend the function's deadline retrying the table before it touches a listener."""
    table = _table(params, region)
    unavailable = table_failure
    if not unavailable:
        try:
            if not _fence(table, who, reason, judged):
                return None
        except EksliftError as exc:
            unavailable = str(exc)
    if unavailable:
        log.warning(
            "%s: rolling back unfenced, the lease table failed: %s", region.name, unavailable
        )
    record = TableLog(table, unavailable)
    outcome = rollback(params, region, reason, record, default_services(params), who)
    if record.unavailable:
        where = f"recorded only in this log, {table.table} failed: {record.unavailable}"
        outcome = replace(outcome, reason=f"{outcome.reason}; {where}")
    log.warning("%s: %s by %s: %s", region.name, outcome.status, who, outcome.reason)
    return outcome


def _fence(table: LeaseTable, who: str, reason: str, judged: LeaseItem | None) -> bool:
    """Take the lease over (a new generation) unless nobody holds it; False when the guard
    must stand down instead: the lease it judged has changed meanwhile."""
    for _ in range(TAKE_OVER_ATTEMPTS):
        seen, _now = table.read()
        if judged is not None and (seen is None or seen.generation != judged.generation):
            return False
        if seen is None or seen.status != "held" or table.take_over(seen, who, reason):
            break
    return True


@dataclass
class RegionReport:
    region: str
    action: str  # "none" | "rolled-back" | "rollback-failed" | "alarms-removed" | "guard-failed"
    reason: str = ""
    selftest: list[str] = field(default_factory=list)  # the self-test's problems


def self_test(params: UpgradeParams, region: RegionParams) -> list[str]:
    """Can this guard roll the region back? Who it is (STS), the forward set read, and a
    conditional write of the result to the lease table (which the lease needs too)."""
    profile = params.aws.profile
    problems = []
    identity = ""
    try:
        identity = caller_arn(region.name, profile)
    except EksliftError as exc:
        problems.append(f"identity: {exc}")
    try:
        read_forward_set(region.name, alb_of(region), profile)
    except EksliftError as exc:
        problems.append(f"reading the forward set: {exc}")
    table = _table(params, region)
    try:
        previous, now = table.get_record(SELFTEST)
        result = {"passed": not problems, "identity": identity, "problems": problems, "time": now}
        if not table.swap_record(SELFTEST, result, previous):
            problems.append(f"a conditional write to {table.table} failed: another guard raced it")
    except EksliftError as exc:
        problems.append(f"the lease table: {exc}")
    return problems


def _why(
    params: UpgradeParams, region: RegionParams, now: datetime
) -> tuple[str, LeaseItem | None] | None:
    """Why the region needs a rollback now (and the lease judged, when the reason is the
    lease's), or None when its shift is watched and well."""
    guard = guard_of(params)
    profile = params.aws.profile
    lease, server_now = _table(params, region).read()
    if lease is None or lease.status != "held":
        return None
    if lease.expires_at <= server_now:
        return f"the lease of {lease.describe()} expired: nobody renews it", lease
    firing = sorted(
        name
        for name, alarm in region_alarms(params, region.name).items()
        if alarm["StateValue"] == "ALARM"
    )
    if firing:
        return f"alarms in ALARM: {', '.join(firing)}", None
    upgrade = params.name
    seconds = guard.lease_seconds
    if not heartbeat_fresh(
        region.name, upgrade, SHIFT_HEARTBEAT, guard, seconds, now, profile, run=lease.run_id
    ):
        return f"the shift heartbeat of {lease.describe()} is stale", lease
    return None


def guard_pass(params: UpgradeParams, who: str, only: str | None = None) -> list[RegionReport]:
    """Self-test, reconcile and beat, region by region. A region the guard cannot judge
    (its lease table, alarms or metrics failing past the retries) is reported as
    ``guard-failed`` and gets no heartbeat, so its guard alarm pages and no new shift
    starts there; the other regions are still watched."""
    reports = []
    for region in region_order(params):
        if only not in (None, region.name):
            continue
        report = RegionReport(region.name, "none", selftest=self_test(params, region))
        try:
            _reconcile(params, region, who, report)
        except EksliftError as exc:
            report.action, report.reason = "guard-failed", str(exc)
            log.error("%s: the guard could not judge the region: %s", region.name, exc)
        reports.append(report)
    return reports


def _reconcile(params: UpgradeParams, region: RegionParams, who: str, report: RegionReport) -> None:
    guard = guard_of(params)
    why = _why(params, region, datetime.now(UTC))
    if why is not None:
        outcome = roll_back(params, region, f"guard: {why[0]}", who, judged=why[1])
        if outcome is not None:
            report.action, report.reason = outcome.status, outcome.reason
    lease, _now = _table(params, region).read()
    if (lease is None or lease.status != "held") and region_alarms(params, region.name):
        remove_alarms(params, region.name)
        if report.action == "none":
            report.action, report.reason = "alarms-removed", "no shift holds the region"
    if not report.selftest:
        publish_heartbeat(region.name, params.name, GUARD_HEARTBEAT, guard, params.aws.profile)
    ensure_guard_alarm(params, region.name)

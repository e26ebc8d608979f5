"""The lease on a region's forward set: one shifter at a time, with a deadline a guard enforces.

One DynamoDB item per region (``pk = region#<name>``, ``sk = lease``) in the table
``shift.guard.table`` of that region holds the run id, the holder, a generation and an
expiry in AWS's time (the Date header of DynamoDB's own answers, so no local clock is
trusted). Every change is a conditional write on the generation read just before it
(compare-and-swap): two shifters cannot both win, and a guard that takes an expired lease
over bumps the generation, so a shifter waking from a suspension finds its lease gone.

The holder also keeps a deadline on the monotonic clock, started *before* the write that
set the expiry: a process that wakes past it (minus a margin) has no proof that nobody
acted on the expiry, so it never writes forward again, whatever DynamoDB says.

The same table keeps what the guard and the rollback function did (``TableLog``: events
under the region's key) and the guard's self-test result (``sk = guard``), since neither
can reach the run's state file.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError, EksliftError, InputError
from ekslift.params import UpgradeParams
from ekslift.traffic.state import Kind, Record

log = logging.getLogger(__name__)
LEASE = "lease"
SELFTEST = "guard"
EVENT = "event#"


class LeaseHeld(InputError):
    """Another shift holds the region's lease: this one is refused, nothing was written."""


class LeaseLost(EksliftError):
    """This shift's lease expired or was taken over: it writes nothing forward again."""


def _key(region: str, sort: str) -> dict[str, Any]:
    return {"pk": {"S": f"region#{region}"}, "sk": {"S": sort}}


def server_time(answer: dict[str, Any]) -> float:
    """AWS's time (epoch seconds) from an answer's Date header; local time without one."""
    header = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not header:
        return time.time()
    return email.utils.parsedate_to_datetime(header).timestamp()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LeaseItem:
    """The lease item as stored; ``status`` is held, released or taken (by a guard)."""

    region: str
    run_id: str
    holder: str
    generation: int
    expires_at: float
    status: str
    reason: str = ""

    def live(self, now: float) -> bool:
        return self.status == "held" and self.expires_at > now

    def describe(self) -> str:
        return f"{self.holder} (run {self.run_id}, until {iso(self.expires_at)} UTC)"

    def summary(self, now: float) -> str:
        """What an operator attaching to a shift needs to know of the lease: who writes,
        for how long yet, or why nobody does (an expired lease is the guard's to act on)."""
        if self.status == "held" and self.live(now):
            return f"held by {self.describe()}, {self.expires_at - now:.0f} s left"
        if self.status == "held":
            return (
                f"expired {now - self.expires_at:.0f} s ago, held by {self.describe()}: "
                "nobody renews it, the guard rolls the region back"
            )
        return f"{self.status} by {self.holder} (run {self.run_id})" + (
            f": {self.reason}" if self.reason else ""
        )


class LeaseTable:
    """The lease table of one region."""

    def __init__(self, region: str, table: str, profile: str | None = None) -> None:
        self.region = region
        self.table = table
        self.client = aws.client("dynamodb", region, profile)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self.client, operation)(TableName=self.table, **kwargs))
        except (ClientError, BotoCoreError) as exc:
            what = f"DynamoDB {operation} on {self.table} in {self.region}"
            raise AwsError.wrap(exc, what) from exc

    def read(self) -> tuple[LeaseItem | None, float]:
        """The lease item (None when the region was never leased) and AWS's time now."""
        answer = self._call("get_item", Key=_key(self.region, LEASE), ConsistentRead=True)
        raw = answer.get("Item")
        item = None
        if raw is not None:
            item = LeaseItem(
                region=self.region,
                run_id=raw["run_id"]["S"],
                holder=raw["holder"]["S"],
                generation=int(raw["generation"]["N"]),
                expires_at=float(raw["expires_at"]["N"]),
                status=raw["status"]["S"],
                reason=raw.get("reason", {}).get("S", ""),
            )
        return item, server_time(answer)

    def swap(self, seen: LeaseItem | None, new: LeaseItem) -> float | None:
        """Write ``new`` if the item is still ``seen`` (its generation); AWS's time when
        written, None when someone else wrote first."""
        condition = "attribute_not_exists(pk)" if seen is None else "generation = :seen"
        values = {} if seen is None else {":seen": {"N": str(seen.generation)}}
        item = {
            **_key(self.region, LEASE),
            "run_id": {"S": new.run_id},
            "holder": {"S": new.holder},
            "generation": {"N": str(new.generation)},
            "expires_at": {"N": f"{new.expires_at:.3f}"},
            "expires_at_utc": {"S": iso(new.expires_at)},
            "status": {"S": new.status},
            "reason": {"S": new.reason},
        }
        answer = self._conditional_put(item, condition, values)
        return None if answer is None else server_time(answer)

    def _conditional_put(
        self, item: dict[str, Any], condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """PutItem under ``condition``; None when the condition failed (someone came first)."""
        try:
            return dict(
                self.client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise AwsError.wrap(exc, f"DynamoDB PutItem on {self.table} in {self.region}") from exc
        except BotoCoreError as exc:
            raise AwsError.wrap(exc, f"DynamoDB PutItem on {self.table} in {self.region}") from exc

    def take_over(self, seen: LeaseItem, who: str, reason: str) -> bool:
        """Fence the lease (a guard or the rollback function): a new generation held by
        nobody, so the shifter that held ``seen`` fails its next check and writes nothing."""
        fenced = LeaseItem(self.region, seen.run_id, who, seen.generation + 1, 0.0, "taken", reason)
        return self.swap(seen, fenced) is not None

    def put_record(self, sort: str, data: dict[str, Any]) -> None:
        item = {**_key(self.region, sort), "data": {"S": json.dumps(data, default=str)}}
        self._call("put_item", Item=item)

    def get_record(self, sort: str) -> tuple[dict[str, Any] | None, float]:
        answer = self._call("get_item", Key=_key(self.region, sort), ConsistentRead=True)
        raw = answer.get("Item")
        return (json.loads(raw["data"]["S"]) if raw else None), server_time(answer)

    def swap_record(self, sort: str, data: dict[str, Any], seen: dict[str, Any] | None) -> bool:
        """Write ``data`` if the record is still ``seen`` (its ``generation``); False when
        another writer came first. The guard's self-test proves conditional writes with it."""
        generation = int(seen.get("generation", 0)) if seen else 0
        item = {
            **_key(self.region, sort),
            "generation": {"N": str(generation + 1)},
            "data": {"S": json.dumps({**data, "generation": generation + 1}, default=str)},
        }
        condition = "attribute_not_exists(pk) OR generation = :seen"
        return self._conditional_put(item, condition, {":seen": {"N": str(generation)}}) is not None

    def events(self) -> list[dict[str, Any]]:
        """What guards and rollback functions recorded for the region, oldest first."""
        answer = self._call(
            "query",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :event)",
            ExpressionAttributeValues={
                ":pk": {"S": f"region#{self.region}"},
                ":event": {"S": EVENT},
            },
            ConsistentRead=True,
        )
        return [json.loads(item["data"]["S"]) for item in answer.get("Items", [])]


class TableLog:
    """A state sink in the lease table, for those that cannot reach the run's state file
    (the guard, the rollback function): :func:`ekslift.traffic.shift.rollback` writes to it
    as it writes to the state file.

    Best effort, unlike the state file: a rollback's record must never stop or delay the
    rollback (its first record is written before any listener is touched). Once the table
    has refused a write (``unavailable`` says why; a caller that could not read it passes
    that), the rest go to this process's log only, the function's or the CronJob's, since
    retrying each against a table that is down would hold users on green for the backoff."""

    def __init__(self, table: LeaseTable, unavailable: str = "") -> None:
        self.table = table
        self.unavailable = unavailable

    def append(self, kind: Kind, region: str, **data: Any) -> Record:
        record = Record(datetime.now(UTC), kind, region, data)
        if not self.unavailable:
            sort = f"{EVENT}{record.time.isoformat()}#{uuid.uuid4().hex[:8]}"
            try:
                self.table.put_record(sort, {"time": record.time.isoformat(), "kind": kind, **data})
            except EksliftError as exc:
                self.unavailable = str(exc)
        if self.unavailable:
            log.warning(
                "%s: %s %s not recorded in the lease table (%s)",
                region,
                kind,
                json.dumps(data, default=str),
                self.unavailable,
            )
        return record


class Lease:
    """A held lease: renewed at every poll, verified before and after every forward write."""

    def __init__(self, table: LeaseTable, item: LeaseItem, seconds: int, margin: float) -> None:
        self.table = table
        self.item = item
        self.seconds = seconds
        self.margin = margin
        self.deadline = 0.0  # monotonic

    @classmethod
    def acquire(
        cls, table: LeaseTable, run_id: str, holder: str, seconds: int, margin: float
    ) -> Lease:
        """Take the region's lease, or raise :class:`LeaseHeld` naming who holds it."""
        began = time.monotonic()
        seen, now = table.read()
        if seen is not None and seen.live(now):
            raise LeaseHeld(
                f"{table.region}: the forward set is leased by {seen.describe()}; wait for "
                "that shift to end (`ekslift shift status`), or roll the region back"
            )
        item = LeaseItem(
            table.region,
            run_id,
            holder,
            (seen.generation if seen else 0) + 1,
            now + seconds,
            "held",
        )
        written = table.swap(seen, item)
        if written is None:
            other, _ = table.read()
            held_by = other.describe() if other else "another shift"
            raise LeaseHeld(
                f"{table.region}: {held_by} took the lease at the same moment; nothing was written"
            )
        lease = cls(table, item, seconds, margin)
        lease.deadline = began + seconds
        log.info("%s: lease generation %d taken by %s", table.region, item.generation, holder)
        return lease

    def _awake_in_time(self) -> None:
        late = time.monotonic() - (self.deadline - self.margin)
        if late > 0:
            raise LeaseLost(
                f"{self.table.region}: this process woke {late:.1f} s past its lease's end "
                f"minus the {self.margin:g} s margin (suspended or starved); a guard may have "
                "rolled the region back, so it writes nothing forward again"
            )

    def _current(self) -> float:
        found, now = self.table.read()
        if found is None or found.generation != self.item.generation or found.status != "held":
            by = f"{found.holder}: {found.reason}" if found else "the item is gone"
            raise LeaseLost(
                f"{self.table.region}: the lease (generation {self.item.generation}) was taken "
                f"over ({by}); this shift writes nothing forward again"
            )
        if found.expires_at <= now:
            raise LeaseLost(
                f"{self.table.region}: the lease expired at {iso(found.expires_at)} UTC; this "
                "shift writes nothing forward again"
            )
        return now

    def verify(self) -> None:
        """Before and after every forward write: still ours, and not past its deadline."""
        self._awake_in_time()
        self._current()

    def renew(self) -> None:
        """Extend the lease by its time to live from AWS's time now, if it is still ours."""
        self._awake_in_time()
        began = time.monotonic()
        now = self._current()
        renewed = LeaseItem(
            self.item.region,
            self.item.run_id,
            self.item.holder,
            self.item.generation,
            now + self.seconds,
            "held",
        )
        if self.table.swap(self.item, renewed) is None:
            raise LeaseLost(
                f"{self.table.region}: the lease was taken over while being renewed; this "
                "shift writes nothing forward again"
            )
        self.item = renewed
        self.deadline = began + self.seconds

    def release(self, reason: str) -> None:
        """Give the lease back at the end of the region (a lost lease is left alone)."""
        released = LeaseItem(
            self.item.region,
            self.item.run_id,
            self.item.holder,
            self.item.generation + 1,
            0.0,
            "released",
            reason,
        )
        if self.table.swap(self.item, released) is None:
            log.warning("%s: the lease was no longer ours to release", self.table.region)


def lease_of(params: UpgradeParams, region: str) -> str:
    """The region's lease as DynamoDB holds it now (the state file cannot say whether the
    process that wrote it still holds the region)."""
    guard = params.shift.guard
    if guard is None:
        return "no guard configured (no lease)"
    lease, now = LeaseTable(region, guard.table, params.aws.profile).read()
    return "never leased" if lease is None else lease.summary(now)

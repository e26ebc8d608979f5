"""The shift's state file: JSON lines in the run's artefacts, appended and fsynced.

It is the shift's memory across processes (a resume, a guard, notebook 04 attaching), so
every record is on disk before the act it announces: an ``intent`` before each write, so a
process killed between the write and its read-back leaves a record that says "re-read
this"; a ``transition`` for every change of weights, with who, why and the verdict. It is
never the source of the weights themselves: AWS is (see ``shift.resume_point``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ekslift.errors import InputError

STATE_FILE = "state.jsonl"
SCHEMA_VERSION = 1
Kind = Literal[
    "plan",  # the plan the process follows, once per start
    "intent",  # about to write `share` to every action of the set
    "applied",  # the set was written and read back at `share`
    "transition",  # weights changed: from, to, reason, verdict, who
    "verdict",  # the judge's verdict of a step, with its numbers
    "progress",  # a soak's heartbeat: elapsed, left, breaches so far
    "check",  # a pre-change check that failed
    "smoke",  # the smoke stage's result
    "hold",  # holding for a release, or released
    "region",  # a region's end: shifted, rolled-back, stopped
    "notify",  # a notification that could not be delivered
    "lease",  # the region's lease: taken, lost, released, taken over by a guard
]
RegionStatus = Literal["shifted", "rolled-back", "stopped", "rollback-failed"]


@dataclass(frozen=True)
class Record:
    time: datetime
    kind: Kind
    region: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "time": self.time.isoformat(),
                "kind": self.kind,
                "region": self.region,
                **self.data,
            },
            sort_keys=True,
            default=str,
        )

    @staticmethod
    def from_json(line: str) -> Record:
        raw = json.loads(line)
        return Record(
            time=datetime.fromisoformat(raw.pop("time")),
            kind=raw.pop("kind"),
            region=raw.pop("region"),
            data={k: v for k, v in raw.items() if k != "schema_version"},
        )


class StateSink(Protocol):
    """Where a rollback records what it did: the state file, or (for the guard and the
    rollback function, which cannot reach it) the lease table's ``TableLog``."""

    def append(self, kind: Kind, region: str, **data: Any) -> Record: ...


class StateLog:
    """Append-only, one line per record; a torn last line (a kill mid-append) is skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, kind: Kind, region: str, **data: Any) -> Record:
        record = Record(datetime.now(UTC), kind, region, data)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(record.to_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return record

    def records(self, region: str | None = None) -> list[Record]:
        return [r for r in self._read() if region is None or r.region == region]

    def _read(self) -> Iterator[Record]:
        if not self.path.exists():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield Record.from_json(line)
            except (ValueError, KeyError) as exc:
                if number == len(lines):
                    return  # the append a kill interrupted
                raise InputError(f"{self.path}:{number}: not a state record: {exc}") from exc


@dataclass(frozen=True)
class RegionView:
    """What the state file says about one region, for resume, status and the gate."""

    region: str
    status: RegionStatus | None
    applied_share: int | None
    pending_intent: int | None
    snapshot: list[dict[str, Any]] | None
    passed: tuple[int, ...]
    started: bool
    reason: str


def region_view(records: list[Record], region: str) -> RegionView:
    """Fold a region's records: the last applied share, an intent without its result, the
    shares whose verdict passed since they were last applied, and how the region ended."""
    applied: int | None = None
    intent: int | None = None
    snapshot: list[dict[str, Any]] | None = None
    passed: list[int] = []
    status: RegionStatus | None = None
    reason = ""
    started = False
    for record in records:
        if record.region != region:
            continue
        data = record.data
        if record.kind == "intent":
            intent, started = int(data["share"]), True
        elif record.kind == "plan":
            snapshot = data.get("snapshot", snapshot)
            applied, intent = data.get("share", applied), None
        elif record.kind == "applied":
            applied, intent = int(data["share"]), None
            snapshot = data.get("snapshot", snapshot)
            passed = [s for s in passed if s < applied]
        elif record.kind == "verdict" and data.get("verdict") == "pass":
            passed.append(int(data["share"]))
        elif record.kind == "region":
            status, reason = data["status"], data.get("reason", "")
    return RegionView(
        region, status, applied, intent, snapshot, tuple(sorted(set(passed))), started, reason
    )

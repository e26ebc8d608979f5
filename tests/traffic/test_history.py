"""Step 4's weight history is what step 5 reads: every region's weights from the shift's
first record on, then each share read back after a write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ekslift.metrics.backend import weights_per_minute
from ekslift.metrics.weights import read_history
from ekslift.traffic.present import write_history
from ekslift.traffic.state import Record

T0 = datetime(2026, 11, 28, 9, 0, 30, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_later_region_keeps_its_found_weights_from_the_shift_start(tmp_path: Path) -> None:
    records = [
        Record(at(0), "check", "ap-northeast-1", {}),
        Record(at(1), "applied", "ap-northeast-1", {"share": 50}),
        Record(at(1), "transition", "ap-northeast-1", {"from": 0, "to": 50}),
        Record(at(5), "applied", "us-east-1", {"share": 50}),
        Record(at(5), "transition", "us-east-1", {"from": 10, "to": 50}),
        Record(at(7), "applied", "us-east-1", {"share": 0}),
        Record(at(7), "transition", "us-east-1", {"from": 50, "to": 0}),
    ]
    write_history(tmp_path, records)
    history = read_history(tmp_path / "weights.csv")
    assert [(c.at, c.green) for c in history["us-east-1"]] == [
        (at(0), 0.1),
        (at(5), 0.5),
        (at(7), 0.0),
    ]
    assert [c.green for c in history["ap-northeast-1"]] == [0.0, 0.5]
    # Step 5 can read every region from the shift's first minute.
    start = T0.replace(second=0)
    shares = weights_per_minute(history["us-east-1"], start, 8)
    assert list(shares) == [0.1] * 5 + [0.5] * 2 + [0.0]
    assert (tmp_path / "weights.json").exists()

"""The guard against the sandbox: a shift process killed, suspended or facing an alarm, and
the region ends on 100 % blue by the guard or the rollback function alone, with the lease
table saying why. The shift runs as its own process (`ekslift shift apply`), as in
production; the guard's passes are driven by the test instead of a CronJob's schedule."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ekslift import aws
from ekslift.guard.handler import handler
from ekslift.guard.reconcile import guard_pass
from ekslift.traffic.apply import apply_shift
from ekslift.traffic.checks import guard_problems
from ekslift.traffic.lease import LEASE, LeaseHeld, LeaseTable, _key, lease_of
from ekslift.traffic.watch import alarm_prefix, composite_name, region_alarms
from ekslift.useragent import STEP_ENV
from ekslift_sandbox import seed
from ekslift_sandbox.awsserver import Fault
from tests.core.demo import sandbox_requests
from tests.core.iam import outside_policy
from tests.sandbox.conftest import aws_sandbox  # noqa: F401 (a fixture)
from tests.traffic.conftest import REGION, REPLAY, REPLAY_GUARD, Estate, seed_estate

pytestmark = pytest.mark.sandbox


def _wait_for(predicate: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _table(estate: Estate) -> LeaseTable:
    guard = estate.params.shift.guard
    assert guard is not None
    return LeaseTable(REGION, guard.table)


def _lease_expired(estate: Estate) -> bool:
    lease, now = _table(estate).read()
    return lease is not None and not lease.live(now)


@pytest.fixture
def soaking(
    aws_sandbox: Any,  # noqa: F811
    tmp_path: Path,
) -> Iterator[tuple[Estate, subprocess.Popen[bytes]]]:
    """`ekslift shift apply` as its own process, soaking at 5 % (a soak long enough that
    only the test ends it); killed at the end whatever the test did to it."""
    estate = seed_estate(
        aws_sandbox.url, tmp_path, shift=REPLAY, guard=REPLAY_GUARD, soak_seconds=600
    )
    command = [sys.executable, "-m", "ekslift.cli", "shift", "apply"]
    command += ["--params", str(estate.params_path), "--run-dir", str(estate.run_dir)]
    env = {**os.environ, "PYTHONPATH": str(Path("lib").resolve())}
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def soaking_5() -> bool:
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        return any(r.kind == "progress" and r.data["share"] == 5 for r in estate.state().records())

    _wait_for(soaking_5)
    yield estate, child
    if child.poll() is None:
        child.send_signal(signal.SIGCONT)
        child.kill()
    child.wait()


@contextmanager
def acting_as(role: str, estate: Estate, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The block's AWS calls are made as `role` (what `EKSLIFT_STEP` names in the user
    agent) and held to its policy in docs/iam/: the guard and the rollback function run
    under roles of their own, allowed only what those documents say, on the resources
    they name."""
    sandbox_requests(estate.url, "DELETE")
    monkeypatch.setenv(STEP_ENV, role)
    aws.clear_cache()
    yield
    monkeypatch.delenv(STEP_ENV)
    aws.clear_cache()
    records = sandbox_requests(estate.url)["items"]
    outside = outside_policy(records, role, estate.iam_placeholders())
    assert outside == [], f"calls outside docs/iam/{role}.json"


def _composite_in_alarm(estate: Estate, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The region's composite alarm set to ALARM, the function's parameters in place, and
    the least of what CloudWatch then sends the Lambda alarm action."""
    composite = composite_name(estate.params.name, REGION)
    alarm = region_alarms(estate.params, REGION)[composite]
    _set_alarm(estate, composite)
    monkeypatch.setenv("EKSLIFT_PARAMS", str(estate.params_path))
    return {
        "source": "aws.cloudwatch",
        "alarmArn": alarm["AlarmArn"],
        "region": REGION,
        "alarmData": {"alarmName": composite, "state": {"value": "ALARM", "reason": "test"}},
    }


def _events(estate: Estate) -> list[dict[str, Any]]:
    return _table(estate).events()


def test_kill_9_never_resumed_the_guard_alone_rolls_back(soaking) -> None:
    estate, child = soaking
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert guard_pass(estate.params, "guard")[0].action == "none", "a live lease is left alone"
    assert estate.green_shares() == {5}
    # `shift status` tells the operator who holds the region, and then that nobody does.
    assert re.fullmatch(r"held by .* \d+ s left", lease_of(estate.params, REGION))
    _wait_for(lambda: _lease_expired(estate))
    assert "nobody renews it, the guard rolls" in lease_of(estate.params, REGION)
    report = guard_pass(estate.params, "guard")[0]
    assert lease_of(estate.params, REGION).startswith("taken by guard")
    assert report.action == "rolled-back" and "expired" in report.reason
    assert estate.green_shares() == {0}
    lease, _ = _table(estate).read()
    assert lease is not None and lease.status == "taken" and "expired" in lease.reason
    ended = [e for e in _events(estate) if e["kind"] == "region"]
    assert ended[-1]["status"] == "rolled-back" and "nobody renews it" in ended[-1]["reason"]
    assert not region_alarms(estate.params, REGION), "the alarms go with the rollback"
    guard = estate.params.shift.guard
    assert guard is not None
    # The stated bound covers what the guard needed: the lease's life and one guard period.
    assert guard.unwatched_seconds() >= guard.lease_seconds + guard.period_seconds
    assert guard.unwatched_seconds() <= guard.max_unwatched_minutes * 60


def _set_alarm(estate: Estate, name: str) -> None:
    cloudwatch = seed.client("cloudwatch", REGION, estate.url)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")


def test_an_alarm_mid_soak_the_guard_rolls_back_at_once(soaking, monkeypatch) -> None:
    estate, child = soaking
    child.send_signal(signal.SIGSTOP)  # the shifter cannot see it: the guard must
    errors = f"{alarm_prefix(estate.params.name, REGION)}green-5xx"
    assert errors in region_alarms(estate.params, REGION)
    _set_alarm(estate, errors)
    with acting_as("04-guard", estate, monkeypatch):
        report = guard_pass(estate.params, "guard")[0]
    assert report.action == "rolled-back" and errors in report.reason
    assert estate.green_shares() == {0}


def test_an_alarm_mid_soak_the_rollback_function_rolls_back(soaking, monkeypatch) -> None:
    estate, child = soaking
    child.send_signal(signal.SIGSTOP)
    composite = composite_name(estate.params.name, REGION)
    alarm = region_alarms(estate.params, REGION)[composite]
    assert alarm["ActionsEnabled"] and alarm["AlarmActions"] == [
        estate.params.shift.guard.rollback_function_arns[REGION]  # type: ignore[union-attr]
    ]
    _set_alarm(estate, composite)
    monkeypatch.setenv("EKSLIFT_PARAMS", str(estate.params_path))
    event = {  # what CloudWatch sends a Lambda alarm action
        "source": "aws.cloudwatch",
        "alarmArn": alarm["AlarmArn"],
        "accountId": "123456789012",
        "time": datetime.now(UTC).isoformat(),
        "region": REGION,
        "alarmData": {
            "alarmName": composite,
            "state": {"value": "ALARM", "reason": "green-5xx transitioned to ALARM"},
            "previousState": {"value": "OK"},
            "configuration": {"alarmRule": alarm["AlarmRule"]},
        },
    }
    with acting_as("04-rollback", estate, monkeypatch):
        ok = handler({**event, "alarmData": {"state": {"value": "OK"}}}, None)
        assert ok["action"] == "none"
        assert estate.green_shares() == {5}
        answer = handler(event, None)
    assert answer == {
        "action": "rolled-back",
        "region": REGION,
        "share": 0,
        "reason": answer["reason"],
    }
    assert estate.green_shares() == {0}
    assert composite in answer["reason"]
    lease, _ = _table(estate).read()
    assert lease is not None and lease.status == "taken" and lease.holder.startswith("rollback")
    assert [e["to"] for e in _events(estate) if e["kind"] == "transition"] == [0]


def test_alarms_a_finished_shift_left_behind_never_roll_it_back(
    aws_sandbox,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shift ends on 100 % green but cannot remove its alarms (DeleteAlarms fails past
    botocore's retries): the composite that fires once nobody beats is a leftover. The
    rollback function must not send the finished region back to blue; the guard's next
    pass removes the alarms."""
    estate = seed_estate(aws_sandbox.url, tmp_path, shift=REPLAY, guard=REPLAY_GUARD)
    aws_sandbox.arm_fault(Fault(operation="DeleteAlarms", status=503, times=100))
    try:
        outcomes = apply_shift(estate.params, estate.params_path, estate.run_dir)
    finally:
        aws_sandbox.faults.clear()
    assert [o.status for o in outcomes] == ["shifted"], outcomes
    problems = [r.data.get("problem", "") for r in estate.state().records() if r.kind == "lease"]
    assert any("alarms not removed" in p for p in problems), problems
    event = _composite_in_alarm(estate, monkeypatch)
    with acting_as("04-rollback", estate, monkeypatch):
        answer = handler(event, None)
    assert answer["action"] == "none" and "leftover" in answer["reason"], answer
    assert estate.green_shares() == {100}, "the finished region stays on green"
    with acting_as("04-guard", estate, monkeypatch):
        report = guard_pass(estate.params, "guard")[0]
    assert report.action == "alarms-removed" and estate.green_shares() == {100}
    assert region_alarms(estate.params, REGION) == {}


def test_an_alarm_with_the_lease_item_gone_still_rolls_back(soaking, monkeypatch) -> None:
    """A missing lease item is not read as "nobody is shifting": the alarm fired on a
    region shifted to 5 %, and the function sends it back to blue."""
    estate, child = soaking
    child.send_signal(signal.SIGSTOP)
    table = _table(estate)
    table.client.delete_item(TableName=table.table, Key=_key(REGION, LEASE))
    assert table.read()[0] is None
    event = _composite_in_alarm(estate, monkeypatch)
    assert handler(event, None)["action"] == "rolled-back"
    assert estate.green_shares() == {0}


def test_with_the_lease_table_down_the_guard_says_so_and_an_alarm_still_rolls_back(
    soaking,
    aws_sandbox: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """DynamoDB failing every call past the retries proves nothing about who holds the
    region. The guard cannot judge it: it reports the region as failed and does not beat.
    The function rolls it back unfenced, after one retried read and no write to the table,
    and keeps the rollback's records in its own log."""
    estate, child = soaking
    child.send_signal(signal.SIGSTOP)
    event = _composite_in_alarm(estate, monkeypatch)
    down = {
        operation: aws_sandbox.arm_fault(
            Fault(operation=operation, service="dynamodb", status=503, times=1000)
        )
        for operation in ("GetItem", "PutItem", "UpdateItem")
    }
    try:
        report = guard_pass(estate.params, "guard")[0]
        assert report.action == "guard-failed" and "GetItem" in report.reason, report
        assert any("the lease table" in problem for problem in report.selftest)
        assert estate.green_shares() == {5}, "a guard that cannot read the lease does nothing"
        reads_before = down["GetItem"].times
        with caplog.at_level(logging.WARNING, logger="ekslift"):
            answer = handler(event, None)
        reads = reads_before - down["GetItem"].times
        writes = 2000 - down["PutItem"].times - down["UpdateItem"].times
    finally:
        aws_sandbox.faults.clear()
    assert answer["action"] == "rolled-back", answer
    assert "recorded only in this log" in answer["reason"] and "GetItem" in answer["reason"]
    assert estate.green_shares() == {0}
    assert reads == estate.params.aws.max_attempts and writes == 0, (reads, writes)
    unrecorded = [r.getMessage() for r in caplog.records if "not recorded" in r.getMessage()]
    assert [m.split(" ")[1] for m in unrecorded][:1] == ["intent"], unrecorded
    assert any(" region " in m and "rolled-back" in m for m in unrecorded), unrecorded


def test_a_second_apply_is_refused_naming_the_holder(soaking) -> None:
    estate, _child = soaking
    with pytest.raises(LeaseHeld, match=r"leased by .*pid \d+") as refused:
        apply_shift(estate.params, estate.params_path, estate.run_dir.parent / "second-run")
    assert "wait for that shift to end" in str(refused.value)
    assert estate.green_shares() == {5}, "the refused shift wrote nothing"


def test_a_shifter_suspended_past_its_lease_writes_nothing_forward(soaking) -> None:
    estate, child = soaking
    child.send_signal(signal.SIGSTOP)
    _wait_for(lambda: _lease_expired(estate))
    assert guard_pass(estate.params, "guard")[0].action == "rolled-back"
    child.send_signal(signal.SIGCONT)
    assert child.wait(timeout=120) != 0
    records = estate.state().records()
    lost = [r for r in records if r.kind == "lease" and r.data.get("lost")]
    assert lost and "writes nothing forward again" in lost[0].data["reason"]
    after = records[records.index(lost[0]) :]
    assert not [r for r in after if r.kind in ("intent", "applied")], "no write after waking"
    assert [r.data["status"] for r in records if r.kind == "region"] == ["stopped"]
    assert estate.green_shares() == {0}, "the guard's rollback stands"


def test_a_stale_guard_heartbeat_refuses_a_new_shift(aws_sandbox, tmp_path: Path) -> None:  # noqa: F811
    estate = seed_estate(aws_sandbox.url, tmp_path, guarded=False)
    with pytest.raises(Exception, match="does not start without a working guard") as refused:
        apply_shift(estate.params, estate.params_path, estate.run_dir)
    assert "heartbeat" in str(refused.value) and "self-test" in str(refused.value)
    assert estate.green_shares() == {0}
    lease, _ = _table(estate).read()
    assert lease is None, "refused before any lease or write"
    guard_pass(estate.params, "guard")
    assert guard_problems(estate.params, estate.region, datetime.now(UTC)) == []
    later = datetime.now(UTC) + timedelta(hours=1)
    assert "heartbeat" in guard_problems(estate.params, estate.region, later)[0]

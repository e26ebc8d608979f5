"""The shift with the real judge on CloudWatch (replayed sandbox history), through the CLI
as a separate process, killed with SIGKILL mid-soak and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ekslift.traffic.apply import apply_shift
from ekslift.traffic.lease import LeaseHeld, LeaseTable
from ekslift.traffic.state import region_view
from tests.traffic.conftest import REPLAY, REPLAY_GUARD, seed_estate

pytestmark = pytest.mark.sandbox


def test_healthy_green_is_shifted_by_the_real_judge(aws_sandbox, tmp_path) -> None:
    estate = seed_estate(aws_sandbox.url, tmp_path, shift=REPLAY, guard=REPLAY_GUARD)
    outcomes = apply_shift(estate.params, estate.params_path, estate.run_dir)
    assert [o.status for o in outcomes] == ["shifted"], outcomes
    assert estate.green_shares() == {100}
    verdicts = [r.data for r in estate.state().records() if r.kind == "verdict"]
    assert [(v["share"], v["verdict"]) for v in verdicts] == [
        (5, "pass"),
        (25, "pass"),
        (50, "pass"),
        (100, "pass"),
    ]
    assert all(v["metrics"] for v in verdicts), "every verdict carries its numbers"
    assert (estate.run_dir / "artefacts/04-traffic-shift/weights.csv").exists()


def test_regressing_green_goes_back_to_blue_at_the_first_step(aws_sandbox, tmp_path) -> None:
    estate = seed_estate(aws_sandbox.url, tmp_path, shift=REPLAY, regress=True, guard=REPLAY_GUARD)
    outcome = apply_shift(estate.params, estate.params_path, estate.run_dir)[0]
    assert outcome.status == "rolled-back"
    assert "limit fired" in outcome.reason or "the judge failed 5 %" in outcome.reason
    assert estate.green_shares() == {0}
    records = estate.state().records()
    last = [r.data for r in records if r.kind == "transition"][-1]
    assert (last["from"], last["to"]) == (5, 0)
    assert region_view(records, "us-east-1").status == "rolled-back"


def _wait_for(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_kill_9_mid_soak_then_resume_ends_where_the_plan_allows(aws_sandbox, tmp_path) -> None:
    estate = seed_estate(
        aws_sandbox.url,
        tmp_path,
        shift={**REPLAY, "poll_seconds": 0.5},
        soak_seconds=6,
        guard=REPLAY_GUARD,
    )
    env = {**os.environ, "PYTHONPATH": str(Path("lib").resolve())}
    command = [
        sys.executable,
        "-m",
        "ekslift.cli",
        "shift",
        "apply",
        "--params",
        str(estate.params_path),
        "--run-dir",
        str(estate.run_dir),
    ]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def soaking_25() -> bool:
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        return any(r.kind == "progress" and r.data["share"] == 25 for r in estate.state().records())

    _wait_for(soaking_25, 120)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert estate.green_shares() == {25}, "killed mid-soak, the weights stay where they were"
    with pytest.raises(LeaseHeld, match="leased by"):  # by the dead process, for its TTL
        apply_shift(estate.params, estate.params_path, estate.run_dir)
    table = LeaseTable("us-east-1", estate.params.shift.guard.table)
    _wait_for(lambda: not table.read()[0].live(table.read()[1]), 30)
    outcomes = apply_shift(estate.params, estate.params_path, estate.run_dir)
    assert outcomes[0].status == "shifted"
    assert estate.green_shares() == {100}
    records = estate.state().records()
    verdicts = [r.data["share"] for r in records if r.kind == "verdict"]
    assert verdicts == [5, 25, 50, 100], "the killed soak of 25 % is done again, not skipped"

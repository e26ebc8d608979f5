"""The plan (read-only, from AWS's weights), the CLI over it, and retiring blue."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta

import pytest

from ekslift.cli import main
from ekslift.traffic.actions import read_forward_set
from ekslift.traffic.plan import make_plan
from ekslift.traffic.present import plan_text
from ekslift.traffic.retire import plan_retire, retire
from tests.traffic.conftest import REPLAY, Estate, seed_estate, services, shift

pytestmark = pytest.mark.sandbox


def test_plan_reads_the_weights_and_prints_the_hand_rollback(estate: Estate) -> None:
    found = services(estate)
    plan = make_plan(estate.params, found.read_set, found.source, datetime.now(UTC), False)
    region = plan.regions[0]
    assert region.current_share == 0
    assert [(s.stage, s.share) for s in region.steps] == [
        ("start", 0),
        ("compare", 5),
        ("compare", 25),
        ("compare", 50),
        ("hold", 50),
        ("bake", 100),
    ]
    assert all("fixed soak; the judge's plan needs" in s.proves for s in region.steps[1:4])
    assert len(region.manual_rollback) == 3
    rule_call = next(c for c in region.manual_rollback if "modify-rule" in c)
    body = json.loads(shlex.split(rule_call)[-1])
    assert body[0]["ForwardConfig"]["TargetGroupStickinessConfig"]["DurationSeconds"] == 300
    assert {g["Weight"] for g in body[0]["ForwardConfig"]["TargetGroups"]} == {100, 0}
    text = plan_text(plan)
    assert "read-only" in text and "aws elbv2 modify-listener" in text
    assert estate.green_shares() == {0}


def test_planned_soaks_come_from_the_judges_plan(aws_sandbox, tmp_path) -> None:
    estate = seed_estate(aws_sandbox.url, tmp_path, shift=REPLAY, soak_mode="planned")
    found = services(estate)
    plan = make_plan(estate.params, found.read_set, found.source, datetime.now(UTC), True)
    steps = {s.share: s for s in plan.regions[0].steps if s.stage == "compare"}
    assert steps[25].soak_seconds >= 15 * 60 and "errors below" in steps[25].proves
    assert plan.regions[0].worst_case_seconds > sum(s.soak_seconds for s in steps.values())


def test_cli_plan_and_status(estate: Estate, capsys) -> None:
    assert main(["shift", "plan", "--params", str(estate.params_path)]) == 0
    assert "aws elbv2 modify-rule" in capsys.readouterr().out
    assert (
        main(
            [
                "shift",
                "status",
                "--params",
                str(estate.params_path),
                "--run-dir",
                str(estate.run_dir),
            ]
        )
        == 0
    )
    assert "not started" in capsys.readouterr().out


def test_retire_waits_for_the_bake_and_quiet_then_removes_blue(estate: Estate) -> None:
    alb = estate.region.traffic.alb
    early = plan_retire(
        estate.params,
        estate.region,
        read_forward_set("us-east-1", alb),
        estate.state().records(),
        datetime.now(UTC),
    )
    assert not early.ready and any("bake" in r for r in early.reasons)
    assert shift(estate).run()[0].status == "shifted"
    found = read_forward_set("us-east-1", alb)
    records = estate.state().records()
    assert not plan_retire(estate.params, estate.region, found, records, datetime.now(UTC)).ready
    later = datetime.now(UTC) + timedelta(minutes=11)  # delay 300 s + stickiness 300 s
    plan = plan_retire(estate.params, estate.region, found, records, later)
    assert plan.ready, plan.reasons
    assert "terraform apply" in plan.infrastructure_change
    assert plan.delete[0].startswith("blue's TargetGroupBinding")
    assert retire(estate.params, estate.region, found, plan) == []
    for weights in estate.weights().values():
        assert set(weights) == {estate.alb["green"]}

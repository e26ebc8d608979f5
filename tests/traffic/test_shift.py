"""The shift against the sandbox ALB: every forward action of the set moves together, and
every fault ends with the region somewhere the plan allows (state checked in AWS)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ekslift import aws
from ekslift.traffic.actions import read_forward_set
from ekslift.traffic.apply import apply_shift
from ekslift.traffic.checks import Clock
from ekslift.traffic.shift import rollback
from ekslift.traffic.state import region_view
from tests.traffic.conftest import (
    Estate,
    FakeMetrics,
    passing_judge,
    seed_estate,
    services,
    shift,
)

pytestmark = pytest.mark.sandbox


def transitions(estate: Estate) -> list[tuple[int | None, int | None]]:
    return [
        (r.data["from"], r.data["to"]) for r in estate.state().records() if r.kind == "transition"
    ]


def test_the_set_is_every_forward_naming_blue(estate: Estate) -> None:
    found = read_forward_set("us-east-1", estate.region.traffic.alb)
    assert {a.arn for a in found.actions} == set(estate.weights())
    assert found.actions[0].arn == estate.alb["listener"]
    assert found.share(estate.region.traffic.alb) == 0


def test_shift_moves_the_whole_set_step_by_step(estate: Estate) -> None:
    before = estate.elb().describe_rules(RuleArns=[estate.rule_arn])["Rules"][0]
    outcomes = shift(estate).run()
    assert [o.status for o in outcomes] == ["shifted"]
    assert estate.green_shares() == {100}
    assert transitions(estate) == [(0, 5), (5, 25), (25, 50), (50, 100)]
    after = estate.elb().describe_rules(RuleArns=[estate.rule_arn])["Rules"][0]
    assert after["Conditions"] == before["Conditions"]
    forward = after["Actions"][0]["ForwardConfig"]
    assert forward["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 300}
    view = region_view(estate.state().records(), "us-east-1")
    assert view.status == "shifted" and view.passed == (5, 25, 50, 100)


def test_apply_refuses_without_apply_or_approval(estate: Estate) -> None:
    params = estate.params.model_copy(update={"apply": False})
    with pytest.raises(Exception, match="nothing was written"):
        apply_shift(params, estate.params_path, estate.run_dir)
    estate.params_path.write_text(estate.params_path.read_text() + "\n# changed\n")
    with pytest.raises(Exception, match=r"is for another plan \(differs in params_sha256"):
        apply_shift(estate.params, estate.params_path, estate.run_dir, services=services(estate))
    assert estate.green_shares() == {0}


def test_throttling_and_5xx_are_retried(aws_sandbox, tmp_path: Path) -> None:
    from ekslift_sandbox.awsserver import Fault

    # botocore's backoff on a loaded machine can outlast the other tests' 5 s lease, and a
    # writer past its lease rightly stops: this test is about retries, so its lease is long.
    aws_sandbox.faults.clear()
    aws.clear_cache()
    estate = seed_estate(aws_sandbox.url, tmp_path, guard={"lease_seconds": 60})
    aws_sandbox.arm_fault(Fault("ModifyListener", status=400, code="Throttling", times=2))
    aws_sandbox.arm_fault(Fault("ModifyRule", status=503, times=2))
    aws_sandbox.arm_fault(Fault("DescribeRules", status=500, times=1))
    assert [o.status for o in shift(estate).run()] == ["shifted"]
    assert estate.green_shares() == {100}


def test_a_write_failing_mid_set_rolls_the_whole_set_back(estate: Estate, aws_sandbox) -> None:
    from ekslift_sandbox.awsserver import Fault

    # The listener takes 5 %, then the rule's write is refused (not retryable).
    aws_sandbox.arm_fault(
        Fault("ModifyRule", status=400, code="ValidationError", times=1, service="elbv2")
    )
    outcome = shift(estate).run()[0]
    assert outcome.status == "rolled-back" and "ValidationError" in outcome.reason
    assert estate.green_shares() == {0}
    assert transitions(estate)[-1] == (None, 0) or transitions(estate)[-1][1] == 0


def test_a_weight_read_back_different_rolls_back(estate: Estate) -> None:
    from ekslift.traffic import actions

    def lying(region, action, alb, share):  # one point more than asked, except to go back
        actions.write_share(region, action, alb, min(share + 1, 100) if share else 0)

    outcome = shift(estate, write=lying).run()[0]
    assert outcome.status == "rolled-back" and "reads back 6 % green" in outcome.reason
    assert estate.green_shares() == {0}


def test_a_rollback_that_cannot_be_written_says_so(estate: Estate) -> None:
    from ekslift.traffic import actions
    from ekslift.traffic.present import findings

    def lying(region, action, alb, share):
        actions.write_share(region, action, alb, share + 1)

    outcome = shift(estate, write=lying).run()[0]
    assert outcome.status == "rollback-failed"
    gate = findings(estate.params, estate.state().records(), running=False)
    assert gate[0].severity == "blocker" and gate[0].title.startswith("ROLLBACK FAILED")


def test_failing_smoke_checks_stop_before_any_user_reaches_green(aws_sandbox, tmp_path) -> None:
    from tests.traffic.conftest import seed_estate

    smoke = {"header_name": "X-Smoke", "header_value": "t1", "command": ["sh", "-c", "exit 3"]}
    smoke["timeout_seconds"] = 3  # within the lease (shift.guard.lease_seconds)
    estate = seed_estate(aws_sandbox.url, tmp_path, smoke=smoke)
    outcome = shift(estate).run()[0]
    assert outcome.status == "rolled-back" and "smoke checks failed (exit 3)" in outcome.reason
    assert estate.green_shares() == {0}
    rules = estate.elb().describe_rules(ListenerArn=estate.alb["listener"])["Rules"]
    assert not [r for r in rules if "X-Smoke" in json.dumps(r)], "the smoke rule is removed"


def test_passing_smoke_checks_see_the_header_rule(aws_sandbox, tmp_path) -> None:
    from tests.traffic.conftest import seed_estate

    check = 'test "$EKSLIFT_SMOKE_HEADER" = X-Smoke && test -n "$EKSLIFT_SMOKE_URL"'
    smoke = {"header_name": "X-Smoke", "header_value": "t2", "command": ["sh", "-c", check]}
    smoke["timeout_seconds"] = 3
    estate = seed_estate(aws_sandbox.url, tmp_path, smoke=smoke)
    assert shift(estate).run()[0].status == "shifted"
    smoked = [r for r in estate.state().records() if r.kind == "smoke"]
    assert smoked and smoked[0].data["passed"]


def test_the_judge_failing_at_25_rolls_back_to_blue(estate: Estate) -> None:
    outcome = shift(estate, judge=passing_judge(fail_at=(25,))).run()[0]
    assert outcome.status == "rolled-back" and "the judge failed 25 %" in outcome.reason
    assert estate.green_shares() == {0}
    assert transitions(estate)[-2:] == [(5, 25), (25, 0)]


def test_a_limit_breached_mid_soak_rolls_back(estate: Estate) -> None:
    outcome = shift(estate, source=FakeMetrics(bad_at=(50,))).run()[0]
    assert outcome.status == "rolled-back" and "limit fired" in outcome.reason
    assert "success rate" in outcome.reason
    assert estate.green_shares() == {0}


def test_an_alarm_in_alarm_mid_soak_rolls_back(aws_sandbox, tmp_path) -> None:
    from ekslift_sandbox import seed
    from tests.traffic.conftest import seed_estate

    estate = seed_estate(aws_sandbox.url, tmp_path, alarm_names=["green-5xx"])
    cloudwatch = seed.client("cloudwatch", "us-east-1", aws_sandbox.url)
    cloudwatch.put_metric_alarm(
        AlarmName="green-5xx",
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="green-5xx", StateValue="ALARM", StateReason="test")
    outcome = shift(estate).run()[0]
    assert outcome.status == "rolled-back" and "alarm green-5xx is in ALARM" in outcome.reason
    assert estate.green_shares() == {0}


def test_someone_elses_change_stops_the_shift_without_overwriting(estate: Estate) -> None:
    meddled = {}

    def judge(found, share, extended):
        if round(share * 100) == 25 and not meddled:
            estate.elb().modify_rule(
                RuleArn=estate.rule_arn,
                Actions=[{"Type": "forward", "TargetGroupArn": estate.alb["blue"]}],
            )
            meddled["done"] = True
        return passing_judge()(found, share, extended)

    outcome = shift(estate, judge=judge).run()[0]
    assert outcome.status == "stopped" and "changed outside this shift" in outcome.reason
    weights = estate.weights()
    assert weights[estate.rule_arn] == {estate.alb["blue"]: 1}, "their change is kept"
    assert weights[estate.alb["listener"]][estate.alb["green"]] == 25


def test_credentials_expiring_mid_soak_roll_back_first(estate: Estate, monkeypatch) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5, seconds=3)
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
    aws.clear_cache()
    outcome = shift(estate).run()[0]
    assert outcome.status == "rolled-back"
    assert "credentials" in outcome.reason
    assert estate.green_shares() == {0}


def test_temporary_credentials_without_expiry_are_refused(estate: Estate, monkeypatch) -> None:
    monkeypatch.delenv("AWS_CREDENTIAL_EXPIRATION")
    aws.clear_cache()
    outcome = shift(estate).run()[0]
    assert outcome.status == "rolled-back" and "credentials" in outcome.reason
    assert estate.green_shares() == {0}
    assert not [r for r in estate.state().records() if r.kind == "intent" and r.data["share"]]


def test_a_local_clock_off_by_minutes_writes_nothing(estate: Estate) -> None:
    outcome = shift(estate, clock=Clock(offset=timedelta(minutes=3))).run()[0]
    assert outcome.status == "rolled-back" and "clock" in outcome.reason
    assert estate.green_shares() == {0}


def test_rollback_walks_every_action_from_any_state(estate: Estate) -> None:
    from ekslift.traffic import actions

    alb = estate.region.traffic.alb
    found = read_forward_set("us-east-1", alb)
    for action, share in zip(found.actions, (50, 25, 100), strict=True):
        actions.write_share("us-east-1", action, alb, share)
    outcome = rollback(
        estate.params, estate.region, "drill", estate.state(), services(estate), "guard"
    )
    assert outcome.status == "rolled-back" and estate.green_shares() == {0}


def test_resume_continues_from_what_aws_shows(estate: Estate) -> None:
    from ekslift.traffic import actions

    # A process wrote its intent of 25 % and died after the listener's write only.
    state, alb = estate.state(), estate.region.traffic.alb
    found = read_forward_set("us-east-1", alb)
    for action in found.actions:
        actions.write_share("us-east-1", action, alb, 5)
    after = read_forward_set("us-east-1", alb)
    state.append("applied", "us-east-1", share=5, snapshot=after.snapshot(), digest=after.digest())
    state.append("intent", "us-east-1", share=25, before=5)
    actions.write_share("us-east-1", after.actions[0], alb, 25)
    outcome = shift(estate).run()[0]
    assert outcome.status == "rolled-back" and "interrupted halfway" in outcome.reason
    assert estate.green_shares() == {0}


def test_resume_after_an_unknown_write_result_rereads_and_goes_on(estate: Estate) -> None:
    from ekslift.traffic import actions

    state, alb = estate.state(), estate.region.traffic.alb
    found = read_forward_set("us-east-1", alb)
    for action in found.actions:
        actions.write_share("us-east-1", action, alb, 5)
    after = read_forward_set("us-east-1", alb)
    state.append("applied", "us-east-1", share=5, snapshot=after.snapshot(), digest=after.digest())
    state.append("verdict", "us-east-1", share=5, verdict="pass")
    state.append("intent", "us-east-1", share=25, before=5)
    for action in after.actions:  # the whole write happened; the process died before "applied"
        actions.write_share("us-east-1", action, alb, 25)
    outcome = shift(estate).run()[0]
    assert outcome.status == "shifted"
    assert transitions(estate) == [(25, 50), (50, 100)]
    soaked = [r.data["share"] for r in state.records() if r.kind == "verdict"]
    assert soaked == [5, 25, 50, 100], "25 % is soaked after the resume, never skipped"


def test_aws_past_the_plan_is_rolled_back(estate: Estate) -> None:
    from ekslift.traffic import actions

    alb = estate.region.traffic.alb
    for action in read_forward_set("us-east-1", alb).actions:
        actions.write_share("us-east-1", action, alb, 30)
    outcome = shift(estate).run()[0]
    assert outcome.status == "rolled-back" and "not a step of the plan" in outcome.reason
    assert estate.green_shares() == {0}


def test_notifications_reach_a_webhook(aws_sandbox, tmp_path) -> None:
    from ekslift.params import NotificationSettings
    from ekslift.traffic.notify import Notifier
    from ekslift.traffic.shift import Shift
    from tests.traffic.conftest import seed_estate, webhook

    with webhook(204) as (port, received):
        estate = seed_estate(aws_sandbox.url, tmp_path)
        notifications = {"webhook_url": f"http://127.0.0.1:{port}/hook"}
        params = estate.params.model_copy(
            update={
                "shift": estate.params.shift.model_copy(update={"notifications": notifications})
            }
        )
        found = services(estate, judge=passing_judge(fail_at=(50,)))
        found.notifier = Notifier(NotificationSettings(**notifications))
        Shift(params, estate.state(), found, "tester").run()
    assert [(e["from"], e["to"]) for e in received] == [(0, 5), (5, 25), (25, 50), (50, 0)]
    assert received[-1]["reason"].startswith("rollback: the judge failed 50 %")
    assert received[-1]["who"] == "tester"
    assert estate.green_shares() == {0}


def test_sigterm_mid_soak_rolls_back(estate: Estate) -> None:
    import threading

    run = shift(estate)
    run.stop_reason = "SIGTERM"
    timer = threading.Timer(1.5, run.stop.set)
    timer.start()
    outcome = run.run()[0]
    timer.cancel()
    assert outcome.status == "rolled-back" and "interrupted by SIGTERM" in outcome.reason
    assert estate.green_shares() == {0}


def test_env_is_untouched() -> None:
    assert "AWS_CREDENTIAL_EXPIRATION" in os.environ


def test_a_hand_rollback_is_not_undone_by_a_resume(estate: Estate) -> None:
    from ekslift.traffic import actions

    state, alb = estate.state(), estate.region.traffic.alb
    for action in read_forward_set("us-east-1", alb).actions:
        actions.write_share("us-east-1", action, alb, 25)
    after = read_forward_set("us-east-1", alb)
    state.append("applied", "us-east-1", share=25, snapshot=after.snapshot(), digest=after.digest())
    for action in after.actions:  # the drill: the operator pastes the printed calls
        actions.write_share("us-east-1", action, alb, 0)
    outcome = shift(estate).run()[0]
    assert outcome.status == "stopped" and "changed outside this shift" in outcome.reason
    assert estate.green_shares() == {0}


def test_a_watched_hold_goes_on_when_released_and_back_when_not(aws_sandbox, tmp_path) -> None:
    import threading

    from tests.traffic.conftest import seed_estate

    hold = {"mode": "watched", "max_seconds": 3}
    unreleased = seed_estate(aws_sandbox.url, tmp_path / "a", hold=hold)
    outcome = shift(unreleased).run()[0]
    assert outcome.status == "rolled-back" and "not released within 3 s" in outcome.reason
    assert unreleased.green_shares() == {0}

    released = seed_estate(aws_sandbox.url, tmp_path / "b", hold={**hold, "max_seconds": 60})
    run = shift(released)

    def release() -> None:
        while not any(r.kind == "hold" for r in released.state().records()):
            threading.Event().wait(0.2)
        released.state().append("hold", "us-east-1", released=True, by="approver")

    threading.Thread(target=release, daemon=True).start()
    assert run.run()[0].status == "shifted"
    assert released.green_shares() == {100}

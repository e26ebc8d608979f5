"""A fresh ALB per test in one in-process AWS sandbox per module, its parameters, an
approval by someone else, and services whose metrics and judge a test can replace."""

from __future__ import annotations

import http.server
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ekslift import aws
from ekslift.guard.reconcile import guard_pass
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.series import Window
from ekslift.metrics.verdict import StepVerdict
from ekslift.params import RegionParams, UpgradeParams, load_params
from ekslift.traffic.apply import state_log
from ekslift.traffic.approval import write_approval
from ekslift.traffic.shift import Services, Shift, default_services
from ekslift.traffic.state import StateLog
from ekslift_sandbox import seed
from ekslift_sandbox.awsserver import AwsSandbox
from tests.core.iam import alb_name
from tests.metrics.synthetic import Colour, window
from tests.sandbox.conftest import aws_sandbox  # noqa: F401 (a fixture)

REGION = "us-east-1"
ROLLBACK_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:ekslift-rollback"
APPROVER = "arn:aws:iam::123456789012:user/approver"
_names = itertools.count(1)


@dataclass
class Estate:
    url: str
    params: UpgradeParams
    params_path: Path
    run_dir: Path
    alb: dict[str, str]
    rule_arn: str
    internal_listener: str

    @property
    def region(self) -> RegionParams:
        return self.params.regions[0]

    def elb(self) -> Any:
        return seed.client("elbv2", REGION, self.url)

    def weights(self) -> dict[str, dict[str, int]]:
        """Every forward action naming blue: {arn: {target group: weight}}."""
        elb, found = self.elb(), {}
        for listener_arn in (self.alb["listener"], self.internal_listener):
            listener = elb.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
            found[listener_arn] = _weights(listener["DefaultActions"])
        rule = elb.describe_rules(RuleArns=[self.rule_arn])["Rules"][0]
        found[self.rule_arn] = _weights(rule["Actions"])
        return found

    def iam_placeholders(self) -> dict[str, str | list[str]]:
        """What docs/iam's `<PLACEHOLDERS>` stand for in this estate (tests/core/iam.py):
        both ALBs of the forward set, the smoke listener's ids, the set's three ARNs."""
        listeners = [self.alb["listener"], self.internal_listener]
        # arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<lb>/<listener>
        lb_id, listener_id = self.alb["listener"].split(":")[5].split("/")[3:5]
        guard = self.params.shift.guard
        assert guard is not None
        return {
            "ACCOUNT_ID": seed.ACCOUNT,
            "REGION": REGION,
            "ALB_NAME": [alb_name(arn) for arn in listeners],
            "LB_ID": lb_id,
            "LISTENER_ID": listener_id,
            "FORWARD_ACTION_ARN": [*listeners, self.rule_arn],
            "LEASE_TABLE": guard.table,
            "UPGRADE_NAME": self.params.name,
        }

    def green_shares(self) -> set[int]:
        return {
            round(100 * w.get(self.alb["green"], 0) / sum(w.values()))
            for w in self.weights().values()
        }

    def state(self) -> StateLog:
        return state_log(self.run_dir)


def _weights(actions: list[dict[str, Any]]) -> dict[str, int]:
    forward = next(a for a in actions if a["Type"] == "forward")
    if "ForwardConfig" not in forward:
        return {forward["TargetGroupArn"]: 1}
    return {g["TargetGroupArn"]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]}


def seed_estate(
    url: str,
    tmp: Path,
    shift: dict[str, Any] | None = None,
    regress: bool = False,
    guard: dict[str, Any] | None = None,
    guarded: bool = True,
    **traffic: Any,
) -> Estate:
    """An ALB (listener forwarding 100/0 plus a sticky host rule naming only blue) and an
    internal ALB whose listener names blue too: three forward actions in one set."""
    short = f"t{next(_names)}"
    ec2 = seed.client("ec2", REGION, url)
    vpc, subnets = seed.network(ec2, REGION)
    alb = seed.seed_load_balancer(REGION, short, url, vpc, subnets)
    elb = seed.client("elbv2", REGION, url)
    rule = elb.create_rule(
        ListenerArn=alb["listener"],
        Priority=10,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}],
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": alb["blue"], "Weight": 100}],
                    "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
                },
            }
        ],
    )["Rules"][0]["RuleArn"]
    internal = elb.create_load_balancer(
        Name=f"photos-{short}-int", Subnets=subnets, Scheme="internal", Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    internal_listener = elb.create_listener(
        LoadBalancerArn=internal,
        Protocol="HTTP",
        Port=8080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": alb["blue"]}],
    )["Listeners"][0]["ListenerArn"]
    run_dir = tmp / "run"
    # Each estate its own lease table and upgrade name (alarm names), so a lease or an
    # alarm one test leaves behind never reaches the next.
    table = f"leases-{short}"
    seed.seed_lease_table(REGION, url, table)
    data = {
        "name": f"shift-test-{short}",
        "environment": "test",
        "archive_dir": str(tmp / "runs"),
        "apply": True,
        "change_id": "CHG-1",
        "target_version": "1.34",
        "aws": {"retry_mode": "standard", "max_attempts": 5},
        "regions": [
            {
                "name": REGION,
                "blue": {"eks_cluster": "b", "kube_context": "b"},
                "green": {"eks_cluster": "g", "kube_context": "g"},
                "traffic": {
                    "alb": {
                        "listener_arn": alb["listener"],
                        "blue_target_group_arn": alb["blue"],
                        "green_target_group_arn": alb["green"],
                        "other_load_balancer_arns": [internal],
                    },
                    "steps": [0, 5, 25, 50, 100],
                    "soak_mode": "fixed",
                    "soak_seconds": 1,
                    "bake_seconds": 1,
                    "hold": {"mode": "approved"},
                    **traffic,
                },
            }
        ],
        "shift": {
            # These estates have an ALB and no clusters: the cluster checks of readiness are
            # tested with the sandbox's clusters (tests/traffic/test_readiness_wiring.py).
            "readiness": "forward-set-only",
            "poll_seconds": 0.3,
            "baseline_request_rate": 50,
            "baseline_error_rate": 0.001,
            "guard": {
                "table": table,
                "lease_seconds": 5,
                "renew_margin_seconds": 1,
                "rollback_function_arns": {REGION: ROLLBACK_FUNCTION},
                **(guard or {}),
            },
            **(shift or {}),
        },
        "metrics": {"judge": {"min_error_difference": 0.005}},
    }
    replay = (shift or {}).get("replay")
    if replay is not None:
        seeded = datetime.now(UTC)
        seed.seed_alb_metrics(REGION, url, alb, regress, seeded)
        data["shift"]["replay"] = {**replay, "until": seeded.isoformat()}
    tmp.mkdir(parents=True, exist_ok=True)
    params_path = tmp / "params.yaml"
    params_path.write_text(yaml.safe_dump(data))
    params = load_params(params_path)
    write_approval(params, params_path, APPROVER, "tests")
    if guarded:  # one pass of the guard, as its CronJob would have run: fresh and tested
        guard_pass(params, "guard-test")
    return Estate(url, params, params_path, run_dir, alb, rule, internal_listener)


@pytest.fixture
def estate(aws_sandbox: AwsSandbox, tmp_path: Path) -> Estate:  # noqa: F811
    aws_sandbox.faults.clear()
    aws.clear_cache()
    return seed_estate(aws_sandbox.url, tmp_path)


class FakeMetrics:
    """Synthetic judge windows; ``bad_at`` shares make green fail the absolute limits."""

    live = False

    def __init__(self, bad_at: tuple[int, ...] = ()) -> None:
        self.bad_at = bad_at

    def complete_until(self, now: datetime) -> datetime:
        return now

    def judge_settings(self, settings: JudgeSettings) -> JudgeSettings:
        return settings

    def window(self, region: RegionParams, start: Any, end: Any, share: float) -> Window:
        bad = round(share * 100) in self.bad_at
        green = Colour(errors={"target_5xx": 0.05}) if bad else Colour()
        found = window(minutes=10, share=share, rate_per_s=50, seed=7, green=green)
        return replace(found, region=region.name)


def passing_judge(fail_at: tuple[int, ...] = ()) -> Callable[[Window, float, bool], StepVerdict]:
    def judge(found: Window, share: float, extended: bool) -> StepVerdict:
        verdict = "fail" if round(share * 100) in fail_at else "pass"
        return StepVerdict(found.region, share, verdict, f"injected {verdict}", 0.001, 7, (), ())

    return judge


def services(estate: Estate, **overrides: Any) -> Services:
    found = default_services(estate.params)
    found.source = overrides.pop("source", FakeMetrics())
    found.probe = overrides.pop("probe", lambda region, colour: None)
    found.judge = overrides.pop("judge", passing_judge())
    for key, value in overrides.items():
        setattr(found, key, value)
    return found


def shift(estate: Estate, **overrides: Any) -> Shift:
    return Shift(estate.params, estate.state(), services(estate, **overrides), "tester")


# The demo's judge on the seeded CloudWatch history (params/demo.yaml's `shift.replay`); the
# span ends when seed_estate seeds it.
REPLAY = {"replay": {"minutes": 180}}
# The real judge on replayed history takes seconds between two renewals of the lease.
REPLAY_GUARD = {"lease_seconds": 15, "renew_margin_seconds": 2}


@contextmanager
def webhook(status: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A local webhook endpoint answering every POST with ``status``: its port, and the
    JSON bodies it received."""
    received: list[dict[str, Any]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port, received
    finally:
        server.shutdown()

"""The smoke stage at weight 0: the team's synthetic checks reach green before any user.

A temporary rule on the listener forwards requests carrying the header from the
parameters to green alone; the checks (their command) send it. The rule is removed
whatever happens, and a rule left by a killed process is found by its header and removed
on the next start and by every rollback, so no side door to green outlives the stage.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError
from ekslift.params import AlbTraffic, SmokeSettings
from ekslift.redact import redact_text

OUTPUT_TAIL = 2000


@dataclass(frozen=True)
class SmokeResult:
    passed: bool
    returncode: int | None
    detail: str


def _condition(smoke: SmokeSettings) -> dict[str, Any]:
    return {
        "Field": "http-header",
        "HttpHeaderConfig": {"HttpHeaderName": smoke.header_name, "Values": [smoke.header_value]},
    }


def _is_smoke_rule(rule: dict[str, Any], smoke: SmokeSettings) -> bool:
    return any(
        c.get("Field") == "http-header"
        and c.get("HttpHeaderConfig", {}).get("HttpHeaderName") == smoke.header_name
        and smoke.header_value in c.get("HttpHeaderConfig", {}).get("Values", [])
        for c in rule.get("Conditions", [])
    )


def remove_smoke_rules(
    region: str, alb: AlbTraffic, smoke: SmokeSettings, profile: str | None = None
) -> list[str]:
    """Delete every rule of the listener matching the smoke header; returns their ARNs."""
    elb = aws.client("elbv2", region, profile)
    try:
        rules = elb.describe_rules(ListenerArn=alb.listener_arn)["Rules"]
        removed = [r["RuleArn"] for r in rules if _is_smoke_rule(r, smoke)]
        for arn in removed:
            elb.delete_rule(RuleArn=arn)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"removing the smoke rule from {alb.listener_arn}") from exc
    return removed


def run_smoke(
    region: str, alb: AlbTraffic, smoke: SmokeSettings, profile: str | None = None
) -> SmokeResult:
    """Create the header rule, run the checks with its details in their environment, and
    remove the rule; the checks' output tail is kept, redacted."""
    elb = aws.client("elbv2", region, profile)
    try:
        dns = elb.describe_load_balancers(LoadBalancerArns=[alb.load_balancer_arn])[
            "LoadBalancers"
        ][0]["DNSName"]
        elb.create_rule(
            ListenerArn=alb.listener_arn,
            Priority=smoke.rule_priority,
            Conditions=[_condition(smoke)],
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": alb.green_target_group_arn, "Weight": 1}
                        ]
                    },
                }
            ],
        )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, f"creating the smoke rule on {alb.listener_arn}") from exc
    env = {
        **os.environ,
        "EKSLIFT_SMOKE_HEADER": smoke.header_name,
        "EKSLIFT_SMOKE_VALUE": smoke.header_value,
        "EKSLIFT_SMOKE_URL": f"http://{dns}",
        "EKSLIFT_REGION": region,
    }
    try:
        done = subprocess.run(
            smoke.command,
            env=env,
            capture_output=True,
            text=True,
            timeout=smoke.timeout_seconds,
            check=False,
        )
        output = redact_text((done.stdout + done.stderr)[-OUTPUT_TAIL:])
        return SmokeResult(done.returncode == 0, done.returncode, output)
    except subprocess.TimeoutExpired:
        return SmokeResult(False, None, f"the checks ran over {smoke.timeout_seconds} s")
    except OSError as exc:
        return SmokeResult(False, None, f"the checks could not start: {exc}")
    finally:
        remove_smoke_rules(region, alb, smoke, profile)

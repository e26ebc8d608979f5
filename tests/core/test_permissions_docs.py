"""The documented permissions themselves: valid IAM documents, reading steps read-only."""

from __future__ import annotations

import json

import pytest

from tests.core.iam import IAM_DIR, ClusterRole, UnresolvedPlaceholder, load_policy, outside_policy

READING = ["01-inventory", "02-api-scan", "03-chart-diff", "05-metrics-review", "runs-reader"]
WRITING = ["04-traffic-shift", "04-guard", "04-rollback", "runner-archive"]


@pytest.mark.parametrize("name", READING + WRITING)
def test_policy_is_an_iam_document(name: str) -> None:
    document = json.loads((IAM_DIR / f"{name}.json").read_text())
    assert set(document) <= {"Version", "Id", "Statement"}
    assert document["Version"] == "2012-10-17"
    for statement in document["Statement"]:
        assert statement["Effect"] in ("Allow", "Deny") and statement["Sid"]
        assert statement["Resource"]


@pytest.mark.parametrize("name", READING)
def test_reading_steps_are_read_only(name: str) -> None:
    assert load_policy(name).read_only()


def test_writers_write_only_what_the_design_says() -> None:
    writes = {
        name: sorted(a for a in load_policy(name).allowed if not load_policy(name).is_read(a))
        for name in WRITING
    }
    # Weights back to blue, and the smoke header rule gone if it fired during the smoke stage.
    assert writes["04-rollback"] == [
        "dynamodb:PutItem",  # the fence that stops a dead shifter's writes, and the record
        "elasticloadbalancing:DeleteRule",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyRule",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    assert not load_policy("runner-archive").allows("s3:DeleteObjectVersion")
    assert not load_policy("runner-archive").allows("s3:BypassGovernanceRetention")


def test_clusterrole_reads_only() -> None:
    role = ClusterRole.load()
    assert role.read_only()
    assert role.allows("GET", "/api/v1/namespaces/photos/pods?limit=500")
    assert role.allows("GET", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/x")
    assert role.allows("GET", "/apis/")
    assert not role.allows("DELETE", "/api/v1/namespaces/photos/pods/x")
    assert not role.allows("GET", "/api/v1/pods?watch=true")


_LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/photos/aa/bb"
_OTHER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/billing/cc/dd"
_RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/photos/aa/bb/ee"


def _write(operation: str, resource: str, step: str = "04-rollback") -> dict[str, object]:
    return {
        "service": "elbv2",
        "operation": operation,
        "user_agent": f"Boto3 ekslift/1 ekslift-step/{step}",
        "resources": [resource],
    }


def test_resource_checks_hold_writes_to_the_named_arns() -> None:
    """The rollback function may write the forward set only, and delete rules of the smoke
    listener only: another ALB's listener, or an ARN nobody listed, is outside."""
    placeholders = {
        "ACCOUNT_ID": "123456789012",
        "REGION": "us-east-1",
        "ALB_NAME": "photos",
        "LB_ID": "aa",
        "LISTENER_ID": "bb",
        "FORWARD_ACTION_ARN": [_LISTENER, _RULE],
    }
    allowed = [_write("ModifyListener", _LISTENER), _write("ModifyRule", _RULE)]
    assert outside_policy(allowed, "04-rollback", placeholders) == []
    other_rule = _RULE.replace("/ee", "/ff")
    records = [
        *allowed,
        _write("ModifyListener", _OTHER),
        _write("ModifyRule", other_rule),
        _write("DeleteRule", _RULE.replace("/bb/", "/zz/")),
    ]
    assert outside_policy(records, "04-rollback", placeholders) == [
        f"elasticloadbalancing:DeleteRule on {_RULE.replace('/bb/', '/zz/')}",
        f"elasticloadbalancing:ModifyListener on {_OTHER}",
        f"elasticloadbalancing:ModifyRule on {other_rule}",
    ]
    # The shifter's policy names the ALB, not each ARN: any rule of photos, none of billing.
    shifter = [_write("ModifyRule", other_rule, "04-traffic-shift")]
    assert outside_policy(shifter, "04-traffic-shift", placeholders) == []
    shifter.append(_write("ModifyListener", _OTHER, "04-traffic-shift"))
    assert outside_policy(shifter, "04-traffic-shift", placeholders) == [
        f"elasticloadbalancing:ModifyListener on {_OTHER}"
    ]


def test_an_unsaid_placeholder_fails_rather_than_matching_anything() -> None:
    with pytest.raises(UnresolvedPlaceholder, match="FORWARD_ACTION_ARN"):
        outside_policy([_write("ModifyListener", _LISTENER)], "04-rollback", {})

"""The documented permissions themselves: valid IAM documents, reading steps read-only."""

from __future__ import annotations

import json

import pytest

from tests.core.iam import IAM_DIR, ClusterRole, load_policy

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

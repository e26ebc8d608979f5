"""The rollback function's CloudFormation template (deploy/rollback-function.yaml): valid as
CloudFormation reads it (cfn-lint, AWS's own linter with the resource specifications), and
its role allowed exactly what docs/iam/04-rollback.json documents, the policy the sandbox
tests hold the function's recorded calls to."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import lint_file
from cfnlint.decode import decode

from tests.core.iam import load_policy

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "rollback-function.yaml"


def test_cfn_lint_finds_nothing() -> None:
    assert [str(match) for match in lint_file(TEMPLATE)] == []


def test_the_role_is_allowed_what_the_documented_policy_allows() -> None:
    template, errors = decode(str(TEMPLATE))
    assert not errors and template is not None
    (policy,) = template["Resources"]["RollbackRole"]["Properties"]["Policies"]
    granted: set[str] = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        granted.update([action] if isinstance(action, str) else action)
    assert granted == set(load_policy("04-rollback").allowed)

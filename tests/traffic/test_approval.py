"""Approvals bound to the plan they approve, given by another person (not another role)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ekslift.errors import InputError
from ekslift.params import load_params
from ekslift.traffic.apply import apply_shift, artefacts_dir
from ekslift.traffic.approval import (
    RUN_APPROVAL,
    Identity,
    approval_problems,
    person_of,
    read_approval,
    write_approval,
)
from tests.traffic.conftest import APPROVER, Estate, services

ROLE = "arn:aws:sts::123456789012:assumed-role/{role}/{session}"


def _reload(estate: Estate, change) -> Estate:
    """The estate with its parameter file changed by ``change`` (a dict edit)."""
    data = yaml.safe_load(estate.params_path.read_text())
    change(data)
    estate.params_path.write_text(yaml.safe_dump(data))
    estate.params = load_params(estate.params_path)
    return estate


def test_person_behind_an_arn() -> None:
    assert person_of(ROLE.format(role="Admin", session="Jane.Doe@example.com")) == (
        "jane.doe@example.com"
    )
    assert person_of("arn:aws:iam::123456789012:user/ops/alice") == "alice"
    assert person_of("arn:aws:sts::123456789012:federated-user/bob") == "bob"
    assert person_of("arn:aws:iam::123456789012:root") == "root@123456789012"


def test_same_session_under_two_roles_is_refused(estate: Estate) -> None:
    approver = ROLE.format(role="Approver", session="jane@example.com")
    operator = Identity.of(ROLE.format(role="Operator", session="Jane@example.com"))
    record = write_approval(estate.params, estate.params_path, approver, "looked at it")
    problems = approval_problems(
        estate.params, estate.params_path, operator, datetime.now(UTC), record
    )
    assert len(problems) == 1 and "same person" in problems[0]
    other = Identity.of(ROLE.format(role="Approver", session="bob@example.com"))
    assert not approval_problems(
        estate.params, estate.params_path, other, datetime.now(UTC), record
    )


def test_record_binds_plan_change_hold_and_expiry(estate: Estate) -> None:
    record = read_approval(estate.params)
    assert record is not None
    assert record.change_id == "CHG-1"
    assert record.approver == Identity(APPROVER, "approver")
    assert record.hold_modes == {"us-east-1": "approved"}
    assert record.expires_at - record.approved_at == timedelta(hours=24)
    region = record.plan["regions"]["us-east-1"]
    assert region["listener_arn"] == estate.alb["listener"]
    assert region["steps"] == [0, 5, 25, 50, 100]
    operator = Identity.of("arn:aws:iam::123456789012:user/operator")
    later = record.expires_at + timedelta(seconds=1)
    assert any(
        "expired" in p
        for p in approval_problems(estate.params, estate.params_path, operator, later, record)
    )


def test_a_changed_plan_voids_the_approval_and_says_what_differs(estate: Estate) -> None:
    def watched(data) -> None:
        data["regions"][0]["traffic"]["hold"] = {"mode": "watched"}
        data["regions"][0]["traffic"]["steps"] = [0, 5, 50, 100]

    _reload(estate, watched)
    with pytest.raises(InputError, match="another plan") as raised:
        apply_shift(estate.params, estate.params_path, estate.run_dir, services=services(estate))
    text = str(raised.value)
    assert "regions.us-east-1.hold.mode: 'approved' → 'watched'" in text
    assert "regions.us-east-1.steps" in text
    assert estate.green_shares() == {0}


def test_an_approval_needs_a_change_id(estate: Estate) -> None:
    def drop(data) -> None:
        data.pop("change_id")
        data["apply"] = False

    _reload(estate, drop)
    with pytest.raises(InputError, match="change_id"):
        write_approval(estate.params, estate.params_path, APPROVER, "")


def test_apply_records_operator_approver_and_outside_approval(estate: Estate) -> None:
    reference = "https://github.com/example/infra/pull/42"

    def external(data) -> None:
        data["shift"]["approval"] = {"external": {"kind": "github-pr", "reference": reference}}

    _reload(estate, external)
    write_approval(estate.params, estate.params_path, APPROVER, "reviewed PR 42")
    outcomes = apply_shift(
        estate.params, estate.params_path, estate.run_dir, services=services(estate)
    )
    assert [o.status for o in outcomes] == ["shifted"]
    kept = (artefacts_dir(estate.run_dir) / RUN_APPROVAL).read_text()
    assert f"github-pr: {reference}" in kept
    assert '"approver_person": "approver"' in kept
    assert '"operator_person"' in kept and Path(estate.params_path).exists()

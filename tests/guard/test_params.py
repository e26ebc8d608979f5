"""`shift.guard` in the parameters: the worst case is bounded, and what cannot work is
refused at load time, every problem named, instead of hours into a shift."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ekslift.params import ParamsError, parse_params
from tests.core.test_params import VALID

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:ekslift-rollback"


def params(**guard: Any) -> dict[str, Any]:
    """The core tests' valid parameters, with a guard."""
    guarded = {"table": "ekslift-leases", "rollback_function_arns": {"us-east-1": FUNCTION}}
    return {**copy.deepcopy(VALID), "shift": {"guard": {**guarded, **guard}}}


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(ParamsError) as refused:
        parse_params(data, "p.yaml")
    return str(refused.value)


def test_the_default_guard_states_its_worst_case() -> None:
    guard = parse_params(params(), "p.yaml").shift.guard
    assert guard is not None
    # lease 300 + period 300 + starting deadline 60 + alarm 3 x 60
    assert guard.unwatched_seconds() == 840
    assert guard.unwatched_seconds() <= guard.max_unwatched_minutes * 60


def test_a_guard_too_slow_for_its_bound_is_refused() -> None:
    text = problems(params(period_seconds=1800, max_unwatched_minutes=20))
    assert "could stay shifted 39.0 min with nobody watching" in text
    assert "max_unwatched_minutes (20)" in text


def test_a_lease_shorter_than_a_poll_and_a_missing_function_are_refused() -> None:
    data = params(lease_seconds=60, rollback_function_arns={})
    text = problems(data)
    assert "lease_seconds (60) must exceed shift.poll_seconds" in text
    assert "no function for us-east-1" in text


def test_the_rollback_function_lives_in_its_region() -> None:
    arn = FUNCTION.replace("us-east-1", "eu-west-1")
    assert "an alarm invokes a function of its own region" in problems(
        params(rollback_function_arns={"us-east-1": arn})
    )

"""Verdict rules and waivers: the same for every step."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ekslift.gate import Finding, GateFailed, enforce, judge, read_result, write_result
from ekslift.params import ParamsError, parse_params
from tests.core.test_params import VALID


def params_with(waivers: list[dict]) -> object:
    return parse_params({**VALID, "waivers": waivers}, "p.yaml")


def finding(fid: str, severity: str = "blocker") -> Finding:
    return Finding(id=fid, severity=severity, title=fid)


def test_verdicts() -> None:
    params = params_with([])
    assert judge("s", [], params).verdict == "pass"
    assert judge("s", [finding("a", "info")], params).verdict == "pass"
    assert judge("s", [finding("a", "warning")], params).verdict == "warn"
    assert judge("s", [finding("a"), finding("b", "warning")], params).verdict == "fail"


def test_waived_blocker_warns_and_is_recorded() -> None:
    params = params_with(
        [{"id": "inv/x/*", "reason": "accepted for this window", "accepted_by": "sre"}]
    )
    result = judge("s", [finding("inv/x/1"), finding("inv/y/1", "warning")], params)
    assert result.verdict == "warn"
    assert [w.finding_id for w in result.waivers] == ["inv/x/1"]
    assert result.waivers[0].pattern == "inv/x/*"
    assert result.open_blockers == []


def test_expired_waiver_no_longer_applies() -> None:
    params = params_with(
        [
            {
                "id": "inv-a",
                "reason": "until the freeze",
                "accepted_by": "sre",
                "expires": "2026-01-31",
            }
        ]
    )
    assert judge("s", [finding("inv-a")], params, today=date(2026, 1, 31)).verdict == "warn"
    assert judge("s", [finding("inv-a")], params, today=date(2026, 2, 1)).verdict == "fail"


def test_a_waiver_scoped_to_a_share_covers_only_that_share() -> None:
    """A capacity shortfall accepted at 100 % (its fix lands before that step) is still a
    blocker when readiness finds it at 25 %, and for a finding checked at no share."""
    params = params_with(
        [
            {
                "id": "readiness/*/capacity/*",
                "reason": "min replicas raised in PR 486 before 100 %",
                "accepted_by": "sre",
                "shares": [100],
            }
        ]
    )
    fid = "readiness/us-east-1/capacity/photos/api"

    def at(share: int | None) -> str:
        shortfall = Finding(id=fid, severity="blocker", title="short", share=share)
        return judge("s", [shortfall], params).verdict

    assert (at(100), at(25), at(None)) == ("warn", "fail", "fail")
    with pytest.raises(ParamsError, match=r"waivers\[0\]\.shares\[0\]: Input should be greater"):
        params_with([{"id": "abc", "reason": "r" * 10, "accepted_by": "sre", "shares": [0]}])


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        judge("s", [finding("a"), finding("a")], params_with([]))


def test_result_round_trip_and_enforce(tmp_path: Path) -> None:
    result = judge("01-x", [finding("a")], params_with([]))
    write_result(tmp_path, result)
    assert read_result(tmp_path, "01-x") == result
    with pytest.raises(GateFailed, match="waive one in the parameter file"):
        enforce(result)

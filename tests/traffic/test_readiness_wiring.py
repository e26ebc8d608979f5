"""Step 4 re-checks cutover readiness before every change: blockers nobody accepted stop it,
waived ones do not, and a check that could not read is a blocker, never a pass."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ekslift import aws
from ekslift.params import load_params, parse_params
from ekslift.readiness.rows import CheckRow, ReadinessReport
from ekslift.traffic import checks
from ekslift.traffic.actions import alb_of, read_forward_set
from tests.core.test_params import VALID

REGION = "us-east-1"


def params_with(waivers: list[dict[str, Any]], readiness: str = "full") -> Any:
    data = copy.deepcopy(VALID)
    data["waivers"] = waivers
    data.setdefault("shift", {})["readiness"] = readiness
    return parse_params(data, "test.yaml")


def row(check: str, status: str) -> CheckRow:
    return CheckRow(REGION, "capacity", check, "photos/photo-api", status, "observed")


@pytest.fixture
def readiness_found(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Readiness answers three rows; the forward set is consistent. Records each call."""
    calls: list[tuple[str, int]] = []

    def fake_check(params: Any, region: str, share: int, sized_from: Any) -> ReadinessReport:
        calls.append((region, share))
        rows = [row("capacity", "fail"), row("autoscaler-max", "fail"), row("stickiness", "warn")]
        return ReadinessReport(region, share, 50, rows=rows)

    monkeypatch.setattr(checks, "readiness_check", fake_check)
    monkeypatch.setattr(checks, "forward_set_readiness", lambda read: lambda r, s: [])
    return calls


def test_unwaived_blockers_stop_the_change_waived_ones_do_not(readiness_found) -> None:
    waiver = {
        "id": f"readiness/{REGION}/capacity/*",
        "reason": "green's HPA floor is raised before 100 %",
        "accepted_by": "sre@example.com",
    }
    params = params_with([waiver])
    region = params.region(REGION)
    found = checks.cutover_readiness(params, lambda r: None)(region, 100)
    assert [f.id for f in found] == [f"readiness/{REGION}/autoscaler-max/photos/photo-api"]
    assert readiness_found == [(REGION, 100)], "readiness is asked at the share about to be set"


def test_a_readiness_that_could_not_read_is_a_blocker(monkeypatch: pytest.MonkeyPatch) -> None:
    def unread(params: Any, region: str, share: int, sized_from: Any) -> ReadinessReport:
        return ReadinessReport(region, share, None, incomplete=["green: connection refused"])

    monkeypatch.setattr(checks, "readiness_check", unread)
    monkeypatch.setattr(checks, "forward_set_readiness", lambda read: lambda r, s: [])
    params = params_with([])
    found = checks.cutover_readiness(params, lambda r: None)(params.region(REGION), 25)
    assert [f.id for f in found] == [f"traffic/{REGION}/check/readiness-unread"]
    assert "connection refused" in found[0].detail


def test_forward_set_only_skips_the_clusters(readiness_found) -> None:
    params = params_with([], readiness="forward-set-only")
    assert checks.cutover_readiness(params, lambda r: None)(params.region(REGION), 25) == []
    assert readiness_found == []


def test_later_changes_are_sized_from_the_check_before_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check at 0 % measures blue's throughput per replica; the checks after it size
    from that, not from blue's replicas serving a shrinking share. A process that resumes
    mid-shift has no measurement and sizes from blue as it is."""
    given: list[Any] = []
    current = {5: 0, 25: 5, 50: 25}

    def fake_check(params: Any, region: str, share: int, sized_from: Any) -> ReadinessReport:
        given.append(sized_from)
        per_replica = {"photos/photo-api": 5.0 if current[share] == 0 else 2.5}
        return ReadinessReport(region, share, current[share], per_replica=per_replica)

    monkeypatch.setattr(checks, "readiness_check", fake_check)
    monkeypatch.setattr(checks, "forward_set_readiness", lambda read: lambda r, s: [])
    params = params_with([])
    region = params.region(REGION)
    check = checks.cutover_readiness(params, lambda r: None)
    for share in (5, 25, 50):
        assert check(region, share) == []
    assert given == [None, {"photos/photo-api": 5.0}, {"photos/photo-api": 5.0}]
    resumed = checks.cutover_readiness(params, lambda r: None)
    assert resumed(region, 50) == [] and given[-1] is None


@pytest.mark.sandbox
def test_the_demo_estate_at_100_percent_needs_its_capacity_waivers(sandbox) -> None:
    """Against the sandbox's clusters: green lacks the peak's replicas for 100 %; the demo's
    waivers (PR 486) accept it, and without them the change is refused."""
    aws.clear_cache()
    params = load_params("params/demo.yaml")

    def read(region: Any) -> Any:
        return read_forward_set(region.name, alb_of(region))

    region = params.region(REGION)
    assert checks.cutover_readiness(params, read)(region, 100) == []
    assert checks.cutover_readiness(params, read)(region, 25) == []
    strict = params.model_copy(
        update={"waivers": [w for w in params.waivers if "capacity" not in w.id]}
    )
    refused = {f.id for f in checks.cutover_readiness(strict, read)(region, 100)}
    assert refused == {
        f"readiness/{REGION}/capacity/photos/{app}" for app in ("photo-api", "web-frontend")
    }

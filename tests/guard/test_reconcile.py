"""One guard pass over several regions: a region the guard cannot judge is reported and
left unbeaten, and the regions after it are still judged (without AWS: the per-region work
is replaced, the loop around it is what is tested)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ekslift.errors import AwsError
from ekslift.guard import reconcile
from ekslift.guard.reconcile import RegionReport, guard_pass
from ekslift.params import RegionParams, UpgradeParams, parse_params
from tests.guard.test_params import params


def two_regions() -> UpgradeParams:
    data = params()
    west = copy.deepcopy(data["regions"][0])
    west["name"] = "us-west-2"
    alb = west["traffic"]["alb"]
    west["traffic"]["alb"] = {k: arn.replace("us-east-1", "us-west-2") for k, arn in alb.items()}
    data["regions"].append(west)
    arns = data["shift"]["guard"]["rollback_function_arns"]
    arns["us-west-2"] = arns["us-east-1"].replace("us-east-1", "us-west-2")
    return parse_params(data, "p.yaml")


def test_a_region_that_cannot_be_judged_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judged: list[str] = []

    def reconcile_one(_p: Any, region: RegionParams, _who: str, report: RegionReport) -> None:
        judged.append(region.name)
        if region.name == "us-east-1":
            raise AwsError("DynamoDB get_item on ekslift-leases in us-east-1: ServiceUnavailable")
        report.action = "rolled-back"

    monkeypatch.setattr(reconcile, "self_test", lambda _p, _r: [])
    monkeypatch.setattr(reconcile, "_reconcile", reconcile_one)
    reports = {r.region: r for r in guard_pass(two_regions(), "guard")}
    assert judged == ["us-east-1", "us-west-2"]
    assert reports["us-east-1"].action == "guard-failed"
    assert "ServiceUnavailable" in reports["us-east-1"].reason
    assert reports["us-west-2"].action == "rolled-back"

"""Readiness against the sandbox: every seeded problem found with its change, and only those;
refusals are findings, throttling is retried, silence is a tool error; the CLI and the
functions step 4 calls."""

from __future__ import annotations

import fnmatch
import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ekslift import aws
from ekslift.cli import main
from ekslift.params import AwsParams, UpgradeParams, load_params
from ekslift.readiness import check, check_estate, verify_plans
from ekslift_sandbox.readiness_seed import SEEDED_READINESS

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def params(sandbox) -> UpgradeParams:
    aws.clear_cache()
    return load_params("params/demo.yaml")


@pytest.fixture(scope="module")
def estate(params):
    return check_estate(params)


def blockers(findings) -> set[str]:
    return {f.id for f in findings if f.severity == "blocker"}


def _post(url: str, body: dict[str, Any] | None, method: str = "POST") -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


@pytest.fixture
def aws_faults() -> Iterator[Any]:
    url = os.environ["AWS_ENDPOINT_URL"] + "/_sandbox/faults"
    yield lambda **spec: _post(url, spec)
    _post(url, None, "DELETE")


def test_every_seeded_problem_is_found_and_only_those(estate) -> None:
    found = blockers(estate.findings)
    unexpected = {i for i in found if not any(fnmatch.fnmatchcase(i, p) for p in SEEDED_READINESS)}
    missing = {p for p in SEEDED_READINESS if not any(fnmatch.fnmatchcase(i, p) for i in found)}
    assert not unexpected and not missing, (unexpected, missing)
    assert not estate.incomplete
    warnings = {f.id for f in estate.findings if f.severity == "warning"}
    assert "readiness/us-east-1/nat-egress/photos-use1-green" in warnings
    assert all(f.action for f in estate.findings), "every finding says what change to make"


def test_checked_at_the_step_after_the_albs_share(estate) -> None:
    assert [(r.region, r.current_share, r.share) for r in estate.reports] == [
        ("ap-northeast-1", 0, 5),
        ("us-east-1", 0, 5),
    ]
    apne1 = estate.reports[0]
    assert len(apne1.forward_actions) == 2, "the listener and the admin host rule, as one set"
    assert apne1.forward_actions[0].rule_arn is None


def test_each_check_reads_its_own_colour(estate) -> None:
    rows = {(r.region, r.finding_id): r for report in estate.reports for r in report.rows}
    # ap-northeast-1's role trusts both issuers, us-east-1's blue's only: green's issuer is read.
    assert (
        rows[("ap-northeast-1", "readiness/ap-northeast-1/trust-policy/photos/photo-api")].status
        == "ok"
    )
    # Blue keeps its floor in us-east-1 (HPA min 6) while green's HPA min is 2: blue's is read.
    assert rows[("us-east-1", "readiness/us-east-1/blue-floor/photos/photo-api")].status == "ok"
    # us-east-1's green misses zone c; blue is healthy there.
    assert rows[("us-east-1", "readiness/us-east-1/healthy-targets/blue/us-east-1c")].status == "ok"


def test_green_at_the_full_peak(params) -> None:
    report = check(params, "ap-northeast-1", 100)
    failing = {r.finding_id for r in report.rows if r.status == "fail"}
    assert "readiness/ap-northeast-1/autoscaler-max/photos/photo-api" in failing
    assert "readiness/ap-northeast-1/capacity/photos/web-frontend" in failing
    history = next(r for r in report.rows if r.check == "traffic-history")
    assert history.status == "ok" and "peak" in history.observed


def test_cli_text_json_and_exit_codes(params, tmp_path, capsys) -> None:
    assert main(["readiness", "--params", "params/demo.yaml", "--region", "us-east-1"]) == 0
    text = capsys.readouterr().out
    assert "weights-owner" in text and "waived" in text and "readiness: warn" in text
    strict = tmp_path / "strict.yaml"
    data = params.model_dump(mode="json", exclude={"waivers"})
    data["scan"]["manifest_paths"] = []
    strict.write_text(json.dumps(data))
    assert main(["readiness", "--params", str(strict), "--share", "25", "-o", "json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["schema_version"] == 1 and answer["gate"]["verdict"] == "fail"
    assert [r["share"] for r in answer["regions"]] == [25, 25]
    assert any(a["rule_arn"] for a in answer["regions"][0]["forward_actions"])
    owner = next(r for r in answer["regions"][1]["rows"] if r["check"] == "weights-owner")
    assert "ignore_changes = [default_action]" in owner["action"]


def test_verify_plans_follows_the_share(params) -> None:
    # us-east-1 is set up for the start: green's CronJob suspended, its consumer paused.
    assert verify_plans(params, "us-east-1", 0) == []
    at_half = {f.id for f in verify_plans(params, "us-east-1", 50)}
    assert at_half == {"readiness/us-east-1/plan-consumer/green/photos/thumbnailer"}
    at_full = {f.id for f in verify_plans(params, "us-east-1", 100)}
    assert at_full == {
        "readiness/us-east-1/plan-cronjob/blue/photos/nightly-prune",
        "readiness/us-east-1/plan-cronjob/green/photos/nightly-prune",
        "readiness/us-east-1/plan-consumer/blue/photos/thumbnailer",
        "readiness/us-east-1/plan-consumer/green/photos/thumbnailer",
    }


def test_access_denied_is_a_finding(params, aws_faults, sandbox) -> None:
    aws_faults(operation="GetServiceQuota", status=403, code="AccessDeniedException", times=1)
    server = sandbox.kube_servers["photos-use1-blue"]
    _post(
        server + "/_sandbox/faults", {"path": "horizontalpodautoscalers", "status": 403, "times": 1}
    )
    try:
        report = check(params, "us-east-1")
    finally:
        _post(server + "/_sandbox/faults", None, "DELETE")
    ids = {f.id: f for f in report.findings}
    assert "readiness/us-east-1/unreadable/service-quotas" in ids
    assert "readiness/us-east-1/unreadable/blue/autoscalers" in ids
    assert not any(r.check == "vcpu-quota" for r in report.rows)
    assert not report.incomplete and not report.ready


def test_throttling_is_retried(params, aws_faults) -> None:
    aws_faults(operation="DescribeTargetHealth", status=400, code="ThrottlingException", times=2)
    aws_faults(operation="GetMetricData", status=400, code="ThrottlingException", times=1)
    report = check(params, "us-east-1")
    assert not report.incomplete and not any(r.check == "unreadable" for r in report.rows)
    assert any(r.check == "healthy-targets" for r in report.rows)
    assert next(r for r in report.rows if r.check == "traffic-history").status == "ok"


def test_silence_makes_the_report_incomplete(params, aws_faults, tmp_path) -> None:
    quick = params.model_copy(update={"aws": AwsParams(retry_mode="standard", max_attempts=2)})
    aws_faults(operation="DescribeNatGateways", status=503, times=10)
    report = check(quick, "us-east-1")
    assert report.incomplete and "nat gateways" in report.incomplete[0]
    assert not report.ready and not any(r.check == "nat-egress" for r in report.rows)
    copy = tmp_path / "quick.yaml"
    copy.write_text(json.dumps(quick.model_dump(mode="json")))
    assert main(["readiness", "--params", str(copy), "--region", "us-east-1"]) == 3


def test_fixing_a_seed_clears_its_finding(params) -> None:
    region = params.region("us-east-1")
    assert region.traffic and region.traffic.alb
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    listener = region.traffic.alb.listener_arn
    elbv2.add_tags(
        ResourceArns=[listener], Tags=[{"Key": "ekslift.io/weights", "Value": "external"}]
    )
    try:
        report = check(params, "us-east-1")
    finally:
        elbv2.remove_tags(ResourceArns=[listener], TagKeys=["ekslift.io/weights"])
    owner = [r for r in report.rows if r.check == "weights-owner"]
    assert owner and all(r.status == "ok" for r in owner)

"""Step 3 against the sandbox: each seeded deployment gets the right proposal and reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ekslift.chartdiff.estate import ChartReport, analyse
from ekslift.chartdiff.judge import gate_findings
from ekslift.chartdiff.models import Proposal
from ekslift.params import UpgradeParams, load_params
from ekslift_sandbox.gitops import CHART_DIFF_SEEDS, SEED_REGION
from ekslift_sandbox.scenario import HELM_VALUE_SENTINEL

pytestmark = pytest.mark.sandbox
PARAMS_DIR = Path("params").resolve()


def params_with(tmp_path: Path, change: dict[str, object] | None = None) -> UpgradeParams:
    data = yaml.safe_load((PARAMS_DIR / "demo.yaml").read_text())
    for key, value in (change or {}).items():
        section, _, field = key.partition(".")
        data.setdefault(section, {})[field] = value
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_params(path, PARAMS_DIR)


@pytest.fixture(scope="module")
def report(sandbox, tmp_path_factory: pytest.TempPathFactory) -> ChartReport:
    tmp = tmp_path_factory.mktemp("charts")
    return analyse(params_with(tmp), helm_home=tmp / "helm", cache_dir=tmp / "cache")


def find(report: ChartReport, release: str, region: str = SEED_REGION) -> Proposal:
    return next(
        p
        for p in report.proposals
        if p.deployment.release == release and p.deployment.region == region
    )


def reasons(proposal: Proposal) -> str:
    parts = []
    for check in proposal.candidates:
        parts += check.reasons + check.notes
        if check.target is not None:
            parts.append(check.target.reason)
    return " | ".join(parts)


@pytest.mark.parametrize("chart", sorted(CHART_DIFF_SEEDS))
def test_each_seed_gets_its_proposal_and_reason(report: ChartReport, chart: str) -> None:
    proposed, why = CHART_DIFF_SEEDS[chart]
    proposal = find(report, chart)
    assert proposal.proposed == proposed, reasons(proposal)
    assert why in reasons(proposal)
    assert not proposal.blockers


def test_the_seeds_in_detail(report: ChartReport) -> None:
    router = find(report, "event-router")
    assert router.latest == "2.0.0" and router.runs_on_blue
    assert any("days old" in n for c in router.candidates for n in c.notes), "1.1.1 is too young"
    media = find(report, "media-worker")
    assert media.diff is not None and media.diff.user_keys_removed == ["legacyQueue.enabled"]
    assert any("legacyQueue" in line for line in media.diff.declared_changes)
    gallery = find(report, "gallery-export")
    assert "cronJob.enabled" in gallery.deployment.green[0].value_keys  # from the checkout
    events = find(report, "photo-events")
    if os.environ.get("EKSLIFT_OCI_REPO_URL"):
        assert events.deployment.repo_url.startswith("oci://")
        assert events.deployment.application_set == "photo-events"


def test_controllers_are_judged_first(report: ChartReport) -> None:
    blockers = {f.id for f in gate_findings(report) if f.severity == "blocker"}
    for region in ("ap-northeast-1", "us-east-1"):
        assert (
            f"chart-diff/{region}/cluster-autoscaler/cluster-autoscaler/no-compatible-version"
            in blockers
        )
        assert f"chart-diff/{region}/karpenter/karpenter/no-compatible-version" in blockers
    ca = find(report, "cluster-autoscaler")
    assert "must match the cluster's minor" in ca.blockers[0]
    nginx = find(report, "ingress-nginx")
    assert "retired upstream" in nginx.retired
    assert "is tested on Kubernetes 1.26–1.30" in nginx.controller_warnings[0]
    warnings = {f.id for f in gate_findings(report) if f.severity == "warning"}
    assert f"chart-diff/{SEED_REGION}/ingress-nginx/ingress-nginx/retired" in warnings
    assert f"chart-diff/{SEED_REGION}/ingress-nginx/ingress-nginx/controller" in warnings


def test_releases_are_matched_to_their_repository(report: ChartReport) -> None:
    redis = find(report, "redis")
    assert redis.deployment.repo_url == os.environ["EKSLIFT_CHART_REPO_URL"]
    assert "home" in redis.deployment.matched_by, "the community redis has another home"
    assert find(report, "metrics-server").deployment.matched_by == "the parameters' mapping"
    green_redis = find(report, "redis", "ap-northeast-1")
    assert green_redis.proposed == "19.6.4" and "cannot run" in green_redis.blockers[0]


def test_an_unmapped_mirror_is_reported_ambiguous(sandbox, tmp_path: Path) -> None:
    params = params_with(tmp_path, {"charts.sources": {}})
    report = analyse(params, helm_home=tmp_path / "helm", cache_dir=tmp_path / "cache")
    metrics = find(report, "metrics-server")
    assert metrics.deployment.matched_by.startswith("ambiguous") and not metrics.proposed
    ids = {f.id for f in gate_findings(report)}
    assert f"chart-diff/{SEED_REGION}/kube-system/metrics-server/not-judged" in ids


def test_a_value_file_missing_from_the_checkout(sandbox, tmp_path: Path) -> None:
    checkout = tmp_path / "gitops"
    shutil.copytree(os.environ["EKSLIFT_GITOPS_CHECKOUT"], checkout)
    (checkout / "apps" / "gallery-export" / "values.yaml").unlink()
    params = params_with(tmp_path, {"gitops.checkout": str(checkout)})
    report = analyse(params, helm_home=tmp_path / "helm", cache_dir=tmp_path / "cache")
    gallery = find(report, "gallery-export")
    assert any("missing from the GitOps checkout" in p for p in gallery.deployment.problems)
    # judged all the same, and the gate says on what: without the team's values the latest
    # would look fine -- which is why the file matters
    assert gallery.proposed == "1.1.0"
    ids = {f.id: f.severity for f in gate_findings(report)}
    assert ids[f"chart-diff/{SEED_REGION}/photos/gallery-export/read-problems"] == "warning"


def test_a_rerun_downloads_nothing_unchanged(sandbox, tmp_path: Path) -> None:
    params = params_with(tmp_path)
    first = analyse(params, helm_home=tmp_path / "helm", cache_dir=tmp_path / "cache")
    second = analyse(params, helm_home=tmp_path / "helm", cache_dir=tmp_path / "cache")
    assert second.stats["index not modified"] == 2  # the sandbox and community repositories
    assert second.stats["archive cached"] >= first.stats.get("archive cached", 0)
    assert second.stats.get("http 200", 0) < first.stats["http 200"] / 3  # OCI tags only


def test_cli_json_has_no_secret(sandbox) -> None:
    done = subprocess.run(
        [
            str(Path(".venv/bin/ekslift").resolve()),
            "charts",
            "--params",
            "params/demo.yaml",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["schema_version"] == 1 and data["proposals"]
    assert HELM_VALUE_SENTINEL not in done.stdout

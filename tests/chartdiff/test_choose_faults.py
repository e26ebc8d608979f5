"""The choice against a real (local) repository, and the ways a gate could be fooled.

A chart that renders "clean" only because a template rendered nothing, a candidate judged on
the wrong cluster's version, a missing index read as "no newer version", and every input
fault the step must report against the deployment it concerns.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from ekslift.apiscan.facts import load_facts
from ekslift.chartdiff.choose import ChoiceRules, Chooser
from ekslift.chartdiff.controllers import load_controllers
from ekslift.chartdiff.deployments import EstateDeployments
from ekslift.chartdiff.estate import ChartReport, judge_deployments
from ekslift.chartdiff.judge import gate_findings
from ekslift.chartdiff.models import Deployment, Instance
from ekslift.chartdiff.render import Renderer
from ekslift.chartdiff.repos import ChartEntry, ChartFetchError, ChartSources
from ekslift.charts.helm import Helm
from ekslift_sandbox.chartrepo import (
    FROM_CAPABILITIES,
    PINNED_LEGACY,
    ChartRepoServer,
    ChartSpec,
    ChartVersionSpec,
    render_chart,
)

NOTHING = {
    "workload": {"kind": "None"},
    "service": {"enabled": False},
    "serviceAccount": {"create": False},
}
SPEC = ChartSpec(
    "app",
    "a test chart",
    "service",
    {"podDisruptionBudget": {"enabled": True}},
    (
        ChartVersionSpec("1.0.0", "1.0.0", FROM_CAPABILITIES),
        ChartVersionSpec("1.1.0", "1.1.0", FROM_CAPABILITIES, "<1.34.0-0"),  # blue only
        ChartVersionSpec("1.2.0", "1.2.0", FROM_CAPABILITIES, None, NOTHING),  # renders nothing
        ChartVersionSpec("1.3.0", "1.3.0", PINNED_LEGACY),  # a removed API
        ChartVersionSpec("1.4.0", "1.4.0", FROM_CAPABILITIES, ">=1.34.0-0"),  # target only
        ChartVersionSpec("1.5.0", "1.5.0", FROM_CAPABILITIES),  # archive gone (404)
        ChartVersionSpec("1.6.0", "1.6.0", FROM_CAPABILITIES),  # archive corrupt
    ),
)


@pytest.fixture(scope="module")
def repo(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("repo")
    for version in SPEC.versions:
        work = tmp_path_factory.mktemp(f"build-{version.version}")
        helm.package(render_chart(SPEC, version, work), directory)
    helm.repo_index(directory)
    (directory / "app-1.5.0.tgz").unlink()
    (directory / "app-1.6.0.tgz").write_bytes(b"not a gzip archive")
    with ChartRepoServer(directory) as server:
        yield server.url


def deployment(url: str, version: str = "1.0.0") -> Deployment:
    return Deployment(
        "argocd",
        "app",
        "photos",
        "app",
        "r1",
        [
            Instance("app-green", "c-green", "green", version, Version("1.34")),
            Instance("app-blue", "c-blue", "blue", version, Version("1.33"), values={"x": 1}),
        ],
        repo_url=url,
        matched_by="test",
    )


def judge(helm: Helm, cache: Path, *deployments: Deployment, min_age: int = 0) -> ChartReport:
    chooser = Chooser(
        ChartSources(cache, helm),
        Renderer(helm, load_facts()),
        load_controllers(),
        ChoiceRules(Version("1.34"), datetime.now(UTC), min_age_days=min_age),
    )
    return judge_deployments(chooser, EstateDeployments(list(deployments)))


def test_each_candidate_is_judged_on_the_right_cluster(
    helm: Helm, repo: str, tmp_path: Path
) -> None:
    proposal = judge(helm, tmp_path, deployment(repo)).proposals[0]
    why = {
        c.version: "; ".join(c.reasons) or (c.target.reason if c.target else "")
        for c in proposal.candidates
    }
    assert "answered 404" in why["1.5.0"]
    assert "digest" in why["1.6.0"]
    # 1.4.0 runs on the target but not on blue: proposed, saying the bump ships with the
    # cutover, after looking for one that runs on both.
    assert proposal.proposed == "1.4.0" and proposal.runs_on_blue is False
    assert any("ships with the cutover" in n for n in proposal.notes)
    assert "removed in 1.34" in why["1.3.0"]
    # a render with no object is not clean, whatever the scan says
    assert "no object" in why["1.2.0"]
    # 1.1.0 renders on blue's 1.33 but excludes the target: never proposed for green
    assert "excludes Kubernetes 1.34" in why["1.1.0"]
    assert proposal.current_runs and not proposal.blockers
    assert proposal.cap == "1.4.0" and "1.6.0" in proposal.cap_reason


def test_minimum_age_and_current_that_cannot_run(helm: Helm, repo: str, tmp_path: Path) -> None:
    # every version was indexed just now: none is old enough
    young = judge(helm, tmp_path, deployment(repo), min_age=7).proposals[0]
    assert young.proposed == "1.0.0" and young.jump == "none"
    assert any("days old" in n for c in young.candidates for n in c.notes)
    stuck = judge(helm, tmp_path, deployment(repo, "1.3.0")).proposals[0]
    assert stuck.blockers and "1.3.0 cannot run on Kubernetes 1.34" in stuck.blockers[0]
    assert stuck.proposed == "1.4.0"
    ids = {
        f.id: f.severity for f in gate_findings(judge(helm, tmp_path, deployment(repo, "1.3.0")))
    }
    assert ids["chart-diff/r1/photos/app/cannot-run"] == "blocker"


def test_a_missing_index_is_not_read_as_no_newer_version(helm: Helm, tmp_path: Path) -> None:
    report = judge(helm, tmp_path, deployment("http://127.0.0.1:9"))
    proposal = report.proposals[0]
    assert proposal.not_judged and proposal.unreachable and not proposal.proposed
    assert report.incomplete, "a repository that never answered makes the step a tool error"
    findings = gate_findings(report)
    assert [f.id for f in findings] == ["chart-diff/r1/photos/app/not-judged"]
    assert findings[0].severity == "warning" and "not judged" in findings[0].title


def test_an_index_that_is_not_yaml(helm: Helm, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "index.yaml").write_text("apiVersion: v1\nentries: [unclosed\n")
    with ChartRepoServer(bad) as server:
        report = judge(helm, tmp_path / "cache", deployment(server.url))
    proposal = report.proposals[0]
    assert "not valid YAML" in proposal.not_judged and not proposal.unreachable
    assert not report.incomplete


def test_cache_downloads_nothing_unchanged(helm: Helm, repo: str, tmp_path: Path) -> None:
    first = ChartSources(tmp_path, helm)
    entries = first.http_index(repo)["app"]
    first.archive(next(e for e in entries if e.version == "1.0.0"))
    second = ChartSources(tmp_path, helm)
    entries = second.http_index(repo)["app"]
    second.archive(next(e for e in entries if e.version == "1.0.0"))
    assert second.stats == {"http 304": 1, "index not modified": 1, "archive cached": 1}


def test_corrupt_archive_without_digest(helm: Helm, repo: str, tmp_path: Path) -> None:
    entry = ChartEntry(repo, "app", "1.6.0", urls=("app-1.6.0.tgz",))
    with pytest.raises(ChartFetchError, match=r"not a valid \.tgz"):
        ChartSources(tmp_path, helm).archive(entry)
    assert not list(tmp_path.rglob("*.tgz")), "a bad archive is not kept in the cache"


def test_values_stay_out_of_every_output(helm: Helm, repo: str, tmp_path: Path) -> None:
    from ekslift.chartdiff import present

    secret = "SENTINEL-chart-value-do-not-leak"
    d = deployment(repo)
    d.instances[0] = Instance(
        "app-green",
        "c-green",
        "green",
        "1.0.0",
        Version("1.34"),
        values={"secret": {"enabled": True, "password": secret}},
    )
    report = judge(helm, tmp_path, d)
    text: list[Any] = [
        present.report_json(report),
        present.diffs_html(report),
        present.markdown(report),
    ]
    assert secret not in repr(text) and secret not in repr(report)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_cli_one_chart(
    repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ekslift.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    values = tmp_path / "values.yaml"
    values.write_text("replicaCount: 3\n")
    code = main(
        [
            "charts",
            "--chart",
            f"{repo}/app@1.3.0",
            "--values",
            str(values),
            "-t",
            "1.34",
            "--blue",
            "1.33",
            "--min-age",
            "0",
            "-o",
            "json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, "1.3.0 renders a removed API on 1.34: a blocker"
    proposal = json.loads(out)["proposals"][0]
    assert proposal["proposed"] == "1.4.0" and proposal["blockers"]
    assert main(["charts", "--chart", "not-a-ref", "-t", "1.34"]) == 2
    assert main(["charts", "--chart", f"{repo}/app@1.0.0"]) == 2  # no target

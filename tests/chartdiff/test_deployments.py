"""Reading deployments: Argo CD values from the GitOps checkout, ApplicationSets, helm
release records (a broken one is a problem of its release), and repository matching."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ekslift.argocd import read_app_charts
from ekslift.chartdiff import deployments as reading
from ekslift.chartdiff.deployments import EstateDeployments, match_repository, read_helm
from ekslift.chartdiff.models import Deployment
from ekslift.chartdiff.repos import ChartEntry
from ekslift.estate import EstateCluster
from ekslift.kube import KubeError
from ekslift_sandbox.helmrecords import encode_release_secret

APPS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
SETS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applicationsets"


class FakeKube:
    def __init__(
        self, lists: dict[str, list[dict[str, Any]]], objects: dict[str, Any] | None = None
    ) -> None:
        self.lists, self.objects = lists, objects or {}

    def list(self, path: str, *, label_selector: str | None = None) -> Iterator[dict[str, Any]]:
        if path not in self.lists:
            raise KubeError(f"{path} not served", status=404)
        yield from self.lists[path]

    def get_json(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        return self.objects[path]


def _app(name: str, spec: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [{"kind": "ApplicationSet", "name": owner}]
    return {
        "metadata": meta,
        "spec": spec,
        "status": {"sync": {"status": "Synced", "revisions": ["1.0.0", "abc"]}},
    }


def multi_source(files: list[str]) -> dict[str, Any]:
    return {
        "sources": [
            {
                "repoURL": "https://charts.example.com",
                "chart": "gallery",
                "targetRevision": "1.0.0",
                "helm": {
                    "valueFiles": files,
                    "valuesObject": {"b": 2},
                    "parameters": [{"name": "c.d", "value": "3"}],
                },
            },
            {"repoURL": "https://git.example.com/gitops.git", "ref": "values"},
        ],
        "destination": {"name": "green", "namespace": "photos"},
    }


def test_value_files_come_from_the_checkout(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "values.yaml").write_text("a: 1\nb: 1\n")
    kube = FakeKube(
        {
            "/api/v1/namespaces/argocd/secrets": [],
            APPS: [
                _app(
                    "gallery-green",
                    multi_source(
                        [
                            "$values/apps/values.yaml",
                            "$values/apps/missing.yaml",
                            "$other/x.yaml",
                            "in-chart.yaml",
                        ]
                    ),
                )
            ],
        }
    )
    charts, _ = read_app_charts(kube, "argocd", tmp_path)  # type: ignore[arg-type]
    app = charts[0]
    assert dict(app.values) == {"a": 1, "b": 2, "c": {"d": 3}}  # files < valuesObject < parameters
    assert app.revision == "1.0.0" and app.destination == "green"
    joined = " ".join(app.problems)
    assert "missing.yaml is missing from the GitOps checkout" in joined
    assert "no source of the app has `ref: other`" in joined
    assert "in-chart.yaml lives in the chart's own source" in joined
    assert "a: 1" not in repr(app), "values never in repr"
    # without a checkout the value file is named as not applied
    charts, _ = read_app_charts(kube, "argocd", None)  # type: ignore[arg-type]
    assert "give the GitOps checkout" in charts[0].problems[0]


def test_application_sets_are_read(tmp_path: Path) -> None:
    template = {
        "metadata": {"name": "events-{{short}}"},
        "spec": {
            "source": {
                "repoURL": "registry.example.com/charts",
                "chart": "events",
                "targetRevision": "0.1.0",
            },
            "destination": {"name": "{{cluster}}", "namespace": "photos"},
        },
    }
    appset = {
        "metadata": {"name": "events"},
        "spec": {
            "generators": [
                {
                    "list": {
                        "elements": [
                            {"cluster": "blue", "short": "b"},
                            {"cluster": "green", "short": "g"},
                        ]
                    }
                },
                {"git": {"repoURL": "x"}},
            ],
            "template": template,
        },
    }
    generated = _app(
        "events-b",
        {**template["spec"], "destination": {"name": "blue", "namespace": "photos"}},
        "events",
    )
    kube = FakeKube({"/api/v1/namespaces/argocd/secrets": [], APPS: [generated], SETS: [appset]})
    charts, problems = read_app_charts(kube, "argocd", None)  # type: ignore[arg-type]
    by_app = {c.app: c for c in charts}
    assert (
        by_app["events-b"].origin == "application"
        and by_app["events-b"].application_set == "events"
    )
    assert (
        by_app["events-g"].origin == "applicationset" and by_app["events-g"].destination == "green"
    )
    assert problems and "generator git is not expanded" in problems[0]
    # no ApplicationSet controller installed: nothing to read, not an error
    del kube.lists[SETS]
    assert len(read_app_charts(kube, "argocd", None)[0]) == 1  # type: ignore[arg-type]


def test_a_broken_release_record_is_a_problem_of_its_release(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = encode_release_secret(
        {
            "name": "redis",
            "namespace": "photos",
            "version": 1,
            "info": {"status": "deployed"},
            "chart": {"metadata": {"name": "redis", "version": "19.6.4", "home": "https://h"}},
            "config": {"password": "SENTINEL"},
            "manifest": "",
        }
    )
    broken = {
        "metadata": {
            "name": "sh.helm.release.v1.cache.v3",
            "namespace": "photos",
            "labels": {"owner": "helm", "name": "cache", "status": "deployed", "version": "3"},
        },
        "type": "helm.sh/release.v1",
        "data": {"release": base64.b64encode(b"H4sIAAAA-not-gzip").decode()},
    }
    kube = FakeKube(
        {"/api/v1/secrets": [good, broken], "/api/v1/configmaps": []},
        {f"/api/v1/namespaces/photos/secrets/{good['metadata']['name']}": good},
    )
    monkeypatch.setattr(reading, "KubeReader", lambda context: kube)
    out = EstateDeployments()
    found = read_helm(EstateCluster("r1", "green", "c-green", "ctx"), out)
    assert [d.release for d, _ in found] == ["redis"]
    redis = found[0][0]
    assert dict(redis.instances[0].values) == {"password": "SENTINEL"} and redis.home == "https://h"
    cache = next(d for d in out.deployments if d.release == "cache")
    assert "not read" in cache.problems[0] and not cache.instances


class Sources:
    def __init__(self, charts: dict[str, list[ChartEntry]]) -> None:
        self.charts = charts

    def http_index(self, url: str) -> dict[str, list[ChartEntry]]:
        return {
            name: [e for e in entries if e.repo_url == url] for name, entries in self.charts.items()
        }

    def oci_versions(self, url: str, chart: str) -> list[ChartEntry]:
        return []


def test_a_release_is_matched_by_home_and_an_ambiguous_match_is_not_guessed() -> None:
    ours = ChartEntry("http://ours", "redis", "19.6.4", home="https://github.com/ekslift/ekslift")
    theirs = ChartEntry(
        "http://community", "redis", "20.0.0", home="https://github.com/bitnami/charts"
    )
    mirror = ChartEntry(
        "http://community", "metrics-server", "3.12.1", home="https://github.com/ekslift/ekslift"
    )
    original = ChartEntry(
        "http://ours", "metrics-server", "3.12.1", home="https://github.com/ekslift/ekslift"
    )
    sources = Sources({"redis": [ours, theirs], "metrics-server": [original, mirror]})
    repos = ["http://ours", "http://community"]

    def release(chart: str) -> Deployment:
        return Deployment(
            "helm", chart, "ns", chart, "r1", home="https://github.com/ekslift/ekslift"
        )

    redis = release("redis")
    match_repository(redis, repos, {}, sources)  # type: ignore[arg-type]
    assert redis.repo_url == "http://ours" and "home" in redis.matched_by
    metrics = release("metrics-server")
    match_repository(metrics, repos, {}, sources)  # type: ignore[arg-type]
    assert metrics.repo_url == "" and metrics.matched_by.startswith("ambiguous")
    match_repository(metrics, repos, {"metrics-server": "http://ours"}, sources)  # type: ignore[arg-type]
    assert metrics.repo_url == "http://ours"

"""Argo CD values as Argo CD merges them; Upgrade Insights deprecation details as findings."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from packaging.version import Version

from ekslift.apiscan.facts import FactSet, Targets, load_facts
from ekslift.apiscan.sources.argocd import ArgoChartApp, app_values
from ekslift.apiscan.sources.insights import parse_usage, scan_insights


@pytest.fixture(scope="module")
def facts() -> FactSet:
    return load_facts()


def test_app_values_merge_order() -> None:
    helm_spec = {
        "values": "replicaCount: 1\nimage: {tag: old, pullPolicy: Always}\n",
        "valuesObject": {"image": {"tag": "new"}},
        "parameters": [
            {"name": "replicaCount", "value": "3"},
            {"name": "podAnnotations.prometheus\\.io/scrape", "value": "true"},
            {"name": "version", "value": "1.10", "forceString": True},
        ],
    }
    assert app_values(helm_spec) == {
        "replicaCount": 3,
        "image": {"tag": "new", "pullPolicy": "Always"},
        "podAnnotations": {"prometheus.io/scrape": True},
        "version": "1.10",
    }


def test_chart_refs_for_http_and_oci_repositories() -> None:
    app = ArgoChartApp("a", "https://charts.example.com", "redis", "1.2.3", "a", "c", "ns", {})
    assert app.chart_ref().repo_url == "https://charts.example.com"
    assert app.chart_ref("alias").chart == "alias/redis"
    oci = ArgoChartApp("a", "registry.example.com/charts", "redis", "1.2.3", "a", "c", "ns", {})
    assert oci.chart_ref().chart == "oci://registry.example.com/charts/redis"
    assert oci.chart_ref().version == "1.2.3"


def test_parse_usage() -> None:
    assert parse_usage("/apis/policy/v1beta1/poddisruptionbudgets") == (
        "policy/v1beta1",
        "poddisruptionbudgets",
    )
    assert parse_usage("/api/v1/endpoints") == ("v1", "endpoints")
    assert parse_usage("not a path") is None


def test_insights_deprecation_details_become_findings(facts: FactSet) -> None:
    eks = boto3.client("eks", region_name="ap-northeast-1", aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip
    stub = Stubber(eks)
    stub.add_response(
        "list_insights",
        {"insights": [{"id": "i-1", "name": "Deprecated APIs removed in Kubernetes v1.32"}]},
        {"clusterName": "green", "filter": {"categories": ["UPGRADE_READINESS"]}},
    )
    when = datetime(2026, 11, 20, tzinfo=UTC)
    stub.add_response(
        "describe_insight",
        {
            "insight": {
                "id": "i-1",
                "name": "Deprecated APIs removed in Kubernetes v1.32",
                "categorySpecificSummary": {
                    "deprecationDetails": [
                        {
                            "usage": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas",
                            "replacedWith": "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
                            "stopServingVersion": "1.32",
                            "startServingReplacementVersion": "1.29",
                            "clientStats": [
                                {
                                    "userAgent": "old-operator/1.0",
                                    "numberOfRequestsLast30Days": 5,
                                    "lastRequestTime": when,
                                },
                                {
                                    "userAgent": "kube-prometheus/0.9",
                                    "numberOfRequestsLast30Days": 900,
                                    "lastRequestTime": when,
                                },
                            ],
                        }
                    ]
                },
            }
        },
        {"clusterName": "green", "id": "i-1"},
    )
    with stub:
        result = scan_insights(eks, facts, Targets(Version("1.32")), cluster="green")
    [sighting] = result.sightings
    assert sighting.source == "insights"
    assert (sighting.kind, sighting.api_version, sighting.status) == (
        "FlowSchema",
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "removed",
    )
    assert sighting.name is None and sighting.cluster == "green"
    clients = sighting.extra["clients"]
    assert clients[0] == {
        "user_agent": "kube-prometheus/0.9",
        "requests_last_30_days": 900,
        "last_request": when.isoformat(),
    }
    assert "kube-prometheus/0.9 (900 requests)" in sighting.note


def test_insights_access_denied_is_a_problem(facts: FactSet) -> None:
    eks = boto3.client("eks", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip
    stub = Stubber(eks)
    stub.add_client_error("list_insights", "AccessDeniedException", "no")
    with stub:
        result = scan_insights(eks, facts, Targets(Version("1.34")), cluster="blue")
    [problem] = result.problems
    assert "eks:ListInsights" in problem.message and result.sightings == []

"""EKS Upgrade Insights: API calls EKS saw in the last 30 days on deprecated APIs.

Insights are the only source that sees *clients* rather than objects: a CI job with an old
kubectl, an operator polling `policy/v1beta1`. They name no object, so each deprecation
detail becomes one unnamed row per cluster and API, with the client user agents and request
counts in `extra` -- that is who has to change.

Only `UPGRADE_READINESS` insights are read (checked on each insight, not only asked of the
filter), and each detail keeps its insight's `kubernetesVersion` and status: an insight
about a version beyond the scan's target speaks of the *next* upgrade, one at or below it of
this one (the gate weighs them differently).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from packaging.version import InvalidVersion

from ekslift.apiscan.contract import SourceResult
from ekslift.apiscan.facts import ApiFact, ApiStatus, FactSet, Targets, parse_version
from ekslift.apiscan.sightings import ScanProblem, Sighting

log = logging.getLogger(__name__)
CATEGORY = "UPGRADE_READINESS"
_USAGE = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/(?P<plural>[^/?]+)"
)


def _plural_forms(kind: str) -> set[str]:
    lower = kind.lower()
    forms = {lower, f"{lower}s", f"{lower}es"}
    if lower.endswith("y"):
        forms.add(f"{lower[:-1]}ies")
    return forms


def parse_usage(usage: str) -> tuple[str, str] | None:
    """`/apis/policy/v1beta1/poddisruptionbudgets` -> (`policy/v1beta1`, plural)."""
    match = _USAGE.match(usage or "")
    if match is None:
        return None
    group_version = "v1" if match["core"] else f"{match['group']}/{match['version']}"
    return group_version, match["plural"]


def fact_for_usage(facts: FactSet, group_version: str, plural: str) -> ApiFact | None:
    """The fact of the kind whose resource is `plural` (kind-specific first)."""
    candidates = [f for f in facts.facts if f.group_version == group_version]
    for fact in candidates:
        if fact.kind and plural in _plural_forms(fact.kind):
            return fact
    return next((f for f in candidates if f.kind is None), None)


def beyond_target(sighting: Sighting, targets: Targets) -> bool:
    """Whether an insight speaks of a version after the target (the next upgrade). An
    insight without a readable version counts as this upgrade's, the safer reading."""
    try:
        version = parse_version(str(sighting.extra.get("kubernetes_version") or ""))
    except InvalidVersion:
        return False
    return version is not None and version > targets.kubernetes


def _severity_by_stop(stop: str | None, targets: Targets) -> ApiStatus:
    """Without a fact, EKS's own `stopServingVersion` decides removed vs deprecated."""
    try:
        version = parse_version(stop)
    except InvalidVersion:
        version = None
    return "removed" if version is not None and targets.kubernetes >= version else "deprecated"


def _clients(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    clients = []
    for stat in detail.get("clientStats") or []:
        last = stat.get("lastRequestTime")
        clients.append(
            {
                "user_agent": stat.get("userAgent", ""),
                "requests_last_30_days": stat.get("numberOfRequestsLast30Days", 0),
                "last_request": last.isoformat() if isinstance(last, datetime) else last,
            }
        )
    return sorted(clients, key=lambda c: -int(c["requests_last_30_days"] or 0))


def detail_finding(
    detail: Mapping[str, Any],
    insight: Mapping[str, Any],
    facts: FactSet,
    targets: Targets,
    cluster: str,
) -> Sighting | None:
    """One deprecation detail as a finding (None when the usage path is not an API path)."""
    parsed = parse_usage(str(detail.get("usage", "")))
    if parsed is None:
        return None
    group_version, plural = parsed
    fact = fact_for_usage(facts, group_version, plural)
    status = fact.severity_at(targets.for_component(fact.component)) if fact else None
    if status is None:
        status = _severity_by_stop(detail.get("stopServingVersion"), targets)
    clients = _clients(detail)
    agents = ", ".join(
        f"{c['user_agent']} ({c['requests_last_30_days']} requests)" for c in clients[:3]
    )
    replaced = detail.get("replacedWith") or ""
    stop = detail.get("stopServingVersion") or "an unannounced release"
    note = (
        f"EKS saw calls to {detail.get('usage')} in the last 30 days"
        + (f" from {agents}" if agents else "")
        + (f"; point these clients at {replaced}" if replaced else "")
        + f" (no longer served from {stop})."
    )
    best = (facts.best_replacement(fact, targets) or fact) if fact else None
    return Sighting(
        source="insights",
        kind=fact.kind if fact and fact.kind else plural,
        api_version=group_version,
        cluster=cluster,
        rule=fact.id if fact else f"{group_version}/{plural}",
        status=status,
        replacement=best.replacement_text() if best else replaced,
        note=note,
        extra={
            "insight": insight.get("name", ""),
            "kubernetes_version": insight.get("kubernetesVersion", ""),
            "insight_status": (insight.get("insightStatus") or {}).get("status", ""),
            "insight_id": insight.get("id", ""),
            "usage": detail.get("usage", ""),
            "replaced_with": replaced,
            "stop_serving_version": detail.get("stopServingVersion", ""),
            "clients": clients,
        },
    )


def scan_insights(eks: Any, facts: FactSet, targets: Targets, *, cluster: str) -> SourceResult:
    """ListInsights + DescribeInsight for one cluster; deprecation details as findings."""
    result = SourceResult(label="insights")
    try:
        pages = eks.get_paginator("list_insights").paginate(
            clusterName=cluster, filter={"categories": [CATEGORY]}
        )
        summaries = [s for page in pages for s in page.get("insights", [])]
        for summary in summaries:
            insight = eks.describe_insight(clusterName=cluster, id=summary["id"])["insight"]
            if insight.get("category", CATEGORY) != CATEGORY:
                continue
            details = (insight.get("categorySpecificSummary") or {}).get("deprecationDetails")
            for detail in details or []:
                sighting = detail_finding(detail, insight, facts, targets, cluster)
                if sighting is not None:
                    result.sightings.append(sighting)
    except (ClientError, BotoCoreError) as exc:
        result.problems.append(
            ScanProblem(
                f"cluster {cluster}",
                f"EKS Upgrade Insights not read: {exc}; check eks:ListInsights and "
                "eks:DescribeInsight permissions",
            )
        )
        return result
    result.count("insights", len(summaries))
    return result

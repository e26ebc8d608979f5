"""What EKS itself says about a cluster: version, support window, node groups, add-ons, insights.

All calls are reads. Support dates come from DescribeClusterVersions where the account can
call it, and from the bundled calendar otherwise (older SDKs, restricted roles), and each
row says which source it used so nobody mistakes a fallback for the live answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from botocore.exceptions import ClientError

from ekslift.errors import is_unreachable
from ekslift.estate import EstateCluster
from ekslift.inventory import facts
from ekslift.inventory.models import (
    AddonRow,
    ClusterRow,
    InsightRow,
    NodegroupRow,
    SupportWindow,
)

log = logging.getLogger(__name__)


@cache
def bundled_calendar() -> dict[str, SupportWindow]:
    text = files("ekslift.inventory").joinpath("data/eks_versions.yaml").read_text("utf-8")
    rows = yaml.load(text, Loader=yaml.CSafeLoader)["versions"]
    return {
        str(row["clusterVersion"]): SupportWindow(
            version=str(row["clusterVersion"]),
            release_date=row.get("releaseDate"),
            end_of_standard=row.get("endOfStandardSupportDate"),
            end_of_extended=row.get("endOfExtendedSupportDate"),
            source="bundled calendar",
        )
        for row in rows
    }


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if hasattr(value, "date") else value


def support_calendar(eks: Any) -> dict[str, SupportWindow]:
    """Live support dates, merged over the bundled calendar (live wins where present)."""
    calendar = dict(bundled_calendar())
    try:
        pages = eks.get_paginator("describe_cluster_versions").paginate(includeAll=True)
        for page in pages:
            for row in page.get("clusterVersions", []):
                version = row["clusterVersion"]
                calendar[version] = SupportWindow(
                    version=version,
                    release_date=_as_date(row.get("releaseDate")),
                    end_of_standard=_as_date(row.get("endOfStandardSupportDate")),
                    end_of_extended=_as_date(row.get("endOfExtendedSupportDate")),
                    source="DescribeClusterVersions",
                )
    except ClientError as exc:
        log.warning("DescribeClusterVersions unavailable (%s); using the bundled calendar", exc)
    return calendar


def read_cluster(
    eks: Any, where: EstateCluster, calendar: dict[str, SupportWindow], today: date
) -> ClusterRow:
    cluster = eks.describe_cluster(name=where.cluster)["cluster"]
    version = cluster["version"]
    window = calendar.get(version, SupportWindow(version, None, None, None, source="unknown"))
    return ClusterRow(
        where=where,
        version=version,
        platform_version=cluster.get("platformVersion", ""),
        status=cluster.get("status", ""),
        support_phase=window.phase(today),
        days_to_end_of_standard=(window.end_of_standard - today).days
        if window.end_of_standard
        else None,
        days_to_end_of_extended=(window.end_of_extended - today).days
        if window.end_of_extended
        else None,
        support=window,
        support_type=(cluster.get("upgradePolicy") or {}).get("supportType", ""),
    )


def read_nodegroups(eks: Any, where: EstateCluster, target: str) -> list[NodegroupRow]:
    rows = []
    for page in eks.get_paginator("list_nodegroups").paginate(clusterName=where.cluster):
        for name in page.get("nodegroups", []):
            ng = eks.describe_nodegroup(clusterName=where.cluster, nodegroupName=name)["nodegroup"]
            ami_type = ng.get("amiType", "CUSTOM")
            rows.append(
                NodegroupRow(
                    where=where,
                    name=name,
                    ami_type=ami_type,
                    version=ng.get("version", ""),
                    release_version=ng.get("releaseVersion", ""),
                    desired_size=int(ng.get("scalingConfig", {}).get("desiredSize", 0)),
                    ami_supported_on_target=facts.ami_supported(ami_type, target),
                )
            )
    return rows


def addon_version_key(version: str) -> tuple[int, ...]:
    """`v1.20.4-eksbuild.2` sorts as (1, 20, 4, 2): the API's order is not a promise."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _catalogue(eks: Any, addon: str) -> dict[str, dict[str, bool]]:
    """Every published version of an add-on → {cluster version: is it the default there}.

    One DescribeAddonVersions per add-on without `kubernetesVersion`: each version carries
    its `compatibilities[].clusterVersion`, which answers every hop at once.
    """
    catalogue: dict[str, dict[str, bool]] = {}
    pages = eks.get_paginator("describe_addon_versions").paginate(addonName=addon)
    for page in pages:
        for info in page.get("addons", []):
            if info.get("addonName") != addon:
                continue
            for version in info.get("addonVersions", []):
                catalogue[version["addonVersion"]] = {
                    c["clusterVersion"]: bool(c.get("defaultVersion"))
                    for c in version.get("compatibilities", [])
                    if c.get("clusterVersion")
                }
    return catalogue


def addon_row(
    where: EstateCluster,
    addon: dict[str, Any],
    catalogue: dict[str, dict[str, bool]] | None,
    must_run_on: list[str],
    problem: str = "",
) -> AddonRow:
    """Judge-ready facts of one add-on: is the installed version compatible with the first
    version it must run on, and which of those versions have no build of it at all.

    `catalogue` None means EKS was not asked successfully: compatibility stays unknown.
    """
    installed = addon.get("addonVersion", "")
    target = must_run_on[-1]
    row = AddonRow(
        where=where,
        name=addon.get("addonName", ""),
        version=installed,
        status=addon.get("status", ""),
        checked_against=must_run_on[0],
        installed_compatible=None,
        no_version_for="",
        default_for_target=None,
        latest_for_target=None,
        problem=problem,
    )
    if catalogue is None:
        return row
    on_target = [v for v, clusters in catalogue.items() if target in clusters]
    return replace(
        row,
        installed_compatible=must_run_on[0] in catalogue.get(installed, {}),
        no_version_for=", ".join(
            v for v in must_run_on if not any(v in c for c in catalogue.values())
        ),
        default_for_target=next((v for v in on_target if catalogue[v][target]), None),
        latest_for_target=max(on_target, key=addon_version_key, default=None),
    )


def read_addons(eks: Any, where: EstateCluster, must_run_on: list[str]) -> list[AddonRow]:
    """EKS add-ons against the versions they must run on (`must_run_on`, oldest first).

    A refused DescribeAddonVersions (AccessDenied, throttling past retries) is kept on the
    row as its problem, never read as "compatible".
    """
    rows = []
    for page in eks.get_paginator("list_addons").paginate(clusterName=where.cluster):
        for name in page.get("addons", []):
            addon = eks.describe_addon(clusterName=where.cluster, addonName=name)["addon"]
            try:
                catalogue = _catalogue(eks, name)
            except ClientError as exc:
                if is_unreachable(exc):
                    raise
                rows.append(addon_row(where, addon, None, must_run_on, f"{exc}"))
                continue
            rows.append(addon_row(where, addon, catalogue, must_run_on))
    return rows


def read_insights(eks: Any, where: EstateCluster) -> list[InsightRow]:
    rows = []
    for page in eks.get_paginator("list_insights").paginate(clusterName=where.cluster):
        for summary in page.get("insights", []):
            detail = eks.describe_insight(clusterName=where.cluster, id=summary["id"])["insight"]
            status = detail.get("insightStatus", {})
            rows.append(
                InsightRow(
                    where=where,
                    id=summary["id"],
                    name=detail.get("name", ""),
                    category=detail.get("category", ""),
                    status=status.get("status", "UNKNOWN"),
                    reason=status.get("reason", ""),
                    kubernetes_version=detail.get("kubernetesVersion", ""),
                    recommendation=detail.get("recommendation", ""),
                )
            )
    return rows

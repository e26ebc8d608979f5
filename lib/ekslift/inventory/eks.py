"""What EKS itself says about a cluster: version, support window, node groups, add-ons, insights.

All calls are reads. Support dates come from DescribeClusterVersions where the account can
call it, and from the bundled calendar otherwise (older SDKs, restricted roles), and each
row says which source it used so nobody mistakes a fallback for the live answer.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from botocore.exceptions import ClientError

from ekslift.estate import EstateCluster
from ekslift.inventory.models import (
    AddonRow,
    ClusterRow,
    InsightRow,
    NodegroupRow,
    SupportWindow,
)
from ekslift.versions import parse_minor

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
    )


@cache
def compat_facts() -> dict[str, Any]:
    text = files("ekslift.inventory").joinpath("data/compat.yaml").read_text("utf-8")
    return yaml.load(text, Loader=yaml.CSafeLoader)


def ami_supported(ami_type: str, version: str) -> bool:
    fact = compat_facts()["ami_types"].get(ami_type)
    if fact is None:
        log.warning("AMI type %s is not in compat.yaml; assuming it is supported", ami_type)
        return True
    if "last" in fact and parse_minor(version) > parse_minor(str(fact["last"])):
        return False
    return not ("first" in fact and parse_minor(version) < parse_minor(str(fact["first"])))


def ami_replacement(ami_type: str) -> str | None:
    return compat_facts()["ami_types"].get(ami_type, {}).get("replacement")


def kubelet_max_older(control_plane: str) -> int:
    allowed = 2
    for rule in compat_facts()["kubelet_max_older"]:
        if parse_minor(control_plane) >= parse_minor(str(rule["since"])):
            allowed = int(rule["minors"])
    return allowed


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
                    ami_supported_on_target=ami_supported(ami_type, target),
                )
            )
    return rows


def addon_version_key(version: str) -> tuple[int, ...]:
    """`v1.20.4-eksbuild.2` sorts as (1, 20, 4, 2): the API's order is not a promise."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _versions_for(eks: Any, addon: str, target: str) -> list[dict[str, Any]]:
    versions: list[dict[str, Any]] = []
    pages = eks.get_paginator("describe_addon_versions").paginate(
        addonName=addon, kubernetesVersion=target
    )
    for page in pages:
        for info in page.get("addons", []):
            if info.get("addonName") == addon:
                versions += info.get("addonVersions", [])
    return versions


def read_addons(eks: Any, where: EstateCluster, target: str) -> list[AddonRow]:
    rows = []
    for page in eks.get_paginator("list_addons").paginate(clusterName=where.cluster):
        for name in page.get("addons", []):
            addon = eks.describe_addon(clusterName=where.cluster, addonName=name)["addon"]
            versions = _versions_for(eks, name, target)
            default = next(
                (
                    v["addonVersion"]
                    for v in versions
                    for c in v.get("compatibilities", [])
                    if c.get("clusterVersion") == target and c.get("defaultVersion")
                ),
                None,
            )
            rows.append(
                AddonRow(
                    where=where,
                    name=name,
                    version=addon.get("addonVersion", ""),
                    status=addon.get("status", ""),
                    supports_target=bool(versions),
                    default_for_target=default,
                    latest_for_target=max(
                        (v["addonVersion"] for v in versions), key=addon_version_key, default=None
                    ),
                )
            )
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

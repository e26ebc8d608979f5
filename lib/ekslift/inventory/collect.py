"""Step 1 end to end: read every cluster of the parameters, judge, and hand back tables.

Clusters are read concurrently (a few regions × blue/green, each a handful of API round
trips plus one big pod list), and a cluster that cannot be read at all is reported as a
finding instead of aborting the whole inventory: an operator still sees the rest.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from ekslift import argocd, aws
from ekslift.argocd import ArgoAppRow
from ekslift.errors import is_unreachable
from ekslift.estate import EstateCluster, cluster_index, estate_clusters
from ekslift.gate import Finding
from ekslift.inventory import cluster, eks, judge, parity
from ekslift.inventory.models import (
    ClusterInventory,
    HopRow,
    ParityGap,
    SupportWindow,
)
from ekslift.kube import KubeError, KubeReader
from ekslift.params import UpgradeParams

log = logging.getLogger(__name__)
_READ_ERRORS = (ClientError, BotoCoreError, KubeError)


@dataclass
class Inventory:
    target: str
    today: date
    clusters: list[ClusterInventory]
    argocd_apps: list[ArgoAppRow]
    parity: list[ParityGap]
    calendar: dict[str, SupportWindow]
    # In-place regions: every hop, each component in EKS's order, and what blocks it there.
    plan: list[HopRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # What could not be reached at all: the step then ends as a tool error (exit 3).
    incomplete: list[str] = field(default_factory=list)

    def frame(self, table: str) -> pd.DataFrame:
        """One table across all clusters as a DataFrame (`where` flattened to columns)."""
        if table == "clusters":
            rows: list[Any] = [c.cluster for c in self.clusters if c.cluster]
        elif table == "argocd_apps":
            rows = self.argocd_apps
        elif table == "parity":
            rows = self.parity
        elif table == "plan":
            rows = self.plan
        else:
            rows = [row for c in self.clusters for row in getattr(c, table)]
        return pd.DataFrame([_flatten(r) for r in rows])

    def apps_by_chart(self) -> pd.DataFrame:
        """One row per chart, one column per cluster: the revision Argo CD deploys there,
        marked when the app is not Synced/Healthy — 80-odd Applications at a glance."""
        frame = self.frame("argocd_apps")
        if frame.empty:
            return frame
        frame = frame.dropna(subset=["cluster"])
        healthy = (frame["sync_status"] == "Synced") & (frame["health_status"] == "Healthy")
        frame["state"] = frame["target_revision"].where(
            healthy,
            frame["target_revision"]
            + " ("
            + frame["sync_status"]
            + "/"
            + frame["health_status"]
            + ")",
        )
        matrix = frame.pivot_table(
            index=["namespace", "chart"],
            columns=["region", "role"],
            values="state",
            aggfunc="first",
        )
        return matrix.fillna("— missing")

    def workload_totals(self) -> pd.DataFrame:
        """Workload counts summed per cluster (the per-namespace rows are in the CSV)."""
        columns = [
            "deployments",
            "statefulsets",
            "daemonsets",
            "cronjobs",
            "pods",
            "pods_not_running",
        ]
        frame = self.frame("workloads")
        if frame.empty:
            return frame
        return frame.groupby(["region", "role", "cluster"])[columns].sum()


def _flatten(row: Any) -> dict[str, Any]:
    data = asdict(row) if is_dataclass(row) and not isinstance(row, type) else dict(row)
    where = data.pop("where", None) or {}
    support = data.pop("support", None)
    if support is not None:
        data["support_source"] = support["source"]
    return {**where, **data}


def _read_cluster(
    where: EstateCluster,
    target: str,
    region_eks: Any,
    calendar: dict[str, SupportWindow],
    today: date,
) -> ClusterInventory:
    try:
        row = eks.read_cluster(region_eks, where, calendar, today)
    except _READ_ERRORS as exc:
        unread = ClusterInventory(cluster=None)
        _record(unread, where, "cluster", exc)
        unread.problems["cluster"] = f"{where.cluster}: {exc}"
        return unread
    inv = ClusterInventory(cluster=row)
    kube = KubeReader(where.context)
    must_run_on = judge.path_of(inv, target)
    readers = {
        "nodegroups": lambda: eks.read_nodegroups(region_eks, where, target),
        "addons": lambda: eks.read_addons(region_eks, where, must_run_on),
        "insights": lambda: eks.read_insights(region_eks, where),
        "nodes": lambda: cluster.read_nodes(kube, where, row.version, target),
        "nodeclasses": lambda: cluster.read_nodeclasses(kube, where),
        "pdbs": lambda: cluster.read_pdbs(kube, where),
    }
    for area, read in readers.items():
        try:
            setattr(inv, area, read())
        except _READ_ERRORS as exc:
            _record(inv, where, area, exc)
    try:
        eks_addons = {a.name for a in inv.addons}
        inv.workloads, inv.objects, inv.core_addons = cluster.read_workloads(
            kube, where, eks_addons
        )
    except _READ_ERRORS as exc:
        _record(inv, where, "workloads", exc)
    try:
        others = cluster.read_parity_objects(kube, where, crd_use=where.role == "blue")
        inv.objects.update(others)
    except _READ_ERRORS as exc:
        _record(inv, where, "parity-objects", exc)
    try:
        inv.helm_releases, release_problems = cluster.read_helm_releases(kube, where)
        inv.problems.update({f"helm-release-{i}": p for i, p in enumerate(release_problems)})
    except _READ_ERRORS as exc:
        _record(inv, where, "helm-releases", exc)
    return inv


def _record(inv: ClusterInventory, where: EstateCluster, area: str, exc: Exception) -> None:
    inv.problems[area] = str(exc)
    if is_unreachable(exc):
        inv.unreachable.append(f"{where.cluster} ({area})")


def _configure_aws(params: UpgradeParams) -> None:
    aws.configure_from(params.aws)


def collect_cluster(
    params: UpgradeParams, region: str, role: str, *, today: date | None = None
) -> ClusterInventory:
    """One cluster of the parameters alone, without Argo CD, parity or findings.

    For re-reading a single cluster after a fix, and for measuring the biggest cluster on its
    own (bench/inventory_scale.py); `collect` reads every cluster the same way.
    """
    params.region(region)
    found = [c for c in estate_clusters(params) if c.region == region and c.role == role]
    if not found:
        raise KeyError(f"role {role!r} is not a cluster role of region {region}")
    _configure_aws(params)
    region_eks = aws.client("eks", region, params.aws.profile)
    return _read_cluster(
        found[0],
        params.target_version,
        region_eks,
        eks.support_calendar(region_eks),
        today or datetime.now(UTC).date(),
    )


def collect(params: UpgradeParams, *, today: date | None = None) -> Inventory:
    today = today or datetime.now(UTC).date()
    target = params.target_version
    jobs = []
    _configure_aws(params)
    with ThreadPoolExecutor(max_workers=8) as pool:
        calendars, clients = {}, {}
        for region in params.regions:
            clients[region.name] = aws.client("eks", region.name, params.aws.profile)
            calendars[region.name] = eks.support_calendar(clients[region.name])
        for where in estate_clusters(params):
            region_name = where.region or ""
            jobs.append(
                pool.submit(
                    _read_cluster,
                    where,
                    target,
                    clients[region_name],
                    calendars[region_name],
                    today,
                )
            )
        apps_job = pool.submit(_read_argocd, params)
        clusters = [job.result() for job in jobs]
        apps, argocd_problem, argocd_unreachable = apps_job.result()
    gaps = parity_gaps(params, clusters, apps)
    findings = [f for c in clusters for f in judge.cluster_findings(c, target)]
    findings += [f for c in clusters if c.cluster is None for f in _unreadable(c)]
    findings += judge.parity_findings(gaps)
    if argocd_problem:
        findings.append(
            Finding(
                id="inventory/argocd/unreadable",
                severity="warning",
                title=f"Argo CD Applications could not be read: {argocd_problem}",
                action="check argocd.kube_context and namespace in the parameters",
            )
        )
    calendar = next(iter(calendars.values()), {})
    incomplete = [area for c in clusters for area in c.unreachable]
    if argocd_unreachable:
        incomplete.append("Argo CD (Applications)")
    plan = [row for c in clusters for row in judge.hop_plan(c, target)]
    return Inventory(target, today, clusters, apps, gaps, calendar, plan, findings, incomplete)


def parity_gaps(
    params: UpgradeParams, clusters: list[ClusterInventory], apps: list[ArgoAppRow]
) -> list[ParityGap]:
    """Blue against green in each blue-green region, matched by region and role: EKS names
    are unique per region only, so two regions may both have a `photos-blue`."""
    by_role = {(c.cluster.where.region, c.cluster.where.role): c for c in clusters if c.cluster}
    gaps: list[ParityGap] = []
    for region in params.regions:
        if region.strategy != "blue-green":
            continue  # in place: one cluster, nothing to compare it with
        gaps += parity.app_gaps(region.name, apps)
        blue, green = by_role.get((region.name, "blue")), by_role.get((region.name, "green"))
        if blue and green:
            gaps += parity.cluster_gaps(region.name, blue, green)
    return gaps


def _unreadable(inv: ClusterInventory) -> list[Finding]:
    return [
        Finding(
            id=f"inventory/unreadable/{area}/{message.split(':', 1)[0]}",
            severity="blocker",
            title=f"cluster could not be read: {message}",
            action="check the EKS name, region and AWS credentials in the parameters",
        )
        for area, message in inv.problems.items()
    ]


def _read_argocd(params: UpgradeParams) -> tuple[list[ArgoAppRow], str, bool]:
    """Applications, or what went wrong reading them and whether Argo CD was unreachable."""
    if params.argocd is None:
        return [], "", False
    try:
        kube = KubeReader(params.argocd.kube_context)
        apps = argocd.read_applications(kube, params.argocd.namespace, cluster_index(params))
    except _READ_ERRORS as exc:
        return [], str(exc), is_unreachable(exc)
    return apps, "", False

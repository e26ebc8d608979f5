"""Inventory rows in, gate findings out: which facts block the upgrade and which only inform.

For a blue/green upgrade what blocks is what the green cluster (the one running the target)
would suffer; the same facts on blue are reported as `info`, because blue is retired, not
upgraded. Finding ids are stable (`inventory/<region>/<cluster>/<rule>/<object>`) so that a
parameter file can waive one by name.
"""

from __future__ import annotations

import re

from ekslift.estate import EstateCluster
from ekslift.gate import Finding, Severity
from ekslift.inventory.eks import ami_replacement, kubelet_max_older
from ekslift.inventory.models import ClusterInventory, ParityGap
from ekslift.versions import minor_distance

_BLUE_RULES_THAT_WARN = {"support"}
SUPPORT_WARNING_DAYS = 90


def _finding(
    where: EstateCluster, rule: str, obj: str, severity: Severity, title: str, **kw: str
) -> Finding:
    if where.role != "green" and rule not in _BLUE_RULES_THAT_WARN and severity != "info":
        severity = "info"
        title = f"(blue, for information) {title}"
    return Finding(
        id=f"inventory/{where.region}/{where.cluster}/{rule}/{obj}",
        severity=severity,
        title=title,
        region=where.region,
        cluster=where.cluster,
        role=where.role,
        obj=obj,
        **kw,
    )


def _slug(name: str) -> str:
    """Insight ids are per-cluster UUIDs; their names are stable and readable in waivers."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def cluster_findings(inv: ClusterInventory, target: str) -> list[Finding]:
    findings: list[Finding] = []
    if inv.cluster is None:
        return findings
    cluster = inv.cluster
    where = cluster.where
    if where.role == "green" and minor_distance(target, cluster.version) != 0:
        findings.append(
            _finding(
                where,
                "green-version",
                where.cluster,
                "blocker",
                f"green runs {cluster.version}, not the target {target}",
                action="upgrade green's control plane to the target before shifting traffic",
            )
        )
    if cluster.support_phase in ("extended", "unsupported"):
        findings.append(
            _finding(
                where,
                "support",
                where.cluster,
                "warning",
                f"{cluster.version} is in {cluster.support_phase} support "
                f"(extended ends in {cluster.days_to_end_of_extended} days)",
                action="finish this upgrade: extended support is billed per cluster-hour",
            )
        )
    days_left = cluster.days_to_end_of_standard
    if where.role == "green" and days_left is not None and 0 <= days_left < SUPPORT_WARNING_DAYS:
        findings.append(
            _finding(
                where,
                "support",
                where.cluster,
                "warning",
                f"the target {cluster.version} leaves standard support in {days_left} days "
                f"({cluster.support.end_of_standard})",
                action="plan the next upgrade now; extended support is billed",
            )
        )
    for ng in inv.nodegroups:
        if not ng.ami_supported_on_target:
            replacement = ami_replacement(ng.ami_type) or "a supported AMI type"
            findings.append(
                _finding(
                    where,
                    "ami-type",
                    ng.name,
                    "blocker",
                    f"node group {ng.name} uses {ng.ami_type}, not published for {target}",
                    action=f"replace the node group with one on {replacement}",
                )
            )
    allowed = kubelet_max_older(target)
    for group in inv.nodes:
        skew = group.skew_to_target if where.role == "blue" else group.skew_to_control_plane
        if skew > allowed or skew < 0:
            findings.append(
                _finding(
                    where,
                    "kubelet-skew",
                    f"{group.owner_kind}/{group.owner}",
                    "blocker",
                    f"{group.nodes} node(s) of {group.owner_kind} {group.owner} run kubelet "
                    f"{group.kubelet_version}: {skew} minor(s) from {target}, "
                    f"allowed 0..{allowed}",
                    action="roll these nodes to the target version (update the node group "
                    "or let Karpenter drift them)",
                )
            )
    for addon in inv.addons:
        if not addon.supports_target:
            findings.append(
                _finding(
                    where,
                    "addon-no-target-version",
                    addon.name,
                    "blocker",
                    f"add-on {addon.name} {addon.version} has no version for {target}",
                    action="remove the add-on, replace it, or wait for its vendor",
                )
            )
        elif addon.default_for_target and addon.default_for_target != addon.version:
            findings.append(
                _finding(
                    where,
                    "addon-update",
                    addon.name,
                    "warning",
                    f"add-on {addon.name} {addon.version}: the default for {target} is "
                    f"{addon.default_for_target}",
                    action=f"update {addon.name} to {addon.default_for_target}",
                )
            )
    for insight in inv.insights:
        if insight.status == "ERROR":
            findings.append(
                _finding(
                    where,
                    "insight",
                    _slug(insight.name),
                    "blocker",
                    f"Upgrade Insight '{insight.name}' is ERROR: {insight.reason}",
                    action=insight.recommendation or "see the insight in the EKS console",
                )
            )
        elif insight.status == "WARNING":
            findings.append(
                _finding(
                    where,
                    "insight",
                    _slug(insight.name),
                    "warning",
                    f"Upgrade Insight '{insight.name}' is WARNING: {insight.reason}",
                    action=insight.recommendation,
                )
            )
    for pdb in inv.pdbs:
        if pdb.blocks_drain:
            findings.append(
                _finding(
                    where,
                    "pdb-blocks-drain",
                    f"{pdb.namespace}/{pdb.name}",
                    "blocker",
                    f"PDB {pdb.namespace}/{pdb.name} allows 0 disruptions of "
                    f"{pdb.expected_pods} pod(s): node rotation on this cluster will hang",
                    action="scale the workload up or relax minAvailable/maxUnavailable",
                )
            )
    findings += [
        Finding(
            id=f"inventory/{where.region}/{where.cluster}/unreadable/{area}",
            severity="warning",
            title=f"could not read: {problem}",
            region=where.region,
            cluster=where.cluster,
            role=where.role,
            action="check permissions (README: permissions per step) and re-run",
        )
        for area, problem in sorted(inv.problems.items())
    ]
    return findings


def parity_findings(gaps: list[ParityGap]) -> list[Finding]:
    return [
        Finding(
            id=f"inventory/{gap.region}/parity/{gap.kind}/{gap.name}",
            severity="blocker" if gap.blocking else "info",
            title=f"{gap.kind} {gap.name}: {gap.problem}",
            detail=f"blue: {gap.blue}; green: {gap.green}",
            region=gap.region,
            role="green",
            obj=gap.name,
            action="sync the Application (or install the release) on green before the traffic "
            "shift",
        )
        for gap in gaps
    ]

"""Inventory rows in, gate findings out: which facts block the upgrade and which only inform.

What blocks depends on the region's strategy (`params.RegionParams.strategy`):

- **blue-green**: what the green cluster (the one running the target) would suffer blocks;
  blue's facts are `info` (blue is retired, not upgraded) except the forward-looking ones
  that warn (support billing, Amazon Linux 2 past its end of support). Nothing is drained,
  so a PDB that allows no disruption only warns; green may skip minors.
- **in-place** (role `in-place`): the cluster moves one minor at a time through every hop
  to the target, each hop in EKS's order (control plane, then vpc-cni/CoreDNS/kube-proxy,
  then nodes); drains happen, so a PDB that allows none blocks, and each finding is placed
  at the first hop it blocks (`hop_plan`).

Finding ids are stable (`inventory/<region>/<cluster>/<rule>/<object>`, whatever the
strategy) so that a parameter file can waive one by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ekslift.errors import InputError
from ekslift.estate import EstateCluster
from ekslift.gate import Finding, Severity
from ekslift.inventory import facts
from ekslift.inventory.models import (
    AddonRow,
    ClusterInventory,
    CoreAddonRow,
    HopRow,
    NodeGroupSummary,
    ParityGap,
)
from ekslift.versions import VersionError, minor_distance, upgrade_path

# On blue these rules warn (capped at warning) instead of informing: they are forward-looking.
_BLUE_RULES_THAT_WARN = {"support", "node-os", "karpenter-al2", "unreadable"}
SUPPORT_WARNING_DAYS = 90
CONTROL_PLANE, ADDONS, NODES = facts.upgrade_order()


@dataclass(frozen=True)
class _Placed:
    """A finding and, in place, the hop and component it blocks first."""

    finding: Finding
    hop: str | None = None
    component: str | None = None


def _finding(
    where: EstateCluster, rule: str, obj: str, severity: Severity, title: str, *, action: str
) -> Finding:
    if where.role == "blue" and severity != "info":
        if rule in _BLUE_RULES_THAT_WARN:
            severity = "warning"
        else:
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
        action=action,
    )


def _slug(name: str) -> str:
    """Insight ids are per-cluster UUIDs; their names are stable and readable in waivers."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def path_of(inv: ClusterInventory, target: str) -> list[str]:
    """The versions this cluster must run on: every hop in place (never skipping a minor),
    the target for blue/green (green may skip minors; blue is judged as if it went there)."""
    assert inv.cluster is not None
    if inv.cluster.where.role == "in-place":
        return upgrade_path(inv.cluster.version, target) or [inv.cluster.version]
    return [target]


def _first(path: list[str], breaks: Callable[[str], bool]) -> str | None:
    """The first version of the path at which something breaks."""
    return next((v for v in path if breaks(v)), None)


def cluster_findings(inv: ClusterInventory, target: str) -> list[Finding]:
    return [placed.finding for placed in _judged(inv, target)]


def hop_plan(inv: ClusterInventory, target: str) -> list[HopRow]:
    """An in-place cluster's hops, each component in EKS's order with what blocks it there.

    Empty for blue/green clusters: green is built at the target, blue is retired.
    """
    if inv.cluster is None or inv.cluster.where.role != "in-place":
        return []
    placed = _judged(inv, target)
    rows = []
    previous = inv.cluster.version
    for number, hop in enumerate(upgrade_path(inv.cluster.version, target), start=1):
        for order, component in enumerate(facts.upgrade_order(), start=1):
            blocked = [
                p.finding.id.split("/", 3)[3]
                for p in placed
                if p.hop == hop and p.component == component
            ]
            rows.append(
                HopRow(
                    inv.cluster.where,
                    number,
                    previous,
                    hop,
                    order,
                    component,
                    ", ".join(blocked) or "—",
                )
            )
        previous = hop
    return rows


def _judged(inv: ClusterInventory, target: str) -> list[_Placed]:
    if inv.cluster is None:
        return []
    path = path_of(inv, target)
    return _one_per_id(
        [
            *_version_rules(inv, target),
            *_node_rules(inv, target, path),
            *_addon_rules(inv, target, path),
            *_insight_rules(inv, path),
            *_pdb_rules(inv, path),
            *(_Placed(f) for f in _unreadable(inv)),
        ]
    )


_RANK = {"blocker": 0, "warning": 1, "info": 2}


def _one_per_id(placed: list[_Placed]) -> list[_Placed]:
    """One finding per id, the most severe: nodes of one owner mid-rollout come in several
    groups (two kubelets, two AMIs), and a waiver names the owner once."""
    kept: dict[str, _Placed] = {}
    for item in placed:
        seen = kept.get(item.finding.id)
        if seen is None or _RANK[item.finding.severity] < _RANK[seen.finding.severity]:
            kept[item.finding.id] = item
    return list(kept.values())


def _version_rules(inv: ClusterInventory, target: str) -> list[_Placed]:
    assert inv.cluster is not None
    cluster = inv.cluster
    where = cluster.where
    found: list[Finding] = []
    if where.role == "green" and minor_distance(target, cluster.version) != 0:
        found.append(
            _finding(
                where,
                "green-version",
                where.cluster,
                "blocker",
                f"green runs {cluster.version}, not the target {target}",
                action="upgrade green's control plane to the target before shifting traffic",
            )
        )
    if where.role == "in-place" and minor_distance(target, cluster.version) < 0:
        found.append(
            _finding(
                where,
                "version-ahead",
                where.cluster,
                "blocker",
                f"the cluster runs {cluster.version}, past the target {target}",
                action="check target_version in the parameters: EKS cannot downgrade",
            )
        )
    days_left = cluster.days_to_end_of_standard
    if cluster.support_phase in ("extended", "unsupported"):
        found.append(
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
    elif where.role == "green" and days_left is not None and days_left < SUPPORT_WARNING_DAYS:
        found.append(
            _finding(
                where,
                "support",
                where.cluster,
                "warning",
                f"the target {cluster.version} leaves standard support in {days_left} days "
                f"({cluster.support.end_of_standard}); extended support is billed from that day",
                action="plan the next upgrade now; extended support is billed",
            )
        )
    if where.role in ("green", "in-place") and cluster.support_type == "STANDARD":
        end = cluster.support.end_of_standard
        found.append(
            _finding(
                where,
                "upgrade-policy",
                where.cluster,
                "warning",
                "upgradePolicy.supportType is STANDARD: EKS upgrades this control plane by "
                f"itself when standard support for {cluster.version} ends ({end or 'unknown'})",
                action="set supportType EXTENDED (aws eks update-cluster-config "
                "--upgrade-policy supportType=EXTENDED) unless an automatic upgrade is wanted",
            )
        )
    return [_Placed(f) for f in found]


def _owner(group: NodeGroupSummary) -> str:
    return f"{group.owner_kind}/{group.owner}"


def _node_rules(inv: ClusterInventory, target: str, path: list[str]) -> list[_Placed]:
    assert inv.cluster is not None
    where = inv.cluster.where
    placed: list[_Placed] = []
    blocked_nodegroups = set()
    for ng in inv.nodegroups:
        unpublished = _first(path, partial(_ami_unpublished, ng.ami_type))
        if unpublished:
            blocked_nodegroups.add(ng.name)
            replacement = facts.ami_replacement(ng.ami_type) or "a supported AMI type"
            placed.append(
                _Placed(
                    _finding(
                        where,
                        "ami-type",
                        ng.name,
                        "blocker",
                        f"node group {ng.name} uses {ng.ami_type}, not published for {unpublished}",
                        action=f"replace the node group with one on {replacement}",
                    ),
                    unpublished,
                    NODES,
                )
            )
    for group in inv.nodes:
        placed += _skew(inv, target, path, group)
        if group.owner_kind == "fargate":
            continue  # AWS runs Fargate's OS and runtime
        # A blocked AL2 node group is one ami-type finding, not two; blue keeps its warning.
        covered = where.role != "blue" and group.owner in blocked_nodegroups
        placed += _node_os(where, path, group, skip_al2=group.owner_kind == "nodegroup" and covered)
    for nodeclass in inv.nodeclasses:
        if not nodeclass.amazon_linux_2:
            continue
        unpublished = _first(path, lambda v: not facts.al2_family().published_for(v))
        what = f"EC2NodeClass {nodeclass.name} launches Amazon Linux 2 " + (
            f"(amiFamily {nodeclass.ami_family})"
            if nodeclass.ami_family
            else f"(alias {nodeclass.aliases})"
        )
        placed.append(
            _Placed(
                _finding(
                    where,
                    "karpenter-al2",
                    nodeclass.name,
                    "blocker" if unpublished else "warning",
                    f"{what}: Karpenter refuses AL2 on {unpublished} and later"
                    if unpublished
                    else f"{what}, past its end of support ({facts.al2_family().end_of_support})",
                    action="switch the EC2NodeClass to amiSelectorTerms alias al2023@… "
                    "(or Bottlerocket) and let Karpenter drift the nodes",
                ),
                unpublished,
                NODES,
            )
        )
    return placed


def _ami_unpublished(ami_type: str, version: str) -> bool:
    return not facts.ami_supported(ami_type, version)


def _skew(
    inv: ClusterInventory, target: str, path: list[str], group: NodeGroupSummary
) -> list[_Placed]:
    """Kubelet skew where it bites: to green's control plane, to the target for blue, and
    in place after the first hop's control plane moves (later hops roll nodes each time)."""
    assert inv.cluster is not None
    where = inv.cluster.where
    control_plane = {"in-place": path[0], "blue": target}.get(where.role, inv.cluster.version)
    try:
        skew = minor_distance(control_plane, group.kubelet_version)
    except VersionError:
        skew = -1  # an unreadable kubelet version is not a pass
    allowed = facts.kubelet_max_older(control_plane)
    if 0 <= skew <= allowed:
        return []
    finding = _finding(
        where,
        "kubelet-skew",
        _owner(group),
        "blocker",
        f"{group.nodes} node(s) of {group.owner_kind} {group.owner} run kubelet "
        f"{group.kubelet_version}: {skew} minor(s) from {control_plane}, allowed 0..{allowed}",
        action="roll these nodes to the control plane's version (update the node group "
        "or let Karpenter drift them)",
    )
    return [_Placed(finding, path[0], CONTROL_PLANE)]


def _node_os(
    where: EstateCluster, path: list[str], group: NodeGroupSummary, *, skip_al2: bool
) -> list[_Placed]:
    placed = []
    family = facts.os_family(group.os_image)
    nodes = f"{group.nodes} node(s) of {group.owner_kind} {group.owner}"
    if family.family == "AL2" and not skip_al2:
        unpublished = _first(path, lambda v: not family.published_for(v))
        placed.append(
            _Placed(
                _finding(
                    where,
                    "node-os",
                    _owner(group),
                    "blocker" if unpublished else "warning",
                    f"{nodes} run Amazon Linux 2, which has no EKS AMI for {unpublished}"
                    if unpublished
                    else f"{nodes} run Amazon Linux 2, past its end of support "
                    f"({family.end_of_support})",
                    action="move these nodes to AL2023 or Bottlerocket",
                ),
                unpublished,
                NODES,
            )
        )
    refused = _first(path, facts.cgroup_v1_refused) if family.cgroup == "v1" else None
    if refused:
        placed.append(
            _Placed(
                _finding(
                    where,
                    "cgroup-v1",
                    _owner(group),
                    "blocker",
                    f"{nodes} run {family.family} on cgroup v1: the {refused} kubelet refuses "
                    "to start on cgroup v1 by default",
                    action="move these nodes to a cgroup v2 OS (AL2023, Bottlerocket), or set "
                    "failCgroupV1: false in the kubelet configuration knowingly",
                ),
                refused,
                NODES,
            )
        )
    runtime, major = facts.runtime_major(group.container_runtime)
    if runtime == "containerd" and major == 1:
        unsupported = _first(path, lambda v: not facts.containerd_1_supported(v))
        last = facts.containerd_1_last()
        if unsupported or last in path:
            placed.append(
                _Placed(
                    _finding(
                        where,
                        "containerd-1",
                        _owner(group),
                        "blocker" if unsupported else "warning",
                        f"{nodes} run {group.container_runtime}: Kubernetes {last} is the last "
                        "minor that supports containerd 1.x",
                        action="move these nodes to an AMI with containerd 2 before the next "
                        "upgrade",
                    ),
                    unsupported,
                    NODES,
                )
            )
    return placed


def _addon_rules(inv: ClusterInventory, target: str, path: list[str]) -> list[_Placed]:
    assert inv.cluster is not None
    placed = [p for addon in inv.addons for p in _addon(inv.cluster.where, target, addon)]
    for core in inv.core_addons:
        if core.self_managed:
            placed += _core_addon(inv, path, core)
    return placed


def _addon(where: EstateCluster, target: str, addon: AddonRow) -> list[_Placed]:
    name = addon.name
    if addon.installed_compatible is None:
        finding = _finding(
            where,
            "addon-unverified",
            name,
            "blocker",
            f"add-on {name} {addon.version}: EKS did not say which versions run on "
            f"{addon.checked_against} ({addon.problem or 'no answer'})",
            action="allow eks:DescribeAddonVersions to the role and re-run",
        )
        return [_Placed(finding, addon.checked_against, CONTROL_PLANE)]
    if addon.no_version_for:
        first = addon.no_version_for.split(", ")[0]
        finding = _finding(
            where,
            "addon-no-target-version",
            name,
            "blocker",
            f"add-on {name} {addon.version} has no version for {addon.no_version_for}",
            action="remove the add-on, replace it, or wait for its vendor",
        )
        return [_Placed(finding, first, CONTROL_PLANE)]
    if not addon.installed_compatible:
        finding = _finding(
            where,
            "addon-incompatible",
            name,
            "blocker",
            f"add-on {name} {addon.version} is not compatible with {addon.checked_against} "
            f"(DescribeAddonVersions)",
            action=f"update {name} to {addon.default_for_target or addon.latest_for_target} "
            "(in place: before the control plane moves)",
        )
        return [_Placed(finding, addon.checked_against, CONTROL_PLANE)]
    if addon.default_for_target and addon.default_for_target != addon.version:
        finding = _finding(
            where,
            "addon-update",
            name,
            "warning",
            f"add-on {name} {addon.version}: the default for {target} is "
            f"{addon.default_for_target}",
            action=f"update {name} to {addon.default_for_target}",
        )
        return [_Placed(finding)]
    return []


def _core_addon(inv: ClusterInventory, path: list[str], core: CoreAddonRow) -> list[_Placed]:
    """Self-managed vpc-cni, CoreDNS, kube-proxy against what EKS recommends (data file)."""
    assert inv.cluster is not None
    where, current = inv.cluster.where, inv.cluster.version
    component = next(c for c in facts.core_components() if c.name == core.name)
    what = f"self-managed {core.name} ({core.workload}, {core.version or core.image})"

    def found(severity: Severity, title: str, action: str, hop: str | None) -> list[_Placed]:
        finding = _finding(where, "core-addon", core.name, severity, title, action=action)
        return [_Placed(finding, hop, ADDONS if hop else None)]

    try:
        release = facts.release_key(core.version)
    except InputError:
        return found(
            "warning",
            f"{what}: no version in the image tag, so it cannot be checked",
            "tag the image with its version, or move to the EKS add-on",
            None,
        )
    version = ".".join(str(n) for n in release)
    if component.rule == "same-minor":
        skew = minor_distance(current, version)
        if skew != 0:
            allowed = facts.kubelet_max_older(current)
            why = (
                "newer than the control plane"
                if skew < 0
                else f"{skew} minor(s) behind, beyond the allowed {allowed}"
                if skew > allowed
                else f"{skew} minor(s) behind; EKS runs kube-proxy at the cluster's minor"
            )
            return found(
                "blocker",
                f"{what} on a {current} cluster: {why}",
                f"update {core.name} to {component.recommended_for(current) or current + '.x'} "
                "(in place: after each hop's control plane, before its nodes)",
                path[0],
            )
        return []
    if component.minimum and release < facts.release_key(component.minimum):
        return found(
            "blocker",
            f"{what} is older than {component.minimum}, which EKS requires before an upgrade",
            f"update {core.name} before the control plane",
            path[0],
        )
    recommended = component.recommended_for(path[-1])
    if recommended is None:
        return found(
            "warning",
            f"{what}: no EKS recommendation for {path[-1]} on record, so it is not verified",
            f"check the EKS user guide for {core.name} on {path[-1]} (or use the EKS add-on)",
            None,
        )
    if release < facts.release_key(recommended):
        return found(
            "warning",
            f"{what} is older than {recommended}, which EKS lists for {path[-1]}",
            f"update {core.name} to {recommended}",
            None,
        )
    return []


def _insight_rules(inv: ClusterInventory, path: list[str]) -> list[_Placed]:
    assert inv.cluster is not None
    where = inv.cluster.where
    placed = []
    for insight in inv.insights:
        if insight.status not in ("ERROR", "WARNING"):
            continue
        error = insight.status == "ERROR"
        hop = insight.kubernetes_version if insight.kubernetes_version in path else path[0]
        finding = _finding(
            where,
            "insight",
            _slug(insight.name),
            "blocker" if error else "warning",
            f"Upgrade Insight '{insight.name}' is {insight.status}: {insight.reason}",
            action=insight.recommendation or "see the insight in the EKS console",
        )
        placed.append(_Placed(finding, hop if error else None, CONTROL_PLANE if error else None))
    return placed


def _pdb_rules(inv: ClusterInventory, path: list[str]) -> list[_Placed]:
    """In place every node is drained, so a budget that allows no eviction blocks; blue/green
    drains nothing on the way to the cutover, so on green it warns (node rotations later)."""
    assert inv.cluster is not None
    where = inv.cluster.where
    in_place = where.role == "in-place"
    placed = []
    for pdb in inv.pdbs:
        if not pdb.blocks_drain:
            continue
        why = (
            "its spec never allows an eviction"
            if pdb.cause == "structural"
            else f"{pdb.current_healthy} of {pdb.expected_pods} pod(s) healthy, "
            f"{pdb.desired_healthy} required (transient)"
        )
        finding = _finding(
            where,
            "pdb-blocks-drain",
            f"{pdb.namespace}/{pdb.name}",
            "blocker" if in_place else "warning",
            f"PDB {pdb.namespace}/{pdb.name} allows 0 disruptions of {pdb.expected_pods} "
            f"pod(s), {pdb.cause}: {why}; "
            + ("the node step of the hop will hang" if in_place else "node rotations will hang"),
            action="relax minAvailable/maxUnavailable or scale the workload up"
            if pdb.cause == "structural"
            else "make the covered pods healthy before nodes are drained",
        )
        placed.append(_Placed(finding, path[0] if in_place else None, NODES))
    return placed


def _unreadable(inv: ClusterInventory) -> list[Finding]:
    """What could not be read cannot be vouched for: on the cluster that will run the target
    it blocks (a refused read must not pass as healthy); on blue it warns."""
    assert inv.cluster is not None
    where = inv.cluster.where
    return [
        _finding(
            where,
            "unreadable",
            area,
            "blocker",
            f"could not read: {problem}",
            action="check permissions (README: permissions per step) and re-run",
        )
        for area, problem in sorted(inv.problems.items())
    ]


def parity_findings(gaps: list[ParityGap]) -> list[Finding]:
    return [
        Finding(
            id=f"inventory/{gap.region}/parity/{gap.kind}/{gap.name}",
            severity=gap.severity,
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

"""Scan rows -> gate findings: what blocks the upgrade, what warns, what is information.

A row's verdict comes from its forward-looking evidence (what will be applied to a cluster,
or call it, next; see :mod:`ekslift.apiscan.sightings`), never from the served version:

* **green** (and files, chart repositories and renders without a cluster, which are headed
  there): a removed API in any forward-looking source blocks. A managedFields entry alone,
  from a manager that has not written for long, warns (naming the manager and its time).
  Upgrade Insights about a version *beyond* the target speak of the next upgrade: an ERROR
  there warns.
* **blue**: its Helm releases, last-applied configurations, managedFields and Upgrade
  Insights (about the target or earlier) are what will be redeployed to green and who will
  call it, so a removed API there blocks the region's cutover -- unless green shows the same
  object already migrated (present, read completely, with no finding of its own) or, for
  clients, green's insights (read) show no such calls. Blue's renders, CRD storage and
  served versions stay on blue: information.
* A row seen only at its served version is information everywhere; an Argo CD destination
  the parameters do not name warns.

Ids are stable across runs (`api-scan/<region>/<cluster>/<source>/<kind>/<namespace>/<name>/
<apiVersion>`, the source being the decisive one) so a finding can be waived by name or
pattern.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ekslift.apiscan.estate import EstateScan
from ekslift.apiscan.sightings import ObjectRow, ScanProblem, Sighting
from ekslift.apiscan.sources.insights import beyond_target
from ekslift.estate import EstateCluster
from ekslift.gate import Finding, Severity

PREFIX = "api-scan"
#: Blue's evidence that is redeployed to green, or calls it: it counts for the cutover.
CARRIED = frozenset({"helm-release", "last-applied", "managed-fields", "insights"})
#: What must have been read on green before "not there" can mean "migrated".
_GREEN_SOURCES = {"insights": ("insights",), "object": ("live", "helm-release")}
_TITLES = {
    "removed": "removed in {target}",
    "replacement-unavailable": "deprecated, and its replacement is not served by {target} yet",
    "deprecated": "deprecated in {target}",
}


def _segment(value: str | None) -> str:
    return (value or "-").replace(" ", "_")


@dataclass(frozen=True)
class Verdict:
    """A row's gate severity and why, in words the finding's detail carries."""

    severity: Severity
    why: str


def _migrated_on_green(row: ObjectRow, scan: EstateScan, green: EstateCluster) -> bool:
    """Whether green shows blue's object (or client) already migrated, from sources that
    were read completely: missing data never counts as migrated."""
    lead = row.lead
    needed = _GREEN_SOURCES["insights" if lead.source == "insights" else "object"]
    if not all(scan.was_read(source, green.cluster) for source in needed):
        return False
    on_green = [s for s in scan.report.sightings if s.cluster == green.cluster]
    if lead.source == "insights":
        return not any(
            s.source == "insights"
            and s.status
            and (s.api_version, s.kind) == (lead.api_version, lead.kind)
            and not beyond_target(s, scan.report.targets)
            for s in on_green
        )
    key = (green.cluster, lead.namespace or "", lead.kind, lead.name)
    same = [s for s in on_green if s.object_key() == key]
    return bool(same) and not any(s.forward and s.status for s in same)


def _forward_verdict(row: ObjectRow, scan: EstateScan) -> Verdict:
    """A row headed for green: removed blocks, the rest warns."""
    lead = row.lead
    if lead.source == "insights" and beyond_target(lead, scan.report.targets):
        version = lead.extra.get("kubernetes_version")
        if lead.extra.get("insight_status") == "ERROR":
            return Verdict("warning", f"EKS flags it for Kubernetes {version}: the next upgrade")
        return Verdict("info", f"the insight is about Kubernetes {version}, after the target")
    if row.status != "removed":
        return Verdict("warning", "not removed by the target yet")
    if row.stale_only:
        return Verdict(
            "warning",
            "only managedFields of managers that have not written the object for long name it; "
            "confirm they are retired",
        )
    return Verdict("blocker", "it will be applied to, or call, the target")


def verdict(row: ObjectRow, scan: EstateScan) -> Verdict:
    """The gate severity of a row (see the module docstring)."""
    lead = row.lead
    where = scan.where(lead.cluster)
    if row.served_only:
        return Verdict("info", "only the served version shows it")
    if lead.cluster is not None and where is None:
        return Verdict("warning", "an Argo CD destination the parameters do not name")
    if where is None or where.role != "blue":
        return _forward_verdict(row, scan)
    carried = [s for s in row.evidence if s.source in CARRIED]
    if not carried or (lead.source == "insights" and beyond_target(lead, scan.report.targets)):
        return Verdict("info", "blue's own state; green is scanned for itself")
    green = scan.green_of(where.region)
    if green is not None and _migrated_on_green(row, scan, green):
        return Verdict("info", f"already migrated on {green.cluster}")
    found = _forward_verdict(row, scan)
    target = f"green ({green.cluster})" if green else "green"
    return Verdict(
        found.severity,
        f"blue's {lead.source} is what will be redeployed to {target} or call it, and "
        f"{target} does not show it migrated",
    )


def row_finding(row: ObjectRow, scan: EstateScan) -> Finding:
    """One gate finding per merged object row (see the module docstring for severities)."""
    lead = row.lead
    where = scan.where(lead.cluster)
    decided = verdict(row, scan)
    name = lead.name or lead.location or "-"
    finding_id = "/".join(
        [
            PREFIX,
            _segment(where.region if where else None),
            _segment(lead.cluster),
            lead.source,
            _segment(lead.kind),
            _segment(lead.namespace),
            _segment(name),
            lead.api_version,
        ]
    )
    return Finding(
        id=finding_id,
        severity=decided.severity,
        title=_title(row, lead, scan.report.target_version),
        detail=f"{_seen(row, lead)}; {decided.why}. {row.note}".strip(),
        region=where.region if where else None,
        cluster=lead.cluster,
        role=where.role if where else None,
        obj=f"{lead.kind}/{lead.namespace or '-'}/{lead.name or '-'}",
        action=_action(row, decided),
    )


def _seen(row: ObjectRow, lead: Sighting) -> str:
    at = f" at {lead.location}" if lead.location else ""
    return f"seen by {', '.join(row.sources)}{at}; must change: {', '.join(row.must_change) or '-'}"


def _title(row: ObjectRow, lead: Sighting, target: str) -> str:
    verdict_text = _TITLES[row.status or "deprecated"].format(target=target)
    if lead.source == "insights":
        return f"clients call {lead.api_version} {lead.kind}, {verdict_text}"
    obj = f"{lead.kind}/{lead.namespace or '-'}/{lead.name or '-'}"
    if row.served_only:
        return f"{obj} is served only at {lead.api_version}, {verdict_text}"
    if lead.source == "managed-fields":
        return (
            f"{obj}: manager {lead.extra.get('manager')} (last wrote {lead.extra.get('time')}) "
            f"writes {lead.api_version}, {verdict_text}"
        )
    return f"{obj}: its {lead.source} names {lead.api_version}, {verdict_text}"


def _action(row: ObjectRow, decided: Verdict) -> str:
    if row.served_only:
        return "none for this upgrade by itself; migrate the objects when their API goes away"
    todo = "; ".join(s.change for s in _one_per_source(row.evidence))
    return todo + (" -- before green takes traffic" if decided.severity == "blocker" else "")


def _one_per_source(sightings: tuple[Sighting, ...]) -> list[Sighting]:
    seen: dict[str, Sighting] = {}
    for sighting in sightings:
        seen.setdefault(sighting.source, sighting)
    return list(seen.values())


def problem_finding(problem: ScanProblem) -> Finding:
    """Input the scan could not read: a warning naming the file or object."""
    return Finding(
        id=f"{PREFIX}/problem/{_segment(problem.location)}",
        severity="warning",
        title=f"not scanned: {problem.location}",
        detail=problem.message,
        obj=problem.object,
        action="fix the input (or its access) and re-run the step; until then its APIs are unknown",
    )


def _unique(findings: list[Finding]) -> list[Finding]:
    """Rows of different files can share an id (same object name in two files, problems on
    one file): suffix repeats with a counter so waivers stay unambiguous."""
    counts = Counter(f.id for f in findings)
    seen: Counter[str] = Counter()
    out = []
    for finding in findings:
        if counts[finding.id] > 1:
            seen[finding.id] += 1
            finding = finding.model_copy(update={"id": f"{finding.id}#{seen[finding.id]}"})
        out.append(finding)
    return out


def gate_findings(scan: EstateScan) -> list[Finding]:
    """Every row of the report, and every problem, as gate findings."""
    rows = [row_finding(row, scan) for row in scan.report.rows()]
    problems = [problem_finding(p) for p in scan.report.problems]
    return _unique(rows + problems)

"""Scan rows -> gate findings: what blocks the upgrade, what warns, what is information.

Blue/green rules: the cluster that will run the target (green) must not use anything the
target removed; blue's findings are shown for information. Files, chart repositories and
renders without a cluster are what will be deployed next, so they count like green. Ids are
stable across runs (`api-scan/<region>/<cluster>/<source>/<kind>/<namespace>/<name>/
<apiVersion>`) so a finding can be waived by name or pattern.
"""

from __future__ import annotations

from collections import Counter

from ekslift.apiscan.estate import EstateScan
from ekslift.apiscan.sightings import ObjectRow, ScanProblem
from ekslift.estate import EstateCluster
from ekslift.gate import Finding, Severity

PREFIX = "api-scan"
_TITLES = {
    "removed": "removed in {target}",
    "replacement-unavailable": "deprecated, and its replacement is not served by {target} yet",
    "deprecated": "deprecated in {target}",
}


def _segment(value: str | None) -> str:
    return (value or "-").replace(" ", "_")


def _severity(row: ObjectRow, where: EstateCluster | None, cluster: str | None) -> Severity:
    if where is not None and where.role == "blue":
        return "info"
    if row.status != "removed":
        return "warning"  # deprecated, replacement unavailable, or resolved by the live object
    if cluster is not None and where is None:
        # An Argo CD destination the parameters do not name: someone should look, but it
        # is not this upgrade's green cluster.
        return "warning"
    return "blocker"


def row_finding(row: ObjectRow, scan: EstateScan) -> Finding:
    """One gate finding per merged object row (see the module docstring for severities)."""
    lead = row.authoritative
    where = scan.where(lead.cluster)
    severity = _severity(row, where, lead.cluster)
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
    target = scan.report.target_version
    obj = f"{lead.kind}/{lead.namespace or '-'}/{lead.name or '-'}"
    seen = f"seen by {', '.join(row.sources)}" + (f" at {lead.location}" if lead.location else "")
    if lead.source == "insights":
        title = (
            f"clients call {lead.api_version} {lead.kind}, "
            f"{_TITLES[row.status or 'deprecated'].format(target=target)}"
        )
    elif row.status:
        title = f"{obj} uses {lead.api_version}, {_TITLES[row.status].format(target=target)}"
    else:
        stale = sorted({f.api_version for f in row.sightings if f.status})
        title = (
            f"{obj} is served at {lead.api_version}, but a stored record still names "
            f"{', '.join(stale)} (removed or deprecated in {target})"
        )
    if row.status is None:
        action = "re-render the release (helm upgrade, or helm mapkubeapis) so its record matches"
    else:
        action = (
            f"move it to {lead.replacement}" if lead.replacement else "remove or replace it"
        ) + (" before green takes traffic" if severity == "blocker" else "")
    return Finding(
        id=finding_id,
        severity=severity,
        title=title,
        detail=f"{seen}. {row.note}".strip(),
        region=where.region if where else None,
        cluster=lead.cluster,
        role=where.role if where else None,
        obj=obj,
        action=action,
    )


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
    """Every row of the report, and every problem, as gate findings.

    A row the live object resolved (its Helm release manifest is stale) is a warning, not a
    blocker: the object is fine, but `helm upgrade` of that release fails until the record
    is re-rendered, and the note says so.
    """
    rows = [row_finding(row, scan) for row in scan.report.rows()]
    problems = [problem_finding(p) for p in scan.report.problems]
    return _unique(rows + problems)

"""Step 3's gate: what keeps green from running its charts, and what is pending.

Blocker: a deployment headed for green whose version cannot run on the target (kubeVersion,
the controller table, or the render scan) -- whether or not a compatible version exists
(the action says which one to choose, or that none does). Warning: a pending bump; blue and
green running different chart versions; values the new chart would ignore or reject; a
retired controller; and everything that could not be judged (a repository unmatched,
ambiguous or unreadable, a release record or value file that could not be read): a
deployment not judged is never reported as fine.
"""

from __future__ import annotations

import hashlib

from ekslift.chartdiff.estate import ChartReport
from ekslift.chartdiff.models import Proposal
from ekslift.gate import Finding, Severity


def _id(proposal: Proposal, kind: str) -> str:
    d = proposal.deployment
    return f"chart-diff/{d.region or '-'}/{d.namespace}/{d.release}/{kind}"


def _finding(
    proposal: Proposal, kind: str, severity: Severity, title: str, action: str, detail: str = ""
) -> Finding:
    d = proposal.deployment
    green = d.green[0] if d.green else None
    return Finding(
        id=_id(proposal, kind),
        severity=severity,
        title=title,
        detail=detail,
        region=d.region,
        cluster=green.cluster if green else None,
        role=green.role if green and green.role else None,
        obj=f"{d.label} (chart {d.chart})",
        action=action,
    )


def proposal_findings(proposal: Proposal) -> list[Finding]:
    d = proposal.deployment
    found: list[Finding] = []
    if proposal.not_judged:
        found.append(
            _finding(
                proposal,
                "not-judged",
                "warning",
                f"{d.label}: not judged: {proposal.not_judged}",
                "map the chart to its repository in the parameters (charts.sources) or fix the "
                "repository, then run again; until then its versions on the target are unknown",
            )
        )
    for blocker in proposal.blockers:
        fixable = bool(proposal.proposed) and proposal.proposed != proposal.current
        found.append(
            _finding(
                proposal,
                "cannot-run" if fixable else "no-compatible-version",
                "blocker",
                f"{d.label} ({d.chart}): {blocker}",
                f"set {d.chart} to {proposal.proposed} for green (targetRevision or helm upgrade)"
                if fixable
                else "replace the chart or the controller, override its image for the target, "
                "or keep it off green; then run again",
                detail="; ".join(proposal.notes),
            )
        )
    if not proposal.blockers and proposal.pending:
        found.append(
            _finding(
                proposal,
                "bump",
                "warning",
                f"{d.label}: bump {d.chart} {proposal.current} -> {proposal.proposed} "
                f"({proposal.jump})",
                "let Renovate open the bump (or set targetRevision), to blue first"
                if proposal.runs_on_blue
                else "bump it on green with the cutover: no newer version runs on blue",
                detail="; ".join(proposal.notes),
            )
        )
    versions = sorted({i.version for i in d.instances})
    if d.blue and len(versions) > 1:
        found.append(
            _finding(
                proposal,
                "colours-differ",
                "warning",
                f"{d.label}: blue and green run different chart versions ({d.clusters})",
                "bring blue and green to one version before the cutover (one change at a time)",
            )
        )
    diff = proposal.diff
    if diff is not None and (diff.user_keys_removed or diff.schema_errors):
        keys = [
            f"{k} (no longer in the chart)" for k in diff.user_keys_removed
        ] + diff.schema_errors
        found.append(
            _finding(
                proposal,
                "values",
                "warning",
                f"{d.label}: values to change for {proposal.proposed}: {'; '.join(keys)}",
                "edit the values (key paths above) in the same change as the bump",
            )
        )
    problems = sorted(set(d.problems))
    if problems:
        found.append(
            _finding(
                proposal,
                "read-problems",
                "warning",
                f"{d.label}: judged on incomplete input: {'; '.join(problems)}",
                "fix what could not be read (value files in the GitOps checkout, release "
                "records); the render may differ from what is deployed",
            )
        )
    if proposal.retired:
        found.append(
            _finding(
                proposal,
                "retired",
                "warning",
                f"{d.label}: {proposal.retired}",
                "plan the migration to a successor",
            )
        )
    if proposal.controller_warnings:
        found.append(
            _finding(
                proposal,
                "controller",
                "warning",
                f"{d.label}: {'; '.join(proposal.controller_warnings)}",
                "check the controller's own compatibility notes for the target before the cutover",
            )
        )
    return found


def gate_findings(report: ChartReport) -> list[Finding]:
    """Every finding of the step, one id each."""
    findings = [f for proposal in report.proposals for f in proposal_findings(proposal)]
    for problem in sorted(set(report.problems)):
        digest = hashlib.sha256(problem.encode()).hexdigest()[:10]
        findings.append(
            Finding(
                id=f"chart-diff/problem/{digest}",
                severity="warning",
                title=problem,
                action="fix access or input and run again; what it concerns was not judged",
            )
        )
    return findings

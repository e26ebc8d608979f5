"""Every step ends in a gate: findings in, one verdict out, written as `results/<step>.json`.

The verdict rules live here, once, so that all five steps judge alike: an unwaived blocker
fails the step; a waived blocker or any warning makes it warn; otherwise it passes. Waivers
come from the parameter file and are recorded in the result (and from there in the
manifest), so an auditor sees who accepted which blocker and why.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ekslift.atomic import write_text_atomic
from ekslift.params import UpgradeParams, Waiver

RESULT_SCHEMA_VERSION = 1
Severity = Literal["blocker", "warning", "info"]
Verdict = Literal["pass", "warn", "fail"]


class GateFailed(Exception):
    """Raised by a step notebook's last cell so papermill stops the run at a failed gate."""


class StepIncomplete(Exception):
    """Raised by a step notebook's last cell when an API could not be reached (exit 3)."""


class Finding(BaseModel):
    """One thing a step found; `id` is stable across runs so it can be waived by name."""

    model_config = ConfigDict(frozen=True)

    id: str
    severity: Severity
    title: str
    detail: str = ""
    region: str | None = None
    cluster: str | None = None
    role: Literal["blue", "green", "in-place", "management"] | None = None
    obj: str | None = Field(default=None, description="kind/namespace/name or AWS resource")
    action: str = Field(default="", description="what the operator should do about it")
    share: int | None = Field(
        default=None, description="the share of green a cutover-readiness finding is about"
    )


class AppliedWaiver(BaseModel):
    model_config = ConfigDict(frozen=True)

    finding_id: str
    pattern: str
    reason: str
    accepted_by: str
    expires: date | None = None


class Approval(BaseModel):
    """Someone other than the operator approved this exact plan (its sha256) for a step.

    A step that writes records the approval it wrote under in its result, and the runner
    copies it into the manifest, so a reviewer sees who operated, who approved (the persons
    behind both AWS identities), under which change and which outside approval, beside the
    verdicts it rests on.
    """

    model_config = ConfigDict(frozen=True)

    step: str
    change_id: str
    approver: str
    approver_person: str
    operator: str
    operator_person: str
    approved_at: datetime
    expires_at: datetime
    plan_sha256: str
    hold_modes: dict[str, str] = Field(
        default_factory=dict, description="per region, the hold before 100 % it covered"
    )
    comment: str = ""
    external: str = Field(default="", description="an outside approval: `<kind>: <reference>`")


class StepResult(BaseModel):
    schema_version: int = RESULT_SCHEMA_VERSION
    step: str
    verdict: Verdict
    summary: str
    counts: dict[str, int]
    findings: list[Finding]
    waivers: list[AppliedWaiver]
    generated_at: datetime
    approvals: list[Approval] = Field(default_factory=list)

    @property
    def open_blockers(self) -> list[Finding]:
        waived = {w.finding_id for w in self.waivers}
        return [f for f in self.findings if f.severity == "blocker" and f.id not in waived]


def _waiver_for(finding: Finding, waivers: list[Waiver], today: date) -> Waiver | None:
    return next((w for w in waivers if w.matches(finding.id, today, share=finding.share)), None)


def judge(
    step: str,
    findings: list[Finding],
    params: UpgradeParams,
    *,
    today: date | None = None,
    approvals: list[Approval] | None = None,
) -> StepResult:
    """Apply waivers and the verdict rules; duplicate ids would make waivers ambiguous."""
    today = today or datetime.now(UTC).date()
    ids = Counter(f.id for f in findings)
    repeated = sorted(i for i, n in ids.items() if n > 1)
    if repeated:
        raise ValueError(f"step {step}: finding ids must be unique, repeated: {repeated[:5]}")
    applied: list[AppliedWaiver] = []
    for finding in findings:
        waiver = _waiver_for(finding, params.waivers, today)
        if waiver is not None and finding.severity != "info":
            applied.append(
                AppliedWaiver(
                    finding_id=finding.id,
                    pattern=waiver.id,
                    reason=waiver.reason,
                    accepted_by=waiver.accepted_by,
                    expires=waiver.expires,
                )
            )
    waived = {w.finding_id for w in applied}
    open_blockers = [f for f in findings if f.severity == "blocker" and f.id not in waived]
    warnings = [f for f in findings if f.severity == "warning"]
    if open_blockers:
        verdict: Verdict = "fail"
    elif waived or warnings:
        verdict = "warn"
    else:
        verdict = "pass"
    # Keys are the severities seen plus "waived", so plain strings rather than `Severity`.
    counts: dict[str, int] = {**Counter(f.severity for f in findings), "waived": len(applied)}
    summary = (
        f"{len(open_blockers)} open blocker(s), {len(waived)} waived, "
        f"{len(warnings)} warning(s), {counts.get('info', 0)} info"
    )
    return StepResult(
        step=step,
        verdict=verdict,
        summary=summary,
        counts=counts,
        findings=sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.id)),
        waivers=applied,
        generated_at=datetime.now(UTC),
        approvals=approvals or [],
    )


_SEVERITY_ORDER = {"blocker": 0, "warning": 1, "info": 2}


def result_path(run_dir: Path | str, step: str) -> Path:
    return Path(run_dir) / "results" / f"{step}.json"


def write_result(run_dir: Path | str, result: StepResult) -> Path:
    path = result_path(run_dir, result.step)
    write_text_atomic(path, result.model_dump_json(indent=2) + "\n")
    return path


def read_result(run_dir: Path | str, step: str) -> StepResult | None:
    path = result_path(run_dir, step)
    if not path.exists():
        return None
    return StepResult.model_validate_json(path.read_text(encoding="utf-8"))


def findings_table(result: StepResult) -> list[dict[str, Any]]:
    """Rows for a notebook table: one per finding, with its waiver (if any) alongside."""
    waivers = {w.finding_id: w for w in result.waivers}
    rows = []
    for f in result.findings:
        waiver = waivers.get(f.id)
        rows.append(
            {
                "severity": f.severity,
                "waived_by": waiver.accepted_by if waiver else "",
                "region": f.region or "",
                "cluster": f.cluster or "",
                "role": f.role or "",
                "title": f.title,
                "action": f.action,
                "id": f.id,
            }
        )
    return rows


def conclude(
    run_dir: Path | str,
    step: str,
    findings: list[Finding],
    params: UpgradeParams,
    approvals: list[Approval] | None = None,
) -> StepResult:
    """Judge and write the result file; the notebook shows it, then calls `enforce`."""
    result = judge(step, findings, params, approvals=approvals)
    write_result(run_dir, result)
    return result


def enforce(result: StepResult, incomplete: list[str] | tuple[str, ...] = ()) -> None:
    """Raise after the result is on disk, so the runner can tell a failed gate from a crash.

    `incomplete` names what could not be reached: the step then ends as a tool error
    whatever its verdict, since the verdict rests on a partial view.
    """
    if incomplete:
        raise StepIncomplete(
            f"step {result.step} could not reach: "
            + "; ".join(incomplete[:10])
            + ". Its findings are kept in the run; check connectivity and credentials, then "
            "resume the run with `ekslift run --resume <run dir>`."
        )
    if result.verdict == "fail":
        blockers = "\n".join(f"  - {f.id}: {f.title}" for f in result.open_blockers[:20])
        raise GateFailed(
            f"gate {result.step} failed: {result.summary}\n{blockers}\n"
            "Fix the blockers, or waive one in the parameter file (waivers: id, reason, "
            "accepted_by) and resume the run with `ekslift run --resume <run dir>`."
        )

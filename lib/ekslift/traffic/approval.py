"""Writes need an approval by another person: who approved comes from STS, not from a name
typed into a file.

`ekslift shift approve` is run by the approver with their own credentials; it records
their caller ARN, the time and the sha256 of the parameter file. `apply` refuses unless
the record exists, matches the file, is recent enough and names someone other than the
caller running the shift. (The audit trail will bind approvals to the exact plan.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ekslift.atomic import write_text_atomic
from ekslift.params import UpgradeParams


@dataclass(frozen=True)
class Approval:
    approver_arn: str
    approved_at: datetime
    params_sha256: str
    name: str
    environment: str
    note: str = ""


def approval_path(params: UpgradeParams) -> Path:
    """The configured file (relative to the parameter file), else beside the runs."""
    configured = params.shift.approval.file
    if configured:
        return params.resolve_path(configured)
    return Path(params.archive_dir).resolve() / "approvals" / f"{params.name}.json"


def params_digest(params_path: Path) -> str:
    return hashlib.sha256(Path(params_path).read_bytes()).hexdigest()


def write_approval(
    params: UpgradeParams, params_path: Path, approver_arn: str, note: str
) -> Approval:
    approval = Approval(
        approver_arn=approver_arn,
        approved_at=datetime.now(UTC),
        params_sha256=params_digest(params_path),
        name=params.name,
        environment=params.environment,
        note=note,
    )
    payload = {**asdict(approval), "approved_at": approval.approved_at.isoformat()}
    write_text_atomic(approval_path(params), json.dumps(payload, indent=2) + "\n")
    return approval


def read_approval(params: UpgradeParams) -> Approval | None:
    path = approval_path(params)
    if not path.exists():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Approval(**{**raw, "approved_at": datetime.fromisoformat(raw["approved_at"])})


def approval_problems(
    params: UpgradeParams, params_path: Path, operator_arn: str, now: datetime
) -> list[str]:
    """Why the shift may not write (empty: it may)."""
    approval = read_approval(params)
    if approval is None:
        return [
            f"no approval at {approval_path(params)}: another person runs "
            "`ekslift shift approve --params FILE` with their own credentials"
        ]
    problems = []
    if approval.params_sha256 != params_digest(params_path):
        problems.append("the approval is for another version of the parameter file")
    if (approval.name, approval.environment) != (params.name, params.environment):
        problems.append(f"the approval is for {approval.name} ({approval.environment})")
    if approval.approver_arn == operator_arn:
        problems.append(f"the approver {approval.approver_arn} is the operator: four eyes needed")
    if now - approval.approved_at > timedelta(hours=params.shift.approval.max_age_hours):
        problems.append(f"the approval of {approval.approved_at:%Y-%m-%d %H:%M} UTC has expired")
    return problems

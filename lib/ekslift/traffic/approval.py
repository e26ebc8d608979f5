"""Writes need an approval of this exact plan by another person: who approved comes from
STS, not from a name typed into a file, and what they approved is a hash, not a file name.

`ekslift shift approve` is run by the approver with their own credentials; it records
their caller ARN and the *person* behind it, the time and an expiry, the change id, any
outside approval named in the parameters, and the plan's sha256: the params file's digest
plus the plan's essentials (per region the listener, rule and target-group ARNs, the
steps, the soak settings and the hold mode). `apply` refuses unless the record exists, has
not expired, was given for the plan it is about to follow (a resume with other parameters
is another plan) and names a person other than the operator.

Persons, not roles: one SRE may hold two roles, and two ARNs from one person are still one
pair of eyes. For an assumed role the person is the session name (SSO sets it to the
user's name or email); for an IAM user, the user name. STS does not tell a caller its own
SourceIdentity, so it cannot be used here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ekslift.atomic import write_text_atomic
from ekslift.errors import InputError
from ekslift.gate import Approval as ManifestApproval
from ekslift.params import ExternalApproval, UpgradeParams
from ekslift.stores import ArchiveStore, open_store
from ekslift.traffic import STEP
from ekslift.traffic.plan import region_order

RECORD_SCHEMA_VERSION = 2
RUN_APPROVAL = "approval.json"


@dataclass(frozen=True)
class Identity:
    """An AWS caller and the person behind it."""

    arn: str
    person: str

    @classmethod
    def of(cls, arn: str) -> Identity:
        return cls(arn, person_of(arn))

    def __str__(self) -> str:
        return f"{self.person} ({self.arn})"


def person_of(arn: str) -> str:
    """The person an STS caller ARN stands for, lower-cased (SSO emails differ in case).

    `…:assumed-role/<role>/<session>` → the session; `…:user/<path>/<name>` and
    `…:federated-user/<name>` → the name; an account's root → `root@<account>`.
    """
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn.lower()
    account, resource = parts[4], parts[5]
    kind, _, rest = resource.partition("/")
    if kind == "assumed-role" and "/" in rest:
        return rest.split("/", 1)[1].lower()
    if kind in ("user", "federated-user") and rest:
        return rest.rsplit("/", 1)[-1].lower()
    if resource == "root":
        return f"root@{account}"
    return arn.lower()


@dataclass(frozen=True)
class ApprovalRecord:
    change_id: str
    name: str
    environment: str
    approver: Identity
    approved_at: datetime
    expires_at: datetime
    plan_sha256: str
    plan: dict[str, Any]
    comment: str = ""
    external: ExternalApproval | None = None

    @property
    def hold_modes(self) -> dict[str, str]:
        """Per region, the hold before 100 % this approval covered."""
        return {name: r["hold"]["mode"] for name, r in self.plan["regions"].items()}

    def to_json(self) -> str:
        return json.dumps(
            {
                "schema_version": RECORD_SCHEMA_VERSION,
                **asdict(self),
                "approved_at": self.approved_at.isoformat(),
                "expires_at": self.expires_at.isoformat(),
                "hold_modes": self.hold_modes,
                "external": self.external.model_dump() if self.external else None,
            },
            indent=2,
        )

    @staticmethod
    def from_json(text: str) -> ApprovalRecord:
        raw = json.loads(text)
        if raw.get("schema_version") != RECORD_SCHEMA_VERSION:
            raise ValueError("an approval from before approvals were bound to the plan")
        return ApprovalRecord(
            change_id=raw["change_id"],
            name=raw["name"],
            environment=raw["environment"],
            approver=Identity(**raw["approver"]),
            approved_at=datetime.fromisoformat(raw["approved_at"]),
            expires_at=datetime.fromisoformat(raw["expires_at"]),
            plan_sha256=raw["plan_sha256"],
            plan=raw["plan"],
            comment=raw.get("comment", ""),
            external=ExternalApproval(**raw["external"]) if raw.get("external") else None,
        )

    def for_manifest(self, operator: Identity) -> ManifestApproval:
        """What the run's manifest keeps of it, beside who operated the shift."""
        external = self.external
        return ManifestApproval(
            step=STEP,
            change_id=self.change_id,
            approver=self.approver.arn,
            approver_person=self.approver.person,
            operator=operator.arn,
            operator_person=operator.person,
            approved_at=self.approved_at,
            expires_at=self.expires_at,
            plan_sha256=self.plan_sha256,
            hold_modes=self.hold_modes,
            comment=self.comment,
            external=f"{external.kind}: {external.reference}" if external else "",
        )


def approval_location(params: UpgradeParams) -> str:
    """The configured file (relative to the parameter file), else in the run archive, where
    the approver's and the operator's machines both reach it (a folder or S3)."""
    configured = params.shift.approval.file
    if configured:
        return str(params.resolve_path(configured))
    return _archive(params).document_url(f"{params.name}.json")


def _archive(params: UpgradeParams) -> ArchiveStore:
    return open_store(params.archive_dir, params.archive, params.aws.profile)


def params_digest(params_path: Path) -> str:
    return hashlib.sha256(Path(params_path).read_bytes()).hexdigest()


def plan_essentials(params: UpgradeParams, params_path: Path) -> dict[str, Any]:
    """What an approver approves, beyond the file's bytes: the values the file's `${VAR}`s
    expanded to (the ARNs) and every setting that decides how far and how fast green goes."""
    regions = {}
    for region in region_order(params):
        traffic = region.traffic
        assert traffic is not None and traffic.alb is not None
        alb = traffic.alb
        regions[region.name] = {
            "listener_arn": alb.listener_arn,
            "rule_arn": alb.rule_arn,
            "blue_target_group_arn": alb.blue_target_group_arn,
            "green_target_group_arn": alb.green_target_group_arn,
            "extra_forward_actions": list(alb.extra_forward_actions),
            "other_load_balancer_arns": list(alb.other_load_balancer_arns),
            "steps": list(traffic.steps),
            "soak_mode": traffic.soak_mode,
            "soak_seconds": traffic.soak_seconds,
            "bake_seconds": traffic.bake_seconds,
            "hold": traffic.hold.model_dump(),
        }
    return {
        "params_sha256": params_digest(params_path),
        "change_id": params.change_id,
        "name": params.name,
        "environment": params.environment,
        "target_version": params.target_version,
        "regions": regions,
    }


def plan_sha256(plan: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        found: dict[str, Any] = {}
        for key, value in node.items():
            found.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return found
    return {prefix: node}


def plan_differences(approved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """`key: approved → now` for every essential that changed (the file's digest included)."""
    before, after = _flat(approved), _flat(current)
    return [
        f"{key}: {before.get(key)!r} → {after.get(key)!r}"
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def write_approval(
    params: UpgradeParams,
    params_path: Path,
    approver_arn: str,
    comment: str,
    now: datetime | None = None,
) -> ApprovalRecord:
    if not params.change_id:
        raise InputError(
            f"{params_path}: an approval is bound to a change: set change_id (the ticket or "
            "pull request) in the parameters, then approve"
        )
    if not region_order(params):
        raise InputError(f"{params_path}: no region has traffic.alb: there is no shift to approve")
    now = now or datetime.now(UTC)
    plan = plan_essentials(params, params_path)
    record = ApprovalRecord(
        change_id=params.change_id,
        name=params.name,
        environment=params.environment,
        approver=Identity.of(approver_arn),
        approved_at=now,
        expires_at=now + timedelta(hours=params.shift.approval.max_age_hours),
        plan_sha256=plan_sha256(plan),
        plan=plan,
        comment=comment,
        external=params.shift.approval.external,
    )
    body = record.to_json() + "\n"
    if params.shift.approval.file:
        write_text_atomic(params.resolve_path(params.shift.approval.file), body)
    else:
        _archive(params).write_document(f"{params.name}.json", body.encode("utf-8"))
    return record


def read_approval(params: UpgradeParams) -> ApprovalRecord | None:
    configured = params.shift.approval.file
    if configured:
        path = params.resolve_path(configured)
        body = path.read_bytes() if path.exists() else None
    else:
        body = _archive(params).read_document(f"{params.name}.json")
    if body is None:
        return None
    try:
        return ApprovalRecord.from_json(body.decode("utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{approval_location(params)} is not an approval of a plan ({exc}): have it "
            "approved again with `ekslift shift approve --params FILE --comment …`"
        ) from exc


def approval_problems(
    params: UpgradeParams,
    params_path: Path,
    operator: Identity,
    now: datetime,
    record: ApprovalRecord | None,
) -> list[str]:
    """Why the shift may not write under ``record`` (empty: it may)."""
    if record is None:
        return [
            f"no approval at {approval_location(params)}: another person runs "
            "`ekslift shift approve --params FILE --comment …` with their own credentials"
        ]
    problems = []
    current = plan_essentials(params, params_path)
    if record.plan_sha256 != plan_sha256(current):
        differences = plan_differences(record.plan, current)
        problems.append(
            f"the approval of {record.approved_at:%Y-%m-%d %H:%M} UTC is for another plan "
            f"(differs in {'; '.join(differences[:8]) or 'its hash'}): have this plan approved"
        )
    if record.approver.person == operator.person:
        problems.append(
            f"the approver {record.approver} and the operator {operator} are the same person: "
            "four eyes needed (another person approves with their own credentials)"
        )
    if now >= record.expires_at:
        problems.append(
            f"the approval expired at {record.expires_at:%Y-%m-%d %H:%M} UTC: have it renewed"
        )
    return problems


def record_for_run(run_dir: Path, record: ApprovalRecord, operator: Identity) -> None:
    """Keep the approval the shift wrote under in the run, for notebook 04 and the manifest."""
    path = Path(run_dir) / "artefacts" / STEP / RUN_APPROVAL
    write_text_atomic(path, record.for_manifest(operator).model_dump_json(indent=2) + "\n")


def run_approval(run_dir: Path) -> ManifestApproval | None:
    path = Path(run_dir) / "artefacts" / STEP / RUN_APPROVAL
    if not path.exists():
        return None
    return ManifestApproval.model_validate_json(path.read_text(encoding="utf-8"))

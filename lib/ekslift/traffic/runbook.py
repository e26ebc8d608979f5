"""What notebook 04 calls: one function per cell. The notebook never runs the shift in its
kernel: it shows the plan, starts (or attaches to) the shift process, waits at most
`shift.notebook_wait_seconds`, and concludes from the state file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ekslift import archive, aws
from ekslift.gate import StepResult
from ekslift.notebook import StepContext
from ekslift.traffic import present, process, promotion
from ekslift.traffic.apply import artefacts_dir, operator_identity, state_log
from ekslift.traffic.approval import approval_problems, read_approval, run_approval
from ekslift.traffic.plan import ShiftPlan, make_plan
from ekslift.traffic.shift import default_services
from ekslift.traffic.state import Record


def params_file(ctx: StepContext, params_path: str) -> Path:
    """The run's copy under the runner (what was approved is what runs), else the file."""
    copy = ctx.run_dir / archive.PARAMS_COPY
    return copy if copy.exists() else Path(params_path)


def plan(ctx: StepContext) -> ShiftPlan:
    aws.configure_from(ctx.params.aws)
    services = default_services(ctx.params)
    return make_plan(
        ctx.params, services.read_set, services.source, datetime.now(UTC), ctx.params.apply
    )


def approval(ctx: StepContext, params_path: str) -> pd.DataFrame:
    """The approval on file for this plan, and why the shift would refuse it (if it would)."""
    record = read_approval(ctx.params)
    problems = approval_problems(
        ctx.params,
        params_file(ctx, params_path),
        operator_identity(ctx.params),
        datetime.now(UTC),
        record,
    )
    rows = []
    if record is not None:
        external = record.external
        rows = [
            {"": "change", "value": record.change_id},
            {"": "approver", "value": str(record.approver)},
            {"": "approved at", "value": f"{record.approved_at:%Y-%m-%d %H:%M} UTC"},
            {"": "expires at", "value": f"{record.expires_at:%Y-%m-%d %H:%M} UTC"},
            {"": "plan sha256", "value": record.plan_sha256},
            {"": "hold before 100 %", "value": json.dumps(record.hold_modes)},
            {
                "": "outside approval",
                "value": f"{external.kind}: {external.reference}" if external else "none",
            },
        ]
    rows += [{"": "refused", "value": problem} for problem in problems]
    return pd.DataFrame(rows)


def promoted(ctx: StepContext) -> promotion.Promotion:
    """A prod run's lower run and every difference from it (nothing to show elsewhere)."""
    return promotion.check(ctx.params, ctx.run_dir)


def promotion_table(found: promotion.Promotion) -> pd.DataFrame:
    lower = found.lower
    return pd.DataFrame(
        [
            {
                "": d.what,
                f"lower run {lower.run_id if lower else ''}": d.lower,
                "this run": d.here,
                "differs": d.lower != d.here,
            }
            for d in found.differences
        ]
    )


def start_or_attach(ctx: StepContext, params_path: str) -> int | None:
    """The shift process's pid (started now, or already running); None without `apply`."""
    artefacts = artefacts_dir(ctx.run_dir)
    running = process.running_pid(artefacts)
    if running is not None or not ctx.params.apply:
        return running
    return process.start_detached(
        params_file(ctx, params_path).resolve(), ctx.run_dir.resolve(), artefacts, apply=False
    )


def wait(ctx: StepContext) -> bool:
    """True when the shift process has ended within the wait the parameters allow."""
    return process.wait(artefacts_dir(ctx.run_dir), ctx.params.shift.notebook_wait_seconds)


def records(ctx: StepContext) -> list[Record]:
    return state_log(ctx.run_dir).records()


def log_tail(ctx: StepContext, lines: int = 20) -> str:
    path = artefacts_dir(ctx.run_dir) / process.LOG_FILE
    return (
        "\n".join(path.read_text(encoding="utf-8").splitlines()[-lines:]) if path.exists() else ""
    )


def tables(ctx: StepContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    found = records(ctx)
    return pd.DataFrame(present.verdict_rows(found)), pd.DataFrame(present.metric_rows(found))


def conclude(ctx: StepContext) -> StepResult:
    """Write the weight history for step 5, then the gate from the state file."""
    found = records(ctx)
    present.write_history(ctx.artefacts, found)
    running = process.running_pid(artefacts_dir(ctx.run_dir)) is not None
    used = run_approval(ctx.run_dir)
    findings = [
        *present.findings(ctx.params, found, running),
        *present.approval_findings(used),
        *promoted(ctx).findings,
    ]
    return ctx.conclude(findings, [used] if used else [])

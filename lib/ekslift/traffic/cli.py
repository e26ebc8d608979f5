"""`ekslift shift plan|apply|status|rollback|retire|approve|release`: step 4 without a
notebook, for operators, CI and the Kubernetes Job (docs in the README).

`plan` is the default and writes nothing. `apply` writes only with `apply: true` or
`--apply` and a valid approval; `--detach` starts the shift as its own process and
returns. `rollback` needs neither: 100 % blue is always allowed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ekslift import archive, aws
from ekslift.errors import EXIT_GATE, EXIT_PASS, InputError
from ekslift.params import UpgradeParams, load_params
from ekslift.stores import open_store
from ekslift.traffic import process
from ekslift.traffic.actions import alb_of
from ekslift.traffic.apply import apply_shift, artefacts_dir, operator_identity, state_log
from ekslift.traffic.approval import approval_location, write_approval
from ekslift.traffic.lease import lease_of
from ekslift.traffic.plan import make_plan, region_order
from ekslift.traffic.present import plan_text
from ekslift.traffic.retire import plan_retire, retire
from ekslift.traffic.shift import default_services, rollback
from ekslift.traffic.state import region_view

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def _params(args: argparse.Namespace) -> UpgradeParams:
    """Relative paths start where the original file was, also for a run's copy of it."""
    run_dir = getattr(args, "run_dir", None)
    params = load_params(args.params, archive.params_dir_of(Path(run_dir)) if run_dir else None)
    aws.configure_from(params.aws)
    if args.region and args.region not in {r.name for r in params.regions}:
        raise InputError(f"--region {args.region} is not in {args.params}")
    return params


def _run_dir(args: argparse.Namespace, params: UpgradeParams) -> Path:
    """The given run, else a new one in the archive holding a copy of the parameters."""
    if args.run_dir:
        return Path(args.run_dir)
    store = open_store(params.archive_dir, params.archive, params.aws.profile)
    run_dir = archive.new_run_dir(store, params.name)
    shutil.copyfile(args.params, run_dir / archive.PARAMS_COPY)
    return run_dir


def _regions(params: UpgradeParams, only: str | None) -> list:
    return [r for r in region_order(params) if only in (None, r.name)]


def cmd_plan(args: argparse.Namespace) -> int:
    params = _params(args)
    services = default_services(params)
    plan = make_plan(
        params, services.read_set, services.source, datetime.now(UTC), params.apply or args.apply
    )
    console.print(plan_text(plan), markup=False)
    return EXIT_PASS


def cmd_apply(args: argparse.Namespace) -> int:
    params = _params(args)
    run_dir = _run_dir(args, params)
    if args.detach:
        pid = process.start_detached(
            Path(args.params).resolve(),
            run_dir.resolve(),
            artefacts_dir(run_dir),
            apply=args.apply,
            region=args.region,
        )
        log = artefacts_dir(run_dir) / process.LOG_FILE
        console.print(f"shift process {pid} started for {run_dir}; log {log}", markup=False)
        console.print(f"attach: ekslift shift status --params {args.params} --run-dir {run_dir}")
        return EXIT_PASS
    outcomes = apply_shift(
        params,
        Path(args.params),
        run_dir,
        apply=args.apply,
        region=args.region,
        install_signals=True,
    )
    for outcome in outcomes:
        console.print(
            f"{outcome.region}: {outcome.status} at {outcome.share} % — {outcome.reason}",
            markup=False,
        )
    console.print(f"state: {state_log(run_dir).path}", markup=False)
    return EXIT_PASS if outcomes and all(o.status == "shifted" for o in outcomes) else EXIT_GATE


def cmd_status(args: argparse.Namespace) -> int:
    params = _params(args)
    run_dir = Path(args.run_dir)
    records = state_log(run_dir).records()
    services = default_services(params)
    table = Table(
        "region", "AWS now (% green)", "state file", "last applied", "passed", "reason", "lease"
    )
    calls = []
    for region in _regions(params, args.region):
        found = services.read_set(region)
        view = region_view(records, region.name)
        alb = alb_of(region)
        table.add_row(
            region.name,
            json.dumps(found.shares(alb)) if found.share(alb) is None else str(found.share(alb)),
            view.status or ("running" if view.started else "not started"),
            str(view.applied_share),
            ", ".join(map(str, view.passed)),
            view.reason,
            lease_of(params, region.name),
        )
        calls += [a.manual_rollback(alb, region.name) for a in found.actions]
    console.print(table)
    pid = process.running_pid(artefacts_dir(run_dir))
    console.print(f"shift process: {'running, pid ' + str(pid) if pid else 'not running'}")
    console.print("back to 100 % blue by hand:\n  " + "\n  ".join(calls), markup=False)
    return EXIT_PASS


def cmd_rollback(args: argparse.Namespace) -> int:
    params = _params(args)
    run_dir = _run_dir(args, params)
    services = default_services(params)
    who = str(operator_identity(params))
    ok = True
    for region in _regions(params, args.region):
        outcome = rollback(
            params, region, f"manual rollback by {who}", state_log(run_dir), services, who
        )
        console.print(f"{outcome.region}: {outcome.status} — {outcome.reason}", markup=False)
        ok &= outcome.status == "rolled-back"
    return EXIT_PASS if ok else EXIT_GATE


def cmd_retire(args: argparse.Namespace) -> int:
    params = _params(args)
    run_dir = Path(args.run_dir)
    records = state_log(run_dir).records()
    services = default_services(params)
    ok = True
    for region in _regions(params, args.region):
        found = services.read_set(region)
        plan = plan_retire(params, region, found, records, datetime.now(UTC))
        console.print(f"[bold]{region.name}[/bold]: {'ready' if plan.ready else 'NOT ready'}")
        for reason in plan.reasons:
            console.print(f"  - {reason}", markup=False)
        console.print(f"  infrastructure code: {plan.infrastructure_change}", markup=False)
        console.print("  then delete, in order:", markup=False)
        for item in plan.delete:
            console.print(f"    - {item}", markup=False)
        if not plan.ready:
            ok = False
            continue
        if args.apply:
            problems = retire(params, region, found, plan)
            for problem in problems:
                console.print(f"  [red]problem:[/red] {problem}")
            ok &= not problems
        else:
            for arn, actions in plan.changes:
                console.print(f"  would write {arn}: {actions}", markup=False)
    return EXIT_PASS if ok else EXIT_GATE


def cmd_approve(args: argparse.Namespace) -> int:
    params = _params(args)
    approver = operator_identity(params)
    record = write_approval(params, Path(args.params), approver.arn, args.comment)
    external = params.shift.approval.external
    holds = ", ".join(f"{region}: {mode}" for region, mode in record.hold_modes.items())
    console.print(
        f"{record.change_id}: plan {record.plan_sha256[:12]}… of {params.name} "
        f"({params.environment}) approved by {approver} at {record.approved_at:%Y-%m-%d %H:%M} "
        f"UTC, valid until {record.expires_at:%Y-%m-%d %H:%M} UTC\n"
        f"  hold before 100 %: {holds}\n"
        + (f"  outside approval: {external.kind} {external.reference}\n" if external else "")
        + f"  record: {approval_location(params)}",
        markup=False,
    )
    return EXIT_PASS


def cmd_release(args: argparse.Namespace) -> int:
    params = _params(args)
    if not args.region:
        raise InputError("give --region: a hold is released one region at a time")
    who = str(operator_identity(params))
    state_log(Path(args.run_dir)).append("hold", args.region, released=True, by=who)
    console.print(f"{args.region}: hold released by {who}", markup=False)
    return EXIT_PASS


Command = tuple[Callable[[argparse.Namespace], int], str]


def add_shift_parser(
    sub: argparse._SubParsersAction, more: dict[str, Command] | None = None
) -> None:
    """The `shift` commands, and ``more`` from the layers above (the guard's)."""
    p = sub.add_parser("shift", help="step 4: move traffic blue → green, judged, rolled back")
    actions = p.add_subparsers(dest="action", required=True)
    commands: dict[str, Command] = {
        "plan": (cmd_plan, "the steps, soaks and rollback calls (read-only, the default)"),
        "apply": (cmd_apply, "run the shift (writes only with apply: true/--apply + approval)"),
        "status": (cmd_status, "AWS's weights, the state file, the shift process"),
        "rollback": (cmd_rollback, "100 % blue on every forward action naming blue"),
        "retire": (cmd_retire, "take blue out of the forward set once it is quiet"),
        "approve": (cmd_approve, "record your approval (run with your own credentials)"),
        "release": (cmd_release, "release a watched hold in one region"),
        **(more or {}),
    }
    for name, (handler, text) in commands.items():
        c = actions.add_parser(name, help=text)
        c.add_argument("--params", required=True)
        c.add_argument("--region", help="only this region")
        if name in ("apply", "status", "rollback", "retire", "release"):
            c.add_argument(
                "--run-dir",
                required=name in ("status", "retire", "release"),
                help="the run whose state file to use (apply: resume it)",
            )
        if name in ("plan", "apply", "retire"):
            c.add_argument("--apply", action="store_true", help="allow writes (as apply: true)")
        if name == "apply":
            c.add_argument("--detach", action="store_true", help="start as its own process")
        if name == "approve":
            c.add_argument(
                "--comment", "--note", default="", help="what you checked, for the record"
            )
        c.set_defaults(handler=handler)

"""`ekslift shift guard --params FILE`: one pass of the guard, as the CronJob runs it."""

from __future__ import annotations

import argparse

from rich.console import Console

from ekslift import aws
from ekslift.errors import EXIT_GATE, EXIT_PASS, InputError
from ekslift.guard.reconcile import guard_pass
from ekslift.params import load_params
from ekslift.traffic.checks import caller_arn

console = Console(highlight=False, soft_wrap=True)


def cmd_guard(args: argparse.Namespace) -> int:
    """Exit 1 when a self-test, a rollback or a region's judgement failed: the CronJob's
    failure is then visible (`kubectl get jobs`) besides the guard's heartbeat going stale."""
    params = load_params(args.params)
    aws.configure_from(params.aws)
    if args.region and args.region not in {r.name for r in params.regions}:
        raise InputError(f"--region {args.region} is not in {args.params}")
    who = f"guard {caller_arn(params.regions[0].name, params.aws.profile)}"
    ok = True
    for report in guard_pass(params, who, args.region):
        test = "self-test passed" if not report.selftest else "SELF-TEST FAILED: "
        console.print(
            f"{report.region}: {report.action}{' — ' + report.reason if report.reason else ''}; "
            f"{test}{'; '.join(report.selftest)}",
            markup=False,
        )
        ok &= not report.selftest and report.action not in ("rollback-failed", "guard-failed")
    return EXIT_PASS if ok else EXIT_GATE

"""The `ekslift` command line: every step usable without a notebook, for CI and operators.

The CLI only parses arguments and presents what the library returns; exit codes follow
DESIGN.md (0 pass or warn, 1 gate failed, 2 usage or bad input, 3 tool error), except
`ekslift scan`, which keeps pluto's codes for the CI jobs that replace pluto.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ekslift import __version__, archive, runner
from ekslift.errors import (
    EXIT_GATE,
    EXIT_PASS,
    EXIT_TOOL,
    EXIT_USAGE,
    EksliftError,
    InputError,
)
from ekslift.params import ArchiveParams, load_params
from ekslift.stores import ArchiveStore, open_store
from ekslift.stores.local import LocalStore
from ekslift.stores.s3 import is_s3_url

# Piped output (CI logs) gets wide tables instead of rich's 80-column default.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "red"}


def _cmd_params_check(args: argparse.Namespace) -> int:
    params = load_params(args.file)
    regions = ", ".join(r.name for r in params.regions)
    console.print(
        f"{args.file}: ok — upgrade {params.name!r} ({params.environment}) to "
        f"{params.target_version} in {regions}; {len(params.waivers)} waiver(s)"
    )
    return EXIT_PASS


def _print_event(event: runner.StepEvent) -> None:
    head = f"step {event.index}/{event.total} {event.step}"
    if event.phase == "started":
        console.print(f"{head} … running")
        return
    if event.phase == "skipped":
        console.print(f"{head}: skipped (already {event.verdict} in this run)")
        return
    label = event.verdict or event.phase
    style = _VERDICT_STYLE.get(label if event.phase != "error" else "error", "white")
    line = f"{head}: [{style}]{label}[/{style}] in {event.seconds or 0:.1f} s"
    console.print(f"{line} — {event.message}" if event.message else line)


def _cmd_run(args: argparse.Namespace) -> int:
    from ekslift.charts.helm import Helm, HelmError
    from ekslift.tools import ToolError

    try:
        helm_version = Helm(Path(tempfile.gettempdir()) / "ekslift-helm").version()
    except (HelmError, ToolError):
        helm_version = None
    with console.status("preparing the run…") as status:

        def on_event(event: runner.StepEvent) -> None:
            if event.phase == "started":
                status.update(f"step {event.index}/{event.total} {event.step} running…")
            _print_event(event)

        outcome = runner.run(
            Path(args.params) if args.params else None,
            only=args.only,
            start=args.start,
            resume=args.resume,
            notebooks_dir=Path(args.notebooks) if args.notebooks else None,
            helm_version=helm_version,
            on_event=on_event,
        )
    verdict = outcome.manifest.verdict
    style = _VERDICT_STYLE.get(verdict, "white")
    console.print(f"run [{style}]{verdict}[/{style}]; archived in {outcome.archive_url}")
    if outcome.archive_url != str(outcome.run_dir):
        console.print(f"working copy: {outcome.run_dir}")
    if outcome.exit_code == EXIT_PASS and args.fail_on == "warn" and verdict == "warn":
        return EXIT_GATE
    return outcome.exit_code


def _runs_store(args: argparse.Namespace) -> ArchiveStore:
    return open_store(args.archive_dir, ArchiveParams(region=args.region), args.profile)


def _locate_run(args: argparse.Namespace) -> tuple[ArchiveStore, str]:
    """A run by its directory, its S3 URL, or its id (or a unique part) in `--archive`."""
    ref: str = args.run
    if is_s3_url(ref):
        parent, _, run_id = ref.rstrip("/").rpartition("/")
        return open_store(parent, ArchiveParams(region=args.region), args.profile), run_id
    if (Path(ref) / archive.MANIFEST).exists():
        return LocalStore(Path(ref).parent), Path(ref).name
    store = _runs_store(args)
    return store, archive.resolve_run(store, ref)


def _cmd_runs_list(args: argparse.Namespace) -> int:
    table = Table("run", "environment", "operator", "started (UTC)", "steps", "verdict", "lock")
    for manifest in archive.list_runs(_runs_store(args)):
        table.add_row(
            manifest.run_id,
            manifest.environment,
            manifest.operator,
            f"{manifest.started_at:%Y-%m-%d %H:%M:%S}",
            str(len(manifest.steps)),
            manifest.verdict,
            (manifest.storage.object_lock or "none") if manifest.storage else "none",
        )
    console.print(table)
    return EXIT_PASS


def _print_problems(home: str | None, problems: list[archive.Problem]) -> None:
    """`home`: where the run was archived, when what was verified is a copy of it."""
    if home:
        console.print(
            f"a copy of {home}: only its file hashes were checked; verify the archive there "
            "for object versions and Object Lock"
        )
    if not problems:
        console.print("integrity: all file hashes match")
        return
    console.print("[red]integrity problems:[/red]")
    for problem in problems:
        console.print(f"  {problem.kind:<9} {problem}")


def _cmd_runs_show(args: argparse.Namespace) -> int:
    store, run_id = _locate_run(args)
    manifest = archive.read_manifest(store, run_id)
    if args.json:
        console.print_json(manifest.model_dump_json())
        return EXIT_PASS
    problems = archive.verify_run(store, run_id)
    console.print(f"[bold]{manifest.run_id}[/bold] — {store.run_url(run_id)}")
    console.print(
        f"operator {manifest.operator}; commit {manifest.git_commit or 'unknown'}"
        f"{' (dirty)' if manifest.git_dirty else ''}; verdict {manifest.verdict}"
    )
    if manifest.storage is not None:
        storage = manifest.storage
        lock = (
            f"Object Lock {storage.object_lock} for {storage.retention_days} days"
            if storage.object_lock
            else "no Object Lock"
        )
        console.print(
            f"archive: {storage.encryption or 'no server-side encryption'}; {lock}"
            f"{'; ' + storage.note if storage.note else ''}"
            f"{'; written by ' + storage.writer if storage.writer else ''}"
        )
    table = Table("step", "status", "verdict", "seconds", "summary")
    for step in manifest.steps:
        table.add_row(
            step.step,
            step.status,
            step.verdict or "",
            f"{step.duration_s or 0:.1f}",
            step.error or step.summary,
        )
    console.print(table)
    for step_name, waivers in manifest.waivers.items():
        for waiver in waivers:
            console.print(
                f"waived in {step_name}: {waiver.finding_id} — by {waiver.accepted_by}: "
                f"{waiver.reason}"
            )
    _print_problems(archive.archived_elsewhere(manifest, store, run_id), problems)
    return EXIT_PASS if not problems else EXIT_GATE


def _cmd_runs_verify(args: argparse.Namespace) -> int:
    store, run_id = _locate_run(args)
    problems = archive.verify_run(store, run_id)
    console.print(f"{store.run_url(run_id)}:")
    manifest = archive.read_manifest(store, run_id)
    _print_problems(archive.archived_elsewhere(manifest, store, run_id), problems)
    return EXIT_PASS if not problems else EXIT_GATE


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from ekslift_sandbox import control

    state_dir = Path(args.dir)
    if args.action == "up":
        with console.status(
            f"starting the sandbox ({args.scale}): AWS, five clusters, charts, Prometheus…"
        ):
            state = control.up(state_dir, scale=args.scale, scenario=args.scenario)
        console.print(f"sandbox up in {state_dir} (pid {state.pid}); for your shell:")
        console.print(f'  eval "$(ekslift sandbox env --dir {state_dir})"')
    elif args.action == "down":
        stopped = control.down(state_dir)
        console.print("sandbox stopped" if stopped else "no sandbox was running")
    elif args.action == "status":
        status = control.status(state_dir)
        console.print_json(json.dumps(status))
        return EXIT_PASS if status.get("running") else EXIT_TOOL
    else:
        sys.stdout.write(control.shell_env(state_dir))
    return EXIT_PASS


def _cmd_inventory(args: argparse.Namespace) -> int:
    from ekslift.gate import judge
    from ekslift.inventory import STEP
    from ekslift.inventory.collect import collect
    from ekslift.inventory.present import print_inventory
    from ekslift.readiness import check_estate

    params = load_params(args.params)
    inventory = collect(params)
    # Step 1's gate is the inventory's and cutover readiness's findings, as in notebook 01:
    # the CLI must not pass what the notebook fails.
    readiness = check_estate(params)
    result = judge(STEP, inventory.findings + readiness.findings, params)
    print_inventory(console, inventory, result, args.output)
    incomplete = inventory.incomplete + readiness.incomplete
    if incomplete:
        err.print(f"[red]could not reach:[/red] {'; '.join(incomplete)}")
        return EXIT_TOOL
    return EXIT_GATE if result.verdict == "fail" else EXIT_PASS


def _cmd_readiness(args: argparse.Namespace) -> int:
    from ekslift.gate import judge
    from ekslift.readiness import check, check_estate
    from ekslift.readiness.present import print_readiness
    from ekslift.readiness.rows import EstateReadiness

    params = load_params(args.params)
    known = [r.name for r in params.regions]
    if args.region and args.region not in known:
        raise InputError(
            f"--region {args.region}: not in {args.params} (known: {', '.join(known)})"
        )
    if args.region:
        estate = EstateReadiness([check(params, args.region, args.share)])
    else:
        estate = check_estate(params, args.share)
    result = judge("readiness", estate.findings, params)
    print_readiness(console, estate, result, args.output)
    if estate.incomplete:
        err.print(f"[red]could not reach:[/red] {'; '.join(estate.incomplete)}")
        return EXIT_TOOL
    return EXIT_GATE if result.verdict == "fail" else EXIT_PASS


def _cmd_charts(args: argparse.Namespace) -> int:
    from ekslift.chartdiff.cli import run_charts

    return run_charts(args, console, err)


def _share(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("a share is a percentage from 0 to 100")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ekslift", description="A reproducible, gated runbook for EKS upgrades."
    )
    parser.add_argument("--version", action="version", version=f"ekslift {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the step notebooks into a new (or resumed) run archive")
    p.add_argument("--params", help="parameter file (params/*.yaml)")
    p.add_argument("--only", help="run only this step (e.g. 01-inventory or inventory)")
    p.add_argument("--from", dest="start", help="start at this step")
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="continue this run (its directory or s3:// URL) at its first unfinished step",
    )
    p.add_argument("--notebooks", help="folder of step notebooks (default: notebooks/)")
    p.add_argument("--fail-on", choices=["fail", "warn"], default="fail")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("params", help="parameter files")
    psub = p.add_subparsers(dest="action", required=True)
    check = psub.add_parser("check", help="validate a parameter file")
    check.add_argument("file")
    check.set_defaults(handler=_cmd_params_check)

    p = sub.add_parser("runs", help="archived runs (a folder or s3://bucket/prefix)")
    p.add_argument(
        "--archive",
        "--archive-dir",
        dest="archive_dir",
        default="runs",
        help="where runs are archived: a folder or s3://bucket/prefix (default: runs)",
    )
    p.add_argument("--region", help="the S3 bucket's region (default: the AWS configuration's)")
    p.add_argument("--profile", help="AWS profile to read an S3 archive with")
    rsub = p.add_subparsers(dest="action", required=True)
    rsub.add_parser("list", help="list archived runs").set_defaults(handler=_cmd_runs_list)
    run_help = "run directory, s3:// URL, id, or unique part of the id"
    show = rsub.add_parser("show", help="show one run and check its file hashes")
    show.add_argument("run", help=run_help)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_cmd_runs_show)
    check = rsub.add_parser(
        "verify",
        help="check a run against its manifest: modified, missing, added files, object "
        "versions and retention (exit 1 when anything differs)",
    )
    check.add_argument("run", help=run_help)
    check.set_defaults(handler=_cmd_runs_verify)

    p = sub.add_parser("sandbox", help="the local fake-but-faithful estate")
    p.add_argument("action", choices=["up", "down", "status", "env"])
    p.add_argument("--dir", default=".sandbox", help="where the sandbox keeps its state")
    p.add_argument("--scale", choices=["small", "large"], default="small")
    p.add_argument("--scenario", choices=["healthy", "regress"], default="healthy")
    p.set_defaults(handler=_cmd_sandbox)

    p = sub.add_parser("inventory", help="step 1: what runs where, and is it upgradable")
    p.add_argument("--params", required=True)
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=_cmd_inventory)

    p = sub.add_parser(
        "readiness",
        help="cutover readiness: can green take the next share, can blue take it back",
    )
    p.add_argument("--params", required=True)
    p.add_argument(
        "--share",
        type=_share,
        help="green's share to check for (default: the step after the ALB's current share)",
    )
    p.add_argument("--region", help="only this region")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=_cmd_readiness)

    from ekslift.chartdiff.cli import add_charts_parser

    add_charts_parser(sub).set_defaults(handler=_cmd_charts)
    _add_scan(sub)
    _add_shift(sub)
    _add_review(sub)
    return parser


def _add_scan(sub: argparse._SubParsersAction) -> None:
    from ekslift.apiscan.cli import add_scan_parser, run_scan

    add_scan_parser(sub).set_defaults(handler=run_scan, pluto_codes=True)


def _command(argv: list[str]) -> str | None:
    """The subcommand named in `argv` (the global options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _add_shift(sub: argparse._SubParsersAction) -> None:
    from ekslift.guard.cli import cmd_guard
    from ekslift.traffic.cli import add_shift_parser

    guard = (cmd_guard, "one pass of the guard: roll back unwatched regions (the CronJob)")
    add_shift_parser(sub, {"guard": guard})


def _add_review(sub: argparse._SubParsersAction) -> None:
    from ekslift.review.cli import add_parsers

    add_parsers(sub, console)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if not exc.code:
            return 0
        if _command(sys.argv[1:] if argv is None else argv) == "scan":
            from ekslift.apiscan.cli import SCAN_USAGE_EXIT

            return SCAN_USAGE_EXIT
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace], int] = args.handler
    if getattr(args, "pluto_codes", False):
        return handler(args)
    try:
        return handler(args)
    except EksliftError as exc:
        logging.getLogger("ekslift").debug("%s", type(exc).__name__, exc_info=True)
        label = "error" if exc.exit_code == EXIT_USAGE else "tool error"
        err.print(f"[red]{label}:[/red] {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted; resume with `ekslift run --resume <run dir>`")
        return EXIT_TOOL
    except Exception as exc:
        logging.getLogger("ekslift").debug("tool error", exc_info=True)
        err.print(
            f"[red]tool error:[/red] {type(exc).__name__}: {exc} (re-run with -v for details)"
        )
        return EXIT_TOOL


if __name__ == "__main__":
    sys.exit(main())

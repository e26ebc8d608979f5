"""``ekslift review`` (step 5 without a notebook) and ``ekslift judge`` (one comparison, or
the soak plan): the same library calls as notebook 05, presented as terminal tables."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
from rich.console import Console

from ekslift.errors import EXIT_GATE, EXIT_PASS, EXIT_TOOL, InputError
from ekslift.gate import judge as gate_judge
from ekslift.metrics.backend import TrafficTarget, WeightChange
from ekslift.metrics.backends import backend_for
from ekslift.metrics.judge import judge_step
from ekslift.metrics.soak import plan_soaks
from ekslift.params import UpgradeParams, load_params
from ekslift.review import STEP, present
from ekslift.review.judge import ReviewVerdicts, StepReview, gate_findings, judge_review
from ekslift.review.read import read_review
from ekslift.tables import rich_table


def utc_time(text: str) -> datetime:
    """An ISO time with its zone (``2026-11-28T10:00Z``); a naive time is refused, since a
    local-time window would review the wrong hours."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO time: {exc}") from exc
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; write it in UTC (…Z)")
    return moment


def _window(text: str) -> tuple[datetime, datetime]:
    start, sep, end = text.partition("/")
    if not sep:
        raise argparse.ArgumentTypeError("--window is START/END, two UTC ISO times")
    return utc_time(start), utc_time(end)


def _share(text: str) -> float:
    """``25`` or ``0.25`` both mean a quarter of the traffic to green."""
    value = float(text)
    share = value / 100 if value > 1 else value
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"--share {text}: a percentage in (0, 100]")
    return share


def add_parsers(sub: argparse._SubParsersAction, console: Console) -> None:
    """Register ``review`` and ``judge``; their output goes to ``console``."""
    p = sub.add_parser("review", help="step 5: did green behave as well as blue, retire blue?")
    p.add_argument("--params", required=True)
    p.add_argument("--since", type=utc_time, help="start of the reviewed window (UTC)")
    p.add_argument("--until", type=utc_time, help="end of the reviewed window (UTC)")
    p.add_argument("--run", type=Path, help="a run whose step 4 weight history to review")
    p.set_defaults(handler=partial(run_review, console=console))

    p = sub.add_parser(
        "judge", help="judge green against blue over one window, or print the soak plan"
    )
    p.add_argument("action", nargs="?", choices=["plan"], help="plan: the soak table")
    p.add_argument("--params", required=True)
    p.add_argument("--region", help="the region to judge")
    p.add_argument("--window", type=_window, help="START/END in UTC ISO times")
    p.add_argument("--share", type=_share, help="green's share in that window (25 or 0.25)")
    p.add_argument("--rate", type=float, help="plan: requests/s (default: the last hour's)")
    p.add_argument("--error-rate", type=float, help="plan: errors per request (default: read)")
    p.set_defaults(handler=partial(run_judge, console=console))


def _print_verdicts(console: Console, verdicts: ReviewVerdicts) -> None:
    console.print(rich_table("Steps", present.steps_frame(verdicts)))
    _print_metrics(console, verdicts)
    console.print(rich_table("Retiring blue", present.retirement_frame(verdicts)))


def _print_metrics(console: Console, verdicts: ReviewVerdicts) -> None:
    """The metric verdicts' key numbers; the reason carries the counts and rates."""
    frame = present.metrics_frame(verdicts)
    if frame.empty:
        return
    columns = ["region", "share", "metric", "verdict", "ratio", "lower", "upper", "reason"]
    shown = frame[columns].round({"ratio": 2, "lower": 2, "upper": 2})
    console.print(rich_table("Metrics", shown))


def run_review(args: argparse.Namespace, console: Console) -> int:
    params = load_params(args.params)
    review = read_review(params, args.run, since=args.since, until=args.until)
    console.print(rich_table("Window", present.window_frame(review)))
    verdicts = judge_review(review)
    _print_verdicts(console, verdicts)
    for note in review.notes:
        console.print(f"[dim]{note}[/dim]")
    result = gate_judge(STEP, gate_findings(review, verdicts), params)
    console.print(f"{STEP}: {result.verdict} — {result.summary}")
    if review.incomplete:
        console.print(f"[red]could not read:[/red] {'; '.join(review.incomplete)}")
        return EXIT_TOOL
    return EXIT_GATE if result.verdict == "fail" else EXIT_PASS


def _target(params: UpgradeParams, region: str) -> TrafficTarget:
    try:
        return TrafficTarget.of(params.region(region))
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from exc


def run_judge(args: argparse.Namespace, console: Console) -> int:
    params = load_params(args.params)
    if args.action == "plan":
        return _plan(args, params, console)
    if not (args.region and args.window and args.share):
        raise InputError("ekslift judge needs --region, --window START/END and --share")
    backend = backend_for(params)
    start, end = args.window
    window = backend.window(
        _target(params, args.region), start, end, [WeightChange(start, args.share)]
    )
    verdict = judge_step(
        window,
        args.share,
        backend.judge_settings(params.metrics.judge),
        regions=len(params.regions),
    )
    console.print(
        f"{verdict.region} at {args.share:.0%}, {window.start:%Y-%m-%d %H:%M} + "
        f"{window.minutes} min ({backend.name}): [bold]{verdict.verdict}[/bold] — {verdict.reason}"
    )
    one = StepReview(verdict.region, window.start, end, verdict.share, verdict)
    _print_metrics(console, ReviewVerdicts(steps=(one,), whole_window={}, retirements=()))
    return EXIT_GATE if verdict.verdict == "fail" else EXIT_PASS


def _plan(args: argparse.Namespace, params: UpgradeParams, console: Console) -> int:
    """Per region: the soak each step needs at the rate and error rate of the last hour
    (blue and green together: the service's rate), unless given."""
    backend = backend_for(params)
    settings = backend.judge_settings(params.metrics.judge)
    for region in params.regions:
        rate, error_rate = args.rate, args.error_rate
        if rate is None or error_rate is None:
            end = backend.complete_until(datetime.now(UTC))
            start = end - timedelta(hours=1)
            target = TrafficTarget.of(region)
            window = backend.window(target, start, end, [WeightChange(start, 0.0)])
            requests = window.requests(window.blue) + window.requests(window.green)
            errors = sum(
                (
                    window.counts(colour.errors[kind])
                    for colour in (window.blue, window.green)
                    if colour is not None
                    for kind in settings.error_kinds
                    if kind in colour.errors
                ),
                start=np.zeros(window.minutes),
            )
            if requests.sum() == 0:
                raise InputError(f"{region.name}: no requests in the last hour; pass --rate")
            rate = rate or float(requests.sum() / (window.minutes * 60))
            error_rate = error_rate or max(float(errors.sum() / requests.sum()), 1e-5)
        plan = plan_soaks(rate, error_rate, settings, regions=len(params.regions))
        title = f"{region.name}: soak plan at {rate:.1f} requests/s, {error_rate:.3%} errors"
        console.print(rich_table(title, present.plan_frame(plan)))
    return EXIT_PASS

"""The shift of one run: regions one at a time, the canary first, step by step.

For each change of weights: checks (``checks``), the intent recorded (fsynced) before the
write, every forward action of the set written and read back, then the soak: limits and
alarms polled, the judge's verdict at the end (pass; extend once; hold for a release; fail),
and green's measured share. Any fail, breached limit, exception or signal sends the region
to **100 % blue** (:func:`rollback`, never "the last weights that passed": green is the
suspect). A forward action someone else changed stops the shift without writing: their
change is not ours to overwrite. A region that does not end on green leaves later regions
untouched.

Resume is from AWS: :func:`resume_point` compares what AWS shows with the state file and
continues from the step AWS is at (its soak is redone unless its verdict already passed),
re-reads a write whose result is unknown, and rolls back anything the plan cannot explain.
:func:`rollback` needs only the parameters, a state sink and the services, so the guard and
the rollback function (``ekslift.guard``) call it as it is; it needs no lease.

With ``shift.guard`` set, a region's forward writes happen under its lease (``lease``):
taken before the first write (a live lease held by someone else refuses the shift, naming
the holder), renewed with a heartbeat at every poll, verified before and after every
forward write, given back at the region's end. Green's alarms (``watch``) exist from before
the first write to the end; one in ALARM rolls back at once. A lease lost (expired while the
process was suspended, or taken over by a guard) stops the shift without writing: whoever
took it over owns the region now.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any, Protocol

from ekslift.errors import EksliftError
from ekslift.gate import Finding
from ekslift.metrics.backend import floor_minute
from ekslift.metrics.judge import judge_step
from ekslift.metrics.limits import check_limits
from ekslift.metrics.series import Window
from ekslift.metrics.verdict import LimitBreach, StepVerdict
from ekslift.params import AlbTraffic, RegionParams, SmokeSettings, UpgradeParams
from ekslift.traffic import actions as elb
from ekslift.traffic.actions import ForwardAction, ForwardSet, alb_of
from ekslift.traffic.checks import (
    BackendProbe,
    Clock,
    ForwardSetReader,
    ReadinessCheck,
    alarms_firing,
    clock_skew,
    credentials_problem,
    cutover_readiness,
    finding,
    route53_unhealthy,
    same_set,
)
from ekslift.traffic.lease import Lease, LeaseLost, LeaseTable
from ekslift.traffic.metrics_source import MetricsSource, measured_share, source_for
from ekslift.traffic.notify import Notifier
from ekslift.traffic.plan import baseline, region_order, steps_of
from ekslift.traffic.smoke import SmokeResult, remove_smoke_rules, run_smoke
from ekslift.traffic.state import RegionStatus, RegionView, StateLog, StateSink, region_view
from ekslift.traffic.watch import (
    SHIFT_HEARTBEAT,
    alarm_problems,
    create_alarms,
    publish_heartbeat,
    remove_alarms,
)

log = logging.getLogger(__name__)
# Credentials must outlive a soak by this much, so a rollback can still be written.
ROLLBACK_MARGIN = timedelta(minutes=5)
ROLLBACK_ROUNDS = 3


class ShiftError(EksliftError):
    """A reason to leave green: the region goes back to 100 % blue."""


class Drift(EksliftError):
    """Someone else changed a forward action: stop, and overwrite nothing."""


class Interrupted(ShiftError):
    """SIGTERM or SIGINT reached the shift process."""


JudgeFn = Callable[[Window, float, bool], StepVerdict]


class Writer(Protocol):
    def __call__(self, region: str, action: ForwardAction, alb: AlbTraffic, share: int) -> None: ...


SmokeFn = Callable[[str, AlbTraffic, SmokeSettings], SmokeResult]


@dataclass
class Services:
    """Everything the shift reads from or writes to, injectable for tests and for the guard."""

    read_set: ForwardSetReader
    readiness: ReadinessCheck
    probe: BackendProbe
    source: MetricsSource
    judge: JudgeFn
    write: Writer
    notifier: Notifier
    clock: Clock = field(default_factory=Clock)
    smoke: SmokeFn = run_smoke


def metrics_probe(source: MetricsSource, clock: Clock) -> BackendProbe:
    """The judge's backend answers for a colour when a recent window carries its series."""

    def probe(region: RegionParams, colour: str) -> str | None:
        now = clock.now()
        try:
            window = source.window(region, now - timedelta(minutes=10), now, 0.5)
        except EksliftError as exc:
            return f"the metrics source does not answer: {exc}"
        return None if getattr(window, colour) is not None else f"no {colour} series delivered"

    return probe


def default_services(params: UpgradeParams, clock: Clock | None = None) -> Services:
    profile = params.aws.profile
    clock = clock or Clock()
    source = source_for(params)
    settings = source.judge_settings(params.metrics.judge)
    regions = len(region_order(params))

    def read(region: RegionParams) -> ForwardSet:
        return elb.read_forward_set(region.name, alb_of(region), profile)

    def judge(window: Window, share: float, extended: bool) -> StepVerdict:
        return judge_step(window, share, settings, regions=regions, extended=extended)

    def write(region: str, action: ForwardAction, alb: AlbTraffic, share: int) -> None:
        elb.write_share(region, action, alb, share, profile)

    def smoke(region: str, alb: AlbTraffic, settings: SmokeSettings) -> SmokeResult:
        return run_smoke(region, alb, settings, profile)

    return Services(
        read_set=read,
        readiness=cutover_readiness(params, read),
        probe=metrics_probe(source, clock),
        source=source,
        judge=judge,
        write=write,
        notifier=Notifier(params.shift.notifications, profile),
        clock=clock,
        smoke=smoke,
    )


@dataclass(frozen=True)
class RegionOutcome:
    region: str
    status: RegionStatus
    share: int | None
    reason: str


def _verdict_data(verdict: StepVerdict, extended: bool, measured: float | None) -> dict[str, Any]:
    return {
        "share": round(verdict.share * 100),
        "verdict": verdict.verdict,
        "reason": verdict.reason,
        "alpha": verdict.alpha,
        "judged_minutes": verdict.judged_minutes,
        "extended": extended,
        "measured_share": measured,
        "metrics": [asdict(m) for m in verdict.metrics],
        "breaches": [asdict(b) for b in verdict.breaches],
    }


def _failed(region: str, share: int, reason: str, breaches: tuple[LimitBreach, ...]) -> StepVerdict:
    return StepVerdict(region, share / 100, "fail", reason, 0.0, 0, (), breaches)


def rollback(
    params: UpgradeParams,
    region: RegionParams,
    reason: str,
    state: StateSink,
    services: Services,
    who: str,
) -> RegionOutcome:
    """100 % blue on every forward action naming blue's target group, each read back.

    Walks the whole set even when one write fails, and retries what failed a few rounds:
    a rollback that gives up after the first refusal leaves users on a failing green.
    Reusable as it is by the guard and the rollback function (only parameters, the state
    file and the services it is given).
    """
    alb = alb_of(region)
    state.append("intent", region.name, share=0, rollback=True, reason=reason)
    before: int | None = None
    problems: list[str] = []
    current: ForwardSet | None = None
    for attempt in range(ROLLBACK_ROUNDS):
        problems = []
        try:
            current = services.read_set(region)
        except EksliftError as exc:
            problems.append(f"reading the forward set: {exc}")
            time.sleep(2**attempt)
            continue
        if before is None:
            before = current.share(alb)
        for action in current.actions:
            if action.share(alb) == 0:
                continue
            try:
                services.write(region.name, action, alb, 0)
                back = elb.read_action(region.name, action, params.aws.profile)
                if back.share(alb) != 0:
                    problems.append(f"{action.arn} reads back {back.share(alb)} % green")
            except EksliftError as exc:
                problems.append(str(exc))
        if not problems:
            break
        time.sleep(2**attempt)
    smoke = region.traffic.smoke if region.traffic else None
    if smoke is not None:
        try:
            remove_smoke_rules(region.name, alb, smoke, params.aws.profile)
        except EksliftError as exc:
            problems.append(f"removing the smoke rule: {exc}")
    if problems or current is None:
        status: RegionStatus = "rollback-failed"
        detail = "; ".join(problems)
        state.append("region", region.name, status=status, reason=f"{reason}; {detail}")
        _announce(
            state, services, region.name, before, None, f"ROLLBACK FAILED: {detail}", "fail", who
        )
        return RegionOutcome(region.name, status, None, f"{reason}; rollback failed: {detail}")
    final = services.read_set(region)
    state.append("applied", region.name, share=0, snapshot=final.snapshot(), digest=final.digest())
    _announce(state, services, region.name, before, 0, f"rollback: {reason}", "fail", who)
    state.append("region", region.name, status="rolled-back", reason=reason)
    return RegionOutcome(region.name, "rolled-back", 0, reason)


def _announce(
    state: StateSink,
    services: Services,
    region: str,
    before: int | None,
    after: int | None,
    reason: str,
    verdict: str | None,
    who: str,
) -> None:
    event = {
        "region": region,
        "from": before,
        "to": after,
        "reason": reason,
        "verdict": verdict,
        "who": who,
        "time": services.clock.now().isoformat(),
        "summary": f"{before} → {after} % green: {reason}"[:200],
    }
    state.append("transition", region, **{k: v for k, v in event.items() if k != "region"})
    for problem in services.notifier.send(event):
        state.append("notify", region, problem=problem)


@dataclass(frozen=True)
class ResumePoint:
    """Where a region stands: continue from ``share``, roll back, stop, or nothing to do."""

    action: str  # "continue" | "rollback" | "stop" | "done"
    share: int | None
    reason: str = ""


def resume_point(
    view: RegionView, current: ForwardSet, alb: AlbTraffic, steps: list[int]
) -> ResumePoint:
    """Decide from AWS's weights (``current``) and the state file (``view``)."""
    if view.status == "shifted" and current.share(alb) == 100:
        return ResumePoint("done", 100, "already shifted")
    if view.status in ("rolled-back", "stopped"):
        return ResumePoint("done", current.share(alb), f"ended earlier: {view.reason}")
    if view.status == "rollback-failed":
        return ResumePoint(
            "rollback", current.share(alb), f"an earlier rollback failed: {view.reason}"
        )
    share = current.share(alb)
    if view.pending_intent is not None and view.snapshot is not None:
        intent = view.pending_intent
        if share is None:
            return ResumePoint("rollback", None, f"a write of {intent} % was interrupted halfway")
        if share == intent and same_set(current, view.snapshot, alb, intent):
            return ResumePoint("continue", intent, f"the write of {intent} % had happened")
        if share == view.applied_share and same_set(current, view.snapshot, alb, share):
            return ResumePoint("continue", share, f"the write of {intent} % had not happened")
        return ResumePoint("stop", share, "the forward actions differ from the state file")
    if view.snapshot is not None and (
        share is None
        or share != view.applied_share
        or not same_set(current, view.snapshot, alb, share)
    ):
        return ResumePoint("stop", share, "a forward action was changed outside this shift")
    if share is None:
        return ResumePoint("rollback", None, "the forward actions are at different shares")
    if share not in steps:
        return ResumePoint("rollback", share, f"AWS shows {share} % green, not a step of the plan")
    return ResumePoint("continue", share, "from the weights AWS shows")


class Shift:
    """One process's shift of every region; ``stop`` is set by a signal."""

    def __init__(
        self,
        params: UpgradeParams,
        state: StateLog,
        services: Services,
        who: str,
        stop: threading.Event | None = None,
        run_id: str | None = None,
    ) -> None:
        self.params = params
        self.state = state
        self.services = services
        self.who = who
        self.stop = stop or threading.Event()
        self.stop_reason = ""
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.lease: Lease | None = None
        self.watched: RegionParams | None = None

    def install_signal_handlers(self) -> None:
        """SIGTERM (a Job deleted, a node drained) and SIGINT end in a rollback."""

        def handle(signum: int, frame: FrameType | None) -> None:
            self.stop_reason = signal.Signals(signum).name
            self.stop.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def run(self, only: str | None = None) -> list[RegionOutcome]:
        outcomes = []
        for region in region_order(self.params):
            if only is not None and region.name != only:
                continue
            outcome = self.run_region(region)
            outcomes.append(outcome)
            if outcome.status != "shifted":
                break
        return outcomes

    # -------------------------------------------------------------------- one region

    def run_region(self, region: RegionParams) -> RegionOutcome:
        alb = alb_of(region)
        traffic = region.traffic
        assert traffic is not None
        view = region_view(self.state.records(region.name), region.name)
        try:
            current = self.services.read_set(region)
        except EksliftError as exc:
            return self._rollback(region, f"the forward set cannot be read: {exc}")
        point = resume_point(view, current, alb, traffic.steps)
        log.info("%s: %s at %s %%: %s", region.name, point.action, point.share, point.reason)
        if point.action == "done":
            return RegionOutcome(region.name, view.status or "shifted", point.share, point.reason)
        if point.action == "rollback":
            return self._rollback(region, point.reason)
        if point.action == "stop":
            return self._stop(region, point.share, point.reason)
        assert point.share is not None
        self._take_lease(region)
        try:
            return self._continue(region, point, view, current)
        finally:
            self._end_watch(region)

    def _continue(
        self, region: RegionParams, point: ResumePoint, view: RegionView, current: ForwardSet
    ) -> RegionOutcome:
        alb = alb_of(region)
        traffic = region.traffic
        assert traffic is not None and point.share is not None
        if view.pending_intent is not None and point.share == view.pending_intent:
            self.state.append(
                "applied",
                region.name,
                share=point.share,
                snapshot=current.snapshot(),
                digest=current.digest(),
                resumed=True,
            )
        self.state.append(
            "plan",
            region.name,
            share=point.share,
            snapshot=current.snapshot(),
            digest=current.digest(),
            reason=point.reason,
            steps=traffic.steps,
        )
        try:
            self._arm(region)
            if traffic.smoke is not None:
                remove_smoke_rules(region.name, alb, traffic.smoke, self.params.aws.profile)
            return self._walk(
                region, point.share, region_view(self.state.records(region.name), region.name)
            )
        except LeaseLost as exc:
            self.lease = None
            self.state.append("lease", region.name, lost=True, reason=str(exc))
            return self._stop(region, None, str(exc))
        except Drift as exc:
            return self._stop(region, None, str(exc))
        except ShiftError as exc:
            return self._rollback(region, str(exc))
        except EksliftError as exc:
            return self._rollback(region, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # any doubt means blue; the traceback goes to the log
            log.exception("%s: unexpected error during the shift", region.name)
            return self._rollback(region, f"unexpected {type(exc).__name__}: {exc}")

    def _walk(self, region: RegionParams, start: int, view: RegionView) -> RegionOutcome:
        traffic = region.traffic
        assert traffic is not None
        steps = traffic.steps
        share = start
        if share == 0 and 0 not in view.passed and traffic.smoke is not None:
            self._smoke(region, traffic.smoke)
        elif share > 0 and share not in view.passed:
            self._soak_and_judge(region, share)
        for target in [s for s in steps if s > share]:
            if target == 100:
                self._hold(region, share, "before 100 %")
            self._change(region, share, target)
            share = target
            self._soak_and_judge(region, share)
        self.state.append(
            "region", region.name, status="shifted", reason="100 % green, bake passed"
        )
        return RegionOutcome(region.name, "shifted", share, "100 % green, bake passed")

    # ----------------------------------------------------------------------- stages

    def _smoke(self, region: RegionParams, smoke: SmokeSettings) -> None:
        result = self.services.smoke(region.name, alb_of(region), smoke)
        self._keep_watch()
        self.state.append(
            "smoke",
            region.name,
            passed=result.passed,
            returncode=result.returncode,
            detail=result.detail,
        )
        if not result.passed:
            raise ShiftError(
                f"the smoke checks failed (exit {result.returncode}): {result.detail[-300:]}"
            )
        self.state.append(
            "verdict", region.name, share=0, verdict="pass", reason="smoke checks passed"
        )

    def _soak_seconds(self, region: RegionParams, share: int) -> int:
        traffic = region.traffic
        assert traffic is not None
        if traffic.soak_mode == "fixed":
            return traffic.bake_seconds if share == 100 else traffic.soak_seconds
        rates = baseline(self.params, region, self.services.source, self.services.clock.now())
        return next(
            s.soak_seconds
            for s in steps_of(self.params, region, self.services.source, rates)
            if s.share == share and s.stage in ("compare", "bake")
        )

    def checks(self, region: RegionParams, next_share: int, soak_seconds: int) -> list[Finding]:
        """Everything verified before a change; drift raises (stop, write nothing)."""
        name = region.name
        profile = self.params.aws.profile
        findings = list(self.services.readiness(region, next_share))
        for colour in ("blue", "green"):
            problem = self.services.probe(region, colour)
            if problem:
                findings.append(
                    finding(
                        name,
                        f"backend-{colour}",
                        f"the judge's backend for {colour}: {problem}",
                        "fix the metrics backend before shifting",
                    )
                )
        now = self.services.clock.now()
        problem = credentials_problem(
            profile, timedelta(seconds=soak_seconds) + ROLLBACK_MARGIN, now
        )
        if problem:
            findings.append(
                finding(
                    name,
                    "credentials",
                    "the credentials would not outlive the next soak",
                    "run under a role that renews itself, or renew the session",
                    problem,
                )
            )
        skew = clock_skew(name, profile, now)
        if abs(skew) > self.params.shift.max_clock_skew_seconds:
            findings.append(
                finding(
                    name,
                    "clock",
                    f"the local clock is {skew:+.0f} s off AWS's",
                    "synchronise the clock (chrony/NTP): soak windows and records depend on it",
                )
            )
        self._pause_for_health_checks(region)
        self._check_drift(region)
        for f in findings:
            self.state.append("check", name, id=f.id, title=f.title, detail=f.detail)
        return findings

    def _check_drift(self, region: RegionParams) -> ForwardSet:
        view = region_view(self.state.records(region.name), region.name)
        current = self.services.read_set(region)
        alb = alb_of(region)
        share = view.applied_share
        if (
            view.snapshot is not None
            and share is not None
            and not same_set(current, view.snapshot, alb, share)
        ):
            raise Drift(
                f"a forward action was changed outside this shift (AWS shows "
                f"{current.shares(alb)}, the state file {share} %); nothing was overwritten"
            )
        return current

    def _pause_for_health_checks(self, region: RegionParams) -> None:
        ids = self.params.shift.route53_health_check_ids
        began = time.monotonic()
        while failing := route53_unhealthy(ids, self.params.aws.profile):
            if time.monotonic() - began > self.params.shift.max_pause_seconds:
                raise ShiftError(
                    f"Route53 health checks {failing} kept failing; every region pauses"
                )
            self.state.append("hold", region.name, paused_by=failing)
            self._wait(self.params.shift.poll_seconds)

    def _change(self, region: RegionParams, before: int, share: int) -> None:
        self._keep_watch()  # judging took time: a fresh lease for the checks and writes
        soak = self._soak_seconds(region, share)
        findings = self.checks(region, share, soak)
        if findings:
            raise ShiftError(f"checks before {share} %: " + "; ".join(f.title for f in findings))
        current = self._check_drift(region)
        alb = alb_of(region)
        self.state.append(
            "intent", region.name, share=share, before=before, arns=[a.arn for a in current.actions]
        )
        for action in current.actions:
            self._verify_lease()
            self.services.write(region.name, action, alb, share)
            self._verify_lease()
            back = elb.read_action(region.name, action, self.params.aws.profile)
            if back.share(alb) != share:
                raise ShiftError(
                    f"{action.arn} reads back {back.share(alb)} % green after {share} % was written"
                )
        after = self.services.read_set(region)
        if after.share(alb) != share:
            raise ShiftError(f"the set reads back {after.shares(alb)} after {share} % was written")
        self.state.append(
            "applied", region.name, share=share, snapshot=after.snapshot(), digest=after.digest()
        )
        _announce(
            self.state,
            self.services,
            region.name,
            before,
            share,
            "next step of the plan",
            "pass",
            self.who,
        )

    def _wait(self, seconds: float) -> None:
        if self.stop.wait(max(seconds, 0)):
            raise Interrupted(f"interrupted by {self.stop_reason or 'a stop request'}")
        self._keep_watch()

    # ------------------------------------------------------------ lease and alarms

    def _take_lease(self, region: RegionParams) -> None:
        """Before the first forward write; :class:`LeaseHeld` (naming the holder) refuses
        the shift before anything is written or recorded."""
        guard = self.params.shift.guard
        self.watched = region
        if guard is None:
            return
        # The heartbeat first: a guard that sees the lease must never see it silent.
        self._beat(region)
        table = LeaseTable(region.name, guard.table, self.params.aws.profile)
        self.lease = Lease.acquire(
            table, self.run_id, self.who, guard.lease_seconds, guard.renew_margin_seconds
        )
        self.state.append(
            "lease",
            region.name,
            taken=True,
            generation=self.lease.item.generation,
            run_id=self.run_id,
            expires_at=self.lease.item.expires_at,
        )

    def _beat(self, region: RegionParams) -> None:
        guard = self.params.shift.guard
        assert guard is not None
        publish_heartbeat(
            region.name,
            self.params.name,
            SHIFT_HEARTBEAT,
            guard,
            self.params.aws.profile,
            run=self.run_id,
        )

    def _arm(self, region: RegionParams) -> None:
        """Green's alarms and their composite (the rollback function), before any write."""
        if self.lease is None:
            return
        names = create_alarms(self.params, region.name, alb_of(region), self.run_id)
        self.state.append("lease", region.name, alarms=names)

    def _verify_lease(self) -> None:
        if self.lease is not None:
            self.lease.verify()

    def _keep_watch(self) -> None:
        """At every poll: renew the lease (a lost one raises), beat, and read the alarms."""
        region, lease, guard = self.watched, self.lease, self.params.shift.guard
        if region is None or lease is None or guard is None:
            return
        lease.renew()
        self._beat(region)
        problems = alarm_problems(self.params, region.name)
        if problems:
            raise ShiftError("; ".join(problems))

    def _end_watch(self, region: RegionParams) -> None:
        """At the region's end, if the lease is still ours: the alarms go first (a leftover
        heartbeat alarm would roll a finished region back), then the lease."""
        lease, self.lease, self.watched = self.lease, None, None
        if lease is None:
            return
        status = region_view(self.state.records(region.name), region.name).status
        try:
            remove_alarms(self.params, region.name)
        except EksliftError as exc:
            self.state.append("lease", region.name, problem=f"alarms not removed: {exc}")
            log.error("%s: the rollback alarms could not be removed: %s", region.name, exc)
        try:
            lease.release(f"region {status}")
            self.state.append("lease", region.name, released=True, status=status)
        except EksliftError as exc:
            self.state.append("lease", region.name, problem=f"lease not released: {exc}")

    def _watch(
        self,
        region: RegionParams,
        share: int,
        seconds: float,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """Soak ``seconds`` at ``share``: limits, alarms, drift and credentials every poll,
        or until ``until`` holds. Limits are absolute, so they read the latest complete
        minutes whatever the share was then: a step's first minutes are watched too."""
        traffic = region.traffic
        assert traffic is not None
        clock, poll = self.services.clock, self.params.shift.poll_seconds
        limits = self.params.metrics.judge.limits
        began = time.monotonic()
        while (left := seconds - (time.monotonic() - began)) > 0:
            self._wait(min(poll, left))
            if until is not None and until():
                return
            end = self.services.source.complete_until(clock.now())
            start = end - timedelta(minutes=limits.window_minutes)
            window = self.services.source.window(region, start, end, share / 100)
            breaches = check_limits(window, self.params.metrics.judge)
            firing = alarms_firing(region.name, traffic.alarm_names, self.params.aws.profile)
            if breaches or firing:
                reasons = [b.reason for b in breaches] + [f"alarm {a} is in ALARM" for a in firing]
                verdict = _failed(
                    region.name, share, "limit fired: " + "; ".join(reasons), breaches
                )
                self.state.append("verdict", region.name, **_verdict_data(verdict, False, None))
                raise ShiftError(verdict.reason)
            problem = credentials_problem(self.params.aws.profile, ROLLBACK_MARGIN, clock.now())
            if problem:
                raise ShiftError(f"credentials about to expire mid-soak: {problem}")
            self._check_drift(region)
            elapsed = time.monotonic() - began
            self.state.append(
                "progress",
                region.name,
                share=share,
                elapsed=round(elapsed, 1),
                left=round(max(seconds - elapsed, 0), 1),
            )

    def _settle(self, end: datetime) -> None:
        """Wait until the source's data up to ``end`` is final (CloudWatch lags, access logs
        arrive late), so the verdict judges every minute of the soak, not a short window."""
        while self.services.source.complete_until(self.services.clock.now()) < end:
            self._wait(self.params.shift.poll_seconds)

    def _soak_and_judge(self, region: RegionParams, share: int) -> None:
        seconds = self._soak_seconds(region, share)
        extended = False
        while True:
            start = self.services.clock.now()
            self._watch(region, share, seconds)
            end = self.services.clock.now()
            if self.services.source.live:
                # Whole, final minutes: at least the one the soak began in.
                end = max(floor_minute(end), floor_minute(start) + timedelta(minutes=1))
                self._settle(end)
            window = self.services.source.window(region, start, end, share / 100)
            verdict = self.services.judge(window, share / 100, extended)
            measured = measured_share(window) if share < 100 else None
            if verdict.verdict != "fail" and self.services.source.live and measured is not None:
                tolerance = max(0.01, self._tolerance(region) * share / 100)
                if abs(measured - share / 100) > tolerance:
                    verdict = _failed(
                        region.name,
                        share,
                        f"green took {measured:.1%} of requests, planned {share} % "
                        f"(± {tolerance:.1%}): the weights are not what routes traffic",
                        (),
                    )
            self.state.append("verdict", region.name, **_verdict_data(verdict, extended, measured))
            if verdict.verdict == "pass":
                return
            if verdict.verdict == "extend" and not extended:
                extended = True
                continue
            if verdict.verdict in ("extend", "hold"):
                self._hold(
                    region, share, f"the judge could not decide at {share} %: {verdict.reason}"
                )
                return
            raise ShiftError(f"the judge failed {share} %: {verdict.reason}")

    def _tolerance(self, region: RegionParams) -> float:
        assert region.traffic is not None
        return region.traffic.share_tolerance

    def _hold(self, region: RegionParams, share: int, why: str) -> None:
        """Wait for `ekslift shift release` (watched) up to the hold's maximum; limits keep
        being watched. Unreleased at the end is doubt, and doubt goes to blue."""
        traffic = region.traffic
        assert traffic is not None
        if traffic.hold.mode == "approved" and why == "before 100 %":
            self.state.append(
                "hold", region.name, share=share, released=True, by="approval up front"
            )
            return
        began = len(self.state.records(region.name))
        self.state.append("hold", region.name, share=share, waiting=True, reason=why)

        def released() -> bool:
            return any(
                r.kind == "hold" and r.data.get("released")
                for r in self.state.records(region.name)[began:]
            )

        self._watch(region, share, traffic.hold.max_seconds, until=released)
        if not released():
            raise ShiftError(
                f"hold at {share} % ({why}) not released within {traffic.hold.max_seconds} s"
            )

    # ------------------------------------------------------------------------ endings

    def _rollback(self, region: RegionParams, reason: str) -> RegionOutcome:
        return rollback(self.params, region, reason, self.state, self.services, self.who)

    def _stop(self, region: RegionParams, share: int | None, reason: str) -> RegionOutcome:
        self.state.append("region", region.name, status="stopped", reason=reason)
        _announce(
            self.state,
            self.services,
            region.name,
            share,
            share,
            f"STOPPED: {reason}",
            None,
            self.who,
        )
        return RegionOutcome(region.name, "stopped", share, reason)

"""Judge the reviewed cutover: every weight step as step 4 judged it, blue's retirement.

Each run of minutes at one planned share is one step, judged on its own minutes with the
judge of step 4 (so a rollback and a re-shift are two steps, each with its own warm-up);
minutes at 0 % have no green to judge. The limits are also checked once over the whole
window. Blue may be retired once its weight is 0 and it has received no request for the
deregistration delay plus the stickiness plus a margin, and no sooner than the days the
parameters keep it warm after green reached 100 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from ekslift.gate import Finding, Severity
from ekslift.metrics.judge import judge_step
from ekslift.metrics.limits import check_limits
from ekslift.metrics.series import Window
from ekslift.metrics.settings import ReviewSettings
from ekslift.metrics.verdict import LimitBreach, StepVerdict, Verdict, worst
from ekslift.review import STEP
from ekslift.review.read import RegionReview, Review


@dataclass(frozen=True)
class StepReview:
    """One weight step of one region: its minutes and the judge's verdict on them."""

    region: str
    start: datetime
    end: datetime
    share: float
    verdict: StepVerdict


@dataclass(frozen=True)
class Retirement:
    """Blue's retirement checklist for one region."""

    region: str
    blue_weight: int | None
    quiet_minutes: int
    needed_minutes: int
    green_full_since: datetime | None
    keep_warm_until: datetime | None
    ready: bool
    reason: str


@dataclass(frozen=True)
class ReviewVerdicts:
    steps: tuple[StepReview, ...]
    whole_window: dict[str, tuple[LimitBreach, ...]]
    retirements: tuple[Retirement, ...]


def segments(weights: np.ndarray) -> list[tuple[int, int, float]]:
    """(first, last, share) of each run of equal weights above 0, in order."""
    runs, first = [], 0
    for index in range(1, weights.size + 1):
        if index == weights.size or not math.isclose(weights[index], weights[first]):
            if weights[first] > 0:
                runs.append((first, index, float(weights[first])))
            first = index
    return runs


def _planned(share: float, review: Review) -> bool:
    return share >= 1 or any(math.isclose(s.share, share) for s in review.settings.steps)


def judge_region(region: RegionReview, review: Review) -> list[StepReview]:
    window = region.window
    if window is None:
        return []
    found = []
    for first, last, share in segments(np.asarray(window.green_weight, dtype=float)):
        if not _planned(share, review):
            continue
        part = window.between(first, last)
        verdict = judge_step(part, share, review.settings, regions=len(review.regions))
        found.append(StepReview(region.region, part.start, window.minute(last), share, verdict))
    return found


def _quiet_minutes(window: Window) -> int:
    """Blue's trailing minutes without a request (all of them if it delivered none)."""
    requests = window.requests(window.blue)
    busy = np.flatnonzero(requests > 0)
    return int(requests.size - (busy[-1] + 1)) if busy.size else int(requests.size)


def retirement(region: RegionReview, settings: ReviewSettings) -> Retirement:
    window, retention = region.window, region.retention
    if window is None or retention is None:
        return Retirement(
            region.region, None, 0, 0, None, None, False, f"not read: {region.problem}"
        )
    needed = (
        math.ceil((retention.deregistration_delay_s + retention.stickiness_s) / 60)
        + settings.min_quiet_minutes
    )
    quiet = _quiet_minutes(window)
    full = [c.at for c in region.changes if c.green >= 1]
    green_full = full[-1] if full and region.changes[-1].green >= 1 else None
    warm_until = green_full + timedelta(days=settings.keep_blue_warm_days) if green_full else None
    if retention.blue_weight > 0:
        ready, reason = False, f"blue still has weight {retention.blue_weight}: finish the shift"
    elif quiet < needed:
        ready, reason = (
            False,
            f"blue quiet for {quiet} min, needs {needed} (deregistration delay "
            f"{retention.deregistration_delay_s} s + stickiness {retention.stickiness_s} s + "
            f"{settings.min_quiet_minutes} min)",
        )
    else:
        ready, reason = True, f"blue at weight 0 and quiet for {quiet} min (≥ {needed})"
    if ready and warm_until is not None:
        reason += f"; keep it warm (rollback armed) until {warm_until:%Y-%m-%d %H:%M} UTC"
    return Retirement(
        region.region,
        retention.blue_weight,
        quiet,
        needed,
        green_full,
        warm_until,
        ready,
        reason,
    )


def judge_review(review: Review) -> ReviewVerdicts:
    steps = [step for region in review.regions for step in judge_region(region, review)]
    whole = {
        r.region: check_limits(r.window, review.settings)
        for r in review.regions
        if r.window is not None
    }
    return ReviewVerdicts(
        steps=tuple(steps),
        whole_window=whole,
        retirements=tuple(retirement(r, review.retire) for r in review.regions),
    )


_SEVERITY: dict[Verdict, Severity] = {
    "fail": "blocker",
    "hold": "warning",
    "extend": "warning",
    "pass": "info",
}


def gate_findings(review: Review, verdicts: ReviewVerdicts) -> list[Finding]:
    """A failed step fails the gate; held or unfinished steps, a region read in part or
    without any judged step, and a whole-window limit warn; the rest informs."""
    findings: list[Finding] = []
    if review.source != "step 4":
        findings.append(
            Finding(
                id=f"{STEP}/window",
                severity="info",
                title=(
                    f"step 4 left no weight history in this run: reviewed the {review.source} "
                    f"window {review.start:%Y-%m-%d %H:%M}–{review.end:%H:%M} UTC, weights "
                    "told from the traffic"
                ),
                action="run step 4 in this run, or pass --since/--until for the cutover",
            )
        )
    seen: dict[str, int] = {}
    for step in verdicts.steps:
        base = f"{STEP}/{step.region}/step-{step.share * 100:g}"
        seen[base] = seen.get(base, 0) + 1
        verdict = step.verdict
        findings.append(
            Finding(
                id=base if seen[base] == 1 else f"{base}-{seen[base]}",
                severity=_SEVERITY[verdict.verdict],
                title=(
                    f"{step.share:.0%} step {step.start:%H:%M}–{step.end:%H:%M}: {verdict.verdict}"
                ),
                detail=verdict.reason,
                region=step.region,
                obj=f"{step.share:.0%} step",
                action={
                    "fail": "green was worse than blue: keep blue, investigate before a new shift",
                    "hold": "a person decides: look at the metric's numbers below",
                    "extend": "too little evidence: soak longer at this step next time",
                    "pass": "",
                }[verdict.verdict],
            )
        )
    for region in review.regions:
        judged = [s for s in verdicts.steps if s.region == region.region]
        if region.window is None:
            findings.append(
                Finding(
                    id=f"{STEP}/{region.region}/unread",
                    severity="warning",
                    title=f"metrics could not be read: {region.problem}",
                    region=region.region,
                    action="fix access to the metrics backend and run the review again",
                )
            )
        elif not judged or all(s.verdict.judged_minutes == 0 for s in judged):
            findings.append(
                Finding(
                    id=f"{STEP}/{region.region}/too-little-data",
                    severity="warning",
                    title="too little data: no minute of green at a planned step was judged",
                    region=region.region,
                    action="review a window that covers the shift (--since/--until)",
                )
            )
        for breach in verdicts.whole_window.get(region.region, ()):
            findings.append(
                Finding(
                    id=f"{STEP}/{region.region}/limit/{breach.limit}/{breach.subject}",
                    severity="warning",
                    title=f"over the whole window: {breach.reason}",
                    region=region.region,
                    action="see the step in which it first fired",
                )
            )
    for item in verdicts.retirements:
        findings.append(
            Finding(
                id=f"{STEP}/{item.region}/retire-blue",
                severity="info",
                title=("blue can be retired" if item.ready else "blue cannot be retired yet")
                + f": {item.reason}",
                region=item.region,
                role="blue",
                action="" if item.ready else "keep blue running and its capacity reserved",
            )
        )
    return findings


def overall(verdicts: ReviewVerdicts) -> Verdict:
    """The worst verdict of every judged step ('hold' when nothing was judged)."""
    return worst([s.verdict.verdict for s in verdicts.steps])

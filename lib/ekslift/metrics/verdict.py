"""What the judge returns: every verdict with the numbers behind it.

Kayenta-style: each metric is classified on its own, then the step is scored from them,
and every classification carries the counts, the estimate, its interval, the margin, the
dispersion and the α it was judged with, plus one line a human can read. Nothing passes by
default: an empty list of metrics is a hold, not a pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Verdict = Literal["pass", "extend", "hold", "fail"]
_SEVERITY: dict[Verdict, int] = {"pass": 0, "extend": 1, "hold": 2, "fail": 3}


@dataclass(frozen=True)
class MetricVerdict:
    """One metric at one step.

    ``blue``/``green`` are the colours' rates (errors per request) or quantiles (seconds);
    ``ratio`` is green/blue with its one-sided bounds ``lower`` and ``upper`` (each at level
    1 - ``alpha``); ``blue_n``/``green_n`` are requests (errors) or answered requests
    (latency) and ``blue_events``/``green_events`` the errors counted.
    """

    metric: str
    verdict: Verdict
    reason: str
    alpha: float
    minutes: int = 0
    blue_n: int = 0
    green_n: int = 0
    blue_events: int | None = None
    green_events: int | None = None
    blue: float | None = None
    green: float | None = None
    ratio: float | None = None
    lower: float | None = None
    upper: float | None = None
    margin: float | None = None
    dispersion: float | None = None
    method: str = ""


@dataclass(frozen=True)
class LimitBreach:
    """An absolute limit that fired: which, on what, when first, and the numbers."""

    limit: str
    subject: str
    minute: datetime
    value: float
    threshold: float
    count: int
    reason: str


@dataclass(frozen=True)
class StepVerdict:
    """One region's step: the combined verdict, its reason, and everything behind it."""

    region: str
    share: float
    verdict: Verdict
    reason: str
    alpha: float
    judged_minutes: int
    metrics: tuple[MetricVerdict, ...]
    breaches: tuple[LimitBreach, ...]


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """Any fail fails, then any hold holds, then any extend extends; only all-pass passes,
    and nothing at all is a hold (a step with no evidence must not move traffic)."""
    found = list(verdicts)
    if not found:
        return "hold"
    return max(found, key=_SEVERITY.__getitem__)


def undecided(extended: bool) -> Verdict:
    """Soak once more while that can help; after that, a human decides."""
    return "hold" if extended else "extend"


def classify(
    lower: float,
    upper: float,
    margin: float,
    *,
    fail_above: float = 1.0,
    matters: bool,
    proven_small: bool,
    extended: bool,
) -> Verdict:
    """Verdicts by intervals, not p-values alone.

    Fail needs the lower bound above ``fail_above`` (1 for a green/blue ratio: green worse
    beyond chance at α) *and* a difference that matters; pass needs the upper bound below
    the margin, or an excess proven too small to matter (``proven_small``: rare error kinds
    never reach a ratio margin but can be shown negligible). Anything else is not yet known.
    """
    if lower > fail_above and matters:
        return "fail"
    if upper < margin or proven_small:
        return "pass"
    return undecided(extended)


def interval_text(ratio: float, lower: float, upper: float) -> str:
    """``×1.23 [0.91, 1.70]`` with infinite bounds spelt out."""

    def fmt(value: float) -> str:
        return "∞" if math.isinf(value) else f"{value:.2f}"

    return f"×{fmt(ratio)} [{fmt(lower)}, {fmt(upper)}]"

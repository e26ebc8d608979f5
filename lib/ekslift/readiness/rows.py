"""What a readiness check hands back: one row per thing checked, findings for the gate, and
the forward actions step 4 must move as one set.

Rows are the table an operator reads (what was checked, what was seen, what is needed, the
change to make); findings are the same rows that are not fine, under stable ids
(`readiness/<region>/<check>/<object>`) so a parameter file can waive one by name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

from ekslift.gate import Finding, Severity
from ekslift.params import Color
from ekslift.readiness.models import ForwardAction, WorkloadClass

Area = Literal[
    "reads", "capacity", "weights", "wiring", "one-change", "identity", "network", "workloads"
]
Status = Literal["ok", "fail", "warn", "info"]
_SEVERITY: dict[Status, Severity] = {"fail": "blocker", "warn": "warning", "info": "info"}


@dataclass(frozen=True)
class CheckRow:
    """One checked fact. `observed` says what is, `expected` what the cutover needs, and
    `action` the change to make (a Git change where one is needed)."""

    region: str
    area: Area
    check: str
    obj: str
    status: Status
    observed: str
    expected: str = ""
    action: str = ""
    role: Color | None = None

    @property
    def finding_id(self) -> str:
        return f"readiness/{self.region}/{self.check}/{self.obj}"

    def finding(self, share: int) -> Finding | None:
        """At `share`: the share of green the check judged (waivers may be scoped to it)."""
        if self.status == "ok":
            return None
        title = f"{self.check} {self.obj}: {self.observed}"
        return Finding(
            id=self.finding_id,
            severity=_SEVERITY[self.status],
            title=title + (f" (needed: {self.expected})" if self.expected else ""),
            region=self.region,
            role=self.role,
            obj=self.obj,
            action=self.action,
            share=share,
        )


@dataclass(frozen=True)
class ClassifiedWorkload:
    """A workload of one colour and how it must behave during the cutover."""

    region: str
    role: Color
    klass: WorkloadClass
    kind: str
    ref: str
    why: str


@dataclass
class ReadinessReport:
    """One region at one share of green traffic."""

    region: str
    share: int
    current_share: int | None
    rows: list[CheckRow] = field(default_factory=list)
    workloads: list[ClassifiedWorkload] = field(default_factory=list)
    forward_actions: list[ForwardAction] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    # requests/s per ready blue replica that capacity sized each workload from
    per_replica: dict[str, float] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return [f for row in self.rows if (f := row.finding(self.share)) is not None]

    @property
    def ready(self) -> bool:
        """No blocker and nothing unreachable; waivers are the gate's business."""
        return not self.incomplete and all(row.status != "fail" for row in self.rows)


@dataclass
class EstateReadiness:
    """Every region of the parameters, each at its own share."""

    reports: list[ReadinessReport]

    @property
    def findings(self) -> list[Finding]:
        return [f for report in self.reports for f in report.findings]

    @property
    def incomplete(self) -> list[str]:
        return [item for report in self.reports for item in report.incomplete]

    def summary_frame(self) -> pd.DataFrame:
        """One row per region: the share checked, where the ALB is, and what fails."""
        return pd.DataFrame(
            [
                {
                    "region": r.region,
                    "share_checked": r.share,
                    "alb_share_now": r.current_share,
                    "ready": r.ready,
                    "failing": sum(1 for row in r.rows if row.status == "fail"),
                    "warnings": sum(1 for row in r.rows if row.status == "warn"),
                    "passed": sum(1 for row in r.rows if row.status == "ok"),
                }
                for r in self.reports
            ]
        )

    def frame(self, area: Area | None = None, *, failing_only: bool = False) -> pd.DataFrame:
        rows = [
            asdict(row)
            for report in self.reports
            for row in report.rows
            if (area is None or row.area == area) and not (failing_only and row.status == "ok")
        ]
        return pd.DataFrame(rows)

    def failing_frame(self) -> pd.DataFrame:
        """Every check that is not fine, with the change to make: what an operator acts on."""
        frame = self.frame(failing_only=True)
        columns = ["region", "area", "check", "obj", "status", "observed", "action"]
        return frame[columns] if not frame.empty else frame

    def workloads_frame(self) -> pd.DataFrame:
        """Workloads that do not follow ALB weights, one row per colour: the classes whose
        cutover plan the gate asks for."""
        rows = [
            asdict(w)
            for report in self.reports
            for w in report.workloads
            if w.klass not in ("served", "other")
        ]
        return pd.DataFrame(rows).rename(columns={"klass": "class"})

    def forward_actions_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "region": report.region,
                    "arn": action.arn,
                    "where": action.conditions,
                    "weights": ", ".join(
                        f"{arn.split('/')[-2]}={w}" for arn, w in action.weights.items()
                    ),
                    "stickiness_s": action.stickiness_seconds,
                }
                for report in self.reports
                for action in report.forward_actions
            ]
        )

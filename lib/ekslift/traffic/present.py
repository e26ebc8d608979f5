"""Tables, the weight history, the plot and the gate's findings, all from the state file
(and the plan), so the notebook, the CLI and step 5 show the same story."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ekslift.atomic import write_text_atomic
from ekslift.gate import Approval, Finding
from ekslift.metrics import weights
from ekslift.metrics.backend import WeightChange
from ekslift.params import UpgradeParams
from ekslift.traffic.plan import ShiftPlan, region_order
from ekslift.traffic.state import Record, region_view

HISTORY_JSON = "weights.json"
_HISTORY_FIELDS = ("time", "region", "from", "to", "verdict", "reason", "who")


def history(records: list[Record]) -> list[dict[str, Any]]:
    """Every change of weights (transitions), oldest first: the artefact step 5 reads."""
    return [
        {
            "time": r.time.isoformat(),
            "region": r.region,
            **{k: r.data.get(k) for k in _HISTORY_FIELDS[2:]},
        }
        for r in records
        if r.kind == "transition"
    ]


def weight_changes(records: list[Record]) -> list[tuple[str, WeightChange]]:
    """What was in force per region, as step 5 reads it: the weights each region was found
    at, from the shift's first record on (regions are shifted one after another, so a later
    region kept them until its own first write), then each share read back after a write,
    at the time it was read back."""
    if not records:
        return []
    began = min(r.time for r in records)
    found: dict[str, int] = {}
    for r in records:
        if r.kind == "transition" and r.data.get("from") is not None:
            found.setdefault(r.region, r.data["from"])
    rows = [(region, WeightChange(began, share / 100)) for region, share in found.items()]
    rows += [
        (r.region, WeightChange(r.time, r.data["share"] / 100))
        for r in records
        if r.kind == "applied"
    ]
    return rows


def write_history(artefacts: Path, records: list[Record]) -> None:
    """``weights.json`` (every transition, with its verdict and who) for people, and the
    weight history step 5 reads (``weights.csv``, :mod:`ekslift.metrics.weights`)."""
    artefacts.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        artefacts / HISTORY_JSON,
        json.dumps({"schema_version": 1, "transitions": history(records)}, indent=2) + "\n",
    )
    weights.write_history(artefacts / weights.HISTORY.name, weight_changes(records))


def plan_rows(plan: ShiftPlan) -> list[dict[str, Any]]:
    return [
        {
            "region": region.region,
            "now (% green)": region.current_share,
            "stage": step.stage,
            "share": step.share,
            "soak (s)": step.soak_seconds,
            "proves": step.proves,
        }
        for region in plan.regions
        for step in region.steps
    ]


def plan_text(plan: ShiftPlan) -> str:
    """The plan as an operator reads it in a terminal or a notebook, rollback calls included."""
    lines = [
        f"shift plan for {plan.name} ({plan.environment}): "
        + ("WRITES (apply)" if plan.apply else "read-only (no apply)")
    ]
    for region in plan.regions:
        rates = (
            f"{region.baseline.request_rate:.1f} req/s, {region.baseline.error_rate:.3%} errors "
            f"({region.baseline.source})"
            if region.baseline
            else "no baseline"
        )
        lines.append(f"\n{region.region}: now {region.current_share} % green; {rates}")
        for step in region.steps:
            lines.append(
                f"  {step.stage:<8} {step.share:>3} %  soak {step.soak_seconds:>6} s  {step.proves}"
            )
        hours = region.worst_case_seconds / 3600
        lines.append(f"  longest the shift can run (soaks extended, hold to end): {hours:.1f} h")
        if region.unwatched_seconds is None:
            lines.append("  NO GUARD (shift.guard): nothing returns an unwatched region to blue")
        else:
            lines.append(
                f"  worst case shifted with nobody watching: {region.unwatched_seconds / 60:.1f} "
                "min (lease + guard period + starting deadline + alarm evaluation)"
            )
        lines.extend(f"  PROBLEM: {p}" for p in region.problems)
        lines.append("  back to 100 % blue by hand, one call per forward action:")
        lines.extend(f"    {call}" for call in region.manual_rollback)
    return "\n".join(lines)


def verdict_rows(records: list[Record]) -> list[dict[str, Any]]:
    return [
        {
            "time": r.time.isoformat(timespec="seconds"),
            "region": r.region,
            "share": r.data.get("share"),
            "verdict": r.data.get("verdict"),
            "extended": r.data.get("extended", False),
            "judged min": r.data.get("judged_minutes"),
            "measured share": r.data.get("measured_share"),
            "reason": r.data.get("reason"),
        }
        for r in records
        if r.kind == "verdict"
    ]


def metric_rows(records: list[Record]) -> list[dict[str, Any]]:
    """Each verdict's numbers: counts, estimate, interval, margin, α."""
    rows = []
    for r in records:
        if r.kind != "verdict":
            continue
        for metric in r.data.get("metrics", []):
            rows.append(
                {
                    "region": r.region,
                    "share": r.data.get("share"),
                    "metric": metric["metric"],
                    "verdict": metric["verdict"],
                    "green": f"{metric.get('green_events')}/{metric.get('green_n')}",
                    "blue": f"{metric.get('blue_events')}/{metric.get('blue_n')}",
                    "ratio": metric.get("ratio"),
                    "upper": metric.get("upper"),
                    "margin": metric.get("margin"),
                    "alpha": metric.get("alpha"),
                }
            )
    return rows


def weight_plot(records: list[Record]) -> Figure:
    figure = Figure(figsize=(8, 3))
    axes = figure.subplots()
    for region in sorted({r.region for r in records}):
        points = [
            (r.time, r.data["to"])
            for r in records
            if r.kind == "transition" and r.region == region and r.data.get("to") is not None
        ]
        if points:
            times, shares = zip(*points, strict=True)
            axes.step(times, shares, where="post", marker="o", label=region)
    axes.set_ylabel("green share (%)")
    axes.set_ylim(-5, 105)
    axes.set_title("weight history")
    if axes.get_legend_handles_labels()[0]:
        axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def findings(params: UpgradeParams, records: list[Record], running: bool) -> list[Finding]:
    """The gate: pass only when every region ended on 100 % green with its bake passed."""
    found = []
    for region in region_order(params):
        view = region_view(records, region.name)
        base = f"traffic/{region.name}"
        if view.status == "shifted":
            found.append(
                Finding(
                    id=f"{base}/shifted",
                    severity="info",
                    title="100 % green; every step's verdict and the bake passed",
                    region=region.name,
                )
            )
            continue
        if running and view.status is None:
            title, action = (
                "the shift is still running",
                "wait for it, then resume the run (`ekslift run --resume <run dir>`)",
            )
        elif view.status is None:
            title, action = (
                "not shifted",
                "a region before it did not reach green, or the shift was not applied",
            )
        elif view.status == "rollback-failed":
            title, action = (
                f"ROLLBACK FAILED: {view.reason}",
                "put the region on 100 % blue by hand with the calls printed in the plan",
            )
        else:
            title, action = (
                f"{view.status}: {view.reason}",
                "read the verdicts and the state file; fix green, then run the shift again",
            )
        found.append(
            Finding(
                id=f"{base}/{view.status or ('running' if running else 'not-shifted')}",
                severity="blocker",
                title=title,
                region=region.name,
                action=action,
            )
        )
    if params.shift.readiness == "forward-set-only":
        found.append(
            Finding(
                id="traffic/readiness-skipped",
                severity="warning",
                title="cutover readiness was not re-checked in the clusters before each change",
                detail="shift.readiness: forward-set-only (only the forward set was checked)",
                action="set shift.readiness: full where step 4 can reach both clusters",
            )
        )
    return found


def approval_findings(used: Approval | None) -> list[Finding]:
    """Who operated and who approved (the persons behind both), for the gate's table; a
    shift that wrote nothing has no approval to show."""
    if used is None:
        return []
    holds = ", ".join(f"{region}: {mode}" for region, mode in used.hold_modes.items())
    return [
        Finding(
            id="traffic/approval",
            severity="info",
            title=(
                f"{used.change_id}: operated by {used.operator_person}, approved by "
                f"{used.approver_person}"
                + (f" and outside ({used.external})" if used.external else "")
            ),
            detail=(
                f"operator {used.operator}; approver {used.approver} at "
                f"{used.approved_at:%Y-%m-%d %H:%M} UTC (until {used.expires_at:%Y-%m-%d %H:%M}); "
                "plan "
                f"{used.plan_sha256[:12]}…; hold before 100 %: {holds}; {used.comment}"
            ),
        )
    ]

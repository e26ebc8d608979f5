"""Presenting readiness: terminal tables for `ekslift readiness`, JSON for CI and step 4, and
artefacts for notebook 01's run archive."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ekslift.gate import StepResult
from ekslift.readiness.rows import EstateReadiness

JSON_SCHEMA_VERSION = 1
_STYLE = {"ok": "green", "fail": "red", "warn": "yellow", "info": "white"}


def as_json(estate: EstateReadiness, result: StepResult) -> dict[str, Any]:
    """Everything a caller needs without the notebook: per region the share checked, the
    forward actions to move as one set, every row; and the gate's verdict with waivers."""
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "regions": [
            {
                "region": r.region,
                "share": r.share,
                "current_share": r.current_share,
                "ready": r.ready,
                "incomplete": r.incomplete,
                "forward_actions": [{**asdict(a), "arn": a.arn} for a in r.forward_actions],
                "rows": [asdict(row) for row in r.rows],
                "workloads": [asdict(w) for w in r.workloads if w.klass != "other"],
            }
            for r in estate.reports
        ],
        "gate": json.loads(result.model_dump_json()),
    }


def print_readiness(
    console: Console, estate: EstateReadiness, result: StepResult, output: str
) -> None:
    if output == "json":
        console.print_json(json.dumps(as_json(estate, result), default=str))
        return
    waived = {w.finding_id for w in result.waivers}
    for report in estate.reports:
        console.print(
            f"[bold]{report.region}[/bold]: checked for {report.share} % on green "
            f"(the ALB has {report.current_share if report.current_share is not None else '?'} %)"
        )
        table = Table("area", "check", "object", "status", "observed", "change to make")
        for row in report.rows:
            if row.status == "ok":
                continue
            label = "waived" if row.finding_id in waived else row.status
            style = "yellow" if label == "waived" else _STYLE[row.status]
            table.add_row(
                row.area,
                escape(row.check),
                escape(row.obj),
                f"[{style}]{label}[/{style}]",
                escape(row.observed),
                escape(row.action),
            )
        passed = sum(1 for row in report.rows if row.status == "ok")
        table.caption = f"{passed} check(s) passed; failing and warning ones shown"
        console.print(table)
        sets = Table("forward actions step 4 moves as one set", "where", "weights")
        for action in report.forward_actions:
            sets.add_row(
                action.arn,
                escape(action.conditions),
                ", ".join(f"{arn.split('/')[-2]}={w}" for arn, w in action.weights.items()),
            )
        console.print(sets)
    console.print(f"readiness: {result.verdict} — {result.summary}")


def write_artefacts(estate: EstateReadiness, directory: Path) -> list[Path]:
    """readiness.csv (every row), workloads.csv (classes) and forward-actions.csv."""
    directory.mkdir(parents=True, exist_ok=True)
    frames: dict[str, pd.DataFrame] = {
        "readiness": estate.frame(),
        "readiness-workloads": estate.workloads_frame(),
        "forward-actions": estate.forward_actions_frame(),
    }
    written = []
    for name, frame in frames.items():
        path = directory / f"{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    return written

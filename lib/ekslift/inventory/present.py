"""Presenting an inventory: terminal tables for the CLI, files for the run archive."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from ekslift.gate import StepResult
from ekslift.inventory.collect import Inventory
from ekslift.tables import rich_table

TABLES = (
    "clusters",
    "nodegroups",
    "nodes",
    "nodeclasses",
    "addons",
    "core_addons",
    "insights",
    "argocd_apps",
    "helm_releases",
    "workloads",
    "pdbs",
    "parity",
    "plan",
)


def print_inventory(
    console: Console, inventory: Inventory, result: StepResult, output: str
) -> None:
    if output == "json":
        console.print_json(result.model_dump_json())
        return
    for name in ("clusters", "nodegroups", "addons", "core_addons", "parity", "plan"):
        frame = inventory.frame(name)
        if not frame.empty:
            console.print(rich_table(name, frame))
    waived = {w.finding_id for w in result.waivers}
    for finding in result.findings:
        if finding.severity == "info":
            continue
        label = "waived" if finding.id in waived else finding.severity
        console.print(f"{label.upper():8} {finding.id}\n         {finding.title}")
        if finding.action:
            console.print(f"         → {finding.action}")
    console.print(f"gate {result.step}: {result.verdict} — {result.summary}")


def write_artefacts(inventory: Inventory, directory: Path) -> list[Path]:
    """CSV per table and one JSON of them all: what auditors and spreadsheets read."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    combined = {}
    for name in TABLES:
        frame = inventory.frame(name)
        path = directory / f"{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
        combined[name] = json.loads(frame.to_json(orient="records", date_format="iso"))
    path = directory / "inventory.json"
    path.write_text(
        json.dumps({"schema_version": 1, "target": inventory.target, **combined}, indent=1) + "\n"
    )
    written.append(path)
    return written

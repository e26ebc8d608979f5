"""Tables, the plot and the artefacts of step 3, for the notebook and the CLI.

Values never appear: each deployment shows its values' key paths count and hash, diffs show
key paths, rendered Secrets show only that their data changed.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ekslift.chartdiff.estate import ChartReport
from ekslift.chartdiff.models import ChartDiff, Proposal
from ekslift.chartdiff.renovate import dependency_table, package_rules

SCHEMA_VERSION = 1
COLUMNS = [
    "deployment",
    "region",
    "clusters",
    "current",
    "latest",
    "proposed",
    "jump",
    "age (days)",
    "blockers",
]


def _age(days: float | None) -> str:
    return "" if days is None else f"{days:g}"


def row(proposal: Proposal) -> dict[str, Any]:
    d = proposal.deployment
    blockers = "; ".join(proposal.blockers) or (
        f"not judged: {proposal.not_judged}" if proposal.not_judged else ""
    )
    return {
        "deployment": d.label,
        "chart": d.chart,
        "region": d.region or "-",
        "clusters": d.clusters,
        "current": proposal.current,
        "latest": proposal.latest,
        "proposed": proposal.proposed,
        "jump": proposal.jump,
        "age (days)": _age(proposal.proposed_age_days),
        "blockers": blockers,
        "runs on blue": ""
        if proposal.runs_on_blue is None
        else ("yes" if proposal.runs_on_blue else "no"),
        "repository": d.repo_url or d.matched_by,
        "matched by": d.matched_by,
        "renovate cap": proposal.cap if proposal.cap != proposal.latest else "",
        "notes": "; ".join(
            n for n in [proposal.retired, *proposal.controller_warnings, *proposal.notes] if n
        ),
    }


def proposals_frame(report: ChartReport) -> pd.DataFrame:
    """One line per deployment (per region): current, latest, proposed, jump, age, blockers."""
    return pd.DataFrame([row(p) for p in report.proposals])


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the notebook's first table shows."""
    return frame[[*COLUMNS[:1], "chart", *COLUMNS[1:]]] if not frame.empty else frame


def candidates_frame(proposal: Proposal) -> pd.DataFrame:
    """Every version looked at for one deployment, and why each was or was not chosen."""
    rows = []
    checks = ([proposal.current_check] if proposal.current_check else []) + proposal.candidates
    for check in checks:
        rows.append(
            {
                "version": check.version
                + (" (current)" if check.version == proposal.current else ""),
                "app version": check.entry.app_version,
                "age (days)": _age(check.age_days),
                "target": ("clean" if check.target.ok else check.target.reason)
                if check.target
                else "",
                "blue": "; ".join(
                    f"{c.kubernetes}: {'clean' if c.ok else c.reason}" for c in check.blue
                ),
                "why not": "; ".join(check.reasons + check.notes),
            }
        )
    return pd.DataFrame(rows)


def _list(title: str, items: Iterable[str]) -> str:
    items = list(items)
    if not items:
        return ""
    lis = "".join(f"<li><code>{html.escape(i)}</code></li>" for i in items[:40])
    more = f"<li>… {len(items) - 40} more</li>" if len(items) > 40 else ""
    return f"<p><b>{html.escape(title)}</b> ({len(items)})</p><ul>{lis}{more}</ul>"


def diff_html(proposal: Proposal) -> str:
    """One bump's diff, folded under a `<details>` so the table stays readable."""
    diff: ChartDiff | None = proposal.diff
    d = proposal.deployment
    if diff is None:
        return ""
    objects = [
        f"{o.change} {o.kind} {o.namespace}/{o.name}"
        + (
            f" apiVersion {o.previous_api_version} -> {o.api_version}"
            if o.previous_api_version and o.previous_api_version != o.api_version
            else ""
        )
        + (f" images {', '.join(o.images)}" if o.images else "")
        + (f" fields {', '.join(o.fields)}" if o.fields else "")
        for o in diff.objects
    ]
    instance = d.green[0] if d.green else None
    values = (
        f"<p>values: {len(instance.value_keys)} key(s), "
        f"hash <code>{instance.values_hash}</code></p>"
        if instance
        else ""
    )
    body = "".join(
        [
            values,
            _list("your values the new chart no longer has", diff.user_keys_removed),
            _list("your values the new chart's values.schema.json rejects", diff.schema_errors),
            _list(f"rendered objects ({diff.compared_at})", objects),
            _list("API scan of the proposed render", diff.scan),
            _list("default values added", diff.defaults_added),
            _list("default values removed", diff.defaults_removed),
            _list("default values changed", diff.defaults_changed),
            _list("changes the chart declares", diff.declared_changes),
            _list("could not be compared", diff.problems),
        ]
    )
    summary = html.escape(
        f"{d.label} ({d.region or '-'}): {d.chart} {diff.current} → {diff.proposed} "
        f"({proposal.jump})"
    )
    return f"<details><summary>{summary}</summary>{body}</details>"


def diffs_html(report: ChartReport) -> str:
    parts = [diff_html(p) for p in report.proposals if p.diff is not None]
    return "\n".join(parts) or "<p>No bump pending.</p>"


def behind_plot(report: ChartReport) -> Figure:
    """How far behind the estate is: per chart version running anywhere (blue's too), how
    many newer versions exist and how many days lie between its release and the latest's."""
    rows: dict[str, tuple[int, int]] = {}
    for p in report.proposals:
        for version, (count, days) in p.behind.items():
            if count:
                rows[f"{p.deployment.chart} {version}"] = (count, days or 0)
    ordered = sorted(rows.items(), key=lambda item: item[1])
    figure = Figure(figsize=(10, max(3.0, 0.28 * len(ordered) + 1.2)))
    left, right = figure.subplots(1, 2, sharey=True)
    labels = [label for label, _ in ordered]
    left.barh(labels, [count for _, (count, _) in ordered], color="#d9822b")
    left.set_xlabel("newer versions in its repository")
    right.barh(labels, [days for _, (_, days) in ordered], color="#4c72b0")
    right.set_xlabel("days from its release to the latest's")
    left.tick_params(axis="y", labelsize=7)
    figure.suptitle(
        f"Chart versions running behind their latest ({len(ordered)}; target {report.target})"
    )
    figure.tight_layout()
    return figure


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if k != "values"}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "major") and hasattr(value, "minor"):
        return str(value)
    return value


def report_json(report: ChartReport) -> dict[str, Any]:
    """The whole report, values replaced by their key paths and hash."""
    proposals = []
    for p in report.proposals:
        d = p.deployment
        data = _jsonable(asdict(p))
        data["deployment"]["instances"] = [
            {
                "name": i.name,
                "cluster": i.cluster,
                "role": i.role,
                "version": i.version,
                "kubernetes": str(i.kube_version) if i.kube_version else None,
                "sync_status": i.sync_status,
                "revision": i.revision,
                "value_keys": i.value_keys,
                "values_hash": i.values_hash,
                "problems": list(i.problems),
            }
            for i in d.instances
        ]
        proposals.append(data)
    return {
        "schema_version": SCHEMA_VERSION,
        "target": report.target,
        "generated_at": report.generated_at.isoformat(),
        "proposals": proposals,
        "problems": report.problems,
        "incomplete": report.incomplete,
        "stats": report.stats,
    }


def markdown(report: ChartReport) -> str:
    return f"# Chart dependencies for Kubernetes {report.target}\n\n" + dependency_table(
        report.proposals
    )


def write_artefacts(report: ChartReport, directory: Path) -> dict[str, Path]:
    """JSON, CSV, markdown and the Renovate fragment of the step."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "chart-diff.json",
        "csv": directory / "chart-diff.csv",
        "markdown": directory / "dependencies.md",
        "renovate": directory / "renovate-packageRules.json",
        "diffs": directory / "diffs.html",
    }
    paths["json"].write_text(json.dumps(report_json(report), indent=1) + "\n", encoding="utf-8")
    proposals_frame(report).to_csv(paths["csv"], index=False)
    paths["markdown"].write_text(markdown(report), encoding="utf-8")
    paths["renovate"].write_text(
        json.dumps(package_rules(report.proposals, report.target), indent=2) + "\n",
        encoding="utf-8",
    )
    paths["diffs"].write_text(diffs_html(report) + "\n", encoding="utf-8")
    return paths

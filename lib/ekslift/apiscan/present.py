"""Tables, the plot and the artefacts of step 2, for the notebook (and its tests).

The notebook only calls these: rows grouped by verdict and by owner (who has to act: the
owner of a Helm release, a file, a chart or Argo CD app, a manifest applied with kubectl, a
server-side-apply manager, a CRD, or an API client), which sources must change on each row
and what to do (blue's included, where green does not show it migrated), and findings by
removal version.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ekslift.apiscan.estate import EstateScan
from ekslift.apiscan.facts import K8S
from ekslift.apiscan.formats import render
from ekslift.apiscan.judge import row_finding, verdict
from ekslift.apiscan.sightings import ObjectRow

OWNERS = {
    "helm-release": "Helm release",
    "file": "file",
    "kustomize": "file",
    "chart": "chart",
    "argocd": "Argo CD app",
    "live": "live object (served version only)",
    "last-applied": "manifest applied with kubectl",
    "managed-fields": "server-side-apply manager",
    "crd-storage": "CRD (storage migration)",
    "insights": "API clients (Upgrade Insights)",
}
VERDICTS = ("removed", "replacement-unavailable", "deprecated", "served only")
ARTEFACT_FORMATS = {"json": "api-scan.json", "csv": "api-scan.csv", "sarif": "api-scan.sarif"}


def owner_of(row: ObjectRow) -> str:
    """Who acts first on a row: the owner of its decisive source."""
    return OWNERS[row.lead.source]


def removal_version(row: ObjectRow, scan: EstateScan) -> str:
    rule = next((f.rule for f in row.sightings if f.rule), None)
    fact = scan.facts.by_id(rule) if rule else None
    if fact is None or fact.removed_in is None:
        return "not scheduled"
    version = f"{fact.removed_in.major}.{fact.removed_in.minor}"
    return version if fact.component == K8S else f"{fact.component} {version}"


def rows_frame(scan: EstateScan) -> pd.DataFrame:
    """One line per object (or API client) with its verdict, gate severity and owner."""
    records = []
    for row in scan.report.rows():
        lead = row.lead
        gate = row_finding(row, scan)
        records.append(
            {
                "verdict": "served only" if row.served_only else row.status,
                "gate": gate.severity,
                "owner": owner_of(row),
                "region": gate.region or "",
                "role": gate.role or "",
                "cluster": lead.cluster or "",
                "kind": lead.kind,
                "namespace": lead.namespace or "",
                "name": lead.name or "",
                "api_version": lead.api_version,
                "replacement": lead.replacement,
                "removed_in": removal_version(row, scan),
                "must_change": ", ".join(row.must_change),
                "sources": ", ".join(row.sources),
                "where": lead.location,
                "note": row.note,
                "id": gate.id,
            }
        )
    columns = [
        "verdict", "gate", "owner", "region", "role", "cluster", "kind", "namespace", "name",
        "api_version", "replacement", "removed_in", "must_change", "sources", "where", "note",
        "id",
    ]  # fmt: skip
    frame = pd.DataFrame(records, columns=columns)
    frame["verdict"] = pd.Categorical(frame["verdict"], VERDICTS, ordered=True)
    return frame.sort_values(["verdict", "gate", "owner", "cluster", "kind", "name"]).reset_index(
        drop=True
    )


def by_verdict(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts per verdict and gate severity."""
    if frame.empty:
        return frame
    return frame.pivot_table(
        index="verdict", columns="gate", values="id", aggfunc="count", fill_value=0, observed=False
    )


def by_owner(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts per owner and verdict: where the work is."""
    if frame.empty:
        return frame
    return frame.pivot_table(
        index="owner", columns="verdict", values="id", aggfunc="count", fill_value=0, observed=True
    )


def changes(scan: EstateScan) -> pd.DataFrame:
    """Per row with forward-looking evidence: the sources that must change, what to do,
    and why the gate weighs it so (blue's evidence counts for green unless migrated)."""
    records = []
    for row in scan.report.rows():
        if row.served_only:
            continue
        lead = row.lead
        decided = verdict(row, scan)
        records.append(
            {
                "gate": decided.severity,
                "cluster": lead.cluster or lead.location,
                "object": f"{lead.kind}/{lead.namespace or '-'}/{lead.name or '-'}",
                "seen": "; ".join(sorted({f"{f.source}: {f.api_version}" for f in row.sightings})),
                "must change": "; ".join(row.actions),
                "why": decided.why,
            }
        )
    frame = pd.DataFrame(
        records, columns=["gate", "cluster", "object", "seen", "must change", "why"]
    )
    order = {"blocker": 0, "warning": 1, "info": 2}
    return frame.sort_values(
        ["gate", "cluster", "object"], key=lambda c: c.map(order) if c.name == "gate" else c
    ).reset_index(drop=True)


def problems_frame(scan: EstateScan) -> pd.DataFrame:
    return pd.DataFrame(
        [p.to_dict() for p in scan.report.problems],
        columns=["file", "line", "object", "level", "message"],
    )


def _version_order(label: str) -> tuple[int, str, list[int]]:
    """Kubernetes releases in order, then add-on releases, then "not scheduled"."""
    name, _, version = label.rpartition(" ")
    if label == "not scheduled":
        return (2, "", [])
    return (1 if name else 0, name, [int(p) for p in version.split(".")])


def removal_plot(scan: EstateScan) -> Figure:
    """Rows with a finding by the Kubernetes release that removes their API, per role."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in scan.report.rows():
        where = scan.where(row.lead.cluster)
        role: str = where.role if where else "files/charts"
        counts[(removal_version(row, scan), role)] += 1
    versions = sorted({v for v, _ in counts}, key=_version_order)
    roles = sorted({r for _, r in counts})
    figure = Figure(figsize=(8, 3.5))
    axes = figure.add_subplot()
    bottom = [0] * len(versions)
    colours = {"green": "#2e8b57", "blue": "#4169e1", "files/charts": "#999999"}
    for role in roles:
        heights = [counts[(v, role)] for v in versions]
        axes.bar(versions, heights, bottom=bottom, label=role, color=colours.get(role))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_xlabel("Kubernetes release that removes the API")
    axes.set_ylabel("objects / API clients")
    axes.set_title(f"API scan findings by removal version (target {scan.report.target_version})")
    if roles:
        axes.legend()
    figure.tight_layout()
    return figure


def write_artefacts(scan: EstateScan, directory: Path) -> dict[str, Path]:
    """The report as JSON (rows and raw findings), CSV and SARIF, plus the row table."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt, name in ARTEFACT_FORMATS.items():
        path = directory / name
        path.write_text(render(scan.report, fmt, scan.facts), encoding="utf-8")
        paths[fmt] = path
    rows = directory / "api-scan-rows.csv"
    rows_frame(scan).to_csv(rows, index=False)
    paths["rows"] = rows
    return paths

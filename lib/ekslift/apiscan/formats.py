"""Renderers for a :class:`ScanReport`: text, json, csv, markdown and SARIF 2.1.0.

Text, CSV and markdown show object rows (one per object of a cluster with its sources
merged, one per file or chart object) and the sources that must change; JSON carries rows
*and* the raw sightings so that notebooks and other tools need not re-merge; SARIF carries
only file findings, because code scanning can annotate nothing else.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from .facts import FactSet
from .sightings import ObjectRow, ScanProblem, ScanReport, Sighting

#: Bumped whenever a key is renamed or removed from the JSON output (2: rows name the
#: sources that must change, `decided_by` replaces `authoritative_source`).
SCHEMA_VERSION = 2
FORMATS = ("text", "json", "csv", "markdown", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"removed": "error", "replacement-unavailable": "warning", "deprecated": "warning"}

_COLUMNS = (
    "SEVERITY",
    "KIND",
    "NAME",
    "NAMESPACE",
    "API",
    "REPLACEMENT",
    "MUST CHANGE",
    "SOURCES",
    "WHERE",
)


def verdict_label(row: ObjectRow) -> str:
    """The row's API status; a row seen only at its served version says so."""
    return f"{row.status} (served only)" if row.served_only else str(row.status)


def _row_cells(row: ObjectRow) -> list[str]:
    lead = row.lead
    where = lead.location or (f"cluster {lead.cluster}" if lead.cluster else "")
    return [
        verdict_label(row),
        lead.kind,
        lead.name or "-",
        lead.namespace or "-",
        lead.api_version,
        lead.replacement or "-",
        ",".join(row.must_change) or "-",
        ",".join(row.sources),
        where,
    ]


def _summary(report: ScanReport) -> str:
    counts = report.counts()
    parts = [f"{count} {status}" for status, count in counts.items()]
    parts.append(f"{report.served_only()} served only (information)")
    errors = len(report.errors())
    warnings = len(report.problems) - errors
    summary = (
        f"target {report.targets.kubernetes}: " + ", ".join(parts) + f"; {errors} input errors"
        f", {warnings} warnings"
    )
    if report.stats.get("files.syntax_checked_all") == 0:
        summary += (
            "\n(YAML syntax was checked only in documents that name a deprecated API; "
            "--strict checks every document)"
        )
    return summary


def render_text(report: ScanReport, facts: FactSet) -> str:
    objects = report.rows()
    rows = [_row_cells(row) for row in objects]
    out: list[str] = []
    if rows:
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
        out.append("  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip())
        out.extend(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )
        notes = [(r, row.note) for r, row in zip(rows, objects, strict=True) if row.note]
        if notes:
            out.append("")
            out.append("What to change:")
            out.extend(f"  {r[1]} {r[2]} ({r[4]}): {note}" for r, note in notes)
    else:
        out.append("No objects on APIs deprecated or removed in the target were found.")
    if report.problems:
        out.append("")
        out.append("Input problems:")
        out.extend(
            f"  {p.level}: {p.location}: {p.message}" for p in _sorted_problems(report.problems)
        )
    out.append("")
    out.append(_summary(report))
    return "\n".join(out) + "\n"


def _sorted_problems(problems: Sequence[ScanProblem]) -> list[ScanProblem]:
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.message))


def report_dict(report: ScanReport) -> dict[str, Any]:
    """The JSON document; ``schema_version`` lets consumers detect incompatible changes."""
    rows = []
    for row in report.rows():
        lead = row.lead
        rows.append(
            {
                "severity": row.status,
                "served_only": row.served_only,
                "cluster": lead.cluster,
                "namespace": lead.namespace,
                "kind": lead.kind,
                "name": lead.name,
                "api_version": lead.api_version,
                "replacement": lead.replacement,
                "rule": lead.rule,
                "sources": list(row.sources),
                "decided_by": lead.source,
                "must_change": list(row.must_change),
                "actions": list(row.actions),
                "disagreement": row.disagreement,
                "location": lead.location or None,
                "note": row.note,
                "findings": [f.to_dict() for f in row.sightings],
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "ekslift", "version": __version__},
        "target_versions": report.targets.as_dict(),
        "sources_scanned": list(report.sources_scanned),
        "summary": {
            **report.counts(),
            "served_only": report.served_only(),
            "input_errors": len(report.errors()),
        },
        "exit_code": report.exit_code(),
        "rows": rows,
        "problems": [p.to_dict() for p in _sorted_problems(report.problems)],
        "stats": dict(report.stats),
    }


def render_json(report: ScanReport, facts: FactSet) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


_CSV_COLUMNS = (
    "severity",
    "cluster",
    "namespace",
    "kind",
    "name",
    "api_version",
    "replacement",
    "sources",
    "must_change",
    "location",
    "rule",
    "note",
)


def render_csv(report: ScanReport, facts: FactSet) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for row in report.rows():
        lead = row.lead
        writer.writerow(
            [
                verdict_label(row),
                lead.cluster or "",
                lead.namespace or "",
                lead.kind,
                lead.name or "",
                lead.api_version,
                lead.replacement,
                " ".join(row.sources),
                " ".join(row.must_change),
                lead.location,
                lead.rule or "",
                row.note,
            ]
        )
    return buffer.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: ScanReport, facts: FactSet) -> str:
    out = [f"### API scan for Kubernetes {report.targets.kubernetes}", ""]
    rows = report.rows()
    if rows:
        header = (*_COLUMNS, "NOTE")
        out.append("| " + " | ".join(h.title() for h in header) + " |")
        out.append("|" + "---|" * len(header))
        for row in rows:
            cells = [*_row_cells(row), row.note]
            out.append("| " + " | ".join(_md(c) for c in cells) + " |")
    else:
        out.append("No objects on APIs deprecated or removed in the target were found.")
    if report.problems:
        out += ["", "**Input problems**", ""]
        out.extend(
            f"- {p.level}: `{_md(p.location)}`: {_md(p.message)}"
            for p in _sorted_problems(report.problems)
        )
    out += ["", _summary(report)]
    return "\n".join(out) + "\n"


def _sarif_uri(path: str) -> str:
    """Repository-relative POSIX URIs, which code scanning maps onto the checkout."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(Path.cwd())
        except ValueError:
            return candidate.as_uri()
    return candidate.as_posix()


def _file_findings(report: ScanReport) -> list[Sighting]:
    return [
        f
        for f in report.sightings
        if f.source == "file" and f.status and f.file and f.line and not f.file.startswith("<")
    ]


def sarif_dict(report: ScanReport, facts: FactSet) -> dict[str, Any]:
    """SARIF 2.1.0 with one rule per fact that matched and an exact startLine per result."""
    sightings = sorted(_file_findings(report), key=lambda f: (f.file or "", f.line or 0))
    rule_ids = sorted({f.rule for f in sightings if f.rule})
    rules = []
    for rule_id in rule_ids:
        fact = facts.by_id(rule_id)
        rule: dict[str, Any] = {
            "id": rule_id,
            "name": rule_id.replace("/", "_").replace(".", "_").replace("*", "all"),
            "shortDescription": {"text": f"{rule_id} is deprecated or removed"},
        }
        if fact is not None:
            when = []
            if fact.deprecated_in:
                when.append(f"deprecated in {fact.component} {fact.deprecated_in}")
            if fact.removed_in:
                when.append(f"removed in {fact.component} {fact.removed_in}")
            rule["fullDescription"] = {
                "text": f"{fact.group_version} {fact.kind or '(all kinds)'}"
                f": {', '.join(when)}. {facts.note_at(fact, report.targets)}".strip()
            }
            if fact.link:
                rule["helpUri"] = fact.link
            rule["defaultConfiguration"] = {"level": "error" if fact.removed_in else "warning"}
        rules.append(rule)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    results = []
    for sighting in sightings:
        assert sighting.status is not None and sighting.rule is not None
        what = f"{sighting.kind} {sighting.name or '(unnamed)'} uses {sighting.api_version}"
        verdict = {
            "removed": f"removed in Kubernetes {report.targets.kubernetes}",
            "replacement-unavailable": "deprecated; its replacement is not served by the target",
            "deprecated": "deprecated",
        }[sighting.status]
        move = f"; use {sighting.replacement}" if sighting.replacement else ""
        results.append(
            {
                "ruleId": sighting.rule,
                "ruleIndex": index[sighting.rule],
                "level": SARIF_LEVELS[sighting.status],
                "message": {"text": f"{what}, {verdict}{move}."},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _sarif_uri(sighting.file or "")},
                            "region": {"startLine": sighting.line},
                        }
                    }
                ],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ekslift",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def render_sarif(report: ScanReport, facts: FactSet) -> str:
    return json.dumps(sarif_dict(report, facts), indent=2) + "\n"


RENDERERS: dict[str, Callable[[ScanReport, FactSet], str]] = {
    "text": render_text,
    "json": render_json,
    "csv": render_csv,
    "markdown": render_markdown,
    "sarif": render_sarif,
}


def render(report: ScanReport, fmt: str, facts: FactSet) -> str:
    """Render ``report`` in one of :data:`FORMATS`."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError as exc:
        formats = ", ".join(FORMATS)
        raise InputError(f"unknown output format {fmt!r}; use one of {formats}") from exc
    return renderer(report, facts)

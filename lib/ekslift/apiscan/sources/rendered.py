"""Scan a rendered manifest stream (helm template, kustomize, a release manifest).

Renders are scanned with the core's manifest scanner so they get exactly the findings a file
would; this module only re-labels them: the source, the cluster and namespace they are
destined to, and the chart template each object came from (helm's `# Source:` comments).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ekslift.apiscan.facts import FactSet, Targets
from ekslift.apiscan.manifests import ManifestScanner
from ekslift.apiscan.sightings import Evidence, ScanProblem, Sighting

_SOURCE_COMMENT = re.compile(r"^# Source: (.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class RenderLabels:
    """What every sighting of one render is labelled with: the evidence it is, the chart,
    release or app it came from, and the cluster and namespace it is headed for."""

    source: Evidence
    name: str
    cluster: str | None = None
    namespace: str | None = None
    extra: Mapping[str, Any] | None = None


def template_index(text: str) -> tuple[list[int], list[str]]:
    """Lines (1-based) of helm's `# Source: <template>` comments and the templates named."""
    lines, paths = [], []
    for match in _SOURCE_COMMENT.finditer(text):
        lines.append(text.count("\n", 0, match.start()) + 1)
        paths.append(match.group(1))
    return lines, paths


def scan_rendered(
    text: str, labels: RenderLabels, facts: FactSet, targets: Targets
) -> tuple[list[Sighting], list[ScanProblem]]:
    """Findings of one rendered stream, labelled for its destination.

    `destination.name` becomes the findings' `file` (the chart, release or app), and `line`
    is the line in the rendered stream, so a person can re-render and look. Nothing of the
    rendered text itself (Secret data included) is kept.
    """
    result = ManifestScanner(facts, targets).scan_bytes(text.encode("utf-8"), labels.name)
    lines, paths = template_index(text) if result.sightings else ([], [])
    sightings = []
    for sighting in result.sightings:
        extra = dict(labels.extra or {})
        at = bisect.bisect_right(lines, sighting.line or 0) - 1
        if at >= 0:
            extra["template"] = paths[at]
        namespace = sighting.namespace
        if namespace is None and sighting.kind not in facts.cluster_scoped_kinds:
            namespace = labels.namespace
        sightings.append(
            replace(
                sighting,
                source=labels.source,
                cluster=labels.cluster,
                namespace=namespace,
                extra=extra,
            )
        )
    return sightings, result.problems

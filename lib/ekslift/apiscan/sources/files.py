"""Manifest files and folders (and stdin), scanned by the fast manifest scanner.

The scanner itself lives in :mod:`ekslift.apiscan.manifests`; this module makes it a source
like the others: a :class:`SourceResult` with the scanner's counters, and whether every
document's YAML was checked (``strict``) or only the documents that name a deprecated API.
A folder that is a Helm chart or a kustomization, met anywhere among the paths, is rendered
for the target (:func:`~ekslift.apiscan.sources.charts.scan_render_root`): its templates are
not manifests, and what it renders is what will be applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ekslift.apiscan.contract import SourceResult
from ekslift.apiscan.facts import FactSet, Targets
from ekslift.apiscan.manifests import ScanOptions, scan_manifests
from ekslift.apiscan.sources.charts import scan_render_root
from ekslift.charts.helm import Helm


def scan_files(
    paths: Sequence[str],
    facts: FactSet,
    targets: Targets,
    options: ScanOptions,
    helm: Callable[[], Helm],
) -> SourceResult:
    """Scan `paths`; `helm` gives the Helm to render charts with, only when one is met."""
    scanned = scan_manifests(paths, facts, targets, options)
    result = SourceResult("files", scanned.sightings, scanned.problems)
    for root in scanned.render_roots:
        result.add(scan_render_root(helm, root, facts, targets))
    for counter, value in scanned.stats().items():
        result.count(counter, value)
    result.count("syntax_checked_all", int(options.strict))
    return result

"""Manifest files and folders (and stdin), scanned by the fast manifest scanner.

The scanner itself lives in :mod:`ekslift.apiscan.manifests`; this module makes it a source
like the others: a :class:`SourceResult` with the scanner's counters, and whether every
document's YAML was checked (``strict``) or only the documents that name a deprecated API.
"""

from __future__ import annotations

from collections.abc import Sequence

from ekslift.apiscan.contract import SourceResult
from ekslift.apiscan.facts import FactSet, Targets
from ekslift.apiscan.manifests import ScanOptions, scan_manifests


def scan_files(
    paths: Sequence[str], facts: FactSet, targets: Targets, options: ScanOptions
) -> SourceResult:
    scanned = scan_manifests(paths, facts, targets, options)
    result = SourceResult("files", scanned.sightings, scanned.problems)
    for counter, value in scanned.stats().items():
        result.count(counter, value)
    result.count("syntax_checked_all", int(options.strict))
    return result

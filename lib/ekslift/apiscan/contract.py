"""The API scan's plug-in contract: what a source is given, what it returns, and the registry.

Modelled on papermill's ``engines.py``: the contract and its registry live in a module that
imports neither the CLI nor any source, so sources depend on the contract, the CLI and step
2 look sources up by name, and nothing imports its way back up. A source is a function from
a :class:`ScanContext` to a :class:`SourceResult`; the registry says which sources a
:class:`ScanRequest` selects. Results of every source, cluster and chart are merged one way,
by :meth:`SourceResult.merged`, into one report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ekslift.apiscan.facts import FactSet, Targets
from ekslift.apiscan.manifests import DEFAULT_MAX_FILE_SIZE
from ekslift.apiscan.sightings import ScanProblem, ScanReport, Sighting

#: The scan's sources, by one name each in the CLI, step 2, stats and reports.
SourceName = Literal[
    "files", "charts", "helm-release", "live", "insights", "argocd", "chart-repos", "estate"
]
CLUSTER_SOURCES: tuple[SourceName, ...] = ("helm-release", "live", "insights")


@dataclass(frozen=True)
class ScanRequest:
    """What to scan, typed: built by ``ekslift scan`` from its flags, or by step 2.

    ``contexts`` are kubeconfig contexts (the current one when empty) read by the cluster
    sources; ``eks_clusters`` names their EKS clusters, in order, where a context's name
    differs. ``params_path`` scans a whole estate as step 2 does.
    """

    paths: tuple[str, ...] = ()
    charts: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    eks_clusters: tuple[str, ...] = ()
    helm_releases: bool = False
    all_revisions: bool = False
    live: bool = False
    insights: bool = False
    region: str | None = None
    helm_home: Path | None = None
    params_path: str | None = None
    strict: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE

    @property
    def reads_clusters(self) -> bool:
        return self.helm_releases or self.live or self.insights


@dataclass(frozen=True)
class ScanContext:
    """What every source gets: the facts, the targets and the request."""

    facts: FactSet
    targets: Targets
    request: ScanRequest


@dataclass
class SourceResult:
    """What one source (or one cluster or chart of it) found, and could not read.

    ``stats`` are counters named ``<source>.<counter>`` by the source that counts them, so
    merging results is a sum by key at every level (charts of a source, clusters of the
    estate, sources of a scan).
    """

    label: str
    sightings: list[Sighting] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def count(self, counter: str, value: int = 1) -> None:
        key = f"{self.label}.{counter}"
        self.stats[key] = self.stats.get(key, 0) + value

    def add(self, part: SourceResult) -> None:
        self.sightings += part.sightings
        self.problems += part.problems
        for key, value in part.stats.items():
            self.stats[key] = self.stats.get(key, 0) + value

    @classmethod
    def merged(cls, label: str, parts: Iterable[SourceResult]) -> SourceResult:
        total = cls(label)
        for part in parts:
            total.add(part)
        return total

    def report(self, targets: Targets, sources: Iterable[str]) -> ScanReport:
        return ScanReport(
            targets=targets,
            sightings=tuple(self.sightings),
            problems=tuple(self.problems),
            sources_scanned=tuple(sources),
            stats=dict(self.stats),
        )


@dataclass(frozen=True)
class ScanSource:
    """A source plug-in: ``applies(request)`` selects it, ``run(context)`` scans."""

    name: SourceName
    applies: Callable[[ScanRequest], bool]
    run: Callable[[ScanContext], SourceResult]


class SourceRegistry:
    """Sources by name, in registration order (the order reports list them in)."""

    def __init__(self) -> None:
        self._sources: dict[str, ScanSource] = {}

    def register(self, source: ScanSource) -> None:
        """Add a source, or replace the one of the same name."""
        self._sources[source.name] = source

    def get(self, name: str) -> ScanSource:
        try:
            return self._sources[name]
        except KeyError as exc:
            known = ", ".join(self._sources) or "none registered"
            raise KeyError(f"no scan source {name!r} (known: {known})") from exc

    def selected(self, request: ScanRequest) -> list[ScanSource]:
        return [source for source in self._sources.values() if source.applies(request)]

    @property
    def names(self) -> list[str]:
        return list(self._sources)


registry = SourceRegistry()

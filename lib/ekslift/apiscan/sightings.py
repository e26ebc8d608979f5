"""Finding records shared by every scan source, and the report that merges them.

Every source (files, chart renders, Helm releases, live objects, Upgrade Insights) returns
the same :class:`Finding` rows so that one object seen by several sources can be merged into
one :class:`ObjectRow`.  Where the sources disagree about an object's apiVersion, the row
takes the most authoritative observation, in this order:

1. ``live``: the object as the API server serves it now.  This is what will exist when the
   control plane is upgraded; nothing else can contradict it.
2. ``last-applied``: the ``kubectl.kubernetes.io/last-applied-configuration`` annotation,
   i.e. what a person or pipeline last sent.  It tells how the object will be re-applied,
   but the server may have stored it since under a newer version.
3. ``helm-release``: the manifest Helm stored in its release Secret/ConfigMap.  It is
   frequently stale (the chart was fixed, the object migrated, the release never
   re-rendered), yet it still matters for ``helm upgrade``, so the row keeps it as a note.
4. ``chart`` / ``argocd`` / ``kustomize``: a render of what would be deployed next.
5. ``file``: a manifest in a repository; it may never have been applied anywhere.

Sources that see an object on a current API report it with ``rule=None`` (a *clean
sighting*) so that a stale release manifest can be overruled by the live object.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .facts import API_STATUSES, ApiStatus, Targets

Evidence = Literal[
    "file", "chart", "kustomize", "argocd", "helm-release", "last-applied", "live", "insights"
]

#: Lower number = more authoritative (see the module docstring for why).
AUTHORITY: Mapping[str, int] = MappingProxyType(
    {
        "live": 0,
        "last-applied": 1,
        "helm-release": 2,
        "chart": 3,
        "argocd": 3,
        "kustomize": 3,
        "file": 4,
        "insights": 5,
    }
)

#: pluto's exit codes, kept because CI jobs replacing pluto rely on them.
EXIT_CLEAN = 0
EXIT_ERROR = 1
EXIT_CODES: Mapping[str, int] = MappingProxyType(
    {"deprecated": 2, "removed": 3, "replacement-unavailable": 4}
)


@dataclass(frozen=True)
class Sighting:
    """One observation of one object (or one API usage) by one source.

    ``rule`` is the matched fact's id and ``severity`` its classification for the scan's
    target; both are None for a clean sighting.  ``extra`` carries what only some sources
    have (e.g. Upgrade Insights' client user agents and request counts); it must hold
    nothing secret, since findings are written into run archives.
    """

    source: Evidence
    kind: str
    api_version: str
    name: str | None = None
    namespace: str | None = None
    cluster: str | None = None
    file: str | None = None
    line: int | None = None
    rule: str | None = None
    status: ApiStatus | None = None
    replacement: str = ""
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def object_key(self) -> tuple[str | None, str, str, str] | None:
        """Identity for merging across sources; unnamed objects never merge."""
        if not self.name:
            return None
        return (self.cluster, self.namespace or "", self.kind, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "cluster": self.cluster,
            "namespace": self.namespace,
            "kind": self.kind,
            "name": self.name,
            "api_version": self.api_version,
            "file": self.file,
            "line": self.line,
            "rule": self.rule,
            "severity": self.status,
            "replacement": self.replacement,
            "note": self.note,
            "extra": dict(self.extra),
        }


@dataclass(frozen=True)
class ScanProblem:
    """Input that could not be scanned (or only partly): where, what, and what to do.

    ``level`` "error" makes the scan exit 1 (unless a finding raises it higher); "warning"
    is shown but does not change the exit code (e.g. an unknown YAML tag that was read as
    plain data, so the document was still scanned).
    """

    file: str
    message: str
    line: int | None = None
    object: str | None = None
    level: Literal["error", "warning"] = "error"

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "object": self.object,
            "level": self.level,
            "message": self.message,
        }


@dataclass(frozen=True)
class ObjectRow:
    """One object as the report shows it: every source that saw it, and the verdict.

    ``severity`` is the authoritative observation's; ``note`` says which source decided and
    why when the sources disagree.
    """

    sightings: tuple[Sighting, ...]
    authoritative: Sighting

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({f.source for f in self.sightings}, key=lambda s: AUTHORITY[s]))

    @property
    def status(self) -> ApiStatus | None:
        return self.authoritative.status

    @property
    def disagreement(self) -> bool:
        return len({f.api_version for f in self.sightings}) > 1

    @property
    def note(self) -> str:
        lead = self.authoritative
        if not self.disagreement:
            return lead.note
        others = sorted(
            {(f.source, f.api_version) for f in self.sightings if f is not lead},
            key=lambda pair: AUTHORITY[pair[0]],
        )
        seen = ", ".join(f"{source} says {api}" for source, api in others)
        verdict = (
            f"{lead.source} ({lead.api_version}) is authoritative: {_WHY[lead.source]}; {seen}."
        )
        if any(f.source == "helm-release" and f.status for f in self.sightings):
            verdict += (
                " The stored Helm release manifest still names a removed or deprecated API;"
                " re-render the release (or run helm mapkubeapis) before the upgrade, or"
                " helm upgrade will fail to diff it."
            )
        return f"{verdict} {lead.note}".strip()


_WHY: Mapping[str, str] = MappingProxyType(
    {
        "live": "the API server serves the object at this version now",
        "last-applied": "it is what was last applied to the cluster",
        "helm-release": "it is the manifest Helm last deployed",
        "chart": "it is what the chart renders for the target",
        "argocd": "it is what Argo CD renders for the target",
        "kustomize": "it is what the kustomization renders",
        "file": "it is the only manifest seen",
        "insights": "it is the API usage EKS recorded",
    }
)


def merge(sightings: Iterable[Sighting]) -> list[ObjectRow]:
    """Group findings into one row per object; keep unnamed findings as their own rows."""
    grouped: dict[tuple[str | None, str, str, str], list[Sighting]] = defaultdict(list)
    rows: list[ObjectRow] = []
    for sighting in sightings:
        key = sighting.object_key()
        if key is None:
            rows.append(ObjectRow(sightings=(sighting,), authoritative=sighting))
        else:
            grouped[key].append(sighting)
    for group in grouped.values():
        lead = min(group, key=lambda f: (AUTHORITY[f.source], f.file or "", f.line or 0))
        rows.append(ObjectRow(sightings=tuple(group), authoritative=lead))
    rows = [row for row in rows if any(f.status for f in row.sightings)]
    rows.sort(key=_row_order)
    return rows


def _row_order(row: ObjectRow) -> tuple[int, str, str, str, str, int]:
    lead = row.authoritative
    rank = API_STATUSES.index(lead.status) if lead.status else len(API_STATUSES)
    return (
        rank,
        lead.cluster or "",
        lead.namespace or "",
        lead.kind,
        lead.name or lead.file or "",
        lead.line or 0,
    )


@dataclass(frozen=True)
class ScanReport:
    """Everything one scan found, for one target, ready to render or gate on."""

    targets: Targets
    sightings: tuple[Sighting, ...] = ()
    problems: tuple[ScanProblem, ...] = ()
    sources_scanned: tuple[str, ...] = ()
    stats: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def target_version(self) -> str:
        return str(self.targets.kubernetes)

    def rows(self) -> list[ObjectRow]:
        return merge(self.sightings)

    def counts(self) -> dict[ApiStatus, int]:
        """Rows by verdict; a row overruled to clean by a live sighting counts as clean."""
        out = dict.fromkeys(API_STATUSES, 0)
        for row in self.rows():
            if row.status:
                out[row.status] += 1
        return out

    def errors(self) -> list[ScanProblem]:
        return [p for p in self.problems if p.level == "error"]

    def exit_code(self, ignore_deprecations: bool = False, ignore_removals: bool = False) -> int:
        """pluto's codes: 0 clean, 1 bad input, 2 deprecated, 3 removed, 4 replacement
        unavailable; the highest applicable one wins.

        So a removal plus an unreadable file exits 3 (the file is still listed as a
        problem).  ``ignore_deprecations`` ignores codes 2 and 4 (both are "deprecated, not
        yet removed"), ``ignore_removals`` code 3, matching pluto's flags.
        """
        code = EXIT_ERROR if self.errors() else EXIT_CLEAN
        for status, count in self.counts().items():
            if not count:
                continue
            if status == "removed" and ignore_removals:
                continue
            if status != "removed" and ignore_deprecations:
                continue
            code = max(code, EXIT_CODES[status])
        return code

"""Observations shared by every scan source, and the report that merges them into rows.

Every source (files, chart renders, Argo CD apps, Helm releases, live objects and their
last-applied and managedFields records, CRD storage, Upgrade Insights) returns the same
:class:`Sighting` records. One object of one cluster seen by several sources is one
:class:`ObjectRow`; an object in a file or chart without a cluster is a row of its own, so
the same name in two files is two objects to fix.

Which sighting decides a row is the question "which source must change", not "which source
is right". The API server serves a stored built-in object at every version it serves, so a
live object read as ``policy/v1`` says nothing about what its owner applies next; only
*forward-looking* evidence does:

* ``chart`` / ``argocd`` / ``kustomize``: the render of what will be deployed next;
* ``file``: a manifest in a repository, applied from there;
* ``helm-release``: the manifest Helm stored, which the next ``helm upgrade`` diffs against
  (a removed API there breaks it until the chart is bumped or ``helm mapkubeapis`` runs);
* ``last-applied``: what ``kubectl apply`` sent and will send again;
* ``managed-fields``: the apiVersion each manager (server-side apply, Helm, Flux) last
  wrote with -- they leave no last-applied annotation;
* ``insights``: clients EKS saw calling the API;
* ``crd-storage``: a version a CRD still stores but no longer serves.

The worst forward-looking sighting decides the row's verdict, and every forward-looking
sighting with a finding names a source that must change, with what to do. ``live`` (the
served version) never clears a row and never blocks: a row seen only there is information.
Sources that see an object on a current API report it with ``rule=None`` (a *clean
sighting*), so the gate can tell an object that exists, migrated, on another cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

from .facts import API_STATUSES, ApiStatus, Targets

Evidence = Literal[
    "file",
    "chart",
    "kustomize",
    "argocd",
    "helm-release",
    "last-applied",
    "managed-fields",
    "crd-storage",
    "live",
    "insights",
]

#: Evidence of what will be applied to a cluster, or call it, next: each names a source
#: that must change. The order is the order a row names them in (and breaks ties of the
#: decisive sighting, which names the finding's id).
FORWARD: tuple[Evidence, ...] = (
    "last-applied",
    "managed-fields",
    "helm-release",
    "argocd",
    "chart",
    "kustomize",
    "file",
    "insights",
    "crd-storage",
)
#: The version the API server serves an object at now: information, never a verdict.
SERVED: Evidence = "live"
_ORDER: Mapping[str, int] = MappingProxyType({s: i for i, s in enumerate((*FORWARD, SERVED))})

#: A manager whose managedFields entry is older than this may be gone (a one-off apply, a
#: retired pipeline): its entry alone warns instead of blocking. Three months is longer than
#: any release train we know, so an active manager has written since.
STALE_MANAGER_AGE = timedelta(days=90)

#: What to do, per source that must change; ``{replacement}``, ``{api}``, ``{manager}`` and
#: ``{clients}`` are filled from the sighting.
CHANGES: Mapping[str, str] = MappingProxyType(
    {
        "last-applied": "change the manifest where it is applied from (kubectl apply) to "
        "{replacement}",
        "managed-fields": "change what manager {manager} applies to {replacement}",
        "helm-release": "bump the chart to a version that renders {replacement} and upgrade "
        "the release, or run `helm mapkubeapis` on it (its next `helm upgrade` fails on the "
        "stored manifest until then)",
        "argocd": "bump the Argo CD app's chart (targetRevision) or values so it renders "
        "{replacement}",
        "chart": "bump to a chart version that renders {replacement} for the target",
        "kustomize": "change the kustomization's resources to {replacement}",
        "file": "change the manifest to {replacement}",
        "insights": "upgrade or re-point the clients calling {api} ({clients}) to {replacement}",
        "crd-storage": "migrate the stored objects to {replacement} (rewrite each one, e.g. "
        "kube-storage-version-migrator) and drop {api} from status.storedVersions",
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
    have (Upgrade Insights' clients and insight version, a managedFields entry's manager and
    time); it must hold nothing secret, since findings are written into run archives.
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

    @property
    def forward(self) -> bool:
        """Whether this is evidence of what will be applied or called next (not `live`)."""
        return self.source != SERVED

    @property
    def stale(self) -> bool:
        """A managedFields entry whose manager has not written the object for long."""
        return self.source == "managed-fields" and bool(self.extra.get("stale"))

    @property
    def change(self) -> str:
        """What to do about this sighting, as the source that must change."""
        clients = ", ".join(c.get("user_agent", "") for c in self.extra.get("clients", [])[:3])
        return CHANGES[self.source].format(
            replacement=self.replacement or "a served API",
            api=self.api_version,
            manager=self.extra.get("manager", "?"),
            clients=clients or "see the insight",
        )

    def object_key(self) -> tuple[str | None, str, str, str] | None:
        """Identity for merging the sources of one cluster; objects outside a cluster
        (files, charts) and unnamed ones never merge: each is its own object to fix."""
        if not self.name or self.cluster is None:
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
    """One object (or API client) as the report shows it: every source that saw it, the
    sighting that decides its verdict, and the sources that must change.

    ``lead`` is the worst forward-looking sighting with a finding (a stale managedFields
    entry counts after a current one); a row without one is seen only at its served
    version and is information (``served_only``).
    """

    sightings: tuple[Sighting, ...]

    @property
    def evidence(self) -> tuple[Sighting, ...]:
        """Forward-looking sightings with a finding, decisive first."""
        return tuple(sorted((s for s in self.sightings if s.forward and s.status), key=_rank))

    @property
    def lead(self) -> Sighting:
        evidence = self.evidence
        if evidence:
            return evidence[0]
        return min(self.sightings, key=_rank)

    @property
    def served_only(self) -> bool:
        return not self.evidence

    @property
    def status(self) -> ApiStatus | None:
        return self.lead.status

    @property
    def stale_only(self) -> bool:
        """Only managedFields entries of managers that have not written for long."""
        evidence = self.evidence
        return bool(evidence) and all(s.stale for s in evidence)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({s.source for s in self.sightings}, key=lambda s: _ORDER[s]))

    @property
    def must_change(self) -> tuple[str, ...]:
        """The sources that must change, in the order a reader should act on them."""
        return tuple(sorted({s.source for s in self.evidence}, key=lambda s: _ORDER[s]))

    @property
    def actions(self) -> tuple[str, ...]:
        """One action per source (and per manager or file) that must change."""
        seen: dict[str, None] = {}
        for sighting in sorted(self.evidence, key=lambda s: _ORDER[s.source]):
            where = sighting.extra.get("manager") or sighting.location
            seen.setdefault(
                f"{sighting.source}{f' ({where})' if where else ''}: {sighting.change}", None
            )
        return tuple(seen)

    @property
    def disagreement(self) -> bool:
        return len({s.api_version for s in self.sightings}) > 1

    @property
    def note(self) -> str:
        lead = self.lead
        if self.served_only:
            return (
                f"Only the served version ({lead.api_version}) shows this API; no manifest, "
                f"release, manager or client seen names it, so this is information. {lead.note}"
            ).strip()
        parts = [f"Must change: {'; '.join(self.actions)}."]
        served = sorted({s.api_version for s in self.sightings if not s.forward})
        if served:
            parts.append(
                f"The server serves the object at {', '.join(served)}, which proves nothing "
                "about what its owner applies next."
            )
        stale = [s for s in self.evidence if s.stale]
        if stale:
            parts.append(
                "Manager(s) "
                + ", ".join(
                    f"{s.extra.get('manager')} (last wrote {s.extra.get('time')})" for s in stale
                )
                + f" have not written the object for over {STALE_MANAGER_AGE.days} days."
            )
        if lead.note:
            parts.append(lead.note)
        return " ".join(parts)


def _rank(sighting: Sighting) -> tuple[int, bool, int, str, int]:
    status = API_STATUSES.index(sighting.status) if sighting.status else len(API_STATUSES)
    return (
        status,
        sighting.stale,
        _ORDER[sighting.source],
        sighting.file or "",
        sighting.line or 0,
    )


def merge(sightings: Iterable[Sighting]) -> list[ObjectRow]:
    """One row per object of a cluster (its sources merged), one per sighting elsewhere;
    only rows with a finding are kept."""
    grouped: dict[tuple[str | None, str, str, str], list[Sighting]] = defaultdict(list)
    rows: list[ObjectRow] = []
    for sighting in sightings:
        key = sighting.object_key()
        if key is None:
            rows.append(ObjectRow(sightings=(sighting,)))
        else:
            grouped[key].append(sighting)
    rows += [ObjectRow(sightings=tuple(group)) for group in grouped.values()]
    rows = [row for row in rows if any(s.status for s in row.sightings)]
    rows.sort(key=_row_order)
    return rows


def _row_order(row: ObjectRow) -> tuple[bool, int, str, str, str, str, str, int]:
    lead = row.lead
    rank = API_STATUSES.index(lead.status) if lead.status else len(API_STATUSES)
    return (
        row.served_only,
        rank,
        lead.cluster or "",
        lead.namespace or "",
        lead.kind,
        lead.name or "",
        lead.file or "",
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
        """Rows by verdict; rows seen only at their served version are information and
        not counted (see :meth:`served_only`)."""
        out = dict.fromkeys(API_STATUSES, 0)
        for row in self.rows():
            if row.status and not row.served_only:
                out[row.status] += 1
        return out

    def served_only(self) -> int:
        return sum(1 for row in self.rows() if row.served_only)

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

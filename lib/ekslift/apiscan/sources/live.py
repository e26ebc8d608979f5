"""Live objects: every listable resource found through discovery, at the versions served.

Four questions per object, answered in one pass over raw JSON pages:

* **Served version.** An object is stored once and served at every version its resource
  has, so the version it is read at says nothing about what its owner applies next. It is
  reported for information: a resource with a clean served version is listed once, at that
  version; one served only at flagged versions (a CRD that still serves only
  `karpenter.sh/v1beta1`) is listed at each, and each object (by uid) is attributed to the
  least severe version serving it -- one sighting per object, never one per version.
* **last-applied.** `kubectl.kubernetes.io/last-applied-configuration` is what `kubectl
  apply` sent last and will send again: a removed apiVersion there breaks the next apply
  after the upgrade, whatever version the server stores (kubent's view).
* **managedFields.** Server-side apply, Helm and Flux write no last-applied annotation;
  `metadata.managedFields[]` records the apiVersion each manager last wrote with, and when.
  An entry on a flagged API is evidence that manager will write it again -- unless it has
  not written for :data:`~ekslift.apiscan.sightings.STALE_MANAGER_AGE` (then it warns).
* **CRD storage.** A version a CRD still lists in `status.storedVersions` but no longer
  serves (:mod:`.crds`) must be migrated before the CRD drops it.

Objects of kinds some fact names are reported clean (rule None) too, so the gate can tell
that an object exists, migrated, on another cluster. Resources are listed concurrently, page
by page (raw JSON, `KubeReader.list`): transient 429/5xx answers are retried and an expired
continue token restarts the list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ekslift.apiscan.contract import SourceResult
from ekslift.apiscan.facts import API_STATUSES, ApiFact, ApiStatus, FactSet, Targets
from ekslift.apiscan.sightings import STALE_MANAGER_AGE, ScanProblem, Sighting
from ekslift.apiscan.sources.crds import CRDS, stored_version_sightings
from ekslift.kube import ApiResource, KubeError, KubeReader

log = logging.getLogger(__name__)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LIST_WORKERS = 8
PAGE_SIZE = 1000


@dataclass(frozen=True)
class GroupResource:
    """One resource of one API group with every version serving it (discovery order)."""

    group: str
    plural: str
    kind: str
    namespaced: bool
    versions: tuple[str, ...]


def group_resources(resources: Iterable[ApiResource]) -> list[GroupResource]:
    """Fold discovery's per-version entries into one entry per group resource."""
    found: dict[tuple[str, str], GroupResource] = {}
    for res in resources:
        group = res.group_version.rpartition("/")[0]
        key = (group, res.plural)
        known = found.get(key)
        versions = (*known.versions, res.group_version) if known else (res.group_version,)
        found[key] = GroupResource(group, res.plural, res.kind, res.namespaced, versions)
    return list(found.values())


def list_path(group_version: str, plural: str) -> str:
    base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    return f"{base}/{plural}"


@dataclass
class _Listing:
    """What one list of one resource at one version yielded (only what the scan needs)."""

    resource: GroupResource
    group_version: str
    count: int = 0
    objects: list[tuple[str, str, str | None]] = field(default_factory=list)
    applied: list[tuple[str, str, str | None, str, str]] = field(default_factory=list)
    managed: list[tuple[str, str, str | None, dict[str, Any]]] = field(default_factory=list)
    unparsable: list[tuple[str, str | None]] = field(default_factory=list)
    error: str = ""


class LiveScanner:
    """Scans one cluster's live objects for one target (see the module docstring)."""

    def __init__(
        self,
        kube: KubeReader,
        facts: FactSet,
        targets: Targets,
        *,
        cluster: str,
        workers: int = LIST_WORKERS,
        page_size: int = PAGE_SIZE,
        now: datetime | None = None,
    ) -> None:
        self.kube = kube
        self.facts = facts
        self.targets = targets
        self.cluster = cluster
        self.workers = workers
        self.page_size = page_size
        self.now = now or datetime.now(UTC)
        self._kinds = {f.kind for f in facts.facts if f.kind} | {
            f.replacement_kind for f in facts.facts if f.replacement_kind
        }
        self._group_wide = {f.group_version.rpartition("/")[0] for f in facts.facts if not f.kind}

    # -------------------------------------------------------------------- classification
    def judge(self, api_version: str, kind: str) -> tuple[ApiFact | None, ApiStatus | None]:
        fact = self.facts.match(api_version, kind)
        if fact is None:
            return None, None
        return fact, fact.severity_at(self.targets.for_component(fact.component))

    def _tracked(self, resource: GroupResource) -> bool:
        """Kinds whose clean sightings show an object exists (migrated) for the gate."""
        return resource.kind in self._kinds or resource.group in self._group_wide

    def plan(self, resource: GroupResource) -> list[str]:
        """The versions to list: one clean version if there is one, else every version."""
        clean = [gv for gv in resource.versions if self.judge(gv, resource.kind)[1] is None]
        return clean[:1] or list(resource.versions)

    # -------------------------------------------------------------------- listing
    def _list(self, resource: GroupResource, group_version: str, keep: bool) -> _Listing:
        listing = _Listing(resource, group_version)
        path = list_path(group_version, resource.plural)
        seen: set[str] = set()
        try:
            for item in self.kube.list(path, page_size=self.page_size):
                meta = item.get("metadata") or {}
                uid = meta.get("uid", "")
                if uid in seen:
                    continue  # a list restarted after an expired token repeats its first pages
                seen.add(uid)
                annotations = meta.get("annotations")
                applied = annotations.get(LAST_APPLIED) if annotations else None
                if applied:
                    self._read_applied(applied, meta, listing)
                for entry in meta.get("managedFields") or ():
                    if self._flagged_entry(entry, listing.group_version, resource.kind):
                        listing.managed.append(
                            (uid, meta.get("name", ""), meta.get("namespace"), entry)
                        )
                if keep:
                    listing.objects.append((uid, meta.get("name", ""), meta.get("namespace")))
        except KubeError as exc:
            listing.error = str(exc)
        listing.count = len(seen)
        return listing

    def _flagged_entry(self, entry: Any, served: str, kind: str) -> bool:
        """A managedFields entry written through another, flagged, version of the kind."""
        if not isinstance(entry, dict):
            return False
        api_version = entry.get("apiVersion")
        if not isinstance(api_version, str) or api_version == served:
            return False
        return self.judge(api_version, kind)[1] is not None

    @staticmethod
    def _read_applied(text: str, meta: dict[str, Any], listing: _Listing) -> None:
        """Keep apiVersion and kind of the annotation, nothing else (it may hold Secret
        data: `kubectl apply` of a Secret stores the whole Secret there)."""
        try:
            applied = json.loads(text)
        except ValueError:
            listing.unparsable.append((meta.get("name", ""), meta.get("namespace")))
            return
        if not isinstance(applied, dict):
            listing.unparsable.append((meta.get("name", ""), meta.get("namespace")))
            return
        api_version, kind = applied.get("apiVersion"), applied.get("kind")
        if isinstance(api_version, str) and isinstance(kind, str):
            listing.applied.append(
                (
                    meta.get("uid", ""),
                    meta.get("name", ""),
                    meta.get("namespace"),
                    api_version,
                    kind,
                )
            )

    # -------------------------------------------------------------------- the scan
    def scan(self) -> SourceResult:
        result = SourceResult(label="live")
        try:
            resources = group_resources(self.kube.discover())
        except KubeError as exc:
            result.problems.append(
                ScanProblem(f"cluster {self.cluster}", f"discovery failed: {exc}")
            )
            return result
        jobs = []
        for resource in resources:
            versions = self.plan(resource)
            flagged = self.judge(versions[0], resource.kind)[1] is not None
            keep = flagged or self._tracked(resource)
            jobs += [(resource, gv, keep) for gv in versions]
        # Big lists first, so the longest one does not start last.
        jobs.sort(key=lambda job: job[0].plural not in ("pods", "events", "replicasets"))
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            crds = pool.submit(self._crds, resources)
            listings = list(pool.map(lambda job: self._list(*job), jobs))
            result.add(crds.result())
        self._collect(listings, result)
        result.count("resources", len(resources))
        result.count("lists", len(listings))
        result.count("objects", sum(listing.count for listing in listings))
        return result

    def _crds(self, resources: list[GroupResource]) -> SourceResult:
        """CustomResourceDefinitions read whole, for their stored versions (:mod:`.crds`)."""
        result = SourceResult(label="live")
        if not any(r.group == "apiextensions.k8s.io" and r.plural == CRDS for r in resources):
            return result
        try:
            crds = list(self.kube.list(list_path("apiextensions.k8s.io/v1", CRDS)))
        except KubeError as exc:
            result.problems.append(
                ScanProblem(
                    f"cluster {self.cluster}",
                    f"customresourcedefinitions not read for their stored versions: {exc}",
                )
            )
            return result
        result.sightings += stored_version_sightings(crds, self.facts, self.targets, self.cluster)
        result.count("crds", len(crds))
        return result

    def _collect(self, listings: list[_Listing], result: SourceResult) -> None:
        applied_seen: set[str] = set()
        managed_seen: set[tuple[str, str, str]] = set()
        for listing in listings:
            if listing.error:
                result.problems.append(
                    ScanProblem(
                        f"cluster {self.cluster}",
                        f"{listing.resource.plural} ({listing.group_version}) not listed: "
                        f"{listing.error}",
                        object=f"{listing.group_version}/{listing.resource.kind}",
                    )
                )
            for name, namespace in listing.unparsable:
                result.problems.append(
                    ScanProblem(
                        f"cluster {self.cluster}",
                        f"{LAST_APPLIED} of {listing.resource.kind} {namespace or '-'}/{name} "
                        "is not JSON; re-apply the object to rewrite it",
                        object=f"{listing.resource.kind}/{namespace or ''}/{name}",
                        level="warning",
                    )
                )
            for uid, name, namespace, api_version, kind in listing.applied:
                if uid in applied_seen:
                    continue
                applied_seen.add(uid)
                sighting = self._applied_finding(listing, name, namespace, api_version, kind)
                if sighting is not None:
                    result.sightings.append(sighting)
            for uid, name, namespace, entry in listing.managed:
                key = (uid, str(entry.get("manager", "")), str(entry["apiVersion"]))
                if key not in managed_seen:
                    managed_seen.add(key)
                    result.sightings.append(self._managed_finding(listing, name, namespace, entry))
        result.sightings += self._served(listings)

    def _applied_finding(
        self, listing: _Listing, name: str, namespace: str | None, api_version: str, kind: str
    ) -> Sighting | None:
        fact, status = self.judge(api_version, kind)
        if fact is None or status is None:
            return None
        best = self.facts.best_replacement(fact, self.targets) or fact
        served = listing.group_version
        note = (
            f"The server stores and serves this object at {served}; its last-applied "
            f"configuration (what `kubectl apply` sends again) names {api_version}. Update "
            "the manifest in its source. "
            f"{self.facts.note_at(fact, self.targets)}"
        ).strip()
        return Sighting(
            source="last-applied",
            kind=kind,
            api_version=api_version,
            name=name,
            namespace=namespace,
            cluster=self.cluster,
            rule=fact.id,
            status=status,
            replacement=best.replacement_text(),
            note=note,
            extra={"served_version": served},
        )

    def _managed_finding(
        self, listing: _Listing, name: str, namespace: str | None, entry: dict[str, Any]
    ) -> Sighting:
        """One manager's entry on a flagged API; stale when it has not written for long."""
        api_version, kind = str(entry["apiVersion"]), listing.resource.kind
        fact, status = self.judge(api_version, kind)
        assert fact is not None and status is not None  # _flagged_entry checked both
        manager = str(entry.get("manager") or "(unnamed manager)")
        written = _parse_time(entry.get("time"))
        stale = written is not None and self.now - written > STALE_MANAGER_AGE
        when = entry.get("time") or "an unrecorded time"
        note = (
            f"managedFields: {manager} ({entry.get('operation', '?')}) last wrote this object "
            f"through {api_version} at {when}"
            + (
                f", over {STALE_MANAGER_AGE.days} days ago; if it is retired, remove its entry"
                if stale
                else "; it will send that version again"
            )
            + f". {self.facts.note_at(fact, self.targets)}"
        ).strip()
        return Sighting(
            source="managed-fields",
            kind=kind,
            api_version=api_version,
            name=name,
            namespace=namespace,
            cluster=self.cluster,
            rule=fact.id,
            status=status,
            replacement=(
                self.facts.best_replacement(fact, self.targets) or fact
            ).replacement_text(),
            note=note,
            extra={
                "manager": manager,
                "operation": entry.get("operation", ""),
                "time": entry.get("time", ""),
                "stale": stale,
                "served_version": listing.group_version,
            },
        )

    def _served(self, listings: list[_Listing]) -> list[Sighting]:
        """One live finding (or clean sighting) per object uid, at its best served version."""
        best: dict[str, tuple[int, _Listing, str, str | None]] = {}
        served_at: dict[str, list[str]] = {}
        for listing in listings:
            resource = listing.resource
            _, status = self.judge(listing.group_version, resource.kind)
            rank = len(API_STATUSES) if status is None else API_STATUSES.index(status)
            for uid, name, namespace in listing.objects:
                served_at.setdefault(uid, []).append(listing.group_version)
                known = best.get(uid)
                if known is None or rank > known[0]:
                    best[uid] = (rank, listing, name, namespace)
        sightings = []
        for uid, (_, listing, name, namespace) in best.items():
            kind = listing.resource.kind
            fact, status = self.judge(listing.group_version, kind)
            if status is not None and fact is not None and not self._reportable(fact, status):
                continue
            if status is None and not self._tracked(listing.resource):
                continue
            sightings.append(
                Sighting(
                    source="live",
                    kind=kind,
                    api_version=listing.group_version,
                    name=name,
                    namespace=namespace,
                    cluster=self.cluster,
                    rule=fact.id if status and fact else None,
                    status=status,
                    replacement=(
                        (self.facts.best_replacement(fact, self.targets) or fact).replacement_text()
                        if status and fact
                        else ""
                    ),
                    note=self._served_note(fact, served_at[uid]) if status and fact else "",
                    extra={"served_versions": served_at[uid]} if status else {},
                )
            )
        return sightings

    @staticmethod
    def _reportable(fact: ApiFact, status: ApiStatus) -> bool:
        """A deprecated kind whose replacement is a *different* kind (v1 Endpoints ->
        EndpointSlice) stays served and controller-managed; the objects need no migration,
        the clients do (Upgrade Insights and last-applied show those)."""
        return (
            status == "removed" or not fact.replacement_kind or fact.replacement_kind == fact.kind
        )

    def _served_note(self, fact: ApiFact, versions: list[str]) -> str:
        return (
            f"The cluster serves this object only at {', '.join(versions)}: migrate the "
            "objects (and the CRD or controller serving them) before the upgrade. "
            f"{self.facts.note_at(fact, self.targets)}"
        ).strip()


def scan_live(
    kube: KubeReader,
    facts: FactSet,
    targets: Targets,
    *,
    cluster: str,
    workers: int = LIST_WORKERS,
    page_size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> SourceResult:
    """Scan one cluster's live objects (see the module docstring)."""
    return LiveScanner(
        kube, facts, targets, cluster=cluster, workers=workers, page_size=page_size, now=now
    ).scan()


def _parse_time(value: object) -> datetime | None:
    """A managedFields `time` (RFC 3339, UTC); None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

"""CRD storage: versions a CustomResourceDefinition still stores but no longer serves.

The API server writes each custom object at the CRD's storage version when it is written,
and never rewrites it on its own; `status.storedVersions` lists every version some object
may still be stored at. A version listed there that the CRD no longer serves (its
`spec.versions[].served`), or that the facts say the target (or the add-on's release)
removes, breaks reads of those objects once the CRD drops it -- and the CRD's next upgrade
refuses to drop it. The objects must be migrated (rewritten at the storage version) and the
version removed from `storedVersions` first. Served versions alone prove nothing here: the
server converts on read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ekslift.apiscan.facts import ApiStatus, FactSet, Targets
from ekslift.apiscan.sightings import Sighting

CRDS = "customresourcedefinitions"


def _versions(spec: Mapping[str, Any]) -> tuple[set[str], str | None]:
    """Served version names, and the storage version, of a CRD spec."""
    served, storage = set(), None
    for version in spec.get("versions") or ():
        if not isinstance(version, Mapping) or not version.get("name"):
            continue
        if version.get("served"):
            served.add(str(version["name"]))
        if version.get("storage"):
            storage = str(version["name"])
    return served, storage


def stored_version_sightings(
    crds: Iterable[Mapping[str, Any]], facts: FactSet, targets: Targets, cluster: str
) -> list[Sighting]:
    """One sighting per stored version that is not served, or that the target removes."""
    sightings = []
    for crd in crds:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        if not group or not kind:
            continue
        served, storage = _versions(spec)
        for version in (crd.get("status") or {}).get("storedVersions") or ():
            api_version = f"{group}/{version}"
            fact = facts.match(api_version, kind)
            status: ApiStatus | None = (
                fact.severity_at(targets.for_component(fact.component)) if fact else None
            )
            if version not in served:
                status = "removed"
                why = "the CRD no longer serves it"
            elif status is not None:
                why = f"it is {status} for the target"
            else:
                continue
            name = (crd.get("metadata") or {}).get("name", "")
            replacement = f"{group}/{storage}" if storage else ""
            sightings.append(
                Sighting(
                    source="crd-storage",
                    kind="CustomResourceDefinition",
                    api_version=api_version,
                    name=name,
                    cluster=cluster,
                    rule=fact.id if fact else f"crd-storage/{api_version}",
                    status=status,
                    replacement=replacement,
                    note=(
                        f"{kind} objects may still be stored at {api_version} "
                        f"(status.storedVersions) and {why}: migrate them to "
                        f"{replacement or 'the storage version'} before the CRD drops it."
                    ),
                    extra={
                        "kind": kind,
                        "stored_versions": list(
                            (crd.get("status") or {}).get("storedVersions") or ()
                        ),
                    },
                )
            )
    return sightings

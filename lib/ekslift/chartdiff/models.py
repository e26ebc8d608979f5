"""What step 3 reads and concludes, as data: deployments, render checks, proposals, diffs.

User values are secrets by policy: an `Instance` holds them for rendering (never in `repr`,
comparisons or outputs) and shows only their key paths and a hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from packaging.version import Version

from ekslift.chartdiff.repos import ChartEntry
from ekslift.chartdiff.versions import Jump, chart_version
from ekslift.estate import Role

Origin = Literal["argocd", "helm"]


def key_paths(values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every leaf's dotted key path (a list or an empty map is a leaf): what outputs show of
    values instead of the values themselves."""
    paths: list[str] = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            paths += key_paths(value, path)
        else:
            paths.append(path)
    return paths


def values_hash(values: Mapping[str, Any]) -> str:
    """A short hash that tells two value sets apart without showing either."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Instance:
    """One deployment of a chart on one cluster, as Argo CD or helm records it."""

    name: str
    cluster: str
    role: Role | None
    version: str
    kube_version: Version | None
    sync_status: str = ""
    revision: str = ""
    values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    problems: tuple[str, ...] = ()

    @property
    def values_hash(self) -> str:
        return values_hash(self.values)

    @property
    def value_keys(self) -> list[str]:
        return key_paths(self.values)


@dataclass
class Deployment:
    """One chart deployment of one region (its blue and green instances), or of a cluster
    outside the regions (the management cluster)."""

    origin: Origin
    chart: str
    namespace: str
    release: str
    region: str | None
    instances: list[Instance] = field(default_factory=list)
    repo_url: str = ""
    matched_by: str = ""
    application_set: str = ""
    home: str = ""
    sources: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        region = self.region or "-"
        return f"{region}/{self.namespace}/{self.release}"

    @property
    def label(self) -> str:
        kind = "app" if self.origin == "argocd" else "release"
        return f"{kind} {self.namespace}/{self.release}"

    @property
    def green(self) -> list[Instance]:
        """What is headed for the target: green's instances, or -- where green has none
        (a parity gap, a management cluster) -- every instance that is not blue's."""
        green = [i for i in self.instances if i.role == "green"]
        return green or [i for i in self.instances if i.role != "blue"] or self.instances

    @property
    def blue(self) -> list[Instance]:
        return [i for i in self.instances if i.role == "blue"]

    @property
    def current(self) -> str:
        """The version headed for the target (green's; the newest if green's differ)."""
        versions = sorted({i.version for i in self.green}, key=_order)
        return versions[-1] if versions else ""

    @property
    def clusters(self) -> str:
        return ", ".join(f"{i.cluster} {i.version}" for i in self.instances)


def _order(version: str) -> tuple[int, Version | str]:
    parsed = chart_version(version)
    return (1, parsed) if parsed is not None else (0, version)


@dataclass(frozen=True)
class RenderCheck:
    """One chart version rendered for one Kubernetes version with one set of values."""

    version: str
    kubernetes: str
    ok: bool
    objects: int = 0
    removed: tuple[str, ...] = ()
    deprecated: tuple[str, ...] = ()
    error: str = ""

    @property
    def reason(self) -> str:
        if self.error:
            return self.error
        if self.removed:
            return f"renders APIs removed in {self.kubernetes}: {', '.join(self.removed)}"
        return ""


@dataclass
class CandidateCheck:
    """Everything known about one candidate version of one deployment."""

    entry: ChartEntry
    age_days: float | None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    target: RenderCheck | None = None
    blue: list[RenderCheck] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.entry.version

    @property
    def runs_on_target(self) -> bool:
        """Passes every check for the target (age aside: too young still *runs*)."""
        return self.target is not None and self.target.ok and not self.reasons

    @property
    def runs_on_blue(self) -> bool:
        return bool(self.blue) and all(check.ok for check in self.blue)


@dataclass(frozen=True)
class ObjectChange:
    """One rendered object, current vs proposed at the target (no values, no Secret data)."""

    kind: str
    namespace: str
    name: str
    change: Literal["added", "removed", "changed"]
    api_version: str = ""
    previous_api_version: str = ""
    images: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()


@dataclass
class ChartDiff:
    """What moving from `current` to `proposed` changes."""

    current: str
    proposed: str
    defaults_added: list[str] = field(default_factory=list)
    defaults_removed: list[str] = field(default_factory=list)
    defaults_changed: list[str] = field(default_factory=list)
    user_keys_removed: list[str] = field(default_factory=list)
    schema_errors: list[str] = field(default_factory=list)
    objects: list[ObjectChange] = field(default_factory=list)
    compared_at: str = ""
    scan: list[str] = field(default_factory=list)
    declared_changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Proposal:
    """Step 3's answer for one deployment."""

    deployment: Deployment
    target: str
    current: str
    current_check: CandidateCheck | None = None
    latest: str = ""
    latest_age_days: float | None = None
    proposed: str = ""
    proposed_age_days: float | None = None
    jump: Jump = ""
    runs_on_blue: bool | None = None
    blockers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    candidates: list[CandidateCheck] = field(default_factory=list)
    cap: str = ""
    cap_reason: str = ""
    diff: ChartDiff | None = None
    not_judged: str = ""
    unreachable: bool = False
    held_by_renovate: str = ""
    # Per version any instance runs (blue's too): versions newer than it, and days from its
    # release to the latest's.
    behind: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    # The controller table on the current version, where it does not block: a tested-only
    # range missed, an app version the table does not know; and a retired controller.
    controller_warnings: list[str] = field(default_factory=list)
    retired: str = ""

    @property
    def current_runs(self) -> bool | None:
        if self.current_check is None:
            return None
        return self.current_check.runs_on_target

    @property
    def pending(self) -> bool:
        return bool(self.proposed) and self.proposed != self.current

"""API deprecation facts as data: loading, merging user files, matching and target versions.

The facts live in ``data/apis.yaml`` beside this module so that a new Kubernetes release is a
data change reviewed like any other, not a code change.  Teams that already keep pluto
additions can pass their ``versions.yaml`` unchanged: :func:`load_facts` recognises both
formats, and a user entry replaces the built-in entry for the same apiVersion and kind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from packaging.version import InvalidVersion, Version

from ekslift.errors import InputError
from ekslift.versions import minor_text

log = logging.getLogger(__name__)

ApiStatus = Literal["removed", "replacement-unavailable", "deprecated"]
API_STATUSES: tuple[ApiStatus, ...] = ("removed", "replacement-unavailable", "deprecated")
Stability = Literal["alpha", "beta", "config"]
#: What a finding on an API marked ``stability`` must say first: such an API is not one a
#: cluster serves out of the box, so "it is removed" alone would mislead.
_STABILITY_NOTES: Mapping[str, str] = {
    "alpha": "alpha API: not enabled on EKS by default (EKS does not support alpha features).",
    "beta": "beta API: not enabled by default (Kubernetes turns new beta APIs off since 1.24; "
    "EKS enables only those its version notes name).",
    "config": "a config file API, read by a component from a file, not served by the API server.",
}

K8S = "k8s"
_FACTS_RESOURCE = "apis.yaml"
# apiVersion and kind values a fact may name; anything else is a typo in a facts file and
# would also break the byte-level prefilter in manifests.py, which searches for these strings.
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


class FactsError(InputError):
    """A facts file cannot be used; the message names the file and the entry."""


class TargetVersionError(InputError):
    """A target version is malformed or unknown; the message lists the known ones."""


def parse_version(text: str | int | float | None) -> Version | None:
    """Parse ``v1.25``, ``1.25.3`` or ``0.33`` (None or "" for "not scheduled").

    Versions in the wild come with and without the leading ``v`` (pluto writes ``v1.22.0``,
    the deprecation guide ``v1.22``, EKS ``1.22``); all compare as PEP 440 release tuples.
    """
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    match = _VERSION.match(raw)
    if not match:
        raise InvalidVersion(f"not a version like 1.29 or v1.29.0: {raw!r}")
    return Version(".".join(part for part in match.groups() if part is not None))


@dataclass(frozen=True)
class ApiFact:
    """One deprecated or removed apiVersion (for one kind, or for the whole group/version)."""

    group_version: str
    kind: str | None
    deprecated_in: Version | None
    removed_in: Version | None
    replacement: str | None
    replacement_available_in: Version | None
    component: str = K8S
    replacement_kind: str | None = None
    fields_change: bool = False
    changes: str = ""
    link: str = ""
    origin: str = "built-in"
    stability: Stability | None = None

    @property
    def id(self) -> str:
        """Stable rule id (SARIF ruleId, JSON ``rule``): ``group/version/Kind`` or ``/*``."""
        return f"{self.group_version}/{self.kind or '*'}"

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.group_version, self.kind)

    def replacement_text(self) -> str:
        """The replacement as people read it: ``apps/v1`` or ``karpenter.sh/v1 NodePool``."""
        if not self.replacement:
            return ""
        if self.replacement_kind:
            return f"{self.replacement} {self.replacement_kind}"
        return self.replacement

    def severity_at(self, target: Version | None) -> ApiStatus | None:
        """Classify this fact for a component target, with pluto's semantics.

        ``None`` as target means "the component's newest release" (no version pinned for an
        add-on): whatever is scheduled for removal counts as removed.  A deprecated API
        whose replacement is not served yet by the target is ``replacement-unavailable``:
        it cannot be migrated before the upgrade, which CI must tell apart (exit code 4).
        """
        if target is None:
            if self.removed_in is not None:
                return "removed"
            return "deprecated" if self.deprecated_in is not None else None
        if self.removed_in is not None and target >= self.removed_in:
            return "removed"
        if self.deprecated_in is not None and target >= self.deprecated_in:
            if self.replacement_available_in is not None and target < self.replacement_available_in:
                return "replacement-unavailable"
            return "deprecated"
        return None

    def status_at(self, target: Version | None) -> str:
        """Why this API is skipped on the way to a replacement (``removed in 1.29``)."""
        if self.severity_at(target) == "removed":
            return f"removed in {self.removed_in}"
        return f"deprecated in {self.deprecated_in}"

    def note(self, chain: Sequence[ApiFact] = (), target: Version | None = None) -> str:
        """What a person should do, in one line (the finding's note).

        ``chain`` holds the facts of replacements the target no longer serves or deprecates
        (:meth:`FactSet.replacement_chain`): the note then names the API at the end of the
        chain, says why the published replacement is skipped, and lists every hop's field
        changes, so it never sends anyone to an API the target does not serve.
        """
        parts: list[str] = []
        if self.stability:
            parts.append(_STABILITY_NOTES[self.stability])
        hops = (self, *chain)
        if chain:
            skipped = "; ".join(f"{h.group_version} is {h.status_at(target)}" for h in chain)
            parts.append(
                f"move to {chain[-1].replacement_text()}, not to the published replacement "
                f"{self.replacement_text()}: {skipped}."
            )
        changes = [h.changes for h in hops if h.fields_change and h.changes]
        if changes:
            parts.extend(changes)
        elif hops[-1].replacement:
            parts.append(f"change apiVersion to {hops[-1].replacement_text()}; no field changes")
        if self.link:
            parts.append(self.link)
        return " ".join(parts)


@dataclass(frozen=True)
class Targets:
    """The versions findings are judged against: Kubernetes plus optional add-on versions."""

    kubernetes: Version
    components: Mapping[str, Version] = field(default_factory=dict)

    def for_component(self, component: str) -> Version | None:
        if component == K8S:
            return self.kubernetes
        return self.components.get(component)

    def as_dict(self) -> dict[str, str]:
        out = {K8S: str(self.kubernetes)}
        out.update({name: str(version) for name, version in sorted(self.components.items())})
        return out


@dataclass(frozen=True)
class FactSet:
    """All facts, indexed for the lookups the scanners make per object."""

    facts: tuple[ApiFact, ...]
    oldest: Version
    newest: Version
    component_names: Mapping[str, str] = field(default_factory=dict)
    #: GA group/versions and kinds every target serves that no fact names; with the facts
    #: they make the target's ``.Capabilities.APIVersions`` for ``helm template``.
    stable_apis: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Kinds without a namespace: a render's object of any other kind gets its release's
    #: namespace, so it merges with the live object.
    cluster_scoped_kinds: frozenset[str] = frozenset()
    _by_key: dict[tuple[str, str | None], ApiFact] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for fact in self.facts:
            self._by_key[fact.key] = fact

    def __len__(self) -> int:
        return len(self.facts)

    def match(self, api_version: object, kind: object) -> ApiFact | None:
        """The fact for an object's apiVersion and kind; a kind-specific fact wins."""
        if not isinstance(api_version, str):
            return None
        if isinstance(kind, str):
            fact = self._by_key.get((api_version, kind))
            if fact is not None:
                return fact
        return self._by_key.get((api_version, None))

    def by_id(self, rule: str) -> ApiFact | None:
        group_version, _, kind = rule.rpartition("/")
        return self._by_key.get((group_version, None if kind == "*" else kind))

    def needles(self) -> frozenset[str]:
        """Strings at least one of which an object's text must contain to match any fact.

        For each fact the rarer of apiVersion and kind is chosen: a beta group/version is
        rare in manifests, while ``v1`` (core Endpoints) is everywhere and its kind is not.
        Facts that can never produce a finding are left out.
        """
        out: set[str] = set()
        for fact in self.facts:
            if fact.deprecated_in is None and fact.removed_in is None:
                continue
            if fact.kind is not None and "/" not in fact.group_version:
                out.add(fact.kind)
            else:
                out.add(fact.group_version)
        return frozenset(out)

    def replacement_chain(self, fact: ApiFact, targets: Targets) -> tuple[ApiFact, ...]:
        """The replacements after ``fact`` that the target no longer serves or deprecates.

        flowcontrol v1beta1's published replacement (v1beta2) is itself removed in 1.29;
        suggesting it to someone upgrading to 1.32 would be wrong, so fix help and notes walk
        on to the first replacement the target serves undeprecated (the last hop's
        ``replacement``).  Empty when the first hop is that replacement.
        """
        chain: list[ApiFact] = []
        current, seen = fact, {fact.key}
        while current.replacement:
            nxt = self._by_key.get(
                (current.replacement, current.replacement_kind or current.kind)
            ) or self._by_key.get((current.replacement, None))
            if (
                nxt is None
                or nxt.key in seen
                or nxt.severity_at(targets.for_component(nxt.component))
                not in ("removed", "deprecated")
            ):
                break
            seen.add(nxt.key)
            chain.append(nxt)
            current = nxt
        return tuple(chain)

    def best_replacement(self, fact: ApiFact, targets: Targets) -> ApiFact | None:
        """The fact of the last deprecated hop (:meth:`replacement_chain`), or None."""
        chain = self.replacement_chain(fact, targets)
        return chain[-1] if chain else None

    def note_at(self, fact: ApiFact, targets: Targets) -> str:
        """``fact``'s note for these targets: never suggests an API the target does not serve."""
        return fact.note(
            self.replacement_chain(fact, targets), targets.for_component(fact.component)
        )

    def known_versions(self) -> list[str]:
        """Kubernetes minor versions a target may name, oldest first."""
        return [f"1.{minor}" for minor in range(self.oldest.minor, self.newest.minor + 1)]

    def version_summary(self) -> list[dict[str, Any]]:
        """Per Kubernetes minor: how many facts are removed/deprecated in it.

        Known versions first, then the unreleased ones a fact already names (a removal the
        project announced through the API server's deprecation warning), marked
        ``announced`` so nobody mistakes them for targets.
        """
        k8s = [f for f in self.facts if f.component == K8S]
        later = {
            minor_text(v)
            for f in k8s
            for v in (f.deprecated_in, f.removed_in)
            if v and v > self.newest
        }
        rows = []
        for minor in [*self.known_versions(), *sorted(later, key=Version)]:
            version = Version(minor)
            rows.append(
                {
                    "version": minor,
                    "removed": [f.id for f in k8s if f.removed_in == version],
                    "deprecated": [f.id for f in k8s if f.deprecated_in == version],
                    "announced": version > self.newest,
                }
            )
        return rows

    def parse_target(self, text: str) -> Version:
        """Validate a Kubernetes target (``1.34``, ``v1.34``, ``1.34.2``).

        An unknown or malformed target is an error rather than an empty scan: "nothing
        found" because a target was mistyped is exactly the surprise this scan prevents.
        """
        known = ", ".join(self.known_versions())
        try:
            version = parse_version(text)
        except InvalidVersion as exc:
            raise TargetVersionError(
                f"target version {text!r} is malformed; use a Kubernetes minor version such "
                f"as 1.34 (known: {known})"
            ) from exc
        if version is None:
            raise TargetVersionError(f"no target version given (known: {known})")
        if version.major == 1 and version.minor > self.newest.minor:
            raise TargetVersionError(
                f"target version {text!r} is newer than the facts: known up to "
                f"{minor_text(self.newest)}; add facts for newer versions with --facts FILE "
                "(ekslift or pluto versions.yaml format)"
            )
        if version.major != 1 or minor_text(version) not in self.known_versions():
            raise TargetVersionError(
                f"target version {text!r} is not a Kubernetes version these facts cover "
                f"(known: {known})"
            )
        return version

    def parse_component_target(self, spec: str) -> tuple[str, Version]:
        """Parse ``NAME=VERSION`` (e.g. ``cert-manager=1.14``) for an add-on target."""
        name, sep, raw = spec.partition("=")
        name = name.strip()
        if not sep or name not in self.component_names or name == K8S:
            addons = ", ".join(sorted(set(self.component_names) - {K8S}))
            raise TargetVersionError(
                f"component target {spec!r} must be NAME=VERSION with NAME one of: {addons}"
            )
        try:
            version = parse_version(raw)
        except InvalidVersion:
            version = None
        if version is None:
            raise TargetVersionError(f"component target {spec!r} has no valid version")
        return name, version


def _entry_error(origin: str, index: int, message: str) -> FactsError:
    return FactsError(f"{origin}: entry {index + 1}: {message}")


def _version_field(entry: Mapping[str, Any], key: str, origin: str, index: int) -> Version | None:
    try:
        return parse_version(entry.get(key))
    except InvalidVersion as exc:
        raise _entry_error(origin, index, f"{key}: {exc}") from exc


def _token(value: object, what: str, origin: str, index: int) -> str:
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise _entry_error(origin, index, f"{what} must be a name like apps/v1, got {value!r}")
    return value


def _facts_from_native(entries: Sequence[Mapping[str, Any]], origin: str) -> Iterable[ApiFact]:
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _entry_error(origin, index, "must be a mapping")
        group_version = _token(entry.get("group_version"), "group_version", origin, index)
        kinds = entry.get("kinds", [entry["kind"]] if entry.get("kind") else [None])
        if not isinstance(kinds, list) or not kinds:
            raise _entry_error(origin, index, "kinds must be a non-empty list")
        replacement = entry.get("replacement") or None
        if replacement is not None:
            replacement = _token(replacement, "replacement", origin, index)
        stability = entry.get("stability") or None
        if stability not in (None, *get_args(Stability)):
            raise _entry_error(
                origin, index, f"stability must be one of {get_args(Stability)}, got {stability!r}"
            )
        base = ApiFact(
            group_version=group_version,
            kind=None,
            deprecated_in=_version_field(entry, "deprecated_in", origin, index),
            removed_in=_version_field(entry, "removed_in", origin, index),
            replacement=replacement,
            replacement_available_in=_version_field(
                entry, "replacement_available_in", origin, index
            ),
            component=str(entry.get("component") or K8S),
            replacement_kind=entry.get("replacement_kind") or None,
            fields_change=bool(entry.get("fields_change", False)),
            changes=" ".join(str(entry.get("changes") or "").split()),
            link=str(entry.get("link") or ""),
            origin=origin,
            stability=stability,
        )
        for kind in kinds:
            yield replace(base, kind=None if kind is None else _token(kind, "kind", origin, index))


def _facts_from_pluto(entries: Sequence[Mapping[str, Any]], origin: str) -> Iterable[ApiFact]:
    """pluto's ``deprecated-versions`` entries: ``version``, ``kind``, ``deprecated-in``, ..."""
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise _entry_error(origin, index, "must be a mapping")
        replacement = entry.get("replacement-api") or None
        yield ApiFact(
            group_version=_token(entry.get("version"), "version", origin, index),
            kind=_token(entry["kind"], "kind", origin, index) if entry.get("kind") else None,
            deprecated_in=_version_field(entry, "deprecated-in", origin, index),
            removed_in=_version_field(entry, "removed-in", origin, index),
            replacement=_token(replacement, "replacement-api", origin, index)
            if replacement
            else None,
            replacement_available_in=_version_field(
                entry, "replacement-available-in", origin, index
            ),
            component=str(entry.get("component") or K8S),
            origin=origin,
        )


def _read_facts_document(text: str, origin: str) -> tuple[list[ApiFact], dict[str, Any]]:
    try:
        doc = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        raise FactsError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise FactsError(f"{origin}: expected a mapping with 'apis' or 'deprecated-versions'")
    if "deprecated-versions" in doc:
        entries = doc["deprecated-versions"]
        if not isinstance(entries, list):
            raise FactsError(f"{origin}: deprecated-versions must be a list")
        if "target-versions" in doc:
            log.info("%s: pluto target-versions ignored; use --target-version", origin)
        return list(_facts_from_pluto(entries, origin)), {}
    if "apis" in doc:
        entries = doc["apis"]
        if not isinstance(entries, list):
            raise FactsError(f"{origin}: apis must be a list")
        return list(_facts_from_native(entries, origin)), dict(doc)
    raise FactsError(
        f"{origin}: neither ekslift facts ('apis:') nor pluto versions ('deprecated-versions:')"
    )


def _stable_apis(meta: Mapping[str, Any], origin: str) -> dict[str, tuple[str, ...]]:
    stable = meta.get("stable_apis") or {}
    if not isinstance(stable, Mapping):
        raise FactsError(f"{origin}: stable_apis must map group/version to a list of kinds")
    out: dict[str, tuple[str, ...]] = {}
    for group_version, kinds in stable.items():
        if not isinstance(kinds, list):
            raise FactsError(f"{origin}: stable_apis.{group_version} must be a list of kinds")
        out[_token(group_version, "stable_apis key", origin, 0)] = tuple(
            _token(kind, "stable_apis kind", origin, 0) for kind in kinds
        )
    return out


def _cluster_scoped_kinds(meta: Mapping[str, Any], origin: str) -> set[str]:
    kinds = meta.get("cluster_scoped_kinds") or []
    if not isinstance(kinds, list):
        raise FactsError(f"{origin}: cluster_scoped_kinds must be a list of kinds")
    return {_token(kind, "cluster_scoped_kinds entry", origin, 0) for kind in kinds}


def _newest_named(facts: Iterable[ApiFact]) -> Version | None:
    """The newest Kubernetes minor a user's facts name: a pluto file has no range of its own."""
    named = [
        version
        for fact in facts
        if fact.component == K8S
        for version in (fact.deprecated_in, fact.removed_in, fact.replacement_available_in)
        if version is not None
    ]
    return max(named, default=None)


def load_facts(extra_files: Sequence[str | Path] = ()) -> FactSet:
    """The built-in facts, with entries from ``extra_files`` added or overriding.

    Later files win over earlier ones; an entry overrides the one with the same apiVersion
    and kind.  A user file may also widen the known Kubernetes range (``kubernetes:
    {newest: "1.38"}``, or in either format by naming a newer release in its facts) so a
    team is not blocked waiting for a release of ekslift; it may add stable APIs and
    cluster-scoped kinds (its own CRDs) too.
    """
    builtin = resources.files("ekslift.apiscan").joinpath("data", _FACTS_RESOURCE)
    origin = "built-in apis.yaml"
    facts, meta = _read_facts_document(builtin.read_text(encoding="utf-8"), origin)
    by_key: dict[tuple[str, str | None], ApiFact] = {fact.key: fact for fact in facts}
    bounds = dict(meta.get("kubernetes") or {})
    components = dict(meta.get("components") or {})
    stable_apis = _stable_apis(meta, origin)
    cluster_scoped = _cluster_scoped_kinds(meta, origin)
    named: list[Version] = []
    for extra in extra_files:
        path = Path(extra)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise FactsError(f"{path}: cannot read facts file: {exc.strerror}") from exc
        user_facts, user_meta = _read_facts_document(text, str(path))
        for fact in user_facts:
            if fact.key in by_key:
                log.info("%s overrides %s", path, fact.id)
            by_key[fact.key] = fact
        bounds.update(user_meta.get("kubernetes") or {})
        components.update(user_meta.get("components") or {})
        for group_version, kinds in _stable_apis(user_meta, str(path)).items():
            stable_apis[group_version] = tuple(
                sorted({*stable_apis.get(group_version, ()), *kinds})
            )
        cluster_scoped |= _cluster_scoped_kinds(user_meta, str(path))
        newest_named = _newest_named(user_facts)
        if newest_named is not None:
            named.append(newest_named)
    for fact in by_key.values():
        components.setdefault(fact.component, fact.component)
    oldest = parse_version(bounds.get("oldest", "1.16"))
    newest = parse_version(bounds.get("newest", "1.16"))
    if oldest is None or newest is None or oldest > newest:
        raise FactsError(f"kubernetes range {bounds!r} is not oldest <= newest")
    newest = max([newest, *(Version(minor_text(version)) for version in named)])
    return FactSet(
        facts=tuple(sorted(by_key.values(), key=lambda f: (f.component, f.id))),
        oldest=oldest,
        newest=newest,
        component_names=components,
        stable_apis=stable_apis,
        cluster_scoped_kinds=frozenset(cluster_scoped),
    )


def known_versions(facts: FactSet | None = None) -> list[str]:
    """Kubernetes minor versions accepted as a target (for ``--list-versions``)."""
    return (facts or load_facts()).known_versions()

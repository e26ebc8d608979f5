"""Helm release records as Helm stores them in a cluster, read without the helm binary.

Helm 3/4 keep one record per release revision, by default in a Secret
`sh.helm.release.v1.<name>.v<revision>` (type `helm.sh/release.v1`, labels owner=helm, name,
status, version), or in a ConfigMap of the same shape with the configmap driver. The record
is JSON, gzipped and base64-encoded by helm (`data.release`); a Secret's data is
base64-encoded once more by Kubernetes, a ConfigMap's is not. Helm 2 (Tiller) kept protobuf
records in ConfigMaps labelled OWNER=TILLER, which cannot be upgraded in place and are
reported as problems.

Reading these directly (rather than `helm list` per context) lets the inventory page through
every namespace at once with the same Kubernetes client and pagination as everything else.
A record holds the user's values (`config`) and the chart's default values, which may be
secrets: they are dropped while decoding, and Secret objects inside the rendered manifest are
masked, so a `HelmRelease` never carries a secret into a notebook or archive.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import yaml

from ekslift.errors import ReadError
from ekslift.kube import KubeError
from ekslift.redact import drop_secret_values

logger = logging.getLogger(__name__)

Storage = Literal["secret", "configmap"]
RELEASE_SECRET_TYPE = "helm.sh/release.v1"
HELM_OWNER_SELECTOR = "owner=helm"
TILLER_OWNER_SELECTOR = "OWNER=TILLER"
DEPLOYED = "deployed"
UNINSTALLED = "uninstalled"

_GZIP_MAGIC = b"\x1f\x8b\x08"
_DOC_SPLIT = re.compile(r"(?m)^---[ \t]*(?:\n|$)")
_SECRET_KIND = re.compile(r"""(?m)^kind:[ \t]*["']?Secret["']?[ \t]*$""")
_GO_ZERO_TIME_YEAR = 1


class ReleaseDecodeError(ReadError):
    """A release record that is not a readable Helm 3/4 release."""


@dataclass(frozen=True)
class HelmRelease:
    """One revision of a Helm release, without its values.

    `manifest` is the rendered release manifest (what the API scan checks), with the data of
    any Secret objects masked; `hooks_manifest` holds the hooks the same way, since a hook on
    a removed API fails the next upgrade just as surely. `has_user_values` says whether the
    release was installed with values, without saying what they were.
    """

    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    chart_version: str
    app_version: str
    chart_kube_version: str
    first_deployed: datetime | None
    last_deployed: datetime | None
    description: str
    storage: Storage
    has_user_values: bool
    manifest: str = field(repr=False)
    hooks_manifest: str = field(default="", repr=False)
    # Where the chart says it comes from: how a release is matched to a repository when
    # several hold a chart of its name (nothing else in the record names the repository).
    chart_home: str = ""
    chart_sources: tuple[str, ...] = ()
    object_name: str = ""


@dataclass(frozen=True)
class ReleaseProblem:
    """A release record that was skipped, and why, for the inventory to show."""

    namespace: str
    object_name: str
    storage: Storage
    reason: str


class ReleaseList(list[HelmRelease]):
    """The releases found, plus `problems`: records that were present but not usable."""

    def __init__(
        self, releases: Iterable[HelmRelease] = (), problems: Iterable[ReleaseProblem] = ()
    ) -> None:
        super().__init__(releases)
        self.problems: list[ReleaseProblem] = list(problems)


def parse_helm_time(value: Any) -> datetime | None:
    """Helm's RFC 3339 timestamps (nanoseconds, any offset) as UTC; Go's zero time as None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.year <= _GO_ZERO_TIME_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _mask_secret_document(document: str) -> str:
    """Replace every value of a Secret's data/stringData by its digest (key paths kept),
    keeping the `# Source:` comments."""
    comments = [line for line in document.splitlines() if line.startswith("#")]
    try:
        obj = yaml.safe_load(document)
    except yaml.YAMLError:
        obj = None
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return "\n".join([*comments, "# Secret document masked: it could not be parsed", ""])
    body = yaml.safe_dump(drop_secret_values(obj), sort_keys=False, allow_unicode=True)
    return "\n".join([*comments, body])


def mask_manifest_secrets(manifest: str) -> str:
    """The manifest with Secret data masked and every other document left byte-identical.

    Charts routinely render passwords from values into Secrets, so the stored manifest is
    as sensitive as the values; documents that are not Secrets are not re-serialized, so the
    API scan sees exactly what helm rendered.
    """
    if not _SECRET_KIND.search(manifest):
        return manifest
    parts = _DOC_SPLIT.split(manifest)
    masked = [_mask_secret_document(p) if _SECRET_KIND.search(p) else p for p in parts]
    return "---\n".join(masked)


def _hooks_manifest(hooks: Any) -> str:
    if not isinstance(hooks, list):
        return ""
    docs = [
        f"---\n# Source: {hook.get('path', '')}\n{hook.get('manifest', '').strip()}\n"
        for hook in hooks
        if isinstance(hook, dict) and hook.get("manifest")
    ]
    return mask_manifest_secrets("".join(docs))


def _b64decode(text: str | bytes, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReleaseDecodeError(f"{what} is not valid base64 ({exc})") from exc


def _record_bytes(data_release: str | bytes, storage: Storage) -> bytes:
    """Undo the storage encodings down to helm's JSON (or Tiller's protobuf) bytes."""
    raw = _b64decode(data_release, "data.release")
    if storage == "secret" and not raw.startswith(_GZIP_MAGIC):
        # Secret data is base64 by Kubernetes over helm's own base64. A caller that already
        # undid the Kubernetes layer hands us helm's payload; then `raw` is gzip or JSON.
        stripped = raw.lstrip()
        if not stripped.startswith(b"{"):
            raw = _b64decode(raw.strip(), "helm's release payload")
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ReleaseDecodeError(f"release payload is not valid gzip ({exc})") from exc
    return raw


def decode_record(data_release: str | bytes, *, storage: Storage) -> dict[str, Any]:
    """The full release record dict, values included: for tooling that re-encodes records.

    Use `decode_release` for anything that is shown or kept.
    """
    raw = _record_bytes(data_release, storage)
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        hint = ""
        if raw[:1] == b"\x0a":
            hint = " (it looks like a Helm 2 protobuf record; migrate it with helm-2to3)"
        raise ReleaseDecodeError(f"release payload is not JSON{hint}: {exc}") from exc
    if not isinstance(record, dict):
        raise ReleaseDecodeError("release payload is not a JSON object")
    return record


def decode_release(data_release: str | bytes, *, storage: Storage) -> HelmRelease:
    """Decode a Secret's or ConfigMap's `data.release` into a values-free HelmRelease.

    Raises ReleaseDecodeError when the payload is not a Helm 3/4 release record.
    """
    record = decode_record(data_release, storage=storage)
    info = record.get("info")
    chart = record.get("chart")
    metadata = chart.get("metadata") if isinstance(chart, dict) else None
    name, revision = record.get("name"), record.get("version")
    if not isinstance(info, dict) or not isinstance(metadata, dict):
        raise ReleaseDecodeError("release record lacks `info` or `chart.metadata`")
    if not isinstance(name, str) or not name:
        raise ReleaseDecodeError("release record has no name")
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise ReleaseDecodeError(f"release {name} has no integer revision (`version`)")
    return HelmRelease(
        name=name,
        namespace=str(record.get("namespace") or ""),
        revision=revision,
        status=str(info.get("status") or "unknown"),
        chart=str(metadata.get("name") or ""),
        chart_version=str(metadata.get("version") or ""),
        app_version=str(metadata.get("appVersion") or ""),
        chart_kube_version=str(metadata.get("kubeVersion") or ""),
        first_deployed=parse_helm_time(info.get("first_deployed")),
        last_deployed=parse_helm_time(info.get("last_deployed")),
        description=str(info.get("description") or ""),
        storage=storage,
        has_user_values=bool(record.get("config")),
        manifest=mask_manifest_secrets(str(record.get("manifest") or "")),
        hooks_manifest=_hooks_manifest(record.get("hooks")),
        chart_home=str(metadata.get("home") or ""),
        chart_sources=tuple(str(s) for s in metadata.get("sources") or () if s),
    )


class ObjectLister(Protocol):
    """What listing needs from a cluster: `ekslift.kube.KubeReader` (paged raw JSON)."""

    def list(self, path: str, *, label_selector: str | None = None) -> Iterable[dict[str, Any]]:
        """Every item of a list path matching the selector, across all pages."""
        ...


def _list_path(plural: str, namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/{plural}" if namespace else f"/api/v1/{plural}"


@dataclass(frozen=True)
class _Candidate:
    item: dict[str, Any]
    storage: Storage
    release: str | None
    revision: int | None
    status: str | None

    @property
    def namespace(self) -> str:
        return str(self.item.get("metadata", {}).get("namespace") or "")

    @property
    def object_name(self) -> str:
        return str(self.item.get("metadata", {}).get("name") or "")


def _candidate(item: dict[str, Any], storage: Storage) -> _Candidate:
    labels = item.get("metadata", {}).get("labels") or {}
    version = labels.get("version")
    return _Candidate(
        item=item,
        storage=storage,
        release=labels.get("name") or None,
        revision=int(version) if isinstance(version, str) and version.isdigit() else None,
        status=labels.get("status") or None,
    )


def _pick_revision(revisions: Iterable[tuple[int, str]]) -> int | None:
    """The revision that represents a release: its latest deployed one.

    A release with no deployed revision (a failed first install, a stuck pending-upgrade)
    is shown by its latest revision so it is not invisible; one whose latest revision is
    `uninstalled` (kept history) no longer runs and is left out.
    """
    ordered = sorted(revisions)
    if not ordered:
        return None
    deployed = [rev for rev, status in ordered if status == DEPLOYED]
    if deployed:
        return deployed[-1]
    latest, status = ordered[-1]
    return None if status == UNINSTALLED else latest


def _wanted(candidates: list[_Candidate], all_revisions: bool) -> list[_Candidate]:
    """Which records to decode: labels tell the revision, so old ones are never unpacked."""
    if all_revisions:
        return candidates
    groups: dict[tuple[str, str], list[_Candidate]] = defaultdict(list)
    unlabelled: list[_Candidate] = []
    for cand in candidates:
        if cand.release is None or cand.revision is None or cand.status is None:
            unlabelled.append(cand)
        else:
            groups[(cand.namespace, cand.release)].append(cand)
    chosen: list[_Candidate] = []
    for group in groups.values():
        pick = _pick_revision(
            (c.revision, c.status) for c in group if c.revision is not None and c.status is not None
        )
        chosen.extend(c for c in group if c.revision == pick)
    return chosen + unlabelled


def _select(releases: list[HelmRelease], all_revisions: bool) -> list[HelmRelease]:
    if all_revisions:
        return releases
    groups: dict[tuple[str, str], list[HelmRelease]] = defaultdict(list)
    for rel in releases:
        groups[(rel.namespace, rel.name)].append(rel)
    selected: list[HelmRelease] = []
    for group in groups.values():
        pick = _pick_revision((r.revision, r.status) for r in group)
        selected.extend(r for r in group if r.revision == pick)
    return selected


def _decode_candidate(cand: _Candidate, problems: list[ReleaseProblem]) -> HelmRelease | None:
    where = f"{cand.storage} {cand.namespace}/{cand.object_name}"
    data = (cand.item.get("data") or {}).get("release")
    try:
        if not isinstance(data, str) or not data:
            raise ReleaseDecodeError("it has no data.release")
        release = decode_release(data, storage=cand.storage)
    except ReleaseDecodeError as exc:
        logger.warning("skipping Helm release record %s: %s", where, exc)
        problems.append(ReleaseProblem(cand.namespace, cand.object_name, cand.storage, str(exc)))
        return None
    release = replace(release, object_name=cand.object_name)
    if not release.namespace:
        release = replace(release, namespace=cand.namespace)
    return release


def _tiller_problem(item: dict[str, Any]) -> ReleaseProblem:
    meta = item.get("metadata", {})
    labels = meta.get("labels") or {}
    reason = (
        f"Helm 2 (Tiller) release {labels.get('NAME', '?')} revision "
        f"{labels.get('VERSION', '?')} ({labels.get('STATUS', '?')}): Helm 2 records are not "
        "read; migrate the release with the helm-2to3 plugin, then clean up Tiller's records"
    )
    return ReleaseProblem(
        str(meta.get("namespace") or ""), str(meta.get("name") or ""), "configmap", reason
    )


def list_releases(
    kube: ObjectLister, namespace: str | None = None, all_revisions: bool = False
) -> ReleaseList:
    """Every Helm release in a cluster (or one namespace), from Secret and ConfigMap storage.

    `kube` is an `ekslift.kube.KubeReader`: lists come as raw JSON, page by page, which is
    several times faster than the client's model objects for release records. Returns the
    latest deployed revision per release (see `_pick_revision`), or every revision with
    `all_revisions`. Records that cannot be decoded are logged with the object's
    namespace/name, collected in `.problems` and skipped; the listing only fails (KubeError)
    when release Secrets cannot be listed at all.
    """
    secrets = kube.list(_list_path("secrets", namespace), label_selector=HELM_OWNER_SELECTOR)
    candidates = [
        _candidate(item, "secret") for item in secrets if item.get("type") == RELEASE_SECRET_TYPE
    ]
    problems: list[ReleaseProblem] = []
    configmaps_path = _list_path("configmaps", namespace)
    try:
        configmaps = list(kube.list(configmaps_path, label_selector=HELM_OWNER_SELECTOR))
        tiller = list(kube.list(configmaps_path, label_selector=TILLER_OWNER_SELECTOR))
    except KubeError as exc:
        logger.warning("ConfigMap release storage not checked: %s", exc)
        reason = (
            f"ConfigMap release storage not checked ({exc}); releases stored with "
            "HELM_DRIVER=configmap may be missing"
        )
        problems.append(ReleaseProblem(namespace or "", "", "configmap", reason))
    else:
        candidates += [_candidate(item, "configmap") for item in configmaps]
        problems += [_tiller_problem(item) for item in tiller]

    decoded = [
        release
        for cand in _wanted(candidates, all_revisions)
        if (release := _decode_candidate(cand, problems)) is not None
    ]
    releases = _select(decoded, all_revisions)
    releases.sort(key=lambda r: (r.namespace, r.name, r.revision))
    return ReleaseList(releases, problems)


class ObjectGetter(Protocol):
    """What reading one record needs: `ekslift.kube.KubeReader.get_json`."""

    def get_json(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        """One object as parsed JSON."""
        ...


def read_user_values(kube: ObjectGetter, release: HelmRelease) -> dict[str, Any]:
    """The values a release was installed with (`config`), for rendering its chart again.

    They are secrets by policy: callers keep them in memory and pass them to helm only
    through its private values file. Raises ReleaseDecodeError when the record cannot be
    decoded, KubeError when it cannot be read.
    """
    plural = "secrets" if release.storage == "secret" else "configmaps"
    item = kube.get_json(f"/api/v1/namespaces/{release.namespace}/{plural}/{release.object_name}")
    data = ((item or {}).get("data") or {}).get("release")
    if not isinstance(data, str) or not data:
        raise ReleaseDecodeError(f"{plural[:-1]} {release.object_name} has no data.release")
    config = decode_record(data, storage=release.storage).get("config")
    return dict(config) if isinstance(config, dict) else {}

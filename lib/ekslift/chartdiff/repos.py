"""Candidate chart versions: HTTP repositories' `index.yaml` and OCI registries' tags.

An HTTP repository's index is fetched with a conditional request (`If-None-Match` /
`If-Modified-Since`) against a copy cached on disk, so a re-run downloads nothing that did
not change; chart archives are cached by name and digest (a published version is immutable,
and the digest in the index proves the copy). helm cannot list an OCI chart's versions, so
the registry's `GET /v2/<repository>/tags/list` is read, and each tag's manifest and config
(the chart's own Chart.yaml as JSON, plus the push time) -- both content-addressed, so
cached for good; archives come through `helm pull`, as an operator would fetch them.

Every failure names the repository or the archive and whether the server answered: a
repository that never answered is *unreachable* (the step then ends as a tool error), one
that answered badly (404, an index that is not YAML, an archive whose digest does not
match) is a problem of the deployments that use it. Neither is ever read as "no newer
version".
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tarfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import yaml

from ekslift.charts.helm import Helm, HelmError
from ekslift.charts.releases import parse_helm_time
from ekslift.errors import ApiReadError, ReadError

log = logging.getLogger(__name__)
TIMEOUT = 20.0
CHANGES_ANNOTATION = "artifacthub.io/changes"
_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"


class RepositoryError(ApiReadError):
    """A chart repository or registry that could not be read; `status` says whether and how
    it answered (None: it never did)."""


class ChartFetchError(ReadError):
    """A chart archive that could not be fetched or is not a chart (404, corrupt, digest)."""


@dataclass(frozen=True)
class ChartEntry:
    """One published version of one chart, as its repository describes it."""

    repo_url: str
    name: str
    version: str
    app_version: str = ""
    created: datetime | None = None
    kube_version: str = ""
    deprecated: bool = False
    home: str = ""
    sources: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    digest: str = ""
    changes: str = ""

    @property
    def is_oci(self) -> bool:
        return self.repo_url.startswith("oci://")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ekslift" / "charts"


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _changes(annotations: Any) -> str:
    if isinstance(annotations, Mapping):
        return str(annotations.get(CHANGES_ANNOTATION) or "")
    return ""


def _entry(repo_url: str, meta: Mapping[str, Any], created: datetime | None) -> ChartEntry:
    return ChartEntry(
        repo_url=repo_url,
        name=str(meta.get("name", "")),
        version=str(meta.get("version", "")),
        app_version=str(meta.get("appVersion") or ""),
        created=created,
        kube_version=str(meta.get("kubeVersion") or ""),
        deprecated=bool(meta.get("deprecated")),
        home=str(meta.get("home") or ""),
        sources=tuple(str(s) for s in meta.get("sources") or () if s),
        urls=tuple(str(u) for u in meta.get("urls") or ()),
        digest=str(meta.get("digest") or ""),
        changes=_changes(meta.get("annotations")),
    )


class ChartSources:
    """Every repository the step reads, behind one cache; safe to share between threads.

    `plain_http` names the OCI registries (`host[:port]`) reached without TLS.
    """

    def __init__(
        self, cache_dir: Path, helm: Helm, *, plain_http: frozenset[str] = frozenset()
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.helm = helm
        self.plain_http = plain_http
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._indexes: dict[str, dict[str, list[ChartEntry]]] = {}
        self._oci: dict[tuple[str, str], list[ChartEntry]] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        #: What the network did, for the benchmark and the notebook: requests by outcome.
        self.stats: dict[str, int] = {}

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] = self.stats.get(what, 0) + 1

    def _locked(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _get(
        self, url: str, what: str, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        try:
            response = self._session.get(url, headers=dict(headers or {}), timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise RepositoryError(f"{what}: {url} could not be reached ({exc})") from exc
        self._count(f"http {response.status_code}")
        if response.status_code >= 500:
            raise RepositoryError(
                f"{what}: {url} answered {response.status_code}", status=response.status_code
            )
        return response

    # --- HTTP repositories ------------------------------------------------------------
    def http_index(self, repo_url: str) -> dict[str, list[ChartEntry]]:
        """Every chart of an HTTP repository, its versions in index order."""
        with self._locked(repo_url):
            if repo_url not in self._indexes:
                self._indexes[repo_url] = self._read_index(repo_url)
            return self._indexes[repo_url]

    def _read_index(self, repo_url: str) -> dict[str, list[ChartEntry]]:
        folder = self.cache_dir / "index"
        folder.mkdir(parents=True, exist_ok=True)
        body, meta = folder / f"{_key(repo_url)}.yaml", folder / f"{_key(repo_url)}.json"
        headers: dict[str, str] = {}
        if body.is_file() and meta.is_file():
            cached = json.loads(meta.read_text(encoding="utf-8"))
            if cached.get("etag"):
                headers["If-None-Match"] = cached["etag"]
            if cached.get("last_modified"):
                headers["If-Modified-Since"] = cached["last_modified"]
        url = urljoin(repo_url.rstrip("/") + "/", "index.yaml")
        response = self._get(url, f"chart repository {repo_url}", headers)
        if response.status_code == 304:
            self._count("index not modified")
            text = body.read_text(encoding="utf-8")
        elif response.status_code == 200:
            text = response.text
            tmp = body.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, body)
            meta.write_text(
                json.dumps(
                    {
                        "etag": response.headers.get("ETag"),
                        "last_modified": response.headers.get("Last-Modified"),
                    }
                ),
                encoding="utf-8",
            )
        else:
            raise RepositoryError(
                f"chart repository {repo_url}: {url} answered {response.status_code}",
                status=response.status_code,
            )
        return _parse_index(repo_url, text)

    # --- OCI registries ---------------------------------------------------------------
    def _registry(self, repo_url: str, chart: str) -> tuple[str, str]:
        """(`http(s)://host`, `path/chart`) of an `oci://host/path` repository."""
        parts = urlsplit(repo_url if "://" in repo_url else f"oci://{repo_url}")
        scheme = "http" if parts.netloc in self.plain_http else "https"
        path = "/".join(p for p in (parts.path.strip("/"), chart) if p)
        return f"{scheme}://{parts.netloc}", path

    def oci_versions(self, repo_url: str, chart: str) -> list[ChartEntry]:
        """Every tag of `repo_url/chart` that is a chart version, with its metadata; an
        empty list when the registry does not know the chart (NAME_UNKNOWN)."""
        key = (repo_url, chart)
        with self._locked(f"oci {repo_url} {chart}"):
            if key not in self._oci:
                self._oci[key] = self._read_oci(repo_url, chart)
            return self._oci[key]

    def _read_oci(self, repo_url: str, chart: str) -> list[ChartEntry]:
        base, path = self._registry(repo_url, chart)
        what = f"OCI registry {repo_url}"
        tags: list[str] = []
        url: str | None = f"{base}/v2/{path}/tags/list"
        while url:
            response = self._get(url, what)
            if response.status_code == 404:
                return []
            if response.status_code != 200:
                raise RepositoryError(
                    f"{what}: {url} answered {response.status_code}", status=response.status_code
                )
            try:
                tags += [str(t) for t in response.json().get("tags") or []]
            except ValueError as exc:
                raise RepositoryError(f"{what}: {url} did not answer JSON", status=200) from exc
            link = response.links.get("next", {}).get("url")
            url = urljoin(base, link) if link else None
        entries = []
        for tag in tags:
            entry = self._oci_entry(base, path, repo_url, tag)
            if entry is not None:
                entries.append(entry)
        return entries

    def _blob_json(self, base: str, path: str, reference: str, accept: str, what: str) -> Any:
        """A manifest (by tag: not cached, tags move) or a blob (by digest: cached)."""
        cached = self.cache_dir / "oci" / reference.replace(":", "-")
        if reference.startswith("sha256:") and cached.is_file():
            return json.loads(cached.read_text(encoding="utf-8"))
        kind = "blobs" if accept == _HELM_CONFIG else "manifests"
        response = self._get(f"{base}/v2/{path}/{kind}/{reference}", what, {"Accept": accept})
        if response.status_code != 200:
            raise RepositoryError(
                f"{what}: {kind[:-1]} {path}:{reference} answered {response.status_code}",
                status=response.status_code,
            )
        data = response.json()
        if reference.startswith("sha256:"):
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(data), encoding="utf-8")
        return data

    def _oci_entry(self, base: str, path: str, repo_url: str, tag: str) -> ChartEntry | None:
        what = f"OCI registry {repo_url}"
        manifest = self._blob_json(base, path, tag, _OCI_MANIFEST, what)
        config = manifest.get("config") or {}
        if config.get("mediaType") != _HELM_CONFIG:
            return None  # an image or another artefact under the same name
        meta = self._blob_json(base, path, str(config.get("digest")), _HELM_CONFIG, what)
        created = parse_helm_time(
            (manifest.get("annotations") or {}).get("org.opencontainers.image.created")
        )
        layers = manifest.get("layers") or [{}]
        entry = _entry(repo_url, {**meta, "digest": layers[0].get("digest", "")}, created)
        return entry

    # --- archives -------------------------------------------------------------------------
    def archive(self, entry: ChartEntry) -> Path:
        """The chart archive of one version, from the cache or downloaded (and verified)."""
        folder = self.cache_dir / "archives" / _key(entry.repo_url)
        digest = entry.digest.removeprefix("sha256:")[:12] or "nodigest"
        target = folder / f"{entry.name}-{entry.version}-{digest}.tgz"
        with self._locked(str(target)):
            if target.is_file():
                self._count("archive cached")
                return target
            folder.mkdir(parents=True, exist_ok=True)
            if entry.is_oci:
                self._pull_oci(entry, target)
            else:
                self._download(entry, target)
            _check_archive(target, entry)
            return target

    def _pull_oci(self, entry: ChartEntry, target: Path) -> None:
        host = urlsplit(entry.repo_url).netloc
        ref = f"{entry.repo_url.rstrip('/')}/{entry.name}"
        try:
            pulled = self.helm.pull(
                ref, entry.version, target.parent / ".pull", plain_http=host in self.plain_http
            )
        except HelmError as exc:
            raise ChartFetchError(
                f"{ref}:{entry.version} could not be pulled: {exc.stderr}"
            ) from exc
        os.replace(pulled, target)

    def _download(self, entry: ChartEntry, target: Path) -> None:
        if not entry.urls:
            raise ChartFetchError(f"{entry.name} {entry.version}: the index lists no archive URL")
        url = urljoin(entry.repo_url.rstrip("/") + "/", entry.urls[0])
        response = self._get(url, f"chart {entry.name} {entry.version}")
        if response.status_code != 200:
            raise ChartFetchError(
                f"chart {entry.name} {entry.version}: {url} answered {response.status_code}"
            )
        data = response.content
        if entry.digest and hashlib.sha256(data).hexdigest() != entry.digest.removeprefix(
            "sha256:"
        ):
            raise ChartFetchError(
                f"chart {entry.name} {entry.version}: {url} does not match the index's digest "
                "(a corrupt or replaced archive)"
            )
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)


def _check_archive(path: Path, entry: ChartEntry) -> None:
    """A chart archive must be a gzip tarball with a Chart.yaml; a bad one is removed."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = archive.getnames()
    except (OSError, tarfile.TarError, EOFError) as exc:
        path.unlink(missing_ok=True)
        raise ChartFetchError(
            f"chart {entry.name} {entry.version}: the archive is not a valid .tgz ({exc})"
        ) from exc
    if not any(n.count("/") == 1 and n.endswith("/Chart.yaml") for n in names):
        path.unlink(missing_ok=True)
        raise ChartFetchError(f"chart {entry.name} {entry.version}: the archive has no Chart.yaml")


def _parse_index(repo_url: str, text: str) -> dict[str, list[ChartEntry]]:
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise RepositoryError(
            f"chart repository {repo_url}: index.yaml is not valid YAML{where}", status=200
        ) from exc
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise RepositoryError(f"chart repository {repo_url}: index.yaml has no entries", status=200)
    return {
        str(name): [
            _entry(repo_url, version, _created(version.get("created")))
            for version in versions or []
            if isinstance(version, dict)
        ]
        for name, versions in entries.items()
    }


def _created(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_helm_time(value)

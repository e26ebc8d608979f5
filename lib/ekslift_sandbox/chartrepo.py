"""The sandbox's chart repository: ~25 charts in several versions, served over HTTP.

The photo-sharing service's own charts and its cluster add-ons all come from one generic
chart (`chart-template/`) whose templates are switched on and off by values, so every chart
renders like a small real one. Versions differ where it matters for an upgrade: old versions
pin APIs that later Kubernetes releases removed (policy/v1beta1 PodDisruptionBudget and
PodSecurityPolicy, batch/v1beta1 CronJob, autoscaling/v2beta2 HorizontalPodAutoscaler,
extensions/v1beta1 and networking.k8s.io/v1beta1 Ingress), middle versions pick the API from
`.Capabilities` as many real charts do, newest versions use the replacements, and a few
declare `kubeVersion` constraints, so "which version is safe on the target" has real answers.

The repository is packaged and indexed by the real helm binary and served by a plain HTTP
server, exactly as helm and Argo CD consume a chart museum or GitHub Pages repository.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

from ekslift.charts.helm import Helm
from ekslift.charts.values import deep_merge

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).with_name("chart-template")
REPO_NAME = "sandbox"
_STAMP = ".ekslift-build.json"
_PACKAGE_WORKERS = 8

# apiVersions values: which API each template emits. Empty = choose from .Capabilities.
PINNED_LEGACY = {
    "podDisruptionBudget": "policy/v1beta1",
    "horizontalPodAutoscaler": "autoscaling/v2beta2",
    "ingress": "networking.k8s.io/v1beta1",
    "cronJob": "batch/v1beta1",
}
PINNED_EXTENSIONS_INGRESS = {**PINNED_LEGACY, "ingress": "extensions/v1beta1"}
FROM_CAPABILITIES: dict[str, str] = {}
PINNED_CURRENT = {
    "podDisruptionBudget": "policy/v1",
    "horizontalPodAutoscaler": "autoscaling/v2",
    "ingress": "networking.k8s.io/v1",
    "cronJob": "batch/v1",
}


@dataclass(frozen=True)
class ChartVersionSpec:
    """One published version of a sandbox chart."""

    version: str
    app_version: str
    api_versions: Mapping[str, str] = field(default_factory=lambda: dict(PINNED_CURRENT))
    kube_version: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChartSpec:
    """A chart of the sandbox repository: its default values and its published versions."""

    name: str
    description: str
    category: Literal["service", "addon"]
    values: Mapping[str, Any]
    versions: tuple[ChartVersionSpec, ...]

    @property
    def latest(self) -> ChartVersionSpec:
        return self.versions[-1]


def _v(
    version: str,
    app_version: str,
    api: Mapping[str, str] = PINNED_CURRENT,
    kube: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> ChartVersionSpec:
    return ChartVersionSpec(version, app_version, dict(api), kube, dict(values or {}))


_PDB = {"podDisruptionBudget": {"enabled": True}}
_HPA = {"autoscaling": {"enabled": True}}
_INGRESS = {"ingress": {"enabled": True}}
_PSP = {"podSecurityPolicy": {"enabled": True}}


def _cron(schedule: str, *args: str) -> dict[str, Any]:
    return {"cronJob": {"enabled": True, "schedule": schedule, "args": list(args)}}


def _secret() -> dict[str, Any]:
    # The password itself is supplied per release as a value, never a chart default.
    return {"secret": {"enabled": True}}


def _config(**data: str) -> dict[str, Any]:
    return {"config": {"enabled": True, "data": data}}


_DAEMON = {"workload": {"kind": "DaemonSet"}}
_NO_SERVICE = {"service": {"enabled": False}}

SANDBOX_CHARTS: list[ChartSpec] = [
    ChartSpec(
        "photo-api",
        "Public REST API of the photo-sharing service",
        "service",
        deep_merge(_PDB, _HPA, _INGRESS, _secret(), _config(LOG_LEVEL="info")),
        (
            _v("1.4.2", "3.8.1", PINNED_LEGACY),
            _v("1.6.0", "3.9.0", FROM_CAPABILITIES),
            _v("2.0.1", "4.0.2"),
            _v("2.1.0", "4.1.0", kube=">=1.29.0-0"),
        ),
    ),
    ChartSpec(
        "upload-svc",
        "Accepts photo uploads and stores originals in S3",
        "service",
        deep_merge(_PDB, _HPA, _secret()),
        (
            _v("0.9.3", "0.9.3", PINNED_LEGACY),
            _v("1.0.0", "1.0.0"),
            _v("1.1.2", "1.1.2"),
        ),
    ),
    ChartSpec(
        "thumbnailer",
        "Renders thumbnails and prunes stale renditions nightly",
        "service",
        deep_merge(_HPA, _NO_SERVICE, _cron("30 2 * * *", "--prune")),
        (
            _v("2.2.0", "2.2.0", PINNED_LEGACY),
            _v("2.3.1", "2.3.1"),
            _v("3.0.0", "3.0.0", kube=">=1.30.0-0"),
        ),
    ),
    ChartSpec(
        "feed",
        "Builds each user's photo feed",
        "service",
        deep_merge(_PDB, _HPA, _config(FEED_PAGE_SIZE="50")),
        (
            _v("3.1.0", "3.1.0", PINNED_LEGACY),
            _v("3.2.0", "3.2.0", FROM_CAPABILITIES),
            _v("3.3.4", "3.3.4"),
        ),
    ),
    ChartSpec(
        "albums",
        "Album management",
        "service",
        _PDB,
        (
            _v("1.0.0", "1.0.0", PINNED_LEGACY),
            _v("1.1.0", "1.1.0"),
            _v("1.2.0", "1.2.0"),
        ),
    ),
    ChartSpec(
        "share-links",
        "Public share links for albums and photos",
        "service",
        _INGRESS,
        (
            _v("0.3.0", "0.3.0", PINNED_EXTENSIONS_INGRESS),
            _v("0.4.0", "0.4.0", PINNED_LEGACY),
            _v("0.5.1", "0.5.1"),
        ),
    ),
    ChartSpec(
        "auth",
        "Sessions, OAuth login and tokens",
        "service",
        deep_merge(_PDB, _secret(), _config(SESSION_TTL="12h")),
        (
            _v("4.0.0", "4.0.0", PINNED_LEGACY),
            _v("4.1.0", "4.1.0"),
            _v("4.2.0", "4.2.0"),
        ),
    ),
    ChartSpec(
        "notifications",
        "E-mail and push notifications, with a daily digest job",
        "service",
        deep_merge(_NO_SERVICE, _cron("0 7 * * *", "--digest"), _config(DIGEST_HOUR="7")),
        (
            _v("1.2.0", "1.2.0", PINNED_LEGACY),
            _v("1.3.0", "1.3.0"),
        ),
    ),
    ChartSpec(
        "search",
        "Photo and album search",
        "service",
        deep_merge(_PDB, _HPA),
        (
            _v("2.0.0", "2.0.0", PINNED_LEGACY),
            _v("2.1.0", "2.1.0"),
            _v("2.2.0", "2.2.0"),
        ),
    ),
    ChartSpec(
        "billing",
        "Subscriptions, with a monthly invoicing job",
        "service",
        deep_merge(_secret(), _cron("0 4 1 * *", "--invoice")),
        (
            _v("1.0.3", "1.0.3", PINNED_LEGACY),
            _v("1.1.0", "1.1.0", FROM_CAPABILITIES),
            _v("1.2.0", "1.2.0"),
        ),
    ),
    ChartSpec(
        "web-frontend",
        "The web application",
        "service",
        deep_merge(_PDB, _HPA, _INGRESS),
        (
            _v("5.0.0", "5.0.0", PINNED_LEGACY),
            _v("5.1.0", "5.1.0"),
            _v("5.2.0", "5.2.0"),
        ),
    ),
    ChartSpec(
        "image-cdn-proxy",
        "Caching proxy in front of the image CDN origin",
        "service",
        deep_merge(_INGRESS, _config(CACHE_TTL="3600")),
        (
            _v("0.8.0", "0.8.0", PINNED_LEGACY),
            _v("0.9.0", "0.9.0"),
        ),
    ),
    ChartSpec(
        "ingress-nginx",
        "Ingress controller for Kubernetes using NGINX",
        "addon",
        deep_merge(
            _PDB, _HPA, {"service": {"type": "LoadBalancer"}}, _config(**{"use-gzip": "true"})
        ),
        (
            _v("3.35.0", "0.48.1", PINNED_LEGACY),
            _v("4.0.19", "1.1.3", FROM_CAPABILITIES),
            _v("4.7.1", "1.8.1"),
            _v("4.10.1", "1.10.1", kube=">=1.20.0-0"),
            _v("4.11.3", "1.11.3", kube=">=1.21.0-0"),
        ),
    ),
    ChartSpec(
        "cert-manager",
        "Automatically provision and manage TLS certificates",
        "addon",
        _PDB,
        (
            _v("1.8.2", "1.8.2", PINNED_LEGACY),
            _v("1.13.3", "1.13.3"),
            _v("1.14.5", "1.14.5", kube=">=1.22.0-0"),
            _v("1.15.1", "1.15.1", kube=">=1.22.0-0"),
        ),
    ),
    ChartSpec(
        "external-dns",
        "Configures Route53 records from Services and Ingresses",
        "addon",
        {"replicaCount": 1},
        (
            _v("1.12.2", "0.13.4"),
            _v("1.14.5", "0.14.2"),
            _v("1.15.0", "0.15.0"),
        ),
    ),
    ChartSpec(
        "aws-load-balancer-controller",
        "AWS Load Balancer Controller (ALB/NLB, TargetGroupBinding)",
        "addon",
        _PDB,
        (
            _v("1.4.8", "2.4.7", PINNED_LEGACY),
            _v("1.7.2", "2.7.2", kube=">=1.19.0-0"),
            _v("1.8.1", "2.8.1", kube=">=1.22.0-0"),
        ),
    ),
    ChartSpec(
        "karpenter",
        "Node provisioning for EKS",
        "addon",
        _PDB,
        (
            _v("0.37.0", "0.37.0", kube=">=1.23.0-0"),
            _v("1.0.6", "1.0.6", kube=">=1.25.0-0"),
            _v("1.3.3", "1.3.3", kube=">=1.29.0-0"),
        ),
    ),
    ChartSpec(
        "metrics-server",
        "Resource metrics for HPA and kubectl top",
        "addon",
        _PDB,
        (
            _v("3.8.2", "0.6.1", PINNED_LEGACY),
            _v("3.11.0", "0.6.4", FROM_CAPABILITIES),
            _v("3.12.1", "0.7.1"),
        ),
    ),
    ChartSpec(
        "kube-state-metrics",
        "Metrics about the state of Kubernetes objects",
        "addon",
        {"replicaCount": 1},
        (
            _v("4.20.2", "2.6.0", PINNED_LEGACY, values=_PDB),
            _v("5.15.3", "2.10.1"),
            _v("5.25.1", "2.13.0"),
        ),
    ),
    ChartSpec(
        "prometheus-node-exporter",
        "Host metrics from every node",
        "addon",
        _DAEMON,
        (
            _v("3.3.1", "1.3.1", PINNED_LEGACY, values=_PSP),
            _v("4.24.0", "1.7.0"),
            _v("4.39.0", "1.8.2"),
        ),
    ),
    ChartSpec(
        "fluent-bit",
        "Ships container logs to CloudWatch Logs",
        "addon",
        deep_merge(_DAEMON, _NO_SERVICE, _config(**{"fluent-bit.conf": "[SERVICE]\n  Flush 5\n"})),
        (
            _v("0.20.9", "1.9.9", PINNED_LEGACY, values=_PSP),
            _v("0.43.0", "2.2.2"),
            _v("0.47.10", "3.1.9"),
        ),
    ),
    ChartSpec(
        "external-secrets",
        "Syncs secrets from AWS Secrets Manager",
        "addon",
        _PDB,
        (
            _v("0.6.1", "0.6.1", PINNED_LEGACY),
            _v("0.9.20", "0.9.20"),
            _v("0.10.4", "0.10.4"),
        ),
    ),
    ChartSpec(
        "cluster-autoscaler",
        "Scales node groups to fit pending pods (its minor follows Kubernetes')",
        "addon",
        _PDB,
        (
            _v("9.10.7", "1.21.0", PINNED_LEGACY, kube="<1.25.0-0"),
            _v("9.29.1", "1.27.2"),
            _v("9.37.0", "1.30.0", kube=">=1.30.0-0 <1.31.0-0"),
        ),
    ),
    ChartSpec(
        "redis",
        "Cache for sessions and feeds",
        "addon",
        deep_merge(_PDB, _secret(), {"replicaCount": 1, "containerPort": 6379}),
        (
            _v("16.13.2", "6.2.7", PINNED_LEGACY),
            _v("17.11.3", "7.0.11", FROM_CAPABILITIES),
            _v("18.19.4", "7.2.4"),
            _v("19.6.4", "7.2.5", kube=">=1.23.0-0"),
        ),
    ),
    ChartSpec(
        "argo-rollouts",
        "Progressive delivery controller",
        "addon",
        _PDB,
        (
            _v("2.21.1", "1.3.1", PINNED_LEGACY),
            _v("2.35.3", "1.7.1"),
            _v("2.37.7", "1.7.2"),
        ),
    ),
]


def chart_spec(name: str) -> ChartSpec:
    """The spec of one sandbox chart, by name."""
    for spec in SANDBOX_CHARTS:
        if spec.name == name:
            return spec
    raise KeyError(f"no sandbox chart named {name!r}")


def _chart_yaml(spec: ChartSpec, version: ChartVersionSpec) -> dict[str, Any]:
    base = yaml.safe_load((TEMPLATE_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    meta = {
        **base,
        "name": spec.name,
        "version": version.version,
        "appVersion": version.app_version,
        "description": spec.description,
        "keywords": ["photo-sharing" if spec.category == "service" else "platform-addon"],
    }
    if version.kube_version:
        meta["kubeVersion"] = version.kube_version
    return meta


def _values_yaml(spec: ChartSpec, version: ChartVersionSpec) -> dict[str, Any]:
    base = yaml.safe_load((TEMPLATE_DIR / "values.yaml").read_text(encoding="utf-8"))
    apis = {key: version.api_versions.get(key, "") for key in base["apiVersions"]}
    return deep_merge(base, spec.values, version.values, {"apiVersions": apis})


def render_chart(spec: ChartSpec, version: ChartVersionSpec, dest: Path) -> Path:
    """Write one chart version's directory (template + its Chart.yaml and values.yaml)."""
    chart_dir = dest / spec.name
    shutil.copytree(
        TEMPLATE_DIR, chart_dir, ignore=shutil.ignore_patterns("Chart.yaml", "values.yaml")
    )
    (chart_dir / "Chart.yaml").write_text(
        yaml.safe_dump(_chart_yaml(spec, version), sort_keys=False), encoding="utf-8"
    )
    (chart_dir / "values.yaml").write_text(
        yaml.safe_dump(_values_yaml(spec, version), sort_keys=False), encoding="utf-8"
    )
    return chart_dir


def _charts_fingerprint() -> str:
    """What the chart archives depend on: the specs and the template's files."""
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(s) for s in SANDBOX_CHARTS], sort_keys=True).encode())
    for path in sorted(TEMPLATE_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(TEMPLATE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _read_stamp(out_dir: Path) -> dict[str, Any]:
    """What the repository in `out_dir` was last built from (empty if unknown)."""
    try:
        stamp = json.loads((out_dir / _STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _package_one(helm: Helm, spec: ChartSpec, version: ChartVersionSpec, out_dir: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-{version.version}-") as tmp:
        return helm.package(render_chart(spec, version, Path(tmp)), out_dir)


def build_chart_repo(out_dir: Path, helm: Helm, *, url: str | None = None) -> Path:
    """Package every sandbox chart version into `out_dir` and index it; return `out_dir`.

    With `url` the index names absolute chart URLs (what `helm repo index --url` writes for a
    hosted repository); without, it names them relative, which helm and Argo CD resolve
    against the repository URL, so the directory can be served from any port. Archives are
    only repackaged when the specs or the template changed, and the index only rewritten
    when they or the URL did, so restarting the sandbox on a new port costs one `repo index`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = _read_stamp(out_dir)
    fingerprint = _charts_fingerprint()
    jobs = [(spec, version) for spec in SANDBOX_CHARTS for version in spec.versions]
    expected = {out_dir / f"{spec.name}-{version.version}.tgz" for spec, version in jobs}
    packaged = stamp.get("charts") == fingerprint and all(p.is_file() for p in expected)
    if not packaged:
        with ThreadPoolExecutor(max_workers=_PACKAGE_WORKERS) as pool:
            list(pool.map(lambda job: _package_one(helm, job[0], job[1], out_dir), jobs))
        for stale in set(out_dir.glob("*.tgz")) - expected:
            stale.unlink()
        logger.info("packaged %d chart versions into %s", len(jobs), out_dir)
    index = out_dir / "index.yaml"
    if not packaged or stamp.get("url") != url or not stamp.get("dated") or not index.is_file():
        helm.repo_index(out_dir, url)
        date_index(index)
    stamp = {"charts": fingerprint, "url": url, "dated": True}
    (out_dir / _STAMP).write_text(json.dumps(stamp), encoding="utf-8")
    return out_dir


# --- publication dates (chart diff, issue 8) ----------------------------------------------
#: When each chart's newest sandbox version was published; older ones a quarter apart. `helm
#: repo index` stamps every version with the indexing time, which would make the whole
#: repository "released today" and every bump too young for step 3's minimum release age.
LATEST_PUBLISHED = datetime(2026, 9, 15, tzinfo=UTC)
PUBLISHED_EVERY = timedelta(days=90)


def date_index(index: Path) -> None:
    """Give each version of the index a publication date: newest first, a quarter apart."""
    data = yaml.safe_load(index.read_text(encoding="utf-8"))
    for spec in SANDBOX_CHARTS:
        order = [v.version for v in reversed(spec.versions)]
        for entry in data.get("entries", {}).get(spec.name, []):
            published = LATEST_PUBLISHED - PUBLISHED_EVERY * order.index(entry["version"])
            entry["created"] = published.strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    index.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, with request logs sent to `logging` instead of stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("chart repo: " + format, *args)


class ChartRepoServer:
    """Serve a chart repository directory on 127.0.0.1:<free port> from a daemon thread.

    The server only reads files at request time, so it can be started before the index
    exists; that is how an index with absolute URLs for this very server is built.
    """

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = Path(directory).resolve()
        self._address = (host, port)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ChartRepoServer:
        if self._server is not None:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=os.fspath(self.directory))
        server = http.server.ThreadingHTTPServer(self._address, handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="ekslift-chart-repo", daemon=True
        )
        self._thread.start()
        logger.info("serving chart repository %s at %s", self.directory, self.url)
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("ChartRepoServer is not started; call start() first")
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # a bound AF_INET address is text; the stubs allow bytes
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> ChartRepoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_chart_repo(out_dir: Path, helm: Helm) -> ChartRepoServer:
    """Start a server on `out_dir`, then build the repository indexed at the server's URL."""
    server = ChartRepoServer(out_dir).start()
    try:
        build_chart_repo(out_dir, helm, url=server.url)
    except BaseException:
        server.stop()
        raise
    return server

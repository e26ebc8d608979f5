"""The sandbox chart repository: built by helm, served over HTTP, versions that matter."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ekslift.charts.helm import Helm
from ekslift_sandbox.chartrepo import (
    PINNED_CURRENT,
    PINNED_EXTENSIONS_INGRESS,
    PINNED_LEGACY,
    SANDBOX_CHARTS,
    ChartRepoServer,
    ChartSpec,
    ChartVersionSpec,
    build_chart_repo,
    serve_chart_repo,
)

REMOVED = {
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("extensions/v1beta1", "Ingress"),
    ("batch/v1beta1", "CronJob"),
}
# What a 1.30 cluster serves, at resource level, for the charts' `.Capabilities` checks.
SERVED = ["policy/v1/PodDisruptionBudget", "autoscaling/v2/HorizontalPodAutoscaler"]


@pytest.fixture(scope="module")
def served(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartRepoServer]:
    """The whole repository, indexed with absolute URLs of the server that serves it."""
    server = serve_chart_repo(tmp_path_factory.mktemp("repo"), helm)
    helm.repo_add("sandbox", server.url)
    yield server
    server.stop()


def _all_versions() -> list[tuple[ChartSpec, ChartVersionSpec]]:
    return [(spec, version) for spec in SANDBOX_CHARTS for version in spec.versions]


def _target_for(version: ChartVersionSpec) -> str:
    """A Kubernetes version each chart version accepts (one old one only runs below 1.25)."""
    return "1.24.0" if version.kube_version == "<1.25.0-0" else "1.30.0"


def test_catalogue_shape() -> None:
    names = [spec.name for spec in SANDBOX_CHARTS]
    assert len(names) == len(set(names)) >= 20
    assert all(2 <= len(spec.versions) <= 5 for spec in SANDBOX_CHARTS)
    constrained = [v.kube_version for _, v in _all_versions() if v.kube_version]
    assert ">=1.29.0-0" in constrained
    assert "<1.25.0-0" in constrained


def test_every_version_is_searchable(helm: Helm, served: ChartRepoServer) -> None:
    for spec in SANDBOX_CHARTS:
        found = helm.search_versions(f"sandbox/{spec.name}")
        assert sorted(v.version for v in found) == sorted(v.version for v in spec.versions)
        latest = found[0]
        assert (latest.version, latest.app_version) == (
            spec.latest.version,
            spec.latest.app_version,
        )


def test_index_is_served_with_absolute_urls(served: ChartRepoServer) -> None:
    with urllib.request.urlopen(f"{served.url}/index.yaml", timeout=10) as response:
        index = yaml.safe_load(response.read())
    (entry,) = [e for e in index["entries"]["photo-api"] if e["version"] == "1.4.2"]
    assert entry["urls"] == [f"{served.url}/photo-api-1.4.2.tgz"]


@pytest.mark.slow
def test_removed_apis_only_where_pinned(helm: Helm, served: ChartRepoServer) -> None:
    """Old versions render removed APIs; every other version renders none on a 1.30 target."""

    def removed_in(job: tuple[ChartSpec, ChartVersionSpec]) -> set[tuple[str, str]]:
        spec, version = job
        out = helm.template(
            f"sandbox/{spec.name}",
            release_name=spec.name,
            namespace="default",
            version=version.version,
            kube_version=_target_for(version),
            api_versions=SERVED,
        )
        docs = [d for d in yaml.safe_load_all(out) if isinstance(d, dict)]
        return {(d["apiVersion"], d["kind"]) for d in docs} & REMOVED

    jobs = _all_versions()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(removed_in, jobs))
    for (spec, version), removed in zip(jobs, results, strict=True):
        legacy = dict(version.api_versions) in (PINNED_LEGACY, PINNED_EXTENSIONS_INGRESS)
        psp = bool(version.values.get("podSecurityPolicy"))
        label = f"{spec.name} {version.version}"
        assert bool(removed) == (legacy or psp), f"{label}: {removed}"
    assert sum(1 for removed in results if removed) >= 20


def test_latest_versions_pin_current_apis() -> None:
    for spec in SANDBOX_CHARTS:
        assert dict(spec.latest.api_versions) == PINNED_CURRENT, spec.name


def test_relative_index_is_relocatable(helm: Helm, served: ChartRepoServer, tmp_path: Path) -> None:
    """Indexed without a URL, the same archives are served from another address."""
    repo = tmp_path / "relocated"
    repo.mkdir()
    for archive in served.directory.glob("*.tgz"):
        (repo / archive.name).symlink_to(archive)
    (repo / ".ekslift-build.json").write_bytes(
        (served.directory / ".ekslift-build.json").read_bytes()
    )
    build_chart_repo(repo, helm)  # archives are current: only the index is rewritten
    assert all(p.is_symlink() for p in repo.glob("*.tgz"))
    index = yaml.safe_load((repo / "index.yaml").read_text())
    assert (
        index["entries"]["feed"][0]["urls"][0]
        == f"feed-{index['entries']['feed'][0]['version']}.tgz"
    )
    with ChartRepoServer(repo) as other:
        helm.repo_add("relocated", other.url)
        archive = helm.pull("relocated/feed", "3.2.0", tmp_path / "pulled")
    assert archive.name == "feed-3.2.0.tgz"


def test_rebuild_is_skipped_when_nothing_changed(helm: Helm, served: ChartRepoServer) -> None:
    index = served.directory / "index.yaml"
    before = index.stat().st_mtime_ns
    archive = served.directory / "feed-3.2.0.tgz"
    archive_before = archive.stat().st_mtime_ns
    build_chart_repo(served.directory, helm, url=served.url)
    assert index.stat().st_mtime_ns == before
    assert archive.stat().st_mtime_ns == archive_before


def test_server_lifecycle(tmp_path: Path) -> None:
    (tmp_path / "index.yaml").write_text("apiVersion: v1\nentries: {}\n")
    server = ChartRepoServer(tmp_path)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
    server.start()
    url = server.url
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{url}/index.yaml", timeout=10) as response:
        assert b"entries" in response.read()
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/index.yaml", timeout=2)

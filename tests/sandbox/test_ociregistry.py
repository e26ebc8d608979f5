"""The sandbox's OCI registry: a real one, charts pushed with helm, versions from its tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from ekslift.chartdiff.repos import ChartSources, RepositoryError
from ekslift.charts.helm import Helm
from ekslift_sandbox import ociregistry
from ekslift_sandbox.chartrepo import chart_spec, render_chart


def test_without_the_binary_the_sandbox_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ociregistry, "binary", lambda: None)
    assert ociregistry.start_if_installed(tmp_path) is None


def test_push_then_list_pull_and_stop(helm: Helm, tmp_path: Path) -> None:
    if ociregistry.binary() is None:
        pytest.skip("docker-registry is not installed (CI installs it)")
    registry = ociregistry.OciRegistry(tmp_path / "oci").start()
    try:
        spec = chart_spec("albums")
        for version in spec.versions:
            chart = render_chart(spec, version, tmp_path / f"build-{version.version}")
            helm.push(helm.package(chart, tmp_path / "dist"), registry.url, plain_http=True)
        sources = ChartSources(tmp_path / "cache", helm, plain_http=frozenset({registry.host}))
        entries = sources.oci_versions(registry.url, "albums")
        assert sorted(e.version for e in entries) == ["1.0.0", "1.1.0", "1.2.0"]
        assert all(e.created and e.digest and e.app_version for e in entries)
        assert sources.oci_versions(registry.url, "no-such-chart") == []
        archive = sources.archive(next(e for e in entries if e.version == "1.2.0"))
        assert archive.is_file()
    finally:
        registry.stop()
    with pytest.raises(RepositoryError) as raised:
        ChartSources(tmp_path / "cache2", helm, plain_http=frozenset({registry.host})).oci_versions(
            registry.url, "albums"
        )
    assert raised.value.unreachable, "a stopped registry is unreachable, never 'no versions'"

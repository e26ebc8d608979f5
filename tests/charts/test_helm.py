"""The Helm wrapper against the real helm binary and a small locally served repository."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ekslift.charts.helm import Helm, HelmError
from ekslift_sandbox.chartrepo import ChartRepoServer, chart_spec, render_chart

CHARTS = ("photo-api", "cluster-autoscaler")
SECRET = "pw-do-not-leak-4711"


def _api_versions(manifest: str) -> dict[str, str]:
    """kind -> apiVersion of the documents of a rendered manifest."""
    docs = [d for d in yaml.safe_load_all(manifest) if isinstance(d, dict)]
    return {d["kind"]: d["apiVersion"] for d in docs}


@pytest.fixture(scope="module")
def repo(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two charts in every version, indexed with relative URLs, served and added as `sandbox`."""
    out = tmp_path_factory.mktemp("repo")
    src = tmp_path_factory.mktemp("src")
    for name in CHARTS:
        spec = chart_spec(name)
        for version in spec.versions:
            helm.package(render_chart(spec, version, src / f"{name}-{version.version}"), out)
    helm.repo_index(out)
    with ChartRepoServer(out) as server:
        helm.repo_add("sandbox", server.url)
        yield server.url


def test_version(helm: Helm) -> None:
    assert helm.version().startswith("v")


def test_home_is_isolated(
    helm: Helm, repo: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    operator_repos = tmp_path / "operator-repositories.yaml"
    monkeypatch.setenv("HELM_REPOSITORY_CONFIG", str(operator_repos))
    isolated = Helm(tmp_path / "home", binary=helm.binary)
    isolated.repo_add("mine", repo)
    assert (tmp_path / "home" / "config" / "repositories.yaml").is_file()
    assert not operator_repos.exists()


def test_search_versions_lists_every_version(helm: Helm, repo: str) -> None:
    spec = chart_spec("photo-api")
    found = helm.search_versions("sandbox/photo-api")
    assert [v.version for v in found] == [v.version for v in reversed(spec.versions)]
    assert {v.app_version for v in found} == {v.app_version for v in spec.versions}
    # Substring matches of other charts are not returned.
    assert helm.search_versions("sandbox/photo") == []


def test_template_old_version_uses_removed_apis(helm: Helm, repo: str) -> None:
    out = helm.template(
        "sandbox/photo-api", release_name="api", namespace="photos", version="1.4.2"
    )
    apis = _api_versions(out)
    assert apis["PodDisruptionBudget"] == "policy/v1beta1"
    assert apis["HorizontalPodAutoscaler"] == "autoscaling/v2beta2"
    assert apis["Ingress"] == "networking.k8s.io/v1beta1"


def test_template_new_version_uses_replacements(helm: Helm, repo: str) -> None:
    out = helm.template(
        "sandbox/photo-api", release_name="api", namespace="photos", version="2.0.1"
    )
    apis = _api_versions(out)
    assert apis["PodDisruptionBudget"] == "policy/v1"
    assert apis["HorizontalPodAutoscaler"] == "autoscaling/v2"
    assert apis["Ingress"] == "networking.k8s.io/v1"


def test_capabilities_version_depends_on_api_versions(helm: Helm, repo: str) -> None:
    """Helm's built-in API list lacks resource-level entries: the scan must pass them."""
    args = {"release_name": "api", "namespace": "photos", "version": "1.6.0"}
    default = _api_versions(helm.template("sandbox/photo-api", **args))
    assert default["PodDisruptionBudget"] == "policy/v1beta1"
    served = ["policy/v1/PodDisruptionBudget", "autoscaling/v2/HorizontalPodAutoscaler"]
    told = _api_versions(helm.template("sandbox/photo-api", api_versions=served, **args))
    assert told["PodDisruptionBudget"] == "policy/v1"
    assert told["HorizontalPodAutoscaler"] == "autoscaling/v2"
    old = _api_versions(helm.template("sandbox/photo-api", kube_version="1.18.0", **args))
    assert old["Ingress"] == "networking.k8s.io/v1beta1"


@pytest.mark.parametrize(
    ("chart", "version", "kube_version", "allowed"),
    [
        ("photo-api", "2.1.0", "1.28.9", False),
        ("photo-api", "2.1.0", "1.29.0", True),
        ("cluster-autoscaler", "9.10.7", "1.25.0", False),
        ("cluster-autoscaler", "9.10.7", "1.24.17", True),
        ("cluster-autoscaler", "9.37.0", "1.31.0", False),
        ("cluster-autoscaler", "9.37.0", "1.30.4", True),
    ],
)
def test_kube_version_constraint_enforced(
    helm: Helm, repo: str, chart: str, version: str, kube_version: str, allowed: bool
) -> None:
    def render() -> str:
        return helm.template(
            f"sandbox/{chart}",
            release_name=chart,
            namespace="kube-system",
            version=version,
            kube_version=kube_version,
        )

    if allowed:
        assert "kind: Deployment" in render()
    else:
        with pytest.raises(HelmError, match="kubeVersion"):
            render()


def test_values_never_in_errors_and_file_removed(helm: Helm, repo: str) -> None:
    with pytest.raises(HelmError) as excinfo:
        helm.template(
            "sandbox/photo-api",
            release_name="api",
            namespace="photos",
            version="2.1.0",
            values={"secret": {"password": SECRET}},
            kube_version="1.20.0",
        )
    err = excinfo.value
    assert SECRET not in str(err)
    assert SECRET not in " ".join(err.command)
    values_path = Path(err.command[err.command.index("--values") + 1])
    assert not values_path.exists()
    assert "kubeVersion" in err.stderr


def test_template_with_values(helm: Helm, repo: str) -> None:
    out = helm.template(
        "sandbox/photo-api",
        release_name="api",
        namespace="photos",
        version="2.0.1",
        values={"replicaCount": 1, "autoscaling": {"enabled": False}},
    )
    assert "replicas: 1" in out
    assert "HorizontalPodAutoscaler" not in out


def test_template_by_repo_url(helm: Helm, repo: str) -> None:
    """Argo CD style: chart name plus repository URL, no `repo add` needed."""
    out = helm.template(
        "cluster-autoscaler",
        repo_url=repo,
        version="9.29.1",
        release_name="ca",
        namespace="kube-system",
    )
    assert "registry.example.com/cluster-autoscaler:1.27.2" in out


def test_pull_and_show_chart(helm: Helm, repo: str, tmp_path: Path) -> None:
    archive = helm.pull("sandbox/photo-api", "1.6.0", tmp_path / "charts")
    assert archive == tmp_path / "charts" / "photo-api-1.6.0.tgz"
    assert archive.is_file()
    meta = helm.show_chart("sandbox/photo-api", "2.1.0")
    assert meta["kubeVersion"] == ">=1.29.0-0"
    assert meta["appVersion"] == "4.1.0"
    assert helm.show_chart(str(archive))["version"] == "1.6.0"


def test_missing_chart_version_is_a_helm_error(helm: Helm, repo: str, tmp_path: Path) -> None:
    with pytest.raises(HelmError) as excinfo:
        helm.pull("sandbox/photo-api", "9.9.9", tmp_path)
    assert "9.9.9" in str(excinfo.value)
    assert excinfo.value.returncode not in (0, None)


def test_install_dry_run_record(helm: Helm, tmp_path: Path) -> None:
    spec = chart_spec("photo-api")
    chart_dir = render_chart(spec, spec.versions[0], tmp_path)
    record = helm.install_dry_run_record(
        str(chart_dir), "api", "photos", {"secret": {"password": SECRET}}, "1.24.0"
    )
    assert record["name"] == "api"
    assert record["namespace"] == "photos"
    assert record["version"] == 1
    assert record["config"] == {"secret": {"password": SECRET}}
    assert record["chart"]["metadata"]["version"] == "1.4.2"
    assert "kind: PodDisruptionBudget" in record["manifest"]


def test_install_dry_run_record_enforces_kube_version(helm: Helm, tmp_path: Path) -> None:
    spec = chart_spec("photo-api")
    chart_dir = render_chart(spec, spec.latest, tmp_path)
    with pytest.raises(HelmError, match="kubeVersion"):
        helm.install_dry_run_record(str(chart_dir), "api", "photos", None, "1.28.0")


def test_timeout_is_reported(helm: Helm, tmp_path: Path) -> None:
    slow = tmp_path / "slow-helm"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(HelmError, match="timed out"):
        Helm(tmp_path / "home", binary=slow, timeout=0.2).version()


def test_helm_error_names_command(helm: Helm) -> None:
    with pytest.raises(HelmError) as excinfo:
        helm.run("show", "chart", os.fspath(Path("/nonexistent/chart")))
    assert "helm" in str(excinfo.value)
    assert "/nonexistent/chart" in str(excinfo.value)

"""find_binary: which helm/kubectl ekslift runs, and which it refuses."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ekslift import tools


def _fake_kubectl(directory: Path, git_version: str) -> Path:
    """A script answering `kubectl version --client -o json` like the real binary."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo \'{{"clientVersion": {{"major": "1", "gitVersion": "{git_version}"}}}}\'\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _fake_helm(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "helm"
    script.write_text("#!/bin/sh\necho v4.1.4\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def no_checkout_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the checkout's `.tools/bin` at an empty directory and clear the overrides."""
    empty = tmp_path / "no-tools"
    monkeypatch.setattr(tools, "default_tools_dir", lambda: empty)
    for var in tools.ENV_OVERRIDES.values():
        monkeypatch.delenv(var, raising=False)
    return empty


def test_env_override_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_checkout_tools: Path
) -> None:
    fake = _fake_kubectl(tmp_path / "custom", "v1.20.0")
    monkeypatch.setenv("EKSLIFT_KUBECTL", str(fake))
    # An explicit override is trusted even when old: the person asked for that binary.
    assert tools.find_binary("kubectl") == fake


def test_env_override_pointing_nowhere_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_checkout_tools: Path
) -> None:
    monkeypatch.setenv("EKSLIFT_HELM", str(tmp_path / "missing-helm"))
    with pytest.raises(tools.ToolError, match="EKSLIFT_HELM"):
        tools.find_binary("helm")


def test_checkout_tools_dir_before_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_checkout_tools: Path
) -> None:
    local = _fake_helm(no_checkout_tools)
    _fake_helm(tmp_path / "path-bin")
    monkeypatch.setenv("PATH", str(tmp_path / "path-bin"))
    assert tools.find_binary("helm") == local


def test_old_kubectl_on_path_is_rejected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_checkout_tools: Path
) -> None:
    _fake_kubectl(tmp_path / "path-bin", "v1.23.17")
    monkeypatch.setenv("PATH", str(tmp_path / "path-bin"))
    with pytest.raises(tools.ToolError, match="make tools"):
        tools.find_binary("kubectl")


def test_current_kubectl_on_path_is_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_checkout_tools: Path
) -> None:
    fake = _fake_kubectl(tmp_path / "path-bin", "v1.31.2-eks-1")
    monkeypatch.setenv("PATH", str(tmp_path / "path-bin"))
    assert tools.find_binary("kubectl") == fake


def test_missing_helm_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_checkout_tools: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    with pytest.raises(tools.ToolError) as excinfo:
        tools.find_binary("helm")
    message = str(excinfo.value)
    assert "make tools" in message
    assert "EKSLIFT_HELM" in message


def test_unknown_tool() -> None:
    with pytest.raises(ValueError, match="unknown tool"):
        tools.find_binary("kustomize")


def test_binary_version_of_a_broken_binary(tmp_path: Path) -> None:
    broken = tmp_path / "helm"
    broken.write_text("#!/bin/sh\nexit 7\n")
    broken.chmod(0o755)
    assert tools.binary_version(broken, "helm") is None


def test_fetch_keeps_working_binaries(tmp_path: Path) -> None:
    """Idempotence: binaries that run are kept, so nothing is downloaded."""
    _fake_helm(tmp_path)
    _fake_kubectl(tmp_path, "v1.35.2")
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    paths = tools.fetch_binaries(tmp_path)
    assert paths == {"helm": tmp_path / "helm", "kubectl": tmp_path / "kubectl"}
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_fetch_if_missing_keeps_the_binaries_found_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_checkout_tools: Path, capsys
) -> None:
    bin_dir = tmp_path / "bin"
    _fake_helm(bin_dir)
    _fake_kubectl(bin_dir, "v1.34.1")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(tools, "fetch_binaries", lambda *a, **k: pytest.fail("downloaded"))
    assert tools.main(["fetch", "--if-missing", "--dest", str(tmp_path / "dest")]) == 0
    assert f"helm: {bin_dir / 'helm'}" in capsys.readouterr().out

"""Known answers, checked end to end through ``ekslift scan`` and its pluto exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ekslift.cli import main

FLOWSCHEMA_V1BETA2 = (
    "apiVersion: flowcontrol.apiserver.k8s.io/v1beta2\nkind: FlowSchema\n"
    "metadata: {name: team}\nspec: {priorityLevelConfiguration: {name: workload-low}}\n"
)


@pytest.mark.parametrize("target", ["1.26", "1.27", "1.28"])
def test_flowcontrol_v1beta2_is_deprecated_with_a_served_replacement(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """v1beta3 is served from 1.26: exit 2 (deprecated), not 4 (replacement unavailable)."""
    manifest = tmp_path / "flowschema.yaml"
    manifest.write_text(FLOWSCHEMA_V1BETA2)
    assert main(["scan", str(manifest), "-t", target, "-o", "json"]) == 2
    assert "flowcontrol.apiserver.k8s.io/v1beta3" in capsys.readouterr().out


def test_flowcontrol_v1beta2_is_removed_in_1_29(tmp_path: Path) -> None:
    manifest = tmp_path / "flowschema.yaml"
    manifest.write_text(FLOWSCHEMA_V1BETA2)
    assert main(["scan", str(manifest), "-t", "1.29"]) == 3


def test_unknown_target_names_the_newest_known_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "flowschema.yaml"
    manifest.write_text(FLOWSCHEMA_V1BETA2)
    assert main(["scan", str(manifest), "-t", "1.99"]) == 1
    err = capsys.readouterr().err
    assert "known up to 1.37" in err
    assert "add facts for newer versions with --facts FILE" in err


def test_list_versions_knows_1_37_and_marks_announced_removals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scan", "--list-versions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:1] == ["1.37"] and "announced" not in line for line in lines)
    assert any(line.split()[:1] == ["1.38"] and "announced" in line for line in lines)

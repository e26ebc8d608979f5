"""The layers in `.importlinter` hold today, and the lint fails when a change breaks them.

Each case copies the library to a temporary folder, adds one forbidden import and runs
`lint-imports` on the copy: a contract that cannot fail would pass these silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(lib: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(lib)}
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / ".importlinter"), "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=lib,
        check=False,
        timeout=120,
    )


@pytest.fixture
def lib_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "lib", tmp_path / "lib", ignore=shutil.ignore_patterns("*.egg-info"))
    return tmp_path / "lib"


def add_import(module: Path, line: str) -> None:
    module.write_text(module.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_layers_hold_today(lib_copy: Path) -> None:
    result = lint(lib_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "ekslift/apiscan/sources/live.py",
            "import ekslift.apiscan.cli  # noqa",
            "Scan sources do not import the CLI",
        ),
        (
            "ekslift/apiscan/contract.py",
            "import ekslift.apiscan.sources.live  # noqa",
            "plug-in contract imports neither",
        ),
        ("ekslift/kube.py", "import ekslift_sandbox.control  # noqa", "never imports the sandbox"),
        ("ekslift/apiscan/judge.py", "import ekslift.inventory.eks  # noqa", "steps never import"),
        ("ekslift/gate.py", "import ekslift.runner  # noqa", "CLI above runner above steps"),
        (
            "ekslift/inventory/judge.py",
            "import ekslift.readiness.check  # noqa",
            "CLI above runner above steps",
        ),
        (
            "ekslift/apiscan/judge.py",
            "import ekslift.chartdiff.models  # noqa",
            "CLI above runner above steps",
        ),
        (
            "ekslift/chartdiff/judge.py",
            "import ekslift.readiness.check  # noqa",
            "CLI above runner above steps",
        ),
        ("ekslift/traffic/plan.py", "import ekslift.chartdiff.models  # noqa", "imports step 3"),
    ],
)
def test_a_forbidden_import_breaks_the_lint(
    lib_copy: Path, module: str, line: str, contract: str
) -> None:
    add_import(lib_copy / module, line)
    result = lint(lib_copy)
    assert result.returncode != 0
    assert contract in result.stdout
    assert "BROKEN" in result.stdout

"""Fixtures shared by the test folders (the sandbox fixtures live in the root conftest.py)."""

from __future__ import annotations

import os

import pytest

from ekslift.charts.helm import Helm
from ekslift.tools import ToolError


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """The real helm binary with an isolated home; in CI (`make` installs it) never skipped."""
    try:
        return Helm(tmp_path_factory.mktemp("helm-home"))
    except ToolError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the helm binary (make tools): {exc}")
        pytest.skip(f"needs the real helm binary (make tools): {exc}")

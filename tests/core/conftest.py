"""The core tests' shared demo run (tests/core/demo.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.core.demo import DemoOnS3, run_demo_on_s3


@pytest.fixture(scope="session")
def demo_on_s3(
    sandbox: Any, approve_demo: Callable[..., None], tmp_path_factory: pytest.TempPathFactory
) -> DemoOnS3:
    """One full demo per session, archived to the sandbox's S3 (Object Lock): the demo
    tests read its working copy, the audit tests its archive and its request logs."""
    archive = sandbox.env["EKSLIFT_SANDBOX_ARCHIVE"]
    approve_demo(EKSLIFT_ARCHIVE_DIR=archive)  # the approval lives in that archive too
    return run_demo_on_s3(sandbox, archive, tmp_path_factory.mktemp("staging"))

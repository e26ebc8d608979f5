"""Test-session plumbing shared by `tests/` and the notebooks run under nbval.

The sandbox runs as its own process (notebook kernels must reach it over HTTP), started
once per session, only if a collected test needs it, and always stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ekslift_sandbox import control

_state: dict[str, object] = {}


def _sandbox() -> control.SandboxState:
    if "state" not in _state:
        directory = Path(tempfile.mkdtemp(prefix="ekslift-test-sandbox-"))
        state = control.up(directory)
        _state.update(state=state, dir=directory)
        archive = Path(tempfile.mkdtemp(prefix="ekslift-test-runs-"))
        _state["archive"] = archive
        os.environ.update(state.env)
        os.environ["EKSLIFT_ARCHIVE_DIR"] = str(archive)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(name, None)
        _approve_demo()
        _guard_demo()
    return _state["state"]


@pytest.fixture(scope="session")
def approve_demo() -> Callable[..., None]:
    """Approve params/demo.yaml again, with other settings (`EKSLIFT_ARCHIVE_DIR` on S3)."""
    return _approve_demo


def _approve_demo(**settings: str) -> None:
    """The demo's traffic shift writes, so someone other than the operator approves it, as
    `make demo` does: the sandbox's `approver` user, through the CLI. The record goes where
    the parameters' archive is."""
    env = {
        **os.environ,
        **settings,
        "AWS_ACCESS_KEY_ID": os.environ["EKSLIFT_SANDBOX_APPROVER_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["EKSLIFT_SANDBOX_APPROVER_SECRET_ACCESS_KEY"],
    }
    for name in ("AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"):
        env.pop(name, None)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ekslift.cli",
            "shift",
            "approve",
            "--params",
            "params/demo.yaml",
            "--comment",
            "test session",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )  # type: ignore[return-value]


def _guard_demo() -> None:
    """Step 4 starts only with the guard's heartbeat fresh and its self-test passed: one
    pass, as `make demo` runs it (the sandbox's stand-in for the guard CronJob)."""
    subprocess.run(
        [sys.executable, "-m", "ekslift.cli", "shift", "guard", "--params", "params/demo.yaml"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The kind of a test is said by its markers: one that needs the sandbox must say so, so
    `-m "not sandbox"` really runs without it."""
    unmarked = [
        item.nodeid
        for item in items
        if {"sandbox", "archive_dir"} & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("sandbox") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests that use the sandbox must be marked @pytest.mark.sandbox: "
            + ", ".join(unmarked[:10])
        )


# Files whose tests share one expensive session fixture (the full demo run archived to S3).
_SHARED_SCOPES = {
    "tests/core/test_demo_run.py": "demo-on-s3",
    "tests/core/test_audit_run.py": "demo-on-s3",
}


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs the suite on parallel workers (pytest-xdist), each with a sandbox of
    its own. A file stays whole on one worker, since its module fixtures seed estates and its
    notebook cells share one kernel; the files that share the session's demo run stay
    together, so it runs once. (xdist's own `loadgroup` marks do not reach pytest 9's node
    ids, hence a scheduler.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return _SHARED_SCOPES.get(path, path)

    return ByFile(config, log)


# The notebook whose cells shift the demo's ALBs (step 4 writes, as in `make demo`).
_SHIFTING_NOTEBOOK = "04-traffic-shift.ipynb"
_weights_saved = ExitStack()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Around notebook 04's cells, the sandbox's listeners and rules are saved and then put
    back as seeded: the worker's other tests judge the seeded state (cutover readiness at
    the next share), whatever order the workers run the files in."""
    shifting = item.path.name == _SHIFTING_NOTEBOOK
    if shifting and item.name == "Cell 0":
        from tests.core.demo import weights_put_back

        _weights_saved.enter_context(weights_put_back())
    yield
    if shifting and (nextitem is None or nextitem.path != item.path):
        _weights_saved.close()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Notebook cells cannot take fixtures: start the sandbox before their kernels start."""
    if any(str(item.fspath).endswith(".ipynb") for item in session.items):
        _sandbox()


def pytest_unconfigure(config: pytest.Config) -> None:
    if "dir" in _state:
        control.down(_state["dir"])  # type: ignore[arg-type]
        shutil.rmtree(_state["dir"], ignore_errors=True)  # type: ignore[arg-type]
        shutil.rmtree(_state["archive"], ignore_errors=True)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sandbox() -> control.SandboxState:
    """The running sandbox; its environment (AWS endpoint, KUBECONFIG...) is exported."""
    return _sandbox()


@pytest.fixture(scope="session")
def archive_dir(sandbox: control.SandboxState) -> Path:
    return Path(os.environ["EKSLIFT_ARCHIVE_DIR"])

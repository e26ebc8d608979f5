"""`ekslift sandbox up|down|status|env`: the sandbox as a background process.

The sandbox must outlive the command that starts it (notebooks run in their own kernels and
CI runs several commands against it), so `up` starts a detached daemon in its own process
group and waits until it reports ready in `state.json`; `down` ends the whole group, so no
server (nor Prometheus) is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ekslift.pids import alive

STATE = "state.json"
LOG = "daemon.log"
READY_TIMEOUT_S = 180.0


class SandboxError(Exception):
    """The sandbox could not start or stop; the message says where its log is."""


class SandboxState(BaseModel):
    """What a running sandbox tells its users: processes, endpoints and environment."""

    pid: int
    scale: str
    scenario: str
    started_at: str
    aws_endpoint: str
    kubeconfig: str
    chart_repo_url: str
    prometheus_url: str | None = None
    kube_servers: dict[str, str]
    env: dict[str, str]


def read_state(state_dir: Path) -> SandboxState | None:
    path = state_dir / STATE
    if not path.exists():
        return None
    state = SandboxState.model_validate_json(path.read_text(encoding="utf-8"))
    if not alive(state.pid):
        path.unlink(missing_ok=True)
        return None
    return state


def up(state_dir: Path, *, scale: str = "small", scenario: str = "healthy") -> SandboxState:
    """Start the daemon (or return the one already running with the same settings)."""
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    running = read_state(state_dir)
    if running is not None:
        if (running.scale, running.scenario) == (scale, scenario):
            return running
        raise SandboxError(
            f"a sandbox ({running.scale}, {running.scenario}) already runs from {state_dir}; "
            "`ekslift sandbox down` first"
        )
    log_path = state_dir / LOG
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ekslift_sandbox.daemon",
                "--dir",
                str(state_dir),
                "--scale",
                scale,
                "--scenario",
                scenario,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _stop_group(process.pid)  # what it started (Prometheus) may outlive it
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SandboxError(f"the sandbox exited with {process.returncode}; {log_path}:\n{tail}")
        state = read_state(state_dir)
        if state is not None and state.pid == process.pid:
            return state
        time.sleep(0.2)
    _stop_group(process.pid)
    raise SandboxError(f"the sandbox was not ready after {READY_TIMEOUT_S:.0f} s; see {log_path}")


def _stop_group(pid: int, grace_s: float = 15.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def down(state_dir: Path) -> bool:
    state_dir = state_dir.resolve()
    state = read_state(state_dir)
    if state is None:
        return False
    _stop_group(state.pid)
    (state_dir / STATE).unlink(missing_ok=True)
    return True


def status(state_dir: Path) -> dict[str, Any]:
    state = read_state(state_dir.resolve())
    if state is None:
        return {"running": False, "dir": str(state_dir)}
    return {"running": True, **json.loads(state.model_dump_json(exclude={"env"}))}


def shell_env(state_dir: Path) -> str:
    """`export` lines for `eval "$(ekslift sandbox env)"` (the demo credentials are fake)."""
    state = read_state(state_dir.resolve())
    if state is None:
        raise SandboxError(f"no sandbox runs from {state_dir}; start it with `ekslift sandbox up`")
    lines = [f"export {key}={_quote(value)}" for key, value in sorted(state.env.items())]
    lines.append("unset AWS_PROFILE AWS_SESSION_TOKEN")
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"

"""`ekslift sandbox up|status|env|down`: a second sandbox, started and stopped cleanly."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ekslift_sandbox import control

pytestmark = pytest.mark.sandbox
EKSLIFT = str(Path(".venv/bin/ekslift").resolve())


def listening(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parsed.hostname, parsed.port)) == 0


def test_up_env_status_down_leaves_nothing_running(tmp_path: Path) -> None:
    directory = tmp_path / "sbx"
    up = subprocess.run(
        [EKSLIFT, "sandbox", "up", "--dir", str(directory)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert up.returncode == 0, up.stderr
    state = control.read_state(directory)
    assert state is not None
    urls = [state.aws_endpoint, state.chart_repo_url, *state.kube_servers.values()]
    assert all(listening(u) for u in urls)
    assert control.up(directory) == state, "up is idempotent with the same settings"
    with pytest.raises(control.SandboxError, match="already runs"):
        control.up(directory, scale="large")

    env = subprocess.run(
        [EKSLIFT, "sandbox", "env", "--dir", str(directory)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"export AWS_ENDPOINT_URL='{state.aws_endpoint}'" in env
    assert "export KUBECONFIG=" in env and "EKSLIFT_SANDBOX_APNE1_LISTENER_ARN" in env
    status = subprocess.run(
        [EKSLIFT, "sandbox", "status", "--dir", str(directory)], capture_output=True, text=True
    )
    assert status.returncode == 0 and '"running": true' in status.stdout

    down = subprocess.run(
        [EKSLIFT, "sandbox", "down", "--dir", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 0 and "sandbox stopped" in down.stdout
    assert not any(listening(u) for u in urls)
    with pytest.raises(ProcessLookupError):
        os.kill(state.pid, 0)
    status = subprocess.run(
        [EKSLIFT, "sandbox", "status", "--dir", str(directory)], capture_output=True, text=True
    )
    assert status.returncode == 3
    assert control.down(directory) is False

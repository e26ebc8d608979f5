"""The shift runs as its own process, never inside a notebook kernel or a terminal session.

`ekslift shift apply --detach` and notebook 04 start `ekslift shift apply` in a new
session (it survives the kernel, the terminal and the runner); its pid and log live in the
run's artefacts, so anyone can attach: read the state file, wait for the pid.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ekslift.atomic import write_text_atomic
from ekslift.pids import alive

PID_FILE = "shift.pid"
LOG_FILE = "shift.log"


def running_pid(artefacts: Path) -> int | None:
    path = artefacts / PID_FILE
    if not path.exists():
        return None
    pid = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
    return pid if alive(pid) else None


def start_detached(
    params_path: Path, run_dir: Path, artefacts: Path, *, apply: bool, region: str | None = None
) -> int:
    """Start `ekslift shift apply` in its own session, or return the pid already running."""
    pid = running_pid(artefacts)
    if pid is not None:
        return pid
    command = [
        sys.executable,
        "-m",
        "ekslift.cli",
        "shift",
        "apply",
        "--params",
        str(params_path),
        "--run-dir",
        str(run_dir),
    ]
    if apply:
        command.append("--apply")
    if region:
        command += ["--region", region]
    artefacts.mkdir(parents=True, exist_ok=True)
    with (artefacts / LOG_FILE).open("a", encoding="utf-8") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=Path.cwd(),
        )
    write_text_atomic(
        artefacts / PID_FILE,
        json.dumps(
            {"pid": process.pid, "started_at": datetime.now(UTC).isoformat(), "command": command}
        ),
    )
    return process.pid


def wait(artefacts: Path, seconds: float, poll: float = 1.0) -> bool:
    """Wait up to ``seconds`` for the shift process to end; True when it has."""
    deadline = time.monotonic() + seconds
    while (pid := running_pid(artefacts)) is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(poll, max(deadline - time.monotonic(), 0)))
    return pid is None

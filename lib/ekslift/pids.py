"""Whether a process recorded in a pid file still runs.

A detached shift, the sandbox daemon: each leaves its pid on disk and is later asked after
by another command. `kill(pid, 0)` answers "exists"; a child that exited but was not
waited for still exists as a zombie, so it is reaped here and counted as gone.
"""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # not our child: it exists and is not ours to reap
    return done == 0

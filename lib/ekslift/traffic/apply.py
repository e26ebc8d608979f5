"""`ekslift shift apply`: the guarded entry to the shift, whoever starts it (the CLI in CI,
a Kubernetes Job, the detached process notebook 04 starts).

Nothing is written unless the parameters say `apply: true` (or `--apply` is given),
another person's approval of this plan is valid, a prod run has a passing lower run
(``promotion``) and the guard is working (its heartbeat fresh, its
self-test passed); one process at a time holds the run's lock, and one shift at a time
holds a region's lease (``lease``).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ekslift.errors import InputError
from ekslift.params import UpgradeParams
from ekslift.traffic import STEP, promotion
from ekslift.traffic.approval import Identity, approval_problems, read_approval, record_for_run
from ekslift.traffic.checks import caller_arn, guard_problems
from ekslift.traffic.plan import region_order
from ekslift.traffic.present import write_history
from ekslift.traffic.shift import RegionOutcome, Services, Shift, default_services
from ekslift.traffic.state import STATE_FILE, StateLog

LOCK_FILE = "shift.lock"


def artefacts_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "artefacts" / STEP


def state_log(run_dir: Path) -> StateLog:
    return StateLog(artefacts_dir(run_dir) / STATE_FILE)


@contextmanager
def exclusive(run_dir: Path) -> Iterator[None]:
    """One shift process per run: a second one (a double click, a retried Job) is refused."""
    path = artefacts_dir(run_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InputError(
                f"another shift process holds {path}; attach to it (`ekslift shift status`)"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def operator_identity(params: UpgradeParams) -> Identity:
    return Identity.of(caller_arn(params.regions[0].name, params.aws.profile))


def apply_shift(
    params: UpgradeParams,
    params_path: Path,
    run_dir: Path,
    *,
    apply: bool = False,
    region: str | None = None,
    services: Services | None = None,
    install_signals: bool = False,
) -> list[RegionOutcome]:
    """Shift every region (or ``region``) after the guards; returns how each ended."""
    if not (apply or params.apply):
        raise InputError(
            "nothing was written: the shift only plans unless the parameters say `apply: true` "
            "or --apply is given"
        )
    operator = operator_identity(params)
    approval = read_approval(params)
    problems = approval_problems(params, Path(params_path), operator, datetime.now(UTC), approval)
    if problems or approval is None:
        raise InputError("the shift needs a valid approval: " + "; ".join(problems))
    unpromoted = promotion.blockers(promotion.check(params, Path(run_dir)))
    if unpromoted:
        raise InputError(
            "a prod shift needs the same change passed in a lower environment first: "
            + "; ".join(unpromoted)
        )
    now = datetime.now(UTC)
    unguarded = [
        problem
        for r in region_order(params)
        if region in (None, r.name)
        for problem in guard_problems(params, r, now)
    ]
    if unguarded:
        raise InputError(
            "the shift does not start without a working guard: " + "; ".join(unguarded)
        )
    services = services or default_services(params)
    with exclusive(run_dir):
        record_for_run(run_dir, approval, operator)
        state = state_log(run_dir)
        who = f"{operator} (pid {os.getpid()} on {socket.gethostname()})"
        shift = Shift(params, state, services, who, run_id=Path(run_dir).name)
        if install_signals:
            shift.install_signal_handlers()
        try:
            return shift.run(only=region)
        finally:
            write_history(artefacts_dir(run_dir), state.records())

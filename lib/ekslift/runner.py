"""Run the step notebooks in order with papermill, gate by gate, into a run archive.

The runner knows nothing about what a step checks: it finds `NN-name.ipynb` notebooks,
injects `params_path` and `run_dir`, and reads back the `results/<step>.json` each
notebook's gate wrote. That keeps the step logic in the library (tested) and the notebooks
thin, and lets a later issue add a step by adding a notebook.

The run directory is a local working copy; after each step (and at the end) the runner
hands what changed to the run's `ArchiveStore` (`ekslift.archive.archive_run`): nothing for
a local folder, an upload for S3. A secret found before that upload fails the run.

Each step's kernel gets ``EKSLIFT_STEP`` in its environment, so every AWS and Kubernetes
request it makes names the step in its user agent (`ekslift.useragent`).

Exit codes follow DESIGN.md (`ekslift.errors`): 0 pass or warn, 1 a gate failed, 2 bad
input, 3 tool error.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import papermill
import yaml
from papermill.exceptions import PapermillExecutionError

from ekslift import archive, aws
from ekslift.atomic import write_text_atomic
from ekslift.errors import EXIT_GATE, EXIT_PASS, EXIT_TOOL, InputError, SecretLeakError
from ekslift.gate import read_result
from ekslift.params import UpgradeParams, load_params, parse_params
from ekslift.stores import ArchiveStore, open_store
from ekslift.stores.s3 import is_s3_url
from ekslift.useragent import STEP_ENV

log = logging.getLogger(__name__)
_STEP_NAME = re.compile(r"^(\d{2})-[a-z0-9-]+\.ipynb$")
LOCK = ".run.lock"


class RunError(InputError):
    """A run that cannot start or continue (bad step name, locked run, unknown run dir)."""


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    notebook: Path


@dataclass(frozen=True)
class StepEvent:
    """What the CLI shows on the terminal as a run progresses."""

    index: int
    total: int
    step: str
    phase: str
    verdict: str | None = None
    seconds: float | None = None
    message: str = ""


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    exit_code: int
    manifest: archive.Manifest
    archive_url: str


def project_dir() -> Path:
    """The checkout the package runs from, where `notebooks/` lives (or the cwd)."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "notebooks").is_dir() else Path.cwd()


def default_notebooks_dir() -> Path:
    return Path(os.environ.get("EKSLIFT_NOTEBOOKS", project_dir() / "notebooks"))


def discover_steps(notebooks_dir: Path) -> list[Step]:
    steps = []
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        match = _STEP_NAME.match(path.name)
        if match:
            steps.append(Step(int(match.group(1)), path.stem, path))
    if not steps:
        raise RunError(f"no step notebooks (NN-name.ipynb) in {notebooks_dir}")
    return steps


def select_steps(steps: list[Step], only: str | None, start: str | None) -> list[Step]:
    def find(ref: str) -> int:
        for i, step in enumerate(steps):
            if ref in (step.name, f"{step.number:02d}", str(step.number), step.name[3:]):
                return i
        raise RunError(f"unknown step {ref!r}; steps are {', '.join(s.name for s in steps)}")

    if only:
        return [steps[find(only)]]
    if start:
        return steps[find(start) :]
    return steps


def _acquire_lock(run_dir: Path) -> None:
    lock = run_dir / LOCK
    if lock.exists():
        try:
            pid = int(lock.read_text().strip() or 0)
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            log.info("removing stale lock of a run that was killed: %s", lock)
        else:
            raise RunError(f"{run_dir} is being run by process {pid}; wait for it or stop it")
    write_text_atomic(lock, str(os.getpid()))


@contextmanager
def _step_environment(step: Step) -> Iterator[None]:
    """``EKSLIFT_STEP`` for the step's kernel (a child process inherits the environment)."""
    before = os.environ.get(STEP_ENV)
    os.environ[STEP_ENV] = step.name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(STEP_ENV, None)
        else:
            os.environ[STEP_ENV] = before


def _execute(step: Step, run_dir: Path, timeout: int) -> tuple[archive.StepStatus, str]:
    """Execute one notebook; returns (status, error message) — never raises for a step fault."""
    output = run_dir / "notebooks" / step.notebook.name
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _step_environment(step):
            papermill.execute_notebook(
                str(step.notebook),
                str(output),
                parameters={
                    "params_path": str(run_dir / archive.PARAMS_COPY),
                    "run_dir": str(run_dir),
                },
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout,
                cwd=str(Path.cwd()),
            )
    except PapermillExecutionError as exc:
        result = read_result(run_dir, step.name)
        if exc.ename == "GateFailed" and result is not None and result.verdict == "fail":
            return "failed", result.summary
        return "error", f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # a dead kernel or a missing kernelspec is a tool error, not a crash
        log.exception("step %s could not be executed", step.name)
        return "error", f"{type(exc).__name__}: {exc}"
    return "done", ""


def _finish_step(
    run_dir: Path,
    manifest: archive.Manifest,
    record: archive.StepRecord,
    status: archive.StepStatus,
    error: str,
) -> None:
    executed = run_dir / "notebooks" / f"{record.step}.ipynb"
    if executed.exists():
        archive.finalize_notebook(executed, run_dir / "html")
    result = read_result(run_dir, record.step)
    record.status = status
    record.finished_at = datetime.now(UTC)
    record.duration_s = round((record.finished_at - record.started_at).total_seconds(), 2)
    record.error = error
    if result is not None:
        record.verdict = result.verdict
        record.summary = result.summary
        manifest.waivers[record.step] = result.waivers
        manifest.approvals = [
            a for a in manifest.approvals if a.step != record.step
        ] + result.approvals
    elif status == "done":
        record.status = "error"
        record.error = f"the notebook finished without writing results/{record.step}.json"
    archive.save_manifest(run_dir, manifest)


def _store_of(params: UpgradeParams, archived_at: str) -> ArchiveStore:
    """The store a run is archived in, from the run's own location (`…/<run id>`)."""
    if is_s3_url(archived_at):
        location = archived_at.rstrip("/").rpartition("/")[0]
    else:
        location = str(Path(archived_at).parent)
    return open_store(location, params.archive, params.aws.profile)


def _resume(params_path: Path | None, resume: str | Path) -> tuple[ArchiveStore, Path]:
    """The working copy of a run to continue: a local run directory, or an archived run on
    S3 (`s3://bucket/prefix/<run id>`) downloaded into the staging folder first."""
    location = str(resume)
    if is_s3_url(location):
        parent, _, run_id = location.rstrip("/").rpartition("/")
        try:
            if params_path is None:  # the run's own parameters say where its copy goes
                copy = open_store(parent).read(run_id, archive.PARAMS_COPY)
                settings = parse_params(yaml.safe_load(copy), f"{location}/params.yaml").archive
            else:
                settings = load_params(params_path).archive
            run_dir = open_store(parent, settings).fetch(run_id)
        except FileNotFoundError as exc:
            raise RunError(f"{location} is not an archived run (no objects under it)") from exc
    else:
        run_dir = Path(location)
    if not (run_dir / archive.MANIFEST).exists():
        raise RunError(f"{location} is not a run directory (no {archive.MANIFEST})")
    manifest = archive.load_manifest(run_dir)
    if params_path is None:
        params = load_params(run_dir / archive.PARAMS_COPY, Path(manifest.params_dir))
    else:
        params = load_params(params_path)
    aws.configure_from(params.aws)
    recorded = manifest.storage.location if manifest.storage else ""
    # A local run is archived where it is now (it may have been moved); an S3 run where
    # its manifest says, whichever working copy continues it.
    archived_at = recorded if is_s3_url(recorded) else str(run_dir)
    return _store_of(params, archived_at), run_dir


def _prepare(
    params_path: Path | None, resume: str | Path | None, helm_version: str | None
) -> tuple[ArchiveStore, Path, archive.Manifest]:
    """The store, the run's working copy and its manifest; the parameters are validated
    before any file of the run is written or replaced, so bad input never leaves a
    half-updated archive."""
    if resume is not None:
        store, run_dir = _resume(params_path, resume)
        manifest = archive.load_manifest(run_dir)
        if params_path is not None:
            previous = run_dir / archive.PARAMS_COPY
            kept = run_dir / f"params.{len(manifest.params_history) + 1}.yaml"
            shutil.copyfile(previous, kept)
            manifest.params_history.append(kept.name)
            shutil.copyfile(params_path, previous)
            manifest.params_sha256 = archive.sha256_file(previous)
            manifest.params_dir = str(Path(params_path).parent.resolve())
        if manifest.storage is None:  # a run archived before stores recorded themselves
            manifest.storage = store.protection(run_dir.name)
        return store, run_dir, manifest
    if params_path is None:
        raise RunError("give --params FILE (or --resume RUN_DIR)")
    params = load_params(params_path)
    aws.configure_from(params.aws)
    store = open_store(params.archive_dir, params.archive, params.aws.profile)
    run_dir = archive.new_run_dir(store, params.name)
    shutil.copyfile(params_path, run_dir / archive.PARAMS_COPY)
    manifest = archive.start_manifest(
        run_dir,
        name=params.name,
        environment=params.environment,
        params_dir=Path(params_path).parent,
        project_dir=project_dir(),
        helm_version=helm_version,
        storage=store.protection(run_dir.name),
    )
    return store, run_dir, manifest


def _archive(store: ArchiveStore, run_dir: Path, manifest: archive.Manifest) -> str:
    """Archive what changed; a leak is the run's error (its message names the files)."""
    try:
        archive.archive_run(store, run_dir, manifest)
    except SecretLeakError as exc:
        log.error("%s", exc)
        return str(exc)
    return ""


def run(
    params_path: Path | None,
    *,
    only: str | None = None,
    start: str | None = None,
    resume: str | Path | None = None,
    notebooks_dir: Path | None = None,
    helm_version: str | None = None,
    cell_timeout: int = 3600,
    on_event: Callable[[StepEvent], None] = lambda event: None,
) -> RunOutcome:
    """Run (or resume) the runbook; raises `ParamsError`/`RunError` for bad input."""
    steps = select_steps(discover_steps(notebooks_dir or default_notebooks_dir()), only, start)
    store, run_dir, manifest = _prepare(params_path, resume, helm_version)
    _acquire_lock(run_dir)
    try:
        exit_code, leak = EXIT_PASS, ""
        for index, step in enumerate(steps, start=1):
            previous = manifest.step(step.name)
            if resume and previous and previous.status == "done" and previous.verdict != "fail":
                on_event(StepEvent(index, len(steps), step.name, "skipped", previous.verdict))
                continue
            record = archive.StepRecord(
                step=step.name,
                notebook=step.notebook.name,
                status="running",
                started_at=datetime.now(UTC),
            )
            manifest.steps = [s for s in manifest.steps if s.step != step.name] + [record]
            manifest.steps.sort(key=lambda s: s.step)
            archive.save_manifest(run_dir, manifest)
            on_event(StepEvent(index, len(steps), step.name, "started"))
            began = time.monotonic()
            status, error = _execute(step, run_dir, cell_timeout)
            _finish_step(run_dir, manifest, record, status, error)
            leak = _archive(store, run_dir, manifest)
            if leak:
                record.status, record.error = "error", leak
                archive.save_manifest(run_dir, manifest)
            on_event(
                StepEvent(
                    index,
                    len(steps),
                    step.name,
                    record.status,
                    record.verdict,
                    time.monotonic() - began,
                    record.error or record.summary,
                )
            )
            if leak or record.status == "error":
                exit_code = EXIT_TOOL
                break
            if record.verdict == "fail":
                exit_code = EXIT_GATE
                break
        manifest.finished_at = datetime.now(UTC)
        if leak:  # keep the working copy's manifest current; the store gets nothing more
            archive.save_manifest(run_dir, manifest)
        elif _archive(store, run_dir, manifest):
            exit_code = EXIT_TOOL
    finally:
        (run_dir / LOCK).unlink(missing_ok=True)
    return RunOutcome(run_dir, exit_code, manifest, store.run_url(run_dir.name))

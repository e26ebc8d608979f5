"""Run the step notebooks in order with papermill, gate by gate, into a run archive.

The runner knows nothing about what a step checks: it finds `NN-name.ipynb` notebooks,
injects `params_path` and `run_dir`, and reads back the `results/<step>.json` each
notebook's gate wrote. That keeps the step logic in the library (tested) and the notebooks
thin, and lets a later issue add a step by adding a notebook.

Exit codes follow DESIGN.md (`ekslift.errors`): 0 pass or warn, 1 a gate failed, 2 bad
input, 3 tool error.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import papermill
from papermill.exceptions import PapermillExecutionError

from ekslift import archive
from ekslift.atomic import write_text_atomic
from ekslift.errors import EXIT_GATE, EXIT_PASS, EXIT_TOOL, InputError
from ekslift.gate import read_result
from ekslift.params import load_params

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


def _execute(step: Step, run_dir: Path, timeout: int) -> tuple[archive.StepStatus, str]:
    """Execute one notebook; returns (status, error message) — never raises for a step fault."""
    output = run_dir / "notebooks" / step.notebook.name
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(step.notebook),
            str(output),
            parameters={"params_path": str(run_dir / archive.PARAMS_COPY), "run_dir": str(run_dir)},
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
    elif status == "done":
        record.status = "error"
        record.error = f"the notebook finished without writing results/{record.step}.json"
    archive.save_manifest(run_dir, manifest)


def _prepare(
    params_path: Path | None, resume: Path | None, helm_version: str | None
) -> tuple[Path, archive.Manifest]:
    """The run directory and its manifest; the parameters are validated before any file of
    the run is written or replaced, so bad input never leaves a half-updated archive."""
    if resume is not None:
        if not (resume / archive.MANIFEST).exists():
            raise RunError(f"{resume} is not a run directory (no {archive.MANIFEST})")
        manifest = archive.load_manifest(resume)
        if params_path is None:
            load_params(resume / archive.PARAMS_COPY, Path(manifest.params_dir))
        else:
            load_params(params_path)
            previous = resume / archive.PARAMS_COPY
            kept = resume / f"params.{len(manifest.params_history) + 1}.yaml"
            shutil.copyfile(previous, kept)
            manifest.params_history.append(kept.name)
            shutil.copyfile(params_path, previous)
            manifest.params_sha256 = archive.sha256_file(previous)
            manifest.params_dir = str(Path(params_path).parent.resolve())
        return resume, manifest
    if params_path is None:
        raise RunError("give --params FILE (or --resume RUN_DIR)")
    params = load_params(params_path)
    run_dir = archive.new_run_dir(Path(params.archive_dir), params.name)
    shutil.copyfile(params_path, run_dir / archive.PARAMS_COPY)
    manifest = archive.start_manifest(
        run_dir,
        name=params.name,
        environment=params.environment,
        params_dir=Path(params_path).parent,
        project_dir=project_dir(),
        helm_version=helm_version,
    )
    return run_dir, manifest


def run(
    params_path: Path | None,
    *,
    only: str | None = None,
    start: str | None = None,
    resume: Path | None = None,
    notebooks_dir: Path | None = None,
    helm_version: str | None = None,
    cell_timeout: int = 3600,
    on_event: Callable[[StepEvent], None] = lambda event: None,
) -> RunOutcome:
    """Run (or resume) the runbook; raises `ParamsError`/`RunError` for bad input."""
    steps = select_steps(discover_steps(notebooks_dir or default_notebooks_dir()), only, start)
    run_dir, manifest = _prepare(params_path, resume, helm_version)
    _acquire_lock(run_dir)
    try:
        exit_code = EXIT_PASS
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
            if record.status == "error":
                exit_code = EXIT_TOOL
                break
            if record.verdict == "fail":
                exit_code = EXIT_GATE
                break
        manifest.finished_at = datetime.now(UTC)
        archive.save_manifest(run_dir, manifest)
    finally:
        (run_dir / LOCK).unlink(missing_ok=True)
    return RunOutcome(run_dir, exit_code, manifest)

"""The run archive: one directory per upgrade run, self-describing and tamper-evident.

A run directory is the audit trail an SRE hands to a reviewer: the parameters used, every
executed notebook and its HTML export, each step's result, the artefacts, and a manifest
with who ran it, on which code, with which tool versions, and the sha256 of every file. The
manifest is rewritten atomically after each step, so a run killed mid-step leaves a
consistent archive that `--resume` can continue.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import platform
import socket
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

import nbformat
from pydantic import BaseModel, Field

from ekslift.atomic import write_text_atomic
from ekslift.errors import InputError
from ekslift.gate import AppliedWaiver, Verdict
from ekslift.redact import redact_notebook, redact_text

log = logging.getLogger(__name__)
MANIFEST_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
PARAMS_COPY = "params.yaml"
StepStatus = Literal["running", "done", "failed", "error"]


class RunNotFoundError(InputError):
    """A run directory or id that names no run (or several): give a path or more of the id."""


class StepRecord(BaseModel):
    step: str
    notebook: str
    status: StepStatus
    verdict: Verdict | None = None
    summary: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    error: str = ""


class Manifest(BaseModel):
    schema_version: int = MANIFEST_SCHEMA_VERSION
    run_id: str
    name: str
    environment: str
    operator: str
    started_at: datetime
    finished_at: datetime | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    versions: dict[str, str]
    params_sha256: str
    params_dir: str = Field(description="folder of the original parameter file (relative paths)")
    params_history: list[str] = Field(default_factory=list)
    steps: list[StepRecord] = Field(default_factory=list)
    waivers: dict[str, list[AppliedWaiver]] = Field(
        default_factory=dict, description="per step, the blockers accepted in the params"
    )
    files: dict[str, str] = Field(default_factory=dict)

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.step == name), None)

    @property
    def verdict(self) -> str:
        verdicts = [s.verdict for s in self.steps]
        if any(s.status == "error" for s in self.steps):
            return "error"
        for level in ("fail", "warn"):
            if level in verdicts:
                return level
        return "pass" if self.steps else "empty"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def tool_versions(helm_version: str | None) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("ekslift", "boto3", "botocore", "kubernetes", "papermill", "pandas"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    versions["helm"] = helm_version or "not found"
    return versions


def new_run_dir(archive_dir: Path, name: str, now: datetime | None = None) -> Path:
    """`<archive>/<UTC time>-<name>`; a suffix keeps two runs in one second apart."""
    now = now or datetime.now(UTC)
    base = archive_dir / f"{now:%Y%m%dT%H%M%SZ}-{name}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


def start_manifest(
    run_dir: Path,
    *,
    name: str,
    environment: str,
    params_dir: Path,
    project_dir: Path,
    helm_version: str | None,
) -> Manifest:
    commit = _git(["rev-parse", "HEAD"], project_dir)
    dirty = _git(["status", "--porcelain"], project_dir)
    manifest = Manifest(
        run_id=run_dir.name,
        name=name,
        environment=environment,
        operator=f"{getpass.getuser()}@{socket.gethostname()}",
        started_at=datetime.now(UTC),
        git_commit=commit,
        git_dirty=bool(dirty) if dirty is not None else None,
        versions=tool_versions(helm_version),
        params_sha256=sha256_file(run_dir / PARAMS_COPY),
        params_dir=str(params_dir.resolve()),
    )
    save_manifest(run_dir, manifest)
    return manifest


def save_manifest(run_dir: Path, manifest: Manifest) -> None:
    """Rehash every file, then replace the manifest atomically."""
    manifest.files = {
        str(p.relative_to(run_dir)): sha256_file(p)
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    }
    write_text_atomic(run_dir / MANIFEST, manifest.model_dump_json(indent=2) + "\n")


def params_dir_of(run_dir: Path) -> Path | None:
    """Where the run's parameter file came from, if `run_dir` is an archived run."""
    if not (run_dir / MANIFEST).exists():
        return None
    return Path(load_manifest(run_dir).params_dir)


def load_manifest(run_dir: Path) -> Manifest:
    path = run_dir / MANIFEST
    if not path.exists():
        raise RunNotFoundError(f"{run_dir} is not an ekslift run: {MANIFEST} is missing")
    return Manifest.model_validate_json(path.read_text(encoding="utf-8"))


def verify(run_dir: Path) -> list[str]:
    """Files whose content no longer matches the manifest, or that it does not know."""
    manifest = load_manifest(run_dir)
    problems = []
    present = {
        str(p.relative_to(run_dir))
        for p in run_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    }
    for rel, digest in manifest.files.items():
        path = run_dir / rel
        if not path.exists():
            problems.append(f"{rel}: listed in the manifest but missing")
        elif sha256_file(path) != digest:
            problems.append(f"{rel}: sha256 differs from the manifest")
    problems += [f"{rel}: not in the manifest" for rel in sorted(present - manifest.files.keys())]
    return problems


def finalize_notebook(executed: Path, html_dir: Path) -> Path:
    """Redact the executed notebook in place and export it to standalone HTML."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    if redact_notebook(nb):
        log.warning("redacted secret-looking output in %s", executed.name)
    nbformat.write(nb, executed)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    html = html_dir / f"{executed.stem}.html"
    write_text_atomic(html, redact_text(body))
    return html


def list_runs(archive_dir: Path) -> list[Manifest]:
    runs = []
    for manifest_path in sorted(archive_dir.glob(f"*/{MANIFEST}")):
        try:
            runs.append(load_manifest(manifest_path.parent))
        except (OSError, ValueError) as exc:
            log.warning("skipping %s: %s", manifest_path.parent, exc)
    return runs


def resolve_run(archive_dir: Path, ref: str) -> Path:
    """A run by path, by full id, or by a unique prefix/suffix of its id."""
    direct = Path(ref)
    if (direct / MANIFEST).exists():
        return direct
    matches = [p.parent for p in archive_dir.glob(f"*/{MANIFEST}") if ref in p.parent.name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no run matching {ref!r} under {archive_dir}")
    names = ", ".join(sorted(m.name for m in matches))
    raise RunNotFoundError(f"{ref!r} matches several runs ({names}); give more of the id")

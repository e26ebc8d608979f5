"""The run archive: one directory per upgrade run, self-describing and tamper-evident.

A run directory is the audit trail an SRE hands to a reviewer: the parameters used, every
executed notebook and its HTML export, each step's result, the artefacts, and a manifest
with who ran it, on which code, with which tool versions, and the sha256 of every file. The
manifest is rewritten atomically after each step, so a run killed mid-step leaves a
consistent archive that `--resume` can continue.

Where the archive is kept is an `ekslift.stores.ArchiveStore` (a folder, or S3 with
encryption and Object Lock): :func:`archive_run` scans what changed for secrets and hands it
to the store after each step; :func:`verify_run` checks a run wherever it is kept.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import platform
import socket
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

import nbformat
from pydantic import BaseModel, Field

from ekslift.atomic import write_text_atomic
from ekslift.errors import SecretLeakError
from ekslift.gate import AppliedWaiver, Approval, Verdict
from ekslift.redact import find_secrets, redact_notebook, redact_text
from ekslift.stores.base import (
    MANIFEST,
    ArchiveStore,
    Protection,
    RunNotFoundError,
    StoredObject,
)
from ekslift.stores.local import LocalStore

log = logging.getLogger(__name__)
MANIFEST_SCHEMA_VERSION = 2
PARAMS_COPY = "params.yaml"
TEMPLATES = str(Path(__file__).parent / "templates")
HTML_TEMPLATE = "ekslift_html"  # JupyterLab's HTML export, with the plots' alternative text
_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".gz", ".tgz", ".zip"}
StepStatus = Literal["running", "done", "failed", "error"]
ProblemKind = Literal["modified", "missing", "added", "version", "retention", "location"]


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
    storage: Protection | None = Field(
        default=None, description="where and how the run is archived; versions of its files"
    )
    approvals: list[Approval] = Field(
        default_factory=list, description="who approved which plan, and who operated it"
    )
    previous_manifest_sha256: str | None = Field(
        default=None, description="the run before this one in the environment (step 4)"
    )

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


def new_run_dir(store: ArchiveStore, name: str, now: datetime | None = None) -> Path:
    """The working copy of a new run `<UTC time>-<name>`, created; a suffix keeps two runs
    started in one second apart (in the store and on this machine)."""
    now = now or datetime.now(UTC)
    base = f"{now:%Y%m%dT%H%M%SZ}-{name}"
    candidate, n = base, 1
    while store.staging_dir(candidate).exists() or store.exists(candidate):
        n += 1
        candidate = f"{base}-{n}"
    run_dir = store.staging_dir(candidate)
    run_dir.mkdir(parents=True)
    return run_dir


def start_manifest(
    run_dir: Path,
    *,
    name: str,
    environment: str,
    params_dir: Path,
    project_dir: Path,
    helm_version: str | None,
    storage: Protection,
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
        storage=storage,
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
    _write_manifest(run_dir, manifest)


def _write_manifest(run_dir: Path, manifest: Manifest) -> None:
    write_text_atomic(run_dir / MANIFEST, manifest.model_dump_json(indent=2) + "\n")


def scan_files(run_dir: Path, paths: list[str]) -> dict[str, list[str]]:
    """Secrets (or canaries) found per file; images and archives are not text and skipped."""
    hits = {}
    for rel in paths:
        if Path(rel).suffix.lower() in _BINARY_SUFFIXES:
            continue
        found = find_secrets((run_dir / rel).read_text(encoding="utf-8", errors="replace"))
        if found:
            hits[rel] = [str(hit) for hit in found]
    return hits


def archive_run(store: ArchiveStore, run_dir: Path, manifest: Manifest) -> int:
    """Hand what changed since the last call to the store, the manifest last.

    Every changed file and the manifest are scanned first; one hit raises
    :class:`SecretLeakError` before anything of the batch is written to the store (the
    local working copy keeps the files for whoever fixes the step). Returns how many files
    were archived besides the manifest.
    """
    if manifest.storage is None:
        raise ValueError("the manifest has no storage record; start_manifest sets one")
    storage = manifest.storage
    save_manifest(run_dir, manifest)
    changed = [
        rel
        for rel, digest in manifest.files.items()
        if rel not in storage.objects or storage.objects[rel].sha256 != digest
    ]
    hits = scan_files(run_dir, [*changed, MANIFEST])
    if hits:
        raise SecretLeakError(hits)
    versions = store.publish(run_dir.name, run_dir, changed, storage)
    for rel in changed:
        storage.objects[rel] = StoredObject(sha256=manifest.files[rel], version_id=versions[rel])
    _write_manifest(run_dir, manifest)
    store.publish(run_dir.name, run_dir, [MANIFEST], storage)
    return len(changed)


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


@dataclass(frozen=True)
class Problem:
    """One way an archived run differs from its manifest."""

    path: str
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def read_manifest(store: ArchiveStore, run_id: str) -> Manifest:
    try:
        data = store.read(run_id, MANIFEST)
    except FileNotFoundError as exc:
        raise RunNotFoundError(
            f"{store.run_url(run_id)} is not an ekslift run: {MANIFEST} is missing"
        ) from exc
    return Manifest.model_validate_json(data)


def archived_elsewhere(manifest: Manifest, store: ArchiveStore, run_id: str) -> str | None:
    """Where the run was archived, when `store` holds a copy of it rather than the archive.

    Said to the operator with every verify of a copy: a clean result there proves the files
    match their hashes, not that the archive's versions and Object Lock are intact."""
    if manifest.storage is None or manifest.storage.location == store.run_url(run_id):
        return None
    return manifest.storage.location


def verify_run(store: ArchiveStore, run_id: str) -> list[Problem]:
    """Files modified, missing or added since the manifest was written; where the store
    keeps versions and retention, objects overwritten after they were archived and objects
    whose Object Lock is not the one the manifest promises.

    A copy of a run archived elsewhere (the working copy an S3 run leaves on the machine that
    ran it, or one fetched) is held to the hashes only: the versions and locks the manifest
    records are the archive's, and only the archive can show them."""
    manifest = read_manifest(store, run_id)
    listing = store.listing(run_id)
    here = Protection(location=store.run_url(run_id))
    storage = manifest.storage or here
    problems = []
    if archived_elsewhere(manifest, store, run_id):
        if any(stored.version_id for stored in listing.values()):
            # A versioned store is an archive, not a copy: a run that names another home
            # was moved there or had its manifest rewritten.
            problems.append(
                Problem(
                    MANIFEST,
                    "location",
                    f"the manifest says the run was archived at {storage.location}; "
                    "verify it there",
                )
            )
        storage = here
    for rel, digest in manifest.files.items():
        if rel not in listing:
            problems.append(Problem(rel, "missing", "listed in the manifest but missing"))
            continue
        if hashlib.sha256(store.read(run_id, rel)).hexdigest() != digest:
            problems.append(Problem(rel, "modified", "sha256 differs from the manifest"))
        archived = storage.objects.get(rel)
        current = listing[rel].version_id
        if archived and archived.version_id and current != archived.version_id:
            problems.append(
                Problem(
                    rel,
                    "version",
                    f"current version {current} is not the archived version "
                    f"{archived.version_id}: it was overwritten after the run",
                )
            )
    if storage.object_lock and storage.retention_days:
        locked_until = manifest.started_at + timedelta(days=storage.retention_days)
        for rel, stored in listing.items():
            if stored.lock_mode != storage.object_lock:
                problems.append(
                    Problem(
                        rel,
                        "retention",
                        f"Object Lock mode {stored.lock_mode or 'none'}, "
                        f"the manifest says {storage.object_lock}",
                    )
                )
            elif stored.retain_until is None or stored.retain_until < locked_until:
                problems.append(
                    Problem(
                        rel,
                        "retention",
                        f"retained until {stored.retain_until}, less than the manifest's "
                        f"{storage.retention_days} days",
                    )
                )
    added = sorted(listing.keys() - manifest.files.keys() - {MANIFEST})
    problems += [Problem(rel, "added", "not in the manifest") for rel in added]
    return problems


def verify(run_dir: Path) -> list[Problem]:
    """:func:`verify_run` of a run directory on this machine."""
    return verify_run(LocalStore(run_dir.parent), run_dir.name)


def finalize_notebook(executed: Path, html_dir: Path) -> Path:
    """Redact the executed notebook in place and export it to standalone HTML."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    if redact_notebook(nb):
        log.warning("redacted secret-looking output in %s", executed.name)
    nbformat.write(nb, executed)
    exporter = HTMLExporter(template_name=HTML_TEMPLATE, extra_template_basedirs=[TEMPLATES])
    body, _ = exporter.from_notebook_node(nb)
    html = html_dir / f"{executed.stem}.html"
    write_text_atomic(html, redact_text(body))
    return html


def list_runs(store: ArchiveStore) -> list[Manifest]:
    runs = []
    for run_id in store.run_ids():
        try:
            runs.append(read_manifest(store, run_id))
        except (OSError, ValueError, RunNotFoundError) as exc:
            log.warning("skipping %s: %s", store.run_url(run_id), exc)
    return runs


def resolve_run(store: ArchiveStore, ref: str) -> str:
    """A run id by full id, or by a unique part of it."""
    run_ids = store.run_ids()
    if ref in run_ids:
        return ref
    matches = [run_id for run_id in run_ids if ref in run_id]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no run matching {ref!r} under {store.location}")
    raise RunNotFoundError(
        f"{ref!r} matches several runs ({', '.join(matches)}); give more of the id"
    )

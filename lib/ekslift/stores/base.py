"""The interface every archive store implements, and what it records in a manifest."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ekslift.errors import InputError

MANIFEST = "manifest.json"
# Records that belong to the archive but to no run (approvals of a plan), kept under this
# folder of the location, which is never listed as a run.
DOCUMENTS = "approvals"
LockMode = Literal["GOVERNANCE", "COMPLIANCE"]


class RunNotFoundError(InputError):
    """A run directory or id that names no run (or several): give a path or more of the id."""


class StoredObject(BaseModel):
    """What was archived of one file: its sha256 then, and the object version it became."""

    sha256: str
    version_id: str | None = None


class Protection(BaseModel):
    """How a run's archive is kept, as its manifest records it for a reviewer.

    `objects` is filled as files are archived: the version id of each (S3 with versioning),
    so `runs verify` can tell a file overwritten after the run from the one archived.
    """

    location: str = Field(description="the run's archive: a folder or s3://bucket/prefix/run")
    encryption: str | None = Field(default=None, description="SSE-S3 or SSE-KMS (S3 only)")
    kms_key_id: str | None = None
    object_lock: LockMode | None = None
    retention_days: int | None = None
    note: str = Field(default="", description="why a protection asked for is absent")
    writer: str | None = Field(default=None, description="the AWS identity that archived it")
    objects: dict[str, StoredObject] = Field(default_factory=dict)


@dataclass(frozen=True)
class StoredFile:
    """One archived file as the store has it now (for verification)."""

    path: str
    version_id: str | None = None
    lock_mode: str | None = None
    retain_until: datetime | None = None


class ArchiveStore(ABC):
    """Runs kept under one location; a run is a flat set of files under its run id."""

    location: str

    @abstractmethod
    def run_url(self, run_id: str) -> str:
        """Where the run is archived, for people and for `--resume`."""

    @abstractmethod
    def staging_dir(self, run_id: str) -> Path:
        """The local folder the run's files are written to before they are archived."""

    @abstractmethod
    def protection(self, run_id: str) -> Protection:
        """What this store will guarantee for the run's objects (looked up once)."""

    @abstractmethod
    def run_ids(self) -> list[str]:
        """Every run id under the location, sorted."""

    @abstractmethod
    def exists(self, run_id: str) -> bool: ...

    @abstractmethod
    def read(self, run_id: str, path: str) -> bytes:
        """A file's current content; `FileNotFoundError` if it is not there."""

    @abstractmethod
    def listing(self, run_id: str) -> dict[str, StoredFile]:
        """Every file of the run as stored now, the manifest included."""

    @abstractmethod
    def publish(
        self, run_id: str, run_dir: Path, paths: list[str], protection: Protection
    ) -> dict[str, str | None]:
        """Archive these files of the working copy, in order; returns their version ids."""

    @abstractmethod
    def read_document(self, name: str) -> bytes | None:
        """A record of the archive's own (``DOCUMENTS``/``name``), None when there is none."""

    @abstractmethod
    def write_document(self, name: str, body: bytes) -> None:
        """Replace that record: where the runs live, so whoever runs the next step on
        another machine reads the same one."""

    def document_url(self, name: str) -> str:
        return f"{self.location.rstrip('/')}/{DOCUMENTS}/{name}"

    @abstractmethod
    def fetch(self, run_id: str) -> Path:
        """A working copy of an archived run (to resume it); returns its folder."""

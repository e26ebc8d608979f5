"""A run archive in a local folder: the working copy is the archive, nothing to upload."""

from __future__ import annotations

from pathlib import Path

from ekslift.atomic import write_bytes_atomic
from ekslift.stores.base import DOCUMENTS, MANIFEST, ArchiveStore, Protection, StoredFile


class LocalStore(ArchiveStore):
    def __init__(self, location: str | Path) -> None:
        self.root = Path(location)
        self.location = str(self.root)

    def run_url(self, run_id: str) -> str:
        return str(self.root / run_id)

    def staging_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def protection(self, run_id: str) -> Protection:
        return Protection(
            location=self.run_url(run_id),
            note="a local folder: no encryption or retention beyond the machine's own",
        )

    def run_ids(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob(f"*/{MANIFEST}"))

    def exists(self, run_id: str) -> bool:
        return (self.root / run_id).exists()

    def read(self, run_id: str, path: str) -> bytes:
        return (self.root / run_id / path).read_bytes()

    def listing(self, run_id: str) -> dict[str, StoredFile]:
        run_dir = self.root / run_id
        return {
            rel: StoredFile(rel)
            for rel in (
                str(p.relative_to(run_dir))
                for p in sorted(run_dir.rglob("*"))
                if p.is_file() and not p.name.startswith(".")
            )
        }

    def publish(
        self, run_id: str, run_dir: Path, paths: list[str], protection: Protection
    ) -> dict[str, str | None]:
        return dict.fromkeys(paths)

    def read_document(self, name: str) -> bytes | None:
        path = self.root / DOCUMENTS / name
        return path.read_bytes() if path.exists() else None

    def write_document(self, name: str, body: bytes) -> None:
        (self.root / DOCUMENTS).mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.root / DOCUMENTS / name, body)

    def fetch(self, run_id: str) -> Path:
        return self.root / run_id

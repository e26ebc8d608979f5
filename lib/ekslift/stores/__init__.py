"""Where run archives are kept: one interface (`base.ArchiveStore`), two places.

- `local`: a folder; the run directory papermill writes into is the archive itself.
- `s3`: an S3 prefix; the run directory is a local working copy mirrored to S3 after each
  step, every object encrypted and, where the bucket allows, under Object Lock retention.

The runner and `ekslift runs list|show|verify` only see the interface, so an archive reads
and verifies the same wherever it is kept.
"""

from __future__ import annotations

from ekslift.params import ArchiveParams
from ekslift.stores.base import ArchiveStore
from ekslift.stores.local import LocalStore
from ekslift.stores.s3 import S3Store, is_s3_url


def open_store(
    location: str, settings: ArchiveParams | None = None, profile: str | None = None
) -> ArchiveStore:
    """The store of an archive location: `s3://bucket[/prefix]` or a local folder."""
    if is_s3_url(location):
        return S3Store(location, settings or ArchiveParams(), profile)
    return LocalStore(location)

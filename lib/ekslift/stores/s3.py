"""A run archive under an S3 prefix: encrypted, versioned and write-once where the bucket allows.

Each file of a run becomes one object `<prefix>/<run id>/<path>`, put with server-side
encryption (SSE-S3, or SSE-KMS with the key from the parameters) and, when the bucket has
Object Lock, a retention of `retention_days` in the configured mode. Object Lock implies
versioning, so a later write of the same key (a resumed step, a tampering hand) makes a
new version while the archived one stays; the manifest keeps the version id of every file
it lists, which `runs verify` compares with the current version.

Retention is read back with HeadObject (which answers the object's lock mode and date to an
identity allowed `s3:GetObjectRetention`), one call per object for version, retention and
encryption together.
"""

from __future__ import annotations

import logging
import mimetypes
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.errors import AwsError
from ekslift.params import ArchiveParams
from ekslift.stores.base import DOCUMENTS, ArchiveStore, LockMode, Protection, StoredFile

log = logging.getLogger(__name__)
_NO_LOCK = {"ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_ENCRYPTION = {"SSE-S3": "AES256", "SSE-KMS": "aws:kms"}


def is_s3_url(location: str) -> bool:
    return location.startswith("s3://")


class S3Store(ArchiveStore):
    def __init__(self, url: str, settings: ArchiveParams, profile: str | None = None) -> None:
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.settings = settings
        self.profile = profile
        region = settings.region or aws.session(profile).region_name or "us-east-1"
        self.s3 = aws.client("s3", region, profile)

    def _key(self, run_id: str, path: str = "") -> str:
        return "/".join(part for part in (self.prefix, run_id, path) if part)

    def _call(self, what: str, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.s3, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"{what} (s3://{self.bucket})") from exc

    def _encryption(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"ServerSideEncryption": _ENCRYPTION[self.settings.encryption]}
        if self.settings.kms_key_id:
            extra["SSEKMSKeyId"] = self.settings.kms_key_id
        return extra

    def run_url(self, run_id: str) -> str:
        return f"{self.location}/{run_id}"

    def staging_dir(self, run_id: str) -> Path:
        return Path(self.settings.staging_dir) / run_id

    def protection(self, run_id: str) -> Protection:
        """Encryption as asked; Object Lock as asked if the bucket has it, else a note."""
        lock: LockMode | None = None
        note = ""
        try:
            config = self.s3.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _NO_LOCK:
                raise AwsError.wrap(exc, f"GetObjectLockConfiguration s3://{self.bucket}") from exc
            note = f"the bucket {self.bucket} has no Object Lock: objects are not write-once"
            log.warning("%s", note)
        except BotoCoreError as exc:
            raise AwsError.wrap(exc, f"GetObjectLockConfiguration s3://{self.bucket}") from exc
        else:
            enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
            if enabled == "Enabled":
                lock = "COMPLIANCE" if self.settings.object_lock == "compliance" else "GOVERNANCE"
            else:
                note = f"Object Lock is not enabled on the bucket {self.bucket}"
        try:
            sts = aws.client("sts", self.s3.meta.region_name, self.profile)
            writer = sts.get_caller_identity().get("Arn")
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, "GetCallerIdentity") from exc
        return Protection(
            location=self.run_url(run_id),
            encryption=self.settings.encryption,
            kms_key_id=self.settings.kms_key_id,
            object_lock=lock,
            retention_days=self.settings.retention_days if lock else None,
            note=note,
            writer=writer,
        )

    def run_ids(self) -> list[str]:
        base = self._key("") + "/" if self.prefix else ""
        runs = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base, Delimiter="/"
        )
        try:
            for page in pages:
                runs += [
                    name
                    for p in page.get("CommonPrefixes", [])
                    if (name := p["Prefix"][len(base) :].rstrip("/")) != DOCUMENTS
                ]
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"ListObjectsV2 {self.location}") from exc
        return sorted(runs)

    def _keys(self, run_id: str) -> list[str]:
        base = self._key(run_id) + "/"
        keys = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base)
        try:
            for page in pages:
                keys += [o["Key"][len(base) :] for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise AwsError.wrap(exc, f"ListObjectsV2 {self.run_url(run_id)}") from exc
        return keys

    def exists(self, run_id: str) -> bool:
        answer = self._call(
            "ListObjectsV2",
            "list_objects_v2",
            Bucket=self.bucket,
            Prefix=self._key(run_id) + "/",
            MaxKeys=1,
        )
        return bool(answer.get("KeyCount"))

    def read(self, run_id: str, path: str) -> bytes:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self._key(run_id, path))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                raise FileNotFoundError(f"{self.run_url(run_id)}/{path}") from exc
            raise AwsError.wrap(exc, f"GetObject {self.run_url(run_id)}/{path}") from exc
        except BotoCoreError as exc:
            raise AwsError.wrap(exc, f"GetObject {self.run_url(run_id)}/{path}") from exc
        body: bytes = answer["Body"].read()
        return body

    def listing(self, run_id: str) -> dict[str, StoredFile]:
        files = {}
        for path in self._keys(run_id):
            head = self._call(
                f"HeadObject {path}", "head_object", Bucket=self.bucket, Key=self._key(run_id, path)
            )
            files[path] = StoredFile(
                path,
                version_id=head.get("VersionId"),
                lock_mode=head.get("ObjectLockMode"),
                retain_until=head.get("ObjectLockRetainUntilDate"),
            )
        return files

    def publish(
        self, run_id: str, run_dir: Path, paths: list[str], protection: Protection
    ) -> dict[str, str | None]:
        extra = self._encryption()
        if protection.object_lock and protection.retention_days:
            extra["ObjectLockMode"] = protection.object_lock
            extra["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(
                days=protection.retention_days
            )
        versions = {}
        for path in paths:
            answer = self._call(
                f"PutObject {path}",
                "put_object",
                Bucket=self.bucket,
                Key=self._key(run_id, path),
                Body=(run_dir / path).read_bytes(),
                ContentType=mimetypes.guess_type(path)[0] or "application/octet-stream",
                **extra,
            )
            versions[path] = answer.get("VersionId")
        log.info("archived %d file(s) to %s", len(paths), self.run_url(run_id))
        return versions

    def read_document(self, name: str) -> bytes | None:
        try:
            return self.read(DOCUMENTS, name)
        except FileNotFoundError:
            return None

    def write_document(self, name: str, body: bytes) -> None:
        """Encrypted like the runs; not locked: a new approval replaces the last one (the
        bucket's versioning keeps every earlier one)."""
        self._call(
            f"PutObject {self.document_url(name)}",
            "put_object",
            Bucket=self.bucket,
            Key=self._key(DOCUMENTS, name),
            Body=body,
            ContentType="application/json",
            **self._encryption(),
        )

    def fetch(self, run_id: str) -> Path:
        keys = self._keys(run_id)
        if not keys:
            raise FileNotFoundError(self.run_url(run_id))
        target = self.staging_dir(run_id)
        for path in keys:
            local = target / path
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(self.read(run_id, path))
        return target

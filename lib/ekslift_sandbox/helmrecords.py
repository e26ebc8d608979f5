"""Helm release records written as helm's storage drivers write them, to seed the sandbox.

Only the sandbox writes release records; the library only reads them
(`ekslift.charts.releases`), so the encoders live here, beside the estate they seed.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ekslift.charts.releases import RELEASE_SECRET_TYPE, parse_helm_time


def encode_release_payload(record: Mapping[str, Any]) -> str:
    """helm's own encoding of a record: base64(gzip(json)), as in helm's storage driver."""
    data = json.dumps(record, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


def release_revision(
    record: Mapping[str, Any],
    *,
    revision: int,
    status: str,
    deployed_at: datetime,
    first_deployed: datetime | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A copy of a dry-run record turned into a stored revision (for seeding history).

    `helm install --dry-run` yields revision 1, `pending-install`, "Dry run complete"; a
    real history has revisions that are superseded, deployed or failed at given times.
    """
    stamp = _go_time(deployed_at)
    info = dict(record.get("info") or {})
    info.update(
        status=status,
        last_deployed=stamp,
        first_deployed=_go_time(first_deployed) if first_deployed else stamp,
        description=description or ("Install complete" if revision == 1 else "Upgrade complete"),
    )
    return {**record, "version": revision, "info": info}


def _go_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _storage_object(record: Mapping[str, Any], kind: str) -> dict[str, Any]:
    name = record["name"]
    revision = int(record["version"])
    info = record.get("info") or {}
    deployed = parse_helm_time(info.get("last_deployed")) or datetime.now(UTC)
    epoch = str(int(deployed.timestamp()))
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {
            "name": f"sh.helm.release.v1.{name}.v{revision}",
            "namespace": record.get("namespace") or "default",
            "creationTimestamp": deployed.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "labels": {
                "name": name,
                "owner": "helm",
                "status": str(info.get("status") or "unknown"),
                "version": str(revision),
                "createdAt": epoch,
                "modifiedAt": epoch,
            },
        },
    }


def encode_release_secret(record: Mapping[str, Any]) -> dict[str, Any]:
    """A complete release Secret, as helm's secrets driver would store `record`."""
    obj = _storage_object(record, "Secret")
    payload = encode_release_payload(record)
    obj["type"] = RELEASE_SECRET_TYPE
    obj["data"] = {"release": base64.b64encode(payload.encode("ascii")).decode("ascii")}
    return obj


def encode_release_configmap(record: Mapping[str, Any]) -> dict[str, Any]:
    """A complete release ConfigMap, as helm's configmaps driver would store `record`."""
    obj = _storage_object(record, "ConfigMap")
    obj["data"] = {"release": encode_release_payload(record)}
    return obj

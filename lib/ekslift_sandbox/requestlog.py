"""Every request the sandbox's servers answer, kept so tests can prove least privilege.

Steps run in notebook kernels, separate processes, so what they call cannot be observed
in-process; the servers see every request instead. Each record keeps what an audit log
(CloudTrail, the Kubernetes audit log) keeps: the operation or verb and path, the ARNs it
acted on (`requestresources`), the user agent (ekslift puts the calling step there:
`ekslift-step/<step>`) and the access key.

Served at `GET /_sandbox/requests` by the AWS server and every fake Kubernetes API server
(`?since=<seq>` for records after a sequence number), cleared with `DELETE`.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

REQUESTS_PATH = "/_sandbox/requests"
MAX_RECORDS = 200_000  # a full demo run makes a few thousand; a bound keeps memory flat


@dataclass(frozen=True)
class RequestRecord:
    """One answered request: `operation` for AWS (`service` its botocore name), `method`
    and `path` for Kubernetes."""

    seq: int
    method: str
    path: str
    user_agent: str
    service: str | None = None
    operation: str | None = None
    access_key: str | None = None
    resources: tuple[str, ...] = ()


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._seq = itertools.count(1)

    def record(self, **fields: Any) -> None:
        with self._lock:
            self._records.append(RequestRecord(seq=next(self._seq), **fields))
            del self._records[:-MAX_RECORDS]

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._records if r.seq > seq]

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._records)
            self._records.clear()
            return cleared


def since_of(query: str) -> int:
    """The `since` sequence number of a query string (0 when absent or malformed)."""
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "since" and value.isdigit():
            return int(value)
    return 0

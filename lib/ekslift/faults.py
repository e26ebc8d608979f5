"""Telling "the API could not be reached" from "the API said no".

A reading step that meets a refusal (403, AccessDenied) reports it as a finding: the
operator may have chosen not to grant that permission. One that cannot reach an API at
all (connection refused, timeouts, 5xx after retries) has not looked, so its verdict would
be a guess: the step ends as a tool error (exit 3) after writing what it did see.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from ekslift.kube import KubeError


def is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, KubeError):
        return exc.status is None or exc.status >= 500
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500
    return isinstance(exc, BotoCoreError)

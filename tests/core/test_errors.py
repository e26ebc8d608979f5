"""What counts as "could not reach the API" (a tool error) rather than "the API said no"."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from ekslift.errors import is_unreachable
from ekslift.kube import KubeError


def client_error(status: int, code: str) -> ClientError:
    body = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(body, "DescribeCluster")


def test_refusals_are_not_unreachable() -> None:
    assert not is_unreachable(KubeError("forbidden", 403))
    assert not is_unreachable(KubeError("not found", 404))
    assert not is_unreachable(client_error(403, "AccessDeniedException"))


def test_connection_failures_timeouts_and_5xx_are() -> None:
    assert is_unreachable(KubeError("connection refused"))
    assert is_unreachable(KubeError("service unavailable", 503))
    assert is_unreachable(client_error(500, "InternalFailure"))
    assert is_unreachable(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert is_unreachable(ReadTimeoutError(endpoint_url="http://127.0.0.1:9"))

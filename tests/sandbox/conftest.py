"""One in-process AWS sandbox per contract-test module, and the botocore model check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from ekslift import aws
from ekslift_sandbox.awsserver import AwsSandbox


@pytest.fixture(scope="module")
def aws_sandbox() -> Iterator[AwsSandbox]:
    """moto's server with the sandbox additions; boto3 pointed at it for this module only."""
    with AwsSandbox() as server, pytest.MonkeyPatch.context() as env:
        for key, value in server.environment().items():
            env.setenv(key, value)
        aws.clear_cache()
        yield server
    aws.clear_cache()


def fits_model(client: Any, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """Fail if the parsed answer does not match botocore's output shape; return it."""
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    Stubber(client).add_response(operation, body)
    return body

"""The ARNs an AWS request acts on, as CloudTrail's `resources` names them.

An IAM policy is only as narrow as its `Resource` lines: the shift's role may modify the
named ALB's listeners only, the rollback function the forward set only. Recording the
action of each request proves the first half of least privilege; recording what it acted
on lets a test hold every write to the documented ARNs (`tests/core/iam.py`).

Requests name a resource by ARN (ELB's `ListenerArn`, SNS's `TopicArn`) or by name
(DynamoDB's `TableName`, CloudWatch's `AlarmName(s)`, S3's bucket and key in the path);
names are completed to the ARN IAM evaluates, in the region the request was signed for
and moto's account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID

# Parameters that name a resource rather than give its ARN, and the ARN IAM evaluates.
_NAMED = {
    ("dynamodb", "TableName"): "arn:aws:dynamodb:{region}:{account}:table/{name}",
    ("cloudwatch", "AlarmName"): "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    ("cloudwatch", "AlarmNames"): "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    ("kms", "KeyId"): "arn:aws:kms:{region}:{account}:key/{name}",
}
_KMS_ALIAS = "arn:aws:kms:{region}:{account}:{name}"
_MEMBER = re.compile(r"\.member\.\d+$")


def _parameters(content_type: str, body: bytes) -> Iterator[tuple[str, str]]:
    """(name, value) of every top-level parameter, list members one by one. Nested ones
    are not what the request acts on (ModifyListener's forward action names target groups;
    IAM authorizes the listener)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        for key, values in parse_qs(body.decode("utf-8", "replace")).items():
            name = _MEMBER.sub("", key)
            if "." not in name:
                yield from ((name, value) for value in values)
        return
    if "json" not in content_type or not body:
        return
    try:
        document: Any = json.loads(body)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                yield key, item


def _s3_resources(path: str) -> tuple[str, ...]:
    """Path-style S3: `/bucket` acts on the bucket, `/bucket/key` on the object."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return ()
    return (f"arn:aws:s3:::{bucket}/{key}",) if key else (f"arn:aws:s3:::{bucket}",)


def resources_of(
    service: str | None, region: str, environ: dict[str, Any], read_body: Callable[[], bytes]
) -> tuple[str, ...]:
    """The ARNs the request names, in the order it names them, without repeats (S3's
    bodies, objects being archived, are not read). ``region``: the one it was signed for."""
    if service == "s3":
        return _s3_resources(environ.get("PATH_INFO", ""))
    found: dict[str, None] = {}
    for key, value in _parameters(environ.get("CONTENT_TYPE", ""), read_body()):
        template = _NAMED.get((service or "", key))
        if value.startswith("arn:") and (key.endswith(("Arn", "Arns")) or template):
            found[value] = None
        elif template:
            if value.startswith("alias/"):
                template = _KMS_ALIAS
            found[template.format(region=region, account=DEFAULT_ACCOUNT_ID, name=value)] = None
    return tuple(found)

"""ALB access logs as the ALB writes them: gzip files of space-separated entries in S3.

The format is AWS's documented one (``type time elb client:port target:port
request_processing_time target_processing_time response_processing_time elb_status_code
target_status_code received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol
target_group_arn "trace_id" "domain_name" "chosen_cert_arn" matched_rule_priority
request_creation_time "actions_executed" "redirect_url" "error_reason" "target:port_list"
"target_status_code_list" "classification" "classification_reason" conn_trace_id``), under
``<prefix>/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/`` with AWS's file
names; the bucket is the one named in the load balancer's ``access_logs.s3.*`` attributes,
set here as an operator would with ModifyLoadBalancerAttributes.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

BUCKET_PREFIX = "photos-alb-logs"
LOG_PREFIX = "alb"


@dataclass(frozen=True)
class Entry:
    """One request as the ALB logged it. ``target`` is None when the ALB could not reach a
    target (connection error); ``target_time`` is -1 when the target never answered."""

    created: datetime
    done: datetime
    client: str
    target: str | None
    target_time: float
    elb_status: int
    target_status: int | None
    target_group_arn: str
    trace_id: str
    sent_bytes: int


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line(entry: Entry, balancer: str) -> str:
    """The entry in the documented field order; ``balancer`` is ``app/<name>/<id>``."""
    target = entry.target or "-"
    target_status = str(entry.target_status) if entry.target_status is not None else "-"
    answered = entry.target_time >= 0
    return " ".join(
        [
            "http",
            _iso(entry.done),
            balancer,
            entry.client,
            target,
            "0.000",
            f"{entry.target_time:.3f}" if answered else "-1",
            "0.000" if answered else "-1",
            str(entry.elb_status),
            target_status,
            "312",
            str(entry.sent_bytes),
            '"GET http://api.photos.example.com:80/v1/photos HTTP/1.1"',
            '"photos-app/4.2 (okhttp)"',
            "-",
            "-",
            entry.target_group_arn,
            f'"Root={entry.trace_id}"',
            '"api.photos.example.com"',
            '"-"',
            "0",
            _iso(entry.created),
            '"forward"',
            '"-"',
            '"-"',
            f'"{target}"',
            f'"{target_status}"',
            '"-"',
            '"-"',
            "-",
        ]
    )


def file_key(prefix: str, account: str, region: str, balancer: str, end: datetime) -> str:
    """AWS's key: ``…/yyyy/mm/dd/<account>_elasticloadbalancing_<region>_app.<name>.<id>_``
    ``<end>_<ip>_<random>.log.gz``, ``end`` the end of the interval the file covers."""
    dotted = balancer.replace("/", ".")
    suffix = f"{random.getrandbits(40):010x}"
    name = (
        f"{account}_elasticloadbalancing_{region}_{dotted}_{end:%Y%m%dT%H%MZ}_"
        f"10.0.0.{random.randint(10, 250)}_{suffix}.log.gz"
    )
    folder = f"AWSLogs/{account}/elasticloadbalancing/{region}/{end:%Y/%m/%d}"
    return f"{prefix}/{folder}/{name}" if prefix else f"{folder}/{name}"


def enable(s3: Any, elb: Any, load_balancer_arn: str, region: str, short: str) -> tuple[str, str]:
    """A bucket for the ALB's logs, and the ALB's attributes pointing at it."""
    bucket = f"{BUCKET_PREFIX}-{short}"
    where = {"LocationConstraint": region}
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": where}
    s3.create_bucket(Bucket=bucket, **config)
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=load_balancer_arn,
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": bucket},
            {"Key": "access_logs.s3.prefix", "Value": LOG_PREFIX},
        ],
    )
    return bucket, LOG_PREFIX


def write(s3: Any, bucket: str, key: str, lines: list[str]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(("\n".join(lines) + "\n").encode()))

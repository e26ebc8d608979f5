"""The one place ekslift builds boto3 sessions and clients.

Every AWS call of the library goes through :func:`client`, so retry behaviour, timeouts
and the user agent are the same everywhere, and a throttled DescribeCluster in one step is
retried exactly like a throttled GetMetricData in another. The user agent names the step
that calls (``ekslift.useragent``), so each step's calls can be checked against its IAM
policy (docs/iam/) from CloudTrail or the sandbox's request log.

The endpoint is never chosen here: boto3 (since 1.28.57) honours the standard
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` environment variables and the
``endpoint_url`` profile setting, which is how the sandbox (or a VPC endpoint, or
LocalStack) is reached without a code path of its own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config

from ekslift.useragent import user_agent_extra

if TYPE_CHECKING:
    from ekslift.params import AwsParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AwsSettings:
    """How clients retry and wait.

    ``standard`` retries throttling and transient errors with jittered backoff; ``adaptive``
    also rate-limits the client itself after throttling, which suits long scans of many
    clusters sharing one account's API quota.
    """

    retry_mode: Literal["standard", "adaptive"] = "standard"
    max_attempts: int = 8  # in all, the first attempt included (as AWS_MAX_ATTEMPTS counts)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def botocore_config(self) -> Config:
        return Config(
            # botocore's `max_attempts` key counts retries only; `total_max_attempts`
            # counts attempts, the unit the AWS_MAX_ATTEMPTS setting and the CLI use.
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            user_agent_extra=user_agent_extra(),
        )


_lock = threading.Lock()
_settings = AwsSettings()
_sessions: dict[str | None, boto3.Session] = {}
_clients: dict[tuple[str, str, str | None], Any] = {}


def configure(settings: AwsSettings) -> None:
    """Use ``settings`` for clients built from now on (cached clients are dropped)."""
    global _settings
    with _lock:
        _settings = settings
        _clients.clear()


def configure_from(params: AwsParams) -> None:
    """Apply a parameter file's `aws:` section, as every step does before its first call."""
    configure(AwsSettings(retry_mode=params.retry_mode, max_attempts=params.max_attempts))


def settings() -> AwsSettings:
    return _settings


def session(profile: str | None = None) -> boto3.Session:
    """The boto3 session of ``profile`` (None: the default credential chain), cached."""
    with _lock:
        return _session(profile)


def _session(profile: str | None) -> boto3.Session:
    if profile not in _sessions:
        _sessions[profile] = boto3.Session(profile_name=profile)
    return _sessions[profile]


def client(service: str, region: str, profile: str | None = None) -> Any:
    """A boto3 client for ``service`` in ``region``, cached per (service, region, profile).

    boto3 clients are thread-safe once built; sessions are not, hence the lock around
    building them.
    """
    key = (service, region, profile)
    with _lock:
        if key not in _clients:
            log.debug("building %s client for %s (profile %s)", service, region, profile)
            _clients[key] = _session(profile).client(
                service, region_name=region, config=_settings.botocore_config()
            )
        return _clients[key]


def clear_cache() -> None:
    """Forget cached sessions and clients, e.g. after credentials or endpoints changed."""
    with _lock:
        _clients.clear()
        _sessions.clear()

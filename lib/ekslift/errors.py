"""One error root for the whole library, and the exit codes it maps to.

Every error ekslift raises on purpose derives from :class:`EksliftError` and carries the
exit code the CLI returns for it, so the CLI catches one base and never guesses. Two
branches say whose move it is:

- :class:`InputError` (exit 2): the operator gave something unusable (a parameter file, a
  facts file, a target version, a run that does not exist). Fix the input and run again.
- :class:`ReadError` (exit 3): a tool or an API could not be used (Kubernetes, AWS, helm,
  kustomize, Prometheus, a missing binary). The input may be fine; the environment is not.

A library error that wraps another keeps it as its cause (``raise … from exc``), so a
debug log shows the original traceback; messages say what failed, on which object, and
what to do. Exit code 1 is not an error: it is a gate that judged and failed.
"""

from __future__ import annotations

from typing import ClassVar

from botocore.exceptions import BotoCoreError, ClientError

EXIT_PASS = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_TOOL = 3


class EksliftError(Exception):
    """The one base the CLI catches; ``exit_code`` says how a run ends because of it."""

    exit_code: ClassVar[int] = EXIT_TOOL


class InputError(EksliftError):
    """Input the operator must fix: parameters, facts, target version, run directory."""

    exit_code: ClassVar[int] = EXIT_USAGE


class ReadError(EksliftError):
    """An API or tool that could not be used (a helm render that failed, a missing binary).

    ``status`` is the HTTP status of an API's last answer, where there was one.
    """

    exit_code: ClassVar[int] = EXIT_TOOL

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def unreachable(self) -> bool:
        """A tool that ran and failed has answered; only API errors can be unreachable."""
        return False


class ApiReadError(ReadError):
    """An API call (Kubernetes, AWS) that failed after retries.

    A refusal (403, AccessDenied) is an answer: reading steps report it as a finding. An API
    that never answered (connection refused, timeouts, 5xx after retries) means nothing was
    looked at, so a verdict resting on it would be a guess (see :func:`is_unreachable`).
    """

    @property
    def unreachable(self) -> bool:
        return self.status is None or self.status >= 500


class AwsError(ApiReadError):
    """An AWS call that failed after botocore's retries, naming the operation and resource."""

    @classmethod
    def wrap(cls, exc: ClientError | BotoCoreError, what: str) -> AwsError:
        """``raise AwsError.wrap(exc, "DescribeCluster photos-green") from exc``."""
        if isinstance(exc, ClientError):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code", "")
            hint = (
                "the identity lacks an IAM permission; see the README's permissions"
                if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
                else "check the resource name, region and credentials"
            )
            return cls(f"{what}: {code or 'error'}: {exc}. {hint}", status=status)
        return cls(f"{what}: AWS could not be reached: {exc}", status=None)


class SecretLeakError(EksliftError):
    """A file of a run holds a secret (or a planted canary): it is not archived.

    Exit 3 like a tool error: the run's own output is at fault, not its input. Raised
    before anything of the batch is uploaded, because a leak under S3 Object Lock in
    compliance mode could never be deleted. ``hits`` maps each file to what was found in
    it (kind and line, never the value).
    """

    exit_code: ClassVar[int] = EXIT_TOOL

    def __init__(self, hits: dict[str, list[str]]) -> None:
        self.hits = hits
        lines = "\n".join(f"  {path}: {'; '.join(found)}" for path, found in hits.items())
        super().__init__(
            f"secrets found in {len(hits)} file(s) of the run; nothing of them was archived:\n"
            f"{lines}\nFind where the step prints or stores them and drop the values there "
            "(key paths and hashes are fine), then resume the run."
        )


def is_unreachable(exc: BaseException) -> bool:
    """True when an API never answered: the step then ends as a tool error (exit 3)."""
    if isinstance(exc, ReadError):
        return exc.unreachable
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500
    return isinstance(exc, BotoCoreError)

"""The sandbox's AWS side: moto's server over real HTTP, completed where moto 5.2 falls short.

boto3 reaches it like any AWS endpoint, through ``AWS_ENDPOINT_URL``, so the library has no
sandbox-only code path. Three things are added to plain ``ThreadedMotoServer``:

* the EKS and CloudWatch calls moto lacks or gets wrong (``eks_extra``,
  ``cloudwatch_extra``), installed into moto's own routing before the first request;
* a fault hook, so tests (in this process or another) can make an operation fail a few
  times with a throttling or server error and watch botocore retry it:
  ``POST /_sandbox/faults`` with ``{"operation": "DescribeCluster", "status": 400,
  "code": "ThrottlingException", "times": 2}``; ``GET`` lists armed faults,
  ``DELETE`` disarms all;
* a request log (``requestlog``): every AWS request with its operation, the ARNs it acted
  on, user agent and access key, at ``GET /_sandbox/requests`` (``DELETE`` clears it), so
  tests can check the calls of each step (named in the user agent) against its IAM policy;
* ``POST /moto-api/reset`` also clears the added state and the armed faults.

The hook and the reset are a WSGI middleware in front of moto's dispatcher. moto builds
that dispatcher inside its server thread, so :meth:`AwsSandbox.start` wraps it through
the werkzeug server's ``app`` attribute right after start-up, before anyone knows the port.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import botocore.session
from botocore.exceptions import UnknownServiceError
from moto.server import ThreadedMotoServer

from ekslift_sandbox import cloudwatch_extra, eks_extra, podidentity_extra, quotas_extra
from ekslift_sandbox.requestlog import REQUESTS_PATH, RequestLog, since_of
from ekslift_sandbox.requestresources import resources_of

log = logging.getLogger(__name__)

FAULTS_PATH = "/_sandbox/faults"
CREDENTIALS_LIFETIME = timedelta(days=7)
RESET_PATH = "/moto-api/reset"

# SigV4 signing names that differ from botocore's service names (for REST route matching).
_SIGNING_TO_SERVICE = {"monitoring": "cloudwatch", "elasticloadbalancing": "elbv2"}

# What an injected fault says when the caller names no error code: codes botocore's
# retry handlers treat as throttling (400/429) or that go with a transient status.
_DEFAULT_CODES = {
    400: "ThrottlingException",
    429: "TooManyRequestsException",
    500: "InternalFailure",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Fault:
    """An armed fault: the next ``times`` calls of ``operation`` fail with ``status``/``code``.

    ``service`` (botocore's name, e.g. ``eks``) narrows the match when two services share
    an operation name; without it any service matches. ``delay_seconds`` stalls the answer
    first (a slow or hung endpoint, for client timeouts); with ``status`` 0 the call then
    goes through unharmed.
    """

    operation: str
    status: int = 503
    code: str = ""
    message: str = "Fault injected by the ekslift sandbox"
    times: int = 1
    service: str | None = None
    delay_seconds: float = 0.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        if not self.code:
            self.code = _DEFAULT_CODES.get(self.status, "InternalFailure")
        if self.times < 1:
            raise ValueError("times must be at least 1")


class FaultBook:
    """The armed faults, shared by the server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def arm(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, service: str | None, operation: str) -> Fault | None:
        """The first fault matching this call, spending one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.operation == operation and fault.service in (None, service):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None


# ------------------------------------------------------------------ request identification


_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class _Scope:
    """The SigV4 credential scope (``Credential=key/date/region/service/aws4_request``)."""

    access_key: str | None = None
    region: str = "us-east-1"
    signing_name: str | None = None

    @property
    def service(self) -> str | None:
        """botocore's name of the service the request was signed for."""
        name = self.signing_name
        return None if name is None else _SIGNING_TO_SERVICE.get(name, name)


def _scope(environ: dict[str, Any]) -> _Scope:
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return _Scope(*match.groups()) if match else _Scope()


@dataclass(frozen=True)
class _Route:
    """How a REST operation is told apart: method, path, and the query keys and headers
    it always sends (S3's `GET /{Bucket}/{Key+}` is GetObject, with `?retention`
    GetObjectRetention; `PUT` with `x-amz-copy-source` is CopyObject, without PutObject)."""

    method: str
    path: re.Pattern[str]
    query: frozenset[str]
    headers: frozenset[str]
    operation: str

    def matches(self, method: str, path: str, keys: set[str], environ: dict[str, Any]) -> bool:
        return (
            self.method == method
            and self.query <= keys
            and all(h in environ for h in self.headers)
            and bool(self.path.match(path))
        )


def _required_headers(model: Any) -> frozenset[str]:
    """WSGI environ names of the headers an operation's input requires."""
    shape = model.input_shape
    if shape is None:
        return frozenset()
    names = (
        shape.members[m].serialization.get("name", m)
        for m in shape.required_members
        if shape.members[m].serialization.get("location") == "header"
    )
    return frozenset("HTTP_" + n.upper().replace("-", "_") for n in names)


@functools.cache
def _rest_routes(service: str) -> list[_Route]:
    """The routes of a REST service, the most demanding first: more required query keys
    and headers, then the most specific path."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:  # a signing name botocore has no model for
        return []
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        path, _, query = http["requestUri"].partition("?")
        pattern = ""
        for literal, label in re.findall(r"([^{]*)(\{[^}]*\})?", path):
            pattern += re.escape(literal)
            if label:
                pattern += ".+" if label.endswith("+}") else "[^/]+"
        required = frozenset(k.partition("=")[0] for k in query.split("&") if k)
        routes.append(
            _Route(
                http["method"],
                re.compile(f"^{pattern}/?$"),
                required,
                _required_headers(operation),
                name,
            )
        )
    routes.sort(
        key=lambda r: (len(r.query) + len(r.headers), len(r.path.pattern.replace("[^/]+", ""))),
        reverse=True,
    )
    return routes


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so moto still sees it."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def operation_of(environ: dict[str, Any], service: str | None) -> str | None:
    """The operation of a request signed for ``service``, whichever protocol it speaks."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target.rsplit(".", 1)[-1])
    path = environ.get("PATH_INFO", "")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(_read_body(environ).decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    if service:
        method = environ.get("REQUEST_METHOD", "GET")
        keys = set(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        for route in _rest_routes(service):
            if route.matches(method, path, keys, environ):
                return route.operation
    return None


def _fault_response(
    environ: dict[str, Any], service: str | None, fault: Fault
) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error as the caller's protocol spells it, so botocore parses the code."""
    status = f"{fault.status} Injected"
    request_id = str(uuid.uuid4())
    if environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.0")], body
    protocol = "query"
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        try:
            protocol = botocore.session.get_session().get_service_model(service or "").protocol
        except UnknownServiceError:
            protocol = "rest-json"
    if protocol == "rest-json":
        body = json.dumps({"message": fault.message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", fault.code)]
        return status, [*headers, ("x-amzn-RequestId", request_id)], body
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, [("Content-Type", "text/xml")], xml.encode()


# ---------------------------------------------------------------------------- middleware


class SandboxMiddleware:
    """Fault hook, request log and full reset in front of moto's WSGI dispatcher."""

    def __init__(
        self,
        app: WsgiApp,
        faults: FaultBook,
        on_reset: Callable[[], None],
        requests: RequestLog | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.on_reset = on_reset
        self.requests = requests or RequestLog()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == FAULTS_PATH:
            return self._faults_api(environ, start_response)
        if path == REQUESTS_PATH:
            return self._requests_api(environ, start_response)
        if path == RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
            self.on_reset()
            return self.app(environ, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        scope = _scope(environ)
        service = scope.service
        operation = operation_of(environ, service)
        self.requests.record(
            method=environ.get("REQUEST_METHOD", ""),
            path=path,
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            service=service,
            operation=operation,
            access_key=scope.access_key,
            resources=resources_of(
                service, scope.region, environ, functools.partial(_read_body, environ)
            ),
        )
        if self.faults.armed():
            fault = self.faults.take(service, operation) if operation else None
            if fault is not None:
                log.info("injecting %s %s into %s.%s", fault.status, fault.code, service, operation)
                time.sleep(fault.delay_seconds)
                if not fault.status:
                    return self.app(environ, start_response)
                status, headers, body = _fault_response(environ, service, fault)
                start_response(status, [*headers, ("Content-Length", str(len(body)))])
                return [body]
        return self.app(environ, start_response)

    def _requests_api(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "DELETE":
            return _json(start_response, "200 OK", {"cleared": self.requests.clear()})
        since = since_of(environ.get("QUERY_STRING", ""))
        return _json(start_response, "200 OK", {"items": self.requests.since(since)})

    def _faults_api(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "POST":
            try:
                spec = json.loads(_read_body(environ) or b"{}")
                fault = self.faults.arm(Fault(**spec))
            except (TypeError, ValueError) as exc:
                return _json(start_response, "400 Bad Request", {"message": str(exc)})
            return _json(start_response, "201 Created", asdict(fault))
        if method == "GET":
            return _json(
                start_response, "200 OK", {"faults": [asdict(f) for f in self.faults.armed()]}
            )
        if method == "DELETE":
            self.faults.clear()
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        return _json(start_response, "405 Method Not Allowed", {"message": method})


def _json(start_response: StartResponse, status: str, payload: Any) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


# ---------------------------------------------------------------------------------- server


class AwsSandbox:
    """moto's threaded server with the sandbox's additions; one per process.

    moto keeps its backends per process, and so do the additions (``eks`` below), so a
    second sandbox in the same process would share state with the first.

    >>> with AwsSandbox() as aws:                       # doctest: +SKIP
    ...     os.environ.update(aws.environment())
    ...     aws.eks.add_insight("us-east-1", "blue", {...})
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._quiet = quiet
        self.faults = FaultBook()
        self.requests = RequestLog()
        self.eks = eks_extra.STATE
        self._url: str | None = None

    def start(self) -> AwsSandbox:
        eks_extra.install()
        cloudwatch_extra.install()
        # cutover readiness (issue 10): Pod Identity and Service Quotas
        podidentity_extra.install()
        quotas_extra.install()
        if self._quiet:
            # moto's request handler logs every request through werkzeug's logger.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        wsgi_server = self._server._server  # moto exposes no other handle on it
        assert wsgi_server is not None
        wsgi_server.app = SandboxMiddleware(
            wsgi_server.app, self.faults, self._reset_extras, self.requests
        )
        host, port = self._server.get_host_and_port()
        self._url = f"http://{host}:{port}"
        log.info("AWS sandbox listening on %s", self._url)
        return self

    @property
    def url(self) -> str:
        """The endpoint for ``AWS_ENDPOINT_URL``."""
        if self._url is None:
            raise RuntimeError("The AWS sandbox is not running; call start() first.")
        return self._url

    def environment(self) -> dict[str, str]:
        """Environment variables that point boto3 (in any process) at this sandbox.

        The session token comes with an expiry (botocore reads AWS_CREDENTIAL_EXPIRATION), as
        real temporary credentials do: the traffic shift refuses temporary credentials it
        cannot prove will outlive a soak.
        """
        expires = datetime.now(UTC) + CREDENTIALS_LIFETIME
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_CREDENTIAL_EXPIRATION": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def stop(self) -> None:
        if self._url is not None:
            self._server.stop()
            self._url = None

    def reset(self) -> None:
        """Clear all AWS state, moto's and the sandbox's, through the same route as anyone."""
        request = urllib.request.Request(self.url + RESET_PATH, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()

    def arm_fault(self, fault: Fault) -> Fault:
        """Arm a fault from this process (other processes POST to ``/_sandbox/faults``)."""
        return self.faults.arm(fault)

    def _reset_extras(self) -> None:
        self.eks.reset()
        podidentity_extra.STATE.reset()
        quotas_extra.STATE.reset()
        self.faults.clear()
        self.requests.clear()

    def __enter__(self) -> AwsSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

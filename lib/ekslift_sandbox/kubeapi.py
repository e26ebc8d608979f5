"""A small kube-apiserver stand-in served over real HTTP.

No kube-apiserver can be installed on this machine, yet ekslift must reach Kubernetes only
through the official client and kubectl, exactly as it reaches a real cluster. This server
answers the read side of the API faithfully enough for both: ``/version``, discovery,
list/get with label and field selectors, ``limit``/``continue`` pagination (410 Gone on an
expired token), server-side Tables for kubectl, ``Status`` errors, and fault injection
(from this process or another one over HTTP) so tests can exercise retries and failures.
Every request is logged with its user agent (``/_sandbox/requests``, see ``requestlog``)
so tests can check each step's requests against the read-only ClusterRole (docs/iam/).

Objects are stored as dicts together with their serialized JSON, because listing 18,000
pods must be cheap: a page is the cached bytes joined, never a re-dump.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import builtins
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ekslift_sandbox.kubeobjects import custom_resource_definition
from ekslift_sandbox.kubetypes import (
    Obj,
    ResourceType,
    StorageKey,
    TypeRegistry,
    builtin_types,
    get_path,
    split_api_version,
)
from ekslift_sandbox.requestlog import REQUESTS_PATH, RequestLog, since_of

log = logging.getLogger(__name__)

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

_EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter."
)


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class ApiError(Exception):
    """An error the server answers with a ``Status`` object, as the real apiserver does."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        details: Obj | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details = dict(details or {})
        self.retry_after_seconds = retry_after_seconds
        if retry_after_seconds is not None:
            self.details["retryAfterSeconds"] = retry_after_seconds

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(rt: ResourceType, name: str) -> ApiError:
    details = {"name": name, "kind": rt.plural, **({"group": rt.group} if rt.group else {})}
    return ApiError(404, f'{rt.qualified_plural} "{name}" not found', details=details)


# --- selectors --------------------------------------------------------------------------

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[-A-Za-z0-9_.]*"
_SET_RE = re.compile(rf"^({_KEY})\s+(in|notin)\s*\(\s*([^()]*)\)$")
_CMP_RE = re.compile(rf"^({_KEY})\s*(==|=|!=|>|<)\s*({_VALUE})$")
_EXISTS_RE = re.compile(rf"^(!?)\s*({_KEY})$")


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector (``app=web``, ``tier in (a,b)``, ``!canary``)."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.key)
        if self.op == "exists":
            return value is not None
        if self.op == "!exists":
            return value is None
        if self.op in ("=", "in"):
            return value in self.values
        if self.op in ("!=", "notin"):
            return value not in self.values
        if value is None or not value.lstrip("-").isdigit():
            return False
        (bound,) = self.values
        return int(value) > int(bound) if self.op == ">" else int(value) < int(bound)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` value sets."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t.strip() for t in terms]


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse the labelSelector grammar of apimachinery (terms ANDed by commas)."""
    if not text.strip():
        return []
    requirements = []
    for term in _split_terms(text):
        if m := _SET_RE.match(term):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            requirements.append(Requirement(m.group(1), m.group(2), values))
        elif m := _CMP_RE.match(term):
            op = "=" if m.group(2) == "==" else m.group(2)
            if op in (">", "<") and not m.group(3).lstrip("-").isdigit():
                raise ApiError(
                    400, f"unable to parse requirement: {term!r}: value must be an integer"
                )
            requirements.append(Requirement(m.group(1), op, frozenset({m.group(3)})))
        elif m := _EXISTS_RE.match(term):
            requirements.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise ApiError(400, f"unable to parse requirement: found {term!r}")
    return requirements


@dataclass(frozen=True)
class FieldRequirement:
    """One term of a fieldSelector; only equality is defined for fields."""

    path: str
    value: str
    negate: bool

    def matches(self, obj: Obj) -> bool:
        actual = get_path(obj, self.path)
        text = (
            ""
            if actual is None
            else str(actual).lower()
            if isinstance(actual, bool)
            else str(actual)
        )
        return (text == self.value) != self.negate


def parse_field_selector(text: str, rt: ResourceType) -> list[FieldRequirement]:
    """Parse a fieldSelector, refusing fields the real server would not index (400)."""
    if not text.strip():
        return []
    allowed = rt.selectable_fields()
    requirements = []
    for term in (t.strip() for t in text.split(",")):
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", term)
        if not m:
            raise ApiError(400, f"invalid selector: {text!r}; can't understand {term!r}")
        path, op, value = m.groups()
        if path not in allowed:
            raise ApiError(400, f"field label not supported: {path}")
        requirements.append(FieldRequirement(path, value, op == "!="))
    return requirements


# --- storage ----------------------------------------------------------------------------


class _Entry:
    """One stored object: its dict at the storage version and its JSON per served version."""

    __slots__ = ("created_api_version", "encoded", "obj")

    def __init__(self, obj: Obj, created_api_version: str) -> None:
        self.obj = obj
        self.created_api_version = created_api_version
        self.encoded: dict[str, bytes] = {obj["apiVersion"]: _dump(obj)}

    def at(self, rt: ResourceType) -> Obj:
        return rt.to_version(self.obj)

    def encoded_at(self, rt: ResourceType) -> bytes:
        data = self.encoded.get(rt.api_version)
        if data is None:
            data = self.encoded[rt.api_version] = _dump(self.at(rt))
        return data


Key = tuple[str, str]


class _Bucket:
    """All objects of one kind, kept with a lazily sorted key list for paging."""

    def __init__(self) -> None:
        self.entries: dict[Key, _Entry] = {}
        self._keys: list[Key] | None = None

    def put(self, key: Key, entry: _Entry) -> None:
        if key not in self.entries:
            self._keys = None
        self.entries[key] = entry

    def keys(self) -> list[Key]:
        if self._keys is None:
            self._keys = sorted(self.entries)
        return self._keys


@dataclass
class ListPage:
    """One page of a list answer, before encoding as a List or a Table."""

    entries: list[_Entry]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: int | None = None


class ObjectStore:
    """Thread-safe object storage of one fake cluster.

    ``continue_ttl_seconds`` mimics etcd compaction (about five minutes on a real cluster):
    a continue token older than that is answered with 410 Gone; ``expire_continue_tokens``
    forces the same at once, so tests can check that callers restart their list.
    """

    def __init__(self, registry: TypeRegistry, continue_ttl_seconds: float | None = None) -> None:
        self.registry = registry
        self.continue_ttl_seconds = continue_ttl_seconds
        self._lock = threading.RLock()
        self._buckets: dict[StorageKey, _Bucket] = {}
        self._rv = 1
        self._compacted_rv = 0

    @property
    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    def add(self, obj: Obj) -> Obj:
        """Store ``obj`` (ownership passes to the store; do not mutate it afterwards).

        The object is converted to the preferred served version of its kind, while the
        version it was created at is remembered (see :meth:`created_api_version`).
        """
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        storage = self.registry.storage_type(api_version, kind)
        if storage is None:
            raise ValueError(
                f"cannot store {api_version} {kind}: the kind is not served by this cluster; "
                "register its ResourceType first"
            )
        meta = obj.get("metadata") or {}
        name, namespace = meta.get("name"), meta.get("namespace", "")
        if not name:
            raise ValueError(f"cannot store {api_version} {kind} without metadata.name")
        if storage.namespaced != bool(namespace):
            scope = "namespaced" if storage.namespaced else "cluster-scoped"
            raise ValueError(f"{kind} {namespace}/{name}: {kind} is {scope}")
        key = self.registry.storage_key(split_api_version(api_version)[0], kind)
        with self._lock:
            self._rv += 1
            stored = storage.to_version(
                {**obj, "metadata": {**meta, "resourceVersion": str(self._rv)}}
            )
            self._buckets.setdefault(key, _Bucket()).put(
                (namespace, name), _Entry(stored, api_version)
            )
        return stored

    def add_many(self, objs: Iterable[Obj]) -> int:
        count = 0
        for obj in objs:
            self.add(obj)
            count += 1
        return count

    def _bucket(self, rt: ResourceType) -> _Bucket | None:
        return self._buckets.get(self.registry.storage_key(rt.group, rt.kind))

    def get(self, rt: ResourceType, namespace: str, name: str) -> _Entry:
        with self._lock:
            bucket = self._bucket(rt)
            entry = None if bucket is None else bucket.entries.get((namespace, name))
        if entry is None:
            raise not_found(rt, name)
        return entry

    def created_api_version(
        self, api_version: str, kind: str, namespace: str, name: str
    ) -> str | None:
        """The apiVersion an object was created at: the "storage truth" that a scanner can
        only infer from a last-applied annotation, since reads return the served version."""
        key = self.registry.storage_key(split_api_version(api_version)[0], kind)
        with self._lock:
            bucket = self._buckets.get(key)
            entry = None if bucket is None else bucket.entries.get((namespace, name))
        return None if entry is None else entry.created_api_version

    def provenance(self) -> list[Obj]:
        """Every object whose created apiVersion differs from the version it is stored at."""
        with self._lock:
            entries = [e for b in self._buckets.values() for e in b.entries.values()]
        return [
            {
                "kind": e.obj["kind"],
                "namespace": e.obj["metadata"].get("namespace", ""),
                "name": e.obj["metadata"]["name"],
                "createdApiVersion": e.created_api_version,
                "storedApiVersion": e.obj["apiVersion"],
            }
            for e in entries
            if e.created_api_version != e.obj["apiVersion"]
        ]

    def expire_continue_tokens(self) -> str:
        """Compact: every continue token issued so far now gets 410 Gone."""
        with self._lock:
            self._rv += 1
            self._compacted_rv = self._rv
            return str(self._rv)

    def _encode_token(self, last: Key) -> str:
        payload = {"v": "meta.k8s.io/v1", "rv": self._rv, "start": list(last), "iat": time.time()}
        return base64.urlsafe_b64encode(_dump(payload)).decode()

    def _decode_token(self, token: str) -> Key:
        try:
            payload = json.loads(base64.urlsafe_b64decode(token.encode()))
            rv, (namespace, name), issued = payload["rv"], payload["start"], payload["iat"]
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ApiError(400, f"continue key is not valid: {exc}") from exc
        ttl = self.continue_ttl_seconds
        if rv < self._compacted_rv or (ttl is not None and time.time() - issued > ttl):
            raise ApiError(410, _EXPIRED_MESSAGE, reason="Expired")
        return (str(namespace), str(name))

    def list(
        self,
        rt: ResourceType,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> ListPage:
        """List like the apiserver: sorted by namespace/name, filtered, paged.

        ``remainingItemCount`` is given only for unfiltered lists, as the real server does
        (it cannot count matches it has not evaluated).
        """
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector, rt)
        with self._lock:
            bucket = self._bucket(rt)
            rv = str(self._rv)
            keys = [] if bucket is None else bucket.keys()
            lo, hi = 0, len(keys)
            if namespace:
                lo = bisect.bisect_left(keys, (namespace,))
                hi = bisect.bisect_left(keys, (namespace + "\x00",))
            if continue_token:
                lo = max(lo, bisect.bisect_right(keys, self._decode_token(continue_token)))
            page: list[_Entry] = []
            matched_more = False
            entries = bucket.entries if bucket is not None else {}
            for i in range(lo, hi):
                entry = entries[keys[i]]
                if not self._matches(entry.obj, labels, fields):
                    continue
                if limit and len(page) == limit:
                    matched_more = True
                    break
                page.append(entry)
            result = ListPage(page, rv)
            if matched_more:
                last = page[-1].obj["metadata"]
                result.continue_token = self._encode_token(
                    (last.get("namespace", ""), last["name"])
                )
                if not labels and not fields:
                    result.remaining_item_count = hi - i
        return result

    @staticmethod
    def _matches(
        obj: Obj, labels: builtins.list[Requirement], fields: builtins.list[FieldRequirement]
    ) -> bool:
        if labels:
            obj_labels = obj["metadata"].get("labels") or {}
            if not all(r.matches(obj_labels) for r in labels):
                return False
        return all(f.matches(obj) for f in fields)


# --- fault injection --------------------------------------------------------------------


@dataclass
class Fault:
    """A failure (or delay) to inject into matching requests.

    ``path`` is a regular expression searched in the request target (path and query
    string, so ``continue=`` can single out later pages); ``times`` counts down per
    matching request (None: until cleared); ``status`` None injects only the delay.
    """

    path: str
    status: int | None = 500
    times: int | None = 1
    delay_seconds: float = 0.0
    method: str | None = None
    retry_after_seconds: int | None = None
    message: str = ""
    id: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        re.compile(self.path)
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be an HTTP error (4xx/5xx), got {self.status}")
        if self.retry_after_seconds is None and self.status in (429, 503):
            self.retry_after_seconds = 1

    def error(self) -> ApiError:
        assert self.status is not None
        message = self.message or f"injected fault {self.id} ({self.status}) by the sandbox"
        return ApiError(self.status, message, retry_after_seconds=self.retry_after_seconds)


class FaultSet:
    """The faults armed on one server; shared by all request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def clear(self, fault_id: int | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, target: str) -> Fault | None:
        """The first armed fault matching this request, counting the hit."""
        with self._lock:
            for fault in self._faults:
                if fault.method and fault.method.upper() != method:
                    continue
                if not re.search(fault.path, target):
                    continue
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None


# --- HTTP -------------------------------------------------------------------------------


@dataclass
class Response:
    code: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(obj: Any, code: int = 200) -> Response:
    return Response(code, _dump(obj))


def _error(err: ApiError) -> Response:
    headers = {}
    if err.retry_after_seconds is not None:
        headers["Retry-After"] = str(err.retry_after_seconds)
    return Response(err.code, _dump(err.status()), headers=headers)


def _table_version(accept: str) -> str | None:
    """The meta.k8s.io version of Table the client asks for first, if it asks for one."""
    for media in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in media.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            if params.get("v") in ("v1", "v1beta1"):
                return params["v"]
        elif media.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None


def _version_info(git_version: str) -> Obj:
    """``/version`` as EKS answers it: minor carries a ``+`` for vendor builds."""
    m = re.match(r"^v(\d+)\.(\d+)\.(\d+)(.*)$", git_version)
    if not m:
        raise ValueError(f"git_version must look like v1.34.2-eks-113cf36, got {git_version!r}")
    major, minor, vendor = m.group(1), m.group(2), m.group(4)
    return {
        "major": major,
        "minor": minor + ("+" if vendor else ""),
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
        "gitVersion": git_version,
        "gitCommit": hashlib.sha1(git_version.encode()).hexdigest(),
        "gitTreeState": "clean",
        "buildDate": "2025-11-10T09:14:27Z",
        "goVersion": "go1.24.9",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


class _Handler(BaseHTTPRequestHandler):
    """Thin HTTP glue; all API logic lives in :class:`FakeKubeAPIServer`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.api.handle(self.command, self.path, self.headers, body)
        self.send_response(response.code)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.server.api.name, format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: FakeKubeAPIServer) -> None:
        self.api = api
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a retry, a stopped test) is routine here: log
        it instead of socketserver's traceback on stderr."""
        log.debug("connection from %s ended early", client_address, exc_info=True)


@dataclass
class _Route:
    """A parsed resource URL."""

    rt: ResourceType
    namespace: str
    name: str


class FakeKubeAPIServer:
    """One fake cluster's API endpoint, e.g. ``FakeKubeAPIServer("blue", "v1.33.5-eks-3cfe0ce")``.

    Use as a context manager or call :meth:`start`/:meth:`stop`; point a kubeconfig at
    :attr:`url`. Reads only: writes get 405, since ekslift's reading steps never mutate.
    """

    def __init__(
        self,
        name: str,
        git_version: str,
        host: str = "127.0.0.1",
        port: int = 0,
        types: Iterable[ResourceType] | None = None,
        continue_ttl_seconds: float | None = None,
    ) -> None:
        self.name = name
        self.version_info = _version_info(git_version)
        self.registry = TypeRegistry(builtin_types() if types is None else types)
        self.store = ObjectStore(self.registry, continue_ttl_seconds)
        self.faults = FaultSet()
        self.requests = RequestLog()
        self._host, self._port = host, port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        for rt in self.registry.all():
            if rt.custom:
                self._publish_crd(rt)

    # lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeKubeAPIServer:
        if self._httpd is None:
            self._httpd = _HTTPServer((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"kubeapi-{self.name}",
                daemon=True,
            )
            self._thread.start()
            log.info("fake kube-apiserver %s listening on %s", self.name, self.url)
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd = self._thread = None

    def __enter__(self) -> FakeKubeAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"fake kube-apiserver {self.name} is not started")
        host, port = self._httpd.server_address[:2]
        assert isinstance(host, str)  # a bound AF_INET address is text; the stubs allow bytes
        return f"http://{host}:{port}"

    # content --------------------------------------------------------------------------

    def add(self, obj: Obj) -> Obj:
        return self.store.add(obj)

    def add_many(self, objs: Iterable[Obj]) -> int:
        return self.store.add_many(objs)

    def register_type(self, rt: ResourceType) -> None:
        """Serve one more type; custom types also get their CustomResourceDefinition."""
        self.registry.register(rt)
        if rt.custom:
            self._publish_crd(rt)

    def _publish_crd(self, rt: ResourceType) -> None:
        self.store.add(custom_resource_definition(self.registry.served((rt.group, rt.kind))))

    def inject_fault(
        self,
        path: str,
        status: int | None = 500,
        times: int | None = 1,
        delay_seconds: float = 0.0,
        method: str | None = None,
        retry_after_seconds: int | None = None,
        message: str = "",
    ) -> Fault:
        """Arm a fault; see :class:`Fault`. Returns it (its ``hits`` count live)."""
        return self.faults.add(
            Fault(path, status, times, delay_seconds, method, retry_after_seconds, message)
        )

    def clear_faults(self) -> int:
        return self.faults.clear()

    # request handling -----------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        """Answer one request; ``headers`` is anything with ``.get`` (a Message or a dict)."""
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        try:
            if path.startswith("/_sandbox/"):
                return self._control(method, path, body, url.query)
            self.requests.record(
                method=method, path=target, user_agent=headers.get("User-Agent") or ""
            )
            fault = self.faults.take(method, target)
            if fault is not None:
                if fault.delay_seconds:
                    time.sleep(fault.delay_seconds)
                if fault.status is not None:
                    log.info("%s: injected %s on %s %s", self.name, fault.status, method, target)
                    raise fault.error()
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            return self._api(method, path, query, headers.get("Accept") or "")
        except ApiError as err:
            return _error(err)
        except Exception:
            log.exception("%s: error answering %s %s", self.name, method, target)
            return _error(ApiError(500, "internal error in the sandbox apiserver; see its log"))

    def _api(self, method: str, path: str, query: dict[str, str], accept: str) -> Response:
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", content_type="text/plain; charset=utf-8")
        if path == "/version":
            return _json(self.version_info)
        if path == "/api":
            return _json(self._api_versions())
        if path == "/apis":
            return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": self._api_groups()})
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            group = parts[1]
            if len(parts) == 2:
                return _json(self._api_group(group))
            version, rest = parts[2], parts[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        if not rest:
            return _json(self._resource_list(group, version))
        route = self._route(group, version, rest)
        if method != "GET":
            raise ApiError(
                405,
                "the server does not allow this method on the requested resource "
                "(the ekslift sandbox serves reads only)",
            )
        if query.get("watch") in ("1", "true"):
            raise ApiError(405, "watch is not supported by the ekslift sandbox apiserver")
        table = _table_version(accept)
        if route.name:
            entry = self.store.get(route.rt, route.namespace, route.name)
            page = ListPage([entry], self.store.resource_version)
            if table is None:
                return Response(200, entry.encoded_at(route.rt))
            return self._table(route.rt, page, table, query.get("includeObject", "Metadata"))
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise ApiError(400, f"limit must be an integer: {exc}") from exc
        page = self.store.list(
            route.rt,
            route.namespace,
            query.get("labelSelector", ""),
            query.get("fieldSelector", ""),
            limit,
            query.get("continue", ""),
        )
        if table is not None:
            return self._table(route.rt, page, table, query.get("includeObject", "Metadata"))
        return Response(200, self._list_body(route.rt, page))

    def _route(self, group: str, version: str, rest: list[str]) -> _Route:
        """Map ``[namespaces/{ns}/]{plural}[/{name}[/status]]`` to a type and object."""
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = rest[0], rest[1] if len(rest) > 1 else "", rest[2:]
        rt = self.registry.get(group, version, plural)
        if rt is None or (namespace and not rt.namespaced) or sub not in ([], ["status"]):
            raise ApiError(404, "the server could not find the requested resource")
        if name and rt.namespaced and not namespace:
            raise ApiError(404, "the server could not find the requested resource")
        return _Route(rt, namespace, name)

    def _list_body(self, rt: ResourceType, page: ListPage) -> bytes:
        meta: Obj = {"resourceVersion": page.resource_version}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if page.remaining_item_count is not None:
            meta["remainingItemCount"] = page.remaining_item_count
        head = _dump({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta})
        items = b",".join(e.encoded_at(rt) for e in page.entries)
        return head[:-1] + b',"items":[' + items + b"]}"

    def _table(self, rt: ResourceType, page: ListPage, version: str, include: str) -> Response:
        if include not in ("Object", "Metadata", "None"):
            raise ApiError(400, f"includeObject must be Object, Metadata or None, not {include!r}")
        now = datetime.now(UTC)
        rows = []
        for entry in page.entries:
            obj = entry.at(rt)
            row: Obj = {"cells": [c.cell(obj, now) for c in rt.columns]}
            if include == "Object":
                row["object"] = obj
            elif include == "Metadata":
                row["object"] = {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": f"meta.k8s.io/{version}",
                    "metadata": obj["metadata"],
                }
            rows.append(row)
        meta: Obj = {"resourceVersion": page.resource_version}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if page.remaining_item_count is not None:
            meta["remainingItemCount"] = page.remaining_item_count
        table = {
            "kind": "Table",
            "apiVersion": f"meta.k8s.io/{version}",
            "metadata": meta,
            "columnDefinitions": [c.definition() for c in rt.columns],
            "rows": rows,
        }
        return Response(
            200, _dump(table), content_type=f"application/json;as=Table;v={version};g=meta.k8s.io"
        )

    # discovery ------------------------------------------------------------------------

    def _api_versions(self) -> Obj:
        address = self.url.removeprefix("http://")
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
        }

    def _api_groups(self) -> list[Obj]:
        return [
            self._group_entry(group, versions)
            for group, versions in self.registry.groups()
            if group
        ]

    @staticmethod
    def _group_entry(group: str, versions: list[str]) -> Obj:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def _api_group(self, group: str) -> Obj:
        for name, versions in self.registry.groups():
            if name == group and group:
                return {
                    "kind": "APIGroup",
                    "apiVersion": "v1",
                    **self._group_entry(group, versions),
                }
        raise ApiError(404, "the server could not find the requested resource")

    def _resource_list(self, group: str, version: str) -> Obj:
        resources = self.registry.resources(group, version)
        if not resources:
            raise ApiError(404, "the server could not find the requested resource")
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": resources[0].api_version,
            "resources": [rt.discovery() for rt in resources],
        }

    # control API for tests and other processes ----------------------------------------

    def _control(self, method: str, path: str, body: bytes, query: str = "") -> Response:
        if path == REQUESTS_PATH and method == "GET":
            return _json({"items": self.requests.since(since_of(query))})
        if path == REQUESTS_PATH and method == "DELETE":
            return _json({"cleared": self.requests.clear()})
        if path == "/_sandbox/faults" and method == "GET":
            return _json({"faults": [asdict(f) for f in self.faults.list()]})
        if path == "/_sandbox/faults" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
                fault = self.inject_fault(**_fault_args(spec))
            except (ValueError, TypeError, re.error) as exc:
                raise ApiError(400, f"bad fault specification: {exc}") from exc
            return _json(asdict(fault), 201)
        if path == "/_sandbox/faults" and method == "DELETE":
            return _json({"cleared": self.faults.clear()})
        if (m := re.fullmatch(r"/_sandbox/faults/(\d+)", path)) and method == "DELETE":
            return _json({"cleared": self.faults.clear(int(m.group(1)))})
        if path == "/_sandbox/expire-continue-tokens" and method == "POST":
            return _json({"compactedResourceVersion": self.store.expire_continue_tokens()})
        if path == "/_sandbox/created-versions" and method == "GET":
            return _json({"items": self.store.provenance()})
        raise ApiError(404, f"no sandbox control endpoint {method} {path}")


_FAULT_KEYS = {
    "path": "path",
    "status": "status",
    "times": "times",
    "delay_seconds": "delay_seconds",
    "delaySeconds": "delay_seconds",
    "method": "method",
    "retry_after_seconds": "retry_after_seconds",
    "retryAfterSeconds": "retry_after_seconds",
    "message": "message",
}


def _fault_args(spec: Obj) -> Obj:
    """Map a JSON fault specification to :meth:`FakeKubeAPIServer.inject_fault` arguments."""
    if not isinstance(spec, dict) or "path" not in spec:
        raise ValueError('a fault needs at least {"path": "<regex>"}')
    unknown = set(spec) - set(_FAULT_KEYS)
    if unknown:
        raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    return {_FAULT_KEYS[k]: v for k, v in spec.items()}

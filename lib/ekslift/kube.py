"""Kubernetes access for the whole library, built in one place from a kubeconfig context.

Reading steps list large collections (18,000 pods), so lists go through the raw JSON path
(`_preload_content=False`) page by page: building the client's model objects costs ten
times more and buys nothing for an inventory. Transient faults (429, 5xx) are retried by
urllib3 with backoff; an expired `continue` token (410) restarts the list, as kubectl does.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from ekslift.errors import ApiReadError
from ekslift.useragent import user_agent_extra

log = logging.getLogger(__name__)
PAGE_SIZE = 500
# (connect, read) seconds for one request; a page of 500 pods answers in milliseconds, so a
# minute without an answer is a stuck server, retried like a 5xx.
DEFAULT_TIMEOUT = (5.0, 60.0)
_MAX_LIST_RESTARTS = 3


class KubeError(ApiReadError):
    """A Kubernetes call that failed after retries, naming the cluster context and path."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, status=status)


@dataclass(frozen=True)
class ApiResource:
    """One listable resource as discovery reports it (not a fixed list: CRDs included)."""

    group_version: str
    kind: str
    plural: str
    namespaced: bool


def _retries() -> urllib3.Retry:
    return urllib3.Retry(
        total=6,
        connect=3,
        read=3,
        status=6,
        backoff_factor=0.3,
        backoff_max=8,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


@cache
def api_client(context: str, kubeconfig: str | None = None) -> client.ApiClient:
    """An ApiClient for one kubeconfig context (KUBECONFIG or ~/.kube/config by default)."""
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=kubeconfig or os.environ.get("KUBECONFIG"),
            context=context,
            client_configuration=configuration,
        )
    except (config.ConfigException, FileNotFoundError) as exc:
        raise KubeError(
            f"kubeconfig context {context!r}: {exc}. Check `kubectl config get-contexts` and "
            "the kube_context in the parameter file."
        ) from exc
    configuration.retries = _retries()
    api = client.ApiClient(configuration)
    # The step is in the user agent so audit logs attribute each request (docs/iam/).
    api.user_agent = f"{api.user_agent} {user_agent_extra()}"
    return api


class KubeReader:
    """Read-only access to one cluster: raw JSON lists, gets and discovery."""

    def __init__(
        self,
        context: str,
        kubeconfig: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.context = context
        self.timeout = timeout
        self.api = api_client(context, kubeconfig)

    def get_json(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        method, url, headers, body, post = self.api.param_serialize(
            "GET",
            path,
            query_params=query or [],
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(
                method, url, headers, body, post, _request_timeout=self.timeout
            )
        except ApiException as exc:
            raise _api_error(self.context, path, exc.status, exc.reason) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise KubeError(
                f"{self.context}: GET {path} failed: {exc}. Is the cluster reachable?"
            ) from exc
        if not 200 <= response.status < 300:
            raise _api_error(self.context, path, response.status, response.reason)
        return json.loads(response.read())

    def list(
        self,
        path: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of a list path, page by page; restart if the token expires.

        A restart lists from the beginning again (as kubectl does); items already yielded
        are recognised by uid and not yielded twice.
        """
        seen: set[str] = set()
        for _ in range(_MAX_LIST_RESTARTS + 1):
            try:
                yield from self._pages(path, label_selector, field_selector, page_size, seen)
                return
            except _ContinueExpired:
                log.info(
                    "%s: continue token for %s expired, restarting the list", self.context, path
                )
        raise KubeError(f"{self.context}: list {path} kept expiring; the cluster is too busy")

    def _pages(
        self,
        path: str,
        label_selector: str | None,
        field_selector: str | None,
        page_size: int,
        seen: set[str],
    ) -> Iterator[dict[str, Any]]:
        token = ""
        while True:
            query: list[tuple[str, Any]] = [("limit", page_size)]
            if token:
                query.append(("continue", token))
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            try:
                page = self.get_json(path, query)
            except KubeError as exc:
                if token and exc.status == 410:
                    raise _ContinueExpired from exc
                raise
            for item in page.get("items") or []:
                uid = item.get("metadata", {}).get("uid")
                if uid is not None:
                    if uid in seen:
                        continue
                    seen.add(uid)
                yield item
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return

    def server_version(self) -> dict[str, Any]:
        return self.get_json("/version")

    def discover(self) -> builtins.list[ApiResource]:
        """Every listable top-level resource the server serves, at every served version."""
        resources: builtins.list[ApiResource] = []
        group_versions = ["v1"]
        for group in self.get_json("/apis").get("groups", []):
            group_versions += [v["groupVersion"] for v in group.get("versions", [])]
        for gv in group_versions:
            prefix = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            try:
                listing = self.get_json(prefix)
            except KubeError as exc:
                log.warning("%s: discovery of %s failed: %s", self.context, gv, exc)
                continue
            for res in listing.get("resources", []):
                if "/" in res["name"] or "list" not in res.get("verbs", []):
                    continue
                resources.append(ApiResource(gv, res["kind"], res["name"], res["namespaced"]))
        return resources


class _ContinueExpired(Exception):
    pass


def _api_error(context: str, path: str, status: int | None, reason: str | None) -> KubeError:
    hints = {
        401: "the credentials in the kubeconfig were refused; refresh them (aws eks get-token)",
        403: "the identity lacks RBAC permission to read this; see the README's permissions",
        404: "the server does not serve this resource",
        410: "the list continue token expired",
    }
    hint = hints.get(status or 0, "retries are exhausted; check the cluster's health")
    return KubeError(f"{context}: GET {path} answered {status} {reason}: {hint}", status)

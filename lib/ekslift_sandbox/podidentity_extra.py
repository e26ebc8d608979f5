"""EKS Pod Identity associations, which moto 5.2 does not serve (404).

Create, List (filtered by namespace and ServiceAccount, paginated) and Describe, added the
way ``eks_extra`` adds its operations: a response class whose methods moto calls by
operation name, routed from the operations' URIs (botocore's ``requestUri``), every answer
checked against botocore's output shape, errors raised as the modeled EKS exceptions. The
associations live in :data:`STATE`, keyed by account, region and cluster, cleared with
moto's on ``POST /moto-api/reset``.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import moto.eks.urls
from moto.core.responses import ActionResult
from moto.eks.models import eks_backends

from ekslift_sandbox.eks_extra import (
    EksExtraResponse,
    InvalidParameterException,
    ResourceInUseException,
    ResourceNotFoundException,
    paginate,
)

_SUMMARY_KEYS = (
    "clusterName",
    "namespace",
    "serviceAccount",
    "associationArn",
    "associationId",
    "ownerArn",
)


class PodIdentityState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._associations: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def reset(self) -> None:
        with self._lock:
            self._associations.clear()

    def _of(self, account: str, region: str, cluster: str) -> list[dict[str, Any]]:
        if cluster not in eks_backends[account][region].clusters:
            raise ResourceNotFoundException(
                f"No cluster found for name: {cluster}.", cluster_name=cluster
            )
        return self._associations.setdefault((account, region, cluster), [])

    def create(self, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        cluster = params["clusterName"]
        with self._lock:
            rows = self._of(account, region, cluster)
            for row in rows:
                if (row["namespace"], row["serviceAccount"]) == (
                    params["namespace"],
                    params["serviceAccount"],
                ):
                    raise ResourceInUseException(
                        "Association already exists for this namespace and service account.",
                        cluster_name=cluster,
                    )
            association_id = "a-" + uuid.uuid4().hex[:17]
            now = datetime.now(UTC)
            row = {
                "clusterName": cluster,
                "namespace": params["namespace"],
                "serviceAccount": params["serviceAccount"],
                "roleArn": params["roleArn"],
                "associationArn": f"arn:aws:eks:{region}:{account}:podidentityassociation/"
                f"{cluster}/{association_id}",
                "associationId": association_id,
                "tags": dict(params.get("tags") or {}),
                "createdAt": now,
                "modifiedAt": now,
                "disableSessionTags": bool(params.get("disableSessionTags", False)),
            }
            rows.append(row)
            return dict(row)

    def list(self, account: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            rows = [
                {k: row[k] for k in _SUMMARY_KEYS if k in row}
                for row in self._of(account, region, params["clusterName"])
                if params.get("namespace") in (None, row["namespace"])
                and params.get("serviceAccount") in (None, row["serviceAccount"])
            ]
        if params.get("serviceAccount") and not params.get("namespace"):
            raise InvalidParameterException("serviceAccount requires namespace.")
        page, token = paginate(rows, params.get("maxResults"), params.get("nextToken"))
        answer: dict[str, Any] = {"associations": page}
        if token:
            answer["nextToken"] = token
        return answer

    def describe(
        self, account: str, region: str, cluster: str, association_id: str
    ) -> dict[str, Any]:
        with self._lock:
            for row in self._of(account, region, cluster):
                if row["associationId"] == association_id:
                    return dict(row)
        raise ResourceNotFoundException(
            f"No Pod Identity association found for id: {association_id}.", cluster_name=cluster
        )


STATE = PodIdentityState()


class PodIdentityResponse(EksExtraResponse):
    """The Pod Identity operations, on top of the sandbox's EKS responses."""

    def create_pod_identity_association(self) -> ActionResult:
        return self._answer({"association": STATE.create(*self._where, self._input())})

    def list_pod_identity_associations(self) -> ActionResult:
        return self._answer(STATE.list(*self._where, self._input()))

    def describe_pod_identity_association(self) -> ActionResult:
        p = self._input()
        return self._answer(
            {"association": STATE.describe(*self._where, p["clusterName"], p["associationId"])}
        )


URL_PATHS = (
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$",
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$",
)


def install() -> None:
    """Route the Pod Identity URIs (only those) to :class:`PodIdentityResponse`; like
    ``eks_extra.install`` it must run before the server builds its EKS app."""
    for path in URL_PATHS:
        moto.eks.urls.url_paths[path] = PodIdentityResponse.dispatch

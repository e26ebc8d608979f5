"""Service Quotas GetServiceQuota for the quotas moto 5.2 does not know (it knows `vpc` only).

Readiness reads the EC2 On-Demand vCPU quota (`ec2` / `L-1216C47A`) of each region. The
sandbox seeds the applied value per region (:meth:`QuotaState.set_quota`, as an account's
raised quota would read) and answers GetServiceQuota with it in AWS's shape, checked
against botocore's model before it is sent; everything else falls through to moto, which
answers `NoSuchResourceException` for what nobody seeded, as before.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import botocore.session
import moto.servicequotas.urls
from moto.core import DEFAULT_ACCOUNT_ID
from moto.servicequotas.responses import ServiceQuotasResponse

from ekslift_sandbox.eks_extra import check_shape

_SERVICE_NAMES = {"ec2": "Amazon Elastic Compute Cloud (Amazon EC2)"}


@dataclass(frozen=True)
class Quota:
    service_code: str
    quota_code: str
    name: str
    value: float
    unit: str = "None"

    def as_api(self, account: str, region: str) -> dict[str, Any]:
        return {
            "ServiceCode": self.service_code,
            "ServiceName": _SERVICE_NAMES.get(self.service_code, self.service_code),
            "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:"
            f"{self.service_code}/{self.quota_code}",
            "QuotaCode": self.quota_code,
            "QuotaName": self.name,
            "Value": self.value,
            "Unit": self.unit,
            "Adjustable": True,
            "GlobalQuota": False,
            "QuotaAppliedAtLevel": "ACCOUNT",
        }


class QuotaState:
    """Applied quota values by account, region, service and quota code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quotas: dict[tuple[str, str, str, str], Quota] = {}

    def set_quota(self, region: str, quota: Quota, account: str = DEFAULT_ACCOUNT_ID) -> None:
        with self._lock:
            self._quotas[(account, region, quota.service_code, quota.quota_code)] = quota

    def get(self, account: str, region: str, service: str, code: str) -> Quota | None:
        with self._lock:
            return self._quotas.get((account, region, service, code))

    def reset(self) -> None:
        with self._lock:
            self._quotas.clear()


STATE = QuotaState()


def ec2_vcpus(value: float) -> Quota:
    """The quota readiness reads: Running On-Demand Standard instances, in vCPUs."""
    return Quota(
        "ec2",
        "L-1216C47A",
        "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
        value,
    )


class QuotasExtraResponse(ServiceQuotasResponse):
    """moto's Service Quotas responses, with seeded quotas answered first."""

    def get_service_quota(self) -> str:
        params = json.loads(self.body)
        quota = STATE.get(
            self.current_account, self.region, params.get("ServiceCode"), params.get("QuotaCode")
        )
        if quota is None:
            return super().get_service_quota()
        answer = {"Quota": quota.as_api(self.current_account, self.region)}
        model = botocore.session.get_session().get_service_model("service-quotas")
        check_shape(
            answer, model.operation_model("GetServiceQuota").output_shape, "GetServiceQuota"
        )
        return json.dumps(answer)


def install() -> None:
    """Route Service Quotas to :class:`QuotasExtraResponse` (before the first request)."""
    paths = moto.servicequotas.urls.url_paths
    for path in paths:
        paths[path] = QuotasExtraResponse.dispatch

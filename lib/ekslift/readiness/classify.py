"""Which workloads follow the ALB's weights, and which do not, from what the cluster shows.

Only what the ALB serves moves with the weights. A queue consumer, a CronJob, external-dns
or any controller acting outside the cluster runs in both colours at once unless a plan says
otherwise, and does its work twice (or fights over DNS); a volume-backed StatefulSet keeps
its data in one cluster. The label `ekslift.io/cutover-class` overrides what is inferred.
"""

from __future__ import annotations

from ekslift.params import Color, ReadinessParams
from ekslift.readiness.models import (
    WORKLOAD_CLASS_LABEL,
    ClusterFacts,
    Workload,
    WorkloadClass,
)
from ekslift.readiness.rows import ClassifiedWorkload

EXTERNAL_DNS = "external-dns"
_CLASSES: set[str] = {"served", "consumer", "cronjob", "external-dns", "side-effect", "stateful"}


def served(kube: ClusterFacts, target_group_arn: str, extra: list[str]) -> set[str]:
    """Workloads the colour's TargetGroupBinding sends ALB traffic to (through its Service),
    plus those the parameters put on the request path behind them."""
    refs = set(extra)
    for tgb in kube.tgbs or []:
        if tgb.target_group_arn != target_group_arn:
            continue
        selector = (kube.services or {}).get(f"{tgb.namespace}/{tgb.service}") or {}
        refs |= {
            w.ref
            for w in kube.workloads or []
            if w.namespace == tgb.namespace
            and selector
            and all(w.pod_labels.get(k) == v for k, v in selector.items())
        }
    return refs


def is_external_dns(workload: Workload) -> bool:
    return (
        workload.name == EXTERNAL_DNS
        or workload.labels.get("app.kubernetes.io/name") == EXTERNAL_DNS
    )


def classify(
    region: str,
    kube: ClusterFacts,
    target_group_arn: str,
    params: ReadinessParams,
) -> list[ClassifiedWorkload]:
    """Every Deployment, StatefulSet and CronJob of one colour, with its class and why."""
    role: Color = kube.role
    serving = served(kube, target_group_arn, params.request_path)
    consumers = {
        (a.namespace, a.target.split("/", 1)[1])
        for a in kube.autoscalers or []
        if a.kind == "ScaledObject"
    }
    rows = []
    for w in kube.workloads or []:
        klass, why = _class_of(w, serving, consumers, params)
        rows.append(ClassifiedWorkload(region, role, klass, w.kind, w.ref, why))
    for a in kube.autoscalers or []:
        if a.kind == "ScaledJob":
            rows.append(
                ClassifiedWorkload(
                    region,
                    role,
                    "consumer",
                    "ScaledJob",
                    f"{a.namespace}/{a.name}",
                    "KEDA ScaledJob",
                )
            )
    for c in kube.cronjobs or []:
        rows.append(
            ClassifiedWorkload(
                region, role, "cronjob", "CronJob", f"{c.namespace}/{c.name}", "CronJob"
            )
        )
    return rows


def _class_of(
    w: Workload,
    serving: set[str],
    consumers: set[tuple[str, str]],
    params: ReadinessParams,
) -> tuple[WorkloadClass, str]:
    label = w.labels.get(WORKLOAD_CLASS_LABEL)
    if label in _CLASSES:
        return label, f"label {WORKLOAD_CLASS_LABEL}={label}"  # type: ignore[return-value]
    if w.ref in serving:
        return "served", "behind the TargetGroupBinding (or readiness.request_path)"
    if (w.namespace, w.name) in consumers:
        return "consumer", "scaled by a KEDA ScaledObject"
    if is_external_dns(w):
        return "external-dns", "external-dns writes DNS records outside the cluster"
    if w.ref in params.side_effect_controllers:
        return "side-effect", "named in readiness.side_effect_controllers"
    if w.kind == "StatefulSet" and w.has_volumes:
        return "stateful", "StatefulSet with volumeClaimTemplates"
    return "other", ""

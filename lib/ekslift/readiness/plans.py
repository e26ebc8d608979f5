"""Cutover plans for the workloads that do not follow ALB weights, and their state at a share.

Each class present in a region needs a plan in the parameters (`readiness.cutover_plans`),
or the gate fails: without one, CronJobs and consumers run in both colours and do their
work twice, and two external-dns instances fight over the same records. `verify` reads
what the plan implies for a given share of green traffic and compares it with the clusters:
step 1 checks the share the ALB is at now, step 4 the share it is about to set.
"""

from __future__ import annotations

from ekslift.params import Color, CutoverPlans
from ekslift.readiness.classify import is_external_dns
from ekslift.readiness.models import ClusterFacts, RegionFacts, Workload
from ekslift.readiness.rows import CheckRow, ClassifiedWorkload

TXT_OWNER = "--txt-owner-id="
POLICY = "--policy="
_PLAN_KEY = {
    "cronjob": "cronjobs",
    "consumer": "consumers",
    "external-dns": "external_dns",
    "side-effect": "side_effect_controllers",
    "stateful": "stateful",
}
_EXAMPLE = {
    "cronjobs": "{green_from: 100}",
    "consumers": "{green_from: 50, blue_paused_from: 100}",
    "external_dns": "{distinct_owner_ids: true, policy: upsert-only}",
    "side_effect_controllers": "{green_from: 100}",
    "stateful": "{note: how the data follows the cutover}",
}


def judge_presence(
    region: str, workloads: list[ClassifiedWorkload], plans: CutoverPlans
) -> list[CheckRow]:
    rows = []
    for klass, key in _PLAN_KEY.items():
        members = sorted({w.ref for w in workloads if w.klass == klass})
        if not members:
            continue
        planned = getattr(plans, key) is not None
        rows.append(
            CheckRow(
                region,
                "workloads",
                "cutover-plan",
                klass,
                "ok" if planned else "fail",
                f"{len(members)} {klass} workload(s): {', '.join(members[:4])}"
                + (" …" if len(members) > 4 else "")
                + ("" if planned else "; they do not follow ALB weights and have no plan"),
                expected=f"readiness.cutover_plans.{key}",
                action=f"add readiness.cutover_plans.{key}: {_EXAMPLE[key]} to the parameters",
            )
        )
    return rows


def _paused(kube: ClusterFacts, w: Workload) -> bool:
    scaler = next(
        (
            a
            for a in kube.autoscalers or []
            if a.namespace == w.namespace and a.target == f"{w.kind}/{w.name}"
        ),
        None,
    )
    return w.replicas == 0 or bool(scaler and scaler.paused)


def _state_row(
    region: str, klass: str, role: Color, ref: str, running: bool, should_run: bool, how: str
) -> CheckRow:
    return CheckRow(
        region,
        "workloads",
        f"plan-{klass}",
        f"{role}/{ref}",
        "ok" if running == should_run else "fail",
        f"{'running' if running else 'stopped'} on {role}",
        expected=f"{'running' if should_run else 'stopped'} at this share",
        action=how,
        role=role,
    )


def verify(
    facts: RegionFacts, plans: CutoverPlans, share: int, classified: list[ClassifiedWorkload]
) -> list[CheckRow]:
    """Each plan's state in both clusters at `share` % of traffic on green."""
    rows: list[CheckRow] = []
    region = facts.region
    klass_of = {(w.role, w.ref): w.klass for w in classified}
    for role, kube in facts.kube.items():
        if plans.cronjobs is not None:
            green_runs = share >= plans.cronjobs.green_from
            for cron in kube.cronjobs or []:
                should = green_runs if role == "green" else not green_runs
                rows.append(
                    _state_row(
                        region,
                        "cronjob",
                        role,
                        f"{cron.namespace}/{cron.name}",
                        not cron.suspended,
                        should,
                        f"set spec.suspend: {str(not should).lower()} on {role}'s CronJob "
                        f"{cron.namespace}/{cron.name} (in Git)",
                    )
                )
        for w in kube.workloads or []:
            klass = klass_of.get((role, w.ref))
            if klass == "consumer" and plans.consumers is not None:
                should = (
                    share >= plans.consumers.green_from
                    if role == "green"
                    else share < plans.consumers.blue_paused_from
                )
                rows.append(
                    _state_row(
                        region,
                        "consumer",
                        role,
                        w.ref,
                        not _paused(kube, w),
                        should,
                        f"{'remove' if should else 'set'} the annotation "
                        f'autoscaling.keda.sh/paused-replicas: "0" on {role}\'s ScaledObject for '
                        f"{w.ref} (or scale it to {'its replicas' if should else '0'}) in Git",
                    )
                )
            if klass == "side-effect" and plans.side_effect_controllers is not None:
                should = (share >= plans.side_effect_controllers.green_from) == (role == "green")
                rows.append(
                    _state_row(
                        region,
                        "side-effect",
                        role,
                        w.ref,
                        w.replicas > 0,
                        should,
                        f"scale {role}'s {w.ref} to {'1' if should else '0'} replicas (in Git)",
                    )
                )
    if plans.external_dns is not None:
        rows.extend(_external_dns(facts))
    return rows


def _arg(w: Workload, prefix: str) -> str | None:
    return next((a.removeprefix(prefix) for a in w.args if a.startswith(prefix)), None)


def _external_dns(facts: RegionFacts) -> list[CheckRow]:
    found = {
        role: [w for w in kube.workloads or [] if is_external_dns(w)]
        for role, kube in facts.kube.items()
    }
    rows = []
    owners: dict[str, list[str]] = {}
    for role, instances in found.items():
        for w in instances:
            owner = _arg(w, TXT_OWNER) or "default"
            owners.setdefault(owner, []).append(f"{role}/{w.ref}")
            policy = _arg(w, POLICY) or "sync"
            rows.append(
                CheckRow(
                    facts.region,
                    "workloads",
                    "plan-external-dns-policy",
                    f"{role}/{w.ref}",
                    "ok" if policy == "upsert-only" else "fail",
                    f"--policy={policy}",
                    expected="--policy=upsert-only",
                    action=f"in Git, set --policy=upsert-only on {role}'s external-dns: with "
                    "sync, each colour deletes the records the other made",
                    role=role,
                )
            )
    for owner, where in sorted(owners.items()):
        rows.append(
            CheckRow(
                facts.region,
                "workloads",
                "plan-external-dns-owner",
                owner,
                "ok" if len(where) == 1 else "fail",
                f"owner id {owner} used by {', '.join(where)}",
                expected="a distinct --txt-owner-id per colour",
                action="in Git, give green's external-dns its own --txt-owner-id (e.g. "
                f"{owner}-green)",
            )
        )
    return rows

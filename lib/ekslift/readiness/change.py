"""Only one thing changes at a cutover: the Kubernetes version.

On every request-path app, green and blue must run the same chart version and the same
image digests; otherwise a regression at 5 % cannot be pinned on the upgrade, and a
rollback to blue also rolls back an app. And Argo CD must not sync a new revision into
either colour mid-cutover: a deny sync window in the apps' AppProject covers them.
"""

from __future__ import annotations

import fnmatch

from ekslift.argocd import ArgoAppRow
from ekslift.params import Color, ReadinessParams, RegionParams
from ekslift.readiness.classify import served
from ekslift.readiness.models import RegionFacts, SyncWindow
from ekslift.readiness.rows import CheckRow


def _app_of(apps: list[ArgoAppRow], region: str, role: Color, ref: str) -> ArgoAppRow | None:
    namespace, name = ref.split("/", 1)
    return next(
        (
            a
            for a in apps
            if a.where is not None
            and a.where.region == region
            and a.where.role == role
            and a.namespace == namespace
            and a.chart == name
        ),
        None,
    )


def judge_versions(
    facts: RegionFacts, region: RegionParams, readiness: ReadinessParams
) -> list[CheckRow]:
    alb = region.traffic.alb if region.traffic else None
    blue, green = facts.kube.get("blue"), facts.kube.get("green")
    if alb is None or blue is None or green is None:
        return []
    refs = sorted(
        served(blue, alb.blue_target_group_arn, readiness.request_path)
        | served(green, alb.green_target_group_arn, readiness.request_path)
    )
    rows: list[CheckRow] = []
    for ref in refs:
        if facts.apps is not None:
            b_app = _app_of(facts.apps, facts.region, "blue", ref)
            g_app = _app_of(facts.apps, facts.region, "green", ref)
            if b_app and g_app:
                same = b_app.target_revision == g_app.target_revision
                rows.append(
                    CheckRow(
                        facts.region,
                        "one-change",
                        "chart-version",
                        ref,
                        "ok" if same else "fail",
                        f"chart {b_app.chart} {b_app.target_revision} on blue, "
                        f"{g_app.target_revision} on green",
                        expected="the same chart version on both colours",
                        action=f"bump {b_app.name} to {g_app.target_revision} on blue first (and "
                        "let it soak), or pin green's Application to "
                        f"{b_app.target_revision} until the cutover is done",
                    )
                )
        b, g = blue.workload(ref), green.workload(ref)
        if b is None or g is None:
            continue
        if not b.digests or not g.digests:
            rows.append(
                CheckRow(
                    facts.region,
                    "one-change",
                    "image-digest",
                    ref,
                    "fail",
                    "no running pod reports an image digest on "
                    + ("blue" if not b.digests else "green"),
                    expected="the same image digests on both colours",
                    action=f"check that {ref} runs on both colours",
                )
            )
            continue
        rows.append(
            CheckRow(
                facts.region,
                "one-change",
                "image-digest",
                ref,
                "ok" if b.digests == g.digests else "fail",
                "same image digests"
                if b.digests == g.digests
                else f"blue runs {', '.join(sorted(b.digests - g.digests))[:160]}; green runs "
                f"{', '.join(sorted(g.digests - b.digests))[:160]}",
                expected="the same image digests on both colours",
                action=f"pin {ref}'s images by digest to the same values in both colours' "
                "values (in Git) before the cutover",
            )
        )
    return rows


def _covers(window: SyncWindow, app: ArgoAppRow) -> bool:
    if window.kind != "deny" or window.project != app.project:
        return False
    return (
        any(fnmatch.fnmatchcase(app.name, p) for p in window.applications)
        or any(fnmatch.fnmatchcase(app.destination, p) for p in window.clusters)
        or any(fnmatch.fnmatchcase(app.namespace, p) for p in window.namespaces)
    )


def judge_sync_windows(facts: RegionFacts) -> list[CheckRow]:
    """A deny window must cover every app of both colours of this region. Whether its
    schedule is open at the cutover's hours is shown for the operator to confirm."""
    if facts.apps is None or facts.sync_windows is None:
        return []
    rows = []
    roles: tuple[Color, ...] = ("blue", "green")
    for role in roles:
        apps = [
            a
            for a in facts.apps
            if a.where and a.where.region == facts.region and a.where.role == role
        ]
        uncovered = sorted(
            a.name for a in apps if not any(_covers(w, a) for w in facts.sync_windows)
        )
        windows = sorted(
            {
                f"{w.project}: {w.schedule} for {w.duration}"
                for w in facts.sync_windows
                if w.kind == "deny"
            }
        )
        rows.append(
            CheckRow(
                facts.region,
                "one-change",
                "sync-window",
                role,
                "ok" if not uncovered else "fail",
                f"{len(apps) - len(uncovered)} of {len(apps)} apps under a deny window "
                f"({'; '.join(windows) or 'no deny windows'})"
                + (
                    f"; not covered: {', '.join(uncovered[:5])}"
                    + (" …" if len(uncovered) > 5 else "")
                    if uncovered
                    else ""
                ),
                expected="an Argo CD deny sync window over both colours' apps for the cutover",
                action="add to the AppProject spec.syncWindows: {kind: deny, schedule: <cutover "
                "start>, duration: <soaks + rollback window>, applications: [...], "
                "manualSync: true}",
                role=role,
            )
        )
    return rows

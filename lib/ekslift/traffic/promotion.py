"""Dev before prod: a prod shift writes only after the same change passed in a lower
environment, rollback drill included.

Read: the lower environments' runs from the archive (`promotion.archive`, default the
run's own), through `ekslift.stores` and the manifests: each run's target version (its
params copy), its verdicts, the chart version headed for green per app (step 3's
published `chart-diff.json`), its waivers and step 4's state file. Judge: the newest
passing lower run with the same target version is *the* lower run; it must show a drill,
and every difference from this run is listed (target version, chart versions per app:
blockers, since only one thing may change at a cutover; a waiver prod has and the lower
run had not: a warning, since prod then accepts what dev never lived with).

A drill is a rollback that worked: a region of a run in that lower environment, with the
same target version, at or before the passing run, that ended `rolled-back` (a rollback by
`ekslift shift rollback` or by the judge; `rollback-failed` is no drill). The way to make
one: in dev, shift part-way, `ekslift shift rollback`, then a new run that shifts to 100 %.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ekslift import archive
from ekslift.errors import EksliftError
from ekslift.gate import Finding, Severity
from ekslift.params import UpgradeParams
from ekslift.stores import ArchiveStore, open_store
from ekslift.traffic import STEP
from ekslift.traffic.state import STATE_FILE, Record
from ekslift.versions import VersionError, minor_text, parse_minor

log = logging.getLogger(__name__)
# Step 3's published artefact (a file contract: traffic may not import chartdiff).
CHART_DIFF_JSON = "artefacts/03-chart-diff/chart-diff.json"
STATE_PATH = f"artefacts/{STEP}/{STATE_FILE}"
PASSING = ("pass", "warn")


@dataclass(frozen=True)
class LowerRun:
    """What promotion needs of one archived run."""

    run_id: str
    environment: str
    target_version: str | None
    verdict: str
    shift_verdict: str | None
    charts: dict[str, str] | None  # None: step 3 did not run
    waivers: frozenset[str]
    rollbacks: tuple[str, ...]

    @property
    def passing(self) -> bool:
        return self.verdict in PASSING and self.shift_verdict in PASSING


@dataclass(frozen=True)
class Difference:
    what: str
    lower: str
    here: str


@dataclass(frozen=True)
class Promotion:
    required: bool
    lower: LowerRun | None = None
    drill: LowerRun | None = None
    differences: tuple[Difference, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def chart_versions(report: dict[str, Any]) -> dict[str, str]:
    """`namespace/release` → `chart version` headed for green (proposed, else current);
    regions running different versions show all of them."""
    found: dict[str, set[str]] = {}
    for proposal in report.get("proposals", []):
        deployment = proposal["deployment"]
        app = f"{deployment['namespace']}/{deployment['release']}"
        version = proposal.get("proposed") or proposal.get("current") or "?"
        found.setdefault(app, set()).add(f"{deployment['chart']} {version}")
    return {app: ", ".join(sorted(versions)) for app, versions in sorted(found.items())}


def _minor(value: Any) -> str | None:
    try:
        return minor_text(parse_minor(str(value), strict=False))
    except VersionError:
        return None


def _read(store: ArchiveStore, run_id: str, path: str) -> bytes | None:
    try:
        return store.read(run_id, path)
    except FileNotFoundError:
        return None


def read_run(store: ArchiveStore, manifest: archive.Manifest) -> LowerRun:
    run_id = manifest.run_id
    raw = yaml.safe_load(_read(store, run_id, archive.PARAMS_COPY) or b"{}") or {}
    charts = _read(store, run_id, CHART_DIFF_JSON)
    rollbacks = []
    for line in (_read(store, run_id, STATE_PATH) or b"").decode().splitlines():
        try:
            record = Record.from_json(line)
        except (ValueError, KeyError):
            continue  # a torn last line; the drill is in whole records
        if record.kind == "region" and record.data.get("status") == "rolled-back":
            rollbacks.append(f"{record.region} rolled back: {record.data.get('reason', '')}")
    shift = manifest.step(STEP)
    return LowerRun(
        run_id=run_id,
        environment=manifest.environment,
        target_version=_minor(raw.get("target_version")),
        verdict=manifest.verdict,
        shift_verdict=shift.verdict if shift and shift.status == "done" else None,
        charts=chart_versions(json.loads(charts)) if charts is not None else None,
        waivers=frozenset(str(w.get("id")) for w in raw.get("waivers") or []),
        rollbacks=tuple(rollbacks),
    )


def lower_runs(params: UpgradeParams) -> list[LowerRun]:
    """The runs of the required lower environments, oldest first (run ids sort by time)."""
    assert params.promotion is not None
    location = params.promotion.archive or params.archive_dir
    store = open_store(location, params.archive, params.aws.profile)
    wanted = set(params.promotion.requires)
    return [
        read_run(store, manifest)
        for manifest in sorted(archive.list_runs(store), key=lambda m: m.run_id)
        if manifest.environment in wanted
    ]


def this_run_charts(run_dir: Path) -> dict[str, str] | None:
    path = Path(run_dir) / CHART_DIFF_JSON
    return chart_versions(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


def _finding(
    name: str, severity: Severity, title: str, action: str = "", detail: str = ""
) -> Finding:
    return Finding(
        id=f"traffic/promotion/{name}",
        severity=severity,
        title=title,
        detail=detail,
        action=action,
    )


def judge(params: UpgradeParams, runs: list[LowerRun], charts: dict[str, str] | None) -> Promotion:
    """Pick the lower run for this prod run and say everything that keeps it from counting."""
    if not params.is_prod:
        return Promotion(required=False)
    if params.promotion is None:
        return Promotion(
            required=True,
            findings=(
                _finding(
                    "not-configured",
                    "blocker",
                    f"environment {params.environment} is prod but names no lower environment",
                    "set promotion.requires (e.g. [staging]) and promotion.archive if the "
                    "lower runs are archived elsewhere",
                ),
            ),
        )
    requires = ", ".join(params.promotion.requires)
    target = params.target_version
    same = [r for r in runs if r.target_version == target]
    passing = [r for r in same if r.passing]
    if not passing:
        seen = "; ".join(
            f"{r.run_id} ({r.environment}, {r.target_version}, {r.verdict}, "
            f"step 4 {r.shift_verdict or 'not run'})"
            for r in runs[-5:]
        )
        return Promotion(
            required=True,
            findings=(
                _finding(
                    "no-lower-run",
                    "blocker",
                    f"no passing run to {target} in {requires} (steps 1-4, the shift included)",
                    f"run the same change in {requires} first, with a rollback drill (shift, "
                    "`ekslift shift rollback`, then a run that shifts to 100 %)",
                    f"runs seen: {seen or 'none'}",
                ),
            ),
        )
    lower = passing[-1]
    drill = next(
        (
            r
            for r in reversed(same)
            if r.rollbacks and r.environment == lower.environment and r.run_id <= lower.run_id
        ),
        None,
    )
    found = [
        _finding(
            "lower-run",
            "info",
            f"{lower.environment} run {lower.run_id} passed with {target} "
            f"(drill: {drill.run_id if drill else 'none'})",
        )
    ]
    if drill is None:
        found.append(
            _finding(
                "no-drill",
                "blocker",
                f"no rollback drill in {lower.environment} with {target} up to {lower.run_id}",
                f"in {lower.environment}: shift part-way, `ekslift shift rollback`, then run "
                "the shift to 100 % again in a new run",
            )
        )
    differences = [Difference("target version", lower.target_version or "?", target)]
    if charts is None or lower.charts is None:
        where = " and ".join(
            name
            for name, seen in (("this run", charts), (f"run {lower.run_id}", lower.charts))
            if seen is None
        )
        found.append(
            _finding(
                "no-chart-diff",
                "blocker",
                f"step 3 (chart diff) did not run in {where}: chart versions cannot be compared",
                "run the whole runbook (`ekslift run`), step 3 included, in both environments",
            )
        )
    else:
        for app in sorted(charts.keys() | lower.charts.keys()):
            here, there = charts.get(app, "absent"), lower.charts.get(app, "absent")
            differences.append(Difference(f"chart {app}", there, here))
            if here != there:
                found.append(
                    _finding(
                        f"chart/{app}",
                        "blocker",
                        f"{app}: {here} here, {there} in {lower.environment}",
                        f"promote the chart version that ran in {lower.environment}, or run "
                        f"this one there first",
                    )
                )
    waivers = frozenset(w.id for w in params.waivers)
    for waiver in sorted(waivers | lower.waivers):
        here_has, there_has = waiver in waivers, waiver in lower.waivers
        yes_no = ("no", "yes")
        differences.append(Difference(f"waiver {waiver}", yes_no[there_has], yes_no[here_has]))
        if here_has and not there_has:
            found.append(
                _finding(
                    f"waiver/{waiver}",
                    "warning",
                    f"waiver {waiver} is accepted here but was not in {lower.environment}'s "
                    f"run {lower.run_id}",
                    "make sure prod is meant to live with what the lower run never did",
                )
            )
    return Promotion(True, lower, drill, tuple(differences), tuple(found))


def check(params: UpgradeParams, run_dir: Path) -> Promotion:
    """:func:`judge` on the archive; an archive that cannot be read is a blocker too."""
    if not params.is_prod or params.promotion is None:
        return judge(params, [], None)
    try:
        runs = lower_runs(params)
    except (EksliftError, OSError) as exc:
        log.warning("cannot read the lower runs: %s", exc)
        return Promotion(
            required=True,
            findings=(
                _finding(
                    "unreadable",
                    "blocker",
                    f"the lower runs in {params.promotion.archive or params.archive_dir} "
                    "cannot be read",
                    "fix access to the archive (s3:ListBucket, s3:GetObject) and retry",
                    str(exc),
                ),
            ),
        )
    return judge(params, runs, this_run_charts(run_dir))


def blockers(promotion: Promotion) -> list[str]:
    return [
        f"{f.title} ({f.action})" if f.action else f.title
        for f in promotion.findings
        if f.severity == "blocker"
    ]

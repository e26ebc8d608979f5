"""The choice: which version each deployment should run on the target, and why.

Newest first, a candidate must: not be deprecated; pass the controller table (a controller
whose version follows Kubernetes' is judged before anything else); admit the target in its
`kubeVersion`; render cleanly for the target with green's own values (step 2's render +
scan); be older than the minimum release age; and be allowed by the estate's renovate.json.
Among those, one that also runs on blue's own Kubernetes version (with blue's values) is
preferred, so the bump ships to blue first and the cutover changes one thing at a time; when
none does, the proposal says so. Each cluster is judged on its own version: green on the
target, blue on the version it runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from packaging.version import Version

from ekslift.chartdiff.controllers import Controller, judge_controller, retirement
from ekslift.chartdiff.models import CandidateCheck, Deployment, Instance, Proposal, RenderCheck
from ekslift.chartdiff.render import Rendered, Renderer
from ekslift.chartdiff.renovate import RenovatePolicy
from ekslift.chartdiff.repos import ChartEntry, ChartFetchError, ChartSources, RepositoryError
from ekslift.chartdiff.versions import chart_version, jump, satisfies
from ekslift.versions import minor_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChoiceRules:
    """What every proposal of a run is held to."""

    target: Version
    now: datetime
    min_age_days: int = 7
    prereleases: bool = False
    policy: RenovatePolicy = field(default_factory=RenovatePolicy)


@dataclass
class Chooser:
    """Judges deployments; shares the repositories, renders and the table between them."""

    sources: ChartSources
    renderer: Renderer
    controllers: dict[str, Controller]
    rules: ChoiceRules

    def versions(self, deployment: Deployment) -> list[ChartEntry]:
        if deployment.repo_url.startswith("oci://"):
            return self.sources.oci_versions(deployment.repo_url, deployment.chart)
        return self.sources.http_index(deployment.repo_url).get(deployment.chart, [])

    def age_days(self, entry: ChartEntry) -> float | None:
        if entry.created is None:
            return None
        return round((self.rules.now - entry.created).total_seconds() / 86400, 1)

    # -- one cluster -------------------------------------------------------------------
    def _static_reasons(
        self, entry: ChartEntry, kubernetes: Version
    ) -> tuple[list[str], list[str]]:
        """Reasons a version cannot run on `kubernetes` without rendering it, and notes."""
        reasons: list[str] = []
        notes: list[str] = []
        k8s = minor_text(kubernetes)
        controller = self.controllers.get(entry.name)
        if controller is not None:
            verdict = judge_controller(controller, entry.app_version or entry.version, kubernetes)
            if verdict.blocks:
                reasons.append(verdict.reason)
            elif verdict.outcome in ("incompatible", "unknown", "advice"):
                notes.append(verdict.reason)
        if entry.kube_version:
            allowed = satisfies(entry.kube_version, f"{k8s}.0")
            if allowed is False:
                reasons.append(f"its kubeVersion {entry.kube_version!r} excludes Kubernetes {k8s}")
        return reasons, notes

    def _render_on(
        self,
        deployment: Deployment,
        entry: ChartEntry,
        archive: Path,
        instances: list[Instance],
        kubernetes: Version,
    ) -> list[Rendered]:
        done = []
        seen: set[str] = set()
        for instance in instances:
            if instance.values_hash in seen:
                continue
            seen.add(instance.values_hash)
            done.append(
                self.renderer.render(
                    archive,
                    entry.version,
                    kubernetes,
                    release=deployment.release,
                    namespace=deployment.namespace,
                    values=instance.values,
                )
            )
        return done

    def check(
        self, deployment: Deployment, entry: ChartEntry, *, candidate: bool
    ) -> CandidateCheck:
        """Everything about one version: static checks and renders for the target (green's
        values). A `candidate` must also not be deprecated and be allowed by Renovate's
        policy; the current version is only asked whether it runs."""
        target = self.rules.target
        check = CandidateCheck(entry, self.age_days(entry))
        if candidate and entry.deprecated:
            check.reasons.append("deprecated by its maintainers")
        if candidate and not self.rules.policy.allows(entry.name, entry.version):
            check.reasons.append(
                f"not allowed by {self.rules.policy.path} (allowedVersions "
                f"{', '.join(self.rules.policy.allowed_versions(entry.name))})"
            )
        reasons, notes = self._static_reasons(entry, target)
        check.reasons += reasons
        check.notes += notes
        try:
            archive = self.sources.archive(entry)
        except (ChartFetchError, RepositoryError) as exc:
            check.reasons.append(f"archive not fetched: {exc}")
            return check
        if not reasons:
            renders = self._render_on(deployment, entry, archive, deployment.green, target)
            failed = next((r.check for r in renders if not r.check.ok), None)
            check.target = failed or renders[0].check
        return check

    def _blue_checks(
        self, deployment: Deployment, entry: ChartEntry, archive: Path
    ) -> list[RenderCheck]:
        checks = []
        for instance in deployment.blue:
            kubernetes = instance.kube_version
            if kubernetes is None:
                checks.append(
                    RenderCheck(
                        entry.version, "?", False, error=f"{instance.cluster}'s version is unknown"
                    )
                )
                continue
            reasons, _ = self._static_reasons(entry, kubernetes)
            if reasons:
                checks.append(
                    RenderCheck(
                        entry.version, minor_text(kubernetes), False, error="; ".join(reasons)
                    )
                )
                continue
            rendered = self._render_on(deployment, entry, archive, [instance], kubernetes)
            checks += [r.check for r in rendered]
        return checks

    # -- one deployment ----------------------------------------------------------------
    def choose(self, deployment: Deployment) -> Proposal:
        target = minor_text(self.rules.target)
        proposal = Proposal(deployment, target, deployment.current)
        if not deployment.repo_url:
            proposal.not_judged = f"repository {deployment.matched_by or 'unknown'}"
            return proposal
        try:
            entries = self.versions(deployment)
        except RepositoryError as exc:
            proposal.not_judged = str(exc)
            proposal.unreachable = exc.unreachable
            return proposal
        ordered = sorted(
            (e for e in entries if chart_version(e.version) is not None),
            key=lambda e: chart_version(e.version),  # type: ignore[arg-type,return-value]
            reverse=True,
        )
        if not ordered:
            proposal.not_judged = (
                f"{deployment.repo_url} has no versions of chart {deployment.chart}"
            )
            return proposal
        current_version = chart_version(deployment.current)
        visible = [
            e
            for e in ordered
            if self.rules.prereleases
            or not chart_version(e.version).is_prerelease  # type: ignore[union-attr]
            or e.version == deployment.current
        ]
        proposal.latest = visible[0].version
        proposal.latest_age_days = self.age_days(visible[0])
        controller = self.controllers.get(deployment.chart)
        if controller is not None:
            proposal.retired = retirement(controller)
            if controller.note:
                proposal.notes.append(controller.note)
        current_entry = next((e for e in ordered if e.version == deployment.current), None)
        if current_entry is None:
            proposal.notes.append(
                f"the current version {deployment.current} is not in {deployment.repo_url} "
                "(removed from the index?)"
            )
        else:
            proposal.current_check = self.check(deployment, current_entry, candidate=False)
            proposal.controller_warnings = list(proposal.current_check.notes)
            if current_entry.deprecated:
                proposal.notes.append(f"{deployment.chart} {deployment.current} is deprecated")
        if self.rules.policy.ignored(deployment.chart):
            proposal.held_by_renovate = (
                f"{deployment.chart} is in ignoreDeps of {self.rules.policy.path}"
            )
            proposal.notes.append(f"held by Renovate: {proposal.held_by_renovate}")
        newer = [
            e
            for e in visible
            if current_version is None or chart_version(e.version) > current_version  # type: ignore[operator]
        ]
        proposal.behind = _behind(deployment, visible)
        self._pick(proposal, newer)
        return proposal

    def _pick(self, proposal: Proposal, newer: list[ChartEntry]) -> None:
        deployment = proposal.deployment
        target_only: CandidateCheck | None = None
        for entry in newer:
            check = self.check(deployment, entry, candidate=True)
            proposal.candidates.append(check)
            if not check.runs_on_target:
                continue
            if not proposal.cap:
                proposal.cap = entry.version
            age = check.age_days
            if age is not None and age < self.rules.min_age_days:
                check.notes.append(f"{age:g} days old (minimum {self.rules.min_age_days})")
                continue
            check.blue = self._blue_checks(deployment, entry, self.sources.archive(entry))
            if check.runs_on_blue or not deployment.blue:
                self._propose(proposal, check, runs_on_blue=bool(deployment.blue) or None)
                break
            target_only = target_only or check
        else:
            if target_only is not None:
                self._propose(proposal, target_only, runs_on_blue=False)
        current = proposal.current_check
        if not proposal.proposed and current is not None and current.runs_on_target:
            proposal.proposed, proposal.jump = proposal.current, "none"
        self._conclude(proposal)

    def _propose(
        self, proposal: Proposal, check: CandidateCheck, *, runs_on_blue: bool | None
    ) -> None:
        proposal.proposed = check.version
        proposal.proposed_age_days = check.age_days
        proposal.jump = jump(proposal.current, check.version)
        proposal.runs_on_blue = runs_on_blue
        if runs_on_blue is False:
            blue = ", ".join(sorted({c.kubernetes for c in check.blue}))
            proposal.notes.append(
                f"no version newer than {proposal.current} runs on both blue ({blue}) and the "
                f"target: {check.version} ships with the cutover"
            )

    def _conclude(self, proposal: Proposal) -> None:
        """The cap for Renovate and the blockers: what keeps green from running it."""
        target = proposal.target
        current = proposal.current_check
        if not proposal.cap and current is not None and current.runs_on_target:
            proposal.cap = proposal.current
        if proposal.cap and proposal.cap != proposal.latest:
            failing = next((c for c in proposal.candidates if not c.runs_on_target), None)
            proposal.cap_reason = (
                f"{failing.version}: {_why(failing)}" if failing else "newer versions not checked"
            )
        if current is not None and not current.runs_on_target:
            why = _why(current)
            if proposal.proposed:
                proposal.blockers.append(
                    f"{proposal.current} cannot run on Kubernetes {target} ({why}); "
                    f"{proposal.proposed} can"
                )
            else:
                proposal.blockers.append(
                    f"{proposal.current} cannot run on Kubernetes {target} ({why}) and no "
                    "version in the repository can"
                )
        elif current is None and not proposal.proposed:
            proposal.blockers.append(
                f"no version of {proposal.deployment.chart} runs on Kubernetes {target}"
            )


def _behind(deployment: Deployment, visible: list[ChartEntry]) -> dict[str, tuple[int, int | None]]:
    """How far each running version is behind the latest: versions and days."""
    latest = visible[0]
    behind: dict[str, tuple[int, int | None]] = {}
    for version in sorted({i.version for i in deployment.instances}):
        parsed = chart_version(version)
        if parsed is None:
            continue
        count = len([e for e in visible if chart_version(e.version) > parsed])  # type: ignore[operator]
        entry = next((e for e in visible if e.version == version), None)
        days = (
            max(0, (latest.created - entry.created).days)
            if entry is not None and entry.created and latest.created
            else None
        )
        behind[version] = (count, days)
    return behind


def _why(check: CandidateCheck) -> str:
    if check.reasons:
        return "; ".join(check.reasons)
    if check.target is not None and not check.target.ok:
        return check.target.reason
    return "not checked"

"""Renovate, not a Renovate clone: read the estate's `renovate.json`, write rules for it.

Renovate already opens the bump PRs and knows the team's policy; what it cannot know is which
versions run on the target Kubernetes. So step 3 respects what `renovate.json` says
(`ignoreDeps`, `allowedVersions` in `packageRules` matching a chart) and writes a
`packageRules` fragment capping each chart's `allowedVersions` at what runs on the target,
with the reason as the rule's `description`, for the team to merge into its config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ekslift.chartdiff.models import Proposal
from ekslift.chartdiff.versions import satisfies
from ekslift.errors import InputError

RENOVATE_SCHEMA = "https://docs.renovatebot.com/renovate-schema.json"


class RenovateConfigError(InputError):
    """A renovate.json that cannot be read; the message names the file."""


@dataclass(frozen=True)
class RenovatePolicy:
    """What an existing `renovate.json` allows for chart versions."""

    path: str = ""
    ignore_deps: frozenset[str] = frozenset()
    # (package names, allowedVersions) of every rule that sets allowedVersions
    allowed: tuple[tuple[frozenset[str], str], ...] = field(default_factory=tuple)

    def ignored(self, chart: str) -> bool:
        return chart in self.ignore_deps

    def allowed_versions(self, chart: str) -> list[str]:
        return [rule for names, rule in self.allowed if chart in names]

    def allows(self, chart: str, version: str) -> bool:
        """Whether every matching rule's allowedVersions admits `version` (a regex `/.../`
        or a semver range; a range that cannot be read admits nothing, said elsewhere)."""
        for rule in self.allowed_versions(chart):
            if rule.startswith("/") and rule.rstrip("i").endswith("/"):
                flags = re.IGNORECASE if rule.endswith("i") else 0
                if not re.search(rule.rstrip("i")[1:-1], version, flags):
                    return False
            elif not satisfies(rule, version):
                return False
        return True


def _names(rule: Mapping[str, Any]) -> frozenset[str]:
    names: set[str] = set()
    for key in ("matchPackageNames", "matchDepNames", "packageNames", "depNames"):
        value = rule.get(key)
        if isinstance(value, list):
            names |= {str(v) for v in value if not str(v).startswith(("/", "!"))}
    return frozenset(names)


def read_policy(path: Path) -> RenovatePolicy:
    """Read a renovate.json (JSON; comments are not allowed there either)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RenovateConfigError(f"{path}: cannot read renovate config: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise RenovateConfigError(
            f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise RenovateConfigError(f"{path}: a renovate config is a JSON object")
    rules = [
        (_names(rule), str(rule["allowedVersions"]))
        for rule in data.get("packageRules") or []
        if isinstance(rule, dict) and rule.get("allowedVersions")
    ]
    return RenovatePolicy(
        str(path), frozenset(str(d) for d in data.get("ignoreDeps") or []), tuple(rules)
    )


def package_rules(proposals: Iterable[Proposal], target: str) -> dict[str, Any]:
    """The `packageRules` fragment: one rule per chart whose newer versions do not all run on
    the target, capping `allowedVersions` at the newest that does."""
    caps: dict[str, tuple[str, str]] = {}
    for proposal in proposals:
        if proposal.cap and proposal.cap != proposal.latest:
            chart = proposal.deployment.chart
            caps.setdefault(chart, (proposal.cap, proposal.cap_reason))
    rules = [
        {
            "description": f"ekslift chart diff for Kubernetes {target}: {reason}",
            "matchDatasources": ["helm", "docker"],
            "matchPackageNames": [chart],
            "allowedVersions": f"<={cap}",
        }
        for chart, (cap, reason) in sorted(caps.items())
    ]
    return {"$schema": RENOVATE_SCHEMA, "packageRules": rules}


def dependency_table(proposals: Iterable[Proposal]) -> str:
    """A markdown table of every chart dependency: where it runs, current, latest, proposed."""
    lines = [
        "| deployment | chart | repository | clusters | current | latest | proposed | jump "
        "| blockers |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in proposals:
        d = p.deployment
        blockers = "; ".join(p.blockers) or p.not_judged
        lines.append(
            f"| {d.label} ({d.region or '-'}) | {d.chart} | {d.repo_url or d.matched_by} | "
            f"{d.clusters} | {p.current} | {p.latest} | {p.proposed} | {p.jump} | "
            f"{blockers.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"

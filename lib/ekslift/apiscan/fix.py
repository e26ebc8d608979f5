"""Fix help: unified diffs for findings that only need a new apiVersion.

A diff is offered only where it is safe to apply blindly: a plain manifest file (not a
template, not stdin), a fact with ``fields_change: false`` and a replacement of the same
kind.  Everything else gets the fact's note saying what must change, and no diff, because a
half-right automatic edit of an Ingress or a PodDisruptionBudget is worse than none.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .facts import FactSet, Targets
from .sightings import Sighting


@dataclass(frozen=True)
class FixSuggestion:
    """A finding's fix: a diff hunk applied to its file, or the reason there is none."""

    sighting: Sighting
    new_api_version: str | None
    reason: str = ""


@dataclass(frozen=True)
class FixResult:
    patch: str
    suggestions: tuple[FixSuggestion, ...]

    @property
    def manual(self) -> list[FixSuggestion]:
        return [s for s in self.suggestions if s.new_api_version is None]


def plan_fix(sighting: Sighting, facts: FactSet, targets: Targets) -> FixSuggestion:
    """Decide whether ``finding`` can be fixed by rewriting its apiVersion alone."""
    fact = facts.by_id(sighting.rule) if sighting.rule else None
    if fact is None or sighting.status is None:
        return FixSuggestion(sighting, None, "no matching fact")
    if sighting.source != "file" or not sighting.file or sighting.file.startswith("<"):
        return FixSuggestion(sighting, None, "not a plain manifest file; fix it at its source")
    chain = (fact, *facts.replacement_chain(fact, targets))
    if any(hop.fields_change for hop in chain):
        return FixSuggestion(
            sighting, None, facts.note_at(fact, targets) or "fields must change too"
        )
    final = chain[-1]
    if not final.replacement or final.replacement_kind:
        return FixSuggestion(sighting, None, facts.note_at(fact, targets) or "no replacement API")
    return FixSuggestion(sighting, final.replacement)


def _api_line_pattern(old: str) -> re.Pattern[str]:
    # `apiVersion: old`, quoted or not, in block, flow or JSON style, and nothing else.
    return re.compile(
        r"""(?P<pre>["']?apiVersion["']?\s*:\s*["']?)"""
        + re.escape(old)
        + r"""(?P<post>["']?\s*(?:[,}\]#]|$))"""
    )


def _rewrite(lines: list[str], line_no: int, old: str, new: str) -> bool:
    index = line_no - 1
    if not 0 <= index < len(lines):
        return False
    body = lines[index].rstrip("\r\n")
    ending = lines[index][len(body) :]
    pattern = _api_line_pattern(old)
    if len(pattern.findall(body)) != 1:
        return False
    lines[index] = pattern.sub(lambda m: m["pre"] + new + m["post"], body) + ending
    return True


def suggest_fixes(sightings: Iterable[Sighting], facts: FactSet, targets: Targets) -> FixResult:
    """One patch (``git apply``-able) for every file, plus the findings needing a person."""
    suggestions = [plan_fix(f, facts, targets) for f in sightings if f.status]
    by_file: dict[str, list[FixSuggestion]] = defaultdict(list)
    for suggestion in suggestions:
        if suggestion.new_api_version is not None:
            by_file[suggestion.sighting.file or ""].append(suggestion)
    final: list[FixSuggestion] = [s for s in suggestions if s.new_api_version is None]
    patches: list[str] = []
    for path in sorted(by_file):
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            final.extend(
                FixSuggestion(s.sighting, None, f"cannot read file: {exc.strerror}")
                for s in by_file[path]
            )
            continue
        before = raw.decode("utf-8-sig").splitlines(keepends=True)
        after = list(before)
        for suggestion in by_file[path]:
            sighting = suggestion.sighting
            assert suggestion.new_api_version is not None and sighting.line is not None
            if _rewrite(after, sighting.line, sighting.api_version, suggestion.new_api_version):
                final.append(suggestion)
            else:
                final.append(
                    FixSuggestion(
                        sighting, None, "apiVersion is not written on one plain line; edit by hand"
                    )
                )
        if after != before:
            label = path.lstrip("/")
            diff = difflib.unified_diff(before, after, f"a/{label}", f"b/{label}")
            patches.append(
                "".join(
                    line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                    for line in diff
                )
            )
    return FixResult(patch="".join(patches), suggestions=tuple(final))

"""Chart versions and version constraints, read one way for every judgement of step 3.

Chart versions are SemVer 2 (`1.2.3`, `v1.2.3`, `1.3.0-rc.1+build.5`); they are compared
with `packaging` after dropping the `v` and the build metadata (which SemVer ignores for
precedence and `packaging` would not). Constraints come in Masterminds' syntax (a chart's
`kubeVersion: ">=1.29.0-0 <1.33.0-0"`) and npm's (Renovate's `allowedVersions`); both use
the same operators, which is all :func:`satisfies` needs.
"""

from __future__ import annotations

import re
from typing import Literal

from packaging.version import InvalidVersion, Version

Jump = Literal["major", "minor", "patch", "none", "downgrade", ""]
_CLAUSE = re.compile(
    r"^(>=|<=|!=|==|=|>|<|~>|~|\^)?\s*v?([0-9xX*]+(?:\.[0-9xX*]+){0,2})(-[0-9A-Za-z.-]+)?$"
)
_HYPHEN = re.compile(r"^\s*v?(\S+)\s+-\s+v?(\S+)\s*$")


def chart_version(text: str) -> Version | None:
    """A chart version for ordering, or None when it is not SemVer-like."""
    raw = str(text).strip().removeprefix("v").split("+", 1)[0]
    try:
        return Version(raw)
    except InvalidVersion:
        return None


def jump(current: str, proposed: str) -> Jump:
    """How big a bump is: what changes first among major, minor and patch."""
    old, new = chart_version(current), chart_version(proposed)
    if old is None or new is None:
        return ""
    if new == old:
        return "none"
    if new < old:
        return "downgrade"
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    return "patch"


def _parts(text: str) -> tuple[list[int], int]:
    """Numbers of a possibly partial version and how many were given (wildcards stop it)."""
    numbers: list[int] = []
    for part in text.split("."):
        if part in {"x", "X", "*"}:
            break
        numbers.append(int(part))
    return numbers + [0] * (3 - len(numbers)), len(numbers)


def _clause(op: str, text: str, version: Version) -> bool:
    numbers, given = _parts(text)
    bound = Version(".".join(map(str, numbers)))
    release = Version(".".join(map(str, version.release[:3])))
    if op in {"", "=", "=="} and given < 3:
        op = "~" if given else ">="
    if op in {"~", "~>"}:
        upper = [numbers[0] + 1, 0, 0] if given <= 1 else [numbers[0], numbers[1] + 1, 0]
        return bound <= release < Version(".".join(map(str, upper)))
    if op == "^":
        first = next(
            (i for i, n in enumerate(numbers) if n), 2 if given == 3 else max(given, 1) - 1
        )
        upper = numbers[: first + 1]
        upper[first] += 1
        return bound <= release < Version(".".join(map(str, upper + [0] * (3 - len(upper)))))
    compare = {
        "": release == bound,
        "=": release == bound,
        "==": release == bound,
        "!=": release != bound,
        ">": release > bound,
        "<": release < bound,
        ">=": release >= bound,
        "<=": release <= bound,
    }
    return compare[op]


def satisfies(constraint: str, version: str | Version) -> bool | None:
    """Whether `version` meets a Masterminds/npm range (`||` of space- or comma-separated
    clauses, hyphen ranges, `~`, `^`, `x` wildcards); None when the range cannot be read.

    Pre-release suffixes on bounds (`>=1.29.0-0`, helm's idiom to admit EKS's `-eks-`
    builds) are ignored: Kubernetes versions are compared by release numbers.
    """
    parsed = version if isinstance(version, Version) else chart_version(version)
    if parsed is None:
        return None
    if not constraint.strip():
        return True
    for alternative in constraint.split("||"):
        hyphen = _HYPHEN.match(alternative)
        if hyphen:
            alternative = f">={hyphen.group(1)} <={hyphen.group(2)}"
        tokens = re.sub(r"(>=|<=|!=|==|~>|[<>=~^])\s+", r"\1", alternative.replace(",", " "))
        clauses = tokens.split()
        matches = []
        for clause in clauses:
            found = _CLAUSE.match(clause)
            if not found:
                return None
            matches.append(_clause(found.group(1) or "", found.group(2), parsed))
        if matches and all(matches):
            return True
    return False

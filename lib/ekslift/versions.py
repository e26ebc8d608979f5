"""Kubernetes minor versions, read one way everywhere.

Versions arrive spelled many ways: `1.34` in parameters and EKS answers, `v1.34.2-eks-113cf36`
from a kubelet or `/version`, `v1.22.0` in pluto's facts. Every comparison of Kubernetes
versions goes through :func:`parse_minor`, so "is 1.34.2 past 1.34?" has one answer.
"""

from __future__ import annotations

import re

from packaging.version import Version

from ekslift.errors import InputError

_LENIENT = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")
_STRICT = re.compile(r"^v?(\d+)\.(\d+)$")


class VersionError(InputError):
    """Text that is not a Kubernetes version; the message shows the expected form."""


def parse_minor(text: str, *, strict: bool = False) -> Version:
    """`1.34`, `v1.34`, `1.34.2` and `v1.34.2-eks-113cf36` all read as the minor 1.34.

    ``strict`` accepts only a minor (`1.34` or `v1.34`), as parameter files must name one.
    """
    match = (_STRICT if strict else _LENIENT).match(str(text).strip())
    if not match:
        expected = (
            "minor version such as '1.34'"
            if strict
            else "version such as '1.34', 'v1.34.2' or 'v1.34.2-eks-113cf36'"
        )
        raise VersionError(f"expected a Kubernetes {expected}, got {text!r}")
    return Version(f"{int(match.group(1))}.{int(match.group(2))}")


def minor_text(version: Version | str) -> str:
    """The minor as EKS writes it: `1.34`."""
    parsed = version if isinstance(version, Version) else parse_minor(version)
    return f"{parsed.major}.{parsed.minor}"


def next_minor(version: Version | str) -> str:
    parsed = version if isinstance(version, Version) else parse_minor(version)
    return f"{parsed.major}.{parsed.minor + 1}"


def minor_distance(newer: Version | str, older: Version | str) -> int:
    """How many minors `newer` is ahead of `older` (negative when behind)."""
    a = newer if isinstance(newer, Version) else parse_minor(newer)
    b = older if isinstance(older, Version) else parse_minor(older)
    return (a.major - b.major) * 100 + (a.minor - b.minor)


def upgrade_path(current: Version | str, target: Version | str) -> list[str]:
    """Every minor after `current` up to `target`: the hops of an in-place upgrade, which
    EKS takes one minor at a time (empty when `current` is already at or past `target`)."""
    start = current if isinstance(current, Version) else parse_minor(current)
    return [
        f"{start.major}.{start.minor + step}"
        for step in range(1, minor_distance(target, start) + 1)
    ]

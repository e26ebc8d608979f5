"""Helm values merging, the one rule both Argo CD renders and the sandbox's charts follow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def deep_merge(*parts: Mapping[str, Any]) -> dict[str, Any]:
    """Merge value trees left to right: maps merge key by key, anything else is replaced
    (lists included), as helm merges `-f` files and Argo CD merges its value sources."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = deep_merge(merged[key], value)
            else:
                merged[key] = value
    return merged

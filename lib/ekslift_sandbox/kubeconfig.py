"""Kubeconfig files pointing at the sandbox's fake clusters.

ekslift reaches every cluster through a kubeconfig context, sandbox or not; this writes
the file for the sandbox and for tests. The servers speak plain HTTP and check no
credentials, but clients and kubectl expect a user per context, so each gets a dummy token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml


def kubeconfig_dict(clusters: Mapping[str, str], current: str | None = None) -> dict[str, object]:
    """A kubeconfig with one cluster, user and context per ``{context name: server url}``."""
    if not clusters:
        raise ValueError("a kubeconfig needs at least one cluster")
    current = current or next(iter(clusters))
    if current not in clusters:
        raise ValueError(f"current context {current!r} is not one of {sorted(clusters)}")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": url}} for name, url in clusters.items()],
        "users": [
            {"name": f"{name}-user", "user": {"token": "sandbox-token-not-a-secret"}}
            for name in clusters
        ],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": f"{name}-user"}}
            for name in clusters
        ],
        "current-context": current,
    }


def write_kubeconfig(
    path: str | os.PathLike[str], clusters: Mapping[str, str], current: str | None = None
) -> Path:
    """Write the kubeconfig (mode 0600, as kubectl expects of credentials files)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig_dict(clusters, current), sort_keys=False)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return target

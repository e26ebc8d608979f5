"""The compatibility facts the inventory judges against, read from `data/*.yaml`.

Facts are data (with their sources beside them) so that a reviewer can check and update
them without reading code; this module is their one loader and answers the questions the
rules ask ("is AL2 published for 1.35?", "which kube-proxy does EKS recommend?").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any, Literal

import yaml

from ekslift.errors import InputError
from ekslift.versions import parse_minor

log = logging.getLogger(__name__)


@cache
def load(name: str) -> dict[str, Any]:
    """One data file of the inventory (`compat`, `core_addons`, `node_os`)."""
    path = files("ekslift.inventory").joinpath(f"data/{name}.yaml")
    try:
        return yaml.load(path.read_text("utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"inventory facts data/{name}.yaml cannot be read: {exc}") from exc


def ami_supported(ami_type: str, version: str) -> bool:
    fact = load("compat")["ami_types"].get(ami_type)
    if fact is None:
        log.warning("AMI type %s is not in compat.yaml; assuming it is supported", ami_type)
        return True
    if "last" in fact and parse_minor(version) > parse_minor(str(fact["last"])):
        return False
    return not ("first" in fact and parse_minor(version) < parse_minor(str(fact["first"])))


def ami_replacement(ami_type: str) -> str | None:
    return load("compat")["ami_types"].get(ami_type, {}).get("replacement")


def kubelet_max_older(control_plane: str) -> int:
    allowed = 2
    for rule in load("compat")["kubelet_max_older"]:
        if parse_minor(control_plane) >= parse_minor(str(rule["since"])):
            allowed = int(rule["minors"])
    return allowed


# --- node operating systems and runtimes ------------------------------------------------


@dataclass(frozen=True)
class OsFamily:
    family: str
    cgroup: Literal["v1", "v2", "unknown"]
    end_of_support: date | None = None
    last_kubernetes: str | None = None

    def published_for(self, version: str) -> bool:
        """Whether EKS publishes AMIs of this family for `version` (unknown reads as yes)."""
        return self.last_kubernetes is None or parse_minor(version) <= parse_minor(
            self.last_kubernetes
        )


UNKNOWN_OS = OsFamily("unknown", "unknown")


def os_family(os_image: str) -> OsFamily:
    """The family of a node's `status.nodeInfo.osImage` (longest known prefix wins)."""
    matches = [f for f in load("node_os")["families"] if os_image.startswith(f["prefix"])]
    if not matches:
        return UNKNOWN_OS
    best = max(matches, key=lambda f: len(f["prefix"]))
    return OsFamily(
        best["family"],
        best["cgroup"],
        best.get("end_of_support"),
        str(best["last_kubernetes"]) if best.get("last_kubernetes") else None,
    )


def al2_family() -> OsFamily:
    return os_family("Amazon Linux 2")


def karpenter_is_al2(ami_family: str, aliases: list[str]) -> bool:
    """An EC2NodeClass that launches Amazon Linux 2: `amiFamily: AL2` or an `al2@…` alias."""
    facts = load("node_os")["karpenter_al2"]
    alias_families = {a.split("@", 1)[0].lower() for a in aliases}
    return ami_family in facts["ami_families"] or bool(
        alias_families & set(facts["alias_families"])
    )


def cgroup_v1_refused(version: str) -> bool:
    return parse_minor(version) >= parse_minor(str(load("node_os")["cgroup_v1_refused_from"]))


def containerd_1_supported(version: str) -> bool:
    return parse_minor(version) <= parse_minor(str(load("node_os")["containerd_1_last"]))


def containerd_1_last() -> str:
    return str(load("node_os")["containerd_1_last"])


def runtime_major(container_runtime: str) -> tuple[str, int | None]:
    """`containerd://1.7.25` → ("containerd", 1); the major is None when unreadable."""
    name, _, version = container_runtime.partition("://")
    match = re.match(r"v?(\d+)\.", version)
    return name, int(match.group(1)) if match else None


# --- self-managed networking add-ons ----------------------------------------------------


@dataclass(frozen=True)
class CoreComponent:
    """vpc-cni, CoreDNS or kube-proxy as EKS recommends them (`data/core_addons.yaml`)."""

    name: str
    kind: str
    namespace: str
    workload: str
    image_repository: str
    rule: Literal["same-minor", "at-least-recommended"]
    minimum: str | None
    recommended: dict[str, str | None]

    def recommended_for(self, version: str) -> str | None:
        return self.recommended.get(version)


@cache
def core_components() -> tuple[CoreComponent, ...]:
    return tuple(
        CoreComponent(
            name=name,
            kind=fact["workload"]["kind"],
            namespace=fact["workload"]["namespace"],
            workload=fact["workload"]["name"],
            image_repository=fact["image_repository"],
            rule=fact["rule"],
            minimum=fact.get("minimum"),
            recommended={str(k): v for k, v in fact["recommended"].items()},
        )
        for name, fact in load("core_addons")["components"].items()
    )


def upgrade_order() -> list[str]:
    """The components of one hop in the order EKS gives (control plane, add-ons, nodes)."""
    return list(load("core_addons")["upgrade_order"])


def release_key(version: str) -> tuple[int, ...]:
    """`v1.20.4-eksbuild.2` as (1, 20, 4): what EKS's image tags and add-on versions share
    (the eksbuild number and `-minimal-` are packaging, not the upstream release)."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not match:
        raise InputError(f"expected a version such as v1.20.4-eksbuild.2, got {version!r}")
    return tuple(int(n or 0) for n in match.groups())

"""Controllers whose version must follow Kubernetes': a table as data, judged first.

A controller that talks to the API server about nodes or load balancers (cluster-autoscaler,
Karpenter, the AWS Load Balancer Controller) can render cleanly on a version it does not
support and fail only at runtime; its project's compatibility statement is the proof a render
cannot give. The table (``data/controllers.yaml``) says, per controller, which chart names
install it and which app versions support which Kubernetes minors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from packaging.version import Version

from ekslift.chartdiff.versions import chart_version, satisfies
from ekslift.errors import InputError
from ekslift.versions import minor_text, parse_minor

Rule = Literal["minor-matches", "matrix", "eks-addon"]
Outcome = Literal["ok", "incompatible", "unknown", "advice"]


class ControllerTableError(InputError):
    """The controller table cannot be used; the message names the file and entry."""


@dataclass(frozen=True)
class Row:
    app: str
    min_kubernetes: Version | None
    max_kubernetes: Version | None


@dataclass(frozen=True)
class Controller:
    name: str
    charts: tuple[str, ...]
    rule: Rule
    strict: bool = True
    rows: tuple[Row, ...] = ()
    note: str = ""
    retired_on: str = ""
    successors: tuple[str, ...] = ()
    retired_note: str = ""
    eks_addon: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ControllerVerdict:
    """One app version of a controller on one Kubernetes minor."""

    controller: str
    outcome: Outcome
    reason: str
    strict: bool

    @property
    def blocks(self) -> bool:
        return self.outcome == "incompatible" and self.strict


def _minor(value: Any, where: str) -> Version | None:
    if value is None:
        return None
    try:
        return parse_minor(str(value))
    except InputError as exc:
        raise ControllerTableError(f"{where}: {exc}") from exc


def _controller(name: str, entry: Mapping[str, Any], origin: str) -> Controller:
    where = f"{origin}: controllers.{name}"
    rule = entry.get("rule")
    if rule not in ("minor-matches", "matrix", "eks-addon"):
        raise ControllerTableError(f"{where}: rule must be minor-matches, matrix or eks-addon")
    rows = []
    for i, row in enumerate(entry.get("matrix") or []):
        kube = row.get("kubernetes") or {}
        if satisfies(str(row.get("app", "")), "0.0.0") is None:
            raise ControllerTableError(
                f"{where}.matrix[{i}]: app range {row.get('app')!r} unreadable"
            )
        rows.append(
            Row(str(row["app"]), _minor(kube.get("min"), where), _minor(kube.get("max"), where))
        )
    retired = entry.get("retired") or {}
    sources = entry.get("source") or []
    return Controller(
        name=name,
        charts=tuple(str(c) for c in entry.get("charts") or [name]),
        rule=rule,
        strict=bool(entry.get("strict", True)),
        rows=tuple(rows),
        note=" ".join(str(entry.get("note") or "").split()),
        retired_on=str(retired.get("date") or ""),
        successors=tuple(str(s) for s in retired.get("successors") or ()),
        retired_note=" ".join(str(retired.get("note") or "").split()),
        eks_addon=str(entry.get("eks_addon") or ""),
        sources=tuple(str(s) for s in ([sources] if isinstance(sources, str) else sources)),
    )


def load_controllers(path: Path | None = None) -> dict[str, Controller]:
    """The table, by chart name (the built-in one unless `path` is given)."""
    if path is None:
        text = (
            resources.files("ekslift.chartdiff")
            .joinpath("data", "controllers.yaml")
            .read_text(encoding="utf-8")
        )
        origin = "built-in controllers.yaml"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ControllerTableError(f"{path}: cannot read: {exc.strerror}") from exc
        origin = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ControllerTableError(f"{origin}: not valid YAML: {exc}") from exc
    by_chart: dict[str, Controller] = {}
    for name, entry in ((data or {}).get("controllers") or {}).items():
        controller = _controller(str(name), entry, origin)
        for chart in controller.charts:
            by_chart[chart] = controller
    return by_chart


def judge_controller(
    controller: Controller, app_version: str, kubernetes: Version
) -> ControllerVerdict:
    """Whether a controller's app version supports a Kubernetes minor, and why."""
    k8s = minor_text(kubernetes)

    def verdict(outcome: Outcome, reason: str) -> ControllerVerdict:
        return ControllerVerdict(controller.name, outcome, reason, controller.strict)

    if controller.rule == "eks-addon":
        return verdict(
            "advice",
            f"{controller.name} is an EKS add-on ({controller.eks_addon}): prefer the managed "
            "add-on, whose versions for each Kubernetes release step 1 checks",
        )
    app = chart_version(app_version)
    if app is None:
        return verdict(
            "unknown", f"{controller.name}: app version {app_version!r} is not a version"
        )
    if controller.rule == "minor-matches":
        if (app.major, app.minor) == (kubernetes.major, kubernetes.minor):
            return verdict("ok", f"{controller.name} {app_version} matches Kubernetes {k8s}")
        return verdict(
            "incompatible",
            f"{controller.name} {app_version} must match the cluster's minor: Kubernetes {k8s} "
            f"runs {controller.name} {k8s}.x",
        )
    row = next((r for r in controller.rows if satisfies(r.app, app)), None)
    if row is None:
        return verdict(
            "unknown", f"{controller.name} {app_version} is not in the compatibility table"
        )
    low = row.min_kubernetes
    high = row.max_kubernetes
    if (low is None or kubernetes >= low) and (high is None or kubernetes <= high):
        return verdict("ok", f"{controller.name} {app_version} supports Kubernetes {k8s}")
    span = f"{minor_text(low) if low else 'any'}–{minor_text(high) if high else 'newer'}"
    word = "supports" if controller.strict else "is tested on"
    return verdict(
        "incompatible", f"{controller.name} {app_version} {word} Kubernetes {span}, not {k8s}"
    )


def retirement(controller: Controller) -> str:
    """A sentence flagging a retired controller with its successors ('' if maintained)."""
    if not controller.retired_on:
        return ""
    successors = "; ".join(controller.successors)
    return (
        f"{controller.name} was retired upstream on {controller.retired_on}: "
        f"{controller.retired_note} Successors: {successors}."
    )

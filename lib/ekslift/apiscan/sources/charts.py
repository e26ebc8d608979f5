"""Helm charts and kustomizations, rendered by the real tools for the target version.

A chart decides its APIs while rendering (`.Capabilities.APIVersions.Has`, `semverCompare`
on `.Capabilities.KubeVersion`), so scanning its templates as text would both miss and
invent findings. We render with `helm template --kube-version <target>` and pass, with
`--api-versions`, every group/version *and* resource-level entry (`policy/v1/
PodDisruptionBudget`) the target serves. helm's own default list has no resource-level
entries, so without them a chart that asks `Has "policy/v1/PodDisruptionBudget"` would fall
back to a removed API and produce a false finding. (helm's defaults also include group/
versions long removed, and `--api-versions` can only add; a chart that asks for the *old*
API first still sees it -- the render then shows exactly what helm would install.)
"""

from __future__ import annotations

import json
import logging
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

from ekslift.apiscan.contract import SourceResult
from ekslift.apiscan.facts import K8S, FactSet, Targets
from ekslift.apiscan.manifests import RenderRoot, render_root
from ekslift.apiscan.sightings import Evidence, ScanProblem
from ekslift.apiscan.sources.rendered import RenderLabels, scan_rendered
from ekslift.charts.helm import Helm, HelmError
from ekslift.errors import ReadError
from ekslift.redact import redact_text
from ekslift.tools import find_binary

log = logging.getLogger(__name__)

_KUSTOMIZE_TIMEOUT = 120.0
_STDERR_LIMIT = 2000


def target_api_versions(facts: FactSet, target: Version, extra: Iterable[str] = ()) -> list[str]:
    """What `.Capabilities.APIVersions` should hold for a cluster on `target`.

    Derived from the facts: a deprecated API is listed until the release that removes it,
    a replacement from the release that first serves it; both as `group/version` and as
    `group/version/Kind`. What the target no longer serves is never listed. `extra` adds
    entries a real cluster would serve (CRDs found by discovery on the target cluster).
    """
    served: set[str] = set()

    def add(group_version: str, kind: str | None) -> None:
        served.add(group_version)
        if kind:
            served.add(f"{group_version}/{kind}")

    for group_version, kinds in facts.stable_apis.items():
        for kind in kinds:
            add(group_version, kind)
    for fact in facts.facts:
        if fact.component != K8S or fact.stability == "config":  # files, never served
            continue
        if not fact.stability and (fact.removed_in is None or target < fact.removed_in):
            add(fact.group_version, fact.kind)  # alpha and beta APIs are off by default
        if fact.replacement and (
            fact.replacement_available_in is None or target >= fact.replacement_available_in
        ):
            replacement = facts.match(fact.replacement, fact.replacement_kind or fact.kind)
            if replacement is None or (
                not replacement.stability
                and (replacement.removed_in is None or target < replacement.removed_in)
            ):
                add(fact.replacement, fact.replacement_kind or fact.kind)
    served.update(extra)
    return sorted(served)


def kube_version_arg(target: Version) -> str:
    """`--kube-version` for a minor target: the `.0` patch (`v1.34.0`)."""
    return f"v{target.major}.{target.minor}.{target.micro}"


@dataclass(frozen=True)
class ChartRef:
    """A chart to render: a folder, a .tgz, `repo/chart` (added repo) or a repo URL + chart."""

    chart: str
    version: str | None = None
    repo_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> ChartRef:
        """`path`, `chart.tgz`, `repo/chart` or `repo/chart@1.2.3`."""
        if Path(text).exists():
            return cls(text)
        chart, _, version = text.partition("@")
        return cls(chart, version or None)

    @property
    def label(self) -> str:
        where = f"{self.repo_url.rstrip('/')}/" if self.repo_url else ""
        return f"{where}{self.chart}" + (f"@{self.version}" if self.version else "")

    def default_release_name(self) -> str:
        """The chart's name: what `helm install` would usually be given."""
        path = Path(self.chart)
        if path.is_dir():
            return _chart_name_of_dir(path) or path.name
        if path.is_file():
            return _chart_name_of_archive(path) or path.name.split("-")[0]
        return self.chart.rstrip("/").rsplit("/", 1)[-1]


def _chart_name_of_dir(path: Path) -> str | None:
    try:
        meta = yaml.safe_load((path / "Chart.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else None


def _chart_name_of_archive(path: Path) -> str | None:
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = next(
                (m for m in archive if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml")),
                None,
            )
            handle = archive.extractfile(member) if member is not None else None
            meta = yaml.safe_load(handle.read()) if handle is not None else None
    except (OSError, tarfile.TarError, yaml.YAMLError):
        return None
    return str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else None


def render_chart(
    helm: Helm,
    ref: ChartRef,
    targets: Targets,
    api_versions: Sequence[str],
    *,
    release_name: str | None = None,
    namespace: str = "default",
    values: Mapping[str, Any] | None = None,
) -> str:
    """`helm template` of one chart for the target; raises HelmError when it fails."""
    return helm.template(
        ref.chart,
        release_name=release_name or ref.default_release_name(),
        namespace=namespace,
        version=ref.version,
        values=values,
        kube_version=kube_version_arg(targets.kubernetes),
        api_versions=api_versions,
        repo_url=ref.repo_url,
    )


def _helm_reason(stderr: str) -> str:
    """helm's error on one line, without its generic `--debug` advice."""
    lines = [line.strip() for line in stderr.splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("Use --debug"))


def scan_chart(
    helm: Helm,
    ref: ChartRef,
    facts: FactSet,
    targets: Targets,
    *,
    api_versions: Sequence[str] | None = None,
    release_name: str | None = None,
    namespace: str = "default",
    values: Mapping[str, Any] | None = None,
    cluster: str | None = None,
    source: Evidence = "chart",
    label: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SourceResult:
    """Render one chart for the target and scan the render.

    A chart that does not render (a `kubeVersion` constraint that excludes the target, a
    `fail` in a template, an unreachable repository) is a problem naming the chart and
    helm's redacted stderr; the caller's scan goes on.
    """
    name = label or ref.label
    result = SourceResult(label=source)
    if api_versions is None:
        api_versions = target_api_versions(facts, targets.kubernetes)
    try:
        text = render_chart(
            helm,
            ref,
            targets,
            api_versions,
            release_name=release_name,
            namespace=namespace,
            values=values,
        )
    except HelmError as exc:
        result.problems.append(
            ScanProblem(
                name,
                f"helm template failed for Kubernetes {targets.kubernetes}: "
                f"{_helm_reason(exc.stderr)} -- fix the chart reference or pick a chart version "
                "that supports the target",
            )
        )
        result.count("render_failures")
        return result
    labels = RenderLabels(source, name, cluster, namespace, {"chart": ref.label, **(extra or {})})
    sightings, problems = scan_rendered(text, labels, facts, targets)
    result.sightings += sightings
    result.problems += problems
    result.count("rendered")
    return result


class KustomizeError(ReadError):
    """`kubectl kustomize` did not run or failed; carries kubectl's redacted stderr."""


def render_kustomization(path: Path, *, kubectl: Path | None = None) -> str:
    """`kubectl kustomize <dir>`; raises `KustomizeError` with kubectl's redacted stderr."""
    binary = kubectl or find_binary("kubectl")
    try:
        proc = subprocess.run(
            [str(binary), "kustomize", str(path)],
            capture_output=True,
            text=True,
            timeout=_KUSTOMIZE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KustomizeError(f"kubectl kustomize did not run: {exc}") from exc
    if proc.returncode != 0:
        stderr = redact_text(proc.stderr.strip()[-_STDERR_LIMIT:])
        raise KustomizeError(f"kubectl kustomize failed (exit {proc.returncode}): {stderr}")
    return proc.stdout


def scan_kustomization(
    path: Path, facts: FactSet, targets: Targets, *, cluster: str | None = None
) -> SourceResult:
    """Render a kustomization with `kubectl kustomize` and scan what it would apply."""
    result = SourceResult(label="kustomize")
    try:
        text = render_kustomization(path)
    except ReadError as exc:
        result.problems.append(ScanProblem(str(path), f"{exc}; fix the kustomization"))
        result.count("render_failures")
        return result
    sightings, problems = scan_rendered(
        text, RenderLabels("kustomize", str(path), cluster), facts, targets
    )
    result.sightings += sightings
    result.problems += problems
    result.count("rendered")
    return result


def scan_render_root(
    helm: Callable[[], Helm], root: RenderRoot, facts: FactSet, targets: Targets
) -> SourceResult:
    """A chart or kustomization folder met among paths: rendered for the target, as
    `--chart` would; `helm` is called only for a chart (a kustomization needs kubectl)."""
    if root.kind == "kustomization":
        return scan_kustomization(root.path, facts, targets)
    try:
        return scan_chart(helm(), ChartRef(str(root.path)), facts, targets)
    except ReadError as exc:
        result = SourceResult(label="chart")
        result.problems.append(ScanProblem(str(root.path), f"Helm chart not rendered: {exc}"))
        return result


def scan_charts(helm: Helm, refs: Sequence[str], facts: FactSet, targets: Targets) -> SourceResult:
    """Render and scan charts (folder, .tgz, repo/chart[@version]) and kustomizations."""
    total = SourceResult(label="charts")
    api_versions = target_api_versions(facts, targets.kubernetes)
    for text in refs:
        path = Path(text)
        root = render_root(path) if path.is_dir() else None
        if root is not None and root.kind == "kustomization":
            part = scan_kustomization(path, facts, targets)
        else:
            part = scan_chart(helm, ChartRef.parse(text), facts, targets, api_versions=api_versions)
        total.add(part)
    return total


def repo_latest_charts(helm: Helm, repo_name: str) -> list[ChartRef]:
    """The newest version of every chart of a repository added to `helm` (what a bump
    would reach), as `repo/chart@version` references."""
    entries = json.loads(helm.run("search", "repo", f"{repo_name}/", "-o", "json") or "[]")
    return [
        ChartRef(entry["name"], entry["version"])
        for entry in entries
        if str(entry.get("name", "")).startswith(f"{repo_name}/")
    ]

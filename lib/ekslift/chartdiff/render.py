"""The proof: a chart version rendered for one cluster's Kubernetes version, then scanned.

Rendering and scanning are step 2's (`render_chart`, `scan_rendered`: the real `helm template
--kube-version --api-versions`, the same facts), so "runs on the target" means here what the
API scan would say of it. What a render cannot prove by failing is checked too: a render
with no object at all, or with a document that is not YAML, is not clean -- a template that
failed silently must not pass for one that works.

Renders are kept in memory only (they hold Secrets rendered from values), one per chart
archive, Kubernetes version and set of values.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

from ekslift.apiscan.facts import FactSet, Targets
from ekslift.apiscan.sources.charts import ChartRef, render_chart, target_api_versions
from ekslift.apiscan.sources.rendered import RenderLabels, scan_rendered
from ekslift.chartdiff.models import RenderCheck, values_hash
from ekslift.charts.helm import Helm, HelmError
from ekslift.versions import minor_text


def helm_reason(stderr: str) -> str:
    """helm's error on one line, without its generic `--debug` advice."""
    lines = [line.strip() for line in stderr.splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("Use --debug"))


@dataclass(frozen=True)
class Rendered:
    """A render's verdict and its objects (for the diff; kept in memory, never written)."""

    check: RenderCheck
    objects: list[dict[str, Any]] = field(default_factory=list, repr=False)


def _objects(text: str) -> list[dict[str, Any]] | str:
    """The render's objects, or why it cannot be read as manifests."""
    try:
        docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        return f"the render is not valid YAML{where}: a template produced broken output"
    objects = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            return "the render holds a document that is not a Kubernetes object"
        objects.append(doc)
    return objects


class Renderer:
    """Renders and scans chart archives for Kubernetes versions; memoised, thread-safe."""

    def __init__(self, helm: Helm, facts: FactSet) -> None:
        self.helm = helm
        self.facts = facts
        self._api_versions: dict[Version, list[str]] = {}
        self._done: dict[tuple[str, str, str, str, str], Rendered] = {}
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str, str, str, str], threading.Lock] = {}
        self.renders = 0

    def api_versions(self, kubernetes: Version) -> list[str]:
        with self._lock:
            if kubernetes not in self._api_versions:
                self._api_versions[kubernetes] = target_api_versions(self.facts, kubernetes)
            return self._api_versions[kubernetes]

    def render(
        self,
        archive: Path,
        version: str,
        kubernetes: Version,
        *,
        release: str,
        namespace: str,
        values: Mapping[str, Any],
    ) -> Rendered:
        key = (str(archive), str(kubernetes), values_hash(values), release, namespace)
        with self._lock:
            lock = self._keys.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                self._done[key] = self._render(
                    archive, version, kubernetes, release, namespace, values
                )
            return self._done[key]

    def _render(
        self,
        archive: Path,
        version: str,
        kubernetes: Version,
        release: str,
        namespace: str,
        values: Mapping[str, Any],
    ) -> Rendered:
        k8s = minor_text(kubernetes)
        targets = Targets(kubernetes)
        with self._lock:
            self.renders += 1
        try:
            text = render_chart(
                self.helm,
                ChartRef(str(archive)),
                targets,
                self.api_versions(kubernetes),
                release_name=release,
                namespace=namespace,
                values=values,
            )
        except HelmError as exc:
            return Rendered(
                RenderCheck(
                    version, k8s, False, error=f"helm template failed: {helm_reason(exc.stderr)}"
                )
            )
        objects = _objects(text)
        if isinstance(objects, str):
            return Rendered(RenderCheck(version, k8s, False, error=objects))
        if not objects:
            return Rendered(
                RenderCheck(
                    version,
                    k8s,
                    False,
                    error="the render holds no object (a template failed silently?)",
                )
            )
        sightings, problems = scan_rendered(
            text, RenderLabels("chart", f"{archive.name}", None, namespace), self.facts, targets
        )
        removed = sorted({f"{s.api_version} {s.kind}" for s in sightings if s.status == "removed"})
        deprecated = sorted(
            {f"{s.api_version} {s.kind}" for s in sightings if s.status and s.status != "removed"}
        )
        errors = [p.message for p in problems if p.level == "error"]
        error = f"the render could not be scanned: {errors[0]}" if errors else ""
        ok = not removed and not error
        return Rendered(
            RenderCheck(version, k8s, ok, len(objects), tuple(removed), tuple(deprecated), error),
            objects,
        )

"""Step 3's part of the estate: a second chart repository, OCI charts, a GitOps checkout.

Seeded on purpose, each with the proposal and reason step 3 must give (`CHART_DIFF_SEEDS`,
held by the tests), all deployed by Argo CD to us-east-1's blue and green at one version:

* `event-router`: its latest version requires a newer Kubernetes than any target, and the
  one before is two days old: the version before that is proposed;
* `thumbnail-cache`: its latest version renders a removed API (autoscaling/v2beta2);
* `media-worker`: the team's values set `legacyQueue`, which newer versions removed; the
  newest also rejects it in its `values.schema.json`, so its render fails;
* `gallery-export`: its values come from the GitOps checkout (a multi-source app's
  `$values/...` file) and switch on a CronJob that the latest version renders at
  batch/v1beta1: only with those values does the latest fail;
* `photo-events`: only in the OCI registry, deployed by an ApplicationSet;
* the second repository ("community") also holds a `redis` of another home (the release
  is matched to the sandbox repository by home) and a `metrics-server` mirror of the same
  home (ambiguous without the parameters' mapping).

The cluster-autoscaler whose minor does not match is the scenario's own (chart 9.37.0, CA
1.30); Karpenter and external-dns fail the controller table on the target as well.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ekslift.charts.helm import Helm
from ekslift_sandbox import kubeobjects as k
from ekslift_sandbox.chartrepo import (
    FROM_CAPABILITIES,
    ChartRepoServer,
    ChartSpec,
    ChartVersionSpec,
    render_chart,
)
from ekslift_sandbox.kubetypes import custom_type
from ekslift_sandbox.ociregistry import OciRegistry
from ekslift_sandbox.scenario import ARGOCD_NAMESPACE, SERVICE_NAMESPACE, ClusterSpec

GITOPS_REPO_URL = "https://git.example.com/photos/gitops.git"
COMMUNITY_HOME = "https://charts.community.example/"
SANDBOX_HOME = "https://github.com/ekslift/ekslift"
SEED_REGION = "us-east-1"
_CREATED = "org.opencontainers.image.created"

APPLICATION_SET = custom_type(
    "argoproj.io/v1alpha1", "ApplicationSet", "applicationsets", short_names=("appset",)
)


@dataclass(frozen=True)
class SeedVersion:
    """One version of a seeded chart: its age at sandbox start and what makes it differ."""

    version: str
    age_days: int
    kube: str | None = None
    api: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    schema: Mapping[str, Any] | None = None
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedChart:
    name: str
    home: str
    values: Mapping[str, Any]
    versions: tuple[SeedVersion, ...]


def _strict_schema() -> dict[str, Any]:
    """A values.schema.json that refuses keys the chart does not know (as many charts do)."""
    known = yaml.safe_load(
        (Path(__file__).with_name("chart-template") / "values.yaml").read_text(encoding="utf-8")
    )
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "properties": {key: {} for key in known},
    }


COMMUNITY: tuple[SeedChart, ...] = (
    SeedChart(
        "event-router",
        COMMUNITY_HOME + "event-router",
        {"replicaCount": 1},
        (
            SeedVersion("1.0.0", 200),
            SeedVersion("1.1.0", 60, changes=("added: --batch flag",)),
            SeedVersion("1.1.1", 2, changes=("fixed: retry on 429",)),
            SeedVersion(
                "2.0.0", 30, kube=">=1.37.0-0", changes=("changed: needs Kubernetes 1.37",)
            ),
        ),
    ),
    SeedChart(
        "thumbnail-cache",
        COMMUNITY_HOME + "thumbnail-cache",
        {"autoscaling": {"enabled": True}},
        (
            SeedVersion("0.4.0", 300),
            SeedVersion("0.5.0", 120),
            SeedVersion("0.6.0", 40, api={"horizontalPodAutoscaler": "autoscaling/v2beta2"}),
        ),
    ),
    SeedChart(
        "media-worker",
        COMMUNITY_HOME + "media-worker",
        {"replicaCount": 1},
        (
            SeedVersion("1.2.0", 300, values={"legacyQueue": {"enabled": False, "url": ""}}),
            SeedVersion("1.3.0", 100, changes=("removed: legacyQueue (use the queue Service)",)),
            SeedVersion("2.0.0", 40, schema=_strict_schema()),
        ),
    ),
    SeedChart(
        "gallery-export",
        COMMUNITY_HOME + "gallery-export",
        {"cronJob": {"enabled": False, "schedule": "0 1 * * *"}},
        (
            SeedVersion("1.0.0", 200),
            SeedVersion("1.1.0", 50, api={"cronJob": "batch/v1beta1"}),
        ),
    ),
    SeedChart("redis", "https://github.com/bitnami/charts", {}, (SeedVersion("20.0.0", 30),)),
    SeedChart("metrics-server", SANDBOX_HOME, {}, (SeedVersion("3.12.1", 150),)),
)
OCI: tuple[SeedChart, ...] = (
    SeedChart(
        "photo-events",
        COMMUNITY_HOME + "photo-events",
        {"replicaCount": 1},
        (SeedVersion("0.1.0", 150), SeedVersion("0.2.0", 45)),
    ),
)

#: What step 3 must propose for each seeded app, and the reason a newer version is refused.
CHART_DIFF_SEEDS: Mapping[str, tuple[str, str]] = {
    "event-router": ("1.1.0", "excludes Kubernetes"),
    "thumbnail-cache": ("0.5.0", "autoscaling/v2beta2 HorizontalPodAutoscaler"),
    "media-worker": ("1.3.0", "values don't meet the specifications of the schema"),
    "gallery-export": ("1.0.0", "batch/v1beta1 CronJob"),
    "photo-events": ("0.2.0", ""),
}
#: The team's values, inline in the Application (media-worker) or in the checkout.
APP_VALUES: Mapping[str, Mapping[str, Any]] = {
    "media-worker": {"legacyQueue": {"enabled": True}},
}
CHECKOUT_VALUES: Mapping[str, Mapping[str, Any]] = {
    "gallery-export": {"cronJob": {"enabled": True, "args": ["--export"]}},
}


def _package(helm: Helm, chart: SeedChart, version: SeedVersion, now: datetime, out: Path) -> Path:
    spec = ChartSpec(
        chart.name,
        f"{chart.name} (chart diff seed)",
        "service",
        chart.values,
        (
            ChartVersionSpec(
                version.version,
                version.version,
                {**FROM_CAPABILITIES, **version.api},
                version.kube,
                version.values,
            ),
        ),
    )
    with tempfile.TemporaryDirectory(prefix=f"{chart.name}-") as tmp:
        chart_dir = render_chart(spec, spec.versions[0], Path(tmp))
        meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
        created = (now - timedelta(days=version.age_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["home"] = chart.home
        meta["annotations"] = {_CREATED: created}
        if version.changes:
            meta["annotations"]["artifacthub.io/changes"] = yaml.safe_dump(
                [
                    {"kind": c.split(":")[0], "description": c.split(":", 1)[1].strip()}
                    for c in version.changes
                ]
            )
        (chart_dir / "Chart.yaml").write_text(
            yaml.safe_dump(meta, sort_keys=False), encoding="utf-8"
        )
        if version.changes:
            (chart_dir / "CHANGELOG.md").write_text(
                f"# Changelog\n\n## {version.version}\n\n"
                + "".join(f"- {c}\n" for c in version.changes),
                encoding="utf-8",
            )
        if version.schema is not None:
            (chart_dir / "values.schema.json").write_text(
                json.dumps(version.schema), encoding="utf-8"
            )
        return helm.package(chart_dir, out)


def _date_community_index(index: Path, now: datetime) -> None:
    """`helm repo index` stamps the indexing time; give each version its publication date."""
    data = yaml.safe_load(index.read_text(encoding="utf-8"))
    ages = {(c.name, v.version): v.age_days for c in COMMUNITY for v in c.versions}
    for name, entries in data.get("entries", {}).items():
        for entry in entries:
            published = now - timedelta(days=ages[(name, entry["version"])])
            entry["created"] = published.strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    index.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def serve_community_repo(directory: Path, helm: Helm, now: datetime) -> ChartRepoServer:
    """The second HTTP repository, rebuilt at every start (publication dates follow `now`)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for chart in COMMUNITY:
        for version in chart.versions:
            _package(helm, chart, version, now, directory)
    _date_community_index(helm.repo_index(directory), now)
    return ChartRepoServer(directory).start()


def push_oci_charts(registry: OciRegistry, helm: Helm, work: Path, now: datetime) -> None:
    """`helm push --plain-http` every OCI-only chart version."""
    work.mkdir(parents=True, exist_ok=True)
    for chart in OCI:
        for version in chart.versions:
            archive = _package(helm, chart, version, now, work)
            helm.push(archive, registry.url, plain_http=True)


def write_checkout(directory: Path) -> Path:
    """The GitOps repository's checkout: apps' value files and the estate's renovate.json."""
    for app, values in CHECKOUT_VALUES.items():
        path = directory / "apps" / app / "values.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(dict(values)), encoding="utf-8")
    renovate = {
        "$schema": "https://docs.renovatebot.com/renovate-schema.json",
        "extends": ["config:recommended"],
        "ignoreDeps": ["argo-rollouts"],
        "packageRules": [
            {
                "description": "photos team: redis majors need a data migration",
                "matchPackageNames": ["redis"],
                "allowedVersions": "<20.0.0",
            }
        ],
    }
    (directory / "renovate.json").write_text(
        json.dumps(renovate, indent=2) + "\n", encoding="utf-8"
    )
    return directory


def _app(name: str, spec: dict[str, Any], version: str, owner: str | None = None) -> dict[str, Any]:
    obj = k.custom(
        "argoproj.io/v1alpha1",
        "Application",
        ARGOCD_NAMESPACE,
        name,
        spec=spec,
        status={"sync": {"status": "Synced", "revision": version}, "health": {"status": "Healthy"}},
        created=datetime(2026, 6, 1, tzinfo=UTC),
    )
    if owner:
        obj["metadata"]["ownerReferences"] = [
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "ApplicationSet",
                "name": owner,
                "uid": owner,
            }
        ]
    return obj


def _current(chart: SeedChart) -> str:
    return chart.versions[0].version


def chart_diff_seeds(
    specs: list[ClusterSpec], community_url: str, oci_url: str | None
) -> list[dict[str, Any]]:
    """Applications (and the ApplicationSet) deploying the seeded charts to us-east-1."""
    clusters = [s for s in specs if s.region == SEED_REGION and s.role in ("blue", "green")]
    objects: list[dict[str, Any]] = []
    for chart in COMMUNITY[:4]:
        for spec in clusters:
            source: dict[str, Any] = {
                "repoURL": community_url,
                "chart": chart.name,
                "targetRevision": _current(chart),
                "helm": {
                    "releaseName": chart.name,
                    "valuesObject": dict(APP_VALUES.get(chart.name, {})),
                },
            }
            sources = [source]
            if chart.name in CHECKOUT_VALUES:
                source["helm"]["valueFiles"] = [f"$values/apps/{chart.name}/values.yaml"]
                sources.append(
                    {"repoURL": GITOPS_REPO_URL, "targetRevision": "main", "ref": "values"}
                )
            app_spec = {
                "project": "photos",
                "sources": sources,
                "destination": {"name": spec.name, "namespace": SERVICE_NAMESPACE},
            }
            objects.append(_app(f"{chart.name}-{spec.short}", app_spec, _current(chart)))
    if oci_url is None:
        return objects
    chart = OCI[0]
    template = {
        "metadata": {"name": f"{chart.name}-{{{{short}}}}"},
        "spec": {
            "project": "photos",
            "source": {
                "repoURL": oci_url.removeprefix("oci://"),
                "chart": chart.name,
                "targetRevision": _current(chart),
                "helm": {"releaseName": chart.name},
            },
            "destination": {"name": "{{cluster}}", "namespace": SERVICE_NAMESPACE},
        },
    }
    elements = [{"cluster": s.name, "short": s.short} for s in clusters]
    objects.append(
        k.custom(
            "argoproj.io/v1alpha1",
            "ApplicationSet",
            ARGOCD_NAMESPACE,
            chart.name,
            spec={"generators": [{"list": {"elements": elements}}], "template": template},
            created=datetime(2026, 6, 1, tzinfo=UTC),
        )
    )
    # What the set's controller generated (an Application per element, owned by the set).
    for spec in clusters:
        app_spec = json.loads(json.dumps(template["spec"]).replace("{{cluster}}", spec.name))
        objects.append(_app(f"{chart.name}-{spec.short}", app_spec, _current(chart), chart.name))
    return objects

"""Chart deployments as Argo CD sees them: Applications in the management cluster.

GitOps estates render charts with `helm template`, so the service clusters hold no Helm
release Secrets for them: the Applications are the only place that says which chart at
which version goes to which cluster, and whether it is synced and healthy there.

What Argo CD passes to helm is read here once for every step: inline values, `parameters`,
and `valueFiles` -- those of a multi-source app (`$values/...` refs to a Git source) are
resolved from a local checkout of the GitOps repository, since the management cluster holds
only their names. ApplicationSets are read too: a generated app's bump goes into the set's
template, and a set whose Applications do not exist yet still says what will be deployed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ekslift.charts.values import deep_merge
from ekslift.estate import EstateCluster
from ekslift.kube import KubeError, KubeReader

CLUSTER_SECRET_SELECTOR = "argocd.argoproj.io/secret-type=cluster"
APPLICATIONS = "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applications"
APPLICATION_SETS = "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applicationsets"
_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")
_TEMPLATE_PARAM = re.compile(r"\{\{\s*\.?([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass(frozen=True)
class ArgoAppRow:
    """One Application: its chart source, destination, and sync/health as Argo CD reports."""

    name: str
    project: str
    repo_url: str
    chart: str
    target_revision: str
    destination: str
    namespace: str
    sync_status: str
    health_status: str
    where: EstateCluster | None = None


def _decoded(secret: dict[str, Any], key: str) -> str:
    """Only the non-secret `name`/`server` keys are decoded; `config` (tokens) never is."""
    raw = (secret.get("data") or {}).get(key)
    if not raw:
        return ""
    try:
        return base64.b64decode(raw).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def cluster_names_by_server(kube: KubeReader, namespace: str) -> dict[str, str]:
    """Argo CD's registered clusters: server URL -> the name Applications may use."""
    path = f"/api/v1/namespaces/{namespace}/secrets"
    names = {}
    for secret in kube.list(path, label_selector=CLUSTER_SECRET_SELECTOR):
        server, name = _decoded(secret, "server"), _decoded(secret, "name")
        if server and name:
            names[server] = name
    return names


def _chart_source(spec: dict[str, Any]) -> dict[str, Any]:
    sources = spec.get("sources") or [spec.get("source") or {}]
    return next((s for s in sources if s.get("chart")), sources[0])


def read_applications(
    kube: KubeReader, namespace: str, clusters: dict[str, EstateCluster]
) -> list[ArgoAppRow]:
    """Applications with their destination resolved to a cluster of the parameters.

    `clusters` maps every name a destination may use (EKS name, kube context, Argo CD cluster
    name) to that cluster's `Where`; unresolved destinations are kept with `where=None`.
    """
    by_server = cluster_names_by_server(kube, namespace)
    rows = []
    path = APPLICATIONS.format(namespace=namespace)
    for app in kube.list(path):
        spec, status = app.get("spec", {}), app.get("status", {})
        source = _chart_source(spec)
        dest = spec.get("destination", {})
        dest_name = dest.get("name") or by_server.get(
            dest.get("server", ""), dest.get("server", "")
        )
        rows.append(
            ArgoAppRow(
                name=app["metadata"]["name"],
                project=spec.get("project", "default"),
                repo_url=source.get("repoURL", ""),
                chart=source.get("chart") or source.get("path", ""),
                target_revision=str(source.get("targetRevision", "")),
                destination=dest_name,
                namespace=dest.get("namespace", ""),
                sync_status=status.get("sync", {}).get("status", "Unknown"),
                health_status=status.get("health", {}).get("status", "Unknown"),
                where=clusters.get(dest_name),
            )
        )
    return rows


def _set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    """`--set a.b.c=v` semantics for Argo CD's `helm.parameters` (escaped dots kept)."""
    parts = [p.replace("\\.", ".") for p in _UNESCAPED_DOT.split(dotted)]
    node = values
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def app_values(
    helm_spec: Mapping[str, Any], files: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The values Argo CD passes: `valueFiles` (already loaded, in order) lowest, then
    `values` (YAML text), `valuesObject`, and `parameters` on top, as Argo CD orders them."""
    values: dict[str, Any] = deep_merge(*files) if files else {}
    text = helm_spec.get("values")
    if isinstance(text, str) and text.strip():
        loaded = yaml.safe_load(text)
        if isinstance(loaded, Mapping):
            values = deep_merge(values, loaded)
    obj = helm_spec.get("valuesObject")
    if isinstance(obj, Mapping):
        values = deep_merge(values, obj)
    for parameter in helm_spec.get("parameters") or []:
        if isinstance(parameter, Mapping) and parameter.get("name"):
            value = parameter.get("value", "")
            if not parameter.get("forceString"):
                value = yaml.safe_load(str(value)) if value != "" else ""
            _set_path(values, str(parameter["name"]), value)
    return values


@dataclass(frozen=True)
class AppChart:
    """One Helm chart an Application (or an ApplicationSet's template) deploys.

    `values` are what Argo CD would pass to helm, value files included: they may hold
    secrets, so they stay in memory (never in `repr`, outputs or logs). `problems` says what
    could not be resolved (a value file missing from the checkout, a `$ref` to another
    repository); the chart is still listed, its render then differs from Argo CD's.
    """

    app: str
    origin: Literal["application", "applicationset"]
    repo_url: str
    chart: str
    target_revision: str
    release_name: str | None
    destination: str
    namespace: str
    sync_status: str
    revision: str
    health_status: str
    application_set: str = ""
    value_files: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    problems: tuple[str, ...] = ()


def _load_value_file(path: Path) -> dict[str, Any]:
    """A value file as a mapping; a file that is not YAML or not a mapping raises ValueError
    naming the file (never its content)."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValueError(f"value file {path} is not valid YAML{where}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValueError(f"value file {path} is not a mapping of values")
    return loaded


def _value_files(
    source: Mapping[str, Any],
    sources: list[Mapping[str, Any]],
    checkout: Path | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Load a chart source's `valueFiles`: `$ref/path` from the Git source named `ref`,
    looked up in the GitOps checkout; a plain path lives in the chart itself (helm reads it
    from the archive, Argo CD too), which a chart-repository render cannot apply."""
    refs = {str(s["ref"]): s for s in sources if s.get("ref")}
    loaded: list[dict[str, Any]] = []
    problems: list[str] = []
    for name in (source.get("helm") or {}).get("valueFiles") or []:
        text = str(name)
        if not text.startswith("$"):
            problems.append(f"value file {text} lives in the chart's own source and is not applied")
            continue
        ref, _, rest = text[1:].partition("/")
        if ref not in refs:
            problems.append(f"value file {text}: no source of the app has `ref: {ref}`")
            continue
        if checkout is None:
            problems.append(
                f"value file {text} is in Git ({refs[ref].get('repoURL', '?')}); give the "
                "GitOps checkout (params `gitops.checkout`) to apply it"
            )
            continue
        path = (checkout / rest).resolve()
        if not path.is_relative_to(checkout.resolve()):
            problems.append(f"value file {text} points outside the GitOps checkout")
            continue
        if not path.is_file():
            if (source.get("helm") or {}).get("ignoreMissingValueFiles"):
                continue
            problems.append(f"value file {text} is missing from the GitOps checkout ({path})")
            continue
        try:
            loaded.append(_load_value_file(path))
        except (OSError, ValueError) as exc:
            problems.append(str(exc))
    return loaded, problems


def _chart_sources(
    spec: Mapping[str, Any],
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    sources = list(spec.get("sources") or [spec.get("source") or {}])
    return sources, [s for s in sources if s.get("chart")]


def _sync_revision(status: Mapping[str, Any], index: int) -> str:
    sync = status.get("sync") or {}
    revisions = sync.get("revisions")
    if isinstance(revisions, list) and index < len(revisions):
        return str(revisions[index])
    return str(sync.get("revision") or "")


def _app_charts(
    name: str,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    by_server: Mapping[str, str],
    checkout: Path | None,
    origin: Literal["application", "applicationset"],
    application_set: str,
) -> list[AppChart]:
    dest = spec.get("destination") or {}
    destination = str(
        dest.get("name") or by_server.get(dest.get("server", ""), dest.get("server", ""))
    )
    sources, charts = _chart_sources(spec)
    found = []
    for source in charts:
        helm_spec = source.get("helm") or {}
        files, problems = _value_files(source, sources, checkout)
        found.append(
            AppChart(
                app=name,
                origin=origin,
                repo_url=str(source.get("repoURL", "")),
                chart=str(source["chart"]),
                target_revision=str(source.get("targetRevision", "")),
                release_name=str(helm_spec["releaseName"])
                if helm_spec.get("releaseName")
                else None,
                destination=destination,
                namespace=str(dest.get("namespace") or "default"),
                sync_status=str((status.get("sync") or {}).get("status", "Unknown")),
                revision=_sync_revision(status, sources.index(source)),
                health_status=str((status.get("health") or {}).get("status", "Unknown")),
                application_set=application_set,
                value_files=tuple(str(f) for f in helm_spec.get("valueFiles") or ()),
                values=app_values(helm_spec, files),
                problems=tuple(problems),
            )
        )
    return found


def _fill(node: Any, params: Mapping[str, str]) -> Any:
    """An ApplicationSet template with `{{name}}` / `{{.name}}` parameters filled in."""
    if isinstance(node, dict):
        return {_fill(k, params): _fill(v, params) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, params) for v in node]
    if isinstance(node, str):
        return _TEMPLATE_PARAM.sub(lambda m: str(params.get(m.group(1), m.group(0))), node)
    return node


def _generated_params(
    generator: Mapping[str, Any], clusters: Mapping[str, str]
) -> list[dict[str, str]] | None:
    """Parameter sets of a `list` or `clusters` generator; None for kinds not expanded
    (git, matrix, scm...): their Applications, once generated, are read as Applications."""
    if "list" in generator:
        elements = (generator.get("list") or {}).get("elements") or []
        return [{str(k): str(v) for k, v in e.items()} for e in elements if isinstance(e, dict)]
    if "clusters" in generator:
        return [{"name": name, "server": server} for server, name in clusters.items()]
    return None


def read_app_charts(
    kube: KubeReader, namespace: str, checkout: Path | None = None
) -> tuple[list[AppChart], list[str]]:
    """Every Helm chart that Applications and ApplicationSets deploy, with their values.

    An ApplicationSet's generated Application, when it exists, is read as that Application
    (it has a sync status), marked with its set; a generated one that does not exist yet is
    listed from the template. Returns the charts and what could not be read (generators not
    expanded), as sentences.
    """
    by_server = cluster_names_by_server(kube, namespace)
    charts: list[AppChart] = []
    seen: set[str] = set()
    for app in kube.list(APPLICATIONS.format(namespace=namespace)):
        meta = app.get("metadata", {})
        owner = next(
            (
                str(ref.get("name"))
                for ref in meta.get("ownerReferences") or []
                if ref.get("kind") == "ApplicationSet"
            ),
            "",
        )
        name = str(meta.get("name", ""))
        seen.add(name)
        charts += _app_charts(
            name,
            app.get("spec", {}),
            app.get("status", {}),
            by_server,
            checkout,
            "application",
            owner,
        )
    problems: list[str] = []
    try:
        appsets = list(kube.list(APPLICATION_SETS.format(namespace=namespace)))
    except KubeError as exc:
        if exc.status != 404:
            raise
        appsets = []  # the ApplicationSet controller is not installed
    for appset in appsets:
        set_name = str(appset.get("metadata", {}).get("name", ""))
        spec = appset.get("spec", {})
        template = spec.get("template") or {}
        for generator in spec.get("generators") or []:
            params_list = _generated_params(generator, by_server)
            if params_list is None:
                kinds = ", ".join(sorted(generator))
                problems.append(
                    f"ApplicationSet {namespace}/{set_name}: generator {kinds} is not expanded; "
                    "only the Applications it has generated are read"
                )
                continue
            for params in params_list:
                filled = _fill(template, params)
                name = str((filled.get("metadata") or {}).get("name", ""))
                if not name or name in seen:
                    continue
                seen.add(name)
                charts += _app_charts(
                    name,
                    filled.get("spec", {}),
                    {},
                    by_server,
                    checkout,
                    "applicationset",
                    set_name,
                )
    return charts, problems

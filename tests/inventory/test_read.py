"""Reading, on fake EKS and Kubernetes answers: what the readers make of each field, and
that missing or refused data never reads as healthy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ekslift.estate import EstateCluster
from ekslift.inventory import cluster, eks
from ekslift.kube import KubeError

GREEN = EstateCluster("us-east-1", "green", "g", "g-ctx")
BLUE = EstateCluster("us-east-1", "blue", "b", "b-ctx")


class FakeEks:
    """list_addons, describe_addon and describe_addon_versions, as botocore shapes them."""

    def __init__(self, installed: dict[str, str], catalogue: dict[str, Any] | None) -> None:
        self.installed, self.catalogue = installed, catalogue
        self.asked: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> FakeEks:
        self.operation = operation
        return self

    def paginate(self, **kw: Any) -> Iterator[dict[str, Any]]:
        if self.operation == "list_addons":
            yield {"addons": sorted(self.installed)}
            return
        self.asked.append(kw)
        if self.catalogue is None:
            raise ClientError(
                {
                    "Error": {"Code": "AccessDeniedException", "Message": "not allowed"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "DescribeAddonVersions",
            )
        name = kw["addonName"]
        versions = [
            {
                "addonVersion": version,
                "compatibilities": [
                    {"clusterVersion": v, "defaultVersion": v in defaults} for v in clusters
                ],
            }
            for version, (clusters, defaults) in self.catalogue.get(name, {}).items()
        ]
        yield {"addons": [{"addonName": name, "addonVersions": versions}] if versions else []}

    def describe_addon(self, clusterName: str, addonName: str) -> dict[str, Any]:
        return {
            "addon": {
                "addonName": addonName,
                "addonVersion": self.installed[addonName],
                "status": "ACTIVE",
            }
        }


CATALOGUE = {
    "aws-ebs-csi-driver": {
        "v1.53.0-eksbuild.1": (["1.32", "1.33", "1.34", "1.35"], ["1.35"]),
        "v1.48.0-eksbuild.2": (["1.31", "1.32", "1.33", "1.34"], []),
    },
    "kubecost_kubecost": {"v2.4.3-eksbuild.1": (["1.33", "1.34"], ["1.34"])},
}


def test_addon_compatibility_is_the_installed_version_on_the_target() -> None:
    fake = FakeEks(
        {"aws-ebs-csi-driver": "v1.48.0-eksbuild.2", "kubecost_kubecost": "v2.4.3-eksbuild.1"},
        CATALOGUE,
    )
    rows = {r.name: r for r in eks.read_addons(fake, GREEN, ["1.35"])}
    ebs = rows["aws-ebs-csi-driver"]
    assert ebs.installed_compatible is False and ebs.no_version_for == ""
    assert ebs.default_for_target == "v1.53.0-eksbuild.1"
    assert rows["kubecost_kubecost"].no_version_for == "1.35"
    assert all("kubernetesVersion" not in ask for ask in fake.asked), "one call per add-on"


def test_addon_hops_name_each_version_without_a_build() -> None:
    fake = FakeEks({"kubecost_kubecost": "v2.4.3-eksbuild.1"}, CATALOGUE)
    (row,) = eks.read_addons(fake, BLUE, ["1.34", "1.35"])
    assert row.checked_against == "1.34" and row.installed_compatible is True
    assert row.no_version_for == "1.35"


def test_refused_describe_addon_versions_is_unknown_not_compatible() -> None:
    (row,) = eks.read_addons(FakeEks({"vpc-cni": "v1.20.4-eksbuild.2"}, None), GREEN, ["1.35"])
    assert row.installed_compatible is None and "AccessDenied" in row.problem


class FakeKube:
    """A KubeReader that answers lists from a dict of path → items."""

    context = "fake"

    def __init__(
        self, lists: dict[str, list[dict[str, Any]]], refuse: frozenset[str] = frozenset()
    ) -> None:
        self.lists, self.refuse = lists, refuse
        self.calls: list[str] = []

    def list(self, path: str, **_: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(path)
        if path not in self.lists:
            raise KubeError(f"GET {path} answered 404", 404)
        yield from self.lists[path]

    def get_json(self, path: str, query: Any = None) -> dict[str, Any]:
        self.calls.append(path)
        if path in self.refuse:
            raise KubeError(f"GET {path} answered 403", 403)
        return {"items": self.lists.get(path, [])[:1]}


def obj(namespace: str, name: str, **rest: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"{namespace}/{name}"}
    if namespace:
        meta["namespace"] = namespace
    meta.update(rest.pop("metadata", {}))
    return {"metadata": meta, **rest}


def image(name: str, ref: str) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": name, "image": ref}]}}}}


def test_core_addons_come_from_their_images_in_the_same_lists() -> None:
    ecr = "602401143452.dkr.ecr.us-east-1.amazonaws.com"
    kube = FakeKube(
        {
            "/apis/apps/v1/deployments": [
                obj("kube-system", "coredns", **image("coredns", f"{ecr}/eks/coredns:v1.11.4")),
                obj("photos", "api"),
            ],
            "/apis/apps/v1/statefulsets": [],
            "/apis/apps/v1/daemonsets": [
                obj("kube-system", "kube-proxy", **image("kp", f"{ecr}/eks/kube-proxy:v1.34.1")),
                obj(
                    "kube-system", "aws-node", **image("aws-node", f"{ecr}/amazon-k8s-cni:v1.20.4")
                ),
            ],
            "/apis/batch/v1/cronjobs": [obj("photos", "weekly-report")],
            "/api/v1/pods": [],
        }
    )
    rows, objects, core = cluster.read_workloads(kube, GREEN, {"vpc-cni", "coredns"})  # type: ignore[arg-type]
    by_name = {c.name: c for c in core}
    assert by_name["kube-proxy"].version == "v1.34.1" and by_name["kube-proxy"].self_managed
    assert not by_name["vpc-cni"].self_managed and not by_name["coredns"].self_managed
    assert objects["cronjob"] == {("photos", "weekly-report"): ""}
    assert sum(r.cronjobs for r in rows) == 1
    assert kube.calls.count("/apis/apps/v1/daemonsets") == 1


def test_pdb_causes() -> None:
    def pdb(name: str, spec: dict[str, Any], expected: int, allowed: int, healthy: int):
        status = {
            "expectedPods": expected,
            "disruptionsAllowed": allowed,
            "currentHealthy": healthy,
            "desiredHealthy": expected - 1,
        }
        return obj("ns", name, spec=spec, status=status)

    kube = FakeKube(
        {
            "/apis/policy/v1/poddisruptionbudgets": [
                pdb("zero", {"maxUnavailable": 0}, 3, 0, 3),
                pdb("all", {"minAvailable": "100%"}, 3, 0, 3),
                pdb("count", {"minAvailable": 3}, 3, 0, 3),
                pdb("sick", {"minAvailable": 2}, 3, 0, 1),
                pdb("fine", {"maxUnavailable": 1}, 3, 1, 3),
            ]
        }
    )
    causes = {p.name: (p.blocks_drain, p.cause) for p in cluster.read_pdbs(kube, GREEN)}  # type: ignore[arg-type]
    assert causes == {
        "zero": (True, "structural"),
        "all": (True, "structural"),
        "count": (True, "structural"),
        "sick": (True, "transient"),
        "fine": (False, ""),
    }


def test_nodeclasses_read_family_and_aliases_and_tolerate_no_karpenter() -> None:
    kube = FakeKube(
        {
            cluster.EC2NODECLASSES: [
                obj("", "legacy", spec={"amiFamily": "AL2"}),
                obj("", "pinned", spec={"amiSelectorTerms": [{"alias": "al2@v20251209"}]}),
                obj("", "default", spec={"amiSelectorTerms": [{"alias": "al2023@latest"}]}),
            ]
        }
    )
    rows = {r.name: r.amazon_linux_2 for r in cluster.read_nodeclasses(kube, GREEN)}  # type: ignore[arg-type]
    assert rows == {"legacy": True, "pinned": True, "default": False}
    assert cluster.read_nodeclasses(FakeKube({}), GREEN) == []  # type: ignore[arg-type]


def crd(name: str, group: str, plural: str) -> dict[str, Any]:
    return obj(
        "",
        name,
        spec={
            "group": group,
            "names": {"plural": plural},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    )


def test_parity_objects_one_list_per_type_and_crd_use_on_blue() -> None:
    monitors = "/apis/monitoring.coreos.com/v1/servicemonitors"
    secrets = "/apis/external-secrets.io/v1/externalsecrets"
    kube = FakeKube(
        {
            "/apis/autoscaling/v2/horizontalpodautoscalers": [obj("photos", "api")],
            "/api/v1/services": [
                obj("photos", "api", spec={"type": "ClusterIP"}),
                obj("photos", "edge", spec={"type": "LoadBalancer"}),
            ],
            "/apis/networking.k8s.io/v1/ingresses": [obj("photos", "web", spec={})],
            "/apis/networking.k8s.io/v1/ingressclasses": [obj("", "alb", spec={})],
            "/api/v1/serviceaccounts": [
                obj("photos", "default"),
                obj(
                    "photos",
                    "api",
                    metadata={"annotations": {"eks.amazonaws.com/role-arn": "arn:role/api"}},
                ),
            ],
            cluster.CRDS: [
                crd(
                    "servicemonitors.monitoring.coreos.com",
                    "monitoring.coreos.com",
                    "servicemonitors",
                ),
                crd("unused.example.com", "example.com", "unused"),
                crd(
                    "externalsecrets.external-secrets.io", "external-secrets.io", "externalsecrets"
                ),
            ],
            monitors: [obj("photos", "api")],
        },
        refuse={secrets},
    )
    found = cluster.read_parity_objects(kube, BLUE, crd_use=True)  # type: ignore[arg-type]
    assert found["service-lb"] == {("photos", "edge"): ""}
    assert found["irsa"] == {("photos", "api"): "arn:role/api"}
    assert found["crd"] == {
        ("", "servicemonitors.monitoring.coreos.com"): "in use",
        ("", "unused.example.com"): "",
        # a refused list of its resources counts as in use: compared, not skipped
        ("", "externalsecrets.external-secrets.io"): "in use",
    }
    assert len(kube.calls) == len(set(kube.calls))


@pytest.mark.parametrize("status", [503])
def test_unreachable_crd_resource_list_is_raised(status: int) -> None:
    class Down(FakeKube):
        def get_json(self, path: str, query: Any = None) -> dict[str, Any]:
            raise KubeError("down", status)

    kube = Down({cluster.CRDS: [crd("a.example.com", "example.com", "as")]})
    kube.lists.update(
        {
            p: []
            for p in (
                "/apis/autoscaling/v2/horizontalpodautoscalers",
                "/api/v1/services",
                "/apis/networking.k8s.io/v1/ingresses",
                "/apis/networking.k8s.io/v1/ingressclasses",
                "/api/v1/serviceaccounts",
            )
        }
    )
    with pytest.raises(KubeError):
        cluster.read_parity_objects(kube, BLUE, crd_use=True)  # type: ignore[arg-type]

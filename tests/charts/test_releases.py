"""Helm release records: encode like helm, decode without values, list from a cluster."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ekslift.charts.helm import Helm
from ekslift.charts.releases import (
    HelmRelease,
    ReleaseDecodeError,
    decode_release,
    list_releases,
    mask_manifest_secrets,
)
from ekslift.kube import KubeError
from ekslift_sandbox.chartrepo import chart_spec, render_chart
from ekslift_sandbox.helmrecords import (
    encode_release_configmap,
    encode_release_payload,
    encode_release_secret,
    release_revision,
)

SECRET = "pw-do-not-leak-4711"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _record(
    name: str = "feed",
    namespace: str = "photos",
    revision: int = 1,
    status: str = "deployed",
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A minimal release record in helm's JSON shape."""
    return {
        "name": name,
        "namespace": namespace,
        "version": revision,
        "info": {
            "first_deployed": "2026-03-01T12:00:00.123456789Z",
            "last_deployed": "2026-03-02T09:30:00.5+09:00",
            "status": status,
            "description": "Upgrade complete",
            "notes": f"your password is {SECRET}",
        },
        "chart": {
            "metadata": {
                "name": "feed",
                "version": "3.1.0",
                "appVersion": "3.1.0",
                "kubeVersion": ">=1.21.0-0",
            },
            "values": {"secret": {"password": "chart-default-pw"}},
            "templates": [],
        },
        "config": config if config is not None else {"secret": {"password": SECRET}},
        "manifest": "---\n# Source: feed/templates/pdb.yaml\napiVersion: policy/v1beta1\n"
        "kind: PodDisruptionBudget\nmetadata:\n  name: feed\n",
        "hooks": [],
    }


def _decoded(obj: dict[str, Any]) -> HelmRelease:
    storage = "secret" if obj["kind"] == "Secret" else "configmap"
    return decode_release(obj["data"]["release"], storage=storage)


def _everything(release: HelmRelease) -> str:
    return repr(release) + repr(dataclasses.asdict(release))


@pytest.fixture(scope="module")
def helm_record(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real record from `helm install --dry-run`, with a password rendered into a Secret."""
    spec = chart_spec("photo-api")
    chart_dir = render_chart(spec, spec.versions[0], tmp_path_factory.mktemp("chart"))
    values = {"secret": {"password": SECRET}}
    record = helm.install_dry_run_record(str(chart_dir), "photo-api", "photos", values, "1.24.0")
    return release_revision(record, revision=3, status="deployed", deployed_at=T0)


def test_round_trip_through_secret(helm_record: dict[str, Any]) -> None:
    secret = encode_release_secret(helm_record)
    assert secret["type"] == "helm.sh/release.v1"
    assert secret["metadata"]["name"] == "sh.helm.release.v1.photo-api.v3"
    labels = secret["metadata"]["labels"]
    assert {k: labels[k] for k in ("owner", "name", "status", "version")} == {
        "owner": "helm",
        "name": "photo-api",
        "status": "deployed",
        "version": "3",
    }
    assert labels["createdAt"] == str(int(T0.timestamp()))

    release = decode_release(secret["data"]["release"], storage="secret")
    assert (release.name, release.namespace, release.revision) == ("photo-api", "photos", 3)
    assert (release.chart, release.chart_version, release.app_version) == (
        "photo-api",
        "1.4.2",
        "3.8.1",
    )
    assert release.status == "deployed"
    assert release.last_deployed == T0
    assert release.storage == "secret"
    assert release.has_user_values
    assert "apiVersion: policy/v1beta1" in release.manifest
    assert "kind: PodDisruptionBudget" in release.manifest
    everything = _everything(release)
    assert SECRET not in everything
    assert base64.b64encode(SECRET.encode()).decode() not in everything
    assert "password" not in repr(release)


def test_secret_documents_in_manifest_are_masked(helm_record: dict[str, Any]) -> None:
    encoded = base64.b64encode(SECRET.encode()).decode()
    assert encoded in helm_record["manifest"]  # helm rendered the password into a Secret
    release = decode_release(
        encode_release_secret(helm_record)["data"]["release"], storage="secret"
    )
    assert encoded not in release.manifest
    assert "# Source: photo-api/templates/secret.yaml" in release.manifest


def test_round_trip_through_configmap() -> None:
    configmap = encode_release_configmap(_record(revision=2))
    assert configmap["kind"] == "ConfigMap"
    assert "type" not in configmap
    # ConfigMap data is plain text: helm's base64(gzip(json)) without a Kubernetes layer.
    assert gzip.decompress(base64.b64decode(configmap["data"]["release"]))[:1] == b"{"
    release = decode_release(configmap["data"]["release"], storage="configmap")
    assert (release.name, release.revision, release.storage) == ("feed", 2, "configmap")
    assert release.chart_kube_version == ">=1.21.0-0"
    assert release.first_deployed == datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert release.last_deployed == datetime(2026, 3, 2, 0, 30, 0, 500000, tzinfo=UTC)
    assert SECRET not in _everything(release)
    assert "chart-default-pw" not in _everything(release)


def test_not_gzipped_payloads_decode() -> None:
    """Records written before helm compressed them are plain base64(json)."""
    plain = base64.b64encode(json.dumps(_record()).encode()).decode()
    assert decode_release(plain, storage="configmap").name == "feed"
    secret_data = base64.b64encode(plain.encode()).decode()
    assert decode_release(secret_data, storage="secret").name == "feed"


def test_secret_payload_already_unwrapped() -> None:
    """A caller that undid Kubernetes' base64 layer passes helm's payload: still fine."""
    assert decode_release(encode_release_payload(_record()), storage="secret").name == "feed"


def test_no_user_values() -> None:
    record = _record(config={})
    release = decode_release(
        encode_release_configmap(record)["data"]["release"], storage="configmap"
    )
    assert not release.has_user_values


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("not base64 !!", "base64"),
        (base64.b64encode(base64.b64encode(b"\x1f\x8b\x08garbage")).decode(), "gzip"),
        (base64.b64encode(base64.b64encode(b"[1, 2]")).decode(), "JSON object"),
        (
            base64.b64encode(
                base64.b64encode(gzip.compress(b"\x0a\x04feed\x12", mtime=0))
            ).decode(),
            "helm-2to3",
        ),
        (
            base64.b64encode(encode_release_payload({"name": "x", "version": 1}).encode()).decode(),
            "chart.metadata",
        ),
    ],
    ids=["base64", "gzip", "json", "helm-2to3", "chart-metadata"],
)
def test_malformed_records_raise(payload: str, message: str) -> None:
    with pytest.raises(ReleaseDecodeError, match=message):
        decode_release(payload, storage="secret")


def test_mask_leaves_other_documents_untouched() -> None:
    manifest = (
        "---\n# Source: a/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\n"
        "data:\n  k:   'spacing kept'\n"
        "---\n# Source: a/templates/secret.yaml\napiVersion: v1\nkind: Secret\n"
        "metadata:\n  name: s\nstringData:\n  token: abc\ndata:\n  password: cHc=\n"
    )
    masked = mask_manifest_secrets(manifest)
    assert masked.startswith(manifest.split("---\n# Source: a/templates/secret")[0])
    assert "cHc=" not in masked
    assert "abc" not in masked
    assert "# Source: a/templates/secret.yaml" in masked
    assert mask_manifest_secrets("kind: ConfigMap\n") == "kind: ConfigMap\n"


class FakeLister:
    """Stands in for KubeReader: selects by one `key=value` label, counts decoded lists."""

    def __init__(self, objects: Iterable[dict[str, Any]], fail_configmaps: bool = False) -> None:
        self.objects = list(objects)
        self.fail_configmaps = fail_configmaps
        self.paths: list[str] = []

    def list(self, path: str, *, label_selector: str | None = None) -> Iterator[dict[str, Any]]:
        self.paths.append(path)
        kind = "Secret" if path.endswith("/secrets") else "ConfigMap"
        if kind == "ConfigMap" and self.fail_configmaps:
            raise KubeError(f"blue: GET {path} answered 403 Forbidden")
        namespace = path.split("/")[4] if "/namespaces/" in path else None
        key, _, value = (label_selector or "=").partition("=")
        for obj in self.objects:
            meta = obj["metadata"]
            if obj["kind"] != kind or (namespace and meta["namespace"] != namespace):
                continue
            if not label_selector or meta.get("labels", {}).get(key) == value:
                yield obj


def _history(name: str, statuses: list[str], namespace: str = "photos") -> list[dict[str, Any]]:
    return [
        encode_release_secret(_record(name, namespace, revision, status))
        for revision, status in enumerate(statuses, start=1)
    ]


def _corrupt(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "data": {"release": base64.b64encode(b"garbage").decode()}}


def test_list_keeps_latest_deployed_revision() -> None:
    objects = [
        *_history("feed", ["superseded", "deployed", "failed"]),
        *_history("albums", ["failed"]),
        *_history("gone", ["superseded", "uninstalled"]),
    ]
    releases = list_releases(FakeLister(objects))
    assert [(r.name, r.revision, r.status) for r in releases] == [
        ("albums", 1, "failed"),
        ("feed", 2, "deployed"),
    ]
    assert releases.problems == []


def test_list_all_revisions() -> None:
    releases = list_releases(FakeLister(_history("feed", ["superseded", "deployed"])), None, True)
    assert [r.revision for r in releases] == [1, 2]


def test_old_revisions_are_not_decoded() -> None:
    """Labels pick the revision, so a broken superseded record costs nothing."""
    objects = _history("feed", ["superseded", "deployed"])
    objects[0] = _corrupt(objects[0])
    assert [r.revision for r in list_releases(FakeLister(objects))] == [2]
    assert len(list_releases(FakeLister(objects), all_revisions=True).problems) == 1


def test_malformed_record_is_reported_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    objects = [*_history("feed", ["deployed"]), _corrupt(_history("albums", ["deployed"])[0])]
    releases = list_releases(FakeLister(objects))
    assert [r.name for r in releases] == ["feed"]
    (problem,) = releases.problems
    assert (problem.namespace, problem.object_name) == ("photos", "sh.helm.release.v1.albums.v1")
    assert "photos/sh.helm.release.v1.albums.v1" in caplog.text


def test_unlabelled_record_is_decoded_to_place_it() -> None:
    secret = _history("feed", ["deployed"])[0]
    secret["metadata"]["labels"] = {"owner": "helm"}
    assert [r.name for r in list_releases(FakeLister([secret]))] == ["feed"]


def test_configmap_storage_and_tiller() -> None:
    tiller = {
        "kind": "ConfigMap",
        "metadata": {
            "name": "legacy.v4",
            "namespace": "kube-system",
            "labels": {"OWNER": "TILLER", "NAME": "legacy", "VERSION": "4", "STATUS": "DEPLOYED"},
        },
        "data": {"release": "H4sI"},
    }
    other_secret = {**_history("x", ["deployed"])[0], "type": "Opaque"}
    objects = [encode_release_configmap(_record("cm-rel")), tiller, other_secret]
    releases = list_releases(FakeLister(objects))
    assert [(r.name, r.storage) for r in releases] == [("cm-rel", "configmap")]
    (problem,) = releases.problems
    assert "Helm 2 (Tiller) release legacy revision 4" in problem.reason


def test_configmaps_forbidden_is_a_problem_not_a_crash() -> None:
    releases = list_releases(FakeLister(_history("feed", ["deployed"]), fail_configmaps=True))
    assert [r.name for r in releases] == ["feed"]
    assert "ConfigMap release storage not checked" in releases.problems[0].reason


def test_namespaced_listing_uses_namespaced_paths() -> None:
    lister = FakeLister([*_history("feed", ["deployed"]), *_history("a", ["deployed"], "web")])
    assert [r.name for r in list_releases(lister, namespace="web")] == ["a"]
    assert all(p.startswith("/api/v1/namespaces/web/") for p in lister.paths)


def test_list_against_fake_apiserver_pages(tmp_path: Path) -> None:
    """Through KubeReader and real HTTP: 600 release Secrets take two pages of 500."""
    kubeapi = pytest.importorskip("ekslift_sandbox.kubeapi")
    from ekslift.kube import KubeReader
    from ekslift_sandbox.kubeconfig import write_kubeconfig

    server = kubeapi.FakeKubeAPIServer("blue", "v1.29.8-eks-a737599")
    for i in range(300):
        for obj in _history(f"svc-{i:03d}", ["superseded", "deployed"], f"ns-{i % 7}"):
            server.add(obj)
    server.add(_corrupt(_history("broken", ["deployed"], "ns-0")[0]))
    with server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"blue": server.url})
        reader = KubeReader("blue", str(kubeconfig))
        releases = list_releases(reader)
        assert len(releases) == 300
        assert {r.revision for r in releases} == {2}
        assert [p.object_name for p in releases.problems] == ["sh.helm.release.v1.broken.v1"]
        assert len(list_releases(reader, namespace="ns-3")) == len(range(3, 300, 7))

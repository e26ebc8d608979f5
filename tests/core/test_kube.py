"""KubeReader against a real HTTP fake server: paging, retries, expired tokens, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ekslift.kube import KubeError, KubeReader, api_client
from ekslift_sandbox import kubeobjects as k
from ekslift_sandbox.kubeapi import FakeKubeAPIServer
from ekslift_sandbox.kubeconfig import write_kubeconfig


def reader_config(tmp_path: Path, server: FakeKubeAPIServer) -> str:
    return str(write_kubeconfig(tmp_path / "kubeconfig", {"unit": server.url}))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeKubeAPIServer, KubeReader]]:
    server = FakeKubeAPIServer("unit", "v1.34.1-eks-0000000").start()
    server.add_many(k.pod("ns", f"pod-{i:02d}", node_name="n1") for i in range(30))
    api_client.cache_clear()
    yield server, KubeReader("unit", reader_config(tmp_path, server))
    server.stop()
    api_client.cache_clear()


def names(reader: KubeReader, **kwargs: object) -> list[str]:
    return [p["metadata"]["name"] for p in reader.list("/api/v1/pods", page_size=7, **kwargs)]


def test_pages_are_joined(cluster) -> None:
    _, reader = cluster
    assert names(reader) == [f"pod-{i:02d}" for i in range(30)]


def test_transient_errors_are_retried(cluster) -> None:
    server, reader = cluster
    server.inject_fault("/api/v1/pods", status=503, times=2)
    server.inject_fault("continue=", status=429, times=1, retry_after_seconds=0)
    assert len(names(reader)) == 30


def test_expired_continue_token_restarts_without_duplicates(cluster) -> None:
    server, reader = cluster
    server.inject_fault("continue=", status=410, times=1)
    assert names(reader) == [f"pod-{i:02d}" for i in range(30)]


def test_persistent_error_names_context_and_path(cluster) -> None:
    server, reader = cluster
    server.inject_fault("/api/v1/nodes", status=403, times=None)
    with pytest.raises(KubeError, match=r"unit: GET /api/v1/nodes answered 403") as err:
        list(reader.list("/api/v1/nodes"))
    assert err.value.status == 403


def test_unknown_context_is_explained(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "kubeconfig", {"other": "http://127.0.0.1:9"})
    with pytest.raises(KubeError, match="kubeconfig context 'missing'"):
        KubeReader("missing", str(config))


def test_read_timeout_is_retried(cluster, tmp_path: Path) -> None:
    server, _ = cluster
    impatient = KubeReader("unit", reader_config(tmp_path, server), timeout=(1.0, 0.5))
    server.inject_fault("/api/v1/pods", status=None, delay_seconds=2, times=1)
    assert len(names(impatient)) == 30
    server.inject_fault("/api/v1/pods", status=None, delay_seconds=2, times=None)
    with pytest.raises(KubeError, match="Is the cluster reachable") as err:
        names(impatient)
    assert err.value.status is None
    server.clear_faults()

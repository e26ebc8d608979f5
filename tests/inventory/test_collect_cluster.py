"""`report.collect_cluster`: one cluster read alone is the same as in the full inventory."""

from __future__ import annotations

from datetime import date

import pytest

from ekslift import aws
from ekslift.inventory.collect import collect, collect_cluster
from ekslift.params import load_params

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def params(sandbox):
    aws.clear_cache()
    return load_params("params/demo.yaml")


@pytest.mark.sandbox
def test_one_cluster_equals_its_entry_in_the_full_inventory(params) -> None:
    alone = collect_cluster(params, "ap-northeast-1", "green", today=TODAY)
    full = collect(params, today=TODAY)
    (entry,) = [
        c for c in full.clusters if c.cluster and c.cluster.where.context == "photos-apne1-green"
    ]
    assert alone == entry
    assert not alone.problems
    assert sum(w.pods for w in alone.workloads) > 0


def test_unknown_region_or_role_is_named(tmp_path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(
        "schema_version: 1\nname: t\nenvironment: test\ntarget_version: '1.34'\nregions:\n"
        "  - name: us-east-1\n    blue: {eks_cluster: b, kube_context: b}\n"
        "    green: {eks_cluster: g, kube_context: g}\n"
    )
    params = load_params(path)
    with pytest.raises(KeyError, match="eu-west-1"):
        collect_cluster(params, "eu-west-1", "green")
    with pytest.raises(KeyError, match="purple"):
        collect_cluster(params, "us-east-1", "purple")
